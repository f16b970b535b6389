"""The ``kwbin`` command: argument parsing and printing only.

Exit codes (also in ``kwbin --help``), the same for every verb:
  0  success
  1  invalid or damaged input: not a valid kwbin or Keras file, verify found damage, a FIFO or device given as a file
  2  bad command line, including an output that is one of the inputs and ``-`` where it cannot be used
  3  a file could not be read or written (missing, a folder, no permission, disk full)
  4  the named tensor (or layer, or weight) is not in the file
  70 an internal error (a bug: please report it)
``diff`` alone: 1 means the files differ, and an invalid or damaged input is 5.

Errors are one line: ``kwbin: error: WHERE: message`` (invalid input:
``WHERE: code: message``, pack's as well as the readers'); a usage error
prints the verb's usage first.  ``-o -`` is standard output for ``pack``
(not a terminal) and ``c-array``; standard input is never read.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import json
import os
import re
import shutil
import stat
import sys
import tempfile
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import __version__
from .atomic import TEMP_SUFFIX
from .errors import KwbinError
from .listing import listing_text
from .opcalls import op_calls
from .records import TensorInfo
from .reader import KwbinFile, TensorKey
from .reader import open as open_kwbin

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_IO, EXIT_NOT_FOUND, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70
#: ``diff`` exits 1 when the files differ (as diff, cmp and h5diff do), so its invalid input is 5.
EXIT_DIFFERENT, EXIT_DIFF_INVALID = 1, 5

EPILOG = """exit codes: 0 success; 1 invalid or damaged input (kwbin or Keras file); 2 bad command
line; 3 a file could not be read or written; 4 no such tensor, layer or weight; 70 internal error"""


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


#: What each input verb expects, for the messages.
KWBIN_FILE = "a kwbin file"
KERAS_FILE = "a Keras file (.keras, .h5, .weights.h5 or .weights.json)"
ARCH_FILE = "an architecture file (model.to_json() output, a config.json or a .keras)"
#: ``-o -`` and an input ``-``: standard output and standard input.
STDIO = "-"

#: What would break a listing line: control characters and what str.splitlines() splits at.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"t": "\t", "n": "\n", "r": "\r"}


def _shown(name: str) -> str:
    """A name on one line: control characters escaped as ``\\n``, ``\\t``, ``\\r``, ``\\uXXXX``.

    ``dump`` takes the escaped form too, so what ``info`` shows can be pasted.
    """
    return _UNPRINTABLE.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), name)


def _unshown(text: str) -> str:
    """The inverse of ``_shown`` (a backslash before anything else stays as it is)."""
    return re.sub(r"\\(u[0-9a-fA-F]{4}|[tnr])", lambda m: _UNESCAPES.get(m.group(1)) or chr(int(m.group(1)[1:], 16)), text)


def _tensor_row(t: TensorInfo, width: int) -> str:
    row = f"{_shown(t.name):<{width}}  {t.dtype:<8} {_shape(t.shape):<14} {_human(t.nbytes)}"
    if t.layer is not None and t.name != f"{t.layer}/{t.weight}":
        row += f"  (weight {_shown(t.weight)})"  # the name alone does not say it
    return row


def _print_info(f: KwbinFile) -> None:
    tensors = f.tensors
    total = sum(t.nbytes for t in tensors)
    major, minor = f.version
    print(f"{_shown(f.name)}: kwbin {major}.{minor}, alignment {f.alignment}, "
          f"{len(f.layers)} layers, {len(tensors)} tensors, {_human(total)} of data")
    meta = {k: v for k, v in f.metadata.items() if k != "model_config"}
    if meta:
        print("metadata:")
        for key, value in meta.items():
            print(f"  {_shown(key)}: {json.dumps(value, ensure_ascii=False)}")
    if "model_config" in f.metadata:
        print("  model_config: (present; see --json)")
    width = min(60, max((len(_shown(t.name)) for t in tensors), default=0))
    if f.layers:
        print("layers (tensors by the full name `kwbin dump FILE NAME` takes):")
        calls = op_calls(f.metadata.get("model_config"))  # operation nodes: the call they record
        for layer in f.layers:
            parent = f"  in {_shown(layer.parent)}" if layer.parent else ""
            call = f"  {_shown(calls[layer.name])}" if layer.name in calls else ""
            print(f"  {layer.index:>4}  {_shown(layer.name)}  [{_shown(layer.class_name) or '-'}]{call}{parent}")
            for name in layer.tensors:
                print("          " + _tensor_row(f.info(name), width))
    loose = [t for t in tensors if t.layer is None]
    if loose:
        print("tensors in no layer:")
        for t in loose:
            print("  " + _tensor_row(t, width))


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
            raise CliError(f"{output}: the output is the same file as the {role} {path}; expected a new file or one "
                           "that is not an input: choose another output", EXIT_USAGE)  # fmt: skip


def _refuse_stdout_overwrite(inputs: Sequence[tuple[str, str | None]]) -> None:
    """``-o -`` with standard output appended to an input (``>> model.kwb``) would damage the input."""
    try:
        out = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return  # no real file behind standard output
    if not stat.S_ISREG(out.st_mode):
        return
    for role, path in inputs:
        try:
            st = os.stat(path) if path is not None else None
        except OSError:
            continue
        if st is not None and (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            raise CliError(f"-: standard output is the same file as the {role} {path}; redirect it to another file", EXIT_USAGE)


def _refuse_empty(path: str | None, what: str) -> None:
    if path == "":
        raise CliError(f"{what}: expected a path, found an empty string", EXIT_USAGE)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def _check_input(path: str, role: str, expected: str) -> None:
    """Refuse, before anything opens it: standard input (2); missing, a folder, unreadable (3); a FIFO or device (1).

    A FIFO would block and /dev/zero never ends, so they are refused unopened.
    """
    _refuse_empty(path, f"the {role}")
    if path == STDIO:
        raise CliError(f"-: the {role} must be a file path, found -: reading standard input is not supported "
                       "(a file named - is ./-)", EXIT_USAGE)  # fmt: skip
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise CliError(f"{path}: cannot read the {role}: {exc.strerror or exc}", EXIT_IO) from None
    if stat.S_ISDIR(mode):
        raise CliError(f"{path}: cannot read the {role}: it is a folder, expected {expected}", EXIT_IO)
    if not stat.S_ISREG(mode):
        raise CliError(f"{path}: the {role} is {_kind(mode)}, expected a regular file ({expected})", EXIT_INVALID)
    try:
        os.close(os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)))
    except OSError as exc:
        raise CliError(f"{path}: cannot read the {role}: {exc.strerror or exc}", EXIT_IO) from None


def _check_output_folder(output: str) -> None:
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise CliError(f"{output}: cannot write: the folder {folder} does not exist", EXIT_IO)


def _check_output_file(output: str, inputs: Sequence[tuple[str, str | None]]) -> str:
    """The path to write: a new name or a regular file, through symbolic links.

    The write renames a finished temporary file onto the path: onto a device
    (/dev/null) it would replace the device node, onto a symbolic link the
    link itself (/dev/stdout!), so devices are refused and links followed.
    """
    try:
        mode: int | None = os.stat(output).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise CliError(f"{output}: cannot write the output: it is a folder, expected a file name", EXIT_IO)
    if mode is not None and not stat.S_ISREG(mode):
        raise CliError(f"{output}: cannot write the output: it is {_kind(mode)}, expected a regular file or a new name "
                       "(for standard output: -o -)", EXIT_IO)  # fmt: skip
    _check_output_folder(output)
    _refuse_overwrite(output, inputs)
    return os.path.realpath(output) if os.path.islink(output) else output


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


def _write_stdout(data: bytes) -> None:
    """All of ``data`` to standard output, built beforehand: a failure never leaves half a file."""
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise CliError(f"-: cannot write to standard output: {exc.strerror or exc}", EXIT_IO) from None


def _read_regular(path: str) -> bytes:
    """All bytes of a regular file; a FIFO or device is refused without blocking on it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode  # before wrapping: open() of a folder's fd names the fd, not the path
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb") as fh:
        if stat.S_ISDIR(mode):
            raise CliError(f"{path}: cannot read the input: it is a folder, expected {KWBIN_FILE}", EXIT_IO)
        if not stat.S_ISREG(mode):
            raise CliError(f"{path}: the input is {_kind(mode)}, expected a regular file ({KWBIN_FILE})", EXIT_INVALID)
        return fh.read()


