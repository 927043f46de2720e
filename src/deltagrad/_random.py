"""Random number generation: explicit, seedable generators and the one default generator."""

from __future__ import annotations

import numpy as np

__all__ = ["Generator", "default_generator", "get_rng_state", "manual_seed", "set_rng_state"]


class Generator:
    """A seedable source of randomness (PyTorch's ``torch.Generator``, on NumPy's PCG64).

    Args:
        seed: initial seed; ``None`` draws one from the operating system.

    >>> g = Generator().manual_seed(0)
    >>> a = g.numpy.standard_normal()
    >>> b = Generator(0).numpy.standard_normal()
    >>> a == b
    True
    """

    def __init__(self, seed: int | None = None):
        self._seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        self.numpy = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> Generator:
        """Reseed in place and return self (so ``Generator().manual_seed(0)`` works)."""
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
        self._seed = seed
        self.numpy = np.random.Generator(np.random.PCG64(seed))
        return self

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's full state as plain JSON-serialisable data."""
        state = self.numpy.bit_generator.state
        return {"seed": self._seed, "bit_generator": state["bit_generator"],
                "state": {k: int(v) for k, v in state["state"].items()},
                "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}

    def set_state(self, state: dict) -> None:
        """Restore a state from ``get_state``."""
        if state.get("bit_generator") != "PCG64":
            raise ValueError(
                f"set_state: expected a PCG64 state, got {state.get('bit_generator')!r}"
            )
        self._seed = state.get("seed", self._seed)
        self.numpy.bit_generator.state = {
            "bit_generator": "PCG64", "state": dict(state["state"]),
            "has_uint32": state["has_uint32"], "uinteger": state["uinteger"]}

    def __repr__(self) -> str:
        return f"Generator(seed={self._seed})"


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (used wherever no ``generator=`` is given); returns it."""
    return default_generator.manual_seed(seed)


def get_rng_state() -> dict:
    """The default generator's state (JSON-serialisable)."""
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    """Restore the default generator's state."""
    default_generator.set_state(state)


def numpy_generator(generator) -> np.random.Generator:
    """The NumPy generator behind ``generator`` (a Generator, a NumPy Generator or None)."""
    if generator is None:
        return default_generator.numpy
    if isinstance(generator, Generator):
        return generator.numpy
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(
        f"generator must be a deltagrad.Generator or numpy.random.Generator, got "
        f"{type(generator).__name__}"
    )
