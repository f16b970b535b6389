"""Variable dimensions in the C inference (c_reader/nn/82_run_shapes.h, kwbin-run).

- a None axis of a model's input (time steps; the height and width of a fully convolutional net)
  takes its length from the input at run time: kwbin-run reads it from the .npy file and runs
  kwnn_run_shapes; live Keras 3 models (stacked LSTM / GRU encoders, a GRU with reset_after false,
  Embedding + Conv1D + pooling + Bidirectional + TimeDistributed(Dense), a Transformer encoder with
  and without a causal mask, a fully convolutional net) fed inputs of several lengths equal
  Keras's predict within 1e-5 (relative above 1), also under ASan/UBSan;
- lengths the model cannot take (a time axis of length zero, a window larger than the input,
  a Reshape that does not fit, a fixed axis given another length) are a run error in one line
  naming the input or the layer, never a crash;
- the C calls: kwnn_run on such a net returns KWNN_ERR_SHAPE; kwnn_scratch_size_shapes gives the
  scratch and the output shapes; kwnn_run_shapes reports a scratch too small (and how much is
  needed), an output array too small, and runs several lengths with one scratch.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_c_inference import (  # noqa: F401
    CFLAGS, TOLERANCE, _compile, _difference, _error, _infer, _keras, _run, kwbin_run, kwbin_run_asan)


def _seeded(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, np.shape(w)).astype(np.float32) for w in model.get_weights()])


def _save(model, tmp: Path) -> Path:
    from kwbin.keras import save_model

    path = tmp / "model.kwb"
    save_model(model, path)
    return path


def _check_lengths(exe: Path, model, inputs: list[np.ndarray], tmp: Path) -> None:
    path = _save(model, tmp)
    for x in inputs:
        got = _infer(exe, path, x, tmp)
        diff = _difference(got, model.predict(x, verbose=0))
        assert diff <= TOLERANCE, (x.shape, diff)


def _stacked_encoder():
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((None, 4))
    x = L.LSTM(6, return_sequences=True, name="lstm_a")(inp)
    x = L.GRU(5, return_sequences=True, reset_after=False, name="gru_b")(x)
    x = L.LSTM(4, go_backwards=True, name="lstm_c")(x)
    model = keras.Model(inp, L.Dense(3, name="head")(x))
    _seeded(model, 1)
    return model


def _text_model():
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((None,))
    x = L.Embedding(20, 6, name="emb")(inp)
    x = L.Conv1D(8, 3, padding="causal", activation="relu", name="conv")(x)
    x = L.MaxPooling1D(2, padding="same", name="pool")(x)
    x = L.Bidirectional(L.GRU(5, return_sequences=True), name="bi")(x)
    x = L.TimeDistributed(L.Dense(3), name="td")(x)
    model = keras.Model(inp, L.GlobalAveragePooling1D(name="gap")(x))
    _seeded(model, 2)
    return model


def _transformer(causal: bool):
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((None, 8))
    att = L.MultiHeadAttention(2, 4, name="mha")(inp, inp, use_causal_mask=causal)
    x = L.LayerNormalization(name="ln1")(L.Add(name="res1")([inp, att]))
    ff = L.Dense(8, name="ff2")(L.Dense(16, activation="gelu", name="ff1")(x))
    x = L.LayerNormalization(name="ln2")(L.Add(name="res2")([x, ff]))
    model = keras.Model(inp, x)
    _seeded(model, 3)
    return model


def _fcn():
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((None, None, 3))
    x = L.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inp)
    x = L.MaxPooling2D(2, name="p1")(x)
    x = L.Conv2D(5, 3, strides=2, padding="same", name="c2")(x)
    x = L.Conv2D(2, 3, name="c3")(x)
    model = keras.Model(inp, L.UpSampling2D(2, name="up")(x))
    _seeded(model, 4)
    return model


def _normal(shape, seed):
    return np.random.default_rng(seed).normal(0.0, 1.0, shape).astype(np.float32)


def test_stacked_encoder_several_lengths(kwbin_run, tmp_path):  # noqa: F811
    _check_lengths(kwbin_run, _stacked_encoder(), [_normal((2, t, 4), t) for t in (1, 2, 7, 40)], tmp_path)


def test_text_model_several_lengths(kwbin_run, tmp_path):  # noqa: F811
    ids = [np.random.default_rng(t).integers(0, 20, (3, t)).astype(np.float32) for t in (1, 5, 16)]
    _check_lengths(kwbin_run, _text_model(), ids, tmp_path)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_transformer_encoder_several_lengths(kwbin_run, tmp_path, causal):  # noqa: F811
    _check_lengths(kwbin_run, _transformer(causal), [_normal((2, t, 8), t) for t in (1, 6, 33)], tmp_path)


def test_fully_convolutional_several_sizes(kwbin_run, tmp_path):  # noqa: F811
    _check_lengths(kwbin_run, _fcn(), [_normal((2, h, w, 3), h * w) for h, w in ((16, 16), (13, 21), (12, 40))],
                   tmp_path)


def test_variable_lengths_under_sanitizers(kwbin_run_asan, tmp_path):  # noqa: F811
    _check_lengths(kwbin_run_asan, _stacked_encoder(), [_normal((2, t, 4), t) for t in (1, 9)], tmp_path)
    _check_lengths(kwbin_run_asan, _transformer(True), [_normal((1, t, 8), t) for t in (2, 11)], tmp_path)
    path = _save(_fcn(), tmp_path)
    np.save(tmp_path / "in.npy", _normal((1, 5, 5, 3), 0))
    assert "'c3' (Conv2D)" in _error(_run(kwbin_run_asan, path, tmp_path / "in.npy", tmp_path / "out.npy"), 4)


def _refusal(exe: Path, path: Path, x: np.ndarray, tmp: Path) -> str:
    np.save(tmp / "in.npy", x)
    return _error(_run(exe, path, tmp / "in.npy", tmp / "out.npy"), 4)


def test_lengths_the_model_cannot_take(kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    L = keras.layers
    path = _save(_stacked_encoder(), tmp_path)
    line = _refusal(kwbin_run, path, np.zeros((2, 0, 4), np.float32), tmp_path)
    assert "input 0 of shape (0, 4) does not fit the model's (None, 4)" in line and "at least 1" in line, line
    line = _refusal(kwbin_run, path, np.zeros((2, 5, 3), np.float32), tmp_path)  # the fixed axis
    assert "input 0 of shape (5, 3) does not fit the model's (None, 4)" in line, line
    path = _save(_fcn(), tmp_path)
    line = _refusal(kwbin_run, path, _normal((1, 9, 9, 3), 0), tmp_path)  # 9 -> 4 -> 2: c3's 3 x 3 window
    assert "layer 'c3' (Conv2D)" in line and "window" in line, line
    keras.backend.clear_session()
    inp = keras.Input((None, 4))
    model = keras.Model(inp, L.Reshape((-1, 8), name="pairs")(inp))
    path = _save(model, tmp_path)
    _check_lengths(kwbin_run, model, [_normal((2, 6, 4), 0)], tmp_path)
    line = _refusal(kwbin_run, path, _normal((2, 5, 4), 0), tmp_path)  # 20 floats do not make rows of 8
    assert "layer 'pairs' (Reshape)" in line, line


def _long_window_cnn():
    """A 1D CNN over a None time axis that cannot take the 32 steps the load starts with."""
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((None, 3))
    x = L.Conv1D(4, 40, activation="relu", name="wide")(inp)  # needs 40 steps
    for i in range(3):
        x = L.Conv1D(4, 3, strides=2, name=f"down{i}")(x)  # a step out of the last needs 54 in all
    model = keras.Model(inp, L.GlobalMaxPooling1D(name="gmp")(x))
    _seeded(model, 5)
    return model


def test_a_model_that_needs_more_than_32_steps_loads_and_runs(kwbin_run, tmp_path):  # noqa: F811
    model = _long_window_cnn()
    _check_lengths(kwbin_run, model, [_normal((2, t, 3), t) for t in (54, 64, 301)], tmp_path)
    line = _refusal(kwbin_run, _save(model, tmp_path), _normal((2, 53, 3), 0), tmp_path)
    assert "layer 'down2' (Conv1D)" in line and "window" in line, line


def test_a_window_no_length_up_to_the_limit_takes_is_refused_at_load(kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    keras.backend.clear_session()
    inp = keras.Input((None, 1))
    model = keras.Model(inp, keras.layers.Conv1D(1, 5000, name="huge")(inp))
    np.save(tmp_path / "in.npy", _normal((1, 6000, 1), 0))
    line = _error(_run(kwbin_run, _save(model, tmp_path), tmp_path / "in.npy", tmp_path / "out.npy"), 1)
    assert "layer 'huge' (Conv1D): its window is larger than its input (32, 1)" in line, line  # the load's


C_PROGRAM = r"""
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"
#include <stdio.h>
#include <stdlib.h>

