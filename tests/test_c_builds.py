"""The build matrix: gcc and clang x C99, C11 and C++17 x 64-bit and 32-bit, warnings as errors.

Each build compiles the reader's unit tests and kwbin-dump and runs the unit
tests (32-bit ones natively, linked statically with Debian's i686 cross
toolchain).  The big-endian hosts are in test_c_reader.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
C_READER = ROOT / "c_reader"
WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]

#: (compiler family, bits) -> (C compiler, C++ compiler, extra flags)
TOOLCHAINS = {
    ("gcc", 64): ("gcc", "g++", []),
    ("gcc", 32): ("i686-linux-gnu-gcc", "i686-linux-gnu-g++", ["-static"]),
    ("clang", 64): ("clang", "clang++", []),
    ("clang", 32): ("clang", "clang++", ["--target=i686-linux-gnu", "--sysroot=/usr/i686-linux-gnu", "-static"]),
}
LANGUAGES = {"c99": ["-std=c99"], "c11": ["-std=c11"], "c++17": ["-x", "c++", "-std=c++17"]}


def _toolchain(family: str, bits: int) -> tuple[str, list[str]]:
    cc, cxx, flags = TOOLCHAINS[(family, bits)]
    missing = [tool for tool in (cc, cxx) if shutil.which(tool) is None]
    if bits == 32 and family == "clang" and not Path("/usr/i686-linux-gnu").is_dir():
        missing.append("/usr/i686-linux-gnu (libc6-dev-i386-cross)")
    if missing:
        message = f"{', '.join(missing)} not installed (see .ci/run for the Debian packages)"
        if os.environ.get("KWBIN_REQUIRE_CROSS"):
            pytest.fail(message)
        pytest.skip(message)
    return cc, cxx, flags


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("bits", [64, 32])
@pytest.mark.parametrize("family", ["gcc", "clang"])
def test_reader_builds_warning_free_and_its_tests_pass(family, bits, language, tmp_path):
    cc, cxx, flags = _toolchain(family, bits)
    compiler = cxx if language == "c++17" else cc
    for name, source in (("test_kwbin", C_READER / "tests" / "test_kwbin.c"), ("kwbin-dump", C_READER / "tools" / "kwbin_dump.c")):
        cmd = [compiler, *flags, "-O2", *WARNINGS, f"-I{C_READER}", "-o", str(tmp_path / name), *LANGUAGES[language], str(source)]
        built = subprocess.run(cmd, capture_output=True, text=True)
        assert built.returncode == 0, " ".join(cmd) + "\n" + built.stderr
    ran = subprocess.run([str(tmp_path / "test_kwbin")], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


NN_UNIT = '#define KWBIN_IMPLEMENTATION\n#define KWBIN_NN_IMPLEMENTATION\n#include "kwbin_nn.h"\n'


@pytest.mark.parametrize("opt", ["-Os", "-O3", "-O3 -march=native"])
@pytest.mark.parametrize("family", ["gcc", "clang"])
def test_nn_header_builds_warning_free_at_every_optimisation_level(family, opt, tmp_path):
    """Flow-sensitive warnings (gcc's maybe-uninitialized) change with -O; users build with any of them."""
    cc, _, _ = _toolchain(family, 64)
    (tmp_path / "unit.c").write_text(NN_UNIT)
    cmd = [cc, "-std=c99", *opt.split(), *WARNINGS, f"-I{C_READER}", "-c", "-o", str(tmp_path / "unit.o"), str(tmp_path / "unit.c")]
    built = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, " ".join(cmd) + "\n" + built.stderr[-3000:]
