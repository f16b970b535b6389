"""Reading kwbin files: ``open`` (zero-copy views) and ``load_file`` (copies)."""

from __future__ import annotations

import builtins
import errno
import mmap
import os
import stat
from typing import Any, Iterator, Union

import numpy as np

from . import checks
from . import format as fmt
from .errors import NotKwbinFile
from .records import Layer, TensorInfo

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, mmap.mmap]
TensorKey = Union[str, "tuple[str, str]"]


class _Columns:
    """The tensor table as Python lists, built on the first view: a view then costs ~1 us."""

    def __init__(self, tensors: np.ndarray):
        by_code = {d.code: (np.dtype(d.numpy), d.itemsize) for d in fmt.DTYPES}
        kinds = [by_code[code] for code in tensors["dtype"].tolist()]
        self.dtypes = [dtype for dtype, _ in kinds]
        self.counts = [n // size for n, (_, size) in zip(tensors["nbytes"].tolist(), kinds)]
        self.offsets = tensors["data_offset"].tolist()
        self.shapes = [tuple(shape[:ndim]) for shape, ndim in zip(tensors["shape"].tolist(), tensors["ndim"].tolist())]


class KwbinFile:
    """An open, fully checked kwbin file.

    Tensors come back as read-only numpy arrays viewing the file's memory map
    (or the caller's buffer): nothing is copied.  A view keeps the mapping
    alive, so it stays valid after ``close()``.
    """

    def __init__(self, buf: Any, keepalive: Any = None, name: str = "<memory>"):
        self._buf = buf
        self._keepalive = keepalive
        self.name = name
        self._parsed = checks.parse(memoryview(buf))
        h = self._parsed.header
        self.version = (h["version_major"], h["version_minor"])
        self.alignment = h["alignment"]
        self.metadata: dict[str, Any] = self._parsed.metadata
        self._layers: tuple[Layer, ...] | None = None
        self._tensors: tuple[TensorInfo, ...] | None = None
        self._by_weight: dict[tuple[str, str], int] | None = None
        self._columns: _Columns | None = None

    # --- context manager -----------------------------------------------------

    def __enter__(self) -> KwbinFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file.  Arrays still viewing it keep the mapping alive."""
        mapping, self._keepalive = self._keepalive, None
        # Drop our own views of the map first, or it could not be unmapped.
        self._buf = self._parsed = None  # type: ignore[assignment]
        if isinstance(mapping, mmap.mmap):
            _close_quietly(mapping)

    # --- listing ---------------------------------------------------------------

    @property
    def header(self) -> dict[str, int]:
        return dict(self._parsed.header)

    @property
    def closed(self) -> bool:
        return self._parsed is None

    def _live(self) -> checks.Parsed:
        if self._parsed is None:
            raise ValueError(f"kwbin file {self.name!r} is closed")
        return self._parsed

    @property
    def layers(self) -> tuple[Layer, ...]:
        self._live()
        if self._layers is None:
            self._layers = tuple(self._make_layer(i) for i in range(len(self._parsed.layers)))
        return self._layers

    @property
    def tensors(self) -> tuple[TensorInfo, ...]:
        self._live()
        if self._tensors is None:
            self._tensors = tuple(self._make_info(i) for i in range(len(self._parsed.tensors)))
        return self._tensors

    @property
    def user_metadata(self) -> dict[str, Any]:
        """The caller's own keys (``metadata=`` of ``save_file``)."""
        user = self.metadata.get("user", {})
        return user if isinstance(user, dict) else {}

    def keys(self) -> list[str]:
        return [n.decode("utf-8") for n in self._live().tensor_names]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._live().tensor_names)

    def __contains__(self, key: object) -> bool:
        try:
            self._index(key)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return True

    def __repr__(self) -> str:
        if self.closed:
            return f"<kwbin.KwbinFile {self.name!r} (closed)>"
        return (
            f"<kwbin.KwbinFile {self.name!r} v{self.version[0]}.{self.version[1]}: "
            f"{len(self._parsed.layers)} layers, {len(self)} tensors>"
        )

    # --- tensors ---------------------------------------------------------------

    def __getitem__(self, key: TensorKey) -> np.ndarray:
        """A tensor by full name, or by ``(layer name, weight name)``."""
        return self._view(self._index(key))

    def get(self, key: TensorKey, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def info(self, key: TensorKey) -> TensorInfo:
        return self.tensors[self._index(key)]

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        for i, name in enumerate(self.keys()):
            yield name, self._view(i)

    def verify(self) -> None:
        """Check every tensor's CRC-32 and padding; raise on the first bad one."""
        checks.verify(memoryview(self._buf), self._live().tensors, self.alignment)

    # --- internals -------------------------------------------------------------

    def _index(self, key: TensorKey) -> int:
        parsed = self._live()
        if isinstance(key, str):
            try:
                return parsed.tensor_index[key.encode("utf-8", "surrogatepass")]
            except KeyError:
                raise KeyError(key) from None
        if isinstance(key, tuple) and len(key) == 2:
            if self._by_weight is None:
                self._by_weight = {(t.layer, t.weight): t.index for t in self.tensors if t.layer is not None}
            try:
                return self._by_weight[key]
            except KeyError:
                raise KeyError(key) from None
        raise TypeError(f"tensor key must be a name or a (layer, weight) pair, not {key!r}")

    def _view(self, i: int) -> np.ndarray:
        if self._columns is None:
            self._columns = _Columns(self._live().tensors)
        c = self._columns
        array = np.frombuffer(self._buf, c.dtypes[i], c.counts[i], c.offsets[i]).reshape(c.shapes[i])
        array.flags.writeable = False
        return array

    def _string(self, offset: int, length: int) -> str:
        return self._parsed.strings[offset : offset + length].decode("utf-8")

    def _make_info(self, i: int) -> TensorInfo:
        rec = self._parsed.tensors[i]
        layer = int(rec["layer"])
        ndim = int(rec["ndim"])
        return TensorInfo(
            index=i,
            name=self._parsed.tensor_names[i].decode("utf-8"),
            layer=None if layer == fmt.NO_INDEX else self._parsed.layer_names[layer].decode("utf-8"),
            weight=self._string(int(rec["weight_offset"]), int(rec["weight_length"])),
            dtype=fmt.DTYPE_BY_CODE[int(rec["dtype"])].name,
            shape=tuple(rec["shape"][:ndim].tolist()),
            offset=int(rec["data_offset"]),
            nbytes=int(rec["nbytes"]),
            crc32=int(rec["crc32"]),
            source=self._string(int(rec["source_offset"]), int(rec["source_length"])),
        )

    def _make_layer(self, i: int) -> Layer:
        rec = self._parsed.layers[i]
        parent = int(rec["parent"])
        first, count = int(rec["first_tensor"]), int(rec["tensor_count"])
        names = self._parsed.tensor_names[first : first + count]
        return Layer(
            index=i,
            name=self._parsed.layer_names[i].decode("utf-8"),
            class_name=self._string(int(rec["class_offset"]), int(rec["class_length"])),
            parent=None if parent == fmt.NO_INDEX else self._parsed.layer_names[parent].decode("utf-8"),
            config=self._parsed.layer_configs[i],
            tensors=tuple(n.decode("utf-8") for n in names),
        )


def _close_quietly(mapping: mmap.mmap) -> None:
    try:
        mapping.close()
    except BufferError:
        pass  # arrays still view it; the mapping goes when the last one does


def _map_path(path: str | os.PathLike[str]) -> tuple[Any, Any]:
    """The file's bytes: a read-only memory map, or a plain read where mmap fails."""
    # O_NONBLOCK: opening a FIFO must not block before fstat refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(st.st_mode):
            raise NotKwbinFile(f"{os.fspath(path)} is not a regular file")
        if st.st_size == 0:
            return b"", None
        try:
            mapping = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            with builtins.open(os.dup(fd), "rb") as f:
                return f.read(), None
        return mapping, mapping
    finally:
        os.close(fd)


def open(source: Source) -> KwbinFile:  # noqa: A001 - the verb users expect
    """Open a kwbin file (a path, or bytes in memory) and check its structure.

    Raises a ``KwbinError`` subclass naming the first rule the bytes break,
    and ``OSError`` if the path cannot be read.
    """
    if not isinstance(source, (str, os.PathLike)):
        try:
            view = memoryview(source)  # bytes, bytearray, mmap, numpy arrays, ...
        except TypeError:
            raise TypeError(f"kwbin.open takes a path or a bytes-like object, not {type(source).__name__}") from None
        return KwbinFile(view.cast("B") if view.format != "B" or view.ndim != 1 else view)
    buf, mapping = _map_path(source)
    try:
        return KwbinFile(buf, mapping, name=os.fspath(source))
    except BaseException:
        if mapping is not None:
            _close_quietly(mapping)
        raise


def load_file(source: Source) -> dict[str, np.ndarray]:
    """All tensors as a dict of independent (copied, writable) arrays."""
    with open(source) as f:
        return {name: np.array(array) for name, array in f.items()}
