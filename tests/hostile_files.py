"""Hand-built kwbin files that make a reader work hard: shared strings, many records, deep JSON.

Used by the regression tests (tests/test_corruption.py, tests/test_c_reader_work.py) and by
bench/bench_worst_open.py.  Every builder takes a target size in bytes and returns a file of
about that size; ``KINDS`` says which are valid.
"""

from __future__ import annotations

import functools
import json

import numpy as np

from kwbin import checks
from kwbin import format as fmt


def file_from_parts(strings: bytes, layers: np.ndarray, tensors: np.ndarray, metadata: bytes = b"{}") -> bytes:
    """Lay the parts out as a v1.0 writer would; every tensor must be zero-size (empty payload)."""
    a = 64
    strings_offset = fmt.HEADER_SIZE
    layers_offset = checks.align_up(strings_offset + len(strings), 8)
    tensors_offset = checks.align_up(layers_offset + layers.nbytes, 8)
    metadata_offset = checks.align_up(tensors_offset + tensors.nbytes, 8)
    payload_offset = checks.align_up(metadata_offset + len(metadata), a)
    tensors = tensors.copy()
    tensors["data_offset"] = payload_offset
    out = bytearray(payload_offset)
    out[strings_offset : strings_offset + len(strings)] = strings
    out[layers_offset : layers_offset + layers.nbytes] = layers.tobytes()
    out[tensors_offset : tensors_offset + tensors.nbytes] = tensors.tobytes()
    out[metadata_offset : metadata_offset + len(metadata)] = metadata
    header = dict(
        magic=fmt.MAGIC, byte_order_mark=fmt.BYTE_ORDER_MARK, version_major=1, version_minor=0,
        header_size=fmt.HEADER_SIZE, flags=0, alignment=a, layer_record_size=fmt.LAYER_RECORD_SIZE,
        tensor_record_size=fmt.TENSOR_RECORD_SIZE, strings_offset=strings_offset, strings_size=len(strings),
        layers_offset=layers_offset, layers_size=layers.nbytes, tensors_offset=tensors_offset,
        tensors_size=tensors.nbytes, metadata_offset=metadata_offset, metadata_size=len(metadata),
        payload_offset=payload_offset, payload_size=0, reserved=bytes(12), header_crc32=0,
    )  # fmt: skip
    out[: fmt.HEADER_SIZE] = fmt.Header.build(header)
    crc = checks.header_crc32(memoryview(out), payload_offset)
    out[fmt.HEADER_CRC_OFFSET : fmt.HEADER_SIZE] = crc.to_bytes(4, "little")
    return bytes(out)


