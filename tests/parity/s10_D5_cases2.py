"""More cases of tests/parity/test_s10_D5_autograd.py (autograd.functional, torch.func,
forward-mode AD, checkpoint, hooks, anomaly mode), as in s10_D5_cases.py."""
# ruff: noqa: E731

import numpy as np

CASES = {}


def c(function):
    CASES[function.__name__] = function
    return function


# from c4.py
def A(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def T(m, shape, seed=0, rg=False):
    return m.tensor(A(shape, seed), requires_grad=rg)


def f1(x):
    return (x.sin() * x.exp()).cumsum(0)


def f2(x, y):
    return (x * y.exp()).sum() + (x**2).sum()


def fs(x):
    return (x.sin() ** 2).sum() * x.sum()


for cg in (False, True):

    def j1(m, cg=cg):
        return m.autograd.functional.jacobian(f1, T(m, (3,)), create_graph=cg)

    def j2(m, cg=cg):
        return m.autograd.functional.jacobian(f2, (T(m, (3,)), T(m, (3,), 1)), create_graph=cg)

    def h1(m, cg=cg):
        return m.autograd.functional.hessian(fs, T(m, (3,)), create_graph=cg)

    def h2(m, cg=cg):
        return m.autograd.functional.hessian(f2, (T(m, (3,)), T(m, (3,), 1)), create_graph=cg)

    def v1(m, cg=cg):
        return m.autograd.functional.vjp(f1, T(m, (3,)), T(m, (3,), 2), create_graph=cg)

    def jv1(m, cg=cg):
        return m.autograd.functional.jvp(f1, T(m, (3,)), T(m, (3,), 2), create_graph=cg)

    def hv1(m, cg=cg):
        return m.autograd.functional.hvp(fs, T(m, (3,)), T(m, (3,), 2), create_graph=cg)

    def vh1(m, cg=cg):
        return m.autograd.functional.vhp(fs, T(m, (3,)), T(m, (3,), 2), create_graph=cg)

    for f in (j1, j2, h1, h2, v1, jv1, hv1, vh1):
        CASES[f.__name__ + str(cg)] = f


def jvec(m):
    return m.autograd.functional.jacobian(f1, T(m, (3,)), vectorize=True)


def jfwd(m):
    return m.autograd.functional.jacobian(f1, T(m, (3,)), vectorize=True, strategy="forward-mode")


def jfwd_novec(m):
    return m.autograd.functional.jacobian(f1, T(m, (3,)), strategy="forward-mode")


def jbad(m):
    return m.autograd.functional.jacobian(f1, T(m, (3,)), strategy="bogus")


def hvec(m):
    return m.autograd.functional.hessian(fs, T(m, (3,)), vectorize=True)


def hout(m):
    return m.autograd.functional.hessian(
        fs, T(m, (3,)), vectorize=True, outer_jacobian_strategy="forward-mode"
    )


def jstrict(m):
    return m.autograd.functional.jacobian(lambda x: x.detach() * 2, T(m, (3,)), strict=True)


def jnonstrict(m):
    return m.autograd.functional.jacobian(lambda x: x.detach() * 2, T(m, (3,)))


def jstrict_const(m):
    return m.autograd.functional.jacobian(
        lambda x: m.ones(2, dtype=m.float64), T(m, (3,)), strict=True
    )


def jnonstrict_const(m):
    return m.autograd.functional.jacobian(lambda x: m.ones(2, dtype=m.float64), T(m, (3,)))


def vjp_none(m):
    return m.autograd.functional.vjp(fs, T(m, (3,)))


def vjp_none_nonscalar(m):
    return m.autograd.functional.vjp(f1, T(m, (3,)))


def jvp_tuple(m):
    return m.autograd.functional.jvp(
        lambda a, b: (a * b, a + b), (T(m, (3,)), T(m, (3,), 1)), (T(m, (3,), 2), T(m, (3,), 3))
    )


def hessian_strict_lin(m):
    return m.autograd.functional.hessian(lambda x: x.sum(), T(m, (3,)), strict=True)


def hessian_lin(m):
    return m.autograd.functional.hessian(lambda x: x.sum(), T(m, (3,)))


def jac_multi_out(m):
    return m.autograd.functional.jacobian(lambda x: (x * 2, x.sum()), T(m, (2, 2)))


def jac_rg_out(m):
    x = T(m, (3,))
    J = m.autograd.functional.jacobian(f1, x)
    return J.requires_grad, x.requires_grad


def jac_cg_rg(m):
    x = T(m, (3,), rg=True)
    J = m.autograd.functional.jacobian(f1, x, create_graph=True)
    return J.requires_grad, m.autograd.grad(J.sum(), x)


for f in (
    jvec,
    jfwd,
    jfwd_novec,
    jbad,
    hvec,
    hout,
    jstrict,
    jnonstrict,
    jstrict_const,
    jnonstrict_const,
    vjp_none,
    vjp_none_nonscalar,
    jvp_tuple,
    hessian_strict_lin,
    hessian_lin,
    jac_multi_out,
    jac_rg_out,
    jac_cg_rg,
):
    CASES[f.__name__] = f
for kw in [
    dict(strategy="forward-mode"),
    dict(strategy="forward-mode", vectorize=True, strict=True),
    dict(strategy="forward-mode", vectorize=True, create_graph=True),
    dict(strategy="forward-mode", vectorize=True, create_graph=True, strict=True),
    dict(strategy="forward-mode", strict=True),
]:
    CASES["jkw" + str(kw)] = lambda m, kw=kw: m.autograd.functional.jacobian(f1, T(m, (3,)), **kw)
for kw in [
    dict(outer_jacobian_strategy="forward-mode"),
    dict(outer_jacobian_strategy="bogus", vectorize=True),
    dict(outer_jacobian_strategy="forward-mode", vectorize=True, strict=True),
    dict(outer_jacobian_strategy="forward-mode", vectorize=True, create_graph=True),
]:
    CASES["hkw" + str(kw)] = lambda m, kw=kw: m.autograd.functional.hessian(fs, T(m, (3,)), **kw)
CASES["jfwd_tuple"] = lambda m: m.autograd.functional.jacobian(
    lambda a, b: (a * b, a.sum() * b),
    (T(m, (3,)), T(m, (3,), 1)),
    vectorize=True,
    strategy="forward-mode",
)


# --------------------------------------------------------------------------------------------
# from c5.py
@c
def fgrad(m):
    return m.func.grad(fs)(T(m, (3,)))


@c
def fgrad_argnums(m):
    return m.func.grad(lambda a, b: (a * b.exp()).sum(), argnums=(0, 1))(T(m, (3,)), T(m, (3,), 1))


@c
def fgrad_aux(m):
    return m.func.grad(lambda a: ((a**2).sum(), a * 2), has_aux=True)(T(m, (3,)))


@c
def fgav(m):
    return m.func.grad_and_value(fs)(T(m, (3,)))


@c
def fgrad_grad(m):
    return m.func.grad(lambda x: m.func.grad(fs)(x).sum())(T(m, (3,)))


@c
def fvjp(m):
    out, fn = m.func.vjp(f1, T(m, (3,)))
    return out, fn(T(m, (3,), 2))


@c
def fjvp(m):
    return m.func.jvp(f1, (T(m, (3,)),), (T(m, (3,), 2),))


@c
def fjacrev(m):
    return m.func.jacrev(f1)(T(m, (3,)))


@c
def fjacfwd(m):
    return m.func.jacfwd(f1)(T(m, (3,)))


@c
def fjacrev_arg(m):
    return m.func.jacrev(lambda a, b: a * b, argnums=1)(T(m, (3,)), T(m, (3,), 1))


@c
def fhess(m):
    return m.func.hessian(fs)(T(m, (3,)))


@c
def fvmap(m):
    return m.func.vmap(lambda x: (x**2).sum())(T(m, (4, 3)))


@c
def fvmap_in_dims(m):
    return m.func.vmap(lambda x, y: x @ y, in_dims=(1, None))(T(m, (3, 4)), T(m, (3, 2), 1))


@c
def fvmap_out_dims(m):
    return m.func.vmap(lambda x: x * 2, out_dims=1)(T(m, (4, 3)))


@c
def fvmap_chunk(m):
    return m.func.vmap(lambda x: x.sum(0), chunk_size=2)(T(m, (5, 3)))


@c
def fvmap_grad(m):
    return m.func.vmap(m.func.grad(fs))(T(m, (4, 3)))


@c
def fvmap_nested(m):
    return m.func.vmap(m.func.vmap(lambda x: x.sin()))(T(m, (2, 3)))


@c
def fvmap_size_err(m):
    return m.func.vmap(lambda x, y: x + y)(T(m, (4, 3)), T(m, (3, 3)))


@c
def fvmap_rand_err(m):
    return m.func.vmap(lambda x: x + m.rand(3))(T(m, (4, 3)))


@c
def fvmap_rand_same(m):
    m.manual_seed(0)
    r = m.func.vmap(lambda x: x + m.rand(3, dtype=m.float64), randomness="same")(T(m, (4, 3)))
    return r[0] - r[1]


@c
def fvmap_dropout_err(m):
    return m.func.vmap(lambda x: m.nn.functional.dropout(x, 0.5))(T(m, (4, 3)))


@c
def fvmap_item_err(m):
    return m.func.vmap(lambda x: x.sum().item())(T(m, (4, 3)))


@c
def fvmap_tuple_out(m):
    return m.func.vmap(lambda x: (x.sum(), x * 2))(T(m, (4, 3)))


@c
def fvmap_kw(m):
    return m.func.vmap(lambda x, scale: x * scale)(T(m, (4, 3)), scale=2.0)


@c
def flinearize(m):
    out, fn = m.func.linearize(f1, T(m, (3,)))
    return out, fn(T(m, (3,), 2))


@c
def ffunctional_call(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    p = {k: v.detach() * 2 for k, v in lin.named_parameters()}
    return m.func.functional_call(lin, p, (T(m, (4, 3)),)), lin.weight


@c
def ffunctional_call_tied(m):
    class M(m.nn.Module):
        def __init__(s):
            super().__init__()
            s.a = m.nn.Linear(3, 3, bias=False).double()
            s.b = s.a

        def forward(s, x):
            return s.b(s.a(x))

    mod = M()
    W = T(m, (3, 3), 5)
    r1 = m.func.functional_call(mod, {"a.weight": W}, (T(m, (2, 3)),))
    return r1, list(dict(mod.named_parameters()).keys())


@c
def ffunctional_call_buffers(m):
    m.manual_seed(0)
    bn = m.nn.BatchNorm1d(3).double()
    rm = m.zeros(3, dtype=m.float64)
    out = m.func.functional_call(bn, {"running_mean": rm}, (T(m, (4, 3)),))
    return out, rm, bn.running_mean


@c
def ffunctional_call_tuple_dicts(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    return m.func.functional_call(
        lin, ({"weight": T(m, (2, 3), 3)}, {"bias": T(m, (2,), 4)}), T(m, (4, 3))
    )


@c
def ffunctional_call_grad(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    p = dict(lin.named_parameters())
    return m.func.grad(lambda p, x: m.func.functional_call(lin, p, (x,)).pow(2).sum())(
        p, T(m, (4, 3))
    )


@c
def fstack_state(m):
    m.manual_seed(0)
    ms = [m.nn.Linear(3, 2).double() for _ in range(3)]
    p, b = m.func.stack_module_state(ms)
    return {k: (v.shape, v.requires_grad, v.is_leaf) for k, v in p.items()}, b


@c
def fstack_vmap(m):
    m.manual_seed(0)
    ms = [m.nn.Linear(3, 2).double() for _ in range(3)]
    p, b = m.func.stack_module_state(ms)
    base = ms[0]

    def f(p, b, x):
        return m.func.functional_call(base, (p, b), (x,))

    return m.func.vmap(f, in_dims=(0, 0, None))(p, b, T(m, (4, 3)))


# --------------------------------------------------------------------------------------------
# from c6.py
OPS = {
    "sin": lambda m, x: x.sin(),
    "exp": lambda m, x: x.exp(),
    "mulself": lambda m, x: x * x + 3 * x,
    "div": lambda m, x: 1 / (x * x + 1),
    "tanh": lambda m, x: m.tanh(x),
    "sum": lambda m, x: x.sum(1),
    "mean": lambda m, x: x.mean(),
    "matmul": lambda m, x: x @ x.T,
    "softmax": lambda m, x: x.softmax(1),
    "logsumexp": lambda m, x: x.logsumexp(1),
    "index": lambda m, x: x[[1, 0], 1:],
    "relu": lambda m, x: m.relu(x),
    "cat": lambda m, x: m.cat([x, x.sin()], 1),
    "reshape": lambda m, x: x.reshape(-1).cumsum(0),
    "pow": lambda m, x: (x.abs() + 1).pow(2.5),
    "max": lambda m, x: x.amax(1),
    "norm": lambda m, x: x.norm(dim=1),
    "layer_norm": lambda m, x: m.nn.functional.layer_norm(x, (4,)),
    "mse": lambda m, x: m.nn.functional.mse_loss(x, x.cos()),
    "where": lambda m, x: m.where(x > 0, x, x * x),
    "gelu": lambda m, x: m.nn.functional.gelu(x),
    "log_softmax": lambda m, x: m.log_softmax(x, -1),
    "std": lambda m, x: x.std(0),
    "linear": lambda m, x: m.nn.functional.linear(x, x[:2]),
    "transpose": lambda m, x: x.t().contiguous() * 2,
    "clamp": lambda m, x: x.clamp(-0.5, 0.5),
    "sigmoid": lambda m, x: x.sigmoid(),
    "atan2": lambda m, x: m.atan2(x, x.exp()),
}
for name, f in OPS.items():

    def mk(f=f):
        def cse(m):
            fa = m.autograd.forward_ad
            with fa.dual_level():
                d = fa.make_dual(T(m, (3, 4)), T(m, (3, 4), 1))
                out = f(m, d)
                p, t = fa.unpack_dual(out)
                return p, t

        return cse

    CASES["fwd_" + name] = mk()


@c
def fwd_no_tangent(m):
    fa = m.autograd.forward_ad
    with fa.dual_level():
        p, t = fa.unpack_dual(T(m, (3,)).sin())
        return p, t


@c
def fwd_outside(m):
    fa = m.autograd.forward_ad
    with fa.dual_level():
        d = fa.make_dual(T(m, (3,)), T(m, (3,), 1))
        o = d.sin()
    return fa.unpack_dual(o)


@c
def fwd_shape_err(m):
    fa = m.autograd.forward_ad
    with fa.dual_level():
        fa.make_dual(T(m, (3,)), T(m, (4,), 1))


@c
def fwd_no_level_err(m):
    fa = m.autograd.forward_ad
    fa.make_dual(T(m, (3,)), T(m, (3,), 1))


@c
def fwd_unpack_named(m):
    fa = m.autograd.forward_ad
    with fa.dual_level():
        u = fa.unpack_dual(fa.make_dual(T(m, (3,)), T(m, (3,), 1)) * 2)
        return u.primal, u.tangent


@c
def fwd_with_backward(m):
    fa = m.autograd.forward_ad
    x = T(m, (3,), rg=True)
    with fa.dual_level():
        d = fa.make_dual(x, T(m, (3,), 1))
        o = (d.sin() * d).sum()
        p, t = fa.unpack_dual(o)
        (g,) = m.autograd.grad(t, x)
    return p, t, g


@c
def fwd_inplace(m):
    fa = m.autograd.forward_ad
    with fa.dual_level():
        d = fa.make_dual(T(m, (3,)), T(m, (3,), 1))
        e = d * 1
        e.mul_(e)
        return fa.unpack_dual(e)


# --------------------------------------------------------------------------------------------
# from c7.py
def net(m):
    m.manual_seed(0)
    return m.nn.Sequential(
        m.nn.Linear(4, 8), m.nn.Tanh(), m.nn.Dropout(0.5), m.nn.Linear(8, 3)
    ).double()


for reent in (True, False):

    def ck(m, reent=reent):
        mod = net(m)
        x = T(m, (5, 4), rg=True)
        m.manual_seed(1)
        y = m.utils.checkpoint.checkpoint(mod, x, use_reentrant=reent)
        y.pow(2).sum().backward()
        return y, x.grad, [p.grad for p in mod.parameters()]

    def ck_norng(m, reent=reent):
        mod = net(m)
        x = T(m, (5, 4), rg=True)
        m.manual_seed(1)
        y = m.utils.checkpoint.checkpoint(mod, x, use_reentrant=reent, preserve_rng_state=True)
        y.pow(2).sum().backward()
        return x.grad

    def ckseq(m, reent=reent):
        mod = net(m)
        x = T(m, (5, 4), rg=True)
        m.manual_seed(1)
        y = m.utils.checkpoint.checkpoint_sequential(mod, 2, x, use_reentrant=reent)
        y.pow(2).sum().backward()
        return y, x.grad, [p.grad for p in mod.parameters()]

    def ck_noinput_grad(m, reent=reent):
        mod = net(m).eval()
        x = T(m, (5, 4))
        y = m.utils.checkpoint.checkpoint(mod, x, use_reentrant=reent)
        y.pow(2).sum().backward()
        return y.requires_grad, [p.grad for p in mod.parameters()]

    def ck_kwargs(m, reent=reent):
        x = T(m, (5, 4), rg=True)
        y = m.utils.checkpoint.checkpoint(
            lambda a, s=1.0: a.sin() * s, x, s=3.0, use_reentrant=reent
        )
        y.sum().backward()
        return y, x.grad

    def ck_grad_api(m, reent=reent):
        x = T(m, (5, 4), rg=True)
        y = m.utils.checkpoint.checkpoint(lambda a: a.sin() * a, x, use_reentrant=reent)
        return m.autograd.grad(y.sum(), x)

    for f in (ck, ck_norng, ckseq, ck_noinput_grad, ck_kwargs, ck_grad_api):
        CASES[f.__name__ + str(reent)] = f


@c
def ck_default_warn(m):
    x = T(m, (5, 4), rg=True)
    return m.utils.checkpoint.checkpoint(lambda a: a.sin(), x)


@c
def ck_double(m):
    x = T(m, (3,), rg=True)
    y = m.utils.checkpoint.checkpoint(lambda a: a**3, x, use_reentrant=False)
    (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
    return g, m.autograd.grad(g.sum(), x)


# hooks
@c
def hook_modify(m):
    x = T(m, (3,), rg=True)
    h = x * 2
    h.register_hook(lambda g: g * 10)
    (h**2).sum().backward()
    return x.grad


@c
def hook_leaf(m):
    x = T(m, (3,), rg=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()))
    (x**2).sum().backward()
    return x.grad, seen


@c
def hook_remove(m):
    x = T(m, (3,), rg=True)
    hd = x.register_hook(lambda g: g * 0)
    hd.remove()
    (x**2).sum().backward()
    return x.grad


@c
def hook_no_grad_err(m):
    x = T(m, (3,))
    x.register_hook(lambda g: g)


@c
def hook_order(m):
    x = T(m, (3,), rg=True)
    h = x * 1
    h.register_hook(lambda g: g + 1)
    h.register_hook(lambda g: g * 3)
    h.sum().backward()
    return x.grad


@c
def hook_retain_grad_order(m):
    x = T(m, (3,), rg=True)
    h = x * 1
    h.retain_grad()
    h.register_hook(lambda g: g * 3)
    h.sum().backward()
    return x.grad, h.grad


@c
def hook_retain_grad_order2(m):
    x = T(m, (3,), rg=True)
    h = x * 1
    h.register_hook(lambda g: g * 3)
    h.retain_grad()
    h.sum().backward()
    return x.grad, h.grad


@c
def post_acc_hook(m):
    x = T(m, (3,), rg=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (x**2).sum().backward()
    (x**2).sum().backward()
    return seen


@c
def post_acc_nonleaf_err(m):
    x = T(m, (3,), rg=True)
    (x * 2).register_post_accumulate_grad_hook(lambda t: None)


@c
def module_full_bwd_hook(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    seen = []
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append((list(gi), list(go))))
    x = T(m, (4, 3), rg=True)
    lin(x).pow(2).sum().backward()
    return seen


@c
def module_full_bwd_hook_mod(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    lin.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 2,))
    x = T(m, (4, 3), rg=True)
    lin(x).pow(2).sum().backward()
    return x.grad, lin.weight.grad


@c
def module_bwd_pre_hook(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    lin.register_full_backward_pre_hook(lambda mod, go: (go[0] * 0.5,))
    x = T(m, (4, 3), rg=True)
    lin(x).pow(2).sum().backward()
    return x.grad, lin.weight.grad


@c
def module_full_bwd_hook_noinput(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    seen = []
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, list(go))))
    x = T(m, (4, 3))
    lin(x).pow(2).sum().backward()
    return seen


@c
def saved_tensors_hooks(m):
    packed = []

    def pack(t):
        packed.append(tuple(t.shape))
        return t * 1

    def unpack(t):
        return t * 2

    x = T(m, (3,), rg=True)
    with m.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = (x.sin()).sum()
    y.backward()
    return x.grad, len(packed) > 0


@c
def save_on_cpu(m):
    x = T(m, (3,), rg=True)
    with m.autograd.graph.save_on_cpu():
        y = (x.sin() * x).sum()
    y.backward()
    return x.grad


@c
def node_hook(m):
    x = T(m, (3,), rg=True)
    y = x.exp()
    seen = []
    y.grad_fn.register_hook(lambda gi, go: seen.append((list(gi), list(go))))
    y.sum().backward()
    return seen


@c
def node_prehook(m):
    x = T(m, (3,), rg=True)
    y = x.exp()
    y.grad_fn.register_prehook(lambda go: (go[0] * 3,))
    y.sum().backward()
    return x.grad


@c
def node_hook_modify(m):
    x = T(m, (3,), rg=True)
    y = x.exp()
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 5,))
    y.sum().backward()
    return x.grad


@c
def grad_fn_meta(m):
    x = T(m, (3,), rg=True)
    w = T(m, (3,), 1, rg=True)
    y = (x * w).sum()
    nf = y.grad_fn.next_functions
    return (
        y.grad_fn.name(),
        type(y.grad_fn).__name__,
        [(type(n).__name__ if n else None, i) for n, i in nf],
        [(type(n).__name__, i) for n, i in nf[0][0].next_functions],
        y.grad_fn.metadata,
    )


@c
def grad_fn_leaf_var(m):
    x = T(m, (3,), rg=True)
    y = x * 2
    acc = y.grad_fn.next_functions[0][0]
    return type(acc).__name__, acc.variable is x


@c
def grad_fn_none_leaf(m):
    x = T(m, (3,), rg=True)
    return x.grad_fn


@c
def anomaly_nan(m):
    x = m.tensor([0.0, 1.0], requires_grad=True)
    with m.autograd.detect_anomaly():
        y = (x.sqrt() * 0).sum()
        y.backward()
    return x.grad


@c
def anomaly_nan2(m):
    x = m.tensor([-1.0, 1.0], requires_grad=True)
    with m.autograd.detect_anomaly():
        return x.log()


@c
def anomaly_nan_off(m):
    x = m.tensor([0.0, 1.0], requires_grad=True)
    y = (x.sqrt() * 0).sum()
    y.backward()
    return x.grad


@c
def anomaly_flags(m):
    with m.autograd.detect_anomaly(check_nan=False):
        a = m.is_anomaly_enabled(), m.is_anomaly_check_nan_enabled()
    m.autograd.set_detect_anomaly(True)
    b = m.is_anomaly_enabled()
    m.autograd.set_detect_anomaly(False)
    return a, b, m.is_anomaly_enabled()


@c
def anomaly_divzero_bwd(m):
    x = m.tensor([0.0, 1.0], requires_grad=True)
    with m.autograd.detect_anomaly():
        y = (x.abs() ** 0.5).sum()
        y.backward()


@c
def node_prehook_remove(m):
    x = T(m, (3,), rg=True)
    y = x.exp()
    h = y.grad_fn.register_prehook(lambda go: (go[0] * 3,))
    h.remove()
    y.sum().backward()
    return x.grad


@c
def node_prehook_order(m):
    x = T(m, (3,), rg=True)
    y = x.exp()
    seen = []
    y.grad_fn.register_prehook(lambda go: seen.append(("node", go[0].clone())))
    y.register_hook(lambda g: g * 2)
    y.sum().backward()
    return x.grad, seen


@c
def node_prehook_none(m):
    x = T(m, (3,), rg=True)
    y = (x * x).sum()
    seen = []
    y.grad_fn.register_prehook(lambda go: seen.append(go[0].shape))
    y.backward()
    return x.grad, seen


@c
def node_metadata_persist(m):
    x = T(m, (3,), rg=True)
    y = x * 2
    y.grad_fn.metadata["k"] = 1
    return y.grad_fn.metadata


@c
def backward_inputs_hooks(m):
    x = T(m, (3,), rg=True)
    x.register_hook(lambda g: g * 10)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (x * 2).sum().backward(inputs=[x])
    h = x * 1
    (h * 2).sum().backward(inputs=[h, x])
    return x.grad, h.grad, seen


@c
def backward_inputs_accum_cg(m):
    x = T(m, (3,), rg=True)
    (x * 2).sum().backward(inputs=(x,))
    g0 = x.grad
    y = (x * x).sum()
    y.backward(inputs=[x], create_graph=True)
    return g0, x.grad, x.grad.requires_grad


@c
def backward_inputs_no_rg(m):
    x = T(m, (3,), rg=True)
    (x * 2).sum().backward(inputs=[T(m, (3,))])


@c
def backward_inputs_grad_arg(m):
    x = T(m, (3,), rg=True)
    z = T(m, (3,), 1, rg=True)
    (x * z).backward(T(m, (3,), 2), inputs=[z])
    return x.grad, z.grad


@c
def node_prehook_order2(m):
    x = T(m, (3,), rg=True)
    y = x.exp()
    seen = []
    y.grad_fn.register_prehook(lambda go: (go[0] + 1,))
    y.register_hook(lambda g: g * 2)
    y.grad_fn.register_prehook(lambda go: seen.append(go[0].clone()))
    y.register_hook(lambda g: g * 5)
    y.sum().backward()
    return x.grad, seen


# ------------------------------------------------------------------------------------------
# torch.func extras, custom Function, gradcheck, .grad and view rules
@c
def jacrev_aux(m):
    return m.func.jacrev(lambda x: (x.sin(), x.sum()), has_aux=True)(T(m, (3,)))


@c
def jacfwd_aux(m):
    return m.func.jacfwd(lambda x: (x.sin(), x.sum()), has_aux=True)(T(m, (3,)))


@c
def jvp_aux(m):
    return m.func.jvp(lambda x: (x.sin(), x.cos()), (T(m, (3,)),), (T(m, (3,), 1),), has_aux=True)


@c
def vjp_aux(m):
    o, fn, aux = m.func.vjp(lambda x: (x.sin(), x.cos()), T(m, (3,)), has_aux=True)
    return o, fn(T(m, (3,), 2)), aux


@c
def hessian_argnums(m):
    return m.func.hessian(lambda a, b: (a * a * b).sum(), argnums=1)(T(m, (3,)), T(m, (3,), 1))


@c
def jacrev_multi(m):
    return m.func.jacrev(lambda a, b: (a * b, a.sum()), argnums=(0, 1))(T(m, (2,)), T(m, (2,), 1))


@c
def vmap_out_tuple_dims(m):
    return m.func.vmap(lambda x: (x * 2, x.sum()), out_dims=(1, 0))(T(m, (4, 3)))


@c
def vmap_nested_in(m):
    return m.func.vmap(lambda d: d["a"] + d["b"], in_dims=({"a": 0, "b": None},))(
        {"a": T(m, (4, 3)), "b": T(m, (3,), 1)}
    )


@c
def vmap_neg_dim(m):
    return m.func.vmap(lambda x: x.sum(), in_dims=-1)(T(m, (4, 3)))


@c
def vmap_jacrev(m):
    return m.func.vmap(m.func.jacrev(lambda x: x.sin() * x.sum()))(T(m, (2, 3)))


@c
def func_grad_nonscalar_err(m):
    return m.func.grad(lambda x: x * 2)(T(m, (3,)))


@c
def grad_int_err(m):
    return m.func.grad(lambda x: x.sum())(m.tensor([1, 2]))


@c
def fc_strict(m):
    lin = m.nn.Linear(3, 2)
    return m.func.functional_call(lin, {"weight": m.zeros(2, 3)}, (m.ones(1, 3),), strict=True)


@c
def fc_unexpected(m):
    lin = m.nn.Linear(3, 2)
    return m.func.functional_call(
        lin, {"weight": m.zeros(2, 3), "foo": m.zeros(1)}, (m.ones(1, 3),), strict=True
    )


@c
def fc_tie_false(m):
    class M(m.nn.Module):
        def __init__(s):
            super().__init__()
            s.a = m.nn.Linear(3, 3, bias=False).double()
            s.b = s.a

        def forward(s, x):
            return s.b(s.a(x))

    m.manual_seed(0)
    mod = M()
    return m.func.functional_call(
        mod, {"a.weight": T(m, (3, 3), 5)}, (T(m, (2, 3)),), tie_weights=False
    )


# custom Function
def mkfn(m):
    class Sq(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x**2 * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g * ctx.k, None

    return Sq


@c
def fn_basic(m):
    x = T(m, (3,), rg=True)
    y = mkfn(m).apply(x, 3.0)
    y.sum().backward()
    return y, x.grad, type(y.grad_fn).__name__


@c
def fn_double(m):
    x = T(m, (3,), rg=True)
    y = mkfn(m).apply(x, 3.0).sum()
    (g,) = m.autograd.grad(y, x, create_graph=True)
    return g, m.autograd.grad(g.sum(), x)


@c
def fn_needs_input_grad(m):
    seen = []

    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, g

    F.apply(T(m, (3,), rg=True), T(m, (3,))).sum().backward()
    return seen


@c
def fn_once_diff(m):
    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a.exp()

        @staticmethod
        @m.autograd.function.once_differentiable
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a.exp()

    x = T(m, (3,), rg=True)
    y = F.apply(x).sum()
    (g,) = m.autograd.grad(y, x, create_graph=True)
    return g, g.requires_grad


@c
def fn_once_diff_err(m):
    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a.exp()

        @staticmethod
        @m.autograd.function.once_differentiable
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return g * a.exp()

    x = T(m, (3,), rg=True)
    y = F.apply(x).sum()
    (g,) = m.autograd.grad(y, x, create_graph=True)
    g.sum().backward()


@c
def fn_wrong_count(m):
    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    F.apply(T(m, (3,), rg=True)).sum().backward()


@c
def fn_materialize(m):
    seen = []

    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1 is None, g2 is None))
            return g1 * 2

    x = T(m, (3,), rg=True)
    a, b = F.apply(x)
    a.sum().backward()
    return seen, x.grad


