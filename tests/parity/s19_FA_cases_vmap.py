"""Cases of session 19's FA sweep: ``torch.func.vmap`` (in_dims / out_dims forms, randomness,
chunk_size, nesting, per-sample gradients), ``functional_call`` and ``stack_module_state``."""

from s19_FA_cases_func import _x, case


@case("vmap-basic")
def _(lib):
    return lib.func.vmap(lib.dot)(_x(lib, 3, 2), _x(lib, 3, 2, seed=1))


@case("vmap-in-dims-none")
def _(lib):
    return lib.func.vmap(lambda x, w: x @ w, in_dims=(0, None))(_x(lib, 4, 3), _x(lib, 3, 2))


@case("vmap-in-dims-1")
def _(lib):
    return lib.func.vmap(lambda x: x.sum(), in_dims=1)(_x(lib, 2, 5))


@case("vmap-in-dims-negative")
def _(lib):
    return lib.func.vmap(lambda x: x * x.sum(), in_dims=-1)(_x(lib, 2, 3))


@case("vmap-out-dims-1")
def _(lib):
    return lib.func.vmap(lambda x: x * 2, out_dims=1)(_x(lib, 4, 3))


@case("vmap-out-dims-negative")
def _(lib):
    return lib.func.vmap(lambda x: x.outer(x), out_dims=-1)(_x(lib, 4, 2))


@case("vmap-out-dims-tuple")
def _(lib):
    return lib.func.vmap(lambda x: (x * 2, x.sum()), out_dims=(1, 0))(_x(lib, 4, 3))


@case("vmap-out-dims-none-constant")
def _(lib):
    c = _x(lib, 2, seed=5)
    return lib.func.vmap(lambda x: (x * 2, c), out_dims=(0, None))(_x(lib, 4, 3))


@case("vmap-out-dims-none-dependent")
def _(lib):
    return lib.func.vmap(lambda x: x * 2, out_dims=None)(_x(lib, 4, 3))


@case("vmap-out-dims-out-of-range")
def _(lib):
    return lib.func.vmap(lambda x: x * 2, out_dims=3)(_x(lib, 4, 3))


@case("vmap-in-dims-out-of-range")
def _(lib):
    return lib.func.vmap(lambda x: x, in_dims=2)(_x(lib, 4, 3))


@case("vmap-in-dims-dict")
def _(lib):
    f = lib.func.vmap(lambda d: d["a"] * d["b"], in_dims=({"a": 0, "b": None},))
    return f({"a": _x(lib, 4, 3), "b": _x(lib, 3, seed=1)})


@case("vmap-in-dims-nested-tuple")
def _(lib):
    f = lib.func.vmap(lambda t, y: t[0] + t[1] * y, in_dims=((0, 1), None))
    return f((_x(lib, 4, 3), _x(lib, 3, 4, seed=1)), _x(lib, 3, seed=2))


@case("vmap-in-dims-wrong-length")
def _(lib):
    return lib.func.vmap(lambda x, y: x + y, in_dims=(0,))(_x(lib, 2), _x(lib, 2))


@case("vmap-in-dims-list")
def _(lib):
    return lib.func.vmap(lambda x, y: x + y, in_dims=[0, None])(_x(lib, 2, 3), _x(lib, 3))


@case("vmap-size-mismatch")
def _(lib):
    return lib.func.vmap(lambda x, y: x + y)(_x(lib, 2, 3), _x(lib, 3, 3))


@case("vmap-all-none")
def _(lib):
    return lib.func.vmap(lambda x: x, in_dims=None)(_x(lib, 2))


@case("vmap-non-tensor-mapped")
def _(lib):
    return lib.func.vmap(lambda x, n: x * n, in_dims=(0, 0))(_x(lib, 2), 3)


@case("vmap-non-tensor-none")
def _(lib):
    return lib.func.vmap(lambda x, n: x * n, in_dims=(0, None))(_x(lib, 2), 3)


