"""``deltagrad.quantization``: PyTorch's older path ``torch.quantization``, the same names
(and the same objects) as ``deltagrad.ao.quantization``; its submodules (``observer``,
``qconfig``, ...) re-export the ``ao`` ones."""

import importlib as _importlib

from ..ao.quantization import *  # noqa: F403
from ..ao.quantization import __all__  # noqa: F401
from . import (  # noqa: F401 - PyTorch's submodules are attributes
    fake_quantize,
    fuse_modules,
    fuser_method_mappings,
    observer,
    qconfig,
    quant_type,
    quantization_mappings,
    quantize,
    quantize_fx,
    quantize_jit,
    stubs,
    utils,
)


def _load_shadowed() -> None:
    # `fuse_modules`, `quantize` and `quantize_jit` are functions and submodules: the star
    # import bound the functions, so `from . import` above never loaded those submodules, and a
    # later `import torch.quantization.fuse_modules` would replace the function with the module.
    # Loaded now, then the functions put back, as PyTorch's package ends up.
    for name in ("fuse_modules", "quantize", "quantize_jit"):
        function = globals()[name]
        _importlib.import_module(f"{__name__}.{name}")
        globals()[name] = function


_load_shadowed()
