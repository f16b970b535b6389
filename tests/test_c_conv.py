"""The convolution family in the C inference (c_reader/nn/42_conv_family.h, kwbin-run).

- every convolution fixture of tests/data/nn (Conv1D/2D/3D with strides,
  dilation, groups, causal padding, channels_first; DepthwiseConv1D/2D;
  SeparableConv1D/2D; Conv1D/2D/3DTranspose with output_padding, same/valid,
  dilation, channels_first) and the U-Net graph, run by kwbin-run, equal
  Keras's outputs within the case's tolerance; a selection also under
  ASan/UBSan;
- Keras 1 and 2 configs written with kwbin.Writer (Convolution1D's (k, 1, cin,
  filters) kernel, filter_length, subsample_length, atrous_rate; "th"
  dim_ordering with (filters, cin, k...) kernels for Convolution2D/3D and
  SeparableConvolution2D; tf.keras's depthwise_kernel) equal the Keras 3
  layer given the same weights;
- Theano-flipped kernels (metadata conv_kernels) of Conv1D, Conv3D,
  SeparableConv1D and Conv2DTranspose are flipped back at load;
- the loops visit only the taps on the input (a 64^3 kernel on a 2x2x2
  input, a 200x200 transposed kernel of stride 3), within the counted cost;
- bad configs and Keras 1 Deconvolution2D are refused at load with one line
  naming the layer, its class and the option.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.keras import pack

from test_c_inference import (  # noqa: F401
    TOLERANCE, _difference, _error, _infer, _keras, _seq, kwbin_run, kwbin_run_asan)
from test_c_inference_hostile import PROBE_DRIVER, _probe, probe  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
NN = ROOT / "tests" / "data" / "nn"
CASES = json.loads((NN / "cases.json").read_text())["cases"]
FAMILY = ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
          "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
# Single-layer fixtures of the family, and the U-Net (Conv2DTranspose + MaxPooling2D + Concatenate).
CONV_CASES = sorted(n for n, c in CASES.items()
                    if set(c["layers"]) - {"Functional", "InputLayer"} <= set(FAMILY)) + ["graph_unet"]
ASAN_CASES = ["conv1d_causal_dilation", "conv2d_cf_groups", "conv3d_cf", "depthwise_conv1d_cf", "separable_conv1d_cf",
              "separable_conv2d_cf", "conv1d_transpose_cf", "conv2d_transpose_same_outpad_rect",
              "conv3d_transpose_cf", "conv3d_transpose_dilation", "graph_unet"]
THEANO = {"conv_kernels": "theano: kernels are stored flipped (true convolution), as Theano uses them"}


def _run_case(exe: Path, name: str, tmp: Path) -> float:
    case = CASES[name]
    pack(NN / case["model"], tmp / "m.kwb")
    outs: list[str] = []
    for j in range(len(case["outputs"])):
        outs += ["-o", str(tmp / f"out{j}.npy")]
    result = subprocess.run([str(exe), str(tmp / "m.kwb"), *(str(NN / i["file"]) for i in case["inputs"]), *outs],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
    return max(_difference(np.load(tmp / f"out{j}.npy"), np.load(NN / o["file"]))
               for j, o in enumerate(case["outputs"]))


def test_every_family_fixture_is_listed():
    assert len(CONV_CASES) == 50  # 49 single-layer cases and the U-Net
    assert {c for n in CONV_CASES for c in CASES[n]["layers"]} >= set(FAMILY)


@pytest.mark.parametrize("name", CONV_CASES)
def test_fixture_equals_keras(name, kwbin_run, tmp_path):  # noqa: F811
    assert _run_case(kwbin_run, name, tmp_path) <= CASES[name]["tolerance"]


def test_fixtures_run_clean_under_asan_and_ubsan(kwbin_run_asan, tmp_path):  # noqa: F811
    for name in ASAN_CASES:
        assert _run_case(kwbin_run_asan, name, tmp_path) <= CASES[name]["tolerance"], name


# ---------------------------------------------------------------------------
# Keras 1 / 2 configs and Theano kernels, against the Keras 3 layer
# ---------------------------------------------------------------------------


def _single(path: Path, cls: str, config: dict, input_shape: tuple, weights: dict[str, np.ndarray],
            meta: dict | None = None) -> None:
    """A file of one layer after its InputLayer."""
    with kwbin.Writer(path, metadata=meta or {"generation": "keras2"}) as w:
        w.add_layer("input", "InputLayer", config={"batch_input_shape": [None, *input_shape]})
        w.add_layer("conv", cls, config=config)
        for weight, array in weights.items():
            w.add_tensor(f"conv/{weight}", np.ascontiguousarray(array, dtype=np.float32), layer="conv",
                         weight=weight)


def _reference(layer, input_shape: tuple, seed: int):
    """Keras 3's output for random weights and input, and the weights."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    model = _seq(input_shape, layer)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, np.shape(w)).astype(np.float32) for w in model.get_weights()])
    x = rng.normal(0, 1, (2, *input_shape)).astype(np.float32)
    return x, model.predict(x, verbose=0), [np.asarray(w) for w in model.get_weights()]


