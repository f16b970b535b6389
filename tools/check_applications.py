#!/usr/bin/env python
"""Issue #13's proof: every keras.applications image model, run in C.

For each model: build it with ``weights=None`` (random weights, seeded with
``keras.utils.set_random_seed``) at its default input size, draw a seeded
input batch in the range its first layers expect (no preprocessing: the
numbers only need to be sane), record Keras ``predict``, save the model as
``.keras``, pack it with ``kwbin pack``, run ``build/kwbin-run`` on the
packed file and compare.

Errors (C output ``c``, Keras output ``k``, over every element):

    abs  = max |c - k|
    rel  = max |c - k| / max(|k|, 1e-3 * max|k|)

(the floor keeps outputs near zero, e.g. softmax tails, from dividing by
almost nothing).  A model passes when rel <= 1e-4 (the issue's tolerance for
deep nets); the table says which also reach 1e-5.

Outcomes: ``pass``; ``FAIL`` (a wrong answer, or kwbin-run failing other
than by refusing); ``refused`` (kwbin-run refused the model at load with an
"unsupported ..." message, which is listed, never counted as a pass);
``skipped`` (not run: above ``--max-gflops`` or out of ``--tier``).  Exit
status 1 on any FAIL; refusals fail only with ``--strict``.

Each model runs in a fresh Python process (JAX keeps compiled code and
buffers; a process per model keeps memory flat and a crash contained).

    .venv/bin/python tools/check_applications.py                 # every model
    .venv/bin/python tools/check_applications.py --tier small    # the quick ones
    .venv/bin/python tools/check_applications.py --only MobileNetV2 --only ResNet50
    .venv/bin/python tools/check_applications.py --json out.json --strict
    .venv/bin/python tools/check_applications.py --only ResNet152 --f64   # conditioning or bug?

``make check-applications`` runs every model with --strict.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KWBIN_RUN = REPO / "build" / "kwbin-run"
TOLERANCE = 1e-4    # the issue's tolerance for these deep nets (relative, as defined above)
TIGHT = 1e-5        # reported: which models also reach it
REL_FLOOR = 1e-3    # the relative error's denominator is at least REL_FLOOR * max|k|
SEED = 1234
HANG_GUARD_S = 3600  # per model; a guard against hangs, not a speed requirement


@dataclass(frozen=True)
class App:
    name: str          # keras.applications attribute
    low: float         # input drawn uniformly in [low, high]
    high: float
    gflops: float      # multiply-adds per image, about (for --max-gflops and ordering)
    tier: str          # "small": run by tests/test_c_applications.py; "all": make check-applications
    size: int = 0      # input_shape=(size, size, 3) where the default is left open (MobileNetV3: 224)


# Input ranges follow each family's preprocess_input: "caffe" (BGR minus the
# ImageNet means: about [-124, 151]), "tf" ([-1, 1]), "torch" (standardised:
# about [-2, 2.6]), and models with the preprocessing inside (MobileNetV3,
# EfficientNet, EfficientNetV2, ConvNeXt: raw pixels [0, 255]).
CAFFE, TF, TORCH, PIXELS = (-120.0, 120.0), (-1.0, 1.0), (-2.0, 2.0), (0.0, 255.0)

APPS = [
    App("MobileNetV3Small", *PIXELS, 0.06, "small", 224),
    App("MobileNetV2", *TF, 0.3, "small"),
    App("MobileNet", *TF, 0.57, "small"),
    App("MobileNetV3Large", *PIXELS, 0.22, "all", 224),
    App("NASNetMobile", *TF, 0.57, "all"),
    App("EfficientNetB0", *PIXELS, 0.39, "all"),
    App("EfficientNetV2B0", *PIXELS, 0.72, "all"),
    App("EfficientNetB1", *PIXELS, 0.7, "all"),
    App("EfficientNetV2B1", *PIXELS, 1.2, "all"),
    App("EfficientNetB2", *PIXELS, 1.0, "all"),
    App("EfficientNetV2B2", *PIXELS, 1.7, "all"),
    App("DenseNet121", *TORCH, 2.9, "all"),
    App("EfficientNetB3", *PIXELS, 1.8, "all"),
    App("EfficientNetV2B3", *PIXELS, 3.0, "all"),
    App("DenseNet169", *TORCH, 3.4, "all"),
    App("ResNet50", *CAFFE, 3.9, "all"),
    App("ResNet50V2", *TF, 3.5, "all"),
    App("DenseNet201", *TORCH, 4.3, "all"),
    App("ConvNeXtTiny", *PIXELS, 4.5, "all"),
    App("EfficientNetB4", *PIXELS, 4.4, "all"),
    App("InceptionV3", *TF, 5.7, "all"),
    App("Xception", *TF, 8.4, "all"),
    App("ResNet101", *CAFFE, 7.6, "all"),
    App("ResNet101V2", *TF, 7.2, "all"),
    App("ConvNeXtSmall", *PIXELS, 8.7, "all"),
    App("EfficientNetV2S", *PIXELS, 8.4, "all"),
    App("ResNet152", *CAFFE, 11.3, "all"),
    App("ResNet152V2", *TF, 10.9, "all"),
    App("EfficientNetB5", *PIXELS, 10.3, "all"),
    App("InceptionResNetV2", *TF, 13.0, "all"),
    App("ConvNeXtBase", *PIXELS, 15.4, "all"),
    App("VGG16", *CAFFE, 15.5, "all"),
    App("VGG19", *CAFFE, 19.6, "all"),
    App("EfficientNetB6", *PIXELS, 19.0, "all"),
    App("NASNetLarge", *TF, 23.8, "all"),
    App("EfficientNetV2M", *PIXELS, 24.6, "all"),
    App("ConvNeXtLarge", *PIXELS, 34.4, "all"),
    App("EfficientNetB7", *PIXELS, 37.0, "all"),
    App("EfficientNetV2L", *PIXELS, 56.1, "all"),
    App("ConvNeXtXLarge", *PIXELS, 60.9, "all"),
]
BY_NAME = {a.name: a for a in APPS}


def _keras_env() -> None:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def errors(c, k) -> tuple[float, float]:
    """(max abs error, max relative error as defined in the module docstring)."""
    import numpy as np

    c = np.asarray(c, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    diff = np.abs(c - k)
    scale = float(np.max(np.abs(k))) if k.size else 0.0
    denom = np.maximum(np.abs(k), REL_FLOOR * scale)
    denom = np.where(denom > 0, denom, 1.0)  # an all-zero output: the relative error is the absolute one
    return float(np.max(diff)), float(np.max(diff / denom))


def spread(k) -> float:
    """Standard deviation of the output over the batch and classes: near 0 means
    a degenerate (constant) output that would prove nothing."""
    import numpy as np

    return float(np.std(np.asarray(k, dtype=np.float64)))


def randomize(model, rng, calibration) -> None:
    """Make every layer matter: Keras's initial weights leave a deep net degenerate.

    At their initial values BatchNormalization is the identity (mean 0,
    variance 1, gamma 1, beta 0), biases are 0, ConvNeXt's LayerScale is 1e-6,
    and the signal of a 50-layer net decays to ~1e-11, so every output is the
    softmax of zero logits (exactly 1/1000): C and Keras would agree whatever
    the C code did.  So, seeded: every trainable weight that is one constant
    (biases, beta: 0; gamma: 1; LayerScale) is redrawn (0: uniform [-0.2, 0.2];
    other constants: [0.5, 1.5]); Normalization layers get a mean in [0.3, 0.6]
    and a variance in [0.04, 0.1] per channel; then every BatchNormalization's
    moving mean and variance are set to the batch statistics of its input on a
    calibration batch (one training-mode pass with momentum 0 and dropout off,
    layer by layer like a data-dependent initialisation), so each normalises
    for real and the signal stays of order one down to the logits."""
    import numpy as np
    from keras import layers

    for layer in _all_layers(model):
        if isinstance(layer, layers.Normalization) and layer.built and hasattr(layer, "adapt_mean"):
            for var, lo, hi in ((layer.adapt_mean, 0.3, 0.6), (layer.adapt_variance, 0.04, 0.1)):
                var.assign(rng.uniform(lo, hi, size=var.shape).astype(np.float32))
            layer.finalize_state()  # the layer caches its mean and variance
        for var in layer.trainable_weights:
            value = np.asarray(var.numpy())
            if value.size and np.all(value == value.flat[0]):
                lo, hi = (-0.2, 0.2) if value.flat[0] == 0 else (0.5, 1.5)
                var.assign(rng.uniform(lo, hi, size=value.shape).astype(value.dtype))
    saved = []
    for layer in _all_layers(model):
        if isinstance(layer, layers.BatchNormalization):
            saved.append((layer, "momentum", layer.momentum))
            layer.momentum = 0.0
        elif isinstance(layer, layers.Dropout):
            saved.append((layer, "rate", layer.rate))
            layer.rate = 0.0
    _update_statistics(model, calibration)
    for layer, attr, value in saved:
        setattr(layer, attr, value)


def _update_statistics(model, calibration) -> None:
    """One training-mode forward pass, compiled (eager op by op is minutes on a
    big net); the updated non-trainable variables (moving statistics) are kept."""
    import jax

    step = jax.jit(lambda tv, ntv, x: model.stateless_call(tv, ntv, x, training=True)[1])
    values = step([v.value for v in model.trainable_variables],
                  [v.value for v in model.non_trainable_variables], calibration)
    for var, value in zip(model.non_trainable_variables, values):
        var.assign(value)


def _all_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)
        yield layer


class PackFailed(Exception):
    """`kwbin pack` refused the saved model (a bug of the packer, or of this check)."""


def make_reference(app: App, workdir: Path, batch: int = 2, keep_keras: bool = False) -> dict:
    """Build the model, predict a seeded batch, save .keras and pack it.

    Writes workdir/{input,keras}.npy and workdir/model.kwb (and model.keras
    with keep_keras); returns timings."""
    _keras_env()
    import keras
    import numpy as np

    times: dict[str, float] = {}
    t = time.perf_counter()
    keras.utils.set_random_seed(SEED)
    # MobileNetV3 leaves the size open when weights=None; its documented default is 224
    kwargs = {"input_shape": (app.size, app.size, 3)} if app.size else {}
    model = getattr(keras.applications, app.name)(weights=None, **kwargs)
    shape = tuple(int(d) for d in model.input_shape[1:])
    rng = np.random.default_rng(SEED)
    x = rng.uniform(app.low, app.high, size=(batch, *shape)).astype(np.float32)
    calibration = rng.uniform(app.low, app.high, size=(2, *shape)).astype(np.float32)
    randomize(model, rng, calibration)
    times["build_s"] = time.perf_counter() - t
    t = time.perf_counter()
    y = np.asarray(model.predict(x, batch_size=batch, verbose=0), dtype=np.float32)
    times["predict_s"] = time.perf_counter() - t
    np.save(workdir / "input.npy", x)
    np.save(workdir / "keras.npy", y)
    t = time.perf_counter()
    model.save(workdir / "model.keras")
    del model
    proc = subprocess.run([sys.executable, "-m", "kwbin", "pack", "-q", "--no-source-hash",
                           str(workdir / "model.keras"), "-o", str(workdir / "model.kwb")],
                          capture_output=True, text=True, timeout=HANG_GUARD_S)
    if proc.returncode != 0:
        raise PackFailed(proc.stderr.strip().split("model.keras: ", 1)[-1])
    if not keep_keras:
        (workdir / "model.keras").unlink()
    times["save_pack_s"] = time.perf_counter() - t
    return {"input_shape": list(shape), "batch": batch, **times}


def run_c(workdir: Path, exe: Path = KWBIN_RUN) -> dict:
    """Run kwbin-run on workdir's packed model and compare with Keras's output."""
    import numpy as np

    t = time.perf_counter()
    proc = subprocess.run([str(exe), str(workdir / "model.kwb"), str(workdir / "input.npy"),
                           str(workdir / "c.npy")], capture_output=True, text=True, timeout=HANG_GUARD_S)
    c_s = time.perf_counter() - t
    message = proc.stderr.strip()
    if proc.returncode != 0:
        # "kwbin-run: error: FILE: unsupported: layer 'x' (Class): ..." -> keep what follows FILE
        detail = message.split(str(workdir / "model.kwb") + ": ", 1)[-1]
        status = "refused" if proc.returncode == 1 and "unsupported" in detail else "FAIL"
        return {"status": status, "message": detail, "c_s": c_s}
    k = np.load(workdir / "keras.npy")
    c = np.load(workdir / "c.npy")
    if c.shape != k.shape:
        return {"status": "FAIL", "message": f"output shape {c.shape}, Keras {k.shape}", "c_s": c_s}
    if not np.all(np.isfinite(c)):
        return {"status": "FAIL", "message": "non-finite output", "c_s": c_s}
    abs_err, rel_err = errors(c, k)
    top1 = bool(np.array_equal(np.argmax(c.reshape(len(c), -1), axis=1), np.argmax(k.reshape(len(k), -1), axis=1)))
    return {"status": "pass" if rel_err <= TOLERANCE else "FAIL",
            "message": "" if rel_err <= TOLERANCE else f"relative error {rel_err:.3g} > {TOLERANCE:g}",
            "abs_err": abs_err, "rel_err": rel_err, "tight": rel_err <= TIGHT, "top1_agree": top1,
            "max_abs_keras": float(np.max(np.abs(k))), "keras_std": spread(k), "c_s": c_s}


def float64_errors(app: App, workdir: Path) -> dict:
    """Keras in float64 on the same weights and input: the truth both float32
    results are measured against.  When Keras's own float32 error is as large
    as C's, the model (with these weights) is ill-conditioned, not the C code
    wrong.  Needs JAX_ENABLE_X64=1 before JAX starts (the worker sets it)."""
    import keras
    import numpy as np

    weights = keras.saving.load_model(workdir / "model.keras").get_weights()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    kwargs = {"input_shape": (app.size, app.size, 3)} if app.size else {}
    model = getattr(keras.applications, app.name)(weights=None, **kwargs)
    model.set_weights([w.astype(np.float64) for w in weights])
    x = np.load(workdir / "input.npy").astype(np.float64)
    truth = np.asarray(model.predict(x, batch_size=len(x), verbose=0), dtype=np.float64)
    k = np.load(workdir / "keras.npy")
    out = {"keras32_vs_f64": errors(k, truth)[1]}
    if (workdir / "c.npy").exists():
        out["c_vs_f64"] = errors(np.load(workdir / "c.npy"), truth)[1]
    return out


def check(name: str, workdir: Path, exe: Path = KWBIN_RUN, batch: int = 2, f64: bool = False) -> dict:
    """The whole check of one model, in this process."""
    app = BY_NAME[name]
    try:
        ref = make_reference(app, workdir, batch, keep_keras=f64)
    except PackFailed as e:
        return {"name": name, "status": "FAIL", "message": f"kwbin pack: {e}"}
    ref["kwb_bytes"] = (workdir / "model.kwb").stat().st_size
    result = {"name": name, **ref, **run_c(workdir, exe)}
    if f64:
        result.update(float64_errors(app, workdir))
    return result


def _worker(name: str, exe: Path, batch: int, f64: bool) -> int:
    with tempfile.TemporaryDirectory(prefix=f"kwbin-app-{name}-") as tmp:
        result = check(name, Path(tmp), exe, batch, f64)
    print("RESULT " + json.dumps(result))
    return 0


def _run_in_child(name: str, exe: Path, batch: int, f64: bool = False) -> dict:
    t = time.perf_counter()
    env = dict(os.environ, JAX_ENABLE_X64="1") if f64 else None
    try:
        proc = subprocess.run([sys.executable, __file__, "--worker", name, "--exe", str(exe),
                               "--batch", str(batch), *(["--f64"] if f64 else [])],
                              capture_output=True, text=True, timeout=HANG_GUARD_S, env=env)
    except subprocess.TimeoutExpired:
        return {"name": name, "status": "FAIL", "message": f"no result within {HANG_GUARD_S} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["total_s"] = time.perf_counter() - t
            return result
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"name": name, "status": "FAIL", "message": f"the check itself failed: {tail}"}


def _row(r: dict) -> str:
    def num(key: str, fmt: str) -> str:
        return format(r[key], fmt) if isinstance(r.get(key), (int, float)) else ""
    note = r.get("message", "")
    if r["status"] == "pass":
        note = "reaches 1e-5" if r.get("tight") else ""
        if not r.get("top1_agree", True):
            note = (note + "; " if note else "") + "top-1 differs"
    if "keras32_vs_f64" in r:
        f64 = f"vs float64 Keras: Keras f32 {r['keras32_vs_f64']:.2e}, C {r.get('c_vs_f64', float('nan')):.2e}"
        note = f"{note}; {f64}" if note else f64
    return (f"| {r['name']} | {r['status']} | {num('abs_err', '.2e')} | {num('rel_err', '.2e')} | "
            f"{num('c_s', '.1f')} | {num('total_s', '.0f')} | {note} |")


def table(results: list[dict]) -> str:
    lines = ["| model | result | max abs error | max rel error | kwbin-run s | total s | note |",
             "|---|---|---|---|---|---|---|"]
    lines += [_row(r) for r in results]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="this model (repeatable)")
    parser.add_argument("--tier", choices=("small", "all"), default="all")
    parser.add_argument("--max-gflops", type=float, default=None,
                        help="skip models costing more multiply-adds per image (listed as skipped)")
    parser.add_argument("--batch", type=int, default=2, help="images per model (default 2)")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--strict", action="store_true", help="a refused model fails too")
    parser.add_argument("--f64", action="store_true",
                        help="also run Keras in float64 and give both float32 results' relative error to it")
    parser.add_argument("--exe", type=Path, default=KWBIN_RUN, help="kwbin-run (default build/kwbin-run)")
    parser.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker, args.exe, args.batch, args.f64)
    if not args.exe.exists():
        print(f"check_applications: {args.exe} missing: run `make c`", file=sys.stderr)
        return 2
    unknown = [n for n in args.only or [] if n not in BY_NAME]
    if unknown:
        print(f"check_applications: unknown model {', '.join(unknown)}; known: {', '.join(BY_NAME)}",
              file=sys.stderr)
        return 2
    apps = [BY_NAME[n] for n in args.only] if args.only else \
        [a for a in APPS if args.tier == "all" or a.tier == "small"]
    results = []
    for app in apps:
        if args.max_gflops is not None and app.gflops > args.max_gflops:
            r = {"name": app.name, "status": "skipped", "message": f"about {app.gflops:g} GFLOPs > --max-gflops"}
        else:
            r = _run_in_child(app.name, args.exe, args.batch, args.f64)
        results.append(r)
        print(_row(r), flush=True)
    print()
    print(table(results))
    counts = {s: sum(r["status"] == s for r in results) for s in ("pass", "FAIL", "refused", "skipped")}
    print("\n" + ", ".join(f"{v} {k}" for k, v in counts.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({"tolerance": TOLERANCE, "rel_floor": REL_FLOOR, "seed": SEED,
                                               "batch": args.batch, "results": results}, indent=1) + "\n")
    if counts["FAIL"] or (args.strict and counts["refused"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
