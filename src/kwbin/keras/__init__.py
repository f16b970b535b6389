"""Keras -> kwbin, without TensorFlow or Keras: ``pack`` reads files with h5py alone.

``save_model`` and ``load_weights`` work on live Keras models and so need Keras.
"""

from .errors import LoadWeightsError, PackError, WeightShapeMismatch
from .live import load_weights, save_model
from .pack import pack, read_model

__all__ = ["LoadWeightsError", "PackError", "WeightShapeMismatch", "load_weights", "pack", "read_model", "save_model"]
