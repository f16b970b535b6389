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
"""

from __future__ import annotations

from typing import Any

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
