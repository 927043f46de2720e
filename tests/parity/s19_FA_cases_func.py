"""Cases of session 19's FA sweep: ``torch.func`` (grad, grad_and_value, vjp, jvp, linearize,
jacrev, jacfwd, hessian, vmap, functional_call, stack_module_state), each ``program(lib)``
written once against PyTorch's API and run under both libraries (s12_SM_harness.compare).
``text=True``: the error message is compared too (else its class only)."""

CASES: dict = {}
TEXT: set = set()
# Cases whose results are compared without ``requires_grad`` (forward AD's documented
# divergence: autograd/forward_ad.py).
NO_RG: set = set()


def case(name: str, text: bool = False, no_rg: bool = False):
    """Register ``program(lib)`` under ``name``."""

    def register(program):
        assert name not in CASES, name
        CASES[name] = program
        if text:
            TEXT.add(name)
        if no_rg:
            NO_RG.add(name)
        return program

    return register


def _x(lib, *shape, seed=0, dtype=None):
    g = lib.Generator().manual_seed(seed)
    return lib.randn(*shape, generator=g, dtype=dtype or lib.float64)


# ---------------------------------------------------------------------------------------------
# grad / grad_and_value


@case("grad-basic")
def _(lib):
    return lib.func.grad(lambda x: (x.sin() * x).sum())(_x(lib, 4))


@case("grad-argnums-tuple")
def _(lib):
    f = lib.func.grad(lambda x, y: (x * y.exp()).sum(), argnums=(0, 1))
    return f(_x(lib, 3), _x(lib, 3, seed=1))


@case("grad-argnums-negative")
def _(lib):
    f = lib.func.grad(lambda x, y: (x * y ** 2).sum(), argnums=-1)
    return f(_x(lib, 3), _x(lib, 3, seed=1))


@case("grad-argnums-out-of-range")
def _(lib):
    return lib.func.grad(lambda x, y: (x * y).sum(), argnums=2)(_x(lib, 3), _x(lib, 3))


@case("grad-argnums-duplicate")
def _(lib):
    return lib.func.grad(lambda x, y: (x * y).sum(), argnums=(0, 0))(_x(lib, 3), _x(lib, 3))


@case("grad-argnums-empty")
def _(lib):
    return lib.func.grad(lambda x, y: (x * y).sum(), argnums=())(_x(lib, 3), _x(lib, 3))


@case("grad-argnums-float")
def _(lib):
    return lib.func.grad(lambda x: x.sum(), argnums=0.0)(_x(lib, 3))


@case("grad-has-aux")
def _(lib):
    def f(x):
        y = x.cos()
        return y.sum(), {"y": y, "n": 3}

    return lib.func.grad(f, has_aux=True)(_x(lib, 3))


@case("grad-has-aux-tensors")
def _(lib):
    def f(x):
        y = x.cos()
        return y.sum(), {"y": y, "z": [x * 2, (y,)]}

    return lib.func.grad(f, has_aux=True)(_x(lib, 3))


@case("grad-has-aux-none", text=True)
def _(lib):
    return lib.func.grad(lambda x: (x.sum(), None), has_aux=True)(_x(lib, 3))


@case("vjp-has-aux-int")
def _(lib):
    return lib.func.vjp(lambda x: (x * 2, {"n": 3}), _x(lib, 3), has_aux=True)


@case("jvp-has-aux-int")
def _(lib):
    return lib.func.jvp(lambda x: (x * 2, 3), (_x(lib, 3),), (_x(lib, 3),), has_aux=True)


@case("jacrev-has-aux-str")
def _(lib):
    return lib.func.jacrev(lambda x: (x * 2, "s"), has_aux=True)(_x(lib, 3))


@case("jacfwd-has-aux-int")
def _(lib):
    return lib.func.jacfwd(lambda x: (x * 2, 3), has_aux=True)(_x(lib, 3))


@case("grad-float-input", text=True)
def _(lib):
    return lib.func.grad(lambda x: x * 2)(3.0)


@case("jacrev-float-input", text=True)
def _(lib):
    return lib.func.jacrev(lambda x: x * 2)(3.0)


@case("jvp-float-primal", text=True)
def _(lib):
    return lib.func.jvp(lambda x: x * 2, (3.0,), (1.0,))


@case("jacrev-argnums-duplicate", text=True)
def _(lib):
    return lib.func.jacrev(lambda x, y: x, argnums=(0, 0))(_x(lib, 2), _x(lib, 2))


@case("grad-argnums-negative-out-of-range", text=True)
def _(lib):
    return lib.func.grad(lambda x, y: x.sum(), argnums=-3)(_x(lib, 2), _x(lib, 2))


