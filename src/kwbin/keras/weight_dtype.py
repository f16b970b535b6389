"""``pack(..., dtype=...)``: store a model's floating weights as float16 or bfloat16.

Only floating tensors of layers change dtype; integer and boolean tensors
never do.  Some floating tensors are kept as they are in the source:

- normalisation statistics (BatchNormalization's moving mean and variance,
  Normalization's adapted mean, variance and count): a variance is added to
  a small epsilon (1e-3, 1.001e-5 in ResNet) before its square root, where
  float16's fixed subnormal spacing (6e-8) and its range (65504) are too
  coarse and too narrow; they are a few floats per channel, so keeping them
  costs almost nothing;
- tensors outside layers (optimizer state, model-level variables): Adam's
  second moments are squares that underflow float16.

Rounding is to nearest, ties to even, from the source's own precision (a
float64 goes through float32 rounded to odd, so it is rounded once).  A
finite value that would become infinite is refused, naming the tensor, the
index and the value: weights are never clamped silently.  NaNs and
infinities of the source stay what they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import format as fmt
from .errors import PackError
from .model import Layer, Weight

DTYPES = ("float32", "float16", "bfloat16")

_STATISTICS = {
    "BatchNormalization": {"moving_mean", "moving_variance", "running_mean", "running_std"},
    "SyncBatchNormalization": {"moving_mean", "moving_variance"},
    "Normalization": {"mean", "variance", "count"},
}

_LARGEST = {"float32": float(np.finfo(np.float32).max), "float16": 65504.0, "bfloat16": 3.3895313892515355e38}


def check_dtype(dtype: str | None) -> str | None:
    if dtype is None or dtype in DTYPES:
        return dtype
    raise PackError(f"dtype {dtype!r}: expected one of {', '.join(DTYPES)} (or None to keep the source's dtypes)")


def is_statistic(layer: Layer, weight: Weight) -> bool:
    """A normalisation statistic, kept at the source's precision."""
    class_name = layer.class_name.rsplit(">", 1)[-1]  # tf.keras registers some as "experimental>..."
    return weight.name in _STATISTICS.get(class_name, ())


@dataclass
class Conversion:
    """Which tensors become ``requested``; what the metadata says about it."""

    requested: str
    converted: int = 0
    kept: list[str] = field(default_factory=list)

    def target(self, tensor: str, kind: fmt.DType, convertible: bool) -> fmt.DType:
        """The dtype a tensor is stored as (``convertible``: a layer weight, not a statistic)."""
        if not kind.name.startswith(("float", "bfloat")):
            return kind
        if not convertible:
            self.kept.append(tensor)
            return kind
        self.converted += 1
        return fmt.DTYPE_BY_NAME[self.requested]

    def metadata(self) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "rounding": "nearest-even",
            "converted": self.converted,
            "kept": self.kept,
            "kept_why": "normalisation statistics (epsilon-sensitive variances) and tensors outside layers "
            "(optimizer state) keep the source's dtype",
        }


def _float32_round_to_odd(data: np.ndarray) -> np.ndarray:
    """float64 -> float32 rounded to odd: a second rounding to nearest-even is then exact."""
    near = data.astype(np.float32)
    inexact = np.isfinite(data) & (near.astype(np.float64) != data)
    if not inexact.any():
        return near
    away = inexact & (np.abs(near.astype(np.float64)) > np.abs(data))
    near[away] = np.nextafter(near[away], np.float32(0))  # truncate toward zero...
    bits = near.view(np.uint32)
    bits[inexact] |= 1  # ...and mark the lost bits in the lowest one
    return near


def _bfloat16_bits(data: np.ndarray) -> np.ndarray:
    """Round to nearest even; NaNs stay quiet NaNs of the same sign."""
    bits = np.ascontiguousarray(data, dtype="<f4").view("<u4")
    # Only NaNs' bit patterns (replaced below) can wrap around 2^32 here.
    rounded = ((bits + np.uint32(0x7FFF) + ((bits >> 16) & 1)) >> 16).astype("<u2")
    nan = np.isnan(data)
    if nan.any():
        rounded[nan] = ((bits[nan] >> 16) | 0x40).astype("<u2")
    return rounded


def convert(data: np.ndarray, target: str, tensor: str, source: str) -> np.ndarray:
    """``data`` (floating) as ``target``'s little-endian bytes; bfloat16 as its uint16 bits."""
    if data.dtype.kind == "u":  # a bfloat16 source, as its bits: widen exactly first
        data = (data.astype("<u4") << 16).view("<f4")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked below, by value
        out = _narrow(data, target)
    infinite = (out & 0x7FFF) == 0x7F80 if target == "bfloat16" else np.isinf(out)
    overflow = infinite & np.isfinite(data)
    if overflow.any():
        _refuse(data, overflow, target, tensor, source)
    return out


def _narrow(data: np.ndarray, target: str) -> np.ndarray:
    if data.dtype == np.float64 and target != "float16":  # numpy rounds float64 -> float16 once already
        narrow = _float32_round_to_odd(data) if target == "bfloat16" else data.astype(np.float32)
    else:
        narrow = data
    if target == "bfloat16":
        return _bfloat16_bits(narrow.astype(np.float32, copy=False))
    return np.ascontiguousarray(narrow, dtype=fmt.DTYPE_BY_NAME[target].numpy)


def _refuse(data: np.ndarray, overflow: np.ndarray, target: str, tensor: str, source: str) -> None:
    where = np.unravel_index(int(np.argmax(overflow)), data.shape) if data.ndim else ()
    value = data[where].item()
    raise PackError(
        f"tensor {tensor!r} (dataset {source}): the value {value!r} at index {tuple(int(i) for i in where)} "
        f"is beyond {target}'s largest finite value {_LARGEST[target]:g} ({int(overflow.sum())} such values): "
        f"it cannot be stored as {target}; keep the source's dtype"
        + (" or use bfloat16" if target == "float16" else "")
    )
