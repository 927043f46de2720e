"""``deltagrad.cuda.amp``: PyTorch's older (deprecated) CUDA mixed-precision path.

The classes are deltagrad's ``amp`` ones (full precision, scaler disabled) with the CUDA forms'
signatures: ``autocast(enabled, dtype, cache_enabled)`` and ``GradScaler(init_scale, ...)``
without a device. As PyTorch's, building either warns ``FutureWarning`` (the path is deprecated).
"""

from __future__ import annotations

from .. import amp as _amp
from ..amp import custom_bwd, custom_fwd

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]

autocast, GradScaler = _amp.deprecated_forms("cuda", __name__)
autocast.__doc__ = """``torch.cuda.amp.autocast``: a context manager and decorator that changes
nothing (there is no CUDA device; PyTorch's disables itself too on such a machine)."""
GradScaler.__doc__ = """``torch.cuda.amp.GradScaler``: disabled (there is no CUDA device), as
PyTorch's is on a machine without CUDA: ``scale`` returns the loss, ``step`` calls
``optimizer.step()``."""
