"""Top-level in-place functions (``relu_(x)``, ``zero_(x)``, ``dropout_(x, p, train)``, ...),
``fill``, ``apply_`` / ``map_`` / ``map2_``, ``conj_physical_``, the anomaly switches and
``register_post_accumulate_grad_hook`` against PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

RNG = np.random.default_rng(3)
UNIT = RNG.uniform(-0.9, 0.9, (2, 3))
POSITIVE = RNG.uniform(1.1, 3.0, (2, 3))
INTS = np.array([[4, -6, 9], [0, 12, 7]])

# name -> (input values, extra positional arguments, keyword arguments)
FUNCTIONS = {
    "abs_": (UNIT, (), {}), "acos_": (UNIT, (), {}), "acosh_": (POSITIVE, (), {}),
    "arccos_": (UNIT, (), {}), "arccosh_": (POSITIVE, (), {}), "arcsin_": (UNIT, (), {}),
    "arcsinh_": (UNIT, (), {}), "arctan_": (UNIT, (), {}), "arctanh_": (UNIT, (), {}),
    "asin_": (UNIT, (), {}), "asinh_": (UNIT, (), {}), "atan_": (UNIT, (), {}),
    "atanh_": (UNIT, (), {}), "ceil_": (UNIT, (), {}), "clamp_": (UNIT, (-0.5, 0.5), {}),
    "clamp_max_": (UNIT, (0.2,), {}), "clamp_min_": (UNIT, (), {"min": -0.1}),
    "clip_": (UNIT, (), {"max": 0.3}), "conj_physical_": (UNIT, (), {}), "cos_": (UNIT, (), {}),
    "cosh_": (UNIT, (), {}), "deg2rad_": (UNIT, (), {}), "erf_": (UNIT, (), {}),
    "erfc_": (UNIT, (), {}), "exp2_": (UNIT, (), {}), "exp_": (UNIT, (), {}),
    "expm1_": (UNIT, (), {}), "fill_": (UNIT, (2.5,), {}), "fix_": (UNIT * 3, (), {}),
    "floor_": (UNIT, (), {}), "frac_": (UNIT * 3, (), {}), "i0_": (UNIT, (), {}),
    "log10_": (POSITIVE, (), {}), "log1p_": (POSITIVE, (), {}), "log2_": (POSITIVE, (), {}),
    "log_": (POSITIVE, (), {}), "logit_": (np.abs(UNIT), (), {"eps": 0.1}),
    "nan_to_num_": (np.array([np.nan, np.inf, 1.0]), (), {"posinf": 9.0}),
    "neg_": (UNIT, (), {}), "negative_": (UNIT, (), {}), "rad2deg_": (UNIT, (), {}),
    "reciprocal_": (POSITIVE, (), {}), "relu_": (UNIT, (), {}),
    "round_": (UNIT * 10, (), {"decimals": 1}), "rsqrt_": (POSITIVE, (), {}),
    "sigmoid_": (UNIT, (), {}), "sin_": (UNIT, (), {}), "sinc_": (UNIT, (), {}),
    "sinh_": (UNIT, (), {}), "sqrt_": (POSITIVE, (), {}), "square_": (UNIT, (), {}),
    "tan_": (UNIT, (), {}), "tanh_": (UNIT, (), {}), "trunc_": (UNIT * 3, (), {}),
    "zero_": (UNIT, (), {}), "celu_": (UNIT, (), {"alpha": 2.0}), "selu_": (UNIT, (), {}),
    "threshold_": (UNIT, (0.1, 20.0), {}), "rrelu_": (UNIT, (0.1, 0.3), {}),
    "dropout_": (UNIT, (0.5, False), {}), "alpha_dropout_": (UNIT, (0.5, False), {}),
    "feature_alpha_dropout_": (UNIT, (0.5, False), {}),
}
TWO_TENSORS = {"gcd_": INTS, "lcm_": INTS, "ldexp_": UNIT, "xlogy_": POSITIVE}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_changes_its_input(name):
    values, args, kwargs = FUNCTIONS[name]

    def call(m, x):
        target = x * 1.0 if x.requires_grad else x.clone()  # a non-leaf: gradients flow
        out = getattr(m, name)(target, *args, **kwargs)
        assert out is target
        return target

    # (PyTorch has no derivative for in-place asinh / acosh / atanh: values only there)
    grad = not any(n in name for n in ("asinh", "acosh", "atanh", "arcsinh", "arccosh", "arctanh"))
    check(call, Arg(values), rtol=1e-6, grad=grad)
    check(call, Arg(values.astype(np.float32)), rtol=1e-5, grad=grad)


@pytest.mark.parametrize("name", sorted(TWO_TENSORS))
def test_two_tensor_functions(name):
    values = TWO_TENSORS[name]
    other = np.array([2, 3, 2]) if name == "ldexp_" else values[::-1].copy()

    def call(m, x, y):
        target = x.clone()
        assert getattr(m, name)(target, y) is target
        return target

    check(call, Arg(values, False), Arg(other, False))


@pytest.mark.parametrize("name", ["relu_", "exp_", "zero_", "celu_", "dropout_"])
def test_errors(name):
    values, args, kwargs = FUNCTIONS[name]
    check(lambda m: getattr(m, name)(1.5, *args, **kwargs))  # not a tensor: TypeError
    check(lambda m, x: getattr(m, name)(x, *args, **kwargs), Arg(values))  # a leaf with grad


def test_detach_and_index_put():
    def detach(m, x):
        y = x * 2.0
        assert m.detach_(y) is y
        return y

    check(detach, Arg(UNIT), grad=False)
    check(lambda m, x: m.index_put_(x.clone(), (m.tensor([0, 1]),), m.tensor(5.0),
                                    accumulate=True), Arg(UNIT))
    check(lambda m, x: m.addmv_(x.clone()[0, :2], m.ones(2, 3, dtype=m.float64), x[1]),
          Arg(UNIT))


def test_fill():
    check(lambda m, x: m.fill(x, 3.5), Arg(UNIT))
    check(lambda m, x: m.fill(x, 2.7), Arg(INTS))
    check(lambda m, x, v: m.fill(x, v), Arg(UNIT), Arg(np.array(1.5)))
    check(lambda m, x, v: m.fill(x, v), Arg(UNIT), Arg(np.ones(2)))  # a 1-d value: error


def test_apply_map_map2():
    def apply(m, x):
        y = x.clone()
        assert y.apply_(lambda v: v * 2.7 + 1) is y
        return y

    check(apply, Arg(INTS), grad=False)
    check(apply, Arg(UNIT, False), grad=False)
    check(apply, Arg(np.array([True, False])), grad=False)
    check(lambda m, x: x.apply_(lambda v: v), Arg(UNIT))  # requires grad: RuntimeError
    check(lambda m, x: x.clone().T.apply_(lambda v: v + 1), Arg(UNIT, False), grad=False)
    check(lambda m, x, y: x.clone().map_(y, lambda a, b: a * 10 + b), Arg(UNIT, False),
          Arg(UNIT[0], False), grad=False)
    check(lambda m, x, y: x.clone().map_(y, lambda a, b: a), Arg(UNIT, False),
          Arg(np.ones(4), False))  # not broadcastable: RuntimeError
    check(lambda m, x, y: x.clone().map_(y, lambda a, b: a), Arg(UNIT, False),
          Arg(INTS[0], False))  # another dtype: TypeError
    check(lambda m, x, y: x.map_(y, lambda a, b: a), Arg(UNIT), Arg(UNIT))  # requires grad
    check(lambda m, x, y, z: x.clone().map2_(y, z, lambda a, b, c: a + b * c),
          Arg(UNIT, False), Arg(UNIT[1], False), Arg(UNIT[:, :1].copy(), False), grad=False)


def test_conj_physical_of_a_real_tensor_is_itself():
    x = dg.tensor([1.0, -2.0])
    assert dg.conj_physical_(x) is x and x.conj_physical_() is x
    assert x.tolist() == [1.0, -2.0]


def test_anomaly_switches():
    assert dg.is_anomaly_check_nan_enabled() is torch.is_anomaly_check_nan_enabled() is True
    try:
        for mode in (True, False):
            torch.set_anomaly_enabled(mode)
            dg.set_anomaly_enabled(mode)
            assert dg.is_anomaly_enabled() == torch.is_anomaly_enabled() == mode
        # Anomaly mode without its NaN checks (session 10): both flags as PyTorch's.
        for m in (torch, dg):
            m.set_anomaly_enabled(True, check_nan=False)
        assert dg.is_anomaly_enabled() == torch.is_anomaly_enabled() is True
        assert (dg.is_anomaly_check_nan_enabled() == torch.is_anomaly_check_nan_enabled()
                is False)
        for m in (torch, dg):
            m.set_anomaly_enabled(False, check_nan=True)
        assert not dg.is_anomaly_enabled()
    finally:
        torch.set_anomaly_enabled(False)
        dg.set_anomaly_enabled(False)


@pytest.mark.parametrize("m", [torch, dg], ids=["torch", "deltagrad"])
def test_post_accumulate_grad_hook(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    order = []
    x.register_hook(lambda g: order.append("grad hook"))
    def post(t):
        order.append("post")
        seen.append(t.grad.clone())

    handle = x.register_post_accumulate_grad_hook(post)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert [s.tolist() for s in seen] == [[3.0] * 3, [6.0] * 3]
    assert order == ["grad hook", "post"] * 2
    m.autograd.grad((x * 2).sum(), x)  # grad() accumulates nothing: no call
    assert len(seen) == 2
    handle.remove()
    (x * 3).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        m.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    x.register_post_accumulate_grad_hook(lambda t: 5)
    with pytest.raises(TypeError, match="returned 'int'"):
        (x * 1).sum().backward()
