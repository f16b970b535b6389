"""Strict JSON for metadata and layer configs, the same rules in both readers.

RFC 8259 text whose top level is an object, nested at most ``MAX_JSON_DEPTH``
arrays/objects deep; no NaN/Infinity literals; every ``\\u`` escape of a
surrogate part of a high-low pair; every number finite when rounded to a
double (spec section 2).  Python's ``json`` alone is more permissive (NaN
literals, lone surrogates, ``1e400`` read as infinity) and can fail with
exceptions other than ``ValueError`` (recursion, huge integers), so every
path ends here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

MAX_JSON_DEPTH = 64


class JsonTextError(ValueError):
    """Text that is not a JSON object within the limits."""


def _reject_constant(name: str) -> Any:
    raise JsonTextError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)  # correctly rounded, so infinite exactly when out of range
    if math.isinf(value):
        raise JsonTextError(f"number {_short(text)} is beyond the range of a double")
    return value


def _finite_int(text: str) -> int:
    # Every integer below 2**1024 has at most 309 digits: longer ones, and
    # 309-digit ones that round up to infinity, are refused before int()
    # (which refuses more than 4300 digits with a different error).
    if len(text) >= 309 and math.isinf(float(text)):
        raise JsonTextError(f"number {_short(text)} is beyond the range of a double")
    return int(text)


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


#: Text that may hold a number beyond a double's range (a 3-digit positive
#: exponent or a run of 200 digits) or a surrogate escape; most texts have
#: neither and take the fast path.  Matches inside strings only cost time.
_MAYBE_HUGE = re.compile(r"[eE]\+?0*[1-9][0-9]{2}|[0-9]{200}")
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value: Any) -> str | None:
    """The first string (key or value) holding a surrogate code point, if any.

    ``json`` joins an escaped high-low pair into one character, and the
    text is valid UTF-8, so a surrogate left in a string came from a lone
    (or reversed) ``\\u`` escape.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _depth(value: Any) -> int:
    """Nesting depth of arrays/objects, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _non_str_key(value: Any) -> tuple[Any] | None:
    """The first object key (wrapped in a 1-tuple) that is not a str, if any."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in item:
                if not isinstance(key, str):
                    return (key,)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def _text_depth(text: str) -> int:
    """Nesting depth of valid JSON text, from its brackets outside strings.

    Faster than walking the parsed value for large configs: a quote counts
    unless an odd run of backslashes precedes it; brackets between an odd
    and the next even quote are inside a string.  Texts with few brackets
    cannot be deep and skip the scan.
    """
    if text.count("{") + text.count("[") <= MAX_JSON_DEPTH:
        return 0
    raw = np.frombuffer(text.encode("utf-8"), np.uint8)
    position = np.arange(raw.size)
    backslash = raw == 0x5C
    last_other = np.maximum.accumulate(np.where(backslash, -1, position))
    run_before = position - 1 - np.concatenate(([-1], last_other[:-1]))  # backslashes just before
    quote = (raw == 0x22) & (run_before % 2 == 0)
    outside = np.cumsum(quote) % 2 == 0  # a closing quote itself counts as outside, harmlessly
    opens = outside & ((raw == 0x7B) | (raw == 0x5B))
    closes = outside & ((raw == 0x7D) | (raw == 0x5D))
    return int(np.cumsum(opens.astype(np.int64) - closes).max(initial=0))


_FAST = json.JSONDecoder(parse_constant=_reject_constant)
#: Checks every number's range; json's own int() would also refuse integers
#: of more than 4300 digits with a ValueError of its own.
_CHECKED = json.JSONDecoder(
    parse_constant=_reject_constant, parse_int=_finite_int, parse_float=_finite_float
)


def parse_object(text: str) -> dict[str, Any]:
    """Parse ``text`` as a JSON object; raise ``JsonTextError`` otherwise."""
    decoder = _CHECKED if _MAYBE_HUGE.search(text) else _FAST
    try:
        value = decoder.decode(text)
    except RecursionError:
        raise JsonTextError(f"nested deeper than {MAX_JSON_DEPTH}") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise JsonTextError(str(exc)) from None
    if not isinstance(value, dict):
        raise JsonTextError(f"expected a JSON object, found {type(value).__name__}")
    if _text_depth(text) > MAX_JSON_DEPTH:
        raise JsonTextError(f"nested deeper than {MAX_JSON_DEPTH}")
    if _MAYBE_SURROGATE.search(text):
        lone = _lone_surrogate(value)
        if lone is not None:
            raise JsonTextError(f"string {_short(ascii(lone))} holds a lone surrogate escape")
    return value


class Number(str):
    """A JSON number kept as its token, so that a listing writes it unchanged."""


_TOKENS = json.JSONDecoder(parse_constant=_reject_constant, parse_int=Number, parse_float=Number)


def parse_tokens(text: str) -> dict[str, Any]:
    """A text ``parse_object`` accepted, with numbers as ``Number`` tokens.

    Repeated keys keep the position of their first occurrence and the value
    of their last, as ``json`` (and JavaScript's ``JSON.parse``) do.
    """
    value = _TOKENS.decode(text)
    if not isinstance(value, dict):
        raise JsonTextError(f"expected a JSON object, found {type(value).__name__}")
    return value


def dump_object(value: dict[str, Any]) -> str:
    """Compact JSON text for ``value``; ``ValueError``/``TypeError`` if impossible."""
    if not isinstance(value, dict):
        raise TypeError(f"expected a dict, found {type(value).__name__}")
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # Checked after dumps, which has already refused cycles: json.dumps turns
    # 1, 1.5, True and None keys into strings, silently changing the data
    # (and {1: a, "1": b} into an object with a duplicate key).
    key = _non_str_key(value)
    if key is not None:
        raise TypeError(f"object keys must be str, found {key[0]!r}")
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH}")
    return text
