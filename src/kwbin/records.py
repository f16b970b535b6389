"""Plain records handed to callers: what a layer and a tensor are."""

from __future__ import annotations

from dataclasses import dataclass, fields
from itertools import repeat
from typing import Any, Callable, Optional, Sequence

_build: Optional[Callable[..., Any]]
try:  # the C builder, compiled at install when a C compiler is there (setup.py)
    from ._records import build as _c_build

    _build = _c_build
except ImportError:  # a checkout run from src/, or no compiler: the Python builder
    _build = None


class _Record:
    """The weak-reference slot shared by ``TensorInfo`` and its draft.

    ``__class__`` assignment needs both classes to add the same slots to the
    same base, and CPython counts ``__weakref__`` in that comparison only when
    it sits right after the base's fields: declaring it here, once, does that.
    """

    __slots__ = ("__weakref__",)


@dataclass(frozen=True)
class TensorInfo(_Record):
    """One tensor record, decoded.  ``offset`` is absolute in the file."""

    # Slots (no per-record __dict__): about a third less time and memory per
    # record than a dict, which matters for 10,000-tensor listings.
    __slots__ = (
        "index", "name", "layer", "weight", "dtype", "shape", "offset", "nbytes", "crc32", "source"
    )

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

    # A frozen class refuses setattr, which the default unpickling of slots uses.
    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in TENSOR_FIELDS)

    def __setstate__(self, state: Any) -> None:
        # A dict: pickled by kwbin 0.1.0, whose records had a __dict__.
        pairs = state.items() if isinstance(state, dict) else zip(TENSOR_FIELDS, state)
        for name, value in pairs:
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class Layer:
    """One layer record, decoded.  ``tensors`` are full tensor names."""

    index: int
    name: str
    class_name: str
    parent: str | None
    config: dict[str, Any] | None
    tensors: tuple[str, ...]


class _TensorInfoDraft(_Record):
    """A mutable twin of ``TensorInfo``: the same slots, in the same order.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``: about 0.9 us a record, 9 ms for 10,000 tensors.
    Plain slot stores on this twin, then a ``__class__`` assignment, make the
    same objects in well under half the time.
    """

    __slots__ = TensorInfo.__slots__


def tensor_infos(columns: Sequence[Sequence[Any]]) -> tuple[TensorInfo, ...]:
    """``TensorInfo`` records from one list per field, in ``fields(TensorInfo)`` order.

    The records are ordinary frozen ``TensorInfo`` instances (equal, hashable,
    immutable, ``dataclasses.replace``-able), built in bulk: by the optional C
    module ``kwbin._records`` when it was compiled at install, else in Python.
    """
    if _build is not None:
        return _build(TensorInfo, TENSOR_FIELDS, tuple(columns))  # type: ignore[no-any-return]
    return tensor_infos_python(columns)


def tensor_infos_python(columns: Sequence[Sequence[Any]]) -> tuple[TensorInfo, ...]:
    """``tensor_infos`` without the C module: the same records, about 2 ms slower per 10,000."""
    drafts = list(map(object.__new__, repeat(_TensorInfoDraft, len(columns[0]))))
    # One loop of plain stores: cheaper than calling an __init__ per record.
    for d, index, name, layer, weight, dtype, shape, offset, nbytes, crc32, source in zip(drafts, *columns):
        d.index = index
        d.name = name
        d.layer = layer
        d.weight = weight
        d.dtype = dtype
        d.shape = shape
        d.offset = offset
        d.nbytes = nbytes
        d.crc32 = crc32
        d.source = source
        d.__class__ = TensorInfo  # type: ignore[assignment]  # same slots: the record is now frozen
    return tuple(drafts)  # type: ignore[arg-type]  # every draft is now a TensorInfo


TENSOR_FIELDS = tuple(f.name for f in fields(TensorInfo))
assert TENSOR_FIELDS == TensorInfo.__slots__
