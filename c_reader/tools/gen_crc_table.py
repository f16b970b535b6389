#!/usr/bin/env python3
"""Print the CRC-32 slicing-by-8 table that c_reader/kwbin.h embeds.

    python3 c_reader/tools/gen_crc_table.py

Row 0 is the classic bytewise table of the reflected polynomial 0xEDB88320
(spec appendix A); row k maps a byte to its CRC contribution k bytes further
on, so eight bytes are folded with eight lookups.  tests/test_c_reader.py
checks that the header holds exactly this text.
"""

POLY = 0xEDB88320
ROWS = 8


def table() -> list[list[int]]:
    rows = [[0] * 256 for _ in range(ROWS)]
    for n in range(256):
        c = n
        for _ in range(8):
            c = POLY ^ (c >> 1) if c & 1 else c >> 1
        rows[0][n] = c
    for k in range(1, ROWS):
        for n in range(256):
            c = rows[k - 1][n]
            rows[k][n] = rows[0][c & 0xFF] ^ (c >> 8)
    return rows


def render() -> str:
    lines = [f"static const uint32_t kwb__crc_table[{ROWS}][256] = {{"]
    for row in table():
        lines.append("    {")
        for i in range(0, 256, 6):
            lines.append("        " + ", ".join(f"0x{v:08x}u" for v in row[i : i + 6]) + ",")
        lines.append("    },")
    lines.append("};")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render())
