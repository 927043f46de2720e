"""Cases of session 19's FA sweep, second part: ``torch.func`` edge cases (integer, boolean
and complex inputs and outputs, captured tensors that require grad, nested in_dims / out_dims,
per-sample gradients through functional_call, in-place ops under vmap)."""

from s19_FA_cases_func import _x, case


@case("vmap-identity-is-new")
def _(lib):
    x = _x(lib, 2, 3)
    y = lib.func.vmap(lambda a: a)(x)
    return y, y is x, y.data_ptr() == x.data_ptr()


@case("vmap-inplace-unmapped-error")
def _(lib):
    w = _x(lib, 3)

    def f(a):
        w.add_(a)
        return w

    return lib.func.vmap(f)(_x(lib, 2, 3))


@case("vmap-inplace-mapped-by-unmapped")
def _(lib):
    w = _x(lib, 3)

    def f(a):
        return a.add_(w)

    x = _x(lib, 2, 3)
    out = lib.func.vmap(f)(x)
    return out, x


@case("per-sample-grads-tutorial")
def _(lib):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2)).double()
    params = {k: v.detach() for k, v in m.named_parameters()}

    def loss(p, x, t):
        out = lib.func.functional_call(m, p, (x.unsqueeze(0),))
        return lib.nn.functional.cross_entropy(out, t.unsqueeze(0))

    return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(
        params, _x(lib, 5, 3), lib.tensor([0, 1, 1, 0, 1])
    )


@case("vmap-randomness-same-dropout")
def _(lib):
    out = lib.func.vmap(lambda x: lib.nn.functional.dropout(x, 0.5), randomness="same")(
        lib.ones(3, 8)
    )
    return bool((out[0] == out[1]).all()), out.shape


@case("vmap-randomness-different-unmapped")
def _(lib):
    out = lib.func.vmap(
        lambda x, y: lib.rand(4) * y + x, in_dims=(0, None), randomness="different"
    )(lib.zeros(3, 1), lib.ones(4))
    return bool((out[0] == out[1]).all()), out.shape


@case("vmap-randn-like")
def _(lib):
    return lib.func.vmap(lambda x: lib.randn_like(x))(lib.zeros(3, 2))


@case("jvp-int-output")
def _(lib):
    return lib.func.jvp(lambda x: (x > 0).long(), (_x(lib, 3),), (_x(lib, 3),))


@case("jvp-mixed-int-output")
def _(lib):
    return lib.func.jvp(lambda x: (x * 2, x.argmax()), (_x(lib, 3),), (_x(lib, 3),))


@case("vjp-int-output")
def _(lib):
    out, fn = lib.func.vjp(lambda x: (x * 2, x.argmax()), _x(lib, 3))
    return out, fn((lib.ones(3, dtype=lib.float64), lib.tensor(0)))


@case("jacrev-int-output")
def _(lib):
    return lib.func.jacrev(lambda x: x.argmax())(_x(lib, 3))


@case("grad-int-output")
def _(lib):
    return lib.func.grad(lambda x: x.argmax())(_x(lib, 3))


@case("grad-complex")
def _(lib):
    return lib.func.grad(lambda x: (x * x).abs().sum())(lib.tensor([1 + 2j, 3 - 1j]))


@case("grad-complex-output")
def _(lib):
    return lib.func.grad(lambda x: (x * x).sum())(lib.tensor([1 + 2j, 3 - 1j]))


@case("jvp-complex")
def _(lib):
    return lib.func.jvp(lambda x: x * x.conj(), (lib.tensor([1 + 2j]),), (lib.tensor([1 - 1j]),))


@case("jacrev-complex")
def _(lib):
    return lib.func.jacrev(lambda x: x.abs())(lib.tensor([1 + 2j, 3j]))


@case("hessian-float32")
def _(lib):
    return lib.func.hessian(lambda x: (x**3).sum())(_x(lib, 2, dtype=lib.float32))


@case("jacrev-float16")
def _(lib):
    return lib.func.jacrev(lambda x: x * 2)(lib.ones(2, dtype=lib.float16))


@case("vmap-float16")
def _(lib):
    return lib.func.vmap(lambda x: x.sum())(lib.ones(2, 3, dtype=lib.float16))


@case("grad-returns-view-input")
def _(lib):
    return lib.func.grad(lambda x: x[0])(_x(lib, 3))