@case("grad-has-aux-not-tuple")
def _(lib):
    return lib.func.grad(lambda x: x.sum(), has_aux=True)(_x(lib, 3))


@case("grad-nonscalar-output")
def _(lib):
    return lib.func.grad(lambda x: x * 2)(_x(lib, 3))


@case("grad-non-tensor-output")
def _(lib):
    return lib.func.grad(lambda x: 3.0)(_x(lib, 3))


@case("grad-int-input")
def _(lib):
    return lib.func.grad(lambda x: x.sum())(lib.arange(3))


@case("grad-dict-input")
def _(lib):
    f = lib.func.grad(lambda d: (d["a"] * d["b"]).sum())
    return f({"a": _x(lib, 2), "b": _x(lib, 2, seed=1)})


@case("grad-tuple-input")
def _(lib):
    return lib.func.grad(lambda t: (t[0] ** 2 * t[1]).sum())((_x(lib, 2), _x(lib, 2, seed=1)))


@case("grad-kwargs-not-differentiated")
def _(lib):
    return lib.func.grad(lambda x, *, s: (x * s).sum())(_x(lib, 3), s=_x(lib, 3, seed=2))


@case("grad-unused-input")
def _(lib):
    return lib.func.grad(lambda x, y: (x * 2).sum(), argnums=(0, 1))(_x(lib, 2), _x(lib, 2))


@case("grad-constant-output")
def _(lib):
    return lib.func.grad(lambda x: lib.tensor(1.0, dtype=lib.float64))(_x(lib, 2))


@case("grad-of-grad")
def _(lib):
    return lib.func.grad(lib.func.grad(lambda x: x.sin().sum() * 1.0))(_x(lib, 1).squeeze())


@case("grad-of-grad-scalar")
def _(lib):
    return lib.func.grad(lib.func.grad(lambda x: x ** 3))(lib.tensor(2.0))


@case("grad-float32")
def _(lib):
    return lib.func.grad(lambda x: (x ** 2).sum())(_x(lib, 3, dtype=lib.float32))


@case("grad-closure-requires-grad")
def _(lib):
    w = _x(lib, 3).requires_grad_()
    g = lib.func.grad(lambda x: (x * w).sum())(_x(lib, 3, seed=1))
    return g, g.requires_grad


@case("grad-closure-backward-through")
def _(lib):
    w = _x(lib, 3).requires_grad_()
    g = lib.func.grad(lambda x: (x * w.sin()).sum())(_x(lib, 3, seed=1))
    g.sum().backward()
    return w.grad


@case("grad-input-requires-grad")
def _(lib):
    x = _x(lib, 3).requires_grad_()
    g = lib.func.grad(lambda a: (a ** 3).sum())(x)
    (gx,) = lib.autograd.grad(g.sum(), x)
    return g, gx


@case("grad-and-value")
def _(lib):
    return lib.func.grad_and_value(lambda x: (x.exp() * x).sum())(_x(lib, 3))


@case("grad-and-value-argnums-aux")
def _(lib):
    def f(x, y):
        z = x @ y
        return z.sum(), z

    return lib.func.grad_and_value(f, argnums=(0, 1), has_aux=True)(_x(lib, 2, 3), _x(lib, 3, 2))


@case("grad-and-value-aux-int")
def _(lib):
    return lib.func.grad_and_value(lambda x: (x.sum(), 7), has_aux=True)(_x(lib, 3))


@case("grad-no-grad-inside")
def _(lib):
    def f(x):
        with lib.no_grad():
            c = x * 2
        return (c * x).sum()

    return lib.func.grad(f)(_x(lib, 3))


@case("grad-detach-inside")
def _(lib):
    return lib.func.grad(lambda x: (x.detach() * x).sum())(_x(lib, 3))


@case("grad-under-no-grad")
def _(lib):
    with lib.no_grad():
        return lib.func.grad(lambda x: (x ** 2).sum())(_x(lib, 3))


@case("grad-inplace-inside")
def _(lib):
    def f(x):
        y = x.clone()
        y.mul_(x)
        y[0] = 5.0
        return y.sum()

    return lib.func.grad(f)(_x(lib, 3))


# ---------------------------------------------------------------------------------------------
# vjp


@case("vjp-basic")
def _(lib):
    out, fn = lib.func.vjp(lambda x: x.sin(), _x(lib, 3))
    return out, fn(lib.ones(3, dtype=lib.float64))


