"""Damaged files are refused with a KwbinError, never silently accepted, never with another exception."""

from __future__ import annotations

import random
import sys
import tracemalloc

import numpy as np
import pytest

import kwbin
from kwbin import checks
from kwbin import format as fmt
from kwbin.errors import (
    BadPadding,
    HeaderChecksumMismatch,
    KwbinError,
    NotKwbinFile,
    TensorChecksumMismatch,
    TrailingBytes,
    TruncatedFile,
    UnsupportedByteOrder,
    UnsupportedVersion,
)
from kwbin.listing import listing

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import hostile_files  # noqa: E402

ALIGNMENT = 16


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> bytes:
    """A small file with a layer (with config), a weightless layer, metadata and padding."""
    path = tmp_path_factory.mktemp("golden") / "golden.kwb"
    with kwbin.Writer(
        path, metadata={"producer": "test", "run": {"seed": 1}}, alignment=ALIGNMENT
    ) as w:
        w.add_layer("model", "Functional", config={"name": "model"})
        w.add_layer("dense", "Dense", config={"units": 2}, parent="model")
        w.add_tensor(
            "dense/kernel", np.arange(6, dtype="<f4").reshape(3, 2), layer="dense", weight="kernel"
        )
        w.add_tensor("dense/bias", np.array([1, -1], "<f2"), layer="dense", weight="bias")
        w.add_tensor("empty", np.zeros((0, 3), "<f8"))
        w.add_tensor("step", np.array(5, "<i8"))
        w.add_tensor("mask", np.array([True, False, True]))
    data = path.read_bytes()
    assert len(data) < 1200, "keep the golden file small: every byte is flipped 8 times"
    return data


def payload_regions(data: bytes) -> tuple[int, list[tuple[int, int]], list[tuple[int, int]]]:
    """The payload start, the tensors' byte ranges and the padding ranges."""
    with kwbin.open(data) as f:
        start = f.header["payload_offset"]
        tensors = [(t.offset, t.offset + t.nbytes) for t in f.tensors]
        padding = [(end, checks.align_up(end, f.alignment)) for _, end in tensors]
    return start, tensors, padding


def test_the_golden_file_is_valid_and_has_padding_after_its_tensors(golden):
    with kwbin.open(golden) as f:
        f.verify()
        assert f.layers[1].config == {"units": 2}
        assert f.metadata["run"] == {"seed": 1}
    _, tensors, padding = payload_regions(golden)
    assert sum(end - start for start, end in padding) > 0
    assert sum(end - start for start, end in tensors) == 24 + 4 + 0 + 8 + 3


def test_every_truncation_is_rejected_with_TruncatedFile(golden):
    wrong = {}
    for length in range(len(golden)):
        try:
            kwbin.open(golden[:length])
        except TruncatedFile:
            continue
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            wrong[length] = repr(exc)
        else:
            wrong[length] = "accepted"
    assert wrong == {}


def test_a_truncated_file_on_disk_is_rejected_with_TruncatedFile(golden, tmp_path):
    for length in (0, 1, 127, 128, len(golden) - 1):
        path = tmp_path / f"cut{length}.kwb"
        path.write_bytes(golden[:length])
        with pytest.raises(TruncatedFile):
            kwbin.open(path)


def expected_failure(
    index: int, payload_start: int, tensors, padding
) -> tuple[str, type[KwbinError] | None]:
    """Where a flipped bit in byte ``index`` must be caught, and as what (None: any KwbinError)."""
    if index < 8:
        return "open", NotKwbinFile
    if index < 12:
        return "open", UnsupportedByteOrder
    if index < 14:
        return "open", UnsupportedVersion
    if fmt.HEADER_CRC_OFFSET <= index < payload_start:
        return "open", HeaderChecksumMismatch  # CRC field, tables, metadata and their padding
    if index < fmt.HEADER_CRC_OFFSET:
        return "open", None  # some header rule or the header CRC
    if any(start <= index < end for start, end in tensors):
        return "verify", TensorChecksumMismatch
    assert any(start <= index < end for start, end in padding), index
    return "verify", BadPadding


