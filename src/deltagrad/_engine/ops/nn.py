"""Fused neural-network primitives (linear, dropout, softmax cross-entropy), registered like
``_ops``'s.

Cross-entropy is the last op of every classifier and runs once per training step on the whole
batch of logits. Written from primitives it is log_softmax, a product with the target
distribution and a sum: three graph nodes, each with its own pass over the logits forward and
backward. Fused, it is one node whose backward is a single expression, ``p * sum(a) - a``.

The affine map ``x @ w.T + b`` of every Linear layer is fused for a similar reason. Written as
matmul(x, transpose(w)) + b it makes an extra output array for the sum, and the weight's gradient
comes back through the transpose as a transposed (column-major) view, which the optimizer then
walks with strided access: on a 1024 x 1024 weight that made an SGD step 50 times slower than on
a contiguous array. Fused, the weight gradient is ``g.T @ x``, computed directly in the
weight's own row-major layout, and the bias is added in place into the fresh product.

It imports NumPy, the registry and the engine's buffers.
"""

from __future__ import annotations

import math

import numpy as np

from .. import threads
from ..buffers import MIN_BYTES, empty, give
from ..versions import CHANGED_INPUT
from .elementwise import ERR_STATE, IGNORE_ALL
from .registry import ARRAY, Sample, _float, _reduce_keepdims, register

__all__ = ["CROSS_ENTROPY_INDEX", "DROPOUT", "GRU_CELL", "LINEAR", "SOFTMAX_CROSS_ENTROPY",
           "Scratch"]


def _stable_shift(x, dim):
    """The per-slice maximum along ``dim`` (0 where it is not finite), to subtract before exp."""
    m = _reduce_keepdims(np.maximum, x, dim)
    # NOTE: a slice that is all -inf (or holds +inf) is not shifted, so it gives -inf / nan as
    # log_softmax does, instead of inf - inf. All maxima are finite when their sum is (one
    # reduction; a sum that overflows takes the masked path, which then changes nothing).
    if math.isfinite(np.add.reduce(m, axis=None)):
        return m
    return np.where(np.isfinite(m), m, 0.0).astype(x.dtype, copy=False)


def _log_softmax_parts(x, dim):
    """x - max, its exponentials and their sums along ``dim`` (keepdims), and log-softmax;
    nan in a slice whose maximum is not finite (+inf, or all -inf), as PyTorch's."""
    small = x.size < 64 * x.shape[dim]  # (what _reduce_keepdims does then, 0.3 us sooner)
    m = np.maximum.reduce(x, axis=dim, keepdims=True) if small else (
        _reduce_keepdims(np.maximum, x, dim))
    if not math.isfinite(np.add.reduce(m, axis=None)):
        with np.errstate(invalid="ignore"):  # (inf - inf)
            shifted = x - m
    else:
        shifted = x - m
    e = np.exp(shifted)
    z = np.add.reduce(e, axis=dim, keepdims=True) if small else (
        _reduce_keepdims(np.add, e, dim))
    return e, z, shifted - np.log(z)


def _softmax_cross_entropy_forward(x, a, *, dim, reduction, gather=True, scratch=None):
    # loss = -sum_c a_c * log_softmax(x)_c along dim; then summed over everything ("sum") or
    # kept per slice ("none"). ``a`` is the target distribution already multiplied by class
    # weights and divided by the mean's denominator, so this one op covers every option of
    # cross_entropy.
    x = _float(x)
    e, z, log_p = _log_softmax_parts(x, dim)
    if reduction == "sum" and a.dtype == log_p.dtype and a.shape == log_p.shape:
        # One dot product: 2 NumPy calls fewer than the products and their sum (and BLAS
        # gives nan for 0 * -inf without a warning).
        loss = -np.vdot(a, log_p)
    else:
        with np.errstate(invalid="ignore"):  # 0 * -inf for a masked class: see below
            loss = -np.add.reduce(a * log_p, axis=None if reduction == "sum" else dim)
    if gather and not math.isfinite(np.add.reduce(loss, axis=None)) and np.isnan(loss).any():
        # NOTE: with class-index targets (``gather``) a class with target weight 0 contributes 0
        # even where its logit is -inf (a masked class), as PyTorch's gather-based loss; only
        # then is the masked sum needed. (With probabilities PyTorch's sum of products gives
        # nan there, and so does this.)
        with np.errstate(invalid="ignore"):
            terms = np.where(a == 0, 0.0, a * log_p)
        loss = -np.sum(terms, axis=None if reduction == "sum" else dim)
    if scratch is not None:
        scratch.value = (x, a, e, z, log_p)
    return np.asarray(loss, dtype=x.dtype)


