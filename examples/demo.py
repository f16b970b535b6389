"""`make demo`: the job kwbin exists for, on the shipped example model.

1. pack a real Keras 3 model (examples/seed_k3.keras; provenance in
   tests/data/keras/MANIFEST.md) into one .kwb file, without TensorFlow;
2. show what is in the file and check every checksum;
3. read it back from C: the example program, the full listing compared with
   Python's, then the network run by the reference C inference on the example
   input, compared with Keras's own predictions.
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
BUILD = ROOT / "build"
DUMP = BUILD / "kwbin-dump"
INPUT = ROOT / "examples" / "seed_k3.input.npy"
KERAS_OUTPUT = ROOT / "examples" / "seed_k3.output.npy"


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
        print("(the C tools are not built: run `make c`)")
        return
    shell(BUILD / "hello_kwbin", rel_out, "dense")
    from_c = json.loads(subprocess.run([str(DUMP), str(OUT)], check=True, capture_output=True, text=True).stdout)
    from kwbin.listing import listing

    with kwbin.open(OUT) as f:
        same = from_c == listing(f)
    print(f"$ build/kwbin-dump {rel_out}   # the whole listing as JSON, CRC-32s computed in C")
    print(f"C and Python listings identical ({len(from_c['layers'])} layers, {len(from_c['tensors'])} tensors): {same}")

    step("4. run the network in C from the file alone, and compare with Keras")
    outputs = ROOT / "out" / "seed_k3.c_output.npy"
    shell(BUILD / "kwbin-run", rel_out, INPUT.relative_to(ROOT), outputs.relative_to(ROOT))
    got, want = np.load(outputs), np.load(KERAS_OUTPUT)
    diff = float(np.max(np.abs(got - want)))
    print(f"batch {got.shape[0]}, {got.shape[1]} outputs each; largest difference from Keras's own "
          f"predictions: {diff:.2e} (the tests require <= 1e-5)")
    if not same or diff > 1e-5:
        sys.exit(1)


def shell(program: Path, *args: object) -> None:
    print(f"$ {program.relative_to(ROOT)} {' '.join(map(str, args))}")
    sys.stdout.flush()
    subprocess.run([str(program), *map(str, args)], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
