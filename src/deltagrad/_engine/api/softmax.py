"""softmax / log_softmax along one dim (moved out of reductions.py, at its line limit; s29 SP49)."""

from __future__ import annotations

from ..ops import OPS
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import apply_checked, numpy_names, wrap_dim
from ._pointwise import input_tensor
from .reductions import _kind, _with_dtype

__all__ = ["log_softmax", "softmax"]

_SOFTMAX, _LOG_SOFTMAX = OPS["softmax"], OPS["log_softmax"]


# {"dim": d} for the dims of the common calls, shared (no dict built per call).
_DIM_ATTRS = tuple({"dim": d} for d in range(64))


def _softmax(op, name, input, dim, dtype):
    """softmax / log_softmax (``op`` the registered op) along ``dim``; ``name`` for errors."""
    if type(input) is Tensor and dtype is None and type(dim) is int:
        data = input._data
        ndim = data.ndim
        if -ndim <= dim < ndim and data.dtype.kind == "f":
            # The common call: a float tensor and an int dim in range go straight to the op
            # (F.softmax's forward on 8 x 8, with the op's in-place one: 25.6 -> 13.2 us).
            return apply_checked(op, input, _DIM_ATTRS[dim % ndim])
    input = input_tensor(input, name)
    if dim is None:
        raise TypeError(f"{name}(): missing the required argument 'dim'")
    wrap_dim(dim, input.ndim)
    input = _with_dtype(input, dtype)
    if _kind(input) != "f" and input._data.size == 0:  # (PyTorch: an empty result, its
        return _leaf(input._data.copy())  # kernel never runs; complex too)
    if _kind(input) not in "f":  # (complex too: F.softmax of one was computed)
        from ..forward_errors import scalar_word  # (PyTorch's words first; s28 BR18)

        kernel = "lastdim_kernel_impl" if input.ndim == 0 or wrap_dim(
            dim, input.ndim) == input.ndim - 1 else "kernel_impl"
        raise NotImplementedError(f'"{name}_{kernel}" not implemented for '
                                  f"'{scalar_word(input.dtype)}' ({name}: pass dtype= or "
                                  "convert the input to a real floating dtype)")
    dim = wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        return apply(op, input.reshape(1), dim=0).reshape(())
    return apply(op, input, dim=dim)


@tensor_method
@numpy_names
def softmax(input, dim=None, dtype=None):
    """``exp(input) / sum(exp(input), dim)`` along one dim, computed stably.

    Args:
        input: a floating tensor (or any, with ``dtype`` floating).
        dim: the dim to normalise over (required).
        dtype: cast the input to this dtype first.
    """
    # (a complex input: _softmax's NotImplementedError, after the dim's IndexError, as
    # PyTorch's; a dtype= casts first: complex64 -> float64 keeps the real part)
    return _softmax(_SOFTMAX, "softmax", input, dim, dtype)


@tensor_method
@numpy_names
def log_softmax(input, dim=None, dtype=None):
    """``log(softmax(input, dim))``, computed stably; arguments as ``softmax``."""
    return _softmax(_LOG_SOFTMAX, "log_softmax", input, dim, dtype)
