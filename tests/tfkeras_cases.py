"""The committed tf.keras fixtures (tests/data/tfops, tests/data/tfrnn): their cases.json
and the model config each .h5 holds, read with h5py (no TensorFlow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np

DATA = Path(__file__).resolve().parent / "data"


def index(folder: str) -> dict[str, Any]:
    return json.loads((DATA / folder / "cases.json").read_text())


def h5_model_config(path: Path) -> dict[str, Any]:
    with h5py.File(path, "r") as f:
        raw = f.attrs["model_config"]
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def runs(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's first run (inputs/outputs) and its more_runs (other time lengths)."""
    return [{"inputs": case["inputs"], "outputs": case["outputs"]}, *case.get("more_runs", [])]


def check_arrays(folder: str, case: dict[str, Any]) -> None:
    """Every .npy is there, float32, with the shape cases.json gives, and finite."""
    for run in runs(case):
        for entry in run["inputs"] + run["outputs"]:
            a = np.load(DATA / folder / entry["file"])
            assert a.dtype == np.float32 and list(a.shape) == entry["shape"], entry
            assert np.all(np.isfinite(a)), entry


def pack_all(folder: str, cases: dict[str, dict[str, Any]], out: Path) -> dict[str, Any]:
    """Every case packed by the command line (`kwbin pack X.h5 -o X.kwb`): name -> (result, .kwb path)."""
    done = {}
    for name, case in cases.items():
        target = out / f"{name}.kwb"
        result = subprocess.run([sys.executable, "-m", "kwbin", "pack", str(DATA / folder / case["model"]),
                                 "-o", str(target)], capture_output=True, text=True, timeout=600)
        done[name] = (result, target)
    return done
