"""Attention and the remaining normalisations in the C inference (c_reader/nn/46_attention.h).

- live Keras 3 models (seeded weights set with set_weights, batch 3, short
  sequences), packed with kwbin.keras.save_model and run by kwbin-run, equal
  Keras's predict within 1e-5 (relative above 1): GroupNormalization (groups,
  axis, epsilon, center / scale off), UnitNormalization (one axis, two axes),
  EinsumDense (the forms Keras writes, ellipsis, bias_axes, activation),
  MultiHeadAttention (self and cross attention, a separate key, given as an
  argument or as a keyword (query=, value=, key=), value_dim,
  output_shape, no bias, use_causal_mask from the call, sliding_window,
  two attention axes; value_dim != key_dim with dropout > 0, since Keras 3.15
  on JAX fails predict in its fused path otherwise), Attention (dot, scale, concat) and AdditiveAttention
  (use_scale, causal); a selection under ASan/UBSan;
- options it cannot run are refused at load with one line naming the layer,
  its class and the option.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import kwbin

from test_c_inference import TOLERANCE, _difference, _error, kwbin_run, kwbin_run_asan  # noqa: F401


def _keras():
    return pytest.importorskip("keras")


def _models():
    keras = _keras()
    L = keras.layers

    def chain(shape, *layers):
        x = inp = keras.Input(shape)
        for layer in layers:
            x = layer(x)
        return keras.Model(inp, x)

    def self_mha(shape, causal=False, **kw):
        x = keras.Input(shape)
        return keras.Model(x, L.MultiHeadAttention(**kw)(x, x, use_causal_mask=causal))

    def cross(q_shape, v_shape, layer, k_shape=None, call=None, keywords=0):
        q, v = keras.Input(q_shape), keras.Input(v_shape)
        ins = [q, v] + ([keras.Input(k_shape)] if k_shape else [])
        args = ins if isinstance(layer, L.MultiHeadAttention) else [ins]
        named = dict(zip(["query", "value", "key"][len(args) - keywords:], args[len(args) - keywords:]))
        return keras.Model(ins, layer(*args[:len(args) - keywords], **named, **(call or {})))

    return {
        "group_norm": lambda: chain((5, 6), L.GroupNormalization(groups=3)),
        "group_norm_axis1_no_affine": lambda: chain((4, 5, 3), L.GroupNormalization(groups=2, axis=1, center=False,
                                                                                     scale=False, epsilon=0.1)),
        "group_norm_one_group": lambda: chain((3, 4, 8), L.GroupNormalization(groups=1)),
        "group_norm_per_channel": lambda: chain((5, 4), L.GroupNormalization(groups=4, scale=False)),
        "unit_norm": lambda: chain((5, 6), L.UnitNormalization()),
        "unit_norm_two_axes": lambda: chain((4, 5, 3), L.UnitNormalization(axis=[1, 2])),
        "einsum_ab_bc": lambda: chain((6,), L.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c")),
        "einsum_abc_cd": lambda: chain((5, 6), L.EinsumDense("abc,cd->abd", output_shape=(None, 4),
                                                             bias_axes="d", activation="tanh")),
        "einsum_abc_cde": lambda: chain((5, 6), L.EinsumDense("abc,cde->abde", output_shape=(5, 2, 3),
                                                              bias_axes="de")),
        "einsum_abcd_cde": lambda: chain((5, 2, 3), L.EinsumDense("abcd,cde->abe", output_shape=(5, 4),
                                                                  bias_axes="e")),
        "einsum_ellipsis": lambda: chain((3, 5, 6), L.EinsumDense("...b,bc->...c", output_shape=4,
                                                                  bias_axes="c", activation="relu")),
        "einsum_bias_middle": lambda: chain((5, 6), L.EinsumDense("abc,cde->abde", output_shape=(5, 2, 3),
                                                                  bias_axes="d")),
        "einsum_no_bias": lambda: chain((5, 6), L.EinsumDense("abc,cd->abd", output_shape=(None, 4))),
        "mha_self": lambda: self_mha((5, 6), num_heads=2, key_dim=3),
        "mha_self_causal": lambda: self_mha((5, 8), causal=True, num_heads=2, key_dim=4),
        "mha_value_dim_output_shape": lambda: self_mha((5, 6), num_heads=3, key_dim=2, value_dim=4,
                                                       output_shape=(2, 5), dropout=0.1),
        "mha_no_bias": lambda: self_mha((5, 4), num_heads=1, key_dim=4, use_bias=False, dropout=0.3),
        "mha_sliding_window": lambda: self_mha((6, 4), causal=True, num_heads=2, key_dim=2, sliding_window=2),
        "mha_two_attention_axes": lambda: self_mha((2, 3, 4), num_heads=2, key_dim=3),
        "mha_cross": lambda: cross((5, 6), (4, 8), L.MultiHeadAttention(2, 3)),
        "mha_cross_key": lambda: cross((5, 6), (4, 7), L.MultiHeadAttention(2, 3, value_dim=5, dropout=0.1), k_shape=(4, 8)),
        "mha_key_keyword": lambda: cross((5, 6), (4, 7), L.MultiHeadAttention(2, 3), k_shape=(4, 8), keywords=1),
        "mha_all_keywords": lambda: cross((5, 6), (4, 7), L.MultiHeadAttention(2, 3), k_shape=(4, 8), keywords=3,
                                          call={"use_causal_mask": True}),
        "mha_cross_causal": lambda: cross((4, 6), (5, 6), L.MultiHeadAttention(2, 3),
                                          call={"use_causal_mask": True}),
        "attention_dot": lambda: cross((5, 6), (4, 6), L.Attention()),
        "attention_scale_key": lambda: cross((5, 6), (4, 3), L.Attention(use_scale=True, dropout=0.5),
                                             k_shape=(4, 6)),
        "attention_concat": lambda: cross((5, 4), (4, 4), L.Attention(score_mode="concat")),
        "attention_concat_scale_causal": lambda: cross((4, 4), (4, 4), L.Attention(use_scale=True,
                                                                                   score_mode="concat"),
                                                       call={"use_causal_mask": True}),
        "additive_attention": lambda: cross((5, 6), (4, 6), L.AdditiveAttention(use_scale=False)),
        "additive_attention_scale_causal": lambda: cross((5, 6), (5, 6), L.AdditiveAttention(),
                                                         k_shape=(5, 6), call={"use_causal_mask": True}),
    }


CASES = list(_models())
ASAN_CASES = ["group_norm_axis1_no_affine", "unit_norm_two_axes", "einsum_bias_middle", "mha_cross_key",
              "mha_sliding_window", "mha_two_attention_axes", "attention_concat_scale_causal",
              "additive_attention_scale_causal"]


def _randomize(model, rng: np.random.Generator) -> None:
    """Seeded weights that matter (no zero biases, gamma and scales away from 1), small enough that
    the attention logits stay moderate: a sharper softmax only amplifies float32 rounding."""
    for layer in model.layers:
        values = [np.asarray(w) for w in layer.get_weights()]
        if values:
            layer.set_weights([rng.normal(0.1, 0.4, v.shape).astype(v.dtype) for v in values])


def _run(exe: Path, model: Path, xs: list[np.ndarray], tmp: Path) -> subprocess.CompletedProcess:
    paths = []
    for i, x in enumerate(xs):
        paths.append(str(tmp / f"in{i}.npy"))
        np.save(paths[-1], np.ascontiguousarray(x, dtype=np.float32))
    return subprocess.run([str(exe), str(model), *paths, "-o", str(tmp / "out.npy")], capture_output=True,
                          text=True, timeout=600)


def _check(exe: Path, case: str, tmp: Path) -> float:
    keras = _keras()
    from kwbin.keras import save_model

    keras.utils.set_random_seed(sum(map(ord, case)))
    rng = np.random.default_rng(sum(map(ord, case)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = _models()[case]()
        _randomize(model, rng)
        xs = [rng.normal(0.2, 1.0, (3, *i.shape[1:])).astype(np.float32) for i in model.inputs]
        expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    save_model(model, tmp / "m.kwb")
    result = _run(exe, tmp / "m.kwb", xs, tmp)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
    return _difference(np.load(tmp / "out.npy"), expected)


@pytest.mark.parametrize("case", CASES)
def test_live_keras3_model_equals_predict(case, kwbin_run, tmp_path):  # noqa: F811
    assert _check(kwbin_run, case, tmp_path) <= TOLERANCE


def test_selection_runs_clean_under_asan_and_ubsan(kwbin_run_asan, tmp_path):  # noqa: F811
    for case in ASAN_CASES:
        assert _check(kwbin_run_asan, case, tmp_path) <= TOLERANCE, case


# ---------------------------------------------------------------------------
# Refused at load: one line naming the layer, its class and the option
# ---------------------------------------------------------------------------


def _rewrite(src: Path, dst: Path, name: str, patch: dict | None = None, kwargs: dict | None = None) -> None:
    """Copy a packed file, changing layer `name`'s config (and its first call's kwargs)."""
    with kwbin.open(src) as f:
        meta = json.loads(json.dumps(f.metadata))
        for entry in meta["model_config"]["config"]["layers"]:
            if entry["name"] == name:
                entry["config"].update(patch or {})
                entry["inbound_nodes"][0]["kwargs"].update(kwargs or {})
        with kwbin.Writer(dst, metadata=meta) as w:
            for layer in f.layers:
                config = dict(layer.config or {})
                if layer.name == name:
                    config.update(patch or {})
                w.add_layer(layer.name, layer.class_name, config=config, parent=layer.parent)
                for t in layer.tensors:
                    w.add_tensor(t, np.asarray(f[t]), layer=layer.name, weight=f.info(t).weight)


def _refused(exe: Path, model, tmp: Path, patch=None, kwargs=None) -> str:
    from kwbin.keras import save_model

    save_model(model, tmp / "live.kwb")
    _rewrite(tmp / "live.kwb", tmp / "m.kwb", "x", patch, kwargs)
    xs = [np.zeros((1, *i.shape[1:]), np.float32) for i in model.inputs]
    return _error(_run(exe, tmp / "m.kwb", xs, tmp))


def _bad_models():
    keras = _keras()
    L = keras.layers

    def one(shape, layer):
        inp = keras.Input(shape)
        return keras.Model(inp, layer(inp))

    def mha(shape, **kw):
        inp = keras.Input(shape)
        return keras.Model(inp, L.MultiHeadAttention(2, 3, name="x", **kw)(inp, inp))

    def att(layer):
        q, v = keras.Input((4, 3)), keras.Input((5, 3))
        return keras.Model([q, v], layer([q, v]))

    return {
        "groups": (lambda: one((5, 6), L.GroupNormalization(groups=3, name="x")), {"groups": 4}, None,
                   "layer 'x' (GroupNormalization): groups 4 do not divide the 6 channels of its axis"),
        "group_axis": (lambda: one((5, 6), L.GroupNormalization(groups=3, name="x")), {"axis": [1, 2]}, None,
                       "layer 'x' (GroupNormalization): config key 'axis' is not one axis"),
        "unit_axes": (lambda: one((4, 5, 3), L.UnitNormalization(name="x")), {"axis": [1, 3]}, None,
                      "layer 'x' (UnitNormalization): unsupported axis: normalising over axes that are not adjacent"),
        "einsum_form": (lambda: one((5, 6), L.EinsumDense("abc,cd->abd", (None, 4), name="x")),
                        {"equation": "abc,dc->abd"}, None,
                        "layer 'x' (EinsumDense): unsupported equation \"abc,dc->abd\" (not a Dense over the "
                        "input's trailing axes)"),
        "einsum_rank": (lambda: one((5, 6), L.EinsumDense("abc,cd->abd", (None, 4), name="x")),
                        {"equation": "ab,bd->ad"}, None,
                        "layer 'x' (EinsumDense): unsupported equation \"ab,bd->ad\" (its input letters do not "
                        "match the input's rank)"),
        "einsum_bias": (lambda: one((5, 6), L.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d", name="x")),
                        {"bias_axes": "q"}, None, "layer 'x' (EinsumDense): unsupported bias_axes \"q\""),
        "mha_gate": (lambda: mha((5, 6)), {"use_gate": True}, None,
                     "layer 'x' (MultiHeadAttention): unsupported use_gate true"),
        "mha_axes": (lambda: mha((2, 3, 6)), {"attention_axes": [2]}, None,
                     "layer 'x' (MultiHeadAttention): unsupported attention_axes [2] (attention over some of "
                     "the axes only)"),
        "mha_scores": (lambda: mha((5, 6)), None, {"return_attention_scores": True},
                       "layer 'x' (MultiHeadAttention): unsupported return_attention_scores true (a second "
                       "output)"),
        "mha_causal_axes": (lambda: mha((2, 3, 6)), None, {"use_causal_mask": True},
                            "layer 'x' (MultiHeadAttention): unsupported use_causal_mask or sliding_window with "
                            "several attention axes"),
        "mha_heads": (lambda: mha((5, 6)), {"num_heads": 0}, None,
                      "layer 'x' (MultiHeadAttention): config key 'num_heads' is 0, expected a positive size"),
        "attention_mode": (lambda: att(L.Attention(name="x")), {"score_mode": "general"}, None,
                           "layer 'x' (Attention): unsupported score_mode \"general\""),
        "attention_scores": (lambda: att(L.AdditiveAttention(name="x")), None, {"return_attention_scores": True},
                             "layer 'x' (AdditiveAttention): unsupported return_attention_scores true (a second "
                             "output)"),
    }


@pytest.mark.parametrize("case", list(_bad_models()))
def test_unsupported_option_is_refused_in_one_line(case, kwbin_run, tmp_path):  # noqa: F811
    build, patch, kwargs, message = _bad_models()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build()
    line = _refused(kwbin_run, model, tmp_path, patch, kwargs)
    assert line.startswith(f"kwbin-run: error: {tmp_path / 'm.kwb'}: ") and line.endswith(f": {message}"), line


def test_shared_attention_called_with_and_without_causal_mask(kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    from kwbin.keras import save_model

    inp = keras.Input((4, 6))
    mha = keras.layers.MultiHeadAttention(2, 3, name="x")
    model = keras.Model(inp, keras.layers.Add()([mha(inp, inp), mha(inp, inp, use_causal_mask=True)]))
    save_model(model, tmp_path / "m.kwb")
    result = _run(kwbin_run, tmp_path / "m.kwb", [np.zeros((1, 4, 6), np.float32)], tmp_path)
    assert _error(result).endswith(": unsupported: layer 'x' (MultiHeadAttention): is called with and without "
                                   "use_causal_mask")


def test_attention_mask_tensor_is_refused(kwbin_run, tmp_path):  # noqa: F811
    """An attention_mask tensor in the call's kwargs: only query, value and key may be tensors there."""
    keras = _keras()
    from kwbin.keras import save_model

    q, v, m = keras.Input((4, 6)), keras.Input((5, 6)), keras.Input((4, 5))
    model = keras.Model([q, v, m], keras.layers.MultiHeadAttention(2, 3, name="x")(q, v, attention_mask=m))
    save_model(model, tmp_path / "m.kwb")
    xs = [np.ones((1, *i.shape[1:]), np.float32) for i in model.inputs]
    assert _error(_run(kwbin_run, tmp_path / "m.kwb", xs, tmp_path)).endswith(
        "layer 'x': takes a tensor as a keyword argument")