def cmd_info(args: argparse.Namespace) -> int:
    with _open(args.file) as f:
        if args.json:
            # The spec's listing bytes (UTF-8, whatever the locale): the same as kwbin-dump's.
            sys.stdout.flush()
            sys.stdout.buffer.write(listing_text(f).encode("utf-8"))
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
        key = _find(f, args.file, args.name, args.weight)
        info = f.info(key)
        values = f[key]
        if info.dtype == "bfloat16":
            values = (values.astype(np.uint32) << 16).view(np.float32)
        print(f"{_shown(info.name)}: {info.dtype} {_shape(info.shape)}")
        threshold = sys.maxsize if args.all else 64
        with np.printoptions(threshold=threshold, floatmode="unique"):
            print(np.array2string(np.asarray(values), separator=", "))
    return EXIT_OK


def _find(f: KwbinFile, path: str, name: str, weight: str | None) -> TensorKey:
    """The key of ``dump FILE NAME`` or ``dump FILE LAYER WEIGHT``, else exit 4 with the closest names."""
    if weight is None:
        for key in dict.fromkeys((name, _unshown(name))):
            if key in f:
                return key
        raise CliError(f"{path}: no tensor named {name!r} (expected a full name as `kwbin info` lists it, "
                       f"or LAYER WEIGHT){_did_you_mean(_tensor_guesses(f, name))}", EXIT_NOT_FOUND)  # fmt: skip
    for pair in dict.fromkeys(((name, weight), (_unshown(name), _unshown(weight)))):
        if pair in f:
            return pair
    layers = {layer.name: layer for layer in f.layers}
    layer = layers.get(name) or layers.get(_unshown(name))
    if layer is None:
        raise CliError(f"{path}: no layer named {name!r} (expected a layer name as `kwbin info` lists it)"
                       f"{_did_you_mean(difflib.get_close_matches(name, list(layers), 3))}", EXIT_NOT_FOUND)  # fmt: skip
    weights = [f.info(t).weight for t in layer.tensors]
    found = f"its weights: {', '.join(map(repr, weights))}" if weights else "it has no weights"
    raise CliError(f"{path}: layer {layer.name!r} has no weight {weight!r} ({found})"
                   f"{_did_you_mean(difflib.get_close_matches(weight, weights, 3))}", EXIT_NOT_FOUND)  # fmt: skip


