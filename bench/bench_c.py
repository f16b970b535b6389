#!/usr/bin/env python
"""C side of the format benchmark: c_reader/kwbin.h against libhdf5's C API
and format-less raw readers (mmap and fread), all compiled with the same
compiler and flags (the project's: -std=c99 -O2 -Wall ... -Werror).

Targets under test (from the project's issues):

- open, validate and touch every byte of a ~100 MB file via mmap: at most
  1.15x a raw mmap reader of the same bytes without any format;
- at least 5x faster than libhdf5's C API (H5Fopen + H5Dread) reading the
  same weights from the Keras .h5, and at least 50x with 10,000 tiny tensors;
- kwb_verify() at least 2 GB/s.

The programs (bench/c/*.c) each time themselves with CLOCK_MONOTONIC from
the open to the last byte touched and print one JSON line with the
checksum of the same reduction (bench/c/bench_common.h), which the runner
compares with the sources'.  As in bench_format.py: every measurement is a
fresh process, repetitions are interleaved round-robin over the tools with
the order rotated every repetition, ratios are medians of one run with the
min-max of the per-repetition (paired) ratios, and a pre-pass checks every
program's bytes bit for bit (check mode: each dumps every tensor it read)
before anything is timed.

    PYTHONPATH=src python bench/bench_c.py             # tiny10k, mid100m, seed_tfk
    PYTHONPATH=src python bench/bench_c.py --smoke     # seed_tfk, 1 rep (CI)
    python bench/bench_c.py --report-only bench/results/c.json

Writes ``<out>/c.json``, ``<out>/c.md`` and ``<out>/c.png``.
"""

from __future__ import annotations

import argparse
import hashlib
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
import _workloads  # noqa: E402
import bench_format  # noqa: E402  (machine info, child environment, logging, rotation)
import report  # noqa: E402  (statistics and table helpers)
from _workers import drop_cache, resident_bytes  # noqa: E402
from report import fmt_ratio, fmt_time, mb, ms, ratio, table, values  # noqa: E402

WORKER = str(HERE / "_c_workers.py")
CFLAGS = "-std=c99 -O2 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror"  # the Makefile's C_READER_CFLAGS
PROGRAMS = ("read_kwbin", "kwbin_verify", "read_raw_mmap", "read_raw_fread", "read_hdf5")

#: touch tools, in the round-robin order (rotated every repetition); kwbin is the reference
TOUCH_TOOLS = ("kwbin", "raw_mmap", "raw_fread", "hdf5", "hdf5_visit", "kwbin_crc")
HDF5_TOOLS = ("hdf5", "hdf5_visit")
VERIFY = "kwbin_verify"
WORKLOADS = ("tiny10k", "mid100m", "seed_tfk")
OPTIONAL = ("big1g",)
TOOL_NOTES = {
    "kwbin": "`kwb_open_path` (mmap + spec checks 1-17 + lookup index), then `kwb_get_tensor` for every "
             "tensor in file order and the reduction over `t.data` (zero-copy)",
    "kwbin_crc": "the same with `kwb_verify` (CRC-32 of every tensor, spec steps 18-19) inside the window, "
                 "before the touch",
    "raw_mmap": "**the floor**: `open` + `mmap(PROT_READ, MAP_PRIVATE)` of the bare payload (as kwbin.h "
                "maps), the reduction per tensor with the same boundaries (given from raw.idx, read "
                "before the clock)",
    "raw_fread": "`fopen` + one `fread` of the bare payload into a `malloc`'d buffer, then the same "
                 "reduction per tensor",
    "hdf5": "libhdf5: `H5Fopen` (default property lists, sec2 driver) of the Keras .h5; weights found as "
            "Keras' loader finds them (`layer_names` attribute, then each layer's `weight_names`); per "
            "weight `H5Dopen2` + `H5Dread` (native type) into its own `malloc`'d buffer, kept to the end",
    "hdf5_visit": "the same, weights found by `H5Ovisit2` over the weights group (name order, "
                  "H5O_INFO_BASIC) instead of the attributes",
    "kwbin_verify": "`kwb_open_path`, then `kwb_verify` timed alone: first pass on the fresh mapping "
                    "(page faults included), then a second pass over mapped pages",
}

log = bench_format.log


# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------


