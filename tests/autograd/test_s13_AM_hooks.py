"""Autograd hooks against PyTorch: register_multi_grad_hook ("all" / "any"), graph nodes'
post-hooks (grad_fn.register_hook), the deprecated Module.register_backward_hook (values and
FutureWarnings), and the saved-tensor hook switches."""

import warnings

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def lists(grads):
    return [None if g is None else g.tolist() for g in grads]


def both(fn):
    """fn(module) for deltagrad and PyTorch: (result, warning texts) or the error's class."""
    results = []
    for m in (dg, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = fn(m)
            except Exception as error:  # noqa: BLE001 - the class is what is compared
                value = ("raises", type(error).__mro__[1].__name__
                         if type(error).__module__.startswith("deltagrad") else
                         type(error).__name__)
        texts = sorted({str(w.message) for w in caught
                        if issubclass(w.category, (FutureWarning, UserWarning))
                        and "jit" not in str(w.message)})
        results.append((value, texts))
    return results


def same(fn):
    ours, theirs = both(fn)
    assert ours == theirs


# ---------------------------------------------------------------- register_multi_grad_hook

def multi_all(m):
    a = m.tensor([1.0, 2.0], requires_grad=True)
    b = m.tensor([3.0, 4.0], requires_grad=True)
    c = m.tensor([5.0], requires_grad=True)
    seen = []
    handle = m.autograd.graph.register_multi_grad_hook((a, b, c), lambda g: seen.append(
        (type(g).__name__, lists(g))))
    (a * 2).sum().backward(retain_graph=True)  # b, c take no part: None for them
    (a * b).sum().backward()
    (c * c).sum().backward()
    handle.remove()
    (a * b).sum().backward()  # removed: no call
    return seen, a.grad.tolist()


def multi_any(m):
    a = m.tensor([1.0, 2.0], requires_grad=True)
    b = m.tensor([3.0, 4.0], requires_grad=True)
    k = m.tensor([1.0, 1.0])  # needs no grad: skipped in "any"
    seen = []
    m.autograd.graph.register_multi_grad_hook((a, b, k), lambda g: seen.append(g.tolist()),
                                              mode="any")
    (a * b).sum().backward()
    (b * 7).sum().backward()
    (a * b * 0).sum().backward()
    return seen


def multi_nested(m):
    # A hook that runs backward itself: the inner call is a graph task of its own.
    a = m.tensor([1.0], requires_grad=True)
    b = m.tensor([2.0], requires_grad=True)
    seen = []

    def hook(grads):
        seen.append(lists(grads))
        if len(seen) == 1:
            (b * 5).sum().backward()

    m.autograd.graph.register_multi_grad_hook((a, b), hook)
    (a * b).sum().backward()
    return seen, a.grad.tolist(), b.grad.tolist()


def multi_nonleaf(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    m.autograd.graph.register_multi_grad_hook([h, x], lambda g: seen.append(lists(g)))
    (h * h).sum().backward()
    return seen


def multi_grad_subset(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    h, k = x * 3, x * 4
    seen = []
    m.autograd.graph.register_multi_grad_hook((h, k), lambda g: seen.append(lists(g)))
    grads = m.autograd.grad((h * 2 + k).sum(), (h,))  # k's gradient is not computed
    m.autograd.grad((h * k).sum(), (x,))
    return seen, lists(grads)


def multi_bad_mode(m):
    x = m.ones(1, requires_grad=True)
    return m.autograd.graph.register_multi_grad_hook((x,), print, mode="some")


def multi_no_grad(m):
    return m.autograd.graph.register_multi_grad_hook((m.ones(1),), print)


@pytest.mark.parametrize("fn", [multi_all, multi_any, multi_nested, multi_nonleaf,
                                multi_grad_subset,
                                multi_bad_mode, multi_no_grad])
def test_multi_grad_hook_matches_pytorch(fn):
    same(fn)


def test_multi_grad_hook_off_costs_nothing_after_remove():
    from deltagrad._engine.api import backward as api_backward

    before = api_backward.tracking[0]
    x = dg.ones(1, requires_grad=True)
    handle = dg.autograd.graph.register_multi_grad_hook((x,), lambda g: None)
    assert api_backward.tracking[0] == before + 1
    handle.remove()
    handle.remove()  # (twice: counted once)
    assert api_backward.tracking[0] == before


# ---------------------------------------------------------------- node post-hooks

def node_posthook(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    w = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    k = m.tensor([0.5, 0.25])
    y = (x @ w) * k + x.exp().sum()
    seen = []
    mul = y.grad_fn.next_functions[0][0]  # (the product's node)
    mul.register_hook(lambda gi, go: seen.append((lists(gi), lists(go))))
    mul.register_prehook(lambda go: (go[0] * 2,))  # post-hooks see the pre-hooks' result
    y.sum().backward()
    return seen, [round(v, 5) for v in x.grad.tolist()]


def node_posthook_broadcast(m):
    x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = m.tensor([10.0, 20.0], requires_grad=True)
    y = x + b
    seen = []
    y.grad_fn.register_hook(lambda gi, go: seen.append(lists(gi)))
    (y * m.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return seen


def node_posthook_removed(m):
    x = m.tensor([1.0], requires_grad=True)
    y = x * 2
    seen = []
    handle = y.grad_fn.register_hook(lambda gi, go: seen.append(1))
    handle.remove()
    y.backward()
    return seen


@pytest.mark.parametrize("fn", [node_posthook, node_posthook_broadcast, node_posthook_removed])
def test_node_post_hooks_match_pytorch(fn):
    same(fn)


def test_node_post_hook_replacing_raises():
    x = dg.tensor([1.0], requires_grad=True)
    y = x * 2
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 0, None))
    with pytest.raises(NotImplementedError, match="post-hook"):
        y.backward()


# ---------------------------------------------------------------- Module.register_backward_hook

def legacy_relu_guided(m):
    # Guided backprop's classic use: the ReLU's grad_input clamped at 0.
    relu = m.nn.ReLU()
    seen = []

    def hook(module, grad_input, grad_output):
        seen.append((type(module).__name__, lists(grad_input), lists(grad_output)))
        return (m.clamp(grad_input[0], min=0.0),)

    relu.register_backward_hook(hook)
    x = m.tensor([1.0, -1.0, 2.0], requires_grad=True)
    h = x * 1.0
    (relu(h) * m.tensor([-1.0, 3.0, 2.0])).sum().backward()
    return seen, x.grad.tolist()


def legacy_leaf_input(m):
    sig = m.nn.Sigmoid()
    seen = []
    sig.register_backward_hook(lambda mod, gi, go: seen.append(len(gi)))
    x = m.tensor([0.0, 1.0], requires_grad=True)
    sig(x).sum().backward()
    return seen, [round(v, 6) for v in x.grad.tolist()]


def legacy_multi_node(m):
    class Net(m.nn.Module):
        def forward(self, x):
            return (x * 2).exp() + 1

    net = Net()
    seen = []
    net.register_backward_hook(lambda mod, gi, go: seen.append((lists(gi), lists(go))))
    x = m.tensor([0.0, 1.0], requires_grad=True)
    (net(x * 1) * 3).sum().backward()
    return seen


def legacy_tuple_output(m):
    class Two(m.nn.Module):
        def forward(self, x):
            return x * 2, x * 3

    net = Two()
    seen = []
    net.register_backward_hook(lambda mod, gi, go: seen.append(lists(go)))
    x = m.tensor([1.0], requires_grad=True)
    a, b = net(x * 1)
    (a + b).sum().backward()
    return seen


def legacy_and_full(m):
    relu = m.nn.ReLU()
    relu.register_backward_hook(lambda *a: None)
    relu.register_full_backward_hook(lambda *a: None)


def full_and_legacy(m):
    relu = m.nn.ReLU()
    relu.register_full_backward_hook(lambda *a: None)
    relu.register_backward_hook(lambda *a: None)


def legacy_dict_len(m):
    relu = m.nn.ReLU()
    handle = relu.register_backward_hook(lambda *a: None)
    n = len(relu._backward_hooks)
    handle.remove()
    return n, len(relu._backward_hooks)


@pytest.mark.parametrize("fn", [legacy_relu_guided, legacy_leaf_input, legacy_multi_node,
                                legacy_tuple_output, legacy_and_full, full_and_legacy,
                                legacy_dict_len])
def test_legacy_module_backward_hook_matches_pytorch(fn):
    same(fn)


def test_legacy_hook_over_several_nodes_refuses_replacement():
    lin = dg.nn.Linear(2, 2)
    lin.register_backward_hook(lambda mod, gi, go: gi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        out = lin(dg.ones(1, 2, requires_grad=True) * 1).sum()
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        out.backward()


# ---------------------------------------------------------------- saved-tensor hook switches

def disable_then_hooks(m):
    with m.autograd.graph.disable_saved_tensors_hooks("no saved-tensor hooks in here"):
        with m.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass


def disable_then_save_on_cpu(m):
    with m.autograd.graph.disable_saved_tensors_hooks("none here"):
        with m.autograd.graph.save_on_cpu():
            pass


def disable_restores(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    with m.autograd.graph.disable_saved_tensors_hooks("none"):
        pass
    with m.autograd.graph.save_on_cpu():
        y = (x.exp() * x).sum()
    y.backward()
    return [round(v, 4) for v in x.grad.tolist()]


@pytest.mark.parametrize("fn", [disable_then_hooks, disable_then_save_on_cpu, disable_restores])
def test_saved_tensor_switches_match_pytorch(fn):
    same(fn)


def test_disable_message_is_pytorchs():
    with dg.autograd.graph.disable_saved_tensors_hooks("my message"):
        with pytest.raises(RuntimeError, match="my message"):
            with dg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass


def increment_version_case(m):
    x = m.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = (y * y).sum()
    before = y._version
    m.autograd.graph.increment_version(y)
    z.backward()
    return before, y._version


def retain_grad_view(m):
    x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    v = y[1:]
    v.retain_grad()
    v.mul_(2)
    (y * m.tensor([1.0, 2.0, 3.0])).sum().backward()
    return lists([v.grad, x.grad]), v.retains_grad, y.retains_grad


@pytest.mark.parametrize("fn", [increment_version_case, retain_grad_view])
def test_version_and_retain_grad_match_pytorch(fn):
    same(fn)


def function_ctx_on_grad_fn(m):
    class Scale(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            ctx.k = k
            ctx.save_for_backward(a)
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    x = m.tensor([1.0, 2.0], requires_grad=True)
    out = Scale.apply(x, 4)
    before = (out.grad_fn.k, out.grad_fn.needs_input_grad, len(out.grad_fn.saved_tensors))
    out.sum().backward()
    after = out.grad_fn.k
    try:
        freed = len(out.grad_fn.saved_tensors)
        freed = f"readable ({freed})"
    except RuntimeError:
        freed = "RuntimeError"
    return before, after, freed, hasattr((x * 2).grad_fn, "k")


def test_function_ctx_on_grad_fn_matches_pytorch():
    same(function_ctx_on_grad_fn)


def accumulate_grad_hooks(m):
    # The gradient accumulator of a parameter, as DDP-style code reaches it.
    p = m.tensor([1.0, 2.0], requires_grad=True)
    acc = p.view_as(p).grad_fn.next_functions[0][0]
    seen = []
    acc.register_hook(lambda gi, go: seen.append(("post", gi, lists(go), p.grad.tolist())))
    acc.register_prehook(lambda go: seen.append(("pre", lists(go), lists([p.grad]))))
    handle = acc.register_prehook(lambda go: (go[0] * 10,))
    (p * 3).sum().backward()
    handle.remove()
    (p * 3).sum().backward()
    return (type(acc).__name__, isinstance(acc, m.autograd.graph.Node), seen, p.grad.tolist())


def test_accumulate_grad_hooks_match_pytorch():
    same(accumulate_grad_hooks)
