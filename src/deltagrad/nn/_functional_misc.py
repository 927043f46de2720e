"""Padding, resampling, norms of rows and channel dropout of ``torch.nn.functional``: ``pad``,
``interpolate``, ``normalize``, ``pdist``, ``dropout1d/2d/3d``, ``alpha_dropout`` and
``feature_alpha_dropout`` (re-exported by ``nn.functional``)."""

from __future__ import annotations

import builtins
import math
import numbers
import warnings

import numpy as np

from .._engine.api._common import index_or_none
from .._engine.api._common import tensor_input as _t
from .._engine.api._pointwise import write_out
from .._engine.api.linalg import matmul as _matmul  # (not `@`: see pooling2d.py's import)
from .._engine.api.norms import vector_norm
from .._engine.api.pointwise import where as dg_where
from .._engine.meta import MetaArray
from .._engine.ops import OPS
from .._engine.promotion import check_fits
from .._engine.random import dropout_keep
from .._engine.tensor import Tensor, _leaf, apply
from ._functional_args import check_int_list, check_number, check_reduced_kernel
from .conv import adaptive_avg_pool1d
from .conv2d_kernels import channels_last_like, in_channels_last
from .pooling2d import adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["alpha_dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout",
           "interpolate", "normalize", "pad", "pdist"]

# ----------------------------------------------------------------------------------------------
# Output layouts. PyTorch lays out the results of pad, interpolate and the pixel shuffles as its
# suggest_memory_format reads a 4-D or 5-D input: channels-last in, channels-last out. A dropout
# drawn afterwards fills its mask in memory order, so the layout decides which mask it draws.


def suggests_channels_last(array: np.ndarray) -> bool:
    """Whether PyTorch's ``suggest_memory_format`` calls ``array`` channels-last (4-D, the rule
    of ``channels_last_like``) or channels-last-3d (5-D: the same rule over the dims in the order
    C, W, H, D, N)."""
    if array.ndim == 4:
        return channels_last_like(array)
    if array.ndim != 5 or array.strides[1] == 0:
        return False
    sizes, strides = array.shape, array.strides
    span = 0
    for dim in (1, 4, 3, 2, 0):
        if sizes[dim] == 0 or strides[dim] < span:
            return False
        if dim == 0 and span == strides[1]:  # (PyTorch's: ambiguous [N, 1, 1, 1, 1]-likes)
            return False
        span = strides[dim] * sizes[dim] if sizes[dim] > 1 else strides[dim]
    return True


def channels_last_copy(array: np.ndarray) -> np.ndarray:
    """``array`` ``[N, C, *spatial]`` (4-D or 5-D) with PyTorch's channels-last strides exactly
    (itself if it has them, else a copy; the values unchanged)."""
    to_last = (0, *range(2, array.ndim), 1)
    if type(array).__name__ == "MetaArray":  # (a meta tensor's: the layout only, no copy)
        step, last = array.itemsize, {}
        for d in reversed(to_last):
            last[d], step = step, step * array.shape[d]
        return type(array)(array.shape, array.dtype, tuple(last[d] for d in range(array.ndim)))
    if array.ndim == 4:
        return in_channels_last(array, True)
    out = np.empty([array.shape[d] for d in to_last], array.dtype)
    back = (0, array.ndim - 1, *range(1, array.ndim - 1))
    if array.strides == out.transpose(back).strides:
        return array
    np.copyto(out, array.transpose(to_last))
    return out.transpose(back)


def keep_channels_last(out: Tensor, input: np.ndarray) -> Tensor:
    """``out`` (a fresh result, not a view) laid out channels-last in place where PyTorch's rule
    calls ``input`` channels-last; its node (grad_fn) and values stay."""
    if (out._data.ndim == 4 or out._data.ndim == 5) and suggests_channels_last(input):
        out._data = channels_last_copy(out._data)
    return out


def preserve_layout(out: Tensor, input: np.ndarray) -> Tensor:
    """``out`` (a fresh result of ``input``'s rank) laid out dense in the order of ``input``'s
    strides, as PyTorch's ``clone`` (preserve_format) of a view of ``input`` lays it out."""
    if input.flags.c_contiguous or out._data.size == 0:
        return out
    like = np.lib.stride_tricks.as_strided(input, out._data.shape, input.strides)  # (not read)
    relaid = np.empty_like(like, order="K")
    if relaid.strides != out._data.strides:
        np.copyto(relaid, out._data)
        out._data = relaid
    return out


