"""``deltagrad.fft``: PyTorch's ``torch.fft`` (discrete Fourier transforms and their helpers).

Every transform is built, as in PyTorch, on three differentiable primitives
(``deltagrad._fft_c2c``, ``_fft_r2c``, ``_fft_c2r``; NumPy's pocketfft computes them): float32
input gives complex64 and float64 complex128, integers and booleans the default float's complex
dtype; float16 is refused as PyTorch's CPU refuses it. ``n`` / ``s`` zero-pad or trim the input
first, ``norm`` is ``"backward"`` (the default: no scale forward, 1/n inverse), ``"ortho"``
(1/sqrt(n) both ways) or ``"forward"`` (1/n forward, none inverse). Gradients follow PyTorch's
convention for complex numbers (see ``_engine/ops/complex.py``).

>>> import deltagrad as dg
>>> dg.fft.rfft(dg.tensor([1.0, 2.0, 3.0, 4.0]))
tensor([10.+0.j, -2.+2.j, -2.+0.j])
"""

from __future__ import annotations

import numbers

import numpy as np

from ._engine.api._common import index_or_none, wrap_dim
from ._engine.api._pointwise import write_out
from ._engine.api.complex import _fft_c2c, _fft_c2r, _fft_r2c, conj, scalar_name
from ._engine.api.rearrange import roll
from ._engine.dtypes import _Default
from ._engine.ops import OPS
from ._engine.tensor import Tensor, _leaf, _lift, apply

__all__ = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "hfft2", "hfftn", "ifft",
           "ifft2", "ifftn", "ifftshift", "ihfft", "ihfft2", "ihfftn", "irfft", "irfft2",
           "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn"]

_PAD = OPS["pad"]
_CODES = {None: 0, "backward": 0, "ortho": 1, "forward": 2}


def _code(norm, forward: bool) -> int:
    """PyTorch's normalization code (0: none, 1: 1/sqrt(n), 2: 1/n) of ``norm`` for a
    transform in the forward (e^{-i...}) or the inverse direction."""
    if norm not in _CODES:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    code = _CODES[norm]
    return code if forward else 2 - code


def _input(input, name: str, real: bool = False) -> Tensor:
    """``input`` as a floating or complex tensor (integers and booleans: the default float)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    kind = input._data.dtype.kind
    if kind in "biu":
        input = _lift(input._data.astype(_Default.float), None)
    elif kind == "c" and real:
        raise RuntimeError(f"{name} expects a real input tensor, but got "
                           f"{scalar_name(input._data.dtype)}")
    elif input._data.dtype.itemsize == 2 and input._data.dtype == np.float16 or (
            kind == "c" and input._data.dtype.itemsize == 4
            and input._data.dtype.name == "complex32"):  # (.name: a 2-4 us property, s27 SP37)
        raise RuntimeError(f"Unsupported dtype {scalar_name(input._data.dtype)}")
    return input


def _as_complex(x: Tensor) -> Tensor:
    if x._data.dtype.kind == "c":
        return x
    return x.to(np.complex128 if x._data.dtype == np.float64 else np.complex64)


def _points(n) -> int:
    if isinstance(n, Tensor):
        n = n.item()
    if not isinstance(n, numbers.Integral) or isinstance(n, bool):
        if index_or_none(n) is None:  # (a SymInt in PyTorch: any __index__ object)
            raise TypeError(f"the number of points must be an int, got {type(n).__name__}")
        n = index_or_none(n)
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return int(n)


def _resize(x: Tensor, dims, sizes) -> Tensor:
    """``x`` trimmed or zero-padded at the end of each of ``dims`` to ``sizes`` (differentiable:
    a slice or a constant pad)."""
    for d, size in zip(dims, sizes):
        have = x.shape[d]
        if size < have:
            x = x[(slice(None),) * d + (slice(0, size),)]
        elif size > have:
            pad = (0, 0) * (x.ndim - 1 - d) + (0, size - have)
            x = apply(_PAD, x, pad=pad, mode="constant", value=0.0)
    return x


def _wrap_one(dim, input: Tensor) -> int:
    if input.ndim == 0:  # (wrap_dim lets a 0-d tensor take dim 0 or -1; the FFTs do not)
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, input.ndim)


def _one_dim(input: Tensor, n, dim) -> tuple[int, int]:
    d = _wrap_one(dim, input)
    return d, _points(input.shape[d] if n is None else n)


def _shape_and_dims(input: Tensor, s, dim) -> tuple[list, list]:
    """PyTorch's rules for ``s`` and ``dim`` of the n-dimensional transforms: the dims (all of
    them, or the last ``len(s)``, when ``dim`` is None) and each one's number of points (-1 in
    ``s``: the input's size)."""
    ndim = input.ndim
    if dim is not None:
        dims = [wrap_dim(d, ndim) for d in ([dim] if isinstance(dim, int) else dim)]
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
        if s is not None and len(s) != len(dims):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
    elif s is not None:
        if len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has "
                               f"{ndim} dimensions.")
        dims = list(range(ndim - len(s), ndim))
    else:
        dims = list(range(ndim))
    if s is None:
        sizes = [input.shape[d] for d in dims]
    else:
        sizes = [input.shape[d] if n == -1 else _points(n) for d, n in zip(dims, s)]
    for size in sizes:
        if size < 1:
            raise RuntimeError(f"Invalid number of data points ({size}) specified")
    return dims, sizes


