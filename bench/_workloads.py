"""Deterministic benchmark workloads.

A workload is a list of ``(name, shape)`` specs plus a seed.  Tensor ``i`` is
generated from its own seeded generator, so any process can regenerate any
single tensor (or all of them, one at a time) and get the same bytes: the
streaming-writer measurement relies on this to never hold the whole model.

A few workloads are real Keras files of the tests instead (``KERAS_FILES``):
their tensors are the file's model weights, found the way Keras' own loader
finds them (the ``layer_names`` / ``weight_names`` attributes) and named
``<layer>/<weight>`` as ``kwbin pack`` names them.

Only numpy and the standard library are imported at the top, because the
timed children import this module too; h5py is imported only to read a
Keras-file workload.
"""

from __future__ import annotations

import os
import zlib

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SEED = 20240607
DTYPE = np.dtype("<f4")

#: name -> (tensor count, approximate total payload bytes or None for tiny)
WORKLOADS = {
    "tiny10k": (10_000, None),
    "mid100m": (200, 100_000_000),
    "big1g": (400, 1_000_000_000),
    "seed_tfk": (None, None),  # a real Keras file, see KERAS_FILES
}
#: Keras-file workloads: the file (legacy tf.keras .h5: model_weights/<layer>/<layer>/<w>:0)
KERAS_FILES = {
    "seed_tfk": os.path.join(REPO, "tests", "data", "keras", "seed_tfk.h5"),
}
QUICK = ("tiny10k", "mid100m", "seed_tfk")
#: the smallest workload, for smoke tests (CI): a 1.7 MB real Keras model
SMOKE = ("seed_tfk",)
SAVE_WORKLOADS = ("mid100m", "big1g")

_COLS = (128, 256, 384, 512, 768, 1024)


def _name(i: int) -> str:
    # Keras-like "layer/kernel", "layer/bias" pairs; h5py turns "/" into groups,
    # exactly as Keras' own .h5 files do.
    return f"layer_{i // 2:05d}/{'kernel' if i % 2 == 0 else 'bias'}"


def keras_weights(path: str) -> list[tuple[str, str]]:
    """``(name, dataset path)`` of every model weight of a legacy Keras .h5, in
    Keras' order: ``layer_names`` of the weights group, then each layer's
    ``weight_names``.  The name is ``<layer>/<weight>`` (the ``:0`` suffix of
    the weight name dropped), as ``kwbin pack`` names the tensor."""
    import h5py

    def strings(attrs, key):
        return [v.decode() if isinstance(v, bytes) else str(v) for v in attrs[key]]

    out = []
    with h5py.File(path, "r") as f:
        prefix = "model_weights/" if "model_weights" in f else ""
        root = f[prefix] if prefix else f
        for layer in strings(root.attrs, "layer_names"):
            for weight in strings(root[layer].attrs, "weight_names"):
                name = weight[:-2] if weight.endswith(":0") else weight
                out.append((name, f"{prefix}{layer}/{weight}"))
    return out


def specs(workload: str) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` for every tensor of ``workload``, in file order."""
    if workload in KERAS_FILES:
        import h5py

        with h5py.File(KERAS_FILES[workload], "r") as f:
            return [(name, tuple(f[path].shape)) for name, path in keras_weights(KERAS_FILES[workload])]
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
    if workload in KERAS_FILES:
        import h5py

        with h5py.File(KERAS_FILES[workload], "r") as f:
            for name, path in keras_weights(KERAS_FILES[workload]):
                yield name, f[path][()]
        return
    for i, (name, shape) in enumerate(specs(workload)):
        yield name, make_tensor(workload, i, shape)


def summary(workload: str) -> dict:
    shapes = [shape for _, shape in specs(workload)]
    sizes = [int(np.prod(s)) * DTYPE.itemsize for s in shapes]
    out = {
        "tensors": len(sizes),
        "payload_bytes": sum(sizes),
        "largest_tensor_bytes": max(sizes),
        "dtype": DTYPE.name,
        "seed": SEED,
    }
    if workload in KERAS_FILES:
        out["seed"] = None
        out["source"] = os.path.relpath(KERAS_FILES[workload], REPO)
    return out
