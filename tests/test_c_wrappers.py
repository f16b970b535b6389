"""Issue #14's wrapper cases in the C inference (c_reader/nn/45_recurrent.h): a Bidirectional whose
backward_layer is a recurrent layer of its own (another class, units, activations, use_bias,
reset_after), and TimeDistributed around a nested model.

- live Keras 3 models packed by kwbin and run by build/kwbin-run equal Keras's predict within 1e-5
  (relative above 1), every output: Bidirectional(LSTM, backward_layer=GRU) in every merge mode
  (None: two outputs), different units with concat, return_state (the forward's states, then the
  backward's), initial states, go_backwards on the forward layer instead, behind a mask_zero
  Embedding, over a None time axis fed several lengths; also under ASan/UBSan;
- TimeDistributed around a Sequential CNN (a video model) and around a functional model with a
  residual Add, a Concatenate and an operation node, fixed and None time axes fed several lengths,
  in a Sequential, from Keras 3's .keras and .h5 files; its cost is its layers' wrapped one by one;
- refused at load in one line naming the layer: merge_mode sum of different units, directions that
  differ in return_sequences or share go_backwards (files written by hand: Keras cannot make them),
  a backward kernel of the wrong shape; a wrapped model of two outputs, one packed without its layers,
  a TimeDistributed model or layer inside a TimeDistributed model.
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


# ---------------------------------------------------------------------------
# TimeDistributed around a nested model: its layers are the wrapper's rows (the importer), run by the
# graph with the steps as their batch (60_graph.h)
# ---------------------------------------------------------------------------


def _frame_cnn(keras):
    L = keras.layers
    return keras.Sequential([keras.Input((10, 9, 3)), L.Conv2D(4, 3, activation="relu", name="conv"),
                             L.MaxPooling2D(2, name="pool"), L.Flatten(name="flat"),
                             L.Dense(6, activation="tanh", name="dense")], name="frame_cnn")


def _video(frames):
    """A video model: TimeDistributed(Sequential CNN) per frame, then an LSTM over the frames."""
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((frames, 10, 9, 3), name="video")
    x = L.TimeDistributed(_frame_cnn(keras), name="frames")(inp)
    x = L.LSTM(5, name="lstm")(x)
    model = keras.Model(inp, L.Dense(2, name="head")(x))
    _seeded(model, 13)
    return model


def _residual_block(keras, width=5, op=True):
    """A functional model with a residual Add, a Concatenate and an operation node (h * 0.5; Keras 3's
    .h5 config does not record its module: left out there)."""
    L = keras.layers
    x = keras.Input((width,), name="step")
    h = L.Dense(width, activation="tanh", name="d1")(x)
    h = L.Add(name="residual")([x, h * 0.5 if op else h])
    h = L.Concatenate(name="cat")([h, L.Dense(2, name="d2")(x)])
    return keras.Model(x, L.Dense(3, name="d3")(h), name="block")


def _sequence_of_blocks(steps, op=True):
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((steps, 5), name="x")
    x = L.TimeDistributed(_residual_block(keras, op=op), name="blocks")(inp)
    model = keras.Model(inp, L.GRU(4, name="gru")(x))
    _seeded(model, 14)
    return model


def test_time_distributed_sequential_cnn_video_model(kwbin_run, kwbin_run_asan, tmp_path):  # noqa: F811
    _check(kwbin_run, _video(4), [_normal((3, 4, 10, 9, 3), 1)], tmp_path)
    _check(kwbin_run_asan, _video(2), [_normal((2, 2, 10, 9, 3), 2)], tmp_path)


def test_time_distributed_model_over_a_none_time_axis(kwbin_run, kwbin_run_asan, tmp_path):  # noqa: F811
    model = _video(None)
    for frames in (1, 3, 6):
        _check(kwbin_run, model, [_normal((2, frames, 10, 9, 3), frames)], tmp_path)
    _check(kwbin_run_asan, model, [_normal((2, 4, 10, 9, 3), 4)], tmp_path)
    blocks = _sequence_of_blocks(None)
    for steps in (1, 2, 7):
        _check(kwbin_run, blocks, [_normal((3, steps, 5), steps)], tmp_path)
    _check(kwbin_run_asan, blocks, [_normal((2, 5, 5), 9)], tmp_path)


def test_time_distributed_functional_model_with_a_residual(kwbin_run, tmp_path):  # noqa: F811
    _check(kwbin_run, _sequence_of_blocks(6), [_normal((3, 6, 5), 3)], tmp_path)


def test_time_distributed_model_in_a_sequential_and_on_rank_4(kwbin_run, tmp_path):  # noqa: F811
    """The wrapper in a Sequential (the table's chain) and a wrapped model of rank-2 steps."""
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inner = keras.Sequential([keras.Input((4, 3)), L.Conv1D(2, 2, name="c1"), L.GlobalMaxPooling1D(name="g")],
                             name="inner")
    model = keras.Sequential([keras.Input((5, 4, 3)), L.TimeDistributed(inner, name="td"),
                              L.TimeDistributed(L.Dense(3, name="d"), name="td_dense")], name="outer")
    _seeded(model, 15)
    _check(kwbin_run, model, [_normal((2, 5, 4, 3), 4)], tmp_path)


def test_time_distributed_sequential_without_an_input_layer(kwbin_run, tmp_path):  # noqa: F811
    """A Sequential built by its call (its config has no InputLayer)."""
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inner = keras.Sequential([L.Dense(4, activation="relu", name="a"), L.Dense(2, name="b")], name="inner")
    inp = keras.Input((6, 3))
    model = keras.Model(inp, L.TimeDistributed(inner, name="td")(inp))
    _seeded(model, 16)
    _check(kwbin_run, model, [_normal((3, 6, 3), 7)], tmp_path)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_time_distributed_model_from_keras_3_files(kwbin_run, tmp_path, suffix):  # noqa: F811
    """kwbin pack of the .keras archive and of the .h5 file: the wrapped model's weights as its layers'."""
    import subprocess

    from kwbin.keras import pack

    for model, x in ((_video(3), _normal((2, 3, 10, 9, 3), 5)), (_sequence_of_blocks(4, op=suffix == ".keras"), _normal((2, 4, 5), 6))):
        model.save(tmp_path / f"m{suffix}")
        pack(tmp_path / f"m{suffix}", tmp_path / "m.kwb")
        np.save(tmp_path / "in.npy", x)
        result = subprocess.run([str(kwbin_run), str(tmp_path / "m.kwb"), str(tmp_path / "in.npy"),
                                 str(tmp_path / "out.npy")], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert _difference(np.load(tmp_path / "out.npy"), model.predict(x, verbose=0)) <= TOLERANCE


def _rewrite(src: Path, dst: Path, edit_config=None, flatten_into: str | None = None) -> None:
    """Copy a kwbin file with its model config edited, or with the children of layer `flatten_into` and
    their tensors folded into that layer (as kwbin packed a wrapped model before it listed its layers)."""
    import kwbin

    with kwbin.open(src) as f:
        meta = dict(f.metadata)
        if edit_config is not None:
            meta["model_config"] = edit_config(json.loads(json.dumps(meta["model_config"])))
        with kwbin.Writer(dst, metadata=meta) as w:
            for layer in f.layers:
                if flatten_into is None or layer.parent != flatten_into:
                    w.add_layer(layer.name, layer.class_name, config=layer.config, parent=layer.parent)
            for t in f.tensors:
                owner = t.layer
                if flatten_into is not None and owner is not None and owner.startswith(flatten_into + "/"):
                    owner = flatten_into
                w.add_tensor(t.name, np.asarray(f[t.name]), layer=owner,
                             weight=t.name[len(owner) + 1:] if owner else t.weight)


def _fails(exe: Path, path: Path, x: np.ndarray, tmp: Path) -> str:
    np.save(tmp / "in.npy", x)
    return _error(_run(exe, path, tmp / "in.npy", tmp / "out.npy"))


def test_refused_time_distributed_models(kwbin_run, tmp_path):  # noqa: F811
    from kwbin.keras import save_model

    keras = _keras()
    L = keras.layers
    save_model(_sequence_of_blocks(4), tmp_path / "blocks.kwb")
    x = _normal((1, 4, 5), 0)

    def two_outputs(config):
        inner = config["config"]["layers"][1]["config"]["layer"]["config"]
        inner["output_layers"] = [inner["output_layers"], ["d2", 0, 0]]  # Keras 3 writes one as ["d3", 0, 0]
        return config

    _rewrite(tmp_path / "blocks.kwb", tmp_path / "two.kwb", edit_config=two_outputs)
    line = _fails(kwbin_run, tmp_path / "two.kwb", x, tmp_path)
    assert "'blocks' (TimeDistributed)" in line and "several inputs or outputs" in line, line
    _rewrite(tmp_path / "blocks.kwb", tmp_path / "old.kwb", flatten_into="blocks")
    line = _fails(kwbin_run, tmp_path / "old.kwb", x, tmp_path)
    assert "'blocks' (TimeDistributed)" in line and "layers the file does not list" in line, line

    keras.backend.clear_session()
    cell = keras.Sequential([keras.Input((4,)), L.Dense(2, name="d")], name="cell")
    row = keras.Sequential([keras.Input((3, 4)), L.TimeDistributed(cell, name="inner")], name="row")
    model = keras.Sequential([keras.Input((2, 3, 4)), L.TimeDistributed(row, name="outer")])
    save_model(model, tmp_path / "nested.kwb")
    line = _fails(kwbin_run, tmp_path / "nested.kwb", _normal((1, 2, 3, 4), 0), tmp_path)
    assert "TimeDistributed model inside a TimeDistributed model" in line, line
    keras.backend.clear_session()
    row = keras.Sequential([keras.Input((3, 4)), L.TimeDistributed(L.Dense(2, name="d"), name="inner")], name="row")
    model = keras.Sequential([keras.Input((2, 3, 4)), L.TimeDistributed(row, name="outer")])
    save_model(model, tmp_path / "nested2.kwb")
    line = _fails(kwbin_run, tmp_path / "nested2.kwb", _normal((1, 2, 3, 4), 0), tmp_path)
    assert "'outer/inner' (TimeDistributed)" in line and "unsupported inside a TimeDistributed model" in line, line


def test_cost_of_a_time_distributed_model_is_its_layers_per_step(kwbin_run, tmp_path):  # noqa: F811
    """The wrapped model's layers cost what the same layers cost wrapped one by one (T steps each)."""
    import re

    from kwbin.keras import save_model
    from test_c_graph import _run_multi

    keras = _keras()
    L = keras.layers

    def cost(model) -> int:
        save_model(model, tmp_path / "m.kwb")
        line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", [_normal((1, 4, 10, 9, 3), 0)], 1, tmp_path,
                                 "--max-cost", "1"), 1)
        found = re.search(r"costs (\d+) operations per sample", line)
        assert found, line
        return int(found.group(1))

    wrapped = cost(_video(4))
    keras.backend.clear_session()
    inp = keras.Input((4, 10, 9, 3))
    x = inp
    for layer in _frame_cnn(keras).layers:
        x = L.TimeDistributed(layer)(x)
    one_by_one = cost(keras.Model(inp, L.Dense(2)(L.LSTM(5)(x))))
    assert wrapped == one_by_one > 4 * (8 * 7 * 4 * 27)  # at least the convolution's multiply-adds


