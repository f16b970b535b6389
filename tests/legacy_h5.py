"""Writing Keras 2 / tf.keras style HDF5 files from a live Keras 3 model, for tests.

The layout follows tf.keras's ``save_weights_to_hdf5_group``: root attributes
``layer_names`` (optionally split into ``layer_names0``, ``layer_names1``, ...
as Keras does past 64 KiB), one group per layer with ``weight_names``
(an empty float64 array for weightless layers), datasets named after the
TensorFlow variables (``dense/kernel:0``), a nested model's weights all under
its own group.  String attributes can be written in each encoding real
files use.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np


def _encode(names: list[str], encoding: str) -> Any:
    if not names:
        return np.array([], dtype=np.float64)  # what Keras writes for no weights
    if encoding == "str":
        return np.array(names, dtype=h5py.string_dtype())
    if encoding == "fixed_bytes":
        return np.array([n.encode("utf-8") for n in names])  # |S<n>, as h5py 2 / Keras 2.1
    if encoding == "bytes_objects":
        return np.array([np.bytes_(n.encode("utf-8")) for n in names], dtype=object).astype("S")
    raise ValueError(encoding)


def write_list(attrs: Any, name: str, values: list[str], encoding: str, chunk: int | None) -> None:
    if chunk is None or len(values) <= chunk:
        attrs[name] = _encode(values, encoding)
        return
    for i in range(0, len(values), chunk):
        attrs[f"{name}{i // chunk}"] = _encode(values[i : i + chunk], encoding)


def keras2_config(model: Any) -> dict[str, Any]:
    """A tf.keras style model config: inbound nodes as [[name, node, tensor, {}], ...]."""
    config = model.get_config()

    def convert_nodes(nodes: list[Any]) -> list[Any]:
        out = []
        for node in nodes:
            refs = []
            stack = [node]
            while stack:
                item = stack.pop(0)
                if isinstance(item, dict):
                    history = item.get("config", {}).get("keras_history") if item.get("class_name") == "__keras_tensor__" else None
                    if history:
                        refs.append([history[0], history[1], history[2], {}])
                        continue
                    stack.extend(item.values())
                elif isinstance(item, list):
                    stack.extend(item)
            out.append(refs)
        return out

    def convert(cfg: dict[str, Any]) -> dict[str, Any]:
        for layer in cfg.get("layers", []):
            if "inbound_nodes" in layer:
                layer["inbound_nodes"] = convert_nodes(layer["inbound_nodes"])
            if layer.get("class_name") in ("Functional", "Sequential"):
                convert(layer["config"])
        return cfg

    return {"class_name": "Functional" if model.__class__.__name__ != "Sequential" else "Sequential",
            "config": convert(json.loads(json.dumps(config)))}


def _variables(layer: Any, scope: str) -> list[tuple[str, np.ndarray]]:
    """(TF-style variable name, value) in get_weights() order."""
    out = []
    for v in layer.weights:
        parts = v.path.split("/")
        out.append(("/".join(parts[parts.index(scope):]) + ":0", v.numpy()))
    return out


def write_keras2_h5(
    path: str,
    model: Any,
    *,
    encoding: str = "str",
    chunk: int | None = None,
    full_model: bool = True,
    keras_version: str = "2.15.0",
) -> None:
    with h5py.File(path, "w") as f:
        if full_model:
            f.attrs["keras_version"] = keras_version
            f.attrs["backend"] = "tensorflow"
            f.attrs["model_config"] = json.dumps(keras2_config(model))
            root = f.create_group("model_weights")
        else:
            root = f
        root.attrs["keras_version"] = keras_version
        root.attrs["backend"] = "tensorflow"
        write_list(root.attrs, "layer_names", [layer.name for layer in model.layers], encoding, chunk)
        for layer in model.layers:
            group = root.create_group(layer.name)
            nested = layer.__class__.__name__ in ("Sequential", "Functional")
            pairs = []
            if nested:
                for sub in layer.layers:
                    pairs += _variables(sub, sub.name)
            else:
                pairs = _variables(layer, layer.name)
            write_list(group.attrs, "weight_names", [n for n, _ in pairs], encoding, chunk)
            for name, value in pairs:
                group.create_dataset(name, data=value)
