"""Weight shapes a layer's config implies, checked for every generation of Keras.

A file packed with ``--arch`` pairs weights with a config: a 300-unit LSTM's
weights under a 50-unit config would give a kwbin file whose config says
``units: 50`` over a (59, 1200) kernel.  ``check_shapes`` compares each
weight with what the config implies and raises ``WeightShapeMismatch``
(layer, weight, found shape, expected shape) on the first disagreement.

Expected shapes leave unknown what the config does not say (usually the
input dimension, ``?`` in messages) but then require consistency: an LSTM's
kernel and recurrent kernel both have 4 x units columns, a Bidirectional's
two directions read the same input, a separable conv's pointwise kernel
takes what its depthwise kernel gives.  Weights are recognised by the last
part of their canonical name (``kernel``, ``recurrent_kernel``, Keras 1's
``W_i``/``U``/``b``, attention's ``query/kernel``); a weight a rule does not
name is left alone (counts are checked elsewhere, per ``variables.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Union

from .config import ConfigLayer
from .errors import WeightShapeMismatch

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Multiple:
    """A dimension that must be a positive multiple of ``of``."""

    of: int

    def __str__(self) -> str:
        return f"{self.of}k"


Dim = Union[int, None, Multiple]  # None: any size
Want = tuple[Dim, ...]
Weights = list[tuple[str, Shape]]
#: (weight name, expected shape, why) for each weight a rule speaks for
Expectation = tuple[str, Want, str]
Rule = Callable[[dict[str, Any], Weights], Iterator[Expectation]]


def check_shapes(source: str, member: ConfigLayer, layer: Any) -> None:
    """Raise WeightShapeMismatch if a weight of ``layer`` has a shape its config does not allow."""
    weights = [(w.name, tuple(int(d) for d in w.dataset.shape)) for w in layer.weights]
    if not weights or not member.class_name:
        return
    for name, want, why in expectations(member.class_name, member.config, weights):
        found = dict(weights)[name]
        if not fits(found, want):
            raise WeightShapeMismatch(
                f"{source}: layer {member.name!r} ({member.class_name}): weight {name} has shape {found}, "
                f"its config implies {show(want)} ({why}): the architecture does not match these weights",
                layer=member.name, weight=name, found=found, expected=show(want),
            )  # fmt: skip


def expectations(class_name: str, config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    rule = _RULES.get(class_name)
    if rule is not None and isinstance(config, dict):
        yield from rule(config, weights)


def fits(found: Shape, want: Want) -> bool:
    if len(found) != len(want):
        return False
    for size, dim in zip(found, want):
        if isinstance(dim, Multiple):
            if size <= 0 or size % dim.of:
                return False
        elif dim is not None and size != dim:
            return False
    return True


def show(want: Want) -> str:
    parts = ["?" if d is None else str(d) for d in want]
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


# --- helpers -------------------------------------------------------------------


def _int(config: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _ints(value: Any, rank: int) -> tuple[int, ...] | None:
    """A kernel_size/strides-like config value as ``rank`` ints, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * rank
    if isinstance(value, (list, tuple)) and len(value) == rank and all(type(v) is int for v in value):
        return tuple(value)
    return None


