"""Session 22's shorter paths of a training step (DM5, issue 18) give the same bits as before.

- ``ner.bags``: the context bags' means (with a row-sparse gradient) and the topic bags'
  (constants) against ``F.embedding_bag``: values, the table's gradient after coalescing, and
  the errors of inputs the fast path leaves to the op.
- ``ner.crf``: the loss and both gradients against the recursion as session 21 wrote it (the
  emissions gathered to the lattice before their maxima and exponentials, the divisors
  [T, B]), kept here as the reference.
- ``load_model(..., vocabularies=)``: an ensemble's second member reuses the first one's
  parsed vocabulary, and reads the same model.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner.bags import bag_means, constant_bag_means
from deltagrad.ner.crf import sequence_nll
from deltagrad.nn import functional as F

# ---------------------------------------------------------------------------------- bags


def _bags(rng, n_bags, vocab, empty=0.3, longest=40):
    counts = rng.integers(1, longest, n_bags) * (rng.random(n_bags) >= empty)
    ids = rng.integers(0, vocab, int(counts.sum()))
    return dg.from_numpy(ids), dg.from_numpy((np.cumsum(counts) - counts).astype(np.int64))


def _dense_grad(table):
    grad = table.grad
    return grad.to_dense().numpy() if grad.is_sparse else grad.numpy()


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bag_means_same_bits_and_gradient(seed, dtype):
    rng = np.random.default_rng(seed)
    vocab = 50 if seed % 2 else 5000
    values = rng.standard_normal((vocab, 7)).astype(dtype)
    ids, offsets = _bags(rng, int(rng.integers(1, 60)), vocab)
    if not ids.numel():
        ids, offsets = dg.tensor([0, 3]), dg.tensor([0, 1])
    upstream = rng.standard_normal((offsets.shape[0], 7)).astype(dtype)
    results = []
    for function in (bag_means, lambda i, t, o: F.embedding_bag(i, t, o, mode="mean",
                                                                sparse=True)):
        table = dg.from_numpy(values.copy()).requires_grad_()
        out = function(ids, table, offsets)
        out.backward(dg.from_numpy(upstream))
        assert table.grad.is_sparse
        results.append((out.detach().numpy(), _dense_grad(table)))
    (out, grad), (want, want_grad) = results
    assert out.dtype == want.dtype and np.array_equal(out, want)
    assert np.array_equal(grad, want_grad)


@pytest.mark.parametrize("seed", range(12))
def test_constant_bag_means_same_bits(seed):
    rng = np.random.default_rng(100 + seed)
    table = dg.from_numpy(rng.standard_normal((3000, 50)).astype(np.float32))
    ids, offsets = _bags(rng, int(rng.integers(1, 40)), 3000, empty=0.1, longest=600)
    if not ids.numel():
        ids, offsets = dg.tensor([5]), dg.tensor([0])
    got = constant_bag_means(ids, table, offsets)
    assert not got.requires_grad
    assert np.array_equal(got.numpy(), F.embedding_bag(ids, table, offsets, mode="mean").numpy())


def test_bags_inputs_the_op_refuses():
    table = dg.randn(10, 4, requires_grad=True)
    for ids, offsets in ((dg.tensor([1, 10]), dg.tensor([0, 1])),  # id out of range
                         (dg.tensor([1, -1]), dg.tensor([0, 1])),  # negative id
                         (dg.tensor([1, 2]), dg.tensor([1, 2])),  # offsets not from 0
                         (dg.tensor([1, 2, 3]), dg.tensor([0, 2, 1]))):  # offsets going down
        for function in (bag_means, constant_bag_means):
            with pytest.raises(RuntimeError):
                F.embedding_bag(ids, table.detach(), offsets, mode="mean")
            with pytest.raises(RuntimeError):
                function(ids, table if function is bag_means else table.detach(), offsets)
    # Empty input, a float16 table: the op's own results.
    empty = bag_means(dg.tensor([], dtype=dg.int64), table, dg.tensor([0, 0]))
    assert np.array_equal(empty.detach().numpy(), np.zeros((2, 4), np.float32))
    half = dg.randn(10, 4).half()
    ids, offsets = dg.tensor([1, 2, 3]), dg.tensor([0, 2])
    assert np.array_equal(constant_bag_means(ids, half, offsets).numpy(),
                          F.embedding_bag(ids, half, offsets, mode="mean").numpy())


# ----------------------------------------------------------------------------------- crf


def _reference_nll(scores, transitions, tags, lengths):
    """Session 21's forward-backward (ner/crf.py at ce15902), in float64, as the reference:
    (loss, gradient of the scores, gradient of the transitions), unscaled by upstream."""
    s, a = scores.astype(np.float64), transitions.astype(np.float64)
    order = np.argsort(-lengths, kind="stable")
    starts = (np.cumsum(lengths) - lengths)[order]
    ordered = lengths[order]
    steps = np.arange(int(ordered[0]))
    mask = steps[:, None] < ordered[None, :]
    rows = np.where(mask, starts[None, :] + steps[:, None], 0)
    live = mask.sum(axis=1)
    emissions, gold = s[rows], np.where(mask, tags[rows], 0)
    shift = emissions.max(axis=2)
    weights = np.exp(emissions - shift[:, :, None])
    a_shift = a.max()
    moves = np.exp(a - a_shift)
    alpha, norms = np.zeros_like(weights), np.ones(mask.shape)
    np.add.reduce(weights[0], axis=1, out=norms[0])
    np.divide(weights[0], norms[0, :, None], out=alpha[0])
    for t, n in enumerate(live.tolist()[1:], start=1):
        step = alpha[t, :n]
        np.matmul(alpha[t - 1, :n], moves, out=step)
        step *= weights[t, :n]
        total = norms[t, :n]
        np.add.reduce(step, axis=1, out=total)
        step /= total[:, None]
    log_z = np.log(norms).sum() + shift[mask].sum() + a_shift * float((lengths - 1).sum())
    emitted = np.take_along_axis(emissions, gold[:, :, None], axis=2)[mask].sum()
    moved = a[gold[:-1], gold[1:]][mask[1:]].sum()
    n_tokens = float(lengths.sum())
    longest, _, k = weights.shape
    beta, after = np.ones_like(weights), np.zeros_like(weights)
    for t in range(longest - 1, 0, -1):
        n = live[t]
        out = after[t, :n]
        np.multiply(weights[t, :n], beta[t, :n], out=out)
        out /= norms[t, :n, None]
        np.matmul(out, moves.T, out=beta[t - 1, :n])
    scale = 1.0 / n_tokens
    tag_grad = (alpha * beta)[mask]
    tag_grad[np.arange(tag_grad.shape[0]), gold[mask]] -= 1.0
    grad_scores = np.empty((int(n_tokens), k))
    grad_scores[rows[mask]] = tag_grad * scale
    flat = alpha.shape[1] * (longest - 1)
    pairs = moves * (alpha[:-1].reshape(flat, k).T @ after[1:].reshape(flat, k))
    pairs -= np.bincount((gold[:-1] * k + gold[1:])[mask[1:]], minlength=k * k).reshape(k, k)
    return (log_z - emitted - moved) / n_tokens, grad_scores, pairs * scale


@pytest.mark.parametrize("seed", range(24))
def test_crf_same_bits_as_before(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 10))
    lengths = rng.integers(1, 50, int(rng.integers(1, 24)))
    if seed % 6 == 0:
        lengths[:] = lengths[0]  # every sentence as long (no step drops a sentence)
    n = int(lengths.sum())
    dtype = np.float64 if seed % 5 == 0 else np.float32
    scores = (rng.standard_normal((n, k)) * 4).astype(dtype)
    if seed % 4 == 1:
        scores[rng.integers(0, n, 3), rng.integers(0, k, 3)] = -np.inf  # forbidden tags
    transitions = (rng.standard_normal((k, k)) * 2).astype(dtype)
    tags = rng.integers(0, k, n)
    if seed % 4 == 1:  # (gold tags that the forbidden scores leave possible)
        tags = np.where(np.isneginf(scores[np.arange(n), tags]),
                        np.argmax(scores, axis=1), tags)
    s = dg.from_numpy(scores.copy()).requires_grad_()
    a = dg.from_numpy(transitions.copy()).requires_grad_()
    loss = sequence_nll(s, a, dg.from_numpy(tags), lengths)
    loss.backward()
    want, want_scores, want_transitions = _reference_nll(scores, transitions, tags, lengths)
    assert loss.dtype == s.dtype and loss.item() == np.asarray(want, dtype).item()
    assert np.array_equal(s.grad.numpy(), want_scores.astype(dtype))
    assert np.array_equal(a.grad.numpy(), want_transitions.astype(dtype))


# --------------------------------------------------------------------------- load_model


def test_load_model_reuses_a_parsed_vocabulary(tiny_model_dir, tmp_path, monkeypatch):
    import shutil

    from deltagrad.ner import model_dir
    from deltagrad.ner.vocab import Vocabulary

    second = tmp_path / "second"
    shutil.copytree(tiny_model_dir, second)
    parsed = []
    original = Vocabulary.from_json

    def counting(text):
        parsed.append(len(text))
        return original(text)

    monkeypatch.setattr(Vocabulary, "from_json", staticmethod(counting))
    vocabularies = {}
    first = model_dir.load_model(tiny_model_dir, vocabularies=vocabularies)
    again = model_dir.load_model(second, vocabularies=vocabularies)
    assert len(parsed) == 1 and again.features.vocab is first.features.vocab
    plain = model_dir.load_model(second)  # (no cache: parsed again)
    assert len(parsed) == 2 and plain.features.vocab.words == again.features.vocab.words
    for (name, value), (_, other) in zip(plain.model.state_dict().items(),
                                         again.model.state_dict().items(), strict=True):
        assert np.array_equal(value.numpy(), other.numpy()), name
    # Another vocabulary file is parsed, not taken from the cache.
    text = (second / model_dir.VOCAB_FILE).read_text(encoding="utf-8")
    words = Vocabulary.from_json(text).words
    (second / model_dir.VOCAB_FILE).write_text(Vocabulary(words[:-1] + ["zzz-new"]).to_json(),
                                                encoding="utf-8")
    changed = model_dir.load_model(second, vocabularies=vocabularies)
    assert changed.features.vocab is not first.features.vocab
    assert changed.features.vocab.words[-1] == "zzz-new"


# ---------------------------------------------------------------------- embedding_matrix


def _reference_found(vocab_words, words):
    """Session 21's rows: a dict of the pretrained words, built backwards (a repeated word
    keeps its first row), looked up by every entry; the special entries take none."""
    rows = dict(zip(reversed(words), range(len(words) - 1, -1, -1), strict=True))
    found = np.array([rows.get(word, -1) for word in vocab_words], np.int64)
    found[:2] = -1
    return found


@pytest.mark.parametrize("seed", range(8))
def test_embedding_matrix_rows_as_before(seed):
    from deltagrad.ner.vocab import Vocabulary

    rng = np.random.default_rng(seed)
    pool = [f"w{i}" for i in range(60)] + ["<pad>", "<unk>", "W1", "x-y"]
    words = [pool[i] for i in rng.integers(0, len(pool), 80)]  # repeats, specials, unknowns
    matrix = rng.standard_normal((len(words), 4)).astype(np.float32)
    entries = [w for w in dict.fromkeys(pool[i] for i in rng.integers(0, len(pool), 50))
               if w not in ("<pad>", "<unk>")]
    vocab = Vocabulary(["<pad>", "<unk>", *entries])
    got, count = vocab.embedding_matrix(words, matrix, None, np.random.default_rng(seed))
    found = _reference_found(vocab.words, words)
    want = np.zeros((len(vocab), 4), np.float32)
    want[found >= 0] = matrix[found[found >= 0]]
    random_rows = np.flatnonzero(found < 0)
    random_rows = random_rows[random_rows != 0]
    want[random_rows] = 0.1 * np.random.default_rng(seed).standard_normal(
        (random_rows.size, 4), dtype=np.float32)
    assert count == int((found >= 0).sum())
    assert np.array_equal(got, want)


def test_constant_bag_means_of_a_table_wanting_a_gradient():
    table = dg.randn(10, 4, requires_grad=True)
    ids, offsets = dg.tensor([1, 2, 3]), dg.tensor([0, 2])
    out = constant_bag_means(ids, table, offsets)  # (the op's: its gradient kept)
    out.sum().backward()  # (two bags of four columns: 8 in all)
    assert table.grad is not None and float(table.grad.to_dense().sum()) == 8.0
