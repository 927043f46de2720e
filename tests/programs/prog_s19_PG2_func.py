"""torch.func tutorials' programs, written afresh in their style (PG2, session 19): the
empirical neural tangent kernel (Jacobian contraction and NTK-vector products), training a
model ensemble with stack_module_state + vmap(grad), Hessian-vector products three ways,
DP-SGD-style per-sample gradient clipping and MAML's second-order inner loop with
functional_call.
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put


def section_ntk() -> None:
    from torch.func import functional_call, jacrev, jvp, vjp, vmap

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(2, 4, (3, 3))
            self.conv2 = nn.Conv2d(4, 4, (3, 3))
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            x = self.conv1(x).relu()
            x = self.conv2(x).relu()
            x = F.adaptive_avg_pool2d(x, (1, 1))
            return self.fc(x.flatten(1))

    net = CNN()
    x_train = torch.randn(4, 2, 6, 6)
    x_test = torch.randn(3, 2, 6, 6)
    params = {k: v.detach() for k, v in net.named_parameters()}

    def fnet_single(params, x):
        return functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

    def empirical_ntk_jacobian_contraction(fnet_single, params, x1, x2, compute="full"):
        jac1 = vmap(jacrev(fnet_single), (None, 0))(params, x1)
        jac1 = jac1.values()
        jac1 = [j.flatten(2) for j in jac1]
        jac2 = vmap(jacrev(fnet_single), (None, 0))(params, x2)
        jac2 = [j.flatten(2) for j in jac2.values()]
        einsum_expr = {"full": "Naf,Mbf->NMab", "trace": "Naf,Maf->NM",
                       "diagonal": "Naf,Maf->NMa"}[compute]
        result = torch.stack([torch.einsum(einsum_expr, j1, j2) for j1, j2 in zip(jac1, jac2)])
        return result.sum(0)

    def empirical_ntk_ntk_vps(func, params, x1, x2, compute="full"):
        def get_ntk(x1, x2):
            def func_x1(params):
                return func(params, x1)

            def func_x2(params):
                return func(params, x2)

            output, vjp_fn = vjp(func_x1, params)

            def get_ntk_slice(vec):
                vjps = vjp_fn(vec)
                _, jvps = jvp(func_x2, (params,), vjps)
                return jvps

            basis = torch.eye(output.numel(), dtype=output.dtype).view(output.numel(), -1)
            return vmap(get_ntk_slice)(basis)

        result = vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2)
        if compute == "full":
            return result
        if compute == "trace":
            return torch.einsum("NMKK->NM", result)
        return torch.einsum("NMKK->NMK", result)

    for compute in ("full", "trace", "diagonal"):
        put(f"ntk.jac.{compute}", empirical_ntk_jacobian_contraction(
            fnet_single, params, x_train, x_test, compute))
    put("ntk.vps.full", empirical_ntk_ntk_vps(fnet_single, params, x_train, x_test, "full"))
    put("ntk.vps.trace", empirical_ntk_ntk_vps(fnet_single, params, x_train, x_test, "trace"))


def section_ensemble_train() -> None:
    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(4, 16)
            self.ln = nn.LayerNorm(16)
            self.fc2 = nn.Linear(16, 3)

        def forward(self, x):
            return self.fc2(F.gelu(self.ln(self.fc1(x))))

    num_models = 4
    models = [MLP() for _ in range(num_models)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")
    x = torch.randn(num_models, 12, 4)
    y = torch.randint(0, 3, (num_models, 12))

    def loss_fn(params, buffers, xb, yb):
        logits = functional_call(base, (params, buffers), (xb,))
        return F.cross_entropy(logits, yb), logits.argmax(-1)

    step = vmap(grad_and_value(loss_fn, has_aux=True))
    losses = []
    for _ in range(8):
        grads, (loss, predictions) = step(params, buffers, x, y)
        params = {k: v - 0.5 * grads[k] for k, v in params.items()}
        losses.append(loss)
    put("ens.losses", torch.stack(losses))
    put("ens.pred", predictions)
    for k, v in params.items():
        put(f"ens.param.{k}", v)
    # the same training, model by model with autograd: the vmapped run must agree with it
    loop_losses = []
    for i, model in enumerate(models):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        for _ in range(8):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[i]), y[i])
            loss.backward()
            optimizer.step()
        loop_losses.append(loss.detach())
    put("ens.loop_last", torch.stack(loop_losses))
    put("ens.loop_fc2", torch.stack([m.fc2.weight.detach() for m in models]))
    # ensembling predictions on one shared batch, and with in_dims / randomness
    shared = torch.randn(5, 4)
    put("ens.shared", vmap(lambda p, b: functional_call(base, (p, b), (shared,)))(params,
                                                                                 buffers))


def section_hvp() -> None:
    from torch.func import grad, hessian, jacfwd, jacrev, jvp, vjp

    def f(x):
        return (x.sin() * x.cos().exp()).sum() + (x[:-1] * x[1:]).pow(2).sum()

    x = torch.randn(6, dtype=torch.float64)
    v = torch.randn(6, dtype=torch.float64)

    def hvp_fwd_rev(f, primals, tangents):
        return jvp(grad(f), primals, tangents)[1]

    def hvp_rev_rev(f, primals, tangents):
        _, vjp_fn = vjp(grad(f), *primals)
        return vjp_fn(*tangents)

    put("hvp.fwd_rev", hvp_fwd_rev(f, (x,), (v,)))
    put("hvp.rev_rev", hvp_rev_rev(f, (x,), (v,))[0])
    put("hvp.hessian_v", hessian(f)(x) @ v)
    put("hvp.jacrev_jacrev", jacrev(jacrev(f))(x))
    put("hvp.jacfwd_jacfwd", jacfwd(jacfwd(f))(x))
    # torch.autograd.functional's versions, and double backward by hand
    put("hvp.af_vhp", torch.autograd.functional.vhp(f, x, v)[1])
    put("hvp.af_hvp", torch.autograd.functional.hvp(f, x, v)[1])
    xr = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(f(xr), xr, create_graph=True)
    (hv,) = torch.autograd.grad(g, xr, v)
    put("hvp.double_backward", hv)
    # Hessian of a model's loss w.r.t. one weight matrix, via functional_call
    from torch.func import functional_call
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    data = torch.randn(5, 3, dtype=torch.float64)
    target = torch.randn(5, 1, dtype=torch.float64)
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss_of(w):
        p = dict(params, **{"2.weight": w})
        return F.mse_loss(functional_call(model, p, (data,)), target)

    put("hvp.model_hessian", hessian(loss_of)(params["2.weight"]))


def section_dp_clip() -> None:
    # DP-SGD by hand (Opacus' recipe without Opacus): per-sample gradients with vmap(grad),
    # each clipped to norm C, summed, Gaussian noise from a seeded generator, averaged.
    from torch.func import functional_call, grad, vmap

    class TextModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 6)
            self.fc = nn.Linear(6, 2)

        def forward(self, tokens):
            return self.fc(self.emb(tokens).mean(1))

    model = TextModel()
    tokens = torch.randint(0, 20, (8, 5))
    labels = torch.randint(0, 2, (8,))
    max_norm, sigma, lr = 0.5, 0.8, 0.5
    noise_gen = torch.Generator().manual_seed(123)
    losses, norms_seen = [], []
    for _ in range(5):
        params = {k: v.detach() for k, v in model.named_parameters()}

        def compute_loss(params, sample, target):
            out = functional_call(model, params, (sample.unsqueeze(0),))
            return F.cross_entropy(out, target.unsqueeze(0))

        per_sample = vmap(grad(compute_loss), in_dims=(None, 0, 0))(params, tokens, labels)
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in per_sample.values()]).norm(dim=0)
        factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
        norms_seen.append(norms)
        with torch.no_grad():
            for name, p in model.named_parameters():
                clipped = torch.einsum("i,i...->...", factor, per_sample[name])
                noise = torch.normal(0.0, sigma * max_norm, p.shape, generator=noise_gen)
                p -= lr * (clipped + noise) / tokens.shape[0]
            losses.append(F.cross_entropy(model(tokens), labels))
    put("dp.losses", torch.stack(losses))
    put("dp.norms", torch.stack(norms_seen))
    put("dp.emb", model.emb.weight)
    put("dp.fc", model.fc.weight)


def section_maml() -> None:
    # MAML on sine regression (the functorch example): the inner loop's adapted weights stay
    # in the graph (second-order), the meta-gradient flows through them.
    from torch.func import functional_call

    net = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                        nn.Linear(16, 1))
    meta_opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    inner_lr, n_inner = 0.05, 2

    def sample_task(n=6):
        amplitude = torch.rand(()) * 4.9 + 0.1
        phase = torch.rand(()) * 3.14
        xs = torch.rand(2 * n, 1) * 10 - 5
        ys = amplitude * torch.sin(xs + phase)
        return xs[:n], ys[:n], xs[n:], ys[n:]

    meta_losses = []
    for _ in range(6):
        meta_opt.zero_grad()
        total = 0.0
        for _ in range(2):
            x_spt, y_spt, x_qry, y_qry = sample_task()
            params = dict(net.named_parameters())
            for _ in range(n_inner):
                loss = F.mse_loss(functional_call(net, params, (x_spt,)), y_spt)
                grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
                params = {k: p - inner_lr * g for (k, p), g in zip(params.items(), grads)}
            qry_loss = F.mse_loss(functional_call(net, params, (x_qry,)), y_qry)
            qry_loss.backward()
            total += qry_loss.item()
        meta_opt.step()
        meta_losses.append(total)
    put("maml.losses", meta_losses)
    put("maml.grad", net[2].weight.grad)
    put("maml.w", net[4].weight)


SECTIONS = {"ntk": section_ntk, "ens": section_ensemble_train, "hvp": section_hvp,
            "dp": section_dp_clip, "maml": section_maml}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
