"""Every structural rule of spec/FORMAT.md, checked in the spec's order.

``parse(buf)`` either returns the decoded tables or raises the ``KwbinError``
named by the first rule that fails.  The order matters: the C reader makes
the same checks in the same order, so both give the same verdict for any
input.  Table checks are vectorised with numpy so that opening a file with
10,000 tensors costs about a millisecond; per-record rules are evaluated as
masks and the first failing record (then the first failing rule of that
record) decides the error, exactly as a record-by-record loop would.

Python integers never overflow, but the spec's overflow rules are kept
explicit (``U64_MAX``) so the verdicts match a reader using 64-bit integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

from . import errors as e
from . import format as fmt
from . import quickcheck
from .crc import crc32, raw_crc32
from .jsontext import JsonTextError, parse_object

U64_MAX = (1 << 64) - 1
LAYER_STRINGS = ("name", "class", "config")  # string fields in the order references are visited
TENSOR_STRINGS = ("name", "weight", "source")
I64_MAX = (1 << 63) - 1


@dataclass
class Parsed:
    """The checked tables of one file, ready for ``KwbinFile``.

    Names are ``str``.  A tensor is found by name through the rank of its
    name in the string table (``rank_of``, built by the check that no string
    is stored twice): no name index is built at open.
    """

    header: dict[str, int]
    strings: bytes
    layers: np.ndarray
    tensors: np.ndarray
    metadata: dict[str, Any]
    layer_configs: list[dict[str, Any] | None]
    layer_names: list[str]
    tensor_names: list[str]
    name_ranks: np.ndarray
    rank_of: dict[str, int]
    _tensor_of_rank: np.ndarray | None = None

    def index_of(self, name: str) -> int:
        """The index of the tensor called ``name``; KeyError if there is none."""
        if self._tensor_of_rank is None:
            which = np.full(len(self.rank_of) + 1, -1, np.int64)
            which[self.name_ranks] = np.arange(len(self.name_ranks))
            self._tensor_of_rank = which
        i = int(self._tensor_of_rank[self.rank_of[name]])
        if i < 0:
            raise KeyError(name)  # a string of the table, but no tensor's name
        return i

    @property
    def tensor_index(self) -> dict[str, int]:
        """Every tensor name with its index."""
        return dict(zip(self.tensor_names, range(len(self.tensor_names))))


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) & ~(alignment - 1)


# ---------------------------------------------------------------------------
# Header
# ---------------------------------------------------------------------------


def _magic_problem(first: bytes) -> str:
    """Say what the first bytes look like, to explain a wrong magic."""
    if first.startswith(b"\x89KWB\n\x1a\n") or first.startswith(b"\x89KWB\r\r\n"):
        return "the kwbin magic with its line endings changed: the file was copied in text mode"
    if first.startswith(b"\x09KWB\r\n"):
        return "the kwbin magic with its top bit cleared: the file went through a 7-bit channel"
    if first.startswith(b"\x89HDF"):
        return "an HDF5 file (a Keras .h5?): pack it with `kwbin pack` first"
    if first.startswith(b"PK\x03\x04"):
        return "a zip archive (a Keras .keras?): pack it with `kwbin pack` first"
    return f"bytes {first.hex(' ')}"


def _check_header(buf: memoryview) -> dict[str, int]:
    n = len(buf)
    first = bytes(buf[: len(fmt.MAGIC)])
    if first != fmt.MAGIC[: len(first)]:
        raise e.NotKwbinFile(
            f"not a kwbin file: expected magic {fmt.MAGIC.hex(' ')}, found {_magic_problem(first)}"
        )
    if n < fmt.HEADER_SIZE:
        raise e.TruncatedFile(f"file is {n} bytes, shorter than the {fmt.HEADER_SIZE}-byte header")
    h = dict(zip(fmt.HEADER_FIELDS, fmt.HEADER_STRUCT.unpack_from(buf)))
    reserved = h.pop("reserved")
    del h["magic"]

    bom = buf[8:12].tobytes()
    if bom == fmt.BYTE_ORDER_MARK_BE:
        raise e.UnsupportedByteOrder(
            "file is big-endian (byte-order mark 01 02 03 04); kwbin v1 files are little-endian"
        )
    if bom != fmt.BYTE_ORDER_MARK_LE:
        raise e.UnsupportedByteOrder(f"byte-order mark is {bom.hex(' ')}, expected 04 03 02 01")
    if h["version_major"] != fmt.VERSION_MAJOR:
        raise e.UnsupportedVersion(
            f"file is format version {h['version_major']}.{h['version_minor']}; "
            f"this reader reads major version {fmt.VERSION_MAJOR}"
        )
    known = h["version_minor"] <= fmt.VERSION_MINOR
    h["known_minor"] = int(known)

    for field, size in (
        ("header_size", fmt.HEADER_SIZE),
        ("layer_record_size", fmt.LAYER_RECORD_SIZE),
        ("tensor_record_size", fmt.TENSOR_RECORD_SIZE),
    ):
        value = h[field]
        if known and value != size:
            raise e.BadHeader(f"{field} is {value}, expected {size}")
        if not known and (value < size or value % fmt.SECTION_ALIGNMENT):
            raise e.BadHeader(f"{field} is {value}, expected a multiple of 8 of at least {size}")
    unknown = h["flags"] & fmt.REQUIRED_FLAGS_MASK & ~fmt.KNOWN_FLAGS
    if unknown:
        raise e.BadHeader(f"flags 0x{h['flags']:08x} set required feature bits 0x{unknown:04x} this reader does not know")
    if known and any(reserved):
        raise e.BadHeader("reserved header bytes 112-123 are not zero")

    a = h["alignment"]
    if a < fmt.MIN_ALIGNMENT or a > fmt.MAX_ALIGNMENT or a & (a - 1):
        raise e.BadAlignment(
            f"alignment is {a}, expected a power of two from {fmt.MIN_ALIGNMENT} to {fmt.MAX_ALIGNMENT}"
        )
    return h


def _check_sections(h: dict[str, int]) -> list[tuple[int, int]]:
    """Placement of the sections; returns the gaps that must hold zeros."""
    known = h["known_minor"]
    gaps = []
    pos = h["header_size"]
    for name in fmt.SECTIONS:
        off, size = h[f"{name}_offset"], h[f"{name}_size"]
        want = align_up(pos, fmt.SECTION_ALIGNMENT)
        if known and off != want:
            raise e.BadSection(f"{name} section starts at {off}, expected {want}")
        if not known and (off < pos or off % fmt.SECTION_ALIGNMENT):
            raise e.BadSection(f"{name} section starts at {off}, expected a multiple of 8 from {pos}")
        if off + size > U64_MAX:
            raise e.BadSection(f"{name} section offset {off} + size {size} overflows 64 bits")
        gaps.append((pos, off))
        pos = off + size
    for name, record in (("layers", "layer_record_size"), ("tensors", "tensor_record_size")):
        size, rec = h[f"{name}_size"], h[record]
        if size % rec:
            raise e.BadSection(f"{name} section is {size} bytes, not a multiple of its {rec}-byte records")
        if size // rec >= fmt.NO_INDEX:
            raise e.BadSection(f"{name} section holds {size // rec} records, more than {fmt.NO_INDEX - 1}")
    a, payload = h["alignment"], h["payload_offset"]
    want = align_up(pos, a)
    if want > U64_MAX:
        raise e.BadSection(f"payload offset {pos} rounded up to {a} overflows 64 bits")
    if known and payload != want:
        raise e.BadSection(f"payload starts at {payload}, expected {want}")
    if not known and (payload < pos or payload % a):
        raise e.BadSection(f"payload starts at {payload}, expected a multiple of {a} from {pos}")
    if payload + h["payload_size"] > U64_MAX:
        raise e.BadSection(f"payload offset {payload} + size {h['payload_size']} overflows 64 bits")
    gaps.append((pos, payload))
    return gaps


def _check_extent(h: dict[str, int], n: int) -> None:
    end = h["payload_offset"] + h["payload_size"]
    if end > n:
        raise e.TruncatedFile(f"file is {n} bytes, but its payload ends at byte {end}")
    if end < n:
        raise e.TrailingBytes(f"file is {n} bytes, but its payload ends at byte {end}")


def header_crc32(buf: memoryview, payload_offset: int) -> int:
    """CRC-32 of every byte before the payload except the CRC field itself."""
    crc = raw_crc32(buf[: fmt.HEADER_CRC_OFFSET])
    return raw_crc32(buf[fmt.HEADER_CRC_OFFSET + 4 : payload_offset], crc)


def _check_crc(buf: memoryview, h: dict[str, int]) -> None:
    crc = header_crc32(buf, h["payload_offset"])
    if crc != h["header_crc32"]:
        raise e.HeaderChecksumMismatch(
            f"header CRC-32 is {h['header_crc32']:08x}, the bytes give {crc:08x}"
        )


def _all_zero(view: memoryview) -> bool:
    data = bytes(view)
    return data.count(0) == len(data)


def _check_gaps(buf: memoryview, gaps: list[tuple[int, int]]) -> None:
    for start, end in gaps:
        if not _all_zero(buf[start:end]):
            raise e.BadSection(f"padding bytes {start}-{end - 1} between sections are not zero")


# ---------------------------------------------------------------------------
# Strings and metadata
# ---------------------------------------------------------------------------


class _StringTable:
    """The string table, and vectorised checks of (offset, length) references into it.

    The table is canonical (spec section 5): every reference is a whole
    NUL-terminated string, strings appear in the order of their first
    reference, every byte belongs to a referenced string and no string is
    stored twice.  So a string is identified by its offset, and each string
    is scanned, hashed or parsed once, however many records share it.
    """

    def __init__(self, table: bytes):
        try:
            self.text = table.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise e.BadString(f"string table is not UTF-8 at byte {exc.start}: {exc.reason}") from None
        self.table = table
        self.size = len(table)
        self.raw = np.frombuffer(table, np.uint8)
        self.nuls = np.flatnonzero(self.raw == 0)
        # starts[k]: where the k-th NUL-terminated string of the table starts
        self.starts = np.zeros(self.nuls.size + 1, np.int64)
        self.starts[1:] = self.nuls + 1
        self._pieces: list[str] | None = None

    @property
    def pieces(self) -> list[str]:
        """The table's strings by rank, decoded (one shared str each), then what follows the last NUL.

        NUL is one byte in UTF-8 and one character decoded: the k-th piece of
        the text is the k-th NUL-terminated string of the bytes.
        """
        if self._pieces is None:
            self._pieces = self.text.split("\0")
        return self._pieces

    def bad(self, refs: list[tuple[np.ndarray, np.ndarray]], first_new: int = 0) -> list[np.ndarray]:
        """For each (offsets, lengths) pair, the mask of references that break a rule.

        The pairs are the string fields of one table, visited record by
        record, field by field; ``first_new`` is where the next string not
        referenced before must start.  A reference is good when the first NUL
        at or after its start is right at its end, it starts a string of the
        table, and it does not start past ``first_new`` (the running end of
        the strings referenced so far).
        """
        sizes = [len(off) for off, _ in refs]
        off = np.concatenate([o for o, _ in refs]).astype(np.int64)
        end = off + np.concatenate([n for _, n in refs]).astype(np.int64)
        ok = end < self.size  # room for the terminating NUL
        if self.nuls.size:
            first_nul = np.minimum(np.searchsorted(self.nuls, off), self.nuls.size - 1)
            ok &= (self.nuls[first_nul] == end) & (self.starts[first_nul] == off)
        else:
            ok[:] = False
        fields = len(refs)
        ok &= quickcheck.in_first_reference_order(off.reshape(fields, -1), end.reshape(fields, -1), first_new).ravel()
        bad = ~ok
        out, start = [], 0
        for size in sizes:
            out.append(bad[start : start + size])
            start += size
        return out

    def ranks(self, offsets: np.ndarray) -> np.ndarray:
        """The rank of each checked reference's string (its index among the table's strings)."""
        return np.searchsorted(self.starts, offsets.astype(np.int64))

    def by_rank(self, ranks: np.ndarray) -> list[str]:
        """The strings of the given ranks, as the table's shared str objects.

        Names usually take consecutive ranks (a flat file's names follow each
        other in the table): such runs are copied as list slices.
        """
        pieces = self.pieces
        if not len(ranks):
            return []
        breaks = np.flatnonzero(ranks[1:] != ranks[:-1] + 1) + 1
        if len(breaks) > len(ranks) // 8:
            return list(map(pieces.__getitem__, ranks.tolist()))
        out: list[str] = []
        starts = [0, *breaks.tolist()]
        for begin, end in zip(starts, [*starts[1:], len(ranks)]):
            first = int(ranks[begin])
            out += pieces[first : first + end - begin]
        return out

    def get(self, offset: int, length: int) -> bytes:
        return self.table[offset : offset + length]

    def all(self, offsets: np.ndarray, lengths: np.ndarray) -> list[bytes]:
        t = self.table
        starts = offsets.astype(np.int64)
        return [t[o:end] for o, end in zip(starts.tolist(), (starts + lengths).tolist())]


def refs_end(table: np.ndarray, fields: tuple[str, ...], first_new: int = 0) -> int:
    """Where the next new string starts after the references of ``table`` (all checked)."""
    reach = first_new
    for f in fields:
        if len(table):
            reach = max(reach, int((table[f"{f}_offset"].astype(np.int64) + table[f"{f}_length"]).max()) + 1)
    return reach


def _string_problem(what: str, strings: _StringTable, off: int, length: int, reach: int) -> str:
    """Why a reference is bad; ``reach`` is where the next new string had to start."""
    at = f"{what} string at {off}+{length}"
    if off + length >= strings.size:
        return f"{at} runs past the {strings.size}-byte string table"
    if strings.table[off + length] != 0:
        return f"{at} is not followed by a NUL byte"
    if 0 in strings.table[off : off + length]:
        return f"{at} contains a NUL byte"
    if off and strings.table[off - 1] != 0:
        return f"{at} starts inside another string (strings start at 0 or after a NUL)"
    return f"{at} skips the string table's bytes {reach}..{off - 1}: strings must be stored in the order of their first reference"


def _parse_metadata(buf: memoryview, h: dict[str, int]) -> dict[str, Any]:
    raw = bytes(buf[h["metadata_offset"] : h["metadata_offset"] + h["metadata_size"]])
    try:
        return parse_object(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise e.BadMetadata(f"metadata is not UTF-8 at byte {exc.start}") from None
    except JsonTextError as exc:
        raise e.BadMetadata(f"metadata is not a JSON object: {exc}") from None


# ---------------------------------------------------------------------------
# Record tables
# ---------------------------------------------------------------------------

Rule = tuple[np.ndarray, Callable[[int], e.KwbinError]]


def _first_failure(rules: list[Rule]) -> tuple[int, e.KwbinError] | None:
    """The first record breaking any rule, with the first rule it breaks."""
    if not rules or not len(rules[0][0]):
        return None
    combined = rules[0][0].copy()
    for mask, _ in rules[1:]:
        combined |= mask
    hits = np.flatnonzero(combined)
    if not hits.size:
        return None
    first = int(hits[0])
    for mask, make in rules:
        if mask[first]:
            return first, make(first)
    raise AssertionError("unreachable")


def _ref_rules(
    kind: str, table: np.ndarray, fields: tuple[str, ...], strings: _StringTable, first_new: int
) -> list[Rule]:
    """One rule per string reference field, all checked in one pass over the table."""
    pairs = [(table[f"{f}_offset"], table[f"{f}_length"]) for f in fields]
    masks = strings.bad(pairs, first_new) if len(table) else [np.zeros(0, bool) for _ in fields]

    def problem(field: int, off: np.ndarray, length: np.ndarray) -> Callable[[int], e.KwbinError]:
        def make(i: int) -> e.KwbinError:
            # The references visited before this one: earlier records, then earlier fields of record i.
            reach = refs_end(table[:i], fields, first_new)
            reach = refs_end(table[i : i + 1], fields[:field], reach)
            return e.BadString(
                f"{kind} {i}: " + _string_problem(fields[field], strings, int(off[i]), int(length[i]), reach)
            )

        return make

    return [(mask, problem(k, off, n)) for k, (mask, (off, n)) in enumerate(zip(masks, pairs))]


def _check_layers(
    layers: np.ndarray, strings: _StringTable, tensor_count: int, known: bool
) -> list[dict[str, Any] | None]:
    count = len(layers)
    if not count:
        return []
    index = np.arange(count, dtype=np.int64)
    parent = layers["parent"].astype(np.int64)
    first = layers["first_tensor"].astype(np.int64)
    n = layers["tensor_count"].astype(np.int64)

    ref = _ref_rules("layer", layers, LAYER_STRINGS, strings, 0)

    reserved = layers["reserved"] != 0 if known else np.zeros(count, bool)
    rules: list[Rule] = [
        (reserved, lambda i: e.BadLayer(f"layer {i}: reserved field is not zero")),
        *ref,
        (layers["name_length"] == 0, lambda i: e.BadLayer(f"layer {i}: name is empty")),
        (
            (parent != fmt.NO_INDEX) & (parent >= index),
            lambda i: e.BadLayer(
                f"layer {i}: parent is {int(parent[i])}, expected a layer before it or 0xFFFFFFFF"
            ),
        ),
        (
            first + n > tensor_count,
            lambda i: e.BadLayer(
                f"layer {i}: tensors {int(first[i])}..{int(first[i] + n[i]) - 1} "
                f"run past the {tensor_count} tensors"
            ),
        ),
    ]
    failure = _first_failure(rules)
    limit = failure[0] if failure else count
    configs: list[dict[str, Any] | None] = []
    parsed: dict[int, dict[str, Any]] = {}  # by offset: layers sharing a config string parse it once
    offs, lens = layers["config_offset"][:limit].tolist(), layers["config_length"][:limit].tolist()
    for i, (off, length) in enumerate(zip(offs, lens)):
        if not length:
            configs.append(None)
            continue
        if off not in parsed:
            try:
                parsed[off] = parse_object(strings.get(off, length).decode("utf-8"))
            except JsonTextError as exc:
                raise e.BadLayer(f"layer {i}: config is not a JSON object: {exc}") from None
        configs.append(parsed[off])
    if failure:
        raise failure[1]
    return configs


#: Item size by dtype code; 0 marks an undefined code.
_ITEMSIZES = np.zeros(256, np.int64)
for _d in fmt.DTYPES:
    _ITEMSIZES[_d.code] = _d.itemsize


def _shape_bytes(tensors: np.ndarray, itemsize: np.ndarray, ndim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byte size of each shape, and a mask of the shapes the spec calls overflowing.

    Overflowing: the non-zero dimensions times the item size exceed 2**63 - 1
    (so that every shape, even an empty one, has a size a signed 64-bit
    integer holds).  Multiplies one dimension at a time in uint64, detects
    wrap-around by dividing back, and visits only as many columns as the
    largest ndim.
    """
    product = itemsize.astype(np.uint64)
    overflow = np.zeros(len(tensors), bool)
    has_zero = np.zeros(len(tensors), bool)
    shape = tensors["shape"]
    for j in range(int(ndim.max(initial=0))):
        dim = np.where(j < ndim, shape[:, j], np.uint64(1))
        zero = dim == 0
        has_zero |= zero
        safe = np.where(zero, np.uint64(1), dim)
        bigger = product * safe
        overflow |= bigger // safe != product
        product = bigger
    overflow |= product > np.uint64(I64_MAX)
    return np.where(has_zero, np.uint64(0), product), overflow


