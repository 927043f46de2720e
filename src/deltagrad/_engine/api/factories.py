"""What the factories share (the device / layout options, the dtype, requires_grad) and the
window functions (signal processing): hann, hamming, blackman, bartlett and kaiser windows,
symmetric over ``window_length`` points or periodic (one point longer, the last dropped), as
PyTorch's. ``api.creation`` imports the helpers and re-exports the windows."""

from __future__ import annotations

import operator
import sys

import numpy as np

from .. import dtypes, versions
from ..autograd import DTypeError
from ..device import check_device
from ..dtypes import _Default
from ..errors import warn_once
from ..modes import _GradMode
from ..tensor import Tensor, _check_inplace, _leaf
from ._common import resize_in_storage, warn_resized
from .meta_device import meta_factories

__all__ = ["bartlett_window", "blackman_window", "hamming_window", "hann_window",
           "kaiser_window"]


def _has_buffer(obj) -> bool:
    """Whether ``obj`` has the buffer protocol (bytes, bytearray, array.array, memoryview)."""
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def _buffer_array(buffer, target: np.dtype, count: int, offset: int) -> np.ndarray:
    """The bytes of ``buffer`` from ``offset`` as a 1-d array of ``target`` (shared: asarray and
    frombuffer), with PyTorch's errors for an empty buffer (NumPy gave an empty array) or a
    ragged one, and its once-per-process warning for a read-only one."""
    view = memoryview(buffer)
    if not view.c_contiguous:
        raise RuntimeError("could not retrieve buffer from object")
    if view.nbytes == 0 or count == 0:
        raise ValueError(f"both buffer length ({view.nbytes}) and count ({count}) must not be 0")
    if count < 0 and (view.nbytes - offset) % target.itemsize:
        raise ValueError(f"buffer length ({view.nbytes - offset} bytes) after offset ({offset} "
                         f"bytes) must be a multiple of element size ({target.itemsize})")
    array = np.frombuffer(view, dtype=target, count=count, offset=offset)
    if view.readonly:  # (writing into it is refused: api/write_checks.py)
        warn_once("frombuffer read-only", "The given buffer is not writable, and PyTorch does "
                  "not support non-writable tensors. This means you can write to the underlying "
                  "(supposedly non-writable) buffer using the tensor. You may want to copy the "
                  "buffer to protect its data or make it writable before converting it to a "
                  "tensor. This type of warning will be suppressed for the rest of this program.")
    return array


def _options(where: str, device, layout=None, pin_memory: bool = False) -> None:
    """The options every factory accepts: the CPU as ``device``, the strided layout;
    ``pin_memory`` (page-locking for GPU copies) means nothing on the CPU and is ignored."""
    check_device(device, where)
    if layout is not None and layout is not dtypes.strided:
        raise RuntimeError(f"{where}: only the strided (dense) layout is supported, got "
                           f"{layout!r}")


def _numpy_dtype(dtype, default) -> np.dtype:
    return default if dtype is None else dtypes.to_numpy(dtype)


