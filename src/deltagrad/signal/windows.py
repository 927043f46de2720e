"""``deltagrad.signal.windows``: PyTorch's ``torch.signal.windows`` window functions (bartlett,
blackman, cosine, exponential, gaussian, general_cosine, general_hamming, hamming, hann,
kaiser, nuttall), built from the engine's functions as PyTorch builds them, so the values round
alike and ``requires_grad=True`` gives a result in the graph."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .. import _engine as dg

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine",
           "general_hamming", "hamming", "hann", "kaiser", "nuttall"]


def _dtype(function: str, M: int, dtype, layout):
    """The window's dtype (the default float unless given), after PyTorch's checks."""
    dtype = dg.get_default_dtype() if dtype is None else dtype
    if M < 0:
        raise ValueError(f"{function} requires non-negative window length, got M={M}")
    if layout is not None and layout is not dg.strided:
        raise ValueError(f"{function} is implemented for strided tensors only, got: {layout}")
    if dtype not in (dg.float32, dg.float64):
        raise ValueError(f"{function} expects float32 or float64 dtypes, got: {dtype}")
    return dtype


def _empty(dtype, requires_grad: bool):
    return dg.empty((0,), dtype=dtype, requires_grad=requires_grad)


def _ones(dtype, requires_grad: bool):
    return dg.ones((1,), dtype=dtype, requires_grad=requires_grad)


def _span(M: int, sym: bool) -> int:
    # A periodic window (sym=False) is the first M points of a symmetric one of M + 1.
    return M if not sym and M > 1 else M - 1


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True,
                dtype=None, layout=None, device=None, requires_grad: bool = False):
    """The exponential (Poisson) window ``exp(-|n - center| / tau)``, n = 0..M-1.

    >>> import deltagrad as dg
    >>> dg.signal.windows.exponential(3, tau=1.0)
    tensor([0.3679, 1.0000, 0.3679])
    """
    dtype = _dtype("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _empty(dtype, requires_grad)
    if center is None:
        center = _span(M, sym) / 2.0
    k = dg.linspace(-center / tau, (-center + (M - 1)) / tau, M, dtype=dtype,
                    device=device, requires_grad=requires_grad)
    return dg.exp(-dg.abs(k))


def cosine(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
           requires_grad: bool = False):
    """The cosine (sine) window ``sin(pi (n + 0.5) / M)`` (M + 1 when periodic)."""
    dtype = _dtype("cosine", M, dtype, layout)
    if M == 0:
        return _empty(dtype, requires_grad)
    start = 0.5
    constant = math.pi / (M + 1 if not sym and M > 1 else M)
    k = dg.linspace(start * constant, (start + (M - 1)) * constant, M, dtype=dtype,
                    device=device, requires_grad=requires_grad)
    return dg.sin(k)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype=None, layout=None,
             device=None, requires_grad: bool = False):
    """The Gaussian window ``exp(-(n - (M-1)/2)^2 / (2 std^2))``."""
    dtype = _dtype("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _empty(dtype, requires_grad)
    start = -_span(M, sym) / 2.0
    constant = 1 / (std * math.sqrt(2))
    k = dg.linspace(start * constant, (start + (M - 1)) * constant, M, dtype=dtype,
                    device=device, requires_grad=requires_grad)
    return dg.exp(-k ** 2)


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype=None, layout=None,
           device=None, requires_grad: bool = False):
    """The Kaiser window ``I0(beta sqrt(1 - (2n/(M-1) - 1)^2)) / I0(beta)``."""
    dtype = _dtype("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    if M == 0:
        return _empty(dtype, requires_grad)
    if M == 1:
        return _ones(dtype, requires_grad)
    # (beta as a tensor of the window's dtype, as PyTorch's, so that beta^2 - k^2 rounds alike)
    beta = dg.tensor(beta, dtype=dtype)
    start = -beta
    constant = 2.0 * beta / (M if not sym else M - 1)
    end = dg.minimum(beta, start + (M - 1) * constant)
    k = dg.linspace(start, end, M, dtype=dtype, device=device, requires_grad=requires_grad)
    return dg.i0(dg.sqrt(beta * beta - dg.pow(k, 2))) / dg.i0(beta)


def hann(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
         requires_grad: bool = False):
    """The Hann window ``0.5 - 0.5 cos(2 pi n / (M-1))``."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False):
    """The Hamming window ``0.54 - 0.46 cos(2 pi n / (M-1))``."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False):
    """The Bartlett (triangular, zero at the ends) window ``1 - |2n/(M-1) - 1|``."""
    dtype = _dtype("bartlett", M, dtype, layout)
    if M == 0:
        return _empty(dtype, requires_grad)
    if M == 1:
        return _ones(dtype, requires_grad)
    start = -1
    constant = 2 / (M if not sym else M - 1)
    k = dg.linspace(start, start + (M - 1) * constant, M, dtype=dtype, device=device,
                    requires_grad=requires_grad)
    return 1 - dg.abs(k)


def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype=None, layout=None,
                   device=None, requires_grad: bool = False):
    """The sum of cosines ``sum_i (-1)^i a_i cos(2 pi i n / (M-1))``."""
    dtype = _dtype("general_cosine", M, dtype, layout)
    if M == 0:
        return _empty(dtype, requires_grad)
    if M == 1:
        return _ones(dtype, requires_grad)
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    constant = 2 * math.pi / (M if not sym else M - 1)
    k = dg.linspace(0, (M - 1) * constant, M, dtype=dtype, device=device,
                    requires_grad=requires_grad)
    a_i = dg.tensor([(-1) ** i * w for i, w in enumerate(a)], dtype=dtype,
                    requires_grad=requires_grad)
    i = dg.arange(a_i.shape[0], dtype=a_i.dtype, requires_grad=a_i.requires_grad)
    return (a_i.unsqueeze(-1) * dg.cos(i.unsqueeze(-1) * k)).sum(0)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype=None, layout=None,
                    device=None, requires_grad: bool = False):
    """The generalized Hamming window ``alpha - (1 - alpha) cos(2 pi n / (M-1))``."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
             requires_grad: bool = False):
    """The Blackman window (coefficients 0.42, 0.5, 0.08)."""
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype=None, layout=None, device=None,
            requires_grad: bool = False):
    """Nuttall's minimum 4-term Blackman-Harris window."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym,
                          dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)
