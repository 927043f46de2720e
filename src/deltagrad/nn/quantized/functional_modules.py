"""``torch.nn.quantized.FloatFunctional`` and its kin: the float stand-ins models use for
``+``, ``*`` and ``cat`` before quantization (genuine: they compute in floating point)."""

from __future__ import annotations

from ..._engine.api.linalg import matmul
from ..._engine.api.pointwise import add, mul
from ..._engine.api.shape import cat
from .._functional_activations import relu
from ..layers import Identity
from ..module import Module
from ._unsupported import refuse

__all__ = ["FXFloatFunctional", "FloatFunctional", "QFunctional"]

_NO_FORWARD = ("FloatFunctional is not intended to use the 'forward'. "
               "Please use the underlying operation")


class FloatFunctional(Module):
    """Float operations with an observation point (``activation_post_process``, an Identity
    until a quantization pass would replace it): ``add``, ``add_scalar``, ``mul``,
    ``mul_scalar``, ``cat``, ``add_relu``, ``matmul``, as PyTorch's."""

    def __init__(self) -> None:
        super().__init__()
        self.activation_post_process = Identity()

    def forward(self, x):
        raise RuntimeError(_NO_FORWARD)

    def add(self, x, y):
        """``torch.add(x, y)``, observed."""
        return self.activation_post_process(add(x, y))

    def add_scalar(self, x, y: float):
        """``torch.add(x, y)`` with a number (not observed, as in PyTorch)."""
        return add(x, y)

    def mul(self, x, y):
        """``torch.mul(x, y)``, observed."""
        return self.activation_post_process(mul(x, y))

    def mul_scalar(self, x, y: float):
        """``torch.mul(x, y)`` with a number (not observed, as in PyTorch)."""
        return mul(x, y)

    def cat(self, x, dim: int = 0):
        """``torch.cat(x, dim=dim)``, observed."""
        return self.activation_post_process(cat(x, dim=dim))

    def add_relu(self, x, y):
        """``relu(torch.add(x, y))``, observed."""
        return self.activation_post_process(relu(add(x, y)))

    def matmul(self, x, y):
        """``torch.matmul(x, y)``, observed."""
        return self.activation_post_process(matmul(x, y))


class FXFloatFunctional(Module):
    """FloatFunctional without the observation point (FX graph mode's form)."""

    def forward(self, x):
        raise RuntimeError(_NO_FORWARD)

    def add(self, x, y):
        """``torch.add(x, y)``."""
        return add(x, y)

    def add_scalar(self, x, y: float):
        """``torch.add(x, y)`` with a number."""
        return add(x, y)

    def mul(self, x, y):
        """``torch.mul(x, y)``."""
        return mul(x, y)

    def mul_scalar(self, x, y: float):
        """``torch.mul(x, y)`` with a number."""
        return mul(x, y)

    def cat(self, x, dim: int = 0):
        """``torch.cat(x, dim=dim)``."""
        return cat(x, dim=dim)

    def add_relu(self, x, y):
        """``relu(torch.add(x, y))``."""
        return relu(add(x, y))

    def matmul(self, x, y):
        """``torch.matmul(x, y)``."""
        return matmul(x, y)


class QFunctional(Module):
    """PyTorch's quantized-tensor form of FloatFunctional: not supported (no quantized
    tensors); constructing one raises NotImplementedError."""

    def __init__(self, *args, **kwargs) -> None:
        raise refuse("torch.nn.quantized.QFunctional")
