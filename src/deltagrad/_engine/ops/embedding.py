"""Embedding lookup with dense or row-sparse gradients."""

from __future__ import annotations

import numpy as np

from ..buffers import note_rows, zeros
from ..sparse import RowSparseGrad, add_rows_at
from .registry import ARRAY, Sample, register

# optimizers can update lazily.


def _embedding_forward(weight, ids, *, padding_idx=None, sparse=False):
    return weight.take(ids, axis=0)


def _embedding_vjp(F, g, out, weight, ids, *, padding_idx=None, sparse=False):
    ids = F.data(ids)
    flat_ids = ids.reshape(-1)
    if F is not ARRAY:
        grad = F.index_add_zeros(F.reshape(g, (flat_ids.size,) + weight.shape[1:]), (flat_ids,),
                                 weight.shape, F.data(weight).dtype)
        if padding_idx is not None:
            keep = np.ones(weight.shape[:1] + (1,) * (weight.ndim - 1), dtype=bool)
            keep[padding_idx] = False
            grad = grad * F.const(keep)
        return grad, None
    rows = g.reshape((flat_ids.size,) + weight.shape[1:])
    if not sparse and rows.size < _AT_MAX and weight.nbytes < _NOTE_MIN_BYTES:
        # A small gradient of a small table (no recycled buffer, no rows to note): np.add.at
        # over whole rows, then the padding row cleared (it took no gradient). add_rows_at's
        # flat index pays off from about 500 elements on; below, this is 1.2 against 3.6 us
        # (6 ids into [4, 3]), the same sums.
        grad = np.zeros(weight.shape, weight.dtype)
        np.add.at(grad, flat_ids, rows)
        if padding_idx is not None:
            grad[padding_idx] = 0
        return grad, None
    if padding_idx is not None:
        # NOTE: the padding row gets no gradient (it stays what it was, usually zeros).
        rows = np.where((flat_ids == padding_idx).reshape((-1,) + (1,) * (rows.ndim - 1)),
                        0, rows)
    if sparse:
        return RowSparseGrad(flat_ids, rows, weight.shape), None
    # NOTE: a recycled buffer of zeros rather than np.zeros: zeros of a large table are lazily
    # zeroed fresh pages from calloc, each faulted in when the optimizer first reads it; filling
    # reused memory measured 4 times faster (25,000 x 50), and a recycled gradient whose rows
    # were noted comes back zeroed on those rows only (see buffers).
    grad = zeros(weight.shape, weight.dtype)
    add_rows_at(grad, flat_ids, rows)
    if grad.nbytes >= _NOTE_MIN_BYTES:  # Adam skips its row scan; recycling, the full fill
        # The distinct rows, sorted, through a mask over the table's rows: 8 us against 86 for
        # np.unique (1,280 ids of 25,000), and Adam then gathers each row once.
        touched = np.zeros(weight.shape[0], dtype=bool)
        touched[flat_ids] = True
        note_rows(grad, touched.nonzero()[0])
    return grad, None


_NOTE_MIN_BYTES = 1 << 20  # smaller gradients are cheap to scan and to fill
_AT_MAX = 512  # gradient elements up to which np.add.at over rows beats add_rows_at


def _embedding_samples(rng):
    ids = np.array([[0, 2, 2], [3, 0, 1]])
    return [Sample((rng.standard_normal((4, 3)), ids)),
            # The padding row takes no gradient by design (tested on its own); here it is a row
            # the ids do not use, to check that the option leaves the other rows' gradients be.
            Sample((rng.standard_normal((5, 3)), ids), {"padding_idx": 4}),
            Sample((rng.standard_normal((5, 2)), np.array([4, 4, 1])), {"sparse": True})]


register("embedding", forward=_embedding_forward, vjp=_embedding_vjp, samples=_embedding_samples)
