"""Reading kwbin files: ``open`` (zero-copy views) and ``load_file`` (copies)."""

from __future__ import annotations

import builtins
import errno
import io
import mmap
import os
import re
import stat
from typing import Any, Iterator, Union

import numpy as np

from . import checks
from . import format as fmt
from .errors import BadPadding, NotKwbinFile, TensorChecksumMismatch
from .records import Layer, TensorInfo, tensor_infos

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, mmap.mmap, "io.IOBase"]
TensorKey = Union[str, "tuple[str, str]"]

#: Per dtype code, built once: the numpy dtype of a view, its item size, its
#: name (object arrays: one fancy index gives a whole column of them).
_NUMPY_DTYPE = {d.code: np.dtype(d.numpy) for d in fmt.DTYPES}
_NUMPY_DTYPES = np.array([_NUMPY_DTYPE.get(code) for code in range(256)], object)
_DTYPE_NAME = {d.code: d.name for d in fmt.DTYPES}
_DTYPE_NAMES = np.array([_DTYPE_NAME.get(code) for code in range(256)], object)
_ITEMSIZE = np.ones(256, np.uint64)
for _d in fmt.DTYPES:
    _ITEMSIZE[_d.code] = _d.itemsize


def _shape_tuples(dims: np.ndarray, count: int) -> list[tuple[int, ...]]:
    """The rows of ``dims`` as tuples (zip builds them from its columns in C), equal ones shared.

    Models repeat a few shapes many times.  Keeping one tuple per distinct
    shape frees the copies at once, so the garbage collector, which runs
    every 700 new live container objects, has about half as many records'
    worth of objects to scan: 10,000 shapes take 0.5 ms instead of 1.1 ms.
    """
    if not dims.shape[1]:
        return [()] * count
    seen: dict[tuple[int, ...], tuple[int, ...]] = {}
    return [seen.setdefault(shape, shape) for shape in zip(*dims.T.tolist())]


def _shapes(tensors: np.ndarray) -> list[tuple[int, ...]]:
    """Every record's shape as a tuple: one pass per distinct ndim."""
    ndim = tensors["ndim"]
    if not len(ndim):
        return []
    dims = tensors["shape"]
    low, high = int(ndim.min()), int(ndim.max())
    if low == high:
        return _shape_tuples(dims[:, :low], len(ndim))
    out: list[tuple[int, ...]] = [()] * len(ndim)
    for k in range(low, high + 1):
        rows = np.flatnonzero(ndim == k)
        for i, shape in zip(rows.tolist(), _shape_tuples(dims[rows, :k], rows.size)):
            out[i] = shape
    return out


