"""Session 18's per-op speed paths give PyTorch's values, dtypes, layouts and gradients: stack's
one-copy forward (np.array of the inputs, the new axis moved into place) and nll_loss's 0-d
coefficient with the take / put methods (the same bits as before, and as PyTorch's); training
batch_norm on [N, C] (the fused node's cases a proposed patch changes) against PyTorch."""

import numpy as np
import pytest
from s19_capture_replay import assert_replay_matches_eager

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine.ops.registry import c_order
from deltagrad._engine.ops.shape import _stack_forward

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(18)
SHAPES = [(), (3,), (2, 3), (2, 1, 3), (0, 3), (2, 3, 4, 5)]
DTYPES = [np.float32, np.float64, np.int64, np.bool_, np.complex64, np.uint8]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_stack_forward_is_np_stack_bit_for_bit(shape):
    # Every dim, dtype and count, from C- and Fortran-ordered inputs: the same bytes, dtype,
    # shape and strides as np.stack made C-ordered (what the forward returned before), in a
    # fresh array.
    for dtype in DTYPES:
        for count in (1, 2, 3):
            xs = [(RNG.standard_normal(shape) * 3).astype(dtype) for _ in range(count)]
            if len(shape) >= 2:
                xs[0] = np.asfortranarray(xs[0])
            for dim in range(len(shape) + 1):
                got, want = _stack_forward(*xs, dim=dim), c_order(np.stack(xs, axis=dim))
                assert (got.dtype, got.shape, got.strides) == (want.dtype, want.shape,
                                                               want.strides)
                assert got.tobytes() == want.tobytes()
                assert got.flags.owndata and not any(np.shares_memory(got, x) for x in xs)


def test_stack_forward_other_inputs_keep_np_stack():
    # Mixed dtypes promote and mismatched shapes raise, as np.stack does.
    got = _stack_forward(np.ones(2, np.float32), np.ones(2, np.float64), dim=0)
    assert got.dtype == np.float64
    with pytest.raises(ValueError):
        _stack_forward(np.ones(2), np.ones(3), dim=0)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack_matches_torch(dim):
    arrays = [RNG.standard_normal((2, 3)).astype(np.float32) for _ in range(3)]
    xs = [dg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = dg.stack(xs, dim=dim), torch.stack(ts, dim=dim)
    assert out.shape == tuple(ref.shape) and out.stride() == ref.stride()
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    g = RNG.standard_normal(tuple(ref.shape)).astype(np.float32)
    out.backward(dg.tensor(g))
    ref.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 3), (5,), (2, 3, 2)], ids=str)
def test_nll_loss_values_and_gradients_are_torchs_bits(shape, reduction):
    # Every weight 1: -1 / n (or -1) is one number either way, so PyTorch's gradient bits too.
    for dtype in (np.float32, np.float64):
        xs = RNG.standard_normal(shape).astype(dtype)
        classes = shape[1] if len(shape) > 1 else shape[0]
        ts = RNG.integers(0, classes, shape[:1] + shape[2:] if len(shape) > 1 else ())
        x, xt = dg.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
        loss = F.nll_loss(x, dg.tensor(ts), reduction=reduction)
        ref = torch.nn.functional.nll_loss(xt, torch.tensor(ts), reduction=reduction)
        assert loss.shape == tuple(ref.shape) and loss.dtype == x.dtype
        np.testing.assert_allclose(loss.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
        g = RNG.standard_normal(loss.shape).astype(dtype)
        loss.backward(dg.tensor(g))
        ref.backward(torch.tensor(g))
        np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_nll_loss_capture_replay_is_eager_bit_for_bit():
    # capture_step replays the op with new targets (the forward's coefficient is not reused
    # across arrays): each replayed step is the eager step's bits.
    w = dg.tensor(RNG.standard_normal((3, 5)).astype(np.float32), requires_grad=True)

    def loss_fn(inputs, targets):
        return F.nll_loss(F.log_softmax(inputs @ w.T, dim=1), targets)

    assert_replay_matches_eager(loss_fn, w, RNG, steps=3)


@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3)], ids=str)
def test_training_batch_norm_matches_torch_to_double_backward(shape):
    # The fused training node on [N, C] and [N, C, L] (the lead's patch SP_batch_norm_2d takes
    # [N, C] into the node without reshapes): values, first and second derivatives and the
    # running statistics as PyTorch's.
    xa, wa, ba = (RNG.standard_normal(s) for s in (shape, shape[1], shape[1]))
    results = []
    for m in (dg, torch):
        x, w, b = (m.tensor(a, requires_grad=True) for a in (xa, wa, ba))
        rm, rv = m.zeros(shape[1], dtype=m.float64), m.ones(shape[1], dtype=m.float64)
        y = m.nn.functional.batch_norm(x, rm, rv, w, b, training=True)
        (g,) = m.autograd.grad((y * y.sin()).sum(), x, create_graph=True)
        gx, gw = m.autograd.grad(g.sum(), (x, w))
        results.append([t.detach().numpy() for t in (y, g, gx, gw, rm, rv)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


def test_training_batch_norm_2d_is_the_3d_bits():
    # [N, C] and the same values as [N, C, 1]: one computation, the same bits.
    xa = RNG.standard_normal((6, 4)).astype(np.float32)
    outs = []
    for arr in (xa, xa[:, :, None]):
        x = dg.tensor(arr, requires_grad=True)
        w = dg.tensor(np.linspace(0.5, 2, 4, dtype=np.float32), requires_grad=True)
        y = F.batch_norm(x, None, None, w, None, training=True)
        y.backward(dg.tensor(np.cos(arr)))
        outs.append([t.reshape(-1).tobytes() for t in (y.detach().numpy(), x.grad.numpy(),
                                                       w.grad.numpy())])
    assert outs[0] == outs[1]
