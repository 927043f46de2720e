"""S7's convolution fast paths against PyTorch: the input gradient of a strided convolution
(and so a strided transposed convolution's forward) computed with the batch as the last dim
(``conv2d_kernels._col2im_batch_last``, taken when the batch is longer than an output row).
Values and gradients (first and second order) must be PyTorch's; the old col2im path must
give the same bits."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import conv2d_kernels

torch = pytest.importorskip("torch")

from conv_compare import close as _close  # noqa: E402
from conv_compare import modules as _modules  # noqa: E402

RNG = np.random.default_rng(7)


CASES = [  # (dims, module args, input shape)
    (2, dict(in_channels=4, out_channels=3, kernel_size=4, stride=2, padding=1), (9, 4, 4, 5)),
    (2, dict(in_channels=3, out_channels=2, kernel_size=3, stride=(2, 1), padding=(0, 2),
             dilation=(1, 2)), (6, 3, 3, 3)),
    (1, dict(in_channels=2, out_channels=3, kernel_size=3, stride=3), (5, 2, 4)),
    # (Conv1d's own Function: its create_graph backward used to give constants)
    (1, dict(in_channels=4, out_channels=2, kernel_size=2, padding=1, dilation=2, groups=2),
     (3, 4, 5)),
    (3, dict(in_channels=2, out_channels=2, kernel_size=2, stride=2, padding=1), (4, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("dtype,tol", [(np.float32, 3e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("dims,kwargs,shape", CASES)
@pytest.mark.parametrize("transposed", [False, True])
def test_strided_input_gradient_batch_last(dtype, tol, dims, kwargs, shape, transposed):
    name = f"ConvTranspose{dims}d" if transposed else f"Conv{dims}d"

    def build(m):
        return getattr(m.nn, name)(**kwargs).to(dtype=getattr(m, np.dtype(dtype).name))
    ours, theirs = _modules(build)
    array = RNG.standard_normal(shape).astype(dtype)
    x = dg.tensor(array, requires_grad=True)
    tx = torch.tensor(array, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    _close(y, ty, tol)
    g = RNG.standard_normal(tuple(ty.shape)).astype(dtype)
    (gx,) = dg.autograd.grad(y, x, dg.tensor(g), create_graph=True)
    (tgx,) = torch.autograd.grad(ty, tx, torch.tensor(g), create_graph=True)
    _close(gx, tgx, tol)
    # Second order: the weight's gradient through the input gradient.
    (gw,) = dg.autograd.grad((gx * gx).sum(), ours.weight)
    (tgw,) = torch.autograd.grad((tgx * tgx).sum(), theirs.weight)
    _close(gw, tgw, tol * 10)
    # First-order backward (the NumPy kernels) as well.
    x.grad = None
    ours(x).backward(dg.tensor(g))
    tx.grad = None
    theirs(tx).backward(torch.tensor(g))
    _close(x.grad, tx.grad, tol)


def test_batch_last_gives_the_col2im_bits():
    """The batch-last path against the per-example col2im it replaces (same sums, same order).

    The columns' product is one GEMM [C K, O] @ [O, P N] on the batch-last path and a GEMM per
    example [C K, O] @ [O, P] on the old one; BLAS need not give those the same bits (under
    OpenBLAS's Haswell kernels they differ in the last bit), and the engine promises no such
    thing. So the old col2im is fed the batch-last GEMM's own columns, and its placement and
    order of additions must give the bits exactly; the per-example GEMM's columns are checked
    within float32 rounding."""
    from deltagrad._engine import threads
    g = RNG.standard_normal((32, 8, 4, 4)).astype(np.float32)
    w = RNG.standard_normal((8, 5, 4, 4)).astype(np.float32)
    args = ((8, 8), (2, 2), (1, 1), ((1, 1), (1, 1)))
    fast = conv2d_kernels._col2im_batch_last(g, w, *args)
    assert fast.flags.c_contiguous
    g_last = np.ascontiguousarray(g.reshape(32, 8, 16).transpose(1, 2, 0))  # [O, P, N]
    d = threads.matmul_serial(w.reshape(8, -1).T, g_last.reshape(8, 16 * 32),
                              np.empty((5 * 16, 16 * 32), np.float32))
    same_columns = np.ascontiguousarray(d.reshape(5 * 16, 16, 32).transpose(2, 0, 1))
    slow = conv2d_kernels._col2im(same_columns, (8, 8), (4, 4), (2, 2), (1, 1),
                                  ((1, 1), (1, 1)), (4, 4))
    np.testing.assert_array_equal(fast, slow)
    d_cols = np.matmul(w.reshape(8, -1).T, g.reshape(32, 8, 16))
    per_example = conv2d_kernels._col2im(d_cols, (8, 8), (4, 4), (2, 2), (1, 1),
                                         ((1, 1), (1, 1)), (4, 4))
    np.testing.assert_allclose(fast, per_example, rtol=1e-5, atol=1e-5)
