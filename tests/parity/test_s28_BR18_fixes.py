"""Session 28 BR18: small differences this session's helpers found and left, each checked
against real ``torch``.

Arguments PyTorch's parser refuses (``x.new_full(3, 1.0)``, ``requires_grad_(1)`` / ``None``,
``x.requires_grad = 1``, dropout's ``training=None`` / ``1``, ``torch.zeros('a')`` /
``ones(2.5)`` / ``zeros((2.5,))``), ``tensordot(a, b, None)``'s RuntimeError; PyTorch's words
first for einsum's operand-count / broadcast / repeated-subscript errors, masked_fill_'s
broadcast error (self is tensor a) and softmax / log_softmax of ints; PyTorch's classes for an
LSTM's 1-tuple hx (IndexError), adaptive_avg_pool2d / 3d of too few dims (RuntimeError, not
IndexError), index_add out of range of a 1-d self (IndexError) and a step pre-hook returning no
positional arguments (IndexError); ``UntypedStorage.resize_`` (was missing); unsafe_chunk /
unsafe_split pieces of a tensor outside the graph are no views to ``_is_view()`` / ``_base``.
"""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _run(lib, code: str):
    """(the exception ``code`` raises or None, the value of ``out`` it sets), with ``torch``,
    ``F``, ``o`` (ones) and ``np`` in scope."""
    space = {"torch": lib, "F": lib.nn.functional, "o": lib.ones, "np": np}
    try:
        exec(code, space)
    except Exception as error:  # noqa: BLE001 - the exception is the result compared
        return error, None
    return None, space.get("out")


def _builtin(error: BaseException) -> type:
    return next(k for k in type(error).__mro__ if k.__module__ == "builtins")


RAISES = [
    # the parser's refusals
    "o(2).new_full(3, 1.0)", "o(2).new_full(2.0, 1.0)", "o(2).new_full(None, 1.0)",
    "o(2).requires_grad_(1)", "o(2).requires_grad_(None)", "o(2).requires_grad_('x')",
    "x = o(2); x.requires_grad = 1", "x = o(2); x.requires_grad = None",
    "F.dropout(o(3), 0.5, None)", "F.dropout(o(3), 0.5, 1)", "F.dropout(o(3), 0.5, training=0)",
    "F.dropout1d(o(2, 3), 0.5, None)", "F.dropout2d(o(1, 2, 3, 4), 0.5, None)",
    "F.dropout3d(o(1, 2, 3, 4, 5), 0.5, None)", "F.alpha_dropout(o(3), 0.5, None)",
    "F.feature_alpha_dropout(o(2, 3), 0.5, None)",
    "torch.zeros('a')", "torch.ones(2.5)", "torch.zeros(None)", "torch.empty(2.5)",
    "torch.rand('a')", "torch.zeros((2.5,))", "torch.ones([2.5, 2])",
    "torch.tensordot(o(3, 3), o(3, 3), None)",
    # words
    "torch.einsum('ij,jk->ik', o(2, 3), o(4, 5))", "torch.einsum('ij,jk', o(2, 3))",
    "torch.einsum('ij', o(2, 3), o(2))", "torch.einsum('ii', o(2, 3))",
    "torch.einsum('ij,ij->ij', o(2, 3), o(3, 3))",
    "o(2, 3).masked_fill_(o(3, 3, dtype=torch.bool), 1.0)",
    "o(2, 3).masked_fill_(o(4, 3, dtype=torch.bool), 1.0)",
    "o(2, 3).masked_fill(o(3, 3, dtype=torch.bool), 1.0)",
    "torch.softmax(torch.arange(3), 0)", "F.softmax(torch.arange(3), 0)",
    "torch.log_softmax(torch.arange(3), 0)", "torch.softmax(o(2, 3, dtype=torch.int32), -2)",
    "torch.softmax(o(2, 2, dtype=torch.bool), 1)", "torch.arange(3).softmax(0)",
    "F.softmin(torch.arange(3), 0)",
    # classes
    "torch.nn.LSTM(3, 4)(o(2, 1, 3), (torch.zeros(1, 1, 4),))",
    "F.adaptive_avg_pool2d(o(4), 2)", "F.adaptive_avg_pool3d(o(4, 4), 2)",
    "F.adaptive_avg_pool2d(o(4), 1)", "F.adaptive_avg_pool3d(o(2, 3), 1)",  # (global: a mean)
    "o(3).index_add_(0, torch.tensor([5]), o(1))", "o(3).index_add(0, torch.tensor([-4]), o(1))",
    "torch.zeros(()).index_add(0, torch.tensor([-1]), torch.ones(()))",
    "o(3, 2).index_add_(0, torch.tensor([5]), o(1, 2))",
    "o(3, 2).index_add_(1, torch.tensor([5]), o(3, 1))",
    "p = torch.nn.Parameter(o(2)); opt = torch.optim.SGD([p], lr=0.1)\n"
    "opt.register_step_pre_hook(lambda opt, a, k: ((), {})); p.grad = o(2); opt.step()",
]


