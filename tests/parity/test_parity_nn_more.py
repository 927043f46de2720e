"""nn additions against PyTorch: init (complete), Module's dotted-path and conversion methods,
load_state_dict(assign=), gradient-clipping utilities, distances at their edge cases, the
default dtype and ``device=`` in layer constructors, shuffles and LP pooling, gumbel_softmax,
DataParallel on the CPU and the Rprop optimizer."""

# ruff: noqa: B023 - check() calls each lambda at once, inside the loop that defines it

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(3)
NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu"]

# ----------------------------------------------------------------------------------------------
# nn.init


@pytest.mark.parametrize("name", NONLINEARITIES)
def test_calculate_gain(name):
    assert dg.nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))


@pytest.mark.parametrize("param", [None, 0.2, 1, 0])
def test_calculate_gain_leaky_relu(param):
    assert dg.nn.init.calculate_gain("leaky_relu", param) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", param))


def test_calculate_gain_errors():
    for args in [("softmax",), ("leaky_relu", "x"), ("leaky_relu", True)]:
        with pytest.raises(ValueError):
            torch.nn.init.calculate_gain(*args)
        with pytest.raises(ValueError):
            dg.nn.init.calculate_gain(*args)


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 2), ((2, 2, 3, 3, 3), 1),
                                          ((4, 2, 5), 2), ((3, 5, 4), 1)])
def test_dirac_matches_exactly(shape, groups):
    ours = dg.nn.init.dirac_(dg.empty(*shape), groups)
    theirs = torch.nn.init.dirac_(torch.empty(*shape), groups)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_matches_exactly(shape):
    np.testing.assert_array_equal(dg.nn.init.eye_(dg.empty(*shape)).numpy(),
                                  torch.nn.init.eye_(torch.empty(*shape)).numpy())


def test_init_errors_match():
    cases = [("dirac_", (3, 3), ()), ("dirac_", (5, 2, 3), (2,)), ("eye_", (3,), ()),
             ("eye_", (2, 2, 2), ()), ("orthogonal_", (3,), ()), ("sparse_", (2, 2, 2), (0.5,))]
    for name, shape, args in cases:
        with pytest.raises(ValueError):
            getattr(torch.nn.init, name)(torch.empty(*shape), *args)
        with pytest.raises(ValueError):
            getattr(dg.nn.init, name)(dg.empty(*shape), *args)


