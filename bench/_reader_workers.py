"""Child side of bench_reader.py: one measurement per fresh process.

Run as ``python bench/_reader_workers.py '<json job>'``; prints one JSON
object.  The tool's module is imported inside the child before the timer
starts (its import time is reported, not counted); each measurement is what a
user's program does after ``import``: open, then list / look up / read.

Workloads (deterministic, ``make_workload``):

- ``tiny10k``: 10,000 float32 tensors of 16 elements, written by ``save_file``
  (no layers: the file of the issue's figures and of bench_format.py);
- ``tiny10k_layers``: the same tensors in 5,000 layers of kernel + bias (``Writer``);
- ``mid200m``: 200 tensors, 200 MB (100 layers: a kernel of about 2 MB and a bias);
- ``seed_tfk``: the real Keras model of the tests, packed by ``kwbin pack``.

The kwbin file of the other synthetic workloads is written with
``kwbin.Writer``, each tensor in its layer (as a packed Keras file has them, so
layer and weight names are decoded too) but without layer configs;
safetensors and the raw floor hold the same arrays under the same names.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _workloads  # noqa: E402
from _workers import Raw, drop_cache, load_manifest, memory, reduce  # noqa: E402, F401

FILES = {"kwbin": "model.kwb", "safetensors": "model.safetensors", "raw": "raw.bin"}
MANIFEST = "raw.json"
SEED = 20240607
#: name -> (tensor count, payload bytes, or None for tiny tensors)
SYNTHETIC = {"tiny10k": (10_000, None), "tiny10k_layers": (10_000, None), "mid200m": (200, 200_000_000)}
#: synthetic workloads whose kwbin file has no layers (written by save_file)
FLAT = ("tiny10k",)
KERAS = {"seed_tfk": _workloads.KERAS_FILES["seed_tfk"]}
WORKLOADS = (*SYNTHETIC, *KERAS)


def specs(workload: str) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` of every tensor, in file order."""
    if workload in KERAS:
        return _workloads.specs(workload)
    count, total = SYNTHETIC[workload]
    layers = count // 2
    if total is None:
        return [(f"layer_{i // 2:05d}/{'kernel' if i % 2 == 0 else 'bias'}", (16,)) for i in range(count)]
    rng = np.random.default_rng([SEED, zlib.crc32(workload.encode())])
    cols = rng.choice((128, 256, 384, 512), size=layers)
    weights = rng.uniform(0.5, 1.5, size=layers)
    budget = total // 4 - int(cols.sum())
    out = []
    for k in range(layers):
        c = int(cols[k])
        rows = max(1, round(budget * weights[k] / weights.sum() / c))
        out.append((f"layer_{k:05d}/kernel", (rows, c)))
        out.append((f"layer_{k:05d}/bias", (c,)))
    return out


def iter_tensors(workload: str):
    if workload in KERAS:
        yield from _workloads.iter_tensors(workload)
        return
    for i, (name, shape) in enumerate(specs(workload)):
        rng = np.random.default_rng([SEED, zlib.crc32(workload.encode()), i])
        yield name, rng.standard_normal(shape, dtype=np.float32)


def summary(workload: str) -> dict:
    sizes = [int(np.prod(s)) * 4 for _, s in specs(workload)]
    return {"tensors": len(sizes), "payload_bytes": sum(sizes), "largest_tensor_bytes": max(sizes),
            "dtype": "float32", "source": os.path.relpath(KERAS[workload], _workloads.REPO)
            if workload in KERAS else None}


# ---------------------------------------------------------------------------
# Preparation and correctness (not timed)
# ---------------------------------------------------------------------------


def prepare(job: dict) -> dict:
    import kwbin
    import safetensors.numpy

    workdir, workload = job["dir"], job["workload"]
    os.makedirs(workdir, exist_ok=True)
    tensors = dict(iter_tensors(workload))
    manifest, offset = [], 0
    with open(os.path.join(workdir, FILES["raw"]), "wb") as f:
        for name, arr in tensors.items():
            f.write(arr.tobytes())
            manifest.append({"name": name, "shape": list(arr.shape), "offset": offset, "nbytes": arr.nbytes})
            offset += arr.nbytes
        os.fsync(f.fileno())
    with open(os.path.join(workdir, MANIFEST), "w") as f:
        json.dump({"workload": workload, "tensors": manifest}, f)
    out = os.path.join(workdir, FILES["kwbin"])
    if workload in KERAS:
        subprocess.run([sys.executable, "-m", "kwbin", "pack", KERAS[workload], "-o", out, "-q"], check=True)
    elif workload in FLAT:
        kwbin.save_file(tensors, out)
    else:
        with kwbin.Writer(out) as w:
            for name, arr in tensors.items():
                layer, weight = name.split("/")
                if weight == "kernel":
                    # No config: its JSON would be parsed and checked at open, a cost
                    # the seed_tfk workload shows and safetensors has nothing to match.
                    w.add_layer(layer, "Dense")
                w.add_tensor(name, arr, layer=layer, weight=weight)
    safetensors.numpy.save_file(tensors, os.path.join(workdir, FILES["safetensors"]))
    return {"file_bytes": {t: os.path.getsize(os.path.join(workdir, n)) for t, n in FILES.items()}}


