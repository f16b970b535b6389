"""Writing kwbin files: ``save_file`` for a dict of arrays, ``Writer`` for streams.

Both refuse what the format cannot store before touching the destination, and
both replace the destination atomically (see ``atomic.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Mapping

import numpy as np

from . import format as fmt
from ._version import __version__
from .atomic import AtomicFile, Writeback, copy_range, destination, remove_quietly, temp_file_beside
from .checks import align_up, header_crc32
from .crc import ChecksumQueue, raw_crc32
from .errors import WriteError
from .jsontext import dump_object

_U32_LIMIT = fmt.NO_INDEX  # indices and string offsets must stay below this


@dataclass
class _LayerSpec:
    name: bytes
    class_name: bytes
    config: bytes
    parent: int
    first_tensor: int
    tensor_count: int = 0


@dataclass
class _TensorSpec:
    name: bytes
    weight: bytes
    source: bytes
    layer: int
    dtype: fmt.DType
    shape: tuple[int, ...]
    nbytes: int
    offset: int = 0  # relative to the payload start until laid out
    crc32: int = 0


@dataclass
class _Layout:
    """Where everything goes, once every name and shape is known."""

    strings: bytes
    layers_offset: int
    tensors_offset: int
    metadata_offset: int
    payload_offset: int
    payload_size: int


def _text(value: Any, what: str, *, empty_ok: bool = False) -> bytes:
    if not isinstance(value, str):
        raise WriteError(f"{what} must be a str, not {type(value).__name__}")
    if not value and not empty_ok:
        raise WriteError(f"{what} must not be empty")
    if "\0" in value:
        raise WriteError(f"{what} {value!r} contains a NUL character")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise WriteError(f"{what} {value!r} is not valid UTF-8 (lone surrogate?)") from None


def _json(value: Any, what: str) -> bytes:
    try:
        return dump_object(value).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise WriteError(f"{what} cannot be stored as a JSON object: {exc}") from None


def _bfloat16_bits(array: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, rounding to nearest even; NaNs stay NaNs."""
    bits = np.asarray(array, dtype="<f4", order="C").view("<u4")
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = np.isnan(array)
    return np.where(nan, (bits >> 16) | 0x40, rounded).astype("<u2")


def kwbin_dtype(array: np.ndarray) -> fmt.DType:
    dt = array.dtype
    if dt.name == "bfloat16":  # ml_dtypes
        return fmt.DTYPE_BY_NAME["bfloat16"]
    kinds = {"f": "float", "i": "int", "u": "uint"}
    if dt.kind == "b":
        return fmt.DTYPE_BY_NAME["bool"]
    if dt.kind in kinds:
        name = f"{kinds[dt.kind]}{dt.itemsize * 8}"
        if name in fmt.DTYPE_BY_NAME:
            return fmt.DTYPE_BY_NAME[name]
    raise WriteError(f"dtype {dt} cannot be stored; kwbin stores {', '.join(d.name for d in fmt.DTYPES)}")


def normalise(array: Any, dtype: str | None, name: str) -> tuple[np.ndarray, fmt.DType]:
    """The array as contiguous little-endian bytes of a kwbin dtype."""
    try:
        array = np.asarray(array)
    except Exception as exc:  # noqa: BLE001 - any failure means "not an array"
        raise WriteError(f"tensor {name!r} is not an array: {exc}") from None
    if dtype is None:
        kind = kwbin_dtype(array)
    elif dtype in fmt.DTYPE_BY_NAME:
        kind = fmt.DTYPE_BY_NAME[dtype]
    else:
        raise WriteError(f"tensor {name!r}: unknown dtype {dtype!r}")
    if array.ndim > fmt.MAX_NDIM:
        raise WriteError(f"tensor {name!r} has {array.ndim} dimensions, at most {fmt.MAX_NDIM}")
    if kind.name == "bfloat16":
        if array.dtype.name == "bfloat16" or (array.dtype.kind == "u" and array.dtype.itemsize == 2):
            # ml_dtypes' bfloat16 is native-endian bits; a uint16 array of
            # either byte order holds the bits as values, converted by asarray.
            array = array.view("<u2") if array.dtype.name == "bfloat16" else array
            data = np.asarray(array, dtype="<u2", order="C")
        elif array.dtype.kind == "f":
            data = _bfloat16_bits(array)
        else:
            raise WriteError(f"tensor {name!r}: bfloat16 needs float or raw uint16 bits, not {array.dtype}")
        return data, kind
    if dtype is not None and not np.can_cast(array.dtype, kind.numpy, "same_kind"):
        raise WriteError(f"tensor {name!r}: cannot store {array.dtype} as {kind.name}")
    return np.asarray(array, dtype=kind.numpy, order="C"), kind


