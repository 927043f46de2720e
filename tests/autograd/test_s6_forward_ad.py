"""Session 6: deltagrad.autograd.forward_ad (dual_level, make_dual, unpack_dual) against
PyTorch's forward-mode AD."""

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.autograd.forward_ad as fwAD

torch = pytest.importorskip("torch")
tfwAD = torch.autograd.forward_ad

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(4, 5))
V = RNG.normal(size=(3, 4))
W = RNG.normal(size=(4, 5))
TARGET = np.array([1, 0, 3])

# (name, f(m, x, y)) with x (3, 4) and y (4, 5) both dual
CASES = [
    ("elementwise", lambda m, x, y: (x.sin() * x.exp() + x.tanh() / (1 + x * x)).pow(2)),
    ("log_sqrt_abs", lambda m, x, y: (x.abs() + 1).log() + (x * x + 1).sqrt()),
    ("matmul", lambda m, x, y: x @ y),
    ("broadcast", lambda m, x, y: x[:, :1] * y[0] - y.mean(0)),
    ("sum_mean", lambda m, x, y: x.sum(1) + x.mean(0).sum() + (x @ y).sum()),
    ("max_logsumexp", lambda m, x, y: x.max(1).values + x.logsumexp(1) + x.var(1)),
    ("relu_gelu_sigmoid", lambda m, x, y: m.nn.functional.relu(x) + m.nn.functional.gelu(x)
     + m.sigmoid(x)),
    ("softmax", lambda m, x, y: m.nn.functional.softmax(x @ y, dim=-1)
     + m.nn.functional.log_softmax(x @ y, dim=0)),
    ("layer_norm", lambda m, x, y: m.nn.functional.layer_norm(x, (4,))),
    ("linear", lambda m, x, y: m.nn.functional.linear(x, y.T)),
    ("mse_loss", lambda m, x, y: m.nn.functional.mse_loss(x @ y, (x @ y).detach() * 0.5)),
    ("cross_entropy", lambda m, x, y: m.nn.functional.cross_entropy(
        x @ y, m.tensor(TARGET))),
    ("shape_ops", lambda m, x, y: m.cat([x.T.reshape(2, 6), x.reshape(2, 6)], 0)
     .permute(1, 0).unsqueeze(0)[..., 1:]),
]


def _ours(fn):
    with fwAD.dual_level():
        x = fwAD.make_dual(dg.tensor(A), dg.tensor(V))
        y = fwAD.make_dual(dg.tensor(B), dg.tensor(W))
        out = fn(dg, x, y)
        primal, tangent = fwAD.unpack_dual(out)
    return primal, tangent


def _theirs(fn):
    with tfwAD.dual_level():
        x = tfwAD.make_dual(torch.tensor(A), torch.tensor(V))
        y = tfwAD.make_dual(torch.tensor(B), torch.tensor(W))
        primal, tangent = tfwAD.unpack_dual(fn(torch, x, y))
    return primal, tangent


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_jvp_matches_torch(name, fn):
    primal, tangent = _ours(fn)
    t_primal, t_tangent = _theirs(fn)
    np.testing.assert_allclose(primal.detach().numpy(), t_primal.detach().numpy(), rtol=1e-10)
    assert tangent is not None and tangent.dtype == dg.float64
    assert tuple(tangent.shape) == tuple(t_tangent.shape)
    np.testing.assert_allclose(tangent.numpy(), t_tangent.numpy(), rtol=1e-9, atol=1e-12)


def test_float32_and_requires_grad_primal():
    x_np = RNG.normal(size=(2, 5)).astype(np.float32)
    w_np = RNG.normal(size=(3, 5)).astype(np.float32)
    v_np = RNG.normal(size=x_np.shape).astype(np.float32)
    weight = dg.tensor(w_np, requires_grad=True)
    with fwAD.dual_level():
        x = fwAD.make_dual(dg.tensor(x_np), dg.tensor(v_np))
        out = dg.nn.functional.linear(x, weight).tanh()
        tangent = fwAD.unpack_dual(out).tangent
        out.sum().backward()  # (the graph still serves a backward)
    with tfwAD.dual_level():
        tx = tfwAD.make_dual(torch.tensor(x_np), torch.tensor(v_np))
        t_tangent = tfwAD.unpack_dual(torch.nn.functional.linear(
            tx, torch.tensor(w_np)).tanh()).tangent
    assert tangent.dtype == dg.float32
    # (the tangent depends on weight, which requires grad: it keeps a graph, as PyTorch's)
    assert tangent.requires_grad
    np.testing.assert_allclose(tangent.detach().numpy(), t_tangent.numpy(), rtol=1e-5,
                               atol=1e-6)
    assert weight.grad is not None
    # a primal that requires grad keeps its link: backward reaches it through the dual
    leaf = dg.tensor([1.0, 2.0], requires_grad=True)
    with fwAD.dual_level():
        dual = fwAD.make_dual(leaf, dg.tensor([1.0, -1.0]))
        out = (dual * dual).sum()
        assert float(fwAD.unpack_dual(out).tangent) == pytest.approx(2.0 - 4.0)
        out.backward()
    np.testing.assert_allclose(leaf.grad.numpy(), [2.0, 4.0])


def test_unpack_edges():
    x = dg.tensor([1.0, 2.0])
    assert fwAD.unpack_dual(x).tangent is None  # (outside a level)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, dg.tensor([0.5, 0.25]))
        primal, tangent = fwAD.unpack_dual(dual)
        np.testing.assert_allclose(tangent.numpy(), [0.5, 0.25])
        assert not primal.requires_grad and fwAD.unpack_dual(primal).tangent is None
        assert fwAD.unpack_dual(x * 2).tangent is None  # (independent of any dual)
        assert fwAD.unpack_dual(dg.ones(2)).tangent is None
        unpacked = fwAD.unpack_dual(dual * 3)
        assert type(unpacked).__name__ == "UnpackedDualTensor"
        np.testing.assert_allclose(unpacked.tangent.numpy(), [1.5, 0.75])
        kept = dual * 3
    assert fwAD.unpack_dual(kept).tangent is None  # (the level has ended)


def test_errors():
    x = dg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(x, dg.ones(2))
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="different size"):
            fwAD.make_dual(x, dg.ones(3))
        with pytest.raises(RuntimeError, match="Nested"):
            fwAD.enter_dual_level()
        dual = fwAD.make_dual(x, dg.ones(2))

        class Square(dg.autograd.Function):
            @staticmethod
            def forward(ctx, value):
                ctx.save_for_backward(value)
                return value * value

            @staticmethod
            def backward(ctx, grad):
                (value,) = ctx.saved_tensors
                return 2 * value * grad

        with pytest.raises(NotImplementedError, match="must implement the jvp"):
            Square.apply(dual)  # (PyTorch's error, where PyTorch raises it: at apply)
        image = fwAD.make_dual(dg.ones(1, 1, 3, 3), dg.ones(1, 1, 3, 3))
        # (grid_sample: its gradient is computed in NumPy; conv2d has forward AD since s15 HG)
        with pytest.raises(NotImplementedError, match="_GridSample"):
            fwAD.unpack_dual(dg.nn.functional.grid_sample(image, dg.zeros(1, 2, 2, 2),
                                                          align_corners=False))
        with dg.no_grad():  # (raised NotImplementedError until s30 BR25; PyTorch's tangent)
            out = dual * 2
            assert fwAD.unpack_dual(out).tangent.tolist() == [2.0, 2.0]
