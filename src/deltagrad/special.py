"""``deltagrad.special``: PyTorch's ``torch.special`` namespace (error functions, the gamma
family, Hurwitz zeta, xlog1py, Bessel functions (I, J, Y, K, spherical j0), Airy Ai, the
orthogonal polynomials, the normal distribution's ndtr / ndtri / log_ndtr, entr, and the
special-namespace names of softmax, logsumexp, sigmoid and friends).

Kernels: ``_engine/ops/gamma.py``, ``_engine/ops/special_extra.py`` and
``_engine/ops/special_bessel.py`` (NumPy, with SciPy's ufuncs as an optional accelerator for
some). gammainc / gammaincc are ``deltagrad.igamma`` / ``igammac``
(_engine/ops/statistics.py). As in PyTorch, the Bessel J / Y / K, Airy and polynomial results
take no gradient, and zeta's gradient exists in ``other`` (q) only.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers

import numpy as np

from ._engine.api._pointwise import operands, torch_name, write_out
from ._engine.api.pointwise import sigmoid as _sigmoid
from ._engine.api.pointwise_extra import digamma, i0, polygamma
from ._engine.api.pointwise_extra import lgamma as _lgamma
from ._engine.api.pointwise_extra import mvlgamma as _mvlgamma
from ._engine.api.pointwise_math import (
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    log1p,
    logit,
    sinc,
    xlogy,
)
from ._engine.api.pointwise_math import round as _round
from ._engine.api.reductions import logsumexp
from ._engine.api.softmax import log_softmax as _log_softmax
from ._engine.api.softmax import softmax as _softmax
from ._engine.api.statistics import igamma as _igamma
from ._engine.api.statistics import igammac as _igammac
from ._engine.dtypes import _Default
from ._engine.ops import OPS
from ._engine.ops import special_bessel as _kernels
from ._engine.ops.elementwise_math import ERR_STATE as _ERR_STATE
from ._engine.ops.elementwise_math import IGNORE_ALL as _IGNORE_ALL
from ._engine.promotion import result_type
from ._engine.tensor import Tensor, _leaf, apply

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1",
           "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
           "chebyshev_polynomial_w", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2",
           "expit", "expm1", "gammainc", "gammaincc", "gammaln", "hermite_polynomial_h",
           "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
           "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp",
           "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
           "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
           "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "sinc", "softmax",
           "spherical_bessel_j0", "xlog1py", "xlogy", "zeta"]

_SQRT_HALF = math.sqrt(0.5)

# (private names: torch.special has no lgamma, mvlgamma, igamma, igammac or sigmoid)
expit = _sigmoid
gammainc = _igamma  # (torch.special.gammainc is torch.igamma under another name)
gammaincc = _igammac
gammaln = _lgamma
psi = digamma


# PyTorch's CPU kernels of these have no float16 form (NotImplementedError, not a result).
_NO_HALF = frozenset(("erfcx", "ndtri", "log_ndtr", "zeta"))
_FLOAT16 = np.dtype(np.float16)


def _no_half(name: str, result: Tensor) -> Tensor:
    # (nor complex: these are real functions in PyTorch; was a value from a complex input)
    # (dtype.name, a 2-4 us Python property, asked of 2-byte dtypes only: op_overhead.py,
    # fwd + bwd, log_ndtr 0.62 -> 0.51 x PyTorch, zeta 0.82 -> 0.72, erfcx 0.51 -> 0.40; s27)
    dtype = result._data.dtype
    if dtype.kind == "c" or (dtype.itemsize == 2 and name in _NO_HALF
                             and dtype.name in _HALF_PRECISION):  # (nor bfloat16)
        raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                  f"'{torch_name(result._data.dtype)}'")
    return result


def _unary(name: str, input, out) -> Tensor:
    if out is None and type(input) is Tensor:  # (the common call: no checks, no out=)
        return _no_half(name, apply(OPS[name], input))
    if not isinstance(input, Tensor):
        raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return write_out(f"special_{name}", out, _no_half(name, apply(OPS[name], input)))


def round(input, *, decimals: int = 0, out=None) -> Tensor:  # noqa: A001 - PyTorch's name
    """``deltagrad.round`` on floating input; unlike ``deltagrad.round``, integer and boolean
    tensors raise NotImplementedError, as PyTorch's ``special.round``."""
    if isinstance(input, Tensor) and input._data.dtype.kind in "biu":
        kernel = "round_vml_cpu" if decimals == 0 else "round_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{torch_name(input._data.dtype)}'")
    return _round(input, decimals=decimals, out=out)


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
    return _mvlgamma(input, p, out=out)


