/* ---- normalisation, scaling, PReLU, keras.applications layers ----------- */

/* BatchNormalization (any axes), LayerNormalization, Rescaling,
   Normalization, PReLU and convnext's LayerScale.  Their parameters vary
   along some axes of the input and broadcast along the others: they stay
   compact (kwnn_layer.axes says along which per-sample axes), and the
   runners walk the input in rows, the parameters with them.  Nothing here
   depends on the input shape for its memory, so pass 1 of kwnn_load can
   measure the parameter area from the configs and tensors alone
   (kwnn__norm_measure). */

enum { /* kwnn_layer.op of KWNN_LAYER_AFFINE */
    KWNN__AFF_MUL_ADD = 0, /* x * w + b (b may be NULL): Rescaling, LayerScale, Normalization(invert) */
    KWNN__AFF_SUB_DIV      /* (x - b) / w: Normalization, as Keras computes it */
};

/* Keras's axes (an int or a list; counted with the batch, negative from the
   end) as a mask of per-sample axes (bit a - 1).  `dflt` when the key is
   absent, `if_null` when it is null. */
static kwnn_result kwnn__axes(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key,
                              uint32_t dflt, uint32_t if_null, uint32_t *mask)
{
    kwnn__json v, el;
    kwnn__iter it;
    long a, rank = (long)c->nd + 1;
    int list;
    *mask = dflt;
    if (!kwnn__get(cfg, key, &v)) return KWNN_OK;
    *mask = if_null;
    if (kwnn__null(v)) return KWNN_OK;
    *mask = 0;
    list = kwnn__begin(v, '[', &it);
    while (list ? kwnn__next(&it, NULL, &el) : (el = v, 1)) {
        if (!kwnn__int(el, &a)) return kwnn__bad_key(c, L, key, v, "an axis or a list of axes");
        if (a < 0) a += rank;
        if (a == 0) {
            kwnn__unsupported_value(c, L, key, v);
            kwnn__m(c->net, " (the batch axis)");
            return KWNN_ERR_UNSUPPORTED;
        }
        if (a < 0 || a >= rank) {
            kwnn__bad_key(c, L, key, v, "axes of the input, of rank ");
            kwnn__m_u(c->net, (size_t)rank);
            kwnn__m(c->net, " with the batch");
            return KWNN_ERR_BAD_CONFIG;
        }
        *mask |= 1u << (a - 1);
        if (!list) break;
    }
    return KWNN_OK;
}

static uint32_t kwnn__all_axes(uint32_t nd) { return nd >= 32 ? ~0u : (1u << nd) - 1u; }

/* Sizes of the axes in `mask` (in order), and their product. */
static uint32_t kwnn__kept_dims(const kwnn__ctx *c, uint32_t mask, size_t *dims, size_t *count)
{
    uint32_t i, k = 0;
    *count = 1;
    for (i = 0; i < c->nd; i++)
        if ((mask >> i) & 1u) {
            dims[k++] = c->shape[i];
            *count *= c->shape[i]; /* at most the input's count, which fits */
        }
    return k;
}

/* Weight `name`: one value per element of the axes in `mask`, shaped as
   those sizes, or as the input's rank with 1 on the other axes (PReLU,
   tf.keras's multi-axis BatchNormalization, old Normalization); compared
   without the sizes 1.  Float32 in place when it can be. */
static kwnn_result kwnn__kept_weight(kwnn__ctx *c, const kwb_layer *L, const char *name, uint32_t mask,
                                     const float **out)
{
    size_t want[KWNN_MAX_DIMS], got[KWB_MAX_NDIM], count;
    uint32_t nw = kwnn__kept_dims(c, mask, want, &count), i, j = 0, k = 0;
    kwb_tensor t;
    int same = 1;
    if (!kwnn__find(c, L, name, &t) || t.ndim > KWB_MAX_NDIM) return kwnn__weight(c, L, name, want, nw, 0, out);
    for (i = 0; i < t.ndim && same; i++) {
        if (t.shape[i] == 1) continue;
        while (j < nw && want[j] == 1) j++;
        same = j < nw && t.shape[i] == (uint64_t)want[j];
        j++;
    }
    while (j < nw && want[j] == 1) j++;
    if (!same || j != nw) return kwnn__weight(c, L, name, want, nw, 0, out); /* its message */
    for (i = 0; i < t.ndim; i++) got[k++] = (size_t)t.shape[i]; /* each 1 or a size of the input */
    return kwnn__weight(c, L, name, got, k, 0, out);
}

