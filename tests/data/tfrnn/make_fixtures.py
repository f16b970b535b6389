#!/usr/bin/env python3
"""Generate the tf.keras recurrent fixtures (issue #14) in tests/data/tfrnn/.

In .venv-tf only, like tests/data/tfops/make_fixtures.py and with the same options
(--only NAME, --list): ``nice -n 10 .venv-tf/bin/python tests/data/tfrnn/make_fixtures.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tfkeras_fixtures import Case, main, tf_keras  # noqa: E402

K = tf_keras
L = tf_keras.layers
# Keras 2's GPU-only layers, still in tf-keras 2.21's v1 API (not in tf.compat.v1.keras, which is Keras 3).
from tf_keras.api._v1.keras.layers import CuDNNGRU, CuDNNLSTM  # noqa: E402

STEPS = 7
FEATURES = 4
VOCAB = 20


def _seq(layer: Any, steps: int | None = STEPS, features: int = FEATURES) -> Any:
    """x of shape (steps, features) -> layer (a list of outputs when it returns states)."""
    def build() -> Any:
        x = K.Input((steps, features), name="x")
        return K.Model(x, layer()(x), name="m")
    return build


def _stacked_lstm() -> Any:
    x = K.Input((None, 6), name="x")  # batch and time both None: the model's input shape is (None, None, 6)
    h = L.LSTM(8, return_sequences=True, name="lstm_1")(x)
    h = L.LSTM(6, return_sequences=True, name="lstm_2")(h)
    h = L.LSTM(5, name="lstm_3")(h)
    return K.Model(x, L.Dense(3, activation="softmax", name="out")(h), name="stacked_lstm")


def _stacked_gru() -> Any:
    x = K.Input((None, 6), name="x")
    h = L.GRU(8, return_sequences=True, name="gru_1")(x)
    h = L.GRU(5, return_sequences=True, reset_after=False, name="gru_2")(h)
    return K.Model(x, L.TimeDistributed(L.Dense(2), name="td")(h), name="stacked_gru")


def _text_bilstm() -> Any:
    ids = K.Input((None,), name="ids")
    e = L.Embedding(VOCAB, 6, mask_zero=True, name="emb")(ids)
    h = L.Bidirectional(L.LSTM(5), name="bilstm")(e)
    return K.Model(ids, L.Dense(2, activation="softmax", name="out")(h), name="text_bilstm")


def _masking_lstm() -> Any:
    x = K.Input((None, FEATURES), name="x")
    m = L.Masking(mask_value=0.0, name="masking")(x)
    return K.Model(x, L.LSTM(5, return_sequences=True, name="lstm")(m), name="masking_lstm")


def _padded_ids(rng: np.random.Generator, shape: list[int]) -> np.ndarray:
    """Ids in [1, VOCAB) then zeros (padding) from a random length on; row 0 is not padded."""
    ids = rng.integers(1, VOCAB, shape)
    for row in range(1, shape[0]):
        ids[row, int(rng.integers(1, shape[1] + 1)):] = 0
    return ids


def _zeroed_steps(rng: np.random.Generator, shape: list[int]) -> np.ndarray:
    """normal(0, 1) with some whole time steps set to 0 (masked by Masking), inner and trailing."""
    x = rng.normal(0.0, 1.0, shape)
    x[1, 2, :] = 0.0
    x[2, -2:, :] = 0.0
    return x


def _holed_ids(rng: np.random.Generator, shape: list[int]) -> np.ndarray:
    """Padded ids (see _padded_ids), then row 1 padded on the left and a hole in row 2: masks that
    are not a prefix."""
    ids = _padded_ids(rng, shape)
    ids[1, :2] = 0
    ids[1, 2] = 5  # not all padding (a masked mean over no step is 0 / 0)
    ids[2, 1] = 0
    return ids


def _masked_model(name: str, body: Any, masking: bool = False) -> Any:
    """ids (None,) -> Embedding(VOCAB, 6, mask_zero=True) (or x (None, 4) -> Masking(0.0)) -> body."""
    def build() -> Any:
        if masking:
            x = K.Input((None, FEATURES), name="x")
            h = L.Masking(mask_value=0.0, name="masking")(x)
        else:
            x = K.Input((None,), name="ids")
            h = L.Embedding(VOCAB, 6, mask_zero=True, name="emb")(x)
        return K.Model(x, body(h), name=name)
    return build


def _mask_lstm_gru(h: Any) -> Any:
    h = L.LSTM(5, return_sequences=True, name="lstm")(h)
    return L.Dense(2, name="out")(L.GRU(4, go_backwards=True, name="gru")(h))


def _mask_bigru_gap(h: Any) -> Any:
    h = L.Bidirectional(L.GRU(4, return_sequences=True, reset_after=False), merge_mode="sum", name="bigru")(h)
    return L.Dense(2, name="out")(L.GlobalAveragePooling1D(name="gap")(L.Dropout(0.2, name="drop")(h)))


def _mask_td_dense_lstm(h: Any) -> Any:
    h = L.TimeDistributed(L.Dense(5), name="td")(h)
    return L.LSTM(4, return_sequences=True, name="lstm")(L.Activation("tanh", name="act")(h))


def _mask_dense_dropout(h: Any) -> Any:
    h = L.LayerNormalization(name="ln")(L.Dropout(0.3, name="drop")(L.Dense(6, name="dense")(h)))
    h = L.SimpleRNN(4, return_sequences=True, name="rnn")(h)
    return L.GlobalAveragePooling1D(name="gap")(L.Dense(3, activation="relu", name="d2")(h))


def _mask_attention(h: Any) -> Any:
    q = L.Dense(6, name="q")(h)
    a = L.Attention(use_scale=True, name="att")([q, h])
    b = L.AdditiveAttention(name="add_att")([h, a])
    return L.Dense(2, name="out")(L.Add(name="sum")([a, b]))


def _mask_mha(h: Any) -> Any:
    a = L.MultiHeadAttention(2, 3, name="mha")(h, h)
    h = L.LayerNormalization(name="ln")(L.Add(name="res")([h, a]))
    return L.Dense(2, name="out")(L.GlobalAveragePooling1D(name="gap")(h))


def _mask_dropped(h: Any) -> Any:
    """LSTM without return_sequences drops the mask (so does Conv1D): the GRU after sees none."""
    c = L.Conv1D(4, 1, name="conv")(h)
    last = L.LSTM(5, name="lstm")(h)
    h = L.GRU(3, return_sequences=True, name="gru")(L.RepeatVector(3, name="rep")(last))
    return L.Concatenate(name="cat")([L.Flatten(name="flat")(h), L.GlobalAveragePooling1D(name="gap")(c)])


MASK_CASES = [
    ("mask_zero_lstm_gru", _mask_lstm_gru, False,
     "Embedding(mask_zero) -> LSTM(5, seq) -> GRU(4, go_backwards) -> Dense(2): the mask passes the LSTM"),
    ("mask_zero_bigru_gap", _mask_bigru_gap, False,
     "Embedding(mask_zero) -> Bidirectional(GRU(4, seq, reset_after=False), sum) -> Dropout -> "
     "GlobalAveragePooling1D (masked mean) -> Dense(2)"),
    ("masking_td_dense_lstm", _mask_td_dense_lstm, True,
     "Masking(0.0) -> TimeDistributed(Dense(5)) -> Activation(tanh) -> LSTM(4, seq): the mask passes both"),
    ("mask_zero_dense_dropout_gap", _mask_dense_dropout, False,
     "Embedding(mask_zero) -> Dense(6) -> Dropout -> LayerNormalization -> SimpleRNN(4, seq) -> Dense(3, relu) "
     "-> GlobalAveragePooling1D: the mask passes Dense, Dropout, LayerNormalization, the RNN and Dense"),
    ("mask_zero_attention", _mask_attention, False,
     "Embedding(mask_zero) -> Attention(use_scale)([Dense(q), h]) and AdditiveAttention([h, that]) -> Add -> "
     "Dense(2): query masks (masked rows 0) and value masks"),
    ("mask_zero_mha", _mask_mha, False,
     "Embedding(mask_zero) -> MultiHeadAttention(2, 3)(h, h) -> Add residual -> LayerNormalization -> "
     "GlobalAveragePooling1D (tf.keras: the residual keeps the mask)"),
    ("mask_zero_dropped", _mask_dropped, False,
     "Embedding(mask_zero) -> LSTM(5) (no sequences: mask dropped) -> RepeatVector(3) -> GRU(3, seq), and "
     "Conv1D(4, 1) (drops it) -> GlobalAveragePooling1D (plain mean); Flatten + Concatenate"),
]


def _mask_case(name: str, body: Any, masking: bool, note: str) -> Case:
    draw = _zeroed_steps if masking else _holed_ids
    what = ("steps of zeros" if masking else "ids as float32 holding integers, padded right, one row left, "
            "one with a hole")
    return Case(name, _masked_model(name, body, masking), f"{note}; {what}; 8 steps, more_runs of 5",
                time_steps=8, runs=(5,), draw=draw)


def _cudnn(kind: str) -> Any:
    layer = CuDNNLSTM if kind == "lstm" else CuDNNGRU
    return _seq(lambda: layer(5, return_sequences=True, name=kind))


def _plain_twin(kind: str) -> Any:
    """The layer tf.keras converts CuDNN weights to, loading the CuDNN model's .h5 by load_weights."""
    def expected(path: Path, _model: Any) -> Any:
        x = K.Input((STEPS, FEATURES), name="x")
        if kind == "lstm":
            layer = L.LSTM(5, return_sequences=True, name=kind)
        else:
            layer = L.GRU(5, return_sequences=True, reset_after=True, recurrent_activation="sigmoid", name=kind)
        model = K.Model(x, layer(x), name="m")
        model.load_weights(path)
        return model
    return expected


