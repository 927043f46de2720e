"""nn.utils and Module-machinery tutorials, written afresh in their style (PG2, session 19):
parametrizations (right_inverse, caching, orthogonal maps, new-style spectral_norm and
weight_norm in training), pruning (a custom method, iterative pruning containers, global
pruning then training, remove), module and tensor hooks (the "optimizer step in backward"
recipe included), state_dict loading with strict=False / assign=True and extra state, and
optimizer / scheduler state saved and resumed.
"""

import io

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.parametrize as P
from prog_s17_PG_harness import put, put_state
from torch.nn.utils import parametrizations, prune


def section_parametrize2() -> None:
    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()

    class NoisyParametrization(nn.Module):
        def forward(self, X):
            return X * 2

        def right_inverse(self, X):
            return X / 2

    layer = nn.Linear(3, 3)
    P.register_parametrization(layer, "weight", Symmetric())
    X = torch.rand(3, 3)
    X = X + X.T
    layer.weight = X  # goes through right_inverse
    put("par2.assigned", layer.weight)
    put("par2.original", layer.parametrizations.weight.original)
    P.register_parametrization(layer, "weight", NoisyParametrization())
    put("par2.chained", layer.weight)
    put("par2.is_parametrized", [P.is_parametrized(layer), P.is_parametrized(layer, "bias"),
                                 P.is_parametrized(layer, "weight")])
    put("par2.n_param", len(layer.parametrizations.weight))
    put("par2.sd_keys", sorted(layer.state_dict()))
    P.remove_parametrizations(layer, "weight", leave_parametrized=False)
    put("par2.removed_orig", layer.weight)
    # caching: the parametrization is evaluated once inside the context
    calls = []

    class Counting(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X.tanh()

    lin = nn.Linear(4, 4)
    P.register_parametrization(lin, "weight", Counting())
    x = torch.randn(2, 4)
    with P.cached():
        a = lin(x)
        b = lin(a)
    put("par2.cached_calls", len(calls))
    put("par2.cached_out", b)
    # orthogonal maps and training on the manifold
    for omap in ("matrix_exp", "cayley", "householder"):
        torch.manual_seed(2)
        layer = parametrizations.orthogonal(nn.Linear(4, 4), orthogonal_map=omap)
        opt = torch.optim.SGD(layer.parameters(), lr=0.1)
        data = torch.randn(8, 4)
        for _ in range(3):
            opt.zero_grad()
            layer(data).pow(3).mean().backward()
            opt.step()
        Q = layer.weight
        put(f"par2.orth.{omap}.err", (Q @ Q.T - torch.eye(4)).abs().max() < 1e-4)
        put(f"par2.orth.{omap}.weight", Q)
    # new-style spectral norm: power iteration in training mode, frozen in eval mode
    torch.manual_seed(3)
    sn = parametrizations.spectral_norm(nn.Linear(6, 5), n_power_iterations=2)
    opt = torch.optim.Adam(sn.parameters(), lr=0.01)
    data = torch.randn(4, 6)
    for _ in range(4):
        opt.zero_grad()
        sn(data).sum().backward()
        opt.step()
    put("par2.sn.weight", sn.weight)
    put("par2.sn.u", sn.parametrizations.weight[0]._u)
    put("par2.sn.sigma", torch.linalg.matrix_norm(sn.weight, 2))
    sn.eval()
    put("par2.sn.eval_same", torch.equal(sn.weight, sn.weight))
    put("par2.sn.keys", sorted(sn.state_dict()))
    # new-style weight norm along dim=1 and dim=None
    for dim in (1, None):
        torch.manual_seed(4)
        wn = parametrizations.weight_norm(nn.Linear(4, 3), dim=dim)
        put(f"par2.wn{dim}.g", wn.parametrizations.weight.original0)
        wn(torch.randn(5, 4)).pow(2).sum().backward()
        put(f"par2.wn{dim}.vgrad", wn.parametrizations.weight.original1.grad)


def section_prune2() -> None:
    class FooBarPruningMethod(prune.BasePruningMethod):
        """Prune every other entry in a tensor"""
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask

    def foobar_unstructured(module, name):
        FooBarPruningMethod.apply(module, name)
        return module

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.fc1 = nn.Linear(16, 8)
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv(x)), 2)
            return self.fc2(F.relu(self.fc1(x.flatten(1))))

    model = Net()
    foobar_unstructured(model.fc2, name="bias")
    put("prune2.foobar_mask", model.fc2.bias_mask)
    put("prune2.foobar_bias", model.fc2.bias)
    # iterative pruning: the second pruning acts on what the first left
    prune.l1_unstructured(model.fc1, name="weight", amount=0.25)
    prune.ln_structured(model.fc1, name="weight", amount=0.5, n=1, dim=0)
    hook = [h for h in model.fc1._forward_pre_hooks.values()
            if isinstance(h, prune.BasePruningMethod)][0]
    put("prune2.container", type(hook).__name__)
    put("prune2.history", [type(m).__name__ for m in hook])
    put("prune2.fc1_mask", model.fc1.weight_mask)
    put("prune2.is_pruned", prune.is_pruned(model))
    prune.random_structured(model.conv, name="weight", amount=0.25, dim=0)
    put("prune2.conv_mask_rows", model.conv.weight_mask.flatten(1).sum(1))
    # training the pruned net: the masked entries stay zero, weight_orig's grad is masked
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(6, 1, 6, 6)
    y = torch.randint(0, 3, (6,))
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("prune2.losses", losses)
    put("prune2.orig_grad", model.fc1.weight_orig.grad)
    put("prune2.zeros_kept", int((model.fc1.weight == 0).sum()))
    put("prune2.sd_keys", sorted(model.state_dict()))
    for module, name in ((model.fc1, "weight"), (model.fc2, "bias"), (model.conv, "weight")):
        prune.remove(module, name)
    put("prune2.after_keys", sorted(model.state_dict()))
    put_state("prune2.final", model)
    # global pruning with an importance score
    model2 = Net()
    params = [(model2.conv, "weight"), (model2.fc1, "weight"), (model2.fc2, "weight")]
    scores = {(model2.fc1, "weight"): model2.fc1.weight.abs() * 10}
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=20,
                              importance_scores=scores)
    put("prune2.global", [int((m.weight == 0).sum()) for m, _ in params])
    prune.identity(model2.fc2, "bias")
    put("prune2.identity", model2.fc2.bias_mask)


