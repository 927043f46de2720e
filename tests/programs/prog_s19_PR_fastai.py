"""fast.ai part 2 ("from the foundations")-style code, written afresh (PR2, session 19): matrix
multiplication by loops, by broadcasting and by einsum; init experiments (the spread of
activations through a deep ReLU stack under default, Kaiming-normal and fan-out inits, the
sqrt(5) question); a Learner driven by callbacks (cancel exceptions, hooks recording activation
statistics, a one-cycle schedule by cosine pieces written out, a recorder); a running batch norm
with ``lerp_`` and debiasing; LSUV init through forward hooks; SGD and Adam written on tensors
with decoupled weight decay compared with torch.optim's; mixup with Beta draws and label
smoothing written out. Tiny sizes; run by prog_s19_PR_all.py.
"""

import math
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def matmul_loops(a, b):
    ar, ac = a.shape
    _, bc = b.shape
    c = torch.zeros(ar, bc)
    for i in range(ar):
        for j in range(bc):
            for k in range(ac):
                c[i, j] += a[i, k] * b[k, j]
    return c


def matmul_broadcast(a, b):
    ar, _ = a.shape
    c = torch.zeros(ar, b.shape[1])
    for i in range(ar):
        c[i] = (a[i, :, None] * b).sum(dim=0)
    return c


def section_fa_matmul() -> None:
    a, b = torch.randn(4, 5), torch.randn(5, 3)
    put("fa_matmul.loops", matmul_loops(a, b))
    put("fa_matmul.broadcast", matmul_broadcast(a, b))
    put("fa_matmul.einsum", torch.einsum("ik,kj->ij", a, b))
    put("fa_matmul.diff", (matmul_broadcast(a, b) - a @ b).abs().max() < 1e-5)
    # init experiments: activation spread through 20 ReLU layers
    x = torch.randn(64, 32)
    stats = []
    for init in ("default", "kaiming_in", "kaiming_out", "half"):
        torch.manual_seed(1)
        h = x
        for _ in range(20):
            w = torch.randn(32, 32)
            if init == "default":
                w = w / math.sqrt(32)
            elif init == "kaiming_in":
                nn.init.kaiming_normal_(w, mode="fan_in")
            elif init == "kaiming_out":
                nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
            else:
                w = w * math.sqrt(2 / 32)
            h = (h @ w).clamp_min(0.0) - (0.5 if init == "half" else 0.0)
        stats.append([h.mean().item(), h.std().item()])
    put("fa_matmul.init_stats", stats)
    # PyTorch's conv default (kaiming_uniform_ with a=sqrt(5)): the std it gives
    conv = nn.Conv2d(8, 16, 5)
    put("fa_matmul.conv_std", [conv.weight.std(), conv.weight.abs().max()])
    put("fa_matmul.gain", [nn.init.calculate_gain("leaky_relu", math.sqrt(5)),
                           nn.init.calculate_gain("relu"), nn.init.calculate_gain("tanh")])
    w = torch.zeros(16, 8, 5, 5)
    nn.init.kaiming_uniform_(w, a=0.1, mode="fan_out", nonlinearity="leaky_relu")
    put("fa_matmul.kaiming_uniform", w[:2, :2])


class CancelBatchException(Exception):
    pass


class CancelEpochException(Exception):
    pass


class Callback:
    order = 0


class Learner:
    def __init__(self, model, dls, loss_func, lr, cbs, opt_func=torch.optim.SGD):
        self.model, self.dls, self.loss_func = model, dls, loss_func
        self.lr, self.cbs, self.opt_func = lr, cbs, opt_func
        for cb in cbs:
            cb.learn = self

    def callback(self, name):
        for cb in sorted(self.cbs, key=lambda c: c.order):
            method = getattr(cb, name, None)
            if method is not None:
                method()

    def one_batch(self):
        self.preds = self.model(self.batch[0])
        self.loss = self.loss_func(self.preds, self.batch[1])
        self.callback("after_loss")
        if self.training:
            self.loss.backward()
            self.callback("before_step")
            self.opt.step()
            self.opt.zero_grad()

    def one_epoch(self, train):
        self.model.train(train)
        self.training = train
        self.dl = self.dls[0] if train else self.dls[1]
        try:
            for self.iter, self.batch in enumerate(self.dl):  # noqa: B020 - fast.ai's idiom
                try:
                    self.callback("before_batch")
                    self.one_batch()
                    self.callback("after_batch")
                except CancelBatchException:
                    pass
        except CancelEpochException:
            pass
        self.callback("after_epoch")

    def fit(self, n_epochs):
        self.n_epochs = n_epochs
        self.epochs = range(n_epochs)
        self.opt = self.opt_func(self.model.parameters(), self.lr)
        self.callback("before_fit")
        for self.epoch in self.epochs:  # noqa: B020 - as fast.ai writes it
            self.one_epoch(True)
            with torch.no_grad():
                self.one_epoch(False)