def _check_tensors(
    tensors: np.ndarray,
    layers: np.ndarray,
    strings: _StringTable,
    h: dict[str, int],
) -> None:
    count = len(tensors)
    known = bool(h["known_minor"])
    a = np.uint64(h["alignment"])
    payload_end = h["payload_offset"] + h["payload_size"]
    layer = tensors["layer"].astype(np.int64)
    has_layer = layer != fmt.NO_INDEX
    dtype = tensors["dtype"]
    ndim = tensors["ndim"].astype(np.int64)
    offset = tensors["data_offset"]
    nbytes = tensors["nbytes"]

    itemsize = _ITEMSIZES[dtype]
    clipped_ndim = np.minimum(ndim, fmt.MAX_NDIM)
    unused_nonzero = ((np.arange(fmt.MAX_NDIM) >= clipped_ndim[:, None]) & (tensors["shape"] != 0)).any(axis=1)
    expected_bytes, overflow = _shape_bytes(tensors, np.maximum(itemsize, 1), clipped_ndim)

    ends = offset + nbytes  # wraps only after a record that already failed
    expected_offset = np.empty(count, np.uint64)
    if count:
        expected_offset[0] = h["payload_offset"]
        expected_offset[1:] = (ends[:-1] + (a - np.uint64(1))) & ~(a - np.uint64(1))
    room = np.where(offset <= payload_end, np.uint64(payload_end) - np.minimum(offset, np.uint64(payload_end)), 0)

    safe_layer = np.where(has_layer & (layer < len(layers)), layer, 0)
    own_first = layers["first_tensor"].astype(np.int64)[safe_layer] if len(layers) else np.zeros(count, np.int64)
    own_count = layers["tensor_count"].astype(np.int64)[safe_layer] if len(layers) else np.zeros(count, np.int64)
    index = np.arange(count, dtype=np.int64)

    ref = _ref_rules("tensor", tensors, TENSOR_STRINGS, strings, refs_end(layers, LAYER_STRINGS))

    reserved = (tensors["reserved0"] != 0) | (tensors["reserved1"] != 0) if known else np.zeros(count, bool)
    rules: list[Rule] = [
        (reserved, lambda i: e.BadTensor(f"tensor {i}: reserved fields are not zero")),
        *ref,
        (tensors["name_length"] == 0, lambda i: e.BadTensor(f"tensor {i}: name is empty")),
        (
            has_layer & (layer >= len(layers)),
            lambda i: e.BadTensor(f"tensor {i}: layer is {int(layer[i])}, but the file has {len(layers)} layers"),
        ),
        (
            (tensors["weight_length"] == 0) == has_layer,
            lambda i: e.BadTensor(
                f"tensor {i}: a tensor in a layer needs a weight name, one outside any layer must have none"
            ),
        ),
        (itemsize == 0, lambda i: e.BadTensor(f"tensor {i}: dtype code {int(dtype[i])} is not defined")),
        (ndim > fmt.MAX_NDIM, lambda i: e.BadTensor(f"tensor {i}: ndim is {int(ndim[i])}, at most {fmt.MAX_NDIM}")),
        (unused_nonzero, lambda i: e.BadTensor(f"tensor {i}: shape entries past ndim are not zero")),
        (overflow, lambda i: e.SizeOverflow(f"tensor {i}: byte size of shape {_shape(tensors, i)} exceeds 2**63 - 1")),
        (
            nbytes != expected_bytes,
            lambda i: e.BadTensor(
                f"tensor {i}: nbytes is {int(nbytes[i])}, shape {_shape(tensors, i)} "
                f"x {int(itemsize[i])} bytes gives {int(expected_bytes[i])}"
            ),
        ),
        (
            offset % a != 0,
            lambda i: e.BadAlignment(f"tensor {i}: data offset {int(offset[i])} is not a multiple of {int(a)}"),
        ),
        (
            offset < expected_offset,
            lambda i: e.TensorOverlap(
                f"tensor {i}: data starts at {int(offset[i])}, before the previous tensor's padded end {int(expected_offset[i])}"
            ),
        ),
        (
            offset > expected_offset,
            lambda i: e.TensorGap(
                f"tensor {i}: data starts at {int(offset[i])}, leaving a hole after {int(expected_offset[i])}"
            ),
        ),
        (
            (offset > np.uint64(payload_end)) | (nbytes > room),
            lambda i: e.BadPayload(f"tensor {i}: data {int(offset[i])}+{int(nbytes[i])} runs past the payload end {payload_end}"),
        ),
        (
            has_layer & ((index < own_first) | (index >= own_first + own_count)),
            lambda i: e.BadTensor(
                f"tensor {i}: belongs to layer {int(layer[i])}, whose range is "
                f"{int(own_first[i])}+{int(own_count[i])}"
            ),
        ),
    ]
    failure = _first_failure(rules)
    if failure:
        raise failure[1]


