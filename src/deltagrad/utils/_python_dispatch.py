"""``deltagrad.utils._python_dispatch``: the names of PyTorch's ``torch.utils._python_dispatch``
that libraries import at module level (ptflops's ATen counter, for one).

deltagrad has no dispatcher for a mode to intercept, so, as ``overrides.TorchFunctionMode``,
a ``TorchDispatchMode`` can be subclassed but entering one raises ``NotImplementedError``: a
mode that silently saw nothing would give wrong results (a FLOP count of zero)."""

from __future__ import annotations

__all__ = ["TorchDispatchMode", "is_traceable_wrapper_subclass"]

_NO_DISPATCH = ("deltagrad does not implement __torch_dispatch__ modes: it has no ATen "
                "dispatcher whose calls a mode could see")


class TorchDispatchMode:
    """PyTorch's base class of dispatch modes; entering one raises ``NotImplementedError``."""

    def __init__(self, _dispatch_key=None) -> None:
        pass

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError(_NO_DISPATCH)

    def __enter__(self):
        raise NotImplementedError(f"{type(self).__name__}: {_NO_DISPATCH}")

    def __exit__(self, *exc) -> None:
        return None


def _get_current_dispatch_mode():
    """No dispatch mode is ever active: None."""
    return None


def _get_current_dispatch_mode_stack() -> list:
    """No dispatch mode is ever active: an empty stack."""
    return []


def is_traceable_wrapper_subclass(t) -> bool:
    """False: deltagrad has no ``__torch_dispatch__`` wrapper subclasses."""
    return False
