/* ---- the convolution family ---------------------------------------------- */

/* Conv1D/2D/3D (groups, causal), DepthwiseConv1D/2D, SeparableConv1D/2D and
   Conv1D/2D/3DTranspose, of every Keras generation, channels_last or
   channels_first: one N-d direct convolution.  Every layer is seen as 3-d: a
   1-d or 2-d one gets leading axes of size 1 (kernel 1, stride 1, no
   padding), which leave its memory layout as it is.  Kernels are used as
   (k0, k1, k2, cin / groups, filters); those stored otherwise (a transposed
   convolution's (k..., filters, cin), Keras 1 "th" (filters, cin, k...),
   Theano's flipped ones) are repacked once at load.  channels_first is index
   arithmetic (a channel stride and a position stride), not a copy.
   A depthwise convolution is a grouped one (groups = channels, one input
   channel and depth_multiplier filters per group: the kernel (k..., C, mult)
   is already (k..., 1, C mult)); a separable one adds the pointwise kernel. */

enum { KWNN__OP_CONV = 0, KWNN__OP_DEPTHWISE, KWNN__OP_SEPARABLE, KWNN__OP_TRANSPOSE, KWNN__OP_REFUSED };
#define KWNN__CONV_ARG(op, rank) ((op) * 4 + (rank)) /* the registry's arg */

/* Helpers of 51_cost.h and 80_run_layers.h, defined there. */
static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b);
static uint64_t kwnn__sat_add(uint64_t a, uint64_t b);
static void kwnn__axpy(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT w, float a, size_t n);
static void kwnn__taps(size_t start, size_t pad, size_t n, size_t k, size_t d, size_t *lo, size_t *hi);

static const char *const kwnn__conv_classes[] = {
    "Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D", "AtrousConvolution1D",
    "AtrousConvolution2D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
    "SeparableConvolution1D", "SeparableConvolution2D", "Conv1DTranspose", "Conv2DTranspose",
    "Conv3DTranspose", NULL};

static int kwnn__conv_transposed(kwnn_kind k)
{
    return k == KWNN_LAYER_CONV1D_TRANSPOSE || k == KWNN_LAYER_CONV2D_TRANSPOSE || k == KWNN_LAYER_CONV3D_TRANSPOSE;
}

/* Keras 1 "th" config (dim_ordering): channels first, kernels (filters, cin, k...). */
static int kwnn__conv_th(kwnn__json cfg)
{
    kwnn__json v;
    return kwnn__get(cfg, "dim_ordering", &v) && kwnn__jstr_is(v, "th");
}

/* Pass 1 (kwnn__measure_params): floats a conv-family weight needs repacked
   (beyond a conversion to float32, counted by the caller); 0 for others. */
static size_t kwnn__conv_repack_floats(const kwb_layer *L, const kwb_tensor *t, int theano)
{
    kwnn__json cfg;
    int transpose, kernel;
    if (!kwnn__is_class(L, kwnn__conv_classes)) return 0;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    transpose = strstr(L->class_name, "Transpose") != NULL;
    kernel = strcmp(t->weight, "kernel") == 0 || strcmp(t->weight, "depthwise_kernel") == 0;
    if ((kernel && (transpose || theano)) || (t->ndim >= 3 && L->config_length > 0 && kwnn__conv_th(cfg)))
        return (size_t)t->count;
    return 0;
}

/* dst (taps, A, B) from src laid out as order 0 (taps, A, B), 1 (taps, B, A)
   or 2 (B, A, taps); flip: the taps reversed (reversing each spatial axis of
   a row-major kernel reverses its flat tap index). */
static void kwnn__repack(float *dst, const float *src, size_t taps, size_t A, size_t B, int order, int flip)
{
    size_t t, a, b;
    for (t = 0; t < taps; t++) {
        size_t st = flip ? taps - 1 - t : t;
        for (a = 0; a < A; a++)
            for (b = 0; b < B; b++) {
                size_t s = order == 0 ? (st * A + a) * B + b : order == 1 ? (st * B + b) * A + a : (b * A + a) * taps + st;
                dst[(t * A + a) * B + b] = src[s];
            }
    }
}