/* ---- config numbers (Rescaling, Normalization given in the config) ------ */

/* Count (fill == NULL) or read the numbers of a number or a nested list. */
static int kwnn__numbers(kwnn__json v, float *fill, size_t *n, int depth)
{
    kwnn__iter it;
    kwnn__json el;
    double d;
    if (kwnn__num(v, &d)) {
        if (!(fabs(d) <= 3.4e38)) return 0;
        if (fill != NULL) fill[*n] = (float)d;
        return kwnn__add(*n, 1, n);
    }
    if (depth >= KWNN_MAX_DIMS || !kwnn__begin(v, '[', &it)) return 0;
    while (kwnn__next(&it, NULL, &el))
        if (!kwnn__numbers(el, fill, n, depth + 1)) return 0;
    return 1;
}

static size_t kwnn__count_numbers(kwnn__json cfg, const char *key)
{
    kwnn__json v;
    size_t n = 0;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v) || !kwnn__numbers(v, NULL, &n, 0)) return 0;
    return n;
}

/* Pass 1: parameter floats the loaders below ask for beyond the weights
   kwnn__weight converts (counted apart): Rescaling's scale and offset,
   Normalization's divisor and mean, each rounded as kwnn__param rounds.
   An upper bound; the loaders check (kwnn__param). */
static int kwnn__norm_measure(kwnn__ctx *c, const kwb_layer *L, size_t *total)
{
    kwnn__json cfg;
    size_t n = 0, m;
    kwb_tensor t;
    int rescaling = strcmp(L->class_name, "Rescaling") == 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if ((!rescaling && strcmp(L->class_name, "Normalization") != 0) || !kwnn__is(cfg, '{')) return 1;
    n = kwnn__count_numbers(cfg, rescaling ? "scale" : "mean");
    m = kwnn__count_numbers(cfg, rescaling ? "offset" : "variance");
    if (m > n) n = m;
    if (!rescaling && kwnn__find(c, L, "variance", &t)) {
        if (t.count > (uint64_t)(KWNN__SIZE_MAX / 8)) return 0;
        if ((size_t)t.count > n) n = (size_t)t.count;
    }
    for (m = 0; m < 2; m++) /* two blocks of n */
        if (!kwnn__add(*total, n, total) || !kwnn__add(*total, 15, total)) return 0;
    return 1;
}

/* ---- loaders ------------------------------------------------------------- */

static kwnn_result kwnn__need_rank(kwnn__ctx *c, const kwb_layer *L)
{
    return c->nd == 0 ? kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank 1 or more") : KWNN_OK;
}

/* BatchNormalization on any axes (Keras 1/2/3; tf.keras allowed a list),
   folded at load as Keras 3 computes it (see the manual). */
