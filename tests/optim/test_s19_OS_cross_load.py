"""Every optimizer's state saved by PyTorch (torch.save of optimizer.state_dict() after two
steps) loaded by deltagrad (deltagrad.load + load_state_dict) and stepped on: parameters after
two more steps and the state's entries (dtypes, shapes) must match PyTorch's own continuation.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

CONFIGS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}), ("SGD", {"lr": 0.1, "momentum": 0.9, "foreach": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True}), ("Adam", {"lr": "T0.01"}),
    ("Adam", {"lr": 0.01, "fused": True}), ("AdamW", {"lr": 0.01}), ("Adamax", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01}), ("RAdam", {"lr": 0.01}), ("Adagrad", {"lr": 0.1}),
    ("Adadelta", {"lr": 1.0}), ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
    ("Rprop", {"lr": 0.01}), ("ASGD", {"lr": 0.01, "t0": 1}), ("Adafactor", {"lr": 0.01}),
    ("Muon", {"lr": 0.01}), ("LBFGS", {"lr": 1, "max_iter": 3}),
]


def _params(L, name):
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (3, 5)] if name == "Muon" else [(4, 3), (5,)]
    return [L.nn.Parameter(L.tensor(rng.standard_normal(s).astype(np.float32))) for s in shapes]


def _steps(L, opt, params, count, seed):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        if isinstance(opt, L.optim.LBFGS):
            def closure(grads=grads):
                for p, g in zip(params, grads):
                    p.grad = p.detach() * 0.5 + L.tensor(g)
                return sum(float((p.detach() ** 2).sum()) for p in params)
            opt.step(closure)
        else:
            for p, g in zip(params, grads):
                p.grad = L.tensor(g)
            opt.step()


def _meta(state):
    return {i: {k: (str(getattr(v, "dtype", type(v).__name__)).split(".")[-1],
                    tuple(getattr(v, "shape", ()))) for k, v in entry.items()}
            for i, entry in state.items()}


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
def test_pytorch_saved_state_resumes_in_deltagrad(name, kwargs):
    def options(L):
        return {k: (L.tensor(float(v[1:])) if isinstance(v, str) else v)
                for k, v in kwargs.items()}
    t_params = _params(torch, name)
    t_opt = getattr(torch.optim, name)(t_params, **options(torch))
    _steps(torch, t_opt, t_params, 2, 1)
    buf = io.BytesIO()
    torch.save({"state": t_opt.state_dict(), "params": [p.detach() for p in t_params]}, buf)
    buf.seek(0)
    saved = dg.load(buf, weights_only=True)
    d_params = [dg.nn.Parameter(x.clone()) for x in saved["params"]]
    d_opt = getattr(dg.optim, name)(d_params, **options(dg))
    d_opt.load_state_dict(saved["state"])
    _steps(dg, d_opt, d_params, 2, 2)
    _steps(torch, t_opt, t_params, 2, 2)
    for t, d in zip(t_params, d_params):
        np.testing.assert_allclose(d.detach().numpy(), t.detach().numpy(), rtol=2e-5, atol=1e-6)
    assert _meta(d_opt.state_dict()["state"]) == _meta(t_opt.state_dict()["state"])
