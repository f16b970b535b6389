"""The C reader's open does work linear in the file's size, judged by instructions, not time.

valgrind's cachegrind counts the instructions a run executes (deterministic, whatever the
machine's load).  Each hostile file of tests/hostile_files.py is opened at two sizes; doubling
the file must at most double the count (plus a margin).  Issue #11 finding 2's file (records
naming suffixes of one long string) took 108 s (kwb_open_memory) and 17 s (kwb_open_path) at
1 MB; it must now be refused in about the instructions of reading it.

kwb_open_memory has no memory to remember strings in: its repeated checks are counted against a
work budget linear in the file's size (KWBIN_WORK_PER_BYTE * size + KWBIN_WORK_BASE units), past
which it returns needs_memory.  Its linearity is tested with a build whose budget binds at the
test sizes (1 unit per byte, no base); real files must stay far below the default budget.
"""

from __future__ import annotations

import os
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


@pytest.fixture(scope="module")
def tight_unit(unit, tmp_path_factory) -> Path:
    """test_kwbin with a work budget of one unit per byte and no base: it binds at 1-2 MB."""
    out = tmp_path_factory.mktemp("tight") / "test_kwbin"
    result = subprocess.run(
        [os.environ.get("CC", "cc"), "-std=c99", "-O2", "-DKWBIN_WORK_PER_BYTE=1", "-DKWBIN_WORK_BASE=0",
         f"-I{ROOT / 'c_reader'}", "-o", str(out), str(ROOT / "c_reader" / "tests" / "test_kwbin.c")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def units(unit: Path, mode: str, path: Path) -> tuple[str, int]:
    """The verdict of one open of ``path`` and the units its memory-less checks spent (no valgrind)."""
    result = subprocess.run([str(unit), "--open", mode, str(path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    verdict, _, spent = result.stdout.split()
    return verdict, int(spent)


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


VALID_KINDS = [k for k, (_, valid) in hostile_files.KINDS.items() if valid]


def _linear_work(unit: Path, tmp_path: Path, kind: str, mode: str, growth: float = 1.25) -> list[str]:
    counts, verdicts = [], []
    for size in (SIZE, 2 * SIZE):
        path = tmp_path / f"{kind}_{size}.kwb"
        data = hostile_files.KINDS[kind][0](size)
        path.write_bytes(data)
        verdict, count = instructions(unit, mode, path)
        verdicts.append(verdict)
        counts.append((len(data), count))
    (n1, c1), (n2, c2) = counts
    assert c2 < growth * (n2 / n1) * c1, counts
    assert c2 < 200 * n2, counts  # and a small constant per byte
    return verdicts


@pytest.mark.parametrize("kind", VALID_KINDS)
@pytest.mark.parametrize("mode", ["memory_ex", "path", "work"])
def test_worst_case_valid_files_open_in_linear_work(unit, tmp_path, kind, mode):
    # work: kwb_options.work of kwb_open_work_size bytes, no allocation (test_kwbin checks).
    assert _linear_work(unit, tmp_path, kind, mode) == ["ok", "ok"]


def test_the_flooding_names_share_one_fnv1a_hash():
    names = hostile_files.fnv_colliding_names(17)
    assert len(set(names)) == 1 << 17
    assert {hostile_files.fnv1a(name) for name in names[:: 1 << 10]} == {hostile_files.fnv1a(names[-1])}


@pytest.mark.parametrize("kind", ["fnv_collisions", "shared_long_weights"])
@pytest.mark.parametrize("mode", ["memory_ex", "path", "work", "memory"])
def test_index_and_lookups_take_linear_work_on_hostile_names(unit, tmp_path, kind, mode):
    """The run includes the lookup index (kwb_build_index after the opens that make none) and
    the lookup of every name (test_kwbin's lookup_all), not only the open.

    fnv_collisions (hash flooding): every string, layer name, tensor name and (layer, weight)
    shares one FNV-1a hash, the hash of the C reader's tables (step 15's check, the index):
    open + index + lookups took 3.6e9 instructions at 1 MB, 1.4e10 at 2 MB.
    shared_long_weights: kwb_build_index hashed each (layer, weight) key's text, so two 256 KB
    weights shared by every layer took 5.5e9 and 2.2e10.  Now step 15 sorts the strings and the
    index is sorted arrays, each distinct string sorted once: no hash to flood.
    """
    # memory: the default budget (the allocation-free open decides these sizes)
    verdicts = _linear_work(unit, tmp_path, kind, mode, growth=1.15)
    assert verdicts == ["ok", "ok"]


@pytest.mark.parametrize("kind", VALID_KINDS)
def test_worst_case_valid_files_open_without_memory_in_linear_work(tight_unit, tmp_path, kind):
    """kwb_open_memory: the verdict, or needs_memory once its budget is spent; never more work."""
    verdicts = _linear_work(tight_unit, tmp_path, kind, "memory")
    assert set(verdicts) <= {"ok", "needs_memory"}, verdicts


def test_the_budget_binds_in_the_tight_build(tight_unit, tmp_path):
    """Without it the linearity test above proves nothing: the quadratic files do reach it."""
    path = tmp_path / "shared.kwb"
    path.write_bytes(hostile_files.shared_whole_strings(2 * SIZE))
    assert units(tight_unit, "memory", path)[0] == "needs_memory"
    assert units(tight_unit, "work", path)[0] == "ok"  # with working memory: decided
    path.write_bytes(hostile_files.max_records(2 * SIZE))
    assert units(tight_unit, "memory", path)[0] == "needs_memory"


def _real_files(tmp_path: Path) -> list[Path]:
    """Every valid vector and the Keras fixtures of every generation, packed."""
    from kwbin.keras import pack

    keras = ROOT / "tests" / "data" / "keras"
    files = sorted((ROOT / "spec" / "vectors" / "valid").glob("*.kwb"))
    for src, arch in [("seed_k3.keras", None), ("cnn_k3.keras", None), ("seed_tfk.h5", None),
                      ("mlp_tfk.h5", None), ("seed_keras1.h5", None), ("seed_keras216.h5", None),
                      ("keras1_model54321_weights.h5", "keras1_model54321_architecture.json")]:  # fmt: skip
        out = tmp_path / (src + ".kwb")
        pack(keras / src, out, arch=keras / arch if arch else None)
        files.append(out)
    return files


def test_real_files_use_a_sliver_of_the_budget(unit, tmp_path):
    """The default budget is 32 units per byte + 2^24: real files never come near it."""
    for path in _real_files(tmp_path):
        verdict, spent = units(unit, "memory", path)
        assert verdict == "ok", path
        assert spent < path.stat().st_size + 100_000, (path, spent)  # < 1 unit per byte
