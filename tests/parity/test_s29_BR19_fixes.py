"""Session 29 BR19: known differences session 28 left, each checked against real ``torch``.

In-place writes through ``view_as_complex`` / ``view_as_real`` (of a leaf that requires grad:
PyTorch's error, was a silent change of the leaf; of a tensor in the graph: the base's gradient,
was the old one); ``torch.smm``'s result recorded without a derivative (it requires grad, its
backward raises); ``index_put_`` with one mask and a one-element value as PyTorch's
``masked_fill_`` (a uint8 mask refused, was written; a value of another dtype cast, a 0-d mask
spread) and a uint8 mask of the wrong shape in ``x[mask] = v`` (IndexError); NumPy bools in
integer ``tensor()`` data and 0-d arrays inside a list (TypeError); layer_norm's backward after
``x.data = ...`` (the new data with the forward's statistics, as PyTorch's saved tensors);
``embedding(max_norm=)`` of an expanded weight (renormed through it; was NumPy's ValueError);
the first ``.grad`` (a leaf's or a retained one) under ``create_graph`` a copy in PyTorch's
layout; the exception
classes of index_select / index_add out of range (PyTorch's kernel-dependent rule); the type
checks of ``requires_grad`` in factories, ``nn.Parameter`` and ``Variable`` and of rrelu's
``training``.
"""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _run(lib, code: str):
    """(the exception ``code`` raises or None, the value of ``out`` it sets), with ``torch``,
    ``F``, ``o`` (ones) and ``np`` in scope, warnings off."""
    import warnings

    space = {"torch": lib, "F": lib.nn.functional, "o": lib.ones, "np": np}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            exec(code, space)
        except Exception as error:  # noqa: BLE001 - the exception is the result compared
            return error, None
    return None, space.get("out")


def _builtin(error: BaseException) -> type:
    return next(k for k in type(error).__mro__ if k.__module__ == "builtins")


def _plain(value):
    """Tensors as (dtype, shape, values as float64 arrays, requires_grad); containers inside."""
    if isinstance(value, (torch.Tensor, dg.Tensor)):
        requires_grad = value.requires_grad
        data = (value.to_dense() if value.is_sparse else value).detach()
        values = np.asarray(data.tolist(), dtype=complex if data.is_complex() else float)
        return ("T", str(value.dtype).split(".")[-1], tuple(value.shape), values, requires_grad)
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if type(value).__name__ in ("Size",):
        return tuple(value)
    return value


def _same(a, b) -> bool:
    if isinstance(a, tuple) and a and a[0] == "T":
        return (isinstance(b, tuple) and b[0] == "T" and a[1:3] == b[1:3] and a[4] == b[4]
                and np.allclose(a[3], b[3], rtol=1e-5, atol=1e-6, equal_nan=True))
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, str) and isinstance(b, str):
        return a.replace("torch", "deltagrad") == b.replace("torch", "deltagrad")
    return a == b


_LEAF = "a = torch.tensor([[1., 2.], [3., 4.]], requires_grad=True)\n"
_CLEAF = "z = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True)\n"
_SMM = "S = torch.eye(3).to_sparse(); d = torch.ones(3, 2, requires_grad=True)\n"

