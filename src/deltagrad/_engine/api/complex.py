"""Complex numbers: ``real``/``imag`` (views, also Tensor properties), ``view_as_real``,
``view_as_complex``, ``complex``, ``polar``, ``angle``, ``conj`` and PyTorch's three FFT
primitives (``torch._fft_c2c``, ``_fft_r2c``, ``_fft_c2r``; ``deltagrad.fft`` is built on them).

``conj`` always materialises the conjugate (PyTorch returns a lazy view with ``is_conj()``
true): the values are the same, but writing into ``x.conj()`` does not write into ``x``, and
``is_conj`` is always False.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ..autograd import _GradMode
from ..node_names import name_node
from ..ops import OPS
from ..ops.complex import real_dtype
from ..tensor import Tensor, _lift, _result, tensor_method
from ._common import bool_arg, int_arg
from ._pointwise import write_out
from .creation import ones, zeros
from .indexing import index_add

__all__ = ["_fft_c2c", "_fft_c2r", "_fft_r2c", "angle", "complex", "conj", "conj_physical",
           "imag", "is_conj", "is_neg", "istft", "polar", "real", "resolve_conj", "resolve_neg",
           "stft", "view_as_complex", "view_as_real"]

_REAL, _IMAG, _CONJ = OPS["real"], OPS["imag"], OPS["conj_physical"]
_COMPLEX, _POLAR, _ANGLE = OPS["complex"], OPS["polar"], OPS["angle"]
_AS_REAL, _AS_COMPLEX = OPS["view_as_real"], OPS["view_as_complex"]
_C2C, _R2C, _C2R = OPS["_fft_c2c"], OPS["_fft_r2c"], OPS["_fft_c2r"]
_SCALAR_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long",
                 "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                 "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def scalar_name(dtype) -> str:
    """PyTorch's name of a dtype in its messages (float32 -> Float)."""
    return _SCALAR_NAMES.get(np.dtype(dtype).name, str(dtype))


def make(op, inputs: tuple, attrs: dict | None = None, node: str | None = None) -> Tensor:
    """``op`` applied to tensors, its result kept in the dtype the forward gives; ``node``:
    PyTorch's name for the result's graph node where it differs from the op's.

    (``tensor.apply`` narrows a float64 result of inputs that are not float64 to float32,
    which is wrong for the parts of complex128 tensors.)
    """
    if len(inputs) == 1:  # (no list, no generator: 0.4 us of view_as_real's 1.4 on [3, 4])
        x = inputs[0]
        data = op.forward(x._data, **attrs) if attrs else op.forward(x._data)
        requires_grad = x._rg and _GradMode.enabled
    else:
        data = op.forward(*[x._data for x in inputs], **(attrs or {}))
        requires_grad = _GradMode.enabled and any(x._rg for x in inputs)
    out = _result(data, op, inputs, attrs, requires_grad)
    return name_node(out, node) if node is not None and requires_grad else out