def verify(job: dict) -> dict:
    """Every tool's listing and bytes equal the sources; abort the run otherwise."""
    workdir, workload = job["dir"], job["workload"]
    expected = [(name, "float32", tuple(shape)) for name, shape in specs(workload)]
    for tool in ("kwbin", "safetensors"):
        got = _run_list(tool, _import(tool), os.path.join(workdir, FILES[tool]))
        if sorted(got) != sorted(expected):
            raise AssertionError(f"{tool}: listing differs from the source")
    sources = dict(iter_tensors(workload))
    for tool in ("kwbin", "safetensors", "raw", "kwbin_items"):
        seen = {}
        _run_iterate(tool, _import(tool), _path(workdir, tool), load_manifest(workdir),
                     visit=lambda name, arr, seen=seen: seen.__setitem__(name, np.array(arr)))
        if sorted(seen) != sorted(sources) or any(not np.array_equal(seen[k], v) for k, v in sources.items()):
            raise AssertionError(f"{tool}: tensors differ from the source")
    return {"ok": True, "tensors": len(expected)}


# ---------------------------------------------------------------------------
# What users do
# ---------------------------------------------------------------------------


def _import(tool: str):
    if tool.startswith("kwbin"):
        import kwbin

        return kwbin
    if tool == "safetensors":
        import safetensors

        return safetensors
    return np


def _path(workdir: str, tool: str) -> str:
    return os.path.join(workdir, FILES[tool.split("_")[0]])


def _run_list(tool: str, mod, path: str) -> list[tuple[str, str, tuple[int, ...]]]:
    """Open, then every record's (name, dtype, shape)."""
    if tool == "kwbin":
        with mod.open(path) as f:
            return [(t.name, t.dtype, t.shape) for t in f.tensors]
    with mod.safe_open(path, "np") as f:
        out = []
        for k in f.keys():
            s = f.get_slice(k)  # one slice per key serves both questions
            out.append((k, {"F32": "float32"}.get(s.get_dtype(), s.get_dtype()), tuple(s.get_shape())))
        return out


def _run_first(tool: str, mod, path: str, name: str, manifest) -> float:
    """Open, then fully read one tensor (looked up by name)."""
    if tool == "kwbin":
        with mod.open(path) as f:
            return reduce(f[name])
    if tool == "safetensors":
        with mod.safe_open(path, "np") as f:
            return reduce(f.get_tensor(name))
    raw = Raw(path, manifest)
    total = reduce(raw.get(name))
    raw.close()
    return total


def _run_iterate(tool: str, mod, path: str, manifest, visit=None) -> float:
    """Open, walk the tensors the tool's natural way and read every byte."""
    total = 0.0
    if tool == "kwbin":
        with mod.open(path) as f:
            for t in f.tensors:
                arr = f[t.name]
                total += reduce(arr)
                if visit:
                    visit(t.name, arr)
        return total
    if tool == "kwbin_items":
        with mod.open(path) as f:
            for name, arr in f.items():
                total += reduce(arr)
                if visit:
                    visit(name, arr)
        return total
    if tool == "safetensors":
        with mod.safe_open(path, "np") as f:
            for k in f.keys():
                arr = f.get_tensor(k)
                total += reduce(arr)
                if visit:
                    visit(k, arr)
        return total
    raw = Raw(path, manifest)
    for name in raw.names():
        arr = raw.get(name)
        total += reduce(arr)
        if visit:
            visit(name, arr)
        del arr
    raw.close()
    return total


def measure(job: dict) -> dict:
    tool, op = job["tool"], job["op"]
    path = _path(job["dir"], tool)
    t0 = time.perf_counter()
    mod = _import(tool)
    import_s = time.perf_counter() - t0
    # The floor's name -> offset table is given for free (it has no header).
    manifest = load_manifest(job["dir"]) if tool == "raw" else None
    t0 = time.perf_counter()
    if op == "list":
        result = len(_run_list(tool, mod, path))
    elif op == "first":
        result = _run_first(tool, mod, path, job["name"], manifest)
    else:
        result = _run_iterate(tool, mod, path, manifest)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "result": result, "import_s": import_s,
            "resident_before": job.get("resident_before"), "file_bytes": os.path.getsize(path),
            "mem_after": memory()}


OPS = {"prepare": prepare, "verify": verify, "list": measure, "first": measure, "iterate": measure}

if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    print(json.dumps(OPS[job["op"]](job)))
