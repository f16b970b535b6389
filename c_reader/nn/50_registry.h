/* ---- the registration table: Keras class -> loader ----------------------- */

/* A loader reads the config and weights of L for the input shape(s) in c
   (c->shape: the first input; c->ins: all), fills `out` (kind, parameters)
   and leaves the output shape in c->shape.  The kind decides the runner
   (kwnn__run_node) and the cost (kwnn__layer_cost). */
typedef kwnn_result (*kwnn__loader)(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg);

static kwnn_result kwnn__load_dense(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__dense(c, L, cfg, out);
}

static kwnn_result kwnn__load_reshape(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__reshape(c, L, cfg, out);
}

static kwnn_result kwnn__load_identity(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)cfg;
    (void)arg;
    out->kind = KWNN_LAYER_IDENTITY;
    return kwnn__only(c, L, NULL, 0);
}

/* Activation, ReLU, LeakyReLU, ELU, Softmax, ThresholdedReLU: the class is the activation's name. */
static kwnn_result kwnn__load_act(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    static const char *const quoted[] = {"\"Activation\"", "\"ReLU\"", "\"LeakyReLU\"", "\"ELU\"",
                                         "\"Softmax\"", "\"ThresholdedReLU\""};
    kwnn__json cls;
    int found;
    kwnn_result r;
    cls.p = quoted[arg];
    cls.e = cls.p + strlen(cls.p);
    if ((r = kwnn__only(c, L, NULL, 0)) != KWNN_OK) return r;
    if ((r = kwnn__act_layer(c, L, cls, cfg, &found, &out->act)) != KWNN_OK) return r;
    out->kind = KWNN_LAYER_ACTIVATION;
    return KWNN_OK;
}

static kwnn_result kwnn__load_merge(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    return kwnn__merge(c, L, cfg, out, arg);
}

static kwnn_result kwnn__load_concat(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__concat(c, L, cfg, out, 0);
}

static kwnn_result kwnn__load_dot(kwnn__ctx *c, const kwb_layer *L, kwnn__json cfg, kwnn_layer *out, int arg)
{
    (void)arg;
    return kwnn__dot(c, L, cfg, out, 0);
}

typedef struct kwnn__class {
    const char *name;   /* Keras class */
    kwnn__loader load;
    int arg;            /* passed to the loader */
    int many;           /* takes several inputs */
} kwnn__class;

