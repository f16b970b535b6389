"""``kwbin convert``: kwbin <-> safetensors and kwbin <-> NumPy ``.npz``, names kept.

What each direction carries, and what it cannot:

- kwbin -> safetensors: every tensor by name, dtype (bfloat16 included) and
  shape.  safetensors has no layers and a string-to-string ``__metadata__``:
  the layers (classes, parents, configs), each tensor's layer, weight and
  source, and the metadata object go there as JSON texts under the keys of
  ``SAFETENSORS_KEYS``, and come back when converting back.  Lost: the
  alignment and the order of the tensors (safetensors sorts them).
- safetensors -> kwbin: names, dtypes, shapes; the ``__metadata__`` map goes
  under the kwbin metadata key ``"safetensors_metadata"`` (the ``kwbin.*``
  keys written above rebuild the layers and metadata instead).  Refused: a
  dtype kwbin does not store (float8, complex, ...), named.
- kwbin -> npz: every tensor by name and shape.  Lost: layers, configs,
  metadata, sources, and the bfloat16 dtype (stored as its uint16 bits).
- npz -> kwbin: names, dtypes, shapes, read with ``allow_pickle=False``.
  Refused, by name: object arrays and dtypes kwbin does not store.

Every output is written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import json
import zipfile
from typing import Any, Callable

import numpy as np

from . import format as fmt
from .atomic import AtomicFile
from .errors import KwbinError, WriteError
from .reader import KwbinFile
from .reader import open as open_kwbin
from .writer import Writer

#: What each format is called, by the extensions the output name may have.
FORMATS = {".kwb": "kwbin", ".kwbin": "kwbin", ".safetensors": "safetensors", ".npz": "npz"}

#: The ``__metadata__`` keys that carry what safetensors has no place for.
SAFETENSORS_KEYS = {"layers": "kwbin.layers", "tensors": "kwbin.tensors", "metadata": "kwbin.metadata"}
#: Where a safetensors ``__metadata__`` map goes in the kwbin metadata.
SAFETENSORS_METADATA_KEY = "safetensors_metadata"

#: safetensors dtype codes (as ``deserialize`` gives them) and names (as ``serialize`` takes them).
_FROM_SAFETENSORS = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
                     "I32": "int32", "I16": "int16", "I8": "int8", "U64": "uint64", "U32": "uint32",
                     "U16": "uint16", "U8": "uint8", "BOOL": "bool"}  # fmt: skip

#: What the conversion lost, one line for standard error.
NOTES = {
    ("kwbin", "safetensors"): "safetensors keeps tensors only: layers, configs, sources and metadata went into "
    "__metadata__ as JSON (kwbin.* keys; restored by converting back); the alignment and tensor order are not kept",
    ("kwbin", "npz"): "npz keeps tensors only: layers, configs, sources and metadata were dropped; "
    "bfloat16 tensors are stored as their uint16 bits",
}


class ConvertError(KwbinError):
    """The source holds something the destination format cannot store (named), or is not a known format."""

    code = "convert_error"


def detect(path: str) -> str:
    """The format of an existing file, from its first bytes: ``kwbin``, ``npz`` or ``safetensors``."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(fmt.MAGIC):
        return "kwbin"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "npz"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    raise ConvertError(f"{path}: not a kwbin, safetensors or .npz file (expected one of their first bytes)")


def convert(src: str, dst: str, dst_format: str, *, src_format: str | None = None) -> str | None:
    """Convert ``src`` into ``dst`` (written atomically); return the note on what was lost, or None."""
    src_format = src_format or detect(src)
    pair = (src_format, dst_format)
    if "kwbin" not in pair or src_format == dst_format:
        raise ConvertError(f"{src}: converts between kwbin and safetensors or npz, not {src_format} -> {dst_format}")
    if "safetensors" in pair:
        _need_safetensors()
    if src_format == "kwbin":
        with open_kwbin(src, verify=True) as f:
            (_to_safetensors if dst_format == "safetensors" else _to_npz)(f, dst)
    elif src_format == "safetensors":
        _from_safetensors(src, dst)
    else:
        _from_npz(src, dst)
    return NOTES.get(pair)


def _need_safetensors() -> None:
    try:
        import safetensors  # noqa: F401
    except ImportError:
        raise ConvertError("converting to or from safetensors needs the safetensors package: "
                           "pip install 'kwbin[convert]'") from None  # fmt: skip


def _atomically(dst: str, write: Callable[[Any], None]) -> None:
    target = AtomicFile(dst)
    try:
        write(target.file)
        target.commit()
    except BaseException:
        target.discard()
        raise


# --- kwbin -> -------------------------------------------------------------------------------------