/* Kernel `name` of L, used as (ks..., A, B); stored as `order` (see
   kwnn__repack), Keras 1 Conv1D's as (k, 1, A, B) (k1_1d). */
static kwnn_result kwnn__conv_kernel(kwnn__ctx *c, const kwb_layer *L, const char *name, const size_t *ks,
                                     uint32_t rank, size_t A, size_t B, int order, int flip, int k1_1d,
                                     const float **out)
{
    size_t shape[6], taps = 1, n;
    uint32_t a, nd = 0;
    const float *src;
    float *dst;
    kwnn_result r;
    for (a = 0; a < rank; a++)
        if (!kwnn__mul(taps, ks[a], &taps)) return kwnn__oom(c);
    if (order == 2) {
        shape[nd++] = B;
        shape[nd++] = A;
    }
    for (a = 0; a < rank; a++) shape[nd++] = ks[a];
    if (k1_1d) shape[nd++] = 1;
    if (order != 2) {
        shape[nd++] = order == 0 ? A : B;
        shape[nd++] = order == 0 ? B : A;
    }
    if ((r = kwnn__weight(c, L, name, shape, nd, 0, &src)) != KWNN_OK) return r;
    if (order == 0 && !flip) {
        *out = src;
        return KWNN_OK;
    }
    if (!kwnn__mul(taps, A, &n) || !kwnn__mul(n, B, &n)) return kwnn__oom(c);
    if ((r = kwnn__param(c, n, &dst)) != KWNN_OK) return r;
    if (c->fill) kwnn__repack(dst, src, taps, A, B, order, flip);
    *out = dst;
    return KWNN_OK;
}