def _scratch_parts(F, scratch, x, other):
    """The forward's parts that ``scratch`` holds for this call (None when empty or computed
    from other arrays than ``x`` and ``other``: see Scratch), emptied; and cross_entropy's
    in-place check of its logits, which versions._SCRATCH_READS leaves to the rule: changed
    after the forward, they may not be read here (double backward, or no parts kept)."""
    saved = None
    if scratch is not None:
        saved, scratch.value = scratch.value, None
        if saved is not None and (saved[0] is not F.data(x) or saved[1] is not other):
            saved = None
    changed = CHANGED_INPUT[0]
    if changed is not None:
        CHANGED_INPUT[0] = None
        if changed() is F.data(x) and (F is not ARRAY or saved is None):
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by "
                f"an inplace operation: the logits {list(F.data(x).shape)} of cross_entropy; "
                "its double backward reads them: clone() them before the in-place change")
    return saved


def _softmax_cross_entropy_vjp(F, g, out, x, a, *, dim, reduction, needs, gather=True,
                               scratch=None):
    # d loss / d x = p * sum_c(a) - a, with p = softmax(x);  d loss / d a = -log_softmax(x).
    saved = _scratch_parts(F, scratch, x, F.data(a))
    if reduction == "none":
        g = F.reshape(g, x.shape[:dim] + (1,) + x.shape[dim + 1:])
    if F is ARRAY:  # first order, from the forward's parts when it left them
        e, z, log_p = saved[2:] if saved is not None else _log_softmax_parts(_float(x), dim)
        gx = ga = None
        if needs[0]:
            gx = e / z
            a_total = _reduce_keepdims(np.add, a, dim)
            gx *= a_total
            gx -= a
            gx *= g
            if gather and not (math.isfinite(g) if g.ndim == 0 else np.isfinite(g).all()):
                # A nan / inf gradient: an ignored row (no target mass) still takes 0, as
                # PyTorch's nll_loss skips it (s18 SL3).
                gx = np.where(a_total == 0, 0.0, gx).astype(gx.dtype, copy=False)
        if needs[1]:  # (a Python number for a 0-d g: takes log_p's dtype, 0.4 us less)
            ga = log_p * (-float(g) if g.ndim == 0 else -g)
        return gx, ga
    shifted = x - F.const(_stable_shift(F.data(x), dim))
    e = F.exp(shifted)
    z, a_sum = F.sum(e, dim, True), F.sum(a, dim, True)
    gx = g * (e / z * a_sum - a) if needs[0] else None
    ga = -g * (shifted - F.log(z)) if needs[1] else None
    return gx, ga


def _softmax_cross_entropy_samples(rng):
    out = []
    for shape, dim in (((5,), 0), ((3, 4), 1), ((2, 3, 4), 1)):
        for reduction in ("sum", "none"):
            out.append(Sample((rng.standard_normal(shape) * 2.0, rng.uniform(0.0, 1.0, shape)),
                              {"dim": dim, "reduction": reduction}))
    one_hot = np.eye(4)[[1, 3, 0]] * np.array([[0.5], [1.5], [0.0]])  # weighted, one ignored
    out.append(Sample((rng.standard_normal((3, 4)), one_hot), {"dim": 1, "reduction": "sum"},
                      "class-index targets"))
    return out


SOFTMAX_CROSS_ENTROPY = register(
    "softmax_cross_entropy",
    forward=_softmax_cross_entropy_forward,
    vjp=_softmax_cross_entropy_vjp,
    samples=_softmax_cross_entropy_samples,
    wants_needs=True,
)


# --------------------------------------------------------------------------------------------
# Cross-entropy with class-index targets, the common case: logits x [N, C], targets t [N]
# (an integer input, not differentiated). Only the target's log-probability is needed,
# loss_i = logsumexp(x_i) - x_i[t_i], so no [N, C] target distribution is built; and since the
# targets are an input rather than a constant folded into one, capture_step can replay it.
# Entries equal to ignore_index count for nothing; "mean" divides by the number of the others
# (0 / 0 = nan when all are ignored, as in PyTorch).


def _row_weights(valid, reduction, n, dtype):
    """Each row's weight in the loss: 1 (sum, none) or 1/count (mean), 0 where ignored; a
    scalar when no row is ignored (``valid`` None)."""
    if reduction == "mean":
        count = n if valid is None else int(np.count_nonzero(valid))
        if count:
            scale = dtype.type(1.0) / dtype.type(count)
        else:
            scale = dtype.type(np.inf)  # 1 / 0, weighing only rows that count (none)
    else:
        scale = dtype.type(1.0)
    # NOTE: ignored rows weigh exactly 0, so with every row ignored the loss is nan (0 / 0)
    # but the gradient is 0, as in PyTorch.
    return scale if valid is None else np.where(valid, scale, dtype.type(0.0))


