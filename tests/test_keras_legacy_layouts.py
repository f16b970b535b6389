"""Keras 2 / tf.keras HDF5 variants no shipped fixture has, written per Keras's layout.

Each file is made from a live Keras 3 model with random weights (tests/legacy_h5.py),
packed without Keras, loaded back into the same architecture: predictions and
every weight must be identical.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

keras = pytest.importorskip("keras")
layers = keras.layers

import kwbin  # noqa: E402
from kwbin.keras import PackError, load_weights, pack  # noqa: E402

from legacy_h5 import keras2_config, write_keras2_h5  # noqa: E402


def _randomise(model, seed=0):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        values = rng.standard_normal(v.shape)
        v.assign((np.abs(values) + 0.5 if "variance" in v.path else values).astype(v.dtype))


def _nested_shared_model():
    inner = keras.Sequential(
        [keras.Input((4,), name="block_in"), layers.Dense(5, name="inner_dense"), layers.BatchNormalization(name="inner_bn")],
        name="block",
    )
    shared = layers.Dense(4, name="shared")
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    merged = layers.Add(name="add")([shared(a), shared(b)])
    return keras.Model([a, b], layers.Dense(2, name="head")(inner(merged)))


INPUTS = [np.ones((3, 4), np.float32), np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)]


@pytest.mark.parametrize("encoding", ["str", "fixed_bytes", "bytes_objects"])
@pytest.mark.parametrize("chunk", [None, 2])
def test_nested_and_shared_layers_in_every_string_encoding_and_chunking(encoding, chunk, tmp_path):
    model = _nested_shared_model()
    _randomise(model)
    source = tmp_path / "model.h5"
    write_keras2_h5(str(source), model, encoding=encoding, chunk=chunk)
    with h5py.File(source) as f:  # the file really has the variant under test
        assert ("layer_names0" in f["model_weights"].attrs) == (chunk is not None)
        assert f["model_weights/add"].attrs["weight_names"].dtype == np.float64
    pack(source, tmp_path / "model.kwb")
    with kwbin.open(tmp_path / "model.kwb") as f:
        assert [l.name for l in f.layers] == [
            "a", "b", "shared", "add", "block", "block/block_in", "block/inner_dense", "block/inner_bn", "head"
        ]
        assert f["block/inner_bn", "moving_variance"].shape == (5,)
        assert f.info("block/inner_dense/kernel").source == "/model_weights/block/inner_dense/kernel:0"
    fresh = keras.Model.from_config(model.get_config())
    load_weights(fresh, tmp_path / "model.kwb")
    assert np.array_equal(fresh.predict(INPUTS, verbose=0), model.predict(INPUTS, verbose=0))


def test_weights_only_file_with_an_arch_json(tmp_path):
    model = _nested_shared_model()
    _randomise(model, 3)
    write_keras2_h5(str(tmp_path / "w.h5"), model, full_model=False)
    (tmp_path / "arch.json").write_text(json.dumps(keras2_config(model)))
    pack(tmp_path / "w.h5", tmp_path / "w.kwb", arch=tmp_path / "arch.json")
    fresh = keras.Model.from_config(model.get_config())
    load_weights(fresh, tmp_path / "w.kwb")
    assert np.array_equal(fresh.predict(INPUTS, verbose=0), model.predict(INPUTS, verbose=0))
    with kwbin.open(tmp_path / "w.kwb") as f:
        assert f.metadata["source_format"] == "keras2-weights-h5"


def test_layer_names_with_slashes_become_nested_groups_and_still_pack(tmp_path):
    kernel = np.arange(6, dtype=np.float32).reshape(2, 3)
    bias = np.array([1, 2, 3], np.float32)
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "encoder/proj", "units": 3, "use_bias": True}},
        {"class_name": "Activation", "config": {"name": "encoder/act", "activation": "relu"}},
    ]}}  # fmt: skip
    with h5py.File(tmp_path / "slash.h5", "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.15.0"
        root = f.create_group("model_weights")
        root.attrs["layer_names"] = np.array([b"encoder/proj", b"encoder/act"])
        g = root.create_group("encoder/proj")
        g.attrs["weight_names"] = np.array([b"encoder/proj/kernel:0", b"encoder/proj/bias:0"])
        g["encoder/proj/kernel:0"] = kernel
        g["encoder/proj/bias:0"] = bias
        root.create_group("encoder/act").attrs["weight_names"] = np.array([], np.float64)
    pack(tmp_path / "slash.h5", tmp_path / "slash.kwb")
    with kwbin.open(tmp_path / "slash.kwb") as f:
        assert [(l.name, l.tensors) for l in f.layers] == [
            ("encoder/proj", ("encoder/proj/kernel", "encoder/proj/bias")),
            ("encoder/act", ()),
        ]
        assert np.array_equal(f["encoder/proj", "kernel"], kernel)
        assert np.array_equal(f["encoder/proj", "bias"], bias)


def test_a_keras_0_file_is_refused_naming_its_generation(tmp_path):
    # Keras 0.3's save_weights: attrs nb_layers / nb_params, datasets layer_k/param_n.
    with h5py.File(tmp_path / "k0.h5", "w") as f:
        f.attrs["nb_layers"] = 1
        g = f.create_group("layer_0")
        g.attrs["nb_params"] = 2
        g["param_0"] = np.ones((3, 2), np.float32)
        g["param_1"] = np.zeros(2, np.float32)
    with pytest.raises(PackError, match="Keras 0.x"):
        pack(tmp_path / "k0.h5", tmp_path / "k0.kwb")
    assert not (tmp_path / "k0.kwb").exists()


def test_a_config_whose_units_disagree_with_the_kernel_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="d")])
    write_keras2_h5(str(tmp_path / "m.h5"), model)
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][-1]["config"]["units"] = 7
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(PackError, match=r"layer .d. \(Dense\): weight kernel has shape \(4, 3\), its config implies \(\?, 7\)"):
        pack(tmp_path / "m.h5", tmp_path / "m.kwb")
