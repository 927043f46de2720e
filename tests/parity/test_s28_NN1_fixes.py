"""Regression tests for the differences that PyTorch's common_nn lists and
autograd_function_db turned up (session 28, NN1), each run on deltagrad and on PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _np(t):
    return np.asarray(t.detach().numpy())


# ---------------------------------------------------------------- nn.Unflatten keeps its size


@pytest.mark.parametrize("size", ["tuple", "list", "Size"])
def test_unflatten_keeps_size_as_given(size):
    for lib in (torch, dg):
        given = {"tuple": (2, 2), "list": [2, 2], "Size": lib.Size([2, 2])}[size]
        m = lib.nn.Unflatten(-1, given)
        assert m.unflattened_size is given
        assert tuple(m(lib.zeros(3, 4)).shape) == (3, 2, 2)
    t_repr = repr(torch.nn.Unflatten(-1, {"tuple": (2, 2), "list": [2, 2],
                                          "Size": torch.Size([2, 2])}[size]))
    d_repr = repr(dg.nn.Unflatten(-1, {"tuple": (2, 2), "list": [2, 2],
                                       "Size": dg.Size([2, 2])}[size]))
    assert d_repr.replace("deltagrad.", "torch.") == t_repr


@pytest.mark.parametrize("bad", ["int", "float_elem", "named"])
def test_unflatten_refuses_what_pytorch_refuses(bad):
    arg = {"int": 4, "float_elem": (2.0, 2), "named": (("a", 2), ("b", 2))}[bad]
    with pytest.raises(TypeError) as t_err:
        torch.nn.Unflatten(1, arg)
    with pytest.raises(TypeError) as d_err:
        dg.nn.Unflatten(1, arg)
    assert str(d_err.value) == str(t_err.value)


# ------------------------------------------ CrossMapLRN2d: no double backward, as in PyTorch


def test_cross_map_lrn2d_create_graph_raises():
    x0 = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    for lib in (torch, dg):
        m = lib.nn.CrossMapLRN2d(3, 1e-3, 0.75, 1)
        x = lib.tensor(x0, requires_grad=True)
        with pytest.raises(RuntimeError):
            lib.autograd.grad(m(x).sum(), x, create_graph=True)
    # first order still agrees
    grads = []
    for lib in (torch, dg):
        x = lib.tensor(x0, requires_grad=True)
        lib.nn.CrossMapLRN2d(3, 1e-3, 0.75, 1)(x).pow(2).sum().backward()
        grads.append(_np(x.grad))
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-10, atol=1e-12)


# ------------------------------- autograd.Function (setup_context form), PyTorch's samples


def _functions(lib):
    class DefaultArgs(lib.autograd.Function):
        @staticmethod
        def forward(x, idx=(2,), scale=1.0):
            return x[idx] * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, idx, scale = inputs  # (the defaults included: PyTorch binds them)
            ctx.x_shape, ctx.idx, ctx.scale = x.shape, idx, scale

        @staticmethod
        def backward(ctx, g):
            out = g.new_zeros(ctx.x_shape)
            out[ctx.idx] = g * ctx.scale
            return out, None, None

    class Sort(lib.autograd.Function):
        @staticmethod
        def forward(x, dim):
            ind = lib.argsort(x, dim=dim)
            return lib.gather(x, dim, ind), ind, lib.argsort(ind, dim=dim)

        @staticmethod
        def setup_context(ctx, inputs, output):
            _, ind, inv = output
            ctx.mark_non_differentiable(ind, inv)
            ctx.save_for_backward(ind, inv)  # (non-differentiable outputs, saved)
            ctx.dim = inputs[1]

        @staticmethod
        def backward(ctx, g, _0, _1):
            ind, inv = ctx.saved_tensors
            return lib.gather(g, ctx.dim, inv) * 2, None

    class Exp_(lib.autograd.Function):
        @staticmethod
        def forward(x):
            x.exp_()
            return x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.mark_dirty(inputs[0])
            ctx.save_for_backward(output)  # (the dirty input returned: its value after)

        @staticmethod
        def backward(ctx, g):
            out, = ctx.saved_tensors
            return g * out

    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(x, y):
            return x * y

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_forward(*inputs)

        @staticmethod
        def jvp(ctx, tx, ty):
            x, y = ctx.saved_tensors  # (in jvp: those given to save_for_forward)
            return tx * y + ty * x

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_forward(inputs[0])

        @staticmethod
        def jvp(ctx, t):
            x, = ctx.saved_tensors
            return Mul.apply(t, 3 * x * x)  # (a Function applied inside a jvp rule)

    return DefaultArgs, Sort, Exp_, Cube


X0 = np.random.default_rng(1).standard_normal((3, 5))


def test_function_forward_defaults_reach_setup_context():
    out = []
    for lib in (torch, dg):
        DefaultArgs = _functions(lib)[0]
        x = lib.tensor(X0, requires_grad=True)
        y = DefaultArgs.apply(x)
        y.sum().backward()
        z = DefaultArgs.apply(x, (1,), 2.0)
        out.append((_np(y), _np(x.grad), _np(z)))
    for a, b in zip(*out):
        np.testing.assert_array_equal(b, a)


def _double(lib, fn, x0, v0):
    x = lib.tensor(x0, requires_grad=True)
    g, = lib.autograd.grad(fn(x), x, lib.ones_like(x), create_graph=True)
    gg, = lib.autograd.grad((g * lib.tensor(v0)).sum(), x, allow_unused=True)
    return _np(g), None if gg is None else _np(gg)


def test_function_saved_non_differentiable_output_double_backward():
    v0 = np.random.default_rng(2).standard_normal((3, 5))
    res = []
    for lib in (torch, dg):
        Sort = _functions(lib)[1]
        res.append(_double(lib, lambda x, Sort=Sort: Sort.apply(x * x, 1)[0], X0, v0))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-12)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-12)


def test_function_mark_dirty_saved_output_double_backward():
    v0 = np.random.default_rng(3).standard_normal((3, 5))
    res = []
    for lib in (torch, dg):
        Exp_ = _functions(lib)[2]
        res.append(_double(lib, lambda x, Exp_=Exp_: Exp_.apply(x.clone()), X0, v0))
    np.testing.assert_allclose(res[1][0], res[0][0], rtol=1e-12)
    np.testing.assert_allclose(res[1][1], res[0][1], rtol=1e-12)  # (was g v x: the old value)


def test_function_applied_inside_jvp_rule_under_dual_level():
    t0 = np.random.default_rng(4).standard_normal((3, 5))
    out = []
    for lib in (torch, dg):
        Cube = _functions(lib)[3]
        fw = lib.autograd.forward_ad
        with fw.dual_level():
            y = Cube.apply(fw.make_dual(lib.tensor(X0), lib.tensor(t0)))
            out.append((_np(fw.unpack_dual(y).primal), _np(fw.unpack_dual(y).tangent)))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-12)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-12)