class MetricsCB(Callback):
    def before_fit(self):
        self.log = []

    def after_epoch(self):
        self.log.append(self.running)

    def before_batch(self):
        if self.learn.iter == 0:
            self.running = [0.0, 0, 0]

    def after_batch(self):
        n = len(self.learn.batch[1])
        self.running[0] += self.learn.loss.item() * n
        self.running[1] += (self.learn.preds.argmax(1) == self.learn.batch[1]).sum().item()
        self.running[2] += n


class SkipSecondBatchCB(Callback):
    order = -1

    def before_batch(self):
        if self.learn.training and self.learn.iter == 1:
            raise CancelBatchException()


def combine_scheds(pcts, scheds):
    pcts = torch.tensor([0] + list(pcts))
    pcts = torch.cumsum(pcts, 0)

    def _inner(pos):
        idx = (pos >= pcts).nonzero().max()
        if idx == len(pcts) - 1:
            idx = len(pcts) - 2
        actual_pos = (pos - pcts[idx]) / (pcts[idx + 1] - pcts[idx])
        return scheds[idx](actual_pos)
    return _inner


def sched_cos(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


class ParamSchedulerCB(Callback):
    order = 1

    def __init__(self, sched):
        self.sched = sched

    def before_fit(self):
        self.lrs = []
        self.total = self.learn.n_epochs * len(self.learn.dls[0])
        self.step = 0

    def before_batch(self):
        if not self.learn.training:
            return
        pos = self.step / self.total
        for group in self.learn.opt.param_groups:
            group["lr"] = float(self.sched(torch.tensor(pos)))
        self.lrs.append(self.learn.opt.param_groups[0]["lr"])
        self.step += 1


class ActivationStatsCB(Callback):
    def before_fit(self):
        self.stats = []
        self.hooks = [m.register_forward_hook(self.hook) for m in self.learn.model
                      if isinstance(m, nn.Linear)]

    def hook(self, module, inp, outp):
        if self.learn.training:
            self.stats.append([outp.data.mean().item(), outp.data.std().item(),
                               (outp.data.abs() < 0.2).float().mean().item()])

    def after_epoch(self):
        if self.learn.epoch == self.learn.n_epochs - 1 and not self.learn.training:
            for h in self.hooks:
                h.remove()


def _dls(n=48, bs=12):
    x = torch.randn(n, 6)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).long()
    train = [(x[i:i + bs], y[i:i + bs]) for i in range(0, n - bs, bs)]
    valid = [(x[n - bs:], y[n - bs:])]
    return train, valid


def section_fa_learner() -> None:
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    sched = combine_scheds([0.3, 0.7], [partial(sched_cos, 0.02, 0.3),
                                        partial(sched_cos, 0.3, 0.005)])
    metrics, stats, scheduler = MetricsCB(), ActivationStatsCB(), ParamSchedulerCB(sched)
    learn = Learner(model, _dls(), F.cross_entropy, 0.1,
                    [metrics, stats, scheduler, SkipSecondBatchCB()],
                    opt_func=partial(torch.optim.SGD, momentum=0.9))
    learn.fit(3)
    put("fa_learner.log", metrics.log)
    put("fa_learner.lrs", scheduler.lrs)
    put("fa_learner.stats", stats.stats)
    put("fa_learner.hooks_left", len(model[0]._forward_hooks))
    put_state("fa_learner.state", model)


