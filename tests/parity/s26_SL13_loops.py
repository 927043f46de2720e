"""A training-loop differential fuzzer: random but realistic training loops run on deltagrad and
on PyTorch from the same initial weights, compared after every step.

A loop is drawn from a seed as plain data (``draw(seed)``): a model, a task and its loss
(``s26_SL13_models.py``), an optimizer of ``torch.optim`` with random valid options (foreach
True / False / None, maximize, amsgrad, nesterov, weight decay, momentum, ...), parameter
groups with their own lr / weight decay, frozen parameters, a learning-rate scheduler (every
``lr_scheduler`` class, SequentialLR / ChainedScheduler compositions, ReduceLROnPlateau fed the
loss), and the loop's shape: gradient accumulation over micro-batches, ``zero_grad`` with
set_to_none True / False (optimizer's or module's), clip_grad_norm_ / clip_grad_value_,
eval passes under no_grad / inference_mode between steps, a checkpoint (model, optimizer and
scheduler state dicts through ``torch.save`` into a BytesIO, loaded into freshly built ones in
either order), ``torch.autocast("cpu", bfloat16)`` around the forward, float32 or float64.

``run(L, cfg, init)`` trains under library ``L``: the model is built after
``L.manual_seed(seed)`` and (on the deltagrad side) PyTorch's initial state_dict is copied in;
the generator is then reseeded on both sides so that dropout masks agree (deltagrad draws
PyTorch's Bernoulli masks, tests/test_random_stream.py). After each step it records the loss,
every parameter, ``.grad`` and buffer, the optimizer's state_dict, the learning rates and the
scheduler's state; an exception ends the run and is recorded by its builtin class.
``compare(a, b, cfg)`` names the first difference (tolerances suited to the dtype: a tensor's
error is measured against its own scale; bfloat16 autocast is looser).

Run as a script::

    .venv/bin/python tests/parity/s26_SL13_loops.py [--loops N] [--seed S] [--show]
"""

from __future__ import annotations

import argparse
import builtins
import io
import math
import sys
import time
import warnings

import numpy as np
import s26_SL13_models as M
import torch

import deltagrad as dg

_pick, _coin = M._pick, M._coin


# ---------------------------------------------------------------------------------------------
# Drawing a loop
# ---------------------------------------------------------------------------------------------

def _lr(rng, lo, hi):
    return float(f"{math.exp(rng.uniform(math.log(lo), math.log(hi))):.3g}")


