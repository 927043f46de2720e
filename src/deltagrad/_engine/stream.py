"""PyTorch's CPU random stream, reproduced: the same seed gives the same numbers.

PyTorch's CPU generator is a 32-bit Mersenne Twister (MT19937) seeded by the reference
``init_genrand`` with the seed's low 32 bits. NumPy ships the same engine (``MT19937``), so the
raw 32-bit words are identical; what remains is to turn them into values as PyTorch's kernels
do (ATen's ``DistributionTemplates``), which this module does vectorized:

- uniform floats: float32 takes one word, keeps its low 24 bits and scales by 2**-24; float64
  takes two words as one 64-bit number ``first << 32 | second`` and keeps 53 bits; float16 is
  drawn as float32 and rounded. ``uniform_(a, b)`` is ``u * (b - a) + a`` fused, with the bounds
  and their difference in the tensor's precision (float for float16), and a draw that rounds
  up to ``b`` is ``a``. Large draws are made in chunks (``_CHUNK``), straight into the output.
- normals: tensors of 16 or more elements are filled with uniforms, then each block of 16 is
  turned into 8 Box-Muller pairs (``u1 = 1 - x[j]``, ``u2 = x[j + 8]``); a length that is not a
  multiple of 16 redraws 16 fresh uniforms for the last 16 places and transforms those again.
  Fewer than 16 elements take the scalar path: two 53-bit uniforms per pair, in double, the
  second value of each pair kept for the next draw (the generator's cached normal).
- integers in [low, high): ``word % (high - low) + low`` (two words as one from a range of
  2**28 on; ``random_()`` over a whole dtype: from 2**32); ``randperm(n)``: a Fisher-Yates
  pass swapping place i with place ``i + word % (n - i)``; Bernoulli(p) for a number p: a
  53-bit uniform ``< p`` (dropout draws its keep mask this way with p = 1 - drop
  probability); Bernoulli of a probability tensor: a uniform of the tensor's precision ``< p``.
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
another), float64 ones to an ulp. float16 / bfloat16 normals are drawn block by block as
PyTorch's (float16 since s30 SL24); NOTE: past ~70,000 float16 values a few differ from
PyTorch's by one float16 rounding step.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["in_memory_order", "mt19937", "seeded_key", "uniform", "normal", "integers",
           "permutation", "bernoulli_scalar", "bernoulli_tensor", "exponential", "multinomial",
           "cauchy", "log_normal", "geometric", "poisson", "binomial"]

_MASK53 = np.uint64((1 << 53) - 1)
_SHIFT32 = np.uint64(32)
# Bits of one 32-bit word kept per uniform. float16 draws as float32 (PyTorch's CPU kernels
# compute half in float: rand / uniform_ / bernoulli of float16 are float32 draws rounded).
_FLOAT_BITS = {np.dtype(np.float16): 24, np.dtype(np.float32): 24}


def mt19937(seed: int) -> np.random.MT19937:
    """An MT19937 in the state PyTorch's ``manual_seed(seed)`` leaves its engine in."""
    bit_generator = np.random.MT19937()
    bit_generator.state = {"bit_generator": "MT19937",
                           "state": {"key": seeded_key(seed), "pos": 624}}
    return bit_generator


def seeded_key(seed: int) -> np.ndarray:
    """The 624 key words (uint32) ``manual_seed(seed)`` gives PyTorch's engine."""
    # NumPy's legacy seeding of a 32-bit integer is the reference init_genrand, as PyTorch's.
    return np.random.RandomState(seed & 0xFFFFFFFF).get_state()[1]


def _words(bits: np.random.MT19937, n: int) -> np.ndarray:
    """The next n 32-bit words, as uint64."""
    return bits.random_raw(n)


def _words64(bits: np.random.MT19937, n: int) -> np.ndarray:
    """The next n 64-bit numbers, each made of two words, the first the high half."""
    pairs = bits.random_raw(2 * n)
    return (pairs[0::2] << _SHIFT32) | pairs[1::2]