/* kernel_size, or Keras 1's filter_length / nb_row, nb_col / kernel_dim1..3. */
static kwnn_result kwnn__conv_ksize(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, uint32_t rank, size_t *ks)
{
    static const char *const ks_keys[] = {"kernel_size", NULL};
    static const char *const k1[3][3] = {{"filter_length", NULL, NULL},
                                         {"nb_row", "nb_col", NULL},
                                         {"kernel_dim1", "kernel_dim2", "kernel_dim3"}};
    kwnn__json v;
    uint32_t a;
    long x;
    if (kwnn__get(cfg, "kernel_size", &v) && !kwnn__null(v)) return kwnn__cfg_sizes(c, L, cfg, ks_keys, rank, 1, ks);
    for (a = 0; a < rank; a++) {
        const char *key = k1[rank - 1][a];
        if (!kwnn__get(cfg, key, &v)) {
            kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no kernel_size (or ");
            kwnn__m(c->net, key);
            kwnn__m(c->net, ")");
            return KWNN_ERR_BAD_CONFIG;
        }
        if (!kwnn__int(v, &x) || x < 1 || (size_t)x > KWNN__DIM_LIMIT)
            return kwnn__bad_key(c, L, key, v, "a positive size");
        ks[a] = (size_t)x;
    }
    return KWNN_OK;
}

/* padding | border_mode: 0 valid, 1 same, 2 causal (1-d forward convolutions). */
static kwnn_result kwnn__conv_padding(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int causal_ok, int *mode)
{
    static const char *const keys[] = {"padding", "border_mode", NULL};
    const char *which;
    kwnn__json v;
    *mode = 0;
    if (!kwnn__key(cfg, keys, &which, &v) || kwnn__jstr_is(v, "valid")) return KWNN_OK;
    if (kwnn__jstr_is(v, "same")) *mode = 1;
    else if (causal_ok && kwnn__jstr_is(v, "causal")) *mode = 2;
    else return kwnn__unsupported_value(c, L, which, v);
    return KWNN_OK;
}

/* data_format (Keras 2/3) | dim_ordering (Keras 1): 1 for channels first. */
static kwnn_result kwnn__conv_format(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int *first)
{
    kwnn__json v;
    *first = 0;
    if (kwnn__get(cfg, "data_format", &v) && !kwnn__null(v)) {
        if (kwnn__jstr_is(v, "channels_first")) *first = 1;
        else if (!kwnn__jstr_is(v, "channels_last")) return kwnn__unsupported_value(c, L, "data_format", v);
    }
    if (kwnn__get(cfg, "dim_ordering", &v) && !kwnn__null(v)) {
        if (kwnn__jstr_is(v, "th")) *first = 1;
        else if (!kwnn__jstr_is(v, "tf")) return kwnn__unsupported_value(c, L, "dim_ordering", v);
    }
    return KWNN_OK;
}

/* A positive count (filters, depth_multiplier, groups) under one of `keys`. */
static kwnn_result kwnn__conv_count(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *const *keys,
                                    long dflt, long *out)
{
    const char *which;
    kwnn__json v;
    *out = dflt;
    if (!kwnn__key(cfg, keys, &which, &v)) {
        if (dflt > 0) return KWNN_OK;
        kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no positive '");
        kwnn__m(c->net, keys[0]);
        kwnn__m(c->net, "'");
        return KWNN_ERR_BAD_CONFIG;
    }
    if (!kwnn__int(v, out) || *out < 1 || (size_t)*out > KWNN__DIM_LIMIT)
        return kwnn__bad_key(c, L, which, v, "a positive number");
    return KWNN_OK;
}

/* output_padding of a transposed convolution: null (-1 each) or sizes >= 0. */
static kwnn_result kwnn__conv_outpad(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, uint32_t rank, long *op)
{
    kwnn__json v, el;
    kwnn__iter it;
    uint32_t a;
    long x;
    for (a = 0; a < rank; a++) op[a] = -1;
    if (!kwnn__get(cfg, "output_padding", &v) || kwnn__null(v)) return KWNN_OK;
    if (kwnn__int(v, &x)) {
        if (x < 0 || (size_t)x > KWNN__DIM_LIMIT) return kwnn__bad_key(c, L, "output_padding", v, "a size >= 0");
        for (a = 0; a < rank; a++) op[a] = x;
        return KWNN_OK;
    }
    if (!kwnn__begin(v, '[', &it) || kwnn__count(v) != rank)
        return kwnn__bad_key(c, L, "output_padding", v, "a list of sizes");
    for (a = 0; a < rank && kwnn__next(&it, NULL, &el); a++) {
        if (!kwnn__int(el, &x) || x < 0 || (size_t)x > KWNN__DIM_LIMIT)
            return kwnn__bad_key(c, L, "output_padding", v, "a list of sizes >= 0");
        op[a] = x;
    }
    return KWNN_OK;
}

/* Output size and crop of one axis of a transposed convolution, as Keras 3
   (compute_conv_transpose_output_shape, and the padding it gives JAX): the
   full output (in - 1) s + eff, of which `crop` are dropped at the start.
   Sizes <= KWNN__DIM_LIMIT (checked arithmetic: no overflow on 32 bits). */
static int kwnn__conv_tr_axis(size_t in, size_t k, size_t s, size_t d, int same, long op, size_t *out, size_t *crop)
{
    size_t eff, o, left = 0, pad_len;
    if (in > KWNN__DIM_LIMIT || !kwnn__extent(k, d, &eff) || !kwnn__mul(in - 1, s, &o)) return 0;
    if (!same) {
        size_t extra = op >= 0 ? (size_t)op : (s > eff ? s - eff : 0);
        if (!kwnn__add(o, eff, &o) || !kwnn__add(o, extra, &o)) return 0;
        left = eff - 1;
    } else {
        if (op >= 0) {
            pad_len = eff + eff % 2 - 2 + (size_t)op;
            if (!kwnn__add(o, eff % 2 + (size_t)op, &o)) return 0;
        } else {
            pad_len = s + eff - 2;
            if (!kwnn__mul(in, s, &o)) return 0;
        }
        left = pad_len / 2 + pad_len % 2;
        if (left > eff - 1) left = eff - 1;
    }
    *out = o;
    *crop = eff - 1 - left;
    return o >= 1 && o <= KWNN__DIM_LIMIT;
}

static const kwnn_kind kwnn__conv_kinds[4][3] = {
    {KWNN_LAYER_CONV1D, KWNN_LAYER_CONV2D, KWNN_LAYER_CONV3D},
    {KWNN_LAYER_DEPTHWISE1D, KWNN_LAYER_DEPTHWISE2D, KWNN_LAYER_UNUSED},
    {KWNN_LAYER_DEPTHWISE1D, KWNN_LAYER_DEPTHWISE2D, KWNN_LAYER_UNUSED},
    {KWNN_LAYER_CONV1D_TRANSPOSE, KWNN_LAYER_CONV2D_TRANSPOSE, KWNN_LAYER_CONV3D_TRANSPOSE}};

/* The options of a convolution's config (every generation's keys). */
typedef struct kwnn__conv_cfg {
    size_t ks[3], st[3], dl[3];
    long filters, mult, groups, op[3];
    int pad_mode, first, use_bias, th;
} kwnn__conv_cfg;

static kwnn_result kwnn__conv_options(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int op, uint32_t rank,
                                      kwnn__conv_cfg *k)
{
    static const char *const filter_keys[] = {"filters", "nb_filter", NULL};
    static const char *const mult_keys[] = {"depth_multiplier", NULL};
    static const char *const group_keys[] = {"groups", NULL};
    static const char *const st1_keys[] = {"strides", "subsample_length", NULL};
    static const char *const st_keys[] = {"strides", "subsample", NULL};
    static const char *const dl_keys[] = {"dilation_rate", "atrous_rate", NULL};
    kwnn__json v;
    kwnn_result r;
    k->filters = k->mult = k->groups = 1;
    k->th = kwnn__conv_th(cfg);
    if ((op != KWNN__OP_DEPTHWISE && (r = kwnn__conv_count(c, L, cfg, filter_keys, 0, &k->filters)) != KWNN_OK) ||
        (op != KWNN__OP_CONV && op != KWNN__OP_TRANSPOSE &&
         (r = kwnn__conv_count(c, L, cfg, mult_keys, 1, &k->mult)) != KWNN_OK) ||
        (op == KWNN__OP_CONV && (r = kwnn__conv_count(c, L, cfg, group_keys, 1, &k->groups)) != KWNN_OK) ||
        (r = kwnn__conv_ksize(c, L, cfg, rank, k->ks)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, rank == 1 ? st1_keys : st_keys, rank, 1, k->st)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, dl_keys, rank, 1, k->dl)) != KWNN_OK ||
        (r = kwnn__conv_padding(c, L, cfg, rank == 1 && op != KWNN__OP_TRANSPOSE, &k->pad_mode)) != KWNN_OK ||
        (r = kwnn__conv_format(c, L, cfg, &k->first)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_bias", "bias", 1, &k->use_bias)) != KWNN_OK)
        return r;
    if (op == KWNN__OP_TRANSPOSE && (r = kwnn__conv_outpad(c, L, cfg, rank, k->op)) != KWNN_OK) return r;
    if (op != KWNN__OP_TRANSPOSE && kwnn__get(cfg, "output_padding", &v) && !kwnn__null(v))
        return kwnn__unsupported_value(c, L, "output_padding", v);
    return KWNN_OK;
}

/* Spatial geometry: each axis's output size and padding (or crop); the
   layer's window as 3-d (leading unit axes). */
static kwnn_result kwnn__conv_geometry(kwnn__ctx *c, const kwb_layer *L, const kwnn__conv_cfg *k, int op,
                                       uint32_t rank, kwnn_layer *out, size_t *osz)
{
    uint32_t a, lead = 3 - rank;
    const size_t *in = c->shape + (k->first ? 1 : 0);
    for (a = 0; a < 3; a++) {
        out->win[a] = out->step[a] = out->dilation[a] = 1;
        out->lo[a] = 0;
    }
    for (a = 0; a < rank; a++) {
        size_t eff, o, pad = 0;
        int ok;
        if (in[a] > KWNN__DIM_LIMIT || !kwnn__extent(k->ks[a], k->dl[a], &eff))
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "too large (a dilated kernel spans more than 2^30)");
        if (op == KWNN__OP_TRANSPOSE) ok = kwnn__conv_tr_axis(in[a], k->ks[a], k->st[a], k->dl[a], k->pad_mode == 1,
                                                              k->op[a], &o, &pad);
        else if (k->pad_mode == 2) { /* causal: eff - 1 before, the output as long as the input (stride 1) */
            pad = eff - 1;
            o = (in[a] - 1) / k->st[a] + 1;
            ok = 1;
        } else ok = kwnn__window(in[a], k->ks[a], k->st[a], k->dl[a], k->pad_mode == 1, &o, &pad);
        if (!ok) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L,
                       op == KWNN__OP_TRANSPOSE ? "its output would be empty or above 2^30 for its input "
                                                : "its window is larger than its input ");
            kwnn__m_shape(c->net, c->shape, c->nd);
            return KWNN_ERR_SHAPE;
        }
        osz[a] = o;
        out->win[lead + a] = k->ks[a];
        out->step[lead + a] = k->st[a];
        out->dilation[lead + a] = k->dl[a];
        out->lo[lead + a] = pad;
    }
    return KWNN_OK;
}

