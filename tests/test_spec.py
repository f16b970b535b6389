"""spec/FORMAT.md and src/kwbin/format.py must describe the same bytes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import kwbin
from kwbin import errors
from kwbin import format as fmt

SPEC = (Path(__file__).resolve().parents[1] / "spec" / "FORMAT.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text from a heading containing ``title`` up to the next heading."""
    match = re.search(rf"^#+ [^\n]*{re.escape(title)}[^\n]*\n(.*?)(?=^#+ )", SPEC, re.M | re.S)
    assert match, f"no section titled {title!r} in FORMAT.md"
    return match.group(1)


def _table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-:| ]+\|$", line):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # drop the heading row


def _field_table(title: str) -> list[tuple[str, int, int]]:
    return [
        (row[2].strip("`"), int(row[0]), int(row[1]))
        for row in _table_rows(_section(title))
    ]


@pytest.mark.parametrize(
    ("title", "struct"),
    [("4. Header", fmt.Header), ("6. Layer table", fmt.LayerRecord), ("7. Tensor table", fmt.TensorRecord)],
)
def test_spec_field_tables_match_the_construct_declaration(title, struct):
    assert _field_table(title) == fmt.field_layout(struct)


def test_spec_record_sizes_match_the_declaration():
    header = {name: (off, size) for name, off, size in _field_table("4. Header")}
    assert header["header_crc32"][0] == fmt.HEADER_CRC_OFFSET
    assert fmt.Header.sizeof() == 128 and "128" in _section("4. Header")
    assert f"{fmt.LAYER_RECORD_SIZE} in v1.0" in SPEC
    assert f"{fmt.TENSOR_RECORD_SIZE} in v1.0" in SPEC


def test_spec_dtype_table_matches_the_code():
    rows = _table_rows(_section("8. Data types"))
    assert [(int(r[0]), r[1].strip("`"), int(r[2])) for r in rows] == [
        (d.code, d.name, d.itemsize) for d in fmt.DTYPES
    ]


def test_spec_error_table_matches_the_exception_tree():
    rows = _table_rows(_section("Error names"))
    assert [(r[0].strip("`"), r[1].strip("`")) for r in rows] == [
        (cls.code, cls.__name__) for cls in errors.READ_ERRORS
    ]


def test_every_error_name_in_the_reader_rules_is_defined():
    rules = _section("10. Reader rules")
    named = set(re.findall(r"— else `([a-z_]+)`|else `([a-z_]+)`", rules))
    used = {a or b for a, b in named}
    assert used == {cls.code for cls in errors.READ_ERRORS}


def test_spec_magic_and_byte_order_mark_match_the_code():
    header = _section("4. Header")
    magic_hex = re.search(r"MUST be `((?:[0-9A-F]{2} ?){8})`", header).group(1)
    assert bytes.fromhex(magic_hex) == fmt.MAGIC
    assert f"0x{fmt.BYTE_ORDER_MARK:08X}" in header


def test_numpy_views_of_the_records_equal_construct_built_bytes():
    rng = np.random.default_rng(7)
    for struct, dtype in ((fmt.LayerRecord, fmt.LAYER_DTYPE), (fmt.TensorRecord, fmt.TENSOR_DTYPE)):
        for _ in range(20):
            values = {}
            for sub in struct.subcons:
                size = sub.sizeof()
                if sub.name == "shape":
                    values[sub.name] = [int(v) for v in rng.integers(0, 2**63, 8, dtype=np.uint64)]
                else:
                    values[sub.name] = int(rng.integers(0, 2 ** (8 * size), dtype=np.uint64))
            built = struct.build(values)
            view = np.frombuffer(built, dtype)[0]
            for name, value in values.items():
                assert np.array_equal(view[name], value), name
            record = np.zeros(1, dtype)
            for name, value in values.items():
                record[name] = value
            assert record.tobytes() == built


def test_numpy_header_view_equals_construct_parse():
    blob = bytes(np.random.default_rng(3).integers(0, 256, 128, dtype=np.uint8))
    parsed = fmt.Header.parse(blob)
    view = np.frombuffer(blob, fmt.HEADER_DTYPE)[0]
    for name, _, _ in fmt.field_layout(fmt.Header):
        expected = parsed[name]
        assert (bytes(view[name]) if isinstance(expected, bytes) else int(view[name])) == expected


def _hex_dump_bytes() -> bytes:
    dump = re.search(r"```\n(00000000:.*?)```", SPEC, re.S).group(1)
    return b"".join(bytes.fromhex(line.split(":", 1)[1]) for line in dump.strip().splitlines())


def test_the_hex_dump_in_the_spec_is_a_valid_file_with_the_described_content():
    data = _hex_dump_bytes()
    assert len(data) == 384
    with kwbin.open(data) as f:
        f.verify()
        assert f.alignment == 16
        assert f.metadata == {"producer": "example", "producer_version": "1"}
        (layer,) = f.layers
        assert (layer.name, layer.class_name, layer.config, layer.tensors) == ("d", "Dense", {"units": 2}, ("d/b",))
        (info,) = f.tensors
        assert (info.name, info.layer, info.weight, info.dtype, info.shape) == ("d/b", "d", "b", "float32", (2,))
        assert f["d", "b"].tolist() == [1.0, -2.0]


def test_the_writer_reproduces_the_hex_dump_byte_for_byte(tmp_path):
    path = tmp_path / "tiny.kwb"
    with kwbin.Writer(path, metadata={"producer": "example", "producer_version": "1"}, alignment=16) as w:
        w.add_layer("d", "Dense", config={"units": 2})
        w.add_tensor("d/b", np.array([1.0, -2.0], np.float32), layer="d", weight="b")
    assert path.read_bytes() == _hex_dump_bytes()


