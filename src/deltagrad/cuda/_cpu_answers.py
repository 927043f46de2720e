"""More of ``torch.cuda``'s functions, answered as CPU-only PyTorch answers them: memory
statistics are zero / empty (training loops log them unguarded), the build queries name no
architectures, ``device(-1)`` / ``stream(...)`` / ``device_of(cpu_tensor)`` are no-op contexts,
and whatever needs a device raises the RuntimeError of ``cuda._no_gpu``."""

from __future__ import annotations

import contextlib
from collections import OrderedDict

from .._engine.device import device as _device

__all__ = ["ExternalStream", "MemPool", "caching_allocator_alloc", "caching_allocator_delete",
           "caching_allocator_enable", "can_device_access_peer", "clock_rate",
           "current_blas_handle", "current_stream", "default_stream", "device",
           "device_memory_used", "device_of", "get_allocator_backend", "get_arch_list",
           "get_device_properties", "get_gencode_flags", "get_per_process_memory_fraction",
           "get_rng_state", "get_sync_debug_mode", "graph_pool_handle", "has_half", "has_magma",
           "host_memory_stats", "host_memory_stats_as_nested_dict", "init", "initial_seed",
           "ipc_collect", "is_current_stream_capturing", "is_tf32_supported",
           "list_gpu_processes", "max_memory_cached", "max_memory_reserved", "mem_get_info",
           "memory_cached", "memory_reserved", "memory_snapshot", "memory_stats",
           "memory_stats_as_nested_dict", "memory_summary", "memory_usage", "power_draw",
           "reset_accumulated_host_memory_stats", "reset_accumulated_memory_stats",
           "reset_max_memory_cached", "reset_peak_host_memory_stats", "set_device",
           "set_per_process_memory_fraction", "set_rng_state", "set_stream",
           "set_sync_debug_mode", "stream", "temperature", "use_mem_pool", "utilization"]

has_half = True  # (PyTorch's constants, the same on a CPU-only build)
has_magma = False


def _no_gpu(what: str) -> RuntimeError:
    from . import _no_gpu as no_gpu  # (the package's error; it imports this module)

    return no_gpu(what)


def _index(device_like):
    """A CUDA device index: ints as they are, None as None; a non-CUDA device raises
    ValueError and ``'cuda'`` without an index asks for the current device (none here)."""
    if device_like is None or isinstance(device_like, int):
        return device_like
    parsed = _device(device_like) if isinstance(device_like, str) else device_like
    if getattr(parsed, "type", None) != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {device_like}")
    if parsed.index is None:
        raise _no_gpu("current_device")
    return parsed.index


# Memory statistics: CPU-only PyTorch answers from an allocator that was never initialised.
def memory_stats(device=None) -> OrderedDict:
    """An empty OrderedDict (no CUDA allocator statistics)."""
    return OrderedDict()


def memory_stats_as_nested_dict(device=None) -> dict:
    """{} (no CUDA allocator statistics)."""
    return {}


def memory_reserved(device=None) -> int:
    """0: no CUDA memory is reserved."""
    return 0


def max_memory_reserved(device=None) -> int:
    """0: no CUDA memory was ever reserved."""
    return 0


def memory_cached(device=None) -> int:
    """0 (PyTorch's deprecated name of ``memory_reserved``)."""
    return 0


def max_memory_cached(device=None) -> int:
    """0 (PyTorch's deprecated name of ``max_memory_reserved``)."""
    return 0


def host_memory_stats() -> OrderedDict:
    """An empty OrderedDict (no pinned host memory allocated)."""
    return OrderedDict()


def host_memory_stats_as_nested_dict() -> dict:
    """{} (no pinned host memory allocated)."""
    return {}


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """Raises KeyError, as CPU-only PyTorch does (its table reads statistics that are empty)."""
    raise KeyError("allocated_bytes.all.current (deltagrad.cuda.memory_summary: there are no "
                   "CUDA memory statistics; deltagrad runs on the CPU only)")


def caching_allocator_enable(value: bool = True) -> None:
    """Does nothing until CUDA is initialised, as PyTorch's; here it never is."""


def list_gpu_processes(device=None) -> str:
    """PyTorch's answer without the NVML bindings (deltagrad never has a GPU to list)."""
    return "pynvml module not found, please install nvidia-ml-py"


# Build queries.
def get_arch_list() -> list:
    """[]: no CUDA architectures (as a CPU-only build)."""
    return []


