"""save_model / load_weights with a live tf.keras (Keras 2) model.

TensorFlow is too heavy for the default test environment, so this runs only
where tf_keras is installed: `make check-tfkeras` builds such an environment
(.venv-tf) and runs it.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf_keras = pytest.importorskip("tf_keras")

import kwbin  # noqa: E402
from kwbin.keras import load_weights, save_model  # noqa: E402


def test_a_live_tf_keras_model_round_trips_through_kwbin(tmp_path):
    inp = tf_keras.Input((6,))
    x = tf_keras.layers.Dense(5, activation="relu", name="d1")(inp)
    x = tf_keras.layers.BatchNormalization(name="bn")(x)
    model = tf_keras.Model(inp, tf_keras.layers.Dense(3, name="d2")(x))
    rng = np.random.default_rng(0)
    model.set_weights([rng.standard_normal(w.shape).astype("float32") + (2 if "variance" in w.name else 0)
                       for w in model.weights])
    save_model(model, tmp_path / "m.kwb")
    with kwbin.open(tmp_path / "m.kwb") as f:
        assert f.metadata["source_format"] == "keras2-h5"
        for w in model.weights:
            layer, name = w.name.split("/")[0], w.name.split("/")[-1].split(":")[0]
            assert np.array_equal(f[layer, name], w.numpy()), w.name
    fresh = tf_keras.models.clone_model(model)
    load_weights(fresh, tmp_path / "m.kwb")
    x = rng.standard_normal((4, 6)).astype("float32")
    assert np.array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