def _shape(tensors: np.ndarray, i: int) -> tuple[int, ...]:
    ndim = min(int(tensors["ndim"][i]), fmt.MAX_NDIM)
    return tuple(tensors["shape"][i][:ndim].tolist())


def _first_duplicate(names: list[Any]) -> int:
    """Index of the first name seen before (the caller knows there is one)."""
    seen: set[Any] = set()
    for i, name in enumerate(names):
        if name in seen:
            return i
        seen.add(name)
    raise AssertionError("no duplicate")


def _check_string_table(strings: _StringTable, layers: np.ndarray, tensors: np.ndarray) -> dict[str, int]:
    """Step 15: every byte belongs to a referenced string, and no string is stored twice.

    Returns each string's rank, the hash table that proved them distinct.
    """
    reach = refs_end(tensors, TENSOR_STRINGS, refs_end(layers, LAYER_STRINGS))
    if reach != strings.size:
        raise e.BadString(
            f"string table bytes {reach}..{strings.size - 1} belong to no referenced string"
        )
    pieces = strings.pieces[:-1]  # the last piece follows the final NUL: empty here
    rank_of = dict(zip(pieces, range(len(pieces))))
    if len(rank_of) != len(pieces):
        k = _first_duplicate(pieces)
        raise e.BadString(
            f"string {pieces[k]!r} is stored twice in the string table (again at {int(strings.starts[k])})"
        )
    return rank_of


