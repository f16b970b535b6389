"""Normalisation and keras.applications layers in the C inference (c_reader/nn/44_norm_apps.h).

- the committed Keras 3 fixtures of tests/data/nn for BatchNormalization on
  any axis, LayerNormalization, Rescaling, Normalization, ReLU / ReLU6,
  PReLU, hard_sigmoid / hard_swish / hard_silu, Identity, convnext's
  LayerScale and StochasticDepth, run by kwbin-run, equal Keras's outputs
  (also under ASan/UBSan);
- live Keras 3 models for what the fixtures do not cover: Normalization
  invert=True, axis=None, scalar mean / variance; LayerNormalization
  rms_scaling; BatchNormalization on the time axis of a sequence; PReLU shared
  on a middle axis (parameters varying on two axes that are not adjacent);
- a tf.keras-style BatchNormalization over two axes with weights of the
  input's rank, written by hand;
- bad configs refused at load with one line naming the layer and the option.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.keras import pack

from test_c_inference import TOLERANCE, _difference, _error, kwbin_run, kwbin_run_asan  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
NN = ROOT / "tests" / "data" / "nn"

CASES = ["batch_norm_last", "batch_norm_axis1", "batch_norm_axis2", "batch_norm_dense", "layer_norm_last",
         "layer_norm_axes", "layer_norm_all_axes", "layer_norm_plain", "rescaling", "rescaling_per_channel",
         "normalization_adapted", "normalization_axis1", "normalization_axes", "normalization_given",
         "relu_max_value", "relu_negative_slope", "relu_threshold", "relu_all_options", "relu6", "prelu",
         "prelu_shared_axes", "hard_sigmoid", "hard_swish", "hard_silu", "identity", "layer_scale",
         "stochastic_depth"]
ASAN_CASES = ["batch_norm_axis1", "batch_norm_axis2", "layer_norm_axes", "layer_norm_plain", "rescaling_per_channel",
              "normalization_axes", "normalization_given", "prelu_shared_axes", "layer_scale"]


def _run(exe: Path, model: Path, x: np.ndarray, tmp: Path) -> subprocess.CompletedProcess:
    np.save(tmp / "in.npy", np.ascontiguousarray(x, dtype=np.float32))
    return subprocess.run([str(exe), str(model), str(tmp / "in.npy"), str(tmp / "out.npy")], capture_output=True,
                          text=True, timeout=600)


def _infer(exe: Path, model: Path, x: np.ndarray, tmp: Path) -> np.ndarray:
    result = _run(exe, model, x, tmp)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
    return np.load(tmp / "out.npy")


def _case(name: str) -> dict:
    return json.loads((NN / "cases.json").read_text())["cases"][name]


def _check_fixture(exe: Path, name: str, tmp: Path) -> None:
    case = _case(name)
    assert len(case["inputs"]) == 1 and len(case["outputs"]) == 1
    pack(NN / case["model"], tmp / "m.kwb")
    got = _infer(exe, tmp / "m.kwb", np.load(NN / case["inputs"][0]["file"]), tmp)
    assert _difference(got, np.load(NN / case["outputs"][0]["file"])) <= case["tolerance"]


@pytest.mark.parametrize("name", CASES)
def test_fixture_equals_keras(name, kwbin_run, tmp_path):  # noqa: F811
    _check_fixture(kwbin_run, name, tmp_path)


def test_fixtures_run_clean_under_asan_and_ubsan(kwbin_run_asan, tmp_path):  # noqa: F811
    for name in ASAN_CASES:
        _check_fixture(kwbin_run_asan, name, tmp_path)


# ---------------------------------------------------------------------------
# Live Keras 3 models
# ---------------------------------------------------------------------------


def _keras():
    return pytest.importorskip("keras")


def _live_models():
    keras = _keras()
    L = keras.layers

    def chain(shape, *layers):
        x = inp = keras.Input(shape)
        for layer in layers:
            x = layer(x)
        return keras.Model(inp, x)

    return {
        "normalization_invert": lambda: chain((7, 3), L.Normalization(mean=[0.5, -1.0, 2.0],
                                                                       variance=[4.0, 0.25, 1.0], invert=True)),
        "normalization_axis_none": lambda: chain((4, 5), L.Normalization(axis=None, mean=0.7, variance=2.5)),
        "normalization_scalar": lambda: chain((4, 5), L.Normalization(mean=-1.5, variance=0.3)),
        "normalization_trailing": lambda: chain((6, 5, 3), L.Normalization(axis=(1, 3), mean=[1.0, 2.0, 3.0],
                                                                            variance=[1.0, 4.0, 9.0])),
        "layer_norm_rms": lambda: chain((5, 6), L.LayerNormalization(rms_scaling=True)),
        "layer_norm_middle": lambda: chain((4, 5, 3), L.LayerNormalization(axis=[1, 2], center=False,
                                                                           epsilon=0.05)),
        "batch_norm_time_axis": lambda: chain((6, 4), L.BatchNormalization(axis=1)),
        "prelu_middle_shared": lambda: chain((5, 4, 3), L.PReLU(shared_axes=[2])),
        "rescaling_then_prelu": lambda: chain((5, 3), L.Rescaling([0.5, -2.0, 1.5], offset=0.25), L.PReLU()),
    }


def _randomize(model, rng: np.random.Generator) -> None:
    for layer in model.layers:
        new = []
        for var in layer.weights:
            value = np.asarray(var.numpy())
            name = var.path.rsplit("/", 1)[-1]
            if name == "moving_variance":
                value = rng.uniform(0.5, 2.0, value.shape)
            elif name == "gamma":
                value = rng.uniform(0.5, 1.5, value.shape)
            elif name in ("beta", "moving_mean"):
                value = rng.normal(0.0, 0.3, value.shape)
            elif name == "alpha":
                value = rng.uniform(-0.3, 0.6, value.shape)
            new.append(value.astype(var.dtype))
        if new:
            layer.set_weights(new)


@pytest.mark.parametrize("case", ["normalization_invert", "normalization_axis_none", "normalization_scalar",
                                  "normalization_trailing", "layer_norm_rms", "layer_norm_middle",
                                  "batch_norm_time_axis", "prelu_middle_shared", "rescaling_then_prelu"])
def test_live_keras3_model_equals_predict(case, kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    from kwbin.keras import save_model

    keras.utils.set_random_seed(sum(map(ord, case)))
    rng = np.random.default_rng(sum(map(ord, case)))
    with warnings.catch_warnings():  # rms_scaling is deprecated in Keras 3.15 (it still exists: we test it)
        warnings.simplefilter("ignore")
        model = _live_models()[case]()
        _randomize(model, rng)
        x = rng.normal(0.5, 2.0, (4, *model.inputs[0].shape[1:])).astype(np.float32)
        expected = model.predict(x, verbose=0)
    save_model(model, tmp_path / "m.kwb")
    got = _infer(kwbin_run, tmp_path / "m.kwb", x, tmp_path)
    assert _difference(got, expected) <= TOLERANCE


# ---------------------------------------------------------------------------
# Written by hand: tf.keras forms, and bad configs
# ---------------------------------------------------------------------------


def _chain_file(path: Path, shape, class_name: str, config: dict, weights: dict | None = None) -> None:
    with kwbin.Writer(path) as w:
        w.add_layer("in", "InputLayer", config={"batch_shape": [None, *shape]})
        w.add_layer("x", class_name, config=config)
        for name, value in (weights or {}).items():
            w.add_tensor(f"x/{name}", np.asarray(value, dtype=np.float32), layer="x", weight=name)


def test_tf_keras_batch_norm_over_two_axes(kwbin_run, tmp_path):  # noqa: F811
    """tf.keras allowed axis=[1, 3]: its weights have the input's rank with 1 elsewhere, (1, 7, 1, 3)."""
    rng = np.random.default_rng(11)
    shape = (1, 7, 1, 3)
    gamma, beta = rng.uniform(0.5, 1.5, shape), rng.normal(0, 0.3, shape)
    mean, var = rng.normal(0, 0.3, shape), rng.uniform(0.5, 2.0, shape)
    _chain_file(tmp_path / "m.kwb", (7, 9, 3), "BatchNormalization", {"axis": [1, 3], "epsilon": 0.01},
                {"gamma": gamma, "beta": beta, "moving_mean": mean, "moving_variance": var})
    x = rng.normal(0, 2, (2, 7, 9, 3)).astype(np.float32)
    inv = gamma / np.sqrt(var + 0.01)
    expected = (x * inv + (beta - mean * inv)).astype(np.float32)
    assert _difference(_infer(kwbin_run, tmp_path / "m.kwb", x, tmp_path), expected) <= TOLERANCE


