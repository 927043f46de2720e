"""More educational code, written afresh (PR2, session 19): NeRF's positional encoding, volume
rendering (an exclusive cumulative product of transmittance) and hierarchical sampling of a
piecewise-constant pdf by ``searchsorted``; Transformer-XL's relative attention with its
pad-and-view ``rel_shift``; a spatial transformer network (``affine_grid`` / ``grid_sample``
with gradients to the localisation net); Gaussian-process regression by Cholesky factors
(``cholesky_solve``, the log marginal likelihood optimised over kernel hyper-parameters);
a CTC speech head (``CTCLoss`` over ``log_softmax`` and greedy collapse of repeats); CS231n's
"fast" convolution through ``F.unfold`` / ``F.fold`` (im2col and col2im); sparsemax; and
Performer's FAVOR+ random-feature attention. Tiny sizes; run by prog_s19_PR_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def positional_encoding(x, n_freqs):
    out = [x]
    for i in range(n_freqs):
        for fn in (torch.sin, torch.cos):
            out.append(fn(2.0 ** i * x))
    return torch.cat(out, -1)


def raw2outputs(raw, z_vals, rays_d, raw_noise_std=0.0):
    dists = z_vals[..., 1:] - z_vals[..., :-1]
    dists = torch.cat([dists, torch.tensor([1e10]).expand(dists[..., :1].shape)], -1)
    dists = dists * torch.norm(rays_d[..., None, :], dim=-1)
    rgb = torch.sigmoid(raw[..., :3])
    noise = torch.randn(raw[..., 3].shape) * raw_noise_std if raw_noise_std > 0 else 0.0
    alpha = 1.0 - torch.exp(-F.relu(raw[..., 3] + noise) * dists)
    weights = alpha * torch.cumprod(torch.cat([torch.ones((alpha.shape[0], 1)),
                                               1.0 - alpha + 1e-10], -1), -1)[:, :-1]
    rgb_map = torch.sum(weights[..., None] * rgb, -2)
    depth_map = torch.sum(weights * z_vals, -1)
    disp_map = 1.0 / torch.max(1e-10 * torch.ones_like(depth_map),
                               depth_map / torch.sum(weights, -1))
    acc_map = torch.sum(weights, -1)
    return rgb_map, disp_map, acc_map, weights, depth_map


def sample_pdf(bins, weights, n_samples, det=False):
    weights = weights + 1e-5
    pdf = weights / torch.sum(weights, -1, keepdim=True)
    cdf = torch.cumsum(pdf, -1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)
    if det:
        u = torch.linspace(0.0, 1.0, steps=n_samples)
        u = u.expand(list(cdf.shape[:-1]) + [n_samples])
    else:
        u = torch.rand(list(cdf.shape[:-1]) + [n_samples])
    u = u.contiguous()
    inds = torch.searchsorted(cdf, u, right=True)
    below = torch.max(torch.zeros_like(inds - 1), inds - 1)
    above = torch.min((cdf.shape[-1] - 1) * torch.ones_like(inds), inds)
    inds_g = torch.stack([below, above], -1)
    matched_shape = [inds_g.shape[0], inds_g.shape[1], cdf.shape[-1]]
    cdf_g = torch.gather(cdf.unsqueeze(1).expand(matched_shape), 2, inds_g)
    bins_g = torch.gather(bins.unsqueeze(1).expand(matched_shape), 2, inds_g)
    denom = cdf_g[..., 1] - cdf_g[..., 0]
    denom = torch.where(denom < 1e-5, torch.ones_like(denom), denom)
    t = (u - cdf_g[..., 0]) / denom
    return bins_g[..., 0] + t * (bins_g[..., 1] - bins_g[..., 0])


def section_nerf() -> None:
    mlp = nn.Sequential(nn.Linear(3 * 9, 32), nn.ReLU(), nn.Linear(32, 4))
    rays_o = torch.randn(6, 3)
    rays_d = F.normalize(torch.randn(6, 3), dim=-1)
    near, far, n_samples = 2.0, 6.0, 8
    t_vals = torch.linspace(0.0, 1.0, steps=n_samples)
    z_vals = near * (1.0 - t_vals) + far * t_vals
    z_vals = z_vals.expand([6, n_samples])
    mids = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
    upper = torch.cat([mids, z_vals[..., -1:]], -1)
    lower = torch.cat([z_vals[..., :1], mids], -1)
    z_vals = lower + (upper - lower) * torch.rand(z_vals.shape)
    target = torch.rand(6, 3)
    opt = torch.optim.Adam(mlp.parameters(), lr=5e-3)
    losses = []
    for step in range(4):
        pts = rays_o[..., None, :] + rays_d[..., None, :] * z_vals[..., :, None]
        raw = mlp(positional_encoding(pts, 4))
        rgb, disp, acc, weights, depth = raw2outputs(raw, z_vals, rays_d,
                                                     raw_noise_std=1.0 if step == 0 else 0.0)
        loss = F.mse_loss(rgb, target)
        psnr = -10.0 * torch.log(loss) / torch.log(torch.tensor([10.0]))
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append([loss.item(), psnr.item()])
    put("nerf.losses", losses)
    put("nerf.maps", [rgb, disp, acc, weights, depth])
    z_mid = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
    put("nerf.fine_det", sample_pdf(z_mid, weights[..., 1:-1].detach(), 5, det=True))
    put("nerf.fine_rand", sample_pdf(z_mid, weights[..., 1:-1].detach(), 5))
    z_all, _ = torch.sort(torch.cat([z_vals, sample_pdf(z_mid, weights[..., 1:-1].detach(), 5,
                                                        det=True)], -1), -1)
    put("nerf.z_all", z_all)
    put_state("nerf.state", mlp)


def rel_shift(x):  # x: [i, j, batch, heads], the Transformer-XL shift
    zero_pad = x.new_zeros(x.shape[0], 1, *x.shape[2:])
    x_padded = torch.cat([x, zero_pad], dim=1)
    x_padded = x_padded.view(x.shape[1] + 1, x.shape[0], *x.shape[2:])
    return x_padded[:-1].view_as(x)


class RelativeMHA(nn.Module):
    def __init__(self, heads, d_model, P=8):
        super().__init__()
        self.heads, self.d_k, self.P = heads, d_model // heads, P
        self.query = nn.Linear(d_model, d_model)
        # (no bias on the keys: a per-head constant added to every key shifts each row of
        # scores by one number, so its gradient is zero up to rounding, and Adam turns that
        # rounding noise into full steps that differ from run to run of another library)
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.value = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.key_pos_embeddings = nn.Parameter(torch.zeros(2 * P, heads, self.d_k),
                                               requires_grad=True)
        self.key_pos_bias = nn.Parameter(torch.zeros(2 * P, heads), requires_grad=True)
        self.query_pos_bias = nn.Parameter(torch.zeros(heads, self.d_k), requires_grad=True)

    def forward(self, x, mem):  # x [seq, batch, d], mem [mem_len, batch, d]
        seq, batch, _ = x.shape
        kv_in = torch.cat([mem, x], 0)
        q = self.query(x).view(seq, batch, self.heads, self.d_k)
        k = self.key(kv_in).view(kv_in.shape[0], batch, self.heads, self.d_k)
        v = self.value(kv_in).view(kv_in.shape[0], batch, self.heads, self.d_k)
        key_len = k.shape[0]
        key_pos_emb = self.key_pos_embeddings[self.P - key_len:self.P + seq]
        key_pos_bias = self.key_pos_bias[self.P - key_len:self.P + seq]
        ac = torch.einsum("ibhd,jbhd->ijbh", q + self.query_pos_bias[None, None], k)
        b = torch.einsum("ibhd,jhd->ijbh", q, key_pos_emb)
        d = key_pos_bias[None, :, None, :]
        bd = rel_shift(b + d)[:, -key_len:]
        scores = (ac + bd) / math.sqrt(self.d_k)
        mask = torch.ones(seq, key_len, dtype=torch.bool).tril(key_len - seq)
        scores = scores.masked_fill(~mask[:, :, None, None], float("-inf"))
        attn = scores.softmax(dim=1)
        return self.out(torch.einsum("ijbh,jbhd->ibhd", attn, v).reshape(seq, batch, -1))


def section_txl() -> None:
    x = torch.arange(12.0).view(3, 4, 1, 1)
    put("txl.rel_shift", rel_shift(x))
    mha = RelativeMHA(2, 8)
    with torch.no_grad():
        for p in (mha.key_pos_embeddings, mha.key_pos_bias, mha.query_pos_bias):
            p.normal_(0, 0.5)
    segments = torch.randn(3, 4, 2, 8)
    target = torch.randn(3, 4, 2, 8)
    opt = torch.optim.Adam(mha.parameters(), lr=1e-2)
    mem = torch.zeros(0, 2, 8)
    losses = []
    for seg, tgt in zip(segments, target):
        out = mha(seg, mem)
        loss = F.mse_loss(out, tgt)
        loss.backward()
        opt.step()
        opt.zero_grad()
        mem = torch.cat([mem, seg], 0)[-4:].detach()
        losses.append(loss.item())
    put("txl.losses", losses)
    put("txl.out", out)
    put_state("txl.state", mha)


class STN(nn.Module):
    def __init__(self):
        super().__init__()
        self.localization = nn.Sequential(nn.Conv2d(1, 4, kernel_size=3), nn.MaxPool2d(2),
                                          nn.ReLU(True))
        self.fc_loc = nn.Sequential(nn.Linear(4 * 3 * 3, 8), nn.ReLU(True), nn.Linear(8, 6))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))
        self.fc = nn.Linear(64, 3)

    def stn(self, x, align_corners, mode):
        xs = self.localization(x).view(-1, 4 * 3 * 3)
        theta = self.fc_loc(xs).view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=align_corners)
        return F.grid_sample(x, grid, mode=mode, align_corners=align_corners)

    def forward(self, x, align_corners=False, mode="bilinear"):
        x = self.stn(x, align_corners, mode)
        return F.log_softmax(self.fc(x.view(-1, 64)), dim=1)


def section_stn() -> None:
    model = STN()
    x = torch.randn(5, 1, 8, 8)
    y = torch.tensor([0, 1, 2, 1, 0])
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for step in range(4):
        out = model(x, align_corners=step % 2 == 1)
        loss = F.nll_loss(out, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("stn.losses", losses)
    put_state("stn.state", model)
    with torch.no_grad():
        put("stn.nearest", model.stn(x, False, "nearest"))
        put("stn.transformed", model.stn(x, True, "bilinear"))
    theta = torch.tensor([[[0.8, -0.3, 0.1], [0.25, 0.9, -0.2]]], requires_grad=True)
    img = torch.randn(1, 2, 5, 6, requires_grad=True)
    for mode, pad in (("bilinear", "zeros"), ("bilinear", "border"), ("nearest", "reflection")):
        # (the grid made anew for each grad(): PyTorch's affine_grid node saves nothing, so its
        # graph survives a backward; deltagrad's is freed, test_s19_PR2_fixes.py)
        grid = F.affine_grid(theta, (1, 2, 4, 3), align_corners=False)
        out = F.grid_sample(img, grid, mode=mode, padding_mode=pad, align_corners=False)
        gi, gt = torch.autograd.grad(out.pow(2).sum(), (img, theta), allow_unused=True)
        put(f"stn.{mode}_{pad}", [out, gi, gt])


def rbf_kernel(x1, x2, lengthscale, variance):
    return variance * torch.exp(-0.5 * torch.cdist(x1, x2).pow(2) / lengthscale ** 2)


def section_gp() -> None:
    x = torch.linspace(-3, 3, 12, dtype=torch.float64)[:, None]
    y = torch.sin(2 * x[:, 0]) + 0.1 * torch.randn(12, dtype=torch.float64)
    log_ls = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    log_var = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    log_noise = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([log_ls, log_var, log_noise], lr=0.1)
    nlls = []
    for _ in range(8):
        K = rbf_kernel(x, x, log_ls.exp(), log_var.exp()) \
            + log_noise.exp() * torch.eye(12, dtype=torch.float64)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y[:, None], L)
        nll = 0.5 * (y[:, None] * alpha).sum() + torch.log(torch.diagonal(L)).sum() \
            + 6 * math.log(2 * math.pi)
        nll.backward()
        opt.step()
        opt.zero_grad()
        nlls.append(nll.item())
    put("gp.nlls", nlls)
    put("gp.hyper", [log_ls, log_var, log_noise])
    with torch.no_grad():
        xs = torch.linspace(-4, 4, 7, dtype=torch.float64)[:, None]
        Ks = rbf_kernel(x, xs, log_ls.exp(), log_var.exp())
        mean = Ks.T @ alpha
        v = torch.linalg.solve_triangular(L, Ks, upper=False)
        var = log_var.exp() - (v * v).sum(0)
    put("gp.pred", [mean[:, 0], var])
    put("gp.logdet", [torch.logdet(K.detach()), 2 * torch.log(torch.diagonal(L.detach())).sum()])


def section_ctc() -> None:
    model = nn.GRU(5, 8, batch_first=True, bidirectional=True)
    head = nn.Linear(16, 6)  # blank = 0, then 5 symbols
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    feats = torch.randn(3, 12, 5)
    input_lengths = torch.tensor([12, 10, 7])
    targets = torch.tensor([1, 2, 2, 3, 4, 1, 5, 5, 2])
    target_lengths = torch.tensor([4, 3, 2])
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-2)
    losses = []
    for _ in range(4):
        out, _ = model(feats)
        log_probs = F.log_softmax(head(out), dim=-1).transpose(0, 1)
        loss = ctc(log_probs, targets, input_lengths, target_lengths)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    put("ctc.losses", losses)
    put("ctc.grad_free", [head.weight, model.weight_hh_l0_reverse])
    best = log_probs.argmax(-1).transpose(0, 1)
    decoded = []
    for row, n in zip(best, input_lengths):
        collapsed = torch.unique_consecutive(row[:n])
        decoded.append(collapsed[collapsed != 0])
    put("ctc.decoded", decoded)
    per_sample = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, reduction="none")
    put("ctc.per_sample", per_sample)
    padded = torch.zeros(3, 4, dtype=torch.long)
    padded[0, :4], padded[1, :3], padded[2, :2] = targets[:4], targets[4:7], targets[7:]
    put("ctc.padded_targets", F.ctc_loss(log_probs, padded, input_lengths, target_lengths,
                                         reduction="sum"))


def conv_forward_im2col(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    f, _, hh, ww = w.shape
    cols = F.unfold(x, (hh, ww), padding=pad, stride=stride)  # [n, c*hh*ww, L]
    ho = (h + 2 * pad - hh) // stride + 1
    wo = (wd + 2 * pad - ww) // stride + 1
    out = (w.view(f, -1) @ cols + b[:, None]).view(n, f, ho, wo)
    return out, cols


def section_im2col() -> None:
    x = torch.randn(2, 3, 7, 6, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    b = torch.randn(4, requires_grad=True)
    out, cols = conv_forward_im2col(x, w, b, stride=2, pad=1)
    ref = F.conv2d(x, w, b, stride=2, padding=1)
    put("im2col.diff", (out - ref).abs().max())
    dout = torch.randn_like(out)
    grads = torch.autograd.grad(out, (x, w, b), dout)
    put("im2col.grads", list(grads))
    # col2im: fold of the column gradients is the input gradient
    dcols = w.detach().view(4, -1).T @ dout.view(2, 4, -1)
    dx = F.fold(dcols, (7, 6), (3, 3), padding=1, stride=2)
    put("im2col.fold", [dx, dx - grads[0]])
    ones = F.fold(F.unfold(torch.ones(1, 1, 5, 5), 2, dilation=2), (5, 5), 2, dilation=2)
    put("im2col.overlap_counts", ones)
    put("im2col.module", nn.Unfold(kernel_size=(2, 3), stride=(1, 2))(x.detach()))


def sparsemax(z, dim=-1):
    z_sorted, _ = torch.sort(z, dim=dim, descending=True)
    k = torch.arange(1, z.shape[dim] + 1, dtype=z.dtype)
    shape = [1] * z.dim()
    shape[dim] = -1
    k = k.view(shape)
    z_cumsum = z_sorted.cumsum(dim)
    support = (1 + k * z_sorted) > z_cumsum
    k_z = support.sum(dim=dim, keepdim=True)
    tau = (z_cumsum.gather(dim, k_z - 1) - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0)


def favor_features(x, projection):
    x = x * x.shape[-1] ** -0.25
    proj = x @ projection.T
    norm = (x ** 2).sum(-1, keepdim=True) / 2
    return torch.exp(proj - norm - proj.amax(dim=-1, keepdim=True)) / math.sqrt(
        projection.shape[0])


def section_sparse_attn() -> None:
    z = torch.randn(4, 6, requires_grad=True)
    p = sparsemax(z)
    (p * torch.arange(6.0)).sum().backward()
    put("sparse_attn.sparsemax", [p, p.sum(-1), z.grad])
    put("sparse_attn.dim0", sparsemax(z.detach(), dim=0))
    # FAVOR+ with orthogonal random features (QR of Gaussian blocks)
    d, m = 4, 8
    blocks = [torch.linalg.qr(torch.randn(d, d))[0].T for _ in range(m // d)]
    projection = torch.cat(blocks) * torch.randn(m, d).norm(dim=1, keepdim=True)
    q, k, v = torch.randn(3, 2, 5, d).unbind(0)
    q.requires_grad_()
    qp, kp = favor_features(q, projection), favor_features(k, projection)
    kv = torch.einsum("bnm,bnd->bmd", kp, v)
    normaliser = 1.0 / (torch.einsum("bnm,bm->bn", qp, kp.sum(1)) + 1e-6)
    out = torch.einsum("bnm,bmd,bn->bnd", qp, kv, normaliser)
    out.sum().backward()
    put("sparse_attn.favor", [out, q.grad])
    exact = torch.softmax(q.detach() @ k.transpose(-1, -2) / math.sqrt(d), -1) @ v
    put("sparse_attn.vs_exact", (out.detach() - exact).abs().mean())


SECTIONS = {"nerf": section_nerf, "txl": section_txl, "stn": section_stn, "gp": section_gp,
            "ctc": section_ctc, "im2col": section_im2col, "sparse_attn": section_sparse_attn}
