"""Loss primitives whose PyTorch values or gradients a composition would not reproduce:
binary cross-entropy (logs clamped at -100, PyTorch's gradient guard) and the CTC loss
(the forward-backward recursions in log space, one node).

It imports NumPy and the registry; arguments are checked by ``nn.functional``.
"""

from __future__ import annotations

import math

import numpy as np

from .ctc_dense import _ctc_dense, _ctc_dense_gradient  # (moved out: session 27, FS1)
from .ctc_scaled import ctc_scaled
from .elementwise_math import ERR_STATE, IGNORE_ALL, Constants
from .reductions import _divide_by_count
from .registry import _EXPAND_COPY_MAX, ARRAY, Sample, _away_from, register

__all__ = ["HUBER", "NLL_LOSS"]

# --------------------------------------------------------------------------------------------
# nll_loss(x, t[, w]): -w[t] x[t] per entry (the log-probability of the target class, picked
# along the class dim, 1 for a [C] input), 0 where t == ignore_index; summed, or summed and
# divided by the counted entries' summed weights ("mean"). One node where the composition
# (gather, reshape, product, sum or the ignored entries' zeros) made three or four, with the
# same NumPy operations in the same order, so the same bits: nll_loss fwd + bwd on [2, 3]
# and [4, 5] 0.80-0.86 of the composition's time (one thread, alternated in one process,
# thread time, s14 SP; the rest is the argument checks and autograd.grad).
# The targets and weights are inputs, so that capture_step replays a step with new targets;
# the weights take no gradient (as PyTorch's, which has none). nn.functional checks the
# arguments, and keeps the composition for a mean over zero weight (nan) and other dtypes.


def _nll_parts(shape, dtype, t, w, ignore_index, reduction):
    """(the flat position in ``shape`` of each entry's target, the entries' coefficients -w[t]
    (over the total weight for "mean"; one 0-d array where every weight is 1), the mask of
    counted entries, None where every entry counts). Flat positions where take_along_axis /
    put_along_axis cost ~5 us each of Python on small inputs."""
    valid = t != ignore_index
    if (counted := np.count_nonzero(valid)) == valid.size:  # (all()'s wrapper: ~0.5 us more)
        # No entry ignored (the usual case): the targets and weights as they are, without the
        # two np.where (the same values): fwd + bwd on OpInfo's samples nll_loss 1.42 -> 1.23
        # x PyTorch's time, cross_entropy 0.72 -> 0.60 (old and new code alternated in one
        # process, 21 rounds, thread time, loaded machine; s16 SP).
        safe, valid = t, None
        if w is None:
            # Every weight 1: each coefficient is -1 (over the count, a float64 sum of ones
            # cast to the dtype: the same number) in one np.full instead of ones, negative,
            # sum and division, the same bits (-1 / n rounded once in the dtype either way):
            # _nll_parts on [4, 3], "mean", 6.4 -> 3.8 us (s16 NL, timeit min of 5). A
            # 0-d array, not np.full of it: the products (x[t] * c, g * c, put's repeated
            # value) are the same numbers, one array fewer. With the methods for np.take /
            # np.put and count_nonzero for all(), the op's forward + VJP on arrays, [4, 3]
            # mean 15.8 -> 10.5 us, none 9.6 -> 6.3, ignored entries 15.1 -> 13.0, weighted
            # 12.9 -> 10.5 (min of 60 alternated rounds); op_overhead.py --ops nll_loss
            # 0.86 / 0.86 -> 0.79 / 0.72 x PyTorch (two runs each, alternated; load 18; s18 SP).
            one = dtype.type(-1.0)
            mean = reduction == "mean" and t.size
            coef = np.array(one / dtype.type(t.size) if mean else one, dtype)
        else:
            w_t = w[t].astype(dtype, copy=False)
    else:
        safe = np.where(valid, t, 0)
        if w is None and counted:
            # Weights 1 and 0: the mask times -1 (over the count, a float64 sum of ones cast
            # to the dtype: the same number, rounded once either way), 0 * -c = -0.0 where
            # the negation of 0 gave it: the same bits in one product instead of astype,
            # negative, sum, cast and division: nll_loss fwd + bwd with ignored entries, [4,
            # 3] mean, 0.96 of its time alone (s23 SP9: op_overhead's case, 30-40 alternated
            # rounds, thread time; 0.83 with nn.functional's list check and the rule's test).
            one = dtype.type(-1.0)
            return (_flat(shape, safe), valid * (one / dtype.type(counted)
                                                 if reduction == "mean" else one), valid)
        w_t = valid.astype(dtype) if w is None else (
            np.where(valid, w[safe], 0).astype(dtype, copy=False))
    if valid is not None or w is not None:
        coef = -w_t
        if reduction == "mean":
            # (np.add.reduce: the sum method's reduction without its Python wrapper)
            coef = coef / np.add.reduce(w_t, None, np.float64).astype(dtype)
    return _flat(shape, safe), coef, valid


