"""nn.functional activations, losses, padding and resampling against PyTorch: values, dtypes,
shapes, gradients (every floating input) and exception types, through the parity harness."""

# ruff: noqa: B023 - check() calls each lambda at once, inside the loop that defines it

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(20240517)
KINKS = (0.0, 0.3, -0.3, 0.2, -0.5, 0.7, 3.0, -3.0, 1.0, -1.0, 6.0)


def away(shape, low=-4.0, high=4.0, dtype=np.float64):
    """Uniform values kept 0.05 away from every activation's kinks (finite differences and
    subgradient choices then agree)."""
    x = RNG.uniform(low, high, shape)
    for k in KINKS:
        near = np.abs(x - k) < 0.05
        x = np.where(near, k + 0.1, x)
    return x.astype(dtype)


def f(m):
    return m.nn.functional


def probs(shape, dtype=np.float64):
    return RNG.uniform(0.05, 0.95, shape).astype(dtype)


# ----------------------------------------------------------------------------------------------
# Activations: a table of (name, call); each runs on 0-d, empty, 2-d, a float32 transposed view
# and a large-magnitude input.

ACTIVATIONS = {
    "relu": lambda F, x: F.relu(x),
    "relu6": lambda F, x: F.relu6(x),
    "elu": lambda F, x: F.elu(x, alpha=0.5),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x, alpha=1.5),
    "silu": lambda F, x: F.silu(x),
    "mish": lambda F, x: F.mish(x),
    "hardswish": lambda F, x: F.hardswish(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "hardshrink": lambda F, x: F.hardshrink(x, 0.3),
    "softshrink": lambda F, x: F.softshrink(x, 0.3),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
    "threshold": lambda F, x: F.threshold(x, 0.2, -1.0),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "softsign": lambda F, x: F.softsign(x),
    "softplus": lambda F, x: F.softplus(x, beta=2.0, threshold=3.0),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.2),
    "hardtanh": lambda F, x: F.hardtanh(x, -0.5, 0.7),
    "sigmoid": lambda F, x: F.sigmoid(x),
    "tanh": lambda F, x: F.tanh(x),
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "rrelu_eval": lambda F, x: F.rrelu(x, 0.1, 0.3, training=False),
    "softmax": lambda F, x: F.softmax(x, dim=-1),
    "log_softmax": lambda F, x: F.log_softmax(x, dim=0),
    "softmin": lambda F, x: F.softmin(x, dim=-1),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(), (0, 3), (3, 4), (2, 3, 4)])
