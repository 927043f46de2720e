"""``torch.nn.modules.container``: the container modules."""

from ..containers import ParameterDict, ParameterList
from ..module import ModuleDict, ModuleList, Sequential

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]
