"""PyTorch's CPU random stream, reproduced: the same seed gives the same numbers.

PyTorch's CPU generator is a 32-bit Mersenne Twister (MT19937) seeded by the reference
``init_genrand`` with the seed's low 32 bits. NumPy ships the same engine (``MT19937``), so the
raw 32-bit words are identical; what remains is to turn them into values as PyTorch's kernels
do (ATen's ``DistributionTemplates``), which this module does vectorized:

- uniform floats: float32 and float16 take one word, keep its low 24 (11) bits and scale by
  2**-24 (2**-11); float64 takes two words as one 64-bit number ``first << 32 | second`` and
  keeps 53 bits. ``uniform_(a, b)`` is then ``u * (b - a) + a`` in the tensor's own precision.
- normals: tensors of 16 or more elements are filled with uniforms, then each block of 16 is
  turned into 8 Box-Muller pairs (``u1 = 1 - x[j]``, ``u2 = x[j + 8]``); a length that is not a
  multiple of 16 redraws 16 fresh uniforms for the last 16 places and transforms those again.
  Fewer than 16 elements take the scalar path: two 53-bit uniforms per pair, in double, the
  second value of each pair kept for the next draw (the generator's cached normal).
- integers in [low, high): ``word % (high - low) + low`` (two words as one when the range does
  not fit 32 bits); ``randperm(n)``: a Fisher-Yates pass swapping place i with place
  ``i + word % (n - i)``; Bernoulli(p) for a number p: a 53-bit uniform ``< p`` (dropout draws its
  keep mask this way with p = 1 - drop probability); Bernoulli of a probability tensor: a
  uniform of the tensor's precision ``< p``.
- Exponential(rate): ``-log1p(-u) / rate`` from a 53-bit uniform, for every dtype; Cauchy:
  ``median + sigma * tan(pi * (u - 1/2))``; geometric: ``ceil(log(u) / log1p(-p))``;
  log-normal: ``exp`` of the scalar (cached-pair) normal path, whatever the size.
  ``multinomial`` without replacement, or of one draw: the top ``k`` of ``weights /
  Exponential(1)`` (in the weights' dtype); otherwise: each draw a 53-bit uniform located in
  the row's cumulative distribution (double, normalised), row after row.

An in-place fill of a tensor that is not contiguous draws in the order of its memory (a
transposed weight is filled as its untransposed base would be), and ``normal_`` then takes the
scalar path whatever the size, as PyTorch's kernels do.

Uniforms, integers, permutations and Bernoulli masks come out bit-identical to PyTorch's
(tests/test_random_stream.py checks against torch); normals of 16 or more float32 elements agree
to an ulp or two (PyTorch evaluates log, sin and cos with its own vector library, NumPy with
another), float64 ones exactly.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["in_memory_order", "mt19937", "uniform", "normal", "integers", "permutation",
           "bernoulli_scalar", "bernoulli_tensor", "exponential", "multinomial", "cauchy",
           "log_normal", "geometric"]

_MASK53 = np.uint64((1 << 53) - 1)
_SHIFT32 = np.uint64(32)
_FLOAT_BITS = {np.dtype(np.float16): 11, np.dtype(np.float32): 24}


def mt19937(seed: int) -> np.random.MT19937:
    """An MT19937 in the state PyTorch's ``manual_seed(seed)`` leaves its engine in."""
    bit_generator = np.random.MT19937()
    # NumPy's legacy seeding of a 32-bit integer is the reference init_genrand, as PyTorch's.
    key = np.random.RandomState(seed & 0xFFFFFFFF).get_state()[1]
    bit_generator.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": 624}}
    return bit_generator


def _words(bits: np.random.MT19937, n: int) -> np.ndarray:
    """The next n 32-bit words, as uint64."""
    return bits.random_raw(n)


def _words64(bits: np.random.MT19937, n: int) -> np.ndarray:
    """The next n 64-bit numbers, each made of two words, the first the high half."""
    pairs = bits.random_raw(2 * n)
    return (pairs[0::2] << _SHIFT32) | pairs[1::2]


def _unit(bits: np.random.MT19937, n: int, dtype: np.dtype) -> np.ndarray:
    """n uniforms on [0, 1) of ``dtype`` drawn as PyTorch draws them."""
    keep = _FLOAT_BITS.get(dtype)
    if keep is None:  # float64 (and the wider accumulations of other kinds)
        return (_words64(bits, n) & _MASK53).astype(np.float64) * 2.0 ** -53
    words = _words(bits, n) & np.uint64((1 << keep) - 1)
    return words.astype(np.float32) * np.float32(2.0 ** -keep)  # exact: < 2**24 times 2**-k


