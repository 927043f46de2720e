"""What ``Optimizer.load_state_dict`` makes of a saved state: whether a saved group is another
optimizer class's, PyTorch's casts of the state it loads (``_cast_like_torch``, ``_loaded_value``,
``_loaded_scalar``, sharing a tensor that needs no cast), and the 0-d scalar-state tensor
(``_scalar_tensor``) the steps use too. Moved out of optimizer.py (session 27, FS1) to keep it
under the 800-line limit; optimizer.py imports them back, so its names are unchanged.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.dtypes import float64, get_default_dtype
from .._engine.tensor import Tensor

# Keys a learning-rate scheduler adds to a group (not another optimizer's options).
_SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "base_momentum",
                             "max_momentum", "param_names"})


def _other_class_group(saved: dict[str, Any], group: dict[str, Any],
                       defaults: dict[str, Any]) -> bool:
    """Whether a saved group is another optimizer class's: it lacks some of this one's
    options and has options this one does not know (an older state dict of the same class
    lacks options only)."""
    lacks = any(key in defaults and key not in saved for key in group)
    foreign = any(key != "params" and key not in defaults and key not in group
                  and key not in _SCHEDULER_KEYS for key in saved)
    return lacks and foreign


def _cast_like_torch(value: Any, param: Tensor, name: Any) -> Any:
    """PyTorch's load policy for state it knows nothing about: tensors copied, cast to a
    floating parameter's dtype (any shape, integer tensors too; ``step`` kept as saved);
    dicts, lists and tuples walked; anything else kept as it is."""
    if isinstance(value, Tensor):  # (bfloat16 too: timm's Adafactor keeps bfloat16 state)
        floating = param.is_floating_point() or param.is_complex()
        dtype = param.dtype if name != "step" and floating else value.dtype
        if value.dtype == dtype and _shareable(value, value._data.dtype, value._data.shape):
            return value  # (PyTorch's `value.to(dtype)` is the tensor itself then: shared)
        return value.detach().to(dtype, copy=True)
    if isinstance(value, dict):
        return {key: _cast_like_torch(item, param, key) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_like_torch(item, param, None) for item in value)
    return value


def _scalar_tensor(value: float = 0.0) -> Tensor:
    """A 0-d tensor holding a step count or another scalar state, in PyTorch's scalar dtype:
    float32, or float64 while the default dtype is float64."""
    dtype = np.float64 if get_default_dtype() == float64 else np.float32
    return from_numpy(np.array(value, dtype=dtype))


def _shareable(value: Any, dtype: np.dtype, shape: tuple) -> bool:
    """Whether a loaded state tensor can be kept itself, as PyTorch's load keeps a tensor
    whose dtype needs no cast (``opt2.load_state_dict(opt.state_dict())`` then shares the
    state): a writeable, C-contiguous Tensor of that dtype and shape that needs no grad."""
    if not isinstance(value, Tensor) or value.requires_grad:
        return False
    array = value._data
    return (array.dtype == dtype and array.shape == tuple(shape) and array.flags.writeable
            and array.flags.c_contiguous)


def _loaded_scalar(value: Any, param: Tensor, name: str) -> Any:
    """A scalar state entry (``_scalar_state``) as loaded: a new 0-d tensor. As in PyTorch,
    a saved tensor other than ``step`` is cast to a floating parameter's dtype, and saved
    numbers become tensors of the scalar dtype."""
    if isinstance(value, (Tensor, np.ndarray)):
        array = value._data if isinstance(value, Tensor) else value
        if array.size != 1:
            raise ValueError(f"loaded state {name!r} has shape {array.shape}; it should be a "
                             f"single number")
        dtype = array.dtype
        if name != "step" and param._data.dtype.kind == "f":
            dtype = param._data.dtype
        elif dtype.kind != "f":
            dtype = _scalar_tensor()._data.dtype
        if _shareable(value, dtype, ()):
            return value  # (PyTorch's load keeps a tensor it need not cast: shared)
        return from_numpy(np.array(array.reshape(()), dtype=dtype, copy=True))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return _scalar_tensor(float(value))
    return value


def _loaded_value(value: Any, param: Tensor, name: str) -> Any:
    """A state value as loaded: arrays copied (writeable, contiguous) in the parameter's dtype."""
    if isinstance(value, (Tensor, np.ndarray)):
        array = value._data if isinstance(value, Tensor) else value
        if array.ndim == 0 and (name == "step" or param.ndim != 0):
            # (a 0-d parameter's own state, e.g. its momentum buffer, stays a tensor)
            number = array.item()
            return int(number) if name == "step" else number
        if array.shape != param.shape:
            raise ValueError(
                f"loaded state {name!r} has shape {array.shape} but its parameter has shape "
                f"{param.shape}"
            )
        if _shareable(value, param._data.dtype, param._data.shape):
            return value  # (PyTorch's load keeps a tensor it need not cast: shared)
        return from_numpy(np.array(array, dtype=param.dtype, order="C", copy=True))
    if name == "step" and isinstance(value, float) and value.is_integer():
        return int(value)  # PyTorch keeps the step as a float
    return value
