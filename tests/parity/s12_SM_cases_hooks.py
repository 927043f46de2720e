"""Cases of the SM sweep (session 12): module hooks.

Forward pre / post hooks (with_kwargs, always_call, prepend, replacing values), full backward
hooks and pre-hooks (what grad_input / grad_output hold, replacements, outputs without
gradient), the global hooks of torch.nn.modules.module, and handle removal.
``text=True``: the error message is compared too (else its class only).
"""

CASES: dict = {}
TEXT: set = set()


def case(name: str, text: bool = False):
    """Register ``program(lib)`` under ``name`` (``text``: compare the error message too)."""

    def register(program):
        CASES[name] = program
        if text:
            TEXT.add(name)
        return program

    return register


def _lin(lib):
    m = lib.nn.Linear(3, 2)
    with lib.no_grad():
        m.weight.copy_(lib.arange(6.0).reshape(2, 3) / 10)
        m.bias.fill_(0.5)
    return m


def _x(lib):
    return (lib.arange(6.0).reshape(2, 3) - 2).requires_grad_()


@case("forward-pre-hook-replaces-args")
def _(lib):
    m = _lin(lib)
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    return m(_x(lib))


@case("forward-pre-hook-returns-single")
def _(lib):
    m = _lin(lib)
    m.register_forward_pre_hook(lambda mod, args: args[0] * 2)
    return m(_x(lib))


@case("forward-pre-hook-with-kwargs")
def _(lib):
    m = _lin(lib)
    seen = []

    def hook(mod, args, kwargs):
        seen.append((len(args), sorted(kwargs)))
        return (), {"input": args[0] + 1}

    m.register_forward_pre_hook(hook, with_kwargs=True)
    return m(_x(lib)), seen


@case("forward-pre-hook-with-kwargs-bad-return", text=True)
def _(lib):
    m = _lin(lib)
    m.register_forward_pre_hook(lambda mod, a, k: a[0], with_kwargs=True)
    m(_x(lib))


@case("forward-hook-replaces-output")
def _(lib):
    m = _lin(lib)
    seen = []

    def hook(mod, args, out):
        seen.append((type(args).__name__, len(args)))
        return out * 0

    m.register_forward_hook(hook)
    return m(_x(lib)), seen


@case("forward-hook-with-kwargs")
def _(lib):
    m = _lin(lib)
    seen = []

    def hook(mod, args, kwargs, out):
        seen.append((len(args), sorted(kwargs)))

    m.register_forward_hook(hook, with_kwargs=True)
    m(input=_x(lib))
    return seen


@case("forward-hook-order-prepend")
def _(lib):
    m = _lin(lib)
    seen = []
    m.register_forward_hook(lambda *a: seen.append("a"))
    m.register_forward_hook(lambda *a: seen.append("b"), prepend=True)
    m.register_forward_pre_hook(lambda *a: seen.append("pa"))
    m.register_forward_pre_hook(lambda *a: seen.append("pb"), prepend=True)
    m.register_forward_hook(lambda *a: seen.append("c"))
    m(_x(lib))
    return seen


@case("forward-hook-always-call")
def _(lib):
    class Bad(lib.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Bad()
    seen = []
    m.register_forward_hook(lambda *a: seen.append("always"), always_call=True)
    m.register_forward_hook(lambda *a: seen.append("normal"))
    try:
        m(lib.ones(1))
    except ValueError:
        seen.append("raised")
    return seen


@case("forward-hook-always-call-pre-hook-raises")
def _(lib):
    m = _lin(lib)
    seen = []

    def bad(*a):
        raise KeyError("pre")

    m.register_forward_pre_hook(bad)
    m.register_forward_hook(lambda *a: seen.append("always"), always_call=True)
    try:
        m(_x(lib))
    except KeyError:
        seen.append("raised")
    return seen


@case("hook-handle-remove-twice")
def _(lib):
    m = _lin(lib)
    seen = []
    h = m.register_forward_hook(lambda *a: seen.append(1))
    m(_x(lib))
    h.remove()
    h.remove()
    m(_x(lib))
    return seen, type(h).__name__, isinstance(h.id, int)


@case("hook-handle-context-manager")
def _(lib):
    m = _lin(lib)
    seen = []
    with m.register_forward_hook(lambda *a: seen.append(1)):
        m(_x(lib))
    m(_x(lib))
    return seen


@case("hook-remove-during-forward")
def _(lib):
    m = _lin(lib)
    seen = []
    handles = []

    def first(*a):
        seen.append("first")
        handles[1].remove()

    handles.append(m.register_forward_hook(first))
    handles.append(m.register_forward_hook(lambda *a: seen.append("second")))
    m(_x(lib))
    return seen


@case("hook-dicts-visible")
def _(lib):
    m = _lin(lib)
    m.register_forward_hook(lambda *a: None)
    m.register_forward_pre_hook(lambda *a: None)
    return len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)


