"""PyTorch's ``*_copy`` functions (``torch.t_copy``, ``torch.expand_copy``, ...): each view
op followed by a contiguous copy, so the result never aliases the input (gradients flow back
through both steps)."""

from __future__ import annotations

import numbers

from .. import dtypes
from ..tensor import Tensor, tensor_method
from ._common import NOT_GIVEN, int_arg, tensor_input
from ._pointwise import write_out
from .attributes import clone, split_with_sizes
from .complex import view_as_complex, view_as_real
from .conversion import is_dtype
from .creation import contiguous_format
from .rearrange import diagonal
from .shape import (
    _wrap_dim,
    expand,
    narrow,
    permute,
    select,
    split,
    squeeze,
    t,
    transpose,
    unbind,
    unfold,
    unsqueeze,
    view,
)
from .strided import as_strided

__all__ = ["alias_copy", "as_strided_copy", "detach_copy", "diagonal_copy", "expand_copy",
           "narrow_copy", "permute_copy", "select_copy", "slice_copy", "split_copy",
           "split_with_sizes_copy", "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy",
           "unfold_copy", "unsqueeze_copy", "values_copy", "view_as_complex_copy",
           "view_as_real_copy", "view_copy"]


def _fresh(view: Tensor, out=None, name: str = "") -> Tensor:
    # (clone in the contiguous format: PyTorch's copies are row-major whatever the view's
    # strides, and never share the input's memory, even where the view is the input itself)
    copied = clone(view, memory_format=contiguous_format)
    # (out= as PyTorch's *_copy functions: of the result's dtype exactly, resized if needed)
    return copied if out is None else write_out(name, out, copied, exact=True)


def alias_copy(input: Tensor, *, out=None) -> Tensor:
    """A copy of ``input`` (``torch.alias_copy``): what ``alias`` views, freshly allocated."""
    return _fresh(tensor_input(input), out, "alias_copy")


def as_strided_copy(input: Tensor, size, stride, storage_offset: int | None = None,
                    *, out=None) -> Tensor:
    """``as_strided(input, size, stride, storage_offset)``, copied (``torch.as_strided_copy``)."""
    return _fresh(as_strided(input, size, stride, storage_offset), out, "as_strided_copy")


def detach_copy(input: Tensor, *, out=None) -> Tensor:
    """A copy of ``input`` outside the graph (``torch.detach_copy``)."""
    return _fresh(tensor_input(input).detach(), out, "detach_copy")


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1,
                  *, out=None) -> Tensor:
    """``diagonal(input, offset, dim1, dim2)``, copied (``torch.diagonal_copy``)."""
    return _fresh(diagonal(input, offset, dim1, dim2), out, "diagonal_copy")


def expand_copy(input: Tensor, size, *, implicit: bool = False, out=None) -> Tensor:
    """``input.expand(size)``, materialized (``torch.expand_copy``)."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"expand_copy(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{type(size).__name__}")
    return _fresh(expand(tensor_input(input), size), out, "expand_copy")


@tensor_method
def narrow_copy(input: Tensor, dim: int, start: int, length: int, *, out=None) -> Tensor:
    """``narrow(input, dim, start, length)``, copied (``torch.narrow_copy``)."""
    if getattr(input, "layout", None) is dtypes.sparse_coo:
        return _narrow_copy_coo(input, dim, start, length)
    if isinstance(dim, int) and isinstance(input, Tensor) and dim >= max(input.ndim, 1):
        # (PyTorch's narrow_copy checks a dim past the end itself: a RuntimeError, where
        # narrow's own check, also for one below -ndim, is an IndexError)
        raise RuntimeError(f"narrow_copy(): Expected dim < {input.ndim}, got {dim}")
    return _fresh(narrow(input, dim, start, length), out, "narrow_copy")


def _narrow_copy_coo(input, dim: int, start: int, length: int):
    """``narrow_copy`` of a sparse COO tensor (s28 DX1: was a TypeError): the entries whose
    index along a sparse ``dim`` lies in the range, shifted; along a dense dim, the values
    narrowed. As PyTorch's: no negative dim or start; coalesced as the input was."""
    from ..autograd import _GradMode
    from .sparse_coo import sparse_coo_tensor

    ndim = input.ndim
    if not 0 <= dim < ndim:
        raise RuntimeError(f"Dimension {dim} out of range. Expecting 0 <= dim < {ndim}.")
    size = input.shape[dim]
    if start < 0 or length < 0 or start + length > size:
        raise RuntimeError("Invalid range to narrow. range(start, start+length) must be a "
                           f"subset of range(0, {size}).")
    if input.requires_grad and _GradMode.enabled:
        raise NotImplementedError("narrow_copy: gradients through a sparse COO tensor are not "
                                  "supported (its values are, under no_grad)")
    indices, values = input._indices()._data, input._values()._data
    sparse = input.sparse_dim()
    if dim < sparse:
        keep = (indices[dim] >= start) & (indices[dim] < start + length)
        indices, values = indices[:, keep].copy(), values[keep]
        indices[dim] -= start
    else:
        values = values[(slice(None),) * (dim - sparse + 1) + (slice(start, start + length),)]
    shape = list(input.shape)
    shape[dim] = length
    return sparse_coo_tensor(indices, values.copy(), shape, is_coalesced=input.is_coalesced(),
                             check_invariants=False)


