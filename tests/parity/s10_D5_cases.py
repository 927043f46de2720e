"""The cases of tests/parity/test_s10_D5_autograd.py: each a function of the module
(deltagrad or torch) registered in ``CASES``; the test runs it under both and compares."""
# ruff: noqa: E731

import numpy as np

CASES = {}


def case(function):
    CASES[function.__name__] = function
    return function


c = case


# --------------------------------------------------------------------------------------------
# from c1.py
def X(m, shape=(3,), seed=0, rg=True):
    a = np.random.default_rng(seed).standard_normal(shape)
    return m.tensor(a, requires_grad=rg)


@case
def grad_basic(m):
    x = X(m)
    y = (x**3).sum()
    return m.autograd.grad(y, x)


@case
def grad_list(m):
    x = X(m)
    z = X(m, seed=1)
    y = (x * z).sum()
    return m.autograd.grad([y], [x, z])


@case
def grad_outputs(m):
    x = X(m)
    y = x**2
    return m.autograd.grad(y, x, grad_outputs=m.ones(3, dtype=m.float64) * 2)


@case
def grad_multi_out(m):
    x = X(m)
    y1 = x.sum()
    y2 = (x**2).sum()
    return m.autograd.grad([y1, y2], x)


@case
def grad_multi_out_go(m):
    x = X(m)
    y1 = x * 2
    y2 = x**2
    return m.autograd.grad([y1, y2], x, grad_outputs=[m.ones(3, dtype=m.float64), None])


@case
def grad_nonscalar_err(m):
    x = X(m)
    return m.autograd.grad(x**2, x)


@case
def grad_unused_err(m):
    x = X(m)
    z = X(m, seed=1)
    return m.autograd.grad((x**2).sum(), [x, z])


@case
def grad_unused_ok(m):
    x = X(m)
    z = X(m, seed=1)
    return m.autograd.grad((x**2).sum(), [x, z], allow_unused=True)


@case
def grad_materialize(m):
    x = X(m)
    z = X(m, seed=1)
    return m.autograd.grad((x**2).sum(), [x, z], materialize_grads=True)


@case
def grad_materialize_implies(m):
    x = X(m)
    z = X(m, seed=1)
    return m.autograd.grad((x**2).sum(), [x, z], allow_unused=False, materialize_grads=True)


@case
def grad_retain_err(m):
    x = X(m)
    y = (x.exp()).sum()
    m.autograd.grad(y, x)
    return m.autograd.grad(y, x)


@case
def grad_retain_ok(m):
    x = X(m)
    y = (x.exp()).sum()
    m.autograd.grad(y, x, retain_graph=True)
    return m.autograd.grad(y, x)


@case
def grad_create(m):
    x = X(m)
    y = (x**3).sum()
    (g,) = m.autograd.grad(y, x, create_graph=True)
    return g, g.requires_grad, m.autograd.grad(g.sum(), x)


@case
def grad_no_create(m):
    x = X(m)
    y = (x**3).sum()
    (g,) = m.autograd.grad(y, x)
    return g.requires_grad, g.grad_fn is None


@case
def grad_batched(m):
    x = X(m)
    y = x**2
    return m.autograd.grad(y, x, grad_outputs=m.eye(3, dtype=m.float64), is_grads_batched=True)


@case
def grad_batched2(m):
    x = X(m, (2, 3))
    y = (x**2).sum(1)
    return m.autograd.grad(y, x, grad_outputs=m.eye(2, dtype=m.float64), is_grads_batched=True)


@case
def grad_only_inputs(m):
    x = X(m)
    y = (x**2).sum()
    return m.autograd.grad(y, x, only_inputs=True)


@case
def grad_no_req(m):
    x = X(m, rg=False)
    return m.autograd.grad((x**2).sum(), x)


@case
def grad_out_no_req(m):
    x = X(m)
    return m.autograd.grad(x.detach().sum(), x)


