"""nll_loss's fast path (one bounds check at the nn level) and its Scratch slot (the rule takes
the forward's coefficients): the same values, gradients and errors as PyTorch's."""

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad._engine.ops.losses import _nll_forward, _nll_parts, _nll_vjp
from deltagrad._engine.ops.nn import Scratch
from deltagrad._engine.ops.registry import ARRAY

torch = pytest.importorskip("torch")

CASES = [((4, 3), np.float32), ((7, 5), np.float64), ((3,), np.float64),
         ((2, 3, 4), np.float32), ((5, 4, 2, 2), np.float64)]


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    classes = shape[1] if len(shape) > 1 else shape[0]
    target = rng.integers(0, classes, shape[:1] + shape[2:] if len(shape) > 1 else ())
    return rng.standard_normal(shape).astype(dtype), target


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape,dtype", CASES)
def test_values_and_gradients_match_torch(shape, dtype, reduction):
    xs, ts = _data(shape, dtype)
    x = dg.tensor(xs, requires_grad=True)
    xt = torch.tensor(xs, requires_grad=True)
    loss = F.nll_loss(x, dg.tensor(ts), reduction=reduction)
    ref = torch.nn.functional.nll_loss(xt, torch.tensor(ts), reduction=reduction)
    loss.sum().backward()
    ref.sum().backward()
    assert loss.dtype == dg.float32 if dtype == np.float32 else loss.dtype == dg.float64
    np.testing.assert_allclose(loss.detach().numpy(), ref.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


def test_mean_coefficients_are_the_division_bits():
    # The fast coefficient (-1 / n in the dtype) against ones' negative over their float64 sum.
    for dtype in (np.float32, np.float64):
        for n in (1, 3, 7, 1000, 12345):
            t = np.zeros(n, dtype=np.int64)
            _, coef, _ = _nll_parts((n, 2), np.dtype(dtype), t, None, -100, "mean")
            ones = np.ones(n, dtype)
            expected = -ones / ones.sum(dtype=np.float64).astype(dtype)
            assert np.broadcast_to(coef, t.shape).tobytes() == expected.tobytes()  # (0-d: s18)


def test_rule_takes_the_forwards_parts_and_empties_the_slot():
    xs, ts = _data((4, 3), np.float64)
    slot = Scratch()
    out = _nll_forward(xs, ts, ignore_index=-100, reduction="mean", scratch=slot)
    assert slot.value is not None
    g = np.array(1.0)
    with_slot = _nll_vjp(ARRAY, g, out, xs, ts, ignore_index=-100, reduction="mean",
                         scratch=slot)[0]
    assert slot.value is None
    without = _nll_vjp(ARRAY, g, out, xs, ts, ignore_index=-100, reduction="mean")[0]
    assert with_slot.tobytes() == without.tobytes()
    # A slot filled for other targets is not taken (a rerun on new targets).
    _nll_forward(xs, ts, ignore_index=-100, reduction="mean", scratch=slot)
    other = (ts + 1) % 3
    got = _nll_vjp(ARRAY, g, out, xs, other, ignore_index=-100, reduction="mean",
                   scratch=slot)[0]
    assert got.tobytes() == _nll_vjp(ARRAY, g, out, xs, other, ignore_index=-100,
                                     reduction="mean")[0].tobytes()


def test_retain_graph_backward_twice():
    xs, ts = _data((5, 4), np.float32)
    x = dg.tensor(xs, requires_grad=True)
    xt = torch.tensor(xs, requires_grad=True)
    loss = F.nll_loss(x, dg.tensor(ts))
    ref = torch.nn.functional.nll_loss(xt, torch.tensor(ts))
    for _ in range(2):
        loss.backward(retain_graph=True)
        ref.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


def test_in_place_changes_after_the_loss():
    xs, ts = _data((4, 3), np.float64)
    # deltagrad's rule reads no value of the log-probabilities (ops/losses.py: no error, where
    # PyTorch, which saves them, refuses): the gradient is the forward's coefficients'.
    x = dg.tensor(xs, requires_grad=True)
    lp = x * 1.0
    loss = F.nll_loss(lp, dg.tensor(ts))
    with dg.no_grad():
        lp.add_(1.0)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.eye(3)[ts] * -0.25)
    # The targets are saved: changed in place, both refuse.
    for lib, f in ((dg, F), (torch, torch.nn.functional)):
        x = lib.tensor(xs, requires_grad=True)
        t = lib.tensor(ts)
        loss = f.nll_loss(x, t)
        t.add_(0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


@pytest.mark.parametrize("target,ignore_index", [
    ([2, -1, 1, 0], -100), ([2, 3, 1, 0], -100), ([2, 5, 1, 0], 1), ([0, 2, 1, 7], 7)])
def test_targets_out_of_bounds_or_ignored(target, ignore_index):
    xs, _ = _data((4, 3), np.float32)
    ts = np.array(target)
    try:
        ref = torch.nn.functional.nll_loss(torch.tensor(xs), torch.tensor(ts),
                                           ignore_index=ignore_index)
    except IndexError:
        with pytest.raises(IndexError, match="out of bounds"):
            F.nll_loss(dg.tensor(xs), dg.tensor(ts), ignore_index=ignore_index)
        return
    got = F.nll_loss(dg.tensor(xs), dg.tensor(ts), ignore_index=ignore_index)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-6)


def test_all_ignored_mean_is_nan_as_torch():
    xs, _ = _data((2, 3), np.float64)
    x = dg.tensor(xs, requires_grad=True)
    xt = torch.tensor(xs, requires_grad=True)
    loss = F.nll_loss(x, dg.tensor([-100, -100]))
    ref = torch.nn.functional.nll_loss(xt, torch.tensor([-100, -100]))
    loss.backward()
    ref.backward()
    assert np.isnan(loss.item()) and np.isnan(ref.item())
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("target,ignore_index,dtype", [
    ([2, -1, 1, -1], -1, np.int64), ([2, 1, 1, 0], 1, np.int64), ([2, 1, 0, 0], 1, np.uint8),
    ([2, 255, 0, 0], 255, np.uint8), ([0, 1, 2, 2], -100, np.uint8)])
def test_ignored_entries_values_and_gradients(target, ignore_index, dtype, reduction):
    xs, _ = _data((4, 3), np.float64)
    ts = np.array(target, dtype=dtype)
    x = dg.tensor(xs, requires_grad=True)
    xt = torch.tensor(xs, requires_grad=True)
    loss = F.nll_loss(x, dg.tensor(ts), ignore_index=ignore_index, reduction=reduction)
    ref = torch.nn.functional.nll_loss(xt, torch.tensor(ts), ignore_index=ignore_index,
                                       reduction=reduction)
    loss.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(np.signbit(loss.detach().numpy()),
                                  np.signbit(ref.detach().numpy()))  # (+0.0 where ignored)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
