"""Training-mode batch normalization as one engine node: the batch moments over cache-sized
blocks, the normalization and its first-order gradient in NumPy (``normalization.py`` holds the
functionals and layers that call it).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .._engine import buffers, threads, versions
from .._engine.ops import ARRAY, Op

# Elementwise passes run over blocks of examples of about this many entries (2 MB of float32
# at most is L2-resident here): four passes over a [64, 16, 784] float32 gradient take 0.9 ms
# blocked against 2.4 ms over whole arrays (fresh memory and cache misses on each pass).
_BLOCK = 1 << 17
_local = threading.local()  # each thread's scratch block (``_scratch``)
# Up to this many entries a pass runs in the calling thread without threads.split (which
# would run it there too): batch_norm fwd + bwd on OpInfo's [5, 5, 5] 109 -> 99 us (one
# thread, alternated, thread time; s14 SP).
_SMALL = 1 << 12


def _over_blocks(function, batch: int, per_example: int) -> None:
    """``function(start, stop)`` over blocks of about ``_BLOCK`` entries of the examples, the
    examples shared out across the intra-op threads (each example done whole by one thread:
    the bits do not depend on the thread count)."""
    if batch * per_example <= _SMALL:
        function(0, batch)  # (one block, one thread: the same bits, without the split)
        return
    step = max(1, _BLOCK // max(per_example, 1))

    def blocks(start, stop):
        for first in range(start, stop, step):
            function(first, min(first + step, stop))

    threads.split(blocks, batch, elements=batch * per_example)


def _scratch(shape: tuple, dtype) -> np.ndarray:
    """This thread's work array of ``shape`` (kept: a fresh block per call costs page
    faults)."""
    size = math.prod(shape)
    array = getattr(_local, "array", None)
    if array is None or array.dtype != dtype or array.size < size:
        array = _local.array = np.empty(max(size, _BLOCK), dtype)
    return array[:size].reshape(shape)


# From this many entries the elementwise passes run over ``[n, C L]`` rows (``_spread``);
# below, the ``[C, 1]`` columns broadcast over ``[n, C, L]`` cost no more, and the rows' extra
# calls ~5 us of BatchNorm's ~70 on [1, 32, 7, 7] or [8, 20], 133 -> 137 us on [32, 16, 8, 8].
_ROWS_FROM = 1 << 16


def _spread(per_channel: np.ndarray, length: int, size: int) -> np.ndarray:
    """A ``[C, 1]`` per-channel column as one ``[C L]`` row, for the elementwise passes over
    ``[n, C L]`` views of ``[n, C, L]`` arrays of ``size`` entries (``_flat``): NumPy's loop
    then runs along whole examples instead of rows of ``L`` entries, each with its own
    broadcast column entry. The same operations on the same elements (so the same bits).
    BatchNorm2d forward + backward against the [C, 1] columns (one thread, thread time,
    medians of 9 blocks, alternated): [64, 16, 28, 28] (W6) 2.0-2.3 -> 1.3-1.7 ms, [32, 32,
    14, 14] (W8 CNN) 463-475 -> 381 us (s27 SP39). The column itself below ``_ROWS_FROM``."""
    if size < _ROWS_FROM:
        return per_channel.reshape(-1, 1)
    column = per_channel.reshape(-1)
    return column if length == 1 else np.repeat(column, length)


def _flat(a: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """A contiguous ``[n, C, L]`` as ``[n, C L]`` (a view) for a ``_spread`` row, else itself."""
    return a.reshape(a.shape[0], a.shape[1] * a.shape[2]) if vector.ndim == 1 else a


def _channel_rows(a: np.ndarray, out: np.ndarray, b: np.ndarray | None = None) -> None:
    """``out[n, c]`` = the sum over L of ``a[n, c]`` (or of ``a[n, c] * b[n, c]``), ``a``
    ``[n, C, L]``: BLAS dot products (summed over n in float64 they are per-channel sums).
    Each row is one dot of its own, so any split over n gives the same bits."""
    if b is None:
        # A matrix-vector product: [32, 32, 16] 13.0 -> 3.1 us, [32, 16, 784] 32.5 -> 21.8 us
        # against vecdot with ones (float32, one thread). With the einsum below, BatchNorm2d(32)
        # forward + backward on [32, 32, 4, 4] (W8 DCGAN) 304 -> 266 us, on [32, 16, 28, 28]
        # (W8 CNN) 1998 -> 1966 us (thread time, 31 alternated rounds).
        np.matmul(a, np.ones(a.shape[2], a.dtype), out=out)
    elif a.shape[2] < 32:
        # Short rows: vecdot pays per row; einsum's loop does not: [32, 32, 16] 12.6 -> 5.9 us
        # (at L = 64 vecdot is ahead again, 4.2 against 5.9 us).
        np.einsum("ncl,ncl->nc", a, b, out=out)
    else:
        np.vecdot(a, b, out=out)


_ONES: dict = {}  # (length, dtype) -> read-only ones, _small_moments's row sums


def _small_moments(xs: np.ndarray) -> tuple:
    """``_batch_moments`` of a small input (``_INLINE``): the same NumPy calls on the same
    arrays (so the same bits), without the blocks' scratch array, closures and NumPy's Python
    wrappers of ``sum``, and with a cached vector of ones (numbers at ``_INLINE``)."""
    batch, channels, length = xs.shape
    count = batch * length
    key = (length, xs.dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 256:
            _ONES.clear()
        ones = _ONES[key] = np.ones(length, xs.dtype)
        ones.flags.writeable = False
    rows = np.matmul(xs, ones)  # (as _channel_rows)
    mean64 = np.add.reduce(rows, 0, np.float64) / count  # (rows.sum(0, dtype=float64))
    mean = mean64.astype(xs.dtype)[:, None]
    centred = xs - mean
    if length < 32:  # (as _channel_rows)
        squares = np.einsum("ncl,ncl->nc", centred, centred)
    else:
        squares = np.vecdot(centred, centred)
    return mean64, mean, np.add.reduce(squares, 0, np.float64) / count


# Up to this many entries the training forward runs inline (``_small_moments``, and the
# normalization without ``_over_blocks``): batch_norm's forward with running statistics,
# weight and bias on OpInfo's [5, 5, 5] 0.86-0.93 of its time (no_grad 0.74-0.88), on [3, 1]
# 0.77-0.86 (SP7 s22: base and new alternated in one process, thread time, one thread, a
# loaded machine; 33 against PyTorch's 11 us on [5, 5, 5]).
_INLINE = _SMALL


def _batch_moments(xs: np.ndarray) -> tuple:
    """The per-channel mean (float64, and in ``xs``'s dtype as ``[C, 1]``) and biased variance
    (float64) of contiguous ``[N, C, L]``, as ``_batch_norm_train_forward`` computes them."""
    batch, channels, length = xs.shape
    if xs.size <= _INLINE:
        return _small_moments(xs)
    count, per_example = batch * length, channels * length
    rows = np.empty((batch, channels), xs.dtype)  # per-example sums, then squares
    # (inputs up to _SMALL returned above: _INLINE is _SMALL)
    threads.split(lambda start, stop: _channel_rows(xs[start:stop], rows[start:stop]),
                  batch, elements=xs.size)
    mean64 = rows.sum(axis=0, dtype=np.float64) / count
    mean = mean64.astype(xs.dtype)[:, None]
    mean_row = _spread(mean, length, xs.size)

    def squares(start, stop):
        centred = _scratch((stop - start,) + xs.shape[1:], xs.dtype)
        np.subtract(_flat(xs[start:stop], mean_row), mean_row, out=_flat(centred, mean_row))
        _channel_rows(centred, rows[start:stop], centred)

    _over_blocks(squares, batch, per_example)
    return mean64, mean, rows.sum(axis=0, dtype=np.float64) / count


def _batch_norm_train_forward(x, *affine, has_weight, eps, stats, slot, channels_last=False,
                              half=None):
    # Training-mode batch normalization of ``[N, C, L]`` as one node: y = (x - mean) w rstd
    # + b per channel, mean and biased variance over (N, L). The running statistics (``stats``,
    # a ``_RunningStats`` or None) are updated inside the forward; the mean and rstd go to
    # ``slot`` for the rule. Fused so that the step makes a few blocked passes instead of the
    # composite's dozen whole-array ones: BatchNorm2d(16) forward + backward on [64, 16, 28,
    # 28] float32, 8.4 -> 3.5 ms (torch 2.4 ms); the W6 CNN step 0.80 of its time (one thread,
    # alternated, thread time). Each pass is shared out by examples across the intra-op
    # threads; the per-channel sums are per-example rows (any thread's) summed over the
    # examples by one call, so any thread count gives the same bits. An engine op, not an
    # autograd.Function (no ctx, no no_grad block, no saved-tensor unpacking): with the
    # in-thread small passes, fwd + bwd on OpInfo's [5, 5, 5] samples 2.01 -> 1.53 x
    # PyTorch's time (opinfo_overhead.py, medians of 3 alternated runs; s14 SP).
    xs = np.ascontiguousarray(x)
    if xs.ndim != 3:  # [N, C] (BatchNorm1d's) or [N, C, H, W...] as [N, C, L] views: no
        # reshape nodes (s18 SP), and one node as PyTorch's (torch_pruning walks the graph)
        xs = xs.reshape(xs.shape[0], xs.shape[1], -1)
    batch, channels, length = xs.shape
    count, per_example = batch * length, channels * length
    weight = affine[0] if has_weight else None
    bias = affine[-1] if len(affine) > has_weight else None
    if (half is None and not channels_last and length > 1 and xs.size <= _EXACT
            and xs.dtype == np.float32):
        return _exact_small_forward(x, xs, weight, bias, eps, stats, slot)
    mean64, mean, var64 = _batch_moments(xs)
    if half is None:
        rstd64 = 1.0 / np.sqrt(var64 + eps)
        # y = x alpha + beta, alpha = w rstd, beta = b - mean alpha: PyTorch's own form (two
        # passes where (x - mean) alpha + b takes three: 0.69 -> 0.45 ms on [64, 16, 784]).
        alpha64 = rstd64 * weight if weight is not None else rstd64
        beta64 = -mean64 * alpha64 + (bias if bias is not None else 0.0)
    else:
        batch_mean64 = mean64
        mean64, mean, rstd64 = _half_stats(mean64, var64, count, eps, half)
        # PyTorch's reduced-type terms: alpha = half(rstd w), beta = b - mean alpha in float32
        alpha64 = rstd64.astype(np.float32) * weight if weight is not None else rstd64
        beta64 = (np.float32(0) if bias is None else bias) - mean.reshape(-1) * np.asarray(
            alpha64, np.float32)
    alpha = _spread(alpha64.astype(xs.dtype), length, xs.size)
    beta = _spread(beta64.astype(xs.dtype), length, xs.size)
    result = buffers.empty(x.shape, xs.dtype)  # (the input's shape)
    y = result.reshape(xs.shape)  # (a view: the result is contiguous)

    def normalize(start, stop):
        out = _flat(y[start:stop], alpha)
        np.multiply(_flat(xs[start:stop], alpha), alpha, out=out)
        out += beta

    if xs.size <= _INLINE:
        np.multiply(xs, alpha, out=y)
        y += beta
    else:
        _over_blocks(normalize, batch, per_example)
    if stats is not None and half is not None:
        _half_update(stats, batch_mean64, var64 * count, count, half)
    elif stats is not None:  # (inside the node: capture_step's replays update them too)
        stats.update_batch(mean64, var64 * count, count)
    slot.value = (x, mean, rstd64)
    if channels_last:  # a [N, C, H W] of channels-last rows: PyTorch's layout, [N, L, C]
        rows_last = np.empty((batch, length, channels), xs.dtype)
        np.copyto(rows_last, y.transpose(0, 2, 1))
        buffers.give(result)
        return rows_last.transpose(0, 2, 1).reshape(x.shape)  # (a view of the rows)
    return result


# Up to this many entries a float32 [N, C, L > 1] training forward takes PyTorch's bits
# (``_exact_small_forward``; its own bound, not ``_INLINE``'s shortcut of the blocked path).
# F.batch_norm with running statistics, exact / former path's thread time, alternated in one
# process (21 rounds, one thread, load ~13; s23 BR4): forward [4, 8, 5, 5] 0.90-0.99, [8, 16,
# 4, 4] (2048) 1.08, [16, 16, 4, 4] (4096) 1.23-1.25; forward + backward 0.96-1.06 up to
# 2048, 1.11 at 4096. Above the bound the blocked passes' float32 row sums stand (the float64
# sums and the fused y = x alpha + beta cost 2-3x there: [32, 16, 784]'s sums 0.40 -> 1.12 ms).
_EXACT = 1 << 11


def _exact_small_forward(x, xs, weight, bias, eps, stats, slot):
    # PyTorch's float32 kernel for a small contiguous [N, C, L > 1] input, bit for bit (its
    # [N, C] and channels-last inputs take other sums): the mean float32(float64 sum / n), the
    # float64 sum of float32 squares of x - mean, rstd = float32(1 / sqrt(float32(var_sum / n)
    # + eps)), alpha = rstd w and beta = fma(-mean, alpha, b) in float32, y = fma(x, alpha,
    # beta) (a float64 product is exact). BatchNorm2d's y 0.76 -> 1.0 of [4, 8, 5, 5]'s
    # elements equal to PyTorch's (times at _EXACT).
    batch, channels, length = xs.shape
    count = batch * length
    mean = (np.add.reduce(xs, (0, 2), np.float64) / count).astype(np.float32)[:, None]
    squares = xs - mean
    squares *= squares
    var_sum = np.add.reduce(squares, (0, 2), np.float64).astype(np.float32)
    rstd = (1.0 / np.sqrt((var_sum / np.float32(count)).astype(np.float64) + eps)).astype(
        np.float32)
    alpha = rstd * weight if weight is not None else rstd
    beta = -(mean[:, 0].astype(np.float64) * alpha)
    if bias is not None:
        beta += bias
    y64 = xs * alpha.astype(np.float64)[:, None]
    y64 += beta.astype(np.float32)[:, None]
    result = buffers.empty(x.shape, np.float32)
    np.copyto(result.reshape(xs.shape), y64, casting="same_kind")
    if stats is not None:  # (inside the node: capture_step's replays update them too)
        stats.update_batch(mean[:, 0], var_sum, count)
    slot.value = (x, mean, rstd.astype(np.float64))
    return result


def _batch_norm_train_vjp(F, g, out, x, *affine, has_weight, eps, stats, slot, needs,
                          channels_last=False, half=None):
    if F is not ARRAY:  # a recorded backward (create_graph): differentiable ops only
        return _batch_norm_backward_recorded(x, affine, has_weight, g, eps, needs)
    xs = np.ascontiguousarray(x)
    g = np.ascontiguousarray(g)
    if xs.ndim != 3:  # (as the forward: [N, C, L] views)
        xs = xs.reshape(xs.shape[0], xs.shape[1], -1)
        g = g.reshape(xs.shape)
    saved = slot.value
    if saved is not None and saved[0] is x:
        mean, rstd64 = saved[1:]
    else:  # run again on other arrays (check_graph): the statistics again
        mean64, mean, var64 = _batch_moments(xs)
        rstd64 = 1.0 / np.sqrt(var64 + eps)
        if half is not None:
            _, mean, rstd64 = _half_stats(mean64, var64, xs.shape[0] * xs.shape[2], eps, half)
    batch, channels, length = xs.shape
    count = batch * length
    # The centred input is written where dx goes and turned into dx block by block (one
    # pass fewer than centring it again: forward + backward 3.47 -> 3.28 ms on the shape
    # above, thread time).
    dx_result = buffers.empty(np.shape(x), xs.dtype)
    dx = dx_result.reshape(xs.shape)
    rows_g = np.empty((batch, channels), xs.dtype)
    rows_gc = np.empty((batch, channels), xs.dtype)
    mean_row = _spread(mean, length, xs.size)

    def sums(start, stop):
        centred = dx[start:stop]
        np.subtract(_flat(xs[start:stop], mean_row), mean_row, out=_flat(centred, mean_row))
        _channel_rows(g[start:stop], rows_g[start:stop])
        _channel_rows(g[start:stop], rows_gc[start:stop], centred)

    _over_blocks(sums, batch, channels * length)
    sum_g = rows_g.sum(axis=0, dtype=np.float64)
    sum_gc = rows_gc.sum(axis=0, dtype=np.float64)
    grads = [None] * len(needs)
    if has_weight and needs[1]:
        grads[1] = (sum_gc * rstd64).astype(xs.dtype)
    if len(affine) > has_weight and needs[-1]:
        grads[-1] = sum_g.astype(xs.dtype)
    if needs[0]:
        # dx = w rstd (g - mean(g) - (x - mean) k), k = rstd^2 mean(g (x - mean)): four
        # in-place passes over the centred input and no work array (PyTorch's order):
        # BatchNorm2d(16) forward + backward on [64, 16, 784] float32 3.24 -> 3.03 ms
        # (torch 2.26 ms; one thread, thread time, medians of 60, alternated).
        w64 = affine[0].astype(np.float64) if has_weight else 1.0
        size = xs.size
        minus_k = _spread((-rstd64 * rstd64 * sum_gc / count).astype(xs.dtype), length, size)
        mean_g = _spread((sum_g / count).astype(xs.dtype), length, size)
        scale = _spread((w64 * rstd64).astype(xs.dtype), length, size)  # (w64: [C] or 1.0)

        def input_grad(start, stop):
            out = _flat(dx[start:stop], scale)
            out *= minus_k
            out += _flat(g[start:stop], scale)
            out -= mean_g
            out *= scale

        _over_blocks(input_grad, batch, channels * length)
        grads[0] = dx_result
    else:
        del dx
        buffers.give(dx_result)
    return tuple(grads)


def _half_stats(mean64, var64, count: int, eps: float, half) -> tuple:
    """The batch statistics as PyTorch's float16 / bfloat16 kernel keeps them (``half``: the
    input's and parameters' dtype; ``x`` itself comes in as float32): the mean and the sum of
    squares rounded to ``half``, the variance their ``half`` quotient by ``half(count)`` and
    1/sqrt(var + eps) rounded to ``half``. Returns the mean (float64 ``[C]`` and float32
    ``[C, 1]``) and rstd (float64 ``[C]``), each holding ``half`` values."""
    mean_h = mean64.astype(np.float32).astype(half)
    if half != np.float16:  # (float16's kernel keeps the float32 variance: measured)
        var64 = ((var64 * count).astype(np.float32).astype(half)
                 / np.asarray(count, np.float32).astype(half)).astype(np.float64)
    rstd_h = (1.0 / np.sqrt(var64 + eps)).astype(np.float32).astype(half)
    return (mean_h.astype(np.float64), mean_h.astype(np.float32)[:, None],
            rstd_h.astype(np.float64))


def _half_update(stats, mean64, var_sum64, count: int, half) -> None:
    """PyTorch's float16 / bfloat16 update of running statistics of the input's dtype, each
    step rounded to it: mean = m mean + (1 - m) running (m = half(momentum)); var = float(m)
    half(var_sum / half(count - 1)) + half((1 - m) running), rounded."""
    factor = stats.momentum
    if stats.count is not None:
        count_array = stats.count._data
        count_array[...] += 1
        if factor is None:
            factor = 1.0 / float(count_array)
    if half == np.float16:  # (float16's kernel: in float32, each result rounded once)
        m = np.float32(0.0 if factor is None else factor)
        for running, value in ((stats.mean, mean64), (stats.var, var_sum64 / (count - 1))):
            if running is not None:
                array = running._data
                array[...] = (m * value.astype(np.float32)
                              + (np.float32(1) - m) * array.astype(np.float32)).astype(half)
        return
    mean64 = mean64.astype(np.float32).astype(half)
    m = np.asarray(0.0 if factor is None else factor, np.float32).astype(half)
    keep = np.asarray(1, half) - m
    if stats.mean is not None:
        array = stats.mean._data
        array[...] = m * mean64 + keep * array
    if stats.var is not None:
        array = stats.var._data
        unbiased = var_sum64.astype(np.float32).astype(half) / np.asarray(
            count - 1, np.float32).astype(half)
        array[...] = (np.float32(m) * unbiased.astype(np.float32)
                      + (keep * array).astype(np.float32)).astype(half)


# Not in the registry (its tests are the batch norm tests against PyTorch); named as the
# autograd.Function it was. Its rule reads the input and the weight (the first of the affine
# inputs), as PyTorch's saves them (the in-place checks), never the bias (only its size: `b =
# p * 1; y = batch_norm(.., b); b.add_(1)` backwards in PyTorch) nor the output
# (BatchNorm2d -> ReLU(inplace=True)). (Without a weight the bias counts as read: rare.)
_BATCH_NORM_TRAIN = Op("_BatchNormTrain", _batch_norm_train_forward, _batch_norm_train_vjp,
                       lambda rng: [], True, True)
versions._reads_of[_BATCH_NORM_TRAIN] = (False, (True, True), False)


def _batch_norm_backward_recorded(x, affine, has_weight, grad, eps, needs) -> tuple:
    """``_BatchNormTrain``'s gradients written with deltagrad ops (double backward)."""
    dims = (0,) + tuple(range(2, x.ndim))  # ([N, C] or [N, C, L])
    mean = x.mean(dim=dims, keepdim=True)
    centred = x - mean
    rstd = ((centred * centred).mean(dim=dims, keepdim=True) + eps).rsqrt()
    xhat = centred * rstd
    grads = [None] * len(needs)
    if has_weight and needs[1]:
        grads[1] = (grad * xhat).sum(dim=dims)
    if len(affine) > has_weight and needs[-1]:
        grads[-1] = grad.sum(dim=dims)
    if needs[0]:
        per_channel = (1, -1) + (1,) * (x.ndim - 2)
        scaled = grad * affine[0].reshape(per_channel) if has_weight else grad
        grads[0] = rstd * (scaled - scaled.mean(dim=dims, keepdim=True)
                           - xhat * (scaled * xhat).mean(dim=dims, keepdim=True))
    return tuple(grads)


