"""The up-front HDF5 check stays cheap without checking less.

- Every dataset is opened once, by the check; the readers take the opened
  dataset instead of looking it up again (work counted, not timed).
- A dataset under two names is still checked, and its second name too.
- The driver's window serves small reads from a cached block: every read,
  wherever it falls, returns exactly the file's bytes.
"""

from __future__ import annotations

import os
import random

import h5py
import numpy as np
import pytest

from kwbin.keras import PackError, pack
from kwbin.keras.pack import read_model
from kwbin.keras.sources import _MemberView, open_h5


def _legacy_weights(path, layers=20):
    with h5py.File(path, "w") as f:
        names = [f"dense_{i}" for i in range(layers)]
        f.attrs["layer_names"] = np.array([n.encode() for n in names])
        for i, name in enumerate(names):
            group = f.create_group(name)
            weights = [f"{name}/kernel:0", f"{name}/bias:0"]
            group.attrs["weight_names"] = np.array([w.encode() for w in weights])
            group.create_dataset(weights[0], data=np.full((2, 3), i, np.float32))
            group.create_dataset(weights[1], data=np.full((3,), i, np.float32))


def test_readers_take_the_checked_datasets_instead_of_opening_them_again(tmp_path, monkeypatch):
    src = tmp_path / "w.h5"
    _legacy_weights(src)
    looked_up: list[str] = []
    original = h5py.Group.__getitem__

    def counting(self, name):
        obj = original(self, name)
        if isinstance(obj, h5py.Dataset):
            looked_up.append(obj.name)
        return obj

    monkeypatch.setattr(h5py.Group, "__getitem__", counting)
    with read_model(str(src)) as model:
        assert len([w for layer in model.layers for w in layer.weights]) == 40
    assert looked_up == []


def test_keras3_reader_takes_the_checked_datasets(tmp_path, monkeypatch):
    src = tmp_path / "m.weights.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("layers/dense/vars/0", data=np.ones((4, 3), np.float32))
        f.create_dataset("layers/dense/vars/1", data=np.zeros((3,), np.float32))
    gets: list[str] = []
    original = h5py.Group.get

    def counting(self, name, *args, **kwargs):
        obj = original(self, name, *args, **kwargs)
        if isinstance(obj, h5py.Dataset):
            gets.append(obj.name)
        return obj

    monkeypatch.setattr(h5py.Group, "get", counting)
    with read_model(str(src)) as model:
        assert [w.name for w in model.layers[0].weights] == ["kernel", "bias"]
    assert gets == []


def test_a_dataset_under_two_names_is_checked_and_refused_under_either(tmp_path):
    src = tmp_path / "twice.h5"
    _legacy_weights(src, layers=2)
    with h5py.File(src, "a") as f:
        bad = f.create_dataset("junk/text", data=np.array([b"abc"]))
        f["dense_1/also_text"] = bad  # a second hard link to the same object
    with pytest.raises(PackError, match="string datatype"):
        open_h5(str(src), "twice.h5")
    with pytest.raises(PackError, match="string datatype"):
        pack(src, tmp_path / "out.kwb")
    assert not (tmp_path / "out.kwb").exists()


def test_checked_datasets_are_keyed_by_first_path_only(tmp_path):
    src = tmp_path / "w.h5"
    _legacy_weights(src, layers=3)
    with h5py.File(src, "a") as f:
        f["dense_0/alias"] = f["dense_0/dense_0/kernel:0"]
    f = open_h5(str(src), "w.h5")
    try:
        # H5Lvisit goes in name order: "alias" comes before "dense_0", so the kernel is known by it.
        expected = {f"/dense_{i}/dense_{i}/{w}:0" for i in range(3) for w in ("kernel", "bias")}
        assert set(f.checked) == expected - {"/dense_0/dense_0/kernel:0"} | {"/dense_0/alias"}
        assert f.dataset("/dense_0/alias").shape == (2, 3)
        assert f.dataset("/no/such") is None
    finally:
        f.close()


@pytest.mark.parametrize("start", [0, 1, 4097])
def test_member_view_reads_exactly_the_window_bytes(tmp_path, start):
    rng = random.Random(start)
    data = os.urandom(3 * _MemberView.BLOCK + 123)
    path = tmp_path / "blob"
    path.write_bytes(data)
    size = len(data) - start - 7
    window = data[start : start + size]
    view = _MemberView(str(path), start, size)
    try:
        for _ in range(2000):
            pos = rng.randrange(size + 10)
            n = rng.choice([1, 8, 512, _MemberView.SMALL, _MemberView.SMALL + 1, 70000])
            buffer = bytearray(b"\xee" * n)
            view.seek(pos)
            got = view.readinto(buffer)
            expect = window[pos : pos + n]
            assert got == len(expect) and bytes(buffer[:got]) == expect
            assert view.tell() == pos + got
    finally:
        view.close()
