#!/usr/bin/env python
"""Time per image of two keras.applications models in C (kwbin_nn.h) against
Keras ``predict`` on JAX, and the memory the C side needs (issue #13).

Models: MobileNetV2 and ResNet50 at their default input size (224x224x3),
random weights made to matter as tools/check_applications.py makes them
(seeded; BatchNormalization statistics calibrated, biases non-zero), packed
with ``kwbin pack``; a seeded input batch (uniform, the range the model
expects).  Batch 1 and batch 8 (``--quick``: batch 1 only).

- ``c``, ``c_native``: ``bench/bench_applications.c`` (kwnn_run on the mapped
  .kwb), built here with the project's flags (-std=c99 -O2) and with the
  recommended deployment flags (-O3 -march=native: the AVX2/FMA kernels on
  x86-64), one thread, pinned with ``taskset -c 0``;
- ``c_native_2t``: the -O3 -march=native build with kwnn_options.parallel_for
  a pool of 2 threads (c_reader/tools/kwnn_pool.h), not pinned (both cores);
- ``keras_1t``: ``model.predict(x, batch_size=len(x), verbose=0)`` on JAX
  restricted to one thread: XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
  intra_op_parallelism_threads=1" and ``taskset -c 0``;
- ``keras_mt``: the same with XLA's default threads (both cores of this box).

Every measurement runs in a fresh process; ``--runs`` (default 3) rounds with
the jobs' order rotated each round.  Within a process: one warm-up call
(Keras: two, compiling), then each call timed alone (perf_counter /
CLOCK_MONOTONIC), the median taken; the table gives the median over the
rounds, and ratios computed within this run.  The Keras processes run with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.  The C outputs are checked
against Keras predict (relative error as in check_applications.py).

Memory of the C side: ``scratch`` = kwnn_scratch_size(net, batch) (the
activation arena, the only memory a run needs); ``load alloc`` = the one
allocation kwnn_load makes (layers, graph, BatchNormalization folded to
scale and shift, repacked parameters); ``weights mapped`` = the bytes of the
tensors used in place from the mapped .kwb (the file size is also listed).

    .venv/bin/python bench/bench_applications.py           # ~15-30 min on 2 busy cores
    .venv/bin/python bench/bench_applications.py --quick   # batch 1, 1 round
    .venv/bin/python bench/bench_applications.py --reuse   # the models of the previous run

Writes bench/results/applications.json and applications.md.
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
WORK = HERE / ".work" / "applications"
RESULTS = HERE / "results"
HARNESS = HERE / "bench_applications.c"
WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
#: the C builds timed; each row of the report says its flags
C_BUILDS = {"c": ["-std=c99", "-O2"], "c_native": ["-std=c99", "-O3", "-march=native"]}
C_IMPLS = {"c": ("c", 1), "c_native": ("c_native", 1), "c_native_2t": ("c_native", 2)}  # impl -> (build, threads)
MODELS = ("MobileNetV2", "ResNet50")
MAX_BATCH = 8
IMPLS = (*C_IMPLS, "keras_1t", "keras_mt")
# calls timed per process, by model and batch (a ResNet50 image is ~4 G multiply-adds)
ITERS = {("MobileNetV2", 1): 30, ("MobileNetV2", 8): 8, ("ResNet50", 1): 10, ("ResNet50", 8): 3}
KERAS_ITERS = {1: 20, 8: 8}
ONE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
HANG_GUARD_S = 3600

sys.path.insert(0, str(REPO / "tools"))
import check_applications as apps  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def time_calls(fn, iters: int, warm: int) -> dict:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return {"median_s": times[len(times) // 2], "min_s": times[0], "iters": iters}


# ---------------------------------------------------------------------------
# Children (fresh processes)
# ---------------------------------------------------------------------------


def child_prepare(name: str) -> dict:
    """Build, randomise, predict (batch MAX_BATCH), save .keras, pack."""
    work = WORK / name
    work.mkdir(parents=True, exist_ok=True)
    info = apps.make_reference(apps.BY_NAME[name], work, batch=MAX_BATCH, keep_keras=True)
    import numpy as np

    x = np.load(work / "input.npy")
    for batch in (1, MAX_BATCH):
        x[:batch].tofile(work / f"input-{batch}.f32")
    return info


def child_keras(name: str, batch: int) -> dict:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import jax
    import keras
    import numpy as np

    work = WORK / name
    model = keras.saving.load_model(work / "model.keras")
    x = np.load(work / "input.npy")[:batch]
    out = time_calls(lambda: model.predict(x, batch_size=batch, verbose=0), KERAS_ITERS[batch], 2)
    out["versions"] = {"keras": keras.__version__, "jax": jax.__version__}
    return out


# ---------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------


def keras_env(threads: str) -> dict:
    env = dict(os.environ)
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(key, None)
    if threads == "1":
        env["XLA_FLAGS"] = ONE_THREAD_XLA
    else:
        env.pop("XLA_FLAGS", None)
    return env


def run_json(cmd: list[str], env: dict | None = None) -> dict:
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=HANG_GUARD_S)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def pin(cmd: list[str]) -> list[str]:
    return ["taskset", "-c", "0", *cmd] if shutil.which("taskset") else cmd


def job(exes: dict, impl: str, name: str, batch: int) -> dict:
    work = WORK / name
    if impl in C_IMPLS:
        build_name, threads = C_IMPLS[impl]
        out = work / f"{impl}-{batch}.f32"
        cmd = [str(exes[build_name]), str(work / "model.kwb"), str(work / f"input-{batch}.f32"), str(batch),
               str(ITERS[name, batch]), str(out), str(threads)]
        return run_json(pin(cmd) if threads == 1 else cmd)
    cmd = [sys.executable, __file__, "--child-keras", name, str(batch)]
    return run_json(pin(cmd) if impl == "keras_1t" else cmd, keras_env("1" if impl == "keras_1t" else "default"))


def accuracy(name: str, batch: int) -> dict:
    import numpy as np

    work = WORK / name
    k = np.load(work / "keras.npy")[:batch]
    out: dict = {}
    for impl in C_IMPLS:
        c = np.fromfile(work / f"{impl}-{batch}.f32", dtype=np.float32).reshape(k.shape)
        abs_err, rel_err = apps.errors(c, k)
        out[impl] = {"abs_err": abs_err, "rel_err": rel_err, "pass": rel_err <= apps.TOLERANCE}
    return out


def compiler() -> str:
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    raise SystemExit("no C compiler")


def build(cc: str, name: str) -> tuple[Path, str]:
    exe = WORK / f"bench_applications_{name}"
    cmd = [cc, *C_BUILDS[name], *WARNINGS, f"-I{REPO / 'c_reader'}", "-o", str(exe), str(HARNESS), "-lm", "-pthread"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}\n{res.stderr}")
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return exe, version


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def report(data: dict) -> str:
    flags = {impl: " ".join(C_BUILDS[b]) + (f", {t} threads" if t > 1 else ", 1 thread")
             for impl, (b, t) in C_IMPLS.items()}
    lines = [f"# keras.applications in C vs Keras predict ({data['date']})", "",
             f"Machine: {data['machine']}; {data['cc']} (warnings `{' '.join(WARNINGS)}`); Keras "
             f"{data['versions'].get('keras')} on JAX {data['versions'].get('jax')} (CPU).  {data['runs']} rounds, "
             "each measurement a fresh process, medians; ratios within this run.  One-thread jobs pinned to core 0 "
             f"(`taskset -c 0`; Keras: XLA_FLAGS=\"{ONE_THREAD_XLA}\"); `keras_mt` uses XLA's own threads and "
             "`c_native_2t` a pool of 2 threads (both cores).  Load average start -> end: "
             f"{data.get('load_start')} -> {data.get('load_end')} (the machine was shared with other jobs: "
             "absolute times are noisy, the same-run ratios less so).", "",
             "C builds: " + "; ".join(f"`{impl}` = `{f}`" for impl, f in flags.items()) + ".", "",
             "## Time per image", "",
             "| model | batch | " + " | ".join(f"{impl} ms/image" for impl in IMPLS) + " | "
             + " | ".join(f"{impl} / keras_1t" for impl in C_IMPLS) + " | c_native_2t / keras_mt | max rel error vs Keras |",
             "|---|---|" + "---|" * (len(IMPLS) + len(C_IMPLS) + 2)]

    def ms(row: dict, impl: str) -> str:
        spread = row[impl + "_rounds"]
        return f"{row[impl] * 1e3:.1f} ({min(spread) * 1e3:.1f}-{max(spread) * 1e3:.1f})"

    for row in data["time"]:
        err = max(v["rel_err"] for v in row["accuracy"].values())
        lines.append(f"| {row['model']} | {row['batch']} | " + " | ".join(ms(row, impl) for impl in IMPLS) + " | "
                     + " | ".join(f"{row[impl] / row['keras_1t']:.2f}x" for impl in C_IMPLS)
                     + f" | {row['c_native_2t'] / row['keras_mt']:.2f}x | {err:.1e} |")
    lines += ["", "ms/image: the median over the rounds (in brackets: the rounds' min-max)."]
    lines += ["", "## Memory of the C side", "",
              "| model | batch | scratch (kwnn_scratch_size) | peak of live activations (kwnn_peak_size) | "
              "scratch / peak | load alloc (kwnn_load's one allocation) | "
              "weights mapped (tensor bytes) | .kwb file | cost, multiply-adds etc. per image |",
              "|---|---|---|---|---|---|---|---|---|"]
    for row in data["memory"]:
        lines.append(f"| {row['model']} | {row['batch']} | {mib(row['scratch'])} | {mib(row['peak'])} | "
                     f"{row['scratch'] / row['peak']:.2f} | {mib(row['load_alloc'])} | "
                     f"{mib(row['tensor_bytes'])} | {mib(row['file_bytes'])} | {row['cost'] / 1e9:.2f} G |")
    lines += ["", "Reproduce: `.venv/bin/python bench/bench_applications.py` (see its docstring).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="batch 1 only, 1 round")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--reuse", action="store_true",
                        help="keep the models, inputs and Keras outputs a previous run prepared in bench/.work")
    parser.add_argument("--child-prepare", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--child-keras", nargs=2, metavar=("NAME", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_prepare:
        print(json.dumps(child_prepare(args.child_prepare)))
        return 0
    if args.child_keras:
        print(json.dumps(child_keras(args.child_keras[0], int(args.child_keras[1]))))
        return 0

    runs = 1 if args.quick else args.runs
    batches = (1,) if args.quick else (1, MAX_BATCH)
    WORK.mkdir(parents=True, exist_ok=True)
    cc = compiler()
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    exes = {}
    for build_name in C_BUILDS:
        exes[build_name], cc_version = build(cc, build_name)
    prepared = {}
    for name in MODELS:
        made = [WORK / name / f for f in ("model.kwb", "model.keras", "keras.npy", "input.npy", f"input-{MAX_BATCH}.f32")]
        if args.reuse and all(p.is_file() for p in made):
            log(f"reusing {name}")
            prepared[name] = {"reused": True}
            continue
        log(f"preparing {name}")
        prepared[name] = run_json([sys.executable, __file__, "--child-prepare", name])
    jobs = [(impl, name, b) for name in MODELS for b in batches for impl in IMPLS]
    samples: dict = {j: [] for j in jobs}
    versions: dict = {}
    for r in range(runs):
        order = jobs[r % len(jobs):] + jobs[:r % len(jobs)]
        for impl, name, b in order:
            log(f"round {r + 1}/{runs}: {impl} {name} batch {b}")
            res = job(exes, impl, name, b)
            versions.update(res.pop("versions", {}))
            samples[impl, name, b].append(res)
    rows, memory = [], []
    for name in MODELS:
        for b in batches:
            row: dict = {"model": name, "batch": b}
            for impl in IMPLS:
                row[impl] = statistics.median(s["median_s"] for s in samples[impl, name, b]) / b
                row[impl + "_rounds"] = [s["median_s"] / b for s in samples[impl, name, b]]
            row["accuracy"] = accuracy(name, b)
            rows.append(row)
            c = samples["c", name, b][0]
            memory.append({"model": name, "batch": b, **{k: c[k] for k in (
                "scratch", "peak", "load_alloc", "tensor_bytes", "file_bytes", "cost", "load_s")}})
    data = {"date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
            "cc": cc_version, "cflags": {k: " ".join(v) for k, v in C_BUILDS.items()}, "runs": runs,
            "versions": versions, "load_start": load_start, "load_end": " ".join(f"{v:.2f}" for v in os.getloadavg()),
            "prepared": prepared, "time": rows, "memory": memory}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "applications.json").write_text(json.dumps(data, indent=1) + "\n")
    (args.out / "applications.md").write_text(report(data))
    print(report(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
