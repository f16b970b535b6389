"""The kwbin command never destroys an input and never writes output that is broken.

Writers refuse an output that is one of their inputs (by name, symlink or hard
link); c-array makes headers that compile whatever the file name or --name;
export makes safe, unique file names and an index that cannot be forged; bad
paths (FIFOs, devices, missing folders) end in one line, never a hang or exit 70.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.carray import check_symbol, default_symbol, header_text, symbol_problem
from kwbin.export import tsv_escape, tsv_unescape

ROOT = Path(__file__).resolve().parents[1]
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler")


def kwbin_cli(*args: str, cwd=None, env=None, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kwbin", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=600, stdin=stdin)  # fmt: skip


def one_line_error(result: subprocess.CompletedProcess, code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kwbin: error: "), result.stderr
    return lines[0]


@pytest.fixture()
def small(tmp_path) -> Path:
    path = tmp_path / "small.kwb"
    with kwbin.Writer(path) as w:
        w.add_layer("dense", "Dense")
        w.add_tensor("dense/bias", np.array([1.5, -2.0, 3.25], np.float32), layer="dense", weight="bias")
    return path


def compile_c(folder: Path, source: str, *flags: str) -> subprocess.CompletedProcess:
    (folder / "main.c").write_text(source)
    return subprocess.run([CC, "-std=c99", "-Wall", "-Wextra", "-Werror", *flags, f"-I{ROOT / 'c_reader'}",
                           "-o", "prog", "main.c"], cwd=folder, capture_output=True, text=True, timeout=600)  # fmt: skip


def opens_in_c(folder: Path, header: str, symbol: str) -> None:
    """The header compiles with kwbin.h and kwb_open_memory accepts the array."""
    source = f"""
