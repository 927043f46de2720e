"""2-d and 3-d pooling: max (with indices), average, adaptive average and maximum, power
average, as PyTorch's functionals (max unpooling is in ``unpooling.py``); their layers are in
``pooling2d_layers.py``.

Max pooling finds each window's maximum in NumPy with one pass per kernel offset (a strided
slice of the padded input, ``prod(kernel_size)`` passes), then the flat position of its first
occurrence (``_Maxima``, whose backward adds each gradient back to its position: ``_Put``, the
adjoint of a gather, ``_Take``, in ``_pool_scatter.py``); without a gradient, the maxima alone.
Average pooling is a window sum over one strided slice per kernel offset, divided by PyTorch's
divisor; its adjoint scatters the same way. Adaptive average pooling is separable: a product
with a small averaging matrix per spatial dim.
"""

from __future__ import annotations

import math

import numpy as np

from .._engine import ShapeError, Tensor, buffers, is_grad_enabled, no_grad
from .._engine.api.creation import channels_last, from_numpy

# (the engine's matmul, not `@`: CPU autocast's bfloat16 cast of Tensor.matmul is not PyTorch's
# for these ops, whose kernels stay float32)
from .._engine.api.linalg import matmul as _matmul
from .._engine.ops import ARRAY, OPS
from .._engine.ops.nn import Scratch
from .._engine.tensor import _leaf, apply
from ..autograd import Function
from . import _pool_half
from ._functional_activations import relu
from ._functional_args import check_reduced_kernel
from ._pool_kernels import (
    _SMALL_WINDOWS,
    _adaptive_max_positions,
    _bounds,
    _max_pool_positions,
    _max_pool_values,
    _offset_slices,
    _put,
    _WindowChoice,
    check_nonempty,
    padded_steps,
    refuse_empty_grad,
)
from ._pool_scatter import _Put
from .conv2d_kernels import channels_last_like, in_channels_last
from .fold2d import (
    _as_tensor,
    _node_op,
    _ntuple,
    _pad,
    _scatter_table,
    _sum_down,
    adaptive_size,
    least_dims,
    pool_args,
)

__all__ = [
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices",
    "avg_pool2d", "avg_pool3d", "lp_pool2d", "lp_pool3d", "max_pool2d", "max_pool2d_with_indices",
    "max_pool3d", "max_pool3d_with_indices",
]


def _maxima_forward(xs, *, kind, geometry, slot, unique, channels_last=False):
    # y = the maximum of each window of x; ``kind`` names the NumPy function that finds the
    # maxima and their flat positions (``_FINDERS``), ``geometry`` its keyword arguments. The
    # positions go to ``slot`` for the rule (which routes each gradient to its maximum) and for
    # ``return_indices``. Finding them inside the forward keeps the op replayable by
    # ``capture_step``: only the geometry is fixed at capture, never data.
    values, index = _FINDERS[kind](xs, **geometry)
    slot.value = (xs, index)
    return in_channels_last(values, channels_last)


def _maxima_vjp(F, g, out, x, *, kind, geometry, slot, unique, channels_last=False):
    xs = F.data(x)
    saved = slot.value
    if saved is not None and saved[0] is xs and saved[1] is not None:
        index = saved[1]
    else:  # run again on other arrays (check_graph), or after the values-only kind of a
        # result made under no_grad (forward AD's tangent of it: s30 BR25): found again
        index = _FINDERS["window" if kind == "values" else kind](xs, **geometry)[1]
    if F is ARRAY:
        if isinstance(index, _WindowChoice):
            return (index.scatter(g, xs.shape),)
        return (_put(g, _flat_positions(index), xs.shape, not unique),)
    # (linked to x: PyTorch's max_pool*_backward takes self, so d2/dx2 is zeros, not None)
    return (F.op("zero_link", _Put.apply(g, index=_flat_positions(index), shape=tuple(xs.shape),
                                         accumulate=not unique), x),)


_MAXIMA = _node_op("_Maxima", _maxima_forward, _maxima_vjp)
_LINK_GRAD = OPS["link_grad"]


def linked(y: Tensor, x: Tensor) -> Tensor:
    """``y`` (a composite pool of ``x``) whose recorded backward reads x, as PyTorch's pool
    backwards do: a second derivative w.r.t. x is zeros there, not None."""
    return apply(_LINK_GRAD, y, x) if y._rg else y


