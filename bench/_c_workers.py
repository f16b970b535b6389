"""Python side of the C benchmark (bench_c.py): writing the inputs and the
bit-for-bit correctness pre-pass.  Nothing here is timed.

Run as ``python bench/_c_workers.py '<json job>'``; prints one JSON object.

Every workload directory holds the SAME weights four ways:

- ``model.h5``: a Keras HDF5 file in the legacy tf.keras layout
  (``model_weights/<layer>/<layer>/<weight>:0`` with the ``layer_names`` and
  ``weight_names`` attributes, fixed-length byte strings as Keras 2 writes
  them), written with h5py one dataset per tensor (contiguous, no
  compression).  For a Keras-file workload (seed_tfk) it is not written:
  the test file itself is used.
- ``model.kwb``: ``kwbin pack model.h5`` (the real packer, ``python -m kwbin pack``).
- ``raw.bin`` + ``raw.idx``: the bare payload back to back, and one line
  ``<nbytes> <name>`` per tensor (the boundaries a raw reader is given).

Tensors are named everywhere by their HDF5 dataset path (kwbin gives it as
each tensor's ``source``), which is how the pre-pass matches them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _workloads  # noqa: E402

FILES = {"kwbin": "model.kwb", "h5": "model.h5", "raw": "raw.bin", "idx": "raw.idx"}
LAYOUT = "files.json"


def h5_path(name: str) -> str:
    """Dataset path of a synthetic tensor ``layer/weight`` in the legacy layout."""
    layer, weight = name.split("/", 1)
    return f"model_weights/{layer}/{layer}/{weight}:0"


def sources(workload: str):
    """``(dataset path, array)`` for every tensor, one at a time, in file order."""
    if workload in _workloads.KERAS_FILES:
        paths = dict(_workloads.keras_weights(_workloads.KERAS_FILES[workload]))
        for name, arr in _workloads.iter_tensors(workload):
            yield paths[name], arr
    else:
        for name, arr in _workloads.iter_tensors(workload):
            yield h5_path(name), arr


def word_sum(arr: np.ndarray) -> int:
    """bench_common.h's reduction: wrapping 64-bit sum of the little-endian u32 words."""
    b = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
    whole = b[: len(b) // 4 * 4].view("<u4")
    total = int(whole.sum(dtype=np.uint64)) + int(b[len(b) // 4 * 4:].sum(dtype=np.uint64))
    return total % 2**64


def write_keras_h5(path: str, tensors: list[tuple[str, np.ndarray]]) -> None:
    import h5py

    layers: dict[str, list[str]] = {}
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = "tensorflow"
        f.attrs["keras_version"] = "2.15.0"
        mw = f.create_group("model_weights")
        for dpath, arr in tensors:
            _, layer, _, weight = dpath.split("/", 3)
            if layer not in layers:
                layers[layer] = []
                mw.create_group(layer)
            layers[layer].append(f"{layer}/{weight}")
            mw[layer].create_dataset(f"{layer}/{weight}", data=arr)
        mw.attrs["layer_names"] = np.array([n.encode() for n in layers])
        for layer, weights in layers.items():
            mw[layer].attrs["weight_names"] = np.array([w.encode() for w in weights])
        f.flush()
    fsync(path)


def fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prepare(job: dict) -> dict:
    workdir, workload = job["dir"], job["workload"]
    os.makedirs(workdir, exist_ok=True)
    files = {k: os.path.join(workdir, v) for k, v in FILES.items()}
    keras_file = _workloads.KERAS_FILES.get(workload)
    checksum, payload, count, largest = 0, 0, 0, 0
    tensors = []
    with open(files["raw"], "wb") as raw, open(files["idx"], "w") as idx:
        for dpath, arr in sources(workload):
            raw.write(arr.tobytes())
            idx.write(f"{arr.nbytes} {dpath}\n")
            checksum = (checksum + word_sum(arr)) % 2**64
            payload += arr.nbytes
            largest = max(largest, arr.nbytes)
            count += 1
            if not keras_file:
                tensors.append((dpath, arr))
        raw.flush()
        os.fsync(raw.fileno())
    if keras_file:
        files["h5"] = keras_file  # libhdf5 reads the test file itself
    else:
        write_keras_h5(files["h5"], tensors)
    del tensors
    res = subprocess.run([sys.executable, "-m", "kwbin", "pack", files["h5"], "-o", files["kwbin"], "-q"],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"kwbin pack failed: {res.stderr}")
    fsync(files["kwbin"])
    layout = {"files": files, "checksum": f"{checksum:016x}", "payload_bytes": payload, "tensors": count,
              "largest_tensor_bytes": largest,
              "pack_warnings": [ln for ln in res.stderr.splitlines() if ln.strip()]}
    with open(os.path.join(workdir, LAYOUT), "w") as f:
        json.dump(layout, f)
    return {**layout, "file_bytes": {k: os.path.getsize(p) for k, p in files.items()}}


def read_dump(path: str):
    """Records of a check-mode dump: (name, bytes)."""
    with open(path, "rb") as f:
        while True:
            head = f.read(4)
            if not head:
                return
            (n,) = np.frombuffer(head, "<u4")
            name = f.read(int(n)).decode()
            (nbytes,) = np.frombuffer(f.read(8), "<u8")
            yield name, f.read(int(nbytes))


def verify(job: dict) -> dict:
    """Every program's view of every tensor, bit for bit against the sources,
    and every program's timed-mode checksum against the sources' reduction.
    Raises (the runner aborts) on the first difference."""
    workdir, workload = job["dir"], job["workload"]
    with open(os.path.join(workdir, LAYOUT)) as f:
        layout = json.load(f)
    expected = {dpath: arr for dpath, arr in sources(workload)}
    dump = os.path.join(workdir, "dump.bin")
    checked = {}
    for tool, argv in job["commands"].items():
        dump_argv = argv[:1] + ["--dump", dump] + argv[1:]
        res = subprocess.run(dump_argv, capture_output=True, text=True)
        if res.returncode != 0:
            raise AssertionError(f"{tool}: check mode failed: {res.stderr}")
        seen = set()
        for name, data in read_dump(dump):
            name = name.lstrip("/")  # kwbin's sources are absolute HDF5 paths
            if name not in expected:
                raise AssertionError(f"{tool}: unexpected tensor {name!r}")
            if name in seen:
                raise AssertionError(f"{tool}: tensor {name!r} read twice")
            seen.add(name)
            src = np.ascontiguousarray(expected[name]).reshape(-1).view(np.uint8)
            if len(data) != len(src) or not np.array_equal(np.frombuffer(data, np.uint8), src):
                raise AssertionError(f"{tool}: tensor {name!r} differs from the source")
        if seen != set(expected):
            raise AssertionError(f"{tool}: missing tensors {sorted(set(expected) - seen)[:5]}")
        os.unlink(dump)
        out = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        if (out["checksum"], out["bytes"], out["tensors"]) != (layout["checksum"], layout["payload_bytes"],
                                                                layout["tensors"]):
            raise AssertionError(f"{tool}: timed run read checksum {out['checksum']} / {out['bytes']} bytes / "
                                 f"{out['tensors']} tensors, expected {layout['checksum']} / "
                                 f"{layout['payload_bytes']} / {layout['tensors']}")
        checked[tool] = {"tensors": len(seen), "checksum": out["checksum"]}
    res = subprocess.run(job["verify_command"], capture_output=True, text=True)
    if res.returncode != 0:
        raise AssertionError(f"kwb_verify failed: {res.stderr}")
    # One flipped bit in the middle tensor's data must make kwb_verify fail with
    # tensor_checksum (the timed check really reads and checks every byte).
    import kwbin

    with kwbin.open(layout["files"]["kwbin"]) as kf:
        infos = list(kf.tensors)
        middle = infos[len(infos) // 2]
    with open(layout["files"]["kwbin"], "rb") as f:
        blob = bytearray(f.read())
    blob[middle.offset + middle.nbytes // 2] ^= 0x01
    bad = os.path.join(workdir, "flipped.kwb")
    with open(bad, "wb") as f:
        f.write(blob)
    del blob
    res = subprocess.run(job["verify_command"][:-1] + [bad], capture_output=True, text=True)
    os.unlink(bad)
    if res.returncode == 0 or "tensor_checksum" not in res.stderr:
        raise AssertionError(f"kwb_verify did not report tensor_checksum for a flipped bit: {res.stderr!r}")
    return {"ok": True, "tensors": len(expected), "checksum": layout["checksum"], "tools": checked,
            "flipped_bit": f"bit 0 of byte {middle.nbytes // 2} of {middle.name!r}: {res.stderr.strip()}"}


OPS = {"prepare": prepare, "verify": verify}

if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    print(json.dumps(OPS[job["op"]](job)))
