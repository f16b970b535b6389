#!/usr/bin/env python3
"""Generate the tf.keras op-node fixtures (TFOpLambda, SlicingOpLambda; issue #15) in tests/data/tfops/.

Runs only in .venv-tf (`make check-tfkeras` creates it; requirements/tf.txt), never in `make test`:

    nice -n 10 .venv-tf/bin/python tests/data/tfops/make_fixtures.py             # every case
    nice -n 10 .venv-tf/bin/python tests/data/tfops/make_fixtures.py --only NAME  # one case, same numbers
    .venv-tf/bin/python tests/data/tfops/make_fixtures.py --list

Every case's numbers depend only on its name (seed = CRC-32 of the name, a fresh
session per case).  MANIFEST.md and cases.json are rewritten by every run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tfkeras_fixtures import Case, main, tf, tf_keras  # noqa: E402

K = tf_keras
L = tf_keras.layers


def _one(shapes: list[tuple[int, ...]], fn: Any) -> Any:
    """A model of inputs x (and y, z) -> fn(*inputs) (one output or a list)."""
    def build() -> Any:
        names = "xyz"
        inputs = [K.Input(s, name=names[i]) for i, s in enumerate(shapes)]
        out = fn(*inputs)
        return K.Model(inputs, out, name="m")
    return build


def _dense_then(shape: tuple[int, ...], units: int, fn: Any) -> Any:
    """x -> Dense -> fn(d): the op reads a layer's output, not an input."""
    def build() -> Any:
        x = K.Input(shape, name="x")
        d = L.Dense(units, name="d")(x)
        return K.Model(x, fn(d), name="m")
    return build


def _classifier() -> Any:
    """A small classifier written with tf.* calls: per-feature standardisation over time,
    Dense, the last step and the max over time, a Dense head and softmax."""
    x = K.Input((10, 6), name="x")
    mean = tf.reduce_mean(x, axis=1, keepdims=True)
    std = tf.math.reduce_std(x, axis=1, keepdims=True)
    z = (x - mean) / (std + 1e-3)
    h = L.Dense(8, name="d1")(z)
    h = tf.nn.relu(h)
    last = h[:, -1]
    pooled = tf.reduce_max(h, axis=1)
    both = tf.concat([last, pooled * 0.5], axis=-1)
    logits = L.Dense(3, name="head")(both)
    return K.Model(x, tf.nn.softmax(logits), name="classifier")


def _attention_like() -> Any:
    """Scaled dot-product scores with tf.matmul, transpose, softmax and a residual: ops only."""
    x = K.Input((5, 4), name="x")
    q = L.Dense(4, name="q")(x)
    k = L.Dense(4, name="k")(x)
    scores = tf.matmul(q, tf.transpose(k, perm=[0, 2, 1])) / 2.0
    weights = tf.nn.softmax(scores, axis=-1)
    mixed = tf.matmul(weights, x)
    return K.Model(x, tf.reshape(mixed + x, [-1, 20]), name="attention_like")


