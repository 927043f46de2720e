"""Scientific-ML programs in the style of the widely copied notebooks (PG, session 18): a
physics-informed network for Burgers' equation (float64 by set_default_dtype, u_t and u_xx by
autograd.grad with create_graph, Adam then L-BFGS with a closure), a Hamiltonian neural network
(the symplectic gradient of a learned H), and a neural ODE integrated with a hand-written RK4
and trained through the solver. Tiny sizes, seeded.
"""

import math

import torch
import torch.nn as nn
from prog_s17_PG_harness import put


class PINN(nn.Module):
    def __init__(self, layers=(2, 12, 12, 1)):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(layers[:-1], layers[1:]))
        for linear in self.linears:
            nn.init.xavier_normal_(linear.weight, gain=1.0)
            nn.init.zeros_(linear.bias)

    def forward(self, x, t):
        a = torch.cat([x, t], dim=1)
        for linear in self.linears[:-1]:
            a = torch.tanh(linear(a))
        return self.linears[-1](a)


def burgers_residual(model, x, t, nu=0.01 / math.pi):
    u = model(x, t)
    u_t = torch.autograd.grad(u, t, grad_outputs=torch.ones_like(u), retain_graph=True,
                              create_graph=True)[0]
    u_x = torch.autograd.grad(u, x, grad_outputs=torch.ones_like(u), retain_graph=True,
                              create_graph=True)[0]
    u_xx = torch.autograd.grad(u_x, x, grad_outputs=torch.ones_like(u_x), retain_graph=True,
                               create_graph=True)[0]
    return u_t + u * u_x - nu * u_xx


def section_pinn() -> None:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        model = PINN()
        x_f = (torch.rand(40, 1) * 2 - 1).requires_grad_(True)
        t_f = torch.rand(40, 1).requires_grad_(True)
        x_0 = torch.linspace(-1, 1, 10).view(-1, 1)
        u_0 = -torch.sin(math.pi * x_0)
        t_b = torch.rand(8, 1)
        x_b = torch.cat([torch.ones(4, 1), -torch.ones(4, 1)])

        def loss_fn():
            residual = burgers_residual(model, x_f, t_f)
            loss_f = torch.mean(residual ** 2)
            loss_0 = torch.mean((model(x_0, torch.zeros_like(x_0)) - u_0) ** 2)
            loss_b = torch.mean(model(x_b, t_b) ** 2)
            return loss_f + loss_0 + loss_b

        adam = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for _ in range(5):
            adam.zero_grad()
            loss = loss_fn()
            loss.backward()
            adam.step()
            losses.append(loss.item())
        lbfgs = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=6, history_size=10,
                                  tolerance_grad=1e-9, tolerance_change=1e-12,
                                  line_search_fn="strong_wolfe")

        def closure():
            lbfgs.zero_grad()
            loss = loss_fn()
            loss.backward()
            losses.append(loss.item())
            return loss

        lbfgs.step(closure)
        put("pinn.losses", losses)
        put("pinn.dtype", str(model.linears[0].weight.dtype))
        grid_x, grid_t = torch.meshgrid(torch.linspace(-1, 1, 5), torch.linspace(0, 1, 3),
                                        indexing="ij")
        with torch.no_grad():
            put("pinn.u", model(grid_x.reshape(-1, 1), grid_t.reshape(-1, 1)))
        put("pinn.residual", burgers_residual(model, x_f, t_f)[:6])
    finally:
        torch.set_default_dtype(previous)


class HNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                                 nn.Linear(16, 1))
        self.register_buffer("M", torch.tensor([[0.0, 1.0], [-1.0, 0.0]]))

    def time_derivative(self, x):
        x = x.requires_grad_(True) if not x.requires_grad else x
        H = self.net(x)
        dH = torch.autograd.grad(H.sum(), x, create_graph=True)[0]
        return dH @ self.M.t()


def section_hnn() -> None:
    q = torch.rand(32) * 2 - 1
    p = torch.rand(32) * 2 - 1
    states = torch.stack([q, p], 1)
    derivatives = torch.stack([p, -q], 1)  # a unit spring: dq/dt = p, dp/dt = -q
    model = HNN()
    optimizer = torch.optim.Adam(model.parameters(), 1e-2, weight_decay=1e-4)
    losses = []
    for _ in range(6):
        predicted = model.time_derivative(states.clone())
        loss = (predicted - derivatives).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("hnn.losses", losses)
    put("hnn.field", model.time_derivative(states[:4].clone()))


def rk4(func, y0, t):
    ys = [y0]
    y = y0
    for t0, t1 in zip(t[:-1], t[1:]):
        h = t1 - t0
        k1 = func(t0, y)
        k2 = func(t0 + h / 2, y + h * k1 / 2)
        k3 = func(t0 + h / 2, y + h * k2 / 2)
        k4 = func(t1, y + h * k3)
        y = y + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        ys.append(y)
    return torch.stack(ys)


class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
        for m in self.net.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0, std=0.1)
                nn.init.constant_(m.bias, val=0)

    def forward(self, t, y):
        return self.net(y ** 3)


def section_node() -> None:
    true_A = torch.tensor([[-0.1, 2.0], [-2.0, -0.1]])
    t = torch.linspace(0.0, 1.0, 11)
    with torch.no_grad():
        true_y = rk4(lambda t, y: (y ** 3) @ true_A, torch.tensor([[2.0, 0.0]]), t)
    func = ODEFunc()
    optimizer = torch.optim.RMSprop(func.parameters(), lr=1e-3)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        pred_y = rk4(func, true_y[0], t)
        loss = torch.mean(torch.abs(pred_y - true_y))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("node.true_y", true_y)
    put("node.losses", losses)
    put("node.w", func.net[0].weight)


SECTIONS = {"pinn": section_pinn, "hnn": section_hnn, "node": section_node}
