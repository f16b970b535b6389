"""Child side of the benchmark: one measurement per fresh process.

Run as ``python bench/_workers.py '<json job>'``; prints one JSON object on
stdout.  Each tool's module is imported inside the measurement (never at the
top), so a child only carries the one library it measures and its memory
numbers are not polluted by the others.  Times are taken with
``perf_counter`` after the imports, so interpreter start-up is excluded (the
import itself is reported separately as ``import_s``).
"""

from __future__ import annotations

import json
import mmap
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _workloads  # noqa: E402

#: file name of each container inside a workload directory
FILES = {
    "kwbin": "model.kwb",
    "safetensors": "model.safetensors",
    "h5py": "model.h5",
    "npz": "model.npz",
    "gguf": "model.gguf",
    "raw": "raw.bin",
}
STREAM_FILE = "stream.kwb"
MANIFEST = "raw.json"


# ---------------------------------------------------------------------------
# Memory and page-cache probes
# ---------------------------------------------------------------------------


def memory() -> dict:
    """Current memory of this process, in bytes.

    ``private`` is Private_Clean + Private_Dirty from smaps_rollup, as asked.
    Note that the kernel calls a page "private" when only this process maps
    it, so page-cache pages of an mmap'ed file that no other process maps are
    counted as Private_Clean although they are reclaimable cache, not heap.
    ``anonymous`` (heap, copies) is the memory a loader really costs.
    """
    out = {}
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                out[key] = int(parts[0]) * 1024
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                status[key] = int(rest.split()[0]) * 1024
    return {
        "rss": out.get("Rss", 0),
        "private": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0),
        "private_dirty": out.get("Private_Dirty", 0),
        "shared": out.get("Shared_Clean", 0) + out.get("Shared_Dirty", 0),
        "anonymous": out.get("Anonymous", 0),
        "file_backed": out.get("Rss", 0) - out.get("Anonymous", 0),
        # VmHWM is the peak RSS of this address space (reset by exec);
        # ru_maxrss is what getrusage reports (kB on Linux).
        "peak_rss": status.get("VmHWM", 0),
        "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def resident_bytes(path: str) -> int | None:
    """Bytes of ``path`` in the page cache (util-linux fincore), or None."""
    try:
        out = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--output", "RES", path],
            capture_output=True, text=True, check=True,
        ).stdout
        return int(out.split()[0])
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


def drop_cache(path: str) -> None:
    """Evict ``path`` from the page cache (works without root for clean pages)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)  # dirty pages cannot be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load_manifest(workdir: str) -> list[dict]:
    with open(os.path.join(workdir, MANIFEST)) as f:
        return json.load(f)["tensors"]


# ---------------------------------------------------------------------------
# Per-tool access.  Every tool gets the same three verbs: open a handle,
# list names, get one tensor as a numpy array (a view where the tool can).
# ---------------------------------------------------------------------------


class Raw:
    """The floor: np.frombuffer over a plain mmap of the concatenated payload."""

    def __init__(self, path: str, manifest: list[dict]):
        self._fd = os.open(path, os.O_RDONLY)
        self._mm = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)
        self._index = {t["name"]: t for t in manifest}

    def names(self):
        return list(self._index)

    def get(self, name: str) -> np.ndarray:
        t = self._index[name]
        count = t["nbytes"] // 4
        return np.frombuffer(self._mm, "<f4", count, t["offset"]).reshape(t["shape"])

    def close(self):
        # Views must be gone before the mmap can close; callers drop them first.
        self._mm.close()
        os.close(self._fd)


class H5Keras:
    """h5py on a legacy Keras .h5 (``model_weights/<layer>/<layer>/<w>:0``):
    the weights are found as Keras' loader finds them, through the
    ``layer_names`` and ``weight_names`` attributes, and named
    ``<layer>/<weight>`` like the other containers' tensors."""

    def __init__(self, f):
        self.f = f
        prefix = "model_weights/" if "model_weights" in f else ""
        root = f[prefix] if prefix else f
        self._index = {}
        for layer in root.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else str(layer)
            for weight in root[layer].attrs["weight_names"]:
                weight = weight.decode() if isinstance(weight, bytes) else str(weight)
                name = weight[:-2] if weight.endswith(":0") else weight
                self._index[name] = f"{prefix}{layer}/{weight}"

    @staticmethod
    def applies(f) -> bool:
        root = f["model_weights"] if "model_weights" in f else f
        return "layer_names" in root.attrs

    def names(self):
        return list(self._index)

    def get(self, name: str) -> np.ndarray:
        return self.f[self._index[name]][()]  # copy

    def close(self):
        self.f.close()


