"""The exception tree.  Every problem with a file's bytes is a ``KwbinError``.

Each class carries ``code``, the error name used by spec/FORMAT.md and by the
C reader (``kwb_result_string``), so that the two readers' verdicts can be
compared by name.
"""

from __future__ import annotations


class KwbinError(Exception):
    """Base of every kwbin error."""

    code = "error"


# --- reading -----------------------------------------------------------------


class NotKwbinFile(KwbinError):
    """The first bytes are not the kwbin magic."""

    code = "not_kwbin"


class TruncatedFile(KwbinError):
    """The file ends before the header or the payload ends."""

    code = "truncated"


class UnsupportedByteOrder(KwbinError):
    """The byte-order mark is not the little-endian one."""

    code = "byte_order"


class UnsupportedVersion(KwbinError):
    """The major version is not one this reader knows."""

    code = "version"


class BadHeader(KwbinError):
    """A header field has a value the spec forbids."""

    code = "bad_header"


class BadAlignment(KwbinError):
    """The alignment is not allowed, or a tensor does not start on it."""

    code = "bad_alignment"


class BadSection(KwbinError):
    """Sections are misplaced, overlap, or the bytes between them are not zero."""

    code = "bad_section"


class TrailingBytes(KwbinError):
    """The file goes on after the payload's end."""

    code = "trailing_bytes"


class HeaderChecksumMismatch(KwbinError):
    """The CRC-32 over the header and tables does not match."""

    code = "header_checksum"


class BadString(KwbinError):
    """A string reference or the string table itself is invalid."""

    code = "bad_string"


class BadMetadata(KwbinError):
    """The metadata section is not a UTF-8 JSON object."""

    code = "bad_metadata"


class BadLayer(KwbinError):
    """A layer record breaks a rule."""

    code = "bad_layer"


class BadTensor(KwbinError):
    """A tensor record breaks a rule."""

    code = "bad_tensor"


class SizeOverflow(KwbinError):
    """A shape's byte size does not fit in 64 bits."""

    code = "size_overflow"


class TensorOverlap(KwbinError):
    """A tensor starts before the previous one's padded end."""

    code = "tensor_overlap"


class TensorGap(KwbinError):
    """A tensor starts after the previous one's padded end (a hole)."""

    code = "tensor_gap"


class BadPayload(KwbinError):
    """The payload size disagrees with the tensors it holds."""

    code = "bad_payload"


class DuplicateName(KwbinError):
    """Two layers, two tensors, or two weights of one layer share a name."""

    code = "duplicate_name"


class BadPadding(KwbinError):
    """A padding byte after a tensor is not zero (found by verify)."""

    code = "bad_padding"


class TensorChecksumMismatch(KwbinError):
    """A tensor's bytes do not match its CRC-32 (found by verify)."""

    code = "tensor_checksum"


# --- writing -----------------------------------------------------------------


class WriteError(KwbinError):
    """The writer was asked to store something the format cannot hold."""

    code = "write_error"


#: Every error a reader can raise, in the order spec/FORMAT.md lists them.
READ_ERRORS: tuple[type[KwbinError], ...] = (
    NotKwbinFile,
    TruncatedFile,
    UnsupportedByteOrder,
    UnsupportedVersion,
    BadHeader,
    BadAlignment,
    BadSection,
    TrailingBytes,
    HeaderChecksumMismatch,
    BadString,
    BadMetadata,
    BadLayer,
    BadTensor,
    SizeOverflow,
    TensorOverlap,
    TensorGap,
    BadPayload,
    DuplicateName,
    BadPadding,
    TensorChecksumMismatch,
)

ERROR_BY_CODE = {cls.code: cls for cls in READ_ERRORS}
