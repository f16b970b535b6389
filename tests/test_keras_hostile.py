"""Hostile Keras sources: `kwbin pack` reads nothing outside the source and refuses each by name.

The corpus is tests/data/hostile/ (written by make_hostile.py, listed in expected.tsv), plus the
cases too large to commit, written here.  Each runs `python -m kwbin pack` in a subprocess under
prlimit: 1 GiB of address space and no file larger than FILE_LIMIT, so a zip bomb or a huge
declared dataset shows as a resource failure, not as a slow test.  Every case must end with the
documented pack-error exit code, one `kwbin: error:` line holding its expected fragment, no
output file, an empty private TMPDIR, and no byte of the secret files next to it in any output.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import h5py
import numpy as np
import pytest

import kwbin
from kwbin.keras import PackError, pack
from kwbin.keras.h5safe import read_dataset
from kwbin.keras.sources import open_guarded

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
sys.path.insert(0, str(HOSTILE))
import make_hostile  # noqa: E402

EXIT_INVALID = 1  # the CLI's code for an invalid Keras file (a pack error)
MEMORY_LIMIT = 1 << 30
FILE_LIMIT = 32 << 20

CORPUS = [line.split("\t") for line in (HOSTILE / "expected.tsv").read_text().splitlines()]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """The corpus, the big cases and the secret files, in one folder packed from."""
    folder = tmp_path_factory.mktemp("hostile")
    for name, _ in CORPUS:
        shutil.copy(HOSTILE / name, folder / name)
    marker = f"SECRET-{uuid.uuid4().hex}".encode()
    make_hostile.write_secrets(folder, marker)
    big = make_hostile.big_cases(folder, folder)
    return folder, marker, big


def run_pack(folder: Path, name: str) -> tuple[subprocess.CompletedProcess, Path, Path]:
    out = folder / "out" / (name + ".kwb")
    out.parent.mkdir(exist_ok=True)
    tmp = folder / f"tmp-{name}"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    # prlimit rather than a preexec_fn: forking a process that has started threads is unsafe.
    cmd = ["prlimit", f"--as={MEMORY_LIMIT}", f"--fsize={FILE_LIMIT}",
           sys.executable, "-m", "kwbin", "pack", "-q", name, "-o", str(out)]  # fmt: skip
    result = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, timeout=600)
    return result, out, tmp


def assert_refused(folder: Path, marker: bytes, name: str, expected: str) -> None:
    result, out, tmp = run_pack(folder, name)
    stderr = result.stderr.decode("utf-8", "replace")
    lines = stderr.strip().splitlines()
    assert result.returncode == EXIT_INVALID, (result.returncode, stderr)
    assert len(lines) == 1 and re.match(r"kwbin: error: [^:]+: [a-z][a-z0-9_]*: ", lines[0]), stderr
    assert expected in lines[0], lines[0]
    assert not out.exists() and list(out.parent.iterdir()) == [], "no output file may be left"
    assert list(tmp.iterdir()) == [], "nothing may be left in TMPDIR"
    assert marker not in result.stdout + result.stderr


@pytest.mark.parametrize(("name", "expected"), CORPUS, ids=[name for name, _ in CORPUS])
def test_each_hostile_source_is_refused_by_name(workdir, name, expected):
    folder, marker, _ = workdir
    assert_refused(folder, marker, name, expected)


@pytest.mark.parametrize(
    "name",
    ["zip_bomb.keras", "huge_attribute.h5", "ext_storage_absolute.h5", "ext_link_absolute.h5",
     "virtual_absolute.h5", "ext_storage_absolute.keras"],
)  # fmt: skip
def test_big_and_absolute_cases_are_refused_by_name(workdir, name):
    folder, marker, big = workdir
    assert_refused(folder, marker, name, big[name])


def test_the_zip_bomb_is_what_it_claims(workdir):
    """4 GiB of zeros declared, a few MB stored, and zipfile inflates it to zeros (the first MiB)."""
    import zipfile

    folder, _, _ = workdir
    path = folder / "zip_bomb.keras"
    assert path.stat().st_size < 8 << 20
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("model.weights.h5")
        assert info.file_size == 4 << 30
        with z.open(info) as member:
            assert member.read(1 << 20) == bytes(1 << 20)


def test_the_corpus_is_what_make_hostile_writes(tmp_path):
    make_hostile.main(tmp_path)
    for name, _ in CORPUS:
        assert (tmp_path / name).read_bytes() == (HOSTILE / name).read_bytes(), name
    assert (tmp_path / "expected.tsv").read_text() == (HOSTILE / "expected.tsv").read_text()


# --- defence in depth: the open itself cannot reach outside the file ---------------------------


def test_plain_h5py_would_read_the_secret(workdir, monkeypatch):
    """The fixtures are real: h5py's default open follows all three into the secret."""
    folder, marker, _ = workdir
    monkeypatch.chdir(folder)
    for name in ("ext_storage.h5", "ext_link.h5", "virtual.h5"):
        with h5py.File(name, "r") as f:
            assert marker[:32] in f["dense/dense/kernel:0"][()].tobytes(), name