CASES = [
    # elementwise with constants, on either side (Python operators and tf.math)
    Case("mul_const_right", _dense_then((6,), 6, lambda d: d * 0.5), "Dense -> d * 0.5 (math.multiply, y=0.5 in kwargs)"),
    Case("mul_const_left", _dense_then((6,), 6, lambda d: 0.5 * d),
         "Dense -> 0.5 * d: the constant first (_CONSTANT_VALUE node, the tensor in kwargs y)"),
    Case("tf_math_multiply", _one([(4, 5), (4, 5)], lambda x, y: tf.math.multiply(x, y)), "tf.math.multiply(x, y)"),
    Case("add_broadcast", _one([(4, 5), (1, 5)], lambda x, y: x + y), "x + y, y of shape (1, 5) broadcast over 4 rows"),
    Case("broadcast_both_ways", _one([(4, 1), (1, 5)], lambda x, y: [x * y, x - y, tf.math.divide(y, x + 3.0)]),
         "x (4, 1) and y (1, 5) broadcast both ways to (4, 5): x * y, x - y, tf.math.divide(y, x + 3)"),
    Case("add_const_vector", _one([(4, 5)], lambda x: x + tf.constant([1.0, 2.0, 3.0, 4.0, 5.0])),
         "x + a constant vector (a list in kwargs y) broadcast over the last axis"),
    Case("sub_const_both_sides", _one([(4, 5)], lambda x: [x - 1.0, 1.0 - x]), "x - 1 and 1 - x (two outputs)"),
    Case("div_neg_pow", _one([(4, 5)], lambda x: [x / 2.0, -x, x ** 2]),
         "x / 2 (math.truediv), -x (math.negative), x ** 2 (math.pow)"),
    Case("min_max_clip", _one([(4, 5), (4, 5)], lambda x, y: [tf.math.minimum(x, y), tf.math.maximum(x, 0.5),
                                                              tf.clip_by_value(x, -1.0, 1.0)]),
         "tf.math.minimum(x, y), tf.math.maximum(x, 0.5), tf.clip_by_value(x, -1, 1)"),
    Case("unary_math", _one([(4, 5)], lambda x: [tf.math.abs(x), tf.math.square(x), tf.math.sqrt(tf.math.abs(x)),
                                                 tf.math.log(tf.math.abs(x) + 1.0)]),
         "abs, square, sqrt(abs(x)), log(abs(x) + 1)"),
    Case("relu", _one([(4, 5)], lambda x: tf.nn.relu(x)), "tf.nn.relu"),
    Case("exp", _one([(4, 5)], lambda x: tf.math.exp(x)), "tf.math.exp"),
    Case("activations", _one([(4, 5)], lambda x: [tf.math.sigmoid(x), tf.math.tanh(x), tf.nn.softmax(x),
                                                  tf.nn.gelu(x), tf.nn.silu(x)]),
         "tf.math.sigmoid, tf.math.tanh, tf.nn.softmax (last axis), tf.nn.gelu, tf.nn.silu"),
    # reductions
    Case("reduce_mean_keepdims", _one([(4, 5)], lambda x: tf.reduce_mean(x, axis=-1, keepdims=True)),
         "tf.reduce_mean(axis=-1, keepdims=True)"),
    Case("reduce_sum_max", _one([(3, 4, 5)], lambda x: [tf.reduce_sum(x, axis=1), tf.reduce_max(x, axis=[1, 2]),
                                                        tf.reduce_min(x, axis=-2, keepdims=True)]),
         "tf.reduce_sum(axis=1), tf.reduce_max(axis=[1, 2]), tf.reduce_min(axis=-2, keepdims=True)"),
    # shapes
    Case("reshape", _one([(4, 5)], lambda x: tf.reshape(x, [-1, 2, 10])), "tf.reshape(x, [-1, 2, 10])"),
    Case("transpose", _one([(3, 4, 5)], lambda x: tf.transpose(x, perm=[0, 3, 1, 2])), "tf.transpose(perm=[0, 3, 1, 2])"),
    Case("expand_dims", _one([(4, 5)], lambda x: [tf.expand_dims(x, axis=-1), tf.expand_dims(x, 1)]),
         "tf.expand_dims(axis=-1) and (axis=1)"),
    Case("squeeze", _one([(1, 5), (4, 1)], lambda x, y: [tf.squeeze(x, axis=1), tf.squeeze(y, axis=-1)]),
         "tf.squeeze(axis=1) and (axis=-1)"),
    Case("concat", _one([(4, 5), (2, 5)], lambda x, y: tf.concat([x, y], axis=1)), "tf.concat([x, y], axis=1)"),
    Case("concat_neg_axis", _one([(4, 5), (4, 2)], lambda x, y: tf.concat([x, y, x], axis=-1)),
         "tf.concat([x, y, x], axis=-1)"),
    Case("stack", _one([(4, 5), (4, 5)], lambda x, y: [tf.stack([x, y], axis=1), tf.stack([x, y], axis=-1)]),
         "tf.stack axis=1 and axis=-1"),
    Case("matmul", _one([(3, 4), (4, 5)], lambda x, y: tf.matmul(x, y)), "tf.matmul of batched (3, 4) @ (4, 5)"),
    Case("matmul_transpose_b", _one([(3, 4), (5, 4)], lambda x, y: tf.matmul(x, y, transpose_b=True)),
         "tf.matmul(x, y, transpose_b=True)"),
    # comparisons, where, cast
    Case("where", _one([(4, 5), (4, 5)], lambda x, y: tf.where(x > 0.0, x, y)),
         "tf.where(x > 0, x, y): math.greater then where"),
    Case("greater_equal_cast", _one([(4, 5), (4, 5)], lambda x, y: [tf.cast(tf.math.greater(x, y), tf.float32),
                                                                   tf.cast(tf.math.equal(x, y), tf.float32),
                                                                   tf.cast(tf.math.not_equal(x, 0.0), "float32"),
                                                                   tf.cast(tf.math.less(x, 1.0), tf.float32)]),
         "greater, equal, not_equal, less, each cast to float32; inputs are integers in [-2, 2] so equality occurs",
         integer_inputs=True),
    Case("cast_float", _one([(4, 5)], lambda x: tf.cast(x, tf.float32) * 2.0), "tf.cast(x, tf.float32) (no-op cast) * 2"),
    # slicing (SlicingOpLambda)
    Case("slice_head", _one([(6,)], lambda x: x[:, :3]), "x[:, :3]"),
    Case("slice_last", _one([(4, 5)], lambda x: x[:, -1]), "x[:, -1]: the last step, axis dropped"),
    Case("slice_step", _one([(7,)], lambda x: x[:, ::2]), "x[:, ::2]"),
    Case("slice_mixed", _one([(6, 5)], lambda x: [x[:, 1:-1, ::2], x[..., 0], x[:, ::-1]]),
         "x[:, 1:-1, ::2], x[..., 0] (ellipsis), x[:, ::-1] (negative step)"),
    # whole models
    Case("tf_classifier", _classifier, "a classifier written with tf.* calls: tf.reduce_mean / tf.math.reduce_std "
         "standardisation, Dense, tf.nn.relu, h[:, -1], tf.reduce_max, tf.concat, Dense, tf.nn.softmax"),
    Case("tf_attention_like", _attention_like, "q/k Dense, tf.matmul(q, tf.transpose(k)) / 2, tf.nn.softmax, "
         "tf.matmul with x, residual +, tf.reshape"),
]


