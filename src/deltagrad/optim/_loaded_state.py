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


# The options each PyTorch class's ``__setstate__`` gives a loaded group that lacks them
# (``group.setdefault(key, default)``, in its order): what another class's group loaded into
# this one gets (SGD's group into Adam: amsgrad False, ..., fused None). Classes without an
# own ``__setstate__`` add nothing. AdamW then sets decoupled_weight_decay to True.
_FLAGS = (("foreach", None), ("maximize", False), ("differentiable", False),
          ("capturable", False))
_SETSTATE_FLAGS = {
    "SGD": (("nesterov", False), ("maximize", False), ("foreach", None),
            ("differentiable", False), ("fused", False)),
    "Adam": (("amsgrad", False), ("maximize", False), ("foreach", None), ("capturable", False),
             ("differentiable", False), ("decoupled_weight_decay", False), ("fused", None)),
    "RMSprop": (("momentum", 0), ("centered", False), ("foreach", None), ("maximize", False),
                ("differentiable", False), ("capturable", False)),
    "Adagrad": (("foreach", None), ("maximize", False), ("differentiable", False),
                ("fused", None)),
    "Adadelta": _FLAGS, "Adamax": _FLAGS, "ASGD": _FLAGS, "Rprop": _FLAGS,
    "NAdam": (("maximize", False), ("foreach", None), ("capturable", False),
              ("differentiable", False), ("decoupled_weight_decay", False)),
    "RAdam": (("foreach", None), ("maximize", False), ("differentiable", False),
              ("decoupled_weight_decay", False), ("capturable", False)),
    "Adafactor": (("foreach", None),),
    "SparseAdam": (), "LBFGS": (), "Muon": (),
}


# deltagrad's optimizer classes' modules: their own, or PyTorch's paths, which they name
# while deltagrad runs as torch (torch_alias._TORCH_PATHS; no real torch is loaded then)
_OURS = ("deltagrad.optim", "torch.optim")


def _builtin_class(cls: type) -> str | None:
    """The name of the first deltagrad optimizer class in ``cls``'s MRO."""
    for klass in cls.__mro__:
        if klass.__module__.startswith(_OURS) and klass.__name__ in _SETSTATE_FLAGS:
            return klass.__name__
    return None


def _setstate_fill(cls: type, fill: dict[str, Any], same: bool) -> dict[str, Any]:
    """What a loaded group lacks and gets after ``__setstate__``: its parameter names, then
    the flags ``cls``'s PyTorch ``__setstate__`` sets by default (in its order, with its
    defaults); other options it lacks stay missing, as in PyTorch (RAdam's group loaded into
    NAdam has no momentum_decay: the step raises KeyError, as there). ``fill`` is this
    optimizer's group's options. A class outside deltagrad's: an older dict keeps them all
    (a subclass's __setstate__ may compute them: timm's Muon), another class's group gets the
    flags (None or bool) of the group it replaces."""
    names = {key: value for key, value in fill.items() if key == "param_names"}
    name = _builtin_class(cls)
    if name is None:
        if same:
            return fill
        return {**names, **{key: value for key, value in fill.items()
                            if value is None or isinstance(value, bool)}}
    return {**names, **dict(_SETSTATE_FLAGS[name])}


def _force_flags(cls: type, group: dict[str, Any]) -> None:
    """AdamW's ``__setstate__``: a loaded group's decoupled_weight_decay is True."""
    if any(klass.__module__.startswith(_OURS) and klass.__name__ == "AdamW"
           for klass in cls.__mro__):
        group["decoupled_weight_decay"] = True


# The state entries each PyTorch class's ``__setstate__`` reads from a parameter's non-empty
# loaded state (to make its step a tensor): a state without one (SGD's momentum buffer loaded
# into Adam) raises KeyError there, after the state and groups were loaded.
_SETSTATE_READS = {"SGD": (), "NAdam": ("step", "mu_product"), "ASGD": ("step", "eta", "mu"),
                   "SparseAdam": (), "LBFGS": (), "Muon": ()}


def _check_setstate_reads(optimizer: Any) -> None:
    """Raise PyTorch's KeyError for a loaded state that lacks an entry ``__setstate__`` reads."""
    name = _builtin_class(type(optimizer))
    if name is None:
        return
    reads = _SETSTATE_READS.get(name, ("step",))
    for group in optimizer.param_groups:
        for param in group["params"]:
            state = optimizer.state.get(param)
            if state:
                for key in reads:
                    if key not in state:
                        raise KeyError(key)


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
        if array.ndim == 0 and name != "step" and param.ndim != 0 and isinstance(value, Tensor):
            # (a 0-d state tensor no step of this class keeps, e.g. ASGD's eta loaded into
            # SGD: PyTorch's load casts it to the parameter's dtype and keeps it a tensor)
            return _cast_like_torch(value, param, name)
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