def _flat_positions(index) -> np.ndarray:
    return index.positions() if isinstance(index, _WindowChoice) else index


def _maxima(x: Tensor, kind: str, geometry: dict, unique: bool, batched: bool,
            return_indices: bool, layout: bool | None = None):
    """``_Maxima`` and, when asked for, the positions as a Tensor (made only then: a tensor
    made from data outside an op stops ``capture_step`` from replaying the step). ``layout``:
    whether the output is channels-last, if known."""
    slot = Scratch()
    if kind == "window" and not return_indices and not (x._rg and is_grad_enabled()):
        # No gradient and no indices: the maxima alone (_max_pool_values; numbers there)
        kind = "values"
    # (a channels-last image: the maxima and positions channels-last too, as PyTorch's)
    if layout is None:
        layout = batched and channels_last_like(x._data)
    result = apply(_MAXIMA, x, kind=kind, geometry=geometry, slot=slot, unique=unique,
                   channels_last=layout)
    if not batched:
        result = result.squeeze(0)
    if not return_indices:
        return result
    index = in_channels_last(_flat_positions(slot.value[1]), layout)
    return result, from_numpy(index if batched else index[0])


# ----------------------------------------------------------------------------------------------
# Window sums (average pooling) and their adjoint.


_SUM_PLANS: dict = {}  # geometry -> _sum_plan's tuple


def _sum_plan(shape: tuple, itemsize: int, kernel: tuple, stride: tuple, pads: tuple,
              out: tuple) -> tuple:
    """What ``_window_sum``'s small path needs of a geometry, made once per input shape: the
    padded shape (None: no padding) and the input's place in it, the taps-first view of the
    windows (shape and byte strides over the C-contiguous padded input), the columns' shape
    and the output's. With it, the window sums of OpInfo's avg_pool2d [1, 3, 9, 9], kernel
    3, padding 1: 38 -> 24 us (timeit, alternated processes, one thread, a loaded machine;
    s15 CV)."""
    key = (shape, itemsize, kernel, stride, pads, out)
    plan = _SUM_PLANS.get(key)
    if plan is None:
        size = shape[2:]
        padded, steps = padded_steps(shape, itemsize, pads)
        view = (tuple(kernel) + shape[:2] + tuple(out),
                steps[2:] + steps[:2] + tuple(s * st for s, st in zip(stride, steps[2:])))
        interior = (Ellipsis,) + tuple(slice(left, left + n) for n, (left, _) in
                                       zip(size, pads))
        plan = (padded, interior, view,
                (math.prod(kernel), shape[0] * shape[1] * math.prod(out)),
                shape[:2] + tuple(out))
        if len(_SUM_PLANS) >= 1024:  # (programs with ever-new shapes)
            _SUM_PLANS.clear()
        _SUM_PLANS[key] = plan
    return plan


def _window_sum(xs, kernel, stride, pads, out):
    if 0 < xs.size * math.prod(kernel) <= _SMALL_WINDOWS:
        # Small: the windows copied out at once, taps first ([K, N * C * P], one strided
        # view), and summed down the taps (``_sum_down``: the loop's order, the same bits): 3
        # NumPy calls where the loop below makes one (~2 us on a few strided elements) per
        # kernel offset. avg_pool2d's window sums on OpInfo's [1, 3, 9, 9], kernel 3, padding
        # 1: 81 -> 37 us (alternated timeit, one thread, a loaded machine; s14 SP).
        padded_shape, interior, view, columns, shape = _sum_plan(
            xs.shape, xs.dtype.itemsize, kernel, stride, pads, out)
        if padded_shape is not None:
            padded = np.zeros(padded_shape, xs.dtype)
            padded[interior] = xs
        else:
            padded = np.ascontiguousarray(xs)
        windows = np.ndarray(view[0], padded.dtype, padded, 0, view[1]).reshape(columns)
        return _sum_down(windows).reshape(shape)  # (the reshape above: a copy)
    padded = _pad(xs, pads)
    total = np.zeros(xs.shape[:2] + tuple(out), dtype=xs.dtype)
    for _, window in _offset_slices(kernel, stride, out):
        total += padded[window]
    if padded is not xs:
        buffers.give(padded)
    return total


