"""Session 6 fast paths of small ops, against PyTorch: layer_norm's small path keeps its row
statistics from forward to VJP (ops/normalization.py), binary_cross_entropy reduces inside its
op (ops/losses.py). Values, gradients (first and second order), dtypes and node names."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _pair(array, requires_grad=True):
    return (dg.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _close(ours, theirs, rtol=1e-6, atol=1e-7):
    assert ours is not None and theirs is not None
    ours = ours.detach().numpy() if hasattr(ours, "detach") else ours
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_small_keeps_stats_and_matches_torch(dtype, affine):
    rng = np.random.default_rng(1)
    x, tx = _pair(rng.standard_normal((3, 4)).astype(dtype))
    w, tw = _pair(rng.standard_normal(4).astype(dtype)) if affine in ("both", "weight") else (
        None, None)
    b, tb = _pair(rng.standard_normal(4).astype(dtype)) if affine in ("both", "bias") else (
        None, None)
    g = rng.standard_normal((3, 4)).astype(dtype)
    y = dg.nn.functional.layer_norm(x, (4,), w, b)
    ty = torch.nn.functional.layer_norm(tx, (4,), tw, tb)
    _close(y, ty, rtol=1e-5, atol=1e-6)
    # Twice (retain_graph): the second VJP computes the statistics again (the first took them).
    for _ in range(2):
        y.backward(dg.tensor(g), retain_graph=True)
        ty.backward(torch.tensor(g), retain_graph=True)
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        if ours is not None:
            _close(ours.grad, theirs.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 4)])
def test_binary_cross_entropy_reduced_in_one_node(dtype, reduction, shape):
    rng = np.random.default_rng(3)
    x, tx = _pair(rng.uniform(0.02, 0.98, shape).astype(dtype))
    y, ty = _pair(rng.uniform(0.0, 1.0, shape).astype(dtype))
    loss = dg.nn.functional.binary_cross_entropy(x, y, reduction=reduction)
    tloss = torch.nn.functional.binary_cross_entropy(tx, ty, reduction=reduction)
    _close(loss, tloss, rtol=1e-6)
    assert loss.grad_fn.name() == tloss.grad_fn.name() == "BinaryCrossEntropyBackward0"
    gx, gy = dg.autograd.grad(loss, (x, y), create_graph=True)
    tgx, tgy = torch.autograd.grad(tloss, (tx, ty), create_graph=True)
    _close(gx, tgx, rtol=1e-5)
    _close(gy, tgy, rtol=1e-5, atol=1e-6)
    # Second order through the rule written with ops.
    (hx,) = dg.autograd.grad((gx * gx).sum(), (x,))
    (thx,) = torch.autograd.grad((tgx * tgx).sum(), (tx,))
    _close(hx, thx, rtol=1e-4, atol=1e-6)


def test_binary_cross_entropy_edges_keep_their_paths():
    # float16, weights, empty inputs and out-of-range probabilities: as PyTorch.
    x, tx = _pair(np.array([0.25, 0.5, 1.0], dtype=np.float16))
    y, ty = _pair(np.array([1.0, 0.0, 0.0], dtype=np.float16), requires_grad=False)
    _close(dg.nn.functional.binary_cross_entropy(x, y),
           torch.nn.functional.binary_cross_entropy(tx, ty), rtol=1e-3)
    w = np.array([0.5, 2.0, 1.0], dtype=np.float16)
    _close(dg.nn.functional.binary_cross_entropy(x, y, weight=dg.tensor(w), reduction="sum"),
           torch.nn.functional.binary_cross_entropy(tx, ty, weight=torch.tensor(w),
                                                    reduction="sum"), rtol=1e-3)
    e, te = _pair(np.zeros(0))
    ours = dg.nn.functional.binary_cross_entropy(e, e.detach())
    theirs = torch.nn.functional.binary_cross_entropy(te, te.detach())
    assert np.isnan(ours.item()) and np.isnan(theirs.item())
    with pytest.raises(RuntimeError):
        dg.nn.functional.binary_cross_entropy(dg.tensor([1.5]), dg.tensor([1.0]))
    with pytest.raises(RuntimeError):
        torch.nn.functional.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0]))


@pytest.mark.parametrize("wanted", ["x", "weight", "bias", "weight and bias"])
def test_layer_norm_small_some_inputs_want_gradients(wanted):
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(shape) for shape in ((2, 3, 4), (3, 4), (3, 4))]
    ours = [dg.tensor(a, requires_grad=name in wanted) for a, name in
            zip(arrays, ("x", "weight", "bias"))]
    theirs = [torch.tensor(a, requires_grad=name in wanted) for a, name in
              zip(arrays, ("x", "weight", "bias"))]
    g = rng.standard_normal((2, 3, 4))
    dg.nn.functional.layer_norm(ours[0], (3, 4), ours[1], ours[2]).backward(dg.tensor(g))
    torch.nn.functional.layer_norm(theirs[0], (3, 4), theirs[1], theirs[2]).backward(
        torch.tensor(g))
    for a, b in zip(ours, theirs):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            _close(a.grad, b.grad, rtol=1e-6, atol=1e-9)
