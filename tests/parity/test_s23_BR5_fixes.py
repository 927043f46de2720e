"""Session 23 BR5: silent differences from PyTorch 2.13 (each checked against PyTorch).

1. A sparse tensor made by ``to_sparse`` (``to_sparse_csr``) of a tensor in the graph: a dense
   gradient of it (a Function's backward, ``mm`` / ``@``, ``dense + sparse``) reaches that
   tensor whole, as PyTorch's ToSparseBackward0 (it was masked to the stored entries).
2. Second derivatives through the pools (max / avg / adaptive / fractional, 1-3 d): zeros
   w.r.t. x, as PyTorch's pool backwards that take x (they were None).
3. huber_loss / smooth_l1_loss second derivatives through the target: zeros signed as
   PyTorch's (its target rule is huber_loss_backward(g, target, self), not -gx).
4. stack of channels-last (3d) inputs below the last dim: PyTorch's cat(tensors, dim).view()
   strides (they were row-major at dims 0 and 1).
"""

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_W = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
_A = np.arange(6.0).reshape(2, 3)
_D = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
_E = np.array([[1.0, 2.0], [3.0, 4.0]])


def _function(lib):
    a = lib.tensor(_A)

    class Dense(lib.autograd.Function):
        @staticmethod
        def forward(ctx, s):
            ctx.save_for_backward(s.to_dense())
            return (s.to_dense() ** 2).sum()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x + a  # (dense, nonzero off the stored entries)

    class SparseGrad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, s):
            return s.to_dense().sum()

        @staticmethod
        def backward(ctx, g):
            return (g * a).to_sparse()

    return Dense, SparseGrad


def _cases(lib):
    a, d, e = lib.tensor(_A), lib.tensor(_D), lib.tensor(_E)
    dense_fn, sparse_fn = _function(lib)
    return {
        "function": lambda w: dense_fn.apply((w * 1).to_sparse()),
        "function_leaf_input": lambda w: dense_fn.apply(w.to_sparse()),
        "function_sparse_grad": lambda w: sparse_fn.apply((w * 1).to_sparse()),
        "function_csr": lambda w: dense_fn.apply((w * 1).to_sparse_csr()),
        "mm": lambda w: lib.mm((w * 2).to_sparse(), d).sum(),
        "matmul": lambda w: lib.matmul((w * 2).to_sparse(), d).sum(),
        "matmul_vector": lambda w: ((w * 2).to_sparse() @ d[:, 0])
        .mul(e[0]).sum(),
        "addmm": lambda w: lib.addmm(lib.zeros(2, 2, dtype=lib.float64), (w * 2).to_sparse(),
                                     d).sum(),
        "dense_at_sparse": lambda w: (e @ (w * 2).to_sparse()).mul(a).sum(),
        "csr_mm": lambda w: lib.mm((w * 2).to_sparse_csr(), d).sum(),
        "csr_to_coo_mm": lambda w: lib.mm((w * 2).to_sparse_csr().to_sparse(), d).sum(),
        "hybrid_to_dense_mm": lambda w: lib.mm((w * 2).to_sparse(1).to_dense(), d).sum(),
        "dense_plus_sparse": lambda w: (a + (w * 2).to_sparse()).mul(a).sum(),
        "dense_minus_sparse": lambda w: (a - (w * 2).to_sparse()).mul(a).sum(),
        # masked in PyTorch too (sparse-aware backwards): unchanged, checked the same way
        "sparse_mm": lambda w: lib.sparse.mm((w * 2).to_sparse(), d).sum(),
        "sparse_sum": lambda w: lib.sparse.sum((w * 2).to_sparse()),
        "to_dense": lambda w: ((w * 2).to_sparse().to_dense() * a).sum(),
        "mul_sparse": lambda w: ((w * 2).to_sparse() * lib.ones(2, 3, dtype=lib.float64)
                                 .to_sparse()).to_dense().sum(),
        "second_order_mm": lambda w: (lib.autograd.grad(
            ((w * w).to_sparse() @ d).pow(2).sum(), w, create_graph=True)[0] * a).sum(),
        "second_order_function": lambda w: (lib.autograd.grad(
            dense_fn.apply((w * w).to_sparse()), w, create_graph=True)[0] * a).sum(),
    }