/* Every supported class (InputLayer and the model classes are the graph's). */
static const kwnn__class kwnn__classes[] = {
    {"Dense", kwnn__load_dense, 0, 0},
    {"BatchNormalization", kwnn__load_bn, 0, 0},
    {"LayerNormalization", kwnn__load_layernorm, 0, 0},
    {"Rescaling", kwnn__load_rescaling, 0, 0},
    {"Normalization", kwnn__load_normalization, 0, 0},
    {"PReLU", kwnn__load_prelu, 0, 0},
    {"LayerScale", kwnn__load_layer_scale, 0, 0},
    {"Conv1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 1), 0}, /* 42_conv_family.h */
    {"Conv2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 2), 0},
    {"Conv3D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 3), 0},
    {"Convolution1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 1), 0},
    {"Convolution2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 2), 0},
    {"Convolution3D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 3), 0},
    {"AtrousConvolution1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 1), 0},
    {"AtrousConvolution2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_CONV, 2), 0},
    {"DepthwiseConv1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_DEPTHWISE, 1), 0},
    {"DepthwiseConv2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_DEPTHWISE, 2), 0},
    {"SeparableConv1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_SEPARABLE, 1), 0},
    {"SeparableConv2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_SEPARABLE, 2), 0},
    {"SeparableConvolution1D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_SEPARABLE, 1), 0},
    {"SeparableConvolution2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_SEPARABLE, 2), 0},
    {"Conv1DTranspose", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_TRANSPOSE, 1), 0},
    {"Conv2DTranspose", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_TRANSPOSE, 2), 0},
    {"Conv3DTranspose", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_TRANSPOSE, 3), 0},
    {"Deconvolution2D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_REFUSED, 2), 0}, /* Keras 1: refused by name */
    {"Deconvolution3D", kwnn__conv_nd, KWNN__CONV_ARG(KWNN__OP_REFUSED, 3), 0},
    {"MaxPooling1D", kwnn__load_pool, 1, 0}, /* 43_shape_pool.h: spatial axes, negative for average */
    {"MaxPooling2D", kwnn__load_pool, 2, 0},
    {"MaxPooling3D", kwnn__load_pool, 3, 0},
    {"MaxPool1D", kwnn__load_pool, 1, 0},
    {"MaxPool2D", kwnn__load_pool, 2, 0},
    {"MaxPool3D", kwnn__load_pool, 3, 0},
    {"AveragePooling1D", kwnn__load_pool, -1, 0},
    {"AveragePooling2D", kwnn__load_pool, -2, 0},
    {"AveragePooling3D", kwnn__load_pool, -3, 0},
    {"AvgPool1D", kwnn__load_pool, -1, 0},
    {"AvgPool2D", kwnn__load_pool, -2, 0},
    {"AvgPool3D", kwnn__load_pool, -3, 0},
    {"ZeroPadding1D", kwnn__load_pad, 1, 0},
    {"ZeroPadding2D", kwnn__load_pad, 2, 0},
    {"ZeroPadding3D", kwnn__load_pad, 3, 0},
    {"Cropping1D", kwnn__load_crop, 1, 0},
    {"Cropping2D", kwnn__load_crop, 2, 0},
    {"Cropping3D", kwnn__load_crop, 3, 0},
    {"UpSampling1D", kwnn__load_upsampling, 1, 0},
    {"UpSampling2D", kwnn__load_upsampling, 2, 0},
    {"UpSampling3D", kwnn__load_upsampling, 3, 0},
    {"Permute", kwnn__load_permute, 0, 0},
    {"RepeatVector", kwnn__load_repeat, 0, 0},
    {"GlobalAveragePooling1D", kwnn__load_global, 1, 0},
    {"GlobalAveragePooling2D", kwnn__load_global, 2, 0},
    {"GlobalAveragePooling3D", kwnn__load_global, 3, 0},
    {"GlobalAvgPool1D", kwnn__load_global, 1, 0},
    {"GlobalAvgPool2D", kwnn__load_global, 2, 0},
    {"GlobalAvgPool3D", kwnn__load_global, 3, 0},
    {"GlobalMaxPooling1D", kwnn__load_global, -1, 0},
    {"GlobalMaxPooling2D", kwnn__load_global, -2, 0},
    {"GlobalMaxPooling3D", kwnn__load_global, -3, 0},
    {"GlobalMaxPool1D", kwnn__load_global, -1, 0},
    {"GlobalMaxPool2D", kwnn__load_global, -2, 0},
    {"GlobalMaxPool3D", kwnn__load_global, -3, 0},
    {"Reshape", kwnn__load_reshape, 0, 0},
    {"Flatten", kwnn__load_flatten, 0, 0},
    {"Dropout", kwnn__load_identity, 0, 0},
    {"SpatialDropout1D", kwnn__load_identity, 0, 0},
    {"SpatialDropout2D", kwnn__load_identity, 0, 0},
    {"SpatialDropout3D", kwnn__load_identity, 0, 0},
    {"GaussianNoise", kwnn__load_identity, 0, 0},
    {"GaussianDropout", kwnn__load_identity, 0, 0},
    {"AlphaDropout", kwnn__load_identity, 0, 0},
    {"ActivityRegularization", kwnn__load_identity, 0, 0},
    {"Identity", kwnn__load_identity, 0, 0},
    {"StochasticDepth", kwnn__load_identity, 0, 0},
    {"Activation", kwnn__load_act, 0, 0},
    {"ReLU", kwnn__load_act, 1, 0},
    {"LeakyReLU", kwnn__load_act, 2, 0},
    {"ELU", kwnn__load_act, 3, 0},
    {"Softmax", kwnn__load_act, 4, 0},
    {"ThresholdedReLU", kwnn__load_act, 5, 0},
    {"Add", kwnn__load_merge, KWNN_MERGE_ADD, 1},
    {"Subtract", kwnn__load_merge, KWNN_MERGE_SUBTRACT, 1},
    {"Multiply", kwnn__load_merge, KWNN_MERGE_MULTIPLY, 1},
    {"Average", kwnn__load_merge, KWNN_MERGE_AVERAGE, 1},
    {"Maximum", kwnn__load_merge, KWNN_MERGE_MAXIMUM, 1},
    {"Minimum", kwnn__load_merge, KWNN_MERGE_MINIMUM, 1},
    {"CustomScaleLayer", kwnn__scaled_add, 0, 1}, /* keras.applications */
    {"Concatenate", kwnn__load_concat, 0, 1},
    {"Dot", kwnn__load_dot, 0, 1},
    {"Merge", kwnn__merge_k1, 0, 1}, /* Keras 1 */
    {"Embedding", kwnn__load_embedding, 0, 0}, /* 45_recurrent.h */
    {"SimpleRNN", kwnn__load_rnn, 1, 1}, /* several inputs: initial_state */
    {"LSTM", kwnn__load_rnn, 4, 1},
    {"GRU", kwnn__load_rnn, 3, 1},
    {"CuDNNLSTM", kwnn__load_rnn, 4 | KWNN__RNN_CUDNN, 1}, /* Keras 2: as LSTM / GRU, weights converted */
    {"CuDNNGRU", kwnn__load_rnn, 3 | KWNN__RNN_CUDNN, 1},
    {"Bidirectional", kwnn__load_bidirectional, 0, 1},
    {"TimeDistributed", kwnn__load_time_distributed, 0, 0},
    {"Masking", kwnn__load_masking, 0, 0}, /* 48_masking.h */
    {"GroupNormalization", kwnn__load_groupnorm, 0, 0}, /* 46_attention.h */
    {"UnitNormalization", kwnn__load_unitnorm, 0, 0},
    {"EinsumDense", kwnn__load_einsum, 0, 0},
    {"MultiHeadAttention", kwnn__load_mha, 0, 1},
    {"Attention", kwnn__load_attention, KWNN__SCORE_DOT, 1},
    {"AdditiveAttention", kwnn__load_attention, KWNN__SCORE_ADDITIVE, 1},
};
#define KWNN__N_CLASSES (sizeof kwnn__classes / sizeof kwnn__classes[0])

static const kwnn__class *kwnn__find_class(const char *name)
{
    size_t i;
    for (i = 0; i < KWNN__N_CLASSES; i++)
        if (strcmp(name, kwnn__classes[i].name) == 0) return &kwnn__classes[i];
    return NULL;
}

static const char *const kwnn__model_classes[] = {"Sequential", "Functional", "Model", NULL};

static kwnn_result kwnn__layer_as(kwnn__ctx *c, const kwb_layer *L, const char *cls, kwnn__json cfg, kwnn_layer *out)
{
    const kwnn__class *k = kwnn__find_class(cls);
    if (k == NULL || (k->many && k->load != kwnn__load_rnn)) { /* a recurrent layer takes one input here */
        kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported wrapped layer class ");
        kwnn__m(c->net, cls);
        return KWNN_ERR_UNSUPPORTED;
    }
    return k->load(c, L, cfg, out, k->arg);
}

/* Load layer L for the input(s) in c (see kwnn__loader). */
static kwnn_result kwnn__layer(kwnn__ctx *c, const kwb_layer *L, kwnn_layer *out)
{
    kwnn__json cfg;
    const kwnn__class *k;
    kwnn_result r;
    cfg.p = L->config;
    cfg.e = L->config + L->config_length;
    if (L->config_length == 0)
        return kwnn__fail(c->net, KWNN_ERR_NO_CONFIG, L,
                          "has no config (the file holds weights without the model's architecture; "
                          "pack it with --arch)");
    if (c->op_call.p != NULL) return kwnn__load_op(c, L, cfg, out); /* 47_ops.h */
    if ((r = kwnn__mask_input(c, L)) != KWNN_OK) return r; /* 48_masking.h */
    k = kwnn__find_class(L->class_name);
    if (k == NULL) return kwnn__fail(c->net, KWNN_ERR_UNSUPPORTED, L, "unsupported layer class");
    if (!k->many && (r = kwnn__arity(c, L, 1, 1)) != KWNN_OK) return r;
    return k->load(c, L, cfg, out, k->arg);
}

static int kwnn__computes(kwnn_kind k)
{
    return k != KWNN_LAYER_INPUT && k != KWNN_LAYER_MODEL && k != KWNN_LAYER_IDENTITY &&
           k != KWNN_LAYER_FLATTEN && k != KWNN_LAYER_RESHAPE && k != KWNN_LAYER_UNUSED;
}

