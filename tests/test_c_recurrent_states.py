"""Several outputs of one recurrent call (return_state) and initial_state inputs in the C inference
(c_reader/nn/45_recurrent.h: the call's value holds its output then its states; the graph's PART
nodes copy each out, as keras_history's third element names them).

- live Keras 3 models packed by kwbin.keras.save_model and run by build/kwbin-run equal Keras's
  predict within 1e-5 (relative above 1) for every output: an LSTM encoder whose h and c start a
  GRU decoder (initial_state as Keras 3 records it, in the call's kwargs), the states among the
  model's outputs, Bidirectional LSTM / GRU with return_state (the forward's states, then the
  backward's; merge_mode None: its two outputs first), initial states given as model inputs, a None time axis fed several lengths, and a
  return_state layer whose states no one reads;
- under ASan/UBSan too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from test_c_inference import TOLERANCE, _difference, _keras, kwbin_run, kwbin_run_asan  # noqa: F401
from test_c_variable import _normal, _seeded


def _run_all(exe: Path, model, xs: list[np.ndarray], tmp: Path) -> list[np.ndarray]:
    import subprocess

    from kwbin.keras import save_model

    save_model(model, tmp / "model.kwb")
    cmd = [str(exe), str(tmp / "model.kwb")]
    for i, x in enumerate(xs):
        np.save(tmp / f"in{i}.npy", x)
        cmd.append(str(tmp / f"in{i}.npy"))
    for j in range(len(model.outputs)):
        cmd += ["-o", str(tmp / f"out{j}.npy")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return [np.load(tmp / f"out{j}.npy") for j in range(len(model.outputs))]


def _check(exe: Path, model, xs: list[np.ndarray], tmp: Path) -> None:
    expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    if not isinstance(expected, list):
        expected = [expected]
    got = _run_all(exe, model, xs, tmp)
    assert len(got) == len(expected)
    for j, (g, e) in enumerate(zip(got, expected)):
        assert _difference(g, e) <= TOLERANCE, (j, _difference(g, e))


def _encoder_decoder(steps):
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    src, tgt = keras.Input((steps, 3), name="src"), keras.Input((steps, 2), name="tgt")
    enc, h, c = L.LSTM(4, return_state=True, return_sequences=True, name="enc")(src)
    dec, dh, dc = L.LSTM(4, return_sequences=True, return_state=True, name="dec")(tgt, initial_state=[h, c])
    gru = L.GRU(4, reset_after=False, name="gru")(enc, initial_state=dh)
    model = keras.Model([src, tgt], [L.Dense(2, name="head")(dec), gru, dc, h])
    _seeded(model, 7)
    return model


def test_encoder_decoder_states(kwbin_run, tmp_path):  # noqa: F811
    _check(kwbin_run, _encoder_decoder(6), [_normal((3, 6, 3), 0), _normal((3, 6, 2), 1)], tmp_path)


def test_encoder_decoder_states_over_a_none_axis(kwbin_run, kwbin_run_asan, tmp_path):  # noqa: F811
    model = _encoder_decoder(None)
    for steps in (1, 9):
        _check(kwbin_run, model, [_normal((2, steps, 3), steps), _normal((2, steps, 2), steps + 1)], tmp_path)
    _check(kwbin_run_asan, model, [_normal((2, 4, 3), 0), _normal((2, 4, 2), 1)], tmp_path)


@pytest.mark.parametrize("cell,merge,sequences", [("LSTM", "concat", False), ("GRU", "sum", True),
                                                  ("SimpleRNN", "ave", False), ("LSTM", "mul", True),
                                                  ("LSTM", None, True), ("GRU", None, False)])
def test_bidirectional_states_and_initial_states(kwbin_run, tmp_path, cell, merge, sequences):  # noqa: F811
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    n_states = 2 if cell == "LSTM" else 1
    inp = keras.Input((5, 3), name="x")
    init = [keras.Input((3,), name=f"s{i}") for i in range(2 * n_states)]
    layer = L.Bidirectional(getattr(L, cell)(3, return_state=True, return_sequences=sequences), merge_mode=merge,
                            name="bi")
    outs = layer(inp, initial_state=init)
    model = keras.Model([inp, *init], list(outs))  # merge_mode None: the forward's, the backward's outputs first
    _seeded(model, 8)
    xs = [_normal((2, 5, 3), 2)] + [_normal((2, 3), 3 + i) for i in range(2 * n_states)]
    _check(kwbin_run, model, xs, tmp_path)


def test_states_nobody_reads(kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((4, 3))
    out, _, _ = L.LSTM(4, return_state=True, name="lstm")(inp)
    model = keras.Model(inp, L.Dense(2, name="d")(out))
    _seeded(model, 9)
    _check(kwbin_run, model, [_normal((2, 4, 3), 5)], tmp_path)
