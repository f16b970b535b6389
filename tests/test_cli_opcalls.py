"""`kwbin info` writes each operation node as the call it records (src/kwbin/opcalls.py).

tf.keras nodes (TFOpLambda, SlicingOpLambda) from the committed fixtures of
tests/data/tfops, Keras 3 operation nodes from live models; the JSON listing
(normative, spec/FORMAT.md section 14.1) is left as it is.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import kwbin
from kwbin.listing import listing_text
from tfkeras_cases import DATA

TFOPS = DATA / "tfops"


def _info(path) -> list[str]:
    result = subprocess.run([sys.executable, "-m", "kwbin", "info", str(path)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return [line.strip() for line in lines[lines.index("layers (tensors by the full name `kwbin dump FILE NAME` takes):") + 1:]
            if not line.startswith("          ")]  # layer lines only, not their tensors


def _pack(name: str, tmp_path):
    from kwbin.keras import pack

    out = tmp_path / f"{name}.kwb"
    pack(TFOPS / f"{name}.h5", out)
    return out


@pytest.mark.parametrize("name, expected", [
    ("mul_const_right", ["2  tf.math.multiply  [TFOpLambda]  tf.math.multiply(d, y=0.5)"]),
    ("mul_const_left", ["2  tf.math.multiply  [TFOpLambda]  tf.math.multiply(0.5, y=d)"]),
    ("add_const_vector", ["1  tf.__operators__.add  [TFOpLambda]  tf.__operators__.add(x, y=[1.0, 2.0, 3.0, 4.0, 5.0])"]),
    ("concat", ["2  tf.concat  [TFOpLambda]  tf.concat([x, y], axis=1)"]),
    ("slice_mixed", ["1  tf.__operators__.getitem  [SlicingOpLambda]  x[:, 1:-1, ::2]",
                     "2  tf.__operators__.getitem_1  [SlicingOpLambda]  x[..., 0]",
                     "3  tf.__operators__.getitem_2  [SlicingOpLambda]  x[:, ::-1]"]),
    ("reduce_mean_keepdims", ["1  tf.math.reduce_mean  [TFOpLambda]  tf.math.reduce_mean(x, axis=-1, keepdims=True)"]),
    ("greater_equal_cast", ["6  tf.cast  [TFOpLambda]  tf.cast(tf.math.greater, dtype=\"float32\")"]),
    ("matmul_transpose_b", ["2  tf.linalg.matmul  [TFOpLambda]  tf.linalg.matmul(x, b=y, transpose_b=True)"]),
])
def test_tf_keras_op_nodes_are_shown_as_their_calls(tmp_path, name, expected):
    lines = _info(_pack(name, tmp_path))
    for line in expected:
        assert line in lines, lines


def test_layers_that_are_not_op_nodes_keep_their_line(tmp_path):
    lines = _info(_pack("tf_classifier", tmp_path))
    assert "0  x  [InputLayer]" in lines and "6  d1  [Dense]" in lines
    assert "9  tf.__operators__.getitem  [SlicingOpLambda]  tf.nn.relu[:, -1]" in lines


def test_keras3_op_nodes_are_shown_as_their_calls(tmp_path):
    keras = pytest.importorskip("keras")
    from kwbin.keras import pack

    keras.backend.clear_session()  # op names come from process-wide counters
    x = keras.Input((4, 5), name="x")
    y = keras.Input((1, 5), name="y")
    ids = keras.Input((6,), name="ids")
    d = keras.layers.Dense(5, name="d")(x)
    emb = keras.layers.Embedding(10, 5, mask_zero=True, name="emb")(ids)  # a NotEqual node gives the mask
    pooled = keras.layers.GlobalAveragePooling1D(name="pool")(emb)
    outs = [d * 0.5, 0.5 * d, keras.ops.concatenate([x, y], axis=1), x[:, -1], x[..., ::2],
            keras.ops.mean(x, axis=-1, keepdims=True), keras.ops.where(x > 0, x, y), pooled]
    keras.Model([x, y, ids], outs).save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    text = "\n".join(_info(tmp_path / "m.kwb"))
    for line in ["multiply  [Multiply]  multiply(d, 0.5)", "multiply_1  [Multiply]  multiply(0.5, d)",
                 "concatenate  [Concatenate]  concatenate([x, y], axis=1)", "get_item  [GetItem]  x[:, -1]",
                 "get_item_1  [GetItem]  x[..., ::2]", "mean  [Mean]  mean(x, axis=-1, keepdims=True)",
                 "greater  [Greater]  greater(x, 0)", "where  [Where]  where(greater, x, y)",
                 "not_equal  [NotEqual]  not_equal(ids, 0)"]:
        assert line in text, text
    assert any(line.endswith("  d  [Dense]") for line in text.splitlines())  # a layer: no call


def test_the_json_listing_is_unchanged(tmp_path):
    out = _pack("mul_const_left", tmp_path)
    result = subprocess.run([sys.executable, "-m", "kwbin", "info", "--json", str(out)], capture_output=True,
                            text=True, timeout=600)
    with kwbin.open(out) as f:
        assert result.stdout == listing_text(f)
    assert "y=d" not in result.stdout


def test_op_nodes_in_a_nested_model_and_unknown_node_shapes(tmp_path):
    """A nested model's op node is found under its qualified name; a node shape the code does not know
    is shown without a call rather than crashing `info`."""
    nested = {"class_name": "Functional", "config": {"name": "inner", "layers": [
        {"class_name": "InputLayer", "name": "a", "config": {"name": "a"}, "inbound_nodes": []},
        {"class_name": "TFOpLambda", "name": "tf.math.exp", "config": {"name": "tf.math.exp", "function": "math.exp"},
         "inbound_nodes": [["a", 0, 0, {"name": None}]]}]}}
    config = {"class_name": "Functional", "config": {"name": "outer", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x"}, "inbound_nodes": []},
        dict(nested, name="inner", inbound_nodes=[[["x", 0, 0, {}]]]),
        {"class_name": "TFOpLambda", "name": "odd", "config": {"name": "odd", "function": "math.abs"},
         "inbound_nodes": [{"unexpected": 1}]},
        {"class_name": "Multiply", "module": "keras.src.ops.numpy", "name": "two_outputs",
         "config": {"name": "two_outputs"}, "inbound_nodes": [{"args": [
             {"class_name": "__keras_tensor__", "config": {"keras_history": ["inner", 1, 2]}}, 2.0]}]}]}}
    path = tmp_path / "m.kwb"
    with kwbin.Writer(path, metadata={"source_format": "test", "model_config": config}) as w:
        w.add_layer("x", "InputLayer")
        w.add_layer("inner", "Functional")
        w.add_layer("inner/a", "InputLayer", parent="inner")
        w.add_layer("inner/tf.math.exp", "TFOpLambda", config={"function": "math.exp"}, parent="inner")
        w.add_layer("odd", "TFOpLambda", config={"function": "math.abs"})
        w.add_layer("two_outputs", "Multiply")
    lines = _info(path)
    assert "3  inner/tf.math.exp  [TFOpLambda]  tf.math.exp(a)  in inner" in lines
    assert "4  odd  [TFOpLambda]" in lines
    assert "5  two_outputs  [Multiply]  multiply(inner@1:2, 2.0)" in lines
