"""What a graph node still tells after ``backward()`` freed it, against PyTorch: the node's name
(``grad_fn.name()``, ``type(grad_fn).__name__``) of the ops whose name reads their attributes,
and a view's ``_base`` / ``_is_view()``, which PyTorch keeps (the view's relation, not the
graph's). The backward sweep used to free every node's attributes and inputs: SumBackward1
read SumBackward0, TransposeBackward0 / TBackward0 read PermuteBackward0, SqueezeBackward1
read ViewBackward0, SelectBackward0 read SliceBackward0, and every view lost its ``_base``
(session 24, BR7; ``Op.keeps`` in ops/registry.py)."""

from __future__ import annotations

import pickle

import pytest

import deltagrad

torch = pytest.importorskip("torch")


def _cases(t):
    x = t.arange(24.).reshape(2, 3, 4).requires_grad_()
    m = t.arange(6.).reshape(2, 3).requires_grad_()
    v = t.arange(3.).requires_grad_()
    c = t.arange(8.).reshape(2, 1, 4, 1).requires_grad_()
    f = t.nn.functional
    return {
        "t": lambda: m.t(), "t1d": lambda: v.t(), "T": lambda: m.T, "mT": lambda: x.mT,
        "transpose": lambda: x.transpose(0, 2), "swapaxes": lambda: x.swapaxes(1, 2),
        "permute": lambda: x.permute(2, 0, 1), "permute_swap": lambda: x.permute(1, 0, 2),
        "movedim": lambda: x.movedim(0, 2), "squeeze": lambda: c.squeeze(),
        "squeeze1": lambda: c.squeeze(1), "squeeze2": lambda: c.squeeze((1, 3)),
        "unsqueeze": lambda: m.unsqueeze(0), "view": lambda: x.view(6, 4),
        "view_1s": lambda: c.view(2, 4), "reshape": lambda: x.reshape(6, 4),
        "reshape_copy": lambda: x.transpose(0, 1).reshape(12, 2), "flatten": lambda: x.flatten(),
        "select": lambda: x[1], "select2": lambda: x.select(1, 2), "slice": lambda: x[:, 1:],
        "narrow": lambda: x.narrow(2, 1, 2), "index": lambda: x[[0, 1]],
        "none_index": lambda: m[None], "ellipsis": lambda: x[...],
        "diagonal": lambda: m.diagonal(), "expand": lambda: v.expand(2, 3),
        "unbind": lambda: m.unbind()[1], "split": lambda: x.split(1)[0],
        "chunk": lambda: x.chunk(2, 2)[1], "unfold": lambda: v.unfold(0, 2, 1),
        "view_of_view": lambda: x.view(24).view(4, 6), "slice_of_t": lambda: m.t()[1:],
        "sum": lambda: x.sum(), "sum_dim": lambda: x.sum(1), "sum_dims": lambda: x.sum((0, 1)),
        "mean": lambda: x.mean(), "mean_dim": lambda: x.mean(0), "prod": lambda: x.prod(),
        "prod_dim": lambda: x.prod(1), "max": lambda: x.max(), "amax": lambda: x.amax(1),
        "amin": lambda: x.amin(), "min": lambda: x.min(), "sub": lambda: m - 2,
        "div": lambda: m / 2, "pow": lambda: m ** v,
        "mm": lambda: m @ m.t(), "linear_b": lambda: f.linear(m, m, v[:2]),
        "cat": lambda: t.cat([m, m]), "stack": lambda: t.stack([m, m]),
        "pad": lambda: f.pad(m, (1, 1)), "nll": lambda: f.cross_entropy(m, t.tensor([0, 2])),
        "var": lambda: x.var(1), "cumsum": lambda: x.cumsum(1), "clamp": lambda: x.clamp(1, 3),
    }


_NAMES = list(_cases(torch))


def _state(y):
    fn = y.grad_fn
    return fn.name(), type(fn).__name__, y._is_view(), y._base is not None


def _backward(y, retain=False):
    # (y * y: a graph with a saved value; deltagrad keeps a graph that saved nothing whole)
    (y * y).sum().backward(retain_graph=retain)


def _probe(t, key, retain):
    y = _cases(t)[key]()
    before = _state(y)
    _backward(y, retain)
    if t is deltagrad:
        assert (y._inputs is None) is not retain  # (the node was freed, or kept)
    return before, _state(y)


