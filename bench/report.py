#!/usr/bin/env python
"""Turn ``format.json`` (from bench_format.py) into ``format.md`` and plots.

    python bench/report.py bench/results/format.json

Ratios are always computed within the one run that produced the JSON.
"× kwbin" is tool median / kwbin median, so above 1 means kwbin is faster;
the bracket after it is the min–max of the per-repetition ratios (tools ran
back to back within a repetition, so pairing cancels slow drifts).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

MB = 1e6
MiB = 2**20

METRIC_TITLES = {
    "open": "Open (ready to look up any tensor), warm cache",
    "touch": "Open + read every byte (float32 sum of every tensor), warm cache",
    "touch_cold": "Open + read every byte, COLD cache (posix_fadvise DONTNEED before each run)",
    "middle": "Open + fully read one tensor from the middle, warm cache",
    "save": "Save durably (each tool's time includes fsync)",
}
TOOL_NOTES = {
    "kwbin": "kwbin.open, views over mmap",
    "raw": "floor: np.frombuffer over mmap of the bare payload",
    "safetensors": "safe_open(path, 'np') / get_tensor",
    "safetensors_load_file": "safetensors.numpy.load_file (copies)",
    "h5py": "h5py.File, dataset[()] (copies)",
    "npz": "np.load (lazy NpzFile), member reads copy",
    "gguf": "gguf.GGUFReader (np.memmap of the file, header parsed in Python) + a name dict, "
            "tensor.data views",
    "kwbin_writer": "kwbin.Writer fed the same in-memory arrays",
}


# ---------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------


def values(samples: list[dict], key: str = "seconds") -> list[float]:
    return [s[key] for s in samples]


def stats(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def ratio(samples: list[dict], ref: list[dict]) -> tuple[float, float, float]:
    """(ratio of medians, min and max of per-repetition ratios)."""
    med = statistics.median(values(samples)) / statistics.median(values(ref))
    paired = [a / b for a, b in zip(values(samples), values(ref))]
    return med, min(paired), max(paired)


def mem_median(samples: list[dict], when: str, key: str) -> float:
    return statistics.median(s[when][key] for s in samples)


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def ms(x: float) -> str:
    x *= 1e3
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def fmt_time(xs: list[float]) -> tuple[str, str]:
    st = stats(xs)
    return ms(st["median"]), f"{ms(st['min'])}–{ms(st['max'])}"


def fmt_ratio(r: tuple[float, float, float]) -> str:
    return f"{r[0]:.2f} ({r[1]:.2f}–{r[2]:.2f})"


def mb(x: float) -> str:
    return f"{x / MB:.1f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


def time_table(metric: str, data: dict, payload: int) -> str:
    ref = data.get("kwbin")
    with_bw = metric in ("touch", "touch_cold", "save")
    with_mem = metric in ("touch", "touch_cold")
    header = ["tool", "median ms", "min–max ms"]
    header += ["GB/s (payload)"] if with_bw else []
    header += ["× kwbin (paired min–max)"]
    header += ["private MB", "private dirty MB", "anonymous MB", "peak RSS MB"] if with_mem else []
    header += ["cache resident before (median)"] if metric != "save" else []
    header += ["import ms (not in the time)"] if metric == "open" else []
    rows = []
    for tool, samples in data.items():
        med, rng = fmt_time(values(samples))
        row = [f"`{tool}`", med, rng]
        if with_bw:
            row.append(f"{payload / statistics.median(values(samples)) / 1e9:.2f}")
        row.append(fmt_ratio(ratio(samples, ref)) if ref and tool != "kwbin" else "1")
        if with_mem:
            row += [mb(mem_median(samples, "mem_after", k))
                    for k in ("private", "private_dirty", "anonymous", "peak_rss")]
        if metric != "save":
            res = [s.get("resident_before") for s in samples]
            row.append(_resident(res, samples[0].get("file_bytes")))
        if metric == "open":
            row.append(ms(statistics.median(values(samples, "import_s"))))
        rows.append(row)
    return table(header, rows)


def _resident(res: list, size) -> str:
    if any(r is None for r in res) or not size:
        return "n/a"
    return f"{statistics.median(res) / size:.0%}"


def floor_table(data: dict) -> str:
    rows = []
    for op, label in (("dd", "dd if=raw.bin of=/dev/null bs=1M (page cache)"),
                      ("cp", "cp --reflink=never raw.bin DEST, same file system (page cache → page "
                             "cache, no fsync; timed around the process, start-up included)"),
                      ("memcpy", "numpy copy of a 256 MB float32 array (best of 3)")):
        if op in data:
            bw = [s["bytes"] / s["seconds"] / 1e9 for s in data[op]]
            st = stats(bw)
            rows.append([label, f"{st['median']:.2f}", f"{st['min']:.2f}–{st['max']:.2f}"])
    return table(["physical floor", "median GB/s", "min–max GB/s"], rows)


def stream_table(samples: list[dict], largest: int) -> str:
    """Peak memory of the streaming writer over the post-import baseline.

    VmHWM is the peak RSS of the child's own address space.  ru_maxrss is
    shown too, but on Linux it is inherited across fork+exec, so its baseline
    is the (larger) runner process's RSS and its growth reads as ~0.
    """
    def col(when, key):
        return [s[when][key] for s in samples]

    over = [p - b for p, b in zip(col("after", "peak_rss"), col("baseline", "peak_rss"))]
    med, rng = fmt_time(values(samples))
    rows = [[
        mb(statistics.median(col("baseline", "peak_rss"))),
        mb(statistics.median(col("after", "peak_rss"))),
        f"{mb(statistics.median(over))} ({mb(min(over))}–{mb(max(over))})",
        mb(largest + 64 * MiB),
        f"{mb(statistics.median(col('baseline', 'ru_maxrss')))} → "
        f"{mb(statistics.median(col('after', 'ru_maxrss')))}",
        med, rng,
    ]]
    return table(["baseline VmHWM MB (after imports)", "peak VmHWM MB",
                  "peak − baseline MB (min–max)", "budget: largest tensor + 64 MiB, MB",
                  "ru_maxrss MB baseline → peak (inherited, see note)",
                  "median ms (incl. generating data)", "min–max ms"], rows)


def targets(doc: dict) -> list[list[str]]:
    """Every target named in the brief, measured where the run has the data."""
    rows = []

    def add(check, workload, measured, target, ok):
        # ok None: the target does not apply to this workload; the row is context
        rows.append([check, workload, measured, target, "info" if ok is None else "PASS" if ok else "**MISS**"])

    for name, w in doc["workloads"].items():
        m = w["metrics"]
        opened = m.get("open", {})
        if "kwbin" in opened and "safetensors" in opened:
            r = ratio(opened["kwbin"], opened["safetensors"])
            limit = {"tiny10k": 0.5, "big1g": 1.0}.get(name)
            add("open: kwbin.open / safetensors safe_open", name, fmt_ratio(r),
                f"≤ {limit}" if limit else "≤ 0.5 on 10k tensors, ≤ 1.0 on 1 GB (info here)",
                r[0] <= limit if limit else None)
        touch = m.get("touch", {})
        if "kwbin" in touch and "raw" in touch:
            r = ratio(touch["kwbin"], touch["raw"])
            strict = name == "big1g"  # the target is for the 1 GB file
            add("touch: kwbin / raw mmap", name, fmt_ratio(r),
                "≤ 1.15 (1 GB)" if strict else "≤ 1.15 on 1 GB only (info)",
                r[0] <= 1.15 if strict else None)
        if "kwbin" in touch and "safetensors_load_file" in touch:
            r = ratio(touch["safetensors_load_file"], touch["kwbin"])
            add("touch: safetensors load_file / kwbin", name, fmt_ratio(r),
                "≥ 5 (1 GB)" if name == "big1g" else "≥ 5 on 1 GB only (info)",
                r[0] >= 5 if name == "big1g" else None)
        if "kwbin" in touch:
            priv = mem_median(touch["kwbin"], "mem_after", "private")
            anon = mem_median(touch["kwbin"], "mem_after", "anonymous")
            strict = name == "big1g"
            # The target is memory "beyond the shared page cache": anonymous memory.
            # Private_Clean also counts the file's own page-cache pages, which the
            # kernel calls private while only one process maps them (raw mmap too).
            add("touch memory: kwbin Private_Clean+Private_Dirty (incl. the mapped file's page cache)",
                name, f"{mb(priv)} MB", "info (see the note on private memory)", None)
            add("touch memory beyond the page cache: kwbin anonymous (heap/copies)", name, f"{mb(anon)} MB",
                "< 64 MB (1 GB)" if strict else "< 64 MB on 1 GB only (info)",
                anon < 64 * MiB if strict else None)
        save = m.get("save", {})
        if "kwbin" in save and "safetensors" in save:
            r = ratio(save["kwbin"], save["safetensors"])
            add("save: kwbin.save_file / (safetensors + fsync)", name, fmt_ratio(r), "≤ 1.2",
                r[0] <= 1.2)
        if "stream" in m:
            s = m["stream"]["kwbin"]
            over = statistics.median(x["after"]["peak_rss"] - x["baseline"]["peak_rss"]
                                     for x in s)
            budget = w["workload"]["largest_tensor_bytes"] + 64 * MiB
            add("stream Writer: peak RSS (VmHWM) − baseline", name, f"{mb(over)} MB",
                f"≤ {mb(budget)} MB", over <= budget)
    return rows


def render(doc: dict, plots: frozenset = frozenset()) -> str:
    mach, cfg = doc["machine"], doc["config"]
    out = ["# kwbin format benchmark", ""]
    out.append(f"Run {mach['date']} · `{cfg['command']}` · {cfg['reps']} repetitions, each "
               "measurement in a fresh process, tools interleaved round-robin "
               "(order rotated every repetition).")
    out.append("")
    out.append(table(["machine", ""], [
        ["CPU", f"{mach['cpu']} ({mach['cores']} cores, {mach['cores_usable']} usable)"],
        ["RAM", f"{mach['ram_bytes'] / 2**30:.1f} GiB"],
        ["kernel", mach["kernel"]],
        ["python / numpy", f"{mach['python']} / {mach['numpy']}"],
        ["safetensors / h5py / gguf", f"{mach['safetensors']} / {mach['h5py']} / {mach.get('gguf', '?')}"],
        ["kwbin", f"{mach['kwbin']} ({mach['kwbin_path']}), git {mach['git']}, "
                  f"sources sha256 {mach.get('kwbin_src_sha256', '?')}, "
                  f"CRC-32 by {mach.get('kwbin_crc32', 'not recorded')}"],
        ["load average start → end",
         f"{_load(mach.get('loadavg_start'))} → {_load(mach.get('loadavg_end'))}"],
        ["other busy processes start / end", busy_text(mach)],
        *([["note", mach["note"]]] if mach.get("note") else []),
    ]))
    out += ["", f"Cache: {cfg['cache']}.", "", f"Timing: {cfg['timing']}. Import time is "
            "excluded from every row; numpy is already imported by the worker.", ""]
    out += ["Tools: " + "; ".join(f"`{k}` = {v}" for k, v in TOOL_NOTES.items()) + ".", ""]
    out += ["Memory columns are read from /proc/self/smaps_rollup after every tensor has "
            "been read and while all arrays are still held. The kernel counts a page-cache "
            "page mapped by only one process as Private_Clean, so a read-only mmap of a file "
            "nobody else maps shows up as \"private\" although it is reclaimable cache; "
            "compare kwbin with the `raw` mmap floor, and see \"anonymous\" for heap copies.",
            ""]

    out += ["## Targets", "", table(["check", "workload", "measured (paired min–max)",
                                      "target", "status"], targets(doc)), ""]

    for name, w in doc["workloads"].items():
        wl = w["workload"]
        out += [f"## {name}: {wl['tensors']} tensors, {mb(wl['payload_bytes'])} MB payload, "
                f"largest tensor {mb(wl['largest_tensor_bytes'])} MB", ""]
        if wl.get("source"):
            out += [f"The model weights of the real Keras file `{wl['source']}`: `kwbin` reads it as "
                    "packed by `kwbin pack`, `h5py` reads the .h5 itself (weights found through the "
                    "`layer_names`/`weight_names` attributes, as Keras does), the other containers "
                    "hold the same arrays.", ""]
        out.append("File sizes (MB): " + ", ".join(
            f"{t} {mb(b)}" for t, b in w["files"].items()) + ". "
            f"Correctness pre-pass: every container bit-for-bit equal to the sources "
            f"({w['verify']['tensors']} tensors), kwbin CRCs verified.")
        out.append("")
        m = w["metrics"]
        for metric, title in METRIC_TITLES.items():
            if metric in m:
                extra = f" (tensor `{w['middle_tensor']}`)" if metric == "middle" else ""
                out += [f"### {title}{extra}", "", time_table(metric, m[metric],
                                                              wl["payload_bytes"]), ""]
        if "floor" in m:
            out += ["### Physical floor (same run)", "", floor_table(m["floor"]), ""]
        if "stream" in m:
            out += ["### Streaming kwbin.Writer, tensors generated one at a time", "",
                    "Peak RSS is VmHWM of the child (its own address space). ru_maxrss is "
                    "listed as asked, but Linux carries it across fork+exec, so it starts at "
                    "the runner's RSS and hides the writer's growth.", "",
                    stream_table(m["stream"]["kwbin"], wl["largest_tensor_bytes"]), ""]
        if f"format_{name}.png" in plots:
            out += [f"![ratios for {name}](format_{name}.png)", ""]
    return "\n".join(out)


def _load(x) -> str:
    return "n/a" if not x else " ".join(f"{v:.2f}" for v in x)


def busy_text(mach: dict) -> str:
    """Who else used the CPU (ps, lifetime average %), at the start and the end."""
    if "busy_start" not in mach:
        return "not recorded"
    def one(xs):
        return "<br>".join(x.replace("|", "\\|") for x in xs) or "none"
    return f"start: {one(mach['busy_start'])}<br>end: {one(mach.get('busy_end') or [])}"


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------


def plot(doc: dict, outdir: Path) -> list[Path]:
    """One bar chart of "tool time / kwbin time" per workload; skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: skipping plots", file=sys.stderr)
        return []
    written = []
    for name, w in doc["workloads"].items():
        m = w["metrics"]
        metrics = [k for k in METRIC_TITLES if k in m and "kwbin" in m[k]]
        tools = sorted({t for k in metrics for t in m[k] if t != "kwbin"})
        fig, ax = plt.subplots(figsize=(9, 4.5))
        width = 0.8 / max(1, len(tools))
        for i, tool in enumerate(tools):
            xs, ys = [], []
            for j, k in enumerate(metrics):
                if tool in m[k]:
                    xs.append(j + i * width)
                    ys.append(ratio(m[k][tool], m[k]["kwbin"])[0])
            # Bars grow from 1 so "kwbin slower" (< 1) points down.
            ax.bar(xs, [y - 1 for y in ys], width, bottom=1, label=tool)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks([j + width * (len(tools) - 1) / 2 for j in range(len(metrics))])
        ax.set_xticklabels(metrics)
        ax.set_ylabel("tool time / kwbin time (log; >1: kwbin faster)")
        ax.set_title(f"{name}: median time relative to kwbin")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = outdir / f"format_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    src = Path(argv[0] if argv else Path(__file__).parent / "results" / "format.json")
    doc = json.loads(src.read_text())
    plots = plot(doc, src.parent)
    md = src.with_suffix(".md")
    md.write_text(render(doc, frozenset(p.name for p in plots)) + "\n")
    for path in [md, *plots]:
        print(f"wrote {path}", file=sys.stderr)
    print(table(["check", "workload", "measured (paired min–max)", "target", "status"],
                targets(doc)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