def _flat(shape, safe):
    """The flat position in ``shape`` of each entry's target ``safe``."""
    if len(shape) == 1:
        return safe
    # entry (n, r) of [N, C, R] reads n C R + t R + r
    inner = math.prod(shape[2:])
    base = _NLL_BASES.get(shape)
    if base is None:
        base = (np.arange(shape[0], dtype=np.intp)[:, None] * (shape[1] * inner)
                + np.arange(inner, dtype=np.intp)).reshape((shape[0],) + shape[2:])
        if len(_NLL_BASES) >= 256:
            _NLL_BASES.clear()
        _NLL_BASES[shape] = base
    return base + safe if inner == 1 else base + safe * inner


_NLL_BASES: dict = {}


def _nll_forward(x, t, *w, ignore_index, reduction, scratch=None):
    flat, coef, valid = _nll_parts(x.shape, x.dtype, t, w[0] if w else None, ignore_index,
                                   reduction)
    if scratch is not None:  # (for the rule: see _nll_vjp)
        scratch.value = (x.shape, x.dtype, t, w[0] if w else None, flat, coef)
    # (take reads x in C order, whatever its layout; the methods, not np.take / np.put, whose
    # Python wrappers cost 1-2 us a call on these sizes: see _nll_parts' numbers)
    if valid is None:
        loss = x.take(flat) * coef
    else:
        # An ignored entry is +0.0 (PyTorch skips it), also where its input is nan or inf,
        # which a zero coefficient would carry into the loss (s18 SL3); and no NumPy warning
        # for that inf * 0 (log_softmax's -inf at a padded, ignored entry; s18 LX): the
        # product is taken only where counted (also faster than np.where after it: F.nll_loss
        # of [64, 10] with 8 ignored, 19.7 -> 18.6 us, process time, 6 alternated rounds).
        loss = np.zeros(flat.shape, x.dtype)
        np.multiply(x.take(flat), coef, out=loss, where=valid)
    if reduction != "none":
        return np.asarray(np.add.reduce(loss, None))  # (as the sum op)
    return loss


def _nll_vjp(F, g, out, x, t, *w, ignore_index, reduction, scratch=None):
    # d loss / d x = g * coef at each entry's target, 0 elsewhere. (Only x's shape and dtype
    # are read: an in-place change of the log-probabilities after the loss is no error.)
    shape, dtype = F.data(x).shape, F.data(x).dtype
    td, wd = F.data(t), F.data(w[0]) if w else None
    saved = None
    if scratch is not None:
        # The forward's flat positions and coefficients, not computed again (the targets and
        # weights are still version-checked as inputs read here; x's values are not read).
        # Taken only for the very arrays, and x's shape and dtype, they came from (a rerun on
        # other arrays, capture_step's new targets, leaves nothing the rule would take);
        # emptied, so that a retain_graph backward computes them again. (Measured with the
        # nn level's fast path: see the numbers at nn/_functional_losses.py's nll_loss.)
        saved, scratch.value = scratch.value, None
        if saved is not None and (saved[2] is not td or saved[3] is not wd
                                  or saved[1] is not dtype or saved[0] != shape):
            saved = None
    if saved is not None:
        flat, coef = saved[4], saved[5]
    else:
        flat, coef, _ = _nll_parts(shape, dtype, td, wd, ignore_index, reduction)
    rest = (None,) * len(w)
    if F is ARRAY:
        gx = np.zeros(shape, dtype)
        picked = g * coef
        # (a finite sum of squares: every entry finite (BLAS: no overflow warning; one that
        # overflows takes the np.where, the same result); math.isfinite of 0-d g, "mean" /
        # "sum": 0.03 us where np.isfinite(g).all() took 2-6 on a loaded machine)
        if coef.ndim and not math.isfinite(g if g.ndim == 0 else np.vdot(g, g)):
            # An ignored entry takes 0 (PyTorch skips it), also from a nan / inf gradient
            # that its zero coefficient would pass on (s18 SL3).
            picked = np.where(td != ignore_index, picked, dtype.type(0))
        picked += 0  # (added to the zeros, as the gather's rule: -0.0 becomes 0.0)
        gx.put(flat, picked)
        return (gx, None) + rest
    picks = np.zeros(shape, dtype)
    picks.put(flat, coef)
    if reduction == "none":
        dim = 0 if len(shape) == 1 else 1
        g = F.reshape(g, shape[:dim] + (1,) + shape[dim + 1:])
    return (F.const(picks) * g, None) + rest


