"""Cases of session 19's FA sweep: ``torch.autograd.forward_ad`` through ~70 common ops
(elementwise, reductions, matmul, softmax, layer_norm, conv1d, indexing, views, in-place ops
on duals), each output's primal and tangent compared with PyTorch's (the primal detached: its
requires_grad is autograd/forward_ad.py's documented divergence; the tangent's is compared),
and the dual API's own behaviour."""

from s19_FA_cases_func import _x, case

# name -> f(lib, x, y) with x, y dual (3, 4) float64 tensors (y's values positive).
OPS = {
    "add": lambda lib, x, y: x + y,
    "sub-scalar": lambda lib, x, y: 2.0 - x,
    "mul": lambda lib, x, y: x * y,
    "div": lambda lib, x, y: x / y,
    "pow-scalar": lambda lib, x, y: x ** 3,
    "pow-tensor": lambda lib, x, y: y ** x,
    "neg": lambda lib, x, y: -x,
    "exp": lambda lib, x, y: x.exp(),
    "log": lambda lib, x, y: y.log(),
    "log1p": lambda lib, x, y: y.log1p(),
    "sqrt": lambda lib, x, y: y.sqrt(),
    "rsqrt": lambda lib, x, y: y.rsqrt(),
    "sin": lambda lib, x, y: x.sin(),
    "cos": lambda lib, x, y: x.cos(),
    "tanh": lambda lib, x, y: x.tanh(),
    "sigmoid": lambda lib, x, y: x.sigmoid(),
    "relu": lambda lib, x, y: lib.relu(x),
    "gelu": lambda lib, x, y: lib.nn.functional.gelu(x),
    "gelu-tanh": lambda lib, x, y: lib.nn.functional.gelu(x, approximate="tanh"),
    "silu": lambda lib, x, y: lib.nn.functional.silu(x),
    "softplus": lambda lib, x, y: lib.nn.functional.softplus(x, beta=2.0),
    "leaky-relu": lambda lib, x, y: lib.nn.functional.leaky_relu(x, 0.1),
    "elu": lambda lib, x, y: lib.nn.functional.elu(x),
    "abs": lambda lib, x, y: x.abs(),
    "clamp": lambda lib, x, y: x.clamp(-0.5, 0.5),
    "clamp-tensor": lambda lib, x, y: lib.clamp(x, min=-y),
    "maximum": lambda lib, x, y: lib.maximum(x, y - 1),
    "where": lambda lib, x, y: lib.where(x > 0, x * y, y),
    "atan2": lambda lib, x, y: lib.atan2(x, y),
    "erf": lambda lib, x, y: lib.erf(x),
    "lerp": lambda lib, x, y: lib.lerp(x, y, 0.3),
    "addcmul": lambda lib, x, y: lib.addcmul(x, x, y, value=0.5),
    "sum": lambda lib, x, y: x.sum(),
    "sum-dim": lambda lib, x, y: x.sum(1, keepdim=True),
    "mean": lambda lib, x, y: x.mean(0),
    "prod": lambda lib, x, y: y.prod(1),
    "var": lambda lib, x, y: x.var(1),
    "std": lambda lib, x, y: x.std(0, correction=0),
    "norm": lambda lib, x, y: x.norm(dim=1),
    "amax": lambda lib, x, y: x.amax(1),
    "max-dim": lambda lib, x, y: x.max(1).values,
    "min": lambda lib, x, y: x.min(),
    "logsumexp": lambda lib, x, y: x.logsumexp(1),
    "cumsum": lambda lib, x, y: x.cumsum(1),
    "cumprod": lambda lib, x, y: y.cumprod(0),
    "matmul": lambda lib, x, y: x @ y.t(),
    "mv": lambda lib, x, y: lib.mv(x, y[0]),
    "bmm": lambda lib, x, y: lib.bmm(x.reshape(3, 2, 2), y.reshape(3, 2, 2)),
    "einsum": lambda lib, x, y: lib.einsum("ij,kj->ik", x, y),
    "linear": lambda lib, x, y: lib.nn.functional.linear(x, y, y[0, :3]),
    "softmax": lambda lib, x, y: lib.softmax(x, 1),
    "log-softmax": lambda lib, x, y: lib.log_softmax(x, 0),
    "layer-norm": lambda lib, x, y: lib.nn.functional.layer_norm(x, (4,), y[0], y[1]),
    "cross-entropy": lambda lib, x, y: lib.nn.functional.cross_entropy(
        x, lib.tensor([0, 3, 1])),
    "mse-loss": lambda lib, x, y: lib.nn.functional.mse_loss(x, y),
    "conv1d": lambda lib, x, y: lib.nn.functional.conv1d(
        x.reshape(1, 3, 4), y.reshape(2, 3, 2), y[0, :2], padding=1),
    "conv1d-stride": lambda lib, x, y: lib.nn.functional.conv1d(
        x.reshape(1, 3, 4), y[:, :3].reshape(3, 3, 1), stride=2),
    "index-int": lambda lib, x, y: x[1],
    "index-slice": lambda lib, x, y: x[:, 1:3],
    "index-tensor": lambda lib, x, y: x[lib.tensor([2, 0, 2])],
    "index-mask": lambda lib, x, y: x[y > 1],
    "gather": lambda lib, x, y: x.gather(1, lib.tensor([[0], [3], [1]])),
    "index-select": lambda lib, x, y: x.index_select(1, lib.tensor([3, 0])),
    "masked-fill": lambda lib, x, y: x.masked_fill(x > 0, 0.0),
    "transpose": lambda lib, x, y: x.transpose(0, 1),
    "reshape": lambda lib, x, y: x.reshape(2, 6),
    "view": lambda lib, x, y: x.view(4, 3),
    "permute-contiguous": lambda lib, x, y: x.unsqueeze(0).permute(2, 0, 1).contiguous(),
    "expand": lambda lib, x, y: x[:, :1].expand(3, 5),
    "flip": lambda lib, x, y: x.flip(0),
    "cat": lambda lib, x, y: lib.cat([x, y], 0),
    "stack": lambda lib, x, y: lib.stack([x, y], 2),
    "split": lambda lib, x, y: x.split([1, 3], 1)[1],
    "diagonal": lambda lib, x, y: x.diagonal(),
    "tril": lambda lib, x, y: x.tril(),
    "pad": lambda lib, x, y: lib.nn.functional.pad(x, (1, 2)),
    "repeat": lambda lib, x, y: x.repeat(2, 1),
    "type-as-float32": lambda lib, x, y: x.float() * 2,
}


