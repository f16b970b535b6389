"""Headers that install (issue #17), each path proven from scratch.

- a real wheel (built from the sdist, so MANIFEST.in is tested too) carries
  kwbin.h and kwbin_nn.h; installed into a fresh virtual environment (no
  system site-packages; numpy, h5py, construct from requirements/demo.txt),
  ``kwbin.get_include()`` gives their folder and ``cc $(kwbin --include) ...``
  builds c_reader/examples/infer.c, which then gives Keras's outputs;
- the editable install (this .venv) finds c_reader/ itself;
- ``make install PREFIX=...`` into a fresh prefix: the files, the tools, a
  pkg-config consumer, a CMake ``find_package(kwbin)`` consumer (and a version
  it must refuse), and a CMake ``add_subdirectory`` consumer of the repository.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import kwbin
import kwbin.keras
from c_example_helpers import EXAMPLES, HANG_GUARD, MODEL, ROOT, assert_keras_outputs, first_input_text, shell

HEADERS = ("kwbin.h", "kwbin_nn.h")
INFER = EXAMPLES / "infer.c"


def run(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=HANG_GUARD)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model packed, the input file infer.c reads, and infer.c itself, in one folder."""
    work = tmp_path_factory.mktemp("model")
    kwbin.keras.pack(MODEL, work / "model.kwb")
    (work / "input.txt").write_text(first_input_text())
    shutil.copy(INFER, work / "infer.c")  # away from c_reader/: the headers must come from the install
    return work


# --- the wheel, in a fresh virtual environment --------------------------------


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel): `setup.py sdist`, then `pip wheel` of that sdist (no build isolation: offline-safe)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "setup.py", "-q", "sdist", "-d", out, cwd=ROOT)
    (sdist,) = out.glob("kwbin-*.tar.gz")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--no-build-isolation", "-w", out, sdist)
    (wheel,) = out.glob("kwbin-*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def venv(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain new venv with the wheel and the runtime requirements only; returns its bin folder."""
    folder = tmp_path_factory.mktemp("venv") / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    run(base, "-m", "venv", folder)
    bin_dir = folder / "bin"
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "-r", ROOT / "requirements" / "demo.txt", dists[1])
    return bin_dir


def test_the_sdist_and_the_wheel_carry_the_headers(dists: tuple[Path, Path]) -> None:
    sdist, wheel = dists
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {f"c_reader/{h}" for h in HEADERS} <= names
    with zipfile.ZipFile(wheel) as whl:
        for header in HEADERS:
            assert whl.read(f"kwbin/include/{header}") == (ROOT / "c_reader" / header).read_bytes()


