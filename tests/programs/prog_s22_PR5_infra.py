"""What users write around training, afresh (PR5, session 22): state-dict hooks (pre / post
hooks renaming and adding entries, a versioned load pre-hook upgrading an old checkpoint through
``local_metadata``, a load post-hook clearing expected missing keys, optimizer state-dict
hooks); global module hooks (forward pre / forward / full backward statistics for every module,
registration hooks seeing parameters, buffers and submodules as they are added); the optimizer
step fused into backward with ``register_post_accumulate_grad_hook``; a Shampoo optimizer
written as an ``Optimizer`` subclass (matrix roots by eigh), saved and resumed mid-run, with a
param group added later and step hooks keeping an EMA; influence functions (exact Hessian,
conjugate gradients on Hessian-vector products, LiSSA); randomized low-rank tools
(``pca_lowrank``, ``svd_lowrank``, a range finder by hand, householder_product of geqrf,
multi_dot); and Gaussian-process regression by preconditioned conjugate gradients with a
Hutchinson trace for the hyperparameter gradient. Tiny sizes; run by prog_s22_PR5_all.py.
"""

import io
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class Block(nn.Module):
    _version = 2  # version 1 called the projection "fc" and had no scale

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 3)
        self.scale = nn.Parameter(torch.ones(3))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("cache", torch.zeros(3), persistent=False)
        self._register_load_state_dict_pre_hook(self._upgrade)

    def _upgrade(self, state_dict, prefix, local_metadata, strict, missing, unexpected, errors):
        version = local_metadata.get("version")
        if version is None or version < 2:
            for suffix in ("weight", "bias"):
                old = prefix + "fc." + suffix
                if old in state_dict:
                    state_dict[prefix + "proj." + suffix] = state_dict.pop(old)
            state_dict.setdefault(prefix + "scale", torch.full((3,), 2.0))

    def forward(self, x):
        return self.proj(x) * self.scale


def section_sd_hooks() -> None:
    model = nn.Sequential(Block(), nn.ReLU(), Block())
    calls = []
    model.register_state_dict_pre_hook(
        lambda module, prefix, keep_vars: calls.append(("pre", prefix, keep_vars)))

    def post(module, state_dict, prefix, local_metadata):
        calls.append(("post", prefix, len(state_dict)))
        state_dict[prefix + "format"] = torch.tensor(3)

    model[0].register_state_dict_post_hook(post)
    state = model.state_dict()
    put("sdh.keys", list(state))
    put("sdh.calls", [str(c) for c in calls])
    put("sdh.versions", [f"{k}={v.get('version')}" for k, v in state._metadata.items()])
    put("sdh.keep_vars", model.state_dict(keep_vars=True)["0.scale"].requires_grad)
    # an old checkpoint: keys under "fc", version 1 in the metadata, no scale
    old = {k.replace("proj", "fc"): v.clone() for k, v in state.items()
           if "scale" not in k and "format" not in k}
    old = type(state)(old)
    old._metadata = {k: dict(v, version=1) if k in ("0", "2") else dict(v)
                     for k, v in state._metadata.items()}
    fresh = nn.Sequential(Block(), nn.ReLU(), Block())
    seen = []

    def after_load(module, incompatible):
        seen.append((list(incompatible.missing_keys), list(incompatible.unexpected_keys)))

    fresh.register_load_state_dict_post_hook(after_load)
    result = fresh.load_state_dict(old)
    put("sdh.load_result", [str(result.missing_keys), str(result.unexpected_keys)])
    put("sdh.post_seen", str(seen))
    put("sdh.upgraded_scale", fresh[0].scale)
    put("sdh.same_proj", torch.equal(fresh[2].proj.weight, model[2].proj.weight))
    # a strict load of an unexpected key raises; the message names it
    try:
        fresh.load_state_dict(state)
    except RuntimeError as error:
        put("sdh.strict_error", str(error).splitlines()[0])
        put("sdh.strict_mentions", "0.format" in str(error))
    put("sdh.after_nonstrict", str(fresh.load_state_dict(state, strict=False)))
    # optimizer state-dict hooks: record the step, restore a learning rate on load
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()

    def optimizer_post(opt, state_dict):
        state_dict["note"] = "saved"
        return state_dict

    optimizer.register_state_dict_post_hook(optimizer_post)
    saved = optimizer.state_dict()
    put("sdh.opt_note", saved["note"])
    loaded = torch.optim.Adam(fresh.parameters(), lr=0.5)

    def optimizer_load_pre(opt, state_dict):
        state_dict = dict(state_dict)
        state_dict.pop("note")
        return state_dict

    loaded.register_load_state_dict_pre_hook(optimizer_load_pre)
    loaded.register_load_state_dict_post_hook(lambda opt: calls.append(("opt_loaded",)))
    loaded.load_state_dict(saved)
    put("sdh.opt_lr", loaded.param_groups[0]["lr"])
    put("sdh.opt_state_step", [loaded.state[p]["step"] for p in fresh.parameters()])
    put("sdh.last_call", str(calls[-1]))


