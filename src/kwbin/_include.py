"""Where the C headers (kwbin.h, kwbin_nn.h) of this installation are."""

from __future__ import annotations

from pathlib import Path

HEADERS = ("kwbin.h", "kwbin_nn.h")


def _candidates() -> list[Path]:
    package = Path(__file__).resolve().parent
    # A wheel install has the copies setup.py puts in kwbin/include; an editable
    # install (src/kwbin in a checkout) has none and uses c_reader/ itself.
    return [package / "include", package.parent.parent / "c_reader"]


def get_include() -> str:
    """The folder holding ``kwbin.h`` and ``kwbin_nn.h``, for a C compiler's ``-I``.

    >>> import kwbin, subprocess
    >>> subprocess.run(["cc", "-I" + kwbin.get_include(), "-o", "infer", "infer.c", "-lm"])

    Raises ``FileNotFoundError`` if the installation has lost its headers.
    """
    for folder in _candidates():
        if all((folder / name).is_file() for name in HEADERS):
            return str(folder)
    raise FileNotFoundError(
        f"the C headers {' and '.join(HEADERS)} are not in {_candidates()[0]}: reinstall kwbin"
    )
