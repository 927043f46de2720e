"""deltagrad.func against torch.func: functional_call, grad, grad_and_value, vjp, jacrev,
hessian, vmap and stack_module_state (same inputs in both; values and gradients compared)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.func as tf  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad import func  # noqa: E402

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 3))
V = RNG.standard_normal(3)


def arr(t):
    return t.detach().numpy()


def close(ours, theirs, rtol=1e-10):
    np.testing.assert_allclose(arr(ours), arr(theirs), rtol=rtol, atol=1e-12)


def _models():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 2)).double()
    ours = dg.nn.Sequential(dg.nn.Linear(3, 4), dg.nn.Tanh(), dg.nn.Linear(4, 2)).double()
    ours.load_state_dict({k: dg.tensor(arr(v)) for k, v in theirs.state_dict().items()})
    return ours, theirs


# ----------------------------------------------------------------------------------------------
# functional_call and stack_module_state.


def test_functional_call_values_and_gradients():
    ours, theirs = _models()
    weight = RNG.standard_normal((4, 3))
    mine, reference = dg.tensor(weight, requires_grad=True), torch.tensor(weight,
                                                                          requires_grad=True)
    out_ours = func.functional_call(ours, ({"0.weight": mine}, {}), (dg.tensor(A),))
    out_theirs = tf.functional_call(theirs, ({"0.weight": reference}, {}), (torch.tensor(A),))
    close(out_ours, out_theirs)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    close(mine.grad, reference.grad)
    assert ours[0].weight is not mine and ours[0].weight.grad is None
    for lib in (func, tf):
        model = ours if lib is func else theirs
        make = dg.tensor if lib is func else torch.tensor
        with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
            lib.functional_call(model, ({"0.bias": make(V)}, {"0.bias": make(V)}), make(A))
        with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts"):
            lib.functional_call(model, 3, make(A))
        with pytest.raises(RuntimeError, match="Missing key"):
            lib.functional_call(model, {"0.weight": make(weight)}, make(A), strict=True)


def test_functional_call_ties_shared_weights():
    for lib, fc in ((dg, func.functional_call), (torch, tf.functional_call)):
        first, second = lib.nn.Linear(2, 2, bias=False), lib.nn.Linear(2, 2, bias=False)
        second.weight = first.weight  # one parameter under two names
        model = lib.nn.Sequential(first, second)
        x = lib.ones(1, 2)
        out = fc(model, {"0.weight": lib.eye(2) * 2}, (x,))
        np.testing.assert_allclose(arr(out), [[4.0, 4.0]])  # both uses take the new weight
        untied = fc(model, {"0.weight": lib.eye(2) * 2}, (x,), tie_weights=False)
        np.testing.assert_allclose(arr(untied), arr(second(x * 2)), rtol=1e-6)
        with pytest.raises(ValueError, match="which are tied"):
            fc(model, {"0.weight": lib.eye(2), "1.weight": lib.eye(2) * 3}, (x,))


def test_stack_module_state_and_an_ensemble_with_vmap():
    pairs = [_models() for _ in range(3)]
    params_ours, buffers_ours = func.stack_module_state([p[0] for p in pairs])
    params_theirs, buffers_theirs = tf.stack_module_state([p[1] for p in pairs])
    assert list(params_ours) == list(params_theirs) and buffers_ours == buffers_theirs == {}
    assert params_ours["0.weight"].requires_grad and params_ours["0.weight"].is_leaf

    def run(lib, fc, model):
        return lambda params, x: fc(model, params, (x,))

    out_ours = func.vmap(run(dg, func.functional_call, pairs[0][0]), in_dims=(0, None))(
        params_ours, dg.tensor(A))
    out_theirs = tf.vmap(run(torch, tf.functional_call, pairs[0][1]), in_dims=(0, None))(
        params_theirs, torch.tensor(A))
    close(out_ours, out_theirs)


# ----------------------------------------------------------------------------------------------
# grad, grad_and_value, vjp.


def _f(lib):
    return lambda x, y: (lib.sin(x) * y).sum() + (x ** 3).sum()


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), -1])
def test_grad_matches_pytorch(argnums):
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    ours = func.grad(_f(dg), argnums=argnums)(dg.tensor(x), dg.tensor(y))
    theirs = tf.grad(_f(torch), argnums=argnums)(torch.tensor(x), torch.tensor(y))
    for mine, reference in zip(ours if isinstance(ours, tuple) else (ours,),
                               theirs if isinstance(theirs, tuple) else (theirs,)):
        close(mine, reference)
        assert not mine.requires_grad


def test_grad_and_value_with_aux_and_trees():
    params = {"w": RNG.standard_normal((2, 3)), "b": RNG.standard_normal(2)}

    def loss(lib):
        def f(p, x):
            out = p["w"] @ x + p["b"]
            return (out ** 2).sum(), out
        return f

    g_ours, (value_ours, aux_ours) = func.grad_and_value(loss(dg), has_aux=True)(
        {k: dg.tensor(v) for k, v in params.items()}, dg.tensor(V))
    g_theirs, (value_theirs, aux_theirs) = tf.grad_and_value(loss(torch), has_aux=True)(
        {k: torch.tensor(v) for k, v in params.items()}, torch.tensor(V))
    assert list(g_ours) == list(g_theirs)
    for key in g_theirs:
        close(g_ours[key], g_theirs[key])
    close(value_ours, value_theirs)
    close(aux_ours, aux_theirs)


def test_nested_grad_and_captured_tensors():
    x = RNG.standard_normal(3)

    def second(lib, g):
        return g(lambda y: g(lambda z: (z ** 3 * lib.cos(z)).sum())(y).sum())

    close(second(dg, func.grad)(dg.tensor(x)), second(torch, tf.grad)(torch.tensor(x)))
    # The gradient keeps a graph to a captured tensor that requires grad (gradient penalty).
    for lib, g in ((dg, func.grad), (torch, tf.grad)):
        w = lib.tensor(V, requires_grad=True)
        gradient = g(lambda z, w=w: ((w * z).sum()) ** 2)(lib.tensor(x))
        assert gradient.requires_grad
        (gradient ** 2).sum().backward()
    w_ours = dg.tensor(V, requires_grad=True)
    w_theirs = torch.tensor(V, requires_grad=True)
    (func.grad(lambda z: ((w_ours * z).sum()) ** 2)(dg.tensor(x)) ** 2).sum().backward()
    (tf.grad(lambda z: ((w_theirs * z).sum()) ** 2)(torch.tensor(x)) ** 2).sum().backward()
    close(w_ours.grad, w_theirs.grad)
    # Under no_grad the transform still differentiates, and returns no graph.
    with dg.no_grad():
        detached = func.grad(lambda z: ((w_ours * z).sum()) ** 2)(dg.tensor(x))
    assert not detached.requires_grad


def test_grad_errors_match_pytorch():
    for lib, g in ((dg, func.grad), (torch, tf.grad)):
        with pytest.raises(RuntimeError, match="scalar Tensor"):
            g(lambda x: x * 2)(lib.ones(2))
        with pytest.raises(RuntimeError, match="floating point"):
            g(lambda x: x.sum())(lib.tensor([1, 2]))
        with pytest.raises(RuntimeError, match="argnum=2, but only 1 positional"):
            g(lambda x: x.sum(), argnums=2)(lib.ones(2))
        with pytest.raises(RuntimeError, match="tuple"):
            g(lambda x: x.sum(), has_aux=True)(lib.ones(2))


def test_vjp_matches_pytorch():
    def f(lib):
        return lambda x, y: (lib.sin(x) * y, x @ y)

    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    out_ours, fn_ours = func.vjp(f(dg), dg.tensor(x), dg.tensor(y))
    out_theirs, fn_theirs = tf.vjp(f(torch), torch.tensor(x), torch.tensor(y))
    for mine, reference in zip(out_ours, out_theirs):
        close(mine, reference)
    cotangent = RNG.standard_normal(3)
    for _ in range(2):  # vjp_fn may be called again
        grads_ours = fn_ours((dg.tensor(cotangent), dg.tensor(2.0, dtype=dg.float64)))
        grads_theirs = fn_theirs((torch.tensor(cotangent), torch.tensor(2.0,
                                                                        dtype=torch.float64)))
        for mine, reference in zip(grads_ours, grads_theirs):
            close(mine, reference)
    for fn, make in ((fn_ours, dg.ones), (fn_theirs, torch.ones)):
        with pytest.raises(RuntimeError, match="shape"):
            fn((make(4, dtype=dg.float64 if fn is fn_ours else torch.float64),
                make((), dtype=dg.float64 if fn is fn_ours else torch.float64)))


# ----------------------------------------------------------------------------------------------
# jacrev and hessian.


def test_jacrev_and_hessian_match_pytorch():
    def f(lib):
        return lambda x, m: lib.tanh(m @ x) * x[0]

    x = RNG.standard_normal(3)
    ours = func.jacrev(f(dg), argnums=(0, 1))(dg.tensor(x), dg.tensor(A))
    theirs = tf.jacrev(f(torch), argnums=(0, 1))(torch.tensor(x), torch.tensor(A))
    assert [tuple(j.shape) for j in ours] == [tuple(j.shape) for j in theirs] == [(4, 3),
                                                                                  (4, 4, 3)]
    for mine, reference in zip(ours, theirs):
        close(mine, reference)

    def g(lib):
        return lambda x: (lib.sin(x) * x.sum()).sum()

    close(func.hessian(g(dg))(dg.tensor(x)), tf.hessian(g(torch))(torch.tensor(x)))
    jac, aux = func.jacrev(lambda x: (x * 2, x.sum()), has_aux=True)(dg.ones(2))
    np.testing.assert_array_equal(arr(jac), 2 * np.eye(2))
    assert aux.item() == 2.0


# ----------------------------------------------------------------------------------------------
# vmap.


def test_vmap_in_dims_out_dims_and_per_sample_gradients():
    cases = [
        (lambda lib: lib.dot, 0, 0, (A, A)),
        (lambda lib: (lambda a, v: a * v), (1, None), 0, (A, V[:1])),
        (lambda lib: (lambda a, v: (a + v, a.sum())), (0, None), (1, 0), (A, V)),
    ]
    for make_f, in_dims, out_dims, inputs in cases:
        ours = func.vmap(make_f(dg), in_dims=in_dims, out_dims=out_dims)(
            *[dg.tensor(i) for i in inputs])
        theirs = tf.vmap(make_f(torch), in_dims=in_dims, out_dims=out_dims)(
            *[torch.tensor(i) for i in inputs])
        for mine, reference in zip(ours if isinstance(ours, tuple) else (ours,),
                                   theirs if isinstance(theirs, tuple) else (theirs,)):
            assert tuple(mine.shape) == tuple(reference.shape)
            close(mine, reference)
    # Per-sample gradients: vmap(grad(loss)) over a batch, with functional_call.
    ours, theirs = _models()
    params_ours = {k: v.detach() for k, v in ours.named_parameters()}
    params_theirs = {k: v.detach() for k, v in theirs.named_parameters()}

    def loss(fc, model):
        return lambda p, x: (fc(model, p, (x,)) ** 2).sum()

    per_ours = func.vmap(func.grad(loss(func.functional_call, ours)), in_dims=(None, 0))(
        params_ours, dg.tensor(A))
    per_theirs = tf.vmap(tf.grad(loss(tf.functional_call, theirs)), in_dims=(None, 0))(
        params_theirs, torch.tensor(A))
    for key in per_theirs:
        assert tuple(per_ours[key].shape) == tuple(per_theirs[key].shape)
        close(per_ours[key], per_theirs[key])


def test_vmap_gradients_flow_through():
    a_ours = dg.tensor(A, requires_grad=True)
    a_theirs = torch.tensor(A, requires_grad=True)
    (func.vmap(lambda r: (r ** 2).sum())(a_ours) * dg.tensor(V[:1])).sum().backward()
    (tf.vmap(lambda r: (r ** 2).sum())(a_theirs) * torch.tensor(V[:1])).sum().backward()
    close(a_ours.grad, a_theirs.grad)


def test_vmap_errors_and_randomness():
    for lib, vm in ((dg, func.vmap), (torch, tf.vmap)):
        with pytest.raises(ValueError, match="same size in the mapped dimension"):
            vm(lambda a, b: a + b)(lib.ones(3), lib.ones(4))
        with pytest.raises(ValueError, match="non-Tensor"):
            vm(lambda a, n: a * n)(lib.ones(3), 2)
        with pytest.raises(ValueError, match="in_dim"):
            vm(lambda a: a, in_dims=2)(lib.ones(3))
        with pytest.raises(RuntimeError, match="randomness"):
            vm(lambda a, lib=lib: a * lib.rand(1))(lib.ones(3))
        with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
            vm(lambda a: a, randomness="sometimes")
    same = func.vmap(lambda a: a + dg.rand(()), randomness="same")(dg.zeros(4))
    assert len(set(arr(same).tolist())) == 1
    different = func.vmap(lambda a: a + dg.rand(()), randomness="different")(dg.zeros(4))
    assert len(set(arr(different).tolist())) == 4
