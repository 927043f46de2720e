"""torchdyn programs (T16), run unchanged on PyTorch and under ``python -m deltagrad run``:
NeuralODE with torchdyn's fixed-step and adaptive solvers, the autograd / adjoint /
interpolated-adjoint sensitivities, torchdyn's functional odeint, a few training steps with
Adam, an augmented NeuralODE classifier, multiple shooting, and torchdyn's own dataset.

Usage: ``prog_s9_T16_torchdyn.py OUT.npz SECTIONS`` (comma-separated of solvers, sensitivity,
train, functional, shooting). Every number goes to OUT.npz; a section that raises records its
traceback as ``ERR.<section>``.
"""

import sys
import traceback
import warnings

import numpy as np
import torch
from torch import nn

OUT: dict = {}


def put(prefix: str, value) -> None:
    """Records tensors, numbers and (nested) lists / tuples of them."""
    if isinstance(value, torch.Tensor):
        OUT[prefix] = value.detach().numpy()
        OUT[prefix + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            put(f"{prefix}.{index}", item)
    elif value is None:
        OUT[prefix] = np.asarray("None")
    else:
        OUT[prefix] = np.asarray(value)


def field(width: int = 16, dim: int = 2, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(dim, width), nn.Tanh(), nn.Linear(width, dim))


def run_solvers():
    from torchdyn.core import NeuralODE

    x0 = torch.randn(8, 2, generator=torch.Generator().manual_seed(1))
    t_span = torch.linspace(0, 1, 6)
    for solver in ("euler", "midpoint", "rk4", "dopri5", "tsit5", "ieuler"):
        model = NeuralODE(field(), solver=solver, atol=1e-4, rtol=1e-4)
        t_eval, trajectory = model(x0, t_span)
        put(f"solvers.{solver}.t", t_eval)
        put(f"solvers.{solver}.traj", trajectory)
        trajectory[-1].pow(2).sum().backward()
        put(f"solvers.{solver}.grads", [p.grad for p in model.parameters()])
    # A float64 problem, vector field given as a function of (t, x).
    def decay(t, x, args=None):
        return -x * torch.cos(t)

    model = NeuralODE(decay, solver="dopri5", atol=1e-8, rtol=1e-8)
    x64 = torch.linspace(0.5, 1.5, 4, dtype=torch.float64)[:, None]
    t_eval, trajectory = model(x64, torch.linspace(0, 2, 5, dtype=torch.float64))
    put("solvers.f64.traj", trajectory)
    put("solvers.f64.exact", x64 * torch.exp(-torch.sin(t_eval))[:, None, None])


def run_sensitivity():
    from torchdyn.core import NeuralODE

    x0 = torch.randn(6, 2, generator=torch.Generator().manual_seed(2))
    t_span = torch.linspace(0, 1, 4)
    for sensitivity in ("autograd", "adjoint", "interpolated_adjoint"):
        for solver in ("rk4", "dopri5"):
            model = NeuralODE(field(seed=3), solver=solver, sensitivity=sensitivity,
                              atol=1e-5, rtol=1e-5, atol_adjoint=1e-5, rtol_adjoint=1e-5)
            x = x0.clone().requires_grad_(True)
            _, trajectory = model(x, t_span)
            loss = (trajectory[-1] ** 2).sum() + trajectory[1].sum()
            loss.backward()
            key = f"sensitivity.{sensitivity}.{solver}"
            put(key + ".loss", loss)
            put(key + ".x_grad", x.grad)
            put(key + ".grads", [p.grad for p in model.parameters()])


def run_train():
    from torchdyn.core import NeuralODE
    from torchdyn.datasets import ToyDataset

    np.random.seed(0)  # (the moons noise comes from NumPy's global generator)
    X, y = ToyDataset().generate(n_samples=64, noise=0.1, dataset_type="moons")
    put("train.X", X)
    torch.manual_seed(0)
    f = nn.Sequential(nn.Linear(4, 16), nn.Softplus(), nn.Linear(16, 4))
    ode = NeuralODE(f, solver="rk4", sensitivity="adjoint", solver_adjoint="rk4",
                    return_t_eval=False)
    augment = nn.Linear(2, 4)
    head = nn.Linear(4, 2)
    params = [*ode.parameters(), *augment.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=0.01)
    t_span = torch.linspace(0, 1, 5)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        trajectory = ode(augment(X.float()), t_span)
        loss = nn.functional.cross_entropy(head(trajectory[-1]), y.long())
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    put("train.losses", torch.stack(losses))
    put("train.params", params)
    put("train.nfe", ode.vf.nfe)


def run_functional():
    from torchdyn.numerics import odeint

    def f(t, x):
        return torch.stack([x[:, 1], -torch.sin(x[:, 0]) - 0.1 * x[:, 1]], 1)

    x0 = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64)
    t_span = torch.linspace(0, 3, 7, dtype=torch.float64)
    for solver in ("tsit5", "dopri5", "rk4"):
        t_eval, sol = odeint(f, x0, t_span, solver=solver, atol=1e-7, rtol=1e-7)
        put(f"functional.{solver}.t", t_eval)
        put(f"functional.{solver}.sol", sol)


def run_shooting():
    from torchdyn.core import MultipleShootingLayer

    torch.manual_seed(4)
    f = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    x0 = torch.randn(5, 2, generator=torch.Generator().manual_seed(5))
    t_span = torch.linspace(0, 1, 5)
    for solver in ("zero", "backward"):
        layer = MultipleShootingLayer(f, solver=solver, maxiter=1, fine_steps=2)
        _, trajectory = layer(x0, t_span)
        put(f"shooting.{solver}.traj", trajectory)
        trajectory[-1].sum().backward()
        put(f"shooting.{solver}.grads", [p.grad for p in f.parameters()])
        f.zero_grad()


def main() -> None:
    out_path, sections = sys.argv[1], sys.argv[2].split(",")
    warnings.filterwarnings("ignore")
    import torchdyn  # noqa: F401 - fail here, not in a section, if it cannot import

    for name in sections:
        try:
            globals()[f"run_{name}"]()
        except Exception:  # noqa: BLE001 - recorded for the test to show
            OUT[f"ERR.{name}"] = np.asarray(traceback.format_exc())
    np.savez(out_path, **OUT)


if __name__ == "__main__":
    main()
