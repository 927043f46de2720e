"""PyTorch's registry of flash-attention implementations (``torch.nn.attention``'s
``register_flash_attention_impl`` / ``activate_flash_attention_impl`` / ...). deltagrad's
``scaled_dot_product_attention`` is its own NumPy math whatever is active: a provider's
``register_fn`` is called, as in PyTorch, but registers no kernel here. The built-in "FA3" /
"FA4" need the ``flash_attn`` package (and a GPU): activating one raises PyTorch's
ModuleNotFoundError."""

from __future__ import annotations

import logging

__all__ = ["activate_flash_attention_impl", "current_flash_attention_impl",
           "list_flash_attention_impls", "register_flash_attention_impl",
           "restore_flash_attention_impl"]

_LOG = logging.getLogger(__name__)


def _needs_flash_attn():
    raise ModuleNotFoundError("No module named 'flash_attn'", name="flash_attn")


_IMPLS: dict = {"FA3": _needs_flash_attn, "FA4": _needs_flash_attn}
_ACTIVE: list = [None]  # (name, handle) of the activated implementation, or None


def register_flash_attention_impl(impl: str, *, register_fn) -> None:
    """Record ``register_fn`` as the callable that activates ``impl``."""
    _IMPLS[impl] = register_fn


def activate_flash_attention_impl(impl: str) -> None:
    """Call ``impl``'s registered callable (after restoring the default); keep the handle it
    returns. Raises ValueError for an unknown name."""
    restore_flash_attention_impl(_raise_warn=False)
    register_fn = _IMPLS.get(impl)
    if register_fn is None:
        raise ValueError(f"Unknown flash attention impl '{impl}'. Available implementations: "
                         f"{list_flash_attention_impls()}")
    handle = register_fn()
    if handle is not None:
        _ACTIVE[0] = (impl, handle)


def list_flash_attention_impls() -> list[str]:
    """The registered implementations' names, sorted."""
    return sorted(_IMPLS)


def current_flash_attention_impl() -> str | None:
    """The activated implementation's name; None for the default."""
    return None if _ACTIVE[0] is None else _ACTIVE[0][0]


def restore_flash_attention_impl(_raise_warn: bool = True) -> None:
    """Back to the default: the active implementation's handle is removed."""
    if _ACTIVE[0] is not None:
        _ACTIVE[0][1].remove()
    elif _raise_warn:
        _LOG.warning("Trying to restore default FA2 impl when no custom impl was activated")
    _ACTIVE[0] = None