/* Every convolution: arg = KWNN__CONV_ARG(op, spatial rank). */
static kwnn_result kwnn__conv_nd(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    int op = arg / 4, flip = c->theano_kernels, order;
    uint32_t rank = (uint32_t)(arg % 4), a;
    kwnn__conv_cfg k;
    size_t C, osz[3], cm, bias_n;
    kwb_tensor t;
    kwnn__json v;
    const char *dk = "kernel";
    kwnn_result r;
    if (op == KWNN__OP_REFUSED)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "Keras 1 Deconvolution2D/3D is not supported (its kernel layout varied across "
                          "releases); use Conv2DTranspose / Conv3DTranspose");
    if ((r = kwnn__conv_options(c, L, cfg, op, rank, &k)) != KWNN_OK) return r;
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK) return r;
    if (c->nd != rank + 1) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank ");
        kwnn__m_u(c->net, rank + 1);
        kwnn__m(c->net, k.first ? " (channels, spatial axes), gets " : " (spatial axes, channels), gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    C = k.first ? c->shape[0] : c->shape[rank];
    if (C > KWNN__DIM_LIMIT || !kwnn__mul(C, (size_t)k.mult, &cm) || cm > KWNN__DIM_LIMIT)
        return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "too many channels");
    if (C % (size_t)k.groups != 0 || (size_t)k.filters % (size_t)k.groups != 0) {
        kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "groups ");
        kwnn__m_u(c->net, (size_t)k.groups);
        kwnn__m(c->net, " does not divide its input channels and filters");
        return KWNN_ERR_BAD_CONFIG;
    }
    if ((r = kwnn__conv_geometry(c, L, &k, op, rank, out, osz)) != KWNN_OK) return r;
    out->kind = kwnn__conv_kinds[op][rank - 1];
    out->spatial = rank;
    out->channels_first = k.first;
    out->mult = (size_t)k.mult;
    out->groups = op == KWNN__OP_CONV ? (size_t)k.groups : op == KWNN__OP_TRANSPOSE ? 1 : C;
    out->units = op == KWNN__OP_DEPTHWISE ? cm : (size_t)k.filters;
    /* weights */
    order = k.th ? 2 : 0;
    if (op == KWNN__OP_SEPARABLE) {
        static const char *const sep_names[] = {"depthwise_kernel", "pointwise_kernel", "bias"};
        size_t ones[3] = {1, 1, 1};
        if ((r = kwnn__only(c, L, sep_names, k.use_bias ? 3 : 2)) != KWNN_OK ||
            (r = kwnn__conv_kernel(c, L, "depthwise_kernel", k.ks, rank, C, out->mult, order, flip, 0, &out->w)) !=
                KWNN_OK ||
            (r = kwnn__conv_kernel(c, L, "pointwise_kernel", ones, rank, cm, out->units, order, 0, 0, &out->w2)) !=
                KWNN_OK)
            return r;
    } else {
        const char *names[2];
        if (op == KWNN__OP_DEPTHWISE && !kwnn__find(c, L, "kernel", &t)) dk = "depthwise_kernel"; /* Keras 2 */
        names[0] = dk;
        names[1] = "bias";
        if ((r = kwnn__only(c, L, names, k.use_bias ? 2 : 1)) != KWNN_OK) return r;
        if (op == KWNN__OP_DEPTHWISE)
            r = kwnn__conv_kernel(c, L, dk, k.ks, rank, C, out->mult, order, flip, 0, &out->w);
        else if (op == KWNN__OP_TRANSPOSE)
            r = kwnn__conv_kernel(c, L, dk, k.ks, rank, C, out->units, 1, flip, 0, &out->w);
        else
            r = kwnn__conv_kernel(c, L, dk, k.ks, rank, C / out->groups, out->units, order, flip,
                                  rank == 1 && kwnn__find(c, L, dk, &t) && t.ndim == 4, &out->w);
        if (r != KWNN_OK) return r;
    }
    bias_n = out->units;
    if (k.use_bias && (r = kwnn__weight(c, L, "bias", &bias_n, 1, 0, &out->b)) != KWNN_OK) return r;
    /* the 2-d fields (kh, kw, ...) of the first API, from the last two axes */
    out->kh = out->win[1];
    out->kw = out->win[2];
    out->sh = out->step[1];
    out->sw = out->step[2];
    out->dh = out->dilation[1];
    out->dw = out->dilation[2];
    out->pad_top = out->lo[1];
    out->pad_left = out->lo[2];
    out->same = k.pad_mode == 1;
    for (a = 0; a < rank; a++) c->shape[(k.first ? 1 : 0) + a] = osz[a];
    c->shape[k.first ? 0 : rank] = out->units;
    return KWNN_OK;
}

