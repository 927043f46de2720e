"""Process-wide settings programs set at start-up: print options, thread counts and the
deterministic-algorithms flag (PyTorch's names)."""

from __future__ import annotations

import math
import os
import warnings

from .. import meta as _meta
from .. import threads
from ..device import CPU, check_device
from ..tensor import PrintOptions

__all__ = ["DeviceObjType", "Event", "Stream", "are_deterministic_algorithms_enabled",
           "get_default_device",
           "get_float32_matmul_precision", "get_num_interop_threads", "get_num_threads",
           "set_default_device", "set_float32_matmul_precision",
           "is_deterministic_algorithms_warn_only_enabled", "set_num_interop_threads",
           "set_num_threads", "set_printoptions", "use_deterministic_algorithms"]


class DeviceObjType:
    """TorchScript's type of device values (``torch.DeviceObjType``): deltagrad has no
    TorchScript, so it serves annotations only (pytorch-forecasting writes ``str |
    torch.DeviceObjType``); as in PyTorch, a ``device`` is not an instance of it."""

    def __init__(self, *args, **kwargs) -> None:
        raise TypeError("deltagrad.DeviceObjType: No constructor defined")


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
    for name, value in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(value, bool):  # (PyTorch's: a bool, not 1, None or a NumPy bool)
            raise TypeError(f"use_deterministic_algorithms(): argument '{name}' must be bool, "
                            f"not {type(value).__name__}")
    _Threads.deterministic = bool(mode)
    _Threads.warn_only = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    """The flag ``use_deterministic_algorithms`` set."""
    return _Threads.deterministic


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` flag ``use_deterministic_algorithms`` set."""
    return _Threads.warn_only


def get_default_device():
    """Where factories put new tensors: ``device("cpu")``, or ``device("meta")`` (tensors with
    no data) under ``set_default_device("meta")`` or ``with device("meta"):``."""
    from ..device import device  # (DeviceObjType has no constructor: it is not the device)
    return device("meta") if _meta.default_is_meta() else CPU


def set_default_device(device) -> None:
    """Set the default device: ``None`` or the CPU, or ``"meta"`` (anything else raises
    ``RuntimeError``, since deltagrad runs on the CPU only)."""
    if not _meta.names_meta(device):
        check_device(device, "set_default_device")
    _meta.set_default_meta(_meta.names_meta(device))


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


_NO_CPU_EVENTS = "cpu backend doesn't support events."


class Stream:
    """PyTorch's device-generic ``torch.Stream``, on the CPU: work runs in order as it is
    issued, so ``query()`` is True and ``synchronize()`` returns at once; the CPU backend has no
    events (recording one raises, as in PyTorch). Another device raises."""

    def __init__(self, device=None, *, priority: int = 0) -> None:
        check_device(device, "Stream")
        self.stream_id, self.device_index, self.device_type = 0, -1, 0

    @property
    def device(self):
        return CPU

    def query(self) -> bool:
        """Whether all work issued on this stream is done (always, on the CPU)."""
        return True

    def synchronize(self) -> None:
        """Wait for this stream's work (already done on the CPU)."""

    def wait_event(self, event: Event) -> None:
        """Make later work wait for ``event`` (nothing to wait for on the CPU)."""

    def wait_stream(self, stream: Stream) -> None:
        """Make later work wait for ``stream``'s (needs an event: the CPU has none)."""
        raise RuntimeError(_NO_CPU_EVENTS)

    def record_event(self, event: Event | None = None) -> Event:
        """Record an event on this stream (the CPU has none)."""
        raise RuntimeError(_NO_CPU_EVENTS)

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def __eq__(self, other) -> bool:
        return type(other) is Stream

    def __hash__(self) -> int:
        return hash(("cpu stream", 0))

    def __repr__(self) -> str:
        return "torch.Stream device_type=cpu, device_index=-1, stream_id=0"


class Event:
    """PyTorch's device-generic ``torch.Event``, on the CPU: it can be made, queried and
    waited on (all at once), but the CPU backend cannot record it (raises, as in PyTorch)."""

    def __init__(self, device=None, *, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        check_device(device, "Event")
        self.event_id = 0
        self._timing = enable_timing

    @property
    def device(self):
        return CPU

    def record(self, stream: Stream | None = None) -> None:
        """Record the event on ``stream`` (the CPU has no events)."""
        raise RuntimeError(_NO_CPU_EVENTS)

    def query(self) -> bool:
        """Whether the event has completed (nothing pending on the CPU)."""
        return True

    def synchronize(self) -> None:
        """Wait for the event (nothing pending on the CPU)."""

    def wait(self, stream: Stream | None = None) -> None:
        """Make ``stream`` wait for the event (nothing pending on the CPU)."""

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds between two recorded events (never recorded on the CPU)."""
        if not (self._timing and end_event._timing):
            raise ValueError("Both events must be created with argument 'enable_timing=True'.")
        raise ValueError("Both events must be recorded before calculating elapsed time.")

    def __repr__(self) -> str:
        return "torch.Event device_type=cpu, device_index=-1, event_flag=0, event_id=0"
