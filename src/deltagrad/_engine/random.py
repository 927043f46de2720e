"""Random number generation: explicit, seedable generators and the one default generator."""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from . import stream as _stream
from .device import CPU, check_device

__all__ = ["Generator", "default_generator", "dropout_keep", "get_rng_state", "initial_seed",
           "keep_mask", "manual_seed", "seed", "set_rng_state", "torch_source"]

# What a new Generator() starts from, as in PyTorch (whose CPU generators start from this
# same number).
DEFAULT_SEED = 67280421310721
STREAMS = ("mt19937", "pcg64")


class Generator:
    """A seedable source of randomness (PyTorch's ``torch.Generator``).

    By default it is PyTorch's CPU stream: a Mersenne Twister seeded as PyTorch seeds it, whose
    draws ``rand``, ``randn``, ``randint``, ``randperm``, ``uniform_``, ``normal_``,
    ``bernoulli`` and dropout turn into the numbers PyTorch gives for the same seed (see
    ``stream.py``). Other samplers (gamma, Poisson, multinomial, ...) draw from the same engine
    through NumPy's algorithms: seeded and repeatable, but not PyTorch's numbers.

    Args:
        device: ``"cpu"`` (or a device naming it), PyTorch's first argument; may be omitted.
        seed: initial seed (a deltagrad extension; ``Generator(0)`` also works), default
            ``DEFAULT_SEED`` as in PyTorch; ``seed()`` reseeds from the operating system.
        stream: ``"mt19937"`` (PyTorch's numbers) or ``"pcg64"`` (deltagrad's earlier stream on
            NumPy's PCG64, whose dropout masks are cheaper; a deltagrad extension, kept so that
            results recorded with it reproduce).

    >>> g = Generator().manual_seed(0)
    >>> a = g.numpy.standard_normal()
    >>> b = Generator(0).numpy.standard_normal()
    >>> a == b
    True
    """

    def __init__(self, device=None, seed: int | None = None, *, stream: str = "mt19937"):
        if isinstance(device, numbers.Integral) and not isinstance(device, bool):
            device, seed = None, device  # Generator(seed), as this class always accepted
        check_device(device, "Generator")
        self.device = CPU
        self.manual_seed(DEFAULT_SEED if seed is None else seed, stream=stream)

    def manual_seed(self, seed: int, *, stream: str = "mt19937") -> Generator:
        """Reseed in place and return self (so ``Generator().manual_seed(0)`` works).

        ``stream`` (a deltagrad extension) picks the engine; reseeding without it returns to
        PyTorch's stream.
        """
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"manual_seed: seed must be non-negative, got {seed}")
        if stream not in STREAMS:
            raise ValueError(f"manual_seed: stream must be one of {STREAMS}, got {stream!r}")
        self._seed = seed
        self.stream = stream
        self._cached_normal = None  # the second value of the last scalar Box-Muller pair
        self._bits = _stream.mt19937(seed) if stream == "mt19937" else np.random.PCG64(seed)
        self.numpy = np.random.Generator(self._bits)
        return self

    @property
    def torch_stream(self) -> bool:
        """Whether this generator draws PyTorch's numbers."""
        return self.stream == "mt19937"

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._seed

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        new = int(np.random.SeedSequence().entropy % 2**63)
        self.manual_seed(new, stream=self.stream)
        return new

    def get_state(self) -> dict:
        """The generator's full state as plain JSON-serialisable data."""
        state = self._bits.state
        if self.stream == "mt19937":
            return {"seed": self._seed, "bit_generator": "MT19937",
                    "key": [int(k) for k in state["state"]["key"]],
                    "pos": int(state["state"]["pos"]), "cached_normal": self._cached_normal}
        return {"seed": self._seed, "bit_generator": state["bit_generator"],
                "state": {k: int(v) for k, v in state["state"].items()},
                "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}

    def set_state(self, state: dict) -> None:
        """Restore a state from ``get_state`` (of either stream)."""
        kind = state.get("bit_generator")
        if kind not in ("PCG64", "MT19937"):
            raise ValueError(
                f"set_state: expected a PCG64 or MT19937 state, got {kind!r}"
            )
        self.manual_seed(state.get("seed", self._seed),
                         stream="pcg64" if kind == "PCG64" else "mt19937")
        if kind == "MT19937":
            self._bits.state = {"bit_generator": "MT19937", "state": {
                "key": np.asarray(state["key"], dtype=np.uint32), "pos": state["pos"]}}
            self._cached_normal = state.get("cached_normal")
            return
        self._bits.state = {
            "bit_generator": "PCG64", "state": dict(state["state"]),
            "has_uint32": state["has_uint32"], "uinteger": state["uinteger"]}

    def __repr__(self) -> str:
        extra = "" if self.stream == "mt19937" else f", stream={self.stream!r}"
        return f"Generator(seed={self._seed}{extra})"


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (used wherever no ``generator=`` is given); returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the default generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state() -> dict:
    """The default generator's state (JSON-serialisable)."""
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    """Restore the default generator's state."""
    default_generator.set_state(state)


def torch_source(generator) -> Generator | None:
    """The deltagrad Generator behind ``generator`` (None: the default one) when it draws
    PyTorch's stream; None when the draws are NumPy's (a PCG64 generator or a NumPy one)."""
    if generator is None:
        generator = default_generator
    if isinstance(generator, Generator) and generator.stream == "mt19937":
        return generator
    return None


def dropout_keep(generator, shape: tuple, p: float) -> np.ndarray:
    """The keep mask of dropout with drop probability ``p``: PyTorch's ``bernoulli_(1 - p)``
    on its stream, else ``keep_mask`` on NumPy's."""
    source = torch_source(generator)
    if source is not None:
        if p >= 1.0:  # PyTorch draws nothing when everything is dropped
            return np.zeros(shape, dtype=bool)
        return _stream.bernoulli_scalar(source._bits, shape, 1.0 - p)
    return keep_mask(numpy_generator(generator), shape, p)


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


# --------------------------------------------------------------------------------------------
# Dropout masks, drawn faster than through floats.
#
# NumPy draws a float32 uniform from the next 32 random bits u as (u >> 8) * 2**-24. So
# ``uniform >= q`` (q a float32) is ``u >= ceil(q * 2**24) << 8``: the same mask can be read
# straight off the raw 64-bit words of PCG64, each holding two 32-bit draws (low half first),
# without making floats: about twice as fast (measured: 2.5 ms against 1.0 ms per million).
# ``_RAW_MATCHES`` checks this correspondence once at import, so that if NumPy ever drew floats
# differently the plain path would be used.


def _raw_matches_float32() -> bool:
    floats = np.random.Generator(np.random.PCG64(20261128))
    raw = np.random.PCG64(20261128)
    want = floats.random(64, dtype=np.float32)
    words = raw.random_raw(32).view(np.uint32)
    got = (words >> 8).astype(np.float32) * np.float32(2.0 ** -24)
    return (sys.byteorder == "little" and np.array_equal(want, got)
            and _next_draws(floats.bit_generator) == _next_draws(raw))


def _next_draws(bit_generator) -> tuple:
    """What decides a PCG64's next draws: its state, and the half word it holds if any (the
    stale half word left when it holds none does not count)."""
    state = bit_generator.state
    held = state["has_uint32"]
    return state["state"]["state"], state["state"]["inc"], held, state["uinteger"] if held else 0


_RAW_MATCHES = _raw_matches_float32()
_RAW_MIN_SIZE = 1024  # below this, reading the generator's state costs more than it saves


def keep_mask(rng: np.random.Generator, shape: tuple, p: float) -> np.ndarray:
    """The dropout mask ``rng.random(shape, dtype=np.float32) >= np.float32(p)``.

    The same booleans, and the generator left in the same state, as that expression; drawn
    from PCG64's raw words when it can (see above).
    """
    n = math.prod(shape)
    bit_generator = rng.bit_generator
    if (n < _RAW_MIN_SIZE or n % 2 or not _RAW_MATCHES
            or type(bit_generator) is not np.random.PCG64
            or bit_generator.state["has_uint32"]):
        # (A buffered half word, or an odd count, would leave the two paths out of step.)
        return rng.random(shape, dtype=np.float32) >= np.float32(p)
    words = bit_generator.random_raw(n // 2).view(np.uint32).reshape(shape)
    threshold = _word_threshold(p)
    if threshold is None:
        return np.zeros(shape, dtype=bool)
    return words >= threshold


def _word_threshold(p: float):
    """The least 32-bit word whose float32 draw is at least float32(p) (None if none is)."""
    top = math.ceil(float(np.float32(p)) * 2 ** 24)  # exact: a float32 times a power of 2
    return None if top >= 2 ** 24 else np.uint32(top << 8)
