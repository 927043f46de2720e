"""PyTorch's memory formats: ``memory_format`` and its four singletons (``contiguous_format``,
``preserve_format``, ``channels_last``, ``channels_last_3d``), the check of a
``memory_format=`` argument, a tensor laid out in a format and whether an array's strides are a
format's. Moved out of api/creation.py (session 27, FS1) to keep it under the 800-line limit;
creation.py imports them back (its ``__all__`` and every importer unchanged).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd import _Anomaly, _GradMode, _Recording
from ..ops import OPS
from ..tensor import Tensor, _result, apply


class memory_format:
    """PyTorch's ``torch.memory_format``: how a tensor's dims are laid out in memory.

    deltagrad's tensors are NumPy arrays, so a layout is a set of strides: ``contiguous_format``
    is row-major, ``channels_last`` (4-d) and ``channels_last_3d`` (5-d) keep the channel dim
    innermost, and ``preserve_format`` keeps whatever layout the input has.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:  # ('torch.channels_last' while deltagrad runs as torch)
        return f"{dtypes.PREFIX[0]}.{self._name}"

    def __reduce__(self):
        return self._name  # pickles as the module-level singleton


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

# The order of dims from innermost to outermost in memory, by channels-last format and rank.
_CHANNELS_LAST_ORDER = {channels_last: (4, (1, 3, 2, 0)), channels_last_3d: (5, (1, 4, 3, 2, 0))}


def check_memory_format(value, where: str, optional: bool = True) -> memory_format:
    """``value`` as a memory format (``None`` is ``preserve_format`` where ``optional``);
    ``TypeError`` for anything else, as PyTorch."""
    if value is None and optional:
        return preserve_format
    if not isinstance(value, memory_format):
        raise TypeError(f"{where}(): argument 'memory_format' must be deltagrad.memory_format, "
                        f"not {type(value).__name__}")
    return value


def in_memory_format(input: Tensor, fmt: memory_format, where: str) -> Tensor:
    """``input`` laid out as ``fmt`` (itself if it already is); differentiable. A channels-last
    format needs a tensor of its rank (``RuntimeError``, as PyTorch)."""
    if fmt is preserve_format:
        return input
    if fmt is contiguous_format:
        if input._data.flags.c_contiguous:
            return input
        data = input._data
        if (type(input) is Tensor and type(data) is np.ndarray and data.dtype.char in _COPIED
                and not (_GradMode.enabled and input._rg) and _Recording.notes is None
                and not _Anomaly.enabled and _Recording.tangents is None):  # (BR25: a dual)
            # NOTE: a fresh row-major copy with no node, made directly (PyTorch's: no view of
            # anything, _base None; the two reshapes below left a view of the first's copy):
            # q.transpose(1, 2).contiguous() on [1, 4, 8, 16] under no_grad 3.4 -> 1.4 us
            # over the transpose (/tmp/SP41/prof.py, thread time, one thread). The same bits.
            return _result(np.ascontiguousarray(data), None, (input,), None, False)
        if 0 in input._data.strides:  # (expanded: reshape(-1) kept the read-only zero strides)
            input = apply(OPS["clone"], input)  # (gpytorch writes into expand(...).contiguous())
            if input._data.flags.c_contiguous:
                return input
        if input._data.ndim == 1:  # (reshape(-1) of x[:, 0] is a view of it, not a copy)
            return apply(OPS["clone"], input)
        # reshape(-1) of a non-contiguous array copies in C order; the second is a view of it.
        return input.reshape(-1).reshape(input._data.shape)
    rank, order = _CHANNELS_LAST_ORDER[fmt]
    if input._data.ndim != rank:
        raise RuntimeError(f"{where}: required rank {rank} tensor to use {fmt._name} format")
    if is_contiguous_as(input._data, fmt):
        return input
    # Permute so that the channel dim is last, copy row-major, and permute back: a view of the
    # copy whose strides put the channels innermost (PyTorch's channels-last strides).
    to_last = (0, *range(2, rank), 1)
    back = (0, rank - 1, *range(1, rank - 1))
    return in_memory_format(input.permute(to_last), contiguous_format, where).permute(back)


_COPIED = "?bBhHiIlLqQefdEFD"  # (NumPy's dtypes of PyTorch's, bfloat16's "E" among them: the
# copy keeps its dtype, as the two reshapes did)


def is_contiguous_as(array: np.ndarray, fmt: memory_format) -> bool:
    """Whether ``array``'s strides are those of ``fmt`` (dims of size 1 are ignored, as in
    PyTorch); ``False`` for a channels-last format and an array of another rank."""
    if fmt is contiguous_format or fmt is preserve_format:
        return bool(array.flags.c_contiguous)
    rank, order = _CHANNELS_LAST_ORDER[fmt]
    if array.ndim != rank:
        return False
    expected = array.itemsize
    for dim in order:
        size = array.shape[dim]
        if size != 1:
            if array.strides[dim] != expected:
                return False
            expected *= size
    return True


def suggest_memory_format(array) -> memory_format:
    """PyTorch's ``suggest_memory_format``: channels_last (channels_last_3d) for a 4-d (5-d)
    tensor whose strides put its dims in that order (by its strides' order, not their
    density: PyTorch's ``is_channels_last_strides_2d``), else contiguous_format. ``Tensor.to``
    returns the tensor itself when asked for this format (no copy, even a non-contiguous one
    asked for contiguous_format, as PyTorch)."""
    for fmt, (rank, order) in _CHANNELS_LAST_ORDER.items():
        if array.ndim != rank or array.strides[1] == 0:
            continue
        least = 0
        for dim in order:
            size, stride = array.shape[dim], array.strides[dim]
            if size == 0 or stride < least or (dim == 0 and least == array.strides[1]):
                break
            least = stride * size if size > 1 else stride
        else:
            return fmt
    return contiguous_format