def _to_safetensors(f: KwbinFile, dst: str) -> None:
    from safetensors import TensorSpec, serialize

    arrays = {t.name: f[t.name] for t in f.tensors}  # views: alive until serialize has read them
    specs = {
        t.name: TensorSpec(dtype=t.dtype, shape=list(t.shape), data_ptr=arrays[t.name].ctypes.data, data_len=t.nbytes)
        for t in f.tensors
    }
    layers = [{"name": la.name, "class_name": la.class_name, "parent": la.parent, "config": la.config} for la in f.layers]
    placement = {t.name: {"layer": t.layer, "weight": t.weight, "source": t.source} for t in f.tensors}
    metadata = {
        SAFETENSORS_KEYS["layers"]: json.dumps(layers, ensure_ascii=False),
        SAFETENSORS_KEYS["tensors"]: json.dumps(placement, ensure_ascii=False),
        SAFETENSORS_KEYS["metadata"]: json.dumps(f.metadata, ensure_ascii=False),
    }
    data = serialize(specs, metadata)
    del arrays
    _atomically(dst, lambda fh: fh.write(data))


def _to_npz(f: KwbinFile, dst: str) -> None:
    """What ``np.savez`` writes (one ``NAME.npy`` member per array), any name, one tensor at a time.

    ``np.load`` gives back each member's name less one ``.npy``: every name survives.
    """

    def write(fh: Any) -> None:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name in f:
                with archive.open(name + ".npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, f[name], allow_pickle=False)  # bfloat16: its uint16 bits

    _atomically(dst, write)


# --- -> kwbin -------------------------------------------------------------------------------------


def _from_safetensors(src: str, dst: str) -> None:
    from safetensors import deserialize, safe_open

    with open(src, "rb") as fh:
        raw = fh.read()
    try:
        with safe_open(src, framework="np") as st:
            extra = dict(st.metadata() or {})
        tensors = deserialize(raw)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
        raise ConvertError(f"{src}: not a valid safetensors file: {' '.join(str(exc).split())}") from None
    for name, spec in tensors:
        if spec["dtype"] not in _FROM_SAFETENSORS:
            raise ConvertError(f"{src}: tensor {name!r} has dtype {spec['dtype']}, which kwbin does not store "
                               f"(kwbin stores {', '.join(sorted(_FROM_SAFETENSORS))})")  # fmt: skip
    layers = _carried(extra, "layers", src)
    placement = _carried(extra, "tensors", src) or {}
    metadata = _carried(extra, "metadata", src)
    rest = {k: v for k, v in extra.items() if k not in SAFETENSORS_KEYS.values()}
    metadata = dict(metadata) if isinstance(metadata, dict) else {"producer": "kwbin convert"}
    if rest:
        metadata[SAFETENSORS_METADATA_KEY] = rest
    by_name = dict(tensors)
    try:
        _write_restored(dst, metadata, by_name, layers or [], placement)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConvertError(f"{src}: the kwbin.* keys of __metadata__ do not describe its tensors ({exc!r})") from None


def _write_restored(dst: str, metadata: dict[str, Any], by_name: dict[str, Any], layers: list[Any],
                    placement: dict[str, Any]) -> None:  # fmt: skip
    """Layers in order, each followed by its tensors (in their kwbin order), then the tensors of no layer."""
    order = [n for n in placement if n in by_name] + [n for n in by_name if n not in placement]
    members: dict[str, list[str]] = {}
    for name in order:
        layer = (placement.get(name) or {}).get("layer")
        if layer is not None:
            members.setdefault(layer, []).append(name)
    placed: set[str] = set()
    with Writer(dst, metadata=metadata) as w:
        for layer in layers:
            w.add_layer(layer["name"], layer.get("class_name", ""), config=layer.get("config"), parent=layer.get("parent"))
            for name in members.pop(layer["name"], []):
                _add(w, name, by_name[name], placement[name])
                placed.add(name)
        for name in order:
            if name not in placed:
                _add(w, name, by_name[name], {"source": (placement.get(name) or {}).get("source", "")})


def _carried(extra: dict[str, str], what: str, src: str) -> Any:
    text = extra.get(SAFETENSORS_KEYS[what])
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConvertError(f"{src}: __metadata__ {SAFETENSORS_KEYS[what]} is not JSON: {exc}") from None


def _add(w: Writer, name: str, spec: dict[str, Any], where: dict[str, Any]) -> None:
    dtype = _FROM_SAFETENSORS[spec["dtype"]]
    kind = fmt.DTYPE_BY_NAME[dtype]
    array = np.frombuffer(spec["data"], kind.numpy).reshape(spec["shape"])
    layer = where.get("layer")
    w.add_tensor(name, array, layer=layer, weight=where.get("weight") if layer is not None else None,
                 dtype=dtype, source=where.get("source") or "")  # fmt: skip


def _from_npz(src: str, dst: str) -> None:
    try:
        archive = np.load(src, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ConvertError(f"{src}: not a readable .npz file: {exc}") from None
    with archive, Writer(dst, metadata={"producer": "kwbin convert"}) as w:
        for name in archive.files:
            try:
                array = archive[name]
            except ValueError as exc:  # object arrays need pickle
                raise ConvertError(f"{src}: array {name!r} cannot be read without pickle ({exc}); "
                                   "kwbin stores numbers and booleans only") from None  # fmt: skip
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                raise ConvertError(f"{src}: array {name!r} is damaged: {exc}") from None
            try:
                w.add_tensor(name, array)
            except WriteError as exc:
                raise ConvertError(f"{src}: array {name!r}: {exc}") from None