def section_hooks() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    log = []

    def pre_hook(module, args):
        log.append(("pre", tuple(args[0].shape)))
        return (args[0] * 2,)

    def fwd_hook(module, args, kwargs, output):
        log.append(("fwd", sorted(kwargs)))
        return output + 1

    def bwd_pre_hook(module, grad_output):
        return (grad_output[0] * 0.5,)

    grads_in = {}

    def full_bwd_hook(module, grad_input, grad_output):
        grads_in["in"] = grad_input[0].detach().clone()
        grads_in["out"] = grad_output[0].detach().clone()
        return (grad_input[0] * 3,)

    h1 = model[0].register_forward_pre_hook(pre_hook)
    h2 = model[2].register_forward_hook(fwd_hook, with_kwargs=True)
    h3 = model[2].register_full_backward_pre_hook(bwd_pre_hook)
    h4 = model[0].register_full_backward_hook(full_bwd_hook)
    x = torch.randn(3, 4, requires_grad=True)
    out = model(x)
    out.sum().backward()
    put("hooks.out", out)
    put("hooks.x_grad", x.grad)
    put("hooks.grad_in", grads_in["in"])
    put("hooks.grad_out", grads_in["out"])
    put("hooks.w_grad", model[0].weight.grad)
    put("hooks.log", str(log))
    for h in (h1, h2, h3, h4):
        h.remove()
    model.zero_grad()
    out2 = model(x)
    put("hooks.removed_out", out2)
    # tensor hooks: change a gradient on its way, retain_grad on a non-leaf
    a = torch.randn(5, requires_grad=True)
    b = a * 2
    b.retain_grad()
    b.register_hook(lambda g: g.clamp(max=0.1))
    c = (b ** 2).sum()
    c.backward()
    put("hooks.b_grad", b.grad)
    put("hooks.a_grad", a.grad)
    # forward hooks capturing activations (feature extraction)
    activations = {}

    def get_activation(name):
        def hook(model, input, output):
            activations[name] = output.detach()
        return hook

    handles = [m.register_forward_hook(get_activation(n)) for n, m in model.named_modules()
               if isinstance(m, nn.Linear)]
    model(torch.randn(2, 4))
    put("hooks.acts", [activations["0"], activations["2"]])
    for h in handles:
        h.remove()
    # the optimizer step in backward recipe: a post-accumulate-grad hook per parameter
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer_dict = {p: torch.optim.Adam([p], lr=0.05) for p in net.parameters()}

    def optimizer_hook(parameter):
        optimizer_dict[parameter].step()
        optimizer_dict[parameter].zero_grad()

    for p in net.parameters():
        p.register_post_accumulate_grad_hook(optimizer_hook)
    data, target = torch.randn(10, 4), torch.randn(10, 1)
    losses = []
    for _ in range(5):
        loss = F.mse_loss(net(data), target)
        loss.backward()
        losses.append(loss.item())
    put("hooks.inbwd_losses", losses)
    put("hooks.inbwd_grad_none", all(p.grad is None for p in net.parameters()))
    put_state("hooks.inbwd", net)


