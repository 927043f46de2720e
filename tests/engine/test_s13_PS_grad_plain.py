"""grad() through the plain sweep (graph_walks._count_for_grad): the same bits as backward() and
as the watched sweep, and PyTorch's semantics where the graph leaves the plain path."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _leaves(lib, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((4, 5), (5,), (5, 3), (4, 1))]
    return [lib.tensor(a, requires_grad=True) for a in arrays]


def _model(lib, x, b, w, c, hook=None):
    h = x * b - c          # broadcasts: b's and c's gradients are summed back
    h = lib.tanh(h) + h    # fan-out
    if hook is not None:
        h.register_hook(hook)
    z = (h @ w).reshape(-1)
    return (z * z).sum() - (h / 3).mean()


def _bits(tensors):
    return [np.asarray(t.detach().numpy()).tobytes() for t in tensors]


def test_grad_same_bits_as_backward_and_as_the_watched_sweep():
    leaves = _leaves(dg)
    plain = dg.autograd.grad(_model(dg, *leaves), leaves)
    out = _model(dg, *leaves)
    out.backward()
    assert _bits(plain) == _bits([x.grad for x in leaves])
    # A hook on an intermediate takes the watched sweep (identity hook: same numbers).
    watched = dg.autograd.grad(_model(dg, *leaves, hook=lambda g: g), leaves)
    assert _bits(plain) == _bits(watched)
    tl = _leaves(torch)
    want = torch.autograd.grad(_model(torch, *tl), tl)
    for got, ref in zip(plain, want):
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lib", [dg, torch], ids=["deltagrad", "torch"])
def test_grad_of_some_leaves_leaves_the_rest_of_the_graph(lib):
    # Only nodes on a path to a requested input run: y's product keeps its saved input, so a
    # later backward through it works (in both libraries).
    x, y = (lib.tensor([1.0, 2.0], requires_grad=True), lib.tensor([3.0, 4.0], requires_grad=True))
    b = y * y
    out = (x * 2 + b).sum()
    (gx,) = lib.autograd.grad(out, [x])
    assert gx.tolist() == [2.0, 2.0]
    b.sum().backward()
    assert y.grad.tolist() == [6.0, 8.0]
    assert x.grad is None


@pytest.mark.parametrize("lib", [dg, torch], ids=["deltagrad", "torch"])
def test_grad_cases_off_the_plain_path(lib):
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    u = lib.tensor([1.0, 1.0, 1.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    out = (h * h).sum()
    gx, gh, gu = lib.autograd.grad(out, [x, h, u], allow_unused=True)
    assert gx.tolist() == [18.0, -36.0, 54.0] and gh.tolist() == [6.0, -12.0, 18.0]
    assert gu is None and x.grad is None  # grad() fills no leaf's .grad ...
    assert h.grad.tolist() == [6.0, -12.0, 18.0]  # ... but a retained one (PyTorch 2.13)
    # a hook on a leaf runs in grad(); an input listed twice gets its gradient twice
    x.register_hook(lambda g: g * 10)
    g1, g2 = lib.autograd.grad((x * x).sum(), [x, x])
    assert g1.tolist() == g2.tolist() == [20.0, -40.0, 60.0]
    # the graph is freed after a grad() without retain_graph
    out = (x * x).sum()
    lib.autograd.grad(out, [x])
    with pytest.raises(RuntimeError):
        lib.autograd.grad(out, [x])


def test_grad_of_a_leaf_root_and_of_several_roots():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = dg.autograd.grad([x], [x], [dg.tensor([5.0, 6.0])])
    assert g.tolist() == [5.0, 6.0]
    y = x * 2
    g1, = dg.autograd.grad([y, x * x], [x], [dg.ones(2), dg.ones(2)])
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    (t1,) = torch.autograd.grad([tx * 2, tx * tx], [tx], [torch.ones(2), torch.ones(2)])
    assert g1.tolist() == t1.tolist()
    # the returned gradient is the caller's own: writing to it changes nothing else
    g1.add_(1.0)
    (again,) = dg.autograd.grad((x * 2).sum(), [x])
    assert again.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("lib", [dg, torch], ids=["deltagrad", "torch"])
def test_a_retained_grad_accumulates_as_pytorch_s(lib):
    # (deltagrad kept only the last gradient, and grad() left it alone: s13 PS)
    x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    out = (h * h).sum()
    out.backward(retain_graph=True)
    first = h.grad
    out.backward(retain_graph=True)
    assert h.grad.tolist() == [12.0, -24.0, 36.0]
    assert first.tolist() == [6.0, -12.0, 18.0]  # out of place: the old .grad is unchanged
    lib.autograd.grad(out, [x], retain_graph=True)
    assert h.grad.tolist() == [18.0, -36.0, 54.0]
    h.grad = None
    (gh,) = lib.autograd.grad(out, [h], create_graph=True)
    assert h.grad.tolist() == [6.0, -12.0, 18.0] and h.grad.requires_grad