def test_activation_values_and_gradients(name, shape):
    call = ACTIVATIONS[name]
    check(lambda m, x: call(f(m), x), Arg(away(shape)))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_float32_transposed_view(name):
    call = ACTIVATIONS[name]
    x = away((4, 3), dtype=np.float32)
    check(lambda m, x: call(f(m), x.t()), Arg(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_large_magnitudes(name):
    call = ACTIVATIONS[name]
    x = np.array([-120.0, -40.0, -19.5, 19.5, 40.0, 120.0])
    check(lambda m, x: call(f(m), x), Arg(x))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_activation_integer_and_bool_inputs(name, dtype):
    # Values or the exception type, whichever PyTorch gives.
    call = ACTIVATIONS[name]
    check(lambda m, x: call(f(m), x), Arg(np.array([-2, 0, 3]).astype(dtype)))


def test_glu_prelu_and_their_errors():
    x = away((3, 4, 2))
    check(lambda m, x: f(m).glu(x, dim=1), Arg(x))
    check(lambda m, x: f(m).glu(x), Arg(x))
    check(lambda m, x: f(m).glu(x, 2), Arg(x))  # odd size
    check(lambda m, x: f(m).glu(x, 3), Arg(x))  # dim out of range
    check(lambda m, x: f(m).glu(x), Arg(np.array(1.0)))  # 0-d
    check(lambda m, x, w: f(m).prelu(x, w), Arg(x), Arg(np.array([0.1, -0.2, 0.3, 0.4])))
    check(lambda m, x, w: f(m).prelu(x, w), Arg(x), Arg(np.array([0.25])))
    check(lambda m, x, w: f(m).prelu(x, w), Arg(away(5)), Arg(np.array([0.25])))
    check(lambda m, x, w: f(m).prelu(x, w), Arg(np.array(-2.0)), Arg(np.array(0.25)))
    check(lambda m, x, w: f(m).prelu(x, w), Arg(x), Arg(np.ones(3)))  # channel mismatch
    check(lambda m, x, w: f(m).prelu(x, w), Arg(x), Arg(np.ones((4, 1))))  # 2-d weight


@pytest.mark.parametrize("call", [
    lambda F, x: F.softshrink(x, -1.0),
    lambda F, x: F.celu(x, alpha=0.0),
    lambda F, x: F.hardtanh(x, 1.0, -1.0),
    lambda F, x: F.softmax(x.long(), 0),
    lambda F, x: F.gelu(x, approximate="fast"),
], ids=["softshrink_negative", "celu_zero_alpha", "hardtanh_bounds", "softmax_int",
        "gelu_mode"])
def test_activation_errors(call):
    check(lambda m, x: call(f(m), x), Arg(away(4)))


def test_softmax_dtype_and_implicit_dim():
    x = RNG.integers(-3, 3, (2, 3))
    check(lambda m, x: f(m).softmax(x, 1, dtype=m.float64), Arg(x))
    check(lambda m, x: f(m).log_softmax(x, -1, dtype=m.float32), Arg(x))
    for shape in [(), (4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check(lambda m, x: f(m).softmax(x), Arg(away(shape)))
            check(lambda m, x: f(m).log_softmax(x), Arg(away(shape)))
            check(lambda m, x: f(m).softmin(x), Arg(away(shape)))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        dg.nn.functional.softmax(dg.ones(2, 3))


@pytest.mark.parametrize("name", ["relu", "relu6", "elu", "selu", "celu", "silu", "mish",
                                  "hardswish", "hardsigmoid", "threshold", "leaky_relu",
                                  "hardtanh", "rrelu"])
def test_inplace_writes_into_the_input_with_pytorch_gradients(name):
    extra = {"threshold": (0.2, -1.0)}.get(name, ())

    def run(m, x):
        y = x * 2.0  # a non-leaf in the graph
        out = getattr(f(m), name)(y, *extra, inplace=True)
        assert out is y
        return y * x

    check(run, Arg(away((3, 4))))
    leaf = dg.tensor([1.0, -2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        getattr(dg.nn.functional, name)(leaf, *extra, inplace=True)


def test_underscore_forms_modify_their_argument():
    F = dg.nn.functional
    for name in ["relu_", "elu_", "selu_", "celu_", "leaky_relu_", "hardtanh_", "rrelu_"]:
        x = dg.tensor([-2.0, 0.5, 3.0])
        expected = getattr(F, name[:-1])(dg.tensor([-2.0, 0.5, 3.0]))
        out = getattr(F, name)(x)
        assert out is x, name
        np.testing.assert_array_equal(x.numpy(), expected.numpy(), err_msg=name)
    x = dg.tensor([-2.0, 0.5])
    assert F.threshold_(x, 0.0, 7.0) is x and x.tolist() == [7.0, 0.5]


def test_rrelu_training_draws_slopes_in_range():
    x = dg.tensor(-np.ones(2000), requires_grad=True)
    out = dg.nn.functional.rrelu(x, 0.1, 0.3, training=True, generator=dg.Generator(3))
    slopes = -out.detach().numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)
    again = dg.nn.functional.rrelu(x, 0.1, 0.3, training=True, generator=dg.Generator(3))
    np.testing.assert_array_equal(again.detach().numpy(), out.detach().numpy())


# ----------------------------------------------------------------------------------------------
# Losses.

REDUCTIONS = ["none", "mean", "sum"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, extra", [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 0.7}), ("soft_margin_loss", {}),
])
def test_pointwise_regression_losses(name, extra, reduction):
    x, y = away((3, 4)), away((3, 4))
    target_grad = name != "soft_margin_loss"  # (PyTorch's refuses a target needing grad)
    check(lambda m, x, y: getattr(f(m), name)(x, y, reduction=reduction, **extra), Arg(x),
          Arg(y, target_grad))
    check(lambda m, x, y: getattr(f(m), name)(x, y, reduction=reduction, **extra),
          Arg(x.astype(np.float32)), Arg(y.astype(np.float32), target_grad), rtol=1e-4,
          atol=1e-5)
    check(lambda m, x, y: getattr(f(m), name)(x, y, reduction=reduction, **extra),
          Arg(np.array(0.5)), Arg(np.array(-0.25), target_grad))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_elementwise_weights(name, reduction):
    x, y, w = away((3, 4)), away((3, 4)), probs((3, 4))
    check(lambda m, x, y, w: getattr(f(m), name)(x, y, reduction=reduction, weight=w),
          Arg(x), Arg(y), Arg(w, requires_grad=False))
    check(lambda m, x, y, w: getattr(f(m), name)(x, y, weight=w),
          Arg(x), Arg(y), Arg(np.ones(4), requires_grad=False))  # wrong size: ValueError


def test_regression_loss_errors_and_broadcast_warning():
    x, y = away((3, 4)), away((4,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda m, x, y: f(m).mse_loss(x, y), Arg(x), Arg(y))
        check(lambda m, x, y: f(m).l1_loss(x, y, reduction="sum"), Arg(x), Arg(y))
    with pytest.warns(UserWarning, match="different to the input size"):
        dg.nn.functional.mse_loss(dg.tensor(x), dg.tensor(y))
    for call in [lambda F, x: F.mse_loss(x, x, reduction="avg"),
                 lambda F, x: F.smooth_l1_loss(x, x, beta=-1.0),
                 lambda F, x: F.huber_loss(x, x, delta=0.0),
                 lambda F, x: F.mse_loss(x.long(), x.long()),
                 lambda F, x: F.l1_loss(x.long(), x.long())]:
        check(lambda m, x: call(f(m), x), Arg(away(3)))


def test_legacy_size_average_and_reduce():
    x, y = away((2, 3)), away((2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for size_average, reduce in [(None, False), (False, None), (True, True), (False, True)]:
            check(lambda m, x, y: f(m).mse_loss(x, y, size_average, reduce), Arg(x), Arg(y))
            check(lambda m, x, y: f(m).l1_loss(x, y, size_average=size_average, reduce=reduce),
                  Arg(x), Arg(y))
        logits = away((4, 3))
        check(lambda m, x, t: f(m).cross_entropy(x, t, None, False, -100, True), Arg(logits),
              Arg(np.array([0, 2, 1, 1])))
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        dg.nn.functional.mse_loss(dg.tensor(x), dg.tensor(y), reduce=False)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    x, y = probs((3, 4)), probs((3, 4))
    check(lambda m, x, y: f(m).binary_cross_entropy(x, y, reduction=reduction), Arg(x), Arg(y))
    check(lambda m, x, y, w: f(m).binary_cross_entropy(x, y, w, reduction=reduction),
          Arg(x), Arg(y), Arg(probs(4), requires_grad=False))
    check(lambda m, x, y: f(m).binary_cross_entropy(x, y, reduction=reduction),
          Arg(x.astype(np.float32)), Arg(y.astype(np.float32)), rtol=1e-4, atol=1e-5)
    # The clamped logs at 0 and 1, and PyTorch's gradient guard there.
    edges = np.array([0.0, 1.0, 0.0, 1.0, 1e-30])
    targets = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    check(lambda m, x, y: f(m).binary_cross_entropy(x, y, reduction=reduction),
          Arg(edges), Arg(targets, requires_grad=False))


def test_binary_cross_entropy_errors():
    x = probs(3)
    check(lambda m, x: f(m).binary_cross_entropy(x * 2, x), Arg(x))  # input out of [0, 1]
    check(lambda m, x: f(m).binary_cross_entropy(x, x * 2), Arg(x))  # target out of [0, 1]
    check(lambda m, x: f(m).binary_cross_entropy(x, x[None]), Arg(x))  # size mismatch
    check(lambda m, x: f(m).binary_cross_entropy(x, x.float()), Arg(x))  # dtype mismatch
    check(lambda m, x: f(m).binary_cross_entropy(x, x, x[:2]), Arg(x))  # weight size


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    x, y = away((3, 4)), probs((3, 4))
    check(lambda m, x, y: f(m).binary_cross_entropy_with_logits(x, y, reduction=reduction),
          Arg(x), Arg(y))
    check(lambda m, x, y, w, p: f(m).binary_cross_entropy_with_logits(
        x, y, w, reduction=reduction, pos_weight=p), Arg(x), Arg(y),
        Arg(probs(4), requires_grad=False), Arg(probs(4) * 3, requires_grad=False))
    check(lambda m, x, y: f(m).binary_cross_entropy_with_logits(x, y), Arg(x), Arg(y[:2]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_and_nll_options(reduction):
    logits = away((5, 4))
    t = np.array([0, 3, 1, 1, 2])
    w = probs(4)
    ce = [dict(), dict(weight=w), dict(ignore_index=1), dict(label_smoothing=0.2),
          dict(weight=w, ignore_index=3, label_smoothing=0.1)]
    for kw in ce:
        check(lambda m, x, t: f(m).cross_entropy(x, t, reduction=reduction,
                                                 **_lib_kwargs(m, kw)), Arg(logits), Arg(t))
    for kw in ce[:3]:
        check(lambda m, x, t: f(m).nll_loss(f(m).log_softmax(x, 1), t, reduction=reduction,
                                            **_lib_kwargs(m, kw)), Arg(logits), Arg(t))
    # K-dimensional: [N, C, d1, d2] and class-probability targets.
    big = away((2, 4, 3, 2))
    tk = RNG.integers(0, 4, (2, 3, 2))
    tk[0, 0, 0] = -100
    check(lambda m, x, t: f(m).cross_entropy(x, t, reduction=reduction), Arg(big), Arg(tk))
    check(lambda m, x, t: f(m).nll_loss(x, t, weight=m.tensor(w), reduction=reduction),
          Arg(big), Arg(tk))
    p = RNG.dirichlet(np.ones(4), (2, 3, 2)).transpose(0, 3, 1, 2).copy()
    check(lambda m, x, p: f(m).cross_entropy(x, p, reduction=reduction), Arg(big), Arg(p))
    check(lambda m, x, p: f(m).cross_entropy(x, p, m.tensor(w), reduction=reduction,
                                             label_smoothing=0.3), Arg(big), Arg(p))
    # One sample: [C] logits and a 0-d target.
    check(lambda m, x, t: f(m).cross_entropy(x, t, reduction=reduction), Arg(away(4)),
          Arg(np.array(2)))
    check(lambda m, x, t: f(m).cross_entropy(x, t, reduction=reduction),
          Arg(logits.astype(np.float32)), Arg(t), rtol=1e-4, atol=1e-5)


def _lib_kwargs(m, kwargs):
    return {k: (m.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}


def test_cross_entropy_errors():
    logits = away((3, 4))
    check(lambda m, x, t: f(m).cross_entropy(x, t), Arg(logits), Arg(np.array([0, 4, 1])))
    check(lambda m, x, t: f(m).nll_loss(x, t), Arg(logits), Arg(np.array([0, -2, 1])))
    check(lambda m, x, t: f(m).cross_entropy(x, t), Arg(logits), Arg(np.array([0, 1])))
    check(lambda m, x, t: f(m).cross_entropy(x, t, reduction="avg"), Arg(logits),
          Arg(np.array([0, 1, 2])))


def test_all_targets_ignored_gives_nan_and_zero_gradient():
    check(lambda m, x, t: f(m).cross_entropy(x, t), Arg(away((2, 3))), Arg(np.array([-100, -100])))
    check(lambda m, x, t: f(m).nll_loss(x, t), Arg(away((2, 3))), Arg(np.array([-100, -100])))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_kl_div(reduction):
    log_p = np.log(RNG.dirichlet(np.ones(4), 3))
    q = RNG.dirichlet(np.ones(4), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda m, x, y: f(m).kl_div(x, y, reduction=reduction), Arg(log_p), Arg(q))
        check(lambda m, x, y: f(m).kl_div(x, y, reduction=reduction, log_target=True),
              Arg(log_p), Arg(np.log(q)))
        q[0, 1] = 0.0  # a zero target contributes 0 (its own gradient is left out: nan there)
        check(lambda m, x, y: f(m).kl_div(x, y, reduction=reduction), Arg(log_p),
              Arg(q, requires_grad=False))
        check(lambda m, x, y: f(m).kl_div(x, y, reduction=reduction),
              Arg(np.array(-0.7)), Arg(np.array(0.4)))
        check(lambda m, x, y: f(m).kl_div(x, y), Arg(np.array([1, 2])), Arg(np.array([1, 2])))
    with pytest.warns(UserWarning, match="batchmean"):
        dg.nn.functional.kl_div(dg.tensor(log_p), dg.tensor(q))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_and_gaussian_nll(reduction):
    x = away((3, 4), -2, 2)
    counts = RNG.integers(0, 5, (3, 4)).astype(np.float64)
    for log_input in (True, False):
        for full in (False, True):
            inp = x if log_input else np.exp(x)
            check(lambda m, x, y: f(m).poisson_nll_loss(x, y, log_input, full,
                                                        reduction=reduction),
                  Arg(inp), Arg(counts, requires_grad=not full))
    mean, target = away((4, 3)), away((4, 3))
    var = probs((4, 3))
    var[0, 0] = 1e-8  # below eps: the value is clamped, the gradient still flows
    check(lambda m, x, y, v: f(m).gaussian_nll_loss(x, y, v, reduction=reduction),
          Arg(mean), Arg(target), Arg(var))
    check(lambda m, x, y, v: f(m).gaussian_nll_loss(x, y, v, full=True, reduction=reduction),
          Arg(mean), Arg(target), Arg(probs(4)))  # one variance per row
    check(lambda m, x, y, v: f(m).gaussian_nll_loss(x, y, v, reduction=reduction),
          Arg(mean), Arg(target), Arg(probs((4, 1))))
    check(lambda m, x, y: f(m).gaussian_nll_loss(x, y, 0.5, reduction=reduction),
          Arg(mean), Arg(target))
    check(lambda m, x, y, v: f(m).gaussian_nll_loss(x, y, v), Arg(mean), Arg(target),
          Arg(probs(3)))  # wrong size
    check(lambda m, x, y, v: f(m).gaussian_nll_loss(x, y, v), Arg(mean), Arg(target),
          Arg(-var))  # negative variance


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_and_embedding_losses(reduction):
    x1, x2 = away(6), away(6)
    sign = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    check(lambda m, a, b, y: f(m).margin_ranking_loss(a, b, y, margin=0.2, reduction=reduction),
          Arg(x1), Arg(x2), Arg(sign))
    check(lambda m, x, y: f(m).hinge_embedding_loss(x, y, margin=1.5, reduction=reduction),
          Arg(away(6)), Arg(sign))
    check(lambda m, x, y: f(m).hinge_embedding_loss(x, y, reduction=reduction),
          Arg(away((2, 3))), Arg(np.array([[1, -1, 1], [-1, -1, 1]])))
    a, b = away((6, 5)), away((6, 5))
    check(lambda m, a, b, y: f(m).cosine_embedding_loss(a, b, y, 0.1, reduction=reduction),
          Arg(a), Arg(b), Arg(sign.astype(np.int64)))
    check(lambda m, a, b, y: f(m).cosine_embedding_loss(a, b, y, reduction=reduction),
          Arg(away(5)), Arg(away(5)), Arg(np.array(-1)))
    check(lambda m, a, b, y: f(m).margin_ranking_loss(a, b, y), Arg(x1), Arg(x2),
          Arg(np.array(1.0)))  # dims differ
    check(lambda m, a, b, y: f(m).cosine_embedding_loss(a, b, y), Arg(a), Arg(b),
          Arg(np.array(1)))  # 0-d target with 2-d inputs


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_losses(reduction):
    a, p, n = away((5, 4)), away((5, 4)), away((5, 4))
    for norm, swap in [(2, False), (1, True), (3, False)]:
        check(lambda m, a, p, n: f(m).triplet_margin_loss(a, p, n, margin=2.0, p=norm,
                                                          swap=swap, reduction=reduction),
              Arg(a), Arg(p), Arg(n))
    check(lambda m, a, p, n: f(m).triplet_margin_loss(a, p, n, reduction=reduction),
          Arg(away(4)), Arg(away(4)), Arg(away(4)))
    check(lambda m, a, p, n: f(m).triplet_margin_with_distance_loss(
        a, p, n, margin=2.0, swap=True, reduction=reduction), Arg(a), Arg(p), Arg(n))
    check(lambda m, a, p, n: f(m).triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: (u - v).abs().sum(-1), reduction=reduction),
        Arg(a), Arg(p), Arg(n))
    check(lambda m, a, p, n: f(m).triplet_margin_loss(a, p, n), Arg(a), Arg(away(4)), Arg(n))
    check(lambda m, a, p, n: f(m).triplet_margin_with_distance_loss(a, p, n, margin=0.0),
          Arg(a), Arg(p), Arg(n))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_class_margin_losses(reduction):
    x = away((4, 5))
    t = np.array([0, 4, 2, 2])
    for norm in (1, 2):
        check(lambda m, x, t: f(m).multi_margin_loss(x, t, p=norm, margin=0.8,
                                                     reduction=reduction), Arg(x), Arg(t))
    check(lambda m, x, t, w: f(m).multi_margin_loss(x, t, weight=w, reduction=reduction),
          Arg(x), Arg(t), Arg(probs(5), requires_grad=False))
    check(lambda m, x, t: f(m).multi_margin_loss(x, t, reduction=reduction), Arg(away(5)),
          Arg(np.array(3)))
    labels = np.array([[3, 0, -1, 1, 1], [4, 4, 4, 4, 4], [-1, 2, 3, 0, 0], [1, 2, 3, 4, 0]])
    check(lambda m, x, t: f(m).multilabel_margin_loss(x, t, reduction=reduction), Arg(x),
          Arg(labels))
    check(lambda m, x, t: f(m).multilabel_margin_loss(x, t, reduction=reduction), Arg(away(5)),
          Arg(np.array([2, 1, -1, 0, 0])))
    y = (RNG.uniform(size=(4, 5)) > 0.5).astype(np.float64)
    check(lambda m, x, y: f(m).multilabel_soft_margin_loss(x, y, reduction=reduction),
          Arg(x), Arg(y))
    check(lambda m, x, y, w: f(m).multilabel_soft_margin_loss(x, y, w, reduction=reduction),
          Arg(x), Arg(y), Arg(probs(5)))
    for call in [lambda F, x, t: F.multi_margin_loss(x, t, p=3),
                 lambda F, x, t: F.multi_margin_loss(x, t + 1),
                 lambda F, x, t: F.multilabel_margin_loss(x, t[:, None].expand(4, 5) + 1)]:
        check(lambda m, x, t: call(f(m), x, t), Arg(x), Arg(t))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ctc_loss(reduction, dtype):
    t_max, n, classes = 12, 4, 5
    logits = RNG.standard_normal((t_max, n, classes))
    log_probs = (logits - np.log(np.exp(logits).sum(-1, keepdims=True))).astype(dtype)
    targets = np.array([[1, 1, 2, 0], [3, 4, 3, 2], [2, 0, 0, 0], [4, 4, 4, 1]])
    in_len, tgt_len = np.array([12, 10, 7, 12]), np.array([3, 4, 1, 0])
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}
    check(lambda m, lp, t, il, tl: f(m).ctc_loss(lp, t, il, tl, reduction=reduction),
          Arg(log_probs), Arg(targets), Arg(in_len), Arg(tgt_len), **tol)
    flat = np.concatenate([targets[b, :tgt_len[b]] for b in range(n)])
    check(lambda m, lp, t, il, tl: f(m).ctc_loss(lp, t, il, tl, blank=0, reduction=reduction),
          Arg(log_probs), Arg(flat), Arg(in_len), Arg(tgt_len), **tol)
    # Impossible alignments: 2 frames for 3 labels; and zero_infinity.
    short = np.array([12, 2, 7, 12])
    check(lambda m, lp, t, il, tl: f(m).ctc_loss(lp, t, il, tl, reduction=reduction,
                                                 zero_infinity=True),
          Arg(log_probs), Arg(targets), Arg(short), Arg(tgt_len), **tol)
    check(lambda m, lp, t, il, tl: f(m).ctc_loss(lp, t, il, tl, blank=4, reduction=reduction),
          Arg(log_probs[:, 0]), Arg(np.array([1, 1, 2])), Arg(np.array(12)), Arg(np.array(3)),
          **tol)


def test_ctc_loss_from_logits_matches_pytorch_end_to_end():
    logits = RNG.standard_normal((8, 2, 4))
    check(lambda m, x, t: f(m).ctc_loss(f(m).log_softmax(x, 2), t, m.tensor([8, 6]),
                                        m.tensor([3, 2])),
          Arg(logits), Arg(np.array([[1, 2, 2], [3, 1, 0]])))


# ----------------------------------------------------------------------------------------------
# pad, interpolate, normalize, pdist.

PADS = [
    ((2, 3, 4), (1, 2), "constant"), ((2, 3, 4), (1, -2, 0, 3, 2, 1), "constant"),
    ((3, 4), (-1, -2), "constant"), ((5,), (0, 0), "constant"), ((0, 3), (1, 1), "constant"),
    ((1, 2, 5), (2, 3), "reflect"), ((2, 5), (-1, 3), "reflect"),
    ((1, 2, 4, 5), (1, 2, 3, 0), "reflect"), ((1, 2, 3, 3, 4), (1, 1, 2, 0, 1, 2), "reflect"),
    ((1, 2, 5), (4, 1), "replicate"), ((2, 3, 4), (2, -1, 1, 1), "replicate"),
    ((1, 1, 2, 2, 3), (1, 2, 1, 0, 0, 2), "replicate"),
    ((1, 2, 5), (3, 5), "circular"), ((2, 3, 4), (2, 1, 3, 0), "circular"),
    ((1, 2, 5), (-1, 2), "circular"), ((1, 1, 2, 3, 3), (1, 1, 2, 2, 3, 0), "circular"),
]


@pytest.mark.parametrize("shape, widths, mode", PADS)
def test_pad(shape, widths, mode):
    x = RNG.standard_normal(shape)
    check(lambda m, x: f(m).pad(x, widths, mode=mode), Arg(x))
    check(lambda m, x: f(m).pad(x, list(widths), mode), Arg(x.astype(np.float32)))


def test_pad_values_dtypes_and_errors():
    x = RNG.standard_normal((2, 3, 4))
    check(lambda m, x: f(m).pad(x, (1, 1), value=2.5), Arg(x))
    check(lambda m, x: f(m).pad(x, (1, 1), value=2.5), Arg(np.arange(6).reshape(2, 3)))
    check(lambda m, x: f(m).pad(x, (1, 2, 0, 1), value=1), Arg(np.ones((2, 2), dtype=bool)))
    check(lambda m, x: f(m).pad(x, (2, 1), mode="replicate"), Arg(np.arange(6).reshape(1, 6)))
    check(lambda m, x: f(m).pad(x.t(), (1, 2)), Arg(x[0]))
    for widths, mode in [((1,), "constant"), ((1,) * 8, "constant"), ((-5, 0), "constant"),
                         ((1, 1), "wrap"), ((4, 0), "reflect"), ((1, 1), "reflect"),
                         ((5, 0), "circular"), ((1, 1, 1, 1, 1, 1), "replicate")]:
        arr = x if widths != (1, 1) or mode != "reflect" else x[0, 0]
        check(lambda m, x: f(m).pad(x, widths, mode=mode), Arg(arr))
    check(lambda m, x: f(m).pad(x, (1, 1), mode="reflect", value=1.0), Arg(x))
    check(lambda m, x: f(m).pad(x, (1, 1), mode="replicate"), Arg(np.ones((1, 2, 0))))


@pytest.mark.parametrize("kwargs", [
    dict(size=7), dict(size=3), dict(scale_factor=2.0), dict(scale_factor=1.7),
    dict(scale_factor=0.6), dict(size=7, mode="nearest-exact"),
    dict(scale_factor=1.5, mode="nearest-exact"), dict(size=9, mode="linear"),
    dict(size=4, mode="linear"), dict(size=9, mode="linear", align_corners=True),
    dict(size=1, mode="linear", align_corners=True), dict(scale_factor=2.5, mode="linear"),
    dict(scale_factor=1.3, mode="linear", recompute_scale_factor=True),
    dict(scale_factor=0.5, mode="linear", align_corners=False),
], ids=str)
def test_interpolate_1d(kwargs):
    x = RNG.standard_normal((2, 3, 5))
    check(lambda m, x: f(m).interpolate(x, **kwargs), Arg(x))
    check(lambda m, x: f(m).interpolate(x, **kwargs), Arg(x.astype(np.float32)), rtol=1e-4,
          atol=1e-5)


def test_interpolate_2d_3d_and_errors():
    x4, x5 = RNG.standard_normal((1, 2, 3, 4)), RNG.standard_normal((1, 1, 2, 3, 2))
    check(lambda m, x: f(m).interpolate(x, size=(5, 3), mode="bilinear"), Arg(x4))
    check(lambda m, x: f(m).interpolate(x, scale_factor=(2.0, 1.5), mode="bilinear",
                                        align_corners=True), Arg(x4))
    check(lambda m, x: f(m).interpolate(x, scale_factor=2), Arg(x4))
    check(lambda m, x: f(m).interpolate(x, size=(3, 4, 3), mode="trilinear"), Arg(x5))
    check(lambda m, x: f(m).interpolate(x, size=(3, 4, 3)), Arg(x5))
    x3 = RNG.standard_normal((1, 2, 4))
    for kwargs in [dict(size=5, mode="nearest", align_corners=False), dict(),
                   dict(size=3, scale_factor=2.0), dict(size=5, mode="bilinear"),
                   dict(size=(5, 5)), dict(size=0)]:
        check(lambda m, x: f(m).interpolate(x, **kwargs), Arg(x3))
    check(lambda m, x: f(m).interpolate(x, size=5, mode="linear"), Arg(x4))
    check(lambda m, x: f(m).interpolate(x, size=5), Arg(np.arange(4)[None, None]))
    check(lambda m, x: f(m).interpolate(x, size=5), Arg(np.ones(4)))


def test_normalize_and_pdist():
    x = away((4, 5))
    x[1] = 0.0  # a zero row: divided by eps, gradient as PyTorch's
    for p, dim in [(2.0, 1), (1.0, 0), (float("inf"), -1), (3.0, 1)]:
        check(lambda m, x: f(m).normalize(x, p=p, dim=dim), Arg(x))
    check(lambda m, x: f(m).normalize(x), Arg(away(5).astype(np.float32)), rtol=1e-4)
    y = away((5, 3))
    y[3] = y[1]  # two equal rows: distance 0, gradient 0
    for p in (2.0, 1.0, 3.0):
        check(lambda m, x: f(m).pdist(x, p), Arg(y))
    check(lambda m, x: f(m).pdist(x), Arg(away(3)))


# ----------------------------------------------------------------------------------------------
# Channel and alpha dropout: random, so checked for structure and scale rather than values.


def test_channel_dropout_zeroes_whole_channels_and_scales():
    F = dg.nn.functional
    x = dg.ones(8, 16, 5)
    out = F.dropout1d(x, 0.25, generator=dg.Generator(0)).numpy()
    per_channel = out.reshape(8, 16, 5)
    assert np.all(per_channel == per_channel[..., :1])  # one mask value per channel
    assert set(np.unique(out).tolist()) <= {0.0, float(np.float32(1.0) / np.float32(0.75))}
    assert F.dropout1d(x, 0.25, training=False) is x
    out2d = F.dropout2d(dg.ones(4, 6, 3, 3), 0.5, generator=dg.Generator(1)).numpy()
    assert np.all(out2d == out2d[..., :1, :1]) and set(np.unique(out2d)) <= {0.0, 2.0}
    out3d = F.dropout3d(dg.ones(6, 2, 2, 2), 0.5, generator=dg.Generator(2)).numpy()
    assert np.all(out3d == out3d[:, :1, :1, :1])  # unbatched: one value per channel
    assert float(F.dropout1d(x, 1.0).sum()) == 0.0
    y = dg.ones(4, 5)
    assert F.dropout(y, 0.5, True, True, generator=dg.Generator(6)) is y  # inplace
    assert set(np.unique(y.numpy()).tolist()) == {0.0, 2.0}
    assert F.dropout2d(y, 0.5, True, True, generator=dg.Generator(6)) is y
    with pytest.raises(RuntimeError):
        F.dropout1d(dg.ones(3), 0.5)
    with pytest.raises(ValueError):
        F.dropout2d(dg.ones(2, 3, 4), 1.5)


def test_alpha_dropout_keeps_mean_and_variance():
    F = dg.nn.functional
    x = dg.tensor(RNG.standard_normal(200_000))
    out = F.alpha_dropout(x, 0.3, training=True, generator=dg.Generator(4)).numpy()
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1.0) < 0.02
    assert F.alpha_dropout(x, 0.3) is x  # PyTorch's default training=False
    feat = F.feature_alpha_dropout(dg.ones(50, 40, 3), 0.5, True,
                                   generator=dg.Generator(5)).numpy()
    assert np.all(feat == feat[..., :1])
    np.testing.assert_allclose(np.unique(feat), [-0.7792, 1.6656], atol=1e-4)  # PyTorch's levels
