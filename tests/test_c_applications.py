"""Issue #13's proof on keras.applications, the quick part (tools/check_applications.py).

- the smaller image models at their default input size, random weights made
  to matter (seeded; see check_applications.randomize), packed with `kwbin
  pack`, run by kwbin-run, equal Keras `predict` within 1e-4 relative (the
  issue's tolerance for deep nets; the relative error's floor is 1e-3 of the
  largest output).  A model that kwbin cannot run yet is xfail(strict=True)
  with the exact reason, so the mark turns red the day it runs;
- the harness itself: its relative error, a refusal reported as "refused"
  (never a pass), a wrong answer reported as "FAIL".

`make check-applications` runs every model (VGG, ResNet, Inception,
EfficientNet, ConvNeXt, ...): several minutes each on a small machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from test_c_inference import kwbin_run  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_applications as apps  # noqa: E402

SMALL = [
    "MobileNetV2",
    "MobileNet",
    "MobileNetV3Small",  # hard_sigmoid's `x + 3.0` and `* (1/6)` are operation nodes (47_ops.h)
]


def test_the_small_tier_is_what_this_file_runs():
    assert [a.name for a in apps.APPS if a.tier == "small"] == sorted(
        ["MobileNetV2", "MobileNet", "MobileNetV3Small"], key=[a.name for a in apps.APPS].index)


@pytest.mark.parametrize("name", SMALL)
def test_application_equals_keras(name, kwbin_run):  # noqa: F811
    # a fresh process per model (as the tool does): Keras's global name counters stay untouched here
    result = apps._run_in_child(name, kwbin_run, 2)
    assert result["status"] == "pass", result.get("message")
    assert result["rel_err"] <= apps.TOLERANCE
    assert result["keras_std"] > 1e-5, "a degenerate output proves nothing"


# ---------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------


def test_relative_error_has_a_floor():
    k = np.array([[10.0, 1e-6, -2.0]])
    c = k + np.array([[0.0, 1e-5, 2e-4]])
    abs_err, rel_err = apps.errors(c, k)
    assert abs_err == pytest.approx(2e-4)
    # 1e-5 / max(1e-6, 1e-3 * 10) = 1e-3 beats 2e-4 / 2 = 1e-4
    assert rel_err == pytest.approx(1e-3)


def _packed(tmp_path: Path, layer) -> Path:
    import keras

    keras.utils.set_random_seed(7)
    model = keras.Sequential([keras.Input((4, 3)), layer, keras.layers.Flatten(), keras.layers.Dense(5)])
    x = np.random.default_rng(7).uniform(-1, 1, (2, 4, 3)).astype(np.float32)
    np.save(tmp_path / "input.npy", x)
    np.save(tmp_path / "keras.npy", model.predict(x, verbose=0))
    model.save(tmp_path / "model.keras")
    from kwbin.keras import pack
    pack(tmp_path / "model.keras", tmp_path / "model.kwb")
    return tmp_path


def test_a_supported_model_passes(tmp_path, kwbin_run):  # noqa: F811
    result = apps.run_c(_packed(tmp_path, _dense()), kwbin_run)
    assert result["status"] == "pass" and result["rel_err"] <= apps.TOLERANCE


def test_a_refused_model_is_reported_refused(tmp_path, kwbin_run):  # noqa: F811
    import keras

    layer = keras.layers.RNN(keras.layers.LSTMCell(3), return_sequences=True)  # a generic RNN of a cell
    result = apps.run_c(_packed(tmp_path, layer), kwbin_run)
    assert result["status"] == "refused"
    assert "unsupported" in result["message"] and "(RNN)" in result["message"]


def test_a_wrong_answer_fails(tmp_path, kwbin_run):  # noqa: F811
    work = _packed(tmp_path, _dense())
    k = np.load(work / "keras.npy")
    k[0, 0] += 1e-3 * np.max(np.abs(k))  # 1e-3 relative: ten times the tolerance
    np.save(work / "keras.npy", k)
    result = apps.run_c(work, kwbin_run)
    assert result["status"] == "FAIL" and "relative error" in result["message"]


def _dense():
    import keras

    return keras.layers.Dense(3, activation="tanh")
