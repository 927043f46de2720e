"""A linear-chain CRF's sequence loss as one differentiable op (forward-backward in NumPy).

Written with deltagrad's ops, the forward algorithm is a logsumexp recursion over time that
records about six graph nodes per time step, and the backward sweep then visits each one: 23% of
the default training run's time went there (issue 18). Here the recursion runs on NumPy arrays
and the gradient comes from the same lattice's marginals, so the whole loss is one node:

    d(-log p(y | x)) / d s[t, j] = p(y_t = j | x) - [y_t = j]
    d(-log p(y | x)) / d A[i, j] = sum_t p(y_(t-1) = i, y_t = j | x)
                                   - #{t: (y_(t-1), y_t) = (i, j)}

The recursions run in probability space with each step's vector rescaled to sum to one (the
scaled forward-backward algorithm), which needs one small matrix product per step instead of a
logsumexp over a [batch, tags, tags] array; every emission row is shifted by its maximum and the
transitions by theirs first, so no exponential overflows and the best path of each step keeps a
weight of at least ``exp(min(A) - max(A))``: nothing underflows to an all-zero vector while the
transitions stay within a few hundred of each other (they start at zero and move by a small
learning rate).
"""

from __future__ import annotations

import numpy as np

from deltagrad.autograd import Function

__all__ = ["sequence_nll"]


def _lattice(lengths: np.ndarray):
    """The time-major layout of the sentences, longest first.

    Returns ``(live [T], rows [T, B], mask [T, B])``: at step t the sentences
    ``0 .. live[t] - 1`` are still running (a prefix, since the longest come first); ``rows``
    is each position's token row in the scores (0 where padded).
    """
    order = np.argsort(-lengths, kind="stable")
    starts = (np.cumsum(lengths) - lengths)[order]
    lengths = lengths[order]
    steps = np.arange(int(lengths[0]))
    mask = steps[:, None] < lengths[None, :]
    rows = np.where(mask, starts[None, :] + steps[:, None], 0)
    live = mask.sum(axis=1)
    return live, rows, mask


