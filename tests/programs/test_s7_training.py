"""Probe IV (session 7), part III: training-loop tools in realistic programs.

Mixed precision with accumulation, EMA by _foreach ops and AveragedModel, activation and
gradient hooks, custom autograd Functions, activation checkpointing, a file checkpoint resumed
mid-run, chained LR schedulers, mixup with label smoothing, Bayes by backprop, a tied-weight
language model and metric learning. Each program takes the library as ``torch``, seeds it, and
returns what it would print; the runs under PyTorch and deltagrad must agree.
"""

from __future__ import annotations

import io
import os
import tempfile

import pytest
from s5_harness import compare

import deltagrad as dg

torch = pytest.importorskip("torch")


def prog_amp_accumulation(torch):
    """The device-agnostic mixed-precision loop (autocast and GradScaler enabled only on CUDA,
    so off here), gradient accumulation over micro-batches, unscale_ then
    clip_grad_norm_(foreach=True); then the same loop with a working GradScaler("cpu")."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(20)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    use_amp = device == "cuda"
    x, y = torch.randn(24, 6), torch.randint(0, 4, (24,))

    def train(scaler):
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 4))
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, fused=None)
        accum, history = 3, []
        optimizer.zero_grad(set_to_none=True)
        for i, (xb, yb) in enumerate(zip(x.split(4), y.split(4))):
            with torch.autocast(device_type=device, dtype=torch.float16, enabled=use_amp):
                logits = model(xb)
                loss = F.cross_entropy(logits, yb) / accum
            scaled = scaler.scale(loss)
            scaled.backward()
            if (i + 1) % accum == 0:
                scaler.unscale_(optimizer)
                norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)
                history.append([loss.item(), scaled.item(), norm.item(), scaler.get_scale()])
        return history, model

    plain, model = train(torch.amp.GradScaler(device, enabled=use_amp))
    scaled, scaled_model = train(torch.amp.GradScaler("cpu", init_scale=2.0 ** 12,
                                                      growth_interval=1))
    return {"plain": plain, "scaled": scaled, "dtype": model(x[:2]).dtype,
            "w": model[3].weight, "scaled_w": scaled_model[3].weight,
            "grad": [p.grad is None for p in model.parameters()]}


def prog_ema(torch):
    """An exponential moving average of the weights kept with torch._foreach_mul_ /
    _foreach_add_ (as timm and diffusers do), checked against AveragedModel with
    get_ema_multi_avg_fn and against parameters_to_vector arithmetic."""
    nn = torch.nn
    F = torch.nn.functional
    from_vector = torch.nn.utils.vector_to_parameters
    to_vector = torch.nn.utils.parameters_to_vector
    torch.manual_seed(21)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1))
    decay = 0.9
    ema_params = [p.detach().clone() for p in model.parameters()]
    averaged = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay))
    vector_ema = to_vector(model.parameters()).detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    losses = []
    for _ in range(5):
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        with torch.no_grad():
            current = [p.detach() for p in model.parameters()]
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, current, alpha=1 - decay)
            vector_ema.lerp_(to_vector(model.parameters()), 1 - decay)
        averaged.update_parameters(model)
    shadow = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1))
    from_vector(vector_ema, shadow.parameters())
    averaged_params = list(averaged.module.parameters())
    return {"losses": losses, "ema": ema_params, "averaged": averaged_params,
            "vector": list(shadow.parameters()), "n_averaged": averaged.n_averaged}


def prog_hooks(torch):
    """Feature extraction and gradient inspection with hooks: forward hooks storing
    activations, a forward pre-hook rescaling the input, full backward hooks recording
    grad_output norms, a tensor hook clipping a gradient, handles removed afterwards."""
    nn = torch.nn
    torch.manual_seed(22)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    activations, grad_norms, handles = {}, {}, []

    def save_activation(name):
        def hook(module, inputs, output):
            activations[name] = output.detach()
        return hook

    def save_grad(name):
        def hook(module, grad_input, grad_output):
            grad_norms[name] = grad_output[0].norm().item()
        return hook

    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            handles.append(module.register_forward_hook(save_activation(name)))
            handles.append(module.register_full_backward_hook(save_grad(name)))
    handles.append(model[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,)))
    x = torch.randn(2, 1, 6, 6, requires_grad=True)
    out = model(x)
    hidden = activations["0"]
    out.register_hook(lambda g: g.clamp(-0.1, 0.1))
    out.pow(2).sum().backward()
    first = {"activations": dict(activations), "grad_norms": dict(grad_norms),
             "x_grad": x.grad}
    for handle in handles:
        handle.remove()
    activations.clear()
    model.zero_grad()
    model(x).sum().backward()
    return {"first": first, "hidden_shape": list(hidden.shape), "after": len(activations),
            "w_grad": model[0].weight.grad}


def prog_custom_functions(torch):
    """Custom autograd Functions: a straight-through sign quantiser (once_differentiable,
    needs_input_grad, save_for_backward), a sort with mark_non_differentiable indices and
    set_materialize_grads(False), used inside a small binarised network."""
    nn = torch.nn
    once_differentiable = torch.autograd.function.once_differentiable
    torch.manual_seed(23)

    class SignSTE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            return torch.sign(x) * scale

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            grad_x = grad * (x.abs() <= 1).to(grad.dtype) if ctx.needs_input_grad[0] else None
            return grad_x, None

    class SortWithIndices(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            values, indices = torch.sort(x, dim=-1)
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            return values, indices

        @staticmethod
        def backward(ctx, grad_values, grad_indices):
            (indices,) = ctx.saved_tensors
            if grad_values is None:
                return None
            return torch.zeros_like(grad_values).scatter(-1, indices, grad_values)

    class BinaryLinear(nn.Linear):
        def forward(self, x):
            w = SignSTE.apply(self.weight, self.weight.abs().mean().item())
            return nn.functional.linear(x, w, self.bias)

    model = nn.Sequential(BinaryLinear(8, 16), nn.Hardtanh(), BinaryLinear(16, 2))
    # (not Adam: the saturated Hardtanh leaves first-layer gradients of ~1e-11, which Adam
    # scales up to full steps, so a one-ulp difference in abs().mean() would change their sign)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = torch.randn(20, 8), torch.randint(0, 2, (20,))
    losses = []
    for _ in range(5):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    z = torch.randn(3, 5, requires_grad=True)
    values, indices = SortWithIndices.apply(z)
    (values * torch.arange(5.0)).sum().backward()
    doubled = torch.tensor([0.5, -2.0], requires_grad=True)
    out = SignSTE.apply(doubled, 1.0)
    g = torch.autograd.grad(out.sum(), doubled, create_graph=True)[0]
    try:
        g.sum().backward()
        second = "no error"
    except RuntimeError as error:
        second = "once_differentiable" in str(error) or "trying to differentiate" in str(error)
    return {"losses": losses, "indices": indices, "indices_grad": indices.requires_grad,
            "z_grad": z.grad, "g": g, "second": second}


def prog_checkpointing(torch):
    """Activation checkpointing: torch.utils.checkpoint.checkpoint (use_reentrant=False) over
    blocks with dropout (the RNG state is replayed), checkpoint_sequential, and the gradients
    equal to the run without checkpointing."""
    nn = torch.nn
    checkpoint = torch.utils.checkpoint.checkpoint
    checkpoint_sequential = torch.utils.checkpoint.checkpoint_sequential
    torch.manual_seed(24)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ff = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Dropout(0.2),
                                    nn.Linear(16, 8))
            self.norm = nn.LayerNorm(8)

        def forward(self, x):
            return x + self.ff(self.norm(x))

    class Net(nn.Module):
        def __init__(self, use_checkpoint):
            super().__init__()
            self.blocks = nn.ModuleList(Block() for _ in range(3))
            self.use_checkpoint = use_checkpoint

        def forward(self, x):
            for block in self.blocks:
                x = checkpoint(block, x, use_reentrant=False) if self.use_checkpoint else block(x)
            return x

    net = Net(True)
    plain = Net(False)
    plain.load_state_dict(net.state_dict())
    x = torch.randn(6, 8)
    state = torch.get_rng_state()
    net(x).pow(2).mean().backward()
    torch.set_rng_state(state)
    plain(x).pow(2).mean().backward()
    grads = [p.grad for p in net.parameters()]
    plain_grads = [p.grad for p in plain.parameters()]
    same = all(bool(torch.allclose(a, b, atol=1e-6)) for a, b in zip(grads, plain_grads))
    seq = nn.Sequential(*[Block() for _ in range(4)])
    inp = torch.randn(5, 8, requires_grad=True)
    out = checkpoint_sequential(seq, 2, inp, use_reentrant=False)
    out.sum().backward()
    return {"grads": grads[:4], "same": same, "seq_out": out, "inp_grad": inp.grad}


def prog_resume(torch):
    """Train, checkpoint to a file with torch.save (model, optimizer, scheduler, epoch, RNG
    state), reload with torch.load(map_location="cpu", weights_only=...) into fresh objects,
    and continue: the resumed losses equal the uninterrupted run's."""
    nn = torch.nn
    F = torch.nn.functional

    def make():
        model = nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Dropout(0.1), nn.Linear(12, 3))
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, amsgrad=True)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
        return model, optimizer, scheduler

    def epoch(model, optimizer, scheduler, x, y):
        model.train()
        for idx in torch.randperm(len(x)).split(8):
            loss = F.cross_entropy(model(x[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()
        return loss.item()

    torch.manual_seed(25)
    x, y = torch.randn(24, 5), torch.randint(0, 3, (24,))
    model, optimizer, scheduler = make()
    before = [epoch(model, optimizer, scheduler, x, y) for _ in range(2)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ckpt.pt")
        torch.save({"epoch": 2, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state()}, path)
        straight = [epoch(model, optimizer, scheduler, x, y) for _ in range(2)]
        torch.manual_seed(99)
        model2, optimizer2, scheduler2 = make()
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        weights = torch.load(path, map_location=torch.device("cpu"), weights_only=True)
    model2.load_state_dict(ckpt["model"])
    optimizer2.load_state_dict(ckpt["optimizer"])
    scheduler2.load_state_dict(ckpt["scheduler"])
    torch.set_rng_state(ckpt["rng"])
    resumed = [epoch(model2, optimizer2, scheduler2, x, y) for _ in range(2)]
    state = optimizer2.state_dict()
    return {"before": before, "straight": straight, "resumed": resumed,
            "epoch": ckpt["epoch"], "keys": sorted(weights["model"].keys()),
            "lr": scheduler2.get_last_lr(), "max_exp_avg_sq": state["state"][0]["max_exp_avg_sq"],
            "step": state["state"][0]["step"], "groups": str(sorted(state["param_groups"][0]))}


def prog_schedulers(torch):
    """Chained learning-rate schedules over a real loop: SequentialLR(LinearLR warm-up,
    CosineAnnealingWarmRestarts), ChainedScheduler(ConstantLR, ExponentialLR), CyclicLR on
    SGD with momentum cycling, PolynomialLR, and ReduceLROnPlateau(mode="max") on accuracy."""
    nn = torch.nn
    S = torch.optim.lr_scheduler
    torch.manual_seed(26)
    x, y = torch.randn(30, 4), torch.randint(0, 2, (30,))

    def run(make_scheduler, steps=8, opt="sgd", plateau=False):
        model = nn.Linear(4, 2)
        optimizer = (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if opt == "sgd"
                     else torch.optim.Adam(model.parameters(), lr=0.01))
        scheduler = make_scheduler(optimizer)
        trace = []
        for _ in range(steps):
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if plateau:
                scheduler.step((logits.argmax(1) == y).float().mean().item())
            else:
                scheduler.step()
            group = optimizer.param_groups[0]
            trace.append([group["lr"], group.get("momentum", 0.0), loss.item()])
        return trace

    return {
        "sequential": run(lambda o: S.SequentialLR(o, [
            S.LinearLR(o, start_factor=0.25, total_iters=3),
            S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=1e-3)], milestones=[3])),
        "chained": run(lambda o: S.ChainedScheduler([
            S.ConstantLR(o, factor=0.5, total_iters=2), S.ExponentialLR(o, gamma=0.9)])),
        "cyclic": run(lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                            mode="triangular2")),
        "poly": run(lambda o: S.PolynomialLR(o, total_iters=5, power=2.0), opt="adam"),
        "plateau": run(lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=1,
                                                     threshold=0.05), steps=10, plateau=True),
    }


def prog_mixup(torch):
    """Mixup training: lambda drawn from distributions.Beta, a batch mixed with its permutation
    (torch.randperm), cross-entropy with label_smoothing on both targets, SGD with Nesterov,
    then soft-target cross-entropy (probabilities as targets) as the alternative form."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(27)
    beta = torch.distributions.Beta(torch.tensor([0.4]), torch.tensor([0.4]))
    model = nn.Sequential(nn.Linear(10, 32), nn.SiLU(), nn.Dropout(0.1), nn.Linear(32, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    x, y = torch.randn(40, 10), torch.randint(0, 4, (40,))
    history = []
    for _epoch in range(3):
        for xb, yb in zip(x.split(10), y.split(10)):
            lam = beta.sample().item()
            index = torch.randperm(xb.size(0))
            mixed = lam * xb + (1 - lam) * xb[index]
            out = model(mixed)
            loss = lam * criterion(out, yb) + (1 - lam) * criterion(out, yb[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append([lam, loss.item()])
    soft = lam * F.one_hot(y[:10], 4).float() + (1 - lam) * F.one_hot(y[:10][index], 4).float()
    soft_loss = F.cross_entropy(model(x[:10]), soft, label_smoothing=0.1)
    return {"history": history, "soft_loss": soft_loss, "log_prob": beta.log_prob(
        torch.tensor([0.3])), "rsample": beta.rsample((3,))}


def prog_bayes_by_backprop(torch):
    """A Bayesian linear regression network trained by Bayes by backprop: Normal weight
    posteriors with softplus scales, rsample, kl_divergence against a Normal prior, the ELBO
    with several Monte Carlo samples, predictive mean and spread."""
    nn = torch.nn
    F = torch.nn.functional
    D = torch.distributions
    torch.manual_seed(28)

    class BayesLinear(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.w_mu = nn.Parameter(torch.empty(cout, cin).normal_(0, 0.1))
            self.w_rho = nn.Parameter(torch.full((cout, cin), -3.0))
            self.b_mu = nn.Parameter(torch.zeros(cout))
            self.b_rho = nn.Parameter(torch.full((cout,), -3.0))
            self.prior = D.Normal(0.0, 1.0)

        def forward(self, x):
            qw = D.Normal(self.w_mu, F.softplus(self.w_rho))
            qb = D.Normal(self.b_mu, F.softplus(self.b_rho))
            self.kl = D.kl_divergence(qw, self.prior).sum() + D.kl_divergence(qb, self.prior).sum()
            return F.linear(x, qw.rsample(), qb.rsample())

    layers = nn.ModuleList([BayesLinear(1, 16), BayesLinear(16, 1)])

    def forward(x):
        return layers[1](torch.relu(layers[0](x)))

    x = torch.linspace(-2, 2, 32).unsqueeze(1)
    y = x.pow(3) * 0.5 + 0.2 * torch.randn_like(x)
    optimizer = torch.optim.Adam(layers.parameters(), lr=0.02)
    history = []
    for _ in range(8):
        nll, kl = 0.0, 0.0
        for _sample in range(3):
            pred = forward(x)
            nll = nll - D.Normal(pred, 0.2).log_prob(y).sum() / 3
            kl = kl + sum(layer.kl for layer in layers) / 3
        loss = nll + kl / 32
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([nll.item(), kl.item()])
    with torch.no_grad():
        samples = torch.stack([forward(x[::8]) for _ in range(10)])
    return {"history": history, "mean": samples.mean(0), "std": samples.std(0)}


def prog_tied_lm(torch):
    """A word-level GRU language model with the decoder tied to the embedding
    (decoder.weight = encoder.weight), AdamW with no decay on biases/norms/embeddings via
    parameter groups, perplexity, and the tie kept through a state_dict round trip."""
    import math

    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(29)
    vocab, dim = 15, 12

    class TiedLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, dim)
            self.rnn = nn.GRU(dim, dim, num_layers=2, dropout=0.1, batch_first=True)
            self.norm = nn.LayerNorm(dim)
            self.decoder = nn.Linear(dim, vocab)
            self.decoder.weight = self.encoder.weight

        def forward(self, tokens, h=None):
            out, h = self.rnn(self.encoder(tokens), h)
            return self.decoder(self.norm(out)), h

    model = TiedLM()
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.dim() < 2 or "encoder" in name or "norm" in name else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=5e-3)
    data = torch.randint(0, vocab, (4, 11))
    losses = []
    for _ in range(5):
        logits, _ = model(data[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab), data[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = TiedLM()
    clone.load_state_dict(torch.load(buffer))
    model.eval()
    with torch.no_grad():
        logits, _ = model(data[:, :-1])
        ppl = math.exp(F.cross_entropy(logits.reshape(-1, vocab), data[:, 1:].reshape(-1)).item())
    return {"losses": losses, "ppl": ppl, "n_params": sum(p.numel() for p in model.parameters()),
            "tied": clone.decoder.weight is clone.encoder.weight,
            "sizes": [len(decay), len(no_decay)], "emb": model.encoder.weight[:2]}


def prog_metric_learning(torch):
    """Metric learning: an embedding net with F.normalize, batch-hard triplet mining on a
    cdist matrix, TripletMarginLoss, CosineEmbeddingLoss on pairs, MarginRankingLoss, and
    nearest-neighbour retrieval accuracy."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(30)
    n_classes, per_class = 4, 5
    centers = torch.randn(n_classes, 6) * 2
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    x = centers[labels] + torch.randn(len(labels), 6)
    net = nn.Sequential(nn.Linear(6, 16), nn.PReLU(), nn.Linear(16, 8))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    triplet = nn.TripletMarginLoss(margin=0.5, p=2)
    cosine = nn.CosineEmbeddingLoss(margin=0.1)
    ranking = nn.MarginRankingLoss(margin=0.2)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    history = []
    for _ in range(6):
        emb = F.normalize(net(x), dim=1)
        dist = torch.cdist(emb, emb)
        hardest_pos = (dist * same.float()).argmax(1)
        hardest_neg = dist.masked_fill(same, float("inf")).argmin(1)
        loss_t = triplet(emb, emb[hardest_pos], emb[hardest_neg])
        pairs = torch.randint(0, len(labels), (2, 12))
        target = torch.where(labels[pairs[0]] == labels[pairs[1]], 1, -1)
        loss_c = cosine(emb[pairs[0]], emb[pairs[1]], target)
        d_pos = (emb - emb[hardest_pos]).norm(dim=1)
        d_neg = (emb - emb[hardest_neg]).norm(dim=1)
        loss_r = ranking(d_neg, d_pos, torch.ones_like(d_pos))
        loss = loss_t + loss_c + loss_r
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append([loss_t.item(), loss_c.item(), loss_r.item()])
    with torch.no_grad():
        emb = F.normalize(net(x), dim=1)
        dist = torch.cdist(emb, emb).fill_diagonal_(float("inf"))
        nearest = dist.argmin(1)
        accuracy = (labels[nearest] == labels).float().mean()
    return {"history": history, "nearest": nearest, "accuracy": accuracy,
            "prelu": net[1].weight}


PROGRAMS = [prog_amp_accumulation, prog_ema, prog_hooks, prog_custom_functions,
            prog_checkpointing, prog_resume, prog_schedulers, prog_mixup,
            prog_bayes_by_backprop, prog_tied_lm, prog_metric_learning]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__[5:])
def test_program_prints_the_same(program):
    expected = program(torch)
    got = program(dg)
    compare(got, expected)
