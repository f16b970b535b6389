"""Implicit masks in the C inference (c_reader/nn/61_implicit_masks.h): what Keras 3 passes
attention layers at run time without recording it in the config.

Attention, AdditiveAttention and MultiHeadAttention read the masks of their inputs (a mask_zero
Embedding's or a Masking layer's, carried by the layers between); MultiHeadAttention removes
them from its inputs while it runs, so a residual Add after it sees none.  Live Keras 3 models,
packed and run by kwbin-run, must equal Keras's predictions to 1e-5, rows of padding ids of
several lengths and fully padded rows included; the same model without the mask must differ
(the mask matters).  A mask C cannot represent is refused at load, naming the layer.
"""

from __future__ import annotations

import numpy as np
import pytest

from kwbin.keras import pack

from test_c_inference import TOLERANCE, _difference, _error, kwbin_run, kwbin_run_asan  # noqa: F401
from test_c_ops import _infer, _run, _seeded

keras = pytest.importorskip("keras")
L = keras.layers
STEPS = 6
VOCAB = 20


def _ids(seed: int, batch: int = 6, steps: int = STEPS) -> np.ndarray:
    x = np.random.default_rng(seed).integers(1, VOCAB, (batch, steps))
    x[0, 4:] = 0  # right padding
    x[1, 1:] = 0  # one token
    x[2, :2] = 0  # left padding
    x[3, 3] = 0  # a hole
    if batch > 4:
        x[4, :] = 0  # all padding
    return x.astype(np.float32)


def _check(exe, model, xs, tmp_path, unmasked=None):
    xs = xs if isinstance(xs, list) else [xs]
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    feed = xs if len(xs) > 1 else xs[0]
    want = np.asarray(model.predict(feed, verbose=0), np.float32)
    (got,) = _infer(exe, tmp_path / "m.kwb", xs, 1, tmp_path)
    assert np.isfinite(want).all() and want.std() > 1e-4
    assert _difference(got, want) <= TOLERANCE
    if unmasked is not None:  # the mask changes the answer: the test can fail
        other = np.asarray(unmasked.predict(feed, verbose=0), np.float32)
        assert np.abs(other - want).max() > 1e-3
    return got, want


def _transformer(mask_zero: bool, causal: bool, pool: str = "gap", steps: int | None = STEPS):
    """Token + position embeddings, a post-norm encoder block, average pooling, a classifier."""
    keras.backend.clear_session()
    ids = keras.Input((steps,), name="ids")
    pos = keras.Input((steps,), name="pos")
    tok = L.Embedding(VOCAB, 8, mask_zero=mask_zero, name="tok")(ids)
    h = L.Dense(8, name="proj")(tok)  # carries the mask
    p = L.Embedding(STEPS, 8, name="posemb")(pos)
    a = L.MultiHeadAttention(2, 4, name="mha")(h, h, use_causal_mask=causal)
    h = L.LayerNormalization(name="ln1")(L.Add(name="res1")([h, a]))
    h = L.Add(name="addpos")([h, p])
    f = L.Dense(8, name="ffn2")(L.Dense(16, activation="relu", name="ffn1")(h))
    h = L.LayerNormalization(name="ln2")(L.Add(name="res2")([h, f]))
    h = L.GlobalAveragePooling1D(name="gap")(h) if pool == "gap" else L.Flatten(name="flat")(h)
    out = L.Dense(3, name="out")(h)
    return _seeded(keras.Model([ids, pos], out), 11)


def _positions(batch: int, steps: int = STEPS) -> np.ndarray:
    return np.tile(np.arange(steps, dtype=np.float32), (batch, 1))


@pytest.mark.parametrize("causal", [False, True])
def test_a_transformer_text_classifier_with_padding(causal, kwbin_run, tmp_path):  # noqa: F811
    x = _ids(1, batch=5)  # row 4: all padding (every key masked: Keras attends uniformly)
    model = _transformer(True, causal, pool="flat")
    _check(kwbin_run, model, [x, _positions(5)], tmp_path, unmasked=_transformer(False, causal, pool="flat"))


