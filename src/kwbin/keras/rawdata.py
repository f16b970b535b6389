"""Contiguous datasets viewed straight in a memory map of the source file.

h5py's ``ds[()]`` copies a dataset into a new array, which the writer then
copies again into the output.  A dataset stored contiguously, unfiltered, in
a plain number type is exactly its array bytes at one place of the file, and
h5py tells where (``H5Dget_offset``, counted from the start of the file).
The packer then views those bytes in a read-only map of the source instead:
one copy fewer, and the checksum threads read the page cache directly.
Anything else (chunked, compressed, external, unallocated, bool, strings,
custom float formats) is read through h5py as before.

h5py still decides everything about the layout; only the copying of the
numbers goes around it.  As with any memory map, truncating the source
while it is packed kills the packer (SIGBUS) before the output is renamed
into place, so the destination stays untouched.
"""

from __future__ import annotations

import mmap
from typing import Any

import h5py
import numpy as np


class SourceMaps:
    """Read-only maps of the files the HDF5 data lives in, made on first use."""

    def __init__(self) -> None:
        self._places: dict[Any, tuple[str, int]] = {}  # HDF5 file number -> (path, start in it)
        self._maps: dict[str, mmap.mmap | None] = {}

    def register(self, h5: h5py.File, path: str, start: int = 0) -> None:
        """The HDF5 file ``h5`` lies in ``path`` from byte ``start`` on (a zip member)."""
        self._places[h5.id.fileno] = (path, start)

    def array(self, dataset: h5py.Dataset) -> np.ndarray | None:
        """The dataset's values viewed in the map, or None to read them through h5py."""
        place = self._places.get(dataset.id.fileno)
        if place is None:
            return None
        dtype = dataset.dtype
        if dtype.kind not in "fiu" or dataset.chunks is not None or dataset.external:
            return None
        count = int(dataset.size)
        offset = dataset.id.get_offset()
        if offset is None or count == 0 or dataset.id.get_storage_size() != count * dtype.itemsize:
            return None
        # The stored type must be exactly numpy's (byte order, precision, padding).
        if not dataset.id.get_type().equal(h5py.h5t.py_create(dtype)):
            return None
        path, start = place
        mapping = self._map(path)
        begin = start + offset
        if mapping is None or begin + count * dtype.itemsize > len(mapping):
            return None
        return np.frombuffer(mapping, dtype, count, begin).reshape(dataset.shape)

    def _map(self, path: str) -> mmap.mmap | None:
        if path not in self._maps:
            try:
                with open(path, "rb") as f:
                    self._maps[path] = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # empty, special or unmappable: h5py reads it
                self._maps[path] = None
        return self._maps[path]

    def close(self) -> None:
        for mapping in self._maps.values():
            if mapping is not None:
                try:
                    mapping.close()
                except BufferError:
                    pass  # an array still views it; it goes with the last one
        self._maps.clear()
