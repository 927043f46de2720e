"""``deltagrad.cuda``: PyTorch's CUDA queries, answered for a library that runs on the CPU.

Programs ask ``cuda.is_available()`` to choose a device and seed CUDA's generators in their
set-up code; these answer (False, 0) and do nothing, so such programs run unchanged. Anything
that would need a GPU raises ``RuntimeError`` saying deltagrad runs on the CPU.
"""

from __future__ import annotations

from .._engine.device import DeviceUnavailableError
from . import amp  # deltagrad.cuda.amp.GradScaler / autocast, as PyTorch's older path

__all__ = ["OutOfMemoryError", "amp", "current_device", "device_count", "empty_cache",
           "get_device_name", "is_available", "is_bf16_supported", "is_initialized", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "synchronize"]


class OutOfMemoryError(RuntimeError):
    """PyTorch's error for an allocation the device could not make (never raised here: what
    NumPy cannot allocate raises MemoryError)."""


def _no_gpu(what: str) -> RuntimeError:
    # (a RuntimeError that is also the AssertionError CPU-only PyTorch raises: "Torch not
    # compiled with CUDA enabled")
    return DeviceUnavailableError(
        f"Torch not compiled with CUDA enabled (deltagrad.cuda.{what}: deltagrad runs on the "
        "CPU only; there is no CUDA device; deltagrad.cuda.is_available() is False)")


def is_available() -> bool:
    """False: deltagrad computes on the CPU."""
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False, as PyTorch's answer on a machine without CUDA."""
    return False


def is_initialized() -> bool:
    """False: there is no CUDA state."""
    return False


# PyTorch's module flag behind is_initialized(): reversible-layer code (reformer-pytorch) reads
# it before saving CUDA generator states.
_initialized = False


def device_count() -> int:
    """0: no CUDA devices."""
    return 0


def manual_seed(seed: int) -> None:
    """Does nothing (as PyTorch's without a GPU): seed the CPU with ``deltagrad.manual_seed``."""


def manual_seed_all(seed: int) -> None:
    """Does nothing (as PyTorch's without a GPU)."""


def seed() -> None:
    """Does nothing (as PyTorch's without a GPU)."""


def seed_all() -> None:
    """Does nothing (as PyTorch's without a GPU)."""


def empty_cache() -> None:
    """Does nothing: there is no CUDA memory to release."""


def synchronize(device=None) -> None:
    """Raises ``RuntimeError``: there is no device to wait for."""
    raise _no_gpu("synchronize")


def current_device() -> int:
    """Raises ``RuntimeError``: there is no current CUDA device."""
    raise _no_gpu("current_device")


def get_device_name(device=None) -> str:
    """Raises ``RuntimeError``: there is no CUDA device to name."""
    raise _no_gpu("get_device_name")


class _CudaTensorType(type):
    """``torch.cuda.FloatTensor`` and kin on a machine without CUDA: a type no tensor is an
    instance of (``isinstance(x, torch.cuda.FloatTensor)`` is False, as in CPU-only PyTorch)
    and that cannot be constructed (PyTorch's TypeError)."""

    def __instancecheck__(cls, instance) -> bool:
        return False

    def __call__(cls, *args, **kwargs):
        raise TypeError(f"type torch.cuda.{cls.__name__} not available. deltagrad runs on the "
                        "CPU only (Torch not compiled with CUDA enabled)")


_LEGACY = ("BFloat16Tensor", "BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor",
           "FloatTensor", "HalfTensor", "IntTensor", "LongTensor", "ShortTensor")
for _name in _LEGACY:
    globals()[_name] = _CudaTensorType(_name, (), {"__module__": "torch.cuda"})
__all__ += list(_LEGACY)
del _name


class _NoDevice:
    """A CUDA object type (``Stream``, ``Event``, ``CUDAGraph``): nameable in annotations and
    ``isinstance`` checks (libraries use it at import time), but constructing one raises
    RuntimeError, as in CPU-only PyTorch."""

    def __init__(self, *args, **kwargs) -> None:
        raise _no_gpu(type(self).__name__)


class Stream(_NoDevice):
    """A CUDA stream: cannot exist without a GPU."""


class Event(_NoDevice):
    """A CUDA event: cannot exist without a GPU."""


class CUDAGraph(_NoDevice):
    """A captured CUDA graph: cannot exist without a GPU."""


class StreamContext(_NoDevice):
    """``with torch.cuda.stream(s)``'s context: cannot exist without a GPU."""


class graph(_NoDevice):  # noqa: N801 - PyTorch's name
    """``with torch.cuda.graph(g)``, capturing a CUDA graph: cannot exist without a GPU."""


# PyTorch's CUDA generators, one per device: none here.
default_generators: tuple = ()


def memory_allocated(device=None) -> int:
    """0, as PyTorch's answer without a GPU: no CUDA memory is in use."""
    return 0


def max_memory_allocated(device=None) -> int:
    """0, as PyTorch's answer without a GPU: no CUDA memory was ever in use."""
    return 0


def reset_peak_memory_stats(device=None) -> None:
    """Raises ``RuntimeError``: there are no CUDA memory statistics (CPU-only PyTorch raises
    too). transformers and diffusers name it in their device tables at import."""
    raise _no_gpu("reset_peak_memory_stats")


def reset_max_memory_allocated(device=None) -> None:
    """Raises ``RuntimeError``: there are no CUDA memory statistics."""
    raise _no_gpu("reset_max_memory_allocated")


def get_device_capability(device=None) -> tuple:
    """Raises ``RuntimeError``: there is no CUDA device to ask."""
    raise _no_gpu("get_device_capability")


__all__ += ["CUDAGraph", "Event", "Stream", "StreamContext", "default_generators", "graph",
            "get_device_capability", "max_memory_allocated", "memory_allocated",
            "reset_max_memory_allocated", "reset_peak_memory_stats"]


def get_rng_state_all() -> list:
    """[]: one state per CUDA device, and there are none (as PyTorch's answer without a GPU)."""
    return []


def set_rng_state_all(new_states) -> None:
    """Sets one state per CUDA device: an empty list (``get_rng_state_all()``'s answer here)
    does nothing; a state for a device that does not exist raises RuntimeError."""
    if len(list(new_states)):
        raise _no_gpu("set_rng_state_all")


__all__ += ["get_rng_state_all", "set_rng_state_all"]

from . import random  # noqa: E402 - PyTorch's torch.cuda.random (its functions need the above)

__all__ += ["random"]

from . import _cpu_answers  # noqa: E402 - the rest of CPU-only PyTorch's answers
from ._cpu_answers import *  # noqa: E402, F403

__all__ += _cpu_answers.__all__

from . import memory, nvtx  # noqa: E402 - PyTorch's torch.cuda.memory / torch.cuda.nvtx

__all__ += ["memory", "nvtx"]