@case("grad-zero-dim-int")
def _(lib):
    return lib.func.grad(lambda x: x)(lib.tensor(3.0))


@case("grad-output-1-element-not-scalar")
def _(lib):
    return lib.func.grad(lambda x: x * 2)(lib.tensor([3.0]))


@case("jacrev-argnums-has-aux-tuple")
def _(lib):
    return lib.func.jacrev(lambda x, y: (x * y, (x + y, y)), argnums=(0, 1), has_aux=True)(
        _x(lib, 2), _x(lib, 2, seed=1)
    )


@case("vmap-in-dims-negative-nested")
def _(lib):
    return lib.func.vmap(lambda d: d["a"].sum() + d["b"], in_dims=({"a": -1, "b": 0},))(
        {"a": _x(lib, 3, 2), "b": _x(lib, 2)}
    )


@case("vmap-out-dims-dict")
def _(lib):
    return lib.func.vmap(lambda x: {"a": x * 2, "b": x.sum()}, out_dims={"a": 1, "b": 0})(
        _x(lib, 2, 3)
    )


@case("vmap-out-dims-nested-tuple")
def _(lib):
    return lib.func.vmap(lambda x: (x, (x * 2, x.sum())), out_dims=(1, (0, 0)))(_x(lib, 2, 3))


@case("vmap-in-dims-dict-missing-key")
def _(lib):
    return lib.func.vmap(lambda d: d["a"], in_dims=({"a": 0},))(
        {"a": _x(lib, 3, 2), "b": _x(lib, 2)}
    )


@case("vmap-in-dims-tuple-for-tensor")
def _(lib):
    return lib.func.vmap(lambda x: x, in_dims=((0, 1),))(_x(lib, 3, 2))


@case("vmap-list-arg-in-dims-0")
def _(lib):
    return lib.func.vmap(lambda xs: xs[0] + xs[1])([_x(lib, 3, 2), _x(lib, 3, 2)])


@case("vmap-nested-randomness")
def _(lib):
    return lib.func.vmap(lib.func.vmap(lambda x: x * 2))(_x(lib, 2, 3, 4))


@case("vmap-chunk-size-larger")
def _(lib):
    return lib.func.vmap(lambda x: x * 2, chunk_size=10)(_x(lib, 3))


@case("vmap-grad-closure-parameter")
def _(lib):
    w = _x(lib, 3).requires_grad_()
    out = lib.func.vmap(lambda x: (x * w).sum())(_x(lib, 4, 3))
    out.sum().backward()
    return out, w.grad


@case("vmap-requires-grad-input-backward")
def _(lib):
    x = _x(lib, 4, 3).requires_grad_()
    out = lib.func.vmap(lambda r: r.softmax(0))(x)
    (out * lib.arange(3.0, dtype=lib.float64)).sum().backward()
    return out, x.grad


@case("functional-call-tied-strict")
def _(lib):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 3, bias=False), lib.nn.Linear(3, 3, bias=False)).double()
    m[1].weight = m[0].weight
    return lib.func.functional_call(
        m, {"0.weight": lib.eye(3, dtype=lib.float64)}, (_x(lib, 2, 3),), strict=True
    )


@case("functional-call-non-tensor-value")
def _(lib):
    m = lib.nn.Linear(2, 2)
    return lib.func.functional_call(m, {"weight": 3.0}, (lib.ones(1, 2),))


@case("functional-call-shape-mismatch")
def _(lib):
    m = lib.nn.Linear(2, 2)
    return lib.func.functional_call(m, {"weight": lib.ones(3, 2)}, (lib.ones(1, 2),))


@case("functional-call-args-list")
def _(lib):
    m = lib.nn.Bilinear(2, 2, 1).double()
    return lib.func.functional_call(m, {}, [_x(lib, 1, 2), _x(lib, 1, 2, seed=1)])


@case("functional-call-dict-buffer-grad")
def _(lib):
    m = lib.nn.BatchNorm1d(3).double()
    w = lib.ones(3, dtype=lib.float64, requires_grad=True)
    out = lib.func.functional_call(m, {"weight": w}, (_x(lib, 4, 3),))
    out.sum().backward()
    return out, w.grad, m.running_mean


@case("stack-module-state-values")
def _(lib):
    lib.manual_seed(0)
    models = [lib.nn.Linear(2, 2).double() for _ in range(2)]
    params, _ = lib.func.stack_module_state(models)
    return params["weight"], params["weight"].is_leaf, params["weight"].grad_fn is None


