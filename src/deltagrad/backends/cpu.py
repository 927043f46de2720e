"""``deltagrad.backends.cpu``: PyTorch's query of the CPU kernels' vector instruction set.

deltagrad computes with NumPy, not with ATen's vectorised kernels, so it answers ``'DEFAULT'``
(PyTorch's answer on a CPU without AVX2): libraries that choose a path by it take the portable
one (torchvision then resizes uint8 images through float32, as PyTorch does on such CPUs, not
with its AVX2-only fixed-point uint8 kernel: results may differ from an AVX2 PyTorch's by one
grey level).
"""

from __future__ import annotations

__all__ = ["get_cpu_capability"]


def get_cpu_capability() -> str:
    """``'DEFAULT'``: deltagrad has no vectorised (AVX2/AVX512) ATen kernels."""
    return "DEFAULT"
