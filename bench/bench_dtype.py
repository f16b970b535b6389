#!/usr/bin/env python
"""``kwbin pack --dtype`` (issue #17): file size and C inference error of
float16 and bfloat16 weights against float32, for the seed network and
MobileNetV2.

Networks:

- ``seed``: examples/seed_k3.keras (Dense/BatchNormalization x5, 427k
  parameters) on its own input (examples/seed_k3.input.npy, 8 samples) and
  Keras's output for it (seed_k3.output.npy);
- ``MobileNetV2``: keras.applications.MobileNetV2(weights=None) at 224x224x3,
  seeded, its weights made to matter and its BatchNormalization statistics
  calibrated exactly as tools/check_applications.py does (built once, saved as
  .keras in a temporary folder); a seeded batch of 4 inputs uniform in [-1, 1];
  Keras ``predict`` on JAX (CPU) is the reference.

Each is packed with ``kwbin pack`` three times (no --dtype, i.e. float32;
--dtype float16; --dtype bfloat16) and run by kwbin-run (default
build/kwbin-run: ``make c`` first).  Errors, over every output element:

    abs = max |c - ref|
    rel = max |c - ref| / max(|ref|, 1e-3 max|ref|)    (as check_applications.py)

with ``ref`` the float32 file's C output (what narrowing the weights alone
costs) and Keras's output (the end-to-end error); against Keras also
``scaled`` = abs / max|ref| and, both outputs being softmax probabilities,
``log-p`` = max |log c - log ref| (the logits' error, up to a shift per
sample); ``top-1`` says whether the argmax of every sample agrees with
Keras's, and the top-1 margin is Keras's smallest log(p1 / p2) over the
samples (random weights leave small margins).

    nice .venv/bin/python bench/bench_dtype.py        # about 2 minutes

Writes bench/results/dtype.json and dtype.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
DTYPES = ("float32", "float16", "bfloat16")
HANG_GUARD_S = 3600

sys.path.insert(0, str(REPO / "tools"))
import check_applications as apps  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG_GUARD_S)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")


def pack(keras_file: Path, out: Path, dtype: str) -> None:
    extra = [] if dtype == "float32" else ["--dtype", dtype]
    _run([sys.executable, "-m", "kwbin", "pack", "-q", "--no-source-hash", str(keras_file), "-o", str(out), *extra])


def network(name: str, keras_file: Path, x: Path, keras_out: Path, exe: Path, work: Path) -> dict:
    import numpy as np

    import kwbin

    k = np.load(keras_out)
    rows, outputs = [], {}
    for dtype in DTYPES:
        kwb, out = work / f"{name}.{dtype}.kwb", work / f"{name}.{dtype}.out.npy"
        pack(keras_file, kwb, dtype)
        _run([str(exe), str(kwb), str(x), str(out)])
        outputs[dtype] = c = np.load(out)
        with kwbin.open(kwb) as f:
            meta = f.metadata.get("weight_dtype", {})
            counts: dict[str, int] = {}
            for t in f.tensors:
                counts[t.dtype] = counts.get(t.dtype, 0) + 1
        vs_f32 = apps.errors(c, outputs["float32"])
        vs_keras = apps.errors(c, k)
        top1 = bool(np.array_equal(np.argmax(c.reshape(len(c), -1), 1), np.argmax(k.reshape(len(k), -1), 1)))
        rows.append({
            "dtype": dtype, "bytes": kwb.stat().st_size, "tensors": counts, "kept": len(meta.get("kept", [])),
            "abs_vs_f32": vs_f32[0], "rel_vs_f32": vs_f32[1], "abs_vs_keras": vs_keras[0],
            "rel_vs_keras": vs_keras[1], "scaled_vs_keras": vs_keras[0] / float(np.max(np.abs(k))),
            "logp_vs_keras": float(np.max(np.abs(np.log(c) - np.log(k)))), "top1_agree": top1,
        })  # fmt: skip
        log(f"{name} {dtype}: {rows[-1]}")
    top2 = np.sort(k.reshape(len(k), -1), axis=1)[:, -2:]
    margin = float(np.min(np.log(top2[:, 1] / top2[:, 0])))  # softmax outputs: the top-1 logit's lead
    return {"name": name, "output_shape": list(k.shape), "max_abs_keras": float(np.max(np.abs(k))),
            "top1_margin_keras": margin, "rows": rows}  # fmt: skip


def mobilenet(work: Path) -> tuple[Path, Path, Path]:
    folder = work / "MobileNetV2"
    folder.mkdir()
    log("building MobileNetV2 (seeded, statistics calibrated) and predicting")
    apps.make_reference(apps.BY_NAME["MobileNetV2"], folder, batch=4, keep_keras=True)
    return folder / "model.keras", folder / "input.npy", folder / "keras.npy"


def _machine() -> dict:
    import keras
    import numpy as np

    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(), "numpy": np.__version__, "keras": keras.__version__,
        "backend": keras.backend.backend(), "kwbin_git": rev.stdout.strip(),
    }  # fmt: skip


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# kwbin pack --dtype: file size and C inference error",
        "",
        f"Run {m['date']} · `nice .venv/bin/python bench/bench_dtype.py` · kwbin git {m['kwbin_git']} · "
        f"python {m['python']}, numpy {m['numpy']}, keras {m['keras']} ({m['backend']}) · kwbin-run "
        f"`{result['exe']}`.",
        "",
        "Each network is packed as float32 (no `--dtype`), `--dtype float16` and `--dtype bfloat16`, then run by "
        "kwbin-run (which widens float16/bfloat16 weights to float32 at load). abs = max |c − ref|; "
        "rel = max |c − ref| / max(|ref|, 1e-3·max|ref|). `vs f32` compares with the float32 file's C output "
        "(the cost of narrowing the weights alone), `vs Keras` with Keras `predict`; scaled = abs / max|Keras|; "
        "log-p = max |log c − log Keras| (the logits' error up to a shift per sample). BatchNormalization "
        "statistics (moving mean and variance) stay float32 (`kept`), as `kwbin pack --dtype` does by default.",
        "",
    ]
    for net in result["networks"]:
        base = net["rows"][0]["bytes"]
        lines += [
            f"## {net['name']}",
            "",
            f"Output shape {tuple(net['output_shape'])} (softmax), max |Keras output| {net['max_abs_keras']:.3g}, "
            f"Keras's smallest top-1 margin log(p1/p2) {net['top1_margin_keras']:.3g}.",
            "",
            "| weights | file size | × float32 | tensors by dtype | kept float32 | abs vs f32 | rel vs f32 "
            "| abs vs Keras | rel vs Keras | scaled vs Keras | log-p vs Keras | top-1 = Keras |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for r in net["rows"]:
            dtypes = ", ".join(f"{k} {v}" for k, v in sorted(r["tensors"].items()))
            lines.append(
                f"| {r['dtype']} | {_size(r['bytes'])} | {r['bytes'] / base:.3f} | {dtypes} | {r['kept']} "
                f"| {r['abs_vs_f32']:.3g} | {r['rel_vs_f32']:.3g} | {r['abs_vs_keras']:.3g} "
                f"| {r['rel_vs_keras']:.3g} | {r['scaled_vs_keras']:.3g} | {r['logp_vs_keras']:.3g} "
                f"| {'yes' if r['top1_agree'] else 'no'} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exe", type=Path, default=REPO / "build" / "kwbin-run", help="kwbin-run to use")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of dtype.json and dtype.md")
    args = parser.parse_args(argv)
    if not args.exe.exists():
        raise SystemExit(f"{args.exe}: not found (make c)")
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    examples = REPO / "examples"
    with tempfile.TemporaryDirectory(prefix="kwbin-bench-dtype-") as tmp:
        work = Path(tmp)
        networks = [network("seed", examples / "seed_k3.keras", examples / "seed_k3.input.npy",
                            examples / "seed_k3.output.npy", args.exe, work)]  # fmt: skip
        networks.append(network("MobileNetV2", *mobilenet(work), args.exe, work))
    result = {"machine": _machine(), "exe": str(args.exe.relative_to(REPO) if args.exe.is_relative_to(REPO)
                                                else args.exe), "networks": networks}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dtype.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "dtype.md").write_text(markdown(result))
    log(f"wrote {args.out / 'dtype.json'} and dtype.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
