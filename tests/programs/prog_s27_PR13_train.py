"""Training-recipe programs (PR13, session 27), written afresh in the style of widely copied
code, printing what such scripts print: knowledge distillation (teacher first, then a student
on temperature-softened KL plus hard labels), BYOL with an EMA target network and a predictor,
pruning with torch.nn.utils.prune (l1 / random / ln-structured / global / custom masks, the
forward-pre-hooks and ``remove``), parametrizations (new-style weight_norm / spectral_norm /
orthogonal, registered by hand and removed), torch.utils.checkpoint over a block sequence, and
gradient accumulation with clip_grad_norm_ under CPU autocast in bfloat16. Tiny sizes, seeded;
run by prog_s27_PR13_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from prog_s25_PR9_harness import printed, put


def _blobs(g, n=96, d=8, classes=3):
    centers = torch.randn(classes, d, generator=g) * 2
    y = torch.randint(0, classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, d, generator=g)
    return x, y


def section_distill() -> None:
    g = torch.Generator().manual_seed(1)
    x, y = _blobs(g)
    torch.manual_seed(1)
    teacher = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
    student = nn.Sequential(nn.Linear(8, 4), nn.Tanh(), nn.Linear(4, 3))
    T, alpha = 4.0, 0.7
    with printed("kd.log"):
        opt = torch.optim.Adam(teacher.parameters(), lr=1e-2)
        for epoch in range(30):
            loss = F.cross_entropy(teacher(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        teacher.eval()
        acc = (teacher(x).argmax(1) == y).float().mean()
        print(f"teacher loss {loss.item():.4f} acc {acc.item():.3f}")
        opt = torch.optim.SGD(student.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        for epoch in range(40):
            with torch.no_grad():
                soft = F.softmax(teacher(x) / T, dim=1)
            out = student(x)
            kd = F.kl_div(F.log_softmax(out / T, dim=1), soft, reduction="batchmean") * T * T
            hard = F.cross_entropy(out, y)
            loss = alpha * kd + (1 - alpha) * hard
            opt.zero_grad()
            loss.backward()
            opt.step()
            if epoch % 10 == 9:
                print(f"epoch {epoch + 1:2d} kd {kd.item():.4f} ce {hard.item():.4f}")
        agree = (student(x).argmax(1) == teacher(x).argmax(1)).float().mean()
        print(f"student/teacher agreement {agree.item():.3f}")
        log_target = F.kl_div(F.log_softmax(out, 1), F.log_softmax(teacher(x), 1),
                              reduction="sum", log_target=True)
        print(f"log_target kl {log_target.item():.4f}")
    put("kd.student", [p.detach() for p in student.parameters()])


def section_byol() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(32, 6, generator=g)
    torch.manual_seed(2)

    def mlp(i, h, o):
        return nn.Sequential(nn.Linear(i, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(inplace=True),
                             nn.Linear(h, o))

    online = nn.Sequential(mlp(6, 16, 8))
    predictor = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 8))
    target = copy.deepcopy(online)
    for p in target.parameters():
        p.requires_grad = False
    opt = torch.optim.AdamW(list(online.parameters()) + list(predictor.parameters()), lr=3e-3,
                            weight_decay=1e-4)

    def augment(t):
        noise = torch.randn(t.shape, generator=g) * 0.1
        mask = (torch.rand(t.shape, generator=g) > 0.1).float()
        return (t + noise) * mask

    def regression(p, z):
        p = F.normalize(p, dim=-1, p=2)
        z = F.normalize(z, dim=-1, p=2)
        return 2 - 2 * (p * z).sum(dim=-1)

    with printed("byol.log"):
        for step in range(12):
            v1, v2 = augment(x), augment(x)
            p1, p2 = predictor(online(v1)), predictor(online(v2))
            with torch.no_grad():
                z1, z2 = target(v1), target(v2)
            loss = (regression(p1, z2.detach()) + regression(p2, z1.detach())).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tau = 1 - (1 - 0.99) * (torch.cos(torch.tensor(torch.pi * step / 12)) + 1) / 2
            with torch.no_grad():
                for po, pt in zip(online.parameters(), target.parameters()):
                    pt.mul_(tau).add_(po, alpha=1 - tau)
                for bo, bt in zip(online.buffers(), target.buffers()):
                    bt.copy_(bo)
            if step % 3 == 2:
                print(f"step {step + 1:2d} loss {loss.item():.5f} tau {tau.item():.5f}")
        gap = sum((po - pt).pow(2).sum() for po, pt in
                  zip(online.parameters(), target.parameters()))
        print(f"online/target gap {gap.item():.6f}")
        print("target requires grad:", any(p.requires_grad for p in target.parameters()))
        print("num_batches_tracked", target[0][1].num_batches_tracked)
    put("byol.target", [p for p in target.parameters()])


def section_pruning() -> None:
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5))
    with printed("prune.log"):
        prune.l1_unstructured(net[0], name="weight", amount=0.3)
        print(sorted(n for n, _ in net[0].named_parameters()))
        print(sorted(n for n, _ in net[0].named_buffers()))
        print("hooks", [type(h).__name__ for h in net[0]._forward_pre_hooks.values()])
        print("conv sparsity", f"{100 * (net[0].weight == 0).float().mean().item():.2f}%")
        prune.random_unstructured(net[0], name="bias", amount=1)
        print("bias", net[0].bias)
        prune.ln_structured(net[3], name="weight", amount=0.4, n=2, dim=0)
        rows = (net[3].weight.abs().sum(1) == 0).nonzero().flatten()
        print("pruned rows", rows.tolist())
        prune.l1_unstructured(net[3], name="weight", amount=10)
        print("linear zeros", int((net[3].weight == 0).sum()))
        container = net[3]._forward_pre_hooks
        hook = next(iter(container.values()))
        print(type(hook).__name__, len(hook), [type(h).__name__ for h in hook])
        x = torch.randn(2, 1, 6, 6)
        out = net(x)
        out.sum().backward()
        print("orig grad zeros where masked:",
              bool((net[0].weight_orig.grad[net[0].weight_mask == 0] == 0).all()))
        print("is_pruned", prune.is_pruned(net), prune.is_pruned(nn.Linear(2, 2)))
        prune.remove(net[0], "weight")
        print(sorted(n for n, _ in net[0].named_parameters()), list(net[0].state_dict()))
        model = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 4))
        params = [(model[0], "weight"), (model[1], "weight")]
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.5)
        total = sum(int((m.weight == 0).sum()) for m, _ in params)
        print("global zeros", total, [int((m.weight == 0).sum()) for m, _ in params])
        mask = torch.eye(4, 10)
        prune.custom_from_mask(model[1], name="bias", mask=torch.tensor([1.0, 0, 1, 0]))
        print("custom bias", model[1].bias)
        prune.identity(model[0], "bias")
        print(list(model.state_dict()))
        print("mask sum", mask.sum().item())
    put("prune.out", out)


def section_parametrize() -> None:
    import torch.nn.utils.parametrize as P
    from torch.nn.utils import parametrizations as PZ
    torch.manual_seed(4)
    with printed("param.log"):
        lin = PZ.weight_norm(nn.Linear(5, 3))
        print(type(lin.parametrizations).__name__, list(lin.parametrizations.weight))
        print(sorted(n for n, _ in lin.named_parameters()))
        print("g shape", tuple(lin.parametrizations.weight.original0.shape))
        w = lin.weight
        print("norms", w.norm(dim=1).detach().numpy().round(4).tolist())
        print("is_parametrized", P.is_parametrized(lin), P.is_parametrized(lin, "bias"))
        sn = PZ.spectral_norm(nn.Linear(6, 4), n_power_iterations=3)
        for _ in range(5):
            sn(torch.randn(2, 6))
        sigma = torch.linalg.matrix_norm(sn.weight.detach(), ord=2)
        print(f"spectral norm {sigma.item():.4f}")
        sn.eval()
        print("eval stable", torch.equal(sn.weight, sn.weight))
        orth = PZ.orthogonal(nn.Linear(4, 4))
        q = orth.weight
        print("orthogonal err", f"{(q @ q.T - torch.eye(4)).abs().max().item() < 1e-5}")
        opt = torch.optim.SGD(orth.parameters(), lr=0.1)
        for step in range(3):
            loss = (orth(torch.ones(1, 4)) - torch.arange(4.0)).pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        q = orth.weight
        print(f"after steps loss {loss.item():.4f} orthogonal",
              (q @ q.T - torch.eye(4)).abs().max().item() < 1e-5)

        class Symmetric(nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).transpose(-1, -2)

        layer = nn.Linear(3, 3)
        P.register_parametrization(layer, "weight", Symmetric())
        print("symmetric", torch.equal(layer.weight, layer.weight.T))
        with P.cached():
            a = layer.weight
            b = layer.weight
            print("cached same object", a is b)
        P.remove_parametrizations(layer, "weight", leave_parametrized=True)
        print(isinstance(layer.weight, nn.Parameter), torch.equal(layer.weight, layer.weight.T))
        print(layer)
    put("param.q", q)


def section_checkpoint() -> None:
    from torch.utils.checkpoint import checkpoint, checkpoint_sequential
    torch.manual_seed(5)
    blocks = nn.Sequential(*[nn.Sequential(nn.Linear(8, 8), nn.GELU()) for _ in range(4)])
    x = torch.randn(3, 8, requires_grad=True)
    with printed("ckpt.log"):
        ref = blocks(x).pow(2).sum()
        gx, = torch.autograd.grad(ref, x)
        out = checkpoint_sequential(blocks, 2, x, use_reentrant=False)
        out.pow(2).sum().backward()
        print("sequential same grad", torch.allclose(x.grad, gx), out.requires_grad)
        x.grad = None
        h = x
        for blk in blocks:
            h = checkpoint(blk, h, use_reentrant=False)
        h.pow(2).sum().backward()
        print("per block same grad", torch.allclose(x.grad, gx))
        grads = [p.grad.norm().item() for p in blocks.parameters()]
        print("param grad norms", [round(v, 4) for v in grads[:4]])

        def fn(a, scale, *, shift):
            return torch.sin(a) * scale + shift

        y = torch.randn(4, requires_grad=True)
        z = checkpoint(fn, y, 2.0, shift=1.0, use_reentrant=False)
        z.sum().backward()
        print("kwargs grad", y.grad.numpy().round(4).tolist())
        drop = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5))
        torch.manual_seed(7)
        a = checkpoint(drop, x, use_reentrant=False, preserve_rng_state=True)
        a.sum().backward()
        print("dropout output zeros", int((a == 0).sum()))
        frozen = checkpoint(blocks[0], torch.ones(2, 8), use_reentrant=True)
        print("reentrant without grad inputs:", frozen.requires_grad)
    put("ckpt.grad", gx)


def section_accumulate() -> None:
    g = torch.Generator().manual_seed(6)
    x, y = _blobs(g, n=64)
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    accum = 4
    with printed("accum.log"):
        for epoch in range(2):
            opt.zero_grad()
            for i, (xb, yb) in enumerate(zip(x.split(8), y.split(8))):
                loss = F.cross_entropy(model(xb), yb) / accum
                loss.backward()
                if (i + 1) % accum == 0:
                    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
                    opt.step()
                    opt.zero_grad()
                    print(f"epoch {epoch} step {(i + 1) // accum} norm {norm.item():.4f} "
                          f"loss {loss.item() * accum:.4f}")
        inf = nn.utils.clip_grad_norm_(model.parameters(), 1.0, norm_type="inf")
        print("empty grads norm", inf)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x[:4])
            print("autocast dtype", out.dtype, torch.is_autocast_enabled("cpu"))
            loss = F.cross_entropy(out, y[:4])
            print("loss dtype", loss.dtype)
        loss.backward()
        print("param grad dtype", model[0].weight.grad.dtype)
        print("out", out.float().detach().numpy().round(1).tolist()[0])
        with torch.autocast(device_type="cpu", enabled=False):
            print("disabled", model(x[:1]).dtype)
        vals = nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
        print("clip value returns", vals, model[2].bias.grad.abs().max().item() <= 0.01)
        vec = nn.utils.parameters_to_vector(model.parameters())
        print("vector", vec.shape, round(vec.sum().item(), 3))
        nn.utils.vector_to_parameters(vec * 0.5, model.parameters())
        print("halved", round(nn.utils.parameters_to_vector(model.parameters()).sum().item(), 3))
    put("accum.w", model[0].weight)


SECTIONS = {
    "distill": section_distill, "byol": section_byol, "pruning": section_pruning,
    "parametrize": section_parametrize, "checkpoint": section_checkpoint,
    "accumulate": section_accumulate,
}