@case("vjp-two-inputs-two-outputs")
def _(lib):
    out, fn = lib.func.vjp(lambda x, y: (x * y, x + y), _x(lib, 3), _x(lib, 3, seed=1))
    return out, fn((_x(lib, 3, seed=2), _x(lib, 3, seed=3)))


@case("vjp-has-aux")
def _(lib):
    out, fn, aux = lib.func.vjp(lambda x: (x.exp(), x.sum()), _x(lib, 3), has_aux=True)
    return out, fn(lib.ones(3, dtype=lib.float64)), aux


@case("vjp-wrong-cotangent-shape")
def _(lib):
    _, fn = lib.func.vjp(lambda x: x.sin(), _x(lib, 3))
    return fn(lib.ones(4, dtype=lib.float64))


@case("vjp-wrong-cotangent-structure")
def _(lib):
    _, fn = lib.func.vjp(lambda x: (x.sin(), x.cos()), _x(lib, 3))
    return fn(lib.ones(3, dtype=lib.float64))


@case("vjp-dict-output")
def _(lib):
    out, fn = lib.func.vjp(lambda x: {"a": x * 2, "b": x.sum()}, _x(lib, 3))
    return out, fn({"a": lib.ones(3, dtype=lib.float64), "b": lib.tensor(2.0, dtype=lib.float64)})


@case("vjp-called-twice")
def _(lib):
    _, fn = lib.func.vjp(lambda x: x ** 3, _x(lib, 3))
    v = lib.ones(3, dtype=lib.float64)
    return fn(v), fn(v * 2)


@case("vjp-non-tensor-primal")
def _(lib):
    return lib.func.vjp(lambda x: x * 2, 3.0)


@case("vjp-unused-input")
def _(lib):
    _, fn = lib.func.vjp(lambda x, y: x * 2, _x(lib, 3), _x(lib, 3))
    return fn(lib.ones(3, dtype=lib.float64))


@case("vjp-dtype-mismatch-cotangent")
def _(lib):
    _, fn = lib.func.vjp(lambda x: x * 2, _x(lib, 3))
    return fn(lib.ones(3, dtype=lib.float32))


# ---------------------------------------------------------------------------------------------
# jvp / linearize


@case("jvp-basic")
def _(lib):
    return lib.func.jvp(lambda x: x.sin() * x, (_x(lib, 3),), (_x(lib, 3, seed=1),))


@case("jvp-two-inputs")
def _(lib):
    return lib.func.jvp(lambda x, y: x @ y, (_x(lib, 2, 3), _x(lib, 3)),
                        (_x(lib, 2, 3, seed=2), _x(lib, 3, seed=3)))


@case("jvp-has-aux")
def _(lib):
    return lib.func.jvp(lambda x: (x.exp(), x.sum()), (_x(lib, 3),), (_x(lib, 3, seed=1),),
                        has_aux=True)


@case("jvp-tuple-output")
def _(lib):
    return lib.func.jvp(lambda x: (x.sin(), x.cos().sum()), (_x(lib, 3),), (_x(lib, 3, seed=1),))


@case("jvp-primals-not-tuple")
def _(lib):
    return lib.func.jvp(lambda x: x, _x(lib, 3), (_x(lib, 3),))


@case("jvp-tangent-shape")
def _(lib):
    return lib.func.jvp(lambda x: x, (_x(lib, 3),), (_x(lib, 4),))


@case("jvp-tangent-structure")
def _(lib):
    return lib.func.jvp(lambda x, y: x + y, (_x(lib, 3), _x(lib, 3)), (_x(lib, 3),))


@case("jvp-int-primal")
def _(lib):
    return lib.func.jvp(lambda x: x * 2, (lib.arange(3),), (lib.arange(3),))


@case("jvp-constant-output")
def _(lib):
    return lib.func.jvp(lambda x: lib.ones(2, dtype=lib.float64), (_x(lib, 3),), (_x(lib, 3),))


@case("jvp-of-grad")
def _(lib):
    f = lib.func.grad(lambda x: (x.sin() * x ** 2).sum())
    return lib.func.jvp(f, (_x(lib, 3),), (_x(lib, 3, seed=1),))


@case("jvp-reductions-views")
def _(lib):
    def f(x):
        return x.t().reshape(-1)[1:].cumsum(0) + x.max() - x.logsumexp(1).mean()

    return lib.func.jvp(f, (_x(lib, 2, 3),), (_x(lib, 2, 3, seed=1),))


@case("linearize-basic")
def _(lib):
    out, fn = lib.func.linearize(lambda x: x.tanh() * x, _x(lib, 3))
    return out, fn(_x(lib, 3, seed=1)), fn(_x(lib, 3, seed=2))


