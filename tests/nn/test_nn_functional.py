"""deltagrad.nn.functional: values and gradients against NumPy references and PyTorch."""

import itertools
import math

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F

RNG = np.random.default_rng(7)


def _torch():
    return pytest.importorskip("torch")


def _against_torch(dg_fn, torch_fn, arrays, consts=(), rtol=1e-6, atol=1e-9):
    """Run both libraries in float64 on the same inputs; compare outputs and every gradient.

    ``arrays``: inputs (float ones are differentiated); ``consts``: extra non-differentiated
    arguments, given to each function converted to its own library's tensor type (or None).
    """
    torch = _torch()
    ours = [dg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    our_consts = [None if c is None else dg.tensor(c) for c in consts]
    their_consts = [None if c is None else torch.tensor(c) for c in consts]
    out = dg_fn(*ours, *our_consts)
    ref = torch_fn(*theirs, *their_consts)
    np.testing.assert_allclose(out._data, ref.detach().numpy(), rtol=rtol, atol=atol)
    seed = RNG.standard_normal(tuple(ref.shape))
    out.backward(dg.tensor(seed))
    ref.backward(torch.tensor(seed))
    for a, b in zip(ours, theirs):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad._data, b.grad.numpy(), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------
# Activations and layers against PyTorch.

ACTIVATIONS = [
    ("relu", lambda x: F.relu(x), lambda t, x: t.nn.functional.relu(x)),
    ("tanh", lambda x: F.tanh(x), lambda t, x: t.tanh(x)),
    ("sigmoid", lambda x: F.sigmoid(x), lambda t, x: t.sigmoid(x)),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 1.5),
     lambda t, x: t.nn.functional.hardtanh(x, -0.5, 1.5)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2),
     lambda t, x: t.nn.functional.leaky_relu(x, 0.2)),
    ("gelu", lambda x: F.gelu(x), lambda t, x: t.nn.functional.gelu(x)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda t, x: t.nn.functional.gelu(x, approximate="tanh")),
    ("softplus", lambda x: F.softplus(x), lambda t, x: t.nn.functional.softplus(x)),
    ("softplus_beta", lambda x: F.softplus(x, beta=2.0, threshold=5.0),
     lambda t, x: t.nn.functional.softplus(x, beta=2.0, threshold=5.0)),
    ("softmax", lambda x: F.softmax(x, dim=1), lambda t, x: t.softmax(x, dim=1)),
    ("softmax_neg", lambda x: F.softmax(x, dim=-1), lambda t, x: t.softmax(x, dim=-1)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=1), lambda t, x: t.log_softmax(x, dim=1)),
    ("log_softmax0", lambda x: F.log_softmax(x, 0), lambda t, x: t.log_softmax(x, 0)),
]


