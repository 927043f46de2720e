"""Process-wide settings programs set at start-up: print options, thread counts and the
deterministic-algorithms flag (PyTorch's names)."""

from __future__ import annotations

import math
import os
import warnings

from .. import threads
from ..device import CPU, check_device
from ..tensor import PrintOptions

__all__ = ["are_deterministic_algorithms_enabled", "get_default_device",
           "get_float32_matmul_precision", "get_num_interop_threads", "get_num_threads",
           "set_default_device", "set_float32_matmul_precision",
           "is_deterministic_algorithms_warn_only_enabled", "set_num_interop_threads",
           "set_num_threads", "set_printoptions", "use_deterministic_algorithms"]

_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """How tensors print, as PyTorch's ``set_printoptions`` (values are formatted by NumPy).

    Args:
        precision: digits after the decimal point (default 4).
        threshold: element count above which the middle is summarised with "..." (1000).
        edgeitems: items shown at each end of a summarised dimension (3).
        linewidth: characters per line (80).
        profile: "default", "short" or "full" (no summarising): sets the four above first.
        sci_mode: True / False force scientific notation on / off; None lets NumPy decide.
    """
    if profile in _PROFILES:
        (PrintOptions.precision, PrintOptions.threshold, PrintOptions.edgeitems,
         PrintOptions.linewidth) = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(PrintOptions, name, value)
    # PyTorch: sci_mode=None restores "decide automatically".
    PrintOptions.sci_mode = sci_mode
    if PrintOptions.threshold == math.inf:
        PrintOptions.threshold = 2**63 - 1  # NumPy wants an integer


class _Threads:
    intra = None  # None until set: then the count set_num_threads recorded
    interop = None
    deterministic = False
    warn_only = False


def _check_count(name: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise RuntimeError(f"{name} expects an int, but got {type(value).__name__}")
    if value <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    return value


def set_num_threads(num: int) -> None:
    """Set the number of intra-op threads: deltagrad's pool (large softmax rows and special
    function blocks split across it, ``_engine/threads.py``) and NumPy's BLAS (matmul).

    With the optional ``threadpoolctl`` package installed the BLAS pool is resized now; without
    it a warning says that the BLAS pool keeps its size (set ``OMP_NUM_THREADS`` before Python
    starts instead).
    """
    _Threads.intra = _check_count("set_num_threads", num)
    threads.set_count(num)
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - depends on the environment
        warnings.warn("set_num_threads: threadpoolctl is not installed, so NumPy's BLAS keeps "
                      "its thread count; set OMP_NUM_THREADS before starting Python",
                      RuntimeWarning, stacklevel=2)
        return
    threadpoolctl.threadpool_limits(limits=num, user_api="blas")


def get_num_threads() -> int:
    """The number of threads set by ``set_num_threads``; before that, the BLAS pool's size
    (with ``threadpoolctl``) or the number of CPUs."""
    if _Threads.intra is not None:
        return _Threads.intra
    try:
        import threadpoolctl
    except ImportError:  # pragma: no cover - depends on the environment
        return os.cpu_count() or 1
    sizes = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
             if pool.get("user_api") == "blas"]
    return max(sizes) if sizes else os.cpu_count() or 1


def set_num_interop_threads(num: int) -> None:
    """Recorded only: deltagrad runs no inter-op thread pool."""
    _Threads.interop = _check_count("set_num_interop_threads", num)


def get_num_interop_threads() -> int:
    """The number given to ``set_num_interop_threads`` (default: the number of CPUs)."""
    return _Threads.interop if _Threads.interop is not None else os.cpu_count() or 1


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """A recorded flag: every deltagrad op is already deterministic on the CPU (the same inputs
    and seeds give the same bits), so there is nothing to switch."""
    _Threads.deterministic = bool(mode)
    _Threads.warn_only = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """The flag ``use_deterministic_algorithms`` set."""
    return _Threads.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` flag ``use_deterministic_algorithms`` set."""
    return _Threads.warn_only


def get_default_device():
    """Where factories put new tensors: always ``device("cpu")`` (deltagrad runs on the CPU)."""
    return CPU


def set_default_device(device) -> None:
    """Set the default device: ``None`` or the CPU (anything else raises ``RuntimeError``,
    since deltagrad runs on the CPU only)."""
    check_device(device, "set_default_device")


_MATMUL_PRECISION = ["highest"]


def get_float32_matmul_precision() -> str:
    """The float32 matmul precision last set: ``"highest"`` unless changed. NumPy's BLAS
    always computes float32 products in full float32 precision, whatever the setting."""
    return _MATMUL_PRECISION[0]


def set_float32_matmul_precision(precision: str) -> None:
    """Record PyTorch's float32 matmul precision (``"highest"``, ``"high"``, ``"medium"``);
    it lets PyTorch use TF32/bf16 on GPUs and has no effect on NumPy's CPU products. Other
    values warn and are ignored, as in PyTorch."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", stacklevel=2)
        return
    _MATMUL_PRECISION[0] = precision
