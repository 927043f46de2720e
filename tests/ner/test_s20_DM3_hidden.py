"""The window tagger's hidden layer (issue 18). Session 20 gave it a shortcut layer that computed
its input's gradient only for the trainable columns; session 26 retired it (once it computed
that gradient over the whole width for nn.Linear's bits under every BLAS kernel, it was slower
than the plain layer) and the tagger calls ``nn.Linear`` on the one ``cat`` of its features.
What still matters, checked here: the same bits as the retired shortcut's products (a trained
model's weights did not change), no gradient for the constant features (and one for a constant
that asks for it, as explain.py does), hooks on the layer see its whole input, and PyTorch's
values, gradients and second derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.autograd.function import Function
from deltagrad.ner.document import DOC_STATS
from deltagrad.ner.model import WindowTagger
from deltagrad.nn import functional as F


def _inputs(rng, n, vocab):
    """A batch of every feature a window tagger takes (window 2, spellings of 3 positions,
    6 gazetteer and 3 history columns)."""
    counts = rng.integers(0, 4, 2 * n)  # some context bags empty
    sizes = rng.integers(1, 9, 3)
    return {
        "words": rng.integers(0, vocab, (n, 5)), "casing": rng.integers(0, 6, (n, 5)),
        "suffixes": rng.integers(0, 5, (n, 5)), "char_ngrams": rng.integers(0, 30, (7, 4)),
        "char_index": rng.integers(0, 7, (n, 3)),
        "context": rng.integers(0, vocab, int(counts.sum())),
        "context_offsets": np.cumsum(counts) - counts,
        "doc_stats": rng.standard_normal((n, DOC_STATS)).astype(np.float32),
        "gazetteer": rng.random((n, 6)).astype(np.float32),
        "topic": rng.integers(0, vocab, int(sizes.sum())),
        "topic_offsets": np.cumsum(sizes) - sizes, "topic_index": rng.integers(0, 3, (n, 2)),
        "history": rng.random((n, 3)).astype(np.float32),
    }


def _model(seed):
    return WindowTagger(vocab_size=60, word_dim=8, n_casings=6, casing_dim=3, n_suffixes=5,
                        suffix_dim=2, window=2, hidden=24, n_tags=5, char_buckets=30,
                        char_dim=4, char_window=1, document=True, gazetteer_width=6,
                        topic_bags=2, history_width=3, crf=True, generator=dg.Generator(seed))


class _RetiredProducts(Function):
    """The retired shortcut's arithmetic (session 26's last form): ``F.linear`` forward; the
    weight's gradient ``g.T @ x`` and the input's ``g @ W`` through ``F.linear``, the bias's
    column sums as a product with ones from 32 rows on, else a reduction."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.x, ctx.w = x.detach().numpy(), weight.detach().numpy()
        return F.linear(x.detach(), weight.detach(), bias.detach())

    @staticmethod
    def backward(ctx, upstream):
        g = upstream.numpy()
        with dg.no_grad():
            gx = F.linear(dg.from_numpy(g), dg.from_numpy(ctx.w).T)
            gw = F.linear(dg.from_numpy(g).T, dg.from_numpy(ctx.x).T)
            gb = np.ones(g.shape[0], g.dtype) @ g if g.shape[0] >= 32 else np.add.reduce(g, 0)
        return gx, gw, dg.from_numpy(gb)