def section_global_hooks() -> None:
    registered = []
    handles = [
        nn.modules.module.register_module_parameter_registration_hook(
            lambda module, name, param: registered.append(("param", type(module).__name__,
                                                           name, tuple(param.shape)))),
        nn.modules.module.register_module_buffer_registration_hook(
            lambda module, name, buffer: registered.append(("buffer", type(module).__name__,
                                                            name))),
        nn.modules.module.register_module_module_registration_hook(
            lambda module, name, sub: registered.append(("module", type(module).__name__,
                                                         name, type(sub).__name__))),
    ]
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.BatchNorm1d(4), nn.GELU(), nn.Flatten(),
                          nn.Linear(16, 2))
    for handle in handles:
        handle.remove()
    nn.Linear(2, 2)  # not seen: the hooks were removed
    put("ghook.registered", [str(r) for r in registered])
    stats, grads, order = {}, {}, []
    names = {module: name for name, module in model.named_modules()}

    def pre(module, args):
        order.append("pre:" + names.get(module, "?"))

    def forward(module, args, output):
        if module in names:
            stats[names[module] or "root"] = (output.mean().item(), output.std().item())

    def backward(module, grad_input, grad_output):
        if module in names:
            grads[names[module] or "root"] = grad_output[0].norm().item()

    handles = [nn.modules.module.register_module_forward_pre_hook(pre),
               nn.modules.module.register_module_forward_hook(forward),
               nn.modules.module.register_module_full_backward_hook(backward)]
    x = torch.randn(3, 2, 6, requires_grad=True)
    loss = model(x).pow(2).mean()
    loss.backward()
    for handle in handles:
        handle.remove()
    model(x)
    put("ghook.order", order)
    put("ghook.stats", [[k, *v] for k, v in sorted(stats.items())][0][1:])
    put("ghook.stat_names", sorted(stats))
    put("ghook.stat_values", [list(v) for _, v in sorted(stats.items())])
    put("ghook.grad_names", sorted(grads))
    put("ghook.grad_values", [v for _, v in sorted(grads.items())])
    put("ghook.x_grad", x.grad)


