"""Training-loop programs (PR13, session 27), written afresh in the style of widely copied
code, printing what such scripts print: a learning-rate range test (exponential LR, smoothed
loss, divergence stop, the steepest-descent pick), OneCycleLR / SequentialLR / ChainedScheduler /
CyclicLR / CosineAnnealingWarmRestarts / ReduceLROnPlateau schedules stepped and printed with
their state dicts, early stopping with a deep-copied best state dict, and whole training
states (model + optimizer + scheduler + RNG states) saved with torch.save and loaded to resume
bit-identically. Tiny sizes, seeded; run by prog_s27_PR13_all.py.
"""
# ruff: noqa: B007 - loop counters kept as such programs write them

import copy
import io
import math
import pickle
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.optim import lr_scheduler


def _regression(g, n=64):
    x = torch.randn(n, 5, generator=g)
    w = torch.randn(5, 1, generator=g)
    return x, x @ w + 0.1 * torch.randn(n, 1, generator=g)


def section_lr_finder() -> None:
    g = torch.Generator().manual_seed(20)
    x, y = _regression(g)
    torch.manual_seed(20)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))
    init = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    start, end, steps = 1e-4, 10.0, 40
    sched = lr_scheduler.ExponentialLR(opt, gamma=(end / start) ** (1 / steps))
    lrs, losses, best, avg = [], [], math.inf, 0.0
    with printed("lrf.log"):
        for it in range(steps):
            idx = torch.randint(0, 64, (16,), generator=g)
            loss = F.mse_loss(model(x[idx]), y[idx])
            avg = 0.9 * avg + 0.1 * loss.item()
            smooth = avg / (1 - 0.9 ** (it + 1))
            lrs.append(opt.param_groups[0]["lr"])
            losses.append(smooth)
            if smooth > 4 * best:
                print(f"stopping early at lr {lrs[-1]:.3e}, loss diverged")
                break
            best = min(best, smooth)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        grads = np.gradient(np.array(losses))
        pick = int(grads.argmin())
        print(f"steepest gradient at lr {lrs[pick]:.3e} ({len(lrs)} points)")
        print("min loss", f"{min(losses):.4f}", "at", f"{lrs[int(np.argmin(losses))]:.3e}")
        model.load_state_dict(init)
        print("restored", torch.equal(model[0].weight, init["0.weight"]))
    put("lrf.losses", np.array(losses))


def _print_sched(name, opt, sched, steps, metric=None):
    seen = []
    for step in range(steps):
        opt.step()
        if metric is None:
            sched.step()
        else:
            sched.step(metric(step))
        seen.append(round(opt.param_groups[0]["lr"], 6))
    print(name, seen)


def section_schedulers() -> None:
    with printed("sch.log"):
        p = [nn.Parameter(torch.zeros(2))]
        opt = torch.optim.SGD(p, lr=0.1, momentum=0.9)
        s = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=12, pct_start=0.25,
                                    anneal_strategy="cos", div_factor=10, final_div_factor=100)
        seen = []
        for _ in range(12):
            opt.step()
            s.step()
            seen.append((round(s.get_last_lr()[0], 5), round(opt.param_groups[0]["momentum"], 4)))
        print("onecycle", seen[:6], seen[-2:])
        opt = torch.optim.Adam(p, lr=0.1)
        s = lr_scheduler.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=4,
                                    anneal_strategy="linear", three_phase=True)
        _print_sched("onecycle three-phase adam", opt, s, 8)
        print("betas", opt.param_groups[0]["betas"])
        opt = torch.optim.SGD(p, lr=1.0)
        warm = lr_scheduler.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=3)
        cos = lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
        s = lr_scheduler.SequentialLR(opt, schedulers=[warm, cos], milestones=[3])
        _print_sched("sequential", opt, s, 9)
        print("sequential state keys", sorted(s.state_dict()))
        opt = torch.optim.SGD(p, lr=1.0)
        s = lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2),
                                           lr_scheduler.ExponentialLR(opt, gamma=0.9)])
        _print_sched("chained", opt, s, 5)
        opt = torch.optim.SGD(p, lr=0.1, momentum=0.9)
        s = lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                  mode="triangular2")
        _print_sched("cyclic triangular2", opt, s, 14)
        opt = torch.optim.SGD(p, lr=0.1, momentum=0.9)
        s = lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                  mode="exp_range", gamma=0.9)
        _print_sched("cyclic exp_range", opt, s, 8)
        opt = torch.optim.SGD(p, lr=0.1)
        s = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)
        seen = []
        for epoch in range(10):
            for i in range(2):
                opt.step()
                s.step(epoch + i / 2)
            seen.append(round(s.get_last_lr()[0], 5))
        print("warm restarts", seen, s.T_i, s.T_cur)
        opt = torch.optim.SGD(p, lr=1.0)
        s = lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1,
                                           threshold=0.01, cooldown=1, min_lr=0.1)
        vals = [1.0, 0.9, 0.9, 0.9, 0.895, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
        _print_sched("plateau", opt, s, len(vals), metric=lambda i: vals[i])
        print("plateau best", s.best, "bad epochs", s.num_bad_epochs, "last", s.get_last_lr())
        opt = torch.optim.SGD(p, lr=1.0)
        s = lr_scheduler.ReduceLROnPlateau(opt, mode="max", threshold_mode="abs", patience=0)
        _print_sched("plateau max", opt, s, 4, metric=lambda i: [0.5, 0.6, 0.6, 0.55][i])
        opt = torch.optim.SGD([{"params": p, "lr": 0.1},
                               {"params": [nn.Parameter(torch.ones(1))], "lr": 0.01}])
        s = lr_scheduler.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: 1 + e])
        for _ in range(3):
            opt.step()
            s.step()
        print("lambda groups", s.get_last_lr(), "state", {k: v for k, v in s.state_dict().items()
                                                          if k != "lr_lambdas"})
        opt = torch.optim.SGD(p, lr=1.0)
        s = lr_scheduler.PolynomialLR(opt, total_iters=4, power=2.0)
        _print_sched("polynomial", opt, s, 6)
        opt = torch.optim.SGD(p, lr=1.0)
        s = lr_scheduler.MultiStepLR(opt, milestones=[2, 2, 5], gamma=0.1)
        _print_sched("multistep repeated milestone", opt, s, 6)
        print("milestones", s.milestones)


