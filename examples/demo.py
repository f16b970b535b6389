"""`make demo`: the job kwbin exists for, on the shipped example model.

1. pack a real Keras 3 model (examples/seed_k3.keras; provenance in
   tests/data/keras/MANIFEST.md) into one .kwb file, without TensorFlow;
2. show what is in the file and check every checksum;
3. read it back from C (when the C tools are built) and compare with Python.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import kwbin

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "examples" / "seed_k3.keras"
OUT = ROOT / "out" / "seed_k3.kwb"
DUMP = ROOT / "build" / "kwbin-dump"


def step(title: str) -> None:
    print(f"\n== {title}")
    sys.stdout.flush()


def kwbin_cli(*args: str) -> None:
    print(f"$ kwbin {' '.join(args)}")
    sys.stdout.flush()
    subprocess.run([sys.executable, "-m", "kwbin", *args], check=True)


def main() -> None:
    OUT.parent.mkdir(exist_ok=True)
    rel_src, rel_out = SOURCE.relative_to(ROOT), OUT.relative_to(ROOT)

    step("1. pack the Keras model (h5py + zipfile only, no TensorFlow, no Keras)")
    kwbin_cli("pack", str(rel_src), "-o", str(rel_out))

    step("2. what is in the file")
    kwbin_cli("info", str(rel_out))
    kwbin_cli("verify", str(rel_out))
    kwbin_cli("dump", str(rel_out), "dense_4/bias")

    step("3. read it back from C")
    if not DUMP.exists():
        print(f"({DUMP.relative_to(ROOT)} is not built: run `make c`)")
        return
    print(f"$ {DUMP.relative_to(ROOT)} {rel_out}")
    from_c = json.loads(subprocess.run([str(DUMP), str(OUT)], check=True, capture_output=True, text=True).stdout)
    from kwbin.listing import listing

    with kwbin.open(OUT) as f:
        from_python = listing(f)
        kernel = f["dense", "kernel"]
        print(f"C read {len(from_c['layers'])} layers and {len(from_c['tensors'])} tensors; "
              f"dense/kernel is {tuple(kernel.shape)}, starting {np.array2string(kernel[0, :3], separator=', ')}")
    same = from_c == from_python
    print(f"C and Python listings (names, classes, shapes, dtypes, CRC-32s computed in C) identical: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
