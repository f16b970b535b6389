#!/usr/bin/env python3
"""Write the kwbin golden test vectors: ``python spec/vectors/make_vectors.py``.

Valid files are written by ``kwbin.Writer`` (and two by re-laying-out a
written file as a newer minor version would); invalid files are each one
deliberate mutation of a valid file, with the header CRC recomputed unless
the CRC is the point.  Everything is deterministic: running the script twice
gives byte-identical files.  Before writing, every vector is checked against
the Python reader, so the script fails loudly if a mutation stops breaking the
rule it is named after.

``--out DIR`` writes into another folder (the tests regenerate into a temporary
one and compare).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

import numpy as np  # noqa: E402

import kwbin  # noqa: E402
from kwbin import checks  # noqa: E402
from kwbin import format as fmt  # noqa: E402
from kwbin.crc import crc32  # noqa: E402
from kwbin.listing import listing, listing_text  # noqa: E402

#: Fixed producer fields so the bytes do not change with kwbin's version.
PRODUCER = {"producer": "kwbin spec/vectors/make_vectors.py", "producer_version": "1"}


def metadata(**extra: Any) -> dict[str, Any]:
    return {**PRODUCER, **extra}


# ---------------------------------------------------------------------------
# Valid files, written by kwbin.Writer
# ---------------------------------------------------------------------------


def _minimal(w: kwbin.Writer) -> None:
    w.add_tensor("weight", np.arange(6, dtype="<f4").reshape(2, 3))


def _empty(w: kwbin.Writer) -> None:
    pass


def _every_dtype(w: kwbin.Writer) -> None:
    f32 = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 3.4028235e38, 1e-45], "<f4")
    f32_nan_payload = np.array([0x7FC00001, 0xFF800002], "<u4").view("<f4")
    w.add_tensor("float32", np.concatenate([f32, f32_nan_payload]))
    w.add_tensor(
        "float16", np.array([0.0, -0.0, 1.0, -65504.0, 6e-8, np.inf, -np.inf, np.nan], "<f2")
    )
    w.add_tensor(
        "bfloat16",
        np.array([0x3F80, 0xC020, 0x7F80, 0xFF80, 0x7FC0, 0x8000, 0x0001], "<u2"),
        dtype="bfloat16",
    )
    w.add_tensor(
        "bfloat16_from_float32", np.array([1.0, -2.5, np.pi, 1e-3], "<f4"), dtype="bfloat16"
    )
    w.add_tensor("float64", np.array([np.pi, -np.e, 1e308, 5e-324, -0.0, np.inf, np.nan], "<f8"))
    for bits in (8, 16, 32, 64):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        w.add_tensor(f"int{bits}", np.array([lo, -1, 0, 1, hi], f"<i{bits // 8}"))
        w.add_tensor(f"uint{bits}", np.array([0, 1, 2**bits - 2, 2**bits - 1], f"<u{bits // 8}"))
    w.add_tensor("bool", np.array([[True, False, True], [False, False, True]]))


def _scalars_and_empty(w: kwbin.Writer) -> None:
    w.add_tensor("scalar_float32", np.array(3.25, "<f4"))
    w.add_tensor("empty_1d", np.zeros((0,), "<f4"))
    w.add_tensor("scalar_int64", np.array(-(2**40), "<i8"))
    w.add_tensor("empty_3d", np.zeros((3, 0, 2), "<f8"))
    w.add_tensor("scalar_bool", np.array(True))
    w.add_tensor("scalar_uint8", np.array(255, "u1"))
    w.add_tensor("empty_last", np.zeros((0, 5), "<i2"))  # ends the payload


LONG_NAME = "very_long_layer_name_" + "x" * 279  # 300 bytes


def _layers_nested(w: kwbin.Writer) -> None:
    w.add_layer("model", "Functional", config={"name": "model", "trainable": True})
    w.add_layer("encoder", "Sequential", config={"name": "encoder", "layers": 2}, parent="model")
    w.add_layer(
        "embedding", "Embedding", config={"input_dim": 4, "output_dim": 2}, parent="encoder"
    )
    w.add_tensor(
        "model/encoder/embedding/embeddings",
        np.arange(8, dtype="<f4").reshape(4, 2),
        layer="embedding",
        weight="embeddings",
        source="h5:/model_weights/embedding/embeddings:0",
    )
    w.add_layer("dropout", "Dropout", config={"rate": 0.5}, parent="encoder")
    w.add_layer(
        "dense",
        "Dense",
        config={"units": 3, "activation": "relu", "use_bias": True},
        parent="model",
    )
    w.add_tensor(
        "model/dense/kernel",
        np.array([-1.0, -0.6, -0.2, 0.2, 0.6, 1.0], "<f4").reshape(2, 3),
        layer="dense",
        weight="kernel",
    )
    w.add_tensor(
        "model/dense/bias", np.array([0.5, 0.0, -0.5], "<f4"), layer="dense", weight="bias"
    )
    w.add_layer(
        "Schicht_ä_层",
        "LayerNormalization",
        config={"epsilon": 0.001, "name": "Schicht_ä_层"},
        parent="model",
    )
    w.add_tensor("model/Schicht_ä_层/γ", np.ones(3, "<f2"), layer="Schicht_ä_层", weight="γ")
    w.add_tensor("model/Schicht_ä_层/β", np.zeros(3, "<f2"), layer="Schicht_ä_层", weight="β")
    w.add_layer("block 1/conv a", "Conv2D", config=None, parent="model")
    w.add_tensor(
        "model/block 1/conv a/kernel",
        np.arange(12, dtype="i1").reshape(1, 2, 2, 3),
        layer="block 1/conv a",
        weight="kernel",
    )
    w.add_layer(LONG_NAME, "Dense", config={"units": 1}, parent="block 1/conv a")
    w.add_tensor(
        "model/" + LONG_NAME + "/kernel", np.array([[2.0]], "<f8"), layer=LONG_NAME, weight="kernel"
    )
    w.add_layer("flatten", "Flatten", parent="model")  # weightless, no config
    w.add_tensor("optimizer/iterations", np.array(1000, "<i8"), source="optimizer")


def _alignment(w: kwbin.Writer) -> None:
    w.add_tensor("a", np.arange(5, dtype="u1"))  # 5 bytes, then padding
    w.add_tensor("b", np.arange(3, dtype="<f4"))
    w.add_tensor("c", np.array([-1, 1], "<i8"))


def _big_shapes_8d(w: kwbin.Writer) -> None:
    w.add_tensor("ones_8d", np.ones((1,) * 8, "<f4"))
    w.add_tensor("cube_8d", np.arange(256, dtype="<f2").reshape((2,) * 8))
    w.add_tensor("mixed_8d", np.arange(6, dtype="i1").reshape(3, 1, 1, 1, 1, 1, 1, 2))
    w.add_tensor("zero_with_huge_dim", np.zeros((0, 2**40), "<f4"))
    w.add_tensor("zero_8d_huge", np.zeros((1, 2**20, 0, 2**20, 1, 1, 2**10, 1), "u1"))
    w.add_tensor("long_1d", np.arange(1000, dtype="<u2"))


def _metadata_depth_64(w: kwbin.Writer) -> None:
    w.add_tensor("x", np.array([1], "u1"))


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"d": value}
    return value


def _base(w: kwbin.Writer) -> None:
    w.add_layer("model", "Functional", config={"name": "model"})
    w.add_layer("dense", "Dense", config={"units": 2, "activation": "relu"}, parent="model")
    w.add_tensor(
        "dense/kernel", np.arange(6, dtype="<f4").reshape(3, 2), layer="dense", weight="kernel"
    )
    w.add_tensor("dense/bias", np.array([0.5, -0.5], "<f4"), layer="dense", weight="bias")
    w.add_layer("schicht_ä", "LayerNormalization", config={"epsilon": 0.001}, parent="model")
    w.add_tensor("schicht_ä/gamma", np.array([1.0, 2.0], "<f2"), layer="schicht_ä", weight="gamma")
    w.add_tensor("step", np.array(7, "<i8"))


def _shared_strings(w: kwbin.Writer) -> None:
    # One stored string serves several fields: a class used as a layer name, a
    # layer name used as a weight name, a tensor's name used as another's
    # source, the empty string everywhere.  And a weightless layer added
    # before the tensors of an earlier layer: its first_tensor (0) lies in
    # that layer's range, which the format allows (the field carries nothing).
    w.add_layer("dense", "Dense", config={"units": 1})
    w.add_layer("Dense", "dense", config={"units": 1})
    w.add_layer("relu", "Activation")
    w.add_tensor("dense/kernel", np.ones((1, 1), "<f4"), layer="dense", weight="dense")
    w.add_tensor("Dense/kernel", np.ones((1, 1), "<f4"), layer="Dense", weight="dense", source="dense/kernel")
    w.add_tensor("loose", np.zeros(2, "<u1"), source="")


#: name -> (build, alignment, metadata)
WRITTEN: dict[str, tuple[Callable[[kwbin.Writer], None], int, dict[str, Any]]] = {
    "minimal": (_minimal, 64, metadata()),
    "empty": (_empty, 64, metadata()),
    "every_dtype": (_every_dtype, 64, metadata()),
    "scalars_and_empty": (_scalars_and_empty, 64, metadata()),
    "layers_nested": (
        _layers_nested,
        64,
        metadata(user={"epochs": 3, "note": "nested layers, ünïcödé"}),
    ),
    "alignment_16": (_alignment, 16, metadata()),
    "alignment_4096": (_alignment, 4096, metadata()),
    "big_shapes_8d": (_big_shapes_8d, 64, metadata()),
    "metadata_depth_64": (_metadata_depth_64, 64, {**metadata(), "deep": _deep(63)}),
    "base": (_base, 64, metadata(note="the file most invalid vectors are mutated from")),
    "shared_strings": (_shared_strings, 64, metadata()),
}

DESCRIPTIONS = {
    "minimal": "one float32 tensor of shape (2, 3), no layers",
    "empty": "no tensors, no layers: empty string table and tables, empty payload",
    "every_dtype": "one tensor of each of the 13 dtypes, with extremes, -0.0, infinities and NaN payloads",
    "scalars_and_empty": "0-d tensors (shape []) and zero-size tensors, one of them ending the payload",
    "layers_nested": "nested layers (parents), weightless layers, configs, non-ASCII names, "
    "a name with '/' and spaces, a 300-byte layer name, a tensor outside any layer, sources",
    "alignment_16": "alignment 16 (the minimum), tensors of 5, 12 and 16 bytes",
    "alignment_4096": "the same tensors with alignment 4096",
    "big_shapes_8d": "8-d tensors, and zero-size tensors with dimensions up to 2**40",
    "metadata_depth_64": "metadata nested exactly 64 deep (the limit)",
    "base": "3 layers (one weightless), 3 layer tensors and a loose 0-d tensor: most invalid files mutate it",
    "shared_strings": "strings shared across fields (a class name as a layer name, a layer name as weight "
    "names of two layers, a tensor name as a source, one config for two layers) and a weightless layer whose "
    "first_tensor lies in another layer's range",
    "optional_flag": "'minimal' with flag bit 16 (an ignorable feature bit) set",
    "json_texts": "metadata and configs as JSON texts a writer other than kwbin's may produce: whitespace "
    "around the object, numbers written as in the file (-0, -0.0, 1E+2, 12.50, 30- and 309-digit integers, "
    "1e-400, the last values below the infinite range), every string escape, a pair of surrogate escapes, "
    "empty arrays and objects; a layer with an empty class and no config, one with the config {}",
    "tolerated": "what readers must not reject: keys repeated in the metadata (one spelled with an "
    "escape) and in a config, listed once at the first position with the last value; bool data "
    "holding bytes 2 and 255",
    "future_minor": "'layers_nested' laid out as a version 1.1 writer might: header_size 136 with 8 unknown "
    "header bytes, non-zero reserved header bytes, flag bit 16, layer records of 48 and tensor records "
    "of 128 bytes with unknown trailing bytes, non-zero record reserved fields, 8 unknown bytes "
    "between the string table and the layer table, and an unknown 24-byte section between the "
    "metadata and the payload. A 1.0 reader must list it exactly like 'layers_nested' (offsets aside)",
}


def write_with_writer(path: Path, name: str) -> bytes:
    build, alignment, meta = WRITTEN[name]
    with kwbin.Writer(path, metadata=meta, alignment=alignment) as w:
        build(w)
    return path.read_bytes()


# ---------------------------------------------------------------------------
# Raw access: unpack a file into its parts, lay the parts out again
# ---------------------------------------------------------------------------


def _fields(container: Any) -> dict[str, Any]:
    return {
        k: (list(v) if isinstance(v, list) else v)
        for k, v in container.items()
        if not k.startswith("_")
    }


@dataclass
class Raw:
    """A file's parts.  Tensor ``data_offset`` is relative to the payload start."""

    header: dict[str, Any]
    strings: bytes
    layers: list[dict[str, Any]]
    tensors: list[dict[str, Any]]
    metadata: bytes
    payload: bytes

    def copy(self) -> Raw:
        return Raw(
            dict(self.header),
            self.strings,
            [dict(r) for r in self.layers],
            [dict(r, shape=list(r["shape"])) for r in self.tensors],
            self.metadata,
            self.payload,
        )

    def ref(self, text: str) -> tuple[int, int]:
        """``(offset, length)`` of ``text`` as a whole string of the table."""
        raw = text.encode()
        pos = -1
        while True:
            pos = self.strings.index(raw + b"\0", pos + 1)
            if pos == 0 or self.strings[pos - 1] == 0:
                return pos, len(raw)


