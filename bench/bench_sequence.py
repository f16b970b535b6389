#!/usr/bin/env python
"""Sequence models: latency of kwbin's C inference (kwbin_nn.h) vs Keras 3 predict (JAX) vs NumPy.

Two networks over 32 time steps, seeded random weights (numpy.random.default_rng(0), normal(0, 0.3)):

- ``lstm``: Input(32, 16) -> LSTM(64, return_sequences) -> LSTM(64) -> Dense(10);
- ``transformer``: Input(32, 64) -> MultiHeadAttention(4 heads, key_dim 16) + residual ->
  LayerNormalization -> Dense(128, relu) -> Dense(64) + residual -> LayerNormalization (a
  Transformer encoder block, no mask).

each at batch 1 and batch 64, by

- ``c``: ``bench/bench_inference.c`` (kwnn_run on the packed .kwb; input x[i] = 1.5 sin(0.37 i)),
  built with the project's flags (``-std=c99 -O2``); one thread;
- ``c_native``: the same built with the README's deployment flags ``-O3 -march=native`` (the AVX2/FMA
  matrix kernels on x86-64, vectorized activations);
- ``keras_predict``: ``model.predict(x, batch_size=len(x), verbose=0)``, JAX on CPU;
- ``numpy``: a plain float32 NumPy forward pass (the LSTM step by step; attention with einsum)
  over the weights read from the same .kwb.

Every measurement runs in a fresh process, ``--runs`` rounds (default 5), the job order rotated each
round; within a process warm-up calls then each call timed alone, the median kept; the table gives
the median over the rounds, per call and per time step (call / 32), and the ratio to C within the
run. One thread each (OMP/OPENBLAS/MKL_NUM_THREADS=1, XLA single-threaded Eigen). The machine is
shared: the load averages before and after every round are recorded.

    .venv/bin/python bench/bench_sequence.py           # ~5 min of CPU
    .venv/bin/python bench/bench_sequence.py --quick   # 3 rounds, a third of the calls

Writes bench/results/sequence.json and sequence.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from bench_inference import (  # noqa: E402
    build, child_env, compiler, fmt_time, log, machine, run_c, time_calls)

WORK = HERE / ".work" / "sequence"
RESULTS = HERE / "results"
STEPS = 32
MODELS = ("lstm", "transformer")
FEATURES = {"lstm": 16, "transformer": 64}
BATCHES = (1, 64)
IMPLS = ("c", "c_native", "keras_predict", "numpy")
ITERS = {"c": (400, 40), "keras_predict": (100, 20), "numpy": (200, 20)}  # per process: batch 1, 64


def make_input(name: str, batch: int):
    import numpy as np

    i = np.arange(batch * STEPS * FEATURES[name], dtype=np.float64)
    return (1.5 * np.sin(0.37 * i)).astype(np.float32).reshape(batch, STEPS, FEATURES[name])


def build_models() -> None:
    """Child: the two Keras models, seeded, saved as .keras and packed to .kwb."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    import numpy as np

    from kwbin.keras import save_model

    L = keras.layers
    inp = keras.Input((STEPS, FEATURES["lstm"]))
    x = L.LSTM(64, return_sequences=True, name="lstm_1")(inp)
    x = L.LSTM(64, name="lstm_2")(x)
    models = {"lstm": keras.Model(inp, L.Dense(10, name="head")(x))}
    inp = keras.Input((STEPS, FEATURES["transformer"]))
    att = L.MultiHeadAttention(4, 16, name="mha")(inp, inp)
    x = L.LayerNormalization(name="ln_1")(L.Add(name="res_1")([inp, att]))
    ff = L.Dense(64, name="ff_2")(L.Dense(128, activation="relu", name="ff_1")(x))
    models["transformer"] = keras.Model(inp, L.LayerNormalization(name="ln_2")(L.Add(name="res_2")([x, ff])))
    for name, model in models.items():
        rng = np.random.default_rng(0)
        model.set_weights([rng.normal(0, 0.3, np.shape(w)).astype(np.float32) for w in model.get_weights()])
        model.save(WORK / f"{name}.keras")
        save_model(model, WORK / f"{name}.kwb")


def child_keras(args) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import keras
    import numpy as np

    model = keras.saving.load_model(WORK / f"{args.model}.keras")
    out: dict = {"versions": {"keras": keras.__version__, "jax": jax.__version__}}
    for k, batch in enumerate(BATCHES):
        x = make_input(args.model, batch)
        fn = lambda: model.predict(x, batch_size=len(x), verbose=0)  # noqa: E731
        out[f"keras_predict/{batch}"] = time_calls(fn, max(3, int(ITERS["keras_predict"][k] * args.scale)))
        if args.dump:
            np.save(Path(args.dump) / f"{args.model}-keras_predict-{batch}.npy", fn())
    return out