def _byte_view(array: np.ndarray) -> memoryview:
    return memoryview(array.reshape(-1).view(np.uint8))  # type: ignore[arg-type]  # numpy arrays are buffers


class Plan:
    """Names, shapes and layers collected and checked before any byte is written."""

    def __init__(self, metadata: Mapping[str, Any] | None, alignment: int):
        if (
            not isinstance(alignment, int)
            or alignment < fmt.MIN_ALIGNMENT
            or alignment > fmt.MAX_ALIGNMENT
            or alignment & (alignment - 1)
        ):
            raise WriteError(
                f"alignment is {alignment!r}, expected a power of two from "
                f"{fmt.MIN_ALIGNMENT} to {fmt.MAX_ALIGNMENT}"
            )
        self.alignment = alignment
        self.meta: dict[str, Any] = {"producer": "kwbin", "producer_version": __version__}
        self.update_metadata(metadata or {})
        self.layers: list[_LayerSpec] = []
        self.tensors: list[_TensorSpec] = []
        self.layer_index: dict[bytes, int] = {}
        self.tensor_names: set[bytes] = set()
        self.weights: set[tuple[int, bytes]] = set()
        self.payload_size = 0  # relative end of the last tensor, padded

    def update_metadata(self, metadata: Mapping[str, Any]) -> None:
        merged = {**self.meta, **metadata}
        self.metadata = _json(merged, "metadata")
        self.meta = merged

    def add_layer(self, name: str, class_name: str, config: Any, parent: Any) -> int:
        raw = _text(name, "layer name")
        if raw in self.layer_index:
            raise WriteError(f"layer name {name!r} is used twice")
        if len(self.layers) >= _U32_LIMIT - 1:
            raise WriteError("too many layers")
        spec = _LayerSpec(
            name=raw,
            class_name=_text(class_name, "class name", empty_ok=True),
            config=b"" if config is None else _json(config, f"config of layer {name!r}"),
            parent=fmt.NO_INDEX if parent is None else self.resolve_layer(parent),
            first_tensor=len(self.tensors),
        )
        self.layer_index[raw] = len(self.layers)
        self.layers.append(spec)
        return len(self.layers) - 1

    def resolve_layer(self, layer: Any) -> int:
        if isinstance(layer, str):
            try:
                return self.layer_index[layer.encode("utf-8", "surrogatepass")]
            except KeyError:
                raise WriteError(f"no layer named {layer!r} was added") from None
        if isinstance(layer, int) and not isinstance(layer, bool) and 0 <= layer < len(self.layers):
            return layer
        raise WriteError(f"layer must be the name or index of an added layer, not {layer!r}")

    def add_tensor(
        self, name: str, array: Any, layer: Any, weight: str | None, dtype: str | None, source: str
    ) -> tuple[_TensorSpec, np.ndarray]:
        """Check and record a tensor given with its data; returns the data to write."""
        data, kind = normalise(array, dtype, name)
        return self.declare(name, data.shape, kind, layer, weight, source), data

    def declare(
        self, name: str, shape: tuple[int, ...], kind: fmt.DType, layer: Any, weight: str | None, source: str
    ) -> _TensorSpec:
        """Check and record a tensor's name, place, dtype and shape (its data comes later)."""
        raw = _text(name, "tensor name")
        if raw in self.tensor_names:
            raise WriteError(f"tensor name {name!r} is used twice")
        if len(self.tensors) >= _U32_LIMIT - 1:
            raise WriteError("too many tensors")
        if len(shape) > fmt.MAX_NDIM:
            raise WriteError(f"tensor {name!r} has {len(shape)} dimensions, at most {fmt.MAX_NDIM}")
        index = fmt.NO_INDEX if layer is None else self.resolve_layer(layer)
        if index == fmt.NO_INDEX:
            if weight:
                raise WriteError(f"tensor {name!r}: a weight name needs a layer")
            weight_raw = b""
        else:
            weight_raw = _text(weight, f"weight name of tensor {name!r}")
            if (index, weight_raw) in self.weights:
                raise WriteError(f"layer {self.layers[index].name.decode()!r} has two weights named {weight!r}")
            owner = self.layers[index]
            if owner.tensor_count and self.tensors[-1].layer != index:
                raise WriteError(
                    f"tensor {name!r}: the tensors of layer {owner.name.decode()!r} must be added one after another"
                )
        shape = tuple(int(d) for d in shape)
        spec = _TensorSpec(
            name=raw,
            weight=weight_raw,
            source=_text(source, "source", empty_ok=True),
            layer=index,
            dtype=kind,
            shape=shape,
            nbytes=int(np.prod(shape, dtype=object)) * kind.itemsize,
        )
        # Commit the bookkeeping only once everything above has passed.
        if index != fmt.NO_INDEX:
            owner = self.layers[index]
            if owner.tensor_count == 0:
                owner.first_tensor = len(self.tensors)
            owner.tensor_count += 1
            self.weights.add((index, weight_raw))
        self.tensor_names.add(raw)
        spec.offset = self.payload_size
        self.payload_size = align_up(spec.offset + spec.nbytes, self.alignment)
        self.tensors.append(spec)
        return spec

    def layout(self) -> _Layout:
        pool: dict[bytes, int] = {}
        chunks: list[bytes] = []
        size = 0

        def intern(text: bytes) -> int:
            nonlocal size
            if text not in pool:
                pool[text] = size
                chunks.append(text + b"\0")
                size += len(text) + 1
            return pool[text]

        for layer in self.layers:
            for text in (layer.name, layer.class_name, layer.config):
                intern(text)
        for tensor in self.tensors:
            for text in (tensor.name, tensor.weight, tensor.source):
                intern(text)
        if size >= 1 << 32:
            raise WriteError(f"names and configs take {size} bytes; the string table holds at most 4 GiB")
        self._pool = pool
        strings = b"".join(chunks)
        layers_offset = align_up(fmt.HEADER_SIZE + len(strings), fmt.SECTION_ALIGNMENT)
        tensors_offset = align_up(layers_offset + len(self.layers) * fmt.LAYER_RECORD_SIZE, fmt.SECTION_ALIGNMENT)
        metadata_offset = align_up(
            tensors_offset + len(self.tensors) * fmt.TENSOR_RECORD_SIZE, fmt.SECTION_ALIGNMENT
        )
        payload_offset = align_up(metadata_offset + len(self.metadata), self.alignment)
        return _Layout(strings, layers_offset, tensors_offset, metadata_offset, payload_offset, self.payload_size)

    def structure(self, layout: _Layout) -> bytes:
        """Header, tables and metadata: every byte before the payload."""
        if layout.payload_offset != self.layout().payload_offset:
            raise WriteError("metadata changed size after the payload was placed")
        pool = self._pool
        layers = np.zeros(len(self.layers), fmt.LAYER_DTYPE)
        for i, spec in enumerate(self.layers):
            layers[i] = (
                pool[spec.name], len(spec.name),
                pool[spec.class_name], len(spec.class_name),
                pool[spec.config], len(spec.config),
                spec.parent, spec.first_tensor, spec.tensor_count, 0,
            )  # fmt: skip
        tensors = np.zeros(len(self.tensors), fmt.TENSOR_DTYPE)
        if self.tensors:
            specs = self.tensors
            for column, values in (
                ("name_offset", [pool[t.name] for t in specs]),
                ("name_length", [len(t.name) for t in specs]),
                ("weight_offset", [pool[t.weight] for t in specs]),
                ("weight_length", [len(t.weight) for t in specs]),
                ("source_offset", [pool[t.source] for t in specs]),
                ("source_length", [len(t.source) for t in specs]),
                ("layer", [t.layer for t in specs]),
                ("dtype", [t.dtype.code for t in specs]),
                ("ndim", [len(t.shape) for t in specs]),
                ("crc32", [t.crc32 for t in specs]),
                ("data_offset", [layout.payload_offset + t.offset for t in specs]),
                ("nbytes", [t.nbytes for t in specs]),
            ):
                tensors[column] = values
            shapes = np.zeros((len(specs), fmt.MAX_NDIM), np.uint64)
            for i, t in enumerate(specs):
                shapes[i, : len(t.shape)] = t.shape
            tensors["shape"] = shapes

        out = bytearray(layout.payload_offset)
        header = fmt.Header.build(
            dict(
                magic=fmt.MAGIC,
                byte_order_mark=fmt.BYTE_ORDER_MARK,
                version_major=fmt.VERSION_MAJOR,
                version_minor=fmt.VERSION_MINOR,
                header_size=fmt.HEADER_SIZE,
                flags=0,
                alignment=self.alignment,
                layer_record_size=fmt.LAYER_RECORD_SIZE,
                tensor_record_size=fmt.TENSOR_RECORD_SIZE,
                strings_offset=fmt.HEADER_SIZE,
                strings_size=len(layout.strings),
                layers_offset=layout.layers_offset,
                layers_size=layers.nbytes,
                tensors_offset=layout.tensors_offset,
                tensors_size=tensors.nbytes,
                metadata_offset=layout.metadata_offset,
                metadata_size=len(self.metadata),
                payload_offset=layout.payload_offset,
                payload_size=layout.payload_size,
                reserved=bytes(12),
                header_crc32=0,
            )
        )
        out[: fmt.HEADER_SIZE] = header
        out[fmt.HEADER_SIZE : fmt.HEADER_SIZE + len(layout.strings)] = layout.strings
        out[layout.layers_offset : layout.layers_offset + layers.nbytes] = layers.tobytes()
        out[layout.tensors_offset : layout.tensors_offset + tensors.nbytes] = tensors.tobytes()
        out[layout.metadata_offset : layout.metadata_offset + len(self.metadata)] = self.metadata
        crc = header_crc32(memoryview(out), layout.payload_offset)
        out[fmt.HEADER_CRC_OFFSET : fmt.HEADER_SIZE] = crc.to_bytes(4, "little")
        return bytes(out)


