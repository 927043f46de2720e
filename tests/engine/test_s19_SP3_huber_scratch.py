"""huber_loss / smooth_l1_loss as one huber node with the difference in it, whose rule takes
the forward's mask and inside part (a Scratch slot, s19 SP3): the same bits, values and both
gradients, as the former graph (a subtraction node, then the huber op on the difference, its
rule computing the parts again), over a sweep; the slot is used once and only for the arrays
it came from."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import OPS, losses
from deltagrad._engine.ops.nn import Scratch
from deltagrad._engine.ops.registry import ARRAY
from deltagrad._engine.tensor import apply

SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3e38, -3e38, 0.7, -0.7, 2.0, -2.0,
           0.35, 1.0, -1.0]


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint64 if a.dtype == np.float64 else np.uint32)


def _inputs(rng, shape, dtype, scale, special):
    if special:
        with np.errstate(over="ignore"):
            x = np.array(SPECIAL, np.float64).astype(dtype)
    else:
        x = (rng.standard_normal(shape) * scale).astype(dtype)
    y = (rng.standard_normal(x.shape) * 0.1).astype(dtype)
    return x, y


def _run(x, y, g, loss, reduction, param, former):
    xt, yt = dg.tensor(x, requires_grad=True), dg.tensor(y, requires_grad=True)
    if former:  # (the graph before: x - y, then the op on the difference, no slot)
        out = apply(OPS["huber"], xt - yt, delta=float(param), smooth=loss != "huber_loss")
        out = {"none": out, "mean": out.mean(), "sum": out.sum()}[reduction]
    else:
        kwargs = {"delta": param} if loss == "huber_loss" else {"beta": param}
        out = getattr(dg.nn.functional, loss)(xt, yt, reduction=reduction, **kwargs)
    out.backward(dg.tensor(g) if reduction == "none" else None)
    return out.detach().numpy(), xt.grad.numpy(), yt.grad.numpy()


CASES = [(loss, dtype, reduction, param, shape, scale, special)
         for loss in ("huber_loss", "smooth_l1_loss")
         for dtype in (np.float32, np.float64)
         for reduction in ("none", "mean", "sum")
         for param in (0.7, 1.0, 2.0, 1e-3)
         for shape, scale, special in (((), 1.0, False), ((5,), 3.0, False),
                                       ((3, 4), 1.0, False), ((2, 3, 4), 1e20, False),
                                       (None, 1.0, True))]


@pytest.mark.parametrize("loss,dtype,reduction,param,shape,scale,special", CASES)
def test_same_bits_as_the_former_graph(loss, dtype, reduction, param, shape, scale, special):
    rng = np.random.default_rng(len(str((loss, dtype, reduction, param, shape, special))))
    x, y = _inputs(rng, shape, dtype, scale, special)
    g = rng.standard_normal(x.shape).astype(dtype)
    with np.errstate(all="ignore"):
        new = _run(x, y, g, loss, reduction, param, former=False)
        old = _run(x, y, g, loss, reduction, param, former=True)
    for a, b in zip(new, old):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(_bits(a), _bits(b))


def test_the_rule_takes_the_forward_parts(monkeypatch):
    calls = []
    parts = losses._huber_parts
    monkeypatch.setattr(losses, "_huber_parts", lambda *a: calls.append(1) or parts(*a))
    x = dg.tensor(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    dg.nn.functional.huber_loss(x, dg.zeros(3, 4), delta=0.7).backward()
    assert len(calls) == 1  # (the forward's; the rule computed them again before)


def test_retain_graph_backward_twice_recomputes():
    x = dg.tensor(np.linspace(-2, 2, 12).reshape(3, 4), requires_grad=True)
    loss = dg.nn.functional.smooth_l1_loss(x, dg.zeros(3, 4), beta=0.5)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()  # (the slot was emptied by the first backward)
    np.testing.assert_array_equal(x.grad.numpy(), 2 * first)


def test_slot_of_another_array_is_not_used():
    rng = np.random.default_rng(0)
    d, other = rng.standard_normal((2, 3, 4)) * 2
    g = rng.standard_normal((3, 4))
    scratch = Scratch()
    losses._huber_forward(other, delta=1.0, smooth=False, scratch=scratch)
    assert scratch.value[0] is other
    taken = losses._huber_vjp(ARRAY, g, None, d, delta=1.0, smooth=False, scratch=scratch)[0]
    plain = losses._huber_vjp(ARRAY, g, None, d, delta=1.0, smooth=False)[0]
    np.testing.assert_array_equal(_bits(taken), _bits(plain))
    assert scratch.value is None


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5)).astype(np.float32) * 2
    y = rng.standard_normal((4, 5)).astype(np.float32)
    for name, kwargs in (("huber_loss", {"delta": 0.7}), ("smooth_l1_loss", {"beta": 2.0})):
        xd, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        getattr(dg.nn.functional, name)(xd, dg.tensor(y), **kwargs).backward()
        getattr(torch.nn.functional, name)(xt, torch.tensor(y), **kwargs).backward()
        np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_one_node_as_pytorch():
    x = dg.tensor(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)
    loss = dg.nn.functional.huber_loss(x, dg.zeros(3, 4), delta=0.7, reduction="none")
    assert type(loss.grad_fn).__name__ == "HuberLossBackward0"
    assert [type(f).__name__ if f is not None else None
            for f, _ in loss.grad_fn.next_functions] == ["AccumulateGrad", None]


def test_mixed_float_dtypes_keep_the_one_op():
    # (float64 input, float32 target: the difference first, then the op, as before)
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4)).astype(np.float32)
    xt, yt = dg.tensor(x, requires_grad=True), dg.tensor(y, requires_grad=True)
    loss = dg.nn.functional.huber_loss(xt, yt, delta=0.7, reduction="sum")
    # (the sum is the one named HuberLossBackward0; its next_functions are PyTorch's node's
    # inputs, the input and target: the composite's own inputs are read here)
    assert [type(f).__name__ for f, _ in loss.grad_fn.next_functions] == ["AccumulateGrad"] * 2
    op = loss._inputs[0].grad_fn
    assert type(op).__name__ == "HuberBackward0"
    assert type(op.next_functions[0][0]).__name__ == "SubBackward0"
    loss.backward()
    x2, y2 = dg.tensor(x, requires_grad=True), dg.tensor(y, requires_grad=True)
    apply(OPS["huber"], x2 - y2, delta=0.7, smooth=False).sum().backward()
    for a, b in ((xt.grad, x2.grad), (yt.grad, y2.grad)):
        np.testing.assert_array_equal(_bits(a.numpy()), _bits(b.numpy()))


def test_second_derivative_with_target():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((2, 3, 4)) * 2
    for lib in (dg, torch):
        xt, yt = lib.tensor(x, requires_grad=True), lib.tensor(y, requires_grad=True)
        out = lib.nn.functional.smooth_l1_loss(xt, yt, beta=1.5, reduction="sum")
        gx, gy = lib.autograd.grad(out, (xt, yt), create_graph=True)
        (gx * gx).sum().backward()
        if lib is dg:
            ours = [a.detach().numpy() for a in (gx, gy, xt.grad, yt.grad)]
        else:
            theirs = [a.detach().numpy() for a in (gx, gy, xt.grad, yt.grad)]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss", ["huber_loss", "smooth_l1_loss"])
def test_broadcast_target_same_bits(loss):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((5, 6)) * 2).astype(np.float32)
    y = rng.standard_normal(6).astype(np.float32)
    g = rng.standard_normal((5, 6)).astype(np.float32)
    with pytest.warns(UserWarning, match="target size"):
        new = _run(x, y, g, loss, "none", 0.7, former=False)
    old = _run(x, y, g, loss, "none", 0.7, former=True)
    for a, b in zip(new, old):
        assert a.shape == b.shape
        np.testing.assert_array_equal(_bits(a), _bits(b))
