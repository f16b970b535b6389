"""`make demo`: put the shipped example model's weights into one kwbin file and look inside.

The example is a real Keras 3 model (examples/seed_k3.keras; provenance in
tests/data/keras/MANIFEST.md).  Until the Keras importer lands, this demo
copies its HDF5 datasets as they are (positional names), then shows what the
file holds and checks every byte against the source.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np

import kwbin

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "seed_k3.keras"
OUT = HERE.parent / "out" / "seed_k3_arrays.kwb"


def read_datasets(archive: Path) -> dict[str, np.ndarray]:
    """Every dataset of the archive's model.weights.h5, in file order."""
    with zipfile.ZipFile(archive) as zf:
        blob = zf.read("model.weights.h5")
    arrays: dict[str, np.ndarray] = {}

    def keep(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset):
            arrays[name] = obj[()]

    with h5py.File(io.BytesIO(blob), "r") as h5:
        h5.visititems(keep)
    return arrays


def run(*args: str) -> None:
    print(f"\n$ kwbin {' '.join(args)}")
    sys.stdout.flush()
    subprocess.run([sys.executable, "-m", "kwbin", *args], check=True)


def main() -> None:
    arrays = read_datasets(SOURCE)
    OUT.parent.mkdir(exist_ok=True)
    kwbin.save_file(arrays, OUT, metadata={"source": SOURCE.name})
    print(f"wrote {OUT.relative_to(HERE.parent)}: {len(arrays)} tensors, {OUT.stat().st_size} bytes")

    run("info", str(OUT))
    run("verify", str(OUT))
    first = next(iter(arrays))
    run("dump", str(OUT), first)

    with kwbin.open(OUT) as f:
        same = all(np.array_equal(f[name].view(np.uint8), np.ascontiguousarray(a).view(np.uint8))
                   for name, a in arrays.items())
    print(f"\nevery tensor equals its HDF5 dataset bit for bit: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
