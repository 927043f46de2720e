"""repr()/str() of tensors and Parameters, and grad_fn names, against PyTorch's (module name
replaced: deltagrad prints ``dtype=deltagrad.float64`` where PyTorch prints ``torch.float64``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

RNG = np.random.default_rng(5)
RANDN = RNG.standard_normal((7, 9))
WIDE = RNG.standard_normal((3, 40)) * 10.0 ** RNG.integers(-6, 6, (3, 40))
NAN, INF = math.nan, math.inf


def _t(m, values, dtype=None, **kwargs):
    """``m.tensor(values, dtype=<dtype name in m>)``."""
    if dtype is not None:
        kwargs["dtype"] = getattr(m, dtype)
    return m.tensor(np.asarray(values) if isinstance(values, np.ndarray) else values, **kwargs)


def _ours(text: str) -> str:
    return text.replace("deltagrad.", "torch.")


# name -> fn(m) building the tensor to print, for m in (deltagrad, torch).
CASES = {
    "floats": lambda m: m.tensor([0.5, 1.25, 3.0]),
    "0-d": lambda m: m.tensor(0.5),
    "0-d int mode": lambda m: m.tensor(3.0),
    "0-d negative": lambda m: m.tensor(-2.5e-7),
    "0-d int": lambda m: m.tensor(7),
    "0-d bool": lambda m: m.tensor(True),
    "0-d nan": lambda m: m.tensor(NAN),
    "int mode": lambda m: m.tensor([1.0, 2.0]),
    "int mode wide": lambda m: m.tensor([1.0, -200.0, 30.0]),
    "zeros": lambda m: m.zeros(2, 3),
    "neg zero": lambda m: m.tensor([-0.0, 0.0, 1.5]),
    "neg zero int mode": lambda m: m.tensor([0.0, -0.0]),
    "sci small": lambda m: m.tensor([1e-5, 1.0]),
    "only zeros": lambda m: m.tensor([0.0, -0.0, 0.0]),
    "sci ratio int": lambda m: m.tensor([1.0, 2000.0]),
    "no sci ratio 1000": lambda m: m.tensor([1.0, 1000.0]),
    "sci big": lambda m: m.tensor([2e8, 3e8]),
    "sci big fraction": lambda m: m.tensor([1.5e9]),
    "fraction 1e-4": lambda m: m.tensor([1e-4, 0.5]),
    "nan inf": lambda m: m.tensor([NAN, INF, 1.5]),
    "nan inf int mode": lambda m: m.tensor([NAN, -INF, 2.0]),
    "only nan inf": lambda m: m.tensor([NAN, INF, -INF]),
    "nan sci": lambda m: m.tensor([NAN, 1e-6, 3.0]),
    "randn": lambda m: _t(m, RANDN.astype(np.float32)),
    "randn float64": lambda m: _t(m, RANDN, "float64"),
    "randn float16": lambda m: _t(m, RANDN[:3], "float16"),
    "float16 int": lambda m: m.tensor([1.0, 2.0], dtype=m.float16),
    "wide magnitudes": lambda m: _t(m, WIDE, "float64"),
    "3-d": lambda m: m.arange(24.0).reshape(2, 3, 4) / 7,
    "4-d": lambda m: m.arange(16).reshape(2, 2, 2, 2),
    "transposed": lambda m: (m.arange(12.0).reshape(3, 4) / 3).t(),
    "strided": lambda m: m.arange(20.0)[::3],
    "ints": lambda m: m.tensor([1, -20, 300]),
    "int32": lambda m: m.tensor([1, 2], dtype=m.int32),
    "int8 2-d": lambda m: m.tensor([[1, -2], [3, 4]], dtype=m.int8),
    "uint8": lambda m: m.tensor([0, 255], dtype=m.uint8),
    "int16": lambda m: m.tensor([5], dtype=m.int16),
    "bools": lambda m: m.tensor([True, False, True]),
    "bool 2-d": lambda m: m.tensor([[True], [False]]),
    "long ints wrap": lambda m: m.arange(100) * 1000,
    "complex": lambda m: m.tensor([1 + 2j, -0.5 - 1.25j]),
    "complex int mode": lambda m: m.tensor([1 + 2j, 3j]),
    "complex sci": lambda m: m.tensor([1e-5 + 2j, 3j]),
    "complex 0-d": lambda m: m.tensor(1 + 2j, dtype=m.complex64),
    "complex128": lambda m: m.tensor([1.5 - 2j], dtype=m.complex128),
    "complex 2-d": lambda m: m.tensor([[1 + 1j, 2.5], [-3j, 4]]),
    "complex nan": lambda m: m.tensor([complex(NAN, 1), complex(1, INF)]),
    "empty": lambda m: m.tensor([]),
    "empty int": lambda m: m.tensor([], dtype=m.int64),
    "empty bool": lambda m: m.zeros(0, dtype=m.bool),
    "empty 2-d": lambda m: m.zeros(0, 3),
    "empty 2-d int32": lambda m: m.zeros(0, 3, dtype=m.int32),
    "empty float64 grad": lambda m: m.zeros(2, 0, dtype=m.float64, requires_grad=True),
    "empty 3-d": lambda m: m.zeros(2, 0, 1),
    "requires_grad": lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    "float64 requires_grad": lambda m: m.zeros(3, dtype=m.float64, requires_grad=True),
    "wrap 1-d": lambda m: m.arange(30.0),
    "wrap with suffixes 30": lambda m: m.arange(30.0, dtype=m.float64, requires_grad=True),
    "wrap with suffixes 26": lambda m: m.arange(26.0, dtype=m.float64, requires_grad=True),
    "wrap with suffixes 27": lambda m: m.arange(27.0, dtype=m.float64, requires_grad=True),
    "wrap 2-d": lambda m: m.arange(60.0).reshape(2, 30) / 3,
    "summarised arange": lambda m: m.arange(2000.0),
    "summarised ints": lambda m: m.arange(1001),
    "summarised 2-d": lambda m: m.arange(3000.0).reshape(50, 60),
    "summarised 3-d": lambda m: m.arange(2400).reshape(10, 12, 20),
    "summarised short rows": lambda m: m.arange(2002.0).reshape(1001, 2),
    "summarised complex": lambda m: _t(m, (np.arange(1200.0) * (1 - 1j / 7)).reshape(2, 600)
                                       .astype(np.complex64)),
    "summarised float64": lambda m: m.linspace(0, 1, 1500, dtype=m.float64),
    "not summarised at 1000": lambda m: m.arange(1000.0).reshape(10, 100),
    "big values 2-d": lambda m: m.arange(6.0).reshape(2, 3) * 1e5,
    "int mode 1e8": lambda m: m.tensor([1e8, 2.0e7]),
    "int mode over 1e8": lambda m: m.tensor([1.5e8, 2.0e7]),
    "float16 sci": lambda m: m.tensor([1e-5, 3.0, 60000.0], dtype=m.float16),
    "float64 precise": lambda m: m.tensor([1 / 3, 2 / 3], dtype=m.float64),
    "rounding half": lambda m: m.tensor([0.00005, 0.00015, 0.5]),
    "1-element rows": lambda m: m.arange(5.0).reshape(5, 1) - 2,
    "dtype wraps": lambda m: m.arange(14.0, dtype=m.float64).reshape(1, 14) - 0.5,
}


@pytest.mark.parametrize("name", list(CASES))
def test_repr_matches_torch(name):
    ours, theirs = CASES[name](dg), CASES[name](torch)
    assert _ours(repr(ours)) == repr(theirs)
    assert _ours(str(ours)) == str(theirs)


def test_line_wrap_boundaries():
    # Suffixes wrap when the line would pass linewidth, with PyTorch's count of the last line.
    for n in range(1, 20):
        for dtype in ("float32", "float64", "int32"):
            def build(m, n=n, dtype=dtype):
                return m.arange(n, dtype=getattr(m, dtype)) * 1001 + 0.5 * (dtype != "int32")
            ours, theirs = build(dg), build(torch)
            assert _ours(repr(ours)) == repr(theirs), (n, dtype)


def test_parameter_repr():
    for build in (lambda m: m.nn.Parameter(m.ones(2)),
                  lambda m: m.nn.Parameter(m.zeros(2, 3, dtype=m.float64)),
                  lambda m: m.nn.Parameter(m.tensor([1.5]), requires_grad=False)):
        ours, theirs = build(dg), build(torch)
        assert _ours(repr(ours)) == repr(theirs)
        assert _ours(str(ours)) == str(theirs)
    theirs = torch.nn.Linear(2, 3)
    ours = dg.nn.Linear(2, 3)
    assert repr(ours.weight).startswith("Parameter containing:\ntensor([[")
    assert repr(ours.weight.detach()).startswith("tensor([[")
    assert repr([ours.bias]).startswith("[Parameter containing:\ntensor([")
    assert str(theirs.weight).startswith("Parameter containing:\ntensor([[")


OPTIONS = [
    {"precision": 2},
    {"precision": 8},
    {"threshold": 5},
    {"threshold": 5, "edgeitems": 1},
    {"linewidth": 40},
    {"sci_mode": True},
    {"sci_mode": False},
    {"profile": "short"},
    {"profile": "full"},
    {"precision": 2, "profile": "default"},
    {"precision": 0},
    {"threshold": 5, "edgeitems": 0},
    {"linewidth": 10},
    {"threshold": 10, "linewidth": 200, "sci_mode": True},
]
OPTION_CASES = ["floats", "only zeros", "nan inf int mode", "only nan inf", "int mode",
                "sci small", "nan inf", "randn", "3-d", "ints", "complex", "complex sci",
                "summarised arange", "summarised 2-d", "wrap with suffixes 26", "int32",
                "summarised 3-d", "empty 2-d",
                "big values 2-d", "bools", "0-d"]


@pytest.fixture
def restore_printoptions():
    yield
    dg.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("options", OPTIONS, ids=[str(o) for o in OPTIONS])
def test_set_printoptions(options, restore_printoptions):
    dg.set_printoptions(**options)
    torch.set_printoptions(**options)
    for name in OPTION_CASES:
        ours, theirs = CASES[name](dg), CASES[name](torch)
        assert _ours(repr(ours)) == repr(theirs), name


x_np = RNG.standard_normal((3, 4)).astype(np.float32)
v_np = RNG.standard_normal(4).astype(np.float32)
b_np = RNG.standard_normal((2, 3, 4)).astype(np.float32)


def _graph(m, build):
    x = m.tensor(x_np, requires_grad=True)
    v = m.tensor(v_np, requires_grad=True)
    b = m.tensor(b_np, requires_grad=True)
    return build(m, m.nn.functional, x, v, b)


# name -> fn(m, F, x (3, 4), v (4,), b (2, 3, 4)) whose result's grad_fn is named.
GRAPHS = {
    "mul": lambda m, F, x, v, b: x * 2,
    "add": lambda m, F, x, v, b: x + v,
    "radd": lambda m, F, x, v, b: 1 + x,
    "sub": lambda m, F, x, v, b: x - v,
    "rsub": lambda m, F, x, v, b: 2 - x,
    "div": lambda m, F, x, v, b: x / v,
    "pow scalar": lambda m, F, x, v, b: x ** 2,
    "pow tensor": lambda m, F, x, v, b: x ** x,
    "rpow": lambda m, F, x, v, b: 2 ** x,
    "neg": lambda m, F, x, v, b: -x,
    "exp": lambda m, F, x, v, b: x.exp(),
    "log1p": lambda m, F, x, v, b: x.abs().log1p(),
    "sum": lambda m, F, x, v, b: x.sum(),
    "sum dim": lambda m, F, x, v, b: x.sum(0),
    "mean": lambda m, F, x, v, b: x.mean(),
    "mean dim": lambda m, F, x, v, b: x.mean(1),
    "prod dim": lambda m, F, x, v, b: x.prod(0),
    "mm": lambda m, F, x, v, b: x @ x.t(),
    "dot": lambda m, F, x, v, b: v @ v,
    "mv": lambda m, F, x, v, b: x @ v,
    "batched matmul": lambda m, F, x, v, b: b @ b.transpose(1, 2),
    "view": lambda m, F, x, v, b: x.view(12),
    "reshape non-contiguous": lambda m, F, x, v, b: x.t().reshape(12),
    "flatten": lambda m, F, x, v, b: b.flatten(),
    "unsqueeze": lambda m, F, x, v, b: x.unsqueeze(0),
    "squeeze dim": lambda m, F, x, v, b: x.unsqueeze(0).squeeze(0),
    "t": lambda m, F, x, v, b: x.t(),
    "transpose 3-d": lambda m, F, x, v, b: b.transpose(1, 2),
    "permute": lambda m, F, x, v, b: b.permute(2, 0, 1),
    "select": lambda m, F, x, v, b: x[0],
    "slice": lambda m, F, x, v, b: x[1:],
    "select then slice": lambda m, F, x, v, b: x[0, 1:],
    "slice then select": lambda m, F, x, v, b: x[1:, 0],
    "None index": lambda m, F, x, v, b: x[None],
    "index tensor": lambda m, F, x, v, b: x[m.tensor([0, 2])],
    "mask": lambda m, F, x, v, b: x[x > 0],
    "cat": lambda m, F, x, v, b: m.cat([x, x]),
    "stack": lambda m, F, x, v, b: m.stack([x, x]),
    "relu": lambda m, F, x, v, b: F.relu(x),
    "tanh": lambda m, F, x, v, b: x.tanh(),
    "sigmoid": lambda m, F, x, v, b: x.sigmoid(),
    "gelu": lambda m, F, x, v, b: F.gelu(x),
    "softmax": lambda m, F, x, v, b: F.softmax(x, dim=1),
    "log_softmax": lambda m, F, x, v, b: F.log_softmax(x, dim=1),
    "cross_entropy": lambda m, F, x, v, b: F.cross_entropy(x, m.tensor([0, 1, 2])),
    "linear": lambda m, F, x, v, b: F.linear(x, x[:2].detach(), v[:2].detach()),
    "linear 3-d": lambda m, F, x, v, b: F.linear(b, x.detach(), v[:3].detach()),
    "linear no bias": lambda m, F, x, v, b: F.linear(x, x.detach()),
    "embedding": lambda m, F, x, v, b: F.embedding(m.tensor([0, 2]), x),
    "layer_norm": lambda m, F, x, v, b: F.layer_norm(x, (4,)),
    "max": lambda m, F, x, v, b: x.max(),
    "amax dim": lambda m, F, x, v, b: x.amax(0),
    "clamp": lambda m, F, x, v, b: x.clamp(0, 1),
    "expand": lambda m, F, x, v, b: v.expand(3, 4),
    "to float64": lambda m, F, x, v, b: x.double(),
    "clone": lambda m, F, x, v, b: x.clone(),
    "pad": lambda m, F, x, v, b: F.pad(x, (1, 1)),
    "where": lambda m, F, x, v, b: m.where(x > 0, x, x * 2),
    "std": lambda m, F, x, v, b: x.std(),
    "norm": lambda m, F, x, v, b: x.norm(),
    "logsumexp": lambda m, F, x, v, b: x.logsumexp(0),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_grad_fn_printed_name(name):
    ours, theirs = _graph(dg, GRAPHS[name]), _graph(torch, GRAPHS[name])
    expected = type(theirs.grad_fn).__name__
    assert _ours(repr(ours)).endswith(f"grad_fn=<{expected}>)")
    if _ours(repr(ours)) != repr(theirs):
        # A value may print one digit apart when it sits on a rounding boundary and the two
        # libraries' float32 sums differ in the last bit (layer_norm's small-row path): then the
        # values must agree to float32 rounding and everything else in the repr exactly.
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6,
                                   atol=1e-6)
        assert _ours(repr(ours)).split("grad_fn")[1] == repr(theirs).split("grad_fn")[1]
    # grad_fn.name stays deltagrad's op name (a str); called, it is PyTorch's name().
    assert ours.grad_fn.name() == theirs.grad_fn.name() == expected
    assert isinstance(ours.grad_fn.name, str)


def test_user_function_node_name():
    class Cube(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    y = Cube.apply(dg.tensor([1.0, 2.0], requires_grad=True))
    assert repr(y) == "tensor([1., 8.], grad_fn=<CubeBackward>)"
    assert y.grad_fn.name == "Cube"  # deltagrad's own op name is unchanged
    assert y.grad_fn.name() == "CubeBackward"  # PyTorch's name()


def test_default_dtype_float64_changes_what_is_named():
    cases = (lambda m: m.tensor([1.5]), lambda m: m.tensor([1.5], dtype=m.float32),
             lambda m: m.tensor([1j]), lambda m: m.tensor([1j], dtype=m.complex64),
             lambda m: m.zeros(0, dtype=m.float32), lambda m: m.zeros(0))
    try:
        dg.set_default_dtype(dg.float64)
        torch.set_default_dtype(torch.float64)
        for build in cases:
            assert _ours(repr(build(dg))) == repr(build(torch))
    finally:
        dg.set_default_dtype(dg.float32)
        torch.set_default_dtype(torch.float32)


img_np = RNG.standard_normal((1, 2, 6, 6)).astype(np.float32)

# Composites and the library's own Functions print PyTorch's node names too.
LAYERS = {
    "mse_loss": lambda m, F, x, img: F.mse_loss(x, x.detach() * 2),
    "mse_loss none": lambda m, F, x, img: F.mse_loss(x, x.detach() * 2, reduction="none"),
    "nll_loss": lambda m, F, x, img: F.nll_loss(F.log_softmax(x, 1), m.tensor([0, 1, 3])),
    "binary_cross_entropy": lambda m, F, x, img: F.binary_cross_entropy(
        x.sigmoid(), m.ones(3, 4) / 2),
    "bce_with_logits": lambda m, F, x, img: F.binary_cross_entropy_with_logits(
        x, m.ones(3, 4) / 2),
    "smooth_l1": lambda m, F, x, img: F.smooth_l1_loss(x, x.detach() * 2),
    "huber": lambda m, F, x, img: F.huber_loss(x, x.detach() * 2),
    "l1 (a mean)": lambda m, F, x, img: F.l1_loss(x, x.detach() * 2),
    "conv2d": lambda m, F, x, img: F.conv2d(img, m.ones(3, 2, 3, 3)),
    "conv1d": lambda m, F, x, img: F.conv1d(img[0], m.ones(3, 6, 3)),
    "conv_transpose2d": lambda m, F, x, img: F.conv_transpose2d(img, m.ones(2, 1, 2, 2)),
    "max_pool2d": lambda m, F, x, img: F.max_pool2d(img, 2),
    "avg_pool2d": lambda m, F, x, img: F.avg_pool2d(img, 2),
    "unfold": lambda m, F, x, img: F.unfold(img, 5),
    "embedding_bag": lambda m, F, x, img: F.embedding_bag(m.tensor([[0, 1]]), x),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_node_names(name):
    def build(m):
        x = m.tensor(x_np, requires_grad=True)
        img = m.tensor(img_np, requires_grad=True)
        return LAYERS[name](m, m.nn.functional, x, img)

    ours, theirs = build(dg), build(torch)
    expected = type(theirs.grad_fn).__name__
    assert _ours(repr(ours)).endswith(f"grad_fn=<{expected}>)")


def test_names_after_backward():
    # backward frees what the name is read from; the common cases still print PyTorch's names.
    for m in (dg, torch):
        x = m.tensor(x_np, requires_grad=True)
        outs = [m.nn.functional.mse_loss(x, x.detach() * 2), x.sum(), x.mean(), x @ x.t(),
                m.nn.functional.cross_entropy(x, m.tensor([0, 1, 2]))]
        sum(out.sum() for out in outs).backward()
        names = [repr(out).rsplit("grad_fn=", 1)[-1] for out in outs]
        if m is dg:
            ours = names
    assert ours == names
