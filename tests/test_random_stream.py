"""The default generator draws PyTorch's numbers: the same seed, the same values.

Uniforms, integers, permutations and Bernoulli masks must be bit-identical to PyTorch's;
normals of 16 or more float32 elements may differ by an ulp or two (PyTorch's vectorised
log/sin/cos against NumPy's); float64 through NumPy's extended precision (PyTorch fuses the
multiply-add) may differ by an ulp in a few draws in a thousand.
"""

import math

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

ULP32 = 2.5e-7  # relative: two float32 ulps


def _values(result):
    items = result if isinstance(result, (list, tuple)) else [result]
    return [x.detach().numpy() for x in items]


def _pair(fn, seed=3):
    torch.manual_seed(seed)
    want = _values(fn(torch))
    dg.manual_seed(seed)
    got = _values(fn(dg))
    assert len(want) == len(got)
    return want, got


def assert_identical(fn, seed=3):
    for want, got in zip(*_pair(fn, seed)):
        assert want.dtype == got.dtype and want.shape == got.shape
        np.testing.assert_array_equal(got, want)


def assert_ulps(fn, seed=3, rtol=ULP32):
    for want, got in zip(*_pair(fn, seed)):
        assert want.dtype == got.dtype and want.shape == got.shape
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 + 5, 67280421310721])
def test_rand_is_identical_for_any_seed(seed):
    assert_identical(lambda m: [m.rand(7), m.rand(3, 40), m.rand(2, dtype=m.float64)], seed)


@pytest.mark.parametrize("bounds", [(-0.3, 0.3), (-0.3, 0.7), (2.5, 7.1), (-3.3, -1.1),
                                    (-1 / math.sqrt(20), 1 / math.sqrt(20))])
def test_uniform_is_identical_in_float32(bounds):
    assert_identical(lambda m: m.empty(500).uniform_(*bounds))


def test_uniform_float64_within_an_ulp():
    assert_ulps(lambda m: m.empty(1000, dtype=m.float64).uniform_(-2.0, 3.0), rtol=3e-16)


@pytest.mark.parametrize("n", [1, 5, 15, 16, 17, 32, 100, 1001])
def test_randn_sizes_and_tails(n):
    # < 16: the scalar path (double, cached second value); >= 16: blocks of 16, tail redrawn.
    assert_ulps(lambda m: [m.randn(n), m.randn(n, dtype=m.float64)])


def test_randn_cache_carries_across_calls():
    assert_ulps(lambda m: [m.randn(1), m.randn(3), m.randn(20), m.randn(1), m.randn(2, 2)])


def test_manual_seed_clears_the_cached_normal():
    dg.manual_seed(5)
    dg.randn(1)  # leaves a cached value
    dg.manual_seed(5)
    a = dg.randn(1)
    dg.manual_seed(5)
    np.testing.assert_array_equal(a.numpy(), dg.randn(1).numpy())


@pytest.mark.parametrize("n", [5, 40])
def test_normal_overloads(n):
    assert_ulps(lambda m: [m.normal(2.0, 3.0, (n,)), m.normal(m.zeros(n), m.ones(n) * 2),
                           m.normal(m.full((n,), 1.5), 0.5),
                           m.empty(n).normal_(-1.0, 0.25)])


def test_integers_and_permutations_are_identical():
    assert_identical(lambda m: [m.randint(0, 100, (50,)), m.randint(-5, 5, (3, 4)),
                                m.randint(10, (6,), dtype=m.int32),
                                m.randint(0, 2**40, (5,)), m.randperm(1), m.randperm(77),
                                m.randperm(3000)])


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "bool", "float32",
                                   "float64"])
def test_random_fills_the_dtypes_range(dtype):
    assert_identical(lambda m: [m.empty(12, dtype=getattr(m, dtype)).random_(),
                                m.empty(5, dtype=getattr(m, dtype)).random_(0, 2)])


def test_bernoulli_forms_and_dropout_masks():
    assert_identical(lambda m: [
        m.bernoulli(m.full((30,), 0.4)), m.bernoulli(m.full((9,), 0.4, dtype=m.float64)),
        m.bernoulli(m.zeros(20), p=0.7), m.zeros(25).bernoulli_(0.3),
        m.zeros(25).bernoulli_(m.full((25,), 0.6)),
        m.nn.functional.dropout(m.ones(40, 50), 0.3),
        m.nn.Dropout2d(0.3)(m.ones(2, 8, 3, 3)),
        m.nn.functional.dropout(m.ones(10), 1.0), m.rand(3)])  # p = 1 draws nothing