def _counted_targets(t, ignore_index):
    """The mask of rows that count (None when all do, the common case), and the targets with
    ignored rows pointed at class 0 so that they can index. A negative target that is not
    ``ignore_index`` raises IndexError (one too large fails where it indexes)."""
    if not t.size:
        return None, t
    low = np.minimum.reduce(t, axis=None)
    if low >= 0:
        if ignore_index < 0:
            # The default ignore_index (-100) and targets that are all class indices: no row
            # is ignored, known from one reduction (a mask and its test: 1 us more).
            return None, t
        valid = t != ignore_index
        if np.logical_and.reduce(valid, axis=None):  # (the ufunc's: .all() adds 1 us)
            return None, t
        return valid, np.where(valid, t, 0)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    if np.minimum.reduce(safe, axis=None) < 0:
        raise IndexError(f"target {safe[safe < 0][0]} is out of bounds")
    return valid, safe


_ROWS: dict[int, np.ndarray] = {}


def _rows(n):
    """``arange(n)``, cached per batch size (read-only; making it costs 0.3 us a call)."""
    rows = _ROWS.get(n)
    if rows is None:
        if len(_ROWS) >= 64:
            _ROWS.clear()
        rows = _ROWS[n] = np.arange(n)
        rows.flags.writeable = False
    return rows


def _exp_shifted(x, m):
    """exp(x - m) in a recycled work array when large (a fresh one of W5's [700, 10000] logits
    costs a page fault per 4 KB: sub + exp 21.5 -> 10.6 ms)."""
    if x.nbytes < MIN_BYTES:  # (small: NumPy's allocator is as fast; no pool lookup)
        e = x - m
    else:
        e = np.subtract(x, m, out=empty(x.shape, x.dtype))
    return np.exp(e, out=e)


class Scratch:
    """A slot on a node that the op's forward fills for its own rule.

    cross_entropy_index's forward computes exp(x - max) and its row sums, which its rule needs
    again: kept here (as PyTorch keeps log_softmax's output), the rule makes no pass of its own
    over the logits for them, and the same values come out (W5's [700, 10000] logits: the rule
    15.7 -> 2.9 ms, one thread). The rule empties the slot (the array becomes the gradient), so
    a second backward (retain_graph) computes them again; without a slot (``scratch=None``)
    the rule always does. The slot also names the very arrays it was computed from, and the
    rule uses it only for those: a tool that runs the forward again on other arrays
    (check_graph, in float64) leaves nothing the rule would take.
    """

    __slots__ = ("value",)

    def __init__(self):
        self.value = None

    def __repr__(self) -> str:
        return "Scratch()"

    # Slots compare equal whatever they hold: an attribute with no static value (so that a
    # recording of the same step, as capture_step makes, sees the same attributes).
    def __eq__(self, other) -> bool:
        return type(other) is Scratch

    def __hash__(self) -> int:
        return hash(Scratch)


# exp(x) stays finite for x below these: the shifted logits are clipped there (see below).
_EXP_CLIP = {np.dtype(np.float16): 10.0, np.dtype(np.float32): 80.0,
             np.dtype(np.float64): 700.0}


# Large logits over more than 256 classes (a language model's vocabulary) go by blocks of rows
# (threads.split_rows), across the intra-op threads when there are several; each row's bits
# are those of one NumPy row sum either way (the same bits blocked or not, at any thread
# count; shorter rows' sums are BLAS's, whose bits change with its split). Forward + rule,
# float32, medians of 15 alternated rounds (/tmp benches of the two functions): W5's
# [700, 10000] (28 MB) blocked on one thread 0.91x of unblocked (passes in cache; 9.7 -> 8.9
# ms), on two threads 0.70x of one (6.2 against 8.9 ms, a core free; HEAD's: 9.8 at either
# count). Smaller ones lost: one thread [40, 10000] 1.06x, [140, 1000] 1.07x, [128, 8192]
# 0.98x, [256, 10000] (10 MB) 0.87x; two threads against HEAD [32, 10000] 1.27x, [300, 1000]
# 1.19x, [64, 4096] 1.15x. So from 8 MB only, at any thread count.
_ROW_BLOCKS_MIN = 1 << 23  # bytes
# From here on cross_entropy_index skips its clip when no row is ignored (_cross_entropy_rows).
# Below it the errstate costs what the minimum saves. Forward + rule, float32, new / old
# (thread time, 11-15 alternated rounds): [700, 10000] 8.63 -> 6.47 ms (0.75), [256, 10000]
# 0.74, [64, 4096] 0.75, [128, 1000] 0.77, [1024, 65] 0.80, [32, 512] 0.86, [64, 128] 0.94,
# [32, 128] 0.96, [16, 64] 1.00, [8, 16] 1.02.
_CE_NO_CLIP_BYTES = 1 << 13