class RunningBatchNorm(nn.Module):
    def __init__(self, nf, mom=0.1, eps=1e-5):
        super().__init__()
        self.mom, self.eps = mom, eps
        self.mults = nn.Parameter(torch.ones(nf, 1, 1))
        self.adds = nn.Parameter(torch.zeros(nf, 1, 1))
        self.register_buffer("sums", torch.zeros(1, nf, 1, 1))
        self.register_buffer("sqrs", torch.zeros(1, nf, 1, 1))
        self.register_buffer("batch", torch.tensor(0.0))
        self.register_buffer("count", torch.tensor(0.0))
        self.register_buffer("step", torch.tensor(0.0))
        self.register_buffer("dbias", torch.tensor(0.0))

    def update_stats(self, x):
        bs, nc, *_ = x.shape
        self.sums.detach_()
        self.sqrs.detach_()
        dims = (0, 2, 3)
        s = x.sum(dims, keepdim=True)
        ss = (x * x).sum(dims, keepdim=True)
        c = self.count.new_tensor(x.numel() / nc)
        mom1 = 1 - (1 - self.mom) / math.sqrt(bs - 1)
        self.mom1 = self.dbias.new_tensor(mom1)
        self.sums.lerp_(s, self.mom1)
        self.sqrs.lerp_(ss, self.mom1)
        self.count.lerp_(c, self.mom1)
        self.dbias = self.dbias * (1 - self.mom1) + self.mom1
        self.batch += bs
        self.step += 1

    def forward(self, x):
        if self.training:
            self.update_stats(x)
        sums, sqrs, c = self.sums, self.sqrs, self.count
        if self.step < 100:
            sums = sums / self.dbias
            sqrs = sqrs / self.dbias
            c = c / self.dbias
        means = sums / c
        vars = (sqrs / c).sub_(means * means)
        if bool(self.batch < 20):
            vars.clamp_min_(0.01)
        x = (x - means).div_((vars.add_(self.eps)).sqrt())
        return x.mul_(self.mults).add_(self.adds)


def section_fa_runbn() -> None:
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), RunningBatchNorm(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    x = torch.randn(24, 2, 5, 5)
    y = torch.randint(0, 3, (24,))
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    losses = []
    for i in range(6):
        xb, yb = x[i * 4 % 24:i * 4 % 24 + 4], y[i * 4 % 24:i * 4 % 24 + 4]
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("fa_runbn.losses", losses)
    put_state("fa_runbn.state", model)
    put("fa_runbn.dbias", model[1].dbias)
    model.eval()
    put("fa_runbn.eval", model(x[:5]))


def lsuv_module(model, module, xb, tol=1e-3, max_iter=10):
    record = {}

    def hook(m, inp, outp):
        record["mean"], record["std"] = outp.data.mean().item(), outp.data.std().item()

    h = module.register_forward_hook(hook)
    steps = 0
    with torch.no_grad():
        model(xb)
        while steps < max_iter and (abs(record["mean"]) > tol or abs(record["std"] - 1) > tol):
            module.bias -= record["mean"]
            model(xb)
            module.weight.data /= record["std"]
            model(xb)
            steps += 1
    h.remove()
    return steps, record["mean"], record["std"]


def section_fa_lsuv() -> None:
    model = nn.Sequential(nn.Conv2d(1, 6, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(8 * 2 * 2, 4))
    xb = torch.randn(16, 1, 8, 8)
    results = [lsuv_module(model, m, xb) for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    put("fa_lsuv.results", [[float(v) for v in r] for r in results])
    put_state("fa_lsuv.state", model)


def sgd_step(p, lr, wd, mom, state):
    if wd != 0:
        p.data.mul_(1 - lr * wd)
    if mom:
        buf = state.setdefault("buf", torch.zeros_like(p))
        buf.mul_(mom).add_(p.grad.data)
        p.data.add_(buf, alpha=-lr)
    else:
        p.data.add_(p.grad.data, alpha=-lr)


def adam_step(p, lr, wd, beta1, beta2, eps, state):
    state["step"] = state.get("step", 0) + 1
    avg = state.setdefault("grad_avg", torch.zeros_like(p))
    sqr = state.setdefault("sqr_avg", torch.zeros_like(p))
    p.data.mul_(1 - lr * wd)
    avg.lerp_(p.grad.data, 1 - beta1)
    sqr.mul_(beta2).addcmul_(p.grad.data, p.grad.data, value=1 - beta2)
    debias1 = 1 - beta1 ** state["step"]
    debias2 = 1 - beta2 ** state["step"]
    p.data.addcdiv_(avg, (sqr / debias2).sqrt() + eps, value=-lr / debias1)


def section_fa_optim() -> None:
    x = torch.randn(20, 5)
    y = torch.randn(20, 1)
    base = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 1))
    for name, mine, theirs in (
            ("sgd", lambda p, s: sgd_step(p, 0.1, 0.01, 0.9, s),
             lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
            ("adamw", lambda p, s: adam_step(p, 0.02, 0.1, 0.9, 0.99, 1e-8, s),
             lambda ps: torch.optim.AdamW(ps, lr=0.02, betas=(0.9, 0.99), weight_decay=0.1))):
        a = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 1))
        b = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 1))
        a.load_state_dict(base.state_dict())
        b.load_state_dict(base.state_dict())
        states = {id(p): {} for p in a.parameters()}
        opt = theirs(b.parameters())
        losses = []
        for _ in range(6):
            la = F.mse_loss(a(x), y)
            la.backward()
            for p in a.parameters():
                mine(p, states[id(p)])
                p.grad.zero_()
            lb = F.mse_loss(b(x), y)
            lb.backward()
            if name == "sgd":  # (torch's SGD couples weight decay; applied by hand, decoupled)
                with torch.no_grad():
                    for p in b.parameters():
                        p.mul_(1 - 0.1 * 0.01)
            opt.step()
            opt.zero_grad()
            losses.append([la.item(), lb.item()])
        put(f"fa_optim.{name}.losses", losses)
        put(f"fa_optim.{name}.diff", max((pa - pb).abs().max().item()
                                         for pa, pb in zip(a.parameters(), b.parameters())))
        put_state(f"fa_optim.{name}.mine", a)


