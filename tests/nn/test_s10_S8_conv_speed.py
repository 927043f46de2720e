"""S8's convolution fast paths against PyTorch: one output position (a window covering the whole
input: a DCGAN generator's first ConvTranspose2d from a 1x1 code, its discriminator's last
Conv2d) computed as one GEMM over the batch (``conv2d_kernels``: ``_grouped_matmul``, the
forward's columns product, ``_column_products`` and ``_input_grad``). Values, dtypes and first
gradients must be PyTorch's; the cases next to them (padding, groups, a window not covering the
input) take the general paths and must agree too. Also the batch-last columns
(``_columns_batch_last``, fewer output positions than examples) and their weight gradient."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

from conv_compare import close as _close  # noqa: E402
from conv_compare import modules as _modules  # noqa: E402

RNG = np.random.default_rng(8)


CASES = [  # (name, module args, input shape)
    ("ConvTranspose2d", dict(in_channels=6, out_channels=5, kernel_size=4, bias=False),
     (7, 6, 1, 1)),
    ("ConvTranspose2d", dict(in_channels=6, out_channels=5, kernel_size=(2, 3)), (7, 6, 1, 1)),
    ("Conv2d", dict(in_channels=5, out_channels=1, kernel_size=4, bias=False), (7, 5, 4, 4)),
    ("Conv2d", dict(in_channels=5, out_channels=3, kernel_size=(4, 2)), (7, 5, 4, 2)),
    ("Conv2d", dict(in_channels=5, out_channels=3, kernel_size=4, stride=3), (7, 5, 4, 4)),
    ("Conv1d", dict(in_channels=3, out_channels=4, kernel_size=5), (6, 3, 5)),
    ("ConvTranspose1d", dict(in_channels=3, out_channels=4, kernel_size=5), (6, 3, 1)),
    ("Conv3d", dict(in_channels=2, out_channels=3, kernel_size=2), (4, 2, 2, 2, 2)),
    ("Conv2d", dict(in_channels=1, out_channels=2, kernel_size=3), (9, 1, 3, 3)),
    ("Conv2d", dict(in_channels=2, out_channels=3, kernel_size=3), (1, 2, 3, 3)),
    # general paths beside them: padding, groups, dilation, more than one position
    ("Conv2d", dict(in_channels=4, out_channels=4, kernel_size=3, groups=2), (5, 4, 3, 3)),
    ("Conv2d", dict(in_channels=3, out_channels=2, kernel_size=3, padding=1), (5, 3, 1, 1)),
    ("Conv2d", dict(in_channels=3, out_channels=2, kernel_size=2, dilation=2), (5, 3, 3, 3)),
    ("ConvTranspose2d", dict(in_channels=4, out_channels=2, kernel_size=3, groups=2),
     (5, 4, 1, 1)),
    ("ConvTranspose2d", dict(in_channels=4, out_channels=2, kernel_size=3, padding=1),
     (5, 4, 1, 1)),
    ("Conv2d", dict(in_channels=3, out_channels=2, kernel_size=3), (5, 3, 4, 3)),
    # batch-last columns (groups 1, fewer output positions than examples): bias or not,
    # padding, stride, dilation, 3-d (Conv1d has its own Function: the usual columns)
    ("Conv2d", dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1),
     (9, 3, 4, 4)),
    ("Conv2d", dict(in_channels=3, out_channels=4, kernel_size=4, stride=2, padding=1,
                    bias=False), (9, 3, 5, 4)),
    ("Conv2d", dict(in_channels=2, out_channels=3, kernel_size=2, dilation=2), (10, 2, 5, 5)),
    ("Conv2d", dict(in_channels=2, out_channels=3, kernel_size=(1, 2), stride=(1, 2),
                    padding=(0, 1)), (10, 2, 2, 3)),
    ("Conv1d", dict(in_channels=2, out_channels=3, kernel_size=3, stride=2), (8, 2, 7)),
    ("Conv3d", dict(in_channels=2, out_channels=2, kernel_size=2, stride=2, padding=1),
     (9, 2, 2, 3, 2)),
    # a transposed convolution's backward: its gradient's columns batch-last, groups too
    ("ConvTranspose2d", dict(in_channels=4, out_channels=3, kernel_size=4, stride=2, padding=1),
     (9, 4, 2, 2)),
    ("ConvTranspose2d", dict(in_channels=4, out_channels=4, kernel_size=3, stride=2, groups=2),
     (9, 4, 2, 2)),
    ("ConvTranspose3d", dict(in_channels=2, out_channels=3, kernel_size=2, stride=2),
     (9, 2, 1, 2, 2)),
]


@pytest.mark.parametrize("dtype,tol", [(np.float32, 3e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("name,kwargs,shape", CASES)
def test_one_position_matches_torch(dtype, tol, name, kwargs, shape):
    def build(m):
        return getattr(m.nn, name)(**kwargs).to(dtype=getattr(m, np.dtype(dtype).name))
    ours, theirs = _modules(build)
    array = RNG.standard_normal(shape).astype(dtype)
    x = dg.tensor(array, requires_grad=True)
    tx = torch.tensor(array, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    _close(y, ty, tol)
    g = RNG.standard_normal(tuple(ty.shape)).astype(dtype)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    _close(x.grad, tx.grad, tol)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        _close(p.grad, q.grad, tol)


def test_one_position_double_backward():
    """create_graph through the one-position layer: the recorded backward (not the fast
    kernels) gives PyTorch's second derivative."""
    def build(m):
        return m.nn.ConvTranspose2d(3, 2, 2).to(dtype=m.float64)
    ours, theirs = _modules(build)
    array = RNG.standard_normal((4, 3, 1, 1))
    results = []
    for m, layer in ((dg, ours), (torch, theirs)):
        x = m.tensor(array, requires_grad=True)
        (gx,) = m.autograd.grad((layer(x) ** 2).sum(), x, create_graph=True)
        (ggx,) = m.autograd.grad((gx ** 2).sum(), x)
        results.append(ggx.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10, atol=1e-10)
