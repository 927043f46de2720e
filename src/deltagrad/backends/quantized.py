"""``deltagrad.backends.quantized``: PyTorch's quantized engine setting (``engine``, one of
``supported_engines``; quantization scripts set it before building a model). deltagrad has no
quantized kernels (its quantize functions refuse), so the setting is recorded and changes
nothing; an unknown engine raises RuntimeError, as PyTorch's."""

from __future__ import annotations

import sys
import types

__all__: list[str] = []  # (the attributes engine and supported_engines are properties)

_SUPPORTED = ["qnnpack", "onednn", "x86", "fbgemm"]  # (PyTorch 2.13's x86-64 CPU build)


class _QuantizedModule(types.ModuleType):
    @property
    def engine(self) -> str:
        return self.__dict__["_engine"]

    @engine.setter
    def engine(self, value: str) -> None:
        if value not in _SUPPORTED:
            raise RuntimeError(f"{value} is not a valid value for quantized engine")
        self.__dict__["_engine"] = value

    @property
    def supported_engines(self) -> list:
        return list(_SUPPORTED)


_engine = "x86"
sys.modules[__name__].__class__ = _QuantizedModule
