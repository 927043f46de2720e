"""torch.poisson and torch.binomial on PyTorch's stream: the same seed, the same counts.

PyTorch's CPU kernels take each element in row-major order and run a loop on 53-bit uniforms
(Poisson: product of uniforms below 10, transformed rejection from 10; binomial: inversion
below n * p = 10, BTRS above), so the counts must be equal exactly, and the stream must be left
where PyTorch leaves it (checked with a draw after)."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

SEEDS = range(0, 21, 4)


def _both(fn, seed):
    """``fn(module)`` then one more uniform draw, under ``manual_seed(seed)``, for torch
    and deltagrad."""
    out = []
    for lib in (torch, dg):
        lib.manual_seed(seed)
        value = fn(lib)
        out.append((value.numpy(), value.dtype, lib.rand(3).numpy()))
    return out


def _check(fn, seed):
    (want, want_dtype, want_after), (got, got_dtype, got_after) = _both(fn, seed)
    assert str(got_dtype).split(".")[-1] == str(want_dtype).split(".")[-1]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_after, want_after)  # the stream is left in step


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rate", [0.0, 0.5, 3.0, 9.99, 10.0, 37.0, 1e4, 1e-30])
def test_poisson_equals_torch(rate, dtype):
    for seed in SEEDS:
        _check(lambda m: m.poisson(m.full((40,), rate, dtype=getattr(m, dtype))), seed)


def test_poisson_mixed_rates_in_row_major_order():
    rates = np.array([[0.0, 0.2, 4.0], [11.0, 9.0, 250.0], [1.5, 30.0, 0.0]], dtype=np.float32)
    _check(lambda m: m.poisson(m.tensor(rates)), 1)
    _check(lambda m: m.poisson(m.tensor(rates).T), 2)  # a transposed input: logical order
    _check(lambda m: m.poisson(m.tensor(rates)[None].expand(4, 3, 3)), 3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("count", [0.0, 1.0, 7.0, 20.0, 37.5, 1000.0, 1e5])
def test_binomial_equals_torch(count, dtype):
    probs = np.array([0.0, 0.01, 0.3, 0.5, 0.51, 0.7, 0.99, 1.0, 0.123456789, -0.5, 1.5])
    for seed in SEEDS:
        _check(lambda m: m.binomial(m.full((11, 3), count, dtype=getattr(m, dtype)),
                                    m.tensor(probs, dtype=getattr(m, dtype))[:, None]
                                    .expand(11, 3).contiguous()), seed)


def test_binomial_nan_probability_and_order():
    counts = np.array([[5.0, 50.0], [0.0, 300.0]])
    probs = np.array([[np.nan, 0.2], [np.nan, 0.9]])
    _check(lambda m: m.binomial(m.tensor(counts), m.tensor(probs)), 0)
    _check(lambda m: m.binomial(m.tensor(counts).T, m.tensor(probs).T.nan_to_num(0.4)), 5)


def test_poisson_errors():
    # An infinite rate: PyTorch returns -2**63 (a float cast of a nan); deltagrad raises.
    with pytest.raises(RuntimeError, match="not supported"):
        dg.poisson(dg.tensor([np.inf]))
    with pytest.raises(RuntimeError, match="non-negative"):
        dg.poisson(dg.tensor([1.0, -1.0]))


@pytest.mark.parametrize("make", [
    lambda m: m.distributions.Poisson(m.tensor([0.5, 3.0, 12.0, 400.0])),
    lambda m: m.distributions.Binomial(m.tensor([10.0, 50.0, 200.0]),
                                       m.tensor([0.3, 0.8, 0.05])),
    lambda m: m.distributions.Binomial(100, logits=m.tensor([0.3, -2.0], dtype=m.float64)),
    lambda m: m.distributions.NegativeBinomial(m.tensor([2.0, 5.5, 30.0]),
                                               m.tensor([0.3, 0.6, 0.9])),
    lambda m: m.distributions.NegativeBinomial(m.tensor([2.0, 0.5], dtype=m.float64),
                                               logits=m.tensor([0.3, 1.5], dtype=m.float64)),
], ids=["poisson", "binomial", "binomial_logits64", "negative_binomial",
        "negative_binomial_logits64"])
def test_distribution_samples_equal_torch(make):
    _check(lambda m: make(m).sample((5,)), 3)


def test_numpy_stream_unchanged():
    # Generator(stream="pcg64") keeps NumPy's samplers: the same numbers as NumPy's own.
    g = dg.Generator(seed=7, stream="pcg64")
    expected = np.random.Generator(type(g.numpy.bit_generator)())
    expected.bit_generator.state = g.numpy.bit_generator.state
    got = dg.poisson(dg.full((6,), 3.0), generator=g).numpy()
    np.testing.assert_array_equal(got, expected.poisson(np.full(6, 3.0)).astype(np.float32))
    got = dg.binomial(dg.full((6,), 10.0), dg.full((6,), 0.3), generator=g).numpy()
    np.testing.assert_array_equal(got, expected.binomial(10, np.full(6, 0.3)).astype(np.float32))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binomial_infinite_count_and_0d(dtype):
    # inf and nan as PyTorch's kernel gives them (the draws still taken), and a 0-d result.
    for seed in (0, 1):
        _check(lambda m: m.binomial(m.full((4, 3), float("inf"), dtype=getattr(m, dtype)),
                                    m.tensor([0.3, 0.7, 1e-30], dtype=getattr(m, dtype))
                                    .expand(4, 3).contiguous()), seed)
    _check(lambda m: m.binomial(m.tensor(40.0, dtype=getattr(m, dtype)),
                                m.tensor(0.4, dtype=getattr(m, dtype))), 2)


def test_binomial_nan_count_is_nan():
    # PyTorch's inversion loop never ends on a nan count; deltagrad answers nan, drawing none.
    out = dg.binomial(dg.tensor([np.nan, np.nan, np.nan]), dg.tensor([0.0, 0.3, 1.0]))
    np.testing.assert_array_equal(out.numpy(), [0.0, np.nan, np.nan])
