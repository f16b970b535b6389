"""Reference C inference (c_reader/kwbin_nn.h, build/kwbin-run) against Keras.

Builds ``kwbin-run`` from c_reader/tools/kwbin_run.c with the project's
warning flags (into a temporary directory), then:

- every real Keras fixture of tests/data/keras, of every generation, packed
  with ``kwbin pack``: kwbin-run on its input.npy equals Keras's own
  output.npy to 1e-5 (absolute, relative above 1);
- live Keras 3 models built here, one per activation and per layer kind and
  option, saved with ``kwbin.keras.save_model``, equal ``model.predict``;
- files written with ``kwbin.Writer`` for what a Keras config cannot say
  (gelu's tanh form, Keras 2 hard_sigmoid, Theano kernels, float16 weights);
- bad inputs (unsupported layers, no layers, no configs, wrong sizes and
  dtypes, malformed .npy) end with one line on stderr and a non-zero exit,
  never a crash; also under ASan/UBSan;
- the C API's own checks (sizes, scratch, batch) from a small C program;
- the headers compile warning-free as C99 with gcc and clang and as C++17.

Skipped only when no C compiler exists (the Keras tests when Keras is missing).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.keras import pack

from keras_fixtures import DATA, FIXTURES

ROOT = Path(__file__).resolve().parents[1]
C_READER = ROOT / "c_reader"
RUN_SOURCE = C_READER / "tools" / "kwbin_run.c"
HELLO_SOURCE = C_READER / "examples" / "hello_kwbin.c"
WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
CFLAGS = ["-std=c99", "-O2", *WARNINGS]
TOLERANCE = 1e-5


def _find_compiler() -> str | None:
    for candidate in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    return None


CC = _find_compiler()
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (cc, gcc or clang) on PATH")


def _compile(out: Path, source: Path, *flags: str, cc: str | None = None) -> None:
    cmd = [cc or CC, *flags, f"-I{C_READER}", "-o", str(out), str(source), "-lm"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stderr}"


@pytest.fixture(scope="session")
def kwbin_run(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("c_inference") / "kwbin-run"
    _compile(exe, RUN_SOURCE, *CFLAGS)
    return exe


@pytest.fixture(scope="session")
def kwbin_run_asan(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("c_inference_asan") / "kwbin-run-asan"
    flags = ["-std=c99", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
             "-fno-omit-frame-pointer"]
    cmd = [CC, *flags, f"-I{C_READER}", "-o", str(exe), str(RUN_SOURCE), "-lm"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"no sanitizer runtime: {result.stderr.strip().splitlines()[-1:]}")
    return exe


def _run(exe: Path, model: Path, inp: Path, out: Path, *extra: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *extra, str(model), str(inp), str(out)], capture_output=True, text=True,
                          timeout=600, env=env)


def _error(result: subprocess.CompletedProcess, code: int | None = None) -> str:
    """The one error line of a failed run (asserting it failed cleanly)."""
    assert result.returncode > 0, f"expected a clean failure, got {result.returncode}: {result.stderr}"
    if code is not None:
        assert result.returncode == code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kwbin-run: error: "), result.stderr
    assert result.stdout == ""
    return lines[0]


def _difference(got: np.ndarray, expected: np.ndarray) -> float:
    """Absolute difference, relative for |values| > 1."""
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == np.float32
    return float(np.max(np.abs(got.astype(np.float64) - expected) / np.maximum(1.0, np.abs(expected))))


def _infer(exe: Path, model: Path, x: np.ndarray, tmp: Path) -> np.ndarray:
    inp, out = tmp / "in.npy", tmp / "out.npy"
    np.save(inp, np.ascontiguousarray(x, dtype=np.float32))
    result = _run(exe, model, inp, out)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return np.load(out)


# ---------------------------------------------------------------------------
# The real Keras fixtures, every generation
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def packed(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("packed")
    out = {}
    for fixture in FIXTURES:
        path = folder / f"{fixture.io}-{len(out)}.kwb"
        pack(fixture.path, path, arch=fixture.arch_path)
        out[fixture.id] = path
    return out


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
def test_fixture_predictions_equal_keras(fixture, kwbin_run, packed, tmp_path):
    out = tmp_path / "out.npy"
    result = _run(kwbin_run, packed[fixture.id], DATA / f"{fixture.io}.input.npy", out)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
    expected = np.load(DATA / f"{fixture.io}.output.npy")
    assert _difference(np.load(out), expected) <= TOLERANCE


def test_seed_runs_clean_under_asan_and_ubsan(kwbin_run_asan, packed, tmp_path):
    out = tmp_path / "out.npy"
    for fixture_id, io in (("seed_k3.keras", "seed_k3"), ("cnn_tfk.h5", "cnn_tfk"),
                           ("keras1_model54321", "keras1_model54321")):
        result = _run(kwbin_run_asan, packed[fixture_id], DATA / f"{io}.input.npy", out)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert _difference(np.load(out), np.load(DATA / f"{io}.output.npy")) <= TOLERANCE


def test_a_damaged_weight_is_named_and_refused_unless_no_verify(kwbin_run, packed, tmp_path):
    data = bytearray(packed["seed_k3.keras"].read_bytes())
    with kwbin.open(bytes(data)) as f:
        victim = f.tensors[1]
    data[victim.offset] ^= 0x40  # one weight byte: only the CRC-32 sees it
    damaged = tmp_path / "damaged.kwb"
    damaged.write_bytes(bytes(data))
    x, out = DATA / "seed_k3.input.npy", tmp_path / "out.npy"
    for flags in ([], ["--verify"]):
        line = _error(_run(kwbin_run, damaged, x, out, *flags), 1)
        assert "tensor_checksum" in line and repr(victim.name).strip("'") in line, line
        assert not out.exists()
    assert _run(kwbin_run, damaged, x, out, "--no-verify").returncode == 0


def test_batch_sizes_give_the_same_rows(kwbin_run, packed, tmp_path):
    """1, 3, 5, 8 and 64 rows (the 4-row Dense blocks and their tail) agree row by row."""
    x = np.load(DATA / "seed_k3.input.npy")
    full = _infer(kwbin_run, packed["seed_k3.keras"], x, tmp_path)
    for n in (1, 3, 5):
        assert np.array_equal(_infer(kwbin_run, packed["seed_k3.keras"], x[:n], tmp_path), full[:n])
    big = np.concatenate([x] * 8)
    assert np.array_equal(_infer(kwbin_run, packed["seed_k3.keras"], big, tmp_path), np.concatenate([full] * 8))
    empty = _infer(kwbin_run, packed["seed_k3.keras"], x[:0], tmp_path)
    assert empty.shape == (0, 100)


# ---------------------------------------------------------------------------
# Live Keras 3 models: every activation, layer kind and option
# ---------------------------------------------------------------------------

ACTIVATIONS = [
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "sigmoid", "hard_sigmoid",
    "log_sigmoid", "sparse_sigmoid", "tanh", "hard_tanh", "tanh_shrink", "softmax", "log_softmax",
    "softplus", "softsign", "silu", "swish", "hard_silu", "hard_swish", "mish", "exponential",
    "squareplus", "sparse_plus", "soft_shrink", "hard_shrink",
]


def _keras():
    return pytest.importorskip("keras")


def _seq(input_shape, *layer_list):
    keras = _keras()
    return keras.Sequential([keras.Input(input_shape), *layer_list])


def _functional_chain():
    keras = _keras()
    L = keras.layers
    inp = keras.Input((6,))
    x = L.Dense(8, activation="relu")(inp)
    x = L.BatchNormalization()(x)
    x = L.Dense(5)(x)
    return keras.Model(inp, L.Activation("softmax")(x))


def _functional_nested():
    keras = _keras()
    L = keras.layers
    inner = keras.Sequential([keras.Input((7,)), L.Dense(6, activation="elu"), L.Dropout(0.3),
                              L.Dense(4)], name="inner")
    inp = keras.Input((5,))
    x = L.Dense(7)(inp)
    x = inner(x)
    return keras.Model(inp, L.Activation("tanh")(x))


def _cases():
    """(id, builder of the model, per-sample input shape)."""
    keras = _keras()
    L = keras.layers
    img = (11, 13, 3)
    cases = []
    for act in ACTIVATIONS:
        cases.append((f"dense-{act}", lambda a=act: _seq((6,), L.Dense(9, activation=a)), (6,)))
    cases += [
        ("activation-layers", lambda: _seq((6,), L.Dense(9), L.Activation("elu"), L.Dense(9),
                                           L.Activation("hard_sigmoid"), L.Dense(9), L.Activation("gelu"),
                                           L.Dense(9), L.Activation("softmax")), (6,)),
        ("relu-layer", lambda: _seq((6,), L.Dense(9), L.ReLU()), (6,)),
        ("relu-max", lambda: _seq((6,), L.Dense(9), L.ReLU(max_value=0.8)), (6,)),
        ("relu6-layer", lambda: _seq((6,), L.Dense(9), L.ReLU(max_value=6.0)), (6,)),
        ("relu-slope-threshold", lambda: _seq((6,), L.Dense(9), L.ReLU(negative_slope=0.1, threshold=0.3)), (6,)),
        ("relu-all", lambda: _seq((6,), L.Dense(9), L.ReLU(max_value=1.2, negative_slope=0.2, threshold=0.4)), (6,)),
        ("relu-slope", lambda: _seq((6,), L.Dense(9), L.ReLU(negative_slope=0.25)), (6,)),
        ("leaky-relu-layer", lambda: _seq((6,), L.Dense(9), L.LeakyReLU()), (6,)),
        ("leaky-relu-slope", lambda: _seq((6,), L.Dense(9), L.LeakyReLU(negative_slope=0.05)), (6,)),
        ("elu-layer", lambda: _seq((6,), L.Dense(9), L.ELU(alpha=0.7)), (6,)),
        ("softmax-layer", lambda: _seq((6,), L.Dense(9), L.Softmax()), (6,)),
        ("softmax-rank3", lambda: _seq((4, 6), L.Dense(5), L.Softmax(axis=-1), L.Flatten()), (4, 6)),
        ("activation-object-leaky", lambda: _seq((6,), L.Dense(9, activation=L.LeakyReLU(negative_slope=0.1))), (6,)),
        ("activation-object-relu", lambda: _seq((6,), L.Dense(9, activation=L.ReLU(max_value=1.0))), (6,)),
        ("dense-no-bias-bn-flags", lambda: _seq((6,), L.Dense(9, use_bias=False), L.BatchNormalization(center=False),
                                                L.Dense(4, use_bias=False),
                                                L.BatchNormalization(scale=False, epsilon=0.1)), (6,)),
        ("dense-rank3-bn", lambda: _seq((4, 6), L.Dense(5), L.BatchNormalization(), L.Activation("tanh"),
                                        L.Flatten(), L.Dense(3)), (4, 6)),
        ("reshape", lambda: _seq((12,), L.Reshape((3, 4)), L.Dense(5, activation="relu"), L.Reshape((-1,)),
                                 L.Dense(6), L.Reshape((2, -1)), L.Flatten(), L.Dense(2)), (12,)),
        ("identity-layers", lambda: _seq((6,), L.Dense(8), L.Dropout(0.5), L.GaussianNoise(0.3),
                                         L.GaussianDropout(0.2), L.AlphaDropout(0.1),
                                         L.ActivityRegularization(0.01), L.Identity(), L.Dense(3)), (6,)),
        ("conv-strides-valid", lambda: _seq(img, L.Conv2D(4, 3, strides=2, padding="valid"), L.Flatten(),
                                            L.Dense(3)), img),
        ("conv-strides-same-rect", lambda: _seq(img, L.Conv2D(4, (3, 2), strides=(2, 3), padding="same",
                                                              activation="relu")), img),
        ("conv-dilation-same-no-bias", lambda: _seq(img, L.Conv2D(5, 3, dilation_rate=2, padding="same",
                                                                  use_bias=False)), img),
        ("conv-dilation-valid", lambda: _seq(img, L.Conv2D(5, (2, 3), dilation_rate=(2, 1), padding="valid",
                                                           activation="tanh")), img),
        ("conv-even-kernel-same", lambda: _seq(img, L.Conv2D(3, 2, padding="same"),
                                               L.Conv2D(3, 4, strides=2, padding="same", activation="selu")), img),
        ("conv-bn-relu-pool", lambda: _seq(img, L.Conv2D(6, 3, use_bias=False), L.BatchNormalization(epsilon=0.01),
                                           L.Activation("relu"), L.SpatialDropout2D(0.2), L.MaxPooling2D(),
                                           L.Flatten(), L.Dense(4, activation="softmax")), img),
        ("maxpool-same-strided", lambda: _seq(img, L.MaxPooling2D(3, strides=2, padding="same")), img),
        ("maxpool-valid-rect", lambda: _seq(img, L.MaxPooling2D((2, 3), strides=(1, 2))), img),
        ("avgpool-same-odd", lambda: _seq(img, L.AveragePooling2D(2, padding="same")), img),
        ("avgpool-same-strided", lambda: _seq(img, L.AveragePooling2D(3, strides=2, padding="same")), img),
        ("avgpool-valid-rect", lambda: _seq(img, L.AveragePooling2D((2, 3), strides=(1, 2))), img),
        ("global-avg-2d", lambda: _seq(img, L.Conv2D(4, 3), L.GlobalAveragePooling2D(), L.Dense(2)), img),
        ("global-max-2d", lambda: _seq(img, L.Conv2D(4, 3), L.GlobalMaxPooling2D()), img),
        ("global-avg-keepdims", lambda: _seq(img, L.GlobalAveragePooling2D(keepdims=True), L.Flatten(),
                                             L.Dense(2)), img),
        ("global-1d", lambda: _seq((7, 5), L.Dense(4), L.GlobalAveragePooling1D()), (7, 5)),
        ("global-max-1d", lambda: _seq((7, 5), L.GlobalMaxPooling1D()), (7, 5)),
        ("functional-chain", _functional_chain, (6,)),
        ("functional-nested-sequential", _functional_nested, (5,)),
    ]
    return cases


def _case_ids():
    try:
        import keras  # noqa: F401
    except ImportError:
        return []
    return [c[0] for c in _cases()]


def _randomize(model, rng: np.random.Generator) -> None:
    """Non-trivial biases and batch-norm statistics (Keras initialises them to 0 and 1)."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            _randomize(layer, rng)
            continue
        new = []
        for var in layer.weights:
            value = np.asarray(var.numpy())
            name = var.path.rsplit("/", 1)[-1]
            if name == "moving_variance":
                value = rng.uniform(0.5, 2.0, value.shape)
            elif name == "gamma":
                value = rng.uniform(0.5, 1.5, value.shape)
            elif name in ("bias", "beta", "moving_mean"):
                value = rng.normal(0.0, 0.3, value.shape)
            new.append(value.astype(np.float32))
        if new:
            layer.set_weights(new)


