"""``deltagrad.quasirandom``: PyTorch's ``torch.quasirandom.SobolEngine``, the Sobol'
low-discrepancy sequence (Gray-code order, 30 bits, up to 21,201 dimensions), optionally with
Owen-style linear matrix scrambling and a random digital shift drawn from PyTorch's stream.

The direction numbers are Joe and Kuo's (new-joe-kuo-6.21201), the table PyTorch and SciPy
both use. deltagrad does not ship them: they are read, on first use, from the copy inside an
installed SciPy (``scipy/stats/_sobol_direction_numbers.npz``; SciPy itself is not imported).
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np

from . import _engine as dg

__all__ = ["SobolEngine"]

_TABLE: dict = {}


def _direction_table() -> tuple:
    """Joe and Kuo's primitive polynomials and initial direction numbers (``poly``,
    ``vinit``), loaded once from SciPy's copy."""
    if not _TABLE:
        spec = importlib.util.find_spec("scipy")
        path = (None if spec is None or spec.origin is None else
                os.path.join(os.path.dirname(spec.origin), "stats",
                             "_sobol_direction_numbers.npz"))
        if path is None or not os.path.exists(path):
            raise ImportError("SobolEngine needs Joe and Kuo's Sobol' direction numbers, which "
                              "deltagrad reads from SciPy's copy: install scipy (pip install "
                              "scipy) to use deltagrad.quasirandom.SobolEngine")
        with np.load(path) as table:
            _TABLE["poly"] = table["poly"].astype(np.int64)
            _TABLE["vinit"] = table["vinit"].astype(np.int64)
    return _TABLE["poly"], _TABLE["vinit"]


def _initial_state(dimension: int, bits: int) -> np.ndarray:
    """The direction numbers ``v[d, j]`` (already shifted to ``bits`` bits), by the recurrence
    of Bratley and Fox (ACM TOMS 14(1), 1988), vectorized over the dimensions."""
    poly, vinit = _direction_table()
    state = np.zeros((dimension, bits), dtype=np.int64)
    state[0] = 1  # (the first dimension: all ones, the van der Corput sequence)
    if dimension > 1:
        p = poly[1:dimension]
        m = np.floor(np.log2(p)).astype(np.int64)  # each polynomial's degree (at most 18)
        given = vinit[1:dimension]
        v = state[1:]
        rows = np.arange(dimension - 1)
        for j in range(bits):
            initial = j < m  # the first m numbers of a row are given
            if j < given.shape[1]:
                v[initial, j] = given[initial, j]
            recur = ~initial
            if not recur.any():
                continue
            value = v[rows, np.maximum(j - m, 0)]
            for k in range(int(m.max())):
                taps = recur & (k < m) & (((p >> np.maximum(m - 1 - k, 0)) & 1) == 1)
                value = value ^ np.where(taps, v[:, max(j - k - 1, 0)] << (k + 1), 0)
            v[recur, j] = value[recur]
    return state << np.arange(bits - 1, -1, -1, dtype=np.int64)


def _rightmost_zero(n: np.ndarray) -> np.ndarray:
    """The position of the lowest zero bit of each of ``n`` (the Gray-code flip)."""
    flipped = ~n & (n + 1)  # the lowest zero bit, alone
    return np.log2(flipped.astype(np.float64)).astype(np.int64)


