"""Optimizers and learning-rate schedulers stepped together the way training scripts do,
afresh (PR6, session 23): OneCycleLR with momentum cycling over SGD and Adam (betas), a
CosineAnnealingWarmRestarts stepped by fractional epochs, ReduceLROnPlateau on a validation
loss that stalls (cooldown, min_lr, threshold modes), LambdaLR / MultiplicativeLR per group,
SequentialLR of a warm-up and a decay, ChainedScheduler, CyclicLR in triangular2 and exp_range
modes; a run interrupted and resumed from state dicts of model, optimizer and scheduler must
reproduce the uninterrupted one; param groups added mid-run, per-group options, and
get_last_lr / optimizer.param_groups read back. Tiny sizes; run by prog_s23_PR6_all.py.
"""

import torch
import torch.nn as nn
from prog_s23_PR6_harness import put
from torch.optim import lr_scheduler as sched


def _problem():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(32, 4, generator=g)
    y = (x @ torch.tensor([1.0, -1.0, 2.0, 0.5])).unsqueeze(1) + 0.05 * torch.randn(32, 1,
                                                                                  generator=g)
    return x, y


def _train(model, opt, scheduler, x, y, steps, *, per="step", metric=False):
    lrs, losses = [], []
    for step in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if metric:
            scheduler.step(loss.item() if step < 6 else 1.0)  # a stall after step 6
        else:
            scheduler.step()
        lrs.append([group["lr"] for group in opt.param_groups])
    return torch.tensor(lrs, dtype=torch.float64), torch.tensor(losses)


def section_onecycle() -> None:
    x, y = _problem()
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    one = sched.OneCycleLR(opt, max_lr=0.1, total_steps=20, pct_start=0.3,
                           anneal_strategy="cos", div_factor=10, final_div_factor=100)
    momenta = []
    lrs = []
    for _ in range(20):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        one.step()
        lrs.append(one.get_last_lr()[0])
        momenta.append(opt.param_groups[0]["momentum"])
    put("onecycle.lrs", torch.tensor(lrs, dtype=torch.float64))
    put("onecycle.momenta", torch.tensor(momenta, dtype=torch.float64))
    put("onecycle.weight", model.weight)
    model = nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.99))
    one = sched.OneCycleLR(opt, max_lr=[0.05], epochs=2, steps_per_epoch=6,
                           anneal_strategy="linear", three_phase=True)
    lrs, losses = _train(model, opt, one, x, y, 12)
    put("onecycle.adam_lrs", lrs)
    put("onecycle.adam_losses", losses)
    put("onecycle.betas", torch.tensor(opt.param_groups[0]["betas"], dtype=torch.float64))
    put("onecycle.state_keys", sorted(one.state_dict()))


def section_restarts() -> None:
    x, y = _problem()
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-3)
    warm = sched.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)
    iters = 4
    lrs = []
    for epoch in range(5):
        for i in range(iters):
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            warm.step(epoch + i / iters)
            lrs.append(warm.get_last_lr()[0])
    put("restart.lrs", torch.tensor(lrs, dtype=torch.float64))
    put("restart.T_cur", [warm.T_cur, warm.T_i])
    put("restart.weight", model.weight)
    model = nn.Linear(4, 1)
    opt = torch.optim.AdamW([{"params": [model.weight], "lr": 0.05},
                             {"params": [model.bias], "lr": 0.01, "weight_decay": 0.0}])
    cyc = sched.CyclicLR(opt, base_lr=[0.001, 0.0005], max_lr=[0.05, 0.01], step_size_up=3,
                         mode="triangular2", cycle_momentum=False)
    lrs, losses = _train(model, opt, cyc, x, y, 14)
    put("restart.cyclic_lrs", lrs)
    put("restart.cyclic_losses", losses)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    cyc = sched.CyclicLR(opt, 0.001, 0.02, step_size_up=2, step_size_down=4, mode="exp_range",
                         gamma=0.9, base_momentum=0.8, max_momentum=0.95)
    lrs, losses = _train(model, opt, cyc, x, y, 10)
    put("restart.exp_range", lrs)
    put("restart.exp_momentum", opt.param_groups[0]["momentum"])


def section_plateau() -> None:
    x, y = _problem()
    results = []
    for mode, threshold_mode in (("min", "rel"), ("min", "abs")):
        model = nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        plateau = sched.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=1, cooldown=1,
                                          min_lr=0.005, threshold=0.01,
                                          threshold_mode=threshold_mode)
        lrs, losses = _train(model, opt, plateau, x, y, 16, metric=True)
        results += [lrs, losses]
        put(f"plateau.{threshold_mode}.state", [plateau.num_bad_epochs, plateau.best,
                                                plateau.cooldown_counter])
        put(f"plateau.{threshold_mode}.last", plateau.get_last_lr())
    put("plateau.runs", results)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    up = sched.ReduceLROnPlateau(opt, mode="max", patience=0, factor=0.1, eps=1e-3)
    seen = []
    for acc in (0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7):
        up.step(acc)
        seen.append(opt.param_groups[0]["lr"])
    put("plateau.max_mode", torch.tensor(seen, dtype=torch.float64))


