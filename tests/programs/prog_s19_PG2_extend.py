"""Custom autograd Functions of every kind and forward-mode AD (PG2, session 19; rewritten in
our own code in session 31, DD3): an affine map as a Function (needs_input_grad, an optional
input) inside a Module of our own (register_parameter of None, extra_repr) trained with SGD; a
plain-number factor kept by setup_context; once_differentiable, mark_non_differentiable,
set_materialize_grads and mark_dirty; Functions whose backward is itself differentiable
(a cubic, and one returning a second output it saves) under gradcheck / gradgradcheck and a
gradient penalty; forward-mode AD through a module by functional_call (dual numbers and
torch.func.jvp), tangents of intermediate results, a Function with its own jvp.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put
from torch.autograd import Function
from torch.autograd.function import once_differentiable


class AffineMap(Function):
    """rows @ weight.T (+ shift): each gradient computed only when its input asks for one."""

    @staticmethod
    def forward(ctx, rows, weight, shift=None):
        ctx.save_for_backward(rows, weight, shift)
        out = rows.mm(weight.t())
        if shift is not None:
            out += shift.unsqueeze(0).expand_as(out)
        return out

    @staticmethod
    def backward(ctx, upstream):
        rows, weight, shift = ctx.saved_tensors
        wants = ctx.needs_input_grad
        d_rows = upstream.mm(weight) if wants[0] else None
        d_weight = upstream.t().mm(rows) if wants[1] else None
        d_shift = upstream.sum(0) if shift is not None and wants[2] else None
        return d_rows, d_weight, d_shift


class Times(Function):
    """x times a plain number: forward takes no ctx; setup_context keeps the number."""

    @staticmethod
    def forward(x, factor):
        return x * factor

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.factor = inputs[1]

    @staticmethod
    def backward(ctx, upstream):
        return upstream * ctx.factor, None


class HandLinear(nn.Module):
    """A linear layer over AffineMap; ``shift=False`` registers its bias as None."""

    def __init__(self, n_in, n_out, shift=True):
        super().__init__()
        self.n_in, self.n_out = n_in, n_out
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        if shift:
            self.bias = nn.Parameter(torch.empty(n_out))
        else:
            self.register_parameter("bias", None)
        for p in self.parameters():
            nn.init.uniform_(p, -0.3, 0.3)

    def forward(self, rows):
        return AffineMap.apply(rows, self.weight, self.bias)

    def extra_repr(self):
        return f"{self.n_in} -> {self.n_out}, shift={self.bias is not None}"


def section_linear_function() -> None:
    from torch.autograd import gradcheck

    args = (torch.randn(6, 3, dtype=torch.double, requires_grad=True),
            torch.randn(2, 3, dtype=torch.double, requires_grad=True),
            torch.randn(2, dtype=torch.double, requires_grad=True))
    put("linfn.gradcheck", gradcheck(AffineMap.apply, args, eps=1e-6, atol=1e-4))
    AffineMap.apply(*args).tanh().sum().backward()
    put("linfn.grads", [a.grad for a in args])
    # a weight that does not require grad is asked for no gradient and gets none
    rows, fixed = torch.randn(6, 3, requires_grad=True), torch.randn(2, 3)
    out = AffineMap.apply(rows, fixed)
    (out * torch.arange(2.0)).sum().backward()
    put("linfn.x_grad", rows.grad)
    put("linfn.w_grad_none", fixed.grad is None)
    put("linfn.grad_fn", type(out.grad_fn).__name__)
    v = torch.randn(5, requires_grad=True)
    scaled = Times.apply(v, -1.5)
    scaled.exp().sum().backward()
    put("linfn.mulconst", scaled)
    put("linfn.mulconst_grad", v.grad)
    # the Module inside a small regression
    torch.manual_seed(7)
    net = nn.Sequential(HandLinear(3, 10), nn.Tanh(), HandLinear(10, 1, shift=False))
    put("linfn.repr", repr(net))
    sgd = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.8)
    xs = torch.randn(20, 3)
    ys = xs.sum(1, keepdim=True).sin()
    history = []
    for _step in range(8):
        sgd.zero_grad()
        loss = F.mse_loss(net(xs), ys)
        loss.backward()
        sgd.step()
        history.append(loss.item())
    put("linfn.losses", history)
    put("linfn.w0", net[0].weight)
    put("linfn.nparams", sum(p.numel() for p in net.parameters()))


def section_function_kinds() -> None:
    class SigmoidOnce(Function):
        """Saves its output; the backward is not differentiable again (once_differentiable)."""

        @staticmethod
        def forward(ctx, x):
            s = torch.sigmoid(x)
            ctx.save_for_backward(s)
            return s

        @staticmethod
        @once_differentiable
        def backward(ctx, upstream):
            (s,) = ctx.saved_tensors
            return upstream * s * (1 - s)

    class Ranked(Function):
        """Values in descending order and the permutation (not differentiable)."""

        @staticmethod
        def forward(ctx, x):
            values, order = x.sort(descending=True)
            ctx.mark_non_differentiable(order)
            ctx.save_for_backward(order)
            return values, order

        @staticmethod
        def backward(ctx, d_values, _d_order):
            (order,) = ctx.saved_tensors
            return torch.zeros_like(d_values).index_add_(0, order, d_values)

    class Halves(Function):
        """Two copies of x weighted 0.5 and -1 in backward; missing gradients stay None."""

        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x.clone(), x.clone()

        @staticmethod
        def backward(ctx, d_first, d_second):
            parts = [d * w for d, w in ((d_first, 0.5), (d_second, -1.0)) if d is not None]
            return sum(parts[1:], parts[0]) if parts else None

    class NegateDouble(Function):
        """x *= -2 in place (mark_dirty)."""

        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x.mul_(-2)

        @staticmethod
        def backward(ctx, upstream):
            return upstream * -2

    a = torch.randn(5, requires_grad=True)
    SigmoidOnce.apply(a).sum().backward()
    put("kinds.exp_grad", a.grad)
    try:  # second derivative through a once_differentiable backward
        b = torch.randn(3, requires_grad=True)
        (first,) = torch.autograd.grad(SigmoidOnce.apply(b).sum(), b, create_graph=True)
        first.sum().backward()
        put("kinds.once_error", "none")
    except RuntimeError:
        put("kinds.once_error", "RuntimeError")
    c = torch.randn(6, requires_grad=True)
    values, order = Ranked.apply(c)
    put("kinds.sorted", values)
    put("kinds.indices", order)
    put("kinds.indices_rg", order.requires_grad)
    (values * torch.linspace(-1, 1, 6)).sum().backward()
    put("kinds.sort_grad", c.grad)
    d = torch.randn(4, requires_grad=True)
    left, _right = Halves.apply(d)
    left.sum().backward()  # the second output unused: its gradient arrives as None
    put("kinds.split_grad", d.grad)
    d.grad = None
    left, right = Halves.apply(d)
    (left * right).sum().backward()
    put("kinds.split_both", d.grad)
    e = torch.randn(4, requires_grad=True)
    copy = e.clone()
    out = NegateDouble.apply(copy)
    put("kinds.dirty_same", out is copy)
    out.exp().sum().backward()
    put("kinds.dirty_grad", e.grad)


def section_double_backward_custom() -> None:
    from torch.autograd import gradcheck, gradgradcheck

    class CubicLessX(Function):
        """x^3 - x; its backward uses differentiable ops, so it differentiates again."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3 - x

        @staticmethod
        def backward(ctx, upstream):
            (x,) = ctx.saved_tensors
            return upstream * (3 * x ** 2 - 1)

    class SoftplusAndSlope(Function):
        """(softplus x, sigmoid x): the slope is returned too, so the backward may save it and
        still be differentiated through it."""

        @staticmethod
        def forward(ctx, x):
            slope = torch.sigmoid(x)
            ctx.save_for_backward(slope)
            return torch.log1p(torch.exp(x)), slope

        @staticmethod
        def backward(ctx, d_value, d_slope):
            (slope,) = ctx.saved_tensors
            return d_value * slope + d_slope * slope * (1 - slope)

    x = torch.randn(4, dtype=torch.double, requires_grad=True)
    put("dbl.gradcheck", gradcheck(CubicLessX.apply, x))
    put("dbl.gradgradcheck", gradgradcheck(CubicLessX.apply, x))
    (first,) = torch.autograd.grad(CubicLessX.apply(x).sum(), x, create_graph=True)
    put("dbl.cube_g", first)
    put("dbl.cube_gg", torch.autograd.grad(first.sum(), x)[0])
    put("dbl.parts_gradgrad", gradgradcheck(lambda v: SoftplusAndSlope.apply(v)[0], x))
    value, slope = SoftplusAndSlope.apply(x)
    (first,) = torch.autograd.grad((value * slope).sum(), x, create_graph=True)
    put("dbl.parts_g", first)
    put("dbl.parts_gg", torch.autograd.grad(first.pow(2).sum(), x)[0])
    # a penalty on the input gradient's norm, through the custom op
    w = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    inputs = torch.randn(5, 4, dtype=torch.double, requires_grad=True)
    (d_in,) = torch.autograd.grad(CubicLessX.apply(inputs @ w).sum(), inputs, create_graph=True)
    penalty = ((d_in.norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    put("dbl.penalty", penalty)
    put("dbl.w_grad", w.grad)


def section_forward_ad_module() -> None:
    import torch.autograd.forward_ad as fwAD
    from torch.func import functional_call, jacfwd, jvp

    net = nn.Sequential(nn.Linear(4, 5), nn.Softplus(), nn.Linear(5, 3))
    batch = torch.randn(6, 4)
    weights = {name: p.detach() for name, p in net.named_parameters()}
    directions = {name: torch.randn_like(p) for name, p in weights.items()}
    with fwAD.dual_level():
        out = functional_call(net, {name: fwAD.make_dual(p, directions[name])
                                    for name, p in weights.items()}, batch)
        put("fwd.module_jvp", fwAD.unpack_dual(out).tangent)
        put("fwd.module_primal", fwAD.unpack_dual(out).primal)
    # torch.func.jvp over the parameters: the same directional derivative
    _, along = jvp(lambda p: functional_call(net, p, (batch,)), (weights,), (directions,))
    put("fwd.func_jvp", along)
    x, t = torch.randn(3, 5), torch.randn(3, 5)
    with fwAD.dual_level():
        dual = fwAD.make_dual(x, t)
        probs = F.softmax(dual * 2, dim=0)
        normed = F.layer_norm(probs + dual, (5,))
        pooled = torch.logsumexp(normed, dim=1)
        put("fwd.softmax_t", fwAD.unpack_dual(probs).tangent)
        put("fwd.layernorm_t", fwAD.unpack_dual(normed).tangent)
        put("fwd.lse_t", fwAD.unpack_dual(pooled).tangent)

    class Cube(Function):
        """x^3 with both a backward and a jvp."""

        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            ctx.primal = v
            return v ** 3

        @staticmethod
        def backward(ctx, upstream):
            (v,) = ctx.saved_tensors
            return 3 * v ** 2 * upstream

        @staticmethod
        def jvp(ctx, tangent):
            return 3 * ctx.primal ** 2 * tangent

    with fwAD.dual_level():
        put("fwd.custom_jvp", fwAD.unpack_dual(Cube.apply(fwAD.make_dual(x, t))).tangent)
    leaf = x.clone().requires_grad_()
    Cube.apply(leaf).sum().backward()
    put("fwd.custom_vjp", leaf.grad)
    put("fwd.jacfwd", jacfwd(lambda v: net(v).prod(0))(batch[:3]))


SECTIONS = {"linfn": section_linear_function, "kinds": section_function_kinds,
            "dbl": section_double_backward_custom, "fwd": section_forward_ad_module}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
