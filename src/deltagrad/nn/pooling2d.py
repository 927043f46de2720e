"""2-d and 3-d pooling: max (with indices), average, adaptive average and maximum, power
average, as PyTorch's functionals (max unpooling is in ``unpooling.py``); their layers are in
``pooling2d_layers.py``.

Max pooling finds each window's maximum in NumPy with one pass per kernel offset (a strided
slice of the padded input, ``prod(kernel_size)`` passes), then the flat position of its first
occurrence (``_Maxima``, whose backward adds each gradient back to its position: ``_Put``, the
adjoint of a gather, ``_Take``). Average pooling is a window sum over one strided slice per
kernel offset, divided by PyTorch's divisor; its adjoint scatters the same way. Adaptive
average pooling is separable: a product with a small averaging matrix per spatial dim.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._engine import ShapeError, Tensor, buffers, is_grad_enabled, threads
from .._engine.api.creation import channels_last, from_numpy
from ..autograd import Function
from ._functional_activations import relu
from .conv2d_kernels import channels_last_like, in_channels_last
from .fold2d import _as_tensor, _ntuple, _pad, _rows, adaptive_size, least_dims, pool_args

__all__ = [
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices",
    "avg_pool2d", "avg_pool3d", "lp_pool2d", "lp_pool3d", "max_pool2d", "max_pool2d_with_indices",
    "max_pool3d", "max_pool3d_with_indices",
]


# ----------------------------------------------------------------------------------------------
# Gather and scatter over the flattened spatial dims (max pooling and unpooling).


class _Take(Function):
    """y[n, c, i] = x[n, c, index[n, c, i]], the spatial dims flattened."""

    @staticmethod
    def forward(ctx, x, *, index, unique):
        ctx.index, ctx.shape, ctx.unique = index, tuple(x.shape), unique
        taken = np.take_along_axis(_rows(x.numpy()), _rows(index), axis=2)
        return from_numpy(taken.reshape(index.shape))

    @staticmethod
    def backward(ctx, g):
        return _Put.apply(g, index=ctx.index, shape=ctx.shape, accumulate=not ctx.unique)


class _Put(Function):
    """y = zeros(shape); y[n, c, index[n, c, i]] = x[n, c, i] (summed where positions repeat,
    when ``accumulate``; otherwise one of them is kept)."""

    @staticmethod
    def forward(ctx, x, *, index, shape, accumulate):
        ctx.index, ctx.unique = index, not accumulate
        xs = x.numpy()
        batch, channels = shape[:2]
        positions = math.prod(shape[2:])
        if accumulate:
            # One bincount over (example, channel, position) ids: np.add.at is ~10x slower.
            rows = np.arange(batch * channels, dtype=np.int64).reshape(batch, channels, 1)
            ids = (rows * positions + _rows(index)).ravel()
            sums = np.bincount(ids, weights=xs.ravel(), minlength=batch * channels * positions)
            return from_numpy(sums.astype(xs.dtype).reshape(shape))
        out = np.zeros((batch, channels, positions), dtype=xs.dtype)
        np.put_along_axis(out, _rows(index), _rows(xs), axis=2)
        return from_numpy(out.reshape(shape))

    @staticmethod
    def backward(ctx, g):
        return _Take.apply(g, index=ctx.index, unique=ctx.unique)


class _Maxima(Function):
    """y = the maximum of each window of x; ``kind`` names the NumPy function that finds the
    maxima and their flat positions (``_FINDERS``), ``geometry`` its keyword arguments. The
    positions are kept for the backward, which routes each gradient to its maximum, and put in
    the list ``positions`` when one is given. Finding them inside the forward keeps the op
    replayable by ``capture_step``: only the geometry is fixed at capture, never data."""

    @staticmethod
    def forward(ctx, x, *, kind, geometry, unique, positions=None, channels_last=False):
        values, index = _FINDERS[kind](x.numpy(), **geometry)
        ctx.index, ctx.shape, ctx.unique = index, tuple(x.shape), unique
        if positions is not None:
            positions[:] = [in_channels_last(_flat_positions(index), channels_last)]
        return from_numpy(in_channels_last(values, channels_last))

    @staticmethod
    def backward(ctx, g):
        if isinstance(ctx.index, _WindowChoice) and not is_grad_enabled():
            return ctx.index.scatter(g.numpy(), ctx.shape)
        return _Put.apply(g, index=_flat_positions(ctx.index), shape=ctx.shape,
                          accumulate=not ctx.unique)


class _WindowChoice:
    """For disjoint windows inside the input: one boolean mask per window offset, true where
    that offset holds the window's first maximum, with the window slices. The flat positions
    are made only when asked for (``positions``); the backward writes the gradient one offset
    at a time through the masks (``scatter``) instead of through ``put_along_axis``.
    MaxPool2d(2) on [64, 16, 28, 28] float32, forward + backward: 3.2 -> 2.2 ms (torch 4.3
    ms; with ``_pair_tournament``); the W6 CNN step 0.95 of its time (one thread,
    alternated, thread time)."""

    __slots__ = ("masks", "slices", "shifts", "base", "covered")

    def __init__(self, masks, slices, shifts, base, covered) -> None:
        self.masks, self.slices, self.shifts, self.base = masks, slices, shifts, base
        self.covered = covered  # the windows tile the whole input

    def positions(self) -> np.ndarray:
        index = np.zeros(self.masks[0].shape, dtype=np.int64)
        for mask, shift in zip(self.masks, self.shifts):
            if shift:
                index += mask * np.int64(shift)
        return index + self.base

    def scatter(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        dx = (buffers.empty if self.covered else buffers.zeros)(shape, g.dtype)
        # The gradient's bits times 0 or 1, as unsigned integers: exact zeros beside the
        # maxima even where the gradient is inf or nan (a float product would give nan).
        bits = np.dtype(f"u{g.dtype.itemsize}")
        g_bits, dx_bits = g.view(bits), dx.view(bits)

        def examples(start, stop):  # (across the intra-op threads)
            for mask, window in zip(self.masks, self.slices):
                np.multiply(g_bits[start:stop], mask[start:stop],
                            out=dx_bits[start:stop][window])

        threads.split(examples, g.shape[0], elements=len(self.masks) * g.size)
        return dx


def _flat_positions(index) -> np.ndarray:
    return index.positions() if isinstance(index, _WindowChoice) else index


def _maxima(x: Tensor, kind: str, geometry: dict, unique: bool, batched: bool,
            return_indices: bool):
    """``_Maxima`` and, when asked for, the positions as a Tensor (made only then: a tensor
    made from data outside an op stops ``capture_step`` from replaying the step)."""
    positions: list | None = [] if return_indices else None
    # (a channels-last image: the maxima and positions channels-last too, as PyTorch's)
    result = _Maxima.apply(x, kind=kind, geometry=geometry, unique=unique, positions=positions,
                           channels_last=batched and channels_last_like(x._data))
    if not batched:
        result = result.squeeze(0)
    if not return_indices:
        return result
    index = positions[0] if batched else positions[0][0]
    return result, from_numpy(index)


# ----------------------------------------------------------------------------------------------
# Window sums (average pooling) and their adjoint.


_SLICES: dict = {}  # _offset_slices's pairs by geometry (s13 PS)


def _offset_slices(kernel: tuple, stride: tuple, out: tuple, dilation: tuple | None = None):
    """For each kernel offset: the offset, and the slices of the padded input that its window
    entries read."""
    # Made once per geometry (slices are immutable): a 3 x 3 window's nine cost 6 us a call
    # in Python. fwd + bwd of OpInfo's first three samples: avg_pool2d ([1, 3, 9, 9]) 0.67-0.80
    # of its time, max_pool2d ([1, 2, 3, 6]) 0.81-0.84 (alternated, thread time; s13 PS).
    key = (kernel, stride, out, dilation)
    pairs = _SLICES.get(key)
    if pairs is None:
        dilation = dilation or (1,) * len(kernel)
        pairs = tuple((offset, (slice(None), slice(None)) + tuple(
            slice(o * d, o * d + s * (n - 1) + 1, s)
            for o, d, s, n in zip(offset, dilation, stride, out)))
            for offset in itertools.product(*(range(k) for k in kernel)))
        if len(_SLICES) >= 1024:  # (programs with ever-new shapes)
            _SLICES.clear()
        _SLICES[key] = pairs
    return pairs


class _WindowMean(Function):
    """y[n, c, o] = sum over the window of x_padded (zeros), divided by ``divisor[o]``."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, pads, out, divisor, channels_last=False):
        xs = x.numpy()
        ctx.geometry = dict(size=tuple(xs.shape[2:]), kernel=kernel, stride=stride, pads=pads,
                            out=out, divisor=divisor)
        padded = _pad(xs, pads)
        total = np.zeros(xs.shape[:2] + tuple(out), dtype=xs.dtype)
        for _, window in _offset_slices(kernel, stride, out):
            total += padded[window]
        if padded is not xs:
            buffers.give(padded)
        if xs.dtype.kind == "f":
            return from_numpy(in_channels_last(total / divisor, channels_last))
        # Integers: C's division, rounding toward zero (as PyTorch).
        return from_numpy(in_channels_last(np.trunc(total / divisor).astype(xs.dtype),
                                           channels_last))

    @staticmethod
    def backward(ctx, g):
        return _WindowMeanAdjoint.apply(g, **ctx.geometry)