@pytest.mark.parametrize("shape", [(4, 4), (3, 7), (7, 3), (4, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    w = dg.nn.init.orthogonal_(dg.empty(*shape), gain=2.0, generator=dg.Generator(0))
    flat = w.numpy().reshape(shape[0], -1) / 2.0
    small = flat @ flat.T if shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, np.eye(small.shape[0]), atol=1e-5)
    assert dg.nn.init.orthogonal_(dg.empty(0, 3)).shape == (0, 3)


def test_trunc_normal_stays_in_bounds_with_the_right_law():
    w = dg.nn.init.trunc_normal_(dg.empty(20000, dtype=dg.float64), mean=0.5, std=1.0, a=-1.0,
                                 b=1.5, generator=dg.Generator(1)).numpy()
    t = torch.nn.init.trunc_normal_(torch.empty(20000, dtype=torch.float64), mean=0.5, std=1.0,
                                    a=-1.0, b=1.5).numpy()
    assert w.min() >= -1.0 and w.max() <= 1.5
    assert abs(w.mean() - t.mean()) < 0.03 and abs(w.std() - t.std()) < 0.03


def test_sparse_zeroes_the_same_count_per_column():
    ours = dg.nn.init.sparse_(dg.empty(10, 6), 0.3, std=0.5, generator=dg.Generator(2))
    theirs = torch.nn.init.sparse_(torch.empty(10, 6), 0.3, std=0.5)
    assert ((ours.numpy() == 0).sum(0) == (theirs.numpy() == 0).sum(0)).all()
    assert 0.3 < ours.numpy()[ours.numpy() != 0].std() < 0.7


def test_deprecated_names_warn_and_work():
    for name in ["uniform", "normal", "constant", "xavier_uniform", "xavier_normal",
                 "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse", "dirac", "eye"]:
        args = {"constant": (0.5,), "sparse": (0.1,)}.get(name, ())
        shape = (3, 3, 3) if name == "dirac" else (3, 3)
        with pytest.warns(FutureWarning, match=f"nn.init.{name}_"):
            out = getattr(dg.nn.init, name)(dg.empty(*shape), *args)
        assert out.shape == shape


def test_init_functions_do_not_touch_the_graph():
    w = dg.nn.Parameter(dg.empty(3, 4))
    for fill in (dg.nn.init.orthogonal_, dg.nn.init.trunc_normal_, dg.nn.init.eye_,
                 lambda t: dg.nn.init.sparse_(t, 0.5)):
        out = fill(w)
        assert out is w and w.is_leaf and w.requires_grad


# ----------------------------------------------------------------------------------------------
# Module API.


def _pair():
    def build(m):
        net = m.nn.Sequential(m.nn.Linear(3, 4), m.nn.BatchNorm1d(4), m.nn.ReLU())
        net.add_module("head", m.nn.Linear(4, 2))
        return net

    return build(dg), build(torch)


def _outcome(call):
    try:
        result = call()
    except Exception as error:  # noqa: BLE001 - the error type is what is compared
        return type(error)
    return tuple(result.shape) if hasattr(result, "shape") else result


@pytest.mark.parametrize("target", ["0.weight", "head.bias", "1.running_mean", "1.weight",
                                    "0.nope", "5.weight", "0", "", "1.num_batches_tracked"])
def test_get_parameter_and_get_buffer(target):
    ours, theirs = _pair()
    for name in ("get_parameter", "get_buffer"):
        assert _outcome(lambda: getattr(ours, name)(target)) == _outcome(
            lambda: getattr(theirs, name)(target)), (name, target)


@pytest.mark.parametrize("target,strict", [("0", False), ("head", True), ("new", False),
                                           ("new", True), ("1.extra", False), ("", False),
                                           ("9.x", False)])
def test_set_submodule(target, strict):
    ours, theirs = _pair()
    a = _outcome(lambda: ours.set_submodule(target, dg.nn.Tanh(), strict=strict))
    b = _outcome(lambda: theirs.set_submodule(target, torch.nn.Tanh(), strict=strict))
    assert a == b
    assert repr(ours).replace("deltagrad", "torch") == repr(theirs)
    with pytest.raises(ValueError):
        ours.set_submodule("0", 3)


def test_repr_load_state_dict_result_and_assign():
    ours, theirs = _pair()
    assert repr(ours) == repr(theirs)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert repr(ours.load_state_dict({k: dg.tensor(v) for k, v in state.items()})) == repr(
        theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()}))
    # (Without BatchNorm: PyTorch's fills a missing num_batches_tracked in, for old files.)
    ours, theirs = dg.nn.Sequential(dg.nn.Linear(3, 4)), torch.nn.Sequential(torch.nn.Linear(3, 4))
    result = ours.load_state_dict({"0.weight": dg.ones(4, 3), "x": dg.ones(1)}, strict=False)
    expected = theirs.load_state_dict({"0.weight": torch.ones(4, 3), "x": torch.ones(1)},
                                      strict=False)
    assert result.missing_keys == expected.missing_keys
    assert result.unexpected_keys == expected.unexpected_keys
    # assign=True: the module takes the given values' dtype and memory, as new Parameters
    # (PyTorch's; s25 BR8: the old objects were kept before).
    layer = dg.nn.Linear(2, 2)
    new = {"weight": dg.ones(2, 2, dtype=dg.float64), "bias": dg.zeros(2, dtype=dg.float64)}
    weight = layer.weight
    layer.load_state_dict(new, assign=True)
    assert layer.weight is not weight and layer.weight.dtype == dg.float64
    assert layer.weight.data_ptr() == new["weight"].data_ptr() and layer.weight.requires_grad


def test_type_bfloat16_to_empty():
    for m in (dg, torch):
        net = m.nn.BatchNorm1d(3)
        assert net.type(m.float64) is net
        assert net.weight.dtype == net.num_batches_tracked.dtype == m.float64
        with pytest.raises(RuntimeError):
            m.nn.Linear(2, 2).type(m.int64)
    assert dg.nn.Linear(2, 2).bfloat16().weight.dtype == dg.bfloat16
    layer = dg.nn.Linear(2, 3)
    weight = layer.weight
    assert layer.to_empty(device="cpu") is layer and layer.weight is weight
    assert layer.weight.shape == (3, 2) and not layer.weight.detach().numpy().any()
    with pytest.raises(RuntimeError, match="CPU"):
        layer.to_empty(device="cuda")
    assert dg.nn.Module.dump_patches is False and dg.nn.Module.call_super_init is False


