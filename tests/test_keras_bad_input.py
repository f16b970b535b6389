"""`kwbin pack` on bad input: one line naming the file and the problem, a non-zero
exit, and the destination left exactly as it was (no temporary files either)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile

import pytest

from kwbin.keras import PackError, pack
from kwbin.keras import sources

from keras_fixtures import DATA

OLD = b"the previous file, which must survive"


def run_pack(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kwbin", "pack", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture()
def dest(tmp_path):
    path = tmp_path / "out" / "model.kwb"
    path.parent.mkdir()
    path.write_bytes(OLD)
    return path


def assert_refused(result: subprocess.CompletedProcess, dest, *needles: str) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kwbin: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert dest.read_bytes() == OLD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.kwb"]


def _rezip(src, out, *, drop=None, replace=None, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", compress) as zout:
        for item in zin.infolist():
            if item.filename == drop:
                continue
            data = (replace or {}).get(item.filename, zin.read(item.filename))
            zout.writestr(item.filename, data, compress_type=compress)


def test_a_text_file_is_not_a_keras_file(tmp_path, dest):
    src = tmp_path / "notes.txt"
    src.write_text("hello")
    assert_refused(run_pack(str(src), "-o", str(dest)), dest, "notes.txt", "not a Keras file")


def test_a_truncated_hdf5_file(tmp_path, dest):
    src = tmp_path / "cut.h5"
    src.write_bytes((DATA / "seed_tfk.h5").read_bytes()[:300_000])
    assert_refused(run_pack(str(src), "-o", str(dest)), dest, "cut.h5")


def test_a_keras_archive_without_its_weights(tmp_path, dest):
    src = tmp_path / "partial.keras"
    _rezip(DATA / "mlp_k3.keras", src, drop="model.weights.h5")
    assert_refused(run_pack(str(src), "-o", str(dest)), dest, "partial.keras", "model.weights.h5")


def test_a_malformed_config_json(tmp_path, dest):
    src = tmp_path / "bad.keras"
    _rezip(DATA / "mlp_k3.keras", src, replace={"config.json": b'{"class_name": "Sequential", '})
    assert_refused(run_pack(str(src), "-o", str(dest)), dest, "bad.keras", "config.json", "not a JSON object")


def test_a_config_that_disagrees_with_the_weights(tmp_path, dest):
    config = json.loads(zipfile.ZipFile(DATA / "mlp_k3.keras").read("config.json"))
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Dense":
            layer["config"]["use_bias"] = not layer["config"]["use_bias"]
    src = tmp_path / "lying.keras"
    _rezip(DATA / "mlp_k3.keras", src, replace={"config.json": json.dumps(config).encode()})
    assert_refused(run_pack(str(src), "-o", str(dest)), dest, "lying.keras", "should store")


def test_an_arch_for_a_different_model(dest):
    result = run_pack(str(DATA / "seed_k3.weights.h5"), "--arch", str(DATA / "cnn_k3.keras"), "-o", str(dest))
    assert_refused(result, dest, "seed_k3.weights.h5")


def test_an_arch_of_another_generation_for_legacy_weights(dest):
    result = run_pack(str(DATA / "model54321_weights.h5"), "--arch", str(DATA / "keras1_model54321_architecture.json"), "-o", str(dest))
    assert_refused(result, dest, "model54321_weights.h5", "does not match")


def _zip_bomb(path, declared: int, real: bytes) -> None:
    """A deflated model.weights.h5 whose zip headers declare ``declared`` bytes."""
    _rezip(DATA / "mlp_k3.keras", path, replace={"model.weights.h5": real}, compress=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    name = b"model.weights.h5"
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(name.decode())
    data[info.header_offset + 22 : info.header_offset + 26] = declared.to_bytes(4, "little")  # local header
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24 : central + 28] = declared.to_bytes(4, "little")  # central directory
    path.write_bytes(bytes(data))


def test_a_zip_bomb_member_that_inflates_past_its_declared_size(tmp_path, dest):
    src = tmp_path / "bomb.keras"
    _zip_bomb(src, declared=1000, real=bytes(50_000_000))
    assert_refused(run_pack(str(src), "-o", str(dest)), dest, "bomb.keras", "zip bomb")


def test_a_member_declaring_more_than_the_free_disk(tmp_path, dest, monkeypatch):
    src = tmp_path / "huge.keras"
    _zip_bomb(src, declared=4_000_000_000, real=bytes(1000))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**10, 10**10 - 10**6, 10**6))
    with pytest.raises(PackError, match="declares 4000000000 bytes"):
        pack(src, dest)
    assert dest.read_bytes() == OLD


def test_a_huge_config_json_is_refused_before_it_is_read(tmp_path, dest, monkeypatch):
    monkeypatch.setattr(sources, "MAX_JSON_BYTES", 1000)
    with pytest.raises(PackError, match="config.json is .* bytes, more than"):
        pack(DATA / "mlp_k3.keras", dest)
    assert dest.read_bytes() == OLD


def test_a_missing_source_exits_3(tmp_path, dest):
    result = run_pack(str(tmp_path / "nope.h5"), "-o", str(dest))
    assert result.returncode == 3
    assert_refused(result, dest, "nope.h5")


def test_packing_onto_the_source_itself_is_refused(tmp_path):
    src = tmp_path / "m.kwb"
    shutil.copy(DATA / "seed_tfk.h5", src)
    with pytest.raises(PackError, match="overwrite the source"):
        pack(src, src)
