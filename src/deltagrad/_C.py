"""``torch._C`` for programs that touch PyTorch's C++ bindings: the few harmless entry points.

Third-party libraries call a handful of ``torch._C`` functions that have no effect on results
(torchmetrics logs API usage in every ``Metric.__init__``). This module answers those; any other
name raises AttributeError naming deltagrad, never a silent stand-in.
"""

from __future__ import annotations

import enum
import types

from ._engine.api.conversion import parse_to
from ._engine.api.creation import check_memory_format, preserve_format
from ._engine.api.settings import get_default_device
from ._engine.device import device
from ._engine.subclassing import DisableTorchFunction as _DisableTorchFunction
from ._engine.subclassing import DisableTorchFunctionSubclass
from ._engine.subclassing import disabled_torch_function_impl as _disabled_torch_function_impl
from ._engine.subclassing import is_dispatch_enabled as _is_torch_function_enabled
from ._engine.tensor import Tensor
from .nn import _aten_nn

__all__ = ["DisableTorchFunction", "DisableTorchFunctionSubclass", "DispatchKey",
           "DispatchKeySet", "Graph", "Value", "_TensorMeta", "_are_functorch_transforms_active",
           "_disabled_torch_function_impl", "_is_torch_function_enabled",
           "_get_default_device", "_get_tracing_state", "_is_tracing", "_log_api_usage_once",
           "_mps_is_available", "_nn"]

# The metaclass of Tensor (Lightning annotates with it at import time).
_TensorMeta = type(Tensor)


def _log_api_usage_once(event: str) -> None:
    """PyTorch records usage telemetry here; deltagrad records nothing."""


def _get_tracing_state() -> None:
    """None: deltagrad never runs under the TorchScript tracer."""
    return None


def _is_tracing() -> bool:
    """False, as ``jit.is_tracing``: asteroid-filterbanks asks before each convolution."""
    return False


def _are_functorch_transforms_active() -> bool:
    """False: deltagrad's ``func.vmap``/``grad`` call the function on ordinary tensors, so code
    under them may branch on values (kornia asks before a data-dependent shortcut)."""
    return False


def _mps_is_available() -> bool:
    """False: no Apple-GPU backend (``torch.backends.mps.is_available`` asks this binding;
    pytorch-forecasting's tests patch it)."""
    return False


def _get_default_device() -> str:
    """The default device's type as PyTorch's binding gives it: ``'cpu'`` (the only one)."""
    return get_default_device().type


def _parse_to(*args, **kwargs) -> tuple:
    """``torch._C._nn._parse_to``: ``Tensor.to``'s arguments as ``(device, dtype, non_blocking,
    memory_format)`` (Lightning's device mixin reads them before calling ``Module.to``)."""
    kwargs = dict(kwargs)
    layout = kwargs.pop("memory_format", None)
    if layout is not None:
        check_memory_format(layout, "to")
    found_device, dtype, non_blocking, _copy = parse_to(args, kwargs)
    if found_device is not None and not isinstance(found_device, device):
        found_device = device(found_device)
    return found_device, dtype, non_blocking, None if layout is preserve_format else layout


DisableTorchFunction = _DisableTorchFunction  # (subclasses and modes alike)


# Dispatch keys name PyTorch's C++ dispatcher slots; deltagrad has no dispatcher, so they are
# plain names and sets of names (torchvision builds a set of autocast keys at import time).
DispatchKey = enum.Enum("DispatchKey", [
    "Undefined", "CPU", "CUDA", "XPU", "Meta", "MPS", "AutogradCPU", "AutogradCUDA",
    "Autograd", "AutocastCPU", "AutocastCUDA", "AutocastXPU", "AutocastMPS",
    "CompositeImplicitAutograd", "CompositeExplicitAutograd", "Python", "PrivateUse1"])
DispatchKey.__module__ = "torch._C"


class DispatchKeySet:
    """A set of dispatch keys (``DispatchKeySet(DispatchKey.CPU) | ...``, ``.has(key)``)."""

    def __init__(self, *keys: DispatchKey) -> None:
        self._keys = frozenset(keys)

    def __or__(self, other: DispatchKeySet) -> DispatchKeySet:
        return DispatchKeySet(*(self._keys | other._keys))

    def __and__(self, other: DispatchKeySet) -> DispatchKeySet:
        return DispatchKeySet(*(self._keys & other._keys))

    def __sub__(self, other: DispatchKeySet) -> DispatchKeySet:
        return DispatchKeySet(*(self._keys - other._keys))

    def __eq__(self, other) -> bool:
        return isinstance(other, DispatchKeySet) and other._keys == self._keys

    def __hash__(self) -> int:
        return hash(self._keys)

    def has(self, key: DispatchKey) -> bool:
        """Whether ``key`` is in the set."""
        return key in self._keys

    def empty(self) -> bool:
        """Whether the set has no key."""
        return not self._keys

    def __repr__(self) -> str:
        names = ", ".join(sorted(key.name for key in self._keys))
        return f"DispatchKeySet({names})"


class _NoScriptGraph:
    """A TorchScript / ONNX graph type: deltagrad has neither, so nothing makes one; the name
    exists for annotations that modules evaluate at import (transformers' SEW-D dropout
    annotates its ONNX ``symbolic`` with ``torch._C.Graph`` and ``torch._C.Value``)."""

    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError(f"torch._C.{type(self).__name__}: deltagrad has no TorchScript or "
                           "ONNX graphs")


class Graph(_NoScriptGraph):
    """``torch._C.Graph``: a name for annotations only (see ``_NoScriptGraph``)."""


class Value(_NoScriptGraph):
    """``torch._C.Value``: a name for annotations only (see ``_NoScriptGraph``)."""


# `torch._C._nn`: the argument parser above and the ATen nn bindings deltagrad can serve
# (nn/_aten_nn.py: ATen's signatures over nn.functional); any other name raises AttributeError.
_nn = types.ModuleType(f"{__name__}._nn", "``torch._C._nn``: ATen's nn bindings.")
_nn.__dict__.update({name: getattr(_aten_nn, name) for name in _aten_nn._NAMES},
                    _parse_to=_parse_to, __getattr__=_aten_nn._missing)


def __getattr__(name: str):
    raise AttributeError(f"deltagrad._C (PyTorch's torch._C bindings) has no {name!r}: "
                         "deltagrad answers only the few entries libraries call for no effect")
