"""The ``kwbin`` command: argument parsing and printing only.

Exit codes (also in ``kwbin --help``):
  0  success
  1  the file is not a valid kwbin file, or verify found damage
  2  bad command line
  3  a file could not be read or written (missing, a directory, no permission, disk full)
  4  the named tensor is not in the file
  70 an internal error (a bug: please report it)
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import stat
import sys
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import __version__
from .atomic import TEMP_SUFFIX
from .errors import KwbinError
from .listing import listing
from .reader import KwbinFile
from .reader import open as open_kwbin

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_IO, EXIT_NOT_FOUND, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70

EPILOG = """exit codes: 0 success; 1 invalid or damaged input (kwbin or Keras file); 2 bad command
line; 3 a file could not be read or written; 4 no such tensor; 70 internal error"""


class CliError(Exception):
    """A one-line failure with its exit code."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _human(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _print_info(f: KwbinFile) -> None:
    tensors = f.tensors
    total = sum(t.nbytes for t in tensors)
    major, minor = f.version
    print(f"{f.name}: kwbin {major}.{minor}, alignment {f.alignment}, "
          f"{len(f.layers)} layers, {len(tensors)} tensors, {_human(total)} of data")
    meta = {k: v for k, v in f.metadata.items() if k != "model_config"}
    if meta:
        print("metadata:")
        for key, value in meta.items():
            print(f"  {key}: {json.dumps(value, ensure_ascii=False)}")
    if "model_config" in f.metadata:
        print("  model_config: (present; see --json)")
    if f.layers:
        print("layers:")
        for layer in f.layers:
            parent = f"  in {layer.parent}" if layer.parent else ""
            print(f"  {layer.index:>4}  {layer.name}  [{layer.class_name or '-'}]{parent}")
            for name in layer.tensors:
                t = f.info(name)
                print(f"          {t.weight:<20} {t.dtype:<8} {_shape(t.shape):<14} {_human(t.nbytes)}")
    loose = [t for t in tensors if t.layer is None]
    if loose:
        print("tensors:")
        width = min(60, max(len(t.name) for t in loose))
        for t in loose:
            print(f"  {t.name:<{width}}  {t.dtype:<8} {_shape(t.shape):<14} {_human(t.nbytes)}")


def _same_file(a: str, b: str) -> bool:
    """Whether writing ``a`` would replace ``b``: same inode if both exist, same real path otherwise."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _refuse_overwrite(output: str, inputs: Sequence[tuple[str, str | None]]) -> None:
    """A writer verb never replaces one of its inputs (by name, symlink or hard link)."""
    for role, path in inputs:
        if path is not None and _same_file(output, path):
            raise CliError(f"{output}: the output is the same file as the {role} {path}; choose another output", EXIT_USAGE)


def _check_output_folder(output: str) -> None:
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise CliError(f"{output}: cannot write: the folder {folder} does not exist", EXIT_IO)


def _check_regular(path: str, role: str) -> None:
    """Refuse FIFOs, devices and sockets before anything opens them (a FIFO would block, /dev/zero never ends).

    Directories and missing files are left to the reader, which names them.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise CliError(f"{path}: the {role} is not a regular file", EXIT_INVALID)


@contextlib.contextmanager
def _writing(output: str) -> Iterator[None]:
    """Name the destination, not its temporary file, when writing it fails."""
    try:
        yield
    except OSError as exc:
        temp = exc.filename is not None and os.fsdecode(exc.filename).endswith(TEMP_SUFFIX)
        full = exc.filename is None and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)
        if temp or full:
            raise CliError(f"{output}: cannot write: {exc.strerror or exc}", EXIT_IO) from None
        raise


