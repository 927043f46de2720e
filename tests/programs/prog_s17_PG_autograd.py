"""Autograd tutorials' programs, written afresh in their style (PG, session 17): double
backward through a custom Function, the Jacobians / Hessians tutorial, per-sample gradients
and model ensembling with torch.func, forward-mode AD, parametrizations and pruning.
"""

from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put


def section_double_backward() -> None:
    class MyCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            result = x ** 3
            dx = 3 * x ** 2
            ctx.save_for_backward(x, dx)
            return result, dx

        @staticmethod
        def backward(ctx, grad_output, grad_dx):
            x, dx = ctx.saved_tensors
            return grad_output * dx + grad_dx * 6 * x

    def my_cube(x):
        result, _ = MyCube.apply(x)
        return result

    x = torch.tensor([1.0, -2.0, 0.5], dtype=torch.double, requires_grad=True)
    out = my_cube(x)
    grad_x, = torch.autograd.grad(out.sum(), x, create_graph=True)
    grad2_x, = torch.autograd.grad(grad_x.sum(), x)
    put("double.grad", grad_x)
    put("double.grad2", grad2_x)
    put("double.gradcheck", torch.autograd.gradcheck(my_cube, (x,)))
    put("double.gradgradcheck", torch.autograd.gradgradcheck(my_cube, (x,)))

    class Exp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            result, = ctx.saved_tensors
            return grad_output * result

    y = torch.tensor([0.3, -0.7], dtype=torch.double, requires_grad=True)
    put("double.exp.gradgradcheck", torch.autograd.gradgradcheck(Exp.apply, (y,)))
    g, = torch.autograd.grad(Exp.apply(y).sum(), y, create_graph=True)
    put("double.exp.g2", torch.autograd.grad(g.sum(), y)[0])


def section_jacobians() -> None:
    from torch.func import hessian, jacfwd, jacrev, vjp, vmap

    def predict(weight, bias, x):
        return F.linear(x, weight, bias).tanh()

    D = 8
    weight = torch.randn(D, D)
    bias = torch.randn(D)
    x = torch.randn(D)
    xp = x.clone().requires_grad_()
    unit_vectors = torch.eye(D)

    def compute_jac(xp):
        jacobian_rows = [torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0]
                         for vec in unit_vectors]
        return torch.stack(jacobian_rows)

    jacobian = compute_jac(xp)
    put("jac.rows", jacobian)
    _, vjp_fn = vjp(partial(predict, weight, bias), x)
    ft_jacobian, = vmap(vjp_fn)(unit_vectors)
    put("jac.vmap_vjp", ft_jacobian)
    put("jac.jacrev", jacrev(predict, argnums=2)(weight, bias, x))
    put("jac.jacfwd", jacfwd(predict, argnums=2)(weight, bias, x))
    wj, bj = jacrev(predict, argnums=(0, 1))(weight, bias, x)
    put("jac.wrt_weight", wj)
    put("jac.wrt_bias", bj)
    put("jac.hessian", hessian(predict, argnums=2)(weight, bias, x))
    put("jac.hess_fr", jacfwd(jacrev(predict, argnums=2), argnums=2)(weight, bias, x))
    batch = torch.randn(4, D)
    put("jac.batched", vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))(
        weight, bias, batch))
    put("jac.af.jacobian", torch.autograd.functional.jacobian(
        lambda v: predict(weight, bias, v), x))
    put("jac.af.hessian", torch.autograd.functional.hessian(lambda v: v.pow(3).sum() * v[0], x))
    put("jac.af.hvp", torch.autograd.functional.hvp(lambda v: (v.sin() * v).sum(), x,
                                                    torch.ones(D))[1])


def section_per_sample() -> None:
    from torch.func import functional_call, grad, stack_module_state, vmap

    class SimpleCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, 1)
            self.fc1 = nn.Linear(4 * 3 * 3, 5)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(x, 2)
            x = torch.flatten(x, 1)
            return F.log_softmax(self.fc1(x), dim=1)

    model = SimpleCNN()
    data = torch.randn(6, 1, 8, 8)
    targets = torch.randint(10, (6,)) % 5

    def loss_fn(predictions, targets):
        return F.nll_loss(predictions, targets)

    def compute_grad(sample, target):
        sample, target = sample.unsqueeze(0), target.unsqueeze(0)
        loss = loss_fn(model(sample), target)
        return torch.autograd.grad(loss, list(model.parameters()))

    loop = [compute_grad(data[i], targets[i]) for i in range(6)]
    loop = [torch.stack(shards) for shards in zip(*loop)]
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(params, buffers, sample, target):
        batch, targets = sample.unsqueeze(0), target.unsqueeze(0)
        return loss_fn(functional_call(model, (params, buffers), (batch,)), targets)

    ft = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, data, targets)
    for (name, value), looped in zip(ft.items(), loop):
        put(f"persample.{name}", value)
        put(f"persample.loop.{name}", looped)

    # ensembling: several MLPs stacked, one vmap over the stack
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    models = [MLP() for _ in range(3)]
    minibatches = torch.randn(3, 5, 6)
    predictions_loop = [m(minibatches[i]) for i, m in enumerate(models)]
    params, buffers = stack_module_state(models)
    import copy
    base_model = copy.deepcopy(models[0]).to("meta")

    def fmodel(params, buffers, x):
        return functional_call(base_model, (params, buffers), (x,))

    predictions = vmap(fmodel)(params, buffers, minibatches)
    put("ensemble.vmap", predictions)
    put("ensemble.loop", torch.stack(predictions_loop))
    put("ensemble.same_batch", vmap(fmodel, in_dims=(0, 0, None))(params, buffers,
                                                                    minibatches[0]))
    put("ensemble.param_shapes", str([tuple(v.shape) for v in params.values()]))