def factory_out(where: str, out, dtype, requires_grad: bool, make, warn: bool = False) -> Tensor:
    """PyTorch's ``out=`` on a factory: ``make(dtype)`` made in ``out``'s dtype (a ``dtype``
    given must be that one) and written into ``out``, which is resized to the result's shape
    (a new storage) where it differs, and returned."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{where}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if dtype is not None and dtypes.to_numpy(dtype) != out._data.dtype:
        raise RuntimeError(f"{where}: dtype {dtype} does not match dtype of out parameter "
                           f"({out.dtype})")
    made = None if _GradMode.enabled and out._rg else make(out.dtype)
    if made is None or (_GradMode.enabled and made._rg):  # (normal's tensor mean or std)
        raise RuntimeError(f"{where}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    data = made._data
    _check_inplace(out, where)
    if not out._data.flags.writeable:  # (an expanded out: PyTorch's error; was rebound or
        from .write_checks import refused_write  # NumPy's ValueError)
        raise RuntimeError(refused_write(out._data))
    if out._data.shape == data.shape:
        np.copyto(out._data, data)
    elif where in _RESIZED_BY_COUNT and out._data.size == data.size:
        # (PyTorch's ranges resize out only when the count differs: arange(6, out=o) of a
        # [2, 3] o fills it row-major, keeping its shape; was rebound to [6])
        np.copyto(out._data, data.reshape(out._data.shape))
    else:
        if warn and out._data.size:  # (arange's resize warns in PyTorch; zeros' and eye's not)
            warn_resized(out._data.shape, data.shape)
        old = out._data
        resized = resize_in_storage(old, data.shape)
        if resized is not None:  # (a view of a larger tensor: written where PyTorch writes)
            out._data = resized
            np.copyto(resized, data)
        else:
            out._data = data
            versions.carry(data, old)  # (its version counts on, as PyTorch's)
    return out if requires_grad is False else _requiring_grad(out, requires_grad, where)


_RESIZED_BY_COUNT = ("arange", "range", "linspace", "logspace")


def _requiring_grad(out: Tensor, requires_grad=True, where: str | None = None,
                    none: bool = True) -> Tensor:
    """``out`` made a leaf that requires grad; PyTorch's RuntimeError for other dtypes.
    ``requires_grad``: the factory's argument, which PyTorch's parser takes as a Python bool
    only (``none``: or None, for False): a TypeError else (s29 BR19: 1, 1.0, np.True_ read as
    True, 0 as False). ``where``: the factory's name (default: the nearest public caller)."""
    if requires_grad is not True:
        if requires_grad is False or (requires_grad is None and none):
            return out
        raise TypeError(f"{where or _public_caller()}(): argument 'requires_grad' must be bool, "
                        f"not {type_words(requires_grad)}")
    if out._data.dtype.kind not in "fcV":  # ("V": bfloat16)
        raise DTypeError(f"Only Tensors of floating point and complex dtype can require "
                         f"gradients (this tensor is {out.dtype}, shape {tuple(out.shape)}); "
                         f"convert it first, e.g. x.float()")
    return out.requires_grad_(True)


def type_words(value) -> str:
    """A value's type as PyTorch's argument errors name it (``int``, ``numpy.bool``)."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _public_caller() -> str:
    """The name of the nearest function on the stack not starting with ``_`` (the factory
    that was called; its helpers are private)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name.startswith("_"):
        frame = frame.f_back
    return "factory" if frame is None else frame.f_code.co_name


# ----------------------------------------------------------------------------------------------
# Window functions.


def _window(name: str, window_length: int, periodic: bool, dtype, layout, device,
            requires_grad: bool, values, typed=None) -> Tensor:
    _options(name, device, layout)
    if isinstance(window_length, Tensor) and window_length._data.dtype.kind == "b":
        raise TypeError(f"{name}(): argument 'window_length' must be int, not a bool Tensor")
    if not isinstance(periodic, (bool, np.bool_)):
        raise TypeError(f"{name}(): argument 'periodic' must be bool, not "
                        f"{type(periodic).__name__}")
    window_length = operator.index(window_length)  # (a float is PyTorch's TypeError)
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got "
                           f"window_length={window_length}")
    numpy_dtype = _numpy_dtype(dtype, _Default.float)
    if numpy_dtype.kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got {numpy_dtype}")
    if window_length <= 1:
        array = np.ones(window_length, dtype=numpy_dtype)
    elif typed is not None and numpy_dtype in (np.float32, np.float64):
        # PyTorch's steps, each rounded to the dtype: arange, times a scalar (cast to the
        # dtype), cos, ... (one rounding of the float64 formula differed from PyTorch's float32
        # hann_window in 65% of the values by an ulp, float64's in 14%; op by op 3% and 0.06%,
        # its vectorized cos not being correctly rounded)
        n = window_length + 1 if periodic else window_length
        array = typed(np.arange(n, dtype=numpy_dtype), n - 1, numpy_dtype.type)[:window_length]
    else:
        n = window_length + 1 if periodic else window_length
        array = values(np.arange(n, dtype=np.float64), n - 1)[:window_length]
        array = array.astype(numpy_dtype)
    result = _leaf(array)
    return result if requires_grad is False else _requiring_grad(result, requires_grad, name)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The Hann window: ``0.5 - 0.5 cos(2 pi n / (N - 1))``."""
    return _hamming("hann_window", window_length, periodic, 0.5, 0.5, dtype, layout, device,
                    requires_grad)


def hamming_window(window_length: int, periodic: bool | None = None, alpha: float | None = None,
                   beta: float | None = None, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The Hamming window: ``alpha - beta cos(2 pi n / (N - 1))``."""
    periodic, alpha, beta = _overload("hamming_window", ("periodic", periodic, True),
                                      ("alpha", alpha, 0.54), ("beta", beta, 0.46))
    return _hamming("hamming_window", window_length, periodic, alpha, beta, dtype, layout,
                    device, requires_grad)


