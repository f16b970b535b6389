/* ---- cost: operations per sample, from the shapes alone ----------------- */

static uint64_t kwnn__sat_mul(uint64_t a, uint64_t b)
{
    return (a != 0 && b > UINT64_MAX / a) ? UINT64_MAX : a * b;
}

static uint64_t kwnn__sat_add(uint64_t a, uint64_t b) { return b > UINT64_MAX - a ? UINT64_MAX : a + b; }

/* Multiply-adds (or compares, or elementwise steps) a layer does per sample:
   an upper bound of what kwnn_run's loops visit, which only visit the taps
   of a window that fall inside the input (so at most min(window, input) per
   axis).  Every output written counts once more (bias, activation). */
static uint64_t kwnn__layer_cost(const kwnn_layer *L)
{
    uint64_t out = (uint64_t)L->out_count, taps;
    switch (L->kind) {
    case KWNN_LAYER_DENSE: return kwnn__sat_add(kwnn__sat_mul(L->in_count, L->units), out);
    case KWNN_LAYER_CONV1D: case KWNN_LAYER_CONV2D: case KWNN_LAYER_CONV3D: case KWNN_LAYER_DEPTHWISE1D:
    case KWNN_LAYER_DEPTHWISE2D: case KWNN_LAYER_CONV1D_TRANSPOSE: case KWNN_LAYER_CONV2D_TRANSPOSE:
    case KWNN_LAYER_CONV3D_TRANSPOSE: return kwnn__conv_cost(L); /* 42_conv_family.h */
    case KWNN_LAYER_BATCHNORM: case KWNN_LAYER_ACTIVATION: case KWNN_LAYER_CONCAT: return out;
    case KWNN_LAYER_MERGE: return kwnn__sat_mul(out, L->units); /* units: inputs */
    case KWNN_LAYER_DOT: /* every output sums one fiber; normalize: each input once more */
        taps = kwnn__sat_mul(out, L->in_shape[L->kh]);
        return kwnn__sat_add(taps, L->same ? kwnn__sat_mul(taps, 2) : out);
    case KWNN_LAYER_AFFINE: case KWNN_LAYER_PRELU: return out;
    case KWNN_LAYER_LAYERNORM: return kwnn__sat_mul(out, 3); /* mean, variance, output */
    case KWNN_LAYER_EMBEDDING: case KWNN_LAYER_SIMPLE_RNN: case KWNN_LAYER_LSTM: case KWNN_LAYER_GRU:
        return kwnn__recurrent_cost(L); /* 45_recurrent.h */
    case KWNN_LAYER_GROUPNORM: case KWNN_LAYER_UNITNORM: case KWNN_LAYER_EINSUM: case KWNN_LAYER_MHA:
    case KWNN_LAYER_ATTENTION: return kwnn__attention_cost(L); /* 46_attention.h */
    case KWNN_LAYER_OP: return kwnn__op_cost(L);               /* 47_ops.h */
    case KWNN_LAYER_INPUT: case KWNN_LAYER_MODEL: case KWNN_LAYER_IDENTITY: case KWNN_LAYER_FLATTEN:
    case KWNN_LAYER_RESHAPE: case KWNN_LAYER_UNUSED: break; /* nothing computed */
    default: return kwnn__shape_pool_cost(L); /* 43_shape_pool.h */
    }
    return 0;
}

