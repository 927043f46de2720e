"""Differential regression tests for what the data / serialization fuzzer family
(``s29_SL21_data_io.py``) found: each runs the same code on PyTorch and on deltagrad."""

import io
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _round_trip(lib, obj, **kw):
    buffer = io.BytesIO()
    lib.save(obj, buffer)
    buffer.seek(0)
    return lib.load(buffer, **kw)


def _from_torch_file(lib, obj, **kw):
    """``obj`` written by PyTorch's torch.save, read by ``lib``'s torch.load."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return lib.load(buffer, **kw)


def _outcome(fn):
    try:
        return ("ok", fn())
    except Exception as error:  # noqa: BLE001 - the class is compared
        return ("raises", type(error))


# -- a state_dict's _metadata (an OrderedDict's attributes) survives a round trip --------------

@pytest.mark.parametrize("make", ["linear", "batchnorm", "sequential"])
def test_state_dict_metadata_survives_save_and_load(make):
    def run(lib):
        lib.manual_seed(0)
        module = {"linear": lambda: lib.nn.Linear(3, 2),
                  "batchnorm": lambda: lib.nn.BatchNorm1d(2),
                  "sequential": lambda: lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU()),
                  }[make]()
        loaded = _round_trip(lib, module.state_dict())
        return type(loaded).__name__, dict(getattr(loaded, "_metadata", {"missing": None}))
    assert run(dg) == run(torch)
    assert run(dg)[1] != {"missing": None}


def test_ordered_dict_attributes_survive_save_and_load():
    def run(lib):
        from collections import OrderedDict
        d = OrderedDict([("b", lib.ones(2)), ("a", 2)])
        d.note = {"v": 1}
        loaded = _round_trip(lib, d, weights_only=False)
        return list(loaded), loaded.note
    assert run(dg) == run(torch) == (["b", "a"], {"v": 1})


def test_batchnorm_version_metadata_reaches_load_state_dict():
    # (the version in _metadata decides whether BatchNorm adds num_batches_tracked)
    dg.manual_seed(0)
    sd = _round_trip(dg, dg.nn.BatchNorm1d(2).state_dict())
    assert sd._metadata[""]["version"] == torch.nn.BatchNorm1d(2).state_dict()._metadata[""][
        "version"]


def test_torch_file_state_dict_metadata_read():
    torch.manual_seed(0)
    sd = torch.nn.Linear(3, 2).state_dict()
    assert dict(_from_torch_file(dg, sd)._metadata) == dict(sd._metadata)


# -- Subset indexed by a list indexes its dataset with the list -------------------------------

def test_subset_list_index_on_tensor_dataset_indexes_the_tensors():
    def run(lib):
        ds = lib.utils.data.TensorDataset(lib.arange(10.).reshape(5, 2), lib.arange(5))
        got = lib.utils.data.Subset(ds, [4, 1, 3])[[0, 2]]
        return type(got).__name__, [t.tolist() for t in got]
    assert run(dg) == run(torch) == ("tuple", [[[8.0, 9.0], [6.0, 7.0]], [4, 3]])


@pytest.mark.parametrize("dataset", ["list", "range"])
def test_subset_list_index_on_a_list_raises_type_error(dataset):
    def run(lib):
        data = [10, 11, 12] if dataset == "list" else range(3)
        return _outcome(lambda: lib.utils.data.Subset(data, [2, 0])[[0, 1]])
    assert run(dg) == run(torch) == ("raises", TypeError)


def test_subset_getitems_still_lists_samples():
    def run(lib):
        return lib.utils.data.Subset([10, 11, 12, 13], [3, 0]).__getitems__([1, 0])
    assert run(dg) == run(torch) == [10, 13]


# -- a 0-d complex128 tensor saves --------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (1,), (2, 3)])
def test_complex128_round_trip(shape):
    def run(lib):
        x = lib.complex(lib.arange(6.0, dtype=lib.float64)[:int(np.prod(shape))].reshape(shape),
                        -lib.ones(shape, dtype=lib.float64))
        y = _round_trip(lib, [x, x.reshape(-1)[-1:]])
        return [(str(t.dtype).rsplit(".", 1)[-1], tuple(t.shape), t.tolist()) for t in y]
    assert run(dg) == run(torch)


# -- a PyTorch file's expanded tensor refuses in-place writes, as in PyTorch --------------------

def test_torch_file_expanded_tensor_refuses_writes():
    def run(lib):
        x = _from_torch_file(lib, torch.arange(12.0).reshape(3, 4).expand(2, 3, 4))
        return tuple(x.stride()), _outcome(lambda: x.add_(1))
    assert run(dg) == run(torch) == ((0, 4, 1), ("raises", RuntimeError))


def test_torch_file_overlapping_as_strided_refuses_writes():
    # A deliberate difference, as deltagrad's own as_strided: PyTorch writes elements that
    # share memory in its loop's order (no overlap check for nonzero strides); deltagrad
    # refuses (RuntimeError) rather than give another order's values.
    x = _from_torch_file(dg, torch.ones(4).as_strided((2, 2), (1, 1)))
    assert tuple(x.stride()) == (1, 1)
    with pytest.raises(RuntimeError, match="single memory location"):
        x.add_(1)
    assert x.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_torch_file_views_of_an_expanded_tensor_base_still_write():
    def run(lib):
        base = torch.arange(4.0)
        x, e = _from_torch_file(lib, [base, base.expand(2, 4)])
        x.add_(1)
        return e.tolist()
    assert run(dg) == run(torch) == [[1.0, 2.0, 3.0, 4.0]] * 2


# -- objects pickle cannot save: pickle's error class ----------------------------------------

def _local_function():
    def inner():
        return 1
    return inner


@pytest.mark.parametrize("what", ["lambda", "local", "in_list", "local_class"])
def test_unsaveable_reference_raises_pickles_error_class(what):
    def make():
        if what == "lambda":
            return lambda: 1
        if what == "local":
            return _local_function()
        if what == "in_list":
            return {"f": [lambda: 2]}

        class Local:
            pass
        return Local()

    def run(lib):
        try:
            lib.save(make(), io.BytesIO())
        except Exception as error:  # noqa: BLE001 - the class is compared
            return [k for k in (pickle.PicklingError, AttributeError, TypeError)
                    if isinstance(error, k)][:1]
        return None
    ours = run(dg)
    assert ours == run(torch)
    with pytest.raises(TypeError):  # (deltagrad's class before: still caught as one)
        dg.save(make(), io.BytesIO())


# -- len() of a DataLoader's iterator is its index sampler's -----------------------------------

def _iterable_dataset(lib, sized):
    class Items(lib.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(3))

    class SizedItems(Items):
        def __len__(self):
            return 3
    return SizedItems() if sized else Items()


@pytest.mark.parametrize("batch_size", [None, 2])
def test_len_of_an_iterable_datasets_loader_iterator_raises_type_error(batch_size):
    def run(lib):
        loader = lib.utils.data.DataLoader(_iterable_dataset(lib, True), batch_size=batch_size)
        it = iter(loader)
        first = next(it)
        return len(loader), _outcome(lambda: len(it)), getattr(first, "tolist", lambda: first)()
    assert run(dg) == run(torch)
    assert run(dg)[1] == ("raises", TypeError)


def test_len_of_a_map_style_loader_iterator():
    def run(lib):
        loader = lib.utils.data.DataLoader(range(5), batch_size=2, drop_last=True)
        return len(iter(loader)), len(loader)
    assert run(dg) == run(torch) == (2, 2)


# -- torch.load's errors: mmap with a file object; PyTorch's class first in the MRO -----------

def test_mmap_with_a_file_object_is_value_error():
    def run(lib):
        buffer = io.BytesIO()
        lib.save(lib.ones(2), buffer)
        buffer.seek(0)
        return _outcome(lambda: lib.load(buffer, mmap=True))
    assert run(dg) == run(torch) == ("raises", ValueError)


def _first_builtin(error):
    return next(k for k in type(error).__mro__ if k.__module__ in ("builtins", "_pickle"))


@pytest.mark.parametrize("data", [b"", b"not a checkpoint at all, some text"])
def test_unreadable_bytes_error_class(data):
    def run(lib):
        try:
            lib.load(io.BytesIO(data), weights_only=True)
        except Exception as error:  # noqa: BLE001 - the class is compared
            return _first_builtin(error)
        return None
    assert run(dg) == run(torch)


# -- tensors viewing one memory as different dtypes cannot be saved together --------------------

@pytest.mark.parametrize("kind", ["real", "view_as_real", "int_view", "byte_slice"])
def test_save_views_of_one_memory_as_different_dtypes_raises(kind):
    def run(lib):
        c = lib.tensor([1 + 2j, 3 - 1j])
        x = lib.arange(4.0)
        obj = {"real": lambda: [c, c.real], "view_as_real": lambda: {"v": lib.view_as_real(c),
                                                                      "c": c},
               "int_view": lambda: [x, x.view(lib.int32)],
               "byte_slice": lambda: (x[1:].view(lib.uint8), x[2:])}[kind]()
        return _outcome(lambda: lib.save(obj, io.BytesIO()))
    assert run(dg) == run(torch) == ("raises", RuntimeError)


def test_save_one_dtype_view_alone_and_two_of_one_dtype():
    def run(lib):
        x = lib.arange(4.0)
        a, b = _round_trip(lib, [x.view(lib.int32), x[1:].view(lib.int32)])
        return a.tolist(), b.tolist(), a.dtype == lib.int32
    assert run(dg) == run(torch)


# -- default_collate promotes mixed dtypes as torch.stack, and refuses non-tensors as it ------

@pytest.mark.parametrize("batch", ["int_float", "half_bool", "numpy_int8_float32", "nested"])
def test_default_collate_promotes_as_stack(batch):
    def run(lib):
        items = {"int_float": lambda: [lib.tensor(1), lib.tensor(2.0)],
                 "half_bool": lambda: [lib.ones(2, dtype=lib.float16),
                                       lib.ones(2, dtype=lib.bool)],
                 "numpy_int8_float32": lambda: [np.arange(2, dtype="int8"),
                                                np.ones(2, dtype="float32")],
                 "nested": lambda: [(lib.tensor(1), 2), (lib.tensor(2.5), 3)]}[batch]()
        out = lib.utils.data.default_collate(items)
        first = out[0] if isinstance(out, list) else out
        return str(first.dtype).rsplit(".", 1)[-1], first.tolist()
    assert run(dg) == run(torch)


def test_default_collate_of_a_tensor_and_a_list_is_type_error():
    def run(lib):
        return _outcome(lambda: lib.utils.data.default_collate([lib.tensor([1]), [1]]))
    assert run(dg) == run(torch) == ("raises", TypeError)