static kwnn_result kwnn__batchnorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    static const char *const names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    const char *use[4];
    const float *g = NULL, *be = NULL, *mean = NULL, *var = NULL;
    double eps, mode;
    int center, scale;
    uint32_t mask, last;
    size_t ch, k, dims[KWNN_MAX_DIMS];
    float *fold;
    kwnn_result r;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK) return r;
    last = 1u << (c->nd - 1);
    if ((r = kwnn__axes(c, L, cfg, "axis", last, last, &mask)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "epsilon", NULL, 1e-3, &eps)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "mode", NULL, 0.0, &mode)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "center", NULL, 1, &center)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "scale", NULL, 1, &scale)) != KWNN_OK)
        return r;
    if (mask == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key 'axis' lists no axis");
    if (mode != 0.0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "Keras 1 BatchNormalization mode 1 and 2 are not supported (mode 0 only)");
    if (!(eps >= 0.0)) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "epsilon is negative");
    kwnn__kept_dims(c, mask, dims, &ch);
    use[0] = scale ? names[0] : NULL;
    use[1] = center ? names[1] : NULL;
    use[2] = names[2];
    use[3] = names[3];
    if ((r = kwnn__only(c, L, use, 4)) != KWNN_OK ||
        (scale && (r = kwnn__kept_weight(c, L, "gamma", mask, &g)) != KWNN_OK) ||
        (center && (r = kwnn__kept_weight(c, L, "beta", mask, &be)) != KWNN_OK) ||
        (r = kwnn__kept_weight(c, L, "moving_mean", mask, &mean)) != KWNN_OK ||
        (r = kwnn__kept_weight(c, L, "moving_variance", mask, &var)) != KWNN_OK)
        return r;
    if (!kwnn__mul(ch, 2, &k)) return kwnn__oom(c);
    if ((r = kwnn__param(c, k, &fold)) != KWNN_OK) return r;
    if (c->fill) {
        /* Keras 3: inv = rsqrt(var + eps) * gamma; y = x * inv + (beta - mean * inv) */
        float epsf = (float)eps;
        for (k = 0; k < ch; k++) {
            double inv = 1.0 / sqrt((double)(var[k] + epsf));
            float invf;
            if (g != NULL) inv *= (double)g[k];
            invf = (float)inv;
            fold[k] = invf;
            fold[ch + k] = (float)((be != NULL ? (double)be[k] : 0.0) - (double)mean[k] * (double)invf);
        }
        out->w = fold;
        out->b = fold + ch;
    }
    out->kind = KWNN_LAYER_BATCHNORM;
    out->units = ch;
    out->axes = mask;
    return KWNN_OK;
}

static kwnn_result kwnn__load_layernorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const names[] = {"gamma", "beta"};
    const char *use[2];
    double eps;
    int center, scale, rms;
    uint32_t mask, m, last;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK) return r;
    last = 1u << (c->nd - 1);
    if ((r = kwnn__axes(c, L, cfg, "axis", last, last, &mask)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "epsilon", NULL, 1e-3, &eps)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "center", NULL, 1, &center)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "scale", NULL, 1, &scale)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "rms_scaling", NULL, 0, &rms)) != KWNN_OK)
        return r;
    if (mask == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key 'axis' lists no axis");
    for (m = mask; (m & 1u) == 0; m >>= 1) {}
    if ((m & (m + 1u)) != 0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported axis: normalising over axes that are not adjacent");
    if (!(eps >= 0.0)) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "epsilon is negative");
    /* Keras 3: rms_scaling makes gamma (even with scale off) and no beta */
    use[0] = scale || rms ? names[0] : NULL;
    use[1] = center && !rms ? names[1] : NULL;
    if ((r = kwnn__only(c, L, use, 2)) != KWNN_OK ||
        (use[0] != NULL && (r = kwnn__kept_weight(c, L, "gamma", mask, &out->w)) != KWNN_OK) ||
        (use[1] != NULL && (r = kwnn__kept_weight(c, L, "beta", mask, &out->b)) != KWNN_OK))
        return r;
    out->kind = KWNN_LAYER_LAYERNORM;
    out->axes = mask;
    out->op = rms;
    out->epsilon = (float)eps;
    return KWNN_OK;
}

/* A number or a flat list of numbers (per channel, broadcast on the last axis). */
static kwnn_result kwnn__flat_numbers(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key,
                                      size_t *n)
{
    kwnn__json v, el;
    kwnn__iter it;
    double d;
    *n = 0;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) return KWNN_OK;
    if (kwnn__begin(v, '[', &it)) {
        while (kwnn__next(&it, NULL, &el))
            if (!kwnn__num(el, &d)) return kwnn__unsupported_value(c, L, key, v);
    }
    if (!kwnn__numbers(v, NULL, n, 0) || *n == 0) return kwnn__bad_key(c, L, key, v, "a number or a list of numbers");
    return KWNN_OK;
}

