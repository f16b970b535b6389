"""kwbin: one self-describing binary file for neural-network weights.

>>> import kwbin
>>> kwbin.save_file({"w": np.ones((2, 3), np.float32)}, "model.kwb")
>>> with kwbin.open("model.kwb") as f:
...     f["w"]            # read-only view over a memory map
"""

from ._include import get_include
from ._version import __version__
from .errors import *  # noqa: F403 - the exception tree is part of the API
from .errors import KwbinError
from .reader import KwbinFile, load_file, open
from .records import Layer, TensorInfo
from .writer import Writer, save, save_file

__all__ = [
    "__version__",
    "KwbinError",
    "KwbinFile",
    "Layer",
    "TensorInfo",
    "Writer",
    "get_include",
    "load_file",
    "open",
    "save",
    "save_file",
]


def _warm_up() -> None:
    """Open one tiny file at import.

    numpy spends tens of microseconds the first time each operation meets
    each dtype; paying that here (about a millisecond, counted in the import
    time) makes a program's first ``kwbin.open`` as fast as the later ones.
    """
    import numpy as np

    with open(save({"w": np.zeros(2, np.float32)}, metadata={"w": 1})) as f:
        f["w"]


_warm_up()
