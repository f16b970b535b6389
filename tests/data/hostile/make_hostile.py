"""Write the hostile-source corpus: HDF5 and .keras files `kwbin pack` must refuse by name.

    python tests/data/hostile/make_hostile.py      # rewrites the files and expected.tsv here

Each case is a function writing one file; ``expected.tsv`` lists each file with a fragment of
the one-line error it must get.  Files that reach outside themselves name ``secret.txt`` and
``other.h5`` by relative paths: tests/test_keras_hostile.py copies the corpus into a temporary
folder, writes those two there (with a unique marker) and packs from that folder, so that a
packer following them would copy the marker into its output.  ``big_cases`` writes the cases
too large to commit (a 4 GiB zip bomb, a huge attribute) and the ones naming absolute paths.
"""

from __future__ import annotations

import io
import sys
import warnings
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
KERAS = HERE.parent / "keras" / "mlp_k3.keras"
SECRET_SIZE = 64  # bytes of secret.txt the external storage declares


def _legacy(f: h5py.File) -> h5py.Group:
    """A Keras 2 save_weights layout with one layer 'dense' whose weight is dense/kernel:0."""
    f.attrs["layer_names"] = [b"dense"]
    layer = f.create_group("dense")
    layer.attrs["weight_names"] = [b"dense/kernel:0"]
    return layer.create_group("dense")


def _keras3(f: h5py.File) -> h5py.Group:
    """A Keras 3 .weights.h5 layout: layers/dense/vars/0."""
    return f.create_group("layers/dense/vars")


def ext_storage(path: Path, target: str = "secret.txt") -> None:
    with h5py.File(path, "w") as f:
        _legacy(f).create_dataset("kernel:0", (SECRET_SIZE,), "u1", external=[(target, 0, SECRET_SIZE)])


def ext_storage_k3(path: Path, target: str = "secret.txt") -> None:
    with h5py.File(path, "w") as f:
        _keras3(f).create_dataset("0", (SECRET_SIZE,), "u1", external=[(target, 0, SECRET_SIZE)])


def ext_link(path: Path, target: str = "other.h5") -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = h5py.ExternalLink(target, "/k")


def virtual(path: Path, target: str = "other.h5") -> None:
    with h5py.File(path, "w") as f:
        # Low level for a creation property list without timestamps (a reproducible file).
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_obj_track_times(False)
        space = h5py.h5s.create_simple((SECRET_SIZE,))
        dcpl.set_virtual(space, target.encode(), b"k", h5py.h5s.create_simple((SECRET_SIZE,)))
        h5py.h5d.create(_legacy(f).id, b"kernel:0", h5py.h5t.STD_U8LE, space, dcpl=dcpl)