def _eval_stats(stats, dtype, eps: float) -> tuple:
    """The running mean and rstd = 1 / sqrt(running_var + eps), in ``dtype`` (PyTorch's eval
    kernel computes them in the input's dtype): the forward's, and its rule's when it cannot
    read the forward's."""
    mean = stats[0]._data.astype(dtype)
    rstd = np.asarray(1, dtype) / np.sqrt(stats[1]._data.astype(dtype) + np.asarray(eps, dtype))
    return mean, rstd


def _batch_norm_eval_forward(x, *affine, has_weight, eps, stats, slot):
    # Evaluation-mode batch normalization of ``[N, C, *]`` by the running statistics
    # (``stats``: the two tensors, read here so that replays read their values then) as one
    # node, PyTorch's NativeBatchNormBackward0 (the composite's four nodes put sub / mul /
    # add nodes between a convolution and its batch norm in torch_pruning's graph walk).
    # PyTorch's eval kernel: y = x alpha + beta, alpha = w / sqrt(var + eps), beta = b -
    # mean alpha, all in the input's dtype.
    mean, rstd = _eval_stats(stats, x.dtype, eps)
    alpha = rstd * affine[0] if has_weight else rstd
    beta = -mean * alpha
    if len(affine) > has_weight:
        beta = affine[-1] + beta
    per_channel = (-1,) + (1,) * (x.ndim - 2)
    if x.ndim > 2 and x.size >= _ROWS_FROM and x.flags.c_contiguous:
        # (over [N, C L] rows, _spread's: W9's CNN at batch 32 under no_grad, its three
        # BatchNorm2d 232 -> 137 us; the same bits)
        length = x.size // (x.shape[0] * x.shape[1])
        rows = x.reshape(x.shape[0], x.size // x.shape[0])
        out = np.multiply(rows, _spread(alpha, length, x.size))
        out += _spread(beta, length, x.size)
        out = out.reshape(x.shape)
    else:
        out = np.multiply(x, alpha.reshape(per_channel))
        out += beta.reshape(per_channel)
    slot.value = (x, mean, rstd)
    return out


def _batch_norm_eval_vjp(F, g, out, x, *affine, has_weight, eps, stats, slot, needs):
    saved = slot.value
    if F is not ARRAY or saved is None or saved[0] is not x:
        # (a recorded backward, or a run on other arrays: the statistics as the forward
        # reads them)
        mean, rstd = _eval_stats(stats, (x._data if F is not ARRAY else x).dtype, eps)
    else:
        mean, rstd = saved[1:]
    per_channel = (-1,) + (1,) * (np.ndim(x) - 2)
    dims = (0,) + tuple(range(2, np.ndim(x)))
    grads = [None] * len(needs)
    if F is not ARRAY:  # create_graph: differentiable ops only
        from .._engine.api.creation import from_numpy

        rstd_t = from_numpy(rstd.reshape(per_channel))
        if needs[0]:
            grads[0] = g * (affine[0].reshape(per_channel) * rstd_t if has_weight else rstd_t)
        if has_weight and needs[1]:
            grads[1] = (g * ((x - from_numpy(mean.reshape(per_channel))) * rstd_t)).sum(dim=dims)
        if len(affine) > has_weight and needs[-1]:
            grads[-1] = g.sum(dim=dims)
        return tuple(grads)
    if needs[0]:
        alpha = rstd * affine[0] if has_weight else rstd
        grads[0] = np.multiply(g, alpha.reshape(per_channel))
    if has_weight and needs[1]:
        centred = np.subtract(x, mean.reshape(per_channel))
        centred *= g
        grads[1] = (centred.sum(axis=dims, dtype=np.float64) * rstd).astype(x.dtype)
    if len(affine) > has_weight and needs[-1]:
        grads[-1] = g.sum(axis=dims, dtype=np.float64).astype(x.dtype)
    return tuple(grads)


# Not in the registry, as _BatchNormTrain (its tests: the batch norm tests against PyTorch).
# Its rule reads the input (the weight's gradient) and the weight (the input's).
_BATCH_NORM_EVAL = Op("_BatchNormEval", _batch_norm_eval_forward, _batch_norm_eval_vjp,
                      lambda rng: [], True, True)
versions._reads_of[_BATCH_NORM_EVAL] = (False, (True, True), False)
