/* ---- GroupNormalization, UnitNormalization, EinsumDense, attention ------- */

/* GroupNormalization and UnitNormalization normalise each sample;
   EinsumDense is a Dense over the input's trailing axes in the forms Keras
   writes; MultiHeadAttention, Attention and AdditiveAttention take two or
   three inputs (query, value, key: the call's arguments in order) and use
   the work area (kwnn_layer.work, after the plan's values) for their
   projections and rows of scores.  Their implicit masks (mask_zero,
   Masking upstream) come as kwnn__amask (61_implicit_masks.h). */

static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b);
static uint64_t kwnn__sat_add(uint64_t a, uint64_t b);
static void kwnn__axpy(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT w, float a, size_t n);
static void kwnn__act(const kwnn_activation *a, const float *x, float *y, size_t n, size_t last);
static void kwnn__dense_run(const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y, size_t rows, size_t K, size_t N,
                            const float *KWNN__RESTRICT W, const float *KWNN__RESTRICT bias);

enum { /* kwnn_layer.op of KWNN_LAYER_ATTENTION (Attention, AdditiveAttention) */
    KWNN__SCORE_DOT = 0, /* Attention score_mode "dot": q . k (times scale) */
    KWNN__SCORE_CONCAT,  /* Attention score_mode "concat": w sum tanh(scale (q + k)) */
    KWNN__SCORE_ADDITIVE /* AdditiveAttention: sum scale tanh(q + k) */
};

#define KWNN__MASKED (-1e9f) /* Keras's large negative score for a masked key (float32) */

/* The per-sample axis of Keras's `axis` (an int; counted with the batch). */
static kwnn_result kwnn__one_axis(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, uint32_t *axis)
{
    uint32_t mask, m, i;
    kwnn_result r;
    if ((r = kwnn__axes(c, L, cfg, "axis", 1u << (c->nd - 1), 1u << (c->nd - 1), &mask)) != KWNN_OK) return r;
    for (m = mask, i = 0; (m & 1u) == 0 && i < 32; m >>= 1, i++) {}
    if (mask == 0 || m != 1u) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key 'axis' is not one axis");
    *axis = i;
    return KWNN_OK;
}

/* ---- GroupNormalization ------------------------------------------------- */

static kwnn_result kwnn__load_groupnorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const group_keys[] = {"groups", NULL};
    static const char *const names[] = {"gamma", "beta"};
    const char *use[2];
    double eps;
    int center, scale;
    uint32_t axis = 0;
    size_t groups, ch;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__one_axis(c, L, cfg, &axis)) != KWNN_OK ||
        (r = kwnn__cfg_sizes(c, L, cfg, group_keys, 1, 32, &groups)) != KWNN_OK ||
        (r = kwnn__cfg_num(c, L, cfg, "epsilon", NULL, 1e-3, &eps)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "center", NULL, 1, &center)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "scale", NULL, 1, &scale)) != KWNN_OK)
        return r;
    if (!(eps >= 0.0)) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "epsilon is negative");
    ch = c->shape[axis];
    if (groups > ch || ch % groups != 0) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "groups ");
        kwnn__m_u(c->net, groups);
        kwnn__m(c->net, " do not divide the ");
        kwnn__m_u(c->net, ch);
        kwnn__m(c->net, " channels of its axis");
        return KWNN_ERR_SHAPE;
    }
    use[0] = scale ? names[0] : NULL;
    use[1] = center ? names[1] : NULL;
    if ((r = kwnn__only(c, L, use, 2)) != KWNN_OK ||
        (scale && (r = kwnn__weight(c, L, "gamma", &ch, 1, 0, &out->w)) != KWNN_OK) ||
        (center && (r = kwnn__weight(c, L, "beta", &ch, 1, 0, &out->b)) != KWNN_OK))
        return r;
    out->kind = KWNN_LAYER_GROUPNORM;
    out->groups = groups;
    out->units = axis;
    out->epsilon = (float)eps;
    return KWNN_OK;
}

/* Per sample and group: mean and variance over the group's channels and
   every other axis (in double, then float32), then as Keras 3: inv =
   rsqrt(var + eps) * gamma, y = x * inv + (beta - mean * inv).  In place
   allowed: a group is read whole before it is written. */
