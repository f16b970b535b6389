"""The tf.keras recurrent fixtures of tests/data/tfrnn (issue #14).

The files were made in .venv-tf by tests/data/tfrnn/make_fixtures.py (see its
MANIFEST.md); no TensorFlow here.  For every case: `kwbin pack` takes the .h5,
every layer of the model config is in the file with its class, and the weights
are bit-identical to the .h5's, in the .h5's order.  The recurrent facts the
MANIFEST states for C (gate order, GRU reset_after, go_backwards, the CuDNN
layout) are checked by a NumPy LSTM/GRU run on the packed weights against the
committed tf.keras outputs.  C is tested elsewhere.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
import pytest

import kwbin
from tfkeras_cases import DATA, check_arrays, h5_model_config, index, pack_all

FOLDER = "tfrnn"
INDEX = index(FOLDER)
CASES: dict[str, dict[str, Any]] = INDEX["cases"]


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    return pack_all(FOLDER, CASES, tmp_path_factory.mktemp("tfrnn"))


def _h5_weights(path) -> dict[str, list[np.ndarray]]:
    """Per layer of the .h5, its weights in the order of the layer's weight_names."""
    out = {}
    with h5py.File(path, "r") as f:
        group = f["model_weights"]
        for layer in group.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            names = [n.decode() if isinstance(n, bytes) else n for n in group[layer].attrs["weight_names"]]
            out[layer] = [np.asarray(group[layer][n]) for n in names]
    return out


def test_the_fixtures_cover_the_brief():
    classes = {c for case in CASES.values() for c in case["layers"]}
    assert {"LSTM", "GRU", "SimpleRNN", "Bidirectional", "CuDNNLSTM", "CuDNNGRU"} <= classes
    modes = {name.split("_", 1)[1] for name in CASES if name.startswith("bidirectional_")}
    assert {"concat", "sum", "mul", "ave", "none"} <= modes
    variable = CASES["stacked_lstm_none_time"]
    config = h5_model_config(DATA / FOLDER / variable["model"])
    assert config["config"]["layers"][0]["config"]["batch_input_shape"] == [None, None, 6]
    lengths = [variable["time_steps"]] + [r["time_steps"] for r in variable["more_runs"]]
    assert len(set(lengths)) == len(lengths) >= 3


@pytest.mark.parametrize("name", sorted(CASES))
def test_kwbin_pack_keeps_every_layer_and_the_weights_bit_for_bit(packed, name):
    case = CASES[name]
    check_arrays(FOLDER, case)
    result, target = packed[name]
    assert result.returncode == 0, result.stderr
    config = h5_model_config(DATA / FOLDER / case["model"])
    expected = _h5_weights(DATA / FOLDER / case["model"])
    with kwbin.open(target) as f:
        f.verify()
        layers = {layer.name: layer for layer in f.layers if layer.parent is None}
        assert {e["name"]: e["class_name"] for e in config["config"]["layers"]} == {
            n: layer.class_name for n, layer in layers.items()}
        for layer_name, arrays in expected.items():  # a TimeDistributed model's: its layers' (rows under it)
            got = [f[t] for layer in f.layers if layer.name == layer_name or layer.name.startswith(layer_name + "/")
                   for t in layer.tensors]
            assert len(got) == len(arrays), layer_name
            for a, b in zip(got, arrays):
                assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), layer_name


# A NumPy reference of the recurrent facts the MANIFEST gives the C side.

def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _cudnn_to_plain(kernel, recurrent, gates):
    """cuDNN's per-gate layout -> the plain layer's (see MANIFEST.md, 'CuDNN weights')."""
    k = np.hstack([b.T.reshape(b.shape, order="F") for b in np.hsplit(kernel, gates)])
    r = np.hstack([b.T for b in np.hsplit(recurrent, gates)])
    return k, r


def _lstm(x, kernel, recurrent, bias, backwards=False):
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    outs = []
    steps = range(x.shape[1])
    for t in reversed(steps) if backwards else steps:
        i, f, g, o = np.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=1)  # gates i, f, c, o
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1)  # in processing order


def _gru(x, kernel, recurrent, bias, reset_after):
    units = recurrent.shape[0]
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    h = np.zeros((x.shape[0], units))
    outs = []
    for t in range(x.shape[1]):
        xi = x[:, t] @ kernel + b_in
        if reset_after:
            hr = h @ recurrent + b_rec
            z = _sigmoid(xi[:, :units] + hr[:, :units])
            r = _sigmoid(xi[:, units:2 * units] + hr[:, units:2 * units])
            cand = np.tanh(xi[:, 2 * units:] + r * hr[:, 2 * units:])
        else:
            z = _sigmoid(xi[:, :units] + h @ recurrent[:, :units])
            r = _sigmoid(xi[:, units:2 * units] + h @ recurrent[:, units:2 * units])
            cand = np.tanh(xi[:, 2 * units:] + (r * h) @ recurrent[:, 2 * units:])
        h = z * h + (1 - z) * cand
        outs.append(h)
    return np.stack(outs, axis=1)


@pytest.mark.parametrize("name, layer", [("lstm", "lstm"), ("lstm_sequences_backwards", "lstm"),
                                         ("cudnn_lstm", "lstm"), ("gru_reset_after", "gru"),
                                         ("gru_reset_before", "gru"), ("cudnn_gru", "gru")])
def test_a_numpy_recurrence_on_the_packed_weights_gives_the_tf_keras_outputs(packed, name, layer):
    case = CASES[name]
    with kwbin.open(packed[name][1]) as f:
        cls = next(item.class_name for item in f.layers if item.name == layer)
        kernel, recurrent, bias = (f[f"{layer}/{w}"].astype(np.float64) for w in ("kernel", "recurrent_kernel", "bias"))
        config = next(item.config for item in f.layers if item.name == layer)
    x = np.load(DATA / FOLDER / case["inputs"][0]["file"]).astype(np.float64)
    expected = np.load(DATA / FOLDER / case["outputs"][0]["file"])
    if cls == "CuDNNLSTM":
        kernel, recurrent = _cudnn_to_plain(kernel, recurrent, 4)
        bias = bias[: bias.size // 2] + bias[bias.size // 2:]
    elif cls == "CuDNNGRU":
        kernel, recurrent = _cudnn_to_plain(kernel, recurrent, 3)
        bias = bias.reshape(2, -1)
    if layer == "lstm":
        got = _lstm(x, kernel, recurrent, bias, backwards=config.get("go_backwards", False))
    else:
        got = _gru(x, kernel, recurrent, bias, reset_after=bias.ndim == 2)
    if not config["return_sequences"]:
        got = got[:, -1]
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= case["tolerance"]
