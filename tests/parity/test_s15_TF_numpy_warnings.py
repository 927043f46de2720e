"""NumPy's floating-point RuntimeWarnings ("invalid value", "divide by zero", "overflow
encountered in ...") must not reach a program where PyTorch gives its inf / nan silently: inf -
inf, inf * 0, sums and products that overflow, log 0 inside logsumexp. Each op runs on special
values (0, -0, inf, -inf, nan, huge, tiny) forward and backward, once with the default warning
filters and once under ``simplefilter("error", RuntimeWarning)`` (a warnings-as-errors test
suite), and gives PyTorch's values. Before session 15, 53 of these ops warned (the sweep of
PyTorch's OpInfo samples and these values; most from add / sub / mul and the reductions)."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops.elementwise_math import QUIET_ENGINE_CALLS

torch = pytest.importorskip("torch")

SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan, 3e38, -3e38, 1e-40, 1.0, -2.5, 89.0]
PAIRS = list(itertools.product(SPECIALS, SPECIALS))


def _unary(name):
    def call(m, x):
        F = m.nn.functional
        return {
            "sum": lambda: m.sum(x), "sum_dim": lambda: x.sum(0), "mean": lambda: m.mean(x),
            "prod": lambda: m.prod(x), "var": lambda: m.var(x), "std": lambda: x.std(),
            "nanmean": lambda: m.nanmean(x), "logsumexp": lambda: m.logsumexp(x, 0),
            "cumsum": lambda: m.cumsum(x, 0), "cumprod": lambda: m.cumprod(x, 0),
            "logcumsumexp": lambda: m.logcumsumexp(x, 0), "norm": lambda: m.linalg.norm(x),
            "silu": lambda: F.silu(x), "mish": lambda: F.mish(x),
            "hardswish": lambda: F.hardswish(x), "neg_sum": lambda: (-x).sum(),
        }[name]()
    return call


def _binary(name):
    def call(m, x, y):
        F = m.nn.functional
        return {
            "add": lambda: x + y, "sub": lambda: x - y, "mul": lambda: x * y,
            "add_fn": lambda: m.add(x, y, alpha=2), "sub_fn": lambda: m.sub(x, y),
            "mul_fn": lambda: m.mul(x, y), "dist": lambda: m.dist(x, y),
            "isclose": lambda: m.isclose(x, y), "mse_loss": lambda: F.mse_loss(x, y),
            "l1_loss": lambda: F.l1_loss(x, y), "smooth_l1_loss": lambda: F.smooth_l1_loss(x, y),
            "huber_loss": lambda: F.huber_loss(x, y),
            "bce_with_logits": lambda: F.binary_cross_entropy_with_logits(x, y.clamp(0, 1)),
            "soft_margin_loss": lambda: F.soft_margin_loss(x, y),
            "poisson_nll_loss": lambda: F.poisson_nll_loss(x, y),
        }[name]()
    return call


UNARY = ["sum", "sum_dim", "mean", "prod", "var", "std", "nanmean", "logsumexp", "cumsum",
         "cumprod", "logcumsumexp", "norm", "silu", "mish", "hardswish", "neg_sum"]
BINARY = ["add", "sub", "mul", "add_fn", "sub_fn", "mul_fn", "dist", "isclose", "mse_loss",
          "l1_loss", "smooth_l1_loss", "huber_loss", "bce_with_logits", "soft_margin_loss",
          "poisson_nll_loss"]
DTYPES = ["float32", "float64", "float16", "bfloat16"]
# Values at these special inputs differ from PyTorch's for reasons other than warnings (the
# README lists them; only "no warning" is checked for them). Session 16 (SK) fixed 12 of the 22:
# the gradients of clamp (so bce_with_logits), smooth_l1 / huber and var, and the one-element
# norm (so dist). Left:
# - add_fn float32: PyTorch fuses x + alpha * y (one rounding, an FMA); deltagrad rounds alpha * y
#   first, which overflows at 3e38 (a float64 path measured 3-4x slower on every add with alpha).
# - cumprod: with a zero in the slice, PyTorch divides by x before the first zero (inf / inf =
#   nan at [inf, 0]); deltagrad's product of the others is exact (1).
# - var / std bfloat16 at 3e38 (and std's gradient at 1e-40): PyTorch's CPU Welford
#   accumulates in float64, deltagrad in float32 (overflows to inf; underflows to 0).
# - var / std float32 at [3e38, 3e38]: deltagrad works in float64 throughout (0; session 21,
#   bitwise PyTorch's on 2911 of 2911 random inputs), PyTorch's float32 mean overflows (inf).
# - logsumexp bfloat16: PyTorch rounds exp and the sum to bfloat16 before the log (0.0752 at
#   [0, -2.5]); deltagrad's is nearer the exact 0.0789 (0.0791).
# - logcumsumexp bfloat16: no kernel (skipped below).
KNOWN_VALUES = {
    ("var", "bfloat16"), ("var", "float32"), ("std", "float32"), ("std", "bfloat16"),
    ("logsumexp", "bfloat16"), ("cumprod", "float32"), ("cumprod", "float64"),
    ("logcumsumexp", "bfloat16"), ("add_fn", "float32"),
}


def _inputs(arity):
    if arity == 1:  # every special alone, and in pairs (inf with -inf, with nan, ...)
        return [([v],) for v in SPECIALS] + [([a, b],) for a, b in PAIRS]
    return [([a for a, _ in PAIRS], [b for _, b in PAIRS])] + [([a], [b]) for a, b in PAIRS]


def _run(m, call, values, dtype, grad):
    tensors = [m.tensor(v, dtype=getattr(m, dtype), requires_grad=grad) for v in values]
    out = call(m, *tensors)
    grads = ()
    if grad and out.requires_grad:
        grads = m.autograd.grad(out, tensors, m.ones_like(out), allow_unused=True)
    return out, grads


def _numpy(t):
    return None if t is None else t.detach().to(dg.float64 if isinstance(t, dg.Tensor)
                                                else torch.float64).numpy()


def _program_filters():
    for quiet in QUIET_ENGINE_CALLS:
        warnings.filterwarnings(**quiet)


# PyTorch's results do not depend on the mode (the filters are deltagrad's side only): each is
# computed in whichever of an op's two mode tests runs first and taken by the other (popped
# then). PyTorch's side was ~25% of a check; with _assert_close's fast path the file went 16.2 ->
# 12.3 CPU s (session 18, one torch thread both times).
_EXPECTED: dict = {}


def _expected(key, call, values, dtype, grad):
    """PyTorch's (output, gradients) for these values, or None where it raises."""
    if key in _EXPECTED:
        return _EXPECTED.pop(key)
    try:
        _EXPECTED[key] = _run(torch, call, values, dtype, grad)
    except RuntimeError:  # (not differentiable here in PyTorch either)
        _EXPECTED[key] = None
    return _EXPECTED[key]


