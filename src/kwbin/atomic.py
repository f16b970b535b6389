"""Replace a file only on success: temp file beside it, fsync, rename, fsync dir.

An interrupted write (exception, full disk, SIGKILL, power loss) leaves the
destination as it was.  After an ordinary error the temporary file is removed;
after SIGKILL it may stay behind, recognisable by its name
``.<destination>.<random>.kwbin-tmp``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import sys
import tempfile
from typing import Any, BinaryIO

TEMP_SUFFIX = ".kwbin-tmp"


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no way to read it without setting it
    os.umask(mask)
    return mask


def temp_file_beside(path: str, kind: str = "") -> tuple[BinaryIO, str]:
    """A new, empty, exclusively created temporary file in ``path``'s folder."""
    folder, base = os.path.split(path)
    fd, temp = tempfile.mkstemp(prefix=f".{base}.{kind}", suffix=TEMP_SUFFIX, dir=folder or ".")
    return os.fdopen(fd, "w+b"), temp


def destination(path: str | os.PathLike[str]) -> str:
    """The file a write to ``path`` must replace: symbolic links followed.

    Replacing the link itself would turn ``/dev/stdout`` or a link into a
    shared model folder into a plain file; writing beside the link's target
    keeps the link.  An existing destination must be a regular file: a
    folder, device, FIFO or socket is refused before anything is written.
    """
    real = os.path.realpath(os.fspath(path))
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return real
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "expected a file, found a folder", os.fspath(path))
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "expected a regular file or a new name, found a special file", os.fspath(path))
    return real


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class AtomicFile:
    """A writable temporary file that ``commit()`` renames onto ``path``."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = destination(path)
        self.file, self.temp = temp_file_beside(self.path)

    def commit(self) -> None:
        try:
            self.file.flush()
            try:
                mode = os.stat(self.path).st_mode & 0o7777
            except FileNotFoundError:
                mode = 0o666 & ~_umask()
            os.fchmod(self.file.fileno(), mode)
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.temp, self.path)
        except BaseException:
            self.discard()
            raise
        _fsync_folder(os.path.dirname(self.path))

    def discard(self) -> None:
        try:
            self.file.close()
        finally:
            remove_quietly(self.temp)


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); not possible everywhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _load_sync_file_range() -> Any:
    """libc's ``sync_file_range`` (Linux only), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2  # start writing dirty pages; do not wait


class Writeback:
    """Starts the disk writing each stretch of a file as soon as it is written.

    Left alone, Linux writes a new file's pages only at the final fsync (or
    once gigabytes are dirty), so the disk idles while the file is produced
    and then the writer waits for all of it.  Asking for writeback every few
    megabytes overlaps the two: a 1 GiB file written and fsynced took 0.39 s
    instead of 0.65 s here.  It is only a hint; fsync still guarantees
    durability, and where the call is missing nothing changes.
    """

    STEP = 8 << 20
    #: Writeback stops short of the last partly written 2 MiB: writing into a
    #: page (or a large folio, up to 2 MiB) that is under writeback waits for
    #: the disk, which made some packs 2-3x slower.
    GRANULE = 2 << 20

    def __init__(self, file: BinaryIO, start: int = 0):
        self._file = file
        self._done = start

    def written_to(self, position: int) -> None:
        """Everything before ``position`` has been written to the file."""
        end = position - position % self.GRANULE
        if _sync_file_range is None or end - self._done < self.STEP:
            return
        self._file.flush()
        _sync_file_range(self._file.fileno(), self._done, end - self._done, _SYNC_FILE_RANGE_WRITE)
        self._done = end


def copy_range(src: BinaryIO, dst: BinaryIO, count: int) -> None:
    """Append ``count`` bytes from ``src``'s start to ``dst``, in the kernel where possible."""
    src.flush()
    dst.flush()
    src.seek(0)
    sfd, dfd = src.fileno(), dst.fileno()
    left = count
    copier = getattr(os, "copy_file_range", None)
    writeback = Writeback(dst, dst.tell())
    while left and copier is not None:
        try:
            done = copier(sfd, dfd, min(left, 4 * Writeback.STEP))
        except OSError:
            break  # e.g. across file systems on old kernels: fall back below
        if done == 0:
            raise OSError(f"copy ended {left} bytes early")
        left -= done
        writeback.written_to(os.lseek(dfd, 0, os.SEEK_CUR))
    if left:
        src.seek(count - left)
        dst.seek(0, os.SEEK_END)
        while left:
            chunk = src.read(min(left, 1 << 24))
            if not chunk:
                raise OSError(f"copy ended {left} bytes early")
            dst.write(chunk)
            left -= len(chunk)
    dst.seek(0, os.SEEK_END)
