"""PyTorch's ``torch.multiprocessing``: Python's ``multiprocessing``, re-exported, and the
sharing-strategy switches.

NOTE: PyTorch moves a tensor sent to another process into shared memory, so in-place changes
made there are seen by the sender (Hogwild training relies on it). deltagrad tensors are
pickled by value: the receiver gets a copy, and changes to it are not seen by the sender.
The sharing strategy is recorded (``get_sharing_strategy`` answers it) but changes nothing.
"""

from __future__ import annotations

import multiprocessing as _multiprocessing
from multiprocessing import *  # noqa: F403 - PyTorch's module re-exports Python's

__all__ = [*_multiprocessing.__all__, "get_all_sharing_strategies", "get_sharing_strategy",
           "set_sharing_strategy"]

_STRATEGIES = {"file_descriptor", "file_system"}
_strategy = ["file_descriptor"]


def get_all_sharing_strategies() -> set[str]:
    """The strategies PyTorch offers on Linux: ``{'file_descriptor', 'file_system'}``."""
    return set(_STRATEGIES)


def get_sharing_strategy() -> str:
    """The strategy last set (``'file_descriptor'`` at first)."""
    return _strategy[0]


def set_sharing_strategy(new_strategy: str) -> None:
    """Record ``new_strategy`` (one of ``get_all_sharing_strategies()``, else
    ``AssertionError`` as PyTorch). It changes nothing: tensors travel between processes by
    value here (see the module's note)."""
    assert new_strategy in _STRATEGIES, f"unknown sharing strategy {new_strategy!r}"
    _strategy[0] = new_strategy
