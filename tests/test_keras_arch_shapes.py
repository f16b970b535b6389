"""`pack --arch`: every weight's shape must be the one the architecture's config implies (issue #12).

Mismatched pairs: the weights of one model packed with the architecture of another that differs
in one hyperparameter.  Each must be refused with WeightShapeMismatch naming the layer, the
weight, the shape found and the shape expected; each matching pair (the control) must pack.
Live Keras 3 models for the Keras 3 formats, hand-made HDF5 files for Keras 1 and 2 layouts.
"""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from kwbin.keras import PackError, WeightShapeMismatch, pack

# --- hand-made legacy weights files (no Keras needed) ----------------------------------------


def write_legacy(path, layers: dict[str, list[tuple[str, tuple[int, ...]]]]) -> None:
    """A save_weights-style file: layer_names, then each layer's weight_names and datasets."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode() for n in layers])
        f.attrs["keras_version"] = b"2.1.6"
        for layer, weights in layers.items():
            group = f.create_group(layer)
            group.attrs["weight_names"] = np.array([n.encode() for n, _ in weights])
            for name, shape in weights:
                group.create_dataset(name, data=np.zeros(shape, np.float32))


def arch_file(path, layers: list[tuple[str, dict]], keras1: bool = False) -> str:
    entries = [{"class_name": cls, "config": cfg} for cls, cfg in layers]
    model = {"class_name": "Sequential", "config": entries if keras1 else {"name": "m", "layers": entries}}
    path.write_text(json.dumps(model))
    return str(path)


def tf(layer: str, *names_shapes) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{layer}/{n}:0", s) for n, s in names_shapes]


LSTM_300 = tf("lstm", ("lstm_cell/kernel", (59, 1200)), ("lstm_cell/recurrent_kernel", (300, 1200)),
              ("lstm_cell/bias", (1200,)))  # fmt: skip

# (id, weights by layer, architecture layers, a matching architecture, keras1, expected layer/weight)
LEGACY = [
    ("lstm_issue12", {"lstm": LSTM_300},
     [("LSTM", {"name": "lstm", "units": 50})], [("LSTM", {"name": "lstm", "units": 300})], False, "kernel"),
    ("gru_reset_after", {"gru": tf("gru", ("gru_cell/kernel", (4, 9)), ("gru_cell/recurrent_kernel", (3, 9)),
                                   ("gru_cell/bias", (9,)))},
     [("GRU", {"name": "gru", "units": 3, "reset_after": True})],
     [("GRU", {"name": "gru", "units": 3, "reset_after": False})], False, "bias"),
    ("cudnn_lstm", {"cu": tf("cu", ("kernel", (4, 12)), ("recurrent_kernel", (3, 12)), ("bias", (12,)))},
     [("CuDNNLSTM", {"name": "cu", "units": 3})], [("LSTM", {"name": "cu", "units": 3})], False, "bias"),
    ("cudnn_gru", {"cu": tf("cu", ("kernel", (4, 9)), ("recurrent_kernel", (3, 9)), ("bias", (18,)))},
     [("CuDNNGRU", {"name": "cu", "units": 4})], [("CuDNNGRU", {"name": "cu", "units": 3})], False, "kernel"),
    ("simple_rnn_recurrent", {"rnn": tf("rnn", ("kernel", (4, 3)), ("recurrent_kernel", (2, 3)), ("bias", (3,)))},
     [("SimpleRNN", {"name": "rnn", "units": 3})], None, False, "recurrent_kernel"),
    ("bidirectional", {"bi": tf("bi", ("forward_lstm/lstm_cell/kernel", (4, 8)),
                                ("forward_lstm/lstm_cell/recurrent_kernel", (2, 8)), ("forward_lstm/lstm_cell/bias", (8,)),
                                ("backward_lstm/lstm_cell/kernel", (4, 8)),
                                ("backward_lstm/lstm_cell/recurrent_kernel", (2, 8)),
                                ("backward_lstm/lstm_cell/bias", (8,)))},
     [("Bidirectional", {"name": "bi", "layer": {"class_name": "LSTM", "config": {"name": "lstm", "units": 3}}})],
     [("Bidirectional", {"name": "bi", "layer": {"class_name": "LSTM", "config": {"name": "lstm", "units": 2}}})],
     False, "forward_lstm/lstm_cell/kernel"),
    ("bidirectional_inputs_differ", {"bi": tf("bi", ("forward_gru/kernel", (4, 6)), ("forward_gru/recurrent_kernel", (2, 6)),
                                              ("backward_gru/kernel", (5, 6)), ("backward_gru/recurrent_kernel", (2, 6)))},
     [("Bidirectional", {"name": "bi", "layer": {"class_name": "GRU",
                                                  "config": {"name": "gru", "units": 2, "use_bias": False}}})],
     None, False, "backward_gru/kernel"),
    ("time_distributed", {"td": tf("td", ("kernel", (4, 3)), ("bias", (3,)))},
     [("TimeDistributed", {"name": "td", "layer": {"class_name": "Dense", "config": {"name": "d", "units": 5}}})],
     [("TimeDistributed", {"name": "td", "layer": {"class_name": "Dense", "config": {"name": "d", "units": 3}}})],
     False, "kernel"),
    ("conv1d_kernel_size", {"c": tf("c", ("kernel", (3, 2, 4)), ("bias", (4,)))},
     [("Conv1D", {"name": "c", "filters": 4, "kernel_size": [5]})],
     [("Conv1D", {"name": "c", "filters": 4, "kernel_size": [3]})], False, "kernel"),
    ("conv3d_transpose", {"c": tf("c", ("kernel", (2, 2, 2, 3, 5)), ("bias", (3,)))},
     [("Conv3DTranspose", {"name": "c", "filters": 5, "kernel_size": [2, 2, 2]})],
     [("Conv3DTranspose", {"name": "c", "filters": 3, "kernel_size": [2, 2, 2]})], False, "kernel"),
    ("depthwise", {"d": tf("d", ("depthwise_kernel", (3, 3, 4, 2)), ("bias", (8,)))},
     [("DepthwiseConv2D", {"name": "d", "kernel_size": [3, 3], "depth_multiplier": 1})],
     [("DepthwiseConv2D", {"name": "d", "kernel_size": [3, 3], "depth_multiplier": 2})], False, "depthwise_kernel"),
    ("separable_pointwise", {"s": tf("s", ("depthwise_kernel", (3, 3, 4, 2)), ("pointwise_kernel", (1, 1, 4, 6)),
                                     ("bias", (6,)))},
     [("SeparableConv2D", {"name": "s", "filters": 6, "kernel_size": [3, 3], "depth_multiplier": 2})],
     None, False, "pointwise_kernel"),
    ("layer_norm_axes", {"ln": tf("ln", ("gamma", (6,)), ("beta", (6,)))},
     [("LayerNormalization", {"name": "ln", "axis": [1, 2]})],
     [("LayerNormalization", {"name": "ln", "axis": [-1]})], False, "gamma"),
    ("group_norm", {"gn": tf("gn", ("gamma", (6,)), ("beta", (6,)))},
     [("GroupNormalization", {"name": "gn", "groups": 4})],
     [("GroupNormalization", {"name": "gn", "groups": 3})], False, "gamma"),
    ("prelu_shared", {"p": tf("p", ("alpha", (5, 4)),)},
     [("PReLU", {"name": "p", "shared_axes": [1]})], [("PReLU", {"name": "p", "shared_axes": None})], False, "alpha"),
    ("batchnorm_vectors", {"bn": tf("bn", ("gamma", (4,)), ("beta", (4,)), ("moving_mean", (4,)),
                                    ("moving_variance", (5,)))},
     [("BatchNormalization", {"name": "bn"})], None, False, "moving_variance"),
    ("einsum_dense", {"e": tf("e", ("kernel", (4, 2, 3)), ("bias", (2, 3)))},
     [("EinsumDense", {"name": "e", "equation": "abc,cde->abde", "output_shape": [None, 2, 5], "bias_axes": "de"})],
     [("EinsumDense", {"name": "e", "equation": "abc,cde->abde", "output_shape": [None, 2, 3], "bias_axes": "de"})],
     False, "kernel"),
    ("attention_output", {"mha": tf("mha", ("query/kernel", (8, 2, 4)), ("query/bias", (2, 4)),
                                    ("key/kernel", (8, 2, 4)), ("key/bias", (2, 4)),
                                    ("value/kernel", (8, 2, 4)), ("value/bias", (2, 4)),
                                    ("attention_output/kernel", (2, 4, 8)), ("attention_output/bias", (8,)))},
     [("MultiHeadAttention", {"name": "mha", "num_heads": 2, "key_dim": 4, "output_shape": 6})],
     [("MultiHeadAttention", {"name": "mha", "num_heads": 2, "key_dim": 4, "output_shape": None})],
     False, "attention_output/kernel"),
    ("attention_value_dim", {"mha": tf("mha", ("query/kernel", (8, 2, 4)), ("key/kernel", (8, 2, 4)),
                                       ("value/kernel", (8, 2, 4)), ("attention_output/kernel", (2, 4, 8)))},
     [("MultiHeadAttention", {"name": "mha", "num_heads": 2, "key_dim": 4, "value_dim": 3, "use_bias": False})],
     [("MultiHeadAttention", {"name": "mha", "num_heads": 2, "key_dim": 4, "use_bias": False})],
     False, "value/kernel"),
    ("embedding", {"emb": tf("emb", ("embeddings", (10, 3)),)},
     [("Embedding", {"name": "emb", "input_dim": 12, "output_dim": 3})],
     [("Embedding", {"name": "emb", "input_dim": 10, "output_dim": 3})], False, "embeddings"),
    # Keras 1: per-gate weights, output_dim, nb_filter and dim_ordering
    ("keras1_lstm_gates", {"lstm_1": [(f"lstm_1_{k}_{g}", (4, 3) if k == "W" else (3, 3) if k == "U" else (3,))
                                      for g in "icfo" for k in "WUb"]},
     [("LSTM", {"name": "lstm_1", "output_dim": 5})], [("LSTM", {"name": "lstm_1", "output_dim": 3})], True, "W_i"),
    ("keras1_gru_gpu", {"gru_1": [("gru_1_W", (4, 9)), ("gru_1_U", (3, 9)), ("gru_1_b", (9,))]},
     [("GRU", {"name": "gru_1", "output_dim": 4})], [("GRU", {"name": "gru_1", "output_dim": 3})], True, "kernel"),
    ("keras1_conv_th", {"conv_1": [("conv_1_W", (8, 3, 3, 3)), ("conv_1_b", (8,))]},
     [("Convolution2D", {"name": "conv_1", "nb_filter": 8, "nb_row": 5, "nb_col": 5, "dim_ordering": "th"})],
     [("Convolution2D", {"name": "conv_1", "nb_filter": 8, "nb_row": 3, "nb_col": 3, "dim_ordering": "th"})],
     True, "kernel"),
    ("keras1_conv_tf", {"conv_1": [("conv_1_W", (8, 3, 3, 3)), ("conv_1_b", (8,))]},
     [("Convolution2D", {"name": "conv_1", "nb_filter": 8, "nb_row": 3, "nb_col": 3, "dim_ordering": "tf"})],
     None, True, "kernel"),
    ("keras1_conv1d", {"conv_1": [("conv_1_W", (3, 1, 4, 6)), ("conv_1_b", (6,))]},
     [("Convolution1D", {"name": "conv_1", "nb_filter": 5, "filter_length": 3})],
     [("Convolution1D", {"name": "conv_1", "nb_filter": 6, "filter_length": 3})], True, "kernel"),
    ("keras1_dense", {"dense_1": [("dense_1_W", (4, 3)), ("dense_1_b", (3,))]},
     [("Dense", {"name": "dense_1", "output_dim": 2})], [("Dense", {"name": "dense_1", "output_dim": 3})],
     True, "kernel"),
    ("keras1_embedding", {"embedding_1": [("embedding_1_W", (10, 3))]},
     [("Embedding", {"name": "embedding_1", "input_dim": 10, "output_dim": 4})],
     [("Embedding", {"name": "embedding_1", "input_dim": 10, "output_dim": 3})], True, "embeddings"),
]  # fmt: skip


@pytest.mark.parametrize("case", LEGACY, ids=[c[0] for c in LEGACY])
def test_legacy_weights_that_do_not_fit_the_architecture_are_refused(tmp_path, case):
    _, weights, wrong, right, keras1, weight = case
    src = tmp_path / "w.h5"
    write_legacy(src, weights)
    with pytest.raises(WeightShapeMismatch) as info:
        pack(src, tmp_path / "bad.kwb", arch=arch_file(tmp_path / "wrong.json", wrong, keras1))
    error = info.value
    assert isinstance(error, PackError)
    layer = wrong[0][1]["name"]
    assert error.layer == layer and (error.weight == weight or error.weight.startswith(weight))
    stored = dict((n.rsplit("/", 1)[-1] if keras1 else n, s) for n, s in weights[layer])
    assert error.found in stored.values()
    assert f"layer {layer!r}" in str(error) and str(error.found) in str(error) and error.expected in str(error)
    assert not (tmp_path / "bad.kwb").exists()
    if right is not None:
        pack(src, tmp_path / "good.kwb", arch=arch_file(tmp_path / "right.json", right, keras1))


def test_issue12_cli_names_layer_weight_and_both_shapes(tmp_path):
    src = tmp_path / "w.h5"
    write_legacy(src, {"lstm": LSTM_300})
    arch = arch_file(tmp_path / "a.json", [("LSTM", {"name": "lstm", "units": 50})])
    out = tmp_path / "o.kwb"
    result = subprocess.run([sys.executable, "-m", "kwbin", "pack", str(src), "--arch", arch, "-o", str(out)],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kwbin: error:")
    assert "'lstm'" in lines[0] and "kernel" in lines[0] and "(59, 1200)" in lines[0] and "(?, 200)" in lines[0]
    assert not out.exists()


# --- live Keras 3 ----------------------------------------------------------------------------------


def _keras_cases():
    keras = pytest.importorskip("keras")
    L = keras.layers

    def single(shape, make, dtype="float32"):
        def build():
            inp = keras.Input(shape, dtype=dtype, name="x")
            layer = make()
            out = layer(inp, inp) if isinstance(layer, L.MultiHeadAttention) else layer(inp)
            return keras.Model(inp, out)

        return build

    return {
        "Dense": (single((4,), lambda: L.Dense(3, name="l")), single((4,), lambda: L.Dense(5, name="l"))),
        "SimpleRNN": (single((5, 4), lambda: L.SimpleRNN(3, name="l")), single((5, 4), lambda: L.SimpleRNN(2, name="l"))),
        "LSTM": (single((5, 59), lambda: L.LSTM(30, name="l")), single((5, 59), lambda: L.LSTM(5, name="l"))),
        "GRU": (single((5, 4), lambda: L.GRU(3, name="l")), single((5, 4), lambda: L.GRU(4, name="l"))),
        "GRU_reset_after": (single((5, 4), lambda: L.GRU(3, reset_after=False, name="l")),
                            single((5, 4), lambda: L.GRU(3, reset_after=True, name="l"))),
        "Bidirectional": (single((5, 4), lambda: L.Bidirectional(L.LSTM(2), name="l")),
                          single((5, 4), lambda: L.Bidirectional(L.LSTM(3), name="l"))),
        "TimeDistributed": (single((5, 4), lambda: L.TimeDistributed(L.Dense(3), name="l")),
                            single((5, 4), lambda: L.TimeDistributed(L.Dense(2), name="l"))),
        "Conv1D": (single((6, 2), lambda: L.Conv1D(3, 2, name="l")), single((6, 2), lambda: L.Conv1D(3, 3, name="l"))),
        "Conv2D": (single((5, 6, 2), lambda: L.Conv2D(3, 2, name="l")), single((5, 6, 2), lambda: L.Conv2D(4, 2, name="l"))),
        "Conv3D": (single((4, 4, 4, 2), lambda: L.Conv3D(2, 2, name="l")),
                   single((4, 4, 4, 2), lambda: L.Conv3D(2, 3, name="l"))),
        "Conv2DTranspose": (single((5, 6, 2), lambda: L.Conv2DTranspose(3, 2, name="l")),
                            single((5, 6, 2), lambda: L.Conv2DTranspose(4, 2, name="l"))),
        "DepthwiseConv2D": (single((5, 6, 3), lambda: L.DepthwiseConv2D(2, name="l")),
                            single((5, 6, 3), lambda: L.DepthwiseConv2D(2, depth_multiplier=2, name="l"))),
        "SeparableConv1D": (single((6, 3), lambda: L.SeparableConv1D(4, 2, name="l")),
                            single((6, 3), lambda: L.SeparableConv1D(4, 2, depth_multiplier=2, name="l"))),
        "LayerNormalization": (single((5, 6), lambda: L.LayerNormalization(name="l")),
                               single((5, 6), lambda: L.LayerNormalization(axis=[1, 2], name="l"))),
        "GroupNormalization": (single((6,), lambda: L.GroupNormalization(groups=2, name="l")),
                               single((8,), lambda: L.GroupNormalization(groups=4, name="l"))),
        "PReLU": (single((5, 4), lambda: L.PReLU(name="l")), single((5, 4), lambda: L.PReLU(shared_axes=[1], name="l"))),
        "EinsumDense": (single((4,), lambda: L.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c", name="l")),
                        single((4,), lambda: L.EinsumDense("ab,bc->ac", output_shape=5, bias_axes="c", name="l"))),
        "MultiHeadAttention": (single((5, 4), lambda: L.MultiHeadAttention(2, 3, name="l")),
                               single((5, 4), lambda: L.MultiHeadAttention(3, 3, name="l"))),
        "Embedding": (single((4,), lambda: L.Embedding(10, 3, name="l"), "int32"),
                      single((4,), lambda: L.Embedding(10, 4, name="l"), "int32")),
    }


KERAS3_FAMILIES = ["Dense", "SimpleRNN", "LSTM", "GRU", "GRU_reset_after", "Bidirectional", "TimeDistributed", "Conv1D",
                   "Conv2D", "Conv3D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv1D", "LayerNormalization",
                   "GroupNormalization", "PReLU", "EinsumDense", "MultiHeadAttention", "Embedding"]  # fmt: skip


@pytest.mark.parametrize("family", KERAS3_FAMILIES)
def test_keras3_weights_with_another_models_architecture_are_refused(tmp_path, family):
    make_weights, make_arch = _keras_cases()[family]
    weights_model, arch_model = make_weights(), make_arch()
    weights = tmp_path / "w.weights.h5"
    weights_model.save_weights(weights)
    arch_model.save(tmp_path / "other.keras")
    weights_model.save(tmp_path / "same.keras")
    with pytest.raises(WeightShapeMismatch) as info:
        pack(weights, tmp_path / "bad.kwb", arch=tmp_path / "other.keras")
    assert info.value.layer == "l", info.value
    assert not (tmp_path / "bad.kwb").exists()
    pack(weights, tmp_path / "good.kwb", arch=tmp_path / "same.keras")  # the control: the right architecture packs
