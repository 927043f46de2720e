"""The mean word vectors of bags of words (document context, topic), as ``F.embedding_bag``.

The default model takes two kinds of bags every step: each token's two context bags (the words
around its other mentions, trained) and the batch's sentence and document bags (their means
are constants). ``F.embedding_bag`` computes them with its checks of every argument, a count
and a start of each bag and two graph nodes; here the op's own pieces (the rows gathered by
``F.embedding``, its bag node ``_BagReduce`` / ``bag_sums`` in nn/more_layers.py) are called
directly, so the results and gradients are the same bits. Any input the fast path does not
expect (a half dtype, ids out of range, offsets that do not start at 0 or that go down) takes
``F.embedding_bag``, which raises its errors (issue 18).
"""

from __future__ import annotations

import numpy as np

import deltagrad as dg
from deltagrad.nn import functional as F
from deltagrad.nn.more_layers import _BagReduce, bag_sums

__all__ = ["bag_means", "constant_bag_means"]


def _counts(ids: np.ndarray, starts: np.ndarray, rows: int) -> np.ndarray | None:
    """Each bag's size, or None where the fast path does not apply."""
    if (ids.ndim != 1 or ids.dtype != np.int64 or starts.ndim != 1 or starts.dtype != np.int64
            or not starts.size or starts[0] != 0 or not ids.size or ids.min() < 0
            or ids.max() >= rows):
        return None
    counts = np.diff(starts, append=ids.size)
    return counts if (counts >= 0).all() else None


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
    return dg.from_numpy(bag_sums(weights.take(words, axis=0), starts, counts, True))


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
    return _BagReduce.apply(rows, starts=starts, counts=counts, mode="mean")
