"""PyTorch's private ``torch._utils`` helpers that libraries import: flattening a list of
tensors into one buffer and viewing it back (fastai's fp16 utilities, apex-style master
weights)."""

from __future__ import annotations

from collections.abc import Iterable

from . import _engine as dg

__all__: list[str] = []


def _flatten_dense_tensors(tensors: Iterable) -> dg.Tensor:
    """One contiguous 1-D tensor holding ``tensors``' values in order (dtypes promoted, in
    the graph: ``cat`` of the flattened tensors, as PyTorch's).

    >>> import deltagrad as dg
    >>> _flatten_dense_tensors([dg.ones(2, 2), dg.tensor([5.0])]).tolist()
    [1.0, 1.0, 1.0, 1.0, 5.0]
    """
    return dg.cat([dg.reshape(t, (-1,)) for t in tensors])


def _unflatten_dense_tensors(flat: dg.Tensor, tensors: Iterable) -> tuple:
    """Views of the 1-D ``flat`` shaped as each of ``tensors`` (the inverse of
    ``_flatten_dense_tensors``): a tuple, sharing ``flat``'s memory.

    >>> import deltagrad as dg
    >>> a, b = _unflatten_dense_tensors(dg.arange(5.0), [dg.ones(2, 2), dg.ones(1)])
    >>> a.tolist(), b.tolist()
    ([[0.0, 1.0], [2.0, 3.0]], [4.0])
    """
    views = []
    offset = 0
    for t in tensors:
        count = t.numel()
        views.append(flat.narrow(0, offset, count).view_as(t))
        offset += count
    return tuple(views)
