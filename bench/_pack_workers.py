"""Child side of the packing benchmark: one measurement per fresh process.

Run as ``python bench/_pack_workers.py '<json job>'``; prints one JSON object
on stdout.  A timed child imports only what its tool needs (inside the
measurement, reported as ``import_s``), takes its memory baseline after the
imports, times the operation with ``perf_counter`` and reads its peak RSS
from VmHWM in /proc/self/status (``ru_maxrss`` would carry the runner's peak
across fork+exec).
"""

from __future__ import annotations

import cProfile
import hashlib
import importlib.abc
import io
import json
import os
import pstats
import subprocess
import sys
import time
import zipfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _pack_workloads as wl  # noqa: E402
from _workers import memory  # noqa: E402  (the format benchmark's /proc probe)

#: Frameworks the packer must not need: blocked in the pre-pass, watched in the timed runs.
FRAMEWORKS = ("keras", "tensorflow", "tf_keras", "jax", "torch")


def paths(workdir: str) -> dict:
    return {
        "weights": os.path.join(workdir, wl.WEIGHTS),
        "config": os.path.join(workdir, wl.CONFIG),
        "archive": os.path.join(workdir, wl.ARCHIVE),
    }


# ---------------------------------------------------------------------------
# The tools.  Each takes the workload's paths and an output path.
# ---------------------------------------------------------------------------


def kwbin_pack(mod, p: dict, out: str, source: str, source_hash: bool = True) -> None:
    """What ``kwbin pack SRC -o OUT -q [--no-source-hash]`` does (the CLI adds only argument parsing)."""
    if source == "weights":
        mod.pack(p["weights"], out, arch=p["config"], source_hash=source_hash)
    else:
        mod.pack(p["archive"], out, source_hash=source_hash)


def sha256_only(src: str) -> str:
    """Context: kwbin's own SHA-256 of the source file, alone (a lower bound of a default pack)."""
    return importlib.import_module("kwbin.keras.pack")._Sha256(src).hexdigest()


def h5_datasets(h5py, f) -> list[str]:
    names: list[str] = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def h5py_copy(h5py, src: str, out: str | None, fsync: bool) -> list[str]:
    """The baseline: read every dataset with ``ds[()]`` and append its bytes to one file."""
    with h5py.File(src, "r") as f:
        names = h5_datasets(h5py, f)
        if out is None:  # read only
            for name in names:
                arr = f[name][()]
                del arr
            return names
        with open(out, "wb") as dst:
            for name in names:
                arr = f[name][()]
                dst.write(arr)  # the buffer as is: C-contiguous, native little-endian
                del arr
            if fsync:
                dst.flush()
                os.fsync(dst.fileno())
    return names


