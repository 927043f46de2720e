"""``torch.onnx.symbolic_helper``: the ``parse_args`` decorator of ONNX symbolic functions.

Symbolic functions run only while exporting, which deltagrad cannot do (``onnx.export``
raises), so the decorator leaves them as they are.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["parse_args"]


def parse_args(*arg_descriptors: str) -> Callable[[Callable], Callable]:
    """PyTorch converts a symbolic's graph values by ``arg_descriptors`` ('v', 'i', 'f', ...)
    when an exporter calls it; deltagrad has no exporter, so the function is returned as is."""
    def decorator(fn: Callable) -> Callable:
        return fn
    return decorator