def _check(name, call, arity, dtype, mode, values_too=True):
    grad = dtype in ("float32", "float64")
    for index, values in enumerate(_inputs(arity)):
        result = _expected((name, dtype, index), call, values, dtype, grad)
        if result is None:
            continue
        expected, expected_grads = result
        with warnings.catch_warnings(record=True) as seen:
            if mode == "error":  # (pytest's -W error: the engine's filters are not there)
                warnings.simplefilter("error", RuntimeWarning)
            else:  # (a program's filters after `import deltagrad`: pytest's collection
                # drops those made at import, see _program_filters)
                _program_filters()
            got, got_grads = _run(dg, call, values, dtype, grad)
        assert not [f"{w.message} ({w.filename}:{w.lineno})" for w in seen
                    if issubclass(w.category, RuntimeWarning)], \
            values
        if not values_too:
            continue
        _assert_close(_numpy(got), _numpy(expected), 2e-2, 1e-3, f"{values}")
        for g, e in zip(got_grads, expected_grads):
            if e is not None and g is not None:
                _assert_close(_numpy(g), _numpy(e), 1e-3, 1e-5, f"grad {values}")


def _assert_close(got, expected, rtol, atol, message):
    # (arrays equal bit for bit, nan where nan, pass assert_allclose: skipped; its checks took
    # ~25% of a check's CPU time, mostly on such pairs)
    if got.shape == expected.shape and np.array_equal(got, expected, equal_nan=True):
        return
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True,
                               err_msg=message)


@pytest.mark.parametrize("mode", ["default", "error"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNARY)
def test_reductions_and_activations_of_special_values_do_not_warn(name, dtype, mode):
    if (name, dtype) == ("logcumsumexp", "bfloat16"):
        pytest.skip("deltagrad's logcumsumexp has no bfloat16 kernel (NotImplementedError)")
    _check(name, _unary(name), 1, dtype, mode, (name, dtype) not in KNOWN_VALUES)


@pytest.mark.parametrize("mode", ["default", "error"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", BINARY)
def test_arithmetic_and_losses_of_special_values_do_not_warn(name, dtype, mode):
    _check(name, _binary(name), 2, dtype, mode, (name, dtype) not in KNOWN_VALUES)


def test_a_program_sees_no_numpy_warning_where_pytorch_gives_none():
    # (a script: the filters made at import are in place; NumPy's own warnings still show)
    script = """
import warnings, numpy as np
import deltagrad as torch
x = torch.tensor([float('inf'), 3e38, 0.0], requires_grad=True)
y = torch.tensor([float('inf'), 3e38, float('inf')])
out = (x - y) + x * y + torch.stack([x, -x]).sum(0) + x.cumsum(0) * 2
out.sum().backward()
torch.nn.functional.mse_loss(x, y).item()
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    np.log(np.zeros(1))
print(len(seen))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "1" and "RuntimeWarning" not in done.stderr, done.stderr


def test_numpy_itself_still_warns_in_a_program():
    # (the filter matches the engine's own frames only: a program's NumPy is NumPy's)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        np.array([np.inf]) - np.array([np.inf])
    assert any("invalid value" in str(w.message) for w in seen)
    with pytest.warns(RuntimeWarning):
        np.log(np.zeros(2))
