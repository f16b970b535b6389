#!/usr/bin/env python
"""Inference latency of the seed network: kwbin's C reference (kwbin_nn.h) vs
Keras 3 (JAX backend) vs a plain NumPy forward pass.

The seed network (tests/data/keras/seed_k3.keras: Dense -> BatchNormalization
-> Activation x 5, 39 -> 500 -> 400 -> 300 -> 200 -> 100, softmax) is run on a
single sample and on a batch of 256, by

- ``c``, ``c_native``, ``c_portable``: ``bench/bench_inference.c`` (kwnn_run
  on the packed .kwb file), built here three ways (``C_BUILDS``: the
  project's flags -std=c99 -O2; the recommended deployment flags -O3
  -march=native, which select the AVX2/FMA kernels on x86-64; the same with
  -DKWNN_NO_SIMD, the portable C kernels); one thread;
- ``keras_predict``: ``model.predict(x, batch_size=len(x), verbose=0)``;
- ``keras_call``: ``model(x, training=False)`` called directly (eager JAX: op
  by op, each op a compiled XLA kernel), converted to NumPy;
- ``keras_jit``: ``jax.jit`` of ``model.stateless_call`` (the whole network one
  XLA computation), converted to NumPy;
- ``numpy``: x @ W + b, (x - mean) / sqrt(var + eps) * gamma + beta, relu,
  softmax, float32, the weights read from the same .kwb (zero-copy views).

Every measurement runs in a fresh process; ``--runs`` (default 5) rounds,
the order of the jobs rotated each round.  Within a process: warm-up calls,
then each call timed alone (perf_counter / CLOCK_MONOTONIC) and the median
taken; the table gives the median over the rounds (and their min-max), and
the ratios to C are computed within this run.  One thread each by default,
as the C code uses (and as bench_format.py does: on a 2-core shared box,
threads add noise): OPENBLAS/OMP/MKL_NUM_THREADS=1 for NumPy, and XLA_FLAGS
asking XLA for single-threaded Eigen; ``--threads default`` leaves the
libraries' own defaults.

    .venv/bin/python bench/bench_inference.py            # ~1-2 min of CPU
    .venv/bin/python bench/bench_inference.py --quick    # 3 rounds, fewer calls
    .venv/bin/python bench/bench_inference.py --smoke --out build/bench-smoke   # CI check

Writes bench/results/inference.json and inference.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / ".work" / "inference"
RESULTS = HERE / "results"
KERAS_FILE = REPO / "tests" / "data" / "keras" / "seed_k3.keras"
HARNESS = HERE / "bench_inference.c"
WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
CFLAGS = ["-std=c99", "-O2", *WARNINGS]
#: the C builds timed, each row says its flags
C_BUILDS = {
    "c": ["-std=c99", "-O2"],
    "c_native": ["-std=c99", "-O3", "-march=native"],
    "c_portable": ["-std=c99", "-O3", "-march=native", "-DKWNN_NO_SIMD"],
}
BATCHES = (1, 256)
IMPLS = (*C_BUILDS, "keras_predict", "keras_call", "keras_jit", "numpy")
REFERENCE = "numpy"  # the ratios' denominator (the issue's targets are against NumPy on OpenBLAS)

# calls timed per process: (batch 1, batch 256)
ITERS = {
    "c": (3000, 60),
    "c_native": (3000, 60),
    "c_portable": (3000, 60),
    "keras_predict": (150, 30),
    "keras_call": (150, 30),
    "keras_jit": (1500, 60),
    "numpy": (1500, 60),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_input(batch: int):
    """x[i] = 1.5 sin(0.37 i) over the flat batch, as bench_inference.c fills it."""
    import numpy as np

    i = np.arange(batch * 39, dtype=np.float64)
    return (1.5 * np.sin(0.37 * i)).astype(np.float32).reshape(batch, 39)


def time_calls(fn, iters: int) -> dict:
    for _ in range(max(3, iters // 10)):
        fn()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return {"median_s": times[len(times) // 2], "min_s": times[0], "p90_s": times[(len(times) * 9) // 10],
            "iters": iters}


# ---------------------------------------------------------------------------
# Children (fresh processes)
# ---------------------------------------------------------------------------


def child_keras(args) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    t = time.perf_counter()
    import jax
    import keras
    import numpy as np

    import_s = time.perf_counter() - t
    t = time.perf_counter()
    model = keras.saving.load_model(KERAS_FILE)
    load_s = time.perf_counter() - t
    # own copies: predict() may donate the variables' buffers
    tv = [jax.device_put(np.array(v.value)) for v in model.trainable_variables]
    ntv = [jax.device_put(np.array(v.value)) for v in model.non_trainable_variables]
    jitted = jax.jit(lambda tv_, ntv_, x_: model.stateless_call(tv_, ntv_, x_, training=False)[0])
    out: dict = {"import_s": import_s, "load_s": load_s, "versions": {"keras": keras.__version__,
                                                                      "jax": jax.__version__}}
    for k, batch in enumerate(BATCHES):
        x = make_input(batch)
        fns = {
            "keras_predict": lambda: model.predict(x, batch_size=len(x), verbose=0),
            "keras_call": lambda: np.asarray(model(x, training=False)),
            "keras_jit": lambda: np.asarray(jitted(tv, ntv, x)),
        }
        for name, fn in fns.items():
            out[f"{name}/{batch}"] = time_calls(fn, max(3, int(ITERS[name][k] * args.scale)))
        if args.dump:
            for name, fn in fns.items():
                np.save(Path(args.dump) / f"{name}-{batch}.npy", np.asarray(fn()))
    return out


def openblas_core() -> str:
    """The kernel set NumPy's bundled OpenBLAS chose (e.g. SkylakeX, Haswell), or '?'."""
    import ctypes
    import glob

    import numpy as np

    try:
        libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "libscipy_openblas*.so*"))
        lib = ctypes.CDLL(libs[0])
        lib.scipy_openblas_get_corename64_.restype = ctypes.c_char_p
        return lib.scipy_openblas_get_corename64_().decode()
    except (IndexError, OSError, AttributeError):
        return "?"