def section_early_stopping() -> None:
    g = torch.Generator().manual_seed(21)
    x, y = _regression(g, n=80)
    xt, yt, xv, yv = x[:60], y[:60], x[60:], y[60:]
    torch.manual_seed(21)
    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    best, best_state, best_epoch, patience, bad = math.inf, None, -1, 4, 0
    with printed("es.log"):
        for epoch in range(60):
            model.train()
            for xb, yb in zip(xt.split(15), yt.split(15)):
                opt.zero_grad()
                F.mse_loss(model(xb), yb).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                val = F.mse_loss(model(xv), yv).item()
            if val < best - 1e-4:
                best, best_epoch, bad = val, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
                opt_state = copy.deepcopy(opt.state_dict())
            else:
                bad += 1
                if bad >= patience:
                    print(f"early stop at epoch {epoch}, best {best:.4f} at {best_epoch}")
                    break
            if epoch % 5 == 0:
                print(f"epoch {epoch:2d} val {val:.4f}")
        model.load_state_dict(best_state)
        with torch.no_grad():
            again = F.mse_loss(model(xv), yv).item()
        print(f"restored best val {again:.4f}", again == best)
        print("best state is a copy:", best_state["0.weight"] is not model[0].weight,
              best_state["0.weight"].requires_grad)
        print("opt state steps", opt_state["state"][0]["step"], sorted(opt_state["state"][0]),
              sorted(opt_state["param_groups"][0]))
    put("es.best", best_state["3.weight"])


def _state(model, opt, sched, g):
    return {"model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "torch_rng": torch.get_rng_state(),
            "gen": g.get_state(), "py_rng": random.getstate(),
            "np_rng": np.random.get_state()}


def section_resume() -> None:
    def build():
        torch.manual_seed(22)
        model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                              nn.Linear(8, 1))
        opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01, amsgrad=True)
        sched = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        return model, opt, sched

    g0 = torch.Generator().manual_seed(22)
    x, y = _regression(g0)

    def train(model, opt, sched, g, epochs):
        out = []
        for epoch in range(epochs):
            perm = torch.randperm(64, generator=g)
            for idx in perm.split(16):
                noise = torch.randn(len(idx), 1) * 0.01 + random.random() * 0 + np.random.rand() * 0
                loss = F.mse_loss(model(x[idx]), y[idx] + noise)
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
            out.append(loss.item())
        return out

    with printed("resume.log"):
        random.seed(0)
        np.random.seed(0)
        model, opt, sched = build()
        g = torch.Generator().manual_seed(5)
        straight = train(model, opt, sched, g, 6)
        final = copy.deepcopy(model.state_dict())
        print("straight", [f"{v:.4f}" for v in straight])
        random.seed(0)
        np.random.seed(0)
        model, opt, sched = build()
        g = torch.Generator().manual_seed(5)
        first = train(model, opt, sched, g, 3)
        buf = io.BytesIO()
        torch.save({"epoch": 3, **_state(model, opt, sched, g)}, buf)
        size = buf.tell()
        for _ in range(3):  # disturb everything the checkpoint holds
            torch.rand(5)
            random.random()
            np.random.rand()
        buf.seek(0)
        ck = torch.load(buf, weights_only=False)
        print("checkpoint keys", sorted(ck), "bytes > 0", size > 0)
        model, opt, sched = build()
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["torch_rng"])
        g = torch.Generator()
        g.set_state(ck["gen"])
        random.setstate(ck["py_rng"])
        np.random.set_state(ck["np_rng"])
        second = train(model, opt, sched, g, 3)
        print("resumed", [f"{v:.4f}" for v in first + second])
        same = all(torch.equal(final[k], v) for k, v in model.state_dict().items())
        print("bit-identical", same, "lr", sched.get_last_lr(), "epoch", ck["epoch"])
        print("optimizer state", sorted(ck["optimizer"]["state"][0]),
              ck["optimizer"]["param_groups"][0]["amsgrad"])
        print("rng dtype", ck["torch_rng"].dtype, tuple(ck["torch_rng"].shape))
        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)
        buf.seek(0)
        weights = torch.load(buf, weights_only=True)
        print("weights_only keys", list(weights)[:4], weights["1.num_batches_tracked"])
        for damaged in (buf.getvalue()[:100], b"", pickle.dumps({"epoch": 3}, protocol=2)):
            try:
                torch.load(io.BytesIO(damaged), weights_only=True)
            except (RuntimeError, EOFError, pickle.UnpicklingError) as error:
                kind = [k.__name__ for k in (RuntimeError, EOFError, pickle.UnpicklingError)
                        if isinstance(error, k)]
                print("damaged checkpoint, starting fresh:", kind)
    put("resume.w", model[4].weight)


SECTIONS = {
    "lr_finder": section_lr_finder, "schedulers": section_schedulers,
    "early_stopping": section_early_stopping, "resume": section_resume,
}