static void kwnn__groupnorm_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t outer = 1, inner = 1, C = L->in_shape[L->units], cg = C / L->groups, n, b, g, o, k, i;
    uint32_t d;
    for (d = 0; d < L->in_ndim; d++) {
        if (d < L->units) outer *= L->in_shape[d];
        if (d > L->units) inner *= L->in_shape[d];
    }
    n = outer * cg * inner;
    for (b = 0; b < batch; b++)
        for (g = 0; g < L->groups; g++) {
            const float *xs = x + b * L->in_count + g * cg * inner;
            float *ys = y + b * L->in_count + g * cg * inner, mean, var, inv;
            double s = 0.0, v = 0.0, md;
            for (o = 0; o < outer; o++)
                for (k = 0; k < cg * inner; k++) s += (double)xs[o * C * inner + k];
            md = s / (double)n;
            for (o = 0; o < outer; o++)
                for (k = 0; k < cg * inner; k++) {
                    double dv = (double)xs[o * C * inner + k] - md;
                    v += dv * dv;
                }
            mean = (float)md;
            var = (float)(v / (double)n);
            inv = 1.0f / sqrtf(var + L->epsilon);
            for (o = 0; o < outer; o++)
                for (k = 0; k < cg; k++) {
                    size_t c0 = g * cg + k;
                    float a = L->w != NULL ? inv * L->w[c0] : inv;
                    float sh = L->b != NULL ? -mean * a + L->b[c0] : -mean * a;
                    for (i = 0; i < inner; i++) {
                        size_t at = o * C * inner + k * inner + i;
                        ys[at] = xs[at] * a + sh;
                    }
                }
        }
}

/* ---- UnitNormalization -------------------------------------------------- */

static kwnn_result kwnn__load_unitnorm(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    uint32_t mask, m;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__need_rank(c, L)) != KWNN_OK || (r = kwnn__only(c, L, NULL, 0)) != KWNN_OK ||
        (r = kwnn__axes(c, L, cfg, "axis", 1u << (c->nd - 1), 1u << (c->nd - 1), &mask)) != KWNN_OK)
        return r;
    if (mask == 0) return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config key 'axis' lists no axis");
    for (m = mask; (m & 1u) == 0; m >>= 1) {}
    if ((m & (m + 1u)) != 0)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported axis: normalising over axes that are not adjacent");
    out->kind = KWNN_LAYER_UNITNORM;
    out->axes = mask;
    return KWNN_OK;
}

/* Keras's normalize(order 2, epsilon 1e-12): x * min(rsqrt(sum x^2), 1e12)
   over the adjacent axes in L->axes (sum in double, then float32). */
static void kwnn__unitnorm_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t outer, G, inner, o, j, g;
    kwnn__axes_view(L, batch, &outer, &G, &inner);
    for (o = 0; o < outer; o++)
        for (j = 0; j < inner; j++) {
            const float *xs = x + o * G * inner + j;
            float *ys = y + o * G * inner + j, inv;
            double s = 0.0;
            for (g = 0; g < G; g++) s += (double)xs[g * inner] * (double)xs[g * inner];
            inv = fminf(1.0f / sqrtf((float)s), 1e12f);
            for (g = 0; g < G; g++) ys[g * inner] = xs[g * inner] * inv;
        }
}

/* ---- EinsumDense ----------------------------------------------------------- */

/* Letters of one operand: ids 0..51 for a-z, A-Z; an ellipsis expands to
   ids 52.. (one per axis it stands for).  *ell: where the ellipsis was, or -1. */
static int kwnn__einsum_term(const char *s, size_t n, unsigned char *ids, uint32_t *count, int *ell)
{
    size_t i;
    *count = 0;
    *ell = -1;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '.' && i + 2 < n && s[i + 1] == '.' && s[i + 2] == '.' && *ell < 0) {
            *ell = (int)*count;
            i += 2;
        } else if (ch >= 'a' && ch <= 'z') {
            if (*count == 2 * KWNN_MAX_DIMS) return 0;
            ids[(*count)++] = (unsigned char)(ch - 'a');
        } else if (ch >= 'A' && ch <= 'Z') {
            if (*count == 2 * KWNN_MAX_DIMS) return 0;
            ids[(*count)++] = (unsigned char)(26 + ch - 'A');
        } else {
            return 0;
        }
    }
    return 1;
}

/* Replace the ellipsis of a term by `n` letters 52.. */
static int kwnn__einsum_expand(unsigned char *ids, uint32_t *count, int ell, uint32_t n)
{
    uint32_t i;
    if (ell < 0) return n == 0;
    if (*count + n > 2 * KWNN_MAX_DIMS) return 0;
    memmove(ids + ell + n, ids + ell, *count - (uint32_t)ell);
    for (i = 0; i < n; i++) ids[(uint32_t)ell + i] = (unsigned char)(52 + i);
    *count += n;
    return 1;
}

static int kwnn__einsum_has(const unsigned char *ids, uint32_t n, unsigned char id)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static kwnn_result kwnn__einsum_refuse(kwnn__ctx *c, const kwb_layer *L, kwnn__json eq, const char *why)
{
    kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported equation ");
    kwnn__m_raw(c->net, eq.p, (size_t)(eq.e - eq.p) > 60 ? 60 : (size_t)(eq.e - eq.p));
    kwnn__m(c->net, " (");
    kwnn__m(c->net, why);
    kwnn__m(c->net, ")");
    return KWNN_ERR_UNSUPPORTED;
}

/* EinsumDense as a Dense: the equation's input must be (batch, free...,
   summed...), the kernel (summed..., new...) with the summed letters in the
   same order, the output (batch, free..., new...): every form Keras's
   documentation and MultiHeadAttention write ("ab,bc->ac", "abc,cd->abd",
   "abc,cde->abde", "abcd,cde->abe", "...b,bc->...c").  Others are refused
   by name.  bias_axes: letters of the output; the bias broadcasts over the
   others (out->axes: the per-sample output axes it varies along). */