@case
def grad_go_shape_err(m):
    x = X(m)
    return m.autograd.grad(x * 2, x, grad_outputs=m.ones(4, dtype=m.float64))


@case
def grad_go_dtype(m):
    x = X(m)
    return m.autograd.grad(x * 2, x, grad_outputs=m.ones(3, dtype=m.float32))


@case
def grad_leaf_output(m):
    x = X(m)
    return m.autograd.grad(x, x, grad_outputs=m.ones(3, dtype=m.float64))


@case
def grad_intermediate_input(m):
    x = X(m)
    h = x * 2
    y = (h**2).sum()
    return m.autograd.grad(y, h)


@case
def grad_no_accum(m):
    x = X(m)
    y = (x**2).sum()
    m.autograd.grad(y, x)
    return x.grad is None


@case
def grad_tuple_io(m):
    x = X(m)
    return m.autograd.grad(outputs=((x * x).sum(),), inputs=(x,))


@case
def backward_inputs(m):
    x = X(m)
    z = X(m, seed=1)
    (x * z).sum().backward(inputs=[x])
    return x.grad, z.grad


@case
def backward_inputs_tensor(m):
    x = X(m)
    z = X(m, seed=1)
    (x * z).sum().backward(inputs=x)
    return x.grad, z.grad


@case
def backward_inputs_empty(m):
    x = X(m)
    (x * x).sum().backward(inputs=[])


@case
def backward_inputs_nonleaf(m):
    x = X(m)
    h = x * 2
    (h * h).sum().backward(inputs=[h])
    return h.grad, x.grad


@case
def autograd_backward_fn(m):
    x = X(m)
    y = x * 2
    m.autograd.backward([y], [m.ones(3, dtype=m.float64)])
    return x.grad


@case
def autograd_backward_inputs(m):
    x = X(m)
    z = X(m, seed=2)
    y = x * z
    m.autograd.backward(y, m.ones(3, dtype=m.float64), inputs=[z])
    return x.grad, z.grad


@case
def backward_twice(m):
    x = X(m)
    y = (x.exp()).sum()
    y.backward()
    y.backward()


@case
def backward_twice_simple(m):
    x = X(m)
    y = (x * 2).sum()
    y.backward()
    y.backward()
    return x.grad


@case
def backward_nonscalar(m):
    x = X(m)
    (x * 2).backward()


@case
def backward_no_grad(m):
    x = X(m, rg=False)
    (x * 2).sum().backward()


@case
def backward_accumulate(m):
    x = X(m)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    return x.grad


@case
def backward_create_graph(m):
    x = X(m)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    return g.requires_grad, g


@case
def inplace_leaf(m):
    x = X(m)
    x.add_(1)


@case
def inplace_leaf_nograd(m):
    x = X(m)
    with m.no_grad():
        x.add_(1)
    return x, x.requires_grad, x.is_leaf


@case
def version_err(m):
    x = X(m)
    h = x * 1
    y = h.exp()
    h.add_(1)
    y.sum().backward()


@case
def version_ok(m):
    x = X(m)
    h = x * 1
    y = h * 2
    h.add_(1)
    y.sum().backward()
    return x.grad


@case
def version_counter(m):
    x = X(m, rg=False)
    v0 = x._version
    x.add_(1)
    x[0] = 3
    return v0, x._version


@case
def version_sigmoid(m):
    x = X(m)
    y = x.sigmoid()
    y.mul_(2)
    y.sum().backward()


@case
def retain_grad(m):
    x = X(m)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    return h.grad, h.is_leaf, x.is_leaf


@case
def nonleaf_grad_warn(m):
    x = X(m)
    h = x * 2
    (h * h).sum().backward()
    return h.grad is None


@case
def retain_grad_leaf(m):
    x = X(m)
    x.retain_grad()
    (x * x).sum().backward()
    return x.grad


@case
def requires_grad_nonleaf_err(m):
    x = X(m)
    h = x * 2
    h.requires_grad_(False)


