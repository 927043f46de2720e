"""``torch.nn.parameter``: where PyTorch programs import ``Parameter`` and its kin from."""

from .buffer import Buffer
from .lazy import UninitializedBuffer, UninitializedParameter, is_lazy
from .module import Parameter

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]