static kwnn_result kwnn__load_einsum(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const names[] = {"kernel", "bias"};
    kwnn__json eq, bias_axes, v;
    const char *p, *e, *comma, *arrow;
    unsigned char in[2 * KWNN_MAX_DIMS], ker[2 * KWNN_MAX_DIMS], res[2 * KWNN_MAX_DIMS];
    uint32_t ni, nk, no, nsum, nfree, nnew, i, j, extra, bias_mask = 0;
    int ei, ek, eo, use_bias;
    size_t kshape[2 * KWNN_MAX_DIMS], oshape[KWNN_MAX_DIMS], bshape[KWNN_MAX_DIMS], K = 1, N = 1, nb = 0;
    kwb_tensor t;
    kwnn_result r;
    (void)arg;
    if (!kwnn__get(cfg, "equation", &eq) || !kwnn__is(eq, '"'))
        return kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no 'equation'");
    p = eq.p + 1;
    e = eq.e - 1;
    comma = (const char *)memchr(p, ',', (size_t)(e - p));
    arrow = comma != NULL ? (const char *)memchr(comma, '-', (size_t)(e - comma)) : NULL;
    if (arrow == NULL || e - arrow < 2 || arrow[1] != '>')
        return kwnn__einsum_refuse(c, L, eq, "not 'input,kernel->output'");
    if (!kwnn__einsum_term(p, (size_t)(comma - p), in, &ni, &ei) ||
        !kwnn__einsum_term(comma + 1, (size_t)(arrow - comma - 1), ker, &nk, &ek) ||
        !kwnn__einsum_term(arrow + 2, (size_t)(e - arrow - 2), res, &no, &eo) || ek >= 0 || (ei < 0) != (eo < 0))
        return kwnn__einsum_refuse(c, L, eq, "letters a-z, A-Z and one ellipsis in the input and the output");
    /* the ellipsis stands for the same axes (the batch's first) in the input and the output */
    extra = c->nd + 1 >= ni ? c->nd + 1 - ni : 0;
    if (c->nd + 1 < ni || (ei < 0 && extra != 0) || !kwnn__einsum_expand(in, &ni, ei, extra) ||
        !kwnn__einsum_expand(res, &no, eo, extra) || ni < 1)
        return kwnn__einsum_refuse(c, L, eq, "its input letters do not match the input's rank");
    nsum = 0;
    for (i = 0; i < nk && kwnn__einsum_has(in, ni, ker[i]); i++) nsum++;
    nnew = nk - nsum;
    nfree = ni - 1 - nsum;
    if (ni < 1 + nsum || kwnn__einsum_has(ker, nk, in[0]) || no != 1 + nfree + nnew || res[0] != in[0])
        return kwnn__einsum_refuse(c, L, eq, "not a Dense over the input's trailing axes");
    for (i = 0; i < nsum; i++)
        if (in[1 + nfree + i] != ker[i]) return kwnn__einsum_refuse(c, L, eq, "not a Dense over the input's trailing axes");
    for (i = 0; i < nfree; i++)
        if (res[1 + i] != in[1 + i] || kwnn__einsum_has(ker, nk, in[1 + i]))
            return kwnn__einsum_refuse(c, L, eq, "not a Dense over the input's trailing axes");
    for (i = 0; i < nnew; i++)
        if (res[1 + nfree + i] != ker[nsum + i] || kwnn__einsum_has(in, ni, ker[nsum + i]))
            return kwnn__einsum_refuse(c, L, eq, "not a Dense over the input's trailing axes");
    /* sizes: the summed from the input, the new from the kernel */
    if (!kwnn__find(c, L, "kernel", &t) || t.ndim != nk)
        return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "has no weight 'kernel' of the equation's rank");
    for (i = 0; i < nsum; i++) kshape[i] = c->shape[nfree + i];
    for (i = nsum; i < nk; i++) {
        if (t.shape[i] == 0 || t.shape[i] > (uint64_t)KWNN__DIM_LIMIT)
            return kwnn__fail(c->net, KWNN_ERR_BAD_WEIGHTS, L, "weight 'kernel' has an empty or huge axis");
        kshape[i] = (size_t)t.shape[i];
    }
    for (i = 0; i < nsum; i++)
        if (!kwnn__mul(K, kshape[i], &K)) return kwnn__oom(c);
    for (i = nsum; i < nk; i++)
        if (!kwnn__mul(N, kshape[i], &N)) return kwnn__oom(c);
    for (i = 0; i < nfree; i++) oshape[i] = c->shape[i];
    for (i = 0; i < nnew; i++) oshape[nfree + i] = kshape[nsum + i];
    if (nfree + nnew > KWNN_MAX_DIMS) return kwnn__einsum_refuse(c, L, eq, "an output of rank above 8");
    /* bias_axes: null / "" none; else output letters */
    use_bias = kwnn__get(cfg, "bias_axes", &bias_axes) && kwnn__is(bias_axes, '"') && bias_axes.e - bias_axes.p > 2;
    if (use_bias) {
        unsigned char bl[2 * KWNN_MAX_DIMS];
        uint32_t nbl, first = no;
        int be;
        if (!kwnn__einsum_term(bias_axes.p + 1, (size_t)(bias_axes.e - bias_axes.p - 2), bl, &nbl, &be) || be >= 0)
            return kwnn__unsupported_value(c, L, "bias_axes", bias_axes);
        for (i = 0; i < nbl; i++) {
            for (j = 1; j < no && res[j] != bl[i]; j++) {}
            if (j == no) return kwnn__unsupported_value(c, L, "bias_axes", bias_axes);
            bias_mask |= 1u << (j - 1);
            if (j < first) first = j;
        }
        /* Keras's bias shape: the output axes from the first bias letter on, 1 where not a bias letter */
        for (j = first; j < no; j++) bshape[nb++] = (bias_mask >> (j - 1)) & 1u ? oshape[j - 1] : 1;
    }
    if (kwnn__get(cfg, "activation", &v) && (r = kwnn__activation(c, L, v, &out->act)) != KWNN_OK) return r;
    if ((r = kwnn__only(c, L, names, use_bias ? 2 : 1)) != KWNN_OK ||
        (r = kwnn__weight(c, L, "kernel", kshape, nk, 0, &out->w)) != KWNN_OK ||
        (use_bias && (r = kwnn__weight(c, L, "bias", bshape, (uint32_t)nb, 0, &out->b)) != KWNN_OK))
        return r;
    out->kind = KWNN_LAYER_EINSUM;
    out->kh = K;
    out->units = N;
    out->axes = bias_mask;
    memcpy(c->shape, oshape, sizeof oshape);
    c->nd = nfree + nnew;
    return KWNN_OK;
}