/* argv: model.kwb out.bin T...: for each T, the outputs of batch 2 (inputs (2, T, 4) of value
   (t * 4 + f) / 10 - 1) appended to out.bin; the codes of every check on stdout. */
int main(int argc, char **argv)
{
    kwb_file f;
    kwnn_net net;
    kwnn_shape in, out;
    char msg[KWNN_MESSAGE_SIZE];
    size_t size = 0, need = 0, small = 0, cap = 0, i;
    float x[2 * 64 * 4], y[64], *scratch;
    const float *xs[1];
    float *ys[1];
    FILE *o;
    int a, r;
    if (argc < 4 || kwb_open_path(&f, argv[1], NULL) != KWB_OK || kwnn_load(&net, &f, NULL) != KWNN_OK) return 9;
    o = fopen(argv[2], "wb");
    xs[0] = x;
    ys[0] = y;
    printf("variable %d\n", net.variable);
    r = (int)kwnn_run(&net, x, 2 * net.input_count, y, 2 * net.output_count, NULL, 0, 2);
    printf("kwnn_run %s\n", kwnn_result_string((kwnn_result)r));
    in.ndim = 2;
    in.dims[0] = 64;
    in.dims[1] = 4;
    if (kwnn_scratch_size_shapes(&net, &in, 2, &size, &out, msg) != KWNN_OK) return 8;
    scratch = (float *)malloc(size); /* the largest length's: every shorter one fits */
    for (a = 3; a < argc; a++) {
        size_t T = (size_t)atoi(argv[a]), got = 0;
        in.dims[0] = T;
        for (i = 0; i < 2 * T * 4; i++) x[i] = (float)(i % (T * 4)) / 10.0f - 1.0f;
        r = (int)kwnn_scratch_size_shapes(&net, &in, 2, &got, &out, msg);
        printf("size %zu %s %u %zu %s\n", T, kwnn_result_string((kwnn_result)r), out.ndim, out.dims[0], msg);
        if (r != KWNN_OK) continue;
        r = (int)kwnn_run_shapes(&net, xs, &in, ys, &cap, &out, scratch, 1, 2, &small, msg);
        printf("tiny %s %d\n", kwnn_result_string((kwnn_result)r), small > 0 && small < got);
        r = (int)kwnn_run_shapes(&net, xs, &in, ys, &cap, &out, scratch, got - 1, 2, &need, msg);
        printf("short %s %d\n", kwnn_result_string((kwnn_result)r), need == got);
        cap = 2 * out.dims[0] - 1;
        r = (int)kwnn_run_shapes(&net, xs, &in, ys, &cap, &out, scratch, size, 2, &need, msg);
        printf("capacity %s\n", kwnn_result_string((kwnn_result)r));
        cap = sizeof y / sizeof y[0];
        r = (int)kwnn_run_shapes(&net, xs, &in, ys, &cap, &out, scratch, size, 2, &need, msg);
        printf("run %s\n", kwnn_result_string((kwnn_result)r));
        fwrite(y, sizeof(float), 2 * out.dims[0], o);
    }
    in.dims[0] = 0;
    r = (int)kwnn_run_shapes(&net, xs, &in, ys, &cap, &out, scratch, size, 2, &need, msg);
    printf("zero %s %s\n", kwnn_result_string((kwnn_result)r), msg);
    fclose(o);
    free(scratch);
    kwnn_free(&net);
    kwb_close(&f);
    return 0;
}
"""


def test_c_calls_with_shapes(tmp_path):
    src = tmp_path / "shapes.c"
    src.write_text(C_PROGRAM)
    exe = tmp_path / "shapes"
    _compile(exe, src, *CFLAGS)
    model = _stacked_encoder()
    path = _save(model, tmp_path)
    lengths = (1, 5, 64)
    result = subprocess.run([str(exe), str(path), str(tmp_path / "out.bin"), *map(str, lengths)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["variable 1", "kwnn_run shape"], lines
    for k, t in enumerate(lengths):
        assert lines[2 + 5 * k:7 + 5 * k] == [f"size {t} ok 1 3 ", "tiny scratch 1", "short scratch 1",
                                              "capacity size", "run ok"], lines
    assert lines[-1].startswith("zero shape input 0 of shape (0, 4)"), lines
    got = np.fromfile(tmp_path / "out.bin", np.float32)
    expected = []
    for t in lengths:
        x = np.stack([(np.arange(t * 4, dtype=np.float32) / np.float32(10) - 1).reshape(t, 4)] * 2)
        expected.append(model.predict(x, verbose=0).ravel())
    assert _difference(got, np.concatenate(expected)) <= TOLERANCE
