"""CTC's chains in probability space, rescaled every frame (Rabiner's scaling), for the problems
too large for ``losses._ctc_dense``'s transition matrices (T * N * L'^2 over its limit).

Both chains advance together over the stacked batch, [2N, L'] a step, each step a banded
recursion written as shifted views (stay, advance one, skip a blank where the labels allow
it), never a matrix: ``pre_t(s) = post_{t-1}(s) + post_{t-1}(s - 1) + skip(s) post_{t-1}(s -
2)``, ``post_t = pre_t * e_t``, then ``post_t`` divided by its sum ``c_t``. The forward chain
(rows :N) is alpha; the backward chain (rows N:) runs with its labels reversed, so that the
same left-to-right recursion is beta's, and in each sample's own reversed time (step k is
frame len - 1 - k: unequal input lengths need no masks), as the dense chains do.

- The loss: log Z = sum over the sample's frames of log c_t, plus the log of the rescaled
  alpha's mass on the two final states at its last frame.
- The occupancy of state s at frame t is alpha_t(s) beta'_t(s) / Z, beta' the backward chain
  before frame t's emission; each chain carries its own unknown scale at each frame, so the
  product is normalised over the states of each frame and sample instead (the scales cancel).

Against the log-space recursions (``losses._ctc_alpha_beta``: two logaddexp calls a step on
each chain, and the forward's chain computed again by the rule) this is six cheap NumPy calls
a step for both chains, once: ctc_loss forward + backward on OpInfo's sample ([50, 16, 20],
S = 30), thread time, one thread, 6.3 -> 2.0 ms (PyTorch 1.7).

Used only where nothing can have been lost (else the log-space recursions run): every input
length at least 1, log-probabilities finite and at most 700 (exp finite), every scale c_t of
a sample's frames positive, the final mass and every frame's normaliser above 1e-200.
Relative to the largest state, a state's mass underflows only below 1e-308: its weight in
an occupancy is then below that too.
"""

from __future__ import annotations

import numpy as np

from .elementwise_math import ERR_STATE, IGNORE_ALL

_SMALLEST = 1e-200  # (the final mass and the normalisers: below it, the log-space recursions)


def ctc_scaled(lp, targets, input_lengths, target_lengths, blank, occupancy=True):
    """The losses [N] (float64) and the state ``(gamma, ext, z, frame, probs)`` that
    ``losses._ctc_vjp`` takes from ``_ctc_dense`` (gamma already normalised: z is ones; None
    without ``occupancy``: the forward chains only), or None where this path does not apply
    (see the module's docstring)."""
    t_max, n, classes = lp.shape
    if not t_max or not n:
        return None
    # (-inf, a masked class: PyTorch's gradient there is nan, the log-space rule's too)
    if not (np.minimum.reduce(input_lengths) >= 1 and np.maximum.reduce(lp, axis=None) <= 700.0
            and np.minimum.reduce(lp, axis=None) > -np.inf):  # (nan fails them too)
        return None
    token = ERR_STATE.set(IGNORE_ALL)  # (past each sample's frames, 0 / 0: never read)
    try:
        return _chains(lp, targets, input_lengths, target_lengths, blank, t_max, n,
                       2 * n if occupancy else n)
    finally:
        ERR_STATE.reset(token)


def _chains(lp, targets, input_lengths, target_lengths, blank, t_max, n, m):
    # (m: the chains' rows, 2N, or N for the forward chains alone)
    width = 2 * targets.shape[1] + 1
    ext = np.full((n, width), blank, dtype=np.intp)  # l'
    ext[:, 1::2] = targets
    real = np.arange(width) < 2 * target_lengths[:, None] + 1  # [N, L']
    labels = np.concatenate((ext, ext[:, ::-1]))[:m]  # [2N, L']: the backward rows reversed
    # The skip into s from s - 2 (labels differ; a blank never differs from the one two
    # before); reversed, the backward chain's skip into s' is the skip out of L' - 1 - s'.
    skip = np.zeros((m, width))
    skip[:n, 2:] = ext[:, 2:] != ext[:, :-2]
    skip[n:, 2:] = skip[:n, ::-1][:m - n, :-2]
    probs = np.exp(lp, dtype=np.float64)  # (PyTorch's gradient uses them too)
    frames = np.arange(t_max)[:, None]
    back = input_lengths - 1 - frames  # [T, N]: the backward chains' frames (< 0: unused)
    steps_frame = np.concatenate((np.broadcast_to(frames, (t_max, n)), back), axis=1)
    rows = np.concatenate((np.arange(n), np.arange(n)))[:m]
    e = probs[steps_frame[:, :m, None], rows[:, None], labels]  # [T, 2N, L']
    e *= np.concatenate((real, real[:, ::-1]))[:m]  # (padding states: never reached)
    pre = np.empty((t_max, m, width))  # each chain before its step's emissions
    post = np.zeros((t_max, m, width + 2))  # after them, rescaled, two zeros in front
    scales = np.empty((t_max, m, 1))
    start = pre[0]
    start.fill(0.0)
    start[:n, :2] = 1.0  # alpha: the first blank or the first label
    last = width - 1 - 2 * target_lengths  # the final blank, reversed
    if m > n:  # (the final label first: for an empty target, that index is the blank's)
        start[np.arange(n, m), np.minimum(last + 1, width - 1)] = target_lengths > 0
        start[np.arange(n, m), last] = 1.0
    add, multiply, reduce = np.add, np.multiply, np.add.reduce
    term = np.empty((m, width))
    for t in range(t_max):
        now = post[t, :, 2:]
        if t:
            before, previous = pre[t], post[t - 1]
            add(previous[:, 2:], previous[:, 1:-1], out=before)  # stay, advance one
            multiply(previous[:, :-2], skip, out=term)  # skip a blank
            add(before, term, out=before)
        multiply(pre[t], e[t], out=now)
        reduce(now, axis=1, keepdims=True, out=scales[t])
        now /= scales[t]
    # Every scale of each sample's own frames positive (its chains alive to the end).
    used = frames < input_lengths  # [T, N]
    alive = (scales[:, :n, 0] > 0) | ~used
    if m > n:
        alive &= (scales[:, n:, 0] > 0) | ~used
    if not alive.all():
        return None
    ends = input_lengths - 1
    samples = np.arange(n)
    final = post[ends, samples, 2 + 2 * target_lengths]
    final += np.where(target_lengths > 0, post[ends, samples, 1 + 2 * target_lengths], 0.0)
    if not np.minimum.reduce(final) >= _SMALLEST:
        return None
    log_z = np.add.reduce(np.where(used, np.log(scales[:, :n, 0]), 0.0), axis=0)
    log_z += np.log(final)
    if m == n:
        return -log_z, None
    # alpha_t(s) beta'_t(s) up to a scale per frame and sample, then normalised.
    gamma = post[:, :n, 2:] * pre[back, samples + n, ::-1]
    z = np.add.reduce(gamma, axis=2)  # [T, N]
    z[~used] = 1.0  # (frames past an input's length: zeroed below)
    if not np.minimum.reduce(z, axis=None) >= _SMALLEST:
        return None
    gamma /= z[:, :, None]
    gamma[~used] = 0.0
    return -log_z, (gamma, ext, np.ones(n), frames, probs)
