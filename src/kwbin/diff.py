"""``kwbin diff``: what differs between two kwbin files, as ``h5diff`` says it for HDF5.

Compared: layers (added, removed, class, parent, config), tensors by name
(added, removed, layer and weight, dtype, shape, source path, values) and the
metadata object key by key.  The layout (alignment, format minor version,
offsets, tensor order) is not content: it is reported as a note, never as a
difference.

Values: two tensors of the same name and shape are compared element by
element, streaming ``CHUNK`` elements at a time (memory bounded by the chunk,
not the tensor; one linear pass).  Elements ``a`` (file A) and ``b`` (file B)
are equal when ``|a - b| <= atol + rtol * |b|`` (numpy's ``isclose``, B the
reference; the defaults 0, 0 mean exactly equal values), when both are NaN
(at the same index), or when both are the same infinity.  ``-0.0`` equals
``0.0``.  Tensors of different dtypes are compared as float64 values (a
bfloat16 from its bits): the dtype change is reported and the values are
compared too.  Same-dtype chunks with identical bytes are equal without any
arithmetic; integers of the same dtype are compared exactly when no
tolerance is given.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from .reader import KwbinFile
from .records import Layer, TensorInfo

#: Elements per comparison step: a few MB of float64 temporaries whatever the tensor's size.
CHUNK = 1 << 18

_ABSENT = object()


@dataclass(frozen=True)
class Difference:
    """One difference: ``kind`` (``layer``, ``tensor``, ``metadata``), the name, what changed."""

    kind: str
    name: str
    change: str  # "added", "removed", "changed"
    detail: str


@dataclass(frozen=True)
class ValueDiff:
    """How two tensors' values differ (only built when some element differs)."""

    count: int
    total: int
    max_abs: float
    max_abs_index: tuple[int, ...]
    max_abs_values: tuple[float, float]
    max_rel: float
    max_rel_index: tuple[int, ...]


@dataclass
class DiffResult:
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tensors_compared: int = 0

    @property
    def equal(self) -> bool:
        return not self.differences


def diff_files(a: KwbinFile, b: KwbinFile, *, rtol: float = 0.0, atol: float = 0.0) -> DiffResult:
    """Every difference between two open files (A the old one, B the new one)."""
    if not (rtol >= 0 and atol >= 0):  # also refuses NaN
        raise ValueError(f"rtol and atol must be >= 0, not {rtol}, {atol}")
    result = DiffResult()
    _layout_notes(a, b, result.notes)
    result.differences += _layer_differences(a.layers, b.layers, result.notes)
    result.differences += _tensor_differences(a, b, rtol, atol, result)
    result.differences += [Difference("metadata", path, change, detail)
                           for path, change, detail in _json_differences(a.metadata, b.metadata, "")]  # fmt: skip
    return result


# --- layout (not content) ------------------------------------------------------------------------


def _layout_notes(a: KwbinFile, b: KwbinFile, notes: list[str]) -> None:
    if a.version != b.version:
        notes.append(f"format version {a.version[0]}.{a.version[1]} -> {b.version[0]}.{b.version[1]}")
    if a.alignment != b.alignment:
        notes.append(f"alignment {a.alignment} -> {b.alignment}")
    common = set(a) & set(b)
    if [n for n in a if n in common] != [n for n in b if n in common]:
        notes.append("the tensors common to both are in a different order")


# --- layers ----------------------------------------------------------------------------------


def _layer_differences(old: Sequence[Layer], new: Sequence[Layer], notes: list[str]) -> Iterator[Difference]:
    before = {layer.name: layer for layer in old}
    after = {layer.name: layer for layer in new}
    for layer in old:
        if layer.name not in after:
            yield Difference("layer", layer.name, "removed", f"[{layer.class_name or '-'}]")
    for layer in new:
        if layer.name not in before:
            yield Difference("layer", layer.name, "added", f"[{layer.class_name or '-'}]")
    for layer in old:
        other = after.get(layer.name)
        if other is None:
            continue
        if layer.class_name != other.class_name:
            yield Difference("layer", layer.name, "changed", f"class {layer.class_name!r} -> {other.class_name!r}")
        if layer.parent != other.parent:
            yield Difference("layer", layer.name, "changed", f"parent {layer.parent!r} -> {other.parent!r}")
        for path, change, detail in _json_differences(layer.config, other.config, "config"):
            yield Difference("layer", layer.name, "changed", f"{path} {change}: {detail}")
    common = set(before) & set(after)
    if [n.name for n in old if n.name in common] != [n.name for n in new if n.name in common]:
        notes.append("the layers common to both are in a different order")


# --- metadata and configs ----------------------------------------------------------------------


def _json_differences(old: Any, new: Any, path: str) -> Iterator[tuple[str, str, str]]:
    """``(path, change, detail)`` for each key that differs, descending into objects on both sides."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            sub = f"{path}.{key}" if path else key
            before, after = old.get(key, _ABSENT), new.get(key, _ABSENT)
            if before is _ABSENT:
                yield sub, "added", _short(after)
            elif after is _ABSENT:
                yield sub, "removed", _short(before)
            else:
                yield from _json_differences(before, after, sub)
    elif not _same_json(old, new):
        yield path or "(whole)", "changed", f"{_short(old)} -> {_short(new)}"


def _same_json(a: Any, b: Any) -> bool:
    """JSON equality: 1 and 1.0 are one number, true is not 1, key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_json, a, b))
    return type(a) is type(b) and a == b


