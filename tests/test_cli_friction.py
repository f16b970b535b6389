"""A newcomer's first hour with the kwbin command (issue #12).

Every verb keeps the documented exit codes (0 ok, 1 invalid input, 2 bad
command line, 3 cannot read or write, 4 no such tensor); every error is one
line ``kwbin: error: WHERE: ...``, pack's included; usage errors show the
verb's usage; ``info`` shows the names ``dump`` takes; ``dump`` takes
LAYER WEIGHT and suggests close names; ``-o -`` means standard output where
that makes sense and never creates a file named ``-``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.carray import header_text

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_IO, EXIT_NOT_FOUND = 0, 1, 2, 3, 4


def kwbin_cli(*args: str, cwd=None, stdout=None, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kwbin", *args], cwd=cwd, stdin=stdin,
                          stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=600)  # fmt: skip


def error_line(result: subprocess.CompletedProcess, code: int) -> str:
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == code, (result.returncode, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kwbin: error: "), stderr
    return lines[0]


@pytest.fixture()
def model(tmp_path) -> Path:
    path = tmp_path / "model.kwb"
    with kwbin.Writer(path) as w:
        w.add_layer("dense", "Dense", config={"units": 3})
        w.add_tensor("dense/kernel", np.arange(12, dtype=np.float32).reshape(4, 3), layer="dense", weight="kernel")
        w.add_tensor("dense/bias", np.array([0.5, -1.0, 2.0], np.float32), layer="dense", weight="bias")
        w.add_layer("outer/conv", "Conv2D")
        w.add_tensor("outer/conv/kernel:0", np.ones((1, 1, 1, 2), np.float32), layer="outer/conv", weight="kernel")
        w.add_tensor("loose", np.zeros(2, np.int32))
    return path


# --- exit codes: every verb, table-driven -----------------------------------------------------

INPUTS = {
    "missing": (EXIT_IO, "No such file"),
    "folder": (EXIT_IO, "is a folder"),
    "text": (EXIT_INVALID, ""),
}


def _verb_args(verb: str, src: str, tmp: Path) -> list[str]:
    return {
        "info": ["info", src],
        "info --json": ["info", "--json", src],
        "verify": ["verify", src],
        "dump": ["dump", src, "dense/bias"],
        "export": ["export", src, str(tmp / "exported")],
        "c-array": ["c-array", src, "-o", str(tmp / "x.h")],
        "pack": ["pack", src, "-o", str(tmp / "x.kwb"), "-q"],
    }[verb]


@pytest.mark.parametrize("kind", sorted(INPUTS))
@pytest.mark.parametrize("verb", ["info", "info --json", "verify", "dump", "export", "c-array", "pack"])
def test_every_verb_gives_the_documented_exit_code_for_a_bad_input(tmp_path, verb, kind):
    src = {"missing": tmp_path / "nope.kwb", "folder": tmp_path / "folder", "text": tmp_path / "notes.txt"}[kind]
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("hello\n")
    code, needle = INPUTS[kind]
    line = error_line(kwbin_cli(*_verb_args(verb, str(src), tmp_path)), code)
    assert str(src) in line and needle in line
    if kind == "text":  # what was expected, what was found
        assert "expected" in line and "found" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "notes.txt"]  # nothing written


def _pack_cases(tmp: Path, keras_data: Path) -> dict[str, tuple[list[str], int, str]]:
    weights, out = str(keras_data / "seed_k3.weights.h5"), str(tmp / "x.kwb")
    return {
        "arch missing": (["pack", weights, "--arch", str(tmp / "nope.json"), "-o", out], EXIT_IO, "nope.json"),
        "arch folder": (["pack", weights, "--arch", str(tmp / "folder"), "-o", out], EXIT_IO, "folder"),
        "shard missing": (["pack", str(tmp / "m.weights.json"), "-o", out], EXIT_IO, "gone.weights.h5"),
        "output is a folder": (["pack", weights, "--arch", str(keras_data / "seed_k3.keras"), "-o", str(tmp / "folder")],
                               EXIT_IO, "folder"),
        "c-array output is a folder": (["c-array", str(tmp / "m.kwb"), "-o", str(tmp / "folder")], EXIT_IO, "folder"),
        "export into a file": (["export", str(tmp / "m.kwb"), str(tmp / "notes.txt")], EXIT_IO, "notes.txt"),
        "export into a busy folder": (["export", str(tmp / "m.kwb"), str(tmp / "busy")], EXIT_IO, "busy"),
        "pack a kwbin file": (["pack", str(tmp / "m.kwb")], EXIT_INVALID, "found a kwbin file"),
        "no such tensor": (["dump", str(tmp / "m.kwb"), "nope"], EXIT_NOT_FOUND, "nope"),
        "no such layer": (["dump", str(tmp / "m.kwb"), "nope", "bias"], EXIT_NOT_FOUND, "nope"),
        "no such weight": (["dump", str(tmp / "m.kwb"), "dense", "nope"], EXIT_NOT_FOUND, "nope"),
        "same file": (["c-array", str(tmp / "m.kwb"), "-o", str(tmp / "m.kwb")], EXIT_USAGE, "same file"),
        "bad symbol": (["c-array", str(tmp / "m.kwb"), "--name", "2x"], EXIT_USAGE, "2x"),
        "stdin as input": (["info", "-"], EXIT_USAGE, "standard input"),
        "stdin as source": (["pack", "-"], EXIT_USAGE, "standard input"),
        "empty input": (["info", ""], EXIT_USAGE, "empty"),
        "empty output": (["c-array", str(tmp / "m.kwb"), "-o", ""], EXIT_USAGE, "empty"),
        "empty folder name": (["export", str(tmp / "m.kwb"), ""], EXIT_USAGE, "empty"),
        "export to stdout": (["export", str(tmp / "m.kwb"), "-"], EXIT_USAGE, "folder"),
    }  # fmt: skip


CASES = list(_pack_cases(Path("/t"), Path("/k")))


@pytest.mark.parametrize("case", CASES)
def test_documented_exit_codes_for_outputs_arguments_and_names(tmp_path, keras_data, model, case):
    shutil.copy(model, tmp_path / "m.kwb")
    (tmp_path / "folder").mkdir()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep").write_text("mine")
    (tmp_path / "notes.txt").write_text("hello\n")
    (tmp_path / "m.weights.json").write_text('{"weight_map": {"dense/vars/0": "gone.weights.h5"}}')
    args, code, needle = _pack_cases(tmp_path, keras_data)[case]
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    line = error_line(kwbin_cli(*args, cwd=tmp_path), code)
    assert needle in line
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    assert (tmp_path / "busy" / "keep").read_text() == "mine"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
@pytest.mark.parametrize("verb", ["c-array", "pack"])
def test_an_output_that_is_not_a_regular_file_is_not_replaced(tmp_path, keras_data, model, verb):
    """`-o /dev/null` run as root would otherwise replace the device node with a regular file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    src = [str(model)] if verb == "c-array" else [str(keras_data / "seed_tfk.h5"), "-q"]
    line = error_line(kwbin_cli(verb, *src, "-o", str(fifo)), EXIT_IO)
    assert "pipe" in line and "FIFO" in line and "expected" in line
    assert fifo.is_fifo()


