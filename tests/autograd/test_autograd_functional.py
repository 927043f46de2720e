"""deltagrad.autograd.functional (jacobian, hessian, vjp, jvp, hvp, vhp) against PyTorch, and
the autograd namespace (backward, inference_mode)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.autograd import functional

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal(4)
M = RNG.standard_normal((3, 3))


def _both(array):
    return dg.tensor(array), torch.from_numpy(np.array(array))


def _same(ours, theirs, rtol=1e-10):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t, rtol)
        return
    assert isinstance(ours, dg.Tensor), type(ours)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=1e-12)


# Functions written once, for either library (m is the module).
FUNCTIONS = {
    "elementwise": (lambda m: lambda x: m.tanh(x) * x ** 2, (A,)),
    "matrix": (lambda m: lambda x: x @ m.tensor(M.T.copy()), (A[:, :3].copy(),)),
    "two_inputs": (lambda m: lambda x, y: (x * y).sum(-1) + x.exp().mean(), (A, B)),
    "two_outputs": (lambda m: lambda x: (x.sin(), (x * x).sum(0)), (A,)),
    "scalar_input": (lambda m: lambda x: x * 3 + x ** 3, (np.array(0.7),)),
}
SCALARS = {
    "cubic": (lambda m: lambda x: (x ** 3).sum() + (x[0] * x[1]).sum(), (A[:2].copy(),)),
    "log_sum_exp": (lambda m: lambda x: x.exp().sum().log(), (B,)),
    "two_inputs": (lambda m: lambda x, y: (x.tanh() @ y).sum() * (y ** 2).sum(), (A, B)),
}


def _args(arrays, single_as_tensor=True):
    ours = tuple(dg.tensor(a) for a in arrays)
    theirs = tuple(torch.from_numpy(np.array(a)) for a in arrays)
    if single_as_tensor and len(arrays) == 1:
        return ours[0], theirs[0]
    return ours, theirs


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("as_tuple", [False, True])
def test_jacobian(name, as_tuple):
    make, arrays = FUNCTIONS[name]
    ours_in, theirs_in = _args(arrays, single_as_tensor=not as_tuple)
    _same(functional.jacobian(make(dg), ours_in),
          torch.autograd.functional.jacobian(make(torch), theirs_in))


@pytest.mark.parametrize("name", sorted(SCALARS))
@pytest.mark.parametrize("as_tuple", [False, True])
def test_hessian(name, as_tuple):
    make, arrays = SCALARS[name]
    ours_in, theirs_in = _args(arrays, single_as_tensor=not as_tuple)
    _same(functional.hessian(make(dg), ours_in),
          torch.autograd.functional.hessian(make(torch), theirs_in))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_vjp_and_jvp(name):
    make, arrays = FUNCTIONS[name]
    ours_in, theirs_in = _args(arrays)
    t_out = make(torch)(*(theirs_in if isinstance(theirs_in, tuple) else (theirs_in,)))
    outs = t_out if isinstance(t_out, tuple) else (t_out,)
    v_out = [RNG.standard_normal(tuple(o.shape)) for o in outs]
    v_in = [RNG.standard_normal(a.shape) for a in arrays]

    def pack(values, lib, like):
        tensors = tuple(dg.tensor(v) if lib is dg else torch.from_numpy(v) for v in values)
        return tensors if isinstance(like, tuple) else tensors[0]

    _same(functional.vjp(make(dg), ours_in, pack(v_out, dg, t_out)),
          torch.autograd.functional.vjp(make(torch), theirs_in, pack(v_out, torch, t_out)))
    _same(functional.jvp(make(dg), ours_in, pack(v_in, dg, ours_in)),
          torch.autograd.functional.jvp(make(torch), theirs_in, pack(v_in, torch, theirs_in)))


@pytest.mark.parametrize("name", sorted(SCALARS))
def test_hvp_and_vhp(name):
    make, arrays = SCALARS[name]
    ours_in, theirs_in = _args(arrays)
    v = [RNG.standard_normal(a.shape) for a in arrays]
    ours_v = tuple(dg.tensor(a) for a in v)
    theirs_v = tuple(torch.from_numpy(a) for a in v)
    if len(v) == 1:
        ours_v, theirs_v = ours_v[0], theirs_v[0]
    _same(functional.hvp(make(dg), ours_in, ours_v),
          torch.autograd.functional.hvp(make(torch), theirs_in, theirs_v))
    _same(functional.vhp(make(dg), ours_in, ours_v),
          torch.autograd.functional.vhp(make(torch), theirs_in, theirs_v))


def test_create_graph_makes_results_differentiable():
    for lib, fn in ((dg, functional), (torch, torch.autograd.functional)):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        jac = fn.jacobian(lambda t: t ** 3, x, create_graph=True)
        assert jac.requires_grad
        (jac.sum() * 1.0).backward()
    ours = dg.tensor([0.5, -1.0, 2.0], dtype=dg.float64, requires_grad=True)
    theirs = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    functional.hessian(lambda t: (t ** 4).sum(), ours, create_graph=True).sum().backward()
    torch.autograd.functional.hessian(lambda t: (t ** 4).sum(), theirs,
                                      create_graph=True).sum().backward()
    _same(ours.grad, theirs.grad)
    plain = functional.jacobian(lambda t: t ** 3, ours)
    assert not plain.requires_grad and ours.grad is not None


def test_independent_outputs_give_zeros_or_raise_in_strict_mode():
    ours = functional.jacobian(lambda x, y: x * 2, (dg.ones(2), dg.ones(3)))
    theirs = torch.autograd.functional.jacobian(lambda x, y: x * 2, (torch.ones(2),
                                                                     torch.ones(3)))
    _same(ours, theirs)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        functional.jacobian(lambda x, y: x * 2, (dg.ones(2), dg.ones(3)), strict=True)
    _same(functional.hessian(lambda x: x.sum() * 2, dg.ones(2)),
          torch.autograd.functional.hessian(lambda x: x.sum() * 2, torch.ones(2)))


def test_errors_match_pytorch():
    for lib, fn in ((dg, functional), (torch, torch.autograd.functional)):
        x = lib.ones(3)
        with pytest.raises(RuntimeError):
            fn.vjp(lambda t: t * 2, x)  # v omitted for a non-scalar output
        with pytest.raises(RuntimeError):
            fn.jvp(lambda t: t * 2, x)  # v omitted for a non-scalar input
        with pytest.raises(RuntimeError):
            fn.hessian(lambda t: t * 2, x)  # not a scalar function
        with pytest.raises(RuntimeError):
            fn.vjp(lambda t: t * 2, x, lib.ones(4))  # v of the wrong shape
        with pytest.raises(TypeError):
            fn.jacobian(lambda t: t, [1.0, 2.0])


def test_vjp_without_v_for_a_scalar_output():
    _same(functional.vjp(lambda x: (x ** 2).sum(), dg.tensor(B)),
          torch.autograd.functional.vjp(lambda x: (x ** 2).sum(), torch.from_numpy(B)))


# ----------------------------------------------------------------------------------------------
# The rest of the autograd namespace.


def test_autograd_namespace_has_pytorchs_names():
    for name in ("grad", "backward", "Function", "functional", "set_detect_anomaly",
                 "detect_anomaly", "no_grad", "enable_grad", "set_grad_enabled",
                 "inference_mode", "gradcheck", "gradgradcheck"):
        assert hasattr(dg.autograd, name) and hasattr(torch.autograd, name), name


def test_autograd_backward_of_several_tensors():
    results = []
    for lib in (dg, torch):
        x = lib.tensor(A, requires_grad=True)
        y = lib.tensor(B, requires_grad=True)
        first, second = (x * 2).sum(1), (x @ y) ** 2
        lib.autograd.backward([first, second], [lib.ones(3, dtype=lib.float64),
                                                lib.tensor(A[:, 0].copy())])
        (x * y).sum().backward()  # and a plain backward after it accumulates
        results.append((x.grad, y.grad))
    _same(results[0], results[1])
    for lib in (dg, torch):
        x = lib.tensor(B, requires_grad=True)
        y = lib.tensor(B, requires_grad=True)
        lib.autograd.backward((x * y).sum(), inputs=[x])
        assert y.grad is None
        results.append(x.grad)
    _same(results[2], results[3])


def test_inference_mode_as_context_and_decorator():
    x = dg.ones(2, requires_grad=True)
    with dg.inference_mode():
        assert dg.is_inference_mode_enabled() and not dg.is_grad_enabled()
        assert not (x * 2).requires_grad
        with dg.inference_mode(False):
            assert not dg.is_inference_mode_enabled() and dg.is_grad_enabled()
    assert not dg.is_inference_mode_enabled() and dg.is_grad_enabled()

    @dg.inference_mode
    def bare():
        return dg.is_inference_mode_enabled(), dg.is_grad_enabled()

    @dg.inference_mode()
    def called():
        return dg.is_inference_mode_enabled(), (x * 2).requires_grad

    assert bare() == (True, False) and called() == (True, False)
    assert dg.autograd.inference_mode is dg.inference_mode


def test_no_grad_and_enable_grad_as_bare_decorators():
    @dg.no_grad
    def without():
        return dg.is_grad_enabled()

    @dg.enable_grad
    def with_grad():
        return dg.is_grad_enabled()

    assert without() is False and dg.is_grad_enabled()
    with dg.no_grad():
        assert with_grad() is True
    with dg.set_grad_enabled(False):
        assert not dg.is_grad_enabled()
    assert dg.is_grad_enabled()
