"""deltagrad.fx's symbolic tracing against torch.fx: the same small models (MLP, CNN with
pooling and flatten, a residual block, a transformer encoder layer as a leaf, modules reading
parameters / buffers / constants, concrete_args, wrap, autowrapped math) traced by both; the
nodes (op, target name, node name, argument structure), the generated code's shape and the
GraphModules' outputs must agree, and the programs PyTorch refuses to trace (control flow on
traced values, iteration, len) must raise the same exception classes."""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.fx as dfx

torch = pytest.importorskip("torch")
tfx = pytest.importorskip("torch.fx")


def _wrapped_helper(x, k):
    return x * k


dfx.wrap("_wrapped_helper")
tfx.wrap("_wrapped_helper")


def auto_helper(x):
    return x + 1


def define(lib):
    """The test models, written once against ``lib`` (torch or deltagrad)."""
    nn = lib.nn
    F = lib.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=-1)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.pool = nn.MaxPool2d(2)
            self.head = nn.Linear(4 * 4 * 4, 5)

        def forward(self, x):
            x = self.pool(lib.relu(self.bn(self.conv(x))))
            x = F.avg_pool2d(x, 1)
            x = lib.flatten(x, 1)
            return self.head(x).view(x.size(0), -1)

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(4)
            self.down = nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))

        def forward(self, x):
            identity = self.down(x)
            out = F.relu(self.bn1(self.conv1(x)), inplace=True)
            out = self.bn2(self.conv2(out))
            out += identity
            return out.relu()

    class Attrs(nn.Module):
        """Parameters, buffers, tensor constants, shapes, getitem, cat, methods."""

        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(lib.ones(5) * 0.5)
            self.register_buffer("offset", lib.arange(5.0))
            self.lin = nn.Linear(5, 5)

        def forward(self, x, y):
            a = self.offset + x
            b = lib.ones(5) * y
            c = x.add(self.scale) + self.lin.weight.sum()
            d = lib.cat([self.offset.unsqueeze(0), x], dim=0).relu()
            n = x.shape[-1]
            e = (a * b - c / 2) ** 2
            f = lib.stack((x, y), dim=1).mean(dim=1)
            first, second = lib.chunk(d, 2, dim=0)
            return e, d[:, 1:3], n, x.size(0), f.transpose(0, 1), first + second, -x @ y.t()

    class Flagged(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x, flag=True, extra=None):
            x = self.lin(x)
            if flag:
                x = x * 2
            if extra is not None:
                x = x + extra
            return x

    class Wrapped(nn.Module):
        def forward(self, x):
            d = x.size(-1)
            return _wrapped_helper(x, 3) / math.sqrt(d) + auto_helper(x)

    class Leafy(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
            self.out = nn.Linear(8, 2)

        def forward(self, x):
            return self.out(self.enc(x)).sum(dim=1)

    class Branchy(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x

    class Loopy(nn.Module):
        def forward(self, x):
            return [v * 2 for v in x]

    class Sized(nn.Module):
        def forward(self, x):
            return x * len(x)

    return {"MLP": MLP, "CNN": CNN, "Residual": Residual, "Attrs": Attrs, "Flagged": Flagged,
            "Wrapped": Wrapped, "Leafy": Leafy, "Branchy": Branchy, "Loopy": Loopy,
            "Sized": Sized}


TORCH = define(torch)
OURS = define(dg)


def _pair(name: str, seed: int = 0):
    """The model ``name`` in both libraries with the same weights (eval mode)."""
    torch.manual_seed(seed)
    real = TORCH[name]().eval()
    ours = OURS[name]().eval()
    state = {k: dg.tensor(v.detach().numpy()) for k, v in real.state_dict().items()}
    ours.load_state_dict(state)
    return real, ours


def _target(node) -> str:
    t = node.target
    return t if isinstance(t, str) else t.__name__


def _shape(arg):
    """An argument's structure with nodes by name and tensors as 'T'."""
    if isinstance(arg, (tuple, list)):
        return [_shape(a) for a in arg]
    if isinstance(arg, dict):
        return {k: _shape(v) for k, v in arg.items()}
    if hasattr(arg, "op") and hasattr(arg, "users"):
        return "%" + arg.name
    if isinstance(arg, slice):
        return ("slice", _shape(arg.start), _shape(arg.stop), _shape(arg.step))
    if isinstance(arg, float) and math.isinf(arg):
        return "inf"
    if type(arg).__name__ == "dtype":
        return str(arg).split(".")[-1]
    return arg


def _nodes(graph):
    rows = []
    for n in graph.nodes:
        rows.append((n.op, _target(n), n.name, _shape(n.args), _shape(n.kwargs), len(n.users)))
    return rows


def _code_lines(gm, lib: str) -> list:
    """The generated code's lines with the library's name as LIB and function paths by their
    last name (``torch._C._nn.avg_pool2d`` is ``nn.functional.avg_pool2d``)."""
    return [re.sub(rf"\b{lib}\.(?:[\w]+\.)*(\w+)\(", r"LIB.\1(", line)
            for line in gm.code.strip().splitlines()]


def _np(value):
    if isinstance(value, (tuple, list)):
        return [_np(v) for v in value]
    if hasattr(value, "detach"):
        return value.detach().numpy()
    return value


def _assert_close(a, b):
    a, b = _np(a), _np(b)
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_close(x, y)
        return
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


INPUTS = {
    "MLP": [(4, 6)], "CNN": [(2, 3, 8, 8)], "Residual": [(2, 4, 5, 5)], "Attrs": [(3, 5), (3, 5)],
    "Wrapped": [(2, 4)], "Leafy": [(2, 3, 8)],
}


def _inputs(name: str):
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in INPUTS[name]]
    return [torch.from_numpy(a) for a in arrays], [dg.tensor(a) for a in arrays]


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_same_graph_and_outputs(name):
    real, ours = _pair(name)
    real_gm = tfx.symbolic_trace(real)
    ours_gm = dfx.symbolic_trace(ours)
    assert _nodes(ours_gm.graph) == _nodes(real_gm.graph)
    assert type(ours_gm).__name__ == type(real_gm).__name__ == name
    real_in, ours_in = _inputs(name)
    with torch.no_grad():
        expected = real(*real_in)
        assert _np(real_gm(*real_in)) is not None
    _assert_close(ours_gm(*ours_in), expected)
    _assert_close(ours(*ours_in), expected)
    # the generated code has the same lines but for the library's name
    assert _code_lines(ours_gm, "deltagrad") == _code_lines(real_gm, "torch")
    assert "torch" not in ours_gm.code


@pytest.mark.parametrize("name", ["MLP", "CNN", "Residual", "Attrs", "Leafy"])
def test_graph_module_shares_state(name):
    real, ours = _pair(name)
    real_gm, ours_gm = tfx.symbolic_trace(real), dfx.symbolic_trace(ours)
    assert list(ours_gm.state_dict()) == list(real_gm.state_dict())
    assert [n for n, _ in ours_gm.named_parameters()] == \
        [n for n, _ in real_gm.named_parameters()]
    ours_params = dict(ours.named_parameters())
    for key, param in ours_gm.named_parameters():
        assert param is ours_params[key]  # shared, not copied
    # training through the GraphModule moves the original's parameters
    _, ours_in = _inputs(name)
    out = ours_gm(*ours_in)
    first = out[0] if isinstance(out, tuple) else out
    first.sum().backward()
    assert any(p.grad is not None for p in ours.parameters())


def test_deepcopy_is_independent():
    real, ours = _pair("MLP")
    gm = dfx.symbolic_trace(ours)
    twin = copy.deepcopy(gm)
    assert twin.code == gm.code and type(twin) is not type(gm)
    assert twin.fc1.weight is not gm.fc1.weight
    _, (x,) = _inputs("MLP")
    _assert_close(twin(x), gm(x))
    with dg.no_grad():
        twin.fc1.weight.mul_(0)
    assert not np.allclose(_np(twin(x)), _np(gm(x)))
    # editing the copy's graph leaves the original's forward alone
    for node in twin.graph.nodes:
        if node.op == "call_function" and node.target is dg.nn.functional.relu:
            node.target = dg.nn.functional.gelu
    twin.recompile()
    assert "gelu" in twin.code and "gelu" not in gm.code


def test_concrete_args_match_torch():
    real, ours = _pair("Flagged")
    real_gm = tfx.symbolic_trace(real, concrete_args={"flag": False, "extra": None})
    ours_gm = dfx.symbolic_trace(ours, concrete_args={"flag": False, "extra": None})
    assert _nodes(ours_gm.graph) == _nodes(real_gm.graph)
    x = np.ones((2, 4), np.float32)
    _assert_close(ours_gm(dg.tensor(x), False, None),
                  real_gm(torch.from_numpy(x), False, None))
    # the specialisation is checked when the graph runs with other values
    with pytest.raises(AssertionError):
        real_gm(torch.from_numpy(x), True, None)
    with pytest.raises(AssertionError):
        ours_gm(dg.tensor(x), True, None)
    # PH keeps a concrete argument a placeholder
    real_ph = tfx.symbolic_trace(real, concrete_args={"flag": True, "extra": tfx.PH})
    ours_ph = dfx.symbolic_trace(ours, concrete_args={"flag": True, "extra": dfx.PH})
    assert [n.name for n in ours_ph.graph.nodes] == [n.name for n in real_ph.graph.nodes]


@pytest.mark.parametrize("name,kind", [("Branchy", "TraceError"), ("Loopy", "TraceError"),
                                       ("Sized", "RuntimeError")])
def test_untraceable_programs_raise_alike(name, kind):
    real, ours = _pair(name)
    call, getattr_ = dg.nn.Module.__call__, dg.nn.Module.__getattr__
    with pytest.raises(Exception) as real_error:
        tfx.symbolic_trace(real)
    with pytest.raises(Exception) as ours_error:
        dfx.symbolic_trace(ours)
    # the failed trace put everything back: no patched Module, no mode, not tracing
    assert dg.nn.Module.__call__ is call and dg.nn.Module.__getattr__ is getattr_
    assert dg.overrides._get_current_function_mode() is None and not dfx.is_fx_tracing()
    assert type(real_error.value).__name__ == type(ours_error.value).__name__ == kind
    assert issubclass(type(ours_error.value), type(real_error.value).__mro__[1])
    if kind == "TraceError":
        assert isinstance(ours_error.value, dfx.proxy.TraceError)


def test_functions_trace_like_torch():
    def f(lib):
        def fn(x, y=2.0):
            z = lib.sigmoid(x) * y
            return lib.where(z > 0.5, z, lib.zeros_like(z)).sum(dim=-1, keepdim=True) + abs(x)

        return fn

    real_gm, ours_gm = tfx.symbolic_trace(f(torch)), dfx.symbolic_trace(f(dg))
    assert _nodes(ours_gm.graph) == _nodes(real_gm.graph)
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    _assert_close(ours_gm(dg.tensor(x)), real_gm(torch.from_numpy(x)))
    assert type(ours_gm).__name__ == "fn"


def test_leaf_rule_and_custom_tracer():
    real, ours = _pair("Leafy")
    # deltagrad.nn's modules are leaves as torch.nn's are
    assert [n.target for n in dfx.symbolic_trace(ours).graph.nodes if n.op == "call_module"] \
        == ["enc", "out"]

    class Through(dfx.Tracer):
        def is_leaf_module(self, m, qualname):
            if isinstance(m, dg.nn.TransformerEncoderLayer):
                return False
            return super().is_leaf_module(m, qualname)

    tracer = Through()
    graph = tracer.trace(ours, concrete_args=None)
    gm = dfx.GraphModule(tracer.root, graph)
    modules = [n.target for n in graph.nodes if n.op == "call_module"]
    assert modules[:1] == ["enc.self_attn"] and modules[-1] == "out"
    assert {"enc.linear1", "enc.norm2", "enc.linear2"} <= set(modules)
    real_in, ours_in = _inputs("Leafy")
    with torch.no_grad():
        _assert_close(gm(*ours_in), real(*real_in))
    # PyTorch's own layer cannot be traced through (its fast-path check asks src.dim())

    class TorchThrough(tfx.Tracer):
        def is_leaf_module(self, m, qualname):
            if isinstance(m, torch.nn.TransformerEncoderLayer):
                return False
            return super().is_leaf_module(m, qualname)

    with pytest.raises(tfx.proxy.TraceError):
        TorchThrough().trace(real)


def test_is_fx_tracing_and_proxy_isinstance():
    seen = []

    class Probe(dg.nn.Module):
        def forward(self, x):
            seen.append((dfx.is_fx_tracing(), isinstance(x, dfx.Proxy)))
            return x + 1

    dfx.symbolic_trace(Probe())
    Probe()(dg.ones(2))
    assert seen == [(True, True), (False, False)]
    assert not dfx.is_fx_tracing()


def test_varargs_keyword_only_and_dtypes():
    def build(lib):
        class Varargs(lib.nn.Module):
            def forward(self, x, *rest, scale=2.0, **extra):
                return x * scale + rest[0] + extra["b"]

        def casts(x):
            return (x.to(lib.float64).sum(dim=(0,), keepdim=True).type(lib.int32),
                    x.new_zeros(3).dtype, x.ndim)

        return Varargs(), casts

    real_mod, real_fn = build(torch)
    ours_mod, ours_fn = build(dg)
    for real, ours in ((real_mod, ours_mod), (real_fn, ours_fn)):
        real_gm, ours_gm = tfx.symbolic_trace(real), dfx.symbolic_trace(ours)
        assert _nodes(ours_gm.graph) == _nodes(real_gm.graph)
        assert ours_gm.code.replace("deltagrad.", "torch.") == real_gm.code
    x = np.arange(4.0, dtype=np.float32).reshape(2, 2)
    tx, dx = torch.from_numpy(x), dg.tensor(x)
    _assert_close(dfx.symbolic_trace(ours_mod)(dx, 3.0, dx, b=dx),
                  tfx.symbolic_trace(real_mod)(tx, 3.0, tx, b=tx))
    got, expected = dfx.symbolic_trace(ours_fn)(dx), tfx.symbolic_trace(real_fn)(tx)
    _assert_close(got[0], expected[0])
    assert str(got[0].dtype).split(".")[-1] == "int32" and got[1] == dg.float32
    assert got[2] == expected[2] == 2


def test_functional_calls_spell_defaults_like_torch():
    """PyTorch's Python-level nn.functional functions reach the tracer with their optional
    parameters spelled out by keyword (F.relu(x) is relu(x, inplace=False)); C++-bound ones
    (F.linear) as written. deltagrad's graphs record the same."""
    def fn(lib):
        F = lib.nn.functional

        def f(x, w):
            a = F.relu(x)
            b = F.dropout(a, 0.25, training=False)
            c = F.log_softmax(b, dim=1)
            d = F.layer_norm(c, (3,), eps=1e-3)
            e = F.linear(d, w)
            return F.pad(e, (1, 1), value=0.5) + F.softmax(e, -1).sum()

        return f

    real_gm, ours_gm = tfx.symbolic_trace(fn(torch)), dfx.symbolic_trace(fn(dg))
    assert _nodes(ours_gm.graph) == _nodes(real_gm.graph)
    relu = next(n for n in ours_gm.graph.nodes if n.name == "relu")
    assert relu.kwargs == {"inplace": False}
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    w = np.eye(3, dtype=np.float32)
    _assert_close(ours_gm(dg.tensor(x), dg.tensor(w)),
                  real_gm(torch.from_numpy(x), torch.from_numpy(w)))


def test_autowrap_functions_record_one_node():
    real, ours = _pair("Wrapped")
    real_graph = tfx.Tracer(autowrap_functions=(auto_helper,)).trace(real)
    ours_graph = dfx.Tracer(autowrap_functions=(auto_helper,)).trace(ours)
    assert _nodes(ours_graph) == _nodes(real_graph)
    assert [n.name for n in ours_graph.nodes if n.op == "call_function"][-2] == "auto_helper"
    # the helper is back to itself afterwards
    assert globals()["auto_helper"].__name__ == "auto_helper"
    assert float(auto_helper(dg.zeros(1))) == 1.0


def test_assert_on_traced_values_is_recorded():
    """torch._assert given a traced condition (torchvision's ViT checks its image size so)
    becomes a node that checks when the graph runs."""
    def build(lib):
        def f(x):
            lib._assert(x.shape[-1] == 4, "wrong width")
            return x * 2

        return f

    real_gm, ours_gm = tfx.symbolic_trace(build(torch)), dfx.symbolic_trace(build(dg))
    assert _nodes(ours_gm.graph) == _nodes(real_gm.graph)
    assert [n.name for n in ours_gm.graph.nodes][4] == "_assert"
    _assert_close(ours_gm(dg.ones(2, 4)), real_gm(torch.ones(2, 4)))
    with pytest.raises(AssertionError, match="wrong width"):
        ours_gm(dg.ones(2, 3))
    with pytest.raises(AssertionError, match="wrong width"):
        real_gm(torch.ones(2, 3))
