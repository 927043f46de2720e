"""Max unpooling (1-d, 2-d, 3-d), the inverse of max pooling, as PyTorch's functionals: each
value goes back to its flat index in a zero output (``pooling2d._Put``, whose backward gathers
the gradient at the same positions); the layers are in ``pooling2d_layers.py``."""

from __future__ import annotations

import math

import numpy as np

from .._engine import ShapeError, Tensor
from .fold2d import _as_tensor, _ntuple
from .pooling2d import _Put

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]



def _raise(message: str):
    raise RuntimeError(message)


def _max_unpool(op: str, spatial: int, input, indices, kernel_size, stride, padding,
                output_size) -> Tensor:
    kernel = _ntuple(kernel_size, spatial, "kernel_size", op)  # (F's Python: these first)
    stride = kernel if stride is None else _ntuple(stride, spatial, "stride", op)
    padding = _ntuple(padding, spatial, "padding", op)
    x = _as_tensor(input)
    index_tensor = _as_tensor(indices)
    if x.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(f"{op}: expected a {spatial + 1}D or {spatial + 2}D input, got shape "
                         f"{list(x.shape)}")
    if index_tensor._data.dtype != np.int64:
        raise RuntimeError(f"{op}: expected indices to have dtype int64, got "
                           f"{index_tensor.dtype}")
    if tuple(index_tensor.shape) != tuple(x.shape):
        raise RuntimeError(f"{op}: expected the indices' shape {list(index_tensor.shape)} to "
                           f"equal the input's {list(x.shape)}")
    size = tuple(x.shape[x.ndim - spatial:])
    default = [(n - 1) * s + k - 2 * p for n, s, k, p in zip(size, stride, kernel, padding)]
    if output_size is None:
        out = tuple(default)
    else:
        out = [int(n) for n in output_size]
        if len(out) == spatial + 2 or (len(out) == spatial + 1 and x.ndim == spatial + 1):
            out = out[len(out) - spatial:]
        if len(out) != spatial:
            raise ValueError(f"output_size should be a sequence containing {spatial} or "
                             f"{spatial + 2} elements, but it has a length of '{len(out)}'")
        for want, low, s in zip(out, default, stride):
            if not low - s < want < low + s:
                raise ValueError(f"invalid output_size {out} (dim must be between "
                                 f"{[d - s for d, s in zip(default, stride)]} and "
                                 f"{[d + s for d, s in zip(default, stride)]})")
        out = tuple(out)
    batched = x.ndim == spatial + 2
    if not batched:
        x, index_tensor = x.unsqueeze(0), index_tensor.unsqueeze(0)
    index = index_tensor.detach().numpy()
    positions = math.prod(out)
    if positions == 0:  # (PyTorch checks no index then: an empty result, linked to x)
        result = x.flatten(2)[..., :0].reshape(tuple(x.shape[:2]) + out)
        result = result if batched else result.squeeze(0)
        if index.size and result.requires_grad:  # (its backward gathers there: it raises;
            message = (f"index {index.flat[0]} is out of bounds for dimension "  # zeros here)
                       f"{2 if batched else 1} with size 0")
            result.register_hook(lambda grad: _raise(message))
        return result
    bad = (index < 0) | (index >= positions)
    if bad.any():
        raise RuntimeError(f"Found an invalid max index: {index[bad].flat[0]} (output volumes "
                           f"are of size {'x'.join(map(str, out))})")
    # (a copy: the caller's indices changed in place after this call must not move the
    # gradient, which _Put's backward gathers at these positions)
    result = _Put.apply(x, index=np.array(index, order="C"),
                        shape=tuple(x.shape[:2]) + out, accumulate=False)
    return result if batched else result.squeeze(0)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The inverse of ``max_pool1d``: each value back at its index, zeros elsewhere
    (``F.max_unpool1d``).

    Args:
        input: ``[N, C, L]`` or ``[C, L]``: the maxima.
        indices: int64, the input's shape: ``max_pool1d(..., return_indices=True)``'s indices.
        kernel_size, stride, padding: those of the pooling.
        output_size: the output's size (default ``(L - 1) stride + kernel - 2 padding``).
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """``max_unpool1d`` for ``max_pool2d``'s output and flat indices (``F.max_unpool2d``)."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """``max_unpool1d`` for ``max_pool3d``'s output and flat indices (``F.max_unpool3d``)."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)
