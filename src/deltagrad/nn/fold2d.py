"""Sliding windows over N-d inputs: the im2col / col2im kernels that convolution and pooling
share, ``unfold`` / ``fold`` (PyTorch's ``F.unfold`` / ``F.fold``) and ``nn.Unfold`` /
``nn.Fold``.

Windows are read through one strided view (``as_strided``), so im2col is a single copy; col2im
adds the columns back one kernel offset at a time (``prod(kernel_size)`` strided additions,
never a Python loop over examples or pixels). ``_Unfold`` and ``_Fold`` are each other's
adjoint, so each one's backward is the other and they differentiate any number of times.
"""

from __future__ import annotations

import itertools
import math
import numbers
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._engine import ShapeError, Tensor, buffers, versions
from .._engine.api._common import index_or_none
from .._engine.api.creation import from_numpy, tensor
from .._engine.ops import ARRAY, Op
from .._engine.tensor import apply
from ..autograd import Function
from ..autograd.profiler import NODE_OPS
from ._functional_args import DimIndexError, check_int_list
from .module import Module

# torch.nn.functional: the layers call its functions as PyTorch's do, looked up when called
# (subclasses, function modes and programs that replace them see the calls). Read from
# sys.modules, as it imports this module (the package's __init__ loads it first).
F = sys.modules["deltagrad.nn.functional"]

__all__ = ["Fold", "Unfold", "fold", "unfold"]


# ----------------------------------------------------------------------------------------------
# Argument parsing shared by the convolution and pooling files.


def _ntuple(value, n: int, name: str, op: str) -> tuple[int, ...]:
    """An int or a sequence of 1 or ``n`` ints as an ``n``-tuple (PyTorch's ``_ntuple``); a
    one-element integer or bool tensor is an int, as PyTorch's parser reads it."""
    # Plain ints (never bools: exact types) skip the checks below, whose isinstance against
    # numbers.Integral goes through the ABC machinery: 2.3 -> 0.2 (int) or 0.5 (tuple) us a
    # call, 87 calls a DCGAN step (conv layers parse stride, dilation and padding each call).
    if type(value) is int:
        return (value,) * n
    if type(value) is tuple and len(value) == n and all(type(item) is int for item in value):
        return value
    if isinstance(value, Tensor):
        value = check_int_list(value, name, op)
    if isinstance(value, (tuple, list)):
        items = tuple(value)
        if len(items) == 1:
            items = items * n
        if len(items) != n:
            raise RuntimeError(f"{op}: expected {name} to be a single integer value or a list of "
                               f"{n} values to match the {n}-d operation, but got "
                               f"{name}={list(items)}")
    else:
        items = (value,) * n
    for item in items:
        if (not isinstance(item, numbers.Integral) or isinstance(item, bool)) and \
                index_or_none(item) is None:  # (an __index__ object is an int to PyTorch)
            raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(int(item) for item in items)


def pool_args(op: str, spatial: int, *sizes) -> tuple:
    """The int arguments of a pool (kernel_size, stride, padding, dilation) checked as
    PyTorch's parser does, before the input (a TypeError first); None and () stay."""
    return tuple(size if size is None or (isinstance(size, (tuple, list)) and not size)
                 else _ntuple(size, spatial, name, op)
                 for size, name in zip(sizes, ("kernel_size", "stride", "padding", "dilation")))


def least_dims(op: str, x: Tensor, least: int) -> None:
    """PyTorch's IndexError where its code reads ``x.size(-least)`` of an input with fewer
    dims (a DimIndexError, which is a ShapeError too)."""
    if x.ndim < least:
        raise DimIndexError(f"Dimension out of range (expected to be in range of "
                            f"[{-max(x.ndim, 1)}, {max(x.ndim, 1) - 1}], but got {-least}) "
                            f"({op}: the input of shape {list(x.shape)} has no dim {-least})")


