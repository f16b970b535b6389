"""`kwbin c-array`: the file compiled into a program, read with zero allocations."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.keras import pack

ROOT = Path(__file__).resolve().parents[1]
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

PROGRAM = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
/* Any allocation would abort: kwb_open_memory must not make one. */
#define KWBIN_MALLOC(size) (abort(), (void *)0)
#define KWBIN_FREE(ptr) abort()
#define KWBIN_IMPLEMENTATION
#include "kwbin.h"
#include "model_data.h"

int main(void)
{
    kwb_file f;
    kwb_tensor t;
    kwb_result r = kwb_open_memory(&f, seed_model, seed_model_size);
    if (r != KWB_OK) { printf("open: %s\n", kwb_result_string(r)); return 1; }
    if ((uintptr_t)seed_model % f.alignment != 0) { printf("array not aligned\n"); return 1; }
    r = kwb_verify(&f);
    if (r != KWB_OK) { printf("verify: %s\n", kwb_result_string(r)); return 1; }
    r = kwb_find_weight(&f, "dense_4", "bias", &t);
    if (r != KWB_OK) { printf("find: %s\n", kwb_result_string(r)); return 1; }
    const float *bias = kwb_tensor_f32(&t);
    if (bias == NULL) { printf("no zero-copy float view\n"); return 1; }
    printf("%u %u %.9g %.9g\n", kwb_layer_count(&f), kwb_tensor_count(&f), (double)bias[0], (double)bias[99]);
    kwb_close(&f);
    return 0;
}
"""


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.parametrize("std", ["-std=c99", "-std=c11", "-x c++ -std=c++17"])
def test_the_array_opens_in_place_with_no_allocation(tmp_path, keras_data, std):
    model = tmp_path / "seed.kwb"
    pack(keras_data / "seed_k3.keras", model)
    made = run(sys.executable, "-m", "kwbin", "c-array", str(model), "-o", str(tmp_path / "model_data.h"), "--name", "seed_model")
    assert made.returncode == 0, made.stderr
    (tmp_path / "main.c").write_text(PROGRAM)
    compiler = shutil.which("c++") if "c++" in std else CC
    flags = std.replace("-x c++ ", "").split()
    source = ["-x", "c++", "main.c"] if "c++" in std else ["main.c"]
    built = run(compiler, *flags, "-O1", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'c_reader'}", "-o", "prog", *source, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    result = run(str(tmp_path / "prog"))
    assert result.returncode == 0, result.stdout
    with kwbin.open(model) as f:
        bias = f["dense_4", "bias"]
        expected = f"{len(f.layers)} {len(f)} {float(bias[0]):.9g} {float(bias[99]):.9g}"
    assert result.stdout.strip() == expected


def test_a_damaged_file_is_not_turned_into_an_array(tmp_path):
    model = tmp_path / "m.kwb"
    kwbin.save_file({"w": np.arange(10, dtype=np.float32)}, model)
    data = bytearray(model.read_bytes())
    data[-64] ^= 1  # a payload byte: only verify() sees it
    model.write_bytes(bytes(data))
    result = run(sys.executable, "-m", "kwbin", "c-array", str(model), "-o", str(tmp_path / "m.h"))
    assert result.returncode == 1
    assert "tensor_checksum" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.h").exists()


def test_a_bad_symbol_is_refused(tmp_path):
    model = tmp_path / "m.kwb"
    kwbin.save_file({"w": np.zeros(3, np.float32)}, model)
    result = run(sys.executable, "-m", "kwbin", "c-array", str(model), "--name", "2bad-name")
    assert result.returncode == 2 and "C identifier" in result.stderr


# --- the string-literal form: bytes exact in C and C++, compact, quick to compile -------------------------

from kwbin.carray import LINE_WIDTH, STYLES, header_text, literal_lines  # noqa: E402

WRITE_BACK = r"""
#include <stdint.h>
#include <stdio.h>
#include "data.h"

int main(int argc, char **argv)
{
    FILE *out;
    if (argc != 2) return 2;
    if ((uintptr_t)blob % 64 != 0) { puts("not aligned"); return 3; }
    out = fopen(argv[1], "wb");
    if (out == NULL) return 4;
    if (fwrite(blob, 1, blob_size, out) != blob_size) return 5;
    return fclose(out) != 0;
}
"""

#: What could go wrong in a literal: every byte value, trigraphs (??= ... and runs of ?), an octal escape
#: followed by octal and non-octal digits, quotes, backslashes, NULs at the end.
TRICKY = (
    bytes(range(256)) + bytes(range(255, -1, -1))
    + b"??=??/??'??(??)??!??<??>??-?????=" + b"\x01" + b"7\x00" + b"8\x07" + b"0\x1f" + b"1\x3f?\x3f"
    + b"\\\"\\\\\"" + b"\x80" + b"0" + b"\xff" + b"7" + b"\x00" * 7 + b"\x001" + b"\x00"
)