@c
def fn_materialize_default(m):
    seen = []

    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append(g2)
            return g1 * 2 + g2

    x = T(m, (3,), rg=True)
    a, b = F.apply(x)
    a.sum().backward()
    return seen, x.grad


@c
def fn_mark_dirty(m):
    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            a.mul_(2)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = T(m, (3,), rg=True)
    h = x * 1
    y = F.apply(h)
    y.sum().backward()
    return y, x.grad, h is y


@c
def fn_nondiff(m):
    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            i = a.argmax()
            ctx.mark_non_differentiable(i)
            return a * 2, i

        @staticmethod
        def backward(ctx, g, gi):
            return g * 2

    x = T(m, (3,), rg=True)
    y, i = F.apply(x)
    y.sum().backward()
    return x.grad, i.requires_grad


@c
def gradcheck_ok(m):
    return m.autograd.gradcheck(lambda x: (x.sin() * x).sum(), (T(m, (3,), rg=True),))


@c
def gradgradcheck_ok(m):
    return m.autograd.gradgradcheck(lambda x: x.sin() * x, (T(m, (3,), rg=True),))


@c
def gradcheck_fail(m):
    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    return m.autograd.gradcheck(F.apply, (T(m, (3,), rg=True),), raise_exception=False)


@c
def gradcheck_fail_raise(m):
    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    return m.autograd.gradcheck(F.apply, (T(m, (3,), rg=True),))