# (code, whether our message must begin with PyTorch's first line)
RAISES = [
    # 1. in-place writes through the dtype views of a leaf that requires grad
    (_LEAF + "torch.view_as_complex(a).zero_()", True),
    (_LEAF + "torch.view_as_complex(a).mul_(2)", True),
    (_LEAF + "v = torch.view_as_complex(a); v += 1", True),
    (_LEAF + "torch.view_as_complex(a).copy_(torch.tensor([1j, 2j]))", True),
    (_LEAF + "torch.view_as_complex(a)[0].fill_(1)", True),
    (_LEAF + "torch.view_as_complex(a[0:1]).zero_()", True),
    (_CLEAF + "torch.view_as_real(z).zero_()", True),
    (_CLEAF + "r = torch.view_as_real(z); r[0, 0] = 5", True),
    (_LEAF + "v = torch.view_as_complex(a); v.abs().sum().backward(); v.mul_(2)", True),
    # 2. smm: no derivative
    (_SMM + "torch.smm(S, d).to_dense().sum().backward()", True),
    (_SMM + "torch.smm(S.requires_grad_(), d.detach()).to_dense().sum().backward()", True),
    # 3. index_put_ with one mask and a one-element value: masked_fill_
    ("torch.zeros(3).index_put_((torch.tensor([1, 0, 1], dtype=torch.uint8),), "
     "torch.tensor(5.))", True),
    ("torch.zeros(3, 2).index_put((torch.tensor([1, 0, 1], dtype=torch.uint8),), "
     "torch.tensor([5.]))", True),
    ("torch.zeros(3).index_put_((torch.tensor([1, 0, 1], dtype=torch.uint8),), "
     "torch.tensor(5))", True),
    ("torch.zeros(3).index_put((torch.tensor(1, dtype=torch.uint8),), torch.tensor(5.))", True),
    ("v = torch.tensor(5., requires_grad=True)\n"
     "torch.zeros(3).index_put((torch.tensor([1, 0, 1], dtype=torch.uint8),), v)", True),
    ("torch.zeros(3).index_put_((torch.tensor([True, False]),), torch.tensor(1.))", True),
    ("torch.zeros(3).index_put_((torch.tensor([1, 0], dtype=torch.uint8),), torch.tensor(1.))",
     True),
    ("torch.zeros(2, 2).index_put_((torch.tensor([True, False]),), torch.tensor(5 + 1j))", False),
    ("torch.zeros(2, dtype=torch.int64).index_put_((torch.tensor([True, False]),), "
     "torch.tensor(1e30))", True),
    ("torch.tensor(1.).index_put_((torch.tensor(False),), torch.tensor(5.))", False),
    ("torch.zeros(3, 2).index_put_((torch.tensor([True, False, True]),), torch.tensor(5),"
     " accumulate=True)", False),
    ("x = torch.zeros(3); x[torch.tensor([1, 0], dtype=torch.uint8)] = 5.", True),
    ("x = torch.zeros(3); x[torch.tensor([1, 0], dtype=torch.uint8)] = torch.tensor([5.])",
     True),
    ("x = torch.zeros(3, 2); x[torch.tensor([1, 0, 1, 1], dtype=torch.uint8)] = 5.", True),
    ("x = torch.zeros(3); x[torch.ones(3, 2, dtype=torch.uint8)] = 5.", False),
    ("x = torch.zeros(3); x[torch.tensor([1, 0, 1], dtype=torch.uint8)] = 5.", True),
    # 4. NumPy bools as integers; 0-d arrays inside a list
    ("torch.tensor([np.bool_(True), 1])", True),
    ("torch.tensor([np.bool_(True)], dtype=torch.int64)", True),
    ("torch.tensor([np.bool_(True)], dtype=torch.uint8)", True),
    ("torch.tensor(np.bool_(True), dtype=torch.int32)", True),
    ("torch.tensor([[np.bool_(True)], [2]])", True),
    ("torch.tensor([np.int64(1), np.bool_(True)])", True),
    ("torch.tensor((np.bool_(True), 1))", True),
    ("torch.tensor([np.bool_(True), torch.tensor(1)])", True),
    ("torch.zeros(2, dtype=torch.int64).new_tensor([np.bool_(True)])", True),
    ("torch.as_tensor([np.bool_(True), 1])", True),
    ("torch.LongTensor([np.bool_(True)])", True),
    ("torch.LongTensor([[1], [np.bool_(False)]])", True),
    ("torch.tensor([np.array(1.5), 2.])", True),
    ("torch.tensor([np.array(True)])", True),
    # 9. index_select / index_add out of range: PyTorch's class (and its first words)
    ("torch.index_select(o(3, 2), 0, torch.tensor([9]))", True),
    ("torch.index_select(o(3, 2), 1, torch.tensor([9]))", True),
    ("torch.index_select(o(3, 2), -1, torch.tensor([-1]))", True),
    ("torch.index_select(o(3, 4, 5), 1, torch.tensor([9]))", True),
    ("torch.index_select(o(3, 4, 5), 2, torch.tensor([9]))", True),
    ("torch.index_select(o(3, 4, 5).transpose(0, 2), 1, torch.tensor([9]))", True),
    ("torch.index_select(torch.zeros(()), 0, torch.tensor([0, 5]))", True),
    ("torch.index_add(o(3, 2), 0, torch.tensor([9]), o(1, 2))", True),
    ("torch.index_add(o(3, 2), 1, torch.tensor([9]), o(3, 1))", True),
    ("torch.index_add(o(3, 4, 5), 1, torch.tensor([9]), o(3, 1, 5))", True),
    ("torch.index_add(o(3, 4, 5), 2, torch.tensor([9]), o(3, 4, 1))", True),
    ("torch.index_add(o(3, 4, 5, 2), 2, torch.tensor([-1]), o(3, 4, 1, 2))", True),
    ("o(3, 4, 5).index_add_(-2, torch.tensor([4]), o(3, 1, 5))", True),
    ("torch.index_add(o(3, 2), 1, torch.tensor([9], dtype=torch.int32), o(3, 1))", True),
    ("torch.index_add(o(3, 2), 0, torch.tensor([9]), o(1, 2), alpha=-1)", True),
    ("torch.index_add(o(3, 2, dtype=torch.int64), 1, torch.tensor([9]),"
     " o(3, 1, dtype=torch.int64), alpha=2)", True),
    ("torch.zeros(2, 3, 2, dtype=torch.int64).index_add(0, torch.tensor([-2, -2, 1]),"
     " torch.ones([3, 3, 2], dtype=torch.int64), alpha=-1)", True),
    ("torch.index_add(torch.zeros(()), 0, torch.tensor([0, 5]), o(2))", False),
    ("torch.index_reduce(torch.zeros(()), 0, torch.tensor([0, 5]), o(2), 'prod')", False),
    # 10. requires_grad and training as PyTorch's parser takes them
    ("torch.zeros(2, requires_grad=1)", True),
    ("torch.ones(2, requires_grad=0)", True),
    ("torch.zeros(2, requires_grad=np.True_)", True),
    ("torch.tensor([1.], requires_grad=None)", True),
    ("torch.tensor([1.], requires_grad=1)", True),
    ("torch.full((2,), 1., requires_grad=1)", True),
    ("torch.zeros_like(o(2), requires_grad=1)", True),
    ("o(2).new_zeros(2, requires_grad=1)", True),
    ("o(2).new_ones(2, requires_grad=1.0)", True),
    ("torch.asarray([1.], requires_grad=1)", True),
    ("torch.scalar_tensor(1., requires_grad=1)", True),
    ("torch.empty_strided((2,), (1,), requires_grad=1)", True),
    ("torch.randn(2, requires_grad=1)", False),
    ("torch.rand(2, requires_grad='x')", False),
    ("torch.arange(2., requires_grad=0)", False),
    ("torch.linspace(0, 1, 3, requires_grad=1)", False),
    ("torch.eye(2, requires_grad=1)", False),
    ("torch.hann_window(3, requires_grad=1)", False),
    ("torch.nn.Parameter(torch.zeros(2), requires_grad=1)", True),
    ("torch.nn.Parameter(torch.zeros(2), None)", True),
    ("torch.nn.Parameter(torch.zeros(2), np.True_)", True),
    ("torch.autograd.Variable(torch.zeros(2), requires_grad=None)", True),
    ("torch.autograd.Variable(torch.zeros(2), requires_grad=1.0)", True),
    ("F.rrelu(o(3), 0.1, 0.3, None)", True),
    ("F.rrelu(o(3), training=1)", True),
    ("F.rrelu(o(3), training=np.True_)", True),
]


