"""`kwbin pack` of models whose layer-level order is cyclic only through shared layers.

The file's layer records are in topological order of the layers, but a shared
layer may be called on an output that depends on itself: y = d(d(x)), or
y = a(b(a(x))) where a's second call reads b and b reads a's first call.
Such a model is valid (its calls form no cycle); packing must keep a stable
order (Keras's config order) instead of refusing, and the C inference must
run it as Keras does.
"""

from __future__ import annotations

import json
import subprocess
import warnings
import zipfile

import numpy as np
import pytest

import kwbin
from kwbin.keras import pack

from test_c_inference import TOLERANCE, _difference, kwbin_run  # noqa: F401


def _keras():
    return pytest.importorskip("keras")


def _self_fed():
    keras = _keras()
    x = keras.Input((4,))
    d = keras.layers.Dense(4, activation="tanh", name="d")
    return keras.Model(x, d(d(x)))


def _through_another():
    keras = _keras()
    L = keras.layers
    x = keras.Input((4,))
    a = L.Dense(4, activation="tanh", name="a")
    b = L.Dense(4, activation="sigmoid", name="b")
    h = a(x)
    return keras.Model(x, L.Concatenate(name="cat")([a(b(h)), h]))


def _three_shared():
    keras = _keras()
    L = keras.layers
    x = keras.Input((3,))
    a, b, c = (L.Dense(3, activation="tanh", name=n) for n in "abc")
    return keras.Model(x, a(c(b(a(c(x))))))


def _second_call_reads_a_later_layer():
    """Keras lists `shared` before `pre` (its config follows the graph's depth, and `shared`'s first
    call reads h), though its second call reads `pre`: packing keeps that order, in which Keras 3
    also names the weight groups (dense_1: shared, dense_2: pre)."""
    keras = _keras()
    L = keras.layers
    x = keras.Input((4,))
    h = L.Dense(4, name="h")(x)
    shared = L.Dense(4, activation="tanh", name="shared")
    r, r2 = shared(h), shared(L.Dense(4, name="pre")(h))
    return keras.Model(x, L.Concatenate(name="cat")([L.Dense(4, name="after")(r), r2, L.Dense(4, name="m")(h)]))


BUILDERS = {"self_fed": _self_fed, "through_another": _through_another, "three_shared": _three_shared,
            "second_call_reads_a_later_layer": _second_call_reads_a_later_layer}


@pytest.mark.parametrize("case", sorted(BUILDERS))
def test_pack_keeps_config_order_and_c_equals_keras(case, kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    keras.utils.set_random_seed(7)
    model = BUILDERS[case]()
    rng = np.random.default_rng(len(case))
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(0, 0.8, w.shape).astype(np.float32) for w in layer.weights])
    x = rng.normal(0, 1.5, (5, *model.inputs[0].shape[1:])).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")

    config = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))
    with kwbin.open(tmp_path / "m.kwb") as f:
        assert [layer.name for layer in f.layers] == [e["config"]["name"] for e in config["config"]["layers"]]

    np.save(tmp_path / "in.npy", x)
    result = subprocess.run([str(kwbin_run), str(tmp_path / "m.kwb"), str(tmp_path / "in.npy"),
                             str(tmp_path / "out.npy")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert _difference(np.load(tmp_path / "out.npy"), expected) <= TOLERANCE


def test_a_layer_order_without_cycles_is_still_topological():
    """Config order is only the fallback: an entry listed before what it reads still moves after it."""
    from kwbin.keras.config import flatten

    def entry(name, cls, reads):
        nodes = [[[r, 0, 0, {}] for r in reads]] if reads else []
        return {"class_name": cls, "name": name, "config": {"name": name}, "inbound_nodes": nodes}

    model = {"class_name": "Functional", "config": {"name": "m", "layers": [
        entry("late", "Dense", ["early"]), entry("early", "Dense", ["x"]), entry("x", "InputLayer", [])],
        "input_layers": [["x", 0, 0]], "output_layers": [["late", 0, 0]]}}
    assert [layer.name for layer in flatten(model)] == ["x", "early", "late"]
