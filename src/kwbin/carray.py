"""``kwbin c-array``: a kwbin file as a ``const`` byte array in a C header.

For firmware without a file system: compile the header in, then
``kwb_open_memory(&f, SYMBOL, SYMBOL_size)`` reads it in place with no
allocation.  The array is aligned to the file's own alignment, so every
tensor inside it is aligned in memory too.
"""

from __future__ import annotations

import os
import re
import unicodedata

import numpy as np

from .atomic import AtomicFile
from .cnames import C_KEYWORDS, CPP_KEYWORDS, LIBRARY_FUNCTIONS, LIBRARY_OBJECTS, RESERVED_PREFIXES

#: C99 promises 63 significant characters; the header's longest derived name
#: (``KWBIN_ARRAY_<symbol>_ALIGN``) adds 18.
MAX_SYMBOL = 45

SYMBOL_RULE = (
    f"a C name for the array: 1 to {MAX_SYMBOL} ASCII letters, digits and underscores, starting with a letter, "
    "with at least one lowercase letter (all-caps names belong to macros), no double underscore; "
    "not a C or C++ keyword, not main, not a name of the C library or POSIX headers (size_t, errno, stdin, free, read, ...), "
    "not starting with kwb_, kwbin_ or kwnn_ (kwbin.h's names)"
)
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


class SymbolError(ValueError):
    """The requested C name cannot be used; the message says why and gives the rule."""


def symbol_problem(symbol: str) -> str | None:
    """Why ``symbol`` cannot name the array (and ``symbol_size``), or None if it can."""
    if not _IDENTIFIER.match(symbol):
        return "not an identifier of ASCII letters, digits and underscores starting with a letter"
    if len(symbol) > MAX_SYMBOL:
        return f"longer than {MAX_SYMBOL} characters"
    if "__" in symbol:
        return "a double underscore is reserved"
    if symbol == symbol.upper():
        return "all-caps names are left to macros"
    if symbol in C_KEYWORDS or symbol in CPP_KEYWORDS:
        return "a C or C++ keyword"
    if symbol == "main":
        return "main is the program's entry point"
    for name in (symbol, f"{symbol}_size"):
        if name in LIBRARY_OBJECTS or name in LIBRARY_FUNCTIONS or name.endswith("_t"):
            return f"{name} is a name of the C library or POSIX headers"
        if name.lower().startswith(RESERVED_PREFIXES):
            return f"{name} is in a reserved namespace ({', '.join(RESERVED_PREFIXES)})"
    if re.match(r"E[0-9A-Z]", symbol):
        return "E followed by a digit or capital is reserved for errno.h"
    return None


def check_symbol(symbol: str) -> str:
    """``symbol`` if it is usable, else ``SymbolError`` with the reason and the rule."""
    problem = symbol_problem(symbol)
    if problem is not None:
        raise SymbolError(f"{_printable(symbol)} is not a usable C identifier for the array ({problem}); --name takes {SYMBOL_RULE}")
    return symbol


def default_symbol(path: str) -> str:
    """A valid symbol from the file's name: ASCII-folded, prefixed with ``model_`` where needed."""
    stem = os.path.basename(path).split(".")[0]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    symbol = re.sub(r"[^A-Za-z0-9]+", "_", ascii_stem).strip("_")[:MAX_SYMBOL].strip("_")
    if not symbol:
        return "model_data"
    if symbol == symbol.upper():
        symbol = symbol.lower()
    short = symbol[: MAX_SYMBOL - 11].rstrip("_")
    for candidate in (symbol, f"model_{short}", f"model_{short}_data"):
        if symbol_problem(candidate) is None:
            return candidate
    return "model_data"


