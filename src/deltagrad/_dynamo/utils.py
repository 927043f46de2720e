"""``torch._dynamo.utils``: the one query libraries import from it, ``is_compile_supported``."""

from __future__ import annotations

from .eval_frame import is_dynamo_supported

__all__ = ["is_compile_supported"]


def is_compile_supported(device_type) -> bool:
    """Whether ``torch.compile`` can compile for ``device_type``: never in deltagrad, which has
    no compiler (torchvision then takes its C++ path for roi_align, which raises here)."""
    return is_dynamo_supported()