def uniform(bits: np.random.MT19937, shape: tuple, dtype, low: float = 0.0,
            high: float = 1.0) -> np.ndarray:
    """Uniforms on [low, high) of ``dtype`` (a floating NumPy dtype), as ``uniform_``."""
    dtype = np.dtype(dtype)
    u = _unit(bits, math.prod(shape), dtype).reshape(shape)
    if low == 0.0 and high == 1.0:
        return u.astype(dtype, copy=False)
    # The bounds are rounded to the tensor's precision and their difference taken there; the
    # rest is done in double and rounded once (bit-identical to PyTorch for float32). PyTorch's
    # double multiply-add is fused (one rounding): extended precision comes closest to it
    # (measured: 0-0.3% of float64 draws an ulp apart, against 30-50% when rounded twice).
    if dtype == np.float64:
        low_t, span = np.float64(low), np.float64(high) - np.float64(low)
        return _fused(u, span, low_t)
    low_t, span = np.float32(low), np.float32(high) - np.float32(low)
    out = u.astype(np.float64) * np.float64(span) + np.float64(low_t)
    return out.astype(dtype, copy=False)


def _fused(x: np.ndarray, scale, shift) -> np.ndarray:
    """``x * scale + shift`` for float64 x, rounded (nearly always) once."""
    wide = np.longdouble
    return (x.astype(wide) * wide(scale) + wide(shift)).astype(np.float64)


def _box_muller_blocks(x: np.ndarray) -> None:
    """Turn x (a multiple of 16 uniforms) into normals in place, block by block of 16."""
    blocks = x.reshape(-1, 2, 8)
    radius = np.sqrt(x.dtype.type(-2.0) * np.log(x.dtype.type(1.0) - blocks[:, 0]))
    theta = x.dtype.type(2.0 * math.pi) * blocks[:, 1]
    blocks[:, 0] = radius * np.cos(theta)
    blocks[:, 1] = radius * np.sin(theta)


def normal(generator, shape: tuple, dtype, mean: float = 0.0, std: float = 1.0, *,
           scalar: bool = False) -> np.ndarray:
    """Normals N(mean, std**2) of ``dtype``, as ``normal_`` fills a contiguous tensor (or,
    with ``scalar``, a non-contiguous one: the scalar path whatever the size).

    ``generator`` is the deltagrad Generator (its MT19937 in ``_bits``, its cached normal in
    ``_cached_normal``).
    """
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    bits = generator._bits
    if n >= 16 and not scalar:
        compute = np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
        x = _unit(bits, n, compute).astype(compute, copy=False)
        whole = n - n % 16
        _box_muller_blocks(x[:whole])
        if n % 16:
            tail = _unit(bits, 16, compute).astype(compute, copy=False)
            _box_muller_blocks(tail)
            x[n - 16:] = tail
        if std != 1.0 or mean != 0.0:
            x = (_fused(x, std, mean) if compute == np.float64
                 else x * compute.type(std) + compute.type(mean))
        return x.reshape(shape).astype(dtype, copy=False)
    values = np.empty(n, dtype=np.float64)
    for i in range(n):
        cached = generator._cached_normal
        if cached is not None:
            generator._cached_normal = None
            values[i] = cached
            continue
        u1, u2 = _unit(bits, 2, np.dtype(np.float64))
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        generator._cached_normal = radius * math.sin(theta)
        values[i] = radius * math.cos(theta)
    if std != 1.0 or mean != 0.0:
        values = _fused(values, std, mean)
    return values.reshape(shape).astype(dtype, copy=False)


def integers(bits: np.random.MT19937, low: int, high: int, shape: tuple) -> np.ndarray:
    """Integers uniform on [low, high) as int64 (uint64 when high exceeds int64's range)."""
    span = high - low
    n = math.prod(shape)
    words = _words(bits, n) if span < 2 ** 32 else _words64(bits, n)
    drawn = words % np.uint64(span)
    if high <= 2 ** 63:
        return (drawn.astype(np.int64) + np.int64(low)).reshape(shape)
    return (drawn + np.uint64(low)).reshape(shape)


