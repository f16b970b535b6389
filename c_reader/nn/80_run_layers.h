/* ---- running ------------------------------------------------------------ */

static float kwnn__softplus(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }

static float kwnn__act1(const kwnn_activation *a, float x)
{
    switch (a->kind) {
    case KWNN_ACT_LINEAR: return x;
    case KWNN_ACT_RELU: {
        /* Keras's relu(x, negative_slope, max_value, threshold), step by step */
        float y, neg = 0.0f;
        if (a->a != 0.0f && !a->has_max && a->c == 0.0f) return x >= 0.0f ? x : a->a * x;
        if (a->a != 0.0f) neg = fmaxf(a->c - x, 0.0f);
        if (a->c != 0.0f) y = x > a->c ? x : 0.0f;
        else y = fmaxf(x, 0.0f);
        if (a->has_max) y = fminf(fmaxf(y, 0.0f), a->b);
        if (a->a != 0.0f) y -= a->a * neg;
        return y;
    }
    case KWNN_ACT_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case KWNN_ACT_LEAKY_RELU: return x >= 0.0f ? x : a->a * x;
    case KWNN_ACT_ELU: return x > 0.0f ? x : a->a * expm1f(x);
    case KWNN_ACT_SELU:
        return 1.0507009873554805f * (x > 0.0f ? x : 1.6732632423543772f * expm1f(x));
    case KWNN_ACT_CELU: return fmaxf(x, 0.0f) + a->a * expm1f(fminf(x, 0.0f) / a->a);
    case KWNN_ACT_GELU: return (float)(0.5 * (double)x * erfc(-(double)x * 0.70710678118654752440));
    case KWNN_ACT_GELU_TANH: {
        double d = (double)x;
        return (float)(0.5 * d * (1.0 + tanh(0.79788456080286535588 * (d + 0.044715 * d * d * d))));
    }
    case KWNN_ACT_SIGMOID: return kwnn__sigmoid(x);
    case KWNN_ACT_HARD_SIGMOID: return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f;
    case KWNN_ACT_HARD_SIGMOID_K2: return fminf(fmaxf(0.2f * x + 0.5f, 0.0f), 1.0f);
    case KWNN_ACT_LOG_SIGMOID: return -kwnn__softplus(-x);
    case KWNN_ACT_SPARSE_SIGMOID: return 0.5f * fminf(fmaxf(x + 1.0f, 0.0f), 2.0f);
    case KWNN_ACT_TANH: return kwnn__tanh(x);
    case KWNN_ACT_HARD_TANH: return x > 1.0f ? 1.0f : (x < -1.0f ? -1.0f : x);
    case KWNN_ACT_TANH_SHRINK: return x - kwnn__tanh(x);
    case KWNN_ACT_SOFTPLUS: return kwnn__softplus(x);
    case KWNN_ACT_SOFTSIGN: return x / (fabsf(x) + 1.0f);
    case KWNN_ACT_SILU: return x * kwnn__sigmoid(x);
    case KWNN_ACT_HARD_SILU: return x * (fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f);
    case KWNN_ACT_MISH: return x * kwnn__tanh(kwnn__softplus(x));
    case KWNN_ACT_EXPONENTIAL: return expf(x);
    case KWNN_ACT_SQUAREPLUS: return (x + sqrtf(x * x + a->a)) / 2.0f;
    case KWNN_ACT_SPARSE_PLUS:
        return x <= -1.0f ? 0.0f : (x >= 1.0f ? x : (x + 1.0f) * (x + 1.0f) / 4.0f);
    case KWNN_ACT_SOFT_SHRINK: return x > a->a ? x - a->a : (x < -a->a ? x + a->a : 0.0f);
    case KWNN_ACT_HARD_SHRINK: return fabsf(x) > a->a ? x : 0.0f;
    case KWNN_ACT_SOFTMAX: case KWNN_ACT_LOG_SOFTMAX: break; /* not elementwise */
    }
    return x;
}

