#!/usr/bin/env python
"""Benchmark what users do with kwbin's Python reader, against safetensors and
a raw mmap floor: list every record, open and read one tensor, iterate
``f.tensors`` reading every byte.

Targets (issue #12), each a ratio within one run:

The 10,000-tensor targets are checked on ``tiny10k``, the file of the issue's
figures (written by ``save_file``: no layers); ``tiny10k_layers`` holds the same
tensors in 5,000 layers, where opening also checks the layer table and the
(layer, weight) names (context).

- ``list``: open + every record's (name, dtype, shape) of 10,000 tensors
  ≤ 0.5x safetensors (``safe_open`` + ``keys()`` + ``get_slice(k)`` /
  ``get_dtype()`` / ``get_shape()``);
- ``first``: open + look up and fully read one tensor (from the middle), 10,000
  tensors, ≤ 0.5x safetensors' ``safe_open`` + ``get_tensor``;
- ``iterate``: open + ``for t in f.tensors: f[t.name]`` reading every byte of
  200 MB in 200 tensors ≤ 1.15x the raw floor (``np.frombuffer`` over a plain
  ``mmap``, its name -> offset table given for free).

As in bench_format.py: every measurement runs in a fresh child
(``_reader_workers.py``), repetitions are interleaved round-robin over the
tools with the order rotated each repetition, warm page cache, medians of 7
repetitions, and ratios are medians of one run with the min-max of the
per-repetition (paired) ratios.  A correctness pre-pass checks every tool's
listing and bytes against the sources before anything is timed.  The children
run with ``OMP_NUM_THREADS=1`` and without ``OPENBLAS_CORETYPE`` /
``OPENBLAS_L2_SIZE`` (every tool alike).

    PYTHONPATH=src python bench/bench_reader.py            # tiny10k, tiny10k_layers, mid200m, seed_tfk
    PYTHONPATH=src python bench/bench_reader.py --quick    # tiny10k, mid200m
    PYTHONPATH=src python bench/bench_reader.py --smoke    # seed_tfk, 1 rep, to build/bench-smoke
    python bench/bench_reader.py --report-only bench/results/reader.json

Writes ``<out>/reader.json`` and ``<out>/reader.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import _reader_workers as rw  # noqa: E402
import bench_format  # noqa: E402  (machine info, child environment, logging, warming)
from report import fmt_ratio, fmt_time, ms, ratio, table, values  # noqa: E402

WORKER = str(HERE / "_reader_workers.py")
METRICS = {
    "list": ("kwbin", "safetensors"),
    "first": ("kwbin", "safetensors", "raw"),
    "iterate": ("kwbin", "kwbin_items", "safetensors", "raw"),
}
TITLES = {
    "list": "Open + every record's (name, dtype, shape)",
    "first": "Open + look up one tensor by name (from the middle) and read all of it",
    "iterate": "Open + walk every tensor and read every byte (a float32 sum of each)",
}
TOOL_NOTES = {
    "kwbin": "`kwbin.open`; list: `[(t.name, t.dtype, t.shape) for t in f.tensors]`; first: `f[name]`; "
             "iterate: `for t in f.tensors: f[t.name]`",
    "kwbin_items": "`for name, arr in f.items()`",
    "safetensors": "`safe_open(path, 'np')`; list: `keys()` then one `get_slice(k)` per key for "
                   "`get_dtype()` and `get_shape()`; first and iterate: `get_tensor` (copies)",
    "raw": "floor: `np.frombuffer` over a plain `mmap` of the bare payload, name -> offset table given free",
}
#: the environment variables removed from every child (they change how numpy's OpenBLAS starts)
DROPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
log = bench_format.log


def child_env() -> dict:
    env = bench_format.child_env()
    for key in DROPPED_ENV:
        env.pop(key, None)
    return env


def run_job(job: dict, timeout: float = 1800) -> dict:
    os.sync()  # no measurement starts while the disk still writes back
    res = subprocess.run([sys.executable, WORKER, json.dumps(job)], capture_output=True, text=True,
                         env=child_env(), timeout=timeout)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"benchmark child failed: {job}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_workload(name: str, args, workroot: Path) -> dict:
    from _workers import resident_bytes

    workdir = workroot / name
    if workdir.exists():
        shutil.rmtree(workdir)
    base = {"dir": str(workdir), "workload": name}
    info = {"workload": rw.summary(name)}
    log(f"{name}: writing every container")
    info["files"] = run_job({**base, "op": "prepare"})["file_bytes"]
    log(f"{name}: correctness pre-pass")
    info["verify"] = run_job({**base, "op": "verify"})
    specs = rw.specs(name)
    info["middle_tensor"] = specs[len(specs) // 2][0]
    bench_format.warm(workdir)
    results: dict = {}
    for rep in range(args.reps):
        log(f"{name}: rep {rep + 1}/{args.reps}")
        for op, tools in METRICS.items():
            for tool in bench_format.rotated(tools, rep):
                job = {**base, "op": op, "tool": tool, "name": info["middle_tensor"]}
                job["resident_before"] = resident_bytes(rw._path(str(workdir), tool))
                results.setdefault(op, {}).setdefault(tool, []).append(run_job(job))
    if not args.keep:
        shutil.rmtree(workdir)
    info["metrics"] = results
    return info


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

#: (metric, tool, reference, limit, the workload the limit applies to)
TARGETS = (
    ("list", "kwbin", "safetensors", 0.5, "tiny10k"),
    ("first", "kwbin", "safetensors", 0.5, "tiny10k"),
    ("iterate", "kwbin", "raw", 1.15, "mid200m"),
)


def targets(doc: dict) -> list[list[str]]:
    rows = []
    for name, w in doc["workloads"].items():
        m = w["metrics"]
        for metric, tool, ref, limit, where in TARGETS:
            if tool in m.get(metric, {}) and ref in m[metric]:
                r = ratio(m[metric][tool], m[metric][ref])
                strict = name == where
                rows.append([f"{metric}: {tool} / {ref}", name, fmt_ratio(r),
                             f"≤ {limit}" if strict else f"≤ {limit} on {where} only (info)",
                             ("PASS" if r[0] <= limit else "**MISS**") if strict else "info"])
        it = m.get("iterate", {})
        if "kwbin_items" in it and "raw" in it:
            rows.append(["iterate: kwbin f.items() / raw", name, fmt_ratio(ratio(it["kwbin_items"], it["raw"])),
                         "none (context)", "info"])
    return rows


def metric_table(data: dict, ref: str) -> str:
    header = ["tool", "median ms", "min–max ms", f"× {ref} (paired min–max)", "import ms (not in the time)",
              "cache resident before"]
    rows = []
    for tool, samples in data.items():
        med, rng = fmt_time(values(samples))
        size = samples[0].get("file_bytes")
        res = [s.get("resident_before") for s in samples]
        resident = "n/a" if any(r is None for r in res) or not size else f"{statistics.median(res) / size:.0%}"
        rows.append([f"`{tool}`", med, rng, "1" if tool == ref else fmt_ratio(ratio(samples, data[ref])),
                     ms(statistics.median(values(samples, "import_s"))), resident])
    return table(header, rows)


def render(doc: dict) -> str:
    mach, cfg = doc["machine"], doc["config"]
    out = ["# kwbin Python reader benchmark: what users do", ""]
    out.append(f"Run {mach['date']} · `{cfg['command']}` · {cfg['reps']} repetitions, each measurement in "
               "a fresh process, tools interleaved round-robin (order rotated every repetition), warm page "
               "cache (every file evicted then read once before the repetitions).")
    out.append("")
    out.append(table(["machine", ""], [
        ["CPU", f"{mach['cpu']} ({mach['cores']} cores, {mach['cores_usable']} usable)"],
        ["python / numpy / safetensors", f"{mach['python']} / {mach['numpy']} / {mach['safetensors']}"],
        ["kwbin", f"{mach['kwbin']}, git {mach['git']}, sources sha256 {mach.get('kwbin_src_sha256', '?')}"],
        ["load average start → end", f"{_load(mach.get('loadavg_start'))} → {_load(mach.get('loadavg_end'))}"],
        ["child environment", cfg["environment"]],
        *([["note", mach["note"]]] if mach.get("note") else []),
    ]))
    out += ["", "Timing: " + cfg["timing"] + ".", ""]
    out += ["Tools: " + "; ".join(f"`{k}` = {v}" for k, v in TOOL_NOTES.items()) + ".", ""]
    out += ["## Targets", "", table(["check", "workload", "measured (paired min–max)", "target", "status"],
                                    targets(doc)), ""]
    for name, w in doc["workloads"].items():
        wl = w["workload"]
        out += [f"## {name}: {wl['tensors']} tensors, {wl['payload_bytes'] / 1e6:.1f} MB payload", ""]
        if wl.get("source"):
            out += [f"The model weights of the real Keras file `{wl['source']}`, packed by `kwbin pack`.", ""]
        out += ["File sizes (MB): " + ", ".join(f"{t} {b / 1e6:.1f}" for t, b in w["files"].items())
                + f". Correctness pre-pass: every listing and tensor equal to the sources "
                  f"({w['verify']['tensors']} tensors).", ""]
        for metric, title in TITLES.items():
            if metric in w["metrics"]:
                ref = "raw" if metric == "iterate" else "safetensors"
                extra = f" (`{w['middle_tensor']}`)" if metric == "first" else ""
                out += [f"### {title}{extra}", "", metric_table(w["metrics"][metric], ref), ""]
    return "\n".join(out)


def _load(x) -> str:
    return "n/a" if not x else " ".join(f"{v:.2f}" for v in x)


def write_report(json_path: Path) -> None:
    doc = json.loads(json_path.read_text())
    md = json_path.with_suffix(".md")
    md.write_text(render(doc) + "\n")
    log(f"wrote {md}")
    print(table(["check", "workload", "measured (paired min–max)", "target", "status"], targets(doc)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny10k and mid200m only")
    p.add_argument("--smoke", action="store_true", help="seed_tfk, 1 rep, results to build/bench-smoke")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 7; 1 with --smoke)")
    p.add_argument("--out", default=None, help="results directory (default bench/results)")
    p.add_argument("--work", default=str(HERE / ".work" / "reader"), help="scratch dir for generated files")
    p.add_argument("--workloads", nargs="+", choices=list(rw.WORKLOADS), help="explicit workload list")
    p.add_argument("--keep", action="store_true", help="keep generated files")
    p.add_argument("--note", default="", help="free text stored with the machine info")
    p.add_argument("--report-only", metavar="JSON", help="rewrite the report of an earlier run")
    args = p.parse_args(argv)
    if args.report_only:
        write_report(Path(args.report_only))
        return 0
    if args.reps is None:
        args.reps = 1 if args.smoke else 7
    if args.out is None:
        args.out = str(REPO / "build" / "bench-smoke") if args.smoke else str(HERE / "results")
    names = args.workloads or (("seed_tfk",) if args.smoke else ("tiny10k", "mid200m") if args.quick
                               else rw.WORKLOADS)
    workroot = Path(args.work)
    workroot.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine": bench_format.machine_info(),
        "config": {
            "reps": args.reps,
            "workloads": list(names),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "timing": "perf_counter inside a fresh child, after its imports (import time reported apart); "
                      "median of the repetitions",
            "environment": "OMP_NUM_THREADS=1; " + ", ".join(DROPPED_ENV) + " removed"
                           + " (set in the runner's: " + (", ".join(f"{k}={os.environ[k]}" for k in DROPPED_ENV
                                                                    if k in os.environ) or "none") + ")",
        },
        "workloads": {},
    }
    for name in names:
        doc["workloads"][name] = run_workload(name, args, workroot)
    doc["machine"]["loadavg_end"] = os.getloadavg()
    doc["machine"]["busy_end"] = bench_format.busy_processes()
    doc["machine"]["note"] = args.note
    json_path = out / "reader.json"
    json_path.write_text(json.dumps(doc, indent=1))
    log(f"wrote {json_path}")
    write_report(json_path)
    if not args.keep and workroot.exists() and not any(workroot.iterdir()):
        workroot.rmdir()
    return 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    log(f"done in {time.time() - started:.0f} s")
    sys.exit(code)