/* x (rows, K) @ W (K, N), then the bias broadcast over the output, then the activation. */
static void kwnn__einsum_run(const kwnn_layer *L, const float *x, float *y, size_t batch)
{
    size_t rows = batch * (L->in_count / L->kh), n = L->out_count * batch, k, r2, idx, stride;
    uint32_t d;
    kwnn__dense_run(x, y, rows, L->kh, L->units, L->w, NULL);
    if (L->b != NULL)
        for (k = 0; k < n; k++) {
            size_t rem = k % L->out_count;
            idx = 0;
            stride = 1;
            for (d = L->out_ndim; d-- > 0;) {
                r2 = rem % L->out_shape[d];
                rem /= L->out_shape[d];
                if ((L->axes >> d) & 1u) {
                    idx += r2 * stride;
                    stride *= L->out_shape[d];
                }
            }
            y[k] += L->b[idx];
        }
    kwnn__act(&L->act, y, y, n, L->out_ndim ? L->out_shape[L->out_ndim - 1] : 1);
}

/* ---- attention: shared pieces ------------------------------------------- */

/* The call's keyword arguments that change the computation: use_causal_mask
   (1), and what cannot be run: return_attention_scores (2, a second output). */
static int kwnn__attention_kwargs(kwnn__json kwargs)
{
    kwnn__json v;
    int on, flags = 0;
    if (kwargs.p == NULL || !kwnn__is(kwargs, '{')) return 0;
    if (kwnn__get(kwargs, "use_causal_mask", &v) && kwnn__bool(v, &on) && on) flags |= 1;
    if (kwnn__get(kwargs, "return_attention_scores", &v) && kwnn__bool(v, &on) && on) flags |= 2;
    return flags;
}

/* Does a later call of a shared attention layer ask for another mask? */
static int kwnn__attention_call_differs(const kwnn_layer *L, kwnn__json kwargs)
{
    if (L->kind == KWNN_LAYER_MHA) return (kwnn__attention_kwargs(kwargs) & 1) != (L->op & 1);
    if (L->kind == KWNN_LAYER_ATTENTION) return (kwnn__attention_kwargs(kwargs) & 1) != L->same;
    return 0;
}

/* The implicit masks of one call (61_implicit_masks.h; NULL: none): step t of the query (value)
   is on when one of its qs (vs) values q[t * qs ..] (v[..]) is not 0; per sample. */
typedef struct kwnn__amask {
    const float *q, *v;
    size_t qs, vs;
} kwnn__amask;

static int kwnn__step_on(const float *m, size_t stride, size_t t)
{
    size_t k;
    for (k = 0; k < stride; k++)
        if (m[t * stride + k] != 0.0f) return 1;
    return 0;
}