def _last(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _find(weights: Weights, *names: str) -> tuple[str, Shape] | None:
    """The weight whose last name part is one of ``names``."""
    for name, shape in weights:
        if _last(name) in names:
            return name, shape
    return None


def _rank(class_name: str) -> int:
    digits = re.search(r"([123])D", class_name)
    return int(digits.group(1)) if digits else 2


# --- dense, embedding, normalisation, activation ---------------------------------


def _dense(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    units = _int(config, "units", "output_dim")
    if units is None:
        return
    why = f"units {units}"
    if found := _find(weights, "kernel", "W"):
        yield found[0], (None, units), why
    if found := _find(weights, "bias", "b"):
        yield found[0], (units,), why


def _embedding(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    rows, cols = _int(config, "input_dim"), _int(config, "output_dim")
    if (found := _find(weights, "embeddings", "W")) and cols is not None:
        yield found[0], (rows, cols), f"input_dim {rows}, output_dim {cols}"


def _same_vectors(names: Iterable[str], layer_norm: bool) -> Rule:
    """BatchNormalization, LayerNormalization: all its vectors have one shape."""
    wanted = tuple(names)

    def rule(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
        mine = [(n, s) for n, s in weights if _last(n) in wanted]
        if not mine:
            return
        axis = config.get("axis")
        count = len(axis) if isinstance(axis, list) and axis else 1
        several = count > 1
        # LayerNormalization: one dimension per normalised axis; BatchNormalization
        # over one axis: a vector (over several, tf.keras broadcasts to the input's rank).
        rank: int | None = count if layer_norm else (None if several else 1)
        first = mine[0][1]
        want: Want = first if rank is None or len(first) == rank else (None,) * rank
        why = f"one shape for {', '.join(_last(n) for n, _ in mine)}" + (f", {rank} axes" if rank else "")
        for name, _ in mine:
            yield name, want, why

    return rule


def _group_norm(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    groups = _int(config, "groups")
    mine = [(n, s) for n, s in weights if _last(n) in ("gamma", "beta")]
    if not mine:
        return
    first = mine[0][1]
    size: Dim = first[0] if len(first) == 1 and (groups is None or first[0] % groups == 0) else None
    if size is None and groups is not None:
        size = Multiple(groups)
    for name, _ in mine:
        yield name, (size,), f"channels divisible into groups {groups}, one shape for gamma and beta"


def _prelu(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    found = _find(weights, "alpha", "alphas")
    shared = config.get("shared_axes")
    if not found or not isinstance(shared, list) or not shared:
        return
    axes = [a for a in shared if isinstance(a, int) and not isinstance(a, bool)]
    rank = max(len(found[1]), max((a for a in axes if a > 0), default=0))
    want: list[Dim] = [None] * rank
    for axis in axes:
        index = axis - 1 if axis > 0 else rank + axis
        if 0 <= index < rank:
            want[index] = 1
    yield found[0], tuple(want), f"size 1 on shared_axes {axes}"


# --- convolutions -----------------------------------------------------------------------


def _conv(config: dict[str, Any], weights: Weights, class_name: str) -> Iterator[Expectation]:
    rank = _rank(class_name)
    transpose = "Transpose" in class_name or "Deconvolution" in class_name
    filters = _int(config, "filters")
    if filters is not None:  # Keras 2 and 3: kernel_size + (in, out), transposed (out, in)
        size = _ints(config.get("kernel_size"), rank)
        spatial: Want = size if size is not None else (None,) * rank
        why = f"kernel_size {list(size) if size else '?'}, filters {filters}"
        if found := _find(weights, "kernel"):
            yield found[0], spatial + ((filters, None) if transpose else (None, filters)), why
        if found := _find(weights, "bias"):
            yield found[0], (filters,), why
        return
    yield from _keras1_conv(config, weights, class_name, rank)


def _keras1_spatial(config: dict[str, Any], rank: int) -> tuple[int | None, ...]:
    keys = {1: ("filter_length",), 2: ("nb_row", "nb_col"), 3: ("kernel_dim1", "kernel_dim2", "kernel_dim3")}[rank]
    return tuple(_int(config, k) for k in keys)


def _keras1_conv(config: dict[str, Any], weights: Weights, class_name: str, rank: int) -> Iterator[Expectation]:
    """Keras 1: nb_filter; kernels laid out by dim_ordering ("th": filters first)."""
    filters = _int(config, "nb_filter")
    if filters is None:
        return
    why = f"nb_filter {filters}"
    kernel = _find(weights, "kernel", "W")
    # Deconvolution2D's kernel layout varied across Keras 1 releases: only its bias is checked.
    if kernel is not None and "Deconvolution" not in class_name:
        spatial = _keras1_spatial(config, rank)
        ordering = config.get("dim_ordering")
        if rank == 1:  # Convolution1D ran as a 2-D convolution: (length, 1, input_dim, nb_filter)
            yield kernel[0], (spatial[0], 1, None, filters), why
        elif ordering == "th":
            yield kernel[0], (filters, None) + spatial, why + ", dim_ordering th"
        elif ordering == "tf":
            yield kernel[0], spatial + (None, filters), why + ", dim_ordering tf"
    if found := _find(weights, "bias", "b"):
        yield found[0], (filters,), why


def _depthwise(config: dict[str, Any], weights: Weights, class_name: str) -> Iterator[Expectation]:
    rank = _rank(class_name)
    multiplier = _int(config, "depth_multiplier") or 1
    size = _ints(config.get("kernel_size"), rank)
    spatial: Want = size if size is not None else (None,) * rank
    why = f"kernel_size {list(size) if size else '?'}, depth_multiplier {multiplier}"
    kernel = _find(weights, "depthwise_kernel", "kernel")
    channels = kernel[1][-2] if kernel and len(kernel[1]) == rank + 2 else None
    if kernel:
        yield kernel[0], spatial + (None, multiplier), why
    if found := _find(weights, "bias"):
        yield found[0], (None if channels is None else channels * multiplier,), why + ", input channels x multiplier"


def _separable(config: dict[str, Any], weights: Weights, class_name: str) -> Iterator[Expectation]:
    rank = _rank(class_name)
    multiplier = _int(config, "depth_multiplier") or 1
    filters = _int(config, "filters", "nb_filter")
    keras1 = "filters" not in config and "nb_filter" in config
    size = _keras1_spatial(config, rank) if keras1 else _ints(config.get("kernel_size"), rank)
    spatial: Want = size if size is not None else (None,) * rank
    th = keras1 and config.get("dim_ordering") == "th"
    depthwise = _find(weights, "depthwise_kernel")
    channels = None
    if depthwise and len(depthwise[1]) == rank + 2:
        channels = depthwise[1][1] if th else depthwise[1][-2]
    why = f"depth_multiplier {multiplier}, filters {filters}"
    if depthwise:
        yield depthwise[0], ((multiplier, None) + spatial) if th else (spatial + (None, multiplier)), why
    inner = None if channels is None else channels * multiplier
    if found := _find(weights, "pointwise_kernel"):
        ones = (1,) * rank
        yield found[0], ((filters, inner) + ones) if th else (ones + (inner, filters)), why + ", from the depthwise kernel"
    if (found := _find(weights, "bias", "b")) and filters is not None:
        yield found[0], (filters,), why


# --- recurrent layers -----------------------------------------------------------------------

_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3, "CuDNNLSTM": 4, "CuDNNGRU": 3}
_KERAS1_GATE = re.compile(r"^([WUb])_([a-z])$")


def _recurrent(config: dict[str, Any], weights: Weights, class_name: str) -> Iterator[Expectation]:
    units = _int(config, "units", "output_dim")
    if units is None:
        return
    gates = _GATES[class_name]
    width = gates * units
    why = f"units {units}" + (f", {gates} gates" if gates > 1 else "")
    per_gate = [(n, s) for n, s in weights if _KERAS1_GATE.match(_last(n))]
    if per_gate:  # Keras 1: W_i, U_i, b_i, ... one (input, units) / (units, units) / (units,) per gate
        inputs = [s[0] for n, s in per_gate if _last(n).startswith("W_") and len(s) == 2]
        shapes: dict[str, Want] = {"W": (inputs[0] if inputs else None, units), "U": (units, units), "b": (units,)}
        for name, _ in per_gate:
            part = _KERAS1_GATE.match(_last(name))
            assert part is not None
            yield name, shapes[part.group(1)], f"units {units}, per gate, every W_* reads the same input"
        return
    kernel = _find(weights, "kernel", "W")
    if kernel:
        yield kernel[0], (None, width), why
    if found := _find(weights, "recurrent_kernel", "U"):
        yield found[0], (units, width), why
    if found := _find(weights, "bias", "b"):
        if class_name.startswith("CuDNN"):
            yield found[0], (2 * width,), why + ", CuDNN's input and recurrent biases"
        elif class_name == "GRU" and config.get("reset_after") is True:
            yield found[0], (2, width), why + ", reset_after"
        else:
            yield found[0], (width,), why + (", reset_after false" if class_name == "GRU" else "")


# --- attention and einsum ---------------------------------------------------------------


_PROJECTIONS = {"query": "q", "query_dense": "q", "key": "k", "key_dense": "k", "value": "v",
                "value_dense": "v", "attention_output": "o", "output_dense": "o"}  # fmt: skip


def _attention(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    heads, key_dim = _int(config, "num_heads"), _int(config, "key_dim")
    if heads is None or key_dim is None:
        return
    value_dim = _int(config, "value_dim") or key_dim
    parts: dict[tuple[str, str], tuple[str, Shape]] = {}
    for name, shape in weights:
        pieces = name.split("/")
        if len(pieces) >= 2 and pieces[-2] in _PROJECTIONS:
            parts[(_PROJECTIONS[pieces[-2]], pieces[-1])] = (name, shape)
    output = config.get("output_shape")
    if isinstance(output, int) and not isinstance(output, bool):
        out: tuple[int | None, ...] = (output,)
    elif isinstance(output, list) and output and all(type(v) is int for v in output):
        out = tuple(output)
    else:  # the query's own last dimension, which the query kernel reads
        query = parts.get(("q", "kernel"))
        out = (query[1][0] if query and len(query[1]) == 3 else None,)
    why = f"num_heads {heads}, key_dim {key_dim}, value_dim {value_dim}, output {show(out)}"
    wants: dict[tuple[str, str], Want] = {
        ("q", "kernel"): (None, heads, key_dim), ("q", "bias"): (heads, key_dim),
        ("k", "kernel"): (None, heads, key_dim), ("k", "bias"): (heads, key_dim),
        ("v", "kernel"): (None, heads, value_dim), ("v", "bias"): (heads, value_dim),
        ("o", "kernel"): (heads, value_dim) + out, ("o", "bias"): out,
    }  # fmt: skip
    for key, (name, _) in parts.items():
        if key in wants:
            yield name, wants[key], why


_EINSUM = (
    (re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$"), ""),
    (re.compile(r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$"), "left"),
    (re.compile(r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]{2,})\.\.\.$"), "right"),
)


def _einsum_dense(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    """Sizes of kernel and bias axes that the output takes from output_shape (as Keras builds them)."""
    equation = str(config.get("equation", "")).replace(" ", "")
    for pattern, elided in _EINSUM:
        match = pattern.match(equation)
        if match:
            break
    else:
        return
    _, weight_spec, output_spec = match.groups()
    output = config.get("output_shape")
    sizes = [output] if isinstance(output, int) else list(output) if isinstance(output, list) else None
    if sizes is None:
        return
    # output_shape leaves out the batch axis (the first letter) unless "..." stands for it.
    offset = 0 if elided == "left" else 1
    known = {c: sizes[i - offset] for i, c in enumerate(output_spec) if 0 <= i - offset < len(sizes)}
    known = {c: v for c, v in known.items() if type(v) is int}
    why = f"equation {equation}, output_shape {output}"
    if found := _find(weights, "kernel"):
        yield found[0], tuple(known.get(c) for c in weight_spec), why
    bias_axes = config.get("bias_axes")
    if (found := _find(weights, "bias")) and isinstance(bias_axes, str) and bias_axes:
        if any(c not in output_spec for c in bias_axes):
            return
        first = min(output_spec.find(c) for c in bias_axes)
        want = tuple(known.get(c) if c in bias_axes else 1 for c in output_spec[first:])
        if elided == "right":  # trailing ones for the elided axes: as many as the found bias has
            extra = max(0, len(found[1]) - len(want))
            want = want + (1,) * extra
        yield found[0], want, why + f", bias_axes {bias_axes}"


# --- wrappers ---------------------------------------------------------------------------------


def _inner(config: dict[str, Any], key: str = "layer") -> tuple[str, dict[str, Any]] | None:
    entry = config.get(key)
    if isinstance(entry, dict) and isinstance(entry.get("class_name"), str) and isinstance(entry.get("config"), dict):
        return entry["class_name"], entry["config"]
    return None


def _keras1_wrapped(weights: Weights, prefix: str) -> Weights:
    """Keras 1's Bidirectional names weights forward_<layer>_W_i: keep W_i (and W, b as kernel, bias)."""
    out = []
    for name, shape in weights:
        if "/" not in name and prefix and name.startswith(prefix):
            short = name[len(prefix) :]
            name = {"W": "kernel", "b": "bias"}.get(short, short)
        out.append((name, shape))
    return out


def _bidirectional(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    forward = _inner(config)
    backward = _inner(config, "backward_layer") or forward
    if forward is None or backward is None or len(weights) % 2:
        return
    half = len(weights) // 2
    found: dict[str, Shape] = dict(weights)
    for (cls, cfg), direction, part in ((forward, "forward", weights[:half]), (backward, "backward", weights[half:])):
        prefix = f"{direction}_{cfg.get('name')}_" if isinstance(cfg.get("name"), str) else ""
        renamed = _keras1_wrapped(part, prefix)
        original = {new: old for (new, _), (old, _) in zip(renamed, part)}
        for name, want, why in expectations(cls, cfg, renamed):
            yield original[name], want, f"{direction} {cls}: {why}"
    # Both directions read the same input: their kernels agree on the input dimension.
    kernels = [(n, s) for n, s in weights if _last(n) in ("kernel", "W") and len(s) == 2]
    if len(kernels) == 2 and forward[0] == backward[0]:
        yield kernels[1][0], (found[kernels[0][0]][0], None), "both directions read the same input"


def _time_distributed(config: dict[str, Any], weights: Weights) -> Iterator[Expectation]:
    inner = _inner(config)
    if inner is not None:
        for name, want, why in expectations(inner[0], inner[1], weights):
            yield name, want, f"wrapped {inner[0]}: {why}"


def _with_class(rule: Callable[[dict[str, Any], Weights, str], Iterator[Expectation]], class_name: str) -> Rule:
    return lambda config, weights: rule(config, weights, class_name)


_RULES: dict[str, Rule] = {
    "Dense": _dense,
    "TimeDistributedDense": _dense,
    "EinsumDense": _einsum_dense,
    "Embedding": _embedding,
    "BatchNormalization": _same_vectors(("gamma", "beta", "moving_mean", "moving_variance", "running_mean",
                                         "running_std"), False),
    "LayerNormalization": _same_vectors(("gamma", "beta"), True),
    "GroupNormalization": _group_norm,
    "PReLU": _prelu,
    "MultiHeadAttention": _attention,
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
}  # fmt: skip
for _name in ("Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
              "Convolution1D", "Convolution2D", "Convolution3D", "AtrousConvolution1D", "AtrousConvolution2D",
              "Deconvolution2D", "Deconvolution3D"):  # fmt: skip
    _RULES[_name] = _with_class(_conv, _name)
for _name in ("DepthwiseConv1D", "DepthwiseConv2D"):
    _RULES[_name] = _with_class(_depthwise, _name)
for _name in ("SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D", "SeparableConvolution2D"):
    _RULES[_name] = _with_class(_separable, _name)
for _name in _GATES:
    _RULES[_name] = _with_class(_recurrent, _name)

#: Classes whose weight shapes are checked against their config.
CHECKED_CLASSES = frozenset(_RULES)

__all__ = ["CHECKED_CLASSES", "check_shapes", "expectations", "fits"]