@case("full-backward-hook-contents")
def _(lib):
    m = _lin(lib)
    seen = []

    def hook(mod, grad_input, grad_output):
        seen.append(
            ([g if g is None else g.clone() for g in grad_input], [g.clone() for g in grad_output])
        )

    m.register_full_backward_hook(hook)
    x = _x(lib)
    (m(x) * lib.tensor([1.0, 3.0])).sum().backward()
    return seen, x.grad


@case("full-backward-hook-no-input-grad")
def _(lib):
    m = _lin(lib)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, [g.shape for g in go])))
    x = lib.ones(2, 3)
    m(x).sum().backward()
    return seen


@case("full-backward-hook-replaces-grad-input")
def _(lib):
    m = _lin(lib)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 10,))
    x = _x(lib)
    m(x).sum().backward()
    return x.grad, m.weight.grad


@case("full-backward-hook-bad-count", text=True)
def _(lib):
    m = _lin(lib)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    x = _x(lib)
    m(x).sum().backward()


@case("full-backward-pre-hook")
def _(lib):
    m = _lin(lib)
    seen = []

    def pre(mod, grad_output):
        seen.append(grad_output[0].clone())
        return (grad_output[0] * 2,)

    m.register_full_backward_pre_hook(pre)
    x = _x(lib)
    m(x).sum().backward()
    return seen, x.grad, m.bias.grad


@case("full-backward-hook-multi-input")
def _(lib):
    class Two(lib.nn.Module):
        def forward(self, a, b, k=3):
            return a * b * k, a + b

    m = Two()
    seen = []
    m.register_full_backward_hook(
        lambda mod, gi, go: seen.append(
            (
                [g if g is None else g.clone() for g in gi],
                [g if g is None else g.clone() for g in go],
            )
        )
    )
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([3.0, 4.0])
    p, q = m(a, b)
    p.sum().backward()
    return seen, a.grad


@case("full-backward-hook-inplace-output", text=True)
def _(lib):
    m = lib.nn.ReLU(inplace=True)
    m.register_full_backward_hook(lambda *a: None)
    x = lib.ones(2, requires_grad=True) * 1
    return m(x)


@case("full-backward-hook-output-not-requiring-grad")
def _(lib):
    m = _lin(lib).requires_grad_(False)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(1))
    y = m(lib.ones(2, 3))
    return y.requires_grad, seen


@case("backward-hook-mixing-error", text=True)
def _(lib):
    m = _lin(lib)
    m.register_full_backward_hook(lambda *a: None)
    m.register_backward_hook(lambda *a: None)
    m(_x(lib))


@case("global-forward-hook")
def _(lib):
    seen = []
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")
    h = mm.register_module_forward_hook(
        lambda mod, args, out: seen.append(("post", type(mod).__name__))
    )
    h2 = mm.register_module_forward_pre_hook(
        lambda mod, args: seen.append(("pre", type(mod).__name__))
    )
    try:
        m = lib.nn.Sequential(_lin(lib), lib.nn.ReLU())
        m(_x(lib))
    finally:
        h.remove()
        h2.remove()
    m(_x(lib))
    return seen


@case("global-forward-hook-replaces")
def _(lib):
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")
    h = mm.register_module_forward_hook(lambda mod, args, out: out + 1)
    try:
        return _lin(lib)(_x(lib))
    finally:
        h.remove()


@case("global-forward-hook-always-call")
def _(lib):
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")
    seen = []
    h = mm.register_module_forward_hook(lambda *a: seen.append(1), always_call=True)

    class Bad(lib.nn.Module):
        def forward(self, x):
            raise ValueError

    try:
        Bad()(lib.ones(1))
    except ValueError:
        pass
    finally:
        h.remove()
    return seen


@case("global-full-backward-hook")
def _(lib):
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")
    seen = []
    h = mm.register_module_full_backward_hook(
        lambda mod, gi, go: seen.append((type(mod).__name__, len(gi), len(go)))
    )
    h2 = mm.register_module_full_backward_pre_hook(
        lambda mod, go: seen.append(("pre", type(mod).__name__))
    )
    try:
        m = lib.nn.Sequential(_lin(lib), lib.nn.Tanh())
        m(_x(lib)).sum().backward()
    finally:
        h.remove()
        h2.remove()
    return seen