class GGUF:
    """gguf-py's GGUFReader (np.memmap of the whole file, every key/value and
    tensor info parsed at open) plus a name -> tensor dict for lookups; tensor
    data are zero-copy views of the map."""

    def __init__(self, mod, path: str):
        self._reader = mod.GGUFReader(path, "r")
        self._index = {t.name: t for t in self._reader.tensors}

    def names(self):
        return list(self._index)

    def get(self, name: str) -> np.ndarray:
        return self._index[name].data  # view, numpy shape order (GGUF stores it reversed)

    def close(self):
        # np.memmap has no close(); the map goes when the last view does.
        self._index = self._reader = None


def import_tool(tool: str):
    """Import the tool's module(s); returns the modules needed below."""
    if tool.startswith("kwbin"):
        import kwbin

        return kwbin
    if tool.startswith("safetensors"):
        import safetensors
        import safetensors.numpy

        return safetensors
    if tool == "h5py":
        import h5py

        return h5py
    if tool == "gguf":
        import gguf

        return gguf
    return np  # npz and raw need only numpy


def open_handle(tool: str, mod, path: str, manifest):
    """Open ``path`` until ready to look up any tensor; returns (handle, close)."""
    if tool == "kwbin":
        ctx = mod.open(path)
        f = ctx.__enter__()
        return f, lambda: ctx.__exit__(None, None, None)
    if tool == "safetensors":
        ctx = mod.safe_open(path, "np")
        f = ctx.__enter__()
        return f, lambda: ctx.__exit__(None, None, None)
    if tool == "h5py":
        f = mod.File(path, "r")
        if H5Keras.applies(f):  # a real Keras file: walk it as Keras does
            f = H5Keras(f)
        return f, f.close
    if tool == "gguf":
        f = GGUF(mod, path)
        return f, f.close
    if tool == "npz":
        f = np.load(path)
        return f, f.close
    if tool == "raw":
        f = Raw(path, manifest)
        return f, f.close
    raise ValueError(tool)


def h5_dataset_names(f) -> list[str]:
    names = []
    f.visititems(lambda name, obj: names.append(name) if hasattr(obj, "dtype") else None)
    return names


def names_of(tool: str, f) -> list[str]:
    if tool == "kwbin":
        return list(f)
    if tool == "safetensors":
        return list(f.keys())
    if tool == "h5py" and not isinstance(f, H5Keras):
        return h5_dataset_names(f)
    if tool == "npz":
        return list(f.files)
    return f.names()  # raw, gguf, H5Keras


def get_tensor(tool: str, f, name: str) -> np.ndarray:
    if tool == "kwbin":
        return f[name]  # zero-copy view
    if tool == "safetensors":
        return f.get_tensor(name)  # copy
    if tool == "h5py" and not isinstance(f, H5Keras):
        return f[name][()]  # copy
    if tool == "npz":
        return f[name]  # copy (reads the zip member)
    return f.get(name)  # raw, gguf: zero-copy view; H5Keras: copy


def reduce(arr: np.ndarray) -> float:
    """The same cheap full read for every tool: a float32 sum of every element."""
    return float(arr.sum(dtype=np.float32))


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------


def _timed_import(tool: str):
    t0 = time.perf_counter()
    mod = import_tool(tool)
    return mod, time.perf_counter() - t0


def input_path(job: dict) -> str:
    return os.path.join(job["dir"], FILES[job["tool"].split("_")[0]])