def _nll_samples(rng):
    x = rng.standard_normal((4, 3))
    return [Sample((x, np.array([2, 0, 1, 2])), {"ignore_index": -100, "reduction": r},
                   f"reduction {r}") for r in ("mean", "sum", "none")] + [
        Sample((x, np.array([2, -1, 1, -1])), {"ignore_index": -1, "reduction": "mean"},
               "two entries ignored"),
        Sample((rng.standard_normal((2, 3, 2)), np.array([[0, 2], [1, 1]])),
               {"ignore_index": -100, "reduction": "none"}, "[N, C, d]"),
        Sample((rng.standard_normal(3), np.array(1)), {"ignore_index": -100,
                                                       "reduction": "sum"}, "[C]")]


NLL_LOSS = register("nll_loss", forward=_nll_forward, vjp=_nll_vjp, samples=_nll_samples)


# --------------------------------------------------------------------------------------------
# huber(d): huber_loss's and smooth_l1_loss's elementwise loss of the difference d = x - y.
# huber: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta); smooth (smooth_l1 with beta
# = delta): 0.5 d^2 / beta, else |d| - 0.5 beta. One node where the composition (abs, two
# wheres, three products, a difference) made eight, with its NumPy operations in its order
# (the same forward bits): fwd + bwd on OpInfo's samples, huber_loss 1.57 -> 0.92 x
# PyTorch, smooth_l1_loss 1.55 -> 1.03 (old and new function alternated in one process, 15
# rounds, thread time, one thread, a loaded machine; s17 SP). nn.functional checks the
# arguments (delta > 0, beta > 0 here) and keeps the composition for other dtypes (bfloat16,
# float16). The input and its target of one dtype come in as they are (the difference taken
# here: one node, as PyTorch's HuberLossBackward0, instead of a subtraction node before it),
# and the rule takes the forward's parts (a Scratch slot): fwd + bwd on [3, 4] float32,
# reduction 'none', huber_loss 28.6 / 27.9 -> 23.5 / 24.0 us, smooth_l1_loss 27.3 / 28.2 ->
# 22.9 / 23.3 us (HEAD's body and this one alternated in one process, 40 rounds, thread time,
# two runs, the same bits; loaded 2-core machine; s19 SP3).


def _huber_parts(d, delta):
    """(|d|, the mask of the linear part, d inside and 0 outside); ``delta`` a Python float or
    the 0-d array of ``_huber_numbers`` (the same comparison: NEP 50)."""
    size = np.abs(d)
    # (not ~(size < delta): a nan difference is inside, whose gradient is nan, as PyTorch's.
    # The mask of the outside, not its negation: each np.where takes its arms the other way
    # round, one NumPy call fewer, the same values)
    outside = size >= delta
    # NOTE: the square of the inside part only (0 outside): an infinite d outside sends its
    # sign back, not 0 * inf = nan.
    return size, outside, np.where(outside, _ZERO_OF(d)[0], d)


_ZERO_OF = Constants(0)


def _huber_forward(x, *target, delta, smooth, reduction="none", scratch=None):
    # (x: the difference d itself, or the input with its target: d = x - target, in this
    # node, as PyTorch's one HuberLossBackward0; nn.functional's same-dtype, same-shape case)
    loss = _huber_elementwise(x, target, delta, smooth, scratch)
    if reduction == "none":
        return loss
    # "sum" / "mean" reduced in the op (nn.functional: float32 / float64, not empty, not 0-d),
    # as the sum and mean ops' forwards reduce (np.add.reduce, then the mean's division by
    # the count), so the same bits as the two nodes: PyTorch's one HuberLossBackward0 has the
    # reduction in it too. huber_loss(x, y) fwd + bwd on [3, 4] float32, mean / sum: 0.69 /
    # 0.68 of the two nodes' time (name_node included; alternated against HEAD in one process,
    # thread time, 15 rounds; s30 SP50).
    total = np.asarray(np.add.reduce(loss, None))
    return _divide_by_count(total, loss.size) if reduction == "mean" else total


def _huber_elementwise(x, target, delta, smooth, scratch):
    if target:
        token = ERR_STATE.set(IGNORE_ALL)  # (inf - inf = nan, overflow: silent, as PyTorch's)
        try:
            d = x - target[0]
        finally:
            ERR_STATE.reset(token)
    else:
        d = x
    # (the numbers first, so that the comparison takes delta as a 0-d array too: with the
    # outside mask, huber's forward on [3, 4] float32 6.2 -> 5.4 us, forward + rule 10.6 ->
    # 9.8, thread time, 40 alternated rounds, s24 SP11)
    square, offset, scale = _huber_numbers(delta, smooth, d)
    size, outside, near = _huber_parts(d, scale)
    if scratch is not None:  # (for the rule: see _huber_vjp)
        scratch.value = (x, target[0] if target else None, d, outside, near)
    quadratic = near * near
    quadratic *= square
    if smooth:
        return np.where(outside, size - offset, quadratic)
    linear = size - offset
    linear *= scale
    return np.where(outside, linear, quadratic)