# --------------------------------------------------------------------------------------------
# Large draws. NumPy's MT19937 (C) makes the words; what costs is turning them into values:
# the words come as uint64 (8 bytes each), and whole-array temporaries of tens of millions of
# elements (uint64 words, their float copies, ``astype``) run out of cache and, at 67M
# elements, allocate gigabytes. So draws are made _CHUNK elements at a time, each chunk's
# values written straight into the output with in-place NumPy calls (no ``astype`` copies),
# reading the words as int64 (NumPy converts those to floats fastest). Measured (one thread,
# loaded machine, timeit, old/new in one process): 1e7 float32 uniforms 177 -> 113 ms,
# uniform(a, b) 343 -> 154 ms, normals 343 -> 198 ms; 67M uniform_ 11.9 s -> 1.4-2.0 s (most
# of the rest: uniform_'s own copies of the draws, and the first touch of fresh buffers that
# NumPy marks for huge pages, slow on the machine measured).
# (64K elements: the best of 16K/64K/256K/1M, 0.66/0.63/0.66/0.86 s for three 1e7 draws.)
_CHUNK = 1 << 16  # elements, a multiple of 16 (whole Box-Muller blocks)
# (0-d arrays, not NumPy scalars: an operand NumPy takes faster, 0.3 against 0.5 us a call on
# 64 elements; the same dtypes, so the same results)
_MASK24 = np.array((1 << 24) - 1, dtype=np.uint64)
_SCALE24 = np.array(2.0 ** -24, dtype=np.float32)
_SCALE53 = np.array(2.0 ** -53, dtype=np.float64)
_MASK21 = np.array((1 << 21) - 1, dtype=np.uint32)


def _words32(bits: np.random.MT19937, n: int) -> np.ndarray:
    """The next n 32-bit words as a uint32 array (a strided view of the raw words)."""
    raw = bits.random_raw(n)
    if np.little_endian:
        return raw.view(np.uint32)[0::2]  # each uint64 holds one word in its low half
    return raw.astype(np.uint32)  # pragma: no cover - big-endian machines


def _numbers53(bits: np.random.MT19937, n: int) -> np.ndarray:
    """The next n 53-bit numbers (two words each, the first the high half, 53 low bits kept)
    as int64, assembled as uint32 halves in place (measured on 1M: 13.5 ms with 64-bit shifts
    and ors, 7 ms this way; MT19937's words alone 4.8 ms)."""
    if not np.little_endian:  # pragma: no cover - big-endian machines
        return (_words64(bits, n) & _MASK53).view(np.int64)
    words = bits.random_raw(2 * n).view(np.uint32)
    numbers = np.empty(n, dtype=np.uint64)
    halves = numbers.view(np.uint32)
    halves[0::2] = words[2::4]  # low half: the second word
    np.bitwise_and(words[0::4], _MASK21, out=halves[1::2])
    return numbers.view(np.int64)


# Up to this many values, _fill_unit makes its uniforms from the words in Python
# (_small_units; float32 rand(n) breaks even near n = 10: 8 is 0.95 of its time, 12 1.04)
_SMALL = 8


def _small_units(bits: np.random.MT19937, n: int, single: bool) -> list:
    """n uniforms on [0, 1) as Python floats, the values _fill_unit gives: (word & (2**24 - 1))
    * 2**-24 for float32, ((w1 & (2**21 - 1)) << 32 | w2) * 2**-53 for float64 (below 2**24 /
    2**53, every step exact: the same numbers). One NumPy call instead of six or seven:
    rand(1) 4.34 -> 2.88 us, randn(()) 6.43 -> 3.89, randn(9) 7.51 -> 5.97 (CPU time, old and
    new alternated 15 rounds in one process; s30 SP52)."""
    if single:
        return [(word & 0xFFFFFF) * 5.9604644775390625e-08 for word in bits.random_raw(n).tolist()]
    words = bits.random_raw(2 * n).tolist()
    return [((high & 0x1FFFFF) << 32 | low) * 1.1102230246251565e-16
            for high, low in zip(words[0::2], words[1::2])]