@c
def grad_setter_shape_err(m):
    x = T(m, (3,), rg=True)
    x.grad = m.zeros(4, dtype=m.float64)


@c
def grad_setter_dtype_err(m):
    x = T(m, (3,), rg=True)
    x.grad = m.zeros(3, dtype=m.float32)


@c
def grad_setter_ok(m):
    x = T(m, (3,), rg=True)
    x.grad = m.ones(3, dtype=m.float64)
    (x * 2).sum().backward()
    return x.grad


@c
def detach_inplace_view(m):
    x = T(m, (3,), rg=True)
    v = (x * 1)[:2]
    v.detach_()


@c
def requires_grad_in_no_grad(m):
    with m.no_grad():
        x = T(m, (3,)).requires_grad_()
        y = x * 2
    return x.requires_grad, y.requires_grad


@c
def grad_of_view_leaf(m):
    x = T(m, (4,), rg=True)
    v = x[1:3]
    (v * v).sum().backward()
    return x.grad, v.is_leaf, v.grad_fn.name()


@c
def inplace_on_view_of_leaf(m):
    x = T(m, (4,), rg=True)
    x[1:3].mul_(2)


@c
def inplace_view_grad(m):
    x = T(m, (4,), rg=True)
    h = x * 1
    h[1:3].mul_(h[1:3].clone())
    h.sum().backward()
    return x.grad


