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


# --- plain pickle of PyTorch's tensors (pickle.dumps(tensor) by real PyTorch) ---------------------
# Its stream names these functions by their torch._utils names; under the alias they are read
# here, each rebuilding through serialization.torch_files (torch.load's restricted reader).


def _rebuild_tensor(storage, storage_offset, size, stride):
    """PyTorch's oldest tensor rebuild (a view of ``storage``; no requires_grad)."""
    from .serialization import torch_files
    return torch_files.rebuild_pickled(storage, storage_offset, size, stride, False)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    """The tensor of size / stride / offset over ``storage`` (its memory: shared) that a plain
    pickle of PyTorch's tensor holds. ``backward_hooks`` are not restored (PyTorch's neither:
    they are always pickled empty)."""
    from .serialization import torch_files
    return torch_files.rebuild_pickled(storage, storage_offset, size, stride, requires_grad,
                                       metadata)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    """``_rebuild_tensor_v2`` with the dtype given (an untyped storage: uint16 / 32 / 64)."""
    from .serialization import torch_files
    return torch_files.rebuild_pickled(storage, storage_offset, size, stride, requires_grad,
                                       metadata, dtype)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    """A Parameter of the tensor ``data`` (a plain pickle of PyTorch's Parameter)."""
    from .serialization import torch_files
    return torch_files.rebuild_pickled_parameter(data, requires_grad)


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """``_rebuild_parameter`` whose Parameter had attributes (``state``: set on it)."""
    from .serialization import torch_files
    return torch_files.rebuild_pickled_parameter(data, requires_grad, state)



def _rebuild_sparse_tensor(layout, data):
    """PyTorch's rebuild of a pickled sparse tensor (COO, CSR / CSC / BSR / BSC) from its
    indices, values and size; the invariants are checked."""
    from .serialization import torch_files
    return torch_files.rebuild_sparse(layout, data)
