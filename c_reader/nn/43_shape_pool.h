/* ---- shape, resampling and pooling layers of 1 to 3 spatial axes -------- */

/* ZeroPadding1D/2D/3D, Cropping1D/2D/3D, UpSampling1D/2D/3D, Max/
   AveragePooling1D/2D/3D, GlobalMax/AveragePooling1D/2D/3D, Permute,
   RepeatVector, and Flatten(data_format="channels_first").

   A spatial layer sees one sample as [outer][d0][d1][d2][inner]: channels
   last, outer 1 and inner the channels; channels first, outer the channels
   and inner 1.  Fewer than 3 spatial axes are padded in front with axes of
   size 1 (window 1, step 1, nothing before or after), so one loop nest of
   three serves every rank. */

/* defined later (80_run_layers.h, 51_cost.h) */
static void kwnn__taps(size_t start, size_t pad, size_t n, size_t k, size_t d, size_t *lo, size_t *hi);
static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b);
static uint64_t kwnn__sat_add(uint64_t a, uint64_t b);

/* data_format (Keras 2/3) | dim_ordering (Keras 1): *cf 1 for channels first. */
static kwnn_result kwnn__data_format(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, int *cf)
{
    kwnn__json v;
    *cf = 0;
    if (kwnn__get(cfg, "data_format", &v) && !kwnn__null(v)) {
        if (kwnn__jstr_is(v, "channels_first")) *cf = 1;
        else if (!kwnn__jstr_is(v, "channels_last")) return kwnn__unsupported_value(c, L, "data_format", v);
    }
    if (kwnn__get(cfg, "dim_ordering", &v) && !kwnn__null(v)) {
        if (kwnn__jstr_is(v, "th")) *cf = 1;
        else if (!kwnn__jstr_is(v, "tf")) return kwnn__unsupported_value(c, L, "dim_ordering", v);
    }
    return KWNN_OK;
}

/* The input must be (spatial axes..., channels) or (channels, spatial axes...). */
static kwnn_result kwnn__need_spatial(kwnn__ctx *c, const kwb_layer *L, uint32_t spatial, int cf)
{
    uint32_t i;
    if (c->nd == spatial + 1) {
        for (i = 0; i < c->nd; i++)
            if (c->shape[i] > KWNN__DIM_LIMIT) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "input too large");
        return KWNN_OK;
    }
    kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank ");
    kwnn__m_u(c->net, spatial + 1);
    kwnn__m(c->net, cf ? " (channels, spatial axes), gets " : " (spatial axes, channels), gets ");
    kwnn__m_shape(c->net, c->shape, c->nd);
    return KWNN_ERR_SHAPE;
}

/* Spatial axis i of the current shape. */
static size_t *kwnn__sp(kwnn__ctx *c, int cf, uint32_t i) { return &c->shape[i + (cf ? 1u : 0u)]; }

static void kwnn__set_spatial(kwnn_layer *out, uint32_t spatial, int cf)
{
    uint32_t i;
    out->spatial = spatial;
    out->channels_first = cf;
    for (i = 0; i < 3; i++) {
        out->win[i] = out->step[i] = 1;
        out->lo[i] = out->hi[i] = 0;
    }
}

/* A non-negative amount (padding, cropping). */
static int kwnn__amount(kwnn__json v, size_t *out)
{
    long x;
    if (!kwnn__int(v, &x) || x < 0 || (size_t)x > KWNN__DIM_LIMIT) return 0;
    *out = (size_t)x;
    return 1;
}

/* Before / after amounts of `spatial` axes from every form Keras wrote: an
   int (all), a pair (1 axis: before, after), a list of one int (symmetric)
   or pair per axis, Keras 1's 4-list (top, bottom, left, right) and dicts
   (left_pad, right_pad, top_pad, bottom_pad). */
