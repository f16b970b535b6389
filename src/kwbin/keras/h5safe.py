"""Checking an HDF5 source before any of its data is read, so that packing reads that file only.

HDF5 can make a file's values come from elsewhere: *external raw storage*
(a dataset's bytes live in any named file, ``/etc/passwd`` say), *external
links* (an object of another HDF5 file), *virtual datasets* (a mapping onto
other files' datasets) and soft links.  It can also declare far more data
than it stores (unallocated storage read as fill values, chunks never
written, compressed chunks that inflate a thousandfold).  Keras writes none
of these; a file that has one is refused here, by name, before anything is
read.  What is promised, for every HDF5 source (plain, inside a ``.keras``
archive or a shard):

- ``check_file`` walks every link of the file from the root (without
  following any) before the importer reads a single attribute or value.
  It refuses soft links, external links and user-defined links anywhere in
  the file; and, for every dataset: external raw storage, the virtual
  layout, a null dataspace, more than ``MAX_NDIM`` dimensions, a datatype
  kwbin cannot store (compound, strings, references, enums other than
  bool, opaque, bitfields, arrays, ...), filters this HDF5 lacks, storage
  not allocated, contiguous bytes that end past the end of the file,
  chunks not all written, stored chunks adding up to more than the file,
  and compressed chunks declaring more than ``MAX_RATIO`` times their
  stored size (plus ``RATIO_SLACK``).  So the bytes packed from a dataset
  are backed by bytes of the file, at most ``MAX_RATIO`` to one.
- The file is opened (``sources.open_h5``) through h5py's file-object
  driver on a descriptor of that one file: HDF5 has no other source of
  bytes, so even an unchecked external link or virtual dataset resolves
  inside the same file, never in another one.
- ``read_dataset`` checks the storage again right before reading: HDF5
  opens external raw storage by path with no hook to refuse it (a prefix
  set with ``H5Pset_efile_prefix`` is ignored for absolute names), so
  every value read goes through it.
"""

from __future__ import annotations

import math
from typing import Any

import h5py
import numpy as np
from h5py import h5d, h5l, h5o, h5s, h5t

from ..errors import WriteError
from ..format import MAX_NDIM
from ..writer import kwbin_dtype
from .errors import PackError

#: A compressed dataset may declare at most this many times its stored bytes (plus RATIO_SLACK).
MAX_RATIO = 64
RATIO_SLACK = 1 << 20

_CLASS_NAMES = {
    h5t.COMPOUND: "compound", h5t.STRING: "string", h5t.VLEN: "variable-length", h5t.REFERENCE: "reference",
    h5t.OPAQUE: "opaque", h5t.BITFIELD: "bitfield", h5t.ARRAY: "array", h5t.TIME: "time", h5t.ENUM: "enum",
}  # fmt: skip
if hasattr(h5t, "COMPLEX"):  # h5py >= 3.15 (HDF5 2.0's complex class); pyproject allows h5py >= 3.0
    _CLASS_NAMES[h5t.COMPLEX] = "complex"


def check_file(f: h5py.File, name: str, size: int) -> dict[str, h5d.DatasetID]:
    """Refuse ``f`` (``size`` bytes long) with a PackError if any link or dataset is one kwbin will not read.

    Returns every dataset checked, opened, by its first path ("/a/b"), so
    that readers need not open it again.  One ``H5Lvisit`` pass lists every
    link with its kind and (for hard links) the object's address, without
    opening anything: a path that other paths lie below is a group; only
    the rest (datasets, empty groups, second names of an object) is opened.
    """
    links: list[tuple[bytes, int, int]] = []

    def collect(path: bytes, info: Any) -> None:
        links.append((path, info.type, info.u if info.type == h5l.TYPE_HARD else -1))

    f.id.links.visit(collect, info=True)
    parents = {path.rpartition(b"/")[0] for path, _, _ in links}
    seen = {h5o.get_info(f.id).addr}
    leaves: list[bytes] = []
    for path, kind, address in links:
        _check_link(f, path, kind, name)
        if address in seen:  # one object under two names: checked once, and no loop
            continue
        seen.add(address)
        if path not in parents:
            leaves.append(path)
    verdicts: dict[bytes, str | None] = {}
    out: dict[str, h5d.DatasetID] = {}
    for path in leaves:
        obj = h5o.open(f.id, path)
        if isinstance(obj, h5d.DatasetID):
            check_dataset(obj, "/" + path.decode("utf-8", "replace"), name, size, verdicts)
            try:  # kept only under its exact name, so that a lookup finds the object HDF5 would
                out["/" + path.decode("utf-8")] = obj
            except UnicodeDecodeError:
                pass
    return out


def _check_link(f: h5py.File, path: bytes, kind: int, name: str) -> None:
    if kind == h5l.TYPE_HARD:
        return
    child = "/" + path.decode("utf-8", "replace")
    if kind == h5l.TYPE_SOFT:
        target = f.id.links.get_val(path).decode("utf-8", "replace")
        raise PackError(f"{name}: {child} is a soft link to {target} (Keras writes none; kwbin follows none)")
    if kind == h5l.TYPE_EXTERNAL:
        file_name, obj = f.id.links.get_val(path)
        raise PackError(
            f"{name}: {child} is an external link to {obj.decode('utf-8', 'replace')} in "
            f"{file_name.decode('utf-8', 'replace')} (kwbin reads only the source file)"
        )
    raise PackError(f"{name}: {child} is a user-defined link (type {kind}); kwbin follows none")