# ----------------------------------------------------------------------------------------------
# pad.

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_widths(pad) -> tuple[int, ...]:
    """``pad`` as PyTorch's int-list parser takes it: a sequence of ints (one-element integer
    tensors count); a tensor, a bare number or a bool/float element is its TypeError."""
    if type(pad) is tuple and all([type(w) is int for w in pad]):
        return pad  # (plain ints, the usual case: no ABC checks; 1.3 -> 0.2 us, session 11 PC)
    where = "pad(): argument 'pad' (position 2) must be tuple of ints"
    if isinstance(pad, (Tensor, numbers.Number)):
        raise TypeError(f"{where}, not {type(pad).__name__}")
    widths = []
    for i, w in enumerate(pad):
        integral = isinstance(w, numbers.Integral) and not isinstance(w, bool) or \
            index_or_none(w) is not None  # (an __index__ object is an int to PyTorch)
        if isinstance(w, Tensor):
            integral = w.numel() == 1 and w.dtype not in ("bool",) and not (
                w.dtype.is_floating_point or w.dtype.is_complex)
        if not integral:
            raise TypeError(f"{where}, but found element of type {type(w).__name__} at pos {i}")
        widths.append(int(w))
    return tuple(widths)


def pad(input, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative widths, crop) the trailing dimensions of ``input``.

    Args:
        input: any shape and dtype.
        pad: ``(left, right)`` widths for the last dimension, then for the one before it, ...
            (at most two per dimension); negative widths crop.
        mode: ``'constant'`` (fill with ``value``, any number of dimensions), or
            ``'reflect'``, ``'replicate'``, ``'circular'`` (the last 1, 2 or 3 dimensions of a
            ``[C, *]`` or ``[N, C, *]`` input).
        value: the fill of constant padding (0 by default).

    Returns:
        The padded tensor, of the input's dtype.

    >>> import deltagrad as dg
    >>> pad(dg.tensor([[1, 2, 3]]), (1, 2))
    tensor([[0, 1, 2, 3, 0, 0]])
    >>> pad(dg.tensor([[[1.0, 2.0, 3.0]]]), (2, 1), mode="reflect")
    tensor([[[3., 2., 1., 2., 3., 2.]]])
    """
    x = _t(input)
    widths = _pad_widths(pad)
    if len(widths) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2 (pad: got {len(widths)})")
    if len(widths) > 2 * x.ndim:
        raise RuntimeError(f"pad: padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(widths)} and input of "
                           f"dimension {x.ndim}")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode} (pad: expected one of "
                                  f"{', '.join(_PAD_MODES)})")
    if mode == "constant":
        shape = x._data.shape  # (the array's: no Size made per dim)
        for k in range(len(widths) // 2):
            axis = len(shape) - 1 - k
            if shape[axis] + widths[2 * k] + widths[2 * k + 1] < 0 or (
                    shape[axis] + min(widths[2 * k], 0) + min(widths[2 * k + 1], 0) < 0):
                raise RuntimeError(f"pad: negative widths {widths[2 * k:2 * k + 2]} crop more "
                                   f"than dimension {axis} of input {x.shape} holds")
        out = apply(OPS["pad"], x, pad=widths, mode="constant",
                    value=_fill_value(0 if value is None else value, x._data.dtype))
        if max(widths, default=0) <= 0:  # PyTorch's result is then a clone of the cropped view
            return preserve_layout(out, x._data)
        return keep_channels_last(out, x._data)
    _check_nonconstant_pad(x, widths, mode, value)
    out = apply(OPS["pad"], x, pad=widths, mode=mode, value=0)
    # (PyTorch's circular padding is made row-major, whatever the input's layout)
    return out if mode == "circular" else keep_channels_last(out, x._data)


_FILLS: dict = {}


def _fill_value(fill, dtype):
    """The constant fill as the input's dtype holds it, as a Python number, checked as
    PyTorch's constant_pad_nd converts it: a value out of the dtype's range is its
    RuntimeError (300 into int8, -1 into uint8, 1e10 into float16; the cast gave 44, 255 or
    inf with NumPy's warning). Cached by (type, value, dtype): the conversion was 1.4 of pad's
    ~5 us forward ([2, 3] float32, value 0.5); a float zero (its sign) and nan (no equal key)
    are converted each time. op_overhead.py --ops pad 0.75 -> 0.66 x PyTorch (s27 SP37)."""
    kind = type(fill)
    if kind is not int and kind is not float and kind is not bool:  # (NumPy scalars, ...)
        return np.asarray(fill).astype(dtype).item()
    key = (kind, fill, dtype)
    found = _FILLS.get(key)
    if found is None:
        if kind is int and dtype.kind in "iu":  # (no wrapping into unsigned dtypes)
            info = np.iinfo(dtype)
            if not info.min <= fill <= info.max:
                raise RuntimeError(f"value cannot be converted to type {dtype} without "
                                   "overflow")
        elif kind is not bool:
            check_fits(fill, dtype)
        found = np.asarray(fill).astype(dtype).item()
        if kind is not float or (fill != 0.0 and fill == fill):
            if len(_FILLS) >= 256:
                _FILLS.clear()
            _FILLS[key] = found
    return found


# (shape, dtype kind, widths, mode) already checked: the checks are 3.7 of pad's 6.6 us on
# [2, 4] replicate; with the cache pad is 0.66 -> 0.44 x PyTorch (session 11 PC, op_overhead).
_CHECKED_PADS: set = set()


def _check_nonconstant_pad(x: Tensor, widths: tuple, mode: str, value) -> None:
    if value is not None and value != 0:
        raise RuntimeError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
    key = (x._data.shape, x._data.dtype.kind, widths, mode)
    if key in _CHECKED_PADS:
        return
    _check_pad_shapes(x, widths, mode)
    if len(_CHECKED_PADS) >= 256:
        _CHECKED_PADS.clear()
    _CHECKED_PADS.add(key)


def _check_pad_shapes(x: Tensor, widths: tuple, mode: str) -> None:
    dims = len(widths) // 2
    if dims not in (1, 2, 3) or x.ndim not in (dims + 1, dims + 2):
        raise NotImplementedError(
            f"pad: padding size {len(widths)} is not supported for {x.ndim}D input tensor in "
            f"mode {mode!r}; supported: 2D or 3D input with padding size 2 (last dimension), "
            "3D or 4D with size 4 (last 2), 4D or 5D with size 6 (last 3)")
    if x._data.dtype.kind == "b" and mode != "circular":
        raise NotImplementedError(f"pad: mode {mode!r} is not implemented for bool input")
    first_padded = x.ndim - dims
    # (reflect / replicate: an unbatched input's channels must be non-empty too)
    batch = 1 if x.ndim == dims + 2 or mode == "circular" else 0
    if any(n == 0 for n in x.shape[batch:first_padded]) or any(
            n == 0 for n in x.shape[first_padded:]):
        raise RuntimeError(f"pad: mode {mode!r} expects non-empty dimensions (except the batch "
                           f"dimension), got input of shape {x.shape}")
    for k in range(dims):
        axis = x.ndim - 1 - k
        left, right, size = widths[2 * k], widths[2 * k + 1], x.shape[axis]
        if mode == "reflect" and (left >= size or right >= size):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({left}, "
                               f"{right}) at dimension {axis} of input {list(x.shape)}")
        if mode == "circular":
            # (PyTorch crops first, then wraps: a dimension cropped to nothing and padded by
            # nothing is an empty result; wrapping past the kept part reads PyTorch's
            # uninitialised memory or raises its overlap error: an error here)
            kept = size - max(-left, 0) - max(-right, 0)
            if left > kept or right > kept or kept < 0:
                raise RuntimeError(f"pad: padding ({left}, {right}) at dimension {axis} of "
                                   f"input {list(x.shape)} wraps around more than once")
            continue
        if size + left + right <= 0:
            raise RuntimeError(f"pad: padding ({left}, {right}) at dimension {axis} of input "
                               f"{list(x.shape)} leaves an empty output")


# ----------------------------------------------------------------------------------------------
# interpolate.

_INTERPOLATE_MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1,
                      "bilinear": 2, "bicubic": 2, "trilinear": 3}
_AREA_POOLS = {1: adaptive_avg_pool1d, 2: adaptive_avg_pool2d, 3: adaptive_avg_pool3d}


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample the spatial dimensions of ``[N, C, *spatial]`` (1 to 3 of them).

    Indices and weights follow PyTorch's (``area_pixel_compute_source_index``), so results
    match to rounding. ``area`` is adaptive average pooling to the output size, as in
    PyTorch. ``antialias`` (bilinear, bicubic; not with ``align_corners``) widens the filter
    by the downscaling factor, as PyTorch's (and PIL's) antialiased resize does.

    Args:
        input: floating ``[N, C, L]``, ``[N, C, H, W]`` or ``[N, C, D, H, W]``.
        size: the output's spatial size (an int or one per spatial dimension).
        scale_factor: multiplier(s) of the spatial size (output size is floored).
        mode: ``'nearest'``, ``'nearest-exact'``, ``'area'``, ``'linear'`` (3-D), ``'bilinear'`` or
            ``'bicubic'`` (4-D) or ``'trilinear'`` (5-D).
        align_corners: for the linear modes: map corner pixels onto corner pixels.
        recompute_scale_factor: compute the scale from the sizes rather than use
            ``scale_factor`` in the index computation.

    Returns:
        ``[N, C, *size]``.
    """
    x = _t(input)
    if mode not in _INTERPOLATE_MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (supported: "
                                  f"{', '.join(_INTERPOLATE_MODES)})")
    if antialias:
        if mode not in ("bilinear", "bicubic") or x.ndim != 4:  # PyTorch's check, and error
            raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                             "modes and requires a 4-D tensor as input")
        if align_corners:
            raise NotImplementedError("interpolate: antialias=True with align_corners=True "
                                      "is not supported by deltagrad")
        if x.dtype.kind != "f":
            raise NotImplementedError(f"interpolate: antialias=True is not implemented for "
                                      f"{x.dtype} input (deltagrad: floating inputs only)")
        out_size, scales = _output_size(x, 2, size, scale_factor, recompute_scale_factor)
        if min(x.shape[2:]) <= 0 or min(out_size) <= 0:  # (PyTorch's check, as below)
            raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, "
                               f"but got input {list(x.shape[2:])} and output {list(out_size)}")
        source = x._data
        # (PyTorch's separable kernel: the width first, then the height)
        for axis in (3, 2):
            x = _antialias_along(x, axis, x.shape[axis], out_size[axis - 2], scales[axis - 2],
                                 mode == "bicubic")
        return keep_channels_last(x.contiguous(), source)
    if _INTERPOLATE_MODES[mode] is None and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    spatial = x.ndim - 2
    # (PyTorch's order: size / scale_factor first, then the input's dims, then its dtype)
    _output_size(x, spatial, size, scale_factor, recompute_scale_factor, True)
    if spatial not in (1, 2, 3):
        raise NotImplementedError(f"interpolate: only 3D, 4D and 5D input tensors are supported "
                                  f"(got {x.ndim}D) for mode {mode!r}")
    if _INTERPOLATE_MODES[mode] not in (None, spatial):
        raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs "
                                  f"{_INTERPOLATE_MODES[mode] + 2}D input (interpolate)")
    out_size, scales = _output_size(x, spatial, size, scale_factor, recompute_scale_factor)
    if x.dtype.kind not in "fc" and not (x.dtype.kind == "u" and mode.startswith("nearest")):
        # (PyTorch's nearest kernels take uint8 images too)
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented for "
                                  f"{x.dtype} input of shape {x.shape}")
    if mode == "area":  # PyTorch's too: the windows depend on the sizes only, never the scale
        pooled = _AREA_POOLS[spatial](x, out_size)
        # (PyTorch's adaptive_avg_pool3d is row-major whatever the input's layout)
        return keep_channels_last(pooled, x._data) if spatial == 2 else pooled
    source = x._data
    axes = list(enumerate(zip(x.shape[2:], out_size, scales), start=2))
    products = x._data.dtype in _MATRIX_DTYPES and (  # (a meta input: no values to check)
        type(source).__name__ == "MetaArray" or np.isfinite(x._data).all())
    if not products and _INTERPOLATE_MODES[mode] is not None:
        # (the taps in PyTorch's order: its kernels sum the last axis's taps first, then the
        # one before it, which decides where inf * 0 and inf - inf leave nan)
        axes.reverse()
    for axis, (n_in, n_out, scale) in axes:
        if n_in <= 0 or n_out <= 0:
            raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, "
                               f"but got input {n_in} and output {n_out} (dimension {axis})")
        if _INTERPOLATE_MODES[mode] is None:
            index = _nearest_index(n_in, n_out, scale, mode == "nearest-exact")
            x = x.index_select(axis, _leaf(index))
        elif products:
            # (a product with the whole matrix turns inf * 0 into nan in every output: inputs
            # with inf / nan take the taps, as PyTorch's kernels, below)
            x = _resample_along(x, axis, _resampling(mode == "bicubic", n_in, n_out, scale,
                                                     bool(align_corners), x._data.dtype))
        else:
            taps = (_cubic_taps if mode == "bicubic" else _linear_taps)(
                n_in, n_out, scale, bool(align_corners), np.dtype(x.dtype))
            x = _taps_along(x, axis, n_out, taps)
    # PyTorch's result is row-major or, for a channels-last input, channels-last (index_select
    # along an inner axis leaves another layout here); dropout draws its masks in memory order.
    return keep_channels_last(x.contiguous(), source)


