"""Session 24 SP11: the cheaper paths of threshold, hardshrink, prelu, huber / smooth_l1 and
nll_loss (ops/activations.py, ops/losses.py, nn/_functional_*.py) against PyTorch: values,
gradients and second derivatives at the edges the new paths decide on (nan, inf, -0.0, ties
with the bound, a fill value of -0.0, float16 / float64), the node names they now get without
a per-call ``name_node``, and that they take it no more."""

import functools

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine import node_names
from deltagrad.nn import _functional_activations, _functional_losses

torch = pytest.importorskip("torch")

_DTYPES = {np.float32: torch.float32, np.float64: torch.float64, np.float16: torch.float16}


def _edges(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) * 1.5
    flat = a.reshape(-1)
    flat[:8] = [0.0, -0.0, 0.25, 0.5, -0.5, np.nan, np.inf, -np.inf][:flat.size]
    return a.astype(dtype)


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def _same(ours, theirs, exact):
    ours = ours.detach().numpy() if isinstance(ours, dg.Tensor) else ours
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if exact:
        np.testing.assert_array_equal(_bits(ours), _bits(theirs))
    else:
        tol = 1e-3 if ours.dtype == np.float16 else 1e-6
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def _check(fn_dg, fn_torch, arrays, exact=True, second=True, grads=True):
    """Values, node name, gradients and (with create_graph) second derivatives."""
    ours = [dg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, yt = fn_dg(*ours), fn_torch(*theirs)
    _same(y, yt, exact)
    assert type(y.grad_fn).__name__ == type(yt.grad_fn).__name__
    if not grads:
        return
    g = np.random.default_rng(1).standard_normal(y.shape).astype(arrays[0].dtype)
    gs = dg.grad(y, ours, dg.tensor(g), create_graph=second)
    gts = torch.autograd.grad(yt, theirs, torch.tensor(g), create_graph=second)
    for a, b in zip(gs, gts):
        _same(a, b, exact)
    if second:
        s = sum((a * a).sum() for a in gs if a.requires_grad)
        st = sum((b * b).sum() for b in gts if b.requires_grad)
        got = dg.grad(s, ours, allow_unused=True)
        want = torch.autograd.grad(st, theirs, allow_unused=True)
        for a, b in zip(got, want):
            assert (a is None) == (b is None)
            if a is not None:
                _same(a, b, exact=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(), (8, 8), (2, 3, 4)])
def test_threshold_and_hardshrink(dtype, shape):
    x = _edges(shape, dtype, 0)
    # (nan: values only; PyTorch's own gradient at nan differs between its vectorized and
    # scalar kernels: hardshrink's is 0 on [8, 8], g on [11]; deltagrad's g, as before)
    finite = np.nan_to_num(x, nan=0.3)
    smooth = np.nan_to_num(x, nan=0.3, posinf=2.0, neginf=-2.0)  # (for second derivatives)
    for threshold, value in ((0.25, -1.5), (0.0, -0.0), (0.0, 0.0), (-0.5, 3e38)):
        if dtype == np.float16 and value > 7e4:
            continue
        for data, options in ((x, {"grads": False}), (finite, {"second": False}), (smooth, {})):
            _check(lambda t, th=threshold, v=value: F.threshold(t, th, v),
                   lambda t, th=threshold, v=value: torch.nn.functional.threshold(
                       t, th, v), [data],
                   **options)
    for lambd in (0.5, 0.25, 0.0, -1.0):
        for data, options in ((x, {"grads": False}), (finite, {"second": False}), (smooth, {})):
            _check(lambda t, lambd=lambd: F.hardshrink(t, lambd),
                   lambda t, lambd=lambd: torch.nn.functional.hardshrink(t, lambd), [data],
                   **options)


def test_threshold_fill_sign_and_overflow():
    # (-0.0 and 0.0 are one dict key: the fill must not come from a cache keyed so)
    x = dg.tensor([-1.0, 2.0])
    for value in (0.0, -0.0, 0.0, -0.0):
        want = torch.nn.functional.threshold(torch.tensor([-1.0, 2.0]), 0.5, value)
        np.testing.assert_array_equal(_bits(F.threshold(x, 0.5, value).numpy()),
                                      _bits(want.numpy()))
    with pytest.raises(RuntimeError):
        torch.nn.functional.threshold(torch.tensor([1.0]), 0.5, 1e39)
    with pytest.raises(RuntimeError):
        F.threshold(x, 0.5, 1e39)
    # in place: PyTorch's node name ThresholdBackward1
    a = dg.tensor([-1.0, 2.0], requires_grad=True) * 1
    assert type(F.threshold(a, 0.5, 0.0, inplace=True).grad_fn).__name__ == "ThresholdBackward1"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, channels", [((5,), 1), ((3, 4), 4), ((2, 3, 2), 3),
                                             ((2, 3, 2), 1)])
def test_prelu(dtype, shape, channels):
    x = _edges(shape, dtype, 2)
    x = np.nan_to_num(x, nan=0.3, posinf=2.0, neginf=-2.0)
    w = np.random.default_rng(3).uniform(-0.5, 0.5, channels).astype(dtype)
    _check(F.prelu, torch.nn.functional.prelu, [x, w], exact=False)
    _check(F.prelu, torch.nn.functional.prelu, [x, w], second=False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_huber_and_smooth_l1(dtype, reduction):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((3, 4)) * 2).astype(dtype)
    x[0, :3] = [np.nan, np.inf, 1.0]  # (a nan inside, an inf outside, a tie at delta)
    y = np.zeros((3, 4), dtype)
    finite = np.nan_to_num(x, nan=0.3, posinf=2.0)
    for delta in (1.0, 0.7):
        huber = ({"reduction": reduction, "delta": delta}, "huber_loss")
        smooth = ({"reduction": reduction, "beta": delta}, "smooth_l1_loss")
        for (kwargs, name), data, second in ((huber, x, False), (smooth, x, False),
                                             (huber, finite, True)):
            _check(functools.partial(getattr(F, name), **kwargs),
                   functools.partial(getattr(torch.nn.functional, name), **kwargs), [data, y],
                   exact=False, second=second)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_nll_loss_names_and_values(reduction):
    rng = np.random.default_rng(5)
    for shape, target in (((4, 3), [2, -1, 1, -1]), ((3,), 1), ((2, 3, 2), [[0, -1], [1, 1]])):
        x = rng.standard_normal(shape).astype(np.float32)
        _check(lambda a, target=target: F.nll_loss(a, dg.tensor(target), ignore_index=-1,
                                                     reduction=reduction),
               lambda a, target=target: torch.nn.functional.nll_loss(
                   a, torch.tensor(target), ignore_index=-1,
                                                      reduction=reduction), [x],
               exact=False, second=False)


def test_fast_paths_take_no_name_node(monkeypatch):
    calls = []

    def counting(tensor, name):
        calls.append(name)
        return tensor

    monkeypatch.setattr(_functional_activations, "name_node", counting)
    monkeypatch.setattr(_functional_losses, "name_node", counting)
    monkeypatch.setattr(node_names, "name_node", counting)
    x = dg.tensor([[-1.0, 0.2, 3.0]], requires_grad=True)
    for y in (F.threshold(x, 0.1, 0.0), F.hardshrink(x), F.prelu(x, dg.tensor([0.25])),
              F.huber_loss(x, dg.zeros(1, 3), reduction="none"),
              F.smooth_l1_loss(x, dg.zeros(1, 3), reduction="none"),
              F.nll_loss(x, dg.tensor([1]))):
        assert y.grad_fn is not None
    assert calls == []
