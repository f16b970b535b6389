"""Build hook: the wheel carries the C headers as kwbin/include/kwbin.h and kwbin_nn.h.

The headers live in c_reader/ (one copy in the repository); a regular build
copies them into the built package, so ``kwbin.get_include()`` and
``kwbin --include`` point inside site-packages.  An editable install copies
nothing: ``get_include()`` then finds c_reader/ of the checkout itself, so an
edit of a header is seen at once.

It also compiles ``kwbin._records`` (src/kwbin/_records.c), an optional C
speedup that builds the reader's tensor records; without a C compiler the
build goes on without it and kwbin uses the same builder in Python.
Everything else is in pyproject.toml.
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
HEADERS = ("kwbin.h", "kwbin_nn.h")


class BuildPyWithHeaders(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "kwbin" / "include"
        self.mkpath(str(target))
        for name in HEADERS:
            self.copy_file(str(ROOT / "c_reader" / name), str(target / name))


RECORDS = Extension("kwbin._records", ["src/kwbin/_records.c"], optional=True)

setup(cmdclass={"build_py": BuildPyWithHeaders}, ext_modules=[RECORDS])