def _keras2_file(src: Path, dst: Path, shapes: dict, refs: list) -> None:
    """The MultiHeadAttention 'x' of a packed Keras 3 file, in a Keras 2 (tf.keras) graph: inputs `shapes`,
    the call's references `refs` ([name, node, tensor, kwargs]: tf.keras writes the arguments after the
    first as keywords)."""
    def entry(name, cls, config, inbound):
        return {"class_name": cls, "name": name, "config": {"name": name, **config}, "inbound_nodes": inbound}

    with kwbin.open(src) as f:
        x = next(layer for layer in f.layers if layer.name == "x")
        config = {k: v for k, v in x.config.items() if k not in ("use_gate", "sliding_window")}  # Keras 3 only
        entries = [entry(n, "InputLayer", {"batch_input_shape": [None, *s]}, []) for n, s in shapes.items()]
        entries.append(entry("x", "MultiHeadAttention", config, [refs]))
        meta = {"generation": "keras2", "model_config": {"class_name": "Functional", "config": {
            "name": "g", "layers": entries, "input_layers": [[n, 0, 0] for n in shapes],
            "output_layers": [["x", 0, 0]]}}}
        with kwbin.Writer(dst, metadata=meta) as w:
            for e in entries:
                w.add_layer(e["name"], e["class_name"], config=e["config"])
            for t in x.tensors:
                w.add_tensor(t, np.asarray(f[t]), layer="x", weight=f.info(t).weight)