def child_numpy(args) -> dict:
    import numpy as np

    sys.path.insert(0, str(REPO / "src"))
    import kwbin

    f = kwbin.open(args.model)
    plan = []
    for layer in f.layers:
        cfg = layer.config or {}
        if layer.class_name == "Dense":
            plan.append(("dense", f[layer.name, "kernel"], f[layer.name, "bias"]))
        elif layer.class_name == "BatchNormalization":
            eps = np.float32(cfg.get("epsilon", 1e-3))
            plan.append(("bn", f[layer.name, "moving_mean"], f[layer.name, "moving_variance"] + eps,
                         f[layer.name, "gamma"], f[layer.name, "beta"]))
        elif layer.class_name == "Activation":
            plan.append((cfg["activation"],))

    def forward(x):
        for step in plan:
            kind = step[0]
            if kind == "dense":
                x = x @ step[1] + step[2]
            elif kind == "bn":
                x = (x - step[1]) / np.sqrt(step[2]) * step[3] + step[4]
            elif kind == "relu":
                x = np.maximum(x, np.float32(0))
            elif kind == "softmax":
                e = np.exp(x - x.max(axis=-1, keepdims=True))
                x = e / e.sum(axis=-1, keepdims=True)
        return x

    out: dict = {"versions": {"numpy": np.__version__, "openblas_core": openblas_core()}}
    for k, batch in enumerate(BATCHES):
        x = make_input(batch)
        out[f"numpy/{batch}"] = time_calls(lambda: forward(x), max(3, int(ITERS["numpy"][k] * args.scale)))
        if args.dump:
            np.save(Path(args.dump) / f"numpy-{batch}.npy", forward(x))
    return out


# ---------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------


def compiler() -> str:
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    raise SystemExit("no C compiler")


def build(cc: str, name: str) -> Path:
    exe = WORK / f"bench_inference_{name}"
    cmd = [cc, *C_BUILDS[name], *WARNINGS, f"-I{REPO / 'c_reader'}", "-o", str(exe), str(HARNESS), "-lm"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}\n{res.stderr}")
    return exe


SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


def child_env(single_thread: bool) -> dict:
    """A benchmark child's environment: kwbin from src/, OpenBLAS at its best (the machine's
    OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are for old builds and slow a current one)."""
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(REPO / "src"))
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(key, None)
    if single_thread:
        env.update(SINGLE_THREAD_ENV)
    return env


def run_child(kind: str, model: Path, scale: float, dump: Path | None, threads: str) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--model", str(model), "--scale", str(scale)]
    if dump:
        cmd += ["--dump", str(dump)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=child_env(threads == "1"), timeout=900)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"benchmark child failed: {kind}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_c(exe: Path, name: str, model: Path, batch: int, iters: int, dump: Path | None) -> dict:
    cmd = [str(exe), str(model), str(batch), str(iters)]
    if dump:
        cmd.append(str(dump / f"{name}-{batch}.bin"))
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: {res.stderr}")
    return json.loads(res.stdout)