def _numpy_forward(name: str, f):
    """A float32 NumPy forward pass of model `name` over kwbin views of its weights."""
    import numpy as np

    def w(layer: str, weight: str):
        return np.asarray(f[layer, weight])

    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    def lstm(x, layer, sequences):
        k, r, b = w(layer, "kernel"), w(layer, "recurrent_kernel"), w(layer, "bias")
        units = r.shape[0]
        xz = x @ k + b
        h = np.zeros((x.shape[0], units), np.float32)
        c = np.zeros_like(h)
        outs = []
        for t in range(x.shape[1]):
            z = xz[:, t] + h @ r
            i, fg, g, o = (z[:, j * units:(j + 1) * units] for j in range(4))
            c = sigmoid(fg) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            outs.append(h)
        return np.stack(outs, 1) if sequences else h

    def norm(x, layer):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + np.float32(1e-3)) * w(layer, "gamma") + w(layer, "beta")

    def mha(x):
        q = np.einsum("btf,fhd->bthd", x, w("mha", "query/kernel")) + w("mha", "query/bias")
        k = np.einsum("btf,fhd->bthd", x, w("mha", "key/kernel")) + w("mha", "key/bias")
        v = np.einsum("btf,fhd->bthd", x, w("mha", "value/kernel")) + w("mha", "value/bias")
        s = np.einsum("bqhd,bkhd->bhqk", q / np.sqrt(np.float32(q.shape[-1])), k)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = np.einsum("bhqk,bkhd->bqhd", s, v)
        return np.einsum("bqhd,hdf->bqf", o, w("mha", "attention_output/kernel")) + w("mha", "attention_output/bias")

    if name == "lstm":
        return lambda x: lstm(lstm(x, "lstm_1", True), "lstm_2", False) @ w("head", "kernel") + w("head", "bias")

    def transformer(x):
        x = norm(x + mha(x), "ln_1")
        ff = np.maximum(x @ w("ff_1", "kernel") + w("ff_1", "bias"), 0) @ w("ff_2", "kernel") + w("ff_2", "bias")
        return norm(x + ff, "ln_2")

    return transformer


def child_numpy(args) -> dict:
    import numpy as np

    import kwbin

    f = kwbin.open(WORK / f"{args.model}.kwb")
    forward = _numpy_forward(args.model, f)
    out: dict = {"versions": {"numpy": np.__version__}}
    for k, batch in enumerate(BATCHES):
        x = make_input(args.model, batch)
        out[f"numpy/{batch}"] = time_calls(lambda: forward(x), max(3, int(ITERS["numpy"][k] * args.scale)))
        if args.dump:
            np.save(Path(args.dump) / f"{args.model}-numpy-{batch}.npy", forward(x))
    return out


def run_child(kind: str, model: str, scale: float, dump: Path | None) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--model", model, "--scale", str(scale)]
    if dump:
        cmd += ["--dump", str(dump)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=child_env(single_thread=True), timeout=1800)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"benchmark child failed: {kind} {model}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def accuracy(dump: Path) -> dict:
    import numpy as np

    out = {}
    for name in MODELS:
        for batch in BATCHES:
            ref = np.load(dump / f"{name}-keras_predict-{batch}.npy").astype(np.float64)
            for impl in ("c", "c_native"):
                c = np.fromfile(dump / f"{name}-{impl}-{batch}.bin", dtype=np.float32).reshape(ref.shape)
                out[f"{name}/{impl}/{batch}"] = float(np.max(np.abs(c - ref)))
            out[f"{name}/numpy/{batch}"] = float(np.max(np.abs(np.load(dump / f"{name}-numpy-{batch}.npy") - ref)))
    return out