static kwnn_result kwnn__pairs(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key,
                               uint32_t spatial, size_t dflt, size_t *lo, size_t *hi)
{
    static const char *const dict1[] = {"left_pad", "right_pad"};
    static const char *const dict2[] = {"top_pad", "bottom_pad", "left_pad", "right_pad"};
    kwnn__json v, el, e2;
    kwnn__iter it, it2;
    size_t n, i, flat[4] = {0, 0, 0, 0};
    uint32_t a;
    for (a = 0; a < spatial; a++) lo[a] = hi[a] = dflt;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) return KWNN_OK;
    if (kwnn__amount(v, &flat[0])) {
        for (a = 0; a < spatial; a++) lo[a] = hi[a] = flat[0];
        return KWNN_OK;
    }
    if (kwnn__is(v, '{') && spatial <= 2) {
        const char *const *keys = spatial == 1 ? dict1 : dict2;
        for (i = 0; i < 2 * (size_t)spatial; i++) {
            flat[i] = 0;
            if (kwnn__get(v, keys[i], &el) && !kwnn__amount(el, &flat[i]))
                return kwnn__bad_key(c, L, key, v, "non-negative sizes");
        }
        for (a = 0; a < spatial; a++) {
            lo[a] = flat[2 * a];
            hi[a] = flat[2 * a + 1];
        }
        return KWNN_OK;
    }
    if (!kwnn__begin(v, '[', &it)) return kwnn__bad_key(c, L, key, v, "an int or a list");
    n = kwnn__count(v);
    if ((spatial == 1 && n == 2) || (spatial == 2 && n == 4)) { /* flat before/after pairs */
        for (i = 0; i < n && kwnn__next(&it, NULL, &el); i++)
            if (!kwnn__amount(el, &flat[i])) break;
        if (i == n) {
            for (a = 0; a < spatial; a++) {
                lo[a] = flat[2 * a];
                hi[a] = flat[2 * a + 1];
            }
            return KWNN_OK;
        }
        if (spatial == 2) return kwnn__bad_key(c, L, key, v, "non-negative sizes");
        kwnn__begin(v, '[', &it);
    }
    if (n != spatial) return kwnn__bad_key(c, L, key, v, spatial == 1 ? "an int or a pair" : "one entry per axis");
    for (a = 0; a < spatial && kwnn__next(&it, NULL, &el); a++) {
        if (kwnn__amount(el, &lo[a])) {
            hi[a] = lo[a];
            continue;
        }
        if (!kwnn__begin(el, '[', &it2) || kwnn__count(el) != 2 || !kwnn__next(&it2, NULL, &e2) ||
            !kwnn__amount(e2, &lo[a]) || !kwnn__next(&it2, NULL, &e2) || !kwnn__amount(e2, &hi[a]))
            return kwnn__bad_key(c, L, key, v, "ints or pairs of non-negative sizes");
    }
    return KWNN_OK;
}

/* ZeroPadding (crop 0) and Cropping (crop 1) of `spatial` axes. */
static kwnn_result kwnn__pad_crop(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                  uint32_t spatial, int crop)
{
    size_t lo[3], hi[3], *d;
    uint32_t a, first = 3 - spatial;
    int cf;
    kwnn_result r;
    if ((r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__pairs(c, L, cfg, crop ? "cropping" : "padding", spatial, crop && spatial == 2 ? 0 : 1, lo,
                         hi)) != KWNN_OK ||
        (r = kwnn__need_spatial(c, L, spatial, cf)) != KWNN_OK)
        return r;
    kwnn__set_spatial(out, spatial, cf);
    out->kind = crop ? KWNN_LAYER_CROP : KWNN_LAYER_ZEROPAD;
    for (a = 0; a < spatial; a++) {
        d = kwnn__sp(c, cf, a);
        out->lo[first + a] = lo[a];
        out->hi[first + a] = hi[a];
        if (crop) {
            if (lo[a] + hi[a] >= *d) { /* each <= 2^30: no overflow */
                kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "crops all of its input ");
                kwnn__m_shape(c->net, c->shape, c->nd);
                return KWNN_ERR_SHAPE;
            }
            *d -= lo[a] + hi[a];
        } else {
            *d += lo[a] + hi[a];
            if (*d > KWNN__DIM_LIMIT) return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "output too large");
        }
    }
    return KWNN_OK;
}