@pytest.mark.parametrize("case", _case_ids())
def test_live_keras3_model_equals_predict(case, kwbin_run, tmp_path):
    keras = _keras()
    from kwbin.keras import save_model

    builder, shape = {c[0]: (c[1], c[2]) for c in _cases()}[case]
    keras.utils.set_random_seed(sum(map(ord, case)))
    model = builder()
    rng = np.random.default_rng(sum(map(ord, case)))
    _randomize(model, rng)
    x = (rng.normal(0.0, 1.5, (5, *shape))).astype(np.float32)
    expected = model.predict(x, verbose=0)
    path = tmp_path / "model.kwb"
    save_model(model, path)
    got = _infer(kwbin_run, path, x, tmp_path)
    assert _difference(got, expected) <= TOLERANCE


def test_window_layers_under_asan_and_ubsan(kwbin_run_asan, tmp_path):
    """Every Conv2D / pooling / reshape case again, under the sanitizers (padding arithmetic)."""
    keras = _keras()
    from kwbin.keras import save_model

    for case, builder, shape in _cases():
        if not case.startswith(("conv", "maxpool", "avgpool", "global", "reshape", "softmax-rank3")):
            continue
        keras.utils.set_random_seed(1)
        model = builder()
        x = np.random.default_rng(1).normal(0.0, 1.5, (3, *shape)).astype(np.float32)
        save_model(model, tmp_path / "m.kwb")
        got = _infer(kwbin_run_asan, tmp_path / "m.kwb", x, tmp_path)
        assert _difference(got, model.predict(x, verbose=0)) <= TOLERANCE, case


