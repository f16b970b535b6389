"""Deterministic Keras 3 workloads for the packing benchmark, written without Keras.

A workload is a Sequential MLP: an ``InputLayer`` of width ``D`` then ``n``
Dense layers whose widths are drawn (seeded) from a range, so tensor shapes
vary.  The files are laid out exactly as Keras 3.15 writes them
(``keras/src/saving/saving_lib.py``, ``H5IOStore``):

- ``model.weights.h5``: the model's own (empty) ``vars`` group first, with
  attribute ``name`` = the model name, then ``layers/<group>/vars`` per layer,
  group names ``dense``, ``dense_1``, ... (snake_case class + per-class
  counter), each ``vars`` group with attribute ``name`` = the layer name
  (a scalar variable-length UTF-8 string, h5py's default for ``str``), and
  contiguous, uncompressed datasets ``0`` (kernel, (in, out) float32) and
  ``1`` (bias, (out,) float32), written with ``group[key] = array``;
- ``config.json``: ``json.dumps`` of the serialized model, as Keras writes it;
- ``model.keras``: a ZIP_STORED zip of ``metadata.json``, ``config.json`` and
  ``model.weights.h5`` in that order (Keras uses ``zf.open(name, "w")`` for
  the JSON members and ``zf.write``/``writestr`` for the weights).

Tensor ``i`` comes from its own seeded generator, so any process can
regenerate it alone.  h5py is imported only by the writer, never by the
timed children through this module.
"""

from __future__ import annotations

import datetime
import json
import os
import zipfile
import zlib

import numpy as np

SEED = 20240607
DTYPE = np.dtype("<f4")
KERAS_VERSION = "3.15.1"  # what metadata.json claims; the file layout is 3.15's
MODEL_NAME = "big"

#: name -> (Dense layers, input width D, min units, max units)
WORKLOADS = {
    "quick": (40, 2048, 576, 1024),  # ~100 MB
    "full": (80, 4096, 896, 1280),  # ~400 MB
}

WEIGHTS = "model.weights.h5"
CONFIG = "config.json"
ARCHIVE = "model.keras"


def units(workload: str) -> tuple[int, list[int]]:
    """(input width D, units of every Dense layer), deterministic per workload."""
    n, width, lo, hi = WORKLOADS[workload]
    rng = np.random.default_rng([SEED, zlib.crc32(workload.encode())])
    return width, [int(u) // 32 * 32 for u in rng.integers(lo, hi + 1, size=n)]


def layer_names(n: int) -> list[str]:
    """Keras 3's auto names (and group names) of n Dense layers: dense, dense_1, ..."""
    return ["dense" if i == 0 else f"dense_{i}" for i in range(n)]


def specs(workload: str) -> list[dict]:
    """Every tensor in file order: layer, dataset path, canonical kwbin name, shape."""
    width, outs = units(workload)
    ins = [width] + outs[:-1]
    out = []
    for name, fan_in, fan_out in zip(layer_names(len(outs)), ins, outs):
        for index, (weight, shape) in enumerate((("kernel", (fan_in, fan_out)), ("bias", (fan_out,)))):
            out.append({
                "layer": name,
                "dataset": f"layers/{name}/vars/{index}",
                "kwbin": f"{name}/{weight}",
                "shape": shape,
            })
    return out


def make_tensor(workload: str, index: int, shape: tuple[int, ...]) -> np.ndarray:
    """Tensor ``index`` of ``workload``: standard normal float32, seeded per tensor."""
    rng = np.random.default_rng([SEED, zlib.crc32(workload.encode()), index])
    return rng.standard_normal(shape, dtype=np.float32)


def iter_tensors(workload: str):
    """Yield ``(spec, array)`` one at a time."""
    for i, spec in enumerate(specs(workload)):
        yield spec, make_tensor(workload, i, spec["shape"])


def summary(workload: str) -> dict:
    all_specs = specs(workload)
    sizes = [int(np.prod(s["shape"])) * DTYPE.itemsize for s in all_specs]
    big = max(range(len(sizes)), key=sizes.__getitem__)
    width, outs = units(workload)
    return {
        "dense_layers": len(outs),
        "input_width": width,
        "units_min_max": [min(outs), max(outs)],
        "tensors": len(sizes),
        "payload_bytes": sum(sizes),
        "largest_tensor_bytes": sizes[big],
        "largest_tensor": f"{all_specs[big]['dataset']} {tuple(all_specs[big]['shape'])}",
        "dtype": DTYPE.name,
        "seed": SEED,
    }


# ---------------------------------------------------------------------------
# The model config, as Keras 3.15's serialize_keras_object writes it
# ---------------------------------------------------------------------------


def _policy() -> dict:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
            "registered_name": None}