def _by_row_blocks(x):
    return x.nbytes >= _ROW_BLOCKS_MIN and x.shape[1] > 256


def _exp_rows(x, shift, clip, e, sums):
    np.subtract(x, shift, out=e)
    if clip is None:  # (no clip: see _cross_entropy_rows)
        with np.errstate(over="ignore"):
            np.exp(e, out=e)
            np.add.reduce(e, axis=1, out=sums)
        return
    np.minimum(e, clip, out=e)
    np.exp(e, out=e)
    np.add.reduce(e, axis=1, out=sums)


def _exp_row_sums(e, clip):
    """exp(min(e, clip)) in place and its row sums; without the clip (None) overflow is
    silent (see _cross_entropy_rows)."""
    if clip is None:
        with np.errstate(over="ignore"):
            return _exp_row_sums(e, np.inf)
    if clip != np.inf:
        np.minimum(e, clip, out=e)
    np.exp(e, out=e)
    return np.add.reduce(e, axis=1) if e.size < 64 * e.shape[1] else (
        _reduce_keepdims(np.add, e, 1)[:, 0])


def _cross_entropy_rows(x, rows, safe, valid):
    """The row losses [N] (0 where ignored) and their sum, exp(x - shift) and its row sums
    [N], and whether the shift is the target's logit.

    NOTE: each row is shifted by its target's logit rather than its maximum, so that the loss
    is the log of the sum alone, loss_i = log(sum_j exp(x_ij - x_it)), the sum is at least 1
    (the target's own term, exactly exp(0)) and cannot underflow, and the gradient at the
    target is (1 - sum) / sum (see the rule). That holds while the targets' logits are finite
    and no shifted logit exceeds exp's range: they are clipped below it (less log(C), so that
    a sum cannot overflow either; no overflow warning), and where a loss shows that one may
    have been (a loss near 80 in float32), or is not finite, the rows are shifted by their
    maxima, PyTorch's way: a row whose maximum is not finite (+inf, or all -inf) then gives
    nan, as PyTorch's log_softmax. (Four NumPy calls fewer than the maxima's way; with the
    cached rows and the one-reduction target test, forward + rule on [4, 3] logits: 18.5 ->
    12.2 us, thread time.)
    """
    clip = _EXP_CLIP.get(x.dtype)
    shift = x[rows, safe][:, None]
    if clip is not None and math.isfinite(np.add.reduce(shift, axis=None)):
        clip -= math.log(x.shape[1])
        # NOTE: with every row counted (valid None) and large logits, the clip is skipped (its
        # np.minimum pass is the slowest of the four: W5's [700, 10000] 2.2 of ~6.9 ms): an
        # element past the clip makes its row's sum at least ~exp(clip) either way, so its loss
        # fails the test below and the maxima's way runs; below the clip, the minimum changed
        # nothing (nan stays nan). Only an ignored row (whose loss is not tested) needs its
        # exponentials finite for the rule's 0 weight, so there the clip stays. Same bits;
        # overflow in exp is silenced as the clip silenced it (timings at _CE_NO_CLIP_BYTES).
        no_clip = valid is None and x.nbytes >= _CE_NO_CLIP_BYTES
        if _by_row_blocks(x):
            e, sums = empty(x.shape, x.dtype), np.empty(x.shape[0], x.dtype)
            row_clip = None if no_clip else clip
            threads.split_rows(lambda k: _exp_rows(x[k], shift[k], row_clip, e[k], sums[k]), x)
        else:
            if x.nbytes < MIN_BYTES:  # (see _exp_shifted)
                e = x - shift
            else:
                e = np.subtract(x, shift, out=empty(x.shape, x.dtype))
            sums = _exp_row_sums(e, None if no_clip else clip)
        losses = np.log(sums)
        # Not a product with valid: an ignored row of nan / inf logits has loss 0 in PyTorch
        # (its gradient stays 0 * nan = nan there too, as the rule's product gives).
        if valid is not None:
            losses[~valid] = 0.0
        total = np.add.reduce(losses)
        # Every loss is at least 0, so their sum bounds each (and is nan if one is).
        if total < clip - 1.0 or np.maximum.reduce(losses) < clip - 1.0:  # (False for nan)
            return losses, total, e, sums, True
    with np.errstate(invalid="ignore"):  # (inf - inf: nan, as PyTorch's)
        m = _reduce_keepdims(np.maximum, x, 1)
        e = _exp_shifted(x, m)
        sums = _reduce_keepdims(np.add, e, 1)[:, 0]
        # loss_i = log(sum(exp(x_i - m_i))) - (x_i[t_i] - m_i)
        losses = np.log(sums)
        losses -= shift[:, 0] - m[:, 0]
        if valid is not None:
            losses[~valid] = 0.0
    return losses, np.add.reduce(losses), e, sums, False


