"""The window tagger's hidden layer computes its input's gradient only for the trainable columns
(ner/hidden.py, issue 18): the same bits as ``nn.Linear`` over the whole input, forward and
backward, for every parameter; the plain layer where the shortcut would change what is seen
(hooks on the layer, a constant that wants a gradient, no_grad); PyTorch's values."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.ner import hidden
from deltagrad.ner import model as model_module
from deltagrad.ner.document import DOC_STATS
from deltagrad.ner.hidden import hidden_layer
from deltagrad.ner.model import WindowTagger


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


def _plain(layer, trained, constant):
    return layer(dg.cat(trained + constant, dim=-1))


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
def test_model_step_same_bits_as_the_plain_layer(monkeypatch, n, seed):
    rng = np.random.default_rng(seed)
    model = WindowTagger(vocab_size=60, word_dim=8, n_casings=6, casing_dim=3, n_suffixes=5,
                         suffix_dim=2, window=2, hidden=24, n_tags=5, char_buckets=30,
                         char_dim=4, char_window=1, document=True, gazetteer_width=6,
                         topic_bags=2, history_width=3, crf=True, generator=dg.Generator(seed))
    arrays = _inputs(rng, n, 60)
    upstream = rng.standard_normal((n, 5)).astype(np.float32)
    monkeypatch.setattr(hidden, "_MIN_PAIR", 0)  # (the shortcut at this small size)
    monkeypatch.setattr(hidden, "_MIN_WORK", 0)
    taken = []
    monkeypatch.setattr(hidden._PartlyTrainedLinear, "apply",
                        lambda *a, _apply=hidden._PartlyTrainedLinear.apply, **k:
                        taken.append(1) or _apply(*a, **k))
    fast = _step(model, arrays, upstream, seed)
    assert taken == [1]
    monkeypatch.setattr(model_module, "hidden_layer", _plain)
    plain = _step(model, arrays, upstream, seed)
    np.testing.assert_array_equal(fast[0], plain[0])
    assert fast[1].keys() == plain[1].keys()
    for name in plain[1]:
        assert (fast[1][name] is None) == (plain[1][name] is None), name
        if plain[1][name] is not None:
            assert fast[1][name].tobytes() == plain[1][name].tobytes(), name


def _parts(rng, n, widths, grad):
    return [dg.from_numpy(rng.standard_normal((n, w)).astype(np.float32)).requires_grad_(grad)
            for w in widths]


def test_shortcut_taken_and_constant_parts_get_no_gradient(monkeypatch):
    rng = np.random.default_rng(2)
    layer = dg.nn.Linear(9, 4)
    trained, constant = _parts(rng, 5, (3, 4), True), _parts(rng, 5, (2,), False)
    monkeypatch.setattr(hidden, "_MIN_PAIR", 0)  # (the shortcut at any size)
    monkeypatch.setattr(hidden, "_MIN_WORK", 0)
    out = hidden_layer(layer, trained, constant)
    assert type(out.grad_fn).__name__ == "_PartlyTrainedLinearBackward"
    out.sum().backward()
    assert all(t.grad is not None for t in trained) and constant[0].grad is None
    # Its backward is NumPy's: second derivatives through it raise (PyTorch's message for
    # once_differentiable functions) rather than come out as zeros.
    out = hidden_layer(layer, trained, constant)
    (grad,) = dg.autograd.grad((out ** 2).sum(), trained[0], create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        grad.sum().backward()
    # The plain layer where the shortcut would change what is observable.
    with dg.no_grad():
        assert hidden_layer(layer, trained, constant).grad_fn is None
    wants = _parts(rng, 5, (2,), True)
    out = hidden_layer(layer, trained, wants)
    assert type(out.grad_fn).__name__ != "_PartlyTrainedLinearBackward"
    out.sum().backward()
    assert wants[0].grad is not None  # (explain.py's gradient x input of such columns)
    seen = []
    handle = layer.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    out = hidden_layer(layer, trained, constant)
    handle.remove()
    assert seen == [dg.Size([5, 9])]  # the hook saw the whole input
    assert type(out.grad_fn).__name__ != "_PartlyTrainedLinearBackward"


@pytest.mark.parametrize("n", [7, 64])
def test_values_and_gradients_match_pytorch(n):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(n)
    arrays = [rng.standard_normal((n, w)).astype(np.float32) for w in (5, 3, 2, 4)]
    weight = rng.standard_normal((6, 14)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    upstream = rng.standard_normal((n, 6)).astype(np.float32)

    layer = dg.nn.Linear(14, 6)
    with dg.no_grad():
        layer.weight.copy_(dg.from_numpy(weight))
        layer.bias.copy_(dg.from_numpy(bias))
    parts = [dg.from_numpy(a).requires_grad_(i < 2) for i, a in enumerate(arrays)]
    out = hidden_layer(layer, parts[:2], parts[2:])
    out.backward(dg.from_numpy(upstream))

    t_parts = [torch.from_numpy(a).requires_grad_(i < 2) for i, a in enumerate(arrays)]
    t_weight = torch.from_numpy(weight).requires_grad_()
    t_bias = torch.from_numpy(bias).requires_grad_()
    t_out = torch.nn.functional.linear(torch.cat(t_parts, -1), t_weight, t_bias)
    t_out.backward(torch.from_numpy(upstream))

    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    for ours, theirs in ((layer.weight, t_weight), (layer.bias, t_bias), *zip(parts, t_parts)):
        if theirs.grad is None:
            assert ours.grad is None
        else:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5,
                                       atol=1e-5)


@pytest.mark.parametrize("rows", [1, 60, 101, 133, 134, 200, 256, 300])
def test_default_layer_shapes_same_bits_as_nn_linear(rows):
    """The default layer (575 -> 300: 470 trainable columns, 105 constant): the same bits as
    nn.Linear over the whole input at every batch size, the shortcut's (from 134 rows on) and
    the plain layer's (below it: deltagrad computes those products in blocks)."""
    rng = np.random.default_rng(rows)
    layer = dg.nn.Linear(575, 300)
    arrays = [rng.standard_normal((rows, w)).astype(np.float32) for w in (370, 100, 5, 100)]
    upstream = dg.from_numpy(rng.standard_normal((rows, 300)).astype(np.float32))
    results = []
    for shortcut in (True, False):
        layer.zero_grad(set_to_none=True)
        parts = [dg.from_numpy(a).requires_grad_(i < 2) for i, a in enumerate(arrays)]
        out = (hidden_layer(layer, parts[:2], parts[2:]) if shortcut
               else layer(dg.cat(parts, dim=-1)))
        assert (type(out.grad_fn).__name__ == "_PartlyTrainedLinearBackward") == (
            shortcut and rows >= 134)
        out.backward(upstream)
        results.append([out.detach().numpy().tobytes()]
                       + [t.grad.numpy().tobytes() for t in (layer.weight, layer.bias, *parts[:2])])
    assert results[0] == results[1]