def test_a_mask_into_a_time_distributed_model_is_refused(kwbin_run, tmp_path):  # noqa: F811
    """Keras 3 passes each step's mask into the wrapped model: refused by name (functional and Sequential)."""
    from kwbin.keras import save_model

    keras = _keras()
    L = keras.layers
    x = _ids(3, 6, 0)
    for functional in (True, False):
        keras.backend.clear_session()
        sub = keras.Sequential([keras.Input((4,)), L.Dense(3, name="d")], name="sub")
        layers = [L.Embedding(12, 4, mask_zero=True, name="emb"), L.TimeDistributed(sub, name="td"),
                  L.LSTM(2, name="lstm")]
        if functional:
            ids = keras.Input((6,), name="ids")
            h = ids
            for layer in layers:
                h = layer(h)
            model = keras.Model(ids, h)
        else:
            model = keras.Sequential([keras.Input((6,)), *layers])
        save_model(model, tmp_path / "m.kwb")
        line = _fails(kwbin_run, tmp_path / "m.kwb", x, tmp_path)
        assert "'td' (TimeDistributed)" in line and "mask" in line, line


def test_initial_states_without_return_state(kwbin_run, tmp_path):  # noqa: F811
    """Regression: without return_state the backward direction took the forward's initial states (the
    header before #14's wrappers was 0.64 off here)."""
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((5, 3), name="x")
    init = [keras.Input((3,), name=f"s{i}") for i in range(4)]
    model = keras.Model([inp, *init], L.Bidirectional(L.LSTM(3, return_sequences=True), name="bi")(inp, initial_state=init))
    _seeded(model, 17)
    _check(kwbin_run, model, [_normal((2, 5, 3), 1)] + [_normal((2, 3), 2 + i) for i in range(4)], tmp_path)