class _SequenceNLL(Function):
    """``sum over sentences of (log Z - score(gold)) / n_tokens`` and its gradient."""

    @staticmethod
    def forward(ctx, scores, transitions, tags, lengths):
        s = scores.detach().numpy().astype(np.float64, copy=False)
        a = transitions.detach().numpy().astype(np.float64, copy=False)
        gold_flat = tags.detach().numpy()
        live, rows, mask = _lattice(lengths)
        gold = np.where(mask, gold_flat[rows], 0)

        # Each row's maximum and exponentials are taken on the [tokens, K] scores and gathered
        # to the [T, B, K] lattice: the same values (a padded position reads row 0, as its
        # emissions did) from a third of the work (issue 18).
        row_max = s.max(axis=1)
        shift = row_max[rows]  # [T, B]
        weights = np.exp(s - row_max[:, None])[rows]  # [T, B, K], each row's max is 1
        a_shift = a.max()
        moves = np.exp(a - a_shift)
        alpha = np.zeros_like(weights)  # (zero past a sentence's end: read as 0 * 0 below)
        norms = np.ones(mask.shape + (1,))  # (kept [T, B, 1]: each step's divisor as it is)
        np.add.reduce(weights[0], axis=1, out=norms[0], keepdims=True)
        np.divide(weights[0], norms[0], out=alpha[0])
        # Each step written in place (out=), four NumPy calls and no temporaries: the same
        # operations as before, so the same bits (the loss and its gradient on 60 CoNLL batches
        # of 18 sentences: 766 -> 707 us a batch, thread time, medians of 15 alternated rounds).
        # The divisor kept as [n, 1] and the last step's output reused as the next input: two
        # views fewer a step; with the exponentials above, the loss and its gradient on 60
        # CoNLL batches 755 -> 678 us a batch, the same bits (thread time, medians of 9
        # alternated rounds on a loaded machine, issue 18).
        matmul, multiply, add, divide = np.matmul, np.multiply, np.add.reduce, np.divide
        previous, before = alpha[0], -1
        for t, n in enumerate(live.tolist()[1:], start=1):
            if n != before:
                previous = previous[:n]
            step, total = alpha[t, :n], norms[t, :n]
            matmul(previous, moves, out=step)
            multiply(step, weights[t, :n], out=step)
            add(step, axis=1, out=total, keepdims=True)  # (np.sum: 1.5 us more a call)
            divide(step, total, out=step)
            previous, before = step, n
        log_z = (np.log(norms).sum() + shift[mask].sum()
                 + a_shift * float((lengths - 1).sum()))

        emitted = s[rows[mask], gold[mask]].sum()  # (the gold tags' scores, in lattice order)
        moved = a[gold[:-1], gold[1:]][mask[1:]].sum()
        n_tokens = float(lengths.sum())
        ctx.lattice = (weights, moves, alpha, norms, live, mask, rows, gold, n_tokens)
        ctx.dtypes = (scores.dtype, transitions.dtype)
        return scores.new_tensor((log_z - emitted - moved) / n_tokens)

    @staticmethod
    def backward(ctx, upstream):
        weights, moves, alpha, norms, live, mask, rows, gold, n_tokens = ctx.lattice
        longest, _, n_tags = weights.shape
        beta = np.ones_like(weights)  # 1 at each sentence's last position (and past it)
        after = np.zeros_like(weights)  # weights * beta / norm at t, where t >= 1 is live
        moves_t = moves.T
        counts = live.tolist()
        multiply, divide, matmul = np.multiply, np.divide, np.matmul
        for t in range(longest - 1, 0, -1):  # (in place, as the forward recursion)
            n = counts[t]
            out = after[t, :n]
            multiply(weights[t, :n], beta[t, :n], out=out)
            divide(out, norms[t, :n], out=out)
            matmul(out, moves_t, out=beta[t - 1, :n])
        scale = float(upstream.item()) / n_tokens

        tag_grad = (alpha * beta)[mask]  # p(y_t = j | x), one row per token
        tag_grad[np.arange(tag_grad.shape[0]), gold[mask]] -= 1.0
        grad_scores = np.empty((int(n_tokens), n_tags))
        grad_scores[rows[mask]] = tag_grad * scale

        # p(y_(t-1) = i, y_t = j | x) = alpha_(t-1)(i) * moves(i, j) * after_t(j), over t >= 1
        # Summed over t and b as one [K, (T-1) B] x [(T-1) B, K] product: einsum's loop took
        # 48 us against 6 on a 40 x 18 x 9 lattice (the loss and its gradient on 60 CoNLL-sized
        # batches 1081 -> 934 us, thread time, medians of 8 alternated rounds on a loaded
        # machine). The float64 sums go in another order; the float32 gradient was the same
        # at every one of the 4,686 steps of the default's two members (seeds 0 and 1).
        flat = alpha.shape[1] * (longest - 1)
        pairs = moves * (alpha[:-1].reshape(flat, n_tags).T @ after[1:].reshape(flat, n_tags))
        pair_index = (gold[:-1] * n_tags + gold[1:])[mask[1:]]
        pairs -= np.bincount(pair_index, minlength=n_tags * n_tags).reshape(n_tags, n_tags)
        scores_dtype, transitions_dtype = ctx.dtypes
        return (upstream.new_tensor(grad_scores, dtype=scores_dtype),
                upstream.new_tensor(pairs * scale, dtype=transitions_dtype), None, None)


def sequence_nll(scores, transitions, tags, lengths):
    """Negative log-likelihood of whole tag sequences under a linear-chain CRF, per token.

    ``log p(y | x) = sum_t s[t, y_t] + sum_t A[y_(t-1), y_t] - log Z`` (no start or end scores),
    with log Z from the forward algorithm; the gradient from forward-backward marginals.

    Args:
        scores: float ``[n_tokens, n_tags]`` Tensor, sentences one after another.
        transitions: float ``[n_tags, n_tags]`` Tensor, ``[previous, next]``.
        tags: int ``[n_tokens]`` Tensor of gold tags.
        lengths: int ``[n_sentences]`` sentence lengths (each >= 1) summing to ``n_tokens``.

    Returns:
        A scalar Tensor (scores' dtype): the summed negative log-likelihood over the tokens.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    n_tokens, n_tags = scores.shape
    if lengths.ndim != 1 or lengths.size == 0 or (lengths < 1).any() or lengths.sum() != n_tokens:
        raise ValueError(f"crf loss: sentence lengths must be >= 1 and sum to the {n_tokens} "
                         f"score rows; got {lengths.tolist()}")
    if tuple(transitions.shape) != (n_tags, n_tags) or tuple(tags.shape) != (n_tokens,):
        raise ValueError(f"crf loss: scores {tuple(scores.shape)} need transitions "
                         f"({n_tags}, {n_tags}) and tags ({n_tokens},); got "
                         f"{tuple(transitions.shape)} and {tuple(tags.shape)}")
    return _SequenceNLL.apply(scores, transitions, tags, lengths)
