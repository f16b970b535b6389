"""CRC-32: both backends and the threaded, chunked computation equal zlib's, bit for bit."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import zlib

import pytest

from kwbin import crc

BACKENDS = [("zlib", zlib.crc32)]
try:
    from isal import isal_zlib
except ImportError:  # the optional accelerator (kwbin[fast]) is not installed
    pass
else:
    BACKENDS.append(("isal", isal_zlib.crc32))


@pytest.mark.parametrize("name,function", BACKENDS, ids=[b[0] for b in BACKENDS])
def test_backends_equal_zlib_on_any_length_and_start(name, function):
    rng = random.Random(5)
    data = rng.randbytes(1 << 16)
    for length in [0, 1, 2, 3, 7, 8, 15, 16, 17, 63, 64, 65, 255, 256, 4095, 4096, 4097, 65535]:
        start = rng.getrandbits(32)
        chunk = data[rng.randrange(len(data) - length + 1):][:length]
        assert function(chunk) == zlib.crc32(chunk), (name, length)
        assert function(chunk, start) == zlib.crc32(chunk, start), (name, length)
    assert function(b"123456789") == 0xCBF43926


def test_the_chosen_backend_is_the_one_named():
    assert crc.raw_crc32(b"123456789") == 0xCBF43926
    assert crc.BACKEND in ("zlib", "isal")


def backend_of_a_fresh_process(env_crc: str | None, block_isal: bool) -> str:
    code = ("import sys\n" + ("sys.modules['isal'] = None\n" if block_isal else "")
            + "from kwbin import crc\nprint(crc.BACKEND)")
    env = {k: v for k, v in os.environ.items() if k != "KWBIN_CRC"}
    if env_crc is not None:
        env["KWBIN_CRC"] = env_crc
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_zlib_is_used_without_isal_or_when_asked():
    assert backend_of_a_fresh_process(None, block_isal=True) == "zlib"
    assert backend_of_a_fresh_process("zlib", block_isal=False) == "zlib"
    if len(BACKENDS) == 2:
        assert backend_of_a_fresh_process(None, block_isal=False) == "isal"


@pytest.mark.parametrize("size", [
    0, 1, crc.ASYNC_MIN - 1, crc.ASYNC_MIN, crc.ASYNC_MIN + 1,
    crc.PARALLEL_MIN - 1, crc.PARALLEL_MIN, crc.PARALLEL_MIN + 1,
    3 * crc.CHUNK + 12345,
])
def test_chunked_crc_equals_one_pass(size):
    data = random.Random(size).randbytes(size)
    expected = zlib.crc32(data)
    assert crc.crc32(memoryview(data)) == expected
    assert crc.Pending(memoryview(data)).result() == expected


def test_combine_joins_two_crcs():
    rng = random.Random(9)
    for _ in range(50):
        a = rng.randbytes(rng.randrange(0, 3000))
        b = rng.randbytes(rng.randrange(0, 3000))
        assert crc.combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