# Small logits (up to _SMALL_ROWS rows and _SMALL_ROWS_SIZE values, the op table's [4, 3]) go
# through Python floats: each NumPy call costs 0.3-1.2 us whatever the size, and the rows'
# losses and softmax take about 20 calls forward and rule. Forward + rule, float32, thread
# time, medians of 25 x 100 calls, arrays -> Python: [4, 3] 13.5 -> 10.1 us, two of its rows
# ignored (ignore_index=-1) 21.3 -> 6.5, [4, 8] 13.7 -> 12.3, [6, 3] 14.1 -> 12.8; past the
# limits Python lost ([8, 3] 16.2, [4, 16] 16.3, [1, 64] 12.5 against ~13.7 us).
# The values are computed in float64 (each row shifted by its maximum) and rounded once to the
# logits' dtype. Only finite logits and targets that are classes or ignore_index take it (the
# rest, and every error, is the array path's); the rule takes it exactly where the forward did
# (the choice depends on the inputs alone), so a second backward and capture_step's replays
# give the forward's bits.
_SMALL_ROWS, _SMALL_ROWS_SIZE = 6, 32


def _small_rows(x, t, ignore_index):
    """(losses, exps, sums, counted) as Python lists for small float32/float64 logits [N, C]
    and targets [N], or None where the array path must run (see above)."""
    if type(x) is not np.ndarray or type(t) is not np.ndarray:  # (meta arrays have no values)
        return None
    if x.ndim != 2 or x.size > _SMALL_ROWS_SIZE or x.shape[0] > _SMALL_ROWS or not x.size or (
            x.dtype.char not in "fd" or t.shape != x.shape[:1] or t.dtype.kind not in "iu"):
        return None
    classes = x.shape[1]
    losses, exps, sums, counted = [], [], [], []
    for row, k in zip(x.tolist(), t.tolist()):
        if not math.isfinite(sum(row)):  # (nan or inf anywhere; ignored rows too)
            return None
        if k == ignore_index:
            losses.append(0.0)
            exps.append(None)
            sums.append(1.0)
            counted.append(False)
            continue
        if not 0 <= k < classes:
            return None
        top = max(row)
        e = [math.exp(v - top) for v in row]
        total = sum(e)
        losses.append(math.log(total) - (row[k] - top))
        exps.append(e)
        sums.append(total)
        counted.append(True)
    return losses, exps, sums, counted


def _small_rows_forward(x, small, reduction):
    losses, counted = small[0], small[3]
    if reduction == "none":
        return np.array(losses, dtype=x.dtype)
    if reduction == "sum":
        return x.dtype.type(sum(losses))
    count = sum(counted)
    return x.dtype.type(sum(losses) / count if count else np.nan)  # (none counted: nan)


def _small_rows_vjp(g, x, t, small, reduction):
    _, exps, sums, counted = small
    if reduction == "none":
        weights = np.ravel(g).tolist()
    else:
        count = sum(counted) if reduction == "mean" else 1
        weights = [float(g) / count if count else 0.0] * len(sums)
    zeros = [0.0] * x.shape[1]
    rows = []
    for e, total, k, weight, used in zip(exps, sums, t.tolist(), weights, counted):
        if not used:
            rows.append(zeros)
            continue
        # w (softmax - onehot): exp(x - max) w / sum, less w at the target.
        scale = weight / total
        row = [v * scale for v in e]
        row[k] -= weight
        rows.append(row)
    return np.array(rows, dtype=x.dtype)


def _cross_entropy_index_forward(x, t, *, ignore_index, reduction, scratch=None):
    x_in, x = x, _float(x)
    small = _small_rows(x, t, ignore_index)
    if small is not None:
        if scratch is not None:
            scratch.value = (x_in, t, None, small)
        return _small_rows_forward(x, small, reduction)
    valid, safe = _counted_targets(t, ignore_index)
    losses, total, e, sums, by_target = _cross_entropy_rows(x, _rows(t.shape[0]), safe, valid)
    if scratch is not None:
        scratch.value = (x_in, t, e, sums, by_target, valid, safe)
    elif e.nbytes >= MIN_BYTES:
        give(e)  # (the only reference: the work array is recycled by the backward)
    del e
    if reduction == "none":
        return losses
    if reduction == "sum":
        return total
    count = t.shape[0] if valid is None else int(np.count_nonzero(valid))
    if count:
        return total / count  # (a Python int takes the sum's dtype)
    return x.dtype.type(np.nan)  # every row ignored: 0 / 0, as PyTorch


