"""Fuzz the Python reader with atheris: only KwbinError may ever escape.

    .venv/bin/python fuzz/python/fuzz_reader.py -runs=1000000 -max_len=8192 \\
        fuzz/python/corpus spec/vectors/valid spec/vectors/invalid

Half of the mutations recompute the header CRC-32 afterwards (when the
header is readable), so that mutated tables get past the checksum and reach
the later rules instead of all dying at step 9.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import atheris

# Import kwbin from the source tree with the ordinary loader (an editable
# install's custom loader hides the code from atheris's instrumentation).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

with atheris.instrument_imports(include=["kwbin"]):
    import kwbin
    from kwbin.listing import listing


def _fix_header_crc(data: bytes) -> bytes:
    if len(data) < 128:
        return data
    payload_offset = int.from_bytes(data[96:104], "little")
    if not 128 <= payload_offset <= len(data):
        return data
    crc = zlib.crc32(data[:124])
    crc = zlib.crc32(data[128:payload_offset], crc)
    return data[:124] + crc.to_bytes(4, "little") + data[128:]


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    mutated = atheris.Mutate(data, max_size)
    return _fix_header_crc(mutated) if seed % 2 else mutated


def test_one_input(data: bytes) -> None:
    try:
        with kwbin.open(data) as f:
            listing(f)
            for name in f:
                f[name].sum()  # touch every view
            f.verify()
    except kwbin.KwbinError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()
