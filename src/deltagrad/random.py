"""PyTorch's ``torch.random``: the global generator's seed and state, and ``fork_rng``.

The generator is the engine's (``deltagrad.default_generator``); these are the same functions
as ``deltagrad.manual_seed`` and friends, under PyTorch's module path.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._engine.random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed",
           "manual_seed", "seed", "set_rng_state", "thread_safe_generator"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str = "cuda") -> Iterator[None]:
    """Run the block with the global generator's state saved and restored afterwards, so that
    draws inside it do not change the draws after it (PyTorch's ``torch.random.fork_rng``).

    ``devices`` and ``device_type`` name accelerator generators, which deltagrad does not
    have; they are accepted and ignored. ``enabled=False`` saves nothing.

    >>> import deltagrad as dg
    >>> _ = dg.manual_seed(0)
    >>> with fork_rng():
    ...     inside = dg.rand(2)
    >>> bool((dg.rand(2) == inside).all())
    True
    """
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def thread_safe_generator():
    """The running DataLoader thread worker's own Generator, else None (the global one is
    used): deltagrad's workers are processes, so it is None."""
    from .utils.data import get_worker_info

    info = get_worker_info()
    if info is not None and getattr(info, "worker_method", None) == "thread":
        rng = getattr(info, "rng", None)
        if rng is not None:
            return rng.torch_generator
    return None
