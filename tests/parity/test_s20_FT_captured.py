"""torch.func's grad-type transforms refuse an in-place change of a tensor the function
captured (made outside, not an argument), as PyTorch 2.13's do (RuntimeError "... mutate a
captured Tensor ..."), and allow it on tensors made inside and on the arguments (session 20,
FT; src/deltagrad/_func_captured.py). Each case runs under PyTorch and deltagrad: the same
exception type, or the same results and the same captured tensors afterwards."""

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad  # noqa: E402
import deltagrad.func  # noqa: E402, F401

CASES = {}


def case(name):
    def register(program):
        CASES[name] = program
        return program
    return register


def _transform(T, which):
    """A function of (f, x) applying the named transform (its outputs as a list)."""
    F = T.func
    return {
        "grad": lambda f, x: [F.grad(lambda t: f(t).sum())(x)],
        "grad_and_value": lambda f, x: list(F.grad_and_value(lambda t: f(t).sum())(x)),
        "vjp": lambda f, x: [F.vjp(f, x)[1](T.ones(3))[0]],
        "jvp": lambda f, x: list(F.jvp(f, (x,), (T.ones(3),))),
        "jacrev": lambda f, x: [F.jacrev(f)(x)],
        "jacfwd": lambda f, x: [F.jacfwd(f)(x)],
        "hessian": lambda f, x: [F.hessian(lambda t: f(t).sum())(x)],
    }[which]


TRANSFORMS = ("grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian")
MUTATIONS = {
    "add_": lambda c, t: c.add_(t),
    "add_number": lambda c, t: c.add_(1.0),
    "iadd": lambda c, t: c.__iadd__(t),
    "mul_": lambda c, t: c.mul_(t),
    "copy_": lambda c, t: c.copy_(t),
    "fill_": lambda c, t: c.fill_(2.0),
    "zero_": lambda c, t: c.zero_(),
    "setitem_tensor": lambda c, t: c.__setitem__(0, t[0]),
    "setitem_number": lambda c, t: c.__setitem__(slice(1, None), 3.0),
    "clamp_": lambda c, t: c.clamp_(0.5, 1.0),
    "exp_": lambda c, t: c.exp_(),
    "normal_": lambda c, t: c.normal_(),
    "view_add_": lambda c, t: c[:2].add_(1.0),
    "reshape_add_": lambda c, t: c.view(3).add_(1.0),
    "detach_copy_": lambda c, t: c.detach().copy_(t),
    "data_add_": lambda c, t: c.data.add_(1.0),
}


def _mutating(T, which, mutation):
    def program():
        c = T.ones(3) * 0.75
        x = T.tensor([0.5, -1.0, 2.0])

        def f(t):
            MUTATIONS[mutation](c, t)
            return t * t * 2
        return _transform(T, which)(f, x) + [c]
    return program


for _which in TRANSFORMS:
    for _mutation in MUTATIONS:
        case(f"refused-{_which}-{_mutation}")(functools.partial(_mutating, which=_which,
                                                                mutation=_mutation))


@case("refused-batchnorm-train")
def _bn_train(T):
    def program():
        T.manual_seed(0)
        bn = T.nn.BatchNorm1d(3)
        return [T.func.grad(lambda t: bn(t).pow(2).sum())(T.randn(4, 3)), bn.running_mean]
    return program


@case("refused-batchnorm2d-vjp")
def _bn2d(T):
    def program():
        T.manual_seed(0)
        bn = T.nn.BatchNorm2d(2)
        model = T.nn.Sequential(T.nn.Conv2d(1, 2, 3), bn)
        out, fn = T.func.vjp(model, T.randn(2, 1, 5, 5))
        return [out, bn.running_var]
    return program


@case("refused-captured-in-list")
def _in_list(T):
    def program():
        bag = [T.zeros(2)]
        return [T.func.grad(lambda t: (bag[0].add_(1.0), t.sum())[1])(T.ones(3)), bag[0]]
    return program


@case("refused-captured-attribute")
def _attribute(T):
    class Holder:
        pass

    def program():
        holder = Holder()
        holder.buffer = T.zeros(2)
        return [T.func.grad(lambda t: (holder.buffer.mul_(2.0), t.sum())[1])(T.ones(3)),
                holder.buffer]
    return program


@case("refused-integer-captured")
def _integer(T):
    def program():
        counter = T.zeros(2, dtype=T.long)
        return [T.func.grad(lambda t: (counter.add_(1), t.sum())[1])(T.ones(3)), counter]
    return program


@case("refused-under-no-grad")
def _no_grad(T):
    def program():
        c = T.zeros(3)

        def f(t):
            with T.no_grad():
                c.add_(1.0)
            return t.sum()
        return [T.func.grad(f)(T.ones(3)), c]
    return program


@case("refused-nested-outer-argument")
def _nested(T):
    def program():
        def outer(t):
            def inner(u):
                t.detach().add_(1.0)  # (the outer argument is captured by the inner transform)
                return (u * t).sum()
            return T.func.grad(inner)(t).sum()
        return [T.func.grad(outer)(T.ones(3))]
    return program


@case("refused-vmap-of-grad")
def _vmap_grad(T):
    def program():
        c = T.zeros(3)
        return [T.func.vmap(T.func.grad(lambda t: (c.add_(1.0), t.sum())[1]))(T.ones(2, 3)), c]
    return program


