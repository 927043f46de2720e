"""Session 5's op-kernel changes against PyTorch: ctc_loss's chains (both chains per frame as a
matrix-vector product, the backward chain in each sample's own reversed time) and a target
equal to the blank, binary_cross_entropy's in-place forward and rule and its one check of
input and target together.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad._engine.ops import OPS  # noqa: E402
from deltagrad._engine.ops import losses as loss_ops  # noqa: E402
from deltagrad._engine.ops.registry import ARRAY  # noqa: E402

RNG = np.random.default_rng(505)
REDUCTIONS = ["mean", "sum", "none"]


def f(m):
    return m.nn.functional


def log_probs(t_max, n, classes, dtype=np.float64):
    x = RNG.standard_normal((t_max, n, classes))
    return (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(dtype)


def ctc_call(reduction, blank=0, zero_infinity=False):
    return lambda m, lp, t, il, tl: f(m).ctc_loss(lp, t, il, tl, blank=blank,
                                                  reduction=reduction,
                                                  zero_infinity=zero_infinity)


def dense_taken(lp, targets, input_lengths, target_lengths, blank=0):
    return loss_ops._ctc_dense(lp, targets, input_lengths, target_lengths, blank) is not None


# ----------------------------------------------------------------------------------------------
# ctc_loss.


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ctc_unequal_lengths_dense(reduction, dtype):
    # Every sample's input shorter than T but one, targets of several lengths (0 included),
    # repeats (no skip between equal labels): the backward chains start at different frames.
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}
    lp = log_probs(9, 4, 5, dtype)
    targets = np.array([[1, 1, 2, 3], [4, 2, 2, 0], [3, 0, 0, 0], [2, 3, 4, 1]])
    lengths, t_lens = np.array([9, 6, 3, 8]), np.array([4, 3, 0, 4])
    assert dense_taken(lp, targets, lengths, t_lens)
    check(ctc_call(reduction), Arg(lp), Arg(targets), Arg(lengths), Arg(t_lens), **tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_one_frame_and_one_sample(reduction):
    lp = log_probs(1, 2, 3)
    check(ctc_call(reduction), Arg(lp), Arg(np.array([[1], [2]])), Arg(np.array([1, 1])),
          Arg(np.array([1, 0])))
    lp = log_probs(5, 1, 4)
    check(ctc_call(reduction), Arg(lp[:, 0]), Arg(np.array([3, 1])), Arg(np.array(4)),
          Arg(np.array(2)))
    # No target columns at all (l' is one blank): the chains of one state.
    lp = log_probs(4, 2, 3)
    empty = np.zeros((2, 0), np.int64)
    assert dense_taken(lp, empty, np.array([4, 1]), np.array([0, 0]))
    check(ctc_call(reduction), Arg(lp), Arg(empty), Arg(np.array([4, 1])), Arg(np.array([0, 0])))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_target_equal_to_the_blank(reduction):
    # PyTorch does not reject a target equal to the blank, and its recursions may skip to it
    # (only l'[s] != l'[s - 2] is tested). Before the fix the loss differed (6.55 against
    # 5.16 on the first row here), in both the dense chains and the log space.
    lp = log_probs(7, 2, 4)
    targets, lengths, t_lens = np.array([[1, 0, 2], [0, 0, 3]]), np.array([7, 6]), np.array([3, 3])
    assert dense_taken(lp, targets, lengths, t_lens)
    check(ctc_call(reduction), Arg(lp), Arg(targets), Arg(lengths), Arg(t_lens))
    far = np.where(np.arange(4) == 0, lp, lp - 300.0)  # Z under 1e-190: log space
    assert not dense_taken(far, targets, lengths, t_lens)
    check(ctc_call(reduction), Arg(far), Arg(targets), Arg(lengths), Arg(t_lens))
    check(ctc_call(reduction, blank=2), Arg(lp), Arg(np.array([[2, 1, 3], [3, 2, 1]])),
          Arg(lengths), Arg(t_lens))
    # A last target equal to the blank: the values agree; PyTorch's gradient at the last frame
    # keeps only the last label's share for that class (its backward writes the two final
    # states' shares into one slot, the second over the first), which is not followed here.
    check(ctc_call(reduction, blank=2), Arg(lp), Arg(np.array([[2, 1, 2], [3, 2, 2]])),
          Arg(lengths), Arg(t_lens), grad=False)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # (the nan, in log space)
def test_ctc_dense_falls_back():
    lp = log_probs(6, 2, 4)
    targets, t_lens = np.array([[1, 2], [3, 3]]), np.array([2, 2])
    # An empty input, a nan, an empty batch: log space (no chains).
    assert not dense_taken(lp, targets, np.array([6, 0]), t_lens)
    nan = lp.copy()
    nan[2, 1, 3] = np.nan
    assert not dense_taken(nan, targets, np.array([6, 5]), t_lens)
    assert not dense_taken(lp[:, :0], targets[:0], np.array([], int), np.array([], int))
    check(ctc_call("none"), Arg(nan), Arg(targets), Arg(np.array([6, 5])), Arg(t_lens))
    check(ctc_call("sum", zero_infinity=True), Arg(lp), Arg(targets), Arg(np.array([6, 0])),
          Arg(t_lens))


def test_ctc_mid_size_dense_against_log_space():
    # Chains and log-space recursions agree in value and occupancy at a size the chains take.
    lp = log_probs(40, 6, 8)
    targets = RNG.integers(1, 8, (6, 5))
    lengths, t_lens = RNG.integers(20, 41, 6), RNG.integers(0, 6, 6)
    dense = loss_ops._ctc_dense(lp, targets, lengths, t_lens, 0)
    assert dense is not None
    nll, occupancy = loss_ops._ctc_log_space(lp, targets, lengths, t_lens, 0, True)
    np.testing.assert_allclose(dense[0], nll, rtol=1e-12)
    used = (np.arange(40)[:, None] < lengths)[:, :, None]
    weights = RNG.uniform(0.5, 2.0, 6)
    np.testing.assert_allclose(loss_ops._ctc_dense_gradient(dense[1], weights, 8) * used,
                               occupancy * weights[:, None] * used, atol=1e-13)
    check(ctc_call("mean"), Arg(lp), Arg(targets), Arg(lengths), Arg(t_lens))


# ----------------------------------------------------------------------------------------------
# binary_cross_entropy.


def bce_call(reduction):
    return lambda m, x, y: f(m).binary_cross_entropy(x, y, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4)])
def test_bce_shapes_dtypes(reduction, dtype, shape):
    x = RNG.uniform(0.05, 0.95, shape).astype(dtype)
    y = RNG.uniform(0.0, 1.0, shape).astype(dtype)
    check(bce_call(reduction), Arg(x), Arg(y))  # (the target's gradient too)
    check(bce_call(reduction), Arg(x), Arg(y, requires_grad=False))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_edges_of_the_interval(dtype):
    # 0 and 1 in the input: the logs clamped at -100, PyTorch's gradient guard; -0.0 takes the
    # per-array check; a transposed (non-contiguous) input.
    x = np.array([[0.0, 1.0, 0.5], [1e-30, 1.0 - 1e-7, -0.0]], dtype=dtype)
    y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]], dtype=dtype)
    check(bce_call("none"), Arg(x), Arg(y, requires_grad=False))
    check(bce_call("sum"), Arg(x.T), Arg(y.T, requires_grad=False))


@pytest.mark.parametrize("bad", [np.nan, 1.5, -0.25, np.inf])
def test_bce_out_of_range_names_the_tensor(bad):
    good = np.array([0.2, 0.7, 0.4], dtype=np.float32)
    wrong = good.copy()
    wrong[1] = bad
    for x, y, what in ((wrong, good, "input"), (good, wrong, "target")):
        with pytest.raises(RuntimeError, match=what):
            dg.nn.functional.binary_cross_entropy(dg.tensor(x), dg.tensor(y))
        with pytest.raises(RuntimeError):
            torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(y))


def test_bce_op_broadcast_and_mixed_dtypes():
    # The op itself (its registered broadcast sample's form) and a float64 upstream gradient of
    # a float32 input take the general arithmetic.
    op = OPS["binary_cross_entropy"]
    x = RNG.uniform(0.1, 0.9, (3, 4))
    y = RNG.uniform(0.0, 1.0, (4,))
    expected = -(y * np.log(x) + (1 - y) * np.log1p(-x))
    np.testing.assert_allclose(op.forward(x, y), expected, rtol=1e-14)
    x32, y32 = x.astype(np.float32), np.broadcast_to(y, (3, 4)).astype(np.float32)
    g64 = RNG.standard_normal((3, 4))
    gx, _ = op.vjp(ARRAY, g64, None, x32, y32, needs=(True, False))
    np.testing.assert_allclose(gx, g64 * (x32 - y32) / ((1 - x32) * x32), rtol=1e-6)
    gx32, _ = op.vjp(ARRAY, g64.astype(np.float32), None, x32, y32, needs=(True, False))
    assert gx32.dtype == np.float32
    np.testing.assert_allclose(gx32, gx, rtol=1e-6)
