"""The canonical schema every importer produces, before it is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from .h5safe import read_dataset


@dataclass
class Weight:
    name: str  # canonical weight name within its layer: kernel, bias, gamma, ...
    dataset: h5py.Dataset  # read only when written, one at a time
    source: str  # the dataset's path in the source HDF5 file

    def read(self) -> np.ndarray:
        return read_dataset(self.dataset)

    @property
    def nbytes(self) -> int:
        return int(self.dataset.size) * self.dataset.dtype.itemsize


@dataclass
class Layer:
    name: str
    class_name: str
    config: dict[str, Any] | None
    parent: str | None
    weights: list[Weight] = field(default_factory=list)


@dataclass
class Model:
    layers: list[Layer]
    metadata: dict[str, Any]
    extra: list[Weight] = field(default_factory=list)  # optimizer state, model-level vars
    warnings: list[str] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return sum(w.nbytes for layer in self.layers for w in layer.weights) + sum(w.nbytes for w in self.extra)


def canonical_names(paths: list[str]) -> list[str]:
    """Each variable's last path component, or its whole path where that is ambiguous.

    ``["kernel", "bias"]`` stay; attention's ``query/kernel`` and
    ``key/kernel`` keep their prefix because ``kernel`` alone would repeat.
    """
    last = [p.rsplit("/", 1)[-1] for p in paths]
    return [name if last.count(name) == 1 else path for name, path in zip(last, paths)]
