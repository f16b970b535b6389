"""Errors of the Keras importer."""

from __future__ import annotations

from ..errors import KwbinError


class PackError(KwbinError):
    """A Keras file cannot be packed: the message names the file and the problem."""

    code = "pack_error"