class _Table:
    """A canonical string table built in first-reference order."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.at: dict[bytes, int] = {}

    def ref(self, text: bytes) -> tuple[int, int]:
        if text not in self.at:
            self.at[text] = len(self.data)
            self.data += text + b"\0"
        return self.at[text], len(text)


def _layers(n: int) -> np.ndarray:
    layers = np.zeros(n, fmt.LAYER_DTYPE)
    layers["parent"] = fmt.NO_INDEX
    return layers


def _set(records: np.ndarray, i: int, field: str, ref: tuple[int, int]) -> None:
    records[i][f"{field}_offset"], records[i][f"{field}_length"] = ref


def shared_suffixes(size: int) -> bytes:
    """Finding 2 of issue #11: every layer's name is a different suffix of one long string.

    Invalid now (a reference must start a string); it used to cost records x length.
    """
    n = size // 2 // fmt.LAYER_RECORD_SIZE
    long = b"s" * (size // 2)
    layers = _layers(n)
    layers["name_offset"] = np.arange(n)
    layers["name_length"] = len(long) - np.arange(n)
    layers["class_offset"] = layers["config_offset"] = len(long) + 1  # the empty string after it
    return file_from_parts(long + b"\0\0", layers, np.zeros(0, fmt.TENSOR_DTYPE))


def _long_config(width: int, tag: str) -> bytes:
    return json.dumps({"tag": tag, "pad": "p" * max(0, width - 40)}, separators=(",", ":")).encode()


def shared_whole_strings(size: int) -> bytes:
    """Valid: many layers whose class and config are the same few long strings (alternating)."""
    t = _Table()
    per = size // 8
    long_class = b"C" * per
    configs = [_long_config(per, "a"), _long_config(per, "b")]
    n = max(2, (size - 3 * per) // (fmt.LAYER_RECORD_SIZE + 8))
    layers = _layers(n)
    for i in range(n):
        _set(layers, i, "name", t.ref(b"l%d" % i))
        _set(layers, i, "class", t.ref(long_class))
        _set(layers, i, "config", t.ref(configs[i % 2]))
    return file_from_parts(bytes(t.data), layers, np.zeros(0, fmt.TENSOR_DTYPE))


def max_records(size: int) -> bytes:
    """Valid: as many layers and zero-size tensors as fit, with the shortest distinct names."""
    per_pair = fmt.LAYER_RECORD_SIZE + fmt.TENSOR_RECORD_SIZE + 16
    n = max(1, size // per_pair)
    t = _Table()
    layers = _layers(n)
    tensors = np.zeros(n, fmt.TENSOR_DTYPE)
    for i in range(n):
        _set(layers, i, "name", t.ref(b"%x" % i))
        _set(layers, i, "class", t.ref(b""))
        _set(layers, i, "config", t.ref(b""))
    for i in range(n):
        _set(tensors, i, "name", t.ref(b"t%x" % i))
        _set(tensors, i, "weight", t.ref(b"w"))
        _set(tensors, i, "source", t.ref(b""))
    layers["first_tensor"] = np.arange(n)
    layers["tensor_count"] = 1
    tensors["layer"] = np.arange(n)
    tensors["dtype"], tensors["ndim"] = 1, 1  # float32 of shape (0,)
    return file_from_parts(bytes(t.data), layers, tensors)


def common_prefix_names(size: int) -> bytes:
    """Valid: tensor names that share a long prefix (half the table) and differ in the last bytes."""
    n = 64
    prefix = b"p" * max(1, size // n - 8)
    t = _Table()
    tensors = np.zeros(n, fmt.TENSOR_DTYPE)
    for i in range(n):
        _set(tensors, i, "name", t.ref(prefix + b"%04d" % i))
        _set(tensors, i, "weight", t.ref(b""))
        _set(tensors, i, "source", t.ref(b""))
    tensors["layer"] = fmt.NO_INDEX
    tensors["dtype"], tensors["ndim"] = 1, 1
    return file_from_parts(bytes(t.data), _layers(0), tensors)


def deep_json(size: int) -> bytes:
    """Valid: layer configs and metadata made of arrays nested 63 deep, over and over."""
    unit = b"[" * 62 + b"]" * 62
    n = max(1, size // 2 // (len(unit) + fmt.LAYER_RECORD_SIZE + 24))
    t = _Table()
    layers = _layers(n)
    for i in range(n):
        _set(layers, i, "name", t.ref(b"l%d" % i))
        _set(layers, i, "class", t.ref(b""))
        _set(layers, i, "config", t.ref(b'{"i":%d,"a":%s}' % (i, unit)))
    items = b",".join([b'"k%d":%s' % (i, unit) for i in range(max(1, size // 2 // (len(unit) + 8)))])
    return file_from_parts(bytes(t.data), layers, np.zeros(0, fmt.TENSOR_DTYPE), b"{" + items + b"}")


FNV_OFFSET, FNV_PRIME = 2166136261, 16777619


def fnv1a(data: bytes, h: int = FNV_OFFSET) -> int:
    """32-bit FNV-1a, the hash the C reader's tables used before issue #11's hash flooding fix."""
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFF
    return h


def _block_pair(h: int, rng: np.random.Generator) -> tuple[bytes, bytes, int]:
    """Two different 4-byte printable blocks taking FNV-1a from state ``h`` to one state (birthday search)."""
    while True:
        blocks = rng.integers(0x21, 0x7F, size=(1 << 18, 4), dtype=np.uint32)
        state = np.full(len(blocks), h, np.uint32)
        for k in range(4):
            state = (state ^ blocks[:, k]) * np.uint32(FNV_PRIME)  # wraps modulo 2^32
        code = blocks[:, 0] << 24 | blocks[:, 1] << 16 | blocks[:, 2] << 8 | blocks[:, 3]
        order = np.lexsort((code, state))
        same = np.nonzero((state[order][1:] == state[order][:-1]) & (code[order][1:] != code[order][:-1]))[0]
        if len(same):
            a, b = order[same[0]], order[same[0] + 1]
            return bytes(blocks[a].astype(np.uint8)), bytes(blocks[b].astype(np.uint8)), int(state[a])


@functools.lru_cache(maxsize=None)
def fnv_colliding_names(bits: int) -> tuple[bytes, ...]:
    """2^bits distinct names of 4 * bits printable bytes with one 32-bit FNV-1a hash (a Joux multicollision).

    Each 4-byte position has two blocks leading to the same state, so every choice of blocks does.
    """
    rng = np.random.default_rng(11)
    h, pairs = FNV_OFFSET, []
    for _ in range(bits):
        a, b, h = _block_pair(h, rng)
        pairs.append((a, b))
    return tuple(b"".join(pair[(i >> j) & 1] for j, pair in enumerate(pairs)) for i in range(1 << bits))


def fnv_collisions(size: int) -> bytes:
    """Valid: layer, tensor and weight names that all share one 32-bit FNV-1a hash (hash flooding).

    Layer 0 owns every tensor; layer i + 1 and tensor i are named name i, which is also tensor
    i's weight: one hash for every string, every layer name, tensor name and (layer, weight).
    """
    bits = 17  # names of 68 bytes, enough for 16 MB
    n = max(2, min(1 << bits, size // (fmt.LAYER_RECORD_SIZE + fmt.TENSOR_RECORD_SIZE + 4 * bits + 1)))
    names = fnv_colliding_names(bits)[:n]
    t = _Table()
    layers = _layers(n + 1)
    for i in range(n + 1):
        _set(layers, i, "name", t.ref(names[i - 1] if i else b"owner"))
        _set(layers, i, "class", t.ref(b""))
        _set(layers, i, "config", t.ref(b""))
    tensors = np.zeros(n, fmt.TENSOR_DTYPE)
    for i in range(n):
        _set(tensors, i, "name", t.ref(names[i]))
        _set(tensors, i, "weight", t.ref(names[i]))
        _set(tensors, i, "source", t.ref(b""))
    layers[0]["tensor_count"] = n
    tensors["layer"] = 0
    tensors["dtype"], tensors["ndim"] = 1, 1  # float32 of shape (0,)
    return file_from_parts(bytes(t.data), layers, tensors)


def shared_long_weights(size: int) -> bytes:
    """Valid: every layer has two weights named by the same two long strings (one common prefix).

    A reader that hashes or sorts each (layer, weight) key by its text works layers x length.
    """
    per = size // 4
    weights = [b"w" * per + b"0", b"w" * per + b"1"]
    n = max(1, (size - 2 * per) // (fmt.LAYER_RECORD_SIZE + 2 * fmt.TENSOR_RECORD_SIZE + 24))
    t = _Table()
    layers = _layers(n)
    tensors = np.zeros(2 * n, fmt.TENSOR_DTYPE)
    for i in range(n):
        _set(layers, i, "name", t.ref(b"l%d" % i))
        _set(layers, i, "class", t.ref(b""))
        _set(layers, i, "config", t.ref(b""))
    for i in range(2 * n):
        _set(tensors, i, "name", t.ref(b"l%d/%d" % (i // 2, i % 2)))
        _set(tensors, i, "weight", t.ref(weights[i % 2]))
        _set(tensors, i, "source", t.ref(b""))
    layers["first_tensor"] = 2 * np.arange(n)
    layers["tensor_count"] = 2
    tensors["layer"] = np.arange(2 * n) // 2
    tensors["dtype"], tensors["ndim"] = 1, 1  # float32 of shape (0,)
    return file_from_parts(bytes(t.data), layers, tensors)


#: name -> (builder, valid?)
KINDS = {
    "shared_suffixes": (shared_suffixes, False),
    "shared_whole_strings": (shared_whole_strings, True),
    "max_records": (max_records, True),
    "common_prefix_names": (common_prefix_names, True),
    "deep_json": (deep_json, True),
    "fnv_collisions": (fnv_collisions, True),
    "shared_long_weights": (shared_long_weights, True),
}
