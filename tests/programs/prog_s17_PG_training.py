"""Training-recipe programs, written afresh in the style of widely copied code (PG, session 17):
Q-learning with a replay buffer and a lagged target network (our own code since session 31),
knowledge distillation with temperature, label
smoothing and mixup, warm-up / cosine schedules (LambdaLR, OneCycleLR, SequentialLR), gradient
accumulation, an EMA of the weights with torch._foreach_*, checkpoint round trips with
torch.save of dicts, and CPU mixed precision (bfloat16 autocast with GradScaler). Tiny sizes,
synthetic data, seeded.
"""

import io
import math
import os
import random
import tempfile
from collections import deque, namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s17_PG_harness import put, put_state

Step = namedtuple("Step", ("obs", "act", "after", "gain"))


def section_dqn() -> None:
    """Q-learning with a replay buffer and a slowly following copy of the network (our own
    code, session 31, DD3): a point on a line pushed left or right, paid for staying near 0."""

    class Replay:
        def __init__(self, size):
            self.kept = deque([], maxlen=size)

        def add(self, *fields):
            self.kept.append(Step(*fields))

        def draw(self, n):
            return random.sample(self.kept, n)

        def __len__(self):
            return len(self.kept)

    class QNet(nn.Module):
        def __init__(self, n_obs, n_act, hidden=16):
            super().__init__()
            self.inp = nn.Linear(n_obs, hidden)
            self.mid = nn.Linear(hidden, hidden)
            self.out = nn.Linear(hidden, n_act)

        def forward(self, obs):
            return self.out(F.relu(self.mid(F.relu(self.inp(obs)))))

    def move(obs, act):
        """(next observation, reward, whether it left the track)."""
        where = obs[0, 0].item() + (0.25 if act == 1 else -0.25)
        return torch.tensor([[where, math.cos(where), 1.0]]), -abs(where), abs(where) > 1.8

    batch, discount, mix, eps_high, eps_low, eps_decay = 6, 0.95, 0.01, 0.9, 0.05, 40
    random.seed(12)
    online, lagged = QNet(3, 2), QNet(3, 2)
    lagged.load_state_dict(online.state_dict())
    adamw = optim.AdamW(online.parameters(), lr=2e-3, amsgrad=True)
    replay = Replay(80)
    moves_made = [0]

    def choose(obs):
        """Greedy on the online net's values, or a random push with a shrinking probability."""
        explore = eps_low + (eps_high - eps_low) * math.exp(-moves_made[0] / eps_decay)
        moves_made[0] += 1
        if random.random() > explore:
            with torch.no_grad():
                return online(obs).max(1).indices.view(1, 1)
        return torch.tensor([[random.randrange(2)]], dtype=torch.long)

    history = []

    def learn():
        if len(replay) < batch:
            return
        cols = Step(*zip(*replay.draw(batch)))
        alive = torch.tensor(tuple(s is not None for s in cols.after), dtype=torch.bool)
        taken = online(torch.cat(cols.obs)).gather(1, torch.cat(cols.act))
        ahead = torch.zeros(batch)
        with torch.no_grad():
            ahead[alive] = lagged(torch.cat([s for s in cols.after if s is not None])).max(1).values
        goal = ahead * discount + torch.cat(cols.gain)
        loss = nn.SmoothL1Loss()(taken, goal.unsqueeze(1))
        adamw.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(online.parameters(), 100)
        adamw.step()
        history.append(loss.item())

    acts = []
    for episode in range(3):
        obs = torch.tensor([[-0.2 * episode, 1.0, 1.0]])
        for _t in range(12):
            act = choose(obs)
            acts.append(act.item())
            after, gain, off = move(obs, act.item())
            replay.add(obs, act, None if off else after, torch.tensor([gain]))
            obs = after
            learn()
            # the lagged copy moves a small step towards the online weights
            lagged_state, online_state = lagged.state_dict(), online.state_dict()
            for name, value in online_state.items():
                lagged_state[name] = value * mix + lagged_state[name] * (1 - mix)
            lagged.load_state_dict(lagged_state)
            if off:
                break
    put("dqn.actions", acts)
    put("dqn.losses", history)
    put_state("dqn.target", lagged)
    put_state("dqn.policy", online)


