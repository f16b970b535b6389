"""Keras 1, Keras 2 and tf.keras HDF5 files (full models and ``save_weights``).

Layout: a weights root (``/model_weights`` in a full-model file, ``/`` in a
weights-only file) whose ``layer_names`` attribute lists the layers in model
order; one group per layer whose ``weight_names`` attribute lists its
datasets in ``get_weights()`` order (never rely on the alphabetical listing).
Weight names are ``dense/kernel:0`` (tf.keras), ``dense_1/kernel`` (Keras 2 on
Theano) or ``dense_1_W`` (Keras 1); all become canonical names.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import h5py

from . import variables
from .config import ConfigLayer, flatten, top_level
from .errors import PackError
from .h5attrs import has_list, read_list
from .model import Layer, Weight, canonical_names
from .shapes import check_shapes

#: Keras 1 short weight names -> canonical names, per class ("*" = any class).
KERAS1_NAMES = {
    "*": {"W": "kernel", "b": "bias", "gamma": "gamma", "beta": "beta",
          "running_mean": "moving_mean", "running_std": "moving_variance"},
    "Embedding": {"W": "embeddings"},
    "PReLU": {"alphas": "alpha"},
}  # fmt: skip

_SUFFIX = re.compile(r":\d+$")


def relative_weight_name(weight_name: str, layer_local: str) -> str:
    """``dense/kernel:0`` -> ``kernel``; ``model/dense/kernel:0`` -> ``dense/kernel``."""
    parts = _SUFFIX.sub("", weight_name).split("/")
    if layer_local in parts[:-1]:
        parts = parts[len(parts) - parts[::-1].index(layer_local) :]
    return "/".join(parts)


def is_keras1_weight(weight_name: str, layer_local: str) -> bool:
    return "/" not in weight_name and weight_name.startswith(f"{layer_local}_")


def keras1_name(weight_name: str, layer_local: str, class_name: str) -> str:
    short = weight_name[len(layer_local) + 1 :]
    return KERAS1_NAMES.get(class_name, {}).get(short) or KERAS1_NAMES["*"].get(short, short)


class LegacyReader:
    def __init__(
        self,
        root: h5py.Group,
        name: str,
        config: dict[str, Any] | None,
        checked: Callable[[str], h5py.Dataset | None] | None = None,
    ):
        self.root = root
        self.name = name
        self.config = config
        self.warnings: list[str] = []
        # Datasets already opened (and checked) by path, and layer groups once opened.
        self._checked = checked or (lambda path: None)
        self._groups: dict[str, Any] = {}
        if not has_list(root.attrs, "layer_names"):
            raise PackError(f"{name}: no 'layer_names' attribute: not a Keras 1/2 weights file")
        self.layer_names = read_list(root.attrs, "layer_names")
        self.keras1 = False

    def _group(self, local: str) -> h5py.Group:
        if local not in self._groups:
            try:
                group = self.root[local]
            except KeyError:
                raise PackError(f"{self.name}: layer {local!r} is listed in layer_names but has no group") from None
            if not isinstance(group, h5py.Group):
                raise PackError(f"{self.name}: {group.name} is not a group")
            self._groups[local] = group
        return self._groups[local]

    def _weight_names(self, local: str) -> list[str]:
        return read_list(self._group(local).attrs, "weight_names")

    def _dataset(self, local: str, weight_name: str) -> h5py.Dataset:
        group = self._group(local)
        known = self._checked(f"{group.name}/{weight_name}")
        if known is not None:
            return known
        try:
            ds = group[weight_name]
        except KeyError:
            raise PackError(f"{self.name}: weight {weight_name!r} of layer {local!r} is listed but missing") from None
        if not isinstance(ds, h5py.Dataset):
            raise PackError(f"{self.name}: {ds.name} is not a dataset")
        return ds

    def read(self) -> list[Layer]:
        if self.config is None:
            self.warnings.append("no model config (pass --arch): layer classes and configs are unknown")
            members = [ConfigLayer(n, n, "", {}, None) for n in self.layer_names]
            return [self._layer(m) for m in members]
        flat = flatten(self.config)
        tops = top_level(flat)
        known = {m.local_name for m in tops}
        unknown = [n for n in self.layer_names if n not in known]
        if unknown:
            raise PackError(
                f"{self.name}: the file has weights for layers {', '.join(map(repr, unknown[:5]))} that the "
                f"model config does not have: the architecture does not match these weights"
            )
        out: list[Layer] = []
        for member in tops:
            out.append(self._layer(member))
            if member.is_model or member.wrapped_model is not None:
                out.extend(self._nested(member, flat))
        return out

    def _layer(self, member: ConfigLayer) -> Layer:
        layer = Layer(member.name, member.class_name, member.config or None, member.parent)
        if member.local_name not in self.layer_names:
            expected = variables.layout(member.class_name, member.config)
            if expected and any(expected.values()) and member.class_name != "InputLayer":
                raise PackError(f"{self.name}: layer {member.local_name!r} ({member.class_name}) has no weights in the file")
            return layer
        if member.is_model or member.wrapped_model is not None:
            return layer  # its weights go to its own layers, see _nested
        names = self._weight_names(member.local_name)
        layer.weights = self._weights(member, names)
        self._check_against_config(member, layer)
        return layer

    def _weights(self, member: ConfigLayer, names: list[str]) -> list[Weight]:
        datasets = [self._dataset(member.local_name, n) for n in names]
        if names and all(is_keras1_weight(n, member.local_name) for n in names):
            self.keras1 = True
            canon = [keras1_name(n, member.local_name, member.class_name) for n in names]
        else:
            canon = canonical_names([relative_weight_name(n, member.local_name) for n in names])
        return [Weight(c, ds, ds.name) for c, ds in zip(canon, datasets)]

    def _nested(self, model: ConfigLayer, flat: list[ConfigLayer]) -> list[Layer]:
        """A nested model's weights are all listed under its group; give each to its layer."""
        names = self._weight_names(model.local_name) if model.local_name in self.layer_names else []
        members = [c for c in flat if c.name.startswith(model.name + "/")]
        by_local: dict[str, list[str]] = {}
        for weight_name in names:
            parts = _SUFFIX.sub("", weight_name).split("/")
            owner = next((p for p in reversed(parts[:-1]) if any(m.local_name == p for m in members)), None)
            if owner is None:
                raise PackError(f"{self.name}: weight {weight_name!r} of nested model {model.name!r} names no layer of it")
            by_local.setdefault(owner, []).append(weight_name)
        out = []
        for member in members:
            layer = Layer(member.name, member.class_name, member.config or None, member.parent)
            own = by_local.get(member.local_name, [])
            datasets = [self._dataset(model.local_name, n) for n in own]
            canon = canonical_names([relative_weight_name(n, member.local_name) for n in own])
            layer.weights = [Weight(c, ds, ds.name) for c, ds in zip(canon, datasets)]
            self._check_against_config(member, layer)
            out.append(layer)
        return out

    def _check_against_config(self, member: ConfigLayer, layer: Layer) -> None:
        """Counts and shapes the config implies, for the classes whose rules are clear."""
        if not member.class_name:
            return
        expected = variables.layout(member.class_name, member.config)
        if self.keras1 or expected is None:
            check_shapes(self.name, member, layer)
            return
        want = [n for names in expected.values() for n in names]
        got = [w.name for w in layer.weights]
        if len(want) != len(got):
            raise PackError(
                f"{self.name}: layer {member.name!r} ({member.class_name}) should have {len(want)} weights "
                f"({', '.join(want) or 'none'}) per its config, the file has {len(got)}"
            )
        check_shapes(self.name, member, layer)
