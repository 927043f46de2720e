"""PyTorch's ``torch.__config__``: a text description of how this library was built
(``show()``) and of its threads (``parallel_info()``). deltagrad is pure Python on NumPy, so
both describe NumPy's build and the engine's intra-op threads."""

from __future__ import annotations

import platform

import numpy as np

from ._engine import threads

__all__ = ["parallel_info", "show"]


def show() -> str:
    """The build configuration as text (PyTorch's lists its compiler and BLAS; ours, NumPy's)."""
    from .version import __version__

    lines = [f"deltagrad {__version__} (pure Python on NumPy {np.__version__}, "
             f"Python {platform.python_version()})",
             "  - CPU only: no CUDA, ROCm or MPS build",
             "  - BLAS and LAPACK: NumPy's (numpy.show_config() lists them)"]
    return "\n".join(lines) + "\n"


def parallel_info() -> str:
    """The threads the library uses, as text (PyTorch's names its OpenMP/ATen settings)."""
    return (f"deltagrad intra-op pool: {threads.count()} thread(s) "
            "(deltagrad.set_num_threads)\n"
            "BLAS threads: NumPy's library (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS)\n")