def section_fused_step() -> None:
    def make():
        torch.manual_seed(3)
        return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))

    data, target = torch.randn(16, 5), torch.randn(16, 1)
    reference = make()
    optimizer = torch.optim.AdamW(reference.parameters(), lr=0.01)
    for _ in range(4):
        optimizer.zero_grad()
        F.mse_loss(reference(data), target).backward()
        optimizer.step()
    fused = make()
    optimizers = {p: torch.optim.AdamW([p], lr=0.01) for p in fused.parameters()}
    steps = []

    def step_now(param):
        optimizers[param].step()
        optimizers[param].zero_grad(set_to_none=True)
        steps.append(tuple(param.shape))

    handles = [p.register_post_accumulate_grad_hook(step_now) for p in fused.parameters()]
    for _ in range(4):
        F.mse_loss(fused(data), target).backward()
    for handle in handles:
        handle.remove()
    # (the shapes stepped, sorted: the order the hooks fire in differs, see test_s22_PR5)
    put("fused.steps", sorted(str(s) for s in steps[:4]))
    put("fused.grads_none", all(p.grad is None for p in fused.parameters()))
    put("fused.same", all(torch.equal(a, b) for a, b in zip(reference.parameters(),
                                                            fused.parameters())))
    put_state("fused.state", fused)
    # a tensor hook changes the gradient that accumulates; a post-accumulate hook sees it
    w = torch.ones(3, requires_grad=True)
    seen = []
    w.register_hook(lambda g: g * 2)
    w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    put("fused.hooked_grad", seen)


class Shampoo(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1, momentum=0.9, epsilon=1e-4, update_every=1):
        super().__init__(params, dict(lr=lr, momentum=momentum, epsilon=epsilon,
                                      update_every=update_every))

    @staticmethod
    def _inverse_root(matrix, root):
        # in float64, as Shampoo implementations do: the small eigenvalues' -1/4 powers are
        # ill-conditioned in float32
        values, vectors = torch.linalg.eigh(matrix.double())
        root_inverse = vectors @ torch.diag(values.clamp_min(1e-12) ** (-1 / root)) @ vectors.T
        return root_inverse.to(matrix.dtype)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["momentum"] = torch.zeros_like(p)
                    if grad.ndim == 2:
                        state["left"] = group["epsilon"] * torch.eye(grad.shape[0])
                        state["right"] = group["epsilon"] * torch.eye(grad.shape[1])
                    else:
                        state["diag"] = torch.full_like(p, group["epsilon"])
                state["step"] += 1
                if grad.ndim == 2:
                    state["left"].add_(grad @ grad.T)
                    state["right"].add_(grad.T @ grad)
                    if state["step"] % group["update_every"] == 1 or group["update_every"] == 1:
                        state["left_root"] = self._inverse_root(state["left"], 4)
                        state["right_root"] = self._inverse_root(state["right"], 4)
                    direction = state["left_root"] @ grad @ state["right_root"]
                else:
                    state["diag"].addcmul_(grad, grad)
                    direction = grad / state["diag"].sqrt()
                state["momentum"].mul_(group["momentum"]).add_(direction)
                p.add_(state["momentum"], alpha=-group["lr"])
        return loss


def section_shampoo() -> None:
    data = torch.randn(32, 4)
    target = (data @ torch.tensor([[1.0, -1.0], [0.5, 0.0], [0.0, 2.0], [-1.0, 0.3]])).tanh()
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    optimizer = Shampoo(model[0].parameters(), lr=0.05)
    ema = [p.detach().clone() for p in model.parameters()]

    def update_ema(opt, args, kwargs):
        with torch.no_grad():
            for average, p in zip(ema, model.parameters()):
                average.lerp_(p, 0.2)

    optimizer.register_step_post_hook(update_ema)
    losses = []

    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(data), target)
        loss.backward()
        return loss

    for step in range(8):
        if step == 2:
            optimizer.add_param_group({"params": model[2].parameters(), "lr": 0.02,
                                       "update_every": 2})
        if step == 4:  # save and resume into a fresh optimizer mid-run
            buffer = io.BytesIO()
            torch.save({"optimizer": optimizer.state_dict(), "model": model.state_dict()},
                       buffer)
            buffer.seek(0)
            checkpoint = torch.load(buffer)
            model.load_state_dict(checkpoint["model"])
            resumed = Shampoo([{"params": model[0].parameters()},
                               {"params": model[2].parameters(), "lr": 0.02,
                                "update_every": 2}], lr=0.05)
            resumed.load_state_dict(checkpoint["optimizer"])
            resumed.register_step_post_hook(update_ema)
            put("shampoo.resumed_groups", [g["lr"] for g in resumed.param_groups])
            put("shampoo.state_keys", sorted(resumed.state[model[0].weight]))
            optimizer = resumed
        losses.append(optimizer.step(closure).item())
    put("shampoo.losses", losses)
    put_state("shampoo.model", model)
    put("shampoo.ema", ema)
    # (the statistic, not its inverse fourth root: that amplifies the float32 rounding of the
    # accumulated products ~10x, past the tolerance, on both libraries alike)
    put("shampoo.left", optimizer.state[model[0].weight]["left"])