/* Row of n scores -> softmax in place (Keras: exp(x - max) / sum). */
static void kwnn__softmax_row(float *s, size_t n)
{
    float mx = s[0], sum = 0.0f;
    size_t j;
    for (j = 1; j < n; j++) mx = fmaxf(mx, s[j]);
    for (j = 0; j < n; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    for (j = 0; j < n; j++) s[j] /= sum;
}

/* ---- MultiHeadAttention ------------------------------------------------- */

/* Shape of node i without its last axis: positions (product) and its feature size. */
static void kwnn__positions(kwnn__ctx *c, uint32_t i, size_t *pos, size_t *feat)
{
    const kwnn__node *x = kwnn__in_node(c, i);
    uint32_t d;
    *pos = 1;
    for (d = 0; d + 1 < x->nd; d++) *pos *= x->shape[d]; /* at most the node's count */
    *feat = x->nd > 0 ? x->shape[x->nd - 1] : 0;
}

/* A positive int config key, or dflt when absent / null (dflt 0: required). */
static kwnn_result kwnn__pos_int(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, const char *key, size_t dflt,
                                 size_t *out)
{
    kwnn__json v;
    long x;
    *out = dflt;
    if (!kwnn__get(cfg, key, &v) || kwnn__null(v)) {
        if (dflt > 0) return KWNN_OK;
        kwnn__fail(c->net, KWNN_ERR_BAD_CONFIG, L, "config has no '");
        kwnn__m(c->net, key);
        kwnn__m(c->net, "'");
        return KWNN_ERR_BAD_CONFIG;
    }
    if (!kwnn__int(v, &x) || x < 1 || (size_t)x > KWNN__DIM_LIMIT) return kwnn__bad_key(c, L, key, v, "a positive size");
    *out = (size_t)x;
    return KWNN_OK;
}

/* Weight `name` of the given shape (a list of up to 8 dims). */
static kwnn_result kwnn__mha_weight(kwnn__ctx *c, const kwb_layer *L, const char *name, size_t a, size_t b2,
                                    const size_t *rest, uint32_t nrest, const float **out)
{
    size_t shape[KWNN_MAX_DIMS + 2];
    uint32_t n = 0, i;
    if (a > 0) shape[n++] = a;
    if (b2 > 0) shape[n++] = b2;
    for (i = 0; i < nrest; i++) shape[n++] = rest[i];
    return kwnn__weight(c, L, name, shape, n, 0, out);
}

static kwnn_result kwnn__load_mha(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const names[] = {"query/kernel", "key/kernel", "value/kernel", "attention_output/kernel",
                                        "query/bias", "key/bias", "value/bias", "attention_output/bias"};
    const kwnn__node *q, *v, *k;
    kwnn__json os, el, ax;
    kwnn__iter it;
    size_t H, kd, vd, T, S, Sk, Dq, Dk, Dv, O = 1, window, oshape[KWNN_MAX_DIMS], hk, hv, work = 0, part;
    uint32_t no = 0, d, axes, want;
    int use_bias, gate, flags;
    long x;
    kwnn_result r;
    (void)arg;
    if ((r = kwnn__arity(c, L, 2, 3)) != KWNN_OK) return r;
    q = kwnn__in_node(c, 0);
    v = kwnn__in_node(c, 1);
    k = kwnn__in_node(c, c->n_ins > 2 ? 2 : 1);
    if ((r = kwnn__pos_int(c, L, cfg, "num_heads", 0, &H)) != KWNN_OK ||
        (r = kwnn__pos_int(c, L, cfg, "key_dim", 0, &kd)) != KWNN_OK ||
        (r = kwnn__pos_int(c, L, cfg, "value_dim", kd, &vd)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_bias", NULL, 1, &use_bias)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_gate", NULL, 0, &gate)) != KWNN_OK)
        return r;
    if (gate) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported use_gate true");
    if (kwnn__get(cfg, "sliding_window", &el) && !kwnn__null(el)) {
        if ((r = kwnn__pos_int(c, L, cfg, "sliding_window", 1, &window)) != KWNN_OK) return r;
    } else {
        window = 0;
    }
    if (q->nd < 2 || v->nd != q->nd || k->nd != q->nd) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs query, value and key of one rank, 2 or more (got ");
        kwnn__m_u(c->net, q->nd);
        kwnn__m(c->net, ", ");
        kwnn__m_u(c->net, v->nd);
        kwnn__m(c->net, ", ");
        kwnn__m_u(c->net, k->nd);
        kwnn__m(c->net, ")");
        return KWNN_ERR_SHAPE;
    }
    for (d = 0; d + 1 < v->nd; d++)
        if (v->shape[d] != k->shape[d])
            return kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "value and key differ in an axis other than the last");
    /* attention_axes: null (Keras's default) or every axis between the batch and the features */
    axes = 0;
    want = kwnn__all_axes(q->nd - 1);
    if (kwnn__get(cfg, "attention_axes", &ax) && !kwnn__null(ax)) {
        int list = kwnn__begin(ax, '[', &it);
        while (list ? kwnn__next(&it, NULL, &el) : (el = ax, 1)) {
            if (!kwnn__int(el, &x)) return kwnn__bad_key(c, L, "attention_axes", ax, "an axis or a list of axes");
            if (x < 0) x += (long)q->nd + 1;
            if (x < 1 || x >= (long)q->nd) return kwnn__unsupported_value(c, L, "attention_axes", ax);
            axes |= 1u << (x - 1);
            if (!list) break;
        }
        if (axes != want) {
            kwnn__unsupported_value(c, L, "attention_axes", ax);
            kwnn__m(c->net, " (attention over some of the axes only)");
            return KWNN_ERR_UNSUPPORTED;
        }
    }
    flags = kwnn__attention_kwargs(c->kwargs);
    if (flags & 2)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported return_attention_scores true (a second output)");
    if ((flags & 1 || window > 0) && q->nd != 2)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported use_causal_mask or sliding_window with several attention axes");
    kwnn__positions(c, 0, &T, &Dq);
    kwnn__positions(c, 1, &S, &Dv);
    kwnn__positions(c, c->n_ins > 2 ? 2 : 1, &Sk, &Dk);
    /* output_shape: null (the query's features), an int, or a list */
    for (d = 0; d + 1 < q->nd; d++) oshape[no++] = q->shape[d];
    if (kwnn__get(cfg, "output_shape", &os) && !kwnn__null(os)) {
        int list = kwnn__begin(os, '[', &it);
        while (list ? kwnn__next(&it, NULL, &el) : (el = os, 1)) {
            if (!kwnn__int(el, &x) || x < 1 || (size_t)x > KWNN__DIM_LIMIT)
                return kwnn__bad_key(c, L, "output_shape", os, "a size or a list of sizes");
            if (no == KWNN_MAX_DIMS || no - (q->nd - 1) + 2 > KWB_MAX_NDIM)
                return kwnn__unsupported_value(c, L, "output_shape", os);
            oshape[no++] = (size_t)x;
            if (!kwnn__mul(O, (size_t)x, &O)) return kwnn__oom(c);
            if (!list) break;
        }
        if (no == q->nd - 1) return kwnn__bad_key(c, L, "output_shape", os, "a size or a list of sizes");
    } else {
        oshape[no++] = Dq;
        O = Dq;
    }
    /* weights */
    if ((r = kwnn__only(c, L, names, use_bias ? 8 : 4)) != KWNN_OK ||
        (r = kwnn__mha_weight(c, L, names[0], Dq, H, &kd, 1, &out->w)) != KWNN_OK ||
        (r = kwnn__mha_weight(c, L, names[1], Dk, H, &kd, 1, &out->more[0])) != KWNN_OK ||
        (r = kwnn__mha_weight(c, L, names[2], Dv, H, &vd, 1, &out->more[2])) != KWNN_OK ||
        (r = kwnn__mha_weight(c, L, names[3], H, vd, oshape + q->nd - 1, no - (q->nd - 1), &out->more[4])) !=
            KWNN_OK)
        return r;
    if (use_bias && ((r = kwnn__mha_weight(c, L, names[4], H, kd, NULL, 0, &out->b)) != KWNN_OK ||
                     (r = kwnn__mha_weight(c, L, names[5], H, kd, NULL, 0, &out->more[1])) != KWNN_OK ||
                     (r = kwnn__mha_weight(c, L, names[6], H, vd, NULL, 0, &out->more[3])) != KWNN_OK ||
                     (r = kwnn__mha_weight(c, L, names[7], 0, 0, oshape + q->nd - 1, no - (q->nd - 1),
                                           &out->more[5])) != KWNN_OK))
        return r;
    /* the work area: Q (T, H kd), K (S, H kd), V (S, H vd), context (T, H vd), one row of scores (S) */
    if (!kwnn__mul(H, kd, &hk) || !kwnn__mul(H, vd, &hv) || !kwnn__mul(T, hk, &part) || !kwnn__add(work, part, &work) ||
        !kwnn__mul(S, hk, &part) || !kwnn__add(work, part, &work) || !kwnn__mul(S, hv, &part) ||
        !kwnn__add(work, part, &work) || !kwnn__mul(T, hv, &part) || !kwnn__add(work, part, &work) ||
        !kwnn__add(work, S, &work))
        return kwnn__oom(c);
    out->kind = KWNN_LAYER_MHA;
    out->work = work;
    out->units = H;
    out->kh = kd;
    out->kw = vd;
    out->sh = S;
    out->sw = Dk;
    out->dh = Dv;
    out->dw = O;
    out->op = flags & 1;
    out->groups = window;
    memcpy(c->shape, oshape, sizeof oshape);
    c->nd = no;
    return KWNN_OK;
}