def adaptive_size(op: str, output_size, input):
    """``output_size`` of an adaptive pool checked as PyTorch's Python code and parser do (an
    int, or a sequence of ints and Nones shorter than the input's dims; a tensor is iterated)."""
    if isinstance(output_size, Tensor):
        if output_size.ndim == 0:
            raise TypeError(f"{op}: len() of a 0-d tensor (output_size)")
        output_size = list(output_size)
    if isinstance(output_size, (tuple, list)):
        if _as_tensor(input).ndim <= len(output_size):
            raise ValueError(f"{op}: Input dimension should be at least "
                             f"{len(output_size) + 1} (input of shape "
                             f"{list(_as_tensor(input).shape)}, output_size {output_size})")
        return type(output_size)(item if item is None else check_int_list(
            [item], "output_size", op, tensor_ok=False)[0] for item in output_size)
    return check_int_list(output_size, "output_size", op, tensor_ok=False)


def _rows(a):
    """``[N, C, *spatial] -> [N, C, prod(spatial)]`` (an array or a Tensor; empty ones too)."""
    return a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))


def _as_tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else tensor(value)


def _batched(op: str, input, spatial: int) -> tuple[Tensor, bool]:
    """``input`` as ``[N, C, *spatial]`` and whether it had the batch dimension."""
    x = _as_tensor(input)
    if x.ndim == spatial + 2:
        return x, True
    if x.ndim == spatial + 1:
        return x.unsqueeze(0), False
    raise ShapeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to "
                     f"{op}, but got input of size: {list(x.shape)}")


# ----------------------------------------------------------------------------------------------
# NumPy kernels. ``pads`` is one (left, right) pair per spatial dim; a negative width crops.


_PAD_PLANS: dict = {}  # (spatial size, pads) -> (padded spatial size, the input's slices)


def _pad(x: np.ndarray, pads: tuple, value=0) -> np.ndarray:
    """Pad (or crop, for negative widths) the spatial dims of ``[N, C, *spatial]``.

    A padded result is a new array from the engine's recycled buffers (``buffers.give`` it
    back when done): these few-MB arrays, allocated fresh each step, cost a page fault per 4 KB.
    """
    try:
        plan = _PAD_PLANS.get((x.shape[2:], pads))
    except TypeError:  # (pads given as lists: no plan kept)
        plan, pads = None, tuple(tuple(pair) for pair in pads)
    if plan is None:
        if not any(left or right for left, right in pads):
            return x
        if all(left >= 0 and right >= 0 for left, right in pads):
            # The padded size and the input's place in it, kept per geometry (the generators
            # below cost a few us a call): conv2d fwd + bwd on OpInfo's [1, 3, 4, 4], padding
            # 2, which pads twice, 197 -> 182 us (one thread, alternated, thread time; s14 SP).
            plan = (tuple(n + left + right for (left, right), n in zip(pads, x.shape[2:])),
                    (slice(None), slice(None)) + tuple(slice(left, left + n) for (left, _), n
                                                       in zip(pads, x.shape[2:])))
            if len(_PAD_PLANS) >= 1024:
                _PAD_PLANS.clear()
            _PAD_PLANS[x.shape[2:], pads] = plan
    if plan is not None:  # (padding only)
        padded = buffers.empty(x.shape[:2] + plan[0], x.dtype)
        padded.fill(value)
        padded[plan[1]] = x
        return padded
    crop = (slice(None), slice(None)) + tuple(
        slice(max(-left, 0), n - max(-right, 0)) for (left, right), n in zip(pads, x.shape[2:]))
    x = x[crop]
    if all(left <= 0 and right <= 0 for left, right in pads):
        return x
    shape = x.shape[:2] + tuple(n + max(left, 0) + max(right, 0)
                                for (left, right), n in zip(pads, x.shape[2:]))
    padded = buffers.empty(shape, x.dtype)
    padded.fill(value)
    padded[(slice(None), slice(None)) + tuple(
        slice(max(left, 0), max(left, 0) + n) for (left, _), n in zip(pads, x.shape[2:]))] = x
    return padded


def _windows(xp: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
             out: tuple) -> np.ndarray:
    """A read-only view ``[N, C, *kernel, *out]`` of the windows of a padded input."""
    spatial = xp.strides[2:]
    shape = xp.shape[:2] + tuple(kernel) + tuple(out)
    strides = (xp.strides[:2] + tuple(d * s for d, s in zip(dilation, spatial))
               + tuple(st * s for st, s in zip(stride, spatial)))
    if xp.flags.c_contiguous and xp.size:
        # The view made directly over the array's memory: as_strided's Python wrapper cost
        # 14 -> 6 us a call on OpInfo's conv2d [1, 3, 4, 4] (timeit, one thread, a loaded
        # machine; s15 CV).
        view = np.ndarray(shape, xp.dtype, xp, 0, strides)
        view.flags.writeable = False
        return view
    return as_strided(xp, shape, strides, writeable=False)


