"""Random JSON texts for metadata and configs, and files holding them.

The texts stress spec section 2: surrogate escapes (paired, lone, reversed),
numbers at and beyond a double's range, -0, long integers, every string
escape, raw non-ASCII, repeated keys, whitespace, a byte-order mark, and
nesting around the limit of 64.  ``file_with_texts`` lays a file out with
the exact texts (kwbin.Writer would re-serialise them).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

import kwbin

_SPEC = Path(__file__).resolve().parents[1] / "spec" / "vectors" / "make_vectors.py"
_loader = importlib.util.spec_from_file_location("make_vectors", _SPEC)
assert _loader and _loader.loader
make_vectors = importlib.util.module_from_spec(_loader)
sys.modules["make_vectors"] = make_vectors  # its dataclasses look their module up
_loader.loader.exec_module(make_vectors)

FIRST_INFINITE = 2**1024 - 2**970

NUMBERS = st.one_of(
    st.integers(-(10**40), 10**40).map(str),
    st.builds("{}{}.{}{}{}".format, st.sampled_from(["", "-"]), st.integers(0, 10**6), st.integers(0, 10**9),
              st.sampled_from(["e", "E", "e+", "e-"]), st.integers(0, 420)),
    st.builds("{}{}".format, st.sampled_from(["", "-"]), st.integers(10**300, 10**312)),
    st.sampled_from([
        "-0", "-0.0", "0e0", "1e400", "-1e400", "1e308", "1e309", "1e-400", "1E+2",
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        str(FIRST_INFINITE), str(FIRST_INFINITE - 1), f"-{FIRST_INFINITE}", f"{FIRST_INFINITE}.0",
        f"0.{FIRST_INFINITE}e309", f"0.{FIRST_INFINITE - 1}e309", "17976931348623158079e289",
        "0.000000000000000000001e330", "1e99999999999999999999", "0e99999999999999999999",
    ]),
)  # fmt: skip

_PLAIN = st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\', min_codepoint=0x20)
_ESCAPES = st.sampled_from([
    "\\n", '\\"', "\\\\", "\\/", "\\b", "\\f", "\\r", "\\t", "\\u0000", "\\u001f", "\\u007F", "\\u00e9",
    "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\udbff\\udfff", "\\u2028", "\\ufeff", "\\u0061",
])  # fmt: skip
_SURROGATE = st.integers(0xD800, 0xDFFF).map(lambda c: f"\\u{c:04x}")
STRINGS = st.lists(st.one_of(_PLAIN, _ESCAPES), max_size=6).map(lambda parts: '"' + "".join(parts) + '"')
RISKY_STRINGS = st.lists(st.one_of(_PLAIN, _ESCAPES, _SURROGATE), max_size=6).map(
    lambda parts: '"' + "".join(parts) + '"'
)
KEYS = st.one_of(st.sampled_from(['"a"', '"b"', '"\\u0061"', '"k"', '""']), STRINGS)
SPACE = st.sampled_from(["", "", " ", "\n", "\t", "\r\n  "])


@st.composite
def values(draw, depth: int = 0) -> str:
    kind = draw(st.integers(0, 9)) if depth < 4 else 0
    if kind <= 2:
        return draw(NUMBERS)
    if kind <= 4:
        return draw(st.one_of(STRINGS, RISKY_STRINGS) if draw(st.integers(0, 9)) == 0 else STRINGS)
    if kind == 5:
        return draw(st.sampled_from(["true", "false", "null"]))
    ws = draw(SPACE)
    if kind <= 7:
        items = draw(st.lists(values(depth + 1), max_size=4))
        return "[" + ws + ("," + ws).join(items) + "]"
    return draw(objects(depth + 1))


@st.composite
def objects(draw, depth: int = 0) -> str:
    ws = draw(SPACE)
    members = draw(st.lists(st.tuples(KEYS, values(depth + 1)), max_size=5))
    return "{" + ws + ("," + ws).join(f"{k}{ws}:{ws}{v}" for k, v in members) + ws + "}"


@st.composite
def json_texts(draw) -> str:
    """A JSON object text, valid or not in the ways section 2 decides."""
    text = draw(objects())
    deep = draw(st.integers(0, 12))
    if deep == 0:  # nesting around the limit
        levels = draw(st.integers(58, 66))
        text = '{"deep":' + "[" * levels + "1" + "]" * levels + "," + text[1:]
    if draw(st.integers(0, 30)) == 0:
        text = "\ufeff" + text
    return draw(SPACE) + text + draw(SPACE)


_TEMPLATES: dict[int, object] = {}


def _template(path: Path, layers: int):
    """The parts of a small written file with ``layers`` weightless layers (made once)."""
    if layers not in _TEMPLATES:
        with kwbin.Writer(path, alignment=16) as w:
            for i in range(layers):
                w.add_layer(f"layer{i}", "Custom", config={"placeholder": i})
            w.add_tensor("x", np.array([1.0], "<f4"))
        _TEMPLATES[layers] = make_vectors.unpack(path.read_bytes())
    return _TEMPLATES[layers].copy()


def file_with_texts(path: Path, metadata: str, configs: list[str]) -> bytes:
    """A valid layout holding ``metadata`` and one weightless layer per config text, written to ``path``."""
    raw = _template(path, len(configs))
    raw.metadata = metadata.encode("utf-8")
    make_vectors.restring(raw, {("layers", i, "config"): text for i, text in enumerate(configs)})
    data = bytes(make_vectors.pack(raw))
    path.write_bytes(data)
    return data
