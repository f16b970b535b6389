"""kwbin.keras imports with an h5py older than 3.15 (pyproject allows h5py >= 3.0).

h5py 3.15 added ``h5py.h5t.COMPLEX``; tensorflow-cpu 2.21 pins h5py < 3.15, and kwbin
named the constant at import, so `import kwbin.keras` failed next to TensorFlow.
Simulated here by removing the constant before kwbin imports.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

h5py = pytest.importorskip("h5py")

PROGRAM = """
import h5py.h5t
if hasattr(h5py.h5t, "COMPLEX"):
    del h5py.h5t.COMPLEX  # as in h5py < 3.15
import numpy as np, kwbin
from kwbin.keras import pack
path, out = {path!r}, {out!r}
with h5py.File(path, "w") as f:
    f.create_dataset("model_weights/d/d/kernel:0", data=np.ones((2, 3), np.float32))
    f["model_weights"].attrs["layer_names"] = [b"d"]
    f["model_weights/d"].attrs["weight_names"] = [b"d/kernel:0"]
    f["model_weights"].attrs["keras_version"] = b"2.21.0"
pack(path, out)
with kwbin.open(out) as k:
    print(k["d/kernel"].shape)
"""


def test_kwbin_keras_packs_without_h5t_complex(tmp_path):
    program = PROGRAM.format(path=str(tmp_path / "w.h5"), out=str(tmp_path / "w.kwb"))
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(2, 3)"
