"""The CRF sequence loss as one op: values against enumeration, gradients against gradcheck."""

import itertools

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner.crf import sequence_nll


def _brute_force(scores, transitions, tags, lengths):
    """Mean per-token NLL by enumerating every tag sequence of every sentence."""
    total, start = 0.0, 0
    n_tags = scores.shape[1]
    for n in lengths:
        s, y = scores[start:start + n], tags[start:start + n]

        def path(q, s=s):
            return (sum(s[t, q[t]] for t in range(len(q)))
                    + sum(transitions[q[t - 1], q[t]] for t in range(1, len(q))))
        log_z = np.log(sum(np.exp(path(q)) for q in itertools.product(range(n_tags), repeat=n)))
        total += log_z - path(y)
        start += n
    return total / sum(lengths)


@pytest.mark.parametrize("lengths", [[1], [4], [1, 5, 3, 1], [2, 2, 5, 1], [5, 5]])
def test_sequence_nll_matches_enumeration_and_gradcheck(lengths):
    rng = np.random.default_rng(len(lengths) * 10 + sum(lengths))
    n, k = sum(lengths), 3
    scores = dg.tensor(rng.normal(size=(n, k)) * 3, requires_grad=True)
    transitions = dg.tensor(rng.normal(size=(k, k)), requires_grad=True)
    tags = dg.tensor(rng.integers(0, k, n))
    loss = sequence_nll(scores, transitions, tags, lengths)
    expected = _brute_force(scores.detach().numpy(), transitions.detach().numpy(),
                            tags.numpy(), lengths)
    assert loss.item() == pytest.approx(expected, rel=1e-10)
    assert dg.gradcheck(lambda s, a: sequence_nll(s, a, tags, lengths), (scores, transitions))


def test_sequence_nll_float32_keeps_dtypes_and_survives_large_scores():
    rng = np.random.default_rng(0)
    lengths = [7, 30, 1, 12]
    n, k = sum(lengths), 9
    scores = dg.tensor((rng.normal(size=(n, k)) * 200).astype(np.float32), requires_grad=True)
    transitions = dg.tensor((rng.normal(size=(k, k)) * 20).astype(np.float32), requires_grad=True)
    tags = dg.tensor(rng.integers(0, k, n))
    loss = sequence_nll(scores, transitions, tags, lengths)
    loss.backward()
    assert loss.dtype == dg.float32 and scores.grad.dtype == dg.float32
    assert np.isfinite(loss.item()) and loss.item() >= 0
    assert np.isfinite(scores.grad.numpy()).all() and np.isfinite(transitions.grad.numpy()).all()
    # Each token's gradient row is (marginals - one-hot) / n: it sums to zero.
    np.testing.assert_allclose(scores.grad.numpy().sum(axis=1), 0.0, atol=1e-6)


def test_sequence_nll_rejects_inconsistent_inputs():
    scores, transitions = dg.zeros(5, 3), dg.zeros(3, 3)
    tags = dg.zeros(5, dtype=dg.int64)
    with pytest.raises(ValueError, match="sum to the 5 score rows"):
        sequence_nll(scores, transitions, tags, [2, 2])
    with pytest.raises(ValueError, match=">= 1"):
        sequence_nll(scores, transitions, tags, [5, 0])
    with pytest.raises(ValueError, match="need transitions"):
        sequence_nll(scores, dg.zeros(2, 2), tags, [5])
