"""``inference_mode``: PyTorch's faster no_grad for evaluation, here the same switch as
``no_grad`` plus a flag that ``is_inference_mode_enabled`` reads."""

from __future__ import annotations

from .._engine.autograd import (  # noqa: F401 - PyTorch's torch.autograd.grad_mode names
    _GradMode,
    _InferenceMode,
    enable_grad,
    no_grad,
    set_grad_enabled,
)
from .._engine.modes import decorate
from .engine_switches import set_multithreading_enabled  # noqa: F401 - (as PyTorch's module)

__all__ = ["enable_grad", "enforce_grad_layout_policy", "inference_mode",
           "is_inference_mode_enabled", "no_grad", "set_grad_enabled",
           "set_multithreading_enabled"]


class inference_mode:  # noqa: N801 - PyTorch's name
    """Context manager (or decorator, with or without parentheses) in which operations record
    no graph, as PyTorch's ``inference_mode``; ``inference_mode(False)`` turns it off.

    Tensors made inside are marked as PyTorch's "inference tensors" (``is_inference()``; a view
    of a normal tensor stays normal), but deltagrad does not restrict them afterwards as
    PyTorch does (no saving for backward, no in-place change outside the mode).

    >>> import deltagrad as dg
    >>> x = dg.ones(2, requires_grad=True)
    >>> with dg.inference_mode():
    ...     y = x * 2
    >>> y.requires_grad, dg.is_inference_mode_enabled()
    (False, False)
    """

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):  # bare @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self._previous = (_GradMode.enabled, _InferenceMode.enabled, _InferenceMode.grad_on)
        _InferenceMode.grad_on = False  # (enable_grad inside: _engine/modes.py)
        _InferenceMode.enabled = self.mode
        _InferenceMode.marking = _InferenceMode.marking or self.mode
        _InferenceMode.used = _InferenceMode.used or self.mode
        _GradMode.enabled = not self.mode
        return self

    def __exit__(self, *exc) -> bool:
        _GradMode.enabled, _InferenceMode.enabled, _InferenceMode.grad_on = self._previous
        return False

    def __call__(self, function):
        mode = self.mode
        return decorate(function, lambda: inference_mode(mode))

    def clone(self) -> inference_mode:
        return inference_mode(self.mode)


def is_inference_mode_enabled() -> bool:
    """Whether the code runs inside ``inference_mode()``."""
    return _InferenceMode.enabled


_LAYOUT_POLICY = [True]  # (PyTorch's _is_grad_layout_enforcement_enabled, process-wide here)


class enforce_grad_layout_policy:  # noqa: N801 - PyTorch's name
    """Switch (context manager, decorator, or a plain call) of PyTorch's gradient layout
    contract: with ``False`` PyTorch may keep an incoming gradient's strides for a leaf's
    first ``.grad`` where it can steal it (an optimisation whose outcome depends on reference
    counts). deltagrad records the setting and always gives the leaf's layout (what PyTorch
    does when it cannot steal): values are the same either way.

    >>> import deltagrad as dg
    >>> with dg.autograd.enforce_grad_layout_policy(False):
    ...     dg.autograd.grad_mode._LAYOUT_POLICY[0]
    False
    """

    def __init__(self, enable: bool = True) -> None:
        self.prev = _LAYOUT_POLICY[0]
        _LAYOUT_POLICY[0] = bool(enable)
        self.mode = enable

    def __call__(self, function):
        _LAYOUT_POLICY[0] = self.prev
        mode = self.mode
        return decorate(function, lambda: enforce_grad_layout_policy(mode))

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> bool:
        _LAYOUT_POLICY[0] = self.prev
        return False

    def clone(self) -> enforce_grad_layout_policy:
        return enforce_grad_layout_policy(self.mode)
