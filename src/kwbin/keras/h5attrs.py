"""Reading HDF5 attributes the way every Keras generation wrote them.

Strings arrive as ``str`` (h5py 3, variable-length UTF-8), ``bytes``,
numpy ``bytes_`` scalars or fixed-length byte arrays (Keras 1/2 on h5py 2);
a weightless layer's ``weight_names`` is an *empty float64 array*; long
lists are split into ``name0``, ``name1``, ... (Keras 2's 64 KiB attribute
limit).  Everything here turns those into plain Python strings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import PackError


def to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    if isinstance(value, np.str_):
        return str(value)
    raise PackError(f"expected a string attribute, found {type(value).__name__}")


def str_list(value: Any) -> list[str]:
    """A list attribute as strings; an empty numeric array is an empty list."""
    if isinstance(value, (str, bytes, np.bytes_, np.str_)):
        return [to_str(value)]
    array = np.asarray(value)
    if array.size == 0:
        return []
    if array.dtype.kind not in "SUO":
        raise PackError(f"expected a list of strings, found an array of {array.dtype}")
    return [to_str(item) for item in array.reshape(-1).tolist()]


def has_list(attrs: Any, name: str) -> bool:
    return name in attrs or f"{name}0" in attrs


def read_list(attrs: Any, name: str) -> list[str]:
    """``attrs[name]``, or the concatenation of its chunks ``name0``, ``name1``, ..."""
    if name in attrs:
        return str_list(attrs[name])
    out: list[str] = []
    chunk = 0
    while f"{name}{chunk}" in attrs:
        out.extend(str_list(attrs[f"{name}{chunk}"]))
        chunk += 1
    return out


def read_text(attrs: Any, name: str) -> str | None:
    """A string attribute, or None when absent."""
    if name not in attrs:
        return None
    value = attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return to_str(value)