@pytest.mark.parametrize("fill", ["uniform", "normal", "bernoulli", "exponential", "random",
                                  "kaiming_uniform", "init_normal"])
def test_non_contiguous_fills_draw_in_memory_order(fill):
    # A transposed weight fills as its base would; normal_ then takes the scalar path.
    fills = {"uniform": lambda m, x: x.uniform_(-1, 1), "normal": lambda m, x: x.normal_(),
             "bernoulli": lambda m, x: x.bernoulli_(0.3), "exponential": lambda m, x:
             x.exponential_(), "random": lambda m, x: x.random_(0, 10),
             "kaiming_uniform": lambda m, x: m.nn.init.kaiming_uniform_(x),
             "init_normal": lambda m, x: m.nn.init.normal_(x)}

    def draws(m):
        views = [m.empty(4, 5).t(), m.empty(8, 6)[:, ::2], m.empty(2, 3, 4).permute(2, 0, 1)]
        return [fills[fill](m, view) for view in views]
    assert_ulps(draws, rtol=1e-6)


def test_exponential_and_multinomial():
    probs = [0.1, 0.2, 0.3, 0.4]
    assert_ulps(lambda m: [m.empty(20).exponential_(),
                           m.empty(7, dtype=m.float64).exponential_(2.5)])
    for seed in range(4):
        assert_identical(lambda m: [
            m.multinomial(m.tensor(probs), 1), m.multinomial(m.tensor(probs), 3),
            m.multinomial(m.tensor(probs), 6, replacement=True),
            m.multinomial(m.tensor(probs), 1, replacement=True),
            m.multinomial(m.rand(3, 5), 2), m.multinomial(m.rand(2, 4), 3, replacement=True),
            m.multinomial(m.tensor(probs, dtype=m.float64), 2)], seed)


def test_gumbel_softmax_draws_pytorchs_noise():
    assert_ulps(lambda m: [m.nn.functional.gumbel_softmax(m.randn(4, 6), tau=0.5),
                           m.nn.functional.gumbel_softmax(m.randn(3, 5), hard=True)], rtol=1e-5)


def test_cauchy_geometric_log_normal_fills():
    assert_ulps(lambda m: [m.empty(20).cauchy_(1.0, 2.0), m.empty(9, dtype=m.float64).cauchy_(),
                           m.empty(20).geometric_(0.3), m.empty(30).log_normal_(0.5, 0.25)],
                rtol=1e-6)


DISTRIBUTIONS = {
    "Categorical": lambda d, m: d.Categorical(probs=m.tensor([0.1, 0.2, 0.3, 0.4])).sample((9,)),
    "Categorical-rows": lambda d, m: d.Categorical(logits=m.rand(2, 3)).sample(),
    "OneHotCategorical": lambda d, m: d.OneHotCategorical(m.tensor([0.2, 0.8])).sample((3,)),
    "Bernoulli": lambda d, m: d.Bernoulli(m.ones(5) * 0.3).sample((3,)),
    "Geometric": lambda d, m: d.Geometric(m.ones(5) * 0.3).sample((3,)),
    "Uniform": lambda d, m: d.Uniform(m.zeros(5), m.ones(5) * 2).sample((3,)),
    "Exponential": lambda d, m: d.Exponential(m.ones(5) * 2).rsample((3,)),
    "Normal": lambda d, m: d.Normal(m.zeros(20), m.ones(20) * 2).sample(),
    "Laplace": lambda d, m: d.Laplace(m.zeros(5), m.ones(5)).sample((3,)),
    "Cauchy": lambda d, m: d.Cauchy(m.zeros(5), m.ones(5)).sample((3,)),
    "MultivariateNormal": lambda d, m: d.MultivariateNormal(m.zeros(3), m.eye(3)).sample((6,)),
}


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_distribution_samples_follow_pytorchs_draws(name):
    assert_ulps(lambda m: DISTRIBUTIONS[name](m.distributions, m), rtol=1e-6)


