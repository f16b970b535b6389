"""spec/kwbin.ksy: compiled by the Kaitai Struct compiler, it parses every valid vector into the listing's fields.

The compiler is npm's JavaScript build (run with node, no Java): it and js-yaml are installed into
build/kaitai/node_modules at the pinned versions below (by .ci/run, or here on first use); the
Python runtime is `kaitaistruct` (requirements/dev.txt).  Without node the test skips, except
under CI, where it fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import kwbin
from kwbin.listing import listing_text

ROOT = Path(__file__).resolve().parents[1]
KSY = ROOT / "spec" / "kwbin.ksy"
VALID = sorted((ROOT / "spec" / "vectors" / "valid").glob("*.kwb"))
NODE_MODULES = ROOT / "build" / "kaitai" / "node_modules"
#: The same pins as .ci/run.
NPM_PACKAGES = ["kaitai-struct-compiler@0.11.0", "js-yaml@4.3.2"]
NONE = 0xFFFFFFFF

DRIVER = r"""
const fs = require("fs");
const path = require("path");
const yaml = require("js-yaml");
const compiler = require("kaitai-struct-compiler");
const [ksy, out] = process.argv.slice(2);
compiler.compile("python", yaml.load(fs.readFileSync(ksy, "utf8")), null, false).then((files) => {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(out, name), text);
}).catch((err) => { console.error(String((err && err.stack) || err)); process.exit(1); });
"""


def _tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed for the Kaitai test (.ci/run installs them)")
        pytest.skip("no node/npm: the Kaitai Struct compiler runs on node")
    return node, npm


def _compiler_modules(npm: str) -> Path:
    if not (NODE_MODULES / "kaitai-struct-compiler").is_dir() or not (NODE_MODULES / "js-yaml").is_dir():
        installed = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_MODULES.parent),
                                    *NPM_PACKAGES], capture_output=True, text=True, timeout=600)  # fmt: skip
        assert installed.returncode == 0, f"npm install {' '.join(NPM_PACKAGES)} failed:\n{installed.stderr[-3000:]}"
    return NODE_MODULES


@pytest.fixture(scope="module")
def kaitai_module(tmp_path_factory):
    node, npm = _tools()
    modules = _compiler_modules(npm)
    out = tmp_path_factory.mktemp("kaitai")
    (out / "compile.js").write_text(DRIVER)
    env = dict(os.environ, NODE_PATH=str(modules))
    compiled = subprocess.run([node, str(out / "compile.js"), str(KSY), str(out)], capture_output=True, text=True,
                              env=env, timeout=600)  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    spec = importlib.util.spec_from_file_location("kwbin_kaitai", out / "kwbin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kaitai_listing(parsed) -> dict:
    """The listing document (spec section 14.1) from the Kaitai parse alone."""
    h = parsed.header
    layers, tensors = parsed.layers, parsed.tensors
    names = [t.name.value for t in tensors]
    return {
        "format_version": f"{h.version_major}.{h.version_minor}",
        "alignment": h.alignment,
        "metadata": json.loads(parsed.metadata),
        "layers": [
            {
                "name": la.name.value,
                "class_name": la.class_name.value,
                "parent": layers[la.parent].name.value if la.has_parent else None,
                "config": json.loads(la.config.value) if la.config.len else None,
                "tensors": names[la.first_tensor : la.first_tensor + la.tensor_count],
            }
            for la in layers
        ],
        "tensors": [
            {
                "name": t.name.value,
                "layer": layers[t.layer].name.value if t.has_layer else None,
                "weight": t.weight.value,
                "dtype": t.dtype.name,
                "shape": list(t.shape[: t.ndim]),
                "offset": t.data_offset,
                "nbytes": t.nbytes,
                "crc32": t.crc32,
                "source": t.source.value,
            }
            for t in tensors
        ],
    }


def test_there_are_valid_vectors():
    assert len(VALID) >= 12


@pytest.mark.parametrize("vector", VALID, ids=[v.stem for v in VALID])
def test_the_ksy_gives_the_listing_of_every_valid_vector(kaitai_module, vector):
    parsed = kaitai_module.Kwbin.from_file(str(vector))
    try:
        with kwbin.open(vector) as f:
            expected = json.loads(listing_text(f))  # the document `kwbin info --json` prints
        assert kaitai_listing(parsed) == expected
        assert expected == json.loads(vector.with_suffix(".json").read_text(encoding="utf-8"))
        for t in parsed.tensors:  # the data instance points at the tensor's bytes
            assert zlib.crc32(t.data) == t.crc32
        assert parsed.header.payload_offset + parsed.header.payload_size == vector.stat().st_size
    finally:
        parsed.close()


def test_the_cli_listing_is_the_same_document(kaitai_module, tmp_path):
    """`kwbin info --json` itself, on a packed Keras model with nested and weightless layers."""
    model = ROOT / "tests" / "data" / "keras" / "seed_k3.keras"
    from kwbin.keras import pack

    out = tmp_path / "seed.kwb"
    pack(model, out)
    info = subprocess.run([sys.executable, "-m", "kwbin", "info", "--json", str(out)], capture_output=True,
                          timeout=600)  # fmt: skip
    assert info.returncode == 0, info.stderr
    parsed = kaitai_module.Kwbin.from_file(str(out))
    try:
        assert kaitai_listing(parsed) == json.loads(info.stdout.decode("utf-8"))
    finally:
        parsed.close()