def _duals(lib, fwAD):
    x, y = _x(lib, 3, 4), _x(lib, 3, 4, seed=1).abs() + 0.5
    tx, ty = _x(lib, 3, 4, seed=2), _x(lib, 3, 4, seed=3)
    return fwAD.make_dual(x, tx), fwAD.make_dual(y, ty)


def _run(f):
    def program(lib):
        fwAD = lib.autograd.forward_ad
        with fwAD.dual_level():
            x, y = _duals(lib, fwAD)
            out = fwAD.unpack_dual(f(lib, x, y))
            return out.primal.detach(), out.tangent

    return program


for _name, _f in OPS.items():
    case(f"fwad-{_name}")(_run(_f))


# In-place ops on duals, views of duals, and the API itself.

def _inplace(body):
    def program(lib):
        fwAD = lib.autograd.forward_ad
        with fwAD.dual_level():
            x, y = _duals(lib, fwAD)
            z = body(lib, x.clone(), y)
            out = fwAD.unpack_dual(z)
            return out.primal.detach(), out.tangent

    return program


case("fwad-inplace-mul")(_inplace(lambda lib, z, y: z.mul_(y)))
case("fwad-inplace-exp")(_inplace(lambda lib, z, y: z.exp_()))
case("fwad-inplace-setitem")(_inplace(
    lambda lib, z, y: (z.__setitem__((0, slice(None)), y[1] * 2), z)[1]))
case("fwad-inplace-view-add")(_inplace(
    lambda lib, z, y: (z[:, 1].add_(y[:, 2]), z)[1]))
