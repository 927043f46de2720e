"""``deltagrad.onnx``: PyTorch's ``torch.onnx`` path, so that programs importing it load;
exporting is out of scope and raises one clear error."""

from __future__ import annotations

__all__ = ["export", "is_in_onnx_export"]


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
