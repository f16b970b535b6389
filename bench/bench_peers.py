#!/usr/bin/env python
"""kwbin's C inference against keras2c's generated C (issue #16), one sample at a time.

Three models, built with `tensorflow.keras` (Keras 3 on TensorFlow, what keras2c 2.0 converts),
weights seeded (numpy default_rng(0); normal(0, 1/sqrt(fan_in)) kernels, normal(0, 0.3) vectors):

- ``conv``: 32x32x3 -> Conv2D(16, 3, same, relu) -> MaxPooling2D -> Conv2D(32, 3, same, relu)
  -> MaxPooling2D -> Flatten -> Dense(64, relu) -> Dense(10, softmax);
- ``lstm``: 20 steps x 8 -> LSTM(32, return_sequences) -> LSTM(32) -> Dense(4);
- ``dense``: 64 -> Dense(256, relu) x 3 -> Dense(10, softmax).

For each: keras2c 2.0's ``k2c(model, name, malloc=False)`` writes ``name.c``; a harness here
(bench/c/peers_keras2c.c.in, filled per model) times ``name(&in, &out)``; kwbin's side is
bench/bench_inference.c (``kwnn_run`` on the model packed by ``kwbin pack``), batch 1. Both are
compiled by the same compiler with the same flags, for each flag set of ``--cflags`` (default two:
the project's ``-std=c99 -O2`` and ``-std=c99 -O3 -march=native``, what keras2c's makefile uses;
no warning flags: the project's -Werror build is tested elsewhere), and keras2c's C library (its ``include/*.c``, from a checkout of its source: ``--keras2c-src``)
with the same flags. Both fill the input with x[i] = 1.5 sin(0.37 i), run max(3, iters/10)
warm-up calls, then time each call (CLOCK_MONOTONIC) and take the median. Each measurement is
a fresh process; ``--rounds`` rounds (default 7), the order alternating; the table gives the
median over rounds, and the ratio kwbin / keras2c of those medians. Both outputs are compared
with Keras's ``predict`` on the same input. The load averages (1, 5, 15 min) are recorded before
and after each round: the machine is shared.

Needs .venv-tf with keras2c (``make bench-peers``; requirements/peers.txt) and never runs in
``make test``.  Rerun it after a change to kwbin's C to refresh the numbers:

    make bench-peers KERAS2C_SRC=/path/to/keras2c    # a checkout of keras2c's source (for include/*.c)
    .venv-tf/bin/python bench/bench_peers.py --keras2c-src DIR [--rounds 7] [--cflags "-std=c99 -O2" ...]

Writes bench/results/peers.json and peers.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "peers"
RESULTS = HERE / "results"
KWBIN_HARNESS = HERE / "bench_inference.c"
K2C_HARNESS = HERE / "c" / "peers_keras2c.c.in"
ITERS = {"conv": 300, "lstm": 1000, "dense": 3000}
IMPLS = ("keras2c", "keras2c_malloc", "kwbin")


def _seeded(model: Any) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    values = []
    for w in model.weights:
        shape = tuple(w.shape)
        scale = 1.0 / np.sqrt(np.prod(shape[:-1])) if len(shape) >= 2 else 0.3
        values.append(rng.normal(0.0, scale, shape).astype(np.float32))
    model.set_weights(values)


def build_models() -> dict[str, Any]:
    from tensorflow import keras

    L = keras.layers
    keras.backend.clear_session()
    x = keras.Input((32, 32, 3), name="image")
    h = L.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(x)
    h = L.MaxPooling2D(name="pool1")(h)
    h = L.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(h)
    h = L.MaxPooling2D(name="pool2")(h)
    h = L.Flatten(name="flatten")(h)
    h = L.Dense(64, activation="relu", name="fc")(h)
    conv = keras.Model(x, L.Dense(10, activation="softmax", name="out")(h), name="conv")
    x = keras.Input((20, 8), name="seq")
    h = L.LSTM(32, return_sequences=True, name="lstm1")(x)
    h = L.LSTM(32, name="lstm2")(h)
    lstm = keras.Model(x, L.Dense(4, name="out")(h), name="lstm")
    x = keras.Input((64,), name="vec")
    h = x
    for i in range(3):
        h = L.Dense(256, activation="relu", name=f"d{i}")(h)
    dense = keras.Model(x, L.Dense(10, activation="softmax", name="out")(h), name="dense")
    models = {"conv": conv, "lstm": lstm, "dense": dense}
    for m in models.values():
        _seeded(m)
    return models


def _input(shape: tuple[int, ...]) -> Any:
    import numpy as np

    n = int(np.prod(shape))
    return (1.5 * np.sin(0.37 * np.arange(n, dtype=np.float64))).astype(np.float32).reshape((1, *shape))


def _compile(cc: str, args: list[str]) -> None:
    done = subprocess.run([cc, *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"bench_peers: compile failed: {' '.join([cc, *args])}\n{done.stderr[-2000:]}")


def prepare(models: dict[str, Any], k2c_src: Path, cc: str, cflags: list[str], work: Path) -> dict[str, dict[str, Any]]:
    """Generate, pack and compile in ``work``: per model the two executables and Keras's output."""
    import numpy as np
    from keras2c import k2c

    from kwbin.keras import pack

    if work.exists():
        shutil.rmtree(work)
    (work / "include").mkdir(parents=True)
    for src in sorted((k2c_src / "include").iterdir()):
        if src.suffix in (".c", ".h"):
            shutil.copy(src, work / "include" / src.name)
    objects = []
    for src in sorted((work / "include").glob("*.c")):
        obj = src.with_suffix(".o")
        _compile(cc, [*cflags, "-c", "-o", str(obj), str(src)])
        objects.append(str(obj))
    kwbin_exe = work / "kwbin_bench"
    _compile(cc, [*cflags, f"-I{REPO / 'c_reader'}", "-o", str(kwbin_exe), str(KWBIN_HARNESS),
                  "-lm"])
    template = K2C_HARNESS.read_text()
    out: dict[str, dict[str, Any]] = {}
    cwd = os.getcwd()
    for name, model in models.items():
        in_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        out_shape = tuple(int(d) for d in model.outputs[0].shape[1:])
        exes = {}
        for variant, malloc in (("keras2c", False), ("keras2c_malloc", True)):
            fn = f"{name}_{variant}"
            os.chdir(work)
            try:
                k2c(model, fn, malloc=malloc, num_tests=1, verbose=False)
            finally:
                os.chdir(cwd)
            # malloc=True: NAME_initialize(float **w0, ...) fills the weights; NAME(in, out, w0, ...)
            header = (work / f"{fn}.h").read_text()
            init = re.search(rf"{fn}_initialize\(([^)]*)\)", header)
            weights = re.findall(r"float\*\* *(\w+)", init.group(1)) if init else []
            harness = work / f"{fn}_harness.c"
            harness.write_text(template.replace("@NAME@", fn)
                               .replace("@WEIGHTS@", str(len(weights)))
                               .replace("@WEIGHTS_DECL@", f"static float *weights[{len(weights)}];" if weights else "")
                               .replace("@INIT_ARGS@", ", ".join(f"&weights[{i}]" for i in range(len(weights))))
                               .replace("@RUN_ARGS@", "".join(f", weights[{i}]" for i in range(len(weights))))
                               .replace("@TERM_ARGS@", ", ".join(f"weights[{i}]" for i in range(len(weights))))
                               .replace("@IN_NDIM@", str(len(in_shape)))
                               .replace("@IN_NUMEL@", str(int(np.prod(in_shape))))
                               .replace("@IN_SHAPE@", ", ".join(map(str, in_shape)))
                               .replace("@OUT_NDIM@", str(len(out_shape)))
                               .replace("@OUT_NUMEL@", str(int(np.prod(out_shape))))
                               .replace("@OUT_SHAPE@", ", ".join(map(str, out_shape))))
            exes[variant] = work / f"{fn}_bench"
            _compile(cc, [*cflags, f"-I{work}", "-o", str(exes[variant]), str(harness), str(work / f"{fn}.c"),
                          *objects, "-lm"])
        model.save(work / f"{name}.keras")
        pack(work / f"{name}.keras", work / f"{name}.kwb")
        expected = np.asarray(model.predict(_input(in_shape), verbose=0), np.float32).ravel()
        out[name] = {**exes, "kwbin": kwbin_exe, "kwb": work / f"{name}.kwb", "expected": expected,
                     "c_source_bytes": (work / f"{name}_keras2c.c").stat().st_size,
                     "kwb_bytes": (work / f"{name}.kwb").stat().st_size}
    return out


