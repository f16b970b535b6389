"""Sources beyond the shipped fixtures: sharded Keras 3 weights, unknown layer classes,
and the progress bar of long packs."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")
layers = keras.layers

import kwbin  # noqa: E402
from kwbin import progress  # noqa: E402
from kwbin.keras import pack  # noqa: E402


def test_sharded_keras3_weights_pack_like_a_single_file(tmp_path):
    model = keras.Sequential([keras.Input((40,)), layers.Dense(300), layers.Dense(200), layers.Dense(5)])
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.json", max_shard_size=0.00025)  # GB: several shards
    shards = sorted(p.name for p in tmp_path.glob("m_*.weights.h5"))
    assert len(shards) >= 2, shards
    pack(tmp_path / "m.weights.json", tmp_path / "sharded.kwb", arch=tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "single.kwb")
    with kwbin.open(tmp_path / "sharded.kwb") as a, kwbin.open(tmp_path / "single.kwb") as b:
        assert a.metadata["source_format"] == "keras3-sharded"
        assert [l.name for l in a.layers] == [l.name for l in b.layers]
        assert list(a) == list(b)
        for name in a:
            assert np.array_equal(a[name], b[name])


@keras.saving.register_keras_serializable(package="kwbin_tests")
class Scale(layers.Layer):
    """A custom layer kwbin's table cannot know."""

    def build(self, input_shape):
        self.factor = self.add_weight(shape=(input_shape[-1],), name="factor")
        self.offset = self.add_weight(shape=(), name="offset")

    def call(self, x):
        return x * self.factor + self.offset


def test_an_unknown_layer_class_keeps_positional_names_with_a_warning(tmp_path):
    model = keras.Sequential([keras.Input((3,)), Scale(name="scale"), layers.Dense(2, name="d")])
    for v in model.weights:
        v.assign(np.arange(np.prod(v.shape) or 1, dtype=np.float32).reshape(v.shape) + 1)
    model.save(tmp_path / "m.keras")
    warnings = []
    pack(tmp_path / "m.keras", tmp_path / "m.kwb", warn=warnings.append)
    assert any("'scale'" in w and "positional" in w for w in warnings), warnings
    with kwbin.open(tmp_path / "m.kwb") as f:
        assert [f.info(t).weight for t in f.layers[[l.name for l in f.layers].index("scale")].tensors] == ["0", "1"]
        assert np.array_equal(f["scale", "0"], model.get_layer("scale").factor.numpy())
        assert np.array_equal(f["d", "kernel"], model.get_layer("d").kernel.numpy())
        assert f.metadata["warnings"] == warnings


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tqdm_available", [True, False])
def test_progress_bar_shows_for_big_sources_on_a_terminal_only(monkeypatch, tqdm_available):
    if not tqdm_available:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    for total, tty, enabled, shown in [
        (progress.THRESHOLD, True, True, True),
        (progress.THRESHOLD - 1, True, True, False),  # small source
        (progress.THRESHOLD, False, True, False),  # stderr is not a terminal
        (progress.THRESHOLD, True, False, False),  # -q
    ]:
        err = _Terminal() if tty else io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        with progress.progress_bar(total, enabled=enabled) as advance:
            advance(total // 2)
            advance(total - total // 2)
        assert bool(err.getvalue()) == shown, (total, tty, enabled)
