"""Deterministic benchmark workloads.

A workload is a list of ``(name, shape)`` specs plus a seed.  Tensor ``i`` is
generated from its own seeded generator, so any process can regenerate any
single tensor (or all of them, one at a time) and get the same bytes: the
streaming-writer measurement relies on this to never hold the whole model.

Only numpy and the standard library are imported here, because the timed
children import this module too.
"""

from __future__ import annotations

import zlib

import numpy as np

SEED = 20240607
DTYPE = np.dtype("<f4")

#: name -> (tensor count, approximate total payload bytes or None for tiny)
WORKLOADS = {
    "tiny10k": (10_000, None),
    "mid100m": (200, 100_000_000),
    "big1g": (400, 1_000_000_000),
}
QUICK = ("tiny10k", "mid100m")
SAVE_WORKLOADS = ("mid100m", "big1g")

_COLS = (128, 256, 384, 512, 768, 1024)


def _name(i: int) -> str:
    # Keras-like "layer/kernel", "layer/bias" pairs; h5py turns "/" into groups,
    # exactly as Keras' own .h5 files do.
    return f"layer_{i // 2:05d}/{'kernel' if i % 2 == 0 else 'bias'}"


def specs(workload: str) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` for every tensor of ``workload``, in file order."""
    count, total = WORKLOADS[workload]
    if total is None:
        return [(_name(i), (16,)) for i in range(count)]

    rng = np.random.default_rng([SEED, zlib.crc32(workload.encode())])
    kernels = count // 2
    cols = rng.choice(_COLS, size=kernels)
    # Relative kernel sizes vary 0.5x..1.5x; biases are tiny, so the kernels
    # share (almost) the whole byte budget.
    weights = rng.uniform(0.5, 1.5, size=kernels)
    budget = total // DTYPE.itemsize - int(cols.sum())
    out = []
    for k in range(kernels):
        elems = budget * weights[k] / weights.sum()
        c = int(cols[k])
        if k % 4 == 0:  # a conv kernel (3, 3, cin, cout) every fourth layer
            cin = max(1, round(elems / (9 * c)))
            shape = (3, 3, cin, c)
        else:
            shape = (max(1, round(elems / c)), c)
        out.append((_name(2 * k), shape))
        out.append((_name(2 * k + 1), (c,)))
    return out


def make_tensor(workload: str, index: int, shape: tuple[int, ...]) -> np.ndarray:
    """Tensor ``index`` of ``workload``: standard normal float32, seeded per tensor."""
    rng = np.random.default_rng([SEED, zlib.crc32(workload.encode()), index])
    return rng.standard_normal(shape, dtype=np.float32)


def iter_tensors(workload: str):
    """Yield ``(name, array)`` one at a time (only one tensor alive at once)."""
    for i, (name, shape) in enumerate(specs(workload)):
        yield name, make_tensor(workload, i, shape)


def summary(workload: str) -> dict:
    shapes = [shape for _, shape in specs(workload)]
    sizes = [int(np.prod(s)) * DTYPE.itemsize for s in shapes]
    return {
        "tensors": len(sizes),
        "payload_bytes": sum(sizes),
        "largest_tensor_bytes": max(sizes),
        "dtype": DTYPE.name,
        "seed": SEED,
    }