def _window_mean_forward(xs, *, kernel, stride, pads, grid, divisor, channels_last=False):
    # y[n, c, o] = sum over the window of x_padded (zeros), divided by ``divisor[o]``
    # (``grid``: the output's spatial size).
    total = _window_sum(xs, kernel, stride, pads, grid)
    if xs.dtype.kind == "f":
        return in_channels_last(total / divisor, channels_last)
    # Integers: C's division, rounding toward zero (as PyTorch).
    return in_channels_last(np.trunc(total / divisor).astype(xs.dtype), channels_last)


def _window_mean_adjoint(share, size, kernel, stride, pads, grid) -> np.ndarray:
    """Each ``share[o]`` added to its window of a zero input of spatial ``size``."""
    if 0 < share.size * math.prod(kernel) <= _SMALL_WINDOWS:
        # Small: each input position gathers what each kernel offset adds to it (a table per
        # geometry, 0 where nothing), summed down the offsets in the loop's order (the same
        # bits): 4 NumPy calls for the loop's 2 per offset. avg_pool2d's backward on
        # OpInfo's [1, 3, 9, 9], kernel 3: 81 -> 54 us (alternated timeit, one thread, a
        # loaded machine; s14 SP).
        rows = share.shape[0] * share.shape[1]
        padded_share = np.zeros((rows, math.prod(grid) + 1), dtype=share.dtype)
        padded_share[:, :-1] = share.reshape(rows, -1)
        table = _scatter_table(size, kernel, stride, (1,) * len(kernel), pads, grid)
        # [N * C, K, P_in] (np.take: the same gather, ~3x faster than ``[:, table]``, [3, 82]
        # by [9, 81]: 30 -> 8.5 us; s15 CV, timeit, one thread)
        taps = np.take(padded_share, table, axis=1)
        return _sum_down(taps.transpose(1, 0, 2).reshape(table.shape[0], -1)).reshape(
            share.shape[:2] + tuple(size))
    padded = tuple(n + left + right for n, (left, right) in zip(size, pads))
    result = np.zeros(share.shape[:2] + padded, dtype=share.dtype)
    for _, window in _offset_slices(kernel, stride, grid):
        result[window] += share
    crop = (slice(None), slice(None)) + tuple(
        slice(left, left + n) for n, (left, _) in zip(size, pads))
    return np.ascontiguousarray(result[crop])


def _window_mean_vjp(F, g, out, x, *, kernel, stride, pads, grid, divisor, channels_last=False):
    size = tuple(x.shape[2:])
    if F is ARRAY:
        return (_window_mean_adjoint(g / divisor, size, kernel, stride, pads, grid),)
    return (F.op("zero_link", _WindowMeanAdjoint.apply(  # (x linked: as _maxima_vjp's)
        g, size=size, kernel=kernel, stride=stride, pads=pads, out=grid, divisor=divisor), x),)


_WINDOW_MEAN = _node_op("_WindowMean", _window_mean_forward, _window_mean_vjp)


class _WindowMeanAdjoint(Function):
    """The adjoint of ``_WindowMean``: each ``g[o] / divisor[o]`` added to its window."""

    @staticmethod
    def forward(ctx, g, *, size, kernel, stride, pads, out, divisor):
        ctx.geometry = dict(kernel=kernel, stride=stride, pads=pads, grid=out, divisor=divisor)
        return from_numpy(_window_mean_adjoint(g.numpy() / divisor, size, kernel, stride, pads,
                                               out))

    @staticmethod
    def backward(ctx, g):
        return apply(_WINDOW_MEAN, g, **ctx.geometry)


# ----------------------------------------------------------------------------------------------
# Geometry.


def _pool_input(op: str, input, spatial: int, indexes: bool = False) -> tuple[Tensor, bool]:
    x = _as_tensor(input)
    if indexes:  # (avg_pool2d reads size(-3) first: PyTorch's IndexError)
        least_dims(op, x, spatial + 1)
    # Only a batched input's batch may be empty (PyTorch refuses an unbatched (0, H, W)).
    shape = x._data.shape  # (the array's: Tensor.shape builds a Size)
    ndim = len(shape)
    if ndim not in (spatial + 1, spatial + 2) or 0 in shape[ndim - spatial - 1:]:
        raise ShapeError(f"{op}: non-empty {spatial + 1}D or {spatial + 2}D (batch mode) tensor "
                         f"expected for input, got shape {list(x.shape)}")
    return (x, True) if ndim == spatial + 2 else (x.unsqueeze(0), False)


_GEOMETRIES: dict = {}  # _pool_geometry's results by its arguments (checks passed)


