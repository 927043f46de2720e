"""``deltagrad.nn.quantized`` (``torch.nn.quantized``, also ``torch.ao.nn.quantized``):
FloatFunctional and FXFloatFunctional work (float operations); the quantized modules and
functions exist by name and raise NotImplementedError when used (no quantized tensors)."""

from . import dynamic, functional, modules
from .functional_modules import FloatFunctional, FXFloatFunctional, QFunctional
from .modules import *  # noqa: F403 - the quantized module names
from .modules import __all__ as _module_names

__all__ = ["FXFloatFunctional", "FloatFunctional", "QFunctional", "dynamic", "functional",
           "modules", *_module_names]
