"""`kwbin diff A B`: every kind of difference, the value rule, streaming, and the exit codes (issue #17)."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import kwbin
from kwbin import diff as kdiff
from kwbin.cli import main


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kwbin", "diff", *args], capture_output=True, text=True, timeout=600)


def layered(path, *, units=3, parent=None, cls="Dense", kernel=None, metadata=None, alignment=64, extra_layer=False):
    with kwbin.Writer(path, metadata=metadata or {"producer": "test"}, alignment=alignment) as w:
        w.add_layer("block", "Functional")
        w.add_layer("dense", cls, config={"units": units, "activation": "relu"}, parent=parent)
        k = np.arange(12, dtype=np.float32).reshape(4, 3) if kernel is None else kernel
        w.add_tensor("dense/kernel", k, layer="dense", weight="kernel")
        w.add_tensor("dense/bias", np.zeros(3, np.float32), layer="dense", weight="bias")
        if extra_layer:
            w.add_layer("dropout", "Dropout", config={"rate": 0.5})
    return path


def differences(tmp_path, a: dict, b: dict, **tolerance) -> list[str]:
    kwbin.save_file(a, tmp_path / "a.kwb")
    kwbin.save_file(b, tmp_path / "b.kwb")
    with kwbin.open(tmp_path / "a.kwb") as fa, kwbin.open(tmp_path / "b.kwb") as fb:
        return kdiff.format_lines(kdiff.diff_files(fa, fb, **tolerance))


def test_equal_files_exit_0(tmp_path):
    a = layered(tmp_path / "a.kwb")
    b = layered(tmp_path / "b.kwb", alignment=16)  # the same content, laid out differently
    result = cli(str(a), str(b))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "are equal (2 tensors" in result.stdout
    assert "note: alignment 64 -> 16 (layout, not a difference)" in result.stdout


def test_every_kind_of_difference_exits_1(tmp_path):
    kernel = np.arange(12, dtype=np.float32).reshape(4, 3)
    kernel[2, 1] = 100.0  # was 7: absolute 93, relative 93/100
    kernel[0, 1] = 2.0  # was 1: absolute 1, relative 0.5 ... the largest relative is at [2, 1]? 93/100 = 0.93
    a = layered(tmp_path / "a.kwb", metadata={"producer": "test", "note": {"run": 1}, "gone": True})
    b = layered(tmp_path / "b.kwb", units=4, cls="Dense2", parent="block", kernel=kernel,
                metadata={"producer": "test", "note": {"run": 2}, "new": [1]}, extra_layer=True)  # fmt: skip
    result = cli(str(a), str(b))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "layer added: dropout: [Dropout]" in lines
    assert "layer changed: dense: class 'Dense' -> 'Dense2'" in lines
    assert "layer changed: dense: parent None -> 'block'" in lines
    assert "layer changed: dense: config.units changed: 3 -> 4" in lines
    assert ("tensor changed: dense/kernel: 2 of 12 values differ; largest absolute difference 93 at [2, 1] (7 -> 100); "
            "largest relative difference 0.93 at [2, 1]") in lines  # fmt: skip
    assert "metadata changed: note.run: 1 -> 2" in lines
    assert "metadata removed: gone: true" in lines
    assert "metadata added: new: [1]" in lines
    assert lines[-1].endswith("differ: 8 differences (rtol 0, atol 0)")


def test_tensors_added_removed_dtype_and_shape(tmp_path):
    lines = differences(
        tmp_path,
        {"w": np.ones((2, 3), np.float32), "h": np.ones(4, np.float16), "gone": np.zeros(1)},
        {"w": np.ones((3, 2), np.float32), "h": np.ones(4, np.float32), "new": np.zeros(2, np.int8)},
    )
    assert lines == [
        "tensor removed: gone: float64 (1,)",
        "tensor added: new: int8 (2,)",
        "tensor changed: w: shape (2, 3) -> (3, 2) (values not compared)",
        "tensor changed: h: dtype float16 -> float32",  # the values, compared as float64, are equal
    ]


def test_values_of_different_dtypes_are_compared_as_float64(tmp_path):
    lines = differences(tmp_path, {"x": np.array([0.1, 1.0], np.float16)}, {"x": np.array([0.1, 1.0], np.float32)})
    # float16(0.1) is 0.0999755859375: a value difference, not only a dtype one.
    assert lines[0] == "tensor changed: x: dtype float16 -> float32"
    assert lines[1].startswith("tensor changed: x: 1 of 2 values differ; largest absolute difference 2.44")


def test_nan_inf_and_signed_zero(tmp_path):
    nan, inf = np.nan, np.inf
    a = {"same": np.array([nan, inf, -inf, 0.0, 1.0]), "nan_vs_1": np.array([nan, 1.0]), "inf": np.array([inf])}
    b = {"same": np.array([nan, inf, -inf, -0.0, 1.0]), "nan_vs_1": np.array([1.0, 1.0]), "inf": np.array([-inf])}
    lines = differences(tmp_path, a, b)
    assert lines == [
        "tensor changed: nan_vs_1: 1 of 2 values differ; largest absolute difference inf at [0] (nan -> 1); "
        "largest relative difference inf at [0]",
        "tensor changed: inf: 1 of 1 values differ; largest absolute difference inf at [0] (inf -> -inf); "
        "largest relative difference inf at [0]",
    ]
    # A NaN with another payload is still NaN at the same place: equal.
    other_nan = np.array([0x7FF8000000000001], np.uint64).view(np.float64)
    assert differences(tmp_path, {"n": np.array([nan])}, {"n": other_nan}) == []


def test_tolerances_follow_isclose(tmp_path):
    a, b = {"x": np.array([1.0, 100.0])}, {"x": np.array([1.5, 110.0])}
    assert len(differences(tmp_path, a, b)) == 1
    assert differences(tmp_path, a, b, atol=10.0) == []  # |10| <= 10
    assert differences(tmp_path, a, b, rtol=0.5) == []  # 0.5 <= 0.5 * 1.5, 10 <= 0.5 * 110
    assert len(differences(tmp_path, a, b, atol=9.99)) == 1
    assert len(differences(tmp_path, a, b, rtol=0.09)) == 1  # 10 > 0.09 * 110


def test_bfloat16_and_integers(tmp_path):
    lines = differences(
        tmp_path,
        {"bf": np.array([0x3F80, 0x4000], np.uint16), "i": np.array([2**62, 5], np.int64)},
        {"bf": np.array([0x3F80, 0x4040], np.uint16), "i": np.array([2**62 + 1, 5], np.int64)},
    )
    assert lines[0].startswith("tensor changed: bf: 1 of 2 values differ; largest absolute difference 64 at [1]")  # uint16
    # 2**62 + 1: found and measured exactly, though float64 rounds both values to 2**62.
    assert lines[1].startswith("tensor changed: i: 1 of 2 values differ; largest absolute difference 1 at [0]")
    kwbin.save_file({}, tmp_path / "x.kwb")
    with kwbin.Writer(tmp_path / "a.kwb") as w:
        w.add_tensor("bf", np.array([1.0, 2.0], np.float32), dtype="bfloat16")
    with kwbin.Writer(tmp_path / "b.kwb") as w:
        w.add_tensor("bf", np.array([1.0, 3.0], np.float32), dtype="bfloat16")
    with kwbin.open(tmp_path / "a.kwb") as fa, kwbin.open(tmp_path / "b.kwb") as fb:
        (line,) = kdiff.format_lines(kdiff.diff_files(fa, fb))
    assert line == ("tensor changed: bf: 1 of 2 values differ; largest absolute difference 1 at [1] (2 -> 3); "
                    "largest relative difference 0.333333333 at [1]")  # fmt: skip


def test_streaming_gives_the_same_answer_as_one_pass(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((37, 101)).astype(np.float32)
    b = a.copy()
    b[3, 7] += 0.25
    b[30, 99] -= 4.0  # the largest, in a late chunk
    b[36, 100] = a[36, 100] * 1.001
    whole = differences(tmp_path, {"t": a}, {"t": b})
    monkeypatch.setattr(kdiff, "CHUNK", 64)
    assert differences(tmp_path, {"t": a}, {"t": b}) == whole
    assert "3 of 3737 values differ; largest absolute difference 4.00000006 at [30, 99]" in whole[0]


def test_memory_is_bounded_by_the_chunk_not_the_tensor(tmp_path):
    n = 8 << 20  # 32 MB of float32: float64 copies of the whole would be 64 MB each
    a = np.zeros(n, np.float32)
    a[::997] = 1.0
    kwbin.save_file({"t": a}, tmp_path / "a.kwb")
    a[::991] = 2.0
    kwbin.save_file({"t": a}, tmp_path / "b.kwb")
    del a
    with kwbin.open(tmp_path / "a.kwb") as fa, kwbin.open(tmp_path / "b.kwb") as fb:
        tracemalloc.start()
        try:
            result = kdiff.diff_files(fa, fb)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert not result.equal
    assert peak < 24 << 20, peak  # a chunk's temporaries (CHUNK elements), not the 32 MB tensor


def test_exit_codes_for_bad_inputs(tmp_path):
    good = layered(tmp_path / "good.kwb")
    damaged = tmp_path / "damaged.kwb"
    data = bytearray(good.read_bytes())
    data[-64] ^= 1  # a payload byte: a CRC-32 mismatch, which must not pass as a difference
    damaged.write_bytes(bytes(data))
    (tmp_path / "text.kwb").write_text("not kwbin")
    cases = {
        "damaged": ([str(good), str(damaged)], 5, "tensor_checksum"),
        "not kwbin": ([str(tmp_path / "text.kwb"), str(good)], 5, "not_kwbin"),
        "missing": ([str(good), str(tmp_path / "missing.kwb")], 3, "missing.kwb"),
        "folder": ([str(tmp_path), str(good)], 3, "folder"),
        "negative rtol": ([str(good), str(good), "--rtol", "-1"], 2, "--rtol"),
        "nan atol": ([str(good), str(good), "--atol", "nan"], 2, "--atol"),
        "one file": ([str(good)], 2, "usage"),
    }
    for name, (args, code, word) in cases.items():
        result = cli(*args)
        assert result.returncode == code, (name, result.stderr)
        assert word in result.stderr, (name, result.stderr)
        assert result.stderr.startswith("kwbin: error:") or code == 2, (name, result.stderr)
        assert "Traceback" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_fifo_is_invalid_input_not_a_difference(tmp_path):
    good = layered(tmp_path / "good.kwb")
    os.mkfifo(tmp_path / "fifo")
    assert main(["diff", str(good), str(tmp_path / "fifo")]) == 5


def test_quiet_prints_nothing(tmp_path):
    a = layered(tmp_path / "a.kwb")
    b = layered(tmp_path / "b.kwb", units=5)
    result = cli("-q", str(a), str(b))
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "")
    assert cli("-q", str(a), str(a)).returncode == 0


def test_help_states_the_exit_codes():
    result = subprocess.run([sys.executable, "-m", "kwbin", "diff", "--help"], capture_output=True, text=True, timeout=600)
    assert "0 the files are equal; 1 they differ" in result.stdout
    assert "5 an input is not a valid kwbin file" in result.stdout
