"""The fast paths of kwbin_nn.h (13_gemm.h): every build gives Keras's outputs.

- the fixtures of tests/data/nn, run by kwbin-run built as a deployment would
  (-O3 -march=native: the AVX2/FMA kernels where the CPU has them), with
  KWNN_NO_SIMD (the portable kernels), and for AArch64 (the NEON kernels, run
  under qemu-aarch64), on big-endian s390x and powerpc (under qemu) and 32-bit
  i686, and under ASan and UBSan, every convolution through
  im2col however small
  (KWNN_CONV_IM2COL_MIN=0), equal Keras's outputs within each case's
  tolerance (the default -O2 build is the one the other tests run);
- the matrix multiply's edges: Dense layers whose sizes cross every block
  boundary (rows around the 4/6-row tiles and the 192-row blocks, columns
  around the 16-column panels, K around the 256-row slices), at batch 1 (the
  one-row path) and larger, equal Keras;
- the caller's parallel_for: a hook that runs the tasks in reverse order gives
  bit-identical outputs to no hook, and calls every task once (checked by the
  driver), on every single-input single-output fixture.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from kwbin.keras import pack

from test_c_inference import WARNINGS, _compile, _difference  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
C_READER = ROOT / "c_reader"
RUN_SOURCE = C_READER / "tools" / "kwbin_run.c"
NN = ROOT / "tests" / "data" / "nn"
CASES = json.loads((NN / "cases.json").read_text())["cases"]
FORCE = ["-DKWNN_CONV_IM2COL_MIN=0"]  # every forward convolution through im2col, however small
#: name -> (compiler, flags, emulator)
BUILDS = {
    "native": ("cc", ["-std=c99", "-O3", "-march=native", *FORCE], []),
    "portable": ("cc", ["-std=c99", "-O3", "-march=native", "-DKWNN_NO_SIMD", *FORCE], []),
    "aarch64": ("aarch64-linux-gnu-gcc", ["-std=c99", "-O2", "-static", *FORCE], ["qemu-aarch64"]),
    # The portable kernels on the other hosts of the build matrix: big-endian (weights converted at
    # load, not used in place) and 32-bit (size_t arithmetic of the blocking).
    "s390x": ("s390x-linux-gnu-gcc", ["-std=c99", "-O2", "-static", *FORCE], ["qemu-s390x"]),
    "powerpc": ("powerpc-linux-gnu-gcc", ["-std=c99", "-O2", "-static", *FORCE], ["qemu-ppc"]),
    "i686": ("i686-linux-gnu-gcc", ["-std=c99", "-O2", "-static", *FORCE], []),
    "sanitized": ("cc", ["-std=c99", "-O1", "-g", "-march=native", "-fsanitize=address,undefined",
                         "-fno-sanitize-recover=all", *FORCE], []),
}

# Runs a net with no hook, then with a parallel_for that runs the tasks in reverse order and
# counts them; exits 1 unless the outputs are the same bits and every task ran once.
HOOK_DRIVER = r"""
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long calls, tasks, bad;
static unsigned char seen[1 << 16];

static void reverse_for(void (*task)(void *, size_t), void *ctx, size_t n, void *data)
{
    size_t i;
    (void)data;
    calls++;
    if (n > sizeof seen) { bad++; return; }
    memset(seen, 0, n);
    for (i = n; i-- > 0;) { task(ctx, i); seen[i]++; tasks++; }
    for (i = 0; i < n; i++) if (seen[i] != 1) bad++;
}