# ----------------------------------------------------------------------------------------------
# Gradient clipping.


def _grads(m, arrays):
    params = [m.tensor(a, requires_grad=True) for a in arrays]
    for p, a in zip(params, arrays):
        p.grad = m.tensor(a * 3.0)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
@pytest.mark.parametrize("foreach", [None, True, False])
def test_clip_grad_norm_and_total_norm(norm_type, foreach):
    arrays = [RNG.standard_normal((3, 4)), RNG.standard_normal(5)]
    ours, theirs = _grads(dg, arrays), _grads(torch, arrays)
    a = dg.nn.utils.clip_grad_norm_(ours, 1.5, norm_type, foreach=foreach)
    b = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type, foreach=foreach)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10)
    grads = [RNG.standard_normal(4), RNG.standard_normal((2, 2))]
    np.testing.assert_allclose(
        dg.nn.utils.get_total_norm([dg.tensor(g) for g in grads], norm_type).numpy(),
        torch.nn.utils.get_total_norm([torch.tensor(g) for g in grads], norm_type).numpy())


def test_clip_grads_with_norm_and_value():
    arrays = [RNG.standard_normal((3, 4)), RNG.standard_normal(5)]
    ours, theirs = _grads(dg, arrays), _grads(torch, arrays)
    dg.nn.utils.clip_grads_with_norm_(ours, 2.0, dg.tensor(7.0, dtype=dg.float64))
    torch.nn.utils.clip_grads_with_norm_(theirs, 2.0, torch.tensor(7.0, dtype=torch.float64))
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)
    dg.nn.utils.clip_grad_value_(ours, 0.5, foreach=True)
    torch.nn.utils.clip_grad_value_(theirs, 0.5, foreach=True)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        a = dg.nn.utils.clip_grad_norm(ours, 0.1)
        b = torch.nn.utils.clip_grad_norm(theirs, 0.1)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10)
    nan = _grads(dg, [np.array([np.nan, 1.0])])
    with pytest.raises(RuntimeError, match="non-finite"):
        dg.nn.utils.clip_grad_norm_(nan, 1.0, error_if_nonfinite=True)
    assert dg.nn.utils.clip_grad_norm_(iter(_grads(dg, arrays)), 1.0).item() > 1.0


# ----------------------------------------------------------------------------------------------
# Distances at their edges.

F = "nn.functional"


def f(m):
    return m.nn.functional


DISTANCES = [
    ("equal rows, eps 0", lambda m, x, y: f(m).pairwise_distance(x, x.detach(), eps=0.0)),
    ("p=0", lambda m, x, y: f(m).pairwise_distance(x, y, p=0)),
    ("p=1", lambda m, x, y: f(m).pairwise_distance(x, y, p=1)),
    ("p=-1", lambda m, x, y: f(m).pairwise_distance(x, y, p=-1)),
    ("p=inf", lambda m, x, y: f(m).pairwise_distance(x, y, p=math.inf)),
    ("p=3 keepdim", lambda m, x, y: f(m).pairwise_distance(x, y, p=3, keepdim=True)),
    ("1-d", lambda m, x, y: f(m).pairwise_distance(x[0], y[0])),
    ("1-d keepdim", lambda m, x, y: f(m).pairwise_distance(x[0], y[0], keepdim=True)),
    ("broadcast", lambda m, x, y: f(m).pairwise_distance(x[:, None], y)),
    ("broadcast 1-d", lambda m, x, y: f(m).pairwise_distance(x, y[0])),
    ("0-d", lambda m, x, y: f(m).pairwise_distance(x[0, 0], y[0, 0])),
    ("cosine", lambda m, x, y: f(m).cosine_similarity(x, y)),
    ("cosine dim 0", lambda m, x, y: f(m).cosine_similarity(x, y, dim=0)),
    ("cosine tiny", lambda m, x, y: f(m).cosine_similarity(x * 1e-10, y, eps=1e-8)),
    ("cosine zero", lambda m, x, y: f(m).cosine_similarity(x * 0, y)),
    ("cosine both tiny", lambda m, x, y: f(m).cosine_similarity(x * 1e-9, y * 1e-9, eps=1e-8)),
    ("cosine broadcast", lambda m, x, y: f(m).cosine_similarity(x, y[:1], dim=-1)),
    ("cosine module", lambda m, x, y: m.nn.CosineSimilarity(dim=0)(x, y)),
    ("pairwise module", lambda m, x, y: m.nn.PairwiseDistance(p=1.5)(x, y)),
]