def _pool_geometry(op: str, size: tuple, kernel_size, stride, padding, dilation,
                   ceil_mode: bool, spatial: int, effective_pad: bool) -> tuple:
    """``(kernel, stride, pads, out, dilation)`` with PyTorch's checks and output size.

    ``pads`` is one (left, right) pair per dim; the right one grows to cover a last, partial
    window under ``ceil_mode`` (padding there never wins a max and is never counted). Kept per
    arguments (all tuples, ints and None here, from ``pool_args``): ~6 us a call.
    """
    key = (op, size, kernel_size, stride, padding, dilation, ceil_mode, spatial, effective_pad)
    try:
        found = _GEOMETRIES.get(key)
    except TypeError:  # (an unhashable argument: worked out each time)
        found = key = None
    if found is not None:
        return found
    found = _work_out_geometry(op, size, kernel_size, stride, padding, dilation, ceil_mode,
                               spatial, effective_pad)
    if key is not None:
        if len(_GEOMETRIES) >= 1024:
            _GEOMETRIES.clear()
        _GEOMETRIES[key] = found
    return found


def _work_out_geometry(op: str, size: tuple, kernel_size, stride, padding, dilation,
                       ceil_mode: bool, spatial: int, effective_pad: bool) -> tuple:
    kernel = _ntuple(kernel_size, spatial, "kernel_size", op)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0)
    stride = kernel if no_stride else _ntuple(stride, spatial, "stride", op)
    padding = _ntuple(padding, spatial, "padding", op)
    dilation = _ntuple(dilation, spatial, "dilation", op)
    if min(stride) == 0:
        raise RuntimeError(f"{op}: stride should not be zero")
    if min(kernel) <= 0 or min(stride) < 0:
        raise RuntimeError(f"{op}: kernel size {kernel} and stride {stride} should be greater "
                           "than zero")
    if min(dilation) <= 0:
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got {dilation}")
    if min(padding) < 0:
        raise RuntimeError(f"{op}: pad must be non-negative, but got {padding}")
    for p, k, d in zip(padding, kernel, dilation):
        half = ((k - 1) * d + 1) // 2 if effective_pad else k // 2
        if p > half:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, "
                               f"but got pad={p}, kernel_size={k} and dilation={d}")
        if p > k // 2:  # (then PyTorch's max pools check the kernel without dilation too)
            raise RuntimeError(f"{op}: pad should be smaller than or equal to half of kernel "
                               f"size, but got pad={p} and kernel_size={k}")
    out, pads = [], []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        m = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (m - 1) * s >= n + p:
            m -= 1  # the last window must start inside the input or the left padding
        out.append(m)
        pads.append((p, max(p, (m - 1) * s + span - n - p)))
    if min(out) < 1:
        raise RuntimeError(f"{op}: Given input size: {list(size)}. Calculated output size: "
                           f"{out}. Output size is too small")
    return kernel, stride, tuple(pads), tuple(out), dilation


_CALLS: dict = {}  # _call_key -> what a pooling call that passed its checks worked out


def _call_key(op: str, input, arguments: tuple):
    """What decides a pooling call's checks and geometry: the op, the input's shape, strides
    and dtype, and the arguments with their types (``True`` is not 1 here: PyTorch's parser
    refuses a bool size); None where the call must take the checks (not an exact Tensor, or
    an argument other than None, an int, a bool or a tuple of ints). The parsing and checks
    cost ~7 us of max_pool2d's ~55 on OpInfo's [1, 2, 3, 6] forward + backward (one thread,
    alternated processes, a loaded machine; s15 CV)."""
    if type(input) is not Tensor:
        return None
    lists = False
    for value in arguments:
        kind = type(value)
        if not (value is None or kind is int or kind is bool
                or ((kind is tuple or kind is list) and all(type(item) is int
                                                            for item in value))):
            return None
        lists = lists or kind is list
    xs = input._data
    if type(xs) is not np.ndarray:  # (meta arrays: checked)
        return None
    types = tuple(map(type, arguments))  # (a list and its tuple: two keys)
    if lists:  # (lists of ints, as PyTorch's own samples pass them: hashable as tuples;
        # avg_pool2d forward on OpInfo's [1, 3, 9, 9] with [4, 4], [2, 3]: 73 -> 59 us, min
        # of 7 alternated timeit runs, one thread, a loaded machine; s17 SP)
        arguments = tuple(tuple(v) if type(v) is list else v for v in arguments)
    return (op, xs.shape, xs.strides, xs.dtype, arguments, types)