_HUBER_NUMBERS: dict = {}


def _huber_numbers(delta, smooth, d):
    """(the square's factor, 0.5 delta, delta) as 0-d arrays of d's dtype: the values a Python
    float takes in a NumPy call with d (NEP 50), converted once, not on each of the rules' 4-5
    calls; the forward and the rule in place with them, the rule's factor unmasked and
    nn.functional's dtype checks skipped: huber_loss / smooth_l1_loss fwd + bwd on [3, 4]
    0.90-0.96 of the time, s23 SP9, 40 alternated rounds, thread time). Python floats for
    0-d d (NumPy scalars: see Constants)."""
    if not d.ndim or d.dtype.kind != "f":
        return (0.5 / delta if smooth else 0.5), 0.5 * delta, delta
    key = (delta, smooth, d.dtype)
    found = _HUBER_NUMBERS.get(key)
    if found is None:
        if len(_HUBER_NUMBERS) >= 64:
            _HUBER_NUMBERS.clear()
        found = _HUBER_NUMBERS[key] = tuple(
            np.array(value, d.dtype) for value in ((0.5 / delta if smooth else 0.5),
                                                   0.5 * delta, delta))
    return found


def _huber_reduced_grad(F, g, size, reduction):
    """Each element's share of a reduced loss's 0-d gradient ``g``, as the sum's rule (g
    itself, broadcast) and the mean's rule (``ops/reductions._mean_vjp``: g / n for inputs of
    up to _EXPAND_COPY_MAX elements, else g * (1 / n)) give it: the same bits."""
    if reduction == "sum":
        return g
    if F is ARRAY and type(g) is np.ndarray and size <= _EXPAND_COPY_MAX and g.dtype.kind == "f":
        return np.asarray(np.true_divide(g, size))  # (n < 2 ** 24: exact in float32)
    return g * (1.0 / size)


def _huber_vjp(F, g, out, x, *target, delta, smooth, reduction="none", scratch=None):
    # d loss / d d: d / beta inside (d for huber), else sign(d) (delta sign(d) for huber);
    # the inside part as the square's rule makes it (twice g c near, c the square's factor);
    # the target's gradient is its negation (as the subtraction's rule).
    xd, td = F.data(x), F.data(target[0]) if target else None
    if reduction != "none":  # (a 0-d g: broadcast in the products below)
        g = _huber_reduced_grad(F, g, xd.size, reduction)
    saved = None
    if scratch is not None:
        # The forward's difference, mask and inside part, taken only for the very arrays they
        # came from (both are version-checked as inputs), and emptied, so that a
        # retain_graph backward computes them again (as nll_loss's slot). _huber_parts is 2.6
        # of the rule's 7.2 us ([3, 4] float32).
        saved, scratch.value = scratch.value, None
    if saved is not None and saved[0] is xd and saved[1] is td:
        dd, outside_mask, near = saved[2], saved[3], saved[4]
    else:
        dd = xd - td if target else xd
        size, outside_mask, near = _huber_parts(dd, delta)
    half = 0.5 / delta if smooth else 0.5
    if F is ARRAY and type(g) is np.ndarray and g.dtype is dd.dtype:
        half, _, delta = _huber_numbers(delta, smooth, dd)  # (the same values: see there)
    outside = np.sign(dd) if smooth else np.sign(dd) * delta  # (in dd's dtype: NEP 50)
    if F is ARRAY:
        inner = g * half
        inner *= near
        inner += inner
        # (outside's entries inside are not picked: not zeroed first, one np.where fewer)
        gx = np.where(outside_mask, g * outside, inner)
        return (gx, -gx) if target else (gx,)
    inside = ~outside_mask
    outside = np.where(inside, 0, outside).astype(dd.dtype, copy=False)
    d = x - target[0] if target else x
    masked = F.where(inside, d, F.zeros_like(d))  # (differentiable: the second derivative)
    gx = g * half * masked * 2.0 + g * F.const(outside)
    if not target:
        return (gx,)
    # The target's rule of its own difference (PyTorch's huber_loss_backward(g, target, self)),
    # not -gx: the same values, and its second derivatives' zeros signed as PyTorch's.
    masked = F.where(inside, target[0] - x, F.zeros_like(d))
    return gx, g * half * masked * 2.0 + g * F.const(-outside)


