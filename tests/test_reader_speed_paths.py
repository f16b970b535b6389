"""The reader's fast paths give exactly what the record-by-record paths give.

``f.tensors`` is built in bulk (one numpy pass per column, records made by
``records.tensor_infos``), the first lookups view their own record only, and
later ones use per-tensor lists built once.  Every path must agree with the
others and with the listing of the file.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import weakref

import numpy as np
import pytest

import kwbin
from kwbin import records
from kwbin.records import TENSOR_FIELDS, TensorInfo, _TensorInfoDraft, tensor_infos, tensor_infos_python

DTYPES = ("float32", "float16", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "bool")


def _mixed_file(tmp_path, layers: bool):
    """Tensors of many dtypes and ranks (0-d to 8-d, empty ones too), in layers or not."""
    rng = np.random.default_rng(7)
    shapes = [(), (3,), (2, 5), (0, 4), (2, 1, 3, 2), (1,) * 8, (7,), (3, 0)]
    tensors = {}
    for i in range(40):
        dtype = DTYPES[i % len(DTYPES)]
        shape = shapes[i % len(shapes)]
        tensors[f"block_{i // 2}/{'kernel' if i % 2 == 0 else 'bias'}"] = (
            rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / "mixed.kwb"
    if not layers:
        kwbin.save_file(tensors, path)
        return path, tensors
    with kwbin.Writer(path, alignment=16) as w:
        for name, array in tensors.items():
            layer, weight = name.split("/")
            if weight == "kernel":
                w.add_layer(layer, "Dense", config={"units": 1} if layer.endswith("3") else None)
            w.add_tensor(name, array, layer=layer, weight=weight, source=f"/model_weights/{name}:0")
    return path, tensors


@pytest.mark.parametrize("layers", [False, True])
def test_bulk_records_equal_records_made_one_by_one(tmp_path, layers):
    path, tensors = _mixed_file(tmp_path, layers)
    with kwbin.open(path) as lone:
        singly = [lone.info(name) for name in tensors]  # before any bulk table exists
        assert lone._tensors is None
    with kwbin.open(path) as f:
        bulk = f.tensors
        assert type(bulk) is tuple and all(type(t) is TensorInfo for t in bulk)
        assert list(bulk) == singly
        assert [t.index for t in bulk] == list(range(len(tensors)))
        for t, (name, array) in zip(bulk, tensors.items()):
            assert (t.name, t.dtype, t.shape, t.nbytes) == (name, array.dtype.name, array.shape, array.nbytes)
            assert type(t.shape) is tuple and all(type(d) is int for d in t.shape)
            assert (t.layer, t.weight) == (tuple(name.split("/")) if layers else (None, ""))
            assert t.source == (f"/model_weights/{name}:0" if layers else "")
        assert f.info(tensors.__iter__().__next__()) is bulk[0]  # once built, info() hands out the same record
        if layers:
            assert [layer.tensors for layer in f.layers] == [
                (f"block_{i}/kernel", f"block_{i}/bias") for i in range(20)]
            assert [layer.config for layer in f.layers][:4] == [None, None, None, {"units": 1}]


@pytest.mark.parametrize("layers", [False, True])
def test_lone_views_and_table_views_are_the_same_arrays(tmp_path, layers):
    path, tensors = _mixed_file(tmp_path, layers)
    with kwbin.open(path) as f:
        lone = {name: f[name] for name in list(tensors)[:5]}
        assert f._views is None  # a few lookups read only their own records
    with kwbin.open(path) as f:
        f._view_table()
        for name, array in tensors.items():
            for view in (f[name], lone.get(name, f[name])):
                assert view.dtype == array.dtype and view.shape == array.shape
                assert view.tobytes() == array.tobytes()
                assert not view.flags.writeable


def test_many_lookups_switch_to_the_table_and_keep_giving_the_same_views(tmp_path):
    tensors = {f"t{i:04d}": np.full((i % 3 + 1, 2), i, np.int32) for i in range(300)}
    path = tmp_path / "many.kwb"
    kwbin.save_file(tensors, path)
    with kwbin.open(path) as f:
        seen = {name: f[name] for name in tensors}
        assert f._views is not None  # past the limit the per-tensor lists were built
        for name, array in tensors.items():
            assert np.array_equal(seen[name], array) and np.array_equal(f[name], array)
        assert dict(f.items()).keys() == tensors.keys()


def test_the_first_lookup_of_a_large_file_reads_only_its_own_record(tmp_path):
    tensors = {f"t{i:05d}": np.array([i], np.float32) for i in range(5000)}
    path = tmp_path / "large.kwb"
    kwbin.save_file(tensors, path)
    with kwbin.open(path) as f:
        assert f["t02500"].tolist() == [2500.0]
        assert f._views is None and f._tensors is None


def test_records_built_in_bulk_behave_as_dataclass_records(tmp_path):
    path, _ = _mixed_file(tmp_path, layers=True)
    with kwbin.open(path) as f:
        t = f.tensors[3]
        made = TensorInfo(**{name: getattr(t, name) for name in TENSOR_FIELDS})
    assert t == made and hash(t) == hash(made) and repr(t) == repr(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.name = "other"  # type: ignore[misc]
    assert dataclasses.asdict(t) == dataclasses.asdict(made)
    assert dataclasses.replace(t, name="x").name == "x"
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(t, protocol)) == t
    assert copy.deepcopy(t) == t and copy.copy(t) == t
    assert weakref.ref(t)() is t
    assert not hasattr(t, "__dict__") and not hasattr(made, "__dict__")  # slots: no dict per record


def test_a_record_pickled_with_its_dict_loads():
    """kwbin 0.1.0's records had a __dict__: their pickles carry it as the state."""
    fields = dict(zip(TENSOR_FIELDS, range(len(TENSOR_FIELDS))))
    t = TensorInfo.__new__(TensorInfo)
    t.__setstate__(fields)
    assert t == TensorInfo(**fields)