def softmax(input, dim: int, *, dtype=None) -> Tensor:
    """``deltagrad.softmax`` (``dtype`` casts the input first)."""
    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim: int, *, dtype=None) -> Tensor:
    """``deltagrad.log_softmax`` (``dtype`` casts the input first)."""
    return _log_softmax(input, dim, dtype=dtype)


def _binary_special(name: str, input, other, out) -> Tensor:
    if out is None and type(input) is Tensor and type(other) is Tensor:
        return _no_half(name, apply(OPS[name], input, other))
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"special_{name}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}): one of input and "
                        "other must be a Tensor")
    input, other = operands(input, other)
    return write_out(f"special_{name}", out, _no_half(name, apply(OPS[name], input, other)))


def xlog1py(input, other, *, out=None) -> Tensor:
    """``input * log1p(other)``, and 0 where ``input`` is 0 (unless ``other`` is nan);
    differentiable in both (either may be a number)."""
    return _binary_special("xlog1py", input, other, out)


def zeta(input, other, *, out=None) -> Tensor:
    """The Hurwitz zeta function ``sum_n (other + n) ** -input`` (the Riemann zeta at
    ``other = 1``); differentiable in ``other`` only (PyTorch defines no derivative in
    ``input``: backward raises NotImplementedError)."""
    return _binary_special("zeta", input, other, out)


_HALF_PRECISION = ("float16", "bfloat16")


def _result_dtype(name: str, *arrays) -> np.dtype:
    """The dtype PyTorch computes ``name`` in: the arrays' promoted float dtype (integers and
    bools give the default dtype); half precision raises as PyTorch's CPU kernels."""
    dtype = arrays[0].dtype if len(arrays) == 1 else result_type(*arrays)  # (PyTorch's rules)
    # (dtype == name, not NumPy's dtype.name, a 2.3 us Python property: modified_bessel_i0
    # 0.76-0.79 of its time on OpInfo's samples, chebyshev_polynomial_t 0.85-0.91, bessel_j0
    # 0.83-0.98; alternated, thread time; s13 PS)
    if dtype in _HALF_PRECISION:  # (first: bfloat16's NumPy kind is "V", not "f")
        raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                  f"'{torch_name(dtype)}'")
    if dtype.kind == "c":  # (real functions in PyTorch: was computed from the real parts)
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'{torch_name(dtype)}\'')
    if dtype.kind != "f":
        return np.dtype(_Default.float)
    if dtype.itemsize < 4:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Half\'')
    return dtype


