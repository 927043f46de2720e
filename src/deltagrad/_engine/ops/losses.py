"""Loss primitives whose PyTorch values or gradients a composition would not reproduce:
binary cross-entropy (logs clamped at -100, PyTorch's gradient guard) and the CTC loss
(the forward-backward recursions in log space, one node).

It imports NumPy and the registry; arguments are checked by ``nn.functional``.
"""

from __future__ import annotations

import numpy as np

from .registry import ARRAY, Sample, register

__all__: list[str] = []

# --------------------------------------------------------------------------------------------
# binary_cross_entropy(x, y) = -(y log x + (1 - y) log(1 - x)) elementwise, each log clamped
# at -100 so that x in {0, 1} gives a finite loss (PyTorch's choice).

_BCE_EPS = 1e-12


def _bce_forward(x, y):
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100.0)
        log_1mx = np.maximum(np.log1p(-x), -100.0)
    return ((y - 1.0) * log_1mx - y * log_x).astype(x.dtype, copy=False)


def _bce_vjp(F, g, out, x, y, *, needs):
    xd = F.data(x)
    gx = gy = None
    if needs[0]:
        # NOTE: PyTorch's gradient, (x - y) / max(x (1 - x), 1e-12): finite at x in {0, 1}
        # although the clamped loss is flat there.
        if F is ARRAY:
            # The same values in 6 NumPy calls instead of 12 (a nan stays nan in maximum, as
            # where(den < eps) keeps it).
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
            with np.errstate(divide="ignore"):
                gy = g * (np.log1p(-xd) - np.log(xd))
        else:
            gy = g * (F.log(1.0 - x) - F.log(x))
    return gx, gy


def _bce_samples(rng):
    out = []
    for shape in ((), (5,), (3, 4)):
        out.append(Sample((rng.uniform(0.1, 0.9, shape), rng.uniform(0.0, 1.0, shape))))
    out.append(Sample((rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0, 1, (4,))), note="broadcast"))
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


def _ctc_extended(targets, target_lengths, blank):
    """l' padded to [N, 2 S + 1], the mask of its real positions, and where a label may be
    reached by skipping the blank before it (s >= 2, not blank, not equal to l'[s - 2])."""
    n, s = targets.shape
    ext = np.full((n, 2 * s + 1), blank, dtype=np.int64)
    ext[:, 1::2] = targets
    real = np.arange(2 * s + 1)[None, :] < (2 * target_lengths[:, None] + 1)
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
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


def _ctc_forward(lp, targets, input_lengths, target_lengths, *, blank, zero_infinity):
    lp64 = lp.astype(np.float64)
    alpha, _, _, _ = _ctc_alpha_beta(lp64, targets, input_lengths, target_lengths, blank, False)
    nll = _ctc_nll(alpha, input_lengths, target_lengths)
    if zero_infinity:
        nll = np.where(np.isinf(nll), 0.0, nll)
    return nll.astype(lp.dtype)


def _ctc_vjp(F, g, out, lp, targets, input_lengths, target_lengths, *, blank, zero_infinity):
    # d nll_b / d lp[t, b, c] = -(sum over s with l'[s] = c of alpha_t(s) beta_t(s)) / (p_b
    # exp(lp[t, b, c])): minus the posterior occupancy of class c at frame t. (PyTorch's own
    # gradient adds exp(lp); nn.functional.ctc_loss adds that term, see there.)
    lpd = F.data(lp)
    tgt, lin, tlen = F.data(targets), F.data(input_lengths), F.data(target_lengths)
    lp64 = lpd.astype(np.float64)
    alpha, beta, ext, real = _ctc_alpha_beta(lp64, tgt, lin, tlen, blank, True)
    nll = _ctc_nll(alpha, lin, tlen)
    t_max, n, classes = lpd.shape
    both = alpha + beta  # [T, N, L']
    top = np.max(both, axis=2, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    weights = np.where(real[None], np.exp(both - top), 0.0)
    summed = np.zeros((t_max, n, classes))
    t_index = np.arange(t_max)[:, None, None]
    n_index = np.arange(n)[None, :, None]
    np.add.at(summed, (t_index, n_index, ext[None, :, :]), weights)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        occupancy = np.exp(np.log(summed) + top + nll[None, :, None] - lp64)
    occupancy[np.arange(t_max)[:, None] >= lin[None, :]] = 0.0
    finite = np.isfinite(nll)
    if zero_infinity:
        occupancy[:, ~finite] = 0.0
    grad = (-occupancy).astype(lpd.dtype)
    g_b = F.reshape(g, (1, n, 1))
    return g_b * F.const(grad), None, None, None


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
