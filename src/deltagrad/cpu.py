"""PyTorch's ``torch.cpu``: the one device deltagrad runs on."""

from __future__ import annotations

import contextlib
import functools

__all__ = ["Event", "Stream", "StreamContext", "current_device", "current_stream",
           "device_count", "get_capabilities", "is_available", "is_initialized", "set_device",
           "stream", "synchronize"]


def is_available() -> bool:
    """``True``: the CPU is always there."""
    return True


def device_count() -> int:
    """``1``, as PyTorch's ``torch.cpu.device_count``."""
    return 1


def current_device() -> str:
    """``'cpu'``, as PyTorch's ``torch.cpu.current_device``."""
    return "cpu"


def synchronize(device=None) -> None:
    """Nothing to wait for: every op has finished when it returns."""


@contextlib.contextmanager
def device(device_or_index=None):
    """A context manager that changes nothing (there is one CPU device)."""
    yield


def is_initialized() -> bool:
    """``True``, as PyTorch's (device-agnostic code asks)."""
    return True


def set_device(device) -> None:
    """Nothing to set: one CPU device."""


class Stream:
    """PyTorch's CPU stream: a placeholder for device-agnostic code (every op runs in order)."""

    def __init__(self, priority: int = -1) -> None:
        pass

    def wait_stream(self, stream) -> None:
        pass

    def record_event(self) -> None:
        pass

    def wait_event(self, event) -> None:
        pass


class Event:
    """PyTorch's CPU event: always complete."""

    def query(self) -> bool:
        return True

    def record(self, stream=None) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def wait(self, stream=None) -> None:
        pass


_default_stream = Stream()
_current_stream = _default_stream


def current_stream(device=None) -> Stream:
    """The stream ``stream(...)`` selected, else the default one."""
    return _current_stream


class StreamContext(contextlib.AbstractContextManager):
    """Select ``stream`` as the current one inside the block (None: change nothing)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.prev_stream = _default_stream

    def __enter__(self):
        global _current_stream
        if self.stream is not None:
            self.prev_stream, _current_stream = _current_stream, self.stream

    def __exit__(self, *exc) -> None:
        global _current_stream
        if self.stream is not None:
            _current_stream = self.prev_stream


def stream(stream) -> StreamContext:
    """``StreamContext(stream)``."""
    return StreamContext(stream)


# /proc/cpuinfo's flag -> PyTorch's capability name (x86); absent flags are False.
_X86_FLAGS = {
    "sse": "sse", "sse2": "sse2", "pni": "sse3", "ssse3": "ssse3", "sse4_1": "sse4_1",
    "sse4_2": "sse4_2", "sse4a": "sse4a", "avx": "avx", "avx2": "avx2",
    "avx_vnni": "avx_vnni", "avx512f": "avx512_f", "avx512cd": "avx512_cd",
    "avx512dq": "avx512_dq", "avx512bw": "avx512_bw", "avx512vl": "avx512_vl",
    "avx512ifma": "avx512_ifma", "avx512vbmi": "avx512_vbmi", "avx512_vbmi2": "avx512_vbmi2",
    "avx512_bitalg": "avx512_bitalg", "avx512_vpopcntdq": "avx512_vpopcntdq",
    "avx512_vnni": "avx512_vnni", "avx512_bf16": "avx512_bf16", "avx512_fp16": "avx512_fp16",
    "avx512_vp2intersect": "avx512_vp2intersect", "avx512_4vnniw": "avx512_4vnniw",
    "avx512_4fmaps": "avx512_4fmaps", "amx_bf16": "amx_bf16", "amx_tile": "amx_tile",
    "amx_int8": "amx_int8", "amx_fp16": "amx_fp16", "fma": "fma3", "fma4": "fma4",
    "f16c": "f16c", "bmi1": "bmi", "bmi2": "bmi2", "popcnt": "popcnt", "abm": "lzcnt",
    "aes": "aes", "sha_ni": "sha", "clflush": "clflush", "clflushopt": "clflushopt",
    "clwb": "clwb", "avx_vnni_int8": "avx_vnni_int8", "avx_vnni_int16": "avx_vnni_int16",
    "avx_ne_convert": "avx_ne_convert", "avx10_1": "avx10_1", "avx10_2": "avx10_2",
}


@functools.lru_cache(None)
def get_capabilities():
    """The CPU's instruction sets and sizes as PyTorch names them (read from /proc/cpuinfo on
    Linux; elsewhere only ``architecture`` and the core count), an immutable mapping."""
    import os
    import platform
    import types

    machine = platform.machine().lower()
    found = {"architecture": {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine),
             "num_logical_cores": os.cpu_count() or 1}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            lines = info.read().splitlines()
    except OSError:
        lines = []
    flags = set()
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features") and not flags:
            flags = set(value.split())
        elif key.strip() == "model name" and "cpu_name" not in found:
            found["cpu_name"] = value.strip()
    if found["architecture"] == "x86_64" and flags:
        found.update({name: flag in flags for flag, name in _X86_FLAGS.items()})
    return types.MappingProxyType(found)


# ``torch.cpu.amp``: PyTorch's deprecated CPU forms of amp.autocast / amp.GradScaler (each warns
# FutureWarning when built, as PyTorch's). A submodule made here (as amp's own submodules), so
# ``import torch.cpu.amp`` and ``from torch.cpu.amp import autocast`` work too.
def _make_amp():
    import sys
    import types

    from . import amp as _amp

    autocast, GradScaler = _amp.deprecated_forms("cpu", f"{__name__}.amp")
    autocast.__doc__ = """``torch.cpu.amp.autocast``: ``amp.autocast("cpu", ...)`` (deprecated)."""
    GradScaler.__doc__ = """``torch.cpu.amp.GradScaler``: ``amp.GradScaler("cpu", ...)``
    (deprecated)."""

    module = types.ModuleType(f"{__name__}.amp", "``torch.cpu.amp`` (deprecated forms).")
    module.__dict__.update(autocast=autocast, GradScaler=GradScaler, __all__=[
        "GradScaler", "autocast"])
    sys.modules[module.__name__] = module
    return module


__path__: list[str] = []  # (a package to the import system: cpu.amp is a submodule)
amp = _make_amp()