# --------------------------------------------------------------------------------------------
# Complex-to-complex (a real input takes the real-to-complex path: the same values).


def _c2c(input: Tensor, dims, sizes, norm, forward: bool, out, name: str) -> Tensor:
    x = _resize(input, dims, sizes)
    code = _code(norm, forward)
    if not dims:  # (fftn of a 0-d tensor: nothing to transform)
        result = _as_complex(x).clone()
    elif x._data.dtype.kind != "c":
        result = _fft_r2c(x, dims, code, False)
        if not forward:  # the inverse of a real signal is the conjugate of its transform
            result = conj(result)
    else:
        result = _fft_c2c(x, dims, code, forward)
    return write_out(name, out, result)


def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
        out: Tensor | None = None) -> Tensor:
    """The one-dimensional discrete Fourier transform along ``dim`` (``n`` points: the input
    trimmed or zero-padded). Returns a complex tensor."""
    input = _input(input, "fft")
    d, n = _one_dim(input, n, dim)
    return _c2c(input, [d], [n], norm, True, out, "fft")


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The one-dimensional inverse discrete Fourier transform along ``dim``."""
    input = _input(input, "ifft")
    d, n = _one_dim(input, n, dim)
    return _c2c(input, [d], [n], norm, False, out, "ifft")


def fft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The two-dimensional discrete Fourier transform over ``dim``."""
    input = _input(input, "fft2")
    dims, sizes = _shape_and_dims(input, s, dim)
    return _c2c(input, dims, sizes, norm, True, out, "fft2")


def ifft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The two-dimensional inverse discrete Fourier transform over ``dim``."""
    input = _input(input, "ifft2")
    dims, sizes = _shape_and_dims(input, s, dim)
    return _c2c(input, dims, sizes, norm, False, out, "ifft2")


def fftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The n-dimensional discrete Fourier transform over ``dim`` (all dims by default)."""
    input = _input(input, "fftn")
    dims, sizes = _shape_and_dims(input, s, dim)
    return _c2c(input, dims, sizes, norm, True, out, "fftn")


def ifftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The n-dimensional inverse discrete Fourier transform over ``dim``."""
    input = _input(input, "ifftn")
    dims, sizes = _shape_and_dims(input, s, dim)
    return _c2c(input, dims, sizes, norm, False, out, "ifftn")


# --------------------------------------------------------------------------------------------
# Real-to-complex (one-sided) and back.


def _r2c(input: Tensor, dims, sizes, norm, forward: bool, out, name: str) -> Tensor:
    x = _resize(input, dims, sizes)
    result = _fft_r2c(x, dims, _code(norm, forward), True)
    if not forward:  # ihfft: the inverse transform of a real signal, one-sided
        result = conj(result)
    return write_out(name, out, result)


def _c2r(input: Tensor, dims, sizes, last: int | None, norm, forward: bool, out,
         name: str) -> Tensor:
    """``last``: the output's points along the last dim (None: 2 (m - 1) from the input's m)."""
    x = _as_complex(input)
    if last is None:
        last = 2 * (x.shape[dims[-1]] - 1)
    if last < 1:
        raise RuntimeError(f"Invalid number of data points ({last}) specified")
    x = _resize(x, dims, sizes[:-1] + [last // 2 + 1])
    if forward:  # hfft: the transform of a Hermitian signal given by its first half
        x = conj(x)
    return write_out(name, out, _fft_c2r(x, dims, _code(norm, forward), last))


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The transform of a real signal along ``dim``: its n // 2 + 1 non-negative frequencies."""
    input = _input(input, "rfft", real=True)
    d, n = _one_dim(input, n, dim)
    return _r2c(input, [d], [n], norm, True, out, "rfft")


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The inverse of ``rfft``: a real signal of ``n`` points (default 2 (m - 1)) from its
    one-sided spectrum of m points along ``dim``."""
    input = _input(input, "irfft")
    d = _wrap_one(dim, input)
    return _c2r(input, [d], [0], None if n is None else _points(n), norm, False, out, "irfft")


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The transform of a Hermitian-symmetric signal given by its first half: a real result of
    ``n`` points (default 2 (m - 1))."""
    input = _input(input, "hfft")
    d = _wrap_one(dim, input)
    return _c2r(input, [d], [0], None if n is None else _points(n), norm, True, out, "hfft")


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The inverse of ``hfft``: the one-sided inverse transform of a real signal."""
    input = _input(input, "ihfft", real=True)
    d, n = _one_dim(input, n, dim)
    return _r2c(input, [d], [n], norm, False, out, "ihfft")


def _half_n(name: str, input, s, dim, forward: bool, out, norm) -> Tensor:
    input = _input(input, name)
    last = None
    if s is not None:
        s = list(s)
        if s and s[-1] != -1:
            last = _points(s[-1])
        # the last dim's size is the output's, not the input's: checked above
        s = s[:-1] + [-1] if s else s
    dims, sizes = _shape_and_dims(input, s, dim)
    if not dims:
        raise RuntimeError(f"{name} must transform at least one axis")
    return _c2r(input, dims, sizes, last, norm, forward, out, name)


def _real_n(input, name: str) -> Tensor:
    """rfft2 / rfftn's input: PyTorch's rfftn refuses a complex one (under its own name)."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        raise RuntimeError(f"rfftn expects a real-valued input tensor, but got "
                           f"{scalar_name(input._data.dtype)}")
    return _input(input, name)


def rfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The two-dimensional transform of a real signal (one-sided in the last of ``dim``)."""
    input = _real_n(input, "rfft2")
    dims, sizes = _shape_and_dims(input, s, dim)
    return _r2c(input, dims, sizes, norm, True, out, "rfft2")


def irfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """The inverse of ``rfft2``."""
    return _half_n("irfft2", input, s, dim, False, out, norm)


def rfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The n-dimensional transform of a real signal (one-sided in the last of ``dim``)."""
    input = _real_n(input, "rfftn")
    dims, sizes = _shape_and_dims(input, s, dim)
    return _r2c(input, dims, sizes, norm, True, out, "rfftn")


def irfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """The inverse of ``rfftn``."""
    return _half_n("irfftn", input, s, dim, False, out, norm)


def hfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The two-dimensional transform of a Hermitian-symmetric signal (real result)."""
    return _half_n("hfft2", input, s, dim, True, out, norm)


def hfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
          out: Tensor | None = None) -> Tensor:
    """The n-dimensional transform of a Hermitian-symmetric signal (real result)."""
    return _half_n("hfftn", input, s, dim, True, out, norm)


def ihfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """The inverse of ``hfft2``."""
    input = _input(input, "ihfft2")
    dims, sizes = _shape_and_dims(input, s, dim)  # (before the dtype: PyTorch's order)
    if input._data.dtype.kind == "c":
        raise RuntimeError(f"Only supports floating-point dtypes, but found: "
                           f"{scalar_name(input._data.dtype)}")
    return _r2c(input, dims, sizes, norm, False, out, "ihfft2")


def ihfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *,
           out: Tensor | None = None) -> Tensor:
    """The inverse of ``hfftn``."""
    input = _input(input, "ihfftn")
    dims, sizes = _shape_and_dims(input, s, dim)  # (before the dtype: PyTorch's order)
    if input._data.dtype.kind == "c":
        raise RuntimeError(f"Only supports floating-point dtypes, but found: "
                           f"{scalar_name(input._data.dtype)}")
    return _r2c(input, dims, sizes, norm, False, out, "ihfftn")


# --------------------------------------------------------------------------------------------
# Helpers: sample frequencies and shifting zero frequency to the centre.


def _frequencies(values: np.ndarray, n: int, d: float, dtype, requires_grad: bool,
                 out) -> Tensor:
    from ._engine.api.creation import _numpy_dtype

    dtype = _numpy_dtype(dtype, _Default.float)
    # As PyTorch: the integers in the dtype, times 1 / (n d) rounded to it.
    with np.errstate(divide="ignore", invalid="ignore"):  # (n d = 0: PyTorch's inf scale)
        scale = dtype.type(np.float64(1.0) / np.float64(n * d))
        result = _leaf(values.astype(dtype) * scale)
    if requires_grad:
        result.requires_grad_(True)
    return write_out("fftfreq", out, result)


def fftfreq(n: int, d: float = 1.0, *, out: Tensor | None = None, dtype=None, layout=None,
            device=None, requires_grad: bool = False) -> Tensor:
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``:
    ``[0, 1, ..., (n - 1) // 2, -(n // 2), ..., -1] / (d n)``."""
    n = _freq_count(n, "fftfreq", lambda n: n)
    values = np.concatenate([np.arange((n + 1) // 2), np.arange(-(n // 2), 0)])
    return _frequencies(values, n, d, dtype, requires_grad, out)


def _freq_count(n, name: str, count) -> int:
    """``n`` as PyTorch's parser reads it (an int, never a float), with its error for a
    negative ``count(n)`` of frequencies (was an empty result)."""
    if isinstance(n, (bool, float)) or (isinstance(n, Tensor) and n.dtype.is_floating_point):
        raise TypeError(f"fft_{name}(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    n = int(n)
    if count(n) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {count(n)}: "
                           f"[{count(n)}]")
    return n


def rfftfreq(n: int, d: float = 1.0, *, out: Tensor | None = None, dtype=None, layout=None,
             device=None, requires_grad: bool = False) -> Tensor:
    """The non-negative sample frequencies of ``rfft``: ``[0, 1, ..., n // 2] / (d n)``."""
    # (C++'s n / 2 + 1, rounding toward zero: rfftfreq(-1) has one element, as PyTorch's)
    n = _freq_count(n, "rfftfreq", lambda n: int(n / 2) + 1)
    return _frequencies(np.arange(int(n / 2) + 1), n, d, dtype, requires_grad, out)


def _shift(input: Tensor, dim, inverse: bool) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"argument 'input' must be Tensor, not {type(input).__name__}")
    if dim is None:
        dims = list(range(input.ndim))
    else:
        dims = [wrap_dim(d, input.ndim) for d in ([dim] if isinstance(dim, int) else dim)]
    if not dims:
        raise RuntimeError("`shifts` required")
    shifts = [(input.shape[d] + inverse) // 2 for d in dims]
    return roll(input, shifts, dims)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Zero frequency moved to the centre of ``dim`` (all dims by default): a roll by n // 2."""
    return _shift(input, dim, False)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """The inverse of ``fftshift``: a roll by (n + 1) // 2."""
    return _shift(input, dim, True)
