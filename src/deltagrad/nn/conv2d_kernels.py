"""The NumPy kernels of the N-d convolutions (``nn.conv2d``'s ``_ConvFunction`` and
``_ConvTransposeFunction``): the forward product over im2col columns, the weight's gradient,
and the input's gradient (a correlation by rows or im2col at stride 1, a col2im scatter
otherwise), plus the channels-last layout helpers the 2-d layers share. Mid-sized 2-d
convolutions (W6's and W8 cnn's second layer) copy their columns and their output gradient's
shifted rows channels-last instead (``_columns_rows_last``, ``_correlate_rows_last``): longer
contiguous copies and GEMMs that BLAS runs faster.

Shapes: x ``[N, C, *size]``, w ``[O, C/G, *K]``, g (an output gradient) ``[N, O, *out]``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._engine import buffers, threads
from . import _col2im_offsets
from .fold2d import (
    _batch_last_fits,
    _col2im,
    _im2col,
    _im2col_batch_last,
    _is_batch_last,
    _pad,
    _windows,
)


def _matrix(w: np.ndarray) -> np.ndarray:
    """A weight ``[O, C/G, *K]`` as ``[O, C/G prod(K)]``."""
    return w.reshape(w.shape[0], math.prod(w.shape[1:]))


def _grouped_matmul(w2: np.ndarray, cols: np.ndarray, groups: int) -> np.ndarray:
    """``[O, C/G prod(K)] x [N, C prod(K), P] -> [N, O, P]``, group by group, into a recycled
    buffer."""
    batch, rows, positions = cols.shape
    out = buffers.empty((batch, w2.shape[0], positions), np.result_type(w2, cols))
    if _is_batch_last(cols):  # [P, G, O/G, N]: one stacked GEMM per position and group
        memory = cols.transpose(2, 1, 0).reshape(positions, groups, rows // groups, batch)
        product = np.matmul(w2.reshape(groups, -1, rows // groups), memory)
        np.copyto(out, product.reshape(positions, w2.shape[0], batch).transpose(2, 1, 0))
    elif groups == 1 and positions == 1:
        # One output position (a window covering the input): one GEMM over the batch instead
        # of a matrix-vector product per example (timings at _input_grad's one-position case).
        np.matmul(cols.reshape(batch, rows), w2.T, out=out.reshape(batch, w2.shape[0]))
    elif groups == 1:
        np.matmul(w2, cols, out=out)
    else:
        np.matmul(w2.reshape(groups, -1, rows // groups),
                  cols.reshape(batch, groups, rows // groups, positions),
                  out=out.reshape(batch, groups, -1, positions))
    return out


def _columns_and_product(x: np.ndarray, w2: np.ndarray, kernel: tuple, stride: tuple,
                         dilation: tuple, pads: tuple, out: tuple, ones: bool,
                         groups: int, kept: bool = False) -> tuple:
    """``_im2col(x, ..., ones=ones)`` and its ``_grouped_matmul`` by ``w2``, examples shared out
    across the intra-op threads (one product per example: the same bits at any count), and
    whether the columns are ``_columns_rows_last``'s ``[N, P, R]`` instead (where they fit and
    ``kept`` allows them: their sums run in another order, so a forward takes them whether or
    not its weight wants a gradient, and the same bits come out under no_grad as under grad,
    as PyTorch's; float16's widened forward keeps the usual ones). Under no_grad, against the
    usual columns: W9's CNN at batch 32, Conv2d(16, 32, 3) on [32, 16, 14, 14] 932 -> 871 us,
    Conv2d(32, 64, 3) on [32, 32, 7, 7] 887 -> 754 us; at batch 1 36.8 -> 35.7, 35.0 -> 38.1
    us (thread time, one thread, medians of 9 blocks; s27 SP39)."""
    batch = x.shape[0]
    if not ones and math.prod(kernel) == 1 and stride == (1,) * len(out) and not any(
            left or right for left, right in pads):  # a 1x1 window: the input is its columns
        cols = _im2col(x, kernel, stride, dilation, pads, out)
        return cols, _grouped_matmul(w2, cols, groups), False
    rows = x.shape[1] * math.prod(kernel)
    if groups == 1 and _batch_last_fits((batch, rows, math.prod(out)), pads):
        return (*_columns_batch_last(x, w2, kernel, stride, dilation, pads, out, ones), False)
    if kept and rows_last_fits(x.shape, kernel, dilation, groups, pads, out, w2.shape[0]):
        return (*_columns_rows_last(x, w2, kernel, stride, pads, out, ones), True)
    if batch * (rows + ones) * math.prod(out) <= _INLINE_COLUMNS:
        return _small_columns_and_product(x, w2, kernel, stride, dilation, pads, out, ones,
                                          groups)
    cols = buffers.empty((batch, rows + ones, math.prod(out)), x.dtype)
    y = buffers.empty((batch, w2.shape[0], cols.shape[2]), np.result_type(w2, cols))
    padded = _pad(x, pads)
    windows = _windows(padded, kernel, stride, dilation, out)
    # Blocks of columns (512 KB) still in cache for their product: W6's conv1 forward + backward
    # 1.75 -> 1.60 ms, conv2 0.98 of its time (one thread, thread time, medians of 40).
    step = max(1, (1 << 19) * max(batch, 1) // max(cols.nbytes, 1))

    def examples(begin, end):
        for start in range(begin, end, step):
            stop, part = min(start + step, end), cols[start:min(start + step, end)]
            if ones:
                part[:, -1] = 1
            np.copyto(part[:, :rows].reshape(windows[start:stop].shape), windows[start:stop])
            if groups == 1 and part.shape[2] == 1:  # (one position: one GEMM, as above)
                np.matmul(part.reshape(stop - start, part.shape[1]), w2.T,
                          out=y[start:stop].reshape(stop - start, w2.shape[0]))
                continue
            per, o_g, n = part.shape[1] // groups, w2.shape[0] // groups, stop - start
            np.matmul(w2.reshape(groups, o_g, per), part.reshape(n, groups, per, part.shape[2]),
                      out=y[start:stop].reshape(n, groups, o_g, part.shape[2]))

    threads.split(examples, batch, elements=cols.size)
    windows = None  # (a view of ``padded``: gone, so that it can be given back)
    if padded is not x:
        buffers.give(padded)
    return cols, y, False


# Up to this many column entries, ``_small_columns_and_product`` (numbers there). Up to 1 << 15
# (128 KB of float32, 256 KB of float64) the blocked path makes one block of them too (its blocks
# hold 512 KB of columns) and never splits (threads.MIN_SPLIT_WORK is 1M): the same copies and
# products. W9 cnn's convolutions at batch 1 under no_grad, columns and product, 1 -> 16 on
# 28x28 18.1 -> 14.5 us, 16 -> 32 on 14x14 41.8 -> 37.8, 32 -> 64 on 7x7 42.9 -> 39.0 (thread
# time, one thread, medians of 9 blocks of 2000, the two paths in one process; s25 SP27).
_INLINE_COLUMNS = 1 << 15


def _small_columns_and_product(x: np.ndarray, w2: np.ndarray, kernel: tuple, stride: tuple,
                               dilation: tuple, pads: tuple, out: tuple, ones: bool,
                               groups: int) -> tuple:
    """``_columns_and_product``'s usual columns for a small input: its one block (a block holds
    512 KB of columns) written inline, without the thread split's call, the closure and the
    recycled buffers' lookups (arrays this small are NumPy's to recycle). The same copies and
    the same products, so the same bits. conv2d's forward with a bias on OpInfo's [1, 3, 4, 4]
    by [3, 3, 3, 3], stride 2, padding 1: 0.76-0.85 of its time, no_grad 0.85-0.88 (22.9 ->
    19.3 us, PyTorch 9.3; SP7 s22: base and new alternated in one process, thread time, one
    thread, a loaded machine); [4, 8, 16, 16] by [16, 8, 3, 3] (larger columns) unchanged."""
    batch, rows, positions = x.shape[0], x.shape[1] * math.prod(kernel), math.prod(out)
    cols = np.empty((batch, rows + ones, positions), x.dtype)
    y = np.empty((batch, w2.shape[0], positions), np.result_type(w2, cols))
    padded = _small_pad(x, pads)
    recycled = padded is None
    if recycled:
        padded = _pad(x, pads)
    windows = _windows(padded, kernel, stride, dilation, out)
    if ones:
        cols[:, -1] = 1
    np.copyto(cols[:, :rows].reshape(windows.shape), windows)
    if groups == 1 and positions == 1:  # (one position: one GEMM, as _grouped_matmul)
        np.matmul(cols.reshape(batch, rows + ones), w2.T, out=y.reshape(batch, w2.shape[0]))
    else:
        per, o_g = (rows + ones) // groups, w2.shape[0] // groups
        # (held at one BLAS thread past BLAS's own threading size, as the blocked path's split:
        # the same bits at any thread count, and as the blocked path's; s26 EN1)
        threads.serial_matmul(w2.reshape(groups, o_g, per),
                              cols.reshape(batch, groups, per, positions),
                              y.reshape(batch, groups, o_g, positions), o_g * per * positions)
    windows = None
    if recycled and padded is not x:
        buffers.give(padded)
    return cols, y, False


# (spatial shape, pads) -> the padded shape's spatial part and the input's place in it
_SMALL_PADS: dict = {}


def _small_pad(x: np.ndarray, pads: tuple):
    """``_pad``'s zero padding for ``_small_columns_and_product``: NumPy's zeros (arrays this
    small are NumPy's to recycle) and one assignment, not a recycled buffer filled, written
    and given back; None where ``_pad`` is needed (cropping, pads given as lists). The same
    array. Pad and give back of W9 cnn's batch-1 inputs (padding 1): [1, 1, 28, 28] 2.15 ->
    1.40 us, [1, 16, 14, 14] 3.42 -> 2.52, [1, 32, 7, 7] 3.21 -> 2.39 (thread time, one
    thread, medians of 15 alternated blocks of 3000; s25 SP29)."""
    key = (x.shape[2:], pads)
    try:
        plan = _SMALL_PADS.get(key)
    except TypeError:
        return None
    if plan is None:
        if any(left < 0 or right < 0 for left, right in pads):
            return None
        plan = (tuple(n + left + right for (left, right), n in zip(pads, x.shape[2:])),
                (slice(None), slice(None)) + tuple(slice(left, left + n) for (left, _), n
                                                   in zip(pads, x.shape[2:])),
                any(left or right for left, right in pads))
        if len(_SMALL_PADS) >= 1024:
            _SMALL_PADS.clear()
        _SMALL_PADS[key] = plan
    if not plan[2]:
        return x
    padded = np.zeros(x.shape[:2] + plan[0], x.dtype)
    padded[plan[1]] = x
    return padded


def _columns_batch_last(x: np.ndarray, w2: np.ndarray, kernel: tuple, stride: tuple,
                        dilation: tuple, pads: tuple, out: tuple, ones: bool) -> tuple:
    """``_columns_and_product`` (groups 1) through batch-last columns
    (``fold2d._im2col_batch_last``): the product is one stacked GEMM ``w2 @ [R, N]`` per
    position. Each output is the same dot product as before: the same bits. W8 DCGAN's
    Conv2d(16, 32, 4, 2, 1) on [32, 16, 8, 8] float32, columns and product 242 -> ~100 us,
    the layer's forward 310 -> 172 us, forward + backward 940 -> 685 us (torch 117 / 575);
    one thread, thread time, medians of 41.
    """
    cols = _im2col_batch_last(x, kernel, stride, dilation, pads, out, ones)
    return cols, _grouped_matmul(w2, cols, 1)


def rows_last_fits(shape: tuple, kernel: tuple, dilation: tuple, groups: int, pads: tuple,
                   out: tuple, out_channels: int) -> bool:
    """Whether a 2-d convolution of an input ``shape`` takes ``_columns_rows_last``: groups
    1, no dilation, no cropping, a window row of at least 32 entries (``C kw``: the copy's
    contiguous runs; W6's first Conv2d(1, 16, 3), 3 entries, keeps the usual columns) and 32
    output positions or more (the weight gradient's GEMMs sum over them: fewer, and one GEMM
    over the examples wins, as a DCGAN discriminator's last 4x4 Conv2d on a 4x4 input), and
    each example's product under ``threads.BLAS_SERIAL_WORK``, where BLAS keeps these products
    (both operands transposed) on the calling thread as it keeps plain ones (its worker's CPU
    time, OPENBLAS_NUM_THREADS=2: tests/nn/test_s11_PV_blas_threads.py); past it, at 3.6M
    multiply-adds, the forward's woke it more than the usual columns' (141 against 27 ticks in
    300 calls), so larger convolutions keep the usual columns."""
    rows = shape[1] * math.prod(kernel) + 1
    return (len(kernel) == 2 and groups == 1 and dilation == (1, 1)
            and shape[1] * kernel[1] >= 32 and shape[0] > 0 and math.prod(out) >= 32
            and out_channels * rows * math.prod(out) <= threads.BLAS_SERIAL_WORK
            and all(left >= 0 and right >= 0 for left, right in pads))


def _columns_rows_last(x: np.ndarray, w2: np.ndarray, kernel: tuple, stride: tuple,
                       pads: tuple, out: tuple, ones: bool) -> tuple:
    """``_columns_and_product`` (2-d, ``rows_last_fits``) through rows-last columns: ``[N, P,
    R]`` with the rows in (kernel row, kernel column, channel) order, copied from a padded
    channels-last copy of the input (contiguous runs of ``C kw`` entries where the usual
    columns run along an output row), the product ``cols[n] @ w2'^T`` per example, turned to
    ``[N, O, P]``. Returns the columns ``[N, P, R (+1)]`` (``ones``: a last column of ones) and
    the product. The weight's gradient is then ``g[n] @ cols[n]`` (``_rows_last_weight_grad``):
    a GEMM BLAS runs faster than ``cols[n] @ g[n]^T``, and no transposed copy of ``g``. The sums
    run in another order than the usual columns' (an ulp or so apart). W6's Conv2d(16, 32, 3,
    padding=1) on [64, 16, 14, 14] float32, against the usual columns: forward 2.31 -> 2.29 ms,
    forward + backward 7.54 -> 6.82 ms (the layer alone, 25 alternated rounds); with
    ``_correlate_rows_last`` for its input gradient, the W6 step 0.905 of its time (quartiles
    0.87-0.92, ``ab.py --workload w6 --rounds 15 --cpu``, two runs), W8 cnn's 0.93-0.95: one
    thread, thread time, alternated in one process, a loaded machine (load 14-16; s20 EO)."""
    batch, channels, height, width = x.shape
    (kh, kw), (top, bottom), (left, right) = kernel, pads[0], pads[1]
    rows, positions, o = channels * kh * kw, out[0] * out[1], w2.shape[0]
    last = buffers.empty((batch, height + top + bottom, width + left + right, channels),
                         x.dtype)
    if top or bottom or left or right:
        last.fill(0)
    np.copyto(last[:, top:top + height, left:left + width], x.transpose(0, 2, 3, 1))
    s = last.strides
    # windows[n, i, j, a, (b, c)] = x_padded[n, c, i s0 + a, j s1 + b]: (b, c) one run
    windows = np.ndarray((batch,) + tuple(out) + (kh, kw * channels), x.dtype, last, 0,
                         (s[0], s[1] * stride[0], s[2] * stride[1], s[1], s[3]))
    wt = np.empty((rows + ones, o), np.result_type(w2, x))
    wt[:rows] = w2[:, :rows].reshape(o, channels, kh, kw).transpose(2, 3, 1, 0).reshape(rows, o)
    if ones:
        wt[rows] = w2[:, rows]
    cols = buffers.empty((batch, positions, rows + ones), x.dtype)
    y = buffers.empty((batch, o, positions), wt.dtype)
    # Blocks of examples whose columns (512 KB) are still in cache for their product, as in
    # _columns_and_product; one GEMM per example (each under BLAS's threading size).
    step = max(1, (1 << 19) * batch // max(cols.nbytes, 1))

    def examples(begin, end):
        for start in range(begin, end, step):
            stop = min(start + step, end)
            part = cols[start:stop]
            if ones:
                part[:, :, rows] = 1
            np.copyto(part[:, :, :rows].reshape(windows[start:stop].shape), windows[start:stop])
            # y[n] = wt^T cols[n]^T, both operands transposed views (BLAS's flags): no
            # transposed copy of the product, the same bits as (cols[n] wt)^T, 2.2 -> 2.0 ms
            # for W6's conv2 (one thread, thread time, medians of 15), and under BLAS's
            # threading size (a plain first operand with a transposed second one is not:
            # threads.BLAS_SERIAL_TRANSPOSED; checked with BLAS's thread CPU times).
            np.matmul(wt.T, part.transpose(0, 2, 1), out=y[start:stop])

    threads.split(examples, batch, elements=cols.size)
    windows = None  # (a view of ``last``: gone, so that it can be given back)
    buffers.give(last)
    return cols, y


def _rows_last_weight_grad(cols: np.ndarray, g: np.ndarray, shape: tuple,
                           ones: bool) -> tuple:
    """The weight's gradient (and with ``ones`` the bias's, else None) from
    ``_columns_rows_last``'s columns ``[N, P, R (+1)]`` and ``g`` ``[N, O, P]``: the sum over
    the examples of ``g[n] @ cols[n]``, in blocks of examples across the intra-op threads
    (summed by one call: the same bits at any thread count)."""
    batch, positions, width = cols.shape
    out_channels, channels, kh, kw = shape
    total = np.zeros((out_channels, width), dtype=np.result_type(g, cols))
    chunk = max(1, (1 << 22) // max(out_channels * width, 1))  # (products under ~4M entries)
    for first in range(0, batch, chunk):
        c_n, g_n = cols[first:first + chunk], g[first:first + chunk]
        products = buffers.empty((c_n.shape[0],) + total.shape, total.dtype)

        def examples(start, stop, c=c_n, g=g_n, p=products):
            np.matmul(g[start:stop], c[start:stop], out=p[start:stop])

        threads.split(examples, c_n.shape[0], elements=c_n.size)
        total += products.sum(axis=0)
        buffers.give(products)
    rows = channels * kh * kw
    weight = np.ascontiguousarray(
        total[:, :rows].reshape(out_channels, kh, kw, channels).transpose(0, 3, 1, 2))
    return weight, (total[:, rows].copy() if ones else None)


def _weight_grad(cols: np.ndarray, g: np.ndarray, groups: int, shape: tuple) -> np.ndarray:
    """dw[o, c, k] = sum over n, p of g[n, o, p] cols[n, c K + k, p]."""
    return _column_products(cols, g, groups).transpose(0, 2, 1).reshape(shape)


def _weight_and_bias_grad(cols: np.ndarray, g: np.ndarray, shape: tuple) -> tuple:
    """``_weight_grad`` from columns with their last row of ones (``_im2col(ones=True)``,
    groups 1): that row's products are the bias's gradient."""
    total = _column_products(cols, g, 1)[0]
    return np.ascontiguousarray(total[:-1].T).reshape(shape), total[-1].copy()


def _column_products(cols: np.ndarray, g: np.ndarray, groups: int) -> np.ndarray:
    """``[G, C/G prod(K), O/G]``: sum over n, p of cols[n, g, r, p] g[n, g, o, p]."""
    batch, rows, positions = cols.shape
    out_channels = g.shape[1]
    if _is_batch_last(cols):  # one GEMM per position and group over the examples, summed
        memory = cols.transpose(2, 1, 0).reshape(positions, groups, rows // groups, batch)
        # ([P, G, N, O/G] C-contiguous: a transposed view would wake BLAS's threads, see
        # threads.BLAS_SERIAL_WORK)
        g_last = np.ascontiguousarray(g.reshape(
            batch, groups, out_channels // groups, positions).transpose(3, 1, 0, 2))
        # (positions in chunks: the stacked products stay under ~4M entries, as below)
        chunk = max(1, (1 << 22) // max(rows * out_channels // groups, 1))
        total = np.matmul(memory[:chunk], g_last[:chunk]).sum(axis=0)
        for first in range(chunk, positions, chunk):
            total += np.matmul(memory[first:first + chunk], g_last[first:first + chunk]).sum(
                axis=0)
        return total
    c_g = cols.reshape(batch, groups, rows // groups, positions)
    g_g = g.reshape(batch, groups, out_channels // groups, positions)
    if positions == 1:  # (one position: one GEMM sums over the examples; see _input_grad)
        return np.matmul(c_g[..., 0].transpose(1, 2, 0), g_g[..., 0].transpose(1, 0, 2))
    total = np.zeros((groups, rows // groups, out_channels // groups), dtype=g.dtype)
    # Batches of examples bound the [n, G, C/G K, O/G] products to ~4M entries, made across
    # the intra-op threads and summed by one call (the same bits at any thread count). Columns
    # times the gradient's transpose: 1.9 against 2.9 ms the other way round at N=32, C=O=16,
    # 28x28, k=3 (float32, one thread).
    chunk = max(1, (1 << 22) // max(rows * out_channels // groups, 1))
    # Past threads.BLAS_SERIAL_TRANSPOSED the gradient's transpose is copied C-contiguous, each
    # example's by the thread that multiplies it: the product of the transposed view woke
    # BLAS's threads (W6's conv2 weight gradient at two threads took ~100x its one-thread time
    # on the loaded machine), and with the copy it is faster on one thread too: W6's conv2
    # [64, 145, 196] x [64, 196, 32] 2.5 -> 2.1 ms. Below, the copy costs more than it saves
    # (W6's conv1, [10, 784] x [784, 16] each: 0.57 -> 0.82 ms forward + backward; thread time).
    copy = (rows // groups) * positions * (out_channels // groups) > threads.BLAS_SERIAL_TRANSPOSED
    for first in range(0, batch, chunk):
        c_n, g_n = c_g[first:first + chunk], g_g[first:first + chunk].transpose(0, 1, 3, 2)
        products = buffers.empty((c_n.shape[0],) + total.shape, total.dtype)
        g_t = buffers.empty(g_n.shape, g_n.dtype) if copy else g_n

        def examples(start, stop, c=c_n, g=g_n, g_t=g_t, p=products):
            if copy:
                np.copyto(g_t[start:stop], g[start:stop])
            np.matmul(c[start:stop], g_t[start:stop], out=p[start:stop])

        threads.split(examples, c_n.shape[0], elements=c_n.size)
        total += products.sum(axis=0)
        buffers.give(products)
        if copy:
            buffers.give(g_t)
    return total


def _input_grad(g: np.ndarray, w: np.ndarray, size: tuple, stride: tuple, dilation: tuple,
                pads: tuple, groups: int) -> np.ndarray:
    """The gradient of a convolution with respect to its input ``[N, C, *size]`` (and so the
    forward of a transposed convolution)."""
    batch, out_channels = g.shape[:2]
    out = g.shape[2:]
    kernel = w.shape[2:]
    channels = w.shape[1] * groups
    if (groups == 1 and math.prod(out) == 1 and tuple(size) == tuple(kernel)
            and not any(left or right for left, right in pads)):
        # One window covering the input (a generator's first ConvTranspose2d from a 1x1
        # code, a discriminator's last Conv2d): dx[n] = g[n] w, one GEMM, and the weight's
        # gradient and the forward one GEMM each too (where they were a product per example).
        # W8 DCGAN's ConvTranspose2d(16, 32, 4) on [32, 16, 1, 1] forward 239 -> 44 us,
        # forward + backward 755 -> 112 us (torch 245); its Conv2d(32, 1, 4) on [32, 32, 4, 4]
        # forward + backward 196 -> 117 us (torch 211): one thread, thread time, medians of 41.
        dx = np.matmul(g.reshape(batch, out_channels), _matrix(w))
        return dx.reshape((batch, channels) + tuple(size))
    if all(s == 1 for s in stride) and out_channels <= 3 * channels:
        # Stride 1: a correlation of the output gradient, padded by the kernel's span less the
        # forward's padding, with the kernels flipped and their in/out channels swapped. An
        # im2col copy costs ~3.5x less per entry than the strided additions of col2im, so this
        # wins unless the gradient has many more channels than the input: dx at N=32, C=O=16,
        # 28x28, k=3: 2.3 against 4.4 ms.
        flipped = w.reshape((groups, out_channels // groups, w.shape[1]) + kernel)
        flipped = flipped.swapaxes(1, 2).reshape((channels, out_channels // groups) + kernel)
        flipped = flipped[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)]
        g_pads = []
        for k, d, (left, _), n, m in zip(kernel, dilation, pads, size, out):
            first = (k - 1) * d - left
            g_pads.append((first, n + (k - 1) * d - m - first))
        if len(kernel) == 2 and kernel[0] > 1 and groups == 1:
            if (ROWS_LAST_INPUT_GRAD and dilation[1] == 1 and out_channels * kernel[1] >= 32
                    and batch
                    and min(min(pair) for pair in g_pads) >= 0  # (and as rows_last_fits:)
                    and channels * out_channels * kernel[1] * math.prod(size)
                    <= threads.BLAS_SERIAL_WORK):
                return _correlate_rows_last(g, flipped, tuple(g_pads), dilation[0], size)
            return _correlate_by_rows(g, flipped, tuple(g_pads), dilation, size)
        if _col2im_offsets.conv_takes_slabs(g, flipped, size):  # (large 3-d: no whole columns)
            return _col2im_offsets.conv_by_slabs(g, flipped, stride, dilation, tuple(g_pads),
                                                 groups, size)
        cols = _im2col(g, kernel, stride, dilation, tuple(g_pads), size)
        dx = _grouped_matmul(_matrix(np.ascontiguousarray(flipped)), cols, groups)
        buffers.give(cols)
        return dx.reshape((batch, channels) + tuple(size))
    positions = math.prod(out)
    if batch * channels * math.prod(kernel) * positions > _col2im_offsets.LARGE_COLUMNS:
        # (ConvTranspose3d's documentation example, no_grad: 32.9 s -> ~1.2 s, PyTorch ~1.0;
        # at batch 2, ``_input_grad`` alone 156 -> 58 ms; one thread, CPU time; s28 SP43)
        return _col2im_offsets.by_phases(g, w, size, stride, dilation, pads, groups)
    if groups == 1 and batch > out[-1]:
        return _col2im_batch_last(g, w, size, stride, dilation, pads)
    w_g = w.reshape(groups, out_channels // groups, w.shape[1] * math.prod(kernel))
    w_t = np.ascontiguousarray(w_g.transpose(0, 2, 1))  # (transposed: threads.BLAS_SERIAL_WORK)
    g_g = g.reshape(batch, groups, out_channels // groups, positions)
    d_cols = np.matmul(w_t, g_g).reshape(batch, channels * math.prod(kernel), positions)
    dx = _col2im(d_cols, size, kernel, stride, dilation, pads, out)
    buffers.give(d_cols)
    return dx


def _col2im_batch_last(g: np.ndarray, w: np.ndarray, size: tuple, stride: tuple,
                       dilation: tuple, pads: tuple) -> np.ndarray:
    """``_input_grad``'s columns and col2im (groups 1) with the batch as the last, contiguous
    dim: ``d[c K + k, p, n]`` is one GEMM, and each kernel offset's strided addition runs over
    rows of ``N`` elements instead of output rows of ``out[-1]``, which NumPy pays for per row.
    Each element sums its offsets in the same order as ``_col2im``: the same bits. DCGAN's
    ConvTranspose2d(32, 16, 4, 2, 1) forward on [32, 32, 4, 4] float32 490 -> 243 us, on
    [32, 16, 8, 8] to one channel 111 -> 97 us (one thread, thread time, best of 7).
    """
    batch, out_channels = g.shape[:2]
    out, kernel, channels = g.shape[2:], w.shape[2:], w.shape[1]
    positions = math.prod(out)
    g_last = buffers.empty((out_channels, positions, batch), g.dtype)
    np.copyto(g_last.transpose(2, 0, 1), g.reshape(batch, out_channels, positions))
    d = threads.matmul_serial(_matrix(w).T, g_last.reshape(out_channels, positions * batch),
                       np.empty((w.shape[1] * math.prod(kernel), positions * batch), g.dtype))
    buffers.give(g_last)
    blocks = d.reshape((channels,) + tuple(kernel) + tuple(out) + (batch,))
    padded = tuple(n + left + right for n, (left, right) in zip(size, pads))
    result = np.zeros((channels,) + padded + (batch,), d.dtype)
    every = (slice(None),)
    for offset in itertools.product(*(range(k) for k in kernel)):
        target = every + tuple(slice(o * s_d, o * s_d + s * (n - 1) + 1, s)
                               for o, s_d, s, n in zip(offset, dilation, stride, out))
        result[target] += blocks[every + offset]
    crop = every + tuple(slice(left, left + n) for n, (left, _) in zip(size, pads))
    dx = np.empty((batch, channels) + tuple(size), d.dtype)
    np.copyto(dx, np.moveaxis(result[crop], -1, 0))
    return dx


# ``_correlate_rows_last`` for the input gradient (and a stride-1 transposed convolution's
# forward) is off: its sums run in another order, and under bfloat16 autocast the roundings to
# bfloat16 downstream then flip where the usual order's matched PyTorch's: a small DDPM UNet's
# first convolution's weight gradient 4.9e-4 from PyTorch's (tests/programs/
# prog_s18_PR_diffusion.py, ddpm_amp; with it off, within 1e-5). Its gain, 2.62 -> 2.24 ms of
# W6's ~17 ms step, does not pay for that; the rows-last forward and weight gradient do not
# flip it and stay. (s20 lead, after EO's measurement below.)
ROWS_LAST_INPUT_GRAD = False


def _correlate_rows_last(g: np.ndarray, w: np.ndarray, pads: tuple, row_dilation: int,
                         size: tuple) -> np.ndarray:
    """``_correlate_by_rows`` (dilation 1 along the width, no cropping) with the padded output
    gradient copied channels-last: ``S[n, r, j, (b, o)] = g_padded[n, o, r, j + b]`` is one copy
    with contiguous runs of ``kw O`` entries, the rows of kernel row ``a`` are again one slice of
    it, and ``y[n] = sum over a of W_a^T S_a[n]^T`` with both operands transposed views (BLAS's
    flags: no copy; used under BLAS's threading size). W6's Conv2d(16, 32, 3, padding=1) input
    gradient on [64, 32, 14, 14] float32: 2.62 -> 2.24 ms, W8 cnn's on [32, 32, 14, 14] 1.23
    -> 1.06 ms (one thread, thread time, medians of 21 alternated; s20 EO). The sums run in
    another order than ``_correlate_by_rows``'s (an ulp apart).
    """
    batch, out_channels, g_height, g_width = g.shape
    (channels, _, kh, kw), (height, width) = w.shape, size
    (top, bottom), (left, right) = pads
    rows, span, run = g_height + top + bottom, height * width, kw * out_channels
    last = buffers.empty((batch, rows, g_width + left + right, out_channels), g.dtype)
    if top or bottom or left or right:
        last.fill(0)
    np.copyto(last[:, top:top + g_height, left:left + g_width], g.transpose(0, 2, 3, 1))
    s = last.strides
    view = np.ndarray((batch, rows, width, run), g.dtype, last, 0, s)
    shifted = buffers.empty((batch, rows * width, run), g.dtype)
    out = buffers.empty((batch, channels, span), g.dtype)
    # w_t[a][(b, o), c] = w[c, o, a, b]; the product reads its transpose
    w_t = [np.ascontiguousarray(w[:, :, a, :].transpose(2, 1, 0)).reshape(run, channels)
           for a in range(kh)]
    step = max(1, (1 << 19) * batch // max(shifted.nbytes, 1))  # (512 KB blocks, in cache)

    def examples(begin, end):  # (across the intra-op threads: one product per example)
        for first in range(begin, end, step):
            stop = min(first + step, end)
            np.copyto(shifted[first:stop].reshape(view[first:stop].shape), view[first:stop])
            for a, w_a in enumerate(w_t):
                start = a * row_dilation * width
                rows_a = shifted[first:stop, start:start + span].transpose(0, 2, 1)
                if a == 0:
                    np.matmul(w_a.T, rows_a, out=out[first:stop])
                else:
                    out[first:stop] += np.matmul(w_a.T, rows_a)

    threads.split(examples, batch, elements=shifted.size)
    view = None  # (a view of ``last``: gone, so that it can be given back)
    buffers.give(last)
    buffers.give(shifted)
    return out.reshape((batch, channels) + tuple(size))


def _correlate_by_rows(g: np.ndarray, w: np.ndarray, pads: tuple, dilation: tuple,
                       size: tuple) -> np.ndarray:
    """A stride-1 2-d correlation ``y[n, c, i, j] = sum over o, a, b of w[c, o, a, b]
    g_padded[n, o, i + a d0, j + b d1]`` (groups 1), ``y`` ``[N, C, *size]``.

    Only the column offsets are copied: ``A[n, o, b]`` holds every padded row, shifted by
    ``b d1`` and cut to the output's width, so the rows of offset ``a`` are the contiguous slice
    from row ``a d0`` (a matrix with a row stride BLAS takes), and ``y`` is ``kernel[0]``
    products of ``[C, O kw] @ [O kw, H W]``. An im2col copies ``kh`` times more (inner runs of
    one output row each). Conv2d(16, 32, 3, padding=1) input gradient on [64, 16, 14, 14]
    float32 (W6's conv2): 2.66 -> 1.94 ms, one thread (thread time, medians of 30).
    """
    batch, out_channels = g.shape[:2]
    (channels, _, kh, kw), (height, width) = w.shape, size
    gp = _pad(g, pads)
    rows = gp.shape[2]
    shifted = buffers.empty((batch, out_channels, kw, rows * width), g.dtype)
    n_stride, o_stride, r_stride, c_stride = gp.strides
    view = as_strided(gp, (batch, out_channels, kw, rows, width),
                      (n_stride, o_stride, c_stride * dilation[1], r_stride, c_stride),
                      writeable=False)
    matrix = shifted.reshape(batch, out_channels * kw, rows * width)
    span = height * width
    out = buffers.empty((batch, channels, span), g.dtype)
    w_rows = [np.ascontiguousarray(w[:, :, a, :]).reshape(channels, out_channels * kw)
              for a in range(kh)]

    def examples(first, stop):  # (across the intra-op threads: one product per example)
        np.copyto(shifted[first:stop].reshape(view[first:stop].shape), view[first:stop])
        for a, w_a in enumerate(w_rows):
            start = a * dilation[0] * width
            if a == 0:
                np.matmul(w_a, matrix[first:stop, :, start:start + span], out=out[first:stop])
            else:
                out[first:stop] += np.matmul(w_a, matrix[first:stop, :, start:start + span])

    threads.split(examples, batch, elements=shifted.size)
    view = None  # (a view of ``gp``: gone, so that it can be given back)
    if gp is not g:
        buffers.give(gp)
    buffers.give(shifted)
    return out.reshape((batch, channels) + tuple(size))


# ----------------------------------------------------------------------------------------------
# Channels-last layouts. PyTorch gives a 4-D channels-last input's layout to the outputs of its
# image ops (conv, batch/group norm, pooling): a dropout drawn afterwards fills its mask in
# memory order, so a contiguous result here would draw a different mask from the same seed.


def channels_last_like(array: np.ndarray) -> bool:
    """Whether PyTorch's ``suggest_memory_format`` calls a 4-D array channels-last: its strides
    ordered C, W, H, N (each at least the span of the one before; size-1 dims are free, an
    empty array, a zero channel stride or an N stride tied with C's are not). An array that is
    also row-major (size-1 dims) counts too, as in PyTorch: a ``[1, 1, H, W]`` NHWC image is
    channels-last, and a convolution of it gives a channels-last ``[1, O, H', W']``."""
    if array.ndim != 4:
        return False
    sizes, strides = array.shape, array.strides
    if strides[1] == 0:
        return False
    span = 0
    for dim in (1, 3, 2, 0):
        if sizes[dim] == 0 or strides[dim] < span:
            return False
        if dim == 0 and span == strides[1]:  # (PyTorch's rule for [N, 1, 1, 1]-like cases)
            return False
        span = strides[dim] * sizes[dim] if sizes[dim] > 1 else strides[dim]
    return True


def in_channels_last(array: np.ndarray, channels_last: bool) -> np.ndarray:
    """``array`` ``[N, C, H, W]`` laid out channels-last (a copy in NHWC order, seen as NCHW;
    the values unchanged) if ``channels_last``, else itself."""
    if not channels_last or array.ndim != 4:
        return array
    batch, channels, height, width = array.shape
    item = array.itemsize
    if array.strides == (height * width * channels * item, item, width * channels * item,
                         channels * item):
        return array
    out = np.empty((batch, height, width, channels), array.dtype)
    np.copyto(out, array.transpose(0, 2, 3, 1))
    return out.transpose(0, 3, 1, 2)
