"""Issue #14's wrapper cases in the C inference (c_reader/nn/45_recurrent.h): a Bidirectional whose
backward_layer is a recurrent layer of its own (another class, units, activations, use_bias,
reset_after), and TimeDistributed around a nested model.

- live Keras 3 models packed by kwbin and run by build/kwbin-run equal Keras's predict within 1e-5
  (relative above 1), every output: Bidirectional(LSTM, backward_layer=GRU) in every merge mode
  (None: two outputs), different units with concat, return_state (the forward's states, then the
  backward's), initial states, go_backwards on the forward layer instead, behind a mask_zero
  Embedding, over a None time axis fed several lengths; also under ASan/UBSan;
- refused at load in one line naming the layer: merge_mode sum of different units, directions that
  differ in return_sequences or share go_backwards (files written by hand: Keras cannot make them),
  a backward kernel of the wrong shape.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from test_c_inference import TOLERANCE, _difference, _error, _keras, _run, kwbin_run, kwbin_run_asan  # noqa: F401
from test_c_recurrent_states import _check
from test_c_variable import _normal, _seeded


def _bidi(merge, steps=5, back_units=3, return_state=False, sequences=True, forward_backwards=False,
          mask=False, back="GRU"):
    """ids or x -> Bidirectional(LSTM(3), backward_layer=GRU(back_units, reset_after=False, relu, no bias)),
    or an LSTM(back_units, tanh, no bias) backward layer (return_state: Keras 3 assumes both directions
    give as many states)."""
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    if mask:
        inp = keras.Input((steps,), name="ids")
        x = L.Embedding(12, 4, mask_zero=True, name="emb")(inp)
    else:
        inp = x = keras.Input((steps, 4), name="x")
    forward = L.LSTM(3, return_sequences=sequences, return_state=return_state, go_backwards=forward_backwards,
                     recurrent_activation="hard_sigmoid", name="fw")
    options = {"reset_after": False, "activation": "relu"} if back == "GRU" else {}
    backward = getattr(L, back)(back_units, return_sequences=sequences, return_state=return_state,
                                go_backwards=not forward_backwards, use_bias=False, name="bw", **options)
    outs = L.Bidirectional(forward, backward_layer=backward, merge_mode=merge, name="bi")(x)
    outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
    model = keras.Model(inp, outs)
    _seeded(model, 11)
    return model


def _ids(batch, steps, seed):
    x = np.random.default_rng(seed).integers(1, 12, (batch, steps))
    x[0, steps // 2:] = 0  # right padding
    x[1, :2] = 0  # left padding
    return x.astype(np.float32)


@pytest.mark.parametrize("merge", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("sequences", [True, False])
def test_bidirectional_with_a_gru_backward_layer(kwbin_run, tmp_path, merge, sequences):  # noqa: F811
    _check(kwbin_run, _bidi(merge, sequences=sequences), [_normal((3, 5, 4), 1)], tmp_path)


def test_backward_layer_of_other_units_concatenated(kwbin_run, tmp_path):  # noqa: F811
    model = _bidi("concat", back_units=5)
    assert model.predict(_normal((3, 5, 4), 2), verbose=0).shape == (3, 5, 8)  # Keras's symbolic shape says 6
    _check(kwbin_run, model, [_normal((3, 5, 4), 2)], tmp_path)
    _check(kwbin_run, _bidi(None, back_units=2, sequences=False), [_normal((3, 5, 4), 3)], tmp_path)


@pytest.mark.parametrize("merge", ["concat", None, "sum"])
def test_return_state_of_both_directions(kwbin_run, tmp_path, merge):  # noqa: F811
    model = _bidi(merge, back_units=3 if merge == "sum" else 2, return_state=True, back="LSTM")
    assert len(model.outputs) == (2 if merge is None else 1) + 4  # the forward's h, c, then the backward's
    _check(kwbin_run, model, [_normal((2, 5, 4), 4)], tmp_path)


def test_go_backwards_on_the_forward_layer(kwbin_run, tmp_path):  # noqa: F811
    for sequences in (True, False):
        _check(kwbin_run, _bidi("concat", back_units=2, sequences=sequences, forward_backwards=True),
               [_normal((3, 5, 4), 5)], tmp_path)


@pytest.mark.parametrize("merge", ["concat", "ave", None])
@pytest.mark.parametrize("sequences", [True, False])
def test_behind_a_mask_zero_embedding(kwbin_run, tmp_path, merge, sequences):  # noqa: F811
    model = _bidi(merge, steps=6, back_units=3 if merge == "ave" else 4, sequences=sequences, mask=True)
    _check(kwbin_run, model, [_ids(4, 6, 6)], tmp_path)


def test_over_a_none_time_axis(kwbin_run, kwbin_run_asan, tmp_path):  # noqa: F811
    model = _bidi("concat", steps=None, back_units=5, return_state=True, back="LSTM")
    for steps in (1, 3, 8):
        _check(kwbin_run, model, [_normal((2, steps, 4), steps)], tmp_path)
    _check(kwbin_run_asan, model, [_normal((2, 4, 4), 9)], tmp_path)
    masked = _bidi(None, steps=None, back_units=2, mask=True)
    for steps in (3, 7):
        _check(kwbin_run, masked, [_ids(3, steps, steps)], tmp_path)
    _check(kwbin_run_asan, masked, [_ids(3, 5, 1)], tmp_path)


def test_initial_states_of_both_directions(kwbin_run, tmp_path):  # noqa: F811
    """The backward layer's initial states follow the forward's, also without return_state."""
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((5, 3), name="x")
    init = [keras.Input((u,), name=f"s{i}") for i, u in enumerate((3, 3, 2, 2))]
    layer = L.Bidirectional(L.LSTM(3, return_sequences=True, name="fw"), name="bi",
                            backward_layer=L.LSTM(2, return_sequences=True, go_backwards=True, name="bw"))
    model = keras.Model([inp, *init], layer(inp, initial_state=init))
    _seeded(model, 12)
    _check(kwbin_run, model, [_normal((2, 5, 3), 1)] + [_normal((2, u), 2 + i) for i, u in enumerate((3, 3, 2, 2))],
           tmp_path)


# ---------------------------------------------------------------------------
# Refused at load, in one line naming the layer
# ---------------------------------------------------------------------------


def _hand_written(tmp: Path, exe: Path, backward: dict, merge="concat", kernel_rows=3) -> str:
    """A Bidirectional(SimpleRNN(2)) whose backward_layer config is `backward` (a GRU's weights)."""
    import kwbin

    units = backward["units"]
    forward = {"name": "fw", "units": 2, "return_sequences": True}
    config = {"name": "bi", "merge_mode": merge, "layer": {"class_name": "SimpleRNN", "config": forward},
              "backward_layer": {"class_name": "GRU", "config": {"name": "bw", **backward}}}
    weights = {"forward_fw/simple_rnn_cell/kernel": (3, 2), "forward_fw/simple_rnn_cell/recurrent_kernel": (2, 2),
               "forward_fw/simple_rnn_cell/bias": (2,), "bw/gru_cell/kernel": (kernel_rows, 3 * units),
               "bw/gru_cell/recurrent_kernel": (units, 3 * units), "bw/gru_cell/bias": (2, 3 * units)}
    with kwbin.Writer(tmp / "m.kwb", metadata={"generation": "keras3"}) as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 4, 3]})
        w.add_layer("bi", "Bidirectional", config=json.loads(json.dumps(config)))
        for name, shape in weights.items():
            w.add_tensor(f"bi/{name}", np.zeros(shape, np.float32), layer="bi", weight=name)
    np.save(tmp / "in.npy", np.zeros((1, 4, 3), np.float32))
    result = _run(exe, tmp / "m.kwb", tmp / "in.npy", tmp / "out.npy")
    return "" if result.returncode == 0 and result.stderr == "" else _error(result)


def test_refused_backward_layers(kwbin_run, tmp_path):  # noqa: F811
    good = {"units": 2, "return_sequences": True, "go_backwards": True}
    line = _hand_written(tmp_path, kwbin_run, {**good, "return_sequences": False})
    assert "'bi' (Bidirectional)" in line and "return_sequences or return_state" in line, line
    line = _hand_written(tmp_path, kwbin_run, {**good, "go_backwards": False})
    assert "'bi' (Bidirectional)" in line and "go_backwards" in line, line
    line = _hand_written(tmp_path, kwbin_run, {**good, "units": 3}, merge="sum")
    assert "'bi' (Bidirectional)" in line and "merge_mode sum of directions of different units" in line, line
    line = _hand_written(tmp_path, kwbin_run, good, kernel_rows=4)
    assert "'bi' (Bidirectional)" in line and "'bw/gru_cell/kernel' has shape (4, 6), expected (3, 6)" in line, line
    line = _hand_written(tmp_path, kwbin_run, {**good, "units": 3})  # concat of 2 + 3 units: runs
    assert line == "", line
