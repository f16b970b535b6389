"""kwbin_nn.h's own tanh and sigmoid (c_reader/nn/14_fastmath.h) against exact values.

A C program includes the header and sweeps float bit patterns (every 61st
positive one, both signs: about 35 million values), comparing each result
with the double-precision tanh / logistic rounded to float.  The bound is
in ulp of the exact result: tanh over every finite float, sigmoid wherever
its result is a normal float; beyond, the absolute error is what counts.
Built at -O2 (scalar) and -O3 -march=native (vectorized loops, with FMA where
the machine has it): both builds must meet the bound.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from test_c_inference import CC, C_READER, WARNINGS

pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

PROGRAM = r"""
#define KWBIN_IMPLEMENTATION
#define KWBIN_NN_IMPLEMENTATION
#include "kwbin_nn.h"
#include <stdio.h>

static double ulp_of(double exact)
{
    float a = fabsf((float)exact);
    return (double)nextafterf(a, INFINITY) - (double)a;
}

/* The loops the activation code runs, on an array: so the vectorized code is what is checked. */
#define N 4096
static float xs[N], ts[N], ss[N];

int main(void)
{
    double worst_t = 0.0, worst_s = 0.0, abs_s = 0.0;
    float at_t = 0.0f, at_s = 0.0f;
    uint32_t bits = 0;
    size_t n = 0, i;
    int done = 0;
    while (!done) {
        for (n = 0; n < N && !done; n += 2) {
            float x;
            memcpy(&x, &bits, sizeof x);
            xs[n] = x;
            xs[n + 1] = -x;
            if (bits >= 0x7f7fffffu - 61u) done = 1;
            bits += 61u;
        }
        for (i = 0; i < n; i++) ts[i] = kwnn__tanh(xs[i]);
        for (i = 0; i < n; i++) ss[i] = kwnn__sigmoid(xs[i]);
        for (i = 0; i < n; i++) {
            double x = (double)xs[i], t = tanh(x), s = 1.0 / (1.0 + exp(-x));
            double et = fabs((double)ts[i] - t) / ulp_of(t), es = fabs((double)ss[i] - s);
            if (et > worst_t) { worst_t = et; at_t = xs[i]; }
            if (es > abs_s) abs_s = es;
            if (s >= 1.17549435e-38 && xs[i] >= -87.0f) {
                es /= ulp_of(s);
                if (es > worst_s) { worst_s = es; at_s = xs[i]; }
            }
        }
    }
    printf("%.3f %.9g %.3f %.9g %.3g\n", worst_t, (double)at_t, worst_s, (double)at_s, abs_s);
    /* special values: NaN stays NaN, the limits are exact, -0 keeps its sign */
    printf("%d %d %g %g %g %g %g %g %g\n", kwnn__tanh(NAN) != kwnn__tanh(NAN), kwnn__sigmoid(NAN) != kwnn__sigmoid(NAN),
           (double)kwnn__tanh(INFINITY), (double)kwnn__tanh(-INFINITY), (double)kwnn__sigmoid(INFINITY),
           (double)kwnn__sigmoid(-INFINITY), (double)kwnn__sigmoid(-90.0f), (double)copysignf(1.0f, kwnn__tanh(-0.0f)),
           (double)kwnn__sigmoid(0.0f));
    return 0;
}
"""


@pytest.mark.parametrize("flags", [["-O2"], ["-O3", "-march=native"]], ids=["O2", "O3-native"])
def test_tanh_and_sigmoid_are_within_a_few_ulp_everywhere(tmp_path: Path, flags):
    source = tmp_path / "sweep.c"
    source.write_text(PROGRAM)
    exe = tmp_path / "sweep"
    cmd = [CC, "-std=c99", *flags, *WARNINGS, "-Wno-conversion", "-Wno-float-conversion", f"-I{C_READER}",
           "-o", str(exe), str(source), "-lm"]
    built = subprocess.run(cmd, capture_output=True, text=True)
    if built.returncode != 0 and "-march=native" in flags and "march" in built.stderr:
        pytest.skip(f"this compiler has no -march=native: {built.stderr.strip()[:200]}")
    assert built.returncode == 0, built.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    sweep, special = out.stdout.splitlines()
    print(sweep)
    worst_t, at_t, worst_s, at_s, abs_s = (float(v) for v in sweep.split())
    assert worst_t <= 2.5, f"tanh is {worst_t} ulp off at {at_t}"
    assert worst_s <= 2.5, f"sigmoid is {worst_s} ulp off at {at_s}"
    assert abs_s <= 1.2e-7, f"sigmoid is {abs_s} off somewhere"  # 2 ulp of results in [0.5, 1)
    assert special.split() == ["1", "1", "1", "-1", "1", "0", "0", "-1", "0.5"]