/* Fill dst[0..n) from key's numbers (a single one repeated), or with dflt. */
static void kwnn__fill_numbers(kwnn__json cfg, const char *key, float *dst, size_t n, float dflt)
{
    kwnn__json v;
    size_t got = 0, i;
    if (kwnn__get(cfg, key, &v) && !kwnn__null(v)) kwnn__numbers(v, dst, &got, 0);
    if (got == 0) dst[got++] = dflt;
    for (i = got; i < n; i++) dst[i] = dst[0];
}

/* The broadcast of n values aligned on the right of the kept axes (Keras's
   Normalization with mean / variance given; numpy's rule for Rescaling):
   the trailing kept axes whose sizes multiply to n. */
static int kwnn__trailing(const kwnn__ctx *c, uint32_t kept, size_t n, uint32_t *mask)
{
    size_t p = 1;
    uint32_t i = c->nd;
    *mask = 0;
    while (p < n && i-- > 0)
        if ((kept >> i) & 1u) {
            if (!kwnn__mul(p, c->shape[i], &p)) return 0;
            *mask |= 1u << i;
        }
    return p == n;
}

static kwnn_result kwnn__load_rescaling(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    size_t ns, no, n;
    float *p;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__flat_numbers(c, L, cfg, "scale", &ns)) != KWNN_OK ||
        (r = kwnn__flat_numbers(c, L, cfg, "offset", &no)) != KWNN_OK)
        return r;
    if (ns == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no 'scale'");
    n = ns > no ? ns : no;
    if ((ns != 1 && ns != n) || (no > 1 && no != n) || !kwnn__trailing(c, 1u << (c->nd - 1), n, &out->axes)) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "scale and offset do not broadcast over its input ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    if ((r = kwnn__param(c, 2 * n, &p)) != KWNN_OK) return r; /* n <= the last dim: no overflow */
    if (c->fill) {
        kwnn__fill_numbers(cfg, "scale", p, n, 1.0f);
        kwnn__fill_numbers(cfg, "offset", p + n, n, 0.0f);
        out->w = p;
        out->b = p + n;
    }
    out->kind = KWNN_LAYER_AFFINE;
    out->op = KWNN__AFF_MUL_ADD;
    return KWNN_OK;
}

/* Normalization: (x - mean) / max(sqrt(variance), 1e-7) over the kept axes
   (`axis`), from its weights (adapted) or from its config; invert: x *
   max(sqrt(variance), 1e-7) + mean. */
static kwnn_result kwnn__load_normalization(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                            int arg)
{
    static const char *const names[] = {"mean", "variance", "count"};
    const float *mean = NULL, *var = NULL;
    size_t nm, nv, n, k, dims[KWNN_MAX_DIMS];
    uint32_t kept;
    int invert;
    float *p;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK ||
        (r = kwnn__axes(c, L, cfg, "axis", 1u << (c->nd - 1), 0, &kept)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "invert", NULL, 0, &invert)) != KWNN_OK ||
        (r = kwnn__flat_numbers(c, L, cfg, "mean", &nm)) != KWNN_OK ||
        (r = kwnn__flat_numbers(c, L, cfg, "variance", &nv)) != KWNN_OK)
        return r;
    if (nm != 0 || nv != 0) { /* given in the config */
        if (nm != nv || !kwnn__trailing(c, kept, nm, &out->axes)) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its config's mean and variance do not broadcast over its input ");
            kwnn__m_shape(c->net, c->shape, c->nd);
            return KWNN_ERR_SHAPE;
        }
        if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
        n = nm;
    } else {
        out->axes = kept;
        kwnn__kept_dims(c, kept, dims, &n);
        if ((r = kwnn__only(c, L, names, 3)) != KWNN_OK ||
            (r = kwnn__kept_weight(c, L, "mean", kept, &mean)) != KWNN_OK ||
            (r = kwnn__kept_weight(c, L, "variance", kept, &var)) != KWNN_OK)
            return r;
    }
    if (!kwnn__mul(n, 2, &k)) return kwnn__oom(c);
    if ((r = kwnn__param(c, k, &p)) != KWNN_OK) return r;
    if (c->fill) {
        if (mean == NULL) {
            kwnn__fill_numbers(cfg, "variance", p, n, 1.0f);
            kwnn__fill_numbers(cfg, "mean", p + n, n, 0.0f);
        } else {
            memcpy(p, var, n * sizeof *p);
            memcpy(p + n, mean, n * sizeof *p);
        }
        for (k = 0; k < n; k++) p[k] = fmaxf(sqrtf(p[k]), 1e-7f); /* Keras: maximum(sqrt(variance), epsilon) */
        out->w = p;
        out->b = p + n;
    }
    out->kind = KWNN_LAYER_AFFINE;
    out->op = invert ? KWNN__AFF_MUL_ADD : KWNN__AFF_SUB_DIV;
    return KWNN_OK;
}

