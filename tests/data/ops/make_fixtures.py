#!/usr/bin/env python3
"""Generate the Keras 3 operation-node fixtures (issue #15) in tests/data/ops/.

Each case is a tiny functional model that calls tensor operations
(``keras.ops.*`` or Python operators on symbolic tensors: Keras 3 records each
call as an operation node of module ``keras.src.ops.*``), saved as
``<case>.keras``, with a batch of 3 seeded inputs ``<case>.in<i>.npy`` and
Keras's own predictions ``<case>.out<i>.npy``; ``cases.json`` lists them and
MANIFEST.md is rendered from it.  Run with the project's .venv (keras 3.15.1 on
JAX, CPU):

    nice -n 10 .venv/bin/python tests/data/ops/make_fixtures.py          # every case
    nice -n 10 .venv/bin/python tests/data/ops/make_fixtures.py --only NAME
    .venv/bin/python tests/data/ops/make_fixtures.py --list

A case's numbers depend only on its name (seed: CRC-32 of the name; Keras's
name counters are reset before each case).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import ops as K  # noqa: E402

HERE = Path(__file__).resolve().parent
BATCH = 3
TOLERANCE = 1e-5

Build = Callable[..., Any]


class Case:
    def __init__(self, name: str, shapes: list[tuple[int, ...]], fn: Build, note: str, data: str = "normal"):
        self.name, self.shapes, self.fn, self.note, self.data = name, shapes, fn, note, data


CASES: dict[str, Case] = {}


def case(name: str, shapes: list[tuple[int, ...]], note: str, data: str = "normal") -> Callable[[Build], Build]:
    def register(fn: Build) -> Build:
        assert name not in CASES, name
        CASES[name] = Case(name, shapes, fn, note, data)
        return fn
    return register


# ---- elementwise arithmetic: tensors and constants on either side, broadcasting ----
case("add_tensors", [(4, 5), (4, 5)], "x + y")(lambda x, y: x + y)
case("add_broadcast_rows", [(4, 5), (1, 5)], "(4, 5) + (1, 5)")(lambda x, y: x + y)
case("add_broadcast_both", [(4, 1), (1, 5)], "(4, 1) + (1, 5) -> (4, 5)")(lambda x, y: K.add(x, y))
case("add_scalar_right", [(4, 5)], "x + 3.0")(lambda x: x + 3.0)
case("sub_scalar_left", [(4, 5)], "2.0 - x (constant first)")(lambda x: 2.0 - x)
case("sub_tensors_broadcast", [(3, 1, 5), (3, 4, 1)], "(3, 1, 5) - (3, 4, 1)")(lambda x, y: x - y)
case("mul_array_last_axis", [(4, 5)], "x * np.array (5,) (a constant on the last axis)")(
    lambda x: K.multiply(x, np.array([0.5, -1.0, 2.0, 0.25, 3.0], np.float32)))
case("mul_numpy_column", [(4, 5)], "np.array (4, 1) * x (numpy constant first, broadcast)")(
    lambda x: K.multiply(np.array([[1.5], [-2.0], [0.5], [4.0]], np.float32), x))
case("mul_array_rank3_batch1", [(2, 3)], "x * np.array (1, 2, 1): its first axis meets the batch")(
    lambda x: K.multiply(x, np.array([[[2.0], [-0.5]]], np.float32)))
case("div_scalar_left", [(4, 5)], "1.0 / x, x positive", "positive")(lambda x: 1.0 / x)
case("div_tensors", [(4, 5), (4, 5)], "x / y, y positive", "positive")(lambda x, y: x / y)
case("pow_int", [(4, 5)], "x ** 2")(lambda x: x ** 2)
case("pow_tensor_exponent", [(4, 5), (4, 5)], "power(x, y), x positive", "positive")(lambda x, y: K.power(x, y))
case("pow_scalar_base", [(4, 5)], "2.0 ** x")(lambda x: K.power(2.0, x))
case("negative", [(4, 5)], "-x")(lambda x: -x)
case("abs", [(4, 5)], "abs(x)")(lambda x: K.abs(x))
case("absolute", [(4, 5)], "ops.absolute(x)")(lambda x: K.absolute(x))
case("square", [(4, 5)], "square(x)")(lambda x: K.square(x))
case("sqrt", [(4, 5)], "sqrt(x), x positive", "positive")(lambda x: K.sqrt(x))
case("exp", [(4, 5)], "exp(x)")(lambda x: K.exp(x))
case("log", [(4, 5)], "log(x), x positive", "positive")(lambda x: K.log(x))
case("minimum_tensors", [(4, 5), (1, 5)], "minimum(x, y), broadcast")(lambda x, y: K.minimum(x, y))
case("maximum_scalar", [(4, 5)], "maximum(x, 0.1)")(lambda x: K.maximum(x, 0.1))
case("minimum_scalar_left", [(4, 5)], "minimum(0.2, x)")(lambda x: K.minimum(0.2, x))
case("clip", [(4, 5)], "clip(x, -0.5, 0.7)")(lambda x: K.clip(x, -0.5, 0.7))
case("clip_int_bounds", [(4, 5)], "clip(x, -1, 1)", "wide")(lambda x: K.clip(x, -1, 1))

# ---- comparisons (0/1 masks) and where ----
case("equal_scalar", [(4, 5)], "equal(x, 2) on small integers (cast to float)", "ints")(
    lambda x: K.cast(K.equal(x, 2), "float32"))
case("not_equal_scalar", [(6,)], "not_equal(x, 0) on small integers", "ints")(
    lambda x: K.cast(K.not_equal(x, 0), "float32"))
case("greater_tensors", [(4, 5), (4, 5)], "x > y")(lambda x, y: K.cast(x > y, "float32"))
case("less_scalar", [(4, 5)], "x < 0.3")(lambda x: K.cast(K.less(x, 0.3), "float32"))
case("greater_equal_less_equal", [(4, 5)], "(x >= 0) and (x <= 0.5), as floats")(
    lambda x: K.cast(K.logical_and(K.greater_equal(x, 0.0), K.less_equal(x, 0.5)), "float32"))
case("where_tensors", [(4, 5), (4, 5)], "where(x > 0, x, y)")(lambda x, y: K.where(x > 0, x, y))
case("where_constant", [(4, 5)], "where(x > 0, x, 0.1) (a constant branch)")(lambda x: K.where(x > 0, x, 0.1))
case("where_broadcast_cond", [(4, 1), (4, 5)], "where(c > 0 (4, 1), 1.0, y (4, 5))")(
    lambda c, y: K.where(c > 0, 1.0, y))
case("mask_multiply", [(4, 5)], "x * cast(x > 0, float32) (a mask used as numbers)")(
    lambda x: x * K.cast(x > 0, "float32"))

# ---- activations as operations ----
for _name, _fn in [("relu", K.relu), ("sigmoid", K.sigmoid), ("tanh", K.tanh), ("silu", K.silu),
                   ("gelu", K.gelu), ("selu", K.selu), ("elu", K.elu), ("softplus", K.softplus),
                   ("relu6", K.relu6), ("hard_sigmoid", K.hard_sigmoid), ("softsign", K.softsign),
                   ("log_sigmoid", K.log_sigmoid), ("hard_silu", K.hard_silu)]:
    case(f"act_{_name}", [(4, 5)], f"ops.{_name}(x), x ~ normal(0, 3)", "wide")(_fn)
case("act_gelu_exact", [(4, 5)], "ops.gelu(x, approximate=False)", "wide")(lambda x: K.gelu(x, approximate=False))
case("act_leaky_relu", [(4, 5)], "ops.leaky_relu(x, negative_slope=0.1)", "wide")(
    lambda x: K.leaky_relu(x, negative_slope=0.1))
case("softmax_last", [(4, 5)], "ops.softmax(x) (axis -1)")(lambda x: K.softmax(x))
case("softmax_axis1", [(4, 5)], "ops.softmax(x, axis=1) (not the last axis)")(lambda x: K.softmax(x, axis=1))
case("log_softmax_axis_neg2", [(3, 4, 5)], "ops.log_softmax(x, axis=-2)")(lambda x: K.log_softmax(x, axis=-2))

# ---- reductions ----
case("mean_last_keepdims", [(4, 5)], "mean(x, axis=-1, keepdims=True)")(lambda x: K.mean(x, axis=-1, keepdims=True))
case("mean_axes", [(3, 4, 5)], "mean(x, axis=[1, -1])")(lambda x: K.mean(x, axis=[1, -1]))
case("sum_axis1", [(3, 4, 5)], "sum(x, axis=1)")(lambda x: K.sum(x, axis=1))
case("sum_axes_keepdims", [(3, 4, 5)], "sum(x, axis=(1, 2), keepdims=True)")(
    lambda x: K.sum(x, axis=(1, 2), keepdims=True))
case("max_axis1", [(4, 5)], "max(x, axis=1)")(lambda x: K.max(x, axis=1))
case("min_neg2_keepdims", [(3, 4, 5)], "min(x, axis=-2, keepdims=True)")(
    lambda x: K.min(x, axis=-2, keepdims=True))

# ---- shapes ----
case("reshape", [(4, 6)], "reshape(x, (-1, 3, 8))")(lambda x: K.reshape(x, (-1, 3, 8)))
case("reshape_batch_none", [(4, 6)], "x.reshape via ops.reshape(x, (-1, 2, 2, 6)) then * 1.5")(
    lambda x: K.reshape(x, (-1, 2, 2, 6)) * 1.5)
case("transpose_021", [(4, 5)], "transpose(x, (0, 2, 1))")(lambda x: K.transpose(x, (0, 2, 1)))
case("transpose_0312", [(2, 3, 4)], "transpose(x, (0, 3, 1, 2))")(lambda x: K.transpose(x, (0, 3, 1, 2)))
case("expand_dims_last", [(4, 5)], "expand_dims(x, -1)")(lambda x: K.expand_dims(x, -1))
case("expand_dims_1", [(4, 5)], "expand_dims(x, 1) * 2")(lambda x: K.expand_dims(x, 1) * 2.0)
case("squeeze_axis", [(4, 1, 5)], "squeeze(x, axis=2) + 0 (a copy)")(lambda x: K.squeeze(x, axis=2) + 0.0)
case("concatenate_axis1", [(2, 5), (3, 5)], "concatenate([x, y], axis=1)")(
    lambda x, y: K.concatenate([x, y], axis=1))
case("concatenate_last", [(4, 2), (4, 3), (4, 1)], "concatenate([x, y, z], axis=-1)")(
    lambda x, y, z: K.concatenate([x, y, z], axis=-1))
case("stack_axis1", [(4, 5), (4, 5)], "stack([x, y], axis=1)")(lambda x, y: K.stack([x, y], axis=1))
case("stack_last", [(4, 5), (4, 5), (4, 5)], "stack([x, y, z], axis=-1)")(
    lambda x, y, z: K.stack([x, y, z], axis=-1))

# ---- slicing (GetItem) ----
case("slice_prefix", [(4, 5)], "x[:, :2]")(lambda x: x[:, :2])
case("index_last", [(4, 5)], "x[:, -1]")(lambda x: x[:, -1])
case("slice_step", [(7, 5)], "x[:, 1:-1:2, 3:]")(lambda x: x[:, 1:-1:2, 3:])
case("slice_reverse", [(4, 5)], "x[:, ::-1]")(lambda x: x[:, ::-1])
case("slice_reverse_bounded", [(6, 5)], "x[:, 4:0:-2, -2]")(lambda x: x[:, 4:0:-2, -2])
case("ellipsis_index", [(3, 4, 5)], "x[..., 0]")(lambda x: x[..., 0])
case("newaxis", [(4, 5)], "x[:, None, 2]")(lambda x: x[:, None, 2])
case("slice_clamped", [(4, 5)], "x[:, -10:10, 1:100]")(lambda x: x[:, -10:10, 1:100])

# ---- matmul ----
case("matmul_tensors", [(4, 5), (5, 3)], "matmul(x (4, 5), y (5, 3))")(lambda x, y: K.matmul(x, y))
case("matmul_broadcast", [(1, 4, 5), (2, 5, 3)], "matmul((1, 4, 5), (2, 5, 3)) -> (2, 4, 3)")(
    lambda x, y: K.matmul(x, y))
case("matmul_constant_matrix", [(4, 5)], "x @ a (5, 2) constant")(
    lambda x: K.matmul(x, np.arange(10, dtype=np.float32).reshape(5, 2) / 7.0 - 0.6))
case("matmul_constant_vector", [(4, 5)], "x @ a (5,) constant")(
    lambda x: K.matmul(x, np.array([0.5, -1.0, 0.25, 2.0, -0.75], np.float32)))
case("matmul_attention", [(4, 6), (5, 6)], "softmax(q @ k^T / sqrt(6)) @ k, by hand")(
    lambda q, k: K.matmul(K.softmax(K.matmul(q, K.transpose(k, (0, 2, 1))) / 6 ** 0.5), k))

# ---- casts ----
case("cast_int32", [(4, 5)], "cast(x * 3, int32) then float32 (truncation toward zero)", "wide")(
    lambda x: K.cast(K.cast(x * 3.0, "int32"), "float32"))
case("cast_bool", [(4, 5)], "cast(round-ish x, bool) then float32", "ints")(
    lambda x: K.cast(K.cast(x, "bool"), "float32"))


# ---- masks: Keras 3 writes them as operation nodes passed as mask= (48_masking.h) ----
L = keras.layers
case("mask_zero_bilstm_gap", [(7,)], "Embedding(mask_zero) -> Bidirectional(LSTM, sequences) -> "
     "GlobalAveragePooling1D -> Dense (NotEqual mask; rows padded right, left, with a hole)", "padded")(
    lambda x: L.Dense(2, name="out")(L.GlobalAveragePooling1D(name="gap")(
        L.Bidirectional(L.LSTM(4, return_sequences=True), name="bi")(L.Embedding(9, 3, mask_zero=True, name="emb")(x)))))
case("mask_zero_gru_backwards", [(7,)], "Embedding(mask_zero) -> GRU(go_backwards, return_sequences)", "padded")(
    lambda x: L.GRU(3, go_backwards=True, return_sequences=True, name="g")(L.Embedding(9, 3, mask_zero=True, name="emb")(x)))
case("masking_lstm", [(7, 3)], "Masking(0) -> LSTM (Any(NotEqual) mask); rows zeroed at some steps", "masked")(
    lambda x: L.LSTM(4, name="l")(L.Masking(name="msk")(x)))


def _data(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    full = (BATCH, *shape)
    if kind in ("padded", "masked"):
        x = rng.integers(1, 9, full).astype(np.float32) if kind == "padded" else rng.standard_normal(full).astype(
            np.float32)
        x[0, 4:] = 0
        x[1, :2] = 0
        x[2, 3] = 0
        return x
    if kind == "positive":
        return rng.uniform(0.2, 2.0, full).astype(np.float32)
    if kind == "ints":
        return rng.integers(0, 4, full).astype(np.float32)
    if kind == "wide":
        return (rng.standard_normal(full) * 3).astype(np.float32)
    return rng.standard_normal(full).astype(np.float32)


def build(c: Case) -> keras.Model:
    keras.backend.clear_session()
    ins = [keras.Input(s, name=f"in{i}") for i, s in enumerate(c.shapes)]
    out = c.fn(*ins)
    return keras.Model(ins, out if isinstance(out, (list, tuple)) else [out], name="model")


def generate(c: Case) -> dict[str, Any]:
    seed = zlib.crc32(c.name.encode())
    rng = np.random.default_rng(seed)
    model = build(c)
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in model.get_weights()])
    xs = [_data(c.data, s, rng) for s in c.shapes]
    ys = model.predict(xs, verbose=0)
    ys = ys if isinstance(ys, list) else [ys]
    ys = [np.asarray(y, dtype=np.float32) for y in ys]
    model.save(HERE / f"{c.name}.keras")
    entry: dict[str, Any] = {"model": f"{c.name}.keras", "inputs": [], "outputs": []}
    for i, x in enumerate(xs):
        np.save(HERE / f"{c.name}.in{i}.npy", x)
        entry["inputs"].append({"file": f"{c.name}.in{i}.npy", "shape": list(x.shape), "dtype": "float32"})
    for j, y in enumerate(ys):
        np.save(HERE / f"{c.name}.out{j}.npy", y)
        entry["outputs"].append({"file": f"{c.name}.out{j}.npy", "shape": list(y.shape), "dtype": "float32"})
    config = json.loads(model.to_json())["config"]
    entry["operations"] = sorted({f"{e['module']}.{e['class_name']}" for e in config["layers"]
                                  if e.get("module", "").startswith("keras.src.ops")})
    entry.update(tolerance=TOLERANCE, max_abs_output=float(max(np.abs(y).max() for y in ys)), seed=seed,
                 data=c.data, note=c.note)
    return entry


def render_manifest(index: dict[str, Any]) -> str:
    lines = [
        "# kwbin Keras 3 operation-node fixtures (issue #15)",
        "",
        f"Proof data for running Keras 3 operation nodes in `c_reader/kwbin_nn.h` (47_ops.h): "
        f"{len(index['cases'])} cases, each a tiny functional model (no weights) whose graph calls tensor",
        "operations, with its inputs and Keras's own outputs. Written by "
        f"**keras {index['keras_version']}, backend {index['backend']} (jax {index['jax_version']}, "
        f"numpy {index['numpy_version']}, CPU)** with",
        "",
        "    nice -n 10 .venv/bin/python tests/data/ops/make_fixtures.py            # all cases",
        "    nice -n 10 .venv/bin/python tests/data/ops/make_fixtures.py --only NAME # one case, same numbers",
        "",
        "which also renders this file and `cases.json`. `tests/test_c_ops.py` packs every case with kwbin,",
        "runs it with `build/kwbin-run` and compares with the outputs below (|C - Keras| <= 1e-5, relative",
        "above 1).",
        "",
        "## Files of a case `<case>`",
        "",
        "- `<case>.keras`: `model.save()` of the model (inputs `in0`, `in1`, ...); the mask cases' weights",
        "  are seeded normal(0, 0.5) (set_weights), the others have none.",
        "- `<case>.in<i>.npy`: input `i`, batch of 3, float32, seeded (seed = CRC-32 of the case name) from",
        "  `data`: `normal` normal(0, 1), `wide` normal(0, 3), `positive` uniform(0.2, 2), `ints` integers 0..3,",
        "  `padded` ids 1..8 with zeros (row 0 from step 4, row 1 before step 2, row 2 at step 3), `masked`",
        "  normal(0, 1) with the same steps zeroed.",
        "- `<case>.out<i>.npy`: `model.predict(inputs, verbose=0)` as float32.",
        "- `cases.json`: per case the files and shapes, the operation classes the graph holds",
        "  (`module.Class`), tolerance, max |output|, seed, data and a note.",
        "",
        "## Cases",
        "",
        "| case | what | operations |",
        "|---|---|---|",
    ]
    for name, c in index["cases"].items():
        ops = ", ".join(o.rsplit(".", 1)[1] for o in c["operations"])
        lines.append(f"| `{name}` | {c['note'].replace('|', '/')} | {ops} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(CASES))
        return 0
    names = args.only or list(CASES)
    index_path = HERE / "cases.json"
    index: dict[str, Any] = json.loads(index_path.read_text()) if args.only and index_path.exists() else {}
    cases = index.get("cases", {})
    for name in names:
        cases[name] = generate(CASES[name])
        print(f"{name}: {', '.join(cases[name]['operations'])}", flush=True)
    if not args.only:
        keep = {f for c in cases.values() for f in [c["model"]] + [e["file"] for e in c["inputs"] + c["outputs"]]}
        for p in HERE.iterdir():
            if p.suffix in (".keras", ".npy") and p.name not in keep:
                p.unlink()
    versions = {f"{m.__name__}_version": m.__version__ for m in (keras, __import__("jax"), np)}
    index = {"generator": "tests/data/ops/make_fixtures.py", "backend": keras.backend.backend(), **versions,
             "batch": BATCH, "cases": {name: cases[name] for name in CASES if name in cases}}
    index_path.write_text(json.dumps(index, indent=1) + "\n")
    (HERE / "MANIFEST.md").write_text(render_manifest(index))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
