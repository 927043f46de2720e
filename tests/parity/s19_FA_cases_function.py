"""Cases of session 19's FA sweep: custom ``torch.autograd.Function`` (both styles, ctx
features, wrong gradients, jvp / vmap staticmethods, double backward) and
``torch.autograd.functional`` (jacobian / hessian options, vjp / jvp / hvp / vhp)."""

from s19_FA_cases_func import _x, case


def _cube(lib, setup_context: bool):
    """x ** 3 with a backward written in the library's ops (so double backward works)."""
    if setup_context:
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x):
                return x ** 3, x * 1.0

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])
                ctx.save_for_forward(inputs[0])

            @staticmethod
            def backward(ctx, g, g_copy):
                (x,) = ctx.saved_tensors
                return g * 3 * x ** 2 + g_copy

            @staticmethod
            def jvp(ctx, t):
                (x,) = ctx.saved_tensors
                return t * 3 * x ** 2, t

            @staticmethod
            def vmap(info, in_dims, x):
                return (x ** 3, x * 1.0), (in_dims[0], in_dims[0])
    else:
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3, x * 1.0

            @staticmethod
            def backward(ctx, g, g_copy):
                (x,) = ctx.saved_tensors
                return g * 3 * x ** 2 + g_copy
    return Cube


for _style in (False, True):
    _tag = "setup" if _style else "ctx"

    @case(f"fn-{_tag}-backward")
    def _(lib, style=_style):
        x = _x(lib, 3).requires_grad_()
        a, b = _cube(lib, style).apply(x)
        (a.sum() + 2 * b.sum()).backward()
        return a, b, x.grad, type(a.grad_fn).__name__.startswith("Cube")

    @case(f"fn-{_tag}-double-backward")
    def _(lib, style=_style):
        x = _x(lib, 3).requires_grad_()
        a, _ = _cube(lib, style).apply(x)
        (g,) = lib.autograd.grad(a.sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return g, gg

    @case(f"fn-{_tag}-grad-transform")
    def _(lib, style=_style):
        return lib.func.grad(lambda x: _cube(lib, style).apply(x)[0].sum())(_x(lib, 3))


@case("fn-jvp-staticmethod", no_rg=True)
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 3), _x(lib, 3, seed=1))
        a, b = _cube(lib, True).apply(d)
        return fwAD.unpack_dual(a), fwAD.unpack_dual(b)


@case("fn-jvp-func-transform")
def _(lib):
    f = _cube(lib, True)
    return lib.func.jvp(lambda x: f.apply(x)[0], (_x(lib, 3),), (_x(lib, 3, seed=1),))


@case("fn-vmap-staticmethod")
def _(lib):
    return lib.func.vmap(lambda x: _cube(lib, True).apply(x)[0])(_x(lib, 2, 3))


