"""The listing (spec section 14): strict JSON for every file a reader accepts.

The C side (kwbin-dump printing the same bytes) is in test_c_reader.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kwbin
from kwbin.listing import listing, listing_text
from keras_fixtures import FIXTURES
from json_texts import file_with_texts, json_texts

ROOT = Path(__file__).resolve().parents[1]


def _no_constant(name: str):
    raise AssertionError(f"{name} in a listing")


def strict_listing(f: kwbin.KwbinFile) -> str:
    """The listing text, checked: strict JSON whose value is ``listing(f)``."""
    text = listing_text(f)
    assert json.loads(text, parse_constant=_no_constant) == listing(f)
    return text


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> list[Path]:
    import kwbin.keras

    out = tmp_path_factory.mktemp("packed")
    paths = []
    for fx in FIXTURES:
        dest = out / f"{fx.id}.kwb"
        kwbin.keras.pack(fx.path, dest, arch=fx.arch_path, source_hash=False)
        paths.append(dest)
    return paths


def test_every_keras_fixture_packs_opens_and_lists_as_strict_json(packed):
    """Real Keras configs (1e-07, 0.001, 2**31 seeds, 1.0, nested lists, null) satisfy section 2."""
    tokens = set()
    for path in packed:
        with kwbin.open(path) as f:
            f.verify()
            text = strict_listing(f)
            tokens.update(t.strip(",]") for t in text.split() if t[:1].isdigit() or t[:1] == "-")
    assert {"1e-07", "0.001", "1.0"} <= tokens, sorted(tokens)[:50]


def _kwbin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kwbin", *args], capture_output=True, timeout=600)


@pytest.mark.parametrize(
    ("metadata", "config"),
    [('{"loss":1e400}', "{}"), ('{"name":"\\ud800"}', "{}"), ("{}", '{"x":-1e400}'), ("{}", '{"\\udc00":1}')],
)
def test_info_json_refuses_what_it_cannot_list(tmp_path, metadata, config):
    """Issue #12: 1e400 was listed as Infinity, a lone surrogate escape ended in exit 70."""
    path = tmp_path / "m.kwb"
    file_with_texts(path, metadata, [config])
    for verb in (["info", "--json"], ["verify"]):
        result = _kwbin(*verb, str(path))
        assert result.returncode == 1, result
        assert result.stdout == b"" and result.stderr.startswith(b"kwbin: error: ")
        assert (b"bad_metadata" if metadata != "{}" else b"bad_layer") in result.stderr


def test_info_json_prints_the_listing_bytes(tmp_path):
    path = tmp_path / "m.kwb"
    file_with_texts(path, ' {"big": 123456789012345678901234567890, "z": -0, "s": "\\u00e9\\ud83d\\ude00"}\n', ["{}"])
    result = _kwbin("info", "--json", str(path))
    assert result.returncode == 0, result.stderr
    with kwbin.open(path) as f:
        assert result.stdout == strict_listing(f).encode("utf-8")
    assert b'"big": 123456789012345678901234567890,\n' in result.stdout
    assert '"s": "é😀"'.encode() in result.stdout and b'"z": -0,' in result.stdout


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(metadata=json_texts(), configs=st.lists(json_texts(), max_size=2))
def test_random_json_texts_list_as_strict_json_when_accepted(tmp_path, metadata, configs):
    data = file_with_texts(tmp_path / "r.kwb", metadata, configs)
    try:
        f = kwbin.open(data)
    except kwbin.KwbinError as exc:
        assert exc.code in ("bad_metadata", "bad_layer"), exc
        return
    with f:
        strict_listing(f)
