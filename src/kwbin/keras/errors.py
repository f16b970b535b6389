"""Errors of the Keras importer."""

from __future__ import annotations

from ..errors import KwbinError


class PackError(KwbinError):
    """A Keras file cannot be packed: the message names the file and the problem."""

    code = "pack_error"


class WeightShapeMismatch(PackError):
    """A weight's shape is not the one its layer's config implies (the architecture does not fit).

    ``layer``, ``weight``, ``found`` (the shape in the file) and ``expected``
    (as text: ``?`` for a size the config leaves open) say which.
    """

    def __init__(self, message: str, *, layer: str, weight: str, found: tuple[int, ...], expected: str):
        super().__init__(message)
        self.layer, self.weight, self.found, self.expected = layer, weight, found, expected


class LoadWeightsError(PackError, ValueError):
    """``load_weights`` cannot put a kwbin file's tensors into a Keras model.

    A subclass of PackError because ``load_weights`` raised PackError before
    it had its own class (``except PackError`` keeps working), and of
    ValueError as Keras's own ``set_weights`` raises on a shape mismatch.
    For a shape mismatch, ``layer``, ``weight``, ``found`` and ``expected``
    are set (``expected`` is the model variable's shape); otherwise None.
    """

    code = "load_weights_error"

    def __init__(
        self,
        message: str,
        *,
        layer: str | None = None,
        weight: str | None = None,
        found: tuple[int, ...] | None = None,
        expected: tuple[int, ...] | None = None,
    ):
        super().__init__(message)
        self.layer, self.weight, self.found, self.expected = layer, weight, found, expected