def _remember(key, found: tuple) -> None:
    if key is not None:
        if len(_CALLS) >= 1024:  # (programs with ever-new shapes)
            _CALLS.clear()
        _CALLS[key] = found


def _max_pool(op: str, spatial: int, input, kernel_size, stride, padding, dilation,
              ceil_mode: bool, return_indices: bool):
    key = _call_key(op, input, (kernel_size, stride, padding, dilation, ceil_mode))
    found = _CALLS.get(key) if key is not None else None
    if found is not None:  # the same call passed the checks before: only the op
        batched, geometry, unique, layout = found
        x = input if batched else input.unsqueeze(0)
        return _maxima(x, "window", geometry, unique, batched, return_indices, layout)
    kernel_size, stride, padding, dilation = pool_args(op, spatial, kernel_size, stride,
                                                            padding, dilation)
    x, batched = _pool_input(op, input, spatial)
    kernel, stride, pads, out, dilation = _pool_geometry(
        op, x._data.shape[2:], kernel_size, stride, padding, dilation, ceil_mode, spatial, True)
    if x._data.dtype.kind == "b":
        raise RuntimeError(f'"{op}" not implemented for \'Bool\'')
    geometry = dict(kernel=kernel, stride=stride, dilation=dilation, pads=pads, out=out)
    # Disjoint windows give each input position at most one gradient: an assignment suffices.
    unique = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
    layout = batched and channels_last_like(x._data)
    _remember(key, (batched, geometry, unique, layout))
    return _maxima(x, "window", geometry, unique, batched, return_indices, layout)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """The maximum of each window, as ``torch.nn.functional.max_pool2d``.

    Args:
        input: ``[N, C, H, W]`` or ``[C, H, W]``.
        kernel_size: window size (int or pair).
        stride: step between windows (default: kernel_size).
        padding: -inf padding on both sides (at most half the dilated kernel).
        dilation: spacing between a window's entries.
        ceil_mode: round the output size up (a last, partial window).
        return_indices: also return the int64 position of each maximum, flat over ``H * W``
            (what ``max_unpool2d`` takes).

    Returns:
        ``[N, C, H_out, W_out]`` (and the indices). The gradient goes to each window's first
        maximum (a nan counts as the maximum).

    >>> import deltagrad as dg
    >>> max_pool2d(dg.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """``max_pool2d`` over ``[N, C, D, H, W]`` (or ``[C, D, H, W]``), as ``F.max_pool3d``."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool2d`` that always returns ``(maxima, indices)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool3d`` that always returns ``(maxima, indices)``."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ----------------------------------------------------------------------------------------------
# Average pooling.


_DIVISORS: dict = {}  # _divisor's arrays by geometry (read-only)


def _divisor(size, kernel, stride, pads, out, count_include_pad, divisor_override, dtype):
    """Average pooling's divisor of each output, made once per geometry (5 NumPy calls a
    dim each call before)."""
    key = (size, kernel, stride, pads, out, count_include_pad, divisor_override, dtype)
    divisor = _DIVISORS.get(key)
    if divisor is not None:
        return divisor
    if divisor_override is not None:
        divisor = np.full(out, float(divisor_override))
    else:
        # Per dim: the window clipped to the padded input, or to the input itself.
        divisor = np.ones(())
        for n, k, s, (p, _), m in zip(size, kernel, stride, pads, out):
            start = np.arange(m) * s - p
            end = np.minimum(start + k, n + p)
            if count_include_pad:
                counts = end - start
            else:
                counts = np.minimum(end, n) - np.maximum(start, 0)
            divisor = np.multiply.outer(divisor, counts)
    if dtype.kind == "f":
        divisor = divisor.astype(dtype)
    divisor.flags.writeable = False
    if len(_DIVISORS) >= 1024:
        _DIVISORS.clear()
    _DIVISORS[key] = divisor
    return divisor


