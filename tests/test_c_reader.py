"""The C reader (c_reader/kwbin.h) against the Python reader.

Builds ``build/kwbin-dump`` and ``build/test_kwbin`` (``make c``), then checks
that for every file both readers agree exactly: the listing of valid files
(including the CRC-32s computed in C) and the verdict, at open or at verify,
for the invalid vectors and a few thousand seeded mutations.  Also runs the C
unit tests natively, under ASan/UBSan and under valgrind, and compiles the
header as C++17 and with clang, warnings as errors.  Skipped only when no C
compiler exists.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin import format as fmt
from kwbin.jsontext import JsonTextError, parse_object
from kwbin.listing import listing, listing_text

ROOT = Path(__file__).resolve().parents[1]
C_READER = ROOT / "c_reader"
HEADER = C_READER / "kwbin.h"
VECTORS = ROOT / "spec" / "vectors"
WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
MUTATIONS = 3000


def _find_compiler() -> str | None:
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    return None


CC = _find_compiler()
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (cc, gcc or clang) on PATH")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def _compile(out: Path, source: Path, *flags: str, cc: str | None = None) -> None:
    cmd = [cc or CC, *flags, f"-I{C_READER}", "-o", str(out), str(source)]
    result = _run(cmd)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stderr}"


# ---------------------------------------------------------------------------
# Builds
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tools() -> dict[str, Path]:
    """build/kwbin-dump and build/test_kwbin, by `make c` (or cc directly)."""
    dump, unit = ROOT / "build" / "kwbin-dump", ROOT / "build" / "test_kwbin"
    if shutil.which("make"):
        result = _run(["make", "-s", "c", f"CC={CC}"], cwd=ROOT)
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        dump.parent.mkdir(exist_ok=True)
        flags = ["-std=c99", "-O2", *WARNINGS]
        _compile(dump, C_READER / "tools" / "kwbin_dump.c", *flags)
        _compile(unit, C_READER / "tests" / "test_kwbin.c", *flags)
    return {"dump": dump, "unit": unit}


@pytest.fixture(scope="session")
def sanitized(tmp_path_factory) -> Path:
    """test_kwbin built with -fsanitize=address,undefined."""
    out = tmp_path_factory.mktemp("asan") / "test_kwbin_asan"
    cmd = [CC, "-std=c99", "-O1", "-g", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", *WARNINGS,
           f"-I{C_READER}", "-o", str(out), str(C_READER / "tests" / "test_kwbin.c")]  # fmt: skip
    result = _run(cmd)
    if result.returncode != 0 and "sanitize" in result.stderr:
        pytest.skip(f"{CC} cannot build with sanitizers: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    return out


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def _write_models(folder: Path) -> list[Path]:
    """Valid files written by kwbin: layers, odd names, every dtype, alignments."""
    rng = np.random.default_rng(7)
    paths = []

    path = folder / "layers.kwb"
    meta = {"model": {"name": "m\u00e9t\u00e0", "deep": [[[{"x": [1, 2.5, None, True]}]]]}, "e": "\U0001f642"}
    with kwbin.Writer(path, metadata=meta) as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 4]})
        w.add_layer("d\u00e9nse", "Dense", config={"units": 3, "name": "d\u00e9nse"})
        w.add_tensor("d\u00e9nse/kernel", rng.standard_normal((4, 3), np.float32), layer=1,
                     weight="kernel", source="/model_weights/d\u00e9nse/kernel:0")  # fmt: skip
        w.add_tensor("d\u00e9nse/bias", np.zeros(3, np.float32), layer=1, weight="bias")
        w.add_layer("block \u65e5\u672c", "Functional", config={})
        w.add_layer("block \u65e5\u672c/conv", "Conv2D", parent="block \u65e5\u672c")
        w.add_tensor("block \u65e5\u672c/conv/k\U0001f642", rng.standard_normal((3, 3, 2, 4)).astype(np.float16),
                     layer="block \u65e5\u672c/conv", weight="k\U0001f642")  # fmt: skip
        w.add_layer('quote"back\\slash\ttab\x01ctl', "Dropout")
        w.add_tensor("free/step", np.int64(42))
        w.add_tensor('odd "name"\n\x7f', np.arange(3, dtype=np.uint8))
    paths.append(path)

    path = folder / "every_dtype.kwb"
    with kwbin.Writer(path, alignment=16) as w:
        w.add_layer("all", "Custom")
        for dt in fmt.DTYPES:
            if dt.name == "bfloat16":
                data = rng.standard_normal((2, 3)).astype(np.float32)
                w.add_tensor(f"all/{dt.name}", data, layer="all", weight=dt.name, dtype="bfloat16")
            else:
                data = (rng.integers(0, 2, (2, 3)) if dt.name == "bool" else rng.integers(-50, 50, (2, 3)))
                w.add_tensor(f"all/{dt.name}", data.astype(dt.numpy), layer="all", weight=dt.name)
        w.add_tensor("scalar", np.float64(-0.0))
        w.add_tensor("empty", np.zeros((0, 5), np.float32))
        w.add_tensor("eight_dims", np.ones((1, 2, 1, 2, 1, 2, 1, 2), np.int16))
    paths.append(path)

    for alignment in (16, 4096):
        path = folder / f"align_{alignment}.kwb"
        kwbin.save_file({"a": np.arange(5, dtype=np.uint8), "b": np.ones((3, 4), np.float32)}, path,
                        metadata={"note": "x"}, alignment=alignment)  # fmt: skip
        paths.append(path)

    path = folder / "nothing.kwb"
    kwbin.save_file({}, path)
    paths.append(path)
    return paths


@pytest.fixture(scope="session")
def valid_files(tools, tmp_path_factory) -> list[Path]:
    """Our own files, the C writer's samples, and the spec's valid vectors."""
    folder = tmp_path_factory.mktemp("valid")
    paths = _write_models(folder)
    result = _run([str(tools["unit"]), "--write-samples", str(folder)])
    assert result.returncode == 0, result.stderr
    paths += sorted(folder.glob("c_*.kwb"))
    paths += sorted((VECTORS / "valid").glob("*.kwb"))
    return paths


def _invalid_vectors() -> dict[str, dict]:
    expected = VECTORS / "invalid" / "EXPECTED.json"
    return json.loads(expected.read_text(encoding="utf-8")) if expected.exists() else {}


# ---------------------------------------------------------------------------
# Verdicts
# ---------------------------------------------------------------------------


def python_verdict(data: bytes) -> str:
    """"ok", "open:<code>" or "verify:<code>", like `test_kwbin --verdicts`."""
    try:
        f = kwbin.open(data)
    except kwbin.KwbinError as exc:
        return f"open:{exc.code}"
    except Exception as exc:  # noqa: BLE001 - a crash is a finding, not a verdict
        return f"python-raised:{type(exc).__name__}:{exc}"
    try:
        f.verify()
    except kwbin.KwbinError as exc:
        return f"verify:{exc.code}"
    finally:
        f.close()
    return "ok"


def c_verdicts(program: Path, paths: list[Path], wrapper: list[str] = ()) -> list[str]:
    result = _run([*wrapper, str(program), "--verdicts"], input="".join(f"{p}\n" for p in paths))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(lines) == len(paths), result.stderr[-3000:]
    return lines


# ---------------------------------------------------------------------------
# Seeded mutations
# ---------------------------------------------------------------------------


def _fields(struct_: object) -> list[tuple[str, int, int]]:
    """(name, offset, size) of every integer field; shape arrays split into u64s."""
    out = []
    for name, offset, size in fmt.field_layout(struct_):
        if name in ("magic", "reserved"):
            continue
        if name == "shape":
            out += [(f"shape[{k}]", offset + 8 * k, 8) for k in range(fmt.MAX_NDIM)]
        else:
            out.append((name, offset, size))
    return out


HEADER_FIELDS = _fields(fmt.Header)
LAYER_FIELDS = _fields(fmt.LayerRecord)
TENSOR_FIELDS = _fields(fmt.TensorRecord)
SPECIAL_BYTES = b'\x00\xff\x80\x7f\x01\x20"\\{}[],:.-0eE\xc0\xc1\xed\xf4\xf5\xe0\xf0\xbf'


def _get(b: bytearray, offset: int, size: int) -> int:
    return int.from_bytes(b[offset : offset + size], "little")


def _put(b: bytearray, offset: int, size: int, value: int) -> None:
    if offset + size <= len(b):
        b[offset : offset + size] = (value % (1 << (8 * size))).to_bytes(size, "little")


def _section(b: bytearray, name: str) -> tuple[int, int]:
    """(offset, size) of a section as the (possibly mutated) header says, clipped to the file."""
    off = _get(b, {"strings": 32, "layers": 48, "tensors": 64, "metadata": 80, "payload": 96}[name], 8)
    size = _get(b, {"strings": 40, "layers": 56, "tensors": 72, "metadata": 88, "payload": 104}[name], 8)
    off = min(off, len(b))
    return off, max(0, min(size, len(b) - off))


def fix_header_crc(b: bytearray) -> None:
    if len(b) < 128:
        return
    payload = _get(b, 96, 8)
    if 128 <= payload <= len(b):
        crc = zlib.crc32(bytes(b[128:payload]), zlib.crc32(bytes(b[:124])))
        _put(b, 124, 4, crc)


def _interesting(rng: random.Random, value: int, size: int, b: bytearray) -> int:
    top = (1 << (8 * size)) - 1
    choices = [0, 1, 2, value + 1, value - 1, value + 8, value - 8, value ^ 1, value * 2, top,
               top - 1, 1 << (8 * size - 1), rng.randrange(64), rng.randrange(top + 1),
               value + 16, value + 64, len(b), len(b) - value]  # fmt: skip
    if size == 8:
        choices += [1 << 32, (1 << 63) - 1, 1 << 62, top - 7, top - 63, 0xFFFFFFFF]
    if size == 1:
        choices += list(range(15)) + [8, 9]
    return rng.choice(choices)


def _mutate_record_field(rng: random.Random, b: bytearray) -> str:
    kind = rng.choice(["header", "layer", "tensor", "tensor", "tensor"])
    if kind == "header":
        name, offset, size = rng.choice(HEADER_FIELDS)
        base, stride, count = 0, 0, 1
    else:
        fields = LAYER_FIELDS if kind == "layer" else TENSOR_FIELDS
        base, length = _section(b, "layers" if kind == "layer" else "tensors")
        stride = _get(b, 28 if kind == "layer" else 30, 2) or 1
        count = length // stride
        if not count:
            return "no records"
        name, offset, size = rng.choice(fields)
    i = rng.randrange(count)
    at = base + i * stride + offset
    value = _get(b, at, size)
    if count > 1 and rng.random() < 0.3:  # borrow another record's value (duplicates, order)
        new = _get(b, base + rng.randrange(count) * stride + offset, size)
    else:
        new = _interesting(rng, value, size, b)
    _put(b, at, size, new)
    return f"{kind}[{i}].{name}={new:#x}"


def _mutate_byte(rng: random.Random, b: bytearray) -> str:
    region = rng.choice(["strings", "strings", "metadata", "metadata", "layers", "tensors", "any"])
    off, size = (0, len(b)) if region == "any" else _section(b, region)
    if not size:
        return f"empty {region}"
    at = off + rng.randrange(size)
    b[at] = rng.choice(SPECIAL_BYTES) if rng.random() < 0.7 else rng.randrange(256)
    return f"byte {at} ({region})={b[at]:#x}"


def _mutate_payload(rng: random.Random, b: bytearray) -> str:
    off, size = _section(b, "payload")
    if not size:
        return "empty payload"
    at = off + rng.randrange(size)
    b[at] ^= 1 << rng.randrange(8)
    return f"payload byte {at}"


def _mutate_records(rng: random.Random, b: bytearray) -> str:
    kind = rng.choice(["layers", "tensors"])
    off, size = _section(b, kind)
    stride = _get(b, 28 if kind == "layers" else 30, 2) or 1
    count = size // stride
    if count < 2:
        return f"few {kind}"
    i, j = rng.sample(range(count), 2)
    ri, rj = bytes(b[off + i * stride : off + (i + 1) * stride]), bytes(b[off + j * stride : off + (j + 1) * stride])
    b[off + i * stride : off + (i + 1) * stride] = rj
    if rng.random() < 0.5:
        b[off + j * stride : off + (j + 1) * stride] = ri
        return f"swap {kind} {i} {j}"
    return f"copy {kind} {j} over {i}"


def _mutate_size(rng: random.Random, b: bytearray) -> str:
    if rng.random() < 0.5:
        cut = rng.randrange(len(b) + 1)
        del b[cut:]
        return f"truncate at {cut}"
    extra = bytes(rng.randrange(2) * rng.randrange(256) for _ in range(rng.choice([1, 8, 16, 64])))
    b += extra
    if rng.random() < 0.5:
        _put(b, 104, 8, _get(b, 104, 8) + len(extra))
        return f"append {len(extra)} and grow payload_size"
    return f"append {len(extra)}"


def _mutate_name(rng: random.Random, b: bytearray) -> str:
    """Give a record another record's name (or weight) reference."""
    kind = rng.choice(["layers", "tensors"])
    off, size = _section(b, kind)
    stride = _get(b, 28 if kind == "layers" else 30, 2) or 1
    count = size // stride
    if count < 2:
        return f"few {kind}"
    i, j = rng.sample(range(count), 2)
    field = rng.choice([0, 8]) if kind == "tensors" else 0
    b[off + i * stride + field : off + i * stride + field + 8] = b[off + j * stride + field : off + j * stride + field + 8]
    return f"{kind} {i} takes the {'weight' if field else 'name'} of {j}"