class _WindowMeanAdjoint(Function):
    """The adjoint of ``_WindowMean``: each ``g[o] / divisor[o]`` added to its window."""

    @staticmethod
    def forward(ctx, g, *, size, kernel, stride, pads, out, divisor):
        ctx.geometry = dict(kernel=kernel, stride=stride, pads=pads, out=out, divisor=divisor)
        share = g.numpy() / divisor
        padded = tuple(n + left + right for n, (left, right) in zip(size, pads))
        result = np.zeros(share.shape[:2] + padded, dtype=share.dtype)
        for _, window in _offset_slices(kernel, stride, out):
            result[window] += share
        crop = (slice(None), slice(None)) + tuple(
            slice(left, left + n) for n, (left, _) in zip(size, pads))
        return from_numpy(np.ascontiguousarray(result[crop]))

    @staticmethod
    def backward(ctx, g):
        return _WindowMean.apply(g, **ctx.geometry)


# ----------------------------------------------------------------------------------------------
# Geometry.


def _pool_input(op: str, input, spatial: int, indexes: bool = False) -> tuple[Tensor, bool]:
    x = _as_tensor(input)
    if indexes:  # (avg_pool2d reads size(-3) first: PyTorch's IndexError)
        least_dims(op, x, spatial + 1)
    # Only a batched input's batch may be empty (PyTorch refuses an unbatched (0, H, W)).
    if x.ndim not in (spatial + 1, spatial + 2) or any(
            n == 0 for n in x.shape[x.ndim - spatial - 1:]):
        raise ShapeError(f"{op}: non-empty {spatial + 1}D or {spatial + 2}D (batch mode) tensor "
                         f"expected for input, got shape {list(x.shape)}")
    return (x, True) if x.ndim == spatial + 2 else (x.unsqueeze(0), False)


