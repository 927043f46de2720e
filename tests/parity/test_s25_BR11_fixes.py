"""Session 25 BR11: differences SL10's fuzzer found and left, fixed; each against PyTorch.

- scatter_reduce_ (amax / amin / prod) into a 0-d view of a non-leaf: backward raised the
  version error (its rule saved a view of the written tensor);
- float() / int() of a complex one-element tensor: the real part when the imaginary part is 0,
  else PyTorch's RuntimeError (float() raised TypeError);
- a leaf that requires grad written at an int out of range: PyTorch's IndexError first;
- a write into a read-only NumPy array: PyTorch writes (undefined behaviour, warned at
  creation); deltagrad refuses, now naming the read-only array (the overlap message misled),
  while memory that elements share keeps PyTorch's overlap error."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import deltagrad

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s25_SL10_families as fuzz  # noqa: E402

# The fuzzer's minimised programs of the fixed entries: ordinary comparisons now.
FIXED = [
    ["a1 = torch.tensor([[-0.49, 0.79], [-0.29, 0.29]], requires_grad=True)\na2 = a1 * 1\n"
     "a3 = a2[0, 1]\na3.scatter_reduce_(-1, torch.zeros_like(a3, dtype=torch.long), "
     "a3.clone(), 'amax', include_self=True)\na2.sum().backward()"],
    ["a1 = torch.tensor([1.5 + 0j])", "a2 = float(a1)"],
    ["a1 = torch.zeros(2, 3, requires_grad=True)", "a1[-3] = 1.0"],
]


@pytest.mark.parametrize("lines", FIXED, ids=["scatter_reduce_0d", "float_complex", "leaf"])
def test_fuzzer_examples_agree(lines):
    assert fuzz.compare(lines) is None


def _outcome(fn):
    try:
        return "ok", fn()
    except Exception as error:  # noqa: BLE001 - the exception type is the result compared
        return type(error).__name__, str(error)


@pytest.mark.parametrize("reduce", ["amax", "amin", "prod", "sum", "mean"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_into_0d_view_of_non_leaf(reduce, include_self):
    def run(lib):
        a1 = lib.tensor([[-0.49, 0.79], [-0.29, 0.29]], dtype=lib.float64, requires_grad=True)
        a2 = a1 * 1
        a3 = a2[0, 1]
        a3.scatter_reduce_(-1, lib.zeros_like(a3, dtype=lib.long), a3.clone() * 2, reduce,
                           include_self=include_self)
        (a2 * lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)).sum().backward()
        return a2.tolist(), a1.grad.tolist()

    assert run(deltagrad) == run(torch)


@pytest.mark.parametrize("op", ["scatter_add_", "scatter_", "index_add_"])
def test_other_writes_into_0d_view_of_non_leaf(op):
    def run(lib):
        a1 = lib.tensor([[-0.49, 0.79], [-0.29, 0.29]], dtype=lib.float64, requires_grad=True)
        a2 = a1 * 1
        a3 = a2[0, 1]
        zero = lib.zeros_like(a3, dtype=lib.long)
        if op == "index_add_":
            a3.index_add_(0, lib.tensor([0]), a3.clone() * 2)
        else:
            getattr(a3, op)(0, zero, a3.clone() * 2)
        a2.sum().backward()
        return a2.tolist(), a1.grad.tolist()

    assert run(deltagrad) == run(torch)


_COMPLEX = [1.5 + 0j, 2 + 0j, -0.0 + 0j, 0j, complex("nan"), complex(float("inf"), 0),
            1e300 + 0j, 9.3e18 + 0j, complex(0, float("nan")), 1.5 + 2j, -3.7 + 0j]


@pytest.mark.parametrize("value", _COMPLEX, ids=repr)
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("convert", [float, int, bool, complex], ids=lambda f: f.__name__)
def test_scalar_conversions_of_complex(value, dtype, convert):
    def run(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (1e300 into complex64)
            t = lib.tensor([value], dtype=getattr(lib, dtype))
        return _outcome(lambda: convert(t))

    ours, theirs = run(deltagrad), run(torch)
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert type(ours[1]) is type(theirs[1])
        assert repr(ours[1]) == repr(theirs[1])
    else:
        assert ours[1] == theirs[1]


def test_float_of_real_tensors_unchanged():
    for value in (1.5, float("nan"), -2.0):
        assert repr(float(deltagrad.tensor([value]))) == repr(float(torch.tensor([value])))
    for value in (float("nan"), float("inf")):
        t, r = deltagrad.tensor([value]), torch.tensor([value])
        assert _outcome(lambda: int(t))[0] == _outcome(lambda: int(r))[0]  # noqa: B023


_LEAF_INDICES = [-3, 2, (0, 5), (slice(None), 3), (1, -4), (None, -3), (Ellipsis, 7),
                 (True, 0, 7), (0, 9, None), [0, 5], (slice(None), [3]), (0,)]


@pytest.mark.parametrize("index", _LEAF_INDICES, ids=repr)
def test_leaf_write_out_of_range_is_index_error(index):
    def run(lib):
        a = lib.zeros(2, 3, requires_grad=True)
        item = tuple(lib.tensor(i) if isinstance(i, list) else i for i in index) \
            if type(index) is tuple else index
        return _outcome(lambda: a.__setitem__(item, 1.0))

    ours, theirs = run(deltagrad), run(torch)
    assert ours[0] == theirs[0]
    if theirs[0] == "IndexError":
        assert ours[1] == theirs[1]


def test_leaf_write_on_three_dims_names_the_index_position():
    for index in ((0, Ellipsis, 9), (None, None, 0, 9), (0, [1], 9)):
        outcomes = [_outcome(lambda lib=lib, index=index: lib.zeros(
            2, 3, 4, requires_grad=True).__setitem__(index, 1.0)) for lib in (deltagrad, torch)]
        assert outcomes[0] == outcomes[1], index


def _read_only():
    array = np.array([1, 2], dtype=np.int16)
    array.setflags(write=False)
    return array


@pytest.mark.parametrize("write", ["add_", "setitem", "copy_", "fill_", "zero_",
                                   "fill_diagonal_"])
def test_write_into_read_only_array_names_it(write):
    # (PyTorch writes there: its memory is writable in fact; deltagrad's choice is to refuse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (from_numpy's once-per-process warning)
        t = deltagrad.from_numpy(_read_only() if write != "fill_diagonal_" else
                                 np.broadcast_to(np.eye(2), (2, 2)).copy())
    if write == "fill_diagonal_":
        t._data.setflags(write=False)
    actions = {"add_": lambda: t.add_(1), "setitem": lambda: t.__setitem__(0, 7),
               "copy_": lambda: t.copy_(deltagrad.ones_like(t)), "fill_": lambda: t.fill_(3),
               "zero_": lambda: t.zero_(), "fill_diagonal_": lambda: t.fill_diagonal_(5.0)}
    with pytest.raises(RuntimeError, match="NumPy array that is not writable"):
        actions[write]()


def test_shared_memory_keeps_the_overlap_error():
    b = np.broadcast_to(np.array([1.0, 2.0]), (2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (the read-only warning)
        ours = _outcome(lambda: deltagrad.from_numpy(b).add_(1))
        theirs = _outcome(lambda: torch.from_numpy(b).add_(1))
    assert ours[0] == theirs[0] == "RuntimeError"
    assert ours[1].endswith(theirs[1])
    x = deltagrad.zeros(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="single memory location"):
        x.mul_(2)  # (fill_ fills, as PyTorch's, since s28 SL18)
    with pytest.raises(RuntimeError, match="single memory location"):  # (a row of it too)
        x[0].add_(1)