def _write_tensor(out: BinaryIO, spec: _TensorSpec, data: np.ndarray, position: int, checksums: ChecksumQueue) -> int:
    """Write padding up to the tensor, then its bytes; return the new position.

    The tensor's CRC-32 is computed by other threads while this one writes
    (``checksums.finish()`` collects them), so checksumming overlaps the I/O.
    """
    if tuple(data.shape) != spec.shape or data.nbytes != spec.nbytes:
        raise WriteError(f"tensor {spec.name.decode()!r}: data of shape {data.shape}, declared {spec.shape}")
    if spec.offset > position:
        out.write(bytes(spec.offset - position))
    view = _byte_view(data)
    checksums.add(view, lambda crc: setattr(spec, "crc32", crc))
    out.write(view)
    return spec.offset + spec.nbytes


def write_in_place(
    path: str | os.PathLike[str],
    plan: Plan,
    arrays: Iterable[np.ndarray],
    *,
    before_structure: Callable[[], None] | None = None,
) -> None:
    """Write a fully declared plan: the payload first, at its final place, then the structure.

    ``arrays`` yields each declared tensor's data in order (it may load them
    one at a time).  ``before_structure`` may still change metadata values
    as long as the metadata keeps its length (a digest known only at the end);
    the payload is flushed to disk first, so that whatever it waits for runs
    while the disk works.
    """
    layout = plan.layout()
    target = AtomicFile(path)
    try:
        out = target.file
        out.seek(layout.payload_offset)
        position = 0
        count = 0
        checksums = ChecksumQueue()
        writeback = Writeback(out, layout.payload_offset)
        for spec, data in zip(plan.tensors, arrays):
            position = _write_tensor(out, spec, data, position, checksums)
            writeback.written_to(layout.payload_offset + position)
            count += 1
        if count != len(plan.tensors):
            raise WriteError(f"{len(plan.tensors)} tensors were declared, {count} were given")
        out.write(bytes(plan.payload_size - position))
        checksums.finish()
        if before_structure is not None:
            out.flush()
            os.fsync(out.fileno())
            before_structure()
        out.seek(0)
        out.write(plan.structure(layout))
        target.commit()
    except BaseException:
        target.discard()
        raise


