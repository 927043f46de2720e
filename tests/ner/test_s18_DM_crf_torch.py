"""The CRF sequence loss and its gradients against PyTorch's autograd of the forward algorithm.

The transition gradient sums the pair marginals over every time step and sentence of a padded
lattice as one matrix product; batches of CoNLL-like sizes (sentences of mixed lengths, so the
lattice has padding, 9 tags) check it against PyTorch differentiating its own logsumexp
recursion, in float64.
"""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner.crf import sequence_nll

torch = pytest.importorskip("torch")


def torch_nll(scores, transitions, tags, lengths):
    """sum over sentences of (log Z - score(gold)) / n_tokens, by PyTorch's autograd."""
    total, start = 0.0, 0
    for n in lengths:
        s, y = scores[start:start + n], tags[start:start + n]
        alpha = s[0]
        for t in range(1, n):
            alpha = torch.logsumexp(alpha[:, None] + transitions, dim=0) + s[t]
        gold = s[torch.arange(n), y].sum() + transitions[y[:-1], y[1:]].sum()
        total = total + torch.logsumexp(alpha, dim=0) - gold
        start += n
    return total / sum(lengths)


@pytest.mark.parametrize("seed", range(4))
def test_sequence_nll_and_gradients_match_torch(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 30, 18)
    lengths[seed % 18] = 1  # a one-token sentence: no transitions of its own
    n, k = int(lengths.sum()), 9
    scores = rng.normal(0.0, 3.0, (n, k))
    transitions = rng.normal(0.0, 0.5, (k, k))
    tags = rng.integers(0, k, n)

    s, a = dg.tensor(scores, requires_grad=True), dg.tensor(transitions, requires_grad=True)
    loss = sequence_nll(s, a, dg.tensor(tags), lengths)
    loss.backward()

    ts = torch.tensor(scores, requires_grad=True)
    ta = torch.tensor(transitions, requires_grad=True)
    want = torch_nll(ts, ta, torch.tensor(tags), lengths.tolist())
    want.backward()

    assert loss.dtype == dg.float64 and a.grad.shape == (k, k)
    np.testing.assert_allclose(loss.item(), want.item(), rtol=1e-10)
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-8, atol=1e-12)