def _short(value: Any, limit: int = 80) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=False) if value is not None else "null"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- tensors ----------------------------------------------------------------------------------


def _tensor_differences(a: KwbinFile, b: KwbinFile, rtol: float, atol: float, result: DiffResult) -> Iterator[Difference]:
    after = {t.name: t for t in b.tensors}
    names_a = {t.name for t in a.tensors}
    for t in a.tensors:
        if t.name not in after:
            yield Difference("tensor", t.name, "removed", f"{t.dtype} {_shape(t.shape)}")
    for t in b.tensors:
        if t.name not in names_a:
            yield Difference("tensor", t.name, "added", f"{t.dtype} {_shape(t.shape)}")
    for t in a.tensors:
        u = after.get(t.name)
        if u is None:
            continue
        result.tensors_compared += 1
        if (t.layer, t.weight) != (u.layer, u.weight):
            yield Difference("tensor", t.name, "changed", f"placed as {_place(t)} -> {_place(u)}")
        if t.source != u.source:
            yield Difference("tensor", t.name, "changed", f"source {t.source!r} -> {u.source!r}")
        if t.dtype != u.dtype:
            yield Difference("tensor", t.name, "changed", f"dtype {t.dtype} -> {u.dtype}")
        if t.shape != u.shape:
            yield Difference("tensor", t.name, "changed", f"shape {_shape(t.shape)} -> {_shape(u.shape)} (values not compared)")
            continue
        values = compare_values(a[t.name], t, b[u.name], u, rtol, atol)
        if values is not None:
            yield Difference("tensor", t.name, "changed", describe_values(values, t.shape))


def _place(t: TensorInfo) -> str:
    return "no layer" if t.layer is None else f"{t.layer!r} weight {t.weight!r}"


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _as_float64(view: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "bfloat16":  # raw bits: the high half of a float32
        return (view.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return view.astype(np.float64)


def _chunks(flat_a: np.ndarray, flat_b: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    for start in range(0, flat_a.size, CHUNK):
        yield start, flat_a[start : start + CHUNK], flat_b[start : start + CHUNK]


def compare_values(
    va: np.ndarray, ta: TensorInfo, vb: np.ndarray, tb: TensorInfo, rtol: float, atol: float
) -> ValueDiff | None:
    """None when every element is equal under the rule of the module docstring, else how they differ."""
    flat_a, flat_b = va.reshape(-1), vb.reshape(-1)
    exact_ints = (ta.dtype == tb.dtype and ta.dtype not in ("float16", "bfloat16", "float32", "float64")
                  and rtol == 0 and atol == 0)  # fmt: skip
    count = 0
    max_abs, abs_at, abs_values = -1.0, 0, (0.0, 0.0)
    max_rel, rel_at = -1.0, 0
    for start, ca, cb in _chunks(flat_a, flat_b):
        if ta.dtype == tb.dtype and ca.tobytes() == cb.tobytes():
            continue  # identical bytes: identical values
        fa, fb = _as_float64(ca, ta.dtype), _as_float64(cb, tb.dtype)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            delta = np.abs(fa - fb)
            if exact_ints:
                unequal = ca != cb
                delta = _int_distance(ca, cb)
            else:
                close = (delta <= atol + rtol * np.abs(fb)) | (np.isnan(fa) & np.isnan(fb)) | (fa == fb)
                unequal = ~close
            if not unequal.any():
                continue
            count += int(np.count_nonzero(unequal))
            # One side NaN, or infinities of opposite sign: an infinite difference.
            delta = np.where(unequal & ~np.isfinite(delta), np.inf, delta)
            delta = np.where(unequal, delta, 0.0)
            rel = np.where(unequal, delta / np.abs(fb), 0.0)
            rel = np.where(np.isnan(rel), np.inf, rel)
        i = int(np.argmax(delta))
        if delta[i] > max_abs:
            max_abs, abs_at, abs_values = float(delta[i]), start + i, (float(fa[i]), float(fb[i]))
        j = int(np.argmax(rel))
        if rel[j] > max_rel:
            max_rel, rel_at = float(rel[j]), start + j
    if not count:
        return None
    shape = ta.shape
    return ValueDiff(count, int(flat_a.size), max_abs, _index(abs_at, shape), abs_values, max_rel, _index(rel_at, shape))


def _int_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a - b|`` of same-dtype integers without overflow: exact in uint64 (modulo 2**64), then float64."""
    high, low = np.maximum(a, b).astype(np.uint64), np.minimum(a, b).astype(np.uint64)
    return (high - low).astype(np.float64)


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def describe_values(v: ValueDiff, shape: tuple[int, ...]) -> str:
    def at(index: tuple[int, ...]) -> str:
        return "[" + ", ".join(map(str, index)) + "]"

    return (f"{v.count} of {v.total} values differ; largest absolute difference {v.max_abs:.9g} at {at(v.max_abs_index)} "
            f"({v.max_abs_values[0]:.9g} -> {v.max_abs_values[1]:.9g}); largest relative difference "
            f"{v.max_rel:.9g} at {at(v.max_rel_index)}")  # fmt: skip


def format_lines(result: DiffResult, shown: Callable[[str], str] = str) -> list[str]:
    """The report, one difference a line: ``tensor changed: NAME: detail``."""
    lines = []
    for d in result.differences:
        subject = f"{d.kind} {d.change}: {shown(d.name)}"
        lines.append(f"{subject}: {d.detail}" if d.detail else subject)
    lines += [f"note: {n} (layout, not a difference)" for n in result.notes]
    return lines