def report(doc: dict) -> str:
    m = doc["machine"]
    lines = [
        "# Sequence models: C inference vs Keras predict vs NumPy",
        "",
        f"Run {doc['date']} · `{doc['command']}` · {doc['runs']} rounds, every measurement in a fresh process, "
        "job order rotated each round; median per call within a process, then the median over the rounds "
        "(min–max of the rounds in brackets). Ratios are to C within this run. One thread each.",
        "",
        f"Machine: {m['cpu']} ({m['cores']} cores, shared with other jobs), {m['compiler']}, `{m['cflags']['c']}` (`c`), `{m['cflags']['c_native']}` (`c_native`); "
        f"keras {doc['versions'].get('keras', '?')}, jax {doc['versions'].get('jax', '?')}, numpy {m['numpy']}; "
        f"kwbin git {m['git']}.",
        "",
        "Load averages (1, 5, 15 min) before each round → after the last: "
        + "; ".join(str(tuple(round(v, 2) for v in la)) for la in doc["load_averages"]) + ".",
        "",
        f"Networks ({STEPS} time steps): `lstm` = LSTM(64, seq) → LSTM(64) → Dense(10) over 16 features; "
        "`transformer` = MultiHeadAttention(4 × 16) + residual → LayerNorm → Dense(128, relu) → Dense(64) + "
        "residual → LayerNorm over 64 features.",
        "",
        "| network | implementation | batch | median per call | per time step | × C | rounds min–max |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for name in MODELS:
        for batch in BATCHES:
            c_med = doc["summary"][f"{name}/c/{batch}"]["median_s"]
            for impl in IMPLS:
                s = doc["summary"][f"{name}/{impl}/{batch}"]
                lines.append(f"| {name} | {impl} | {batch} | {fmt_time(s['median_s'])} | "
                             f"{fmt_time(s['median_s'] / STEPS)} | {s['median_s'] / c_med:.2f} | "
                             f"{fmt_time(s['rounds_min_s'])} – {fmt_time(s['rounds_max_s'])} |")
    lines += ["", "Agreement with `keras_predict` (max |difference|, first round): "
              + ", ".join(f"{k} {v:.2g}" for k, v in doc["accuracy"].items()) + ".", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 rounds, a third of the calls")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--child", choices=["keras", "numpy", "make"], help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    ap.add_argument("--dump", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "make":
        build_models()
        print("{}")
        return
    if args.child:
        print(json.dumps(child_keras(args) if args.child == "keras" else child_numpy(args)))
        return

    runs = 3 if args.quick else max(3, args.runs)
    scale = 1 / 3 if args.quick else 1.0
    WORK.mkdir(parents=True, exist_ok=True)
    cc = compiler()
    (HERE / ".work" / "inference").mkdir(parents=True, exist_ok=True)  # where bench_inference builds its harness
    exes = {"c": build(cc, "c"), "c_native": build(cc, "c_native")}  # -O2; -O3 -march=native
    run_child("make", "", 1.0, None)
    dump = WORK / "dump"
    dump.mkdir(exist_ok=True)
    jobs = [(name, kind) for name in MODELS for kind in ("c1", "c64", "c_native1", "c_native64", "keras", "numpy")]
    raw, versions, loads = [], {}, []
    for rnd in range(runs):
        loads.append(os.getloadavg())
        order = jobs[rnd % len(jobs):] + jobs[: rnd % len(jobs)]
        entry: dict = {}
        for name, kind in order:
            d = dump if rnd == 0 else None
            log(f"round {rnd + 1}/{runs}: {name} {kind}")
            if kind.startswith("c"):
                impl = kind.rstrip("0123456789")  # c1 -> c, batch 1; c_native64 -> c_native, batch 64
                batch = int(kind[len(impl):])
                iters = max(3, int(ITERS["c"][BATCHES.index(batch)] * scale))
                res = run_c(exes[impl], impl, WORK / f"{name}.kwb", batch, iters, d)
                if d is not None:
                    (d / f"{impl}-{batch}.bin").rename(d / f"{name}-{impl}-{batch}.bin")
                entry[f"{name}/{impl}/{batch}"] = res
            else:
                res = run_child(kind, name, scale, d)
                versions.update(res.pop("versions", {}))
                entry.update({f"{name}/{k}": v for k, v in res.items()})
        raw.append(entry)
    loads.append(os.getloadavg())
    summary = {}
    for key in raw[0]:
        meds = [r[key]["median_s"] for r in raw]
        summary[key] = {"median_s": statistics.median(meds), "rounds_min_s": min(meds), "rounds_max_s": max(meds),
                        "rounds": meds}
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "bench/bench_sequence.py" + (" --quick" if args.quick else f" --runs {runs}"),
        "runs": runs, "machine": machine(cc), "versions": versions, "load_averages": loads,
        "summary": summary, "accuracy": accuracy(dump), "raw": raw,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sequence.json").write_text(json.dumps(doc, indent=1) + "\n")
    (args.out / "sequence.md").write_text(report(doc))
    print(report(doc))


if __name__ == "__main__":
    main()