def section_composed() -> None:
    x, y = _problem()
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 1))
    opt = torch.optim.SGD([{"params": model[0].parameters()},
                           {"params": model[2].parameters(), "lr": 0.02}], lr=0.05,
                          momentum=0.5)
    lam = sched.LambdaLR(opt, lr_lambda=[lambda e: 0.9 ** e, lambda e: 1.0 / (1 + e)])
    lrs, losses = _train(model, opt, lam, x, y, 6)
    put("composed.lambda", [lrs, losses])
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    warmup = sched.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=3)
    decay = sched.ExponentialLR(opt, gamma=0.8)
    seq = sched.SequentialLR(opt, [warmup, decay], milestones=[3])
    lrs, losses = _train(model, opt, seq, x, y, 9)
    put("composed.sequential", [lrs, losses])
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    chain = sched.ChainedScheduler([sched.ConstantLR(opt, factor=0.5, total_iters=2),
                                    sched.MultiStepLR(opt, milestones=[3, 5], gamma=0.5),
                                    sched.MultiplicativeLR(opt, lambda e: 0.95)])
    lrs, losses = _train(model, opt, chain, x, y, 8)
    put("composed.chained", [lrs, losses])
    model = nn.Linear(4, 1)
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01, momentum=0.5, centered=True)
    poly = sched.PolynomialLR(opt, total_iters=5, power=2.0)
    lrs, losses = _train(model, opt, poly, x, y, 7)
    put("composed.poly", [lrs, losses])
    model = nn.Linear(4, 1)
    opt = torch.optim.Adagrad(model.parameters(), lr=0.1, lr_decay=0.01)
    step = sched.StepLR(opt, step_size=2, gamma=0.3)
    lrs, losses = _train(model, opt, step, x, y, 6)
    put("composed.step", [lrs, losses])
    put("composed.adagrad_state", opt.state_dict()["state"][0]["sum"])
    # a param group added mid-run gets the defaults and its own initial_lr
    extra = nn.Parameter(torch.zeros(1))
    opt.add_param_group({"params": [extra], "lr": 0.2})
    put("composed.groups", [len(opt.param_groups), opt.param_groups[1]["lr"],
                            opt.param_groups[1]["lr_decay"], "initial_lr" in opt.param_groups[0]])


def section_resume() -> None:
    x, y = _problem()

    def make():
        torch.manual_seed(4)
        model = nn.Sequential(nn.Linear(4, 6), nn.GELU(), nn.Linear(6, 1))
        opt = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.1, amsgrad=True)
        warm = sched.LinearLR(opt, start_factor=0.2, total_iters=4)
        cos = sched.CosineAnnealingLR(opt, T_max=8, eta_min=1e-4)
        return model, opt, sched.SequentialLR(opt, [warm, cos], milestones=[4])

    def steps(model, opt, schedule, n):
        out = []
        for _ in range(n):
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            schedule.step()
            out.append(loss.item())
        return out

    model, opt, schedule = make()
    full = steps(model, opt, schedule, 12)
    model2, opt2, schedule2 = make()
    half = steps(model2, opt2, schedule2, 5)
    checkpoint = {"model": model2.state_dict(), "opt": opt2.state_dict(),
                  "sched": schedule2.state_dict(), "rng": torch.get_rng_state()}
    import io

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    model3, opt3, schedule3 = make()
    model3.load_state_dict(loaded["model"])
    opt3.load_state_dict(loaded["opt"])
    schedule3.load_state_dict(loaded["sched"])
    rest = steps(model3, opt3, schedule3, 7)
    put("resume.full", torch.tensor(full))
    put("resume.resumed", torch.tensor(half + rest))
    put("resume.same", max(abs(a - b) for a, b in zip(full, half + rest)) < 1e-6)
    put("resume.weights", [model[0].weight, model3[0].weight])
    put("resume.lr", [schedule.get_last_lr()[0], schedule3.get_last_lr()[0]])
    state = opt3.state_dict()
    put("resume.opt_keys", sorted(state["state"][0]))
    put("resume.groups", [sorted(k for k in state["param_groups"][0] if k != "params"),
                          state["param_groups"][0]["params"]])
    put("resume.step", state["state"][0]["step"])
    put("resume.max_exp_avg_sq", state["state"][2]["max_exp_avg_sq"])
    put("resume.sched_keys", sorted(schedule3.state_dict()))
    put("resume.last_epoch", [schedule3.last_epoch, schedule3._schedulers[1].last_epoch])


SECTIONS = {
    "onecycle": section_onecycle, "restarts": section_restarts, "plateau": section_plateau,
    "composed": section_composed, "resume": section_resume,
}

if __name__ == "__main__":
    from prog_s23_PR6_harness import run

    run(SECTIONS)