def restring(r: Raw, edits: dict[tuple[str, int, str], str], fresh: tuple[str, int, str] | None = None) -> None:
    """Give some string fields new texts and rebuild the canonical string table, as a writer would.

    ``edits`` maps ``("layers" | "tensors", index, field)`` to the new text;
    the field ``fresh`` gets a copy of its own even if its text is stored already.
    """
    texts = {
        (kind, i, f): r.strings[rec[f"{f}_offset"] : rec[f"{f}_offset"] + rec[f"{f}_length"]]
        for kind, fields in (("layers", checks.LAYER_STRINGS), ("tensors", checks.TENSOR_STRINGS))
        for i, rec in enumerate(getattr(r, kind))
        for f in fields
    }
    texts.update({key: text.encode() for key, text in edits.items()})
    pool: dict[bytes, int] = {}
    table = bytearray()
    for (kind, i, f), text in texts.items():  # dicts keep the visiting order
        if text not in pool or (kind, i, f) == fresh:
            pool[text] = len(table)
            table += text + b"\0"
        getattr(r, kind)[i].update({f"{f}_offset": pool[text], f"{f}_length": len(text)})
    r.strings = bytes(table)


def unpack(data: bytes) -> Raw:
    h = _fields(fmt.Header.parse(data[: fmt.HEADER_SIZE]))

    def section(name: str) -> bytes:
        return data[h[f"{name}_offset"] : h[f"{name}_offset"] + h[f"{name}_size"]]

    def records(struct: Any, table: bytes, size: int) -> list[dict[str, Any]]:
        return [
            _fields(struct.parse(table[i : i + struct.sizeof()]))
            for i in range(0, len(table), size)
        ]

    tensors = records(fmt.TensorRecord, section("tensors"), h["tensor_record_size"])
    for t in tensors:
        t["data_offset"] -= h["payload_offset"]
    return Raw(
        h,
        section("strings"),
        records(fmt.LayerRecord, section("layers"), h["layer_record_size"]),
        tensors,
        section("metadata"),
        section("payload"),
    )


