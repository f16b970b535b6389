"""Keras 3 operation nodes in the C inference (c_reader/nn/47_ops.h, kwbin-run).

- every committed fixture of tests/data/ops (make_fixtures.py: arithmetic with
  tensors and constants on either side and broadcasting, comparisons, where,
  activations as ops, reductions, shapes, slicing, matmul, casts, masks), packed
  by kwbin and run by kwbin-run, equals Keras's outputs to 1e-5 (relative above 1);
- every tf.keras fixture of tests/data/tfops (TFOpLambda, SlicingOpLambda, made
  by TensorFlow in .venv-tf) equals TensorFlow's outputs likewise;
- whole models built live: a Dense model that scales and slices with Python
  operators, a hand-written attention, several batch sizes;
- operations outside the supported set, or touching the batch axis, refused
  at load with one line naming the operation, its class and the argument.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kwbin.keras import pack

from test_c_inference import TOLERANCE, _difference, _error, kwbin_run, kwbin_run_asan  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
OPS = ROOT / "tests" / "data" / "ops"
CASES = json.loads((OPS / "cases.json").read_text())["cases"]


def _run(exe: Path, model: Path, inputs: list[np.ndarray], n_out: int, tmp: Path) -> subprocess.CompletedProcess:
    args = []
    for i, x in enumerate(inputs):
        args.append(str(tmp / f"in{i}.npy"))
        np.save(args[-1], np.ascontiguousarray(x, dtype=np.float32))
    for j in range(n_out):
        args += ["-o", str(tmp / f"out{j}.npy")]
    return subprocess.run([str(exe), str(model), *args], capture_output=True, text=True, timeout=600)


def _infer(exe: Path, model: Path, inputs: list[np.ndarray], n_out: int, tmp: Path) -> list[np.ndarray]:
    result = _run(exe, model, inputs, n_out, tmp)
    assert result.returncode == 0, result.stderr
    return [np.load(tmp / f"out{j}.npy") for j in range(n_out)]


def _fixture_equals(exe: Path, folder: Path, case: dict, tmp_path: Path) -> None:
    """Pack a committed fixture, run it, compare every output with the framework's."""
    pack(folder / case["model"], tmp_path / "m.kwb")
    inputs = [np.load(folder / i["file"]) for i in case["inputs"]]
    got = _infer(exe, tmp_path / "m.kwb", inputs, len(case["outputs"]), tmp_path)
    for g, o in zip(got, case["outputs"]):
        assert _difference(g, np.load(folder / o["file"])) <= TOLERANCE, case["model"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_operations_equal_keras(name, kwbin_run, tmp_path):  # noqa: F811
    assert CASES[name]["operations"], "a case without an operation node proves nothing here"
    _fixture_equals(kwbin_run, OPS, CASES[name], tmp_path)


def test_fixture_operations_run_clean_under_asan_and_ubsan(kwbin_run_asan, tmp_path):  # noqa: F811
    for name in ["slice_reverse_bounded", "newaxis", "matmul_broadcast", "matmul_constant_vector",
                 "mul_array_rank3_batch1", "where_broadcast_cond", "sum_axes_keepdims", "softmax_axis1",
                 "transpose_0312", "stack_last", "mask_zero_bilstm_gap", "masking_lstm"]:
        _fixture_equals(kwbin_run_asan, OPS, CASES[name], tmp_path)


# ---------------------------------------------------------------------------
# Whole models, live Keras 3
# ---------------------------------------------------------------------------


def _keras():
    return pytest.importorskip("keras")


def _seeded(model, seed: int):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in model.get_weights()])
    return model


def _equal_keras(exe, model, inputs, tmp_path, suffix=".keras"):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras calls .h5 legacy
        model.save(tmp_path / f"m{suffix}")
    pack(tmp_path / f"m{suffix}", tmp_path / "m.kwb")
    want = model.predict(inputs[0] if len(inputs) == 1 else inputs, verbose=0)
    want = want if isinstance(want, list) else [want]
    got = _infer(exe, tmp_path / "m.kwb", inputs, len(want), tmp_path)
    for g, w in zip(got, want):
        assert np.asarray(w).std() > 1e-4, "a constant output proves nothing"
        assert _difference(g, np.asarray(w, np.float32)) <= TOLERANCE


