"""Datasets viewed in place in the source's memory map equal what h5py reads, and only safe ones are."""

from __future__ import annotations

import zipfile

import h5py
import numpy as np
import pytest

import kwbin
from kwbin.keras import pack
from kwbin.keras.rawdata import SourceMaps
from kwbin.keras.sources import KerasArchive

from keras_fixtures import FIXTURES


def datasets(f: h5py.File) -> list[h5py.Dataset]:
    found: list[h5py.Dataset] = []
    f.visititems(lambda _, obj: found.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return found


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
def test_every_fixture_dataset_viewed_in_place_equals_h5py(fixture):
    maps = SourceMaps()
    if zipfile.is_zipfile(fixture.path):
        archive = KerasArchive(str(fixture.path))
        f, where, start = archive.weights()
        maps.register(f, where, start)
    else:
        archive, f = None, h5py.File(fixture.path, "r")
        maps.register(f, str(fixture.path))
    try:
        viewed = 0
        for ds in datasets(f):
            view = maps.array(ds)
            if view is None:
                continue
            viewed += 1
            expected = ds[()]
            assert view.dtype == expected.dtype and view.shape == expected.shape
            assert view.tobytes() == expected.tobytes(), ds.name
            assert not view.flags.writeable
        assert viewed > 0, "Keras writes contiguous float32 datasets: some must be viewed in place"
        del view
    finally:
        f.close()
        if archive:
            archive.close()
        maps.close()


def write_odd_datasets(path) -> dict[str, np.ndarray]:
    """Datasets that must go through h5py: each is stored in a way a plain view would misread."""
    rng = np.random.default_rng(7)
    values = {
        "plain": rng.standard_normal((4, 5)).astype("<f4"),
        "chunked": rng.standard_normal((64, 8)).astype("<f4"),
        "compressed": rng.standard_normal((64, 8)).astype("<f4"),
        "big_endian": rng.standard_normal((3, 3)).astype(">f4"),
        "flags": np.array([True, False, True]),
        "empty": np.zeros((0, 3), "<f4"),
        "never_written": np.zeros((2, 2), "<f4"),
    }
    with h5py.File(path, "w") as f:
        f["plain"] = values["plain"]
        f.create_dataset("chunked", data=values["chunked"], chunks=(16, 8))
        f.create_dataset("compressed", data=values["compressed"], compression="gzip")
        f["big_endian"] = values["big_endian"]
        f["flags"] = values["flags"]
        f["empty"] = values["empty"]
        f.create_dataset("never_written", shape=(2, 2), dtype="<f4")  # unallocated: reads as fill value
    return values


def test_only_plain_contiguous_numbers_are_viewed(tmp_path):
    path = tmp_path / "odd.h5"
    values = write_odd_datasets(path)
    maps = SourceMaps()
    with h5py.File(path, "r") as f:
        maps.register(f, str(path))
        viewed = {name for name in values if maps.array(f[name]) is not None}
        # big-endian float32 is a plain IEEE type too: viewed with its byte order, converted on write.
        assert viewed == {"plain", "big_endian"}
        for name in viewed:
            view = maps.array(f[name])
            assert view.dtype == f[name].dtype
            assert np.array_equal(view, values[name])
            del view
        unregistered = SourceMaps()
        assert unregistered.array(f["plain"]) is None, "a file never registered is read through h5py"
    maps.close()


def test_pack_of_a_keras_archive_reads_the_member_in_place(tmp_path):
    fixture = next(f for f in FIXTURES if f.source.endswith(".keras"))
    out = tmp_path / "a.kwb"
    pack(fixture.path, out)
    archive = KerasArchive(str(fixture.path))
    f, _, _ = archive.weights()
    try:
        with kwbin.open(out) as packed:
            for info in packed.tensors:
                assert packed[info.name].tobytes() == f[info.source][()].tobytes()
    finally:
        f.close()
        archive.close()
