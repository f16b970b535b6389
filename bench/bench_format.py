#!/usr/bin/env python
"""Benchmark kwbin's Python reader/writer against safetensors, h5py, .npz,
GGUF (gguf-py) and a raw mmap floor, next to the physical floors (dd, cp,
memcpy).

Every measurement runs in a fresh child process (``_workers.py``) and prints
JSON; repetitions are interleaved round-robin across tools (with the order
rotated each repetition) so slow drifts of a shared, noisy machine hit every
tool alike.  Results are meant to be read as ratios within one run.

    PYTHONPATH=src python bench/bench_format.py --smoke     # seed_tfk, 1 rep (CI, seconds)
    PYTHONPATH=src python bench/bench_format.py --quick     # tiny10k + mid100m + seed_tfk
    PYTHONPATH=src python bench/bench_format.py             # + big1g (~1 GB)

``seed_tfk`` is the real Keras model of the tests (tests/data/keras/seed_tfk.h5):
kwbin reads it as packed by ``kwbin pack``, h5py reads the .h5 itself (walking
``layer_names``/``weight_names`` as Keras does), the others hold the same arrays.

Writes ``<out>/format.json`` then ``<out>/format.md`` and plots (report.py).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import _workloads  # noqa: E402

WORKER = str(HERE / "_workers.py")

# Which tools each metric compares (kwbin first; it is the reference).
OPEN_TOOLS = ("kwbin", "safetensors", "h5py", "npz", "gguf")
TOUCH_TOOLS = ("kwbin", "raw", "safetensors_load_file", "h5py", "npz", "gguf")
FLOOR_OPS = ("dd", "cp", "memcpy")
MIDDLE_TOOLS = ("kwbin", "safetensors", "h5py", "npz", "gguf")
SAVE_TOOLS = ("kwbin", "kwbin_writer", "safetensors", "npz", "h5py", "gguf")
#: Operations reading an existing file: the runner sets up its cache state first.
READ_OPS = ("open", "touch", "middle")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def child_env() -> dict:
    env = dict(os.environ)
    if "PYTHONPATH" not in env:  # default to the in-repo package
        env["PYTHONPATH"] = str(REPO / "src")
    # One thread per library: a 2-core shared box would otherwise add noise.
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_job(job: dict, timeout: float = 1800) -> dict:
    """Run one measurement in a fresh interpreter; abort loudly on failure.

    ``os.sync()`` first, so no measurement starts while the disk still writes
    back what an earlier tool left dirty without fsync.
    """
    os.sync()
    res = subprocess.run(
        [sys.executable, WORKER, json.dumps(job)],
        capture_output=True, text=True, env=child_env(), timeout=timeout,
    )
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"benchmark child failed: {job}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def rotated(items: tuple, rep: int) -> tuple:
    k = rep % len(items)
    return items[k:] + items[:k]


def warm(workdir: Path) -> None:
    """Evict every input file, then read it back once, so the warm rows really
    start warm and every file's page cache comes from the same sequential read
    (readahead), not from however its writer happened to write it."""
    from _workers import drop_cache

    for path in workdir.iterdir():
        if path.is_file() and path.suffix != ".json":
            drop_cache(str(path))
            with open(path, "rb") as f:
                while f.read(8 << 20):
                    pass


def measure_round(results: dict, key: str, tools: tuple, rep: int, base: dict,
                  op: str | None = None) -> None:
    """One repetition of metric ``key`` for every tool, in rotated order.

    ``op`` is the worker operation; None means each "tool" is itself an op
    (the dd and memcpy floors).
    """
    from _workers import prepare_cache

    for tool in rotated(tools, rep):
        job = {**base, "op": op or tool, "tool": tool}
        if op in READ_OPS:
            job["resident_before"] = prepare_cache(job)
        sample = run_job(job)
        results.setdefault(key, {}).setdefault(tool, []).append(sample)


def run_workload(name: str, args, workroot: Path) -> dict:
    workdir = workroot / name
    if workdir.exists():
        shutil.rmtree(workdir)
    base = {"dir": str(workdir), "workload": name}
    info = {"workload": _workloads.summary(name)}

    log(f"{name}: writing every container")
    info["files"] = run_job({**base, "op": "prepare"})["file_bytes"]
    log(f"{name}: correctness pre-pass (bit-for-bit against the sources)")
    info["verify"] = run_job({**base, "op": "verify"})

    specs = _workloads.specs(name)
    middle = {**base, "name": specs[len(specs) // 2][0]}
    info["middle_tensor"] = middle["name"]
    results: dict = {}

    warm(workdir)
    for rep in range(args.reps):
        log(f"{name}: warm rep {rep + 1}/{args.reps}")
        measure_round(results, "open", OPEN_TOOLS, rep, base, "open")
        measure_round(results, "touch", TOUCH_TOOLS, rep, base, "touch")
        measure_round(results, "floor", FLOOR_OPS, rep, base)
        measure_round(results, "middle", MIDDLE_TOOLS, rep, middle, "middle")

    # Cold rows last: they evict the files the warm rows rely on.
    for rep in range(args.reps):
        log(f"{name}: cold rep {rep + 1}/{args.reps}")
        measure_round(results, "touch_cold", TOUCH_TOOLS, rep, {**base, "cold": True}, "touch")

    if name in _workloads.SAVE_WORKLOADS or args.smoke:  # the smoke test covers the save path too
        for rep in range(args.reps):
            log(f"{name}: save rep {rep + 1}/{args.reps}")
            measure_round(results, "save", SAVE_TOOLS, rep, base, "save")
            measure_round(results, "stream", ("kwbin",), rep, base, "stream")

    if not args.keep:
        shutil.rmtree(workdir)
    info["metrics"] = results
    return info


def machine_info() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_total = int(f.readline().split()[1]) * 1024

    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "not installed"

    kw = subprocess.run(
        [sys.executable, "-c",
         "import kwbin, kwbin.crc; print(getattr(kwbin, '__version__', '?'), kwbin.__file__, kwbin.crc.BACKEND)"],
        capture_output=True, text=True, env=child_env(),
    ).stdout.split()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_bytes": mem_total,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "safetensors": version("safetensors"),
        "h5py": version("h5py"),
        "gguf": version("gguf"),
        "kwbin": kw[0] if kw else "?",
        "kwbin_path": kw[1] if len(kw) > 1 else "?",
        "kwbin_crc32": f"{kw[2]} {version('isal')}" if len(kw) > 2 and kw[2] == "isal" else "zlib",
        "git": _git_state(),
        "kwbin_src_sha256": _source_digest(),
        "loadavg_start": os.getloadavg(),
        "busy_start": busy_processes(),
    }


def busy_processes(threshold: float = 5.0) -> list[str]:
    """Other processes using CPU right now (a shared machine: say who else ran)."""
    out = subprocess.run(["ps", "-eo", "pid=,pcpu=,etime=,args=", "--sort=-pcpu"],
                         capture_output=True, text=True).stdout.splitlines()
    me = {os.getpid(), os.getppid()}
    busy = []
    for line in out[:12]:
        parts = line.split(None, 3)
        if len(parts) == 4 and float(parts[1]) >= threshold and int(parts[0]) not in me:
            busy.append(f"pid {parts[0]} {parts[1]}% cpu (lifetime avg), up {parts[2]}: {parts[3][:100]}")
    return busy


def _source_digest() -> str:
    """Identifies the measured kwbin sources even when they are uncommitted."""
    h = hashlib.sha256()
    for path in sorted((REPO / "src" / "kwbin").glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def _git_state() -> str:
    def git(*a):
        return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "no commit"
    dirty = " (+uncommitted changes)" if git("status", "--porcelain", "src") else ""
    return head + dirty


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny10k + mid100m + seed_tfk only")
    p.add_argument("--smoke", action="store_true",
                   help="CI smoke test: the smallest workload (seed_tfk), 1 rep unless --reps, saves "
                        "included, results to build/bench-smoke unless --out")
    p.add_argument("--reps", type=int, default=None, help="repetitions per measurement (default 7)")
    p.add_argument("--out", default=None, help="results directory (default bench/results)")
    p.add_argument("--work", default=str(HERE / ".work"), help="scratch dir for generated files")
    p.add_argument("--workloads", nargs="+", choices=list(_workloads.WORKLOADS),
                   help="explicit workload list (overrides --quick)")
    p.add_argument("--keep", action="store_true", help="keep generated files")
    p.add_argument("--note", default="", help="free text stored with the machine info (e.g. other load)")
    args = p.parse_args(argv)
    if args.reps is None:
        args.reps = 1 if args.smoke else 7
    if args.out is None:
        args.out = str(REPO / "build" / "bench-smoke") if args.smoke else str(HERE / "results")
    if args.reps < 5:
        log(f"warning: --reps {args.reps} < 5; fine for a smoke test, not for reporting")

    names = args.workloads or (_workloads.SMOKE if args.smoke else
                               _workloads.QUICK if args.quick else tuple(_workloads.WORKLOADS))
    workroot = Path(args.work)
    workroot.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    doc = {
        "machine": machine_info(),
        "config": {
            "reps": args.reps,
            "workloads": list(names),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "cache": "warm rows: every input evicted, then read back once before the reps (the same "
                     "readahead-built page cache for every file, whatever wrote it) and kept in page cache "
                     "(resident_before records it); cold rows: posix_fadvise(DONTNEED) on the "
                     "file by the runner right before it starts the child (fincore shows 0% resident; on a "
                     "VM the host may still cache the disk, so cold rows are a guest-cache-miss bound). "
                     "The runner, not the child, probes the cache: a fork in the child just before the "
                     "timed call would make its heap copy-on-write and add page faults to the timing",
            "timing": "perf_counter inside a fresh child, after imports; median of reps",
        },
        "workloads": {},
    }
    for name in names:
        doc["workloads"][name] = run_workload(name, args, workroot)
    doc["machine"]["loadavg_end"] = os.getloadavg()
    doc["machine"]["busy_end"] = busy_processes()
    doc["machine"]["note"] = args.note

    json_path = out / "format.json"
    json_path.write_text(json.dumps(doc, indent=1))
    log(f"wrote {json_path}")

    import report

    report.main([str(json_path)])
    if not args.keep and workroot.exists() and not any(workroot.iterdir()):
        workroot.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