# ---------------------------------------------------------------------------
# Files written by hand: what a Keras config cannot say
# ---------------------------------------------------------------------------


def _dense_file(path: Path, kernel, bias, activation, metadata=None, dtype=None) -> None:
    with kwbin.Writer(path, metadata=metadata or {}) as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, kernel.shape[0]]})
        w.add_layer("dense", "Dense", config={"units": kernel.shape[1], "activation": activation})
        w.add_tensor("dense/kernel", kernel, layer="dense", weight="kernel", dtype=dtype)
        w.add_tensor("dense/bias", bias, layer="dense", weight="bias", dtype=dtype)


def _dense_data(seed: int):
    rng = np.random.default_rng(seed)
    kernel = rng.normal(0, 0.7, (6, 9)).astype(np.float32)
    bias = rng.normal(0, 0.3, 9).astype(np.float32)
    x = rng.normal(0, 2.0, (7, 6)).astype(np.float32)
    return kernel, bias, x


def test_gelu_tanh_form_from_an_activation_object(kwbin_run, tmp_path):
    keras = _keras()
    kernel, bias, x = _dense_data(1)
    z = x @ kernel + bias
    approx = np.asarray(keras.ops.gelu(z, approximate=True))
    exact = np.asarray(keras.ops.gelu(z, approximate=False))
    assert np.max(np.abs(approx - exact)) > 1e-4  # the two forms differ: the test can tell them apart
    _dense_file(tmp_path / "a.kwb", kernel, bias, {"class_name": "gelu", "config": {"approximate": True}})
    assert _difference(_infer(kwbin_run, tmp_path / "a.kwb", x, tmp_path), approx) <= TOLERANCE
    _dense_file(tmp_path / "b.kwb", kernel, bias, {"class_name": "gelu", "config": {"approximate": False}})
    assert _difference(_infer(kwbin_run, tmp_path / "b.kwb", x, tmp_path), exact) <= TOLERANCE
    _dense_file(tmp_path / "c.kwb", kernel, bias,
                {"module": "keras.activations", "class_name": "function", "config": "gelu"})
    assert _difference(_infer(kwbin_run, tmp_path / "c.kwb", x, tmp_path), exact) <= TOLERANCE


