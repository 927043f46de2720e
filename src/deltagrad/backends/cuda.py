"""``deltagrad.backends.cuda``: CUDA matmul flags programs set (no effect on the CPU)."""

from __future__ import annotations

import warnings

from ..nn.attention import SDPBackend, sdpa_kernel

__all__ = ["is_built", "matmul", "sdp_kernel"]


class _MatmulFlags:
    """``backends.cuda.matmul.allow_tf32`` and kin: recorded, never used."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self) -> str:
        return f"matmul(allow_tf32={self.allow_tf32})"


matmul = _MatmulFlags()


def is_built() -> bool:
    """False: deltagrad is not built with CUDA."""
    return False


def sdp_kernel(enable_flash: bool = True, enable_math: bool = True,
               enable_mem_efficient: bool = True, enable_cudnn: bool = True):
    """PyTorch's deprecated ``torch.backends.cuda.sdp_kernel``: the context manager of
    ``torch.nn.attention.sdpa_kernel`` with the enabled backends given as flags (it warns, as
    PyTorch's does, with a FutureWarning)."""
    warnings.warn("torch.backends.cuda.sdp_kernel() is deprecated. In the future, this context "
                  "manager will be removed. Please see torch.nn.attention.sdpa_kernel() for the "
                  "new context manager, with updated signature.", FutureWarning, stacklevel=2)
    flags = ((enable_flash, SDPBackend.FLASH_ATTENTION), (enable_math, SDPBackend.MATH),
             (enable_mem_efficient, SDPBackend.EFFICIENT_ATTENTION),
             (enable_cudnn, SDPBackend.CUDNN_ATTENTION))
    return sdpa_kernel([backend for enabled, backend in flags if enabled])
