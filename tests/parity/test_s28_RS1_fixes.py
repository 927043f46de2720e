"""Session 28, RS1: differences the fuzzer families' soak runs found on this session's tree,
each run on deltagrad and on PyTorch (same code, same inputs)."""
from __future__ import annotations

import warnings

import pytest

import deltagrad

torch = pytest.importorskip("torch")


def _outcome(lib, fn):
    """``fn(lib)``'s result as plain data, or the exception's type and message start."""
    try:
        out = fn(lib)
    except Exception as exc:  # (the type is compared: deltagrad raises PyTorch's classes)
        return ("raises", type(exc).__name__, str(exc).split(".")[0])
    return ("value", str(out.dtype).split(".")[-1], str(out.detach().tolist()))  # (nan == nan)


def _heaviside_mixed(lib, grad_input, grad_values, values_dtype, out=False):
    x = lib.tensor([-0.5, 1.0, 0.0, 2.0], dtype=lib.bfloat16, requires_grad=grad_input)
    v = lib.tensor([0.25, 0.5, -1.0, 1.0], dtype=getattr(lib, values_dtype),
                   requires_grad=grad_values)
    if out:
        return lib.heaviside(x.detach(), v.detach(), out=lib.empty(4, dtype=lib.bfloat16))
    return lib.heaviside(x, v)


@pytest.mark.parametrize("grad_input,grad_values", [(False, False), (True, False),
                                                    (False, True), (True, True)],
                         ids=["none", "input", "values", "both"])
@pytest.mark.parametrize("values_dtype", ["float32", "bfloat16"])
def test_heaviside_mixed_dtypes_raise_with_grad(grad_input, grad_values, values_dtype):
    # SL7 seed 101 program 101: heaviside(bfloat16 requiring grad, float32) computed a
    # promoted float32 result where PyTorch refuses different dtypes (only the no-grad fast
    # path checked them).
    def fn(lib):
        return _heaviside_mixed(lib, grad_input, grad_values, values_dtype)

    assert _outcome(deltagrad, fn) == _outcome(torch, fn)


def test_heaviside_mixed_dtypes_out_and_zero_dim():
    def zero_dim(lib):
        x = lib.tensor([-0.5, 0.0, 2.0], requires_grad=True)
        return lib.heaviside(x, lib.tensor(0.5, dtype=lib.float64))

    def same_int(lib):
        return lib.heaviside(lib.tensor([-1, 0, 3]), lib.tensor(7))

    for fn in (zero_dim, same_int,
               lambda lib: _heaviside_mixed(lib, False, False, "float32", out=True),
               lambda lib: _heaviside_mixed(lib, False, False, "bfloat16", out=True)):
        assert _outcome(deltagrad, fn) == _outcome(torch, fn)


def test_pow_bool_exponent_tensor_backward_raises():
    # SL_progfuzz seed 102 program 459: x ** bool_tensor's backward gave zeros where PyTorch's
    # rule (y * x ** (y - 1)) raises on the bool subtraction; a Python bool exponent and a
    # bool exponent with a base not requiring grad still work.
    def tensor_exponent(lib):
        x = lib.tensor([1.5, 2.0, 0.5], requires_grad=True)
        return lib.autograd.grad((x ** lib.tensor([True, False, True])).sum(), x)[0]

    def zero_dim_exponent(lib):
        x = lib.tensor([1.5, 2.0], requires_grad=True)
        return lib.autograd.grad(lib.pow(x, lib.tensor(True)).sum(), x)[0]

    def python_bool(lib):
        x = lib.tensor([1.5, 2.0], requires_grad=True)
        return lib.autograd.grad((x ** True).sum(), x)[0]

    def no_grad_base(lib):
        return lib.tensor([1.5, 2.0]) ** lib.tensor([True, False])

    for fn in (tensor_exponent, zero_dim_exponent, python_bool, no_grad_base):
        assert _outcome(deltagrad, fn) == _outcome(torch, fn), fn.__name__


