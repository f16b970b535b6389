meta:
  id: kwbin
  title: kwbin, one self-describing binary file for Keras weights
  file-extension: kwb
  license: MIT
  ks-version: 0.11
  endian: le
  encoding: UTF-8
doc: |
  A kwbin file, version 1 (any minor version): a 128-byte header, a string
  table, a layer table, a tensor table, a JSON metadata object and the
  payload of tensor data. Every offset is absolute; every string is a
  reference (offset, length) into the string table.

  This declaration is for hex editors and reverse engineering: it parses the
  structure, it does not make the checks of spec/FORMAT.md section 10 (the
  CRC-32s, the canonical string table, the layout rules). A file that parses
  here may still be refused by a kwbin reader; one that a reader accepts
  parses here, with the same fields as `kwbin info --json` lists
  (tests/test_kaitai.py compiles this file and checks that on every valid
  test vector).

  Records of a newer minor version may be longer than the fields declared
  here: each record is read with the size the header gives, and the bytes
  after the known fields are skipped, as a v1.0 reader does.
doc-ref: spec/FORMAT.md
seq:
  - id: header
    type: header
    size: 128
instances:
  strings:
    pos: header.strings_offset
    size: header.strings_size
    doc: The string table (FORMAT.md section 5), each string followed by a NUL.
  layers:
    pos: header.layers_offset
    size: header.layer_record_size
    type: layer_record
    repeat: expr
    repeat-expr: header.layers_size / header.layer_record_size
  tensors:
    pos: header.tensors_offset
    size: header.tensor_record_size
    type: tensor_record
    repeat: expr
    repeat-expr: header.tensors_size / header.tensor_record_size
  metadata:
    pos: header.metadata_offset
    size: header.metadata_size
    type: str
    doc: One JSON object (no terminating NUL).
  payload:
    pos: header.payload_offset
    size: header.payload_size
    doc: Tensor data back to back, each aligned to header.alignment and zero-padded.
types:
  header:
    doc: FORMAT.md section 4. header_size may exceed 128 in a later minor version.
    seq:
      - id: magic
        contents: [0x89, "KWB", 0x0d, 0x0a, 0x1a, 0x0a]
      - id: byte_order_mark
        contents: [0x04, 0x03, 0x02, 0x01]
        doc: 0x01020304 little-endian; a file written big-endian shows 01 02 03 04.
      - id: version_major
        type: u2
        valid: 1
      - id: version_minor
        type: u2
      - id: header_size
        type: u4
      - id: flags
        type: u4
        doc: Bits 0-15 required features, 16-31 optional; 0 in v1.0.
      - id: alignment
        type: u4
        doc: A power of two from 16 to 65536; every tensor's data_offset is a multiple of it.
      - id: layer_record_size
        type: u2
      - id: tensor_record_size
        type: u2
      - id: strings_offset
        type: u8
      - id: strings_size
        type: u8
      - id: layers_offset
        type: u8
      - id: layers_size
        type: u8
      - id: tensors_offset
        type: u8
      - id: tensors_size
        type: u8
      - id: metadata_offset
        type: u8
      - id: metadata_size
        type: u8
      - id: payload_offset
        type: u8
      - id: payload_size
        type: u8
      - id: reserved
        size: 12
      - id: header_crc32
        type: u4
        doc: CRC-32 of bytes [0, 124) then [128, payload_offset) (FORMAT.md section 9).
  string_ref:
    doc: A string of the string table, by offset and length (FORMAT.md section 5).
    seq:
      - id: ofs
        type: u4
      - id: len
        type: u4
    instances:
      value:
        io: _root._io
        pos: _root.header.strings_offset + ofs
        size: len
        type: str
  layer_record:
    doc: FORMAT.md section 6.
    seq:
      - id: name
        type: string_ref
      - id: class_name
        type: string_ref
      - id: config
        type: string_ref
        doc: A JSON object, or empty for no config.
      - id: parent
        type: u4
        doc: Index of the enclosing layer, 0xFFFFFFFF for a top-level layer.
      - id: first_tensor
        type: u4
      - id: tensor_count
        type: u4
      - id: reserved
        type: u4
    instances:
      has_parent:
        value: parent != 0xffffffff
  tensor_record:
    doc: FORMAT.md section 7.
    seq:
      - id: name
        type: string_ref
      - id: weight
        type: string_ref
      - id: source
        type: string_ref
      - id: layer
        type: u4
        doc: Index of the owning layer, 0xFFFFFFFF for none.
      - id: dtype
        type: u1
        enum: dtype
      - id: ndim
        type: u1
      - id: reserved0
        type: u2
      - id: crc32
        type: u4
        doc: CRC-32 of the tensor's nbytes data bytes.
      - id: reserved1
        type: u4
      - id: data_offset
        type: u8
      - id: nbytes
        type: u8
      - id: shape
        type: u8
        repeat: expr
        repeat-expr: 8
        doc: Dimensions, outermost first; entries from ndim on are zero.
    instances:
      has_layer:
        value: layer != 0xffffffff
      data:
        io: _root._io
        pos: data_offset
        size: nbytes
        doc: The tensor's bytes, little-endian, row-major.
enums:
  dtype:
    1: float32
    2: float16
    3: bfloat16
    4: float64
    5: int8
    6: int16
    7: int32
    8: int64
    9: uint8
    10: uint16
    11: uint32
    12: uint64
    13: bool
