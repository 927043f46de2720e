"""PyTorch's deprecated ``Variable``: every Tensor is one, and ``Variable(t)`` makes a leaf."""

from __future__ import annotations

import numpy as np

from .._engine.api.factories import type_words
from .._engine.dtypes import _Default
from .._engine.errors import warn_at_caller
from .._engine.tensor import Tensor, _leaf


class _VariableType(type):
    # NOTE: `isinstance(t, Variable)` is true for every Tensor, as in PyTorch since 0.4.
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableType):
    """``Variable(tensor, requires_grad=False)``: a new leaf sharing ``tensor``'s values (the
    deprecated pre-0.4 wrapper; tensors do everything it did).

    Args:
        data: a Tensor (none: an empty one of the default dtype).
        requires_grad: whether the new leaf requires grad.
        volatile: removed in PyTorch: ignored, with PyTorch's UserWarning when true.

    Returns:
        A Tensor (not a Variable instance: there are none).
    """

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False):
        if data is None:  # (`Variable()`: an empty tensor of the default dtype, as PyTorch)
            data = _leaf(np.empty(0, dtype=_Default.float))
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if volatile:  # (every time, as PyTorch's legacy constructor)
            warn_at_caller("volatile was removed and now has no effect. Use "
                           "`with torch.no_grad():` instead.")
        # (PyTorch's legacy constructor reads any integer: Variable(x, requires_grad=1); a
        # float, None, a NumPy bool are its TypeError, s29 BR19)
        if type(requires_grad) is not bool and not isinstance(requires_grad, int):
            raise TypeError(f"'{type_words(requires_grad)}' object cannot be interpreted as "
                            f"an integer")
        return data.detach().requires_grad_(bool(requires_grad))