def _avg_pool(op: str, spatial: int, input, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override) -> Tensor:
    key = _call_key(op, input, (kernel_size, stride, padding, ceil_mode, count_include_pad,
                                divisor_override))
    found = _CALLS.get(key) if key is not None else None
    if found is not None:  # (as _max_pool's)
        batched, attributes = found
        x = input if batched else input.unsqueeze(0)
        result = apply(_WINDOW_MEAN, x, **attributes)
        return result if batched else result.squeeze(0)
    kernel_size, stride, padding = pool_args(op, spatial, kernel_size, stride, padding)
    x, batched = _pool_input(op, input, spatial, op in ("avg_pool2d", "lp_pool2d"))
    size = x._data.shape[2:]
    kernel, stride, pads, out, _ = _pool_geometry(op, size, kernel_size, stride, padding, 1,
                                                  ceil_mode, spatial, False)
    dtype = x._data.dtype
    if dtype.kind == "b":
        raise RuntimeError(f'"{op}" not implemented for \'Bool\'')
    if spatial == 3:
        check_reduced_kernel(x, "avg_pool3d_out_frame")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    divisor = _divisor(size, kernel, stride, pads, out, count_include_pad, divisor_override,
                       dtype)
    attributes = dict(kernel=kernel, stride=stride, pads=pads, grid=out, divisor=divisor,
                      channels_last=batched and channels_last_like(x._data))
    _remember(key, (batched, attributes))
    result = apply(_WINDOW_MEAN, x, **attributes)
    return result if batched else result.squeeze(0)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """The mean of each window, as ``torch.nn.functional.avg_pool2d``.

    Args:
        input: ``[N, C, H, W]`` or ``[C, H, W]``.
        kernel_size, stride, padding, ceil_mode: as ``max_pool2d`` (zero padding, at most half
            the kernel).
        count_include_pad: divide by the window size including the zero padding (else by the
            number of input entries in the window).
        divisor_override: divide every window's sum by this instead.

    Returns:
        ``[N, C, H_out, W_out]``.

    >>> import deltagrad as dg
    >>> avg_pool2d(dg.arange(16.0).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """``avg_pool2d`` over ``[N, C, D, H, W]`` (or ``[C, D, H, W]``), as ``F.avg_pool3d``."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def lp_pool2d(input, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling, as ``F.lp_pool2d``: ``(sum over the window of x^p)^(1/p)``,
    computed as PyTorch's (a mean times the window size; negative sums give 0 before the root).

    Args:
        input: ``[N, C, H, W]`` or ``[C, H, W]``.
        norm_type: p.
        kernel_size, stride, ceil_mode: as ``avg_pool2d`` (no padding).
    """
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """``lp_pool2d`` over ``[N, C, D, H, W]``, as ``F.lp_pool3d``."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


def _lp_pool(op: str, spatial: int, input, norm_type, kernel_size, stride, ceil_mode):
    kernel = _ntuple(kernel_size, spatial, "kernel_size", op)
    x = _as_tensor(input)
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        # PyTorch 2.13: p = +-inf is the max (min) of |x| over each window, by its max pool
        # (the power mean gave inf ** 0 = 1 everywhere: SL25's fuzzer)
        sign = 1.0 if norm_type > 0 else -1.0
        out = _max_pool(op.replace("lp_", "max_"), spatial, x.abs() * sign, kernel_size,
                        stride, 0, 1, ceil_mode, False)
        return out if sign > 0 else -out
    out = _avg_pool(op, spatial, x.pow(norm_type), kernel, stride, 0, ceil_mode, True, None)
    return (out.sign() * relu(out.abs())).mul(math.prod(kernel)).pow(1.0 / norm_type)


# ----------------------------------------------------------------------------------------------
# Adaptive pooling: output_size nearly equal windows, [floor(i n / m), ceil((i + 1) n / m)).


def _adaptive_sizes(op: str, x: Tensor, output_size, spatial: int) -> tuple:
    size = tuple(x.shape[2:])
    if isinstance(output_size, (tuple, list)):
        items = tuple(output_size)
        if len(items) != spatial:
            raise RuntimeError(f"{op}: output_size must be an int or {spatial} values, got "
                               f"{output_size!r}")
    else:
        items = (output_size,) * spatial
    out = tuple(n if m is None else int(m) for m, n in zip(items, size))
    if min(out) < 0:
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 "
                           f"but received {out}")
    return size, out


def _adaptive_input(op: str, input, spatial: int) -> tuple[Tensor, bool]:
    x = _as_tensor(input)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{op}(): Expected {spatial + 1}D or {spatial + 2}D tensor, but got "
                         f"{list(x.shape)}")
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for \'{x.dtype}\'')
    return (x, True) if x.ndim == spatial + 2 else (x.unsqueeze(0), False)


_AVERAGING: dict = {}  # (n, m, dtype) -> read-only [m, n] averaging matrix