@pytest.mark.parametrize("form", ["self", "cross_causal", "key"])
def test_keras2_graph_passes_value_and_key_as_keywords(form, kwbin_run, tmp_path):  # noqa: F811
    keras = _keras()
    from kwbin.keras import save_model

    rng = np.random.default_rng(len(form))
    shapes = {"q": (4, 6), "v": (5, 3), "k": (5, 4)}
    if form == "self":
        shapes = {"q": (4, 6)}
    elif form == "cross_causal":
        shapes = {"q": (4, 6), "v": (5, 3)}
    ins = [keras.Input(s) for s in shapes.values()]
    mha = keras.layers.MultiHeadAttention(2, 3, name="x")
    args = ins * 2 if form == "self" else ins
    model = keras.Model(ins, mha(*args, use_causal_mask=form == "cross_causal"))
    _randomize(model, rng)
    xs = [rng.normal(0.2, 1.0, (3, *s)).astype(np.float32) for s in shapes.values()]
    expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    save_model(model, tmp_path / "live.kwb")
    kwargs = {"value": ["v" if form != "self" else "q", 0, 0]}
    if form == "key":
        kwargs["key"] = ["k", 0, 0]
    if form == "cross_causal":
        kwargs["use_causal_mask"] = True
    _keras2_file(tmp_path / "live.kwb", tmp_path / "m.kwb", shapes, [["q", 0, 0, kwargs]])
    result = _run(kwbin_run, tmp_path / "m.kwb", xs, tmp_path)
    assert result.returncode == 0, result.stderr
    assert _difference(np.load(tmp_path / "out.npy"), expected) <= TOLERANCE


def test_call_on_one_input_is_refused_naming_the_arity(kwbin_run, tmp_path):  # noqa: F811
    """A Keras 2 node without its value: the layer gets one input, refused as "expected 2 or 3"."""
    keras = _keras()
    from kwbin.keras import save_model

    q, v = keras.Input((4, 6)), keras.Input((5, 3))
    save_model(keras.Model([q, v], keras.layers.MultiHeadAttention(2, 3, name="x")(q, v)), tmp_path / "live.kwb")
    _keras2_file(tmp_path / "live.kwb", tmp_path / "m.kwb", {"q": (4, 6), "v": (5, 3)}, [["q", 0, 0, {}]])
    xs = [np.zeros((1, 4, 6), np.float32), np.zeros((1, 5, 3), np.float32)]
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", xs, tmp_path))
    assert line.endswith(": shape: layer 'x' (MultiHeadAttention): is called on 1 input, expected 2 or 3"), line