def _tensor_guesses(f: KwbinFile, name: str) -> list[str]:
    """A layer's own tensors, tensors with that weight name, then names that are spelled alike."""
    for layer in f.layers:
        if layer.name == name and layer.tensors:
            return list(layer.tensors)
    names = list(f)
    same_weight = [t.name for t in f.tensors if t.weight == name]
    return list(dict.fromkeys(same_weight + difflib.get_close_matches(name, names, 3)))


def _did_you_mean(names: Sequence[str], most: int = 5) -> str:
    if not names:
        return ""
    shown = ", ".join(repr(n) for n in names[:most]) + (", ..." if len(names) > most else "")
    return f"; did you mean {shown}?" if len(names) == 1 else f"; did you mean one of {shown}?"


def _shard_names(src: str) -> list[str]:
    """The shard file names a Keras 3 ``.weights.json`` index lists, as written in it."""
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
    return list(dict.fromkeys(n for v in shards for n in (v if isinstance(v, list) else [v]) if isinstance(n, str)))


def _shards(src: str) -> list[tuple[str, str | None]]:
    """The shard files a Keras 3 ``.weights.json`` index names (inputs too)."""
    folder = os.path.dirname(src)
    paths = dict.fromkeys(os.path.join(folder, os.path.basename(n)) for n in _shard_names(src))
    return [("shard", path) for path in paths]