@pytest.mark.parametrize("name, ours, theirs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(name, ours, theirs):
    torch = _torch()
    x = RNG.uniform(-4, 4, (5, 6, 3))
    x[0, 0, :] = [0.0, -0.5, 1.5]  # kinks of relu / hardtanh: conventions must agree too
    x[1, 0, :] = [30.0, -30.0, 8.0]  # far tails (softplus thresholds, saturation)
    _against_torch(ours, lambda t: theirs(torch, t), [x])


def test_activations_keep_float32():
    x = dg.randn(3, 4)
    for fn in (F.relu, F.tanh, F.sigmoid, F.hardtanh, F.leaky_relu, F.gelu, F.softplus,
               lambda t: F.softmax(t, 1), lambda t: F.log_softmax(t, 1)):
        assert fn(x).dtype == dg.float32


def test_linear_matches_torch():
    torch = _torch()
    x, w, b = RNG.standard_normal((2, 4, 5)), RNG.standard_normal((3, 5)), RNG.standard_normal(3)
    _against_torch(F.linear, torch.nn.functional.linear, [x, w, b])
    _against_torch(lambda x, w: F.linear(x, w), lambda x, w: torch.nn.functional.linear(x, w),
                   [x, w])


def test_linear_is_one_fused_node_with_row_major_weight_gradient():
    # The fused op: no transpose or add nodes, and the weight's gradient in the weight's own
    # (row-major) layout, which the optimizer updates with contiguous passes.
    x = dg.tensor(RNG.standard_normal((4, 6, 5)).astype(np.float32))
    w = dg.tensor(RNG.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    b = dg.tensor(RNG.standard_normal(3).astype(np.float32), requires_grad=True)
    out = F.linear(x, w, b)
    assert out._op.name == "linear" and out.dtype == dg.float32
    out.sum().backward()
    assert w.grad._data.flags.c_contiguous and w.grad.dtype == dg.float32
    np.testing.assert_allclose(w.grad._data, np.einsum("abo,abi->oi", np.ones((4, 6, 3)), x._data),
                               rtol=1e-5)
    np.testing.assert_allclose(b.grad._data, np.full(3, 24.0))


@pytest.mark.parametrize("bias_dtype", [np.float64, np.float16, np.int64])
def test_linear_refuses_a_bias_of_another_dtype(bias_dtype):
    # PyTorch's addmm refuses it ("self and mat2 must have the same dtype"); adding it after the
    # product would promote the result silently.
    x = dg.tensor(RNG.standard_normal((2, 5)).astype(np.float32))
    w = dg.tensor(RNG.standard_normal((3, 5)).astype(np.float32))
    with pytest.raises(RuntimeError, match="bias of dtype"):
        F.linear(x, w, dg.tensor(np.ones(3, dtype=bias_dtype)))
    torch = _torch()
    with pytest.raises(RuntimeError):
        torch.nn.functional.linear(torch.tensor(x._data), torch.tensor(w._data),
                                   torch.tensor(np.ones(3, dtype=bias_dtype)))


@pytest.mark.parametrize("case", ["1-D weight", "broadcast bias", "int input"])
def test_linear_unfused_cases(case):
    # A 1-D weight or a bias that is not [out] take the unfused composition x @ w.T + b, with
    # its broadcasting. PyTorch's linear refuses a 1-D weight with a 2-D input and a bias (its
    # addmm wants a matrix); there the reference is NumPy.
    x32 = RNG.standard_normal((2, 5)).astype(np.float32)
    w32 = RNG.standard_normal((3, 5)).astype(np.float32)
    args = {"1-D weight": (x32, w32[0], RNG.standard_normal(()).astype(np.float32)),
            "broadcast bias": (x32, w32, RNG.standard_normal((2, 1)).astype(np.float32)),
            "int input": (np.arange(10).reshape(2, 5), np.arange(15).reshape(3, 5), None)}[case]
    ours = F.linear(*[None if a is None else dg.tensor(a, requires_grad=a.dtype.kind == "f")
                      for a in args])
    assert ours._op is None or ours._op.name != "linear"
    x, w, b = args
    if case == "1-D weight":
        expected = x @ w.T + b
    else:
        torch = _torch()
        expected = torch.nn.functional.linear(
            *[None if a is None else torch.tensor(a) for a in args]).numpy()
    assert ours.shape == expected.shape and ours._data.dtype == expected.dtype
    np.testing.assert_allclose(ours._data, expected, rtol=1e-5)


def test_linear_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"linear: input of shape \S*2, 4.*3, 5"):
        F.linear(dg.zeros(2, 4), dg.zeros(3, 5))


def test_embedding_matches_torch():
    torch = _torch()
    ids = np.array([[0, 3, 3], [5, 1, 0]])
    weight = RNG.standard_normal((6, 4))
    _against_torch(lambda w, i: F.embedding(i, w), lambda w, i: torch.nn.functional.embedding(i, w),
                   [weight], consts=[ids])
    _against_torch(lambda w, i: F.embedding(i, w, padding_idx=3),
                   lambda w, i: torch.nn.functional.embedding(i, w, padding_idx=3),
                   [weight], consts=[ids])


def test_embedding_max_norm_renormalises_in_place_like_torch():
    torch = _torch()
    weight = RNG.standard_normal((6, 4)) * 3
    ids = np.array([0, 2, 2, 5])
    ours, theirs = dg.tensor(weight.copy()), torch.tensor(weight.copy())
    out = F.embedding(dg.tensor(ids), ours, max_norm=1.5)
    ref = torch.nn.functional.embedding(torch.tensor(ids), theirs, max_norm=1.5)
    np.testing.assert_allclose(out._data, ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours._data, theirs.numpy(), rtol=1e-12)
    untouched = [1, 3, 4]
    np.testing.assert_array_equal(ours._data[untouched], weight[untouched])


def test_embedding_errors():
    table = dg.zeros(5, 2)
    with pytest.raises(IndexError, match=r"embedding index 5 is out of range.*5 rows"):
        F.embedding(dg.tensor([1, 5]), table)
    with pytest.raises(IndexError, match="index -1"):
        F.embedding(np.array([-1]), table)
    with pytest.raises(TypeError,
                       match="Expected tensor for argument #1 'indices' to have one of the "
                             "following scalar types: Long, Int; but got torch.FloatTensor"):
        F.embedding(dg.tensor([1.0]), table)


@pytest.mark.parametrize("dtype", ["i1", "i2", "i4", "i8", ">i8", "u1", "u2", "u4", "u8"])
def test_embedding_and_cross_entropy_check_indices_of_every_integer_dtype(dtype):
    # The range check reads signed ids as unsigned where it can (one pass instead of min and
    # max): a negative id must still be caught, in every width and byte order.
    table = dg.zeros(5, 2)
    assert F.embedding(np.array([0, 4], dtype), table).shape == (2, 2)
    with pytest.raises(IndexError, match="index 5 is out of range"):
        F.embedding(np.array([0, 5], dtype), table)
    logits = dg.zeros(2, 3)
    assert np.isfinite(F.cross_entropy(logits, np.array([0, 2], dtype)).item())
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(logits, np.array([3, 0], dtype))
    if dtype.lstrip("<>")[0] == "i":
        with pytest.raises(IndexError, match="index -1"):
            F.embedding(np.array([1, -1], dtype), table)
        with pytest.raises(IndexError, match="Target -2 is out of bounds"):
            F.cross_entropy(logits, np.array([0, -2], dtype))


# ----------------------------------------------------------------------------------------------
# cross_entropy: a naive reference written from the definition, then PyTorch.


def _naive_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean",
                         label_smoothing=0.0):
    """Per-sample loops over the formula in PyTorch's documentation (float64)."""
    class_dim = 0 if x.ndim == 1 else 1
    x = np.moveaxis(x, class_dim, -1)  # [..., C]
    n_classes = x.shape[-1]
    w = np.ones(n_classes) if weight is None else weight
    log_p = x - np.log(np.exp(x).sum(-1, keepdims=True))
    samples = list(np.ndindex(x.shape[:-1]))
    losses = np.zeros(x.shape[:-1])
    if target.dtype.kind == "f":
        q = np.moveaxis(target, class_dim, -1)
        for s in samples:
            qs = q[s] * (1 - label_smoothing) + label_smoothing / n_classes
            losses[s] = -sum(w[c] * qs[c] * log_p[s][c] for c in range(n_classes))
        denominator = len(samples)
    else:
        denominator = 0.0
        for s in samples:
            t = target[s]
            if t == ignore_index:
                continue
            nll = -w[t] * log_p[s][t]
            smooth = -sum(w[c] * log_p[s][c] for c in range(n_classes)) / n_classes
            losses[s] = (1 - label_smoothing) * nll + label_smoothing * smooth
            denominator += w[t]
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / denominator


