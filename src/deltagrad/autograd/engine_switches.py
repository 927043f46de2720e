"""PyTorch's backward-engine switches that have nothing to switch here, and ``is_tensor_like``.

deltagrad's backward runs on the calling thread and never replays views, so
``set_multithreading_enabled`` only records its flag (which ``is_multithreading_enabled``
reads back, PyTorch's default True) and ``is_view_replay_enabled`` is PyTorch's default, False.
"""

from __future__ import annotations

import threading

from .._engine.modes import decorate
from .._engine.tensor import Tensor

__all__ = ["is_multithreading_enabled", "is_tensor_like", "is_view_replay_enabled",
           "set_multithreading_enabled"]

_state = threading.local()  # (thread-local, as PyTorch's flag)


def is_multithreading_enabled() -> bool:
    """Whether ``set_multithreading_enabled`` last set the flag on (default True)."""
    return getattr(_state, "multithreading", True)


def is_view_replay_enabled() -> bool:
    """``False``: views are never replayed (PyTorch's default)."""
    return False


class set_multithreading_enabled:  # noqa: N801 - PyTorch's name
    """Set the multithreaded-backward flag (on construction, as PyTorch's), restored when the
    ``with`` block ends; usable as a decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = is_multithreading_enabled()
        _state.multithreading = bool(mode)
        self.mode = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        _state.multithreading = self.prev

    def __call__(self, function):
        mode = self.mode
        return decorate(function, lambda: set_multithreading_enabled(mode))

    def clone(self) -> set_multithreading_enabled:
        return self.__class__(self.mode)


def is_tensor_like(inp) -> bool:
    """Whether ``inp`` is a Tensor or has ``__torch_function__`` (a tensor-like object)."""
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")