def draw_opt(rng):
    name = _pick(rng, ["SGD", "SGD", "Adam", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
                       "Adagrad", "Adadelta", "RMSprop", "Rprop", "ASGD", "Adafactor", "LBFGS"])
    kw = {}
    wd = float(_pick(rng, [0.0, 0.0, 0.01, 0.1]))
    if name != "LBFGS":
        kw["maximize"] = _coin(rng, 0.1)
        if _coin(rng, 0.2):
            kw["differentiable"] = False
    if name not in ("LBFGS",) and _coin(rng, 0.6):
        kw["foreach"] = _pick(rng, [True, False, None])
    if name == "SGD":
        kw["lr"] = _lr(rng, 0.01, 0.2)
        kw["momentum"] = float(_pick(rng, [0.0, 0.9, 0.5]))
        if kw["momentum"] and _coin(rng, 0.4):
            kw["nesterov"] = True
        elif kw["momentum"] and _coin(rng, 0.3):
            kw["dampening"] = 0.1
        kw["weight_decay"] = wd
    elif name in ("Adam", "AdamW", "Adamax", "NAdam", "RAdam"):
        kw["lr"] = _lr(rng, 1e-3, 3e-2)
        if _coin(rng, 0.4):
            kw["betas"] = (float(_pick(rng, [0.8, 0.9, 0.0])), float(_pick(rng, [0.99, 0.95])))
        if _coin(rng, 0.3):
            kw["eps"] = float(_pick(rng, [1e-6, 1e-3]))
        kw["weight_decay"] = wd
        if name in ("Adam", "AdamW") and _coin(rng, 0.35):
            kw["amsgrad"] = True
        if name in ("Adam", "NAdam", "RAdam") and wd and _coin(rng, 0.4):
            kw["decoupled_weight_decay"] = True
        if name == "NAdam" and _coin(rng, 0.3):
            kw["momentum_decay"] = 0.01
    elif name == "Adagrad":
        kw["lr"] = _lr(rng, 0.01, 0.3)
        kw["lr_decay"] = float(_pick(rng, [0.0, 0.01]))
        kw["initial_accumulator_value"] = float(_pick(rng, [0.0, 0.1]))
        kw["weight_decay"] = wd
    elif name == "Adadelta":
        kw["lr"] = float(_pick(rng, [1.0, 0.5]))
        kw["rho"] = float(_pick(rng, [0.9, 0.95]))
        kw["weight_decay"] = wd
    elif name == "RMSprop":
        kw["lr"] = _lr(rng, 1e-3, 2e-2)
        kw["alpha"] = float(_pick(rng, [0.99, 0.9]))
        kw["momentum"] = float(_pick(rng, [0.0, 0.9]))
        kw["centered"] = _coin(rng, 0.4)
        kw["weight_decay"] = wd
    elif name == "Rprop":
        kw["lr"] = _lr(rng, 1e-3, 2e-2)
        if _coin(rng, 0.4):
            kw["etas"] = (0.4, 1.3)
        if _coin(rng, 0.4):
            kw["step_sizes"] = (1e-4, 0.1)
    elif name == "ASGD":
        kw["lr"] = _lr(rng, 0.01, 0.1)
        kw["lambd"] = float(_pick(rng, [1e-4, 1e-2]))
        kw["t0"] = float(_pick(rng, [1e6, 2.0]))
        kw["weight_decay"] = wd
    elif name == "Adafactor":
        kw["lr"] = _lr(rng, 1e-3, 2e-2)
        kw["beta2_decay"] = float(_pick(rng, [-0.8, -0.5]))
        kw["weight_decay"] = wd
    else:  # LBFGS
        kw["lr"] = float(_pick(rng, [1.0, 0.5, 0.1]))
        kw["max_iter"] = int(_pick(rng, [2, 4]))
        kw["history_size"] = int(_pick(rng, [3, 10]))
        kw["line_search_fn"] = _pick(rng, [None, "strong_wolfe"])
    return {"name": name, "kw": kw}


def warmup(epoch):
    return min(1.0, (epoch + 1) / 3)


def shrink(epoch):
    return 0.9


def _one_sched(rng, steps):
    name = _pick(rng, ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                       "CosineAnnealingWarmRestarts", "LinearLR", "ConstantLR", "PolynomialLR",
                       "LambdaLR", "MultiplicativeLR", "OneCycleLR", "CyclicLR",
                       "ReduceLROnPlateau"])
    kw = {}
    if name == "StepLR":
        kw = {"step_size": int(rng.integers(1, 3)), "gamma": float(_pick(rng, [0.5, 0.9]))}
    elif name == "MultiStepLR":
        kw = {"milestones": sorted({int(rng.integers(1, steps + 1)) for _ in range(2)}),
              "gamma": 0.3}
    elif name == "ExponentialLR":
        kw = {"gamma": float(_pick(rng, [0.8, 0.95]))}
    elif name == "CosineAnnealingLR":
        kw = {"T_max": int(rng.integers(2, steps + 2)), "eta_min": float(_pick(rng, [0.0, 1e-3]))}
    elif name == "CosineAnnealingWarmRestarts":
        kw = {"T_0": int(rng.integers(1, 4)), "T_mult": int(_pick(rng, [1, 2])),
              "eta_min": float(_pick(rng, [0.0, 1e-4]))}
    elif name == "LinearLR":
        kw = {"start_factor": float(_pick(rng, [0.1, 0.5])),
              "end_factor": float(_pick(rng, [1.0, 0.8])), "total_iters": int(rng.integers(1, 5))}
    elif name == "ConstantLR":
        kw = {"factor": float(_pick(rng, [0.5, 0.25])), "total_iters": int(rng.integers(1, 4))}
    elif name == "PolynomialLR":
        kw = {"total_iters": int(rng.integers(2, steps + 2)),
              "power": float(_pick(rng, [1.0, 2.0, 0.5]))}
    elif name == "LambdaLR":
        kw = {"lr_lambda": "warmup"}
    elif name == "MultiplicativeLR":
        kw = {"lr_lambda": "shrink"}
    elif name == "OneCycleLR":
        kw = {"max_lr": 0.05, "total_steps": steps + int(rng.integers(1, 4)),
              "pct_start": float(_pick(rng, [0.3, 0.5])),
              "anneal_strategy": _pick(rng, ["cos", "linear"]),
              "cycle_momentum": _coin(rng, 0.6), "three_phase": _coin(rng, 0.3)}
    elif name == "CyclicLR":
        kw = {"base_lr": 1e-3, "max_lr": 0.05, "step_size_up": int(rng.integers(1, 4)),
              "mode": _pick(rng, ["triangular", "triangular2", "exp_range"]),
              "cycle_momentum": _coin(rng, 0.5)}
        if kw["mode"] == "exp_range":
            kw["gamma"] = 0.9
    else:
        kw = {"mode": _pick(rng, ["min", "max"]), "factor": float(_pick(rng, [0.5, 0.1])),
              "patience": int(rng.integers(0, 2)), "cooldown": int(rng.integers(0, 2)),
              "threshold": float(_pick(rng, [1e-4, 0.1])),
              "threshold_mode": _pick(rng, ["rel", "abs"]), "min_lr": float(_pick(rng, [0, 1e-3]))}
    return {"name": name, "kw": kw}


