"""Every real Keras fixture packs, without Keras, into the canonical schema, bit for bit."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import kwbin
from kwbin.keras import pack
from kwbin.keras.config import flatten

from keras_fixtures import FIXTURES, Fixture

CANONICAL = {
    "Dense": ["kernel", "bias"],
    "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"],
    "Conv2D": ["kernel", "bias"],
}


def _source_h5(fixture: Fixture) -> h5py.File:
    if fixture.source.endswith(".keras"):
        blob = zipfile.ZipFile(fixture.path).read("model.weights.h5")
        return h5py.File(io.BytesIO(blob), "r")
    return h5py.File(fixture.path, "r")


def _config(fixture: Fixture) -> dict:
    if fixture.source.endswith(".keras"):
        return json.loads(zipfile.ZipFile(fixture.path).read("config.json"))
    if fixture.arch and fixture.arch.endswith(".keras"):
        return json.loads(zipfile.ZipFile(fixture.arch_path).read("config.json"))
    if fixture.arch:
        return json.loads(fixture.arch_path.read_text())
    with h5py.File(fixture.path, "r") as f:
        text = f.attrs["model_config"]
    return json.loads(text if isinstance(text, str) else text.decode())


@pytest.fixture(scope="module", params=FIXTURES, ids=lambda f: f.id)
def packed(request, tmp_path_factory):
    fixture: Fixture = request.param
    out = tmp_path_factory.mktemp("packed") / "model.kwb"
    pack(fixture.path, out, arch=fixture.arch_path)
    return fixture, out


def test_every_tensor_equals_its_hdf5_dataset_bit_for_bit(packed):
    fixture, out = packed
    with kwbin.open(out) as f, _source_h5(fixture) as h5:
        f.verify()
        assert len(f) > 0
        for info in f.tensors:
            source = h5[info.source][()]
            packed_array = f[info.name]
            assert packed_array.dtype == source.dtype and packed_array.shape == source.shape
            assert packed_array.tobytes() == np.ascontiguousarray(source).tobytes(), info.name


def test_layers_follow_the_model_config_in_order_with_their_classes(packed):
    fixture, out = packed
    expected = [(layer.name, layer.class_name) for layer in flatten(_config(fixture))]
    with kwbin.open(out) as f:
        assert [(layer.name, layer.class_name) for layer in f.layers] == expected
        for layer in f.layers:
            assert layer.config is not None and layer.config.get("name") == layer.name


def test_weights_have_canonical_names_whatever_the_generation(packed):
    fixture, out = packed
    with kwbin.open(out) as f:
        for layer in f.layers:
            weights = [f.info(t).weight for t in layer.tensors]
            if layer.class_name in CANONICAL:
                assert set(weights) <= set(CANONICAL[layer.class_name]), (layer.name, weights)
                canonical_order = [w for w in CANONICAL[layer.class_name] if w in weights]
                assert weights == canonical_order
            for tensor in layer.tensors:
                assert tensor == f"{layer.name}/{f.info(tensor).weight}"


def test_metadata_records_the_source(packed):
    fixture, out = packed
    with kwbin.open(out) as f:
        meta = f.metadata
    assert meta["source_format"] == fixture.source_format
    assert meta["generation"] == fixture.generation
    assert meta["source_file"] == fixture.source
    assert meta["source_sha256"] == hashlib.sha256(Path(fixture.path).read_bytes()).hexdigest()
    assert meta["model_config"] == _config(fixture)
    if fixture.generation == "keras1":
        assert "moving_variance" in meta["batchnorm_running_std"]


def test_the_same_model_packs_to_the_same_numbers_in_every_generation(tmp_path):
    arrays = {}
    for fixture in [f for f in FIXTURES if f.family == "seed"]:
        out = tmp_path / f"{fixture.io}.kwb"
        pack(fixture.path, out, arch=fixture.arch_path)
        with kwbin.open(out) as f:
            weighted = [layer for layer in f.layers if layer.tensors]
            arrays[fixture.id] = [np.array(f[t]) for layer in weighted for t in layer.tensors]
    reference = arrays.pop("seed_k3.keras")
    for fixture_id, values in arrays.items():
        assert len(values) == len(reference), fixture_id
        for a, b in zip(values, reference):
            assert np.array_equal(a, b), fixture_id


def test_optimizer_state_is_left_out_unless_asked_for(tmp_path):
    source = FIXTURES[2].path  # seed_tfk.h5: compiled, optimizer_weights holds iteration:0
    pack(source, tmp_path / "plain.kwb")
    pack(source, tmp_path / "opt.kwb", include_optimizer=True)
    with kwbin.open(tmp_path / "plain.kwb") as f:
        assert not [n for n in f if n.startswith("optimizer/")]
    with kwbin.open(tmp_path / "opt.kwb") as f:
        assert f["optimizer/iteration"].dtype == np.int64
        assert f.info("optimizer/iteration").layer is None


def test_weights_only_keras3_file_without_arch_keeps_names_and_warns(tmp_path):
    warnings = []
    pack(FIXTURES[1].path, tmp_path / "w.kwb", warn=warnings.append)
    assert any("--arch" in w for w in warnings)
    with kwbin.open(tmp_path / "w.kwb") as f:
        assert f["dense", "kernel"].shape == (39, 500)
        assert f["batch_normalization_4", "moving_variance"].shape == (100,)
        assert f.metadata["warnings"] == warnings


def test_default_output_is_the_source_name_with_kwb(tmp_path):
    source = tmp_path / "seed_tfk.h5"
    source.write_bytes(FIXTURES[2].path.read_bytes())
    out = pack(source)
    assert out == str(tmp_path / "seed_tfk.kwb")


def test_source_hash_can_be_left_out(tmp_path):
    fixture = FIXTURES[0]
    out = tmp_path / "nohash.kwb"
    pack(fixture.path, out, arch=fixture.arch_path, source_hash=False)
    with kwbin.open(out) as f:
        assert "source_sha256" not in f.metadata
        assert f.metadata["source_file"] == fixture.source
        f.verify()
