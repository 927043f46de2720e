"""``torch.distributed.rpc.api``: the decorator that guards RPC functions (torch_geometric wraps
its own with it at import time). RPC is never initialized in deltagrad, so a guarded function
raises PyTorch's RuntimeError when called."""

from __future__ import annotations

import functools
from collections.abc import Callable

__all__ = ["_all_gather", "_require_initialized"]


def _require_initialized(func: Callable) -> Callable:
    """``func``, guarded: calling it raises RuntimeError, as PyTorch's guard does before
    ``init_rpc`` (which deltagrad does not support)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        raise RuntimeError("RPC has not been initialized. Call torch.distributed.rpc.init_rpc "
                           "first (deltagrad does not support RPC).")

    return wrapper


@_require_initialized
def _all_gather(obj, worker_names=None, timeout=None):
    """Gather ``obj`` from every RPC worker: raises (RPC is never initialized)."""