@c
def inplace_view_name(m):
    h = T(m, (4,), rg=True) * 1
    h[1:3].mul_(2)
    return h.grad_fn.name()


@c
def set_grad_nested_restore(m):
    with m.no_grad():
        with m.set_grad_enabled(True):
            a = m.is_grad_enabled()
        b = m.is_grad_enabled()
    return a, b, m.is_grad_enabled()


@c
def exception_restores(m):
    try:
        with m.no_grad():
            raise KeyError("x")
    except KeyError:
        pass
    return m.is_grad_enabled()


# ------------------------------------------------------------------------------------------
# grad()/backward() argument edges, module hooks, tensor hook rules
@c
def grad_dup_inputs(m):
    x = T(m, (3,), rg=True)
    return m.autograd.grad((x * x).sum(), [x, x])


@c
def grad_dup_outputs(m):
    x = T(m, (3,), rg=True)
    y = (x * x).sum()
    return m.autograd.grad([y, y], x)


@c
def grad_empty_inputs(m):
    x = T(m, (3,), rg=True)
    return m.autograd.grad((x * x).sum(), [])


@c
def grad_int_input(m):
    x = T(m, (3,), rg=True)
    return m.autograd.grad((x * x).sum(), m.tensor([1]))


@c
def grad_scalar_go(m):
    x = T(m, (3,), rg=True)
    return m.autograd.grad((x * x).sum(), x, grad_outputs=m.tensor(2.0, dtype=m.float64))


