"""``torch.nn.parameter``: where PyTorch programs import ``Parameter`` and its kin from."""

from .buffer import Buffer
from .lazy import UninitializedBuffer, UninitializedParameter, is_lazy
from .module import Parameter

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]

# Named where PyTorch defines them (``torch.nn.parameter.Parameter``: their reprs and
# ``torch.typename``; the module deltagrad.nn imports this one, so it is always set; s28 DX1)
for _cls in (Buffer, Parameter, UninitializedBuffer, UninitializedParameter):
    _cls.__module__ = __name__
del _cls
