"""Hostile but well-formed models against c_reader/kwbin_nn.h (issue #11).

Each test builds a model with ``kwbin.Writer`` that a security review found
costly or wrong, and checks what kwnn_load / kwnn_run / kwbin-run do with it.
Work is judged by counting, never by the clock: a small C driver compiled
here defines the header's KWNN_PROBE hook to count the taps the window loops
visit and the steps of kwnn_load's walks over the layer table (and stops
at a limit, so an unbounded loop fails fast instead of hanging), and prints
kwnn_cost_per_sample.

- a pooling window of 2^30 on a 3 x 3 input visits only the 9 input taps;
- the cost per sample is exposed, and capped (kwnn_options.max_cost,
  kwbin-run --max-cost, default 10^11): a refusal says the cost and the cap;
- a 32,000-layer functional chain (and 2,000 nested models) load in a number
  of steps linear in the layer count;
- a dilation whose extent overflows 32 bits is refused on i686 as on x86-64;
- a celu alpha that is 0 in float32 is refused; a Reshape overflow is named.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import kwbin

ROOT = Path(__file__).resolve().parents[1]
C_READER = ROOT / "c_reader"
RUN_SOURCE = C_READER / "tools" / "kwbin_run.c"
WARNINGS = ["-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
CFLAGS = ["-std=c99", "-O2", *WARNINGS]
CC = next((c for c in (os.environ.get("CC"), "cc", "gcc", "clang") if c and shutil.which(c)), None)
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler (cc, gcc or clang) on PATH")

DEFAULT_CAP = 10**11  # kwbin-run's default --max-cost

# Counts with KWNN_PROBE; stops (exit 3) past the limit given on the command line.
PROBE_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
static unsigned long long probe_taps, probe_load_steps, probe_limit;
static void probe_over(const char *what)
{
    printf("limit %s\n", what);
    exit(3);
}
#define KWNN_PROBE(counter, n) \
    ((probe_##counter += (unsigned long long)(n)) > probe_limit ? probe_over(#counter) : (void)0)
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"

int main(int argc, char **argv)
{
    kwb_file f;
    kwnn_net net;
    kwnn_result r;
    float *x, *y;
    void *scratch;
    size_t i, need;
    uint64_t sum = 0;
    if (argc != 3 || kwb_open_path(&f, argv[1], NULL) != KWB_OK) return 2;
    probe_limit = strtoull(argv[2], NULL, 10);
    r = kwnn_load(&net, &f, NULL);
    printf("load_steps %llu\nlayers %u\n", probe_load_steps, kwb_layer_count(&f));
    if (r != KWNN_OK) {
        printf("error %s: %s\n", kwnn_result_string(r), net.message);
        return 1;
    }
    for (i = 0; i < net.layer_count; i++) sum += net.layers[i].cost;
    printf("cost %llu\nlayer_sum %llu\n", (unsigned long long)kwnn_cost_per_sample(&net),
           (unsigned long long)sum);
    need = kwnn_scratch_size(&net, 1);
    x = (float *)malloc(net.input_count * sizeof *x);
    y = (float *)malloc(net.output_count * sizeof *y);
    scratch = malloc(need ? need : 1);
    for (i = 0; i < net.input_count; i++) x[i] = (float)i;
    r = kwnn_run(&net, x, net.input_count, y, net.output_count, scratch, need, 1);
    printf("taps %llu\nrun %s\noutput", probe_taps, kwnn_result_string(r));
    for (i = 0; i < net.output_count && i < 64; i++) printf(" %.9g", (double)y[i]);
    printf("\n");
    free(scratch);
    free(y);
    free(x);
    kwnn_free(&net);
    kwb_close(&f);
    return 0;
}
"""


def _compile(out: Path, source: Path, *flags: str, cc: str | None = None) -> None:
    cmd = [cc or CC, *flags, f"-I{C_READER}", "-o", str(out), str(source), "-lm"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stderr}"


