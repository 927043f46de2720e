"""Diffusion and vector-quantisation code in the style widely copied on GitHub, written afresh
(PR, session 18): a DDPM in the manner of the "annotated diffusion" / denoising-diffusion
repositories (sinusoidal timestep embeddings, a small UNet with GroupNorm, SiLU, a self-attention
block, strided down- and nearest up-sampling, linear and cosine beta schedules, schedule values
picked with ``gather``, an EMA copy of the weights, the ancestral sampler), and a VQ-VAE
quantiser with the straight-through estimator and the commitment loss. Tiny sizes; run by
prog_s18_PR_all.py.
"""

import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def linear_beta_schedule(timesteps):
    return torch.linspace(1e-4, 0.02, timesteps)


def cosine_beta_schedule(timesteps, s=0.008):
    steps = timesteps + 1
    x = torch.linspace(0, timesteps, steps, dtype=torch.float64)
    alphas_cumprod = torch.cos(((x / timesteps) + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
    return torch.clip(betas, 0.0001, 0.9999).float()


def extract(a, t, x_shape):
    batch_size = t.shape[0]
    out = a.gather(-1, t.cpu())
    return out.reshape(batch_size, *((1,) * (len(x_shape) - 1))).to(t.device)


class SinusoidalPositionEmbeddings(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, time):
        half_dim = self.dim // 2
        embeddings = math.log(10000) / (half_dim - 1)
        embeddings = torch.exp(torch.arange(half_dim, device=time.device) * -embeddings)
        embeddings = time[:, None] * embeddings[None, :]
        return torch.cat((embeddings.sin(), embeddings.cos()), dim=-1)


class ResnetBlock(nn.Module):
    def __init__(self, dim, dim_out, time_emb_dim, groups=4):
        super().__init__()
        self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(time_emb_dim, dim_out * 2))
        self.block1 = nn.Sequential(nn.Conv2d(dim, dim_out, 3, padding=1),
                                    nn.GroupNorm(groups, dim_out), nn.SiLU())
        self.block2 = nn.Sequential(nn.Conv2d(dim_out, dim_out, 3, padding=1),
                                    nn.GroupNorm(groups, dim_out), nn.SiLU())
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x, time_emb):
        scale, shift = self.mlp(time_emb)[:, :, None, None].chunk(2, dim=1)
        h = self.block1(x)
        h = h * (scale + 1) + shift
        h = self.block2(h)
        return h + self.res_conv(x)


class Attention(nn.Module):
    def __init__(self, dim, heads=2, dim_head=8):
        super().__init__()
        self.scale = dim_head ** -0.5
        self.heads = heads
        hidden_dim = dim_head * heads
        self.norm = nn.GroupNorm(1, dim)
        self.to_qkv = nn.Conv2d(dim, hidden_dim * 3, 1, bias=False)
        self.to_out = nn.Conv2d(hidden_dim, dim, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        qkv = self.to_qkv(self.norm(x)).chunk(3, dim=1)
        q, k, v = (t.reshape(b, self.heads, -1, h * w) for t in qkv)
        q = q * self.scale
        sim = torch.einsum("b h d i, b h d j -> b h i j", q, k)
        sim = sim - sim.amax(dim=-1, keepdim=True).detach()
        attn = sim.softmax(dim=-1)
        out = torch.einsum("b h i j, b h d j -> b h i d", attn, v)
        out = out.permute(0, 1, 3, 2).reshape(b, -1, h, w)
        return self.to_out(out) + x


class Unet(nn.Module):
    def __init__(self, dim=8, channels=1):
        super().__init__()
        time_dim = dim * 4
        self.init_conv = nn.Conv2d(channels, dim, 7, padding=3)
        self.time_mlp = nn.Sequential(SinusoidalPositionEmbeddings(dim), nn.Linear(dim, time_dim),
                                      nn.GELU(), nn.Linear(time_dim, time_dim))
        self.down1 = ResnetBlock(dim, dim, time_dim)
        self.downsample = nn.Conv2d(dim, dim * 2, 4, 2, 1)
        self.mid1 = ResnetBlock(dim * 2, dim * 2, time_dim)
        self.mid_attn = Attention(dim * 2)
        self.upsample = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                      nn.Conv2d(dim * 2, dim, 3, padding=1))
        self.up1 = ResnetBlock(dim * 2, dim, time_dim)
        self.final_conv = nn.Conv2d(dim, channels, 1)

    def forward(self, x, time):
        x = self.init_conv(x)
        t = self.time_mlp(time)
        h = self.down1(x, t)
        x = self.mid_attn(self.mid1(self.downsample(h), t))
        x = self.upsample(x)
        x = self.up1(torch.cat((x, h), dim=1), t)
        return self.final_conv(x)