def draw_sched(rng, steps):
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.8:
        return _one_sched(rng, steps)
    if r < 0.9:
        w = int(rng.integers(1, 3))
        first = {"name": "LinearLR", "kw": {"start_factor": 0.2, "total_iters": w}}
        second = _pick(rng, [{"name": "ExponentialLR", "kw": {"gamma": 0.9}},
                             {"name": "CosineAnnealingLR", "kw": {"T_max": steps}},
                             {"name": "StepLR", "kw": {"step_size": 2, "gamma": 0.5}}])
        return {"name": "SequentialLR", "parts": [first, second], "milestones": [w]}
    parts = [{"name": "ExponentialLR", "kw": {"gamma": 0.9}},
             _pick(rng, [{"name": "StepLR", "kw": {"step_size": 2, "gamma": 0.5}},
                         {"name": "ConstantLR", "kw": {"factor": 0.5, "total_iters": 2}}])]
    return {"name": "ChainedScheduler", "parts": parts}


def draw(seed):
    rng = np.random.default_rng([26, 13, seed])
    model = M.draw_model(rng)
    task = M.draw_task(rng, model)
    steps = int(rng.integers(3, 7))
    opt = draw_opt(rng)
    lbfgs = opt["name"] == "LBFGS"
    if opt["name"] == "Rprop" and "body" in model:
        # (BatchNorm makes gradients that are zero in exact arithmetic -- a batch-constant
        # input's weights -- whose rounding-noise signs Rprop follows at full step size)
        model["body"] = [layer for layer in model["body"] if layer[0] not in ("bn1d", "bn")]
    if opt["name"] not in ("SGD", "ASGD") and task["loss"] in ("l1", "smooth_l1", "huber"):
        # (a loss linear along the search line makes LBFGS's cubic discriminant rounding
        # noise, and an l1 bias gradient, a sum of +-1/N, is often zero up to the summation
        # order, whose sign steps normalised per element (Adam, Rprop, Adafactor) follow:
        # the libraries part at the last bit. Plain gradient steps keep these losses.)
        task["loss"] = "mse"
    loop = {
        "seed": int(seed),
        "steps": steps,
        "batch": int(_pick(rng, [4, 6])),
        "accum": 1 if lbfgs else int(_pick(rng, [1, 1, 2, 3])),
        # (LBFGS in float64: its curvature pairs amplify float32 rounding past any useful
        # tolerance within a few steps)
        "dtype": "float64" if lbfgs or _coin(rng, 0.15) else "float32",
        "set_to_none": _coin(rng, 0.7),
        "module_zero_grad": _coin(rng, 0.2),
        "groups": _coin(rng, 0.35),
        "group_lr": float(_pick(rng, [0.5, 2.0, 0.1])),
        "pass_frozen": _coin(rng, 0.5),
        "clip": None,
        "ckpt": int(rng.integers(1, steps)) if _coin(rng, 0.35) else None,
        "ckpt_order": _pick(rng, ["opt-first", "sched-first"]),
        "eval_at": sorted({int(rng.integers(0, steps)) for _ in range(int(rng.integers(0, 3)))}),
        "eval_mode": _pick(rng, ["no_grad", "inference_mode"]),
        "autocast": False,
    }
    if lbfgs:
        # (a scheduler built after the optimizer's state is loaded resets lr to its initial
        # value: LBFGS's line search then starts from a step so small that its cubic's
        # discriminant is rounding noise, as for the linear losses above)
        loop["ckpt_order"] = "sched-first"
    if _coin(rng, 0.35):
        if _coin(rng, 0.7):
            loop["clip"] = ["norm", float(_pick(rng, [0.1, 1.0, 5.0])),
                            _pick(rng, [2.0, 2.0, 1.0, "inf"]), _coin(rng, 0.3),
                            _pick(rng, [None, True, False])]
        else:
            loop["clip"] = ["value", float(_pick(rng, [0.01, 0.1])),
                            _pick(rng, [None, True, False])]
    # (autocast with SGD / ASGD only: steps normalised per element -- Adam's, RMSprop's,
    # Rprop's signs -- turn bfloat16's ulp-level differences into +-lr)
    if loop["dtype"] == "float32" and opt["name"] in ("SGD", "ASGD") and _coin(rng, 0.3):
        loop["autocast"] = True
        # (two steps: bfloat16's ulp-level differences inside fused kernels grow with each)
        loop["steps"] = min(steps, 2)
        loop["ckpt"] = 1 if loop["ckpt"] is not None else None
        loop["eval_at"] = [e for e in loop["eval_at"] if e < 2]
    sched = None if lbfgs and _coin(rng, 0.5) else draw_sched(rng, steps)
    return {"model": model, "task": task, "opt": opt, "sched": sched, "loop": loop}


