"""``pack``: any Keras weights or model file -> one kwbin file.

Reading happens in two passes: first every name, class, config and shape is
mapped and checked (nothing written yet); then the tensors stream into a
``kwbin.Writer`` one dataset at a time, so memory stays at about the largest
tensor.  Any error leaves the destination untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from typing import Any, Callable, Iterator

import h5py
import numpy as np

from .. import __version__
from .. import format as fmt
from ..errors import WriteError
from ..format import DEFAULT_ALIGNMENT
from ..writer import Plan, kwbin_dtype, normalise, write_in_place
from .errors import PackError
from .h5attrs import has_list, read_list, read_text
from .keras3 import Keras3Reader, Tree
from .legacy import LegacyReader
from .model import Layer, Model, Weight
from .rawdata import SourceMaps
from .sources import GuardedFile, KerasArchive, ShardedWeights, open_h5, parse_json, read_json_file, sniff
from .weight_dtype import Conversion, check_dtype, convert, is_statistic

Progress = Callable[[int], None]


class _Sha256:
    """SHA-256 of a file, computed in a thread while packing (hashlib frees the GIL).

    Read in 4 MiB pieces into one reused buffer: it stays in the CPU cache
    and is never page-faulted again.  (Hashing a memory map of the file
    instead ran between 0.23 and 0.44 s for 400 MB, depending on how the
    page cache held the file; reading ran at a steady 0.25 s.)
    """

    CHUNK = 4 << 20

    def __init__(self, path: str):
        self._digest = hashlib.sha256()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: str) -> None:
        buffer = bytearray(self.CHUNK)
        view = memoryview(buffer)
        try:
            with open(path, "rb", buffering=0) as f:
                while True:
                    n = f.readinto(buffer)
                    if not n:
                        break
                    self._digest.update(view[:n])
        except OSError as exc:
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def hexdigest(self) -> str:
        self.wait()
        if self._error:
            raise PackError(f"cannot read the source to hash it: {self._error}")
        return self._digest.hexdigest()


def _load_arch(arch: str) -> dict[str, Any]:
    """A model config from ``model.to_json()`` output, a config.json, or a .keras archive."""
    if sniff(arch) == "zip":
        archive = KerasArchive(arch)
        try:
            return archive.read_json("config.json")
        finally:
            archive.close()
    config = read_json_file(arch, "architecture JSON")
    if "class_name" not in config:
        raise PackError(f"{arch}: architecture JSON has no 'class_name' (expected model.to_json() output)")
    return config


def _config_attr(attrs: Any, name: str, source: str) -> dict[str, Any] | None:
    text = read_text(attrs, name)
    return None if text is None else parse_json(text.encode("utf-8"), f"{source}: attribute {name}")


def _keras3(tree: Tree, config: dict[str, Any] | None, include_optimizer: bool, meta: dict[str, Any]) -> Model:
    reader = Keras3Reader(tree, config)
    layers = reader.read()
    return Model(layers, meta, reader.extras(include_optimizer), reader.warnings)


def _legacy(f: h5py.File, source: str, arch: dict[str, Any] | None, include_optimizer: bool) -> Model:
    full = "model_weights" in f
    root = f["model_weights"] if full else f
    config = arch or (_config_attr(f.attrs, "model_config", source) if full else None)
    version = read_text(f.attrs, "keras_version") or read_text(root.attrs, "keras_version")
    backend = read_text(f.attrs, "backend") or read_text(root.attrs, "backend")
    reader = LegacyReader(root, source, config, f.dataset if isinstance(f, GuardedFile) else None)
    layers = reader.read()
    keras1 = reader.keras1 or (version or "").startswith("1.")
    # Keras 3 still writes this layout (model.save("m.h5")); its layers compute as Keras 3's
    # (hard_sigmoid, masks), so the generation is keras3 whatever the layout.
    generation = "keras1" if keras1 else "keras3" if (version or "").startswith("3.") else "keras2"
    meta: dict[str, Any] = {
        "source_format": generation + ("-h5" if full else "-weights-h5"),
        "generation": generation,
    }
    if version:
        meta["keras_version"] = version
    if backend:
        meta["backend"] = backend
    elif config and config.get("backend"):
        meta["backend"] = config["backend"]
    if config is not None:
        meta["model_config"] = config
    training = _config_attr(f.attrs, "training_config", source) if full else None
    if training is not None:
        meta["training_config"] = training
    meta.update(_semantic_notes(layers, keras1, meta.get("backend")))
    extra: list[Weight] = []
    if include_optimizer and "optimizer_weights" in f:
        group = f["optimizer_weights"]
        for name in read_list(group.attrs, "weight_names"):
            ds = group[name]
            extra.append(Weight(f"optimizer/{name.split(':')[0]}", ds, ds.name))
    return Model(layers, meta, extra, reader.warnings)


def _semantic_notes(layers: list[Layer], keras1: bool, backend: str | None) -> dict[str, Any]:
    """Facts a C program must know to use the weights right, recorded so nobody guesses."""
    notes: dict[str, Any] = {}
    if keras1 and any(w.source.endswith("_running_std") for layer in layers for w in layer.weights):
        notes["batchnorm_running_std"] = (
            "Keras 1 (>= 1.0.7) stored the moving variance under the name running_std; "
            "it is packed as moving_variance unchanged"
        )
    orderings = sorted({str(l.config["dim_ordering"]) for l in layers if l.config and "dim_ordering" in l.config})
    if orderings:
        notes["dim_ordering"] = orderings[0] if len(orderings) == 1 else orderings
    has_conv = any(l.class_name.startswith(("Conv", "Convolution", "Deconvolution", "Atrous", "Separable"))
                   for l in layers)
    if backend == "theano" and has_conv:
        notes["conv_kernels"] = "theano: kernels are stored flipped (true convolution), as Theano uses them"
    return notes


def _map(
    src: str, arch_config: dict[str, Any] | None, include_optimizer: bool, closers: list[Any], maps: SourceMaps
) -> Model:
    """Open ``src`` (registering what must be closed, and where the data lies) and map it into the schema."""
    kind = sniff(src)
    if kind == "zip":
        archive = KerasArchive(src)
        closers.append(archive)
        config = arch_config or archive.read_json("config.json")
        info = archive.read_json("metadata.json") if archive.has("metadata.json") else {}
        h5, where, start = archive.weights()
        closers.append(h5)
        maps.register(h5, where, start)
        meta = {"source_format": "keras3-archive", "generation": "keras3", "model_config": config}
        if isinstance(info.get("keras_version"), str):
            meta["keras_version"] = info["keras_version"]
        return _keras3(Tree([h5], f"{src}: model.weights.h5"), config, include_optimizer, meta)
    if kind == "json":
        shards = ShardedWeights(src)
        closers.append(shards)
        for shard, path in zip(shards.files, shards.paths):
            maps.register(shard, path)
        meta = {"source_format": "keras3-sharded", "generation": "keras3"}
        if arch_config:
            meta["model_config"] = arch_config
        return _keras3(Tree(shards.files, src), arch_config, include_optimizer, meta)
    f = open_h5(src, src)
    closers.append(f)
    maps.register(f, src)
    if "nb_layers" in f.attrs:
        raise PackError(
            f"{src}: a Keras 0.x weights file (nb_layers, layer_k/param_n): not supported; "
            f"load it with Keras 0.x or 1.x and save it again"
        )
    if "layers" in f or ("vars" in f and not has_list(f.attrs, "layer_names")):
        meta = {"source_format": "keras3-weights", "generation": "keras3"}
        if arch_config:
            meta["model_config"] = arch_config
        return _keras3(Tree([f], src), arch_config, include_optimizer, meta)
    if "model_weights" in f or has_list(f.attrs, "layer_names"):
        return _legacy(f, src, arch_config, include_optimizer)
    raise PackError(f"{src}: an HDF5 file without Keras weights (no layers, model_weights or layer_names)")


@contextlib.contextmanager
def read_model(
    src: str, *, arch: str | None = None, include_optimizer: bool = False, maps: SourceMaps | None = None
) -> Iterator[Model]:
    """Map a Keras file into the canonical schema; datasets stay readable inside the block.

    ``maps``, if given, learns where each HDF5 file's bytes lie, so that
    contiguous datasets can be viewed in place (see ``rawdata.py``).
    """
    closers: list[Any] = []
    try:
        try:
            model = _map(src, _load_arch(arch) if arch else None, include_optimizer, closers, maps or SourceMaps())
        except PackError:
            raise
        except MemoryError:
            raise PackError(f"{src}: not enough memory to read it") from None
        except Exception as exc:  # noqa: BLE001 - h5py and zipfile report damage in many types: all are pack errors
            raise PackError(f"{src}: cannot read: {_reason(exc)}") from None
        yield model  # errors of the caller's block (e.g. a full disk) pass through unchanged
    finally:
        for thing in reversed(closers):
            thing.close()


def pack(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    arch: str | os.PathLike[str] | None = None,
    include_optimizer: bool = False,
    source_hash: bool = True,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    dtype: str | None = None,
) -> str:
    """Pack a Keras weights or model file into a kwbin file; return its path.

    ``arch`` is the architecture JSON (``model.to_json()``, a ``config.json``
    or a ``.keras`` file) for weights-only files.  ``source_hash=False``
    leaves the source's SHA-256 out of the metadata: hashing runs at about
    1.6 GB/s on one core, the slowest part of packing a large file.
    ``progress`` is called with the number of bytes of each tensor written;
    ``warn`` with each warning.  ``dtype`` (``"float16"``, ``"bfloat16"``
    or ``"float32"``) stores the layers' floating weights in that dtype,
    rounded to nearest even, except normalisation statistics, which keep the
    source's dtype (see ``weight_dtype.py``); the metadata key
    ``weight_dtype`` records it.  A value the dtype cannot hold is refused.
    """
    dtype = check_dtype(dtype)
    src = os.fspath(src)
    out = os.fspath(out) if out is not None else os.path.splitext(src)[0] + ".kwb"
    if os.path.exists(out) and os.path.samefile(out, src):
        raise PackError(f"{out}: the output would overwrite the source")
    with contextlib.ExitStack() as cleanup:
        maps = cleanup.enter_context(contextlib.closing(SourceMaps()))
        digest = _Sha256(src) if source_hash and os.path.isfile(src) else None
        if digest:
            cleanup.callback(digest.wait)  # the hashing thread ends before pack returns, even on error
        model = cleanup.enter_context(
            read_model(src, arch=os.fspath(arch) if arch else None, include_optimizer=include_optimizer, maps=maps)
        )
        for message in model.warnings:
            (warn or (lambda m: None))(message)
        metadata = {
            "producer": "kwbin.keras",
            "producer_version": __version__,
            **model.metadata,
            "source_file": os.path.basename(src),
        }
        if digest:
            # Hashed in a thread while the tensors are copied; the placeholder
            # has the digest's length so the layout does not move.
            metadata["source_sha256"] = "0" * 64
        if model.warnings:
            metadata["warnings"] = model.warnings
        plan = Plan(metadata, DEFAULT_ALIGNMENT)
        conversion = Conversion(dtype) if dtype else None

        def kind(weight: Weight, tensor: str, convertible: bool) -> fmt.DType:
            source_kind = _kind(weight)
            return conversion.target(tensor, source_kind, convertible) if conversion else source_kind

        order: list[tuple[Weight, str, fmt.DType]] = []
        for layer in model.layers:
            plan.add_layer(layer.name, layer.class_name, layer.config, layer.parent)
            for weight in layer.weights:
                name = f"{layer.name}/{weight.name}"
                target = kind(weight, name, not is_statistic(layer, weight))
                plan.declare(name, weight.dataset.shape, target, layer.name, weight.name, weight.source)
                order.append((weight, name, target))
        for weight in model.extra:
            target = kind(weight, weight.name, False)
            plan.declare(weight.name, weight.dataset.shape, target, None, None, weight.source)
            order.append((weight, weight.name, target))
        if conversion:
            plan.update_metadata({"weight_dtype": conversion.metadata()})

        def finish() -> None:
            assert digest is not None
            plan.update_metadata({"source_sha256": digest.hexdigest()})

        write_in_place(out, plan, _arrays(order, maps, progress), before_structure=finish if digest else None)
    return out


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())  # one line, whatever the library put in it
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, (OSError, KeyError, ValueError)) else text


def _kind(weight: Weight) -> fmt.DType:
    try:
        return kwbin_dtype(np.empty(0, weight.dataset.dtype))
    except WriteError as exc:
        raise PackError(f"dataset {weight.source}: {exc}") from None


def _arrays(
    order: list[tuple[Weight, str, fmt.DType]], maps: SourceMaps, progress: Progress | None
) -> Iterator[np.ndarray]:
    """Each dataset's data in order (as its target dtype), viewed in place or read only when its turn comes."""
    for weight, name, target in order:
        try:
            data = maps.array(weight.dataset)
            if data is None:
                data = weight.read()
        except PackError:
            raise
        except MemoryError:
            raise PackError(f"dataset {weight.source}: not enough memory for its {weight.nbytes} bytes") from None
        except Exception as exc:  # noqa: BLE001 - whatever h5py raises on a damaged dataset is a pack error
            raise PackError(f"cannot read dataset {weight.source}: {_reason(exc)}") from None
        data, kind = normalise(data, None, weight.source)
        yield data if kind == target else convert(data, target.name, name, weight.source)
        if progress:
            progress(weight.nbytes)


__all__ = ["pack", "read_model"]