def _all_distinct(ranks: np.ndarray) -> bool:
    """No rank twice; most files list their names in table order, which shows it at once."""
    if len(ranks) < 2 or bool((ranks[1:] > ranks[:-1]).all()):
        return True
    return len(np.unique(ranks)) == len(ranks)


def _check_names(
    layer_names: list[str],
    tensor_names: list[str],
    name_ranks: np.ndarray,
    tensors: np.ndarray,
    strings: _StringTable,
) -> None:
    """Step 16.  After step 15 each string is stored once, so names (and
    weights) are compared by rank, which is the same as by content."""
    if len(set(layer_names)) != len(layer_names):
        i = _first_duplicate(layer_names)
        raise e.DuplicateName(f"layer {i}: name {layer_names[i]!r} is used twice")
    if not _all_distinct(name_ranks):
        i = _first_duplicate(tensor_names)
        raise e.DuplicateName(f"tensor {i}: name {tensor_names[i]!r} is used twice")
    if not layer_names:
        return  # no tensor can name a layer: the tensor rules have checked that
    in_layer = np.flatnonzero(tensors["layer"] != fmt.NO_INDEX)
    if in_layer.size:
        ranks = strings.ranks(tensors["weight_offset"][in_layer])
        keys = list(zip(tensors["layer"][in_layer].tolist(), ranks.tolist()))
        if len(set(keys)) != len(keys):
            j = _first_duplicate(keys)
            weight = strings.pieces[keys[j][1]]
            raise e.DuplicateName(f"tensor {int(in_layer[j])}: weight {weight!r} is used twice in layer {keys[j][0]}")


