"""The loss ops' fast paths against PyTorch (issue 18): each shortcut and the careful path it
falls back to.

cross_entropy with class indices shifts each row by its target's logit (and falls back to the
row maxima for large gaps or values that are not finite), finds bad targets in the op, and
keeps its exponentials for the rule; with probabilities it sums by one dot product;
binary_cross_entropy checks [0, 1] on the values' bits; ctc_loss runs probability-space chains
for small problems (log space otherwise) and is one node with PyTorch's gradient.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad._engine.ops import OPS  # noqa: E402
from deltagrad._engine.ops import losses as loss_ops  # noqa: E402
from deltagrad._engine.tensor import apply  # noqa: E402

RNG = np.random.default_rng(18)
REDUCTIONS = ["mean", "sum", "none"]


def f(m):
    return m.nn.functional


def logits(shape, scale=2.0, dtype=np.float32):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


# ----------------------------------------------------------------------------------------------
# cross_entropy with class indices.


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_index_shifts(reduction, dtype):
    t = np.array([2, 0, 1, 2])
    call = lambda m, x, t: f(m).cross_entropy(x, t, reduction=reduction)  # noqa: E731
    check(call, Arg(logits((4, 3), dtype=dtype)), Arg(t))
    # Gaps near and over exp's range (80 in float32, 700 in float64): the rows' maxima.
    for gap in (60.0, 85.0, 150.0, 720.0):
        x = logits((4, 3), dtype=dtype)
        x[1, 0] += gap  # a logit far above the target's (row 1's target is 0: others)
        x[2, 2] += gap
        check(call, Arg(x), Arg(t), rtol=1e-5, atol=1e-5)
    # Masked classes, a masked target (inf loss), nan and +inf logits.
    for value, row, col in ((-np.inf, 0, 0), (-np.inf, 1, 0), (np.nan, 3, 1), (np.inf, 2, 0)):
        x = logits((4, 3), dtype=dtype)
        x[row, col] = value
        check(call, Arg(x), Arg(t))
    check(lambda m, x, t: f(m).cross_entropy(x.T, t, reduction=reduction),
          Arg(logits((3, 4), dtype=dtype)), Arg(t))  # transposed logits


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_index_ignored_rows(reduction):
    x = logits((5, 4))
    call = lambda ignore: lambda m, x, t: f(m).cross_entropy(  # noqa: E731
        x, t, ignore_index=ignore, reduction=reduction)
    check(call(-1), Arg(x), Arg(np.array([3, -1, 0, -1, 2])))
    check(call(-1), Arg(x), Arg(np.array([-1, -1, -1, -1, -1])))  # all: nan mean, 0 gradient
    check(call(0), Arg(x), Arg(np.array([3, 0, 1, 0, 2])))  # a class index ignored
    check(call(0), Arg(x), Arg(np.array([3, 1, 1, 2, 2])))  # ... and none of it present
    check(call(7), Arg(x), Arg(np.array([3, 1, 0, 2, 2])))  # beyond the classes
    for dtype in (np.int64, np.uint8):  # (PyTorch refuses other widths; deltagrad not)
        check(call(-100), Arg(x), Arg(np.array([3, 1, 0, 2, 2], dtype=dtype)))


def test_cross_entropy_index_bad_targets_raise_in_the_op():
    x = logits((3, 4))
    for t, ignore in (([0, 4, 1], -100), ([0, -2, 1], -100), ([0, -2, -1], -1), ([0, -1, 1], 2)):
        check(lambda m, x, t, ignore=ignore: f(m).cross_entropy(x, t, ignore_index=ignore), Arg(x),
              Arg(np.array(t)))
    with pytest.raises(IndexError, match=r"Target 9 is out of bounds\. \(cross_entropy: 4 classes"):
        dg.nn.functional.cross_entropy(dg.tensor(x), dg.tensor([0, 9, 1]))


def test_cross_entropy_index_large_logits_use_recycled_arrays():
    # Over 1 MiB: the exponentials go to a recycled work array (buffers), both shifts.
    x = logits((300, 1000))
    x[7, 3] += 100.0
    t = RNG.integers(0, 1000, 300)
    check(lambda m, x, t: f(m).cross_entropy(x, t), Arg(x), Arg(t), rtol=1e-4, atol=1e-6)


def test_cross_entropy_index_double_backward():
    x = logits((4, 3), dtype=np.float64)
    t = np.array([2, 0, 1, 2])
    check(lambda m, x, t: torch_grad(m, f(m).cross_entropy(x, t), x), Arg(x), Arg(t))


def torch_grad(m, y, x):
    """The gradient of ``y`` in ``x`` as a differentiable value (create_graph), summed
    weighted: exercises the rule's graph path."""
    (gx,) = m.autograd.grad(y, x, create_graph=True)
    return (gx * gx).sum()


