"""Differences from PyTorch that SciPy's array-API tests run with torch showed in session 27
(LE16, tests/programs/test_s27_LE16_suites.py), each run in both libraries: values, dtypes,
exception classes and messages compared."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _outcome(run):
    """``("ok", result)`` or ``("raises", exception class name, message)``."""
    try:
        return "ok", run()
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return "raises", type(error).__name__, str(error)


# --------------------------------------------------------------------------------------------
# 1. finfo of a complex dtype: its real parts' limits (SciPy's logsumexp reads
# ``xp.finfo(complex128).eps``; 56 of its tests raised TypeError here).

def _limits(L, dtype):
    info = L.finfo(getattr(L, dtype))
    return (info.bits, info.eps, info.max, info.min, info.tiny, info.smallest_normal,
            info.resolution, info.dtype)


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "float16", "float64"])
def test_finfo_of_complex_dtypes(dtype):
    assert _limits(dg, dtype) == _limits(torch, dtype)


@pytest.mark.parametrize("dtype", ["int32", "bool"])
def test_finfo_of_non_floating_dtypes_raises(dtype):
    for L in (dg, torch):
        with pytest.raises(TypeError, match="finfo"):
            L.finfo(getattr(L, dtype))


# --------------------------------------------------------------------------------------------
# 2. assert_close with one-element tensors as tolerances (SciPy's integrate tests pass
# ``atol=xp.asarray(...)``): read as numbers, as PyTorch does. The masks became tensors here and
# ``bool & float tensor`` raised NotImplementedError (13 tests).

@pytest.mark.parametrize("case", ["pass", "fail-atol", "fail-both"])
def test_assert_close_tensor_tolerances(case):
    def run(L):
        actual, expected = L.tensor([0.0, 0.5]), L.tensor([0.0, 0.0])
        atol = {"pass": L.tensor(1.0), "fail-atol": L.tensor(0.1), "fail-both": L.tensor(0.1)}
        rtol = {"pass": 0.0, "fail-atol": 0.0, "fail-both": L.tensor(0.01)}
        return _outcome(lambda: L.testing.assert_close(actual, expected, atol=atol[case],
                                                       rtol=rtol[case]))

    ours, theirs = run(dg), run(torch)
    assert ours[:2] == theirs[:2]
    if ours[0] == "raises":  # (the allowed tolerance, read from the float32 tensor, is named)
        assert "up to 0.10000000149011612 allowed" in ours[2]
        assert "up to 0.10000000149011612 allowed" in theirs[2]


def test_assert_close_scalar_with_tensor_tolerance():
    for L in (dg, torch):
        L.testing.assert_close(1.0, 1.5, atol=L.tensor(1.0), rtol=0.0)


def test_assert_close_many_element_tolerance_raises():
    for L in (dg, torch):
        with pytest.raises(RuntimeError):
            L.testing.assert_close(L.zeros(2), L.zeros(2), atol=L.ones(2), rtol=0.0)


# --------------------------------------------------------------------------------------------
# 3. broadcast_shapes' error names the first dimension and argument that do not fit, in
# PyTorch's words (SciPy's optimize tests match "...be broadcast..." in it).

_SHAPES = {"sizes": ("Size", (2,), (2,), (3,)), "tuples": ("tuple", (2, 3), (4, 3)),
           "ints": ("int", 2, 3), "lists": ("list", [5, 1, 2], [3, 3]),
           "later-dim": ("tuple", (1, 4), (3, 1), (2, 4))}


@pytest.mark.parametrize("case", list(_SHAPES))
def test_broadcast_shapes_mismatch_message(case):
    kind, *shapes = _SHAPES[case]

    def run(L):
        given = [L.Size(s) for s in shapes] if kind == "Size" else shapes
        return _outcome(lambda: L.broadcast_shapes(*given))

    ours, theirs = run(dg), run(torch)
    assert ours[0] == theirs[0] == "raises"
    # (a Size names its library: deltagrad.Size outside the torch alias)
    assert ours[2].replace("deltagrad.", "torch.") == theirs[2]
    assert isinstance(_error(dg, shapes), RuntimeError)


def _error(L, shapes):
    try:
        L.broadcast_shapes(*shapes)
    except Exception as error:  # noqa: BLE001 - returned for the caller's check
        return error
    return None


@pytest.mark.parametrize("shapes", [((2, 1), (1, 3)), ((0,), (1,)), (3, (2, 1)), ()],
                         ids=["outer", "empty", "int", "none"])
def test_broadcast_shapes_still_broadcast(shapes):
    assert tuple(dg.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))


# --------------------------------------------------------------------------------------------
# 4. searchsorted / bucketize over rows of no boundaries: every value goes first (SciPy's
# quantile tests; the rows' reshape raised ValueError here, 8 tests).

@pytest.mark.parametrize("kwargs", [{}, {"right": True}, {"out_int32": True}, {"side": "right"}],
                         ids=["left", "right", "int32", "side"])
def test_searchsorted_empty_rows(kwargs):
    values = np.array([[np.nan, 1.0, 2.0], [1.0, 2.0, 3.0]], dtype=np.float32)
    ours = dg.searchsorted(dg.zeros(2, 0), dg.tensor(values), **kwargs)
    theirs = torch.searchsorted(torch.zeros(2, 0), torch.tensor(values), **kwargs)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    assert ours.tolist() == theirs.tolist()


def test_searchsorted_empty_batched_rows():
    ours = dg.searchsorted(dg.zeros(3, 2, 0), dg.ones(3, 2, 4))
    theirs = torch.searchsorted(torch.zeros(3, 2, 0), torch.ones(3, 2, 4))
    assert ours.tolist() == theirs.tolist()