def _check_ownership(layers: np.ndarray, tensors: np.ndarray) -> None:
    if not len(layers):
        return  # no tensor can name a layer: rule 14.4 has checked that
    layer = tensors["layer"]
    owned = np.bincount(layer[layer != fmt.NO_INDEX].astype(np.int64), minlength=len(layers))
    wrong = np.flatnonzero(owned != layers["tensor_count"].astype(np.int64))
    if wrong.size:
        i = int(wrong[0])
        first, n = int(layers["first_tensor"][i]), int(layers["tensor_count"][i])
        raise e.BadLayer(f"layer {i}: claims tensors {first}..{first + n - 1}, but not all of them name it")


def _check_payload_size(tensors: np.ndarray, h: dict[str, int]) -> None:
    if len(tensors):
        last_end = int(tensors["data_offset"][-1]) + int(tensors["nbytes"][-1])
        want = align_up(last_end, h["alignment"]) - h["payload_offset"]
    else:
        want = 0
    if h["payload_size"] != want:
        raise e.BadPayload(f"payload_size is {h['payload_size']}, the tensors' padded extent is {want}")


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _record_dtype(kind: str, size: int) -> np.dtype:
    if kind == "layer":
        return fmt.LAYER_DTYPE if size == fmt.LAYER_RECORD_SIZE else fmt.numpy_dtype(fmt.LayerRecord, size)
    return fmt.TENSOR_DTYPE if size == fmt.TENSOR_RECORD_SIZE else fmt.numpy_dtype(fmt.TensorRecord, size)


