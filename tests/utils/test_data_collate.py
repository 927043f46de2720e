"""default_collate and default_convert against PyTorch's, on nested structures."""

import collections

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.utils.data import default_collate, default_convert

Point = collections.namedtuple("Point", ["x", "y"])


class T:
    """Marks an array that becomes a tensor (deltagrad's or torch's) in a sample."""

    def __init__(self, array):
        self.array = np.asarray(array)


def build(value, tensor):
    """A sample with every ``T`` turned into ``tensor(array)``, containers rebuilt alike."""
    if isinstance(value, T):
        return tensor(value.array.copy())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(build(v, tensor) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(build(v, tensor) for v in value)
    if isinstance(value, dict):
        return type(value)((k, build(v, tensor)) for k, v in value.items())
    return value


def assert_same(ours, theirs, torch):
    if isinstance(theirs, torch.Tensor):
        assert dg.is_tensor(ours), (ours, theirs)
        assert ours.shape == tuple(theirs.shape)
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch."), (ours, theirs)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        return
    assert type(ours) is type(theirs), (ours, theirs)
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for key in theirs:
            assert_same(ours[key], theirs[key], torch)
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, torch)
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert ours == theirs


BATCHES = {
    "float32 tensors": [T(np.arange(3, dtype=np.float32)), T(np.ones(3, np.float32))],
    "0-d int64 tensors": [T(np.int64(4)), T(np.int64(-1))],
    "float64 arrays": [np.arange(4.0).reshape(2, 2), np.zeros((2, 2))],
    "int32 arrays": [np.arange(3, dtype=np.int32)] * 2,
    "bool arrays": [np.array([True, False])] * 3,
    "numpy float64 scalars": [np.float64(1.5), np.float64(2)],
    "numpy float32 scalars": [np.float32(1.5), np.float32(2)],
    "numpy int32 scalars": [np.int32(1), np.int32(2)],
    "numpy bool scalars": [np.bool_(True), np.bool_(False)],
    "python floats": [1.0, 2.5, -3.0],
    "python ints": [1, 2, 3],
    "python bools": [True, False],
    "ints then a float": [1, 2.5],
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
    "numpy strings": [np.str_("a"), np.str_("b")],
    "tuple samples": [(T(np.zeros(2, np.float32)), 1, "x"), (T(np.ones(2, np.float32)), 0, "y")],
    "nested tuples": [((1, 2.0), "s"), ((3, 4.0), "t")],
    "lists of ints": [[1, 2], [3, 4], [5, 6]],
    "dicts": [{"x": T(np.ones((2, 3), np.float32)), "y": 1, "name": "a", "more": {"z": [1.0, 2.0]}},
              {"x": T(np.zeros((2, 3), np.float32)), "y": 2, "name": "b",
               "more": {"z": [3.0, 4.0]}}],
    "ordered dicts": [collections.OrderedDict(a=1.0, b=T(np.zeros(2))),
                      collections.OrderedDict(a=2.0, b=T(np.ones(2)))],
    "namedtuples": [Point(T(np.zeros(2, np.float32)), 0.5), Point(T(np.ones(2, np.float32)), 1.5)],
    "namedtuples in dicts": [{"p": Point(1, "u")}, {"p": Point(2, "v")}],
}


@pytest.mark.parametrize("name", list(BATCHES))
def test_default_collate_matches_torch(name):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    batch = BATCHES[name]
    ours = default_collate(build(batch, dg.from_numpy))
    theirs = torch_collate(build(batch, torch.from_numpy))
    assert_same(ours, theirs, torch)


SAMPLES = {
    "float64 array": np.arange(3.0),
    "int32 array": np.arange(3, dtype=np.int32),
    "numpy scalar": np.float32(2.5),
    "string array": np.array(["a", "b"]),
    "python int": 3,
    "python float": 2.5,
    "string": "text",
    "tuple": (np.zeros(2), 1, "a"),
    "list": [np.ones(2, np.float32), [np.int64(3)]],
    "dict": {"x": np.zeros((2, 2)), "label": 1, "inner": (np.ones(1), "s")},
    "namedtuple": Point(np.zeros(2), 3),
    "tensor": T(np.arange(2.0)),
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_default_convert_matches_torch(name):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_convert as torch_convert

    sample = SAMPLES[name]
    ours = default_convert(build(sample, dg.from_numpy))
    theirs = torch_convert(build(sample, torch.from_numpy))
    assert_same(ours, theirs, torch)


def test_default_convert_shares_numpy_memory():
    array = np.zeros(3)
    converted = default_convert(array)
    array[1] = 5.0
    assert converted.numpy()[1] == 5.0


def test_default_collate_keeps_the_graph():
    a = dg.tensor([1.0, 2.0], requires_grad=True)
    b = dg.tensor([3.0, 4.0], requires_grad=True)
    batch = default_collate([a * 2, b])
    assert batch.shape == (2, 2) and batch.requires_grad
    (batch * dg.tensor([[1.0, 1.0], [2.0, 2.0]])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0])
    with dg.no_grad():
        assert not default_collate([a, b]).requires_grad


ERROR_BATCHES = {
    "unequal tensor shapes": [T(np.zeros(2)), T(np.zeros(3))],
    "unequal list lengths": [[1, 2], [3]],
    "unsupported type": [object(), object()],
    "string arrays": [np.array(["a"]), np.array(["b"])],
    "object arrays": [np.array([None]), np.array([None])],
}


@pytest.mark.parametrize("name", list(ERROR_BATCHES))
def test_default_collate_errors_match_torch(name):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    batch = ERROR_BATCHES[name]
    with pytest.raises(Exception) as theirs:
        torch_collate(build(batch, torch.from_numpy))
    with pytest.raises(type(theirs.value)) as ours:
        default_collate(build(batch, dg.from_numpy))
    if name == "unequal tensor shapes":
        assert "[2] at entry 0 and [3] at entry 1" in str(ours.value)