@pytest.mark.parametrize("metadata,form", [
    ({"generation": "keras2"}, "keras2"), ({"generation": "keras1"}, "keras2"),
    ({"keras_version": "2.1.6"}, "keras2"), ({"generation": "keras3"}, "keras3"), ({}, "keras3"),
])
def test_hard_sigmoid_form_follows_the_generation(kwbin_run, tmp_path, metadata, form):
    kernel, bias, x = _dense_data(2)
    z = (x @ kernel + bias).astype(np.float32)
    if form == "keras2":
        expected = np.clip(np.float32(0.2) * z + np.float32(0.5), 0, 1)
    else:
        expected = np.clip(z + np.float32(3), 0, 6) / np.float32(6)
    _dense_file(tmp_path / "m.kwb", kernel, bias, "hard_sigmoid", metadata)
    assert _difference(_infer(kwbin_run, tmp_path / "m.kwb", x, tmp_path), expected) <= TOLERANCE


def test_a_keras3_h5_file_computes_as_keras3(kwbin_run, tmp_path):
    """Keras 3 still writes the legacy .h5 layout (model.save("m.h5")): the file's generation is
    keras3 (it was packed as keras2, and hard_sigmoid then took Keras 2's form: 0.07 off)."""
    import warnings

    keras = _keras()
    keras.backend.clear_session()
    x = keras.Input((5,), name="x")
    model = keras.Model(x, keras.layers.Dense(5, activation="hard_sigmoid", name="d1")(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras calls the format legacy
        model.save(tmp_path / "m.h5")
    pack(tmp_path / "m.h5", tmp_path / "m.kwb")
    with kwbin.open(tmp_path / "m.kwb") as f:
        assert (f.metadata["generation"], f.metadata["source_format"]) == ("keras3", "keras3-h5")
    data = np.random.default_rng(4).normal(0, 3, (6, 5)).astype(np.float32)
    expected = model.predict(data, verbose=0)
    assert ((expected > 0.01) & (expected < 0.99)).mean() > 0.3  # the two forms differ there
    assert _difference(_infer(kwbin_run, tmp_path / "m.kwb", data, tmp_path), expected) <= TOLERANCE


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_weights_of_other_float_dtypes_are_converted(kwbin_run, tmp_path, dtype):
    kernel, bias, x = _dense_data(3)
    _dense_file(tmp_path / "m.kwb", kernel, bias, "linear", dtype=dtype)
    with kwbin.open(tmp_path / "m.kwb") as f:
        k, b = (np.asarray(f[name]) for name in ("dense/kernel", "dense/bias"))
    if dtype == "bfloat16":  # numpy has no bfloat16: the reader gives the raw upper 16 bits
        k, b = ((a.astype(np.uint32) << 16).view(np.float32) for a in (k, b))
    k, b = k.astype(np.float32), b.astype(np.float32)
    assert not np.array_equal(k, kernel) or dtype == "float64"  # really rounded
    assert _difference(_infer(kwbin_run, tmp_path / "m.kwb", x, tmp_path), x @ k + b) <= TOLERANCE


def test_theano_kernels_are_flipped(kwbin_run, tmp_path):
    """A Theano-backend file stores conv kernels flipped; the metadata note says so."""
    keras = _keras()
    keras.utils.set_random_seed(5)
    model = _seq((9, 8, 2), keras.layers.Conv2D(3, (3, 2), padding="same"))
    x = np.random.default_rng(5).normal(0, 1, (2, 9, 8, 2)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    kernel, bias = (np.asarray(w) for w in model.get_weights())
    for flipped, note in ((False, None), (True, "theano: kernels are stored flipped (true convolution)")):
        meta = {"generation": "keras2", "backend": "theano"} | ({"conv_kernels": note} if note else {})
        path = tmp_path / f"conv-{flipped}.kwb"
        with kwbin.Writer(path, metadata=meta) as w:
            w.add_layer("input", "InputLayer", config={"batch_input_shape": [None, 9, 8, 2]})
            w.add_layer("conv", "Conv2D", config={"filters": 3, "kernel_size": [3, 2], "padding": "same",
                                                  "data_format": "channels_last", "activation": "linear"})
            w.add_tensor("conv/kernel", kernel[::-1, ::-1].copy() if flipped else kernel, layer="conv",
                         weight="kernel")
            w.add_tensor("conv/bias", bias, layer="conv", weight="bias")
        assert _difference(_infer(kwbin_run, path, x, tmp_path), expected) <= TOLERANCE


def test_keras1_layer_configs(kwbin_run, tmp_path):
    """Keras 1 keys: output_dim, bias, nb_filter/nb_row/nb_col, subsample, border_mode, dim_ordering, p."""
    keras = _keras()
    L = keras.layers
    keras.utils.set_random_seed(6)
    model = _seq((10, 9, 2), L.Conv2D(4, (3, 2), strides=(2, 1), padding="same", activation="relu"),
                 L.MaxPooling2D((2, 2), padding="valid"), L.Dropout(0.5), L.Flatten(),
                 L.Dense(5, use_bias=False), L.LeakyReLU(negative_slope=0.2), L.Dense(3, activation="softmax"))
    x = np.random.default_rng(6).normal(0, 1, (3, 10, 9, 2)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    ck, cb, d1, d2k, d2b = model.get_weights()
    path = tmp_path / "k1.kwb"
    with kwbin.Writer(path, metadata={"generation": "keras1", "keras_version": "1.2.2"}) as w:
        w.add_layer("convolution2d_1", "Convolution2D", config={
            "name": "convolution2d_1", "batch_input_shape": [None, 10, 9, 2], "nb_filter": 4, "nb_row": 3,
            "nb_col": 2, "subsample": [2, 1], "border_mode": "same", "dim_ordering": "tf", "bias": True,
            "activation": "relu", "init": "glorot_uniform"})
        w.add_tensor("convolution2d_1/kernel", ck, layer="convolution2d_1", weight="kernel")
        w.add_tensor("convolution2d_1/bias", cb, layer="convolution2d_1", weight="bias")
        w.add_layer("maxpooling2d_1", "MaxPooling2D", config={"pool_size": [2, 2], "strides": None,
                                                              "border_mode": "valid", "dim_ordering": "tf"})
        w.add_layer("dropout_1", "Dropout", config={"p": 0.5})
        w.add_layer("flatten_1", "Flatten", config={"name": "flatten_1"})
        w.add_layer("dense_1", "Dense", config={"output_dim": 5, "bias": False, "activation": "linear"})
        w.add_tensor("dense_1/kernel", d1, layer="dense_1", weight="kernel")
        w.add_layer("leakyrelu_1", "LeakyReLU", config={"alpha": 0.2})
        w.add_layer("dense_2", "Dense", config={"output_dim": 3, "bias": True, "activation": "softmax"})
        w.add_tensor("dense_2/kernel", d2k, layer="dense_2", weight="kernel")
        w.add_tensor("dense_2/bias", d2b, layer="dense_2", weight="bias")
    assert _difference(_infer(kwbin_run, path, x, tmp_path), expected) <= TOLERANCE


# ---------------------------------------------------------------------------
# Bad input: one line, non-zero exit, never a crash
# ---------------------------------------------------------------------------


def test_unsupported_layer_is_named(kwbin_run, tmp_path):
    keras = _keras()
    from kwbin.keras import save_model

    L = keras.layers
    model = _seq((5, 3), L.RNN(L.LSTMCell(4), name="my_rnn"), L.Dense(2))  # a generic RNN of a cell
    save_model(model, tmp_path / "lstm.kwb")
    np.save(tmp_path / "x.npy", np.zeros((2, 5, 3), np.float32))
    line = _error(_run(kwbin_run, tmp_path / "lstm.kwb", tmp_path / "x.npy", tmp_path / "y.npy"), 1)
    assert "'my_rnn' (RNN)" in line and "unsupported layer class" in line
    assert not (tmp_path / "y.npy").exists()


def test_file_without_layers_is_refused(kwbin_run, tmp_path):
    kwbin.save_file({"dense/kernel": np.ones((4, 3), np.float32)}, tmp_path / "arrays.kwb")
    np.save(tmp_path / "x.npy", np.zeros((2, 4), np.float32))
    line = _error(_run(kwbin_run, tmp_path / "arrays.kwb", tmp_path / "x.npy", tmp_path / "y.npy"), 1)
    assert "no_layers" in line and "no layer table" in line


def test_file_without_configs_is_refused(kwbin_run, tmp_path):
    pack(DATA / "seed_k3.weights.h5", tmp_path / "noarch.kwb")  # Keras 3 weights without --arch
    line = _error(_run(kwbin_run, tmp_path / "noarch.kwb", DATA / "seed_k3.input.npy", tmp_path / "y.npy"), 1)
    assert "no_config" in line and "--arch" in line


def test_invalid_kwbin_files_are_refused(kwbin_run, packed, tmp_path):
    data = bytearray(packed["mlp_k3.keras"].read_bytes())
    data[-100] ^= 0xFF  # a payload byte: found by the CRC-32 check
    (tmp_path / "damaged.kwb").write_bytes(data)
    x = DATA / "mlp_k3.input.npy"
    assert "tensor_checksum" in _error(_run(kwbin_run, tmp_path / "damaged.kwb", x, tmp_path / "y.npy"), 1)
    (tmp_path / "text.kwb").write_text("hello")
    assert "not_kwbin" in _error(_run(kwbin_run, tmp_path / "text.kwb", x, tmp_path / "y.npy"), 1)
    _error(_run(kwbin_run, tmp_path / "missing.kwb", x, tmp_path / "y.npy"), 3)


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def test_bad_inputs(kwbin_run, packed, tmp_path):
    model = packed["seed_k3.keras"]
    x = np.load(DATA / "seed_k3.input.npy")
    good = _npy_bytes(x)
    cases = {
        "wrong size": (_npy_bytes(np.zeros((8, 40), np.float32)), "does not fit the network"),
        "wrong rank": (_npy_bytes(np.zeros((8, 39, 1), np.float32)), "does not fit the network"),
        "flat": (_npy_bytes(np.zeros(39, np.float32)), "does not fit the network"),
        "float64": (_npy_bytes(x.astype(np.float64)), "dtype '<f8'"),
        "big-endian": (_npy_bytes(x.astype(">f4")), "dtype '>f4'"),
        "int32": (_npy_bytes(x.astype(np.int32)), "dtype '<i4'"),
        "fortran": (_npy_bytes(np.asfortranarray(x)), "fortran_order True"),
        "bad magic": (b"\x93NUMPZ" + good[6:], "bad magic"),
        "empty": (b"", "bad magic"),
        "truncated header": (good[:40], "truncated .npy header"),
        "truncated data": (good[:-4], "truncated .npy data"),
        "trailing data": (good + b"\0\0\0\0", "trailing bytes"),
        "version 4": (good[:6] + b"\x04\x00" + good[8:], "version 4.0"),
        "unknown key": (good.replace(b"'shape'", b"'shope'"), "unknown key"),
        "not a tuple": (good.replace(b"(8, 39)", b"[8, 39]"), "not a tuple"),
        "missing key": (good.replace(b"'fortran_order': False, ", b" " * 24), "are required"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.npy"
        path.write_bytes(content)
        line = _error(_run(kwbin_run, model, path, tmp_path / "y.npy"), 4)
        assert message in line, (name, line)
    _error(_run(kwbin_run, model, tmp_path / "missing.npy", tmp_path / "y.npy"), 3)
    _error(_run(kwbin_run, model, DATA / "seed_k3.input.npy", tmp_path / "no" / "dir" / "y.npy"), 3)
    result = subprocess.run([str(kwbin_run), str(model)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("usage:")


def test_npy_header_versions_2_and_3(kwbin_run, packed, tmp_path):
    x = np.load(DATA / "seed_k3.input.npy")
    expected = _infer(kwbin_run, packed["seed_k3.keras"], x, tmp_path)
    for version in ((2, 0), (3, 0)):
        path = tmp_path / f"v{version[0]}.npy"
        with open(path, "wb") as fh:
            np.lib.format.write_array(fh, x, version=version)
        result = _run(kwbin_run, packed["seed_k3.keras"], path, tmp_path / "y.npy")
        assert result.returncode == 0, result.stderr
        assert np.array_equal(np.load(tmp_path / "y.npy"), expected)


def _mutations(seed: int, data: bytes, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(min(len(buf), 140))
            buf[pos] = rng.choice([rng.randrange(256), ord(" "), ord("'"), ord(","), ord(")"), 0x7F])
        if rng.random() < 0.2:
            buf = buf[: rng.randrange(len(buf))]
        yield bytes(buf)


def test_mutated_npy_never_crash(kwbin_run, packed, tmp_path):
    good = _npy_bytes(np.load(DATA / "mlp_k3.input.npy"))
    for i, content in enumerate(_mutations(7, good, 300)):
        path = tmp_path / "m.npy"
        path.write_bytes(content)
        result = _run(kwbin_run, packed["mlp_k3.keras"], path, tmp_path / "y.npy")
        assert result.returncode in (0, 4), (i, content[:140], result.returncode, result.stderr)
        if result.returncode:
            _error(result)


WEIRD_VALUES = [None, "x", -1, 0, 1e300, -1e300, [], {}, [1, 2, 3], [0, 0], True, "same", "channels_first",
                {"class_name": "Nope", "config": {}}, [None], 2.5, "\u00e9\n"]


def _mutated_configs(seed: int, count: int, paths: list[Path]):
    """The configs of `paths` with one key of one layer set to a strange value (or removed)."""
    rng = random.Random(seed)
    sources = []
    for path in paths:
        with kwbin.open(path) as f:
            layers = [(lay.name, lay.class_name, lay.config, [(t, np.array(f[t])) for t in lay.tensors])
                      for lay in f.layers]
            sources.append((layers, dict(f.metadata)))
    for _ in range(count):
        layers, meta = rng.choice(sources)
        victim = rng.randrange(len(layers))
        out = []
        for i, (name, cls, config, tensors) in enumerate(layers):
            config = json.loads(json.dumps(config))
            if i == victim and config:
                key = rng.choice(sorted(config))
                if rng.random() < 0.15:
                    del config[key]
                else:
                    config[key] = rng.choice(WEIRD_VALUES)
            out.append((name, cls, config, tensors))
        yield out, meta


@pytest.mark.parametrize("sanitized", [False, True], ids=["native", "asan"])
def test_mutated_configs_never_crash(request, packed, tmp_path, sanitized):
    exe = request.getfixturevalue("kwbin_run_asan" if sanitized else "kwbin_run")
    inputs = {"cnn": DATA / "cnn_k3.input.npy", "mlp": DATA / "mlp_k3.input.npy"}
    outcomes = {0: 0, 1: 0, 4: 0}
    for i, (layers, meta) in enumerate(_mutated_configs(11, 60 if sanitized else 250,
                                                        [packed["cnn_k3.keras"], packed["mlp_k3.keras"]])):
        path = tmp_path / "mut.kwb"
        with kwbin.Writer(path, metadata=meta) as w:
            for name, cls, config, tensors in layers:
                w.add_layer(name, cls, config=config)
                for tname, array in tensors:
                    w.add_tensor(tname, array, layer=name, weight=tname.rsplit("/", 1)[-1])
        kind = "cnn" if layers[1][1] == "Conv2D" else "mlp"
        result = _run(exe, path, inputs[kind], tmp_path / "y.npy")
        assert result.returncode in outcomes, (i, result.returncode, result.stderr)
        outcomes[result.returncode] += 1
        if result.returncode:
            _error(result)
    assert outcomes[0] > 0 and outcomes[1] > 0


# ---------------------------------------------------------------------------
# The C API's own checks, compilers, the example
# ---------------------------------------------------------------------------

API_TEST = r"""
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#define KWBIN_NN_STATIC
#define KWBIN_STATIC
#include "kwbin_nn.h"
#include <stdio.h>
#include <stdlib.h>

static int fails = 0;
#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s\n", __LINE__, #c); fails++; } } while (0)

static size_t allocated = 0;
static void *my_alloc(size_t n, void *user) { (void)user; allocated += n; return malloc(n); }
static void my_free(void *p, void *user) { (void)user; free(p); }
static void *no_alloc(size_t n, void *user) { (void)n; (void)user; return NULL; }

int main(int argc, char **argv)
{
    kwb_file f;
    kwnn_net net;
    kwnn_options opt;
    float x[39 * 3], y[100 * 3], y1[100];
    size_t need, i;
    void *scratch;
    (void)argc;
    CHECK(kwb_open_path(&f, argv[1], NULL) == KWB_OK);
    memset(&opt, 0, sizeof opt);
    opt.alloc_fn = no_alloc;
    opt.free_fn = my_free;
    CHECK(kwnn_load(&net, &f, &opt) == KWNN_ERR_OUT_OF_MEMORY && net.layers == NULL);
    opt.alloc_fn = my_alloc;
    opt.free_fn = NULL;
    CHECK(kwnn_load(&net, &f, &opt) == KWNN_ERR_INVALID_ARGUMENT);
    opt.free_fn = my_free;
    CHECK(kwnn_load(&net, &f, &opt) == KWNN_OK);
    CHECK(allocated > 0);
    CHECK(net.input_ndim == 1 && net.input_shape[0] == 39 && net.input_count == 39);
    CHECK(net.output_ndim == 1 && net.output_count == 100);
    CHECK(net.hard_sigmoid == KWNN_HARD_SIGMOID_KERAS3);
    CHECK(net.layers[1].kind == KWNN_LAYER_DENSE && net.layers[1].units == 500);
    CHECK(net.layers[15].kind == KWNN_LAYER_ACTIVATION && net.layers[15].act.kind == KWNN_ACT_SOFTMAX);
    CHECK(kwnn_scratch_size(&net, 0) == (size_t)-1);
    need = kwnn_scratch_size(&net, 3);
    CHECK(need >= (500 + 400) * 3 * sizeof(float)); /* Dense 500 -> 400 needs both */
    CHECK(kwnn_peak_size(&net, 3) == (500 + 400) * 3 * sizeof(float));
    CHECK(net.num_inputs == 1 && net.num_outputs == 1);
    scratch = malloc(need);
    for (i = 0; i < 39 * 3; i++) x[i] = (float)(i % 7) * 0.25f - 0.5f;
    CHECK(kwnn_run(&net, x, 39 * 3, y, 300, scratch, need, 3) == KWNN_OK);
    CHECK(kwnn_run(&net, x, 39 * 3 - 1, y, 300, scratch, need, 3) == KWNN_ERR_SIZE);
    CHECK(kwnn_run(&net, x, 39 * 3, y, 299, scratch, need, 3) == KWNN_ERR_SIZE);
    CHECK(kwnn_run(&net, x, 39 * 3, y, 300, scratch, need - 1, 3) == KWNN_ERR_SCRATCH);
    CHECK(kwnn_run(&net, x, 39 * 3, y, 300, NULL, need, 3) == KWNN_ERR_SCRATCH);
    CHECK(kwnn_run(&net, x, 0, y, 0, scratch, need, 0) == KWNN_ERR_INVALID_ARGUMENT);
    CHECK(kwnn_run(&net, NULL, 39, y, 100, scratch, need, 1) == KWNN_ERR_INVALID_ARGUMENT);
    /* unaligned scratch works (aligned inside), sample 2 alone equals row 2 */
    CHECK(kwnn_run(&net, x + 78, 39, y1, 100, (char *)scratch + 1, need - 1, 1) == KWNN_OK);
    CHECK(memcmp(y1, y + 200, sizeof y1) == 0);
    {
        double sum = 0;
        for (i = 0; i < 100; i++) sum += y[i];
        CHECK(sum > 0.999 && sum < 1.001);
    }
    CHECK(strcmp(kwnn_result_string(KWNN_ERR_UNSUPPORTED), "unsupported") == 0);
    CHECK(strcmp(kwnn_kind_name(KWNN_LAYER_CONV2D), "Conv2D") == 0);
    CHECK(strcmp(kwnn_activation_name(KWNN_ACT_SILU), "silu") == 0);
    free(scratch);
    kwnn_free(&net);
    kwnn_free(&net);
    CHECK(net.layers == NULL);
    CHECK(kwnn_run(&net, x, 39, y, 100, NULL, 0, 1) == KWNN_ERR_INVALID_ARGUMENT);
    CHECK(kwnn_load(&net, NULL, NULL) == KWNN_ERR_INVALID_ARGUMENT);
    kwb_close(&f);
    printf("%s\n", fails ? "FAILED" : "OK");
    return fails != 0;
}
"""


def test_c_api_checks(packed, tmp_path):
    source = tmp_path / "api_test.c"
    source.write_text(API_TEST)
    exe = tmp_path / "api_test"
    _compile(exe, source, *CFLAGS)
    result = subprocess.run([str(exe), str(packed["seed_k3.keras"])], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "OK", result.stdout + result.stderr


@pytest.mark.parametrize("compiler,flags", [
    ("gcc", ["-std=c99", "-O2"]), ("clang", ["-std=c99", "-O2"]),
    ("g++", ["-x", "c++", "-std=c++17", "-O2"]), ("clang++", ["-x", "c++", "-std=c++17", "-O2"]),
])
def test_tools_compile_warning_free(compiler, flags, tmp_path):
    if not shutil.which(compiler):
        pytest.skip(f"no {compiler}")
    for source in (RUN_SOURCE, HELLO_SOURCE):
        _compile(tmp_path / source.stem, source, *flags, *WARNINGS, cc=compiler)


#: Other hosts (as in test_c_reader.py): Debian's cross compilers, run under qemu-user.
CROSS_HOSTS = {
    "s390x": ("s390x-linux-gnu-gcc", ["qemu-s390x"]),   # 64-bit big-endian
    "powerpc": ("powerpc-linux-gnu-gcc", ["qemu-ppc"]),  # 32-bit big-endian
    "i686": ("i686-linux-gnu-gcc", []),                  # 32-bit little-endian
}


@pytest.mark.parametrize("host", sorted(CROSS_HOSTS))
def test_other_hosts_give_the_same_predictions(host, packed, tmp_path):
    """Big-endian and 32-bit hosts: weights converted instead of used in place, same results."""
    cross, qemu = CROSS_HOSTS[host]
    if not (shutil.which(cross) and all(shutil.which(q) for q in qemu)):
        message = f"{cross} {' '.join(qemu)} not installed (see .ci/run for the Debian packages)"
        if os.environ.get("KWBIN_REQUIRE_CROSS"):
            pytest.fail(message)
        pytest.skip(message)
    exe = tmp_path / "kwbin-run-cross"
    _compile(exe, RUN_SOURCE, "-std=c99", "-O2", "-static", *WARNINGS, cc=cross)
    for fixture_id, io in (("seed_keras1.h5", "seed_keras1"), ("mlp_tfk.h5", "mlp_tfk"),
                           ("cnn_k3.keras", "cnn_k3")):
        out = tmp_path / "out.npy"
        result = subprocess.run([*qemu, str(exe), str(packed[fixture_id]), str(DATA / f"{io}.input.npy"),
                                 str(out)], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        assert _difference(np.load(out), np.load(DATA / f"{io}.output.npy")) <= TOLERANCE


def test_hello_example(packed, tmp_path):
    exe = tmp_path / "hello"
    _compile(exe, HELLO_SOURCE, *CFLAGS)
    result = subprocess.run([str(exe), str(packed["cnn_k3.keras"])], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with kwbin.open(packed["cnn_k3.keras"]) as f:
        first = f["conv2d/kernel"].ravel()[:5]
    assert "conv2d/kernel: float32, shape (3, 3, 3, 8)" in result.stdout
    values = result.stdout.strip().splitlines()[-1].split(":")[1].split()
    assert np.allclose([float(v) for v in values], first, rtol=1e-5)


def test_header_has_no_mutable_globals():
    text = (C_READER / "kwbin_nn.h").read_text()
    impl = text[text.index("#if defined(KWBIN_NN_IMPLEMENTATION)"):]
    for line in impl.splitlines():
        if line.startswith("static ") and "(" not in line.split("=")[0]:
            assert line.startswith("static const "), line