def _cross_entropy_index_vjp(F, g, out, x, t, *, ignore_index, reduction, scratch=None,
                             needs=None):
    # d loss_i / d x_i = w_i (softmax(x_i) - onehot(t_i)), w_i the row's weight in the loss.
    # (The targets take no gradient, so the node's logits always want one: ``needs`` is not
    # asked for, and the engine calls the rule directly, 0.3 us less.)
    t = F.data(t)
    n = t.shape[0]
    saved = _scratch_parts(F, scratch, x, t)
    if F is ARRAY:
        small = saved[3] if saved is not None and saved[2] is None else (
            None if saved is not None else _small_rows(_float(x), t, ignore_index))
        if small is not None:
            return _small_rows_vjp(g, _float(x), t, small, reduction), None
    rows = _rows(n)
    if F is ARRAY:  # first order: softmax, minus 1 at the targets, scaled, all in place
        if saved is not None:  # the forward's exponentials and sums (see Scratch)
            p, sums, by_target, valid, safe = saved[2:]
        else:
            valid, safe = _counted_targets(t, ignore_index)
            _, _, p, sums, by_target = _cross_entropy_rows(_float(x), rows, safe, valid)
        if by_target:
            # exp(x_it - x_it) = 1 exactly: softmax - 1 at the target is (1 - sum) / sum.
            p[rows, safe] = 1.0 - sums
        else:
            p[rows, safe] -= sums
        # The row's weight (1 or 1 / count; 0 where ignored) times g, over the row's sum.
        # (A Python number takes the sums' dtype.)
        if g.ndim:  # ("none": g is [N])
            scale = g / sums if valid is None else np.multiply(g, valid) / sums
        else:
            count = n if valid is None or reduction != "mean" else np.count_nonzero(valid)
            if count:
                scale = (float(g) / count if reduction == "mean" else float(g)) / sums
                if valid is not None:
                    scale *= valid
            else:
                # NOTE: ignored rows weigh exactly 0, so with every row ignored the loss is nan
                # (0 / 0) but the gradient is 0, as in PyTorch.
                scale = np.zeros_like(sums)
        if _by_row_blocks(p):  # (see _by_row_blocks)
            threads.split_rows(lambda k: np.multiply(p[k], scale[k, None], out=p[k]), p)
        else:
            p *= scale[:, None]
        return p, None
    valid, safe = _counted_targets(t, ignore_index)
    dtype = F.data(x).dtype
    weights = _row_weights(valid, reduction, n, dtype)
    if valid is not None:
        weights = weights[:, None]
    if reduction == "none":
        g = F.reshape(g, (n, 1))
    onehot = np.zeros(x.shape, dtype)
    onehot[rows, safe] = 1.0
    e = F.exp(x - F.const(_stable_shift(F.data(x), 1)))
    p = e / F.sum(e, 1, True)
    return (p - F.const(onehot)) * F.const(np.asarray(weights, dtype)) * g, None


def _cross_entropy_index_samples(rng):
    x = rng.standard_normal((4, 3)) * 2.0
    return [Sample((x, np.array([2, 0, 1, 2])), {"ignore_index": -100, "reduction": r},
                   f"reduction {r}") for r in ("mean", "sum", "none")] + [
        Sample((x, np.array([2, -1, 1, -1])), {"ignore_index": -1, "reduction": "mean"},
               "two rows ignored")]


CROSS_ENTROPY_INDEX = register(
    "cross_entropy_index",
    forward=_cross_entropy_index_forward,
    vjp=_cross_entropy_index_vjp,
    samples=_cross_entropy_index_samples,
)


# --------------------------------------------------------------------------------------------
# Linear: y = x @ w.T (+ b), x [*, in], w [out, in], b [out]. The bias is optional: the op takes
# two or three inputs.


def _linear_forward(x, w, *bias):
    if x.ndim > 2:
        # NOTE: one GEMM over the flattened batch dims: NumPy's matmul of a 3-D x by a 2-D w
        # loops over x's leading dim (one small GEMM each, 3-D [32, 32, 64] @ [64, 256]: 0.51
        # against 0.27 ms flattened; W4, benchmarks/ab.py).
        rows = math.prod(x.shape[:-1])
        return _linear_forward(x.reshape(rows, x.shape[-1]), w, *bias).reshape(
            x.shape[:-1] + (w.shape[0],))
    if x.ndim == 2:  # (blocks under BLAS's threading size, on the intra-op threads)
        out = threads.matmul_serial(x, w.T, np.empty((x.shape[0], w.shape[0]),
                                                      np.result_type(x, w)))
    else:
        out = np.matmul(x, w.T)
    if bias:
        # The product is a fresh array, so the bias can be added into it in place. Callers
        # (nn.functional.linear) use this op only when all inputs have one float dtype and the
        # bias is [out], so this neither changes the dtype nor broadcasts ``out`` itself.
        out += bias[0]
    return out