def lin_comb(v1, v2, beta):
    return beta * v1 + (1 - beta) * v2


class LabelSmoothingCrossEntropy(nn.Module):
    def __init__(self, eps=0.1, reduction="mean"):
        super().__init__()
        self.eps, self.reduction = eps, reduction

    def forward(self, output, target):
        c = output.size()[-1]
        log_preds = F.log_softmax(output, dim=-1)
        loss = -log_preds.sum(dim=-1)
        loss = loss.mean() if self.reduction == "mean" else loss.sum()
        nll = F.nll_loss(log_preds, target, reduction=self.reduction)
        return lin_comb(loss / c, nll, self.eps)


def section_fa_mixup() -> None:
    model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))
    x = torch.randn(16, 6)
    y = torch.randint(0, 4, (16,))
    distrib = torch.distributions.Beta(torch.tensor([0.4]), torch.tensor([0.4]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    smooth = LabelSmoothingCrossEntropy(0.1)
    record = []
    for _ in range(5):
        lam = distrib.sample((x.size(0),)).squeeze()
        lam = torch.stack([lam, 1 - lam], 1).max(1)[0]
        shuffle = torch.randperm(y.size(0))
        x1, y1 = x[shuffle], y[shuffle]
        xm = lin_comb(x, x1, lam[:, None])
        out = model(xm)
        loss_a = F.cross_entropy(out, y, reduction="none")
        loss_b = F.cross_entropy(out, y1, reduction="none")
        loss = lin_comb(loss_a, loss_b, lam).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        record.append([loss.item(), lam.mean().item()])
    put("fa_mixup.record", record)
    put_state("fa_mixup.state", model)
    out = model(x)
    put("fa_mixup.smooth", [smooth(out, y), F.cross_entropy(out, y, label_smoothing=0.1),
                            LabelSmoothingCrossEntropy(0.1, "sum")(out, y)])


SECTIONS = {"fa_matmul": section_fa_matmul, "fa_learner": section_fa_learner,
            "fa_runbn": section_fa_runbn, "fa_lsuv": section_fa_lsuv,
            "fa_optim": section_fa_optim, "fa_mixup": section_fa_mixup}
