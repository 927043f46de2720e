"""deltagrad.fx's graph API against torch.fx: editing a traced graph (retargeting relu to
gelu, inserting nodes with ``inserting_after`` / ``create_node``, ``erase_node``,
``eliminate_dead_code``, ``lint``), ``Interpreter`` and ``Transformer``, ``replace_pattern``,
graphs built by hand into a GraphModule from a dict, tuple unpacking of traced values, and the
printed graph; each done the same way with PyTorch and compared (nodes, outputs, exception
classes)."""

from __future__ import annotations

import operator
import re

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.fx as dfx

torch = pytest.importorskip("torch")
tfx = pytest.importorskip("torch.fx")

# (len given a traced value is recorded as a call in this module's traced code)
tfx.wrap("len")
dfx.wrap("len")


def define(lib):
    nn = lib.nn
    F = lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 6)
            self.fc2 = nn.Linear(6, 6)
            self.act = nn.ReLU()

        def forward(self, x):
            h = lib.relu(self.fc1(x))
            h = self.act(self.fc2(h)) + lib.relu(h)
            a, b = lib.split(h, 3, dim=-1)
            return F.relu(a * b).sum(dim=-1) + 1

    return Net


TorchNet, OurNet = define(torch), define(dg)


def _pair():
    torch.manual_seed(3)
    real = TorchNet()
    ours = OurNet()
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in
                          real.state_dict().items()})
    return real, ours


def _input():
    x = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    return torch.from_numpy(x), dg.tensor(x)