def _pool_geometry(op: str, size: tuple, kernel_size, stride, padding, dilation,
                   ceil_mode: bool, spatial: int, effective_pad: bool) -> tuple:
    """``(kernel, stride, pads, out, dilation)`` with PyTorch's checks and output size.

    ``pads`` is one (left, right) pair per dim; the right one grows to cover a last, partial
    window under ``ceil_mode`` (padding there never wins a max and is never counted).
    """
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


def _flat_strides(size: tuple) -> tuple:
    return tuple(math.prod(size[i + 1:]) for i in range(len(size)))


# ----------------------------------------------------------------------------------------------
# Max pooling.


def _along(values: np.ndarray, dim: int, spatial: int) -> np.ndarray:
    """A 1-d array laid along spatial dim ``dim`` of ``spatial``, for broadcasting."""
    return values.reshape([-1 if j == dim else 1 for j in range(spatial)])


def _window_maxima(padded: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
                   out: tuple, starts: list, flat: tuple, lowest, padding: bool):
    """Each window's maximum and the flat input position of its first maximum.

    ``starts`` holds each dim's window starts in input coordinates (negative in the padding).
    The maxima come from one ``np.maximum`` per kernel offset; the winner is the first offset
    equal to the maximum, found by counting the offsets passed before the first hit (two cheap
    passes per offset). MaxPool2d(2) on [32, 16, 28, 28] float32: 0.9 ms, against 6 ms for a
    running comparison with ``np.copyto(..., where=)`` and 2.8 ms for ``argmax`` over a copy
    of the windows. Windows with a nan, or a maximum as low as the padding, go the exact way.
    """
    spatial = len(kernel)
    base = sum(_along(start * f, i, spatial) for i, (start, f) in enumerate(zip(starts, flat)))
    slices = [window for _, window in _offset_slices(kernel, stride, out, dilation)]
    windows = [(offset, padded[window]) for offset, window in
               _offset_slices(kernel, stride, out, dilation)]
    shifts = [sum(o * d * f for o, d, f in zip(offset, dilation, flat)) for offset, _ in windows]
    disjoint = (not padding and all(d == 1 for d in dilation)
                and all(s >= k for s, k in zip(stride, kernel)))
    covered = all(s == k and m * s == n for s, k, m, n in
                  zip(stride, kernel, out, padded.shape[2:]))
    if disjoint and len(windows) == 4 and len(kernel) == 2:
        found = _pair_tournament([values for _, values in windows])
        if found is not None:
            best, masks = found
            return best, _WindowChoice(masks, slices, shifts, base, covered)
        # a nan: the exact way below
    best = windows[0][1].copy()
    for _, values in windows[1:]:
        np.maximum(best, values, out=best)
    if (best.dtype.kind == "f" and np.isnan(best).any()) or (padding and (best == lowest).any()):
        return _window_maxima_exact(windows, shifts, base, starts, dilation, flat, lowest)
    if disjoint:
        # Disjoint windows inside the input: a mask per offset of where it holds the first
        # maximum (two cheap passes over booleans per offset).
        found = windows[0][1] == best
        masks = [found.copy()]
        for _, values in windows[1:]:
            hit = values == best
            masks.append(np.greater(hit, found))  # a hit with none before it
            found |= hit
        return best, _WindowChoice(masks, slices, shifts, base, covered)
    found = windows[0][1] == best
    passed = np.zeros(best.shape, dtype=np.intp)
    hit = np.empty(best.shape, dtype=bool)
    for _, values in windows[1:]:
        passed += ~found
        np.equal(values, best, out=hit)
        found |= hit
    return best, np.take(np.array(shifts, dtype=np.int64), passed) + base


