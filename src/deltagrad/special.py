"""``deltagrad.special``: PyTorch's ``torch.special`` namespace (error functions, the gamma
family, Bessel i0 / i1, the normal distribution's ndtr / ndtri / log_ndtr, entr, and the
special-namespace names of softmax, logsumexp, sigmoid and friends).

Kernels: ``_engine/ops/gamma.py`` and ``_engine/ops/special_extra.py`` (NumPy, with SciPy's
ufuncs as an optional accelerator). Not offered: Bessel J / Y / K, the orthogonal polynomials,
zeta, xlog1py, airy_ai. gammainc / gammaincc are ``deltagrad.igamma`` / ``igammac``
(_engine/ops/statistics.py).
"""

from __future__ import annotations

import math

from ._engine.api._pointwise import write_out
from ._engine.api.pointwise import sigmoid
from ._engine.api.pointwise_extra import digamma, i0, lgamma, mvlgamma, polygamma
from ._engine.api.pointwise_math import (
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    log1p,
    logit,
    round,
    sinc,
    xlogy,
)
from ._engine.api.reductions import log_softmax as _log_softmax
from ._engine.api.reductions import logsumexp
from ._engine.api.reductions import softmax as _softmax
from ._engine.api.statistics import igamma, igammac
from ._engine.ops import OPS
from ._engine.tensor import Tensor, apply

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
           "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr",
           "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma",
           "psi", "round", "sinc", "softmax", "xlogy"]

_SQRT_HALF = math.sqrt(0.5)

expit = sigmoid
gammainc = igamma  # (torch.special.gammainc is torch.igamma under another name)
gammaincc = igammac
gammaln = lgamma
psi = digamma


def _unary(name: str, input, out) -> Tensor:
    if out is None and type(input) is Tensor:  # (the common call: no checks, no out=)
        return apply(OPS[name], input)
    if not isinstance(input, Tensor):
        raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return write_out(f"special_{name}", out, apply(OPS[name], input))


def i0e(input, *, out=None) -> Tensor:
    """``i0(input) * exp(-|input|)``, computed without overflow; differentiable."""
    return _unary("i0e", input, out)


def i1(input, *, out=None) -> Tensor:
    """The modified Bessel function of the first kind of order 1, elementwise; differentiable
    (1/2 at 0)."""
    return _unary("i1", input, out)


def i1e(input, *, out=None) -> Tensor:
    """``i1(input) * exp(-|input|)``, computed without overflow; differentiable."""
    return _unary("i1e", input, out)


def erfcx(input, *, out=None) -> Tensor:
    """The scaled complementary error function ``exp(x^2) erfc(x)``, accurate where erfc
    underflows (it decays like ``1 / (x sqrt(pi))``)."""
    return _unary("erfcx", input, out)


def ndtr(input, *, out=None) -> Tensor:
    """The standard normal CDF, ``erfc(-x / sqrt(2)) / 2``: accurate in relative terms far into
    the lower tail (in float64 ``ndtr(-30)`` is 4.9e-198, not 0)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"special_ndtr(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return write_out("special_ndtr", out, 0.5 * erfc(input * -_SQRT_HALF))


def ndtri(input, *, out=None) -> Tensor:
    """The inverse of ``ndtr`` on [0, 1] (-inf at 0, inf at 1, nan outside); its gradient is
    ``sqrt(2 pi) exp(ndtri(p)^2 / 2)``."""
    return _unary("ndtri", input, out)


def log_ndtr(input, *, out=None) -> Tensor:
    """``log(ndtr(input))``, accurate far into both tails (``log_ndtr(-1e5)`` is -5e9)."""
    return _unary("log_ndtr", input, out)


def entr(input, *, out=None) -> Tensor:
    """The elementwise entropy term: ``-x log x`` for x > 0, 0 at 0, -inf below."""
    return _unary("entr", input, out)


def multigammaln(input, p: int, *, out=None) -> Tensor:
    """The multivariate log-gamma function (``deltagrad.mvlgamma``)."""
    return mvlgamma(input, p, out=out)


def softmax(input, dim: int, *, dtype=None) -> Tensor:
    """``deltagrad.softmax`` (``dtype`` casts the input first)."""
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim: int, *, dtype=None) -> Tensor:
    """``deltagrad.log_softmax`` (``dtype`` casts the input first)."""
    return _log_softmax(input, dim, dtype=dtype)
