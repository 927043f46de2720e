"""Cases of session 19's FA sweep: ``torch.autograd.functional`` (jacobian / hessian with
vectorize, strategy, create_graph, strict; vjp / jvp / hvp / vhp)."""

from s19_FA_cases_func import _x, case


def _f2(x, y):
    return (x.sin() * y).sum(0), x.exp().sum()


def _scalar(x, y):
    return (x ** 2 * y.exp()).sum()


_KW = {
    "plain": {},
    "vectorize": {"vectorize": True},
    "forward": {"vectorize": True, "strategy": "forward-mode"},
    "create-graph": {"create_graph": True},
    "strict": {"strict": True},
}
for _tag, _kw in _KW.items():
    @case(f"afn-jacobian-{_tag}")
    def _(lib, kw=_kw):
        return lib.autograd.functional.jacobian(_f2, (_x(lib, 2, 3), _x(lib, 2, 3, seed=1)),
                                                **kw)

    @case(f"afn-jacobian-single-{_tag}")
    def _(lib, kw=_kw):
        return lib.autograd.functional.jacobian(lambda x: x.softmax(0), _x(lib, 4), **kw)

    @case(f"afn-hessian-{_tag}")
    def _(lib, kw=_kw):
        kw = dict(kw)
        if kw.pop("strategy", None):
            kw["outer_jacobian_strategy"] = "forward-mode"
        return lib.autograd.functional.hessian(_scalar, (_x(lib, 3), _x(lib, 3, seed=1)), **kw)


@case("afn-jacobian-strict-independent")
def _(lib):
    return lib.autograd.functional.jacobian(lambda x, y: x * 2, (_x(lib, 2), _x(lib, 2)),
                                            strict=True)


@case("afn-jacobian-independent")
def _(lib):
    return lib.autograd.functional.jacobian(lambda x, y: x * 2, (_x(lib, 2), _x(lib, 2)))


@case("afn-jacobian-strict-vectorize")
def _(lib):
    return lib.autograd.functional.jacobian(lambda x: x * 2, _x(lib, 2), strict=True,
                                            vectorize=True)


@case("afn-jacobian-bad-strategy")
def _(lib):
    return lib.autograd.functional.jacobian(lambda x: x * 2, _x(lib, 2), strategy="side")


@case("afn-jacobian-forward-no-vectorize")
def _(lib):
    return lib.autograd.functional.jacobian(lambda x: x * 2, _x(lib, 2),
                                            strategy="forward-mode")


@case("afn-jacobian-create-graph-backward")
def _(lib):
    x = _x(lib, 3).requires_grad_()
    j = lib.autograd.functional.jacobian(lambda a: a ** 3, x, create_graph=True)
    j.sum().backward()
    return j, x.grad


@case("afn-jacobian-non-tensor-output")
def _(lib):
    return lib.autograd.functional.jacobian(lambda x: 3.0, _x(lib, 2))


@case("afn-hessian-nonscalar")
def _(lib):
    return lib.autograd.functional.hessian(lambda x: x ** 2, _x(lib, 2))


@case("afn-vjp")
def _(lib):
    return lib.autograd.functional.vjp(lambda x: x.sin() * 2, _x(lib, 3), _x(lib, 3, seed=1))


@case("afn-vjp-scalar-no-v")
def _(lib):
    return lib.autograd.functional.vjp(lambda x: x.sin().sum(), _x(lib, 3))


@case("afn-vjp-nonscalar-no-v")
def _(lib):
    return lib.autograd.functional.vjp(lambda x: x.sin(), _x(lib, 3))


@case("afn-vjp-v-shape")
def _(lib):
    return lib.autograd.functional.vjp(lambda x: x.sin(), _x(lib, 3), _x(lib, 4))


@case("afn-jvp")
def _(lib):
    return lib.autograd.functional.jvp(_f2, (_x(lib, 2, 3), _x(lib, 2, 3, seed=1)),
                                       (_x(lib, 2, 3, seed=2), _x(lib, 2, 3, seed=3)))


@case("afn-jvp-scalar-input-no-v")
def _(lib):
    return lib.autograd.functional.jvp(lambda x: x * 2, lib.tensor(2.0))


@case("afn-jvp-create-graph")
def _(lib):
    x = _x(lib, 3).requires_grad_()
    out, j = lib.autograd.functional.jvp(lambda a: a ** 3, x, _x(lib, 3, seed=1),
                                         create_graph=True)
    j.sum().backward()
    return out, j, x.grad


@case("afn-hvp")
def _(lib):
    return lib.autograd.functional.hvp(_scalar, (_x(lib, 3), _x(lib, 3, seed=1)),
                                       (_x(lib, 3, seed=2), _x(lib, 3, seed=3)))


@case("afn-vhp")
def _(lib):
    return lib.autograd.functional.vhp(_scalar, (_x(lib, 3), _x(lib, 3, seed=1)),
                                       (_x(lib, 3, seed=2), _x(lib, 3, seed=3)))


@case("afn-hvp-nonscalar")
def _(lib):
    return lib.autograd.functional.hvp(lambda x: x ** 2, _x(lib, 3), _x(lib, 3))


@case("afn-hvp-strict-linear")
def _(lib):
    return lib.autograd.functional.hvp(lambda x: x.sum() * 2, _x(lib, 3), _x(lib, 3),
                                       strict=True)


@case("afn-vhp-linear")
def _(lib):
    return lib.autograd.functional.vhp(lambda x: x.sum() * 2, _x(lib, 3), _x(lib, 3))


@case("afn-input-not-tensor")
def _(lib):
    return lib.autograd.functional.jacobian(lambda x: x * 2, [1.0, 2.0])


@case("afn-jacobian-int-input")
def _(lib):
    return lib.autograd.functional.jacobian(lambda x: x * 2, lib.arange(3))
