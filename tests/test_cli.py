"""The kwbin command: real subprocesses, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kwbin


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kwbin", *args], capture_output=True, text=True, cwd=cwd, timeout=600
    )


@pytest.fixture()
def model(tmp_path):
    path = tmp_path / "model.kwb"
    with kwbin.Writer(path, metadata={"source_format": "test"}) as w:
        w.add_layer("dense", "Dense", config={"units": 3})
        w.add_tensor("dense/kernel", np.arange(12, dtype=np.float32).reshape(4, 3), layer="dense", weight="kernel")
        w.add_tensor("dense/bias", np.array([0.5, -0.0, np.inf], np.float32), layer="dense", weight="bias")
        w.add_layer("act", "Activation", config={"activation": "relu"})
    return path


def assert_one_line_error(result: subprocess.CompletedProcess, code: int) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kwbin: error: ")
    assert "Traceback" not in result.stderr


def test_info_lists_layers_tensors_and_metadata(model):
    result = run("info", str(model))
    assert result.returncode == 0, result.stderr
    assert "2 layers, 2 tensors" in result.stdout
    assert "dense  [Dense]" in result.stdout
    assert "kernel" in result.stdout and "(4, 3)" in result.stdout
    assert '"test"' in result.stdout


def test_info_json_is_the_documented_listing(model):
    result = run("info", "--json", str(model))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    with kwbin.open(model) as f:
        kernel = f.info("dense/kernel")
    assert doc["format_version"] == "1.0"
    assert [layer["name"] for layer in doc["layers"]] == ["dense", "act"]
    assert doc["layers"][0]["tensors"] == ["dense/kernel", "dense/bias"]
    first = doc["tensors"][0]
    assert first["name"] == "dense/kernel" and first["shape"] == [4, 3] and first["dtype"] == "float32"
    assert first["crc32"] == kernel.crc32 and first["offset"] == kernel.offset


def test_verify_succeeds_on_a_good_file(model):
    result = run("verify", str(model))
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_verify_reports_a_damaged_tensor_with_exit_1(model):
    data = bytearray(model.read_bytes())
    with kwbin.open(bytes(data)) as f:
        offset = f.info("dense/bias").offset
    data[offset] ^= 0x01
    model.write_bytes(bytes(data))
    result = run("verify", str(model))
    assert_one_line_error(result, 1)
    assert "tensor_checksum" in result.stderr


def test_dump_prints_exact_values(model):
    result = run("dump", str(model), "dense/bias")
    assert result.returncode == 0, result.stderr
    assert "float32 (3,)" in result.stdout
    values = result.stdout.splitlines()[1].replace(" ", "")
    assert values == "[0.5,-0.,inf]"


def test_dump_of_a_missing_tensor_exits_4(model):
    assert_one_line_error(run("dump", str(model), "nope"), 4)


@pytest.mark.parametrize("command", [["info"], ["info", "--json"], ["verify"], ["dump", "x"]])
def test_every_command_given_a_missing_file_says_so_in_one_line(tmp_path, command):
    missing = str(tmp_path / "missing.kwb")
    result = run(command[0], missing, *command[1:]) if command[0] != "info" else run(*command, missing)
    assert_one_line_error(result, 3)
    assert "No such file" in result.stderr


@pytest.mark.parametrize("command", ["info", "verify"])
def test_a_directory_is_refused_in_one_line(tmp_path, command):
    assert_one_line_error(run(command, str(tmp_path)), 3)


@pytest.mark.parametrize("command", ["info", "verify"])
def test_a_file_of_another_kind_is_named(tmp_path, command):
    other = tmp_path / "weights.h5"
    other.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(600))
    result = run(command, str(other))
    assert_one_line_error(result, 1)
    assert "not_kwbin" in result.stderr and "HDF5" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_refused_in_one_line(model):
    model.chmod(0)
    assert_one_line_error(run("info", str(model)), 3)


def test_bad_arguments_exit_2_without_traceback():
    result = run("info")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_pack_then_info_then_export_from_the_command_line(tmp_path, keras_data):
    out = tmp_path / "seed.kwb"
    result = run("pack", str(keras_data / "keras1_model54321_weights.h5"),
                 "--arch", str(keras_data / "keras1_model54321_architecture.json"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "15 layers, 30 tensors" in result.stdout and "keras1-weights-h5" in result.stdout
    quiet = run("pack", str(keras_data / "seed_tfk.h5"), "-o", str(tmp_path / "q.kwb"), "-q")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""

    exported = tmp_path / "export"
    result = run("export", str(out), str(exported), "--txt", "--bin")
    assert result.returncode == 0, result.stderr
    index = json.loads((exported / "index.json").read_text())
    entry = next(e for e in index["tensors"] if e["name"] == "batchnormalization_1/moving_variance")
    with kwbin.open(out) as f:
        expected = np.array(f["batchnormalization_1/moving_variance"])
    raw = np.fromfile(exported / entry["bin"], dtype="<f4").reshape(entry["shape"])
    text = np.loadtxt(exported / entry["txt"], dtype=np.float32).reshape(entry["shape"])
    assert raw.tobytes() == expected.tobytes()
    assert text.tobytes() == expected.tobytes()  # 9 significant digits read back exactly
    assert (exported / "index.tsv").read_text().count("\n") == 31


def test_export_refuses_a_folder_that_is_not_empty(model, tmp_path):
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    assert_one_line_error(run("export", str(model), str(folder)), 3)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
