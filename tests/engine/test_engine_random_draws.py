"""Random draws: reproducible under manual_seed and explicit Generators, and drawn from the
right distributions (checked on fixed seeds with wide, deterministic tolerances)."""

import numpy as np
import pytest

import deltagrad as dg

DRAWS = [
    ("rand", lambda g: dg.rand(3, 4, generator=g)),
    ("randn", lambda g: dg.randn((2, 5), generator=g)),
    ("randint", lambda g: dg.randint(2, 9, (6,), generator=g)),
    ("randperm", lambda g: dg.randperm(7, generator=g)),
    ("normal", lambda g: dg.normal(1.0, 2.0, (4,), generator=g)),
    ("multinomial", lambda g: dg.multinomial(dg.tensor([0.1, 0.5, 0.4]), 2, generator=g)),
    ("bernoulli", lambda g: dg.bernoulli(dg.full((5,), 0.5), generator=g)),
    ("poisson", lambda g: dg.poisson(dg.full((5,), 3.0), generator=g)),
    ("random_", lambda g: dg.zeros(5).random_(0, 10, generator=g)),
    ("exponential_", lambda g: dg.zeros(5).exponential_(2.0, generator=g)),
    ("geometric_", lambda g: dg.zeros(5).geometric_(0.3, generator=g)),
    ("bernoulli_", lambda g: dg.zeros(5).bernoulli_(0.3, generator=g)),
    ("cauchy_", lambda g: dg.zeros(5).cauchy_(generator=g)),
    ("log_normal_", lambda g: dg.zeros(5).log_normal_(generator=g)),
    ("rand_like", lambda g: dg.rand_like(dg.zeros(2, 2), generator=g)),
    ("randn_like", lambda g: dg.randn_like(dg.zeros(2, dtype=dg.float64), generator=g)),
    ("randint_like", lambda g: dg.randint_like(dg.zeros(3), 4, generator=g)),
]


@pytest.mark.parametrize("draw", [d for _, d in DRAWS], ids=[n for n, _ in DRAWS])
def test_reproducible_with_generator_and_seed(draw):
    a = draw(dg.Generator(seed=5)).numpy()
    b = draw(dg.Generator(seed=5)).numpy()
    np.testing.assert_array_equal(a, b)
    dg.manual_seed(11)
    c = draw(None).numpy()
    dg.manual_seed(11)
    np.testing.assert_array_equal(c, draw(None).numpy())


def test_seeded_streams_differ():
    dg.manual_seed(0)
    a = dg.randn(100).numpy()
    b = dg.randn(100).numpy()
    assert not np.array_equal(a, b)


def test_randint_overloads():
    g = dg.Generator(seed=1)
    assert dg.randint(5, (3, 2), generator=g).shape == (3, 2)
    assert dg.randint(5, size=(4,)).dtype == dg.int64
    assert dg.randint(low=3, high=5, size=(4,)).shape == (4,)
    assert dg.randint(2, 4, size=[2]).shape == (2,)
    assert dg.randint(high=4, size=(2,)).shape == (2,)
    x = dg.randint(-3, 3, (1000,), generator=g).numpy()
    assert x.min() == -3 and x.max() == 2
    assert dg.randint(0, 10, (3,), dtype=dg.float32).dtype == dg.float32
    assert dg.randint(0, 2, (8,), dtype=dg.bool).dtype == dg.bool
    with pytest.raises(TypeError):
        dg.randint(5)
    with pytest.raises(RuntimeError):
        dg.randint(5, 5, (2,))
    with pytest.raises(RuntimeError):
        dg.randint(0, 300, (2,), dtype=dg.int8)
    with pytest.raises(RuntimeError):
        dg.randint(0, 3, (2,), device="cuda")


def test_float_draw_dtypes_and_errors():
    assert dg.rand(2).dtype == dg.float32
    assert dg.randn(2, dtype=dg.float64).dtype == dg.float64
    assert dg.rand(2, 3, requires_grad=True).requires_grad
    with pytest.raises(NotImplementedError):
        dg.rand(3, dtype=dg.int64)
    with pytest.raises(NotImplementedError):
        dg.randn(3, dtype=dg.int32)
    assert dg.randperm(5, dtype=dg.float32).dtype == dg.float32
    assert sorted(dg.randperm(6).tolist()) == list(range(6))
    assert dg.randperm(0).shape == (0,)


def test_uniform_and_normal_moments():
    g = dg.Generator(seed=3)
    u = dg.rand(20000, generator=g, dtype=dg.float64).numpy()
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    n = dg.randn(20000, generator=g, dtype=dg.float64).numpy()
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    x = dg.normal(3.0, 0.5, (20000,), generator=g).numpy()
    assert abs(x.mean() - 3.0) < 0.02 and abs(x.std() - 0.5) < 0.02


