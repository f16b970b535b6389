"""Opening what users hand to ``kwbin pack``: HDF5 files, ``.keras`` zips, shard indexes.

Everything is read with h5py, zipfile and json only.  A ``.keras`` member is
read in place when stored uncompressed (Keras writes them so) and extracted
to a temporary file otherwise, never past its declared size, so a zip bomb
cannot fill the disk or the memory.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import zipfile
import zlib
from typing import Any, Iterator

import h5py

from ..jsontext import JsonTextError, parse_object
from .errors import PackError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
#: config.json / metadata.json / architecture files larger than this are refused.
MAX_JSON_BYTES = 256 << 20


def sniff(path: str) -> str:
    """'hdf5', 'zip' or 'json', from the first bytes; PackError otherwise."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except IsADirectoryError:
        raise PackError(f"{path}: is a directory, not a Keras file") from None
    if head.startswith(ZIP_MAGIC):  # before the HDF5 search: a .keras may hold one at 512 * 2**k
        return "zip"
    if head == HDF5_MAGIC or h5py.is_hdf5(path):  # HDF5 may follow a user block
        return "hdf5"
    if head.lstrip()[:1] == b"{":
        return "json"
    if head.startswith(b"\x89KWB"):
        raise PackError(f"{path}: is already a kwbin file")
    raise PackError(
        f"{path}: not a Keras file: expected HDF5 (.h5), a .keras zip or a .weights.json index, "
        f"found bytes {head.hex(' ') or '(empty file)'}"
    )


def read_json_file(path: str, what: str) -> dict[str, Any]:
    try:
        size = os.path.getsize(path)
        if size > MAX_JSON_BYTES:
            raise PackError(f"{path}: {what} is {size} bytes, more than the {MAX_JSON_BYTES >> 20} MiB allowed")
        with open(path, "rb") as f:
            return parse_json(f.read(), f"{path}: {what}")
    except OSError as exc:
        raise PackError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None


def parse_json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        return parse_object(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PackError(f"{what} is not UTF-8") from None
    except JsonTextError as exc:
        raise PackError(f"{what} is not a JSON object: {exc}") from None


def open_h5(source: Any, name: str) -> h5py.File:
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as exc:
        raise PackError(f"{name}: not a readable HDF5 file ({_h5_reason(exc)})") from None


def _h5_reason(exc: BaseException) -> str:
    text = str(exc)
    if "truncated" in text:
        return "truncated"
    return text.split("(")[0].strip() or type(exc).__name__


class _MemberView(io.RawIOBase):
    """A read-only, seekable window onto a stored (uncompressed) zip member."""

    def __init__(self, path: str, start: int, size: int):
        self._file = open(path, "rb")
        self._start, self._size, self._pos = start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), max(0, self._size - self._pos))
        if want == 0:
            return 0
        # One positioned read straight into h5py's buffer: no seek, no copy.
        got = os.preadv(self._file.fileno(), [memoryview(buffer).cast("B")[:want]], self._start + self._pos)
        self._pos += got
        return got

    def close(self) -> None:
        self._file.close()
        super().close()


def _stored_member_start(path: str, info: zipfile.ZipInfo) -> int:
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)
    if len(local) < 30 or not local.startswith(ZIP_MAGIC):
        raise PackError(f"{path}: member {info.filename} has a damaged local header")
    name_len = int.from_bytes(local[26:28], "little")
    extra_len = int.from_bytes(local[28:30], "little")
    return info.header_offset + 30 + name_len + extra_len