class Writer:
    """Write a kwbin file one layer and one tensor at a time.

    Tensor bytes go to a temporary file as soon as they are added, so memory
    stays bounded by the largest tensor.  ``close()`` (or leaving the ``with``
    block normally) writes the header and tables in front of them, fsyncs and
    renames onto ``path``; an exception inside the block discards everything
    and leaves ``path`` untouched.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        metadata: Mapping[str, Any] | None = None,
        alignment: int = fmt.DEFAULT_ALIGNMENT,
    ):
        self._plan = Plan(metadata, alignment)
        self._path = destination(path)
        self._payload, self._payload_path = temp_file_beside(self._path, "payload.")
        self._position = 0
        self._checksums = ChecksumQueue()
        self._closed = False

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def update_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Add or replace metadata keys; possible until the file is closed."""
        self._check_open()
        self._plan.update_metadata(metadata)

    def add_layer(
        self, name: str, class_name: str = "", *, config: Mapping[str, Any] | None = None, parent: Any = None
    ) -> int:
        """Add a layer (in model order); returns its index."""
        self._check_open()
        return self._plan.add_layer(name, class_name, config, parent)

    def add_tensor(
        self,
        name: str,
        array: Any,
        *,
        layer: Any = None,
        weight: str | None = None,
        dtype: str | None = None,
        source: str = "",
    ) -> None:
        """Add one tensor; its bytes are written (and checksummed) at once.

        ``layer`` (name or index) and ``weight`` place it in a layer; the
        tensors of one layer must be added one after another.  ``dtype`` names
        a kwbin dtype to convert to (``"bfloat16"`` rounds floats, or takes
        raw uint16 bits).  ``source`` records where the tensor came from.
        """
        self._check_open()
        spec, data = self._plan.add_tensor(name, array, layer, weight, dtype, source)
        try:
            self._position = _write_tensor(self._payload, spec, data, self._position, self._checksums)
        except BaseException:
            self.abort()
            raise

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._closed:
            return
        try:
            plan = self._plan
            self._checksums.finish()
            layout = plan.layout()
            self._payload.write(bytes(plan.payload_size - self._position))
            target = AtomicFile(self._path)
            try:
                target.file.write(plan.structure(layout))
                copy_range(self._payload, target.file, plan.payload_size)
                target.commit()
            except BaseException:
                target.discard()
                raise
        finally:
            self.abort()

    def abort(self) -> None:
        """Give up: remove the temporary data, leave the destination alone."""
        if self._closed:
            return
        self._closed = True
        try:
            self._payload.close()
        finally:
            remove_quietly(self._payload_path)

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("this Writer is closed")