# ----------------------------------------------------------------------------------------------
# cross_entropy with class probabilities.


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(reduction):
    call = lambda m, x, p: f(m).cross_entropy(x, p, reduction=reduction)  # noqa: E731
    for shape in ((5,), (3, 4), (2, 3, 4)):
        check(call, Arg(logits(shape)), Arg(RNG.uniform(0, 1, shape).astype(np.float32)))
    x, p = logits((3, 4), dtype=np.float64), RNG.uniform(0, 1, (3, 4))
    check(call, Arg(x), Arg(p))
    check(lambda m, x, p: f(m).cross_entropy(x, p.T, reduction=reduction), Arg(x),
          Arg(p.T.copy()))  # transposed targets
    check(call, Arg(x), Arg(p, requires_grad=False))
    masked = x.copy()
    masked[1, 2] = -np.inf
    one_hot = np.eye(4)[[1, 3, 0]]
    check(call, Arg(masked), Arg(one_hot))  # a masked class with probability 0
    check(call, Arg(masked), Arg(p))  # ... and with some: inf
    nan = x.copy()
    nan[0, 0] = np.nan
    check(call, Arg(nan), Arg(p))


# ----------------------------------------------------------------------------------------------
# binary_cross_entropy's range checks.


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_range_on_the_bits(dtype):
    call = lambda m, x, y: f(m).binary_cross_entropy(x, y, reduction="none")  # noqa: E731
    x = RNG.uniform(0, 1, (4, 5)).astype(dtype)
    y = RNG.uniform(0, 1, (4, 5)).astype(dtype)
    x[0, :2], y[0, :3] = (0.0, 1.0), (0.0, 1.0, -0.0)  # both ends, and -0.0 (allowed)
    check(call, Arg(x), Arg(y))
    check(call, Arg(x.T), Arg(y.T))
    check(call, Arg(np.float32(0.5).astype(dtype)), Arg(np.float32(1.0).astype(dtype)))
    for bad in (1.0 + 1e-6, -1e-6, np.nan, np.inf, -np.inf):
        wrong = x.copy()
        wrong[2, 1] = bad
        check(call, Arg(wrong), Arg(y))
        check(call, Arg(x), Arg(wrong))
    empty = np.zeros((0, 3), dtype)
    check(call, Arg(empty), Arg(empty))


# ----------------------------------------------------------------------------------------------
# dropout and linear.


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_scale_per_dtype_and_p(dtype):
    x = RNG.standard_normal((50, 40)).astype(dtype)
    for p in (0.1, 0.3, 0.5, 0.3, 1.0):
        out = dg.nn.functional.dropout(dg.tensor(x), p, generator=dg.Generator(3)).numpy()
        assert out.dtype == dtype
        kept = out != 0
        scale = dtype(1.0) / dtype(1.0 - p) if p < 1 else dtype(1.0)
        np.testing.assert_array_equal(out[kept], x[kept] * scale)


