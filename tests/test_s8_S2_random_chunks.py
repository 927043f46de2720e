"""PyTorch's numbers from the chunked fast paths of stream.py: sizes at every boundary of the
new code (0, 1, the 16-element Box-Muller block, MT19937's 624-word state, the fill chunk),
float16/float32/float64, non-contiguous fills, explicit generators and state round trips."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import stream

torch = pytest.importorskip("torch")

CHUNK = stream._CHUNK
SIZES = [0, 1, 15, 16, 17, 623, 624, 625, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 17,
         100_003]
ULP32 = 2.5e-7  # two float32 ulps, relative (normals: NumPy's log/sin/cos against PyTorch's)


def _arrays(result):
    items = result if isinstance(result, (list, tuple)) else [result]
    return [x.detach().numpy() for x in items]


def _pair(fn, seed=11):
    torch.manual_seed(seed)
    want = _arrays(fn(torch))
    dg.manual_seed(seed)
    got = _arrays(fn(dg))
    assert len(want) == len(got)
    for w, g in zip(want, got):
        assert w.dtype == g.dtype and w.shape == g.shape
    return zip(want, got)


def assert_identical(fn, seed=11):
    for want, got in _pair(fn, seed):
        np.testing.assert_array_equal(got, want)


def assert_close(fn, rtol, seed=11):
    for want, got in _pair(fn, seed):
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64),
                                   rtol=rtol, atol=rtol)


@pytest.mark.parametrize("n", SIZES)
def test_uniforms_are_identical_at_every_boundary(n):
    # A trailing small draw checks that the engine is left exactly where PyTorch's is.
    assert_identical(lambda m: [m.rand(n), m.rand(n, dtype=m.float64),
                                m.rand(n, dtype=m.float16), m.empty(n).uniform_(-0.1, 0.1),
                                m.empty(n, dtype=m.float16).uniform_(2.5, 7.1), m.rand(3)])


@pytest.mark.parametrize("n", [17, 625, CHUNK + 1, 100_003])
def test_float64_uniform_bounds_within_an_ulp(n):
    assert_close(lambda m: [m.empty(n, dtype=m.float64).uniform_(-2.0, 3.0), m.rand(2)],
                 rtol=3e-16)


@pytest.mark.parametrize("n", SIZES)
def test_normals_follow_pytorch_at_every_boundary(n):
    assert_close(lambda m: [m.randn(n), m.empty(n).normal_(0.5, 2.0), m.randn(3)],
                 rtol=ULP32)
    assert_close(lambda m: [m.randn(n, dtype=m.float64),
                            m.empty(n, dtype=m.float64).normal_(-1.0, 0.25)], rtol=1e-15)


@pytest.mark.parametrize("n", [16, 32, 1024, CHUNK, CHUNK + 16])
def test_float16_normals_of_whole_blocks(n):
    # (Sizes that are not a multiple of 16 take PyTorch's half tail, which differs: see the
    # S2 report; one float16 ulp is 2**-10 relative.)
    assert_close(lambda m: m.randn(n, dtype=m.float16), rtol=2.0 ** -10)


@pytest.mark.parametrize("n", SIZES)
def test_integers_masks_and_dropout_at_every_boundary(n):
    assert_identical(lambda m: [m.randint(0, 1000, (n,)), m.randint(-7, 2**31 + 5, (n,)),
                                m.randint(0, 2**40, (n % 1000,)),
                                m.zeros(n).bernoulli_(0.3),
                                m.bernoulli(m.full((n,), 0.6)),
                                m.nn.functional.dropout(m.ones(n), 0.25), m.rand(2)])


def test_non_contiguous_fills_across_chunks():
    def draws(m):
        a = m.empty(300, 500).t().uniform_(-1, 1)
        b = m.empty(CHUNK + 40, 2)[:, ::2].uniform_()
        c = m.empty(2, 50, 700).permute(2, 0, 1).normal_()  # the scalar path
        return [a, b, c]
    assert_close(draws, rtol=1e-6)


def test_explicit_generators_draw_their_own_stream():
    def draws(m):
        g = m.Generator().manual_seed(2024)
        first = m.rand(CHUNK + 3, generator=g)
        rest = [m.randn(CHUNK + 5, generator=g), m.randint(0, 9, (CHUNK + 1,), generator=g),
                m.rand(5)]  # the default generator, untouched by g
        return [first, *rest]
    assert_close(draws, rtol=ULP32)


def test_state_round_trip_mid_stream():
    # Mid-stream: an odd scalar normal leaves a cached value, a partial MT19937 block is used.
    dg.manual_seed(5)
    dg.rand(777)
    dg.randn(3)
    state = dg.get_rng_state()
    first = [dg.rand(CHUNK + 9), dg.randn(CHUNK + 7), dg.randn(1)]
    dg.set_rng_state(state)
    again = [dg.rand(CHUNK + 9), dg.randn(CHUNK + 7), dg.randn(1)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    torch.manual_seed(5)
    torch.rand(777)
    torch.randn(3)
    want = [torch.rand(CHUNK + 9), torch.randn(CHUNK + 7), torch.randn(1)]
    np.testing.assert_array_equal(first[0].numpy(), want[0].numpy())
    for a, b in zip(first[1:], want[1:]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=ULP32, atol=ULP32)


def test_generator_state_round_trip_matches_pytorch_after_restoring():
    g = dg.Generator().manual_seed(9)
    g_torch = torch.Generator().manual_seed(9)
    dg.rand(1000, generator=g)
    torch.rand(1000, generator=g_torch)
    state, state_torch = g.get_state(), g_torch.get_state()
    dg.rand(CHUNK, generator=g)
    g.set_state(state)
    torch.rand(CHUNK, generator=g_torch)
    g_torch.set_state(state_torch)
    np.testing.assert_array_equal(dg.rand(CHUNK + 1, generator=g).numpy(),
                                  torch.rand(CHUNK + 1, generator=g_torch).numpy())


def test_integer_ranges_from_2_to_the_28_draw_two_words():
    # PyTorch 2.13 draws one word below a range of 2**28 and two from 2**28 on.
    assert_identical(lambda m: [m.randint(0, 2**28 - 1, (CHUNK + 3,)),
                                m.randint(0, 2**28, (CHUNK + 3,)),
                                m.randint(-9, 2**30, (40,)), m.randint(5, 2**32 + 5, (40,)),
                                m.empty(30, dtype=m.int32).random_(), m.rand(2)])


def test_uniform_draws_that_round_up_to_high_are_low():
    # In float32 x * (b - a) + a can round up to b; PyTorch keeps [a, b): those are a.
    assert_identical(lambda m: [m.empty(CHUNK + 5).uniform_(1000.0, 1000.001),
                                m.empty(5000, dtype=m.float16).uniform_(-3.0, -1.0),
                                m.rand(5000, dtype=m.float16)])


@pytest.mark.parametrize("n", [2000, 2001, 2002, 5000, 100_003])
def test_randperm_without_the_swap_loop(n):
    # Above 2000 the Fisher-Yates swaps are resolved at once (pointer jumping).
    assert_identical(lambda m: [m.randperm(n), m.randperm(17), m.rand(2)])


def test_swaps_at_once_equal_the_loop_on_adversarial_targets():
    # Long chains: every step aims at the last place, or at itself.
    for targets in (np.full(3000, 3000), np.arange(3000), np.r_[np.arange(1500) + 1500,
                                                                 np.arange(1500, 3000)]):
        items = list(range(targets.size + 1))
        for i, j in enumerate(targets.tolist()):
            items[i], items[j] = items[j], items[i]
        np.testing.assert_array_equal(stream._swaps_at_once(targets.astype(np.int64)), items)
