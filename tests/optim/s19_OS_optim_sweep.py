"""Helper of test_s19_OS_optim_sweep.py: one optimizer configuration run under a library.

``run(lib, name, kwargs, dtype, complex_, groups)`` steps seeded parameters (shapes (4, 3),
(5,), () -- 2-d ones for Muon) with seeded gradients for five steps (the second parameter
without a gradient at the third step; LBFGS on a quadratic closure) and returns the parameters
after every step and the final state_dict() reduced to plain data. ``configs(name)`` is the
grid of options swept per optimizer (OPTS); a string "T0.9" in a config is a 0-d Tensor.
"""

from __future__ import annotations

import itertools

import numpy as np


def np_of(t):
    t = t.detach()
    if "bfloat16" in str(t.dtype):
        t = t.float()
    return t.numpy().copy()


def snap(lib, sd):
    out = {}
    for k, st in sd["state"].items():
        for n, v in st.items():
            if hasattr(v, "dtype"):
                out[(k, n)] = (str(v.dtype).split(".")[-1], tuple(v.shape), np_of(v))
            else:
                out[(k, n)] = (type(v).__name__, v)
    groups = []
    for g in sd["param_groups"]:
        gg = {}
        for n, v in g.items():
            if hasattr(v, "dtype"):
                gg[n] = ("T", str(v.dtype).split(".")[-1], np_of(v).tolist())
            elif isinstance(v, tuple):
                gg[n] = tuple(
                    ("T", str(x.dtype).split(".")[-1], np_of(x).tolist())
                    if hasattr(x, "dtype")
                    else x
                    for x in v
                )
            else:
                gg[n] = v
        groups.append(gg)
    return out, groups


def tol(dt):
    return {"float16": 2e-3, "bfloat16": 1.6e-2, "float64": 1e-12}.get(dt, 2e-5)


def close(a, b, dt, slack=1.0):
    r = tol(dt) * slack
    with np.errstate(all="ignore"):
        return a.shape == b.shape and np.allclose(a, b, rtol=r, atol=r * 0.1, equal_nan=True)


def run(L, cls, kw, dtype, cplx, steps=5, groups=False, none_grad=True, lr_tensor=False):
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (5,), ()] if cls not in ("Muon",) else [(4, 3), (3, 5)]
    if cls == "Adafactor":
        shapes = [(4, 3), (5,), (3, 2, 2)]
    init = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]

    def mk(a):
        if cplx:
            a = a + 0.5j * a[..., ::-1] if a.ndim else a + 0.5j
        t = L.tensor(a)
        t = t.to(
            getattr(L, dtype) if not cplx else (L.complex64 if dtype == "float32" else L.complex128)
        )
        return L.nn.Parameter(t)

    ps = [mk(a) for a in init]
    kw2 = {}
    for k, v in kw.items():
        if isinstance(v, tuple) and any(isinstance(x, str) for x in v):
            v = tuple(L.tensor(float(x[1:])) if isinstance(x, str) else x for x in v)
        elif isinstance(v, str) and v.startswith("T"):
            v = L.tensor(float(v[1:]))
        kw2[k] = v
    if groups:
        params = [{"params": ps[:-1]}, {"params": ps[-1:], "lr": 0.003}]
    else:
        params = ps
    C = getattr(L.optim, cls)
    opt = C(params, **kw2)
    traj = []
    for s in range(steps):
        for i, (p, g) in enumerate(zip(ps, grads[s])):
            if none_grad and s == 2 and i == 1:
                p.grad = None
            else:
                gg = g + 0.3j * g if cplx else g
                p.grad = L.tensor(np.asarray(gg)).to(p.dtype)
        if cls == "LBFGS":

            def closure():
                loss = 0.0
                for p in ps:
                    x = p.detach().double()
                    p.grad = (x * 0.5 + 0.1).to(p.dtype)
                    loss += float((x * x * 0.25 + 0.1 * x).sum())
                return L.tensor(loss)

            opt.step(closure)
        else:
            opt.step()
        traj.append([np_of(p) for p in ps])
    return traj, snap(L, opt.state_dict())