/* Is key j masked for query t (causal, sliding window)? */
static int kwnn__masked(const kwnn_layer *L, int causal, size_t t, size_t j)
{
    if (causal && j > t) return 1;
    return L->groups > 0 && (j > t ? j - t : t - j) >= L->groups;
}

/* Keras 3's MultiHeadAttention: projections (x @ W + b, as EinsumDense),
   Q scaled by 1 / sqrt(key_dim), per head softmax(Q K^T) over the keys
   (masked keys set to -1e9 first), times V, then the output projection. */
static void kwnn__mha_run(const kwnn_layer *L, const float *xq, const float *xv, const float *xk, float *y,
                          float *work, const kwnn__amask *am, size_t batch)
{
    size_t H = L->units, kd = L->kh, vd = L->kw, S = L->sh, Dq = L->in_shape[L->in_ndim - 1];
    size_t T = L->in_count / Dq, hk = H * kd, hv = H * vd, b, h, t, j, i;
    float *Q = work, *K = Q + batch * T * hk, *V = K + batch * S * hk, *C = V + batch * S * hv;
    float *P = C + batch * T * hv, scale = (float)(1.0 / sqrt((double)kd));
    kwnn__dense_run(xq, Q, batch * T, Dq, hk, L->w, L->b);
    kwnn__dense_run(xk, K, batch * S, L->sw, hk, L->more[0], L->more[1]);
    kwnn__dense_run(xv, V, batch * S, L->dh, hv, L->more[2], L->more[3]);
    for (i = 0; i < batch * T * hk; i++) Q[i] *= scale;
    for (b = 0; b < batch; b++)
        for (t = 0; t < T; t++)
            for (h = 0; h < H; h++) {
                const float *qv = Q + (b * T + t) * hk + h * kd;
                float *cv = C + (b * T + t) * hv + h * vd;
                int qoff = am != NULL && am->q != NULL && !kwnn__step_on(am->q + b * T * am->qs, am->qs, t);
                for (j = 0; j < S; j++) {
                    const float *kv = K + (b * S + j) * hk + h * kd;
                    float s = 0.0f;
                    int off = qoff || (am != NULL && am->v != NULL && !kwnn__step_on(am->v + b * S * am->vs, am->vs, j));
                    for (i = 0; i < kd; i++) s += qv[i] * kv[i];
                    P[j] = off || kwnn__masked(L, L->op & 1, t, j) ? KWNN__MASKED : s; /* all masked: uniform */
                }
                kwnn__softmax_row(P, S);
                for (i = 0; i < vd; i++) cv[i] = 0.0f;
                for (j = 0; j < S; j++) kwnn__axpy(cv, V + (b * S + j) * hv + h * vd, P[j], vd);
            }
    kwnn__dense_run(C, y, batch * T, hv, L->dw, L->more[4], L->more[5]);
}

