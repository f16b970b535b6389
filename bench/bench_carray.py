#!/usr/bin/env python
"""`kwbin c-array`: header size and compile time, string literal (default) against the hex form.

Models: the seed model (examples/seed_k3.keras packed, 1.7 MB) and float32 models of about 2 MB and
20 MB with normally distributed weights (the bytes of trained float weights look alike: nearly
random low bytes, exponent bytes around 0x3c and 0xbc).  For each model and style: the header's size
over the model's, the time to write the header, and the time of `gcc -O2 -c` (and `clang -O2 -c`) of
a one-line C file including it, median of the repetitions, each compile a fresh process.

    PYTHONPATH=src nice python bench/bench_carray.py                  # 3 repetitions, gcc and clang
    PYTHONPATH=src python bench/bench_carray.py --quick --out /tmp/c    # the 2 MB model, 1 repetition

Writes ``<out>/carray.json`` and ``<out>/carray.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))

import kwbin  # noqa: E402
from kwbin.carray import STYLES, header_text  # noqa: E402

MB = 1 << 20
UNIT = 'const unsigned char *model_bytes(void);\nconst unsigned char *model_bytes(void) { return model; }\n'


def make_models(folder: Path, quick: bool) -> dict[str, Path]:
    models = {}
    if not quick:
        from kwbin.keras import pack

        models["seed (examples/seed_k3.keras)"] = Path(pack(REPO / "examples" / "seed_k3.keras", folder / "seed.kwb"))
    rng = np.random.default_rng(17)
    for label, size in ([("2 MB float32", 2)] if quick else [("2 MB float32", 2), ("20 MB float32", 20)]):
        path = folder / f"f32_{size}mb.kwb"
        n = size * MB // 4 // 8
        kwbin.save_file({f"layer_{i}/kernel": (rng.standard_normal(n) * 0.05).astype(np.float32) for i in range(8)}, path)
        models[label] = path
    return models


def compile_seconds(compiler: str, header: Path, reps: int) -> float:
    unit = header.with_suffix(".c")
    unit.write_text(f'#include "{header.name}"\n' + UNIT)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        done = subprocess.run([compiler, "-O2", "-c", str(unit), "-o", str(unit.with_suffix(".o"))],
                              capture_output=True, text=True, timeout=3600)  # fmt: skip
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{compiler} failed on {header}: {done.stderr[-2000:]}")
    return statistics.median(times)


def has_embed(compiler: str) -> bool:
    """Whether ``compiler`` preprocesses C23 ``#embed`` (a probe of one line)."""
    probe = subprocess.run([compiler, "-E", "-x", "c", "-"], input="#if defined(__has_embed)\nyes\n#endif\n",
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    return probe.returncode == 0 and "yes" in probe.stdout


def measure(models: dict[str, Path], folder: Path, compilers: list[str], reps: int, embed_compilers: list[str]) -> list[dict]:
    rows = []
    for label, model in models.items():
        data = model.read_bytes()
        for style in STYLES:
            start = time.perf_counter()
            text = header_text(data, "model", 64, model.name, f"{model.stem}_{style}.h", style)
            write_s = time.perf_counter() - start
            header = folder / f"{model.stem}_{style}.h"
            header.write_text(text)
            row = {"model": label, "model_bytes": len(data), "style": style, "header_bytes": len(text),
                   "ratio": len(text) / len(data), "write_s": write_s}  # fmt: skip
            for compiler in compilers:
                # #embed needs a compiler that has it; the others are not timed on that style.
                usable = style != "embed" or compiler in embed_compilers
                row[f"{compiler}_s"] = compile_seconds(compiler, header, reps) if usable else None
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def _size(n: int) -> str:
    return f"{n / MB:.2f} MB" if n >= MB // 10 else f"{n / 1024:.1f} KB"


def report(rows: list[dict], compilers: list[str], reps: int) -> str:
    versions = {c: subprocess.run([c, "--version"], capture_output=True, text=True).stdout.splitlines()[0] for c in compilers}
    lines = [
        "# `kwbin c-array`: header size and compile time",
        "",
        f"`PYTHONPATH=src nice python bench/bench_carray.py` on {datetime.date.today()}, {platform.machine()}, "
        f"Python {platform.python_version()}; " + "; ".join(versions.values()) + f". Median of {reps} compiles of a "
        "one-line C file including the header (`-O2 -c`), each a fresh process; the machine is a shared 2-core VM.",
        "",
        "| model | size | style | header | header / model | write header | " + " | ".join(f"{c} -O2" for c in compilers) + " |",
        "|---|---:|---|---:|---:|---:|" + "---:|" * len(compilers),
    ]
    for r in rows:
        lines.append(f"| {r['model']} | {r['model_bytes'] / MB:.2f} MB | {r['style']} | {_size(r['header_bytes'])} | "
                     f"**{r['ratio']:.2f}x** | {r['write_s']:.2f} s | "
                     + " | ".join("n/a" if r[c + "_s"] is None else f"{r[c + '_s']:.2f} s" for c in compilers) + " |")  # fmt: skip
    lines += [
        "",
        "`string` (the default since this change): one string literal, printable bytes as themselves, the others as",
        "named or shortest octal escapes, lines of at most 200 characters. `hex`: `0x..,` per byte (kwbin 0.1.0's",
        "form, still `--style hex`, for compilers that limit string literals such as MSVC's 64 KiB). For random-looking",
        "bytes (float weights) about 63% of bytes need an escape of 2-4 characters: 2.7x is near the floor of a",
        "portable C string literal; the 2x of the issue is reached only by data with more printable bytes.",
        "`embed`: a header of a few lines whose C23 `#embed` reads the kwbin file itself at compile time",
        "(header / model counts the header only; the file ships beside it): for compilers that have `#embed`",
        "(Clang 19, GCC 15 and later; n/a: this compiler has no `#embed`).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 2 MB model only, one repetition")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    reps = 1 if args.quick else args.reps
    compilers = [c for c in ("gcc", "clang", "clang-19") if shutil.which(c)]
    embed_compilers = [c for c in compilers if has_embed(c)]
    if not compilers:
        raise SystemExit("no gcc or clang")
    with tempfile.TemporaryDirectory(prefix="kwbin-carray-") as tmp:
        rows = measure(make_models(Path(tmp), args.quick), Path(tmp), compilers, reps, embed_compilers)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "carray.json").write_text(json.dumps({"date": str(datetime.date.today()), "reps": reps, "rows": rows}, indent=1) + "\n")
    (args.out / "carray.md").write_text(report(rows, compilers, reps))
    print(f"wrote {args.out / 'carray.md'}")


if __name__ == "__main__":
    main()