def get_gencode_flags() -> str:
    """'': no CUDA architectures to compile for."""
    return ""


def is_tf32_supported() -> bool:
    """False: no CUDA device."""
    return False


def _raising(name: str, doc: str = "Raises ``RuntimeError``: there is no CUDA device."):
    def op(*args, **kwargs):
        raise _no_gpu(name)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


# What needs a device (or NVML's device queries) raises.
caching_allocator_alloc = _raising("caching_allocator_alloc")
caching_allocator_delete = _raising("caching_allocator_delete")
can_device_access_peer = _raising("can_device_access_peer")
clock_rate = _raising("clock_rate")
current_blas_handle = _raising("current_blas_handle")
current_stream = _raising("current_stream")
default_stream = _raising("default_stream")
device_memory_used = _raising("device_memory_used")
get_allocator_backend = _raising("get_allocator_backend")
get_device_properties = _raising("get_device_properties")
get_per_process_memory_fraction = _raising("get_per_process_memory_fraction")
get_rng_state = _raising("get_rng_state")
get_sync_debug_mode = _raising("get_sync_debug_mode")
graph_pool_handle = _raising("graph_pool_handle")
init = _raising("init")
initial_seed = _raising("initial_seed")
ipc_collect = _raising("ipc_collect")
is_current_stream_capturing = _raising("is_current_stream_capturing")
mem_get_info = _raising("mem_get_info")
memory_snapshot = _raising("memory_snapshot")
memory_usage = _raising("memory_usage")
power_draw = _raising("power_draw")
reset_accumulated_host_memory_stats = _raising("reset_accumulated_host_memory_stats")
reset_accumulated_memory_stats = _raising("reset_accumulated_memory_stats")
reset_max_memory_cached = _raising("reset_max_memory_cached")
reset_peak_host_memory_stats = _raising("reset_peak_host_memory_stats")
set_per_process_memory_fraction = _raising("set_per_process_memory_fraction")
set_sync_debug_mode = _raising("set_sync_debug_mode")
temperature = _raising("temperature")
utilization = _raising("utilization")


def set_rng_state(new_state, device="cuda") -> None:
    """Does nothing: CPU-only PyTorch queues the state for a CUDA initialisation that never
    comes (``torch.cuda.set_rng_state(saved)`` in checkpoint-restoring code passes)."""
    new_state.clone()  # (PyTorch copies it first: a non-tensor fails as there)


def set_stream(stream) -> None:
    """``None`` does nothing, as PyTorch's; a stream cannot exist without a GPU."""
    if stream is not None:
        raise _no_gpu("set_stream")


def set_device(device) -> None:
    """A negative index does nothing, as PyTorch's; selecting a CUDA device raises."""
    index = _index(device)
    if index is not None and index >= 0:
        raise _no_gpu("set_device")


class device:  # noqa: N801 - PyTorch's name
    """``with torch.cuda.device(i)``: a negative index is a no-op, as in PyTorch; entering with
    a CUDA device index raises (there is none); a non-CUDA device raises ValueError."""

    def __init__(self, device) -> None:
        self.idx = _index(device)
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx is None:  # (PyTorch compares None with 0: a TypeError)
            raise TypeError("'<' not supported between instances of 'NoneType' and 'int'")
        if self.idx >= 0:
            raise _no_gpu("device")

    def __exit__(self, *exc) -> bool:
        return False


class device_of(device):  # noqa: N801 - PyTorch's name
    """``device`` of a tensor: a CPU tensor gives the no-op context."""

    def __init__(self, obj) -> None:
        super().__init__(obj.get_device() if obj.is_cuda else -1)


def stream(stream):
    """``with torch.cuda.stream(s)``: a no-op context on a machine without CUDA, as PyTorch's
    StreamContext there."""
    return contextlib.nullcontext()


def use_mem_pool(pool, device=None):
    """Raises on entering (no CUDA memory pools), as CPU-only PyTorch."""
    @contextlib.contextmanager
    def refuse():
        raise _no_gpu("use_mem_pool")
        yield  # pragma: no cover

    return refuse()


class MemPool:
    """A CUDA memory pool: cannot exist without a GPU."""

    def __init__(self, *args, **kwargs) -> None:
        raise _no_gpu("MemPool")


class ExternalStream:
    """A CUDA stream made elsewhere: cannot exist without a GPU."""

    def __init__(self, stream_ptr, device=None) -> None:
        raise _no_gpu("ExternalStream")