def _averaging(n: int, m: int, dtype) -> np.ndarray:
    """Row i averages ``[floor(i n / m), ceil((i + 1) n / m))`` of a length-``n`` dim."""
    key = (n, m, dtype)
    average = _AVERAGING.get(key)
    if average is None:
        start, end = _bounds(n, m)
        positions = np.arange(n)
        inside = (positions >= start[:, None]) & (positions < end[:, None])
        average = (inside / (end - start)[:, None]).astype(dtype)
        average.flags.writeable = False
        if len(_AVERAGING) >= 1024:
            _AVERAGING.clear()
        _AVERAGING[key] = average
    return average


def _adaptive_avg(op: str, spatial: int, input, output_size) -> Tensor:
    key = _call_key(op, input, (output_size,))  # (as _max_pool's: forward 0.73-0.88 of its
    found = _CALLS.get(key) if key is not None else None  # time; SP7 s22, alternated)
    if found is None:
        output_size = adaptive_size(op, output_size, input)
        if all(m == 1 for m in (output_size if isinstance(output_size, (tuple, list)) else (
                output_size,))):  # (PyTorch's global pooling: a mean over dims -1 .. -spatial;
            least_dims(op, _as_tensor(input), spatial)  # other sizes: its rank RuntimeError,
            # "Expected 3D or 4D tensor" for a 1-D input; s28 BR18)
        x, batched = _adaptive_input(op, input, spatial)
        size, out = _adaptive_sizes(op, x, output_size, spatial)
        _remember(key, (batched, size, out))
    else:
        batched, size, out = found
        x = input if batched else input.unsqueeze(0)
    if x._data.dtype == np.float16 and max(out) > 1 and not channels_last_like(x._data):
        y = _pool_half.adaptive_avg(x, size, out)  # (PyTorch's float16 roundings)
        return y if batched else y.squeeze(0)
    if all(m == 1 for m in out):  # global pooling: a mean
        y = x.mean(dim=tuple(range(2, 2 + spatial)), keepdim=True)
    else:
        # One averaging matrix per dim: the rectangle's mean is the mean of the row means. The
        # last dim's is applied from the right (y @ A.T) and the one before from the left
        # (A @ y, broadcast over N and C), neither reshaped: adaptive_avg_pool2d fwd + bwd on
        # OpInfo's samples 1.78 -> 1.04 x PyTorch's time against [R, n, 1] column products and
        # matrices made each call (opinfo_overhead.py, medians of 3 alternated runs; s14 SP).
        special = x._data.dtype.kind == "f" and not np.isfinite(x._data).all()
        if special:
            with np.errstate(invalid="ignore"):  # (inf * 0 in the products: fixed below)
                y = _averaged(x, size, out, spatial)
        else:
            y = _averaged(x, size, out, spatial)
        if y is x:  # output size == input size: a new tensor, as PyTorch's (not the input)
            y = x.clone()
        elif special:
            _window_specials(y, x._data, size, out, spatial)
    y = linked(y, x)
    y = y.contiguous() if spatial == 3 and any(m != 1 for m in out) else y  # (PyTorch's: LY1)
    if batched and channels_last_like(x._data):  # PyTorch's layout for a channels-last image
        y = y.contiguous(memory_format=channels_last)
    y = y if batched else y.squeeze(0)
    if 0 in out or not x._data.shape[1]:  # (PyTorch's backward refuses it)
        refuse_empty_grad(y, op, y._data.shape)
    return y


def _averaged(x: Tensor, size: tuple, out: tuple, spatial: int) -> Tensor:
    """``x``'s spatial dims through their averaging matrices (``x`` itself if none changes)."""
    y = x
    for i in reversed(range(spatial)):
        if out[i] == size[i]:
            continue
        average = _averaging(size[i], out[i], x._data.dtype)
        if i == spatial - 1:
            # (the array's transpose, not a transpose op on its tensor: the same strided view
            # in the product; adaptive_avg_pool2d of [2, 3, 8, 8] to (5, 7) forward under grad
            # 0.83-0.88 of its time, fwd + bwd 0.89: s24 SP13, alternated in one process)
            y = _matmul(y, _leaf(average.T))
            continue
        # (the cached matrices are read-only: _leaf, not from_numpy, whose check of a user's
        # read-only array for PyTorch's warning cost ~0.6 us a call, s25 SP16)
        average = _leaf(average)
        shape = tuple(y._data.shape)
        rows = shape[:2 + i]
        if i == spatial - 2:
            y = _matmul(average, y)
            continue
        # (the trailing size spelled out: -1 is ambiguous for a zero-size batch)
        y = _matmul(average, y.reshape(rows + (size[i], math.prod(shape[3 + i:]))))
        y = y.reshape(rows + (out[i],) + shape[3 + i:])
    return y