@case("vmap-returns-non-tensor")
def _(lib):
    return lib.func.vmap(lambda x: 3)(_x(lib, 2))


@case("vmap-kwargs-unmapped")
def _(lib):
    return lib.func.vmap(lambda x, *, s: x * s)(_x(lib, 3, 2), s=_x(lib, 2, seed=1))


@case("vmap-nested")
def _(lib):
    return lib.func.vmap(lib.func.vmap(lambda a, b: a * b, in_dims=(0, None)),
                         in_dims=(None, 0))(_x(lib, 3), _x(lib, 4, seed=1))


@case("vmap-nested-outer")
def _(lib):
    inner = lib.func.vmap(lib.dot, in_dims=(0, None))
    return lib.func.vmap(inner, in_dims=(None, 0))(_x(lib, 3, 2), _x(lib, 4, 2, seed=1))


@case("vmap-chunk-size")
def _(lib):
    return lib.func.vmap(lambda x: x.softmax(0), chunk_size=2)(_x(lib, 5, 3))


@case("vmap-chunk-size-zero")
def _(lib):
    return lib.func.vmap(lambda x: x, chunk_size=0)(_x(lib, 5, 3))


@case("vmap-randomness-error")
def _(lib):
    return lib.func.vmap(lambda x: x + lib.rand(()))(_x(lib, 3))


@case("vmap-randomness-bad-flag")
def _(lib):
    return lib.func.vmap(lambda x: x, randomness="bogus")(_x(lib, 3))


@case("vmap-randomness-same")
def _(lib):
    out = lib.func.vmap(lambda x: lib.rand(2) + x * 0, randomness="same")(_x(lib, 3, 1))
    return bool((out[0] == out[1]).all()), bool((out[1] == out[2]).all()), out.shape


@case("vmap-randomness-different")
def _(lib):
    out = lib.func.vmap(lambda x: lib.rand(2) + x * 0, randomness="different")(_x(lib, 3, 1))
    return bool((out[0] == out[1]).all()), out.shape


@case("vmap-randomness-dropout-error")
def _(lib):
    return lib.func.vmap(lambda x: lib.nn.functional.dropout(x, 0.5))(_x(lib, 3, 4))


@case("vmap-dropout-eval-ok")
def _(lib):
    return lib.func.vmap(lambda x: lib.nn.functional.dropout(x, 0.5, training=False))(
        _x(lib, 3, 4))


@case("vmap-of-grad-per-sample")
def _(lib):
    w = _x(lib, 3, seed=7)

    def loss(w, x, y):
        return ((x @ w - y) ** 2).mean()

    return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(
        w, _x(lib, 5, 3), _x(lib, 5, seed=1))


@case("vmap-of-jacrev")
def _(lib):
    return lib.func.vmap(lib.func.jacrev(lambda x: x.sin() * x.sum()))(_x(lib, 2, 3))


@case("grad-of-vmap")
def _(lib):
    return lib.func.grad(lambda x: lib.func.vmap(lambda r: (r ** 2).sum())(x).sum())(
        _x(lib, 2, 3))


@case("vmap-zero-size-batch-tuple-out")
def _(lib):
    return lib.func.vmap(lambda x: (x.sum(), x.outer(x)), out_dims=(0, 1))(_x(lib, 0, 3))


@case("vmap-zero-size-batch-in-dims-1")
def _(lib):
    return lib.func.vmap(lambda x, y: x @ y, in_dims=(1, None))(_x(lib, 3, 0), _x(lib, 3, 2))


@case("vmap-out-dims-none-non-tensor")
def _(lib):
    return lib.func.vmap(lambda x: (x * 2, 3), out_dims=(0, None))(_x(lib, 2, 2))


@case("vmap-out-dims-str")
def _(lib):
    return lib.func.vmap(lambda x: x * 2, out_dims="a")(_x(lib, 2, 2))