@case("linearize-two-inputs")
def _(lib):
    out, fn = lib.func.linearize(lambda x, y: (x * y).sum(), _x(lib, 3), _x(lib, 3, seed=1))
    return out, fn(_x(lib, 3, seed=2), _x(lib, 3, seed=3))


@case("linearize-wrong-tangent-shape")
def _(lib):
    _, fn = lib.func.linearize(lambda x: x.exp(), _x(lib, 3))
    return fn(_x(lib, 2))


# ---------------------------------------------------------------------------------------------
# jacrev / jacfwd / hessian


def _jac_f(x, y):
    return (x.sin() * y[:, None]).sum(0), (x ** 2).sum()


for _kind in ("jacrev", "jacfwd"):
    @case(f"{_kind}-basic")
    def _(lib, kind=_kind):
        return getattr(lib.func, kind)(lambda x: x.sin() * x.sum())(_x(lib, 3))

    @case(f"{_kind}-argnums-tuple")
    def _(lib, kind=_kind):
        return getattr(lib.func, kind)(_jac_f, argnums=(0, 1))(_x(lib, 2, 3), _x(lib, 2, seed=1))

    @case(f"{_kind}-argnums-1")
    def _(lib, kind=_kind):
        return getattr(lib.func, kind)(_jac_f, argnums=1)(_x(lib, 2, 3), _x(lib, 2, seed=1))

    @case(f"{_kind}-has-aux")
    def _(lib, kind=_kind):
        f = getattr(lib.func, kind)(lambda x: (x.exp(), x.sum()), has_aux=True)
        return f(_x(lib, 3))

    @case(f"{_kind}-scalar-in-out")
    def _(lib, kind=_kind):
        return getattr(lib.func, kind)(lambda x: x ** 3)(lib.tensor(2.0, dtype=lib.float64))

    @case(f"{_kind}-dict-input")
    def _(lib, kind=_kind):
        f = getattr(lib.func, kind)(lambda d: d["a"] * d["b"].sum())
        return f({"a": _x(lib, 2), "b": _x(lib, 3, seed=1)})

    @case(f"{_kind}-int-input")
    def _(lib, kind=_kind):
        return getattr(lib.func, kind)(lambda x: x * 2)(lib.arange(3))

    @case(f"{_kind}-empty-output")
    def _(lib, kind=_kind):
        return getattr(lib.func, kind)(lambda x: x[:0] * 2)(_x(lib, 3))

    @case(f"{_kind}-matrix")
    def _(lib, kind=_kind):
        return getattr(lib.func, kind)(lambda w: lib.nn.functional.softmax(w @ w.t(), -1))(
            _x(lib, 2, 3))

    @case(f"{_kind}-of-{_kind}")
    def _(lib, kind=_kind):
        j = getattr(lib.func, kind)
        return j(j(lambda x: (x ** 3).sum() * x))(_x(lib, 2))


@case("jacrev-chunk-size")
def _(lib):
    return lib.func.jacrev(lambda x: x.sin() * 2, chunk_size=2)(_x(lib, 5))


@case("jacrev-chunk-size-zero")
def _(lib):
    return lib.func.jacrev(lambda x: x, chunk_size=0)(_x(lib, 5))


@case("jacrev-chunk-size-one")
def _(lib):
    return lib.func.jacrev(lambda x: x.cumprod(0), chunk_size=1)(_x(lib, 4))


@case("jacfwd-randomness-bad")
def _(lib):
    return lib.func.jacfwd(lambda x: x, randomness="bad")(_x(lib, 3))


@case("jacrev-output-list")
def _(lib):
    return lib.func.jacrev(lambda x: [x * 2, x.sum()])(_x(lib, 2))


@case("jacrev-closure-grad")
def _(lib):
    w = _x(lib, 3).requires_grad_()
    j = lib.func.jacrev(lambda x: x * w)(_x(lib, 3, seed=1))
    j.sum().backward()
    return j, w.grad


@case("hessian-basic")
def _(lib):
    return lib.func.hessian(lambda x: (x.sin() * x.prod()).sum())(_x(lib, 3))


@case("hessian-argnums")
def _(lib):
    return lib.func.hessian(lambda x, y: (x * y ** 2).sum(), argnums=(0, 1))(
        _x(lib, 2), _x(lib, 2, seed=1))


@case("hessian-matrix-input")
def _(lib):
    return lib.func.hessian(lambda w: (w @ w.t()).trace().sqrt())(_x(lib, 2, 2))


@case("hessian-nonscalar")
def _(lib):
    return lib.func.hessian(lambda x: x ** 3)(_x(lib, 2))