/* Standalone Keras 2.2-2.3 (keras_version "2.0" to "2.3.x" without "-tf"):
   its bilinear UpSampling2D was TensorFlow 1's resize_bilinear, without
   half-pixel centres.  tf.keras writes "2.x.y-tf" or 2.4 and later. */
static int kwnn__keras2_standalone(kwnn__ctx *c)
{
    size_t len = 0;
    const char *text = kwb_metadata(c->f, &len), *q;
    kwnn__json meta, v;
    if (text == NULL || len == 0) return 0;
    meta.p = text;
    meta.e = text + len;
    if (!kwnn__is(meta, '{') || !kwnn__get(meta, "keras_version", &v) || v.e - v.p < 5) return 0;
    if (v.p[1] != '2' || v.p[2] != '.' || v.p[3] < '0' || v.p[3] > '3' || (v.p[4] >= '0' && v.p[4] <= '9'))
        return 0;
    for (q = v.p; q + 3 <= v.e; q++)
        if (memcmp(q, "-tf", 3) == 0) return 0;
    return 1;
}

/* UpSampling1D (size | length), 2D (size, interpolation), 3D (size). */
static kwnn_result kwnn__upsampling(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                    uint32_t spatial)
{
    static const char *const keys[] = {"size", "length", NULL};
    size_t f[3], *d;
    uint32_t a, first = 3 - spatial;
    int cf;
    kwnn__json v;
    kwnn_result r;
    if ((r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, keys, spatial, 2, f)) != KWNN_OK ||
        (r = kwnn__need_spatial(c, L, spatial, cf)) != KWNN_OK)
        return r;
    kwnn__set_spatial(out, spatial, cf);
    out->kind = KWNN_LAYER_UPSAMPLE;
    if (kwnn__get(cfg, "interpolation", &v) && !kwnn__null(v) && !kwnn__jstr_is(v, "nearest")) {
        if (spatial != 2 || !kwnn__jstr_is(v, "bilinear")) return kwnn__unsupported_value(c, L, "interpolation", v);
        out->op = kwnn__keras2_standalone(c) ? 2 : 1; /* bilinear: half-pixel centres, or TF 1's */
    }
    for (a = 0; a < spatial; a++) {
        d = kwnn__sp(c, cf, a);
        out->step[first + a] = f[a];
        if (!kwnn__mul(*d, f[a], d) || *d > KWNN__DIM_LIMIT)
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "output too large");
    }
    return KWNN_OK;
}

/* Max/AveragePooling1D/2D/3D: pool_size | pool_length, strides | stride
   (null: the pool size), padding | border_mode; 'same' as TensorFlow. */
static kwnn_result kwnn__pool_nd(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                 kwnn_kind kind, uint32_t spatial)
{
    static const char *const ps_keys[] = {"pool_size", "pool_length", NULL};
    static const char *const st_keys[] = {"strides", "stride", NULL};
    size_t ps[3], st[3], o, *d;
    uint32_t a, first = 3 - spatial;
    int same, cf;
    kwnn_result r;
    if ((r = kwnn__cfg_sizes(c, L, cfg, ps_keys, spatial, 2, ps)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, st_keys, spatial, 0, st)) != KWNN_OK ||
        (r = kwnn__padding(c, L, cfg, &same)) != KWNN_OK || (r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK ||
        (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__need_spatial(c, L, spatial, cf)) != KWNN_OK)
        return r;
    kwnn__set_spatial(out, spatial, cf);
    out->kind = kind;
    out->same = same;
    out->units = c->shape[cf ? 0 : spatial];
    for (a = 0; a < spatial; a++) {
        d = kwnn__sp(c, cf, a);
        out->win[first + a] = ps[a];
        out->step[first + a] = st[a] != 0 ? st[a] : ps[a];
        if (!kwnn__window(*d, ps[a], out->step[first + a], 1, same, &o, &out->lo[first + a])) {
            kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "its window is larger than its input ");
            kwnn__m_shape(c->net, c->shape, c->nd);
            return KWNN_ERR_SHAPE;
        }
        *d = o;
    }
    return KWNN_OK;
}

