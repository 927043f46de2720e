"""Tensor.repeat as one graph node (ops/shape.py's "repeat", s20 SP5): values, dtypes, strides,
gradients, double backward, forward AD, vmap and the node's name against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

# (input shape, repeats, how the input is laid out)
CASES = [
    ((3, 4), (2, 1), "contiguous"),
    ((3, 4), (1, 1), "contiguous"),
    ((3, 4), (2, 3, 1), "contiguous"),
    ((5,), (2, 3), "contiguous"),
    ((), (3,), "contiguous"),
    ((), (), "contiguous"),
    ((), (0, 2), "contiguous"),
    ((0, 3), (2, 2), "contiguous"),
    ((2, 3), (0, 1), "contiguous"),
    ((2, 1, 3), (3, 2, 1), "contiguous"),
    ((4, 3), (2, 2), "transposed"),
    ((4, 6), (1, 2, 3), "sliced"),
    ((1, 3), (1, 1, 1), "contiguous"),
]


def _input(m, shape, layout, dtype="float64", requires_grad=False):
    rng = np.random.default_rng(len(shape) * 7 + sum(shape))
    data = rng.standard_normal(shape).astype(dtype)
    if layout == "transposed":
        data = np.ascontiguousarray(data.T)
    x = m.tensor(data)
    if layout == "transposed":
        x = x.t()
    elif layout == "sliced":
        x = x[:, ::2]
    if requires_grad:
        x = x.detach().requires_grad_()
    return x


@pytest.mark.parametrize("shape, repeats, layout", CASES)
def test_values_strides_and_gradients(shape, repeats, layout):
    results = []
    for m in (dg, torch):
        x = _input(m, shape, layout, requires_grad=True)
        y = x.repeat(*repeats) if repeats else x.repeat(())
        g = m.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)))
        (gx,) = m.autograd.grad(y, x, g)
        results.append((y.detach().numpy().copy(), tuple(y.shape), y.stride(),
                        y.is_contiguous(), gx.numpy().copy(), y.grad_fn.name()))
    (ya, sa, ta, ca, ga, na), (yb, sb, tb, cb, gb, nb) = results
    assert sa == sb and ta == tb and ca == cb and na == nb == "RepeatBackward0"
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "int64", "bool",
                                   "complex64", "uint8"])
def test_dtypes(dtype):
    outs = []
    for m in (dg, torch):
        x = m.tensor([[1.5, -2.0, 0.0], [3.25, 1.0, -1.0]]).to(getattr(m, dtype))
        y = x.repeat(2, 1, 3)
        outs.append((y.dtype, tuple(y.shape), y.to(m.float64).numpy() if dtype != "complex64"
                     else y.numpy()))
    assert str(outs[0][0]).split(".")[-1] == str(outs[1][0]).split(".")[-1]
    assert outs[0][1] == outs[1][1]
    np.testing.assert_array_equal(outs[0][2], outs[1][2])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_gradient_summed_as_pytorch(dtype):
    grads = []
    for m in (dg, torch):
        rng = np.random.default_rng(3)
        x = m.tensor(rng.standard_normal((4, 3)), dtype=getattr(m, dtype), requires_grad=True)
        g = m.tensor(rng.standard_normal((40, 6)), dtype=getattr(m, dtype))
        x.repeat(10, 2).backward(g)
        grads.append((str(x.grad.dtype).split(".")[-1], x.grad.to(m.float64).numpy()))
    assert grads[0][0] == grads[1][0]
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


def test_one_node_and_new_memory():
    x = dg.ones(3, requires_grad=True)
    y = x.repeat(2, 1)
    assert [type(f).__name__ for f, _ in y.grad_fn.next_functions] == ["AccumulateGrad"]
    z = dg.ones(3)
    w = z.repeat(1)  # (no repeat at all: still a copy, as PyTorch's)
    w[0] = 5
    assert z.tolist() == [1.0, 1.0, 1.0]
    assert not np.shares_memory(w.numpy(), z.numpy())


def test_double_backward():
    out = []
    for m in (dg, torch):
        x = m.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
        y = x.repeat(3, 1, 2)
        (g,) = m.autograd.grad((y ** 3).sum(), x, create_graph=True)
        (gg,) = m.autograd.grad((g * g).sum(), x)
        out.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12)


def test_backward_after_inplace_change_of_input():
    # PyTorch's repeat saves only sizes: changing its input afterwards does not refuse backward
    grads = []
    for m in (dg, torch):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = a * 2
        y = x.repeat(2)
        x.add_(1)
        (y * m.arange(6.0)).sum().backward()
        grads.append(a.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_forward_ad_and_vmap():
    rng = np.random.default_rng(5)
    primal, tangent = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    jvps = []
    for m in (dg, torch):
        with m.autograd.forward_ad.dual_level():
            dual = m.autograd.forward_ad.make_dual(m.tensor(primal), m.tensor(tangent))
            out = m.autograd.forward_ad.unpack_dual(dual.repeat(2, 2))
            jvps.append((out.primal.detach().numpy(), out.tangent.numpy()))
    np.testing.assert_allclose(jvps[0][0], jvps[1][0])
    np.testing.assert_allclose(jvps[0][1], jvps[1][1])
    batch = rng.standard_normal((4, 2, 3))
    mapped = [m.func.vmap(lambda t: t.repeat(3, 1, 2))(m.tensor(batch)).numpy()
              for m in (dg, torch)]
    np.testing.assert_array_equal(mapped[0], mapped[1])


@pytest.mark.parametrize("call, error", [
    (lambda m: m.ones(2, 3).repeat(2), RuntimeError),
    (lambda m: m.ones(2).repeat(-1), RuntimeError),
    (lambda m: m.ones(2).repeat(2.5), TypeError),
    (lambda m: m.ones(2).repeat(True), TypeError),
])
def test_errors(call, error):
    for m in (dg, torch):
        with pytest.raises(error):
            call(m)


def test_tensor_sizes_and_list():
    for reps in ([2, 1], (2, 1)):
        a = dg.arange(6).reshape(2, 3).repeat(reps)
        b = torch.arange(6).reshape(2, 3).repeat(reps)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    a = dg.arange(3).repeat(dg.tensor(2), 2)
    b = torch.arange(3).repeat(torch.tensor(2), 2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