def _how(kind: str) -> str:
    twin = ("LSTM(5, return_sequences=True)" if kind == "lstm" else
            "GRU(5, return_sequences=True, reset_after=True, recurrent_activation='sigmoid')")
    return (f"CuDNN layers do not run on CPU: a model of {twin}, same layer name, loaded the .h5 with "
            "model.load_weights(path) (tf-keras converts CuDNN weights on load, see below), and its predict "
            "gave the outputs")


def _bidirectional(mode: str | None) -> Case:
    name = f"bidirectional_{mode or 'none'}"
    note = (f"Bidirectional(LSTM(4, return_sequences=True), merge_mode={mode!r})"
            + (": two outputs, forward then backward" if mode is None else ""))
    return Case(name, _seq(lambda: L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=mode, name="bi")),
                note)


def _bidi_own_backward(mode: str | None, back_units: int = 4, state: bool = False, steps: int | None = STEPS,
                       forward_backwards: bool = False) -> Any:
    """Bidirectional(LSTM(4), backward_layer=GRU(back_units, reset_after=False, relu)); with return_state an
    LSTM(back_units) backward layer (tf.keras, like Keras 3, assumes as many states both ways).  Both with biases:
    tf-keras's .h5 loader splits a Bidirectional's weights in halves (one without a bias does not reload)."""
    def build() -> Any:
        x = K.Input((steps, FEATURES), name="x")
        forward = L.LSTM(4, return_sequences=not state, return_state=state, go_backwards=forward_backwards,
                         name="fw")
        if state:
            backward = L.LSTM(back_units, return_state=True, go_backwards=not forward_backwards, activation="relu",
                              name="bw")
        else:
            backward = L.GRU(back_units, return_sequences=True, go_backwards=not forward_backwards, reset_after=False,
                             activation="relu", name="bw")
        outs = L.Bidirectional(forward, backward_layer=backward, merge_mode=mode, name="bi")(x)
        return K.Model(x, outs, name="m")
    return build