def mutate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    b = bytearray(data)
    steps = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        op = rng.choice([_mutate_record_field] * 5 + [_mutate_byte] * 3 + [_mutate_payload, _mutate_records, _mutate_size, _mutate_name])
        steps.append(op(rng, b))
    if rng.random() < 0.85:  # else nearly everything would stop at the header CRC
        fix_header_crc(b)
        steps.append("crc fixed")
    return bytes(b), "; ".join(steps)


@pytest.fixture(scope="session")
def mutations(valid_files, tmp_path_factory) -> list[tuple[Path, str]]:
    bases = [p.read_bytes() for p in valid_files if p.stat().st_size <= 64 * 1024]
    folder = tmp_path_factory.mktemp("mutations")
    rng = random.Random(20261101)
    out = []
    for k in range(MUTATIONS):
        data, what = mutate(rng, rng.choice(bases))
        path = folder / f"m{k:05d}.kwb"
        path.write_bytes(data)
        out.append((path, what))
    return out


# ---------------------------------------------------------------------------
# (a) Listings
# ---------------------------------------------------------------------------


def _dump_bytes(dump: Path, path: Path, wrapper: list[str] = []) -> subprocess.CompletedProcess:  # noqa: B006
    return subprocess.run([*wrapper, str(dump), str(path)], capture_output=True, timeout=600)