@c
def grad_go_broadcast_err(m):
    x = T(m, (3,), rg=True)
    return m.autograd.grad(x * 2, x, grad_outputs=m.ones(1, dtype=m.float64))


@c
def grad_go_0d_for_1elem(m):
    x = T(m, (1,), rg=True)
    return m.autograd.grad(x * 2, x, grad_outputs=m.tensor(3.0, dtype=m.float64))


@c
def backward_go_list(m):
    x = T(m, (3,), rg=True)
    (x * 2).backward([1.0, 2.0, 3.0])


@c
def backward_go_float(m):
    x = T(m, (1,), rg=True)
    (x * 2).backward(m.tensor([2.0], dtype=m.float64))
    return x.grad


@c
def backward_1elem_nonscalar(m):
    x = T(m, (1, 1), rg=True)
    (x * 2).backward()
    return x.grad


@c
def backward_int_dtype_err(m):
    x = T(m, (3,), rg=True)
    y = x * 2
    y.backward(m.ones(3, dtype=m.int64))
    return x.grad


@c
def grad_create_graph_no_grad_mode(m):
    x = T(m, (3,), rg=True)
    y = (x**3).sum()
    with m.no_grad():
        (g,) = m.autograd.grad(y, x, create_graph=True)
    return g.requires_grad