def test_keras1_convolution1d_and_atrous(kwbin_run, tmp_path):  # noqa: F811
    """filter_length, subsample_length, border_mode, atrous_rate, bias; kernel (k, 1, cin, filters)."""
    L = _keras().layers
    meta = {"generation": "keras1", "keras_version": "1.2.2"}
    x, expected, (k, b) = _reference(L.Conv1D(4, 3, strides=2, padding="same", activation="relu"), (11, 3), 1)
    _single(tmp_path / "a.kwb", "Convolution1D", {
        "nb_filter": 4, "filter_length": 3, "subsample_length": 2, "border_mode": "same", "activation": "relu",
        "bias": True, "input_dim": 3, "input_length": 11}, (11, 3), {"kernel": k[:, None], "bias": b}, meta)
    assert _difference(_infer(kwbin_run, tmp_path / "a.kwb", x, tmp_path), expected) <= TOLERANCE
    x, expected, (k,) = _reference(L.Conv1D(5, 2, dilation_rate=3, use_bias=False), (11, 3), 2)
    _single(tmp_path / "b.kwb", "AtrousConvolution1D", {
        "nb_filter": 5, "filter_length": 2, "atrous_rate": 3, "border_mode": "valid", "bias": False,
        "activation": "linear"}, (11, 3), {"kernel": k[:, None]}, meta)
    assert _difference(_infer(kwbin_run, tmp_path / "b.kwb", x, tmp_path), expected) <= TOLERANCE


def test_keras1_th_convolutions(kwbin_run, tmp_path):  # noqa: F811
    """dim_ordering "th": channels first, kernels (filters, cin, k...) repacked at load."""
    L = _keras().layers
    meta = {"generation": "keras1", "keras_version": "1.2.2"}
    x, expected, (k, b) = _reference(
        L.Conv2D(4, (3, 2), strides=(2, 1), padding="same", data_format="channels_first"), (3, 7, 9), 3)
    _single(tmp_path / "a.kwb", "Convolution2D", {
        "nb_filter": 4, "nb_row": 3, "nb_col": 2, "subsample": [2, 1], "border_mode": "same", "dim_ordering": "th",
        "bias": True, "activation": "linear"}, (3, 7, 9), {"kernel": k.transpose(3, 2, 0, 1), "bias": b}, meta)
    assert _difference(_infer(kwbin_run, tmp_path / "a.kwb", x, tmp_path), expected) <= TOLERANCE
    x, expected, (k, b) = _reference(
        L.Conv3D(3, (2, 3, 2), strides=(1, 2, 1), data_format="channels_first", activation="tanh"), (2, 5, 6, 7), 4)
    _single(tmp_path / "b.kwb", "Convolution3D", {
        "nb_filter": 3, "kernel_dim1": 2, "kernel_dim2": 3, "kernel_dim3": 2, "subsample": [1, 2, 1],
        "border_mode": "valid", "dim_ordering": "th", "activation": "tanh"}, (2, 5, 6, 7),
        {"kernel": k.transpose(4, 3, 0, 1, 2), "bias": b}, meta)
    assert _difference(_infer(kwbin_run, tmp_path / "b.kwb", x, tmp_path), expected) <= TOLERANCE
    x, expected, (dk, pk, b) = _reference(
        L.SeparableConv2D(5, 3, depth_multiplier=2, padding="same", data_format="channels_first"), (3, 7, 9), 5)
    _single(tmp_path / "c.kwb", "SeparableConvolution2D", {
        "nb_filter": 5, "nb_row": 3, "nb_col": 3, "depth_multiplier": 2, "border_mode": "same",
        "dim_ordering": "th", "activation": "linear"}, (3, 7, 9),
        {"depthwise_kernel": dk.transpose(3, 2, 0, 1), "pointwise_kernel": pk.transpose(3, 2, 0, 1), "bias": b},
        meta)
    assert _difference(_infer(kwbin_run, tmp_path / "c.kwb", x, tmp_path), expected) <= TOLERANCE