@pytest.fixture(scope="module")
def kwbin_run(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("hostile") / "kwbin-run"
    _compile(exe, RUN_SOURCE, *CFLAGS)
    return exe


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("probe")
    (folder / "probe.c").write_text(PROBE_DRIVER)
    _compile(folder / "probe", folder / "probe.c", *CFLAGS)
    return folder / "probe"


def _probe(exe: Path, model: Path, limit: int) -> dict[str, str]:
    result = subprocess.run([str(exe), str(model), str(limit)], capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1, 3), result.stderr
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert "limit" not in out, f"more than {limit} {out['limit']}: the work is not bounded by the shapes"
    return out


def _run(exe: Path, model: Path, x: np.ndarray, tmp: Path, *options: str) -> subprocess.CompletedProcess:
    np.save(tmp / "x.npy", np.ascontiguousarray(x, dtype=np.float32))
    return subprocess.run([str(exe), *options, str(model), str(tmp / "x.npy"), str(tmp / "y.npy")],
                          capture_output=True, text=True, timeout=600)


def _error(result: subprocess.CompletedProcess, code: int) -> str:
    lines = result.stderr.splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and lines[0].startswith("kwbin-run: error: "), result.stderr
    return lines[0]


def _pool_file(path: Path, cls: str, hw: tuple[int, int], pool: int, padding: str, strides=None) -> None:
    with kwbin.Writer(path) as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, hw[0], hw[1], 1]})
        w.add_layer("pool", cls, config={"pool_size": [pool, pool], "strides": strides, "padding": padding})


# ---------------------------------------------------------------------------
# Finding 3: work bounded by the shapes; the cost exposed and capped
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ["MaxPooling2D", "AveragePooling2D"])
def test_huge_same_pool_window_visits_only_the_input(cls, probe, kwbin_run, tmp_path):
    """pool_size 2^30, 'same', strides 1 on 3 x 3: 9 outputs, each over the 9 inputs."""
    _pool_file(tmp_path / "m.kwb", cls, (3, 3), 2**30, "same", strides=[1, 1])
    out = _probe(probe, tmp_path / "m.kwb", 10**6)
    assert int(out["taps"]) == 9 * 9
    assert int(out["cost"]) == 9 * 9 + 9 == int(out["layer_sum"])
    assert int(out["taps"]) <= int(out["cost"])
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    result = _run(kwbin_run, tmp_path / "m.kwb", x, tmp_path)
    assert result.returncode == 0, result.stderr
    expected = np.full((1, 3, 3, 1), 8.0 if cls == "MaxPooling2D" else 4.0, np.float32)
    assert np.array_equal(np.load(tmp_path / "y.npy"), expected)


def test_dilated_conv_taps_are_clipped_to_the_input(probe, tmp_path):
    """A 3 x 3 kernel dilated by 2^28, 'same', on 3 x 3: only the centre tap meets the input."""
    rng = np.random.default_rng(0)
    kernel = rng.normal(0, 1, (3, 3, 1, 2)).astype(np.float32)
    with kwbin.Writer(tmp_path / "m.kwb") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 3, 3, 1]})
        w.add_layer("conv", "Conv2D", config={"filters": 2, "kernel_size": [3, 3], "padding": "same",
                                              "dilation_rate": [2**28, 2**28], "use_bias": False})
        w.add_tensor("conv/kernel", kernel, layer="conv", weight="kernel")
    out = _probe(probe, tmp_path / "m.kwb", 10**6)
    assert int(out["taps"]) == 9  # one tap per output position
    got = np.array(out["output"].split(), dtype=np.float32).reshape(3, 3, 2)
    x = np.arange(9, dtype=np.float32).reshape(3, 3)
    assert np.array_equal(got, x[:, :, None] * kernel[1, 1, 0][None, None, :])


def test_cost_per_sample_is_exposed(probe, kwbin_run, tmp_path):
    rng = np.random.default_rng(1)
    with kwbin.Writer(tmp_path / "m.kwb") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 6, 5, 2]})
        w.add_layer("conv", "Conv2D", config={"filters": 3, "kernel_size": [3, 2], "padding": "valid"})
        w.add_tensor("conv/kernel", rng.normal(0, 1, (3, 2, 2, 3)).astype(np.float32), layer="conv",
                     weight="kernel")
        w.add_tensor("conv/bias", np.zeros(3, np.float32), layer="conv", weight="bias")
        w.add_layer("flat", "Flatten", config={})
        w.add_layer("dense", "Dense", config={"units": 4, "activation": "relu"})
        w.add_tensor("dense/kernel", rng.normal(0, 1, (48, 4)).astype(np.float32), layer="dense",
                     weight="kernel")
        w.add_tensor("dense/bias", np.zeros(4, np.float32), layer="dense", weight="bias")
    conv = 4 * 4 * (3 * 2) * 2 * 3 + 48  # outputs x taps x channels x filters, + outputs
    dense = 48 * 4 + 4
    out = _probe(probe, tmp_path / "m.kwb", 10**6)
    assert int(out["cost"]) == conv + dense == int(out["layer_sum"])
    assert int(out["taps"]) == 4 * 4 * 3 * 2  # every tap of a 'valid' conv is inside
    x = np.zeros((1, 6, 5, 2), np.float32)
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", x, tmp_path, "--max-cost", "100"), 1)
    assert f"costs {conv + dense} operations per sample, above the cap of 100" in line
    assert "too_costly" in line and "--max-cost" in line
    for cap in (str(conv + dense), "0"):  # at the cap, or no cap: runs
        assert _run(kwbin_run, tmp_path / "m.kwb", x, tmp_path, "--max-cost", cap).returncode == 0