def _frame_cnn() -> Any:
    return K.Sequential([K.Input((10, 9, 3)), L.Conv2D(4, 3, activation="relu", name="conv"),
                         L.MaxPooling2D(2, name="pool"), L.Flatten(name="flat"), L.Dense(6, activation="tanh",
                                                                                          name="dense")],
                        name="frame_cnn")


def _video_td_model(frames: int | None) -> Any:
    def build() -> Any:
        x = K.Input((frames, 10, 9, 3), name="video")
        h = L.TimeDistributed(_frame_cnn(), name="frames")(x)
        return K.Model(x, L.Dense(2, name="head")(L.LSTM(5, name="lstm")(h)), name="video")
    return build


def _td_residual_model() -> Any:
    step = K.Input((5,), name="step")
    h = L.Dense(5, activation="tanh", name="d1")(step)
    h = L.Add(name="residual")([step, h])
    h = L.Concatenate(name="cat")([h, L.Dense(2, name="d2")(step)])
    block = K.Model(step, L.Dense(3, name="d3")(h), name="block")
    x = K.Input((None, 5), name="x")
    return K.Model(x, L.GRU(4, name="gru")(L.TimeDistributed(block, name="blocks")(x)), name="blocks_model")


WRAPPER_CASES = [
    *[Case(f"bidi_lstm_gru_{mode or 'none'}", _bidi_own_backward(mode, back_units=3 if mode == "concat" else 4),
           f"Bidirectional(LSTM(4, seq), backward_layer=GRU({3 if mode == 'concat' else 4}, seq, go_backwards, "
           f"reset_after=False, relu), merge_mode={mode!r})"
           + (": concat of 4 + 3" if mode == "concat" else ": two outputs" if mode is None else ""))
      for mode in ("concat", "sum", "mul", "ave", None)],
    Case("bidi_lstm_lstm_return_state", _bidi_own_backward("concat", back_units=3, state=True),
         "Bidirectional(LSTM(4, return_state), backward_layer=LSTM(3, return_state, go_backwards, relu)): "
         "outputs [concat of 4 + 3, forward h, c, backward h, c]"),
    Case("bidi_forward_go_backwards", _bidi_own_backward("concat", back_units=3, forward_backwards=True),
         "Bidirectional(LSTM(4, seq, go_backwards=True), backward_layer=GRU(3, seq, go_backwards=False, ...)): "
         "the directions swapped"),
    Case("bidi_lstm_gru_none_time", _bidi_own_backward("concat", back_units=3, steps=None),
         f"as bidi_lstm_gru_concat over (None, 4): saved batch of {STEPS} steps, more_runs of 2 and 9 steps",
         time_steps=STEPS, runs=(2, 9)),
    Case("td_sequential_cnn_video", _video_td_model(4),
         "video (4, 10, 9, 3) -> TimeDistributed(Sequential(Conv2D(4, 3, relu), MaxPooling2D(2), Flatten, "
         "Dense(6, tanh))) -> LSTM(5) -> Dense(2)"),
    Case("td_sequential_cnn_none_frames", _video_td_model(None),
         "as td_sequential_cnn_video over None frames: saved batch of 4 frames, more_runs of 1 and 6",
         time_steps=4, runs=(1, 6)),
    Case("td_functional_residual", _td_residual_model,
         "(None, 5) -> TimeDistributed(functional: Dense(5, tanh), Add residual, Concatenate with Dense(2), "
         f"Dense(3)) -> GRU(4); saved batch of {STEPS} steps, more_runs of 3", time_steps=STEPS, runs=(3,)),
]