def _fill_unit(bits: np.random.MT19937, out: np.ndarray) -> None:
    """Fill ``out`` (1-d, contiguous, float32 or float64) with uniforms on [0, 1) as PyTorch
    draws them for that dtype, chunk by chunk."""
    single = out.dtype.type is np.float32
    if out.size <= _SMALL:
        out[...] = _small_units(bits, out.size, single)
        return
    # (one chunk, the common small draw, without the loop's range and slices: _fill_unit of 64
    # float32 3.1 -> 2.9 us)
    parts = (out,) if out.size <= _CHUNK else (
        out[start:start + _CHUNK] for start in range(0, out.size, _CHUNK))
    for part in parts:
        if single:
            words = bits.random_raw(part.size)
            words &= _MASK24
            # (as int64: NumPy converts it to float much faster than uint64; exact below
            # 2**24. Measured 415 us per 64K against 512 us through a strided uint32 view.)
            # (an assignment casts as copyto(casting="unsafe"), ~0.3 us a call less)
            part[...] = words.view(np.int64)
            part *= _SCALE24
        else:
            part[...] = _numbers53(bits, part.size)  # exact: < 2**53
            part *= _SCALE53


def _unit(bits: np.random.MT19937, n: int, dtype: np.dtype) -> np.ndarray:
    """n uniforms on [0, 1) drawn as PyTorch draws them for ``dtype``: float32 for float32 and
    float16 (a float32 draw), float64 otherwise."""
    out = np.empty(n, dtype=np.float32 if dtype in _FLOAT_BITS else np.float64)
    _fill_unit(bits, out)
    return out


def uniform(bits: np.random.MT19937, shape: tuple, dtype, low: float = 0.0,
            high: float = 1.0) -> np.ndarray:
    """Uniforms on [low, high) of ``dtype`` (a floating NumPy dtype), as ``uniform_``."""
    dtype = np.dtype(dtype)
    n = math.prod(shape)
    out = np.empty(n, dtype=dtype)
    plain = low == 0.0 and high == 1.0
    if plain and dtype in (np.float32, np.float64):
        _fill_unit(bits, out)
        return out.reshape(shape)
    # The bounds are rounded to the tensor's precision (float for float16, as PyTorch computes
    # half in float) and their difference taken there; the rest is PyTorch's fused multiply-add
    # in that precision. For float32 it is exact in double (u * span has at most 48 bits) and
    # rounded once. For float64, extended precision comes closest (measured: 0-0.3% of draws
    # an ulp apart, against 30-50% when rounded twice). A draw that rounds up to ``high`` is
    # ``low``, as PyTorch keeps its draws in [low, high) (measured: float32 uniform_(1000,
    # 1000.001) gives 3% of draws equal to high without this; float16 rand rounds some to 1).
    if dtype == np.float64:
        low_t, high_t = np.float64(low), np.float64(high)
        for start in range(0, n, _CHUNK):
            part = out[start:start + _CHUNK]
            _fill_unit(bits, part)
            part[...] = _fused(part, high_t - low_t, low_t)
            np.putmask(part, part == high_t, low_t)
        return out.reshape(shape)
    low_t, high_t = np.float32(low), np.float32(high)
    # u * span with u = word * 2**-24 is word * (span * 2**-24): both exact in double.
    # (0-d arrays, as _MASK24, and an assignment for copyto: with the copy inplace_random.py
    # saves, uniform_(-0.1, 0.1) of [8, 8] 12.2 -> 11.3 us)
    scale = np.array(np.float64(1.0 if plain else high_t - low_t) * 2.0 ** -24)
    shift = np.array(np.float64(0.0 if plain else low_t))
    top, bottom = dtype.type(high_t), dtype.type(low_t)
    wide = np.empty(min(n, _CHUNK), dtype=np.float64)
    narrow = np.empty(min(n, _CHUNK), dtype=np.float32) if dtype != np.float32 else None
    for start in range(0, n, _CHUNK):
        part = out[start:start + _CHUNK]
        words = bits.random_raw(part.size)
        words &= _MASK24
        here = wide[:part.size]
        here[...] = words.view(np.int64)
        here *= scale
        if not plain:
            here += shift
        if narrow is None:
            part[...] = here  # (the fused result: one rounding to float)
        else:  # (float16: the float result, then rounded to half)
            rounded = narrow[:part.size]
            rounded[...] = here
            part[...] = rounded
        np.putmask(part, part == top, bottom)
    return out.reshape(shape)


def _fused(x: np.ndarray, scale, shift) -> np.ndarray:
    """``x * scale + shift`` for float64 x, rounded (nearly always) once."""
    wide = np.longdouble
    return (x.astype(wide) * wide(scale) + wide(shift)).astype(np.float64)