/* PReLU: x >= 0 ? x : alpha x (Keras: relu(x) - alpha relu(-x)); alpha has
   size 1 on shared_axes. */
static kwnn_result kwnn__load_prelu(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const names[] = {"alpha"};
    uint32_t shared;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__axes(c, L, cfg, "shared_axes", 0, 0, &shared)) != KWNN_OK)
        return r;
    out->axes = kwnn__all_axes(c->nd) & ~shared;
    if ((r = kwnn__only(c, L, names, 1)) != KWNN_OK ||
        (r = kwnn__kept_weight(c, L, "alpha", out->axes, &out->w)) != KWNN_OK)
        return r;
    out->kind = KWNN_LAYER_PRELU;
    return KWNN_OK;
}

/* keras.applications.convnext's LayerScale: x * gamma over the last axis
   (the importer names the weight "variable", Keras 3's automatic name). */
static kwnn_result kwnn__load_layer_scale(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                          int arg)
{
    static const char *const names[] = {"variable", "gamma"};
    kwb_tensor t;
    kwnn_result r;
    (void)cfg;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__only(c, L, names, 2)) != KWNN_OK) return r;
    out->axes = 1u << (c->nd - 1);
    if ((r = kwnn__kept_weight(c, L, kwnn__find(c, L, "gamma", &t) ? "gamma" : "variable", out->axes, &out->w)) !=
        KWNN_OK)
        return r;
    out->kind = KWNN_LAYER_AFFINE;
    out->op = KWNN__AFF_MUL_ADD;
    return KWNN_OK;
}

static kwnn_result kwnn__load_bn(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__batchnorm(c, L, cfg, out);
}

/* ---- runners ------------------------------------------------------------- */

/* The per-sample shape as runs of axes that all vary the parameters (kept)
   or none do, sizes 1 dropped: (2, 3, 4) kept {0, 2} -> (2, 3, 4); BN on the
   last axis of (7, 9, 3) -> (63, 3). */
static uint32_t kwnn__runs(const size_t *shape, uint32_t nd, uint32_t axes, size_t *dim, int *kept)
{
    uint32_t i, n = 0;
    for (i = 0; i < nd; i++) {
        int k = (int)((axes >> i) & 1u);
        if (shape[i] == 1) continue;
        if (n > 0 && kept[n - 1] == k) {
            dim[n - 1] *= shape[i];
        } else {
            dim[n] = shape[i];
            kept[n++] = k;
        }
    }
    if (n == 0) {
        dim[0] = 1;
        kept[n++] = 0;
    }
    return n;
}

/* One row of n inputs; the parameters at w, b, step 1 (kept) or 0. */
static void kwnn__scale_shift_inplace(float *KWNN__RESTRICT y, const float *KWNN__RESTRICT w,
                                      const float *KWNN__RESTRICT b, size_t n)
{
    size_t j;
    for (j = 0; j < n; j++) y[j] = y[j] * w[j] + b[j];
}