@case("vmap-out-dims-negative-out-of-range", text=True)
def _(lib):
    return lib.func.vmap(lambda x: x * 2, out_dims=-3)(_x(lib, 2, 2))


@case("vmap-out-dims-wrong-length")
def _(lib):
    return lib.func.vmap(lambda x: x * 2, out_dims=(0, 1))(_x(lib, 2, 2))


@case("vmap-in-dims-str")
def _(lib):
    return lib.func.vmap(lambda x: x * 2, in_dims="a")(_x(lib, 2, 2))


@case("vmap-no-inputs")
def _(lib):
    return lib.func.vmap(lambda: 1)()


@case("vmap-chunk-size-negative", text=True)
def _(lib):
    return lib.func.vmap(lambda x: x, chunk_size=-1)(_x(lib, 5, 3))


@case("vmap-int-tensor")
def _(lib):
    return lib.func.vmap(lambda x: x * 2 + 1)(lib.arange(6).reshape(2, 3))


@case("vmap-bool-mask")
def _(lib):
    return lib.func.vmap(lambda x, m: lib.where(m, x, 0.0))(_x(lib, 2, 3),
                                                           _x(lib, 2, 3, seed=1) > 0)


@case("vmap-zero-size-batch")
def _(lib):
    return lib.func.vmap(lambda x: x * 2)(_x(lib, 0, 3))


@case("vmap-scalar-per-sample")
def _(lib):
    return lib.func.vmap(lambda x: x ** 2)(_x(lib, 4))


@case("vmap-output-dict")
def _(lib):
    return lib.func.vmap(lambda x: {"s": x.sum(), "d": x * 2})(_x(lib, 2, 3))


@case("vmap-item-error")
def _(lib):
    return lib.func.vmap(lambda x: x * x.sum().item())(_x(lib, 2, 3))


@case("vmap-inplace-on-mapped")
def _(lib):
    def f(x):
        y = x.clone()
        y.add_(1.0)
        return y

    return lib.func.vmap(f)(_x(lib, 2, 3))


@case("vmap-linear-module")
def _(lib):
    lib.manual_seed(0)
    m = lib.nn.Linear(3, 2).double()
    return lib.func.vmap(m)(_x(lib, 4, 3))


# ---------------------------------------------------------------------------------------------
# functional_call / stack_module_state


def _mlp(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2)).double()


@case("functional-call-basic")
def _(lib):
    m = _mlp(lib)
    params = {k: v * 2 for k, v in m.named_parameters()}
    return lib.func.functional_call(m, params, (_x(lib, 2, 3),))


@case("functional-call-partial")
def _(lib):
    m = _mlp(lib)
    return lib.func.functional_call(m, {"2.bias": lib.zeros(2, dtype=lib.float64)}, _x(lib, 2, 3))


@case("functional-call-strict-missing")
def _(lib):
    m = _mlp(lib)
    return lib.func.functional_call(m, {"2.bias": lib.zeros(2, dtype=lib.float64)},
                                    (_x(lib, 2, 3),), strict=True)


@case("functional-call-unexpected-key")
def _(lib):
    m = _mlp(lib)
    return lib.func.functional_call(m, {"nope": lib.zeros(2)}, (_x(lib, 2, 3),))


@case("functional-call-unexpected-key-strict")
def _(lib):
    m = _mlp(lib)
    params = dict(m.named_parameters())
    params["nope"] = lib.zeros(2)
    return lib.func.functional_call(m, params, (_x(lib, 2, 3),), strict=True)


@case("functional-call-two-dicts")
def _(lib):
    m = _mlp(lib)
    params = {k: v + 1 for k, v in m.named_parameters()}
    first = {k: v for k, v in params.items() if k.startswith("0.")}
    second = {k: v for k, v in params.items() if k.startswith("2.")}
    return lib.func.functional_call(m, (first, second), (_x(lib, 2, 3),))