@pytest.mark.parametrize("values", [[float("inf"), 1.0], [1.0, float("inf")], [1.0, 2.0],
                                    [2.0, float("-inf"), 3.0], [float("inf"), float("inf")],
                                    [1.0, float("nan"), float("inf")]],
                         ids=["inf-first", "inf-last", "finite", "ninf-mid", "two-inf",
                              "nan-inf"])
@pytest.mark.parametrize("fname", ["var_mean", "std_mean"])
def test_float64_moment_mean_with_inf_as_welford(values, fname):
    # SL5 seed 102 programs 120 / 198 / 471: PyTorch's float64 var_mean / std_mean take the mean
    # from a Welford pass (inf only where the inf is the last element); ours was the plain mean
    # (inf for [inf, 1.0], PyTorch's nan).
    def fn(lib):
        x = lib.tensor([values, values[::-1]], dtype=lib.float64)
        pieces = [getattr(lib, fname)(x, dim=1, correction=0)[1],
                  getattr(lib, fname)(x.t(), dim=0, correction=0)[1],
                  getattr(lib, fname)(x[0], correction=0)[1].reshape(1)]
        return lib.cat(pieces)

    assert _outcome(deltagrad, fn) == _outcome(torch, fn)


@pytest.mark.parametrize("case", ["int0d-mask", "int0d-mask-tensor-value", "int-mask",
                                  "mask-only", "read"])
def test_uint8_mask_write_beside_zero_dim_index(case):
    # SL4 seed 101 programs 22 / 44: x[torch.tensor(0), uint8_mask] = value wrote through the
    # deprecated mask where PyTorch (which reads a 0-d integer tensor index as an int) writes
    # one element through masked_fill_ and raises; a plain int beside the mask already did.
    def fn(lib):
        x = lib.zeros(2, 3)
        mask = lib.tensor([1, 0, 1], dtype=lib.uint8)
        if case == "int0d-mask":
            x[lib.tensor(0), mask] = 5.0
        elif case == "int0d-mask-tensor-value":
            x[lib.tensor(1), mask] = lib.tensor([7.0])
        elif case == "int-mask":
            x[0, mask] = 5.0
        elif case == "mask-only":
            x[lib.tensor([1, 0], dtype=lib.uint8)] = 5.0
        else:
            return x[lib.tensor(0), mask]
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the uint8 deprecation warning: both libraries)
        assert _outcome(deltagrad, fn) == _outcome(torch, fn)


@pytest.mark.parametrize("case", ["double-input-float-weight", "float-input-double-stats",
                                  "double-input-float-stats-eval", "same", "half-input"])
def test_batch_norm_mixed_float_dtypes_raise(case):
    # SL16 seed 102 program 520: a float64 BatchNorm1d whose weight was loaded as float32
    # (load_state_dict(assign=True)) ran and updated its running statistics; PyTorch's CPU
    # kernel raises RuntimeError for float32 / float64 mixes (half inputs take float32 ones).
    def fn(lib):
        F = lib.nn.functional
        x = lib.linspace(-1.0, 2.0, 12).reshape(4, 3)
        mean, var, weight = lib.zeros(3), lib.ones(3), lib.ones(3)
        training = True
        if case == "double-input-float-weight":
            x, mean, var = x.double(), mean.double(), var.double()
        elif case == "float-input-double-stats":
            mean, var = mean.double(), var.double()
        elif case == "double-input-float-stats-eval":
            x, weight, training = x.double(), weight.double(), False
        elif case == "half-input":
            x = x.half()
        out = F.batch_norm(x, mean, var, weight, None, training=training)
        return lib.cat([out.double().reshape(-1), mean.double()])

    ours, theirs = _outcome(deltagrad, fn), _outcome(torch, fn)
    assert ours[:2] == theirs[:2]
    if ours[0] == "value":  # (half: within its rounding)
        assert torch.allclose(torch.tensor(eval(ours[2])), torch.tensor(eval(theirs[2])),
                              rtol=2e-3, atol=2e-3)
