"""PyTorch's top-level forms of nn functions (``torch.selu``, ``torch.embedding(weight, idx)``,
``torch.kl_div(..., reduction=int)``, ...) against PyTorch: values, dtypes, gradients, errors."""

# ruff: noqa: B023 - check() calls each lambda at once, inside the loop that defines it

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(7)


def away(*shape, dtype=np.float64):
    """Values kept off the activations' kinks (0, +-0.5)."""
    x = RNG.uniform(-3, 3, shape)
    x = np.where(np.abs(x) < 0.1, 0.3, x)
    x = np.where(np.abs(np.abs(x) - 0.5) < 0.05, 0.7, x)
    return x.astype(dtype)


def probs(*shape):
    return RNG.uniform(0.05, 0.95, shape)


UNARY = [
    ("selu", lambda m, x: m.selu(x)),
    ("celu", lambda m, x: m.celu(x, 0.7)),
    ("threshold", lambda m, x: m.threshold(x, 0.4, -2.0)),
    ("hardshrink", lambda m, x: m.hardshrink(x, 0.5)),
    ("hardshrink method", lambda m, x: x.hardshrink(0.5)),
    ("rrelu eval", lambda m, x: m.rrelu(x, 0.1, 0.3, False)),
    ("prelu", lambda m, x: m.prelu(x, m.tensor([0.25], dtype=x.dtype))),
    ("prelu method", lambda m, x: x.prelu(m.tensor([0.1], dtype=x.dtype))),
    ("dropout eval", lambda m, x: m.dropout(x, 0.5, False)),
    ("alpha_dropout eval", lambda m, x: m.alpha_dropout(x, 0.5, False)),
    ("feature_alpha_dropout eval", lambda m, x: m.feature_alpha_dropout(x, 0.5, False)),
    ("dropout p=0", lambda m, x: m.dropout(x, 0.0, True)),
]


@pytest.mark.parametrize("name,fn", UNARY, ids=[n for n, _ in UNARY])
@pytest.mark.parametrize("shape,dtype", [((), np.float64), ((0,), np.float64),
                                         ((3, 4), np.float64), ((4, 3), np.float32)])
def test_unary_forms(name, fn, shape, dtype):
    a = away(*shape, dtype=dtype)
    check(fn, Arg(a), rtol=1e-5 if dtype == np.float64 else 1e-4)


def test_unary_forms_on_a_transposed_view():
    a = away(3, 5)
    for _, fn in UNARY:
        check(lambda m, x: fn(m, x.t()), Arg(a))


def test_dropout_train_draws_a_mask_and_scales():
    y = dg.dropout(dg.ones(1000), 0.25, True)
    kept = y.numpy()[y.numpy() != 0]
    assert np.allclose(kept, 1 / 0.75) and 600 < kept.size < 900


def test_embedding_takes_the_table_first():
    weight = RNG.standard_normal((5, 3))
    ids = np.array([[0, 4], [2, 2]])
    check(lambda m, w, i: m.embedding(w, i), Arg(weight), Arg(ids))
    check(lambda m, w, i: m.embedding(w, i, 2), Arg(weight), Arg(ids))  # padding row 2
    check(lambda m, w, i: m.embedding(w, i, -1), Arg(weight), Arg(ids))  # -1: none
    check(lambda m, w, i: m.embedding(w, i), Arg(weight), Arg(np.array([5])))  # out of range


def test_norms_with_aten_argument_order():
    x = RNG.standard_normal((4, 6))
    w, b = RNG.standard_normal(6), RNG.standard_normal(6)
    check(lambda m, x, w, b: m.layer_norm(x, (6,), w, b, 1e-5), Arg(x), Arg(w), Arg(b))
    check(lambda m, x, w: m.rms_norm(x, [6], w, 1e-6), Arg(x), Arg(w))
    check(lambda m, x, w, b: m.group_norm(x, 3, w, b), Arg(x), Arg(w), Arg(b))
    mean, var = RNG.standard_normal(6), RNG.uniform(0.5, 2, 6)
    check(lambda m, x, w, b, rm, rv: m.batch_norm(x, w, b, rm, rv, False, 0.1, 1e-5, False),
          Arg(x), Arg(w), Arg(b), Arg(mean, False), Arg(var, False))
    check(lambda m, x, w, b: m.batch_norm(x, w, b, None, None, True, 0.1, 1e-5, False),
          Arg(x), Arg(w), Arg(b))


def test_batch_norm_updates_the_running_stats_in_training():
    import torch

    x = RNG.standard_normal((5, 3))
    stats = {}
    for m in (dg, torch):
        mean, var = m.zeros(3, dtype=m.float64), m.ones(3, dtype=m.float64)
        m.batch_norm(m.tensor(x), None, None, mean, var, True, 0.2, 1e-5, False)
        stats[m.__name__] = (mean.numpy().copy(), var.numpy().copy())
    for ours, theirs in zip(stats["deltagrad"], stats["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_convolution_pooling_and_bilinear():
    x = RNG.standard_normal((2, 4, 9))
    w, b = RNG.standard_normal((6, 2, 3)), RNG.standard_normal(6)
    check(lambda m, x, w, b: m.conv1d(x, w, b, 2, 1, 1, 2), Arg(x), Arg(w), Arg(b))
    check(lambda m, x: m.avg_pool1d(x, 3, 2, 1), Arg(x))
    check(lambda m, x: m.avg_pool1d(x, [2]), Arg(x))
    check(lambda m, x: m.max_pool1d(x, 3, 2), Arg(x))
    check(lambda m, x: m.max_pool1d_with_indices(x, 2), Arg(x))
    check(lambda m, x: m.adaptive_avg_pool1d(x, 4), Arg(x))
    check(lambda m, x: m.adaptive_max_pool1d(x, 4), Arg(x))
    a, c = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 5))
    wb, bb = RNG.standard_normal((2, 4, 5)), RNG.standard_normal(2)
    check(lambda m, a, c, w, b: m.bilinear(a, c, w, b), Arg(a), Arg(c), Arg(wb), Arg(bb))


