"""A convolution's input gradient (and so a transposed convolution's forward) and a transposed
convolution's backward at large sizes, without ``conv2d_kernels``'s whole column arrays.

``_input_grad``'s columns-then-col2im path (strides above 1) makes ``d = W^T g`` (``[N, C
prod(K), P]``) with one GEMM and then adds each kernel offset's block of it into the padded
input (``fold2d._col2im``: strided additions). At realistic sizes the column array is far
larger than the result: PyTorch's ConvTranspose3d(16, 33, (3, 5, 2), stride=(2, 1, 1),
padding=(0, 4, 2)) documentation example on [20, 16, 10, 50, 100] made a 4 GB array, written
once and read once from memory (and page-faulted in): 32.9 s against PyTorch's 2.8 s. Past
``LARGE_COLUMNS`` it takes ``by_phases`` (one stride-1 correlation per phase of the output:
GEMMs over columns copied in blocks of examples, each output written once), and a transposed
convolution's backward ``transpose_grads`` (its columns one slab at a time). The sums run in
another order than the one-GEMM paths': a few ulps apart (the forward), the weight's gradient
summed by slab (its last bits). A large 3-d convolution's forward, weight gradient and stride-1
input gradient are ``transpose_grads``' products too (``conv_takes_slabs``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._engine import buffers, threads
from .fold2d import _pad, _windows

# Past this many column entries (``N C prod(K) P``) ``_input_grad`` takes ``by_phases``.
# Below, one GEMM and ``_col2im`` cost no more (and fewer NumPy calls).
LARGE_COLUMNS = 1 << 22


def takes_slabs(g: np.ndarray, x: np.ndarray, w: np.ndarray) -> bool:
    """Whether a transposed convolution's backward takes ``transpose_grads``: columns of
    more than ``LARGE_COLUMNS`` entries (float16 keeps ``_conv_half``'s roundings)."""
    return (g.dtype != np.float16 and x.dtype != np.float16
            and math.prod(g.shape[:2] + w.shape[2:] + x.shape[2:]) > LARGE_COLUMNS)


# Entries of one slab of columns in ``transpose_grads`` (~4 MB of float32).
_SLAB = 1 << 20


def transpose_grads(g: np.ndarray, x: np.ndarray, w: np.ndarray, stride: tuple,
                    dilation: tuple, pads: tuple, groups: int, need_input: bool,
                    need_weight: bool) -> tuple:
    """A transposed convolution's gradients for its input ``x`` ``[N, C_in, *grid]`` and its
    weight ``w`` ``[C_in, C_out/G, *K]`` from the output's gradient ``g`` ``[N, C_out, *size]``,
    where the columns of ``g`` (``_im2col``'s ``[N, C_out prod(K), prod(grid)]``) are large:
    they are made one example and one slab of rows of ``grid`` (along its first dim) at a time
    into one small buffer that stays in cache for both products, where the whole array was
    written and read twice from memory (4 GB for PyTorch's ConvTranspose3d documentation
    example, page faults included). The input's gradient is the same dot products as the one
    GEMM's; the weight's sums its examples and slabs one at a time (the last bits move)."""
    batch, in_channels = x.shape[:2]
    grid, kernel = tuple(x.shape[2:]), tuple(w.shape[2:])
    rows = g.shape[1] * math.prod(kernel)
    per, c_g = rows // groups, in_channels // groups
    dtype = np.result_type(g, w)
    w2 = w.reshape(groups, c_g, per).astype(dtype, copy=False)
    dx = np.empty(x.shape, dtype) if need_input else None
    total = np.zeros((groups, per, c_g), dtype) if need_weight else None
    inner = math.prod(grid[1:])
    step = max(1, _SLAB // max(rows * inner, 1))  # rows of ``grid`` per slab
    slabs = list(range(0, grid[0], step))
    # (the weight's products per example and slab, summed in one order whatever the thread
    # count, in chunks of examples that bound them to ~4M entries, as _column_products's)
    chunk = max(1, (1 << 22) // max(groups * per * c_g * len(slabs), 1))
    partials = (np.empty((min(chunk, batch) * len(slabs), groups, per, c_g), dtype)
                if need_weight else None)

    def examples(begin, end, base=0):
        cols = np.empty((rows, min(step, grid[0]) * inner), dtype)
        for n in range(begin, end):
            padded = _pad(g[n:n + 1], pads)
            windows = _windows(padded, kernel, stride, dilation, grid)[0]  # [C, *K, *grid]
            x_n = x[n].reshape(groups, c_g, math.prod(grid)) if need_weight else None
            dx_n = dx[n].reshape(groups, c_g, math.prod(grid)) if need_input else None
            for index, first in enumerate(slabs):
                stop = min(first + step, grid[0])
                span = slice(first * inner, stop * inner)
                part = cols[:, :(stop - first) * inner]
                view = windows[(Ellipsis, slice(first, stop)) + (slice(None),) * (len(grid) - 1)]
                np.copyto(part.reshape(view.shape), view)
                part_g = part.reshape(groups, per, part.shape[1])
                if need_input:
                    np.matmul(w2, part_g, out=dx_n[:, :, span])
                if need_weight:
                    np.matmul(part_g, x_n[:, :, span].transpose(0, 2, 1),
                              out=partials[(n - base) * len(slabs) + index])
            windows = None
            if not np.may_share_memory(padded, g):  # (a recycled buffer: given back)
                buffers.give(padded)

    for base in range(0, batch, chunk):
        stop = min(base + chunk, batch)
        threads.split(lambda begin, end, base=base: examples(base + begin, base + end, base),
                      stop - base, elements=(stop - base) * rows * math.prod(grid))
        if need_weight:
            total += partials[:(stop - base) * len(slabs)].sum(axis=0)
    dw = total.transpose(0, 2, 1).reshape(w.shape) if need_weight else None
    return dx, dw


# A 3-d convolution whose columns (``N C prod(K) P`` entries) exceed this runs by slabs: its
# forward, its weight's gradient and a stride-1 input gradient (``conv_by_slabs``,
# ``conv_weight_grad_by_slabs``). Measured (s29 SP48; one thread, old and new tree in turn, a
# subprocess each): nn.Conv3d's documentation example (16 -> 33, (3, 5, 2), stride (2, 1, 1),
# [20, 16, 10, 50, 100]) fwd + bwd of the weight: peak RSS 1975 -> 244 MB, the process 15.7 ->
# 5.2 s wall (the column array's page faults), a warm step 0.75 -> 0.70 s CPU; Conv3d(16, 16,
# 3, padding=1) on [8, 16, 10, 50, 100] with the input's gradient: peak 1675 -> 148 MB, first
# step 3.6 -> 0.3 s CPU, warm 0.43 -> 0.25 s; Conv3d(8, 16, 3, padding=1) on [8, 8, 16, 32,
# 32]: 36 -> 33 ms, peak 201 -> 84 MB. The sums run by slab: last bits move.
LARGE_CONV_COLUMNS = 1 << 24


def conv_takes_slabs(x: np.ndarray, w: np.ndarray, grid: tuple) -> bool:
    """Whether a 3-d convolution of ``x`` by ``w`` (output spatial size ``grid``) skips the
    whole column array: more than ``LARGE_CONV_COLUMNS`` entries, float32 or float64."""
    return (len(grid) == 3 and x.dtype == w.dtype and x.dtype in (np.float32, np.float64)
            and math.prod(x.shape[:2] + w.shape[2:] + tuple(grid)) > LARGE_CONV_COLUMNS)


def conv_by_slabs(x: np.ndarray, w: np.ndarray, stride: tuple, dilation: tuple, pads: tuple,
                  groups: int, grid: tuple) -> np.ndarray:
    """A convolution's output ``[N, O, *grid]`` (no bias) with its columns made one example
    and one slab at a time (``transpose_grads``' input gradient: a transposed convolution's
    backward is this convolution), never the whole ``[N, C prod(K), P]`` array."""
    shape = (x.shape[0], w.shape[0]) + tuple(grid)
    like = np.broadcast_to(np.empty((), x.dtype), shape)  # (its shape only is read)
    y, _ = transpose_grads(x, like, w, stride, dilation, pads, groups, True, False)
    return y


def conv_weight_grad_by_slabs(g: np.ndarray, x: np.ndarray, w: np.ndarray, stride: tuple,
                              dilation: tuple, pads: tuple, groups: int) -> np.ndarray:
    """A convolution's weight gradient from its output's gradient ``g`` ``[N, O, *grid]``
    and its input ``x``: the columns of ``x`` one example and one slab at a time, each slab's
    product summed in (``transpose_grads``' weight gradient, roles swapped)."""
    _, dw = transpose_grads(x, g, w, stride, dilation, pads, groups, False, True)
    return dw


def _phase_plan(n_out: int, m: int, k_size: int, s: int, d: int, p: int, rho: int) -> tuple:
    """One dim of ``by_phases``: for the output positions ``i`` with ``i + p = rho (mod s)``,
    ``(t0, count, taps, q_first, q_last, q_step)``: ``i = rho + s t - p`` for ``t`` in
    ``[t0, t0 + count)``, the kernel taps that reach them (ascending), and ``g``'s index
    ``t - q`` of each (``q`` from ``q_first`` by ``q_step``)."""
    t0 = -((rho - p) // s)  # ceil((p - rho) / s)
    count = (p + n_out - 1 - rho) // s - t0 + 1
    taps = [k for k in range(k_size) if (k * d - rho) % s == 0]
    if not taps:
        return t0, count, taps, 0, 0, 1
    qs = [(k * d - rho) // s for k in taps]
    return t0, count, taps, qs[0], qs[-1], (qs[1] - qs[0]) if len(qs) > 1 else 1


def by_phases(g: np.ndarray, w: np.ndarray, size: tuple, stride: tuple, dilation: tuple,
              pads: tuple, groups: int) -> np.ndarray:
    """``conv2d_kernels._input_grad``'s result (``[N, C, *size]``; ``g`` ``[N, O, *out]``, ``w``
    ``[O, C/G, *K]``) as one stride-1 correlation per phase of
    the output (its positions alike modulo the stride): each phase's output is a GEMM of
    the taps that reach it (``[C/G, O/G taps]``) by columns of ``g`` copied once, written to
    its strided positions once, where col2im adds every tap's block into the whole output
    (strided additions, ~3.5x an im2col copy's cost per entry). The sums run over (channel,
    tap) in the GEMM's order: a few ulps from the col2im's."""
    batch, out_channels = g.shape[:2]
    out, kernel = tuple(g.shape[2:]), tuple(w.shape[2:])
    per, o_g = w.shape[1], out_channels // groups
    channels = per * groups
    dtype = np.result_type(w, g)
    plans = []
    for rhos in itertools.product(*(range(s) for s in stride)):
        dims = [_phase_plan(n, m, k, s, d, left, rho) for n, m, k, s, d, (left, _), rho
                in zip(size, out, kernel, stride, dilation, pads, rhos)]
        if any(count <= 0 for _, count, *_ in dims):
            continue
        plans.append((rhos, dims))
    lefts = [max([0] + [q_last - t0 for _, dims in plans for t0, _, _, _, q_last, _
                        in [dims[a]]]) for a in range(len(out))]
    rights = [max([0] + [t0 + count - 1 - q_first - (m - 1) for _, dims in plans
                         for t0, count, _, q_first, _, _ in [dims[a]]]) for a, m
              in enumerate(out)]
    y = np.zeros((batch, channels) + tuple(size), dtype)
    phases = []
    for rhos, dims in plans:
        if any(not taps for _, _, taps, *_ in dims):
            continue  # (no tap reaches these positions: zeros)
        # the taps in descending order: the view's offsets then ascend
        taps = [taps[::-1] for _, _, taps, *_ in dims]
        w_sel = w[(slice(None), slice(None)) + np.ix_(*taps)]  # [C_in... as w: [O, C/G, *A]]
        count_a = math.prod(len(t) for t in taps)
        # matrix[G, C/G, O/G A] = w_sel[G o_g + o, c, a]
        matrix = np.ascontiguousarray(w_sel.reshape(groups, o_g, per, count_a)
                                      .transpose(0, 2, 1, 3)).reshape(groups, per, o_g * count_a)
        starts = tuple(t0 - q_last + left for (t0, _, _, _, q_last, _), left
                       in zip(dims, lefts))
        target = tuple(slice(rho + s * t0 - p, rho + s * (t0 + count - 1) - p + 1, s)
                       for rho, s, (t0, count, *_), (p, _) in zip(rhos, stride, dims, pads))
        phases.append((matrix.astype(dtype, copy=False), tuple(len(t) for t in taps),
                       tuple(q_step for *_, q_step in dims),
                       tuple(count for _, count, *_ in dims), starts, target))
    pads_g = tuple(zip(lefts, rights))

    # examples per block: each phase's columns for a block under ~4M entries
    largest = max([m[0].shape[2] * math.prod(m[3]) * groups for m in phases] + [1])
    step = max(1, (1 << 22) // largest)

    def examples(begin, end):
        for first in range(begin, end, step):
            stop = min(first + step, end)
            padded = _pad(g[first:stop], pads_g)  # [n, O, *out padded]
            for matrix, counts_a, q_steps, counts, starts, target in phases:
                corner = padded[(slice(None), slice(None))
                                + tuple(slice(start, None) for start in starts)]
                spatial = corner.strides[2:]
                view = as_strided(corner, (stop - first, out_channels) + counts_a + counts,
                                  corner.strides[:2]
                                  + tuple(q * st for q, st in zip(q_steps, spatial)) + spatial,
                                  writeable=False)
                cols = np.ascontiguousarray(view, dtype).reshape(
                    stop - first, groups, -1, math.prod(counts))
                product = np.matmul(matrix, cols)  # [n, G, C/G, P_phase]
                y[(slice(first, stop), slice(None)) + target] = product.reshape(
                    (stop - first, channels) + counts)
            if not np.may_share_memory(padded, g):  # (a recycled buffer: given back)
                buffers.give(padded)

    threads.split(examples, batch, elements=g.size * math.prod(kernel))
    return y