class _Retired(dg.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return _RetiredProducts.apply(x, self.layer.weight, self.layer.bias)


def _dense(grad):
    return None if grad is None else (grad.to_dense() if grad.is_sparse else grad).numpy().copy()


def _step(model, arrays, upstream, seed):
    dg.manual_seed(seed)  # the same dropout masks
    model.zero_grad(set_to_none=True)
    scores = model(**{name: dg.from_numpy(a) for name, a in arrays.items()})
    scores.backward(dg.from_numpy(upstream))
    return scores.detach().numpy().copy(), {n: _dense(p.grad)
                                            for n, p in model.named_parameters()}


@pytest.mark.parametrize("n", [11, 40, 300])  # the bias's column sums: reduction, then BLAS
@pytest.mark.parametrize("seed", [0, 1])
def test_model_step_same_bits_as_the_retired_shortcut(n, seed):
    rng = np.random.default_rng(seed)
    model = _model(seed)
    arrays = _inputs(rng, n, 60)
    upstream = rng.standard_normal((n, 5)).astype(np.float32)
    plain = _step(model, arrays, upstream, seed)
    layer = model.hidden
    model.hidden = _Retired(layer)
    retired = _step(model, arrays, upstream, seed)
    model.hidden = layer
    np.testing.assert_array_equal(plain[0], retired[0])
    names = {name.replace("hidden.layer.", "hidden.") for name in retired[1]}
    assert names == plain[1].keys()
    for name, grad in retired[1].items():
        want = plain[1][name.replace("hidden.layer.", "hidden.")]
        assert (grad is None) == (want is None), name
        if want is not None:
            assert grad.tobytes() == want.tobytes(), name


def test_constant_features_get_no_gradient_and_hooks_see_the_whole_input():
    rng = np.random.default_rng(2)
    model = _model(2)
    arrays = _inputs(rng, 9, 60)
    seen = []
    handle = model.hidden.register_forward_pre_hook(
        lambda module, args: seen.append(tuple(args[0].shape)))
    inputs = {name: dg.from_numpy(a) for name, a in arrays.items()}
    model(**inputs).sum().backward()
    handle.remove()
    width = model.hidden.weight.shape[1]
    assert seen == [(9, width)]  # the hook saw the whole input (explain.py reads its gradient)
    for name in ("doc_stats", "gazetteer", "history"):
        assert inputs[name].grad is None
    grad = model.hidden.weight.grad.numpy()
    assert np.abs(grad[:, -3:]).sum() > 0  # the constant columns' weights still learn (history)
    # A constant that asks for a gradient gets one (explain.py's gradient x input).
    wants = dict(inputs, doc_stats=dg.from_numpy(arrays["doc_stats"]).requires_grad_())
    model(**wants).sum().backward()
    assert wants["doc_stats"].grad is not None
    assert np.abs(wants["doc_stats"].grad.numpy()).sum() > 0


@pytest.mark.parametrize("n", [7, 64])
def test_values_gradients_and_second_derivatives_match_pytorch(n):
    """The tagger's formula, ``linear(cat(trained + constant))``: the retired shortcut raised
    on second derivatives (NumPy products); the plain layer gives PyTorch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(n)
    arrays = [rng.standard_normal((n, w)).astype(np.float32) for w in (5, 3, 2, 4)]
    weight = rng.standard_normal((6, 14)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    upstream = rng.standard_normal((n, 6)).astype(np.float32)

    def run(lib, tensor, linear):
        w = tensor(weight).requires_grad_()
        b = tensor(bias).requires_grad_()
        parts = [tensor(a).requires_grad_(i < 2) for i, a in enumerate(arrays)]
        out = linear(lib.cat(parts, -1), w, b)
        (first,) = lib.autograd.grad((out * tensor(upstream)).sum(), parts[0], create_graph=True)
        (first ** 2).sum().backward()
        out2 = linear(lib.cat(parts, -1), w, b)
        out2.backward(tensor(upstream))
        return [out.detach().numpy(), first.detach().numpy(), w.grad.numpy(), b.grad.numpy(),
                *(None if p.grad is None else p.grad.numpy() for p in parts)]

    ours = run(dg, dg.from_numpy, F.linear)
    theirs = run(torch, torch.from_numpy, torch.nn.functional.linear)
    for mine, want in zip(ours, theirs, strict=True):
        if want is None:
            assert mine is None
        else:
            np.testing.assert_allclose(mine, want, rtol=1e-5, atol=1e-5)
