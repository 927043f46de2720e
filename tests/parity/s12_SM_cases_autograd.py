"""Cases of the SM sweep (session 12): the autograd API.

torch.autograd.grad (allow_unused, materialize_grads, retain_graph, create_graph, grad_outputs,
is_grads_batched), backward (twice, inputs=), tensor hooks, retain_grad, requires_grad_ on
integers, autograd.Function (save_for_backward, mark_dirty, mark_non_differentiable,
set_materialize_grads, once_differentiable, setup_context) and torch.autograd.functional
(jacobian, hessian, vjp, jvp, hvp, vhp with their options).
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


def _xy(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    return x, y


@case("grad-basic")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad((x * y).sum(), [x, y])


@case("grad-unused-error")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad((x * 2).sum(), [x, y])


@case("grad-allow-unused")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)


@case("grad-materialize")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True)


@case("grad-materialize-allow-unused-false", text=True)
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True, allow_unused=False)


@case("grad-single-tensor-input")
def _(lib):
    x, y = _xy(lib)
    r = lib.autograd.grad((x * 2).sum(), x)
    return type(r).__name__, r


@case("grad-nonscalar-no-grad-outputs")
def _(lib):
    x, y = _xy(lib)
    lib.autograd.grad(x * 2, x)


@case("grad-grad-outputs-shape-mismatch")
def _(lib):
    x, y = _xy(lib)
    lib.autograd.grad(x * 2, x, grad_outputs=lib.ones(2))


@case("grad-grad-outputs-broadcastable")
def _(lib):
    x, y = _xy(lib)
    lib.autograd.grad(x * 2, x, grad_outputs=lib.ones(1))


@case("grad-grad-outputs-dtype", text=True)
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad(x * 2, x, grad_outputs=lib.ones(3, dtype=lib.float64))


@case("grad-grad-outputs-int", text=True)
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad(x * 2, x, grad_outputs=lib.ones(3, dtype=lib.int64))


@case("grad-grad-outputs-none-scalar")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad(
        [(x * 2).sum(), (y * 3).sum()], [x, y], grad_outputs=[None, lib.tensor(2.0)]
    )


@case("grad-grad-outputs-count-mismatch", text=True)
def _(lib):
    x, y = _xy(lib)
    lib.autograd.grad([(x * 2).sum()], [x], grad_outputs=[None, None])


@case("grad-retain-graph-twice")
def _(lib):
    x, y = _xy(lib)
    z = (x.exp() * y).sum()
    lib.autograd.grad(z, x)
    return lib.autograd.grad(z, x)


@case("grad-retain-graph-true")
def _(lib):
    x, y = _xy(lib)
    z = (x.exp() * y).sum()
    lib.autograd.grad(z, x, retain_graph=True)
    return lib.autograd.grad(z, x)


@case("grad-create-graph")
def _(lib):
    x, y = _xy(lib)
    (g,) = lib.autograd.grad((x**3).sum(), x, create_graph=True)
    (g2,) = lib.autograd.grad(g.sum(), x)
    return g, g2, g.requires_grad


@case("grad-create-graph-false-no-grad-fn")
def _(lib):
    x, y = _xy(lib)
    (g,) = lib.autograd.grad((x**3).sum(), x)
    return g.requires_grad, g.grad_fn is None


@case("grad-does-not-accumulate")
def _(lib):
    x, y = _xy(lib)
    lib.autograd.grad((x * y).sum(), [x])
    return x.grad, y.grad


@case("grad-input-not-requiring")
def _(lib):
    x = lib.ones(2)
    lib.autograd.grad((x * 2).sum(), x)


@case("grad-output-not-requiring")
def _(lib):
    x, y = _xy(lib)
    lib.autograd.grad(x.detach().sum(), x)


@case("grad-nonleaf-input")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    return lib.autograd.grad((h * h).sum(), h)


@case("grad-is-grads-batched")
def _(lib):
    x, y = _xy(lib)
    out = x * y
    return lib.autograd.grad(out, x, grad_outputs=lib.eye(3), is_grads_batched=True)


@case("grad-is-grads-batched-create-graph")
def _(lib):
    x, y = _xy(lib)
    out = x**2
    (g,) = lib.autograd.grad(
        out, x, grad_outputs=lib.eye(3), is_grads_batched=True, create_graph=True
    )
    return g, g.requires_grad


@case("grad-is-grads-batched-bad-shape")
def _(lib):
    x, y = _xy(lib)
    lib.autograd.grad(x * y, x, grad_outputs=lib.ones(3), is_grads_batched=True)


@case("grad-outputs-list-inputs-tuple")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad([x.sum(), y.sum() * 2], (x, y))


@case("grad-empty-inputs", text=True)
def _(lib):
    x, y = _xy(lib)
    lib.autograd.grad(x.sum(), [])


@case("grad-integer-input")
def _(lib):
    x = lib.tensor([1, 2])
    lib.autograd.grad(x.sum(), x)


@case("backward-twice")
def _(lib):
    x, y = _xy(lib)
    z = (x.exp() * y).sum()
    z.backward()
    z.backward()


@case("backward-twice-retain")
def _(lib):
    x, y = _xy(lib)
    z = (x.exp() * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    return x.grad, y.grad


@case("backward-twice-simple-add", text=True)
def _(lib):
    x, y = _xy(lib)
    z = (x + y).sum()
    z.backward()
    z.backward()
    return x.grad


@case("backward-inputs")
def _(lib):
    x, y = _xy(lib)
    (x * y).sum().backward(inputs=[x])
    return x.grad, y.grad


@case("backward-inputs-tensor")
def _(lib):
    x, y = _xy(lib)
    (x * y).sum().backward(inputs=y)
    return x.grad, y.grad


@case("backward-inputs-empty", text=True)
def _(lib):
    x, y = _xy(lib)
    (x * y).sum().backward(inputs=[])


@case("backward-inputs-nonleaf")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    (h * y).sum().backward(inputs=[h])
    return h.grad, x.grad, y.grad


@case("backward-inputs-unused")
def _(lib):
    x, y = _xy(lib)
    z = lib.ones(1, requires_grad=True)
    (x * y).sum().backward(inputs=[x, z])
    return x.grad, z.grad


@case("backward-nonscalar")
def _(lib):
    x, y = _xy(lib)
    (x * y).backward()


@case("backward-no-grad-fn")
def _(lib):
    lib.ones(2).sum().backward()


@case("backward-gradient-shape")
def _(lib):
    x, y = _xy(lib)
    (x * y).backward(lib.ones(2))


@case("backward-gradient-scalar-for-vector")
def _(lib):
    x, y = _xy(lib)
    (x * y).backward(lib.tensor(1.0))


@case("backward-accumulates")
def _(lib):
    x, y = _xy(lib)
    (x * y).sum().backward()
    (x * 3).sum().backward()
    return x.grad


@case("backward-create-graph-grad-has-graph")
def _(lib):
    x, y = _xy(lib)
    (x**2).sum().backward(create_graph=True)
    return x.grad, x.grad.requires_grad, x.grad.grad_fn is not None


@case("autograd-backward-grad-tensors")
def _(lib):
    x, y = _xy(lib)
    lib.autograd.backward([x * 2, y * 3], [lib.ones(3), lib.full((3,), 2.0)])
    return x.grad, y.grad


@case("autograd-backward-inputs")
def _(lib):
    x, y = _xy(lib)
    lib.autograd.backward((x * y).sum(), inputs=[y])
    return x.grad, y.grad


@case("register-hook-leaf")
def _(lib):
    x, y = _xy(lib)
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()))
    x.register_hook(lambda g: g * 2)
    (x * y).sum().backward()
    return seen, x.grad


@case("register-hook-nonleaf")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.clone()))
    h.register_hook(lambda g: g + 1)
    (h * y).sum().backward()
    return seen, x.grad, h.grad


@case("register-hook-no-grad")
def _(lib):
    lib.ones(2).register_hook(lambda g: g)


@case("register-hook-remove")
def _(lib):
    x, y = _xy(lib)
    handle = x.register_hook(lambda g: g * 100)
    handle.remove()
    (x * y).sum().backward()
    return x.grad


@case("register-hook-wrong-shape")
def _(lib):
    x, y = _xy(lib)
    x.register_hook(lambda g: g.sum())
    (x * y).sum().backward()


@case("register-hook-wrong-dtype")
def _(lib):
    x, y = _xy(lib)
    x.register_hook(lambda g: g.double())
    (x * y).sum().backward()
    return x.grad


@case("register-hook-on-grad-call-retain-grad")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    h.retain_grad()
    h.register_hook(lambda g: g * 3)
    (h * y).sum().backward()
    return h.grad, x.grad


@case("register-hook-before-retain-grad")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    h.register_hook(lambda g: g * 3)
    h.retain_grad()
    (h * y).sum().backward()
    return h.grad


@case("register-hook-grad-accessible")
def _(lib):
    x, y = _xy(lib)
    seen = []
    x.register_hook(lambda g: seen.append(x.grad))
    (x * y).sum().backward()
    (x * y).sum().backward()
    return seen


@case("post-accumulate-grad-hook")
def _(lib):
    x, y = _xy(lib)
    seen = []

    def hook(p):
        seen.append(p.grad.clone())
        p.grad.mul_(0)

    x.register_post_accumulate_grad_hook(hook)
    (x * y).sum().backward()
    return seen, x.grad


@case("post-accumulate-grad-hook-nonleaf", text=True)
def _(lib):
    x, y = _xy(lib)
    (x * 2).register_post_accumulate_grad_hook(lambda p: None)


@case("post-accumulate-grad-hook-return", text=True)
def _(lib):
    x, y = _xy(lib)
    x.register_post_accumulate_grad_hook(lambda p: p.grad * 0)
    (x * y).sum().backward()
    return x.grad


@case("post-accumulate-grad-hook-autograd-grad")
def _(lib):
    x, y = _xy(lib)
    seen = []
    x.register_post_accumulate_grad_hook(lambda p: seen.append(1))
    lib.autograd.grad((x * y).sum(), x)
    return seen


@case("retain-grad")
def _(lib):
    x, y = _xy(lib)
    h = x * y
    h.retain_grad()
    (h**2).sum().backward()
    return h.grad, h.retains_grad, x.retains_grad


@case("retain-grad-no-grad", text=True)
def _(lib):
    lib.ones(2).retain_grad()


@case("nonleaf-grad-warning")
def _(lib):
    x, y = _xy(lib)
    h = x * y
    h.sum().backward()
    return h.grad


@case("requires-grad-int")
def _(lib):
    lib.tensor([1, 2]).requires_grad_()


@case("requires-grad-int-false")
def _(lib):
    return lib.tensor([1, 2]).requires_grad_(False)


@case("requires-grad-nonleaf-false")
def _(lib):
    x, y = _xy(lib)
    (x * 2).requires_grad_(False)


@case("requires-grad-set-attr-int")
def _(lib):
    t = lib.tensor([1, 2])
    t.requires_grad = True


@case("requires-grad-bool-tensor")
def _(lib):
    lib.tensor([True]).requires_grad_()


@case("tensor-int-requires-grad-factory")
def _(lib):
    lib.tensor([1, 2], requires_grad=True)


@case("zeros-int-requires-grad-factory")
def _(lib):
    lib.zeros(2, dtype=lib.int64, requires_grad=True)


@case("grad-set-wrong-shape")
def _(lib):
    x, y = _xy(lib)
    x.grad = lib.ones(2)


@case("grad-set-wrong-dtype")
def _(lib):
    x, y = _xy(lib)
    x.grad = lib.ones(3, dtype=lib.float64)


@case("grad-set-non-tensor", text=True)
def _(lib):
    x, y = _xy(lib)
    x.grad = [1.0, 2.0, 3.0]


@case("detach-shares")
def _(lib):
    x, y = _xy(lib)
    d = x.detach()
    d.add_(1)
    return x, d.requires_grad, x._version == d._version


@case("inplace-on-leaf-error", text=True)
def _(lib):
    x, y = _xy(lib)
    x.add_(1)


@case("inplace-on-saved-error", text=True)
def _(lib):
    x, y = _xy(lib)
    h = x * 1
    z = h.exp()
    h.add_(1)
    z.sum().backward()


@case("inplace-under-no-grad-leaf")
def _(lib):
    x, y = _xy(lib)
    with lib.no_grad():
        x.add_(1)
    return x, x.requires_grad, x.is_leaf


@case("no-grad-result")
def _(lib):
    x, y = _xy(lib)
    with lib.no_grad():
        z = x * 2
    return z.requires_grad, z.is_leaf, z.grad_fn is None


@case("set-grad-enabled-decorator")
def _(lib):
    x, y = _xy(lib)

    @lib.set_grad_enabled(False)
    def f(a):
        return a * 2

    return f(x).requires_grad, lib.is_grad_enabled()


@case("inference-mode")
def _(lib):
    x, y = _xy(lib)
    with lib.inference_mode():
        z = x * 2
    return z.requires_grad, lib.is_inference_mode_enabled()


@case("enable-grad-inside-no-grad")
def _(lib):
    x, y = _xy(lib)
    with lib.no_grad():
        with lib.enable_grad():
            z = x * 2
    return z.requires_grad


def _Exp(lib):
    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    return Exp


@case("function-save-for-backward")
def _(lib):
    x, y = _xy(lib)
    out = _Exp(lib).apply(x)
    out.sum().backward()
    return out, x.grad, type(out.grad_fn).__name__


@case("function-double-backward")
def _(lib):
    x, y = _xy(lib)
    out = _Exp(lib).apply(x)
    (g,) = lib.autograd.grad(out.sum(), x, create_graph=True)
    (g2,) = lib.autograd.grad(g.sum(), x)
    return g, g2


@case("function-saved-modified-inplace")
def _(lib):
    x, y = _xy(lib)
    out = _Exp(lib).apply(x)
    out.add_(1)
    out.sum().backward()


@case("function-mark-dirty")
def _(lib):
    class AddOne(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x, y = _xy(lib)
    h = x * 1
    out = AddOne.apply(h)
    out.sum().backward()
    return out is h, h, x.grad, type(h.grad_fn).__name__


@case("function-mark-dirty-leaf", text=True)
def _(lib):
    class AddOne(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = _xy(lib)
    AddOne.apply(x)


@case("function-inplace-without-mark-dirty")
def _(lib):
    class AddOne(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            return a

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = _xy(lib)
    h = x * 1
    out = AddOne.apply(h)
    out.sum().backward()
    return x.grad, out is h


@case("function-mark-non-differentiable")
def _(lib):
    class Sort(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            values, idx = a.sort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return values, idx

        @staticmethod
        def backward(ctx, gv, gi):
            (idx,) = ctx.saved_tensors
            out = lib.zeros_like(gv)
            out[idx] = gv
            return out, gi

    x = lib.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v, i = Sort.apply(x)
    (v * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
    return v.requires_grad, i.requires_grad, x.grad


@case("function-mark-non-differentiable-gi-value")
def _(lib):
    seen = []

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            b = a * 2
            ctx.mark_non_differentiable(b)
            return a * 3, b

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append(g2)
            return g1 * 3

    x, y = _xy(lib)
    p, q = Two.apply(x)
    p.sum().backward()
    return seen


@case("function-materialize-grads-default")
def _(lib):
    seen = []

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1, g2))
            return g1 * 2 + g2 * 3

    x, y = _xy(lib)
    p, q = Two.apply(x)
    p.sum().backward()
    return seen, x.grad


@case("function-set-materialize-grads-false")
def _(lib):
    seen = []

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1, g2))
            return g1 * 2 if g2 is None else g1 * 2 + g2 * 3

    x, y = _xy(lib)
    p, q = Two.apply(x)
    p.sum().backward()
    return seen, x.grad


@case("function-once-differentiable")
def _(lib):
    from importlib import import_module

    once = import_module(lib.__name__ + ".autograd.function").once_differentiable

    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        @once
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    x, y = _xy(lib)
    out = Sq.apply(x)
    (g,) = lib.autograd.grad(out.sum(), x, create_graph=True)
    r = [g, g.requires_grad]
    try:
        lib.autograd.grad(g.sum(), x)
        r.append("ok")
    except RuntimeError:
        r.append("RuntimeError")
    return r


@case("function-wrong-grad-count")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = _xy(lib)
    F.apply(x, y).sum().backward()


@case("function-extra-none-grads")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    x, y = _xy(lib)
    F.apply(x, 2.0).sum().backward()
    return x.grad


@case("function-extra-non-none-grad")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, g

    x, y = _xy(lib)
    F.apply(x, 2.0).sum().backward()


@case("function-grad-wrong-shape", text=True)
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()

    x, y = _xy(lib)
    F.apply(x).sum().backward()


@case("function-grad-for-non-tensor", text=True)
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    x, y = _xy(lib)
    F.apply(x, 2.0).sum().backward()
    return x.grad


@case("function-needs-input-grad")
def _(lib):
    seen = []

    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(ctx.needs_input_grad)
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            return g, g, None

    x, y = _xy(lib)
    F.apply(x, y.detach(), 2)
    return seen


@case("function-returns-input")
def _(lib):
    class Ident(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x, y = _xy(lib)
    out = Ident.apply(x)
    out.sum().backward()
    return out is x, x.grad, out.is_leaf


@case("function-no-grad-inputs")
def _(lib):
    out = _Exp(lib).apply(lib.ones(2))
    return out.requires_grad, out.grad_fn is None


@case("function-under-no-grad")
def _(lib):
    x, y = _xy(lib)
    with lib.no_grad():
        out = _Exp(lib).apply(x)
    return out.requires_grad


@case("function-forward-sees-no-grad")
def _(lib):
    seen = []

    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            seen.append(lib.is_grad_enabled())
            r = a * 2
            seen.append(r.requires_grad)
            return r

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x, y = _xy(lib)
    F.apply(x)
    return seen


@case("function-setup-context")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(a, k):
            return a * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = inputs[1]

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    x, y = _xy(lib)
    F.apply(x, 3.0).sum().backward()
    return x.grad


@case("function-saved-tensors-twice-after-free")
def _(lib):
    seen = []

    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.saved_tensors)
            return g * 2

    x, y = _xy(lib)
    out = F.apply(x).sum()
    out.backward()
    out.backward()


@case("function-save-non-tensor")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a, 3)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = _xy(lib)
    F.apply(x)


@case("function-save-none")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a, None)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            a, n = ctx.saved_tensors
            return g * 2 + (0 if n is None else 1)

    x, y = _xy(lib)
    F.apply(x).sum().backward()
    return x.grad


@case("function-call-directly", text=True)
def _(lib):
    _Exp(lib)()


@case("function-grad-fn-name")
def _(lib):
    x, y = _xy(lib)
    out = _Exp(lib).apply(x)
    return out.grad_fn.name(), [
        type(f).__name__ if f is not None else None for f, _ in out.grad_fn.next_functions
    ]


@case("function-vjp-jvp-attrs")
def _(lib):
    return hasattr(_Exp(lib), "vjp"), hasattr(_Exp(lib), "jvp"), hasattr(_Exp(lib), "vmap")


@case("functional-jacobian")
def _(lib):
    def f(a, b):
        return a * b.exp(), a.sum() * b

    x, y = _xy(lib)
    return lib.autograd.functional.jacobian(f, (x, y))


@case("functional-jacobian-single")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jacobian(lambda a: a**2, x)


@case("functional-jacobian-create-graph")
def _(lib):
    x, y = _xy(lib)
    j = lib.autograd.functional.jacobian(lambda a: a**3, x, create_graph=True)
    return j.requires_grad, j


@case("functional-jacobian-vectorize")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jacobian(
        lambda a: a.sin() * 2, x, vectorize=True
    ), lib.autograd.functional.jacobian(
        lambda a: a.sin() * 2, x, vectorize=True, strategy="forward-mode"
    )


@case("functional-jacobian-strict")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jacobian(lambda a, b: a * 2, (x, y), strict=True)


@case("functional-jacobian-independent")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jacobian(lambda a, b: a * 2, (x, y))


@case("functional-jacobian-strategy-forward-no-vectorize")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jacobian(lambda a: a * 2, x, strategy="forward-mode")


@case("functional-jacobian-output-not-tensor")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jacobian(lambda a: 3.0, x)


@case("functional-jacobian-input-requires-grad-kept")
def _(lib):
    x = lib.tensor([1.0, 2.0])
    j = lib.autograd.functional.jacobian(lambda a: a * 2, x)
    return j, x.requires_grad, x.grad


@case("functional-hessian")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hessian(lambda a, b: (a**2 * b).sum(), (x, y))


@case("functional-hessian-single")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hessian(lambda a: (a**3).sum(), x)


@case("functional-hessian-vectorize-outer-jacobian")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hessian(
        lambda a: (a**3).sum(), x, vectorize=True, outer_jacobian_strategy="forward-mode"
    )


@case("functional-hessian-nonscalar")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hessian(lambda a: a**3, x)


@case("functional-hessian-linear")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hessian(lambda a: a.sum() * 2, x)


@case("functional-hessian-linear-strict")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hessian(lambda a: a.sum() * 2, x, strict=True)


@case("functional-vjp")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.vjp(lambda a: a**2, x, lib.ones(3))


@case("functional-vjp-no-v-nonscalar", text=True)
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.vjp(lambda a: a**2, x)


@case("functional-vjp-scalar-no-v")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.vjp(lambda a: (a**2).sum(), x)


@case("functional-vjp-tuple")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.vjp(
        lambda a, b: (a * b, a + b), (x, y), (lib.ones(3), lib.full((3,), 2.0))
    )


@case("functional-vjp-v-shape")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.vjp(lambda a: a**2, x, lib.ones(2))


@case("functional-vjp-create-graph")
def _(lib):
    x, y = _xy(lib)
    out, g = lib.autograd.functional.vjp(lambda a: a**2, x, lib.ones(3), create_graph=True)
    return out.requires_grad, g.requires_grad


@case("functional-jvp")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jvp(lambda a: a**2, x, lib.ones(3))


@case("functional-jvp-no-v-nonscalar-input", text=True)
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jvp(lambda a: a**2, x)


@case("functional-jvp-scalar-input")
def _(lib):
    return lib.autograd.functional.jvp(lambda a: a**2, lib.tensor(3.0))


@case("functional-jvp-tuple")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jvp(lambda a, b: a * b, (x, y), (lib.ones(3), lib.ones(3)))


@case("functional-jvp-strict-independent")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.jvp(lambda a: lib.ones(3), x, lib.ones(3), strict=True)


@case("functional-hvp")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hvp(lambda a: (a**3).sum(), x, lib.ones(3))


@case("functional-vhp")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.vhp(
        lambda a, b: (a**2 * b).sum(), (x, y), (lib.ones(3), lib.ones(3))
    )


@case("functional-hvp-nonscalar")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hvp(lambda a: a**3, x, lib.ones(3))


@case("functional-hvp-no-v", text=True)
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hvp(lambda a: (a**3).sum(), x)


@case("functional-outputs-detached")
def _(lib):
    x, y = _xy(lib)
    out, j = lib.autograd.functional.vjp(lambda a: a * 2, x, lib.ones(3))
    return out.requires_grad, out.grad_fn is None, j.requires_grad


@case("functional-integer-input")
def _(lib):
    return lib.autograd.functional.jacobian(lambda a: a * 2, lib.tensor([1, 2]))


@case("grad-mode-in-functional")
def _(lib):
    x, y = _xy(lib)
    with lib.no_grad():
        return lib.autograd.functional.jacobian(lambda a: a**2, x)


@case("set-detect-anomaly-nan", text=True)
def _(lib):
    x = lib.tensor([-1.0], requires_grad=True)
    with lib.autograd.detect_anomaly():
        x.sqrt().sum().backward()
    return x.grad


def _AddOne(lib, factor=2):
    class AddOne(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            a.add_(b)
            ctx.mark_dirty(a)
            ctx.save_for_backward(b)
            return a

        @staticmethod
        def backward(ctx, g):
            (b,) = ctx.saved_tensors
            return g * factor, g * b

    return AddOne


@case("function-mark-dirty-other-input-grad")
def _(lib):
    x, y = _xy(lib)
    h = lib.zeros(3)
    out = _AddOne(lib).apply(h, y)
    out.sum().backward()
    return out is h, h.requires_grad, h.is_leaf, y.grad, h._version


@case("function-mark-dirty-no-grad")
def _(lib):
    x, y = _xy(lib)
    h = x * 1
    with lib.no_grad():
        out = _AddOne(lib).apply(h, y)
    return out is h, out.requires_grad, type(out.grad_fn).__name__, h


@case("function-mark-dirty-chain-and-hooks")
def _(lib):
    x, y = _xy(lib)
    h = x * 1
    seen = []
    h.register_hook(lambda g: seen.append(g.clone()))
    out = _AddOne(lib, 3).apply(h, y)
    (out * out).sum().backward()
    return seen, x.grad, y.grad


@case("function-mark-dirty-not-returned", text=True)
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.add_(1)
            ctx.mark_dirty(a)
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = _xy(lib)
    return F.apply(x * 1)


@case("function-mark-dirty-saved-input-modified-later")
def _(lib):
    x, y = _xy(lib)
    h = x * 1
    b = y * 1
    out = _AddOne(lib).apply(h, b)
    b.add_(1)
    out.sum().backward()


# Accumulation, views, hooks on the graph, grad modes, more Function and functional forms.


@case("hook-tensor-used-twice")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.clone()))
    (h * y + h).sum().backward()
    return seen


@case("hook-on-leaf-before-accumulate")
def _(lib):
    x, y = _xy(lib)
    x.grad = lib.ones(3)
    g0 = x.grad
    x.register_hook(lambda g: g * 10)
    (x * y).sum().backward()
    return x.grad, x.grad is g0


@case("grad-accumulates-in-place-identity")
def _(lib):
    x, y = _xy(lib)
    (x * y).sum().backward()
    g0 = x.grad
    (x * y).sum().backward()
    return x.grad is g0, x.grad


@case("grad-accumulates-create-graph-new-object")
def _(lib):
    x, y = _xy(lib)
    (x * y).sum().backward()
    g0 = x.grad
    (x**2).sum().backward(create_graph=True)
    return x.grad is g0, x.grad.requires_grad, x.grad


@case("grad-outputs-non-differentiable-output")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad([(x * 2).sum(), x.detach().sum()], [x])


@case("grad-outputs-seq-none-allow-unused")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.grad([(x * 2).sum()], [x, y], allow_unused=True, materialize_grads=True)


@case("grad-retain-graph-default-create-graph")
def _(lib):
    x, y = _xy(lib)
    z = (x.exp() * y).sum()
    lib.autograd.grad(z, x, create_graph=True)
    return lib.autograd.grad(z, x)


@case("backward-inputs-create-graph")
def _(lib):
    x, y = _xy(lib)
    (x**2 * y).sum().backward(inputs=[x], create_graph=True)
    return x.grad, x.grad.requires_grad, y.grad


@case("backward-gradient-dtype", text=True)
def _(lib):
    x, y = _xy(lib)
    (x * y).backward(lib.ones(3, dtype=lib.float64))
    return x.grad


@case("backward-gradient-requires-grad")
def _(lib):
    x, y = _xy(lib)
    v = lib.ones(3, requires_grad=True)
    (x * y).backward(v, create_graph=True)
    return x.grad.requires_grad


@case("grad-of-view")
def _(lib):
    x, y = _xy(lib)
    v = x[1:]
    return lib.autograd.grad((v * 2).sum(), v)


@case("grad-through-inplace-view")
def _(lib):
    x, y = _xy(lib)
    h = x * 1
    h[0] = y[1] * 5
    h.sum().backward()
    return x.grad, y.grad


@case("retain-grad-twice-and-view")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    h.retain_grad()
    h.retain_grad()
    v = h[:2]
    v.retain_grad()
    (v * 3).sum().backward()
    return h.grad, v.grad


@case("retain-grad-leaf-noop")
def _(lib):
    x, y = _xy(lib)
    x.retain_grad()
    (x * 2).sum().backward()
    return x.grad, x.retains_grad


@case("nonleaf-grad-warning-retain")
def _(lib):
    x, y = _xy(lib)
    h = x * y
    h.retain_grad()
    return h.grad


@case("requires-grad-setter-nonleaf")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    h.requires_grad = False


@case("requires-grad-setter-nonleaf-true")
def _(lib):
    x, y = _xy(lib)
    h = x * 2
    h.requires_grad = True
    return h.requires_grad


@case("detach-requires-grad-then-backward")
def _(lib):
    x, y = _xy(lib)
    d = (x * 2).detach().requires_grad_()
    (d * y).sum().backward()
    return d.grad, x.grad


@case("grad-fn-next-functions")
def _(lib):
    x, y = _xy(lib)
    z = (x * y).sum()
    f = z.grad_fn
    return (
        type(f).__name__,
        [(type(n).__name__ if n is not None else None, i) for n, i in f.next_functions],
        [
            [
                type(n).__name__ if n is not None else None
                for n, _ in f.next_functions[0][0].next_functions
            ]
        ],
    )


@case("grad-fn-accumulate-grad-variable")
def _(lib):
    x, y = _xy(lib)
    z = x * 2
    acc = z.grad_fn.next_functions[0][0]
    return type(acc).__name__, acc.variable is x


@case("tensor-hook-handle-twice-remove")
def _(lib):
    x, y = _xy(lib)
    h = x.register_hook(lambda g: g * 2)
    h.remove()
    h.remove()
    (x * 1).sum().backward()
    return x.grad


@case("hook-on-intermediate-returns-none-and-modifies-inplace")
def _(lib):
    x, y = _xy(lib)
    h = x * 2

    def hook(g):
        g.mul_(3)

    h.register_hook(hook)
    (h * y).sum().backward()
    return x.grad


@case("autograd-grad-no-grad-mode")
def _(lib):
    x, y = _xy(lib)
    z = (x**2).sum()
    with lib.no_grad():
        (g,) = lib.autograd.grad(z, x)
    return g


@case("autograd-grad-create-graph-no-grad-mode")
def _(lib):
    x, y = _xy(lib)
    z = (x**2).sum()
    with lib.no_grad():
        (g,) = lib.autograd.grad(z, x, create_graph=True)
    return g.requires_grad


@case("backward-under-no-grad")
def _(lib):
    x, y = _xy(lib)
    z = (x**2).sum()
    with lib.no_grad():
        z.backward()
    return x.grad


@case("function-apply-kwargs")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, scale=2.0):
            return a * scale

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x, y = _xy(lib)
    out = F.apply(x)
    out.sum().backward()
    return out, x.grad


@case("function-output-integer-tensor")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a.argmax()

        @staticmethod
        def backward(ctx, g, gi):
            return g * 2

    x, y = _xy(lib)
    a, b = F.apply(x)
    a.sum().backward()
    return b, b.requires_grad, x.grad


@case("function-backward-returns-wrong-dtype")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return (g * 2).double()

    x, y = _xy(lib)
    F.apply(x).sum().backward()
    return x.grad


@case("function-backward-broadcast-grad")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum() * lib.ones(1)

    x, y = _xy(lib)
    F.apply(x).sum().backward()
    return x.grad


@case("function-saved-tensors-in-forward-access", text=True)
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return ctx.saved_tensors[0] * 2

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = _xy(lib)
    return F.apply(x)


@case("function-ctx-attributes-persist")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            ctx.k = k
            ctx.shape = a.shape
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    x, y = _xy(lib)
    out = F.apply(x, 4)
    out.sum().backward()
    return x.grad, out.grad_fn.k if hasattr(out.grad_fn, "k") else "no-attr"


@case("jacobian-tuple-outputs-create-graph")
def _(lib):
    x, y = _xy(lib)
    j = lib.autograd.functional.jacobian(lambda a: (a**2, a.sum()), x, create_graph=True)
    return j, [t.requires_grad for t in j]


@case("hessian-create-graph")
def _(lib):
    x, y = _xy(lib)
    h = lib.autograd.functional.hessian(lambda a: (a**3).sum(), x, create_graph=True)
    return h.requires_grad, h


@case("vjp-strict-independent")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.vjp(lambda a: lib.ones(3), x, lib.ones(3), strict=True)


@case("vjp-nonstrict-independent")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.vjp(lambda a: lib.ones(3) * 2, x, lib.ones(3))


@case("jvp-create-graph")
def _(lib):
    x, y = _xy(lib)
    out, t = lib.autograd.functional.jvp(lambda a: a**2, x, lib.ones(3), create_graph=True)
    return out.requires_grad, t.requires_grad, t


@case("hvp-tuple")
def _(lib):
    x, y = _xy(lib)
    return lib.autograd.functional.hvp(
        lambda a, b: (a**2 * b).sum(), (x, y), (lib.ones(3), lib.ones(3))
    )


@case("functional-non-tensor-input")
def _(lib):
    return lib.autograd.functional.jacobian(lambda a: a, 3.0)


@case("anomaly-mode-flag")
def _(lib):
    with lib.autograd.set_detect_anomaly(True):
        a = lib.is_anomaly_enabled()
    return a, lib.is_anomaly_enabled()


@case("grad-mode-decorators-generators")
def _(lib):
    @lib.no_grad()
    def gen(t):
        yield t * 2
        yield lib.is_grad_enabled()

    x, y = _xy(lib)
    out = list(gen(x))
    return out[0].requires_grad, out[1], lib.is_grad_enabled()


@case("inference-mode-tensor-in-autograd")
def _(lib):
    with lib.inference_mode():
        t = lib.ones(3)
    x, y = _xy(lib)
    (x * t).sum().backward()
    return x.grad, t.is_inference()


@case("inference-mode-inplace-outside")
def _(lib):
    with lib.inference_mode():
        t = lib.ones(3)
    t.add_(1)


# PyTorch's other names on Function.


@case("function-vjp-instead-of-backward")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def vjp(ctx, g):
            return g * 7

    x = lib.tensor([1.0, 2.0], requires_grad=True)
    F.apply(x).sum().backward()
    return x.grad


@case("function-jvp-default-raises", text=True)
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g

    return F.jvp(None, None)


# torch.autograd.graph, forward AD, gradcheck, checkpointing.


@case("multi-grad-hook-all")
def _(lib):
    x, y = _xy(lib)
    seen = []
    lib.autograd.graph.register_multi_grad_hook(
        (x, y), lambda grads: seen.append([g is None for g in grads])
    )
    (x * 2).sum().backward()
    return seen


@case("multi-grad-hook-any")
def _(lib):
    x, y = _xy(lib)
    seen = []
    lib.autograd.graph.register_multi_grad_hook((x, y), lambda g: seen.append(g.shape), mode="any")
    (x * y).sum().backward()
    return seen


@case("increment-version")
def _(lib):
    x, y = _xy(lib)
    h = x * 1
    z = h.exp()
    lib.autograd.graph.increment_version(h)
    try:
        z.sum().backward()
        return "ok", h._version
    except RuntimeError:
        return "RuntimeError", h._version


@case("forward-ad-basic")
def _(lib):
    import importlib

    fwAD = importlib.import_module(lib.__name__ + ".autograd.forward_ad")
    x = lib.tensor([1.0, 2.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, lib.tensor([1.0, 0.0]))
        out = (d.sin() * d).sum()
        p, t = fwAD.unpack_dual(out)
    return p, t


@case("forward-ad-function-jvp")
def _(lib):
    import importlib

    fwAD = importlib.import_module(lib.__name__ + ".autograd.forward_ad")

    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_forward(a)
            return a * a

        @staticmethod
        def backward(ctx, g):
            return g

        @staticmethod
        def jvp(ctx, t):
            (a,) = ctx.saved_tensors
            return 2 * a * t

    x = lib.tensor([1.0, 3.0])
    with fwAD.dual_level():
        d = fwAD.make_dual(x, lib.ones(2))
        out = Sq.apply(d)
        return fwAD.unpack_dual(out).tangent


@case("forward-ad-function-no-jvp", text=False)
def _(lib):
    import importlib

    fwAD = importlib.import_module(lib.__name__ + ".autograd.forward_ad")

    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * a

        @staticmethod
        def backward(ctx, g):
            return g

    with fwAD.dual_level():
        d = fwAD.make_dual(lib.tensor([1.0]), lib.ones(1))
        return fwAD.unpack_dual(Sq.apply(d)).tangent


@case("gradcheck-custom")
def _(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a**3

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 3 * a * a * g

    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    return lib.autograd.gradcheck(Cube.apply, (x,)), lib.autograd.gradgradcheck(Cube.apply, (x,))


@case("gradcheck-wrong-raises")
def _(lib):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a**2

        @staticmethod
        def backward(ctx, g):
            return g

    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    try:
        lib.autograd.gradcheck(Bad.apply, (x,))
    except Exception as e:
        return (
            type(e).__mro__[1].__name__
            if type(e).__name__ == "GradcheckError"
            else type(e).__name__
        )
    return "no error"


@case("gradcheck-raise-false")
def _(lib):
    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    return lib.autograd.gradcheck(lambda a: a.detach() * 2 + a * 0, (x,), raise_exception=False)


@case("checkpoint-grad")
def _(lib):
    import importlib

    cp = importlib.import_module(lib.__name__ + ".utils.checkpoint")
    x, y = _xy(lib)
    out = cp.checkpoint(lambda a, b: (a.exp() * b).sum(), x, y, use_reentrant=False)
    out.backward()
    return out, x.grad, y.grad


@case("checkpoint-sequential")
def _(lib):
    import importlib

    cp = importlib.import_module(lib.__name__ + ".utils.checkpoint")
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Tanh(), lib.nn.Linear(3, 1))
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.linspace(-1, 1, p.numel()).reshape(p.shape))
    x = lib.ones(2, 3, requires_grad=True)
    out = cp.checkpoint_sequential(m, 2, x, use_reentrant=False)
    out.sum().backward()
    return out, x.grad, m[0].weight.grad


@case("increment-version-saved")
def _(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    z = h * h
    lib.autograd.graph.increment_version(h)
    z.sum().backward()