def test_a_transformer_with_masked_pooling(kwbin_run, tmp_path):  # noqa: F811
    """The pooling's mask is recorded (the LogicalOr of the residual's); the attention's is not."""
    x = _ids(2, batch=4)  # no all-padding row: Keras's mean over no step is 0 / 0
    model = _transformer(True, False)
    _check(kwbin_run, model, [x, _positions(4)], tmp_path, unmasked=_transformer(False, False))


@pytest.mark.parametrize("causal", [False, True])
def test_a_transformer_over_a_none_time_axis(causal, kwbin_run, tmp_path):  # noqa: F811
    """The masks' steps follow the run's length (kwnn_run_shapes): 4 and 6 steps, padded rows."""
    model = _transformer(True, causal, steps=None)
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    for steps in (4, 6):
        x = _ids(steps, batch=4, steps=steps)
        xs = [x, _positions(4, steps)]
        want = np.asarray(model.predict(xs, verbose=0), np.float32)
        (got,) = _infer(kwbin_run, tmp_path / "m.kwb", xs, 1, tmp_path)
        assert want.std() > 1e-4 and _difference(got, want) <= TOLERANCE


def _attention(kind: str, source: str, on: bool = True, **kw):
    keras.backend.clear_session()
    if source == "embedding":
        inp = keras.Input((STEPS,), name="ids")
        h = L.Embedding(VOCAB, 5, mask_zero=on, name="emb")(inp)
    else:
        inp = keras.Input((STEPS, 3), name="x")
        h = L.Masking(0.0, name="msk")(inp) if on else inp
    q = L.Dense(5, name="q")(h)
    v = L.Dropout(0.1, name="drop")(L.Dense(5, activation="tanh", name="v")(h))
    layer = L.Attention(name="att", **kw) if kind == "dot" else L.AdditiveAttention(name="att", **kw)
    a = layer([q, v])
    out = L.Dense(2, name="out")(a)
    return _seeded(keras.Model(inp, out), 3)


def _features(seed: int, batch: int = 5) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((batch, STEPS, 3)).astype(np.float32)
    x[0, 4:] = 0
    x[1, :3] = 0
    x[2, 2] = 0
    x[3, 1, 0] = 0  # one feature only: not masked
    x[4] = 0  # all masked
    return x


@pytest.mark.parametrize("kind,kw", [
    ("dot", {}),
    ("dot", {"use_scale": True}),
    ("dot", {"score_mode": "concat"}),
    ("dot", {"score_mode": "concat", "use_scale": True}),
    ("additive", {}),
    ("additive", {"use_scale": False}),
])
@pytest.mark.parametrize("source", ["embedding", "masking"])
def test_attention_layers_honour_the_mask(kind, kw, source, kwbin_run, tmp_path):  # noqa: F811
    x = _ids(3) if source == "embedding" else _features(3)
    _check(kwbin_run, _attention(kind, source, **kw), x, tmp_path, unmasked=_attention(kind, source, on=False, **kw))


def test_causal_attention_with_a_mask(kwbin_run, tmp_path):  # noqa: F811
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    h = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(inp)
    a = L.Attention(use_scale=True, name="att")([h, h], use_causal_mask=True)
    out = L.Dense(2, name="out")(a)
    _check(kwbin_run, _seeded(keras.Model(inp, out), 5), _ids(4), tmp_path)


def _cross(on: bool = True):
    """Cross attention: the query and the value masked differently (two inputs)."""
    keras.backend.clear_session()
    a = keras.Input((STEPS,), name="a")
    b = keras.Input((STEPS + 2,), name="b")
    ha = L.Embedding(VOCAB, 8, mask_zero=on, name="ea")(a)
    hb = L.Dense(6, name="db")(L.Embedding(VOCAB, 6, mask_zero=on, name="eb")(b))
    m = L.MultiHeadAttention(2, 4, name="mha")(ha, hb)  # its result carries the query's mask
    hv = L.Dense(8, name="dv2")(L.Dense(8, name="dv1")(hb))  # dv1 runs before mha: it sees hb's mask
    at = L.Attention(name="att")([m, hv])
    out = L.Dense(2, name="out")(L.Concatenate(name="cat")([m, at]))
    return _seeded(keras.Model([a, b], out), 7)


