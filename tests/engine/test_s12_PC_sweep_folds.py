"""Session 12 (PC): the plain sweep's folded subtraction and addition, permute's cached inverse,
mean's direct forward and ``@``'s direct path, each against PyTorch and against the engine's
general path (the watched sweep runs every rule as written, so its gradients are the reference
bit for bit)."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import ARRAY, OPS

torch = pytest.importorskip("torch")

RNG_SEED = 1234


def _pair(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(RNG_SEED + seed)
    value = rng.standard_normal(shape).astype(dtype)
    return (dg.from_numpy(value.copy()).requires_grad_(True),
            torch.from_numpy(value.copy()).requires_grad_(True))


def _eager_and_watched(build, leaves):
    """The leaves' gradients from ``loss.backward()`` (the plain sweep) and from
    ``dg.autograd.grad`` (the watched sweep, which calls every rule)."""
    loss = build()
    watched = dg.autograd.grad(loss, leaves, retain_graph=True, allow_unused=True)
    for leaf in leaves:
        leaf.grad = None
    loss.backward()
    return [leaf.grad for leaf in leaves], watched


# (x shape, y shape): same shape, broadcast rows, columns, a scalar, a 0-d tensor, a leading dim.
SHAPES = [((4, 5), (4, 5)), ((4, 5), (5,)), ((4, 5), (4, 1)), ((4, 5), ()), ((3, 4, 5), (4, 5)),
          ((1, 5), (4, 1))]


@pytest.mark.parametrize("op", ["sub", "add", "mul"])
@pytest.mark.parametrize("shapes", SHAPES)
def test_subtraction_and_addition_gradients_match_torch_and_the_rules(op, shapes):
    (x, tx), (y, ty) = _pair(shapes[0]), _pair(shapes[1], seed=1)
    (w, tw) = _pair(shapes[1], seed=2)

    def build(lib_x, lib_y, lib_w):
        # y reaches the loss twice (through the op and a product): its gradients accumulate.
        z = {"sub": lib_x - lib_y, "add": lib_x + lib_y, "mul": lib_x * lib_y}[op]
        return (z * z).sum() + (lib_y * lib_w).sum()

    eager, watched = _eager_and_watched(lambda: build(x, y, w), [x, y, w])
    build(tx, ty, tw).backward()
    for got, reference, want in zip(eager, watched, (tx.grad, ty.grad, tw.grad)):
        assert got.shape == tuple(want.shape) and got.dtype == dg.float32
        np.testing.assert_array_equal(got.numpy(), reference.numpy())
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_subtracting_a_tensor_from_itself_gives_zero_gradient():
    x, tx = _pair((3, 4))
    (x - x).sum().backward()
    (tx - tx).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(np.signbit(x.grad.numpy()), np.signbit(tx.grad.numpy()))


def test_subtraction_whose_subtrahend_needs_no_gradient_leaves_the_next_node_alone():
    # A sub node whose second input needs no gradient must not negate the next node's.
    # The sweep visits the sub, then the product made before it, whose second input (w)
    # needs its gradient as it is.
    (x, tx), (w, tw) = _pair((3, 4)), _pair((3, 4), seed=1)
    ((x * w) - dg.ones(3, 4)).sum().backward()
    ((tx * tw) - torch.ones(3, 4)).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), tw.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_mixed_dtype_subtraction_casts_the_gradient_of_each_input():
    (x, tx), (y, ty) = _pair((3, 4)), _pair((4,), np.float64, seed=1)
    (x - y).square().sum().backward()
    (tx - ty).square().sum().backward()
    assert y.grad.dtype == dg.float64 and x.grad.dtype == dg.float32
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_a_hook_on_a_subtraction_and_a_retained_gradient_see_the_upstream_gradient():
    (x, tx), (y, ty) = _pair((3, 4)), _pair((3, 4), seed=1)
    seen = {}
    for lib, a, b in ((dg, x, y), (torch, tx, ty)):
        z = a - b
        z.retain_grad()
        z.register_hook(lambda g: g * 3.0)
        (z * z).sum().backward()
        seen[lib.__name__] = z.grad.numpy()
    np.testing.assert_allclose(seen["deltagrad"], seen["torch"], rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_capture_step_replays_a_subtraction_chain_bit_for_bit():
    (a, _), (c, _) = _pair((4, 4)), _pair((4,), seed=1)
    x = dg.from_numpy(np.random.default_rng(RNG_SEED).standard_normal((4, 4)).astype(np.float32))

    def loss(inputs):
        h = inputs
        for _ in range(3):
            h = (h * a - c).tanh() - h.mean(dim=1, keepdim=True)
        return h.sum()

    loss(x).backward()
    eager = (a.grad.numpy().copy(), c.grad.numpy().copy())
    a.grad = c.grad = None
    step = dg.capture_step(loss)
    for _ in range(2):
        a.grad = c.grad = None
        step(x)
    np.testing.assert_array_equal(a.grad.numpy(), eager[0])
    np.testing.assert_array_equal(c.grad.numpy(), eager[1])


@pytest.mark.parametrize("dims", [(0, 2, 1), (2, 0, 1), (1, 2, 0)])
def test_permute_gradient_matches_torch(dims):
    x, tx = _pair((2, 3, 4))
    w, tw = _pair(tuple(np.array((2, 3, 4))[list(dims)]), seed=1)
    (x.permute(*dims) * w).sum().backward()
    (tx.permute(*dims) * tw).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_permute_rule_takes_dims_as_a_list_too():
    g = np.arange(24.0).reshape(4, 2, 3)
    x = np.zeros((2, 3, 4))
    (by_tuple,) = OPS["permute"].vjp(ARRAY, g, None, x, dims=(2, 0, 1))
    (by_list,) = OPS["permute"].vjp(ARRAY, g, None, x, dims=[2, 0, 1])
    np.testing.assert_array_equal(by_tuple, by_list)
    np.testing.assert_array_equal(by_tuple, g.transpose(1, 2, 0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False), (-1, True)])
@pytest.mark.parametrize("transposed", [False, True])
def test_mean_over_one_dim_matches_torch_and_numpy(dtype, dim, keepdim, transposed):
    leaf, tleaf = _pair((5, 6), dtype)
    x, tx = leaf, tleaf
    if transposed:  # (a non-contiguous input takes the general path)
        x, tx = x.t(), tx.t()
    got = x.mean(dim=dim, keepdim=keepdim)
    want = tx.mean(dim=dim, keepdim=keepdim)
    assert got.shape == tuple(want.shape) and str(got.dtype) == str(want.dtype).replace(
        "torch", "deltagrad")
    assert got._data.flags.c_contiguous
    rtol = 1e-3 if dtype == np.float16 else 1e-6
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol,
                               atol=rtol)
    # NumPy's mean in float64, as the reference for float32 (the fast path's sum order is
    # BLAS's, so bits may differ from np.mean's pairwise sum).
    reference = np.mean(x.detach().numpy().astype(np.float64), axis=dim, keepdims=keepdim)
    np.testing.assert_allclose(got.detach().numpy(), reference, rtol=rtol, atol=rtol)
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), tleaf.grad.numpy(), rtol=rtol)


def test_mean_of_an_empty_dim_is_nan_as_in_torch():
    got = dg.zeros(0, 3).mean(dim=0)
    want = torch.zeros(0, 3).mean(dim=0)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    got = dg.zeros(3, 0).mean(dim=1)
    np.testing.assert_array_equal(got.numpy(), torch.zeros(3, 0).mean(dim=1).numpy())


def test_matmul_operator_keeps_matmuls_checks_and_subclasses():
    x, tx = _pair((3, 4))
    y, ty = _pair((4, 2), seed=1)
    np.testing.assert_allclose((x @ y).detach().numpy(), (tx @ ty).detach().numpy(), rtol=1e-6)
    v, tv = _pair((4,), seed=2)
    np.testing.assert_allclose((x @ v).detach().numpy(), (tx @ tv).detach().numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError):  # (one dtype only, as PyTorch)
        torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError):
        dg.ones(2, 2) @ dg.ones(2, 2, dtype=dg.float64)

    class Tagged(dg.Tensor):
        pass

    s = dg.ones(2, 2).as_subclass(Tagged)
    assert type(s @ dg.ones(2, 2)) is Tagged
    assert type(dg.ones(2, 2) @ s) is Tagged


@pytest.mark.parametrize("size", [5, 300])
@pytest.mark.parametrize("dim", [0, -1])
def test_mean_of_a_vector_over_its_dim_is_0d_as_in_torch(size, dim):
    x, tx = _pair((size,))
    got, want = x.mean(dim), tx.mean(dim)
    assert got.shape == () and got.dtype == dg.float32
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-5, atol=1e-6)
    kept = x.mean(dim, keepdim=True)
    assert kept.shape == (1,)
    got.backward()
    want.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_mean_over_a_middle_dim_of_a_small_3d_input():
    x, tx = _pair((2, 3, 4))
    for keepdim in (False, True):
        got, want = x.mean(1, keepdim=keepdim), tx.mean(1, keepdim=keepdim)
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)


def test_softmax_gradient_matches_torch_over_either_dim_and_float64():
    for dtype in (np.float32, np.float64):
        for dim in (0, 1, -1):
            x, tx = _pair((6, 5), dtype)
            w, tw = _pair((6, 5), dtype, seed=1)
            (dg.softmax(x, dim) * w).sum().backward()
            (torch.softmax(tx, dim) * tw).sum().backward()
            rtol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("view", [
    lambda t: t.reshape(4, 2, 3), lambda t: t.view(-1), lambda t: t.flatten(),
    lambda t: t.unsqueeze(1), lambda t: t.reshape(2, 3, 4).transpose(1, 2).reshape(4, 6)])
def test_reshape_family_gradients_match_torch_and_the_rule(view):
    (x, tx), (w, tw) = _pair((4, 6)), _pair((4, 6), seed=1)

    def build(a, b):
        return (view(a) * view(b)).sum() + (view(a) * 2.0).sum()  # x reaches reshape twice

    eager, watched = _eager_and_watched(lambda: build(x, w), [x, w])
    build(tx, tw).backward()
    for got, reference, want in zip(eager, watched, (tx.grad, tw.grad)):
        np.testing.assert_array_equal(got.numpy(), reference.numpy())
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_products_with_a_constant_or_with_itself_match_torch_and_the_rule():
    (x, tx), (w, tw) = _pair((3, 4)), _pair((4,), seed=1)

    def build(lib, a, b):
        c = lib.ones(3, 4) * 0.5  # needs no gradient: only one product is made for it
        return ((a * c) * (a * a) * b + c * b).sum()

    eager, watched = _eager_and_watched(lambda: build(dg, x, w), [x, w])
    build(torch, tx, tw).backward()
    for got, reference, want in zip(eager, watched, (tx.grad, tw.grad)):
        np.testing.assert_array_equal(got.numpy(), reference.numpy())
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


@pytest.mark.parametrize("shape,dim", [((8, 8), 1), ((8, 8), 0), ((2, 3, 4), -1), ((2, 3, 4), 1),
                                       ((5,), 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_small_path_matches_torch(shape, dim, dtype):
    (x, tx), (w, tw) = _pair(shape, dtype), _pair(shape, dtype, seed=1)
    got, want = dg.log_softmax(x, dim), torch.log_softmax(tx, dim)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=rtol, atol=rtol)
    (got * w).sum().backward()
    (want * tw).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=rtol)


def test_log_softmax_of_rows_with_infinities_as_torch():
    value = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0]],
                     np.float32)
    got = dg.log_softmax(dg.from_numpy(value.copy()), 1).numpy()
    want = torch.log_softmax(torch.from_numpy(value.copy()), 1).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)], rtol=1e-6)


def test_capture_step_replays_a_model_shaped_chain_bit_for_bit():
    # W2-model's block (benchmarks/w2_model.py): every fold and fast path above in one step.
    rng = np.random.default_rng(RNG_SEED)
    leaves = {name: dg.from_numpy(rng.standard_normal(shape).astype(np.float32))
              .requires_grad_(True)
              for name, shape in (("E", (16, 8)), ("W", (8, 8)), ("b", (8,)), ("s", (8,)),
                                  ("t", (8,)))}
    ids = dg.from_numpy(rng.integers(0, 16, 8))
    targets = dg.from_numpy(rng.integers(0, 8, (8, 1)))
    F = dg.nn.functional

    def loss():
        h = leaves["E"][ids]
        for _ in range(3):
            z = (h @ leaves["W"] + leaves["b"]).tanh()
            z = (z - z.mean(dim=1, keepdim=True)) * leaves["s"] + leaves["t"]
            h = h + F.softmax(z, dim=1) * z
            h = h.reshape(8, 2, 4).transpose(1, 2).reshape(8, 8)
        return -F.log_softmax(h, dim=1).gather(1, targets).mean()

    loss().backward()
    eager = {name: leaf.grad.numpy().copy() for name, leaf in leaves.items()}
    step = dg.capture_step(loss)
    for _ in range(3):  # record, then replays
        for leaf in leaves.values():
            leaf.grad = None
        step()
        for name, leaf in leaves.items():
            np.testing.assert_array_equal(leaf.grad.numpy(), eager[name])
