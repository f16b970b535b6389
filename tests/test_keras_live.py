"""Keras -> kwbin -> Keras: predictions of the packed fixtures equal Keras's own."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kwbin.keras import load_weights, pack, save_model  # noqa: E402

from keras_fixtures import DATA, FIXTURES  # noqa: E402


def _keras3_model(family: str):
    config = json.loads(zipfile.ZipFile(DATA / f"{family}_k3.keras").read("config.json"))
    return keras.saving.deserialize_keras_object(config)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
def test_packed_weights_loaded_into_keras3_predict_the_fixture_outputs(fixture, tmp_path):
    out = tmp_path / "model.kwb"
    pack(fixture.path, out, arch=fixture.arch_path)
    model = _keras3_model(fixture.family)
    # Keras 1 and 2.1 named layers dense_1, ...; Keras 3 and tf.keras name them dense, ...
    load_weights(model, out, by_name=fixture.generation == "keras3" or fixture.io.endswith("tfk") or fixture.io == "model54321")
    x = np.load(DATA / f"{fixture.io}.input.npy")
    expected = np.load(DATA / f"{fixture.io}.output.npy")
    got = model.predict(x, verbose=0)
    assert np.max(np.abs(got - expected)) <= 1e-6


def test_save_model_then_load_weights_round_trips_exactly(tmp_path):
    original = keras.saving.load_model(DATA / "cnn_k3.keras")
    out = tmp_path / "cnn.kwb"
    save_model(original, out)
    rebuilt = _keras3_model("cnn")
    load_weights(rebuilt, out)
    x = np.load(DATA / "cnn_k3.input.npy")
    assert np.array_equal(rebuilt.predict(x, verbose=0), original.predict(x, verbose=0))
    for a, b in zip(rebuilt.weights, original.weights):
        assert np.array_equal(a.numpy(), b.numpy())


def test_load_weights_refuses_a_file_of_another_model(tmp_path):
    out = tmp_path / "mlp.kwb"
    pack(DATA / "mlp_k3.keras", out)
    from kwbin.keras import PackError

    with pytest.raises(PackError, match="no tensor|shape|layers have weights"):
        load_weights(_keras3_model("cnn"), out)