def test_cross_attention_with_two_masks(kwbin_run, tmp_path):  # noqa: F811
    xa = _ids(5)
    xb = _ids(6, steps=STEPS + 2)
    xb[1] = 0  # a valid query over no valid key
    xb[4, 0] = 3  # the all-padding query row attends one key
    _check(kwbin_run, _cross(), [xa, xb], tmp_path, unmasked=_cross(False))


def test_attention_masks_under_asan(kwbin_run_asan, tmp_path):  # noqa: F811
    _check(kwbin_run_asan, _cross(), [_ids(7), _ids(8, steps=STEPS + 2)], tmp_path)
    _check(kwbin_run_asan, _attention("additive", "masking"), _features(9), tmp_path)


def _refusal(exe, model, xs, tmp_path) -> str:
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    line = _error(_run(exe, tmp_path / "m.kwb", xs if isinstance(xs, list) else [xs], 1, tmp_path))
    assert not (tmp_path / "out0.npy").exists()
    return line


def test_two_different_masks_merged_are_refused(kwbin_run, tmp_path):  # noqa: F811
    """Keras ORs the masks of an Add's inputs: the attention after it gets a mask C does not build."""
    keras.backend.clear_session()
    a = keras.Input((STEPS,), name="a")
    b = keras.Input((STEPS,), name="b")
    h = L.Add(name="add")([L.Embedding(VOCAB, 4, mask_zero=True, name="ea")(a),
                           L.Embedding(VOCAB, 4, mask_zero=True, name="eb")(b)])
    out = L.Attention(name="att")([h, h])
    line = _refusal(kwbin_run, _seeded(keras.Model([a, b], out), 1), [_ids(1), _ids(2)], tmp_path)
    assert "'att'" in line and "two different masks" in line


def test_a_masking_value_other_than_zero_is_refused_at_attention(kwbin_run, tmp_path):  # noqa: F811
    keras.backend.clear_session()
    inp = keras.Input((STEPS, 3), name="x")
    h = L.Masking(0.5, name="msk")(inp)
    out = L.Attention(name="att")([h, h])
    line = _refusal(kwbin_run, keras.Model(inp, out), _features(1), tmp_path)
    assert "'att'" in line and "mask_value" in line


@pytest.mark.filterwarnings("ignore:.*does not support masking")
def test_a_layer_without_supports_masking_drops_the_mask(kwbin_run, tmp_path):  # noqa: F811
    """Conv1D does not support masking: Keras drops the mask, the attention after it sees none."""
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    h = L.Conv1D(4, 1, name="conv")(L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(inp))
    out = L.Attention(name="att")([h, h])
    model = _seeded(keras.Model(inp, out), 2)
    x = _ids(3)
    got, want = _check(kwbin_run, model, x, tmp_path)
    # the padded steps attend and are attended to: row 4 (all padding) is not zero
    assert np.abs(want[4]).max() > 1e-3


def test_a_reader_keras_may_run_before_or_after_multi_head_attention_is_refused(kwbin_run, tmp_path):  # noqa: F811
    """MultiHeadAttention removes its inputs' masks while it runs; an Attention reading the same
    tensor at the same depth of the graph may run before or after it (Keras's order)."""
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    h = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(inp)
    m = L.MultiHeadAttention(1, 4, name="mha")(h, h)
    a = L.Attention(name="att")([h, h])
    out = L.Concatenate(name="cat")([m, a])
    line = _refusal(kwbin_run, _seeded(keras.Model(inp, out), 1), _ids(1), tmp_path)
    assert "'att'" in line and "MultiHeadAttention removes" in line


