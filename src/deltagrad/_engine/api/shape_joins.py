"""The checks and layout rules ``cat`` and ``stack`` (api/shape.py) share: the tensors argument
(``_tensor_list``, also stacking.py's), ``out=`` (``_write_joined``, with its overlap check) and
PyTorch's channels-last rule for a join (``_joins_channels_last``). Moved out of api/shape.py
(session 27, FS1) to keep it under the 800-line limit; shape.py imports them back.
"""

from __future__ import annotations

import numpy as np

from ..autograd import ShapeError, _GradMode
from ..tensor import Tensor
from ._common import NotATensorError
from ._common import type_name as _type_name
from ._pointwise import _CATEGORY, torch_name
from ._pointwise import write_out as _write_out


def _tensor_list(tensors, op: str) -> list:
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): expected a sequence of tensors, got a Tensor")
    tensors = list(tensors)
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):  # (PyTorch's parser: no list, ndarray or number)
            raise NotATensorError(f"{op}(): expected Tensor as element {i} in argument 0, but "
                                  f"got {_type_name(x)}")
    if not tensors:
        raise ShapeError("stack expects a non-empty TensorList" if op == "stack" else
                         f"{op}(): expected a non-empty list of Tensors")  # (PyTorch's words)
    return tensors


def _write_joined(out, joined: Tensor) -> Tensor:
    """cat's (and stack's) ``out=``: an ``out`` of a lower dtype category is PyTorch's
    TypeError naming torch.cat() (not elementwise out='s RuntimeError)."""
    if (isinstance(out, Tensor) and not (_GradMode.enabled and joined.requires_grad)
            and _CATEGORY[joined._data.dtype.kind] > _CATEGORY[out._data.dtype.kind]):
        # (an input that requires grad: _write_out's RuntimeError first, as PyTorch's)
        raise TypeError("torch.cat(): input types can't be cast to the desired output type "
                        f"{torch_name(out._data.dtype)}")
    return _write_out("cat", out, joined)


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two dense arrays share memory (PyTorch's overlap check: it gives up on strided
    ones, and so do we)."""
    return (a.flags.c_contiguous and b.flags.c_contiguous and a.size > 0 and b.size > 0
            and np.may_share_memory(a, b))


def _joins_channels_last(tensors, ndim: int) -> bool:
    """Whether all ``ndim``-d inputs are channels-last by PyTorch's is_channels_last_strides
    rule (ambiguities included), so that cat keeps that layout."""
    if not ((ndim == 4 or ndim == 5) and tensors[0]._data.ndim == ndim and (
            tensors[0]._data.strides[1] <= tensors[0]._data.strides[-1])):
        return False
    order = (1, 3, 2, 0) if ndim == 4 else (1, 4, 3, 2, 0)
    for x in tensors:
        sizes, strides = x._data.shape, x._data.strides
        if len(sizes) != ndim or strides[1] == 0:
            return False
        span = 0
        for d in order:
            if sizes[d] == 0 or strides[d] < span or (d == 0 and span == strides[1]):
                return False
            span = strides[d] * sizes[d] if sizes[d] > 1 else strides[d]
    return True
