"""``deltagrad.cuda.amp``: PyTorch's older (deprecated) CUDA mixed-precision path.

The classes are deltagrad's ``amp`` ones (full precision, scaler disabled) with the CUDA forms'
signatures: ``autocast(enabled, dtype, cache_enabled)`` and ``GradScaler(init_scale, ...)``
without a device. As PyTorch's, building either warns ``FutureWarning`` (the path is deprecated).
"""

from __future__ import annotations

import warnings

from .. import amp as _amp
from ..amp import custom_bwd, custom_fwd

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


class autocast(_amp.autocast):  # noqa: N801 - PyTorch's name
    """``torch.cuda.amp.autocast``: a context manager and decorator that changes nothing (there
    is no CUDA device; PyTorch's disables itself too on such a machine)."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """``torch.cuda.amp.GradScaler``: disabled (there is no CUDA device), as PyTorch's is on a
    machine without CUDA: ``scale`` returns the loss, ``step`` calls ``optimizer.step()``."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                         enabled)
