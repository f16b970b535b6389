/* ---- merge layers: several inputs ---------------------------------------- */

/* Input i's per-sample shape. */
static const struct kwnn__node *kwnn__in_node(kwnn__ctx *c, uint32_t i);

static kwnn_result kwnn__arity(kwnn__ctx *c, const kwb_layer *L, uint32_t lo, uint32_t hi)
{
    if (c->n_ins >= lo && c->n_ins <= hi) return KWNN_OK;
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "is called on ");
    kwnn__m_u(c->net, c->n_ins);
    kwnn__m(c->net, c->n_ins == 1 ? " input, expected " : " inputs, expected ");
    kwnn__m_u(c->net, lo);
    if (hi == (uint32_t)-1) kwnn__m(c->net, " or more");
    else if (hi != lo) {
        kwnn__m(c->net, " or ");
        kwnn__m_u(c->net, hi);
    }
    return KWNN_ERR_SHAPE;
}

/* "merges inputs of shapes (a, b) and (c,) that do not broadcast" */
static kwnn_result kwnn__merge_mismatch(kwnn__ctx *c, const kwb_layer *L, const char *what)
{
    uint32_t i;
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "inputs of shapes ");
    for (i = 0; i < c->n_ins; i++) {
        const struct kwnn__node *x = kwnn__in_node(c, i);
        if (i > 0) kwnn__m(c->net, i + 1 == c->n_ins ? " and " : ", ");
        kwnn__m_shape(c->net, x->shape, x->nd);
    }
    kwnn__m(c->net, " ");
    kwnn__m(c->net, what);
    return KWNN_ERR_SHAPE;
}

/* Add & co: Keras broadcasting (ranks aligned on the right, as Keras's
   expand_dims at axis 1 does; a dimension 1 stretches). */
static kwnn_result kwnn__merge(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int op)
{
    uint32_t i, d, nd = 0;
    size_t dims[KWNN_MAX_DIMS];
    kwnn_result r;
    (void)cfg;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__arity(c, L, op == KWNN_MERGE_SUBTRACT ? 2 : 1, op == KWNN_MERGE_SUBTRACT ? 2 : (uint32_t)-1)) !=
            KWNN_OK)
        return r;
    for (i = 0; i < c->n_ins; i++)
        if (kwnn__in_node(c, i)->nd > nd) nd = kwnn__in_node(c, i)->nd;
    for (d = 0; d < nd; d++) dims[d] = 1;
    for (i = 0; i < c->n_ins; i++) {
        const struct kwnn__node *x = kwnn__in_node(c, i);
        for (d = 0; d < x->nd; d++) {
            size_t *o = &dims[nd - x->nd + d], v = x->shape[d];
            if (*o == 1) *o = v;
            else if (v != 1 && v != *o) return kwnn__merge_mismatch(c, L, "do not broadcast together");
        }
    }
    out->kind = KWNN_LAYER_MERGE;
    out->op = op;
    memcpy(c->shape, dims, sizeof dims);
    c->nd = nd;
    return KWNN_OK;
}

/* A per-sample axis from a Keras axis counted with the batch (negative: from the end). */
static int kwnn__axis(long axis, uint32_t nd, uint32_t *out)
{
    long full = (long)nd + 1;
    if (axis < 0) axis += full;
    if (axis < 1 || axis >= full) return 0;
    *out = (uint32_t)(axis - 1);
    return 1;
}

static kwnn_result kwnn__concat(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int keras1)
{
    kwnn__json v;
    long axis = -1;
    uint32_t i, d, ax;
    const struct kwnn__node *x0;
    size_t sum = 0;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__arity(c, L, 1, (uint32_t)-1)) != KWNN_OK)
        return r;
    if (kwnn__get(cfg, keras1 ? "concat_axis" : "axis", &v) && !kwnn__null(v) && !kwnn__int(v, &axis))
        return kwnn__bad_key(c, L, keras1 ? "concat_axis" : "axis", v, "an integer axis");
    x0 = kwnn__in_node(c, 0);
    if (!kwnn__axis(axis, x0->nd, &ax)) return kwnn__merge_mismatch(c, L, "have no axis to concatenate on");
    for (i = 0; i < c->n_ins; i++) {
        const struct kwnn__node *x = kwnn__in_node(c, i);
        if (x->nd != x0->nd) return kwnn__merge_mismatch(c, L, "differ in rank");
        for (d = 0; d < x->nd; d++)
            if (d != ax && x->shape[d] != x0->shape[d])
                return kwnn__merge_mismatch(c, L, "differ outside the concatenation axis");
        if (!kwnn__add(sum, x->shape[ax], &sum)) return kwnn__shape_overflow(c, L, "its output", x->shape, x->nd);
    }
    out->kind = KWNN_LAYER_CONCAT;
    out->units = ax;
    memcpy(c->shape, x0->shape, sizeof c->shape);
    c->shape[ax] = sum;
    c->nd = x0->nd;
    return KWNN_OK;
}