def _printable(text: str) -> str:
    """``text`` for a C comment or an error line: printable ASCII, nothing that ends a comment.

    Any other character (``*``, ``/``, ``\\``, ``?``, control, non-ASCII, an
    undecodable byte of a file name) becomes ``\\xNN`` per UTF-8 byte.
    """
    out = []
    for char in text:
        if char.isascii() and (char.isalnum() or char in " ._-+=,:;@#%&()[]{}~^$!'"):
            out.append(char)
        else:
            out.extend(f"\\x{b:02x}" for b in char.encode("utf-8", "surrogateescape"))
    return "".join(out)


#: The array's spellings: ``string``, one string literal (printable bytes as themselves, the rest
#: escaped: about 2.5-2.8x the file's size for float weights, quick to compile), and ``hex``,
#: ``0x..,`` per byte (kwbin 0.1.0's form: about 5x and slow to compile, but no compiler limit on
#: string literals applies: the portable fallback, e.g. for MSVC and files over 64 KiB).
#: ``embed``: a few lines that pull the file itself in with C23's ``#embed`` (GCC 15, Clang 19 and
#: later): the header is tiny, compiling takes the time of reading the file, and the kwbin file
#: must be at the path the header names (relative to the header) when the program is compiled.
STYLES = ("string", "hex", "embed")
DEFAULT_STYLE = "string"

#: Source characters per line of the literal, quotes included: under the 4095 characters of a
#: logical source line that C99 promises, and each piece far under MSVC's 16380 per literal.
LINE_WIDTH = 200

#: MSVC refuses a string literal longer than this after concatenation (error C1091).
MSVC_STRING_LIMIT = 65535

_NAMED_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r",
                  0x22: '\\"', 0x5C: "\\\\"}  # fmt: skip


def _spellings() -> tuple[list[str], list[str]]:
    """Per byte value: its spelling in a literal, and the spelling when an octal digit follows.

    Printable ASCII stands for itself; the rest is a named escape or the
    shortest octal escape, padded to three digits where the next character
    is an octal digit (an octal escape takes up to three).  Hex escapes are
    never used: they have no length limit and would swallow what follows.
    """
    plain, before_digit = [], []
    for b in range(256):
        if b in _NAMED_ESCAPES:
            text = padded = _NAMED_ESCAPES[b]
        elif 0x20 <= b < 0x7F:
            text = padded = chr(b)
        else:
            text, padded = f"\\{b:o}", f"\\{b:03o}"
        plain.append(text)
        before_digit.append(padded)
    return plain, before_digit


_PLAIN, _BEFORE_DIGIT = _spellings()
#: Bytes whose plain spelling is an octal escape of fewer than three digits.
_SHORT_OCTAL = np.array([p != d for p, d in zip(_PLAIN, _BEFORE_DIGIT)], bool)


def _tokens(data: bytes) -> list[str]:
    """The spelling of each byte of ``data``, in order (whole-array passes, then the few fix-ups).

    A ``?`` right after a ``?`` is written ``\\?``: ``??=`` and the like are
    trigraphs in C99 and in C++ before 17.  An octal escape followed by an
    octal digit gets all three digits.
    """
    tokens = list(map(_PLAIN.__getitem__, data))
    if len(data) < 2:
        return tokens
    codes = np.frombuffer(data, np.uint8)
    digit_next = (codes[1:] >= 0x30) & (codes[1:] <= 0x37)
    for i in np.flatnonzero(digit_next & _SHORT_OCTAL[codes[:-1]]).tolist():
        tokens[i] = _BEFORE_DIGIT[data[i]]
    for i in (np.flatnonzero((codes[1:] == 0x3F) & (codes[:-1] == 0x3F)) + 1).tolist():
        tokens[i] = "\\?"
    return tokens