def section_influence() -> None:
    x = torch.randn(30, 3, dtype=torch.float64)
    y = (x @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.3 * torch.randn(30,
         dtype=torch.float64) > 0).double()
    x_test = torch.randn(4, 3, dtype=torch.float64)
    y_test = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    damping = 0.01

    def loss_fn(w, inputs, labels):
        return (F.binary_cross_entropy_with_logits(inputs @ w, labels)
                + 0.5 * damping * w.pow(2).sum())

    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w], lr=1, max_iter=50, tolerance_grad=1e-12,
                                  tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(w, x, y)
        loss.backward()
        return loss

    optimizer.step(closure)
    put("infl.w", w)
    w = w.detach()
    hessian = torch.autograd.functional.hessian(lambda v: loss_fn(v, x, y), w)
    put("infl.hessian", hessian)
    test_grad = torch.autograd.functional.jacobian(lambda v: loss_fn(v, x_test, y_test), w)
    exact = torch.linalg.solve(hessian, test_grad)
    put("infl.exact", exact)

    def hvp(vector):
        return torch.autograd.functional.hvp(lambda v: loss_fn(v, x, y), w, vector)[1]

    solution = torch.zeros(3, dtype=torch.float64)
    residual = test_grad.clone()
    direction = residual.clone()
    for _ in range(3):  # conjugate gradients: exact in 3 steps for a 3x3 system
        hd = hvp(direction)
        alpha = residual.dot(residual) / direction.dot(hd)
        solution = solution + alpha * direction
        new_residual = residual - alpha * hd
        direction = new_residual + new_residual.dot(new_residual) / residual.dot(residual) \
            * direction
        residual = new_residual
    put("infl.cg", solution)
    estimate = test_grad.clone()
    for _ in range(200):  # LiSSA: v + (I - H / scale) estimate
        estimate = test_grad + estimate - hvp(estimate) / 2.0
    put("infl.lissa", estimate / 2.0)
    per_example = torch.func.vmap(torch.func.grad(
        lambda v, xi, yi: loss_fn(v, xi[None], yi[None])), in_dims=(None, 0, 0))(w, x, y)
    influence = -per_example @ exact
    put("infl.influence", influence)
    put("infl.top", influence.abs().topk(3).indices)


def section_lowrank() -> None:
    base = torch.randn(40, 5) @ torch.randn(5, 12) + 0.01 * torch.randn(40, 12)
    u, s, v = torch.pca_lowrank(base, q=6, center=True, niter=3)
    put("lowrank.pca_s", s)
    centered = base - base.mean(0)
    put("lowrank.pca_recon", (centered - u @ torch.diag(s) @ v.T).norm() / centered.norm())
    u2, s2, v2 = torch.svd_lowrank(base, q=6, niter=2)
    put("lowrank.svd_s", s2)
    put("lowrank.svd_exact", torch.linalg.svdvals(base)[:6])
    # a range finder by hand, with power iterations re-orthonormalized by QR
    omega = torch.randn(12, 8)
    q, _ = torch.linalg.qr(base @ omega)
    for _ in range(2):
        q, _ = torch.linalg.qr(base @ (base.T @ q))
    small = q.T @ base
    put("lowrank.hand_s", torch.linalg.svdvals(small))
    # householder reflectors from geqrf give Q back
    a, tau = torch.geqrf(torch.randn(6, 4, dtype=torch.float64))
    q_house = torch.linalg.householder_product(a, tau)
    put("lowrank.house_orth", (q_house.T @ q_house - torch.eye(4, dtype=torch.float64))
        .abs().max() < 1e-12)
    put("lowrank.r_diag_abs", a.diagonal().abs())
    chain = [torch.randn(3, 7), torch.randn(7, 2), torch.randn(2, 9), torch.randn(9, 3)]
    product = torch.linalg.multi_dot(chain)
    put("lowrank.multi_dot", product)
    put("lowrank.trace", torch.trace(product))
    put("lowrank.chain_gap", (product - chain[0] @ chain[1] @ chain[2] @ chain[3]).abs().max()
        < 1e-5)