/* ---- running ---- */

typedef struct kwnn__cgeo {
    size_t in[3], out[3];           /* spatial sizes, as 3-d */
    size_t C, F;                    /* input and output channels */
    size_t x_cs, x_ps, y_cs, y_ps;  /* strides of a channel and of a position in x and y */
} kwnn__cgeo;

static void kwnn__conv_geo(const kwnn_layer *L, kwnn__cgeo *g)
{
    uint32_t r = L->spatial, a, lead = 3 - r, sp = L->channels_first ? 1 : 0;
    size_t ni = 1, no = 1;
    for (a = 0; a < 3; a++) {
        g->in[a] = a < lead ? 1 : L->in_shape[sp + a - lead];
        g->out[a] = a < lead ? 1 : L->out_shape[sp + a - lead];
        ni *= g->in[a];
        no *= g->out[a];
    }
    g->C = L->in_shape[L->channels_first ? 0 : r];
    g->F = L->out_shape[L->channels_first ? 0 : r];
    g->x_cs = L->channels_first ? ni : 1;
    g->x_ps = L->channels_first ? 1 : g->C;
    g->y_cs = L->channels_first ? no : 1;
    g->y_ps = L->channels_first ? 1 : g->F;
}

/* Axis a, output o: the taps [lo, hi) that can reach the input (transposed:
   the full output position o + crop receives tap j from input (o + crop - j d) / s
   when that divides; the others are skipped by kwnn__conv_at). */