def test_c_dump_lists_every_valid_file_exactly_as_python(tools, valid_files):
    """Spec 14.1: the same listing bytes from both readers (and the vector's .json)."""
    assert len(valid_files) >= 8
    for path in valid_files:
        result = _dump_bytes(tools["dump"], path)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"
        with kwbin.open(path) as f:
            py_listing = listing(f)
            py_text = listing_text(f).encode("utf-8")
            data = path.read_bytes()
            for t in f.tensors:  # the C CRCs are computed, Python's are stored: both must hold
                assert zlib.crc32(data[t.offset : t.offset + t.nbytes]) == t.crc32
        assert result.stdout == py_text, path.name
        assert json.loads(result.stdout) == py_listing, path.name
        golden = path.with_suffix(".json")
        if golden.parent == VECTORS / "valid" and golden.exists():
            assert result.stdout == golden.read_bytes(), path.name


def test_c_dump_lists_random_json_texts_as_python_or_refuses_them_alike(tools, tmp_path_factory):
    """Random metadata and configs (surrogate escapes, numbers at a double's limits, -0, repeated
    keys, escapes, nesting near 64, a BOM): both readers give the same verdict, and for an accepted
    file the same listing bytes, which are strict JSON."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from json_texts import file_with_texts, json_texts

    path = tmp_path_factory.mktemp("random_json") / "r.kwb"
    seen = set()

    def no_constant(name):
        raise AssertionError(f"{name} in a listing")

    @settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(metadata=json_texts(), configs=st.lists(json_texts(), max_size=2))
    def check(metadata, configs):
        file_with_texts(path, metadata, configs)
        result = _dump_bytes(tools["dump"], path)
        try:
            f = kwbin.open(path)
        except kwbin.KwbinError as exc:
            seen.add(exc.code)
            assert result.returncode == 1, exc
            assert result.stderr.decode().startswith(f"kwbin-dump: {path}: {exc.code}: "), exc
            return
        with f:
            text = listing_text(f).encode("utf-8")
            assert json.loads(text, parse_constant=no_constant) == listing(f)
        seen.add("ok")
        assert result.returncode == 0, result.stderr
        assert result.stdout == text

    check()
    assert {"ok", "bad_metadata"} <= seen, seen


def _dump_error(tools, path: Path) -> str:
    result = _run([str(tools["dump"]), str(path)])
    assert result.returncode == 1 and result.stdout == "", result
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_c_dump_reports_errors_by_name_with_what_and_where(tools, tmp_path):
    """kwbin-dump FILE: code: detail (issue #12): the detail says what was found where."""
    path = tmp_path / "bad.kwb"
    path.write_bytes(b"\x89KWB\r\n\x1a\n" + bytes(10))
    assert _dump_error(tools, path) == f"kwbin-dump: {path}: truncated: the file has 18 bytes, a kwbin header has 128\n"
    good = tmp_path / "good.kwb"
    kwbin.save_file({"dense/kernel": np.ones(4, np.float32), "dense/bias": np.ones(3, np.float32)}, good)
    data = bytearray(good.read_bytes())
    data[-1] = 1  # the last padding byte: only verify sees it
    path.write_bytes(data)
    assert _dump_error(tools, path).startswith(f"kwbin-dump: {path}: bad_padding: tensor 1 'dense/bias': ")
    data[-1] = 0
    with kwbin.open(good) as f:
        kernel = f.tensors[0]
    data[kernel.offset] ^= 1  # a data byte: the CRC error names the tensor
    path.write_bytes(data)
    assert _dump_error(tools, path).startswith(
        f"kwbin-dump: {path}: tensor_checksum: tensor 0 'dense/kernel': CRC-32 of its 16 bytes"
    )
    # A missing file and a folder are both io, told apart by the detail.
    missing = _dump_error(tools, tmp_path / "missing.kwb")
    folder = _dump_error(tools, tmp_path)
    assert (
        missing
        == f"kwbin-dump: {tmp_path / 'missing.kwb'}: io: cannot open '{tmp_path / 'missing.kwb'}': No such file or directory\n"
    )
    assert folder == f"kwbin-dump: {tmp_path}: io: '{tmp_path}' is a directory\n"
    # not_kwbin shows the bytes found.
    zip_path = tmp_path / "model.keras"
    zip_path.write_bytes(b"PK\x03\x04" + bytes(60))
    assert _dump_error(tools, zip_path).startswith(
        f"kwbin-dump: {zip_path}: not_kwbin: offset 0: found 50 4b 03 04 00 00 00 00, expected the kwbin magic"
    )


def test_c_error_details_name_the_record_and_field(tools, tmp_path):
    """Every invalid vector gets a detail; table errors give the record's index and field."""
    details = {}
    for path in sorted((VECTORS / "invalid").glob("*.kwb")):
        line = _dump_error(tools, path)
        code = path.name.split("__")[0]
        assert (
            line.startswith(f"kwbin-dump: {path}: {code}: ") and len(line) > len(f"kwbin-dump: {path}: {code}: ") + 10
        )
        details[path.name] = line.split(": ", 3)[3]
    assert any(d.startswith("layer ") for n, d in details.items() if n.startswith("bad_layer"))
    assert any(d.startswith("tensor ") for n, d in details.items() if n.startswith("bad_tensor"))
    assert any(" (offset " in d for n, d in details.items() if n.startswith("bad_string"))


# ---------------------------------------------------------------------------
# (b) Verdicts
# ---------------------------------------------------------------------------


def test_c_and_python_agree_on_every_invalid_vector(tools):
    expected = _invalid_vectors()
    if not expected:
        pytest.skip("spec/vectors/invalid/EXPECTED.json is missing")
    paths = [VECTORS / "invalid" / name for name in sorted(expected)]
    got = c_verdicts(tools["unit"], paths)
    wrong = []
    for path, c in zip(paths, got):
        want = f"{expected[path.name]['at']}:{expected[path.name]['code']}"
        py = python_verdict(path.read_bytes())
        if not (c == py == want):
            wrong.append(f"{path.name}: expected {want}, C {c}, Python {py}")
    assert not wrong, "\n".join(wrong)


def test_c_and_python_agree_on_valid_files(tools, valid_files):
    got = c_verdicts(tools["unit"], valid_files)
    assert got == ["ok"] * len(valid_files)
    assert [python_verdict(p.read_bytes()) for p in valid_files] == got


def test_c_and_python_agree_on_seeded_mutations(tools, mutations):
    paths = [p for p, _ in mutations]
    got = c_verdicts(tools["unit"], paths)
    wrong = []
    seen = set()
    for (path, what), c in zip(mutations, got):
        py = python_verdict(path.read_bytes())
        seen.add(py)
        if c != py:
            wrong.append(f"{path.name} ({what}): C {c}, Python {py}")
    assert not wrong, f"{len(wrong)} disagreements:\n" + "\n".join(wrong[:30])
    # The mutations must reach deep into the rules, not stop at the header CRC.
    codes = {v.split(":")[-1] for v in seen}
    assert {"bad_string", "bad_metadata", "bad_layer", "bad_tensor", "duplicate_name",
            "tensor_checksum", "bad_payload", "size_overflow", "ok"} <= codes, codes  # fmt: skip


JSON_PIECES = [
    "{", "}", "[", "]", ",", ":", '"', "\\", " ", "\t", "\n", "\r", "\x0b", "\x00", "\x1f", "\x7f",
    "0", "1", "9", "-", "+", ".", "e", "E", "true", "false", "null", "NaN", "Infinity", "-Infinity",
    "\\u", "\\ud800", "\\udc00", "\\uD83D\\uDE42", "\\u00e9", "\\u12G4", "\\/", "\\x", "\\'",
    "\u00e9", "\u65e5", "\U0001f642", "\ufeff", "\u2028", "a", '"a"', "tru", "nul", "1e", "01", "1.",
    ".5", "-0", "1E+2", "1e-2", "-01", "0x1", "1_0", "\u00a0", "\\uDBFF\\uDFFF", "\\ude00\\ud83d", "\\ud83d\\u0041",
    "\\ud83d\\", "1e400", "1e308", "1e309", "-1e-400", "1.7976931348623159e308", "1.7976931348623158e308",
    str(2**1024 - 2**970), str(2**1024 - 2**970 - 1), "0." + str(2**1024 - 2**970) + "e309",
]  # fmt: skip


def _json_value(rng: random.Random, depth: int):
    r = rng.random()
    if depth > 0 and r < 0.3:
        return {rng.choice(["a", "b\u00e9", "", "k\"\\", "\x01"]): _json_value(rng, depth - 1) for _ in range(rng.randrange(4))}
    if depth > 0 and r < 0.5:
        return [_json_value(rng, depth - 1) for _ in range(rng.randrange(4))]
    return rng.choice([0, -1, 1.5, -2.5e-300, 1e300, 10**30, True, False, None, "", "x\u65e5\U0001f642\x7f\n", "\\"])


def _json_text(rng: random.Random) -> bytes:
    """A JSON object text, often damaged: pieces inserted, spans deleted, bytes changed."""
    kind = rng.random()
    if kind < 0.15:  # nesting around the limit of 64, with brackets inside strings
        depth = rng.randrange(60, 70)
        opens = [rng.choice("[{") for _ in range(depth - 1)]
        text = "{" + "".join(('"k":' if i == 0 or opens[i - 1] == "{" else "") + o for i, o in enumerate(opens))
        inner = rng.choice(["", '"[[[{{{"', "1"])
        if opens and opens[-1] == "{" and inner:
            inner = '"x":' + inner
        text += inner + "".join("]" if o == "[" else "}" for o in reversed(opens)) + "}"
        if rng.random() < 0.3:  # the same key again, shallow: the text's depth still counts
            text = text[:-1] + ',"k":1}'
    else:
        value = {"k": _json_value(rng, rng.randrange(5)), "m": _json_value(rng, 2)}
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 1, "\t"]),
                          separators=rng.choice([(",", ":"), (", ", ": ")]))  # fmt: skip
        if rng.random() < 0.2:
            text = rng.choice([" ", "\n", "\r\n\t", "\ufeff", ""]) + text + rng.choice(["", " ", "\n", "x", "{}", "\x00"])
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        at = rng.randrange(len(text) + 1)
        r = rng.random()
        if r < 0.5:
            text = text[:at] + rng.choice(JSON_PIECES) + text[at:]
        elif r < 0.8:
            text = text[:at] + text[at + rng.randrange(1, 4) :]
        else:
            text = text[:at] + rng.choice(JSON_PIECES) + text[at + 1 :]
    data = bytearray(text.encode("utf-8"))
    if data and rng.random() < 0.1:  # raw bytes, for the UTF-8 rules
        data[rng.randrange(len(data))] = rng.choice(b"\x80\xbf\xc0\xc1\xc2\xdf\xe0\xed\xef\xf0\xf4\xf5\xff\xa0\x9f\x8f\x90")
    return bytes(data)


