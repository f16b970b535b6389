"""Shape, resampling and pooling layers in the C inference (c_reader/nn/43_shape_pool.h).

- every committed Keras 3 fixture of tests/data/nn for ZeroPadding1D/2D/3D,
  Cropping1D/2D/3D, UpSampling1D/2D/3D (nearest, bilinear), Permute,
  RepeatVector, Flatten and Reshape around channels_first, Max/
  AveragePooling1D/2D/3D and the global poolings, run by kwbin-run, equal
  Keras's outputs within each case's tolerance (also under ASan/UBSan);
- the configs of Keras 1 and 2 (pool_length, stride, border_mode,
  dim_ordering "th", UpSampling1D length, padding as a 4-list or a dict,
  cropping forms), checked against the same layers computed by Keras 3;
- bad configs refused at load with one line naming the layer, its class and
  the option; the cost of an N-d pooling counts the taps its loops visit.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.keras import pack

from test_c_graph import _infer_multi, _run_multi
from test_c_inference import (  # noqa: F401
    TOLERANCE, _difference, _error, _infer, _run, kwbin_run, kwbin_run_asan)
from test_c_inference_hostile import _probe, probe  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
NN = ROOT / "tests" / "data" / "nn"
CASES = json.loads((NN / "cases.json").read_text())["cases"]
PATTERNS = ["zero_pad*", "crop*", "upsampl*", "permute*", "repeat*", "flatten*", "reshape*", "*pool*",
            "global*", "graph_unet", "graph_fanout3"]
FIXTURES = sorted(n for n in CASES if any(fnmatch.fnmatch(n, p) for p in PATTERNS))
# these also hold layers of another family (channels_first Conv2D, Conv2DTranspose)
OTHER_FAMILY = {"flatten_cf": "Conv2D", "flatten_cf_default": "Conv2D", "reshape_cf": "Conv2D",
                "graph_unet": "Conv2DTranspose"}


def _fixture(exe: Path, name: str, tmp: Path) -> float:
    case = CASES[name]
    pack(NN / case["model"], tmp / "m.kwb")
    inputs = [np.load(NN / i["file"]) for i in case["inputs"]]
    result = _run_multi(exe, tmp / "m.kwb", inputs, len(case["outputs"]), tmp)
    if result.returncode != 0 and name in OTHER_FAMILY and f"({OTHER_FAMILY[name]}): unsupported" in result.stderr:
        pytest.skip(f"needs {OTHER_FAMILY[name]} (another layer family): {result.stderr.strip()}")
    got = _infer_multi(exe, tmp / "m.kwb", inputs, len(case["outputs"]), tmp)
    worst = 0.0
    for g, o in zip(got, case["outputs"]):
        d = _difference(g, np.load(NN / o["file"]))
        assert d <= case["tolerance"], (name, d)
        worst = max(worst, d)
    return worst


def test_fixture_list_covers_every_family():
    assert len(FIXTURES) == 65
    for prefix in ("zero_padding3d", "cropping3d_cf", "upsampling2d_bilinear_cf", "permute_3d", "repeat_vector",
                   "flatten_cf", "max_pooling3d_same_strides", "average_pooling1d_cf",
                   "global_average_pooling3d_cf_keepdims", "graph_fanout3"):
        assert prefix in FIXTURES


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_equals_keras(name, kwbin_run, tmp_path):  # noqa: F811
    _fixture(kwbin_run, name, tmp_path)


def test_fixtures_run_clean_under_asan_and_ubsan(kwbin_run_asan, tmp_path):  # noqa: F811
    ran = 0
    for name in FIXTURES:
        if name in OTHER_FAMILY:
            continue
        (tmp_path / name).mkdir()
        _fixture(kwbin_run_asan, name, tmp_path / name)
        ran += 1
    assert ran == len(FIXTURES) - len(OTHER_FAMILY)


# ---------------------------------------------------------------------------
# Keras 1 / 2 configs, against Keras 3's layers
# ---------------------------------------------------------------------------


def _keras():
    return pytest.importorskip("keras")


def _chain_file(path: Path, shape: tuple[int, ...], cls: str, config: dict, generation: str = "keras1") -> None:
    with kwbin.Writer(path, metadata={"generation": generation}) as w:
        w.add_layer("input", "InputLayer", config={"batch_input_shape": [None, *shape]})
        w.add_layer("layer", cls, config={"name": "layer", **config})


def _keras3(layer, x: np.ndarray) -> np.ndarray:
    return np.asarray(layer(x), dtype=np.float32)


LEGACY = [  # (class, Keras 1/2 config, per-sample shape, the Keras 3 layer computing the same)
    ("MaxPooling1D", {"pool_length": 3, "stride": 2, "border_mode": "same"}, (11, 3),
     lambda L: L.MaxPooling1D(3, 2, "same")),
    ("AveragePooling1D", {"pool_length": 3, "stride": 2, "border_mode": "same"}, (11, 3),
     lambda L: L.AveragePooling1D(3, 2, "same")),
    ("AveragePooling1D", {"pool_size": [2], "strides": None, "padding": "valid"}, (11, 3),
     lambda L: L.AveragePooling1D(2)),
    ("MaxPooling2D", {"pool_size": [3, 2], "strides": [2, 1], "border_mode": "same", "dim_ordering": "th"},
     (3, 7, 9), lambda L: L.MaxPooling2D((3, 2), (2, 1), "same", data_format="channels_first")),
    ("AveragePooling2D", {"pool_size": [3, 3], "strides": [2, 2], "border_mode": "same", "dim_ordering": "th"},
     (3, 7, 9), lambda L: L.AveragePooling2D(3, 2, "same", data_format="channels_first")),
    ("AveragePooling3D", {"pool_size": [2, 2, 3], "strides": None, "border_mode": "same", "dim_ordering": "tf"},
     (5, 6, 7, 2), lambda L: L.AveragePooling3D((2, 2, 3), padding="same")),
    ("MaxPooling3D", {"pool_size": [2, 2, 2], "strides": [1, 2, 1], "border_mode": "valid", "dim_ordering": "th"},
     (2, 5, 6, 7), lambda L: L.MaxPooling3D(2, (1, 2, 1), data_format="channels_first")),
    ("GlobalAveragePooling2D", {"dim_ordering": "th"}, (3, 7, 9),
     lambda L: L.GlobalAveragePooling2D(data_format="channels_first")),
    ("GlobalMaxPooling3D", {"dim_ordering": "th"}, (2, 5, 6, 7),
     lambda L: L.GlobalMaxPooling3D(data_format="channels_first")),
    ("UpSampling1D", {"length": 3}, (11, 3), lambda L: L.UpSampling1D(3)),
    ("UpSampling2D", {"size": [2, 3], "dim_ordering": "th"}, (3, 7, 9),
     lambda L: L.UpSampling2D((2, 3), data_format="channels_first")),
    ("UpSampling3D", {"size": [1, 2, 3], "dim_ordering": "tf"}, (3, 4, 5, 2),
     lambda L: L.UpSampling3D((1, 2, 3))),
    ("ZeroPadding1D", {"padding": 2}, (11, 3), lambda L: L.ZeroPadding1D(2)),
    ("ZeroPadding1D", {"padding": {"left_pad": 1, "right_pad": 3}}, (11, 3), lambda L: L.ZeroPadding1D((1, 3))),
    ("ZeroPadding2D", {"padding": [1, 2, 0, 3], "dim_ordering": "tf"}, (7, 9, 3),
     lambda L: L.ZeroPadding2D(((1, 2), (0, 3)))),
    ("ZeroPadding2D", {"padding": {"top_pad": 2, "right_pad": 1}, "dim_ordering": "th"}, (3, 7, 9),
     lambda L: L.ZeroPadding2D(((2, 0), (0, 1)), data_format="channels_first")),
    ("ZeroPadding2D", {"padding": [1, 2], "dim_ordering": "th"}, (3, 7, 9),
     lambda L: L.ZeroPadding2D((1, 2), data_format="channels_first")),
    ("ZeroPadding3D", {"padding": [1, 2, 0], "dim_ordering": "th"}, (2, 5, 6, 7),
     lambda L: L.ZeroPadding3D((1, 2, 0), data_format="channels_first")),
    ("Cropping1D", {"cropping": [2, 0]}, (11, 3), lambda L: L.Cropping1D((2, 0))),
    ("Cropping2D", {"cropping": [[0, 1], [2, 3]], "dim_ordering": "th"}, (3, 7, 9),
     lambda L: L.Cropping2D(((0, 1), (2, 3)), data_format="channels_first")),
    ("Cropping2D", {"cropping": 2}, (7, 9, 3), lambda L: L.Cropping2D(2)),
    ("Cropping3D", {"cropping": [[1, 1], [0, 2], [3, 0]], "dim_ordering": "tf"}, (5, 6, 7, 2),
     lambda L: L.Cropping3D(((1, 1), (0, 2), (3, 0)))),
    ("Permute", {"dims": [2, 4, 3, 1]}, (2, 3, 4, 5), lambda L: L.Permute((2, 4, 3, 1))),
    ("RepeatVector", {"n": 3}, (5,), lambda L: L.RepeatVector(3)),
    ("Flatten", {"data_format": "channels_first"}, (3, 5), lambda L: L.Flatten(data_format="channels_first")),
    ("Flatten", {"data_format": "channels_first"}, (2, 3, 4, 5),
     lambda L: L.Flatten(data_format="channels_first")),
]


@pytest.mark.parametrize("index", range(len(LEGACY)), ids=[f"{c[0]}-{i}" for i, c in enumerate(LEGACY)])
def test_keras1_and_2_configs_equal_keras3(index, kwbin_run, tmp_path):  # noqa: F811
    cls, config, shape, make = LEGACY[index]
    keras = _keras()
    x = np.random.default_rng(index).normal(0, 1, (2, *shape)).astype(np.float32)
    _chain_file(tmp_path / "m.kwb", shape, cls, config)
    got = _infer(kwbin_run, tmp_path / "m.kwb", x, tmp_path)
    assert _difference(got, _keras3(make(keras.layers), x)) <= TOLERANCE


def test_bilinear_upsampling_uses_half_pixel_centres(kwbin_run, tmp_path):  # noqa: F811
    """A ramp 0, 1, 2 up-sampled by 2: (o + 0.5) / 2 - 0.5 clamped, so the ends repeat."""
    _chain_file(tmp_path / "m.kwb", (1, 3, 1), "UpSampling2D", {"size": [1, 2], "interpolation": "bilinear"},
                "keras3")
    got = _infer(kwbin_run, tmp_path / "m.kwb", np.arange(3, dtype=np.float32).reshape(1, 1, 3, 1), tmp_path)
    assert got.ravel().tolist() == [0.0, 0.25, 0.75, 1.25, 1.75, 2.0]


@pytest.mark.parametrize("version, expected", [
    ("2.2.4", [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]),  # standalone Keras 2: TensorFlow 1's resize_bilinear, o * in / out
    ("2.3.1", [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]),
    ("2.3.0-tf", [0.0, 0.25, 0.75, 1.25, 1.75, 2.0]),  # tf.keras: half-pixel centres
    ("2.13.1", [0.0, 0.25, 0.75, 1.25, 1.75, 2.0]),
    ("3.15.1", [0.0, 0.25, 0.75, 1.25, 1.75, 2.0]),
])
def test_bilinear_upsampling_of_standalone_keras2_has_no_half_pixel_centres(version, expected, kwbin_run,  # noqa: F811
                                                                             tmp_path):
    with kwbin.Writer(tmp_path / "m.kwb", metadata={"keras_version": version}) as w:
        w.add_layer("input", "InputLayer", config={"batch_input_shape": [None, 3, 3, 1]})
        w.add_layer("up", "UpSampling2D", config={"size": [1, 2], "interpolation": "bilinear",
                                                  "data_format": "channels_last"})
    x = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8]], np.float32).reshape(1, 3, 3, 1)
    got = _infer(kwbin_run, tmp_path / "m.kwb", x, tmp_path).reshape(3, 6)
    assert got.tolist() == [[v + 3 * r for v in expected] for r in range(3)]


def test_average_pooling_same_divides_by_the_taps_inside(kwbin_run, tmp_path):  # noqa: F811
    _chain_file(tmp_path / "m.kwb", (4, 1), "AveragePooling1D", {"pool_size": 3, "strides": 1, "padding": "same"})
    got = _infer(kwbin_run, tmp_path / "m.kwb", np.array([[[1], [2], [3], [10]]], np.float32), tmp_path)
    assert got.ravel().tolist() == [1.5, 2.0, 5.0, 6.5]


def test_pooling_3d_cost_counts_the_taps_visited(probe, tmp_path):  # noqa: F811
    """pool 2^30 'same', strides 1, channels_first, 2 x 2 x 3 on 2 channels: each output visits the 12 inputs."""
    _chain_file(tmp_path / "m.kwb", (2, 2, 2, 3), "MaxPooling3D",
                {"pool_size": [2**30] * 3, "strides": 1, "padding": "same", "data_format": "channels_first"})
    out = _probe(probe, tmp_path / "m.kwb", 10**6)
    assert int(out["taps"]) == 2 * 12 * 12  # channels x outputs x taps inside
    assert int(out["cost"]) == 2 * 12 * 12 + 24 == int(out["layer_sum"])
    x = np.arange(24, dtype=np.float32).reshape(2, 12)
    got = np.array(out["output"].split(), dtype=np.float32).reshape(2, 12)
    assert np.array_equal(got, np.repeat(x.max(axis=1, keepdims=True), 12, axis=1))


# ---------------------------------------------------------------------------
# Bad configs: one line naming the layer, its class and the option
# ---------------------------------------------------------------------------

BAD = [
    ("UpSampling2D", {"size": 2, "interpolation": "bicubic"}, (4, 4, 1),
     "layer 'layer' (UpSampling2D): unsupported interpolation \"bicubic\""),
    ("UpSampling1D", {"size": 2, "interpolation": "bilinear"}, (4, 1),
     "layer 'layer' (UpSampling1D): unsupported interpolation \"bilinear\""),
    ("MaxPooling2D", {"pool_size": 2, "data_format": "channels_middle"}, (4, 4, 1),
     "layer 'layer' (MaxPooling2D): unsupported data_format \"channels_middle\""),
    ("ZeroPadding2D", {"padding": 1, "dim_ordering": "xy"}, (4, 4, 1),
     "layer 'layer' (ZeroPadding2D): unsupported dim_ordering \"xy\""),
    ("Cropping2D", {"cropping": [[2, 2], [0, 0]]}, (4, 4, 1),
     "layer 'layer' (Cropping2D): crops all of its input (4, 4, 1)"),
    ("ZeroPadding2D", {"padding": [[1, 2, 3], [0, 0]]}, (4, 4, 1),
     "layer 'layer' (ZeroPadding2D): config key 'padding' is [[1,2,3],[0,0]], expected ints or pairs"),
    ("ZeroPadding3D", {"padding": [1, -1, 0]}, (4, 4, 4, 1),
     "layer 'layer' (ZeroPadding3D): config key 'padding' is [1,-1,0], expected ints or pairs"),
    ("Cropping1D", {"cropping": [1, 2, 3]}, (9, 1),
     "layer 'layer' (Cropping1D): config key 'cropping' is [1,2,3], expected an int or a pair"),
    ("Permute", {"dims": [1, 1]}, (3, 4), "layer 'layer' (Permute): config key 'dims' is [1,1], expected a "
     "permutation"),
    ("Permute", {"dims": [2, 1, 3]}, (3, 4), "layer 'layer' (Permute): config 'dims' is not a permutation"),
    ("RepeatVector", {"n": 2}, (3, 4), "layer 'layer' (RepeatVector): needs an input of rank 1, gets (3, 4)"),
    ("RepeatVector", {"n": 0}, (3,), "layer 'layer' (RepeatVector): config has no positive 'n'"),
    ("MaxPooling3D", {"pool_size": 2}, (4, 4, 1),
     "layer 'layer' (MaxPooling3D): needs an input of rank 4 (spatial axes, channels), gets (4, 4, 1)"),
    ("AveragePooling1D", {"pool_size": 5, "padding": "valid"}, (4, 1),
     "layer 'layer' (AveragePooling1D): its window is larger than its input (4, 1)"),
    ("MaxPooling1D", {"pool_size": 2, "padding": "causal"}, (4, 1),
     "layer 'layer' (MaxPooling1D): unsupported padding \"causal\""),
    ("UpSampling3D", {"size": [2, 0, 2]}, (2, 2, 2, 1),
     "layer 'layer' (UpSampling3D): config key 'size' is [2,0,2], expected a list of positive sizes"),
    ("GlobalAveragePooling2D", {"keepdims": "yes"}, (4, 4, 1),
     "layer 'layer' (GlobalAveragePooling2D): config key 'keepdims' is \"yes\", expected true or false"),
]


@pytest.mark.parametrize("index", range(len(BAD)), ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD)])
def test_bad_configs_are_refused_in_one_line(index, kwbin_run, tmp_path):  # noqa: F811
    cls, config, shape, message = BAD[index]
    _chain_file(tmp_path / "m.kwb", shape, cls, config, "keras3")
    np.save(tmp_path / "x.npy", np.zeros((1, *shape), np.float32))
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", tmp_path / "x.npy", tmp_path / "y.npy"), 1)
    assert message in line
