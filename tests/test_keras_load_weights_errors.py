"""load_weights reports a tensor that does not fit the model with its own error class."""

from __future__ import annotations

import pytest

keras = pytest.importorskip("keras")

from kwbin.keras import LoadWeightsError, PackError, load_weights, save_model  # noqa: E402


def _model(units: int, name: str = "d"):
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(units, name=name)(inp))


def test_shape_mismatch_is_a_load_weights_error_naming_both_shapes(tmp_path):
    path = tmp_path / "m.kwb"
    save_model(_model(3), path)
    target = _model(5)
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises(LoadWeightsError) as info:
        load_weights(target, path)
    error = info.value
    assert isinstance(error, PackError) and isinstance(error, ValueError)  # old `except` clauses still work
    assert (error.layer, error.weight, error.found, error.expected) == ("d", "kernel", (4, 3), (4, 5))
    assert "(4, 3)" in str(error) and "(4, 5)" in str(error)
    assert all((a == b).all() for a, b in zip(before, target.get_weights()))  # nothing half-set


def test_missing_tensor_and_layer_count_are_load_weights_errors(tmp_path):
    path = tmp_path / "m.kwb"
    save_model(_model(3), path)
    with pytest.raises(LoadWeightsError, match="no tensor for layer 'other'"):
        load_weights(_model(3, name="other"), path)
    inp = keras.Input((4,))
    two = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Dense(3)(inp)))
    with pytest.raises(LoadWeightsError, match="1 layers have weights, the model has 2"):
        load_weights(two, path, by_name=False)
