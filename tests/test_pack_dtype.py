"""``kwbin pack --dtype float16|bfloat16`` (issue #17): floating weights stored narrower.

- every converted tensor is the source rounded to nearest even (numpy's
  float16, ml_dtypes' bfloat16), from float32 and from float64 (rounded once);
- normalisation statistics and integer tensors are stored as in the source;
- the metadata key ``weight_dtype`` says what was asked and what was kept,
  and spec/FORMAT.md documents it;
- a finite value beyond the dtype's range is refused by name (Python and CLI),
  and the destination is not written;
- the seed network packed as float16 and bfloat16 runs in C (kwbin-run),
  within a stated tolerance of Keras's output.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import kwbin
from kwbin.keras import pack
from kwbin.keras.errors import PackError
from kwbin.keras.weight_dtype import convert

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "keras"
SEED = DATA / "seed_k3.keras"
STATISTICS = ("moving_mean", "moving_variance")


def _bf16(values: np.ndarray) -> np.ndarray:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    return np.asarray(values).astype(ml_dtypes.bfloat16).view("<u2")


def _edited(tmp: Path, changes: dict[str, np.ndarray], name: str = "edited.keras") -> Path:
    """A copy of the seed .keras with some datasets of model.weights.h5 replaced."""
    source = zipfile.ZipFile(SEED)
    blob = io.BytesIO(source.read("model.weights.h5"))
    with h5py.File(blob, "r+") as h5:
        for path, value in changes.items():
            del h5[path]
            h5.create_dataset(path, data=value)
    out = tmp / name
    with zipfile.ZipFile(out, "w") as z:
        for entry in source.namelist():
            z.writestr(entry, blob.getvalue() if entry == "model.weights.h5" else source.read(entry))
    return out


def _source_arrays(path: Path, tmp: Path) -> dict[str, np.ndarray]:
    """Each layer weight of a seed-like .keras by its packed name (plain packing is bit-exact, tested elsewhere)."""
    out = tmp / f"{path.stem}.plain.kwb"
    pack(path, out)
    with kwbin.open(out) as f:
        return {name: np.array(array) for name, array in f.items()}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_floating_weights_are_rounded_to_nearest_even_and_statistics_kept(dtype, tmp_path):
    source = _source_arrays(SEED, tmp_path)
    out = pack(SEED, tmp_path / "seed.kwb", dtype=dtype)
    with kwbin.open(out) as f:
        f.verify()
        meta = f.metadata["weight_dtype"]
        kept = [name for name in source if name.rsplit("/", 1)[1] in STATISTICS]
        assert meta == {
            "requested": dtype, "rounding": "nearest-even", "converted": len(source) - len(kept),
            "kept": kept, "kept_why": meta["kept_why"],
        }  # fmt: skip
        for name, original in source.items():
            stored = np.array(f[name])
            if name in kept:
                assert f.info(name).dtype == "float32" and np.array_equal(stored, original), name
            elif dtype == "float16":
                assert f.info(name).dtype == "float16" and np.array_equal(stored, original.astype("<f2")), name
            else:
                assert f.info(name).dtype == "bfloat16" and np.array_equal(stored, _bf16(original)), name


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_float64_weights_round_once_and_integer_weights_stay(dtype, tmp_path):
    rng = np.random.default_rng(17)
    kernel = rng.standard_normal((200, 100))
    # 1 + 2^-8 + 2^-30: through float32 first it would become the tie 1 + 2^-8,
    # which bfloat16 rounds down to 1; rounded once it is 1 + 2^-7.
    kernel[0, 0] = 1 + 2.0**-8 + 2.0**-30
    bias = np.arange(100, dtype=np.int32)
    path = _edited(tmp_path, {"layers/dense_4/vars/0": kernel, "layers/dense_4/vars/1": bias})
    out = pack(path, tmp_path / "out.kwb", dtype=dtype)
    with kwbin.open(out) as f:
        assert f.info("dense_4/bias").dtype == "int32"
        assert np.array_equal(f["dense_4/bias"], bias)
        stored = np.array(f["dense_4/kernel"])
    if dtype == "float16":
        assert np.array_equal(stored, kernel.astype("<f2"))  # numpy rounds float64 -> float16 once
    else:
        pytest.importorskip("ml_dtypes")
        widened = (stored.astype("<u4") << 16).view("<f4")
        assert widened[0, 0] == np.float32(1 + 2.0**-7)
        expected = _bf16(kernel.astype(np.float32))
        expected[0, 0] = _bf16(np.float32(1 + 2.0**-7))
        assert np.array_equal(stored, expected)


def test_float16_and_bfloat16_edge_values():
    ties = np.array([1 + 2.0**-11, 1 + 3 * 2.0**-11, 65519.0, -65519.0, 1e-7, -0.0, np.inf, -np.inf, np.nan],
                    dtype=np.float32)  # fmt: skip
    half = convert(ties, "float16", "t", "src")
    assert half.dtype == np.dtype("<f2")
    assert half[:4].tolist() == [1.0, 1 + 2.0**-9, 65504.0, -65504.0]  # ties to even; 65519 rounds to 65504
    assert half[4] != 0 and abs(float(half[4]) - 1e-7) < 6e-8  # a float16 subnormal, not flushed to zero
    assert np.signbit(half[5]) and half[6] == np.inf and half[7] == -np.inf and np.isnan(half[8])
    bf_ties = np.array([1 + 2.0**-8, 1 + 3 * 2.0**-8, 3e38, -np.inf, np.nan, -np.nan], dtype=np.float32)
    bits = convert(bf_ties, "bfloat16", "t", "src")
    assert bits.dtype == np.dtype("<u2")
    assert bits[:4].tolist() == [0x3F80, 0x3F82, int(_bf16(np.float32(3e38))), 0xFF80]
    assert (bits[4] & 0x7F80) == 0x7F80 and (bits[4] & 0x7F) and (bits[5] & 0x7F)  # NaNs stay NaNs


@pytest.mark.parametrize("value", [65520.0, -1e6, 1e30])
def test_a_value_float16_cannot_hold_is_refused_by_name(value, tmp_path):
    kernel = np.zeros((200, 100), dtype=np.float32)
    kernel[3, 7] = value
    path = _edited(tmp_path, {"layers/dense_4/vars/0": kernel})
    out = tmp_path / "out.kwb"
    with pytest.raises(PackError) as caught:
        pack(path, out, dtype="float16")
    message = str(caught.value)
    assert "'dense_4/kernel'" in message and "(3, 7)" in message and "65504" in message, message
    assert not out.exists()
    assert kwbin.open(pack(path, out, dtype="bfloat16"))["dense_4/kernel"][3, 7] == _bf16(np.float32(value))


def test_a_float64_value_beyond_bfloat16_is_refused(tmp_path):
    kernel = np.zeros((200, 100))
    kernel[1, 2] = -1e300
    path = _edited(tmp_path, {"layers/dense_4/vars/0": kernel})
    with pytest.raises(PackError, match=r"'dense_4/kernel'.*-1e\+300 at index \(1, 2\).*bfloat16"):
        pack(path, tmp_path / "out.kwb", dtype="bfloat16")
    with pytest.raises(PackError, match=r"-1e\+300 at index \(1, 2\).*float32's largest finite value"):
        pack(path, tmp_path / "out.kwb", dtype="float32")
    assert not (tmp_path / "out.kwb").exists()
    kernel[1, 2] = -3.3e38  # within float32's and bfloat16's range
    with kwbin.open(pack(_edited(tmp_path, {"layers/dense_4/vars/0": kernel}, "b.keras"), tmp_path / "b.kwb",
                         dtype="bfloat16")) as f:  # fmt: skip
        assert f["dense_4/kernel"][1, 2] == _bf16(np.float32(-3.3e38))


def test_float32_request_and_no_request(tmp_path):
    plain = pack(SEED, tmp_path / "plain.kwb")
    same = pack(SEED, tmp_path / "same.kwb", dtype="float32")
    with kwbin.open(plain) as a, kwbin.open(same) as b:
        assert "weight_dtype" not in a.metadata
        assert b.metadata["weight_dtype"]["requested"] == "float32"
        assert all(np.array_equal(a[name], b[name]) and a.info(name).dtype == "float32" for name in a)
    with pytest.raises(PackError, match="dtype 'int8'"):
        pack(SEED, tmp_path / "bad.kwb", dtype="int8")


def test_weight_dtype_is_a_documented_metadata_key():
    rows = [line for line in (ROOT / "spec" / "FORMAT.md").read_text().splitlines() if line.startswith("| `")]
    row = next(line for line in rows if line.startswith("| `weight_dtype` |"))
    for word in ("requested", "converted", "kept", "nearest", "float32"):
        assert word in row


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kwbin", *args], capture_output=True, text=True, timeout=600)


def test_cli_dtype(tmp_path):
    out = tmp_path / "seed.kwb"
    result = _cli("pack", str(SEED), "-o", str(out), "--dtype", "bfloat16", "-q")
    assert result.returncode == 0, result.stderr
    with kwbin.open(out) as f:
        assert f.metadata["weight_dtype"]["requested"] == "bfloat16"
        assert f.info("dense/kernel").dtype == "bfloat16"
    kernel = np.zeros((200, 100), dtype=np.float32)
    kernel[0, 1] = 1e5
    bad = _edited(tmp_path, {"layers/dense_4/vars/0": kernel})
    result = _cli("pack", str(bad), "-o", str(tmp_path / "bad.kwb"), "--dtype", "float16", "-q")
    assert result.returncode not in (0, 70) and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kwbin: error: ") and "'dense_4/kernel'" in lines[0], lines
    assert not (tmp_path / "bad.kwb").exists()
    result = _cli("pack", str(SEED), "-o", str(tmp_path / "x.kwb"), "--dtype", "int8")
    assert result.returncode == 2 and "--dtype" in result.stderr


# ---- C inference: kwbin-run converts float16 / bfloat16 at load -------------

CC = next((c for c in (os.environ.get("CC"), "cc", "gcc", "clang") if c and shutil.which(c)), None)

# Error of kwbin-run's output against Keras's, over the largest |Keras output|.
# Measured on the seed network (8 x 100 outputs, largest 0.43): float16
# 1.7e-3, bfloat16 1.2e-2; float32 1.1e-6.  The bounds are 16 unit roundoffs
# of each dtype (2^-11 x 2^-1 x 16 = 3.9e-3; 2^-8 x 2^-1 x 16 = 6.3e-2).
BOUND = {"float16": 16 * 2.0**-12, "bfloat16": 16 * 2.0**-9}
FLOAT32_ERROR = 1e-5


@pytest.fixture(scope="module")
def kwbin_run(tmp_path_factory) -> Path:
    if CC is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH")
    exe = tmp_path_factory.mktemp("dtype_c") / "kwbin-run"
    cmd = [CC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'c_reader'}", "-o", str(exe),
           str(ROOT / "c_reader" / "tools" / "kwbin_run.c"), "-lm"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return exe


def _scaled_error(exe: Path, model: Path, tmp: Path) -> float:
    out = tmp / f"{Path(model).stem}.out.npy"
    result = subprocess.run([str(exe), str(model), str(DATA / "seed_k3.input.npy"), str(out)],
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr
    keras = np.load(DATA / "seed_k3.output.npy")
    return float(np.max(np.abs(np.load(out) - keras)) / np.max(np.abs(keras)))


def test_seed_network_in_float16_and_bfloat16_runs_in_c_near_keras(kwbin_run, tmp_path):
    errors = {
        dtype: _scaled_error(kwbin_run, pack(SEED, tmp_path / f"{dtype}.kwb", dtype=dtype), tmp_path)
        for dtype in ("float32", "float16", "bfloat16")
    }
    assert errors["float32"] <= FLOAT32_ERROR
    assert FLOAT32_ERROR < errors["float16"] <= BOUND["float16"], errors  # converted, and close
    assert errors["float16"] < errors["bfloat16"] <= BOUND["bfloat16"], errors