def _read_regular(path: str) -> bytes:
    """All bytes of a regular file; a FIFO or device is refused without blocking on it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    with open(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise CliError(f"{path}: not_kwbin: {path} is not a regular file", EXIT_INVALID)
        return fh.read()


def cmd_info(args: argparse.Namespace) -> int:
    with _open(args.file) as f:
        if args.json:
            json.dump(listing(f), sys.stdout, indent=2, ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            _print_info(f)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    with _open(args.file) as f:
        try:
            f.verify()
        except KwbinError as exc:
            raise CliError(f"{args.file}: {exc.code}: {exc}", EXIT_INVALID) from None
        print(f"{args.file}: OK ({len(f)} tensors, every CRC-32 and padding byte checked)")
    return EXIT_OK


def cmd_dump(args: argparse.Namespace) -> int:
    with _open(args.file) as f:
        if args.name not in f:
            raise CliError(f"{args.file}: no tensor named {args.name!r} (see `kwbin info`)", EXIT_NOT_FOUND)
        info = f.info(args.name)
        values = f[args.name]
        if info.dtype == "bfloat16":
            values = (values.astype(np.uint32) << 16).view(np.float32)
        print(f"{info.name}: {info.dtype} {_shape(info.shape)}")
        threshold = sys.maxsize if args.all else 64
        with np.printoptions(threshold=threshold, floatmode="unique"):
            print(np.array2string(np.asarray(values), separator=", "))
    return EXIT_OK


def cmd_pack(args: argparse.Namespace) -> int:
    from .keras.pack import pack
    from .progress import progress_bar

    src = args.src
    if not os.path.exists(src):
        raise FileNotFoundError(2, "No such file or directory", src)
    _check_regular(src, "source")
    if args.arch is not None:
        _check_regular(args.arch, "architecture file")
    output = args.output or os.path.splitext(src)[0] + ".kwb"
    _check_output_folder(output)
    _refuse_overwrite(output, [("source", src), ("architecture file", args.arch), *_shards(src)])
    size = os.path.getsize(src) if os.path.isfile(src) else 0
    with progress_bar(size, enabled=not args.quiet) as advance, _writing(output):
        out = pack(
            src, output, arch=args.arch, include_optimizer=args.include_optimizer,
            source_hash=not args.no_source_hash, progress=advance, warn=lambda message: print(f"kwbin: warning: {message}", file=sys.stderr),
        )  # fmt: skip
    if not args.quiet:
        with open_kwbin(out) as f:
            total = sum(t.nbytes for t in f.tensors)
            print(f"{out}: {len(f.layers)} layers, {len(f)} tensors, {_human(total)} "
                  f"({f.metadata.get('source_format', 'unknown source')})")
    return EXIT_OK


def _shards(src: str) -> list[tuple[str, str | None]]:
    """The shard files a Keras 3 ``.weights.json`` index names (inputs too)."""
    if not os.path.isfile(src) or os.path.getsize(src) > (1 << 20):
        return []
    try:
        with open(src, "rb") as fh:
            raw = fh.read()
        if raw.lstrip()[:1] != b"{":
            return []
        shards = json.loads(raw)["weight_map"].values()
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return []  # not an index: pack says what it is
    folder = os.path.dirname(src)
    names = [n for v in shards for n in (v if isinstance(v, list) else [v]) if isinstance(n, str)]
    return [("shard", os.path.join(folder, os.path.basename(n))) for n in dict.fromkeys(names)]


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    text, raw = args.txt, args.bin
    if not text and not raw:
        text = raw = True
    _check_output_folder(args.dir)
    _refuse_overwrite(args.dir, [("input", args.file)])
    with _open(args.file) as f, _writing(args.dir):
        try:
            index = export(f, args.dir, text=text, raw=raw)
        except FileExistsError as exc:
            raise CliError(str(exc), EXIT_IO) from None
    print(f"{args.dir}: {len(index)} tensors exported (index.json, index.tsv)")
    return EXIT_OK


def cmd_c_array(args: argparse.Namespace) -> int:
    from .carray import SymbolError, check_symbol, default_output, default_symbol, write_header

    try:
        symbol = check_symbol(args.name) if args.name is not None else default_symbol(args.file)
    except SymbolError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    out = args.output or default_output(args.file)
    _check_output_folder(out)
    _refuse_overwrite(out, [("input", args.file)])
    data = _read_regular(args.file)
    try:
        with open_kwbin(data) as f:  # check the very bytes that get embedded
            f.verify()  # never build a damaged file into firmware
            alignment = f.alignment
    except KwbinError as exc:
        raise CliError(f"{args.file}: {exc.code}: {exc}", EXIT_INVALID) from None
    with _writing(out):
        write_header(data, alignment, args.file, out, symbol)
    print(f"{out}: {symbol}[{len(data)}], aligned to {alignment}; open it with kwb_open_memory")
    return EXIT_OK


def _open(path: str) -> KwbinFile:
    try:
        return open_kwbin(path)
    except KwbinError as exc:
        raise CliError(f"{path}: {exc.code}: {exc}", EXIT_INVALID) from None


def build_parser() -> argparse.ArgumentParser:
    from .carray import SYMBOL_RULE

    parser = argparse.ArgumentParser(
        prog="kwbin",
        description="Pack Keras weights into kwbin files (one self-describing file of network weights); "
        "inspect, check and export them.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"kwbin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("pack", help="pack a Keras model or weights file (any generation) into one .kwb", epilog=EPILOG)
    p.add_argument("src", metavar="SRC", help=".keras, .h5, .weights.h5 or .weights.json")
    p.add_argument("--arch", metavar="ARCH.json", help="architecture (model.to_json(), config.json or a .keras) for weights-only files")
    p.add_argument("-o", "--output", metavar="OUT.kwb", help="default: SRC with the extension .kwb")
    p.add_argument("--include-optimizer", action="store_true", help="keep the optimizer state too")
    p.add_argument("--no-source-hash", action="store_true",
                   help="leave the source's SHA-256 out of the metadata (hashing is the slowest part of packing)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(run=cmd_pack)

    p = sub.add_parser("export", help="one .bin and/or .txt per tensor, plus an index", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.add_argument("dir", metavar="DIR", help="created; must not exist or be empty")
    p.add_argument("--txt", action="store_true", help="lossless text, one file per tensor")
    p.add_argument("--bin", action="store_true", help="raw little-endian bytes, one file per tensor")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("c-array", help="the file as an aligned const byte array in a C header", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", metavar="model_data.h",
                   help="default: FILE with the extension .h (FILE.h if FILE ends in .h); never FILE itself")
    p.add_argument("--name", metavar="SYMBOL", help="C name of the array (default: from the file name, "
                   "made valid; prefixed with model_ if needed). It must be " + SYMBOL_RULE)
    p.set_defaults(run=cmd_c_array)

    p = sub.add_parser("info", help="list layers, tensors and metadata", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the stable JSON listing (see README)")
    p.set_defaults(run=cmd_info)

    p = sub.add_parser("verify", help="check every rule and every CRC-32; exit 0 only if all hold", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=cmd_verify)

    p = sub.add_parser("dump", help="print the values of one tensor", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.add_argument("name", metavar="NAME", help="full tensor name, as `kwbin info` shows it")
    p.add_argument("--all", action="store_true", help="print every value, not a summary")
    p.set_defaults(run=cmd_dump)
    return parser


def _describe_os_error(exc: OSError) -> str:
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    return f"{where}: {reason}" if where else reason


def _printable_streams() -> None:
    """Names the terminal's encoding cannot show (or undecodable file names) print escaped, not as a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _printable_streams()
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except CliError as exc:
        _fail(str(exc))
        return exc.code
    except KwbinError as exc:
        _fail(f"{exc.code}: {exc}")
        return EXIT_INVALID
    except BrokenPipeError:
        raise  # stdout closed early (`| head`): entry() ends quietly
    except OSError as exc:
        _fail(_describe_os_error(exc))
        return EXIT_IO
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug must still end in one line, not a traceback
        if os.environ.get("KWBIN_DEBUG"):
            raise
        _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with KWBIN_DEBUG=1 and report it")
        return EXIT_INTERNAL


def _fail(message: str) -> None:
    print(f"kwbin: error: {message}", file=sys.stderr)


def entry() -> Any:
    """Console-script entry: exit quietly when stdout is closed (``| head``)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)