# ---------------------------------------------------------------------------------------------
# Running a loop
# ---------------------------------------------------------------------------------------------

def _builtin_base(exc_type):
    for klass in exc_type.__mro__:
        if getattr(builtins, klass.__name__, None) is klass:
            return klass
    return Exception


def plain(x):
    """Plain data: tensors to ("T", dtype, shape, array), containers walked, callables named."""
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if hasattr(x, "detach") and hasattr(x, "dtype"):
        t = x.detach()
        name = str(t.dtype).split(".")[-1]
        t = t.float() if name == "bfloat16" else t.clone()
        return ("T", name, tuple(t.shape), np.array(t.numpy()))
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return ("obj", type(x).__name__)


def _make_opt(L, cfg, model):
    o, loop = cfg["opt"], cfg["loop"]
    named = [(n, p) for n, p in model.named_parameters()
             if loop["pass_frozen"] or p.requires_grad]
    kw = dict(o["kw"])
    if loop["groups"] and o["name"] != "LBFGS":
        decay = [p for n, p in named if p.ndim > 1]
        rest = [p for n, p in named if p.ndim <= 1]
        groups = [{"params": decay}]
        if rest:
            g = {"params": rest, "lr": kw["lr"] * loop["group_lr"]}
            if "weight_decay" in kw:
                g["weight_decay"] = 0.0
            groups.append(g)
        return getattr(L.optim, o["name"])(groups, **kw)
    return getattr(L.optim, o["name"])([p for _, p in named], **kw)


def _make_sched(L, spec, opt):
    if spec is None:
        return None
    S = L.optim.lr_scheduler
    if spec["name"] == "SequentialLR":
        parts = [_make_sched(L, p, opt) for p in spec["parts"]]
        return S.SequentialLR(opt, parts, milestones=spec["milestones"])
    if spec["name"] == "ChainedScheduler":
        return S.ChainedScheduler([_make_sched(L, p, opt) for p in spec["parts"]])
    kw = dict(spec["kw"])
    if "lr_lambda" in kw:
        kw["lr_lambda"] = {"warmup": warmup, "shrink": shrink}[kw["lr_lambda"]]
    return getattr(S, spec["name"])(opt, **kw)


def _freeze(model, spec):
    if spec["freeze_first"]:
        first = next(iter(model.parameters()), None)
        if first is not None:
            first.requires_grad_(False)


