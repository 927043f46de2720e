"""Embedding lookup with dense or row-sparse gradients."""

from __future__ import annotations

import numpy as np

from ..buffers import note_rows, zeros
from ..sparse import RowSparseGrad, add_rows_at
from .registry import ARRAY, Sample, register

# optimizers can update lazily.


def _embedding_forward(weight, ids, *, padding_idx=None, sparse=False,
                       scale_grad_by_freq=False):
    return weight.take(ids, axis=0)


def _embedding_vjp(F, g, out, weight, ids, *, padding_idx=None, sparse=False,
                   scale_grad_by_freq=False):
    ids = F.data(ids)
    flat_ids = ids.reshape(-1)
    if scale_grad_by_freq:
        # NOTE: not the forward's gradient, by design (PyTorch's option): each look-up's
        # gradient is divided by how often its id occurs in the whole input. Sparse gradients
        # refuse it at backward, as PyTorch's.
        if sparse:
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with "
                               "sparse gradients")
        counts = np.bincount(flat_ids, minlength=weight.shape[0])[ids]
        scale = (1.0 / counts).astype(F.data(weight).dtype)
        scale = scale.reshape(ids.shape + (1,) * (weight.ndim - 1))
        if F is ARRAY:
            g = g * scale
        else:
            # NOTE: PyTorch's double backward of this rule gathers the incoming gradient
            # unscaled (its embedding_dense_double_backward ignores the option), so the
            # scaling enters the traced rule as a constant correction, as there.
            g = g + F.const(F.data(g) * (scale - 1))
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
        # (PyTorch's sparse gradient leaves the padding row's look-ups out, and marks one of
        # at most one row coalesced)
        if padding_idx is not None:
            kept = flat_ids != padding_idx
            flat_ids, rows = flat_ids[kept], rows[kept]
        return RowSparseGrad(flat_ids, rows, weight.shape, coalesced=flat_ids.size <= 1), None
    # NOTE: a recycled buffer of zeros rather than np.zeros: zeros of a large table are lazily
    # zeroed fresh pages from calloc, each faulted in when the optimizer first reads it; filling
    # reused memory measured 4 times faster (25,000 x 50), and a recycled gradient whose rows
    # were noted comes back zeroed on those rows only (see buffers).
    grad = zeros(weight.shape, weight.dtype)
    if grad.nbytes < _NOTE_MIN_BYTES or rows.dtype != grad.dtype or not flat_ids.size:
        add_rows_at(grad, flat_ids, rows)
        return grad, None
    # A large table (Adam skips its row scan; recycling, the full fill): the repeated rows
    # summed apart (the sparse gradient's coalesce: sorted distinct rows, repeats added in
    # order), then written into the table's rows, and noted with their values, which Adam
    # reads instead of gathering them. The same sums as adding into the zeros row by row:
    # + 0 turns a -0.0 sum into the 0.0 that 0 + ... gives (the only case where the two
    # orders differ). Against ufunc.at into the table's rows and a mask for the rows: W1
    # dense step 0.987 of its time (ab.py --workload w1-dense, 30 rounds, 1 thread).
    merged = RowSparseGrad(flat_ids, rows, weight.shape).coalesce()
    summed = merged.values  # a new array (coalesce of at least one row)
    summed += 0
    grad[merged.indices] = summed
    note_rows(grad, merged.indices, summed)
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
