"""Model configs of every Keras generation, flattened into layers in model order.

Accepted shapes of a model config (what ``model.to_json()``, the legacy
``model_config`` attribute or a ``.keras`` archive's ``config.json`` hold):

- Keras 3 / tf.keras: ``{"class_name": "Sequential" | "Functional" | "Model",
  "config": {"name": ..., "layers": [...]}}``;
- Keras 1 and Keras <= 2.1: ``{"class_name": "Sequential", "config": [...]}``
  (a bare list of layers).

A nested model (a layer whose class is itself a model) contributes its own
layers right after it, with qualified names ``outer/inner`` so that names stay
unique in the file; so does a model wrapped in a TimeDistributed (``td/inner``,
the wrapped model's own name left out).  Functional layers are put in a topological
order of their first calls, keeping the config's order wherever it already is one
(Keras's own configs always are).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .errors import PackError

MODEL_CLASSES = {"Sequential", "Functional", "Model"}


@dataclass
class ConfigLayer:
    name: str  # qualified: "outer/inner" for a layer of a nested model
    local_name: str  # the name Keras gave it
    class_name: str
    config: dict[str, Any]
    parent: str | None
    children: list[ConfigLayer] = field(default_factory=list)
    module: str | None = None  # the entry's "module" (Keras 3), e.g. "keras.layers"

    @property
    def is_model(self) -> bool:
        return self.class_name in MODEL_CLASSES

    @property
    def wrapped_model(self) -> dict[str, Any] | None:
        """A TimeDistributed's wrapped model, {"class_name", "config"}: its layers are this layer's children."""
        inner = self.config.get("layer") if self.class_name == "TimeDistributed" else None
        if isinstance(inner, dict) and inner.get("class_name") in MODEL_CLASSES and isinstance(inner.get("config"), (dict, list)):
            return {"class_name": inner["class_name"], "config": inner["config"]}
        return None

    @property
    def is_operation(self) -> bool:
        """A Keras 3 operation node (``x + 3.0`` in a functional model), not a layer.

        Keras 3 records a call of an op on a symbolic tensor as a node whose
        class is the op (``keras.src.ops.numpy.Add``).  It is not a ``Layer``:
        ``Functional.layers`` leaves it out, so it holds no weights and gets no
        ``layers/<group>`` in the weights file, and it does not advance the
        per-class counter that names those groups.
        """
        return self.module is not None and (self.module == "keras.src.ops" or self.module.startswith("keras.src.ops."))


def snake_case(class_name: str) -> str:
    """Keras 3's group name for a class (``BatchNormalization`` -> ``batch_normalization``)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def model_layers(model: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(class name, list of layer entries) of a model config."""
    if not isinstance(model, dict) or "class_name" not in model:
        raise PackError("model config is not an object with a 'class_name'")
    inner = model.get("config")
    if isinstance(inner, list):  # Keras 1, Keras <= 2.1 Sequential
        return model["class_name"], inner
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        return model["class_name"], inner["layers"]
    raise PackError(f"model config of class {model['class_name']!r} has no list of layers")


def _entry(entry: Any) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise PackError("a layer entry of the model config has no 'class_name'")
    config = entry.get("config")
    if not isinstance(config, (dict, list)):
        raise PackError(f"layer entry of class {entry['class_name']!r} has no config")
    name = entry.get("name") or (config.get("name") if isinstance(config, dict) else None)
    if not isinstance(name, str) or not name:
        raise PackError(f"a layer of class {entry['class_name']!r} has no name in the model config")
    return name, entry["class_name"], config if isinstance(config, dict) else {"layers": config}


def _dependencies(node: Any, known: set[str]) -> set[str]:
    """Layer names an ``inbound_nodes`` structure refers to (Keras 2 and 3 forms)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            history = item.get("keras_history")
            if isinstance(history, list) and history and isinstance(history[0], str):
                found.add(history[0])
            stack.extend(item.values())
        elif isinstance(item, list):
            if len(item) >= 3 and isinstance(item[0], str) and item[0] in known and isinstance(item[1], int):
                found.add(item[0])
            stack.extend(item)
    return found


def _first_call(entry: dict[str, Any]) -> Any:
    """The inbound node of a layer's first call (Keras 2 and 3 forms), or nothing."""
    nodes = entry.get("inbound_nodes", [])
    return nodes[0] if isinstance(nodes, list) and nodes else []


def _topological(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Kahn's algorithm on first calls, always taking the earliest ready layer in config order.

    A layer is ready when what its first call reads is: Keras writes layers in
    the order of their first call, so a config Keras wrote keeps its order
    (the C reader and Keras 3's weight groups both count on it), shared
    layers included (y = a(b(a(x))): a's second call reads b, which comes
    after it).  When no layer is ready, the earliest remaining one in config
    order goes next; a real cycle between calls is left for the reader to
    refuse.
    """
    names = [_entry(e)[0] for e in entries]
    known = set(names)
    deps = [_dependencies(_first_call(e), known) - {n} for e, n in zip(entries, names)]
    done: set[str] = set()
    order: list[int] = []
    remaining = list(range(len(entries)))
    while remaining:
        pos = next((p for p, i in enumerate(remaining) if deps[i] <= done), 0)
        i = remaining.pop(pos)
        order.append(i)
        done.add(names[i])
    return [entries[i] for i in order]


def flatten(model: dict[str, Any], parent: ConfigLayer | None = None) -> list[ConfigLayer]:
    """Every layer of ``model`` (nested models included) in model order."""
    class_name, entries = model_layers(model)
    if class_name != "Sequential":
        entries = _topological(entries)
    out: list[ConfigLayer] = []
    seen: set[str] = set()
    for entry in entries:
        local, cls, config = _entry(entry)
        if local in seen:
            raise PackError(f"the model config names two layers {local!r}")
        seen.add(local)
        layer = ConfigLayer(
            name=f"{parent.name}/{local}" if parent else local,
            local_name=local,
            class_name=cls,
            config=config,
            parent=parent.name if parent else None,
            module=entry.get("module") if isinstance(entry.get("module"), str) else None,
        )
        out.append(layer)
        wrapped = layer.wrapped_model
        if layer.is_model or wrapped is not None:
            layer.children = flatten(wrapped or {"class_name": cls, "config": entry["config"]}, layer)
            out.extend(layer.children)
    return out


def top_level(layers: list[ConfigLayer], parent: str | None = None) -> list[ConfigLayer]:
    return [layer for layer in layers if layer.parent == parent]
