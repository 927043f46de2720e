"""Fractional max pooling (Graham, 2014): ``F.fractional_max_pool2d/3d`` and the modules
``FractionalMaxPool2d/3d``, with PyTorch's pseudo-random windows.

Each plane's windows start at ``int((i + u) * alpha) - int(u * alpha)`` with ``alpha = (in -
kernel) / (out - 1)`` and the last at ``in - kernel``, computed in the input's dtype as
PyTorch does, for a sample ``u`` in [0, 1) per (batch, channel, dimension): drawn with
``rand`` from the global generator (the same stream as PyTorch's) unless ``_random_samples``
is given. The windows' maxima are gathered from the input, so the gradient flows to the
arg-max of each window (summed where windows overlap), as PyTorch's backward.
"""

from __future__ import annotations

import sys

import numpy as np

from .._engine.api.indexing import gather
from .._engine.api.random import rand
from .._engine.tensor import Tensor, _leaf
from .module import Module
from .pooling2d import linked

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d", "fractional_max_pool2d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
           "fractional_max_pool3d_with_indices"]


def _tuple(value, count: int) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value) if len(value) != 1 else tuple(value) * count
    return (value,) * count


def _starts(sample: np.ndarray, size: int, out: int, kernel: int) -> np.ndarray:
    """Window starts ``[..., out]`` for samples ``[...]`` (PyTorch's sequence, its dtype)."""
    starts = np.empty(sample.shape + (out,), dtype=np.int64)
    if out > 1:
        dtype = sample.dtype.type
        alpha = dtype(size - kernel) / dtype(out - 1)
        steps = np.arange(out - 1, dtype=sample.dtype)
        # (float -> int truncates toward zero, as C's cast; every value here is >= 0)
        first = ((steps + sample[..., None]) * alpha).astype(np.int64)
        starts[..., :-1] = first - (sample * alpha).astype(np.int64)[..., None]
    if out > 0:
        starts[..., -1] = size - kernel
    return starts


def _pool(name: str, input, kernel_size, output_size, output_ratio, samples, dims: int):
    x = input
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an "
                         "output_ratio")
    # PyTorch's Python layer runs first: the ratio's sizes and the samples' shape read
    # x.size(-k) (IndexError on too few dims) before the kernel checks the rank; the 2-d
    # form takes len() of the ratio (TypeError on a bare float, as PyTorch's)
    if output_size is None:
        if dims == 2 and len(output_ratio) > 2:
            raise ValueError(f"{name} requires output_ratio to either be a single Int or "
                             "tuple of Ints.")
        ratio = _tuple(output_ratio, dims)
        output_size = [int(x.size(d - dims) * r) for d, r in zip(range(dims), ratio)]
    if samples is None:
        samples = rand(1 if x.ndim == dims + 1 else x.size(0), x.size(-dims - 1), dims,
                       dtype=x.dtype)
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{name}(): Expected {dims + 1}D or {dims + 2}D tensor, but got "
                           f"{x.ndim}D")
    sizes = tuple(x.shape[-dims:])
    kernel, out = _tuple(kernel_size, dims), _tuple(output_size, dims)
    if len(kernel) != dims or len(out) != dims:
        raise RuntimeError(f"{name}(): kernel_size and output_size must have {dims} elements")
    # PyTorch's checks: 2-d allows o + k - 1 == size, 3-d does not (and tests time, width,
    # height in that order)
    where = (f"{name}()", (0, 1), 0) if dims == 2 else (f"{name}_out()", (0, 2, 1), 1)
    for d in where[1]:
        what = ("time", "height", "width")[d + 3 - dims]
        if out[d] + kernel[d] - 1 + where[2] > sizes[d]:
            raise RuntimeError(f"{where[0]}: pool {what} {kernel[d]} too large relative to "
                               f"input {what} {sizes[d]}")
    batched = x.ndim == dims + 2
    planes = x.shape[1] if batched else x.shape[0]
    u = samples.detach().numpy() if isinstance(samples, Tensor) else np.asarray(samples)
    if u.ndim != 3 or u.shape[1:] != (planes, dims):
        raise RuntimeError(f"{name}(): expected _random_samples of shape "
                           f"[N, {planes}, {dims}], got {list(u.shape)}")
    if not batched:
        x = x.unsqueeze(0)
    data = x.detach().numpy()
    if u.shape[0] < data.shape[0]:  # (PyTorch reads the first N rows of a longer one)
        raise RuntimeError(f"{name}(): _random_samples has {u.shape[0]} batches, input "
                           f"{data.shape[0]}")
    u = u[:data.shape[0]].astype(data.dtype, copy=False)
    # PyTorch's sample order: 2-d (width, height), 3-d (time, height, width)
    order = (1, 0) if dims == 2 else (0, 1, 2)
    starts = [_starts(u[..., order[d]], sizes[d], out[d], kernel[d]) for d in range(dims)]
    index = _argmax(data, starts, kernel, sizes, out)
    # (sizes spelled out, not -1: a batch of 0 has no size to infer)
    flat = x.reshape(*x.shape[:2], int(np.prod(sizes)))
    values = gather(flat, 2, _leaf(index.reshape(*index.shape[:2], int(np.prod(out))))).reshape(
        *x.shape[:2], *out)
    indices = _leaf(index)
    values = linked(values, x)  # (second derivatives zeros, as PyTorch's)
    if not batched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return values, indices