MODULES = {
    "Linear": lambda nn: nn.Linear(20, 30),
    "Conv1d": lambda nn: nn.Conv1d(3, 4, 3),
    "Conv2d": lambda nn: nn.Conv2d(3, 8, 3),
    "ConvTranspose2d": lambda nn: nn.ConvTranspose2d(3, 4, 3),
    "Bilinear": lambda nn: nn.Bilinear(3, 4, 5),
    "LSTM": lambda nn: nn.LSTM(8, 16, 2, bidirectional=True),
    "GRU": lambda nn: nn.GRU(8, 16),
    "LSTMCell": lambda nn: nn.LSTMCell(3, 4),
    "MultiheadAttention": lambda nn: nn.MultiheadAttention(16, 4),
    "TransformerEncoderLayer": lambda nn: nn.TransformerEncoderLayer(16, 4, 32),
    "Sequential": lambda nn: nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_built_after_the_same_seed_have_the_same_weights(name):
    assert_identical(lambda m: list(MODULES[name](m.nn).parameters()))


def test_embedding_and_normal_inits_within_ulps():
    init = lambda m: m.nn.init  # noqa: E731
    assert_ulps(lambda m: [
        *m.nn.Embedding(100, 16).parameters(),
        init(m).xavier_normal_(m.empty(6, 9)),
        init(m).kaiming_normal_(m.empty(6, 9), mode="fan_out", nonlinearity="relu"),
        init(m).trunc_normal_(m.empty(40, 50), std=0.02),  # the normal-redraw branch
        init(m).trunc_normal_(m.empty(40, 50), mean=0.0, std=1.0, a=2.0, b=3.0),  # uniform
        init(m).sparse_(m.empty(10, 4), 0.3)])


def test_orthogonal_init_within_rounding():
    # The same normals; the QR factorisations (LAPACK's) agree to rounding.
    assert_ulps(lambda m: m.nn.init.orthogonal_(m.empty(6, 9)), rtol=1e-5)


def test_explicit_generators_follow_their_own_stream():
    def draws(m):
        g = m.Generator().manual_seed(11)
        return [m.rand(5, generator=g), m.randn(20, generator=g), m.randperm(9, generator=g)]
    want = _values(draws(torch))
    got = _values(draws(dg))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=ULP32, atol=ULP32)
    np.testing.assert_array_equal(got[2], want[2])


def test_state_round_trip_resumes_the_same_draws():
    dg.manual_seed(9)
    dg.randn(3)  # a cached normal is part of the state
    state = dg.get_rng_state()
    a = [dg.randn(3).numpy(), dg.rand(4).numpy()]
    dg.manual_seed(0)
    dg.set_rng_state(state)
    b = [dg.randn(3).numpy(), dg.rand(4).numpy()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_pcg64_stream_is_the_earlier_one():
    # Results recorded with deltagrad's earlier stream reproduce with stream="pcg64".
    g = dg.Generator(4, stream="pcg64")
    want = np.random.Generator(np.random.PCG64(4)).standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(dg.randn(2, 3, generator=g).numpy(), want)
    assert repr(g) == "Generator(seed=4, stream='pcg64')"
    state = g.get_state()
    restored = dg.Generator(0)
    restored.set_state(state)
    assert restored.stream == "pcg64"
    with pytest.raises(ValueError, match="stream must be one of"):
        dg.Generator(0, stream="xorshift")


def _data_pipeline(m):
    """Shuffled epochs, the samplers and random_split, then one more draw (to check that the
    default generator is left where PyTorch leaves it)."""
    m.manual_seed(0)
    data = m.utils.data
    dataset = data.TensorDataset(m.arange(20).float(), m.arange(20))
    out = [y.tolist() for _ in range(2) for _, y in data.DataLoader(dataset, 6, shuffle=True)]
    weights = [0.1, 0.5, 0.2, 0.9]
    out += [list(data.WeightedRandomSampler(weights, 6)),
            list(data.WeightedRandomSampler(weights, 3, replacement=False)),
            list(data.WeightedRandomSampler(weights, 1)),
            list(data.SubsetRandomSampler([5, 6, 7, 8])),
            list(data.random_split(range(10), [0.6, 0.4])[0].indices),
            list(data.RandomSampler(range(7), replacement=True, num_samples=40)),
            m.rand(2).tolist()]
    return out


def test_dataloader_shuffles_and_samplers_follow_pytorchs_order():
    assert _data_pipeline(dg) == _data_pipeline(torch)
