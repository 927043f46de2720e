"""PyTorch's anomaly-mode switches by function (``set_anomaly_enabled``,
``is_anomaly_check_nan_enabled``) and ``Tensor.register_post_accumulate_grad_hook``."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable

from ..autograd import _Anomaly, post_accumulate_hooks
from ..modes import _set_anomaly
from ..tensor import Tensor, tensor_method

__all__ = ["is_anomaly_check_nan_enabled", "set_anomaly_enabled"]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off (``detect_anomaly`` as a switch).

    Args:
        enabled: whether anomaly mode is on (every op records where it was created).
        check_nan: whether, while on, backward raises at the first node whose gradients hold
            NaN (PyTorch's check; see ``detect_anomaly``).
    """
    _set_anomaly(enabled, check_nan)


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode's nan check is asked for (PyTorch's flag: True by default)."""
    return _Anomaly.check_nan


class _PostAccumulateHandle:
    """``remove()`` unregisters the hook."""

    def __init__(self, key: int, hook: Callable):
        self._key, self._hook = key, hook

    def remove(self) -> None:
        hooks = post_accumulate_hooks.get(self._key)
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                del post_accumulate_hooks[self._key]


@tensor_method
def register_post_accumulate_grad_hook(self, hook: Callable) -> _PostAccumulateHandle:
    """Call ``hook(tensor)`` each time ``backward()`` has accumulated this leaf's ``.grad``
    (after the gradient hooks; ``deltagrad.grad`` does not call it). The hook returns None.

    Args:
        hook: a callable taking this tensor.

    Returns:
        A handle whose ``remove()`` unregisters the hook.
    """
    if not self._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self._op is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    def checked(tensor):
        returned = hook(tensor)
        # (the tensor itself may come back, as from PyTorch's docs' example `lambda p:
        # p.add_(...)`; another tensor fails PyTorch's checks, type then size; s28 DX1)
        if returned is not None and returned is not tensor:
            if not isinstance(returned, Tensor):
                raise TypeError(f"expected Variable, but hook returned "
                                f"'{type(returned).__name__}'")
            name = getattr(hook, "__name__", type(hook).__name__)
            if returned.dtype != tensor.dtype:
                raise RuntimeError(f"hook '{name}' has changed the type of value (was "
                                   f"{tensor.type()} got {returned.type()})")
            if tuple(returned.shape) != tuple(tensor.shape):
                raise RuntimeError(f"hook '{name}' has changed the size of value")
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")

    key = id(self)
    hooks = post_accumulate_hooks.get(key)
    if hooks is None:
        hooks = post_accumulate_hooks[key] = []
        # The entry goes with the tensor (ids are reused once an object is freed).
        weakref.finalize(self, post_accumulate_hooks.pop, key, None)
    hooks.append(checked)
    return _PostAccumulateHandle(key, checked)


def _post_accumulate_grad_hooks(self):
    """PyTorch's ``_post_accumulate_grad_hooks``: the tensor's post-accumulate hooks as an
    ordered dict (None while it has none)."""
    hooks = post_accumulate_hooks.get(id(self))
    return OrderedDict(enumerate(hooks)) if hooks else None


Tensor._post_accumulate_grad_hooks = property(_post_accumulate_grad_hooks)
Tensor._has_symbolic_sizes_strides = False  # (PyTorch's: no symbolic shapes outside tracing)
tensor_method(lambda self: False, name="_is_zerotensor")  # (PyTorch's ZeroTensor: none here)
