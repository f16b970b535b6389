"""TimeDistributed around any supported single-input layer in the C inference (45_recurrent.h: the
wrapped layer is loaded for one step's shape and runs on the batch's steps as its batch).

- live Keras 3 models packed by kwbin.keras.save_model and run by build/kwbin-run equal Keras's
  predict within 1e-5 (relative above 1): a video model TimeDistributed(Conv2D) ->
  TimeDistributed(MaxPooling2D) -> TimeDistributed(Flatten) -> LSTM, with a fixed number of frames
  and with a None one fed several lengths; TimeDistributed(GRU) over a 4-d input;
  TimeDistributed(Conv1D), (Dense) on rank 4, (GlobalAveragePooling1D); also under ASan/UBSan;
- a wrapped model or wrapper is refused at load naming the class.
"""

from __future__ import annotations

import pytest

from test_c_inference import _keras, kwbin_run, kwbin_run_asan  # noqa: F401
from test_c_variable import _check_lengths as _check
from test_c_variable import _normal, _seeded


def _video(frames):
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inp = keras.Input((frames, 10, 9, 3))
    x = L.TimeDistributed(L.Conv2D(4, 3, activation="relu"), name="conv")(inp)
    x = L.TimeDistributed(L.MaxPooling2D(2), name="pool")(x)
    x = L.TimeDistributed(L.Flatten(), name="flat")(x)
    x = L.LSTM(5, name="lstm")(x)
    model = keras.Model(inp, L.Dense(2, name="head")(x))
    _seeded(model, 1)
    return model


def test_video_model(kwbin_run, tmp_path):  # noqa: F811
    _check(kwbin_run, _video(4), [_normal((3, 4, 10, 9, 3), 0)], tmp_path)


def test_video_model_none_frames(kwbin_run, kwbin_run_asan, tmp_path):  # noqa: F811
    model = _video(None)
    _check(kwbin_run, model, [_normal((2, t, 10, 9, 3), t) for t in (1, 3, 7)], tmp_path)
    _check(kwbin_run_asan, model, [_normal((2, 2, 10, 9, 3), 5)], tmp_path)


@pytest.mark.parametrize("case", ["gru", "conv1d", "dense_rank4", "global_pool"])
def test_wrapped_layers(kwbin_run, tmp_path, case):  # noqa: F811
    keras = _keras()
    keras.backend.clear_session()
    L = keras.layers
    inner, shape = {
        "gru": (L.GRU(3, return_sequences=True), (3, 5, 4)),
        "conv1d": (L.Conv1D(3, 2, padding="same"), (4, 6, 2)),
        "dense_rank4": (L.Dense(3, activation="tanh"), (2, 3, 4, 5)),
        "global_pool": (L.GlobalAveragePooling1D(), (4, 6, 3)),
    }[case]
    inp = keras.Input(shape)
    model = keras.Model(inp, L.TimeDistributed(inner, name="td")(inp))
    _seeded(model, 2)
    _check(kwbin_run, model, [_normal((2, *shape), 3)], tmp_path)