@c
def grad_in_no_grad(m):
    x = T(m, (3,), rg=True)
    y = (x**3).sum()
    with m.no_grad():
        return m.autograd.grad(y, x)


@c
def module_hooks_multi(m):
    class Two(m.nn.Module):
        def forward(s, a, b):
            return a * b, a + b

    mod = Two()
    seen = []
    mod.register_full_backward_hook(lambda mm, gi, go: seen.append((list(gi), list(go))))
    a = T(m, (3,), rg=True)
    b = T(m, (3,), 1)
    p, q = mod(a, b)
    (p.sum() + (q * 2).sum()).backward()
    return seen, a.grad


@c
def module_hooks_order(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    log = []
    lin.register_full_backward_pre_hook(lambda mm, go: log.append("pre"))
    lin.register_full_backward_hook(lambda mm, gi, go: log.append("post"))
    lin.register_forward_hook(lambda mm, i, o: log.append("fwd"))
    x = T(m, (4, 3), rg=True)
    lin(x).sum().backward()
    return log


@c
def module_hook_inplace_output_err(m):
    m.manual_seed(0)
    lin = m.nn.Linear(3, 2).double()
    lin.register_full_backward_hook(lambda mm, gi, go: None)
    x = T(m, (4, 3), rg=True)
    y = lin(x)
    y.mul_(2)
    y.sum().backward()
    return x.grad


@c
def retain_grad_twice(m):
    x = T(m, (3,), rg=True)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    (h * 3).sum().backward()
    return h.grad


@c
def retain_grad_no_rg_err(m):
    T(m, (3,)).retain_grad()


@c
def hook_returns_wrong_shape(m):
    x = T(m, (3,), rg=True)
    h = x * 2
    h.register_hook(lambda g: g[:2])
    h.sum().backward()


@c
def leaf_hook_modify(m):
    x = T(m, (3,), rg=True)
    x.register_hook(lambda g: g * 5)
    (x * x).sum().backward()
    return x.grad


@c
def requires_grad_false_leaf(m):
    x = T(m, (3,), rg=True)
    x.requires_grad_(False)
    return x.requires_grad, (x * 2).requires_grad


@c
def grad_fn_after_backward(m):
    x = T(m, (3,), rg=True)
    y = (x.exp()).sum()
    y.backward()
    return type(y.grad_fn).__name__, y.requires_grad


@c
def hessian_vec_tuple(m):
    return m.autograd.functional.hvp(
        lambda a, b: (a * a * b).sum(), (T(m, (3,)), T(m, (3,), 1)), (T(m, (3,), 2), T(m, (3,), 3))
    )


@c
def vjp_v_shape_err(m):
    return m.autograd.functional.vjp(lambda x: x * 2, T(m, (3,)), T(m, (4,)))


@c
def jvp_no_v_err(m):
    return m.autograd.functional.jvp(lambda x: x * 2, T(m, (3,)))
