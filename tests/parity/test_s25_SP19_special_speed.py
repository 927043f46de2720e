"""Session 25 (SP19): torch.special's Bessel J / Y / K, Airy Ai and spherical j0 through SciPy's
ufuncs where installed (the NumPy kernels otherwise), spherical j0 as sin(x) / x, and zeta's
NumPy kernel only on non-finite or huge-q pairs: the values of both paths against PyTorch,
edges included (and where the SciPy path is closer to PyTorch than the kernels)."""

import sys

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import special_bessel, special_extra

torch = pytest.importorskip("torch")

EDGES = [0.0, -0.0, 5e-324, -5e-324, 1e-310, 1e-300, -1.0, -7.5, np.inf, -np.inf, np.nan,
         1e300, -1e300, 700.0, 710.0, 1e7, -1e7, 2e6, -2e6, 9e5, -9e5]
_RNG = np.random.default_rng(25)
GRID = np.concatenate([np.linspace(-40.0, 60.0, 1001), np.geomspace(1e-6, 1e4, 120),
                       -np.geomspace(1e-6, 1e4, 40), _RNG.uniform(-9.0, 9.0, 200), EDGES])

# name -> (absolute, relative) tolerance against PyTorch in float64 (tests/test_s6_special.py's:
# PyTorch's J / Y are off by up to 8e-7 just past 5, its Ai by ~3e-6 near -8)
UNARY = {
    "bessel_j0": (1e-6, 1e-12), "bessel_j1": (1e-6, 1e-12), "bessel_y0": (1e-6, 1e-12),
    "bessel_y1": (1e-6, 1e-12), "airy_ai": (5e-6, 1e-10),
    "modified_bessel_k0": (0.0, 1e-13), "modified_bessel_k1": (0.0, 1e-13),
    "scaled_modified_bessel_k0": (0.0, 1e-13), "scaled_modified_bessel_k1": (0.0, 1e-13),
    "spherical_bessel_j0": (0.0, 1e-14),
}


@pytest.fixture(params=["scipy", "numpy"])
def path(request, monkeypatch):
    if request.param == "scipy":
        pytest.importorskip("scipy")
    monkeypatch.setattr(special_bessel, "USE_SCIPY", request.param == "scipy")
    monkeypatch.setattr(special_extra, "USE_SCIPY", request.param == "scipy")
    return request.param


def _compare(ours, theirs, rtol, atol):
    assert ours.dtype == getattr(dg, str(theirs.dtype).split(".")[-1])
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_both_paths_against_torch(name, path):
    atol, rtol = UNARY[name]
    _compare(getattr(dg.special, name)(dg.tensor(GRID)),
             getattr(torch.special, name)(torch.tensor(GRID)), rtol, atol)
    # float32 (OpInfo's dtype; PyTorch computes it in float32, we in float64 rounded once),
    # 0-d, non-contiguous, and the no-gradient result
    x = _RNG.uniform(-9.0, 9.0, (4, 5)).astype(np.float32).T
    ours = getattr(dg.special, name)(dg.tensor(x, requires_grad=True))
    _compare(ours, getattr(torch.special, name)(torch.tensor(x)), 2e-5, 2e-5 + atol)
    assert ours.requires_grad is False
    zero_d = getattr(dg.special, name)(dg.tensor(np.float32(0.75)))
    _compare(zero_d, getattr(torch.special, name)(torch.tensor(np.float32(0.75))), 2e-6, 1e-7)
    ints = getattr(dg.special, name)(dg.tensor([0, 1, 3]))
    _compare(ints, getattr(torch.special, name)(torch.tensor([0, 1, 3])), 1e-6, 1e-6)


def test_scipy_path_edges_are_pytorch_s():
    """Where SciPy's value is PyTorch's and the NumPy kernels' is not (so the path taken is
    SciPy's): Y1 at a subnormal is -inf (the kernel's series gives -1.8e308), Ai at 104 is 0
    (PyTorch's and SciPy's underflow; the kernel's 7.4e-309); Ai beyond |x| = 1e6, where
    SciPy's is nan, comes from the kernel (PyTorch's is a value there)."""
    pytest.importorskip("scipy")
    tiny = np.array([3.56315576220544e-309])
    assert dg.special.bessel_y1(dg.tensor(tiny)).item() == -np.inf
    assert torch.special.bessel_y1(torch.tensor(tiny)).item() == -np.inf
    assert dg.special.airy_ai(dg.tensor([104.0])).item() == 0.0
    assert torch.special.airy_ai(torch.tensor([104.0])).item() == 0.0
    far = np.array([-2e6, -1e7, 2e6, np.nan, np.inf, -np.inf, -5.0])
    ours = dg.special.airy_ai(dg.tensor(far)).numpy()
    theirs = torch.special.airy_ai(torch.tensor(far)).numpy()
    assert np.isfinite(ours[:3]).all()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    far32 = dg.special.airy_ai(dg.tensor(far.astype(np.float32)))
    assert far32.dtype == dg.float32
    np.testing.assert_allclose(far32.numpy(), theirs.astype(np.float32), rtol=1e-5, atol=1e-7)