def permute_copy(input: Tensor, dims, *, out=None) -> Tensor:
    """``input.permute(dims)``, copied (``torch.permute_copy``)."""
    return _fresh(permute(input, dims), out, "permute_copy")


def select_copy(input: Tensor, dim: int, index: int, *, out=None) -> Tensor:
    """``select(input, dim, index)``, copied (``torch.select_copy``)."""
    return _fresh(select(input, dim, index), out, "select_copy")


def slice_copy(input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
               step: int = 1, *, out=None) -> Tensor:
    """``input[..., start:end:step, ...]`` along ``dim``, copied (``torch.slice_copy``)."""
    input = tensor_input(input)
    dim, step = int_arg(dim, "dim", "slice_copy"), int_arg(step, "step", "slice_copy")
    start = None if start is None else int_arg(start, "start", "slice_copy")
    end = None if end is None else int_arg(end, "end", "slice_copy")
    if input.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if not isinstance(step, numbers.Integral) or step <= 0:
        raise RuntimeError("slice step must be positive")
    dim = _wrap_dim(dim, input.ndim)
    sliced = input[(slice(None),) * dim + (slice(start, end, int(step)),)]
    return _fresh(sliced, out, "slice_copy")


def split_copy(input: Tensor, split_size, dim: int = 0) -> tuple:
    """``split(input, split_size, dim)``, each piece copied (``torch.split_copy``)."""
    split_size = int_arg(split_size, "split_size", "split_copy")  # (one int, not a list)
    return tuple(_fresh(piece) for piece in split(input, split_size, dim))


def split_with_sizes_copy(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split_with_sizes(input, split_sizes, dim)``, each piece copied."""
    return tuple(_fresh(piece) for piece in split_with_sizes(tensor_input(input), split_sizes, dim))


def squeeze_copy(input: Tensor, dim=NOT_GIVEN, *, out=None) -> Tensor:
    """``squeeze(input, dim)``, copied (``torch.squeeze_copy``; a None dim raises, as there)."""
    return _fresh(squeeze(input, dim), out, "squeeze_copy")


def t_copy(input: Tensor, *, out=None) -> Tensor:
    """``input.t()``, copied (``torch.t_copy``)."""
    return _fresh(t(input), out, "t_copy")


def transpose_copy(input: Tensor, dim0: int, dim1: int, *, out=None) -> Tensor:
    """``transpose(input, dim0, dim1)``, copied (``torch.transpose_copy``)."""
    return _fresh(transpose(input, dim0, dim1), out, "transpose_copy")


def unbind_copy(input: Tensor, dim: int = 0) -> tuple:
    """``unbind(input, dim)``, each slice copied (``torch.unbind_copy``)."""
    return tuple(_fresh(piece) for piece in unbind(input, dim))


def unfold_copy(input: Tensor, dimension: int, size: int, step: int, *, out=None) -> Tensor:
    """``input.unfold(dimension, size, step)``, copied (``torch.unfold_copy``)."""
    return _fresh(unfold(input, dimension, size, step), out, "unfold_copy")


def unsqueeze_copy(input: Tensor, dim: int, *, out=None) -> Tensor:
    """``unsqueeze(input, dim)``, copied (``torch.unsqueeze_copy``)."""
    return _fresh(unsqueeze(input, dim), out, "unsqueeze_copy")


def values_copy(input) -> Tensor:
    """``torch.values_copy``: a compressed (CSR / CSC / BSR / BSC) tensor's ``values()``,
    copied; PyTorch's CPU build has no kernel for a COO tensor, and a dense one raises."""
    if not getattr(input, "is_sparse", False) and input.layout.name.startswith("sparse_"):
        return input.values().clone()
    if getattr(input, "is_sparse", False):
        raise NotImplementedError("Could not run 'aten::values_copy' with arguments from the "
                                  "'SparseCPU' backend")
    raise RuntimeError("values expected sparse tensor layout but got Strided")


def view_as_complex_copy(input: Tensor, *, out=None) -> Tensor:
    """``view_as_complex(input)``, copied (``torch.view_as_complex_copy``)."""
    return _fresh(view_as_complex(input), out, "view_as_complex_copy")


def view_as_real_copy(input: Tensor, *, out=None) -> Tensor:
    """``view_as_real(input)``, copied (``torch.view_as_real_copy``)."""
    return _fresh(view_as_real(input), out, "view_as_real_copy")


def view_copy(input: Tensor, size=None, *, dtype=None, out=None) -> Tensor:
    """``input.view(size)`` (a shape, or a dtype to reinterpret as), copied
    (``torch.view_copy``); the dtype may come as ``dtype=``, PyTorch's keyword for it."""
    input = tensor_input(input)
    if (size is None) == (dtype is None):
        raise TypeError("view_copy() takes a size or a dtype (one of them)")
    size = size if dtype is None else dtype
    if not isinstance(size, (tuple, list)) and not is_dtype(size):
        raise TypeError(f"view_copy(): argument 'size' must be tuple of ints or a dtype, not "
                        f"{type(size).__name__}")
    # (the shape as one tuple: spread out, the 0-d shape [] would be no argument at all)
    viewed = view(input, tuple(size)) if isinstance(size, (tuple, list)) else view(input, size)
    return _fresh(viewed, out, "view_copy")