def _linear_vjp(F, g, out, x, w, *bias, needs):
    token = ERR_STATE.set(IGNORE_ALL)  # (an inf gradient times 0 is nan, silently as PyTorch)
    try:
        return _linear_grads(F, g, x, w, bias, needs)
    finally:
        ERR_STATE.reset(token)


def _linear_grads(F, g, x, w, bias, needs):
    # On the first-order path the products are written into recycled buffers (_buffers).
    recycle = F is ARRAY and g.dtype == w.dtype == x.dtype
    gx = gw = None
    rows = math.prod(x.shape[:-1])
    if recycle and g.ndim > 2 and not g.flags.c_contiguous:
        # A gradient that arrives as a view (W4's attention output, read batch-first through
        # transpose(0, 1)) is copied once here rather than by each of the three reshapes
        # below: [32, 32, 64] float32 rule 251 -> 230 us (thread time, medians of 21).
        g = np.ascontiguousarray(g)
    if needs[0]:
        if recycle and x.ndim > 2:  # one GEMM over the flattened batch dims, as the forward
            gx = empty(x.shape, g.dtype)  # (its own array, written through a 2-D view)
            threads.matmul_serial(g.reshape(rows, w.shape[0]), w, gx.reshape(rows, w.shape[1]))
        elif recycle and g.ndim == 2:
            gx = threads.matmul_serial(g, w, empty(x.shape, g.dtype))
        elif recycle:
            gx = np.matmul(g, w, out=empty(x.shape, g.dtype))
        else:
            gx = F.matmul(g, w)
    if needs[1]:
        # Flatten the batch dims: gw = g2.T @ x2 is [out, in], row-major like w itself.
        g2 = F.swapaxes(F.reshape(g, (rows, w.shape[0])), 0, 1)
        x2 = F.reshape(x, (rows, w.shape[1]))
        gw = (threads.matmul_serial(g2, x2, empty(w.shape, g.dtype)) if recycle
              else F.matmul(g2, x2))
    if not bias:
        return gx, gw
    gb = None
    if needs[2]:
        if recycle and g.ndim > 1 and g.dtype.itemsize >= 4 and rows >= 32:
            # The column sums as one product with a vector of ones (BLAS; [1024, 64]: 4 against
            # 25 us for NumPy's reduction over the rows; the last bit may differ). Below 32
            # rows the reduction is cheaper ([3, 5]: 0.6 against 1.2 us).
            gb = np.ones(rows, g.dtype) @ g.reshape(rows, w.shape[0])
        elif recycle and g.ndim == 2:
            gb = np.add.reduce(g, axis=0)
        else:
            gb = F.sum(g, tuple(range(g.ndim - 1))) if g.ndim > 1 else g
    return gx, gw, gb


def _linear_samples(rng):
    out = []
    for x_shape in ((4,), (3, 4), (2, 3, 4)):
        x, w, b = rng.standard_normal(x_shape), rng.standard_normal((5, 4)), rng.standard_normal(5)
        out.append(Sample((x, w, b), note=f"x {x_shape} with bias"))
        out.append(Sample((x, w), note=f"x {x_shape} without bias"))
    return out


LINEAR = register(
    "linear",
    forward=_linear_forward,
    vjp=_linear_vjp,
    samples=_linear_samples,
    wants_needs=True,
)


# --------------------------------------------------------------------------------------------
# Dropout: y = x * keep / (1 - p), with keep a boolean mask (a constant input). As a product
# with a float mask it would make the mask array, and its VJP would also compute the gradient of
# the mask, which nothing needs.


_DROPOUT_SCALES: dict[tuple, np.generic] = {}


def _dropout_scale(dtype, p):
    """PyTorch's factor: 1 / (1 - p) computed in the input's dtype (1 when p == 1: all dropped).
    Cached per dtype and p (0.5 us a call to compute, twice a step)."""
    key = (dtype, p)
    scale = _DROPOUT_SCALES.get(key)
    if scale is None:
        if len(_DROPOUT_SCALES) >= 64:
            _DROPOUT_SCALES.clear()
        kind = np.dtype(dtype)
        # (float16: PyTorch divides in float32 and rounds the quotient to half; 1 - p rounded
        # to half first gave 1.4282 for p = 0.3, PyTorch's noise holds 1.4287)
        wide = np.dtype(np.float32) if kind == np.float16 else kind
        scale = kind.type(wide.type(1.0) / wide.type(1.0 - p)) if p < 1.0 else kind.type(1.0)
        _DROPOUT_SCALES[key] = scale
    return scale