def _ce_case(shape, probabilities, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    class_dim = 0 if len(shape) == 1 else 1
    n_classes = shape[class_dim]
    if probabilities:
        target = rng.uniform(size=shape)
        target /= target.sum(class_dim, keepdims=True)
    else:
        target = rng.integers(0, n_classes, shape[:class_dim] + shape[class_dim + 1:])
        if target.ndim:
            target.reshape(-1)[::3] = -100  # every third sample ignored
    return x, target


SHAPES = [(5,), (6, 4), (3, 4, 2), (2, 3, 2, 2)]
OPTIONS = list(itertools.product(["mean", "sum", "none"], [0.0, 0.2], [False, True]))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("probabilities", [False, True], ids=["indices", "probabilities"])
@pytest.mark.parametrize("reduction, label_smoothing, weighted", OPTIONS)
def test_cross_entropy_matches_naive_reference(shape, probabilities, reduction, label_smoothing,
                                               weighted):
    x, target = _ce_case(shape, probabilities, seed=len(shape))
    n_classes = shape[0 if len(shape) == 1 else 1]
    weight = np.linspace(0.5, 2.0, n_classes) if weighted else None
    expected = _naive_cross_entropy(x, target, weight, reduction=reduction,
                                    label_smoothing=label_smoothing)
    got = F.cross_entropy(dg.tensor(x), dg.tensor(target), weight=weight, reduction=reduction,
                          label_smoothing=label_smoothing)
    np.testing.assert_allclose(got._data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("probabilities", [False, True], ids=["indices", "probabilities"])
@pytest.mark.parametrize("reduction, label_smoothing, weighted", OPTIONS)
def test_cross_entropy_matches_torch(shape, probabilities, reduction, label_smoothing, weighted):
    torch = _torch()
    x, target = _ce_case(shape, probabilities, seed=10 + len(shape))
    n_classes = shape[0 if len(shape) == 1 else 1]
    weight = np.linspace(0.5, 2.0, n_classes) if weighted else None
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    # Probability targets are differentiated too (PyTorch supports it).
    _against_torch(lambda a, t, w: F.cross_entropy(a, t, weight=w, **options),
                   lambda a, t, w: torch.nn.functional.cross_entropy(a, t, weight=w, **options),
                   [x, target] if probabilities else [x], consts=([] if probabilities
                                                                  else [target]) + [weight],
                   rtol=1e-9, atol=1e-12)


def test_cross_entropy_float32_matches_torch():
    torch = _torch()
    x = RNG.standard_normal((256, 5)).astype(np.float32) * 3
    t = RNG.integers(0, 5, 256)
    ours = dg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    loss = F.cross_entropy(ours, dg.tensor(t))
    ref = torch.nn.functional.cross_entropy(theirs, torch.tensor(t))
    loss.backward()
    ref.backward()
    assert loss.dtype == dg.float32 and ours.grad.dtype == dg.float32
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-6)
    np.testing.assert_allclose(ours.grad._data, theirs.grad.numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("ignore", [2, 0])
@pytest.mark.parametrize("weight, label_smoothing", [(None, 0.0), (None, 0.3),
                                                     (np.array([1.0, 2.0, 0.5]), 0.1)])
def test_cross_entropy_ignore_index_any_class(ignore, weight, label_smoothing):
    torch = _torch()
    x = RNG.standard_normal((5, 3))
    t = np.array([0, 2, 1, 2, 2])
    options = dict(ignore_index=ignore, label_smoothing=label_smoothing)
    _against_torch(lambda a, t, w: F.cross_entropy(a, t, w, **options),
                   lambda a, t, w: torch.nn.functional.cross_entropy(a, t, w, **options),
                   [x], consts=[t, weight], rtol=1e-9)


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    x = dg.zeros(2, 3, requires_grad=True)
    loss = F.cross_entropy(x, dg.tensor([-100, -100]))
    assert math.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad._data, 0.0)  # PyTorch's gradient: zero, not nan


@pytest.mark.parametrize("options", [{"label_smoothing": 0.1}, {"weight": np.ones(3)},
                                     {"shape": (2, 3, 2)}], ids=["smoothing", "weight", "3-d"])
def test_cross_entropy_all_ignored_general_path_is_nan_with_zero_gradient(options):
    torch = _torch()
    options = dict(options)
    shape = options.pop("shape", (2, 3))
    target = np.full((shape[0],) + shape[2:], -100)
    ours = dg.tensor(RNG.standard_normal(shape), requires_grad=True)
    theirs = torch.tensor(ours._data.copy(), requires_grad=True)
    loss = F.cross_entropy(ours, dg.tensor(target), **options)
    ref = torch.nn.functional.cross_entropy(
        theirs, torch.tensor(target),
        **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()})
    assert math.isnan(loss.item()) and math.isnan(ref.item())
    loss.backward()
    ref.backward()
    np.testing.assert_array_equal(ours.grad._data, theirs.grad.numpy())