def _window_specials(y: Tensor, xs: np.ndarray, size: tuple, out: tuple, spatial: int) -> None:
    """Writes into ``y`` (the products' result) the window means of an input with inf / nan as
    PyTorch's window sums give them: in a product with the averaging matrix inf * 0 made nan
    in every output. The finite windows are the same products over the input with its
    specials as 0; a window holding nan, or +inf and -inf, is nan, else its infinity. (The
    gradient, the matrices' transposes times the upstream gradient, reads no input value.)"""
    with no_grad():
        clean = _averaged(from_numpy(np.where(np.isfinite(xs), xs, 0)), size, out, spatial)._data

    def count(hit: np.ndarray) -> np.ndarray:  # specials in each window, as a float count
        total = hit.astype(np.float64)
        for i in range(spatial):
            if out[i] != size[i]:
                inside = (_averaging(size[i], out[i], np.dtype(np.float64)) != 0) * 1.0
                total = np.moveaxis(np.tensordot(inside, total, axes=([1], [2 + i])), 0, 2 + i)
        return total

    high, low, nan = count(xs == np.inf), count(xs == -np.inf), count(np.isnan(xs))
    values = np.where(high > 0, np.inf, clean)
    values = np.where(low > 0, -np.inf, values)
    values[(nan > 0) | ((high > 0) & (low > 0))] = np.nan
    y._data[...] = values


def adaptive_avg_pool2d(input, output_size) -> Tensor:
    """Average over ``output_size`` nearly equal windows, as ``F.adaptive_avg_pool2d``.

    Args:
        input: ``[N, C, H, W]`` or ``[C, H, W]``, floating.
        output_size: ``(H_out, W_out)`` or an int; None keeps that dim's size.

    Returns:
        ``[N, C, H_out, W_out]``; window i along H covers ``[floor(i H / H_out),
        ceil((i + 1) H / H_out))``.
    """
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input, output_size) -> Tensor:
    """``adaptive_avg_pool2d`` over ``[N, C, D, H, W]``, as ``F.adaptive_avg_pool3d``."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max(op: str, spatial: int, input, output_size, return_indices: bool):
    key = _call_key(op, input, (output_size,))
    found = _CALLS.get(key) if key is not None else None
    if found is not None:  # (as _max_pool's)
        batched, geometry, layout = found
        x = input if batched else input.unsqueeze(0)
        return _maxima(x, "adaptive", geometry, False, batched, return_indices, layout)
    output_size = adaptive_size(op, output_size, input)
    x, batched = _adaptive_input(op, input, spatial)
    size, out = _adaptive_sizes(op, x, output_size, spatial)
    check_nonempty(op, input._data.shape)  # (PyTorch's: channels too, an empty output too)
    layout = batched and channels_last_like(x._data)
    _remember(key, (batched, dict(out=out), layout))
    y = _maxima(x, "adaptive", dict(out=out), False, batched, return_indices, layout)
    if 0 in out or not x._data.shape[1]:  # (PyTorch's backward refuses it)
        refuse_empty_grad(y[0] if return_indices else y, op, y[0]._data.shape if
                          return_indices else y._data.shape)
    return y


_FINDERS = {"window": _max_pool_positions, "values": _max_pool_values,
            "adaptive": _adaptive_max_positions}


def adaptive_max_pool2d(input, output_size, return_indices: bool = False):
    """Maximum over ``output_size`` nearly equal windows, as ``F.adaptive_max_pool2d``.

    Args:
        input: ``[N, C, H, W]`` or ``[C, H, W]``, floating.
        output_size: ``(H_out, W_out)`` or an int; None keeps that dim's size.
        return_indices: also return the int64 flat positions of the maxima.
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices: bool = False):
    """``adaptive_max_pool2d`` over ``[N, C, D, H, W]``, as ``F.adaptive_max_pool3d``."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices: bool = False):
    """``adaptive_max_pool2d`` that always returns ``(maxima, indices)``."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices: bool = False):
    """``adaptive_max_pool3d`` that always returns ``(maxima, indices)``."""
    return adaptive_max_pool3d(input, output_size, True)