def _output_size(x: Tensor, spatial: int, size, scale_factor, recompute: bool | None,
                 python_checks: bool = False):
    """The output's spatial size and the scale (or None) each index computation uses; with
    ``python_checks`` only the checks PyTorch's Python code makes before the input's dims (a
    sequence's length; its parser's type checks come after them)."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        sizes = list(size) if isinstance(size, (tuple, list)) else [size] * builtins.max(
            spatial, 0)
        if len(sizes) != builtins.max(spatial, 0):
            raise ValueError(f"interpolate: input with {spatial} spatial dimensions "
                             f"{list(x.shape[2:])} and output size {tuple(sizes)} differ in "
                             "length")
        if python_checks:
            return None
        return check_int_list(sizes, "output_size", "interpolate"), [None] * spatial
    factors = (list(scale_factor) if isinstance(scale_factor, (tuple, list))
               else [scale_factor] * builtins.max(spatial, 0))
    if len(factors) != builtins.max(spatial, 0):
        raise ValueError(f"interpolate: input with {spatial} spatial dimensions and "
                         f"scale_factor {tuple(factors)} differ in length")
    if python_checks:
        return None
    factors = [_scale_factor(f) for f in factors]
    sizes = [math.floor(float(n * f)) for n, f in zip(x.shape[2:], factors)]
    return sizes, ([None] * spatial if recompute else [float(f) for f in factors])


def _scale_factor(value) -> float:
    """One scale factor as PyTorch's parser reads a ``float[]`` entry (no tensors, no bools)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"interpolate(): argument 'scale_factors' must be tuple of floats, but "
                        f"found element of type {type(value).__name__}")
    return value


