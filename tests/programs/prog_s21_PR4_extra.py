"""More research-code idioms, afresh (PR4, session 21): an LSTM language model stepped by
LSTMCell with variational (time-shared) dropout masks, zoneout and truncated backpropagation
through time, checked against nn.LSTM with the same weights; the autograd tools of
memory-conscious training (activation checkpointing without reentrancy, tensor hooks for
gradient reversal, retain_grad, saved-tensor hooks counting what is saved, inference_mode,
gradient accumulation); a complex-valued network trained by Adam on complex parameters; and
efficient attention variants (causal linear attention by cumulative sums, Performer random
features from QR-orthogonalized projections, local windowed attention by unfold, baddbmm /
addcmul / lerp / tensordot). Tiny sizes; run by prog_s21_PR4_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.utils.checkpoint import checkpoint


class CellLM(nn.Module):
    def __init__(self, vocab=12, dim=8, hidden=10, dropout=0.3, zoneout=0.2):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.cell = nn.LSTMCell(dim, hidden)
        self.out = nn.Linear(hidden, vocab)
        self.dropout, self.zoneout = dropout, zoneout

    def forward(self, tokens, state):
        h, c = state
        batch = tokens.shape[1]
        if self.training:  # one mask for every step of the sequence (variational dropout)
            keep = 1 - self.dropout
            mask = torch.bernoulli(torch.full((batch, self.cell.hidden_size), keep)) / keep
        outputs = []
        for x in self.embed(tokens):
            new_h, new_c = self.cell(x, (h, c))
            if self.training:
                zone = torch.bernoulli(torch.full_like(h, self.zoneout))
                new_h = zone * h + (1 - zone) * new_h
                new_c = zone * c + (1 - zone) * new_c
                outputs.append(new_h * mask)
            else:
                outputs.append(new_h)
            h, c = new_h, new_c
        return self.out(torch.stack(outputs)), (h, c)


def section_cell_lm() -> None:
    model = CellLM()
    stream = torch.randint(0, 12, (41, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    state = (torch.zeros(3, 10), torch.zeros(3, 10))
    losses = []
    for start in range(0, 40, 8):  # truncated BPTT: the state carried, its history cut
        state = tuple(s.detach() for s in state)
        x, y = stream[start:start + 8], stream[start + 1:start + 9]
        logits, state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, 12), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        losses.append(loss.item())
    put("cell.losses", losses)
    put("cell.state", list(state))
    put_state("cell.model", model)
    # evaluation: the cell loop equals nn.LSTM with the same weights
    model.eval()
    lstm = nn.LSTM(8, 10)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, name + "_l0").copy_(getattr(model.cell, name))
        h0 = (torch.randn(1, 3, 10), torch.randn(1, 3, 10))
        emb = model.embed(stream[:8])
        ours, (h, c) = lstm(emb, h0)
        logits, (h2, c2) = model(stream[:8], (h0[0][0], h0[1][0]))
    put("cell.lstm_gap", (model.out(ours) - logits).abs().max())
    put("cell.lstm_out", ours)
    put("cell.gru_cell", nn.GRUCell(4, 3)(torch.randn(2, 4)))
    put("cell.rnn_cell", nn.RNNCell(4, 3, nonlinearity="relu")(torch.randn(2, 4),
                                                                 torch.randn(2, 3)))


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.ff = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.GELU(),
                                nn.Linear(2 * dim, dim))

    def forward(self, x):
        return x + self.ff(x)


def section_autograd_tools() -> None:
    blocks = nn.ModuleList(Block(6) for _ in range(3))
    head = nn.Linear(6, 2)
    domain = nn.Linear(6, 2)
    x = torch.randn(8, 6)
    y = torch.randint(0, 2, (8,))
    d = torch.randint(0, 2, (8,))
    params = list(blocks.parameters()) + list(head.parameters()) + list(domain.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-2)
    losses, feature_grads = [], []
    accumulation = 2
    for _step in range(4):
        for micro in range(accumulation):
            rows = slice(micro * 4, micro * 4 + 4)
            h = x[rows]
            for block in blocks:
                h = checkpoint(block, h, use_reentrant=False)
            h.retain_grad()
            hook_seen = []
            h.register_hook(lambda g, seen=hook_seen: seen.append(g.norm()))
            task = F.cross_entropy(head(h), y[rows])
            adversary = F.cross_entropy(domain(GradReverse.apply(h, 0.5)), d[rows])
            loss = (task + adversary) / accumulation
            loss.backward()
            feature_grads.append(h.grad.norm())
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    put("tools.losses", losses)
    put("tools.feature_grads", torch.stack(feature_grads))
    put("tools.hook_seen", torch.stack(hook_seen))
    put_state("tools.blocks", blocks)
    # checkpointing gives the same gradients as the plain forward
    grads = []
    for use_checkpoint in (True, False):
        blocks.zero_grad()
        h = x
        for block in blocks:
            h = checkpoint(block, h, use_reentrant=False) if use_checkpoint else block(h)
        h.pow(2).sum().backward()
        grads.append(blocks[0].ff[1].weight.grad.clone())
    put("tools.checkpoint_gap", (grads[0] - grads[1]).abs().max())
    put("tools.checkpoint_grad", grads[0])
    # what autograd saves: count and total size through saved-tensor hooks
    saved = []

    def pack(tensor):
        saved.append(tensor.numel())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = head(blocks[0](x)).sum()
    out.backward()
    put("tools.n_saved_positive", len(saved) > 0)
    with torch.inference_mode():
        frozen = head(x)
    put("tools.inference", frozen)
    put("tools.inference_flags", [frozen.requires_grad, frozen.is_inference(),
                                  torch.is_inference_mode_enabled()])
    w = torch.randn(3, requires_grad=True)
    z = (w * 2).detach_()
    put("tools.detach_", [z.requires_grad, z.grad_fn is None])
    w.register_hook(lambda g: g * 10)
    (w ** 2).sum().backward()
    put("tools.hooked_grad", w.grad)
    v = torch.randn(3, requires_grad=True)
    partial = (v * 3).sum()
    (g,) = torch.autograd.grad(partial, v, create_graph=True)
    put("tools.grad_requires", g.requires_grad)
    put("tools.allow_unused", torch.autograd.grad((v * 2).sum(), [v, w], allow_unused=True,
                                                  materialize_grads=True)[1])


class ComplexLinear(nn.Module):
    def __init__(self, inp, out):
        super().__init__()
        scale = 1 / math.sqrt(inp)
        self.weight = nn.Parameter(torch.randn(out, inp, dtype=torch.cfloat) * scale)
        self.bias = nn.Parameter(torch.zeros(out, dtype=torch.cfloat))

    def forward(self, x):
        return x @ self.weight.T + self.bias


def section_complex_net() -> None:
    # learn a fixed complex filter: y = H x in the frequency domain
    signal = torch.randn(16, 8)
    spectrum = torch.fft.rfft(signal, dim=-1)  # [16, 5] complex
    h_true = torch.polar(torch.linspace(0.5, 1.5, 5), torch.linspace(-1, 1, 5))
    target = spectrum * h_true
    net = nn.Sequential(ComplexLinear(5, 8), ComplexLinear(8, 5))
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-2)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        out = net(spectrum)
        loss = (out - target).abs().pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("cplx.losses", losses)
    put("cplx.grad_dtype", str(net[0].weight.grad.dtype))
    put("cplx.weight", torch.view_as_real(net[0].weight.detach()))
    put("cplx.exp_avg", torch.view_as_real(optimizer.state[net[0].weight]["exp_avg"]))
    put("cplx.exp_avg_sq_dtype", str(optimizer.state[net[0].weight]["exp_avg_sq"].dtype))
    with torch.no_grad():
        out = net(spectrum)
        put("cplx.angle", out.angle()[:2])
        put("cplx.irfft", torch.fft.irfft(out, n=8, dim=-1)[:2])
        put("cplx.conj_phys", torch.conj_physical(out[:2, :2]))
        # (not is_conj(): deltagrad materializes conj, a documented divergence)
        put("cplx.conj", out.conj().resolve_conj()[:2])
        put("cplx.real_imag", [out.real[:2], out.imag[:2]])
    put("cplx.sgd_complex", _complex_sgd())


def _complex_sgd():
    z = torch.tensor([1 + 1j, -0.5 + 2j], requires_grad=True)
    optimizer = torch.optim.SGD([z], lr=0.1, momentum=0.9)
    for _ in range(3):
        optimizer.zero_grad()
        (z * z.conj()).real.sum().backward()
        optimizer.step()
    return torch.view_as_real(z.detach())


def section_efficient_attention() -> None:
    b, h, t, d = 2, 2, 10, 4
    q, k, v = (torch.randn(b, h, t, d, requires_grad=True) for _ in range(3))
    # causal linear attention: phi(q) . cumsum(phi(k) v^T)
    phi_q, phi_k = F.elu(q) + 1, F.elu(k) + 1
    kv = torch.einsum("bhtd,bhte->bhtde", phi_k, v).cumsum(2)
    numerator = torch.einsum("bhtd,bhtde->bhte", phi_q, kv)
    denominator = torch.einsum("bhtd,bhtd->bht", phi_q, phi_k.cumsum(2))[..., None]
    linear_out = numerator / denominator
    # the same by an explicit causal mask
    scores = phi_q @ phi_k.transpose(-1, -2)
    scores = scores.masked_fill(~torch.ones(t, t, dtype=torch.bool).tril(), 0)
    explicit = (scores / scores.sum(-1, keepdim=True)) @ v
    put("attn.linear", linear_out)
    put("attn.linear_gap", (linear_out - explicit).abs().max())
    linear_out.sum().backward()
    put("attn.linear_grad_q", q.grad)
    # Performer: positive random features from orthogonal projections
    m = 8
    blocks = [torch.linalg.qr(torch.randn(d, d)).Q for _ in range(m // d)]
    projection = torch.cat(blocks, 0) * torch.randn(m, d).norm(dim=1, keepdim=True)

    def features(x):
        x = x / d ** 0.25
        return torch.exp(x @ projection.T - x.pow(2).sum(-1, keepdim=True) / 2) / math.sqrt(m)

    with torch.no_grad():
        fq, fk = features(q), features(k)
        approx = (fq @ (fk.transpose(-1, -2) @ v)) / (fq @ fk.sum(2, keepdim=True)
                                                      .transpose(-1, -2))
        exact = F.scaled_dot_product_attention(q, k, v)
    put("attn.performer", approx)
    put("attn.exact", exact)
    put("attn.qr_orth", (blocks[0] @ blocks[0].T - torch.eye(d)).abs().max() < 1e-5)
    # local attention: each position attends to a window of 3 around it (zero padded)
    window = 3
    k_pad = F.pad(k.detach(), (0, 0, 1, 1))
    v_pad = F.pad(v.detach(), (0, 0, 1, 1))
    k_win = k_pad.unfold(2, window, 1).transpose(-1, -2)  # [b, h, t, window, d]
    v_win = v_pad.unfold(2, window, 1).transpose(-1, -2)
    local_scores = torch.einsum("bhtd,bhtwd->bhtw", q.detach(), k_win) / math.sqrt(d)
    valid = F.pad(torch.ones(t), (1, 1)).unfold(0, window, 1).bool()
    local_scores = local_scores.masked_fill(~valid, float("-inf"))
    local = torch.einsum("bhtw,bhtwd->bhtd", local_scores.softmax(-1), v_win)
    put("attn.local", local)
    put("attn.valid", valid)
    # the fused helpers attention code reaches for
    a, bm = torch.randn(2, 3, 4), torch.randn(2, 4, 5)
    put("attn.baddbmm", torch.baddbmm(torch.ones(2, 3, 5), a, bm, beta=0.5, alpha=2.0))
    put("attn.addcmul", torch.addcmul(torch.ones(3), torch.arange(3.0), torch.ones(3),
                                      value=0.5))
    put("attn.addcdiv", torch.addcdiv(torch.ones(3), torch.arange(3.0), torch.full((3,), 2.0),
                                      value=-1))
    put("attn.lerp", torch.lerp(torch.zeros(3), torch.ones(3), torch.tensor([0.0, 0.3, 1.0])))
    put("attn.tensordot", torch.tensordot(a, bm, dims=([2], [1])))
    put("attn.tensordot_int", torch.tensordot(a, torch.randn(3, 4, 2), dims=2))
    put("attn.einsum_ellipsis", torch.einsum("...ij,...jk->...ik", a, bm))
    put("attn.addmm", torch.addmm(torch.zeros(3, 5), a[0], bm[0], beta=0, alpha=1.5))


SECTIONS = {"cell_lm": section_cell_lm, "autograd_tools": section_autograd_tools,
            "complex_net": section_complex_net, "efficient_attention": section_efficient_attention}
