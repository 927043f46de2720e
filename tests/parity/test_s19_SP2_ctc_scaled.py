"""ctc_loss's rescaled probability-space chains (ops/ctc_scaled.py), for problems too large for
the dense chains' matrices, against PyTorch: values and gradients, with every case that has
to fall back to the log-space recursions (empty inputs, impossible alignments, values whose
exponentials overflow) checked to fall back and still agree."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

from deltagrad._engine.ops import ctc_scaled as scaled_ops  # noqa: E402
from deltagrad._engine.ops import losses as loss_ops  # noqa: E402

RNG = np.random.default_rng(19)
REDUCTIONS = ["mean", "sum", "none"]
T, N, C, S = 40, 4, 6, 20  # T * N * L'^2 = 268,960: over the dense chains' limit


def log_probs(t_max=T, n=N, classes=C, dtype=np.float64, scale=1.5):
    x = RNG.standard_normal((t_max, n, classes)) * scale
    return (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(dtype)


def ctc_call(reduction, zero_infinity=False, blank=0):
    return lambda m, lp, t, il, tl: m.nn.functional.ctc_loss(
        lp, t, il, tl, blank=blank, reduction=reduction, zero_infinity=zero_infinity)


def path(lp, targets, input_lengths, target_lengths, blank=0):
    """Which chains the op takes: 'dense', 'scaled' or 'log'."""
    lp3 = lp if lp.ndim == 3 else lp[:, None]
    n = lp3.shape[1]
    args = (lp3, np.asarray(targets).reshape(n, -1), np.asarray(input_lengths).reshape(n),
            np.asarray(target_lengths).reshape(n), blank)
    if loss_ops._ctc_dense(*args) is not None:
        return "dense"
    return "scaled" if scaled_ops.ctc_scaled(*args) is not None else "log"


def batch(lengths=None, t_lens=None, classes=C, blank=0):
    labels = [c for c in range(classes) if c != blank]
    targets = RNG.choice(labels, (N, S))
    targets[0, 3:6] = targets[0, 3]  # repeats: no skip between them
    lengths = np.full(N, T) if lengths is None else np.asarray(lengths)
    t_lens = RNG.integers(5, 16, N) if t_lens is None else np.asarray(t_lens)
    return targets, lengths, t_lens


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scaled_chains_against_pytorch(reduction, dtype):
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-7, atol=1e-9)
    lp = log_probs(dtype=dtype)
    targets, lengths, t_lens = batch(lengths=[40, 33, 21, 40], t_lens=[15, 0, 9, 20])
    assert path(lp, targets, lengths, t_lens) == "scaled"
    check(ctc_call(reduction), Arg(lp), Arg(targets), Arg(lengths), Arg(t_lens), **tol)
    # Masked classes (-inf: log space), values that are not log-probabilities, a sharp
    # distribution.
    masked = lp.copy()
    masked[:, :, C - 1] = -np.inf
    targets_m = np.where(targets == C - 1, 1, targets)
    assert path(masked, targets_m, lengths, t_lens) == "log"  # (PyTorch's nan gradient)
    check(ctc_call(reduction), Arg(masked), Arg(targets_m), Arg(lengths), Arg(t_lens), **tol)
    raw = (lp + 3.0).astype(dtype)
    assert path(raw, targets, lengths, t_lens) == "scaled"
    check(ctc_call(reduction), Arg(raw), Arg(targets), Arg(lengths), Arg(t_lens), **tol)
    sharp = log_probs(dtype=dtype, scale=12.0)
    assert path(sharp, targets, lengths, t_lens) == "scaled"
    check(ctc_call(reduction), Arg(sharp), Arg(targets), Arg(lengths), Arg(t_lens), **tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_scaled_chains_other_forms(reduction):
    lp = log_probs()
    # The blank elsewhere; concatenated targets; the padding holding anything; zero_infinity
    # with every alignment possible (changes nothing).
    targets, lengths, t_lens = batch(blank=3)
    assert path(lp, targets, lengths, t_lens, blank=3) == "scaled"
    check(ctc_call(reduction, blank=3), Arg(lp), Arg(targets), Arg(lengths), Arg(t_lens))
    targets, lengths, t_lens = batch()
    flat = np.concatenate([targets[b, :t_lens[b]] for b in range(N)])
    check(ctc_call(reduction), Arg(lp), Arg(flat), Arg(lengths), Arg(t_lens))
    padded = targets.copy()
    padded[0, t_lens[0]:] = 99
    check(ctc_call(reduction), Arg(lp), Arg(padded), Arg(lengths), Arg(t_lens))
    check(ctc_call(reduction, zero_infinity=True), Arg(lp), Arg(targets), Arg(lengths),
          Arg(t_lens))
    # Unbatched, over the limit on its own: [T, C] with a long target.
    one, one_t = log_probs(t_max=300, n=1, classes=5)[:, 0], RNG.integers(1, 5, 40)
    assert path(one, one_t, 300, 40) == "scaled"
    check(ctc_call(reduction), Arg(one), Arg(one_t), Arg(np.array(300)), Arg(np.array(40)),
          rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_fallbacks_to_log_space(reduction, zero_infinity):
    lp = log_probs()
    call = ctc_call(reduction, zero_infinity)
    # An empty input; a target too long for its input (impossible: inf loss, nan-free rule).
    targets, _, _ = batch()
    for lengths, t_lens in (([40, 0, 30, 40], [10, 0, 5, 7]), ([40, 8, 30, 40], [10, 9, 5, 7])):
        assert path(lp, targets, lengths, t_lens) == "log"
        check(call, Arg(lp), Arg(targets), Arg(np.array(lengths)), Arg(np.array(t_lens)))
    # Values whose exponentials overflow float64, and a nan.
    for value in (800.0, np.nan):
        bad = lp.copy()
        bad[3, 1, 2] = value
        assert path(bad, targets, np.full(N, T), np.full(N, 6)) == "log"
        check(call, Arg(bad), Arg(targets), Arg(np.full(N, T)), Arg(np.full(N, 6)))
    # Labels whose probabilities underflow (exp(-800) is 0): no alignment left alive. (The
    # loss only: the log-space rule's gradient here is not PyTorch's, as before this path.)
    far = np.where(np.arange(C) == 0, lp, lp - 800.0)
    assert path(far, targets, np.full(N, T), np.full(N, 15)) == "log"
    check(call, Arg(far), Arg(targets), Arg(np.full(N, T)), Arg(np.full(N, 15)), grad=False)


def test_unlikely_labels_stay_in_the_rescaled_chains_while_they_can():
    # exp(-30) per label frame: Z near 1e-200; the rescaled chains keep it, gradients
    # PyTorch's. At exp(-50) the occupancies' overlap of the two chains underflows (the label
    # states' alpha falls 1e-300 under the blanks'): log space, as checked.
    lp = log_probs()
    targets, _, _ = batch()
    for offset, taken in ((30.0, "scaled"), (50.0, "log")):
        far = np.where(np.arange(C) == 0, lp, lp - offset)
        assert path(far, targets, np.full(N, T), np.full(N, 15)) == taken
        check(ctc_call("mean"), Arg(far), Arg(targets), Arg(np.full(N, T)),
              Arg(np.full(N, 15)), rtol=1e-7, atol=1e-9)


def test_forward_alone_matches_the_chains_for_the_rule():
    # Without a gradient only the forward chains run: the same losses to the last bits.
    lp = log_probs()
    targets, lengths, t_lens = batch(lengths=[40, 17, 21, 38])
    alone, none = scaled_ops.ctc_scaled(lp, targets, lengths, t_lens, 0, occupancy=False)
    both, state = scaled_ops.ctc_scaled(lp, targets, lengths, t_lens, 0)
    assert none is None and state is not None
    np.testing.assert_array_equal(alone, both)
    gamma = state[0]
    used = np.arange(T)[:, None] < lengths
    np.testing.assert_allclose(gamma.sum(-1), used.astype(float), rtol=1e-12)