def _times_scaled_mask(x, keep, scale):
    """``x * keep * scale`` as ``x * (keep * scale)``: the mask of 0 and scale made in x's
    dtype, then one product into it. The same numbers (x * 1 is exact, x * 0 keeps x's sign
    and nan, scale > 0), faster than a product with the boolean mask and a scaling: 13.6
    against 18.4 us on W1's [256, 200] float32 (forward and VJP each, alternated); the W1
    sparse step 0.995 of its time (ab.py --workload w1-sparse, 40 rounds)."""
    if keep.ndim and keep.shape == x.shape and keep.dtype == np.bool_:
        mask = np.multiply(keep, scale, dtype=x.dtype)
        return np.multiply(x, mask, out=mask)
    out = np.multiply(x, keep)
    out *= scale  # x * 1 is exact, so this rounds once, as x * mask does
    return out


def _dropout_forward(x, keep, *, p):
    return _times_scaled_mask(x, keep, _dropout_scale(x.dtype, p))


def _dropout_vjp(F, g, out, x, keep, *, p):
    scale = _dropout_scale(x.dtype, p)
    if F is ARRAY and type(g) is np.ndarray and g.shape == keep.shape and g.dtype == x.dtype:
        return _times_scaled_mask(g, keep, scale), None
    return g * F.const(keep) * scale, None


def _dropout_samples(rng):
    keep = rng.uniform(size=(3, 4)) >= 0.3
    return [Sample((rng.standard_normal((3, 4)), keep), {"p": 0.3})]


DROPOUT = register("dropout", forward=_dropout_forward, vjp=_dropout_vjp,
                   samples=_dropout_samples)


# --------------------------------------------------------------------------------------------
# gru_cell: one GRU step after its two products, as one node (PyTorch's CPU cell is one fused
# kernel too). Inputs gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh, [B, 3H] in the gates' order
# r, z, n, and the state h [B, H]:
#   r = sigmoid(gi_r + gh_r), z = sigmoid(gi_z + gh_z), n = tanh(gi_n + r gh_n),
#   h' = n + z (h - n)  (the composed cell's order of operations: the same values).
# Composed it was 14 nodes a step (three chunks of each product, two sums, two sigmoids, a
# product, a sum, tanh, a difference, a product, a sum), each with its engine overhead forward
# and backward on [16, 64] arrays; W8 seq2seq's decoder runs it 10 times a step.


def _gru_gates(F, gi, gh, h):
    """(r, z, n, gh_n) of the step, in F's namespace."""
    size = F.data(h).shape[-1]
    rz = F.op("sigmoid", F.getitem(gi, (Ellipsis, slice(0, 2 * size)))
              + F.getitem(gh, (Ellipsis, slice(0, 2 * size))))
    r = F.getitem(rz, (Ellipsis, slice(0, size)))
    z = F.getitem(rz, (Ellipsis, slice(size, 2 * size)))
    hn = F.getitem(gh, (Ellipsis, slice(2 * size, 3 * size)))
    n = F.op("tanh", F.getitem(gi, (Ellipsis, slice(2 * size, 3 * size))) + r * hn)
    return r, z, n, hn


def _gru_cell_forward(gi, gh, h):
    size = h.shape[-1]
    if gi.shape != gh.shape or gi.shape[-1] != 3 * size or gi.shape[:-1] != h.shape[:-1]:
        raise ValueError(f"gru_cell: gates {gi.shape} and {gh.shape} do not fit the state "
                         f"{h.shape}: expected [*, 3H], [*, 3H] and [*, H]")
    _, z, n, _ = _gru_gates(ARRAY, gi, gh, h)
    return n + z * (h - n)


def _gru_cell_vjp(F, g, out, gi, gh, h):
    # dn = g (1 - z), dz = g (h - n), dh = g z; through tanh dn (1 - n^2) = the n gate of gi
    # (and times r of gh); dr = that times gh_n; the sigmoids' slopes s (1 - s).
    r, z, n, hn = _gru_gates(F, gi, gh, h)
    dh = g * z
    dn = (g - dh) * (1.0 - n * n)
    dr = dn * hn * (r * (1.0 - r))
    dz = g * (h - n) * (z * (1.0 - z))
    return (F.concatenate([dr, dz, dn], -1), F.concatenate([dr, dz, dn * r], -1), dh)


def _gru_cell_samples(rng):
    out = []
    for batch, size in ((2, 2), (3, 1)):
        gi, gh = rng.standard_normal((batch, 3 * size)), rng.standard_normal((batch, 3 * size))
        out.append(Sample((gi, gh, rng.standard_normal((batch, size))),
                          note=f"batch {batch}, hidden {size}"))
    return out


GRU_CELL = register("gru_cell", forward=_gru_cell_forward, vjp=_gru_cell_vjp,
                    samples=_gru_cell_samples)
