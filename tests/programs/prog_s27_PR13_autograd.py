"""Autograd-machinery programs (PR13, session 27), written afresh in the style of widely copied
code, printing what such scripts print: custom autograd Functions (save_for_backward,
needs_input_grad, mark_non_differentiable, set_materialize_grads, once_differentiable,
mark_dirty, a jvp through save_for_forward, gradcheck), per-sample gradients with torch.func
(vmap over grad, functional_call, stack_module_state for an ensemble), Grad-CAM and feature
extraction with forward and full backward hooks, saved-tensor hooks that pack to a store, and
backward with ``inputs=`` / retain_grad / tensor hooks. Tiny sizes, seeded; run by
prog_s27_PR13_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.autograd import Function
from torch.autograd.function import once_differentiable


class ClampedExp(Function):
    @staticmethod
    def forward(ctx, x, limit):
        y = torch.exp(x.clamp(max=limit))
        ctx.save_for_backward(y, x)
        ctx.limit = limit
        return y

    @staticmethod
    def backward(ctx, grad):
        y, x = ctx.saved_tensors
        print("  needs_input_grad", ctx.needs_input_grad)
        return grad * y * (x <= ctx.limit), None


class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        values, index = torch.sort(x, descending=True)
        ctx.mark_non_differentiable(index)
        ctx.save_for_backward(index)
        return values, index

    @staticmethod
    def backward(ctx, grad_values, grad_index):
        (index,) = ctx.saved_tensors
        print("  grad_index is None:", grad_index is None)
        out = torch.zeros_like(grad_values)
        out.scatter_(0, index, grad_values)
        return out


class TwoOutputs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        print("  got", "None" if ga is None else "grad", "None" if gb is None else "grad")
        total = 0
        if ga is not None:
            total = total + 2 * ga
        if gb is not None:
            total = total + 3 * gb
        return total


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class InplaceRelu(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.mark_dirty(x)
        x.clamp_(min=0)
        ctx.save_for_backward(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (y > 0)


class Scale(Function):
    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_forward(w)
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad * w, (grad * x).sum() if w.dim() == 0 else grad * x

    @staticmethod
    def jvp(ctx, dx, dw):
        (w,) = ctx.saved_tensors
        return dx * w


def section_custom_functions() -> None:
    g = torch.Generator().manual_seed(10)
    with printed("cfn.log"):
        x = torch.randn(5, generator=g, requires_grad=True)
        y = ClampedExp.apply(x, 0.5)
        y.sum().backward()
        print("clamped exp grad", x.grad.numpy().round(4).tolist())
        v, i = SortWithIndex.apply(x.detach().requires_grad_())
        print("index requires grad:", i.requires_grad, "values:", v.requires_grad)
        (v * torch.arange(5.0)).sum().backward()
        a, b = TwoOutputs.apply(torch.ones(2, requires_grad=True))
        a.sum().backward()
        z = torch.tensor([1.0, -2.0], requires_grad=True)
        a, b = TwoOutputs.apply(z)
        (a.sum() + b.sum()).backward()
        print("both", z.grad)
        c = torch.tensor([2.0], requires_grad=True)
        out = Cube.apply(c)
        gc, = torch.autograd.grad(out, c, create_graph=True)
        print("cube grad", gc, gc.requires_grad)
        try:
            gc.backward()
        except RuntimeError as e:
            print("double backward raised RuntimeError", isinstance(e, RuntimeError))
        leaf = torch.randn(4, generator=g, requires_grad=True)
        h = leaf * 1.0
        r = InplaceRelu.apply(h)
        print("same object", r is h, r._version > 0 if hasattr(r, "_version") else None)
        r.sum().backward()
        print("relu grad", leaf.grad)
        xs = torch.randn(3, dtype=torch.float64, generator=g, requires_grad=True)
        ws = torch.randn(3, dtype=torch.float64, generator=g, requires_grad=True)
        print("gradcheck", torch.autograd.gradcheck(Scale.apply, (xs, ws)))
        print("Function name", type(y.grad_fn).__name__, y.grad_fn.name() if
              hasattr(y.grad_fn, "name") else "")
    # (PyTorch's first forward-mode call imports its decompositions, which warn that
    # torch.jit.script is deprecated: an import of its internals, not the program's doing)
    import torch.autograd.forward_ad as fwAD
    with printed("cfn.fwd", warnings_too=False):
        with fwAD.dual_level():
            dual = fwAD.make_dual(xs.detach(), torch.ones(3, dtype=torch.float64))
            out = Scale.apply(dual, ws.detach())
            print("tangent", fwAD.unpack_dual(out).tangent.numpy().round(4).tolist())
    put("cfn.xgrad", x.grad)


def section_per_sample() -> None:
    from torch.func import functional_call, grad, stack_module_state, vmap
    torch.manual_seed(11)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    g = torch.Generator().manual_seed(11)
    x = torch.randn(5, 4, generator=g)
    y = torch.randint(0, 2, (5,), generator=g)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def loss_fn(p, b, xi, yi):
        out = functional_call(model, (p, b), (xi.unsqueeze(0),))
        return F.cross_entropy(out, yi.unsqueeze(0))

    with printed("psg.log"):
        per = vmap(grad(loss_fn), in_dims=(None, None, 0, 0))(params, buffers, x, y)
        for k, v in per.items():
            print(k, tuple(v.shape), f"{v.norm().item():.5f}")
        manual = []
        for i in range(5):
            model.zero_grad()
            F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
            manual.append(model[0].weight.grad.clone())
        print("matches loop", torch.allclose(per["0.weight"], torch.stack(manual), atol=1e-6))
        norms = torch.stack([v.flatten(1).norm(dim=1) for v in per.values()]).norm(dim=0)
        print("per-sample norms", norms.numpy().round(4).tolist())
        clipped = {k: v * (1.0 / norms.clamp(min=1.0)).view(-1, *[1] * (v.dim() - 1))
                   for k, v in per.items()}
        print("clipped mean", {k: round(v.mean(0).sum().item(), 5) for k, v in clipped.items()})
        models = [nn.Linear(4, 3) for _ in range(3)]
        stacked, bufs = stack_module_state(models)
        print({k: tuple(v.shape) for k, v in stacked.items()}, bufs)
        base = models[0]

        def call(p, b, xx):
            return functional_call(base, (p, b), (xx,))

        ens = vmap(call, in_dims=(0, 0, None))(stacked, bufs, x)
        loop = torch.stack([m(x) for m in models])
        print("ensemble", tuple(ens.shape), torch.allclose(ens, loop, atol=1e-6))
        jac = torch.func.jacrev(lambda p: call(p, bufs, x[:1]))(
            {k: v[0] for k, v in stacked.items()})
        print("jacrev", {k: tuple(v.shape) for k, v in jac.items()})
        torch.manual_seed(3)
        try:
            vmap(lambda xi: F.dropout(xi, 0.5))(x)
        except RuntimeError:
            print("vmap randomness error; next draw", torch.rand(2).numpy().round(4).tolist())
        noisy = vmap(lambda xi: F.dropout(xi, 0.5), randomness="different")(x)
        print("different masks", int((noisy == 0).sum()))
    put("psg.per", list(per.values()))


def section_gradcam() -> None:
    torch.manual_seed(12)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    net.eval()
    store = {}

    def fwd_hook(module, inputs, output):
        store["act"] = output.detach()

    def bwd_hook(module, grad_input, grad_output):
        store["grad"] = grad_output[0].detach()
        store["n_in"] = len(grad_input)

    h1 = net[3].register_forward_hook(fwd_hook)
    h2 = net[3].register_full_backward_hook(bwd_hook)
    g = torch.Generator().manual_seed(12)
    img = torch.randn(1, 3, 8, 8, generator=g)
    with printed("cam.log"):
        logits = net(img)
        cls = logits.argmax(1).item()
        print("class", cls, "logits", logits.detach().numpy().round(4).tolist())
        net.zero_grad()
        logits[0, cls].backward()
        weights = store["grad"].mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * store["act"]).sum(1, keepdim=True))
        cam = F.interpolate(cam, size=(16, 16), mode="bilinear", align_corners=False)
        cam = (cam - cam.min()) / (cam.max() - cam.min() + 1e-8)
        print("cam", tuple(cam.shape), f"mean {cam.mean().item():.4f}", "grad_input", store["n_in"])
        print("peak at", divmod(cam.flatten().argmax().item(), 16))
        h1.remove()
        h2.remove()
        print("hooks left", len(net[3]._forward_hooks), len(net[3]._backward_hooks))
        feats = {}
        handles = [m.register_forward_hook(
            lambda mod, i, o, name=name: feats.__setitem__(name, tuple(o.shape)))
            for name, m in net.named_children() if isinstance(m, (nn.Conv2d, nn.Linear))]
        net(img)
        print("features", feats)
        for h in handles:
            h.remove()
        img = img.clone().requires_grad_(True)
        net(img)[0, cls].backward()
        sal = img.grad.abs().amax(dim=1)
        print("saliency", tuple(sal.shape), f"{sal.max().item():.5f}")
        pre = []
        hp = net.register_forward_pre_hook(lambda m, args: pre.append(args[0].shape) or None)
        net(img)
        hp.remove()
        print("pre hook saw", pre)
    put("cam.cam", cam)


def section_saved_hooks() -> None:
    g = torch.Generator().manual_seed(13)
    store = []

    def pack(t):
        store.append(t.clone())
        return len(store) - 1

    def unpack(i):
        return store[i]

    with printed("saved.log"):
        a = torch.randn(3, generator=g, requires_grad=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
            b = (a * a).sin()
        print("packed", len(store))
        b.sum().backward()
        print("grad", a.grad.numpy().round(5).tolist())
        w = torch.randn(3, 3, generator=g, requires_grad=True)
        x = torch.randn(2, 3, generator=g)
        y = (x @ w).relu()
        z = y.pow(2).sum()
        y.retain_grad()
        seen = []
        w.register_hook(lambda grad: seen.append(grad.norm().item()))
        z.backward(inputs=[w])
        print("y.grad", y.grad is not None, "hook ran", len(seen))
        print("only w", w.grad is not None, x.grad)
        q = torch.randn(2, generator=g, requires_grad=True)
        r = torch.randn(2, generator=g, requires_grad=True)
        loss = (q * r).sum()
        loss.backward(inputs=q, retain_graph=True)
        print("r.grad is None:", r.grad is None)
        loss.backward(inputs=[r])
        print("r grad equals q", torch.equal(r.grad, q.detach()))
        h = q.register_hook(lambda grad: grad * 10)
        (q * 2).sum().backward()
        print("hooked grad", q.grad)
        h.remove()
        print("is_leaf", q.is_leaf, (q * 2).is_leaf, "grad_fn", type((q * 2).grad_fn).__name__)
        with torch.autograd.graph.save_on_cpu():
            s = (q * r).exp().sum()
        s.backward()
        print("save_on_cpu grad", q.grad.numpy().round(4).tolist())
    put("saved.w", w.grad)


SECTIONS = {
    "custom_functions": section_custom_functions, "per_sample": section_per_sample,
    "gradcam": section_gradcam, "saved_hooks": section_saved_hooks,
}