/* GlobalMax/AveragePooling1D/2D/3D: over the spatial axes; keepdims. */
static kwnn_result kwnn__global_nd(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                   kwnn_kind kind, uint32_t spatial)
{
    int keep, cf;
    uint32_t i;
    kwnn_result r;
    if ((r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "keepdims", NULL, 0, &keep)) != KWNN_OK ||
        (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__need_spatial(c, L, spatial, cf)) != KWNN_OK)
        return r;
    kwnn__set_spatial(out, spatial, cf);
    out->kind = kind;
    out->units = c->shape[cf ? 0 : spatial];
    if (keep) {
        for (i = 0; i < spatial; i++) *kwnn__sp(c, cf, i) = 1;
        c->shape[cf ? 0 : spatial] = out->units;
    } else {
        c->shape[0] = out->units;
        c->nd = 1;
    }
    return KWNN_OK;
}

/* Permute: dims, the input axes (1-based) in output order. */
static kwnn_result kwnn__permute(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    kwnn__json v, el;
    kwnn__iter it;
    size_t dims[KWNN_MAX_DIMS];
    uint32_t i = 0, seen = 0;
    long x;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if (!kwnn__get(cfg, "dims", &v) || !kwnn__begin(v, '[', &it) || kwnn__count(v) != c->nd)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config 'dims' is not a permutation of its input's axes");
    for (i = 0; i < c->nd && kwnn__next(&it, NULL, &el); i++) {
        if (!kwnn__int(el, &x) || x < 1 || (unsigned long)x > c->nd || (seen >> (x - 1) & 1u))
            return kwnn__bad_key(c, L, "dims", v, "a permutation of 1..rank");
        seen |= 1u << (x - 1);
        out->perm[i] = (uint32_t)(x - 1);
        dims[i] = c->shape[x - 1];
    }
    memcpy(c->shape, dims, c->nd * sizeof dims[0]);
    out->kind = KWNN_LAYER_PERMUTE;
    return KWNN_OK;
}

/* Flatten: free, except channels_first on rank >= 2 (channels moved last first). */
static kwnn_result kwnn__flatten(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    size_t n;
    uint32_t i;
    int cf;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK || (r = kwnn__data_format(c, L, cfg, &cf)) != KWNN_OK) return r;
    if (!kwnn__prod(c->shape, c->nd, &n)) return kwnn__shape_overflow(c, L, "its input shape", c->shape, c->nd);
    out->kind = KWNN_LAYER_FLATTEN;
    if (cf && c->nd >= 2) {
        out->kind = KWNN_LAYER_PERMUTE;
        for (i = 0; i + 1 < c->nd; i++) out->perm[i] = i + 1;
        out->perm[c->nd - 1] = 0;
    }
    c->shape[0] = n;
    c->nd = 1;
    return KWNN_OK;
}

static kwnn_result kwnn__repeat_vector(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out)
{
    kwnn__json v;
    long n;
    kwnn_result r;
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if (!kwnn__get(cfg, "n", &v) || !kwnn__int(v, &n) || n < 1 || (size_t)n > KWNN__DIM_LIMIT)
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no positive 'n'");
    if (c->nd != 1) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs an input of rank 1, gets ");
        kwnn__m_shape(c->net, c->shape, c->nd);
        return KWNN_ERR_SHAPE;
    }
    out->kind = KWNN_LAYER_REPEAT;
    out->units = (size_t)n;
    c->shape[1] = c->shape[0];
    c->shape[0] = (size_t)n;
    c->nd = 2;
    return KWNN_OK;
}

