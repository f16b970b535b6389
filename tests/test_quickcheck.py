"""The fast acceptance path of the tensor table never changes a verdict.

``quickcheck.tensor_table_ok`` may send a valid table to the full check (a
cost, not an error), but it must never accept a table the full check
rejects.  Each input here is opened twice, with and without the fast path,
and both runs must give the same result: the same tables, or the same error
with the same message.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin import checks, quickcheck
from kwbin import format as fmt
from kwbin.errors import KwbinError

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"


def verdict(data: bytes, *, fast: bool, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(quickcheck, "tensor_table_ok", lambda *args: None)
        try:
            parsed = checks.parse(memoryview(data))
        except KwbinError as exc:
            return (type(exc).__name__, str(exc))
    return (parsed.tensor_names, parsed.tensor_index, parsed.layer_names)


def same_verdict(data: bytes, monkeypatch: pytest.MonkeyPatch) -> object:
    fast = verdict(data, fast=True, monkeypatch=monkeypatch)
    assert fast == verdict(data, fast=False, monkeypatch=monkeypatch)
    return fast


def field_offset(struct, name: str) -> int:
    return {field: offset for field, offset, _ in fmt.field_layout(struct)}[name]


def with_header_crc(data: bytearray) -> bytes:
    """Recompute the header CRC so a change to the tables gets past it."""
    at = field_offset(fmt.Header, "payload_offset")
    payload_offset = int.from_bytes(data[at : at + 8], "little")
    if payload_offset <= len(data):
        crc = checks.header_crc32(memoryview(data), payload_offset)
        data[fmt.HEADER_CRC_OFFSET : fmt.HEADER_SIZE] = crc.to_bytes(4, "little")
    return bytes(data)


@pytest.mark.parametrize("path", sorted((VECTORS / "valid").glob("*.kwb")), ids=lambda p: p.stem)
def test_valid_vectors_take_the_fast_path(path, monkeypatch):
    data = path.read_bytes()
    parsed = checks.parse(memoryview(data))
    h = parsed.header
    strings = checks._StringTable(parsed.strings)
    ranks = quickcheck.tensor_table_ok(memoryview(data), h, len(parsed.tensors), parsed.layers, strings)
    if h["known_minor"]:
        assert ranks is not None, "a valid file of this version must be accepted without the full check"
    same_verdict(data, monkeypatch)


@pytest.mark.parametrize("path", sorted((VECTORS / "invalid").glob("*.kwb")), ids=lambda p: p.stem)
def test_invalid_vectors_get_the_same_error(path, monkeypatch):
    assert isinstance(same_verdict(path.read_bytes(), monkeypatch), tuple)


def table_file() -> bytes:
    """Layers, several dtypes and shapes (0-d, empty, 8-d): every table rule has something to break."""
    tensors = {
        "scalar": np.array(3, "<i8"),
        "empty": np.zeros((0, 4), "<f4"),
        "wide": np.ones((1, 2, 1, 2, 1, 2, 1, 2), "<f2"),
        "flags": np.array([True, False]),
    }
    return kwbin.save(tensors, alignment=16)


def layered_file(tmp_path: Path) -> bytes:
    path = tmp_path / "layered.kwb"
    with kwbin.Writer(path, alignment=32) as w:
        w.add_layer("model", "Functional")
        w.add_layer("dense", "Dense", parent="model")
        w.add_tensor("dense/kernel", np.ones((3, 2), "<f4"), layer="dense", weight="kernel")
        w.add_tensor("dense/bias", np.ones(2, "<f4"), layer="dense", weight="bias")
        w.add_layer("bn", "BatchNormalization", parent="model")
        w.add_tensor("bn/gamma", np.ones(2, "<f4"), layer="bn", weight="gamma")
        w.add_tensor("free", np.arange(5, dtype="<u1"))
    return path.read_bytes()


# Values at the edges of every rule: zero, one, the index and u32 limits,
# sizes around 2**62, 2**63 and 2**64.
EDGES = [0, 1, 2, 3, 7, 8, 9, 16, 255, 256, 0xFFFF, 0xFFFFFFFE, 0xFFFFFFFF, 1 << 32,
         (1 << 62) - 1, 1 << 62, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]


def mutations(data: bytes, seed: int, count: int):
    """Seeded changes to single fields of the tensor and layer tables, CRC fixed up."""
    h = checks.parse(memoryview(data)).header
    rng = random.Random(seed)
    tables = [
        (h["tensors_offset"], h["tensors_size"], fmt.TENSOR_RECORD_SIZE, fmt.field_layout(fmt.TensorRecord)),
        (h["layers_offset"], h["layers_size"], fmt.LAYER_RECORD_SIZE, fmt.field_layout(fmt.LayerRecord)),
    ]
    tables = [t for t in tables if t[1]]
    for _ in range(count):
        start, size, record, fields = rng.choice(tables)
        row = rng.randrange(size // record)
        name, offset, width = rng.choice(fields)
        if name == "shape":
            offset, width = offset + 8 * rng.randrange(fmt.MAX_NDIM), 8
        at = start + row * record + offset
        blob = bytearray(data)
        old = int.from_bytes(blob[at : at + width], "little")
        choice = rng.random()
        if choice < 0.4:
            value = rng.choice(EDGES)
        elif choice < 0.7:
            value = old + rng.choice([-64, -16, -1, 1, 16, 64])
        else:
            value = old ^ (1 << rng.randrange(8 * width))
        value %= 1 << (8 * width)
        blob[at : at + width] = value.to_bytes(width, "little")
        yield with_header_crc(blob)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_tables_get_the_same_verdict(seed, tmp_path, monkeypatch):
    rejected = 0
    for source in (table_file(), layered_file(tmp_path)):
        for blob in mutations(source, seed, 600):
            rejected += isinstance(same_verdict(blob, monkeypatch), tuple)
    assert rejected > 600, "the mutations should mostly break a rule"


def test_sizes_near_two_to_the_63_are_left_to_the_full_check(monkeypatch):
    """A shape whose byte size is just below or above 2**63 - 1 (rule 14.9)."""
    data = bytearray(kwbin.save({"t": np.zeros((1, 1), "<f4")}, alignment=16))
    h = checks.parse(memoryview(data)).header
    shape_at = h["tensors_offset"] + field_offset(fmt.TensorRecord, "shape")
    for dims in [((1 << 61) - 1, 1), (1 << 61, 1), (1 << 61, 2), (3, (1 << 62) // 3 + 1), (0, (1 << 64) - 1)]:
        blob = bytearray(data)
        for j, d in enumerate(dims):
            blob[shape_at + 8 * j : shape_at + 8 * j + 8] = d.to_bytes(8, "little")
        result = same_verdict(with_header_crc(blob), monkeypatch)
        assert isinstance(result, tuple) and result[0] in ("SizeOverflow", "BadTensor"), (dims, result)


def test_a_name_inside_another_string_is_refused_by_both_paths(monkeypatch):
    """A reference to the tail of another string (suffix sharing) breaks the canonical table rule."""
    data = bytearray(kwbin.save({"xkernel": np.zeros(2, "<f4"), "other": np.ones(2, "<f4")}, alignment=16))
    parsed = checks.parse(memoryview(bytes(data)))
    offset_at = parsed.header["tensors_offset"] + fmt.TENSOR_RECORD_SIZE + field_offset(fmt.TensorRecord, "name_offset")
    start = parsed.strings.index(b"xkernel\0") + 1  # "kernel", the tail of "xkernel"
    assert parsed.strings[start : start + 7] == b"kernel\0"
    data[offset_at : offset_at + 8] = start.to_bytes(4, "little") + (6).to_bytes(4, "little")
    kind, message = same_verdict(with_header_crc(data), monkeypatch)
    assert kind == "BadString" and "tensor 1: name string" in message and "inside another string" in message


def test_strings_out_of_first_reference_order_are_refused_by_both_paths(monkeypatch):
    """Two tensors whose names are stored in the other order: each path names the first reference that skips."""
    data = bytearray(kwbin.save({"a": np.zeros(2, "<f4"), "b": np.ones(2, "<f4")}, alignment=16))
    parsed = checks.parse(memoryview(bytes(data)))
    at = parsed.header["strings_offset"]
    table = parsed.strings
    assert table == b"a\0\0b\0"  # name a, empty weight and source, name b
    data[at : at + len(table)] = b"b\0\0a\0"
    for i, off in ((0, 3), (1, 0)):  # point the names at their strings: now tensor 0 skips "b"
        name_at = parsed.header["tensors_offset"] + i * fmt.TENSOR_RECORD_SIZE
        data[name_at : name_at + 4] = off.to_bytes(4, "little")
    kind, message = same_verdict(with_header_crc(data), monkeypatch)
    assert kind == "BadString" and "tensor 0: name string at 3+1 skips the string table's bytes 0..2" in message