def test_costly_model_is_refused_by_default_with_cost_and_cap(kwbin_run, tmp_path):
    """A 448-byte, weightless model: 2000 x 2000 max pool over 2000 x 2000, 1.6e13 operations a sample."""
    _pool_file(tmp_path / "m.kwb", "MaxPooling2D", (2000, 2000), 2000, "same", strides=[1, 1])
    cost = 2000**4 + 2000**2
    x = np.zeros((1, 1), np.float32)  # never read: the model is refused first
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", x, tmp_path), 1)
    assert f"costs {cost} operations per sample, above the cap of {DEFAULT_CAP}" in line
    # a higher cap lets kwnn_load accept it: then the (wrong) input is what fails
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", x, tmp_path, "--max-cost", str(cost)), 4)
    assert "does not fit the network" in line


@pytest.mark.parametrize("argv", [["--max-cost"], ["--max-cost", "-1"], ["--max-cost", "1e9"],
                                  ["--max-cost", "99999999999999999999"], ["--cost"]])
def test_bad_max_cost_option_is_a_usage_error(kwbin_run, tmp_path, argv):
    _pool_file(tmp_path / "m.kwb", "MaxPooling2D", (4, 4), 2, "valid")
    result = _run(kwbin_run, tmp_path / "m.kwb", np.zeros((1, 4, 4, 1)), tmp_path, *argv)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr


def test_old_command_line_still_works(kwbin_run, tmp_path):
    _pool_file(tmp_path / "m.kwb", "MaxPooling2D", (4, 4), 2, "valid")
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    for options in ([], ["--no-verify"], ["--no-verify", "--max-cost", "1000"]):
        result = _run(kwbin_run, tmp_path / "m.kwb", x, tmp_path, *options)
        assert result.returncode == 0, result.stderr
        assert np.array_equal(np.load(tmp_path / "y.npy").ravel(), [5, 7, 13, 15])


# ---------------------------------------------------------------------------
# Finding 4: kwnn_load is linear in the number of layers
# ---------------------------------------------------------------------------


def _chain_file(path: Path, count: int) -> None:
    layers = [{"class_name": "InputLayer", "name": "l0", "config": {"name": "l0", "batch_shape": [None, 2]},
               "inbound_nodes": []}]
    layers += [{"class_name": "Activation", "name": f"l{i}", "config": {"name": f"l{i}", "activation": "linear"},
                "inbound_nodes": [[[f"l{i - 1}", 0, 0, {}]]]} for i in range(1, count)]
    model_config = {"class_name": "Functional", "config": {
        "name": "chain", "layers": layers, "input_layers": [["l0", 0, 0]],
        "output_layers": [[f"l{count - 1}", 0, 0]]}}
    with kwbin.Writer(path, metadata={"model_config": model_config}) as w:
        for entry in layers:
            w.add_layer(entry["name"], entry["class_name"], config=entry["config"])


def test_long_functional_chain_loads_in_linear_steps(probe, tmp_path):
    n = 32000
    _chain_file(tmp_path / "m.kwb", n)
    out = _probe(probe, tmp_path / "m.kwb", 10 * n)
    assert out["run"] == "ok" and int(out["layers"]) == n
    assert int(out["load_steps"]) <= 8 * n  # count, link, build, sort (nodes and edges), shapes: 6 walks


def test_many_nested_models_load_in_linear_steps(probe, tmp_path):
    """2,000 nested Functional models in a row, two layers each: every nested check is local."""
    models = 2000
    inner = {"layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_shape": [None, 2]},
         "inbound_nodes": []},
        {"class_name": "Activation", "name": "y", "config": {"name": "y", "activation": "relu"},
         "inbound_nodes": [[["x", 0, 0, {}]]]}], "input_layers": [["x", 0, 0]], "output_layers": [["y", 0, 0]]}
    with kwbin.Writer(tmp_path / "m.kwb") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 2]})
        for i in range(models):
            w.add_layer(f"m{i}", "Functional", config=inner)
            w.add_layer(f"m{i}/x", "InputLayer", config={"batch_shape": [None, 2]}, parent=f"m{i}")
            w.add_layer(f"m{i}/y", "Activation", config={"activation": "relu"}, parent=f"m{i}")
    n = 1 + 3 * models
    out = _probe(probe, tmp_path / "m.kwb", 10 * n)
    assert out["run"] == "ok" and int(out["layers"]) == n
    assert int(out["load_steps"]) <= 8 * n  # count, link, build, sort (nodes and edges), shapes: 6 walks