def test_cross_entropy_of_a_batch_of_class_indices_is_one_node():
    # The common case takes the targets as an input of one primitive: no [N, C] constant.
    x = dg.tensor(RNG.standard_normal((6, 4)), requires_grad=True)
    target = dg.tensor(np.array([0, 3, -100, 1, 2, 2]))
    loss = F.cross_entropy(x, target)
    assert loss._op.name == "cross_entropy_index" and loss._inputs[1] is target
    for reduction in ("mean", "sum", "none"):
        def fn(a, reduction=reduction):
            return F.cross_entropy(a, target, reduction=reduction)

        assert dg.gradcheck(fn, (x,))
        assert dg.gradgradcheck(fn, (x,))


def test_cross_entropy_is_stable_for_huge_logits():
    x = dg.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    loss = F.cross_entropy(x, dg.tensor([1, 2]), reduction="none")
    np.testing.assert_allclose(loss._data, [2e4, math.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(x.grad._data).all()


def test_cross_entropy_masked_logit_gives_finite_loss():
    # A class masked with -inf that is not the target contributes exp(-inf) = 0, as in torch.
    x = dg.tensor([[0.0, -math.inf, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, dg.tensor([0]))
    assert loss.item() == pytest.approx(math.log(2))
    loss.backward()
    np.testing.assert_allclose(x.grad._data, [[-0.5, 0.0, 0.5]])


def test_cross_entropy_gradchecks_including_second_order():
    x = dg.tensor(RNG.standard_normal((3, 4, 2)), requires_grad=True)
    target = dg.tensor(np.array([[0, 3], [-100, 1], [2, 2]]))
    weight = np.array([1.0, 0.5, 2.0, 1.5])

    def fn(a):
        return F.cross_entropy(a, target, weight=weight, label_smoothing=0.1)

    assert dg.gradcheck(fn, (x,))
    assert dg.gradgradcheck(fn, (x,))


def test_cross_entropy_errors_name_function_and_shapes():
    x = dg.zeros(4, 3)
    with pytest.raises(ValueError, match=r"cross_entropy: target of shape \(3,\).*4, 3"):
        F.cross_entropy(x, dg.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match=r"cross_entropy: target must hold integer class "
                                        r"indices of shape \S*4\W.*float32 target of shape"):
        F.cross_entropy(x, dg.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(IndexError, match=r"Target 3 is out of bounds. \(cross_entropy: 3 "
                                         r"classes, input shape \S*4, 3"):
        F.cross_entropy(x, dg.tensor([0, 1, 3, 1]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.cross_entropy(x, dg.tensor([0, 1, -1, 1]))
    with pytest.raises(ValueError, match="reduction must be"):
        F.cross_entropy(x, dg.tensor([0, 1, 2, 1]), reduction="avg")
    with pytest.raises(ValueError, match=r"weight must hold one value per class, shape \(3,\)"):
        F.cross_entropy(x, dg.tensor([0, 1, 2, 1]), weight=dg.ones(4))
    with pytest.raises(RuntimeError, match="label_smoothing"):
        F.cross_entropy(x, dg.tensor([0, 1, 2, 1]), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        F.cross_entropy(x, dg.zeros(4, 3), ignore_index=1)


# ----------------------------------------------------------------------------------------------
# Other losses.


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(5,), (6, 4), (3, 4, 2)], ids=str)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_torch(reduction, shape, weighted):
    torch = _torch()
    x, target = _ce_case(shape, False, seed=3)
    log_p = x - np.log(np.exp(x).sum(0 if len(shape) == 1 else 1, keepdims=True))
    weight = np.linspace(0.5, 2.0, shape[0 if len(shape) == 1 else 1]) if weighted else None
    _against_torch(lambda a, t, w: F.nll_loss(a, t, w, reduction=reduction),
                   lambda a, t, w: torch.nn.functional.nll_loss(a, t, w, reduction=reduction),
                   [log_p], consts=[target, weight])


def test_nll_loss_errors():
    with pytest.raises(TypeError, match=r"nll_loss: target must hold integer"):
        F.nll_loss(dg.zeros(2, 3), dg.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match=r"Target 4 is out of bounds. \(nll_loss: 3 classes"):
        F.nll_loss(dg.zeros(2, 3), dg.tensor([0, 4]))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(reduction):
    torch = _torch()
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    _against_torch(lambda x, y: F.mse_loss(x, y, reduction=reduction),
                   lambda x, y: torch.nn.functional.mse_loss(x, y, reduction=reduction), [a, b])


def test_mse_loss_warns_on_broadcast():
    with pytest.warns(UserWarning, match="broadcast"):
        F.mse_loss(dg.zeros(4, 3), dg.zeros(3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted, pos_weighted", [(False, False), (True, False), (False, True),
                                                    (True, True)])
def test_bce_with_logits_matches_torch(reduction, weighted, pos_weighted):
    torch = _torch()
    x = RNG.uniform(-5, 5, (6, 3))
    x[0] = [40.0, -40.0, 0.0]  # saturated logits stay finite and exact
    y = RNG.uniform(0, 1, (6, 3))
    weight = RNG.uniform(0.5, 2, (6, 1)) if weighted else None
    pos_weight = np.array([0.5, 1.0, 3.0]) if pos_weighted else None
    _against_torch(lambda a, t, w, pw: F.binary_cross_entropy_with_logits(
                       a, t, w, reduction=reduction, pos_weight=pw),
                   lambda a, t, w, pw: torch.nn.functional.binary_cross_entropy_with_logits(
                       a, t, w, reduction=reduction, pos_weight=pw),
                   [x, y], consts=[weight, pos_weight], rtol=1e-9)


def test_bce_with_logits_shape_error():
    with pytest.raises(ValueError, match=r"Target size \S*3\W+ must be the same as "
                                         r"input size \S*4\W"):
        F.binary_cross_entropy_with_logits(dg.zeros(4), dg.zeros(3))


# ----------------------------------------------------------------------------------------------
# dropout.


def test_dropout_scales_and_preserves_the_mean():
    x = dg.ones(200_000)
    for p in (0.1, 0.5, 0.8):
        y = F.dropout(x, p, generator=dg.Generator(1))._data
        assert set(np.unique(y)) <= {0.0, np.float32(1) / np.float32(1 - p)}
        assert abs((y == 0).mean() - p) < 0.005
        assert abs(y.mean() - 1.0) < 0.02


def test_dropout_identity_when_off_and_zeros_at_one():
    x = dg.randn(5, 3, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    assert not y._data.any()
    y.sum().backward()
    assert not x.grad._data.any()
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="but got -0.1"):
        F.dropout(x, -0.1)


def test_dropout_same_seed_same_mask_and_gradient_is_the_mask():
    x = dg.ones(50, 4, requires_grad=True)
    a = F.dropout(x, 0.3, generator=dg.Generator(5))
    b = F.dropout(x, 0.3, generator=dg.Generator(5))
    np.testing.assert_array_equal(a._data, b._data)
    dg.manual_seed(9)
    c = F.dropout(x, 0.3)
    dg.manual_seed(9)
    d = F.dropout(x, 0.3)
    np.testing.assert_array_equal(c._data, d._data)
    assert not np.array_equal(a._data, F.dropout(x, 0.3, generator=dg.Generator(6))._data)
    a.sum().backward()
    np.testing.assert_array_equal(x.grad._data, a._data)  # x is ones: output == scaled mask


def test_dropout_masks_are_the_float32_draws_and_leave_the_generator_in_step():
    # keep_mask reads PCG64's raw words instead of drawing floats: it must give exactly
    # `random(float32) >= p`, and leave the generator where that would, whatever the size
    # (odd, small, large), p (including values that round to 1 in float32) and whether the
    # generator holds half a word from an earlier odd-sized draw.
    from deltagrad._engine.random import _RAW_MATCHES, _next_draws, _word_threshold, keep_mask

    assert _RAW_MATCHES  # else the fast path is never taken and this test checks little
    shapes = [(3,), (2048,), (64, 50), (33, 31), (256, 200)]
    for p in (0.5, 0.1, 0.3, 0.999, 1.0 - 1e-9, 1e-9, 1.0):
        for warm_up in (0, 1, 2):  # draws before: none, an odd count (half a word left), even
            fast = np.random.Generator(np.random.PCG64(7))
            plain = np.random.Generator(np.random.PCG64(7))
            for rng in (fast, plain):
                rng.random(warm_up, dtype=np.float32)
            for shape in shapes:
                got = keep_mask(fast, shape, p)
                want = plain.random(shape, dtype=np.float32) >= np.float32(p)
                assert got.dtype == bool and got.shape == shape
                np.testing.assert_array_equal(got, want, err_msg=f"p={p} shape={shape}")
                assert _next_draws(fast.bit_generator) == _next_draws(plain.bit_generator)
            np.testing.assert_array_equal(fast.random(5), plain.random(5))  # still in step
    # At the threshold itself (a random test would hit it once in 2**24 draws): the words
    # just below and at it, turned into floats as NumPy does, fall on either side of p.
    for p in (0.5, 0.1, 0.3, 1e-9, 0.5 + 2.0 ** -30, 0.999, np.nextafter(np.float32(1), 0), 1.0):
        threshold = _word_threshold(p)
        if threshold is None:
            assert (np.float32(1) - np.float32(2.0 ** -24)) < np.float32(p)
            continue
        words = np.array([threshold - 256, threshold - 1, threshold, threshold + 255],
                         dtype=np.int64)
        words = words[(words >= 0) & (words < 2 ** 32)].astype(np.uint32)
        floats = (words >> 8).astype(np.float32) * np.float32(2.0 ** -24)
        np.testing.assert_array_equal(floats >= np.float32(p), words >= threshold)
    other = np.random.Generator(np.random.MT19937(3))  # another bit generator: the plain path
    expected = np.random.Generator(np.random.MT19937(3)).random((64, 50), np.float32) >= 0.25
    np.testing.assert_array_equal(keep_mask(other, (64, 50), 0.25), expected)


def test_short_axis_reductions_of_cross_entropy_match_numpy():
    from deltagrad._engine.ops.nn import _reduce_keepdims

    rng = np.random.default_rng(0)
    for columns in (1, 2, 5, 7, 9, 16, 17):
        x = (rng.standard_normal((4, 30, columns)) * 100).astype(np.float32)
        x[0, 0, -1] = np.nan
        np.testing.assert_array_equal(_reduce_keepdims(np.maximum, x, 2),
                                      np.maximum.reduce(x, axis=2, keepdims=True))
        total = _reduce_keepdims(np.add, x, -1)
        expected = np.add.reduce(x, axis=-1, keepdims=True)
        if columns < 8:  # NumPy's own (sequential) order: the same bits
            np.testing.assert_array_equal(total, expected)
        else:
            np.testing.assert_allclose(total, expected, rtol=1e-5, atol=1e-3)
    y = rng.standard_normal((5, 3, 4))  # not the last axis: NumPy's reduction
    np.testing.assert_array_equal(_reduce_keepdims(np.add, y, 1), y.sum(1, keepdims=True))