def _pack_inputs(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """Check the source, the architecture file and every shard; return them (outputs must differ from each)."""
    _check_input(args.src, "source", KERAS_FILE)
    _refuse_kwbin_source(args.src)
    if args.arch is not None:
        _check_input(args.arch, "architecture file", ARCH_FILE)
    folder = os.path.dirname(args.src)
    for name in _shard_names(args.src):
        if os.path.basename(name) == name:  # other names are refused by pack, with the reason
            _check_input(os.path.join(folder, name), f"shard listed in {args.src}", "an HDF5 weights file")
    return [("source", args.src), ("architecture file", args.arch), *_shards(args.src)]


def _refuse_kwbin_source(src: str) -> None:
    """`kwbin pack model.kwb`: say what the file is, before its default output (itself) is refused."""
    from .format import MAGIC
    from .keras.errors import PackError

    with open(src, "rb") as fh:
        if fh.read(len(MAGIC)) == MAGIC:
            raise CliError(f"{src}: {_error_code(PackError(src))}: expected {KERAS_FILE}, found a kwbin file "
                           "(it is already packed: see kwbin info)", EXIT_INVALID)  # fmt: skip


def _error_code(exc: KwbinError) -> str:
    """The error's own code word; ``bad_keras_file`` for an importer error without a specific one."""
    code = getattr(exc, "code", "")
    if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", code) or code == KwbinError.code:
        return "bad_keras_file"
    return code


@contextlib.contextmanager
def _source_errors(src: str, inputs: Sequence[tuple[str, str | None]]) -> Iterator[None]:
    """Importer errors in the readers' shape: ``SOURCE: code: message``, SOURCE the input the message names."""
    try:
        yield
    except KwbinError as exc:
        message = " ".join(str(exc).split())
        paths = {form for _, p in inputs if p is not None for form in (p, os.path.abspath(p))}
        where = src
        for path in sorted(paths, key=len, reverse=True):
            if message.startswith(f"{path}: "):
                where, message = path, message[len(path) + 2 :]
                break
        raise CliError(f"{where}: {_error_code(exc)}: {message}", EXIT_INVALID) from None


def cmd_pack(args: argparse.Namespace) -> int:
    inputs = _pack_inputs(args)
    src = args.src
    _refuse_empty(args.output, "-o")
    if args.output == STDIO:
        return _pack_to_stdout(args, inputs)
    output = args.output or os.path.splitext(src)[0] + ".kwb"
    out = _run_pack(args, inputs, _check_output_file(output, inputs), output)
    if not args.quiet:
        with open_kwbin(out) as f:
            total = sum(t.nbytes for t in f.tensors)
            print(f"{output}: {len(f.layers)} layers, {len(f)} tensors, {_human(total)} "
                  f"({f.metadata.get('source_format', 'unknown source')})")
    return EXIT_OK


def _run_pack(args: argparse.Namespace, inputs: Sequence[tuple[str, str | None]], output: str, shown: str) -> str:
    from .keras.pack import pack
    from .progress import progress_bar

    size = os.path.getsize(args.src)
    warn: Callable[[str], None] = lambda message: print(f"kwbin: warning: {message}", file=sys.stderr)  # noqa: E731
    with progress_bar(size, enabled=not args.quiet) as advance, _writing(shown), _source_errors(args.src, inputs):
        return pack(
            args.src, output, arch=args.arch, include_optimizer=args.include_optimizer,
            source_hash=not args.no_source_hash, progress=advance, warn=warn, dtype=args.dtype,
        )  # fmt: skip


def _pack_to_stdout(args: argparse.Namespace, inputs: Sequence[tuple[str, str | None]]) -> int:
    """``pack -o -``: build the whole file in a temporary folder, then copy it out (never half a file)."""
    if sys.stdout.isatty():
        raise CliError("-: standard output is a terminal, expected a file or a pipe for the binary kwbin file: "
                       "redirect it (kwbin pack SRC -o - > model.kwb) or give -o FILE", EXIT_USAGE)  # fmt: skip
    _refuse_stdout_overwrite(inputs)
    with tempfile.TemporaryDirectory(prefix="kwbin-pack-") as folder:
        temp = os.path.join(folder, "stdout.kwb")
        _run_pack(args, inputs, temp, f"-: the temporary file for standard output in {folder} (set TMPDIR elsewhere?)")
        with open(temp, "rb") as fh:
            try:
                sys.stdout.flush()
                shutil.copyfileobj(fh, sys.stdout.buffer, 1 << 20)
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise CliError(f"-: cannot write to standard output: {exc.strerror or exc}", EXIT_IO) from None
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    text, raw = args.txt, args.bin
    if not text and not raw:
        text = raw = True
    _refuse_empty(args.dir, "the export folder")
    if args.dir == STDIO:
        raise CliError("-: export writes a folder (a file per tensor and two indexes), which cannot go to standard "
                       "output: expected a folder name (a folder named - is ./-)", EXIT_USAGE)  # fmt: skip
    _refuse_overwrite(args.dir, [("input", args.file)])
    _check_export_folder(args.dir)
    _check_output_folder(args.dir)
    with _open(args.file) as f, _writing(args.dir):
        try:
            target = os.path.realpath(args.dir) if os.path.islink(args.dir) else args.dir  # the folder, not the link
            index = export(f, target, text=text, raw=raw)
        except FileExistsError as exc:
            raise CliError(str(exc), EXIT_IO) from None
    print(f"{args.dir}: {len(index)} tensors exported (index.json, index.tsv)")
    return EXIT_OK


def _check_export_folder(folder: str) -> None:
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        return  # a new folder
    if not stat.S_ISDIR(mode):
        found = "a file" if stat.S_ISREG(mode) else _kind(mode)
        raise CliError(f"{folder}: cannot export into it: expected a new or empty folder, found {found}", EXIT_IO)
    try:
        entries = len(os.listdir(folder))
    except OSError as exc:
        raise CliError(f"{folder}: cannot export into it: {exc.strerror or exc}", EXIT_IO) from None
    if entries:
        raise CliError(f"{folder}: cannot export into it: expected a new or empty folder, found a folder with "
                       f"{entries} entr{'y' if entries == 1 else 'ies'}", EXIT_IO)  # fmt: skip


def cmd_c_array(args: argparse.Namespace) -> int:
    from .carray import (
        SymbolError, check_symbol, default_output, default_symbol, embed_path_for, embed_path_problem, header_text,
        write_header,
    )  # fmt: skip

    try:
        symbol = check_symbol(args.name) if args.name is not None else default_symbol(args.file)
    except SymbolError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    inputs: list[tuple[str, str | None]] = [("input", args.file)]
    _check_input(args.file, "input", KWBIN_FILE)
    _refuse_empty(args.output, "-o")
    out = args.output or default_output(args.file)
    if out == STDIO:
        _refuse_stdout_overwrite(inputs)
    else:
        target = _check_output_file(out, inputs)
    # --style embed names the file in the header: relative to the header (to the current folder for -o -).
    embed_path = embed_path_for(args.file, "header.h" if out == STDIO else out) if args.style == "embed" else None
    if embed_path is not None and embed_path_problem(embed_path):
        raise CliError(f"{args.file}: cannot be named in the header's #embed as {embed_path!r}: "
                       f"{embed_path_problem(embed_path)}; rename or move it, or use --style string", EXIT_USAGE)  # fmt: skip
    data = _read_regular(args.file)
    try:
        with open_kwbin(data) as f:  # check the very bytes that get embedded
            f.verify()  # never build a damaged file into firmware
            alignment = f.alignment
    except KwbinError as exc:
        raise CliError(f"{args.file}: {exc.code}: {exc}", EXIT_INVALID) from None
    if out == STDIO:  # the whole header is built before the first byte is written
        header_name = os.path.basename(default_output(args.file))
        _write_stdout(header_text(data, symbol, alignment, args.file, header_name, args.style, embed_path).encode("ascii"))
        return EXIT_OK
    with _writing(out):
        write_header(data, alignment, args.file, target, symbol, args.style)
    print(f"{out}: {symbol}[{len(data)}], aligned to {alignment}; open it with kwb_open_memory")
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    from .convert import FORMATS, convert

    _check_input(args.src, "source", "a kwbin, safetensors or .npz file")
    _refuse_empty(args.dst, "the output")
    if args.dst == STDIO:
        raise CliError("-: convert writes a file, not standard output: expected an output name", EXIT_USAGE)
    ext = os.path.splitext(args.dst)[1].lower()
    if ext not in FORMATS:
        raise CliError(f"{args.dst}: expected an output name ending in {', '.join(FORMATS)} (it chooses the format)",
                       EXIT_USAGE)  # fmt: skip
    target = _check_output_file(args.dst, [("source", args.src)])
    with _writing(args.dst):
        try:
            note = convert(args.src, target, FORMATS[ext])
        except KwbinError as exc:
            message = " ".join(str(exc).split())
            where = "" if message.startswith(f"{args.src}: ") else f"{args.src}: "
            raise CliError(f"{where}{exc.code}: {message}", EXIT_INVALID) from None
    if note:
        print(f"kwbin: note: {note}", file=sys.stderr)
    print(f"{args.dst}: written ({FORMATS[ext]})")
    return EXIT_OK


DIFF_EPILOG = """exit codes: 0 the files are equal; 1 they differ; 2 bad command line; 3 a file could not be
read; 5 an input is not a valid kwbin file or is damaged (every CRC-32 is checked); 70 internal error.
In scripts: `kwbin diff -q A B; case $? in 0) same;; 1) different;; *) error;; esac`
(`kwbin diff A B || ...` also runs on errors)"""


def cmd_diff(args: argparse.Namespace) -> int:
    from .diff import diff_files, format_lines

    for name, value in (("--rtol", args.rtol), ("--atol", args.atol)):
        if not value >= 0 or value == float("inf"):
            raise CliError(f"{name}: expected a finite number >= 0, found {value}", EXIT_USAGE)
    try:
        with _open(args.a) as a, _open(args.b) as b:
            for f in (a, b):
                _verify_for_diff(f)
            result = diff_files(a, b, rtol=args.rtol, atol=args.atol)
    except CliError as exc:
        raise CliError(str(exc), EXIT_DIFF_INVALID if exc.code == EXIT_INVALID else exc.code) from None
    if not args.quiet:
        for line in format_lines(result, _shown):
            print(line)
        tolerance = f"rtol {args.rtol:g}, atol {args.atol:g}"
        if result.equal:
            print(f"{_shown(args.a)} and {_shown(args.b)} are equal ({result.tensors_compared} tensors, {tolerance})")
        else:
            count = len(result.differences)
            print(f"{_shown(args.a)} and {_shown(args.b)} differ: {count} difference{'s' * (count != 1)} ({tolerance})")
    return EXIT_OK if result.equal else EXIT_DIFFERENT


def _verify_for_diff(f: KwbinFile) -> None:
    """A damaged tensor would show as a difference: refuse it instead."""
    try:
        f.verify()
    except KwbinError as exc:
        raise CliError(f"{f.name}: {exc.code}: {exc}", EXIT_INVALID) from None


def _open(path: str) -> KwbinFile:
    _check_input(path, "input", KWBIN_FILE)
    try:
        return open_kwbin(path)
    except KwbinError as exc:
        raise CliError(f"{path}: {exc.code}: {exc}", EXIT_INVALID) from None


class _PrintInclude(argparse.Action):
    """``kwbin --include``: like --version, prints and exits without a verb."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None) -> None:
        from ._include import get_include

        try:
            folder = get_include()
        except OSError as exc:
            parser.exit(EXIT_IO, f"kwbin: error: {exc}\n")
        print(f"-I{folder}")
        parser.exit(EXIT_OK)


def build_parser() -> argparse.ArgumentParser:
    from .carray import DEFAULT_STYLE, STYLES, SYMBOL_RULE

    parser = argparse.ArgumentParser(
        prog="kwbin",
        description="Pack Keras weights into kwbin files (one self-describing file of network weights); "
        "inspect, check and export them.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"kwbin {__version__}")
    parser.add_argument("--include", action=_PrintInclude, nargs=0,
                        help="print -I and the folder of kwbin.h and kwbin_nn.h, for `cc $(kwbin --include) ... -lm` "
                        "(kwbin.get_include() gives the bare folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("pack", help="pack a Keras model or weights file (any generation) into one .kwb", epilog=EPILOG)
    p.add_argument("src", metavar="SRC", help=".keras, .h5, .weights.h5 or .weights.json")
    p.add_argument("--arch", metavar="ARCH.json", help="architecture (model.to_json(), config.json or a .keras) for weights-only files")
    p.add_argument("-o", "--output", metavar="OUT.kwb",
                   help="default: SRC with the extension .kwb; - writes the file to standard output (not a terminal)")
    p.add_argument("--include-optimizer", action="store_true", help="keep the optimizer state too")
    p.add_argument("--no-source-hash", action="store_true",
                   help="leave the source's SHA-256 out of the metadata (hashing is the slowest part of packing)")
    p.add_argument("--dtype", choices=("float16", "bfloat16", "float32"),
                   help="store the layers' floating weights in this dtype (rounded to nearest even; "
                   "normalisation statistics keep theirs; a value out of range is refused); "
                   "recorded in the metadata as weight_dtype")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(run=cmd_pack, verb_parser=p)

    p = sub.add_parser("export", help="one .bin and/or .txt per tensor, plus an index", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.add_argument("dir", metavar="DIR", help="created; must not exist or be empty (not -: a folder cannot go to standard output)")
    p.add_argument("--txt", action="store_true", help="lossless text, one file per tensor")
    p.add_argument("--bin", action="store_true", help="raw little-endian bytes, one file per tensor")
    p.set_defaults(run=cmd_export, verb_parser=p)

    p = sub.add_parser("c-array", help="the file as an aligned const byte array in a C header", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", metavar="model_data.h",
                   help="default: FILE with the extension .h (FILE.h if FILE ends in .h); never FILE itself; "
                   "- prints the header")
    p.add_argument("--name", metavar="SYMBOL", help="C name of the array (default: from the file name, "
                   "made valid; prefixed with model_ if needed). It must be " + SYMBOL_RULE)
    p.add_argument("--style", choices=STYLES, default=DEFAULT_STYLE,
                   help="string (default): one string literal, about 2.5x the file's size, quick to compile; "
                   "hex: 0x.. per byte, about 5x and slow to compile, for compilers that limit string literals "
                   "(MSVC: 64 KiB); embed: a few lines of C23 #embed that read FILE when the program is compiled "
                   "(GCC 15, Clang 19 and later; FILE must stay where the header says, relative to the header)")
    p.set_defaults(run=cmd_c_array, verb_parser=p)

    p = sub.add_parser("diff", help="what differs between two kwbin files; exit 0 equal, 1 different",
                       epilog=DIFF_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Compare two kwbin files, as h5diff does: layers and tensors added, removed or "
                       "changed (class, parent, config; dtype, shape, values with the largest absolute and relative "
                       "difference), metadata key by key. Values a (in A) and b (in B) are equal when "
                       "|a - b| <= atol + rtol * |b|, when both are NaN, or the same infinity; tensors of different "
                       "dtypes are compared as float64 values. Alignment and order are layout: shown as notes.")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--rtol", type=float, default=0.0, metavar="R", help="relative tolerance (default 0)")
    p.add_argument("--atol", type=float, default=0.0, metavar="A", help="absolute tolerance (default 0)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; only the exit code says")
    p.set_defaults(run=cmd_diff, verb_parser=p)

    p = sub.add_parser("convert", help="kwbin <-> safetensors or .npz, names kept", epilog=EPILOG,
                       description="Convert between kwbin and safetensors or NumPy .npz, both ways; the output's "
                       "extension (.kwb, .safetensors, .npz) chooses the format, the source's bytes tell its own. "
                       "kwbin -> safetensors: tensors by name (bfloat16 too); layers, configs, sources and metadata "
                       "go into __metadata__ as JSON (kwbin.* keys) and come back on the way back; alignment and "
                       "tensor order are lost. safetensors -> kwbin: its __metadata__ is kept under the metadata key "
                       "safetensors_metadata. kwbin -> npz: tensors only (layers, configs, metadata dropped; "
                       "bfloat16 as uint16 bits). npz -> kwbin: read without pickle; object arrays are refused. "
                       "What is lost is also said in one note on standard error. Needs the safetensors package "
                       "for safetensors (pip install kwbin[convert]).")
    p.add_argument("src", metavar="SRC")
    p.add_argument("dst", metavar="DST", help="the output: NAME.kwb, NAME.safetensors or NAME.npz")
    p.set_defaults(run=cmd_convert, verb_parser=p)

    p = sub.add_parser("info", help="list layers, tensors and metadata", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the stable JSON listing (see README)")
    p.set_defaults(run=cmd_info, verb_parser=p)

    p = sub.add_parser("verify", help="check every rule and every CRC-32; exit 0 only if all hold", epilog=EPILOG)
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=cmd_verify, verb_parser=p)

    p = sub.add_parser("dump", help="print the values of one tensor", epilog=EPILOG,
                       description="Print one tensor: `kwbin dump FILE NAME` (the full name `kwbin info` shows) "
                       "or `kwbin dump FILE LAYER WEIGHT` (e.g. dense bias).")
    p.add_argument("file", metavar="FILE")
    p.add_argument("name", metavar="NAME", help="full tensor name, as `kwbin info` shows it; or a layer name, with WEIGHT")
    p.add_argument("weight", metavar="WEIGHT", nargs="?", help="a weight name of the layer NAME (kernel, bias, ...)")
    p.add_argument("--all", action="store_true", help="print every value, not a summary")
    p.set_defaults(run=cmd_dump, verb_parser=p)
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
    args, extra = build_parser().parse_known_args(argv)
    if extra:  # argparse reports these with the top-level usage: the verb's usage is the useful one
        args.verb_parser.error(f"unrecognized arguments: {' '.join(extra)}")
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
