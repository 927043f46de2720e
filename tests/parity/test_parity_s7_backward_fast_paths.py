"""Parity of the session-7 speed paths (issue 18): ``backward_one`` (the plain backward's entry)
and its fallbacks, the array VJPs of as_strided, diagonal and unfold, unfold's direct view and
xlog1py's single errstate."""

import contextlib
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(18)
A34 = RNG.standard_normal((3, 4))
A234 = RNG.standard_normal((2, 3, 4)).astype(np.float32)


def _grads(m, build, arrays, gradient=None, anomaly=False):
    leaves = [m.tensor(a, requires_grad=True) for a in arrays]
    with m.autograd.detect_anomaly() if anomaly else contextlib.nullcontext():
        out = build(m, *leaves)
        out.backward(None if gradient is None else m.tensor(gradient))
    return [leaf.grad.detach().numpy() for leaf in leaves]


@pytest.mark.parametrize("anomaly", [False, True], ids=["plain", "anomaly"])
def test_backward_one_matches_torch(anomaly):
    def build(m, x, w, b):
        return m.nn.functional.layer_norm(x, (4,), w, b) * x
    arrays = (A34, RNG.standard_normal(4), RNG.standard_normal(4))
    g = RNG.standard_normal((3, 4))
    with warnings.catch_warnings():  # (torch warns that anomaly mode slows it down)
        warnings.simplefilter("ignore")
        expected = _grads(torch, build, arrays, g, anomaly)
    for ours, theirs in zip(_grads(dg, build, arrays, g, anomaly), expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def test_backward_of_a_leaf_and_nested_backward_in_a_hook():
    results = []
    for m in (dg, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        x.backward(m.tensor([3.0, 4.0]))  # (the root is a leaf: nothing to sweep)
        x.backward(m.tensor([1.0, 1.0]))
        w, u = m.tensor([1.0], requires_grad=True), m.tensor([5.0], requires_grad=True)

        def hook(g, m=m, u=u):
            with m.enable_grad():  # (a backward inside a backward: run_backward's nesting)
                (u * 3).sum().backward()
            return g * 2

        y = w * 2
        y.register_hook(hook)
        y.sum().backward()
        results.append((x.grad.tolist(), w.grad.tolist(), u.grad.tolist()))
    assert results[0] == results[1]


def test_backward_twice_still_refused():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError):
        y.backward()


CASES = [
    # as_strided's array VJP: an input that views a larger block (the storage found through
    # its base), an overlapping output over it, and a reshaped (non-owning) input.
    ("as_strided of a slice", lambda m, x: x[1:].as_strided((2, 2), (2, 1), 2), A34.ravel()),
    ("as_strided overlapping of a slice", lambda m, x: x[2:].as_strided((3, 3), (1, 1)),
     A34.ravel()),
    ("as_strided of a reshape", lambda m, x: x.reshape(4, 3).as_strided((3, 2), (1, 3), 1), A34),
    ("as_strided float32 3d", lambda m, x: x.as_strided((2, 2, 2), (12, 1, 4), 3), A234),
    # diagonal's array VJP (g written through the diagonal view of zeros)
    ("diagonal offset", lambda m, x: x.diagonal(1), A34),
    ("diagonal negative offset", lambda m, x: x.diagonal(-2), A34),
    ("diagonal empty", lambda m, x: x.diagonal(5), A34),
    ("diagonal batched float32", lambda m, x: m.diagonal(x, 0, 1, 2), A234),
    # unfold: the direct view (contiguous input), the stride_tricks one (a column slice), the
    # per-window VJP with its transpose (more positions than windows, dim not last)
    ("unfold contiguous", lambda m, x: x.unfold(1, 2, 1), A34),
    ("unfold transposed", lambda m, x: x.t().unfold(1, 2, 1), A34),
    ("unfold column slice", lambda m, x: x[:, ::2].unfold(0, 2, 1), A34),
    ("unfold windows, dim 0", lambda m, x: x.unfold(0, 2, 1), A234),
    ("unfold windows, dim 1 of 3", lambda m, x: x.unfold(1, 3, 1), A234),
]


@pytest.mark.parametrize("fn, array", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_view_vjps(fn, array):
    check(fn, Arg(array))


def test_unfold_view_writes_through_and_overlap_is_read_only():
    x = dg.zeros(6)
    x.unfold(0, 2, 2).fill_(1)
    assert x.tolist() == [1.0] * 6
    with pytest.raises((RuntimeError, ValueError)):
        dg.zeros(6).unfold(0, 3, 1).mul_(2)
    assert dg.zeros(6).unfold(0, 3, 1).fill_(1).tolist() == [[1.0] * 3] * 4  # (as PyTorch;
    # one value for every element, whatever the write order: s28 SL18)


def test_xlog1py_gradients_at_its_edges():
    x = np.array([0.0, 0.0, 1.5, -2.0, 0.0, 3.0])
    y = np.array([-1.0, -2.0, -1.0, 0.5, np.nan, 1.0])
    check(lambda m, a, b: m.special.xlog1py(a, b), Arg(x), Arg(y))
