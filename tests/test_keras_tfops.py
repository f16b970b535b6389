"""The tf.keras op-node fixtures of tests/data/tfops (TFOpLambda, SlicingOpLambda; issue #15).

The files were made in .venv-tf by tests/data/tfops/make_fixtures.py (see its
MANIFEST.md); no TensorFlow here.  For every case: `kwbin pack` takes the .h5,
and the packed file keeps every op node in its layer table (class, config with
its `function`) and, in the stored model config, the node's inbound nodes with
their constant arguments and keyword arguments, exactly as cases.json records
them; cases.json itself agrees with the .h5.  C is tested elsewhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import kwbin
from tfkeras_cases import DATA, check_arrays, h5_model_config, index, pack_all

FOLDER = "tfops"
INDEX = index(FOLDER)
CASES: dict[str, dict[str, Any]] = INDEX["cases"]
OP_CLASSES = {"TFOpLambda", "SlicingOpLambda"}


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    return pack_all(FOLDER, CASES, tmp_path_factory.mktemp("tfops"))


def test_the_fixtures_cover_every_op_family_of_the_brief():
    functions = {op["function"] for case in CASES.values() for op in case["ops"]}
    for f in ["math.multiply", "__operators__.add", "nn.relu", "math.exp", "math.reduce_mean", "math.reduce_sum",
              "math.reduce_max", "reshape", "compat.v1.transpose", "expand_dims", "compat.v1.squeeze", "concat",
              "stack", "linalg.matmul", "where", "math.greater", "math.equal", "cast", "__operators__.getitem"]:
        assert f in functions, f
    left = [op for op in CASES["mul_const_left"]["ops"] if op["inbound_nodes"][0][0] == "_CONSTANT_VALUE"]
    assert len(left) == 1, "0.5 * x must be recorded with the constant first"


@pytest.mark.parametrize("name", sorted(CASES))
def test_cases_json_agrees_with_the_h5_and_the_arrays(name):
    case = CASES[name]
    check_arrays(FOLDER, case)
    config = h5_model_config(DATA / FOLDER / case["model"])
    entries = [e for e in config["config"]["layers"] if e["class_name"] in OP_CLASSES]
    assert [e["name"] for e in entries] == [op["name"] for op in case["ops"]]
    for e, op in zip(entries, case["ops"]):
        assert e["config"]["function"] == op["function"]
        assert e["inbound_nodes"] == op["inbound_nodes"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_kwbin_pack_keeps_every_op_node_with_its_function_and_arguments(packed, name):
    case = CASES[name]
    result, target = packed[name]
    assert result.returncode == 0, result.stderr
    with kwbin.open(target) as f:
        f.verify()
        layers = {layer.name: layer for layer in f.layers}
        stored = {e["name"]: e for e in f.metadata["model_config"]["config"]["layers"]}
        assert f.metadata["source_format"] == "keras2-h5" and f.metadata["keras_version"] == INDEX["tf_keras_version"]
    assert case["ops"], "every case has op nodes"
    for op in case["ops"]:
        layer = layers[op["name"]]
        assert layer.class_name == op["class_name"]
        assert layer.config["function"] == op["function"]
        assert layer.tensors == ()  # weightless
        assert stored[op["name"]]["inbound_nodes"] == op["inbound_nodes"]
    # nothing else is lost: every config entry is a layer of the file
    assert set(layers) == set(stored)


def test_a_constant_first_argument_and_a_constant_tensor_survive_packing(packed):
    """The two forms a C reader must decode: `0.5 * d` and `x + [1, 2, 3, 4, 5]`."""
    with kwbin.open(packed["mul_const_left"][1]) as f:
        (entry,) = [e for e in f.metadata["model_config"]["config"]["layers"] if e["class_name"] == "TFOpLambda"]
    node = entry["inbound_nodes"][0]
    assert node[:3] == ["_CONSTANT_VALUE", -1, 0.5] and node[3]["y"] == ["d", 0, 0]
    with kwbin.open(packed["add_const_vector"][1]) as f:
        (entry,) = [e for e in f.metadata["model_config"]["config"]["layers"] if e["class_name"] == "TFOpLambda"]
    assert entry["inbound_nodes"][0][3]["y"] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_the_dense_weights_of_the_whole_models_are_packed(packed):
    with kwbin.open(packed["tf_classifier"][1]) as f:
        assert sorted(f.keys()) == ["d1/bias", "d1/kernel", "head/bias", "head/kernel"]
        assert f["d1/kernel"].shape == (6, 8) and f["head/kernel"].shape == (16, 3)
        assert np.all(f["d1/bias"] != 0)  # seeded, not Keras's zero initialiser