@pytest.mark.parametrize("code,words", RAISES, ids=[f"raises{i}" for i in range(len(RAISES))])
def test_raises_as_pytorch(code, words):
    (theirs, _), (ours, _) = _run(torch, code), _run(dg, code)
    assert theirs is not None, f"{code}: PyTorch raised nothing"
    assert ours is not None, f"{code}: deltagrad raised nothing (PyTorch {theirs!r})"
    assert isinstance(ours, _builtin(theirs)), f"{code}: {ours!r} vs {theirs!r}"
    if words:
        first = str(theirs).split("\n")[0].split(" (Triggered")[0]
        said = str(ours).replace("deltagrad.", "torch.")
        assert said.startswith(first), f"{code}:\n  ours {ours}\n  torch {theirs}"


_W = "W = torch.arange(1., 9.).reshape(2, 2, 2)\n"
_Y = "x = torch.arange(1., 9.).reshape(2, 2, 2).requires_grad_(); y = x * 1\n"
_LN = ("x = torch.tensor([[1., 2., 4.], [3., 5., -1.]], requires_grad=True)\n"
       "w = torch.tensor([0.5, -1., 2.], requires_grad=True)\n")
_BIG = ("g = torch.Generator().manual_seed(0)\n"
        "x = torch.randn(40, 64, generator=g, dtype=torch.float64).requires_grad_()\n"
        "w = torch.randn(64, generator=g, dtype=torch.float64).requires_grad_()\n"
        "gw = torch.randn(40, 64, generator=g, dtype=torch.float64)\n")
