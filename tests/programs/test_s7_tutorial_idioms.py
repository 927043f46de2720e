"""Idioms from widely copied PyTorch tutorials, checked against PyTorch (session 7, H11).

Each test is one idiom a tutorial relies on, written afresh (not the tutorial's code), run on
deltagrad and on PyTorch from the same inputs, comparing values and exception types.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402


def _schedule(lib, step_size, gamma=0.5, epochs=7):
    param = lib.zeros(2, requires_grad=True)
    optimizer = lib.optim.SGD([param], lr=2.0)
    scheduler = lib.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=gamma)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            lrs.append(scheduler.get_last_lr()[0])
            optimizer.step()
            scheduler.step()
    return lrs, scheduler._get_closed_form_lr()


@pytest.mark.parametrize("step_size", [1.0, 2.0, 1.5, 3])
def test_step_lr_takes_a_float_period(step_size):
    # The Transformer tutorial writes StepLR(optimizer, 1.0, gamma=0.95).
    assert _schedule(dg, step_size) == _schedule(torch, step_size)


@pytest.mark.parametrize("step_size", [0, -2, "2", None])
def test_step_lr_refuses_a_non_positive_period(step_size):
    # PyTorch fails only later (ZeroDivisionError) or decays oddly; deltagrad says so at once.
    with pytest.raises(ValueError, match="step_size"):
        _schedule(dg, step_size)


def _forward_ad_tangents(lib):
    # The forward-AD tutorial asserts unpack_dual(make_dual(p, t)).tangent is t, and that a
    # tangent laid out unlike its primal (t.T) is stored as a copy.
    forward_ad = lib.autograd.forward_ad
    gen = np.random.default_rng(0)
    primal = lib.tensor(gen.standard_normal((3, 4)).astype(np.float32))
    tangent = lib.tensor(gen.standard_normal((3, 4)).astype(np.float32))
    other = lib.tensor(gen.standard_normal((4, 3)).astype(np.float32))
    with forward_ad.dual_level():
        same = forward_ad.unpack_dual(forward_ad.make_dual(primal, tangent)).tangent
        copied = forward_ad.unpack_dual(forward_ad.make_dual(primal, other.T)).tangent
        out = forward_ad.unpack_dual(forward_ad.make_dual(primal, tangent) ** 2).tangent
        return (same is tangent, copied is other.T, copied.stride(),
                copied.detach().numpy().copy(), out.detach().numpy().copy())


def test_make_dual_keeps_the_tangent_it_is_given():
    ours, theirs = _forward_ad_tangents(dg), _forward_ad_tangents(torch)
    assert ours[:3] == theirs[:3] == (True, False, (4, 1))
    np.testing.assert_array_equal(ours[3], theirs[3])
    np.testing.assert_allclose(ours[4], theirs[4], rtol=1e-6)


@pytest.mark.parametrize("lib", [dg, torch], ids=["deltagrad", "torch"])
def test_make_dual_refuses_an_integer_tangent(lib):
    forward_ad = lib.autograd.forward_ad
    with forward_ad.dual_level(), pytest.raises(ValueError, match="tangent to be floating"):
        forward_ad.make_dual(lib.zeros(3), lib.arange(3))


def _checked(lib, fn, wrong=False, **options):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * (3 if wrong else 2)

    x = lib.tensor([0.3, -1.2, 2.0], dtype=lib.float64, requires_grad=True)
    function = Double.apply if fn is None else fn
    try:
        return lib.autograd.gradcheck(function, (x,), **options)
    except Exception as error:  # the type is what is compared
        return type(error).__mro__[1:3] if type(error).__name__ == "GradcheckError" \
            else type(error)


@pytest.mark.parametrize("options", [
    {"check_forward_ad": True},
    {"check_forward_ad": True, "check_backward_ad": False},
    {"check_forward_ad": False, "check_backward_ad": False},
    {"nondet_tol": 1e-7, "check_undefined_grad": False, "check_grad_dtypes": True,
     "fast_mode": True},
    {"raise_exception": False},
])
@pytest.mark.parametrize("wrong", [False, True])
def test_gradcheck_takes_pytorchs_keywords(options, wrong):
    # The forward-AD tutorial calls gradcheck(..., check_forward_ad=True,
    # check_backward_ad=False, check_undefined_grad=False, check_batched_grad=False).
    def fn(t):
        return (t.exp() * t).sin()

    for function in (fn, None):
        if function is None and options.get("check_forward_ad"):
            continue  # custom Functions have no forward mode in deltagrad (an error says so)
        ours = _checked(dg, function, wrong, **options)
        theirs = _checked(torch, function, wrong, **options)
        if isinstance(theirs, tuple):  # GradcheckError: a RuntimeError in both
            assert RuntimeError in ours
        else:
            assert ours == theirs


def test_gradcheck_warns_about_single_precision_inputs():
    x = dg.tensor([0.5, 1.5], requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        dg.autograd.gradcheck(lambda t: t * 2, (x,))


def test_gradcheck_refuses_what_it_cannot_check():
    x = dg.tensor([0.5], dtype=dg.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="check_batched_grad"):
        dg.autograd.gradcheck(lambda t: t * 2, (x,), check_batched_grad=True)


@pytest.mark.parametrize("options", [
    {"dtype": "float64", "low": -1, "high": 1}, {"dtype": "float32"}, {"dtype": "int64"},
    {"dtype": "uint8"}, {"dtype": "bool"}, {"dtype": "complex64", "low": -2, "high": 2},
    {"dtype": "float32", "noncontiguous": True},
    {"dtype": "int32", "low": -1, "high": 2, "exclude_zero": True},
])
def test_make_tensor_draws_pytorchs_values(options):
    def draw(lib):
        lib.manual_seed(3)
        kwargs = dict(options, dtype=getattr(lib, options["dtype"]))
        made = lib.testing.make_tensor((3, 4), device="cpu", **kwargs)
        return made.numpy().tolist(), made.is_contiguous(), lib.rand(1).item()

    assert draw(dg) == draw(torch)


@pytest.mark.parametrize("noncontiguous", [False, True])
def test_gradgradcheck_leaves_the_global_stream_as_pytorch_does(noncontiguous):
    # PyTorch draws gradgradcheck's random grad_outputs from the global generator; a program
    # that checks a custom Function and then builds its model must draw the same weights.
    def run(lib):
        lib.manual_seed(0)
        x = lib.rand(3, 3, dtype=lib.float64, requires_grad=True)
        ok = lib.autograd.gradgradcheck(lambda t: (t.sin() * t).sum(0), (x,),
                                        gen_non_contig_grad_outputs=noncontiguous)
        return ok, lib.rand(4).numpy().tolist()

    assert run(dg) == run(torch)


@pytest.mark.parametrize("pin_memory", [False, True])
def test_save_on_cpu_wraps_a_module_unchanged(pin_memory):
    # The saved-tensors-hooks tutorial's SaveToCpu: a module run inside save_on_cpu.
    def run(lib):
        lib.manual_seed(0)
        inner = lib.nn.Linear(6, 5)
        model = lib.nn.Sequential(lib.nn.Linear(4, 6), lib.nn.Tanh(), inner, lib.nn.Linear(5, 2))
        x = lib.randn(3, 4)
        hidden = model[1](model[0](x))
        with lib.autograd.graph.save_on_cpu(pin_memory=pin_memory):
            saved = inner(hidden)
        model[3](saved).pow(2).sum().backward()
        return [p.grad.numpy().copy() for p in model.parameters()]

    for ours, theirs in zip(run(dg), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("pin_memory", [False, True])
def test_save_on_cpu_in_place_change_after_forward_as_pytorch(pin_memory):
    # PyTorch checks no version of a tensor save_on_cpu packed (since session 14 deltagrad's
    # hooks run too): without pin_memory backward reads the changed value (tensor.cpu() is the
    # tensor itself), with it the copy made in forward.
    def run(lib):
        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = lib.tensor([0.5, 1.0, 1.5])
        with lib.autograd.graph.save_on_cpu(pin_memory=pin_memory):
            y = a * b
        b.add_(1)
        y.sum().backward()
        return a.grad.numpy().copy()

    np.testing.assert_array_equal(run(dg), run(torch))
