"""Differential table for the second round of per-op fast paths (issue 18) against PyTorch:
softmax / log_softmax sums by a product with ones (last axis, a matrix's first, and the
reductions they fall back to), F.softmax / F.log_softmax's direct call, heaviside's direct
result (and a nan input, 0 as PyTorch's), and svdvals with the forward's U and Vh kept for
the rule.

Each case sits on one side of a branch the fast paths take, so both sides are compared.
"""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402

R = np.random.default_rng(1802)
F32 = {"rtol": 1e-4, "atol": 1e-5}


def f64(*shape):
    return R.standard_normal(shape)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


def case(name, fn, *args, **options):
    return pytest.param(fn, args, options, id=name)


def _fsoftmax(name, dim):
    return lambda m, x: getattr(m.nn.functional, name)(x, dim=dim)


CASES = [
    # The sum by a product: the last axis (1-d, 2-d, 3-d), a matrix's first, negative dims;
    # the ufunc's reduce elsewhere (a 3-d first or middle axis) and for float16.
    *[case(f"{name}-{label}", _fsoftmax(name, dim), Arg(x), **tol)
      for name in ("softmax", "log_softmax")
      for label, x, dim, tol in (
          ("1d", f32(5), 0, F32), ("1d-neg", f64(5), -1, {}),
          ("2d-last", f32(3, 4), 1, F32), ("2d-first", f32(3, 4), 0, F32),
          ("2d-first-neg", f64(3, 4), -2, {}), ("3d-last", f32(2, 3, 4), -1, F32),
          ("3d-middle", f64(2, 3, 4), 1, {}), ("3d-first", f32(2, 3, 4), 0, F32),
          ("size-one-dim", f32(4, 1), 1, F32), ("one-row", f64(1, 5), 0, {}),
          ("transposed", f32(4, 3).T, 1, F32), ("transposed-first", f64(5, 2).T, 0, {}),
          ("scale-30", f32(3, 4) * 30, 1, F32), ("large-f64", f64(2, 6) * 400, 1, {}))],
    case("softmax-f16", _fsoftmax("softmax", 1), Arg(f32(2, 3).astype(np.float16)),
         grad=False, rtol=1e-2, atol=1e-3),
    case("log_softmax-f16", _fsoftmax("log_softmax", 0), Arg(f32(2, 3).astype(np.float16)),
         grad=False, rtol=1e-2, atol=1e-3),
    case("log_softmax-inf", _fsoftmax("log_softmax", 1),
         Arg(np.array([[-np.inf, 0.0, 1.0], [2.0, np.inf, -1.0]])), grad=False),
    case("log_softmax-nan", _fsoftmax("log_softmax", 1),
         Arg(np.array([[1.0, np.nan, 3.0], [2.0, 5.0, -1.0]])), grad=False),
    # F.*'s other paths: a 0-d input, a dtype, an out-of-range dim (an error), ints
    case("log_softmax-0d", _fsoftmax("log_softmax", 0), Arg(np.array(0.7))),
    case("softmax-dtype", lambda m, x: m.nn.functional.softmax(x, dim=1, dtype=m.float64),
         Arg(f32(2, 3))),
    case("log_softmax-dim-out-of-range", _fsoftmax("log_softmax", 2), Arg(f32(2, 3))),
    case("softmax-int", _fsoftmax("softmax", 0), Arg(np.array([1, 2, 3]))),
    # heaviside: the direct result (no input requires grad) and apply's path
    case("heaviside-0d", lambda m, x, v: m.heaviside(x, v),
         Arg(np.float32(0.0)), Arg(np.float32(0.25)), grad=False),
    case("heaviside-values", lambda m, x, v: m.heaviside(x, v),
         Arg(np.array([-1.5, 0.0, 2.0, np.nan, -0.0], np.float32)),
         Arg(np.array([0.5, 0.5, 0.5, 0.5, 0.3], np.float32)), grad=False),
    case("heaviside-0d-nan", lambda m, x, v: m.heaviside(x, v),
         Arg(np.float32(np.nan)), Arg(np.float32(0.25)), grad=False),
    case("heaviside-0d-nan-value", lambda m, x, v: m.heaviside(x, v),
         Arg(np.float64(0.0)), Arg(np.float64(np.nan)), grad=False),
    case("heaviside-nan-value-at-zero", lambda m, x, v: m.heaviside(x, v),
         Arg(np.array([0.0, 1.0, np.nan, 0.0])), Arg(np.array([np.nan, np.nan, 0.5, -2.0])),
         grad=False),
    case("heaviside-broadcast", lambda m, x, v: m.heaviside(x, v),
         Arg(np.array([[-1.0, 0.0], [0.0, 3.0]])), Arg(np.array([0.25, 0.75])), grad=False),
    case("heaviside-int", lambda m, x, v: m.heaviside(x, v),
         Arg(np.array([-2, 0, 3])), Arg(np.array([7, 7, 7]))),
    case("heaviside-bool", lambda m, x, v: m.heaviside(x, v),
         Arg(np.array([True, False])), Arg(np.array([False, True]))),
    case("heaviside-dtypes-differ", lambda m, x, v: m.heaviside(x, v),
         Arg(np.array([1.0, 0.0], np.float32)), Arg(np.array([0.5, 0.5])), grad=False),
    case("heaviside-no-broadcast", lambda m, x, v: m.heaviside(x, v),
         Arg(np.zeros(3)), Arg(np.zeros(2)), grad=False),
    # svdvals: one matrix (LAPACK's gesdd, U and Vh kept), wide, tall, transposed, a batch
    case("svdvals-f64", lambda m, a: m.linalg.svdvals(a), Arg(f64(3, 4))),
    case("svdvals-f32-tall", lambda m, a: m.linalg.svdvals(a), Arg(f32(5, 2)), **F32),
    case("svdvals-transposed", lambda m, a: m.linalg.svdvals(a), Arg(f64(4, 3).T)),
    case("svdvals-batch", lambda m, a: m.linalg.svdvals(a), Arg(f64(2, 3, 3))),
    case("svdvals-no-grad", lambda m, a: m.linalg.svdvals(a), Arg(f64(3, 3), False)),
    case("svdvals-nan", lambda m, a: m.linalg.svdvals(a),
         Arg(np.array([[1.0, np.nan], [0.5, 2.0]]))),
    case("svdvals-inf-f32", lambda m, a: m.linalg.svdvals(a),
         Arg(np.array([[1.0, np.inf, 0.0], [0.5, 2.0, 1.0]], np.float32)), grad=False),
    case("svdvals-nan-batch", lambda m, a: m.linalg.svdvals(a),
         Arg(np.array([[[1.0, 2.0], [3.0, 4.0]], [[np.nan, 0.0], [1.0, 1.0]]]))),
    case("matrix_norm-nuc", lambda m, a: m.linalg.matrix_norm(a, "nuc"), Arg(f64(3, 4))),
    case("matrix_norm-2", lambda m, a: m.linalg.matrix_norm(a, 2), Arg(f64(4, 3))),
]


@pytest.mark.parametrize("fn, args, options", CASES)
def test_round2_fast_paths(fn, args, options):
    check(fn, *args, **options)


def test_svdvals_second_backward_recomputes():
    # The rule takes the forward's U and Vh once; a second backward (retain_graph) makes them
    # again and gives the same gradient.
    a = dg.tensor(f64(3, 4), requires_grad=True)
    s = dg.linalg.svdvals(a)
    s.sum().backward(retain_graph=True)
    first = a.grad.clone()
    s.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * first.numpy(), rtol=1e-12)


def test_svdvals_under_no_grad_keeps_nothing():
    a = dg.tensor(f64(3, 4), requires_grad=True)
    with dg.no_grad():
        s = dg.linalg.svdvals(a)
    assert not s.requires_grad
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(a.detach().numpy(), compute_uv=False))


def test_heaviside_keeps_its_graph_when_an_input_requires_grad():
    # The direct path is only for inputs that need no graph: with one, the result is recorded
    # and its backward raises PyTorch's error (heaviside has no derivative there).
    x = dg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    out = dg.heaviside(x, dg.tensor([0.5, 0.5, 0.5]))
    assert out.requires_grad
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside is not implemented"):
        out.sum().backward()
