"""The Python reader's API around open: verify-on-load, file objects, user metadata, named checksum errors."""

from __future__ import annotations

import gzip
import io
import mmap
import os
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin import BadPadding, TensorChecksumMismatch

TENSORS = {
    "dense/kernel": np.arange(12, dtype=np.float32).reshape(4, 3),
    "dense/bias": np.array([0.5, -1.0, 2.0], np.float32),
    "embedding": np.arange(6, dtype=np.int16),
}


def _save(tmp_path: Path, **kwargs) -> Path:
    path = tmp_path / "model.kwb"
    kwbin.save_file(TENSORS, path, **kwargs)
    return path


def _corrupt_payload(path: Path, name: str, where: str = "data") -> None:
    """Flip one byte of a tensor's data (its CRC-32 then fails), or of its padding."""
    with kwbin.open(path) as f:
        info = f.info(name)
    at = info.offset if where == "data" else info.offset + info.nbytes
    data = bytearray(path.read_bytes())
    data[at] ^= 0x40
    path.write_bytes(bytes(data))


# ---------------------------------------------------------------------------
# verify=True
# ---------------------------------------------------------------------------


def test_a_damaged_payload_is_refused_at_open_with_verify_and_read_lazily_without(tmp_path):
    path = _save(tmp_path)
    _corrupt_payload(path, "dense/bias")
    with pytest.raises(TensorChecksumMismatch, match="dense/bias"):
        kwbin.open(path, verify=True)
    with kwbin.open(path) as f:  # the default still opens: tensor bytes are not read at open
        assert f["dense/kernel"].tolist() == TENSORS["dense/kernel"].tolist()
        assert f["dense/bias"].tolist() != TENSORS["dense/bias"].tolist()
        with pytest.raises(TensorChecksumMismatch):
            f.verify()


def test_load_file_with_verify_refuses_a_damaged_payload(tmp_path):
    path = _save(tmp_path)
    _corrupt_payload(path, "embedding")
    with pytest.raises(TensorChecksumMismatch, match="embedding"):
        kwbin.load_file(path, verify=True)
    assert kwbin.load_file(path)["dense/bias"].tolist() == TENSORS["dense/bias"].tolist()


def test_verify_true_accepts_a_sound_file_from_every_kind_of_source(tmp_path):
    path = _save(tmp_path)
    data = path.read_bytes()
    with open(path, "rb") as fh:
        for source in (path, str(path), data, bytearray(data), memoryview(data), io.BytesIO(data), fh):
            with kwbin.open(source, verify=True) as f:
                assert f["dense/kernel"].tolist() == TENSORS["dense/kernel"].tolist()
            assert sorted(kwbin.load_file(source, verify=True)) == sorted(TENSORS)


def test_verify_at_open_refuses_damaged_padding_in_memory(tmp_path):
    path = _save(tmp_path)
    _corrupt_payload(path, "dense/kernel", where="padding")
    with pytest.raises(BadPadding, match="dense/kernel"):
        kwbin.open(path.read_bytes(), verify=True)


# ---------------------------------------------------------------------------
# Checksum errors name the tensor
# ---------------------------------------------------------------------------


def test_a_checksum_error_names_the_tensor_by_index_and_name(tmp_path):
    path = _save(tmp_path)
    _corrupt_payload(path, "dense/bias")
    with kwbin.open(path) as f, pytest.raises(TensorChecksumMismatch) as caught:
        f.verify()
    message = str(caught.value)
    assert message.startswith("tensor 1 'dense/bias': CRC-32 is "), message
    assert caught.value.code == "tensor_checksum"


def test_a_padding_error_names_the_tensor(tmp_path):
    path = _save(tmp_path)
    _corrupt_payload(path, "embedding", where="padding")
    with kwbin.open(path) as f, pytest.raises(BadPadding, match=r"^tensor 2 'embedding': padding"):
        f.verify()