class KerasArchive:
    """A ``.keras`` file: config.json, metadata.json and model.weights.h5."""

    def __init__(self, path: str):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise PackError(f"{path}: not a readable zip archive ({exc})") from None
        self._temp: str | None = None

    def close(self) -> None:
        self.zip.close()
        if self._temp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._temp)

    def _info(self, member: str) -> zipfile.ZipInfo:
        try:
            return self.zip.getinfo(member)
        except KeyError:
            raise PackError(
                f"{self.path}: the archive has no {member} (a .keras file holds config.json, "
                f"metadata.json and model.weights.h5)"
            ) from None

    def read_json(self, member: str) -> dict[str, Any]:
        info = self._info(member)
        if info.file_size > MAX_JSON_BYTES:
            raise PackError(f"{self.path}: {member} is {info.file_size} bytes, more than {MAX_JSON_BYTES >> 20} MiB")
        with self._member(info) as f:
            raw = self._read(f, info, MAX_JSON_BYTES + 1)
        if len(raw) > info.file_size:
            raise PackError(f"{self.path}: {member} inflates past its declared size (a zip bomb?)")
        return parse_json(raw, f"{self.path}: {member}")

    def has(self, member: str) -> bool:
        return member in self.zip.namelist()

    def weights(self) -> tuple[h5py.File, str, int]:
        """model.weights.h5 opened, and the file and offset its bytes start at."""
        info = self._info("model.weights.h5")
        name = f"{self.path}: model.weights.h5"
        if info.compress_type == zipfile.ZIP_STORED:
            start = _stored_member_start(self.path, info)
            if start + info.file_size > os.path.getsize(self.path):
                raise PackError(f"{name}: the archive is truncated")
            return open_h5(_MemberView(self.path, start, info.file_size), name), self.path, start
        temp = self._extract(info)
        return open_h5(temp, name), temp, 0

    def _extract(self, info: zipfile.ZipInfo) -> str:
        folder = tempfile.gettempdir()
        free = shutil.disk_usage(folder).free
        if info.file_size > free:
            raise PackError(
                f"{self.path}: {info.filename} declares {info.file_size} bytes, more than the "
                f"{free} free in {folder} (a zip bomb?)"
            )
        fd, self._temp = tempfile.mkstemp(suffix=".weights.h5")
        left = info.file_size
        with os.fdopen(fd, "wb") as out, self._member(info) as member:
            while True:
                chunk = self._read(member, info, min(1 << 24, left + 1))
                if not chunk:
                    break
                if len(chunk) > left:
                    raise PackError(f"{self.path}: {info.filename} inflates past its declared size (a zip bomb?)")
                out.write(chunk)
                left -= len(chunk)
        return self._temp

    def _member(self, info: zipfile.ZipInfo) -> Any:
        try:
            return self.zip.open(info)
        except (zipfile.BadZipFile, NotImplementedError, OSError) as exc:
            raise PackError(f"{self.path}: cannot open {info.filename}: {exc}") from None

    def _read(self, member: Any, info: zipfile.ZipInfo, size: int) -> bytes:
        # zipfile stops at the declared size and then checks the CRC: a member
        # that inflates further (a zip bomb) or is damaged fails here.
        try:
            return member.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise PackError(
                f"{self.path}: {info.filename} does not match its declared size and CRC-32 "
                f"(a damaged archive or a zip bomb): {exc}"
            ) from None


class ShardedWeights:
    """Keras 3 ``.weights.json`` + shards, read as one tree of groups."""

    def __init__(self, index_path: str):
        self.path = index_path
        index = read_json_file(index_path, "shard index")
        weight_map = index.get("weight_map")
        if not isinstance(weight_map, dict):
            raise PackError(f"{index_path}: shard index has no 'weight_map' object")
        folder = os.path.dirname(os.path.abspath(index_path))
        names: list[str] = []
        for shards in weight_map.values():
            for shard in shards if isinstance(shards, list) else [shards]:
                if not isinstance(shard, str) or os.path.basename(shard) != shard:
                    raise PackError(f"{index_path}: shard name {shard!r} is not a plain file name")
                if shard not in names:
                    names.append(shard)
        self.files = [open_h5(os.path.join(folder, n), os.path.join(folder, n)) for n in names]

    def close(self) -> None:
        for f in self.files:
            f.close()


@contextlib.contextmanager
def closing_all(*things: Any) -> Iterator[None]:
    try:
        yield
    finally:
        for thing in things:
            if thing is not None:
                thing.close()