def _close(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def _summary(graph):
    return [(n.op, n.target if isinstance(n.target, str) else n.target.__name__, n.name,
             sorted(u.name for u in n.users)) for n in graph.nodes]


def _is_relu(node, lib) -> bool:
    return node.op == "call_function" and node.target in (lib.relu, lib.nn.functional.relu)


def test_tuple_unpacking_traces_getitems():
    real, ours = _pair()
    real_gm, ours_gm = tfx.symbolic_trace(real), dfx.symbolic_trace(ours)
    assert _summary(ours_gm.graph) == _summary(real_gm.graph)
    assert [n.name for n in ours_gm.graph.nodes if n.name.startswith("getitem")] == \
        ["getitem", "getitem_1"]
    tx, dx = _input()
    _close(ours_gm(dx), real_gm(tx))


def test_retarget_relu_to_gelu_and_recompile():
    real, ours = _pair()
    results = []
    for lib, fx, model, x in ((torch, tfx, real, _input()[0]), (dg, dfx, ours, _input()[1])):
        gm = fx.symbolic_trace(model)
        changed = 0
        for node in gm.graph.nodes:
            if _is_relu(node, lib):
                node.target = lib.nn.functional.gelu
                node.kwargs = {}  # (PyTorch's F.relu records inplace=False)
                changed += 1
        gm.recompile()
        assert changed == 3 and "gelu" in gm.code
        results.append((gm(x), _summary(gm.graph)))
    _close(results[1][0], results[0][0])
    assert results[1][1] == results[0][1]
    # the unedited model differs: the edit took effect
    assert not np.allclose(results[1][0].detach().numpy(), ours(_input()[1]).detach().numpy())


def test_insert_and_erase_nodes():
    real, ours = _pair()
    outs = []
    for lib, fx, model, x in ((torch, tfx, real, _input()[0]), (dg, dfx, ours, _input()[1])):
        gm = fx.symbolic_trace(model)
        graph = gm.graph
        for node in list(graph.nodes):
            if _is_relu(node, lib):
                with graph.inserting_after(node):
                    doubled = graph.create_node("call_function", operator.mul, (node, 2.0))
                node.replace_all_uses_with(doubled)
                doubled.update_arg(0, node)  # (it was replaced in the new node too)
        # a dead node, then dead-code elimination removes it
        with graph.inserting_before(next(iter(graph.nodes)).next):
            dead = graph.call_method("neg", (next(iter(graph.nodes)),))
        assert dead.name == "neg"
        with pytest.raises(RuntimeError):
            graph.erase_node(next(iter(graph.nodes)))  # (it has users)
        assert graph.eliminate_dead_code() is True
        assert "neg" not in [n.name for n in graph.nodes]
        graph.lint()
        gm.recompile()
        outs.append((gm(x), _summary(graph), len(graph.nodes)))
    _close(outs[1][0], outs[0][0])
    assert outs[1][1:] == outs[0][1:]


@pytest.mark.filterwarnings("ignore:Attempted to insert a get_attr")
def test_lint_finds_broken_graphs():
    for fx in (tfx, dfx):
        real_or_ours = _pair()[0 if fx is tfx else 1]
        gm = fx.symbolic_trace(real_or_ours)
        graph = gm.graph
        last = list(graph.nodes)[-2]
        with graph.inserting_before(next(iter(graph.nodes))):
            graph.get_attr("no_such_attribute")
        with pytest.raises(RuntimeError):
            graph.lint()

        g = fx.Graph()
        x = g.placeholder("x")
        g.output(x)
        with pytest.raises(RuntimeError):
            g.erase_node(x)  # (the output uses it)
        assert last.op != "output"


def test_interpreter_runs_node_by_node():
    real, ours = _pair()
    tx, dx = _input()
    seen = {}
    for name, fx, model, x in (("torch", tfx, real, tx), ("dg", dfx, ours, dx)):
        gm = fx.symbolic_trace(model)

        class Recorder(fx.Interpreter):
            def run_node(self, n):
                result = super().run_node(n)
                self.ops = [*getattr(self, "ops", []), (n.op, n.name)]
                return result

        interp = Recorder(gm)
        seen[name] = (interp.run(x), interp.ops)
    _close(seen["dg"][0], seen["torch"][0])
    assert seen["dg"][1] == seen["torch"][1]
    # values are dropped after their last use (garbage_collect_values)
    gm = dfx.symbolic_trace(ours)
    interp = dfx.Interpreter(gm)
    interp.run(dx)
    assert len(interp.env) < len(gm.graph.nodes) // 2


def test_transformer_rewrites_relu_to_gelu():
    real, ours = _pair()
    tx, dx = _input()
    made = {}
    for name, lib, fx, model, x in (("torch", torch, tfx, real, tx), ("dg", dg, dfx, ours, dx)):
        gm = fx.symbolic_trace(model)

        relus, gelu = (lib.relu, lib.nn.functional.relu), lib.nn.functional.gelu

        class ToGelu(fx.Transformer):
            def call_function(self, target, args, kwargs, relus=relus, gelu=gelu):
                if target in relus:
                    target, kwargs = gelu, {}
                return super().call_function(target, args, kwargs)

            def call_module(self, target, args, kwargs, lib=lib):
                if target == "act":  # (a library function called on a Proxy is recorded)
                    return lib.nn.functional.gelu(*args)
                return super().call_module(target, args, kwargs)

        new = ToGelu(gm).transform()
        made[name] = (new(x), _summary(new.graph), new)
    _close(made["dg"][0], made["torch"][0])
    assert made["dg"][1] == made["torch"][1]
    expected = dg.nn.functional.gelu
    assert sum(n.target is expected for n in made["dg"][2].graph.nodes) == 4
    # the new module shares the parameters of the traced one
    assert made["dg"][2].fc1.weight is ours.fc1.weight


def test_replace_pattern_like_torch():
    def program(lib):
        def f(x, y):
            a = lib.relu(x) + y
            b = lib.relu(a) + 1
            return lib.relu(b * y) + y

        def pattern(x, y):
            return lib.relu(x) + y

        def replacement(x, y):
            return lib.sigmoid(x) - y

        return f, pattern, replacement

    x = np.linspace(-1, 1, 6, dtype=np.float32)
    got = {}
    for name, lib, fx in (("torch", torch, tfx), ("dg", dg, dfx)):
        f, pattern, replacement = program(lib)
        gm = fx.symbolic_trace(f)
        matches = fx.replace_pattern(gm, pattern, replacement)
        tensor = torch.from_numpy(x) if lib is torch else dg.tensor(x)
        got[name] = (len(matches), gm(tensor, tensor * 2),
                     [n.target.__name__ for n in gm.graph.nodes if n.op == "call_function"])
    assert got["dg"][0] == got["torch"][0] == 3  # (y matches the literal 1 too)
    _close(got["dg"][1], got["torch"][1])
    assert got["dg"][2] == got["torch"][2]


def test_hand_built_graph_and_dict_root():
    outs = []
    for lib, fx in ((torch, tfx), (dg, dfx)):
        g = fx.Graph()
        x = g.placeholder("x")
        w = g.get_attr("w")
        mm = g.call_function(lib.matmul, (x, w))
        lin = g.call_module("lin", (mm,))
        summed = g.call_method("sum", (lin,), {"dim": 1})
        g.output({"out": summed, "raw": mm})
        lib.manual_seed(0)
        lin_module = lib.nn.Linear(3, 2)
        with lib.no_grad():
            lin_module.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3), dtype=lib.float32))
            lin_module.bias.fill_(0.5)
        root = {"w": lib.eye(3) * 2, "lin": lin_module}
        gm = fx.GraphModule(root, g, "Handmade")
        data = lib.tensor(np.arange(6.0).reshape(2, 3), dtype=lib.float32)
        result = gm(data)
        outs.append((result["out"], result["raw"], gm.code.replace("torch.", "LIB.")
                     .replace("deltagrad.", "LIB."), str(g).replace("torch.", "LIB.")
                     .replace("deltagrad.", "LIB."), type(gm).__name__))
        assert [n for n, _ in gm.named_buffers()] == ["w"]
    _close(outs[1][0], outs[0][0])
    _close(outs[1][1], outs[0][1])
    assert outs[1][2:] == outs[0][2:]


