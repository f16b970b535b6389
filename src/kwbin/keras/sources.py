"""Opening what users hand to ``kwbin pack``: HDF5 files, ``.keras`` zips, shard indexes.

Everything is read with h5py, zipfile and json only.  Every HDF5 source is
opened through h5py's file-object driver on a read-only window of one file
(``open_h5``), so HDF5 has no other file to read from, and is checked by
``h5safe.check_file`` before anything in it is read.

A ``.keras`` archive is refused if any member name appears twice, is
absolute or has a ``..`` component, or if a member it reads is encrypted.
``model.weights.h5`` is read in place when stored uncompressed (Keras
writes it so).  A compressed one is extracted to a temporary file in
``TMPDIR``, and only after these checks, so that a zip bomb cannot fill the
disk: its declared size must fit the free space and be at most
``MAX_INFLATE_RATIO`` times its compressed size (or ``INFLATE_FLOOR``); its
first bytes must hold an HDF5 superblock, whose end-of-file address bounds
what is written (bytes after it are inflated, to check the CRC-32, but not
written).  The temporary file therefore never exceeds
``max(INFLATE_FLOOR, MAX_INFLATE_RATIO * compressed size)`` bytes, and is
removed when the archive is closed.  JSON members are read into memory only
up to ``MAX_JSON_BYTES``.
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
from .h5safe import check_file

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
#: config.json / metadata.json / architecture files larger than this are refused.
MAX_JSON_BYTES = 256 << 20
#: A compressed model.weights.h5 may inflate to at most this many times its compressed size ...
MAX_INFLATE_RATIO = 100
#: ... or to this many bytes, whichever is larger.
INFLATE_FLOOR = 16 << 20
#: The HDF5 superblock is looked for at 0, 512, 1024, ... below this offset of an extracted member.
SUPERBLOCK_SEARCH = 64 << 10


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


class GuardedFile(h5py.File):
    """An HDF5 file read through one window of one file; closing it closes the window."""

    view: _MemberView
    #: Every dataset, opened and checked by ``open_h5``, by its first path ("/a/b").
    checked: dict[str, Any] = {}

    def dataset(self, path: str) -> h5py.Dataset | None:
        """The checked dataset at ``path`` without opening it again, or None if not one of them."""
        dsid = self.checked.get(path)
        return None if dsid is None else h5py.Dataset(dsid)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.view.close()


def open_guarded(path: str, name: str, start: int = 0, size: int | None = None) -> GuardedFile:
    """Open, without checking, bytes ``start`` to ``start + size`` of ``path`` as HDF5.

    The file-object driver gets a window onto this one file: HDF5 reads
    nothing else through it, so an external link or a virtual dataset can
    only resolve inside the same file.
    """
    try:
        view = _MemberView(path, start, os.path.getsize(path) - start if size is None else size)
    except OSError as exc:
        raise PackError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        f = GuardedFile(view, "r")
    except (OSError, ValueError) as exc:
        view.close()
        raise PackError(f"{name}: not a readable HDF5 file ({_h5_reason(exc)})") from None
    f.view = view
    return f


def open_h5(path: str, name: str, start: int = 0, size: int | None = None) -> GuardedFile:
    """``open_guarded``, then every link and dataset checked (``h5safe.check_file``)."""
    f = open_guarded(path, name, start, size)
    try:
        f.checked = check_file(f, name, f.view.size)
    except BaseException:
        f.close()
        raise
    return f


def _h5_reason(exc: BaseException) -> str:
    text = str(exc)
    if "truncated" in text:
        return "truncated"
    return text.split("(")[0].strip() or type(exc).__name__


class _MemberView(io.RawIOBase):
    """A read-only, seekable window onto one file (or a stored zip member in it), for h5py's driver.

    HDF5 reads its metadata in many small pieces (about eight per dataset),
    and each costs a call from the driver into Python: small reads are
    served from one cached block read ahead, so that most need no system call.
    """

    BLOCK = 64 << 10  # read ahead this much ...
    SMALL = 4 << 10  # ... for a read of at most this many bytes

    def __init__(self, path: str, start: int, size: int):
        self._file = open(path, "rb")
        self._fd = self._file.fileno()
        self._start, self._size, self._pos = start, size, 0
        self._block = memoryview(b"")
        self._block_pos = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:  # the driver's only call: one branch, no table
            self._pos = max(0, offset)
        else:
            base = {io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
            self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        pos = self._pos
        want = min(len(buffer), self._size - pos)
        if want <= 0:
            return 0
        target = memoryview(buffer).cast("B")
        if want > self.SMALL:  # one positioned read straight into h5py's buffer
            got = os.preadv(self._fd, [target[:want]], self._start + pos)
        else:
            at = pos - self._block_pos
            if at < 0 or at + want > len(self._block):
                self._block = memoryview(os.pread(self._fd, min(self.BLOCK, self._size - pos), self._start + pos))
                self._block_pos, at = pos, 0
            got = min(want, len(self._block) - at)
            target[:got] = self._block[at : at + got]
        self._pos = pos + got
        return got

    def close(self) -> None:
        self._block.release()
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
        try:
            _check_names(path, [info.filename for info in self.zip.infolist()])
        except PackError:
            self.zip.close()
            raise

    def close(self) -> None:
        self.zip.close()
        if self._temp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._temp)

    def _info(self, member: str) -> zipfile.ZipInfo:
        try:
            info = self.zip.getinfo(member)
        except KeyError:
            raise PackError(
                f"{self.path}: the archive has no {member} (a .keras file holds config.json, "
                f"metadata.json and model.weights.h5)"
            ) from None
        if info.flag_bits & 0x1:
            raise PackError(f"{self.path}: {member} is encrypted (Keras never encrypts; kwbin takes no password)")
        return info

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
            return open_h5(self.path, name, start, info.file_size), self.path, start
        temp = self._extract(info)
        return open_h5(temp, name), temp, 0

    def _extract(self, info: zipfile.ZipInfo) -> str:
        """Inflate a compressed member to a temporary file, bounded before a byte is written."""
        folder = tempfile.gettempdir()
        free = shutil.disk_usage(folder).free
        if info.file_size > free:
            raise PackError(
                f"{self.path}: {info.filename} declares {info.file_size} bytes, more than the "
                f"{free} free in {folder} (a zip bomb?)"
            )
        allowed = max(INFLATE_FLOOR, MAX_INFLATE_RATIO * info.compress_size)
        if info.file_size > allowed:
            raise PackError(
                f"{self.path}: {info.filename} declares {info.file_size} bytes from {info.compress_size} "
                f"compressed, more than {MAX_INFLATE_RATIO} to 1 (a zip bomb?)"
            )
        with self._member(info) as member:
            head = self._read(member, info, min(info.file_size, SUPERBLOCK_SEARCH))
            left = _hdf5_end(head, f"{self.path}: {info.filename}", info.file_size) - len(head)
            fd, self._temp = tempfile.mkstemp(suffix=".weights.h5")
            with os.fdopen(fd, "wb") as out:
                out.write(head)
                while left > 0:
                    chunk = self._read(member, info, min(1 << 24, left))
                    if not chunk:
                        raise PackError(f"{self.path}: {info.filename} ends before its HDF5 end-of-file address")
                    out.write(chunk)
                    left -= len(chunk)
            # Bytes past the HDF5 end are not written, but inflated (within the bound
            # checked above) and dropped, so that zipfile checks the CRC-32.
            while self._read(member, info, 1 << 24):
                pass
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


def _check_names(path: str, names: list[str]) -> None:
    """Refuse names that appear twice (which one is meant?) or that point outside the archive."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise PackError(f"{path}: the archive holds {name} twice")
        seen.add(name)
        parts = name.replace("\\", "/").split("/")
        if name.startswith("/") or ".." in parts or "\x00" in name or (parts[0][1:2] == ":"):
            raise PackError(f"{path}: the archive has an unsafe member name {name!r} (absolute or with '..')")


