"""CTC's chains in probability space, for small problems (T * N * L'^2 up to
``_CTC_DENSE_MAX``): the losses and the state for the rule (``_ctc_dense``) and the
occupancies from that state (``_ctc_dense_gradient``); ``losses._ctc_forward`` / ``_ctc_vjp``
use them where nothing can have been lost, else the log-space recursions of ops/losses.py or
the rescaled chains of ``ctc_scaled``. Moved out of ops/losses.py (session 27, FS1) to keep it
under the 800-line limit; losses imports them back.
"""

from __future__ import annotations

import numpy as np

# The probability-space chains, for small problems: with A the allowed transitions of a
# sample's extended labels (A[s, s'] = 1 for s' in {s, s + 1}, and for s' = s + 2 where the
# labels allow the skip) and e_t(s) = p_t(l'[s]), alpha_t = e_t * (alpha_{t-1} A) from
# alpha_0 = e_0 * start, and the backward vectors beta_t = A (e_{t+1} * beta_{t+1}) from f at
# the sample's last frame (f marks the two final states). Both chains advance together, a
# matrix-vector product and a product with the emissions per frame over the stacked batch
# ([2N, 1, L'] @ [2N, L', L']: the backward chain as row vectors times A's transpose); the
# backward chain of each sample runs in its own reversed time (step k is frame len - 1 - k,
# its emissions gathered so), so unequal input lengths need no masks. The posterior of state s
# at frame t is alpha_t(s) beta_t(s) / Z, Z = sum_s alpha_0(s) beta_0(s). Against the earlier
# form (a transition matrix per frame, [T, 2N, L', L'], built and stacked before the chains)
# this builds no matrices per frame, and the rule's occupancy takes the posteriors already
# weighted. _ctc_dense, thread time, one thread, against the earlier form: [T, N, C], S =
# [6, 2, 4], 3: 27.4 -> 27.9 us (the same: ~30 NumPy calls either way); [30, 8, 10], 5:
# 159 -> 142; [50, 16, 20], 6: 676 -> 335; [100, 4, 30], 10: 896 -> 360. The L'^2 work a
# frame still overtakes the log space's at larger sizes (not re-measured: the limit is kept).
#
# Probabilities are not rescaled, so the result is used only where nothing can have been lost:
# log-probabilities at most 0 (so no chain value exceeds 3^T, at most 1e100 while T <= 200,
# or else checked), and every Z at least 1e-190. An underflowed value (below 1e-307) then
# weighs at most 1e-307 * 1e100 / 1e-190 = 1e-17 in a posterior. Anything else (long inputs
# of unlikely labels, impossible alignments, empty inputs, values that are not finite or not
# log-probabilities) takes the log-space recursions (ops/losses.py).

_CTC_DENSE_MAX = 1 << 18  # T * N * L'^2
_CTC_CACHE: dict[tuple, tuple] = {}


def _ctc_constants(t_max, n, width, blank):
    """Index arrays and bands for a problem's shape (cached: each costs a NumPy call)."""
    key = (t_max, n, width, blank)
    constants = _CTC_CACHE.get(key)
    if constants is None:
        if len(_CTC_CACHE) >= 64:
            _CTC_CACHE.clear()
        start = np.zeros(width)
        start[:2] = 1.0  # alpha_0: the first blank or the first label
        # Row k: the final states of a target of length k (its last blank and last label).
        finals = np.eye(width)[::2] + np.eye(width, k=-1)[::2]
        cols = np.arange(n)
        frames = np.arange(t_max)[:, None]
        near = np.eye(width) + np.eye(width, k=1)
        constants = _CTC_CACHE[key] = (
            np.concatenate((cols, cols))[:, None],  # both chains' samples
            cols + n,  # the backward chains' rows
            frames,
            np.repeat(frames, n, axis=1),  # [T, N]: the forward chains' frames
            -1 - frames,  # (plus an input length: the backward chains' frames)
            np.full((2 * n, width + 2), blank, dtype=np.intp),  # l', after two more blanks
            np.concatenate((np.repeat(near[None], n, axis=0),  # stay or advance one
                            np.repeat(near.T[None], n, axis=0))),  # (and backward)
            np.eye(width, k=2),  # skip a blank (where the labels allow it)
            start,
            finals)
    return constants


