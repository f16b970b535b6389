"""Write the seed corpus of fuzz/c/fuzz_kwnn.c into fuzz/c/corpus-kwnn.

Small valid networks: the small Keras fixtures of tests/data/keras packed
with ``kwbin pack`` (Keras 2 and 3, a CNN and an MLP), and tiny hand-made
models written with ``kwbin.Writer`` that reach every layer family of
c_reader/kwbin_nn.h: Dense / Conv / pooling / BatchNormalization chains,
activation layers and objects, Reshape / Flatten, a functional chain with its
model config, a nested model and Keras 1 keys, and graphs: branches and
merges (Add, Concatenate, Dot, Keras 1 Merge), a shared layer, two inputs and
two outputs, a nested model called twice; SeparableConv2D, DepthwiseConv2D; normalisation
layers on non-last axes; convolutions of every rank, layout and kind (42_conv_family.h);
attention and the group / unit normalisations (46_attention.h); sequences: CuDNN weights,
return_state, initial_state, a None time axis, TimeDistributed(Conv2D) (45_recurrent.h, 82_run_shapes.h).
Each seed is named by the SHA-1 of its bytes, as libFuzzer names corpus
entries.

    .venv/bin/python fuzz/c/make_kwnn_seeds.py
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import kwbin
from kwbin.keras import pack

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "keras"
OUT = Path(__file__).resolve().parent / "corpus-kwnn"
FIXTURES = ["mlp_k3.keras", "mlp_tfk.h5", "cnn_k3.keras", "cnn_tfk.h5"]
# operation nodes (47_ops.h): slicing, broadcasting constants, reductions, matmul, where; masked RNNs
OPS_FIXTURES = ["slice_reverse_bounded", "newaxis", "mul_array_rank3_batch1", "where_broadcast_cond",
                "sum_axes_keepdims", "softmax_axis1", "matmul_broadcast", "matmul_constant_matrix",
                "transpose_0312", "stack_last", "reshape", "cast_int32",
                "mask_zero_bilstm_gap", "mask_zero_gru_backwards", "masking_lstm"]  # masks: 48_masking.h
# sequences (45_recurrent.h, 82_run_shapes.h): CuDNN weights, return_state, a None time axis (tf.keras)
TFRNN_FIXTURES = ["cudnn_lstm", "cudnn_gru", "lstm_return_state", "gru_return_state_backwards",
                  "stacked_gru_none_time",
                  "mask_zero_mha", "mask_zero_attention", "masking_td_dense_lstm"]  # implicit masks
# tf.keras operation layers (TFOpLambda, SlicingOpLambda): tests/data/tfops
TFOPS_FIXTURES = ["mul_const_left", "slice_mixed", "matmul_transpose_b", "where", "tf_classifier"]
MAX_SEED = 65536  # the -max_len of the fuzz targets


def _rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.normal(0, 0.5, shape).astype(np.float32)


def _dense(w: kwbin.Writer, rng, name: str, n_in: int, units: int, **config) -> None:
    w.add_layer(name, "Dense", config={"units": units, **config})
    w.add_tensor(f"{name}/kernel", _rand(rng, n_in, units), layer=name, weight="kernel")
    if config.get("use_bias", True):
        w.add_tensor(f"{name}/bias", _rand(rng, units), layer=name, weight="bias")


def _bn(w: kwbin.Writer, rng, name: str, ch: int) -> None:
    w.add_layer(name, "BatchNormalization", config={"axis": -1, "epsilon": 0.001})
    for weight in ("gamma", "beta", "moving_mean"):
        w.add_tensor(f"{name}/{weight}", _rand(rng, ch), layer=name, weight=weight)
    w.add_tensor(f"{name}/moving_variance", np.abs(_rand(rng, ch)) + 0.1, layer=name, weight="moving_variance")


def _conv(w: kwbin.Writer, rng, name: str, cin: int, filters: int, k: tuple[int, int], **config) -> None:
    w.add_layer(name, "Conv2D", config={"filters": filters, "kernel_size": list(k), **config})
    w.add_tensor(f"{name}/kernel", _rand(rng, k[0], k[1], cin, filters), layer=name, weight="kernel")
    w.add_tensor(f"{name}/bias", _rand(rng, filters), layer=name, weight="bias")


def _node(name: str, cls: str, config: dict, *calls) -> dict:
    """A Keras 2 model config entry; each call a list of (layer, node, tensor)."""
    return {"class_name": cls, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [[[a, b, c, {}] for a, b, c in call] for call in calls]}


def _graphs(new, rng) -> None:
    """Graph seeds: two inputs, two outputs, a shared Dense, merges, a nested model called twice."""
    inner = {"name": "inner", "layers": [
        _node("x", "InputLayer", {"batch_shape": [None, 3]}),
        _node("y", "Dense", {"units": 3, "activation": "tanh"}, [("x", 0, 0)])],
        "input_layers": [["x", 0, 0]], "output_layers": [["y", 0, 0]]}
    layers = [
        _node("a", "InputLayer", {"batch_shape": [None, 3]}),
        _node("b", "InputLayer", {"batch_shape": [None, 3]}),
        _node("s", "Dense", {"units": 3}, [("a", 0, 0)], [("b", 0, 0)]),
        _node("add", "Add", {}, [("s", 0, 0), ("s", 1, 0)]),
        {**_node("inner", "Functional", inner, [("add", 0, 0)], [("b", 0, 0)]), "config": inner},
        _node("cat", "Concatenate", {"axis": -1}, [("inner", 0, 0), ("inner", 1, 0), ("a", 0, 0)]),
        _node("dot", "Dot", {"axes": 1, "normalize": True}, [("inner", 0, 0), ("s", 1, 0)]),
        _node("mx", "Maximum", {}, [("dot", 0, 0), ("s", 0, 0)]),
    ]
    model_config = {"class_name": "Functional", "config": {
        "name": "g", "layers": layers, "input_layers": [["a", 0, 0], ["b", 0, 0]],
        "output_layers": [["cat", 0, 0], ["mx", 0, 0]]}}
    with new("graph", generation="keras2", model_config=model_config) as w:
        for entry in layers:
            w.add_layer(entry["name"], entry["class_name"], config=entry["config"])
            if entry["name"] == "s":
                w.add_tensor("s/kernel", _rand(rng, 3, 3), layer="s", weight="kernel")
                w.add_tensor("s/bias", _rand(rng, 3), layer="s", weight="bias")
            if entry["name"] == "inner":
                w.add_layer("inner/x", "InputLayer", config={"batch_shape": [None, 3]}, parent="inner")
                w.add_layer("inner/y", "Dense", config={"units": 3, "activation": "tanh"}, parent="inner")
                w.add_tensor("inner/y/kernel", _rand(rng, 3, 3), layer="inner/y", weight="kernel")
                w.add_tensor("inner/y/bias", _rand(rng, 3), layer="inner/y", weight="bias")
    with new("separable", generation="keras3") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 5, 6, 2]})
        w.add_layer("sep", "SeparableConv2D", config={"filters": 3, "kernel_size": [3, 2], "padding": "same",
                                                      "depth_multiplier": 2, "strides": [2, 1], "use_bias": True})
        w.add_tensor("sep/depthwise_kernel", _rand(rng, 3, 2, 2, 2), layer="sep", weight="depthwise_kernel")
        w.add_tensor("sep/pointwise_kernel", _rand(rng, 1, 1, 4, 3), layer="sep", weight="pointwise_kernel")
        w.add_tensor("sep/bias", _rand(rng, 3), layer="sep", weight="bias")
        w.add_layer("dw", "DepthwiseConv2D", config={"kernel_size": [2, 2], "dilation_rate": [1, 2],
                                                     "depth_multiplier": 1, "activation": "relu"})
        w.add_tensor("dw/kernel", _rand(rng, 2, 2, 3, 1), layer="dw", weight="kernel")
        w.add_tensor("dw/bias", _rand(rng, 3), layer="dw", weight="bias")
    k1 = [{"class_name": "InputLayer", "name": n, "config": {"name": n, "batch_input_shape": [None, 2, 3]},
           "inbound_nodes": []} for n in ("p", "q")]
    k1.append({"class_name": "Merge", "name": "m", "config": {"name": "m", "mode": "concat", "concat_axis": 1},
               "inbound_nodes": [[["p", 0, 0], ["q", 0, 0]]]})
    k1.append({"class_name": "Merge", "name": "n", "config": {"name": "n", "mode": "ave"},
               "inbound_nodes": [[["m", 0, 0], ["m", 0, 0]]]})
    model_config = {"class_name": "Model", "config": {
        "name": "k1", "layers": k1, "input_layers": [["p", 0, 0], ["q", 0, 0]], "output_layers": [["n", 0, 0]]}}
    with new("keras1_merge", generation="keras1", keras_version="1.2.2", model_config=model_config) as w:
        for entry in k1:
            w.add_layer(entry["name"], entry["class_name"], config=entry["config"])


def hand_made(folder: Path) -> list[Path]:
    rng = np.random.default_rng(2024)
    paths = []

    def new(name: str, **meta) -> kwbin.Writer:
        paths.append(folder / f"{name}.kwb")
        return kwbin.Writer(paths[-1], metadata=meta)

    with new("mlp", generation="keras3") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 5]})
        _dense(w, rng, "d1", 5, 4, activation="relu")
        _bn(w, rng, "bn", 4)
        w.add_layer("act", "Activation", config={"activation": "gelu"})
        _dense(w, rng, "d2", 4, 3, activation="softmax")
    with new("cnn", generation="keras3") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 6, 5, 2]})
        _conv(w, rng, "c1", 2, 3, (3, 2), padding="same", strides=[2, 1], activation="relu")
        _bn(w, rng, "bn", 3)
        w.add_layer("pool", "MaxPooling2D", config={"pool_size": [2, 2], "padding": "same"})
        _conv(w, rng, "c2", 3, 2, (2, 2), dilation_rate=[1, 1], activation="tanh")
        w.add_layer("gap", "GlobalAveragePooling2D", config={"keepdims": False})
        _dense(w, rng, "out", 2, 2, activation="sigmoid")
    with new("pool_avg_dilated", generation="keras2") as w:
        w.add_layer("input", "InputLayer", config={"batch_input_shape": [None, 7, 7, 1]})
        _conv(w, rng, "c", 1, 2, (2, 2), dilation_rate=[2, 3], padding="same", activation="hard_sigmoid")
        w.add_layer("avg", "AveragePooling2D", config={"pool_size": [3, 3], "strides": [1, 2], "padding": "same"})
        w.add_layer("gmp", "GlobalMaxPooling2D", config={"keepdims": True})
        w.add_layer("flat", "Flatten", config={})
    with new("reshape_acts", generation="keras3") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 12]})
        w.add_layer("r", "Reshape", config={"target_shape": [3, -1]})
        _dense(w, rng, "d", 4, 2, activation={"class_name": "LeakyReLU", "config": {"negative_slope": 0.1}})
        w.add_layer("relu", "ReLU", config={"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5})
        w.add_layer("elu", "ELU", config={"alpha": 0.7})
        w.add_layer("celu", "Activation", config={"activation": {"class_name": "celu", "config": {"alpha": 2.0}}})
        w.add_layer("drop", "Dropout", config={"rate": 0.5})
        w.add_layer("f", "Flatten", config={})
        w.add_layer("sm", "Softmax", config={"axis": -1})
    layers = [{"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_shape": [None, 3]},
               "inbound_nodes": []}]
    for i, prev in enumerate(["in", "a", "b"]):
        name = "abc"[i]
        layers.append({"class_name": "Dense", "name": name, "config": {"name": name, "units": 3},
                       "inbound_nodes": [[[prev, 0, 0, {}]]]})
    model_config = {"class_name": "Functional", "config": {
        "name": "f", "layers": layers, "input_layers": [["in", 0, 0]], "output_layers": [["c", 0, 0]]}}
    with new("functional", generation="keras2", model_config=model_config) as w:
        w.add_layer("in", "InputLayer", config=layers[0]["config"])
        for name in "abc":
            _dense(w, rng, name, 3, 3, activation="swish")
    inner = {"name": "inner", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [None, 4]},
         "inbound_nodes": []},
        {"class_name": "Dense", "name": "y", "config": {"name": "y", "units": 2},
         "inbound_nodes": [[["x", 0, 0, {}]]]}], "input_layers": [["x", 0, 0]], "output_layers": [["y", 0, 0]]}
    with new("nested", generation="keras3") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 4]})
        w.add_layer("inner", "Functional", config=inner)
        w.add_layer("inner/x", "InputLayer", config={"batch_shape": [None, 4]}, parent="inner")
        w.add_layer("inner/y", "Dense", config={"units": 2}, parent="inner")
        w.add_tensor("inner/y/kernel", _rand(rng, 4, 2), layer="inner/y", weight="kernel")
        w.add_tensor("inner/y/bias", _rand(rng, 2), layer="inner/y", weight="bias")
    with new("keras1", generation="keras1", keras_version="1.2.2") as w:
        w.add_layer("conv", "Convolution2D", config={
            "batch_input_shape": [None, 5, 4, 1], "nb_filter": 2, "nb_row": 2, "nb_col": 2,
            "subsample": [1, 1], "border_mode": "valid", "dim_ordering": "tf", "bias": True,
            "activation": "relu"})
        w.add_tensor("conv/kernel", _rand(rng, 2, 2, 1, 2), layer="conv", weight="kernel")
        w.add_tensor("conv/bias", _rand(rng, 2), layer="conv", weight="bias")
        w.add_layer("pool", "MaxPooling2D", config={"pool_size": [2, 2], "strides": None, "border_mode": "valid"})
        w.add_layer("flat", "Flatten", config={})
        w.add_layer("d", "Dense", config={"output_dim": 3, "bias": False, "activation": "hard_sigmoid"})
        w.add_tensor("d/kernel", _rand(rng, 4, 3), layer="d", weight="kernel", dtype="float16")
    _graphs(new, np.random.default_rng(7))
    with new("shape_pool", generation="keras3") as w:  # 43_shape_pool.h: every layer, both layouts
        for name, cls, config in [
                ("input", "InputLayer", {"batch_shape": [None, 7, 6, 2]}),
                ("zp", "ZeroPadding2D", {"padding": [[1, 0], [2, 1]]}),
                ("crop", "Cropping2D", {"cropping": [[0, 1], [1, 1]]}),
                ("up", "UpSampling2D", {"size": [2, 1], "interpolation": "bilinear"}),
                ("mp", "MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}),
                ("perm", "Permute", {"dims": [3, 1, 2]}),
                ("ap", "AveragePooling2D", {"pool_size": 2, "padding": "same", "data_format": "channels_first"}),
                ("r", "Reshape", {"target_shape": [2, 2, 2, 2]}),
                ("zp3", "ZeroPadding3D", {"padding": 1, "dim_ordering": "th"}),
                ("mp3", "MaxPooling3D", {"pool_size": [2, 2, 2], "data_format": "channels_first"}),
                ("gmp", "GlobalMaxPooling3D", {"keepdims": True, "data_format": "channels_first"}),
                ("flat", "Flatten", {"data_format": "channels_first"}),
                ("rep", "RepeatVector", {"n": 3}),
                ("up1", "UpSampling1D", {"length": 2}),
                ("ap1", "AveragePooling1D", {"pool_length": 3, "stride": 2, "border_mode": "same"}),
                ("crop1", "Cropping1D", {"cropping": [1, 0]})]:
            w.add_layer(name, cls, config=config)
    with new("norm_apps", generation="keras3") as w:  # 44_norm_apps.h: parameters over non-last axes
        def weights(layer: str, **arrays) -> None:
            for weight, value in arrays.items():
                w.add_tensor(f"{layer}/{weight}", value, layer=layer, weight=weight)

        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 3, 4, 2]})
        w.add_layer("bn", "BatchNormalization", config={"axis": 1, "center": False})
        weights("bn", gamma=_rand(rng, 3), moving_mean=_rand(rng, 3), moving_variance=np.abs(_rand(rng, 3)) + 0.1)
        w.add_layer("ln", "LayerNormalization", config={"axis": [1, 2], "epsilon": 0.01})
        weights("ln", gamma=_rand(rng, 3, 4), beta=_rand(rng, 3, 4))
        w.add_layer("rs", "Rescaling", config={"scale": [0.5, 2.0], "offset": 0.1})
        w.add_layer("norm", "Normalization", config={"axis": [1, 3]})
        weights("norm", mean=_rand(rng, 3, 2), variance=np.abs(_rand(rng, 3, 2)),
                count=np.array(9, dtype=np.int64))
        w.add_layer("prelu", "PReLU", config={"shared_axes": [2]})
        weights("prelu", alpha=_rand(rng, 3, 1, 2))
        w.add_layer("scale", "LayerScale", config={"init_values": 0.1, "projection_dim": 2})
        weights("scale", variable=_rand(rng, 2))
        w.add_layer("sd", "StochasticDepth", config={"drop_path_rate": 0.2})
        w.add_layer("rms", "LayerNormalization", config={"rms_scaling": True})
        weights("rms", gamma=_rand(rng, 2))
    with new("conv_family", generation="keras3") as w:  # 42_conv_family.h: ranks, groups, layouts, transposes
        for name, cls, config, kernels in [
                ("input", "InputLayer", {"batch_shape": [None, 6, 4]}, {}),
                ("c1", "Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2,
                                  "groups": 2}, {"kernel": (3, 2, 4), "bias": (4,)}),
                ("dw", "DepthwiseConv1D", {"kernel_size": 2, "depth_multiplier": 2, "data_format": "channels_first",
                                           "use_bias": False}, {"kernel": (2, 6, 2)}),
                ("tr", "Conv1DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
                                           "output_padding": 1}, {"kernel": (3, 2, 3), "bias": (2,)}),
                ("r", "Reshape", {"target_shape": [2, 3, 4, 2]}, {}),
                ("t3", "Conv3DTranspose", {"filters": 1, "kernel_size": [2, 1, 2], "strides": [1, 2, 1],
                                           "data_format": "channels_first", "use_bias": False},
                 {"kernel": (2, 1, 2, 1, 2)}),
                ("r2", "Reshape", {"target_shape": [4, 8, 3]}, {}),
                ("sep", "SeparableConv2D", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
                 {"depthwise_kernel": (3, 3, 3, 1), "pointwise_kernel": (1, 1, 3, 2), "bias": (2,)})]:
            w.add_layer(name, cls, config=config)
            for weight, shape in kernels.items():
                w.add_tensor(f"{name}/{weight}", _rand(rng, *shape), layer=name, weight=weight)
    _attention(new, rng)
    return paths


def _attention(new, rng) -> None:
    """46_attention.h: GroupNormalization, EinsumDense, UnitNormalization, causal MultiHeadAttention with a
    separate key (the call's kwargs in the Keras 3 form), Attention (concat, scale), AdditiveAttention."""
    def ref(name: str) -> dict:
        return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, 0, 0]}}

    def node(name: str, cls: str, config: dict, args: list, kwargs: dict | None = None) -> dict:
        return {"class_name": cls, "name": name, "config": {"name": name, **config},
                "inbound_nodes": [{"args": args, "kwargs": kwargs or {}}] if args else []}

    layers = [
        node("a", "InputLayer", {"batch_shape": [None, 4, 6]}, []),
        node("b", "InputLayer", {"batch_shape": [None, 5, 3]}, []),
        node("gn", "GroupNormalization", {"groups": 3, "axis": -1}, [ref("a")]),
        node("ed", "EinsumDense", {"equation": "abc,cde->abde", "output_shape": [4, 2, 3], "bias_axes": "e"},
             [ref("gn")]),
        node("r", "Reshape", {"target_shape": [4, 6]}, [ref("ed")]),
        node("un", "UnitNormalization", {"axis": [1, 2]}, [ref("r")]),
        node("mha", "MultiHeadAttention", {"num_heads": 2, "key_dim": 2, "value_dim": 3, "output_shape": [5],
                                           "attention_axes": [1]},
             [ref("un"), ref("b"), ref("b")], {"use_causal_mask": True}),
        node("att", "Attention", {"use_scale": True, "score_mode": "concat"}, [[ref("mha"), ref("mha")]]),
        node("add", "AdditiveAttention", {"use_scale": True}, [[ref("att"), ref("mha")]]),
    ]
    config = {"name": "m", "layers": layers, "input_layers": [["a", 0, 0], ["b", 0, 0]],
              "output_layers": [["add", 0, 0]]}
    weights = {"gn": {"gamma": (6,), "beta": (6,)}, "ed": {"kernel": (6, 2, 3), "bias": (3,)},
               "mha": {"query/kernel": (6, 2, 2), "query/bias": (2, 2), "key/kernel": (3, 2, 2),
                       "key/bias": (2, 2), "value/kernel": (3, 2, 3), "value/bias": (2, 3),
                       "attention_output/kernel": (2, 3, 5), "attention_output/bias": (5,)},
               "att": {"0": (), "1": ()}, "add": {"scale": (5,)}}
    with new("attention", generation="keras3", model_config={"class_name": "Functional", "config": config}) as w:
        for entry in layers:
            w.add_layer(entry["name"], entry["class_name"], config=entry["config"])
            for weight, shape in weights.get(entry["name"], {}).items():
                w.add_tensor(f"{entry['name']}/{weight}", _rand(rng, *shape), layer=entry["name"], weight=weight)