# --- usage errors show the verb's usage -------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["pack"], ["info"], ["dump", "m.kwb"], ["export", "m.kwb"], ["c-array"], ["verify"],
     ["pack", "m.h5", "--bogus"], ["info", "m.kwb", "extra"], ["dump", "m.kwb", "a", "b", "c"],
     ["verify", "m.kwb", "--json"], ["c-array", "m.kwb", "-o"]],
)  # fmt: skip
def test_a_usage_error_shows_the_verbs_usage(args):
    result = kwbin_cli(*args)
    stderr = result.stderr.decode()
    assert result.returncode == EXIT_USAGE, stderr
    assert stderr.startswith(f"usage: kwbin {args[0]} "), stderr
    assert f"kwbin {args[0]}: error: " in stderr and "Traceback" not in stderr


# --- pack errors have the readers' shape -------------------------------------------------------

SHAPE = re.compile(r"kwbin: error: (?P<where>[^:]+): (?P<code>[a-z][a-z0-9_]*): (?P<message>.+)")


def test_pack_errors_have_the_shape_of_reader_errors(tmp_path, keras_data):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    cut = tmp_path / "cut.h5"
    cut.write_bytes((keras_data / "seed_tfk.h5").read_bytes()[:300_000])
    bad_arch = tmp_path / "arch.json"
    bad_arch.write_text('{"no": "class"}')
    cases = [
        ([str(text)], str(text)),
        ([str(cut)], str(cut)),
        ([str(keras_data / "seed_k3.weights.h5"), "--arch", str(bad_arch)], str(bad_arch)),
    ]
    for args, where in cases:
        line = error_line(kwbin_cli("pack", *args, "-o", str(tmp_path / "o.kwb"), "-q"), EXIT_INVALID)
        match = SHAPE.fullmatch(line)
        assert match, line
        assert match["where"] == where and not match["message"].startswith(where), line
    reader = error_line(kwbin_cli("info", str(text)), EXIT_INVALID)
    assert SHAPE.fullmatch(reader) and SHAPE.fullmatch(reader)["where"] == str(text)


