"""`kwbin convert`: kwbin <-> safetensors and .npz, round trips bit for bit, every refusal named (issue #17)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import kwbin
from kwbin.convert import SAFETENSORS_METADATA_KEY

if not os.environ.get("CI"):
    pytest.importorskip("safetensors")  # requirements/dev.txt installs it; CI must have it
import safetensors  # noqa: E402
import safetensors.numpy  # noqa: E402


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kwbin", "convert", *args], capture_output=True, text=True, timeout=600)


def ok(*args: str) -> subprocess.CompletedProcess:
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    return result


def every_dtype_model(path):
    rng = np.random.default_rng(5)
    with kwbin.Writer(path, metadata={"producer": "test", "user": {"run": 7, "tags": ["a", "ü"]}}, alignment=128) as w:
        w.add_layer("outer", "Functional", config={"name": "outer"})
        w.add_layer("outer/dense", "Dense", config={"units": 3, "rate": 0.1}, parent="outer")
        w.add_tensor("outer/dense/kernel", rng.standard_normal((4, 3)).astype(np.float32), layer="outer/dense",
                     weight="kernel", source="/model/dense/kernel:0")  # fmt: skip
        w.add_tensor("outer/dense/bias", np.array([np.nan, -0.0, np.inf], np.float32), layer="outer/dense", weight="bias")
        w.add_layer("dropout", "Dropout", config={"rate": 0.5})
        w.add_tensor("bf", rng.standard_normal(5).astype(np.float32), dtype="bfloat16")
        for dtype in ("float16", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
            w.add_tensor(f"t_{dtype}", (rng.standard_normal((2, 3)) * 100).astype(dtype))
        w.add_tensor("flags", np.array([True, False, True]))
        w.add_tensor("scalar", np.float32(2.5))
        w.add_tensor("empty", np.zeros((0, 4), np.float32))
        w.add_tensor("name with spaces/and ü.npy", np.arange(3, dtype=np.int16))
    return path


def same_tensors(a, b) -> None:
    with kwbin.open(a) as fa, kwbin.open(b) as fb:
        assert sorted(fa) == sorted(fb)
        for name in fa:
            ta, tb = fa.info(name), fb.info(name)
            assert (ta.dtype, ta.shape) == (tb.dtype, tb.shape), name
            assert fa[name].tobytes() == fb[name].tobytes(), name


def test_kwbin_safetensors_kwbin_is_the_same_file_content(tmp_path):
    src = every_dtype_model(tmp_path / "m.kwb")
    result = ok(str(src), str(tmp_path / "m.safetensors"))
    assert "kwbin: note: safetensors keeps tensors only" in result.stderr and len(result.stderr.splitlines()) == 1
    ok(str(tmp_path / "m.safetensors"), str(tmp_path / "back.kwb"))
    same_tensors(src, tmp_path / "back.kwb")
    diff = subprocess.run([sys.executable, "-m", "kwbin", "diff", str(src), str(tmp_path / "back.kwb")],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert diff.returncode == 0, diff.stdout  # layers, configs, sources and metadata came back too
    with kwbin.open(tmp_path / "back.kwb") as f:
        assert [la.name for la in f.layers] == ["outer", "outer/dense", "dropout"]
        assert f.info("outer/dense/kernel").source == "/model/dense/kernel:0"
        assert f.user_metadata == {"run": 7, "tags": ["a", "ü"]}


def test_the_safetensors_file_is_read_by_safetensors_itself(tmp_path):
    src = every_dtype_model(tmp_path / "m.kwb")
    ok(str(src), str(tmp_path / "m.safetensors"))
    with safetensors.safe_open(str(tmp_path / "m.safetensors"), framework="np") as st:
        assert set(st.keys()) == set(kwbin.open(src))
        assert st.get_slice("bf").get_dtype() == "BF16"
        kernel = st.get_tensor("outer/dense/kernel")
    assert kernel.tobytes() == kwbin.open(src)["outer/dense/kernel"].tobytes()


def test_a_plain_safetensors_file_keeps_names_dtypes_and_metadata(tmp_path):
    tensors = {"model.embed.weight": np.arange(6, dtype=np.float16).reshape(2, 3), "b": np.array([1, 2], np.uint8)}
    safetensors.numpy.save_file(tensors, str(tmp_path / "x.safetensors"), metadata={"format": "np", "k": "v"})
    result = ok(str(tmp_path / "x.safetensors"), str(tmp_path / "x.kwb"))
    assert "note" not in result.stderr
    with kwbin.open(tmp_path / "x.kwb") as f:
        assert f.metadata[SAFETENSORS_METADATA_KEY] == {"format": "np", "k": "v"}
        for name, array in tensors.items():
            assert f[name].dtype == array.dtype and f[name].tobytes() == array.tobytes()
    ok(str(tmp_path / "x.kwb"), str(tmp_path / "y.safetensors"))
    again = safetensors.numpy.load_file(str(tmp_path / "y.safetensors"))
    assert {k: v.tobytes() for k, v in again.items()} == {k: v.tobytes() for k, v in tensors.items()}


def test_kwbin_npz_kwbin_keeps_every_tensor(tmp_path):
    src = every_dtype_model(tmp_path / "m.kwb")
    result = ok(str(src), str(tmp_path / "m.npz"))
    assert "layers, configs, sources and metadata were dropped" in result.stderr
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(kwbin.open(src))  # a name ending in .npy survives
        assert npz["bf"].dtype == np.uint16  # bfloat16 as its bits
    ok(str(tmp_path / "m.npz"), str(tmp_path / "back.kwb"))
    with kwbin.open(src) as fa, kwbin.open(tmp_path / "back.kwb") as fb:
        for name in fa:
            assert fa[name].tobytes() == fb[name].tobytes() and fa[name].shape == fb[name].shape, name
            expected = "uint16" if fa.info(name).dtype == "bfloat16" else fa.info(name).dtype
            assert fb.info(name).dtype == expected


def test_npz_from_numpy_converts(tmp_path):
    np.savez(tmp_path / "a.npz", w=np.ones((2, 2), ">f4"), i=np.arange(3))
    ok(str(tmp_path / "a.npz"), str(tmp_path / "a.kwb"))
    with kwbin.open(tmp_path / "a.kwb") as f:
        assert f["w"].dtype == np.dtype("<f4") and np.array_equal(f["w"], np.ones((2, 2)))


@pytest.mark.parametrize("case", ["object", "complex", "strings"])
def test_npz_arrays_kwbin_cannot_hold_are_refused_by_name(tmp_path, case):
    arrays = {"fine": np.zeros(2)}
    arrays["bad_one"] = {"object": np.array([{"a": 1}], object), "complex": np.ones(2, np.complex64),
                         "strings": np.array(["x", "y"])}[case]  # fmt: skip
    np.savez(tmp_path / "a.npz", **arrays)
    (tmp_path / "a.kwb").write_bytes(b"old")
    result = cli(str(tmp_path / "a.npz"), str(tmp_path / "a.kwb"))
    assert result.returncode == 1, result.stderr
    assert "'bad_one'" in result.stderr and result.stderr.startswith("kwbin: error:")
    assert len(result.stderr.splitlines()) == 1
    assert (tmp_path / "a.kwb").read_bytes() == b"old"  # nothing replaced
    assert sorted(os.listdir(tmp_path)) == ["a.kwb", "a.npz"]  # no temporary file left


def test_a_safetensors_dtype_kwbin_cannot_hold_is_refused_by_name(tmp_path):
    data = np.zeros(4, np.uint8)
    raw = safetensors.serialize({"f8": safetensors.TensorSpec(dtype="float8_e4m3fn", shape=[4], data_ptr=data.ctypes.data,
                                                              data_len=4)})  # fmt: skip
    (tmp_path / "x.safetensors").write_bytes(raw)
    result = cli(str(tmp_path / "x.safetensors"), str(tmp_path / "x.kwb"))
    assert result.returncode == 1 and "'f8'" in result.stderr and "F8_E4M3" in result.stderr, result.stderr
    assert not (tmp_path / "x.kwb").exists()


def test_other_refusals(tmp_path):
    src = every_dtype_model(tmp_path / "m.kwb")
    damaged = tmp_path / "damaged.kwb"
    data = bytearray(src.read_bytes())
    data[kwbin.open(src).info("t_float64").offset] ^= 1
    damaged.write_bytes(bytes(data))
    (tmp_path / "text.txt").write_text("hello, not a tensor file")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
    cases = {
        "unknown output extension": ([str(src), str(tmp_path / "m.pt")], 2, ".safetensors"),
        "stdout": ([str(src), "-"], 2, "standard output"),
        "output is the source": ([str(src), str(src)], 2, "same file"),
        "kwbin to kwbin": ([str(src), str(tmp_path / "copy.kwb")], 1, "kwbin -> kwbin"),
        "npz to safetensors": ([str(tmp_path / "bad.npz"), str(tmp_path / "x.safetensors")], 1, "npz -> safetensors"),
        "damaged kwbin": ([str(damaged), str(tmp_path / "d.npz")], 1, "tensor_checksum"),
        "not a known format": ([str(tmp_path / "text.txt"), str(tmp_path / "t.kwb")], 1, "not a kwbin, safetensors or .npz"),
        "bad safetensors": ([str(tmp_path / "bad.safetensors"), str(tmp_path / "s.kwb")], 1, "not a valid safetensors"),
        "bad npz": ([str(tmp_path / "bad.npz"), str(tmp_path / "n.kwb")], 1, "npz"),
        "missing": ([str(tmp_path / "nope.kwb"), str(tmp_path / "n.npz")], 3, "nope.kwb"),
    }
    for name, (args, code, words) in cases.items():
        result = cli(*args)
        assert result.returncode == code, (name, result.stderr)
        assert words in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr, name
    written = {"m.kwb", "damaged.kwb", "text.txt", "bad.safetensors", "bad.npz"}
    assert set(os.listdir(tmp_path)) == written  # no refused conversion wrote anything


def test_hostile_kwbin_keys_in_safetensors_metadata_are_refused(tmp_path):
    data = np.zeros(2, np.float32)
    spec = {"w": safetensors.TensorSpec(dtype="float32", shape=[2], data_ptr=data.ctypes.data, data_len=8)}
    for layers in ('{"not": "a list"}', "[1, 2]", '[{"class_name": "Dense"}]', "not json"):
        raw = safetensors.serialize(spec, {"kwbin.layers": layers})
        (tmp_path / "x.safetensors").write_bytes(raw)
        result = cli(str(tmp_path / "x.safetensors"), str(tmp_path / "x.kwb"))
        assert result.returncode == 1, (layers, result.stderr)
        assert "kwbin.layers" in result.stderr or "kwbin.*" in result.stderr, result.stderr
        assert not (tmp_path / "x.kwb").exists()


def test_zip_members_are_what_numpy_writes(tmp_path):
    src = every_dtype_model(tmp_path / "m.kwb")
    ok(str(src), str(tmp_path / "m.npz"))
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        assert "name with spaces/and ü.npy.npy" in z.namelist()


def test_without_the_safetensors_package_the_error_says_what_to_install(tmp_path, monkeypatch):
    from kwbin.cli import main

    src = every_dtype_model(tmp_path / "m.kwb")
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import safetensors now raises ImportError
    assert main(["convert", str(src), str(tmp_path / "m.safetensors")]) == 1
    assert not (tmp_path / "m.safetensors").exists()
    assert main(["convert", str(src), str(tmp_path / "m.npz")]) == 0  # npz needs nothing more
