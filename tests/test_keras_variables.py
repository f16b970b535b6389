"""The variable table against Keras itself: live Keras 3 models of every class in it.

For each class: random weights, saved by Keras, packed by kwbin (no Keras
involved in packing), and every Keras variable must come back under the name
Keras gives it (the last part of ``variable.path``, or the path below the
layer where that part repeats) with identical bytes.  Loading the file back
into a fresh model restores every variable exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
layers = keras.layers

import kwbin  # noqa: E402
from kwbin.keras import load_weights, pack  # noqa: E402
from kwbin.keras.variables import layout  # noqa: E402


def _layer_scale():
    from keras.src.applications.convnext import LayerScale

    return LayerScale


def _single(layer_factory, shape, dtype="float32"):
    def build():
        inp = keras.Input(shape, dtype=dtype)
        layer = layer_factory()
        out = layer(inp, inp) if isinstance(layer, layers.MultiHeadAttention) else layer(inp)
        return keras.Model(inp, out)

    return build


CASES = {
    "Dense": _single(lambda: layers.Dense(3), (4,)),
    "Normalization": _single(lambda: layers.Normalization(axis=-1), (4,)),
    "Normalization_given_statistics": _single(lambda: layers.Normalization(mean=[1.0, 2.0], variance=[3.0, 4.0]), (2,)),
    "LayerScale": _single(lambda: _layer_scale()(1e-6, 4), (4,)),
    "Dense_no_bias": _single(lambda: layers.Dense(3, use_bias=False), (4,)),
    "EinsumDense": _single(lambda: layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c"), (4,)),
    "Conv1D": _single(lambda: layers.Conv1D(3, 2), (6, 2)),
    "Conv2D": _single(lambda: layers.Conv2D(3, 2), (5, 6, 2)),
    "Conv3D": _single(lambda: layers.Conv3D(2, 2, use_bias=False), (4, 4, 4, 2)),
    "Conv1DTranspose": _single(lambda: layers.Conv1DTranspose(3, 2), (6, 2)),
    "Conv2DTranspose": _single(lambda: layers.Conv2DTranspose(3, 2), (5, 6, 2)),
    "Conv3DTranspose": _single(lambda: layers.Conv3DTranspose(2, 2), (3, 3, 3, 2)),
    "DepthwiseConv1D": _single(lambda: layers.DepthwiseConv1D(2), (6, 3)),
    "DepthwiseConv2D": _single(lambda: layers.DepthwiseConv2D(2, depth_multiplier=2), (5, 6, 3)),
    "SeparableConv1D": _single(lambda: layers.SeparableConv1D(4, 2), (6, 3)),
    "SeparableConv2D": _single(lambda: layers.SeparableConv2D(4, 2), (5, 6, 3)),
    "BatchNormalization": _single(lambda: layers.BatchNormalization(), (5,)),
    "BatchNormalization_no_scale": _single(lambda: layers.BatchNormalization(scale=False), (5,)),
    "BatchNormalization_no_center": _single(lambda: layers.BatchNormalization(center=False), (5,)),
    "LayerNormalization": _single(lambda: layers.LayerNormalization(), (5,)),
    "GroupNormalization": _single(lambda: layers.GroupNormalization(groups=2), (6,)),
    "Embedding": _single(lambda: layers.Embedding(10, 3), (4,), "int32"),
    "PReLU": _single(lambda: layers.PReLU(), (5,)),
    "SimpleRNN": _single(lambda: layers.SimpleRNN(3), (5, 4)),
    "LSTM": _single(lambda: layers.LSTM(3), (5, 4)),
    "GRU": _single(lambda: layers.GRU(3), (5, 4)),
    "MultiHeadAttention": _single(lambda: layers.MultiHeadAttention(2, 3), (5, 4)),
    "Bidirectional": _single(lambda: layers.Bidirectional(layers.LSTM(2)), (5, 4)),
    "TimeDistributed": _single(lambda: layers.TimeDistributed(layers.Dense(3)), (5, 4)),
}


def _randomise(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        values = rng.standard_normal(v.shape)
        v.assign((np.abs(values) if "variance" in v.path else values).astype(v.dtype))


def _expected_names(layer):
    """Keras's own path of each variable, relative to its layer."""
    relative = []
    for v in layer.weights:
        parts = v.path.split("/")
        relative.append("/".join(parts[parts.index(layer.name) + 1 :]))
    last = [r.rsplit("/", 1)[-1] for r in relative]
    return [name if last.count(name) == 1 else rel for name, rel in zip(last, relative)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_variable_comes_back_under_its_keras_name_bit_for_bit(case, tmp_path):
    model = CASES[case]()
    _randomise(model)
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    for source, arch in ((tmp_path / "m.keras", None), (tmp_path / "m.weights.h5", tmp_path / "m.keras")):
        out = tmp_path / "m.kwb"
        pack(source, out, arch=arch)
        with kwbin.open(out) as f:
            for layer in model.layers:
                stored = f.layers[[l.name for l in f.layers].index(layer.name)]
                assert stored.class_name == layer.__class__.__name__
                names = _expected_names(layer)
                assert [f.info(t).weight for t in stored.tensors] == names
                for name, v in zip(names, layer.weights):
                    assert np.array_equal(f[layer.name, name], v.numpy()), (case, name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_table_knows_every_class_it_is_tested_with(case):
    model = CASES[case]()
    layer = model.layers[-1]
    assert layout(layer.__class__.__name__, layer.get_config()) is not None


@pytest.mark.parametrize("case", ["LSTM", "MultiHeadAttention", "SeparableConv2D", "BatchNormalization_no_center"])
def test_load_weights_restores_every_variable(case, tmp_path):
    model = CASES[case]()
    _randomise(model, seed=1)
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    fresh = keras.Model.from_config(model.get_config())  # same layer names, new variables
    load_weights(fresh, tmp_path / "m.kwb")
    for a, b in zip(fresh.weights, model.weights):
        assert np.array_equal(a.numpy(), b.numpy())


def _nested_and_shared():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(5, name="inner_dense"), layers.BatchNormalization()], name="block")
    shared = layers.Dense(4, name="shared")
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    merged = layers.Add(name="add")([shared(a), shared(b)])
    return keras.Model([a, b], layers.Dense(2, name="head")(inner(merged)))


def test_a_sequential_inside_a_functional_and_a_shared_layer_pack_and_predict(tmp_path):
    model = _nested_and_shared()
    _randomise(model, seed=2)
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    with kwbin.open(tmp_path / "m.kwb") as f:
        names = [(l.name, l.class_name, l.parent) for l in f.layers]
        assert ("block", "Sequential", None) in names
        assert ("block/inner_dense", "Dense", "block") in names
        assert [n for n, _, _ in names].count("shared") == 1
        assert f["block/inner_dense", "kernel"].shape == (4, 5)
        assert names.index(("shared", "Dense", None)) < names.index(("add", "Add", None)) < names.index(("block", "Sequential", None))
    fresh = keras.Model.from_config(model.get_config())
    load_weights(fresh, tmp_path / "m.kwb")
    x = [np.ones((2, 4), np.float32), np.arange(8, dtype=np.float32).reshape(2, 4)]
    expected = model.predict(x, verbose=0)
    assert np.isfinite(expected).all()
    assert np.array_equal(fresh.predict(x, verbose=0), expected)