def _huber_samples(rng):
    out = []
    for delta, smooth in ((1.0, False), (0.5, True), (2.0, True), (0.7, False)):
        d = _away_from(rng, (3, 4), (-delta, delta), -3.0, 3.0)
        out.append(Sample((d,), {"delta": delta, "smooth": smooth},
                          f"{'smooth_l1 beta' if smooth else 'huber delta'} {delta}"))
    # (the input and its target: d = x - y in the node, nn.functional's common case)
    y = rng.standard_normal((3, 4))
    for delta, smooth in ((1.0, False), (0.5, True)):
        x = y + _away_from(rng, (3, 4), (-delta, delta), -3.0, 3.0)
        out.append(Sample((x, y), {"delta": delta, "smooth": smooth},
                          f"{'smooth_l1 beta' if smooth else 'huber delta'} {delta}, target"))
    for delta, smooth, reduction in ((1.0, False, "mean"), (0.5, True, "sum")):
        x = y + _away_from(rng, (3, 4), (-delta, delta), -3.0, 3.0)
        out.append(Sample((x, y), {"delta": delta, "smooth": smooth, "reduction": reduction},
                          f"{'smooth_l1 beta' if smooth else 'huber delta'} {delta}, "
                          f"target, {reduction}"))
    return out


HUBER = register("huber", forward=_huber_forward, vjp=_huber_vjp, samples=_huber_samples)


# --------------------------------------------------------------------------------------------
# binary_cross_entropy(x, y) = -(y log x + (1 - y) log(1 - x)) elementwise, each log clamped
# at -100 so that x in {0, 1} gives a finite loss (PyTorch's choice).

_BCE_EPS = 1e-12
_BCE_CONSTANTS = Constants(-100.0, 1.0, _BCE_EPS)


# With ``reduction`` "sum" or "mean" the loss is reduced in the op (float32 / float64 inputs of
# one shape, not empty: nn.functional's fast path), as np.add.reduce and the mean op's division
# by the count do, one node instead of two: forward + backward on [8] float32, mean, 17.5 ->
# 11.7 us (the name_node of the two-node form included). The rule divides g by the count
# first, as the mean's rule does, so the gradients are the same bits as the two nodes'.
def _bce_forward(x, y, *, reduction="none"):
    loss = _bce_elementwise(x, y)
    if reduction == "none":
        return loss
    total = np.asarray(np.add.reduce(loss, None))
    return np.true_divide(total, loss.size, out=total) if reduction == "mean" else total


def _bce_elementwise(x, y):
    if not x.ndim or x.shape != y.shape or x.dtype != y.dtype:  # (0-d: NumPy scalars)
        # (ERR_STATE: 0.12 us against np.errstate's 1.2, log 0's -inf being expected; here and
        # in the rule: op_overhead.py --ops binary_cross_entropy, one thread, 0.81 -> 0.74 x
        # PyTorch, 0-d the worst case.)
        token = ERR_STATE.set(IGNORE_ALL)
        try:
            log_x = np.maximum(np.log(x), -100.0)
            log_1mx = np.maximum(np.log1p(-x), -100.0)
        finally:
            ERR_STATE.reset(token)
        return ((y - 1.0) * log_1mx - y * log_x).astype(x.dtype, copy=False)
    # The same arithmetic in place, with constants of x's dtype: 9 NumPy calls and 3 arrays
    # instead of 9 and 8 ([8] float32: 4.2 -> 3.9-4.1 us, thread time; np.errstate alone
    # costs 0.7).
    low, one, _ = _BCE_CONSTANTS(x)
    token = ERR_STATE.set(IGNORE_ALL)  # (log 0 = -inf is expected: as above)
    try:
        log_x = np.log(x)
        log_1mx = np.log1p(np.negative(x))
    finally:
        ERR_STATE.reset(token)
    np.maximum(log_x, low, out=log_x)
    np.maximum(log_1mx, low, out=log_1mx)
    log_x *= y
    loss = np.subtract(y, one)
    loss *= log_1mx
    loss -= log_x
    return loss.astype(x.dtype, copy=False)


def _bce_vjp(F, g, out, x, y, *, needs, reduction="none"):
    xd = F.data(x)
    gx = gy = None
    if reduction != "none":  # (0-d g) each element's share, as the mean's rule gives it
        if reduction == "mean":
            g = g / xd.size
    if needs[0]:
        # NOTE: PyTorch's gradient, (x - y) / max(x (1 - x), 1e-12): finite at x in {0, 1}
        # although the clamped loss is flat there.
        if (F is ARRAY and xd.ndim and xd.shape == y.shape
                and (reduction != "none" or xd.shape == np.shape(g))
                and xd.dtype == y.dtype == g.dtype):
            # The same values in 6 NumPy calls instead of 12, in place (a nan stays nan in
            # maximum, as where(den < eps) keeps it).
            _, one, eps = _BCE_CONSTANTS(xd)
            den = np.subtract(one, x)
            den *= x
            np.maximum(den, eps, out=den)
            gx = np.subtract(x, y)
            gx *= g
            gx /= den
        elif F is ARRAY:
            gx = g * (x - y) / np.maximum((1.0 - x) * x, _BCE_EPS)
        else:
            den = (1.0 - x) * x
            small = F.const((1.0 - xd) * xd < _BCE_EPS)
            den = F.where(small, F.ones_like(x) * _BCE_EPS, den)
            gx = g * (x - y) / den
    if needs[1]:
        # NOTE: the target's gradient log(1 - x) - log(x) is not clamped (inf at x in {0, 1}),
        # as PyTorch's.
        if F is ARRAY:
            token = ERR_STATE.set(IGNORE_ALL)
            try:
                gy = g * (np.log1p(-xd) - np.log(xd))
            finally:
                ERR_STATE.reset(token)
        else:
            gy = g * (F.log(1.0 - x) - F.log(x))
    return gx, gy