def _mask_key_bias(L, model):
    """Zero the key third of attention's packed bias gradient (a hook): it is zero in exact
    arithmetic (a constant added to every score of a row), so its rounding noise would decide
    the signs that Adam / Rprop / RMSprop steps amplify to +-lr."""
    for name, p in model.named_parameters():
        if name.endswith("in_proj_bias"):
            e = p.shape[0] // 3
            keep = L.ones(p.shape[0], dtype=p.dtype)
            keep[e:2 * e] = 0
            p.register_hook(lambda g, keep=keep: g * keep)


def _forward(model, spec, b):
    if spec["kind"] == "seq":
        return model(b["x"], b["pad"])
    return model(b["x"])


def _sched_state(sched):
    sd = sched.state_dict()
    out = {}
    for k, v in sd.items():
        if k in ("_schedulers",):
            v = [{kk: vv for kk, vv in s.items() if not callable(vv)} for s in v]
        if callable(v):
            continue
        out[k] = v
    return plain(out)


def run(L, cfg, init=None):
    """Train under ``L``; a list of per-step records (an exception ends it as {"error": ...})."""
    records = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _train(L, cfg, init, records)
        except Exception as exc:  # noqa: BLE001 - the class is what is compared
            records.append({"error": _builtin_base(type(exc)).__name__, "msg": str(exc)[:300]})
    return records


def _train(L, cfg, init, records):
    spec, task, loop = cfg["model"], cfg["task"], cfg["loop"]
    dtype = getattr(L, loop["dtype"])
    seed = loop["seed"]
    L.manual_seed(seed)
    model = M.build(L, spec, task).to(dtype)
    if init is not None:
        model.load_state_dict({k: L.from_numpy(v.copy()) for k, v in init.items()})
    _freeze(model, spec)
    _mask_key_bias(L, model)
    records.append({"init": {k: plain(v) for k, v in model.state_dict().items()}})
    opt = _make_opt(L, cfg, model)
    sched = _make_sched(L, cfg["sched"], opt)
    plateau = cfg["sched"] is not None and cfg["sched"]["name"] == "ReduceLROnPlateau"
    rng = np.random.default_rng([seed, 7])
    L.manual_seed(seed + 1000)
    for step in range(loop["steps"]):
        rec = {"step": step}
        if loop["ckpt"] == step:
            model, opt, sched = _checkpoint(L, cfg, model, opt, sched, dtype)
        if step in loop["eval_at"]:
            model.eval()
            ctx = L.no_grad() if loop["eval_mode"] == "no_grad" else L.inference_mode()
            eb = M.tensors(L, M.data(spec, task, np.random.default_rng([seed, 99, step]), 4), dtype)
            with ctx:
                out = _forward(model, spec, eb)
                rec["eval_out"] = plain(out)
                rec["eval_loss"] = plain(_scalar(M.loss(L, task, out, eb)))
            model.train()
        micro = [M.tensors(L, M.data(spec, task, rng, loop["batch"]), dtype)
                 for _ in range(loop["accum"])]
        if loop["module_zero_grad"]:
            model.zero_grad(set_to_none=loop["set_to_none"])
        else:
            opt.zero_grad(set_to_none=loop["set_to_none"])
        total = []

        def closure(b=micro[0], opt=opt, model=model, total=total):
            opt.zero_grad(set_to_none=loop["set_to_none"])
            value = _scalar(M.loss(L, task, _forward(model, spec, b), b))
            value.backward()
            total.append(value.detach())
            return value

        if cfg["opt"]["name"] == "LBFGS":
            value = opt.step(closure)
            rec["loss"] = plain(value)
            rec["evals"] = len(total)
        else:
            for b in micro:
                if loop["autocast"]:
                    with L.autocast("cpu", dtype=L.bfloat16):
                        out = _forward(model, spec, b)
                        value = _scalar(M.loss(L, task, out, b))
                    rec["ac_dtypes"] = [str(out.dtype).split(".")[-1],
                                        str(value.dtype).split(".")[-1]]
                else:
                    value = _scalar(M.loss(L, task, _forward(model, spec, b), b))
                (value / loop["accum"]).backward()
                total.append(value.detach())
            rec["loss"] = plain(sum(total) / len(total))
            if loop["clip"] is not None:
                params = [p for p in model.parameters() if p.requires_grad]
                clip = loop["clip"]
                if clip[0] == "norm":
                    norm_type = float("inf") if clip[2] == "inf" else clip[2]
                    rec["norm"] = plain(L.nn.utils.clip_grad_norm_(
                        params, clip[1], norm_type=norm_type, error_if_nonfinite=clip[3],
                        foreach=clip[4]))
                else:
                    L.nn.utils.clip_grad_value_(params, clip[1], foreach=clip[2])
            opt.step()
        if sched is not None:
            if plateau:
                sched.step(float(total[-1]))
            else:
                sched.step()
            rec["last_lr"] = [float(x) for x in sched.get_last_lr()] if not plateau else None
            rec["sched"] = _sched_state(sched)
        for name, p in model.named_parameters():
            rec["p." + name] = plain(p)
            rec["g." + name] = plain(p.grad)
        for name, b in model.named_buffers():
            rec["b." + name] = plain(b)
        rec["opt"] = plain(opt.state_dict())
        records.append(rec)


