"""The fast paths of the CNN step against PyTorch: convolution with the bias inside the product
and the columns kept for the backward, fused training-mode BatchNorm2d/3d, and max pooling over
disjoint windows (masks per offset). Values, gradients, running statistics, ties, nans and
double backward must be PyTorch's."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

from conv_compare import close as _close  # noqa: E402
from conv_compare import modules as _modules  # noqa: E402

RNG = np.random.default_rng(0)


def _pair(array, grad=True):
    ours = dg.tensor(array, requires_grad=grad)
    theirs = torch.tensor(array, requires_grad=grad)
    return ours, theirs


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("bias,groups,x_grad", [(True, 1, False), (True, 1, True),
                                                (False, 1, True), (True, 2, True)])
def test_conv2d_values_and_gradients(dtype, tol, bias, groups, x_grad):
    def build(m):
        return m.nn.Conv2d(4, 6, 3, padding=1, bias=bias, groups=groups).to(
            dtype=getattr(m, np.dtype(dtype).name))
    ours, theirs = _modules(build)
    x, tx = _pair(RNG.standard_normal((3, 4, 7, 5)).astype(dtype), grad=x_grad)
    g = RNG.standard_normal((3, 6, 7, 5)).astype(dtype)
    y, ty = ours(x), theirs(tx)
    _close(y, ty, tol)
    y.backward(dg.tensor(g), retain_graph=True)
    ty.backward(torch.tensor(g), retain_graph=True)
    y.backward(dg.tensor(g))  # the kept columns serve a second backward too
    ty.backward(torch.tensor(g))
    for p, q in zip(ours.parameters(), theirs.parameters()):
        _close(p.grad, q.grad, tol * 10)
    if x_grad:
        _close(x.grad, tx.grad, tol * 10)


def test_conv2d_bias_only_and_double_backward():
    ours, theirs = _modules(lambda m: m.nn.Conv2d(2, 3, 3).double())
    ours.weight.requires_grad_(False)
    theirs.weight.requires_grad_(False)
    x, tx = _pair(RNG.standard_normal((2, 2, 5, 5)))
    (ours(x) ** 2).sum().backward()
    (theirs(tx) ** 2).sum().backward()
    _close(ours.bias.grad, theirs.bias.grad, 1e-10)
    ours.weight.requires_grad_(True)
    theirs.weight.requires_grad_(True)
    out, tout = (ours(x) ** 2).sum(), (theirs(tx) ** 2).sum()
    gw = dg.autograd.grad(out, ours.weight, create_graph=True)[0]
    tgw = torch.autograd.grad(tout, theirs.weight, create_graph=True)[0]
    _close(gw, tgw, 1e-10)
    gw.sum().backward()
    tgw.sum().backward()
    _close(ours.bias.grad, theirs.bias.grad, 1e-9)
    _close(x.grad, tx.grad, 1e-9)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_conv2d_nonfinite_input():
    ours, theirs = _modules(lambda m: m.nn.Conv2d(1, 2, 3, padding=1))
    a = RNG.standard_normal((1, 1, 4, 4)).astype(np.float32)
    a[0, 0, 1, 2] = np.inf
    x, tx = _pair(a, grad=False)
    ours(x).sum().backward()
    theirs(tx).sum().backward()
    _close(ours(x), theirs(tx), 1e-5)
    np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-4), (np.float64, 1e-10)])
@pytest.mark.parametrize("options", [{}, {"affine": False}, {"momentum": None},
                                     {"track_running_stats": False}])
def test_batch_norm_training(dims, dtype, tol, options):
    name = f"BatchNorm{dims}d"
    ours, theirs = _modules(lambda m: getattr(m.nn, name)(3, **options).to(
        dtype=getattr(m, np.dtype(dtype).name)))
    shape = (4, 3) + (5,) * dims
    for _ in range(2):  # two steps: the running statistics move twice
        a = (RNG.standard_normal(shape) * 3 + 2).astype(dtype)
        x, tx = _pair(a)
        y, ty = ours(x), theirs(tx)
        _close(y, ty, tol)
        g = RNG.standard_normal(shape).astype(dtype)
        y.backward(dg.tensor(g))
        ty.backward(torch.tensor(g))
        _close(x.grad, tx.grad, tol * 10)
        for p, q in zip(ours.parameters(), theirs.parameters()):
            _close(p.grad, q.grad, tol * 10)
        for key, value in theirs.state_dict().items():
            _close(ours.state_dict()[key], value, tol)
    ours.eval()
    theirs.eval()
    x, tx = _pair(RNG.standard_normal(shape).astype(dtype), grad=False)
    _close(ours(x), theirs(tx), tol)


def test_batch_norm_double_backward():
    ours, theirs = _modules(lambda m: m.nn.BatchNorm2d(2).double())
    x, tx = _pair(RNG.standard_normal((3, 2, 4, 4)))
    out, tout = (ours(x) ** 3).sum(), (theirs(tx) ** 3).sum()
    gx = dg.autograd.grad(out, x, create_graph=True)[0]
    tgx = torch.autograd.grad(tout, tx, create_graph=True)[0]
    _close(gx, tgx, 1e-9)
    (gx ** 2).sum().backward()
    (tgx ** 2).sum().backward()
    _close(x.grad, tx.grad, 1e-8)
    _close(ours.weight.grad, theirs.weight.grad, 1e-8)
    _close(ours.bias.grad, theirs.bias.grad, 1e-8)


def test_batch_norm_gradcheck():
    norm = dg.nn.BatchNorm2d(2).double()
    x = dg.tensor(RNG.standard_normal((3, 2, 3, 3)), requires_grad=True)
    assert dg.autograd.gradcheck(lambda t: norm(t), (x,))


@pytest.mark.parametrize("kwargs,size", [({"kernel_size": 2}, (6, 6)),
                                         ({"kernel_size": 2}, (7, 5)),
                                         ({"kernel_size": (2, 3), "stride": (3, 4)}, (8, 9)),
                                         ({"kernel_size": 3, "stride": 3}, (9, 9))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_max_pool_disjoint_windows(kwargs, size, dtype):
    a = RNG.integers(-3, 3, (2, 3) + size).astype(dtype)  # many ties: the first one wins
    grad = dtype != np.int64
    x, tx = _pair(a, grad=grad)
    y, i = dg.nn.functional.max_pool2d(x, return_indices=True, **kwargs)
    ty, ti = torch.nn.functional.max_pool2d(tx, return_indices=True, **kwargs)
    _close(y, ty, 0)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    if grad:
        g = RNG.standard_normal(tuple(ty.shape)).astype(dtype)
        g.flat[0] = np.inf
        g.flat[1] = np.nan
        y.backward(dg.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_pool_nan_and_double_backward():
    a = RNG.standard_normal((1, 2, 4, 4))
    a[0, 0, 1, 1] = np.nan
    x, tx = _pair(a)
    y, ty = dg.nn.functional.max_pool2d(x, 2), torch.nn.functional.max_pool2d(tx, 2)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    b = RNG.standard_normal((1, 2, 4, 4))
    x, tx = _pair(b)
    out, tout = (dg.nn.functional.max_pool2d(x, 2) ** 2).sum(), \
        (torch.nn.functional.max_pool2d(tx, 2) ** 2).sum()
    gx = dg.autograd.grad(out, x, create_graph=True)[0]
    tgx = torch.autograd.grad(tout, tx, create_graph=True)[0]
    _close(gx, tgx, 1e-12)
    (gx ** 3).sum().backward()
    (tgx ** 3).sum().backward()
    _close(x.grad, tx.grad, 1e-12)