def test_normal_overloads_and_zero_gradients():
    mean = dg.tensor([0.0, 10.0, -10.0], requires_grad=True)
    std = dg.tensor([1.0, 0.0, 0.5], requires_grad=True)
    out = dg.normal(mean, std, generator=dg.Generator(seed=2))
    assert out.shape == (3,) and out.requires_grad
    assert out[1].item() == 10.0  # std 0 gives the mean itself
    out.sum().backward()
    np.testing.assert_array_equal(mean.grad.numpy(), 0.0)
    np.testing.assert_array_equal(std.grad.numpy(), 0.0)
    assert dg.normal(dg.zeros(2, 3), 1.0).shape == (2, 3)
    assert dg.normal(2.0, dg.ones(4)).shape == (4,)
    assert dg.normal(dg.zeros(3, 1), dg.ones(4)).shape == (3, 4)
    assert dg.normal(dg.zeros(2, dtype=dg.float64), 1.0).dtype == dg.float64
    with pytest.raises(RuntimeError):
        dg.normal(dg.zeros(2), dg.ones(3))
    with pytest.raises(RuntimeError):
        dg.normal(0.0, -1.0, (2,))
    with pytest.raises(TypeError):
        dg.normal(0.0, 1.0)


def test_multinomial():
    g = dg.Generator(seed=4)
    probs = dg.tensor([0.2, 0.0, 0.8])
    draws = dg.multinomial(probs, 4000, replacement=True, generator=g).numpy()
    assert draws.dtype == np.int64 and 1 not in draws
    assert abs((draws == 2).mean() - 0.8) < 0.03
    rows = dg.multinomial(dg.tensor([[1.0, 1.0, 1.0], [0.0, 5.0, 1.0]]), 3, generator=g)
    assert rows.shape == (2, 3)
    for row in rows.numpy():
        assert sorted(row) == [0, 1, 2]  # without replacement: a permutation
    assert rows.numpy()[1, 2] == 0  # the zero weight comes last
    first = [dg.multinomial(dg.tensor([1.0, 3.0]), 1, generator=g).item() for _ in range(2000)]
    assert abs(np.mean(first) - 0.75) < 0.04
    with pytest.raises(RuntimeError):
        dg.multinomial(dg.tensor([1.0, -1.0]), 1)
    with pytest.raises(RuntimeError):
        dg.multinomial(dg.tensor([1.0, 1.0]), 3)
    with pytest.raises(RuntimeError):
        dg.multinomial(dg.tensor([0.0, 0.0]), 1)


def test_bernoulli_poisson_and_fills():
    g = dg.Generator(seed=6)
    p = dg.tensor(np.linspace(0.0, 1.0, 5), dtype=dg.float64)
    b = dg.bernoulli(p.expand(4000, 5), generator=g).numpy()
    assert b.dtype == np.float64 and set(np.unique(b)) <= {0.0, 1.0}
    np.testing.assert_allclose(b.mean(0), np.linspace(0.0, 1.0, 5), atol=0.03)
    assert dg.bernoulli(dg.zeros(3), 1.0).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(RuntimeError):
        dg.bernoulli(dg.tensor([1.5]))
    with pytest.raises(NotImplementedError):
        dg.bernoulli(dg.zeros(2, dtype=dg.int64))
    counts = dg.poisson(dg.full((20000,), 4.0), generator=g).numpy()
    assert abs(counts.mean() - 4.0) < 0.06 and abs(counts.var() - 4.0) < 0.15
    e = dg.zeros(20000, dtype=dg.float64).exponential_(2.0, generator=g).numpy()
    assert abs(e.mean() - 0.5) < 0.02
    geo = dg.zeros(20000).geometric_(0.25, generator=g).numpy()
    assert geo.min() >= 1 and abs(geo.mean() - 4.0) < 0.1
    r = dg.zeros(1000, dtype=dg.int32).random_(3, generator=g).numpy()
    assert set(np.unique(r)) == {0, 1, 2} and r.dtype == np.int32
    f = dg.zeros(1000).random_(generator=g).numpy()
    assert f.min() >= 0 and f.max() <= 2 ** 24 and np.all(f == np.round(f))
    assert dg.zeros(10).random_(5, 7).numpy().min() >= 5


def test_in_place_fills_refuse_leaves_that_require_grad():
    x = dg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x.random_()
    with dg.no_grad():
        x.exponential_()
    assert x.detach().numpy().min() > 0