@case("fn-vmap-generated-rule")
def _(lib):
    class Square(lib.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    xs = _x(lib, 2, 3)
    return lib.func.vmap(Square.apply)(xs), lib.func.vmap(lib.func.grad(
        lambda x: Square.apply(x).sum()))(xs)


@case("fn-vmap-no-rule")
def _(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g

    return lib.func.vmap(Square.apply)(_x(lib, 2, 3))


@case("fn-vmap-old-style")
def _(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g

    return lib.func.vmap(Square.apply)(_x(lib, 2, 3))


@case("fn-grad-transform-old-style")
def _(lib):
    class Square(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    return lib.func.grad(lambda x: Square.apply(x).sum())(_x(lib, 3))


def _simple(lib, backward, forward=None, n_inputs=1):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            ctx.n = len(args)
            return forward(ctx, *args) if forward else args[0] * 2

    F.backward = staticmethod(backward)
    return F


@case("fn-returns-none-grads")
def _(lib):
    F = _simple(lib, lambda ctx, g: (g * 2, None), lambda ctx, a, b: a * 2 + b)
    x, y = _x(lib, 3).requires_grad_(), _x(lib, 3, seed=1).requires_grad_()
    F.apply(x, y).sum().backward()
    return x.grad, y.grad


@case("fn-too-few-grads")
def _(lib):
    F = _simple(lib, lambda ctx, g: g * 2, lambda ctx, a, b: a * 2 + b)
    x, y = _x(lib, 3).requires_grad_(), _x(lib, 3, seed=1).requires_grad_()
    F.apply(x, y).sum().backward()
    return x.grad, y.grad


@case("fn-too-many-grads")
def _(lib):
    F = _simple(lib, lambda ctx, g: (g, g, g))
    x = _x(lib, 3).requires_grad_()
    F.apply(x).sum().backward()
    return x.grad


@case("fn-too-many-grads-none-extra")
def _(lib):
    F = _simple(lib, lambda ctx, g: (g, None, None))
    x = _x(lib, 3).requires_grad_()
    F.apply(x).sum().backward()
    return x.grad


@case("fn-wrong-grad-shape", text=True)
def _(lib):
    F = _simple(lib, lambda ctx, g: g[:2])
    x = _x(lib, 3).requires_grad_()
    F.apply(x).sum().backward()
    return x.grad


@case("fn-broadcastable-grad-shape")
def _(lib):
    F = _simple(lib, lambda ctx, g: g.sum(0, keepdim=True).expand(2, 2, 3))
    x = _x(lib, 2, 3).requires_grad_()
    F.apply(x).sum().backward()
    return x.grad


@case("fn-grad-wrong-dtype")
def _(lib):
    F = _simple(lib, lambda ctx, g: g.float())
    x = _x(lib, 3).requires_grad_()
    F.apply(x).sum().backward()
    return x.grad


@case("fn-grad-for-int-input")
def _(lib):
    F = _simple(lib, lambda ctx, g: (g, lib.ones(3)), lambda ctx, a, i: a * i)
    x = _x(lib, 3).requires_grad_()
    F.apply(x, lib.arange(3)).sum().backward()
    return x.grad


@case("fn-grad-not-tensor")
def _(lib):
    F = _simple(lib, lambda ctx, g: 3.0)
    x = _x(lib, 3).requires_grad_()
    F.apply(x).sum().backward()
    return x.grad


@case("fn-needs-input-grad")
def _(lib):
    seen = []

    def backward(ctx, g):
        seen.append(ctx.needs_input_grad)
        return g, g, None

    F = _simple(lib, backward, lambda ctx, a, b, k: a * b * k)
    x, y = _x(lib, 3).requires_grad_(), _x(lib, 3, seed=1)
    F.apply(x, y, 2.0).sum().backward()
    return seen, x.grad


@case("fn-non-tensor-outputs")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, 7, "s", None

        @staticmethod
        def backward(ctx, g, *rest):
            return g * 2 + (0 if rest == (None, None, None) else 100)

    x = _x(lib, 3).requires_grad_()
    out = F.apply(x)
    out[0].sum().backward()
    return out, x.grad


@case("fn-mark-non-differentiable")
def _(lib):
    class Sort(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, index = x.sort()
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            return values, index

        @staticmethod
        def backward(ctx, g, g_index):
            (index,) = ctx.saved_tensors
            out = lib.zeros_like(g)
            out[index] = g
            return out

    x = _x(lib, 4).requires_grad_()
    values, index = Sort.apply(x)
    (values * lib.arange(4)).sum().backward()
    return values, index, index.requires_grad, x.grad


@case("fn-mark-dirty")
def _(lib):
    class Twice(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _x(lib, 3).requires_grad_()
    z = x.clone()
    out = Twice.apply(z)
    (out * out).sum().backward()
    return out is z, out, x.grad


@case("fn-mark-dirty-leaf-error")
def _(lib):
    class Twice(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return Twice.apply(_x(lib, 3).requires_grad_())


@case("fn-materialize-grads-false")
def _(lib):
    seen = []

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append((ga is None, gb is None))
            return (ga if ga is not None else 0) * 2 + (gb if gb is not None else 0) * 3

    x = _x(lib, 3).requires_grad_()
    a, _ = Two.apply(x)
    a.sum().backward()
    return seen, x.grad


@case("fn-materialize-grads-default")
def _(lib):
    seen = []

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append(gb)
            return ga * 2 + gb * 3

    x = _x(lib, 3).requires_grad_()
    Two.apply(x)[0].sum().backward()
    return seen, x.grad


@case("fn-once-differentiable")
def _(lib):
    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = _x(lib, 3).requires_grad_()
    (g,) = lib.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    first = (g, g.requires_grad)
    g.sum().backward()
    return first


@case("fn-saved-tensors-twice-backward")
def _(lib):
    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = _x(lib, 3).requires_grad_()
    y = Sq.apply(x).sum()
    y.backward()
    y.backward()
    return x.grad


@case("fn-save-non-tensor")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g

    return F.apply(_x(lib, 3).requires_grad_())


@case("fn-no-grad-input")
def _(lib):
    out = _cube(lib, False).apply(_x(lib, 3))
    return out, out[0].grad_fn is None


@case("fn-forward-kwargs")
def _(lib):
    F = _simple(lib, lambda ctx, g: g * ctx.scale,
                lambda ctx, a, scale=2.0: (setattr(ctx, "scale", scale), a * scale)[1])
    x = _x(lib, 3).requires_grad_()
    F.apply(x, scale=3.0).sum().backward()
    return x.grad


@case("fn-call-forward-directly")
def _(lib):
    return _cube(lib, True).forward(_x(lib, 2))


@case("fn-instantiate-call")
def _(lib):
    return _cube(lib, True)()(_x(lib, 2))


@case("fn-jvp-saved-for-backward-only")
def _(lib):
    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return 2 * x * t

    return lib.func.jvp(Sq.apply, (_x(lib, 3),), (_x(lib, 3, seed=1),))


@case("fn-jvp-missing", no_rg=True)
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 3), _x(lib, 3, seed=1))
        return fwAD.unpack_dual(F.apply(d))
