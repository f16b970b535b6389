"""Plain records handed to callers: what a layer and a tensor are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TensorInfo:
    """One tensor record, decoded.  ``offset`` is absolute in the file."""

    index: int
    name: str
    layer: str | None
    weight: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int
    crc32: int
    source: str


@dataclass(frozen=True)
class Layer:
    """One layer record, decoded.  ``tensors`` are full tensor names."""

    index: int
    name: str
    class_name: str
    parent: str | None
    config: dict[str, Any] | None
    tensors: tuple[str, ...]
