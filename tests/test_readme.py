"""Every code block in README.md runs as pasted.

Each fenced block names its language.  ``python`` blocks run in a fresh
interpreter, ``c`` blocks are complete programs compiled with the command
line written in their first comment and run, ``sh`` blocks run line by line
(`kwbin` is the installed command) in a folder holding the example files they
name, ``json`` blocks parse.  ``text`` blocks are diagrams and usage lines.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\n(.*?)^```[ \t]*$", re.S | re.M)
BLOCKS = [(m.group(1), m.group(2), README.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(README)]
LANGUAGES = {"sh", "python", "c", "json", "text"}


def blocks(language: str) -> list:
    return [pytest.param(body, id=f"line{line}") for lang, body, line in BLOCKS if lang == language]


def test_every_block_names_a_known_language():
    assert BLOCKS, "no code blocks found"
    for language, _, line in BLOCKS:
        assert language in LANGUAGES, f"README.md line {line}: block language {language!r}"


def test_the_readme_starts_with_the_two_commands():
    language, body, _ = BLOCKS[0]
    commands = [line.split("#")[0].strip() for line in body.splitlines()]
    assert language == "sh" and commands == ["make demo", "make test"]


@pytest.fixture()
def workdir(tmp_path: Path, keras_data: Path) -> Path:
    """A folder with the files the README's examples name."""
    shutil.copy(keras_data / "seed_k3.keras", tmp_path / "model.keras")
    shutil.copy(keras_data / "seed_k3.weights.h5", tmp_path / "model.weights.h5")
    shutil.copy(keras_data / "seed_tfk.h5", tmp_path / "model.h5")
    shutil.copy(keras_data / "model54321_weights.h5", tmp_path / "model_weights.h5")
    shutil.copy(keras_data / "model54321_architecture.json", tmp_path / "model_architecture.json")
    shutil.copy(keras_data / "seed_k3.input.npy", tmp_path / "input.npy")
    return tmp_path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(args, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, env=_env(), **kwargs)
    assert result.returncode == 0, f"{args}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def _pack_example(workdir: Path) -> None:
    _run(["kwbin", "pack", "model.keras", "-o", "model.kwb", "-q"], workdir)


@pytest.mark.parametrize("body", blocks("python"))
def test_python_block_runs(workdir, body):
    _run([sys.executable, "-c", body], workdir)


@pytest.mark.parametrize("body", blocks("c"))
def test_c_block_compiles_and_runs(workdir, body):
    """The block's first comment holds its compile-and-run command line, run from the repository root."""
    first_comment = re.match(r"\s*/\*(.*?)\*/", body, re.S)
    assert first_comment, "a C block starts with a comment holding its command line"
    name, command = (part.strip() for part in first_comment.group(1).split(":", 1))
    (workdir / name).write_text(body, encoding="utf-8")
    _pack_example(workdir)
    # The command names headers as "c_reader/..." relative to a checkout: link one in.
    os.symlink(ROOT / "c_reader", workdir / "c_reader")
    _run(["bash", "-c", command], workdir)


@pytest.mark.parametrize("body", blocks("sh")[1:])  # the first block is `make demo` / `make test`
def test_shell_block_runs(workdir, body):
    _pack_example(workdir)
    for line in body.splitlines():
        command = line.split("  #")[0].strip()
        if command:
            _run(["bash", "-c", command], workdir)


@pytest.mark.parametrize("body", blocks("json"))
def test_json_block_is_the_listing_it_describes(tmp_path, body):
    """The README's listing is what `kwbin info --json` prints for the file it describes."""
    import numpy as np

    import kwbin

    json.loads(body)
    with kwbin.Writer(tmp_path / "model.kwb", alignment=64) as w:
        w.add_layer("dense", "Dense", config={"units": 3})
        w.add_tensor("dense/kernel", np.ones((4, 3), np.float32), layer="dense", weight="kernel")
    assert _run(["kwbin", "info", "model.kwb", "--json"], tmp_path).stdout == body


def test_the_shell_lines_are_well_formed():
    for body in [b.values[0] for b in blocks("sh")]:
        for line in body.splitlines():
            shlex.split(line.split("  #")[0])