def rbf(a, b, lengthscale, variance):
    return variance * torch.exp(-0.5 * torch.cdist(a, b) ** 2 / lengthscale ** 2)


def conjugate_gradients(matvec, rhs, preconditioner, iterations):
    solution = torch.zeros_like(rhs)
    residual = rhs.clone()
    z = preconditioner * residual
    direction = z.clone()
    norms = []
    for _ in range(iterations):
        product = matvec(direction)
        alpha = (residual * z).sum(0) / (direction * product).sum(0)
        solution = solution + alpha * direction
        new_residual = residual - alpha * product
        new_z = preconditioner * new_residual
        beta = (new_residual * new_z).sum(0) / (residual * z).sum(0)
        direction = new_z + beta * direction
        residual, z = new_residual, new_z
        norms.append(residual.norm(dim=0))
    return solution, torch.stack(norms)


def section_gp_cg() -> None:
    x = torch.rand(25, 1, dtype=torch.float64) * 6
    y = torch.sin(x[:, 0]) + 0.1 * torch.randn(25, dtype=torch.float64)
    log_params = torch.tensor([0.0, 0.0, math.log(0.1)], dtype=torch.float64,
                              requires_grad=True)
    optimizer = torch.optim.Adam([log_params], lr=0.05)
    probes = torch.randint(0, 2, (25, 8), dtype=torch.float64) * 2 - 1
    history = []
    for _ in range(6):
        lengthscale, variance, noise = log_params.exp()
        kernel = rbf(x, x, lengthscale, variance) + noise * torch.eye(25, dtype=torch.float64)
        with torch.no_grad():
            matrix = kernel.detach()
            solves, norms = conjugate_gradients(
                matrix.matmul, torch.cat([y[:, None], probes], 1),
                1 / matrix.diagonal()[:, None], 25)
        alpha, probe_solves = solves[:, 0], solves[:, 1:]
        # d(-log p(y))/d theta = -0.5 a^T dK a + 0.5 tr(K^-1 dK); the trace by Hutchinson
        surrogate = (-0.5 * alpha @ kernel @ alpha
                     + 0.5 * (probe_solves * (kernel @ probes)).sum() / probes.shape[1])
        optimizer.zero_grad()
        surrogate.backward()
        optimizer.step()
        chol = torch.linalg.cholesky(matrix)
        exact = torch.cholesky_solve(y[:, None], chol)[:, 0]
        nll = 0.5 * y @ exact + chol.diagonal().log().sum() + 12.5 * math.log(2 * math.pi)
        history.append([nll.item(), (alpha - exact).abs().max().item() < 1e-8])
    put("gpcg.history", history)
    put("gpcg.params", log_params.exp())
    put("gpcg.residuals", norms[:, 0])
    test = torch.linspace(0, 6, 7, dtype=torch.float64)[:, None]
    with torch.no_grad():
        lengthscale, variance, noise = log_params.exp()
        cross = rbf(test, x, lengthscale, variance)
        put("gpcg.mean", cross @ alpha)


SECTIONS = {
    "sd_hooks": section_sd_hooks, "global_hooks": section_global_hooks,
    "fused_step": section_fused_step, "shampoo": section_shampoo,
    "influence": section_influence, "lowrank": section_lowrank, "gp_cg": section_gp_cg,
}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
