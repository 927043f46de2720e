"""argmax / argmin / any / all / count_nonzero against PyTorch over a table of inputs (the fast
paths of api/reductions.py: array methods and ufunc reductions instead of NumPy's wrappers):
values, dtypes and shapes, 0-d, empty, bool, integer, uint8, complex, NaN, negative and tuple
dims, keepdim, and meta tensors."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(14)
_F = _RNG.standard_normal((3, 4, 5)).astype(np.float32)
_F[0, 1, 2] = np.nan
_F[1, :, 3] = 0.0
_F[2, 0, 0] = -0.0
_INPUTS = {
    "float": _F,
    "zeros": np.zeros((2, 3), np.float32),
    "scalar": np.array(1.5, np.float32),
    "scalar-zero": np.array(0.0),
    "empty": np.zeros((0, 3), np.float32),
    "int": _RNG.integers(-2, 3, (4, 5)),
    "uint8": _RNG.integers(0, 3, (3, 4)).astype(np.uint8),
    "bool": _RNG.integers(0, 2, (3, 4)).astype(bool),
    "complex": (_RNG.integers(0, 2, (3, 4)) + 1j * _RNG.integers(0, 2, (3, 4))).astype(
        np.complex64),
}
_DIMS = [None, 0, -1, 1, (0, 1), (-1,), ()]


_CASES = [pytest.param(name, array, dim, keepdim, id=f"{name}-{dim}-{keepdim}")
          for name, array in _INPUTS.items() for dim in _DIMS for keepdim in (False, True)]


def _outcome(lib, function, array, **kwargs):
    try:
        out = getattr(lib, function)(lib.from_numpy(array.copy()), **kwargs)
    except Exception as error:  # noqa: BLE001 - the class is compared
        return type(error)
    return out


def _compare(ours, theirs):
    if isinstance(theirs, type):
        assert isinstance(ours, type), f"PyTorch raised {theirs.__name__}, deltagrad did not"
        return
    assert not isinstance(ours, type), f"deltagrad raised {ours.__name__}, PyTorch did not"
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name, array, dim, keepdim", _CASES)
@pytest.mark.parametrize("function", ["any", "all"])
def test_any_all_match_torch(function, name, array, dim, keepdim):
    kwargs = {"keepdim": keepdim} if dim is None else {"dim": dim, "keepdim": keepdim}
    if dim is None and keepdim:
        kwargs = {"dim": None, "keepdim": True}
    theirs = _outcome(torch, function, array, **kwargs)
    if isinstance(theirs, type) and theirs is TypeError:
        pytest.skip("PyTorch's parser has no such overload")
    _compare(_outcome(dg, function, array, **kwargs), theirs)


@pytest.mark.parametrize("name, array, dim, keepdim", _CASES)
@pytest.mark.parametrize("function", ["argmax", "argmin"])
def test_argmax_argmin_match_torch(function, name, array, dim, keepdim):
    if isinstance(dim, tuple) or name == "complex":
        pytest.skip("one int dim; no complex order")
    theirs = _outcome(torch, function, array, dim=dim, keepdim=keepdim)
    _compare(_outcome(dg, function, array, dim=dim, keepdim=keepdim), theirs)


@pytest.mark.parametrize("name", list(_INPUTS))
@pytest.mark.parametrize("dim", _DIMS[:-1])
def test_count_nonzero_matches_torch(name, dim):
    array = _INPUTS[name]
    theirs = _outcome(torch, "count_nonzero", array, dim=dim)
    _compare(_outcome(dg, "count_nonzero", array, dim=dim), theirs)


@pytest.mark.parametrize("function, kwargs", [
    ("any", {}), ("all", {"dim": 1, "keepdim": True}), ("count_nonzero", {}),
    ("count_nonzero", {"dim": 0}), ("argmax", {}), ("argmin", {"dim": -1, "keepdim": True}),
])
def test_meta_tensors_keep_shape_and_dtype(function, kwargs):
    ours = getattr(dg, function)(dg.empty(3, 4, device="meta"), **kwargs)
    theirs = getattr(torch, function)(torch.empty(3, 4, device="meta"), **kwargs)
    assert ours.device.type == "meta"
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