VALUES = [
    # 1. writes through the dtype views of a tensor in the graph reach its gradient
    _W + _Y + "c = torch.view_as_complex(y); c.mul_(2j); (y * W).sum().backward()\n"
    "out = (x.grad, y, c.grad_fn.name(), y.grad_fn.name())",
    _W + _Y + "torch.view_as_complex(y)[0].mul_(1j); (y * W).sum().backward()\n"
    "out = (x.grad, y)",
    _W + _Y + "v = y[1]; torch.view_as_complex(y).mul_(2)\n"
    "(v * torch.tensor([[1., 2.], [3., 4.]])).sum().backward(); out = (x.grad, v)",
    _W + _Y + "c = torch.view_as_complex(y); c.add_(c * 1)\n"
    "(torch.view_as_real(c) * W).sum().backward(); out = x.grad",
    _W + _Y + "c = torch.view_as_complex(y.transpose(0, 1)); c.mul_(2)\n"
    "(y * W).sum().backward(); out = x.grad",
    _W + _Y + "c = torch.view_as_complex(y); r = torch.view_as_real(c); r.mul_(W)\n"
    "(y * W).sum().backward(); out = (x.grad, c, c.grad_fn.name())",
    _W + _Y + "w = torch.tensor([1 + 1j, 2 - 1j], requires_grad=True)\n"
    "torch.view_as_complex(y).mul_(w); (y * W).sum().backward(); out = (x.grad, w.grad)",
    "z = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True); y = z * (1 + 1j)\n"
    "r = torch.view_as_real(y); r[:, 0].mul_(3); y.abs().sum().backward()\n"
    "out = (z.grad, y, r.grad_fn.name())",
    "z = torch.tensor([1 + 2j, 3 - 1j], requires_grad=True); y = z * 2\n"
    "torch.view_as_real(y).fill_(1.5); (y * torch.tensor([1 + 1j, 2j])).real.sum().backward()\n"
    "out = (z.grad, y)",
    _Y + "c = torch.view_as_complex(y); c.copy_(torch.tensor([[1j, 2], [3, 4j]]))\n"
    "(y * y).sum().backward(); out = (x.grad, y)",
    _LEAF + "with torch.no_grad(): torch.view_as_complex(a).zero_()\nout = a",
    _LEAF + "torch.view_as_complex(a.detach()).mul_(2)\nout = a",
    # 2. smm
    _SMM + "r = torch.smm(S, d); out = (r.requires_grad, r.is_leaf, r.grad_fn.name(), r)",
    _SMM + "r = torch.smm(S.requires_grad_(), d.detach())\n"
    "out = (r.requires_grad, r.grad_fn.name())",
    _SMM + "with torch.no_grad(): r = torch.smm(S, d)\nout = (r.requires_grad, r.is_leaf)",
    _SMM + "out = str(torch.smm(S, d))",
    # 3. index_put_ with one bool mask and a one-element value: masked_fill_'s casts
    "m = torch.tensor([True, False, True])\n"
    "out = (torch.zeros(3).index_put_((m,), torch.tensor(5)),"
    " torch.zeros(3).index_put((m,), torch.tensor([5.], dtype=torch.float64)),"
    " torch.zeros(3, dtype=torch.int64).index_put_((m,), torch.tensor(5.5)),"
    " torch.zeros(2, 2).index_put_((torch.tensor([True, False]),), torch.tensor(True)))",
    "out = (torch.zeros(2, 2).index_put_((torch.tensor(True),), torch.tensor(5.)),"
    " torch.zeros(2, 2).index_put_((torch.tensor(False),), torch.tensor([5.])))",
    "v = torch.tensor([2.], dtype=torch.float64, requires_grad=True)\n"
    "y = torch.zeros(2, 2).index_put([torch.tensor([True, False])], v); y.sum().backward()\n"
    "out = (y, y.grad_fn.name(), v.grad)",
    "m = torch.tensor([True, False, True]); x = torch.zeros(3); x[m] = torch.tensor(5)\n"
    "u = torch.tensor([1, 0, 1], dtype=torch.uint8); y = torch.zeros(3)\n"
    "y.index_put_((u,), torch.tensor([5., 6.])); out = (x, y)",
    # 4. NumPy bools where no integer is made
    "out = (torch.tensor([np.bool_(True), 1.5]), torch.tensor([np.bool_(True), False]),"
    " torch.tensor([np.bool_(True)], dtype=torch.float32), torch.tensor(np.bool_(True)),"
    " torch.tensor(np.array(True), dtype=torch.int32), torch.tensor([np.bool_(True), 2 + 1j]),"
    " torch.FloatTensor([np.bool_(True)]), torch.BoolTensor([np.bool_(True)]),"
    " torch.tensor([[np.float64(1.5)], [2]]), torch.tensor([[1, 2], [3, 4]]))",
    # 5. layer_norm's backward after x.data = ...: the new data, the forward's statistics
    _LN + "y = F.layer_norm(x, (3,)); x.data = x.data * 2 + 1\n"
    "(y * torch.tensor([1., 2., 3.])).sum().backward(); out = x.grad",
    _LN + "y = F.layer_norm(x, (3,), w); x.data = x.data * 2 + 1\n"
    "(y * torch.tensor([1., 2., 3.])).sum().backward(); out = (x.grad, w.grad)",
    _LN + "y = F.layer_norm(x, (3,), w); w.data = w.data * 3\n"
    "(y * torch.tensor([1., 2., 3.])).sum().backward(); out = (x.grad, w.grad)",
    _BIG + "y = F.layer_norm(x, (64,), w); x.data = x.data * 1.5 + 0.25\n"
    "(y * gw).sum().backward(); out = (x.grad, w.grad)",
    _BIG + "y = F.layer_norm(x.reshape(4, 10, 64), (10, 64)); x.data = x.data - 1\n"
    "(y * gw.reshape(4, 10, 64)).sum().backward(); out = x.grad",
    # 6. embedding(max_norm=) of a weight whose rows share memory: renormed row after row
    "w = torch.tensor([[3., -1., 0.5, 2.]])\n"
    "with torch.no_grad(): r = F.embedding(torch.tensor([0, 1]), w.expand(2, 4), max_norm=2.0,"
    " norm_type=1.0)\nout = (r, w)",
    "w = torch.tensor([[3., -1., 0.5, 2.]], requires_grad=True)\n"
    "r = F.embedding(torch.tensor([1]), w.expand(2, 4), max_norm=2.0); out = (r, w)",
    "w = torch.tensor([[3., -1.], [0.5, 2.]])\n"
    "r = F.embedding(torch.tensor([0, 1, 2]), w.as_strided((3, 2), (1, 1)), max_norm=2.0)\n"
    "out = (r, w)",
    # 8. the first retained .grad under create_graph: a contiguous clone
    "x = torch.randn(3, 4, requires_grad=True); y = x * 2; y.retain_grad()\n"
    "(y.t() * 3).sum().backward(create_graph=True); g = y.grad\n"
    "out = (g.stride(), g.is_contiguous(), g.requires_grad)\n"
    "(y * y).sum().backward(create_graph=True)\n"
    "out = out + (y.grad.stride(), y.grad.is_contiguous(), y.grad.grad_fn.name())",
    "x = torch.randn(3, 4, requires_grad=True); y = x * 2; y.retain_grad()\n"
    "y.sum().backward(create_graph=True); out = (y.grad.stride(), y.grad.is_contiguous())",
    "x = torch.randn(3, 4, requires_grad=True); w = torch.randn(3, 4, requires_grad=True)\n"
    "y = x * 2; y.retain_grad(); (y * w).sum().backward(create_graph=True)\n"
    "g = y.grad; out = (g.grad_fn.name(), g is not w, torch.autograd.grad(g.sum(), w)[0])",
    "x = torch.randn(3, 4, requires_grad=True); w = torch.randn(4, 3, requires_grad=True)\n"
    "(x * w.t()).sum().backward(create_graph=True); g = x.grad\n"
    "out = (g.stride(), g.requires_grad, torch.autograd.grad(g.sum(), w)[0])\n"
    "x = torch.randn(3, 4, requires_grad=True); x.sum().backward(create_graph=True)\n"
    "y = torch.randn(4, 3).t().requires_grad_(); y.sum().backward(create_graph=True)\n"
    "out = out + (x.grad.stride(), x.grad.requires_grad, y.grad.stride())",
    # 10. what stays accepted
    "out = (torch.zeros(2, requires_grad=None).requires_grad,"
    " torch.rand(2, requires_grad=None).requires_grad,"
    " torch.autograd.Variable(torch.zeros(2), requires_grad=1).requires_grad,"
    " F.rrelu(torch.tensor([-1., 2.]), 0.2, 0.2, False))",
]


@pytest.mark.parametrize("code", VALUES, ids=[f"value{i}" for i in range(len(VALUES))])
def test_values_as_pytorch(code):
    (theirs, expected), (ours, got) = _run(torch, code), _run(dg, code)
    assert theirs is None, f"{code}: PyTorch raised {theirs!r}"
    assert ours is None, f"{code}: deltagrad raised {ours!r}"
    assert _same(_plain(expected), _plain(got)), f"{code}:\n  ours {got}\n  torch {expected}"


def test_tensor_of_nested_lists_keeps_its_values():
    # (_tensors_as_scalars' C-level pass over lists of Python numbers)
    data = [[float(i + j) for j in range(7)] for i in range(5)]
    assert dg.tensor(data).tolist() == torch.tensor(data).tolist()
    data = [[1, np.float32(2.5)], [3, 4]]
    assert dg.tensor(data).dtype == dg.float32 and dg.tensor(data).tolist() == [[1, 2.5], [3, 4]]
