"""The mean word vectors of bags of words (document context, topic), as ``F.embedding_bag``.

The default model takes two kinds of bags every step: each token's two context bags (the words
around its other mentions, trained) and the batch's sentence and document bags (their means
are constants). ``F.embedding_bag`` computes them with its checks of every argument, a count
and a start of each bag and two graph nodes; here the same operations (the rows gathered,
``np.add.reduceat`` over each non-empty bag, the sums divided by the counts in the table's
dtype; the gradient divided by the counts and repeated over the rows) are done directly, so
the results and gradients are the same bits. Any input the fast path does not expect (a half
dtype, ids out of range, offsets that do not start at 0 or that go down) takes
``F.embedding_bag``, which raises its errors (issue 18).
"""

from __future__ import annotations

import numpy as np

import deltagrad as dg
from deltagrad.autograd.function import Function, once_differentiable
from deltagrad.nn import functional as F

__all__ = ["bag_means", "constant_bag_means"]


def _counts(ids: np.ndarray, starts: np.ndarray, rows: int) -> np.ndarray | None:
    """Each bag's size, or None where the fast path does not apply."""
    if (ids.ndim != 1 or ids.dtype != np.int64 or starts.ndim != 1 or starts.dtype != np.int64
            or not starts.size or starts[0] != 0 or not ids.size or ids.min() < 0
            or ids.max() >= rows):
        return None
    counts = np.diff(starts, append=ids.size)
    return counts if (counts >= 0).all() else None


def _means(rows: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """[bags, D]: each bag's mean row (an empty bag: zeros), as ``F.embedding_bag``'s."""
    out = np.zeros((counts.size, rows.shape[1]), rows.dtype)
    full = counts > 0
    out[full] = np.add.reduceat(rows, starts[full], axis=0)
    out[full] /= counts[full, None].astype(rows.dtype)
    return out


def constant_bag_means(ids, table, offsets):
    """``F.embedding_bag(ids, table, offsets, mode="mean")`` of a table without a gradient.

    The default training batch's topic bags (~36 bags, ~4,000 words): 350 -> 235 us (thread
    time, medians of 7 rounds of 40 batches on a loaded machine).
    """
    if table.requires_grad and dg.is_grad_enabled():  # (a gradient wanted: the op's)
        return F.embedding_bag(ids, table, offsets, mode="mean")
    weights, words, starts = table.detach().numpy(), ids.numpy(), offsets.numpy()
    counts = (_counts(words, starts, weights.shape[0])
              if weights.dtype in (np.float32, np.float64) and weights.ndim == 2 else None)
    if counts is None:
        return F.embedding_bag(ids, table, offsets, mode="mean")
    return dg.from_numpy(_means(weights.take(words, axis=0), starts, counts))


class _BagMeans(Function):
    """Rows ``[M, D]`` in consecutive bags -> each bag's mean ``[bags, D]``."""

    @staticmethod
    def forward(ctx, rows, *, starts: np.ndarray, counts: np.ndarray):
        ctx.counts = counts
        return dg.from_numpy(_means(rows.numpy(), starts, counts))

    @staticmethod
    @once_differentiable
    def backward(ctx, upstream):
        g, counts = upstream.numpy(), ctx.counts
        per_row = g / np.maximum(counts, 1)[:, None].astype(g.dtype)
        return dg.from_numpy(np.repeat(per_row, counts, axis=0))


def bag_means(ids, table, offsets):
    """``F.embedding_bag(ids, table, offsets, mode="mean", sparse=True)``: the table's gradient
    is row-sparse, as from that op.

    The default training batch's two context bags per token (~440 bags, ~380 words), forward
    150 -> 106 us, forward and backward 234 -> 185 us (thread time, medians of 9 rounds of 40
    batches on a loaded machine).
    """
    starts, weights = offsets.numpy(), table.detach().numpy()
    counts = (_counts(ids.numpy(), starts, weights.shape[0])
              if weights.dtype in (np.float32, np.float64) and weights.ndim == 2 else None)
    if counts is None:
        return F.embedding_bag(ids, table, offsets, mode="mean", sparse=True)
    # The rows as the op gathers them (an embedding node whose gradient is row-sparse).
    rows = F.embedding(ids, table, sparse=True)
    return _BagMeans.apply(rows, starts=starts, counts=counts)