def set_crc(data: bytearray) -> bytearray:
    payload_offset = fmt.Header.parse(bytes(data[: fmt.HEADER_SIZE])).payload_offset
    with memoryview(data) as view:
        crc = checks.header_crc32(view, payload_offset)
    data[fmt.HEADER_CRC_OFFSET : fmt.HEADER_SIZE] = crc.to_bytes(4, "little")
    return data


def patch_header(data: bytes, *, fix_crc: bool = True, **values: Any) -> bytearray:
    out = bytearray(data)
    h = _fields(fmt.Header.parse(bytes(out[: fmt.HEADER_SIZE])))
    unknown = set(values) - set(h)
    assert not unknown, unknown
    h.update(values)
    out[: fmt.HEADER_SIZE] = fmt.Header.build(h)
    return set_crc(out) if fix_crc else out


def pack(
    raw: Raw,
    *,
    minor: int = fmt.VERSION_MINOR,
    header_size: int = fmt.HEADER_SIZE,
    header_extension: bytes = b"",
    layer_record_size: int = fmt.LAYER_RECORD_SIZE,
    tensor_record_size: int = fmt.TENSOR_RECORD_SIZE,
    record_extension: bytes = b"",
    before: dict[str, bytes] | None = None,
    before_payload: bytes = b"",
    layers_tail: bytes = b"",
    tensors_tail: bytes = b"",
) -> bytearray:
    """Lay ``raw`` out as a writer would, with the given variations.

    ``before`` maps a section name to bytes put between its 8-aligned start
    and the section itself (unknown data a newer minor might place there);
    ``before_payload`` is an extra section between the metadata and the
    payload.  Records are padded to the record sizes with ``record_extension``.
    """
    before = before or {}
    out = bytearray(header_size)
    out[fmt.HEADER_SIZE : header_size] = header_extension.ljust(
        header_size - fmt.HEADER_SIZE, b"\0"
    )
    placed: dict[str, tuple[int, int]] = {}

    def place(name: str, blob: bytes) -> None:
        out.extend(bytes(checks.align_up(len(out), fmt.SECTION_ALIGNMENT) - len(out)))
        out.extend(before.get(name, b""))
        placed[name] = (len(out), len(blob))
        out.extend(blob)

    def table(struct: Any, rows: list[dict[str, Any]], size: int, tail: bytes) -> bytes:
        ext = record_extension[: size - struct.sizeof()].ljust(size - struct.sizeof(), b"\0")
        return b"".join(struct.build(r) + ext for r in rows) + tail

    def tensor_table(payload_offset: int) -> bytes:
        rows = [dict(t, data_offset=t["data_offset"] + payload_offset) for t in raw.tensors]
        return table(fmt.TensorRecord, rows, tensor_record_size, tensors_tail)

    place("strings", raw.strings)
    place("layers", table(fmt.LayerRecord, raw.layers, layer_record_size, layers_tail))
    place("tensors", tensor_table(0))  # the right offsets are filled in below
    place("metadata", raw.metadata)
    if before_payload:
        place("extra", before_payload)
    alignment = raw.header["alignment"]
    payload_offset = checks.align_up(len(out), alignment)
    out.extend(bytes(payload_offset - len(out)))
    out.extend(raw.payload)
    tensors_offset, tensors_size = placed["tensors"]
    out[tensors_offset : tensors_offset + tensors_size] = tensor_table(payload_offset)

    h = dict(raw.header)
    h.update(
        version_minor=minor,
        header_size=header_size,
        layer_record_size=layer_record_size,
        tensor_record_size=tensor_record_size,
        payload_offset=payload_offset,
        payload_size=len(raw.payload),
        header_crc32=0,
    )
    for name in fmt.SECTIONS:
        h[f"{name}_offset"], h[f"{name}_size"] = placed[name]
    out[: fmt.HEADER_SIZE] = fmt.Header.build(h)
    return set_crc(out)


def make_future_minor(layers_nested: bytes) -> bytes:
    raw = unpack(layers_nested).copy()
    raw.header["flags"] |= 1 << 16
    raw.header["reserved"] = b"future hdr\0\0"
    for r in raw.layers:
        r["reserved"] = 0x1234
    for r in raw.tensors:
        r["reserved0"], r["reserved1"] = 0x56, 0x789A
    return bytes(
        pack(
            raw,
            minor=1,
            header_size=136,
            header_extension=b"HDR-EXT!",
            layer_record_size=48,
            tensor_record_size=128,
            record_extension=b"REC-EXT!",
            before={"layers": b"GAP-DATA"},
            before_payload=b"unknown future section\0\0",
        )
    )


#: The largest double as an integer, and the least integer that rounds to
#: infinity (2**1024 - 2**970: half-way to 2**1024, ties go to even).
DBL_MAX_INT = int(sys.float_info.max)
FIRST_INFINITE_INT = 2**1024 - 2**970

#: Metadata text of 'json_texts': whitespace around the object, numbers that
#: are kept as written (-0, exponents, 30 and 309 digits, 1e-400 which rounds
#: to 0, the last ones below the infinite range), every escape and a pair of
#: surrogate escapes.
JSON_TEXTS_METADATA = (
    " \t\r\n{"
    + json.dumps(PRODUCER)[1:-1]
    + ',\r\n "numbers": [0, -0, -0.0, 1e-07, 0.001, 1.0, 1E+2, 2.5e-3, 12.50, 2147483648, '
    "-9223372036854775809, 123456789012345678901234567890, 1e-400, -1e-400, "
    "1.7976931348623157e308, -1.7976931348623158e308, "
    f"{DBL_MAX_INT}, -{FIRST_INFINITE_INT - 1}],\n"
    ' "strings": ["\\u00e9\\u65E5", "\\ud83d\\ude00", "\\uD83D\\uDE00", '
    '"\\/\\"\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\\u007f", "\u00e9\u65e5\U0001f600\x7f\u2028", ""],\n'
    ' "nested": [[], {}, [[1, [2, []]]], {"a": null, "b": true, "c": false}],\n'
    ' "empty_object" : {}\n}\r\n\t '
)