def hdf5_flags() -> tuple[list[str], list[str]]:
    try:
        cflags = subprocess.run(["pkg-config", "--cflags", "hdf5"], capture_output=True, text=True,
                                check=True).stdout.split()
        libs = subprocess.run(["pkg-config", "--libs", "hdf5"], capture_output=True, text=True,
                              check=True).stdout.split()
        return cflags, libs
    except (OSError, subprocess.CalledProcessError):  # Debian's libhdf5-dev paths
        return ["-I/usr/include/hdf5/serial"], ["-L/usr/lib/x86_64-linux-gnu/hdf5/serial", "-lhdf5"]


def build(bindir: Path) -> dict:
    """Compile every program with the same compiler and flags; returns the build info."""
    cc = os.environ.get("CC", "cc")
    bindir.mkdir(parents=True, exist_ok=True)
    h5c, h5l = hdf5_flags()
    commands = []
    for prog in PROGRAMS:
        argv = [cc, *CFLAGS.split(), "-Ic_reader", "-Ibench/c"]
        if prog == "read_hdf5":
            argv += h5c
        argv += ["-o", str(bindir / prog), f"bench/c/{prog}.c"]
        if prog == "read_hdf5":
            argv += h5l
        subprocess.run(argv, cwd=REPO, check=True)
        commands.append(" ".join(argv))
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    h = hashlib.sha256()
    for path in [REPO / "c_reader" / "kwbin.h", *sorted((HERE / "c").glob("*"))]:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return {"cc": cc, "cc_version": version, "cflags": CFLAGS, "hdf5_cflags": " ".join(h5c),
            "hdf5_libs": " ".join(h5l), "hdf5_version": hdf5_version(), "commands": commands,
            "sources_sha256": h.hexdigest()[:12]}


def hdf5_version() -> str:
    for inc in hdf5_flags()[0]:
        header = Path(inc[2:]) / "H5public.h"
        if inc.startswith("-I") and header.exists():
            for line in header.read_text().splitlines():
                if "H5_VERS_INFO" in line and '"' in line:
                    return line.split('"')[1].replace("HDF5 library version: ", "")
    return "?"


# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------


def commands(bindir: Path, files: dict) -> dict:
    """argv of every timed program; the first element is the binary, the last the data file."""
    b = {p: str(bindir / p) for p in PROGRAMS}
    return {
        "kwbin": [b["read_kwbin"], files["kwbin"]],
        "kwbin_crc": [b["read_kwbin"], "--crc", files["kwbin"]],
        "raw_mmap": [b["read_raw_mmap"], files["raw"], files["idx"]],
        "raw_fread": [b["read_raw_fread"], files["raw"], files["idx"]],
        "hdf5": [b["read_hdf5"], files["h5"]],
        "hdf5_visit": [b["read_hdf5"], "--visit", files["h5"]],
        VERIFY: [b["kwbin_verify"], files["kwbin"]],
    }


def data_file(tool: str, files: dict) -> str:
    return files["raw"] if tool.startswith("raw") else files["h5"] if tool.startswith("hdf5") else files["kwbin"]