def prepare_cache(job: dict) -> int | None:
    """Run by the parent right before it starts a read child: evict the input
    for a cold run, then probe how much of it is cached (fincore).

    Not in the child: forking fincore there, just before the timed call, left
    every heap page of the child copy-on-write, and the first write to each
    one faulted inside the timed window (measured: a 1 GB kwbin open went
    from 0.39 to 0.66 ms, safetensors' from 0.42 to 0.44 ms).
    """
    path = input_path(job)
    if job.get("cold"):
        drop_cache(path)
    return resident_bytes(path)


def _prepare_read(job: dict):
    """Shared preamble of read measurements: import, manifest."""
    tool = job["tool"]
    path = input_path(job)
    mod, import_s = _timed_import(tool)
    # The floor's name -> offset table is given for free (it has no header).
    manifest = load_manifest(job["dir"]) if tool == "raw" else None
    return tool, path, mod, import_s, manifest, {
        "import_s": import_s,
        "resident_before": job.get("resident_before"),
        "file_bytes": os.path.getsize(path),
    }


def measure_open(job: dict) -> dict:
    tool, path, mod, _, manifest, info = _prepare_read(job)
    t0 = time.perf_counter()
    f, close = open_handle(tool, mod, path, manifest)
    seconds = time.perf_counter() - t0
    close()
    return {"seconds": seconds, **info}


def _load_all(tool: str, mod, path: str, manifest) -> tuple[dict, callable]:
    """Every tensor, the natural way for the tool; returns (arrays, close)."""
    if tool == "safetensors_load_file":
        return mod.numpy.load_file(path), lambda: None
    f, close = open_handle(tool, mod, path, manifest)
    return {name: get_tensor(tool, f, name) for name in names_of(tool, f)}, close


def measure_touch(job: dict) -> dict:
    """Open, then read every byte through the tool's arrays; keep them all alive
    (as a model loader would) and measure memory while they are held."""
    tool, path, mod, _, manifest, info = _prepare_read(job)
    before = memory()
    t0 = time.perf_counter()
    arrays, close = _load_all(tool, mod, path, manifest)
    total = 0.0
    nbytes = 0
    for arr in arrays.values():
        total += reduce(arr)
        nbytes += arr.nbytes
    seconds = time.perf_counter() - t0
    after = memory()
    del arrays, arr
    close()
    return {"seconds": seconds, "bytes": nbytes, "checksum": total,
            "mem_before": before, "mem_after": after, **info}


def measure_middle(job: dict) -> dict:
    """Open and fully read one tensor from the middle of the file."""
    tool, path, mod, _, manifest, info = _prepare_read(job)
    name = job["name"]
    t0 = time.perf_counter()
    f, close = open_handle(tool, mod, path, manifest)
    arr = get_tensor(tool, f, name)
    total = reduce(arr)
    seconds = time.perf_counter() - t0
    nbytes = arr.nbytes
    del arr
    close()
    return {"seconds": seconds, "bytes": nbytes, "checksum": total, **info}


