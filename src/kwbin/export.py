r"""``kwbin export``: the per-tensor dump users used to make by hand, made correctly.

One raw little-endian ``.bin`` and/or one ``.txt`` per tensor, named by layer
and weight, plus ``index.json`` and ``index.tsv`` with each file's tensor,
dtype and shape.  Text is lossless: every float is printed with enough
significant digits to read back the same bits (9 for float32).  The folder
is built beside the destination and renamed into place when complete.

File names are safe on any file system: ASCII letters, digits, ``.``, ``_``
and ``-`` only, unique ignoring case, never a Windows device name, at most
100 characters before the extension (a longer name is cut and ends with 8
hex digits of its SHA-256).  The full tensor name is in both indexes.  In
``index.tsv`` and the ``.txt`` headers a name is escaped: backslash, tab,
newline and carriage return as ``\\``, ``\t``, ``\n``, ``\r``, any other
control or line-separator character as ``\uXXXX`` (see ``tsv_unescape``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from typing import Any

import numpy as np

from .atomic import _umask
from .reader import KwbinFile

#: Significant digits that make a text value read back to the same bits.
_DIGITS = {"float16": 5, "bfloat16": 9, "float32": 9, "float64": 17}


#: Longest file name stem; with ".NN" and ".bin" it stays far below every file system's 255.
MAX_STEM = 100
#: Names Windows reserves for devices, whatever the extension.
_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(10)}
_TSV_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_TSV_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
#: Control characters, and what str.splitlines() also splits at.
_NEEDS_ESCAPE = re.compile("[\\\\\x00-\x1f\x7f-\x9f\u2028\u2029]")


def tsv_escape(text: str) -> str:
    """A name as written into index.tsv: no tab, no line break, reversible."""
    return _NEEDS_ESCAPE.sub(lambda m: _TSV_ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


def tsv_unescape(text: str) -> str:
    """The inverse of ``tsv_escape``."""
    return re.sub(r"\\(u[0-9a-f]{4}|.)", lambda m: _TSV_UNESCAPES.get(m.group(1)) or chr(int(m.group(1)[1:], 16)), text)


def _safe(text: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "tensor"
    first, dot, rest = stem.partition(".")
    if first.upper() in _DEVICES:
        stem = f"{first}_{dot}{rest}"
    if len(stem) > MAX_STEM:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        stem = f"{stem[: MAX_STEM - 9]}-{digest}"
    return stem


def _file_stem(layer: str | None, weight: str, name: str, used: set[str]) -> str:
    stem = _safe(f"{layer}.{weight}" if layer else name)
    candidate, n = stem, 1
    while candidate.lower() in used:  # case-insensitive file systems too
        n += 1
        candidate = f"{stem}.{n}"
    used.add(candidate.lower())
    return candidate


def _as_text(values: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "bfloat16":
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values


def _write_text(path: str, values: np.ndarray, dtype: str, header: str) -> None:
    data = _as_text(np.asarray(values), dtype)
    rows = data.reshape(data.shape[0], -1) if data.ndim >= 2 else data.reshape(-1, 1)
    if dtype in _DIGITS:
        fmt = f"%.{_DIGITS[dtype]}g"
    elif dtype == "bool":
        rows, fmt = rows.astype(np.uint8), "%d"
    else:
        fmt = "%d"
    np.savetxt(path, rows, fmt=fmt, delimiter=" ", header=header, comments="# ", encoding="utf-8")


def export(f: KwbinFile, folder: str, *, text: bool = True, raw: bool = True) -> list[dict[str, Any]]:
    """Write the export folder; returns the index entries."""
    folder = os.path.abspath(folder)
    if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)):
        found = "a folder that is not empty" if os.path.isdir(folder) else "a file"
        raise FileExistsError(f"{folder}: cannot export into it: expected a new or empty folder, found {found}")
    parent = os.path.dirname(folder)
    work = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.", suffix=".kwbin-tmp", dir=parent)
    try:
        index = _write_all(f, work, text=text, raw=raw)
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp made it 0700; a plain mkdir would not
        if os.path.isdir(folder):
            os.rmdir(folder)  # empty, checked above
        os.rename(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return index


def _write_all(f: KwbinFile, work: str, *, text: bool, raw: bool) -> list[dict[str, Any]]:
    used: set[str] = {"index"}
    index = []
    for info in f.tensors:
        stem = _file_stem(info.layer, info.weight, info.name, used)
        entry: dict[str, Any] = {
            "name": info.name, "layer": info.layer, "weight": info.weight, "dtype": info.dtype,
            "shape": list(info.shape), "nbytes": info.nbytes, "crc32": info.crc32,
        }  # fmt: skip
        values = f[info.name]
        if raw:
            entry["bin"] = f"{stem}.bin"
            with open(os.path.join(work, entry["bin"]), "wb") as out:
                out.write(values.reshape(-1).view(np.uint8).tobytes())
        if text:
            entry["txt"] = f"{stem}.txt"
            header = f"{tsv_escape(info.name)} {info.dtype} shape {'x'.join(map(str, info.shape)) or 'scalar'} row-major"
            _write_text(os.path.join(work, entry["txt"]), values, info.dtype, header)
        index.append(entry)
    with open(os.path.join(work, "index.json"), "w", encoding="utf-8") as out:
        json.dump({"source": f.name, "tensors": index}, out, indent=2, ensure_ascii=False)
        out.write("\n")
    with open(os.path.join(work, "index.tsv"), "w", encoding="utf-8") as out:
        out.write("# file\tname (escaped: \\\\ \\t \\n \\r \\uXXXX)\tdtype\tshape (row-major, little-endian)\n")
        for entry in index:
            shape = "x".join(map(str, entry["shape"])) or "scalar"
            out.write(f"{entry.get('bin') or entry.get('txt')}\t{tsv_escape(entry['name'])}\t{entry['dtype']}\t{shape}\n")
    return index