static void kwnn__conv_range(const kwnn_layer *L, int tr, uint32_t a, size_t o, size_t n, size_t *lo, size_t *hi)
{
    size_t k = L->win[a], s = L->step[a], d = L->dilation[a];
    if (!tr) {
        kwnn__taps(o * s, L->lo[a], n, k, d, lo, hi);
        return;
    } else {
        size_t p = o + L->lo[a], last = (n - 1) * s;
        *hi = p / d + 1 < k ? p / d + 1 : k;
        *lo = p > last ? (p - last + d - 1) / d : 0;
        if (*lo > *hi) *lo = *hi;
    }
}

/* The input index of tap j on axis a (j within kwnn__conv_range); 0 when it
   falls between two inputs (transposed, stride > 1). */
static int kwnn__conv_at(const kwnn_layer *L, int tr, uint32_t a, size_t o, size_t j, size_t *i)
{
    size_t q;
    if (!tr) {
        *i = o * L->step[a] + j * L->dilation[a] - L->lo[a];
        return 1;
    }
    q = o + L->lo[a] - j * L->dilation[a];
    *i = q / L->step[a];
    return q % L->step[a] == 0;
}

/* o[k * os] += a * w[k] over n. */
static void kwnn__axpy_s(float *KWNN__RESTRICT o, size_t os, const float *KWNN__RESTRICT w, float a, size_t n)
{
    size_t k;
    if (os == 1) {
        kwnn__axpy(o, w, a, n);
        return;
    }
    for (k = 0; k < n; k++) o[k * os] += a * w[k];
}