def _scale(n_in: int, n_out: int, scale, dtype) -> np.floating:
    # PyTorch's compute_scales_value: 1 / scale_factor when one is used, else in / out.
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(n_in) / dtype.type(n_out)


def _nearest_index(n_in: int, n_out: int, scale, exact: bool) -> np.ndarray:
    # NOTE: computed in float32, as PyTorch's nearest kernels do, so that ties round alike.
    positions = np.arange(n_out, dtype=np.float32)
    if exact:
        positions += np.float32(0.5)
    source = np.floor(positions * _scale(n_in, n_out, scale, np.dtype(np.float32)))
    return np.minimum(source.astype(np.int64), n_in - 1)


def _source_positions(n_in: int, n_out: int, scale, align_corners: bool,
                      dtype: np.dtype) -> np.ndarray:
    """The input coordinate of each output position along one axis (PyTorch's, in ``dtype``):
    corners aligned, or pixel centres mapped by the scale, unclamped."""
    positions = np.arange(n_out).astype(dtype)
    if align_corners:
        step = dtype.type((n_in - 1) / (n_out - 1)) if n_out > 1 else dtype.type(0)
        return step * positions
    # NOTE: PyTorch's kernels compute scale * (i + 0.5) - 0.5 in double (0.5 is a C++ double),
    # a float32 scale included, and round once at the end. It decides whether a weight is 0
    # or 3e-8, so whether inf * weight is nan or inf.
    wide = np.float64(_scale(n_in, n_out, scale, dtype)) * (positions.astype(np.float64) + 0.5)
    return (wide - 0.5).astype(dtype)