def _scalar(value):
    return value.sum() if value.ndim else value


def _checkpoint(L, cfg, model, opt, sched, dtype):
    buf = io.BytesIO()
    L.save({"model": model.state_dict(), "opt": opt.state_dict(),
            "sched": sched.state_dict() if sched is not None else None}, buf)
    buf.seek(0)
    ck = L.load(buf)
    L.manual_seed(cfg["loop"]["seed"] + 5)
    fresh = M.build(L, cfg["model"], cfg["task"]).to(dtype)
    fresh.load_state_dict(ck["model"])
    _freeze(fresh, cfg["model"])
    _mask_key_bias(L, fresh)
    opt2 = _make_opt(L, cfg, fresh)
    if cfg["loop"]["ckpt_order"] == "opt-first":
        opt2.load_state_dict(ck["opt"])
        sched2 = _make_sched(L, cfg["sched"], opt2)
    else:
        sched2 = _make_sched(L, cfg["sched"], opt2)
        opt2.load_state_dict(ck["opt"])
    if sched2 is not None:
        sched2.load_state_dict(ck["sched"])
    return fresh, opt2, sched2


def init_of(cfg):
    """PyTorch's initial state_dict for ``cfg`` as NumPy arrays."""
    torch.manual_seed(cfg["loop"]["seed"])
    model = M.build(torch, cfg["model"], cfg["task"])
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------------

TOL = {"float64": 1e-9, "float32": 3e-3, "bfloat16": 3e-2, "float16": 3e-3}


def _tol(cfg, dtype_name):
    t = TOL.get(dtype_name, 0.0)
    if cfg["loop"]["autocast"] and t:
        # (bfloat16 rounding inside PyTorch's fused kernels -- the RNN cells, attention's
        # backward -- differs from a plain rounding of each op's result by an ulp or two of
        # bfloat16: 0.4-3% after one step)
        t = max(t, 0.5)  # (a bias gradient summed from bfloat16 terms: 25% at 2 steps)
    if cfg["opt"]["name"] == "LBFGS":
        t = max(t, 1e-3)  # (float64 only: curvature pairs and a line search amplify rounding)
    return t


