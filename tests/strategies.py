"""Hypothesis strategies shared by the kwbin tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

#: kwbin dtype name -> numpy dtype of the arrays handed to the writer.
#: bfloat16 is given as raw uint16 bits (with ``dtype="bfloat16"``).
WRITER_INPUT = {
    "float32": "<f4",
    "float16": "<f2",
    "bfloat16": "<u2",
    "float64": "<f8",
    "int8": "i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
    "uint8": "u1",
    "uint16": "<u2",
    "uint32": "<u4",
    "uint64": "<u8",
    "bool": "?",
}

#: Unsigned integer dtype of each item size: every bit pattern, NaN payloads
#: included, is drawn as one of these and then viewed as the real dtype.
_BITS = {1: "u1", 2: "<u2", 4: "<u4", 8: "<u8"}

#: Powers of two from 16 to 65536, the small ones more often (big ones make
#: big files).
alignments = st.sampled_from([16] * 4 + [32] * 3 + [64] * 3 + [128, 256, 1024, 4096, 65536])

#: Shapes: mostly small, with zero-size dimensions, 0-d scalars and a few
#: 8-d shapes.
shapes = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
    hnp.array_shapes(min_dims=8, max_dims=8, min_side=0, max_side=2),
)

#: Tensor and layer names: any non-empty text without NUL or lone surrogates.
names = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\0"),
    min_size=1,
    max_size=24,
)


@st.composite
def arrays(draw: st.DrawFn, kind: str) -> np.ndarray:
    """An array for the writer's kwbin dtype ``kind``, with arbitrary bits."""
    shape = draw(shapes)
    numpy_dtype = np.dtype(WRITER_INPUT[kind])
    if kind == "bool":
        return draw(hnp.arrays(numpy_dtype, shape))
    bits = draw(hnp.arrays(np.dtype(_BITS[numpy_dtype.itemsize]), shape))
    return bits.view(numpy_dtype)


@st.composite
def tensor_sets(draw: st.DrawFn, max_tensors: int = 8) -> list[tuple[str, str, np.ndarray]]:
    """``(name, kwbin dtype name, array)`` triples with unique names."""
    result = []
    for name in draw(st.lists(names, max_size=max_tensors, unique=True)):
        kind = draw(st.sampled_from(sorted(WRITER_INPUT)))
        result.append((name, kind, draw(arrays(kind))))
    return result