def permutation(bits: np.random.MT19937, n: int) -> np.ndarray:
    """``randperm(n)`` as int64: PyTorch's forward Fisher-Yates pass."""
    order = np.arange(n, dtype=np.int64)
    if n < 2:
        return order
    if n >= 2 ** 32:
        raise RuntimeError(f"randperm: n={n} is beyond what this generator draws")
    # One word per swap, drawn up front; the swaps themselves are sequential by nature.
    targets = (_words(bits, n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).astype(np.int64)
    targets += np.arange(n - 1, dtype=np.int64)
    items = order.tolist()
    for i, j in enumerate(targets.tolist()):
        items[i], items[j] = items[j], items[i]
    return np.array(items, dtype=np.int64)


def bernoulli_scalar(bits: np.random.MT19937, shape: tuple, p: float) -> np.ndarray:
    """Booleans true with probability p: a 53-bit uniform below p (``bernoulli_(p)``)."""
    # u * 2**-53 < p  <=>  u < p * 2**53  <=>  u < ceil(p * 2**53), all exact for a double p.
    threshold = min(math.ceil(float(p) * 2.0 ** 53), 2 ** 53)
    n = math.prod(shape)
    if n < 2048:  # (fewer NumPy calls: 3.2 -> 2.2 us for 12 draws, equal from about 4096)
        return ((_words64(bits, n) & _MASK53) < np.uint64(threshold)).reshape(shape)
    # The 53-bit numbers assembled as uint32 halves in place: the raw words are uint64 holding
    # 32 bits each, so as uint32 (little-endian) the words sit at even places. Measured on 1M
    # draws: 13.5 ms with 64-bit shifts and ors, 7 ms this way (MT19937's words alone: 4.8 ms).
    words = bits.random_raw(2 * n).view(np.uint32)  # drawn whatever p is, as PyTorch
    numbers = np.empty(n, dtype=np.uint64)
    halves = numbers.view(np.uint32)
    if np.little_endian:
        halves[0::2] = words[2::4]  # low half: the second word
        np.bitwise_and(words[0::4], np.uint32((1 << 21) - 1), out=halves[1::2])
    else:  # pragma: no cover - big-endian machines
        numbers = ((bits_pairs := words.view(np.uint64))[0::2] << _SHIFT32 | bits_pairs[1::2])
        numbers &= _MASK53
    return (numbers < np.uint64(threshold)).reshape(shape)


def bernoulli_tensor(bits: np.random.MT19937, probs: np.ndarray) -> np.ndarray:
    """Booleans true with the given probabilities (``torch.bernoulli(p)``): one uniform of
    the probabilities' precision per element, below its probability."""
    u = _unit(bits, probs.size, np.dtype(probs.dtype) if probs.dtype.kind == "f"
              else np.dtype(np.float32))
    return u.reshape(probs.shape) < probs


def exponential(bits: np.random.MT19937, shape: tuple, dtype, rate: float = 1.0) -> np.ndarray:
    """Exponential(rate) draws of ``dtype`` (``exponential_``)."""
    u = _unit(bits, math.prod(shape), np.dtype(np.float64))
    return (-np.log1p(-u) / rate).reshape(shape).astype(dtype, copy=False)


def multinomial(bits: np.random.MT19937, weights: np.ndarray, count: int,
                replacement: bool) -> np.ndarray:
    """``count`` category indices per row of ``weights`` ([rows, categories], non-negative,
    each row with a positive sum) as int64 [rows, count]."""
    if not replacement or count == 1:  # (one draw: PyTorch takes this path either way)
        clocks = exponential(bits, weights.shape, weights.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = weights / clocks
        if count == 1:
            return np.argmax(ratio, axis=1)[:, None].astype(np.int64)
        # (Ties, as between zero weights, may come out in another order than PyTorch's topk.)
        return np.argsort(-ratio, axis=1, kind="stable")[:, :count].astype(np.int64)
    cumulative = np.cumsum(weights, axis=1, dtype=np.float64)
    cumulative /= cumulative[:, -1:]
    u = _unit(bits, weights.shape[0] * count, np.dtype(np.float64)).reshape(-1, count)
    return np.stack([np.searchsorted(row, draws, side="left")
                     for row, draws in zip(cumulative, u)]).astype(np.int64)


def cauchy(bits: np.random.MT19937, shape: tuple, dtype, median: float,
           sigma: float) -> np.ndarray:
    """Cauchy(median, sigma) draws of ``dtype`` (``cauchy_``)."""
    u = _unit(bits, math.prod(shape), np.dtype(np.float64))
    return (median + sigma * np.tan(math.pi * (u - 0.5))).reshape(shape).astype(dtype)


def geometric(bits: np.random.MT19937, shape: tuple, dtype, p: float) -> np.ndarray:
    """Geometric(p) draws, trials to the first success, of ``dtype`` (``geometric_``)."""
    u = _unit(bits, math.prod(shape), np.dtype(np.float64))
    return np.ceil(np.log(u) / math.log1p(-p)).reshape(shape).astype(dtype)


def log_normal(generator, shape: tuple, dtype, mean: float, std: float) -> np.ndarray:
    """Draws whose log is N(mean, std**2) (``log_normal_``): PyTorch takes each normal from the
    scalar path (pairs, the second cached), element by element, in double."""
    n = math.prod(shape)
    values = np.concatenate([normal(generator, (1,), np.float64) for _ in range(n)]) if n \
        else np.empty(0)
    return np.exp(_fused(values, std, mean)).reshape(shape).astype(dtype)


def in_memory_order(target: np.ndarray, draw) -> np.ndarray:
    """``draw(shape)`` laid out so that its values follow ``target``'s memory order: for a
    contiguous target, ``draw(target.shape)`` itself; else drawn in the axes' order from the
    slowest-varying stride to the fastest, and transposed back."""
    if target.flags.c_contiguous:
        return draw(target.shape)
    order = sorted(range(target.ndim), key=lambda axis: -abs(target.strides[axis]))
    drawn = draw(tuple(target.shape[axis] for axis in order))
    return drawn.transpose(np.argsort(order))
