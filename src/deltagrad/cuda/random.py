"""``deltagrad.cuda.random``: PyTorch's CUDA generator functions, for a machine without CUDA.

Seeding does nothing and the per-device lists are empty, as CPU-only PyTorch answers; reading
one device's state or its seed raises, as there (torchattacks' APGD seeds through this module).
"""

from __future__ import annotations

from . import (
    _no_gpu,
    get_rng_state_all,
    manual_seed,
    manual_seed_all,
    seed,
    seed_all,
    set_rng_state_all,
)

__all__ = ["get_rng_state", "get_rng_state_all", "initial_seed", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "set_rng_state", "set_rng_state_all"]


def get_rng_state(device="cuda"):
    """Raises: there is no CUDA generator (CPU-only PyTorch raises AssertionError here)."""
    raise _no_gpu("random.get_rng_state")


def set_rng_state(new_state, device="cuda") -> None:
    """Does nothing: CPU-only PyTorch queues the call for a CUDA start that never comes."""


def initial_seed() -> int:
    """Raises: there is no CUDA generator (CPU-only PyTorch raises AssertionError here)."""
    raise _no_gpu("random.initial_seed")
