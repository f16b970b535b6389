"""Masking in the C inference (c_reader/nn/48_masking.h, the RNN runners of 45_recurrent.h).

Keras 3 writes a functional model's masks into its graph (Embedding(mask_zero=True) as a
NotEqual operation node, Masking as Any(NotEqual(x, v))), passed to the layers that take one as
mask=.  Live Keras 3 models, packed and run by kwbin-run, must equal Keras's predictions to 1e-5
(NaN where Keras gives NaN: global average pooling of an all-masked row is 0 / 0):

- the masked text classifier (Embedding mask_zero + Bidirectional LSTM + pooling + Dense),
  with right- and left-padded rows, a hole, an all-padding row;
- SimpleRNN / LSTM / GRU with return_sequences, go_backwards, zero_output_for_mask;
- the Masking layer feeding two RNNs through a Dense;
- a None time axis at several lengths;
- an RNN called with initial_state: Keras passes it no mask (several tensors), its sequences
  carry the mask on;
- an RNN and the pooling called with training=: Keras passes the mask without recording it;
- refusals: a mask of the wrong shape, a Sequential whose mask Keras does not record.
"""

from __future__ import annotations

import numpy as np
import pytest

from kwbin.keras import pack

from test_c_inference import TOLERANCE, _difference, _error, kwbin_run, kwbin_run_asan  # noqa: F401
from test_c_ops import _infer, _run, _seeded

keras = pytest.importorskip("keras")
L = keras.layers
STEPS = 7


def _ids(rng, batch=5, steps=STEPS, vocab=20) -> np.ndarray:
    x = rng.integers(1, vocab, (batch, steps))
    x[0, 4:] = 0  # right padding
    x[1, :3] = 0  # left padding
    x[2, 2] = 0   # a hole
    if batch > 4:
        x[4, :] = 0  # all padding
    return x.astype(np.float32)


def _check(exe, model, x, tmp_path):
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    want = np.asarray(model.predict(x, verbose=0), np.float32)
    (got,) = _infer(exe, tmp_path / "m.kwb", [x], 1, tmp_path)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert want[ok].std() > 1e-4
    assert _difference(np.where(ok, got, 0), np.where(ok, want, 0)) <= TOLERANCE
    return got, want


def _text_classifier(pool: str, mask_zero: bool = True):
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    h = L.Embedding(20, 6, mask_zero=mask_zero, name="emb")(inp)
    h = L.Bidirectional(L.LSTM(5, return_sequences=True), name="bi1")(h)
    if pool == "gap":
        h = L.GlobalAveragePooling1D(name="gap")(h)
    else:
        h = L.Bidirectional(L.LSTM(4), name="bi2")(h)
    out = L.Dense(1, activation="sigmoid", name="out")(h)
    return _seeded(keras.Model(inp, out), 4)


@pytest.mark.parametrize("pool", ["gap", "bilstm"])
def test_the_masked_text_classifier(pool, kwbin_run, tmp_path):  # noqa: F811
    model = _text_classifier(pool)
    x = _ids(np.random.default_rng(1))
    got, want = _check(kwbin_run, model, x, tmp_path)
    # the mask matters: the same model without it gives other numbers
    unmasked = _text_classifier(pool, mask_zero=False).predict(x, verbose=0)
    assert np.nanmax(np.abs(unmasked[:4] - want[:4])) > 1e-3


def test_the_masked_text_classifier_under_asan(kwbin_run_asan, tmp_path):  # noqa: F811
    _check(kwbin_run_asan, _text_classifier("gap"), _ids(np.random.default_rng(2)), tmp_path)