def test_the_command_line_names_the_damaged_tensor(tmp_path):
    import subprocess
    import sys

    path = _save(tmp_path)
    _corrupt_payload(path, "dense/kernel")
    result = subprocess.run([sys.executable, "-m", "kwbin", "verify", str(path)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 1
    assert "tensor_checksum" in result.stderr and "'dense/kernel'" in result.stderr


# ---------------------------------------------------------------------------
# Binary file objects
# ---------------------------------------------------------------------------


def test_an_open_binary_file_is_read_through_a_memory_map(tmp_path):
    path = _save(tmp_path)
    with open(path, "rb") as fh:
        fh.seek(17)
        with kwbin.open(fh) as f:
            assert f.name == str(path)
            kernel = f["dense/kernel"]
            assert kernel.tolist() == TENSORS["dense/kernel"].tolist()
            assert isinstance(f._keepalive, mmap.mmap)  # zero-copy, as for a path
        assert fh.tell() == 17  # the caller's position is the caller's
    assert kernel.tolist() == TENSORS["dense/kernel"].tolist()  # the view outlives both


def test_an_unbuffered_file_and_a_read_write_file_are_accepted(tmp_path):
    path = _save(tmp_path)
    for mode in ("rb", "r+b"):
        with open(path, mode, buffering=0 if mode == "rb" else -1) as fh, kwbin.open(fh) as f:
            assert f["embedding"].tolist() == TENSORS["embedding"].tolist()


def test_a_bytesio_is_read_whole_from_its_start(tmp_path):
    data = _save(tmp_path).read_bytes()
    stream = io.BytesIO(data)
    stream.seek(5)
    with kwbin.open(stream) as f:
        assert f.name == "<BytesIO>"
        assert f["dense/bias"].tolist() == TENSORS["dense/bias"].tolist()
    assert stream.tell() == 5
    stream.write(b"x")  # kwbin keeps no export of the BytesIO's buffer


def test_a_wrapper_with_a_file_descriptor_is_read_not_mapped(tmp_path):
    # gzip's fileno() is the compressed file's: mapping it would read the wrong bytes.
    data = _save(tmp_path).read_bytes()
    packed = tmp_path / "model.kwb.gz"
    with gzip.open(packed, "wb") as out:
        out.write(data)
    with gzip.open(packed, "rb") as fh, kwbin.open(fh, verify=True) as f:
        assert f["dense/kernel"].tolist() == TENSORS["dense/kernel"].tolist()


def test_a_stream_that_cannot_seek_is_read_to_its_end(tmp_path):
    data = _save(tmp_path).read_bytes()
    read_fd, write_fd = os.pipe()
    assert len(data) < 60000  # fits in the pipe's buffer: the write cannot block
    with os.fdopen(write_fd, "wb") as w:
        w.write(data)
    with os.fdopen(read_fd, "rb") as r, kwbin.open(r) as f:
        assert f["embedding"].tolist() == TENSORS["embedding"].tolist()


def test_a_damaged_file_object_gives_the_named_error(tmp_path):
    data = bytearray(_save(tmp_path).read_bytes())
    data[0] ^= 1
    with pytest.raises(kwbin.NotKwbinFile):
        kwbin.open(io.BytesIO(bytes(data)))


def test_file_objects_that_cannot_give_bytes_are_refused_clearly(tmp_path):
    path = _save(tmp_path)
    with open(path, encoding="latin-1") as text, pytest.raises(TypeError, match="text mode"):
        kwbin.open(text)
    with open(tmp_path / "w.kwb", "wb") as out, pytest.raises(io.UnsupportedOperation, match="not open for reading"):
        kwbin.open(out)

    class Strange:
        def read(self, size=-1):
            return "not bytes"

    with pytest.raises(TypeError, match="not bytes"):
        kwbin.open(Strange())


# ---------------------------------------------------------------------------
# User metadata
# ---------------------------------------------------------------------------

USER = {"note": "hi", "epochs": 12, "nested": {"lr": 0.001, "tags": ["a", "é"]}, "none": None}


def test_user_metadata_is_exactly_the_dict_given_to_save_file_and_save(tmp_path):
    path = _save(tmp_path, metadata=USER)
    with kwbin.open(path) as f:
        assert f.user_metadata == USER
        assert list(f.user_metadata) == list(USER)  # key order kept
        assert f.metadata["user"] == USER and f.metadata["producer"] == "kwbin"
    with kwbin.open(kwbin.save(TENSORS, metadata=USER)) as f:
        assert f.user_metadata == USER


def test_user_metadata_of_a_file_saved_without_any_is_empty(tmp_path):
    with kwbin.open(_save(tmp_path)) as f:
        assert f.user_metadata == {}
        assert "user" not in f.metadata


def test_writer_metadata_is_top_level_and_user_metadata_comes_from_its_user_key(tmp_path):
    path = tmp_path / "w.kwb"
    with kwbin.Writer(path, metadata={"run": 3, "user": USER}) as w:
        w.add_tensor("t", np.zeros(2, np.float32))
    with kwbin.open(path) as f:
        assert f.metadata["run"] == 3
        assert f.user_metadata == USER
    with kwbin.Writer(path, metadata={"run": 4}) as w:
        w.add_tensor("t", np.zeros(2, np.float32))
    with kwbin.open(path) as f:
        assert f.metadata["run"] == 4 and f.user_metadata == {}