# Box-Muller's constants per dtype as 0-d arrays: NumPy takes a 0-d array operand faster than
# a NumPy scalar (0.3 against 0.5-0.6 us on 32 float32; the same value and dtype, same bits).
_BOX_MULLER_CONSTANTS = {np.dtype(kind): tuple(np.array(value, dtype=kind)
                                               for value in (1.0, -2.0, 2.0 * math.pi))
                         for kind in (np.float32, np.float64)}


def _box_muller_blocks(x: np.ndarray) -> None:
    """Turn x (a multiple of 16 uniforms) into normals in place, block by block of 16."""
    blocks = x.reshape(-1, 2, 8)
    one, minus_two, two_pi = _BOX_MULLER_CONSTANTS[x.dtype]
    # Each block's first and second halves gathered into two contiguous rows: NumPy's ufuncs
    # on the strided halves cost ~0.9 us a call against ~0.3 (randn(8, 8) 15.2 -> 11.5 us; a
    # 64K chunk the same, 165 us either way, the gather paid by contiguous loops); the
    # same float operations on the same values, so the same roundings as the plain expression
    # sqrt(-2 log(1 - u1)) * cos(2 pi u2).
    halves = np.ascontiguousarray(blocks.transpose(1, 0, 2))
    radius, theta = halves[0], halves[1]
    np.subtract(one, radius, out=radius)
    np.log(radius, out=radius)
    np.multiply(radius, minus_two, out=radius)
    np.sqrt(radius, out=radius)
    np.multiply(two_pi, theta, out=theta)
    cosine = np.cos(theta)
    np.sin(theta, out=theta)
    np.multiply(radius, theta, out=theta)
    np.multiply(radius, cosine, out=radius)
    np.copyto(blocks, halves.transpose(1, 0, 2))


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
        x = np.empty(n, dtype=compute)
        whole = n - n % 16
        # Chunk by chunk: the uniforms drawn in order, each chunk's whole blocks transformed
        # while in cache (the partial last block's uniforms are drawn, then replaced below;
        # for bfloat16, kind "V", and float16 PyTorch draws block by block: those are never
        # drawn; SL24 found float16's 17 normals differing).
        half = dtype.kind == "V" or dtype == np.float16
        drawn = whole if half else n
        # (one chunk: no loop, no slices unless needed; normal of (8, 8) 9.8 -> 8.8 us, timeit)
        if n <= _CHUNK:
            _fill_unit(bits, x if drawn == n else x[:drawn])
            _box_muller_blocks(x if whole == n else x[:whole])
        else:
            for start in range(0, drawn, _CHUNK):
                _fill_unit(bits, x[start:min(start + _CHUNK, drawn)])
                if start < whole:
                    _box_muller_blocks(x[start:min(start + _CHUNK, whole)])
        if n % 16:
            tail = _unit(bits, 16, compute)
            _box_muller_blocks(tail)
            x[n - 16:] = tail
        if std != 1.0 or mean != 0.0:
            for start in range(0, n, _CHUNK):
                part = x[start:start + _CHUNK]
                if compute == np.float64:
                    part[...] = _fused(part, std, mean)
                elif dtype.kind == "V":  # bfloat16: fused (one rounding), then to bf16 (vs
                    # torch, 16 x 70001 draws: 6 differ fused, 16 with two roundings)
                    part[...] = part * np.float64(np.float32(std)) + np.float64(np.float32(mean))
                else:  # (two roundings, as PyTorch's float kernel)
                    part *= compute.type(std)
                    part += compute.type(mean)
        return x.reshape(shape).astype(dtype, copy=False)
    values = []
    if n and generator._cached_normal is not None:
        values.append(generator._cached_normal)
        generator._cached_normal = None
    pairs = (n - len(values) + 1) // 2
    # The pairs' uniforms drawn at once (one NumPy call, not one a pair: torch.normal of 3
    # elements with tensor parameters 23.9 -> ~19 us), each pair turned into two normals in turn.
    units = (_small_units(bits, 2 * pairs, False) if pairs <= 8
             else _unit(bits, 2 * pairs, np.dtype(np.float64)).tolist())
    for u1, u2 in zip(units[0::2], units[1::2]):
        radius = math.sqrt(-2.0 * math.log1p(-u2))
        theta = 2.0 * math.pi * u1
        values += (radius * math.cos(theta), radius * math.sin(theta))
    if len(values) > n:  # the last pair's second value waits for the next draw
        generator._cached_normal = values.pop()
    values = np.array(values, dtype=np.float64)
    if std != 1.0 or mean != 0.0:
        values = _fused(values, std, mean)
    if dtype.kind == "V":  # bfloat16: PyTorch converts the double through float
        values = values.astype(np.float32)
    return values.reshape(shape).astype(dtype, copy=False)