def soft_link_out(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f["elsewhere"] = np.arange(4, dtype="f4")
        _legacy(f)["kernel:0"] = h5py.SoftLink("/elsewhere")


def soft_link_self(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = h5py.SoftLink("/dense/dense/kernel:0")


def unallocated(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f).create_dataset("kernel:0", (40000, 40000), "f4", fillvalue=1.5, track_times=False)


def unallocated_k3(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _keras3(f).create_dataset("0", (40000, 40000), "f4")


def chunks_missing(path: Path) -> None:
    with h5py.File(path, "w") as f:
        ds = _legacy(f).create_dataset("kernel:0", (1 << 20, 1 << 10), "f4", chunks=(16, 16))
        ds[0:16, 0:16] = 1.0  # one chunk of 65536 x 64 = 4194304


def compressed_bomb(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f).create_dataset("kernel:0", data=np.zeros((1 << 13, 1 << 10), "f4"), chunks=(1 << 10, 1 << 10),
                                  compression="gzip", compression_opts=9)  # fmt: skip


def null_dataspace(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = h5py.Empty("f4")


def too_many_dims(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = np.zeros((1,) * 9, "f4")


def _dtype_case(make):
    def write(path: Path) -> None:
        with h5py.File(path, "w") as f:
            make(f, _legacy(f))

    return write


compound = _dtype_case(lambda f, g: g.create_dataset("kernel:0", data=np.zeros(3, "f4,i4")))
vlen_strings = _dtype_case(lambda f, g: g.create_dataset("kernel:0", data=["a", "bc"], dtype=h5py.string_dtype()))
fixed_strings = _dtype_case(lambda f, g: g.create_dataset("kernel:0", data=np.array([b"ab", b"cd"])))
references = _dtype_case(lambda f, g: g.create_dataset("kernel:0", data=[f.ref], dtype=h5py.ref_dtype))
enum = _dtype_case(lambda f, g: g.create_dataset("kernel:0", data=np.arange(3, dtype="i1"),
                                                 dtype=h5py.enum_dtype({"A": 0, "B": 1, "C": 2}, "i1")))
opaque = _dtype_case(lambda f, g: g.create_dataset("kernel:0", data=np.zeros(3, "V4")))
def _vlen(f: h5py.File, g: h5py.Group) -> None:
    ds = g.create_dataset("kernel:0", (2,), dtype=h5py.vlen_dtype("f4"))
    ds[0] = np.zeros(2, "f4")
    ds[1] = np.ones(3, "f4")


vlen_floats = _dtype_case(_vlen)
long_double = _dtype_case(lambda f, g: g.create_dataset("kernel:0", data=np.zeros(3, np.longdouble)))


def layer_names_numbers(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = np.zeros(3, "f4")
        f.attrs["layer_names"] = np.arange(3)


def weight_names_compound(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = np.zeros(3, "f4")
        f["dense"].attrs["weight_names"] = np.zeros(2, "f4,i4")


def layer_names_reference(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = np.zeros(3, "f4")
        f.attrs.create("layer_names", [f.ref], dtype=h5py.ref_dtype)


def layer_names_null(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = np.zeros(3, "f4")
        f.attrs["layer_names"] = h5py.Empty("S5")


def layer_names_not_utf8(path: Path) -> None:
    with h5py.File(path, "w") as f:
        _legacy(f)["kernel:0"] = np.zeros(3, "f4")
        f.attrs["layer_names"] = [b"\xff\xfe"]


# --- .keras archives -----------------------------------------------------------------------


def _members() -> dict[str, bytes]:
    with zipfile.ZipFile(KERAS) as z:
        return {name: z.read(name) for name in ("config.json", "metadata.json", "model.weights.h5")}


def _archive(path: Path, members: list[tuple[str, bytes]], compress: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compress) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compress_type=compress)


def _with_weights(write_h5):
    def write(path: Path) -> None:
        buffer = io.BytesIO()
        scratch = path.with_suffix(".tmp.h5")
        write_h5(scratch)
        buffer.write(scratch.read_bytes())
        scratch.unlink()
        m = _members()
        _archive(path, [("config.json", m["config.json"]), ("metadata.json", m["metadata.json"]),
                        ("model.weights.h5", buffer.getvalue())])  # fmt: skip

    return write


def duplicate_member(path: Path) -> None:
    m = _members()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate: that is the point
        _archive(path, [*m.items(), ("model.weights.h5", m["model.weights.h5"])])


def dotdot_member(path: Path) -> None:
    _archive(path, [*_members().items(), ("../../evil.txt", b"x")])


def encrypted_member(path: Path) -> None:
    _archive(path, list(_members().items()))
    data = bytearray(path.read_bytes())
    _patch_member(data, b"model.weights.h5", local=6, central=8, value=lambda old: old | 1, width=2)
    path.write_bytes(bytes(data))


def truncated_archive(path: Path) -> None:
    _archive(path, list(_members().items()))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def stored_past_the_end(path: Path) -> None:
    """A stored member declaring 4 GiB in a 50 KB archive (compressed and uncompressed sizes agree)."""
    _archive(path, list(_members().items()))
    with zipfile.ZipFile(path) as z:
        real = z.getinfo("model.weights.h5").file_size
    data = bytearray(path.read_bytes())
    # Sizes just under the zip64 escape: the member runs far past the end of the archive.
    _patch_member(data, b"model.weights.h5", local=18, central=20, value=lambda old: 0xFFFFFFF0, width=4)
    _patch_member(data, b"model.weights.h5", local=22, central=24, value=lambda old: 0xFFFFFFF0, width=4)
    assert real < 0xFFFFFFF0
    path.write_bytes(bytes(data))


def zeros_not_hdf5(path: Path) -> None:
    """15 MiB of zeros, deflated to 15 KB: within the ratio floor, but not HDF5."""
    m = _members()
    _archive(path, [("config.json", m["config.json"]), ("metadata.json", m["metadata.json"]),
                    ("model.weights.h5", bytes(15 << 20))], zipfile.ZIP_DEFLATED)  # fmt: skip


def _patch_member(data: bytearray, name: bytes, local: int, central: int, value, width: int) -> None:
    """Rewrite one field of ``name``'s local header and central directory entry."""
    at = data.index(b"PK\x03\x04")
    while data[at + 30 : at + 30 + len(name)] != name:
        at = data.index(b"PK\x03\x04", at + 4)
    old = int.from_bytes(data[at + local : at + local + width], "little")
    data[at + local : at + local + width] = value(old).to_bytes(width, "little")
    at = data.index(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name:
        at = data.index(b"PK\x01\x02", at + 4)
    old = int.from_bytes(data[at + central : at + central + width], "little")
    data[at + central : at + central + width] = value(old).to_bytes(width, "little")


CASES = {
    "ext_storage.h5": (ext_storage, "keeps its bytes in the external file secret.txt"),
    "ext_storage_k3.weights.h5": (ext_storage_k3, "keeps its bytes in the external file secret.txt"),
    "ext_link.h5": (ext_link, "is an external link to /k in other.h5"),
    "virtual.h5": (virtual, "is a virtual dataset mapped onto other.h5"),
    "soft_link_out.h5": (soft_link_out, "is a soft link to /elsewhere"),
    "soft_link_self.h5": (soft_link_self, "is a soft link to /dense/dense/kernel:0"),
    "unallocated.h5": (unallocated, "declares shape (40000, 40000) (6400000000 bytes) but has no storage allocated"),
    "unallocated_k3.weights.h5": (unallocated_k3, "/layers/dense/vars/0 declares shape (40000, 40000)"),
    "chunks_missing.h5": (chunks_missing, "but only 1 of its 4194304 chunks have storage allocated"),
    "compressed_bomb.h5": (compressed_bomb, "a decompression bomb"),
    "null_dataspace.h5": (null_dataspace, "has a null dataspace"),
    "too_many_dims.h5": (too_many_dims, "has 9 dimensions"),
    "compound.h5": (compound, "has a compound datatype"),
    "vlen_strings.h5": (vlen_strings, "has a string datatype"),
    "fixed_strings.h5": (fixed_strings, "has a string datatype"),
    "references.h5": (references, "has a reference datatype"),
    "enum.h5": (enum, "has an enum datatype"),
    "opaque.h5": (opaque, "has a opaque datatype"),
    "vlen_floats.h5": (vlen_floats, "has a variable-length datatype"),
    "long_double.h5": (long_double, "cannot be stored"),
    "layer_names_numbers.h5": (layer_names_numbers, "attribute 'layer_names': expected a list of strings"),
    "weight_names_compound.h5": (weight_names_compound, "attribute 'weight_names': expected a list of strings"),
    "layer_names_reference.h5": (layer_names_reference, "attribute 'layer_names': expected a string attribute"),
    "layer_names_null.h5": (layer_names_null, "attribute 'layer_names' has no value"),
    "layer_names_not_utf8.h5": (layer_names_not_utf8, "attribute 'layer_names': not UTF-8 text"),
    "ext_storage.keras": (_with_weights(ext_storage), "keeps its bytes in the external file secret.txt"),
    "ext_link.keras": (_with_weights(ext_link), "is an external link to /k in other.h5"),
    "virtual.keras": (_with_weights(virtual), "is a virtual dataset mapped onto other.h5"),
    "unallocated.keras": (_with_weights(unallocated_k3), "has no storage allocated"),
    "duplicate_member.keras": (duplicate_member, "holds model.weights.h5 twice"),
    "dotdot_member.keras": (dotdot_member, "unsafe member name '../../evil.txt'"),
    "encrypted_member.keras": (encrypted_member, "model.weights.h5 is encrypted"),
    "truncated_archive.keras": (truncated_archive, "not a readable zip archive"),
    "stored_past_the_end.keras": (stored_past_the_end, "the archive is truncated"),
    "zeros_not_hdf5.keras": (zeros_not_hdf5, "not an HDF5 file"),
}


def write_secrets(folder: Path, marker: bytes) -> None:
    """secret.txt and other.h5 (dataset /k), both holding ``marker``, as the corpus names them."""
    secret = (marker * (SECRET_SIZE // len(marker) + 1))[:SECRET_SIZE]
    (folder / "secret.txt").write_bytes(secret)
    with h5py.File(folder / "other.h5", "w") as f:
        f["k"] = np.frombuffer(secret, "u1")


def zip_bomb(path: Path, declared: int = 4 << 30) -> None:
    """A .keras whose model.weights.h5 is ``declared`` bytes of zeros, honestly deflated (4 MB per 4 GiB).

    Built in milliseconds: after a full flush, deflate's output for each further MiB of zeros
    is the same bytes, so one block is repeated.
    """
    block_size = 1 << 20
    assert declared % block_size == 0
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(bytes(block_size)) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(bytes(block_size)) + packer.flush(zlib.Z_FULL_FLUSH)
    assert again == block or not block, "deflate's output for repeated zeros must repeat"
    block = again
    tail = packer.flush()
    body = block * (declared // block_size) + tail
    crc = zlib.crc32(bytes(block_size))  # of the first MiB only: nobody may read far enough to check it
    m = _members()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("config.json", m["config.json"])
        z.writestr("metadata.json", m["metadata.json"])
    head = buffer.getvalue()
    central_at = head.index(b"PK\x01\x02")
    local_part, central_part = head[:central_at], head[central_at : head.index(b"PK\x05\x06")]
    name = b"model.weights.h5"
    zip64 = (1).to_bytes(2, "little") + (16).to_bytes(2, "little") + declared.to_bytes(8, "little") + len(
        body
    ).to_bytes(8, "little")
    offset = len(local_part)
    local = (b"PK\x03\x04" + (45).to_bytes(2, "little") + bytes(2) + (8).to_bytes(2, "little") + bytes(4)
             + crc.to_bytes(4, "little") + b"\xff\xff\xff\xff" * 2 + len(name).to_bytes(2, "little")
             + len(zip64).to_bytes(2, "little") + name + zip64)  # fmt: skip
    zip64c = (1).to_bytes(2, "little") + (16).to_bytes(2, "little") + declared.to_bytes(8, "little") + len(
        body
    ).to_bytes(8, "little")
    central = (b"PK\x01\x02" + (45).to_bytes(2, "little") + (45).to_bytes(2, "little") + bytes(2)
               + (8).to_bytes(2, "little") + bytes(4) + crc.to_bytes(4, "little") + b"\xff\xff\xff\xff" * 2
               + len(name).to_bytes(2, "little") + len(zip64c).to_bytes(2, "little") + bytes(10)
               + offset.to_bytes(4, "little") + name + zip64c)  # fmt: skip
    directory = central_part + central
    directory_at = offset + len(local) + len(body)
    end = (b"PK\x05\x06" + bytes(4) + (3).to_bytes(2, "little") * 2 + len(directory).to_bytes(4, "little")
           + directory_at.to_bytes(4, "little") + bytes(2))  # fmt: skip
    with open(path, "wb") as out:
        out.write(local_part + local)
        out.write(body)
        out.write(directory + end)


def huge_attribute(path: Path) -> None:
    """layer_names with more entries than kwbin reads (about 1 MB of one-byte names, dense storage)."""
    with h5py.File(path, "w", libver="latest") as f:
        _legacy(f)["kernel:0"] = np.zeros(3, "f4")
        f.attrs.create("layer_names", np.full((1 << 20) + 1, b"a", "S1"))


def big_cases(folder: Path, secret_folder: Path) -> dict[str, str]:
    """Write the cases not committed into ``folder``; their expected error fragments."""
    secret = str(secret_folder / "secret.txt")
    other = str(secret_folder / "other.h5")
    zip_bomb(folder / "zip_bomb.keras")
    huge_attribute(folder / "huge_attribute.h5")
    ext_storage(folder / "ext_storage_absolute.h5", secret)
    ext_link(folder / "ext_link_absolute.h5", other)
    virtual(folder / "virtual_absolute.h5", other)
    _with_weights(lambda p: ext_storage(p, secret))(folder / "ext_storage_absolute.keras")
    return {
        "zip_bomb.keras": "more than 100 to 1 (a zip bomb?)",
        "huge_attribute.h5": "attribute 'layer_names' holds 1048577 entries",
        "ext_storage_absolute.h5": f"keeps its bytes in the external file {secret}",
        "ext_link_absolute.h5": f"is an external link to /k in {other}",
        "virtual_absolute.h5": f"is a virtual dataset mapped onto {other}",
        "ext_storage_absolute.keras": f"keeps its bytes in the external file {secret}",
    }


def main(folder: Path = HERE) -> None:
    lines = []
    for name, (write, expected) in CASES.items():
        write(folder / name)
        lines.append(f"{name}\t{expected}\n")
    (folder / "expected.tsv").write_text("".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
