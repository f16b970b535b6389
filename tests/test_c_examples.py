"""The C examples compile as written and give Keras's outputs (issue #17).

c_reader/examples/infer.c (open, verify, load, run one input, print) and
c_reader/examples/embedded.c (the `kwbin c-array` output, no file I/O, no heap:
a static arena through the allocator hooks).  Each example's top comment holds
its exact commands; the README repeats them.  They run here verbatim, in a
folder laid out like the repository root (c_reader/ and examples/ linked).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import kwbin.keras
from c_example_helpers import (
    EXAMPLES,
    MODEL,
    ROOT,
    assert_keras_outputs,
    doc_commands,
    first_input_text,
    kwbin_bin,
    shell,
)

INFER = EXAMPLES / "infer.c"
EMBEDDED = EXAMPLES / "embedded.c"
STRICT = "-std=c99 -O2 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"
INFER_LINE = "cc -std=c99 -O2 -Ic_reader -o infer c_reader/examples/infer.c -lm"
EMBEDDED_LINES = [
    "kwbin pack examples/seed_k3.keras -o seed_k3.kwb",
    "kwbin c-array seed_k3.kwb -o model_data.h --name model",
    "cc -std=c99 -O2 -Ic_reader -I. -o embedded c_reader/examples/embedded.c -lm",
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the documented relative paths resolve, so nothing is written into the repository."""
    work = tmp_path_factory.mktemp("examples")
    (work / "c_reader").symlink_to(ROOT / "c_reader")
    (work / "examples").symlink_to(ROOT / "examples")
    kwbin.keras.pack(MODEL, work / "model.kwb")
    (work / "input.txt").write_text(first_input_text())
    return work


@pytest.fixture(scope="module")
def infer(workdir: Path) -> Path:
    shell(INFER_LINE, workdir)
    return workdir / "infer"


def test_the_comments_hold_the_documented_commands() -> None:
    assert doc_commands(INFER) == [INFER_LINE]
    assert doc_commands(EMBEDDED) == EMBEDDED_LINES


def test_the_readme_gives_each_compile_line() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in [INFER_LINE, *EMBEDDED_LINES]:
        assert line in readme, line


def test_infer_prints_keras_outputs(infer: Path, workdir: Path) -> None:
    from_file = shell("./infer model.kwb input.txt", workdir)
    assert_keras_outputs(from_file.stdout)
    from_stdin = shell("./infer model.kwb < input.txt", workdir)
    assert from_stdin.stdout == from_file.stdout


def test_infer_verifies_the_file(infer: Path, workdir: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.kwb"
    data = bytearray((workdir / "model.kwb").read_bytes())
    with kwbin.open(workdir / "model.kwb") as f:
        data[f.tensors[0].offset] ^= 0x01  # a weight byte: only the CRC-32 check (kwb_verify) sees it
    damaged.write_bytes(bytes(data))
    result = shell(f"./infer {damaged} input.txt", workdir, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert "tensor_checksum" in result.stderr


def test_infer_refuses_a_short_input(infer: Path, workdir: Path) -> None:
    result = shell("echo 1 2 3 | ./infer model.kwb", workdir, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert "expected 39 numbers, read 3" in result.stderr


def test_embedded_prints_keras_outputs_without_files_or_heap(workdir: Path) -> None:
    for line in EMBEDDED_LINES:
        shell(line, workdir, path_first=kwbin_bin())
    result = shell("./embedded", workdir)
    assert_keras_outputs(result.stdout)
    assert result.stdout.startswith("# ") and "arena" in result.stdout.splitlines()[0]
    if shutil.which("nm") is None:
        pytest.skip("nm is needed to list the program's imports")
    imports = set(subprocess.run(["nm", "-D", "--undefined-only", str(workdir / "embedded")], check=True,
                                 capture_output=True, text=True, timeout=600).stdout.split())
    names = {name.split("@")[0] for name in imports}
    forbidden = {"malloc", "calloc", "realloc", "free", "fopen", "fopen64", "open", "open64", "mmap", "mmap64",
                 "read", "fread", "fstat", "fstat64"}
    assert not names & forbidden, names & forbidden


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_examples_compile_with_the_project_warnings(workdir: Path, compiler: str, tmp_path: Path) -> None:
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed")
    shell(f"{compiler} {STRICT} -Ic_reader -o {tmp_path}/infer c_reader/examples/infer.c -lm", workdir)
    header = tmp_path / "model_data.h"
    shell(f"kwbin c-array model.kwb -o {header} --name model", workdir, path_first=kwbin_bin())
    # the generated array may be one long string literal: that warning is the header's, not the example's
    shell(f"{compiler} {STRICT} -Wno-overlength-strings -Ic_reader -I{tmp_path} -o {tmp_path}/embedded "
          "c_reader/examples/embedded.c -lm", workdir)