def test_every_single_bit_flip_is_caught_at_open_or_by_verify(golden):
    payload_start, tensors, padding = payload_regions(golden)
    wrong = {}
    stages = {"open": 0, "verify": 0}
    for index in range(len(golden)):
        stage, error = expected_failure(index, payload_start, tensors, padding)
        for bit in range(8):
            damaged = bytearray(golden)
            damaged[index] ^= 1 << bit
            damaged = bytes(damaged)
            try:
                f = kwbin.open(damaged)
            except KwbinError as exc:
                if stage != "open" or (error is not None and type(exc) is not error):
                    wrong[(index, bit)] = f"open raised {exc!r}, expected {error} at {stage}"
                stages["open"] += 1
                continue
            except Exception as exc:  # noqa: BLE001
                wrong[(index, bit)] = f"open raised a non-kwbin {exc!r}"
                continue
            with f:
                if stage == "open":
                    wrong[(index, bit)] = "accepted by open"
                    continue
                try:
                    f.verify()
                except KwbinError as exc:
                    if type(exc) is not error:
                        wrong[(index, bit)] = f"verify raised {exc!r}, expected {error}"
                    stages["verify"] += 1
                    continue
                wrong[(index, bit)] = "silently accepted by open and verify"
    assert wrong == {}
    assert stages == {"open": 8 * payload_start, "verify": 8 * (len(golden) - payload_start)}


@pytest.mark.parametrize("extra", [b"\0", b"\0" * ALIGNMENT, b"garbage", bytes(range(256))])
def test_bytes_appended_after_the_payload_are_rejected_with_TrailingBytes(golden, extra):
    with pytest.raises(TrailingBytes):
        kwbin.open(golden + extra)


def test_the_file_appended_to_itself_is_rejected_with_TrailingBytes(golden):
    with pytest.raises(TrailingBytes):
        kwbin.open(golden + golden)


_INTERESTING = [
    0,
    1,
    7,
    8,
    16,
    127,
    128,
    255,
    2**16 - 1,
    2**31,
    2**32 - 2,
    2**32 - 1,
    2**32,
    2**63,
    2**64 - 1,
]


def _mutate(data: bytearray, rng: random.Random) -> bytearray:
    if len(data) <= fmt.HEADER_SIZE + 8:  # cut too short to mutate: grow it back with noise
        data.extend(rng.randbytes(rng.randint(1, 256)))
        return data
    kind = rng.randrange(6)
    if kind == 0:  # a few random bytes
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:  # an aligned 4-byte field set to an interesting value
        at = rng.randrange(0, len(data) - 4, 4)
        data[at : at + 4] = (rng.choice(_INTERESTING) % 2**32).to_bytes(4, "little")
    elif kind == 2:  # an aligned 8-byte field set to an interesting value
        at = rng.randrange(0, len(data) - 8, 8)
        data[at : at + 8] = rng.choice(_INTERESTING).to_bytes(8, "little")
    elif kind == 3:  # a header field nudged by a small amount
        at = rng.randrange(16, fmt.HEADER_CRC_OFFSET, 4)
        value = int.from_bytes(data[at : at + 4], "little") + rng.choice(
            [-16, -8, -1, 1, 8, 16, 64]
        )
        data[at : at + 4] = (value % 2**32).to_bytes(4, "little")
    elif kind == 4:  # cut or grow
        if rng.random() < 0.5:
            del data[rng.randrange(len(data)) :]
        else:
            data.extend(bytes(rng.randint(1, 64)))
    else:  # a byte inside the tables
        data[rng.randrange(fmt.HEADER_SIZE, len(data))] ^= 1 << rng.randrange(8)
    return data


def _fix_crc(data: bytearray) -> None:
    if len(data) < fmt.HEADER_SIZE:
        return
    payload_offset = fmt.Header.parse(bytes(data[: fmt.HEADER_SIZE])).payload_offset
    crc = checks.header_crc32(memoryview(bytes(data)), payload_offset)
    data[fmt.HEADER_CRC_OFFSET : fmt.HEADER_SIZE] = crc.to_bytes(4, "little")


def test_random_mutations_raise_only_KwbinError_from_open_and_verify(golden):
    rng = random.Random(20240611)
    codes: dict[str, int] = {}
    accepted = 0
    for round_ in range(3000):
        data = bytearray(golden)
        for _ in range(rng.randint(1, 3)):
            data = _mutate(data, rng)
        if rng.random() < 0.7:
            _fix_crc(data)  # so that the rules after the CRC are reached
        try:
            with kwbin.open(bytes(data)) as f:
                f.verify()
                for name in f.keys():
                    f[name]
                assert listing(f)["tensors"] is not None
            accepted += 1
        except KwbinError as exc:
            codes[exc.code] = codes.get(exc.code, 0) + 1
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"round {round_}: {exc!r} escaped for input {bytes(data).hex()}")
    # The fuzzing reached deep into the checks, not just the CRC.
    assert len(codes) >= 12, codes
    assert accepted < 3000 * 0.2