def test_a_model_that_scales_and_slices_with_python_operators(kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    keras.backend.clear_session()
    L, ops = keras.layers, keras.ops
    x = keras.Input((10, 6), name="x")
    h = L.Dense(8, name="d1")(x)
    h = (h - ops.mean(h, axis=-1, keepdims=True)) * 0.5
    first, last = h[:, 0], h[:, -1]               # (8,) each
    mid = h[:, 2:-2:2, ::-1] ** 2                  # (3, 8)
    g = ops.concatenate([first * 2.0 + 1.0, -last, ops.max(mid, axis=1)], axis=-1)   # (24,)
    g = ops.where(g > 0.0, g, 0.1 * g)
    y = L.Dense(3, name="d2")(ops.expand_dims(g, 1))[:, 0] / 4.0
    model = _seeded(keras.Model(x, y), 11)
    inputs = [np.random.default_rng(5).standard_normal((4, 10, 6)).astype(np.float32)]
    _equal_keras(kwbin_run, model, inputs, tmp_path)


def test_operations_in_a_keras3_h5_file(kwbin_run, tmp_path):  # noqa: F811
    """Keras 3's .h5 records no module: `h * 0.5` is an entry of class Multiply, like the merge
    layer (which it must not be taken for), its config without the "trainable" of every layer."""
    keras = _keras()
    keras.backend.clear_session()
    L, ops = keras.layers, keras.ops
    x = keras.Input((5,), name="x")
    h = L.Dense(5, name="d1")(x)
    m = L.Multiply(name="mul")([h, x])  # the merge layer, in the same file
    y = L.Add(name="add")([x, h * 0.5, ops.maximum(m, -1.0) - 2.0, L.Reshape((5,), name="r")(ops.expand_dims(h, 1))])
    model = _seeded(keras.Model(x, y), 12)
    inputs = [np.random.default_rng(6).standard_normal((4, 5)).astype(np.float32)]
    _equal_keras(kwbin_run, model, inputs, tmp_path, suffix=".h5")


def test_attention_written_with_ops_and_several_batch_sizes(kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    keras.backend.clear_session()
    L, ops = keras.layers, keras.ops
    x = keras.Input((5, 4), name="x")
    q, k, v = L.Dense(4, name="q")(x), L.Dense(4, name="k")(x), L.Dense(4, name="v")(x)
    scores = ops.matmul(q, ops.transpose(k, (0, 2, 1))) / 2.0
    att = ops.matmul(ops.softmax(scores, axis=-1), v)
    out = L.Dense(2, name="o")(ops.sum(att + x, axis=1))
    model = _seeded(keras.Model(x, out), 3)
    for batch in (1, 5):
        xs = [np.random.default_rng(batch).standard_normal((batch, 5, 4)).astype(np.float32)]
        _equal_keras(kwbin_run, model, xs, tmp_path)


# ---------------------------------------------------------------------------
# Refusals: one line naming the operation, its class and what is not supported
# ---------------------------------------------------------------------------


def _refusal(exe, build, shapes, tmp_path) -> str:
    keras = _keras()
    keras.backend.clear_session()
    ins = [keras.Input(s, name=f"in{i}") for i, s in enumerate(shapes)]
    model = keras.Model(ins, build(*ins))
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    inputs = [np.zeros((1, *s), np.float32) for s in shapes]
    line = _error(_run(exe, tmp_path / "m.kwb", inputs, 1, tmp_path))
    assert not (tmp_path / "out0.npy").exists()
    return line


@pytest.mark.parametrize("build, shapes, words", [
    (lambda x: __import__("keras").ops.mean(x), [(4,)], ["'mean' (Mean)", "axis None"]),
    (lambda x: __import__("keras").ops.sum(x, axis=0), [(4,)], ["'sum' (Sum)", "axis 0"]),
    (lambda x: x[0], [(4,)], ["'get_item' (GetItem)", "batch axis"]),
    (lambda x: __import__("keras").ops.transpose(x, (1, 0, 2)), [(4, 5)], ["'transpose' (Transpose)", "axes"]),
    (lambda x: __import__("keras").ops.reshape(x, (2, 2)), [(4,)], ["'reshape' (Reshape)", "batch"]),
    (lambda x: __import__("keras").ops.cumsum(x, axis=1), [(4,)], ["'cumsum' (Cumsum)", "unsupported operation"]),
    (lambda x: __import__("keras").ops.cast(x, "float16"), [(4,)], ["'cast' (Cast)", "float16"]),
    (lambda x, y: x + y, [(4, 5), (5,)], ["'add' (Add)", "differ in rank"]),
    (lambda x: __import__("keras").ops.expand_dims(x, 0), [(4,)], ["'expand_dims' (ExpandDims)", "axis 0"]),
])
def test_unsupported_operations_are_refused_at_load_naming_them(build, shapes, words, kwbin_run, tmp_path):  # noqa: F811
    line = _refusal(kwbin_run, build, shapes, tmp_path)
    for w in words:
        assert w in line, line


def test_operations_on_a_none_time_axis_at_several_lengths(kwbin_run, kwbin_run_asan, tmp_path):  # noqa: F811
    """Shapes given at run time (kwnn_run_shapes): each operation's steps are worked out again."""
    keras = _keras()
    keras.backend.clear_session()
    L, ops = keras.layers, keras.ops
    x = keras.Input((None, 4), name="x")
    h = L.Dense(5, name="d")(x)
    h = h * 0.5 + ops.mean(h, axis=-1, keepdims=True) - np.array([0.1, 0.2, 0.3, 0.4, 0.5], np.float32)
    h = ops.where(h > 0.0, h, ops.exp(h) - 1.0)
    y = ops.concatenate([h[:, -1], h[:, 0] * 2.0, ops.max(h[:, ::-1], axis=1)], axis=-1)
    model = _seeded(keras.Model(x, y), 9)
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    for steps in (1, 3, 7):
        xs = np.random.default_rng(steps).standard_normal((2, steps, 4)).astype(np.float32)
        want = model.predict(xs, verbose=0)
        for exe in (kwbin_run, kwbin_run_asan) if steps == 3 else (kwbin_run,):
            (got,) = _infer(exe, tmp_path / "m.kwb", [xs], 1, tmp_path)
            assert _difference(got, want) <= TOLERANCE, steps


# ---------------------------------------------------------------------------
# tf.keras: TFOpLambda / SlicingOpLambda (tests/data/tfops, made by TensorFlow in .venv-tf)
# ---------------------------------------------------------------------------

TFOPS = ROOT / "tests" / "data" / "tfops"
TF_CASES = json.loads((TFOPS / "cases.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(TF_CASES))
def test_tf_keras_operations_equal_tensorflow(name, kwbin_run, tmp_path):  # noqa: F811
    assert TF_CASES[name]["ops"], "a case without an op layer proves nothing here"
    _fixture_equals(kwbin_run, TFOPS, TF_CASES[name], tmp_path)


def test_tf_keras_operations_run_clean_under_asan(kwbin_run_asan, tmp_path):  # noqa: F811
    for name in ["mul_const_left", "matmul_transpose_b", "slice_mixed", "where", "tf_classifier"]:
        _fixture_equals(kwbin_run_asan, TFOPS, TF_CASES[name], tmp_path)


def test_an_unknown_tf_function_is_refused_naming_it(kwbin_run, tmp_path):  # noqa: F811
    """The tf_classifier file with one function renamed: refused at load, never run as something else."""
    import h5py

    case = TF_CASES["tf_classifier"]
    src = tmp_path / "m.h5"
    src.write_bytes((TFOPS / case["model"]).read_bytes())
    with h5py.File(src, "r+") as f:
        config = f.attrs["model_config"]
        text = config.decode() if isinstance(config, bytes) else config
        assert '"function": "math.reduce_std"' in text
        f.attrs["model_config"] = text.replace('"function": "math.reduce_std"', '"function": "math.reduce_logsumexp"')
    pack(src, tmp_path / "m.kwb")
    inputs = [np.load(TFOPS / i["file"]) for i in case["inputs"]]
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", inputs, 1, tmp_path))
    assert "(TFOpLambda)" in line and "unsupported function math.reduce_logsumexp" in line, line