/* ---- loaders for the registration table ---- */

static kwnn_result kwnn__load_pad(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__pad_crop(c, L, cfg, out, (uint32_t)arg, 0);
}

static kwnn_result kwnn__load_crop(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__pad_crop(c, L, cfg, out, (uint32_t)arg, 1);
}

static kwnn_result kwnn__load_upsampling(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out,
                                         int arg)
{
    return kwnn__upsampling(c, L, cfg, out, (uint32_t)arg);
}

/* arg: spatial axes, negative for average pooling */
static kwnn_result kwnn__load_pool(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__pool_nd(c, L, cfg, out, arg < 0 ? KWNN_LAYER_AVGPOOL2D : KWNN_LAYER_MAXPOOL2D,
                         (uint32_t)(arg < 0 ? -arg : arg));
}

/* arg: spatial axes, negative for max */
static kwnn_result kwnn__load_global(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__global_nd(c, L, cfg, out, arg < 0 ? KWNN_LAYER_GLOBAL_MAXPOOL : KWNN_LAYER_GLOBAL_AVGPOOL,
                           (uint32_t)(arg < 0 ? -arg : arg));
}

static kwnn_result kwnn__load_permute(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__permute(c, L, cfg, out);
}

static kwnn_result kwnn__load_flatten(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__flatten(c, L, cfg, out);
}

static kwnn_result kwnn__load_repeat(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__repeat_vector(c, L, cfg, out);
}

/* ---- runners ---- */

/* The layout [outer][d0][d1][d2][inner] of a spatial layer's input and output. */
typedef struct kwnn__geo {
    size_t in[3], out[3], outer, inner, in_vol, out_vol; /* vol: d0 d1 d2 inner */
} kwnn__geo;

static void kwnn__geometry(const kwnn_layer *L, kwnn__geo *g)
{
    uint32_t S = L->spatial, off = L->channels_first ? 1u : 0u, i, first = 3 - S;
    for (i = 0; i < 3; i++) g->in[i] = g->out[i] = 1;
    for (i = 0; i < S; i++) {
        g->in[first + i] = L->in_shape[off + i];
        g->out[first + i] = L->out_shape[off + i];
    }
    g->outer = L->channels_first ? L->in_shape[0] : 1;
    g->inner = L->channels_first ? 1 : L->in_shape[S];
    g->in_vol = g->in[0] * g->in[1] * g->in[2] * g->inner;
    g->out_vol = g->out[0] * g->out[1] * g->out[2] * g->inner;
}

/* ZeroPadding (output p from input p - lo, zero outside) and Cropping
   (output p from input p + lo): rows of the last spatial axis at a time. */
static void kwnn__pad_crop_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    kwnn__geo g;
    size_t b, o, p0, p1, n = 0, inner;
    int crop = L->kind == KWNN_LAYER_CROP;
    kwnn__geometry(L, &g);
    inner = g.inner;
    for (b = 0; b < batch * g.outer; b++) {
        const float *xs = x + b * g.in_vol;
        float *ys = y + b * g.out_vol;
        for (p0 = 0; p0 < g.out[0]; p0++)
            for (p1 = 0; p1 < g.out[1]; p1++) {
                float *row = ys + (p0 * g.out[1] + p1) * g.out[2] * inner;
                if (crop) {
                    const float *src = xs + (((p0 + L->lo[0]) * g.in[1] + p1 + L->lo[1]) * g.in[2] + L->lo[2]) * inner;
                    memcpy(row, src, g.out[2] * inner * sizeof *row);
                    continue;
                }
                if (p0 < L->lo[0] || p0 - L->lo[0] >= g.in[0] || p1 < L->lo[1] || p1 - L->lo[1] >= g.in[1]) {
                    for (n = 0; n < g.out[2] * inner; n++) row[n] = 0.0f;
                    continue;
                }
                for (n = 0; n < L->lo[2] * inner; n++) row[n] = 0.0f;
                memcpy(row + n, xs + ((p0 - L->lo[0]) * g.in[1] + p1 - L->lo[1]) * g.in[2] * inner,
                       g.in[2] * inner * sizeof *row);
                for (n += g.in[2] * inner, o = n; o < g.out[2] * inner; o++) row[o] = 0.0f;
            }
    }
}