def _pair_tournament(windows: list):
    """The maxima of 2x2 windows (offsets in the order (0, 0), (0, 1), (1, 0), (1, 1)) and the
    masks of where each offset holds the first maximum, as a knockout: each row's pair, then
    the two winners, a later entry winning only when strictly greater. Six passes over the
    strided windows instead of eight: MaxPool2d(2) forward on [64, 16, 28, 28] float32 1.50 ->
    1.31 ms (torch 3.6 ms), one thread (thread time, alternated). None when a maximum is nan."""
    top = np.empty(windows[0].shape, windows[0].dtype)
    masks = [np.empty(top.shape, bool) for _ in range(4)]
    nan = []

    def examples(start, stop):  # (across the intra-op threads: elementwise, the same bits)
        w0, w1, w2, w3 = (values[start:stop] for values in windows)
        best = np.maximum(w0, w1, out=top[start:stop])
        bottom = np.maximum(w2, w3)
        if best.dtype.kind == "f" and (np.isnan(best).any() or np.isnan(bottom).any()):
            nan.append(start)
            return
        right_top, right_bottom = np.greater(w1, w0), np.greater(w3, w2)
        lower = np.greater(bottom, best)
        np.maximum(best, bottom, out=best)
        upper = ~lower
        m0, m1, m2, m3 = (mask[start:stop] for mask in masks)
        np.greater(upper, right_top, out=m0)
        np.logical_and(right_top, upper, out=m1)
        np.greater(lower, right_bottom, out=m2)
        np.logical_and(right_bottom, lower, out=m3)

    threads.split(examples, top.shape[0], elements=4 * top.size)
    return None if nan else (top, masks)