def _plan_mapping(
    tensors: Mapping[str, Any], metadata: Mapping[str, Any] | None, alignment: int
) -> tuple[Plan, list[tuple[_TensorSpec, np.ndarray]]]:
    """The plan of a dict of loose tensors (``save_file``, ``save``), checked before any write."""
    if not isinstance(tensors, Mapping):
        raise WriteError(f"tensors must be a mapping of names to arrays, not {type(tensors).__name__}")
    plan = Plan({"user": dict(metadata)} if metadata else None, alignment)
    return plan, [plan.add_tensor(name, array, None, None, None, "") for name, array in tensors.items()]


def save_file(
    tensors: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    metadata: Mapping[str, Any] | None = None,
    alignment: int = fmt.DEFAULT_ALIGNMENT,
) -> None:
    """Save a mapping of names to arrays as one kwbin file.

    ``metadata`` (a JSON-able dict) is kept under the ``"user"`` key.  Every
    name, dtype and shape is checked before the destination is touched.
    """
    plan, queued = _plan_mapping(tensors, metadata, alignment)
    write_in_place(path, plan, [data for _, data in queued])


def save(
    tensors: Mapping[str, Any],
    *,
    metadata: Mapping[str, Any] | None = None,
    alignment: int = fmt.DEFAULT_ALIGNMENT,
) -> bytes:
    """Like ``save_file``, but return the file's bytes (for small files held in memory)."""
    plan, queued = _plan_mapping(tensors, metadata, alignment)
    layout = plan.layout()
    payload = bytearray(plan.payload_size)
    for spec, data in queued:
        view = _byte_view(data)
        payload[spec.offset : spec.offset + spec.nbytes] = view
        spec.crc32 = raw_crc32(view)
    return plan.structure(layout) + bytes(payload)