@pytest.mark.parametrize("layer", [
    lambda: L.SimpleRNN(4, return_sequences=True, name="r"),
    lambda: L.LSTM(4, name="r"),
    lambda: L.LSTM(4, return_sequences=True, go_backwards=True, name="r"),
    lambda: L.GRU(4, return_sequences=True, name="r"),
    lambda: L.GRU(4, go_backwards=True, reset_after=False, name="r"),
    lambda: L.LSTM(4, return_sequences=True, zero_output_for_mask=True, name="r"),
    lambda: L.GRU(4, zero_output_for_mask=True, name="r"),  # Keras: the last output, 0 when masked
    lambda: L.Bidirectional(L.GRU(4, return_sequences=True), merge_mode="sum", name="r"),
    lambda: L.Bidirectional(L.SimpleRNN(4, return_sequences=True), merge_mode="ave", name="r"),
])
def test_recurrent_layers_skip_masked_steps(layer, kwbin_run, tmp_path):  # noqa: F811
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    out = layer()(L.Embedding(20, 3, mask_zero=True, name="emb")(inp))
    _check(kwbin_run, _seeded(keras.Model(inp, out), 6), _ids(np.random.default_rng(3), batch=4), tmp_path)


def test_the_masking_layer_reaches_rnns_through_a_dense(kwbin_run, tmp_path):  # noqa: F811
    keras.backend.clear_session()
    inp = keras.Input((STEPS, 3), name="x")
    h = L.LSTM(4, return_sequences=True, name="l1")(L.Masking(mask_value=0.5, name="msk")(inp))
    out = L.GRU(3, name="g")(L.Dense(4, name="d")(h))
    x = np.random.default_rng(4).standard_normal((4, STEPS, 3)).astype(np.float32)
    x[0, 5:] = 0.5
    x[1, :2] = 0.5
    x[2, 3] = 0.5
    x[3, 1, 0] = 0.5  # one feature only: not masked
    _check(kwbin_run, _seeded(keras.Model(inp, out), 8), x, tmp_path)


def test_a_mask_on_a_none_time_axis(kwbin_run, tmp_path):  # noqa: F811
    keras.backend.clear_session()
    inp = keras.Input((None,), name="ids")
    h = L.Embedding(20, 4, mask_zero=True, name="emb")(inp)
    out = L.Dense(2, name="out")(L.GlobalAveragePooling1D(name="gap")(L.GRU(3, return_sequences=True, name="g")(h)))
    model = _seeded(keras.Model(inp, out), 5)
    for steps in (5, 9):
        _check(kwbin_run, model, _ids(np.random.default_rng(steps), batch=4, steps=steps), tmp_path)


@pytest.mark.parametrize("stack", [
    lambda: [L.Dense(2)],  # no layer takes the mask
    lambda: [L.Bidirectional(L.LSTM(4, return_sequences=True)), L.GlobalAveragePooling1D(), L.Dense(2)],
    lambda: [L.Dense(5), L.Dropout(0.2), L.GRU(3, go_backwards=True)],  # the mask passes Dense and Dropout
    lambda: [L.LSTM(4, return_sequences=True), L.GRU(3)],  # and an RNN returning sequences
])
def test_a_sequential_passes_the_embedding_mask_as_keras_does(stack, kwbin_run, tmp_path):  # noqa: F811
    """A Sequential's config records no mask: the chain follows it from the mask_zero Embedding."""
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((STEPS,)), L.Embedding(20, 3, mask_zero=True), *stack()])
    _check(kwbin_run, _seeded(model, 2), _ids(np.random.default_rng(6), batch=4), tmp_path)


def test_a_call_with_training_gets_its_mask_unrecorded(kwbin_run, tmp_path):  # noqa: F811
    """Called with training=, an RNN and the pooling get their mask from Keras at run time, the
    config does not record it (61_implicit_masks.h follows it); they ran unmasked before."""
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    e = L.Embedding(20, 4, mask_zero=True, name="emb")(inp)
    g = L.GRU(3, return_sequences=True, name="g")(e, training=False)
    out = L.GlobalAveragePooling1D(name="gap")(L.LSTM(2, return_sequences=True, name="l")(g), training=False)
    _check(kwbin_run, _seeded(keras.Model(inp, out), 4), _ids(np.random.default_rng(10), batch=4), tmp_path)


