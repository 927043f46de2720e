"""``deltagrad.onnx``: PyTorch's ``torch.onnx`` path, so that programs importing it load;
exporting is out of scope and raises one clear error. Libraries register ONNX symbolics for their
custom ops at import time (torchvision): recorded, as only an exporter would read them."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["export", "is_in_onnx_export", "register_custom_op_symbolic",
           "unregister_custom_op_symbolic"]

# (op name, opset) -> symbolic function, as registered; no exporter reads it.
_SYMBOLICS: dict[tuple[str, int], Callable] = {}


def export(*args, **kwargs):
    """Refuse: deltagrad has no ONNX exporter.

    Raises:
        NotImplementedError: always.
    """
    raise NotImplementedError(
        "deltagrad cannot export ONNX: torch.onnx.export has no deltagrad equivalent (save "
        "weights with deltagrad.save or safetensors and export from PyTorch instead)")


def is_in_onnx_export() -> bool:
    """Whether an ONNX export is running: never, in deltagrad."""
    return False


def register_custom_op_symbolic(symbolic_name: str, symbolic_fn: Callable,
                                opset_version: int) -> None:
    """Records ``symbolic_fn`` as the ONNX translation of ``symbolic_name``
    (``'namespace::op'``) from ``opset_version`` on; deltagrad never exports, so never runs it."""
    if "::" not in symbolic_name:
        # (PyTorch raises its OnnxExporterError, a RuntimeError)
        raise RuntimeError(f"Failed to register operator {symbolic_name}. The symbolic name "
                           "must match the format domain::name, and should start with a letter "
                           "and contain only alphanumeric characters")
    _SYMBOLICS[(symbolic_name, int(opset_version))] = symbolic_fn


def unregister_custom_op_symbolic(symbolic_name: str, opset_version: int) -> None:
    """Forgets a symbolic recorded by :func:`register_custom_op_symbolic`."""
    _SYMBOLICS.pop((symbolic_name, int(opset_version)), None)