/* Depthwise, channels_last, one tap: o[c M + m] += x[c] w[c M + m] (vectorizable). */
static void kwnn__dw_tap(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT x, const float *KWNN__RESTRICT w,
                         size_t C, size_t M)
{
    size_t c, m;
    if (M == 1) {
        for (c = 0; c < C; c++) o[c] += x[c] * w[c];
        return;
    }
    for (c = 0; c < C; c++)
        for (m = 0; m < M; m++) o[c * M + m] += x[c] * w[c * M + m];
}

/* One output position, every tap on the input: y += x[tap] (groups) times W[tap]. */
static void kwnn__conv_point(const kwnn_layer *L, const kwnn__cgeo *g, int tr, const size_t *o, const float *xb,
                             float *KWNN__RESTRICT yo)
{
    size_t lo[3], hi[3], j0, j1, j2, i0, i1, i2, G = L->groups, Cg = g->C / G, Fg = g->F / G, gi, ci;
    uint32_t a;
    for (a = 0; a < 3; a++) kwnn__conv_range(L, tr, a, o[a], g->in[a], &lo[a], &hi[a]);
    for (j0 = lo[0]; j0 < hi[0]; j0++) {
        if (!kwnn__conv_at(L, tr, 0, o[0], j0, &i0)) continue;
        for (j1 = lo[1]; j1 < hi[1]; j1++) {
            if (!kwnn__conv_at(L, tr, 1, o[1], j1, &i1)) continue;
            for (j2 = lo[2]; j2 < hi[2]; j2++) {
                const float *xp, *wp;
                if (!kwnn__conv_at(L, tr, 2, o[2], j2, &i2)) continue;
                KWNN_PROBE(taps, 1);
                xp = xb + ((i0 * g->in[1] + i1) * g->in[2] + i2) * g->x_ps;
                wp = L->w + ((j0 * L->win[1] + j1) * L->win[2] + j2) * Cg * g->F;
                if (Cg == 1 && g->x_cs == 1 && g->y_cs == 1) { /* depthwise, channels_last */
                    kwnn__dw_tap(yo, xp, wp, G, Fg);
                    continue;
                }
                for (gi = 0; gi < G; gi++)
                    for (ci = 0; ci < Cg; ci++)
                        kwnn__axpy_s(yo + gi * Fg * g->y_cs, g->y_cs, wp + ci * g->F + gi * Fg,
                                     xp[(gi * Cg + ci) * g->x_cs], Fg);
            }
        }
    }
}

/* Separable, one output position: each depthwise sum (channel c, multiplier
   m), as soon as known, times its row of the pointwise kernel into y. */