MANIFEST = """\
# tf.keras op-node fixtures (TFOpLambda, SlicingOpLambda; issue #15)

{count} cases: one tiny tf.keras model per family of tensor operations called on symbolic tensors
(which tf.keras records as `TFOpLambda` / `SlicingOpLambda` layers), plus whole models made with `tf.*`
calls. Made by **tensorflow-cpu {tf} / tf-keras {tfk}** (numpy {np}, h5py {h5py}, Python {py}, CPU),
in `.venv-tf` (requirements/tf.txt; `make check-tfkeras` creates it), with

    nice -n 10 .venv-tf/bin/python tests/data/tfops/make_fixtures.py            # all cases
    nice -n 10 .venv-tf/bin/python tests/data/tfops/make_fixtures.py --only NAME # one case, same numbers

which also writes `cases.json` and this file. TensorFlow is never needed by `make test`:
`tests/test_keras_tfops.py` checks that every file packs with `kwbin pack` and that the packed file keeps every
op node (class, `function`, inbound nodes with their constants and keyword arguments) as `cases.json` records it.

## Files of a case `<case>`

- `<case>.h5`: `model.save(path, save_format="h5")`, a tf.keras full-model HDF5 file (model config in
  the `model_config` attribute, weights under `model_weights`). Weights (of the Dense layers some cases
  have) set from `numpy.random.default_rng(seed)`, seed = CRC-32 of the case name: kernels
  normal(0, 1/sqrt(fan_in)), biases normal(0, 0.3).
- `<case>.in<i>.npy`: input `i` in `model.inputs` order; batch of {batch}, float32, normal(0, 1) from the same
  generator (integers in [-2, 2] where the note says, so that `equal` meets equal values).
- `<case>.out<i>.npy`: `model.predict(inputs, verbose=0)`, output `i` in `model.outputs` order, float32.
- `cases.json`: per case the file names, shapes and dtypes; `layers` (the classes in the model config);
  `ops`: every TFOpLambda / SlicingOpLambda entry of the model config (`name`, `class_name`, `function`,
  `inbound_nodes` verbatim: constants and keyword arguments); `tolerance` (largest |C - Keras| to accept:
  1e-5, relative above 1: 1e-5 * max(1, max_abs_output)); `max_abs_output`; `seed`; `note`; `verify`
  (max |predict of the .h5 reloaded in a fresh session - out.npy|).

## How tf.keras 2.21 records an op call (facts the C side needs)

- `inbound_nodes` is a list of nodes; a node of a one-tensor call is
  `[layer, node_index, tensor_index, kwargs]`: the first argument is that tensor, the other arguments are in
  `kwargs` (`{{"y": 0.5, "name": null}}` for `d * 0.5`; a tensor argument is `[layer, node, tensor]`, as
  `{{"y": ["y", 0, 0]}}`; a constant tensor is a nested list, `{{"y": [1.0, 2.0, ...]}}`).
- A constant as the first argument (`0.5 * d`, `1.0 - x`): `["_CONSTANT_VALUE", -1, 0.5, {{"y": ["d", 0, 0]}}]`.
- A list argument (`tf.concat([x, y], axis=1)`, `tf.stack`): the node is a list of
  `[layer, node, tensor, kwargs]`, one per tensor, each with the same kwargs.
- Python operators map to functions: `+` `__operators__.add`, `-` `math.subtract`, `*` `math.multiply`,
  `/` `math.truediv`, unary `-` `math.negative`, `**` `math.pow`, `>` `math.greater`; `tf.transpose` is
  `compat.v1.transpose` (kwargs `perm`, `conjugate`), `tf.squeeze` is `compat.v1.squeeze`, `tf.matmul`
  `linalg.matmul` (`b`, `transpose_b`), `tf.cast` `cast` (`dtype: "float32"`).
- Slicing (`SlicingOpLambda`, function `__operators__.getitem`): kwargs `slice_spec`, one item per axis
  from axis 0 (the batch axis): `{{"start", "stop", "step"}}` (null when left out), an integer (the axis is
  dropped; negative counts from the end), or `{{"class_name": "__ellipsis__"}}`.

## Cases

| case | inputs -> outputs | op functions | note | max abs output |
|---|---|---|---|---|
{rows}
"""


def _shapes(entries: list[dict[str, Any]]) -> str:
    return ", ".join("x".join(map(str, e["shape"])) for e in entries)


def render(index: dict[str, Any]) -> str:
    rows = []
    for name, c in index["cases"].items():
        functions = ", ".join(sorted({op["function"] for op in c["ops"]}))
        rows.append(f"| `{name}` | {_shapes(c['inputs'])} -> {_shapes(c['outputs'])} | {functions} | "
                    f"{c['note']} | {c['max_abs_output']:.3g} |")
    return MANIFEST.format(count=len(index["cases"]), tf=index["tensorflow_version"], tfk=index["tf_keras_version"],
                           np=index["numpy_version"], h5py=index["h5py_version"], py=index["python_version"],
                           batch=index["batch"], rows="\n".join(rows))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], CASES, HERE, "tests/data/tfops/make_fixtures.py", render))