# PyTorch (2.13, measured) draws [low, high) from one word when high - low < 2**28 and from
# two (one 64-bit number) from 2**28 on: randint(0, 2**28) and randint(0, 2**31) take two words
# each. random_() over a dtype's whole range takes one word below 2**32 (int32's 2**31).
_WIDE_SPAN = 2 ** 28


def integers(bits: np.random.MT19937, low: int, high: int, shape: tuple, *,
             full_range: bool | None = None) -> np.ndarray:
    """Integers uniform on [low, high) as int64 (uint64 when high exceeds int64's range).

    ``full_range``: the draw is ``random_()`` over its dtype's whole range (one word per value
    below 2**32) rather than ``randint`` / ``random_(from, to)`` (two words from 2**28 on).
    None infers it from the bounds: [0, 2**31) is taken as int32's ``random_()``.
    """
    span = high - low
    n = math.prod(shape)
    if full_range is None:
        full_range = low == 0 and high == 2 ** 31
    out = np.empty(n, dtype=np.int64 if high <= 2 ** 63 else np.uint64)
    base = out.dtype.type(low)
    narrow = span < (2 ** 32 if full_range else _WIDE_SPAN)
    # (the divisor a 0-d array, and from 0 a plain assignment for the add: randint(0, 10,
    # (8,))'s draw 4.0 -> 3.2 us; the same integers)
    divisor = np.array(span, dtype=np.uint32 if narrow else np.uint64)
    for start in range(0, n, _CHUNK):  # (chunks: no whole-size temporaries)
        part = out[start:start + _CHUNK]
        if narrow:  # one word each, divided in 32 bits (cheaper)
            words = _words32(bits, part.size)
            np.remainder(words, divisor, out=words)
        else:
            words = _words64(bits, part.size)
            np.remainder(words, divisor, out=words)
            if out.dtype == np.int64:
                words = words.view(np.int64)  # (wrapping, as C's conversion, when low < 0)
        if low == 0:
            part[...] = words
        else:
            np.add(words, base, out=part)
    return out.reshape(shape)


