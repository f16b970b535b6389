#!/usr/bin/env python3
"""Write c_reader/kwbin_nn.h: the parts in c_reader/nn/, in file-name order, end to end.

kwbin_nn.h ships as one stb-style header (as SQLite ships its amalgamation);
it is developed here in parts, one per job or layer family.  `make
c_reader/kwbin_nn.h` runs this; `--check` only says whether the header is up
to date (tests/test_amalgamation.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

PARTS = Path(__file__).resolve().parent
HEADER = PARTS.parent / "kwbin_nn.h"


def amalgamation() -> bytes:
    return b"".join(part.read_bytes() for part in sorted(PARTS.glob("*.h")))


def main(argv: list[str]) -> int:
    text = amalgamation()
    if argv[1:] == ["--check"]:
        if HEADER.read_bytes() != text:
            print(f"{HEADER} is not the amalgamation of {PARTS}/*.h: run `make c_reader/kwbin_nn.h`", file=sys.stderr)
            return 1
        return 0
    temp = HEADER.with_suffix(".h.tmp")
    temp.write_bytes(text)
    temp.replace(HEADER)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