CASES = [
    Case("lstm", _seq(lambda: L.LSTM(5, name="lstm")), "LSTM(5): the last output"),
    Case("lstm_sequences_backwards", _seq(lambda: L.LSTM(5, return_sequences=True, go_backwards=True, name="lstm")),
         "LSTM(5, return_sequences=True, go_backwards=True): outputs in reversed time order, as Keras gives them"),
    Case("lstm_return_state", _seq(lambda: L.LSTM(5, return_sequences=True, return_state=True, name="lstm")),
         "LSTM(5, return_sequences=True, return_state=True): outputs [sequences, h, c]"),
    Case("lstm_activations_nobias", _seq(lambda: L.LSTM(4, activation="relu", recurrent_activation="hard_sigmoid",
                                                       use_bias=False, name="lstm")),
         "LSTM(4, activation='relu', recurrent_activation='hard_sigmoid' (tf.keras: clip(0.2x + 0.5, 0, 1)), "
         "use_bias=False)"),
    Case("lstm_unroll", _seq(lambda: L.LSTM(5, unroll=True, return_sequences=True, name="lstm")),
         "LSTM(5, unroll=True, return_sequences=True)"),
    Case("gru_reset_after", _seq(lambda: L.GRU(5, return_sequences=True, name="gru")),
         "GRU(5, return_sequences=True), tf.keras 2 default reset_after=True (bias of shape (2, 15))"),
    Case("gru_reset_before", _seq(lambda: L.GRU(5, reset_after=False, return_sequences=True, name="gru")),
         "GRU(5, reset_after=False, return_sequences=True) (bias of shape (15,))"),
    Case("gru_return_state_backwards", _seq(lambda: L.GRU(5, return_state=True, go_backwards=True, reset_after=False,
                                                          name="gru")),
         "GRU(5, return_state=True, go_backwards=True, reset_after=False): outputs [last, h]"),
    Case("simple_rnn", _seq(lambda: L.SimpleRNN(5, return_sequences=True, name="rnn")),
         "SimpleRNN(5, return_sequences=True) (tanh)"),
    Case("simple_rnn_relu_nobias", _seq(lambda: L.SimpleRNN(5, activation="relu", use_bias=False, name="rnn")),
         "SimpleRNN(5, activation='relu', use_bias=False)"),
    *[_bidirectional(mode) for mode in ("concat", "sum", "mul", "ave", None)],
    Case("bidirectional_backward_layer",
         _seq(lambda: L.Bidirectional(L.GRU(4, name="fwd"), backward_layer=L.GRU(3, go_backwards=True,
                                                                                 reset_after=False, name="bwd"),
                                      name="bi")),
         "Bidirectional(GRU(4), backward_layer=GRU(3, go_backwards=True, reset_after=False)): concat of 4 + 3"),
    Case("stacked_lstm_none_time", _stacked_lstm,
         "input shape (None, None, 6): LSTM(8, seq) -> LSTM(6, seq) -> LSTM(5) -> Dense(3, softmax); "
         f"saved batch of {STEPS} steps, more_runs of 3, 12 and 1 steps", time_steps=STEPS, runs=(3, 12, 1)),
    Case("stacked_gru_none_time", _stacked_gru,
         "input shape (None, None, 6): GRU(8, seq) -> GRU(5, seq, reset_after=False) -> TimeDistributed(Dense(2)); "
         f"saved batch of {STEPS} steps, more_runs of 4 and 10 steps", time_steps=STEPS, runs=(4, 10)),
    Case("text_bilstm_mask_zero", _text_bilstm,
         f"ids (None,) -> Embedding({VOCAB}, 6, mask_zero=True) -> Bidirectional(LSTM(5)) -> Dense(2, softmax); "
         "ids as float32 holding integers, rows 1 and 2 padded with trailing zeros; 8 steps, more_runs of 5",
         time_steps=8, runs=(5,), draw=_padded_ids),
    Case("masking_lstm", _masking_lstm,
         "Masking(0.0) -> LSTM(5, return_sequences=True) over (None, 4); step 2 of row 1 and the last 2 steps of "
         "row 2 are zeros (masked: state carried over, output repeated)", time_steps=STEPS, draw=_zeroed_steps),
    Case("cudnn_lstm", _cudnn("lstm"), "Keras 2 CuDNNLSTM(5, return_sequences=True): kernel (4, 20), "
         "recurrent_kernel (5, 20), bias (40,) (input and recurrent biases)", expected=_plain_twin("lstm"),
         how=_how("lstm")),
    Case("cudnn_gru", _cudnn("gru"), "Keras 2 CuDNNGRU(5, return_sequences=True): kernel (4, 15), "
         "recurrent_kernel (5, 15), bias (30,)", expected=_plain_twin("gru"), how=_how("gru")),
    *[_mask_case(*args) for args in MASK_CASES],
    *WRAPPER_CASES,
]