# --- info shows the names dump takes ---------------------------------------------------------


def _names_in_info(stdout: str, f: kwbin.KwbinFile) -> list[str]:
    tokens = set(stdout.split())
    return [t.name for t in f.tensors if t.name in tokens]


def test_info_shows_every_full_name_and_dump_takes_it(model):
    result = kwbin_cli("info", str(model))
    assert result.returncode == 0, result.stderr
    stdout = result.stdout.decode()
    with kwbin.open(model) as f:
        assert _names_in_info(stdout, f) == [t.name for t in f.tensors]
        for t in f.tensors:
            dumped = kwbin_cli("dump", str(model), t.name)
            assert dumped.returncode == 0, dumped.stderr
            assert dumped.stdout.decode().startswith(f"{t.name}: {t.dtype}")


def test_info_escapes_control_characters_and_dump_takes_the_escaped_name(tmp_path):
    path = tmp_path / "m.kwb"
    kwbin.save_file({"a\nb": np.array([7.0], np.float32), "tab\there": np.zeros(1, np.float32)}, path)
    stdout = kwbin_cli("info", str(path)).stdout.decode()
    assert "a\\nb" in stdout and "tab\\there" in stdout
    assert "a\nb" not in stdout
    dumped = kwbin_cli("dump", str(path), "a\\nb")
    assert dumped.returncode == 0, dumped.stderr
    assert "[7.]" in dumped.stdout.decode()


# --- dump LAYER WEIGHT and "did you mean" -----------------------------------------------------


def test_dump_takes_a_layer_and_a_weight(model):
    by_name = kwbin_cli("dump", str(model), "outer/conv/kernel:0")
    by_pair = kwbin_cli("dump", str(model), "outer/conv", "kernel", "--all")
    assert by_pair.returncode == 0, by_pair.stderr
    assert by_pair.stdout == by_name.stdout


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [(["dense/bais"], "'dense/bias'"), (["dense/kernal"], "'dense/kernel'"), (["kernel"], "'dense/kernel'"),
     (["dense"], "'dense/kernel', 'dense/bias'"), (["dens", "bias"], "'dense'"), (["dense", "bais"], "'bias'")],
)  # fmt: skip
def test_an_unknown_name_suggests_the_closest(model, args, suggestion):
    line = error_line(kwbin_cli("dump", str(model), *args), EXIT_NOT_FOUND)
    assert "did you mean" in line and suggestion in line


def test_a_name_far_from_all_suggests_info(model):
    line = error_line(kwbin_cli("dump", str(model), "zzzzzzzz"), EXIT_NOT_FOUND)
    assert "did you mean" not in line and "kwbin info" in line


