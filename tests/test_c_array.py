"""`kwbin c-array`: the file compiled into a program, read with zero allocations."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin.keras import pack

ROOT = Path(__file__).resolve().parents[1]
CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler")

PROGRAM = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
/* Any allocation would abort: kwb_open_memory must not make one. */
#define KWBIN_MALLOC(size) (abort(), (void *)0)
#define KWBIN_FREE(ptr) abort()
#define KWBIN_IMPLEMENTATION
#include "kwbin.h"
#include "model_data.h"

int main(void)
{
    kwb_file f;
    kwb_tensor t;
    kwb_result r = kwb_open_memory(&f, seed_model, seed_model_size);
    if (r != KWB_OK) { printf("open: %s\n", kwb_result_string(r)); return 1; }
    if ((uintptr_t)seed_model % f.alignment != 0) { printf("array not aligned\n"); return 1; }
    r = kwb_verify(&f);
    if (r != KWB_OK) { printf("verify: %s\n", kwb_result_string(r)); return 1; }
    r = kwb_find_weight(&f, "dense_4", "bias", &t);
    if (r != KWB_OK) { printf("find: %s\n", kwb_result_string(r)); return 1; }
    const float *bias = kwb_tensor_f32(&t);
    if (bias == NULL) { printf("no zero-copy float view\n"); return 1; }
    printf("%u %u %.9g %.9g\n", kwb_layer_count(&f), kwb_tensor_count(&f), (double)bias[0], (double)bias[99]);
    kwb_close(&f);
    return 0;
}
"""


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.parametrize("std", ["-std=c99", "-std=c11", "-x c++ -std=c++17"])
def test_the_array_opens_in_place_with_no_allocation(tmp_path, keras_data, std):
    model = tmp_path / "seed.kwb"
    pack(keras_data / "seed_k3.keras", model)
    made = run(sys.executable, "-m", "kwbin", "c-array", str(model), "-o", str(tmp_path / "model_data.h"), "--name", "seed_model")
    assert made.returncode == 0, made.stderr
    (tmp_path / "main.c").write_text(PROGRAM)
    compiler = shutil.which("c++") if "c++" in std else CC
    flags = std.replace("-x c++ ", "").split()
    source = ["-x", "c++", "main.c"] if "c++" in std else ["main.c"]
    built = run(compiler, *flags, "-O1", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'c_reader'}", "-o", "prog", *source, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    result = run(str(tmp_path / "prog"))
    assert result.returncode == 0, result.stdout
    with kwbin.open(model) as f:
        bias = f["dense_4", "bias"]
        expected = f"{len(f.layers)} {len(f)} {float(bias[0]):.9g} {float(bias[99]):.9g}"
    assert result.stdout.strip() == expected


def test_a_damaged_file_is_not_turned_into_an_array(tmp_path):
    model = tmp_path / "m.kwb"
    kwbin.save_file({"w": np.arange(10, dtype=np.float32)}, model)
    data = bytearray(model.read_bytes())
    data[-64] ^= 1  # a payload byte: only verify() sees it
    model.write_bytes(bytes(data))
    result = run(sys.executable, "-m", "kwbin", "c-array", str(model), "-o", str(tmp_path / "m.h"))
    assert result.returncode == 1
    assert "tensor_checksum" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.h").exists()


def test_a_bad_symbol_is_refused(tmp_path):
    model = tmp_path / "m.kwb"
    kwbin.save_file({"w": np.zeros(3, np.float32)}, model)
    result = run(sys.executable, "-m", "kwbin", "c-array", str(model), "--name", "2bad-name")
    assert result.returncode == 2 and "C identifier" in result.stderr