def section_distill() -> None:
    def make(width):
        return nn.Sequential(nn.Linear(10, width), nn.ReLU(), nn.Linear(width, 4))

    teacher, student = make(32), make(6)
    x = torch.randn(24, 10)
    y = torch.randint(0, 4, (24,))
    opt_t = optim.SGD(teacher.parameters(), lr=0.1)
    for _ in range(5):
        opt_t.zero_grad()
        F.cross_entropy(teacher(x), y).backward()
        opt_t.step()
    teacher.eval()
    T, soft_target_loss_weight, ce_loss_weight = 2, 0.25, 0.75
    ce_loss = nn.CrossEntropyLoss(label_smoothing=0.1)
    optimizer = optim.Adam(student.parameters(), lr=0.01)
    losses = []
    for _step in range(6):
        optimizer.zero_grad()
        with torch.no_grad():
            teacher_logits = teacher(x)
        student_logits = student(x)
        soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
        soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
        soft_targets_loss = (torch.sum(soft_targets * (soft_targets.log() - soft_prob))
                             / soft_prob.size()[0] * (T ** 2))
        kl = nn.KLDivLoss(reduction="batchmean")(soft_prob, soft_targets) * T ** 2
        kl_log = F.kl_div(soft_prob, soft_targets.log(), reduction="batchmean", log_target=True)
        label_loss = ce_loss(student_logits, y)
        loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss
        loss.backward()
        optimizer.step()
        losses.append([loss.item(), kl.item(), kl_log.item(), soft_targets_loss.item()])
    put("distill.losses", losses)
    put_state("distill.student", student)
    # label smoothing by hand, as widely copied before PyTorch had the argument
    logits = student(x).detach().requires_grad_()
    smoothing = 0.1
    confidence = 1.0 - smoothing
    logprobs = F.log_softmax(logits, dim=-1)
    nll_loss = -logprobs.gather(dim=-1, index=y.unsqueeze(1)).squeeze(1)
    smooth_loss = -logprobs.mean(dim=-1)
    manual = (confidence * nll_loss + smoothing * smooth_loss).mean()
    manual.backward()
    put("distill.smooth.manual", manual)
    put("distill.smooth.builtin", F.cross_entropy(logits, y, label_smoothing=0.1))
    put("distill.smooth.grad", logits.grad)
    put("distill.smooth.soft", F.cross_entropy(logits, F.softmax(logits * 3, 1),
                                               label_smoothing=0.2))
    put("distill.smooth.weighted", F.cross_entropy(logits, y, weight=torch.tensor(
        [1.0, 2.0, 0.5, 1.0]), label_smoothing=0.3, ignore_index=2))