COMPILERS = [
    (cc, flags)
    for cc, flags in [
        ("gcc", ["-std=c99"]), ("clang", ["-std=c99"]), ("gcc", ["-std=c11"]),
        ("g++", ["-x", "c++", "-std=c++98"]), ("g++", ["-x", "c++", "-std=c++17"]), ("clang++", ["-x", "c++", "-std=c++17"]),
    ]
]  # fmt: skip
STRICT = ["-O1", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]


def _payloads() -> list[bytes]:
    rng = np.random.default_rng(17)
    floats = rng.standard_normal(20000).astype(np.float32).tobytes()
    return [TRICKY, b"", b"?", b"\x00", b"7" * 500, rng.integers(0, 256, 70000, dtype=np.uint8).tobytes() + TRICKY, floats]


@pytest.mark.parametrize("style", [s for s in STYLES if s != "embed"])
@pytest.mark.parametrize("cc, flags", COMPILERS, ids=[f"{cc}{flags[-1]}" for cc, flags in COMPILERS])
def test_the_array_holds_exactly_the_bytes(tmp_path, cc, flags, style):
    """Compiled as C and C++ with warnings as errors, each array writes back exactly its input."""
    if shutil.which(cc) is None:
        pytest.skip(f"no {cc}")
    (tmp_path / "main.c").write_text(WRITE_BACK)
    for i, data in enumerate(_payloads()):
        if not data and style == "hex":
            continue  # `{}` is not C99 (and no kwbin file is empty)
        (tmp_path / "data.h").write_text(header_text(data, "blob", 64, "in.kwb", "data.h", style))
        built = run(cc, *flags, *STRICT, "-o", "prog", "main.c", cwd=tmp_path)
        assert built.returncode == 0, built.stderr[:3000]
        wrote = run(str(tmp_path / "prog"), str(tmp_path / "out.bin"))
        assert wrote.returncode == 0, wrote.stdout
        assert (tmp_path / "out.bin").read_bytes() == data, f"payload {i}"


def test_literal_lines_stay_within_the_width_and_never_split_an_escape():
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, 50000, dtype=np.uint8).tobytes() + TRICKY
    lines = literal_lines(data)
    assert max(map(len, lines)) <= LINE_WIDTH
    # Each line is a complete literal: evaluating them one by one (as C concatenates them) gives the bytes.
    decoded = b"".join(_c_literal_bytes(line) for line in lines)
    assert decoded == data


def _c_literal_bytes(line: str) -> bytes:
    """The bytes a C string literal line means (the escapes the generator uses: named, octal, \\?)."""
    assert line[0] == line[-1] == '"'
    body, out, i = line[1:-1], bytearray(), 0
    assert "??" not in body, "a trigraph could form"
    named = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92, "?": 63}
    while i < len(body):
        ch = body[i]
        assert ch != '"', f"an unescaped quote in {line!r}"
        if ch != "\\":
            out.append(ord(ch))
            i += 1
        elif body[i + 1] in named:
            out.append(named[body[i + 1]])
            i += 2
        else:
            digits = ""
            while len(digits) < 3 and i + 1 + len(digits) < len(body) and body[i + 1 + len(digits)] in "01234567":
                digits += body[i + 1 + len(digits)]
            assert digits, f"unknown escape in {line!r}"
            out.append(int(digits, 8))
            i += 1 + len(digits)
    return bytes(out)


def test_the_header_is_under_three_times_the_model(tmp_path, keras_data):
    """Issue #17: the hex form was 5.2x the seed model; the string literal is about 2.7x (float weights)."""
    model = tmp_path / "seed.kwb"
    pack(keras_data / "seed_k3.keras", model)
    made = run(sys.executable, "-m", "kwbin", "c-array", str(model), "-o", str(tmp_path / "seed.h"))
    assert made.returncode == 0, made.stderr
    ratio = (tmp_path / "seed.h").stat().st_size / model.stat().st_size
    assert ratio < 3.0, ratio
    hexed = run(sys.executable, "-m", "kwbin", "c-array", str(model), "-o", str(tmp_path / "hex.h"), "--style", "hex")
    assert hexed.returncode == 0, hexed.stderr
    assert (tmp_path / "hex.h").stat().st_size > 4.5 * model.stat().st_size


def test_no_trigraph_forms_in_the_literal():
    text = "".join(literal_lines(b"??=" * 10 + b"?" * 50 + b"a??/b"))
    assert "??" not in text