/* ---- Attention, AdditiveAttention --------------------------------------- */

/* Weight `name`, or the importer's positional name (Keras 3 files store
   these unnamed: "0", "1" in the order Keras creates them). */
static const char *kwnn__att_name(kwnn__ctx *c, const kwb_layer *L, const char *name, const char *pos)
{
    kwb_tensor t;
    return kwnn__find(c, L, name, &t) ? name : pos;
}

static kwnn_result kwnn__load_attention(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    const kwnn__node *q, *v, *k;
    const char *use[2] = {NULL, NULL};
    kwnn__json mode;
    size_t dim, one = 1;
    int scale, causal, flags;
    kwnn_result r;
    if ((r = kwnn__arity(c, L, 2, 3)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "use_scale", NULL, 0, &scale)) != KWNN_OK ||
        (r = kwnn__cfg_bool(c, L, cfg, "causal", NULL, 0, &causal)) != KWNN_OK) /* tf.keras 2.x */
        return r;
    q = kwnn__in_node(c, 0);
    v = kwnn__in_node(c, 1);
    k = kwnn__in_node(c, c->n_ins > 2 ? 2 : 1);
    out->op = arg;
    if (arg == KWNN__SCORE_DOT && kwnn__get(cfg, "score_mode", &mode) && !kwnn__null(mode)) {
        if (kwnn__jstr_is(mode, "concat")) out->op = KWNN__SCORE_CONCAT;
        else if (!kwnn__jstr_is(mode, "dot")) return kwnn__unsupported_value(c, L, "score_mode", mode);
    }
    flags = kwnn__attention_kwargs(c->kwargs);
    if (flags & 2)
        return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L,
                          "unsupported return_attention_scores true (a second output)");
    if (q->nd != 2 || v->nd != 2 || k->nd != 2 || v->shape[0] != k->shape[0] || q->shape[1] != k->shape[1]) {
        kwnn__fail(c->net, KWNN_ERR_SHAPE, L, "needs query (Tq, dim), value (Tv, d) and key (Tv, dim), not ");
        kwnn__m_shape(c->net, q->shape, q->nd);
        kwnn__m(c->net, ", ");
        kwnn__m_shape(c->net, v->shape, v->nd);
        kwnn__m(c->net, ", ");
        kwnn__m_shape(c->net, k->shape, k->nd);
        return KWNN_ERR_SHAPE;
    }
    dim = q->shape[1];
    if (scale) use[0] = kwnn__att_name(c, L, "scale", "0");
    if (out->op == KWNN__SCORE_CONCAT) use[1] = kwnn__att_name(c, L, "concat_score_weight", scale ? "1" : "0");
    if ((r = kwnn__only(c, L, use, 2)) != KWNN_OK ||
        (use[0] != NULL && (r = kwnn__weight(c, L, use[0], arg == KWNN__SCORE_ADDITIVE ? &dim : &one,
                                             arg == KWNN__SCORE_ADDITIVE ? 1 : 0, 0, &out->w)) != KWNN_OK) ||
        (use[1] != NULL && (r = kwnn__weight(c, L, use[1], &one, 0, 0, &out->w2)) != KWNN_OK))
        return r;
    out->kind = KWNN_LAYER_ATTENTION;
    out->same = causal || (flags & 1);
    out->sh = v->shape[0];
    out->sw = v->shape[1];
    out->work = v->shape[0];
    c->shape[1] = v->shape[1];
    return KWNN_OK;
}

