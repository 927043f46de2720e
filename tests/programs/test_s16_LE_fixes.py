"""Regression tests for what running xitorch's, tensorly's and opacus's own suites under the
alias found (LE, session 16), each differential against PyTorch."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _saved_flags(m):
    """requires_grad of each tensor ``backward`` unpacks from ``ctx.saved_tensors``: a saved
    output, a saved input that requires grad, one that does not."""
    seen = []

    class Double(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            y = x * 2
            ctx.save_for_backward(y, x, w)
            return y

        @staticmethod
        def backward(ctx, g):
            seen.extend(t.requires_grad for t in ctx.saved_tensors)
            return g * 2, None

    x = m.ones(3, requires_grad=True)
    Double.apply(x, m.ones(3)).sum().backward()
    with m.no_grad():  # (not recorded: no output requires grad)
        Double.apply(x, m.ones(3))
    return seen, x.grad.tolist()


def test_saved_output_unpacks_requiring_grad():
    assert _saved_flags(dg) == _saved_flags(torch)


def _root_gradient(m):
    """xitorch's rootfinder pattern: backward differentiates f w.r.t. the saved root."""

    class Root(m.autograd.Function):  # y = sqrt(a), the root of f(y) = y^2 - a
        @staticmethod
        def forward(ctx, a):
            y = a.sqrt()
            ctx.save_for_backward(y, a)
            return y

        @staticmethod
        def backward(ctx, g):
            y, a = ctx.saved_tensors
            with m.enable_grad():
                (dfdy,) = m.autograd.grad((y * y - a).sum(), (y,))
            return g / dfdy

    a = m.tensor([4.0, 9.0], dtype=m.float64, requires_grad=True)
    Root.apply(a).sum().backward()
    return a.grad.tolist()


def test_backward_differentiates_through_saved_output():
    assert _root_gradient(dg) == _root_gradient(torch)


def _gradcheck_sees(m):
    """Whether gradcheck calls func with the caller's very inputs, and its verdict where func
    registers an nn.Parameter input in a Module and reads it back from there."""
    weight = m.nn.Parameter(m.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=m.float64))
    seen = []

    def func(w):
        seen.append(w is weight)
        module = m.nn.Module()
        module.w = w  # (registered only when w is the Parameter itself)
        return sum(p.sum() for p in module.parameters()) * 3 + w.sum() * 0

    ok = m.autograd.gradcheck(func, (weight,), raise_exception=False)
    return ok, all(seen), weight.tolist()


def test_gradcheck_passes_the_callers_tensors():
    assert _gradcheck_sees(dg) == _gradcheck_sees(torch)


@pytest.mark.parametrize("dtype", ["complex128", "complex64"])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (), (0, 2)])
def test_rand_complex_matches_torch(dtype, shape):
    torch.manual_seed(0)
    expected = torch.rand(shape, dtype=getattr(torch, dtype))
    dg.manual_seed(0)
    got = dg.rand(shape, dtype=getattr(dg, dtype))
    assert str(got.dtype).split(".")[-1] == dtype and tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    torch.manual_seed(1)
    dg.manual_seed(1)
    np.testing.assert_array_equal(dg.rand_like(got).numpy(), torch.rand_like(expected).numpy())


@pytest.mark.parametrize("name", ["allclose", "isclose"])
def test_isclose_shapes_that_do_not_broadcast_raise_runtime_error(name):
    for m in (torch, dg):
        with pytest.raises(RuntimeError):
            getattr(m, name)(m.zeros(3, 4), m.zeros(4, 3))
    assert dg.allclose(dg.ones(3, 1), dg.ones(1, 4)) == torch.allclose(
        torch.ones(3, 1), torch.ones(1, 4))


@pytest.mark.parametrize("bounds", [(0, "t0.5"), ("t0.1", 0.5), (0, "t1"), (0, "t2.5")])
def test_clamp_number_with_zero_dim_tensor_bound(bounds):
    def run(m, integer):
        x = m.arange(5) if integer else m.tensor([[0.2, -1.0], [3.0, 0.7]])
        low, high = (m.tensor(float(b[1:]) if "." in b else int(b[1:]))
                     if isinstance(b, str) else b for b in bounds)
        out = m.clamp(x, low, high)
        return str(out.dtype).split(".")[-1], out.tolist(), x.clamp(min=low, max=high).tolist()

    for integer in (False, True):
        assert run(dg, integer) == run(torch, integer)


def test_clamp_number_with_nonscalar_tensor_bound_still_type_error():
    for m in (torch, dg):
        with pytest.raises(TypeError):
            m.clamp(m.zeros(2, 2), 0, m.full((2, 2), 0.5))


def _state_dict_hook_registry(m):
    # opacus's DPMultiheadAttention.state_dict loops over self._state_dict_hooks.values().
    layer = m.nn.Linear(2, 2)
    sizes = [len(layer._state_dict_hooks)]
    handle = layer._register_state_dict_hook(lambda *args: None)
    sizes.append(len(layer._state_dict_hooks))
    handle.remove()
    sizes += [len(layer._state_dict_hooks), len(m.nn.Linear(2, 2)._state_dict_hooks)]
    return sizes, list(layer.state_dict())


def test_module_has_state_dict_hooks_before_any_is_registered():
    assert _state_dict_hook_registry(dg) == _state_dict_hook_registry(torch)
