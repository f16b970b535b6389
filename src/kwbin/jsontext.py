"""Strict JSON for metadata and layer configs, the same rules in both readers.

RFC 8259 text whose top level is an object, nested at most ``MAX_JSON_DEPTH``
arrays/objects deep; no NaN/Infinity literals.  Python's ``json`` alone is
more permissive (NaN literals) and can fail with exceptions other than
``ValueError`` (recursion, huge integers), so every path ends here.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

MAX_JSON_DEPTH = 64


class JsonTextError(ValueError):
    """Text that is not a JSON object within the limits."""


def _reject_constant(name: str) -> Any:
    raise JsonTextError(f"{name} is not JSON")


def _parse_int(text: str) -> int | float:
    # Python refuses to convert integers of more than 4300 digits; JSON's
    # grammar allows them, so keep them as (infinite) floats instead.
    return int(text) if len(text) <= 4000 else float(text)


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


#: Integers of more than 4300 digits make Python's int() raise; JSON allows them.
_FAST = json.JSONDecoder(parse_constant=_reject_constant)
_TOLERANT = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_parse_int)


def parse_object(text: str) -> dict[str, Any]:
    """Parse ``text`` as a JSON object; raise ``JsonTextError`` otherwise."""
    try:
        try:
            value = _FAST.decode(text)
        except JsonTextError:
            raise
        except ValueError:  # maybe only a huge integer: parse again, slowly
            value = _TOLERANT.decode(text)
    except RecursionError:
        raise JsonTextError(f"nested deeper than {MAX_JSON_DEPTH}") from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise JsonTextError(str(exc)) from None
    if not isinstance(value, dict):
        raise JsonTextError(f"expected a JSON object, found {type(value).__name__}")
    if _text_depth(text) > MAX_JSON_DEPTH:
        raise JsonTextError(f"nested deeper than {MAX_JSON_DEPTH}")
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