def _no_grad_unary(name: str, kernel, input, out) -> Tensor:
    """``kernel`` over ``input``'s values, as a result that takes no gradient (PyTorch
    defines none for these functions)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    data = input._data
    dtype = _result_dtype(name, data)
    if not data.size and out is None and type(data) is np.ndarray:  # ([1, 0, 3] 9 -> 2 us)
        return _leaf(np.empty(data.shape, dtype))
    token = _ERR_STATE.set(_IGNORE_ALL)  # (not np.errstate, as _kernels.polynomial)
    try:
        values = np.asarray(kernel(data)).astype(dtype, copy=False)
    finally:
        _ERR_STATE.reset(token)
    if out is None:
        return _leaf(values)
    return write_out(f"special_{name}", out, _leaf(values))


def bessel_j0(input, *, out=None) -> Tensor:
    """The Bessel function of the first kind of order 0, J0 (no gradient, as PyTorch)."""
    return _no_grad_unary("bessel_j0", _kernels.bessel_j0, input, out)


def bessel_j1(input, *, out=None) -> Tensor:
    """The Bessel function of the first kind of order 1, J1 (no gradient)."""
    return _no_grad_unary("bessel_j1", _kernels.bessel_j1, input, out)


def bessel_y0(input, *, out=None) -> Tensor:
    """The Bessel function of the second kind of order 0, Y0 (-inf at 0, nan below; no
    gradient)."""
    return _no_grad_unary("bessel_y0", _kernels.bessel_y0, input, out)


def bessel_y1(input, *, out=None) -> Tensor:
    """The Bessel function of the second kind of order 1, Y1 (no gradient)."""
    return _no_grad_unary("bessel_y1", _kernels.bessel_y1, input, out)


def _i_kernel(name: str):
    forward = OPS[name].forward

    def kernel(x):
        if x.dtype.char in "fd":
            # (float32 as it is: SciPy's loop and the NumPy kernel both compute in float64 and
            # round once, _scipy_or_kernel; two casts fewer: with _no_grad_unary's changes
            # modified_bessel_i0 0.66-0.70 x its time before, 5.2 -> 3.5 us at 0-d)
            return forward(x)
        return forward(np.asarray(x, np.float64))
    return kernel


def modified_bessel_i0(input, *, out=None) -> Tensor:
    """The modified Bessel function of the first kind of order 0 (``i0``'s values, no
    gradient, as PyTorch's special.modified_bessel_i0)."""
    return _no_grad_unary("modified_bessel_i0", _i_kernel("i0"), input, out)


def modified_bessel_i1(input, *, out=None) -> Tensor:
    """The modified Bessel function of the first kind of order 1 (no gradient)."""
    return _no_grad_unary("modified_bessel_i1", _i_kernel("i1"), input, out)


def modified_bessel_k0(input, *, out=None) -> Tensor:
    """The modified Bessel function of the second kind of order 0, K0 (no gradient)."""
    return _no_grad_unary("modified_bessel_k0", _kernels.bessel_k0, input, out)


def modified_bessel_k1(input, *, out=None) -> Tensor:
    """The modified Bessel function of the second kind of order 1, K1 (no gradient)."""
    return _no_grad_unary("modified_bessel_k1", _kernels.bessel_k1, input, out)


def scaled_modified_bessel_k0(x, *, out=None) -> Tensor:  # (x: PyTorch's name, no input=)
    """``K0(x) exp(x)``, without underflow (no gradient)."""
    return _no_grad_unary("scaled_modified_bessel_k0", _kernels.bessel_k0e, x, out)


def scaled_modified_bessel_k1(x, *, out=None) -> Tensor:  # (x: PyTorch's name, no input=)
    """``K1(x) exp(x)``, without underflow (no gradient)."""
    return _no_grad_unary("scaled_modified_bessel_k1", _kernels.bessel_k1e, x, out)


def spherical_bessel_j0(x, *, out=None) -> Tensor:  # (x: PyTorch's name, no input=)
    """The spherical Bessel function j0(x) = sin(x) / x (1 at 0; no gradient)."""
    return _no_grad_unary("spherical_bessel_j0", _kernels.spherical_bessel_j0, x, out)


def airy_ai(x, *, out=None) -> Tensor:  # (x: PyTorch's name, no input=)
    """The Airy function Ai (nan at +-inf, as PyTorch; no gradient)."""
    return _no_grad_unary("airy_ai", _kernels.airy_ai, x, out)


def _polynomial(name: str, input, n, out) -> Tensor:
    """The orthogonal polynomial ``name`` of degree ``n`` at ``input`` (either may be a
    number, not both; a float n is truncated to an integer; 0 for n < 0; no gradient)."""
    if not isinstance(input, Tensor) and not isinstance(n, Tensor) or not all(
            isinstance(a, (Tensor, numbers.Number)) for a in (input, n)):
        raise TypeError(f"special_{name}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(n).__name__}): x or n must be a "
                        f"Tensor, the other a Tensor or a number")
    # (a Python number takes the tensor's dtype, as PyTorch's wrapped numbers)
    x_data = input._data if isinstance(input, Tensor) else None
    n_data = n._data if isinstance(n, Tensor) else None
    tensors = [a for a in (x_data, n_data) if a is not None]
    dtype = _result_dtype(name, *tensors)
    work = dtype if np.dtype(dtype).kind == "f" else np.float64  # (PyTorch's precision)
    # (x already in the work dtype as it is, and integer degrees without a float round trip:
    # 2-5 NumPy calls fewer; measured with the kernel's changes: special_bessel.polynomial)
    if x_data is not None and x_data.dtype == work:
        x_values = x_data
    else:
        x_values = np.asarray(input if x_data is None else x_data, dtype=np.float64)
    if n_data is not None and n_data.dtype.kind == "i":
        degrees = n_data.astype(np.int64, copy=False)
    elif n_data is not None and n_data.ndim == 0 and n_data.dtype.kind in "fb":
        # (one degree through Python's float and int, as the C cast below: 5 NumPy calls)
        value = float(n_data)
        degrees = np.array(int(value) if abs(value) < 2.0 ** 63 else -1, np.int64)
    else:
        degrees = np.asarray(n if n_data is None else n_data).astype(np.float64)
        # PyTorch casts n to int64 in C: nan, +-inf and values beyond int64 become its
        # minimum, a negative degree (0), not the 1 of degree 0 or the huge degree
        # nan_to_num would give.
        degrees = np.where(np.abs(degrees) < 2.0 ** 63, np.trunc(degrees), -1.0).astype(
            np.int64)
    values = _kernels.polynomial(name, x_values, degrees, work).astype(dtype, copy=False)
    return write_out(f"special_{name}", out, _leaf(np.asarray(values)))


def chebyshev_polynomial_t(input, n, *, out=None) -> Tensor:
    """The Chebyshev polynomial of the first kind T_n(input)."""
    return _polynomial("chebyshev_polynomial_t", input, n, out)


def chebyshev_polynomial_u(input, n, *, out=None) -> Tensor:
    """The Chebyshev polynomial of the second kind U_n(input)."""
    return _polynomial("chebyshev_polynomial_u", input, n, out)


def chebyshev_polynomial_v(input, n, *, out=None) -> Tensor:
    """The Chebyshev polynomial of the third kind V_n(input)."""
    return _polynomial("chebyshev_polynomial_v", input, n, out)


def chebyshev_polynomial_w(input, n, *, out=None) -> Tensor:
    """The Chebyshev polynomial of the fourth kind W_n(input)."""
    return _polynomial("chebyshev_polynomial_w", input, n, out)


def shifted_chebyshev_polynomial_t(input, n, *, out=None) -> Tensor:
    """T_n(2 input - 1), the Chebyshev polynomial of the first kind shifted to [0, 1]."""
    return _polynomial("shifted_chebyshev_polynomial_t", input, n, out)


def shifted_chebyshev_polynomial_u(input, n, *, out=None) -> Tensor:
    """U_n(2 input - 1)."""
    return _polynomial("shifted_chebyshev_polynomial_u", input, n, out)


def shifted_chebyshev_polynomial_v(input, n, *, out=None) -> Tensor:
    """V_n(2 input - 1)."""
    return _polynomial("shifted_chebyshev_polynomial_v", input, n, out)


def shifted_chebyshev_polynomial_w(input, n, *, out=None) -> Tensor:
    """W_n(2 input - 1)."""
    return _polynomial("shifted_chebyshev_polynomial_w", input, n, out)


def hermite_polynomial_h(input, n, *, out=None) -> Tensor:
    """The physicists' Hermite polynomial H_n(input)."""
    return _polynomial("hermite_polynomial_h", input, n, out)


def hermite_polynomial_he(input, n, *, out=None) -> Tensor:
    """The probabilists' Hermite polynomial He_n(input)."""
    return _polynomial("hermite_polynomial_he", input, n, out)


def laguerre_polynomial_l(input, n, *, out=None) -> Tensor:
    """The Laguerre polynomial L_n(input)."""
    return _polynomial("laguerre_polynomial_l", input, n, out)


def legendre_polynomial_p(input, n, *, out=None) -> Tensor:
    """The Legendre polynomial P_n(input)."""
    return _polynomial("legendre_polynomial_p", input, n, out)


def _numpy_keywords(function):
    """``function`` also taking ``input`` by the keywords PyTorch's argument parser maps to it
    (``x``, ``a``, ``x1``: ``torch.special.expit(x=t)``) and ``other`` by ``x2`` (s27 BR15).
    One call more, on the functions of this namespace only (torch.sigmoid stays as it is):
    special.expit on 8 x 8 float32 1530 ns against sigmoid's 1440, thread time, medians of 15."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        if kwargs:
            if "x2" in kwargs and "other" not in kwargs:
                kwargs["other"] = kwargs.pop("x2")
            if not args:
                for name in ("x", "a", "x1"):
                    if name in kwargs:
                        return function(kwargs.pop(name), **kwargs)
        return function(*args, **kwargs)

    return call


for _name in __all__:  # (the functions whose first argument PyTorch names input)
    if next(iter(inspect.signature(globals()[_name]).parameters), None) == "input":
        globals()[_name] = _numpy_keywords(globals()[_name])
del _name