def test_linear_bias_gradient_few_and_many_rows():
    w, b = logits((5, 4)), logits((5,))
    for rows in (3, 31, 32, 100):
        check(lambda m, x, w, b: f(m).linear(x, w, b), Arg(logits((rows, 4))), Arg(w), Arg(b),
              rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# ctc_loss: the probability-space chains and the log-space recursions.


def log_probs(t_max, n, classes, dtype=np.float64, scale=1.0):
    x = RNG.standard_normal((t_max, n, classes)) * scale
    return (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(dtype)


def ctc_call(reduction, zero_infinity=False, blank=0):
    return lambda m, lp, t, il, tl: f(m).ctc_loss(lp, t, il, tl, blank=blank,
                                                  reduction=reduction,
                                                  zero_infinity=zero_infinity)


def dense_taken(lp, targets, input_lengths, target_lengths, blank=0):
    lp3 = lp if lp.ndim == 3 else lp[:, None]
    return loss_ops._ctc_dense(lp3, targets, input_lengths, target_lengths, blank) is not None


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_ctc_dense_and_log_space_paths(reduction, dtype):
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}
    targets = np.array([[1, 1, 2], [3, 1, 0], [2, 3, 3]])
    lengths, t_lens = np.array([7, 5, 6]), np.array([3, 2, 3])
    lp = log_probs(7, 3, 4, dtype)
    assert dense_taken(lp, targets, lengths, t_lens)
    check(ctc_call(reduction), Arg(lp), Arg(targets), Arg(lengths), Arg(t_lens), **tol)
    # Unlikely labels: Z under 1e-190 in probability space, so the log-space recursions.
    far = np.where(np.arange(4) == 0, lp, lp - 300.0).astype(dtype)
    assert not dense_taken(far, targets, lengths, t_lens)
    check(ctc_call(reduction), Arg(far), Arg(targets), Arg(lengths), Arg(t_lens), **tol)
    # Values that are not log-probabilities (some above 0): log space.
    raw = (lp + 2.0).astype(dtype)
    assert not dense_taken(raw, targets, lengths, t_lens)
    check(ctc_call(reduction), Arg(raw), Arg(targets), Arg(lengths), Arg(t_lens), **tol)
    # Too large for the chains' matrices: log space.
    big, big_t = log_probs(70, 8, 6, dtype), RNG.integers(1, 6, (8, 11))
    big_len, big_t_len = np.full(8, 70), RNG.integers(0, 12, 8)
    assert not dense_taken(big, big_t, big_len, big_t_len)
    check(ctc_call(reduction), Arg(big), Arg(big_t), Arg(big_len), Arg(big_t_len), **tol)
    # Long inputs within the size (more than 200 frames: the chains' maximum is checked).
    long, long_t = log_probs(260, 1, 3, dtype), np.array([[1, 2]])
    assert dense_taken(long, long_t, np.array([260]), np.array([2]))
    check(ctc_call(reduction), Arg(long), Arg(long_t), Arg(np.array([260])),
          Arg(np.array([2])), **tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_edge_cases(reduction):
    lp = log_probs(6, 3, 5)
    targets = np.array([[1, 2, 2], [4, 4, 0], [3, 0, 0]])
    # Impossible alignments (log space), with and without zero_infinity.
    for zero_infinity in (False, True):
        check(ctc_call(reduction, zero_infinity), Arg(lp), Arg(targets), Arg(np.array([6, 1, 6])),
              Arg(np.array([3, 2, 1])))
    # Empty inputs and targets, one frame, the blank elsewhere.
    check(ctc_call(reduction), Arg(lp), Arg(targets), Arg(np.array([0, 6, 1])),
          Arg(np.array([0, 2, 1])))
    check(ctc_call(reduction, blank=4), Arg(lp), Arg(np.array([[1, 2, 2], [3, 0, 0], [2, 1, 3]])),
          Arg(np.array([6, 4, 6])), Arg(np.array([3, 1, 3])))
    # Concatenated targets, padding that holds anything, unbatched.
    check(ctc_call(reduction), Arg(lp), Arg(np.array([1, 2, 2, 4, 4, 3])),
          Arg(np.array([6, 5, 6])), Arg(np.array([3, 2, 1])))
    check(ctc_call(reduction), Arg(lp), Arg(np.array([[1, 2, 2], [4, 4, 9], [3, -7, 99]])),
          Arg(np.array([6, 5, 6])), Arg(np.array([3, 2, 1])))
    check(ctc_call(reduction), Arg(lp[:, 0]), Arg(np.array([1, 2, 2])), Arg(np.array(6)),
          Arg(np.array(3)))


def test_ctc_errors():
    lp = log_probs(5, 2, 4)
    t = np.array([[1, 2], [3, 3]])
    for il, tl in (([6, 5], [2, 2]), ([-1, 5], [2, 2]), ([5, 5], [-1, 2]), ([5, 5], [3, 2])):
        with pytest.raises(RuntimeError):
            dg.nn.functional.ctc_loss(dg.tensor(lp), dg.tensor(t), dg.tensor(il), dg.tensor(tl))
    with pytest.raises(RuntimeError, match="target values"):
        dg.nn.functional.ctc_loss(dg.tensor(lp), dg.tensor([[1, 4], [3, 3]]), dg.tensor([5, 5]),
                                  dg.tensor([2, 2]))


def _op_inputs(*args):
    return [dg.tensor(a, requires_grad=True) if a.dtype.kind == "f" else dg.from_numpy(a)
            for a in args]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_op_gradcheck_beyond_its_samples(reduction):
    # The op's own (exact) gradient on what its registered samples leave out: the reductions,
    # one unbatched sample, and the log-space recursions (unlikely labels; an impossible
    # alignment zeroed).
    op = OPS["ctc_loss"]
    lp = log_probs(6, 2, 4)
    targets, lengths, t_lens = np.array([[1, 1, 3], [2, 3, 1]]), np.array([6, 5]), np.array([2, 3])
    far = np.where(np.arange(4) == 0, lp, lp - 400.0)
    attrs = {"blank": 0, "reduction": reduction}
    for args, zero_infinity in (((lp, targets, lengths, t_lens), False),
                                ((lp[:, 1], targets[1:], lengths[1:], t_lens[1:]), False),
                                ((far, targets, lengths, t_lens), False),
                                ((lp, targets, np.array([6, 2]), t_lens), True)):
        inputs = _op_inputs(*args)
        assert dg.gradcheck(lambda *xs, zero=zero_infinity: apply(op, *xs, zero_infinity=zero,
                                                                   **attrs), inputs)