def test_the_guarded_open_does_not_follow_links_or_virtual_datasets(workdir, monkeypatch):
    folder, marker, _ = workdir
    monkeypatch.chdir(folder)
    for name in ("ext_link.h5", "virtual.h5", "ext_link_absolute.h5", "virtual_absolute.h5"):
        f = open_guarded(name, name)  # no check_file: only the open stands between us and the file
        try:
            try:
                data = f["dense/dense/kernel:0"][()]
            except KeyError:  # the external link resolves inside the same file, where /k is not
                continue
            assert marker[:16] not in data.tobytes(), name  # a virtual dataset reads fill values
        finally:
            f.close()


def test_every_read_checks_for_external_storage_again(workdir, monkeypatch):
    """HDF5 opens external raw storage by path with no hook; read_dataset refuses it at read time."""
    folder, _, _ = workdir
    monkeypatch.chdir(folder)
    for name in ("ext_storage.h5", "ext_storage_absolute.h5"):
        f = open_guarded(name, name)
        try:
            with pytest.raises(PackError, match="external file"):
                read_dataset(f["dense/dense/kernel:0"])
        finally:
            f.close()


# --- what is not hostile still packs ------------------------------------------------------------


def test_scalar_bool_and_hard_linked_datasets_pack(tmp_path):
    src = tmp_path / "ok.h5"
    with h5py.File(src, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        group = f.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0", b"dense/count:0", b"dense/mask:0", b"dense/same:0"]
        group["dense/kernel:0"] = np.arange(6, dtype="f4").reshape(2, 3)
        group["dense/count:0"] = np.int64(7)
        group["dense/mask:0"] = np.array([True, False])
        group["dense/same:0"] = group["dense/kernel:0"]  # a hard link: the same dataset twice
        f["loop"] = f["/"]  # a hard link back to the root: walked once, no endless loop
    out = pack(src, tmp_path / "ok.kwb")
    with kwbin.open(out) as packed:
        assert packed["dense", "count"].shape == () and int(packed["dense", "count"]) == 7
        assert packed["dense", "mask"].tolist() == [True, False]
        assert packed["dense", "same"].tolist() == packed["dense", "kernel"].tolist()


def test_a_compressed_dataset_within_the_ratio_packs(tmp_path):
    src = tmp_path / "gz.h5"
    values = np.random.default_rng(1).standard_normal((256, 64)).astype("f4")
    with h5py.File(src, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        group = f.create_group("dense")
        group.attrs["weight_names"] = [b"dense/kernel:0"]
        group.create_dataset("dense/kernel:0", data=values, compression="gzip", chunks=(32, 64))
    with kwbin.open(pack(src, tmp_path / "gz.kwb")) as packed:
        assert np.array_equal(packed["dense", "kernel"], values)