def test_the_draft_class_mirrors_tensor_info():
    assert TENSOR_FIELDS == TensorInfo.__slots__ == _TensorInfoDraft.__slots__
    cols = [[i] for i in range(len(TENSOR_FIELDS))]
    for build in (tensor_infos, tensor_infos_python):
        (built,) = build(cols)
        assert built == TensorInfo(*range(len(TENSOR_FIELDS)))
        assert build([[] for _ in TENSOR_FIELDS]) == ()


def test_the_c_builder_is_installed_by_make_test():
    """`make test` installs kwbin with its optional C module; the bench measures the same build."""
    assert records._build is not None, "kwbin._records was not compiled: run `make venv` (needs a C compiler)"


@pytest.mark.parametrize("layers", [False, True])
def test_c_and_python_builders_make_the_same_records(tmp_path, layers):
    if records._build is None:
        pytest.skip("kwbin._records not compiled")
    path, _ = _mixed_file(tmp_path, layers)
    with kwbin.open(path) as f:
        in_c = f.tensors
        cols = [[getattr(t, name) for t in in_c] for name in TENSOR_FIELDS]
    in_python = tensor_infos_python(cols)
    assert in_c == in_python and hash(in_c) == hash(in_python)
    assert [repr(t) for t in in_c] == [repr(t) for t in in_python]
    assert all(type(t) is TensorInfo for t in in_c)
    for t, u in zip(in_c, in_python):
        assert all(getattr(t, name) is getattr(u, name) for name in TENSOR_FIELDS)  # the same objects, not copies


def test_c_builder_untracks_only_records_that_can_hold_no_cycle():
    """Records of str, int, None and tuples of ints are left out of the garbage
    collector (no cycle can pass through them); any other value keeps its record tracked."""
    import gc

    if records._build is None:
        pytest.skip("kwbin._records not compiled")
    atomic = [[0], ["n"], [None], ["w"], ["float32"], [(2, 3)], [64], [24], [7], [""]]
    (plain,) = tensor_infos(atomic)
    assert not gc.is_tracked(plain) and plain == TensorInfo(0, "n", None, "w", "float32", (2, 3), 64, 24, 7, "")
    box: list = []
    for column, odd in ((5, ([2], 3)), (1, box), (6, 1.5)):
        cols = [list(c) for c in atomic]
        cols[column] = [odd]
        (rec,) = tensor_infos(cols)
        assert gc.is_tracked(rec), (column, odd)
    # a cycle through a tracked record is still collected
    cols = [list(c) for c in atomic]
    cols[1] = [box]
    (rec,) = tensor_infos(cols)
    box.append(rec)
    ref = weakref.ref(rec)
    del rec, cols, box
    gc.collect()
    assert ref() is None