def _overload(name: str, *arguments: tuple) -> list:
    """The values of optional arguments PyTorch declares as overloads that each add one at the
    end (``(N)``, ``(N, periodic)``, ``(N, periodic, beta)``): one given without those before
    it matches none, a TypeError there (``kaiser_window(8, beta=5.0)``); None is not given."""
    values = []
    missing = None
    for argument, value, default in arguments:
        if value is None:
            missing = missing or argument
            values.append(default)
        elif missing is not None:
            raise TypeError(f"{name}() received an invalid combination of arguments: "
                            f"{argument} given without {missing} (its overloads take "
                            f"{', '.join(a[0] for a in arguments)} in this order)")
        else:
            values.append(value)
    return values


def _hamming(name, window_length, periodic, alpha, beta, dtype, layout, device,
             requires_grad) -> Tensor:
    return _window(name, window_length, periodic, dtype, layout, device,
                   requires_grad, lambda n, m: alpha - beta * np.cos(2 * np.pi * n / m),
                   lambda k, m, t: _cos(k * t(2 * np.pi / m)) * t(-beta) + t(alpha))


def _cos(x: np.ndarray) -> np.ndarray:
    """cos rounded once to ``x``'s dtype (NumPy's float32 cos is further from PyTorch's)."""
    return np.cos(x.astype(np.float64)).astype(x.dtype)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The Blackman window: ``0.42 - 0.5 cos(2 pi n / (N-1)) + 0.08 cos(4 pi n / (N-1))``."""
    return _window("blackman_window", window_length, periodic, dtype, layout, device,
                   requires_grad, lambda n, m: 0.42 - 0.5 * np.cos(2 * np.pi * n / m)
                   + 0.08 * np.cos(4 * np.pi * n / m), _blackman)


def _blackman(k: np.ndarray, m: int, t) -> np.ndarray:
    w = k * t(np.pi / m)
    return (_cos(w * t(4)) * t(0.08) - _cos(w * t(2)) * t(0.5)) + t(0.42)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """The Bartlett (triangular) window: ``1 - |2n / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, layout, device,
                   requires_grad, lambda n, m: 1 - np.abs(2 * n / m - 1), _bartlett)


def _bartlett(k: np.ndarray, m: int, t) -> np.ndarray:
    w = k * t(2 / m)
    half = (m >> 1) + 1  # (the second half mirrored: 2 - w)
    w[half:] = t(2) - w[half:]
    return w


def kaiser_window(window_length: int, periodic: bool | None = None, beta: float | None = None,
                  *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """The Kaiser window: ``I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)``."""
    periodic, beta = _overload("kaiser_window", ("periodic", periodic, True),
                               ("beta", beta, 12.0))
    return _window("kaiser_window", window_length, periodic, dtype, layout, device,
                   requires_grad, lambda n, m: np.i0(beta * np.sqrt(
                       np.clip(1 - (2 * n / m - 1) ** 2, 0, None))) / np.i0(beta))


# The meta device (meta.py): the windows are meta tensors when asked for it.
meta_factories(globals(), computed=("bartlett_window", "blackman_window", "hamming_window",
                                    "hann_window", "kaiser_window"))
