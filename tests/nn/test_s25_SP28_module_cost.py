"""SP28: Module attribute lookups (unrolled registries) and the hook path's empty kinds (no
merged lists built) keep PyTorch's behaviour: members found, None entries, the error of a
missing name, and the order hooks of each kind run in, global ones included."""

import pytest

import deltagrad

torch = pytest.importorskip("torch")


def _members(m):
    class Holder(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = m.nn.Parameter(m.ones(2))
            self.register_buffer("b", m.zeros(3))
            self.sub = m.nn.Identity()
            self.register_parameter("none_p", None)
            self.register_buffer("none_b", None)
            self.add_module("none_m", None)
            self.plain = 5

    return Holder()


def test_registered_members_and_missing_name_as_pytorch():
    ours, theirs = _members(deltagrad), _members(torch)
    assert ours.w.shape == tuple(theirs.w.shape) and ours.w is ours._parameters["w"]
    assert ours.b is ours._buffers["b"] and ours.sub is ours._modules["sub"]
    for name in ("none_p", "none_b", "none_m"):
        assert getattr(ours, name) is None and getattr(theirs, name) is None
    assert ours.plain == theirs.plain == 5
    with pytest.raises(AttributeError) as got:
        ours.missing  # noqa: B018 - the lookup is the test
    with pytest.raises(AttributeError) as want:
        theirs.missing  # noqa: B018
    assert str(got.value) == str(want.value)
    del ours.sub
    with pytest.raises(AttributeError):
        ours.sub  # noqa: B018


def _hook_order(m, own_kinds, global_kind):
    calls = []

    class Twice(m.nn.Module):
        def forward(self, x):
            calls.append("forward")
            return x * 2

    module = Twice()
    handles = []
    if "pre" in own_kinds:
        handles.append(module.register_forward_pre_hook(
            lambda mod, args: calls.append("pre") or (args[0] + 1,)))
    if "fwd" in own_kinds:
        handles.append(module.register_forward_hook(
            lambda mod, args, out: calls.append("fwd") or out + 10))
    if "bwd" in own_kinds:
        handles.append(module.register_full_backward_hook(
            lambda mod, gin, gout: calls.append("bwd")))
    hooks = m.nn.modules.module
    if global_kind == "pre":
        handles.append(hooks.register_module_forward_pre_hook(
            lambda mod, args: calls.append("global pre")))
    elif global_kind == "fwd":
        handles.append(hooks.register_module_forward_hook(
            lambda mod, args, out: calls.append("global fwd")))
    try:
        x = m.ones(2, requires_grad=True)
        out = module(x)
        out.sum().backward()
        return calls, out.detach().tolist(), x.grad.tolist()
    finally:
        for handle in handles:
            handle.remove()


@pytest.mark.parametrize("own_kinds", [(), ("pre",), ("fwd",), ("bwd",), ("pre", "fwd", "bwd")])
@pytest.mark.parametrize("global_kind", [None, "pre", "fwd"])
def test_hook_kinds_run_as_pytorch(own_kinds, global_kind):
    assert (_hook_order(deltagrad, own_kinds, global_kind)
            == _hook_order(torch, own_kinds, global_kind))
    # the global hooks are gone: the plain path again, no hook left behind
    assert _hook_order(deltagrad, (), None)[0] == ["forward"]