/* Dot: batch_dot over one axis of each input, optionally L2-normalized first;
   the output is the first input's other axes, then the second's ((1,) if none). */
static kwnn_result kwnn__dot(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int keras1)
{
    const char *key = keras1 ? "dot_axes" : "axes";
    kwnn__json v, el;
    kwnn__iter it;
    long ax[2] = {-1, -1};
    uint32_t a[2], i, d, nd = 0;
    int normalize = 0;
    const struct kwnn__node *x[2];
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__arity(c, L, 2, 2)) != KWNN_OK ||
        (!keras1 && (r = kwnn__cfg_bool(c, L, cfg, "normalize", NULL, 0, &normalize)) != KWNN_OK))
        return r;
    if (kwnn__get(cfg, key, &v) && !kwnn__null(v)) {
        if (kwnn__int(v, &ax[0])) {
            ax[1] = ax[0];
        } else {
            i = 0;
            if (!kwnn__begin(v, '[', &it)) return kwnn__bad_key(c, L, key, v, "an axis or a pair of axes");
            while (kwnn__next(&it, NULL, &el))
                if (i >= 2 || !kwnn__int(el, &ax[i++])) return kwnn__bad_key(c, L, key, v, "a pair of axes");
            if (i != 2) return kwnn__bad_key(c, L, key, v, "a pair of axes");
        }
    } else if (!keras1) {
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no axes");
    }
    for (i = 0; i < 2; i++) {
        x[i] = kwnn__in_node(c, i);
        if (!kwnn__axis(ax[i], x[i]->nd, &a[i])) return kwnn__merge_mismatch(c, L, "have no such axes");
    }
    if (x[0]->shape[a[0]] != x[1]->shape[a[1]])
        return kwnn__merge_mismatch(c, L, "differ in length along the dot axes");
    if (x[0]->nd + x[1]->nd - 2 > KWNN_MAX_DIMS) return kwnn__merge_mismatch(c, L, "give too many dimensions");
    for (i = 0; i < 2; i++)
        for (d = 0; d < x[i]->nd; d++)
            if (d != a[i]) c->shape[nd++] = x[i]->shape[d];
    if (nd == 0) c->shape[nd++] = 1;
    c->nd = nd;
    out->kind = KWNN_LAYER_DOT;
    out->kh = a[0];
    out->kw = a[1];
    out->same = normalize;
    return KWNN_OK;
}

/* Keras 1's Merge layer: one class, the operation in `mode`. */
static kwnn_result kwnn__merge_k1(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const modes[] = {"sum", "mul", "ave", "max", NULL};
    static const int ops[] = {KWNN_MERGE_ADD, KWNN_MERGE_MULTIPLY, KWNN_MERGE_AVERAGE, KWNN_MERGE_MAXIMUM};
    kwnn__json v;
    int i;
    (void)arg;
    if (!kwnn__get(cfg, "mode", &v) || kwnn__null(v)) v.p = "\"sum\"", v.e = v.p + 5;
    for (i = 0; modes[i] != NULL; i++)
        if (kwnn__jstr_is(v, modes[i])) return kwnn__merge(c, L, cfg, out, ops[i]);
    if (kwnn__jstr_is(v, "concat")) return kwnn__concat(c, L, cfg, out, 1);
    if (kwnn__jstr_is(v, "dot")) return kwnn__dot(c, L, cfg, out, 1);
    return kwnn__unsupported_value(c, L, "Merge mode", v);
}


/* keras.applications' CustomScaleLayer (Inception-ResNet-v2's residual):
   inputs[0] + inputs[1] * scale, two inputs of one shape (no broadcasting
   in Keras's formula as the application uses it, so none accepted here). */
static kwnn_result kwnn__scaled_add(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    const struct kwnn__node *a, *b;
    kwnn__json v;
    double scale;
    uint32_t d;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__arity(c, L, 2, 2)) != KWNN_OK) return r;
    if (!kwnn__get(cfg, "scale", &v) || kwnn__null(v))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no scale");
    if ((r = kwnn__cfg_num(c, L, cfg, "scale", NULL, 0.0, &scale)) != KWNN_OK) return r;
    a = kwnn__in_node(c, 0);
    b = kwnn__in_node(c, 1);
    if (a->nd != b->nd) return kwnn__merge_mismatch(c, L, "differ in shape");
    for (d = 0; d < a->nd; d++)
        if (a->shape[d] != b->shape[d]) return kwnn__merge_mismatch(c, L, "differ in shape");
    out->kind = KWNN_LAYER_MERGE;
    out->op = KWNN_MERGE_SCALED_ADD;
    out->epsilon = (float)scale; /* Keras multiplies in float32 */
    memcpy(c->shape, a->shape, sizeof c->shape);
    c->nd = a->nd;
    return KWNN_OK;
}