def section_mixup() -> None:
    def mixup_data(x, y, alpha=1.0):
        lam = np.random.beta(alpha, alpha) if alpha > 0 else 1
        batch_size = x.size()[0]
        index = torch.randperm(batch_size)
        mixed_x = lam * x + (1 - lam) * x[index, :]
        return mixed_x, y, y[index], lam

    def mixup_criterion(criterion, pred, y_a, y_b, lam):
        return lam * criterion(pred, y_a) + (1 - lam) * criterion(pred, y_b)

    np.random.seed(4)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 5))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4,
                          nesterov=True)
    inputs = torch.randn(6, 3, 6, 6)
    targets = torch.randint(0, 5, (6,))
    criterion = nn.CrossEntropyLoss()
    losses, corrects = [], []
    for _step in range(4):
        mixed, targets_a, targets_b, lam = mixup_data(inputs, targets, 0.4)
        outputs = model(mixed)
        loss = mixup_criterion(criterion, outputs, targets_a, targets_b, lam)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        _, predicted = torch.max(outputs.data, 1)
        corrects.append((lam * predicted.eq(targets_a.data).cpu().sum().float()
                         + (1 - lam) * predicted.eq(targets_b.data).cpu().sum().float()).item())
        losses.append(loss.item())
    put("mixup.losses", losses)
    put("mixup.corrects", corrects)
    put_state("mixup.state", model)
    # cutmix's box from the same recipe
    lam = np.random.beta(1.0, 1.0)
    W = H = 6
    cut_rat = np.sqrt(1. - lam)
    cut_w, cut_h = int(W * cut_rat), int(H * cut_rat)
    cx, cy = np.random.randint(W), np.random.randint(H)
    bbx1, bby1 = np.clip(cx - cut_w // 2, 0, W), np.clip(cy - cut_h // 2, 0, H)
    bbx2, bby2 = np.clip(cx + cut_w // 2, 0, W), np.clip(cy + cut_h // 2, 0, H)
    rand_index = torch.randperm(inputs.size()[0])
    mixed = inputs.clone()
    mixed[:, :, bbx1:bbx2, bby1:bby2] = inputs[rand_index, :, bbx1:bbx2, bby1:bby2]
    put("mixup.cutmix", mixed)


def section_schedules() -> None:
    def lrs_of(make_scheduler, steps=12, **opt_kwargs):
        param = nn.Parameter(torch.zeros(2))
        optimizer = optim.SGD([param], lr=0.1, momentum=0.9, **opt_kwargs)
        scheduler = make_scheduler(optimizer)
        lrs, momenta = [], []
        for _ in range(steps):
            optimizer.step()
            lrs.append(scheduler.get_last_lr()[0])
            momenta.append(optimizer.param_groups[0]["momentum"])
            scheduler.step()
        return lrs, momenta, scheduler.state_dict().get("last_epoch")

    warmup, total = 3, 12

    def lr_lambda(current_step):
        if current_step < warmup:
            return float(current_step) / float(max(1, warmup))
        progress = float(current_step - warmup) / float(max(1, total - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))

    cases = {
        "lambda": lambda o: optim.lr_scheduler.LambdaLR(o, lr_lambda),
        "onecycle": lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=12),
        "onecycle_linear": lambda o: optim.lr_scheduler.OneCycleLR(
            o, max_lr=0.5, epochs=3, steps_per_epoch=4, anneal_strategy="linear",
            three_phase=True, pct_start=0.25),
        "sequential": lambda o: optim.lr_scheduler.SequentialLR(o, schedulers=[
            optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3),
            optim.lr_scheduler.CosineAnnealingLR(o, T_max=9, eta_min=1e-4)], milestones=[3]),
        "warm_restarts": lambda o: optim.lr_scheduler.CosineAnnealingWarmRestarts(
            o, T_0=3, T_mult=2, eta_min=0.01),
        "chained": lambda o: optim.lr_scheduler.ChainedScheduler([
            optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=4),
            optim.lr_scheduler.ExponentialLR(o, gamma=0.9)]),
        "polynomial": lambda o: optim.lr_scheduler.PolynomialLR(o, total_iters=8, power=2.0),
        "cyclic": lambda o: optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                        step_size_up=2, mode="triangular2"),
    }
    for name, make in cases.items():
        lrs, momenta, last = lrs_of(make)
        put(f"sched.{name}.lrs", lrs)
        put(f"sched.{name}.momenta", momenta)
        put(f"sched.{name}.last_epoch", -1 if last is None else last)


def section_accumulate_ema() -> None:
    model = nn.Sequential(nn.Linear(5, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 1))
    ema = [p.detach().clone() for p in model.parameters()]
    optimizer = optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    x = torch.randn(16, 5)
    y = torch.randn(16, 1)
    accumulation_steps = 4
    losses = []
    model.zero_grad()
    for i, (xb, yb) in enumerate(zip(x.split(2), y.split(2))):
        loss = F.mse_loss(model(xb), yb) / accumulation_steps
        loss.backward()
        losses.append(loss.item())
        if (i + 1) % accumulation_steps == 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5, norm_type=2.0,
                                           foreach=True)
            optimizer.step()
            model.zero_grad()
            with torch.no_grad():
                params = [p.detach() for p in model.parameters()]
                torch._foreach_mul_(ema, 0.9)
                torch._foreach_add_(ema, params, alpha=0.1)
    put("accum.losses", losses)
    put("accum.ema", ema)
    put_state("accum.model", model)
    with torch.no_grad():
        lerped = [e.clone() for e in ema]
        torch._foreach_lerp_(lerped, list(model.parameters()), 0.25)
        put("accum.lerp", lerped)
        put("accum.norms", torch._foreach_norm(ema))
        scaled = torch._foreach_mul(ema, 2.0)
        torch._foreach_addcmul_(scaled, ema, ema, value=0.5)
        put("accum.addcmul", scaled)
        put("accum.sqrt", torch._foreach_sqrt(torch._foreach_abs(ema)))
        put("accum.maximum", torch._foreach_maximum(ema, 0.0))
    # torch.optim.swa_utils: AveragedModel with an EMA avg_fn, as the recipes write it
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
    averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
    for _step in range(3):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        averaged.update_parameters(model)
    put_state("accum.averaged", averaged)