/* TensorFlow 1's resize_bilinear: source o (in / out), the taps below and
   above it (clamped) and the fraction. */
static void kwnn__bilinear_tf1(size_t o, size_t f, size_t n, size_t *i0, size_t *i1, float *t)
{
    float s = (float)o * ((float)n / (float)(n * f));
    *i0 = (size_t)s;
    *i1 = *i0 + 1 < n ? *i0 + 1 : n - 1;
    *t = s - (float)*i0;
}

/* The two taps of output o for a factor f on n inputs and their weights, as
   jax.image.resize computes them: half-pixel centre s = (o + 0.5) (1 / f) - 0.5,
   weights max(0, 1 - |s - i|) of the taps inside the input, divided by their
   sum (so the edges repeat: s clamped to [0, n - 1]). */
static void kwnn__bilinear_src(size_t o, size_t f, size_t n, size_t *i0, size_t *i1, float *w0, float *w1)
{
    float s = ((float)o + 0.5f) * (1.0f / (float)f) - 0.5f, sum;
    if (s <= 0.0f) { /* the first tap only (also n == 1) */
        *i0 = *i1 = 0;
        *w0 = 1.0f;
        *w1 = 0.0f;
        return;
    }
    *i0 = (size_t)s;
    *i1 = *i0 + 1;
    *w0 = 1.0f - (s - (float)*i0);
    *w1 = *i1 < n ? fmaxf(0.0f, 1.0f - ((float)*i1 - s)) : 0.0f;
    if (*i1 >= n) *i1 = *i0;
    sum = *w0 + *w1;
    *w0 /= sum;
    *w1 /= sum;
}

static void kwnn__upsample_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    kwnn__geo g;
    size_t b, p0, p1, p2, k, inner;
    kwnn__geometry(L, &g);
    inner = g.inner;
    for (b = 0; b < batch * g.outer; b++) {
        const float *xs = x + b * g.in_vol;
        float *yo = y + b * g.out_vol;
        for (p0 = 0; p0 < g.out[0]; p0++)
            for (p1 = 0; p1 < g.out[1]; p1++) {
                size_t c0 = 0, c1 = 0; /* set below for bilinear; zero keeps gcc -O3's flow analysis quiet */
                float u0 = 0.0f, u1 = 0.0f;
                if (L->op == 1) kwnn__bilinear_src(p1, L->step[1], g.in[1], &c0, &c1, &u0, &u1);
                if (L->op == 2) kwnn__bilinear_tf1(p1, L->step[1], g.in[1], &c0, &c1, &u1);
                for (p2 = 0; p2 < g.out[2]; p2++, yo += inner) {
                    size_t e0 = 0, e1 = 0;
                    float v0 = 0.0f, v1 = 0.0f;
                    const float *q00, *q01, *q10, *q11;
                    if (L->op == 0) { /* nearest: the input cell the output falls in */
                        memcpy(yo,
                               xs + ((p0 / L->step[0] * g.in[1] + p1 / L->step[1]) * g.in[2] + p2 / L->step[2]) *
                                        inner,
                               inner * sizeof *yo);
                        continue;
                    }
                    /* bilinear (2D: axes 1 and 2) */
                    if (L->op == 2) kwnn__bilinear_tf1(p2, L->step[2], g.in[2], &e0, &e1, &v1);
                    else kwnn__bilinear_src(p2, L->step[2], g.in[2], &e0, &e1, &v0, &v1);
                    q00 = xs + (c0 * g.in[2] + e0) * inner;
                    q01 = xs + (c0 * g.in[2] + e1) * inner;
                    q10 = xs + (c1 * g.in[2] + e0) * inner;
                    q11 = xs + (c1 * g.in[2] + e1) * inner;
                    if (L->op == 2) { /* TensorFlow 1: along the width, then the height, as a + (b - a) t */
                        for (k = 0; k < inner; k++) {
                            float top = q00[k] + (q01[k] - q00[k]) * v1, bot = q10[k] + (q11[k] - q10[k]) * v1;
                            yo[k] = top + (bot - top) * u1;
                        }
                        continue;
                    }
                    for (k = 0; k < inner; k++) /* along the height first, then the width, as jax */
                        yo[k] = v0 * (u0 * q00[k] + u1 * q10[k]) + v1 * (u0 * q01[k] + u1 * q11[k]);
                }
            }
    }
}