@pytest.mark.parametrize("code", RAISES, ids=[f"raises{i}" for i in range(len(RAISES))])
def test_raises_as_pytorch(code):
    (theirs, _), (ours, _) = _run(torch, code), _run(dg, code)
    assert theirs is not None, f"{code}: PyTorch raised nothing"
    assert ours is not None, f"{code}: deltagrad raised nothing (PyTorch {theirs!r})"
    assert isinstance(ours, _builtin(theirs)), f"{code}: {ours!r} vs {theirs!r}"
    words = str(theirs).split("\n")[0]
    said = str(ours).replace("deltagrad.", "torch.")
    assert said.startswith(words), f"{code}:\n  ours {ours}\n  torch {theirs}"


VALUES = [
    # what still works, alike
    "out = o(2).new_full([3], 2.0).tolist()", "out = o(2).new_full(torch.Size([2]), 1).tolist()",
    "out = o(2).new_full((2,), 1.0, dtype=torch.int64).dtype is torch.int64",
    "out = o(2).requires_grad_(True).requires_grad",
    "x = o(2); x.requires_grad = True; out = x.requires_grad",
    "out = torch.autograd.Variable(o(2), requires_grad=1).requires_grad",
    "out = F.dropout(o(3), 0.5, False).tolist()", "out = F.dropout(o(3), 0.0).tolist()",
    "out = torch.zeros(2, 3).shape == (2, 3)", "out = torch.zeros((2, 3)).shape == (2, 3)",
    "out = torch.tensordot(o(2, 3), o(3, 2), 1).tolist()",
    "out = torch.einsum('ij,ij->ij', o(2, 3), o(1, 3)).tolist()",
    "x = o(2, 3); x.masked_fill_(torch.tensor([True, False, True]), 5.0); out = x.tolist()",
    "out = torch.softmax(torch.arange(3), 0, dtype=torch.float64).dtype is torch.float64",
    "out = torch.softmax(torch.ones(0, dtype=torch.int64), 0).shape == (0,)",
    "out = o(3).index_add(0, torch.tensor([2, 0]), torch.tensor([1.0, 2.0])).tolist()",
    # unsafe pieces: no views, memory shared, a graph value written into one reaches the base
    "x = torch.arange(4.); p = x.unsafe_chunk(2)[0]; out = (p._is_view(), p._base is None)",
    "x = torch.arange(4.); s = x.unsafe_split(2); w = x.unsafe_split_with_sizes([1, 3])\n"
    "out = (s[1]._is_view(), w[0]._is_view(), w[1]._base is None)",
    "x = torch.arange(4., requires_grad=True); p = x.unsafe_chunk(2)[1]\n"
    "out = (p._is_view(), p._base is None)",
    "x = torch.arange(4.); x.unsafe_chunk(2)[0].mul_(2); out = x.tolist()",
    "x = torch.arange(4.); v = x[:2]; out = (v._is_view(), v._base is x)",
    "x = torch.arange(4.); w = torch.ones(2, requires_grad=True); p = x.unsafe_chunk(2)[0]\n"
    "p.mul_(w * 3); p.sum().backward(); out = (x.tolist(), w.grad.tolist())",
]


@pytest.mark.parametrize("code", VALUES, ids=[f"value{i}" for i in range(len(VALUES))])
def test_values_as_pytorch(code):
    (theirs, expected), (ours, got) = _run(torch, code), _run(dg, code)
    assert theirs is None, f"{code}: PyTorch raised {theirs!r}"
    assert ours is None, f"{code}: deltagrad raised {ours!r}"
    assert got == expected, code


def test_untyped_storage_resize_():
    for lib in (torch, dg):
        s = lib.UntypedStorage(4)
        s[0], s[3] = 7, 9
        assert s.resize_(8) is s
        assert (s.nbytes(), s[0], s[3]) == (8, 7, 9)
        assert s.resize_(2) is s and s[0] == 7 and s.nbytes() == 2
        x = lib.arange(4.0)
        assert x.untyped_storage().resize_(16).nbytes() == 16  # (the same size: nothing to do)
    # A storage a tensor views: PyTorch re-points the tensor at the new bytes (and crashes
    # reading it after resize_(0)); deltagrad refuses rather than leave the tensor behind.
    x = dg.arange(4.0)
    with pytest.raises(NotImplementedError, match="shared with a tensor"):
        x.untyped_storage().resize_(0)
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0]
    y, storage = dg.tensor([]), dg.UntypedStorage(8)
    y.set_(storage)
    with pytest.raises(NotImplementedError, match="shared with a tensor"):
        storage.resize_(16)