class _Views:
    """What a view needs, for every tensor, as Python lists (one numpy pass each)."""

    def __init__(self, tensors: np.ndarray):
        codes = tensors["dtype"]
        self.dtypes = _NUMPY_DTYPES[codes].tolist()
        self.counts = (tensors["nbytes"] // _ITEMSIZE[codes]).tolist()
        self.offsets = tensors["data_offset"].tolist()
        self.shapes = _shapes(tensors)


def _strings_at(table: bytes, offsets: np.ndarray, lengths: np.ndarray) -> list[str]:
    """The strings of checked (offset, length) references, each distinct one decoded once.

    Weight names repeat ("kernel", "bias") and unused references are empty:
    decoding per distinct reference allocates little more than the answer.
    """
    if not lengths.any():
        return [""] * len(lengths)
    keys = (offsets.astype(np.uint64) << np.uint64(32)) | lengths.astype(np.uint64)
    distinct, which = np.unique(keys, return_inverse=True)
    starts = (distinct >> np.uint64(32)).tolist()
    ends = (distinct & np.uint64(0xFFFFFFFF)) + (distinct >> np.uint64(32))
    texts = [table[start:end].decode("utf-8") for start, end in zip(starts, ends.tolist())]
    return list(map(texts.__getitem__, which.reshape(-1).tolist()))


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
        self._views: _Views | None = None
        # Views made record by record until building every record's view data pays off.
        self._lone_views = 0
        self._lone_limit = 32 + len(self._parsed.tensors) // 16

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
        return dict(self._live().header)

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
            self._layers = self._make_layers()
        return self._layers

    @property
    def tensors(self) -> tuple[TensorInfo, ...]:
        """Every tensor record, in file order (built in bulk on first use)."""
        self._live()
        if self._tensors is None:
            self._tensors = self._make_tensors()
        return self._tensors

    @property
    def user_metadata(self) -> dict[str, Any]:
        """The dict given as ``metadata=`` to ``save_file`` or ``save``, as it was given.

        It is stored under the ``"user"`` key of the file's metadata object
        (``f.metadata`` is that whole object, with ``producer`` and, for
        packed Keras files, the source and model).  ``Writer(metadata=...)``
        writes top-level keys instead: pass ``{"user": {...}}`` to it to fill
        this.  A file without a ``"user"`` object gives ``{}``.
        """
        user = self.metadata.get("user", {})
        return user if isinstance(user, dict) else {}

    def keys(self) -> list[str]:
        return list(self._tensor_names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensor_names())

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
        i = self._index(key)
        if self._tensors is not None:
            return self._tensors[i]
        return self._make_info(i)

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        self._view_table()  # every tensor will be viewed: build it all at once
        for i, name in enumerate(self._tensor_names()):
            yield name, self._view(i)

    def verify(self) -> None:
        """Check every tensor's CRC-32 and padding; raise on the first bad one.

        The error names the tensor by its index and its name.
        """
        parsed = self._live()
        try:
            checks.verify(memoryview(self._buf), parsed.tensors, self.alignment)
        except (TensorChecksumMismatch, BadPadding) as exc:
            raise self._named(exc) from None

    # --- internals -------------------------------------------------------------

    def _named(self, exc: TensorChecksumMismatch | BadPadding) -> Exception:
        """The same error, its message saying which tensor by name too."""
        found = _TENSOR_PREFIX.match(str(exc))
        if not found or int(found[1]) >= len(self):
            return exc
        i = int(found[1])
        name = self._tensor_names()[i]
        return type(exc)(f"tensor {i} {name!r}: {str(exc)[found.end():]}")

    def _index(self, key: TensorKey) -> int:
        parsed = self._live()
        if isinstance(key, str):
            try:
                return parsed.index_of(key)
            except KeyError:
                raise KeyError(key) from None
        if isinstance(key, tuple) and len(key) == 2:
            if self._by_weight is None:
                self._by_weight = self._weight_index()
            try:
                return self._by_weight[key]
            except KeyError:
                raise KeyError(key) from None
        raise TypeError(f"tensor key must be a name or a (layer, weight) pair, not {key!r}")

    def _view(self, i: int) -> np.ndarray:
        v = self._views
        if v is None:
            return self._lone_view(i)
        array = np.frombuffer(self._buf, v.dtypes[i], v.counts[i], v.offsets[i]).reshape(v.shapes[i])
        array.flags.writeable = False
        return array

    def _lone_view(self, i: int) -> np.ndarray:
        """A view from its own record (about a microsecond more than from the table)."""
        self._lone_views += 1
        if self._lone_views > self._lone_limit:
            self._view_table()
            return self._view(i)
        rec = self._live().tensors[i]
        code, ndim = int(rec["dtype"]), int(rec["ndim"])
        dtype = _NUMPY_DTYPE[code]
        count = int(rec["nbytes"]) // dtype.itemsize
        array = np.frombuffer(self._buf, dtype, count, int(rec["data_offset"]))
        array = array.reshape(rec["shape"][:ndim].tolist())
        array.flags.writeable = False
        return array

    def _view_table(self) -> _Views:
        if self._views is None:
            self._views = _Views(self._live().tensors)
        return self._views

    def _tensor_names(self) -> list[str]:
        return self._live().tensor_names  # decoded at open

    def _layer_names(self) -> list[str]:
        return self._live().layer_names

    def _tensor_layers(self) -> list[str | None]:
        """Each tensor's layer name, or None."""
        parsed = self._live()
        if not len(parsed.layers):
            return [None] * len(parsed.tensors)
        layer = parsed.tensors["layer"].astype(np.int64)
        layer[layer == fmt.NO_INDEX] = -1  # the None appended below
        names: list[str | None] = [*self._layer_names(), None]
        return list(map(names.__getitem__, layer.tolist()))

    def _weight_index(self) -> dict[tuple[str, str], int]:
        parsed = self._live()
        t = parsed.tensors
        weights = _strings_at(parsed.strings, t["weight_offset"], t["weight_length"])
        return {
            (layer, weight): i
            for i, (layer, weight) in enumerate(zip(self._tensor_layers(), weights))
            if layer is not None
        }

    def _make_tensors(self) -> tuple[TensorInfo, ...]:
        parsed = self._live()
        t = parsed.tensors
        views = self._view_table()
        return tensor_infos(
            (
                range(len(t)),
                self._tensor_names(),
                self._tensor_layers(),
                _strings_at(parsed.strings, t["weight_offset"], t["weight_length"]),
                _DTYPE_NAMES[t["dtype"]].tolist(),
                views.shapes,
                views.offsets,
                t["nbytes"].tolist(),
                t["crc32"].tolist(),
                _strings_at(parsed.strings, t["source_offset"], t["source_length"]),
            )
        )

    def _make_info(self, i: int) -> TensorInfo:
        """One record alone, without building the others."""
        parsed = self._live()
        rec = parsed.tensors[i]
        layer = int(rec["layer"])
        ndim = int(rec["ndim"])
        table = parsed.strings
        return TensorInfo(
            index=i,
            name=parsed.tensor_names[i],
            layer=None if layer == fmt.NO_INDEX else parsed.layer_names[layer],
            weight=_string(table, int(rec["weight_offset"]), int(rec["weight_length"])),
            dtype=_DTYPE_NAME[int(rec["dtype"])],
            shape=tuple(rec["shape"][:ndim].tolist()),
            offset=int(rec["data_offset"]),
            nbytes=int(rec["nbytes"]),
            crc32=int(rec["crc32"]),
            source=_string(table, int(rec["source_offset"]), int(rec["source_length"])),
        )

    def _make_layers(self) -> tuple[Layer, ...]:
        parsed = self._live()
        layers = parsed.layers
        names = self._layer_names()
        classes = _strings_at(parsed.strings, layers["class_offset"], layers["class_length"])
        parents = layers["parent"].astype(np.int64)
        parents[parents == fmt.NO_INDEX] = -1
        parent_names: list[str | None] = [*names, None]
        tensor_names = self._tensor_names()
        spans = zip(layers["first_tensor"].tolist(), layers["tensor_count"].tolist())
        return tuple(
            Layer(
                index=i,
                name=name,
                class_name=class_name,
                parent=parent_names[parent],
                config=config,
                tensors=tuple(tensor_names[first : first + count]),
            )
            for i, (name, class_name, parent, config, (first, count)) in enumerate(
                zip(names, classes, parents.tolist(), parsed.layer_configs, spans)
            )
        )


def _string(table: bytes, offset: int, length: int) -> str:
    return table[offset : offset + length].decode("utf-8")


_TENSOR_PREFIX = re.compile(r"tensor (\d+): ")


def _close_quietly(mapping: mmap.mmap) -> None:
    try:
        mapping.close()
    except BufferError:
        pass  # arrays still view it; the mapping goes when the last one does


def _map_fd(fd: int, name: str) -> tuple[Any, Any]:
    """The bytes of an open file: a read-only memory map, or a plain read where mmap fails."""
    st = os.fstat(fd)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
    if not stat.S_ISREG(st.st_mode):
        raise NotKwbinFile(f"{name} is not a regular file")
    if st.st_size == 0:
        return b"", None
    try:
        mapping = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        with builtins.open(os.dup(fd), "rb") as f:
            return f.read(), None
    return mapping, mapping


def _map_path(path: str | os.PathLike[str]) -> tuple[Any, Any]:
    # O_NONBLOCK: opening a FIFO must not block before fstat refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        return _map_fd(fd, os.fspath(path))
    finally:
        os.close(fd)


def _is_file_object(source: Any) -> bool:
    return callable(getattr(source, "read", None)) and not isinstance(source, (bytes, bytearray, memoryview, mmap.mmap))


def _os_file(fileobj: Any) -> bool:
    """A file object whose bytes are exactly its descriptor's (not a gzip/zip/tar wrapper)."""
    return isinstance(fileobj, io.FileIO) or (
        isinstance(fileobj, (io.BufferedReader, io.BufferedRandom)) and isinstance(fileobj.raw, io.FileIO)
    )


def _read_file_object(fileobj: Any) -> tuple[Any, Any, str]:
    """The whole content of a binary file object: mapped when it is a regular file, else read.

    A seekable object is read from its start (a kwbin file's offsets are
    absolute) and left at the position it had; a stream is read to its end.
    """
    name = getattr(fileobj, "name", None)
    name = name if isinstance(name, str) else f"<{type(fileobj).__name__}>"
    readable = getattr(fileobj, "readable", None)
    if callable(readable) and not readable():
        raise io.UnsupportedOperation(f"kwbin.open: {name} is not open for reading")
    if isinstance(fileobj, io.TextIOBase):
        raise TypeError(f"kwbin.open: {name} is open in text mode; open it with 'rb'")
    if _os_file(fileobj) and stat.S_ISREG(os.fstat(fileobj.fileno()).st_mode):
        buf, mapping = _map_fd(fileobj.fileno(), name)
        return buf, mapping, name
    seekable = getattr(fileobj, "seekable", None)
    if callable(seekable) and seekable():
        position = fileobj.tell()
        fileobj.seek(0)
        try:
            data = fileobj.read()
        finally:
            fileobj.seek(position)
    else:
        data = fileobj.read()
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"kwbin.open: {name} gave {type(data).__name__}, not bytes; open it in binary mode")
    return data, None, name


