"""The C reader's open does work linear in the file's size, judged by instructions, not time.

valgrind's cachegrind counts the instructions a run executes (deterministic, whatever the
machine's load).  Each hostile file of tests/hostile_files.py is opened at two sizes; doubling
the file must at most double the count (plus a margin).  Issue #11 finding 2's file (records
naming suffixes of one long string) took 108 s (kwb_open_memory) and 17 s (kwb_open_path) at
1 MB; it must now be refused in about the instructions of reading it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile_files  # noqa: E402

pytestmark = pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")


@pytest.fixture(scope="module")
def unit() -> Path:
    result = subprocess.run(["make", "-s", "c"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return ROOT / "build" / "test_kwbin"


def instructions(unit: Path, mode: str, path: Path) -> tuple[str, int]:
    """The verdict of one open of ``path``, and the instructions the whole run executed."""
    result = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
         str(unit), "--open", mode, str(path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    count = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    assert count, result.stderr
    return result.stdout.split()[0], int(count.group(1).replace(",", ""))


SIZE = 1 << 20


def test_records_naming_suffixes_of_one_long_string_are_refused_at_once(unit, tmp_path):
    path = tmp_path / "suffixes.kwb"
    path.write_bytes(hostile_files.shared_suffixes(SIZE))
    for mode in ("memory", "memory_ex", "path"):
        verdict, count = instructions(unit, mode, path)
        assert verdict == "bad_string"
        # Reading the file, its CRC and a UTF-8 pass: a few instructions per byte.
        assert count < 40 * SIZE, (mode, count)


@pytest.mark.parametrize("kind", [k for k, (_, valid) in hostile_files.KINDS.items() if valid])
@pytest.mark.parametrize("mode", ["memory_ex", "path"])
def test_worst_case_valid_files_open_in_linear_work(unit, tmp_path, kind, mode):
    counts = []
    for size in (SIZE, 2 * SIZE):
        path = tmp_path / f"{kind}_{size}.kwb"
        data = hostile_files.KINDS[kind][0](size)
        path.write_bytes(data)
        verdict, count = instructions(unit, mode, path)
        assert verdict == "ok"
        counts.append((len(data), count))
    (n1, c1), (n2, c2) = counts
    assert c2 < 1.25 * (n2 / n1) * c1, counts
    assert c2 < 200 * n2, counts  # and a small constant per byte
