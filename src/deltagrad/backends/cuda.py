"""``deltagrad.backends.cuda``: CUDA matmul flags programs set (no effect on the CPU)."""

from __future__ import annotations

__all__ = ["is_built", "matmul"]


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
