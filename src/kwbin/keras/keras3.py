"""Keras 3 weights: ``.keras`` archives, ``.weights.h5`` files and shards.

The file stores ``layers/<group>/vars/<i>``: groups are named after the class
and a counter over ``model.layers`` (not after the layer), variables are
numbered, not named.  Names come from the model config (``config.json`` or
``--arch``) and the variable table in ``variables.py``; the ``name``
attribute of each ``vars`` group (Keras >= 3.6) cross-checks them.
Without a config, layers keep the file's names, and variables of classes the
table does not know stay positional ("0", "1", ...).
"""

from __future__ import annotations

import re
from typing import Any

import h5py

from . import variables
from .config import ConfigLayer, flatten, model_layers, snake_case, top_level
from .errors import PackError
from .h5attrs import read_text
from .legacy import check_shapes
from .model import Layer, Weight, canonical_names
from .sources import GuardedFile


class Tree:
    """One HDF5 file, or several shards read as one."""

    def __init__(self, files: list[h5py.File], name: str):
        self.files = files
        self.name = name
        # Every path is looked up several times (is it a group? its keys? its
        # datasets?); each h5py lookup opens the object anew, so keep them.
        self._objects: dict[tuple[int, str], Any] = {}
        self._keys: dict[str, list[str]] = {}

    def _get(self, index: int, path: str) -> Any:
        key = (index, path)
        if key not in self._objects:
            f = self.files[index]
            checked = f.dataset(f"/{path}") if isinstance(f, GuardedFile) else None
            self._objects[key] = checked if checked is not None else f.get(path)
        return self._objects[key]

    def _each(self, path: str) -> list[Any]:
        """The object at ``path`` in each file (None where absent)."""
        return [self._get(i, path) for i in range(len(self.files))]

    def _find(self, path: str) -> Any:
        for obj in self._each(path):
            if obj is not None:
                return obj
        return None

    def is_group(self, path: str) -> bool:
        return any(isinstance(obj, h5py.Group) for obj in self._each(path))

    def keys(self, path: str) -> list[str]:
        if path not in self._keys:
            out: list[str] = []
            for group in self._each(path):
                if isinstance(group, h5py.Group):
                    out.extend(k for k in group.keys() if k not in out)
            self._keys[path] = out
        return list(self._keys[path])

    def name_attr(self, vars_path: str) -> str | None:
        for group in self._each(vars_path):
            if isinstance(group, h5py.Group) and "name" in group.attrs:
                return read_text(group.attrs, "name")
        return None

    def datasets(self, vars_path: str) -> list[h5py.Dataset]:
        """The numbered variables of a ``vars`` group, in numeric order."""
        found: dict[int, h5py.Dataset] = {}
        for key in self.keys(vars_path):
            obj = self._find(f"{vars_path}/{key}")
            if isinstance(obj, h5py.Dataset):
                if not key.isdigit():
                    raise PackError(f"{self.name}: unexpected dataset {vars_path}/{key} (expected 0, 1, ...)")
                found[int(key)] = obj
        if sorted(found) != list(range(len(found))):
            raise PackError(f"{self.name}: {vars_path} numbers its variables {sorted(found)}, not 0..{len(found) - 1}")
        return [found[i] for i in range(len(found))]

    def all_datasets(self, path: str) -> list[tuple[str, h5py.Dataset]]:
        """Every dataset below ``path``, with its path relative to it, sorted naturally."""
        out: list[tuple[str, h5py.Dataset]] = []
        for key in self.keys(path):
            full = f"{path}/{key}"
            obj = self._find(full)
            if isinstance(obj, h5py.Dataset):
                out.append((key, obj))
            elif isinstance(obj, h5py.Group):
                out.extend((f"{key}/{sub}", ds) for sub, ds in self.all_datasets(full))
        return sorted(out, key=lambda item: _natural_key(item[0]))


def _natural_key(path: str) -> list[Any]:
    """Sort "vars/10" after "vars/2"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def _group_names(layers: list[ConfigLayer]) -> list[str]:
    """Keras 3's group name of each layer: snake_case(class) plus a per-class counter."""
    used: dict[str, int] = {}
    out = []
    for layer in layers:
        base = snake_case(layer.class_name)
        if base in used:
            used[base] += 1
            out.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            out.append(base)
    return out


