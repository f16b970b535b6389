"""Keras 1 recurrent files in C: per-gate weights (W_i, U_i, b_i, ... for LSTM gates i, c, f, o; W_z,
... for GRU gates z, r, h; SimpleRNN's W, U, b) are packed by the importer under those names and
repacked at load into the fused kernels, as tf-keras's preprocess_weights_for_loading converts
Keras 1 weights (LSTM: [i, f, c, o]; GRU: [z, r, h], Keras 1's GRU being reset_after=False).

The files are Keras 1.2.2 `model.save` HDF5 files written here with h5py (model_config a Sequential
in Keras 1's form, model_weights/<layer>/<layer>_W_i, ...); the truth is Keras 3's own LSTM / GRU /
SimpleRNN given the converted weights, with Keras 1's activations (hard_sigmoid in its clip(0.2 x
+ 0.5, 0, 1) form). kwbin pack, then build/kwbin-run, equal its predict within 1e-5.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from test_c_inference import TOLERANCE, _difference, _infer, _keras, kwbin_run  # noqa: F401

GATES = {"LSTM": "icfo", "GRU": "zrh", "SimpleRNN": ""}  # Keras 1's order in the file
FUSED = {"LSTM": "ifco", "GRU": "zrh"}  # Keras 2's fused order


def _keras1_file(path: Path, cls: str, steps: int, features: int, units: int, sequences: bool, weights: dict):
    name = f"{cls.lower()}_1"
    layer = {"name": name, "trainable": True, "batch_input_shape": [None, steps, features], "input_dtype": "float32",
             "output_dim": units, "activation": "tanh", "return_sequences": sequences, "go_backwards": False,
             "stateful": False, "unroll": False, "consume_less": "cpu", "input_dim": features, "input_length": steps,
             "init": "glorot_uniform", "inner_init": "orthogonal", "W_regularizer": None, "U_regularizer": None,
             "b_regularizer": None, "dropout_W": 0.0, "dropout_U": 0.0}
    if cls != "SimpleRNN":
        layer["inner_activation"] = "hard_sigmoid"
    config = {"class_name": "Sequential", "config": [{"class_name": cls, "config": layer}]}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = np.bytes_(b"1.2.2")
        f.attrs["model_config"] = np.bytes_(json.dumps(config).encode())
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = np.array([name.encode()])
        lg = g.create_group(name)
        names = [f"{name}_{w}" for w in weights]
        lg.attrs["weight_names"] = np.array([n.encode() for n in names])
        for n, w in zip(names, weights.values()):
            lg.create_dataset(n, data=w)


def _hard_sigmoid_keras2(x):
    ops = _keras().ops
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


@pytest.mark.parametrize("cls,sequences", [("LSTM", False), ("LSTM", True), ("GRU", True), ("SimpleRNN", False)])
def test_keras1_recurrent_file(kwbin_run, tmp_path, cls, sequences):  # noqa: F811
    from kwbin.keras import pack

    keras = _keras()
    keras.backend.clear_session()
    steps, features, units = 6, 3, 4
    rng = np.random.default_rng(len(cls) + sequences)
    weights: dict[str, np.ndarray] = {}
    if cls == "SimpleRNN":
        for k, shape in (("W", (features, units)), ("U", (units, units)), ("b", (units,))):
            weights[k] = rng.normal(0, 0.5, shape).astype(np.float32)
        fused = [weights["W"], weights["U"], weights["b"]]
        layer = keras.layers.SimpleRNN(units, return_sequences=sequences)
    else:
        for gate in GATES[cls]:
            for k, shape in (("W", (features, units)), ("U", (units, units)), ("b", (units,))):
                weights[f"{k}_{gate}"] = rng.normal(0, 0.5, shape).astype(np.float32)
        fused = [np.concatenate([weights[f"{k}_{g}"] for g in FUSED[cls]], axis=-1) for k in "WUb"]
        extra = {"reset_after": False} if cls == "GRU" else {}
        layer = getattr(keras.layers, cls)(units, recurrent_activation=_hard_sigmoid_keras2,
                                           return_sequences=sequences, **extra)
    model = keras.Sequential([keras.Input((steps, features)), layer])
    model.layers[0].set_weights(fused)
    _keras1_file(tmp_path / "k1.h5", cls, steps, features, units, sequences, weights)
    pack(tmp_path / "k1.h5", tmp_path / "k1.kwb")
    x = rng.normal(0, 1, (3, steps, features)).astype(np.float32)
    assert _difference(_infer(kwbin_run, tmp_path / "k1.kwb", x, tmp_path), model.predict(x, verbose=0)) <= TOLERANCE
