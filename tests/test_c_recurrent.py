"""Embedding and the recurrent layers in the C inference (c_reader/nn/45_recurrent.h, kwbin-run).

- live Keras 3 models (seeded weights, a batch of 3, 6 time steps, 3 or 4 features) packed by
  kwbin.keras.save_model and run by build/kwbin-run equal Keras's predict within 1e-5:
  Embedding (float ids), SimpleRNN, LSTM, GRU (reset_after true and false) with return_sequences,
  go_backwards, unroll, use_bias false, every activation / recurrent_activation family;
  Bidirectional (merge_mode concat, sum, mul, ave) and TimeDistributed(Dense);
- an Embedding id that is not an integer in [0, input_dim) is a run error (input_value), never a
  read out of bounds (also under ASan/UBSan);
- options not run yet (stateful, mask_zero) are refused at load in
  one line naming the layer, its class and the option.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_c_inference import (  # noqa: F401
    TOLERANCE, _difference, _error, _infer, _keras, _run, kwbin_run, kwbin_run_asan)

BATCH, STEPS = 3, 6


def _model(layers, shape, dtype="float32"):
    keras = _keras()
    inp = keras.Input(shape, dtype=dtype)
    x = inp
    for layer in layers:
        x = layer(x)
    return keras.Model(inp, x)


def _seeded(model, seed: int) -> None:
    """Every weight from one seeded generator (Keras initialises biases to 0)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, np.shape(w)).astype(np.float32) for w in model.get_weights()])


def _compare(exe: Path, model, x: np.ndarray, tmp: Path) -> float:
    from kwbin.keras import save_model

    expected = model.predict(x, verbose=0)
    save_model(model, tmp / "model.kwb")
    return _difference(_infer(exe, tmp / "model.kwb", x, tmp), expected)


def _sequences(features: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 1000).normal(0.0, 1.0, (BATCH, STEPS, features)).astype(np.float32)


def _rnn_cases():
    """(id, layer builder, features)."""
    L = _keras().layers
    return [
        ("simple_rnn", lambda: L.SimpleRNN(5), 3),
        ("simple_rnn_seq_relu", lambda: L.SimpleRNN(4, activation="relu", return_sequences=True), 4),
        ("simple_rnn_backwards_nobias", lambda: L.SimpleRNN(5, go_backwards=True, use_bias=False), 3),
        ("lstm", lambda: L.LSTM(4), 3),
        ("lstm_seq", lambda: L.LSTM(5, return_sequences=True), 4),
        ("lstm_backwards_seq", lambda: L.LSTM(4, go_backwards=True, return_sequences=True), 3),
        ("lstm_unroll", lambda: L.LSTM(4, unroll=True), 3),
        ("lstm_nobias", lambda: L.LSTM(3, use_bias=False, return_sequences=True), 4),
        ("lstm_acts", lambda: L.LSTM(4, activation="relu", recurrent_activation="hard_sigmoid"), 3),
        ("lstm_softsign_silu", lambda: L.LSTM(4, activation="softsign", recurrent_activation="silu",
                                              return_sequences=True), 3),
        ("gru", lambda: L.GRU(4), 3),
        ("gru_seq", lambda: L.GRU(5, return_sequences=True), 4),
        ("gru_reset_before", lambda: L.GRU(4, reset_after=False, return_sequences=True), 3),
        ("gru_reset_before_nobias", lambda: L.GRU(4, reset_after=False, use_bias=False), 4),
        ("gru_nobias", lambda: L.GRU(4, use_bias=False, go_backwards=True), 3),
        ("gru_backwards_unroll", lambda: L.GRU(3, go_backwards=True, unroll=True, return_sequences=True), 4),
        ("gru_acts", lambda: L.GRU(4, activation="elu", recurrent_activation="hard_sigmoid"), 3),
        ("gru_softmax", lambda: L.GRU(4, activation="softmax", recurrent_activation="tanh"), 3),
    ]


def _rnn_ids():
    try:
        return [c[0] for c in _rnn_cases()]
    except pytest.skip.Exception:
        return []