def test_tf_keras_depthwise_kernel_name(kwbin_run, tmp_path):  # noqa: F811
    L = _keras().layers
    x, expected, (k, b) = _reference(L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"), (11, 3), 6)
    _single(tmp_path / "m.kwb", "DepthwiseConv1D", {
        "kernel_size": [3], "strides": [1], "padding": "same", "depth_multiplier": 2, "data_format": "channels_last",
        "dilation_rate": [1], "use_bias": True, "activation": "linear"}, (11, 3),
        {"depthwise_kernel": k, "bias": b})
    assert _difference(_infer(kwbin_run, tmp_path / "m.kwb", x, tmp_path), expected) <= TOLERANCE


def _theano_layers():
    L = _keras().layers
    return [("Conv1D", lambda: L.Conv1D(4, 3, padding="causal", dilation_rate=2), (11, 3)),
            ("Conv3D", lambda: L.Conv3D(3, (2, 3, 2), padding="same"), (4, 5, 6, 2)),
            ("SeparableConv1D", lambda: L.SeparableConv1D(4, 3, depth_multiplier=2), (11, 3)),
            ("Conv2DTranspose", lambda: L.Conv2DTranspose(3, (3, 2), strides=2, padding="same"), (5, 4, 2))]


@pytest.mark.parametrize("index", range(4), ids=["Conv1D", "Conv3D", "SeparableConv1D", "Conv2DTranspose"])
def test_theano_kernels_are_flipped(index, kwbin_run, tmp_path):  # noqa: F811
    """Every spatial axis of a Theano file's kernels is reversed once at load; without the note, not."""
    cls, make, shape = _theano_layers()[index]
    layer = make()
    x, expected, weights = _reference(layer, shape, 7 + index)
    names = [w.path.rsplit("/", 1)[-1] for w in layer.weights]
    rank = len(shape) - 1
    flipped = {n: (w[tuple([slice(None, None, -1)] * rank)] if n in ("kernel", "depthwise_kernel") else w)
               for n, w in zip(names, weights)}
    config = layer.get_config()
    for note, close in ((THEANO, True), ({}, False)):
        _single(tmp_path / "m.kwb", cls, config, shape, flipped, {"generation": "keras2", "backend": "theano", **note})
        assert (_difference(_infer(kwbin_run, tmp_path / "m.kwb", x, tmp_path), expected) <= TOLERANCE) == close


# ---------------------------------------------------------------------------
# Work bounded by the input, and refusals
# ---------------------------------------------------------------------------


def test_windows_larger_than_the_input_visit_only_its_taps(probe, tmp_path):  # noqa: F811
    """A 64^3 kernel on 2x2x2 visits at most 8 taps per output; a 200x200 transposed kernel of stride 3 on
    2x2 reaches each output from at most 2x2 inputs; both within the counted cost."""
    _single(tmp_path / "a.kwb", "Conv3D", {"filters": 1, "kernel_size": [64, 64, 64], "padding": "same",
                                           "use_bias": False}, (2, 2, 2, 1),
            {"kernel": np.full((64, 64, 64, 1, 1), 0.5, np.float32)})
    out = _probe(probe, tmp_path / "a.kwb", 10**6)
    assert out["run"] == "ok" and int(out["taps"]) == 8 * 8
    assert int(out["taps"]) <= int(out["cost"]) <= 8 * 8 + 8
    _single(tmp_path / "b.kwb", "Conv2DTranspose", {"filters": 1, "kernel_size": [200, 200], "strides": [3, 3],
                                                    "padding": "valid", "use_bias": False}, (2, 2, 1),
            {"kernel": np.full((200, 200, 1, 1), 0.5, np.float32)})
    out = _probe(probe, tmp_path / "b.kwb", 10**6)
    outputs = 203 * 203
    assert out["run"] == "ok" and int(out["taps"]) == 4 * 200 * 200  # each input reaches 200x200 outputs
    assert int(out["taps"]) <= int(out["cost"]) <= outputs * (4 + 4 * 4) + outputs


BAD = [
    ("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 4}, (7, 9, 6), {"kernel": (3, 3, 1, 6)},
     "bad_config", "groups 4 does not divide"),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (7, 9, 3), {"kernel": (3, 3, 3, 2)},
     "unsupported", "unsupported padding \"causal\""),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (7, 3), {"kernel": (3, 2, 3)},
     "unsupported", "unsupported padding \"causal\""),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "data_format": "channels_middle"}, (7, 9, 3),
     {"kernel": (3, 3, 3, 2)}, "unsupported", "unsupported data_format \"channels_middle\""),
    ("Convolution2D", {"nb_filter": 2, "nb_row": 3, "nb_col": 3, "dim_ordering": "xy"}, (7, 9, 3),
     {"kernel": (3, 3, 3, 2)}, "unsupported", "unsupported dim_ordering \"xy\""),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "output_padding": 1}, (7, 9, 3), {"kernel": (3, 3, 3, 2)},
     "unsupported", "unsupported output_padding 1"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "output_padding": [1, -1]}, (7, 9, 3),
     {"kernel": (3, 3, 2, 3)}, "bad_config", "config key 'output_padding' is [1,-1]"),
    ("Conv3D", {"filters": 2, "kernel_size": 2}, (7, 9, 3), {"kernel": (2, 2, 2, 3, 2)},
     "shape", "needs an input of rank 4 (spatial axes, channels), gets (7, 9, 3)"),
    ("Conv1D", {"filters": 2, "kernel_size": 12}, (11, 3), {"kernel": (12, 3, 2)},
     "shape", "its window is larger than its input (11, 3)"),
    ("Conv1D", {"kernel_size": 3}, (11, 3), {"kernel": (3, 3, 2)}, "bad_config", "config has no positive 'filters'"),
    ("Convolution1D", {"nb_filter": 2}, (11, 3), {"kernel": (3, 1, 3, 2)},
     "bad_config", "config has no kernel_size (or filter_length)"),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 0}, (11, 3), {"kernel": (3, 3, 1)},
     "bad_config", "config key 'depth_multiplier' is 0"),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "use_bias": False}, (7, 9, 3), {"kernel": (3, 3, 3, 2)},
     "bad_weights", "weight 'kernel' has shape (3, 3, 3, 2), expected (3, 3, 2, 3)"),
    ("Deconvolution2D", {"nb_filter": 2, "nb_row": 3, "nb_col": 3, "output_shape": [None, 9, 11, 2]}, (7, 9, 3),
     {"kernel": (3, 3, 2, 3)}, "unsupported", "Keras 1 Deconvolution2D/3D is not supported"),
]


@pytest.mark.parametrize("cls,config,shape,weights,code,message", BAD, ids=[f"{b[0]}-{b[4]}-{i}"
                                                                           for i, b in enumerate(BAD)])
def test_bad_configs_are_refused_in_one_line(cls, config, shape, weights, code, message, kwbin_run,  # noqa: F811
                                             tmp_path):
    _single(tmp_path / "m.kwb", cls, config, shape, {n: np.zeros(s, np.float32) for n, s in weights.items()})
    np.save(tmp_path / "x.npy", np.zeros((1, *shape), np.float32))
    result = subprocess.run([str(kwbin_run), str(tmp_path / "m.kwb"), str(tmp_path / "x.npy"),
                             str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=600)
    line = _error(result, 1)
    assert f": {code}: layer 'conv' ({cls}): {message}" in line, line