#include <stdio.h>
#define KWBIN_IMPLEMENTATION
#include "kwbin.h"
#include "{header}"
int main(void)
{{
    kwb_file f;
    kwb_result r = kwb_open_memory(&f, {symbol}, {symbol}_size);
    printf("%s %u\\n", kwb_result_string(r), r == KWB_OK ? kwb_tensor_count(&f) : 0u);
    return r == KWB_OK ? 0 : 1;
}}
"""
    built = compile_c(folder, source)
    assert built.returncode == 0, built.stderr
    ran = subprocess.run([str(folder / "prog")], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stdout


# --- an output is never one of the inputs ----------------------------------------------------


def test_pack_refuses_to_write_over_its_architecture_file(tmp_path, keras_data):
    arch = tmp_path / "A.keras"
    shutil.copy(keras_data / "seed_k3.keras", arch)
    before = arch.read_bytes()
    line = one_line_error(kwbin_cli("pack", str(keras_data / "seed_k3.weights.h5"), "--arch", str(arch),
                                    "-o", str(arch), "-q"), 2)  # fmt: skip
    assert "same file" in line and line.count("A.keras") == 2
    assert arch.read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_pack_refuses_an_output_linked_to_an_input(tmp_path, keras_data, link):
    arch = tmp_path / "A.keras"
    shutil.copy(keras_data / "seed_k3.keras", arch)
    before = arch.read_bytes()
    other = tmp_path / "other.kwb"
    (os.symlink if link == "symlink" else os.link)(arch, other)
    line = one_line_error(kwbin_cli("pack", str(keras_data / "seed_k3.weights.h5"), "--arch", str(arch),
                                    "-o", str(other), "-q"), 2)  # fmt: skip
    assert "other.kwb" in line and "A.keras" in line
    assert arch.read_bytes() == before and other.read_bytes() == before


def test_pack_refuses_to_write_over_a_shard_of_a_weights_index(tmp_path):
    (tmp_path / "model.weights.json").write_text('{"weight_map": {"dense/vars/0": "part0.weights.h5"}}')
    shard = tmp_path / "part0.weights.h5"
    shard.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    line = one_line_error(kwbin_cli("pack", str(tmp_path / "model.weights.json"), "-o", str(shard), "-q"), 2)
    assert "shard" in line
    assert shard.read_bytes() == b"\x89HDF\r\n\x1a\n" + bytes(100)


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_c_array_refuses_an_output_that_is_its_input(small, tmp_path, link):
    before = small.read_bytes()
    out = small if link == "same" else tmp_path / "out.h"
    if link != "same":
        (os.symlink if link == "symlink" else os.link)(small, out)
    line = one_line_error(kwbin_cli("c-array", str(small), "-o", str(out)), 2)
    assert "same file" in line and "small.kwb" in line
    assert small.read_bytes() == before


@needs_cc
def test_c_array_of_a_file_named_dot_h_does_not_overwrite_it(small, tmp_path):
    model = tmp_path / "model.h"
    shutil.copy(small, model)
    result = kwbin_cli("c-array", str(model))
    assert result.returncode == 0, result.stderr
    assert model.read_bytes() == small.read_bytes()
    assert (tmp_path / "model.h.h").exists()
    opens_in_c(tmp_path, "model.h.h", "model")


def test_export_refuses_a_folder_that_is_its_input(small):
    line = one_line_error(kwbin_cli("export", str(small), str(small)), 2)
    assert "same file" in line


# --- c-array: headers that compile, whatever the names ---------------------------------------


@needs_cc
def test_c_array_of_a_non_ascii_file_name(small, tmp_path):
    model = tmp_path / "ñandú.kwb"
    shutil.copy(small, model)
    result = kwbin_cli("c-array", str(model))
    assert result.returncode == 0, result.stderr
    assert "nandu[" in result.stdout
    opens_in_c(tmp_path, "ñandú.h", "nandu")


@needs_cc
def test_c_array_names_that_would_break_a_comment_are_escaped(small, tmp_path):
    model = tmp_path / "evil*?? \\\n\r*é.kwb"  # '/' cannot be in a file name; '*' and '?' can
    shutil.copy(small, model)
    out = tmp_path / "a*\\??\nb.h"
    result = kwbin_cli("c-array", str(model), "-o", str(out), "--name", "evil_model")
    assert result.returncode == 0, result.stderr
    text = out.read_bytes().decode("ascii")
    comment = text[: text.index("*/") + 2]
    assert comment.count("*/") == 1 and comment.count("/*") == 1 and "??" not in comment
    shutil.copy(out, tmp_path / "evil.h")
    opens_in_c(tmp_path, "evil.h", "evil_model")


@pytest.mark.parametrize(
    "name",
    ["size_t", "errno", "uint8_t", "NULL", "assert", "stdin", "free", "printf", "read", "offsetof", "bool",
     "true", "class", "new", "_Model", "_model", "a__b", "MODEL", "EIO", "kwb_open", "kwbin", "kwnn_net",
     "2model", "model-1", "ñ", "", "x" * 46, "linux", "va_list", "FILE", "memcpy", "sin"],
)  # fmt: skip
def test_c_array_refuses_a_name_that_would_not_compile(small, tmp_path, name):
    out = tmp_path / "m.h"
    line = one_line_error(kwbin_cli("c-array", str(small), "-o", str(out), "--name", name), 2)
    assert "C identifier" in line and "--name takes" in line
    assert not out.exists()


def test_main_cannot_name_the_array():
    """A program has a main function: an array named main breaks every program that includes it."""
    assert symbol_problem("main") is not None
    assert default_symbol("main.kwb") != "main" and symbol_problem(default_symbol("main.kwb")) is None


@pytest.mark.parametrize(
    "file_name", ["size_t.kwb", "errno.kwb", "2model.kwb", "MODEL.kwb", ".kwb", "class.kwb", "kwb_x.kwb",
                  "日本.kwb", "a__b.kwb", "x" * 200 + ".kwb", "uint8_t.h", "EIO.kwb", "my model (2).kwb"],
)  # fmt: skip
def test_a_default_symbol_is_always_usable(file_name):
    symbol = default_symbol(file_name)
    assert check_symbol(symbol) == symbol


def _system_identifiers(folder: Path, std: str) -> set[str]:
    """Every identifier and macro the headers a program using kwbin.h includes can define."""
    includes = ["assert.h", "errno.h", "limits.h", "math.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h",
                "stdlib.h", "string.h", "ctype.h", "time.h", "signal.h", "locale.h"]  # fmt: skip
    source = "".join(f"#include <{h}>\n" for h in includes)
    source += '#define KWBIN_IMPLEMENTATION\n#include "kwbin.h"\n#define KWBIN_NN_IMPLEMENTATION\n#include "kwbin_nn.h"\n'
    (folder / "all.c").write_text(source)
    found: set[str] = set()
    for extra in (["-E", "-P"], ["-E", "-dM"]):
        out = subprocess.run([CC, f"-std={std}", f"-I{ROOT / 'c_reader'}", *extra, "all.c"], cwd=folder,
                             capture_output=True, text=True, timeout=600, check=True).stdout  # fmt: skip
        found |= set(re.findall(r"\b[A-Za-z_]\w*", out))
    return found


@needs_cc
@pytest.mark.parametrize("std", ["c99", "gnu11"])
def test_every_accepted_name_compiles_next_to_the_system_headers(tmp_path, std):
    """Every identifier the system headers use, if --name accepts it, gives a header that compiles."""
    names = sorted(n for n in _system_identifiers(tmp_path, std) if symbol_problem(n) is None)
    names = [n for n in names if not (n.endswith("_size") and n[:-5] in names)]  # st and st_size: not both
    assert len(names) > 50  # the harvest found real names (struct fields, locals, ...)
    data = b"\x89KWB" + bytes(12)
    for i, name in enumerate(names):
        (tmp_path / f"h{i}.h").write_text(header_text(data, name, 64, "m.kwb", f"h{i}.h"))
    main = "".join(f"#include <{h}>\n" for h in ["assert.h", "errno.h", "limits.h", "math.h", "stdbool.h",
                                                  "ctype.h", "time.h", "signal.h", "locale.h"])  # fmt: skip
    main += '#define KWBIN_IMPLEMENTATION\n#include "kwbin.h"\n#define KWBIN_NN_IMPLEMENTATION\n#include "kwbin_nn.h"\n'
    main += "".join(f'#include "h{i}.h"\n' for i in range(len(names)))
    main += "int main(void) { size_t total__ = 0;\n"  # a name no symbol can take
    main += "".join(f"  total__ += {name}_size + {name}[0];\n" for name in names)
    main += "  return (int)(total__ & 1u); }\n"
    (tmp_path / "main.c").write_text(main)
    built = subprocess.run([CC, f"-std={std}", "-Wall", "-Werror", "-fsyntax-only", f"-I{ROOT / 'c_reader'}", "main.c"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert built.returncode == 0, built.stderr[:3000]


# --- export: safe names, an index that cannot be forged, a normal folder mode ---------------


def _export(model: Path, folder: Path, *extra: str, **kw) -> subprocess.CompletedProcess:
    result = kwbin_cli("export", str(model), str(folder), *extra, **kw)
    assert result.returncode == 0, result.stderr
    return result


def test_export_of_a_tensor_with_a_very_long_name(tmp_path):
    long_a, long_b = "a" * 300 + "/kernel", "a" * 300 + "/bias"
    model = tmp_path / "m.kwb"
    kwbin.save_file({long_a: np.arange(3, dtype=np.float32), long_b: np.ones(2, np.float32)}, model)
    _export(model, tmp_path / "out")
    index = kwbin_index(tmp_path / "out")
    assert {e["name"] for e in index} == {long_a, long_b}
    assert len({e["bin"] for e in index}) == 2
    for e in index:
        assert len(e["bin"]) <= 120
        assert np.fromfile(tmp_path / "out" / e["bin"], "<f4").size == (3 if e["name"] == long_a else 2)
    _export(model, tmp_path / "again")  # stable: the same names every time
    assert [e["bin"] for e in kwbin_index(tmp_path / "again")] == [e["bin"] for e in index]


def kwbin_index(folder: Path) -> list[dict]:
    import json

    return json.loads((folder / "index.json").read_text(encoding="utf-8"))["tensors"]


NASTY = [".", "..", "../up", "a/b", "a_b", "A_B", "CON", "con.x", "nul", "LPT1", "COM9.bin", "index", "x\ty",
         "x\ny", "x\ry", "x\\ty", "line\u2028sep", "bell\x07", "ünï", "日本", "a" * 260, "a" * 261]  # fmt: skip


def test_export_file_names_are_safe_and_unique(tmp_path):
    model = tmp_path / "m.kwb"
    kwbin.save_file({name: np.full(2, i, np.float32) for i, name in enumerate(NASTY)}, model)
    _export(model, tmp_path / "out")
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len({f.lower() for f in files}) == len(files) == 2 * len(NASTY) + 2
    devices = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(10)}
    for f in files:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", f) and len(f) < 255, f
        assert f.split(".")[0].upper() not in devices, f
    for i, entry in enumerate(kwbin_index(tmp_path / "out")):
        assert entry["name"] == NASTY[i]
        assert np.fromfile(tmp_path / "out" / entry["bin"], "<f4").tolist() == [i, i]
        assert np.loadtxt(tmp_path / "out" / entry["txt"], dtype=np.float32).tolist() == [i, i]


def test_index_tsv_names_round_trip_and_cannot_forge_rows(tmp_path):
    model = tmp_path / "m.kwb"
    kwbin.save_file({name: np.zeros(1, np.float32) for name in NASTY}, model)
    _export(model, tmp_path / "out")
    text = (tmp_path / "out" / "index.tsv").read_text(encoding="utf-8")
    rows = text.splitlines()
    assert len(rows) == len(NASTY) + 1 and text.count("\n") == len(NASTY) + 1
    names = [tsv_unescape(row.split("\t")[1]) for row in rows[1:]]
    assert names == NASTY
    assert all(len(row.split("\t")) == 4 for row in rows)


def test_tsv_escape_round_trips_every_control_character():
    text = "".join(chr(c) for c in range(0, 0xA0)) + "\\t\\\\n\u2028\u2029é日"
    escaped = tsv_escape(text)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", escaped)
    assert tsv_unescape(escaped) == text


@pytest.mark.parametrize("umask", [0o022, 0o027], ids=["022", "027"])
def test_export_folder_gets_the_mode_mkdir_would_give(small, tmp_path, umask):
    folder = tmp_path / "out"
    result = subprocess.run([sys.executable, "-c", f"import os, sys; os.umask({umask}); from kwbin.cli import main; "
                             f"sys.exit(main(['export', {str(small)!r}, {str(folder)!r}]))"],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask


# --- bad paths: one line, no hang, no exit 70 -----------------------------------------------


@pytest.mark.parametrize("verb", ["c-array", "export", "pack"])
def test_an_output_in_a_missing_folder_is_named(small, tmp_path, keras_data, verb):
    out = tmp_path / "missing" / "out.x"
    src = str(keras_data / "seed_tfk.h5") if verb == "pack" else str(small)
    args = [verb, src, str(out)] if verb == "export" else [verb, src, "-o", str(out)]
    line = one_line_error(kwbin_cli(*args, "-q") if verb == "pack" else kwbin_cli(*args), 3)
    assert "out.x: cannot write" in line and "missing" in line and "kwbin-tmp" not in line


@pytest.mark.skipif(not os.path.isdir("/sys") or os.access("/sys", os.W_OK) and os.geteuid() != 0,
                    reason="needs a folder nobody may create files in")  # fmt: skip
def test_an_unwritable_folder_names_the_output_not_a_temporary_file(small):
    line = one_line_error(kwbin_cli("c-array", str(small), "-o", "/sys/kwbin-test.h"), 3)
    assert "/sys/kwbin-test.h: cannot write" in line and "kwbin-tmp" not in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
@pytest.mark.parametrize("where", ["c-array", "pack", "pack --arch"])
def test_a_fifo_is_refused_without_blocking(small, tmp_path, keras_data, where):
    fifo = tmp_path / "pipe.kwb"
    os.mkfifo(fifo)
    if where == "c-array":
        args = ["c-array", str(fifo), "-o", str(tmp_path / "x.h")]
    elif where == "pack":
        args = ["pack", str(fifo), "-o", str(tmp_path / "x.kwb"), "-q"]
    else:
        args = ["pack", str(keras_data / "seed_k3.weights.h5"), "--arch", str(fifo), "-o", str(tmp_path / "x.kwb"), "-q"]
    line = one_line_error(kwbin_cli(*args), 1)  # a hang here is the bug (600 s guard)
    assert "pipe.kwb" in line and "regular file" in line


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_c_array_does_not_read_dev_zero_forever(tmp_path):
    line = one_line_error(kwbin_cli("c-array", "/dev/zero", "-o", str(tmp_path / "z.h"), "--name", "zero"), 1)
    assert "regular file" in line


@pytest.mark.parametrize("verb", ["c-array", "info"])
def test_an_empty_file_is_invalid_input(tmp_path, verb):
    empty = tmp_path / "empty.kwb"
    empty.write_bytes(b"")
    args = [verb, str(empty)] + (["-o", str(tmp_path / "e.h")] if verb == "c-array" else [])
    assert "truncated" in one_line_error(kwbin_cli(*args), 1)


def test_names_the_terminal_cannot_encode_are_escaped_not_a_crash(tmp_path):
    model = tmp_path / "m.kwb"
    kwbin.save_file({"日本/ñ": np.zeros(1, np.float32)}, model)
    result = kwbin_cli("info", str(model), env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    assert "\\u65e5\\u672c/\\xf1" in result.stdout


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    model = tmp_path / "m.kwb"
    kwbin.save_file({"big": np.arange(200_000, dtype=np.float32)}, model)
    proc = subprocess.Popen([sys.executable, "-m", "kwbin", "dump", str(model), "big", "--all"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)  # far less than the output: the rest cannot fit in the pipe
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=600) == 0 and stderr == ""