def _bce_samples(rng):
    out = []
    for shape in ((), (5,), (3, 4)):
        out.append(Sample((rng.uniform(0.1, 0.9, shape), rng.uniform(0.0, 1.0, shape))))
    out.append(Sample((rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (4,))), note="broadcast"))
    for reduction in ("sum", "mean"):
        out.append(Sample((rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0.0, 1.0, (3, 4))),
                          {"reduction": reduction}, note=f"reduction {reduction}"))
    return out


register("binary_cross_entropy", forward=_bce_forward, vjp=_bce_vjp, samples=_bce_samples,
         wants_needs=True)


# --------------------------------------------------------------------------------------------
# CTC: the negative log-likelihood of a target sequence summed over all its alignments with the
# input frames (Graves et al., 2006). Inputs: log-probabilities lp [T, N, C], padded targets
# [N, S] and the lengths of each sample's input and target (integer inputs, no gradient).
# Over the extended label sequence l' (blanks around and between the targets, length
# 2 S_b + 1), alpha_t(s) sums the alignments of l'[:s + 1] with frames [0, t], beta_t(s) those
# of l'[s:] with frames [t, T_b); both are kept in log space. The output is one loss per sample.
# (Small problems take the probability-space chains of ctc_dense.py, others ctc_scaled.py's.)


