"""``deltagrad.utils.hooks``: PyTorch's ``torch.utils.hooks`` path for hook handles.

``RemovableHandle`` is the class every ``register_*_hook`` of deltagrad returns (so
``isinstance`` checks against it hold); it is built as ``RemovableHandle(hooks_dict)``, and
the hook is stored under ``handle.id`` by the caller, as in PyTorch. PyTorch's ``extra_dict``
keyword and its internal ``BackwardHook`` (nn.Module's full-backward-hook machinery, which
deltagrad implements in ``nn.hooks``) are not provided.
"""

from __future__ import annotations

from collections.abc import Callable

from ..nn.hooks import RemovableHandle

__all__ = ["RemovableHandle", "unserializable_hook"]


def unserializable_hook(f: Callable) -> Callable:
    """Mark ``f`` as a hook that is not saved with its tensor (PyTorch's decorator): sets
    ``f.__torch_unserializable__ = True`` and returns ``f``."""
    f.__torch_unserializable__ = True
    return f