class Keras3Reader:
    def __init__(self, tree: Tree, config: dict[str, Any] | None):
        self.tree = tree
        self.config = config
        self.warnings: list[str] = []

    # --- with a model config -------------------------------------------------

    def read(self) -> list[Layer]:
        if self.config is None:
            return self._read_without_config()
        flat = flatten(self.config)
        model_class, _ = model_layers(self.config)
        out: list[Layer] = []
        self._read_model("layers", model_class, top_level(flat), flat, out)
        return out

    def _read_model(
        self, path: str, model_class: str, members: list[ConfigLayer], flat: list[ConfigLayer], out: list[Layer]
    ) -> None:
        # Sequential.layers leaves out the InputLayer; Functional.layers keeps it.
        # Both leave out operation nodes: they get no group and no group name.
        saved = [
            m for m in members
            if not (model_class == "Sequential" and m.class_name == "InputLayer") and not m.is_operation
        ]
        groups = _group_names(saved)
        unclaimed = set(self.tree.keys(path))
        by_name = dict(zip((m.name for m in saved), groups))
        for member in members:
            group = by_name.get(member.name)
            layer = Layer(member.name, member.class_name, member.config, member.parent)
            out.append(layer)
            if group is None:
                continue
            unclaimed.discard(group)
            group_path = f"{path}/{group}"
            stored = self.tree.name_attr(f"{group_path}/vars")
            if stored is not None and stored != member.local_name:
                raise PackError(
                    f"{self.tree.name}: group {group_path} holds layer {stored!r}, but the model config "
                    f"puts {member.local_name!r} ({member.class_name}) there: the architecture does not "
                    f"match these weights"
                )
            wrapped = member.wrapped_model
            if member.is_model or wrapped is not None:  # a TimeDistributed's model: under its "layer"
                children = [c for c in flat if c.parent == member.name]
                inner = f"{group_path}/layer" if wrapped is not None else group_path
                self._read_model(f"{inner}/layers", wrapped["class_name"] if wrapped else member.class_name,
                                 children, flat, out)
                layer.weights = self._positional(inner, "vars", member)
            else:
                layer.weights = self._layer_weights(group_path, member)
        leftovers = sorted(g for g in unclaimed if self.tree.all_datasets(f"{path}/{g}"))
        if leftovers:
            raise PackError(
                f"{self.tree.name}: weights for {', '.join(leftovers)} under {path} match no layer of the "
                f"model config: the architecture does not match these weights"
            )

    def _layer_weights(self, group_path: str, member: ConfigLayer) -> list[Weight]:
        layout = variables.layout(member.class_name, member.config)
        if layout is None:
            weights = self._positional(group_path, "", member)
            if weights:
                self.warnings.append(
                    f"layer {member.name!r}: class {member.class_name} is not in kwbin's variable table; "
                    f"its {len(weights)} variables keep positional names"
                )
            return weights
        paths: list[str] = []
        datasets: list[h5py.Dataset] = []
        for vars_path, names in layout.items():
            found = self.tree.datasets(f"{group_path}/{vars_path}") if self.tree.is_group(f"{group_path}/{vars_path}") else []
            if len(found) != len(names):
                raise PackError(
                    f"{self.tree.name}: layer {member.name!r} ({member.class_name}) should store "
                    f"{len(names)} variables in {vars_path} ({', '.join(names) or 'none'}) per its config, "
                    f"the file has {len(found)}"
                )
            prefix = self._object_path(group_path, vars_path)
            paths.extend(f"{prefix}{name}" for name in names)
            datasets.extend(found)
        extra = {p for p, _ in self.tree.all_datasets(group_path)} - {
            f"{vp}/{i}" for vp, names in layout.items() for i in range(len(names))
        }
        if extra:
            raise PackError(
                f"{self.tree.name}: layer {member.name!r} ({member.class_name}) has variables "
                f"{', '.join(sorted(extra))} its config does not explain"
            )
        weights = [Weight(name, ds, ds.name) for name, ds in zip(canonical_names(paths), datasets)]
        check_shapes(self.tree.name, member, Layer(member.name, member.class_name, None, None, weights))
        return weights

    def _object_path(self, group_path: str, vars_path: str) -> str:
        """Keras's variable-path prefix of a sub-object, e.g. "forward_gru/gru_cell/"."""
        parts = vars_path.split("/")[:-1]  # drop the final "vars"
        names = []
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            names.append(self.tree.name_attr(f"{group_path}/{sub}/vars") or parts[depth - 1])
        return "".join(f"{n}/" for n in names)

    def _positional(self, group_path: str, below: str, member: ConfigLayer) -> list[Weight]:
        start = f"{group_path}/{below}" if below else group_path
        found = [(p, ds) for p, ds in self.tree.all_datasets(start) if not p.startswith("layers/")]
        names = [p.replace("vars/", "").replace("/vars", "") or p for p, _ in found]
        return [Weight(n, ds, ds.name) for n, (_, ds) in zip(names, found)]

    # --- without a model config ----------------------------------------------

    def _read_without_config(self) -> list[Layer]:
        self.warnings.append(
            "no model config (pass --arch): layer order follows the HDF5 file's alphabetical group "
            "order, not the model's, and layer configs are unknown"
        )
        out: list[Layer] = []
        self._read_groups("layers", None, out)
        return out

    def _read_groups(self, path: str, parent: str | None, out: list[Layer]) -> None:
        classes = {snake_case(c): c for c in variables.KNOWN_CLASSES}
        for group in sorted(self.tree.keys(path), key=_natural_key):
            group_path = f"{path}/{group}"
            local = self.tree.name_attr(f"{group_path}/vars") or group
            name = f"{parent}/{local}" if parent else local
            class_name = classes.get(re.sub(r"_\d+$", "", group), "")
            layer = Layer(name, class_name, None, parent)
            out.append(layer)
            if self.tree.is_group(f"{group_path}/layers"):
                self._read_groups(f"{group_path}/layers", name, out)
                member = ConfigLayer(name, local, class_name, {}, parent)
                layer.weights = self._positional(group_path, "vars", member)
                continue
            member = ConfigLayer(name, local, class_name, {}, parent)
            layout = variables.layout(class_name, {}) if class_name else None
            count = len(self.tree.datasets(f"{group_path}/vars")) if self.tree.is_group(f"{group_path}/vars") else 0
            if layout is not None and list(layout) == ["vars"] and len(layout["vars"]) == count:
                layer.weights = self._layer_weights(group_path, member)
            else:
                layer.weights = self._positional(group_path, "", member)
                if layer.weights:
                    self.warnings.append(f"layer {name!r}: variables kept under positional names without a config")

    # --- outside the layers ----------------------------------------------------

    def extras(self, include_optimizer: bool) -> list[Weight]:
        out = [Weight(f"vars/{p}", ds, ds.name) for p, ds in self.tree.all_datasets("vars")]
        if include_optimizer:
            out += [Weight(f"optimizer/{p}", ds, ds.name) for p, ds in self.tree.all_datasets("optimizer")]
        return out
