"""labml.ai-annotated-implementation-style code, written afresh (PR2, session 19): ALiBi slopes
and linear biases in causal attention; rotary embeddings with cached cos / sin and the
rotate-half trick on part of the features; a Switch transformer's routing (top-1, capacity
factor, dropped tokens passed through, the load-balancing loss, index lists per expert); capsule
networks' squash and routing by agreement with the margin loss; gMLP's spatial gating unit;
FNet's Fourier mixing (torch.fft.fft over two axes, its real part); a modern Hopfield layer's
retrieval; PonderNet's halting probabilities, reconstruction and KL-to-geometric losses.
Tiny sizes; run by prog_s19_PR_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def get_slopes(n_heads: int):
    n = 2 ** math.floor(math.log2(n_heads))
    m_0 = 2.0 ** (-8.0 / n)
    m = torch.pow(m_0, torch.arange(1, 1 + n))
    if n < n_heads:
        m_hat_0 = 2.0 ** (-4.0 / n)
        m_hat = torch.pow(m_hat_0, torch.arange(1, 1 + 2 * (n_heads - n), 2))
        m = torch.cat([m, m_hat])
    return m


def get_alibi_biases(n_heads: int, mask: torch.Tensor):
    m = get_slopes(n_heads).to(mask.device)
    distance = mask.cumsum(dim=-1)
    return distance[:, :, None] * m[None, None, :]


class AlibiMHA(nn.Module):
    def __init__(self, heads, d_model):
        super().__init__()
        self.heads, self.d_k = heads, d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.output = nn.Linear(d_model, d_model)
        self.alibi_biases = None

    def forward(self, x):  # x: [seq_len, batch, d_model]
        seq_len, batch_size, _ = x.shape
        q, k, v = self.qkv(x).view(seq_len, batch_size, 3, self.heads, self.d_k).unbind(2)
        mask = torch.tril(torch.ones(seq_len, seq_len, dtype=torch.bool))[:, :, None]
        scores = torch.einsum("ibhd,jbhd->ijbh", q, k) / math.sqrt(self.d_k)
        if self.alibi_biases is None or self.alibi_biases.shape[1] < seq_len:
            self.alibi_biases = get_alibi_biases(scores.shape[-1], mask[:, :, 0])
        scores = scores + self.alibi_biases[:seq_len, :seq_len, None, :]
        scores = scores.masked_fill(mask[:, :, :, None] == 0, float("-inf"))
        attn = torch.softmax(scores, dim=1)
        out = torch.einsum("ijbh,jbhd->ibhd", attn, v).reshape(seq_len, batch_size, -1)
        return self.output(out)


def section_alibi() -> None:
    put("alibi.slopes", [get_slopes(8), get_slopes(6), get_slopes(3)])
    mha = AlibiMHA(6, 12)
    x = torch.randn(7, 2, 12, requires_grad=True)
    out = mha(x)
    out.pow(2).mean().backward()
    put("alibi.out", out)
    put("alibi.biases", mha.alibi_biases)
    put("alibi.grad", [x.grad, mha.qkv.weight.grad])
    # a causal model: the first outputs do not depend on later inputs
    y = x.detach().clone()
    y[4:] += 1.0
    put("alibi.causal", (mha(y)[:4] - out[:4]).abs().max())


class RotaryPositionalEmbeddings(nn.Module):
    def __init__(self, d: int, base: int = 10_000):
        super().__init__()
        self.base, self.d = base, d
        self.cos_cached = None
        self.sin_cached = None

    def _build_cache(self, x):
        if self.cos_cached is not None and x.shape[0] <= self.cos_cached.shape[0]:
            return
        seq_len = x.shape[0]
        theta = 1.0 / (self.base ** (torch.arange(0, self.d, 2).float() / self.d)).to(x.device)
        seq_idx = torch.arange(seq_len, device=x.device).float().to(x.device)
        idx_theta = torch.einsum("n,d->nd", seq_idx, theta)
        idx_theta2 = torch.cat([idx_theta, idx_theta], dim=1)
        self.cos_cached = idx_theta2.cos()[:, None, None, :]
        self.sin_cached = idx_theta2.sin()[:, None, None, :]

    def _neg_half(self, x):
        d_2 = self.d // 2
        return torch.cat([-x[:, :, :, d_2:], x[:, :, :, :d_2]], dim=-1)

    def forward(self, x):  # x: [seq_len, batch, heads, d_head]
        self._build_cache(x)
        x_rope, x_pass = x[..., :self.d], x[..., self.d:]
        neg_half_x = self._neg_half(x_rope)
        x_rope = (x_rope * self.cos_cached[:x.shape[0]]) \
            + (neg_half_x * self.sin_cached[:x.shape[0]])
        return torch.cat((x_rope, x_pass), dim=-1)


def section_rope() -> None:
    rope = RotaryPositionalEmbeddings(4)
    x = torch.randn(6, 2, 3, 6, requires_grad=True)
    out = rope(x)
    (out * torch.arange(6.0)).sum().backward()
    put("rope.out", out)
    put("rope.grad", x.grad)
    put("rope.cache", [rope.cos_cached, rope.sin_cached])
    # relative: q_m . k_n depends on m - n only
    q = torch.randn(1, 1, 1, 4).expand(6, 1, 1, 4)
    k = torch.randn(1, 1, 1, 4).expand(6, 1, 1, 4)
    rq, rk = rope(q)[:, 0, 0], rope(k)[:, 0, 0]
    dots = rq @ rk.T
    put("rope.dots", dots)
    put("rope.relative", (torch.diagonal(dots, 1) - dots[0, 1]).abs().max())
    put("rope.norm_kept", (rope(x.detach()).norm(dim=-1) - x.detach().norm(dim=-1)).abs().max())


class SwitchFeedForward(nn.Module):
    def __init__(self, capacity_factor, drop_tokens, is_scale_prob, n_experts, d_model):
        super().__init__()
        self.capacity_factor, self.is_scale_prob = capacity_factor, is_scale_prob
        self.n_experts, self.drop_tokens = n_experts, drop_tokens
        self.experts = nn.ModuleList([nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.ReLU(),
                                                    nn.Linear(2 * d_model, d_model))
                                      for _ in range(n_experts)])
        self.switch = nn.Linear(d_model, n_experts)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        seq_len, batch_size, d_model = x.shape
        x = x.view(-1, d_model)
        route_prob = self.softmax(self.switch(x))
        route_prob_max, routes = torch.max(route_prob, dim=-1)
        indexes_list = [torch.eq(routes, i).nonzero(as_tuple=True)[0]
                        for i in range(self.n_experts)]
        final_output = x.new_zeros(x.shape)
        capacity = int(self.capacity_factor * len(x) / self.n_experts)
        counts = x.new_tensor([len(indexes_list[i]) for i in range(self.n_experts)])
        dropped = []
        if self.drop_tokens:
            for i in range(self.n_experts):
                if len(indexes_list[i]) <= capacity:
                    continue
                indexes_list[i] = indexes_list[i][torch.randperm(len(indexes_list[i]))]
                dropped.append(indexes_list[i][capacity:])
                indexes_list[i] = indexes_list[i][:capacity]
        expert_output = [self.experts[i](x[indexes_list[i], :]) for i in range(self.n_experts)]
        for i in range(self.n_experts):
            final_output[indexes_list[i], :] = expert_output[i]
        if dropped:
            dropped = torch.cat(dropped)
            final_output[dropped, :] = x[dropped, :]
        if self.is_scale_prob:
            final_output = final_output * route_prob_max.view(-1, 1)
        else:
            final_output = final_output * (route_prob_max / route_prob_max.detach()).view(-1, 1)
        final_output = final_output.view(seq_len, batch_size, d_model)
        return final_output, counts, route_prob.sum(0), len(dropped), route_prob_max


def section_switch() -> None:
    layer = SwitchFeedForward(capacity_factor=1.0, drop_tokens=True, is_scale_prob=True,
                              n_experts=4, d_model=8)
    x = torch.randn(6, 3, 8)
    target = torch.randn(6, 3, 8)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
    record = []
    for step in range(4):
        layer.is_scale_prob = step % 2 == 0
        out, counts, route_prob, n_dropped, route_prob_max = layer(x)
        total = counts.sum(dim=-1, keepdims=True)
        route_frac = counts / total
        route_prob = route_prob / total
        load_balancing_loss = layer.n_experts * (route_frac * route_prob).sum()
        loss = F.mse_loss(out, target) + 0.01 * load_balancing_loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        record.append([loss.item(), load_balancing_loss.item(), n_dropped])
        put(f"switch.counts.{step}", counts)
    put("switch.record", record)
    put("switch.route_prob_max", route_prob_max)
    put_state("switch.state", layer)


def squash(s, epsilon=1e-8):
    s2 = (s ** 2).sum(dim=-1, keepdims=True)
    return (s2 / (1 + s2)) * (s / torch.sqrt(s2 + epsilon))


class Router(nn.Module):
    def __init__(self, in_caps, out_caps, in_d, out_d, iterations):
        super().__init__()
        self.in_caps, self.out_caps, self.iterations = in_caps, out_caps, iterations
        self.softmax = nn.Softmax(dim=1)
        self.weight = nn.Parameter(torch.randn(in_caps, out_caps, in_d, out_d), requires_grad=True)

    def forward(self, u):
        u_hat = torch.einsum("ijnm,bin->bijm", self.weight, u)
        b = u.new_zeros(u.shape[0], self.in_caps, self.out_caps)
        v = None
        for _ in range(self.iterations):
            c = self.softmax(b)
            s = torch.einsum("bij,bijm->bjm", c, u_hat)
            v = squash(s)
            a = torch.einsum("bjm,bijm->bij", v, u_hat)
            b = b + a
        return v


class MarginLoss(nn.Module):
    def __init__(self, *, n_labels, lambda_=0.5, m_positive=0.9, m_negative=0.1):
        super().__init__()
        self.m_negative, self.m_positive = m_negative, m_positive
        self.lambda_, self.n_labels = lambda_, n_labels

    def forward(self, v, labels):
        v_norm = torch.sqrt((v ** 2).sum(dim=-1))
        labels = torch.eye(self.n_labels, device=labels.device)[labels]
        loss = labels * F.relu(self.m_positive - v_norm) \
            + self.lambda_ * (1.0 - labels) * F.relu(v_norm - self.m_negative)
        return loss.sum(dim=-1).mean()


def section_capsule() -> None:
    conv = nn.Conv2d(1, 8, 3, stride=2)
    router = Router(in_caps=18, out_caps=3, in_d=4, out_d=6, iterations=3)
    loss_fn = MarginLoss(n_labels=3)
    data = torch.randn(5, 1, 7, 7)
    labels = torch.tensor([0, 2, 1, 1, 0])
    params = list(conv.parameters()) + list(router.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    losses = []
    for _ in range(3):
        x = conv(data)  # [5, 8, 3, 3] -> 18 capsules of 4
        caps = squash(x.view(5, 4, 18).permute(0, 2, 1))
        v = router(caps)
        loss = loss_fn(v, labels)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("capsule.losses", losses)
    put("capsule.v", v)
    put("capsule.pred", (v ** 2).sum(-1).argmax(1))
    put("capsule.squash_norms", squash(torch.randn(4, 5) * torch.tensor([[0.1], [1], [3], [30]]))
        .norm(dim=-1))
    put_state("capsule.router", router)


class SpacialGatingUnit(nn.Module):
    def __init__(self, d_z, seq_len):
        super().__init__()
        self.norm = nn.LayerNorm([d_z // 2])
        self.weight = nn.Parameter(torch.zeros(seq_len, seq_len).uniform_(-0.01, 0.01))
        self.bias = nn.Parameter(torch.ones(seq_len))

    def forward(self, z, mask=None):  # z: [seq_len, batch, d_z]
        seq_len = z.shape[0]
        z1, z2 = torch.chunk(z, 2, dim=-1)
        weight = self.weight[:seq_len, :seq_len]
        if mask is not None:
            weight = weight * mask
        z2 = self.norm(z2)
        z2 = torch.einsum("ij,jbd->ibd", weight, z2) + self.bias[:seq_len, None, None]
        return z1 * z2


class GMLPBlock(nn.Module):
    def __init__(self, d_model, d_ffn, seq_len):
        super().__init__()
        self.norm = nn.LayerNorm([d_model])
        self.activation = nn.GELU()
        self.proj1 = nn.Linear(d_model, d_ffn)
        self.sgu = SpacialGatingUnit(d_ffn, seq_len)
        self.proj2 = nn.Linear(d_ffn // 2, d_model)

    def forward(self, x, mask=None):
        shortcut = x
        x = self.norm(x)
        z = self.activation(self.proj1(x))
        z = self.sgu(z, mask)
        return self.proj2(z) + shortcut


def section_gmlp() -> None:
    block = GMLPBlock(8, 16, 6)
    x = torch.randn(6, 3, 8)
    target = torch.randn(6, 3, 8)
    mask = torch.tril(torch.ones(6, 6))
    opt = torch.optim.AdamW(block.parameters(), lr=1e-2)
    losses = []
    for step in range(4):
        loss = F.mse_loss(block(x, mask if step % 2 else None), target)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("gmlp.losses", losses)
    put_state("gmlp.state", block)
    put("gmlp.short", block(x[:4], mask[:4, :4]))


class FNetMix(nn.Module):
    def forward(self, query, key=None, value=None, mask=None):
        x = query
        fft_hidden = torch.fft.fft(x, dim=2)
        fft_seq = torch.fft.fft(fft_hidden, dim=0)
        return torch.real(fft_seq)


def section_fnet() -> None:
    mix = FNetMix()
    ff = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))
    norm1, norm2 = nn.LayerNorm(8), nn.LayerNorm(8)
    x = torch.randn(5, 2, 8, requires_grad=True)
    h = norm1(x + mix(x))
    out = norm2(h + ff(h))
    out.pow(2).sum().backward()
    put("fnet.out", out)
    put("fnet.grad", [x.grad, ff[0].weight.grad])
    y = torch.randn(5, 2, 8)
    put("fnet.vs_fft2", (mix(y) - torch.fft.fft2(y, dim=(0, 2)).real).abs().max())
    put("fnet.fftn", torch.fft.fftn(y, dim=(0, 2)).real)
    put("fnet.rfft", [torch.fft.rfft(y, dim=-1).abs(), torch.fft.irfft(torch.fft.rfft(y), n=8)])
    z = torch.randn(4, 6, dtype=torch.complex64)
    put("fnet.complex", [torch.view_as_real(torch.fft.ifft(torch.fft.fft(z))),
                         torch.fft.fftshift(torch.arange(6.0))])


class Hopfield(nn.Module):
    def __init__(self, d, beta):
        super().__init__()
        self.beta = beta
        self.W_q = nn.Linear(d, d, bias=False)
        self.W_k = nn.Linear(d, d, bias=False)
        self.W_v = nn.Linear(d, d, bias=False)

    def retrieve(self, patterns, state, steps=1):
        for _ in range(steps):
            state = torch.softmax(self.beta * state @ patterns.T, dim=-1) @ patterns
        return state

    def forward(self, stored, query):
        k, q, v = self.W_k(stored), self.W_q(query), self.W_v(stored)
        return torch.softmax(self.beta * q @ k.transpose(-2, -1), dim=-1) @ v


def section_hopfield() -> None:
    patterns = torch.sign(torch.randn(6, 16))
    hop = Hopfield(16, beta=0.5)
    noisy = patterns[2].clone()
    noisy[:5] *= -1
    retrieved = hop.retrieve(patterns, noisy[None], steps=3)
    put("hopfield.retrieved", retrieved)
    put("hopfield.overlap", (torch.sign(retrieved) == patterns[2]).float().mean())
    energy = -torch.logsumexp(0.5 * patterns @ retrieved[0], 0) / 0.5 \
        + 0.5 * retrieved[0] @ retrieved[0]
    put("hopfield.energy", energy)
    stored = torch.randn(2, 6, 16)
    query = torch.randn(2, 3, 16)
    opt = torch.optim.SGD(hop.parameters(), lr=0.05)
    losses = []
    for _ in range(3):
        out = hop(stored, query)
        loss = (out - stored[:, :3]).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("hopfield.losses", losses)
    put_state("hopfield.state", hop)


class ParityPonderGRU(nn.Module):
    def __init__(self, n_elems, n_hidden, max_steps):
        super().__init__()
        self.max_steps, self.n_hidden = max_steps, n_hidden
        self.gru = nn.GRUCell(n_elems, n_hidden)
        self.output_layer = nn.Linear(n_hidden, 1)
        self.lambda_layer = nn.Linear(n_hidden, 1)
        self.lambda_prob = nn.Sigmoid()
        self.is_halt = False

    def forward(self, x):
        batch_size = x.shape[0]
        h = x.new_zeros((x.shape[0], self.n_hidden))
        h = self.gru(x, h)
        p, y = [], []
        un_halted_prob = h.new_ones((batch_size,))
        halted = h.new_zeros((batch_size,))
        p_m = h.new_zeros((batch_size,))
        y_m = h.new_zeros((batch_size,))
        for n in range(1, self.max_steps + 1):
            if n == self.max_steps:
                lambda_n = h.new_ones(h.shape[0])
            else:
                lambda_n = self.lambda_prob(self.lambda_layer(h))[:, 0]
            y_n = self.output_layer(h)[:, 0]
            p_n = un_halted_prob * lambda_n
            un_halted_prob = un_halted_prob * (1 - lambda_n)
            halt = torch.bernoulli(lambda_n) * (1 - halted)
            p.append(p_n)
            y.append(y_n)
            p_m = p_m * (1 - halt) + p_n * halt
            y_m = y_m * (1 - halt) + y_n * halt
            halted = halted + halt
            h = self.gru(x, h)
            if self.is_halt and halted.sum() == batch_size:
                break
        return torch.stack(p), torch.stack(y), p_m, y_m


class ReconstructionLoss(nn.Module):
    def __init__(self, loss_func):
        super().__init__()
        self.loss_func = loss_func

    def forward(self, p, y_hat, y):
        total_loss = p.new_tensor(0.0)
        for n in range(p.shape[0]):
            loss = (p[n] * self.loss_func(y_hat[n], y)).mean()
            total_loss = total_loss + loss
        return total_loss


class RegularizationLoss(nn.Module):
    def __init__(self, lambda_p, max_steps=1_000):
        super().__init__()
        p_g = torch.zeros((max_steps,))
        not_halted = 1.0
        for k in range(max_steps):
            p_g[k] = not_halted * lambda_p
            not_halted = not_halted * (1 - lambda_p)
        self.p_g = nn.Parameter(p_g, requires_grad=False)
        self.kl_div = nn.KLDivLoss(reduction="batchmean")

    def forward(self, p):
        p = p.transpose(0, 1)
        p_g = self.p_g[None, :p.shape[1]].expand_as(p)
        return self.kl_div(p.log(), p_g)


def section_ponder() -> None:
    model = ParityPonderGRU(n_elems=6, n_hidden=10, max_steps=5)
    loss_rec = ReconstructionLoss(nn.BCEWithLogitsLoss(reduction="none"))
    loss_reg = RegularizationLoss(lambda_p=0.2, max_steps=20)
    x = torch.randint(-1, 2, (12, 6)).float()
    y = (x == 1).sum(-1).remainder(2).float()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    record = []
    for _ in range(4):
        p, y_hat, p_sampled, y_hat_sampled = model(x)
        rec = loss_rec(p, y_hat, y)
        reg = loss_reg(p)
        loss = rec + 0.01 * reg
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        acc = ((y_hat_sampled > 0) == y).float().mean()
        steps = (torch.arange(1, p.shape[0] + 1, dtype=p.dtype)[:, None] * p).sum(0).mean()
        record.append([loss.item(), rec.item(), reg.item(), acc.item(), steps.item()])
    put("ponder.record", record)
    put("ponder.p", p)
    put("ponder.p_g", loss_reg.p_g[:6])
    model.is_halt = True
    model.eval()
    with torch.no_grad():
        p, _, p_m, y_m = model(x)
    put("ponder.eval", [p_m, y_m])
    put("ponder.eval_steps", p.shape[0])
    put_state("ponder.state", model)


SECTIONS = {"alibi": section_alibi, "rope": section_rope, "switch": section_switch,
            "capsule": section_capsule, "gmlp": section_gmlp, "fnet": section_fnet,
            "hopfield": section_hopfield, "ponder": section_ponder}