def literal_lines(data: bytes, width: int = LINE_WIDTH) -> list[str]:
    """``data`` as the lines of adjacent C string literals (``"..."``), each at most ``width`` characters.

    The literal means exactly ``data`` in C and C++; a line never splits an escape.
    """
    if not data:
        return ['""']
    tokens = _tokens(data)
    ends = np.cumsum(np.fromiter(map(len, tokens), np.int64, len(tokens)))
    # A token goes on the line where it ends: a line is at most `room` + 3 characters (a token is at most 4).
    room = width - 2 - 3
    line_of = (ends - 1) // room
    starts = [0, *(np.flatnonzero(np.diff(line_of)) + 1).tolist(), len(tokens)]
    return ['"' + "".join(tokens[a:b]) + '"' for a, b in zip(starts[:-1], starts[1:])]


def _terminated(lines: list[str]) -> list[str]:
    return [*lines[:-1], lines[-1] + ";"]


def _hex_lines(data: bytes) -> list[str]:
    hex_bytes = [f"0x{b:02x}," for b in data]
    return ["  " + "".join(hex_bytes[i : i + 16]) for i in range(0, len(hex_bytes), 16)]


#: Characters an ``#embed "..."`` path may hold: no quote, backslash or control character (their
#: meaning in a header name is up to the compiler), ASCII only.
_EMBED_PATH = re.compile(r"[A-Za-z0-9 ._+,=@%~/-]+\Z")


def embed_path_problem(path: str) -> str | None:
    """Why ``path`` cannot go in ``#embed "..."``, or None if it can."""
    if not _EMBED_PATH.match(path):
        return "only ASCII letters, digits, spaces, '/' and ._+,=@%~- are safe in an #embed path"
    return None