@pytest.mark.parametrize("name,fn", DISTANCES, ids=[n for n, _ in DISTANCES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_distances(name, fn, dtype):
    x, y = RNG.standard_normal((3, 4)).astype(dtype), RNG.standard_normal((3, 4)).astype(dtype)
    check(fn, Arg(x), Arg(y), rtol=1e-6 if dtype == np.float64 else 1e-4,
          atol=1e-6 if dtype == np.float64 else 1e-5)


def test_distances_of_integers():
    x, y = np.array([[1, 2, 3]]), np.array([[1, 5, 3]])
    check(lambda m, x, y: f(m).pairwise_distance(x, y), Arg(x), Arg(y))
    check(lambda m, x, y: f(m).cosine_similarity(x, y), Arg(x), Arg(y))  # RuntimeError
    check(lambda m, x, y: f(m).cosine_similarity(x, y), Arg(x.astype(np.float32)), Arg(y))


# ----------------------------------------------------------------------------------------------
# The default dtype and device= in layer constructors.

LAYERS = [
    ("Linear", lambda m, **kw: m.nn.Linear(3, 2, **kw)),
    ("Bilinear", lambda m, **kw: m.nn.Bilinear(2, 3, 4, **kw)),
    ("Embedding", lambda m, **kw: m.nn.Embedding(5, 3, **kw)),
    ("EmbeddingBag", lambda m, **kw: m.nn.EmbeddingBag(5, 3, **kw)),
    ("Conv1d", lambda m, **kw: m.nn.Conv1d(2, 3, 3, **kw)),
    ("LayerNorm", lambda m, **kw: m.nn.LayerNorm(4, **kw)),
    ("RMSNorm", lambda m, **kw: m.nn.RMSNorm(4, **kw)),
    ("GroupNorm", lambda m, **kw: m.nn.GroupNorm(2, 4, **kw)),
    ("BatchNorm1d", lambda m, **kw: m.nn.BatchNorm1d(4, **kw)),
    ("PReLU", lambda m, **kw: m.nn.PReLU(**kw)),
    ("RNN", lambda m, **kw: m.nn.RNN(2, 3, **kw)),
    ("LSTM", lambda m, **kw: m.nn.LSTM(2, 3, proj_size=2, **kw)),
    ("GRU", lambda m, **kw: m.nn.GRU(2, 3, **kw)),
    ("RNNCell", lambda m, **kw: m.nn.RNNCell(2, 3, **kw)),
    ("LSTMCell", lambda m, **kw: m.nn.LSTMCell(2, 3, **kw)),
    ("GRUCell", lambda m, **kw: m.nn.GRUCell(2, 3, **kw)),
    ("MultiheadAttention", lambda m, **kw: m.nn.MultiheadAttention(4, 2, **kw)),
    ("TransformerEncoderLayer", lambda m, **kw: m.nn.TransformerEncoderLayer(4, 2, 8, **kw)),
    ("TransformerDecoderLayer", lambda m, **kw: m.nn.TransformerDecoderLayer(4, 2, 8, **kw)),
    ("Transformer", lambda m, **kw: m.nn.Transformer(4, 2, 1, 1, 8, **kw)),
]


def _dtypes(module):
    return {name: str(t.dtype).split(".")[-1] for name, t in module.state_dict().items()}


@pytest.mark.parametrize("name,build", LAYERS, ids=[n for n, _ in LAYERS])
def test_layers_follow_the_default_dtype_and_accept_device(name, build):
    try:
        dg.set_default_dtype(dg.float64)
        torch.set_default_dtype(torch.float64)
        assert _dtypes(build(dg)) == _dtypes(build(torch))
        assert _dtypes(build(dg, device="cpu")) == _dtypes(build(torch, device="cpu"))
        mask = dg.nn.Transformer.generate_square_subsequent_mask(3)
        assert mask.dtype == dg.float64
    finally:
        dg.set_default_dtype(dg.float32)
        torch.set_default_dtype(torch.float32)
    assert _dtypes(build(dg, dtype=dg.float64)) == _dtypes(build(torch, dtype=torch.float64))
    assert _dtypes(build(dg)) == _dtypes(build(torch))
    with pytest.raises(RuntimeError, match="CPU"):
        build(dg, device="cuda")


def test_default_dtype_reaches_parameter_and_block_diag():
    try:
        dg.set_default_dtype(dg.float64)
        torch.set_default_dtype(torch.float64)
        assert dg.nn.Parameter().dtype == dg.float64
        check(lambda m: m.block_diag(), grad=False)
        check(lambda m: m.rand(2).dtype == m.float64, grad=False)
    finally:
        dg.set_default_dtype(dg.float32)
        torch.set_default_dtype(torch.float32)


def test_dropout_of_integers():
    x = np.array([1, 2, 3])
    check(lambda m, x: f(m).dropout(x, 0.5, False), Arg(x), grad=False)
    check(lambda m, x: f(m).dropout(x, 0.0, True), Arg(x), grad=False)
    check(lambda m, x: f(m).dropout(x, 1.0, True), Arg(x), grad=False)
    check(lambda m, x: f(m).dropout(x, 0.5, True), Arg(x), grad=False)  # RuntimeError


# ----------------------------------------------------------------------------------------------
# Shuffles, LP pooling, gumbel_softmax, DataParallel.

SHUFFLES = [
    ("pixel_shuffle", lambda m, x: f(m).pixel_shuffle(x, 2), (2, 8, 3, 3)),
    ("pixel_shuffle 3-d", lambda m, x: f(m).pixel_shuffle(x, 2), (4, 2, 3)),
    ("pixel_shuffle 5-d", lambda m, x: f(m).pixel_shuffle(x, 1), (2, 1, 3, 2, 2)),
    ("pixel_shuffle bad channels", lambda m, x: f(m).pixel_shuffle(x, 2), (1, 6, 2, 2)),
    ("pixel_shuffle 2-d", lambda m, x: f(m).pixel_shuffle(x, 2), (4, 4)),
    ("pixel_unshuffle", lambda m, x: f(m).pixel_unshuffle(x, 2), (2, 2, 4, 6)),
    ("pixel_unshuffle bad size", lambda m, x: f(m).pixel_unshuffle(x, 2), (1, 2, 3, 4)),
    ("channel_shuffle", lambda m, x: f(m).channel_shuffle(x, 3), (2, 6, 4)),
    ("channel_shuffle 4-d", lambda m, x: f(m).channel_shuffle(x, 2), (1, 4, 2, 3)),
    ("channel_shuffle bad", lambda m, x: f(m).channel_shuffle(x, 4), (1, 6, 2)),
    ("PixelShuffle", lambda m, x: m.nn.PixelShuffle(2)(x), (1, 4, 2, 2)),
    ("PixelUnshuffle", lambda m, x: m.nn.PixelUnshuffle(2)(x), (1, 1, 4, 4)),
    ("ChannelShuffle", lambda m, x: m.nn.ChannelShuffle(2)(x), (1, 4, 3)),
    ("lp_pool1d p=2", lambda m, x: f(m).lp_pool1d(x, 2.0, 3), (2, 3, 9)),
    ("lp_pool1d p=3 stride", lambda m, x: f(m).lp_pool1d(x.abs() + 0.1, 3, 2, 1), (2, 3, 8)),
    ("lp_pool1d ceil", lambda m, x: f(m).lp_pool1d(x.abs() + 0.1, 1.5, 2, ceil_mode=True),
     (3, 7)),
    ("LPPool1d", lambda m, x: m.nn.LPPool1d(2, 2)(x), (1, 2, 6)),
    ("max_pool1d_with_indices", lambda m, x: f(m).max_pool1d_with_indices(x, 2, 1), (2, 3, 7)),
    ("adaptive_max_pool1d_with_indices",
     lambda m, x: f(m).adaptive_max_pool1d_with_indices(x, 3), (2, 3, 7)),
]


@pytest.mark.parametrize("name,fn,shape", SHUFFLES, ids=[s[0] for s in SHUFFLES])
def test_shuffles_and_pooling(name, fn, shape):
    check(fn, Arg(RNG.standard_normal(shape)))


def test_module_reprs():
    for build in (lambda m: m.nn.PixelShuffle(3), lambda m: m.nn.PixelUnshuffle(2),
                  lambda m: m.nn.ChannelShuffle(4), lambda m: m.nn.LPPool1d(2, 3, 1),
                  lambda m: m.nn.DataParallel(m.nn.Linear(2, 3))):
        assert repr(build(dg)) == repr(build(torch))


def test_gumbel_softmax():
    dg.manual_seed(0)
    logits = dg.tensor(RNG.standard_normal((500, 4)), requires_grad=True)
    soft = dg.nn.functional.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().numpy(), 1.0)
    hard = dg.nn.functional.gumbel_softmax(logits, tau=0.5, hard=True)
    assert set(np.unique(hard.detach().numpy())) == {0.0, 1.0}
    assert (hard.detach().numpy().sum(-1) == 1).all()
    # Straight-through: the hard sample's gradient is the soft one's (same noise, same seed).
    weights = dg.tensor(RNG.standard_normal((500, 4)))
    dg.manual_seed(1)
    (g_hard,) = dg.autograd.grad((dg.nn.functional.gumbel_softmax(logits, hard=True)
                                  * weights).sum(), [logits])
    dg.manual_seed(1)
    (g_soft,) = dg.autograd.grad((dg.nn.functional.gumbel_softmax(logits) * weights).sum(),
                                 [logits])
    np.testing.assert_allclose(g_hard.numpy(), g_soft.numpy(), rtol=1e-12)
    # Samples follow softmax(logits): compare frequencies with the probabilities.
    dg.manual_seed(2)
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    many = dg.tensor(np.log(np.tile(probs, (20000, 1))))
    picks = dg.nn.functional.gumbel_softmax(many, hard=True).numpy().mean(0)
    np.testing.assert_allclose(picks, probs, atol=0.015)


def test_data_parallel_runs_the_module():
    layer = dg.nn.Linear(3, 2)
    wrapped = dg.nn.DataParallel(layer, device_ids=[0])
    x = dg.randn(4, 3)
    np.testing.assert_array_equal(wrapped(x).detach().numpy(), layer(x).detach().numpy())
    assert list(wrapped.state_dict()) == ["module.weight", "module.bias"]
    assert list(torch.nn.DataParallel(torch.nn.Linear(3, 2)).state_dict()) == list(
        wrapped.state_dict())


# ----------------------------------------------------------------------------------------------
# Rprop.


@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.1}, {"lr": 0.05, "etas": (0.3, 1.5),
                                                       "step_sizes": (1e-3, 0.2)},
                                    {"lr": 0.1, "maximize": True}, {"foreach": True}])
