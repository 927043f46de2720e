"""Session 8 (L2): argument checks of nn functions and their torch.* forms as PyTorch's (the
fuzzer's raise-mismatch / we-raise leftovers): which error comes first, and the calls PyTorch
accepts that deltagrad refused (0-d bool tensors read by Tensor methods, a 0-d input of
torch.binary_cross_entropy_with_logits, tensor num_groups)."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import deltagrad as dg  # noqa: E402

X = np.arange(6, dtype=np.float32).reshape(2, 3) / 7


def _t(m, array, dtype=None):
    out = m.tensor(np.asarray(array))
    return out if dtype is None else out.to(getattr(m, dtype))


# Each case: m is the module (deltagrad or torch), F its nn.functional.
CASES = {
    # conv1d: a non-tensor weight is PyTorch's TypeError, before any shape check
    "conv1d int weight": lambda m, F: F.conv1d(_t(m, X), 2),
    "torch.conv1d float weight": lambda m, F: m.conv1d(_t(m, X), 2.5),
    "conv1d 0-d input, float weight": lambda m, F: F.conv1d(_t(m, 1.0), 2.5),
    # layer_norm / rms_norm: normalized_shape must be a tuple of ints
    "layer_norm int shape": lambda m, F: F.layer_norm(_t(m, X), 3),
    "layer_norm tensor shape": lambda m, F: F.layer_norm(_t(m, X), _t(m, [3])),
    "layer_norm float element": lambda m, F: F.layer_norm(_t(m, X), (3.0,)),
    "layer_norm tensor element": lambda m, F: F.layer_norm(_t(m, X), [_t(m, 3)]),
    "layer_norm float weight": lambda m, F: F.layer_norm(_t(m, X), (3,), 2.0),
    "layer_norm int input": lambda m, F: F.layer_norm(_t(m, X, "int64"), (3,)),
    "layer_norm mixed dtypes": lambda m, F: F.layer_norm(_t(m, X), (3,), m.ones(3).double()),
    "torch.layer_norm int shape": lambda m, F: m.layer_norm(_t(m, X), 3),
    "rms_norm int shape": lambda m, F: F.rms_norm(_t(m, X), 3),
    "rms_norm list input": lambda m, F: F.rms_norm([[1.0, 2.0, 3.0]], (3,)),
    "rms_norm int input": lambda m, F: F.rms_norm(_t(m, X, "int64"), (3,)),
    "rms_norm float64 weight": lambda m, F: F.rms_norm(_t(m, X), (3,), m.ones(3).double()),
    # group_norm: F's Python checks, then ATen's
    "group_norm 0 groups": lambda m, F: F.group_norm(_t(m, X), 0),
    "group_norm 0-d input": lambda m, F: F.group_norm(_t(m, 1.0), 2.5),
    "group_norm one value per group": lambda m, F: F.group_norm(_t(m, X[:1]), 3),
    "group_norm int8 tensor groups": lambda m, F: F.group_norm(_t(m, X), _t(m, 3, "int8")),
    "group_norm int input": lambda m, F: F.group_norm(_t(m, X, "int64"), 3),
    "group_norm mixed dtypes": lambda m, F: F.group_norm(_t(m, X), 3, m.ones(3).double()),
    "torch.group_norm 1-d": lambda m, F: m.group_norm(_t(m, X[0]), 1),
    "torch.group_norm 0 groups": lambda m, F: m.group_norm(_t(m, X), 0),
    "torch.group_norm bool groups": lambda m, F: m.group_norm(_t(m, X), _t(m, True)),
    "torch.group_norm cudnn flag": lambda m, F: m.group_norm(_t(m, X), 3, None, None, 1e-5,
                                                            False),
    "instance_norm int input": lambda m, F: F.instance_norm(_t(m, X[None], "int8")),
    "batch_norm float running_var": lambda m, F: F.batch_norm(_t(m, X), _t(m, X[0]), 0.5),
    # embedding / embedding_bag
    "torch.embedding padding beyond table": lambda m, F: m.embedding(_t(m, X), _t(m, [1, 0]),
                                                                     5),
    "torch.embedding float padding": lambda m, F: m.embedding(_t(m, X), _t(m, [1]), 2.5),
    "torch.embedding uint8 indices": lambda m, F: m.embedding(_t(m, X), _t(m, [1], "uint8")),
    "torch.embedding index out of range": lambda m, F: m.embedding(_t(m, X), _t(m, [2])),
    "torch.embedding 3-d table": lambda m, F: m.embedding(_t(m, X[None]), _t(m, [1])),
    "embedding_bag 1-d weight": lambda m, F: F.embedding_bag(_t(m, [[0, 1]]), _t(m, X[0])),
    "embedding_bag float input": lambda m, F: F.embedding_bag(_t(m, X), _t(m, X)),
    "embedding_bag 2-d bool input": lambda m, F: F.embedding_bag(_t(m, [[True]]), _t(m, X)),
    "embedding_bag int weight": lambda m, F: F.embedding_bag(_t(m, [[0]]), 2),
    "embedding_bag 0-d input": lambda m, F: F.embedding_bag(_t(m, 0), _t(m, X)),
    "embedding_bag uint8 input": lambda m, F: F.embedding_bag(_t(m, [[0, 1]], "uint8"),
                                                              _t(m, X)),
    "embedding_bag index out of range": lambda m, F: F.embedding_bag(_t(m, [[0, 4]]), _t(m, X)),
    "embedding_bag values": lambda m, F: F.embedding_bag(_t(m, [[0, 1], [1, 1]]), _t(m, X)),
    "torch.embedding_bag int offsets": lambda m, F: m.embedding_bag(_t(m, X), _t(m, [0]), 2),
    # losses' ATen forms: reduction is an int; the input broadcasts to the target
    "torch.kl_div tensor reduction": lambda m, F: m.kl_div(_t(m, X), _t(m, X), _t(m, X)),
    "torch.kl_div float reduction": lambda m, F: m.kl_div(_t(m, X), _t(m, X), 0.5),
    "torch.kl_div str reduction": lambda m, F: m.kl_div(_t(m, X), _t(m, X), "mean"),
    "torch.kl_div 0-d int reduction": lambda m, F: m.kl_div(_t(m, X), _t(m, X), _t(m, 1)),
    "torch.bce_logits 0-d input": lambda m, F: m.binary_cross_entropy_with_logits(
        _t(m, 0.3), _t(m, X)),
    "torch.bce_logits 0-d input, mean": lambda m, F: m.binary_cross_entropy_with_logits(
        _t(m, 0.3), _t(m, X), None, None, 1),
    "torch.bce_logits target broadcast": lambda m, F: m.binary_cross_entropy_with_logits(
        _t(m, X), _t(m, X[0])),
    "torch.bce_logits float weight": lambda m, F: m.binary_cross_entropy_with_logits(
        _t(m, X), _t(m, X), 0.5),
    # bilinear, cosine_similarity, pairwise_distance, scaled_dot_product_attention
    "bilinear 2-d weight": lambda m, F: F.bilinear(_t(m, X), _t(m, X), _t(m, X)),
    "bilinear float weight": lambda m, F: F.bilinear(_t(m, X), _t(m, X), 0.5),
    "bilinear mixed dtypes": lambda m, F: F.bilinear(_t(m, X, "bool"), _t(m, X), _t(m, X[0])),
    "cosine_similarity float dim": lambda m, F: F.cosine_similarity(_t(m, X), _t(m, X), 2.5),
    "cosine_similarity bool dim": lambda m, F: F.cosine_similarity(_t(m, X), _t(m, X), True),
    "cosine_similarity 0-d dim": lambda m, F: F.cosine_similarity(_t(m, X), _t(m, X),
                                                                  _t(m, 1)),
    "pairwise_distance tensor p": lambda m, F: F.pairwise_distance(_t(m, X), _t(m, X),
                                                                   _t(m, X)),
    "pairwise_distance 0-d p": lambda m, F: F.pairwise_distance(_t(m, X), _t(m, X), _t(m, 1.0)),
    "pairwise_distance int keepdim": lambda m, F: F.pairwise_distance(_t(m, X), _t(m, X), 2,
                                                                      1e-6, 1),
    "sdpa int value": lambda m, F: F.scaled_dot_product_attention(_t(m, X), _t(m, X), 2),
    "sdpa int mask": lambda m, F: F.scaled_dot_product_attention(_t(m, X), _t(m, X), _t(m, X),
                                                                 2),
    # Tensor methods read a 0-d bool tensor as an int; the functions refuse it
    "Tensor.flip(True)": lambda m, F: _t(m, X).flip(_t(m, True)),
    "Tensor.flip(False)": lambda m, F: _t(m, X).flip(_t(m, False)),
    "Tensor.flip((True, 0))": lambda m, F: _t(m, X).flip((_t(m, True), 0)),
    "Tensor.flip(True) of 0-d": lambda m, F: _t(m, 2.0).flip(_t(m, True)),
    "torch.flip(True)": lambda m, F: m.flip(_t(m, X), _t(m, True)),
    "Tensor.squeeze(True)": lambda m, F: _t(m, X[:, :1]).squeeze(_t(m, True)),
    "Tensor.squeeze_(False)": lambda m, F: _t(m, X[:1]).squeeze_(_t(m, False)),
    "torch.squeeze(True)": lambda m, F: m.squeeze(_t(m, X), _t(m, True)),
    "Tensor.hsplit(True)": lambda m, F: _t(m, X).hsplit(_t(m, True)),
    "Tensor.vsplit(True)": lambda m, F: _t(m, X).vsplit(_t(m, True)),
    "Tensor.dsplit(True)": lambda m, F: _t(m, X[..., None].repeat(3, 2)).dsplit(_t(m, True)),
    "torch.hsplit(True)": lambda m, F: m.hsplit(_t(m, X), _t(m, True)),
}


def _outcome(m, F, call):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call(m, F)
    except Exception as error:  # noqa: BLE001 - the exception type is what is compared
        return ("raises", error)
    results = result if isinstance(result, tuple) else (result,)
    return tuple((str(r.dtype).split(".")[-1], tuple(r.shape), r.detach().double().numpy())
                 for r in results)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch(name):
    expected = _outcome(torch, torch.nn.functional, CASES[name])
    got = _outcome(dg, dg.nn.functional, CASES[name])
    if expected[0] == "raises" or got[0] == "raises":
        # deltagrad's errors may be subclasses (DTypeError is a RuntimeError and a TypeError)
        assert got[0] == expected[0] == "raises", (got, expected)
        assert isinstance(got[1], type(expected[1])), (got, expected)
        return
    assert [(d, s) for d, s, _ in got] == [(d, s) for d, s, _ in expected]
    for (_, _, have), (_, _, want) in zip(got, expected):
        np.testing.assert_allclose(have, want, rtol=1e-5, atol=1e-6)



def test_bce_logits_0d_input_gradient():
    # (PyTorch's own backward fails here: "output with shape [] doesn't match the broadcast
    # shape [2, 3]"; deltagrad's is the sum over the batch of the expanded input's gradient.)
    x = dg.tensor(0.3, requires_grad=True)
    dg.binary_cross_entropy_with_logits(x, dg.tensor(X), None, None, 1).backward()
    expected = (1 / (1 + np.exp(-0.3)) - X).mean()
    assert float(x.grad) == pytest.approx(expected, rel=1e-5)