def h5py_copy_like_kwbin(h5py, src: str, out: str) -> list[str]:
    """The baseline plus the work a kwbin pack cannot skip: a CRC-32 of every
    tensor, a SHA-256 of the source (in a thread, as kwbin does) and an fsync."""
    import threading

    digest = hashlib.sha256()

    def hash_source() -> None:
        with open(src, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                digest.update(chunk)

    hasher = threading.Thread(target=hash_source)
    hasher.start()
    crcs = []
    with h5py.File(src, "r") as f:
        names = h5_datasets(h5py, f)
        with open(out, "wb") as dst:
            for name in names:
                arr = f[name][()]
                crcs.append(zlib.crc32(arr))
                dst.write(arr)
                del arr
            hasher.join()
            digest.hexdigest()
            dst.flush()
            os.fsync(dst.fileno())
    return names


class _NoSha:
    """Ablation: no SHA-256 of the source (the metadata gets a dummy digest)."""

    def __init__(self, path: str):
        pass

    def wait(self) -> None:
        pass

    def hexdigest(self) -> str:
        return "0" * 64


class _NoCrc:
    """Ablation: no CRC-32 of the tensors (the file's CRCs are then wrong)."""

    def __init__(self, view):
        pass

    def result(self) -> int:
        return 0


#: ablation tool -> the kwbin duties it switches off (timing only: its output is not a valid file)
ABLATIONS = {
    "ablate_no_sha": ("sha",),
    "ablate_no_crc": ("crc",),
    "ablate_no_fsync": ("fsync",),
    "ablate_bare": ("sha", "crc", "fsync"),
}


def ablate(off: tuple[str, ...]) -> None:
    """Switch kwbin duties off in this child, to attribute pack's time."""
    import importlib

    # importlib, not attribute access: kwbin.keras.pack is also the name of the function.
    pack_module = importlib.import_module("kwbin.keras.pack")
    crc_module = importlib.import_module("kwbin.crc")
    if "sha" in off:
        pack_module._Sha256 = _NoSha
    if "crc" in off:
        crc_module.Pending = _NoCrc  # what ChecksumQueue (the writer's CRC-32s) calls
    if "fsync" in off:
        os.fsync = lambda fd: None  # kwbin.atomic calls os.fsync for the file and the folder


def import_tool(tool: str):
    if tool.startswith(("kwbin", "ablate", "sha256")):
        import kwbin.keras

        return kwbin.keras
    import h5py

    return h5py


def run_tool(tool: str, mod, p: dict, out: str):
    if tool == "kwbin_weights":
        return kwbin_pack(mod, p, out, "weights")
    if tool == "kwbin_keras":
        return kwbin_pack(mod, p, out, "archive")
    if tool == "kwbin_weights_nohash":
        return kwbin_pack(mod, p, out, "weights", source_hash=False)
    if tool == "kwbin_keras_nohash":
        return kwbin_pack(mod, p, out, "archive", source_hash=False)
    if tool == "sha256_source":
        return sha256_only(p["weights"])
    if tool in ABLATIONS:
        return kwbin_pack(mod, p, out, "weights")
    if tool == "h5py_copy":
        return h5py_copy(mod, p["weights"], out, fsync=False)
    if tool == "h5py_copy_fsync":
        return h5py_copy(mod, p["weights"], out, fsync=True)
    if tool == "h5py_read":
        return h5py_copy(mod, p["weights"], None, fsync=False)
    if tool == "h5py_copy_crc_sha_fsync":
        return h5py_copy_like_kwbin(mod, p["weights"], out)
    raise ValueError(tool)


def measure(job: dict) -> dict:
    tool = job["tool"]
    p = paths(job["dir"])
    out = os.path.join(job["dir"], f"out_{tool}.bin")
    if os.path.exists(out):
        os.unlink(out)
    t0 = time.perf_counter()
    mod = import_tool(tool)
    import_s = time.perf_counter() - t0
    if tool in ABLATIONS:
        ablate(ABLATIONS[tool])
    baseline = memory()
    t0 = time.perf_counter()
    run_tool(tool, mod, p, out)
    seconds = time.perf_counter() - t0
    after = memory()
    size = os.path.getsize(out) if os.path.exists(out) else 0
    if size:
        os.unlink(out)
    return {
        "seconds": seconds,
        "import_s": import_s,
        "baseline": baseline,
        "after": after,
        "out_bytes": size,
        "frameworks_loaded": [m for m in FRAMEWORKS if m in sys.modules],
    }


# ---------------------------------------------------------------------------
# Preparation and the correctness pre-pass (not timed)
# ---------------------------------------------------------------------------


def prepare(job: dict) -> dict:
    return {"file_bytes": wl.write_all(job["workload"], job["dir"])}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return np.array_equal(np.ascontiguousarray(a).reshape(-1).view(np.uint8),
                          np.ascontiguousarray(b).reshape(-1).view(np.uint8))


class _Blocker(importlib.abc.MetaPathFinder):
    """Makes ``import keras`` (and TensorFlow, JAX, torch) fail, to prove pack needs none."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FRAMEWORKS:
            raise ImportError(f"{name} is blocked in the pre-pass: the packer must not need it")
        return None


def _check_generator(workload: str, p: dict) -> None:
    """The files are the Keras 3.15 layout and hold exactly the seeded tensors."""
    import h5py

    specs = wl.specs(workload)
    with h5py.File(p["weights"], "r") as f:
        if list(f.keys()) != ["layers", "vars"] or len(f["vars"]) or f["vars"].attrs["name"] != wl.MODEL_NAME:
            raise AssertionError("weights.h5: top level is not layers + an empty, named vars group")
        layers = sorted({s["layer"] for s in specs})
        if sorted(f["layers"].keys()) != layers:
            raise AssertionError("weights.h5: layer groups differ from the specs")
        for name in layers:
            group = f[f"layers/{name}"]
            if list(group.keys()) != ["vars"] or group["vars"].attrs["name"] != name:
                raise AssertionError(f"weights.h5: layers/{name} is not vars with name={name!r}")
            tid = group["vars"].attrs.get_id("name").get_type()
            if not (tid.is_variable_str() and tid.get_cset() == h5py.h5t.CSET_UTF8):
                raise AssertionError("weights.h5: the name attribute is not a vlen UTF-8 string")
        if len(h5_datasets(h5py, f)) != len(specs):
            raise AssertionError("weights.h5: dataset count differs from the specs")
        for i, spec in enumerate(specs):
            ds = f[spec["dataset"]]
            if ds.chunks is not None or ds.compression is not None:
                raise AssertionError(f"{spec['dataset']}: not contiguous and uncompressed")
            if not _same(ds[()], wl.make_tensor(workload, i, spec["shape"])):
                raise AssertionError(f"{spec['dataset']}: differs from the seeded tensor")
    with zipfile.ZipFile(p["archive"]) as zf:
        infos = zf.infolist()
        if [i.filename for i in infos] != ["metadata.json", wl.CONFIG, wl.WEIGHTS]:
            raise AssertionError(".keras: members are not metadata.json, config.json, model.weights.h5")
        if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
            raise AssertionError(".keras: a member is compressed")
        with open(p["config"], "rb") as f:
            if zf.read(wl.CONFIG) != f.read():
                raise AssertionError(".keras: config.json differs from the standalone config.json")
        meta = json.loads(zf.read("metadata.json"))
        if meta.get("keras_version") != wl.KERAS_VERSION:
            raise AssertionError(".keras: metadata.json keras_version")
        info = zf.getinfo(wl.WEIGHTS)
    crc = 0
    with open(p["weights"], "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            crc = zlib.crc32(chunk, crc)
    if info.CRC != crc or info.file_size != os.path.getsize(p["weights"]):
        raise AssertionError(".keras: model.weights.h5 member is not byte-identical to the .weights.h5")


def _check_kwb(workload: str, path: str, source_format: str, source_path: str) -> dict:
    import kwbin

    specs = wl.specs(workload)
    with open(source_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    with kwbin.open(path) as f:
        f.verify()  # every stored CRC
        if list(f) != [s["kwbin"] for s in specs]:
            raise AssertionError(f"{path}: tensor names/order differ from the Keras model")
        layers = [(l.name, l.class_name) for l in f.layers]
        expected = [("input_layer", "InputLayer")] + [(n, "Dense") for n in wl.layer_names(len(specs) // 2)]
        if layers != expected:
            raise AssertionError(f"{path}: layers {layers[:3]}... differ from the model config")
        meta = f.metadata
        if meta.get("source_format") != source_format or meta.get("source_sha256") != sha:
            raise AssertionError(f"{path}: metadata source_format/source_sha256 wrong")
        for i, spec in enumerate(specs):
            if not _same(f[spec["kwbin"]], wl.make_tensor(workload, i, spec["shape"])):
                raise AssertionError(f"{path}: {spec['kwbin']} differs from {spec['dataset']}")
        return {"tensors": len(f), "layers": len(f.layers), "bytes": os.path.getsize(path)}


def _check_raw(workload: str, path: str, order: list[str]) -> None:
    """The baseline's output is the datasets' bytes back to back, in its visit order."""
    index = {s["dataset"]: (i, s["shape"]) for i, s in enumerate(wl.specs(workload))}
    if sorted(order) != sorted(index):
        raise AssertionError("baseline: visited datasets differ from the specs")
    with open(path, "rb") as f:
        for name in order:
            i, shape = index[name]
            want = wl.make_tensor(workload, i, shape)
            got = np.frombuffer(f.read(want.nbytes), "<f4").reshape(shape)
            if not _same(got, want):
                raise AssertionError(f"baseline: {name} differs")
        if f.read(1):
            raise AssertionError("baseline: trailing bytes")


def verify(job: dict) -> dict:
    """Everything each timed tool will do, once, checked bit for bit."""
    workload, workdir = job["workload"], job["dir"]
    p = paths(workdir)
    _check_generator(workload, p)

    blocker = _Blocker()
    sys.meta_path.insert(0, blocker)
    try:
        import kwbin.keras

        outs = {}
        for source, fmt_name in (("weights", "keras3-weights"), ("archive", "keras3-archive")):
            out = os.path.join(workdir, f"verify_{source}.kwb")
            kwbin_pack(kwbin.keras, p, out, source)
            outs[source] = {"check": _check_kwb(workload, out, fmt_name, p[source]), "path": out}
    finally:
        sys.meta_path.remove(blocker)
    loaded = [m for m in FRAMEWORKS if m in sys.modules]
    if loaded:
        raise AssertionError(f"packing imported {loaded}")

    # The command line writes the very same bytes as the API call timed below.
    for source in ("weights", "archive"):
        out = os.path.join(workdir, f"verify_{source}_cli.kwb")
        cmd = [sys.executable, "-m", "kwbin", "pack", p[source], "-o", out, "-q"]
        if source == "weights":
            cmd += ["--arch", p["config"]]
        subprocess.run(cmd, check=True, capture_output=True)
        with open(out, "rb") as a, open(outs[source]["path"], "rb") as b:
            if a.read() != b.read():
                raise AssertionError(f"`kwbin pack` CLI output differs from kwbin.keras.pack ({source})")
        os.unlink(out)
    for source in outs:
        os.unlink(outs[source]["path"])

    import h5py

    raw = os.path.join(workdir, "verify_raw.bin")
    for copy in (lambda: h5py_copy(h5py, p["weights"], raw, False),
                 lambda: h5py_copy(h5py, p["weights"], raw, True),
                 lambda: h5py_copy_like_kwbin(h5py, p["weights"], raw)):
        _check_raw(workload, raw, copy())
        os.unlink(raw)
    return {
        "ok": True,
        "kwbin_weights": outs["weights"]["check"],
        "kwbin_keras": outs["archive"]["check"],
        "blocked_imports": list(FRAMEWORKS),
    }


def keras_check(job: dict) -> dict:
    """Real Keras loads the generated .keras (and .weights.h5) with the same values."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    t0 = time.perf_counter()
    import keras

    workload, p = job["workload"], paths(job["dir"])
    model = keras.saving.load_model(p["archive"])
    specs = wl.specs(workload)

    def compare(what: str) -> None:
        layers = model.layers
        if [l.name for l in layers] != wl.layer_names(len(specs) // 2):
            raise AssertionError(f"keras ({what}): layer names differ")
        for i, spec in enumerate(specs):
            layer = model.get_layer(spec["layer"])
            got = np.asarray(layer.weights[int(spec["dataset"][-1])].numpy())
            if not _same(got, wl.make_tensor(workload, i, spec["shape"])):
                raise AssertionError(f"keras ({what}): {spec['kwbin']} differs")

    compare("load_model(.keras)")
    for layer in model.layers:  # scramble, then load the standalone .weights.h5 back
        layer.set_weights([np.zeros(w.shape, w.dtype) for w in layer.get_weights()])
    model.load_weights(p["weights"])
    compare("load_weights(.weights.h5)")
    return {"ok": True, "keras_version": keras.__version__, "backend": keras.backend.backend(),
            "seconds": time.perf_counter() - t0, "layers": len(model.layers)}


def profile(job: dict) -> dict:
    """cProfile of one pack call (not timed with the reps): where kwbin's time goes."""
    p = paths(job["dir"])
    tool = job["tool"]
    mod = import_tool(tool)
    out = os.path.join(job["dir"], "profile.kwb")
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    run_tool(tool, mod, p, out)
    prof.disable()
    seconds = time.perf_counter() - t0
    os.unlink(out)
    stream = io.StringIO()
    stats = pstats.Stats(prof, stream=stream)
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, _) in stats.stats.items():
        rows.append({"function": f"{os.path.basename(filename)}:{line}({func})"
                     if line else func, "calls": nc, "tottime": tt, "cumtime": ct})
    rows.sort(key=lambda r: r["tottime"], reverse=True)
    return {"seconds": seconds, "top_tottime": rows[: job.get("top", 15)]}


OPS = {"measure": measure, "prepare": prepare, "verify": verify, "keras_check": keras_check,
       "profile": profile}


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    print(json.dumps(OPS[job["op"]](job)))