@pytest.mark.parametrize("retain", [False, True], ids=["freed", "retained"])
@pytest.mark.parametrize("key", _NAMES)
def test_name_and_view_after_backward(key, retain):
    expected = _probe(torch, key, retain)
    assert expected[0] == expected[1]  # (PyTorch's node and view relation do not change)
    assert _probe(deltagrad, key, retain) == expected


@pytest.mark.parametrize("key", ["t", "select", "view_of_view", "slice_of_t", "squeeze1"])
def test_base_is_the_same_tensor_after_backward(key):
    # `_base` is the root tensor itself (x.view(24).view(4, 6)._base is x), before and after
    for t in (torch, deltagrad):
        y = _cases(t)[key]()
        root = y._base
        _backward(y)
        assert y._base is root and root is not None and not root._is_view()


def test_base_of_a_non_leaf_and_its_values_after_backward():
    for t in (torch, deltagrad):
        w = t.arange(6.).requires_grad_()
        h = w * 2
        y = h.view(2, 3).t()
        _backward(y)
        assert y._base is h
        with t.no_grad():
            h[0] = 100.  # still the same memory
        assert y[0, 0].item() == 100.


def test_printed_node_after_backward():
    texts = []
    for t in (torch, deltagrad):
        x = t.arange(24.).reshape(2, 3, 4).requires_grad_()
        ys = [x.transpose(0, 1), x.sum(1), x[1], x.transpose(0, 1).reshape(12, 2)]
        _backward(ys[0] + ys[1].sum() + ys[2].sum() + ys[3].sum())
        texts.append([repr(y).split("grad_fn=")[1] for y in ys])
    assert texts[0] == texts[1]


def test_a_copying_reshape_keeps_no_input():
    # x.t().reshape(-1) copies: no view (PyTorch's _base None) and the freed node holds nothing
    x = deltagrad.arange(6.).reshape(2, 3).requires_grad_()
    y = x.t().reshape(-1)
    _backward(y)
    assert y._base is None and not y._is_view()
    assert getattr(y, "_view_base", None) is None


def test_pickled_view_carries_no_base():
    x = deltagrad.arange(6.).requires_grad_()
    y = x.view(2, 3) * 1
    v = y.t()
    _backward(v)
    assert v._base is y
    back = pickle.loads(pickle.dumps(v))
    assert back._base is None and back.grad_fn is None
    assert back.tolist() == v.tolist()


# Known differences left (reported): these names read the freed inputs (a guess is given:
# MmBackward0 / AddmmBackward0 / PowBackward1 / SubBackward0 / NllLossBackward0), and
# next_functions is empty after backward (PyTorch keeps its edges: here they are the input
# tensors and their arrays).
@pytest.mark.xfail(strict=True, reason=(
    "names read the freed inputs (ndim, a scalar first operand, a bias): after backward the "
    "commonest is guessed (node_names._FREED). Keeping them costs every backward a name "
    "lookup per matmul / linear / sub / div / pow / cat node (~1 us each) or the inputs' "
    "memory, for a name read after backward only (session 26, BR13: left)"))
@pytest.mark.parametrize("key", ["mv", "rpow", "rsub", "linear"])
def test_names_read_from_inputs_after_backward(key):
    def make(t):
        m = t.arange(6.).reshape(2, 3).requires_grad_()
        v = t.arange(3.).requires_grad_()
        return {"mv": lambda: m @ v, "rpow": lambda: 2 ** m, "rsub": lambda: 2 - m,
                "linear": lambda: t.nn.functional.linear(m, m)}[key]()

    names = []
    for t in (torch, deltagrad):
        y = make(t)
        _backward(y)
        names.append(y.grad_fn.name())
    assert names[0] == names[1]


@pytest.mark.xfail(strict=True, reason=(
    "next_functions after backward: the sweep frees each node's inputs (PyTorch keeps its "
    "edges to the input nodes); keeping them would hold every input tensor's array past "
    "backward (session 26, BR13: left)"))
def test_next_functions_after_backward():
    lengths = []
    for t in (torch, deltagrad):
        y = t.arange(6.).reshape(2, 3).requires_grad_() * 2
        _backward(y)
        lengths.append(len(y.grad_fn.next_functions))
    assert lengths[0] == lengths[1]
