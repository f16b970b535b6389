"""Writes are all-or-nothing: SIGKILL at every step of a write, and a disk that fills up.

A child process writes one version of a file over the previous one and stops
dead at a chosen *step*: just before one of the I/O calls the write makes (each
half of every ``write``, every ``flush``, ``fsync``, ``fchmod``, ``replace`` and
kernel copy).  There it tells the parent, which kills it with SIGKILL.  So the
kill points are chosen by count, not by clock, and the test gives the same
verdict on an idle or a loaded machine.  After every kill the destination must
be exactly the version that was complete before the kill, or the new one once
the rename has happened, bit for bit.  Temporary files may survive a SIGKILL
(nothing can remove them) but always under the documented name pattern.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kwbin

# The child: writes `version` to `path` and, before I/O step `kill_at`, prints
# "step N" and waits to be killed.  With kill_at 0 it writes the whole file and
# prints the step count and the step at which the destination was replaced.
WRITER = textwrap.dedent(
    """
    import os, sys, numpy as np, kwbin, kwbin.atomic, kwbin.writer
    path, streaming, version, kill_at = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3]), int(sys.argv[4])
    steps = 0
    replaced_at = None

    def step(what):
        global steps
        steps += 1
        if steps == kill_at:
            sys.stdout.write(f"step {steps} {what}\\n"); sys.stdout.flush()
            sys.stdin.read()  # the parent kills us here; never returns while it runs
            os._exit(99)

    class Stepped:
        # A file whose writes and flushes are kill points; the rest is passed on.
        def __init__(self, file):
            self._file = file
        def write(self, data):
            view = memoryview(data).cast("B")
            half = len(view) // 2
            step("write")
            done = self._file.write(view[:half])
            step("write")
            return done + self._file.write(view[half:])
        def flush(self):
            step("flush")
            return self._file.flush()
        def __getattr__(self, name):
            return getattr(self._file, name)

    def stepped_temp(original):
        def temp_file_beside(*args, **kwargs):
            file, temp = original(*args, **kwargs)
            return Stepped(file), temp
        return temp_file_beside

    kwbin.atomic.temp_file_beside = stepped_temp(kwbin.atomic.temp_file_beside)
    kwbin.writer.temp_file_beside = stepped_temp(kwbin.writer.temp_file_beside)

    def stepped(name):
        original = getattr(os, name)
        def call(*args, **kwargs):
            global replaced_at
            step(name)
            result = original(*args, **kwargs)
            if name == "replace":
                replaced_at = steps
            return result
        setattr(os, name, call)

    for name in ("fsync", "fchmod", "replace", "copy_file_range"):
        if hasattr(os, name):
            stepped(name)

    rng = np.random.default_rng(version)
    tensors = {f"t{i}": rng.standard_normal(300_000).astype(np.float32) for i in range(6)}
    if streaming:
        with kwbin.Writer(path, metadata={"version": version}) as w:
            for name, array in tensors.items():
                w.add_tensor(name, array)
    else:
        kwbin.save_file(tensors, path, metadata={"version": version})
    sys.stdout.write(f"done {steps} {replaced_at}\\n"); sys.stdout.flush()
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


def _write(path, streaming: bool, version: int, kill_at: int) -> str:
    """Run the writer child; kill it at step ``kill_at`` (0: let it finish). Its last line."""
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "1" if streaming else "0", str(version), str(kill_at)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    line = child.stdout.readline().decode()
    if kill_at:
        assert line.startswith(f"step {kill_at} "), line
        child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    child.stdin.close()
    if not kill_at:
        assert child.returncode == 0 and line.startswith("done "), line
    return line


@pytest.mark.parametrize("streaming", [False, True], ids=["save_file", "Writer"])
def test_sigkill_at_every_write_step_leaves_the_old_or_the_new_file(tmp_path, streaming):
    path = tmp_path / "model.kwb"
    # A complete write, to count its steps and find the rename among them.
    _, steps, replaced_at = _write(path, streaming, 1, 0).split()
    steps, replaced_at = int(steps), int(replaced_at)
    assert 10 <= steps < 200 and 1 < replaced_at <= steps
    assert check_destination(path) == 1

    # Killed before the rename with no destination yet: still no destination.
    path.unlink()
    _write(path, streaming, 2, replaced_at)
    assert not path.exists()
    _write(path, streaming, 1, 0)

    current = 1  # the version the destination holds
    for kill_at in range(1, steps + 1):
        version = kill_at + 1
        _write(path, streaming, version, kill_at)
        if kill_at > replaced_at:  # killed after the rename: the new version is in place
            current = version
        assert check_destination(path) == current
        leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model.kwb"]
        assert all(n.startswith(".model.kwb.") and n.endswith(".kwbin-tmp") for n in leftovers), leftovers
        for name in leftovers:
            os.unlink(tmp_path / name)
    assert current == steps + 1


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
    result = subprocess.run(_with_file_size_limit(args, 500_000), capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary file left
    if command != "save_file":
        assert result.returncode == 3
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kwbin: error:"), result.stderr
        assert "too large" in lines[0].lower()


import kwbin.keras  # noqa: E402  (used by the export case)


@pytest.mark.parametrize("streaming", [False, True], ids=["save_file", "Writer"])
def test_a_symbolic_link_destination_is_written_through(tmp_path, streaming):
    target = tmp_path / "models" / "real.kwb"
    target.parent.mkdir()
    link = tmp_path / "current.kwb"
    link.symlink_to(target)
    tensors = {"x": np.arange(5, dtype=np.float32)}
    if streaming:
        with kwbin.Writer(link) as w:
            w.add_tensor("x", tensors["x"])
    else:
        kwbin.save_file(tensors, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    with kwbin.open(target) as f:
        assert f["x"].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("streaming", [False, True], ids=["save_file", "Writer"])
def test_a_special_file_destination_is_refused_untouched(tmp_path, streaming):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="special file"):
        if streaming:
            kwbin.Writer(fifo)
        else:
            kwbin.save_file({"x": np.zeros(3, np.float32)}, fifo)
    assert fifo.is_fifo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]