#: Layer configs of 'json_texts' (name, class, config text).
JSON_TEXTS_LAYERS = [
    ("spaced", "Dense", '\n{ "units" : 2 ,\t"rate":1e-07 }\t'),
    ("no_class_no_config", "", ""),
    ("empty_config", "Lambda", "{}"),
    ("escaped", "Custom", '{"name":"\\u00e9\\ud83d\\ude00 \\"q\\"","seed":12345678901234567890123456789,"e":-0}'),
]

#: Texts of 'tolerated': keys repeated (also in another spelling, "\u0064up"
#: is "dup"), which readers must not reject; the listing shows each key once,
#: at its first position, with its last value.
TOLERATED_METADATA = (
    "{" + json.dumps(PRODUCER)[1:-1]
    + ',"dup":1,"other":[1,2],"dup":{"last":false},"\\u0064up":"the last one",'
    '"nested":[{"k":1,"k":2}]}'
)
TOLERATED_CONFIG = '{"units":1,"activation":"relu","units":2}'


def _relaid(path: Path, build: Callable[[kwbin.Writer], None], change: Callable[[Raw], None]) -> bytes:
    """A file written by ``kwbin.Writer``, its parts changed, laid out again."""
    with kwbin.Writer(path, metadata=metadata(), alignment=64) as w:
        build(w)
    raw = unpack(path.read_bytes()).copy()
    change(raw)
    return bytes(pack(raw))


def make_json_texts(path: Path) -> bytes:
    def build(w: kwbin.Writer) -> None:
        for i, (name, class_name, _) in enumerate(JSON_TEXTS_LAYERS):
            w.add_layer(name, class_name, config={"placeholder": i})
        w.add_tensor("x", np.array([1.5], "<f4"))

    def change(r: Raw) -> None:
        r.metadata = JSON_TEXTS_METADATA.encode()
        restring(r, {("layers", i, "config"): text for i, (_, _, text) in enumerate(JSON_TEXTS_LAYERS)})

    return _relaid(path, build, change)


def make_tolerated(path: Path) -> bytes:
    def build(w: kwbin.Writer) -> None:
        w.add_layer("dense", "Dense", config={"placeholder": 0})
        w.add_tensor("dense/mask", np.array([True, False, True, True]), layer="dense", weight="mask")

    def change(r: Raw) -> None:
        r.metadata = TOLERATED_METADATA.encode()
        restring(r, {("layers", 0, "config"): TOLERATED_CONFIG})
        payload = bytearray(r.payload)
        payload[0:4] = b"\x01\x00\x02\xff"  # bool data other than 0 and 1
        r.payload = bytes(payload)
        r.tensors[0]["crc32"] = crc32(memoryview(bytes(payload[0:4])))

    return _relaid(path, build, change)


# ---------------------------------------------------------------------------
# Invalid files
# ---------------------------------------------------------------------------


@dataclass
class Invalid:
    name: str  # <code>__<what>
    at: str  # "open" or "verify"
    what: str
    data: bytes = field(repr=False)

    @property
    def code(self) -> str:
        return self.name.split("__")[0]


