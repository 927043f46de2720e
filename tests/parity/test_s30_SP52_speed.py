"""SP52 (session 30): speed changes found by benchmarks/programs_speed.py, each checked to give
the same results as before (bits) and as PyTorch.

- ``Generator.manual_seed`` seeds NumPy's MT19937 in place with its legacy seeding (the
  reference init_genrand, PyTorch's) instead of building the key through a RandomState and
  setting it (122 -> 2 us a call): the states, ``get_rng_state`` bytes (``next`` = 0 just after
  seeding) and draws are PyTorch's, and the same as through the old path.
- Small draws (``rand`` / ``uniform_`` / ``bernoulli`` / dropout of up to 8 values, the normal
  scalar path's uniforms) turn the engine's words into uniforms in Python floats
  (``stream._small_units``): the same numbers as the NumPy path (every step exact), PyTorch's.
- Dirichlet / Beta ``rsample``'s gradient series (``_gamma_numerics._beta_series``) runs each
  step on the elements still summing only: bit-identical to the where-masked loop over all
  elements it replaces (kept below as the reference), and within PyTorch's approximation of
  ``torch._dirichlet_grad``.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import random as dg_random
from deltagrad._engine import stream
from deltagrad._engine.random import Generator
from deltagrad.distributions import _gamma_numerics

torch = pytest.importorskip("torch")

SEEDS = [0, 5, 2**32 - 1, 2**32 + 7, 2**40 + 3, -7, 2**64 - 1]


@pytest.mark.parametrize("seed", SEEDS, ids=str)
@pytest.mark.parametrize("draws", [0, 1, 700], ids=str)
def test_manual_seed_state_and_draws_match_pytorch(seed, draws):
    dg.manual_seed(seed)
    torch.manual_seed(seed)
    if draws:
        assert np.array_equal(dg.rand(draws).numpy(), torch.rand(draws).numpy())
    assert np.array_equal(dg.get_rng_state().numpy(), torch.get_rng_state().numpy())
    assert dg.initial_seed() == torch.initial_seed()
    ours, theirs = dg.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    assert np.array_equal(ours.get_state().numpy(), theirs.get_state().numpy())
    assert np.array_equal(dg.randn(5, generator=ours).numpy(),
                          torch.randn(5, generator=theirs).numpy())
    assert np.array_equal(ours.get_state().numpy(), theirs.get_state().numpy())


@pytest.mark.parametrize("seed", SEEDS, ids=str)
def test_manual_seed_same_state_as_the_key_path(seed, monkeypatch):
    # reseeding a generator that has drawn (its engine mid-key) through either path
    fast = dg.Generator()
    dg.rand(3, generator=fast)
    fast.manual_seed(seed)
    monkeypatch.setattr(dg_random, "_LEGACY_SEEDING", False)
    slow = dg.Generator()
    dg.randn(625, generator=slow)
    slow.manual_seed(seed)
    a, b = fast._bits.state["state"], slow._bits.state["state"]
    assert np.array_equal(a["key"], b["key"]) and a["pos"] == b["pos"] == 624
    assert np.array_equal(a["key"], stream.seeded_key(seed % 2**64 & 0xFFFFFFFF))
    assert np.array_equal(fast.get_state().numpy(), slow.get_state().numpy())
    assert np.array_equal(dg.rand(9, generator=fast).numpy(), dg.rand(9, generator=slow).numpy())


def test_new_generators_start_in_pytorchs_state():
    # (their engines are made from zeros, _random._Unseeded, then given their state)
    for ours, theirs in [(dg.Generator(), torch.Generator()),
                         (dg.Generator().manual_seed(3), torch.Generator().manual_seed(3))]:
        assert np.array_equal(ours.get_state().numpy(), theirs.get_state().numpy())
        assert ours.initial_seed() == theirs.initial_seed()
        assert np.array_equal(dg.rand(5, generator=ours).numpy(),
                              torch.rand(5, generator=theirs).numpy())
        clone = ours.clone_state()
        assert np.array_equal(dg.randn(3, generator=clone).numpy(),
                              torch.randn(3, generator=theirs).numpy())
    loaded = dg.Generator()
    loaded.set_state(dg.Generator().manual_seed(9).get_state())
    assert np.array_equal(dg.rand(4, generator=loaded).numpy(),
                          dg.rand(4, generator=dg.Generator(9)).numpy())
    a, b = dg.Generator(), dg.Generator()
    assert a._bits is not b._bits and dg.rand(2, generator=a).tolist() == dg.rand(
        2, generator=b).tolist()


def test_set_state_after_manual_seed_round_trips():
    g = dg.Generator().manual_seed(11)
    state = g.get_state()
    first = dg.rand(4, generator=g)
    g.manual_seed(12)
    g.set_state(state)
    assert np.array_equal(dg.rand(4, generator=g).numpy(), first.numpy())
    t = torch.Generator()
    t.set_state(torch.from_numpy(state.numpy()))
    assert np.array_equal(torch.rand(4, generator=t).numpy(), first.numpy())


def _masked_series(p, q, y, active, max_terms):
    """The loop _beta_series replaced: every element every step, finished ones held by where."""
    term, total = np.ones_like(y), np.ones_like(y)
    d_p, d_q = np.zeros_like(y), np.zeros_like(y)
    h_p, h_q = np.zeros_like(y), np.zeros_like(y)
    active = active.copy()
    for n in range(1, max_terms):
        if not active.any():
            break
        term = np.where(active, term * (p + q + n - 1) / (p + n) * y, 0.0)
        h_q = h_q + 1.0 / (p + q + n - 1)
        h_p = h_p + 1.0 / (p + q + n - 1) - 1.0 / (p + n)
        total = total + term
        d_p = d_p + term * h_p
        d_q = d_q + term * h_q
        active &= term > np.finfo(np.float64).eps * 0.25 * total
    return total, d_p, d_q, active


@pytest.mark.parametrize("max_terms", [5000, 40, 2], ids=str)
def test_beta_series_bits_equal_the_masked_loop(max_terms):
    rng = np.random.default_rng(52)
    for size in (1, 7, 64):
        p = 10.0 ** rng.uniform(-2, 3.5, size)
        q = 10.0 ** rng.uniform(-2, 3.5, size)
        # (below the mean, as beta_draw_grad's mirror leaves it: the series converges)
        y = rng.uniform(1e-6, 1.0, size) * (p + 1.0) / (p + q + 2.0)
        active = rng.random(size) < 0.9
        want = _masked_series(p, q, y, active, max_terms)
        got = _gamma_numerics._beta_series(p, q, y, active, max_terms)
        for w, g in zip(want, got, strict=True):
            assert g.dtype == w.dtype and np.array_equal(g, w)


@pytest.mark.parametrize("shape", [(4,), (16, 4), (3, 2, 5)], ids=str)
def test_dirichlet_rsample_gradient_matches_pytorch(shape):
    rng = np.random.default_rng(7)
    concentration = rng.uniform(0.3, 30.0, shape)
    grads = []
    for t in (torch, dg):
        t.manual_seed(52)
        alpha = t.tensor(concentration, dtype=t.float64, requires_grad=True)
        draw = t.distributions.Dirichlet(alpha).rsample((2,))
        (draw * t.arange(1.0, shape[-1] + 1.0, dtype=t.float64)).sum().backward()
        grads.append((draw.detach().numpy(), alpha.grad.numpy()))
    (want, want_grad), (got, got_grad) = grads
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=5e-3, atol=1e-8)


@pytest.mark.parametrize("single", [True, False], ids=["float32", "float64"])
def test_small_units_equal_the_numpy_path(single, monkeypatch):
    monkeypatch.setattr(stream, "_SMALL", -1)  # _fill_unit: NumPy's calls whatever the size
    dtype = np.float32 if single else np.float64
    fast, slow = Generator(5)._bits, Generator(5)._bits
    for n in [*range(0, 20), 40]:
        want = np.empty(n, dtype)
        stream._fill_unit(slow, want)
        got = stream._small_units(fast, n, single)
        assert np.array_equal(np.array(got, dtype), want)
        assert all(type(value) is float for value in got)
    assert np.array_equal(fast.random_raw(3), slow.random_raw(3))


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_small_draws_match_pytorch(dtype):
    for seed in (0, 52):
        results = []
        for t in (torch, dg):
            t.manual_seed(seed)
            d = getattr(t, dtype)
            got = []
            for n in range(0, 16):
                got += [t.rand(n, dtype=d), t.randn(n, dtype=d),
                        t.empty(n, dtype=d).uniform_(-2, 3), t.empty(n, dtype=d).normal_(1.0, 2.0),
                        t.bernoulli(t.full((n,), 0.3, dtype=d)), t.rand((), dtype=d),
                        t.randn((), dtype=d)]
            got.append(t.get_rng_state())
            results.append([x.numpy() for x in got])
        for want, have in zip(*results, strict=True):
            assert have.dtype == want.dtype and np.array_equal(have, want)
