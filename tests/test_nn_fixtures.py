"""The Keras fixtures of tests/data/nn: the proof data for graph execution in C (issue #13).

Each case (see tests/data/nn/MANIFEST.md and cases.json) is a tiny Keras 3 model
with its inputs and Keras's own outputs.  Checked here, for every case: the
files are there and fit the model; ``kwbin.keras.pack`` packs the model and the
packed file lists every layer (nested models' too, named ``outer/inner``) with
its class, its config and its weights, and keeps the graph (``model_config``);
and today's Keras still computes the committed outputs.  C is not tested here.
"""

from __future__ import annotations

import importlib
import json
import sys
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import kwbin  # noqa: E402
from kwbin.keras import pack  # noqa: E402

NN = Path(__file__).resolve().parent / "data" / "nn"
INDEX = json.loads((NN / "cases.json").read_text())
CASES: dict[str, dict[str, Any]] = INDEX["cases"]
NAMES = sorted(CASES)


def _custom_objects(entry: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, dotted in entry.get("custom_objects", {}).items():
        module, _, attr = dotted.rpartition(".")
        out[name] = getattr(importlib.import_module(module), attr)
    return out


@lru_cache(maxsize=None)
def _model(name: str) -> Any:
    """Each model is loaded once for the three tests that use it."""
    entry = CASES[name]
    return keras.saving.load_model(NN / entry["model"], custom_objects=_custom_objects(entry))


def _arrays(entries: list[dict[str, Any]]) -> list[np.ndarray]:
    return [np.load(NN / e["file"]) for e in entries]


def _walk(model: Any, prefix: str = "", seen: set[int] | None = None) -> list[tuple[str, Any]]:
    """(qualified name, layer) of every layer, nested models' layers after them, each once."""
    seen = set() if seen is None else seen
    out = []
    for layer in model.layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append((prefix + layer.name, layer))
        if isinstance(layer, keras.Model):
            out.extend(_walk(layer, f"{prefix}{layer.name}/", seen))
    return out


def _json(value: Any) -> Any:
    """A config as it reads back from JSON (tuples become lists), without Keras's
    ``shared_object_id`` (an ``id()`` Keras adds when one object, here the dtype
    policy, is serialized more than once)."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return json.loads(json.dumps(value))


@pytest.fixture(scope="module", autouse=True)
def _fast_xla_compiles():
    """Compile with XLA's optimisations off while this module runs.

    Loading a model compiles JAX's random initialisers once per weight shape
    (their values are then overwritten) and predict compiles each model: with
    the optimisations, that is most of this file's time (measured: 93 s against
    19 s for all cases, on 2 busy cores).  The outputs stay within tolerance.
    """
    import jax

    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", before)


def test_the_index_and_the_directory_agree_with_the_generator():
    sys.path.insert(0, str(NN))
    try:
        import make_fixtures
    finally:
        sys.path.remove(str(NN))
    assert list(CASES) == list(make_fixtures.CASES)
    listed = {f for e in CASES.values() for f in [e["model"]] + [x["file"] for x in e["inputs"] + e["outputs"]]}
    present = {p.name for p in NN.iterdir() if p.suffix in (".keras", ".npy")}
    assert present == listed
    assert INDEX["keras_version"] == "3.15.1" and INDEX["backend"] == "jax"


@pytest.mark.parametrize("name", NAMES)
def test_files_exist_and_fit_the_model(name):
    entry = CASES[name]
    model = _model(name)
    assert [c for c in entry["layers"]] == sorted({type(model).__name__} | {type(l).__name__ for _, l in _walk(model)})
    for tensors, entries in ((model.inputs, entry["inputs"]), (model.outputs, entry["outputs"])):
        arrays = _arrays(entries)
        assert len(arrays) == len(tensors) == len(entries)
        for array, tensor, e in zip(arrays, tensors, entries):
            assert array.shape == tuple(e["shape"]) == (INDEX["batch"], *tensor.shape[1:])
            assert array.dtype == np.dtype(e["dtype"]) == np.dtype(tensor.dtype)
            assert np.all(np.isfinite(array))
    assert np.isclose(max(np.max(np.abs(y)) for y in _arrays(entry["outputs"])), entry["max_abs_output"])


@pytest.mark.parametrize("name", NAMES)
def test_pack_lists_every_layer_with_its_class_config_and_weights(name, tmp_path):
    entry = CASES[name]
    model = _model(name)
    out = pack(NN / entry["model"], tmp_path / "model.kwb")
    with kwbin.open(out) as f:
        packed = {layer.name: layer for layer in f.layers}
        source_config = json.loads(zipfile.ZipFile(NN / entry["model"]).read("config.json"))
        assert f.metadata["model_config"] == source_config  # the graph: every layer's inbound_nodes
        expected = _walk(model)
        for qualified, layer in expected:
            assert qualified in packed, f"layer {qualified} ({type(layer).__name__}) is missing"
            record = packed[qualified]
            assert record.class_name == type(layer).__name__
            assert record.parent == (qualified.rpartition("/")[0] or None)
            assert _json(record.config) == _json(keras.saving.serialize_keras_object(layer)["config"])
            if isinstance(layer, keras.Model):
                continue
            values = [np.asarray(f[t]) for t in record.tensors]
            assert len(values) == len(layer.weights), f"{qualified}: {record.tensors}"
            for got, variable in zip(values, layer.weights):
                assert np.array_equal(got, np.asarray(variable.numpy()))
        # The file may add what the config lists and .layers leaves out: a Sequential's InputLayer.
        extra = set(packed) - {q for q, _ in expected}
        assert all(packed[n].class_name == "InputLayer" for n in extra), extra


@pytest.mark.parametrize("name", NAMES)
def test_keras_reproduces_the_committed_outputs(name):
    entry = CASES[name]
    model = _model(name)
    xs = _arrays(entry["inputs"])
    got = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    got = list(got) if isinstance(got, (list, tuple)) else [got]
    expected_outputs = _arrays(entry["outputs"])
    assert len(got) == len(expected_outputs)
    for y, expected in zip(got, expected_outputs):
        assert np.max(np.abs(np.asarray(y) - expected)) <= entry["tolerance"]
