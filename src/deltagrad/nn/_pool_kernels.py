"""Max pooling's window kernels, fixed-window and adaptive (kept apart from ``pooling2d.py``,
the functionals).

The strided slice of each kernel offset (``_offset_slices``), the windows' maxima and the flat
position of each one's first maximum: one pass per kernel offset, a pairwise tournament that
keeps PyTorch's first-maximum and NaN rules, and a one-copy path for small inputs; adaptive
max pooling's windows, gathered at once through a table made once per geometry; and the
gradients' scatter back to the maxima's positions (``_put``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._engine import buffers, threads
from .fold2d import _pad, _rows

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


# Inputs up to this many (entries x window size, or windows x window size) take
# ``_small_window_maxima``.
_SMALL_WINDOWS = 1 << 14
_SMALL_PLANS: dict = {}  # geometry -> _small_plan's tuple
# From this many windows' taps, ``_small_window_maxima`` copies the windows out taps first
# (each tap's row a strided copy along the output's width) and then transposes that copy:
# NumPy's copy of the taps-last view runs its inner loop over a window's width (2 or 3
# entries), slower than both copies together past ~2,000 taps: [4, 8, 16, 16], kernel 2,
# 36 -> 13 us; [2, 8, 16, 16], kernel 3, stride 2, 19 -> 10 us; [8, 4, 8, 8], kernel 2, 5.6 ->
# 4.9 us; OpInfo's [1, 2, 3, 6] (72 taps) 0.5 against 0.8 us (timeit, one thread; SP7 s22).
_TAPS_FIRST = 2048


def padded_steps(shape: tuple, itemsize: int, pads) -> tuple:
    """The padded shape (None when no right pad is needed: the left pads are read through
    the view's offset) and the byte strides of the C-contiguous (padded) input."""
    padded = None
    if any(right for _, right in pads):  # (pads are never negative here)
        padded = shape[:2] + tuple(n + left + right for n, (left, right) in zip(shape[2:], pads))
    full = padded or shape
    return padded, tuple(itemsize * math.prod(full[i + 1:]) for i in range(len(full)))


def _small_plan(shape: tuple, itemsize: int, kernel: tuple, stride: tuple, dilation: tuple,
                pads: tuple, out: tuple) -> tuple:
    """What ``_small_window_maxima`` needs of a geometry, made once per input shape: the
    padded shape (None: no padding) and the input's place in it, the windows' view (shape and
    byte strides over the C-contiguous padded input), the flat start of each window's taps,
    and the flat input position of each (row, output, tap), the rows the (example, channel)
    pairs."""
    key = (shape, itemsize, kernel, stride, dilation, pads, out)
    plan = _SMALL_PLANS.get(key)
    if plan is not None:
        return plan
    spatial = len(kernel)
    size = shape[2:]
    padded, steps = padded_steps(shape, itemsize, pads)
    view = (shape[:2] + tuple(out) + tuple(kernel),
            steps[:2] + tuple(s * st for s, st in zip(stride, steps[2:]))
            + tuple(d * st for d, st in zip(dilation, steps[2:])))
    rows = shape[0] * shape[1]
    taps_first = rows * math.prod(out) * math.prod(kernel) >= _TAPS_FIRST
    if taps_first:  # (the same windows, the taps' dims first: see _TAPS_FIRST)
        spatial = len(kernel)
        order = tuple(range(2 + spatial, 2 + 2 * spatial)) + tuple(range(2 + spatial))
        view = (tuple(view[0][i] for i in order), tuple(view[1][i] for i in order))
    interior = (Ellipsis,) + tuple(slice(left, left + n) for n, (left, _) in zip(size, pads))
    taps = math.prod(kernel)
    outputs = math.prod(out)
    # (output p, tap t) -> flat position in the unpadded input; first(p) * K for take.
    flat = _flat_strides(size)
    position = 0
    for i, (m, s, (left, _), k, d, f) in enumerate(zip(out, stride, pads, kernel, dilation,
                                                       flat)):
        along = (np.arange(m) * s - left)[:, None] + np.arange(k) * d
        places = [1] * (2 * spatial)
        places[i], places[spatial + i] = m, k
        position = position + along.reshape(places) * f
    table = (np.ascontiguousarray(np.broadcast_to(position, tuple(out) + tuple(kernel)))
             .reshape(1, -1).astype(np.int64))
    # (the table repeated for each (example, channel) row: the flat tap of each window,
    # ``choice + starts``, indexes both the windows and the positions)
    plan = (padded, interior, view, taps, _row_starts(rows * outputs, taps),
            np.repeat(table, rows, axis=0).reshape(-1), taps_first)
    if len(_SMALL_PLANS) >= 1024:  # (programs with ever-new shapes)
        _SMALL_PLANS.clear()
    _SMALL_PLANS[key] = plan
    return plan


def _first_maxima_taps_first(taps: np.ndarray) -> tuple:
    """``argmax`` over axis 0 of ``taps`` ``[K, n]`` (the windows' taps first) and the maxima
    read at those taps: the running maximum, then the number of taps before the first equal
    to it (``_window_maxima``'s count), a few contiguous passes a tap over ``n`` entries where
    ``argmax`` along the short rows of a transposed copy runs its loop per window (numbers
    below). The first maximum, as ``argmax`` (-0.0 and 0.0 tie: the first
    one's bits are read). (None, None) when a maximum is nan (``argmax`` would pick the first
    nan; the caller takes the exact path then). Taken for 2x2 windows from 2,048 windows,
    where it wins (fewer: its ~4K + 3 NumPy calls cost more than argmax's loop): MaxPool2d(2)
    on [1, 16, 28, 28] (W9's CNN) 47.6 -> 42.9 us, [1, 32, 28, 28] 126 -> 61 us; [1, 32, 14,
    14] 23.8 against 23.4, [1, 16, 14, 14] 11.5 against 18.4, 3x3 windows at 2,704 windows
    69 against 74 (timeit min of 7, one thread, a loaded machine; SP26 s25). W9's CNN at
    batch 1 under no_grad 486 -> 477 us a forward (0.988: medians of 25 alternated rounds in
    one process against the tree without this path; PyTorch 305)."""
    best = taps[0].copy()
    for row in taps[1:]:
        np.maximum(best, row, out=best)
    if best.dtype.kind == "f":
        least = np.minimum.reduce(best)
        if least != least:
            return None, None
    found = taps[0] == best
    passed = np.zeros(best.shape, np.intp)
    hit = np.empty(best.shape, bool)
    for row in taps[1:]:
        passed += ~found
        np.equal(row, best, out=hit)
        found |= hit
    n = best.shape[0]
    return passed, taps.reshape(-1).take(passed * n + _row_starts(n, 1))


def _small_window_maxima(xs: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
                         pads: tuple, out: tuple, lowest):
    """``_window_maxima`` for small inputs: every window copied out at once (one strided view,
    ``[N, C, *out, K]``) and ``argmax`` over its taps, a handful of NumPy calls where the
    general path makes several per kernel offset (each ~2 us on a few strided elements).
    ``argmax`` takes the first maximum in the same offset order, so the positions are the
    same. None (the general path) for a nan or a maximum as low as the padding. The maxima
    and positions of OpInfo's max_pool2d [1, 2, 3, 6], kernel 3, stride 2, ceil_mode: 284 ->
    55 us (alternated timeit, one thread, a loaded machine; s14 SP); with the geometry's
    plan made once per shape (``_small_plan``) 64 -> 39 us (s15 CV, the same way)."""
    padded_shape, interior, view, taps, starts, table, taps_first = _small_plan(
        xs.shape, xs.dtype.itemsize, kernel, stride, dilation, pads, out)
    if padded_shape is not None:
        padded = np.empty(padded_shape, xs.dtype)
        padded.fill(lowest)
        padded[interior] = xs
    else:
        padded = np.ascontiguousarray(xs)
    # (the strided view made directly: as_strided's Python wrapper costs ~8 us)
    windows = np.ndarray(view[0], padded.dtype, padded, 0, view[1])
    if taps_first and taps <= 4 and starts.size >= 2048 and padded.dtype.kind in "fiu":
        flat, values = _first_maxima_taps_first(windows.reshape(taps, -1))
        if flat is None:  # (a nan: the general path, as below)
            return None
        flat += starts
    else:
        if taps_first:
            windows = windows.reshape(taps, -1).T.copy()  # (two copies: see _TAPS_FIRST)
        else:
            windows = windows.reshape(-1, taps)  # (a copy)
        flat = windows.argmax(axis=1)
        flat += starts
        values = windows.ravel().take(flat)
    # One reduction for both refusals: the least maximum is nan where any is (a window with a
    # nan has it as its argmax), and as low as the padding where any is. (Two ``.any()``
    # checks through NumPy's Python wrappers before, and the positions in two calls more:
    # max_pool2d's forward on OpInfo's [1, 2, 3, 6] 16.0 -> 11.1 us, no_grad 16.4 -> 12.7,
    # with _TAPS_FIRST; PyTorch 4.4 / 4.8: SP7 s22, base and new alternated in one process,
    # thread time, one thread, a loaded machine.)
    least = np.minimum.reduce(values)
    if padded_shape is not None:
        if not least > lowest:  # (False for nan)
            return None
    elif least != least:
        return None
    shape = xs.shape[:2] + tuple(out)
    return values.reshape(shape), table.take(flat).reshape(shape)


_ROW_STARTS: dict = {}


def _row_starts(rows: int, width: int) -> np.ndarray:
    """``arange(rows) * width``, cached: the flat start of each row of a ``[rows, width]``."""
    starts = _ROW_STARTS.get((rows, width))
    if starts is None:
        if len(_ROW_STARTS) >= 1024:
            _ROW_STARTS.clear()
        starts = _ROW_STARTS[rows, width] = np.arange(rows, dtype=np.intp) * width
    return starts


def _max_pool_positions(xs: np.ndarray, *, kernel: tuple, stride: tuple, dilation: tuple,
                        pads: tuple, out: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The maxima of max pooling and their flat positions in the (unpadded) input."""
    lowest = -np.inf if xs.dtype.kind == "f" else np.iinfo(xs.dtype).min
    taps = math.prod(kernel)
    # Small: few entries, or few windows' taps to copy out (overlapping windows with stride 2
    # copy fewer taps than entries x taps: [2, 8, 16, 16], kernel 3, stride 2, padding 1, the
    # maxima ~80 -> ~39 us, and with _TAPS_FIRST max_pool2d's forward 100 -> 38 us (PyTorch
    # 15); [4, 8, 16, 16], kernel 2, 57 -> 48 us (PyTorch 23); the paths cross near 2^14-2^15
    # copied taps; SP7 s22, alternated as at _small_window_maxima).
    windows = xs.shape[0] * xs.shape[1] * math.prod(out) * taps
    if 0 < min(xs.size * taps, windows) <= _SMALL_WINDOWS:  # (empty: the general path)
        found = _small_window_maxima(xs, kernel, stride, dilation, pads, out, lowest)
        if found is not None:
            return found
    starts = [np.arange(m) * s - left for m, s, (left, _) in zip(out, stride, pads)]
    padded = _pad(xs, pads, value=lowest)
    values, index = _window_maxima(padded, kernel, stride, dilation, out, starts,
                                   _flat_strides(xs.shape[2:]), lowest, padded is not xs)
    if padded is not xs:
        buffers.give(padded)
    return values, index


_VALUES_FROM = 1 << 11


def _max_pool_values(xs: np.ndarray, *, kernel: tuple, stride: tuple, dilation: tuple,
                     pads: tuple, out: tuple) -> tuple:
    """``_max_pool_positions``'s maxima alone, ``(values, None)``, for a forward that needs no
    positions (no gradient, no ``return_indices``: ``pooling2d._maxima``): the maximum taken
    one spatial dim at a time (``np.maximum`` per kernel offset along the dim, ``sum(kernel)``
    calls, the first over contiguous rows), and no search for the first maximum. A window's
    maximum is one value whatever the order it is found in, except where it is nan (PyTorch
    keeps the last nan's bits) or a zero among zeros of both signs (PyTorch keeps the first
    one's sign): a nan in the maxima or a -0.0 in the input takes the positions' path (its
    values). Examples are shared out across the intra-op threads (elementwise: the same bits).
    The maxima of MaxPool2d(2): [1, 16, 28, 28] (W9's CNN at batch 1) 27.4 -> 13.0 us, [1, 32,
    14, 14] 18.4 -> 11.2 us, [32, 16, 28, 28] 343 -> 150 us (thread time, one thread, medians
    of 9 blocks; s27 SP39); W9's CNN forward under no_grad, b1 321 -> 287 us, b32 3374 -> 3036
    us (x PyTorch 1.73 -> 1.55, 1.12 -> 1.01; w9_inference's runners of the tree without this
    and with it alternated in one process, medians of 15 / 11 rounds, process time). Below
    ``_VALUES_FROM`` entries the positions' path
    (its small-input copy) is as fast or faster: [2, 3, 9, 9], kernel 3, stride 2, padding 1,
    7.5 against 11.9 us, [1, 8, 16, 16] 12.6 against 13.3, [4, 8, 16, 16], kernel 2, 23.1
    against 11.2."""
    if (type(xs) is not np.ndarray or xs.dtype.kind not in "fiu"
            or xs.size < _VALUES_FROM):
        return _max_pool_positions(xs, kernel=kernel, stride=stride, dilation=dilation,
                                   pads=pads, out=out)
    lowest = -np.inf if xs.dtype.kind == "f" else np.iinfo(xs.dtype).min
    padded = _pad(xs, pads, value=lowest)  # (a window is never all padding: PyTorch's rule)
    values = np.empty(xs.shape[:2] + tuple(out), xs.dtype)
    last = 1 + len(kernel)

    def examples(start, stop):  # (elementwise: the same bits split across the threads or not)
        reduced = padded[start:stop]
        for dim, (k, s, d, m) in enumerate(zip(kernel, stride, dilation, out), start=2):
            before = (slice(None),) * dim
            taps = [reduced[before + (slice(o * d, o * d + s * (m - 1) + 1, s),)]
                    for o in range(k)]
            reduced = values[start:stop] if dim == last else np.empty(taps[0].shape, xs.dtype)
            if k == 1:
                np.copyto(reduced, taps[0])
            else:
                np.maximum(taps[0], taps[1], out=reduced)
            for tap in taps[2:]:
                np.maximum(reduced, tap, out=reduced)

    work = xs.size * math.prod(kernel)
    if work < threads.MIN_SPLIT_WORK:
        examples(0, xs.shape[0])
    else:
        threads.split(examples, xs.shape[0], elements=work)
    if padded is not xs:
        buffers.give(padded)
    if xs.dtype.kind == "f":
        least = np.minimum.reduce(values.reshape(-1))
        # -0.0 is the least integer of its width's bit patterns (the sign bit alone)
        bits = 8 * xs.itemsize
        if least != least or np.minimum.reduce(
                xs.view(f"i{xs.itemsize}").reshape(-1)) == -(1 << (bits - 1)):
            return _max_pool_positions(xs, kernel=kernel, stride=stride, dilation=dilation,
                                       pads=pads, out=out)
    return values, None


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


def _put(xs: np.ndarray, index: np.ndarray, shape: tuple, accumulate: bool) -> np.ndarray:
    """``_Put``'s forward over arrays."""
    batch, channels = shape[:2]
    positions = math.prod(shape[2:])
    if accumulate:
        rows = np.arange(batch * channels, dtype=np.int64).reshape(batch, channels, 1)
        ids = (rows * positions + _rows(index)).ravel()
        if xs.dtype.kind == "f" and xs.dtype.itemsize >= 4:
            # Added in the input's dtype in the outputs' order, as PyTorch's loop: its bits
            # where a float64 bincount differed in the last (13 of 4,096 gradients of
            # max_pool2d(3, 2, 1) on [2, 8, 16, 16]); and faster in NumPy 2, 7.7 -> 6.1 us
            # there, 531 -> 361 on [32, 16, 28, 28] (timeit, one thread; SP7 s22).
            out = np.zeros(batch * channels * positions, dtype=xs.dtype)
            np.add.at(out, ids, xs.ravel())
            return out.reshape(shape)
        sums = np.bincount(ids, weights=xs.ravel(), minlength=batch * channels * positions)
        return sums.astype(xs.dtype).reshape(shape)  # (float16: summed in float64)
    # Unique positions: one assignment through flat ids, where put_along_axis builds index
    # grids in Python: max_pool2d's backward on OpInfo's [1, 2, 3, 6] 38 -> 8 us (s15 CV,
    # alternated timeit, one thread).
    out = np.zeros(batch * channels * positions, dtype=xs.dtype)
    rows = batch * channels
    ids = index.reshape(rows, index.size // rows if rows else 0) + _row_starts(rows, positions)[
        :, None]
    out[ids.ravel()] = xs.ravel()
    return out.reshape(shape)


# ----------------------------------------------------------------------------------------------
# Adaptive max pooling.


def _bounds(n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    i = np.arange(m)
    return (i * n) // m, -((-(i + 1) * n) // m)


_ADAPTIVE_TAPS: dict = {}  # (size, out) -> (flat input position of each tap [P, W], valid)


def _adaptive_taps(size: tuple, out: tuple) -> tuple[np.ndarray, np.ndarray]:
    """For each output position and tap of the widest window: the flat input position read
    (clipped to the input) and whether the tap is inside its window, ``[prod(out), W]``, in
    ``_adaptive_max_general``'s tap order. Made once per geometry."""
    key = (size, out)
    found = _ADAPTIVE_TAPS.get(key)
    if found is None:
        spatial = len(size)
        flat = _flat_strides(size)
        position, valid = np.zeros((), dtype=np.int64), np.ones((), dtype=bool)
        for i, (n, m) in enumerate(zip(size, out)):
            start, end = _bounds(n, m)
            offsets = start[:, None] + np.arange(int((end - start).max()))
            shape = [1] * (2 * spatial)
            shape[2 * i], shape[2 * i + 1] = offsets.shape
            position = position + (np.minimum(offsets, n - 1) * flat[i]).reshape(shape)
            valid = valid & (offsets < end[:, None]).reshape(shape)
        order = tuple(range(0, 2 * spatial, 2)) + tuple(range(1, 2 * spatial, 2))
        full = np.broadcast_shapes(position.shape, valid.shape)
        taps = math.prod(full[1::2])
        found = (np.ascontiguousarray(np.broadcast_to(position, full).transpose(order))
                 .reshape(-1, taps),
                 np.ascontiguousarray(np.broadcast_to(valid, full).transpose(order))
                 .reshape(-1, taps))
        if len(_ADAPTIVE_TAPS) >= 1024:  # (programs with ever-new shapes)
            _ADAPTIVE_TAPS.clear()
        _ADAPTIVE_TAPS[key] = found
    return found


def _window_choice(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tap of each window's maximum along the last axis (the first maximum; PyTorch keeps
    the last nan of a window) and its value."""
    choice = np.argmax(windows, axis=-1)
    nan = np.isnan(windows)
    if nan.any():
        last = windows.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
        choice = np.where(nan.any(axis=-1), last, choice)
    return choice, np.take_along_axis(windows, choice[..., None], axis=-1)[..., 0]


def _adaptive_max_positions(xs: np.ndarray, *, out: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The maxima of adaptive max pooling and their flat positions in the input: every window
    padded to the widest one and gathered at once through ``_adaptive_taps``'s table (the
    entries past a window's end set to -inf: they come last, so a tie never picks one), the
    first maximum taken (PyTorch's, and the last nan of a window). The geometry made once per
    shape where it was made each call: OpInfo's adaptive_max_pool2d [4, 4, 4] to (2, 3)
    fwd + bwd ~155 -> ~95 us (one thread, alternated processes, thread time, a loaded
    machine; s15 CV)."""
    size = xs.shape[2:]
    if 0 in xs.shape or 0 in out:  # (empty: the general way)
        return _adaptive_max_general(xs, out=out)
    table, valid = _adaptive_taps(size, out)
    rows = xs.reshape(xs.shape[0], xs.shape[1], -1)
    windows = np.where(valid, rows[:, :, table], -np.inf)  # [N, C, P, W]
    choice, values = _window_choice(windows)
    # (a chosen tap is always inside its window, where the clipped position is the true one)
    index = table.ravel().take(choice + _tap_rows(table.shape))
    shape = xs.shape[:2] + tuple(out)
    return values.astype(xs.dtype, copy=False).reshape(shape), index.reshape(shape)


def _tap_rows(shape: tuple) -> np.ndarray:
    """``arange(P) * W`` for a ``[P, W]`` table: the flat start of each output's taps."""
    return np.arange(shape[0], dtype=np.intp) * shape[1]


def _adaptive_max_general(xs: np.ndarray, *, out: tuple) -> tuple[np.ndarray, np.ndarray]:
    """``_adaptive_max_positions`` built from the geometry each call (empty inputs).

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
        choice, values = _window_choice(windows)
    taps = np.unravel_index(choice, widths)
    flat = _flat_strides(size)
    index = np.zeros(choice.shape, dtype=np.int64)
    for i, (start, tap) in enumerate(zip(starts, taps)):
        index += (_along(start, i, spatial) + tap) * flat[i]
    return values.astype(xs.dtype, copy=False), index


def refuse_empty_grad(y, op: str, sizes) -> None:
    """PyTorch's adaptive pool backwards refuse a gradient with an empty non-batch dim (a
    RuntimeError in backward; deltagrad's gradient was zeros, silently): ``y`` (requiring
    grad) raises it when its gradient arrives. ``sizes``: the grad_output's sizes as
    PyTorch's kernel ``op`` sees them (1-d pools: through 2-d, the length last)."""
    empty = [d for d, n in enumerate(sizes) if d and n == 0]
    if not empty or not getattr(y, "requires_grad", False):
        return
    message = (f"{op}_backward(): Expected grad_output to have non-zero size for non-batch "
               f"dimensions, but grad_output has sizes {list(sizes)} with dimension {empty[0]} "
               f"being empty")

    def refuse(grad):
        raise RuntimeError(message)

    y.register_hook(refuse)


def check_nonempty(op: str, sizes) -> None:
    """PyTorch's adaptive max pools refuse an input with an empty non-batch dim (dims 1 on of
    the input as given), in forward."""
    empty = [d for d, n in enumerate(sizes) if d and n == 0]
    if empty:
        raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(sizes)} with dimension "
                           f"{empty[0]} being empty")
