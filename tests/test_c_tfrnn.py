"""The tf.keras recurrent fixtures (tests/data/tfrnn, made by tensorflow-cpu 2.21 / tf-keras 2.21; its
MANIFEST.md says how) run in C: each .h5 packed by kwbin pack and run by build/kwbin-run equals
tf.keras's own predictions within the case's tolerance (1e-5, relative above 1), every output, the
saved batch and every further run of another length (more_runs). Among them: LSTM, GRU with
reset_after true and false, SimpleRNN, Bidirectional merge modes and a separate backward layer,
return_state (tf.keras's graph: the states as further outputs of the call), stacked encoders over a
None time axis, and Keras 2's CuDNNLSTM / CuDNNGRU (converted at load as tf-keras converts them).
The masking cases (mask_zero, Masking: tf.keras records no mask in the config) run with the masks
kwbin_nn follows over the graph as tf.keras propagates them (c_reader/nn/61_implicit_masks.h):
through Dense, Dropout, TimeDistributed, LayerNormalization, RNNs returning sequences, into RNNs,
Bidirectional, GlobalAveragePooling1D, Attention, AdditiveAttention and MultiHeadAttention, and
dropped by an RNN without sequences and by Conv1D. A Bidirectional whose backward layer differs from
the forward one (GRU(4) and GRU(3, reset_after=False)) runs too, and so do the wrapper cases: bidi_* (an
LSTM forward and a GRU or LSTM backward layer of other units, every merge mode, return_state, a None time
axis) and td_* (TimeDistributed around a Sequential CNN and around a functional model with a residual,
fixed and None frames)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_c_inference import _difference, kwbin_run  # noqa: F401

DATA = Path(__file__).parent / "data" / "tfrnn"
CASES = json.loads((DATA / "cases.json").read_text())["cases"] if (DATA / "cases.json").exists() else {}
NOT_RUN: set[str] = set()


def _runs(case: dict) -> list[dict]:
    return [case, *case.get("more_runs", [])]


@pytest.mark.parametrize("name", sorted(set(CASES) - NOT_RUN))
def test_tfrnn_case(kwbin_run, tmp_path, name):  # noqa: F811
    from kwbin.keras import pack

    case = CASES[name]
    model = tmp_path / "model.kwb"
    pack(DATA / case["model"], model)
    for run in _runs(case):
        cmd = [str(kwbin_run), str(model), *[str(DATA / i["file"]) for i in run["inputs"]]]
        for j, _ in enumerate(run["outputs"]):
            cmd += ["-o", str(tmp_path / f"out{j}.npy")]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        for j, o in enumerate(run["outputs"]):
            diff = _difference(np.load(tmp_path / f"out{j}.npy"), np.load(DATA / o["file"]))
            assert diff <= case["tolerance"], (run["inputs"][0]["file"], j, diff)


MASKED = sorted(n for n in CASES if "mask" in n)


def test_every_masking_case_is_run():
    assert len(MASKED) >= 9 and not set(MASKED) & NOT_RUN


def test_every_case_is_run_or_listed():
    assert len(CASES) >= 20 and NOT_RUN <= set(CASES)
    assert {n for n in CASES if n.startswith(("bidi_", "td_"))} >= {"bidi_lstm_gru_none", "td_functional_residual"}