static void kwnn__bcast_row(const kwnn_layer *L, const float *x, float *y, size_t n, size_t p, size_t step)
{
    const float *w = L->w + p, *b = L->b != NULL ? L->b + p : NULL;
    size_t j;
    if (L->kind == KWNN_LAYER_PRELU) {
        for (j = 0; j < n; j++) y[j] = x[j] >= 0.0f ? x[j] : w[j * step] * x[j];
    } else if (L->kind == KWNN_LAYER_AFFINE && L->op == KWNN__AFF_SUB_DIV) {
        for (j = 0; j < n; j++) y[j] = (x[j] - b[j * step]) / w[j * step];
    } else if (b == NULL) {
        for (j = 0; j < n; j++) y[j] = x[j] * w[j * step];
    } else if (step == 1) {
        if (x == y) kwnn__scale_shift_inplace(y, w, b, n); /* vectorized: no overlap to fear */
        else
            for (j = 0; j < n; j++) y[j] = x[j] * w[j] + b[j];
    } else {
        float w0 = w[0], b0 = b[0];
        for (j = 0; j < n; j++) y[j] = x[j] * w0 + b0;
    }
}

/* BatchNormalization, the affine layers, PReLU: rows of the innermost run,
   an odometer over the others for the parameters' offset. */
static void kwnn__bcast_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t dim[KWNN_MAX_DIMS], ps[KWNN_MAX_DIMS], idx[KWNN_MAX_DIMS], rows, r, p = 0, stride = 1, inner;
    int kept[KWNN_MAX_DIMS];
    uint32_t n = kwnn__runs(L->in_shape, L->in_ndim, L->axes, dim, kept), d;
    for (d = n; d-- > 0;) {
        ps[d] = kept[d] ? stride : 0;
        if (kept[d]) stride *= dim[d];
        idx[d] = 0;
    }
    inner = dim[n - 1];
    rows = batch * (L->in_count / inner);
    for (r = 0; r < rows; r++) {
        kwnn__bcast_row(L, x + r * inner, y + r * inner, inner, p, ps[n - 1]);
        for (d = n - 1; d-- > 0;) { /* next row: carry; after the last, p is 0 again */
            p += ps[d];
            if (++idx[d] < dim[d]) break;
            p -= ps[d] * dim[d];
            idx[d] = 0;
        }
    }
}

/* The (outer, G, inner) view of a batch for a layer normalising over the
   adjacent axes in L->axes: G the product of those axes, inner of the axes
   after them, outer of the axes before them times the batch. */
static void kwnn__axes_view(const kwnn_layer *L, size_t batch, size_t *outer, size_t *G, size_t *inner)
{
    uint32_t i;
    *outer = batch;
    *G = *inner = 1;
    for (i = 0; i < L->in_ndim; i++) {
        if ((L->axes >> i) & 1u) *G *= L->in_shape[i];
        else if ((L->axes >> i) == 0) *inner *= L->in_shape[i];
        else *outer *= L->in_shape[i];
    }
}

/* LayerNormalization over the adjacent axes in L->axes: per group (outer,
   inner) of the (outer, G, inner) view, mean and variance (in double, then
   float32), then Keras 3's inv = rsqrt(var + eps) * gamma, y = x * inv +
   (beta - mean * inv); rms_scaling: y = x * rsqrt(var + eps) * gamma.  In
   place allowed: a group is read whole before it is written. */
static void kwnn__layernorm_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t outer, G, inner, o, j, g;
    kwnn__axes_view(L, batch, &outer, &G, &inner);
    for (o = 0; o < outer; o++)
        for (j = 0; j < inner; j++) {
            const float *xs = x + o * G * inner + j;
            float *ys = y + o * G * inner + j, mean, var, inv;
            double s = 0.0, v = 0.0, md;
            for (g = 0; g < G; g++) s += (double)xs[g * inner];
            md = s / (double)G;
            for (g = 0; g < G; g++) v += ((double)xs[g * inner] - md) * ((double)xs[g * inner] - md);
            mean = (float)md;
            var = (float)(v / (double)G);
            inv = 1.0f / sqrtf(var + L->epsilon);
            for (g = 0; g < G; g++) {
                float xv = xs[g * inner], a = L->w != NULL ? inv * L->w[g] : inv;
                if (L->op) ys[g * inner] = L->w != NULL ? xv * inv * L->w[g] : xv * inv;
                else ys[g * inner] = xv * a + (L->b != NULL ? -mean * a + L->b[g] : -mean * a);
            }
        }
}