def machine(cc: str) -> dict:
    import numpy as np

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cc_version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=REPO).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True,
                               cwd=REPO).stdout.strip() != ""
    except OSError:
        commit, dirty = "", False
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "compiler": cc_version[0] if cc_version else cc,
        "cflags": {name: " ".join(flags) for name, flags in C_BUILDS.items()},
        "git": commit + (" (+uncommitted changes)" if dirty else ""),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def accuracy(dump: Path) -> dict:
    import numpy as np

    out = {}
    for batch in BATCHES:
        ref = np.load(dump / f"keras_predict-{batch}.npy")
        for name in C_BUILDS:
            c = np.fromfile(dump / f"{name}-{batch}.bin", dtype=np.float32).reshape(batch, -1)
            out[f"{name}/{batch}"] = float(np.max(np.abs(c.astype(np.float64) - ref)))
        for name in IMPLS[len(C_BUILDS) + 1:]:
            got = np.load(dump / f"{name}-{batch}.npy")
            out[f"{name}/{batch}"] = float(np.max(np.abs(got.astype(np.float64) - ref)))
    return out


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def report(doc: dict) -> str:
    m = doc["machine"]
    lines = [
        "# kwbin reference C inference benchmark",
        "",
        f"Run {doc['date']} · `{doc['command']}` · {doc['runs']} rounds, every measurement in a fresh "
        "process, job order rotated each round; median per call within a process, then the median over "
        f"the rounds (min–max of the rounds in brackets). Ratios are to `{REFERENCE}`, within this run "
        "(below 1: faster than it).",
        "",
        "| machine |  |",
        "|---|---|",
        f"| CPU | {m['cpu']} ({m['cores']} cores, {m['usable_cores']} usable) |",
        f"| kernel | {m['kernel']} |",
        f"| C | {m['compiler']}, single thread, warnings `{' '.join(WARNINGS)}`; flags per row |",
        f"| python / numpy | {m['python']} / {m['numpy']} (OpenBLAS kernels: "
        f"{doc['versions'].get('openblas_core', '?')}; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset) |",
        f"| keras / jax | {doc['versions'].get('keras', '?')} / {doc['versions'].get('jax', '?')} (backend jax, CPU) |",
        f"| kwbin | git {m['git']} |",
        f"| load average start → end | {doc['load_start']} → {doc['load_end']} |",
        "",
        "Network: the seed model (`tests/data/keras/seed_k3.keras`), 39 → 500 → 400 → 300 → 200 → 100, "
        "Dense → BatchNormalization → Activation ×5, softmax; 427,000 parameters; input "
        "x[i] = 1.5 sin(0.37 i).",
        "",
        "What is timed: `c` = `kwnn_run` on a net loaded once from the .kwb (weights used in place from "
        "the mapped file, BN folded at load); `keras_predict` = `model.predict(x, batch_size=len(x), "
        "verbose=0)`; `keras_call` = `model(x, training=False)` called directly (eager: op by op) then "
        "`np.asarray`; `keras_jit` = `jax.jit(model.stateless_call)` (one XLA computation) then "
        "`np.asarray`; `numpy` = a straightforward float32 forward pass (matmul, BN as "
        "(x − mean)/sqrt(var + eps)·gamma + beta, relu, softmax) over zero-copy kwbin views.",
        "",
        ("Threads: one each. C is single-threaded; the Python children ran with "
         + ", ".join(f"`{k}={v}`" for k, v in doc["thread_env"].items())
         + " (XLA may still use a helper thread).")
        if doc["threads"] == "1" else
        "Threads: the libraries' defaults (XLA and NumPy's BLAS may use both cores; C uses one).",
        "",
        f"| implementation | flags | batch | median per call | per sample | × {REFERENCE} (this run) | rounds min–max |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for batch in BATCHES:
        ref_med = doc["summary"][f"{REFERENCE}/{batch}"]["median_s"]
        for name in IMPLS:
            s = doc["summary"][f"{name}/{batch}"]
            ratio = s["median_s"] / ref_med
            flags = f"`{m['cflags'][name]}`" if name in C_BUILDS else "—"
            lines.append(
                f"| {name} | {flags} | {batch} | {fmt_time(s['median_s'])} | {fmt_time(s['median_s'] / batch)} | "
                f"{ratio:.2f} | {fmt_time(s['rounds_min_s'])} – {fmt_time(s['rounds_max_s'])} |"
            )
    lines += [
        "",
        f"Paired ratios (same round) of each implementation to `{REFERENCE}`, min–max over the rounds:",
        "",
        "| implementation | batch 1 | batch 256 |",
        "|---|---|---|",
    ]
    for name in IMPLS:
        if name == REFERENCE:
            continue
        cells = []
        for batch in BATCHES:
            r = doc["paired_ratios"][f"{name}/{batch}"]
            cells.append(f"{min(r):.2f} – {max(r):.2f}")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += [
        "",
        f"Start-up (median of rounds): C (`c`) open + build the net {fmt_time(doc['startup']['c_load_s'])}; "
        f"Keras `import keras, jax` {fmt_time(doc['startup']['keras_import_s'])} + `load_model` "
        f"{fmt_time(doc['startup']['keras_load_s'])}.",
        "",
        "Agreement with `keras_predict` on the same input (max |difference|, first round): "
        + ", ".join(f"{k} {v:.2g}" for k, v in doc["accuracy"].items() if not k.startswith("keras_predict"))
        + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="3 rounds, a third of the calls")
    ap.add_argument("--smoke", action="store_true", help="1 round, a tenth of the calls (CI check)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--threads", choices=["1", "default"], default="1",
                    help="1 (default): one thread for NumPy's BLAS and XLA, as C; default: theirs")
    ap.add_argument("--child", choices=["keras", "numpy"], help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    ap.add_argument("--dump", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = child_keras(args) if args.child == "keras" else child_numpy(args)
        print(json.dumps(result))
        return

    runs = 1 if args.smoke else 3 if args.quick else max(5, args.runs)
    scale = 0.1 if args.smoke else 1 / 3 if args.quick else 1.0
    WORK.mkdir(parents=True, exist_ok=True)
    cc = compiler()
    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    log(f"building the harness with {cc}")
    exes = {name: build(cc, name) for name in C_BUILDS}
    sys.path.insert(0, str(REPO / "src"))
    from kwbin.keras import pack

    model = WORK / "seed_k3.kwb"
    pack(KERAS_FILE, model)
    dump = WORK / "dump"
    dump.mkdir(exist_ok=True)

    jobs = [f"{name}:{batch}" for name in C_BUILDS for batch in BATCHES] + ["keras", "numpy"]
    raw: list[dict] = []
    versions: dict = {}
    for rnd in range(runs):
        order = jobs[rnd % len(jobs):] + jobs[: rnd % len(jobs)]
        entry: dict = {}
        for job in order:
            d = dump if rnd == 0 else None
            log(f"round {rnd + 1}/{runs}: {job}")
            if ":" in job:
                name, batch_s = job.split(":")
                batch = int(batch_s)
                iters = max(3, int(ITERS[name][BATCHES.index(batch)] * scale))
                entry[f"{name}/{batch}"] = run_c(exes[name], name, model, batch, iters, d)
            else:
                res = run_child(job, model, scale, d, args.threads)
                versions.update(res.pop("versions", {}))
                entry.update(res)
        raw.append(entry)

    summary, paired = {}, {}
    for name in IMPLS:
        for batch in BATCHES:
            key = f"{name}/{batch}"
            meds = [r[key]["median_s"] for r in raw]
            summary[key] = {"median_s": statistics.median(meds), "rounds_min_s": min(meds),
                            "rounds_max_s": max(meds), "rounds": meds}
            summary[key]["ratio_to_reference"] = summary[key]["median_s"] / statistics.median(
                [r[f"{REFERENCE}/{batch}"]["median_s"] for r in raw])
            if name != REFERENCE:
                paired[key] = [r[key]["median_s"] / r[f"{REFERENCE}/{batch}"]["median_s"] for r in raw]
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python bench/bench_inference.py" + (" --smoke" if args.smoke else "")
        + (" --quick" if args.quick and not args.smoke else "")
        + (" --threads default" if args.threads == "default" else ""),
        "threads": args.threads,
        "reference": REFERENCE,
        "thread_env": SINGLE_THREAD_ENV if args.threads == "1" else {},
        "runs": runs,
        "machine": machine(cc),
        "versions": versions,
        "load_start": " ".join(f"{v:.2f}" for v in load_start) if load_start else "?",
        "load_end": " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?",
        "summary": summary,
        "paired_ratios": paired,
        "startup": {
            "c_load_s": statistics.median(r[f"c/{b}"]["load_s"] for r in raw for b in BATCHES),
            "keras_import_s": statistics.median(r["import_s"] for r in raw),
            "keras_load_s": statistics.median(r["load_s"] for r in raw),
        },
        "accuracy": accuracy(dump),
        "raw": raw,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "inference.json").write_text(json.dumps(doc, indent=1) + "\n")
    (args.out / "inference.md").write_text(report(doc))
    log(f"wrote {args.out / 'inference.json'} and {args.out / 'inference.md'}")
    print(report(doc))


if __name__ == "__main__":
    main()