/* Keras 3's Attention / AdditiveAttention: scores (see KWNN__SCORE_*), a
   causal mask subtracting 1e9, softmax over the keys, times the value. */
static void kwnn__attention_run(const kwnn_layer *L, const float *xq, const float *xv, const float *xk, float *y,
                                float *P, const kwnn__amask *am, size_t batch)
{
    size_t T = L->in_shape[0], dim = L->in_shape[1], S = L->sh, dv = L->sw, b, t, j, i;
    for (b = 0; b < batch; b++)
        for (t = 0; t < T; t++) {
            const float *vm = am != NULL && am->v != NULL ? am->v + b * S * am->vs : NULL;
            const float *qv = xq + (b * T + t) * dim;
            float *yv = y + (b * T + t) * dv;
            for (j = 0; j < S; j++) {
                const float *kv = xk + (b * S + j) * dim;
                float s = 0.0f;
                if (L->op == KWNN__SCORE_DOT) {
                    for (i = 0; i < dim; i++) s += qv[i] * kv[i];
                    if (L->w != NULL) s *= L->w[0];
                } else if (L->op == KWNN__SCORE_CONCAT) {
                    for (i = 0; i < dim; i++) s += tanhf(L->w != NULL ? L->w[0] * (qv[i] + kv[i]) : qv[i] + kv[i]);
                    s *= L->w2[0];
                } else {
                    for (i = 0; i < dim; i++) s += (L->w != NULL ? L->w[i] : 1.0f) * tanhf(qv[i] + kv[i]);
                }
                P[j] = (L->same && j > t) || (vm != NULL && !kwnn__step_on(vm, am->vs, j)) ? s - 1e9f : s;
            }
            kwnn__softmax_row(P, S);
            for (i = 0; i < dv; i++) yv[i] = 0.0f;
            if (am != NULL && am->q != NULL && !kwnn__step_on(am->q + b * T * am->qs, am->qs, t))
                continue; /* Keras: where(query_mask, output, 0) */
            for (j = 0; j < S; j++) kwnn__axpy(yv, xv + (b * S + j) * dv, P[j], dv);
        }
}

/* One call: its inputs in the call's order (query, value, key = value). */
static void kwnn__attention_call(const kwnn_layer *L, const float *const *in, uint32_t n_in, float *y, float *work,
                                 const kwnn__amask *am, size_t batch)
{
    const float *key = n_in > 2 ? in[2] : in[1];
    if (L->kind == KWNN_LAYER_MHA) kwnn__mha_run(L, in[0], in[1], key, y, work, am, batch);
    else kwnn__attention_run(L, in[0], in[1], key, y, work, am, batch);
}

/* Operations per sample (51_cost.h). */
static uint64_t kwnn__attention_cost(const kwnn_layer *L)
{
    uint64_t out = L->out_count, T, S = L->sh, H = L->units, kd = L->kh, vd = L->kw, proj, att;
    switch (L->kind) {
    case KWNN_LAYER_GROUPNORM: case KWNN_LAYER_UNITNORM: return kwnn__sat_mul(out, 3);
    case KWNN_LAYER_EINSUM: return kwnn__sat_add(kwnn__sat_mul(out, L->kh), kwnn__sat_mul(out, 2));
    case KWNN_LAYER_MHA:
        T = L->in_count / L->in_shape[L->in_ndim - 1];
        proj = kwnn__sat_mul(kwnn__sat_mul(T, L->in_shape[L->in_ndim - 1]), kwnn__sat_mul(H, kd));
        proj = kwnn__sat_add(proj, kwnn__sat_mul(kwnn__sat_mul(S, L->sw), kwnn__sat_mul(H, kd)));
        proj = kwnn__sat_add(proj, kwnn__sat_mul(kwnn__sat_mul(S, L->dh), kwnn__sat_mul(H, vd)));
        proj = kwnn__sat_add(proj, kwnn__sat_mul(out, kwnn__sat_mul(H, vd)));
        att = kwnn__sat_mul(kwnn__sat_mul(T, S), kwnn__sat_mul(H, kwnn__sat_add(kwnn__sat_add(kd, vd), 3)));
        return kwnn__sat_add(proj, att);
    case KWNN_LAYER_ATTENTION:
        T = L->in_shape[0];
        return kwnn__sat_mul(kwnn__sat_mul(T, S), kwnn__sat_add(kwnn__sat_add(L->in_shape[1], L->sw), 3));
    default: break;
    }
    return out;
}