def test_printed_graph_matches_torch():
    real, ours = _pair()

    def normal(text, lib):  # (torch.functional.split is deltagrad.split)
        return re.sub(rf"target={lib}\.(?:\w+\.)*(\w+)\]", r"target=LIB.\1]", text)

    text_real = normal(str(tfx.symbolic_trace(real).graph), "torch")
    text_ours = normal(str(dfx.symbolic_trace(ours).graph), "deltagrad")
    assert text_ours == text_real
    assert "call_function[target=LIB.split](args = (%add, 3), kwargs = {dim: -1})" in text_ours


def test_node_api():
    gm = dfx.symbolic_trace(_pair()[1])
    nodes = list(gm.graph.nodes)
    x = nodes[0]
    assert x.op == "placeholder" and repr(x) == "x" and x.next is nodes[1]
    assert [n.name for n in reversed(gm.graph.nodes)][0] == "output"
    fc1 = nodes[1]
    assert fc1.all_input_nodes == [x] and fc1 in x.users
    assert type(fc1.args) is tuple
    with pytest.raises(TypeError):
        fc1.kwargs["k"] = 1
    fc1.args = (x, )
    assert fc1 in x.users
    with pytest.raises(ValueError):
        gm.graph.create_node("call_everything", "x")
    assert gm.graph.find_nodes(op="call_module", target="act")[0].name == "act"


def test_proxies_outside_a_trace_dispatch():
    """Graphs built by calling library functions on Proxies made by hand (e3nn's code
    generation does this with einsum and broadcast_tensors), no trace running."""
    codes, outs = [], []
    for lib, fx in ((torch, tfx), (dg, dfx)):
        graph = fx.Graph()
        tracer = fx.proxy.GraphAppendingTracer(graph)
        a = fx.Proxy(graph.placeholder("a"), tracer)
        b = fx.Proxy(graph.placeholder("b"), tracer)
        left, right = lib.broadcast_tensors(a[..., :1], b[..., :1])
        mixed = lib.einsum("ij,kj->ik", a, b) + left.sum() * right.mean()
        graph.output(lib.cat([mixed, a @ b.T], dim=0).node)
        gm = fx.GraphModule(lib.nn.Module(), graph)
        x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
        codes.append(_summary(graph))
        outs.append(gm(lib.tensor(x), lib.tensor(x[::-1].copy())))
    assert codes[1] == codes[0]
    _close(outs[1], outs[0])


def test_pickle_round_trip():
    import pickle

    _, ours = _pair()
    gm = dfx.symbolic_trace(ours)
    twin = pickle.loads(pickle.dumps(gm))
    _, x = _input()
    _close(twin(x), gm(x))
    assert twin.code == gm.code and _summary(twin.graph) == _summary(gm.graph)
    # a long chain pickles without recursing once per node
    g = dfx.Graph()
    value = g.placeholder("x")
    for _ in range(3000):
        value = g.call_function(operator.add, (value, 1))
    g.output(value)
    long = dfx.GraphModule(dg.nn.Module(), g)
    assert int(pickle.loads(pickle.dumps(long))(dg.tensor(0))) == 3000


def test_wrapped_builtin_and_side_effects():
    def f(x):
        return x * len(x)

    outs = []
    for lib, fx in ((torch, tfx), (dg, dfx)):
        gm = fx.symbolic_trace(f)

        def log(value):
            return value

        fx.node.has_side_effect(log)
        graph = gm.graph
        x = next(iter(graph.nodes))
        with graph.inserting_after(x):
            graph.call_function(log, (x,))
            graph.call_function(operator.neg, (x,))
        graph.eliminate_dead_code()
        gm.recompile()
        outs.append((_summary(graph), gm(lib.ones(3, 2)), gm.code.count("len(")))
    assert outs[1][0] == outs[0][0]
    assert [row[1] for row in outs[1][0]] == ["x", "log", "len", "mul", "output"]
    _close(outs[1][1], outs[0][1])
    assert outs[1][2] == outs[0][2] == 1


def test_shape_prop_records_like_torch():
    from torch.fx.passes.shape_prop import ShapeProp as TorchShapeProp

    from deltagrad.fx.passes.shape_prop import ShapeProp

    real, ours = _pair()
    tx, dx = _input()
    seen = []
    for fx, model, x, prop in ((tfx, real, tx, TorchShapeProp), (dfx, ours, dx, ShapeProp)):
        gm = fx.symbolic_trace(model)
        prop(gm).propagate(x)
        rows = []
        for node in gm.graph.nodes:
            meta = node.meta.get("tensor_meta")
            if isinstance(meta, tuple) and not hasattr(meta, "shape"):  # (split's tuple)
                meta = meta[0]
            described = None if meta is None else (
                tuple(meta.shape), str(meta.dtype).split(".")[-1], meta.requires_grad,
                tuple(meta.stride), str(meta.memory_format).split(".")[-1])
            rows.append((node.name, described, node.meta.get("type").__name__
                         if node.op != "placeholder" else None))
        seen.append(rows)
    assert seen[1] == seen[0]
    assert seen[1][1][1][0] == (3, 6)  # (fc1's output)