def _batch_last_fits(shape: tuple, pads: tuple) -> bool:
    """Whether columns ``shape`` ``[N, R, P]`` are made batch-last (``_im2col_batch_last``):
    fewer output positions than examples (more, and its stacked GEMMs of ``N`` columns lose:
    W8 CNN's Conv2d(16, 32, 3, padding=1) on [32, 16, 14, 14], forward + backward 3.3 ->
    6.6 ms), and no cropping."""
    batch, rows, positions = shape
    return (1 < positions < batch and rows > 1
            and all(left >= 0 and right >= 0 for left, right in pads))


def _im2col_batch_last(x: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple,
                       pads: tuple, out: tuple, ones: bool = False) -> np.ndarray:
    """``_im2col``'s columns ``[N, R, P]`` (and a row of ones with ``ones``) with the batch as
    their fastest dim: Fortran order, memory ``[P, R, N]`` (``_is_batch_last``). The copy runs
    over ``N`` elements at a time from a padded batch-last copy of the input, where the usual
    one runs along an output row of ``out[-1]`` (strided by the stride) and NumPy pays per
    run; the products (conv2d_kernels) are then stacked GEMMs per position. A fresh array
    (``buffers`` keeps only C-order ones). W8 DCGAN's Conv2d(16, 32, 4, 2, 1) on
    [32, 16, 8, 8] float32: the columns 154 -> 34 us (one thread, thread time, medians of 41).
    """
    batch, channels = x.shape[:2]
    rows, positions = channels * math.prod(kernel), math.prod(out)
    padded = tuple(n + left + right for n, (left, right) in zip(x.shape[2:], pads))
    last = buffers.empty((channels,) + padded + (batch,), x.dtype)
    if any(left or right for left, right in pads):
        last.fill(0)
    inside = (slice(None),) + tuple(slice(left, left + n)
                                    for n, (left, _) in zip(x.shape[2:], pads))
    np.copyto(last[inside], np.moveaxis(x, 0, -1))
    strides = last.strides
    view = as_strided(last, tuple(out) + (channels,) + tuple(kernel) + (batch,),
                      tuple(s * strides[1 + i] for i, s in enumerate(stride)) + (strides[0],)
                      + tuple(d * strides[1 + i] for i, d in enumerate(dilation))
                      + (strides[-1],), writeable=False)
    cols = np.empty((batch, rows + ones, positions), x.dtype, order="F")
    memory = cols.transpose(2, 1, 0)  # [P, R, N], C-contiguous
    target = memory[:, :rows]
    target.shape = view.shape  # (raises rather than copy: the copy below must land in cols)
    np.copyto(target, view)
    view = None  # (a view of ``last``: gone, so that it can be given back)
    buffers.give(last)
    if ones:
        memory[:, rows] = 1
    return cols


def _is_batch_last(cols: np.ndarray) -> bool:
    """Whether columns are ``_im2col_batch_last``'s (Fortran order, never C-contiguous: it is
    made only for more than one position and row, and more examples than positions)."""
    return cols.flags.f_contiguous and not cols.flags.c_contiguous


