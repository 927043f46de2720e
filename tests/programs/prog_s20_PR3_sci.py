"""Scientific ML as research code writes it, afresh (PR3, session 20): the forward-mode AD
tutorial's steps on a small CNN and a bidirectional LSTM (dual inputs, dual parameters through
functional_call, torch.func.jvp after replace_all_batch_norm_modules_, finite differences); a 2-d
Fourier neural operator (rfft2 / irfft2, complex parameters drawn by torch.rand(dtype=cfloat),
complex einsum on the kept modes, a relative L2 loss, StepLR); a DeepONet learning the
antiderivative operator (branch and trunk nets, einsum, cumsum / trapezoid); a Lagrangian neural
network (torch.func hessian / jacrev / grad under vmap, pinv, trained through the transforms); a
deep equilibrium layer (Anderson acceleration with batched linalg.solve, implicit backward by a
tensor hook that calls autograd.grad); and a differentiable Kalman filter whose noise scales are
fitted by L-BFGS (cholesky, MultivariateNormal log_prob). Tiny sizes; run by prog_s20_PR3_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class SpectralConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, modes1, modes2):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.modes1, self.modes2 = modes1, modes2
        self.scale = 1 / (in_channels * out_channels)
        self.weights1 = nn.Parameter(self.scale * torch.rand(in_channels, out_channels, modes1,
                                                             modes2, dtype=torch.cfloat))
        self.weights2 = nn.Parameter(self.scale * torch.rand(in_channels, out_channels, modes1,
                                                             modes2, dtype=torch.cfloat))

    def compl_mul2d(self, input, weights):
        return torch.einsum("bixy,ioxy->boxy", input, weights)

    def forward(self, x):
        batchsize = x.shape[0]
        x_ft = torch.fft.rfft2(x)
        out_ft = torch.zeros(batchsize, self.out_channels, x.size(-2), x.size(-1) // 2 + 1,
                             dtype=torch.cfloat, device=x.device)
        out_ft[:, :, :self.modes1, :self.modes2] = self.compl_mul2d(
            x_ft[:, :, :self.modes1, :self.modes2], self.weights1)
        out_ft[:, :, -self.modes1:, :self.modes2] = self.compl_mul2d(
            x_ft[:, :, -self.modes1:, :self.modes2], self.weights2)
        return torch.fft.irfft2(out_ft, s=(x.size(-2), x.size(-1)))


class FNO2d(nn.Module):
    def __init__(self, modes1, modes2, width):
        super().__init__()
        self.fc0 = nn.Linear(3, width)
        self.convs = nn.ModuleList(SpectralConv2d(width, width, modes1, modes2)
                                   for _ in range(2))
        self.ws = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(2))
        self.fc1 = nn.Linear(width, 16)
        self.fc2 = nn.Linear(16, 1)

    def get_grid(self, shape, device):
        batchsize, size_x, size_y = shape[0], shape[1], shape[2]
        gridx = torch.tensor(torch.linspace(0, 1, size_x).numpy(), dtype=torch.float)
        gridx = gridx.reshape(1, size_x, 1, 1).repeat([batchsize, 1, size_y, 1])
        gridy = torch.linspace(0, 1, size_y, dtype=torch.float)
        gridy = gridy.reshape(1, 1, size_y, 1).repeat([batchsize, size_x, 1, 1])
        return torch.cat((gridx, gridy), dim=-1).to(device)

    def forward(self, x):
        grid = self.get_grid(x.shape, x.device)
        x = torch.cat((x, grid), dim=-1)
        x = self.fc0(x).permute(0, 3, 1, 2)
        for index, (conv, w) in enumerate(zip(self.convs, self.ws)):
            x = conv(x) + w(x)
            if index < len(self.convs) - 1:
                x = F.gelu(x)
        x = x.permute(0, 2, 3, 1)
        return self.fc2(F.gelu(self.fc1(x)))


class LpLoss:
    def __init__(self, p=2, size_average=True):
        self.p, self.size_average = p, size_average

    def __call__(self, x, y):
        num_examples = x.size()[0]
        diff_norms = torch.norm(x.reshape(num_examples, -1) - y.reshape(num_examples, -1),
                                self.p, 1)
        y_norms = torch.norm(y.reshape(num_examples, -1), self.p, 1)
        return torch.mean(diff_norms / y_norms) if self.size_average else torch.sum(
            diff_norms / y_norms)


def poisson_solution(a):
    # the target operator: (1 - laplacian)^-1 on the periodic unit square, through the FFT
    n = a.shape[1]
    k = torch.fft.fftfreq(n, d=1 / n)
    k2 = torch.fft.rfftfreq(n, d=1 / n)
    denominator = 1 + (2 * math.pi) ** 2 * (k[:, None] ** 2 + k2[None, :] ** 2) / 50
    return torch.fft.irfft2(torch.fft.rfft2(a[..., 0]) / denominator, s=(n, n)).unsqueeze(-1)


def section_fno() -> None:
    a = torch.randn(6, 12, 12, 1)
    u = poisson_solution(a)
    put("fno.target", u[0, :4, :4, 0])
    model = FNO2d(3, 3, 6)
    put("fno.weights1", model.convs[0].weights1[0, 0])
    put("fno.n_params", sum(p.numel() for p in model.parameters()))
    put("fno.n_real", sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters()))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    myloss = LpLoss(size_average=False)
    losses = []
    for _epoch in range(6):
        for batch in range(2):
            x, y = a[3 * batch:3 * batch + 3], u[3 * batch:3 * batch + 3]
            optimizer.zero_grad()
            out = model(x)
            loss = myloss(out.view(3, -1), y.view(3, -1))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    put("fno.losses", losses)
    put("fno.grad_w1", model.convs[0].weights1.grad[0, 0])
    put("fno.grad_w2_dtype", str(model.convs[1].weights2.grad.dtype))
    put_state("fno.state", model)
    with torch.no_grad():
        put("fno.pred", model(a[:2])[..., 0])
        put("fno.mse", F.mse_loss(model(a), u))


class DeepONet(nn.Module):
    def __init__(self, m, p=12, width=24):
        super().__init__()
        self.branch = nn.Sequential(nn.Linear(m, width), nn.Tanh(), nn.Linear(width, p))
        self.trunk = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, p),
                                   nn.Tanh())
        self.b0 = nn.Parameter(torch.zeros(1))

    def forward(self, u, y):
        return torch.einsum("bk,pk->bp", self.branch(u), self.trunk(y)) + self.b0


def section_deeponet() -> None:
    m = 20
    sensors = torch.linspace(0, 1, m)
    coefficients = torch.randn(16, 3)
    frequencies = torch.arange(1, 4, dtype=torch.float32) * math.pi
    u = (coefficients[:, :, None] * torch.sin(frequencies[None, :, None] * sensors)).sum(1)
    dx = sensors[1] - sensors[0]
    s = torch.cumsum(torch.cat([torch.zeros(16, 1), (u[:, 1:] + u[:, :-1]) * dx / 2], 1), 1)
    put("deeponet.trapz", torch.trapezoid(u, sensors, dim=1))
    put("deeponet.s_end", s[:, -1])
    put("deeponet.cumtrapz", torch.cumulative_trapezoid(u, sensors, dim=1)[:3])
    y = sensors.unsqueeze(1)
    model = DeepONet(m)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _step in range(30):
        index = torch.randperm(16)[:8]
        optimizer.zero_grad()
        loss = F.mse_loss(model(u[index], y), s[index])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("deeponet.losses", losses)
    put_state("deeponet.state", model)
    with torch.no_grad():
        prediction = model(u, y)
        put("deeponet.rel_l2", torch.linalg.vector_norm(prediction - s, dim=1)
            / torch.linalg.vector_norm(s, dim=1))


class LagrangianNet(nn.Module):
    def __init__(self, n=2, width=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * n, width), nn.Softplus(), nn.Linear(width, width),
                                 nn.Softplus(), nn.Linear(width, 1))

    def forward(self, q, q_t):
        return self.net(torch.cat([q, q_t], -1)).squeeze(-1)


def lnn_acceleration(model, params, q, q_t):
    def lagrangian(q, q_t):
        return torch.func.functional_call(model, params, (q, q_t))

    def one(q, q_t):
        hess_qt = torch.func.hessian(lagrangian, argnums=1)(q, q_t)
        grad_q = torch.func.grad(lagrangian, argnums=0)(q, q_t)
        mixed = torch.func.jacrev(torch.func.grad(lagrangian, argnums=1), argnums=0)(q, q_t)
        return torch.linalg.pinv(hess_qt) @ (grad_q - mixed @ q_t)

    return torch.func.vmap(one)(q, q_t)


def section_lnn() -> None:
    # (float64, as the LNN notebooks run: pinv of a learned Hessian amplifies float32 rounding
    # to ~1e-5 relative in the parameter gradients, libraries' summation orders differing)
    torch.set_default_dtype(torch.float64)
    try:
        lnn_train()
    finally:
        torch.set_default_dtype(torch.float32)


def lnn_train() -> None:
    # data: two coupled springs, q_tt = -K q
    stiffness = torch.tensor([[2.0, -0.5], [-0.5, 1.0]])
    q, q_t = torch.randn(10, 2), torch.randn(10, 2)
    q_tt = -(q @ stiffness.T)
    model = LagrangianNet()
    params = dict(model.named_parameters())
    first = lnn_acceleration(model, params, q[:3], q_t[:3])
    put("lnn.first", first)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for step in range(8):
        optimizer.zero_grad()
        prediction = lnn_acceleration(model, dict(model.named_parameters()), q, q_t)
        loss = F.mse_loss(prediction, q_tt)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step == 0:
            # (the last bias adds a constant to L: no derivative of L depends on it)
            put("lnn.grads", [p.grad for p in model.parameters()][:5])
            put("lnn.last_bias_grad_none", model.net[4].bias.grad is None)
    put("lnn.losses", losses)
    put_state("lnn.state", model)
    # the same Hessian through torch.autograd.functional
    one_q, one_qt = q[0], q_t[0]
    hessian = torch.autograd.functional.hessian(lambda v: model(one_q, v), one_qt)
    put("lnn.functional_hessian", hessian)


def anderson(f, x0, m=4, lam=1e-4, max_iter=30, tol=1e-4, beta=1.0):
    bsz, d, h = x0.shape
    X = torch.zeros(bsz, m, d * h, dtype=x0.dtype)
    F_ = torch.zeros(bsz, m, d * h, dtype=x0.dtype)
    X[:, 0], F_[:, 0] = x0.view(bsz, -1), f(x0).view(bsz, -1)
    X[:, 1], F_[:, 1] = F_[:, 0], f(F_[:, 0].view_as(x0)).view(bsz, -1)
    H = torch.zeros(bsz, m + 1, m + 1, dtype=x0.dtype)
    H[:, 0, 1:] = H[:, 1:, 0] = 1
    y = torch.zeros(bsz, m + 1, 1, dtype=x0.dtype)
    y[:, 0] = 1
    res = []
    for k in range(2, max_iter):
        n = min(k, m)
        G = F_[:, :n] - X[:, :n]
        H[:, 1:n + 1, 1:n + 1] = torch.bmm(G, G.transpose(1, 2)) + lam * torch.eye(
            n, dtype=x0.dtype)[None]
        alpha = torch.linalg.solve(H[:, :n + 1, :n + 1], y[:, :n + 1])[:, 1:n + 1, 0]
        X[:, k % m] = (beta * (alpha[:, None] @ F_[:, :n])[:, 0]
                       + (1 - beta) * (alpha[:, None] @ X[:, :n])[:, 0])
        F_[:, k % m] = f(X[:, k % m].view_as(x0)).view(bsz, -1)
        res.append((F_[:, k % m] - X[:, k % m]).norm().item()
                   / (1e-5 + F_[:, k % m].norm().item()))
        if res[-1] < tol:
            break
    return X[:, k % m].view_as(x0), res


class TanhFixedPoint(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, n_features, bias=False)
        nn.init.normal_(self.linear.weight, 0, 0.3 / math.sqrt(n_features))

    def forward(self, z, x):
        return torch.tanh(self.linear(z) + x)


class DEQFixedPoint(nn.Module):
    def __init__(self, f, solver, **kwargs):
        super().__init__()
        self.f, self.solver, self.kwargs = f, solver, kwargs

    def forward(self, x):
        with torch.no_grad():
            z, self.forward_res = self.solver(lambda z: self.f(z, x), torch.zeros_like(x),
                                              **self.kwargs)
        z = self.f(z, x)
        z0 = z.clone().detach().requires_grad_()
        f0 = self.f(z0, x)

        def backward_hook(grad):
            g, self.backward_res = self.solver(
                lambda y: torch.autograd.grad(f0, z0, y, retain_graph=True)[0] + grad, grad,
                **self.kwargs)
            return g

        if z.requires_grad:
            z.register_hook(backward_hook)
        return z


def section_deq() -> None:
    torch.set_default_dtype(torch.float64)
    try:
        f = TanhFixedPoint(6)
        deq = DEQFixedPoint(f, anderson, tol=1e-7, max_iter=40)
        model = nn.Sequential(nn.Linear(4, 6), deq, nn.Linear(6, 3))
        x, y = torch.randn(5, 1, 4), torch.randint(0, 3, (5,))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        losses = []
        for step in range(6):
            optimizer.zero_grad()
            logits = model(x)[:, 0]
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if step == 0:
                put("deq.grads", [p.grad for p in model.parameters()])
                put("deq.n_forward", len(deq.forward_res))
                put("deq.n_backward", len(deq.backward_res))
        put("deq.losses", losses)
        put_state("deq.state", model)
        # the implicit gradient equals the gradient of many unrolled iterations
        z = torch.zeros(5, 1, 6)
        h = model[0](x)
        for _ in range(60):
            z = f(z, h)
        unrolled = torch.autograd.grad(model[2](z).sum(), f.linear.weight)[0]
        implicit = torch.autograd.grad(model(x).sum(), f.linear.weight)[0]
        put("deq.implicit_vs_unrolled", (unrolled - implicit).abs().max())
        put("deq.implicit", implicit)
    finally:
        torch.set_default_dtype(torch.float32)


def kalman_nll(log_q, log_r, observations, A, H):
    n = A.shape[0]
    Q = torch.exp(log_q) * torch.eye(n, dtype=A.dtype)
    R = torch.exp(log_r) * torch.eye(H.shape[0], dtype=A.dtype)
    mean, cov = torch.zeros(n, dtype=A.dtype), torch.eye(n, dtype=A.dtype)
    nll = 0
    means = []
    for y in observations:
        mean, cov = A @ mean, A @ cov @ A.T + Q
        S = H @ cov @ H.T + R
        dist = torch.distributions.MultivariateNormal(H @ mean, covariance_matrix=S)
        nll = nll - dist.log_prob(y)
        L = torch.linalg.cholesky(S)
        K = torch.cholesky_solve(H @ cov, L).T
        mean = mean + K @ (y - H @ mean)
        cov = (torch.eye(n, dtype=A.dtype) - K @ H) @ cov
        means.append(mean)
    return nll, torch.stack(means)


def section_kalman() -> None:
    dt = 0.1
    A = torch.tensor([[1.0, dt], [0.0, 1.0]], dtype=torch.float64)
    H = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    state, observations = torch.zeros(2, dtype=torch.float64), []
    for _ in range(25):
        state = A @ state + 0.3 * torch.randn(2, dtype=torch.float64)
        observations.append(H @ state + 0.5 * torch.randn(1, dtype=torch.float64))
    log_q = torch.zeros((), dtype=torch.float64, requires_grad=True)
    log_r = torch.zeros((), dtype=torch.float64, requires_grad=True)
    nll0, _ = kalman_nll(log_q, log_r, observations, A, H)
    nll0.backward()
    put("kalman.nll0", nll0)
    put("kalman.grad0", [log_q.grad, log_r.grad])
    optimizer = torch.optim.LBFGS([log_q, log_r], lr=0.5, max_iter=8,
                                  line_search_fn="strong_wolfe")
    record = []

    def closure():
        optimizer.zero_grad()
        loss, _ = kalman_nll(log_q, log_r, observations, A, H)
        loss.backward()
        record.append(loss.item())
        return loss

    for _ in range(2):
        optimizer.step(closure)
    put("kalman.record", record)
    put("kalman.params", [log_q.detach(), log_r.detach()])
    with torch.no_grad():
        _, means = kalman_nll(log_q, log_r, observations, A, H)
    put("kalman.means", means)
    put("kalman.state_keys", sorted(optimizer.state_dict()["state"][0]))
    put("kalman.n_iter", optimizer.state_dict()["state"][0]["n_iter"])


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                                      nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3),
                                      nn.Softplus(), nn.AdaptiveMaxPool2d(1))
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def section_fwdad() -> None:
    # The forward-mode AD tutorial's steps on a small CNN, in float64: a directional derivative
    # in input space by dual tensors, one in parameter space by dual parameters swapped in
    # through functional_call, torch.func.jvp of the same, and finite differences beside them.
    import torch.autograd.forward_ad as fwAD

    torch.set_default_dtype(torch.float64)
    try:
        model = SmallCNN()
        x, direction = torch.randn(3, 1, 8, 8), torch.randn(3, 1, 8, 8)
        with fwAD.dual_level():
            out = model(fwAD.make_dual(x, direction))
            primal, jvp_input = fwAD.unpack_dual(out)
        put("fwdad.primal", primal)
        put("fwdad.jvp_input", jvp_input)
        with torch.no_grad():
            eps = 1e-6
            fd = (model(x + eps * direction) - model(x - eps * direction)) / (2 * eps)
        put("fwdad.fd_gap", (fd - jvp_input).abs().max())
        params = {name: p.detach() for name, p in model.named_parameters()}
        tangents = {name: torch.randn_like(p) for name, p in params.items()}
        with fwAD.dual_level():
            dual_params = {name: fwAD.make_dual(p, tangents[name]) for name, p in params.items()}
            out = torch.func.functional_call(model, dual_params, (x,))
            jvp_params = fwAD.unpack_dual(out).tangent
        put("fwdad.jvp_params", jvp_params)
        put("fwdad.running_mean", model.features[1].running_mean)
        model.eval()
        with fwAD.dual_level():
            out = model(fwAD.make_dual(x, direction))
            put("fwdad.eval_tangent", fwAD.unpack_dual(out).tangent)
        # a recurrent model's sensitivity to its input sequence, forward mode
        lstm = nn.LSTM(2, 5, batch_first=True, bidirectional=True)
        sequence, sequence_direction = torch.randn(2, 6, 2), torch.randn(2, 6, 2)
        with fwAD.dual_level():
            out, (h_n, _) = lstm(fwAD.make_dual(sequence, sequence_direction))
            put("fwdad.lstm_tangent", fwAD.unpack_dual(out.tanh()).tangent)
            put("fwdad.lstm_h_tangent", fwAD.unpack_dual(h_n).tangent)
        # torch.func refuses a batch norm that updates its running statistics inside a
        # transform (deltagrad does not: reported); the documented remedy first
        model.train()
        torch.func.replace_all_batch_norm_modules_(model)
        _, func_jvp = torch.func.jvp(lambda p: torch.func.functional_call(model, p, (x,)),
                                     (params,), (tangents,))
        put("fwdad.func_gap", (func_jvp - jvp_params).abs().max())
    finally:
        torch.set_default_dtype(torch.float32)


SECTIONS = {"fwdad": section_fwdad, "fno": section_fno, "deeponet": section_deeponet,
            "lnn": section_lnn, "deq": section_deq, "kalman": section_kalman}