def diff(a, b, cfg, where=""):
    """The first difference between PyTorch's ``a`` and deltagrad's ``b`` (a string) or None."""
    if isinstance(a, tuple) and a and a[0] == "T":
        if not (isinstance(b, tuple) and b and b[0] == "T"):
            return f"{where}: tensor vs {str(b)[:80]}"
        if a[1] != b[1] or a[2] != b[2]:
            return f"{where}: {a[1]}{list(a[2])} vs {b[1]}{list(b[2])}"
        x, y = a[3], b[3]
        tol = _tol(cfg, a[1])
        if tol == 0.0 or x.size == 0:
            if np.array_equal(x, y):
                return None
            return f"{where}: values {x.ravel()[:4]} vs {y.ravel()[:4]}"
        x = x.astype(np.float64)
        y = y.astype(np.float64)
        fin = np.isfinite(x)
        if not np.array_equal(fin, np.isfinite(y)) or not np.array_equal(x[~fin], y[~fin]) and not (
                np.isnan(x[~fin]).all() and np.isnan(y[~fin]).all()):
            return f"{where}: non-finite {x.ravel()[:4]} vs {y.ravel()[:4]}"
        if not fin.any():
            return None
        scale = max(np.abs(x[fin]).max(), 1e-3)
        err = np.abs(x[fin] - y[fin]).max()
        if err > tol * scale:
            return (f"{where}: max err {err:.3g} (scale {scale:.3g}) {x.ravel()[:3]} vs "
                    f"{y.ravel()[:3]}")
        return None
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if math.isnan(a) and math.isnan(b):
            return None
        loose = "loss" in where or "best" in where  # (read from the loss)
        loose = loose or (cfg["opt"]["name"] == "LBFGS" and ".state." in where)  # (t: a step)
        rel = 1e-9 if not loose else max(_tol(cfg, cfg["loop"]["dtype"]), 1e-6)
        if a == b or abs(a - b) <= rel * max(abs(a), 1e-12):
            return None
        return f"{where}: {a!r} vs {b!r}"
    if type(a) is not type(b):
        return f"{where}: {str(a)[:80]} vs {str(b)[:80]}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            found = diff(a[k], b[k], cfg, f"{where}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where}: length {len(a)} vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = diff(x, y, cfg, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{where}: {a!r} vs {b!r}"


def compare(cfg):
    """Run ``cfg`` on both libraries: None, or the first difference."""
    want = run(torch, cfg)
    init = init_of(cfg) if not (want and "error" in want[0]) else None
    got = run(dg, cfg, init)
    for i in range(max(len(want), len(got))):
        if i >= len(want) or i >= len(got):
            return f"record {i}: one side ran longer ({len(want)} vs {len(got)} records)"
        a, b = want[i], got[i]
        if "error" in a or "error" in b:
            if "error" in a and "error" in b and a["error"] == b["error"]:
                return None
            return (f"step record {i}: torch {a.get('error', 'ok')} ({a.get('msg', '')[:120]}) vs "
                    f"deltagrad {b.get('error', 'ok')} ({b.get('msg', '')[:160]})")
        found = diff(a, b, cfg, f"record {i}")
        if found:
            return found
        if _diverged(a):
            return None  # (a training run that blew up amplifies rounding without bound)
    return None


def _diverged(record):
    loss = record.get("loss")
    if not (isinstance(loss, tuple) and loss[0] == "T"):
        return False
    value = np.abs(loss[3].astype(np.float64))
    return bool(not np.isfinite(value).all() or value.max() > 1e4)


def known(cfg):
    """The KNOWN entry that covers ``cfg`` (a reason string), or None."""
    for reason, match in KNOWN:
        if match(cfg):
            return reason
    return None


# (reason, predicate over the drawn loop) -- differences left on purpose, each with its reason.
# None is needed today: what the family steers around instead is listed in LEFT.
KNOWN: list = []

# Differences the family steers around (its draws avoid them), each pinned by a test in
# test_s26_SL13_training.py that fails once it is fixed (then delete the entry and the detour).
LEFT = {
    "conv_nan_weight_grad": (
        "After an infinite CTC loss (zero_infinity=False) the nan gradient reaching a padded "
        "Conv1d gives nan in more weight-gradient taps here than PyTorch's kernel does "
        "(seed 1252 of the family before the detour; not reduced further). Detour: CTC "
        "targets that can be aligned unless zero_infinity=True."),
    "autocast_fused_rounding": (
        "Under autocast(cpu, bfloat16) PyTorch's fused kernels (LSTM / GRU / RNN cells, "
        "attention's backward) round inside differently from one rounding per op: 0.4-3% "
        "apart after one step. Detour: autocast loops run two steps, SGD / ASGD only, "
        "tolerance 0.5 of each tensor's scale."),
}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--loops", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args(argv)
    bad = 0
    t0 = time.time()
    for s in range(args.seed, args.seed + args.loops):
        cfg = draw(s)
        if args.show:
            print(s, cfg)
        found = compare(cfg)
        if found:
            why = known(cfg)
            tag = f"KNOWN ({why})" if why else "DIFF"
            bad += why is None
            print(f"seed {s} {tag}: {found}\n   {cfg}", flush=True)
    print(f"{args.loops} loops, {bad} unexplained differences, {time.time() - t0:.1f} s")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
