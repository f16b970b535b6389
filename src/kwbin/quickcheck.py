"""A fast acceptance test for the tensor table, used before the full rule check.

``checks._check_tensors`` evaluates every rule of the spec as its own mask so
that the first failing record and rule can be named.  A valid file does not
need that bookkeeping: this module answers the single question "does every
rule hold?" in a few dozen whole-table operations on the raw bytes, 32- and
64-bit words of the records.  It accepts a table only if every rule holds;
a refusal sends the table through the rule-by-rule check, which raises the
error the spec names.  So a wrong refusal costs time, never a verdict, and
``tests/test_quickcheck.py`` checks that no table the full check rejects is
ever accepted.  Each distinct numpy operation costs microseconds the first
time a process meets it, so the checks are written with as few as possible.

The table's byte positions come from ``format.TENSOR_DTYPE`` (derived from
the construct declaration), not from constants of this module.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from . import format as fmt

_FIELDS: dict[str, tuple] = dict(fmt.TENSOR_DTYPE.fields or {})


def _word(name: str, size: int) -> int:
    """Index of field ``name`` in the record viewed as words of ``size`` bytes."""
    offset = _FIELDS[name][1]
    assert offset % size == 0, name
    return offset // size


# The three string references lie first, as (offset, length) pairs of words.
assert [_word(f"{ref}_{part}", 4) for ref in ("name", "weight", "source") for part in ("offset", "length")] == [
    0, 1, 2, 3, 4, 5
]
_REFS = 6
_LAYER_STRINGS = ("name", "class", "config")
_NAME_LENGTH = _word("name_length", 4)
_WEIGHT_LENGTH = _word("weight_length", 4)
_LAYER = _word("layer", 4)
_DTYPE = _FIELDS["dtype"][1]  # byte columns
_NDIM = _FIELDS["ndim"][1]
_RESERVED0 = _FIELDS["reserved0"][1]
_RESERVED1 = _word("reserved1", 4)
_DATA_OFFSET = _word("data_offset", 8)
_NBYTES = _word("nbytes", 8)
_SHAPE = _word("shape", 8)

#: Item size by dtype code; 0 marks an undefined code.
_ITEMSIZES = np.zeros(256, np.float64)
for _d in fmt.DTYPES:
    _ITEMSIZES[_d.code] = _d.itemsize

_COLUMNS = np.arange(fmt.MAX_NDIM)
_EXACT_BELOW = float(1 << 53)


class Strings(Protocol):
    """The string table: its bytes, as uint8, the positions of its NULs and where its strings start."""

    table: bytes
    raw: np.ndarray
    nuls: np.ndarray
    starts: np.ndarray


def tensor_table_ok(
    buf: memoryview, h: dict[str, int], count: int, layers: np.ndarray, strings: Strings
) -> np.ndarray | None:
    """When every tensor-record rule holds, the NUL rank of each name; else None.

    None when any rule may fail (or the table is not of the known
    record size); the caller then runs the full check.  The ranks (index of
    each name's terminating NUL among all NULs) let the caller pick the names
    out of the string table without slicing each one.
    """
    if not h["known_minor"] or h["tensor_record_size"] != fmt.TENSOR_RECORD_SIZE:
        return None
    if count == 0:
        return np.zeros(0, np.int64)
    start = h["tensors_offset"]
    records = np.frombuffer(buf, np.uint8, count * fmt.TENSOR_RECORD_SIZE, start).reshape(count, -1)
    words = records.view(np.uint32)
    longs = records.view(np.uint64)

    if records[:, _RESERVED0 : _RESERVED0 + 2].any() or words[:, _RESERVED1].any():
        return None

    ranks = _string_refs_ok(words, strings, _layers_reach(layers))
    if ranks is None or not words[:, _NAME_LENGTH].all():
        return None

    layer = words[:, _LAYER]
    if not len(layers):  # then no tensor may name a layer or a weight
        if ((layer ^ np.uint32(fmt.NO_INDEX)) | words[:, _WEIGHT_LENGTH]).any():
            return None
    else:
        has_layer = layer != fmt.NO_INDEX
        if ((words[:, _WEIGHT_LENGTH] == 0) == has_layer).any():
            return None
        if has_layer.any() and not _layer_ranges_ok(layer, has_layer, layers):
            return None

    itemsize = _ITEMSIZES[records[:, _DTYPE]]
    ndim = records[:, _NDIM]
    if not itemsize.all() or int(ndim.max()) > fmt.MAX_NDIM:
        return None
    if not _sizes_ok(longs, ndim, itemsize):
        return None
    if not _placement_ok(longs, h):
        return None
    return ranks[0]


def in_first_reference_order(offsets: np.ndarray, ends: np.ndarray, first_new: int) -> np.ndarray:
    """Mask of references that start no later than the end of every string referenced before them.

    ``offsets`` and ``ends`` have one row per field; references are visited
    record by record (column by column), field by field.  With whole-string
    references this is the spec's "first-reference order": a reference is
    either to a string already referenced, or to the next one in the table.
    """
    order_off = offsets.T.ravel()
    reach = np.maximum.accumulate(ends.T.ravel() + 1) if order_off.size else np.zeros(0, np.int64)
    before = np.empty(order_off.size, np.int64)
    if order_off.size:
        before[0] = first_new
        np.maximum(reach[:-1], first_new, out=before[1:])
    return (order_off <= before).reshape(offsets.shape[1], offsets.shape[0]).T


def _layers_reach(layers: np.ndarray) -> int:
    """Where the first string not referenced by a layer starts (the layers are checked)."""
    if not len(layers):
        return 0
    return max(int((layers[f"{f}_offset"].astype(np.int64) + layers[f"{f}_length"]).max()) + 1 for f in _LAYER_STRINGS)


def _string_refs_ok(words: np.ndarray, strings: Strings, first_new: int) -> np.ndarray | None:
    """Each reference is a whole string of the table, in first-reference order.

    Returns the rank of each reference's string, one row per field.
    """
    nuls = strings.nuls
    if not nuls.size:
        return None
    # One row per field: writers lay each field's strings out in table order,
    # and searchsorted is several times faster on sorted keys.
    refs = words[:, :_REFS].T
    offsets = refs[0::2].astype(np.int64)
    ends = offsets + refs[1::2]
    if int(ends.max()) >= len(strings.table):
        return None
    ranks = np.minimum(np.searchsorted(nuls, offsets), nuls.size - 1)  # the first NUL at or after each start
    if not ((nuls[ranks] == ends) & (strings.starts[ranks] == offsets)).all():
        return None
    if not in_first_reference_order(offsets, ends, first_new).all():
        return None
    return ranks


def _layer_ranges_ok(layer: np.ndarray, has_layer: np.ndarray, layers: np.ndarray) -> bool:
    """Every layer index exists, and the tensor lies in its layer's tensor range."""
    if not len(layers) or int(layer[has_layer].max()) >= len(layers):
        return False
    safe = np.where(has_layer, layer, 0)
    first = layers["first_tensor"].astype(np.int64)[safe]
    end = first + layers["tensor_count"][safe]
    index = np.arange(len(layer))
    return not (has_layer & ((index < first) | (index >= end))).any()


def _sizes_ok(longs: np.ndarray, ndim: np.ndarray, itemsize: np.ndarray) -> bool:
    """Unused shape entries are zero, no size overflows, and nbytes matches the shape.

    Sizes are computed in float64, where they are exact below 2**53 bytes
    (every partial product is an integer no larger than the final one);
    a larger tensor is left to the full check.  Compared with an exact size
    under 2**53, an nbytes of 2**53 or more never converts to an equal float.
    """
    widest = int(ndim.max())
    shape = longs[:, _SHAPE : _SHAPE + fmt.MAX_NDIM]
    if shape[:, widest:].any():
        return False
    # One row per dimension: reducing over rows is elementwise work on
    # contiguous rows, several times faster than reducing each short record.
    dims = shape[:, :widest].T.astype(np.float64)
    unused = _COLUMNS[:widest, None] >= ndim
    if np.logical_and(dims, unused).any():
        return False
    empty = np.logical_and(dims == 0, ~unused).any(axis=0)
    np.maximum(dims, 1.0, out=dims)  # the product of the non-zero dimensions
    size = dims.prod(axis=0) * itemsize
    if size.max(initial=0.0) >= _EXACT_BELOW:
        return False
    return bool((longs[:, _NBYTES] == np.where(empty, 0.0, size)).all())


def _placement_ok(longs: np.ndarray, h: dict[str, int]) -> bool:
    """Tensors lie back to back from the payload start, aligned, inside the payload.

    No sum here can wrap: ``_sizes_ok`` has bounded every length below 2**53,
    the first offset is the payload's start and each next one must equal the
    previous end rounded up, and every end is checked against the payload's
    end (at most the file size).
    """
    offsets = longs[:, _DATA_OFFSET]
    ends = offsets + longs[:, _NBYTES]
    if int(offsets[0]) != h["payload_offset"] or int(ends.max()) > h["payload_offset"] + h["payload_size"]:
        return False
    a = np.uint64(h["alignment"] - 1)
    return bool((offsets[1:] == (ends[:-1] + a) & ~a).all())