def section_forward_ad() -> None:
    import torch.autograd.forward_ad as fwAD
    from torch.func import jvp

    primal = torch.randn(10, 10)
    tangent = torch.randn(10, 10)

    def fn(x, y):
        return x ** 2 + y ** 2

    with fwAD.dual_level():
        dual_input = fwAD.make_dual(primal, tangent)
        plain_tensor = torch.randn(10, 10)
        dual_output = fn(dual_input, plain_tensor)
        jvp_out = fwAD.unpack_dual(dual_output).tangent
    put("fwad.jvp", jvp_out)
    put("fwad.primal", fwAD.unpack_dual(dual_output).primal if False else dual_output)

    model = nn.Linear(5, 5)
    input = torch.randn(16, 5)
    params = {name: p for name, p in model.named_parameters()}
    tangents = {name: torch.rand_like(p) for name, p in params.items()}
    with fwAD.dual_level():
        for name, p in params.items():
            delattr(model, name)
            setattr(model, name, fwAD.make_dual(p, tangents[name]))
        out = model(input)
        jvp_model = fwAD.unpack_dual(out).tangent
    put("fwad.module_jvp", jvp_model)

    x = torch.randn(5)
    t = torch.randn(5)
    value, tangent_out = jvp(lambda v: (v.sin() * v.exp()).cumsum(0), (x,), (t,))
    put("fwad.func_jvp", [value, tangent_out])

    class Fn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, foo):
            result = torch.exp(foo)
            ctx.result = result
            return result

        @staticmethod
        def jvp(ctx, gI):
            gO = gI * ctx.result
            del ctx.result
            return gO

    with fwAD.dual_level():
        dual = fwAD.make_dual(x.double(), t.double())
        put("fwad.custom", fwAD.unpack_dual(Fn.apply(dual)).tangent)


def section_parametrize() -> None:
    import torch.nn.utils.parametrize as parametrize
    from torch.nn.utils import parametrizations, prune

    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

    class MatrixExponential(nn.Module):
        def forward(self, X):
            return torch.matrix_exp(X)

    class Skew(nn.Module):
        def forward(self, X):
            A = X.triu(1)
            return A - A.transpose(-1, -2)

    layer = nn.Linear(4, 4)
    parametrize.register_parametrization(layer, "weight", Symmetric())
    A = layer.weight
    put("param.sym", A)
    put("param.is_sym", torch.allclose(A, A.T))
    put("param.original", layer.parametrizations.weight.original)
    layer2 = nn.Linear(3, 3)
    parametrize.register_parametrization(layer2, "weight", Skew())
    parametrize.register_parametrization(layer2, "weight", MatrixExponential())
    Q = layer2.weight
    put("param.orth_err", (Q.T @ Q - torch.eye(3)).abs().max() < 1e-5)
    opt = torch.optim.SGD(layer2.parameters(), lr=0.1)
    x = torch.randn(6, 3)
    layer2(x).pow(2).sum().backward()
    put("param.orig.grad", layer2.parametrizations.weight.original.grad)
    opt.step()
    with parametrize.cached():
        put("param.cached", layer2.weight @ layer2.weight)
    parametrize.remove_parametrizations(layer2, "weight", leave_parametrized=True)
    put("param.removed", layer2.weight)
    put("param.keys", sorted(layer.state_dict().keys()))

    ortho = parametrizations.orthogonal(nn.Linear(4, 4))
    put("param.ortho", (ortho.weight.T @ ortho.weight - torch.eye(4)).abs().max() < 1e-5)
    wn = parametrizations.weight_norm(nn.Linear(3, 2))
    put("param.wn.g", wn.parametrizations.weight.original0)
    put("param.wn.v", wn.parametrizations.weight.original1)
    wn(torch.randn(4, 3)).sum().backward()
    put("param.wn.g.grad", wn.parametrizations.weight.original0.grad)

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 3, 3)
            self.fc1 = nn.Linear(12, 4)

        def forward(self, x):
            return self.fc1(F.max_pool2d(F.relu(self.conv1(x)), 2).flatten(1))

    model = LeNet()
    module = model.conv1
    prune.random_unstructured(module, name="weight", amount=0.3)
    put("prune.names", sorted(n for n, _ in module.named_parameters()))
    put("prune.buffers", sorted(n for n, _ in module.named_buffers()))
    put("prune.mask", module.weight_mask)
    prune.l1_unstructured(module, name="bias", amount=1)
    put("prune.bias", module.bias)
    prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
    put("prune.weight", module.weight)
    put("prune.hooks", len(module._forward_pre_hooks))
    prune.remove(module, "weight")
    put("prune.after_remove", sorted(n for n, _ in module.named_parameters()))
    parameters_to_prune = ((model.conv1, "weight"), (model.fc1, "weight"))
    prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured,
                              amount=0.4)
    put("prune.global.zeros", [float(torch.sum(model.fc1.weight == 0)),
                               float(torch.sum(model.conv1.weight == 0))])
    out = model(torch.randn(2, 1, 6, 6))
    out.sum().backward()
    put("prune.orig.grad", model.fc1.weight_orig.grad)
    put("prune.state_keys", sorted(model.state_dict().keys()))


# ("Learning PyTorch with Examples"' Legendre Function and dynamic net, and "What is torch.nn
# really", were typed here too: prog_poly.py (test_programs.py) runs the first two and
# prog_s26_PR11_tutorials.py's tut_ex2 / tut_ex3 the same APIs in our own code; its tut_nnr /
# tut_cnn run the third, a superset of the copy here. Removed in session 30, DD2.)
SECTIONS = {"double": section_double_backward, "jac": section_jacobians,
            "persample": section_per_sample, "fwad": section_forward_ad,
            "param": section_parametrize}
