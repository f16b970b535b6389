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
import os
from typing import Any

import h5py
import numpy as np


class SourceMaps:
    """The files the HDF5 data lives in, each dataset mapped on its own.

    One map per dataset, not per file: a map goes away with the last array
    viewing it (once written and checksummed), so the packer's resident
    memory stays near one tensor instead of growing to the whole source.
    """

    def __init__(self) -> None:
        self._places: dict[Any, tuple[str, int]] = {}  # HDF5 file number -> (path, start in it)
        self._files: dict[str, tuple[int, int] | None] = {}  # path -> (descriptor, size)

    def register(self, h5: h5py.File, path: str, start: int = 0) -> None:
        """The HDF5 file ``h5`` lies in ``path`` from byte ``start`` on (a zip member)."""
        self._places[h5.id.fileno] = (path, start)

    def array(self, dataset: h5py.Dataset) -> np.ndarray | None:
        """The dataset's values viewed in a map, or None to read them through h5py."""
        place = self._places.get(dataset.id.fileno)
        if place is None:
            return None
        dtype = dataset.dtype
        if dtype.kind not in "fiu" or dataset.chunks is not None or dataset.external:
            return None
        count = int(dataset.size)
        nbytes = count * dtype.itemsize
        offset = dataset.id.get_offset()
        if offset is None or count == 0 or dataset.id.get_storage_size() != nbytes:
            return None
        # The stored type must be exactly numpy's (byte order, precision, padding).
        if not dataset.id.get_type().equal(h5py.h5t.py_create(dtype)):
            return None
        path, start = place
        opened = self._open(path)
        begin = start + offset
        if opened is None or begin + nbytes > opened[1]:
            return None
        first = begin - begin % mmap.ALLOCATIONGRANULARITY
        try:
            mapping = mmap.mmap(opened[0], begin + nbytes - first, access=mmap.ACCESS_READ, offset=first)
        except (OSError, ValueError):
            return None
        return np.frombuffer(mapping, dtype, count, begin - first).reshape(dataset.shape)

    def _open(self, path: str) -> tuple[int, int] | None:
        if path not in self._files:
            try:
                fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                self._files[path] = None
            else:
                self._files[path] = (fd, os.fstat(fd).st_size)
        return self._files[path]

    def close(self) -> None:
        """Close the files; maps still viewed by arrays stay valid until those go."""
        for opened in self._files.values():
            if opened is not None:
                os.close(opened[0])
        self._files.clear()