/* Max / average over the taps of each window inside the input (the
   average divides by their count: TensorFlow's and Keras 3's 'same'). */
static void kwnn__pool_nd_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    kwnn__geo g;
    size_t b, p[3], lo[3], hi[3], i0, i1, i2, k, inner, count;
    int is_max = L->kind == KWNN_LAYER_MAXPOOL2D;
    kwnn__geometry(L, &g);
    inner = g.inner;
    for (b = 0; b < batch * g.outer; b++) {
        const float *xs = x + b * g.in_vol;
        float *o = y + b * g.out_vol;
        for (p[0] = 0; p[0] < g.out[0]; p[0]++) {
            kwnn__taps(p[0] * L->step[0], L->lo[0], g.in[0], L->win[0], 1, &lo[0], &hi[0]);
            for (p[1] = 0; p[1] < g.out[1]; p[1]++) {
                kwnn__taps(p[1] * L->step[1], L->lo[1], g.in[1], L->win[1], 1, &lo[1], &hi[1]);
                for (p[2] = 0; p[2] < g.out[2]; p[2]++, o += inner) {
                    kwnn__taps(p[2] * L->step[2], L->lo[2], g.in[2], L->win[2], 1, &lo[2], &hi[2]);
                    count = 0;
                    for (i0 = lo[0]; i0 < hi[0]; i0++)
                        for (i1 = lo[1]; i1 < hi[1]; i1++)
                            for (i2 = lo[2]; i2 < hi[2]; i2++) {
                                size_t r0 = p[0] * L->step[0] + i0 - L->lo[0];
                                size_t r1 = p[1] * L->step[1] + i1 - L->lo[1];
                                size_t r2 = p[2] * L->step[2] + i2 - L->lo[2];
                                const float *xp = xs + ((r0 * g.in[1] + r1) * g.in[2] + r2) * inner;
                                KWNN_PROBE(taps, 1);
                                if (count++ == 0) memcpy(o, xp, inner * sizeof *o);
                                else if (is_max)
                                    for (k = 0; k < inner; k++) o[k] = xp[k] > o[k] ? xp[k] : o[k];
                                else
                                    for (k = 0; k < inner; k++) o[k] += xp[k];
                            }
                    if (!is_max)
                        for (k = 0; k < inner; k++) o[k] /= (float)count;
                }
            }
        }
    }
}

static void kwnn__global_nd_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t C = L->units, S = L->in_count / C, b, s, ci;
    int is_max = L->kind == KWNN_LAYER_GLOBAL_MAXPOOL;
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * L->in_count;
        float *o = y + b * C;
        if (L->channels_first) { /* each channel's S values are contiguous */
            for (ci = 0; ci < C; ci++) {
                const float *xc = xb + ci * S;
                float acc = xc[0];
                for (s = 1; s < S; s++) acc = is_max ? (xc[s] > acc ? xc[s] : acc) : acc + xc[s];
                o[ci] = is_max ? acc : acc / (float)S;
            }
            continue;
        }
        for (ci = 0; ci < C; ci++) o[ci] = xb[ci];
        for (s = 1; s < S; s++)
            for (ci = 0; ci < C; ci++) {
                float v = xb[s * C + ci];
                if (is_max) o[ci] = v > o[ci] ? v : o[ci];
                else o[ci] += v;
            }
        if (!is_max)
            for (ci = 0; ci < C; ci++) o[ci] /= (float)S;
    }
}