case("fwad-inplace-clamp")(_inplace(lambda lib, z, y: z.clamp_(min=0.0)))


@case("fwad-inplace-plain-into-dual")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        x, _ = _duals(lib, fwAD)
        z = lib.zeros(3, 4, dtype=lib.float64)
        z.add_(x * 2)
        out = fwAD.unpack_dual(z)
        return out.primal.detach(), out.tangent


@case("fwad-unpack-plain")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        out = fwAD.unpack_dual(_x(lib, 2))
        return out.primal, out.tangent, out.primal is not None


@case("fwad-unpack-outside-level", no_rg=True)
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 2), _x(lib, 2, seed=1))
    out = fwAD.unpack_dual(d)
    return out.primal, out.tangent


@case("fwad-make-dual-outside-level")
def _(lib):
    fwAD = lib.autograd.forward_ad
    return fwAD.make_dual(_x(lib, 2), _x(lib, 2, seed=1))


@case("fwad-make-dual-shape-mismatch")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        return fwAD.make_dual(_x(lib, 2), _x(lib, 3, seed=1))


@case("fwad-make-dual-dtype-mismatch", no_rg=True)
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 2), _x(lib, 2, seed=1, dtype=lib.float32))
        out = fwAD.unpack_dual(d * 2)
        return out.primal.detach(), out.tangent


@case("fwad-make-dual-int")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        return fwAD.make_dual(lib.arange(3), lib.arange(3))


@case("fwad-namedtuple-fields", no_rg=True)
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        out = fwAD.unpack_dual(fwAD.make_dual(_x(lib, 2), _x(lib, 2, seed=1)) * 3)
        primal, tangent = out
        return type(out).__name__, out._fields, primal, tangent


@case("fwad-primal-is-not-input")
def _(lib):
    fwAD = lib.autograd.forward_ad
    x = _x(lib, 2)
    with fwAD.dual_level():
        d = fwAD.make_dual(x, _x(lib, 2, seed=1))
        return d is x, fwAD.unpack_dual(d).primal is x


@case("fwad-two-outputs-mixed")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        x, y = _duals(lib, fwAD)
        plain = _x(lib, 3, 4, seed=9)
        a, b = fwAD.unpack_dual(plain * 2), fwAD.unpack_dual(plain + x)
        return a.tangent, b.primal.detach(), b.tangent


@case("fwad-with-backward")
def _(lib):
    fwAD = lib.autograd.forward_ad
    w = _x(lib, 3).requires_grad_()
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 3, seed=1), _x(lib, 3, seed=2))
        out = fwAD.unpack_dual((d * w).sin())
        out.primal.sum().backward()
        return out.primal.detach(), out.tangent, w.grad


@case("fwad-nested-levels")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        with fwAD.dual_level():
            return 1


@case("fwad-grad-mode-off", no_rg=True)
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level(), lib.no_grad():
        d = fwAD.make_dual(_x(lib, 3), _x(lib, 3, seed=1))
        out = fwAD.unpack_dual(d.sin() * 2)
        return out.primal.detach(), out.tangent


@case("fwad-linear-module")
def _(lib):
    fwAD = lib.autograd.forward_ad
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.Tanh()).double()
    with fwAD.dual_level():
        x, _ = _duals(lib, fwAD)
        out = fwAD.unpack_dual(m(x))
        return out.primal.detach(), out.tangent


@case("fwad-dual-parameter")
def _(lib):
    fwAD = lib.autograd.forward_ad
    lib.manual_seed(0)
    m = lib.nn.Linear(4, 3).double()
    tangent = _x(lib, 3, 4, seed=4)
    with fwAD.dual_level():
        params = {"weight": fwAD.make_dual(m.weight.detach(), tangent),
                  "bias": m.bias.detach()}
        out = fwAD.unpack_dual(lib.func.functional_call(m, params, (_x(lib, 2, 4),)))
        return out.primal.detach(), out.tangent


# Reverse over forward: a tangent keeps a graph where PyTorch's does (a tangent, a primal or a
# captured tensor that requires grad), and backward through it reaches them.


