"""Cases of the SM sweep (session 12): the nn.Module API, one program per behaviour.

Each case is ``program(lib)`` written against PyTorch's API and run on both libraries by
s12_SM_harness.observe: attribute registration (__setattr__ / __delattr__ / register_* and
their errors), conversions (to / half / double, complex), requires_grad_ / zero_grad / train,
get_submodule / get_parameter / get_buffer, __dir__, copies, and the containers (Sequential,
ModuleList, ModuleDict, ParameterList, ParameterDict: slicing, insertion, +, *, deletion).
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


def _net(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.bn = nn.BatchNorm1d(2)
            self.register_buffer("scale", lib.ones(2))
            self.register_buffer("cache", lib.zeros(2), persistent=False)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.fc(x))) * self.scale

    return Net()


@case("setattr-plain-tensor-on-parameter")
def _(lib):
    m = lib.nn.Linear(2, 2)
    m.weight = lib.zeros(2, 2)


@case("setattr-none-on-parameter")
def _(lib):
    m = lib.nn.Linear(2, 2)
    m.bias = None
    return [n for n, _ in m.named_parameters()], m.bias, list(m.state_dict())


@case("setattr-parameter-over-buffer", text=True)
def _(lib):
    m = lib.nn.BatchNorm1d(2)
    m.running_mean = lib.nn.Parameter(lib.zeros(2))


@case("setattr-tensor-over-buffer")
def _(lib):
    m = lib.nn.BatchNorm1d(2)
    m.running_mean = lib.full((2,), 3.0)
    return [n for n, _ in m.named_buffers()], m.state_dict()["running_mean"]


@case("setattr-int-over-buffer")
def _(lib):
    m = lib.nn.BatchNorm1d(2)
    m.running_mean = 3


@case("setattr-module-over-parameter")
def _(lib):
    m = lib.nn.Linear(2, 2)
    m.weight = lib.nn.ReLU()


@case("setattr-int-over-module")
def _(lib):
    m = lib.nn.Sequential(lib.nn.ReLU())
    setattr(m, "0", 3)


@case("setattr-none-over-module")
def _(lib):
    m = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
    setattr(m, "0", None)
    return list(m._modules), repr(m), len(m)


@case("setattr-parameter-before-init", text=True)
def _(lib):
    class M(lib.nn.Module):
        def __init__(self):
            self.w = lib.nn.Parameter(lib.zeros(1))
            super().__init__()

    M()


@case("setattr-module-before-init", text=True)
def _(lib):
    class M(lib.nn.Module):
        def __init__(self):
            self.l = lib.nn.ReLU()
            super().__init__()

    M()


@case("setattr-parameter-shadows-plain-attr")
def _(lib):
    m = lib.nn.Module()
    m.x = 3
    m.x = lib.nn.Parameter(lib.ones(1))
    return [n for n, _ in m.named_parameters()], "x" in m.__dict__


@case("setattr-plain-attr-then-module")
def _(lib):
    m = lib.nn.Module()
    m.x = 3
    m.x = lib.nn.ReLU()
    return list(m._modules), "x" in m.__dict__


@case("delattr-parameter-buffer-module")
def _(lib):
    m = _net(lib)
    del m.fc.bias
    del m.scale
    del m.act
    return list(m.state_dict()), [n for n, _ in m.named_modules()], hasattr(m, "scale")


@case("delattr-nonpersistent-then-reregister")
def _(lib):
    m = _net(lib)
    del m.cache
    m.register_buffer("cache", lib.ones(1))
    return list(m.state_dict())


@case("delattr-missing", text=True)
def _(lib):
    m = lib.nn.Linear(1, 1)
    del m.nothing


@case("getattr-missing", text=True)
def _(lib):
    return lib.nn.Linear(1, 1).nothing


@case("register-parameter-dot")
def _(lib):
    lib.nn.Module().register_parameter("a.b", lib.nn.Parameter(lib.ones(1)))


@case("register-parameter-empty", text=True)
def _(lib):
    lib.nn.Module().register_parameter("", lib.nn.Parameter(lib.ones(1)))


@case("register-parameter-existing-attr", text=True)
def _(lib):
    m = lib.nn.Module()
    m.x = 1
    m.register_parameter("x", lib.nn.Parameter(lib.ones(1)))


@case("register-parameter-plain-tensor")
def _(lib):
    lib.nn.Module().register_parameter("x", lib.ones(1))


@case("register-parameter-nonleaf", text=True)
def _(lib):
    w = lib.ones(1, requires_grad=True)
    p = lib.nn.Parameter(w * 2)
    lib.nn.Module().register_parameter("x", p)
    return p.is_leaf


@case("register-parameter-int-name")
def _(lib):
    lib.nn.Module().register_parameter(1, lib.nn.Parameter(lib.ones(1)))


@case("register-parameter-none")
def _(lib):
    m = lib.nn.Module()
    m.register_parameter("x", None)
    return m.x, list(m.named_parameters()), list(m.state_dict()), "x" in dir(m)


@case("register-buffer-dot")
def _(lib):
    lib.nn.Module().register_buffer("a.b", lib.ones(1))


@case("register-buffer-empty", text=True)
def _(lib):
    lib.nn.Module().register_buffer("", lib.ones(1))


@case("register-buffer-existing-param", text=True)
def _(lib):
    lib.nn.Linear(1, 1).register_buffer("weight", lib.ones(1))


@case("register-buffer-existing-attr", text=True)
def _(lib):
    m = lib.nn.Module()
    m.x = 1
    m.register_buffer("x", lib.ones(1))


@case("register-buffer-not-tensor")
def _(lib):
    lib.nn.Module().register_buffer("x", 3)


@case("register-buffer-none")
def _(lib):
    m = lib.nn.Module()
    m.register_buffer("x", None)
    return m.x, list(m.named_buffers()), list(m.state_dict())


@case("register-buffer-before-init", text=True)
def _(lib):
    class M(lib.nn.Module):
        def __init__(self):
            self.register_buffer("x", lib.ones(1))

    M()


@case("register-buffer-parameter")
def _(lib):
    m = lib.nn.Module()
    m.register_buffer("x", lib.nn.Parameter(lib.ones(1)))
    return [n for n, _ in m.named_buffers()], [n for n, _ in m.named_parameters()]


@case("add-module-dot")
def _(lib):
    lib.nn.Module().add_module("a.b", lib.nn.ReLU())


@case("add-module-empty", text=True)
def _(lib):
    lib.nn.Module().add_module("", lib.nn.ReLU())


@case("add-module-not-module", text=True)
def _(lib):
    lib.nn.Module().add_module("a", 3)


@case("add-module-existing-attr", text=True)
def _(lib):
    m = lib.nn.Module()
    m.a = 1
    m.add_module("a", lib.nn.ReLU())


@case("add-module-none")
def _(lib):
    m = lib.nn.Module()
    m.add_module("a", None)
    return list(m._modules), m.a, list(m.children())


@case("register-module-alias")
def _(lib):
    m = lib.nn.Module()
    m.register_module("a", lib.nn.ReLU())
    return repr(m)


@case("apply-order")
def _(lib):
    seen = []
    _net(lib).apply(lambda m: seen.append(type(m).__name__))
    return seen


@case("apply-returns-self")
def _(lib):
    m = _net(lib)
    return m.apply(lambda x: None) is m


@case("to-double")
def _(lib):
    m = _net(lib).to(lib.float64)
    return [(k, str(v.dtype)) for k, v in m.state_dict().items()], str(m.cache.dtype)


@case("half-double-float")
def _(lib):
    m = _net(lib)
    out = []
    for f in ("half", "double", "float", "bfloat16"):
        getattr(m, f)()
        out.append([(k, str(v.dtype)) for k, v in m.state_dict().items()])
    return out


@case("to-int-dtype")
def _(lib):
    _net(lib).to(lib.int32)


@case("to-complex-dtype")
def _(lib):
    m = lib.nn.Linear(2, 2).to(lib.complex64)
    return [str(p.dtype) for p in m.parameters()]


@case("to-keeps-parameter-identity")
def _(lib):
    m = lib.nn.Linear(2, 2)
    w = m.weight
    m.double()
    return (
        m.weight is w,
        isinstance(m.weight, lib.nn.Parameter),
        m.weight.requires_grad,
        m.weight.is_leaf,
    )


@case("to-grad-cast")
def _(lib):
    m = lib.nn.Linear(2, 2)
    m(lib.ones(1, 2)).sum().backward()
    m.double()
    return str(m.weight.grad.dtype)


@case("to-tensor-arg")
def _(lib):
    m = lib.nn.Linear(2, 2).to(lib.zeros(1, dtype=lib.float64))
    return str(m.weight.dtype)


@case("to-int-buffer-untouched")
def _(lib):
    m = lib.nn.BatchNorm1d(2).double()
    return str(m.num_batches_tracked.dtype), str(m.running_mean.dtype)


@case("requires-grad-false")
def _(lib):
    m = _net(lib).requires_grad_(False)
    return [(n, p.requires_grad) for n, p in m.named_parameters()], [
        (n, b.requires_grad) for n, b in m.named_buffers()
    ]


@case("zero-grad-set-to-none")
def _(lib):
    m = lib.nn.Linear(2, 2)
    m(lib.ones(1, 2)).sum().backward()
    m.zero_grad()
    a = m.weight.grad
    m(lib.ones(1, 2)).sum().backward()
    m.zero_grad(set_to_none=False)
    return a, m.weight.grad


@case("zero-grad-nonleaf-grad-detached")
def _(lib):
    m = lib.nn.Linear(2, 2)
    m(lib.ones(1, 2)).sum().backward(create_graph=True)
    g = m.weight.grad
    m.zero_grad(set_to_none=False)
    return g.requires_grad, m.weight.grad.requires_grad, m.weight.grad.grad_fn is None


@case("train-eval-recursion")
def _(lib):
    m = _net(lib)
    m.eval()
    a = [x.training for x in m.modules()]
    m.fc.train()
    b = [x.training for x in m.modules()]
    return a, b, m.train(False) is m


@case("train-non-bool")
def _(lib):
    lib.nn.Linear(1, 1).train("yes")


@case("get-submodule")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Sequential(lib.nn.Linear(1, 2)))
    return repr(m.get_submodule("0.0")), m.get_submodule("") is m


@case("get-submodule-missing")
def _(lib):
    lib.nn.Sequential(lib.nn.Linear(1, 2)).get_submodule("0.x")


@case("get-submodule-not-module")
def _(lib):
    lib.nn.Sequential(lib.nn.Linear(1, 2)).get_submodule("0.weight")


@case("get-parameter")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Linear(1, 2))
    return m.get_parameter("0.bias").shape


@case("get-parameter-missing", text=True)
def _(lib):
    lib.nn.Sequential(lib.nn.Linear(1, 2)).get_parameter("0.nothing")


@case("get-parameter-is-buffer", text=True)
def _(lib):
    lib.nn.Sequential(lib.nn.BatchNorm1d(2)).get_parameter("0.running_mean")


@case("get-parameter-bad-module")
def _(lib):
    lib.nn.Sequential(lib.nn.Linear(1, 2)).get_parameter("1.weight")


@case("get-buffer")
def _(lib):
    return lib.nn.Sequential(lib.nn.BatchNorm1d(2)).get_buffer("0.num_batches_tracked")


@case("get-buffer-is-param", text=True)
def _(lib):
    lib.nn.Sequential(lib.nn.BatchNorm1d(2)).get_buffer("0.weight")


@case("get-buffer-missing", text=True)
def _(lib):
    lib.nn.Sequential(lib.nn.BatchNorm1d(2)).get_buffer("0.zzz")


@case("set-submodule")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Sequential(lib.nn.Linear(1, 2)))
    m.set_submodule("0.0", lib.nn.ReLU())
    return repr(m)


@case("set-submodule-missing", text=True)
def _(lib):
    m = lib.nn.Sequential(lib.nn.Sequential(lib.nn.Linear(1, 2)))
    m.set_submodule("0.1", lib.nn.ReLU())


@case("dir-module")
def _(lib):
    d = dir(_net(lib))
    return [
        n for n in ("fc", "bn", "scale", "cache", "act", "forward", "training") if n in d
    ], d == sorted(d)


@case("dir-public-names")
def _(lib):
    # (the private registries' names differ: deltagrad keeps hooks in one object)
    m = _net(lib)
    return sorted(n for n in set(dir(m)) - set(dir(lib.nn.Module)) if not n.startswith("_"))


@case("share-memory")
def _(lib):
    m = lib.nn.Linear(1, 1)
    return m.share_memory() is m


@case("modules-dedupe")
def _(lib):
    l = lib.nn.Linear(1, 1)
    m = lib.nn.Sequential(l, l, lib.nn.ReLU())
    return (
        [n for n, _ in m.named_modules()],
        [n for n, _ in m.named_modules(remove_duplicate=False)],
        [n for n, _ in m.named_parameters()],
        [n for n, _ in m.named_parameters(remove_duplicate=False)],
        list(m.state_dict()),
        len(list(m.parameters())),
    )


@case("shared-parameter-state-dict")
def _(lib):
    a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
    b.weight = a.weight
    m = lib.nn.ModuleList([a, b])
    return list(m.state_dict()), [n for n, _ in m.named_parameters()]


@case("named-parameters-prefix")
def _(lib):
    return [n for n, _ in _net(lib).named_parameters(prefix="model")], [
        n for n, _ in _net(lib).named_buffers(prefix="m", recurse=False)
    ]


@case("named-modules-prefix-memo")
def _(lib):
    return [n for n, _ in _net(lib).named_modules(prefix="root")]


@case("state-dict-prefix-keep-vars")
def _(lib):
    sd = _net(lib).state_dict(prefix="p.", keep_vars=True)
    return list(sd), [v.requires_grad for v in sd.values()]


@case("state-dict-destination")
def _(lib):
    import collections

    dest = collections.OrderedDict(x=1)
    out = _net(lib).state_dict(destination=dest)
    return out is dest, list(out), type(out).__name__


@case("state-dict-positional", text=True)
def _(lib):
    return list(_net(lib).state_dict(None, "q."))


@case("state-dict-metadata")
def _(lib):
    sd = _net(lib).state_dict()
    return dict(sd._metadata)


@case("state-dict-detached")
def _(lib):
    m = lib.nn.Linear(2, 2)
    sd = m.state_dict()
    sd["weight"].add_(1)
    return m.weight.sum().item() == sd["weight"].sum().item(), sd["weight"].requires_grad


@case("extra-state")
def _(lib):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.v = 1

        def get_extra_state(self):
            return {"v": self.v}

        def set_extra_state(self, state):
            self.v = state["v"] * 10

    a = lib.nn.Sequential(M())
    sd = a.state_dict()
    b = lib.nn.Sequential(M())
    r = b.load_state_dict(sd)
    return list(sd), sd["0._extra_state"], b[0].v, repr(r)


@case("extra-state-missing-key")
def _(lib):
    class M(lib.nn.Module):
        def get_extra_state(self):
            return 1

        def set_extra_state(self, state):
            pass

    return repr(M().load_state_dict({}, strict=False))


@case("parameter-repr")
def _(lib):
    return repr(lib.nn.Parameter(lib.ones(2))), repr(
        lib.nn.Parameter(lib.ones(2), requires_grad=False)
    )


@case("parameter-of-int-tensor")
def _(lib):
    lib.nn.Parameter(lib.ones(2, dtype=lib.int64))


@case("parameter-int-no-grad")
def _(lib):
    p = lib.nn.Parameter(lib.ones(2, dtype=lib.int64), requires_grad=False)
    return p, isinstance(p, lib.nn.Parameter)


@case("parameter-default")
def _(lib):
    return lib.nn.Parameter()


@case("parameter-shares-data")
def _(lib):
    t = lib.zeros(2)
    p = lib.nn.Parameter(t)
    p.data.add_(1)
    return t


@case("parameter-deepcopy")
def _(lib):
    import copy

    p = lib.nn.Parameter(lib.ones(2))
    q = copy.deepcopy(p)
    return isinstance(q, lib.nn.Parameter), q.requires_grad, q is p


@case("module-deepcopy")
def _(lib):
    import copy

    m = _net(lib)
    m2 = copy.deepcopy(m)
    return (
        [isinstance(p, lib.nn.Parameter) for p in m2.parameters()],
        m2.fc.weight is m.fc.weight,
        list(m2.state_dict()),
    )


@case("module-pickle-roundtrip")
def _(lib):
    import pickle

    m = _net(lib)
    m2 = pickle.loads(pickle.dumps(m))
    return (
        list(m2.state_dict()),
        [isinstance(p, lib.nn.Parameter) for p in m2.parameters()],
        repr(m2),
    )


@case("parameters-to-vector")
def _(lib):
    m = lib.nn.Linear(2, 2)
    v = lib.nn.utils.parameters_to_vector(m.parameters())
    lib.nn.utils.vector_to_parameters(v * 0 + 1, m.parameters())
    return v.shape, m.weight


@case("sequential-slicing")
def _(lib):
    nn = lib.nn
    s = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.ELU())
    return repr(s[1:3]), type(s[1:3]).__name__, repr(s[::-1]), repr(s[-1]), len(s[5:])


@case("sequential-ordered-dict")
def _(lib):
    import collections

    nn = lib.nn
    s = nn.Sequential(collections.OrderedDict([("a", nn.ReLU()), ("b", nn.Tanh())]))
    return repr(s), repr(s[1:]), repr(s[0])


@case("sequential-index-error")
def _(lib):
    lib.nn.Sequential(lib.nn.ReLU())[3]


@case("sequential-neg-index-error")
def _(lib):
    lib.nn.Sequential(lib.nn.ReLU())[-2]


@case("sequential-del-slice")
def _(lib):
    nn = lib.nn
    s = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.ELU())
    del s[1:3]
    return repr(s), list(s._modules)


@case("sequential-del-index")
def _(lib):
    nn = lib.nn
    s = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid())
    del s[0]
    return list(s._modules), repr(s)


@case("sequential-add")
def _(lib):
    nn = lib.nn
    a = nn.Sequential(nn.ReLU())
    b = nn.Sequential(nn.Tanh())
    c = a + b
    return repr(c), c is a, len(a)


@case("sequential-add-nonseq")
def _(lib):
    lib.nn.Sequential(lib.nn.ReLU()) + lib.nn.Tanh()


@case("sequential-iadd")
def _(lib):
    nn = lib.nn
    a = nn.Sequential(nn.ReLU())
    b = a
    a += nn.Sequential(nn.Tanh())
    return repr(a), a is b


@case("sequential-mul")
def _(lib):
    nn = lib.nn
    a = nn.Sequential(nn.ReLU(), nn.Tanh())
    c = a * 2
    return repr(c), c[0] is c[2]


@case("sequential-rmul-imul")
def _(lib):
    nn = lib.nn
    a = nn.Sequential(nn.ReLU())
    b = 2 * a
    a *= 3
    return repr(b), repr(a)


@case("sequential-mul-bad")
def _(lib):
    lib.nn.Sequential(lib.nn.ReLU()) * 0


@case("sequential-insert")
def _(lib):
    nn = lib.nn
    s = nn.Sequential(nn.ReLU(), nn.Tanh())
    s.insert(1, nn.Sigmoid())
    s.insert(-1, nn.ELU())
    s.insert(len(s), nn.GELU())
    return repr(s)


@case("sequential-insert-bad", text=True)
def _(lib):
    nn = lib.nn
    nn.Sequential(nn.ReLU()).insert(5, nn.Tanh())


@case("sequential-insert-not-module")
def _(lib):
    lib.nn.Sequential(lib.nn.ReLU()).insert(0, 3)


@case("sequential-append-extend-pop")
def _(lib):
    nn = lib.nn
    s = nn.Sequential(nn.ReLU())
    r = s.append(nn.Tanh())
    s.extend([nn.Sigmoid(), nn.ELU()])
    p = s.pop(1)
    return repr(s), r is s, type(p).__name__, list(s._modules)


@case("sequential-setitem")
def _(lib):
    nn = lib.nn
    s = nn.Sequential(nn.ReLU(), nn.Tanh())
    s[-1] = nn.Sigmoid()
    return repr(s)


@case("sequential-setitem-bad")
def _(lib):
    nn = lib.nn
    s = nn.Sequential(nn.ReLU(), nn.Tanh())
    s[2] = nn.Sigmoid()


@case("sequential-forward-empty")
def _(lib):
    return lib.nn.Sequential()(lib.ones(2))


@case("sequential-dir-iter")
def _(lib):
    nn = lib.nn
    s = nn.Sequential(nn.ReLU(), nn.Tanh())
    return [type(x).__name__ for x in s], [type(x).__name__ for x in reversed(list(s))]


@case("modulelist-ops")
def _(lib):
    nn = lib.nn
    m = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.Sigmoid()])
    a = repr(m[1:])
    t = type(m[1:]).__name__
    m.insert(0, nn.ELU())
    m.insert(-1, nn.GELU())
    m.append(nn.SELU())
    m.extend([nn.Mish()])
    m2 = m + nn.ModuleList([nn.CELU()])
    del m[0]
    del m[::2]
    m += [nn.Softsign()]
    return a, t, repr(m), list(m._modules), repr(m2), type(m2).__name__


@case("modulelist-pop")
def _(lib):
    nn = lib.nn
    m = nn.ModuleList([nn.ReLU(), nn.Tanh(), nn.Sigmoid()])
    p = m.pop(0)
    return type(p).__name__, list(m._modules), repr(m)


@case("modulelist-index-error")
def _(lib):
    lib.nn.ModuleList([lib.nn.ReLU()])[4]


@case("modulelist-setitem-neg")
def _(lib):
    nn = lib.nn
    m = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    m[-2] = nn.ELU()
    return repr(m)


@case("modulelist-extend-not-iterable")
def _(lib):
    lib.nn.ModuleList().extend(lib.nn.ReLU())


@case("modulelist-repr-repeated")
def _(lib):
    nn = lib.nn
    return repr(
        nn.ModuleList(
            [nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()] + [nn.Linear(2, 2) for _ in range(2)]
        )
    )


@case("modulelist-forward", text=True)
def _(lib):
    lib.nn.ModuleList([lib.nn.ReLU()])(lib.ones(1))


@case("moduledict-ops")
def _(lib):
    nn = lib.nn
    d = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    d["c"] = nn.Sigmoid()
    d.update([("d", nn.ELU())])
    d.update({"a": nn.GELU()})
    p = d.pop("b")
    return (
        list(d.keys()),
        [type(v).__name__ for v in d.values()],
        type(p).__name__,
        "a" in d,
        repr(d),
    )


@case("moduledict-update-bad")
def _(lib):
    lib.nn.ModuleDict().update(3)


@case("moduledict-update-bad-pair")
def _(lib):
    lib.nn.ModuleDict().update([("a", lib.nn.ReLU(), 3)])


@case("moduledict-missing", text=True)
def _(lib):
    lib.nn.ModuleDict()["x"]


@case("moduledict-clear")
def _(lib):
    nn = lib.nn
    d = nn.ModuleDict({"b": nn.ReLU()})
    d.clear()
    return len(d), list(d._modules)


@case("moduledict-from-moduledict-order")
def _(lib):
    nn = lib.nn
    d = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Tanh()})
    return list(nn.ModuleDict(d).keys())


@case("parameterlist-ops")
def _(lib):
    nn = lib.nn
    pl = nn.ParameterList([nn.Parameter(lib.ones(2)), lib.zeros(3)])
    pl.append(lib.ones(1))
    pl.extend([nn.Parameter(lib.zeros(2, 2))])
    pl += [lib.ones(4)]
    return (
        [type(p).__name__ == "Parameter" or isinstance(p, nn.Parameter) for p in pl],
        [n for n, _ in pl.named_parameters()],
        repr(pl),
        len(pl),
        pl[1:].__class__.__name__,
        list(pl.state_dict()),
    )


@case("parameterlist-non-tensor")
def _(lib):
    nn = lib.nn
    pl = nn.ParameterList([3, "x", nn.Parameter(lib.ones(1))])
    return [n for n, _ in pl.named_parameters()], repr(pl), pl[0]


@case("parameterlist-setitem")
def _(lib):
    nn = lib.nn
    pl = nn.ParameterList([nn.Parameter(lib.ones(2))])
    pl[0] = lib.zeros(3)
    return (
        isinstance(pl[0], nn.Parameter),
        pl[0].requires_grad,
        [n for n, _ in pl.named_parameters()],
    )


@case("parameterlist-index-error", text=True)
def _(lib):
    lib.nn.ParameterList()[0]


@case("parameterdict-ops")
def _(lib):
    nn = lib.nn
    pd = nn.ParameterDict({"b": nn.Parameter(lib.ones(2)), "a": lib.zeros(1)})
    pd["c"] = lib.ones(3)
    pd.update({"d": nn.Parameter(lib.ones(1))})
    p = pd.pop("b")
    return (
        list(pd.keys()),
        [isinstance(v, nn.Parameter) for v in pd.values()],
        [n for n, _ in pd.named_parameters()],
        repr(pd),
        isinstance(p, nn.Parameter),
        "a" in pd,
        pd.get("zz", 5),
        list(pd.state_dict()),
    )


@case("parameterdict-or-copy-fromkeys")
def _(lib):
    nn = lib.nn
    a = nn.ParameterDict({"x": lib.ones(1)})
    b = nn.ParameterDict({"y": lib.zeros(1)})
    c = a | b
    d = a.copy()
    e = a.fromkeys(["k", "l"], lib.ones(2))
    return list(c.keys()), type(c).__name__, list(d.keys()), d["x"] is a["x"], list(e.keys())


@case("parameterdict-missing", text=True)
def _(lib):
    lib.nn.ParameterDict()["x"]


@case("parameterdict-setdefault-popitem")
def _(lib):
    nn = lib.nn
    pd = nn.ParameterDict({"a": lib.ones(1)})
    s = pd.setdefault("b", lib.zeros(2))
    k, v = pd.popitem()
    return isinstance(s, nn.Parameter), k, list(pd.keys())


@case("container-children-registration")
def _(lib):
    nn = lib.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 1)])
            self.ps = nn.ParameterList([nn.Parameter(lib.ones(1))])
            self.pd = nn.ParameterDict({"a": nn.Parameter(lib.ones(1))})

    return list(M().state_dict()), repr(M())


@case("modulelist-insert-negative")
def _(lib):
    nn = lib.nn
    m = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    m.insert(-1, nn.ELU())
    return repr(m)


@case("modulelist-insert-not-module", text=True)
def _(lib):
    lib.nn.ModuleList().insert(0, 3)


@case("modulelist-add-list")
def _(lib):
    nn = lib.nn
    m = nn.ModuleList([nn.ReLU()]) + [nn.Tanh()]
    return type(m).__name__, repr(m)


@case("setattr-module-over-buffer")
def _(lib):
    m = lib.nn.BatchNorm1d(2)
    m.register_buffer("extra", lib.ones(1), persistent=False)
    m.extra = lib.nn.ReLU()
    return (
        list(m.state_dict()),
        [n for n, _ in m.named_buffers()],
        [n for n, _ in m.named_children()],
    )


@case("setattr-parameter-over-module")
def _(lib):
    m = lib.nn.Sequential(lib.nn.ReLU())
    setattr(m, "0", lib.nn.Parameter(lib.ones(1)))
    return list(m.state_dict()), len(m._modules)


@case("setattr-buffer-keeps-persistence")
def _(lib):
    m = lib.nn.Module()
    m.register_buffer("a", lib.zeros(1), persistent=False)
    m.a = lib.ones(1)
    return list(m.state_dict()), m.a


@case("to-complex-then-float")
def _(lib):
    m = lib.nn.Linear(2, 2).to(lib.complex64)
    m.float()
    return [str(p.dtype) for p in m.parameters()]


# Conversions, walks, buffers and loading, continued.


@case("type-method")
def _(lib):
    m = lib.nn.Linear(2, 2).type(lib.float64)
    return str(m.weight.dtype)


@case("bfloat16-method")
def _(lib):
    m = lib.nn.BatchNorm1d(2).bfloat16()
    return [(k, str(v.dtype)) for k, v in m.state_dict().items()]


@case("to-memory-format")
def _(lib):
    m = lib.nn.Conv2d(2, 4, 3).to(memory_format=lib.channels_last)
    return m.weight.stride(), m.bias.stride()


@case("to-device-and-dtype")
def _(lib):
    m = lib.nn.Linear(2, 2).to("cpu", lib.float64)
    return str(m.weight.dtype), str(m.weight.device)


@case("to-bad-arg", text=False)
def _(lib):
    lib.nn.Linear(2, 2).to(3.5)


@case("zero-grad-frozen-param")
def _(lib):
    m = lib.nn.Linear(2, 2)
    m(lib.ones(1, 2)).sum().backward()
    m.weight.requires_grad_(False)
    m.zero_grad(set_to_none=False)
    return m.weight.grad, m.bias.grad


@case("zero-grad-shared")
def _(lib):
    a = lib.nn.Linear(2, 2)
    m = lib.nn.Sequential(a, a)
    m(lib.ones(1, 2)).sum().backward()
    g = m[0].weight.grad.clone()
    m.zero_grad()
    return g, a.weight.grad


@case("modules-iter-after-setattr-none")
def _(lib):
    m = lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh())
    m[0] = lib.nn.ELU()
    return repr(m), [n for n, _ in m.named_modules()]


@case("extra-repr-custom-nested")
def _(lib):
    class Inner(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = lib.nn.Parameter(lib.ones(2))

        def extra_repr(self):
            return "k=3,\nmultiline=True"

    class Outer(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.lst = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2))])
            self.d = lib.nn.ModuleDict({"x": lib.nn.Linear(1, 1)})

    return repr(Outer())


@case("forward-missing", text=True)
def _(lib):
    lib.nn.Module()(lib.ones(1))


@case("call-kwargs-only")
def _(lib):
    class M(lib.nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    return M()(x=lib.ones(2), scale=3.0)


@case("parameters-recurse-false-containers")
def _(lib):
    m = lib.nn.ModuleList([lib.nn.Linear(1, 1)])
    return list(m.parameters(recurse=False)), len(list(m.parameters()))


@case("named-parameters-remove-duplicate-false")
def _(lib):
    a = lib.nn.Linear(2, 2)
    m = lib.nn.ModuleDict({"x": a, "y": a})
    return [n for n, _ in m.named_parameters(remove_duplicate=False)], [
        n for n, _ in m.named_parameters()
    ]


@case("named-buffers-remove-duplicate-false")
def _(lib):
    b = lib.nn.BatchNorm1d(2)
    m = lib.nn.Sequential(b, b)
    return [n for n, _ in m.named_buffers(remove_duplicate=False)], [
        n for n, _ in m.named_buffers()
    ]


@case("buffer-class-persistent")
def _(lib):
    m = lib.nn.Module()
    m.a = lib.nn.Buffer(lib.ones(1), persistent=False)
    m.b = lib.nn.Buffer(lib.ones(1))
    return list(m.state_dict()), [n for n, _ in m.named_buffers()], type(m.a).__name__


@case("get-extra-state-in-children")
def _(lib):
    class E(lib.nn.Module):
        def get_extra_state(self):
            return {"k": 1}

        def set_extra_state(self, s):
            pass

    m = lib.nn.Sequential(lib.nn.Linear(1, 1), E())
    return list(m.state_dict())


@case("register-buffer-persistent-toggle")
def _(lib):
    m = lib.nn.Module()
    m.register_buffer("a", lib.ones(1), persistent=False)
    m.register_buffer("a", lib.ones(1), persistent=True)
    return list(m.state_dict())


@case("module-in-list-attribute-not-registered")
def _(lib):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [lib.nn.Linear(1, 1)]

    return list(M().state_dict()), len(list(M().parameters()))


@case("module-tuple-attribute")
def _(lib):
    m = lib.nn.Module()
    m.t = (lib.nn.Parameter(lib.ones(1)),)
    return list(m.state_dict())


@case("parameter-attribute-access-after-delete", text=True)
def _(lib):
    m = lib.nn.Linear(2, 2)
    del m.weight
    return m.weight


@case("hasattr-deleted-param")
def _(lib):
    m = lib.nn.Linear(2, 2)
    del m.weight
    return hasattr(m, "weight"), [n for n, _ in m.named_parameters()]


@case("requires-grad-module-false-then-forward")
def _(lib):
    m = lib.nn.Linear(2, 2).requires_grad_(False)
    y = m(lib.ones(1, 2))
    return y.requires_grad, y.grad_fn is None


@case("train-returns-and-flags")
def _(lib):
    m = lib.nn.Sequential(lib.nn.Dropout(), lib.nn.Sequential(lib.nn.BatchNorm1d(2)))
    m.eval()
    m[1].train()
    return [(n, x.training) for n, x in m.named_modules()]


@case("apply-fn-init")
def _(lib):
    def init(mod):
        if isinstance(mod, lib.nn.Linear):
            lib.nn.init.constant_(mod.weight, 0.5)

    m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU(), lib.nn.Linear(2, 1))
    m.apply(init)
    return m[2].weight


@case("state-dict-after-half-then-load-float")
def _(lib):
    m = lib.nn.Linear(2, 2).half()
    src = lib.nn.Linear(2, 2)
    m.load_state_dict(src.state_dict())
    return str(m.weight.dtype), lib.allclose(m.weight.float(), src.weight, atol=1e-3)


@case("load-state-dict-keeps-requires-grad")
def _(lib):
    m = lib.nn.Linear(2, 2)
    m.weight.requires_grad_(False)
    m.load_state_dict({"weight": lib.ones(2, 2, requires_grad=True), "bias": lib.zeros(2)})
    return m.weight.requires_grad, m.weight.is_leaf, m.bias.requires_grad


@case("load-state-dict-version-counter")
def _(lib):
    m = lib.nn.Linear(2, 2)
    v = m.weight._version
    m.load_state_dict(lib.nn.Linear(2, 2).state_dict())
    return m.weight._version - v


@case("load-state-dict-under-autograd-saved")
def _(lib):
    m = lib.nn.Linear(2, 2)
    x = lib.ones(1, 2, requires_grad=True)
    y = (m(x) ** 2).sum()
    m.load_state_dict(lib.nn.Linear(2, 2).state_dict())
    y.backward()


@case("sequential-ordered-dict-keys-getattr")
def _(lib):
    import collections

    s = lib.nn.Sequential(
        collections.OrderedDict([("first", lib.nn.ReLU()), ("second", lib.nn.Tanh())])
    )
    del s[0]
    return list(s._modules), type(s.second).__name__ if hasattr(s, "second") else None


@case("moduledict-non-string-key", text=False)
def _(lib):
    lib.nn.ModuleDict({1: lib.nn.ReLU()})


@case("moduledict-dotted-key")
def _(lib):
    lib.nn.ModuleDict({"a.b": lib.nn.ReLU()})


@case("parameterdict-dotted-key")
def _(lib):
    d = lib.nn.ParameterDict({"a.b": lib.ones(1)})
    return list(d.keys()), list(d.state_dict())


@case("parameterlist-repr-mixed")
def _(lib):
    return repr(lib.nn.ParameterList([lib.ones(2, 3), lib.ones(1, dtype=lib.float64), 3]))


@case("parameterdict-repr")
def _(lib):
    return repr(lib.nn.ParameterDict({"a": lib.ones(2, 3), "b": lib.zeros(1, dtype=lib.float64)}))
