"""Session 11's silent differences from PyTorch, each case run in both libraries
(``s11_SX_harness``): no-derivative functions whose backward must raise, in-place changes of
views taken under no_grad, fill_ / copy_ through a view of a tensor that joined the graph later,
and ``Module.to`` of a module on the meta device."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from s11_SX_harness import classify  # noqa: E402

A = np.array([5.5, -3.2, 7.0, 0.3])
B = np.array([2.0, 1.5, -2.5, 0.7])

# ----------------------------------------------------------------------------------------------
# Gradients of the rounding divisions: PyTorch has none for floor_divide (backward raises), and
# remainder / fmod have one for each argument.


def _division(name, which):
    def case(m):
        a = m.tensor(A, requires_grad=which in ("a", "both"))
        b = m.tensor(B, requires_grad=which in ("b", "both"))
        if name == "//":
            y = a // b
        elif name == "rfloordiv":
            y = 2.0 // (a if which != "b" else b)
        elif name == "div floor":
            y = m.div(a, b, rounding_mode="floor")
        elif name == "div trunc":
            y = m.div(a, b, rounding_mode="trunc")
        elif name == "heaviside":
            y = m.heaviside(a, b)
        else:
            y = getattr(m, name)(a, b)
        recorded = y.requires_grad
        y.sum().backward()
        return recorded, a.grad, b.grad
    return case


def _floor_divide_in_place(m):
    a = m.tensor(A, requires_grad=True)
    c = a * 1.0
    c //= m.tensor(B)
    c.sum().backward()
    return a.grad


def _floor_divide_scalar(m):
    a = m.tensor(A, requires_grad=True)
    m.floor_divide(a, 2.0).sum().backward()
    return a.grad


DIVISION = {f"{name} {which}": _division(name, which)
            for name in ("floor_divide", "//", "rfloordiv", "remainder", "fmod", "div floor",
                         "div trunc", "heaviside")
            for which in ("a", "b", "both")}
DIVISION["floor_divide_ in place"] = _floor_divide_in_place
DIVISION["floor_divide scalar"] = _floor_divide_scalar
DIVISION["floor_divide under no_grad"] = lambda m: _no_grad_floor_divide(m)
DIVISION["floor_divide integers"] = lambda m: m.floor_divide(m.tensor([7, -7]), m.tensor([2, 2]))


def _no_grad_floor_divide(m):
    a = m.tensor(A, requires_grad=True)
    with m.no_grad():
        y = m.floor_divide(a, m.tensor(B))
    return y, y.requires_grad


# ----------------------------------------------------------------------------------------------
# In-place changes of views.


def _graph_base(m):
    leaf = m.tensor(A, requires_grad=True)
    return leaf, leaf * 2.0


def _view_case(make, change, *, no_grad_view=True, rg_value=False):
    def case(m):
        leaf, b = _graph_base(m)
        if no_grad_view:
            with m.no_grad():
                v = make(b)
        else:
            v = make(b)
        w = m.tensor([3.0, 4.0], dtype=m.float64, requires_grad=True) if rg_value else None
        change(m, v, w)
        b.backward(m.tensor([1.0, 10.0, 100.0, 1000.0], dtype=m.float64))
        return b, leaf.grad
    return case


VIEW_MAKERS = {
    "slice": lambda b: b[:2], "view": lambda b: b.view(2, 2)[0], "narrow": lambda b:
    b.narrow(0, 1, 2), "view of view": lambda b: b.view(4)[1:3], "split": lambda b: b.split(2)[0],
    "unbind": lambda b: b.view(2, 2).unbind(0)[1],
}
CHANGES = {
    "mul_": lambda m, v, w: v.mul_(2.0), "mul_ by grad value": lambda m, v, w: v.mul_(w),
    "zero_": lambda m, v, w: v.zero_(), "fill_": lambda m, v, w: v.fill_(5.0),
    "copy_": lambda m, v, w: v.copy_(m.tensor([7.0, 8.0], dtype=m.float64)),
    "setitem": lambda m, v, w: v.__setitem__(0, 9.0), "iadd": lambda m, v, w: v.__iadd__(1.0),
    "clamp_": lambda m, v, w: v.clamp_(max=0.5), "masked_fill_": lambda m, v, w:
    v.masked_fill_(m.tensor([True, False]), 0.0),
}
VIEWS = {}
for _view, _make in VIEW_MAKERS.items():
    for _change, _fn in CHANGES.items():
        VIEWS[f"no_grad {_view} {_change}"] = _view_case(
            _make, _fn, rg_value="grad value" in _change)
        VIEWS[f"no_grad {_view} {_change} inside no_grad"] = (
            lambda m, make=_make, fn=_fn: _inside_no_grad(m, make, fn))


def _inside_no_grad(m, make, change):
    leaf, b = _graph_base(m)
    with m.no_grad():
        change(m, make(b), None)
    b.backward(m.tensor([1.0, 10.0, 100.0, 1000.0], dtype=m.float64))
    return b, leaf.grad


def _detach_view(make, rg):
    def case(m):
        base = m.tensor(A, requires_grad=rg)
        x = base * 1.0 if rg else base
        v = make(x)
        v.detach_()
        return v, v.requires_grad
    return case


for _view, _make in VIEW_MAKERS.items():
    VIEWS[f"detach_ {_view} of graph tensor"] = _detach_view(_make, True)
    VIEWS[f"detach_ {_view} of plain tensor"] = _detach_view(_make, False)


def _joined_later(change):
    # A view taken (in grad mode) while its base was outside the graph, the base then joining
    # the graph in place: a fill / copy through the view must reach the base's new node.
    def case(m):
        a = m.tensor(np.ones(3))
        w = m.tensor([2.0, 3.0, 4.0], dtype=m.float64, requires_grad=True)
        v = a[:2]
        a.mul_(w)
        change(m, v)
        (a * m.tensor([1.0, 10.0, 100.0], dtype=m.float64)).sum().backward()
        return a, w.grad
    return case


JOINED = {
    "zero_": lambda m, v: v.zero_(), "fill_": lambda m, v: v.fill_(5.0),
    "copy_": lambda m, v: v.copy_(m.tensor([7.0, 8.0], dtype=m.float64)),
    "fill_ 0d tensor": lambda m, v: v.fill_(m.tensor(6.0, dtype=m.float64)),
}

# ----------------------------------------------------------------------------------------------
# Modules on the meta device.


def _meta_module(m):
    with m.device("meta"):
        return m.nn.Sequential(m.nn.Linear(3, 4), m.nn.BatchNorm1d(4))


def _state(module):
    return [(name, t.dtype, tuple(t.shape), t.is_meta) for name, t in
            list(module.named_parameters()) + list(module.named_buffers())]


META = {
    "to('cpu')": lambda m: _state(_meta_module(m).to("cpu")),
    "to(device('cpu'))": lambda m: _state(_meta_module(m).to(m.device("cpu"))),
    "to(device=..., dtype=...)": lambda m: _state(_meta_module(m).to(device="cpu",
                                                                        dtype=m.float64)),
    "to(tensor)": lambda m: _state(_meta_module(m).to(m.zeros(1, dtype=m.float64))),
    "cpu()": lambda m: _state(_meta_module(m).cpu()),
    "to(float64)": lambda m: _state(_meta_module(m).to(m.float64)),
    "double()": lambda m: _state(_meta_module(m).double()),
    "half()": lambda m: _state(_meta_module(m).half()),
    "float() of double": lambda m: _state(_meta_module(m).double().float()),
    "to('meta', float64)": lambda m: _state(m.nn.Linear(2, 2).to("meta", m.float64)),
    "to('meta')": lambda m: _state(m.nn.Linear(2, 2).to("meta")),
    "to_empty then to('cpu')": lambda m: _state(_meta_module(m).to_empty(device="cpu")
                                                .to("cpu")),
    "cpu module to('cpu')": lambda m: _state(m.nn.Linear(2, 2).to("cpu")),
}


def _meta_grad_dtype(m):
    with m.device("meta"):
        layer = m.nn.Linear(2, 2)
    layer.weight.grad = m.empty(2, 2, device="meta")
    layer.double()
    return layer.weight.grad.dtype, layer.weight.grad.is_meta


META["double() with a meta grad"] = _meta_grad_dtype

FAMILIES = {"division gradients": DIVISION, "views": VIEWS,
            "joined later": {k: _joined_later(v) for k, v in JOINED.items()},
            "meta modules": META}

# Deliberate differences: case -> why (each must still differ).
_TEMPORARY = ("detach_ of a view of a temporary: deltagrad tells a user's view from its own "
              "composites' views of their temporaries by whether the base is still referenced "
              "(versions.reachable_view), so a view of an unreferenced `x * 1.0` is not one")
_JOINED = ("PyTorch refuses an in-place change of a view taken while its base was outside the "
           "graph once the base has joined it ('a leaf Variable that requires grad...'); "
           "deltagrad records it through the base, the gradient of a view taken after the join")
KNOWN = {
    # (the three views of a temporary `b.view(...)`; slice, narrow and split of `b` raise)
    **{f"detach_ {view} of {kind} tensor": _TEMPORARY for view in ("view", "view of view",
                                                                    "unbind")
       for kind in ("graph", "plain")},
    **{f"joined later {name}": _JOINED for name in JOINED},
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_against_pytorch(family):
    problems = []
    for name, case in sorted(FAMILIES[family].items()):
        kind, detail = classify(case)
        key = f"{family} {name}" if family == "joined later" else name
        if key in KNOWN:
            if kind == "same":
                problems.append(f"{name} now agrees with PyTorch: remove it from KNOWN")
        elif kind != "same":
            problems.append(f"{name}: {kind}: {detail}")
    assert not problems, "\n".join(problems)


def test_fill_diagonal_through_a_view_of_a_tensor_that_joined_the_graph():
    # As fill_ (its fast path skipped the graph too): the overwritten diagonal takes no gradient.
    import deltagrad as dg

    grads = []
    for lib, late in ((dg, False), (torch, True)):
        a = lib.tensor(np.ones((3, 3)))
        w = lib.tensor(np.arange(1.0, 10.0).reshape(3, 3), requires_grad=True)
        v = None if late else a[:2, :2]
        a.mul_(w)
        (a[:2, :2] if late else v).fill_diagonal_(0.0)
        (a * lib.tensor(np.arange(9.0).reshape(3, 3))).sum().backward()
        grads.append(w.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_joined_later_gradients_are_the_graph_ones():
    # PyTorch raises there (KNOWN); deltagrad's gradient is the one PyTorch gives when the view
    # is taken after the base joined the graph: zero where the fill overwrote the values.
    import deltagrad as dg

    for name, change in JOINED.items():
        grads = []
        for lib, late in ((dg, False), (torch, True)):
            a = lib.tensor(np.ones(3))
            w = lib.tensor([2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)
            v = None if late else a[:2]
            a.mul_(w)
            change(lib, a[:2] if late else v)
            (a * lib.tensor([1.0, 10.0, 100.0], dtype=lib.float64)).sum().backward()
            grads.append(w.grad.numpy())
        np.testing.assert_array_equal(grads[0], grads[1], err_msg=name)