class SobolEngine:
    """PyTorch's ``torch.quasirandom.SobolEngine``: draws the Sobol' sequence in Gray-code
    order, the same points as PyTorch's (scrambled ones too, for the same seed).

    Args:
        dimension: points' dimension, 1 to 21,201.
        scramble: scramble the direction numbers (random lower-triangular binary matrices) and
            shift the points (a random 30-bit digital shift), drawn from PyTorch's stream.
        seed: the seed of the scrambling's generator (default: the global generator).

    >>> import deltagrad as dg
    >>> dg.quasirandom.SobolEngine(2).draw(4)
    tensor([[0.0000, 0.0000],
            [0.5000, 0.5000],
            [0.7500, 0.2500],
            [0.2500, 0.7500]])
    """

    MAXBIT = 30
    MAXDIM = 21201

    def __init__(self, dimension: int, scramble: bool = False, seed: int | None = None) -> None:
        if dimension > self.MAXDIM or dimension < 1:
            raise ValueError("Supported range of dimensionality for SobolEngine is "
                             f"[1, {self.MAXDIM}]")
        self.seed = seed
        self.scramble = scramble
        self.dimension = dimension
        self._state = _initial_state(dimension, self.MAXBIT)
        if self.scramble:
            self._scramble()
        else:
            self._shift = np.zeros(dimension, dtype=np.int64)
        self._quasi = self._shift.copy()
        # (the first point in the default dtype at construction, as PyTorch's `quasi / 2**30`)
        first = self._quasi.astype(dg.zeros(0).numpy().dtype)
        self._first_point = (first / first.dtype.type(2 ** self.MAXBIT)).reshape(1, -1)
        self.num_generated = 0

    # The shift and quasi state as PyTorch's attributes (int64 tensors).
    shift = property(lambda self: dg.tensor(self._shift))
    quasi = property(lambda self: dg.tensor(self._quasi))
    sobolstate = property(lambda self: dg.tensor(self._state))

    def _scramble(self) -> None:
        generator = None
        if self.seed is not None:
            generator = dg.Generator()
            generator.manual_seed(self.seed)
        bits = self.MAXBIT
        shift_bits = dg.randint(2, (self.dimension, bits), generator=generator).numpy()
        self._shift = shift_bits.astype(np.int64) @ (np.int64(1) << np.arange(bits))
        lower = np.tril(dg.randint(2, (self.dimension, bits, bits),
                                   generator=generator).numpy().astype(np.int64))
        lower[:, np.arange(bits), np.arange(bits)] = 1
        # Each direction number v becomes L v over GF(2): output bit (bits-1-p) is the parity
        # of row p of L (its column k weighs bit bits-1-k) against v's bits.
        state_bits = (self._state[:, :, None] >> np.arange(bits - 1, -1, -1)) & 1  # [d, j, k]
        parity = np.einsum("dpk,djk->djp", lower, state_bits) & 1
        self._state = parity @ (np.int64(1) << np.arange(bits - 1, -1, -1))

    def _advance(self, n: int, start: int, keep: bool) -> np.ndarray | None:
        """XOR in the direction numbers of points ``start + 1 ...`` (``n`` of them); the
        states after each one when ``keep``."""
        if n <= 0:
            return np.zeros((0, self.dimension), dtype=np.int64) if keep else None
        flips = self._state[:, _rightmost_zero(np.arange(start, start + n, dtype=np.int64))]
        states = np.bitwise_xor.accumulate(flips.T, axis=0) ^ self._quasi
        self._quasi = states[-1].copy()
        return states if keep else None

    def draw(self, n: int = 1, out=None, dtype=None):
        """The next ``n`` points, ``[n, dimension]`` in ``dtype`` (default: the default float
        dtype); written into ``out`` (resized) when given."""
        dtype = dg.get_default_dtype() if dtype is None else dtype
        target = dg.zeros(0, dtype=dtype).numpy().dtype
        scale = target.type(2.0 ** -self.MAXBIT)
        if self.num_generated == 0:
            if n == 1:
                result = self._first_point.astype(target)
            else:
                rest = self._advance(n - 1, self.num_generated, True)
                result = np.concatenate([self._first_point.astype(target),
                                         rest.astype(target) * scale])
        else:
            result = self._advance(n, self.num_generated - 1, True).astype(target) * scale
        self.num_generated += n
        tensor = dg.tensor(result, dtype=dtype)
        if out is not None:
            out.resize_as_(tensor).copy_(tensor)
            return out
        return tensor

    def draw_base2(self, m: int, out=None, dtype=None):
        """The next ``2 ** m`` points; the total drawn must stay a power of 2 (the balance
        properties of Sobol' points)."""
        n = 2 ** m
        total_n = self.num_generated + n
        if not (total_n & (total_n - 1) == 0):
            raise ValueError("The balance properties of Sobol' points require "
                             f"n to be a power of 2. {self.num_generated} points have been "
                             f"previously generated, then: n={self.num_generated}+2**{m}="
                             f"{total_n}. If you still want to do this, please use "
                             "'SobolEngine.draw()' instead.")
        return self.draw(n=n, out=out, dtype=dtype)

    def reset(self) -> SobolEngine:
        """Back to the first point."""
        self._quasi = self._shift.copy()
        self.num_generated = 0
        return self

    def fast_forward(self, n: int) -> SobolEngine:
        """Skip the next ``n`` points."""
        if self.num_generated == 0:
            self._advance(n - 1, self.num_generated, False)
        else:
            self._advance(n, self.num_generated - 1, False)
        self.num_generated += n
        return self

    def __repr__(self) -> str:
        parts = [f"dimension={self.dimension}"]
        if self.scramble:
            parts.append("scramble=True")
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return f"{type(self).__name__}({', '.join(parts)})"