static void kwnn__separable_point(const kwnn_layer *L, const kwnn__cgeo *g, const size_t *o, const float *xb,
                                  float *KWNN__RESTRICT yo)
{
    size_t lo[3], hi[3], j0, j1, j2, M = L->mult, CM = g->C * M, cm;
    uint32_t a;
    for (a = 0; a < 3; a++) kwnn__conv_range(L, 0, a, o[a], g->in[a], &lo[a], &hi[a]);
    for (cm = 0; cm < CM; cm++) {
        float s = 0.0f;
        const float *xc = xb + (cm / M) * g->x_cs;
        for (j0 = lo[0]; j0 < hi[0]; j0++)
            for (j1 = lo[1]; j1 < hi[1]; j1++)
                for (j2 = lo[2]; j2 < hi[2]; j2++) {
                    size_t i0 = o[0] * L->step[0] + j0 * L->dilation[0] - L->lo[0];
                    size_t i1 = o[1] * L->step[1] + j1 * L->dilation[1] - L->lo[1];
                    size_t i2 = o[2] * L->step[2] + j2 * L->dilation[2] - L->lo[2];
                    KWNN_PROBE(taps, 1);
                    s += xc[((i0 * g->in[1] + i1) * g->in[2] + i2) * g->x_ps] *
                         L->w[((j0 * L->win[1] + j1) * L->win[2] + j2) * CM + cm];
                }
        kwnn__axpy_s(yo, g->y_cs, L->w2 + cm * g->F, s, g->F);
    }
}

static void kwnn__conv_nd_run(const kwnn_layer *L, const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y,
                              size_t batch)
{
    kwnn__cgeo g;
    size_t b, o[3], f;
    int tr = kwnn__conv_transposed(L->kind);
    kwnn__conv_geo(L, &g);
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * L->in_count;
        float *yb = y + b * L->out_count;
        for (o[0] = 0; o[0] < g.out[0]; o[0]++)
            for (o[1] = 0; o[1] < g.out[1]; o[1]++)
                for (o[2] = 0; o[2] < g.out[2]; o[2]++) {
                    float *yo = yb + ((o[0] * g.out[1] + o[1]) * g.out[2] + o[2]) * g.y_ps;
                    for (f = 0; f < g.F; f++) yo[f * g.y_cs] = 0.0f;
                    if (L->w2 != NULL) kwnn__separable_point(L, &g, o, xb, yo);
                    else kwnn__conv_point(L, &g, tr, o, xb, yo);
                    if (L->b != NULL)
                        for (f = 0; f < g.F; f++) yo[f * g.y_cs] += L->b[f];
                }
    }
}

static size_t kwnn__gcd(size_t a, size_t b)
{
    while (b != 0) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Operations per sample (see kwnn__layer_cost): per output position, the
   taps on the input (at most min(k, in) per axis; transposed: those that
   divide, at most ceil(k / (s / gcd(s, d))), plus the range checked) times
   the multiply-adds of a tap; separable: then C mult x filters. */
static uint64_t kwnn__conv_cost(const kwnn_layer *L)
{
    kwnn__cgeo g;
    uint64_t taps = 1, seen = 1, pos, per;
    uint32_t a;
    int tr = kwnn__conv_transposed(L->kind);
    kwnn__conv_geo(L, &g);
    pos = (uint64_t)L->out_count / (g.F ? g.F : 1);
    for (a = 0; a < 3; a++) {
        size_t k = L->win[a], n = k < g.in[a] ? k : g.in[a];
        if (tr) { /* the range spans (in - 1) s / d + 1 taps at most; of those, 1 in s / gcd(s, d) hits */
            uint64_t span = (uint64_t)(g.in[a] - 1) * L->step[a] / L->dilation[a] + 1;
            size_t s = L->step[a] / kwnn__gcd(L->step[a], L->dilation[a]), hit = (k + s - 1) / s;
            seen = kwnn__sat_mul(seen, span < k ? span : k);
            n = hit < n ? hit : n;
        }
        taps = kwnn__sat_mul(taps, n);
    }
    if (L->w2 != NULL)
        per = kwnn__sat_add(kwnn__sat_mul(taps, g.C * L->mult), kwnn__sat_mul(g.C * L->mult, g.F));
    else
        per = kwnn__sat_mul(taps, kwnn__sat_mul(g.C / (L->groups ? L->groups : 1), g.F));
    if (tr) per = kwnn__sat_add(per, seen);
    return kwnn__sat_add(kwnn__sat_mul(per, pos), L->out_count);
}