def _run(argv: list[str], dump: Path) -> dict[str, Any]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        sys.exit(f"bench_peers: {' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(prepared: dict[str, dict[str, Any]], rounds: int, scale: float, work: Path) -> dict[str, Any]:
    import numpy as np

    impls = IMPLS
    runs: dict[str, dict[str, list[float]]] = {n: {i: [] for i in impls} for n in prepared}
    errors: dict[str, dict[str, float]] = {n: {} for n in prepared}
    loads = []
    for r in range(rounds):
        before = os.getloadavg()
        for name, p in prepared.items():
            iters = max(10, int(ITERS[name] * scale))
            order = list(impls) if r % 2 == 0 else list(reversed(impls))
            for impl in order:
                dump = work / f"{name}.{impl}.bin"
                if impl == "kwbin":
                    res = _run([str(p["kwbin"]), str(p["kwb"]), "1", str(iters), str(dump)], dump)
                else:
                    res = _run([str(p[impl]), str(iters), str(dump)], dump)
                runs[name][impl].append(res["median_s"])
                got = np.fromfile(dump, dtype=np.float32)
                errors[name][impl] = float(np.max(np.abs(got - p["expected"])))
        loads.append({"round": r, "before": [round(v, 2) for v in before],
                      "after": [round(v, 2) for v in os.getloadavg()]})
    return {"runs": runs, "max_abs_error": errors, "loads": loads}


def render(data: dict[str, Any]) -> str:
    lines = [
        "# kwbin's C against keras2c's generated C (issue #16)",
        "",
        f"Generated {data['date']} by `{data['command']}`. Machine: {data['machine']}; {data['cc_version']}.",
        f"keras2c {data['keras2c_version']} (its C library from its source at `{data['keras2c_src_rev']}`), "
        f"Keras {data['keras_version']} on TensorFlow {data['tf_version']}.",
        "",
        "Batch 1 (keras2c's functions take one sample), one thread; per call, the median over "
        f"{data['rounds']} fresh processes of each process's median call; ratio < 1: kwbin faster. keras2c two "
        "ways: its default (`malloc=False`: the weights are arrays local to the generated function, initialised, "
        "so copied onto the stack, at every call) and `malloc=True` (the weights are heap arrays filled once "
        "by `NAME_initialize` and passed to each call). Each flag set "
        "compiles both sides, with these flags only: keras2c's generated model and its library `include/*.c`, "
        "and kwbin's `bench/bench_inference.c`. "
        "`-std=c99 -O2` is the project's build; `-O3 -march=native` is what keras2c's own makefile uses.",
    ]
    for flags, result in data["by_flags"].items():
        lines += [
            "",
            f"## `{flags}`",
            "",
            "| model | keras2c | keras2c malloc | kwbin | kwbin / best keras2c | rounds min-max: keras2c; malloc; kwbin "
            "| max abs err vs Keras: keras2c, malloc, kwbin |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, runs in result["runs"].items():
            med = {impl: statistics.median(times) for impl, times in runs.items()}
            best = min(med["keras2c"], med["keras2c_malloc"])
            err = result["max_abs_error"][name]
            spread = "; ".join(f"{min(runs[i]) * 1e6:.1f}-{max(runs[i]) * 1e6:.1f}" for i in IMPLS)
            lines.append(
                f"| {name} ({data['models'][name]['params']:,} params) | " + " | ".join(
                    f"{med[i] * 1e6:.1f} µs" for i in IMPLS) + f" | {med['kwbin'] / best:.2f} | {spread} | "
                + ", ".join(f"{err[i]:.1e}" for i in IMPLS) + " |")
        lines += ["", "Load averages (1, 5, 15 min) before and after each round (2 cores, shared with other jobs): "
                  + "; ".join(f"{x['before']} -> {x['after']}" for x in result["loads"]) + "."]
    lines += ["", "## Models", "", "| model | layers | keras2c's generated .c | .kwb |", "|---|---|---|---|"]
    lines += [f"| {n} | {m['summary']} | {m['c_source_bytes']:,} B | {m['kwb_bytes']:,} B |"
              for n, m in data["models"].items()]
    lines += ["", "Weights: seeded normal (numpy default_rng(0)); input x[i] = 1.5 sin(0.37 i); both outputs "
              "compared with Keras's `predict` on that input."]
    return "\n".join(lines) + "\n"


SUMMARIES = {
    "conv": "32x32x3, Conv2D(16, 3, same, relu), MaxPooling2D, Conv2D(32, 3, same, relu), MaxPooling2D, Flatten, "
            "Dense(64, relu), Dense(10, softmax)",
    "lstm": "20x8, LSTM(32, return_sequences), LSTM(32), Dense(4)",
    "dense": "64, Dense(256, relu) x 3, Dense(10, softmax)",
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keras2c-src", required=True, help="a checkout of keras2c's source (its include/*.c)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the calls timed per process")
    parser.add_argument("--keras2c-rev", help="the source's commit, when --keras2c-src is not a git checkout")
    parser.add_argument("--cflags", action="append", help="a flag set for both sides (repeatable); default: "
                        "'-std=c99 -O2' (the project's) and '-std=c99 -O3 -march=native' (keras2c's makefile)")
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"))
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    import keras
    import keras2c
    import tensorflow as tf

    src = Path(args.keras2c_src)
    if not (src / "include" / "k2c_include.h").exists():
        parser.error(f"{src} has no include/k2c_include.h (a checkout of keras2c's source is needed)")
    rev = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True)
    models = build_models()
    flag_sets = args.cflags or ["-std=c99 -O2", "-std=c99 -O3 -march=native"]
    by_flags: dict[str, Any] = {}
    sizes: dict[str, dict[str, int]] = {}
    for i, flags in enumerate(flag_sets):
        work = WORK / f"flags{i}"
        prepared = prepare(models, src, args.cc, flags.split(), work)
        by_flags[flags] = measure(prepared, args.rounds, args.scale, work)
        sizes = {n: {k: p[k] for k in ("c_source_bytes", "kwb_bytes")} for n, p in prepared.items()}
    cc_version = subprocess.run([args.cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    data = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"bench/bench_peers.py --keras2c-src KERAS2C_SRC --rounds {args.rounds}"
                   + (f" --scale {args.scale}" if args.scale != 1.0 else "")
                   + "".join(f" --cflags '{f}'" for f in args.cflags or []),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "cc_version": cc_version, "rounds": args.rounds,
        "keras2c_version": keras2c.__version__, "keras2c_src_rev": (args.keras2c_rev or rev.stdout.strip() or "unknown")[:12],
        "keras_version": keras.__version__, "tf_version": tf.__version__,
        "models": {n: {"params": int(m.count_params()), "summary": SUMMARIES[n], **sizes[n]} for n, m in models.items()},
        "by_flags": by_flags,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "peers.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / "peers.md").write_text(render(data))
    print((out / "peers.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
