"""Parity of the ops made faster in session 8 (W3): angle, polar, the real <-> complex cast's
gradient, xlog1py, zeta, binary_cross_entropy, the FFTs' c2r rule, as_strided's cached
geometry checks and sparse_mm's lazy CSR parts: values, gradients and errors as PyTorch's,
on the fast paths and on the cases that leave them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(8_3)


def _complex(m, x, y):
    return m.complex(x, y)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_angle_gradient_through_complex(shape, dtype):
    x = RNG.standard_normal(shape).astype(dtype)
    y = RNG.standard_normal(shape).astype(dtype)
    if shape:
        x.flat[0] = y.flat[0] = 0.0  # z = 0: gradient 0, as PyTorch's
    check(lambda m, a, b: m.angle(_complex(m, a, b)), Arg(x), Arg(y))


def test_angle_zero_d_result_is_a_tensor_of_an_array():
    out = dg.angle(dg.tensor(0.5).to(dg.complex64))
    assert out.shape == () and out.dtype == dg.float32
    assert isinstance(out.detach().numpy(), np.ndarray)
    assert out.data.shape == ()  # (a NumPy scalar failed here: no weak reference)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_cast_to_complex_backward_takes_the_real_part_silently(shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    check(lambda m, a: m.angle(a.to(m.complex64)) + (a.to(m.complex64) * 2).imag, Arg(x))
    t = dg.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning from the cast's rule
        dg.angle(t.to(dg.complex64) * (1 + 2j)).sum().backward()
    assert t.grad.dtype == dg.float32


@pytest.mark.parametrize("shapes", [((), ()), ((4,), (4,)), ((3, 4), (4,)), ((3, 1), (1, 4))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_polar(shapes, dtype):
    r = RNG.uniform(0.2, 2.0, shapes[0]).astype(dtype)
    theta = RNG.uniform(-3.0, 3.0, shapes[1]).astype(dtype)
    check(lambda m, a, b: m.polar(a, b), Arg(r), Arg(theta))


def test_polar_dtypes_and_errors():
    check(lambda m, a, b: m.polar(a, b), Arg(np.float64(1.5)), Arg(np.float64(0.3)))
    check(lambda m, a, b: m.polar(a, b), Arg(np.ones(3, np.float32)),
          Arg(np.ones(3, np.float64)))  # mixed dtypes: PyTorch raises


@pytest.mark.parametrize("shapes", [((), ()), ((8,), (8,)), ((8, 8), (8,)), ((3,), ())])
def test_xlog1py_fast_and_masked_paths(shapes):
    x = RNG.uniform(-2.0, 2.0, shapes[0]).astype(np.float32)
    y = RNG.uniform(-0.8, 2.0, shapes[1]).astype(np.float32)
    check(lambda m, a, b: m.special.xlog1py(a, b), Arg(x), Arg(y))  # no zeros: fast path


def test_xlog1py_zeros_nans_and_poles():
    x = np.array([0.0, 0.0, 0.0, 1.5, -2.0, 0.0, 2.0], np.float64)
    y = np.array([-1.0, -3.0, np.nan, -1.0, 0.5, 0.7, np.inf], np.float64)
    check(lambda m, a, b: m.special.xlog1py(a, b), Arg(x), Arg(y), rtol=1e-12, atol=0)
    # g = 0 on some elements (a product with a mask upstream), y <= -1 there
    mask = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    check(lambda m, a, b, w: (m.special.xlog1py(a, b) * w).sum(), Arg(x), Arg(y[[1, 1, 2, 3,
          4, 5, 4]]), Arg(mask, False))
    check(lambda m, a, b: m.special.xlog1py(a, b), Arg(np.array([0, 2, 3])),
          Arg(np.array([1, 0, 2])), grad=False)  # integers: float result


@pytest.mark.parametrize("case", ["regular", "edges", "broadcast", "many"])
def test_zeta(case):
    if case == "regular":
        s, q = np.array(2.0), np.array(1.5)
    elif case == "edges":  # s <= 1, q <= 0, infinities, nan: PyTorch's values
        s = np.array([1.0, 0.5, 2.0, 3.0, np.inf, 2.0, np.nan, 2.0])
        q = np.array([1.0, 2.0, -1.0, 0.0, 2.0, np.inf, 1.0, -1.5])
    elif case == "broadcast":
        s, q = np.array([[2.0], [4.0]]), RNG.uniform(0.5, 4.0, (3,))
    else:  # more than 8 values: the checks by ufuncs
        s, q = RNG.uniform(1.5, 6.0, (4, 5)), RNG.uniform(0.5, 4.0, (4, 5))
        q[2, 3] = -0.5
    for dtype in (np.float32, np.float64):
        check(lambda m, a, b: m.special.zeta(a, b), Arg(s.astype(dtype), False),
              Arg(q.astype(dtype)), rtol=1e-5 if dtype == np.float32 else 1e-10, atol=0)


def test_zeta_gradient_in_s_raises():
    for m in (dg, torch):
        s = m.tensor([2.0, 3.0], requires_grad=True)
        out = m.special.zeta(s, m.tensor([1.5, 2.0]))
        with pytest.raises(NotImplementedError):
            out.sum().backward()


@pytest.mark.parametrize("shape", [(), (8,), (3, 4)])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_binary_cross_entropy(shape, reduction):
    x = RNG.uniform(0.05, 0.95, shape).astype(np.float32)
    y = RNG.uniform(0.0, 1.0, shape).astype(np.float32)
    if shape:
        x.flat[0] = 0.0  # log 0 clamped at -100; the target's gradient is -inf there
        x.flat[-1] = 1.0
    check(lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b, reduction=reduction),
          Arg(x), Arg(y))
    check(lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b, reduction=reduction),
          Arg(x.astype(np.float64)), Arg(y.astype(np.float64)))


@pytest.mark.parametrize("n,last", [(5, 8), (5, 9), (3, 4), (4, 1)])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_fft_c2r_gradient_weights(n, last, dtype):
    # The rule's doubled-entry weights are cached per size, dtype and dim: several in a row.
    z = (RNG.standard_normal((2, n)) + 1j * RNG.standard_normal((2, n))).astype(dtype)
    for dim in ([1], [0, 1]):
        check(lambda m, a, d=dim: m.fft.irfftn(a, s=None if len(d) == 2 else [last], dim=d),
              Arg(z), rtol=1e-4, atol=1e-5)
        check(lambda m, a: m.fft.irfft(a, n=last, dim=-1, norm="ortho"), Arg(z),
              rtol=1e-4, atol=1e-5)


def test_as_strided_geometry_cache_keeps_checks():
    x = RNG.standard_normal(6).astype(np.float32)
    for _ in range(2):  # the second call of each geometry comes from the cache
        check(lambda m, a: m.as_strided(a, (2, 2), (3, 1), 1), Arg(x))
        check(lambda m, a: m.as_strided(a, (3, 3), (1, 1), 0), Arg(x[:5]))
        check(lambda m, a: m.as_strided(a, (2, 2), (3, 1), 3), Arg(x))  # out of bounds
        check(lambda m, a: m.as_strided(a, (2, 2), (3, 1), -1), Arg(x))
        check(lambda m, a: m.as_strided(a, (2, 2), (3, -1), 1), Arg(x))
    # the same geometry over a storage too small for it still raises
    check(lambda m, a: m.as_strided(a, (2, 2), (3, 1), 1), Arg(x[:4]))
    # a transposed input (its own strides) and an expanded one (shared positions)
    a = RNG.standard_normal((3, 4)).astype(np.float64)
    check(lambda m, t: m.as_strided(t.t(), (4, 2), (1, 4), 2), Arg(a))
    check(lambda m, t: m.as_strided(t.expand(3, 4), (2, 2), (1, 1), 0) * 1.0,
          Arg(a[0]))


def test_as_strided_view_is_read_only_when_elements_repeat():
    x = dg.arange(5.0)
    assert not dg.as_strided(x, (3, 3), (1, 1)).detach().numpy().flags.writeable
    assert dg.as_strided(x, (2, 2), (2, 1)).detach().numpy().flags.writeable


@pytest.mark.parametrize("use_scipy", [True, False])
def test_sparse_mm_lazy_csr(use_scipy, monkeypatch):
    from deltagrad._engine.ops import sparse_ops

    monkeypatch.setattr(sparse_ops, "USE_SCIPY", use_scipy)
    monkeypatch.setattr(sparse_ops, "_SCIPY_MIN", 1)  # SciPy's CSR path on a small case
    rows = np.array([2, 0, 3, 0, 2, 1])  # unsorted rows: the CSR order is a gather
    cols = np.array([1, 4, 0, 2, 1, 3])  # a repeated entry (2, 1)
    values = RNG.standard_normal(6).astype(np.float32)
    dense = RNG.standard_normal((5, 3)).astype(np.float32)
    index = np.stack([rows, cols])

    def product(m, v, d):
        return m.sparse.mm(m.sparse_coo_tensor(m.tensor(index), v, (4, 5)), d)

    check(product, Arg(values), Arg(dense), rtol=1e-5, atol=1e-6)
    pattern = sparse_ops.Pattern(rows, cols, (4, 5))
    assert pattern._csr is None
    assert pattern.indptr.tolist() == [0, 2, 3, 5, 6]
    assert pattern.order.tolist() == [1, 3, 5, 0, 4, 2]
    assert pattern.csr_cols.tolist() == [4, 2, 3, 1, 1, 0]
    assert pattern.T.order.tolist() == [2, 0, 4, 3, 5, 1]


@pytest.mark.parametrize("shape,dim", [((5,), [0]), ((6, 3), [0]), ((3, 6), [1]),
                                       ((4, 5), [0, 1]), ((2, 3, 4), [1])])
def test_fft_r2c_onesided_gradient(shape, dim):
    # The rule pads the dropped half with zeros (its own copy, along any dim).
    x = RNG.standard_normal(shape)
    for dtype in (np.float32, np.float64):
        check(lambda m, a: m.fft.rfftn(a, dim=dim), Arg(x.astype(dtype)), rtol=1e-4,
              atol=1e-5)
    check(lambda m, a: m.fft.rfft(a, dim=dim[-1], norm="forward"), Arg(x), rtol=1e-10,
          atol=1e-12)