def test_the_crc32_check_value_in_the_spec_holds():
    import zlib

    assert "0xCBF43926" in SPEC
    assert zlib.crc32(b"123456789") == 0xCBF43926


def test_the_reference_order_of_the_spec_is_the_one_the_readers_use():
    """Section 5's reference order (which makes the string table canonical) is checks.py's."""
    from kwbin import checks

    text = " ".join(_section("5. String table").split())
    layer = re.search(r"the layer records in index order, within each `(\w+)`, `(\w+)`, `(\w+)`", text)
    tensor = re.search(r"the tensor records in index order, within each `(\w+)`, `(\w+)`, `(\w+)`", text)
    assert layer and tensor, "section 5 must state the reference order"
    assert layer.groups() == checks.LAYER_STRINGS and tensor.groups() == checks.TENSOR_STRINGS


def test_the_reader_steps_are_numbered_one_to_twenty_in_order():
    rules = _section("10. Reader rules")
    steps = [int(n) for n in re.findall(r"^(\d+)\. ", rules, re.M)]
    assert steps == list(range(1, 21))


def _expected_vectors() -> dict:
    import json

    path = Path(__file__).resolve().parents[1] / "spec" / "vectors" / "invalid" / "EXPECTED.json"
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_json_rule_of_section_2_is_normative_and_has_invalid_vectors():
    """Section 2's numbered JSON rules, each a MUST, each pinned by vectors for metadata and configs."""
    text = " ".join(_section("2. Global rules").split())
    rules = re.findall(r" (\d)\. ([^.]+)\.", text[text.index("**JSON.**") :])
    assert [n for n, _ in rules][:4] == ["1", "2", "3", "4"]
    assert "a reader MUST reject a text that breaks one" in text
    assert "Readers MUST NOT reject a repeated key" in text
    vectors = set(_expected_vectors())
    per_rule = {
        "byte-order mark": ("bad_metadata__byte_order_mark", "bad_layer__config_byte_order_mark"),
        "literals": ("bad_metadata__nan_literal", "bad_layer__config_nan"),
        "surrogate": ("bad_metadata__lone_high_surrogate_escape", "bad_layer__config_lone_surrogate_escape"),
        "finite": ("bad_metadata__number_1e400", "bad_layer__config_number_1e400"),
    }
    for words, names in per_rule.items():
        assert any(words in body for _, body in rules[:4]), words
        for name in names:
            assert f"{name}.kwb" in vectors, name


def test_metadata_step_cites_rfc_3629_and_overlong_forms_have_vectors():
    step = re.search(r"^12\. (.*?)^13\. ", _section("10. Reader rules"), re.M | re.S)
    assert step and "RFC 3629" in step.group(1) and "overlong" in step.group(1)
    vectors = _expected_vectors()
    for name in ("overlong_utf8", "utf8_surrogate", "utf8_above_10ffff"):
        assert vectors[f"bad_metadata__{name}.kwb"]["code"] == "bad_metadata"


def test_verify_is_tensor_by_tensor_crc_before_padding_with_vectors():
    rules = " ".join(_section("10. Reader rules").split())
    assert "tensor by tensor in index order: steps 19 and 20 for tensor 0" in rules
    vectors = _expected_vectors()
    assert vectors["tensor_checksum__and_bad_padding_of_the_same_tensor.kwb"]["at"] == "verify"
    assert vectors["bad_padding__then_a_bad_checksum_of_the_next_tensor.kwb"]["at"] == "verify"


def test_tensor_count_names_only_the_layer_field():
    """Step 13.5 once used `tensor_count` for the layer's field and the file's count."""
    assert "tensor_count` of the file" not in SPEC and "the file's `tensor_count`" not in SPEC
    assert "`T = tensors_size / tensor_record_size`" in SPEC
    step = re.search(r"^    5\. (.*?);$", _section("10. Reader rules"), re.M)
    assert step and "`T`" in step.group(1)


def test_tolerated_writer_duties_are_must_not_reject():
    rules = " ".join(_section("10. Reader rules").split())
    assert "A reader MUST NOT reject a file because a JSON object repeats a key" in rules
    assert "need not" not in SPEC


def test_the_listing_table_of_section_14_is_the_listing_of_the_code(tmp_path):
    """Members in order, as kwbin.listing writes them; the layer and tensor members too."""
    from kwbin.listing import listing

    rows = _table_rows(_section("14.1 Listing"))
    assert [r[0].strip("`") for r in rows] == ["format_version", "alignment", "metadata", "layers", "tensors"]
    path = tmp_path / "one.kwb"
    with kwbin.Writer(path) as w:
        w.add_layer("d", "Dense", config={"units": 1})
        w.add_tensor("d/k", np.ones(1, np.float32), layer="d", weight="k")
    with kwbin.open(path) as f:
        doc = listing(f)
    assert list(doc) == [r[0].strip("`") for r in rows]
    layer_row, tensor_row = rows[3][1], rows[4][1]
    assert re.findall(r"`(\w+)` \(|`(\w+)`;", layer_row)  # members are named
    for key in doc["layers"][0]:
        assert f"`{key}`" in layer_row, key
    for key in doc["tensors"][0]:
        assert f"`{key}`" in tensor_row, key
    assert "byte for byte" in _section("14.1 Listing")
