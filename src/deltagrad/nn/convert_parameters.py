"""Flatten parameters into one vector and back (PyTorch's ``nn.utils.parameters_to_vector``)."""

from __future__ import annotations

from collections.abc import Iterable

from .._engine import Tensor
from .._engine.api.shape import cat

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable).

    >>> import deltagrad as dg
    >>> parameters_to_vector([dg.ones(2, 2), dg.zeros(3)]).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    if isinstance(parameters, Tensor):
        raise TypeError(f"expected an iterable of Tensors, but got {type(parameters).__name__}")
    return cat([p.reshape(-1) for p in parameters], 0)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Make each parameter's ``.data`` the next slice of the 1-D ``vec`` (no graph).

    As PyTorch's, the parameters then share ``vec``'s memory and take its dtype; entries past
    the parameters' total are left unused.

    Args:
        vec: a 1-D tensor with at least as many entries as all parameters together.
        parameters: the tensors to rebind (shapes as they are).
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    # (no check of the whole first: as PyTorch's, each parameter in turn takes its slice, and
    # one that the rest of a short vector cannot fill raises view_as's error after the
    # parameters before it were rebound)
    vec = vec.detach()
    offset = 0
    for param in parameters:
        size = param.numel()
        param.data = vec[offset:offset + size].view_as(param)
        offset += size
