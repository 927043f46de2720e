"""``deltagrad.ao.quantization`` (also ``deltagrad.quantization``): PyTorch's eager-mode
quantization. deltagrad computes in floating point only and cannot reproduce PyTorch's int8
kernels, so the quantizing calls (quantize_dynamic, prepare, convert, ...) raise
NotImplementedError rather than hand back an unquantized model as if it were quantized.
``QuantStub`` / ``DeQuantStub`` / ``QuantWrapper``, the markers models carry before conversion,
work as in PyTorch's float models (they pass their input through)."""

from __future__ import annotations

from ..nn.module import Module

__all__ = ["DeQuantStub", "QuantStub", "QuantWrapper", "convert", "fuse_modules",
           "get_default_qat_qconfig", "get_default_qconfig", "prepare", "prepare_qat",
           "quantize", "quantize_dynamic", "quantize_qat"]

_MESSAGE = ("deltagrad has no quantized tensors or int8 kernels (qint8/quint8), so it cannot "
            "reproduce PyTorch's quantized numbers; keep the float model instead of quantizing")


def _refuse(call: str) -> NotImplementedError:
    return NotImplementedError(f"torch.ao.quantization.{call} is not supported: {_MESSAGE}")


class QuantStub(Module):
    """Marks where a quantized model would quantize its input; before conversion (the only
    state deltagrad has) it returns its input unchanged, as PyTorch's does."""

    def __init__(self, qconfig=None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class DeQuantStub(Module):
    """Marks where a quantized model would dequantize; returns its input unchanged."""

    def __init__(self, qconfig=None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantWrapper(Module):
    """``module`` between a QuantStub and a DeQuantStub (float behaviour: just ``module``)."""

    def __init__(self, module: Module) -> None:
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, x):
        return self.dequant(self.module(self.quant(x)))


def quantize_dynamic(model, qconfig_spec=None, dtype=None, mapping=None, inplace=False):
    """Not supported: raises NotImplementedError (no int8 kernels)."""
    raise _refuse("quantize_dynamic")


def quantize(model, run_fn, run_args, mapping=None, inplace=False):
    """Not supported: raises NotImplementedError (no int8 kernels)."""
    raise _refuse("quantize")


def quantize_qat(model, run_fn, run_args, inplace=False):
    """Not supported: raises NotImplementedError (no int8 kernels)."""
    raise _refuse("quantize_qat")


def prepare(model, inplace=False, *args, **kwargs):
    """Not supported: raises NotImplementedError (no observers or int8 kernels)."""
    raise _refuse("prepare")


def prepare_qat(model, mapping=None, inplace=False):
    """Not supported: raises NotImplementedError (no fake-quantize modules)."""
    raise _refuse("prepare_qat")


def convert(module, mapping=None, inplace=False, *args, **kwargs):
    """Not supported: raises NotImplementedError (no quantized modules)."""
    raise _refuse("convert")


def fuse_modules(model, modules_to_fuse, inplace=False, *args, **kwargs):
    """Not supported: raises NotImplementedError (no fused quantization modules)."""
    raise _refuse("fuse_modules")


def get_default_qconfig(backend: str = "x86", version: int = 0):
    """Not supported: raises NotImplementedError (no observers)."""
    raise _refuse("get_default_qconfig")


def get_default_qat_qconfig(backend: str = "x86", version: int = 1):
    """Not supported: raises NotImplementedError (no fake-quantize observers)."""
    raise _refuse("get_default_qat_qconfig")


def __getattr__(name: str):
    # Any other torch.ao.quantization name (QConfig, observers, default_qconfig, ...): a plain
    # AttributeError (introspection keeps working) that says why it is missing.
    raise AttributeError(f"module 'deltagrad.ao.quantization' has no attribute {name!r} "
                         f"({_MESSAGE})")
