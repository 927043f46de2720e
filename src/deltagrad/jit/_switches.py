"""More of ``torch.jit``'s names: the switches that steer TorchScript's fusers and executor
(recorded; deltagrad runs every program eagerly, so they change no value), ``Attribute`` (the
(value, type) pair scripted modules declare) and ``ScriptWarning``."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any, NamedTuple

__all__ = ["Attribute", "ScriptWarning", "enable_onednn_fusion", "fuser",
           "onednn_fusion_enabled", "optimized_execution", "set_fusion_strategy",
           "strict_fusion"]

_FUSERS = ("fuser0", "fuser1", "fuser2", "fuser3", "none")
_state: dict[str, Any] = {"strategy": [("STATIC", 2), ("DYNAMIC", 10)], "onednn": False}


class Attribute(NamedTuple):
    """A scripted module's attribute with its declared type; in eager mode the pair itself."""

    value: Any
    type: Any


class ScriptWarning(Warning):
    """PyTorch's warning class for TorchScript (never issued here)."""


def set_fusion_strategy(strategy: list) -> list:
    """Record the fusion strategy (a list of ("STATIC" | "DYNAMIC", depth)); returns the
    previous one. Deprecated, as PyTorch warns."""
    warnings.warn("`torch.jit.set_fusion_strategy` is deprecated. Please use `torch.compile` "
                  "instead.", DeprecationWarning, stacklevel=2)
    previous, _state["strategy"] = _state["strategy"], list(strategy)
    return previous


def enable_onednn_fusion(enabled: bool) -> None:
    """Record whether oneDNN Graph fusion is on."""
    _state["onednn"] = bool(enabled)


def onednn_fusion_enabled() -> bool:
    """Whether ``enable_onednn_fusion`` turned oneDNN Graph fusion on (False at first)."""
    return _state["onednn"]


@contextlib.contextmanager
def optimized_execution(should_optimize: bool):
    """A block with TorchScript's executor optimisations on or off: nothing to switch here."""
    yield


@contextlib.contextmanager
def fuser(name: str):
    """A block with TorchScript fuser ``name`` (``fuser0``-``fuser3``, ``none``); an unknown name
    raises Exception, as PyTorch's."""
    if name not in _FUSERS:
        raise Exception(f"unrecognized fuser option (name: {name})")  # noqa: TRY002 - PyTorch's
    yield


class strict_fusion:  # noqa: N801 - PyTorch's name
    """TorchScript's check that a block was fused; outside script mode it warns, as PyTorch's,
    and the block runs as it is."""

    def __init__(self) -> None:
        warnings.warn("Only works in script mode", stacklevel=2)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> None:
        return None
