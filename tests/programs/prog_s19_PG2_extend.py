""""Extending PyTorch" and the forward-mode AD tutorial, written afresh in their style (PG2,
session 19): LinearFunction and MulConstant as custom autograd Functions (needs_input_grad,
non-tensor arguments, setup_context, once_differentiable, mark_non_differentiable,
set_materialize_grads), a custom Function with double backward checked by gradgradcheck,
forward-mode AD through a module with functional_call, and a custom nn.Module built on them.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put
from torch.autograd import Function
from torch.autograd.function import once_differentiable


class LinearFunction(Function):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


class MulConstant(Function):
    @staticmethod
    def forward(tensor, constant):
        return tensor * constant

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, constant = inputs
        ctx.constant = constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


class MyLinear(nn.Module):
    def __init__(self, input_features, output_features, bias=True):
        super().__init__()
        self.input_features = input_features
        self.output_features = output_features
        self.weight = nn.Parameter(torch.empty(output_features, input_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(output_features))
        else:
            self.register_parameter("bias", None)
        nn.init.uniform_(self.weight, -0.1, 0.1)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -0.1, 0.1)

    def forward(self, input):
        return LinearFunction.apply(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"input_features={self.input_features}, "
                f"output_features={self.output_features}, bias={self.bias is not None}")


def section_linear_function() -> None:
    from torch.autograd import gradcheck

    input = (torch.randn(5, 4, dtype=torch.double, requires_grad=True),
             torch.randn(3, 4, dtype=torch.double, requires_grad=True),
             torch.randn(3, dtype=torch.double, requires_grad=True))
    put("linfn.gradcheck", gradcheck(LinearFunction.apply, input, eps=1e-6, atol=1e-4))
    out = LinearFunction.apply(*input)
    out.pow(2).sum().backward()
    put("linfn.grads", [t.grad for t in input])
    # needs_input_grad: a frozen weight gets no gradient
    x = torch.randn(5, 4, requires_grad=True)
    w = torch.randn(3, 4)
    out = LinearFunction.apply(x, w)
    out.sum().backward()
    put("linfn.x_grad", x.grad)
    put("linfn.w_grad_none", w.grad is None)
    put("linfn.grad_fn", type(out.grad_fn).__name__)
    # MulConstant: forward without ctx, setup_context keeps the non-tensor constant
    y = torch.randn(4, requires_grad=True)
    z = MulConstant.apply(y, 2.5)
    (z * z).sum().backward()
    put("linfn.mulconst", z)
    put("linfn.mulconst_grad", y.grad)
    # the custom module inside a training loop
    torch.manual_seed(1)
    model = nn.Sequential(MyLinear(4, 8), nn.ReLU(), MyLinear(8, 2, bias=False))
    put("linfn.repr", repr(model))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    data, target = torch.randn(16, 4), torch.randn(16, 2)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        loss = F.mse_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("linfn.losses", losses)
    put("linfn.w0", model[0].weight)
    put("linfn.nparams", sum(p.numel() for p in model.parameters()))


def section_function_kinds() -> None:
    class Exp(Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class SortWithIndices(Function):
        @staticmethod
        def forward(ctx, x):
            values, indices = x.sort()
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, g, _unused):
            (indices,) = ctx.saved_tensors
            grad_input = torch.zeros_like(g)
            grad_input.index_add_(0, indices, g)
            return grad_input

    class SplitTwo(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x.clone(), x.clone()

        @staticmethod
        def backward(ctx, g1, g2):
            x_grad = None
            if g1 is not None:
                x_grad = g1 * 2
            if g2 is not None:
                x_grad = g2 * 3 if x_grad is None else x_grad + g2 * 3
            return x_grad

    class ScaleInPlace(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x.mul_(3)

        @staticmethod
        def backward(ctx, g):
            return g * 3

    a = torch.randn(5, requires_grad=True)
    Exp.apply(a).sum().backward()
    put("kinds.exp_grad", a.grad)
    try:  # once_differentiable: no double backward through it
        b = torch.randn(3, requires_grad=True)
        (g,) = torch.autograd.grad(Exp.apply(b).sum(), b, create_graph=True)
        g.sum().backward()
        put("kinds.once_error", "none")
    except RuntimeError:
        put("kinds.once_error", "RuntimeError")
    c = torch.randn(6, requires_grad=True)
    values, indices = SortWithIndices.apply(c)
    put("kinds.sorted", values)
    put("kinds.indices", indices)
    put("kinds.indices_rg", indices.requires_grad)
    (values * torch.arange(6.0)).sum().backward()
    put("kinds.sort_grad", c.grad)
    d = torch.randn(4, requires_grad=True)
    first, second = SplitTwo.apply(d)
    first.sum().backward()  # only one output used: g2 arrives as None
    put("kinds.split_grad", d.grad)
    d.grad = None
    first, second = SplitTwo.apply(d)
    (first + second).pow(2).sum().backward()
    put("kinds.split_both", d.grad)
    e = torch.randn(4, requires_grad=True)
    e2 = e.clone()
    out = ScaleInPlace.apply(e2)
    put("kinds.dirty_same", out is e2)
    out.pow(2).sum().backward()
    put("kinds.dirty_grad", e.grad)


def section_double_backward_custom() -> None:
    from torch.autograd import gradcheck, gradgradcheck

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_out):
            (x,) = ctx.saved_tensors
            return grad_out * 3 * x ** 2  # differentiable ops: double backward works

    class Sinh(Function):
        @staticmethod
        def forward(ctx, x):
            expx = torch.exp(x)
            expnegx = torch.exp(-x)
            ctx.save_for_backward(expx, expnegx)
            return (expx - expnegx) / 2, expx, expnegx

        @staticmethod
        def backward(ctx, grad_out, grad_expx, grad_expnegx):
            expx, expnegx = ctx.saved_tensors
            grad_input = grad_out * (expx + expnegx) / 2
            grad_input += grad_expx * expx
            grad_input -= grad_expnegx * expnegx
            return grad_input

    x = torch.randn(4, dtype=torch.double, requires_grad=True)
    put("dbl.gradcheck", gradcheck(Cube.apply, x))
    put("dbl.gradgradcheck", gradgradcheck(Cube.apply, x))
    y = Cube.apply(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    put("dbl.cube_g", g)
    put("dbl.cube_gg", gg)

    def sinh_only(x):
        return Sinh.apply(x)[0]

    put("dbl.sinh_gradgrad", gradgradcheck(sinh_only, x))
    s, ex, enx = Sinh.apply(x)
    (g2,) = torch.autograd.grad((s * ex + enx).sum(), x, create_graph=True)
    put("dbl.sinh_g", g2)
    put("dbl.sinh_gg", torch.autograd.grad(g2.pow(2).sum(), x)[0])
    # a gradient penalty through the custom op (WGAN-GP style)
    w = torch.randn(4, 4, dtype=torch.double, requires_grad=True)
    inp = torch.randn(3, 4, dtype=torch.double, requires_grad=True)
    out = Cube.apply(inp @ w).sum()
    (gi,) = torch.autograd.grad(out, inp, create_graph=True)
    penalty = ((gi.norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    put("dbl.penalty", penalty)
    put("dbl.w_grad", w.grad)


def section_forward_ad_module() -> None:
    import torch.autograd.forward_ad as fwAD
    from torch.func import functional_call, jacfwd, jvp

    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 2))
    input = torch.randn(7, 5)
    params = {name: p.detach() for name, p in model.named_parameters()}
    tangents = {name: torch.rand_like(p) for name, p in params.items()}
    with fwAD.dual_level():
        dual_params = {name: fwAD.make_dual(p, tangents[name]) for name, p in params.items()}
        out = functional_call(model, dual_params, input)
        jvp_out = fwAD.unpack_dual(out).tangent
        primal_out = fwAD.unpack_dual(out).primal
    put("fwd.module_jvp", jvp_out)
    put("fwd.module_primal", primal_out)
    # the same with torch.func.jvp over the parameters
    _, jvp2 = jvp(lambda p: functional_call(model, p, (input,)), (params,), (tangents,))
    put("fwd.func_jvp", jvp2)
    # dual numbers through several ops, unpacked tangents of intermediate results
    x = torch.randn(4, 3)
    t = torch.randn(4, 3)
    with fwAD.dual_level():
        dx = fwAD.make_dual(x, t)
        y = F.softmax(dx, dim=1)
        z = F.layer_norm(y * dx, (3,))
        w = torch.logsumexp(z, dim=0)
        put("fwd.softmax_t", fwAD.unpack_dual(y).tangent)
        put("fwd.layernorm_t", fwAD.unpack_dual(z).tangent)
        put("fwd.lse_t", fwAD.unpack_dual(w).tangent)
    # a custom Function with both jvp and backward
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.x = x
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

        @staticmethod
        def jvp(ctx, t):
            return 2 * ctx.x * t

    with fwAD.dual_level():
        put("fwd.custom_jvp", fwAD.unpack_dual(Square.apply(fwAD.make_dual(x, t))).tangent)
    xr = x.clone().requires_grad_()
    Square.apply(xr).sum().backward()
    put("fwd.custom_vjp", xr.grad)
    put("fwd.jacfwd", jacfwd(lambda v: model(v).sum(0))(input[:2]))


SECTIONS = {"linfn": section_linear_function, "kinds": section_function_kinds,
            "dbl": section_double_backward_custom, "fwd": section_forward_ad_module}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