int main(int argc, char **argv)
{
    kwb_file f;
    kwnn_net a, b;
    kwnn_options opt;
    FILE *in;
    int batch = atoi(argv[3]);
    size_t nin, nout, need;
    float *x, *y1, *y2;
    void *scratch;
    if (argc != 4 || kwb_open_path(&f, argv[1], NULL) != KWB_OK || kwnn_load(&a, &f, NULL) != KWNN_OK) return 2;
    memset(&opt, 0, sizeof opt);
    opt.parallel_for = reverse_for;
    if (kwnn_load(&b, &f, &opt) != KWNN_OK) return 2;
    nin = a.input_count * (size_t)batch;
    nout = a.output_count * (size_t)batch;
    need = kwnn_scratch_size(&a, batch);
    x = malloc(nin * 4);
    y1 = malloc(nout * 4);
    y2 = malloc(nout * 4);
    scratch = malloc(need + 1);
    in = fopen(argv[2], "rb");
    if (!x || !y1 || !y2 || !scratch || !in || fread(x, 4, nin, in) != nin) return 2;
    fclose(in);
    if (kwnn_run(&a, x, nin, y1, nout, scratch, need, batch) != KWNN_OK) return 2;
    memset(scratch, 0xff, need); /* NaN: the hooked run must not lean on what the first left */
    if (kwnn_run(&b, x, nin, y2, nout, scratch, need, batch) != KWNN_OK) return 2;
    printf("calls %llu tasks %llu\n", calls, tasks);
    if (bad || memcmp(y1, y2, nout * 4) != 0) return 1;
    return 0;
}
"""


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("speed_packed")
    out = {}
    for name, case in CASES.items():
        out[name] = folder / f"{name}.kwb"
        pack(NN / case["model"], out[name])
    return out


def _build(name: str, folder: Path) -> list[str]:
    """The command that runs kwbin-run built as `name` (skipped where its tools are missing)."""
    cc, flags, emulator = BUILDS[name]
    missing = [tool for tool in (cc, *emulator) if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed (see .ci/run for the Debian packages)"
        if os.environ.get("KWBIN_REQUIRE_CROSS"):
            pytest.fail(message)
        pytest.skip(message)
    exe = folder / f"kwbin-run-{name}"
    if not exe.exists():
        _compile(exe, RUN_SOURCE, *flags, *WARNINGS, cc=cc)
    return [*emulator, str(exe)]


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("speed_builds")


def _run(exe: Path | list[str], model: Path, inputs: list[Path], n_out: int, tmp: Path) -> list[np.ndarray]:
    outs: list[str] = []
    for j in range(n_out):
        outs += ["-o", str(tmp / f"out{j}.npy")]
    cmd = [str(exe)] if isinstance(exe, Path) else exe
    result = subprocess.run([*cmd, str(model), *map(str, inputs), *outs], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    return [np.load(tmp / f"out{j}.npy") for j in range(n_out)]


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_every_fixture_equals_keras_on_each_build(build, build_dir, packed, tmp_path):
    exe = _build(build, build_dir)
    worst = {}
    for name, case in CASES.items():
        got = _run(exe, packed[name], [NN / i["file"] for i in case["inputs"]], len(case["outputs"]),
                   tmp_path)
        diff = max(_difference(g, np.load(NN / o["file"])) for g, o in zip(got, case["outputs"]))
        if diff > case["tolerance"]:
            worst[name] = diff
    assert worst == {}


SIZES = [(1, 5, 3), (7, 300, 17), (5, 16, 32), (6, 257, 33), (13, 40, 64), (193, 520, 47), (400, 3, 100)]


@pytest.mark.parametrize("rows,k,n", SIZES)
def test_dense_sizes_across_block_edges_equal_keras(rows, k, n, build_dir, tmp_path):
    import keras

    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((k,)), keras.layers.Dense(n, activation="linear", name="d")])
    rng = np.random.default_rng(rows * 1000 + k + n)
    model.get_layer("d").set_weights([rng.normal(0, 1, (k, n)).astype(np.float32),
                                      rng.normal(0, 1, n).astype(np.float32)])
    model.save(tmp_path / "m.keras")
    pack(tmp_path / "m.keras", tmp_path / "m.kwb")
    x = rng.normal(0, 1, (rows, k)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    want = np.asarray(model.predict(x, verbose=0))
    exes: list[Path | list[str]] = [_build(name, build_dir) for name in ("native", "portable")]
    for exe in [*exes, ROOT / "build" / "kwbin-run"]:
        got = _run(exe, tmp_path / "m.kwb", [tmp_path / "x.npy"], 1, tmp_path)[0]
        assert got.shape == want.shape
        # float32 sums in k order (Keras's XLA sums in blocks): the rounding grows with k
        assert _difference(got, want) <= 1e-5 * max(1.0, k / 256), exe
        np.save(tmp_path / "x1.npy", x[-1:])  # the last row alone (the one-row path): the same bits
        assert np.array_equal(_run(exe, tmp_path / "m.kwb", [tmp_path / "x1.npy"], 1, tmp_path)[0], got[-1:])


@pytest.mark.parametrize("flags", [["-O2"], ["-O3", "-march=native"]], ids=["O2", "native"])
def test_parallel_for_gives_the_same_bits(flags, packed, tmp_path):
    exe = tmp_path / "hook"
    (tmp_path / "hook.c").write_text(HOOK_DRIVER)
    # every product with more than one block is handed out, however small
    _compile(exe, tmp_path / "hook.c", "-std=c99", "-DKWNN_PARALLEL_MIN=1", *FORCE, *flags, *WARNINGS)
    hooked = 0
    for name, case in CASES.items():
        if len(case["inputs"]) != 1 or len(case["outputs"]) != 1:
            continue
        x = np.load(NN / case["inputs"][0]["file"]).astype("<f4")
        x.tofile(tmp_path / "x.bin")
        result = subprocess.run([str(exe), str(packed[name]), str(tmp_path / "x.bin"), str(x.shape[0])],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, (name, result.stdout, result.stderr)
        hooked += int(result.stdout.split()[1]) > 0
    assert hooked >= 10, hooked  # the hook was used (layers big enough to split)


def test_kwbin_run_threads_give_the_same_bits(packed, tmp_path):
    """kwbin-run --threads 3 (a pthreads parallel_for, every product split) against one thread."""
    exe = tmp_path / "kwbin-run-threads"
    _compile(exe, RUN_SOURCE, "-std=c99", "-O2", "-DKWNN_PARALLEL_MIN=1", *FORCE, "-pthread", *WARNINGS)
    for name, case in CASES.items():
        inputs = [NN / i["file"] for i in case["inputs"]]
        one = _run(exe, packed[name], inputs, len(case["outputs"]), tmp_path)
        outs: list[str] = []
        for j in range(len(case["outputs"])):
            outs += ["-o", str(tmp_path / f"t{j}.npy")]
        result = subprocess.run([str(exe), "--threads", "3", str(packed[name]), *map(str, inputs), *outs],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        for j, o in enumerate(one):
            assert np.array_equal(np.load(tmp_path / f"t{j}.npy"), o, equal_nan=True), name
    result = subprocess.run([str(exe), "--threads", "0", "m.kwb", "x.npy", "y.npy"], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 2 and "--threads wants a number of threads from 1 to 64" in result.stderr