def section_ddpm() -> None:
    timesteps = 20
    for name, schedule in (("linear", linear_beta_schedule), ("cosine", cosine_beta_schedule)):
        put(f"ddpm.betas_{name}", schedule(timesteps))
    betas = cosine_beta_schedule(timesteps)
    alphas = 1.0 - betas
    alphas_cumprod = torch.cumprod(alphas, axis=0)
    alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
    sqrt_recip_alphas = torch.sqrt(1.0 / alphas)
    sqrt_alphas_cumprod = torch.sqrt(alphas_cumprod)
    sqrt_one_minus_alphas_cumprod = torch.sqrt(1.0 - alphas_cumprod)
    posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
    put("ddpm.posterior_variance", posterior_variance)

    def q_sample(x_start, t, noise):
        return (extract(sqrt_alphas_cumprod, t, x_start.shape) * x_start
                + extract(sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

    model = Unet()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.tanh(torch.randn(16, 1, 8, 8))
    losses = []
    for step in range(4):
        batch = data[step % 2 * 8:(step % 2 + 1) * 8]
        optimizer.zero_grad()
        t = torch.randint(0, timesteps, (batch.shape[0],), device=batch.device).long()
        noise = torch.randn_like(batch)
        predicted_noise = model(q_sample(batch, t, noise), t)
        if step % 2:
            loss = F.smooth_l1_loss(noise, predicted_noise)
        else:
            loss = F.mse_loss(noise, predicted_noise)
        loss.backward()
        if step == 0:
            put("ddpm.grad_attn", model.mid_attn.to_qkv.weight.grad)
            put("ddpm.grad_time", model.time_mlp[1].weight.grad)
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters()):
                p_ema.mul_(0.9).add_(p.detach(), alpha=0.1)
    put("ddpm.losses", losses)
    put_state("ddpm.ema", ema)

    @torch.no_grad()
    def p_sample(net, x, t, t_index):
        betas_t = extract(betas, t, x.shape)
        sqrt_one_minus_alphas_cumprod_t = extract(sqrt_one_minus_alphas_cumprod, t, x.shape)
        sqrt_recip_alphas_t = extract(sqrt_recip_alphas, t, x.shape)
        model_mean = sqrt_recip_alphas_t * (
            x - betas_t * net(x, t) / sqrt_one_minus_alphas_cumprod_t)
        if t_index == 0:
            return model_mean
        posterior_variance_t = extract(posterior_variance, t, x.shape)
        return model_mean + torch.sqrt(posterior_variance_t) * torch.randn_like(x)

    img = torch.randn(2, 1, 8, 8)
    imgs = []
    for i in reversed(range(0, timesteps)):
        img = p_sample(ema, img, torch.full((2,), i, dtype=torch.long), i)
        if i % 5 == 0:
            imgs.append(img.clamp(-1, 1))
    put("ddpm.samples", imgs)
    put("ddpm.final", (img.clamp(-1, 1) + 1) * 0.5)


def section_ddpm_amp() -> None:
    # one mixed-precision step of the same UNet: convolutions and linears in bfloat16, their
    # outputs into GroupNorm's float32 parameters (PyTorch's mixed-type kernel)
    model = Unet()
    for p in model.parameters():  # (uniform draws: bit-identical on both sides)
        nn.init.uniform_(p, -0.3, 0.3)
    x, t = torch.rand(4, 1, 8, 8) * 2 - 1, torch.tensor([0, 5, 10, 19])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = model.init_conv(x)
        emb = model.time_mlp(t)
        block = model.down1(h, emb)
        out = model(x, t)
        loss = F.mse_loss(out.float(), x)
    put("ddpm_amp.dtypes", [str(v.dtype) for v in (h, emb, block, out)])
    put("ddpm_amp.block", block.float())
    put("ddpm_amp.loss", loss)
    loss.backward()
    put("ddpm_amp.grad_conv", model.init_conv.weight.grad)
    put("ddpm_amp.grad_norm", model.down1.block1[1].weight.grad)


class VectorQuantizer(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, commitment_cost):
        super().__init__()
        self.embedding = nn.Embedding(num_embeddings, embedding_dim)
        self.embedding.weight.data.uniform_(-1 / num_embeddings, 1 / num_embeddings)
        self.commitment_cost = commitment_cost

    def forward(self, inputs):
        inputs = inputs.permute(0, 2, 3, 1).contiguous()
        flat_input = inputs.view(-1, self.embedding.embedding_dim)
        distances = (torch.sum(flat_input ** 2, dim=1, keepdim=True)
                     + torch.sum(self.embedding.weight ** 2, dim=1)
                     - 2 * torch.matmul(flat_input, self.embedding.weight.t()))
        encoding_indices = torch.argmin(distances, dim=1).unsqueeze(1)
        encodings = torch.zeros(encoding_indices.shape[0], self.embedding.num_embeddings)
        encodings.scatter_(1, encoding_indices, 1)
        quantized = torch.matmul(encodings, self.embedding.weight).view(inputs.shape)
        e_latent_loss = F.mse_loss(quantized.detach(), inputs)
        q_latent_loss = F.mse_loss(quantized, inputs.detach())
        loss = q_latent_loss + self.commitment_cost * e_latent_loss
        quantized = inputs + (quantized - inputs).detach()
        avg_probs = torch.mean(encodings, dim=0)
        perplexity = torch.exp(-torch.sum(avg_probs * torch.log(avg_probs + 1e-10)))
        return loss, quantized.permute(0, 3, 1, 2).contiguous(), perplexity, encoding_indices


def section_vqvae() -> None:
    encoder = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.ReLU(), nn.Conv2d(8, 4, 1))
    vq = VectorQuantizer(6, 4, 0.25)
    decoder = nn.Sequential(nn.ConvTranspose2d(4, 8, 4, 2, 1), nn.ReLU(),
                            nn.Conv2d(8, 1, 3, padding=1))
    params = [*encoder.parameters(), *vq.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=2e-3, amsgrad=False)
    x = torch.rand(6, 1, 8, 8)
    data_variance = x.var()
    losses = []
    for step in range(5):
        optimizer.zero_grad()
        vq_loss, quantized, perplexity, indices = vq(encoder(x))
        recon = decoder(quantized)
        recon_error = F.mse_loss(recon, x) / data_variance
        loss = recon_error + vq_loss
        loss.backward()
        if step == 0:
            put("vqvae.grad_encoder", encoder[0].weight.grad)
            put("vqvae.grad_codebook", vq.embedding.weight.grad)
            put("vqvae.indices0", indices)
        optimizer.step()
        losses.append([loss.item(), vq_loss.item(), perplexity.item()])
    put("vqvae.losses", losses)
    put_state("vqvae.vq", vq)


SECTIONS = {"ddpm": section_ddpm, "ddpm_amp": section_ddpm_amp, "vqvae": section_vqvae}
