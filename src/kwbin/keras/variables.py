"""Which variables each Keras layer class stores, in Keras 3's order.

A Keras 3 weights file stores each object's variables as ``vars/0``,
``vars/1``, ... without names, in the order the layer's ``build()`` created
them (trainable first, then non-trainable).  Sub-objects (an RNN's cell, a
wrapper's inner layer, attention's projections) have their own ``vars`` under
an attribute path.  ``layout(class_name, config)`` gives, for one layer, each
``vars`` group's path relative to the layer's group and its variable names.

This table is checked against live Keras models in tests/test_keras_variables.py.
"""

from __future__ import annotations

from typing import Any, Callable

Layout = dict[str, list[str]]  # "vars" or "cell/vars" -> ["kernel", "bias"]


def _flag(config: dict[str, Any], key: str, default: bool = True) -> bool:
    value = config.get(key, default)
    return bool(default if value is None else value)


def _kernel_bias(config: dict[str, Any]) -> Layout:
    return {"vars": ["kernel"] + (["bias"] if _flag(config, "use_bias") else [])}


def _einsum_dense(config: dict[str, Any]) -> Layout:
    return {"vars": ["kernel"] + (["bias"] if config.get("bias_axes") else [])}


def _separable(config: dict[str, Any]) -> Layout:
    return {"vars": ["depthwise_kernel", "pointwise_kernel"] + (["bias"] if _flag(config, "use_bias") else [])}


def _batch_norm(config: dict[str, Any]) -> Layout:
    names = (["gamma"] if _flag(config, "scale") else []) + (["beta"] if _flag(config, "center") else [])
    return {"vars": names + ["moving_mean", "moving_variance"]}


def _scale_center(config: dict[str, Any]) -> Layout:
    # Keras 3's LayerNormalization(rms_scaling=True) makes gamma even with scale off, and no beta
    rms = config.get("rms_scaling") is True
    return {"vars": (["gamma"] if _flag(config, "scale") or rms else [])
            + (["beta"] if _flag(config, "center") and not rms else [])}


def _normalization(config: dict[str, Any]) -> Layout:
    # Keras 3 creates the statistics as variables only when the config does
    # not give them (``adapt()`` fills them); a given mean/variance is a constant.
    return {"vars": ["mean", "variance", "count"] if config.get("mean") is None else []}


def _rnn(config: dict[str, Any]) -> Layout:
    names = ["kernel", "recurrent_kernel"] + (["bias"] if _flag(config, "use_bias") else [])
    return {"vars": [], "cell/vars": names}


def _attention(config: dict[str, Any]) -> Layout:
    projection = ["kernel"] + (["bias"] if _flag(config, "use_bias") else [])
    return {
        "vars": [],
        "query_dense/vars": projection,
        "key_dense/vars": projection,
        "value_dense/vars": projection,
        "output_dense/vars": projection,
    }


def _inner(config: dict[str, Any], key: str = "layer") -> tuple[str, dict[str, Any]] | None:
    entry = config.get(key)
    if isinstance(entry, dict) and isinstance(entry.get("class_name"), str):
        return entry["class_name"], entry.get("config") or {}
    return None


def _nest(prefix: str, inner: tuple[str, dict[str, Any]] | None) -> Layout | None:
    if inner is None:
        return None
    sub = layout(*inner)
    if sub is None:
        return None
    return {f"{prefix}/{path}": names for path, names in sub.items()}


def _bidirectional(config: dict[str, Any]) -> Layout | None:
    forward = _nest("forward_layer", _inner(config))
    backward = _nest("backward_layer", _inner(config, "backward_layer") or _inner(config))
    if forward is None or backward is None:
        return None
    return {"vars": [], **forward, **backward}


def _time_distributed(config: dict[str, Any]) -> Layout | None:
    inner = _nest("layer", _inner(config))
    return None if inner is None else {"vars": [], **inner}


_TABLE: dict[str, Callable[[dict[str, Any]], Layout | None]] = {
    "Dense": _kernel_bias,
    "EinsumDense": _einsum_dense,
    "Conv1D": _kernel_bias,
    "Conv2D": _kernel_bias,
    "Conv3D": _kernel_bias,
    "Conv1DTranspose": _kernel_bias,
    "Conv2DTranspose": _kernel_bias,
    "Conv3DTranspose": _kernel_bias,
    "DepthwiseConv1D": _kernel_bias,
    "DepthwiseConv2D": _kernel_bias,
    "SeparableConv1D": _separable,
    "SeparableConv2D": _separable,
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _scale_center,
    "GroupNormalization": _scale_center,
    "Embedding": lambda config: {"vars": ["embeddings"]},
    "PReLU": lambda config: {"vars": ["alpha"]},
    "Normalization": _normalization,
    # keras.applications.convnext's own layer (not in keras.layers); its one
    # weight is created without a name, so Keras itself calls it "variable".
    "LayerScale": lambda config: {"vars": ["variable"]},
    "SimpleRNN": _rnn,
    "LSTM": _rnn,
    "GRU": _rnn,
    "MultiHeadAttention": _attention,
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
}

#: Layers known to hold no variable at all.
WEIGHTLESS = {
    "InputLayer", "Activation", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Flatten", "Reshape",
    "Permute", "RepeatVector", "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D",
    "ZeroPadding2D", "ZeroPadding3D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
    "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "ReLU",
    "LeakyReLU", "ELU", "Softmax", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
    "Concatenate", "Dot", "Masking", "Lambda", "UnitNormalization", "Rescaling", "Identity",
    "ThresholdedReLU", "StochasticDepth", "Resizing", "CenterCrop",
}  # fmt: skip

KNOWN_CLASSES = set(_TABLE) | WEIGHTLESS


def layout(class_name: str, config: dict[str, Any]) -> Layout | None:
    """Variable names per ``vars`` group of a layer, or None for an unknown class."""
    if class_name in WEIGHTLESS:
        return {"vars": []}
    rule = _TABLE.get(class_name)
    return None if rule is None else rule(config)