@case
def requires_grad_int_err(m):
    x = m.tensor([1, 2])
    x.requires_grad_()


@case
def is_leaf_rules(m):
    a = X(m, rg=False)
    b = a * 2
    c = X(m)
    d = c * 2
    e = c.detach()
    f = d.detach().requires_grad_()
    return (
        a.is_leaf,
        b.is_leaf,
        c.is_leaf,
        d.is_leaf,
        e.is_leaf,
        f.is_leaf,
        f.requires_grad,
        e.requires_grad,
    )


@case
def no_grad_ctx(m):
    x = X(m)
    with m.no_grad():
        y = x * 2
    return y.requires_grad, m.is_grad_enabled()


@case
def no_grad_deco(m):
    @m.no_grad()
    def f(x):
        return x * 2, m.is_grad_enabled()

    x = X(m)
    y, e = f(x)
    return y.requires_grad, e, m.is_grad_enabled()


@case
def no_grad_deco_bare(m):
    @m.no_grad
    def f(x):
        return x * 2

    return f(X(m)).requires_grad


@case
def enable_grad_in_no_grad(m):
    x = X(m)
    with m.no_grad():
        with m.enable_grad():
            y = x * 2
    return y.requires_grad


@case
def set_grad_enabled_fn(m):
    x = X(m)
    prev = m.is_grad_enabled()
    m.set_grad_enabled(False)
    y = x * 2
    m.set_grad_enabled(True)
    return prev, y.requires_grad


@case
def set_grad_enabled_ctx(m):
    x = X(m)
    with m.set_grad_enabled(False):
        y = x * 2
    return y.requires_grad, m.is_grad_enabled()


@case
def set_grad_enabled_deco(m):
    @m.set_grad_enabled(False)
    def f(x):
        return x * 2

    return f(X(m)).requires_grad, m.is_grad_enabled()


@case
def no_grad_generator(m):
    @m.no_grad()
    def gen(x):
        for i in range(2):
            yield x * i, m.is_grad_enabled()

    out = []
    for y, e in gen(X(m)):
        out.append((y.requires_grad, e, m.is_grad_enabled()))
    return out


@case
def inference_mode_ctx(m):
    x = X(m)
    with m.inference_mode():
        y = x * 2
    return y.requires_grad, y.is_inference(), x.is_inference(), m.is_inference_mode_enabled()


@case
def inference_mode_deco(m):
    @m.inference_mode()
    def f(x):
        return x * 2

    y = f(X(m))
    return y.requires_grad, y.is_inference()


@case
def inference_mode_false(m):
    with m.inference_mode(False):
        y = X(m) * 2
    return y.requires_grad, y.is_inference()


@case
def inference_tensor_backward_err(m):
    with m.inference_mode():
        y = m.ones(3)
    x = X(m)
    z = (x * y).sum()
    z.backward()
    return x.grad


@case
def inference_tensor_save_err(m):
    with m.inference_mode():
        y = m.ones(3, dtype=m.float64)
    x = X(m)
    return (x * y).sum()


@case
def inference_tensor_inplace_err(m):
    with m.inference_mode():
        y = m.ones(3)
    y.add_(1)


@case
def inference_tensor_requires_grad_err(m):
    with m.inference_mode():
        y = m.ones(3)
    y.requires_grad_()


@case
def no_grad_inplace_view(m):
    x = X(m)
    h = x * 1
    with m.no_grad():
        v = h[:2]
    v.mul_(2)
    return h


@case
def inference_generator(m):
    @m.inference_mode()
    def gen(x):
        for i in range(2):
            yield x * i, m.is_inference_mode_enabled()

    return [
        (y.requires_grad, e, m.is_inference_mode_enabled(), m.is_grad_enabled())
        for y, e in gen(X(m))
    ]