def _taps_along(x: Tensor, axis: int, n_out: int, taps: list) -> Tensor:
    """Linear or cubic interpolation along one axis as PyTorch's kernels add it, tap by tap:
    ``sum_k x[index_k] * weight_k`` (``_linear_taps`` / ``_cubic_taps``); separable, so the
    2-d and 3-d modes apply it per axis (the width first, as PyTorch's kernels)."""
    shape = [1] * x.ndim
    shape[axis] = n_out
    out = None
    for index, weight in taps:
        term = x.index_select(axis, _leaf(index)) * _leaf(weight.reshape(shape))
        out = term if out is None else out + term
    return out


# Linear and cubic resampling of float32 / float64 inputs along an axis as one product with an
# [n_out, n_in] matrix of the taps' weights (the taps that _taps_along adds,
# weights added where clamped taps repeat), made once per geometry: one graph node per axis
# where the taps made 5 (linear) or 11 (cubic), and matmul's rule gives the gradient. The
# values are the taps' sums up to rounding (a dot product's order and, where a tap repeats,
# its weights summed first). On OpInfo's samples, fwd + bwd x PyTorch's time: bicubic 2.30
# -> 0.76, bilinear 2.30 -> 0.87, trilinear 2.20 -> 1.01, linear 1.66 -> 0.68
# (benchmarks/opinfo_overhead.py, medians of 3 alternated runs, one thread, s14 SP).
_MATRIX_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_RESAMPLINGS: dict = {}


