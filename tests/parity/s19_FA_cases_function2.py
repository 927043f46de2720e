"""Cases of session 19's FA sweep, third part: more custom ``autograd.Function`` semantics
(freed saved tensors, the vjp alias, missing methods, outputs returned twice or as lists,
mark_dirty / mark_non_differentiable corners, gradcheck of a Function, a Function inside
forward AD with backward through it)."""

from s19_FA_cases_func import _x, case


def sq(lib, save=True):
    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            if save:
                ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    return Sq


@case("fn2-fn-backward-twice-freed")
def _(lib):
    x = _x(lib, 3).requires_grad_()
    y = sq(lib).apply(x).sum()
    y.backward()
    y.backward()
    return x.grad


@case("fn2-fn-vjp-alias")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def vjp(ctx, g):
            return g * 5

    x = _x(lib, 3).requires_grad_()
    F.apply(x).sum().backward()
    return x.grad


@case("fn2-fn-no-backward")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = _x(lib, 3).requires_grad_()
    F.apply(x).sum().backward()
    return x.grad


@case("fn2-fn-no-forward")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def backward(ctx, g):
            return g

    return F.apply(_x(lib, 3))


@case("fn2-fn-under-no-grad")
def _(lib):
    x = _x(lib, 3).requires_grad_()
    with lib.no_grad():
        y = sq(lib).apply(x)
    return y.requires_grad, y.grad_fn is None


@case("fn2-fn-grad-fn-name")
def _(lib):
    x = _x(lib, 3).requires_grad_()
    y = sq(lib).apply(x)
    return type(y.grad_fn).__name__, y.grad_fn.name() if hasattr(y.grad_fn, "name") else None


@case("fn2-fn-output-is-leaf")
def _(lib):
    x = _x(lib, 3).requires_grad_()
    y = sq(lib).apply(x)
    return y.is_leaf, y.requires_grad


@case("fn2-fn-saved-tensors-in-forward-error")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return ctx.saved_tensors[0] * 2

        @staticmethod
        def backward(ctx, g):
            return g

    return F.apply(_x(lib, 3).requires_grad_())


@case("fn2-fn-save-intermediate-old-style")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y * 2

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * 2 * y

    x = _x(lib, 3).requires_grad_()
    (g,) = lib.autograd.grad(F.apply(x).sum(), x, create_graph=True)
    (gg,) = lib.autograd.grad(g.sum(), x)
    return g, gg


@case("fn2-fn-ctx-attrs-in-backward")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            ctx.shape = x.shape
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    x = _x(lib, 3).requires_grad_()
    F.apply(x, 4).sum().backward()
    return x.grad


@case("fn2-fn-output-tuple-of-one")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return (x * 2,)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _x(lib, 3).requires_grad_()
    out = F.apply(x)
    out[0].sum().backward()
    return type(out).__name__, len(out), x.grad


@case("fn2-fn-output-list")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return [x * 2, x * 3]

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _x(lib, 3).requires_grad_()
    out = F.apply(x)
    return type(out).__name__


@case("fn2-fn-same-output-twice")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            return y, y

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 20

    x = _x(lib, 3).requires_grad_()
    a, b = F.apply(x)
    (a.sum() + b.sum() * 10).backward()
    return a is b, x.grad


@case("fn2-fn-return-input-and-new")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 + 2 * g2

    x = _x(lib, 3).requires_grad_()
    a, b = F.apply(x.clone())
    (a * 5 + b).sum().backward()
    return x.grad, a.grad_fn is not None


@case("fn2-fn-complex")
def _(lib):
    class C(lib.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g * 2 * z.conj()

    z = lib.tensor([1 + 2j, 3 - 1j], requires_grad=True)
    C.apply(z).abs().sum().backward()
    return z.grad


@case("fn2-fn-gradcheck")
def _(lib):
    class E(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = _x(lib, 3).requires_grad_()
    return lib.autograd.gradcheck(E.apply, (x,)), lib.autograd.gradgradcheck(E.apply, (x,))


@case("fn2-fn-gradcheck-wrong")
def _(lib):
    class E(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()

        @staticmethod
        def backward(ctx, g):
            return g

    x = _x(lib, 3).requires_grad_()
    return lib.autograd.gradcheck(E.apply, (x,), raise_exception=False)


@case("fn2-fn-forward-ad-jvp-plus-grad")
def _(lib):
    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return 2 * x * t

    F = lib.autograd.forward_ad
    x = _x(lib, 3).requires_grad_()
    with F.dual_level():
        d = F.make_dual(x, _x(lib, 3, seed=1))
        y = Sq.apply(d).sin()
        u = F.unpack_dual(y)
        u.primal.sum().backward()
        return u.primal.detach(), u.tangent, x.grad


@case("fn2-fn-mark-non-diff-float-grad-none")
def _(lib):
    seen = []

    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            a, b = x * 2, x * 3
            ctx.mark_non_differentiable(b)
            return a, b

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append(gb)
            return ga * 2

    x = _x(lib, 3).requires_grad_()
    a, b = F.apply(x)
    (a.sum()).backward()
    return seen, b.requires_grad, x.grad


@case("fn2-fn-backward-non-diff-output")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            b = x * 3
            ctx.mark_non_differentiable(b)
            return b

        @staticmethod
        def backward(ctx, g):
            return g

    x = _x(lib, 3).requires_grad_()
    return F.apply(x).sum().backward()


@case("fn2-fn-dirty-not-returned")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g

    x = _x(lib, 3).requires_grad_()
    return F.apply(x.clone())


@case("fn2-fn-inplace-without-mark-dirty")
def _(lib):
    class F(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = _x(lib, 3).requires_grad_()
    z = x.clone()
    out = F.apply(z)
    out.sum().backward()
    return out is z, x.grad, out
