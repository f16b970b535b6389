"""The golden vectors in spec/vectors/: valid ones list exactly as recorded, invalid ones fail as recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kwbin
from kwbin.errors import READ_ERRORS
from kwbin.listing import listing, listing_text

VECTORS = Path(__file__).resolve().parents[1] / "spec" / "vectors"
VALID = sorted(p.stem for p in (VECTORS / "valid").glob("*.kwb"))
EXPECTED = json.loads((VECTORS / "invalid" / "EXPECTED.json").read_text(encoding="utf-8"))
INVALID = sorted(EXPECTED)


def read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_expected_valid_vectors_exist():
    wanted = {
        "minimal", "empty", "every_dtype", "scalars_and_empty", "layers_nested", "alignment_16",
        "alignment_4096", "big_shapes_8d", "future_minor", "base", "optional_flag", "metadata_depth_64",
        "shared_strings", "json_texts", "tolerated",
    }  # fmt: skip
    assert set(VALID) == wanted
    for name in VALID:
        assert (VECTORS / "valid" / f"{name}.json").is_file()


@pytest.mark.parametrize("name", VALID)
def test_every_valid_vector_opens_and_lists_exactly_its_json(name):
    with kwbin.open(VECTORS / "valid" / f"{name}.kwb") as f:
        assert listing(f) == read_json(VECTORS / "valid" / f"{name}.json")


@pytest.mark.parametrize("name", VALID)
def test_every_valid_vector_lists_as_its_json_byte_for_byte(name):
    """The listing text of FORMAT.md section 14 is the .json file itself."""
    with kwbin.open(VECTORS / "valid" / f"{name}.kwb") as f:
        assert listing_text(f).encode("utf-8") == (VECTORS / "valid" / f"{name}.json").read_bytes()


def test_json_texts_keeps_number_tokens_and_decodes_strings():
    text = (VECTORS / "valid" / "json_texts.json").read_text(encoding="utf-8")
    for token in ("-0,", "-0.0,", "1e-07,", "1E+2,", "12.50,", "123456789012345678901234567890,", "1e-400,"):
        assert token in text, token
    assert "\\u00e9" not in text and "\\ud83d" not in text.lower()  # escapes decoded
    assert '"\u00e9\u65e5", "\U0001f600", "\U0001f600",' in text
    with kwbin.open(VECTORS / "valid" / "json_texts.kwb") as f:
        numbers = f.metadata["numbers"]
        assert numbers[12] == 0.0 and numbers[14] == 1.7976931348623157e308 and numbers[10] == -(2**63) - 1
        assert f.metadata["strings"][1] == f.metadata["strings"][2] == "\U0001f600"
        assert [layer.config for layer in f.layers][1:3] == [None, {}]
        assert f.layers[1].class_name == ""


def test_tolerated_repeated_keys_and_bool_bytes_are_read_not_refused():
    with kwbin.open(VECTORS / "valid" / "tolerated.kwb") as f:
        f.verify()
        assert f.metadata["dup"] == "the last one" and list(f.metadata)[2:4] == ["dup", "other"]
        assert f.metadata["nested"] == [{"k": 2}]
        assert f.layers[0].config == {"units": 2, "activation": "relu"}
        assert f["dense/mask"].view("u1").tolist() == [1, 0, 2, 255]
        assert f["dense/mask"].tolist() == [True, False, True, True]


@pytest.mark.parametrize("name", VALID)
def test_every_valid_vector_passes_verify_and_its_tensors_load(name):
    data = (VECTORS / "valid" / f"{name}.kwb").read_bytes()
    with kwbin.open(data) as f:
        f.verify()
        doc = read_json(VECTORS / "valid" / f"{name}.json")
        for entry in doc["tensors"]:
            array = f[entry["name"]]
            assert list(array.shape) == entry["shape"]
            assert array.nbytes == entry["nbytes"]


def test_the_empty_vector_is_header_plus_metadata_only():
    with kwbin.open(VECTORS / "valid" / "empty.kwb") as f:
        h = f.header
        assert (h["strings_size"], h["layers_size"], h["tensors_size"], h["payload_size"]) == (
            0,
            0,
            0,
            0,
        )
        assert h["payload_offset"] == (VECTORS / "valid" / "empty.kwb").stat().st_size


def test_future_minor_lists_like_layers_nested_apart_from_version_and_offsets():
    with (
        kwbin.open(VECTORS / "valid" / "future_minor.kwb") as new,
        kwbin.open(VECTORS / "valid" / "layers_nested.kwb") as old,
    ):
        assert new.version == (1, 1)
        h = new.header
        assert (h["header_size"], h["layer_record_size"], h["tensor_record_size"]) == (136, 48, 128)
        assert (
            h["payload_offset"] > h["metadata_offset"] + h["metadata_size"] + 24
        )  # the unknown section
        a, b = listing(new), listing(old)
        assert (a.pop("format_version"), b.pop("format_version")) == ("1.1", "1.0")
        offsets_a = [t.pop("offset") for t in a["tensors"]]
        offsets_b = [t.pop("offset") for t in b["tensors"]]
        assert offsets_a != offsets_b
        assert a == b
        for name in old.keys():
            assert new[name].tobytes() == old[name].tobytes()


def test_optional_flag_lists_like_minimal():
    with (
        kwbin.open(VECTORS / "valid" / "optional_flag.kwb") as f,
        kwbin.open(VECTORS / "valid" / "minimal.kwb") as g,
    ):
        assert f.header["flags"] == 1 << 16
        assert listing(f) == listing(g)


def test_every_dtype_vector_holds_every_dtype_and_exact_values():
    with kwbin.open(VECTORS / "valid" / "every_dtype.kwb") as f:
        assert {t.dtype for t in f.tensors} == {d.name for d in kwbin.format.DTYPES}
        assert f["int64"].tolist() == [-(2**63), -1, 0, 1, 2**63 - 1]
        assert f["uint64"].tolist() == [0, 1, 2**64 - 2, 2**64 - 1]
        assert f["bfloat16_from_float32"].tolist() == [0x3F80, 0xC020, 0x4049, 0x3A83]
        assert f["float32"][-2:].view("<u4").tolist() == [0x7FC00001, 0xFF800002]
        assert f["bool"].tolist() == [[True, False, True], [False, False, True]]


@pytest.mark.parametrize("name", INVALID)
def test_every_invalid_vector_fails_with_exactly_its_expected_code_at_its_stage(name):
    expected = EXPECTED[name]
    path = VECTORS / "invalid" / name
    for source in (path, path.read_bytes()):
        if expected["at"] == "open":
            with pytest.raises(kwbin.KwbinError) as caught:
                kwbin.open(source)
        else:
            assert expected["at"] == "verify"
            with kwbin.open(source) as f:
                with pytest.raises(kwbin.KwbinError) as caught:
                    f.verify()
        assert caught.value.code == expected["code"], str(caught.value)
        assert type(caught.value) is kwbin.errors.ERROR_BY_CODE[expected["code"]]


def test_invalid_vectors_and_EXPECTED_json_name_the_same_files():
    on_disk = sorted(p.name for p in (VECTORS / "invalid").glob("*.kwb"))
    assert on_disk == INVALID


def test_invalid_vector_names_start_with_their_expected_code():
    for name, expected in EXPECTED.items():
        assert name.split("__")[0] == expected["code"], name
        assert expected["at"] in ("open", "verify")
        assert expected["what"]


def test_there_are_at_least_40_invalid_vectors_covering_every_read_error():
    assert len(INVALID) >= 40
    assert {e["code"] for e in EXPECTED.values()} == {cls.code for cls in READ_ERRORS}
    assert {e["code"] for e in EXPECTED.values() if e["at"] == "verify"} == {
        "tensor_checksum",
        "bad_padding",
    }


def test_regenerating_the_vectors_reproduces_byte_identical_files(tmp_path):
    script = VECTORS / "make_vectors.py"
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for folder in ("valid", "invalid"):
        ours = sorted(p.name for p in (VECTORS / folder).iterdir() if p.suffix in (".kwb", ".json"))
        fresh = sorted(p.name for p in (tmp_path / folder).iterdir())
        assert fresh == ours
        for name in ours:
            assert (tmp_path / folder / name).read_bytes() == (
                VECTORS / folder / name
            ).read_bytes(), name
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == (
        VECTORS / "README.md"
    ).read_text(encoding="utf-8")