def _tensor(x, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")


def _is_complex(x: Tensor) -> bool:
    return x._data.dtype.kind == "c"


# --------------------------------------------------------------------------------------------
# Parts.


def real(input: Tensor) -> Tensor:
    """The real part of a complex tensor, as a view sharing its memory (writable); a real
    tensor is returned itself, as PyTorch does."""
    input = _tensor(input, "real")
    return make(_REAL, (input,), node="SelectBackward0") if _is_complex(input) else input


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as a view sharing its memory (writable).

    Raises:
        RuntimeError: for a real tensor (PyTorch's error).
    """
    input = _tensor(input, "imag")
    if not _is_complex(input):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return make(_IMAG, (input,), node="SelectBackward0")


def _set_part(part):
    def setter(self, value) -> None:
        part(self).copy_(value)  # (PyTorch: x.real = v writes v into x's real part)

    return setter


# Properties, as PyTorch's: x.real / x.imag read (views) and write (copy into the part).
Tensor.real = property(real, _set_part(real), doc="The real part (a view); see ``real``.")
Tensor.imag = property(imag, _set_part(imag), doc="The imaginary part (a view); see ``imag``.")


@tensor_method
def conj(input: Tensor) -> Tensor:
    """The complex conjugate; a real tensor is returned itself.

    deltagrad materialises it (PyTorch returns a lazy view): equal values, but no memory is
    shared with ``input`` and ``is_conj()`` is False.
    """
    input = _tensor(input, "conj")
    return make(_CONJ, (input,), node="ConjBackward0") if _is_complex(input) else input


@tensor_method
def conj_physical(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The complex conjugate, computed (a real tensor is returned itself); ``out`` must have
    the input's dtype, as in PyTorch."""
    if out is None:
        return conj(input)
    return write_out("conj_physical", out, conj(input), exact=True)


@tensor_method
def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself: deltagrad never holds a lazy conjugate (``conj`` computes it)."""
    return _tensor(input, "resolve_conj")


@tensor_method
def is_conj(input: Tensor) -> bool:
    """Always False: ``conj`` materialises the conjugate."""
    _tensor(input, "is_conj")
    return False


@tensor_method
def resolve_neg(input: Tensor) -> Tensor:
    """``input`` itself: deltagrad never holds a lazy negation."""
    return _tensor(input, "resolve_neg")


@tensor_method
def is_neg(input: Tensor) -> bool:
    """Always False: deltagrad never holds a lazy negation."""
    _tensor(input, "is_neg")
    return False


@tensor_method
def angle(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The argument of each element in radians (real result); for real tensors pi for negative
    values and 0 otherwise (NaN stays NaN). Integers and booleans give the default float."""
    from ..dtypes import _Default

    input = _tensor(input, "angle")
    if input._data.dtype.kind in "biu":
        input = _lift(input._data.astype(_Default.float), None)
    result = make(_ANGLE, (input,))
    return result if out is None else write_out("angle", out, result)


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor of shape ``[...]`` seen as a real one of shape ``[..., 2]`` (real and
    imaginary parts last), sharing its memory."""
    input = _tensor(input, "view_as_real")
    if not _is_complex(input):
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return make(_AS_REAL, (input,))


def view_as_complex(input: Tensor) -> Tensor:
    """A real float tensor of shape ``[..., 2]`` seen as a complex one of shape ``[...]``,
    sharing its memory.

    Raises:
        RuntimeError: as PyTorch, unless the dtype is float32 or float64 and the last dim has
            size 2 and stride 1, and every other stride is even.
    """
    input = _tensor(input, "view_as_complex")
    x = input._data
    if x.dtype.kind != "f" or x.dtype.itemsize < 4:
        if x.dtype == np.float16:
            raise NotImplementedError("view_as_complex: complex32 (ComplexHalf) tensors are not "
                                      "supported by deltagrad; use float32 or float64")
        raise RuntimeError("view_as_complex is only supported for half, float and double "
                           f"tensors, but got a tensor of scalar type: {scalar_name(x.dtype)}")
    if x.ndim == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if x.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if x.size == 0:  # (no memory to share; NumPy gives empty arrays any strides)
        return make(_AS_COMPLEX, (input,))
    if x.flags.c_contiguous:  # (the common case: the stride checks below pass)
        return make(_AS_COMPLEX, (input,))
    if x.strides[-1] != x.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * x.itemsize) for s, n in zip(x.strides[:-1], x.shape[:-1]) if n > 1):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    return make(_AS_COMPLEX, (input,))


def _real_pair(name: str, a, b, first: str, second: str) -> tuple[Tensor, Tensor]:
    a, b = _tensor(a, name), _tensor(b, name)
    x, y = a._data.dtype, b._data.dtype
    if x.kind != "f" or y.kind != "f":
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{scalar_name(x)} and {scalar_name(y)}")
    if x != y:
        raise RuntimeError(f"Expected object of scalar type {scalar_name(x)} but got scalar "
                           f"type {scalar_name(y)} for second argument")
    if x == np.float16:
        raise NotImplementedError(f"{name}: complex32 (ComplexHalf) tensors are not supported "
                                  "by deltagrad; use float32 or float64")
    # (a loop over the dims, not np.broadcast_shapes: ~1.5 us of Python; complex / polar fwd +
    # bwd, op_overhead.py, 0.70 / 0.63 -> 0.61 / 0.59 x PyTorch, 2 runs each; s27 SP37)
    for m, n in zip(reversed(a._data.shape), reversed(b._data.shape)):
        if m != n and m != 1 and n != 1:
            raise RuntimeError(f"{name}: the shapes of {first} {tuple(a.shape)} and {second} "
                               f"{tuple(b.shape)} cannot be broadcast together")
    return a, b


def complex(real: Tensor, imag: Tensor, *, out=None) -> Tensor:  # noqa: A001 - PyTorch's name
    """The complex tensor ``real + i imag`` (float32 -> complex64, float64 -> complex128;
    the two broadcast and must share one dtype); ``out`` must have that dtype."""
    real, imag = _real_pair("complex", real, imag, "real", "imag")
    result = make(_COMPLEX, (real, imag))
    return result if out is None else write_out("complex", out, result, exact=True)


def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002 - PyTorch's names
    """The complex tensor ``abs * (cos(angle) + i sin(angle))``."""
    abs, angle = _real_pair("polar", abs, angle, "abs", "angle")
    return make(_POLAR, (abs, angle))


# --------------------------------------------------------------------------------------------
# PyTorch's FFT primitives: dim a sequence of distinct dims; normalization 0 (none),
# 1 (1/sqrt(n)) or 2 (1/n), n the signal's points over dim.


def _dims(dim, ndim: int) -> tuple:
    key = None
    if type(dim) in (tuple, list) and all(type(d) is int for d in dim):
        key = (tuple(dim), ndim)
        dims = _DIMS.get(key)
        if dims is not None:  # (checked once per dims and rank: 1.2 -> 0.5 us)
            return dims
    from ._common import wrap_dim

    dims = tuple(wrap_dim(d, ndim) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    if key is not None and len(_DIMS) < 256:
        _DIMS[key] = dims
    return dims


_DIMS: dict = {}


def _fft_c2c(input: Tensor, dim, normalization: int, forward: bool) -> Tensor:
    """The complex-to-complex transform over ``dim`` (``forward``: e^{-i...})."""
    input = _tensor(input, "_fft_c2c")
    if not _is_complex(input):
        raise RuntimeError(f"_fft_c2c expects a complex input tensor, but got "
                           f"{scalar_name(input._data.dtype)}")
    return make(_C2C, (input,), {"dim": _dims(dim, input.ndim),  # (named: node_names._FIXED)
                                 "normalization": int(normalization), "forward": bool(forward)})


def _fft_r2c(input: Tensor, dim, normalization: int, onesided: bool) -> Tensor:
    """The real-to-complex forward transform over ``dim`` (``onesided``: the last dim's
    non-negative frequencies only, n // 2 + 1 of them)."""
    input = _tensor(input, "_fft_r2c")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"_fft_r2c expects a floating point input tensor, but got "
                           f"{scalar_name(input._data.dtype)}")
    return make(_R2C, (input,), {"dim": _dims(dim, input.ndim),  # (named: node_names._FIXED)
                                 "normalization": int(normalization), "onesided": bool(onesided)})


def _fft_c2r(input: Tensor, dim, normalization: int, last_dim_size: int) -> Tensor:
    """The complex-to-real inverse transform over ``dim`` of a one-sided (Hermitian) spectrum;
    the last dim's output has ``last_dim_size`` points."""
    input = _tensor(input, "_fft_c2r")
    if not _is_complex(input):
        raise RuntimeError(f"_fft_c2r expects a complex input tensor, but got "
                           f"{scalar_name(input._data.dtype)}")
    return make(_C2R, (input,), {"dim": _dims(dim, input.ndim),  # (named: node_names._FIXED)
                                 "normalization": int(normalization),
                                 "last_dim_size": int(last_dim_size)})


# --------------------------------------------------------------------------------------------
# Short-time Fourier transforms, from the primitives above and differentiable tensor ops
# (reflect pad, unfold, index_add), as PyTorch computes them.


def _stft_window(window, win_length: int, n_fft: int, like: Tensor, name: str) -> Tensor:
    """The window (ones by default) centred in ``n_fft`` points with zeros either side."""
    if window is None:
        window = ones(win_length, dtype=real_dtype_of(like))
    elif window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{name}: expected a 1D window tensor of size equal to win_length="
                           f"{win_length}, but got window with size {tuple(window.shape)}")
    left = (n_fft - win_length) // 2
    if left or n_fft - win_length - left:
        window = make(_PAD, (window,), {"pad": (left, n_fft - win_length - left),
                                        "mode": "constant", "value": 0.0})
    return window


def real_dtype_of(x: Tensor):
    return real_dtype(x._data.dtype)


_PAD = OPS["pad"]


def _stft_pad(n_fft) -> int:
    """``int(n_fft // 2)``, as PyTorch's stft computes its centring pad before it checks that
    ``n_fft`` is an int: a tensor of several elements is a ValueError there."""
    if isinstance(n_fft, Tensor):
        if n_fft._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(n_fft._data.reshape(()) // 2)
    if not isinstance(n_fft, numbers.Real):
        raise TypeError(f"stft(): argument 'n_fft' must be int, not {type(n_fft).__name__}")
    return int(n_fft // 2)


@tensor_method
def stft(input: Tensor, n_fft: int, hop_length: int | None = None,
         win_length: int | None = None, window: Tensor | None = None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """The short-time Fourier transform of ``input`` ([L] or [B, L]): frames of ``n_fft``
    points every ``hop_length`` (default n_fft // 4), times ``window`` (default ones of
    ``win_length`` = n_fft, centred), transformed. Returns [B?, n_fft // 2 + 1 (one-sided) or
    n_fft, frames], complex (``return_complex=True``) or as (real, imaginary) pairs.
    ``align_to_window`` (``center=False`` only): True frames the signal by the window, not by
    ``n_fft``; the same unless ``win_length < n_fft``, which deltagrad does not implement."""
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if align_to_window and win_length is not None and win_length != n_fft:
        raise NotImplementedError(f"stft: align_to_window=True with win_length={win_length} < "
                                  f"n_fft={n_fft} is not implemented in deltagrad")
    input = _tensor(input, "stft")
    if center:  # PyTorch pads before its parser sees the arguments: these errors come first
        pad = _stft_pad(n_fft)
        if input._data.dtype.kind == "b" and pad_mode == "reflect":
            raise NotImplementedError("\"reflection_pad1d\" not implemented for 'Bool'")
        width = input.shape[-1] if input.ndim else 1
        if pad_mode == "reflect" and (pad >= width or width == 0):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({pad}, {pad}) at dimension "
                               f"{max(input.ndim, 1)} of input {[1] * (3 - input.ndim)}"
                               f"{list(input.shape)}")
    n_fft = int_arg(n_fft, "n_fft", "stft")
    hop_length = None if hop_length is None else int_arg(hop_length, "hop_length", "stft")
    win_length = None if win_length is None else int_arg(win_length, "win_length", "stft")
    if window is None:
        _warn_no_window("stft")
    complex_input = _is_complex(input) or (window is not None and _is_complex(window))
    if return_complex is None:
        if not complex_input:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        return_complex = True
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, got {input.ndim}D")
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(f"stft: expected a floating or complex input, got "
                           f"{scalar_name(input._data.dtype)}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if center:
        pad = n_fft // 2
        if pad_mode != "constant" and pad >= x.shape[-1]:
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({pad}, {pad})"
                               f" at dimension 2 of input [1, {x.shape[0]}, {x.shape[-1]}]")
        x = make(_PAD, (x,), {"pad": (pad, pad), "mode": pad_mode, "value": 0.0})
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop_length <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop_length}")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"stft: expected 0 < win_length <= n_fft, but got "
                           f"win_length={win_length}")
    window = _stft_window(window, win_length, n_fft, x, "stft")
    if onesided is None:
        onesided = not complex_input
    elif onesided and complex_input:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    frames = x.unfold(-1, n_fft, hop_length) * window  # [B, frames, n_fft]
    code = 1 if normalized else 0
    if complex_input:
        if not _is_complex(frames):
            frames = frames.to(np.complex128 if frames._data.dtype == np.float64
                               else np.complex64)
        out = _fft_c2c(frames, (2,), code, True)
    else:
        out = _fft_r2c(frames, (2,), code, onesided)
    out = out.transpose(1, 2)
    if input.ndim == 1:
        out = out.reshape(out.shape[1:])
    return out if return_complex else view_as_real(out)


_WARNED_NO_WINDOW: set = set()


def _warn_no_window(name: str) -> None:
    """PyTorch's warning, once a process for each of stft / istft, when no window is given
    (without its "(Triggered internally at ...)" tail, a C++ source position)."""
    if name not in _WARNED_NO_WINDOW:
        _WARNED_NO_WINDOW.add(name)
        why = ("which is known to cause spectral leakage. Other windows such as "
               "torch.hann_window or torch.hamming_window are recommended to reduce spectral "
               "leakage." if name == "stft" else
               "Please provide the same window used by stft to make the inversion lossless.")
        warnings.warn(f"A window was not provided. A rectangular window will be applied"
                      f"{',' if name == 'stft' else '.'}{why}To suppress this warning and use a "
                      f"rectangular window, explicitly set `window=torch.ones(n_fft, "
                      f"device=<device>)`.", UserWarning, stacklevel=3)


@tensor_method
def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """The inverse of ``stft`` (overlap-add of the windowed inverse transforms, divided by the
    summed squared window): ``input`` [B?, freq, frames] complex; returns [B?, samples]."""
    input = _tensor(input, "istft")
    if window is None:
        _warn_no_window("istft")
    n_fft = int_arg(n_fft, "n_fft", "istft")
    hop_length = None if hop_length is None else int_arg(hop_length, "hop_length", "istft")
    win_length = None if win_length is None else int_arg(win_length, "win_length", "istft")
    center, normalized = bool_arg(center, "center", "istft"), bool_arg(normalized, "normalized",
                                                                         "istft")
    length = None if length is None else int_arg(length, "length", "istft")
    return_complex = bool_arg(return_complex, "return_complex", "istft")
    if not _is_complex(input):
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex dtype, "
                           f"got {input.ndim}")
    z = input if input.ndim == 3 else input.reshape((1,) + tuple(input.shape))
    hop_length = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    fft_size, n_frames = z.shape[1], z.shape[2]
    if onesided is None:
        onesided = fft_size != n_fft
    if onesided and fft_size != n_fft // 2 + 1:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft / 2 + 1 when onesided=True, but got "
                           f"{fft_size}")
    if not onesided and fft_size != n_fft:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop_length <= win_length:
        raise RuntimeError("istft: expected 0 < hop_length <= win_length")
    if not 0 < win_length <= n_fft:
        raise RuntimeError("istft: expected 0 < win_length <= n_fft")
    if return_complex and onesided:
        raise RuntimeError("cannot have onesided output if window or input is complex")
    window = _stft_window(window, win_length, n_fft, z, "istft")
    z = z.transpose(1, 2)  # [B, frames, freq]
    code = 1 if normalized else 2
    if return_complex:
        frames = _fft_c2c(z, (2,), code, False)
    else:
        if not onesided:
            z = z[:, :, :n_fft // 2 + 1]
        frames = _fft_c2r(z, (2,), code, n_fft)
    frames = frames * window
    expected = n_fft + hop_length * (n_frames - 1)
    positions = (np.arange(n_frames)[:, None] * hop_length + np.arange(n_fft)).reshape(-1)
    index = _lift(positions, None)
    batch = frames.shape[0]
    y = index_add(zeros(batch, expected, dtype=frames.dtype), 1, index,
                  frames.reshape(batch, -1))
    squares = (window * window).expand(n_frames, n_fft).reshape(-1)
    envelope = index_add(zeros(expected, dtype=squares.dtype), 0, index, squares)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = expected - n_fft // 2 if center else expected
    y, envelope = y[:, start:end], envelope[start:end]
    if envelope.shape[0] and float(np.abs(envelope._data).min()) < 1e-11:
        raise RuntimeError("istft: window overlap add min: 1")
    y = y / envelope
    if end > expected:  # a longer length than the frames cover: zeros
        y = make(_PAD, (y,), {"pad": (0, end - expected), "mode": "constant", "value": 0.0})
    return y if input.ndim == 3 else y.reshape(y.shape[1:])