def header_text(
    data: bytes,
    symbol: str,
    alignment: int,
    source: str,
    header_name: str,
    style: str = DEFAULT_STYLE,
    embed_path: str | None = None,
) -> str:
    """The header's text.  ``embed_path`` (style ``embed``): the file as ``#embed`` finds it from
    the header's folder; default: the source's name, the file next to the header."""
    check_symbol(symbol)
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if style == "embed":
        embed_path = os.path.basename(source) if embed_path is None else embed_path
        problem = embed_path_problem(embed_path)
        if problem is not None:
            raise ValueError(f"{_printable(embed_path)} cannot be named in #embed: {problem}")
    guard = f"KWBIN_ARRAY_{symbol}_H"
    align = f"KWBIN_ARRAY_{symbol}_ALIGN"
    size = len(data)
    lines = [
        f"/* {_printable(os.path.basename(source))} as a C array, generated by `kwbin c-array`: do not edit.",
        f"   {size} bytes, aligned to {alignment} like the file's tensors.",
        "",
        '   #include "kwbin.h"',
        f'   #include "{_printable(header_name)}"   (in one .c file: the array is static)',
        "",
        "   kwb_file f;",
        f"   kwb_result r = kwb_open_memory(&f, {symbol}, {symbol}_size);  (no allocation)",
    ]
    if style == "string":
        lines += [
            "",
            f"   The bytes are one string literal: {symbol} has {size} + 1 elements (C++ needs room",
            f"   for the literal's NUL); the file is the first {symbol}_size of them.",
        ]
    elif style == "embed":
        lines += [
            "",
            f"   The bytes are read at compile time from {embed_path} (relative to this header) with",
            "   C23 #embed: GCC 15 or Clang 19 and later. A file of another size fails the build.",
        ]
    lines += [
        "*/",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stddef.h>",
        "",
        "#if defined(__cplusplus) && __cplusplus >= 201103L",
        f"#define {align} alignas({alignment})",
        "#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L",
        f"#define {align} _Alignas({alignment})",
        "#elif defined(__GNUC__) || defined(__clang__)",
        f"#define {align} __attribute__((aligned({alignment})))",
        "#elif defined(_MSC_VER)",
        f"#define {align} __declspec(align({alignment}))",
        "#else",
        f"#error \"no way to align {symbol}: align it to {alignment} bytes by hand\"",
        "#endif",
        "",
        f"static const size_t {symbol}_size = {size};",
    ]
    if style == "hex":
        lines += [f"{align} static const unsigned char {symbol}[{size}] = {{", *_hex_lines(data), "};"]
    elif style == "embed":
        lines += _embed_lines(symbol, align, size, embed_path or "")
    else:
        if size > MSVC_STRING_LIMIT:
            lines += [
                "#if defined(_MSC_VER) && !defined(__clang__)",
                f"#error \"MSVC takes string literals of at most {MSVC_STRING_LIMIT} bytes: "
                "regenerate this header with kwbin c-array --style hex\"",
                "#endif",
            ]
        lines += [
            "#if defined(__GNUC__)  /* a literal longer than C99's minimum limit of 4095 is intended */",
            "#pragma GCC diagnostic push",
            '#pragma GCC diagnostic ignored "-Woverlength-strings"',
            "#endif",
            f"{align} static const unsigned char {symbol}[{size} + 1] =",
            *_terminated(literal_lines(data)),
            "#if defined(__GNUC__)",
            "#pragma GCC diagnostic pop",
            "#endif",
        ]
    lines += ["", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def _embed_lines(symbol: str, align: str, size: int, path: str) -> list[str]:
    # Nested, not #elif: a compiler without __has_embed must never evaluate __has_embed(...).
    # The pragmas: #embed and _Static_assert are extensions before C23 and C11, and Clang 19's
    # #embed warns on its own bytes.
    return [
        "#if defined(__has_embed)",
        f'#if __has_embed("{path}") == __STDC_EMBED_FOUND__',
        "#if defined(__GNUC__)",
        "#pragma GCC diagnostic push",
        '#pragma GCC diagnostic ignored "-Wpedantic"',
        "#endif",
        "#if defined(__clang__)",
        '#pragma clang diagnostic ignored "-Wc23-extensions"',
        '#pragma clang diagnostic ignored "-Wc11-extensions"',
        "/* Clang 19 gives #embed's bytes the type int (and signed char values in C++) */",
        '#pragma clang diagnostic ignored "-Wsign-conversion"',
        '#pragma clang diagnostic ignored "-Wc++11-narrowing"',
        "#endif",
        f"{align} static const unsigned char {symbol}[] = {{",
        f'#embed "{path}"',
        "};",
        "#if defined(__cplusplus)",
        f'static_assert(sizeof {symbol} == {size}, "{path} is not the file this header was made for: regenerate it");',
        "#else",
        f'_Static_assert(sizeof {symbol} == {size}, "{path} is not the file this header was made for: regenerate it");',
        "#endif",
        "#if defined(__GNUC__)",
        "#pragma GCC diagnostic pop",
        "#endif",
        "#else",
        f'#error "{path} (the kwbin file) is not where this header expects it, relative to the header"',
        "#endif",
        "#else",
        '#error "this compiler has no C23 #embed (GCC 15, Clang 19 and later have it): '
        'regenerate this header with kwbin c-array --style string"',
        "#endif",
    ]


def default_output(path: str) -> str:
    """FILE with the extension .h; FILE.h when FILE already ends in .h (never the input itself)."""
    stem, ext = os.path.splitext(path)
    return path + ".h" if ext.lower() == ".h" else stem + ".h"


def embed_path_for(source: str, header: str) -> str:
    """The path ``#embed`` in ``header`` takes to find ``source`` (relative to the header's folder)."""
    folder = os.path.dirname(os.path.abspath(header))
    return os.path.relpath(os.path.abspath(source), folder).replace(os.sep, "/")


def write_header(data: bytes, alignment: int, source: str, out: str, symbol: str, style: str = DEFAULT_STYLE) -> None:
    """Write the header for the bytes of a checked kwbin file, atomically."""
    embed_path = embed_path_for(source, out) if style == "embed" else None
    text = header_text(data, symbol, alignment, source, os.path.basename(out), style, embed_path)
    target = AtomicFile(out)
    try:
        target.file.write(text.encode("ascii"))
        target.commit()
    except BaseException:
        target.discard()
        raise
