"""Keras 3 operation nodes (``x + 3.0`` on a symbolic tensor) in a functional model.

Keras 3 records such a call as a node of class ``Add`` / ``Multiply`` from
``keras.src.ops.numpy``, with the constant among its arguments.  It is not a
layer: the weights file gives it no ``layers/<group>``, and it does not advance
the per-class counter that names the groups of real layers.  MobileNetV3's
hard_sigmoid is built this way, next to real ``layers.Add`` layers, whose
group ``layers/add`` then holds the layer Keras named ``add_1``.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import kwbin  # noqa: E402
from kwbin.keras import pack  # noqa: E402


def _model():
    # Keras names op nodes and layers from process-wide counters: start them
    # afresh, so that the op node is "add" whatever other tests built before.
    keras.backend.clear_session()
    x = keras.Input((6,), name="x")
    d = keras.layers.Dense(6, name="d")(x)
    h = d + 3.0  # op node "add": it takes the name a layers.Add would get
    h = h * (1 / 6)  # op node "multiply"
    s = keras.layers.Add(name="add_1")([d, h])  # layers.Add in the group "add"
    m = keras.layers.Multiply(name="multiply_1")([s, h])  # layers.Multiply in the group "multiply"
    b = keras.layers.BatchNormalization(name="bn")(m)
    y = keras.layers.Dense(3, name="out")(b)
    model = keras.Model(x, y)
    rng = np.random.default_rng(7)
    model.set_weights([rng.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    model = _model()
    folder = tmp_path_factory.mktemp("opnodes")
    model.save(folder / "m.keras")
    pack(folder / "m.keras", folder / "m.kwb")
    return model, folder / "m.kwb"


def test_the_model_really_has_op_nodes_whose_names_collide_with_layer_groups(packed):
    model, _ = packed
    ops = [op for op in model.operations if not isinstance(op, keras.layers.Layer)]
    assert [op.name for op in ops] == ["add", "multiply"]
    assert all(type(op).__module__.startswith("keras.src.ops.") for op in ops)


def test_every_weight_is_bit_identical_to_keras(packed):
    model, out = packed
    with kwbin.open(out) as f:
        f.verify()
        expected = {
            f"{layer.name}/{v.path.split('/')[-1]}": np.asarray(v.numpy())
            for layer in model.layers
            for v in layer.weights
        }
        assert sorted(f.keys()) == sorted(expected)
        for name, array in expected.items():
            got = f[name]
            assert got.dtype == array.dtype and got.shape == array.shape, name
            assert got.tobytes() == array.tobytes(), name


def test_op_nodes_stay_in_the_layer_table_with_their_class_and_config(packed):
    model, out = packed
    with kwbin.open(out) as f:
        layers = {layer.name: layer for layer in f.layers}
        config = f.metadata["model_config"]
    assert set(layers) == {op.name for op in model.operations}
    for name, cls in [("add", "Add"), ("multiply", "Multiply")]:
        layer = layers[name]
        assert layer.class_name == cls and layer.tensors == ()
        assert layer.config == {"name": name}
    assert layers["add_1"].class_name == "Add" and layers["multiply_1"].class_name == "Multiply"
    # the inbound nodes (with the constants) are the model config's, stored whole
    entries = {e["name"]: e for e in config["config"]["layers"]}
    assert entries["add"]["module"] == "keras.src.ops.numpy"
    assert entries["add"]["inbound_nodes"][0]["args"][1] == 3.0
    assert entries["multiply"]["inbound_nodes"][0]["args"][1] == pytest.approx(1 / 6)


def test_c_inference_runs_the_operation_nodes_as_keras_does(tmp_path):
    """`x + 3.0` runs as the operation it is (with its constant), never as a one-input Add layer."""
    import subprocess
    from pathlib import Path

    model = _model()
    bn = model.get_layer("bn")
    weights = bn.get_weights()
    weights[-1] = np.abs(weights[-1]) + 0.5  # a positive moving_variance: no NaN to compare
    bn.set_weights(weights)
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    exe = Path(__file__).resolve().parent.parent / "build" / "kwbin-run"
    x = np.random.default_rng(3).standard_normal((2, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run([str(exe), str(tmp_path / "m.kwb"), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    want = model.predict(x, verbose=0)
    got = np.load(tmp_path / "y.npy")
    assert np.isfinite(want).all() and want.std() > 1e-3
    assert np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))) <= 1e-5