@pytest.mark.parametrize("case", _rnn_ids())
def test_recurrent_layer_equals_keras(case, kwbin_run, tmp_path):  # noqa: F811
    build, features = {c[0]: (c[1], c[2]) for c in _rnn_cases()}[case]
    seed = sum(map(ord, case))
    _keras().utils.set_random_seed(seed)
    model = _model([build()], (STEPS, features))
    _seeded(model, seed)
    assert _compare(kwbin_run, model, _sequences(features, seed), tmp_path) <= TOLERANCE


def test_stacked_recurrent_layers_and_a_dense_head(kwbin_run, tmp_path):  # noqa: F811
    L = _keras().layers
    model = _model([L.LSTM(5, return_sequences=True), L.GRU(4, return_sequences=True, reset_after=False),
                    L.SimpleRNN(3), L.Dense(2)], (STEPS, 4))
    _seeded(model, 7)
    assert _compare(kwbin_run, model, _sequences(4, 7), tmp_path) <= TOLERANCE


def _wrapper_cases():
    L = _keras().layers
    return [
        ("bidi_lstm_concat_seq", lambda: L.Bidirectional(L.LSTM(3, return_sequences=True)), 3),
        ("bidi_gru_sum", lambda: L.Bidirectional(L.GRU(4), merge_mode="sum"), 4),
        ("bidi_gru_reset_before_mul_seq",
         lambda: L.Bidirectional(L.GRU(3, reset_after=False, return_sequences=True), merge_mode="mul"), 3),
        ("bidi_simple_rnn_ave", lambda: L.Bidirectional(L.SimpleRNN(4, use_bias=False), merge_mode="ave"), 3),
        ("bidi_separate_backward_layer", lambda: L.Bidirectional(
            L.GRU(3, return_sequences=True),
            backward_layer=L.GRU(3, return_sequences=True, go_backwards=True, name="back")), 3),
        ("time_distributed_dense", lambda: L.TimeDistributed(L.Dense(5, activation="tanh")), 3),
    ]


def _wrapper_ids():
    try:
        return [c[0] for c in _wrapper_cases()]
    except pytest.skip.Exception:
        return []


@pytest.mark.parametrize("case", _wrapper_ids())
def test_wrapper_equals_keras(case, kwbin_run, tmp_path):  # noqa: F811
    build, features = {c[0]: (c[1], c[2]) for c in _wrapper_cases()}[case]
    seed = sum(map(ord, case))
    _keras().utils.set_random_seed(seed)
    model = _model([build()], (STEPS, features))
    _seeded(model, seed)
    assert _compare(kwbin_run, model, _sequences(features, seed), tmp_path) <= TOLERANCE


def _ids(input_dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, input_dim, (BATCH, STEPS)).astype(np.float32)


def test_embedding_then_lstm_equals_keras(kwbin_run, tmp_path):  # noqa: F811
    L = _keras().layers
    model = _model([L.Embedding(11, 4), L.LSTM(5, return_sequences=True)], (STEPS,))
    _seeded(model, 3)
    ids = _ids(11, 3)
    ids[0, 0], ids[1, 1] = 0, 10  # both ends of the table
    assert _compare(kwbin_run, model, ids, tmp_path) <= TOLERANCE


def test_embedding_of_int32_inputs_and_rank_2_ids(kwbin_run, tmp_path):  # noqa: F811
    """An int32 Input (the ids arrive as floats in kwnn_run) and ids of shape (2, 3) per sample."""
    L = _keras().layers
    model = _model([L.Embedding(7, 3)], (2, 3), dtype="int32")
    _seeded(model, 4)
    ids = np.random.default_rng(4).integers(0, 7, (BATCH, 2, 3))
    from kwbin.keras import save_model

    expected = model.predict(ids.astype(np.int32), verbose=0)
    save_model(model, tmp_path / "model.kwb")
    got = _infer(kwbin_run, tmp_path / "model.kwb", ids.astype(np.float32), tmp_path)
    assert _difference(got, expected) <= TOLERANCE