def test_rprop_follows_pytorch(kwargs):
    w0, x = RNG.standard_normal((3, 4)), RNG.standard_normal((5, 3))
    trajectories = []
    for m in (dg, torch):
        w = m.tensor(w0.copy(), requires_grad=True)
        opt = m.optim.Rprop([w], **kwargs)
        for _ in range(10):
            opt.zero_grad()
            ((m.tensor(x) @ w).sin() ** 2).sum().backward()
            opt.step()
        trajectories.append(w.detach().numpy().copy())
        state = opt.state_dict()["state"][0]
        assert sorted(state) == ["prev", "step", "step_size"]
    np.testing.assert_allclose(trajectories[0], trajectories[1], rtol=1e-12)


def test_rprop_errors():
    for m in (dg, torch):
        with pytest.raises(ValueError, match="eta"):
            m.optim.Rprop([m.zeros(1, requires_grad=True)], etas=(1.2, 0.5))
        with pytest.raises(ValueError):
            m.optim.Rprop([m.zeros(1, requires_grad=True)], lr=-1.0)


def test_skip_init_and_default_device():
    for m in (dg, torch):
        layer = m.nn.utils.skip_init(m.nn.Linear, 2, 3, bias=False)
        assert tuple(layer.weight.shape) == (3, 2) and layer.bias is None
        with pytest.raises(RuntimeError, match="device"):
            m.nn.utils.skip_init(m.nn.ReLU)
    assert str(dg.get_default_device()) == str(torch.get_default_device()) == "cpu"
    dg.set_default_device("cpu")
    dg.set_default_device(None)
    with pytest.raises(RuntimeError, match="CPU"):
        dg.set_default_device("cuda")
