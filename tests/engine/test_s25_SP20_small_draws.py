"""Small random draws' fast paths (SP20): the same numbers and errors as the general code.

The Box-Muller step on gathered halves, the one-chunk fills, randperm's small-n loop in Python
and bernoulli_'s scalar check are speed changes only; these tests pin them to the plain
formulas they replace (bit for bit) and, where PyTorch is installed, to PyTorch's draws.
"""

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import stream


def _plain_box_muller(x: np.ndarray) -> np.ndarray:
    """The textbook expression on each block of 16 (u1 = x[j], u2 = x[j + 8])."""
    kind = x.dtype.type
    blocks = x.reshape(-1, 2, 8)
    u1, u2 = blocks[:, 0], blocks[:, 1]
    radius = np.sqrt(kind(-2.0) * np.log(kind(1.0) - u1))
    theta = kind(2.0 * math.pi) * u2
    return np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1).reshape(-1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [16, 64, 160])
def test_box_muller_blocks_bit_for_bit(dtype, n):
    x = stream._unit(stream.mt19937(n), n, np.dtype(dtype))
    want = _plain_box_muller(x.copy())
    stream._box_muller_blocks(x)
    assert x.dtype == want.dtype and x.tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 16, 100])
def test_fill_unit_one_chunk(dtype, n):
    out = np.empty(n, dtype=dtype)
    stream._fill_unit(stream.mt19937(3), out)
    bits = stream.mt19937(3)
    if dtype == np.float32:
        want = (bits.random_raw(n) & ((1 << 24) - 1)).astype(np.float32) * np.float32(2 ** -24)
    else:
        words = bits.random_raw(2 * n)
        want = (((words[0::2] << np.uint64(32)) | words[1::2]) & np.uint64((1 << 53) - 1)
                ).astype(np.float64) * 2.0 ** -53
    assert out.tobytes() == want.tobytes()


@pytest.mark.parametrize("n", [2, 3, 10, 48, 49, 200])
def test_randperm_small_loop_matches_targets(n):
    got = stream.permutation(stream.mt19937(n), n)
    # PyTorch's pass written out: swap i with i + word % (n - i).
    words = stream.mt19937(n).random_raw(n - 1).tolist()
    want = list(range(n))
    for i, word in enumerate(words):
        j = i + word % (n - i)
        want[i], want[j] = want[j], want[i]
    assert got.dtype == np.int64 and got.tolist() == want


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bernoulli_scalar_p_out_of_range(p):
    with pytest.raises(RuntimeError, match="0 <= p <= 1"):
        dg.empty(3).bernoulli_(p)


def test_bernoulli_p_of_other_kinds():
    x = dg.empty(4, 4)
    assert set(x.bernoulli_(1).unique().tolist()) == {1.0}
    assert set(x.bernoulli_(np.float32(0.0)).unique().tolist()) == {0.0}
    with pytest.raises(RuntimeError, match="0 <= p <= 1"):
        x.bernoulli_(dg.tensor([0.5, 2.0, 0.5, 0.5]))


@pytest.mark.parametrize("dtype, low, high", [("uint8", -1, 10), ("int8", 0, 200),
                                              ("bool", 0, 3), ("int16", -40000, 0)])
def test_randint_range_checks_with_cached_bounds(dtype, low, high):
    for _ in range(2):  # (the second call reads the cached bounds)
        with pytest.raises(RuntimeError, match="does not fit dtype"):
            dg.randint(low, high, (3,), dtype=getattr(dg, dtype))
    edge = dg.randint(-128, 128, (50,), dtype=dg.int8)
    assert edge.dtype == dg.int8


def test_small_draws_match_pytorch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (dg, torch):
        lib.manual_seed(2025)
        x = lib.ones(6, 5)
        results.append([lib.rand(16), lib.randint(0, 10, (8,)), lib.randperm(10),
                        lib.randperm(48), lib.empty(8, 8).uniform_(),
                        lib.empty(4, 4).bernoulli_(0.3), lib.nn.functional.dropout(x, 0.5),
                        lib.nn.functional.dropout(x.t(), 0.5), lib.randn(8, 8),
                        lib.empty(40, dtype=lib.float64).normal_()])
    for index, (ours, theirs) in enumerate(zip(*results)):
        a, b = ours.numpy(), theirs.numpy()
        assert a.dtype == b.dtype and a.shape == b.shape, index
        if index < 8:  # uniforms, integers, masks: bit for bit
            assert a.tobytes() == b.tobytes(), index
        else:  # normals: PyTorch's own log / sin / cos, an ulp or two apart
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_failed_uint64_random_draws_nothing():
    # PyTorch refuses random_() over uint64's whole range before drawing; deltagrad raises too
    # (OverflowError, not PyTorch's NotImplementedError: left as it was) and, since integers()
    # makes its divisor before drawing, no longer advances the generator (the next draws are
    # PyTorch's).
    torch = pytest.importorskip("torch")
    results = []
    for lib in (dg, torch):
        lib.manual_seed(0)
        with pytest.raises((OverflowError, NotImplementedError)):
            lib.empty(5, dtype=lib.uint64).random_()
        results.append(lib.empty(4, dtype=lib.uint64).random_(0, 9).tolist())
    assert results[0] == results[1]