@case("fwad-tangent-requires-grad-backward")
def _(lib):
    fwAD = lib.autograd.forward_ad
    t = _x(lib, 3, seed=1).requires_grad_()
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 3), t)
        out = fwAD.unpack_dual(d.sin() * 2)
        out.tangent.sum().backward()
        return out.tangent, t.grad


@case("fwad-primal-requires-grad-backward-through-tangent")
def _(lib):
    fwAD = lib.autograd.forward_ad
    x = _x(lib, 3).requires_grad_()
    with fwAD.dual_level():
        d = fwAD.make_dual(x, _x(lib, 3, seed=1))
        out = fwAD.unpack_dual(d.exp() * d)
        out.tangent.sum().backward()
        return out.tangent, x.grad


@case("fwad-module-weights-grad-through-tangent")
def _(lib):
    fwAD = lib.autograd.forward_ad
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.Tanh(), lib.nn.Linear(3, 2)).double()
    with fwAD.dual_level():
        x, _ = _duals(lib, fwAD)
        out = fwAD.unpack_dual(m(x))
        (out.tangent ** 2).sum().backward()
        return out.tangent, m[0].weight.grad, m[2].bias.grad


@case("fwad-tangent-grad-twice-paths")
def _(lib):
    fwAD = lib.autograd.forward_ad
    x = _x(lib, 3).requires_grad_()
    with fwAD.dual_level():
        d = fwAD.make_dual(x, _x(lib, 3, seed=1))
        out = fwAD.unpack_dual((d * 3).sin() + d * x)
        (g,) = lib.autograd.grad(out.tangent.sum(), x)
        return out.tangent, g


@case("fwad-make-dual-view")
def _(lib):
    fwAD = lib.autograd.forward_ad
    base = _x(lib, 2, 3)
    with fwAD.dual_level():
        d = fwAD.make_dual(base[0], _x(lib, 3, seed=1))
        out = fwAD.unpack_dual(d * 3)
        return out.primal.detach(), out.tangent


@case("fwad-view-of-dual-tangent")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 2, 3), _x(lib, 2, 3, seed=1))
        out = fwAD.unpack_dual(d[1])
        return out.primal.detach(), out.tangent, fwAD.unpack_dual(d.t()).tangent


@case("fwad-inplace-on-view-updates-base")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        base = _x(lib, 2, 3).clone()
        d = fwAD.make_dual(_x(lib, 3), _x(lib, 3, seed=1))
        base[0].mul_(d)
        out = fwAD.unpack_dual(base)
        return out.primal.detach(), out.tangent


@case("fwad-copy-into-plain")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        z = lib.zeros(2, 3, dtype=lib.float64)
        z[1] = fwAD.make_dual(_x(lib, 3), _x(lib, 3, seed=1))
        out = fwAD.unpack_dual(z)
        return out.primal.detach(), out.tangent


@case("fwad-detach")
def _(lib):
    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 3), _x(lib, 3, seed=1))
        out = fwAD.unpack_dual(d.detach() * 2)
        return out.primal.detach(), out.tangent


@case("fwad-function-jvp-mark-dirty")
def _(lib):
    class G(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

        @staticmethod
        def jvp(ctx, t):
            t.mul_(2)
            return t

    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 3).clone(), _x(lib, 3, seed=1).clone())
        out = fwAD.unpack_dual(G.apply(d))
        return out.primal.detach(), out.tangent


@case("fwad-function-jvp-two-inputs")
def _(lib):
    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_forward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

        @staticmethod
        def jvp(ctx, ta, tb):
            a, b = ctx.saved_tensors
            return ta * b + a * tb

    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 3), _x(lib, 3, seed=1))
        out = fwAD.unpack_dual(Mul.apply(d, _x(lib, 3, seed=2)))
        return out.primal.detach(), out.tangent


@case("fwad-function-no-jvp")
def _(lib):
    class G(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    fwAD = lib.autograd.forward_ad
    with fwAD.dual_level():
        d = fwAD.make_dual(_x(lib, 3), _x(lib, 3, seed=1))
        return fwAD.unpack_dual(G.apply(d)).tangent
