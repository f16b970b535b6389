"""Graph execution in the C inference (c_reader/kwbin_nn.h, kwbin-run).

- the committed Keras 3 fixtures of tests/data/nn (make_fixtures.py): the
  graph cases (ResNet block, two inputs and three outputs, a shared Dense, a
  Functional in a Functional with a Sequential called twice) and every merge
  layer, run by kwbin-run, equal Keras's outputs to 1e-5;
- DepthwiseConv2D and SeparableConv2D fixtures, and a mini-Xception;
- live Keras 3 graphs (branches, a shared layer, nested models two levels
  deep whose Input is fed from the outer graph), also written as Keras 2 HDF5
  files (tests/legacy_h5.py: inbound nodes as [[name, node, tensor, {}]]);
- Keras 1 graphs with the Merge layer (every mode) written with kwbin.Writer;
- bad graphs (a cycle, dangling references, an input without a shape,
  merge inputs that disagree, an unsupported layer, a shared layer seeing two
  shapes) refused with one line naming the layer and the reason;
- the C API: kwnn_run refuses several inputs or outputs (KWNN_ERR_ARITY),
  kwnn_run_multi runs them, the accessors give each shape; the buffer plan
  keeps the scratch near the peak of live activations.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.keras import pack

from test_c_inference import (  # noqa: F401
    CFLAGS, TOLERANCE, _compile, _difference, _error, kwbin_run, kwbin_run_asan)

ROOT = Path(__file__).resolve().parents[1]
NN = ROOT / "tests" / "data" / "nn"

GRAPH_CASES = ["graph_resnet_block", "graph_two_in_two_out", "graph_shared_dense", "graph_nested",
               "graph_xception_mini"]
DEPTHWISE_CASES = ["depthwise_conv2d", "depthwise_conv2d_m2_same_strides", "depthwise_conv2d_dilation",
                   "separable_conv2d", "separable_conv2d_m2_strides", "separable_conv2d_dilation_nobias"]
MERGE_CASES = ["add_2", "add_3", "add_broadcast", "subtract", "multiply_2", "multiply_3", "average_2",
               "average_3", "maximum_2", "maximum_3", "minimum_2", "minimum_3", "concatenate_last",
               "concatenate_axis1", "concatenate_axis2", "concatenate_neg2_3", "dot_1_vectors", "dot_2_int",
               "dot_pair", "dot_pair_11", "dot_normalize", "dot_pair_normalize"]


def _run_multi(exe: Path, model: Path, inputs: list[np.ndarray], n_out: int, tmp: Path,
               *extra: str) -> subprocess.CompletedProcess:
    paths = []
    for i, x in enumerate(inputs):
        paths.append(str(tmp / f"in{i}.npy"))
        np.save(paths[-1], np.ascontiguousarray(x, dtype=np.float32))
    outs = []
    for j in range(n_out):
        outs += ["-o", str(tmp / f"out{j}.npy")]
    return subprocess.run([str(exe), *extra, str(model), *paths, *outs], capture_output=True, text=True,
                          timeout=600)


def _infer_multi(exe: Path, model: Path, inputs: list[np.ndarray], n_out: int, tmp: Path) -> list[np.ndarray]:
    result = _run_multi(exe, model, inputs, n_out, tmp)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
    return [np.load(tmp / f"out{j}.npy") for j in range(n_out)]


# ---------------------------------------------------------------------------
# Committed fixtures
# ---------------------------------------------------------------------------


def _case(name: str) -> dict:
    return json.loads((NN / "cases.json").read_text())["cases"][name]


@pytest.mark.parametrize("name", GRAPH_CASES + MERGE_CASES + DEPTHWISE_CASES)
def test_fixture_graphs_equal_keras(name, kwbin_run, tmp_path):  # noqa: F811
    case = _case(name)
    model = tmp_path / "m.kwb"
    pack(NN / case["model"], model)
    inputs = [np.load(NN / i["file"]) for i in case["inputs"]]
    got = _infer_multi(kwbin_run, model, inputs, len(case["outputs"]), tmp_path)
    for g, o in zip(got, case["outputs"]):
        assert _difference(g, np.load(NN / o["file"])) <= TOLERANCE


def test_graphs_run_clean_under_asan_and_ubsan(kwbin_run_asan, tmp_path):  # noqa: F811
    for name in GRAPH_CASES + ["add_broadcast", "concatenate_neg2_3", "dot_pair_normalize"]:
        case = _case(name)
        pack(NN / case["model"], tmp_path / "m.kwb")
        inputs = [np.load(NN / i["file"]) for i in case["inputs"]]
        got = _infer_multi(kwbin_run_asan, tmp_path / "m.kwb", inputs, len(case["outputs"]), tmp_path)
        for g, o in zip(got, case["outputs"]):
            assert _difference(g, np.load(NN / o["file"])) <= TOLERANCE


def test_three_argument_form_still_works_for_a_graph(kwbin_run, tmp_path):  # noqa: F811
    case = _case("graph_resnet_block")
    pack(NN / case["model"], tmp_path / "m.kwb")
    result = subprocess.run([str(kwbin_run), str(tmp_path / "m.kwb"), str(NN / case["inputs"][0]["file"]),
                             str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert _difference(np.load(tmp_path / "y.npy"), np.load(NN / case["outputs"][0]["file"])) <= TOLERANCE


def test_wrong_number_of_inputs_or_outputs_is_a_usage_error(kwbin_run, tmp_path):  # noqa: F811
    case = _case("graph_two_in_two_out")
    pack(NN / case["model"], tmp_path / "m.kwb")
    inputs = [np.load(NN / i["file"]) for i in case["inputs"]]
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", inputs[:1], 3, tmp_path), 2)
    assert "2 input(s) and 3 output(s); given 1 and 3" in line
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", inputs, 2, tmp_path), 2)
    assert "given 2 and 2" in line
    # inputs in the wrong order: a shape error naming the file
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", inputs[::-1], 3, tmp_path), 4)
    assert "does not fit the network" in line
    assert not (tmp_path / "out0.npy").exists()


# ---------------------------------------------------------------------------
# Live Keras 3 graphs, and the same graphs as Keras 2 HDF5 files
# ---------------------------------------------------------------------------


def _keras():
    return pytest.importorskip("keras")


def _branching():
    keras = _keras()
    L = keras.layers
    inp = keras.Input((4,))
    a = L.Dense(3, name="left")(inp)
    b = L.Dense(3, activation="tanh", name="right")(inp)
    return keras.Model(inp, L.Add(name="sum")([a, b]))


def _shared_and_nested():
    """A shared Dense called three times (one call inside a branch), a nested
    Functional (two levels) whose Input is fed from the outer graph and that is
    called twice, a Sequential inside it; two inputs, two outputs."""
    keras = _keras()
    L = keras.layers
    seq = keras.Sequential([keras.Input((5,)), L.Dense(5, activation="relu"), L.Dense(5)], name="seq")
    i1 = keras.Input((5,), name="inner_in")
    inner = keras.Model(i1, L.Concatenate()([seq(i1), L.Dense(2, name="inner_d")(i1)]), name="inner")
    i2 = keras.Input((5,), name="mid_in")
    mid = keras.Model(i2, L.Multiply()([inner(i2), inner(L.Activation("sigmoid")(i2))]), name="mid")
    shared = L.Dense(5, activation="elu", name="shared")
    xa = keras.Input((6,), name="xa")
    xb = keras.Input((6,), name="xb")
    ha, hb = shared(L.Dense(5, name="pa")(xa)), shared(L.Dense(5, name="pb")(xb))
    hc = shared(L.Dense(5, name="pc")(L.Subtract()([xa, xb])))
    out1 = L.Dense(3, activation="softmax", name="head")(mid(hc))
    out2 = L.Maximum()([ha, L.Average()([hb, hc])])
    return keras.Model([xa, xb], [out1, out2])


def _shared_and_nested_flat():
    """As _shared_and_nested, with one level of nesting (what tests/legacy_h5.py writes)."""
    keras = _keras()
    L = keras.layers
    i1 = keras.Input((5,), name="inner_in")
    inner = keras.Model(i1, L.Concatenate()([L.Dense(3, activation="relu", name="inner_a")(i1),
                                             L.Dense(2, name="inner_d")(i1)]), name="inner")
    shared = L.Dense(5, activation="elu", name="shared")
    xa = keras.Input((6,), name="xa")
    xb = keras.Input((6,), name="xb")
    ha, hb = shared(L.Dense(5, name="pa")(xa)), shared(L.Dense(5, name="pb")(xb))
    out1 = L.Multiply()([inner(ha), inner(L.Activation("sigmoid")(hb))])
    return keras.Model([xa, xb], [L.Dense(3, name="head")(out1), L.Subtract()([ha, hb])])


def _shared_sequential():
    """A Sequential called twice in a Functional, its Input fed from each call."""
    keras = _keras()
    L = keras.layers
    seq = keras.Sequential([keras.Input((5,)), L.Dense(4, activation="relu"), L.Dense(3)], name="seq")
    x, y = keras.Input((5,)), keras.Input((5,))
    return keras.Model([x, y], L.Add()([seq(x), seq(L.Activation("tanh")(y))]))


def _resnet_block():
    keras = _keras()
    L = keras.layers
    inp = keras.Input((6, 7, 4))
    x = L.Conv2D(4, 3, padding="same")(inp)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    x = L.Conv2D(4, 3, padding="same")(x)
    x = L.Add()([x, inp])
    shortcut = L.Conv2D(8, 1, strides=2)(x)
    y = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    y = L.Add()([y, shortcut])
    return keras.Model(inp, L.Dense(3)(L.GlobalAveragePooling2D()(y)))


def _xception_mini():
    """The first user model that failed: SeparableConv2D, residual Add with a 1x1 strided shortcut, GAP."""
    keras = _keras()
    L = keras.layers
    inp = keras.Input((10, 9, 3))
    x = L.Conv2D(8, 3, strides=2, use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu")(x)
    residual = L.BatchNormalization()(L.Conv2D(16, 1, strides=2, padding="same", use_bias=False)(x))
    x = L.SeparableConv2D(16, 3, padding="same", use_bias=False)(x)
    x = L.Activation("relu")(L.BatchNormalization()(x))
    x = L.SeparableConv2D(16, 3, padding="same", depth_multiplier=2, dilation_rate=1)(x)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.Add()([x, residual])
    x = L.DepthwiseConv2D(2, depth_multiplier=2, activation="relu")(x)
    return keras.Model(inp, L.Dense(4, activation="softmax")(L.GlobalAveragePooling2D()(x)))


def _randomize(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for w in model.weights:
        value = rng.normal(0, 0.5, w.shape).astype(np.float32)
        if "variance" in w.path:
            value = np.abs(value) + 0.5
        w.assign(value)


def _inputs(model, rng) -> list[np.ndarray]:
    return [rng.normal(0, 1, (3, *t.shape[1:])).astype(np.float32) for t in model.inputs]


@pytest.mark.parametrize("builder,generation", [
    (_branching, "keras3"), (_shared_and_nested, "keras3"), (_shared_and_nested_flat, "keras3"),
    (_resnet_block, "keras3"), (_xception_mini, "keras3"), (_branching, "keras2"),
    (_shared_and_nested_flat, "keras2"), (_resnet_block, "keras2"), (_xception_mini, "keras2"),
    (_shared_sequential, "keras3"), (_shared_sequential, "keras2")], ids=lambda v: getattr(v, "__name__", v))
def test_live_graphs_equal_keras(builder, generation, kwbin_run, tmp_path):  # noqa: F811
    from kwbin.keras import save_model

    model = builder()
    _randomize(model, 5)
    xs = _inputs(model, np.random.default_rng(6))
    expected = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    path = tmp_path / "m.kwb"
    if generation == "keras3":
        save_model(model, path)
    else:
        from legacy_h5 import write_keras2_h5

        write_keras2_h5(str(tmp_path / "m.h5"), model)
        pack(tmp_path / "m.h5", path)
        with kwbin.open(path) as f:
            assert f.metadata["generation"] == "keras2"
            nodes = json.dumps(f.metadata["model_config"])
            assert '"__keras_tensor__"' not in nodes  # the Keras 2 reference form
    got = _infer_multi(kwbin_run, path, xs, len(expected), tmp_path)
    for g, e in zip(got, expected):
        assert _difference(g, np.asarray(e)) <= TOLERANCE


def test_shared_layer_fed_by_its_own_output(kwbin_run, tmp_path):  # noqa: F811
    """y = s(s(x)): call 1 of s reads call 0 (a cycle between layers, not between nodes)."""
    rng = np.random.default_rng(2)
    kernel, bias = rng.normal(0, 1, (3, 3)).astype(np.float32), rng.normal(0, 1, 3).astype(np.float32)
    entries = [_k2_entry("x", "InputLayer", {"batch_input_shape": [None, 3]}),
               _k2_entry("s", "Dense", {"units": 3, "activation": "tanh"}, [("x", 0, 0)], [("s", 0, 0)]),
               _k2_entry("y", "Concatenate", {"axis": -1}, [("s", 1, 0), ("s", 0, 0), ("x", 0, 0)])]
    meta = {"generation": "keras2", "model_config": {"class_name": "Functional", "config": {
        "name": "g", "layers": entries, "input_layers": [["x", 0, 0]],
        "output_layers": [["y", 0, 0], ["s", 1, 0]]}}}
    with kwbin.Writer(tmp_path / "m.kwb", metadata=meta) as w:
        for e in entries:
            w.add_layer(e["name"], e["class_name"], config=e["config"])
        w.add_tensor("s/kernel", kernel, layer="s", weight="kernel")
        w.add_tensor("s/bias", bias, layer="s", weight="bias")
    x = rng.normal(0, 1, (4, 3)).astype(np.float32)
    once = np.tanh(x @ kernel + bias)
    twice = np.tanh(once @ kernel + bias)
    y, s1 = _infer_multi(kwbin_run, tmp_path / "m.kwb", [x], 2, tmp_path)
    assert _difference(y, np.concatenate([twice, once, x], axis=1)) <= TOLERANCE
    assert _difference(s1, twice) <= TOLERANCE


# ---------------------------------------------------------------------------
# Keras 1 graphs: Merge layers, written by hand (as the importer records them)
# ---------------------------------------------------------------------------


def _k1_entry(name, cls, config, inbound):
    return {"class_name": cls, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [[[ref, 0, 0] for ref in inbound]] if inbound else []}


def _k1_file(path: Path, entries, weights, outputs, inputs=("a", "b")) -> None:
    meta = {"generation": "keras1", "keras_version": "1.2.2", "model_config": {"class_name": "Model", "config": {
        "name": "model_1", "layers": entries, "input_layers": [[i, 0, 0] for i in inputs],
        "output_layers": [[o, 0, 0] for o in outputs]}}}
    with kwbin.Writer(path, metadata=meta) as w:
        for e in entries:
            w.add_layer(e["name"], e["class_name"], config=e["config"])
            for wname, value in weights.get(e["name"], {}).items():
                w.add_tensor(f"{e['name']}/{wname}", value, layer=e["name"], weight=wname)


@pytest.mark.parametrize("mode,config,expected", [
    ("sum", {}, lambda a, b: a + b),
    ("mul", {}, lambda a, b: a * b),
    ("ave", {}, lambda a, b: (a + b) / 2),
    ("max", {}, np.maximum),
    ("concat", {"concat_axis": -1}, lambda a, b: np.concatenate([a, b], axis=-1)),
    ("dot", {"dot_axes": [1, 1]}, lambda a, b: np.sum(a * b, axis=1, keepdims=True)),
])
def test_keras1_merge_modes(mode, config, expected, kwbin_run, tmp_path):  # noqa: F811
    rng = np.random.default_rng(1)
    kernel = rng.normal(0, 1, (4, 4)).astype(np.float32)
    entries = [
        _k1_entry("a", "InputLayer", {"batch_input_shape": [None, 4], "input_dtype": "float32"}, []),
        _k1_entry("b", "InputLayer", {"batch_input_shape": [None, 4], "input_dtype": "float32"}, []),
        _k1_entry("d", "Dense", {"output_dim": 4, "bias": False, "activation": "tanh"}, ["b"]),
        _k1_entry("m", "Merge", {"mode": mode, "mode_type": "raw", **config}, ["a", "d"]),
    ]
    _k1_file(tmp_path / "m.kwb", entries, {"d": {"kernel": kernel}}, ["m"])
    a, b = rng.normal(0, 1, (5, 4)).astype(np.float32), rng.normal(0, 1, (5, 4)).astype(np.float32)
    (got,) = _infer_multi(kwbin_run, tmp_path / "m.kwb", [a, b], 1, tmp_path)
    assert _difference(got, expected(a, np.tanh(b @ kernel)).astype(np.float64)) <= TOLERANCE


def test_keras1_unsupported_merge_mode_is_named(kwbin_run, tmp_path):  # noqa: F811
    entries = [
        _k1_entry("a", "InputLayer", {"batch_input_shape": [None, 4]}, []),
        _k1_entry("b", "InputLayer", {"batch_input_shape": [None, 4]}, []),
        _k1_entry("m", "Merge", {"mode": "cos"}, ["a", "b"]),
    ]
    _k1_file(tmp_path / "m.kwb", entries, {}, ["m"])
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", [np.zeros((1, 4))] * 2, 1, tmp_path), 1)
    assert "layer 'm' (Merge): unsupported Merge mode \"cos\"" in line


# ---------------------------------------------------------------------------
# Bad graphs: one line naming the layer and the reason
# ---------------------------------------------------------------------------


def _k2_entry(name, cls, config, *calls):
    return {"class_name": cls, "name": name, "config": {"name": name, **config},
            "inbound_nodes": [[[ref[0], ref[1], ref[2], {}] for ref in call] for call in calls]}


def _graph_file(path: Path, entries, inputs=("x",), outputs=("y",)) -> None:
    meta = {"generation": "keras2", "model_config": {"class_name": "Functional", "config": {
        "name": "g", "layers": entries, "input_layers": [[i, 0, 0] for i in inputs],
        "output_layers": [[o, 0, 0] for o in outputs]}}}
    with kwbin.Writer(path, metadata=meta) as w:
        for e in entries:
            w.add_layer(e["name"], e["class_name"], config=e["config"])


INPUT = {"batch_input_shape": [None, 3]}
BAD_GRAPHS = {
    "cycle": ([_k2_entry("x", "InputLayer", INPUT),
               _k2_entry("p", "Activation", {"activation": "relu"}, [("y", 0, 0)]),
               _k2_entry("y", "Add", {}, [("x", 0, 0), ("p", 0, 0)])],
              "layer 'y' (Add): its input depends on its own output (the graph has a cycle)"),
    "dangling name": ([_k2_entry("x", "InputLayer", INPUT),
                       _k2_entry("y", "Activation", {"activation": "relu"}, [("ghost", 0, 0)])],
                      "layer 'y': its input 'ghost' is not a layer of its model (a dangling reference)"),
    "dangling node": ([_k2_entry("x", "InputLayer", INPUT),
                       _k2_entry("y", "Activation", {"activation": "relu"}, [("x", 1, 0)])],
                      "its input 'x' is node 1, tensor 0, but that layer has 1 call(s)"),
    "no input shape": ([_k2_entry("x", "InputLayer", {}),
                        _k2_entry("y", "Activation", {"activation": "relu"}, [("x", 0, 0)])],
                       "layer 'x' (InputLayer): config has no batch_shape (the input shape cannot be derived)"),
    "merge shapes": ([_k2_entry("x", "InputLayer", INPUT),
                      _k2_entry("d", "Reshape", {"target_shape": [3, 1]}, [("x", 0, 0)]),
                      _k2_entry("c", "Concatenate", {"axis": 1}, [("x", 0, 0), ("d", 0, 0)]),
                      _k2_entry("y", "Activation", {"activation": "relu"}, [("c", 0, 0)])],
                     "layer 'c' (Concatenate): inputs of shapes (3,) and (3, 1) differ in rank"),
    "no broadcast": ([_k2_entry("x", "InputLayer", INPUT),
                      _k2_entry("d", "Reshape", {"target_shape": [1, 3]}, [("x", 0, 0)]),
                      _k2_entry("e", "Reshape", {"target_shape": [3, 1]}, [("x", 0, 0)]),
                      _k2_entry("f", "Flatten", {}, [("x", 0, 0)]),
                      _k2_entry("y", "Subtract", {}, [("d", 0, 0), ("f", 0, 0), ("e", 0, 0)])],
                     "layer 'y' (Subtract): is called on 3 inputs, expected 2"),
    "unsupported": ([_k2_entry("x", "InputLayer", INPUT),
                     _k2_entry("y", "ConvLSTM2D", {"filters": 2}, [("x", 0, 0)])],
                    "layer 'y' (ConvLSTM2D): unsupported layer class"),
    "unlisted input": ([_k2_entry("x", "InputLayer", INPUT), _k2_entry("x2", "InputLayer", INPUT),
                        _k2_entry("y", "Add", {}, [("x", 0, 0), ("x2", 0, 0)])],
                       "layer 'x2' (InputLayer): is not one of its model's inputs (input_layers)"),
    "two shapes": ([_k2_entry("x", "InputLayer", INPUT),
                    _k2_entry("r", "Reshape", {"target_shape": [3, 1]}, [("x", 0, 0)]),
                    _k2_entry("a", "Activation", {"activation": "relu"}, [("x", 0, 0)], [("r", 0, 0)]),
                    _k2_entry("y", "Dot", {"axes": 1}, [("a", 0, 0), ("a", 1, 0)])],
                   "layer 'a' (Activation): is called on inputs of different shapes"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_bad_graphs_are_refused_by_name(case, kwbin_run, tmp_path):  # noqa: F811
    entries, message = BAD_GRAPHS[case]
    _graph_file(tmp_path / "m.kwb", entries)
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", [np.zeros((2, 3))], 1, tmp_path), 1)
    assert message in line
    assert not (tmp_path / "out0.npy").exists()


def test_broadcast_mismatch_is_refused(kwbin_run, tmp_path):  # noqa: F811
    entries = [_k2_entry("x", "InputLayer", INPUT),
               _k2_entry("d", "Dense", {"units": 4}, [("x", 0, 0)]),
               _k2_entry("y", "Add", {}, [("x", 0, 0), ("d", 0, 0)])]
    meta_entries = entries
    _graph_file(tmp_path / "m.kwb", meta_entries)
    with kwbin.open(tmp_path / "m.kwb") as f:
        assert [lay.name for lay in f.layers] == ["x", "d", "y"]
    path = tmp_path / "w.kwb"
    meta = {"generation": "keras2", "model_config": {"class_name": "Functional", "config": {
        "name": "g", "layers": entries, "input_layers": [["x", 0, 0]], "output_layers": [["y", 0, 0]]}}}
    with kwbin.Writer(path, metadata=meta) as w:
        for e in entries:
            w.add_layer(e["name"], e["class_name"], config=e["config"])
        w.add_tensor("d/kernel", np.ones((3, 4), np.float32), layer="d", weight="kernel")
        w.add_tensor("d/bias", np.zeros(4, np.float32), layer="d", weight="bias")
    line = _error(_run_multi(kwbin_run, path, [np.zeros((2, 3))], 1, tmp_path), 1)
    assert "layer 'y' (Add): inputs of shapes (3,) and (4,) do not broadcast together" in line


# ---------------------------------------------------------------------------
# The C API: several inputs and outputs, accessors, the buffer plan
# ---------------------------------------------------------------------------

API_TEST = r"""
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    kwb_file f;
    kwnn_net net;
    uint32_t i, nd;
    (void)argc;
    if (kwb_open_path(&f, argv[1], NULL) != KWB_OK || kwnn_load(&net, &f, NULL) != KWNN_OK) {
        printf("load: %s\n", net.message);
        return 1;
    }
    printf("io %u %u\n", (unsigned)net.num_inputs, (unsigned)net.num_outputs);
    for (i = 0; i < net.num_inputs; i++) {
        const size_t *s = kwnn_input_shape(&net, i, &nd);
        printf("in %u %u %zu %zu\n", (unsigned)i, (unsigned)nd, s[0], kwnn_input_size(&net, i));
    }
    for (i = 0; i < net.num_outputs; i++) {
        const size_t *s = kwnn_output_shape(&net, i, &nd);
        printf("out %u %u %zu %zu\n", (unsigned)i, (unsigned)nd, s[0], kwnn_output_size(&net, i));
    }
    printf("bad %d %d\n", kwnn_input_shape(&net, net.num_inputs, &nd) == NULL,
           kwnn_output_size(&net, net.num_outputs) == 0);
    printf("scratch %zu peak %zu\n", kwnn_scratch_size(&net, 1), kwnn_peak_size(&net, 1));
    {
        float x[64] = {0}, y[64];
        size_t need = kwnn_scratch_size(&net, 1);
        void *scratch = malloc(need + 1);
        printf("run %s\n", kwnn_result_string(kwnn_run(&net, x, kwnn_input_size(&net, 0), y,
                                                        kwnn_output_size(&net, 0), scratch, need, 1)));
        if (net.num_inputs == 2 && net.num_outputs == 3) {
            const float *ins[2] = {x, x};
            float y0[64], y1[64], y2[64];
            float *outs[3] = {y0, y1, y2};
            size_t ic[2], oc[3];
            for (i = 0; i < 2; i++) ic[i] = kwnn_input_size(&net, i);
            for (i = 0; i < 3; i++) oc[i] = kwnn_output_size(&net, i);
            printf("multi %s\n", kwnn_result_string(kwnn_run_multi(&net, ins, ic, outs, oc, scratch, need, 1)));
            oc[1]++;
            printf("size %s\n", kwnn_result_string(kwnn_run_multi(&net, ins, ic, outs, oc, scratch, need, 1)));
            oc[1]--;
            printf("scratch %s\n", kwnn_result_string(kwnn_run_multi(&net, ins, ic, outs, oc, scratch, need - 1, 1)));
            ins[1] = NULL;
            printf("null %s\n", kwnn_result_string(kwnn_run_multi(&net, ins, ic, outs, oc, scratch, need, 1)));
        }
        free(scratch);
    }
    kwnn_free(&net);
    kwb_close(&f);
    return 0;
}
"""


@pytest.fixture(scope="module")
def api_exe(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("graph_api")
    (folder / "api.c").write_text(API_TEST)
    _compile(folder / "api", folder / "api.c", *CFLAGS)
    return folder / "api"


def test_api_several_inputs_and_outputs(api_exe, tmp_path):
    pack(NN / "graph_two_in_two_out.keras", tmp_path / "m.kwb")
    out = subprocess.run([str(api_exe), str(tmp_path / "m.kwb")], capture_output=True, text=True).stdout
    lines = out.splitlines()
    assert lines[0] == "io 2 3"
    assert lines[1:3] == ["in 0 1 4 4", "in 1 3 7 189"]  # [vec (4,), image (7, 9, 3)]: the config's order
    assert lines[3:6] == ["out 0 1 4 4", "out 1 1 1 1", "out 2 1 3 3"]
    assert lines[6] == "bad 1 1"
    assert "run arity" in lines
    assert lines[-4:] == ["multi ok", "size size", "scratch scratch", "null invalid_argument"]


def _chain_of_dense(path: Path, widths: list[int]) -> None:
    with kwbin.Writer(path) as w:
        w.add_layer("in", "InputLayer", config={"batch_shape": [None, widths[0]]})
        for i, (a, b) in enumerate(zip(widths, widths[1:])):
            w.add_layer(f"d{i}", "Dense", config={"units": b, "activation": "relu", "use_bias": False})
            w.add_tensor(f"d{i}/kernel", np.full((a, b), 0.01, np.float32), layer=f"d{i}", weight="kernel")
            w.add_layer(f"a{i}", "Activation", config={"activation": "tanh"})


def test_scratch_stays_near_the_peak_of_live_activations(api_exe, tmp_path):
    """A long chain reuses two blocks (elementwise layers in place); a ResNet keeps its skip alive."""
    _chain_of_dense(tmp_path / "m.kwb", [16] + [256, 512] * 20 + [8])
    out = subprocess.run([str(api_exe), str(tmp_path / "m.kwb")], capture_output=True, text=True).stdout
    scratch, peak = (int(v) for v in out.split("scratch ")[1].split()[0:3:2])
    assert peak == (256 + 512) * 4  # Dense 256 -> 512 (and back): both live, nothing else
    assert peak <= scratch <= peak + 64 + 2 * 64  # alignment of the arena and of each block
    pack(NN / "graph_resnet_block.keras", tmp_path / "r.kwb")
    out = subprocess.run([str(api_exe), str(tmp_path / "r.kwb")], capture_output=True, text=True).stdout
    scratch, peak = (int(v) for v in out.split("scratch ")[1].split()[0:3:2])
    act = 7 * 9 * 4 * 4
    assert peak == 2 * act  # the conv's input and output (the skip is the network's input)
    assert scratch <= peak + 64 + 64


def test_ambiguous_names_in_one_model_are_refused(kwbin_run, tmp_path):  # noqa: F811
    """Rows 'm/x' and 'x' under model 'm' both answer to 'x' inside it: a reference would be ambiguous."""
    inner = {"name": "m", "layers": [_k2_entry("x", "InputLayer", INPUT),
                                     _k2_entry("x", "Activation", {"activation": "relu"}, [("x", 0, 0)])],
             "input_layers": [["x", 0, 0]], "output_layers": [["x", 0, 0]]}
    with kwbin.Writer(tmp_path / "m.kwb") as w:
        w.add_layer("in", "InputLayer", config=INPUT)
        w.add_layer("m", "Functional", config=inner)
        w.add_layer("m/x", "InputLayer", config=INPUT, parent="m")
        w.add_layer("x", "Activation", config={"activation": "relu"}, parent="m")
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", [np.zeros((2, 3))], 1, tmp_path), 1)
    assert "layer 'x' (Activation): has the same name as another layer of its model (references are ambiguous)" in line


def test_keras1_shared_layer_and_merge(kwbin_run, tmp_path):  # noqa: F811
    """Keras 1 references ([name, node, tensor], no kwargs): a Dense called on both inputs, summed."""
    rng = np.random.default_rng(3)
    kernel = rng.normal(0, 1, (4, 2)).astype(np.float32)
    entries = [
        _k1_entry("a", "InputLayer", {"batch_input_shape": [None, 4]}, []),
        _k1_entry("b", "InputLayer", {"batch_input_shape": [None, 4]}, []),
        {"class_name": "Dense", "name": "d", "config": {"name": "d", "output_dim": 2, "bias": False},
         "inbound_nodes": [[["a", 0, 0]], [["b", 0, 0]]]},
        {"class_name": "Merge", "name": "m", "config": {"name": "m", "mode": "concat", "concat_axis": -1},
         "inbound_nodes": [[["d", 1, 0], ["d", 0, 0]]]},
    ]
    _k1_file(tmp_path / "m.kwb", entries, {"d": {"kernel": kernel}}, ["m"])
    a, b = rng.normal(0, 1, (3, 4)).astype(np.float32), rng.normal(0, 1, (3, 4)).astype(np.float32)
    (got,) = _infer_multi(kwbin_run, tmp_path / "m.kwb", [a, b], 1, tmp_path)
    assert _difference(got, np.concatenate([b @ kernel, a @ kernel], axis=1).astype(np.float64)) <= TOLERANCE


def test_cost_counts_every_call_of_a_shared_layer(kwbin_run, tmp_path):  # noqa: F811
    """y = s(s(x)), s a Dense 3 -> 3 with bias: 12 operations per call, 24 per sample."""
    entries = [_k2_entry("x", "InputLayer", {"batch_input_shape": [None, 3]}),
               _k2_entry("s", "Dense", {"units": 3}, [("x", 0, 0)], [("s", 0, 0)])]
    meta = {"model_config": {"class_name": "Functional", "config": {
        "name": "g", "layers": entries, "input_layers": [["x", 0, 0]], "output_layers": [["s", 1, 0]]}}}
    with kwbin.Writer(tmp_path / "m.kwb", metadata=meta) as w:
        for e in entries:
            w.add_layer(e["name"], e["class_name"], config=e["config"])
        w.add_tensor("s/kernel", np.eye(3, dtype=np.float32), layer="s", weight="kernel")
        w.add_tensor("s/bias", np.ones(3, np.float32), layer="s", weight="bias")
    line = _error(_run_multi(kwbin_run, tmp_path / "m.kwb", [np.zeros((2, 3))], 1, tmp_path, "--max-cost", "23"), 1)
    assert "costs 24 operations per sample, above the cap of 23" in line
    (got,) = _infer_multi(kwbin_run, tmp_path / "m.kwb", [np.zeros((2, 3))], 1, tmp_path)
    assert np.array_equal(got, np.full((2, 3), 2, np.float32))
