"""Writes are all-or-nothing: SIGKILL at random moments, and a disk that fills up.

A child process rewrites the same destination over and over, each version a
different, reproducible content; the parent kills it at random moments.  After
every kill the destination must be absent (before the first completed write)
or one complete version, bit for bit.  Temporary files may survive a SIGKILL
(nothing can remove them) but always under the documented name pattern.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import kwbin

KILLS = 120

WRITER = textwrap.dedent(
    """
    import sys, numpy as np, kwbin
    path, streaming = sys.argv[1], sys.argv[2] == "1"
    sys.stdout.write("ready\\n"); sys.stdout.flush()
    version = 0
    while True:
        version += 1
        rng = np.random.default_rng(version)
        tensors = {f"t{i}": rng.standard_normal(300_000).astype(np.float32) for i in range(6)}
        if streaming:
            with kwbin.Writer(path, metadata={"version": version}) as w:
                for name, array in tensors.items():
                    w.add_tensor(name, array)
        else:
            kwbin.save_file(tensors, path, metadata={"version": version})
    """
)


def expected(version: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(version)
    return {f"t{i}": rng.standard_normal(300_000).astype(np.float32) for i in range(6)}


def check_destination(path) -> int:
    """The version held, after checking the file is that version, complete."""
    with kwbin.open(path) as f:
        f.verify()
        version = f.metadata["version"] if "version" in f.metadata else f.user_metadata["version"]
        want = expected(version)
        assert list(f) == list(want)
        for name, array in want.items():
            assert f[name].tobytes() == array.tobytes()
    return version


@pytest.mark.parametrize("streaming", [False, True], ids=["save_file", "Writer"])
def test_sigkill_at_random_moments_leaves_the_old_or_the_new_file(tmp_path, streaming):
    path = tmp_path / "model.kwb"
    rng = random.Random(1234 + streaming)
    seen_versions = set()
    for _ in range(KILLS // 2):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), "1" if streaming else "0"], stdout=subprocess.PIPE
        )
        assert child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        if path.exists():
            seen_versions.add(check_destination(path))
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model.kwb"]
        assert all(n.startswith(".model.kwb.") and n.endswith(".kwbin-tmp") for n in leftovers), leftovers
        for name in leftovers:
            os.unlink(tmp_path / name)
    # The kills landed both between and inside writes: several versions were completed.
    assert len(seen_versions) >= 3, seen_versions


def _with_file_size_limit(args: list[str], limit: int) -> list[str]:
    # prlimit (util-linux) rather than a preexec_fn: forking a process that
    # has started JAX's threads (other tests do) is unsafe.  Python ignores
    # SIGXFSZ, so a write past the limit fails with EFBIG, like a full disk.
    return ["prlimit", f"--fsize={limit}", *args]


@pytest.mark.parametrize("command", ["pack", "export", "save_file"])
def test_a_disk_that_fills_up_gives_one_line_and_leaves_nothing(tmp_path, keras_data, command):
    dest = tmp_path / ("out" if command == "export" else "out.kwb")
    if command == "pack":
        args = [sys.executable, "-m", "kwbin", "pack", str(keras_data / "seed_tfk.h5"), "-o", str(dest)]
    elif command == "export":
        source = tmp_path / "seed.kwb"
        kwbin.keras.pack(keras_data / "seed_tfk.h5", source)
        args = [sys.executable, "-m", "kwbin", "export", str(source), str(dest)]
    else:
        code = "import numpy as np, kwbin, sys; kwbin.save_file({'x': np.ones(10**6, np.float32)}, sys.argv[1])"
        args = [sys.executable, "-c", code, str(dest)]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = subprocess.run(_with_file_size_limit(args, 500_000), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary file left
    if command != "save_file":
        assert result.returncode == 3
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kwbin: error:"), result.stderr
        assert "too large" in lines[0].lower()


import kwbin.keras  # noqa: E402  (used by the export case)