/* y = act(x) over n floats, groups of `last` for softmax; x may equal y. */
static void kwnn__act(const kwnn_activation *a, const float *x, float *y, size_t n, size_t last)
{
    size_t i, g;
    if (a->kind == KWNN_ACT_SOFTMAX || a->kind == KWNN_ACT_LOG_SOFTMAX) {
        for (g = 0; g + last <= n; g += last) {
            const float *xs = x + g;
            float *ys = y + g, mx = xs[0], sum = 0.0f;
            for (i = 1; i < last; i++) mx = fmaxf(mx, xs[i]);
            if (a->kind == KWNN_ACT_SOFTMAX) {
                for (i = 0; i < last; i++) {
                    ys[i] = expf(xs[i] - mx);
                    sum += ys[i];
                }
                for (i = 0; i < last; i++) ys[i] /= sum;
            } else {
                for (i = 0; i < last; i++) sum += expf(xs[i] - mx);
                sum = logf(sum);
                for (i = 0; i < last; i++) ys[i] = (xs[i] - mx) - sum;
            }
        }
        return;
    }
    switch (a->kind) { /* the common ones without the per-element switch */
    case KWNN_ACT_LINEAR:
        if (x != y) memcpy(y, x, n * sizeof *y);
        return;
    case KWNN_ACT_RELU:
        if (a->a == 0.0f && !a->has_max && a->c == 0.0f) {
            for (i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
            return;
        }
        if (a->a == 0.0f && a->has_max && a->c == 0.0f && a->b >= 0.0f) { /* ReLU(max_value): as kwnn__act1, NaN -> 0 */
            float hi = a->b;
            for (i = 0; i < n; i++) {
                float v = x[i] > 0.0f ? x[i] : 0.0f;
                y[i] = v < hi ? v : hi;
            }
            return;
        }
        break;
    case KWNN_ACT_RELU6:
        for (i = 0; i < n; i++) {
            float v = x[i] > 0.0f ? x[i] : 0.0f;
            y[i] = v < 6.0f ? v : 6.0f;
        }
        return;
    case KWNN_ACT_TANH: /* 14_fastmath.h: these loops vectorize */
        for (i = 0; i < n; i++) y[i] = kwnn__tanh(x[i]);
        return;
    case KWNN_ACT_SIGMOID:
        for (i = 0; i < n; i++) y[i] = kwnn__sigmoid(x[i]);
        return;
    case KWNN_ACT_SILU:
        for (i = 0; i < n; i++) y[i] = x[i] * kwnn__sigmoid(x[i]);
        return;
    default: break;
    }
    for (i = 0; i < n; i++) y[i] = kwnn__act1(a, x[i]);
}

/* o += a * w over n floats (restrict parameters: every compiler may vectorize). */
#define KWNN__TC 8
static void kwnn__axpy(float *KWNN__RESTRICT o, const float *KWNN__RESTRICT w, float a, size_t n)
{
    size_t i, j, body = n - n % KWNN__TC;
#if defined(__clang__) /* vectorizes the plain loop; the blocked one it gathers across blocks */
    for (i = 0; i < body; i++) o[i] += a * w[i];
    (void)j;
#else /* gcc -O2 vectorizes only loops of a known trip count */
    for (i = 0; i < body; i += KWNN__TC)
        for (j = 0; j < KWNN__TC; j++) o[i + j] += a * w[i + j];
#endif
    for (i = body; i < n; i++) o[i] += a * w[i];
}

/* rows x (K) times W (K, N) + bias -> rows x N (13_gemm.h), one thread. */
static void kwnn__dense_run(const float *KWNN__RESTRICT x, float *KWNN__RESTRICT y, size_t rows,
                            size_t K, size_t N, const float *KWNN__RESTRICT W,
                            const float *KWNN__RESTRICT bias)
{
    kwnn__gemm(NULL, rows, N, K, x, K, W, N, bias, y, N);
}

/* The taps [*lo, *hi) of a window of k taps d apart, its first at padded
   coordinate `start`, that fall on the input [pad, pad + n): the loops visit
   only those, so a window larger than the input costs no more than the
   input (bounded by kwnn__window's limits: no overflow, 32-bit included). */
static void kwnn__taps(size_t start, size_t pad, size_t n, size_t k, size_t d, size_t *lo, size_t *hi)
{
    size_t end = pad + n;
    *lo = start < pad ? (pad - start + d - 1) / d : 0;
    *hi = start < end ? (end - start + d - 1) / d : 0;
    if (*hi > k) *hi = k;
    if (*lo > *hi) *lo = *hi;
}

static void kwnn__run_layer(const kwnn_layer *L, const float *x, float *y, size_t batch, const kwnn__ex *ex)
{
    size_t n = L->out_count * batch, last = L->out_ndim ? L->out_shape[L->out_ndim - 1] : 1;
    switch (L->kind) {
    case KWNN_LAYER_DENSE: {
        size_t K = L->in_shape[L->in_ndim - 1];
        kwnn__gemm(ex->opt, batch * (L->in_count / K), L->units, K, x, K, L->w, L->units, L->b, y, L->units);
        kwnn__act(&L->act, y, y, n, last);
        break;
    }
    case KWNN_LAYER_BATCHNORM: case KWNN_LAYER_AFFINE: case KWNN_LAYER_PRELU: /* 44_norm_apps.h */
        kwnn__bcast_run(L, x, y, batch);
        break;
    case KWNN_LAYER_LAYERNORM: kwnn__layernorm_run(L, x, y, batch); break;
    case KWNN_LAYER_GROUPNORM: kwnn__groupnorm_run(L, x, y, batch); break; /* 46_attention.h */
    case KWNN_LAYER_UNITNORM: kwnn__unitnorm_run(L, x, y, batch); break;
    case KWNN_LAYER_EINSUM: kwnn__einsum_run(L, x, y, batch); break;
    case KWNN_LAYER_ACTIVATION: kwnn__act(&L->act, x, y, n, last); break;
    case KWNN_LAYER_CONV1D: case KWNN_LAYER_CONV2D: case KWNN_LAYER_CONV3D: case KWNN_LAYER_DEPTHWISE1D:
    case KWNN_LAYER_DEPTHWISE2D: case KWNN_LAYER_CONV1D_TRANSPOSE: case KWNN_LAYER_CONV2D_TRANSPOSE:
    case KWNN_LAYER_CONV3D_TRANSPOSE: /* 49_conv_gemm.h, else 42_conv_family.h */
        if (!kwnn__conv_gemm_run(L, x, y, batch, ex)) kwnn__conv_nd_run(L, x, y, batch);
        kwnn__act(&L->act, y, y, n, last);
        break;
    default:
        if (kwnn__shape_pool_run(L, x, y, batch)) break; /* 43_shape_pool.h */
        if (x != y) memcpy(y, x, n * sizeof *y);
        break;
    }
}

