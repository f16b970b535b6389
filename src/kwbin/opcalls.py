"""Operation nodes of a model config written as the calls they record, for ``kwbin info``.

A functional model that calls a tensor operation on a symbolic tensor gets a
node of its own: Keras 3 an operation (module ``keras.src.ops.*`` or
``keras.src.activations.*``, class ``Multiply``, ``GetItem``, ...), tf.keras a
``TFOpLambda`` (config ``function``) or ``SlicingOpLambda``.  ``op_calls``
gives, per such layer of the file (qualified name), its calls as short text::

    multiply            d * 0.5 in Keras 3                 -> multiply(d, 0.5)
    tf.math.multiply    d * 0.5 in tf.keras                -> tf.math.multiply(d, y=0.5)
    tf.math.multiply_1  0.5 * d in tf.keras                -> tf.math.multiply(0.5, y=d)
    get_item            x[:, -1] in Keras 3                -> x[:, -1]
    concatenate         keras.ops.concatenate([a, b], 1)   -> concatenate([a, b], axis=1)

A tensor argument is the name of the layer that made it, with ``@n`` for its
node n > 0 and ``:t`` for its output t > 0 (``lstm:1``: the second output).
Long constants are shortened.  Only for reading: the JSON listing keeps the
config as it is.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

TF_OP_CLASSES = ("TFOpLambda", "SlicingOpLambda")
_MAX_VALUES = 6  # a longer constant list is shown by its first values and its length
_MAX_TEXT = 60  # a longer constant (text, nested lists) is cut


def is_op_entry(entry: dict[str, Any]) -> bool:
    module = entry.get("module")
    if entry.get("class_name") in TF_OP_CLASSES:
        return True
    if module is None:  # Keras 3's .h5: no module; an operation's config lacks every layer's "trainable"
        config, nodes = entry.get("config"), entry.get("inbound_nodes")
        return (entry.get("class_name") != "InputLayer" and isinstance(config, dict) and "trainable" not in config
                and isinstance(nodes, list) and bool(nodes) and isinstance(nodes[0], dict))
    return isinstance(module, str) and module.startswith(("keras.src.ops", "keras.src.activations"))


def op_calls(model_config: Any) -> dict[str, str]:
    """{qualified layer name: its calls, '; '-separated} for every op node of the config."""
    out: dict[str, str] = {}
    for name, entry, known in _entries(model_config, ""):
        if not is_op_entry(entry):
            continue
        try:
            calls = [_call(entry, node, known) for node in entry.get("inbound_nodes") or []]
        except (TypeError, KeyError, IndexError, AttributeError, ValueError):
            calls = []  # a shape this code does not know: show nothing rather than guess
        if calls:
            out[name] = "; ".join(calls)
    return out


def _entries(model: Any, prefix: str) -> Iterator[tuple[str, dict[str, Any], set[str]]]:
    """(qualified name, entry, names of that model's layers) of every layer entry, nested models too."""
    config = model.get("config") if isinstance(model, dict) else None
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        return
    entries = [e for e in layers if isinstance(e, dict)]
    known = {_name(e) for e in entries}
    for entry in entries:
        name = prefix + _name(entry)
        yield name, entry, known
        yield from _entries(entry, name + "/")


def _name(entry: dict[str, Any]) -> str:
    config = entry.get("config")
    name = entry.get("name") or (config.get("name") if isinstance(config, dict) else None)
    return name if isinstance(name, str) else ""


def _snake(class_name: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", class_name).lower()


def _call(entry: dict[str, Any], node: Any, known: set[str]) -> str:
    cls = entry["class_name"]
    if cls in TF_OP_CLASSES:
        return _tf_call(entry, node, known)
    # Keras 3: {"args": [...], "kwargs": {...}}; the op's own options are its config
    args = [_value(a, known) for a in node.get("args", [])]
    if cls == "GetItem" and len(node.get("args", [])) == 2:
        return f"{args[0]}[{_slices(node['args'][1], known)}]"
    options = {k: v for k, v in (entry.get("config") or {}).items() if k != "name"}
    options.update(node.get("kwargs") or {})
    function = "relu" if cls == "ReLU" else _snake(cls)
    return f"{function}({', '.join(args + _keywords(options, known))})"


def _tf_call(entry: dict[str, Any], node: Any, known: set[str]) -> str:
    """A tf.keras node: [layer, node, tensor, kwargs], ["_CONSTANT_VALUE", -1, value, kwargs],
    or a list of the first form (a list argument such as tf.concat's)."""
    if isinstance(node, list) and node and isinstance(node[0], list):  # a list of tensors as the first argument
        first = "[" + ", ".join(_ref(item, known) for item in node) + "]"
        kwargs = node[0][3] if len(node[0]) > 3 else {}
    elif node[0] == "_CONSTANT_VALUE":
        first, kwargs = _value(node[2], known), node[3] if len(node) > 3 else {}
    else:
        first, kwargs = _ref(node, known), node[3] if len(node) > 3 else {}
    kwargs = {k: v for k, v in (kwargs or {}).items() if not (k == "name" and v is None)}
    if entry["class_name"] == "SlicingOpLambda" and set(kwargs) == {"slice_spec"}:
        return f"{first}[{_slices(kwargs['slice_spec'], known)}]"
    function = "tf." + str(entry["config"]["function"])
    return f"{function}({', '.join([first] + _keywords(kwargs, known))})"


def _ref(item: list[Any], known: set[str]) -> str:
    name, node_index, tensor_index = item[0], item[1], item[2]
    return f"{name}" + (f"@{node_index}" if node_index else "") + (f":{tensor_index}" if tensor_index else "")


def _is_ref(value: Any, known: set[str]) -> bool:
    return (isinstance(value, list) and len(value) in (3, 4) and value[0] in known
            and isinstance(value[1], int) and isinstance(value[2], int))


def _keywords(options: dict[str, Any], known: set[str]) -> list[str]:
    return [f"{k}={_value(v, known)}" for k, v in options.items()]


def _value(value: Any, known: set[str]) -> str:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = value.get("config", {}).get("keras_history")
            if isinstance(history, list) and len(history) == 3:
                return _ref(history, known)
        if value.get("class_name") == "__slice__":
            return _slice(value.get("config") or {})
        if value.get("class_name") == "__ellipsis__":
            return "..."
    if _is_ref(value, known):
        return _ref(value, known)
    if isinstance(value, list):
        if any(isinstance(v, (dict, list)) for v in value):
            inner = "[" + ", ".join(_value(v, known) for v in value) + "]"
            return inner if len(inner) <= _MAX_TEXT else inner[: _MAX_TEXT - 4] + " ...]"
        if len(value) > _MAX_VALUES:
            head = ", ".join(_value(v, known) for v in value[:3])
            return f"[{head}, ... {len(value)} values]"
        return "[" + ", ".join(_value(v, known) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return str(value)
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 4] + " ..."


def _slice(config: dict[str, Any]) -> str:
    start, stop, step = (config.get(k) for k in ("start", "stop", "step"))
    text = ("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
    return text + ("" if step is None else f":{step}")


def _slices(spec: Any, known: set[str]) -> str:
    """A slice_spec (tf.keras) or GetItem key (Keras 3) as Python's subscript."""
    items = spec if isinstance(spec, list) else [spec]
    shown = []
    for item in items:
        if isinstance(item, dict) and "class_name" not in item and set(item) <= {"start", "stop", "step"}:
            shown.append(_slice(item))  # tf.keras: {"start", "stop", "step"}
        elif item is None:
            shown.append("None")  # a new axis
        else:
            shown.append(_value(item, known))
    return ", ".join(shown)