def _keras_sequences(folder: Path) -> list[Path]:
    """Keras 3 models (when Keras is installed): initial_state in the call's kwargs and return_state
    over a None time axis; TimeDistributed(Conv2D) over None frames."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError:
        return []
    from kwbin.keras import save_model

    L = keras.layers
    keras.backend.clear_session()
    x, h0 = keras.Input((None, 3), name="x"), keras.Input((2,), name="h0")
    seq, h = L.GRU(2, return_sequences=True, return_state=True, name="gru")(x, initial_state=h0)
    out, fh, fc, bh, bc = L.Bidirectional(L.LSTM(2, return_state=True), name="bi")(seq)
    states = keras.Model([x, h0], [out, h, fc, bh])
    frames = keras.Input((None, 5, 4, 2), name="frames")
    f = L.TimeDistributed(L.Conv2D(2, 3, padding="same"), name="td_conv")(frames)
    f = L.TimeDistributed(L.GlobalMaxPooling2D(), name="td_pool")(f)
    video = keras.Model(frames, L.SimpleRNN(3, name="rnn")(f))
    paths = []
    for name, model in (("k3_states", states), ("k3_video", video)):
        rng = np.random.default_rng(len(name))
        model.set_weights([_rand(rng, *np.shape(v)) for v in model.get_weights()])
        save_model(model, folder / f"{name}.kwb")
        paths.append(folder / f"{name}.kwb")
    return paths


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = []
        for name in FIXTURES:
            try:
                pack(DATA / name, folder / f"{name}.kwb")
            except kwbin.KwbinError as exc:  # keep the other seeds
                print(f"skip {name}: {exc}", file=sys.stderr)
                continue
            paths.append(folder / f"{name}.kwb")
        for name in OPS_FIXTURES:
            pack(ROOT / "tests" / "data" / "ops" / f"{name}.keras", folder / f"ops_{name}.kwb")
            paths.append(folder / f"ops_{name}.kwb")
        for name in TFRNN_FIXTURES:
            pack(ROOT / "tests" / "data" / "tfrnn" / f"{name}.h5", folder / f"tfrnn_{name}.kwb")
            paths.append(folder / f"tfrnn_{name}.kwb")
        paths += _keras_sequences(folder)
        for name in TFOPS_FIXTURES:
            pack(ROOT / "tests" / "data" / "tfops" / f"{name}.h5", folder / f"tfops_{name}.kwb")
            paths.append(folder / f"tfops_{name}.kwb")
        paths += hand_made(folder)
        for path in paths:
            data = path.read_bytes()
            if len(data) > MAX_SEED:
                print(f"skip {path.name}: {len(data)} bytes", file=sys.stderr)
                continue
            (OUT / hashlib.sha1(data).hexdigest()).write_bytes(data)
            print(f"{path.name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
