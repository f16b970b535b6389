"""Reading HDF5 attributes the way every Keras generation wrote them.

Strings arrive as ``str`` (h5py 3, variable-length UTF-8), ``bytes``,
numpy ``bytes_`` scalars or fixed-length byte arrays (Keras 1/2 on h5py 2);
a weightless layer's ``weight_names`` is an *empty float64 array*; long
lists are split into ``name0``, ``name1``, ... (Keras 2's 64 KiB attribute
limit).  Everything here turns those into plain Python strings.

Attributes are checked before they are read: at most ``MAX_ATTR_BYTES``
stored and ``MAX_ATTR_ITEMS`` entries; any other type (numbers where names
belong, compound, references, ...) or an attribute h5py cannot read is a
PackError naming it.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from .errors import PackError

#: An attribute storing more bytes than this is refused before it is read.
MAX_ATTR_BYTES = 64 << 20
#: A list attribute with more entries than this (layers or weights of one layer) is refused.
MAX_ATTR_ITEMS = 1 << 20


def to_str(value: Any) -> str:
    try:
        if isinstance(value, (str, np.str_)):
            str(value).encode("utf-8")  # h5py hands undecodable bytes over as surrogates
            return str(value)
        if isinstance(value, (bytes, np.bytes_)):
            return bytes(value).decode("utf-8")
    except UnicodeError:
        raise PackError("not UTF-8 text") from None
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


def get(attrs: Any, name: str) -> Any:
    """``attrs[name]``, read only if its size is reasonable; every failure a PackError."""
    try:
        aid = attrs.get_id(name)
        items = aid.get_space().get_simple_extent_npoints()
        stored = items * aid.get_type().get_size()  # H5Aget_storage_size fails on empty ones
    except (KeyError, OSError, ValueError, TypeError) as exc:
        raise PackError(f"attribute {name!r} cannot be read: {exc}") from None
    if stored > MAX_ATTR_BYTES or items > MAX_ATTR_ITEMS:
        raise PackError(f"attribute {name!r} holds {items} entries in {stored} bytes, more than kwbin reads")
    try:
        value = attrs[name]
    except MemoryError:
        raise PackError(f"attribute {name!r} is too large to read") from None
    except (KeyError, OSError, ValueError, TypeError) as exc:
        raise PackError(f"attribute {name!r} cannot be read: {exc}") from None
    if isinstance(value, h5py.Empty):
        raise PackError(f"attribute {name!r} has no value (a null dataspace)")
    return value


def has_list(attrs: Any, name: str) -> bool:
    return name in attrs or f"{name}0" in attrs


def read_list(attrs: Any, name: str) -> list[str]:
    """``attrs[name]``, or the concatenation of its chunks ``name0``, ``name1``, ..."""
    if name in attrs:
        return _named(name, str_list, get(attrs, name))
    out: list[str] = []
    chunk = 0
    while f"{name}{chunk}" in attrs:
        out.extend(_named(f"{name}{chunk}", str_list, get(attrs, f"{name}{chunk}")))
        chunk += 1
        if len(out) > MAX_ATTR_ITEMS:
            raise PackError(f"attribute {name!r} lists more than {MAX_ATTR_ITEMS} entries")
    return out


def read_text(attrs: Any, name: str) -> str | None:
    """A string attribute, or None when absent."""
    if name not in attrs:
        return None
    value = get(attrs, name)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return _named(name, to_str, value)


def _named(name: str, convert: Any, value: Any) -> Any:
    """``convert(value)``, its errors naming the attribute."""
    try:
        return convert(value)
    except PackError as exc:
        raise PackError(f"attribute {name!r}: {exc}") from None