def _ctc_dense(lp, targets, input_lengths, target_lengths, blank):
    """The losses [N] (float64) and the chains' state for the rule, or None where the
    probability-space chains do not apply (see above)."""
    t_max, n, classes = lp.shape
    width = 2 * targets.shape[1] + 1
    if not t_max or not n or t_max * n * width * width > _CTC_DENSE_MAX:
        return None
    # (Checked on every class, not only the labels': log-probabilities pass.)
    # (An empty input: log space. Up to 16 lengths through a list: 0.3 against 0.75 us.)
    shortest = min(input_lengths.tolist()) if n <= 16 else np.minimum.reduce(input_lengths)
    if not (shortest >= 1 and np.maximum.reduce(lp, axis=None) <= 0.0):  # (nor for nan)
        return None
    samples, back_rows, frame, forward_frames, back_offset, base, near, far, start, finals = (
        _ctc_constants(t_max, n, width, blank))
    padded = base.copy()  # [2N, L' + 2]: both chains' labels
    padded.reshape(2, n, width + 2)[:, :, 3::2] = targets
    ext = padded[:n, 2:]
    probs = np.exp(lp, dtype=np.float64)  # (PyTorch's gradient uses them too)
    # The frame of each chain's step: t forward; len - 1 - t backward (< 0: unused).
    back = input_lengths + back_offset  # [T, N]
    steps_frame = np.concatenate((forward_frames, back), axis=1)[:, :, None]  # [T, 2N, 1]
    e = probs[steps_frame, samples, padded[:, 2:]][:, :, None]  # [T, 2N, 1, L']
    # A label may be reached from the label before the blank before it where the two differ
    # (see _ctc_extended's NOTE); a blank never differs from the one two before. (The skip
    # band has no entry into states 0 and 1.)
    skip = ext != padded[:n, :-2]
    allowed = far * skip[:, None, :]  # [N, L', L']
    steps = np.concatenate((allowed, allowed.transpose(0, 2, 1)))  # [2N, L', L']
    steps += near  # (its transpose in the backward half)
    both = np.empty((2, t_max, 2 * n, 1, width))
    before, chains = both[0], both[1]  # (before: each chain before frame t's emissions)
    before[0, :n, 0] = start
    before[0, n:, 0] = finals.take(target_lengths, axis=0)  # (take: 0.28 against 0.93 us)
    chain = np.multiply(before[0], e[0], chains[0])
    matmul, multiply = np.matmul, np.multiply
    # (zip over the frames' views, out= by position: 7.2 -> 6.7 us for 5 frames, thread time)
    for pre, post, emitted in zip(before[1:], chains[1:], e[1:]):
        matmul(chain, steps, pre)
        chain = multiply(pre, emitted, post)
    # alpha_t(s) beta_t(s) [T, N, L'] (garbage past each input length: the rule weighs it 0)
    gamma = np.multiply(chains[:, :n, 0], before[back, back_rows, 0])
    z = np.add.reduce(gamma[0], axis=1)
    if not ((min(z.tolist()) if n <= 16 else np.minimum.reduce(z)) >= 1e-190 and (
            t_max <= 200 or np.maximum.reduce(chains, axis=None) <= 1e100)):
        return None
    return -np.log(z), (gamma, ext, z, frame, probs)


def _ctc_dense_gradient(state, weights, classes):
    """The occupancies [T, N, C] of the dense chains times ``weights`` (a number or [N]), on
    every frame: past each input length they are finite garbage, for the caller to zero."""
    gamma, ext, z = state[:3]
    # Summed over the states of each class: one product with the one-hot classes of l'.
    weighted = gamma * np.divide(weights, z)[:, None]
    # [N, L', C]: rows of a cached boolean identity, the same array as l' == arange(C) (its
    # broadcast comparison 1.7 us, the take 0.3 on [2, 7]; with the take of finals above,
    # ab.py --workload ops --ops ctc_loss against the code before 0.96 of its time, s24 SP11)
    eye = _CTC_EYES.get(classes)
    if eye is None:
        if len(_CTC_EYES) >= 64:
            _CTC_EYES.clear()
        eye = _CTC_EYES[classes] = np.eye(classes, dtype=bool)
    onehot = eye.take(ext, axis=0)
    return np.matmul(weighted.transpose(1, 0, 2), onehot).transpose(1, 0, 2)


_CTC_EYES: dict = {}