def _ctc_extended(targets, target_lengths, blank):
    """l' padded to [N, 2 S + 1], the mask of its real positions, and where a label may be
    reached by skipping the blank before it (s >= 2, not equal to l'[s - 2]).

    NOTE: a target equal to the blank (which PyTorch does not reject) may be skipped to as
    PyTorch's recursions do: only l'[s] != l'[s - 2] is tested (a blank position's two
    neighbours back is a blank too).
    """
    n, s = targets.shape
    ext = np.full((n, 2 * s + 1), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    real = np.arange(2 * s + 1)[None, :] < (2 * target_lengths[:, None] + 1)
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
    return ext, real, skip & real


def _ctc_alpha_beta(lp, targets, input_lengths, target_lengths, blank, want_beta):
    """log alpha and (optionally) log beta, [T, N, L'], in float64.

    Each step combines three log-values per position (stay, advance one, skip a blank) with
    two ``np.logaddexp`` calls, in place, reading the previous step through views of an array
    with two -inf columns on the side the shifts come from (no copies): 5 NumPy calls a step
    instead of 25 (ctc_loss's forward + rule on T=6, N=2: 713 -> 421 us, paired).
    """
    t_max, n = lp.shape[0], lp.shape[1]
    ext, real, skip = _ctc_extended(targets, target_lengths, blank)
    width = ext.shape[1]
    rows = np.arange(n)[:, None]
    emit = lp[:, rows, ext]  # [T, N, L']: lp of each extended label
    emit = np.where(real[None], emit, -np.inf)
    skip_penalty = np.where(skip, 0.0, -np.inf)  # added to the skip term: -inf blocks it
    padded = np.full((t_max, n, width + 2), -np.inf)  # alpha_t(s) at [t, :, s + 2]
    alpha = padded[:, :, 2:]
    if t_max:
        alpha[0, :, 0] = emit[0, :, 0]
        alpha[0, :, 1:2] = np.where(target_lengths[:, None] > 0, emit[0, :, 1:2], -np.inf)
    for t in range(1, t_max):
        prev = padded[t - 1]
        out = alpha[t]
        np.logaddexp(prev[:, 2:], prev[:, 1:-1], out=out)  # stay, advance one
        np.logaddexp(out, prev[:, :-2] + skip_penalty, out=out)  # skip the blank before
        out += emit[t]
    if not want_beta:
        return alpha, None, ext, real
    padded = np.full((t_max, n, width + 2), -np.inf)  # beta_t(s) at [t, :, s]
    beta = padded[:, :, :width]
    last = 2 * target_lengths  # index of the final blank in l'
    skip_next = np.concatenate([skip_penalty[:, 2:], np.full((n, 2), -np.inf)], axis=1)
    # Each sample starts at its last frame, from its final blank and final label; before the
    # loop: which samples start or are past their end at each frame, and their first values.
    ends = input_lengths - 1
    frames = np.arange(t_max)[:, None]
    starts, beyond = frames == ends[None, :], frames > ends[None, :]  # [T, N]
    any_start, any_beyond = starts.any(axis=1).tolist(), beyond.any(axis=1).tolist()
    init = np.full((n, width), -np.inf)
    b = np.flatnonzero(ends >= 0)
    init[b, last[b]] = emit[ends[b], b, last[b]]
    b = b[target_lengths[b] > 0]
    init[b, last[b] - 1] = emit[ends[b], b, last[b] - 1]
    for t in range(t_max - 1, -1, -1):
        out = beta[t]
        if t + 1 < t_max:
            nxt = padded[t + 1]
            np.logaddexp(nxt[:, :width], nxt[:, 1:width + 1], out=out)
            np.logaddexp(out, nxt[:, 2:] + skip_next, out=out)
            out += emit[t]
        if any_beyond[t]:
            out[beyond[t]] = -np.inf
        if any_start[t]:
            out[starts[t]] = init[starts[t]]
    return alpha, beta, ext, real


def _ctc_nll(alpha, input_lengths, target_lengths):
    n = alpha.shape[1]
    rows = np.arange(n)
    final = alpha[np.maximum(input_lengths - 1, 0), rows]  # [N, L'] at each sample's last frame
    last = 2 * target_lengths
    end_blank = final[rows, last]
    end_label = np.where(target_lengths > 0, final[rows, np.maximum(last - 1, 0)], -np.inf)
    total = np.logaddexp(end_blank, end_label)
    return np.where(input_lengths > 0, -total, np.where(target_lengths > 0, np.inf, 0.0))


def _ctc_log_space(lp64, targets, input_lengths, target_lengths, blank, want_occupancy):
    """The losses [N] and (if wanted) the occupancy [T, N, C] by the log-space recursions."""
    alpha, beta, ext, real = _ctc_alpha_beta(lp64, targets, input_lengths, target_lengths,
                                             blank, want_occupancy)
    nll = _ctc_nll(alpha, input_lengths, target_lengths)
    if not want_occupancy:
        return nll, None
    t_max, n, classes = lp64.shape
    both = np.where(real[None], alpha + beta, -np.inf)  # [T, N, L']
    # A log-sum-exp per class: each class's own largest term as its shift (one shift per
    # frame underflowed the terms of an unlikely class to 0 where the posterior, which
    # divides by its probability, is not small: gradients off by up to 1 against PyTorch's).
    index = (np.arange(t_max)[:, None, None], np.arange(n)[None, :, None], ext[None, :, :])
    top = np.full((t_max, n, classes), -np.inf)
    np.maximum.at(top, index, both)
    top = np.where(np.isfinite(top), top, 0.0)
    summed = np.zeros((t_max, n, classes))
    np.add.at(summed, index, np.exp(both - top[index]))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        occupancy = np.exp(np.log(summed) + top + nll[None, :, None] - lp64)
    occupancy[np.arange(t_max)[:, None] >= input_lengths[None, :]] = 0.0
    return nll, occupancy


def _ctc_reduce(nll, reduction, target_lengths, unbatched, dtype):
    """The losses reduced as nn.functional's ``reduction`` ("mean": each divided by its
    target length, at least 1, then averaged), in ``dtype``."""
    if reduction == "none":
        return (nll[0] if unbatched else nll).astype(dtype)
    if reduction == "sum":
        return np.add.reduce(nll).astype(dtype)
    return (np.add.reduce(nll / np.maximum(target_lengths, 1)) / nll.shape[0]).astype(dtype)


def _ctc_forward(lp, targets, input_lengths, target_lengths, *, blank, zero_infinity,
                 reduction="none", pytorch_gradient=False, scratch=None):
    # lp [T, N, C] or [T, C] (one unbatched sample); reduction as nn.functional's. The loss is
    # computed in float64 and returned in lp's dtype.
    unbatched = lp.ndim == 2
    lp3 = lp[:, None] if unbatched else lp
    dense = _ctc_dense(lp3, targets, input_lengths, target_lengths, blank)
    if dense is None:  # (too large for the matrices: the rescaled chains, else log space)
        dense = ctc_scaled(lp3, targets, input_lengths, target_lengths, blank,
                           occupancy=scratch is not None)  # (no gradient: alpha alone)
    if dense is not None:
        nll, state = dense  # (all finite: zero_infinity changes nothing)
    else:
        nll, _ = _ctc_log_space(lp3.astype(np.float64), targets, input_lengths,
                                target_lengths, blank, False)
        state = None
        if zero_infinity:
            nll = np.where(np.isinf(nll), 0.0, nll)
    if scratch is not None:
        scratch.value = (lp, targets, state, nll)
    return _ctc_reduce(nll, reduction, target_lengths, unbatched, lp.dtype)


def _ctc_vjp(F, g, out, lp, targets, input_lengths, target_lengths, *, blank, zero_infinity,
             reduction="none", pytorch_gradient=False, scratch=None):
    # d nll_b / d lp[t, b, c] = -(sum over s with l'[s] = c of alpha_t(s) beta_t(s)) / Z_b:
    # minus the posterior occupancy of class c at frame t.
    # NOTE: with ``pytorch_gradient`` (nn.functional.ctc_loss) the rule returns PyTorch's
    # gradient instead, exp(lp) - occupancy on the frames each sample uses: the gradient of
    # the logits when lp = log_softmax(logits), not the derivative of this op's value (so the
    # op's samples, which gradcheck it, leave it off; the parity tests check it on).
    lpd = F.data(lp)
    tgt, lin, tlen = F.data(targets), F.data(input_lengths), F.data(target_lengths)
    unbatched = lpd.ndim == 2
    lp3 = lpd[:, None] if unbatched else lpd
    t_max, n, classes = lp3.shape
    saved = None
    if scratch is not None:
        saved, scratch.value = scratch.value, None
        if saved is not None and (saved[0] is not lpd or saved[1] is not tgt):
            saved = None  # computed from other arrays (see ops.nn.Scratch)
    if saved is not None:
        state, nll = saved[2:]
    else:
        dense = _ctc_dense(lp3, tgt, lin, tlen, blank)
        if dense is None:
            dense = ctc_scaled(lp3, tgt, lin, tlen, blank)
        state, nll = (None, None) if dense is None else (dense[1], dense[0])
    # Each sample's weight in the reduced loss (and, first order, times the upstream gradient).
    scale = float(g) if F is ARRAY and reduction != "none" else 1.0
    if reduction == "mean":
        weights = (scale / n) / np.maximum(tlen, 1)
    elif reduction == "none" and F is ARRAY:
        weights = np.reshape(g, n)
    else:
        weights = scale
    if state is not None:  # (every loss finite: zero_infinity changes nothing)
        # (Frames past each input length zeroed once, at the end: 2 NumPy calls fewer; the
        # rule with the forward's state on [6, 2, 4] float32 10.6 -> 9.4 us, thread time.)
        occupancy = _ctc_dense_gradient(state, weights, classes)  # (weighted)
        if pytorch_gradient:
            grad = state[4] * (weights[:, None] if type(weights) is np.ndarray else weights)
            grad -= occupancy
        else:
            grad = np.negative(occupancy)
        grad *= (state[3] < lin)[:, :, None]
        grad = grad.astype(lpd.dtype, copy=False).reshape(lpd.shape)
    else:
        nll, occupancy = _ctc_log_space(lp3.astype(np.float64), tgt, lin, tlen, blank, True)
        weights = (np.arange(t_max)[:, None] < lin) * weights  # [T, N]
        if zero_infinity:  # (both: the occupancy of an impossible alignment is nan)
            weights[:, np.isinf(nll)] = 0.0
            occupancy[:, np.isinf(nll)] = 0.0
        if pytorch_gradient:
            grad = np.exp(lp3, dtype=np.float64)
            grad -= occupancy
        else:
            grad = np.negative(occupancy)
        grad = np.multiply(grad, weights[:, :, None], dtype=lpd.dtype).reshape(lpd.shape)
    if F is ARRAY:
        return grad, None, None, None
    g_b = F.reshape(g, (1, n, 1) if not unbatched else (1, 1)) if reduction == "none" else g
    # (create_graph: the gradient is a NumPy function of lp, a constant here; a second
    # derivative through it would silently leave its terms out: PyTorch's error instead)
    return F.no_derivative(g_b * F.const(grad), (g, lp), "_ctc_loss_backward"), None, None, None


def _ctc_samples(rng):
    out = []
    for t_max, n, classes, lengths, t_lens in ((6, 2, 4, [6, 5], [2, 3]), (5, 3, 3, [5, 3, 4],
                                                                          [2, 0, 1])):
        logits = rng.standard_normal((t_max, n, classes))
        lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        targets = rng.integers(1, classes, size=(n, max(t_lens)))
        targets[0, :2] = [1, 1] if targets.shape[1] >= 2 else targets[0, :2]  # a repeat
        out.append(Sample((lp, targets, np.array(lengths), np.array(t_lens)),
                          {"blank": 0, "zero_infinity": False}, f"T={t_max} N={n}"))
    return out


register("ctc_loss", forward=_ctc_forward, vjp=_ctc_vjp, samples=_ctc_samples,
         second_order=False)