@case("stack-module-state-shared-param")
def _(lib):
    a = lib.nn.Linear(2, 2)
    return lib.func.stack_module_state([a, a])[0]["weight"].shape


@case("linearize-has-no-aux")
def _(lib):
    out, fn = lib.func.linearize(lambda x: (x * 2, x.sum()), _x(lib, 3))
    return out, fn(_x(lib, 3, seed=1))


@case("linearize-closure-requires-grad")
def _(lib):
    w = _x(lib, 3).requires_grad_()
    out, fn = lib.func.linearize(lambda x: x * w, _x(lib, 3, seed=1))
    t = fn(_x(lib, 3, seed=2))
    return out.requires_grad, t.requires_grad


@case("jvp-closure-requires-grad")
def _(lib):
    w = _x(lib, 3).requires_grad_()
    out, t = lib.func.jvp(lambda x: x * w.exp(), (_x(lib, 3, seed=1),), (_x(lib, 3, seed=2),))
    t.sum().backward()
    return out, t, w.grad


@case("jacfwd-closure-requires-grad")
def _(lib):
    w = _x(lib, 3).requires_grad_()
    j = lib.func.jacfwd(lambda x: x * w.exp())(_x(lib, 3, seed=1))
    j.sum().backward()
    return j, w.grad


@case("hessian-closure")
def _(lib):
    w = _x(lib, 3).requires_grad_()
    h = lib.func.hessian(lambda x: (x**3 * w).sum())(_x(lib, 3, seed=1))
    h.sum().backward()
    return h, w.grad


@case("grad-kwarg-tensor-requires-grad")
def _(lib):
    s = _x(lib, 3).requires_grad_()
    g = lib.func.grad(lambda x, *, s: (x * s).sum())(_x(lib, 3, seed=1), s=s)
    return g, g.requires_grad


@case("jacfwd-int-output")
def _(lib):
    return lib.func.jacfwd(lambda x: (x > 0).long())(_x(lib, 3))


@case("jvp-bool-output")
def _(lib):
    return lib.func.jvp(lambda x: x > 0, (_x(lib, 3),), (_x(lib, 3),))


@case("jacrev-complex-input", text=True)
def _(lib):
    return lib.func.jacrev(lambda x: x * x)(lib.tensor([1 + 2j]))


@case("hessian-complex-input", text=True)
def _(lib):
    return lib.func.hessian(lambda x: (x * x).abs().sum())(lib.tensor([1 + 2j]))


@case("vjp-int-output-text", text=True)
def _(lib):
    return lib.func.vjp(lambda x: x.argmax(), _x(lib, 3))


@case("hessian-int-input")
def _(lib):
    return lib.func.hessian(lambda x: (x * x).sum())(lib.arange(3))


@case("replace-all-batch-norm")
def _(lib):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.ReLU()).double()
    out = lib.func.replace_all_batch_norm_modules_(m)
    bn = m[1]
    return (out is m, bn.running_mean, bn.running_var, bn.num_batches_tracked,
            bn.track_running_stats, sorted(dict(m.named_buffers())), m(_x(lib, 5, 3)))


@case("replace-all-batch-norm-vmap-per-sample-grads")
def _(lib):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4)).double()
    lib.func.replace_all_batch_norm_modules_(m)
    params = {k: v.detach() for k, v in m.named_parameters()}

    def loss(p, x):
        return lib.func.functional_call(m, p, (x,)).pow(2).sum()

    return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0))(params, _x(lib, 2, 4, 3))


@case("functionalize-values")
def _(lib):
    def f(x):
        y = x.clone()
        y.add_(1.0)
        y[0] = 0.0
        return y * x

    x = _x(lib, 3)
    return lib.func.functionalize(f)(x), x


@case("functionalize-input-mutation")
def _(lib):
    def f(x):
        x.mul_(2.0)
        return x + 1

    x = _x(lib, 3)
    return lib.func.functionalize(f)(x), x


@case("functionalize-bad-remove")
def _(lib):
    return lib.func.functionalize(lambda x: x, remove="views")(_x(lib, 2))


@case("debug-unwrap")
def _(lib):
    x = _x(lib, 2)
    return lib.func.debug_unwrap(x) is x, lib.func.debug_unwrap(x, recurse=False) is x