def _python_text_verdict(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "00"
    try:
        parse_object(text)
    except JsonTextError:
        return "10"
    except Exception as exc:  # noqa: BLE001
        return f"python-raised:{type(exc).__name__}"
    return "11"


def test_c_and_python_agree_on_json_and_utf8(tools):
    """Spec steps 11-12 on 20,000 texts, directly: the C scanner against jsontext.parse_object."""
    rng = random.Random(8259)
    texts = [_json_text(rng) for _ in range(20000)]
    texts += [b"{}", b" {} ", b"{}\x0b", b'{"a":1e99999}', b'{"a":' + b"1" * 5000 + b"}", b'{"a":-' + b"1" * 4299 + b"}",
              b'{"a":"\\ud800"}', b'{"\x7f":0}', b'{"a":[1,]}', b'{"a":01}', b"\xef\xbb\xbf{}", b'{"a":"\xed\xa0\x80"}',
              b'{"a":"\xf4\x90\x80\x80"}', b'{"a":"\xc0\xaf"}', b'{"a":"\xe0\x80\xaf"}', b'{"a":-}', b'{"a":1.e3}']  # fmt: skip
    result = _run([str(tools["unit"]), "--json"], input="".join(t.hex() + "\n" for t in texts))
    assert result.returncode == 0, result.stderr
    got = result.stdout.splitlines()
    assert len(got) == len(texts)
    wrong = [(t, c, p) for t, c in zip(texts, got) if c != (p := _python_text_verdict(t))]
    assert not wrong, "\n".join(f"{t!r}: C {c}, Python {p}" for t, c, p in wrong[:20])
    assert {"00", "10", "11"} <= set(got)


def _empty_tensor_past_the_payload(tmp_path: Path, *, duplicate: bool) -> bytes:
    """Tensor 1 is empty and starts past the payload's end (payload_size 5, not 16)."""
    path = tmp_path / "past.kwb"
    with kwbin.Writer(path, alignment=16) as w:
        w.add_tensor("a", np.arange(5, dtype=np.uint8))
        w.add_tensor("b", np.zeros(0, np.uint8))
    b = bytearray(path.read_bytes())
    payload = _get(b, 96, 8)
    _put(b, 104, 8, 5)
    del b[payload + 5 :]
    if duplicate:  # and a later rule fails: tensor 1 takes tensor 0's name
        tensors = _get(b, 64, 8)
        b[tensors + 120 : tensors + 128] = b[tensors : tensors + 8]
    fix_header_crc(b)
    return bytes(b)


@pytest.mark.parametrize("duplicate", [False, True], ids=["alone", "before_a_later_error"])
def test_empty_tensor_past_the_payload_is_bad_payload(tools, tmp_path, duplicate):
    """Rule 14.14 holds for empty tensors too: offset + 0 past the payload's end
    is bad_payload at once, before any later rule (Python once let it through
    to step 17 when nothing else failed, and reported the later error if one did)."""
    data = _empty_tensor_past_the_payload(tmp_path, duplicate=duplicate)
    (tmp_path / "x.kwb").write_bytes(data)
    assert c_verdicts(tools["unit"], [tmp_path / "x.kwb"]) == ["open:bad_payload"]
    assert python_verdict(data) == "open:bad_payload"


# ---------------------------------------------------------------------------
# (c) Sanitizers and valgrind; (d) the C unit tests
# ---------------------------------------------------------------------------


def test_c_unit_tests_pass(tools):
    result = _run([str(tools["unit"])])
    assert result.returncode == 0, result.stdout + result.stderr
    assert ", 0 failed" in result.stdout


def test_c_unit_tests_under_asan_and_ubsan(sanitized, tools, valid_files, mutations):
    env = {**os.environ, "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}
    result = _run([str(sanitized)], env=env)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    invalid = [VECTORS / "invalid" / n for n in sorted(_invalid_vectors())]
    paths = invalid + list(valid_files) + [p for p, _ in mutations[:800]]
    result = _run([str(sanitized), "--verdicts"], input="".join(f"{p}\n" for p in paths), env=env)
    assert result.returncode == 0 and not result.stderr, result.stderr[-3000:]
    assert result.stdout.splitlines() == c_verdicts(tools["unit"], paths)


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_c_unit_tests_under_valgrind(tools, valid_files):
    valgrind = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect"]
    result = _run([*valgrind, str(tools["unit"])])
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    invalid = [VECTORS / "invalid" / n for n in sorted(_invalid_vectors())]
    got = c_verdicts(tools["unit"], invalid + valid_files[:4], wrapper=valgrind)
    assert got == c_verdicts(tools["unit"], invalid + valid_files[:4])
    result = _run([*valgrind, str(tools["dump"]), str(valid_files[0])])
    assert result.returncode == 0, result.stderr[-3000:]


#: Other hosts, built with Debian's cross compilers and run under qemu-user
#: (or natively for i686): (compiler, emulator command, what it proves).
CROSS_HOSTS = {
    "s390x": ("s390x-linux-gnu-gcc", ["qemu-s390x"], "64-bit big-endian"),
    "powerpc": ("powerpc-linux-gnu-gcc", ["qemu-ppc"], "32-bit big-endian"),
    "i686": ("i686-linux-gnu-gcc", [], "32-bit little-endian"),
}


def _cross_tools(host: str) -> tuple[str, list[str]]:
    cross, qemu, _ = CROSS_HOSTS[host]
    if shutil.which(cross) and all(shutil.which(q) for q in qemu):
        return cross, qemu
    # CI installs them (.ci/run sets KWBIN_REQUIRE_CROSS): there a missing tool is a failure.
    message = f"{cross} {' '.join(qemu)} not installed (see .ci/run for the Debian packages)"
    if os.environ.get("KWBIN_REQUIRE_CROSS"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.parametrize("host", sorted(CROSS_HOSTS))
def test_other_hosts_give_the_same_verdicts_and_listings(host, tools, valid_files, mutations, tmp_path):
    """Same unit tests, verdicts and listings on a big-endian or 32-bit host."""
    cross, qemu = _cross_tools(host)
    flags = ["-std=c99", "-O2", "-static", *WARNINGS]
    _compile(tmp_path / "test_cross", C_READER / "tests" / "test_kwbin.c", *flags, cc=cross)
    _compile(tmp_path / "dump_cross", C_READER / "tools" / "kwbin_dump.c", *flags, cc=cross)
    result = _run([*qemu, str(tmp_path / "test_cross")])
    assert result.returncode == 0, result.stdout + result.stderr
    invalid = [VECTORS / "invalid" / n for n in sorted(_invalid_vectors())]
    paths = invalid + list(valid_files) + [p for p, _ in mutations[:300]]
    assert c_verdicts(tmp_path / "test_cross", paths, wrapper=qemu) == c_verdicts(tools["unit"], paths)
    for path in valid_files:
        result = _dump_bytes(tmp_path / "dump_cross", path, qemu)
        assert result.returncode == 0, result.stderr
        with kwbin.open(path) as f:
            assert result.stdout == listing_text(f).encode("utf-8"), path.name


# ---------------------------------------------------------------------------
# (e) Portability of the header
# ---------------------------------------------------------------------------


def _other_compiler(*names: str) -> str:
    for name in names:
        if shutil.which(name):
            return name
    pytest.skip(f"none of {', '.join(names)} is installed")


@pytest.mark.parametrize("options", [[], ["-DKWBIN_STATIC"], ["-DKWBIN_NO_STDIO"]], ids=["extern", "static", "no_stdio"])
def test_header_compiles_as_cxx17_warning_free(tmp_path, options):
    cxx = _other_compiler("g++", "clang++", "c++")
    source = tmp_path / "use.cpp"
    source.write_text('#define KWBIN_IMPLEMENTATION\n#include "kwbin.h"\n'
                      "int main() { kwb_file f; return kwb_open_memory(&f, 0, 0) == KWB_ERR_TRUNCATED ? 0 : 1; }\n")  # fmt: skip
    _compile(tmp_path / "use", source, "-std=c++17", "-O2", *WARNINGS, *options, cc=cxx)
    assert _run([str(tmp_path / "use")]).returncode == 0
    _compile(tmp_path / "test_cxx", C_READER / "tests" / "test_kwbin.c", "-x", "c++", "-std=c++17", "-O2", *WARNINGS, cc=cxx)
    _compile(tmp_path / "dump_cxx", C_READER / "tools" / "kwbin_dump.c", "-x", "c++", "-std=c++17", "-O2", *WARNINGS, cc=cxx)


def test_header_compiles_with_clang_warning_free(tmp_path):
    clang = _other_compiler("clang")
    for options in ([], ["-DKWBIN_STATIC"], ["-DKWBIN_NO_STDIO", "-DKWBIN_STATIC"]):
        source = tmp_path / "use.c"
        source.write_text('#define KWBIN_IMPLEMENTATION\n#include "kwbin.h"\n'
                          "int main(void) { return kwb_crc32(0, \"123456789\", 9) == 0xCBF43926u ? 0 : 1; }\n")  # fmt: skip
        _compile(tmp_path / "use", source, "-std=c99", "-O2", *WARNINGS, *options, cc=clang)
        assert _run([str(tmp_path / "use")]).returncode == 0
    _compile(tmp_path / "test_clang", C_READER / "tests" / "test_kwbin.c", "-std=c99", "-O2", *WARNINGS, cc=clang)
    result = _run([str(tmp_path / "test_clang")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_header_crc_table_is_the_generated_one():
    script = C_READER / "tools" / "gen_crc_table.py"
    table = _run([sys.executable, str(script)], check=True).stdout
    text = HEADER.read_text(encoding="utf-8")
    begin = "/* BEGIN generated by c_reader/tools/gen_crc_table.py */\n"
    end = "/* END generated by c_reader/tools/gen_crc_table.py */"
    assert text[text.index(begin) + len(begin) : text.index(end)] == table


def test_header_has_no_mutable_globals():
    """Every file-scope variable in the implementation is `static const`."""
    text = HEADER.read_text(encoding="utf-8")
    impl = text[text.index("#define KWBIN_IMPLEMENTATION_DONE") :]
    for line in impl.splitlines():
        if line.startswith("static ") and "(" not in line.split("=")[0]:
            assert line.startswith("static const "), line
