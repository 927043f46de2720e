"""Regression tests for what PR14's Q&A snippet programs (session 27,
tests/programs/prog_s27_PR14_*.py) found different from PyTorch 2.13, each run on deltagrad
and on the real torch:

- the ``grad_fn`` a printed result shows (``tensor(..., grad_fn=<IndexAddBackward0>)``) for the
  scatter / index_* / put / take / masked_scatter family, cummax / cummin, sgn and
  ``round(decimals=)`` (RoundBackward1, PyTorch's overload), where deltagrad showed the name
  of an inner node (AddBackward0, IndexPutBackward0, GatherBackward0, ...);
- PyTorch's once-a-process warnings of ``scatter(..., reduce=)`` with a tensor src and of
  ``index_reduce`` (missing);
- ``backward()`` of a many-element output: the message now carries PyTorch's words ("grad can
  be implicitly created only for scalar outputs"), which answers quote.
"""

from __future__ import annotations

import warnings

import pytest

import deltagrad
from deltagrad._engine import errors

torch = pytest.importorskip("torch")


def _index(lib):
    return lib.tensor([0, 2])


def _pairs(lib):
    return lib.tensor([[0, 1], [2, 0]])


# name -> the call on (lib, x of shape (3, 2) requiring grad, s of shape (2, 2))
NAMED = {
    "index_add": lambda t, x, s: x.index_add(0, _index(t), s),
    "index_add_alpha": lambda t, x, s: x.index_add(0, _index(t), s, alpha=2),
    "index_copy": lambda t, x, s: x.index_copy(0, _index(t), s),
    "index_fill": lambda t, x, s: x.index_fill(0, _index(t), 2.0),
    "index_reduce_prod": lambda t, x, s: x.index_reduce(0, _index(t), s, "prod"),
    "index_reduce_mean": lambda t, x, s: x.index_reduce(0, _index(t), s, "mean"),
    "index_put_accumulate": lambda t, x, s: x.index_put((_index(t),), t.ones(2),
                                                        accumulate=True),
    "index_put": lambda t, x, s: x.index_put((_index(t),), t.ones(2)),
    "put": lambda t, x, s: x.put(_index(t), t.ones(2)),
    "put_accumulate": lambda t, x, s: x.put(_index(t), t.ones(2), accumulate=True),
    "take": lambda t, x, s: x.take(_index(t)),
    "scatter_add": lambda t, x, s: x.scatter_add(0, _pairs(t), s),
    "scatter_reduce_sum": lambda t, x, s: x.scatter_reduce(0, _pairs(t), s, "sum"),
    "scatter_reduce_mean": lambda t, x, s: x.scatter_reduce(0, _pairs(t), s, "mean"),
    "scatter_reduce_amax": lambda t, x, s: x.scatter_reduce(0, _pairs(t), s, "amax"),
    "scatter_src": lambda t, x, s: x.scatter(0, _pairs(t), s),
    "scatter_value": lambda t, x, s: x.scatter(0, _pairs(t), 1.0),
    "masked_scatter": lambda t, x, s: x.masked_scatter(t.tensor([True, False]), t.ones(6)),
    "cummax": lambda t, x, s: x.cummax(0).values,
    "cummin": lambda t, x, s: x.cummin(1)[0],
    "sgn": lambda t, x, s: x.sgn(),
    "round": lambda t, x, s: x.round(),
    "round_decimals": lambda t, x, s: x.round(decimals=2),
    "round_decimals_0": lambda t, x, s: t.round(x, decimals=0),
    "in_place_index_add_": lambda t, x, s: x.clone().index_add_(0, _index(t), s),
    "in_place_scatter_add_": lambda t, x, s: x.clone().scatter_add_(0, _pairs(t), s),
}


