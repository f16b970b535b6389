"""Shared by the tf.keras fixture generators (tests/data/tfops, tests/data/tfrnn).

Runs only in .venv-tf (requirements/tf.txt: tensorflow-cpu 2.21.0, tf-keras 2.21.0),
never in `make test`.  A generator lists its cases and calls ``main``; for each
case this builds the model in a fresh session, sets every weight from
``numpy.random.default_rng(seed)`` (seed = CRC-32 of the case name), saves the
model as a tf.keras full-model ``.h5`` (``save_format="h5"``), draws seeded
inputs, writes ``model.predict`` outputs, reloads the ``.h5`` in a fresh session
to check it predicts the same, and records the case in ``cases.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

BATCH = 3
OP_CLASSES = ("TFOpLambda", "SlicingOpLambda")


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode())


class Case:
    """One model: ``build()`` returns an uncompiled tf.keras model.

    ``time_steps`` fills the model's ``None`` time axis for the saved batch;
    ``runs`` lists further time lengths to save (variable-length models).  ``integer_inputs``: inputs hold small integers (as float32) so that
    comparisons like ``equal`` meet equal values.
    """

    def __init__(self, name: str, build: Callable[[], Any], note: str, *, tolerance: float = 1e-5,
                 integer_inputs: bool = False, time_steps: int | None = None, runs: tuple[int, ...] = (),
                 expected: Callable[[Path, Any], Any] | None = None, how: str | None = None,
                 draw: Callable[[np.random.Generator, list[int]], np.ndarray] | None = None):
        self.name = name
        self.build = build
        self.note = note
        self.tolerance = tolerance
        self.integer_inputs = integer_inputs
        self.time_steps = time_steps
        self.runs = runs
        # expected(h5 path, model) -> a model whose predict gives the reference outputs
        # (CuDNN layers do not run on CPU: the equivalent plain layer loads their file)
        self.expected = expected
        self.how = how
        self.draw = draw  # draw(rng, shape) -> one input (e.g. token ids with padding)


def set_seeded_weights(model: Any, rng: np.random.Generator) -> None:
    """Kernels normal(0, 1/sqrt(fan_in)), vectors normal(0, 0.3): Keras's initialisers play no part."""
    values = []
    for w in model.weights:
        shape = tuple(w.shape)
        if len(shape) >= 2:
            fan_in = int(np.prod(shape[:-1]))
            values.append(rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape).astype(np.float32))
        else:
            values.append(rng.normal(0.0, 0.3, shape).astype(np.float32))
    model.set_weights(values)


def _draw(model: Any, case: Case, rng: np.random.Generator, steps: int | None) -> list[np.ndarray]:
    out = []
    for tensor in model.inputs:
        shape = [BATCH] + [steps if d is None else int(d) for d in tensor.shape[1:]]
        if case.draw is not None:
            out.append(case.draw(rng, shape).astype(np.float32))
        elif case.integer_inputs:
            out.append(rng.integers(-2, 3, shape).astype(np.float32))
        else:
            out.append(rng.normal(0.0, 1.0, shape).astype(np.float32))
    return out


def _files(prefix: str, kind: str, arrays: list[np.ndarray], folder: Path) -> list[dict[str, Any]]:
    entries = []
    for i, a in enumerate(arrays):
        name = f"{prefix}.{kind}{i}.npy"
        np.save(folder / name, a)
        entries.append({"file": name, "shape": list(a.shape), "dtype": str(a.dtype)})
    return entries


def _predict(model: Any, inputs: list[np.ndarray]) -> list[np.ndarray]:
    out = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0, batch_size=BATCH)
    return [np.asarray(o, np.float32) for o in (out if isinstance(out, list) else [out])]


def op_nodes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The TFOpLambda / SlicingOpLambda entries of a model config, as the .h5 holds them."""
    return [
        {"name": e["name"], "class_name": e["class_name"], "function": e["config"]["function"],
         "inbound_nodes": e["inbound_nodes"]}
        for e in config["config"]["layers"] if e["class_name"] in OP_CLASSES
    ]


def make_case(case: Case, folder: Path) -> dict[str, Any]:
    tf_keras.backend.clear_session()
    seed = seed_of(case.name)
    rng = np.random.default_rng(seed)
    model = case.build()
    set_seeded_weights(model, rng)
    path = folder / f"{case.name}.h5"
    model.save(path, save_format="h5")
    config = json.loads(model.to_json())
    reference = model
    if case.expected is not None:
        tf_keras.backend.clear_session()
        reference = case.expected(path, model)
    entry: dict[str, Any] = {"model": path.name}
    runs = []
    for steps in (case.time_steps, *case.runs):
        inputs = _draw(model, case, rng, steps)
        outputs = _predict(reference, inputs)
        prefix = case.name if not runs else f"{case.name}.t{steps}"
        run: dict[str, Any] = {"inputs": _files(prefix, "in", inputs, folder),
                               "outputs": _files(prefix, "out", outputs, folder)}
        if steps is not None:
            run["time_steps"] = steps
        runs.append((run, inputs, outputs))
    entry.update(runs[0][0])
    if len(runs) > 1:
        entry["more_runs"] = [r for r, _, _ in runs[1:]]
    # The file, reloaded in a fresh session, must give the same outputs.
    verify: float | None = None  # None: the file's own layers cannot run here (CuDNN on CPU)
    if case.expected is None:
        verify = 0.0
        tf_keras.backend.clear_session()
        again = tf_keras.models.load_model(path, compile=False)
        for _, inputs, outputs in runs:
            for a, b in zip(_predict(again, inputs), outputs):
                verify = max(verify, float(np.max(np.abs(a - b))) if a.size else 0.0)
    biggest = max(float(np.max(np.abs(o))) if o.size else 0.0 for _, _, outs in runs for o in outs)
    entry.update({
        "layers": sorted({e["class_name"] for e in config["config"]["layers"]}),
        "ops": op_nodes(config),
        "tolerance": case.tolerance * max(1.0, biggest),
        "max_abs_output": biggest,
        "verify": verify,
        "seed": seed,
        "note": case.note,
    })
    if case.how:
        entry["expected_outputs"] = case.how
    return entry


def main(argv: list[str], cases: list[Case], folder: Path, generator: str,
         render: Callable[[dict[str, Any]], str]) -> int:
    parser = argparse.ArgumentParser(description=f"Generate the tf.keras fixtures of {folder.name}")
    parser.add_argument("--only", action="append", default=[], help="regenerate these cases only")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    names = [c.name for c in cases]
    if args.list:
        print("\n".join(names))
        return 0
    unknown = set(args.only) - set(names)
    if unknown:
        parser.error(f"unknown cases: {sorted(unknown)}")
    index_path = folder / "cases.json"
    index = json.loads(index_path.read_text()) if args.only and index_path.exists() else {"cases": {}}
    index.update({
        "generator": generator,
        "tensorflow_version": tf.__version__,
        "tf_keras_version": tf_keras.__version__,
        "numpy_version": np.__version__,
        "h5py_version": __import__("h5py").__version__,
        "python_version": sys.version.split()[0],
        "batch": BATCH,
    })
    for case in cases:
        if args.only and case.name not in args.only:
            continue
        print(case.name, flush=True)
        index["cases"][case.name] = make_case(case, folder)
    index["cases"] = {n: index["cases"][n] for n in names if n in index["cases"]}
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    (folder / "MANIFEST.md").write_text(render(index))
    return 0