@pytest.mark.parametrize("case", sorted(_cases(dg)))
def test_to_sparse_dense_gradient_whole(case):
    grads = []
    for lib in (dg, torch):
        w = lib.tensor(_W, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch's CSR beta warning)
            _cases(lib)[case](w).backward()
        grads.append(w.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_to_sparse_detached_or_no_grad_has_no_source():
    w = dg.tensor(_W, requires_grad=True)
    assert not ((w * 2).to_sparse().detach() @ dg.tensor(_D)).requires_grad
    with dg.no_grad():
        s = (w * 2).to_sparse()
    assert not (s @ dg.tensor(_D)).requires_grad


def _pools(lib):
    F = lib.nn.functional
    samples = lib.full((1, 2, 2), 0.5, dtype=lib.float64)
    return {
        "max_pool1d": (3, lambda x: F.max_pool1d(x, 2)),
        "max_pool2d": (4, lambda x: F.max_pool2d(x, 2)),
        "max_pool3d": (5, lambda x: F.max_pool3d(x, 2)),
        "avg_pool1d": (3, lambda x: F.avg_pool1d(x, 2)),
        "avg_pool2d": (4, lambda x: F.avg_pool2d(x, 2)),
        "avg_pool3d": (5, lambda x: F.avg_pool3d(x, 2)),
        "adaptive_avg_pool1d": (3, lambda x: F.adaptive_avg_pool1d(x, 3)),
        "adaptive_avg_pool2d": (4, lambda x: F.adaptive_avg_pool2d(x, 3)),
        "adaptive_avg_pool3d": (5, lambda x: F.adaptive_avg_pool3d(x, 3)),
        "adaptive_max_pool1d": (3, lambda x: F.adaptive_max_pool1d(x, 3)),
        "adaptive_max_pool2d": (4, lambda x: F.adaptive_max_pool2d(x, 3)),
        "adaptive_max_pool3d": (5, lambda x: F.adaptive_max_pool3d(x, 3)),
        "lp_pool2d": (4, lambda x: F.lp_pool2d(x, 2, 2)),
        "fractional_max_pool2d": (4, lambda x: F.fractional_max_pool2d(
            x, 2, output_size=3, _random_samples=samples)),
    }


@pytest.mark.parametrize("case", sorted(_pools(dg)))
def test_pool_second_derivative(case):
    ndim = _pools(dg)[case][0]
    data = np.random.default_rng(5).standard_normal((1, 2) + (4,) * (ndim - 2))
    got = []
    for lib in (dg, torch):
        x = lib.tensor(data, requires_grad=True)
        y = _pools(lib)[case][1](x)
        g = lib.ones_like(y, requires_grad=True)
        (gx,) = lib.autograd.grad(y, x, g * 1.0, create_graph=True)
        second_x, second_g = lib.autograd.grad((gx * lib.tensor(data)).sum(), (x, g),
                                               allow_unused=True)
        got.append((gx.detach().numpy(), None if second_x is None else second_x.numpy(),
                    second_g.numpy()))
    for ours, theirs in zip(got[0], got[1]):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def _same_bits(ours, theirs):
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


@pytest.mark.parametrize("loss,kwargs", [("huber_loss", {}), ("huber_loss", {"delta": 0.7}),
                                         ("smooth_l1_loss", {}),
                                         ("smooth_l1_loss", {"beta": 0.5})])
def test_huber_second_derivative_zero_signs(loss, kwargs):
    xs = np.array([-2.0, -0.5, 0.0, 0.5, 2.0, 3.0, 0.25])
    ys = np.array([1.0, 0.0, 2.0, 0.0, -1.0, 3.0, 0.0])
    got = []
    for lib in (dg, torch):
        x, y = lib.tensor(xs, requires_grad=True), lib.tensor(ys, requires_grad=True)
        out = getattr(lib.nn.functional, loss)(x, y, reduction="none", **kwargs)
        grads = lib.autograd.grad(out.sum(), (x, y), create_graph=True)
        row = [gi.detach().numpy() for gi in grads]
        for gi in grads:
            row += [s.numpy() for s in lib.autograd.grad(gi.sum(), (x, y), retain_graph=True)]
        got.append(row)
    for ours, theirs in zip(*got):
        _same_bits(ours, theirs)


def _stacked(lib, kind, dim):
    if kind == "4d":
        a = lib.arange(120.0).reshape(2, 3, 4, 5).contiguous(memory_format=lib.channels_last)
    elif kind == "5d":
        a = lib.arange(240.0).reshape(2, 3, 4, 5, 2).contiguous(
            memory_format=lib.channels_last_3d)
    elif kind == "one_channel":
        a = lib.arange(40.0).reshape(2, 1, 4, 5).contiguous(memory_format=lib.channels_last)
    else:  # mixed with a row-major input: row-major
        a = lib.arange(120.0).reshape(2, 3, 4, 5).contiguous(memory_format=lib.channels_last)
        return lib.stack([a, a.contiguous()], dim)
    return lib.stack([a, a + 1, a.double()], dim)


@pytest.mark.parametrize("kind", ["4d", "5d", "one_channel", "mixed"])
def test_stack_channels_last_strides(kind):
    for dim in range(-6 if kind == "5d" else -5, 6 if kind == "5d" else 5):
        ours, theirs = _stacked(dg, kind, dim), _stacked(torch, kind, dim)
        assert ours.stride() == theirs.stride(), (dim, ours.stride(), theirs.stride())
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_stack_channels_last_gradient():
    got = []
    for lib in (dg, torch):
        a = lib.arange(120.0).reshape(2, 3, 4, 5).contiguous(memory_format=lib.channels_last)
        a.requires_grad_()
        r = lib.stack([a * 1, a * 2], 1)
        (r * lib.arange(float(r.numel())).reshape(r.shape)).sum().backward()
        got.append(a.grad.numpy())
    np.testing.assert_array_equal(*got)
