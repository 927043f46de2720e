"""Differences from PyTorch that session 22's fuzzer families (``s22_SL7_families.py``) found
and that are fixed: each test runs the same code on both libraries and compares."""

import math

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

LIBS = (torch, dg)


def _both(fn):
    return [fn(lib) for lib in LIBS]


def _np(t):
    return t.detach().double().clone().numpy(force=True)  # (PyTorch's abs gives a ZeroTensor)


@pytest.mark.parametrize("kind", ["elu", "celu", "selu"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_elu_family_second_derivative_is_zero_at_zero(kind, dtype):
    # PyTorch's elu_double_backward masks x < 0: at x == 0 (and -0.0) the slope's own
    # derivative is 0, though the slope there is the negative side's (deltagrad gave alpha).
    def run(lib):
        f = {"elu": lambda x: lib.nn.functional.elu(x, 0.5),
             "celu": lambda x: lib.nn.functional.celu(x, 0.5),
             "selu": lib.nn.functional.selu}[kind]
        x = lib.tensor([-1.0, 0.0, -0.0, 2.0, -math.inf, 20.0], dtype=getattr(lib, dtype),
                       requires_grad=True)
        g, = lib.autograd.grad(f(x).sum(), x, create_graph=True)
        w = lib.arange(1, 7, dtype=x.dtype)
        g2, = lib.autograd.grad((g * w).sum(), x)
        return _np(g), _np(g2)
    (tg, tg2), (dg_, dg2) = _both(run)
    np.testing.assert_allclose(dg_, tg, rtol=1e-2 if dtype == "bfloat16" else 1e-6)
    np.testing.assert_allclose(dg2, tg2, rtol=1e-2 if dtype == "bfloat16" else 1e-6)
    assert dg2[1] == 0 and dg2[2] == 0


@pytest.mark.parametrize("name", ["linear", "conv1d", "conv2d", "conv_transpose3d", "sigmoid",
                                  "selu", "tanh", "relu"])
def test_calculate_gain_types(name):
    ours, theirs = dg.nn.init.calculate_gain(name), torch.nn.init.calculate_gain(name)
    assert type(ours) is type(theirs) and ours == theirs


def test_init_bound_checks():
    for lib in LIBS:
        with pytest.raises(RuntimeError, match="from=2"):
            lib.nn.init.uniform_(lib.zeros(3), 2.0)  # (b defaults to 1)
        with pytest.raises(RuntimeError, match="std >= 0"):
            lib.nn.init.normal_(lib.zeros(3), 0.0, -1.0)


@pytest.mark.parametrize("values", [[0.0, -0.0, 1.0, math.inf], [0.0, 0.0, math.nan],
                                    [[0.0, 2.0], [0.0, -math.inf]], [0.0, 2.0, 3.0]])
def test_prod_gradient_with_two_zeros_beside_inf(values):
    # PyTorch's prod_backward: two zeros make every partial product 0, even beside an inf
    # (deltagrad's exclusive products gave 0 * inf = nan there).
    def run(lib, create_graph):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(x.prod(), x, create_graph=create_graph)
        return _np(g)
    for create_graph in (False, True):
        ours, theirs = run(dg, create_graph), run(torch, create_graph)
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("p", [0.5, 0.2, 1.5, 3.0])
def test_cdist_gradient_at_zero_distance_below_p_one(p):
    # cdist(a, a, p < 1): the zero self-distances gave nan over the whole gradient (0 ** p's
    # slope is inf); PyTorch's slope is 0 at a zero coordinate difference.
    def run(lib):
        a = lib.tensor([[[0.3, -1.2], [0.5, 0.5], [0.3, 2.0]]], dtype=lib.float64,
                       requires_grad=True)
        d = lib.cdist(a, a, p=p)
        (d * lib.arange(1, 10, dtype=d.dtype).reshape(d.shape)).sum().backward()
        return _np(d), _np(a.grad)
    (td, tg), (od, og) = _both(run)
    np.testing.assert_allclose(od, td, rtol=1e-12)
    np.testing.assert_allclose(og, tg, rtol=1e-10)


def test_pdist_p0_gradient_is_zeros():
    # PyTorch's pdist(p=0) has zero gradients (its vector_norm(ord=0) none): x.grad zeros
    def run(lib):
        x = lib.tensor([[0.3, -1.2], [0.5, 0.5], [0.3, 2.0]], requires_grad=True)
        d = lib.nn.functional.pdist(x, p=0)
        d.sum().backward()
        return _np(d), x.grad
    (td, tg), (od, og) = _both(run)
    np.testing.assert_array_equal(od, td)
    assert og is not None and tg is not None
    np.testing.assert_array_equal(_np(og), _np(tg))


@pytest.mark.parametrize("expr", ["F.relu(x)", "F.relu6(x)", "F.hardtanh(x, -0.5, 0.5)",
                                  "F.leaky_relu(x, 0.2)", "F.softshrink(x, 0.5)", "x.abs()",
                                  "F.rrelu(x, training=False)", "torch.nn.ReLU()(x)"])
def test_second_derivative_of_piecewise_linear_reaches_the_input(expr):
    # PyTorch's backward of these takes x as an input (threshold_backward, ...): the gradient
    # of the gradient requires grad and gives x.grad zeros; deltagrad's was None (and a
    # backward of it raised).
    def run(lib):
        x = lib.tensor([-2.0, -0.3, 0.0, 0.4, 3.0], dtype=lib.float64, requires_grad=True)
        y = eval(expr, {"F": lib.nn.functional, "torch": lib, "x": x})
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        assert g.requires_grad
        (g * lib.arange(1, 6, dtype=g.dtype)).sum().backward()
        return _np(g), x.grad
    (tg, tgrad), (og, ograd) = _both(run)
    np.testing.assert_array_equal(og, tg)
    assert tgrad is not None and ograd is not None
    np.testing.assert_array_equal(_np(ograd), _np(tgrad))


def test_hardswish_recorded_backward_at_infinities():
    # the recorded backward multiplied x / 3 + 1/2 by a 0 / 1 mask: inf * 0 = nan at x = inf
    def run(lib):
        x = lib.tensor([-7.2, math.inf, 0.5, -1.0, -math.inf, 3.0, -3.0], requires_grad=True)
        g, = lib.autograd.grad(lib.nn.functional.hardswish(x).sum(), x, create_graph=True)
        (g * lib.arange(1, 8.0)).sum().backward()
        return _np(g), _np(x.grad)
    (tg, tgrad), (og, ograd) = _both(run)
    np.testing.assert_allclose(og, tg, rtol=1e-6)
    np.testing.assert_allclose(ograd, tgrad, rtol=1e-6)


def test_func_grad_requires_grad_per_result():
    # grad(f, argnums=(0, 1)): a gradient that does not depend on an outer tensor requiring
    # grad does not require grad, though its sibling does (deltagrad kept the graph of all)
    def run(lib):
        u = lib.tensor([0.295, -1.06], dtype=lib.float64)
        v = lib.tensor([-1.686, 1.35], dtype=lib.float64, requires_grad=True)
        g = lib.func.grad(lambda a, b: a.logsumexp(0) * b.sum(), argnums=(0, 1))(u, v)
        h, val = lib.func.grad_and_value(lambda a, b: (a * a * b).sum(), argnums=(0, 1))(u, v)
        out, fn = lib.func.vjp(lambda a, b: (a * 2, b * a), u, v)
        back = fn((lib.ones(2, dtype=lib.float64), lib.ones(2, dtype=lib.float64)))
        return ([t.requires_grad for t in g + h + out + back] + [val.requires_grad],
                [_np(t) for t in g + h])
    (tflags, tvals), (oflags, ovals) = _both(run)
    assert oflags == tflags
    for o, t in zip(ovals, tvals):
        np.testing.assert_allclose(o, t, rtol=1e-12)


def test_copysign_of_bool_magnitude_backward():
    # the rule took NumPy's sign of the bool magnitude (no such loop: UFuncTypeError)
    def run(lib):
        a = lib.tensor([[True, False, True, True]])
        b = lib.tensor([[0.0, -math.inf, 710.0, -0.435]], dtype=lib.float64, requires_grad=True)
        c = lib.copysign(a, b)
        (c * lib.arange(1, 5)).sum().backward()
        return _np(c), _np(b.grad)
    (tc, tg), (oc, og) = _both(run)
    np.testing.assert_array_equal(oc, tc)
    np.testing.assert_array_equal(og, tg)


def test_float16_trigamma_at_poles_overflows_to_inf():
    # PyTorch computes float16 in float32 and rounds once: 1.35e12 at -20 is inf in float16;
    # the reflection rounded in float16 gave 26368
    def run(lib):
        x = lib.tensor([-20.0, -1.0, -3.0, -2000.0, -0.5, 3.0], dtype=lib.float16)
        return _np(lib.polygamma(1, x))
    theirs, ours = _both(run)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("slope, inplace", [(0.0, False), (0.0, True), (0.01, False),
                                            (1.0, True), (-0.5, False), (2.0, False)])
def test_leaky_relu_at_infinities(slope, inplace):  # (PyTorch refuses in place below 0)
    # negative_slope=0 took max(x, 0 * x): nan at x = inf, where PyTorch's is inf
    def run(lib):
        x = lib.tensor([math.inf, -math.inf, math.nan, -0.0, 2.0, -3.0], requires_grad=True)
        y = lib.nn.functional.leaky_relu(x * 1, slope, inplace=inplace)
        y.sum().backward()
        return _np(y), _np(x.grad)
    (ty, tg), (oy, og) = _both(run)
    np.testing.assert_array_equal(oy, ty)
    np.testing.assert_array_equal(og, tg)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy"])
def test_half_mean_with_every_target_ignored_has_zero_gradient(dtype, loss):
    # the half "mean" in steps divided the sum by a total weight of 0: nan gradients where
    # PyTorch's are 0 (1-d input, or weights of the counted targets all ignored)
    def run(lib):
        out = []
        for values, target, weight in (([-0.976, 0.335], 0, None),
                                       ([-0.525, -1.214, -0.595, 0.58], 1, [1.0, 1.4, .075, .9])):
            x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
            kw = {} if weight is None else {"weight": lib.tensor(weight, dtype=x.dtype)}
            inp = x.log_softmax(0) if loss == "nll_loss" else x
            value = getattr(lib.nn.functional, loss)(inp, lib.tensor(target),
                                                     ignore_index=target, **kw)
            value.backward()
            out += [_np(value), _np(x.grad)]
        return out
    theirs, ours = _both(run)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o, t)


@pytest.mark.parametrize("beta, threshold", [(1.0, 3.0), (2.0, 3.0), (-1.0, 3.0), (1.0, 20.0)])
def test_softplus_second_derivative_at_threshold(beta, threshold):
    # PyTorch's softplus_double_backward masks beta x < threshold: 0 at beta x == threshold,
    # though the first derivative there is the sigmoid's (deltagrad gave sigmoid')
    def run(lib):
        x = lib.tensor([-3.0, 10.0, 3.0, 1.5, 1.829], dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(lib.nn.functional.softplus(x, beta, threshold).sum(), x,
                               create_graph=True)
        (g * lib.arange(1, 6)).sum().backward()
        return _np(g), _np(x.grad)
    (tg, tgrad), (og, ograd) = _both(run)
    np.testing.assert_allclose(og, tg, rtol=1e-12)
    np.testing.assert_allclose(ograd, tgrad, rtol=1e-12, atol=1e-15)