def _im2col(x: np.ndarray, kernel: tuple, stride: tuple, dilation: tuple, pads: tuple,
            out: tuple, copy: bool = False, ones: bool = False) -> np.ndarray:
    """Columns ``[N, C * prod(kernel), prod(out)]`` (channel-major rows: the groups of a
    grouped convolution are contiguous blocks): one copy through the strided view, into a
    recycled buffer (give it back with ``buffers.give`` when done). Without ``copy``, a 1x1
    window without padding or stride is the input itself. With ``ones``, a last row of ones
    follows (``[N, C * prod(kernel) + 1, prod(out)]``: a bias column of the weights then adds
    the bias inside the product). Without ``copy``, few output positions give batch-last
    columns (``_im2col_batch_last``): the products of conv2d_kernels read both layouts."""
    batch, channels = x.shape[:2]
    shape = (batch, channels * math.prod(kernel), math.prod(out))
    if (not copy and not ones and all(k == 1 for k in kernel) and all(s == 1 for s in stride)
            and not any(left or right for left, right in pads) and x.shape[2:] == tuple(out)):
        return x.reshape(shape)  # (not a conv_transpose's gradient with output_padding: SL5)
    if not copy and _batch_last_fits(shape, pads):
        return _im2col_batch_last(x, kernel, stride, dilation, pads, out, ones)
    padded = _pad(x, pads)
    windows = _windows(padded, kernel, stride, dilation, out)
    if ones:
        cols = buffers.empty((batch, shape[1] + 1, shape[2]), x.dtype)
        cols[:, -1] = 1
        np.copyto(cols[:, :-1].reshape(windows.shape), windows)
    else:
        cols = buffers.empty(shape, x.dtype)
        np.copyto(cols.reshape(windows.shape), windows)
    del windows
    if padded is not x:
        buffers.give(padded)
    return cols


def _sum_down(rows: np.ndarray) -> np.ndarray:
    """The sum of the rows of ``[K, M]``, added one row at a time from zeros, as a loop of
    ``+=`` does (the same bits; -0.0 sums to 0.0). NumPy reduces down axis 0 that way when
    the rows are longer than 1 and C-contiguous (else it may run along the rows, pairwise); a
    single column would be summed pairwise, so it accumulates."""
    rows = np.ascontiguousarray(rows)
    if rows.shape[1] > 1:
        return np.add.reduce(rows, axis=0, dtype=rows.dtype, initial=0)
    total = np.add.accumulate(rows, axis=0, dtype=rows.dtype)[-1]
    total += 0
    return total


_SCATTERS: dict = {}  # geometry -> ``_window_mean_adjoint``'s gather table