def test_config_and_table_in_different_orders_are_refused(kwbin_run, tmp_path):
    """The chain kwnn_run follows is the table's: a config listing the layers otherwise is refused."""
    layers = [{"class_name": "InputLayer", "name": "in", "config": {"name": "in", "batch_shape": [None, 2]},
               "inbound_nodes": []},
              {"class_name": "Activation", "name": "a", "config": {"activation": "relu"},
               "inbound_nodes": [[["in", 0, 0, {}]]]},
              {"class_name": "Activation", "name": "b", "config": {"activation": "tanh"},
               "inbound_nodes": [[["a", 0, 0, {}]]]}]
    meta = {"model_config": {"class_name": "Functional", "config": {"layers": layers}}}
    with kwbin.Writer(tmp_path / "m.kwb", metadata=meta) as w:
        for name in ("in", "b", "a"):
            entry = next(e for e in layers if e["name"] == name)
            w.add_layer(name, entry["class_name"], config=entry["config"])
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", np.zeros((1, 2)), tmp_path), 1)
    assert "lists layer 'a' where the layer table has 'b'" in line


# ---------------------------------------------------------------------------
# Finding 5: checked arithmetic on 32 bits; celu alpha; Reshape overflow
# ---------------------------------------------------------------------------


def _dilated_file(path: Path) -> None:
    """kernel (5, 1) dilated by 2^30: the extent 4 * 2^30 + 1 wraps to 1 in 32-bit size_t."""
    with kwbin.Writer(path) as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 5, 1, 1]})
        w.add_layer("conv", "Conv2D", config={"filters": 1, "kernel_size": [5, 1], "padding": "valid",
                                              "dilation_rate": [2**30, 1], "use_bias": False})
        w.add_tensor("conv/kernel", np.ones((5, 1, 1, 1), np.float32), layer="conv", weight="kernel")


@pytest.mark.parametrize("host", ["native", "i686"])
def test_dilation_overflow_is_refused_on_every_host(host, kwbin_run, tmp_path):
    if host == "native":
        exe = kwbin_run
    else:
        cross = "i686-linux-gnu-gcc"
        if not shutil.which(cross):
            if os.environ.get("KWBIN_REQUIRE_CROSS"):
                pytest.fail(f"{cross} not installed")
            pytest.skip(f"{cross} not installed (see .ci/run)")
        exe = tmp_path / "kwbin-run-i686"
        _compile(exe, RUN_SOURCE, "-std=c99", "-O2", "-static", *WARNINGS, cc=cross)
    _dilated_file(tmp_path / "m.kwb")
    line = _error(_run(exe, tmp_path / "m.kwb", np.ones((1, 5, 1, 1)), tmp_path), 1)
    assert "'conv' (Conv2D)" in line and "too large" in line


def test_celu_alpha_zero_in_float32_is_refused(kwbin_run, tmp_path):
    rng = np.random.default_rng(2)
    for alpha in (0.0, 1e-50):  # 1e-50 is not 0 as a double, but is as a float
        with kwbin.Writer(tmp_path / "m.kwb") as w:
            w.add_layer("input", "InputLayer", config={"batch_shape": [None, 3]})
            w.add_layer("dense", "Dense", config={
                "units": 2, "activation": {"class_name": "celu", "config": {"alpha": alpha}}})
            w.add_tensor("dense/kernel", rng.normal(0, 1, (3, 2)).astype(np.float32), layer="dense",
                         weight="kernel")
            w.add_tensor("dense/bias", np.zeros(2, np.float32), layer="dense", weight="bias")
        line = _error(_run(kwbin_run, tmp_path / "m.kwb", -np.ones((1, 3)), tmp_path), 1)
        assert "bad_config" in line and "non-zero alpha for celu" in line


def test_reshape_overflow_names_the_target_shape(kwbin_run, tmp_path):
    with kwbin.Writer(tmp_path / "m.kwb") as w:
        w.add_layer("input", "InputLayer", config={"batch_shape": [None, 4]})
        w.add_layer("r", "Reshape", config={"target_shape": [65536, 65536, 65536, 65536, 65536]})
    line = _error(_run(kwbin_run, tmp_path / "m.kwb", np.ones((1, 4)), tmp_path), 1)
    assert "'r' (Reshape)" in line and "target_shape [65536,65536" in line
    assert "overflows" in line and "parameters" not in line
