"""Second adversarial pass over the fast paths against PyTorch: inputs at the edges where a
shortcut (or a rule's formula) gave a silently different value or gradient (see each test)."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402


@pytest.mark.parametrize("batch", [(), (2,), (4,), (9,)])  # one, looped and batched LAPACK paths
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logdet_negative_determinant_has_zero_gradient(batch, dtype):
    # PyTorch's logdet is nan where det < 0 with a zero gradient there; the gradient was
    # log|det|'s (A^-T), finite and nonzero, under a nan loss.
    rng = np.random.default_rng(0)
    a = rng.standard_normal(batch + (3, 3)) + 3 * np.eye(3)
    if batch:
        a[0, 0] *= -1  # one negative determinant in the batch, the others positive
    else:
        a[0] *= -1
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}
    check(lambda m, x: m.logdet(x), Arg(a.astype(dtype)), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_heaviside_zero_dim_input_with_values(dtype):
    # A 0-d input with values of any other shape took the 0-d-only branch of the forward and
    # raised (the truth value of an array); PyTorch broadcasts.
    values = np.array([0.0, 1.0, -1.0, np.inf, np.nan, 0.5], dtype)
    for x in (0.0, -0.0, 2.0, -2.0, np.nan):
        check(lambda m, a, v: m.heaviside(a, v), Arg(np.array(x, dtype), False),
              Arg(values, False), grad=False)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logaddexp_gradient_at_infinity(name, dtype):
    # exp(x - out) is exp(inf - inf) = nan where x = out = inf; PyTorch's slopes there are 1
    # for the infinite input and 0 for the other (nan only for inf with inf).
    w = np.array([0.0, 1.0, -1.0, np.inf, -np.inf, np.nan], dtype)
    x, y = (a.ravel() for a in np.meshgrid(w, w))
    check(lambda m, a, b: getattr(m, name)(a, b), Arg(x), Arg(y))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softshrink_gradient_at_nan(dtype):
    # PyTorch's slope is 0 only where -lambd <= x <= lambd: 1 at nan (it was 0 here).
    x = np.array([np.nan, -1.0, 0.2, 0.5, -0.5, 7.0], dtype)
    check(lambda m, a: m.nn.functional.softshrink(a), Arg(x))
    check(lambda m, a: m.nn.functional.softshrink(a, 0.0), Arg(np.array(np.nan, dtype)))


def test_hardshrink_keeps_nan():
    import torch

    import deltagrad as dg

    x = np.array([np.nan, 0.2, -0.7, 0.5, np.inf], np.float32)
    a, b = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = dg.nn.functional.hardshrink(a), torch.nn.functional.hardshrink(b)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