def test_an_rnn_with_initial_state_gets_no_mask(kwbin_run, tmp_path):  # noqa: F811
    """Keras passes mask= only to a call of one tensor: with initial_state the GRU runs every step
    (the padding included), and its sequences carry the mask on to the attention after it."""
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    s0 = keras.Input((3,), name="s0")
    e = L.Embedding(20, 4, mask_zero=True, name="emb")(inp)
    g = L.GRU(3, return_sequences=True, name="g")(e, initial_state=[s0])
    out = L.Dense(2, name="out")(L.Attention(name="att")([g, g]))
    model = _seeded(keras.Model([inp, s0], out), 3)
    rng = np.random.default_rng(9)
    x = _ids(rng, batch=4)
    s = rng.standard_normal((4, 3)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    want = model.predict([x, s], verbose=0)
    (got,) = _infer(kwbin_run, tmp_path / "m.kwb", [x, s], 1, tmp_path)
    assert want.std() > 1e-4 and _difference(got, want) <= TOLERANCE


def _refusal(exe, model, x, tmp_path) -> str:
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    line = _error(_run(exe, tmp_path / "m.kwb", [x], 1, tmp_path))
    assert not (tmp_path / "out0.npy").exists()
    return line


def test_masks_refused_where_they_cannot_be_honoured(kwbin_run, tmp_path):  # noqa: F811
    x = _ids(np.random.default_rng(7), batch=3)
    keras.backend.clear_session()  # a layer that takes the mask (its call has mask=) in a Sequential
    seq = keras.Sequential([keras.Input((STEPS,)), L.Embedding(20, 3, mask_zero=True),
                            L.BatchNormalization(name="bn"), L.LSTM(2, name="l")])
    line = _refusal(kwbin_run, seq, x, tmp_path)
    assert "'bn' (BatchNormalization)" in line and "Sequential" in line, line
    keras.backend.clear_session()
    seq = keras.Sequential([keras.Input((STEPS, 1)), L.Masking(), L.LSTM(2, name="l")])
    line = _refusal(kwbin_run, seq, x[..., None], tmp_path)
    assert "'l' (LSTM)" in line and "Masking" in line, line
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    other = keras.Input((STEPS - 2,), name="other")
    e = L.Embedding(20, 4, name="emb")(inp)
    out = L.LSTM(2, name="l")(e, mask=keras.ops.not_equal(other, 0))
    model = keras.Model([inp, other], out)
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", [x, x[:, :-2]], 1, tmp_path))
    assert "'l' (LSTM)" in line and "mask has shape (5,)" in line, line


def _relabelled(src, dst, **metadata) -> None:
    """The same file with metadata keys replaced (e.g. the Keras generation)."""
    import kwbin

    with kwbin.open(src) as f, kwbin.Writer(dst, metadata={**f.metadata, **metadata}) as w:
        for layer in f.layers:
            w.add_layer(layer.name, layer.class_name, config=layer.config, parent=layer.parent)
            for name in layer.tensors:
                t = f.info(name)
                w.add_tensor(name, f[name], layer=layer.name, weight=t.weight, source=t.source)


def test_a_tf_keras_identity_stops_a_sequential_mask(kwbin_run, tmp_path):  # noqa: F811
    """tf.keras's Identity does not support masking (Keras 3's does): in a Keras 1 / 2 file the
    chain must not carry the Embedding's mask past it into the LSTM."""
    x = _ids(np.random.default_rng(8), batch=3)
    keras.backend.clear_session()
    seq = _seeded(keras.Sequential([keras.Input((STEPS,)), L.Embedding(20, 3, mask_zero=True, name="emb"),
                                    L.Identity(name="same"), L.LSTM(2, name="l")]), 8)
    got, _ = _check(kwbin_run, seq, x, tmp_path)  # Keras 3: the mask goes through
    _relabelled(tmp_path / "m.kwb", tmp_path / "k2.kwb", generation="keras2")
    line = _error(_run(kwbin_run, tmp_path / "k2.kwb", [x], 1, tmp_path))
    assert "'l' (LSTM)" in line and "Sequential" in line, line
