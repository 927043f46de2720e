"""PyTorch's CPU random stream, reproduced: the same seed gives the same numbers.

PyTorch's CPU generator is a 32-bit Mersenne Twister (MT19937) seeded by the reference
``init_genrand`` with the seed's low 32 bits. NumPy ships the same engine (``MT19937``), so the
raw 32-bit words are identical; what remains is to turn them into values as PyTorch's kernels
do (ATen's ``DistributionTemplates``), which this module does vectorized:

- uniform floats: float32 takes one word, keeps its low 24 bits and scales by 2**-24; float64
  takes two words as one 64-bit number ``first << 32 | second`` and keeps 53 bits (float16 is
  drawn as float32 and rounded: not PyTorch's values). ``uniform_(a, b)`` is ``u * (b - a) + a``
  with the bounds and their difference in the tensor's precision and the rest in double.
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
  the row's cumulative distribution (double, normalised), row after row. Poisson and binomial
  counts: ATen's rejection kernels element by element (see below).

An in-place fill of a tensor that is not contiguous draws in the order of its memory (a
transposed weight is filled as its untransposed base would be), and ``normal_`` then takes the
scalar path whatever the size, as PyTorch's kernels do.

Uniforms, integers, permutations and Bernoulli masks come out bit-identical to PyTorch's
(tests/test_random_stream.py checks against torch); normals of 16 or more float32 elements agree
to an ulp or two (PyTorch evaluates log, sin and cos with its own vector library, NumPy with
another), float64 ones to an ulp.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["in_memory_order", "mt19937", "uniform", "normal", "integers", "permutation",
           "bernoulli_scalar", "bernoulli_tensor", "exponential", "multinomial", "cauchy",
           "log_normal", "geometric", "poisson", "binomial"]

_MASK53 = np.uint64((1 << 53) - 1)
_SHIFT32 = np.uint64(32)
# Bits of one 32-bit word kept per uniform. float16 draws as float32 (PyTorch's CPU kernels
# compute half in float: rand / uniform_ / bernoulli of float16 are float32 draws rounded).
_FLOAT_BITS = {np.dtype(np.float16): 24, np.dtype(np.float32): 24}


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
    values = []
    if n and generator._cached_normal is not None:
        values.append(generator._cached_normal)
        generator._cached_normal = None
    pairs = (n - len(values) + 1) // 2
    # The pairs' uniforms drawn at once (one NumPy call, not one a pair: torch.normal of 3
    # elements with tensor parameters 23.9 -> ~19 us), each pair turned into two normals in turn.
    units = _unit(bits, 2 * pairs, np.dtype(np.float64)).tolist()
    for u1, u2 in zip(units[0::2], units[1::2]):
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        values += (radius * math.cos(theta), radius * math.sin(theta))
    if len(values) > n:  # the last pair's second value waits for the next draw
        generator._cached_normal = values.pop()
    values = np.array(values, dtype=np.float64)
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


# --------------------------------------------------------------------------------------------
# Poisson and binomial counts: PyTorch's CPU kernels walk the elements in row-major order and
# run a rejection (or product / inversion) loop per element on 53-bit uniforms, so the number
# of words each element takes varies; these are loops over elements on words read ahead.

class _Uniforms:
    """53-bit uniforms (two words each, as ``random64``) read ahead from a MT19937 in blocks;
    ``finish`` leaves the engine exactly as many words on as were used."""

    def __init__(self, bits: np.random.MT19937, hint: int) -> None:
        self._bits = bits
        self._start = bits.state
        self._block = max(64, min(int(hint), 1 << 20))
        self._values: list = []
        self._next = 0
        self._taken = 0  # uniforms in the blocks before the current one

    def __call__(self) -> float:
        if self._next == len(self._values):
            self._taken += len(self._values)
            self._values = _unit(self._bits, self._block, np.dtype(np.float64)).tolist()
            self._next = 0
        self._next += 1
        return self._values[self._next - 1]

    def finish(self) -> None:
        used = self._taken + self._next
        self._bits.state = self._start
        if used:
            self._bits.random_raw(2 * used)


def _poisson_one(lam: float, uniform) -> int:
    """One Poisson(lam) count (lam >= 0, a double), as ATen's ``sample_poisson``."""
    if lam >= 10.0:
        if lam == math.inf:
            raise RuntimeError("poisson: an infinite rate is not supported (PyTorch's sampler "
                               "does not return a count)")
        # Hoermann's transformed rejection (PTRS).
        slam = math.sqrt(lam)
        loglam = math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        log_invalpha = math.log(1.1239 + 1.1328 / (b - 3.4))
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = uniform() - 0.5
            v = uniform()
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            # (v == 0 gives log(0) = -inf in C: always accepted)
            log_v = math.log(v) if v > 0.0 else -math.inf
            if (log_v + log_invalpha - math.log(a / (us * us) + b)
                    <= -lam + k * loglam - math.lgamma(k + 1.0)):
                return k
    if lam == 0.0:
        return 0
    if lam != lam:  # (checked by the callers; C would take one uniform and return 0)
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    # Multiply uniforms until the product falls to exp(-lam) or below.
    limit = math.exp(-lam)
    count = 0
    product = uniform()
    while product > limit:
        count += 1
        product *= uniform()
    return count