/* Permute (and Flatten channels_first): output element by element, the
   input offset stepped with the permuted strides. */
static void kwnn__permute_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t stride[KWNN_MAX_DIMS], dim[KWNN_MAX_DIMS], idx[KWNN_MAX_DIMS], s = 1, b, n, off;
    uint32_t nd = L->in_ndim, i;
    for (i = nd; i-- > 0;) {
        stride[i] = s;
        s *= L->in_shape[i];
    }
    for (i = 0; i < nd; i++) dim[i] = L->in_shape[L->perm[i]];
    for (b = 0; b < batch; b++) {
        const float *xb = x + b * L->in_count;
        for (i = 0; i < nd; i++) idx[i] = 0;
        off = 0;
        for (n = 0; n < L->out_count; n++) {
            *y++ = xb[off];
            for (i = nd; i-- > 0;) { /* next output index, last axis fastest */
                size_t st = stride[L->perm[i]];
                if (++idx[i] < dim[i]) {
                    off += st;
                    break;
                }
                off -= (dim[i] - 1) * st;
                idx[i] = 0;
            }
        }
    }
}

static void kwnn__repeat_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t b, k, F = L->in_count;
    for (b = 0; b < batch; b++)
        for (k = 0; k < L->units; k++, y += F) memcpy(y, x + b * F, F * sizeof *y);
}

/* Runs a layer of this part; 0 if the kind is not one of them. */
static int kwnn__shape_pool_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    switch (L->kind) {
    case KWNN_LAYER_ZEROPAD: case KWNN_LAYER_CROP: kwnn__pad_crop_run(L, x, y, batch); return 1;
    case KWNN_LAYER_UPSAMPLE: kwnn__upsample_run(L, x, y, batch); return 1;
    case KWNN_LAYER_MAXPOOL2D: case KWNN_LAYER_AVGPOOL2D: kwnn__pool_nd_run(L, x, y, batch); return 1;
    case KWNN_LAYER_GLOBAL_AVGPOOL: case KWNN_LAYER_GLOBAL_MAXPOOL: kwnn__global_nd_run(L, x, y, batch); return 1;
    case KWNN_LAYER_PERMUTE: kwnn__permute_run(L, x, y, batch); return 1;
    case KWNN_LAYER_REPEAT: kwnn__repeat_run(L, x, y, batch); return 1;
    default: return 0;
    }
}

/* Operations per sample (one per output written, plus the window taps of
   pooling, clipped to the input as the loops clip them); 0: not this part's. */
static uint64_t kwnn__shape_pool_cost(const kwnn_layer *L)
{
    uint64_t out = (uint64_t)L->out_count, taps;
    kwnn__geo g;
    uint32_t i;
    switch (L->kind) {
    case KWNN_LAYER_MAXPOOL2D: case KWNN_LAYER_AVGPOOL2D:
        kwnn__geometry(L, &g);
        taps = (uint64_t)g.outer * g.inner;
        for (i = 0; i < 3; i++)
            taps = kwnn__sat_mul(taps, kwnn__sat_mul(L->win[i] < g.in[i] ? L->win[i] : g.in[i], g.out[i]));
        return kwnn__sat_add(taps, out);
    case KWNN_LAYER_GLOBAL_AVGPOOL: case KWNN_LAYER_GLOBAL_MAXPOOL: return kwnn__sat_add(L->in_count, out);
    case KWNN_LAYER_UPSAMPLE: return L->op ? kwnn__sat_mul(out, 4) : out;
    case KWNN_LAYER_ZEROPAD: case KWNN_LAYER_CROP: case KWNN_LAYER_PERMUTE: case KWNN_LAYER_REPEAT: return out;
    default: return 0;
    }
}