def test_c_builder_refuses_malformed_columns():
    if records._build is None:
        pytest.skip("kwbin._records not compiled")
    build = records._build
    cols = tuple([i] for i in range(len(TENSOR_FIELDS)))
    with pytest.raises(ValueError, match="differ in length"):
        build(TensorInfo, TENSOR_FIELDS, cols[:-1] + ([1, 2],))
    with pytest.raises(ValueError, match="one column per slot"):
        build(TensorInfo, TENSOR_FIELDS, cols[:-1])
    with pytest.raises(TypeError, match="no slot"):
        build(TensorInfo, ("nope",), ([1],))
    with pytest.raises(TypeError, match="not a slot"):
        build(TensorInfo, ("__init__",), ([1],))
    with pytest.raises(TypeError, match="must be sequences"):
        build(TensorInfo, TENSOR_FIELDS, cols[:-1] + (5,))
    assert build(TensorInfo, TENSOR_FIELDS, tuple([] for _ in TENSOR_FIELDS)) == ()


@pytest.mark.parametrize("layers", [False, True])
def test_lookups_find_tensors_only_by_their_own_names(tmp_path, layers):
    """Names are found through their rank in the string table, which also holds
    layer names, classes, weights, sources and the empty string: none of those is a tensor."""
    path, tensors = _mixed_file(tmp_path, layers)
    with kwbin.open(path) as f:
        assert [f.info(name).index for name in tensors] == list(range(len(tensors)))
        assert all(np.array_equal(f[name], array) for name, array in tensors.items())
        others = set(f._parsed.strings.decode().split("\0")) - set(tensors)  # every other string of the table
        assert {"", "kernel", "Dense", "block_0", "/model_weights/block_0/kernel:0"} <= others if layers else others == {""}
        for key in others | {"\ud800", "nope"}:
            assert key not in f and f.get(key) is None
            with pytest.raises(KeyError):
                f[key]
        with pytest.raises(KeyError):
            f.info("kernel")


def test_names_with_any_unicode_and_shared_strings_read_back(tmp_path):
    names = ["dense/kernel", "é/ü", "层/权重", "emoji/\U0001f600", "a" * 300]
    path = tmp_path / "u.kwb"
    with kwbin.Writer(path) as w:
        for i, name in enumerate(names):
            if i in (0, 3):
                w.add_layer(f"layer{i}", "Dense")
            w.add_tensor(name, np.zeros(1, np.float32), layer=f"layer{0 if i < 3 else 3}", weight=f"w{i}",
                         source="same")
    with kwbin.open(path) as f:
        assert [t.name for t in f.tensors] == names == f.keys() == list(f)
        assert [t.source for t in f.tensors] == ["same"] * 5
        assert f["layer0", "w2"].shape == (1,) and "层/权重" in f


def test_a_closed_file_refuses_listing_and_lookups(tmp_path):
    path, tensors = _mixed_file(tmp_path, layers=False)
    f = kwbin.open(path)
    f.close()
    for use in (lambda: f.tensors, lambda: f.layers, lambda: f["block_0/kernel"], lambda: f.keys(),
                lambda: f.header, lambda: f.verify()):
        with pytest.raises(ValueError, match="closed"):
            use()


def test_an_empty_file_lists_nothing(tmp_path):
    with kwbin.open(kwbin.save({})) as f:
        assert f.tensors == () and f.layers == () and f.keys() == [] and dict(f.items()) == {}
        f.verify()


def test_strings_by_rank_give_the_table_pieces_in_any_order():
    """by_rank copies runs of consecutive ranks as slices: every mix of runs and jumps gives the same list."""
    from kwbin.checks import _StringTable

    table = _StringTable("".join(f"s{i}\0" for i in range(40)).encode())
    rng = np.random.default_rng(3)
    cases = [np.arange(0), np.arange(40), np.arange(5, 12), np.array([0, *range(2, 40)]), np.array([3, 3, 4, 5, 0, 1])]
    cases += [rng.integers(0, 40, size=int(rng.integers(1, 60))) for _ in range(200)]
    cases += [np.sort(c) for c in cases[-100:]]
    for ranks in cases:
        assert table.by_rank(ranks) == [f"s{r}" for r in ranks.tolist()]