def open(source: Source, *, verify: bool = False) -> KwbinFile:  # noqa: A001 - the verb users expect
    """Open a kwbin file and check its structure.

    ``source`` is a path, a bytes-like object (bytes, bytearray, memoryview,
    mmap, ...) or a binary file object (an open file is memory-mapped, any
    other object is read whole).  ``verify=True`` also checks every tensor's
    CRC-32 and padding before returning, as ``KwbinFile.verify()`` does;
    otherwise the tensor bytes are not read until used.

    Raises a ``KwbinError`` subclass naming the first rule the bytes break,
    and ``OSError`` if the path cannot be read.
    """
    if isinstance(source, (str, os.PathLike)):
        buf, mapping = _map_path(source)
        name = os.fspath(source)
    elif _is_file_object(source):
        buf, mapping, name = _read_file_object(source)
    else:
        try:
            view = memoryview(source)  # type: ignore[arg-type]  # bytes, bytearray, mmap, numpy arrays, ...
        except TypeError:
            raise TypeError(
                f"kwbin.open takes a path or a bytes-like object (or a binary file object), "
                f"not {type(source).__name__}"
            ) from None
        buf, mapping, name = (view.cast("B") if view.format != "B" or view.ndim != 1 else view), None, "<memory>"
    try:
        f = KwbinFile(buf, mapping, name=name)
    except BaseException:
        if mapping is not None:
            _close_quietly(mapping)
        raise
    if verify:
        try:
            f.verify()
        except BaseException:
            f.close()
            raise
    return f


def load_file(source: Source, *, verify: bool = False) -> dict[str, np.ndarray]:
    """All tensors as a dict of independent (copied, writable) arrays.

    ``verify=True`` checks every tensor's CRC-32 and padding first.
    """
    with open(source, verify=verify) as f:
        return {name: np.array(array) for name, array in f.items()}