@pytest.mark.parametrize("bad", [7.0, -1.0, 2.5, float("nan"), float("inf"), -0.5, 1e30])
def test_embedding_id_out_of_range_is_a_run_error(bad, kwbin_run, tmp_path):  # noqa: F811
    from kwbin.keras import save_model

    L = _keras().layers
    model = _model([L.Embedding(7, 3)], (STEPS,))
    save_model(model, tmp_path / "model.kwb")
    ids = _ids(7, 5)
    ids[2, STEPS - 1] = bad
    np.save(tmp_path / "in.npy", ids)
    line = _error(_run(kwbin_run, tmp_path / "model.kwb", tmp_path / "in.npy", tmp_path / "out.npy"))
    assert "input_value" in line, line


def test_embedding_and_recurrent_run_clean_under_asan_and_ubsan(kwbin_run_asan, tmp_path):  # noqa: F811
    L = _keras().layers
    model = _model([L.Embedding(9, 4), L.GRU(3, return_sequences=True, reset_after=False),
                    L.LSTM(4, go_backwards=True), L.Dense(2)], (STEPS,))
    _seeded(model, 9)
    assert _compare(kwbin_run_asan, model, _ids(9, 9), tmp_path) <= TOLERANCE
    from kwbin.keras import save_model

    save_model(model, tmp_path / "model.kwb")
    ids = _ids(9, 9)
    ids[1, 2] = 9.0  # one past the table
    np.save(tmp_path / "in.npy", ids)
    assert "input_value" in _error(_run(kwbin_run_asan, tmp_path / "model.kwb", tmp_path / "in.npy",
                                        tmp_path / "out.npy"))


# ---------------------------------------------------------------------------
# Refused at load, in one line naming the layer, its class and the option
# ---------------------------------------------------------------------------


# mask_zero and Masking run since 48_masking.h (tests/test_c_masking.py); a Bidirectional's own
# backward_layer and TimeDistributed(a model) since #14's wrappers (tests/test_c_wrappers.py).


def test_refused_files_written_by_hand(kwbin_run, tmp_path):  # noqa: F811
    """A rank-1 input, Keras 1 per-gate weights, a kernel of the wrong shape, stateful."""
    import kwbin

    def file(config: dict, weights: dict, shape=(STEPS, 3)) -> str:
        with kwbin.Writer(tmp_path / "m.kwb", metadata={"generation": "keras2"}) as w:
            w.add_layer("input", "InputLayer", config={"batch_input_shape": [None, *shape]})
            w.add_layer("rnn", "SimpleRNN", config={"units": 2, **config})
            for name, array in weights.items():
                w.add_tensor(f"rnn/{name}", np.zeros(array, np.float32), layer="rnn", weight=name)
        np.save(tmp_path / "in.npy", np.zeros((1, *shape), np.float32))
        return _error(_run(kwbin_run, tmp_path / "m.kwb", tmp_path / "in.npy", tmp_path / "out.npy"))

    good = {"kernel": (3, 2), "recurrent_kernel": (2, 2), "bias": (2,)}
    line = file({}, good, (18,))
    assert "'rnn' (SimpleRNN)" in line and "(time steps, features)" in line, line
    line = file({}, {"W": (3, 2), "U": (2, 2), "b": (2,)})  # Keras 1's names, not as the importer packs them
    assert "'rnn' (SimpleRNN)" in line and "unexpected weight 'W'" in line, line
    line = file({}, {**good, "kernel": (4, 2)})
    assert "'rnn' (SimpleRNN)" in line and "'kernel' has shape (4, 2), expected (3, 2)" in line, line
    line = file({"stateful": True}, good)
    assert "'rnn' (SimpleRNN)" in line and "stateful" in line, line
    line = file({"return_state": True}, good)  # a chain has no way to name the states
    assert "'rnn' (SimpleRNN)" in line and "return_state or merge_mode None outside a functional" in line, line
    line = file({"use_bias": False}, good)
    assert "unexpected weight 'bias'" in line, line
