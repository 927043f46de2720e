"""The gamma family, Bessel i0 / i1, the normal distribution's functions and the
``deltagrad.special`` namespace against PyTorch: values (tight tolerances in float64), dtypes,
edge values (poles, infinities, nan), gradients and errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

RNG = np.random.default_rng(16)
POSITIVE = RNG.uniform(0.2, 6.0, (3, 4))
NEGATIVE = np.array([-0.5, -1.3, -2.7, -3.5, -7.2])  # away from the poles
MIXED = np.concatenate([RNG.uniform(-4.0, 4.0, 7), [0.5, 1.0, 2.0]])
INTS = np.array([[1, 2], [3, 7]], dtype=np.int64)

# name -> (call, domain sample for values and gradients)
UNARY = {
    "lgamma": (lambda m, x: m.lgamma(x), MIXED),
    "lgamma_method": (lambda m, x: x.lgamma(), POSITIVE),
    "digamma": (lambda m, x: m.digamma(x), MIXED),
    "polygamma0": (lambda m, x: m.polygamma(0, x), POSITIVE),
    "polygamma1": (lambda m, x: m.polygamma(1, x), MIXED),
    "polygamma2": (lambda m, x: x.polygamma(2), POSITIVE),
    "polygamma3": (lambda m, x: m.polygamma(3, x), NEGATIVE),
    "mvlgamma2": (lambda m, x: m.mvlgamma(x, 2), POSITIVE + 1.0),
    "mvlgamma3": (lambda m, x: x.mvlgamma(p=3), POSITIVE + 1.5),
    "i0": (lambda m, x: m.i0(x), MIXED * 5),
    "special.i0": (lambda m, x: m.special.i0(x), MIXED),
    "special.i0e": (lambda m, x: m.special.i0e(x), MIXED * 8),
    "special.i1": (lambda m, x: m.special.i1(x), MIXED * 8),
    "special.i1e": (lambda m, x: m.special.i1e(x), MIXED * 8),
    "special.erfcx": (lambda m, x: m.special.erfcx(x), MIXED * 4),
    "special.ndtr": (lambda m, x: m.special.ndtr(x), MIXED * 2),
    "special.ndtri": (lambda m, x: m.special.ndtri(x), RNG.uniform(0.01, 0.99, (4, 3))),
    "special.log_ndtr": (lambda m, x: m.special.log_ndtr(x), MIXED * 3),
    "special.entr": (lambda m, x: m.special.entr(x), POSITIVE),
    "special.gammaln": (lambda m, x: m.special.gammaln(x), POSITIVE),
    "special.psi": (lambda m, x: m.special.psi(x), POSITIVE),
    "special.digamma": (lambda m, x: m.special.digamma(x), POSITIVE),
    "special.polygamma": (lambda m, x: m.special.polygamma(1, x), POSITIVE),
    "special.multigammaln": (lambda m, x: m.special.multigammaln(x, 2), POSITIVE + 1.0),
    "special.expit": (lambda m, x: m.special.expit(x), MIXED),
    "special.logit": (lambda m, x: m.special.logit(x, eps=0.05), RNG.uniform(0, 1, 6)),
    "special.erf": (lambda m, x: m.special.erf(x), MIXED),
    "special.erfc": (lambda m, x: m.special.erfc(x), MIXED),
    "special.erfinv": (lambda m, x: m.special.erfinv(x), RNG.uniform(-0.9, 0.9, 5)),
    "special.exp2": (lambda m, x: m.special.exp2(x), MIXED),
    "special.expm1": (lambda m, x: m.special.expm1(x), MIXED),
    "special.log1p": (lambda m, x: m.special.log1p(x), POSITIVE),
    "special.sinc": (lambda m, x: m.special.sinc(x), MIXED),
    "special.round": (lambda m, x: m.special.round(x, decimals=1), MIXED),
    "special.softmax": (lambda m, x: m.special.softmax(x, 1), POSITIVE),
    "special.log_softmax": (lambda m, x: m.special.log_softmax(x, -1, dtype=m.float64),
                            POSITIVE),
    "special.logsumexp": (lambda m, x: m.special.logsumexp(x, 0, keepdim=True), POSITIVE),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_float64_values_and_gradients(name):
    call, values = UNARY[name]
    check(call, Arg(values.astype(np.float64)), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_float32_transposed_and_zero_d(name):
    call, values = UNARY[name]
    values = values.reshape(-1)[:4].reshape(2, 2)
    check(call, Arg(values.astype(np.float32).T), rtol=2e-5, atol=1e-5)
    if "softmax" not in name and "logsumexp" not in name:
        check(call, Arg(np.float32(values.reshape(-1)[0])), rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in sorted(UNARY)
                                  if not any(k in n for k in ("logit", "softmax", "logsumexp"))])
def test_integer_bool_and_empty_input(name):
    call, _ = UNARY[name]
    check(call, Arg(INTS), grad=False, rtol=1e-6, atol=1e-6)
    check(call, Arg(np.array([True, False])), grad=False, rtol=1e-6, atol=1e-6)
    check(call, Arg(np.zeros((0, 3))), rtol=1e-6)


EDGES = np.array([0.0, -0.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 1e-300, 1e300, -1e6 + 0.5])


@pytest.mark.parametrize("name", ["lgamma", "digamma", "special.i0e", "special.i1",
                                  "special.i1e", "special.erfcx", "special.ndtr",
                                  "special.log_ndtr", "special.entr", "i0"])
def test_edge_values(name):
    check(UNARY[name][0], Arg(EDGES), grad=False, rtol=1e-9, atol=0)


def test_polygamma_edges():
    # Poles: (-1)^(n+1) inf from either side, as PyTorch's zeta; +inf gives 0.
    for n in (1, 2, 3):
        check(lambda m, x, n=n: m.polygamma(n, x),
              Arg(np.array([0.0, -0.0, 1e-8, 1e8, np.inf, -2.5])), grad=False, rtol=1e-9)
    check(lambda m, x: m.polygamma(2, x), Arg(np.array([-1.0, -3.0, -np.inf])), grad=False)


def test_ndtri_edges_and_tails():
    p = np.concatenate([[0.0, 1.0, -0.1, 1.1, 0.5, 1e-300, np.nan],
                        10.0 ** -np.arange(1, 300, 13), 1 - 10.0 ** -np.arange(1, 16, 2)])
    check(lambda m, x: m.special.ndtri(x), Arg(p), grad=False, rtol=1e-12)


def test_accuracy_over_wide_ranges():
    # PyTorch's float64 kernels (glibc lgamma, Cephes-style others) as the reference.
    ranges = [np.linspace(-30.5, 30.5, 2002), 10.0 ** np.linspace(-300, 300, 601),
              RNG.uniform(0.4, 3.0, 2000)]
    x = np.concatenate(ranges)
    for call, rtol, atol in [(lambda m, v: m.lgamma(v), 1e-12, 1e-14),
                             (lambda m, v: m.digamma(v), 1e-12, 1e-13),
                             (lambda m, v: m.polygamma(1, v), 1e-9, 1e-12),
                             (lambda m, v: m.polygamma(4, v), 1e-12, 1e-12),
                             (lambda m, v: m.special.i0e(v), 1e-13, 0),
                             (lambda m, v: m.special.i1e(v), 1e-13, 0),
                             (lambda m, v: m.special.log_ndtr(v), 1e-13, 0),
                             (lambda m, v: m.special.erfcx(v), 1e-13, 0)]:
        check(call, Arg(x), grad=False, rtol=rtol, atol=atol)


def test_accuracy_near_the_zeros_of_lgamma_and_digamma():
    x = np.array([1 + 1e-9, 1 - 1e-7, 2 + 1e-12, 2 - 3e-9, 1.4616321449683622, 1.46163214496])
    check(lambda m, v: m.lgamma(v), Arg(x), grad=False, rtol=1e-10, atol=0)
    check(lambda m, v: m.digamma(v), Arg(x[:4]), grad=False, rtol=1e-10, atol=0)


def test_second_derivatives():
    x = np.array([0.7, 1.9, 3.3])
    for call in (lambda m, v: m.lgamma(v), lambda m, v: m.special.i1(v),
                 lambda m, v: m.special.log_ndtr(v), lambda m, v: m.special.ndtri(v / 4)):
        xt = torch.tensor(x, requires_grad=True)
        (gt,) = torch.autograd.grad(call(torch, xt).sum(), xt, create_graph=True)
        (ht,) = torch.autograd.grad(gt.sum(), xt)
        xd = dg.tensor(x, requires_grad=True)
        (gd,) = dg.grad(call(dg, xd).sum(), xd, create_graph=True)
        (hd,) = dg.grad(gd.sum(), xd)
        np.testing.assert_allclose(hd.numpy(), ht.numpy(), rtol=1e-8)


@pytest.mark.parametrize("call", [
    lambda m, x: m.polygamma(-1, x),
    lambda m, x: m.polygamma(1.5, x),
    lambda m, x: m.mvlgamma(x, 0),
    lambda m, x: m.lgamma(2.0),
    lambda m, x: m.special.i1(1.0),
    lambda m, x: m.special.ndtr(1.0),
], ids=["negative-n", "float-n", "p-0", "number-lgamma", "number-i1", "number-ndtr"])
def test_errors(call):
    check(call, Arg(POSITIVE))


def test_in_place_forms():
    for name, args in [("lgamma_", ()), ("digamma_", ()), ("polygamma_", (1,)),
                       ("mvlgamma_", (2,)), ("i0_", ())]:
        check(lambda m, x, name=name, args=args: getattr(x.clone(), name)(*args),
              Arg(POSITIVE + 1.0))
    check(lambda m, x: x.lgamma_(), Arg(INTS))  # float result into an int tensor: RuntimeError


def test_out_argument():
    check(lambda m, x: m.lgamma(x, out=m.empty(3, 4, dtype=m.float64)), Arg(POSITIVE, False))
    check(lambda m, x: m.polygamma(2, x, out=m.empty(0, dtype=m.float64)), Arg(POSITIVE, False))


def test_special_out_argument():
    for name in ("i0e", "i1", "i1e", "erfcx", "ndtr", "ndtri", "log_ndtr", "entr"):
        check(lambda m, x, name=name: getattr(m.special, name)(x, out=m.empty(5)),
              Arg(np.array([0.1, 0.2, 0.5, 0.7, 0.9], np.float32), False))
    check(lambda m, x: m.special.multigammaln(x, 2, out=m.empty(2)),
          Arg(np.array([2.5, 3.0], np.float32), False))
