"""``deltagrad.backends``: the backend flags PyTorch programs set (``cudnn.deterministic``,
``cudnn.benchmark``, ``cuda.matmul.allow_tf32``) and query (``mps.is_available()``,
``mkldnn.is_available()``, ``openmp`` / ``mkl`` / ``opt_einsum``'s).

deltagrad computes with NumPy on the CPU, so these are plain settable attributes that change
nothing; the queries answer that no GPU backend is available.
"""

from . import (
    cpu,
    cuda,
    cudnn,
    cusparselt,
    mha,
    mkl,
    mkldnn,
    mps,
    nnpack,
    openmp,
    opt_einsum,
    quantized,
)

__all__ = ["cpu", "cuda", "cudnn", "cusparselt", "mha", "mkl", "mkldnn", "mps", "nnpack",
           "openmp", "opt_einsum", "quantized"]