def permutation(bits: np.random.MT19937, n: int) -> np.ndarray:
    """``randperm(n)`` as int64: PyTorch's forward Fisher-Yates pass."""
    order = np.arange(n, dtype=np.int64)
    if n < 2:
        return order
    if n >= 2 ** 32:
        raise RuntimeError(f"randperm: n={n} is beyond what this generator draws")
    if n <= 48:
        # Small n: the targets in Python, no NumPy temporaries (the same integers; timeit:
        # n = 3: 3.5 -> 1.6 us, 10: 4.0 -> 2.4, 32: 5.5 -> 4.7; equal at ~50, slower at 64)
        items = list(range(n))
        for i, word in enumerate(bits.random_raw(n - 1).tolist()):
            j = i + word % (n - i)
            items[i], items[j] = items[j], items[i]
        return np.array(items, dtype=np.int64)
    # One word per swap, drawn up front.
    targets = (_words(bits, n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).astype(np.int64)
    targets += np.arange(n - 1, dtype=np.int64)
    # (swaps at once above 2000, timeit against the loop: 3000: 0.23 -> 0.16 ms, 1e5: 19.4 ->
    # 11.7 ms, 1e6: 543 -> 150 ms; equal at 1000)
    if n > 2000:
        return _swaps_at_once(targets)
    items = order.tolist()
    for i, j in enumerate(targets.tolist()):
        items[i], items[j] = items[j], items[i]
    return np.array(items, dtype=np.int64)


def _swaps_at_once(targets: np.ndarray) -> np.ndarray:
    """The result of the swaps ``i <-> targets[i]`` (targets[i] >= i) made in order i = 0, 1,
    ... on ``arange(len(targets) + 1)``, without a loop over them.

    Place i is never touched after step i, so it ends holding what place targets[i] held just
    before step i: the value the latest earlier step aiming at targets[i] put there, else its
    own starting value. Step t puts there what place t held at step t, its "arrival" A(t):
    A(t) = A(the latest step before t aiming at place t), else t. Each such link points to an
    earlier step, so A is found for all places at once by pointer jumping.
    """
    m = targets.size
    n = m + 1
    # Steps grouped by the place they aim at, in step order within a place (unique keys: the
    # default sort, faster than a stable one; the keys fit int64 below 2**31 places).
    order = (np.argsort(targets * n + np.arange(m, dtype=np.int64)) if n < 2 ** 31
             else np.argsort(targets, kind="stable"))
    aimed = targets[order]
    same = aimed[1:] == aimed[:-1]
    previous = np.full(m, -1, dtype=np.int64)  # the latest earlier step aiming at the same place
    previous[order[1:][same]] = order[:-1][same]
    last = np.ones(m, dtype=bool)
    last[:-1] = ~same
    last_steps, places = order[last], aimed[last]
    # link[k]: the latest step before k aiming at place k (k itself when none): a step aiming
    # at its own place (targets[k] == k) is not before k, so the one before it counts.
    link = np.arange(n, dtype=np.int64)
    own = last_steps == places
    link[places[~own]] = last_steps[~own]
    before = previous[last_steps[own]]
    link[places[own][before >= 0]] = before[before >= 0]
    while True:  # pointer jumping: link becomes the root, A(k), in log(depth) rounds
        jumped = link[link]
        if np.array_equal(jumped, link):
            break
        link = jumped
    out = np.empty(n, dtype=np.int64)
    out[:m] = np.where(previous >= 0, link[np.maximum(previous, 0)], targets)
    out[m] = link[m]
    return out


def bernoulli_scalar(bits: np.random.MT19937, shape: tuple, p: float) -> np.ndarray:
    """Booleans true with probability p: a 53-bit uniform below p (``bernoulli_(p)``)."""
    # u * 2**-53 < p  <=>  u < p * 2**53  <=>  u < ceil(p * 2**53), all exact for a double p.
    threshold = min(math.ceil(float(p) * 2.0 ** 53), 2 ** 53)
    # u = (first word's low 21 bits) * 2**32 + second word, so u < threshold is decided by the
    # first word alone unless its 21 bits equal the threshold's high part (a tie, ~2**-21 of
    # draws), where the second word decides: no 64-bit numbers are assembled. (Measured,
    # process time, one thread, old/new alternating in one process: bernoulli_scalar of
    # [256, 200], p 0.5: 232 -> 213 us, p 0.9: 242 -> 235 us, of which MT19937's 102,400 words
    # alone take ~196 us; the same booleans, tests/engine/test_s29_SP48_speed.py.)
    high, low = divmod(threshold, 1 << 32)
    n = math.prod(shape)
    out = np.empty(n, dtype=bool)
    parts = (out,) if n <= _CHUNK else (out[start:start + _CHUNK]
                                        for start in range(0, n, _CHUNK))
    for part in parts:  # (words drawn whatever p is, as PyTorch)
        if not np.little_endian:  # pragma: no cover - big-endian machines
            np.less(_numbers53(bits, part.size), threshold, out=part)
            continue
        if high == 1 << 21:  # p == 1: every draw is below
            bits.random_raw(2 * part.size)
            part[...] = True
            continue
        words = bits.random_raw(2 * part.size).view(np.uint32)  # (pair k: words 4k and 4k + 2)
        top = np.bitwise_and(words[0::4], _MASK21)
        np.less(top, high, out=part)
        if low:  # (low == 0: a tie's second word is never below it)
            # (the method, not np.flatnonzero's Python: top is 1-d; bernoulli_scalar [3, 4]
            # 3.5 -> 2.8 us; ab.py --workload ops --ops dropout --cpu against HEAD 0.92 of its
            # time; thread time, s31 SP53)
            ties = (top == high).nonzero()[0]
            if ties.size:
                part[ties] = words[4 * ties + 2] < low
    return out.reshape(shape)


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