def run_child(job: dict) -> dict:
    res = subprocess.run([sys.executable, WORKER, json.dumps(job)], capture_output=True, text=True,
                         env=bench_format.child_env(), timeout=3600)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"benchmark child failed: {job['op']} {job['workload']}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def run_program(argv: list[str], path: str, cold: bool, expected: dict) -> dict:
    """One measurement: a fresh process of the program; its own clock is the time."""
    if cold:
        drop_cache(path)
    resident = resident_bytes(path)
    t0 = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        raise SystemExit(f"benchmark program failed: {' '.join(argv)}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if out["tool"] != "kwbin_verify" and out["checksum"] != expected["checksum"]:
        raise SystemExit(f"{argv}: checksum {out['checksum']} != {expected['checksum']}")
    out.update(process_s=wall, resident_before=resident, file_bytes=os.path.getsize(path))
    return out


def warm(files: dict) -> None:
    """Evict every input, then read it back once: each file's page cache is then
    laid out by the same sequential read (readahead), not by how its writer
    happened to write it, and the warm rows start 100% resident."""
    for key in ("kwbin", "raw", "idx", "h5"):
        drop_cache(files[key])
        with open(files[key], "rb") as f:
            while f.read(8 << 20):
                pass


def run_workload(name: str, args, workroot: Path, bindir: Path) -> dict:
    workdir = workroot / name
    if workdir.exists():
        shutil.rmtree(workdir)
    base = {"dir": str(workdir), "workload": name}
    info: dict = {"workload": _workloads.summary(name)}

    log(f"{name}: writing model.h5 (legacy Keras layout), raw.bin/raw.idx, kwbin pack -> model.kwb")
    layout = run_child({**base, "op": "prepare"})
    files = layout["files"]
    info["files"] = layout["file_bytes"]
    info["pack_warnings"] = layout["pack_warnings"]
    expected = {"checksum": layout["checksum"]}
    cmds = commands(bindir, files)
    log(f"{name}: correctness pre-pass (every program's tensors bit for bit, checksums, kwb_verify)")
    info["verify"] = run_child({**base, "op": "verify", "commands": {t: cmds[t] for t in TOUCH_TOOLS},
                                "verify_command": cmds[VERIFY]})
    info["checksum"] = layout["checksum"]

    results: dict = {}
    order = TOUCH_TOOLS + (VERIFY,)
    warm(files)
    for cold in (False, True):  # cold rows last: they evict what the warm rows rely on
        for rep in range(args.reps):
            log(f"{name}: {'cold' if cold else 'warm'} rep {rep + 1}/{args.reps}")
            for tool in bench_format.rotated(order, rep):
                sample = run_program(cmds[tool], data_file(tool, files), cold, expected)
                metric = ("verify" if tool == VERIFY else "touch") + ("_cold" if cold else "")
                results.setdefault(metric, {}).setdefault(tool, []).append(sample)
    info["metrics"] = results
    if not args.keep:
        shutil.rmtree(workdir)
    return info


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def _med(xs) -> float:
    return statistics.median(list(xs))


def gbps(samples: list[dict], key: str = "seconds") -> list[float]:
    return [s["bytes"] / s[key] / 1e9 for s in samples]


def fastest_hdf5(m: dict) -> str | None:
    tools = [t for t in HDF5_TOOLS if t in m]
    return min(tools, key=lambda t: _med(values(m[t]))) if tools else None


def touch_table(m: dict, payload: int) -> str:
    ref, floor = m.get("kwbin"), m.get("raw_mmap")
    header = ["tool", "median ms", "min–max ms", "GB/s (payload)", "× kwbin (paired min–max)",
              "× raw_mmap (paired)", "open ms (in the time)", "close ms (not in it)", "peak RSS MB",
              "anonymous MB", "file-backed MB", "cache resident before (median)"]
    rows = []
    for tool in TOUCH_TOOLS:
        if tool not in m:
            continue
        s = m[tool]
        med, rng = fmt_time(values(s))
        rows.append([
            f"`{tool}`", med, rng, f"{payload / _med(values(s)) / 1e9:.2f}",
            "1" if tool == "kwbin" else fmt_ratio(ratio(s, ref)),
            "1" if tool == "raw_mmap" else fmt_ratio(ratio(s, floor)),
            ms(_med(values(s, "open_s"))), ms(_med(values(s, "close_s"))),
            mb(_med(values(s, "peak_rss"))), mb(_med(values(s, "anonymous"))),
            mb(_med(values(s, "file_backed"))),
            report._resident([x["resident_before"] for x in s], s[0]["file_bytes"]),
        ])
    return table(header, rows)


def verify_table(m: dict) -> str:
    rows = []
    for metric, label in (("verify", "warm"), ("verify_cold", "COLD")):
        if VERIFY not in m.get(metric, {}):
            continue
        s = m[metric][VERIFY]
        first, second = gbps(s, "verify_s"), gbps(s, "verify2_s")
        both = [x["bytes"] / (x["verify_s"] + x["open_s"]) / 1e9 for x in s]
        rows.append([label, f"{_med(first):.2f}", f"{min(first):.2f}–{max(first):.2f}",
                     f"{_med(second):.2f}", f"{min(second):.2f}–{max(second):.2f}",
                     f"{_med(both):.2f}", ms(_med(values(s, "verify_s"))), ms(_med(values(s, "open_s"))),
                     report._resident([x["resident_before"] for x in s], s[0]["file_bytes"])])
    return table(["cache", "first pass GB/s (median)", "min–max", "second pass GB/s (median)", "min–max",
                  "open + first pass GB/s", "first pass ms", "kwb_open_path ms (not in the pass)",
                  "resident before"], rows)


def targets(doc: dict) -> list[list[str]]:
    rows = []

    def add(check, workload, measured, target, ok):
        status = "info" if ok is None else ("PASS" if ok else "**MISS**")
        rows.append([check, workload, measured, target, status])

    for name, w in doc["workloads"].items():
        m = w["metrics"]
        big = name in ("mid100m", "big1g")
        for metric, cache in (("touch", "warm"), ("touch_cold", "cold")):
            t = m.get(metric, {})
            if "kwbin" in t and "raw_mmap" in t:
                r = ratio(t["kwbin"], t["raw_mmap"])
                strict = big and cache == "warm"
                add(f"open + checks + touch every byte (mmap), {cache}: kwbin / raw mmap", name, fmt_ratio(r),
                    "≤ 1.15" if strict else "≤ 1.15 warm on ~100 MB (info here)", r[0] <= 1.15 if strict else None)
            if "kwbin_crc" in t and "raw_mmap" in t:
                r = ratio(t["kwbin_crc"], t["raw_mmap"])
                add(f"the same + kwb_verify (CRC of every tensor), {cache}: kwbin_crc / raw mmap", name,
                    fmt_ratio(r), "info (the target reads \"validate\" as the open's checks)", None)
            h5 = fastest_hdf5(t)
            if h5 and "kwbin" in t:
                r = ratio(t[h5], t["kwbin"])
                goal = 5 if big else 50 if name == "tiny10k" else None
                if goal and cache == "warm":
                    add(f"libhdf5 (faster variant: `{h5}`) / kwbin, warm", name, fmt_ratio(r), f"≥ {goal}",
                        r[0] >= goal)
                    if "raw_mmap" in t:  # no mmap reader can beat the format-less floor
                        c = ratio(t[h5], t["raw_mmap"])
                        add(f"ceiling of that ratio: libhdf5 (`{h5}`) / raw mmap floor, warm", name,
                            fmt_ratio(c), f"info (≥ {goal} is out of reach for any mmap reader if this is "
                            f"below {goal})", None)
                else:
                    add(f"libhdf5 (faster variant: `{h5}`) / kwbin, {cache}", name, fmt_ratio(r),
                        f"≥ {goal} warm (info here)" if goal else "info", None)
        for metric, cache in (("verify", "warm"), ("verify_cold", "cold")):
            s = m.get(metric, {}).get(VERIFY)
            if s:
                first = gbps(s, "verify_s")
                add(f"kwb_verify GB/s, first pass on a fresh mapping, {cache} cache", name,
                    f"{_med(first):.2f} ({min(first):.2f}–{max(first):.2f})",
                    "≥ 2" if (big and cache == "warm") else "≥ 2 warm on ~100 MB (info here)",
                    _med(first) >= 2 if (big and cache == "warm") else None)
    return rows


def render(doc: dict, plot_name: str | None) -> str:
    mach, cfg, b = doc["machine"], doc["config"], doc["build"]
    out = ["# kwbin C reader benchmark (kwbin.h vs libhdf5 vs raw readers)", ""]
    out.append(f"Run {mach['date']} · `{cfg['command']}` · {cfg['reps']} repetitions, each measurement in a "
               "fresh process, tools interleaved round-robin (order rotated every repetition). Ratios are "
               "within this run.")
    out.append("")
    out.append(table(["machine", ""], [
        ["CPU", f"{mach['cpu']} ({mach['cores']} cores, {mach['cores_usable']} usable; shared machine)"],
        ["RAM", f"{mach['ram_bytes'] / 2**30:.1f} GiB"],
        ["kernel", mach["kernel"]],
        ["compiler", f"{b['cc_version']} (`{b['cc']}`)"],
        ["flags (every program)", f"`{b['cflags']}`; read_hdf5 adds `{b['hdf5_cflags']}` … `{b['hdf5_libs']}`"],
        ["libhdf5", b["hdf5_version"]],
        ["kwbin", f"c_reader/kwbin.h + bench/c sources sha256 {b['sources_sha256']}, git {mach['git']}"],
        ["load average start → end",
         f"{report._load(mach.get('loadavg_start'))} → {report._load(mach.get('loadavg_end'))}"],
        ["other busy processes start / end", report.busy_text(mach)],
        *([["note", mach["note"]]] if mach.get("note") else []),
    ]))
    out += ["", f"Timing: {cfg['timing']}.", "", f"Reduction: {cfg['reduction']}.", "",
            f"Cache: {cfg['cache']}.", "", f"Memory: {cfg['memory']}.", ""]
    out += ["Tools:", ""] + [f"- `{k}`: {v}" for k, v in TOOL_NOTES.items()] + [""]
    out += ["## Targets", "", table(["check", "workload", "measured (paired min–max)", "target", "status"],
                                    targets(doc)), ""]
    out += ["\"libhdf5 / kwbin\" uses whichever libhdf5 variant had the lower median in that row (the "
            "conservative choice for kwbin). \"info\" rows are context, not a target as written.", ""]
    for name, w in doc["workloads"].items():
        wl = w["workload"]
        out += [f"## {name}: {wl['tensors']} tensors, {mb(wl['payload_bytes'])} MB payload, largest tensor "
                f"{mb(wl['largest_tensor_bytes'])} MB", ""]
        if wl.get("source"):
            out += [f"The model weights of `{wl['source']}` (a real tf.keras model): libhdf5 reads that file "
                    "itself, kwbin the output of `kwbin pack` on it, the raw readers the same arrays back to "
                    "back.", ""]
        else:
            out += ["A Keras HDF5 file in the legacy tf.keras layout written by h5py "
                    "(`model_weights/<layer>/<layer>/<weight>:0`, one contiguous dataset per tensor), "
                    "`kwbin pack` of it, and the same arrays back to back in raw.bin.", ""]
        files = ", ".join(f"{k} {mb(v)}" for k, v in w["files"].items())
        v = w["verify"]
        out += [f"Files (MB): {files}. Pre-pass: every program's {v['tensors']} tensors equal bit for bit "
                f"to the sources (check mode dumps every tensor as read), every timed run's checksum "
                f"`{w['checksum']}` equal to the sources'; kwb_verify passes, and fails as it should on a "
                f"copy with one flipped bit ({v['flipped_bit']}).", ""]
        m = w["metrics"]
        for metric, title in (("touch", "Open + read every byte, warm cache"),
                              ("touch_cold", "Open + read every byte, COLD cache (posix_fadvise DONTNEED "
                                             "on the input right before each run)")):
            if metric in m:
                out += [f"### {title}", "", touch_table(m[metric], wl["payload_bytes"]), ""]
        if "verify" in m:
            out += ["### kwb_verify throughput (GB/s of tensor payload)", "", verify_table(m), ""]
    if plot_name:
        out += [f"![C reader times]({plot_name})", ""]
    return "\n".join(out)


def plot(doc: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: skipping the plot", file=sys.stderr)
        return False
    names = list(doc["workloads"])
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(5.2 * (len(names) + 1), 4.8), squeeze=False)
    for col, name in enumerate(names):
        ax = axes[0][col]
        m = doc["workloads"][name]["metrics"]
        tools = [t for t in TOUCH_TOOLS if t in m.get("touch", {})]
        spread = 1.0
        for k, (metric, color) in enumerate((("touch", "tab:blue"), ("touch_cold", "tab:gray"))):
            if metric not in m:
                continue
            ys = [i + 0.4 * k for i in range(len(tools))]
            med = [_med(values(m[metric][t])) * 1e3 for t in tools]
            lo = [med[i] - min(values(m[metric][t])) * 1e3 for i, t in enumerate(tools)]
            hi = [max(values(m[metric][t])) * 1e3 - med[i] for i, t in enumerate(tools)]
            ax.barh(ys, med, 0.4, xerr=[lo, hi], color=color, capsize=2,
                    label="warm" if metric == "touch" else "cold")
            for y, v in zip(ys, med):
                ax.text(v, y, f" {ms(v / 1e3)}", va="center", fontsize=7)
            spread = max(spread, max(med) / min(med))
        ax.set_yticks([i + 0.2 for i in range(len(tools))])
        ax.set_yticklabels(tools)
        ax.invert_yaxis()
        log_scale = spread > 20  # linear unless the times span orders of magnitude
        if log_scale:
            ax.set_xscale("log")
        ax.set_xlabel(f"ms, open → last byte (median, bars min–max{'; log' if log_scale else ''})")
        wl = doc["workloads"][name]["workload"]
        ax.set_title(f"{name}: {wl['tensors']} tensors, {mb(wl['payload_bytes'])} MB")
        ax.legend(fontsize=8)
    ax = axes[0][-1]
    labels, vals, errs = [], [], [[], []]
    for name in names:
        for metric in ("verify", "verify_cold"):
            s = doc["workloads"][name]["metrics"].get(metric, {}).get(VERIFY)
            if s:
                g = gbps(s, "verify_s")
                labels.append(f"{name} {'warm' if metric == 'verify' else 'cold'}")
                vals.append(_med(g))
                errs[0].append(_med(g) - min(g))
                errs[1].append(max(g) - _med(g))
    ax.barh(labels, vals, xerr=errs, color="tab:green", capsize=2)
    ax.axvline(2.0, color="red", linestyle="--", label="target ≥ 2 GB/s")
    ax.invert_yaxis()
    ax.set_xlabel("kwb_verify GB/s, first pass (median, bars min–max)")
    ax.set_title("kwb_verify throughput")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_report(json_path: Path) -> None:
    doc = json.loads(json_path.read_text())
    png = json_path.with_suffix(".png")
    made = plot(doc, png)
    md = json_path.with_suffix(".md")
    md.write_text(render(doc, png.name if made else None) + "\n")
    for path in [md] + ([png] if made else []):
        log(f"wrote {path}")
    print(table(["check", "workload", "measured (paired min–max)", "target", "status"], targets(doc)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true",
                   help="CI smoke test: seed_tfk only, 1 rep unless --reps, results to build/bench-smoke "
                        "unless --out")
    p.add_argument("--reps", type=int, default=None, help="repetitions per tool (default 7)")
    p.add_argument("--out", default=None, help="results directory (default bench/results)")
    p.add_argument("--work", default=str(HERE / ".work"), help="scratch dir for generated files")
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS + OPTIONAL, help="explicit list")
    p.add_argument("--keep", action="store_true", help="keep generated files")
    p.add_argument("--note", default="", help="free text stored with the machine info (e.g. other load)")
    p.add_argument("--report-only", metavar="JSON", help="only rebuild c.md and c.png from JSON")
    args = p.parse_args(argv)
    if args.report_only:
        write_report(Path(args.report_only))
        return 0
    if args.reps is None:
        args.reps = 1 if args.smoke else 7
    if args.out is None:
        args.out = str(REPO / "build" / "bench-smoke") if args.smoke else str(HERE / "results")
    if args.reps < 5:
        log(f"warning: --reps {args.reps} < 5; fine for a smoke test, not for reporting")

    names = args.workloads or (_workloads.SMOKE if args.smoke else WORKLOADS)
    bindir = REPO / "build" / "bench-c"
    log(f"building bench/c/*.c into {bindir}")
    build_info = build(bindir)
    workroot = Path(args.work)
    workroot.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine": bench_format.machine_info(),
        "build": build_info,
        "config": {
            "reps": args.reps,
            "workloads": list(names),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "timing": "clock_gettime(CLOCK_MONOTONIC) inside each program, from the open (kwb_open_path, "
                      "open+mmap, fopen, H5Fopen) to the last byte touched; process start-up, libhdf5's "
                      "one-time H5open, reading raw.idx, unmapping/freeing/closing are outside the window "
                      "(close is reported apart); median of the reps",
            "reduction": "every program sums every little-endian 32-bit word of every tensor into a "
                         "wrapping 64-bit integer with the same code (bench/c/bench_common.h): exact and "
                         "order-independent, so every run's checksum is compared with the sources'",
            "cache": "warm: every input evicted, then read back once with read() before the reps (so every "
                     "file's page cache comes from the same sequential read, whatever wrote it) and kept in "
                     "the page cache (resident before is measured with fincore); cold: posix_fadvise(POSIX_FADV_DONTNEED) on the "
                     "program's input file right before the run (0% resident; on a VM the host may still "
                     "cache the disk, so cold rows are a guest-cache-miss bound)",
            "memory": "VmHWM (peak RSS of the program's own address space), RssAnon and RssFile from "
                      "/proc/self/status right after the last byte, while everything read is still held",
        },
        "workloads": {},
    }
    for name in names:
        doc["workloads"][name] = run_workload(name, args, workroot, bindir)
    doc["machine"]["loadavg_end"] = os.getloadavg()
    doc["machine"]["busy_end"] = bench_format.busy_processes()
    doc["machine"]["note"] = args.note

    json_path = out / "c.json"
    json_path.write_text(json.dumps(doc, indent=1))
    log(f"wrote {json_path}")
    write_report(json_path)
    if not args.keep and workroot.exists() and not any(workroot.iterdir()):
        workroot.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