def section_checkpoint() -> None:
    # (no bias before BatchNorm: its gradient is rounding noise, which Adam's normalised step
    # turns into lr-sized moves of either sign on either library)
    model = nn.Sequential(nn.Conv1d(2, 3, 3, bias=False), nn.BatchNorm1d(3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(3 * 4, 2))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    x = torch.randn(4, 2, 6)
    y = torch.randn(4, 2)

    def train(steps, model, optimizer, scheduler):
        losses = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        return losses

    first = train(3, model, optimizer, scheduler)
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "checkpoint.pth")
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "loss": first[-1],
                "rng": torch.get_rng_state()}, path)
    continued = train(3, model, optimizer, scheduler)
    fresh = nn.Sequential(nn.Conv1d(2, 3, 3, bias=False), nn.BatchNorm1d(3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(3 * 4, 2))
    fresh_opt = optim.Adam(fresh.parameters(), lr=0.5)
    fresh_sched = optim.lr_scheduler.StepLR(fresh_opt, step_size=2, gamma=0.5)
    checkpoint = torch.load(path, weights_only=True)
    fresh.load_state_dict(checkpoint["model_state_dict"])
    fresh_opt.load_state_dict(checkpoint["optimizer_state_dict"])
    fresh_sched.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["rng"])
    resumed = train(3, fresh, fresh_opt, fresh_sched)
    put("ckpt.first", first)
    put("ckpt.continued", continued)
    put("ckpt.resumed", resumed)
    put("ckpt.epoch", checkpoint["epoch"])
    put("ckpt.loss", checkpoint["loss"])
    put("ckpt.lr", fresh_opt.param_groups[0]["lr"])
    put("ckpt.opt_keys", sorted(checkpoint["optimizer_state_dict"]["state"][0].keys()))
    put("ckpt.step", checkpoint["optimizer_state_dict"]["state"][0]["step"])
    put_state("ckpt.fresh", fresh)
    put("ckpt.rand_after", torch.rand(3))
    # a whole-module round trip in memory, and a state dict with strict=False
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)
    put("ckpt.keys", sorted(loaded.keys()))
    put("ckpt.tracked", loaded["1.num_batches_tracked"])
    partial_model = nn.Sequential(nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3))
    result = partial_model.load_state_dict(loaded, strict=False)
    put("ckpt.missing", sorted(result.missing_keys))
    put("ckpt.unexpected", sorted(result.unexpected_keys))
    try:
        partial_model.load_state_dict(loaded)
    except RuntimeError as error:
        put("ckpt.strict_error", type(error).__name__)


def section_amp() -> None:
    # The CPU mixed-precision recipe: autocast to bfloat16 around the forward, GradScaler
    # (enabled, as scripts written for CUDA keep it) around backward and step.
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 5))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 8, growth_interval=2)
    x = torch.randn(4, 3, 6, 6)
    y = torch.randint(0, 5, (4,))
    losses, dtypes = [], []
    for _ in range(4):
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            output = model(x)
            loss = F.cross_entropy(output, y)
        dtypes += [str(output.dtype), str(loss.dtype)]
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    put("amp.losses", losses)
    put("amp.dtypes", dtypes)
    put("amp.scale", scaler.get_scale())
    put_state("amp.model", model)
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        put("amp.eval", model(x).float())


SECTIONS = {"dqn": section_dqn, "amp": section_amp, "distill": section_distill,
            "mixup": section_mixup, "sched": section_schedules, "accum": section_accumulate_ema,
            "ckpt": section_checkpoint}