@case("global-register-buffer-hook")
def _(lib):
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")
    seen = []
    h = mm.register_module_parameter_registration_hook(
        lambda mod, name, p: seen.append(("p", name))
    )
    h2 = mm.register_module_buffer_registration_hook(lambda mod, name, b: seen.append(("b", name)))
    h3 = mm.register_module_module_registration_hook(lambda mod, name, c: seen.append(("m", name)))
    try:
        lib.nn.Sequential(lib.nn.BatchNorm1d(2))
    finally:
        h.remove()
        h2.remove()
        h3.remove()
    return seen


@case("forward-hook-on-kwargs-call-without-with-kwargs")
def _(lib):
    m = _lin(lib)
    seen = []
    m.register_forward_pre_hook(lambda mod, args: seen.append(len(args)))
    m.register_forward_hook(lambda mod, args, out: seen.append(len(args)))
    m(input=_x(lib))
    return seen


@case("hooks-survive-deepcopy")
def _(lib):
    import copy

    m = _lin(lib)
    seen = []
    m.register_forward_hook(lambda *a: seen.append(1))
    copy.deepcopy(m)(_x(lib))
    return seen


@case("hooks-state-dict-unaffected")
def _(lib):
    m = _lin(lib)
    m.register_forward_hook(lambda *a: None)
    return list(m.state_dict()), repr(m)


@case("backward-hook-on-sequential-child")
def _(lib):
    seen = []
    m = lib.nn.Sequential(_lin(lib), lib.nn.Tanh(), lib.nn.Linear(2, 1))
    m[1].register_full_backward_hook(lambda mod, gi, go: seen.append((gi[0].shape, go[0].shape)))
    m(_x(lib)).sum().backward()
    return seen


@case("full-backward-hook-tuple-input-grads-none")
def _(lib):
    m = _lin(lib)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    m(_x(lib).detach()).sum().backward()
    return seen


@case("module-register-forward-hook-handle-extra-dict")
def _(lib):
    m = _lin(lib)
    h = m.register_forward_hook(lambda *a: None, with_kwargs=True, always_call=True)
    n = (len(m._forward_hooks_with_kwargs), len(m._forward_hooks_always_called))
    h.remove()
    return n, (len(m._forward_hooks_with_kwargs), len(m._forward_hooks_always_called))


@case("full-backward-hook-output-without-grad")
def _(lib):
    class Two(lib.nn.Module):
        def forward(self, a):
            return a * 2, a.detach() + 1, 3

    m = Two()
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", go)))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    p, q, k = m(a)
    p.sum().backward()
    return seen, q.requires_grad, k, a.grad


@case("full-backward-hook-unused-input")
def _(lib):
    class Two(lib.nn.Module):
        def forward(self, a, b):
            return a * 2

    m = Two()
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([1.0, 2.0], requires_grad=True)
    m(a, b).sum().backward()
    return seen, b.grad


@case("full-backward-hook-keeps-memory-and-version")
def _(lib):
    m = lib.nn.Identity()
    m.register_full_backward_hook(lambda *a: None)
    x = lib.tensor([1.0, 2.0], requires_grad=True) * 1
    y = m(x)
    same = y.data_ptr() == x.data_ptr()
    y.mul_(2)
    return same, x, x._version


@case("full-backward-hook-dict-output")
def _(lib):
    class D(lib.nn.Module):
        def forward(self, a):
            return {"y": a * 2}

    m = D()
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(1))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    m(a)["y"].sum().backward()
    return seen, a.grad


@case("full-backward-pre-hook-none-for-unused-output")
def _(lib):
    class Two(lib.nn.Module):
        def forward(self, a):
            return a * 2, a * 3

    m = Two()
    seen = []
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(go))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    m(a)[1].sum().backward()
    return seen, a.grad


@case("global-hooks-order-with-module-hooks")
def _(lib):
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")
    seen = []
    m = _lin(lib)
    m.register_forward_hook(lambda *a: seen.append("own"))
    m.register_forward_pre_hook(lambda *a: seen.append("own-pre"))
    h = mm.register_module_forward_hook(lambda *a: seen.append("global"))
    h2 = mm.register_module_forward_pre_hook(lambda *a: seen.append("global-pre"))
    try:
        m(_x(lib))
    finally:
        h.remove()
        h2.remove()
    m(_x(lib))
    return seen


