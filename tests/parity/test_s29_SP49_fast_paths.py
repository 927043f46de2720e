"""Session 29 (SP49): the common-call shortcuts of logsumexp and F.binary_cross_entropy answer
bit for bit as their general paths (values, dtypes, gradients, node names, error classes and
messages), and as PyTorch 2.13 (values within rounding, dtypes, node names, error classes).

The general path is reached with arguments the shortcut does not take and the general path
reads the same: logsumexp's dim as a list, or as a one-element int tensor; binary_cross_entropy's
reduction as a ``str`` subclass.

Measured (fwd + bwd, the tree / HEAD alternated in one process, thread time, 15 x 2 rounds,
both import orientations): logsumexp(x, dim).sum() on four small cases 0.90;
binary_cross_entropy on three 0.98.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine.ops import OPS

torch = pytest.importorskip("torch")


class _Word(str):
    """A reduction word the shortcut leaves to the general path (it checks ``type is str``)."""


def _outcome(call, *args):
    """call(*args): (result, gradients of the leaves, node name) or the raised exception."""
    try:
        return call(*args)
    except Exception as error:  # noqa: BLE001 - compared below
        return error


def _identical(fast, slow):
    """Bit-identical results from the shortcut and the general path."""
    if isinstance(slow, Exception):
        assert type(fast) is type(slow) and str(fast) == str(slow), (fast, slow)
        return
    assert not isinstance(fast, Exception), fast
    (out_a, grads_a, name_a), (out_b, grads_b, name_b) = fast, slow
    assert out_a.dtype == out_b.dtype and out_a.shape == out_b.shape and name_a == name_b
    np.testing.assert_array_equal(out_a.detach().numpy(), out_b.detach().numpy(), strict=True)
    for a, b in zip(grads_a, grads_b, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.numpy(), b.numpy(), strict=True)


def _against_torch(mine, theirs, rtol):
    if isinstance(theirs, Exception):
        assert isinstance(mine, Exception), (mine, theirs)
        assert isinstance(mine, type(theirs)), (mine, theirs)
        return
    assert not isinstance(mine, Exception), (mine, theirs)
    (out_a, grads_a, name_a), (out_b, grads_b, name_b) = mine, theirs
    assert str(out_a.dtype).split(".")[-1] == str(out_b.dtype).split(".")[-1]
    assert tuple(out_a.shape) == tuple(out_b.shape) and name_a == name_b
    np.testing.assert_allclose(out_a.detach().numpy(), out_b.detach().numpy(), rtol=rtol,
                               atol=rtol)
    for a, b in zip(grads_a, grads_b, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=rtol)


def _run(lib, arrays, grads, function):
    leaves = [lib.from_numpy(a.copy()).requires_grad_(g) for a, g in zip(arrays, grads)]
    out = function(lib, *leaves)
    name = type(out.grad_fn).__name__ if out.grad_fn is not None else None
    if out.requires_grad:
        seed = np.random.default_rng(1).standard_normal(out.shape).astype(out.detach().numpy()
                                                                          .dtype)
        out.backward(lib.from_numpy(seed))
    return out, [leaf.grad for leaf in leaves], name


# ----------------------------------------------------------------------------------------------
# logsumexp

_LSE_VALUES = {
    "plain": lambda shape, rng: rng.standard_normal(shape),
    "inf": lambda shape, rng: np.where(rng.random(shape) < 0.3, np.inf, rng.standard_normal(shape)),
    "neginf": lambda shape, rng: np.full(shape, -np.inf),
    "nan": lambda shape, rng: np.where(rng.random(shape) < 0.3, np.nan,
                                       rng.standard_normal(shape)),
    "big": lambda shape, rng: rng.standard_normal(shape) * 300,
}
_LSE_CASES = [((3, 4), 1, False), ((3, 4), 0, True), ((3, 4), -1, False), ((3, 4), (0, 1), False),
              ((3, 4), (1, 0), True), ((2, 3, 4), (0, 2), False), ((2, 3, 4), (-1,), True),
              ((2, 3, 4), (0, 1, 2), True), ((5,), 0, True), ((), 0, False), ((), -1, True),
              ((), (0,), False), ((0, 3), 0, False), ((0, 3), 1, True), ((3, 4), 2, False),
              ((3, 4), -3, True), ((3, 4), (0, 0), False), ((3, 4), (1, 5), False)]


def _lse(dim, keepdim):
    return lambda lib, x: lib.logsumexp(x, dim, keepdim)


def _bce(reduction):
    return lambda lib, x, y: (F if lib is dg else torch.nn.functional).binary_cross_entropy(
        x, y, reduction=reduction)


def _lse_slow_dim(dim):
    return list(dim) if isinstance(dim, tuple) else dg.tensor(dim)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("values", sorted(_LSE_VALUES))
@pytest.mark.parametrize("case", range(len(_LSE_CASES)), ids=lambda i: f"case{i}")
def test_logsumexp_shortcut_is_the_general_path(case, values, dtype):
    shape, dim, keepdim = _LSE_CASES[case]
    array = _LSE_VALUES[values](shape, np.random.default_rng(case)).astype(dtype)
    fast = _outcome(_run, dg, [array], [True], _lse(dim, keepdim))
    slow = _outcome(_run, dg, [array], [True], _lse(_lse_slow_dim(dim), keepdim))
    _identical(fast, slow)
    method = _outcome(_run, dg, [array], [True], lambda lib, x: x.logsumexp(dim, keepdim))
    _identical(method, slow)
    if values == "plain" or dtype != "float16":
        theirs = _outcome(_run, torch, [array], [True], _lse(dim, keepdim))
        _against_torch(fast, theirs, 2e-3 if dtype == "float16" else 1e-5)


def test_logsumexp_registered_samples():
    for sample in OPS["logsumexp"].samples(np.random.default_rng(0)):
        (array,) = sample.args
        dim, keepdim = sample.kwargs["dim"], sample.kwargs["keepdim"]
        dim = tuple(range(array.ndim)) if dim is None else dim
        for dtype in ("float32", "float64"):
            data = array.astype(dtype)
            for grad in (True, False):
                fast = _outcome(_run, dg, [data], [grad], _lse(dim, keepdim))
                slow = _outcome(_run, dg, [data], [grad], _lse(_lse_slow_dim(dim), keepdim))
                _identical(fast, slow)
                theirs = _outcome(_run, torch, [data], [grad], _lse(dim, keepdim))
                _against_torch(fast, theirs, 1e-5)


def test_logsumexp_under_no_grad_and_other_arguments():
    array = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    with dg.no_grad():
        fast = dg.logsumexp(dg.from_numpy(array).requires_grad_(), 1)
    assert fast.grad_fn is None and not fast.requires_grad
    assert np.array_equal(fast.numpy(), dg.logsumexp(dg.from_numpy(array), [1]).numpy())
    # (arguments the shortcut leaves to the general path: as PyTorch's)
    x, t = dg.from_numpy(array), torch.from_numpy(array)
    for call in (lambda lib, v: lib.logsumexp(v, 1, keepdim=1),
                 lambda lib, v: lib.logsumexp(v, ()),
                 lambda lib, v: lib.logsumexp(v, None),
                 lambda lib, v: lib.logsumexp(v.to(lib.int64), 1),
                 lambda lib, v: lib.logsumexp(v, True)):
        mine, theirs = _outcome(call, dg, x), _outcome(call, torch, t)
        if isinstance(theirs, Exception):
            assert isinstance(mine, type(theirs)), (mine, theirs)
        else:
            assert str(mine.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6)


# ----------------------------------------------------------------------------------------------
# binary_cross_entropy

_BCE_CASES = {
    "plain": (lambda s, r: r.random(s) * 0.98 + 0.01, lambda s, r: r.random(s)),
    "ends": (lambda s, r: np.where(r.random(s) < 0.5, 0.0, 1.0), lambda s, r: r.random(s)),
    "negzero": (lambda s, r: np.where(r.random(s) < 0.5, -0.0, 0.5), lambda s, r: r.random(s)),
    "above": (lambda s, r: r.random(s) + 0.5, lambda s, r: r.random(s)),
    "below": (lambda s, r: r.random(s) - 0.5, lambda s, r: r.random(s)),
    "nan": (lambda s, r: np.full(s, np.nan), lambda s, r: r.random(s)),
    "target_out": (lambda s, r: r.random(s), lambda s, r: r.random(s) + 1.0),
    "target_ends": (lambda s, r: r.random(s) * 0.98 + 0.01,
                    lambda s, r: np.where(r.random(s) < 0.5, 0.0, 1.0)),
}
_BCE_SHAPES = {"3x4": ((3, 4), (3, 4)), "8": ((8,), (8,)), "0d": ((), ()), "empty": ((0,), (0,)),
               "target_4": ((3, 4), (4,))}


@pytest.mark.parametrize("dtypes", ["float32", "float64", "float16", "float32/float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shapes", sorted(_BCE_SHAPES))
@pytest.mark.parametrize("values", sorted(_BCE_CASES))
def test_binary_cross_entropy_shortcut_is_the_general_path(values, shapes, reduction, dtypes):
    rng = np.random.default_rng(7)
    shape_x, shape_y = _BCE_SHAPES[shapes]
    dtype_x, _, dtype_y = (dtypes + "/" + dtypes).split("/")[:3] if "/" in dtypes else (
        dtypes, None, dtypes)
    make_x, make_y = _BCE_CASES[values]
    arrays = [make_x(shape_x, rng).astype(dtype_x), make_y(shape_y, rng).astype(dtype_y)]
    for grads in ([True, False], [True, True]):
        fast = _outcome(_run, dg, arrays, grads, _bce(reduction))
        slow = _outcome(_run, dg, arrays, grads, _bce(_Word(reduction)))
        _identical(fast, slow)
        if dtype_x == "float16" and values != "plain":
            continue
        theirs = _outcome(_run, torch, arrays, grads, _bce(reduction))
        _against_torch(fast, theirs, 2e-3 if dtype_x == "float16" else 1e-5)


def test_binary_cross_entropy_registered_samples_and_other_arguments():
    for sample in OPS["binary_cross_entropy"].samples(np.random.default_rng(0)):
        x_array, y_array = sample.args
        reduction = sample.kwargs.get("reduction", "none")
        for grads in ([True, False], [True, True], [False, False]):
            fast = _outcome(_run, dg, [x_array, y_array], grads, _bce(reduction))
            slow = _outcome(_run, dg, [x_array, y_array], grads, _bce(_Word(reduction)))
            _identical(fast, slow)
    rng = np.random.default_rng(5)
    x_array, y_array = rng.random((3, 4)), rng.random((3, 4))
    x, y = dg.from_numpy(x_array), dg.from_numpy(y_array)
    tx, ty = torch.from_numpy(x_array), torch.from_numpy(y_array)
    for call in (lambda f, a, b: f.binary_cross_entropy(a, b, reduction="average"),
                 lambda f, a, b: f.binary_cross_entropy(a, b, weight=b),
                 lambda f, a, b: f.binary_cross_entropy(a, b.numpy()),
                 lambda f, a, b: f.binary_cross_entropy(a, b.float())):
        mine = _outcome(call, F, x, y)
        theirs = _outcome(call, torch.nn.functional, tx, ty)
        if isinstance(theirs, Exception):
            assert isinstance(mine, type(theirs)), (mine, theirs)
        else:
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