def poisson(generator, rates: np.ndarray) -> np.ndarray:
    """Poisson counts (float64) with the given non-negative ``rates``, in C order, as
    ``torch.poisson`` draws them (each rate taken as a double)."""
    flat = np.ravel(rates).astype(np.float64).tolist()
    uniform = _Uniforms(generator._bits, 2 * len(flat) + 16)
    out = np.empty(len(flat), dtype=np.float64)
    try:
        for i, lam in enumerate(flat):
            out[i] = _poisson_one(lam, uniform)
    finally:
        uniform.finish()
    return out.reshape(np.shape(rates))


_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
         0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
         0.00925546218271273, 0.00833056343336287)


def _log(x: float) -> float:
    """C's log: -inf at 0 and nan below 0 or at nan, where Python's raises."""
    return math.log(x) if x > 0.0 else (-math.inf if x == 0.0 else math.nan)


def _stirling_tail(k: float) -> float:
    """log(k!) minus its Stirling approximation (tabulated up to 9)."""
    if k <= 9:
        return _TAIL[int(k)]
    square = (k + 1) * (k + 1)
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / square) / square) / (k + 1)


def _binomial_inversion(n: float, p: float, log_q: float, uniform) -> float:
    """Successes counted as geometric waiting times (``log_q`` = log1p(-p))."""
    trials = 0.0
    successes = 0
    while True:
        u = uniform()
        # (u == 0: log is -inf, the wait is infinite and ends the count, as in C)
        trials += math.ceil(math.log(u) / log_q) if u > 0.0 else math.inf
        if trials > n:
            return float(successes)
        successes += 1


def _btrs(n: float, p: float, spread: float, mean_n_p: float, ratio: float, mode: float,
          uniform) -> float:
    """Hoermann's BTRS rejection for n * p >= 10 (p <= 1/2); ``spread`` = sqrt(npq),
    ``mean_n_p`` = n * p, ``ratio`` = p / q, ``mode`` = floor((n + 1) p), each rounded as the
    kernel of the tensor's dtype rounds them."""
    b = 1.15 + 2.53 * spread
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = mean_n_p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spread
    m = mode
    while True:
        u = uniform() - 0.5
        v = uniform()
        us = 0.5 - abs(u)
        x = (2 * a / us + b) * u + c
        # (an infinite count makes x inf or nan, which C's floor passes through)
        k = float(math.floor(x)) if math.isfinite(x) else x
        if k < 0 or k > n:
            continue
        if us >= 0.07 and v <= v_r:
            return k
        log_v = _log(v * alpha / (a / (us * us) + b))
        bound = ((m + 0.5) * _log((m + 1) / (ratio * (n - m + 1)))
                 + (n + 1) * _log((n - m + 1) / (n - k + 1))
                 + (k + 0.5) * _log(ratio * (n - k + 1) / (k + 1))
                 + _stirling_tail(m) + _stirling_tail(n - m)
                 - _stirling_tail(k) - _stirling_tail(n - k))
        if log_v <= bound:
            return k


def binomial(generator, counts: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Binomial draws (float64) for ``counts`` and ``probs`` (same shape, both float32 or
    both float64), in C order, as ``torch.binomial`` draws them.

    The kernel's per-element constants are computed here for all elements at once, in the
    tensors' own precision where the kernel computes them so (the float32 kernel rounds
    ``n * p``, ``1 - p``, ``sqrt(n p q)``, ``p / q``, ``(n + 1) p`` and ``log1p(-p)`` to
    float32); only the draws loop over elements.
    """
    dtype = np.result_type(counts, probs)
    n = np.ravel(counts).astype(dtype)
    p = np.ravel(probs).astype(dtype)
    one = dtype.type(1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # The kernel's branches: n <= 0 or p <= 0 gives 0, p >= 1 gives n, nan p gives nan;
        # the others draw, for p > 1/2 as n minus a draw of 1 - p.
        zero = (n <= 0) | (p <= 0)
        whole = ~zero & (p >= 1)
        undefined = ~zero & np.isnan(p)
        draw = ~(zero | whole | undefined)
        # NOTE: a nan count with a probability in (0, 1) never ends PyTorch's loop; it
        # comes out nan here, drawing nothing.
        draw &= ~np.isnan(n)
        flip = p > 0.5
        q = np.where(flip, one - p, p)
        mean = n * q
        btrs = mean >= 10
        spread = np.sqrt(n * q * (one - q))
        ratio = q / (one - q)
        mode = np.floor((n + one) * q)
        log_q = np.log1p(-q)
    out = np.where(zero, 0.0, np.where(whole, n, np.nan)).astype(np.float64)
    places = np.flatnonzero(draw)
    if places.size:
        columns = [a[places].astype(np.float64).tolist()
                   for a in (n, q, mean, spread, ratio, mode, log_q)]
        flags = [btrs[places].tolist(), flip[places].tolist()]
        uniform = _Uniforms(generator._bits, 2 * places.size + 16)
        drawn = np.empty(places.size)
        try:
            for i, (ni, qi, mi, si, ri, mo, lq, use_btrs, flipped) in enumerate(
                    zip(*columns, *flags)):
                k = (_btrs(ni, qi, si, mi, ri, mo, uniform) if use_btrs
                     else _binomial_inversion(ni, qi, lq, uniform))
                drawn[i] = ni - k if flipped else k
        finally:
            uniform.finish()
        out[places] = drawn
    return out.reshape(np.shape(counts))
