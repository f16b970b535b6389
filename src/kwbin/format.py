"""The bytes of a kwbin v1 file, declared once.

This module is the single source of truth for the on-disk layout: the
``construct`` declarations below define every fixed-size structure, and the
numpy structured dtypes used for fast table access are *derived* from them
(``numpy_dtype``), never written by hand.  ``spec/FORMAT.md`` documents the
same tables and a test keeps the two identical.

Nothing here reads files or checks rules; see ``reader.py`` and ``writer.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from struct import Struct

import construct as cs
import numpy as np

# ---------------------------------------------------------------------------
# Global constants
# ---------------------------------------------------------------------------

#: 0x89: non-ASCII, so 7-bit transfers and "is this text?" sniffers notice;
#: "KWB": readable in a hex dump; CR LF: damaged by text-mode line-ending
#: conversion in either direction; 0x1A: stops ``type`` on DOS/Windows;
#: final LF: damaged by LF -> CR LF conversion.
MAGIC = b"\x89KWB\r\n\x1a\n"

#: Written as a little-endian u32, it reads 04 03 02 01 on disk.  A file
#: written big-endian would show 01 02 03 04, which readers name precisely.
BYTE_ORDER_MARK = 0x01020304
BYTE_ORDER_MARK_LE = BYTE_ORDER_MARK.to_bytes(4, "little")
BYTE_ORDER_MARK_BE = BYTE_ORDER_MARK.to_bytes(4, "big")

VERSION_MAJOR = 1
VERSION_MINOR = 0

HEADER_SIZE = 128
#: The header CRC is the last field of the fixed header.
HEADER_CRC_OFFSET = 124

#: Sections before the payload start at multiples of this.
SECTION_ALIGNMENT = 8

DEFAULT_ALIGNMENT = 64
MIN_ALIGNMENT = 16
MAX_ALIGNMENT = 65536

MAX_NDIM = 8

#: ``parent`` of a top-level layer, ``layer`` of a tensor outside any layer.
NO_INDEX = 0xFFFFFFFF

#: Flag bits 0-15 announce features a reader must understand (a reader that
#: sees an unknown one rejects the file); bits 16-31 are safe to ignore.
REQUIRED_FLAGS_MASK = 0x0000FFFF
KNOWN_FLAGS = 0  # v1.0 defines no flag

# ---------------------------------------------------------------------------
# Structures
# ---------------------------------------------------------------------------

Header = cs.Struct(
    "magic" / cs.Bytes(8),
    "byte_order_mark" / cs.Int32ul,
    "version_major" / cs.Int16ul,
    "version_minor" / cs.Int16ul,
    "header_size" / cs.Int32ul,
    "flags" / cs.Int32ul,
    "alignment" / cs.Int32ul,
    "layer_record_size" / cs.Int16ul,
    "tensor_record_size" / cs.Int16ul,
    "strings_offset" / cs.Int64ul,
    "strings_size" / cs.Int64ul,
    "layers_offset" / cs.Int64ul,
    "layers_size" / cs.Int64ul,
    "tensors_offset" / cs.Int64ul,
    "tensors_size" / cs.Int64ul,
    "metadata_offset" / cs.Int64ul,
    "metadata_size" / cs.Int64ul,
    "payload_offset" / cs.Int64ul,
    "payload_size" / cs.Int64ul,
    "reserved" / cs.Bytes(12),
    "header_crc32" / cs.Int32ul,
)

LayerRecord = cs.Struct(
    "name_offset" / cs.Int32ul,
    "name_length" / cs.Int32ul,
    "class_offset" / cs.Int32ul,
    "class_length" / cs.Int32ul,
    "config_offset" / cs.Int32ul,
    "config_length" / cs.Int32ul,
    "parent" / cs.Int32ul,
    "first_tensor" / cs.Int32ul,
    "tensor_count" / cs.Int32ul,
    "reserved" / cs.Int32ul,
)

TensorRecord = cs.Struct(
    "name_offset" / cs.Int32ul,
    "name_length" / cs.Int32ul,
    "weight_offset" / cs.Int32ul,
    "weight_length" / cs.Int32ul,
    "source_offset" / cs.Int32ul,
    "source_length" / cs.Int32ul,
    "layer" / cs.Int32ul,
    "dtype" / cs.Int8ul,
    "ndim" / cs.Int8ul,
    "reserved0" / cs.Int16ul,
    "crc32" / cs.Int32ul,
    "reserved1" / cs.Int32ul,
    "data_offset" / cs.Int64ul,
    "nbytes" / cs.Int64ul,
    "shape" / cs.Array(MAX_NDIM, cs.Int64ul),
)

#: The sections named in the header, in the order a v1.0 writer lays them
#: out.  Each is (offset field, size field).
SECTIONS = ("strings", "layers", "tensors", "metadata")

# ---------------------------------------------------------------------------
# Data types
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DType:
    code: int
    name: str
    itemsize: int
    #: little-endian numpy dtype used to view the bytes; bfloat16 has no
    #: numpy dtype, so its raw bits are viewed as uint16.
    numpy: str


DTYPES = (
    DType(1, "float32", 4, "<f4"),
    DType(2, "float16", 2, "<f2"),
    DType(3, "bfloat16", 2, "<u2"),
    DType(4, "float64", 8, "<f8"),
    DType(5, "int8", 1, "i1"),
    DType(6, "int16", 2, "<i2"),
    DType(7, "int32", 4, "<i4"),
    DType(8, "int64", 8, "<i8"),
    DType(9, "uint8", 1, "u1"),
    DType(10, "uint16", 2, "<u2"),
    DType(11, "uint32", 4, "<u4"),
    DType(12, "uint64", 8, "<u8"),
    DType(13, "bool", 1, "?"),
)
DTYPE_BY_CODE = {d.code: d for d in DTYPES}
DTYPE_BY_NAME = {d.name: d for d in DTYPES}

# ---------------------------------------------------------------------------
# numpy views derived from the declarations above
# ---------------------------------------------------------------------------

_NUMPY_SCALARS = {"<B": "u1", "<H": "<u2", "<L": "<u4", "<Q": "<u8"}


def _numpy_field(subcon: cs.Construct) -> str | tuple[str, tuple[int, ...]]:
    if isinstance(subcon, cs.FormatField):
        return _NUMPY_SCALARS[subcon.fmtstr]
    if isinstance(subcon, cs.Array):
        return (_NUMPY_SCALARS[subcon.subcon.fmtstr], (subcon.count,))
    if isinstance(subcon, cs.Bytes):
        return f"V{subcon.length}"
    raise TypeError(f"no numpy equivalent for {subcon!r}")


def field_layout(struct: cs.Struct) -> list[tuple[str, int, int]]:
    """``(name, offset, size)`` of every field, in declaration order."""
    layout = []
    offset = 0
    for sub in struct.subcons:
        size = sub.sizeof()
        layout.append((sub.name, offset, size))
        offset += size
    return layout


def numpy_dtype(struct: cs.Struct, itemsize: int | None = None) -> np.dtype:
    """The numpy structured dtype with exactly ``struct``'s bytes.

    ``itemsize`` may exceed the declared size: a newer minor version may
    append fields to a record, and older readers view only the known prefix.
    """
    names, formats, offsets = [], [], []
    for sub, (name, offset, _size) in zip(struct.subcons, field_layout(struct)):
        names.append(name)
        formats.append(_numpy_field(sub.subcon))
        offsets.append(offset)
    return np.dtype(
        {
            "names": names,
            "formats": formats,
            "offsets": offsets,
            "itemsize": itemsize or struct.sizeof(),
        }
    )


def struct_format(declaration: cs.Struct) -> str:
    """The ``struct`` module format with exactly the declaration's bytes (fixed fields only)."""
    codes = []
    for sub in declaration.subcons:
        field = sub.subcon
        if isinstance(field, cs.FormatField):
            codes.append(field.fmtstr[1:])
        elif isinstance(field, cs.Bytes):
            codes.append(f"{field.length}s")
        else:
            raise TypeError(f"no struct equivalent for {field!r}")
    return "<" + "".join(codes)


HEADER_DTYPE = numpy_dtype(Header)
#: The header for ``struct.unpack_from``: a few times faster than numpy for one record.
HEADER_STRUCT = Struct(struct_format(Header))
HEADER_FIELDS = tuple(sub.name for sub in Header.subcons)
LAYER_RECORD_SIZE = LayerRecord.sizeof()
TENSOR_RECORD_SIZE = TensorRecord.sizeof()
LAYER_DTYPE = numpy_dtype(LayerRecord)
TENSOR_DTYPE = numpy_dtype(TensorRecord)

assert Header.sizeof() == HEADER_SIZE == HEADER_STRUCT.size
assert field_layout(Header)[-1][1] == HEADER_CRC_OFFSET