def _hdf5_end(head: bytes, name: str, size: int) -> int:
    """Where the HDF5 file whose first bytes are ``head`` ends, from its superblock; PackError if none."""
    for base in [0] + [512 << k for k in range(12)]:
        if base + 8 > len(head):
            break
        if head[base : base + 8] != HDF5_MAGIC:
            continue
        version = head[base + 8] if base + 8 < len(head) else -1
        # Offsets of "size of offsets" and of the end-of-file address (after the base and one more address).
        layout = {0: (13, 24), 1: (13, 28), 2: (9, 12), 3: (9, 12)}.get(version)
        if layout is None:
            return size  # a newer superblock: the declared size (bounded by the ratio) is the bound
        width = head[base + layout[0]] if base + layout[0] < len(head) else 0
        at = base + layout[1] + 2 * width
        if width not in (2, 4, 8) or at + width > len(head):
            raise PackError(f"{name}: damaged HDF5 superblock")
        # The library writes the end of file as an absolute length, the format
        # says relative to the base address: allow the larger; HDF5 itself
        # refuses a file shorter than its end.
        start = int.from_bytes(head[base + layout[1] : base + layout[1] + width], "little")
        return min(size, start + int.from_bytes(head[at : at + width], "little"))
    raise PackError(f"{name}: not an HDF5 file (no superblock in its first {len(head)} bytes)")


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
        self.files: list[GuardedFile] = []
        self.paths = [os.path.join(folder, n) for n in names]
        try:
            for path in self.paths:
                self.files.append(open_h5(path, path))
        except BaseException:
            self.close()
            raise

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
