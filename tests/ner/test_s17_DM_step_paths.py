"""The default NER training step's faster paths (issue 18) keep what they compute.

- The window tagger builds its hidden layer's input with one cat (it was one per feature group):
  the same columns in the same order (saved models read them so), the same bits forward and
  backward as the per-group cats, which the reference below still does.
- ``threads.matmul_serial`` takes the hidden layer's large products as one GEMM (they were 45
  blocks of 13 columns): the same bits at one and two threads, and the smaller products of
  W6 / W8 keep their blocks.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import threads
from deltagrad.ner.model import WindowTagger
from deltagrad.nn import functional as F


def _per_group_forward(model, words, casing, suffixes, char_ngrams, char_index, context,
                       context_offsets, doc_stats, gazetteer, topic, topic_offsets, topic_index,
                       history):
    """The tagger's forward as written before session 17: a cat after each feature group."""
    x = dg.cat([model.words(words), model.casing(casing), model.suffixes(suffixes)], dim=-1)
    x = x.reshape(x.shape[0], -1)
    spelling = model.chars(char_ngrams)[char_index.numpy()]
    x = dg.cat([x, spelling.reshape(x.shape[0], -1)], dim=-1)
    around = F.embedding_bag(context, model.words.weight, context_offsets, mode="mean",
                             sparse=True)
    x = dg.cat([x, around.reshape(x.shape[0], -1), doc_stats], dim=-1)
    means = F.embedding_bag(topic, model.words.weight.detach(), topic_offsets, mode="mean")
    x = dg.cat([x, gazetteer, means[topic_index.numpy()].reshape(x.shape[0], -1), history],
               dim=-1)
    return model.output(model.dropout(model.activation(model.hidden(x))))


def _inputs(rng, n, vocab, window, char_window, buckets, gazetteer_width, history_width):
    from deltagrad.ner.document import DOC_STATS

    width = 2 * window + 1
    counts = rng.integers(0, 4, 2 * n)  # some bags empty
    sizes = rng.integers(1, 9, 3)
    return {
        "words": rng.integers(0, vocab, (n, width)), "casing": rng.integers(0, 6, (n, width)),
        "suffixes": rng.integers(0, 5, (n, width)),
        "char_ngrams": rng.integers(0, buckets, (7, 4)),
        "char_index": rng.integers(0, 7, (n, 2 * char_window + 1)),
        "context": rng.integers(0, vocab, int(counts.sum())),
        "context_offsets": np.cumsum(counts) - counts,
        "doc_stats": rng.standard_normal((n, DOC_STATS)).astype(np.float32),
        "gazetteer": rng.random((n, gazetteer_width)).astype(np.float32),
        "topic": rng.integers(0, vocab, int(sizes.sum())),
        "topic_offsets": np.cumsum(sizes) - sizes,
        "topic_index": rng.integers(0, 3, (n, 2)),
        "history": rng.random((n, history_width)).astype(np.float32),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_one_cat_same_bits_as_a_cat_per_feature_group(seed):
    rng = np.random.default_rng(seed)
    model = WindowTagger(vocab_size=40, word_dim=6, n_casings=6, casing_dim=3, n_suffixes=5,
                         suffix_dim=2, window=1, hidden=16, n_tags=5, char_buckets=30,
                         char_dim=4, char_window=1, document=True, gazetteer_width=6,
                         topic_bags=2, history_width=3, crf=True, generator=dg.Generator(seed))
    arrays = _inputs(rng, 11, 40, 1, 1, 30, 6, 3)
    upstream = rng.standard_normal((11, 5)).astype(np.float32)
    results = []
    for forward in (lambda **kw: model(**kw), lambda **kw: _per_group_forward(model, **kw)):
        dg.manual_seed(seed)  # the same dropout masks
        model.zero_grad(set_to_none=True)
        scores = forward(**{name: dg.from_numpy(a) for name, a in arrays.items()})
        scores.backward(dg.from_numpy(upstream))
        grads = {}
        for name, p in model.named_parameters():
            g = p.grad
            grads[name] = (g.to_dense() if g is not None and g.is_sparse else g)
        results.append((scores.detach().numpy().copy(),
                        {k: None if g is None else g.numpy().copy() for k, g in grads.items()}))
    (out, grads), (want_out, want_grads) = results
    assert out.tobytes() == want_out.tobytes()
    assert grads.keys() == want_grads.keys()
    for name in grads:
        assert (grads[name] is None) == (want_grads[name] is None), name
        if grads[name] is not None:
            assert grads[name].tobytes() == want_grads[name].tobytes(), name
    assert grads["words.weight"] is not None and np.abs(grads["words.weight"]).sum() > 0


class _Matmuls:
    """NumPy with ``matmul`` counting its calls (threads.matmul_serial's GEMMs)."""

    def __init__(self):
        self.calls = 0

    def __getattr__(self, name):
        return getattr(np, name)

    def matmul(self, *args, **kwargs):
        self.calls += 1
        return np.matmul(*args, **kwargs)


def _product(m, k, n, count, monkeypatch, transposed=False):
    rng = np.random.default_rng(m + k + n)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = (rng.standard_normal((n, k)).astype(np.float32).T if transposed
         else rng.standard_normal((k, n)).astype(np.float32))
    recorder = _Matmuls()
    monkeypatch.setattr(threads, "np", recorder)
    before = threads.count()
    threads.set_count(count)
    try:
        out = threads.matmul_serial(a, b, np.empty((m, n), np.float32))
    finally:
        threads.set_count(before)
        monkeypatch.setattr(threads, "np", np)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4 * k ** 0.5)
    return out, recorder.calls


@pytest.mark.parametrize("m, k, n", [(256, 300, 578), (300, 256, 578), (120, 300, 578)])
def test_hidden_layer_backward_products_are_one_gemm(m, k, n, monkeypatch):
    """The default tagger's backward products (gradient of the input: [tokens, 300] by
    [300, 578]; of the weight: [300, tokens] by [tokens, 578]) as one GEMM, the same bits at
    any thread count."""
    one, calls = _product(m, k, n, 1, monkeypatch)
    two, calls_two = _product(m, k, n, 2, monkeypatch)
    assert calls == calls_two == 1
    assert one.tobytes() == two.tobytes()


@pytest.mark.parametrize("m, k, n, transposed", [
    (64, 784, 200, False), (64, 784, 200, True), (200, 64, 784, False),  # W8 VAE
    (64, 512, 256, False), (256, 512, 64, False),  # W8 GPT
    (64, 1568, 10, False),  # W6's classifier
])
def test_smaller_products_keep_their_blocks(m, k, n, transposed, monkeypatch):
    """Products under _LARGE_PRODUCT multiply-adds that BLAS would thread are kept off BLAS's
    threads (W6 and W8 at two threads rely on it): one GEMM with BLAS held at one thread where
    its count can be set (session 26: too little work for the intra-op pool), else blocks of
    at least _MIN_BLOCK rows or columns; the same bits at any thread count."""
    assert m * k * n < threads._LARGE_PRODUCT
    limit = threads.BLAS_SERIAL_WORK
    rows, cols = limit // (k * n), limit // (m * k)
    total, step = (m, rows) if rows >= threads._MIN_BLOCK else (n, cols)
    assert step >= threads._MIN_BLOCK
    one, calls = _product(m, k, n, 1, monkeypatch, transposed)
    two, _ = _product(m, k, n, 2, monkeypatch, transposed)
    held = threads.blas_threads() is not None and m * k * n // 64 < threads.MIN_SPLIT_WORK
    assert calls == (1 if held else -(-total // step))
    assert one.tobytes() == two.tobytes()