OPTS = {
    "SGD": dict(
        lr=0.1,
        momentum=[0, 0.9],
        dampening=[0, 0.2],
        nesterov=[False, True],
        weight_decay=[0, 0.1],
        maximize=[False, True],
    ),
    "Adam": dict(
        lr=0.01,
        amsgrad=[False, True],
        weight_decay=[0, 0.1],
        maximize=[False, True],
        decoupled_weight_decay=[False, True],
    ),
    "AdamW": dict(lr=0.01, amsgrad=[False, True], weight_decay=[0, 0.1], maximize=[False, True]),
    "Adamax": dict(lr=0.01, weight_decay=[0, 0.1], maximize=[False, True]),
    "NAdam": dict(
        lr=0.01,
        weight_decay=[0, 0.1],
        momentum_decay=[0.004, 0.01],
        decoupled_weight_decay=[False, True],
        maximize=[False, True],
    ),
    "RAdam": dict(
        lr=0.01, weight_decay=[0, 0.1], decoupled_weight_decay=[False, True], maximize=[False, True]
    ),
    "Adagrad": dict(
        lr=0.1,
        lr_decay=[0, 0.01],
        weight_decay=[0, 0.1],
        initial_accumulator_value=[0, 0.1],
        maximize=[False, True],
    ),
    "Adadelta": dict(lr=1.0, rho=[0.9], weight_decay=[0, 0.1], maximize=[False, True]),
    "RMSprop": dict(
        lr=0.01,
        momentum=[0, 0.9],
        centered=[False, True],
        weight_decay=[0, 0.1],
        maximize=[False, True],
    ),
    "Rprop": dict(
        lr=0.01,
        etas=[(0.5, 1.2), (0.3, 1.5)],
        step_sizes=[(1e-6, 50), (1e-3, 0.05)],
        maximize=[False, True],
    ),
    "ASGD": dict(
        lr=0.01, lambd=[1e-4, 1e-2], t0=[1e6, 2], weight_decay=[0, 0.1], maximize=[False, True]
    ),
    "Adafactor": dict(
        lr=0.01, beta2_decay=[-0.8, -0.5], weight_decay=[0, 0.1], maximize=[False, True]
    ),
    "LBFGS": dict(lr=1, history_size=[3, 10], line_search_fn=[None, "strong_wolfe"], max_iter=[4]),
    "Muon": dict(
        lr=0.01,
        weight_decay=[0, 0.1],
        nesterov=[True, False],
        momentum=[0.95, 0.5],
        adjust_lr_fn=[None, "match_rms_adamw"],
    ),
}
FOREACH = {
    "SGD",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Rprop",
    "ASGD",
    "Adafactor",
}
CPLX = {
    "SGD",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "Adagrad",
    "Adadelta",
    "RMSprop",
    "Rprop",
    "ASGD",
}


def configs(name):
    spec = OPTS[name]
    keys = [k for k, v in spec.items() if isinstance(v, list)]
    base = {k: v for k, v in spec.items() if not isinstance(v, list)}
    combos = list(itertools.product(*[spec[k] for k in keys]))
    out = []
    for c in combos:
        kw = dict(base, **dict(zip(keys, c)))
        if name == "SGD" and kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0):
            continue
        out.append(kw)
    return out


def cases(dtypes=("float32", "float64")):
    """Every (name, kwargs, dtype, complex_) of the sweep: each config, with foreach=True too
    where the optimizer has it, complex parameters where it takes them."""
    out = []
    for name in OPTS:
        for kwargs in configs(name):
            for dtype in dtypes:
                complexes = (
                    [False, True] if name in CPLX and dtype in ("float32", "float64") else [False]
                )
                for complex_ in complexes:
                    extras = [{}, {"foreach": True}] if name in FOREACH else [{}]
                    for extra in extras:
                        out.append((name, dict(kwargs, **extra), dtype, complex_))
    return out