@case("functional-call-two-dicts-overlap")
def _(lib):
    m = _mlp(lib)
    p = dict(m.named_parameters())
    return lib.func.functional_call(m, (p, {"0.bias": p["0.bias"]}), (_x(lib, 2, 3),))


@case("functional-call-kwargs")
def _(lib):
    m = lib.nn.Softmax(dim=-1)
    return lib.func.functional_call(m, {}, (), {"input": _x(lib, 2, 3)})


@case("functional-call-restores")
def _(lib):
    m = _mlp(lib)
    lib.func.functional_call(m, {"0.weight": lib.zeros(4, 3, dtype=lib.float64)}, _x(lib, 2, 3))
    return m[0].weight, isinstance(m[0].weight, lib.nn.Parameter)


def _tied(lib):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 3, bias=False), lib.nn.Linear(3, 3, bias=False))
    m = m.double()
    m[1].weight = m[0].weight
    return m


@case("functional-call-tied")
def _(lib):
    m = _tied(lib)
    return lib.func.functional_call(m, {"0.weight": lib.eye(3, dtype=lib.float64) * 2},
                                    (_x(lib, 2, 3),))


@case("functional-call-tied-off")
def _(lib):
    m = _tied(lib)
    return lib.func.functional_call(m, {"0.weight": lib.eye(3, dtype=lib.float64) * 2},
                                    (_x(lib, 2, 3),), tie_weights=False)


@case("functional-call-tied-conflict")
def _(lib):
    m = _tied(lib)
    e = lib.eye(3, dtype=lib.float64)
    return lib.func.functional_call(m, {"0.weight": e * 2, "1.weight": e * 3}, (_x(lib, 2, 3),))


@case("functional-call-buffer")
def _(lib):
    lib.manual_seed(0)
    m = lib.nn.BatchNorm1d(3).double().eval()
    return lib.func.functional_call(
        m, {"running_mean": lib.ones(3, dtype=lib.float64)}, (_x(lib, 4, 3),))


@case("functional-call-grad")
def _(lib):
    m = _mlp(lib)
    params = {k: v.detach() for k, v in m.named_parameters()}
    x = _x(lib, 2, 3)
    return lib.func.grad(lambda p: lib.func.functional_call(m, p, (x,)).sum())(params)


@case("functional-call-not-dict")
def _(lib):
    return lib.func.functional_call(_mlp(lib), [1, 2], (_x(lib, 2, 3),))


@case("stack-module-state")
def _(lib):
    lib.manual_seed(0)
    models = [lib.nn.Linear(3, 2).double() for _ in range(3)]
    params, buffers = lib.func.stack_module_state(models)
    return {k: (v.shape, v.requires_grad) for k, v in params.items()}, buffers


@case("stack-module-state-ensemble")
def _(lib):
    lib.manual_seed(0)
    models = [lib.nn.Linear(3, 2).double() for _ in range(3)]
    params, buffers = lib.func.stack_module_state(models)
    base = models[0]

    def call(p, b, x):
        return lib.func.functional_call(base, (p, b), (x,))

    return lib.func.vmap(call, in_dims=(0, 0, None))(params, buffers, _x(lib, 4, 3))


@case("stack-module-state-buffers")
def _(lib):
    lib.manual_seed(0)
    models = [lib.nn.BatchNorm1d(2).double() for _ in range(2)]
    params, buffers = lib.func.stack_module_state(models)
    return sorted(params), {k: v.shape for k, v in buffers.items()}


@case("stack-module-state-mixed")
def _(lib):
    return lib.func.stack_module_state([lib.nn.Linear(3, 2), lib.nn.Linear(2, 2)])


@case("stack-module-state-empty")
def _(lib):
    return lib.func.stack_module_state([])


@case("stack-module-state-train-eval")
def _(lib):
    a, b = lib.nn.Linear(2, 2), lib.nn.Linear(2, 2)
    b.eval()
    return lib.func.stack_module_state([a, b])
