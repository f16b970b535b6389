/* ---- layers ------------------------------------------------------------- */

static int kwnn__is_class(const kwb_layer *L, const char *const *names)
{
    for (; *names != NULL; names++)
        if (strcmp(L->class_name, *names) == 0) return 1;
    return 0;
}

static kwnn_result kwnn__set_shape_from(kwnn__ctx *c, const kwb_layer *L, kwnn__json v, int with_batch,
                                        const char *key)
{
    kwnn__iter it;
    kwnn__json el;
    uint32_t nd = 0;
    size_t dims[KWNN_MAX_DIMS];
    int first = with_batch;
    uint32_t var = 0;
    long x;
    if (!kwnn__begin(v, '[', &it)) return kwnn__bad_key(c, L, key, v, "a list");
    while (kwnn__next(&it, NULL, &el)) {
        if (first) { /* the batch dimension: null or a number */
            first = 0;
            continue;
        }
        if (nd == KWNN_MAX_DIMS) return kwnn__unsupported_value(c, L, "input rank of", v);
        if (kwnn__null(el)) { /* given at run time (kwnn_run_shapes); the load uses a nominal length */
            var |= 1u << nd;
            c->saw_variable = 1;
            dims[nd++] = c->nominal ? c->nominal : KWNN__NOMINAL;
            continue;
        }
        if (!kwnn__int(el, &x) || x < 1) return kwnn__bad_key(c, L, key, v, "a list of positive sizes");
        dims[nd++] = (size_t)x;
    }
    c->var_mask = var;
    if (c->have_shape) { /* a nested model's InputLayer: must agree (a None axis takes any length) */
        uint32_t i;
        int same = nd == c->nd;
        for (i = 0; same && i < nd; i++) same = dims[i] == c->shape[i] || (var >> i & 1u);
        if (!same) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "expects input ");
            kwnn__m_shape(c->net, dims, nd);
            kwnn__m(c->net, ", gets ");
            kwnn__m_shape(c->net, c->shape, c->nd);
            return KWNN_ERR_SHAPE;
        }
        return KWNN_OK;
    }
    if (!kwnn__prod(dims, nd, &c->net->input_count)) {
        kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "the input shape ");
        kwnn__m_shape(c->net, dims, nd);
        kwnn__m(c->net, " has more elements than a size_t counts");
        return KWNN_ERR_OVERFLOW;
    }
    memcpy(c->shape, dims, sizeof dims);
    c->nd = nd;
    c->have_shape = 1;
    return KWNN_OK;
}

static kwnn_result kwnn__dense(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    static const char *const unit_keys[] = {"units", "output_dim", NULL};
    static const char *const names[] = {"kernel", "bias"};
    const char *which;
    kwnn__json v;
    long units = -1;
    int use_bias;
    size_t in, kshape[2];
    kwnn_result r;
    if (kwnn__key(cfg, unit_keys, &which, &v) && (!kwnn__int(v, &units) || units < 1))
        return kwnn__bad_key(c, L, which, v, "a positive number of units");
    if ((r = kwnn__cfg_bool(c, L, cfg, "use_bias", "bias", 1, &use_bias)) != KWNN_OK) return r;
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK)
        return r;
    if (c->nd == 0) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank 1 or more");
    in = c->shape[c->nd - 1];
    if (units < 0) { /* no units in the config: from the kernel */
        kwb_tensor t;
        if (!kwnn__find(c, L, "kernel", &t) || t.ndim != 2 || t.shape[1] == 0 ||
            t.shape[1] > (uint64_t)KWNN__DIM_LIMIT)
            return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no 'units'");
        units = (long)t.shape[1];
    }
    kshape[0] = in;
    kshape[1] = (size_t)units;
    if ((r = kwnn__only(c, L, names, use_bias ? 2 : 1)) != KWNN_OK ||
        (r = kwnn__weight(c, L, "kernel", kshape, 2, 0, &out->w)) != KWNN_OK)
        return r;
    if (use_bias && (r = kwnn__weight(c, L, "bias", kshape + 1, 1, 0, &out->b)) != KWNN_OK) return r;
    out->kind = KWNN_LAYER_DENSE;
    out->units = (size_t)units;
    c->shape[c->nd - 1] = (size_t)units;
    return KWNN_OK;
}

/* The extent of a window of k taps d apart, (k - 1) d + 1, if at most
   KWNN__DIM_LIMIT (checked: k and d may each be 2^30, beyond 32 bits). */
static int kwnn__extent(size_t k, size_t d, size_t *eff)
{
    return kwnn__mul(k - 1, d, eff) && kwnn__add(*eff, 1, eff) && *eff <= KWNN__DIM_LIMIT;
}