def _window_maxima_exact(windows: list, shifts: list, base, starts: list, dilation: tuple,
                         flat: tuple, lowest):
    """``_window_maxima`` as PyTorch's loop: a running maximum replaced by anything strictly
    greater, or by a nan (so the last nan of a window wins), starting below everything at the
    window's first entry inside the input (so a window of -inf never points into the padding).
    """
    spatial = len(flat)
    shape = windows[0][1].shape
    best = np.full(shape, lowest, dtype=windows[0][1].dtype)
    first = 0
    for i, (start, d, f) in enumerate(zip(starts, dilation, flat)):
        skip = -(-np.maximum(-start, 0) // d)  # taps before the input begins
        first = first + _along((start + skip * d) * f, i, spatial)
    index = np.broadcast_to(first, shape).astype(np.int64)
    floating = best.dtype.kind == "f"
    for (_, values), shift in zip(windows, shifts):
        wins = values > best
        if floating:
            wins |= np.isnan(values)
        np.copyto(best, values, where=wins)
        np.copyto(index, base + shift, where=wins)
    return best, index


def _max_pool_positions(xs: np.ndarray, *, kernel: tuple, stride: tuple, dilation: tuple,
                        pads: tuple, out: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The maxima of max pooling and their flat positions in the (unpadded) input."""
    lowest = -np.inf if xs.dtype.kind == "f" else np.iinfo(xs.dtype).min
    starts = [np.arange(m) * s - left for m, s, (left, _) in zip(out, stride, pads)]
    padded = _pad(xs, pads, value=lowest)
    values, index = _window_maxima(padded, kernel, stride, dilation, out, starts,
                                   _flat_strides(xs.shape[2:]), lowest, padded is not xs)
    if padded is not xs:
        buffers.give(padded)
    return values, index


def _max_pool(op: str, spatial: int, input, kernel_size, stride, padding, dilation,
              ceil_mode: bool, return_indices: bool):
    kernel_size, stride, padding, dilation = pool_args(op, spatial, kernel_size, stride,
                                                            padding, dilation)
    x, batched = _pool_input(op, input, spatial)
    kernel, stride, pads, out, dilation = _pool_geometry(
        op, tuple(x.shape[2:]), kernel_size, stride, padding, dilation, ceil_mode, spatial, True)
    if x.dtype.kind == "b":
        raise RuntimeError(f'"{op}" not implemented for \'Bool\'')
    geometry = dict(kernel=kernel, stride=stride, dilation=dilation, pads=pads, out=out)
    # Disjoint windows give each input position at most one gradient: an assignment suffices.
    unique = all(s >= d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel))
    return _maxima(x, "window", geometry, unique, batched, return_indices)


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


def _avg_pool(op: str, spatial: int, input, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override) -> Tensor:
    kernel_size, stride, padding = pool_args(op, spatial, kernel_size, stride, padding)
    x, batched = _pool_input(op, input, spatial, op in ("avg_pool2d", "lp_pool2d"))
    size = tuple(x.shape[2:])
    kernel, stride, pads, out, _ = _pool_geometry(op, size, kernel_size, stride, padding, 1,
                                                  ceil_mode, spatial, False)
    if x.dtype.kind == "b":
        raise RuntimeError(f'"{op}" not implemented for \'Bool\'')
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor must be not zero")
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
    if x.dtype.kind == "f":
        divisor = divisor.astype(x.dtype)
    result = _WindowMean.apply(x, kernel=kernel, stride=stride, pads=pads, out=out,
                               divisor=divisor,
                               channels_last=batched and channels_last_like(x._data))
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


def _bounds(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


def _adaptive_avg(op: str, spatial: int, input, output_size) -> Tensor:
    output_size = adaptive_size(op, output_size, input)
    least_dims(op, _as_tensor(input), spatial)  # (PyTorch's Python reads size(-spatial))
    x, batched = _adaptive_input(op, input, spatial)
    size, out = _adaptive_sizes(op, x, output_size, spatial)
    if all(m == 1 for m in out):  # global pooling: a mean
        y = x.mean(dim=tuple(range(2, 2 + spatial)), keepdim=True)
    else:
        # One averaging matrix per dim: the rectangle's mean is the mean of the row means.
        y = x
        for i in reversed(range(spatial)):
            if out[i] == size[i]:
                continue
            start, end = _bounds(size[i], out[i])
            positions = np.arange(size[i])
            inside = (positions >= start[:, None]) & (positions < end[:, None])
            average = from_numpy((inside / (end - start)[:, None]).astype(x.dtype))
            shape = tuple(y.shape)
            rows = shape[:2 + i]
            # (the trailing size spelled out: -1 is ambiguous for a zero-size batch)
            y = average @ y.reshape(math.prod(rows), size[i], math.prod(shape[3 + i:]))
            y = y.reshape(rows + (out[i],) + shape[3 + i:])
        if y is x:  # output size == input size: a new tensor, as PyTorch's (not the input)
            y = x.clone()
    if batched and channels_last_like(x._data):  # PyTorch's layout for a channels-last image
        y = y.contiguous(memory_format=channels_last)
    return y if batched else y.squeeze(0)


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


def _adaptive_max_positions(xs: np.ndarray, *, out: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The maxima of adaptive max pooling and their flat positions in the input.

    Every window is padded to the widest one and all are gathered at once, ``[N, C, m1, w1,
    m2, w2, ...]``, the entries past a window's end set to -inf (they come last, so a tie never
    picks one).
    """
    size = xs.shape[2:]
    spatial = len(size)
    grids, valid, starts = [], np.ones((), dtype=bool), []
    for i, (n, m) in enumerate(zip(size, out)):
        start, end = _bounds(n, m)
        width = int((end - start).max()) if m else 0
        offsets = start[:, None] + np.arange(width)
        shape = [1] * (2 * spatial)
        shape[2 * i], shape[2 * i + 1] = m, width
        grids.append(np.minimum(offsets, max(n - 1, 0)).reshape(shape))
        valid = valid & (offsets < end[:, None]).reshape(shape)
        starts.append(start)
    windows = np.where(valid, xs[(slice(None), slice(None)) + tuple(grids)], -np.inf)
    order = ((0, 1) + tuple(range(2, 2 + 2 * spatial, 2))
             + tuple(range(3, 3 + 2 * spatial, 2)))
    widths = windows.shape[3::2]
    windows = windows.transpose(order).reshape(xs.shape[:2] + out + (math.prod(widths),))
    if windows.shape[-1] == 0 or windows.size == 0:
        choice = np.zeros(windows.shape[:-1], dtype=np.int64)
        values = np.zeros(windows.shape[:-1], dtype=xs.dtype)
    else:
        choice = np.argmax(windows, axis=-1)  # the first maximum; the first nan
        nan = np.isnan(windows)
        if nan.any():  # PyTorch keeps the last nan of a window
            last = windows.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
            choice = np.where(nan.any(axis=-1), last, choice)
        values = np.take_along_axis(windows, choice[..., None], axis=-1)[..., 0]
    taps = np.unravel_index(choice, widths)
    flat = _flat_strides(size)
    index = np.zeros(choice.shape, dtype=np.int64)
    for i, (start, tap) in enumerate(zip(starts, taps)):
        index += (_along(start, i, spatial) + tap) * flat[i]
    return values.astype(xs.dtype, copy=False), index


def _adaptive_max(op: str, spatial: int, input, output_size, return_indices: bool):
    output_size = adaptive_size(op, output_size, input)
    x, batched = _adaptive_input(op, input, spatial)
    size, out = _adaptive_sizes(op, x, output_size, spatial)
    if min(size) == 0 and min(out) > 0:
        raise RuntimeError(f"{op}: expected non-empty spatial dims, got input of shape "
                           f"{list(x.shape)}")
    return _maxima(x, "adaptive", dict(out=out), False, batched, return_indices)


_FINDERS = {"window": _max_pool_positions, "adaptive": _adaptive_max_positions}


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