def test_the_fresh_venv_is_fresh(venv: Path) -> None:
    probe = "import sys, importlib.util as u; print(sys.prefix != sys.base_prefix, u.find_spec('keras') is None)"
    assert run(venv / "python", "-c", probe).stdout.split() == ["True", "True"]
    config = (venv.parent / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in config


def test_get_include_of_the_wheel(venv: Path) -> None:
    folder = Path(run(venv / "python", "-c", "import kwbin; print(kwbin.get_include())").stdout.strip())
    assert folder.is_relative_to(venv.parent) and folder.name == "include" and folder.parent.name == "kwbin"
    for header in HEADERS:
        assert (folder / header).read_bytes() == (ROOT / "c_reader" / header).read_bytes()
    assert run(venv / "python", "-m", "kwbin", "--include").stdout == f"-I{folder}\n"
    assert run(venv / "kwbin", "--include").stdout == f"-I{folder}\n"


def test_cc_with_kwbin_include_builds_and_runs_infer(venv: Path, model: Path, tmp_path: Path) -> None:
    shell(f"cc -std=c99 -O2 $(kwbin --include) -o {tmp_path}/infer infer.c -lm", model, path_first=venv)
    assert_keras_outputs(shell(f"{tmp_path}/infer model.kwb input.txt", model).stdout)


# --- the editable install ---------------------------------------------------------


def test_get_include_of_an_editable_install() -> None:
    if not Path(kwbin.__file__).resolve().is_relative_to(ROOT / "src"):
        pytest.skip("kwbin is not imported from this checkout's src/")
    assert kwbin.get_include() == str(ROOT / "c_reader")
    assert run(sys.executable, "-m", "kwbin", "--include").stdout == f"-I{ROOT / 'c_reader'}\n"


def test_include_without_headers_is_one_error_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from kwbin import _include
    from kwbin.cli import main

    monkeypatch.setattr(_include, "_candidates", lambda: [tmp_path / "include"])
    with pytest.raises(FileNotFoundError, match="reinstall kwbin"):
        kwbin.get_include()
    with pytest.raises(SystemExit) as stop:
        main(["--include"])
    out, err = capsys.readouterr()
    assert stop.value.code == 3 and out == ""
    assert err.startswith("kwbin: error: the C headers kwbin.h and kwbin_nn.h are not in ") and err.count("\n") == 1


# --- make install PREFIX=... ------------------------------------------------------


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prefix") / "usr"
    run("make", "--no-print-directory", "-C", ROOT, "install", f"PREFIX={folder}")
    return folder


def test_make_install_puts_every_file(prefix: Path) -> None:
    files = sorted(str(p.relative_to(prefix)) for p in prefix.rglob("*") if p.is_file())
    assert files == [
        "bin/kwbin-dump",
        "bin/kwbin-run",
        "include/kwbin.h",
        "include/kwbin_nn.h",
        "share/cmake/kwbin/kwbinConfig.cmake",
        "share/cmake/kwbin/kwbinConfigVersion.cmake",
        "share/pkgconfig/kwbin.pc",
    ]
    pc = (prefix / "share" / "pkgconfig" / "kwbin.pc").read_text()
    assert f"prefix={prefix}\n" in pc and f"Version: {kwbin.__version__}\n" in pc and "@" not in pc
    assert f'"{kwbin.__version__}"' in (prefix / "share" / "cmake" / "kwbin" / "kwbinConfigVersion.cmake").read_text()


def test_the_installed_tools_run(prefix: Path, model: Path, tmp_path: Path) -> None:
    listing = json.loads(run(prefix / "bin" / "kwbin-dump", model / "model.kwb").stdout)
    assert len(listing["layers"]) == 16
    run(prefix / "bin" / "kwbin-run", model / "model.kwb", ROOT / "examples" / "seed_k3.input.npy", tmp_path / "y.npy")
    assert (tmp_path / "y.npy").stat().st_size > 0


def test_pkg_config_consumer(prefix: Path, model: Path, tmp_path: Path) -> None:
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed (.ci/run installs it)")
    env = f"PKG_CONFIG_PATH={prefix}/share/pkgconfig"
    assert shell(f"{env} pkg-config --cflags --libs kwbin", model).stdout.split() == [f"-I{prefix}/include", "-lm"]
    shell(f"cc -std=c99 -O2 $({env} pkg-config --cflags kwbin) -o {tmp_path}/infer infer.c "
          f"$({env} pkg-config --libs kwbin)", model)
    assert_keras_outputs(shell(f"{tmp_path}/infer model.kwb input.txt", model).stdout)


CMAKE_PROJECT = """cmake_minimum_required(VERSION 3.14)
project(consumer LANGUAGES C)
{use}
add_executable(infer infer.c)
target_link_libraries(infer PRIVATE kwbin::kwbin)
"""


def cmake_consumer(model: Path, project: Path, use: str, *configure: str) -> subprocess.CompletedProcess:
    """Configure and build a one-file consumer of kwbin::kwbin; returns the configure step if it failed."""
    project.mkdir()
    shutil.copy(model / "infer.c", project / "infer.c")
    (project / "CMakeLists.txt").write_text(CMAKE_PROJECT.format(use=use))
    step = subprocess.run(["cmake", "-S", str(project), "-B", str(project / "build"), *configure],
                          capture_output=True, text=True, timeout=HANG_GUARD)
    if step.returncode == 0:
        run("cmake", "--build", project / "build")
    return step


@pytest.fixture()
def cmake() -> None:
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed (.ci/run installs it)")


def test_cmake_find_package_consumer(cmake: None, prefix: Path, model: Path, tmp_path: Path) -> None:
    major, minor = kwbin.__version__.split(".")[:2]
    step = cmake_consumer(model, tmp_path / "p", f"find_package(kwbin {major}.{minor} REQUIRED)",
                          f"-DCMAKE_PREFIX_PATH={prefix}")
    assert step.returncode == 0, step.stderr
    assert_keras_outputs(shell(f"{tmp_path}/p/build/infer model.kwb input.txt", model).stdout)


def test_cmake_find_package_refuses_a_newer_version(cmake: None, prefix: Path, model: Path, tmp_path: Path) -> None:
    major, minor = kwbin.__version__.split(".")[:2]
    step = cmake_consumer(model, tmp_path / "p", f"find_package(kwbin {major}.{int(minor) + 1} REQUIRED)",
                          f"-DCMAKE_PREFIX_PATH={prefix}")
    assert step.returncode != 0 and "kwbinConfig.cmake, version: " in step.stderr


def test_cmake_add_subdirectory_consumer(cmake: None, model: Path, tmp_path: Path) -> None:
    step = cmake_consumer(model, tmp_path / "p", f'add_subdirectory("{ROOT}" kwbin)')
    assert step.returncode == 0, step.stderr
    assert_keras_outputs(shell(f"{tmp_path}/p/build/infer model.kwb input.txt", model).stdout)