/* Output size and 'same' padding of one spatial axis (TensorFlow's rule).
   in, k, s, d <= KWNN__DIM_LIMIT and (k - 1) d + 1 too (kwnn__extent): then
   (o - 1) s < in and need < 2^31, no overflow even with a 32-bit size_t. */
static int kwnn__window(size_t in, size_t k, size_t s, size_t d, int same, size_t *out, size_t *pad)
{
    size_t eff, o, need;
    if (in > KWNN__DIM_LIMIT || !kwnn__extent(k, d, &eff)) return 0;
    if (same) {
        o = (in + s - 1) / s;
        need = (o - 1) * s + eff;
        *pad = need > in ? (need - in) / 2 : 0;
    } else {
        if (in < eff) return 0;
        o = (in - eff) / s + 1;
        *pad = 0;
    }
    *out = o;
    return o > 0;
}

static kwnn_result kwnn__reshape(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    kwnn__json v, el;
    kwnn__iter it;
    size_t dims[KWNN_MAX_DIMS], known = 1, total;
    uint32_t nd = 0, i;
    int unknown = -1;
    long x;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if (!kwnn__get(cfg, "target_shape", &v) || !kwnn__begin(v, '[', &it))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no target_shape list");
    while (kwnn__next(&it, NULL, &el)) {
        if (!kwnn__int(el, &x) || x == 0 || x < -1) return kwnn__bad_key(c, L, "target_shape", v, "sizes (and one -1)");
        if (nd == KWNN_MAX_DIMS) return kwnn__unsupported_value(c, L, "target_shape", v);
        if (x == -1) {
            if (unknown >= 0) return kwnn__bad_key(c, L, "target_shape", v, "at most one -1");
            unknown = (int)nd;
            dims[nd++] = 1;
        } else {
            dims[nd++] = (size_t)x;
            if (!kwnn__mul(known, (size_t)x, &known)) {
                kwnn__fail(c->net, KWNN_ERR_OVERFLOW, L, "target_shape ");
                kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
                kwnn__m(c->net, " has more elements than a size_t counts (its product overflows)");
                return KWNN_ERR_OVERFLOW;
            }
        }
    }
    if (!kwnn__prod(c->shape, c->nd, &total)) return kwnn__shape_overflow(c, L, "its input shape", c->shape, c->nd);
    if (unknown >= 0) {
        if (total % known != 0) goto mismatch;
        dims[unknown] = total / known;
        known = total;
    }
    if (known != total) goto mismatch;
    out->kind = KWNN_LAYER_RESHAPE;
    for (i = 0; i < nd; i++) c->shape[i] = dims[i];
    c->nd = nd;
    return KWNN_OK;
mismatch:
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "cannot reshape ");
    kwnn__m_shape(c->net, c->shape, c->nd);
    kwnn__m(c->net, " to ");
    kwnn__m_raw(c->net, v.p, (size_t)(v.e - v.p) > 60 ? 60 : (size_t)(v.e - v.p));
    return KWNN_ERR_SHAPE;
}

/* First layer without an InputLayer: batch_input_shape, batch_shape, input_dim, kernel rows. */
static kwnn_result kwnn__implicit_input(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg)
{
    kwnn__json v;
    long dim;
    kwb_tensor t;
    if (kwnn__get(cfg, "batch_input_shape", &v) && !kwnn__null(v))
        return kwnn__set_shape_from(c, L, v, 1, "batch_input_shape");
    if (kwnn__get(cfg, "batch_shape", &v) && !kwnn__null(v))
        return kwnn__set_shape_from(c, L, v, 1, "batch_shape");
    if (kwnn__get(cfg, "input_dim", &v) && !kwnn__null(v) && strcmp(L->class_name, "Dense") == 0) {
        if (!kwnn__int(v, &dim) || dim < 1) return kwnn__bad_key(c, L, "input_dim", v, "a positive size");
        c->shape[0] = (size_t)dim;
    } else if (strcmp(L->class_name, "Dense") == 0 && kwnn__find(c, L, "kernel", &t) && t.ndim == 2 &&
               t.shape[0] > 0 && t.shape[0] <= (uint64_t)KWNN__DIM_LIMIT) {
        c->shape[0] = (size_t)t.shape[0];
    } else {
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L,
                          "cannot tell the network's input shape: no InputLayer, and the first "
                          "layer's config has no batch_input_shape");
    }
    c->nd = 1;
    c->net->input_count = c->shape[0];
    c->have_shape = 1;
    return KWNN_OK;
}

