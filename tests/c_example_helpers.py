"""Shared by test_c_examples.py and test_install.py: the shipped model, its
Keras outputs, and running a shell command line exactly as the docs write it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "c_reader" / "examples"
MODEL = ROOT / "examples" / "seed_k3.keras"
INPUT = ROOT / "examples" / "seed_k3.input.npy"
KERAS_OUTPUT = ROOT / "examples" / "seed_k3.output.npy"
TOLERANCE = 1e-5  # as examples/demo.py and the README state
HANG_GUARD = 600  # seconds; only so that a hang ends


def shell(command: str, cwd: Path, path_first: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """Run `command` with bash, as a reader would type it; `path_first` goes before $PATH (where `kwbin` is)."""
    env = dict(os.environ)
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(["bash", "-c", f"set -eo pipefail; {command}"], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=HANG_GUARD)
    if check and result.returncode != 0:
        raise AssertionError(f"`{command}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def kwbin_bin() -> Path:
    """The folder of this Python's `kwbin` console script (.venv/bin for `make test`)."""
    return Path(sys.executable).parent


def doc_commands(source: Path) -> list[str]:
    """The command lines (`kwbin ...`, `cc ...`) of a C example's top comment, in order."""
    comment = source.read_text(encoding="utf-8").split("*/", 1)[0]
    return [line.strip() for line in comment.splitlines() if re.match(r"\s+(cc|kwbin) ", line)]


def first_input_text() -> str:
    """The first sample of the shipped input, as the numbers infer.c reads (float32 repr: exact)."""
    return " ".join(str(v) for v in np.load(INPUT)[0]) + "\n"


def printed_outputs(stdout: str) -> np.ndarray:
    """The numbers a C example printed, one per line (lines starting with # are comments)."""
    return np.array([float(line) for line in stdout.splitlines() if line and not line.startswith("#")], np.float32)


def assert_keras_outputs(stdout: str) -> None:
    got, want = printed_outputs(stdout), np.load(KERAS_OUTPUT)[0]
    assert got.shape == want.shape, (got.shape, want.shape)
    assert float(np.max(np.abs(got - want))) <= TOLERANCE, float(np.max(np.abs(got - want)))