def _dense(name: str, units_: int, activation: str, fan_in: int) -> dict:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": _policy(),
            "units": units_,
            "activation": activation,
            "use_bias": True,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "config": {"seed": None, "input_axes": None, "output_axes": None},
                                   "registered_name": None},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                 "config": {}, "registered_name": None},
            "kernel_regularizer": None,
            "bias_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
            "quantization_config": None,
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, fan_in]},
    }


def model_config(workload: str) -> dict:
    width, outs = units(workload)
    ins = [width] + outs[:-1]
    names = layer_names(len(outs))
    layers = [{
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, width], "dtype": "float32", "sparse": False,
                   "ragged": False, "name": "input_layer", "optional": False},
        "registered_name": None,
    }]
    for i, (name, fan_in, fan_out) in enumerate(zip(names, ins, outs)):
        layers.append(_dense(name, fan_out, "linear" if i == len(outs) - 1 else "relu", fan_in))
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": MODEL_NAME, "trainable": True, "dtype": _policy(), "layers": layers,
                   "build_input_shape": [None, width]},
        "registered_name": None,
        "build_config": {"input_shape": [None, width]},
        "compile_config": {},
    }


# ---------------------------------------------------------------------------
# Writers (h5py imported here only)
# ---------------------------------------------------------------------------


def write_weights(workload: str, path: str) -> None:
    """``model.weights.h5`` exactly as Keras 3.15's H5IOStore lays it out; fsync'ed."""
    import h5py

    with h5py.File(path, "w") as f:
        # _save_state visits the model first: its own (empty) vars, with its name.
        f.create_group("vars").attrs["name"] = MODEL_NAME
        group = None
        for spec, arr in iter_tensors(workload):
            if spec["dataset"].endswith("/0"):
                group = f.create_group(f"layers/{spec['layer']}").create_group("vars")
                group.attrs["name"] = spec["layer"]
            group[spec["dataset"].rsplit("/", 1)[1]] = arr
            del arr
    _fsync(path)


def write_all(workload: str, workdir: str) -> dict:
    """Write the three inputs; returns their sizes."""
    os.makedirs(workdir, exist_ok=True)
    weights = os.path.join(workdir, WEIGHTS)
    write_weights(workload, weights)
    config_json = json.dumps(model_config(workload))
    with open(os.path.join(workdir, CONFIG), "w") as f:
        f.write(config_json)
    metadata_json = json.dumps({
        "keras_version": KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    })
    archive = os.path.join(workdir, ARCHIVE)
    with zipfile.ZipFile(archive, "w") as zf:  # ZIP_STORED, Keras's default
        with zf.open("metadata.json", "w") as member:
            member.write(metadata_json.encode())
        with zf.open(CONFIG, "w") as member:
            member.write(config_json.encode())
        # Keras's large-model path: the weights go to a file first, then zf.write.
        zf.write(weights, WEIGHTS)
    _fsync(archive)
    return {name: os.path.getsize(os.path.join(workdir, name)) for name in (WEIGHTS, CONFIG, ARCHIVE)}


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
