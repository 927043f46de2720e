"""``torch.nn.modules.container``: the container modules."""

from ..containers import ParameterDict, ParameterList
from ..legacy_modules import Container
from ..module import ModuleDict, ModuleList, Sequential

__all__ = ["Container", "ModuleDict", "ModuleList", "ParameterDict", "ParameterList",
           "Sequential"]