def section_state_dict() -> None:
    class Net(nn.Module):
        def __init__(self, extra=4):
            super().__init__()
            self.fc = nn.Linear(3, extra)
            self.bn = nn.BatchNorm1d(extra)
            self.register_buffer("steps", torch.zeros((), dtype=torch.long))
            self.register_buffer("scratch", torch.ones(2), persistent=False)
            self.note = "v1"

        def forward(self, x):
            self.steps += 1
            return self.bn(self.fc(x))

        def get_extra_state(self):
            return {"note": self.note}

        def set_extra_state(self, state):
            self.note = state["note"] + "-loaded"

    net = Net()
    net(torch.randn(5, 3))
    sd = net.state_dict()
    put("sd.keys", sorted(sd))
    put("sd.extra", str(sd["_extra_state"]))
    other = Net()
    other.load_state_dict(sd)
    put("sd.note", other.note)
    put_state("sd.other", other, exclude=("_extra_state",))
    # strict=False: missing / unexpected keys reported, the rest loaded
    wider = Net(extra=4)
    partial_sd = {k: v for k, v in sd.items() if not k.startswith("bn.")}
    partial_sd["head.weight"] = torch.zeros(1)
    result = wider.load_state_dict(partial_sd, strict=False)
    put("sd.missing", sorted(result.missing_keys))
    put("sd.unexpected", sorted(result.unexpected_keys))
    put("sd.fc_loaded", torch.equal(wider.fc.weight, net.fc.weight))
    # shape mismatch is an error even with strict=False
    bad = {"fc.weight": torch.zeros(2, 3)}
    try:
        wider.load_state_dict(bad, strict=False)
        put("sd.shape_error", "none")
    except RuntimeError as error:
        put("sd.shape_error", "size mismatch" in str(error))
    # assign=True: the module's parameters become the loaded tensors (meta-device init)
    with torch.device("meta"):
        meta_net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    put("sd.meta", str(meta_net[0].weight.device))
    donor = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    donor_sd = donor.state_dict()
    meta_net.load_state_dict(donor_sd, assign=True)
    put("sd.assign_shared", meta_net[0].weight.data_ptr() == donor_sd["0.weight"].data_ptr())
    put("sd.assign_param", isinstance(meta_net[0].weight, nn.Parameter))
    put("sd.assign_rg", meta_net[0].weight.requires_grad)
    x = torch.randn(2, 3)
    put("sd.assign_out", meta_net(x) - donor(x))
    # a DataParallel-style "module." prefix stripped, then a round trip through bytes
    prefixed = {"module." + k: v for k, v in donor_sd.items()}
    stripped = {k.removeprefix("module."): v for k, v in prefixed.items()}
    fresh = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    fresh.load_state_dict(stripped)
    buffer = io.BytesIO()
    torch.save(fresh.state_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    put("sd.roundtrip", [loaded[k] for k in sorted(loaded)])
    # load_state_dict post hook
    seen = []
    handle = fresh.register_load_state_dict_post_hook(
        lambda module, keys: seen.append((len(keys.missing_keys), len(keys.unexpected_keys))))
    fresh.load_state_dict(stripped)
    handle.remove()
    put("sd.post_hook", seen)


def section_optimizer_state() -> None:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = torch.optim.AdamW([{"params": model[0].parameters()},
                                   {"params": model[2].parameters(), "lr": 3e-3,
                                    "weight_decay": 0.0}], lr=1e-2, amsgrad=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[0.02, 0.006],
                                                    total_steps=12)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))

    def train(model, optimizer, scheduler, steps):
        out = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            out.append(loss.item())
        return out, [g["lr"] for g in optimizer.param_groups]

    first, _ = train(model, optimizer, scheduler, 4)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optim": optimizer.state_dict(),
                "sched": scheduler.state_dict()}, buffer)
    cont, cont_lrs = train(model, optimizer, scheduler, 4)
    buffer.seek(0)
    ckpt = torch.load(buffer, weights_only=True)
    model2 = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer2 = torch.optim.AdamW([{"params": model2[0].parameters()},
                                    {"params": model2[2].parameters(), "lr": 3e-3,
                                     "weight_decay": 0.0}], lr=1e-2, amsgrad=True)
    scheduler2 = torch.optim.lr_scheduler.OneCycleLR(optimizer2, max_lr=[0.02, 0.006],
                                                     total_steps=12)
    model2.load_state_dict(ckpt["model"])
    optimizer2.load_state_dict(ckpt["optim"])
    scheduler2.load_state_dict(ckpt["sched"])
    resumed, resumed_lrs = train(model2, optimizer2, scheduler2, 4)
    put("opt.first", first)
    put("opt.cont", cont)
    put("opt.resumed", resumed)
    put("opt.lrs", [cont_lrs, resumed_lrs])
    state = ckpt["optim"]["state"]
    put("opt.state_keys", sorted(state[0]))
    put("opt.max_exp_avg_sq", state[1]["max_exp_avg_sq"])
    groups = ckpt["optim"]["param_groups"]
    put("opt.groups", [sorted(k for k in g if k != "params") for g in groups])
    put("opt.group_params", [g["params"] for g in ckpt["optim"]["param_groups"]])
    put("opt.sched_keys", sorted(ckpt["sched"]))
    put_state("opt.model2", model2)
    # add_param_group mid-training (unfreezing a layer), then its state
    extra = nn.Linear(3, 3)
    optimizer2.add_param_group({"params": extra.parameters(), "lr": 1e-3})
    optimizer2.zero_grad()
    extra(model2(x)).sum().backward()
    optimizer2.step()
    put("opt.extra_w", extra.weight)
    put("opt.n_state", len(optimizer2.state_dict()["state"]))
    # step hooks on the optimizer
    calls = []
    optimizer2.register_step_pre_hook(lambda opt, args, kwargs: calls.append("pre"))
    optimizer2.register_step_post_hook(lambda opt, args, kwargs: calls.append("post"))
    optimizer2.step()
    put("opt.hook_calls", calls)


SECTIONS = {"par2": section_parametrize2, "prune2": section_prune2, "hooks": section_hooks,
            "sd": section_state_dict, "opt": section_optimizer_state}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