def check_dataset(
    dsid: h5d.DatasetID, path: str, name: str, size: int, verdicts: dict[bytes, str | None] | None = None
) -> None:
    """Refuse a dataset whose values are not numbers backed by bytes of this file.

    ``verdicts`` caches the datatype check by the type's encoding: a file
    has thousands of datasets and a handful of types.
    """
    where = f"{name}: dataset {path}"
    space = dsid.get_space()
    if space.get_simple_extent_type() == h5s.NULL:
        raise PackError(f"{where} has a null dataspace (no value at all)")
    shape = space.shape
    if len(shape) > MAX_NDIM:
        raise PackError(f"{where} has {len(shape)} dimensions, kwbin stores at most {MAX_NDIM}")
    tid = dsid.get_type()
    _check_type_cached(tid, where, verdicts)
    dcpl = dsid.get_create_plist()
    layout = dcpl.get_layout()
    _check_layout(dcpl, layout, where)
    nbytes = math.prod(shape) * tid.get_size()
    if nbytes == 0:
        return
    stored = dsid.get_storage_size()
    declared = f"declares shape {tuple(int(d) for d in shape)} ({nbytes} bytes)"
    if dsid.get_space_status() != h5d.SPACE_STATUS_ALLOCATED and not (layout == h5d.CHUNKED and stored > 0):
        raise PackError(f"{where} {declared} but has no storage allocated (it would read as fill values)")
    if layout == h5d.CONTIGUOUS:
        offset = dsid.get_offset()
        if offset is None or stored != nbytes or offset + nbytes > size:
            raise PackError(f"{where} {declared}, stored at {offset} past the end of the {size}-byte file")
    elif layout == h5d.COMPACT:
        if stored != nbytes:
            raise PackError(f"{where} {declared} but stores {stored} bytes")
    elif layout == h5d.CHUNKED:
        _check_chunks(dsid, dcpl, shape, nbytes, stored, size, f"{where} {declared}")
    else:
        raise PackError(f"{where} has an unknown storage layout ({layout})")


def _check_type_cached(tid: Any, where: str, verdicts: dict[bytes, str | None] | None) -> None:
    try:
        key = tid.encode() if verdicts is not None else None
    except Exception:  # noqa: BLE001 - a type HDF5 cannot serialise is checked uncached
        key = None
    if key is None or verdicts is None:
        _check_type(tid, where)
        return
    if key not in verdicts:
        try:
            _check_type(tid, "")
            verdicts[key] = None
        except PackError as exc:
            verdicts[key] = str(exc)
    problem = verdicts[key]
    if problem is not None:
        raise PackError(f"{where}{problem}")


def _check_type(tid: Any, where: str) -> None:
    cls = tid.get_class()
    if cls not in (h5t.INTEGER, h5t.FLOAT, h5t.ENUM):
        raise PackError(f"{where} has a {_CLASS_NAMES.get(cls, f'class {cls}')} datatype; kwbin stores numbers only")
    try:
        dtype = tid.dtype
        if cls == h5t.ENUM and dtype.kind != "b":
            raise PackError(f"{where} has an enum datatype; kwbin stores numbers and bool only")
        kwbin_dtype(np.empty(0, dtype))
    except (WriteError, TypeError, ValueError) as exc:
        raise PackError(f"{where}: {exc}") from None


def _check_layout(dcpl: Any, layout: int, where: str) -> None:
    """External raw storage and virtual datasets: bytes in other files."""
    if dcpl.get_external_count() > 0:
        target = dcpl.get_external(0)[0].decode("utf-8", "replace")
        raise PackError(f"{where} keeps its bytes in the external file {target} (kwbin reads only the source file)")
    if layout == h5d.VIRTUAL:
        count = dcpl.get_virtual_count()
        target = dcpl.get_virtual_filename(0) if count else "(no mapping)"
        raise PackError(f"{where} is a virtual dataset mapped onto {target} (kwbin reads only the source file)")
    if dcpl.get_nfilters() and not dcpl.all_filters_avail():
        raise PackError(f"{where} is compressed with a filter this HDF5 library does not have")


def _check_chunks(
    dsid: h5d.DatasetID, dcpl: Any, shape: tuple[int, ...], nbytes: int, stored: int, size: int, what: str
) -> None:
    chunk = dcpl.get_chunk()
    expected = math.prod(-(-s // c) for s, c in zip(shape, chunk))
    written = dsid.get_num_chunks()
    if written < expected:
        raise PackError(f"{what} but only {written} of its {expected} chunks have storage allocated")
    if stored > size:
        raise PackError(f"{what}: its chunks claim {stored} bytes, more than the {size}-byte file")
    if dcpl.get_nfilters() and nbytes > MAX_RATIO * stored + RATIO_SLACK:
        raise PackError(
            f"{what} from {stored} compressed bytes, more than {MAX_RATIO} to 1 (a decompression bomb?)"
        )


def read_dataset(ds: h5py.Dataset) -> np.ndarray:
    """The dataset's values, after checking once more that they come from its own file."""
    dcpl = ds.id.get_create_plist()
    _check_layout(dcpl, dcpl.get_layout(), f"dataset {ds.name}")
    if ds.size and ds.id.get_storage_size() == 0:
        raise PackError(f"dataset {ds.name} has no storage allocated")
    return np.asarray(ds[()])


__all__ = ["MAX_RATIO", "check_dataset", "check_file", "read_dataset"]