def _run(lib, name):
    x = (lib.arange(6.0).reshape(3, 2) - 2.5).requires_grad_()
    s = lib.tensor([[1.5, -2.0], [3.0, 0.5]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = NAMED[name](lib, x, s)
    weights = lib.arange(float(out.numel())).reshape(out.shape)
    (out * weights).sum().backward()
    # ((g + 0): PyTorch's zero gradient of sgn has no storage for tolist)
    grads = [(g + 0).tolist() if g is not None else None for g in (x.grad, s.grad)]
    return out.grad_fn.name(), out.tolist(), grads


@pytest.mark.parametrize("name", sorted(NAMED))
def test_node_names_values_and_gradients(name):
    assert _run(deltagrad, name) == _run(torch, name)


def _warned(lib, call) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(lib)
    return [str(w.message).split(" (Triggered")[0] for w in caught]


_SCATTER = ("The reduce argument of torch.scatter with Tensor src is deprecated and will be "
            "removed in a future PyTorch release. Use torch.scatter_reduce instead for more "
            "reduction options.")
_INDEX_REDUCE = "index_reduce() is in beta and the API may change at any time."


@pytest.mark.parametrize("key, call, expected", [
    ("scatter_reduce_arg",
     lambda t: t.zeros(3).scatter_(0, t.tensor([0, 0]), t.ones(2), reduce="add"), [_SCATTER]),
    ("scatter_reduce_arg",
     lambda t: t.zeros(3).scatter_(0, t.tensor([0, 0]), 2.0, reduce="multiply"), []),
    ("index_reduce_beta",
     lambda t: t.ones(3).index_reduce_(0, t.tensor([1]), t.tensor([2.0]), "amax"),
     [_INDEX_REDUCE]),
], ids=["scatter_tensor_src", "scatter_value", "index_reduce"])
def test_once_a_process_warnings(key, call, expected):
    # PyTorch warns once a process, and this process may have called it already: its message
    # is compared where it still warns; deltagrad's key is discarded first
    errors._WARNED_ONCE.discard(key)
    assert _warned(deltagrad, call) == expected
    assert _warned(deltagrad, call) == []  # once
    theirs = _warned(torch, call)
    assert theirs in (expected, [])


def test_implicit_backward_message():
    def message(lib):
        with pytest.raises(RuntimeError) as caught:
            (lib.ones(2, requires_grad=True) * 2).backward()
        return str(caught.value)
    assert "grad can be implicitly created only for scalar outputs" in message(torch)
    assert "grad can be implicitly created only for scalar outputs" in message(deltagrad)
    assert "Size([2])" in message(deltagrad)


# index -> a write into a leaf that requires grad: PyTorch words its error "a view of a leaf
# Variable ..." where its basic indexing made a view first (x[0] = 5 on a weight), "a leaf
# Variable ..." where the write is an index_put_ or a whole-tensor copy
LEAF_WRITES = {
    "int": lambda t: 0, "list": lambda t: [0], "full_slice": lambda t: slice(None),
    "ellipsis": lambda t: Ellipsis, "mask": lambda t: t.tensor([True, False]),
    "narrowing_slice": lambda t: (slice(0, 1),), "zero_d_tensor": lambda t: t.tensor(0),
    "none": lambda t: None, "full_slice_by_bounds": lambda t: slice(0, 2),
    "int_and_list": lambda t: (0, [1]), "ellipsis_int": lambda t: (Ellipsis, 1),
}


@pytest.mark.parametrize("name", sorted(LEAF_WRITES))
def test_leaf_write_message(name):
    def message(lib):
        leaf = lib.ones(2, 2, requires_grad=True) if name in ("int_and_list", "ellipsis_int") \
            else lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError) as caught:
            leaf[LEAF_WRITES[name](lib)] = 5.0
        return str(caught.value)
    assert message(deltagrad) == message(torch)


def test_leaf_write_under_no_grad_still_writes():
    leaf = deltagrad.ones(3, requires_grad=True)
    with deltagrad.no_grad():
        leaf[0] = 5.0
    assert leaf.tolist() == [5.0, 1.0, 1.0]


@pytest.mark.parametrize("values", [[1, 2], []], ids=["two", "empty"])
def test_truth_value_message(values):
    # answers quote PyTorch's words ("Boolean value of Tensor with more than one value is
    # ambiguous"): ``if mask:`` or ``t in [t2]`` on a tensor of several elements
    def message(lib):
        with pytest.raises(RuntimeError) as caught:
            bool(lib.tensor(values))
        return str(caught.value)
    assert message(deltagrad) == message(torch)


@pytest.mark.parametrize("shapes", [((4, 5), (2, 3)), ((2, 4, 5), (2, 3)), ((5,), (2, 3)),
                                    ((0, 5), (2, 3))], ids=["2d", "3d", "1d", "empty"])
def test_linear_shape_message_starts_with_pytorchs(shapes):
    # "mat1 and mat2 shapes cannot be multiplied (4x5 and 3x2)": the message answers quote for
    # a Linear fed the wrong width; deltagrad's own explanation follows it
    def message(lib):
        with pytest.raises(RuntimeError) as caught:
            lib.nn.functional.linear(lib.ones(shapes[0]), lib.ones(shapes[1]))
        return str(caught.value)
    assert message(deltagrad).startswith(message(torch) + "; linear: input of shape")


# index -> reading it from a (3, 4) tensor raises IndexError; answers quote PyTorch's words
# "index 3 is out of bounds for dimension 0 with size 3" (deltagrad's were NumPy's, "axis")
OUT_OF_RANGE = {
    "int": lambda t: 3, "negative": lambda t: -4, "second": lambda t: (0, 5),
    "first": lambda t: (5, 0), "slice_then_int": lambda t: (slice(None), 4),
    "ellipsis": lambda t: (Ellipsis, 9), "tensor": lambda t: t.tensor([5]),
    "int32_tensor": lambda t: t.tensor([5], dtype=t.int32), "list": lambda t: [0, 7],
    "zero_d_tensor": lambda t: (0, t.tensor(6)), "too_many": lambda t: (1, slice(0, 2), 0),
}


@pytest.mark.parametrize("name", sorted(OUT_OF_RANGE))
def test_index_out_of_range_message(name):
    def message(lib):
        with pytest.raises(IndexError) as caught:
            lib.zeros(3, 4)[OUT_OF_RANGE[name](lib)]
        return str(caught.value)
    assert message(deltagrad) == message(torch)


def test_index_out_of_range_beside_none_keeps_its_own_words():
    # (PyTorch counts None as a position, NumPy's axis does not: deltagrad's own message, which
    # names the axis of the array, rather than a wrong dimension)
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 3"):
        deltagrad.zeros(3, 4)[None, 7]


def test_embedding_out_of_range_message_starts_with_pytorchs():
    # "index out of range in self": what answers about nn.Embedding quote
    def message(lib):
        with pytest.raises(IndexError) as caught:
            lib.nn.Embedding(3, 2)(lib.tensor([[0, 3]]))
        return str(caught.value)
    assert message(torch) == "index out of range in self"
    assert message(deltagrad).startswith("index out of range in self: embedding index 3 ")


# (operation, shape a, shape b): PyTorch's broadcasting / product words now lead deltagrad's
# message ("The size of tensor a (3) must match the size of tensor b (2) at non-singleton
# dimension 1", "mat1 and mat2 shapes cannot be multiplied (2x3 and 2x3)")
MISMATCHES = {
    "add": (lambda t, a, b: a + b, (2, 3), (3, 2)),
    "mul_dim0": (lambda t, a, b: a * b, (2, 3), (3, 3)),
    "sub_3d": (lambda t, a, b: a - b, (4, 2, 3), (5, 1, 3)),
    "ranks": (lambda t, a, b: t.maximum(a, b), (2, 1, 3), (4, 2)),
    "greater": (lambda t, a, b: a > b, (3,), (4,)),
    "bitwise": (lambda t, a, b: a.long() & b.long(), (2, 3), (3, 2)),
    "matmul": (lambda t, a, b: a @ b, (2, 3), (2, 3)),
    "vector_matrix": (lambda t, a, b: a @ b, (3,), (2, 3)),
    "mm": (lambda t, a, b: t.mm(a, b), (2, 3), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(MISMATCHES))
def test_mismatch_message_starts_with_pytorchs(name):
    call, a, b = MISMATCHES[name]

    def message(lib):
        with pytest.raises(RuntimeError) as caught:
            call(lib, lib.ones(a), lib.ones(b))
        return str(caught.value)
    assert message(deltagrad).startswith(message(torch) + "; ")