def parse(buf: memoryview) -> Parsed:
    """Check every open-time rule of the spec, in order; return the tables."""
    h = _check_header(buf)
    gaps = _check_sections(h)
    _check_extent(h, len(buf))
    _check_crc(buf, h)
    if h["known_minor"]:
        _check_gaps(buf, gaps)

    strings = _StringTable(buf[h["strings_offset"] : h["strings_offset"] + h["strings_size"]].tobytes())
    metadata = _parse_metadata(buf, h)

    layer_dtype = _record_dtype("layer", h["layer_record_size"])
    tensor_dtype = _record_dtype("tensor", h["tensor_record_size"])
    layers = np.frombuffer(buf, layer_dtype, h["layers_size"] // h["layer_record_size"], h["layers_offset"])
    tensors = np.frombuffer(buf, tensor_dtype, h["tensors_size"] // h["tensor_record_size"], h["tensors_offset"])

    configs = _check_layers(layers, strings, len(tensors), bool(h["known_minor"]))
    name_ranks = quickcheck.tensor_table_ok(buf, h, len(tensors), layers, strings)
    if name_ranks is None:
        _check_tensors(tensors, layers, strings, h)  # raises the first failure
        name_ranks = strings.ranks(tensors["name_offset"])
    rank_of = _check_string_table(strings, layers, tensors)
    tensor_names = strings.by_rank(name_ranks)
    layer_names = strings.by_rank(strings.ranks(layers["name_offset"]))
    _check_names(layer_names, tensor_names, name_ranks, tensors, strings)
    _check_ownership(layers, tensors)
    _check_payload_size(tensors, h)
    return Parsed(
        h, strings.table, layers, tensors, metadata, configs, layer_names, tensor_names, name_ranks, rank_of
    )


def verify(buf: memoryview, tensors: np.ndarray, alignment: int) -> None:
    """The on-demand checks: every tensor's CRC-32, then its padding."""
    for i, (off, nbytes, crc) in enumerate(
        zip(tensors["data_offset"].tolist(), tensors["nbytes"].tolist(), tensors["crc32"].tolist())
    ):
        actual = crc32(buf[off : off + nbytes])
        if actual != crc:
            raise e.TensorChecksumMismatch(f"tensor {i}: CRC-32 is {crc:08x}, its bytes give {actual:08x}")
        end = off + nbytes
        if not _all_zero(buf[end : align_up(end, alignment)]):
            raise e.BadPadding(f"tensor {i}: padding bytes after its data are not zero")
