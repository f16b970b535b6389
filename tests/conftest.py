"""Shared test setup: Keras (only used by the tests that need it) runs on JAX, on the CPU."""

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

KERAS_DATA = Path(__file__).resolve().parent / "data" / "keras"


@pytest.fixture(scope="session")
def keras_data() -> Path:
    return KERAS_DATA


# No test verdict may depend on the machine's speed: Hypothesis's per-example
# deadline is off everywhere (a loaded CI machine would trip it).
from hypothesis import settings  # noqa: E402

settings.register_profile("kwbin", deadline=None)
settings.load_profile("kwbin")
