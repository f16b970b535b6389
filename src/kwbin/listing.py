"""A kwbin file's contents as one JSON-able document.

``listing(f)`` is what ``kwbin info --json`` prints and what the golden
vectors in ``spec/vectors/valid/*.json`` hold, so a reader in any language can
be checked against the same text.  The document's shape::

    {
      "format_version": "1.0",
      "alignment": 64,
      "metadata": {...},
      "layers": [
        {"name": ..., "class_name": ..., "parent": <layer name> | null,
         "config": {...} | null, "tensors": [<tensor names>]}
      ],
      "tensors": [
        {"name": ..., "layer": <layer name> | null, "weight": "" when no layer,
         "dtype": "float32", "shape": [...], "offset": <absolute byte offset>,
         "nbytes": ..., "crc32": <unsigned int>, "source": ...}
      ]
    }

Layers and tensors keep the file's order.  Nothing here reads tensor bytes.

``listing_text(f)`` is that document as the exact bytes both readers print
(spec section 14, "Listing"): the layout of ``spec/vectors/valid/*.json``,
strings re-escaped, numbers of metadata and configs written as their tokens
in the file, repeated keys once (first position, last value).  It is strict
JSON for every file a reader accepts.
"""

from __future__ import annotations

import json
from typing import Any

from .jsontext import Number, parse_tokens
from .reader import KwbinFile


def listing(f: KwbinFile) -> dict[str, Any]:
    """The listing document of an open file (see the module docstring)."""
    major, minor = f.version
    return {
        "format_version": f"{major}.{minor}",
        "alignment": f.alignment,
        "metadata": f.metadata,
        "layers": [
            {
                "name": layer.name,
                "class_name": layer.class_name,
                "parent": layer.parent,
                "config": layer.config,
                "tensors": list(layer.tensors),
            }
            for layer in f.layers
        ],
        "tensors": [
            {
                "name": t.name,
                "layer": t.layer,
                "weight": t.weight,
                "dtype": t.dtype,
                "shape": list(t.shape),
                "offset": t.offset,
                "nbytes": t.nbytes,
                "crc32": t.crc32,
                "source": t.source,
            }
            for t in f.tensors
        ],
    }


def listing_text(f: KwbinFile) -> str:
    """The listing as its canonical text (ends with a newline)."""
    doc = listing(f)
    parsed = f._live()
    h = parsed.header
    start = h["metadata_offset"]
    doc["metadata"] = parse_tokens(bytes(f._buf[start : start + h["metadata_size"]]).decode("utf-8"))
    table = parsed.strings
    offsets = parsed.layers["config_offset"].tolist()
    lengths = parsed.layers["config_length"].tolist()
    for entry, off, length in zip(doc["layers"], offsets, lengths):
        if length:
            entry["config"] = parse_tokens(table[off : off + length].decode("utf-8"))
    return _text(doc) + "\n"


def _text(value: Any, indent: str = "") -> str:
    """Indented JSON: non-empty objects one member a line, arrays holding
    arrays or objects one element a line, other arrays on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        members = (f"{inner}{_string(k)}: {_text(v, inner)}" for k, v in value.items())
        return "{\n" + ",\n".join(members) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + _text(v, inner) for v in value) + "\n" + indent + "]"
    if isinstance(value, list):
        return "[" + ", ".join(map(_scalar, value)) + "]"
    return "{}" if isinstance(value, dict) else _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, Number):  # the token as the file has it
        return str.__str__(value)
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, (bool, int)):
        return json.dumps(value)
    raise TypeError(f"no listing form for {type(value).__name__}")


def _string(text: str) -> str:
    # Escapes only '"', '\\' and U+0000-U+001F (the short forms \\b \\f \\n \\r
    # \\t, else \\u00XX); every other character is written as itself.
    return json.dumps(text, ensure_ascii=False)