def first_difference(expected, actual, dtype, slack=1.0):
    """Where two ``run`` results differ beyond ``dtype``'s tolerance (times ``slack``), or
    None."""
    for step, (row_e, row_a) in enumerate(zip(expected[0], actual[0])):
        for i, (x, y) in enumerate(zip(row_e, row_a)):
            if not close(x, y, dtype, slack):
                return f"parameter {i} after step {step}: max |diff| {np.max(np.abs(x - y))}"
    state_e, groups_e = expected[1]
    state_a, groups_a = actual[1]
    if set(state_e) != set(state_a):
        return f"state keys {sorted(map(str, set(state_e) ^ set(state_a)))}"
    for key in state_e:
        x, y = state_e[key], state_a[key]
        if x[0] != y[0] or (len(x) == 3 and x[1] != y[1]):
            return f"state {key}: {x[:2]} vs {y[:2]}"
        if len(x) == 3:
            kind = dtype if ("float" in x[0] or "complex" in x[0]) else "float64"
            if not close(x[2], y[2], kind, slack):
                return f"state {key} values"
        elif isinstance(x[1], list):  # LBFGS' lists of tensors
            values = [[np_of(t) if t is not None else None for t in v[1]] for v in (x, y)]
            for a, b in zip(*values):
                if (a is None) != (b is None) or (a is not None and not close(a, b, dtype, slack)):
                    return f"state {key} list entries"
        elif isinstance(x[1], float) and isinstance(y[1], float):  # LBFGS' prev_loss, t
            if not close(np.array(x[1]), np.array(y[1]), dtype, slack):
                return f"state {key}: {x} vs {y}"
        elif x != y:
            return f"state {key}: {x} vs {y}"
    for g_e, g_a in zip(groups_e, groups_a):
        for key in set(g_e) | set(g_a):
            if str(g_e.get(key, "missing")) != str(g_a.get(key, "missing")):
                return f"group {key}: {g_e.get(key, 'missing')} vs {g_a.get(key, 'missing')}"
    return None


# Options outside the grid: a 0-d Tensor lr (and betas), fused (PyTorch has CPU kernels for
# Adam, AdamW, SGD and Adagrad), differentiable, capturable=False.
EXTRA = [
    ("Adam", {"lr": "T0.01", "betas": ("T0.8", "T0.95")}),
    ("AdamW", {"lr": "T0.01", "foreach": True, "amsgrad": True}),
    ("SGD", {"lr": "T0.1", "momentum": 0.9, "nesterov": True}),
    ("RMSprop", {"lr": "T0.01", "centered": True, "momentum": 0.5}),
    ("Adagrad", {"lr": "T0.1", "lr_decay": 0.01}),
    ("NAdam", {"lr": "T0.01", "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"lr": "T0.01", "weight_decay": 0.1}),
    ("Adamax", {"lr": "T0.01", "foreach": True}),
    ("ASGD", {"lr": "T0.01", "t0": 2}),
    ("Rprop", {"lr": "T0.01"}),
    ("Adadelta", {"lr": "T1.0", "weight_decay": 0.1}),
    ("Adafactor", {"lr": "T0.01"}),
    ("Adam", {"lr": 0.01, "fused": True, "amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.01, "fused": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": "T0.01", "fused": True}),
    ("SGD", {"lr": 0.1, "fused": True, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.1, "fused": True}),
    ("Adagrad", {"lr": 0.1, "fused": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "differentiable": True, "amsgrad": True}),
    ("SGD", {"lr": 0.1, "differentiable": True, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "differentiable": True, "centered": True}),
    ("Adam", {"lr": 0.01, "capturable": False, "foreach": True}),
]


def extra_cases(dtypes=("float32", "float64")):
    return [(name, kwargs, dtype, False) for name, kwargs in EXTRA for dtype in dtypes]