def _resampling(cubic: bool, n_in: int, n_out: int, scale, align_corners: bool,
                dtype) -> np.ndarray:
    """The read-only ``[n_out, n_in]`` matrix of linear or cubic resampling along one axis."""
    key = (cubic, n_in, n_out, scale, align_corners, dtype)
    matrix = _RESAMPLINGS.get(key)
    if matrix is not None:
        return matrix
    rows = np.arange(n_out)
    matrix = np.zeros((n_out, n_in), dtype)
    for index, weight in (_cubic_taps if cubic else _linear_taps)(
            n_in, n_out, scale, align_corners, dtype):
        np.add.at(matrix, (rows, index), weight)
    matrix.flags.writeable = False
    if len(_RESAMPLINGS) >= 1024:
        _RESAMPLINGS.clear()
    _RESAMPLINGS[key] = matrix
    return matrix


def _resample_along(x: Tensor, axis: int, matrix: np.ndarray) -> Tensor:
    """``x`` with its ``axis`` mapped through ``matrix`` ``[n_out, n_in]``."""
    last = x._data.ndim - 1
    if axis == last:
        return _matmul(x, _leaf(matrix.T))
    if axis == last - 1:
        return _matmul(_leaf(matrix), x)
    shape = x._data.shape
    rows = shape[:axis]
    # (the trailing size spelled out: -1 is ambiguous for a zero-size batch)
    y = _matmul(_leaf(matrix), x.reshape(rows + (shape[axis], math.prod(shape[axis + 1:]))))
    return y.reshape(rows + (matrix.shape[0],) + shape[axis + 1:])


def _linear_taps(n_in: int, n_out: int, scale, align_corners: bool, dtype) -> list:
    """[(source index, weight)] per output position of linear interpolation (PyTorch's)."""
    if n_in == n_out:  # (PyTorch's copy: the second tap is the same input, weighted 0)
        index = np.arange(n_in)
        return [(index, np.ones(n_in, dtype)), (index, np.zeros(n_in, dtype))]
    source = _source_positions(n_in, n_out, scale, align_corners, dtype)
    if not align_corners:
        source = np.maximum(source, 0)
    low = np.minimum(source.astype(np.int64), n_in - 1)
    high = low + (low < n_in - 1)
    frac = np.clip(source - low.astype(dtype), 0, 1).astype(dtype)
    return [(low, (1 - frac).astype(dtype)), (high, frac)]


def _cubic_taps(n_in: int, n_out: int, scale, align_corners: bool, dtype) -> list:
    """[(source index, weight)] per output position of Keys' cubic (a = -0.75, PyTorch's)."""
    source = _source_positions(n_in, n_out, scale, align_corners, dtype)
    floor = np.floor(source)
    t = (source - floor).astype(dtype)
    a = dtype.type(-0.75)

    def near(d):  # |d| <= 1
        return ((a + 2) * d - (a + 3)) * d * d + 1

    def far(d):  # 1 < |d| < 2
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a

    base = floor.astype(np.int64) - 1
    return [(np.clip(base + k, 0, n_in - 1), weight.astype(dtype))
            for k, weight in enumerate((far(t + 1), near(t), near(1 - t), far(2 - t)))]


