"""``torch._subclasses.fake_tensor``: fake tensors (shape-only tensors for tracing) do not exist
in deltagrad, so no tensor is one."""

from __future__ import annotations

__all__ = ["FakeTensor", "FakeTensorMode", "is_fake"]


class FakeTensor:
    """PyTorch's shape-only tensor: never made here (``isinstance(x, FakeTensor)`` is False)."""

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError("deltagrad has no fake tensors (no graph tracer)")


class FakeTensorMode:
    """PyTorch's mode that makes fake tensors: not supported."""

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError("deltagrad has no FakeTensorMode (no graph tracer)")


def is_fake(x) -> bool:
    """Whether ``x`` is (or wraps) a fake tensor: never, in deltagrad."""
    return False
