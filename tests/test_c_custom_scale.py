"""keras.applications' CustomScaleLayer (Inception-ResNet-v2) in the C inference.

- live Keras 3 graphs using the class (inputs[0] + inputs[1] * scale) with
  seeded weights, packed, run by kwbin-run, equal Keras predict to 1e-5;
- bad configs and calls (no scale, a scale that is not a finite number,
  inputs of two shapes, three inputs) refused with one line naming the layer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kwbin

from test_c_graph import _infer_multi, _run_multi
from test_c_inference import TOLERANCE, _difference, _error, kwbin_run  # noqa: F401


def _scaled_model(scale: float):
    keras = pytest.importorskip("keras")
    irv2 = pytest.importorskip("keras.src.applications.inception_resnet_v2")
    L = keras.layers
    inp = keras.Input((5, 4, 3))
    x = L.Conv2D(6, 1, activation="relu", name="stem")(inp)
    branch = L.Conv2D(6, 3, padding="same", name="branch")(x)
    x = irv2.CustomScaleLayer(scale, name="block")([x, branch])
    x = L.Activation("relu")(x)
    y = irv2.CustomScaleLayer(1.0, name="last")([x, L.Conv2D(6, 1, name="up")(x)])
    return keras.Model(inp, L.Dense(3)(L.GlobalAveragePooling2D()(y)))


@pytest.mark.parametrize("scale", [0.17, -2.5, 3])
def test_custom_scale_layer_equals_keras(scale, kwbin_run, tmp_path):  # noqa: F811
    from kwbin.keras import save_model

    model = _scaled_model(scale)
    rng = np.random.default_rng(11)
    for w in model.weights:
        w.assign(rng.normal(0, 0.5, w.shape).astype(np.float32))
    x = rng.normal(0, 1, (3, 5, 4, 3)).astype(np.float32)
    expected = np.asarray(model.predict(x, verbose=0))
    path = tmp_path / "m.kwb"
    save_model(model, path)
    with kwbin.open(path) as f:
        assert "CustomScaleLayer" in {lay.class_name for lay in f.layers}
    (got,) = _infer_multi(kwbin_run, path, [x], 1, tmp_path)
    assert _difference(got, expected) <= TOLERANCE


def _entry(name, cls, config, *refs):
    return {"class_name": cls, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [[[r, 0, 0, {}] for r in refs]] if refs else []}


def _file(path: Path, scale_config: dict, refs=("x", "x")) -> None:
    entries = [_entry("x", "InputLayer", {"batch_input_shape": [None, 3]}),
               _entry("r", "Reshape", {"target_shape": [3, 1]}, "x"),
               _entry("y", "CustomScaleLayer", scale_config, *refs)]
    meta = {"generation": "keras2", "model_config": {"class_name": "Functional", "config": {
        "name": "g", "layers": entries, "input_layers": [["x", 0, 0]], "output_layers": [["y", 0, 0]]}}}
    with kwbin.Writer(path, metadata=meta) as w:
        for e in entries:
            w.add_layer(e["name"], e["class_name"], config=e["config"])


BAD = {
    "no scale": ({}, ("x", "x"), "layer 'y' (CustomScaleLayer): config has no scale"),
    "null scale": ({"scale": None}, ("x", "x"), "layer 'y' (CustomScaleLayer): config has no scale"),
    "text scale": ({"scale": "0.1"}, ("x", "x"),
                   "layer 'y' (CustomScaleLayer): config key 'scale' is \"0.1\", expected a number"),
    "huge scale": ({"scale": 1e300}, ("x", "x"),
                   "layer 'y' (CustomScaleLayer): config key 'scale' is 1e+300, expected a number"),
    "two shapes": ({"scale": 0.5}, ("x", "r"),
                   "layer 'y' (CustomScaleLayer): inputs of shapes (3,) and (3, 1) differ in shape"),
    "three inputs": ({"scale": 0.5}, ("x", "x", "x"),
                     "layer 'y' (CustomScaleLayer): is called on 3 inputs, expected 2"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_custom_scale_is_refused_in_one_line(case, kwbin_run, tmp_path):  # noqa: F811
    config, refs, message = BAD[case]
    _file(tmp_path / "m.kwb", config, refs)
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", [np.zeros((2, 3), np.float32)], 1, tmp_path), 1)
    assert message in line
    assert not (tmp_path / "out0.npy").exists()


def test_custom_scale_is_counted_and_named(kwbin_run, tmp_path):  # noqa: F811
    _file(tmp_path / "m.kwb", {"scale": 0.5})
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (got,) = _infer_multi(kwbin_run, tmp_path / "m.kwb", [x], 1, tmp_path)
    np.testing.assert_array_equal(got, x + x * np.float32(0.5))
    # two inputs of 3 floats: 6 operations per sample, as for Add
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", [x], 1, tmp_path, "--max-cost", "5"), 1)
    assert "costs 6 operations per sample, above the cap of 5" in line
