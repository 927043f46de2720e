"""What the session-23 model zoo (LE12, tests/programs/test_s23_LE12_zoo.py) found missing, now
as PyTorch has it: ``torch._check`` and its family (transformers' ProphetNet checks a tensor
condition with ``_check_tensor_all_with``), ``torch._softmax_backward_data`` /
``_log_softmax_backward_data`` (SEW-D's custom softmax backward) and the ``torch._C.Graph`` /
``Value`` names SEW-D's ONNX ``symbolic`` annotates with. Each case runs in both libraries."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _outcome(run):
    """``("ok", result)`` or ``("raises", exception class name, message)``."""
    try:
        return "ok", run()
    except Exception as error:  # noqa: BLE001 - the class and message are what is compared
        return "raises", type(error).__name__, str(error)


CHECKS = [
    ("_check", (True,)), ("_check", (False,)), ("_check", (False, lambda: "bad size 3")),
    ("_check_index", (False, lambda: "index 9")), ("_check_value", (False,)),
    ("_check_type", (False, lambda: 7)), ("_check_not_implemented", (False, lambda: "no")),
    ("_check", (1,)), ("_check", (False, "not callable")), ("_check_value", (True, "x")),
]


@pytest.mark.parametrize("name, args", CHECKS, ids=[f"{n}{i}" for i, (n, _) in
                                                   enumerate(CHECKS)])
def test_check_family(name, args):
    expected = _outcome(lambda: getattr(torch, name)(*args))
    assert _outcome(lambda: getattr(dg, name)(*args)) == expected


@pytest.mark.parametrize("error", [RuntimeError, ValueError, KeyError, UserWarning])
@pytest.mark.parametrize("values", [[True, True], [True, False], [], [[False]]])
def test_check_with_and_tensor_all(error, values):
    expected = _outcome(lambda: torch._check_with(error, bool(np.all(values)), lambda: "m"))
    assert _outcome(lambda: dg._check_with(error, bool(np.all(values)), lambda: "m")) == expected

    def tensor_all(L):
        return L._check_tensor_all_with(error, L.tensor(values, dtype=L.bool), lambda: "all")

    assert _outcome(lambda: tensor_all(dg)) == _outcome(lambda: tensor_all(torch))


@pytest.mark.parametrize("cond", [lambda L: L.tensor([1, 0]), lambda L: True,
                                  lambda L: L.tensor(True), lambda L: None])
def test_check_tensor_all_and_check_refuse_other_conditions(cond):
    for name in ("_check_tensor_all", "_check"):
        expected = _outcome(lambda name=name: getattr(torch, name)(cond(torch)))
        got = _outcome(lambda name=name: getattr(dg, name)(cond(dg)))
        # (the messages name the condition's type: torch.Tensor vs deltagrad's Tensor)
        assert got[:2] == expected[:2], (name, got, expected)


def _softmax_case(L, kind, dim, dtype):
    rng = np.random.default_rng(4)
    x = L.tensor(rng.standard_normal((3, 4, 5)), dtype=dtype)
    g = L.tensor(rng.standard_normal((3, 4, 5)), dtype=dtype, requires_grad=True)
    if kind == "softmax":
        out = L.softmax(x, dim)
        result = L._softmax_backward_data(g, out, dim, dtype)
    else:
        out = L.log_softmax(x, dim)
        result = L._log_softmax_backward_data(g, out, dim, dtype)
    (result * L.arange(60, dtype=dtype).reshape(3, 4, 5)).sum().backward()
    return result.detach().numpy(), str(result.dtype).split(".")[-1], g.grad.numpy()


@pytest.mark.parametrize("kind", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, -1, 1])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_backward_data(kind, dim, dtype):
    expected = _softmax_case(torch, kind, dim, getattr(torch, dtype))
    got = _softmax_case(dg, kind, dim, getattr(dg, dtype))
    assert got[1] == expected[1]
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2], expected[2], rtol=1e-5, atol=1e-5)  # (differentiable)


def test_softmax_backward_data_errors():
    def mixed(L):
        return L._softmax_backward_data(L.ones(2, 3), L.ones(2, 3, dtype=L.float64), 1,
                                        L.float32)

    def out_of_range(L):
        return L._softmax_backward_data(L.ones(2, 3), L.ones(2, 3), 2, L.float32)

    for case in (mixed, out_of_range):
        got = _outcome(lambda case=case: case(dg))
        assert got[:2] == _outcome(lambda case=case: case(torch))[:2]
    assert _outcome(lambda: mixed(dg)) == _outcome(lambda: mixed(torch))


def test_c_graph_names_for_annotations():
    # (SEW-D's module evaluates ``g: torch._C.Graph`` at import: the names must resolve)
    for name in ("Graph", "Value"):
        assert getattr(dg._C, name).__name__ == getattr(torch._C, name).__name__ == name
    with pytest.raises(RuntimeError, match="no TorchScript"):
        dg._C.Graph()


# --------------------------------------------------------------------------------------------
# cross_entropy of float16 / bfloat16 logits and class indices: PyTorch composes
# nll_loss(log_softmax(x)) in the half dtype, so its gradient (and the label-smoothing loss)
# come from the rounded log-probabilities; deltagrad's float32 path rounded once (a bf16 BERT's
# tied embedding gradient: 1,738 of 3,200 entries 1-2 ulps off in the zoo's bf16 mode).


def _ce_case(L, dtype, shape, reduction, smoothing, weighted, ignore):
    rng = np.random.default_rng(11)
    x = L.tensor(rng.standard_normal(shape) * 2, dtype=getattr(L, dtype), requires_grad=True)
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    target_shape = (shape[0], *shape[2:]) if len(shape) > 1 else ()
    target = L.tensor(rng.integers(0, n_classes, target_shape))
    if ignore and target.ndim:
        target[0] = -100
    weight = (L.tensor(rng.uniform(0.5, 2, n_classes), dtype=getattr(L, dtype)) if weighted
              else None)
    loss = L.nn.functional.cross_entropy(x, target, weight=weight, reduction=reduction,
                                         label_smoothing=smoothing)
    (loss * L.arange(loss.numel(), dtype=loss.dtype).reshape(loss.shape).add(1)).sum().backward()
    return (loss.detach().float().numpy(), str(loss.dtype).split(".")[-1],
            x.grad.float().numpy())


# (the cases of class weights that still differ: nll_loss's own, before and after the change)
_WEIGHTED_HALF_NLL = {
    ("bfloat16", (4, 7, 3), "mean", 0.2, True), ("float16", (4, 7, 3), "mean", 0.2, True),
    ("bfloat16", (4, 7, 3), "sum", 0.2, True), ("float16", (4, 7, 3), "sum", 0.2, True),
    ("float16", (18, 100), "none", 0.2, True), ("bfloat16", (18, 100), "mean", 0.0, True),
    ("float16", (4, 7, 3), "mean", 0.0, True), ("bfloat16", (4, 7, 3), "sum", 0.0, True)}


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("shape", [(18, 100), (4, 7, 3), (9,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing, weighted, ignore", [(0.0, False, True), (0.1, False, True),
                                                         (0.2, True, False), (0.0, True, True)])
def test_half_cross_entropy_bits(dtype, shape, reduction, smoothing, weighted, ignore):
    expected = _ce_case(torch, dtype, shape, reduction, smoothing, weighted, ignore)
    got = _ce_case(dg, dtype, shape, reduction, smoothing, weighted, ignore)
    if (dtype, shape, reduction, smoothing, weighted) in _WEIGHTED_HALF_NLL:
        same = all(np.array_equal(a, b) for a, b in zip(expected, got))
        assert not same, "passes now: remove it from _WEIGHTED_HALF_NLL"
        pytest.xfail("nll_loss of half scores with class weights: PyTorch's value of [N, C, d]"
                     " inputs and its weighted gradients differ by an ulp (left, session 23)")
    assert got[1] == expected[1]
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[2], expected[2])


# --------------------------------------------------------------------------------------------
# float16 times / over a Python number: PyTorch's MulBackward / DivBackward read the number as
# the forward does (float32, unrounded), so the gradient is half(g * 0.001); deltagrad's node
# kept half(0.001) (287 of 500 gradients an ulp off). Found by the zoo's bf16 / half checks.

_SCALAR_OPS = {"mul": lambda x: x * 0.001, "rmul": lambda x: 0.9 * x, "div": lambda x: x / 0.3,
               "mul_int": lambda x: x * 3, "chain": lambda x: (x * 0.1 + 1) / 0.7}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", list(_SCALAR_OPS))
def test_half_times_number_gradient(dtype, name):
    def run(L):
        rng = np.random.default_rng(2)
        x = L.tensor(rng.standard_normal(500).astype(np.float32) * 3, dtype=getattr(L, dtype),
                     requires_grad=True)
        g = L.tensor(rng.standard_normal(500).astype(np.float32) * 3, dtype=getattr(L, dtype))
        y = _SCALAR_OPS[name](x)
        y.backward(g)
        return y.detach().float().numpy(), x.grad.float().numpy(), str(x.grad.dtype)[-8:]

    expected, got = run(torch), run(dg)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(b, a)


# --------------------------------------------------------------------------------------------
# float64 -> float16: PyTorch converts through float32 (c10::Half is made from a float), so a
# value near a float16 rounding midpoint rounds twice; NumPy's direct cast rounds once (1 of
# 2000 random values an ulp apart) in tensor(), .half() / .to() / .type(), copy_, x[i] = v,
# fill_ and full.

_CONVERSIONS = {
    "tensor": lambda L, v: L.tensor(v, dtype=L.float16),
    "tensor_list": lambda L, v: L.tensor(v.tolist(), dtype=L.float16),
    "half": lambda L, v: L.from_numpy(v.copy()).half(),
    "to": lambda L, v: L.from_numpy(v.copy()).to(L.float16),
    "copy_": lambda L, v: L.empty(len(v), dtype=L.float16).copy_(L.from_numpy(v.copy())),
    "setitem": lambda L, v: _set(L.zeros(len(v), dtype=L.float16), slice(None),
                                 L.from_numpy(v.copy())),
    "setitem_number": lambda L, v: _set(L.zeros(3, dtype=L.float16), 1, float(v[84])),
    "fill_": lambda L, v: L.zeros(3, dtype=L.float16).fill_(float(v[84])),
    "full": lambda L, v: L.full((2,), float(v[84]), dtype=L.float16),
    "bfloat16": lambda L, v: L.tensor(v, dtype=L.bfloat16),
}


def _set(tensor, index, value):
    tensor[index] = value
    return tensor


@pytest.mark.parametrize("name", list(_CONVERSIONS))
def test_float64_to_half_rounds_through_float32(name):
    v = np.random.default_rng(1).standard_normal(500) * 3  # (v[84]: a double-rounding case)
    expected = _CONVERSIONS[name](torch, v).float().numpy()
    np.testing.assert_array_equal(_CONVERSIONS[name](dg, v).float().numpy(), expected)


# --------------------------------------------------------------------------------------------
# bfloat16 x ** c: PyTorch's pow_backward, grad * (c * x.pow(c - 1)), rounds each step to
# bfloat16; deltagrad's rule ran in float32 and rounded once (217 of 576 gradients of x ** 3
# an ulp off: GPT-2's gelu_new under bf16 in the zoo's modes).


@pytest.mark.parametrize("exponent", [3.0, 3, 2.0, 1.5, 0.5, -2.0, 2.7])
def test_bf16_pow_scalar_gradient(exponent):
    def run(L):
        rng = np.random.default_rng(3)
        x = L.tensor(rng.uniform(0.2, 3, (18, 32)).astype(np.float32), dtype=L.bfloat16,
                     requires_grad=True)
        g = L.tensor(rng.standard_normal((18, 32)).astype(np.float32), dtype=L.bfloat16)
        y = x ** exponent
        y.backward(g)
        return y.detach().float().numpy(), x.grad.float().numpy(), str(x.grad.dtype)[-8:]

    expected, got = run(torch), run(dg)  # (2.7: exponent - 1 in bfloat16, s24 BR6)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(b, a)
