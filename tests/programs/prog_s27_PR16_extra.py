"""Further components of today's public model code (PR16, session 27), written afresh: a
timm-style ViT attention (qkv reshape / permute / unbind) with layer-wise learning-rate decay,
a causal depthwise Conv1d with a cumulative-sum scan (state-space style), sinusoidal position
and timestep embeddings with a diffusion noise schedule (gather at t, q_sample, one DDIM
step), CLIP's symmetric contrastive loss with a clamped logit scale, and a VQ codebook with
cdist / argmin and a straight-through estimator. Tiny sizes, seeded; run by
prog_s27_PR16_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


class Attention(nn.Module):
    def __init__(self, dim, num_heads=2, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, fused=True):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        if fused:
            x = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
        else:
            q = q * self.scale
            attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
            x = attn @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


def section_vit_lld() -> None:
    torch.manual_seed(40)
    blocks = nn.ModuleList([nn.ModuleDict({"norm": nn.LayerNorm(8), "attn": Attention(8)})
                            for _ in range(3)])
    head = nn.Linear(8, 2)
    for m in [*blocks.modules(), head]:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)
    x, y = torch.randn(3, 5, 8), torch.tensor([0, 1, 1])
    groups = []
    for i, blk in enumerate(blocks):
        scale = 0.75 ** (len(blocks) - i)
        groups.append({"params": list(blk.parameters()), "lr": 1e-2 * scale,
                       "lr_scale": scale})
    groups.append({"params": head.parameters(), "lr": 1e-2})
    opt = torch.optim.AdamW(groups, weight_decay=0.05)
    with printed("vit.log"):
        h = blocks[0]["attn"](x)
        print("fused == manual", torch.allclose(h, blocks[0]["attn"](x, fused=False), atol=1e-6))
        print("group lrs", [f"{g['lr']:.5f}" for g in opt.param_groups],
              [round(g.get("lr_scale", 1.0), 4) for g in opt.param_groups])
        for step in range(3):
            h = x
            for blk in blocks:
                h = h + blk["attn"](blk["norm"](h))
            loss = F.cross_entropy(head(h[:, 0]), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_value_(blocks.parameters(), 0.05)
            opt.step()
            print(f"step {step} loss {loss.item():.4f}")
        print("max grad", f"{max(p.grad.abs().max().item() for p in blocks.parameters()):.4f}")
        put("vit.h", h)


def section_causal_conv_scan() -> None:
    torch.manual_seed(41)
    d, L = 4, 7
    conv = nn.Conv1d(d, d, kernel_size=3, groups=d, padding=2)
    x = torch.randn(2, L, d, requires_grad=True)
    with printed("ssm.log"):
        u = conv(x.transpose(1, 2))[..., :L]
        u2 = F.conv1d(F.pad(x.transpose(1, 2), (2, 0)), conv.weight, conv.bias, groups=d)
        print("slice == left pad", torch.allclose(u, u2, atol=1e-6), tuple(u.shape))
        delta = F.softplus(u.transpose(1, 2))
        A = -0.5 * torch.exp(torch.linspace(-1, 0, d))
        decay = torch.exp(torch.cumsum(delta * A, dim=1))
        h = torch.cumsum(delta * x / decay, dim=1) * decay
        y = h * F.silu(x)
        y.sum().backward()
        print("scan", tuple(y.shape), f"{y.abs().mean().item():.4f}",
              f"{x.grad.norm().item():.4f}")
        loop = torch.zeros(2, d)
        outs = []
        for t in range(L):
            loop = torch.exp(delta[:, t] * A) * loop + delta[:, t] * x[:, t]
            outs.append(loop)
        print("loop == scan", torch.allclose(torch.stack(outs, 1), h, atol=1e-4))
        print("glu", tuple(F.glu(torch.randn(2, 6), dim=-1).shape),
              torch.chunk(torch.arange(7), 3)[-1].tolist())
        put("ssm.grad", x.grad)


def timestep_embedding(t, dim, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=16):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(0)]


def cosine_beta_schedule(timesteps, s=0.008):
    steps = timesteps + 1
    x = torch.linspace(0, timesteps, steps, dtype=torch.float64)
    alphas_cumprod = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
    return torch.clip(betas, 0, 0.999)


def extract(a, t, x_shape):
    b, *_ = t.shape
    out = a.gather(-1, t)
    return out.reshape(b, *((1,) * (len(x_shape) - 1)))


def section_diffusion() -> None:
    torch.manual_seed(42)
    T = 20
    betas = cosine_beta_schedule(T).float()
    alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
    net = nn.Sequential(nn.Conv2d(1 + 8, 8, 3, padding=1), nn.GroupNorm(4, 8), nn.SiLU(),
                        nn.Conv2d(8, 1, 3, padding=1))
    x0 = torch.randn(4, 1, 4, 4)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    with printed("diff.log"):
        print("betas", f"{betas[0].item():.6f} {betas[-1].item():.6f}", betas.dtype)
        print("pe", tuple(PositionalEncoding(6)(torch.zeros(3, 2, 6)).shape),
              [round(v, 4) for v in PositionalEncoding(6).pe[2, 0].tolist()])
        for step in range(3):
            t = torch.randint(0, T, (4,))
            noise = torch.randn_like(x0)
            xt = extract(alphas_cumprod.sqrt(), t, x0.shape) * x0 + \
                extract((1 - alphas_cumprod).sqrt(), t, x0.shape) * noise
            emb = timestep_embedding(t, 8)[:, :, None, None].expand(-1, -1, 4, 4)
            pred = net(torch.cat([xt, emb], 1))
            loss = F.mse_loss(pred, noise)
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} t {t.tolist()} loss {loss.item():.4f}")
        with torch.no_grad():
            t = torch.full((4,), 10, dtype=torch.long)
            xt = torch.randn_like(x0)
            eps = net(torch.cat([xt, timestep_embedding(t, 8)[:, :, None, None].expand(
                -1, -1, 4, 4)], 1))
            a_t, a_prev = alphas_cumprod[10], alphas_cumprod[5]
            x0_hat = (xt - (1 - a_t).sqrt() * eps) / a_t.sqrt()
            x_prev = a_prev.sqrt() * x0_hat.clamp(-1, 1) + (1 - a_prev).sqrt() * eps
            print("ddim", tuple(x_prev.shape), f"{x_prev.std().item():.4f}")
            up = F.interpolate(x_prev, scale_factor=2, mode="nearest")
            print("upsample", tuple(up.shape))
        put("diff.x_prev", x_prev)


def section_clip() -> None:
    torch.manual_seed(43)
    img, txt = nn.Linear(10, 6), nn.Linear(7, 6)
    logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
    xi, xt = torch.randn(5, 10), torch.randn(5, 7)
    opt = torch.optim.AdamW([*img.parameters(), *txt.parameters(), logit_scale], lr=0.05)
    with printed("clip.log"):
        for step in range(4):
            a = F.normalize(img(xi), dim=-1)
            b = txt(xt)
            b = b / b.norm(dim=1, keepdim=True)
            scale = logit_scale.exp().clamp(max=100)
            logits = scale * a @ b.t()
            labels = torch.arange(len(logits))
            loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                logit_scale.clamp_(0, math.log(100))
            acc = (logits.argmax(-1) == labels).float().mean()
            print(f"step {step} loss {loss.item():.4f} scale {scale.item():.3f} acc {acc:.2f}")
        put("clip.logits", logits)


class VQ(nn.Module):
    def __init__(self, n=6, d=3, beta=0.25):
        super().__init__()
        self.codebook = nn.Embedding(n, d)
        self.codebook.weight.data.uniform_(-1 / n, 1 / n)
        self.beta = beta

    def forward(self, z):
        flat = z.reshape(-1, z.shape[-1])
        dist = torch.cdist(flat, self.codebook.weight)
        idx = dist.argmin(-1)
        zq = self.codebook(idx).view_as(z)
        loss = F.mse_loss(zq, z.detach()) + self.beta * F.mse_loss(z, zq.detach())
        zq = z + (zq - z).detach()
        return zq, loss, idx


def section_vq() -> None:
    torch.manual_seed(44)
    enc, dec, vq = nn.Linear(4, 3), nn.Linear(3, 4), VQ()
    x = torch.randn(8, 4)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters(), *vq.parameters()], lr=0.05)
    with printed("vq.log"):
        for step in range(4):
            zq, vq_loss, idx = vq(enc(x))
            loss = F.mse_loss(dec(zq), x) + vq_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} loss {loss.item():.4f} codes {idx.tolist()}")
        usage = torch.bincount(idx, minlength=6).float() / idx.numel()
        perplexity = torch.exp(-(usage * torch.log(usage + 1e-10)).sum())
        print("perplexity", f"{perplexity.item():.4f}", "enc grad", enc.weight.grad is not None)
        q = torch.randn(5)
        ste = q + (torch.round(q * 4) / 4 - q).detach()
        ste.sum().backward() if q.requires_grad else None
        print("fake quant", ste.tolist() == (torch.round(q * 4) / 4).tolist())
        put("vq.codebook", vq.codebook.weight)


SECTIONS = {"vit_lld": section_vit_lld, "causal_conv_scan": section_causal_conv_scan,
            "diffusion": section_diffusion, "clip": section_clip, "vq": section_vq}