@case("refused-partial-argument")
def _partial(T):
    def program():
        c = T.zeros(3)

        def f(t, buffer):
            buffer.add_(t)
            return t.sum()
        return [T.func.grad(functools.partial(f, buffer=c))(T.ones(3)), c]
    return program


@case("allowed-batchnorm-eval")
def _bn_eval(T):
    def program():
        T.manual_seed(0)
        bn = T.nn.BatchNorm1d(3).eval()
        return [T.func.grad(lambda t: bn(t).pow(2).sum())(T.randn(4, 3)), bn.running_mean]
    return program


@case("allowed-batchnorm-functional-call-buffers")
def _bn_fc(T):
    def program():
        T.manual_seed(0)
        bn = T.nn.BatchNorm1d(3)
        buffers = {k: v.clone() for k, v in bn.named_buffers()}

        def f(t, b):
            return T.func.functional_call(bn, b, (t,)).pow(2).sum()
        g = T.func.grad(f)(T.randn(4, 3), buffers)
        return [g, buffers["running_mean"], buffers["running_var"], bn.running_mean]
    return program


@case("allowed-batchnorm-no-running-stats")
def _bn_none(T):
    def program():
        T.manual_seed(0)
        bn = T.nn.BatchNorm1d(3, track_running_stats=False)
        return [T.func.grad(lambda t: bn(t).pow(2).sum())(T.randn(4, 3))]
    return program


@case("allowed-made-inside")
def _inside(T):
    def program():
        def f(t):
            z = T.zeros(3)
            z.add_(t)
            z[0] = t[1] * 3
            e = T.empty(2).fill_(1.5)
            return (z * e.sum()).sum()
        return [T.func.grad(f)(T.tensor([1.0, 2.0, 3.0]))]
    return program


@case("allowed-clone-of-captured")
def _clone(T):
    def program():
        c = T.ones(3)
        return [T.func.grad(lambda t: (c.clone().add_(t) * t).sum())(T.ones(3) * 2), c]
    return program


@case("allowed-intermediate-inplace")
def _intermediate(T):
    def program():
        def f(t):
            y = t * 2
            y.add_(1.0).mul_(t)
            return T.relu_(y - 3).sum()
        return [T.func.grad(f)(T.tensor([1.0, 2.0, 3.0])),
                T.func.jacrev(lambda t: (t * 1).exp_())(T.tensor([0.5, 1.0]))]
    return program


@case("allowed-second-argument")
def _second(T):
    def program():
        d = T.zeros(3)
        g = T.func.grad(lambda t, b: (b.add_(1.0), (t * b).sum())[1])(T.ones(3), d)
        return [g, d]
    return program


@case("allowed-stored-inside-then-mutated")
def _stored(T):
    class Holder:
        pass

    def program():
        holder = Holder()

        def f(t):
            holder.made = T.zeros(2)
            holder.made.add_(1.0)
            return t.sum()
        return [T.func.grad(f)(T.ones(3)), holder.made]
    return program


@case("allowed-after-transform")
def _after(T):
    def program():
        c = T.zeros(3)
        out, fn = T.func.vjp(lambda t: t * c, T.ones(3))
        c.add_(1.0)  # (outside the transform: an ordinary in-place op)
        return [out, c]
    return program


@case("allowed-leaf-argument-error")
def _leaf(T):
    def program():  # in-place on the argument itself: PyTorch's leaf error, not the captured one
        return [T.func.grad(lambda t: t.add_(1.0).sum())(T.ones(3))]
    return program


def _run(T, name):
    program = CASES[name](T)
    try:
        return program(), None
    except Exception as error:  # noqa: BLE001 - the exception is the result compared
        return None, error


@pytest.mark.parametrize("name", sorted(CASES))
def test_captured(name):
    expected, expected_error = _run(torch, name)
    got, got_error = _run(deltagrad, name)
    if expected_error is not None:
        assert got_error is not None, f"{name}: PyTorch raised {expected_error!r}; deltagrad not"
        assert type(got_error) is type(expected_error), (name, expected_error, got_error)
        if "captured Tensor" in str(expected_error):
            assert "captured Tensor" in str(got_error), got_error
        return
    assert got_error is None, f"{name}: deltagrad raised {got_error!r}"
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert g.dtype.is_floating_point == e.dtype.is_floating_point
        np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=1e-6,
                                   atol=1e-6)


def test_refused_before_writing():
    c = deltagrad.ones(3)
    with pytest.raises(RuntimeError, match="captured Tensor"):
        deltagrad.func.grad(lambda t: (c.add_(t), t.sum())[1])(deltagrad.ones(3))
    np.testing.assert_array_equal(c.numpy(), np.ones(3))  # (PyTorch's too: raised before)
    bn = deltagrad.nn.BatchNorm1d(2)
    with pytest.raises(RuntimeError, match="captured Tensor"):
        deltagrad.func.grad(lambda t: bn(t).sum())(deltagrad.randn(4, 2))
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(2))


def test_state_restored_after_transform():
    from deltagrad._engine.modes import CAPTURED, _InferenceMode
    c = deltagrad.zeros(3)
    with pytest.raises(RuntimeError):
        deltagrad.func.grad(lambda t: (c.add_(1.0), t.sum())[1])(deltagrad.ones(3))
    assert CAPTURED == []
    c.add_(1.0)
    assert c.tolist() == [1.0, 1.0, 1.0]
    marking = _InferenceMode.marking
    deltagrad.func.grad(lambda t: (t * c).sum())(deltagrad.ones(3))
    assert _InferenceMode.marking is marking