# --- standard output --------------------------------------------------------------------------


def test_c_array_to_stdout_prints_the_header(tmp_path, model):
    result = kwbin_cli("c-array", str(model), "-o", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with kwbin.open(model) as f:
        alignment = f.alignment
    assert result.stdout.decode("ascii") == header_text(model.read_bytes(), "model", alignment, str(model), "model.h")
    assert not (tmp_path / "-").exists()


def test_pack_to_stdout_writes_the_same_bytes_as_to_a_file(tmp_path, keras_data):
    src = str(keras_data / "seed_tfk.h5")
    assert kwbin_cli("pack", src, "-o", str(tmp_path / "file.kwb"), "-q").returncode == 0
    with open(tmp_path / "piped.kwb", "wb") as out:
        result = kwbin_cli("pack", src, "-o", "-", cwd=tmp_path, stdout=out)
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert (tmp_path / "piped.kwb").read_bytes() == (tmp_path / "file.kwb").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.kwb", "piped.kwb"]


def test_a_failed_pack_to_stdout_writes_nothing(tmp_path, keras_data):
    cut = tmp_path / "cut.h5"
    cut.write_bytes((keras_data / "seed_tfk.h5").read_bytes()[:300_000])
    result = kwbin_cli("pack", str(cut), "-o", "-", cwd=tmp_path)
    error_line(result, EXIT_INVALID)
    assert result.stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.h5"]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="no pseudo-terminals")
def test_pack_to_stdout_refuses_a_terminal(tmp_path, keras_data):
    leader, follower = os.openpty()
    try:
        result = kwbin_cli("pack", str(keras_data / "seed_tfk.h5"), "-o", "-", cwd=tmp_path, stdout=follower)
    finally:
        os.close(follower)
        os.close(leader)
    line = error_line(result, EXIT_USAGE)
    assert "terminal" in line
    assert list(tmp_path.iterdir()) == []


def test_c_array_to_stdout_refuses_to_append_to_its_input(tmp_path, model):
    before = model.read_bytes()
    with open(model, "ab") as out:
        line = error_line(kwbin_cli("c-array", str(model), "-o", "-", stdout=out, cwd=model.parent), EXIT_USAGE)
    assert "standard output" in line and "same file" in line
    assert model.read_bytes() == before
    assert not (model.parent / "-").exists()


# --- outputs through symbolic links ------------------------------------------------------------


@pytest.mark.parametrize("verb", ["c-array", "pack"])
def test_an_output_that_is_a_link_is_written_through_not_replaced(tmp_path, keras_data, model, verb):
    """A rename onto a link replaces the link: run as root, `-o /dev/stdout` used to replace /dev/stdout itself."""
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "target.out"
    target.write_bytes(b"old")
    link = tmp_path / "link.out"
    link.symlink_to(target)
    src = [str(model)] if verb == "c-array" else [str(keras_data / "seed_tfk.h5"), "-q"]
    result = kwbin_cli(verb, *src, "-o", str(link))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes()[:2] == (b"/*" if verb == "c-array" else b"\x89K")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc/self/fd")
def test_an_output_linked_to_standard_output_keeps_the_link(tmp_path, model):
    """`-o /dev/stdout` with standard output redirected to a file: the file gets the header, the link stays."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    with open(tmp_path / "captured.h", "wb") as out:
        result = kwbin_cli("c-array", str(model), "-o", str(link), stdout=out)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    assert (tmp_path / "captured.h").read_bytes().startswith(b"/* model.kwb as a C array")
    piped = kwbin_cli("c-array", str(model), "-o", str(link))  # a pipe: refused, pointing at -o -
    assert "-o -" in error_line(piped, EXIT_IO) and link.is_symlink()


def test_export_into_a_link_to_an_empty_folder(tmp_path, model):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    result = kwbin_cli("export", str(model), str(tmp_path / "link"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "index.json").exists()