def test_a_100_byte_file_is_rejected_with_TruncatedFile():
    header = bytearray(fmt.MAGIC + bytes(92))
    header[8:12] = fmt.BYTE_ORDER_MARK_LE
    header[64:72] = (2**63).to_bytes(8, "little")  # would be a huge tensor table
    assert len(header) == 100
    with pytest.raises(TruncatedFile):
        kwbin.open(bytes(header))


def test_a_small_file_claiming_a_huge_table_is_rejected_quickly_without_allocating(golden):
    h = dict(fmt.Header.parse(golden[: fmt.HEADER_SIZE]))
    h.pop("_io", None)
    count = fmt.NO_INDEX - 1  # the most records allowed
    h["tensors_size"] = count * fmt.TENSOR_RECORD_SIZE
    h["metadata_offset"] = h["tensors_offset"] + h["tensors_size"]
    h["payload_offset"] = checks.align_up(h["metadata_offset"] + h["metadata_size"], h["alignment"])
    data = fmt.Header.build(h) + golden[fmt.HEADER_SIZE :]
    # "Quickly" is judged by work done, not by the clock: the Python calls made
    # while rejecting it (a busy machine must not change the verdict).
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event in ("call", "c_call")

    tracemalloc.start()
    sys.setprofile(count)
    try:
        with pytest.raises(TruncatedFile, match="payload ends at byte"):
            kwbin.open(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        sys.setprofile(None)
        tracemalloc.stop()
    assert calls < 5_000, calls
    assert peak < 1 << 20


def test_a_tensor_record_claiming_exabytes_is_rejected_without_reading_them(golden):
    raw = bytearray(golden)
    with kwbin.open(golden) as f:
        tensors_offset = f.header["tensors_offset"]
    record = tensors_offset  # tensor 0: float32 [3, 2]
    shape_at = record + 56
    raw[shape_at : shape_at + 16] = (2**30).to_bytes(8, "little") + (2**30).to_bytes(8, "little")
    raw[record + 48 : record + 56] = (2**62).to_bytes(8, "little")  # nbytes matching the shape
    _fix_crc(raw)
    tracemalloc.start()
    try:
        with pytest.raises(kwbin.BadPayload):
            kwbin.open(bytes(raw))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_the_crc_recomputation_helper_reproduces_the_writers_crc(golden):
    data = bytearray(golden)
    data[fmt.HEADER_CRC_OFFSET : fmt.HEADER_SIZE] = bytes(4)
    _fix_crc(data)
    assert bytes(data) == golden


def _work(open_it) -> tuple[int, int]:
    """Python calls made and peak bytes allocated by ``open_it()``: work, not time."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event in ("call", "c_call")

    tracemalloc.start()
    sys.setprofile(count)
    try:
        open_it()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        sys.setprofile(None)
        tracemalloc.stop()
    return calls, peak


HOSTILE_SIZE = 1 << 20


def test_records_naming_suffixes_of_one_long_string_are_refused_with_bounded_work():
    """Issue #11 finding 2: this 1 MB file took 90 s and 12 GB to open; a reference must now start a string."""
    data = hostile_files.shared_suffixes(HOSTILE_SIZE)

    def open_it() -> None:
        with pytest.raises(kwbin.BadString, match="layer 1: name string .* starts inside another string"):
            kwbin.open(data)

    calls, peak = _work(open_it)
    assert calls < 5_000, calls
    assert peak < 4 * len(data), peak


@pytest.mark.parametrize("kind", [k for k, (_, valid) in hostile_files.KINDS.items() if valid])
def test_worst_case_valid_files_open_with_work_linear_in_their_size(kind):
    """Long strings shared by every record, most records, long common prefixes, deep JSON.

    Linear is judged by work, not time: doubling the file at most doubles
    (plus a margin) the Python calls and the peak memory of the open.
    """
    work = []
    for size in (HOSTILE_SIZE // 2, HOSTILE_SIZE):
        data = hostile_files.KINDS[kind][0](size)

        def open_it() -> None:
            with kwbin.open(data) as f:
                assert len(f._parsed.layers) + len(f._parsed.tensors) > 0

        work.append((len(data), *_work(open_it)))
    (n1, calls1, peak1), (n2, calls2, peak2) = work
    growth = n2 / n1
    assert calls2 < 1.25 * growth * calls1 + 1000, work
    assert peak2 < 1.25 * growth * peak1 + (1 << 20), work