def test_distances():
    x, y = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    check(lambda m, x, y: m.cosine_similarity(x, y, 1, 1e-8), Arg(x), Arg(y))
    check(lambda m, x, y: m.pairwise_distance(x, y, 3.0, 1e-6, True), Arg(x), Arg(y))
    check(lambda m, x: m.pdist(x, 2.0), Arg(x))


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_losses_take_an_int_reduction(reduction):
    x, y = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    logp = np.log(probs(4, 3))
    sign = np.where(RNG.standard_normal((4, 3)) > 0, 1.0, -1.0)
    check(lambda m, a, b: m.kl_div(a, b, reduction), Arg(logp), Arg(probs(4, 3)))
    check(lambda m, a, b: m.kl_div(a, b, reduction, log_target=True), Arg(logp), Arg(logp))
    check(lambda m, a, b: m.poisson_nll_loss(a, b, True, False, 1e-8, reduction), Arg(x),
          Arg(probs(4, 3) * 3))
    check(lambda m, a, b: m.poisson_nll_loss(a, b, False, True, 1e-8, reduction),
          Arg(probs(4, 3)), Arg(probs(4, 3) * 3))
    check(lambda m, a, b, t: m.margin_ranking_loss(a, b, t, 0.2, reduction), Arg(x), Arg(y),
          Arg(sign, False))
    check(lambda m, a, t: m.hinge_embedding_loss(a, t, 1.5, reduction), Arg(x), Arg(sign, False))
    t1 = np.where(RNG.standard_normal(4) > 0, 1.0, -1.0)
    check(lambda m, a, b, t: m.cosine_embedding_loss(a, b, t, 0.1, reduction), Arg(x), Arg(y),
          Arg(t1, False))
    z = RNG.standard_normal((4, 3))
    check(lambda m, a, b, c: m.triplet_margin_loss(a, b, c, 1.0, 2.0, 1e-6, False, reduction),
          Arg(x), Arg(y), Arg(z))
    check(lambda m, a, t: m.binary_cross_entropy_with_logits(a, t, None, None, reduction),
          Arg(x), Arg(probs(4, 3), False))
    check(lambda m, a, t, w, pw: m.binary_cross_entropy_with_logits(a, t, w, pw, reduction),
          Arg(x), Arg(probs(4, 3), False), Arg(probs(3), False), Arg(probs(3) * 2, False))


def test_losses_default_to_no_reduction_at_the_top_level():
    x, y = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    sign = np.where(RNG.standard_normal((4, 3)) > 0, 1.0, -1.0)
    check(lambda m, a, b: m.kl_div(a, b), Arg(x), Arg(probs(4, 3)))
    check(lambda m, a, b, t: m.margin_ranking_loss(a, b, t), Arg(x), Arg(y), Arg(sign, False))
    check(lambda m, a, t: m.hinge_embedding_loss(a, t), Arg(x), Arg(sign, False))
    check(lambda m, a, b, t: m.cosine_embedding_loss(a, b, t), Arg(x), Arg(y),
          Arg(np.ones(4), False))
    check(lambda m, a, b, c: m.triplet_margin_loss(a, b, c), Arg(x), Arg(y), Arg(y[::-1]))
    check(lambda m, a, t: m.binary_cross_entropy_with_logits(a, t), Arg(x),
          Arg(probs(4, 3), False))


def test_ctc_loss_takes_an_int_reduction():
    import torch

    T, N, C, S = 6, 2, 4, 3
    logits = RNG.standard_normal((T, N, C))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.array([[1, 2, 1], [3, 1, 2]])  # (no blank, 0, inside a target)
    for reduction in (0, 1, 2):
        check(lambda m, lp, tg: m.ctc_loss(lp, tg, [T, T - 1], [S, 2], 0, reduction, False),
              Arg(log_probs), Arg(targets))
    # List lengths and tensor lengths both work, as in PyTorch.
    ours = dg.ctc_loss(dg.tensor(log_probs), dg.tensor(targets), dg.tensor([T, T]),
                       dg.tensor([S, S]))
    theirs = torch.ctc_loss(torch.tensor(log_probs), torch.tensor(targets),
                            torch.tensor([T, T]), torch.tensor([S, S]))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


def test_a_bad_reduction_raises():
    x = dg.zeros(3)
    with pytest.raises(RuntimeError, match="reduction"):
        dg.kl_div(x, x, 3)


def test_every_form_is_in_the_top_level_all():
    from deltagrad.nn import _torch_forms

    for name in _torch_forms.__all__:
        assert name in dg.__all__ and getattr(dg, name) is getattr(_torch_forms, name)


def test_constants_and_subpackages():
    import math

    import torch

    assert (dg.pi, dg.e, dg.inf) == (torch.pi, torch.e, torch.inf)
    assert math.isnan(dg.nan) and dg.newaxis is None
    assert dg.zeros(2)[dg.newaxis].shape == (1, 2)
    with pytest.raises(NotImplementedError, match="ONNX"):
        dg.onnx.export(dg.nn.Linear(2, 2), dg.zeros(1, 2), "model.onnx")
    assert dg.distributed.is_available() in (True, False)
    assert not dg.distributed.is_initialized()