def _antialias_along(x: Tensor, axis: int, n_in: int, n_out: int, scale, cubic: bool):
    # PyTorch's antialiased resampling along one axis: each output is a normalised sum of the
    # inputs under a filter (triangle, or Keys' cubic with a = -0.5) stretched by the
    # downscaling factor; written as an [n_out, n_in] matrix, so matmul gives the gradient.
    dtype = np.dtype(x.dtype)
    step = float(_scale(n_in, n_out, scale, np.dtype(np.float64)))
    support = (2.0 if cubic else 1.0) * (step if step >= 1.0 else 1.0)
    stretch = 1.0 / step if step >= 1.0 else 1.0
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        centre = step * (i + 0.5)
        low = builtins.max(int(centre - support + 0.5), 0)
        high = builtins.min(int(centre + support + 0.5), n_in)
        d = np.abs((np.arange(low, high) - centre + 0.5) * stretch)
        if cubic:
            a = -0.5
            w = np.where(d < 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                         np.where(d < 2, (((d - 5) * d + 8) * d - 4) * a, 0.0))
        else:
            w = np.maximum(1.0 - d, 0.0)
        total = w.sum()
        weights[i, low:high] = w / total if total != 0 else w
    moved = x.movedim(axis, -1)
    return _matmul(moved, _leaf(weights.T.astype(dtype))).movedim(-1, axis)