def _scatter_table(size: tuple, kernel: tuple, stride: tuple, dilation: tuple, pads: tuple,
                   grid: tuple) -> np.ndarray:
    """``[K, P_in]``: for each kernel offset and input position (of the unpadded input of
    spatial ``size``), the flat output whose window reads that position at that offset, or
    ``prod(grid)`` (a zero to gather) where none does. Made once per geometry."""
    key = (size, kernel, stride, dilation, pads, grid)
    table = _SCATTERS.get(key)
    if table is None:
        outputs = math.prod(grid)
        table = np.full((math.prod(kernel), math.prod(size)), outputs, dtype=np.intp)
        positions = np.indices(size).reshape(len(size), -1)
        flat = tuple(math.prod(grid[i + 1:]) for i in range(len(grid)))
        for k, offset in enumerate(itertools.product(*(range(n) for n in kernel))):
            found = np.zeros(positions.shape[1], dtype=np.intp)
            valid = np.ones(positions.shape[1], dtype=bool)
            for p, o, s, d, (left, _), m, f in zip(positions, offset, stride, dilation, pads,
                                                   grid, flat):
                start = p + left - o * d
                valid &= (start >= 0) & (start % s == 0) & (start // s < m)
                found += (start // s) * f
            table[k, valid] = found[valid]
        if len(_SCATTERS) >= 1024:
            _SCATTERS.clear()
        _SCATTERS[key] = table
    return table


# Columns up to this many entries take ``_col2im``'s gather.
_SMALL_COLUMNS = 1 << 14
_SMALL_TABLE = 1 << 16  # (and when the gather table has up to this many entries)
_OFFSET_TABLES: dict = {}


def _offset_table(table: np.ndarray, outputs: int) -> np.ndarray:
    """``_scatter_table``'s entries as flat positions in ``[K, outputs + 1]`` (cached)."""
    key = id(table)
    found = _OFFSET_TABLES.get(key)
    if found is None or found[0] is not table:
        if len(_OFFSET_TABLES) >= 1024:
            _OFFSET_TABLES.clear()
        index = table + (np.arange(table.shape[0], dtype=np.intp) * (outputs + 1))[:, None]
        found = _OFFSET_TABLES[key] = (table, index)
    return found[1]


def _col2im(cols: np.ndarray, size: tuple, kernel: tuple, stride: tuple, dilation: tuple,
            pads: tuple, out: tuple) -> np.ndarray:
    """The adjoint of ``_im2col``: each column entry is added back to the input position it
    was read from. ``cols`` is ``[N, C * prod(kernel), prod(out)]``; returns ``[N, C, *size]``.
    """
    batch = cols.shape[0]
    channels = cols.shape[1] // max(math.prod(kernel), 1)
    taps, outputs = math.prod(kernel), math.prod(out)
    # (the table is [K, prod(size)]: a few windows far apart in a large image, unfoldNd's
    # Fold test of [1, 4, 25] columns into 5000 x 5000, made a 100M-entry table: 9.5 s of CPU
    # for one call, 1.3 ms through the loop (process_time, loaded machine; s17 LE); so the
    # table is bounded too)
    if (0 < cols.size <= _SMALL_COLUMNS and channels
            and taps * math.prod(size) <= _SMALL_TABLE):  # (empty: the loop)
        # Small: each input position gathers what each kernel offset adds to it (a table per
        # geometry), summed down the offsets in the loop's order below (the same bits): 5
        # NumPy calls where the loop makes 2 per offset, each building its slices. conv2d's
        # input gradient on OpInfo's [1, 3, 4, 4], 3x3 kernel, stride 2, padding 2: 130 -> 28
        # us (alternated timeit, one thread, a loaded machine; s14 SP).
        rows = batch * channels
        extended = np.zeros((rows, taps, outputs + 1), dtype=cols.dtype)
        extended[:, :, :-1] = cols.reshape(rows, taps, outputs)
        table = _scatter_table(tuple(size), tuple(kernel), tuple(stride), tuple(dilation),
                               tuple(pads), tuple(out))
        index = _offset_table(table, outputs)
        # [N * C, K, P_in] (np.take: the same gather, ~3x faster than indexing with a slice
        # and a table, [3, 82] by [9, 81]: 30 -> 8.5 us; s15 CV, timeit, one thread)
        gathered = np.take(extended.reshape(rows, -1), index, axis=1)
        total = _sum_down(gathered.transpose(1, 0, 2).reshape(taps, -1))
        return total.reshape((batch, channels) + tuple(size))
    padded = tuple(n + left + right for n, (left, right) in zip(size, pads))
    result = np.zeros((batch, channels) + padded, dtype=cols.dtype)
    blocks = cols.reshape((batch, channels) + tuple(kernel) + tuple(out))
    everything = (slice(None), slice(None))
    for offset in itertools.product(*(range(k) for k in kernel)):
        target = everything + tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                                    for o, d, s, n in zip(offset, dilation, stride, out))
        result[target] += blocks[everything + offset]
    crop = everything + tuple(slice(left, left + n) for n, (left, _) in zip(size, pads))
    return result[crop]


def _out_size(op: str, size: tuple, kernel: tuple, stride: tuple, dilation: tuple,
              pads: tuple) -> tuple[int, ...]:
    """The number of windows along each spatial dim (raises when the kernel does not fit)."""
    padded = tuple(n + left + right for n, (left, right) in zip(size, pads))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < s for p, s in zip(padded, span)):
        raise ShapeError(f"{op}: Calculated padded input size per channel: "
                         f"({' x '.join(map(str, padded))}). Kernel size: "
                         f"({' x '.join(map(str, span))}). Kernel size can't be greater than "
                         "actual input size")
    return tuple((p - s) // st + 1 for p, s, st in zip(padded, span, stride))


# ----------------------------------------------------------------------------------------------
# The two linear maps as autograd Functions, each the other's backward.


class _Unfold(Function):
    """cols[n, c K + k, p] = x_padded[n, c, p stride + k dilation] (N-d)."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, dilation, pads, out):
        ctx.geometry = dict(size=tuple(x.shape[2:]), kernel=kernel, stride=stride,
                            dilation=dilation, pads=pads, out=out)
        return from_numpy(_im2col(x.numpy(), kernel, stride, dilation, pads, out, copy=True))

    @staticmethod
    def backward(ctx, g):
        return _Fold.apply(g, **ctx.geometry)


class _Fold(Function):
    """The adjoint of ``_Unfold``: sums the columns back into ``[N, C, *size]``."""

    @staticmethod
    def forward(ctx, cols, *, size, kernel, stride, dilation, pads, out):
        ctx.geometry = dict(kernel=kernel, stride=stride, dilation=dilation, pads=pads, out=out)
        return from_numpy(np.ascontiguousarray(
            _col2im(cols.numpy(), size, kernel, stride, dilation, pads, out)))

    @staticmethod
    def backward(ctx, g):
        return _Unfold.apply(g, **ctx.geometry)


def _node_op(name: str, forward, vjp, inputs: int = 1) -> Op:
    """An engine op over arrays for a pooling or window primitive, named as the ``Function``
    it stands for (``node_names``: PyTorch's grad_fn name). Its rule works in NumPy at first
    order and through the differentiable ``Function``s at higher orders. Not in the registry
    (as a Function's op is not): the parity tests against PyTorch check it. Its rule reads no
    input for the in-place checks: what it needs was kept by the forward, or is the input's
    shape (as the Function saved nothing). Against the Function it replaces (a ctx, a no_grad
    block, and a second Function in the backward), with the small-input paths: fwd + bwd on
    OpInfo's samples, x PyTorch's time, max_pool2d 2.23 -> 1.47, max_pool3d 2.90 -> 1.39,
    avg_pool2d 2.50 -> 1.77, unfold 2.07 -> 1.48 (opinfo_overhead.py, medians of 3 alternated
    runs, one thread, s14 SP)."""
    op = Op(name, forward, vjp, lambda rng: [], False, True)
    versions._reads_of[op] = (False, (False,) * inputs, False)
    NODE_OPS.append(op)  # (timed by the profiler under its name)
    return op


def _unfold_forward(xs, *, kernel, stride, dilation, pads, grid):
    # cols[n, c K + k, p] = x_padded[n, c, p stride + k dilation] (N-d); ``grid``: the
    # number of windows along each spatial dim.
    return _im2col(xs, kernel, stride, dilation, pads, grid, copy=True)


def _unfold_vjp(F, g, out, x, *, kernel, stride, dilation, pads, grid):
    size = tuple(x.shape[2:])
    if F is ARRAY:
        return (np.ascontiguousarray(_col2im(g, size, kernel, stride, dilation, pads, grid)),)
    return (_Fold.apply(g, size=size, kernel=kernel, stride=stride, dilation=dilation,
                        pads=pads, out=grid),)


def _fold_forward(cols, *, size, kernel, stride, dilation, pads, grid):
    # The adjoint of unfold: sums the columns back into [N, C, *size].
    return np.ascontiguousarray(_col2im(cols, size, kernel, stride, dilation, pads, grid))


def _fold_vjp(F, g, out, cols, *, size, kernel, stride, dilation, pads, grid):
    if F is ARRAY:
        return (_im2col(g, kernel, stride, dilation, pads, grid, copy=True),)
    return (_Unfold.apply(g, kernel=kernel, stride=stride, dilation=dilation, pads=pads,
                          out=grid),)


_UNFOLD = _node_op("_Unfold", _unfold_forward, _unfold_vjp)
_FOLD = _node_op("_Fold", _fold_forward, _fold_vjp)


# ----------------------------------------------------------------------------------------------
# Public functions and modules.


def _iterated(value, name: str, op: str):
    """PyTorch's ``_pair`` of a tensor argument: its elements (a 0-d one is a TypeError)."""
    if not isinstance(value, Tensor):
        return value
    if value.ndim == 0:
        raise TypeError(f"{op}: iteration over a 0-d tensor ({name})")
    return check_int_list(list(value), name, op)


def _fold_arguments(op: str, kernel_size, dilation, padding, stride) -> tuple:
    kernel = _ntuple(_iterated(kernel_size, "kernel_size", op), 2, "kernel_size", op)
    dilation = _ntuple(_iterated(dilation, "dilation", op), 2, "dilation", op)
    padding = _ntuple(_iterated(padding, "padding", op), 2, "padding", op)
    stride = _ntuple(_iterated(stride, "stride", op), 2, "stride", op)
    if min(kernel) <= 0 or min(dilation) <= 0 or min(stride) <= 0 or min(padding) < 0:
        raise RuntimeError(f"{op}: kernel_size {kernel}, dilation {dilation} and stride "
                           f"{stride} must be positive and padding {padding} non-negative")
    return kernel, dilation, tuple((p, p) for p in padding), stride


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks (im2col), as ``torch.nn.functional.unfold``.

    Args:
        input: ``[N, C, H, W]`` or unbatched ``[C, H, W]``.
        kernel_size: the block size (int or pair).
        dilation: spacing between a block's entries.
        padding: zeros added on both sides of each spatial dim.
        stride: step between blocks.

    Returns:
        ``[N, C * kh * kw, L]`` (``[C * kh * kw, L]`` unbatched), L the number of blocks; row
        ``c * kh * kw + i * kw + j`` holds entry ``(i, j)`` of channel ``c``'s blocks.

    >>> import deltagrad as dg
    >>> unfold(dg.arange(9.0).reshape(1, 1, 3, 3), 2)
    tensor([[[0., 1., 3., 4.],
             [1., 2., 4., 5.],
             [3., 4., 6., 7.],
             [4., 5., 7., 8.]]])
    """
    x = _as_tensor(input)
    # (PyTorch's order: the arguments, then the input's dims, size(-3) read first)
    kernel, dilation, pads, stride = _fold_arguments("unfold", kernel_size, dilation, padding,
                                                     stride)
    least_dims("unfold", x, 3)
    if x.ndim not in (3, 4):
        raise ShapeError(f"unfold: Expected 3D or 4D (batch mode) tensor for input, but got: "
                         f"{list(x.shape)}")
    batched = x.ndim == 4
    x = x if batched else x.unsqueeze(0)
    out = _out_size("unfold", tuple(x.shape[2:]), kernel, stride, dilation, pads)
    cols = apply(_UNFOLD, x, kernel=kernel, stride=stride, dilation=dilation, pads=pads,
                 grid=out)
    return cols if batched else cols.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding local blocks back into an image (col2im), as ``torch.nn.functional.fold``.

    Overlapping entries add up; ``fold(unfold(x))`` is ``x`` times the number of blocks that
    cover each position.

    Args:
        input: ``[N, C * kh * kw, L]`` or unbatched ``[C * kh * kw, L]``.
        output_size: the image's spatial size ``(H, W)`` (or an int).
        kernel_size, dilation, padding, stride: as ``unfold``.

    Returns:
        ``[N, C, H, W]`` (``[C, H, W]`` unbatched).
    """
    cols = _as_tensor(input)
    if cols.ndim not in (2, 3):
        raise ShapeError(f"fold: Expected 2D or 3D (batch mode) tensor for input, but got: "
                         f"{list(cols.shape)}")
    batched = cols.ndim == 3
    cols = cols if batched else cols.unsqueeze(0)
    size = _ntuple(output_size, 2, "output_size", "fold")
    kernel, dilation, pads, stride = _fold_arguments("fold", kernel_size, dilation, padding,
                                                     stride)
    blocks = math.prod(kernel)
    if cols.shape[1] % blocks:
        raise ShapeError(f"fold: Expected size of input's dimension 1 to be divisible by the "
                         f"product of kernel_size, but got input.size(1)={cols.shape[1]} and "
                         f"kernel_size={kernel}.")
    out = _out_size("fold", size, kernel, stride, dilation, pads)
    if cols.shape[2] != math.prod(out):
        raise ShapeError(f"fold: Given output_size={size}, kernel_size={kernel}, dilation="
                         f"{dilation}, padding={tuple(p for p, _ in pads)}, stride={stride}, "
                         f"expected size of input's dimension 2 to match the calculated number "
                         f"of sliding blocks {' * '.join(map(str, out))} = {math.prod(out)}, "
                         f"but got input.size(2)={cols.shape[2]}.")
    image = apply(_FOLD, cols, size=size, kernel=kernel, stride=stride, dilation=dilation,
                  pads=pads, grid=out)
    return image if batched else image.squeeze(0)


class Unfold(Module):
    """``unfold`` as a layer (PyTorch's ``nn.Unfold``): ``[N, C, H, W] -> [N, C kh kw, L]``."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """``fold`` as a layer (PyTorch's ``nn.Fold``): ``[N, C kh kw, L] -> [N, C, H, W]``."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