def test_spherical_bessel_j0_near_zero_to_two_ulp():
    # sin(x) / x without the Taylor series: within 2 ulp of the exact value near 0 (math's
    # sin is correctly rounded to < 1 ulp there; the series to x^14 as the reference)
    x = np.concatenate([np.geomspace(1e-320, 0.5, 400), -np.geomspace(1e-8, 0.5, 50)])
    got = dg.special.spherical_bessel_j0(dg.tensor(x)).numpy()
    x2 = x * x
    want = 1.0 + x2 * (-1 / 6 + x2 * (1 / 120 + x2 * (-1 / 5040 + x2 * (
        1 / 362880 + x2 * (-1 / 39916800 + x2 * (1 / 6227020800 - x2 / 1307674368000))))))
    assert np.max(np.abs(got - want) / want) <= 2 * np.finfo(np.float64).eps
    edges = dg.special.spherical_bessel_j0(dg.tensor([0.0, -0.0, np.inf, -np.inf, np.nan]))
    np.testing.assert_array_equal(edges.numpy(), [1.0, 1.0, 0.0, 0.0, np.nan])


def test_zeta_grid_both_paths_against_torch(path):
    # x <= 1, poles (integer q <= 0), negative q with integer and non-integer x, huge q
    # (PyTorch's sum underflows to 0 there; SciPy's does not: the NumPy kernel's values),
    # infinities and nan: all pairs of these
    values = np.concatenate([_RNG.uniform(-9.0, 9.0, 30), np.arange(-4.0, 5.0),
                             [0.5, -0.5, -0.0, 1.5, 2.0, 1e5, 3e7, 1e300, np.inf, -np.inf,
                              np.nan]])
    s, q = np.meshgrid(values, values)
    ours = dg.special.zeta(dg.tensor(s), dg.tensor(q))
    theirs = torch.special.zeta(torch.tensor(s), torch.tensor(q))
    _compare(ours, theirs, rtol=1e-12, atol=0)
    with np.errstate(over="ignore"):  # (1e300 is inf in float32)
        s32, q32 = s[:, :20].astype(np.float32), q[:, :20].astype(np.float32)
    # (atol: PyTorch's float32 sums round differently in the subnormal range, 2.79e-41)
    _compare(dg.special.zeta(dg.tensor(s32), dg.tensor(q32)),
             torch.special.zeta(torch.tensor(s32), torch.tensor(q32)), rtol=2e-5, atol=1e-38)
    # 0-d and the gradient in q (d/dq zeta(s, q) = -s zeta(s + 1, q))
    ours_q = dg.tensor([0.5, 2.5, -1.5], dtype=dg.float64, requires_grad=True)
    theirs_q = torch.tensor([0.5, 2.5, -1.5], dtype=torch.float64, requires_grad=True)
    dg.special.zeta(dg.tensor([3.0, 2.5, 4.0], dtype=dg.float64), ours_q).sum().backward()
    torch.special.zeta(torch.tensor([3.0, 2.5, 4.0], dtype=torch.float64),
                       theirs_q).sum().backward()
    _compare(ours_q.grad, theirs_q.grad, rtol=1e-12, atol=0)


POLYNOMIALS = [name for name in dg.special.__all__ if "polynomial" in name]


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_degree_rules_against_torch(name):
    """One negative degree gives zeros without the recurrence (nan x included: PyTorch's
    first rule); float degree tensors are truncated, nan / inf / beyond int64 count as
    negative; per-element degrees, closed forms (n > 8) and |x| = 1 edges as PyTorch's."""
    x = np.float32([0.3, -0.7, 2.0, 0.5, 1.0, -1.0, 0.0, -2.5])
    f, g = getattr(dg.special, name), getattr(torch.special, name)
    for n in (-1.77, -3.0, 0.0, 1.9, 3.6116, 12.0):
        for xs in (x, np.float32(np.nan), np.float32(-8.4784)):
            ours, theirs = f(dg.tensor(xs), dg.tensor(np.float32(n))), g(
                torch.tensor(xs), torch.tensor(np.float32(n)))
            if n < 0 or not np.isnan(xs).any():  # (PyTorch's nan x with n >= 2: garbage)
                # (float32 closed forms at n > 8 round differently from PyTorch's: 1.6e-5)
                _compare(ours, theirs, rtol=5e-5, atol=1e-6)
    degrees = np.float32([np.nan, np.inf, -np.inf, 3.7, -2.5, 1e19, 2.0, 9.5])
    for dtype in ("float32", "float64"):
        ours = f(dg.tensor(x.reshape(-1, 1)), dg.tensor(degrees.astype(dtype)))
        theirs = g(torch.tensor(x.reshape(-1, 1)), torch.tensor(degrees.astype(dtype)))
        _compare(ours, theirs, rtol=5e-5, atol=1e-5)


def test_without_scipy_the_kernels_serve(monkeypatch):
    # An installed but unimportable SciPy: the switch stays on, the NumPy kernels answer.
    monkeypatch.setitem(sys.modules, "scipy", None)
    assert special_bessel.USE_SCIPY and special_bessel._scipy_special() is None
    x = np.array([0.5, 3.0, 7.5, 30.0, -2.0])
    for name in ("bessel_j0", "bessel_y1", "modified_bessel_k1", "airy_ai"):
        _compare(getattr(dg.special, name)(dg.tensor(x)),
                 getattr(torch.special, name)(torch.tensor(x)), 1e-10, UNARY[name][0])