# ----------------------------------------------------------------------------------------------
# Norms of rows.


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``input / max(‖input‖_p, eps)`` along ``dim``.

    Args:
        input: floating, any shape.
        p: the norm's order.
        dim: the dimension (or dimensions) normalised.
        eps: the smallest denominator.
        out: a tensor to write the result into (not differentiable, as PyTorch's).

    >>> import deltagrad as dg
    >>> normalize(dg.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    """
    # (PyTorch's order: input.norm's parser, then its dtype check, then clamp_min's)
    if p is None or p == "fro":
        p = 2.0
    elif not isinstance(p, str):
        p = check_number(p, "ord", "linalg_vector_norm")
    if dim is not None:
        dim = check_int_list(dim, "dim", "linalg_vector_norm")
    x = _t(input)
    norm = vector_norm(x, p, dim, keepdim=True).clamp(min=eps)
    return write_out("normalize", out, x / norm)


def pdist(input, p: float = 2.0) -> Tensor:
    """The ``p``-norm distance between every pair of rows of ``[N, M]``, rows i < j in order.

    Returns:
        ``[N (N - 1) / 2]``.
    """
    x = _t(input)
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    if x.dtype.kind != "f":
        raise RuntimeError(f"pdist only supports floating-point dtypes, got {x.dtype}")
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p}")
    check_reduced_kernel(x, "pdist")
    first, second = np.triu_indices(x.shape[0], k=1)
    diff = x.index_select(0, _leaf(first)) - x.index_select(0, _leaf(second))
    if p == 0:  # (PyTorch's pdist gives zero gradients here, its vector_norm None: a `where`)
        count = vector_norm(diff.detach(), 0, -1)
        return dg_where(_leaf(np.ones(count.shape, dtype=bool)), count, diff.abs().sum(-1))
    return vector_norm(diff, p, -1)


# ----------------------------------------------------------------------------------------------
# Channel dropout and alpha dropout.


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def check_train(name: str, training) -> None:
    """PyTorch's parser on dropout's ``training``: a Python bool only (None, 1: TypeError)."""
    if not isinstance(training, bool):  # (s28 BR18: None was taken as False, 1 as True)
        raise TypeError(f"{name}(): argument 'train' (position 3) must be bool, not "
                        f"{type(training).__name__}")


def dropout_keep_like(generator, data: np.ndarray, p: float) -> np.ndarray:
    """Dropout's keep mask for the array ``data``, drawn as PyTorch draws it.

    PyTorch makes the mask with ``empty_like(input)`` (the input's order of strides) and
    fills it element by element in memory order, so on a transposed input (a batch_first
    attention output, ``x.T``) the draws run along the memory, not along the logical
    indices. The mask is drawn in that order here and returned in the logical one.
    Broadcast (stride 0) dimensions keep the logical order, as PyTorch's.
    """
    if type(data) is MetaArray:  # (a meta input: a meta mask, nothing drawn, as PyTorch's)
        return MetaArray(data.shape, np.bool_)
    if data.flags.c_contiguous:  # (before the strides' list: 0.4 us a call less)
        return dropout_keep(generator, data.shape, p)
    strides = [abs(stride) for size, stride in zip(data.shape, data.strides) if size > 1]
    if 0 in strides or strides == sorted(strides, reverse=True):
        return dropout_keep(generator, data.shape, p)
    order = sorted(range(data.ndim), key=lambda d: -abs(data.strides[d]))  # stable sort
    keep = dropout_keep(generator, tuple(data.shape[d] for d in order), p)
    return keep.transpose(np.argsort(order))


def _masked(x: Tensor, p: float, mask_shape: tuple, alpha: bool, generator, inplace: bool):
    """x times a mask of ``mask_shape`` (broadcast), kept with probability 1 - p and scaled by
    1 / (1 - p); for alpha dropout, dropped units take SELU's negative saturation value and the
    result is rescaled to keep mean and variance."""
    dtype = np.dtype(x.dtype)
    if p == 1.0:
        out = x * _leaf(np.zeros((), dtype=dtype))
    else:
        if mask_shape == tuple(x.shape):  # elementwise (alpha dropout): in memory order
            keep = dropout_keep_like(generator, x._data, p).astype(dtype)
        elif type(x._data) is MetaArray:  # (nothing drawn for a meta input, as PyTorch's)
            keep = MetaArray(mask_shape, dtype)
        else:  # one draw per channel, on a fresh contiguous mask
            keep = dropout_keep(generator, mask_shape, p).astype(dtype)
        if alpha:
            # 1.7581 = SELU scale * alpha; a and b are PyTorch's affine correction.
            saturation = 1.7580993408473766
            a = 1.0 / math.sqrt((saturation ** 2 * p + 1) * (1 - p))
            b = (keep - 1.0) * (saturation * a) + saturation * a * p
            out = x * _leaf((keep * a).astype(dtype)) + _leaf(b.astype(dtype))
        else:
            out = x * _leaf(keep * dtype.type(1.0 / (1.0 - p)))
    if inplace:
        return x.copy_(out)
    return out


def _feature_dropout(name: str, input, p: float, training: bool, inplace: bool, alpha: bool,
                     generator) -> Tensor:
    _check_p(p)
    check_train("feature_alpha_dropout" if alpha else "feature_dropout", training)
    x = _t(input, 2)
    if not training or p == 0.0 or x.numel() == 0:
        return x
    if x.ndim < 2:
        raise RuntimeError(f"{name}: feature dropout requires at least 2 dimensions in the input")
    return _masked(x, p, tuple(x.shape[:2]) + (1,) * (x.ndim - 2), alpha, generator, inplace)


def dropout1d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels of ``[N, C, L]`` (or ``[C, L]``) with probability ``p``, scaling the
    rest by 1 / (1 - p)."""
    _check_p(p)
    x = _t(input)
    if x.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D "
                           "input")
    if x.ndim == 2:  # no batch dimension: one mask entry per channel
        out = _feature_dropout("dropout1d", x.unsqueeze(0), p, training, False, False, generator)
        out = out.squeeze(0)
        return x.copy_(out) if inplace and out is not x else out
    return _feature_dropout("dropout1d", x, p, training, inplace, False, generator)


def _warn_dims(name: str, x: Tensor, expected: tuple) -> None:
    if x.ndim not in expected:
        warnings.warn(f"{name}: Received a {x.ndim}-D input to {name}, which is deprecated and "
                      f"will result in an error in a future release. To retain the behavior "
                      f"and silence this warning, please use dropout instead.", stacklevel=3)


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels of ``[N, C, H, W]`` with probability ``p`` (a 3-D input is taken as
    ``[N, C, L]``, as PyTorch still does, with its warning)."""
    _check_p(p)
    x = _t(input)
    _warn_dims("dropout2d", x, (3, 4))
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change in "
                      "a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout("dropout2d", x, p, training, inplace, False, generator)


def dropout3d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *,
              generator=None) -> Tensor:
    """Zero whole channels of ``[N, C, D, H, W]`` (or ``[C, D, H, W]``) with probability
    ``p``."""
    _check_p(p)
    x = _t(input)
    _warn_dims("dropout3d", x, (4, 5))
    if x.ndim == 4:
        out = _feature_dropout("dropout3d", x.unsqueeze(0), p, training, False, False, generator)
        out = out.squeeze(0)
        return x.copy_(out) if inplace and out is not x else out
    return _feature_dropout("dropout3d", x, p, training, inplace, False, generator)


def alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False, *,
                  generator=None) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's negative saturation and the result
    is rescaled so that mean and variance are kept. Note PyTorch's default training=False."""
    _check_p(p)
    check_train("alpha_dropout", training)
    x = _t(input)
    if not training or p == 0.0 or x.numel() == 0:
        return x
    return _masked(x, p, tuple(x.shape), True, generator, inplace)


def feature_alpha_dropout(input, p: float = 0.5, training: bool = False, inplace: bool = False,
                          *, generator=None) -> Tensor:
    """``alpha_dropout`` of whole channels (dim 1) at once."""
    return _feature_dropout("feature_alpha_dropout", input, p, training, inplace, True,
                            generator)