BAD = [
    ("BatchNormalization", {"axis": 0}, {"moving_mean": np.zeros(3), "moving_variance": np.ones(3)},
     "layer 'x' (BatchNormalization): unsupported axis 0 (the batch axis)"),
    ("BatchNormalization", {"axis": 4, "center": False, "scale": False},
     {"moving_mean": np.zeros(3), "moving_variance": np.ones(3)},
     "layer 'x' (BatchNormalization): config key 'axis' is 4, expected axes of the input, of rank 3 with the batch"),
    ("BatchNormalization", {"axis": 1, "center": False, "scale": False},
     {"moving_mean": np.zeros(3), "moving_variance": np.ones(3)},
     "layer 'x' (BatchNormalization): weight 'moving_mean' has shape (3,), expected (5,)"),
    ("LayerNormalization", {"axis": [1, 3]}, None,
     "layer 'x' (LayerNormalization): config key 'axis' is [1,3], expected axes of the input, of rank 3 with"),
    ("LayerNormalization", {"axis": [-1], "center": False}, {"gamma": np.ones(3), "beta": np.zeros(3)},
     "layer 'x' (LayerNormalization): unexpected weight 'beta' (not used by this layer as configured)"),
    ("Rescaling", {"scale": [1.0, 2.0]}, None,
     "layer 'x' (Rescaling): scale and offset do not broadcast over its input (5, 3)"),
    ("Rescaling", {"scale": [[1.0, 2.0, 3.0]]}, None, "layer 'x' (Rescaling): unsupported scale [[1.0,2.0,3.0]]"),
    ("Rescaling", {"offset": 1.0}, None, "layer 'x' (Rescaling): config has no 'scale'"),
    ("Normalization", {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 2.0]}, None,
     "layer 'x' (Normalization): its config's mean and variance do not broadcast over its input (5, 3)"),
    ("Normalization", {"axis": [1]}, {"mean": np.zeros(3), "variance": np.ones(3)},
     "layer 'x' (Normalization): weight 'mean' has shape (3,), expected (5,)"),
    ("PReLU", {"shared_axes": [1]}, {"alpha": np.zeros((5, 3))},
     "layer 'x' (PReLU): weight 'alpha' has shape (5, 3), expected (3,)"),
    ("LayerScale", {"projection_dim": 4}, {"variable": np.ones(4)},
     "layer 'x' (LayerScale): weight 'variable' has shape (4,), expected (3,)"),
]


@pytest.mark.parametrize("class_name,config,weights,message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_configs_are_refused_in_one_line(class_name, config, weights, message, kwbin_run, tmp_path):  # noqa: F811
    _chain_file(tmp_path / "m.kwb", (5, 3), class_name, config, weights)
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", np.zeros((1, 5, 3)), tmp_path))
    assert message in line, line
    assert not (tmp_path / "out.npy").exists()


def test_layer_norm_over_axes_that_are_not_adjacent_is_refused(kwbin_run, tmp_path):  # noqa: F811
    _chain_file(tmp_path / "m.kwb", (4, 5, 3), "LayerNormalization", {"axis": [1, 3]},
                {"gamma": np.ones((4, 3)), "beta": np.zeros((4, 3))})
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", np.zeros((1, 4, 5, 3)), tmp_path))
    assert "layer 'x' (LayerNormalization): unsupported axis: normalising over axes that are not adjacent" in line
