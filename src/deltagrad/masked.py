"""``deltagrad.masked``: PyTorch's ``torch.masked`` (MaskedTensor and masked reductions), which
deltagrad does not implement: each name raises NotImplementedError when used, rather than
computing over the masked-out elements."""

from __future__ import annotations

__all__ = ["MaskedTensor", "as_masked_tensor", "is_masked_tensor", "masked_tensor"]

_MESSAGE = ("deltagrad has no masked tensors (torch.masked); apply the mask explicitly, e.g. "
            "torch.where(mask, x, fill) before the reduction")

# torch.masked's reductions and normalisations: named, each refusing when called.
_FUNCTIONS = ("amax", "amin", "argmax", "argmin", "cumprod", "cumsum", "log_softmax",
              "logaddexp", "logsumexp", "mean", "median", "norm", "normalize", "prod",
              "softmax", "softmin", "std", "sum", "var")


class MaskedTensor:
    """A tensor with a validity mask: making one raises NotImplementedError."""

    def __init__(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"MaskedTensor is not supported: {_MESSAGE}")


def masked_tensor(data, mask, requires_grad: bool = False):
    """Not supported: raises NotImplementedError."""
    raise NotImplementedError(f"torch.masked.masked_tensor is not supported: {_MESSAGE}")


def as_masked_tensor(data, mask):
    """Not supported: raises NotImplementedError."""
    raise NotImplementedError(f"torch.masked.as_masked_tensor is not supported: {_MESSAGE}")


def is_masked_tensor(obj) -> bool:
    """False: deltagrad never makes masked tensors."""
    return False


def _refusing(name: str):
    def refuse(*args, **kwargs):
        raise NotImplementedError(f"torch.masked.{name} is not supported: {_MESSAGE}")

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"Not supported: raises NotImplementedError (torch.masked.{name})."
    return refuse


for _name in _FUNCTIONS:
    globals()[_name] = _refusing(_name)
del _name
__all__ += list(_FUNCTIONS)
