"""Session 6: torch.special's xlog1py, zeta, Bessel J / Y / K, spherical j0, Airy Ai and the
orthogonal polynomials, against PyTorch (values, dtypes, edges, gradients or their absence)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import special_extra

torch = pytest.importorskip("torch")

EDGES = [0.0, -0.0, 1e-300, -1.0, -7.5, np.inf, -np.inf, np.nan, 1e300]
GRID = np.concatenate([np.linspace(-40.0, 60.0, 2001), np.geomspace(1e-6, 1e4, 300), EDGES])

# name -> (absolute tolerance against PyTorch in float64, relative tolerance)
UNARY = {
    # PyTorch 2.13's float64 J / Y are off by up to 8e-7 absolute just past 5 (SciPy agrees
    # with ours to 2e-15 there: test_bessel_against_scipy), and its Ai by ~3e-6 near -8.
    "bessel_j0": (1e-6, 1e-12), "bessel_j1": (1e-6, 1e-12), "bessel_y0": (1e-6, 1e-12),
    "bessel_y1": (1e-6, 1e-12), "airy_ai": (5e-6, 1e-10),
    "modified_bessel_i0": (0.0, 1e-13), "modified_bessel_i1": (0.0, 1e-13),
    "modified_bessel_k0": (0.0, 1e-13), "modified_bessel_k1": (0.0, 1e-13),
    "scaled_modified_bessel_k0": (0.0, 1e-13), "scaled_modified_bessel_k1": (0.0, 1e-13),
    "spherical_bessel_j0": (0.0, 1e-14),
}


def _compare(ours, theirs, rtol, atol):
    assert ours.dtype == getattr(dg, str(theirs.dtype).split(".")[-1])
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float64_against_torch(name):
    atol, rtol = UNARY[name]
    if name.startswith("modified_bessel_i"):
        grid = GRID[np.abs(GRID) < 700]  # (beyond, both overflow to inf)
    else:
        grid = GRID
    ours = getattr(dg.special, name)(dg.tensor(grid))
    theirs = getattr(torch.special, name)(torch.tensor(grid))
    _compare(ours, theirs, rtol, atol)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32_int_and_no_grad(name):
    x = np.linspace(-9.0, 12.0, 85).astype(np.float32).reshape(5, 17).T  # (non-contiguous)
    ours_in = dg.tensor(x, requires_grad=True)
    ours = getattr(dg.special, name)(ours_in)
    theirs = getattr(torch.special, name)(torch.tensor(x, requires_grad=True))
    _compare(ours.detach(), theirs.detach(), rtol=2e-5, atol=2e-5 + UNARY[name][0])
    assert ours.requires_grad is False and ours.grad_fn is None
    assert theirs.requires_grad is False
    with pytest.raises(RuntimeError):  # (PyTorch: "element 0 of tensors does not require grad")
        ours.sum().backward()
    ints = getattr(dg.special, name)(dg.tensor([0, 1, 3]))
    _compare(ints, getattr(torch.special, name)(torch.tensor([0, 1, 3])), rtol=1e-6, atol=1e-6)
    with pytest.raises(NotImplementedError):
        getattr(dg.special, name)(dg.tensor([1.0], dtype=dg.float16))
    with pytest.raises(TypeError):
        getattr(dg.special, name)(1.0)
    scalar = getattr(dg.special, name)(dg.tensor(0.75))
    assert scalar.shape == () and scalar.dtype == dg.float32
    empty = getattr(dg.special, name)(dg.zeros(0, 3))
    assert tuple(empty.shape) == (0, 3)


def test_bessel_against_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(1e-3, 60.0, 4001), [200.0, 1e4]])
    for name, reference in (("bessel_j0", special.j0), ("bessel_j1", special.j1),
                            ("bessel_y0", special.y0), ("bessel_y1", special.y1)):
        np.testing.assert_allclose(getattr(dg.special, name)(dg.tensor(x)).numpy(),
                                   reference(x), rtol=1e-12, atol=2e-15)
    z = np.linspace(-30.0, 30.0, 3001)
    np.testing.assert_allclose(dg.special.airy_ai(dg.tensor(z)).numpy(), special.airy(z)[0],
                               rtol=1e-9, atol=1e-10)


POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
               "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
               "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
               "laguerre_polynomial_l", "legendre_polynomial_p"]


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_against_torch(name):
    x = np.concatenate([np.linspace(-3.0, 3.0, 61), [0.0, 1.0, -1.0, 0.25, 0.75, np.inf,
                                                     -np.inf]])
    n = np.arange(-1, 14)
    grid_x, grid_n = np.meshgrid(x, n)
    ours = getattr(dg.special, name)(dg.tensor(grid_x), dg.tensor(grid_n))
    theirs = getattr(torch.special, name)(torch.tensor(grid_x), torch.tensor(grid_n))
    _compare(ours, theirs, rtol=1e-10, atol=1e-11)
    # number x or number n; float n truncates; float32 and int promotion; no gradient
    x32 = dg.tensor(x[:20].astype(np.float32), requires_grad=True)
    ours = getattr(dg.special, name)(x32, 3)
    theirs = getattr(torch.special, name)(torch.tensor(x[:20].astype(np.float32)), 3)
    _compare(ours, theirs, rtol=1e-5, atol=1e-5)
    assert not ours.requires_grad
    _compare(getattr(dg.special, name)(0.3, dg.tensor([0, 2, 5])),
             getattr(torch.special, name)(0.3, torch.tensor([0, 2, 5])), rtol=1e-6, atol=1e-6)
    _compare(getattr(dg.special, name)(dg.tensor([0.3]), dg.tensor([2.7], dtype=dg.float64)),
             getattr(torch.special, name)(torch.tensor([0.3]), torch.tensor([2.7],
                                          dtype=torch.float64)), rtol=1e-6, atol=1e-7)
    with pytest.raises(TypeError):
        getattr(dg.special, name)(0.3, 2)


def _pair(array, grad=True):
    return dg.tensor(array, requires_grad=grad), torch.tensor(array, requires_grad=grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_xlog1py_values_and_gradients(dtype):
    x = np.array([[0.0, 1.5, -2.0, 0.0, 3.0, 0.0]], dtype)
    y = np.array([[np.nan], [-1.0], [0.5], [2.0]], dtype)
    ours_x, theirs_x = _pair(x)
    ours_y, theirs_y = _pair(y)
    ours, theirs = dg.special.xlog1py(ours_x, ours_y), torch.special.xlog1py(theirs_x, theirs_y)
    _compare(ours.detach(), theirs.detach(), rtol=1e-6, atol=0)
    weights = np.arange(24, dtype=dtype).reshape(4, 6)
    (ours * dg.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    _compare(ours_x.grad, theirs_x.grad, rtol=1e-6, atol=0)
    _compare(ours_y.grad, theirs_y.grad, rtol=1e-6, atol=0)
    _compare(dg.special.xlog1py(2, dg.tensor([1.0, 0.0])),
             torch.special.xlog1py(2, torch.tensor([1.0, 0.0])), 1e-7, 0)
    _compare(dg.special.xlog1py(dg.tensor([0, 2]), 3), torch.special.xlog1py(
        torch.tensor([0, 2]), 3), 1e-7, 0)


@pytest.mark.parametrize("use_scipy", [True, False])
def test_zeta_values_edges_and_gradient(use_scipy, monkeypatch):
    monkeypatch.setattr(special_extra, "USE_SCIPY", use_scipy)
    rng = np.random.default_rng(0)
    s = np.concatenate([rng.uniform(1.0, 30.0, 300),
                        [2, 1, 0.5, 3, 3, 2.5, np.inf, 2, 2, -np.inf, np.nan, 2, 4, 4, 60, 2]])
    q = np.concatenate([rng.uniform(-20.0, 40.0, 300),
                        [1, 1, 1, -2, -2.5, -2.5, 2, np.inf, -np.inf, 1, 1, np.nan, -3.5, 0,
                         0.5, 1e9]])
    ours = dg.special.zeta(dg.tensor(s), dg.tensor(q))
    theirs = torch.special.zeta(torch.tensor(s), torch.tensor(q))
    _compare(ours, theirs, rtol=1e-12, atol=0)
    s32, q32 = s[:50].astype(np.float32), np.abs(q[:50]).astype(np.float32) + 0.1
    _compare(dg.special.zeta(dg.tensor(s32), dg.tensor(q32)),
             torch.special.zeta(torch.tensor(s32), torch.tensor(q32)), rtol=2e-5, atol=0)
    # the gradient in q; none in s (NotImplementedError at backward, as PyTorch)
    ours_q, theirs_q = _pair(np.array([0.5, 1.0, 2.5]))
    ours = dg.special.zeta(dg.tensor([2.0, 3.0, 4.5]), ours_q)
    theirs = torch.special.zeta(torch.tensor([2.0, 3.0, 4.5], dtype=torch.float64), theirs_q)
    ours.sum().backward()
    theirs.sum().backward()
    _compare(ours_q.grad, theirs_q.grad, rtol=1e-12, atol=0)
    ours_s = dg.tensor([2.0], requires_grad=True)
    with pytest.raises(NotImplementedError, match="zeta"):
        dg.special.zeta(ours_s, 1.0).sum().backward()
    _compare(dg.special.zeta(2.0, dg.tensor([1.0])), torch.special.zeta(2.0, torch.tensor([1.0])),
             1e-7, 0)