MANIFEST = """\
# tf.keras recurrent fixtures (issue #14)

{count} cases: tiny tf.keras models of SimpleRNN, LSTM, GRU (reset_after true and false), Bidirectional
(every merge mode, a separate backward layer), stacked encoders over a `None` time axis, masking, and
Keras 2's CuDNNLSTM / CuDNNGRU; and the wrapper cases (`bidi_*`: a backward layer of another class and
units in every merge mode, return_state, over a `None` axis; `td_*`: TimeDistributed around a Sequential
CNN and a functional model with a residual). Made by **tensorflow-cpu {tf} / tf-keras {tfk}** (numpy {np}, h5py {h5py},
Python {py}, CPU), in `.venv-tf` (requirements/tf.txt; `make check-tfkeras` creates it), with

    nice -n 10 .venv-tf/bin/python tests/data/tfrnn/make_fixtures.py            # all cases
    nice -n 10 .venv-tf/bin/python tests/data/tfrnn/make_fixtures.py --only NAME # one case, same numbers

which also writes `cases.json` and this file. TensorFlow is never needed by `make test`:
`tests/test_keras_tfrnn.py` checks that every file packs with `kwbin pack`, with the weights tf.keras saved.

## Files of a case `<case>`

- `<case>.h5`: `model.save(path, save_format="h5")`, a tf.keras full-model HDF5 file. Every weight set from
  `numpy.random.default_rng(seed)`, seed = CRC-32 of the case name: kernels (2-D and more)
  normal(0, 1/sqrt(fan_in)), vectors (biases) normal(0, 0.3).
- `<case>.in<i>.npy`: input `i`, batch of {batch}, float32, normal(0, 1) from the same generator (token ids and
  masked steps where the note says). Time steps: {steps} unless the note says otherwise.
- `<case>.out<i>.npy`: `model.predict(inputs, verbose=0)`, output `i` in `model.outputs` order, float32.
- `<case>.t<T>.in<i>.npy` / `.out<i>.npy`: for the models with a `None` time axis, further runs of `T` steps
  (`more_runs` in cases.json), predicted by the same model.
- `cases.json`: per case the file names, shapes and dtypes (`time_steps` for variable-length models);
  `layers` (top-level classes of the model config); `tolerance` (1e-5, relative above 1:
  1e-5 * max(1, max_abs_output)); `max_abs_output`; `seed`; `note`; `verify` (max |predict of the .h5
  reloaded in a fresh session - out.npy|; null for CuDNN, which cannot run on CPU); `expected_outputs`
  where the outputs do not come from the file's own model.

## CuDNN files

`cudnn_lstm.h5` and `cudnn_gru.h5` hold models of `tf_keras.api._v1.keras.layers.CuDNNLSTM` / `CuDNNGRU`
(tf-keras 2.21 still has them, in its v1 API; `tf.compat.v1.keras` is Keras 3 in TF 2.21). Building and
saving work on CPU; running does not. Their outputs come from the equivalent plain layer:
{cudnn_how}

## Facts the C side needs

- tf.keras 2 `GRU` defaults to `reset_after=True` (bias `(2, 3*units)`: input and recurrent biases);
  `reset_after=False` has bias `(3*units,)`. Gate order in the fused kernels: LSTM i, f, c, o; GRU z, r, h.
- tf.keras 2 `hard_sigmoid` is `clip(0.2 * x + 0.5, 0, 1)` (Keras 3's is `relu6(x + 3) / 6`).
- `go_backwards=True` with `return_sequences=True`: Keras returns the outputs in the reversed (processing)
  order.
- CuDNN weights (tf-keras's `_convert_rnn_weights`, checked here against a NumPy LSTM/GRU within 1.5e-7):
  the kernels are stored per gate in cuDNN's layout. Split `kernel` (in, n*units) into its n gate blocks
  (LSTM i, f, c, o; GRU z, r, h, the same order as the plain layers); each input block `k` of shape
  (in, units) becomes `k.T.reshape((in, units), order="F")`, each recurrent block is transposed. LSTM bias
  `(8*units,)` = input biases then recurrent biases: the plain LSTM's bias is their sum. GRU bias
  `(6*units,)` reshaped to `(2, 3*units)` is GRU(reset_after=True)'s bias (input row, recurrent row); CuDNN
  GRU is GRU(reset_after=True, recurrent_activation="sigmoid"), CuDNN LSTM is LSTM with tanh/sigmoid.

## Cases

| case | inputs -> outputs | layers | note | max abs output |
|---|---|---|---|---|
{rows}
"""


def _shapes(entries: list[dict[str, Any]]) -> str:
    return ", ".join("x".join(map(str, e["shape"])) for e in entries)


def render(index: dict[str, Any]) -> str:
    rows = [f"| `{name}` | {_shapes(c['inputs'])} -> {_shapes(c['outputs'])} | {', '.join(c['layers'])} | "
            f"{c['note']} | {c['max_abs_output']:.3g} |" for name, c in index["cases"].items()]
    how = "\n".join(f"- `{n}`: {c['expected_outputs']}." for n, c in index["cases"].items() if "expected_outputs" in c)
    return MANIFEST.format(count=len(index["cases"]), tf=index["tensorflow_version"], tfk=index["tf_keras_version"],
                           np=index["numpy_version"], h5py=index["h5py_version"], py=index["python_version"],
                           batch=index["batch"], steps=STEPS, cudnn_how=how, rows="\n".join(rows))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], CASES, HERE, "tests/data/tfrnn/make_fixtures.py", render))