def _argmax(data, starts, kernel, sizes, out) -> np.ndarray:
    """The flat (per plane) index of each window's maximum: the first largest in row-major
    order, and the last NaN where there is one (PyTorch's scan: ``v > best or isnan(v)``)."""
    n, c = data.shape[:2]
    dims = len(sizes)
    strides = [int(np.prod(sizes[d + 1:], dtype=np.int64)) for d in range(dims)]
    # the input positions of every window element: [n, c, *out, *kernel] per dimension
    best_index = None
    best = None
    offsets = np.stack(np.meshgrid(*[np.arange(k) for k in kernel], indexing="ij"), -1)
    for offset in offsets.reshape(-1, dims):  # row-major over the window
        flat = np.zeros((n, c) + tuple(out), dtype=np.int64)
        for d in range(dims):
            shape = [n, c] + [1] * dims
            shape[2 + d] = out[d]
            flat = flat + (starts[d] + offset[d]).reshape(shape) * strides[d]
        value = np.take_along_axis(data.reshape(n, c, int(np.prod(sizes))),
                                   flat.reshape(n, c, int(np.prod(out))), 2).reshape(flat.shape)
        if best is None:
            best, best_index = value.copy(), flat
            continue
        take = (value > best) | np.isnan(value)
        best = np.where(take, value, best)
        best_index = np.where(take, flat, best_index)
    return best_index


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples=None) -> tuple[Tensor, Tensor]:
    """Fractional max pooling of ``[N, C, H, W]`` (or ``[C, H, W]``): values and indices."""
    return _pool("fractional_max_pool2d", input, kernel_size, output_size, output_ratio,
                 _random_samples, 2)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """2-d fractional max pooling (PyTorch's ``F.fractional_max_pool2d``).

    Args:
        input: float ``[N, C, H, W]`` or ``[C, H, W]``.
        kernel_size: the window, an int or ``(kH, kW)``.
        output_size: ``(oH, oW)`` (or an int), or None with ``output_ratio``.
        output_ratio: the output's size as a fraction of the input's.
        return_indices: also return the flat (per plane) indices of the maxima.
        _random_samples: ``[N, C, 2]`` samples in [0, 1) (else drawn from the generator).
    """
    values, indices = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples)
    return (values, indices) if return_indices else values


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples=None) -> tuple[Tensor, Tensor]:
    """Fractional max pooling of ``[N, C, T, H, W]`` (or ``[C, T, H, W]``)."""
    return _pool("fractional_max_pool3d", input, kernel_size, output_size, output_ratio,
                 _random_samples, 3)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """3-d fractional max pooling (PyTorch's ``F.fractional_max_pool3d``); as the 2-d form
    with ``[N, C, 3]`` samples (time, height, width)."""
    values, indices = fractional_max_pool3d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples)
    return (values, indices) if return_indices else values


class _FractionalMaxPool(Module):
    _dims = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples=None) -> None:
        super().__init__()
        dims = self._dims
        self.kernel_size = _tuple(kernel_size, dims)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _tuple(output_size, dims) if output_size is not None else None
        self.output_ratio = _tuple(output_ratio, dims) if output_ratio is not None else None
        name = type(self).__name__
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a "
                             "pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor):
        # (torch.nn.functional's, looked up now as PyTorch's: patches and subclasses see it)
        functional = sys.modules["deltagrad.nn.functional"]
        pool = functional.fractional_max_pool2d if self._dims == 2 else (
            functional.fractional_max_pool3d)
        return pool(input, self.kernel_size, self.output_size, self.output_ratio,
                    self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPool):
    """2-d fractional max pooling (``nn.FractionalMaxPool2d``): see ``fractional_max_pool2d``.

    Args:
        kernel_size: the window, an int or ``(kH, kW)``.
        output_size: ``(oH, oW)``; or ``output_ratio`` in (0, 1): exactly one of them.
        return_indices: also return the indices of the maxima.
        _random_samples: fixed ``[N, C, 2]`` samples (a buffer), else drawn per call.
    """

    _dims = 2


class FractionalMaxPool3d(_FractionalMaxPool):
    """3-d fractional max pooling (``nn.FractionalMaxPool3d``), as ``FractionalMaxPool2d``
    with ``(kT, kH, kW)`` windows and ``[N, C, 3]`` samples."""

    _dims = 3