@case
def generator_send_throw(m):
    @m.no_grad()
    def gen():
        got = yield m.is_grad_enabled()
        try:
            yield (got, m.is_grad_enabled())
        except ValueError:
            yield ("caught", m.is_grad_enabled())
        return 5

    g = gen()
    a = next(g)
    b = g.send(7)
    outside = m.is_grad_enabled()
    c = g.throw(ValueError("x"))
    try:
        next(g)
    except StopIteration as e:
        d = e.value
    return a, b, outside, c, d, m.is_grad_enabled()


@case
def set_grad_enabled_kw(m):
    with m.set_grad_enabled(mode=False):
        y = X(m) * 2
    return y.requires_grad, m.is_grad_enabled()


@case
def enable_grad_deco_in_no_grad(m):
    @m.enable_grad()
    def f(x):
        return x * 2

    with m.no_grad():
        y = f(X(m))
    return y.requires_grad


# --------------------------------------------------------------------------------------------
# from c2.py
def A(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def T2(m, shape, seed=0, rg=True):
    return m.tensor(A(shape, seed), requires_grad=rg)


def third(m, f, *xs):
    y = f(m, *xs)
    out = [y]
    g = m.autograd.grad(y.sum() if y.dim() else y, xs, create_graph=True)
    out.append(list(g))
    s = sum((gi * gi).sum() for gi in g)
    g2 = m.autograd.grad(s, xs, create_graph=True, allow_unused=True)
    out.append(list(g2))
    s2 = sum((gi.sin()).sum() for gi in g2 if gi is not None)
    g3 = m.autograd.grad(s2, xs, allow_unused=True)
    out.append(list(g3))
    return out


FAMS = {
    "pointwise": (
        lambda m, x: (x.sin() * x.exp() + x.tanh() ** 2 / (1 + x * x) + x.sigmoid()).sum(),
        [(4,)],
    ),
    "pow_log": (
        lambda m, x: (
            (x.abs() + 1).log().pow(3).sum() + (x * x + 1).sqrt().sum() + x.clamp(-0.5, 0.5).sum()
        ),
        [(4,)],
    ),
    "special": (
        lambda m, x: (
            m.erf(x)
            + m.special.expit(x)
            + m.lgamma(x.abs() + 1)
            + m.nn.functional.softplus(x)
            + m.nn.functional.gelu(x)
            + m.nn.functional.silu(x)
            + m.nn.functional.elu(x)
        ).sum(),
        [(5,)],
    ),
    "reductions": (
        lambda m, x: (
            x.prod(1).sum()
            + x.logsumexp(0).sum()
            + x.std()
            + x.var(0).sum()
            + x.norm()
            + x.softmax(1).pow(2).sum()
            + x.max()
            + x.amax(1).sum()
        ),
        [(3, 4)],
    ),
    "reduce2": (
        lambda m, x: (
            x.mean(0).pow(3).sum()
            + x.cumsum(1).pow(2).sum()
            + x.cumprod(1).sum()
            + m.log_softmax(x, 1).pow(2).sum()
        ),
        [(3, 4)],
    ),
    "matmul": (
        lambda m, a, b: (
            (a @ b).pow(2).sum()
            + m.bmm(a.unsqueeze(0), b.unsqueeze(0)).sin().sum()
            + m.einsum("ij,jk->ik", a, b).exp().sum() * 0.1
        ),
        [(3, 4), (4, 2)],
    ),
    "linalg": (
        lambda m, a: (
            m.linalg.det(a @ a.T + m.eye(3, dtype=m.float64))
            + m.linalg.inv(a @ a.T + 3 * m.eye(3, dtype=m.float64)).sum()
            + m.trace(a @ a.T)
        ),
        [(3, 3)],
    ),
    "indexing": (
        lambda m, x: (
            (x[[0, 2, 0]] ** 3).sum()
            + x[:, 1:].pow(2).sum()
            + x.gather(1, m.tensor([[0], [1], [2]])).pow(3).sum()
            + m.index_select(x, 0, m.tensor([1, 1])).exp().sum()
            + x.masked_fill(x > 0, 0.0).pow(3).sum()
        ),
        [(3, 4)],
    ),
    "shape": (
        lambda m, x: (
            m.cat([x, x * 2], 0).pow(3).sum()
            + x.t().reshape(-1).pow(3).cumsum(0).sum()
            + m.stack([x, x], 1).flip(0).pow(3).sum()
        ),
        [(3, 4)],
    ),
    "conv": (
        lambda m, x, w: (
            m.nn.functional.conv2d(x, w, padding=1).pow(2).sum()
            + m.nn.functional.conv1d(x[0], w[:, :, 0], stride=1).pow(3).sum()
        ),
        [(1, 2, 5, 5), (3, 2, 3, 3)],
    ),
    "pool": (
        lambda m, x: (
            m.nn.functional.avg_pool2d(x, 2).pow(3).sum()
            + m.nn.functional.max_pool2d(x, 2).pow(3).sum()
        ),
        [(1, 2, 4, 4)],
    ),
    "norms": (
        lambda m, x: (
            m.nn.functional.group_norm(x.unsqueeze(-1), 1).pow(3).sum()
            + m.nn.functional.normalize(x, dim=1).pow(3).sum()
        ),
        [(3, 4)],
    ),
    "losses": (
        lambda m, x, t: (
            m.nn.functional.mse_loss(x, t)
            + m.nn.functional.smooth_l1_loss(x * 3, t)
            + m.nn.functional.cross_entropy(x, m.tensor([0, 1, 3]))
            + m.nn.functional.binary_cross_entropy_with_logits(x, t.sigmoid())
            + m.nn.functional.kl_div(x.log_softmax(1), t.softmax(1), reduction="batchmean")
            + m.nn.functional.huber_loss(x, t)
            + m.nn.functional.nll_loss(x.log_softmax(1), m.tensor([1, 1, 2]))
        ),
        [(3, 4), (3, 4)],
    ),
    "losses2": (
        lambda m, x, t: (
            m.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid())
            + m.nn.functional.cosine_similarity(x, t).sum()
            + m.nn.functional.pairwise_distance(x, t).sum()
            + m.nn.functional.soft_margin_loss(x, t.sign())
            + m.nn.functional.cross_entropy(x, t.softmax(1), label_smoothing=0.1)
        ),
        [(3, 4), (3, 4)],
    ),
    "where_minmax": (
        lambda m, x, y: (
            m.where(x > 0, x**3, y**3).sum()
            + m.maximum(x, y).pow(3).sum()
            + m.minimum(x, y).exp().sum()
            + m.atan2(x, y + 3).sum()
            + m.hypot(x, y).sum()
        ),
        [(5,), (5,)],
    ),
    "attention": (
        lambda m, q, k: m.nn.functional.scaled_dot_product_attention(q, k, k).pow(2).sum(),
        [(1, 3, 4), (1, 5, 4)],
    ),
}
for name, (f, shapes) in FAMS.items():

    def mk(f=f, shapes=shapes):
        def c(m):
            xs = [T2(m, s, seed=i) for i, s in enumerate(shapes)]
            return third(m, f, *xs)

        return c

    CASES["ho_" + name] = mk()


# --------------------------------------------------------------------------------------------


# layer_norm and batch_norm: second derivatives against PyTorch; their third derivatives differ
# from PyTorch's, whose are wrong there (finite differences agree with deltagrad's: see
# test_layer_norm_third_derivative_matches_finite_differences).
@case
def ho2_layer_batch_norm(m):
    x, w = T2(m, (3, 4)), T2(m, (4,), seed=1)
    y = (
        m.nn.functional.layer_norm(x, (4,), w).pow(3).sum()
        + m.nn.functional.batch_norm(x, None, None, training=True).pow(3).sum()
    )
    g = m.autograd.grad(y, (x, w), create_graph=True)
    return y, g, m.autograd.grad(sum((gi * gi).sum() for gi in g), (x, w))
