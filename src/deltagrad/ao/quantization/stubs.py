"""``torch.ao.quantization.stubs``: the markers a float model carries where a quantized one
would quantize and dequantize; before conversion (the only state deltagrad has) they pass
their input through, as PyTorch's do."""

from __future__ import annotations

from ...nn.module import Module

__all__ = ["DeQuantStub", "QuantStub", "QuantWrapper"]


class _Stub(Module):
    """A marker module of a float model: returns its input unchanged, keeps its qconfig."""

    def __init__(self, qconfig=None) -> None:
        super().__init__()
        if qconfig:
            self.qconfig = qconfig

    def forward(self, x):
        return x


class QuantStub(_Stub):
    """Marks where a quantized model would quantize its input; returns it unchanged."""


class DeQuantStub(_Stub):
    """Marks where a quantized model would dequantize; returns its input unchanged."""


class QuantWrapper(Module):
    """``module`` between a QuantStub and a DeQuantStub (float behaviour: just ``module``)."""

    def __init__(self, module: Module) -> None:
        super().__init__()
        qconfig = getattr(module, "qconfig", None)
        self.add_module("quant", QuantStub(qconfig))
        self.add_module("dequant", DeQuantStub(qconfig))
        self.add_module("module", module)
        self.train(module.training)

    def forward(self, X):
        return self.dequant(self.module(self.quant(X)))
