"""Live Keras models <-> kwbin.  Only this module imports Keras (lazily).

``save_model`` saves through Keras's own file format and packs that file, so
a live model and a file on disk go through exactly the same importer.
``load_weights`` assigns a kwbin file's tensors to a model's variables, by
layer name (default) or by the order of the layers that have weights.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any

import numpy as np

from ..reader import open as open_kwbin
from .errors import LoadWeightsError
from .legacy import relative_weight_name
from .model import canonical_names
from .pack import pack

def _is_tf_keras(model: Any) -> bool:
    return type(model).__module__.startswith(("tf_keras", "keras.src.engine", "tensorflow"))


def save_model(model: Any, out: str | os.PathLike[str]) -> str:
    """Write a live Keras 3 or tf.keras model's weights and config to ``out``."""
    with tempfile.TemporaryDirectory(prefix="kwbin-") as tmp:
        if _is_tf_keras(model):
            path = os.path.join(tmp, "model.h5")
            with warnings.catch_warnings():
                # tf.keras calls HDF5 "legacy"; it is the format kwbin reads for it.
                warnings.filterwarnings("ignore", message=".*saving your model as an HDF5 file")
                model.save(path)
        else:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
        return pack(path, out)


def _layers(model: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(qualified name, layer) for every layer, nested models expanded, in model order."""
    out = []
    for layer in model.layers:
        name = f"{prefix}{layer.name}"
        out.append((name, layer))
        if hasattr(layer, "layers") and layer.__class__.__name__ in ("Sequential", "Functional", "Model"):
            out.extend(_layers(layer, f"{name}/"))
    return out


def _own_weights(layer: Any) -> list[Any]:
    nested = hasattr(layer, "layers") and layer.__class__.__name__ in ("Sequential", "Functional", "Model")
    return [] if nested else list(layer.weights)


def _weight_names(layer: Any, weights: list[Any]) -> list[str]:
    """Canonical names of a layer's variables, as the packer gives them.

    Keras 3 variables have a ``path`` (``dense/kernel``); tf.keras ones only a
    TensorFlow ``name`` (``dense/kernel:0``): both go through the same rule
    as the HDF5 weight names of legacy files.
    """
    return canonical_names([relative_weight_name(getattr(v, "path", None) or v.name, layer.name) for v in weights])


def load_weights(model: Any, kwb_path: str | os.PathLike[str], *, by_name: bool = True) -> None:
    """Set ``model``'s weights from a kwbin file.

    ``by_name``: match layers by (qualified) name; otherwise take the layers
    that have weights in order, as Keras's legacy loader does (useful across
    Keras generations, whose automatic layer names differ).  A tensor that
    is missing or whose shape differs from the model's variable raises
    ``LoadWeightsError`` (a ``PackError`` and a ``ValueError``) before any
    weight of that layer is set.
    """
    with open_kwbin(kwb_path) as f:
        weighted = [(n, l) for n, l in _layers(model) if _own_weights(l)]
        stored = [layer for layer in f.layers if layer.tensors]
        if not by_name and len(stored) != len(weighted):
            raise LoadWeightsError(f"{kwb_path}: {len(stored)} layers have weights, the model has {len(weighted)}")
        for position, (name, layer) in enumerate(weighted):
            source = stored[position].name if not by_name else name
            weights = _own_weights(layer)
            names = _weight_names(layer, weights)
            values = []
            for weight_name, variable in zip(names, weights):
                key = (source, weight_name)
                if key not in f:
                    raise LoadWeightsError(
                        f"{kwb_path}: no tensor for layer {source!r} weight {weight_name!r}",
                        layer=source, weight=weight_name,
                    )
                array = np.array(f[key])
                found, expected = tuple(array.shape), tuple(int(d) for d in variable.shape)
                if found != expected:
                    raise LoadWeightsError(
                        f"{kwb_path}: layer {source!r} weight {weight_name!r} has shape {found}, "
                        f"the model's variable {expected}",
                        layer=source, weight=weight_name, found=found, expected=expected,
                    )
                values.append(array)
            layer.set_weights(values)