def test_a_residual_after_multi_head_attention_sees_no_mask(kwbin_run, tmp_path):  # noqa: F811
    """Keras 3 removes the mask of MultiHeadAttention's query while it runs: the residual Add
    after it ORs a masked and an unmasked input and gives none; the Attention after it attends
    to the padding (row 4, all padding, gives no zeros)."""
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    h = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(inp)
    s = L.Add(name="res")([h, L.MultiHeadAttention(1, 4, name="mha")(h, h)])
    out = L.Attention(name="att")([s, s])
    got, want = _check(kwbin_run, _seeded(keras.Model(inp, out), 2), _ids(2), tmp_path)
    assert np.abs(want[4]).max() > 1e-3


def test_a_shared_layer_reading_what_multi_head_attention_clears_is_refused(kwbin_run, tmp_path):  # noqa: F811
    """A shared layer's calls share one depth in Keras's run order, which C does not follow: the
    mask a reader of MultiHeadAttention's input sees is then unclear, refused where it matters."""
    keras.backend.clear_session()
    shared = L.Activation("tanh", name="shared")
    inp = keras.Input((STEPS,), name="ids")
    h = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(inp)
    r, r2 = shared(h), shared(L.Dense(4, name="pre")(h))
    m = L.MultiHeadAttention(1, 4, name="mha")(h, h)
    r2 = L.Dense(4, name="post2")(L.Dense(4, name="post1")(r2))  # (deeper: the packer keeps Keras's layer order)
    out = L.Concatenate(name="cat")([L.Attention(name="att")([r, r]), r2, m])
    line = _refusal(kwbin_run, _seeded(keras.Model(inp, out), 1), _ids(1), tmp_path)
    assert "'att'" in line and "shared layer" in line


def test_maximum_of_masked_inputs_and_a_time_concatenation_are_refused(kwbin_run, tmp_path):  # noqa: F811
    """Keras 3 fills the masked steps of Maximum / Minimum from the other input (values C does not
    make); a concatenation over the time axis makes a mask of other steps."""
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    h = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(inp)
    out = L.Maximum(name="max")([L.Dense(4, name="a")(h), L.Dense(4, name="b")(h)])
    line = _refusal(kwbin_run, _seeded(keras.Model(inp, out), 1), _ids(1), tmp_path)
    assert "'max'" in line and "Maximum" in line
    keras.backend.clear_session()
    inp = keras.Input((STEPS,), name="ids")
    h = L.Embedding(VOCAB, 4, mask_zero=True, name="emb")(inp)
    c = L.Concatenate(axis=1, name="cat")([h, h])
    out = L.Attention(name="att")([c, c])
    line = _refusal(kwbin_run, _seeded(keras.Model(inp, out), 1), _ids(1), tmp_path)
    assert "'att'" in line and "time axis" in line


def _attention_then_mha(mask_zero: bool):
    """Attention on the embedded ids, MultiHeadAttention on its output, average pooling: Keras 3
    records the pooling's mask as convert_to_tensor(not_equal(ids, 0)), an operation node."""
    keras.backend.clear_session()
    ids = keras.Input((STEPS,), name="ids")
    h = L.Embedding(VOCAB, 4, mask_zero=mask_zero, name="emb")(ids)
    a = L.Attention(name="att")([L.Dense(4, name="q")(h), h])
    out = L.GlobalAveragePooling1D(name="gap")(L.MultiHeadAttention(2, 2, name="mha")(a, a))
    return _seeded(keras.Model(ids, out), 3)


def test_a_mask_passed_through_convert_to_tensor(kwbin_run, tmp_path):  # noqa: F811
    import kwbin

    model = _attention_then_mha(True)
    _check(kwbin_run, model, _ids(5, batch=4), tmp_path, unmasked=_attention_then_mha(False))
    with kwbin.open(tmp_path / "m.kwb") as f:
        assert "ConvertToTensor" in [layer.class_name for layer in f.layers]