def _source_arrays(workdir: str) -> dict:
    """The workload in memory (read from raw.bin, so generation is not timed)."""
    manifest = load_manifest(workdir)
    data = np.fromfile(os.path.join(workdir, FILES["raw"]), dtype="<f4")
    return {
        t["name"]: data[t["offset"] // 4 : (t["offset"] + t["nbytes"]) // 4].reshape(t["shape"])
        for t in manifest
    }


def save_with(tool: str, mod, tensors: dict, out: str) -> None:
    """Write ``tensors`` durably: every tool's time includes an fsync."""
    if tool == "kwbin":
        mod.save_file(tensors, out)  # atomic rename + fsync built in
    elif tool == "kwbin_writer":
        with mod.Writer(out) as w:
            for name, arr in tensors.items():
                w.add_tensor(name, arr)
    elif tool == "safetensors":
        mod.numpy.save_file(tensors, out)
        fsync_path(out)
    elif tool == "npz":
        np.savez(out, **tensors)
        fsync_path(out)
    elif tool == "h5py":
        with mod.File(out, "w") as f:
            for name, arr in tensors.items():
                f.create_dataset(name, data=arr)
        fsync_path(out)
    elif tool == "gguf":
        w = mod.GGUFWriter(out, arch="kwbin-bench")
        for name, arr in tensors.items():
            w.add_tensor(name, arr)  # float32 stays F32; shape stored reversed, read back as is
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        fsync_path(out)
    else:
        raise ValueError(tool)


def measure_save(job: dict) -> dict:
    tool = job["tool"]
    mod, import_s = _timed_import(tool)
    tensors = _source_arrays(job["dir"])
    out = os.path.join(job["dir"], "save_out" + Path(FILES[tool.split("_")[0]]).suffix)
    if os.path.exists(out):
        os.unlink(out)
    t0 = time.perf_counter()
    save_with(tool, mod, tensors, out)
    seconds = time.perf_counter() - t0
    size = os.path.getsize(out)
    os.unlink(out)
    return {"seconds": seconds, "file_bytes": size, "import_s": import_s}


def stream_write(mod, workload: str, out: str) -> None:
    """Generate each tensor inside the writer loop; only one is alive at a time."""
    with mod.Writer(out) as w:
        for name, arr in _workloads.iter_tensors(workload):
            w.add_tensor(name, arr)
            del arr


def measure_stream(job: dict) -> dict:
    mod, import_s = _timed_import("kwbin")
    baseline = memory()
    out = os.path.join(job["dir"], "stream_out.kwb")
    t0 = time.perf_counter()
    stream_write(mod, job["workload"], out)
    seconds = time.perf_counter() - t0
    after = memory()
    os.unlink(out)
    return {"seconds": seconds, "baseline": baseline, "after": after, "import_s": import_s}


def measure_dd(job: dict) -> dict:
    """Sequential read of the raw payload from the page cache with dd."""
    path = os.path.join(job["dir"], FILES["raw"])
    res = subprocess.run(
        ["dd", f"if={path}", "of=/dev/null", "bs=1M"],
        capture_output=True, text=True, check=True, env={**os.environ, "LC_ALL": "C"},
    )
    # last line: "N bytes (...) copied, T s, R GB/s"
    line = res.stderr.strip().splitlines()[-1]
    nbytes = int(line.split()[0])
    seconds = float(line.split("copied,")[1].split()[0])
    return {"seconds": seconds, "bytes": nbytes, "resident_before": None}


def measure_cp(job: dict) -> dict:
    """``cp raw.bin DEST`` on the same file system: page cache to page cache
    (the source is warm; the copy is not fsynced).  Timed around the cp
    process, so its start-up (about a millisecond) is included."""
    src = os.path.join(job["dir"], FILES["raw"])
    dest = os.path.join(job["dir"], "cp_out.bin")
    if os.path.exists(dest):
        os.unlink(dest)
    resident = resident_bytes(src)
    t0 = time.perf_counter()
    # --reflink=never: a copy of the bytes even where the file system could clone
    subprocess.run(["cp", "--reflink=never", src, dest], check=True)
    seconds = time.perf_counter() - t0
    nbytes = os.path.getsize(dest)
    os.unlink(dest)
    return {"seconds": seconds, "bytes": nbytes, "resident_before": resident}


def measure_memcpy(job: dict) -> dict:
    """numpy copy bandwidth of a 256 MB array (best of 3 after a warm-up copy)."""
    src = np.ones(64 * 2**20, dtype=np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault both in first
    best = min(_time_copy(dst, src) for _ in range(3))
    return {"seconds": best, "bytes": src.nbytes}


def _time_copy(dst, src) -> float:
    t0 = time.perf_counter()
    np.copyto(dst, src)
    return time.perf_counter() - t0


# ---------------------------------------------------------------------------
# Preparation and correctness (not timed)
# ---------------------------------------------------------------------------


def prepare(job: dict) -> dict:
    """Write the workload in every container, all fsync'ed."""
    import h5py
    import kwbin
    import safetensors.numpy

    workdir, workload = job["dir"], job["workload"]
    os.makedirs(workdir, exist_ok=True)
    tensors = dict(_workloads.iter_tensors(workload))
    keras_file = _workloads.KERAS_FILES.get(workload)
    manifest, offset = [], 0
    with open(os.path.join(workdir, FILES["raw"]), "wb") as f:
        for name, arr in tensors.items():
            f.write(arr.tobytes())
            manifest.append({"name": name, "shape": list(arr.shape),
                             "offset": offset, "nbytes": arr.nbytes})
            offset += arr.nbytes
        f.flush()
        os.fsync(f.fileno())
    with open(os.path.join(workdir, MANIFEST), "w") as f:
        json.dump({"workload": workload, "tensors": manifest}, f)
    import gguf

    for tool in ("kwbin", "safetensors", "npz", "h5py", "gguf"):
        mod = {"kwbin": kwbin, "safetensors": safetensors, "h5py": h5py, "gguf": gguf}.get(tool, np)
        out = os.path.join(workdir, FILES[tool])
        if keras_file and tool == "kwbin":
            # `kwbin pack` of the Keras file (layers, configs, metadata, sources)
            subprocess.run([sys.executable, "-m", "kwbin", "pack", keras_file, "-o", out, "-q"], check=True)
            continue
        if keras_file and tool == "h5py":
            os.symlink(keras_file, out)  # h5py reads the Keras file itself
            continue
        save_with(tool, mod, tensors, out)
        if tool == "npz" and not os.path.exists(out):
            raise RuntimeError("np.savez did not write " + out)
    del tensors
    stream_write(kwbin, workload, os.path.join(workdir, STREAM_FILE))
    files = dict(FILES, stream=STREAM_FILE)
    return {"file_bytes": {t: os.path.getsize(os.path.join(workdir, n)) for t, n in files.items()}}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return np.array_equal(
        np.ascontiguousarray(a).reshape(-1).view(np.uint8),
        np.ascontiguousarray(b).reshape(-1).view(np.uint8),
    )


def verify(job: dict) -> dict:
    """Bit-for-bit check of every container against freshly generated sources.

    Exits non-zero (via exception) on the first difference, so the runner
    aborts before timing anything.
    """
    import kwbin

    workdir, workload = job["dir"], job["workload"]
    manifest = load_manifest(workdir)
    handles, closers = {}, []
    for tool in ("kwbin", "safetensors", "h5py", "npz", "gguf", "raw"):
        f, close = open_handle(tool, import_tool(tool), os.path.join(workdir, FILES[tool]), manifest)
        handles[tool] = f
        closers.append(close)
    stream_ctx = kwbin.open(os.path.join(workdir, STREAM_FILE))
    handles["kwbin_stream"] = stream_ctx.__enter__()
    copies = {
        "kwbin_load_file": kwbin.load_file(os.path.join(workdir, FILES["kwbin"])),
        "safetensors_load_file": import_tool("safetensors").numpy.load_file(
            os.path.join(workdir, FILES["safetensors"])),
    }
    expected = [name for name, _ in _workloads.specs(workload)]
    for tool, f in handles.items():
        names = names_of(tool.split("_")[0], f)
        if sorted(names) != sorted(expected):
            raise AssertionError(f"{tool}: tensor names differ from the source")
    for tool, d in copies.items():
        if sorted(d) != sorted(expected):
            raise AssertionError(f"{tool}: tensor names differ from the source")
    for name, src in _workloads.iter_tensors(workload):
        for tool, f in handles.items():
            got = get_tensor(tool.split("_")[0], f, name)
            if not _same(got, src):
                raise AssertionError(f"{tool}: tensor {name!r} differs from the source")
            del got
        for tool, d in copies.items():
            if not _same(d[name], src):
                raise AssertionError(f"{tool}: tensor {name!r} differs from the source")
    for f in (handles["kwbin"], handles["kwbin_stream"]):
        f.verify()  # the stored CRCs must match too
    del handles, copies, f
    stream_ctx.__exit__(None, None, None)
    for close in closers:
        close()
    return {"ok": True, "tensors": len(expected)}


OPS = {
    "open": measure_open,
    "touch": measure_touch,
    "middle": measure_middle,
    "save": measure_save,
    "stream": measure_stream,
    "dd": measure_dd,
    "memcpy": measure_memcpy,
    "cp": measure_cp,
    "prepare": prepare,
    "verify": verify,
}


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    print(json.dumps(OPS[job["op"]](job)))