def invalid_vectors(valid: dict[str, bytes]) -> list[Invalid]:
    base = valid["base"]
    raw = unpack(base)
    h = raw.header
    out: list[Invalid] = []

    def add(name: str, what: str, data: bytes | bytearray, at: str = "open") -> None:
        out.append(Invalid(name, at, what, bytes(data)))

    def mutated(change: Callable[[Raw], None], **pack_args: Any) -> bytearray:
        r = raw.copy()
        change(r)
        return pack(r, **pack_args)

    def layer(i: int, **values: Any) -> bytearray:
        return mutated(lambda r: r.layers[i].update(values))

    def tensor(i: int, **values: Any) -> bytearray:
        return mutated(lambda r: r.tensors[i].update(values))

    def texts(**edits: str) -> bytearray:
        """Fields renamed as ``layers_1_name="dense"``, the table rebuilt canonically."""

        def change(r: Raw) -> None:
            keys = {}
            for key, text in edits.items():
                kind, i, f = key.split("_", 2)
                keys[(kind, int(i), f)] = text
            restring(r, keys)

        return mutated(change)

    def with_metadata(text: bytes) -> bytearray:
        return mutated(lambda r: setattr(r, "metadata", text))

    def with_strings(old: bytes, new: bytes) -> bytearray:
        assert len(old) == len(new) and raw.strings.count(old) == 1, old

        def change(r: Raw) -> None:
            r.strings = r.strings.replace(old, new)

        return mutated(change)

    def poke(data: bytes, offset: int, value: int, fix_crc: bool = True) -> bytearray:
        changed = bytearray(data)
        changed[offset] = value
        return set_crc(changed) if fix_crc else changed

    assert base == bytes(pack(raw)), "pack() must reproduce the writer's layout"
    n = len(base)
    po, a = h["payload_offset"], h["alignment"]
    strings_end = h["strings_offset"] + h["strings_size"]
    metadata_end = h["metadata_offset"] + h["metadata_size"]
    assert strings_end % 8 and metadata_end < po - 1, (
        "base needs padding after strings and metadata"
    )
    t0_end = raw.tensors[0]["data_offset"] + raw.tensors[0]["nbytes"]
    assert t0_end % a, "tensor 0 needs padding"

    # --- magic, byte order, version ----------------------------------------
    add(
        "not_kwbin__wrong_magic",
        "the first 8 bytes are 'KWBIN1' and two NULs",
        b"KWBIN1\0\0" + base[8:],
    )
    add(
        "not_kwbin__text_mode_crlf_to_lf",
        "every CR LF turned into LF, as a text-mode copy on Windows does",
        base.replace(b"\r\n", b"\n"),
    )
    add(
        "not_kwbin__text_mode_lf_to_crlf",
        "every LF turned into CR LF, as a text-mode copy to Windows does",
        base.replace(b"\n", b"\r\n"),
    )
    add(
        "not_kwbin__seven_bit_channel",
        "every byte's top bit cleared",
        bytes(b & 0x7F for b in base),
    )
    add(
        "not_kwbin__hdf5_file",
        "an HDF5 signature (a Keras .h5 file)",
        b"\x89HDF\r\n\x1a\n" + bytes(248),
    )
    add(
        "not_kwbin__zip_file",
        "a zip local header (a Keras .keras file)",
        b"PK\x03\x04" + bytes(252),
    )
    add("truncated__empty_file", "zero bytes", b"")
    add("truncated__inside_magic", "the first 5 bytes only", base[:5])
    add("truncated__inside_header", "the first 100 bytes only", base[:100])
    add("truncated__after_header", "the 128-byte header only", base[:128])
    for name in fmt.SECTIONS:
        off, size = h[f"{name}_offset"], h[f"{name}_size"]
        add(
            f"truncated__inside_{name}",
            f"cut in the middle of the {name} section",
            base[: off + size // 2],
        )
    add("truncated__at_payload_start", "cut where the payload starts", base[:po])
    add(
        "truncated__inside_payload",
        "cut in the middle of the payload",
        base[: po + h["payload_size"] // 2],
    )
    add("truncated__last_byte_missing", "the final padding byte is missing", base[:-1])
    add(
        "byte_order__big_endian_mark",
        "byte-order mark 01 02 03 04 (a big-endian writer)",
        patch_header(base, byte_order_mark=0x04030201),
    )
    add(
        "byte_order__zero_mark",
        "byte-order mark 00 00 00 00",
        patch_header(base, byte_order_mark=0),
    )
    add("version__major_2", "version 2.0", patch_header(base, version_major=2))
    add("version__major_0", "version 0.0", patch_header(base, version_major=0))

    # --- header fields ---------------------------------------------------------
    add(
        "bad_header__header_size_136_in_v1_0",
        "header_size 136 in a 1.0 file (must be 128)",
        patch_header(base, header_size=136),
    )
    add("bad_header__header_size_64", "header_size 64", patch_header(base, header_size=64))
    add(
        "bad_header__layer_record_size_48_in_v1_0",
        "layer_record_size 48 in a 1.0 file (must be 40)",
        patch_header(base, layer_record_size=48),
    )
    add(
        "bad_header__tensor_record_size_128_in_v1_0",
        "tensor_record_size 128 in a 1.0 file (must be 120)",
        patch_header(base, tensor_record_size=128),
    )
    add(
        "bad_header__future_minor_tensor_record_size_112",
        "version 1.1 with tensor_record_size 112 (less than 120)",
        patch_header(base, version_minor=1, tensor_record_size=112),
    )
    add(
        "bad_header__future_minor_layer_record_size_44",
        "version 1.1 with layer_record_size 44 (not a multiple of 8)",
        patch_header(base, version_minor=1, layer_record_size=44),
    )
    add(
        "bad_header__future_minor_header_size_132",
        "version 1.1 with header_size 132 (not a multiple of 8)",
        patch_header(base, version_minor=1, header_size=132),
    )
    add(
        "bad_header__unknown_required_flag",
        "flag bit 0 (a required feature bit no reader knows) set",
        patch_header(base, flags=1),
    )
    add(
        "bad_header__unknown_required_flag_bit_15",
        "flag bits 15 and 16 set: 16 may be ignored, 15 may not",
        patch_header(base, flags=0x18000),
    )
    add(
        "bad_header__reserved_bytes_not_zero",
        "header byte 123 (reserved) is 1",
        patch_header(base, reserved=bytes(11) + b"\x01"),
    )
    for alignment, label in (
        (0, "0"),
        (8, "8"),
        (48, "48"),
        (2**17, "131072"),
        (2**31, "2pow31"),
        (2**32 - 1, "4294967295"),
    ):
        add(
            f"bad_alignment__{label}",
            f"alignment {alignment}",
            patch_header(base, alignment=alignment),
        )

    # --- sections ------------------------------------------------------------------
    add(
        "bad_section__strings_not_right_after_header",
        "strings_offset 136 instead of 128",
        patch_header(base, strings_offset=136),
    )
    add(
        "bad_section__layers_misplaced",
        "layers_offset 8 bytes late",
        patch_header(base, layers_offset=h["layers_offset"] + 8),
    )
    add(
        "bad_section__tensors_misplaced",
        "tensors_offset 8 bytes early",
        patch_header(base, tensors_offset=h["tensors_offset"] - 8),
    )
    add(
        "bad_section__metadata_misplaced",
        "metadata_offset 8 bytes late",
        patch_header(base, metadata_offset=h["metadata_offset"] + 8),
    )
    add(
        "bad_section__payload_misplaced",
        "payload_offset one alignment late",
        patch_header(base, payload_offset=po + a),
    )
    add(
        "bad_section__payload_offset_not_aligned",
        "payload_offset 8 bytes late (not a multiple of the alignment)",
        patch_header(base, payload_offset=po + 8),
    )
    add(
        "bad_section__layers_size_not_multiple_of_record",
        "8 extra bytes after the layer records (layers_size 128 = 3 x 40 + 8)",
        mutated(lambda r: None, layers_tail=bytes(8)),
    )
    add(
        "bad_section__tensors_size_not_multiple_of_record",
        "8 extra bytes after the tensor records",
        mutated(lambda r: None, tensors_tail=bytes(8)),
    )
    huge_layers = fmt.LAYER_RECORD_SIZE * fmt.NO_INDEX
    tensors_at = h["layers_offset"] + huge_layers
    metadata_at = tensors_at + h["tensors_size"]
    add(
        "bad_section__layer_count_2pow32_minus_1",
        "layers_size says 4294967295 records (the following offsets moved to match)",
        patch_header(
            base,
            layers_size=huge_layers,
            tensors_offset=tensors_at,
            metadata_offset=metadata_at,
            payload_offset=checks.align_up(metadata_at + h["metadata_size"], a),
        ),
    )
    huge_tensors = fmt.TENSOR_RECORD_SIZE * fmt.NO_INDEX
    metadata_at = h["tensors_offset"] + huge_tensors
    add(
        "bad_section__tensor_count_2pow32_minus_1",
        "tensors_size says 4294967295 records (the following offsets moved to match)",
        patch_header(
            base,
            tensors_size=huge_tensors,
            metadata_offset=metadata_at,
            payload_offset=checks.align_up(metadata_at + h["metadata_size"], a),
        ),
    )
    add(
        "bad_section__metadata_end_overflows_64_bits",
        "metadata_offset + metadata_size = 2**64",
        patch_header(base, metadata_size=2**64 - h["metadata_offset"]),
    )
    add(
        "bad_section__payload_start_overflows_64_bits",
        "the metadata ends at 2**64 - 1, so the aligned payload start is 2**64",
        patch_header(base, metadata_size=2**64 - 1 - h["metadata_offset"]),
    )
    add(
        "bad_section__payload_end_overflows_64_bits",
        "payload_offset + payload_size = 2**64",
        patch_header(base, payload_size=2**64 - po),
    )
    add(
        "bad_section__nonzero_padding_after_strings",
        "the padding byte after the string table is a space",
        poke(base, strings_end, 0x20),
    )
    add(
        "bad_section__nonzero_padding_before_payload",
        "the last padding byte before the payload is 1",
        poke(base, po - 1, 1),
    )
    add(
        "bad_section__future_minor_sections_overlap",
        "version 1.1 whose layer table starts inside the string table",
        patch_header(base, version_minor=1, layers_offset=h["strings_offset"] + 8),
    )
    add("trailing_bytes__one_zero_byte", "one zero byte after the payload's end", base + b"\0")
    add("trailing_bytes__file_appended_to_itself", "the whole file written twice", base + base)

    # --- checksum -----------------------------------------------------------------
    add(
        "header_checksum__crc_field_changed",
        "header_crc32 with its low bit flipped",
        patch_header(base, fix_crc=False, header_crc32=h["header_crc32"] ^ 1),
    )
    add(
        "header_checksum__string_changed",
        "'kernel' changed to 'kernem' in the string table, CRC not updated",
        base.replace(b"kernel\0", b"kernem\0"),
    )
    add(
        "header_checksum__tensor_record_changed",
        "tensor 0's crc32 field changed, header CRC not updated",
        poke(base, h["tensors_offset"] + 32, base[h["tensors_offset"] + 32] ^ 0xFF, fix_crc=False),
    )
    add(
        "header_checksum__padding_before_payload_changed",
        "padding before the payload made non-zero, CRC not updated (the CRC is checked first)",
        poke(base, po - 1, 1, fix_crc=False),
    )

    # --- strings -------------------------------------------------------------------
    add(
        "bad_string__table_not_utf8",
        "a 0xFF byte in the middle of the class name 'Functional'",
        with_strings(b"Functional", b"Func\xffional"),
    )
    add(
        "bad_string__table_has_overlong_utf8",
        "'/b' in 'dense/bias' replaced by C0 AF (an overlong encoding of '/')",
        with_strings(b"se/bias", b"se\xc0\xafias"),
    )
    last = len(raw.strings)
    add(
        "bad_string__reference_past_table_end",
        "tensor 0's name at (table size - 2, 5)",
        tensor(0, name_offset=last - 2, name_length=5),
    )
    add(
        "bad_string__reference_ends_at_table_end",
        "tensor 3's name reference includes the table's final NUL",
        tensor(3, name_length=raw.tensors[3]["name_length"] + 1),
    )
    dense = raw.ref("dense")
    add(
        "bad_string__reference_not_nul_terminated",
        "layer 1's name length 4: 'dens' is followed by 'e', not NUL",
        layer(1, name_length=dense[1] - 1),
    )
    model, functional = raw.ref("model"), raw.ref("Functional")
    assert functional[0] == model[0] + model[1] + 1
    add(
        "bad_string__reference_contains_nul",
        "layer 0's name spans 'model\\0Functional'",
        layer(0, name_length=model[1] + 1 + functional[1]),
    )
    gamma = raw.ref("schicht_ä/gamma")
    add(
        "bad_string__reference_starts_inside_character",
        "tensor 2's name starts at the second byte of 'ä'",
        tensor(2, name_offset=gamma[0] + 9, name_length=gamma[1] - 9),
    )
    add(
        "bad_string__weight_reference_past_table_end",
        "tensor 1's weight at (table size, 0): no room for the NUL",
        tensor(1, weight_offset=last, weight_length=0),
    )

    kernel_name = raw.ref("dense/kernel")
    add(
        "bad_string__reference_to_a_suffix",
        "tensor 3's name is 'kernel', the tail of 'dense/kernel' (strings start at 0 or after a NUL)",
        tensor(3, name_offset=kernel_name[0] + 6, name_length=kernel_name[1] - 6),
    )
    add(
        "bad_string__reference_skips_a_string",
        "layer 0's class refers to 'Dense', skipping 'Functional' and the config (first-reference order)",
        layer(0, class_offset=raw.ref("Dense")[0], class_length=5),
    )

    def tail(extra: bytes) -> Callable[[Raw], None]:
        return lambda r: setattr(r, "strings", r.strings + extra)

    add(
        "bad_string__unreferenced_bytes_at_table_end",
        "3 bytes 'abc' without a NUL after the table's last string",
        mutated(tail(b"abc")),
    )
    add(
        "bad_string__unreferenced_string_at_table_end",
        "a whole string 'hidden\\0' that no record refers to, after the last one",
        mutated(tail(b"hidden\0")),
    )
    add(
        "bad_string__string_stored_twice",
        "tensor 1's empty source is a second empty string instead of the shared one",
        mutated(lambda r: restring(r, {}, fresh=("tensors", 1, "source"))),
    )

    # --- metadata -----------------------------------------------------------------
    for label, text, what in (
        ("not_json", b'{"producer": kwbin}', "unquoted string"),
        ("json_array", b'["kwbin"]', "a JSON array, not an object"),
        ("json_string", b'"kwbin"', "a JSON string, not an object"),
        ("nan_literal", b'{"loss":NaN}', "the NaN literal"),
        ("infinity_literal", b'{"loss":-Infinity}', "the -Infinity literal"),
        (
            "nested_65_deep",
            json.dumps(_deep(65), separators=(",", ":")).encode(),
            "objects nested 65 deep (the limit is 64)",
        ),
        (
            "arrays_nested_65_deep",
            b'{"a":' + b"[" * 64 + b"]" * 64 + b"}",
            "an object holding arrays nested 64 deep: 65 levels",
        ),
        ("not_utf8", b'{"a":"\xff"}', "a 0xFF byte inside a string"),
        ("empty", b"", "metadata_size 0"),
        ("two_objects", b"{}{}", "two objects in a row"),
        ("trailing_nul", b"{}\0", "a NUL after the object"),
        ("byte_order_mark", b'\xef\xbb\xbf{"a":1}', "a UTF-8 byte-order mark before the object"),
        ("overlong_utf8", b'{"a":"\xc0\xaf"}', "C0 AF in a string: an overlong encoding of '/' (RFC 3629)"),
        ("utf8_surrogate", b'{"a":"\xed\xa0\x80"}', "ED A0 80 in a string: U+D800 encoded as UTF-8 (RFC 3629)"),
        ("utf8_above_10ffff", b'{"a":"\xf4\x90\x80\x80"}', "F4 90 80 80 in a string: above U+10FFFF (RFC 3629)"),
        ("lone_high_surrogate_escape", b'{"a":"\\ud800"}', "the escape \\ud800 with no low surrogate after it"),
        ("lone_low_surrogate_escape", b'{"a":"x\\udc00"}', "the escape \\udc00 with no high surrogate before it"),
        ("reversed_surrogate_escapes", b'{"a":"\\ude00\\ud83d"}', "a low then a high surrogate escape"),
        ("high_surrogate_escape_then_letter", b'{"a":"\\uD83D\\u0041"}', "a high surrogate escape followed by \\u0041"),
        ("lone_surrogate_escape_in_a_key", b'{"\\udbff":1}', "an object key holding a lone surrogate escape"),
        ("number_1e400", b'{"a":1e400}', "1e400: beyond the range of a double"),
        ("number_minus_1e400", b'{"a":[-1e400]}', "-1e400 in an array"),
        ("number_rounding_to_infinity", b'{"a":1.7976931348623159e308}', "1.7976931348623159e308, which rounds to infinity"),
        (
            "integer_2pow1024_minus_2pow970",
            b'{"a":%d}' % FIRST_INFINITE_INT,
            "the 309-digit integer 2**1024 - 2**970: half-way between the largest double and 2**1024, rounds to infinity",
        ),
        ("integer_of_310_digits", b'{"a":1' + b"0" * 309 + b"}", "10**309, an integer of 310 digits"),
    ):
        add(f"bad_metadata__{label}", what, with_metadata(text))

    # --- layers -------------------------------------------------------------------------
    add("bad_layer__reserved_not_zero", "layer 1's reserved field is 1", layer(1, reserved=1))
    add(
        "bad_layer__empty_name",
        "layer 1's name is the empty string",
        texts(layers_1_name=""),
    )
    add("bad_layer__parent_is_itself", "layer 1's parent is 1", layer(1, parent=1))
    add(
        "bad_layer__parent_is_a_later_layer",
        "layer 0's parent is layer 2, whose parent is layer 0 (a cycle)",
        layer(0, parent=2),
    )
    add("bad_layer__parent_out_of_range", "layer 1's parent is 99", layer(1, parent=99))
    add(
        "bad_layer__tensor_range_past_end",
        "layer 2 claims tensors 2..6 of 4",
        layer(2, tensor_count=5),
    )
    add(
        "bad_layer__first_tensor_past_end",
        "weightless layer 0 has first_tensor 5 of 4 tensors",
        layer(0, first_tensor=5),
    )
    add(
        "bad_layer__config_not_json",
        "layer 1's config starts with '(' instead of '{'",
        with_strings(b'{"units":2', b'("units":2'),
    )
    add(
        "bad_layer__config_json_array",
        "layer 0's config is a JSON array",
        with_strings(b'{"name":"model"}', b'["name","model"]'),
    )
    add(
        "bad_layer__config_nan",
        "layer 2's config holds the NaN literal",
        with_strings(b'{"epsilon":0.001}', b'{"epsilon":NaN  }'),
    )
    add(
        "bad_layer__config_lone_surrogate_escape",
        "layer 2's config holds the lone escape \\udfff",
        texts(layers_2_config='{"epsilon":"\\udfff"}'),
    )
    add(
        "bad_layer__config_number_1e400",
        "layer 2's config holds 1e400",
        texts(layers_2_config='{"epsilon":1e400}'),
    )
    add(
        "bad_layer__config_byte_order_mark",
        "layer 2's config starts with a byte-order mark",
        texts(layers_2_config='\ufeff{"epsilon":0.001}'),
    )
    add(
        "bad_layer__claims_a_tensor_it_does_not_own",
        "weightless layer 0 claims tensor 3, whose layer is none",
        layer(0, first_tensor=3, tensor_count=1),
    )

    # --- tensors ----------------------------------------------------------------------
    add("bad_tensor__reserved0_not_zero", "tensor 1's reserved0 is 1", tensor(1, reserved0=1))
    add("bad_tensor__reserved1_not_zero", "tensor 1's reserved1 is 1", tensor(1, reserved1=1))
    add(
        "bad_tensor__empty_name",
        "tensor 1's name is the empty string",
        texts(tensors_1_name=""),
    )
    add("bad_tensor__layer_out_of_range", "tensor 0's layer is 3 of 3 layers", tensor(0, layer=3))
    add(
        "bad_tensor__weight_without_layer",
        "tensor 3 is in no layer but has weight name 'kernel'",
        texts(tensors_3_weight="kernel"),
    )
    add(
        "bad_tensor__layer_tensor_without_weight",
        "tensor 2 is in layer 2 but its weight name is empty",
        texts(tensors_2_weight=""),
    )
    for code in (0, 14, 255):
        add(f"bad_tensor__dtype_{code}", f"tensor 1's dtype code is {code}", tensor(1, dtype=code))
    add("bad_tensor__ndim_9", "tensor 0's ndim is 9", tensor(0, ndim=9))
    add(
        "bad_tensor__shape_past_ndim_not_zero",
        "tensor 1 (ndim 1) has shape[1] = 1",
        tensor(1, shape=[2, 1] + [0] * 6),
    )
    add(
        "bad_tensor__nbytes_mismatch",
        "tensor 0's nbytes is 28 for shape [3, 2] float32",
        tensor(0, nbytes=28),
    )
    add(
        "bad_tensor__nbytes_of_zero_size_shape",
        "tensor 0's shape is [0, 2] but nbytes is 24",
        tensor(0, shape=[0, 2] + [0] * 6),
    )
    add("bad_tensor__scalar_nbytes_zero", "0-d tensor 3 (int64) has nbytes 0", tensor(3, nbytes=0))
    add(
        "bad_tensor__outside_its_layers_range",
        "layer 1 claims only tensor 0, tensor 1 still names layer 1",
        layer(1, tensor_count=1),
    )
    add(
        "bad_tensor__owned_by_the_wrong_layer",
        "tensor 2 names layer 1, whose range is tensors 0..1",
        tensor(2, layer=1),
    )
    add(
        "size_overflow__shape_product_2pow66",
        "tensor 0's shape is [2**32, 2**32] float32: 2**66 bytes",
        tensor(0, shape=[2**32, 2**32] + [0] * 6),
    )
    add(
        "size_overflow__shape_product_2pow64_exactly",
        "tensor 3 (int64) has shape [2**31, 2**30]: exactly 2**64 bytes",
        tensor(3, ndim=2, shape=[2**31, 2**30] + [0] * 6),
    )
    add(
        "size_overflow__eight_dims_of_2pow8",
        "tensor 0 (float32) has 8 dims of 256: 2**66 bytes",
        tensor(0, ndim=8, shape=[256] * 8),
    )
    add(
        "size_overflow__2pow63_bytes",
        "tensor 0 (float32) has shape [2**30, 2**31]: 2**63 bytes, one more than allowed",
        tensor(0, shape=[2**30, 2**31] + [0] * 6),
    )
    add(
        "size_overflow__zero_size_with_huge_dims",
        "tensor 0 (float32) has shape [0, 2**62]: empty, but its other dims make 2**64 bytes",
        tensor(0, shape=[0, 2**62] + [0] * 6),
    )
    add(
        "bad_alignment__tensor_offset_not_aligned",
        "tensor 1 starts 16 bytes late (not a multiple of 64)",
        tensor(1, data_offset=raw.tensors[1]["data_offset"] + 16),
    )
    add(
        "tensor_overlap__same_offset_as_previous",
        "tensor 1 starts where tensor 0 starts",
        tensor(1, data_offset=raw.tensors[0]["data_offset"]),
    )
    add(
        "tensor_overlap__out_of_order",
        "tensor 3 starts where tensor 1 starts (tensors out of order)",
        tensor(3, data_offset=raw.tensors[1]["data_offset"]),
    )

    def swap(r: Raw) -> None:
        r.tensors[0]["data_offset"], r.tensors[1]["data_offset"] = (
            r.tensors[1]["data_offset"],
            r.tensors[0]["data_offset"],
        )

    add(
        "tensor_gap__first_two_tensors_swapped",
        "tensors 0 and 1 exchange data offsets: tensor 0 leaves a hole",
        mutated(swap),
    )
    add(
        "tensor_gap__hole_before_tensor_2",
        "tensor 2 starts one alignment late",
        tensor(2, data_offset=raw.tensors[2]["data_offset"] + a),
    )
    add(
        "bad_payload__tensor_runs_past_payload_end",
        "tensor 3 is int64 [20] (160 bytes) but only 64 bytes of payload remain",
        tensor(3, ndim=1, shape=[20] + [0] * 7, nbytes=160),
    )
    add(
        "bad_payload__payload_size_too_big",
        "payload_size one alignment too big, file grown to match",
        patch_header(base + bytes(a), payload_size=h["payload_size"] + a),
    )
    end = raw.tensors[-1]["data_offset"] + raw.tensors[-1]["nbytes"]
    add(
        "bad_payload__payload_size_without_final_padding",
        "payload_size stops at the last tensor's end, unpadded; file cut to match",
        patch_header(base[: po + end], payload_size=end),
    )
    empty = valid["empty"]
    empty_po = unpack(empty).header["payload_offset"]
    add(
        "bad_payload__payload_in_a_file_without_tensors",
        "'empty' with payload_size 64 and 64 zero bytes",
        patch_header(empty + bytes(64), payload_size=64),
    )
    assert len(empty) == empty_po
    add(
        "duplicate_name__two_layers",
        "layer 2 is also named 'dense'",
        texts(layers_2_name="dense"),
    )
    add(
        "duplicate_name__two_tensors",
        "tensor 3 is also named 'dense/kernel'",
        texts(tensors_3_name="dense/kernel"),
    )
    add(
        "duplicate_name__two_weights_in_a_layer",
        "tensors 0 and 1 of layer 1 both have weight name 'kernel'",
        texts(tensors_1_weight="kernel"),
    )

    # --- found by verify() ---------------------------------------------------------
    add(
        "tensor_checksum__payload_byte_changed",
        "the first byte of tensor 0's data changed",
        poke(base, po, base[po] ^ 1),
        at="verify",
    )
    add(
        "tensor_checksum__record_crc_changed",
        "tensor 2's crc32 field changed (header CRC updated)",
        tensor(2, crc32=raw.tensors[2]["crc32"] ^ 0x80000000),
        at="verify",
    )
    add(
        "tensor_checksum__zero_size_tensor_with_crc",
        "'scalars_and_empty' with empty tensor 1's crc32 set to 1",
        mutated_file(valid["scalars_and_empty"], 1, crc32=1),
        at="verify",
    )
    add(
        "bad_padding__after_first_tensor",
        "the byte after tensor 0's data is 1",
        poke(base, po + t0_end, 1),
        at="verify",
    )
    add(
        "tensor_checksum__and_bad_padding_of_the_same_tensor",
        "tensor 0's first data byte and the byte after its data changed: its CRC is checked first",
        poke(poke(base, po, base[po] ^ 1), po + t0_end, 1),
        at="verify",
    )
    add(
        "bad_padding__then_a_bad_checksum_of_the_next_tensor",
        "the byte after tensor 0's data is 1 and tensor 1's first data byte changed: tensor by tensor",
        poke(poke(base, po + t0_end, 1), raw.tensors[1]["data_offset"] + po, base[raw.tensors[1]["data_offset"] + po] ^ 1),
        at="verify",
    )
    add(
        "bad_padding__last_byte_of_file",
        "the last byte (padding after the last tensor) is 0x80",
        poke(base, n - 1, 0x80),
        at="verify",
    )
    return out


def mutated_file(data: bytes, index: int, **values: Any) -> bytearray:
    raw = unpack(data).copy()
    raw.tensors[index].update(values)
    return pack(raw)


# ---------------------------------------------------------------------------
# Checking and writing
# ---------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    """EXPECTED.json: the listing's layout (spec section 14)."""
    text = _layout(value) + "\n"
    assert json.loads(text) == value
    return text


def _layout(value: Any, indent: str = "") -> str:
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = (f"{inner}{json.dumps(k, ensure_ascii=False)}: {_layout(v, inner)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _no_constant(name: str) -> Any:
    raise AssertionError(f"{name} in a listing")


def _open(data: bytes) -> kwbin.KwbinFile:
    return kwbin.open(data)


def check_valid(name: str, data: bytes) -> str:
    """The listing text of a valid file, checked to be strict JSON for its listing."""
    with _open(data) as f:
        f.verify()
        text = listing_text(f)
        assert json.loads(text, parse_constant=_no_constant) == listing(f), name
        return text


def check_invalid(vector: Invalid) -> None:
    try:
        with _open(vector.data) as f:
            if vector.at == "open":
                raise AssertionError(f"{vector.name}: opened without error")
            f.verify()
    except kwbin.KwbinError as exc:
        if exc.code != vector.code:
            raise AssertionError(
                f"{vector.name}: expected {vector.code}, got {exc.code}: {exc}"
            ) from None
        return
    raise AssertionError(f"{vector.name}: verify() passed")


def build_all(work: Path) -> tuple[dict[str, bytes], list[Invalid]]:
    valid = {name: write_with_writer(work / f"{name}.kwb", name) for name in WRITTEN}
    valid["optional_flag"] = bytes(patch_header(valid["minimal"], flags=1 << 16))
    valid["future_minor"] = make_future_minor(valid["layers_nested"])
    valid["json_texts"] = make_json_texts(work / "json_texts.kwb")
    valid["tolerated"] = make_tolerated(work / "tolerated.kwb")
    return valid, invalid_vectors(valid)


def write_all(out: Path) -> None:
    valid_dir, invalid_dir = out / "valid", out / "invalid"
    for folder in (valid_dir, invalid_dir):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            if old.suffix in (".kwb", ".json"):
                old.unlink()
    valid, invalid = build_all(valid_dir)
    for name, data in valid.items():
        text = check_valid(name, data)
        (valid_dir / f"{name}.kwb").write_bytes(data)
        (valid_dir / f"{name}.json").write_bytes(text.encode("utf-8"))
    names = [v.name for v in invalid]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, duplicates
    expected = {}
    for vector in invalid:
        check_invalid(vector)
        (invalid_dir / f"{vector.name}.kwb").write_bytes(vector.data)
        expected[f"{vector.name}.kwb"] = {"code": vector.code, "at": vector.at, "what": vector.what}
    (invalid_dir / "EXPECTED.json").write_text(_json_text(expected), encoding="utf-8")
    (out / "README.md").write_text(readme(list(valid), invalid), encoding="utf-8")
    print(f"wrote {len(valid)} valid and {len(invalid)} invalid vectors to {out}")


README_INTRO = """\
# kwbin test vectors

Golden files for any kwbin reader (see "Test vectors" in `../FORMAT.md`). This file is written by
`make_vectors.py`; edit the script, not this file.

## Layout

- `valid/<name>.kwb`: a valid file; `valid/<name>.json`: its listing, exactly what a reader must
  find in it (below).
- `invalid/<code>__<what>.kwb`: a file breaking one rule. `<code>` is the error name of
  `FORMAT.md` (`bad_tensor`, `truncated`, ...); `invalid/EXPECTED.json` maps each file name to
  `{"code": <error name>, "at": "open" | "verify", "what": <the mutation>}`.

## How to use them

- Every valid file must open, list exactly as its `.json` says, and pass `verify`.
- Every invalid file with `"at": "open"` must be refused at open with exactly that error. Every
  one with `"at": "verify"` must open (it breaks no structural rule) and then fail `verify` with
  exactly that error. Readers check the rules in the order of the reader rules of `FORMAT.md`,
  so each file has one right answer even where several problems could be noticed.

The listing (`kwbin.listing.listing_text(f)`, printed by `kwbin info --json` and by the C
tool `kwbin-dump`) is normative: its members, layout, string escapes, numbers (written as their
token in the file) and repeated keys (once, first position, last value) are defined in section 14
of `FORMAT.md`. Each `valid/<name>.json` is that listing byte for byte.

## Regenerating

```sh
python spec/vectors/make_vectors.py            # rewrites valid/, invalid/ and this README
python spec/vectors/make_vectors.py --out DIR  # writes them somewhere else
```

It needs numpy and construct and imports kwbin from `src/`. The output is deterministic (fixed
content, fixed producer fields, no timestamps); `tests/test_vectors.py` regenerates into a
temporary folder and requires byte-identical files, and checks every vector against the Python
reader. Valid files are written by `kwbin.Writer`, except `optional_flag`, `future_minor`, `json_texts`
and `tolerated`, which re-lay-out a written file. Invalid files each mutate one valid file (mostly `base`) and
recompute the header CRC unless the CRC is the point; the script checks that each one fails with
its code before writing it.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def readme(valid: list[str], invalid: list[Invalid]) -> str:
    lines = [README_INTRO, "## Valid files", "", "| File | Content |", "|---|---|"]
    lines += [f"| `valid/{name}.kwb` | {_cell(DESCRIPTIONS[name])} |" for name in sorted(valid)]
    lines += [
        "",
        f"## Invalid files ({len(invalid)})",
        "",
        "| File | At | Mutation |",
        "|---|---|---|",
    ]
    lines += [f"| `{v.name}.kwb` | {v.at} | {_cell(v.what)} |" for v in invalid]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=HERE, help="folder to write valid/ and invalid/ into"
    )
    args = parser.parse_args(argv)
    write_all(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
