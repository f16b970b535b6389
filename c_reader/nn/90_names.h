/* ---- names -------------------------------------------------------------- */

KWNN_API uint64_t kwnn_cost_per_sample(const kwnn_net *net)
{
    return net != NULL && net->layers != NULL ? net->cost_ : 0;
}

KWNN_API const char *kwnn_result_string(kwnn_result r)
{
    switch (r) {
    case KWNN_OK: return "ok";
    case KWNN_ERR_INVALID_ARGUMENT: return "invalid_argument";
    case KWNN_ERR_NO_LAYERS: return "no_layers";
    case KWNN_ERR_NO_CONFIG: return "no_config";
    case KWNN_ERR_UNSUPPORTED: return "unsupported";
    case KWNN_ERR_BAD_CONFIG: return "bad_config";
    case KWNN_ERR_BAD_WEIGHTS: return "bad_weights";
    case KWNN_ERR_SHAPE: return "shape";
    case KWNN_ERR_OUT_OF_MEMORY: return "out_of_memory";
    case KWNN_ERR_OVERFLOW: return "overflow";
    case KWNN_ERR_SIZE: return "size";
    case KWNN_ERR_SCRATCH: return "scratch";
    case KWNN_ERR_COST: return "too_costly";
    case KWNN_ERR_ARITY: return "arity";
    case KWNN_ERR_INPUT_VALUE: return "input_value";
    }
    return "unknown";
}

KWNN_API const char *kwnn_kind_name(kwnn_kind k)
{
    switch (k) {
    case KWNN_LAYER_INPUT: return "Input";
    case KWNN_LAYER_MODEL: return "Model";
    case KWNN_LAYER_IDENTITY: return "Identity";
    case KWNN_LAYER_FLATTEN: return "Flatten";
    case KWNN_LAYER_RESHAPE: return "Reshape";
    case KWNN_LAYER_DENSE: return "Dense";
    case KWNN_LAYER_BATCHNORM: return "BatchNormalization";
    case KWNN_LAYER_ACTIVATION: return "Activation";
    case KWNN_LAYER_CONV2D: return "Conv2D";
    case KWNN_LAYER_MAXPOOL2D: return "MaxPooling2D";
    case KWNN_LAYER_AVGPOOL2D: return "AveragePooling2D";
    case KWNN_LAYER_GLOBAL_AVGPOOL: return "GlobalAveragePooling";
    case KWNN_LAYER_GLOBAL_MAXPOOL: return "GlobalMaxPooling";
    case KWNN_LAYER_MERGE: return "Merge";
    case KWNN_LAYER_CONCAT: return "Concatenate";
    case KWNN_LAYER_DOT: return "Dot";
    case KWNN_LAYER_DEPTHWISE2D: return "DepthwiseConv2D";
    case KWNN_LAYER_UNUSED: return "Unused";
    case KWNN_LAYER_ZEROPAD: return "ZeroPadding";
    case KWNN_LAYER_CROP: return "Cropping";
    case KWNN_LAYER_UPSAMPLE: return "UpSampling";
    case KWNN_LAYER_PERMUTE: return "Permute";
    case KWNN_LAYER_REPEAT: return "RepeatVector";
    case KWNN_LAYER_CONV1D: return "Conv1D";
    case KWNN_LAYER_CONV3D: return "Conv3D";
    case KWNN_LAYER_DEPTHWISE1D: return "DepthwiseConv1D";
    case KWNN_LAYER_CONV1D_TRANSPOSE: return "Conv1DTranspose";
    case KWNN_LAYER_CONV2D_TRANSPOSE: return "Conv2DTranspose";
    case KWNN_LAYER_CONV3D_TRANSPOSE: return "Conv3DTranspose";
    case KWNN_LAYER_AFFINE: return "Affine";
    case KWNN_LAYER_LAYERNORM: return "LayerNormalization";
    case KWNN_LAYER_PRELU: return "PReLU";
    case KWNN_LAYER_EMBEDDING: return "Embedding";
    case KWNN_LAYER_SIMPLE_RNN: return "SimpleRNN";
    case KWNN_LAYER_LSTM: return "LSTM";
    case KWNN_LAYER_GRU: return "GRU";
    case KWNN_LAYER_GROUPNORM: return "GroupNormalization";
    case KWNN_LAYER_UNITNORM: return "UnitNormalization";
    case KWNN_LAYER_EINSUM: return "EinsumDense";
    case KWNN_LAYER_MHA: return "MultiHeadAttention";
    case KWNN_LAYER_ATTENTION: return "Attention";
    case KWNN_LAYER_OP: return "Operation";
    }
    return "?";
}

KWNN_API const char *kwnn_activation_name(kwnn_act_kind a)
{
    size_t i;
    if (a == KWNN_ACT_GELU_TANH) return "gelu_tanh";
    if (a == KWNN_ACT_HARD_SIGMOID_K2) return "hard_sigmoid_keras2";
    for (i = 0; i < KWNN__N_ACTS; i++)
        if (kwnn__acts[i].kind == a) return kwnn__acts[i].name;
    return "?";
}

#ifdef __cplusplus
}
#endif
#endif /* KWBIN_NN_IMPLEMENTATION */