@case("global-forward-hook-with-kwargs")
def _(lib):
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")
    seen = []
    h = mm.register_module_forward_hook(
        lambda mod, args, kwargs, out: seen.append(sorted(kwargs)), with_kwargs=True
    )
    try:
        _lin(lib)(input=_x(lib))
    finally:
        h.remove()
    return seen


@case("global-registration-hook-replaces")
def _(lib):
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")

    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("b", lib.zeros(2))
            self.c = lib.nn.Buffer(lib.zeros(1))

    h = mm.register_module_buffer_registration_hook(
        lambda mod, name, b: b + 5 if b is not None else None
    )
    try:
        m = M()
    finally:
        h.remove()
    return m.b, m.c, M().b


@case("always-call-hook-raises-too")
def _(lib):
    class Bad(lib.nn.Module):
        def forward(self, x):
            raise ValueError("forward")

    m = Bad()

    def hook(*a):
        raise KeyError("hook")

    m.register_forward_hook(hook, always_call=True)
    try:
        m(lib.ones(1))
    except ValueError:
        return "ValueError"


@case("always-call-forward-hook-raises")
def _(lib):
    m = _lin(lib)
    seen = []

    def bad(*a):
        raise KeyError("first")

    m.register_forward_hook(bad)
    m.register_forward_hook(lambda *a: seen.append("always"), always_call=True)
    try:
        m(_x(lib))
    except KeyError:
        seen.append("raised")
    return seen


@case("lazy-module-hooks-after-materializing")
def _(lib):
    from importlib import import_module

    mm = import_module(lib.__name__ + ".nn.modules.module")
    m = lib.nn.LazyLinear(2)
    m(lib.ones(1, 3))
    seen = []
    h = mm.register_module_forward_hook(lambda *a: seen.append("global"))
    try:
        m(lib.ones(1, 3))
    finally:
        h.remove()
    m.register_forward_hook(lambda *a: seen.append("own"))
    m(lib.ones(1, 3))
    return seen, type(m).__name__


# Integer, mixed-dtype and strided inputs.


@case("full-backward-hook-int-and-float-inputs")
def _(lib):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = lib.nn.Embedding(4, 2)

        def forward(self, idx, scale):
            return self.emb(idx) * scale

    m = M()
    seen = []
    m.register_full_backward_hook(
        lambda mod, gi, go: seen.append(
            [None if g is None else (str(g.dtype), tuple(g.shape)) for g in gi]
        )
    )
    s = lib.tensor([2.0, 3.0], requires_grad=True)
    m(lib.tensor([1, 3]), s).sum().backward()
    return seen


@case("full-backward-hook-embedding-only-int")
def _(lib):
    m = lib.nn.Embedding(4, 2)
    seen = []
    m.register_full_backward_hook(
        lambda mod, gi, go: seen.append((gi, [tuple(g.shape) for g in go]))
    )
    m(lib.tensor([1, 3])).sum().backward()
    return seen, m.weight.grad.shape


@case("full-backward-hook-noncontiguous-input")
def _(lib):
    m = lib.nn.Linear(2, 3)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi[0].shape, gi[0].stride())))
    x = lib.arange(6.0).reshape(2, 3).t().requires_grad_()
    m(x).sum().backward()
    return seen, x.grad.shape


@case("full-backward-hook-double-input-float32-module")
def _(lib):
    class M(lib.nn.Module):
        def forward(self, a, b):
            return a * 2 + b

    m = M()
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append([str(g.dtype) for g in gi]))
    a = lib.ones(2, dtype=lib.float64, requires_grad=True)
    b = lib.ones(2, requires_grad=True)
    m(a, b).sum().backward()
    return seen, a.grad, b.grad


@case("full-backward-hook-list-and-namedtuple-outputs")
def _(lib):
    import collections

    pair = collections.namedtuple("Pair", "a b")

    class AsList(lib.nn.Module):
        def forward(self, a):
            return [a * 2]

    class AsPair(lib.nn.Module):
        def forward(self, a):
            return pair(a * 2, a * 3)

    seen = []
    out = []
    for kind in (AsList, AsPair):
        m = kind()
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(len(go)))
        a = lib.ones(2, requires_grad=True)
        result = m(a)
        result[0].sum().backward()
        out.append((type(result).__name__, a.grad))
    return seen, out
