"""GRUCell's gates as one node (ops/nn.py gru_cell) against PyTorch's GRUCell: values, dtypes and
gradients of the input, the state and every parameter, first and second order."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

DTYPES = {np.float32: (torch.float32, dg.float32, 2e-6), np.float64: (torch.float64, dg.float64,
                                                                    1e-12)}


def _pair(dtype, bias=True, seed=0):
    torch_dtype, dg_dtype, _ = DTYPES[dtype]
    torch.manual_seed(seed)
    theirs = torch.nn.GRUCell(5, 4, bias=bias).to(torch_dtype)
    ours = dg.nn.GRUCell(5, 4, bias=bias, dtype=dg_dtype)
    for name, p in theirs.named_parameters():
        getattr(ours, name).data = dg.tensor(p.detach().numpy().copy())
    return theirs, ours


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_gru_cell_matches_torch(dtype, batched, bias, with_state):
    theirs, ours = _pair(dtype, bias)
    tol = DTYPES[dtype][2]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5) if batched else (5,)).astype(dtype)
    h = rng.standard_normal((3, 4) if batched else (4,)).astype(dtype)
    g = rng.standard_normal(h.shape).astype(dtype)
    xt, xd = torch.tensor(x, requires_grad=True), dg.tensor(x, requires_grad=True)
    ht, hd = torch.tensor(h, requires_grad=True), dg.tensor(h, requires_grad=True)
    yt = theirs(xt, ht if with_state else None)
    yd = ours(xd, hd if with_state else None)
    assert yd.grad_fn.name == "gru_cell" or not batched  # (unbatched: a squeeze after it)
    assert tuple(yd.shape) == tuple(yt.shape) and yd.dtype == DTYPES[dtype][1]
    np.testing.assert_allclose(yd.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    yt.backward(torch.tensor(g))
    yd.backward(dg.tensor(g))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
    if with_state:
        np.testing.assert_allclose(hd.grad.numpy(), ht.grad.numpy(), rtol=tol, atol=tol)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=tol,
                                   atol=tol, err_msg=name)


def test_gru_cell_second_order_matches_torch():
    theirs, ours = _pair(np.float64)
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((2, 5)), rng.standard_normal((2, 4))
    grads = []
    for lib, cell in ((torch, theirs), (dg, ours)):
        xs, hs = lib.tensor(x, requires_grad=True), lib.tensor(h, requires_grad=True)
        y = cell(xs, hs)
        gx, gh = lib.autograd.grad((y * y).sum(), (xs, hs), create_graph=True)
        (gx.sum() + (gh * gh).sum()).backward()
        grads.append((xs.grad.detach().numpy(), hs.grad.detach().numpy(),
                      cell.weight_hh.grad.detach().numpy()))
    for theirs_grad, ours_grad in zip(*grads):
        np.testing.assert_allclose(ours_grad, theirs_grad, rtol=1e-10, atol=1e-12)


def test_gru_cell_mixed_dtypes_keep_the_composed_path_and_torch_error():
    theirs, ours = _pair(np.float32)
    x = np.ones((2, 5), np.float32)
    h = np.ones((2, 4), np.float64)
    with pytest.raises(RuntimeError):
        theirs(torch.tensor(x), torch.tensor(h))
    with pytest.raises(RuntimeError):
        ours(dg.tensor(x), dg.tensor(h))


def test_gru_cell_op_refuses_gates_that_do_not_fit_the_state():
    from deltagrad._engine.ops.nn import GRU_CELL

    with pytest.raises(ValueError, match="gru_cell"):
        GRU_CELL.forward(np.zeros((2, 6)), np.zeros((2, 6)), np.zeros((2, 3)))