# --- the #embed form: a few lines, the file read by the compiler (C23; Clang 19 in CI) --------------------

#: Compilers with #embed, as Debian ships them (.ci/run installs clang-19).
EMBED_COMPILERS = [
    ("clang-19", ["-std=c99"]), ("clang-19", ["-std=c11"]), ("clang-19", ["-std=c23"]),
    ("clang++-19", ["-x", "c++", "-std=c++17"]),
]  # fmt: skip


@pytest.mark.parametrize("cc, flags", EMBED_COMPILERS, ids=[f"{cc}{flags[-1]}" for cc, flags in EMBED_COMPILERS])
def test_the_embed_array_holds_exactly_the_file(tmp_path, cc, flags):
    """The header names the file; the compiler reads it: every payload comes back exact and aligned."""
    if shutil.which(cc) is None:
        pytest.skip(f"no {cc} (.ci/run installs it)")
    (tmp_path / "main.c").write_text(WRITE_BACK)
    for i, data in enumerate(p for p in _payloads() if p):  # an empty array is not C before C23
        (tmp_path / "in.kwb").write_bytes(data)
        (tmp_path / "data.h").write_text(header_text(data, "blob", 64, "in.kwb", "data.h", "embed"))
        built = run(cc, *flags, *STRICT, "-o", "prog", "main.c", cwd=tmp_path)
        assert built.returncode == 0, built.stderr[:3000]
        wrote = run(str(tmp_path / "prog"), str(tmp_path / "out.bin"))
        assert wrote.returncode == 0, wrote.stdout
        assert (tmp_path / "out.bin").read_bytes() == data, f"payload {i}"


def _embed_build(tmp_path: Path, cc: str) -> subprocess.CompletedProcess:
    (tmp_path / "main.c").write_text(WRITE_BACK)
    return run(cc, "-std=c99", "-o", "prog", "main.c", cwd=tmp_path)


def test_an_embed_header_tells_a_compiler_without_embed_what_to_do(tmp_path):
    data = TRICKY
    (tmp_path / "in.kwb").write_bytes(data)
    (tmp_path / "data.h").write_text(header_text(data, "blob", 64, "in.kwb", "data.h", "embed"))
    built = _embed_build(tmp_path, "gcc" if shutil.which("gcc") else CC)
    if built.returncode == 0:
        pytest.skip("this compiler has #embed")
    assert "no C23 #embed" in built.stderr and "--style string" in built.stderr


@pytest.mark.parametrize("change", ["moved", "resized"])
def test_an_embed_header_refuses_a_missing_or_other_file(tmp_path, change):
    if shutil.which("clang-19") is None:
        pytest.skip("no clang-19 (.ci/run installs it)")
    data = TRICKY
    (tmp_path / "data.h").write_text(header_text(data, "blob", 64, "in.kwb", "data.h", "embed"))
    if change == "resized":
        (tmp_path / "in.kwb").write_bytes(data + b"\0")
    built = _embed_build(tmp_path, "clang-19")
    assert built.returncode != 0
    wanted = "not where this header expects it" if change == "moved" else "not the file this header was made for"
    assert wanted in built.stderr, built.stderr[:2000]


def test_c_array_embed_names_the_file_relative_to_the_header(tmp_path):
    model = tmp_path / "models" / "tiny.kwbin"
    model.parent.mkdir()
    kwbin.save_file({"w": np.arange(5, dtype=np.float32)}, model)
    (tmp_path / "include").mkdir()
    made = run(sys.executable, "-m", "kwbin", "c-array", str(model), "--style", "embed",
               "-o", str(tmp_path / "include" / "tiny.h"))  # fmt: skip
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "include" / "tiny.h").read_text()
    assert '#embed "../models/tiny.kwbin"' in text
    assert len(text) < 4000  # a few lines, whatever the model's size
    printed = run(sys.executable, "-m", "kwbin", "c-array", "models/tiny.kwbin", "--style", "embed", "-o", "-",
                  cwd=tmp_path)  # fmt: skip
    assert printed.returncode == 0 and '#embed "models/tiny.kwbin"' in printed.stdout


def test_c_array_embed_refuses_a_path_it_cannot_quote(tmp_path):
    model = tmp_path / 'odd"name.kwbin'
    kwbin.save_file({"w": np.arange(5, dtype=np.float32)}, model)
    made = run(sys.executable, "-m", "kwbin", "c-array", str(model), "--style", "embed", "-o", str(tmp_path / "m.h"))
    assert made.returncode == 2
    assert "#embed" in made.stderr and len(made.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.h").exists()
