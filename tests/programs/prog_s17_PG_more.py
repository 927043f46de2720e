"""More public-code idioms, written afresh in their style (PG, session 17): PointNet with its
T-Net regulariser, PixelCNN's masked convolutions and sampling loop, DeepDream (gradient ascent
on the input with torch.roll jitter), Grad-CAM (forward / tensor hooks, retain_grad,
interpolate), capsule routing (squash), NeRF's positional encoding, volume rendering and
hierarchical sampling (cumprod, searchsorted), Gaussian-process regression by hand (cholesky,
cholesky_solve, triangular solves) and ViT patches with unfold / fold. Tiny sizes, seeded.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s17_PG_harness import put, put_state


def section_pointnet() -> None:
    class TNet(nn.Module):
        def __init__(self, k=3):
            super().__init__()
            self.k = k
            self.conv1 = nn.Conv1d(k, 8, 1)
            self.conv2 = nn.Conv1d(8, 16, 1)
            self.fc1 = nn.Linear(16, 8)
            self.fc2 = nn.Linear(8, k * k)
            self.bn1 = nn.BatchNorm1d(8)
            self.bn2 = nn.BatchNorm1d(16)

        def forward(self, x):
            batchsize = x.size()[0]
            x = F.relu(self.bn1(self.conv1(x)))
            x = F.relu(self.bn2(self.conv2(x)))
            x = torch.max(x, 2, keepdim=True)[0]
            x = x.view(-1, 16)
            x = self.fc2(F.relu(self.fc1(x)))
            iden = torch.eye(self.k).flatten().view(1, self.k * self.k).repeat(batchsize, 1)
            return (x + iden).view(-1, self.k, self.k)

    class PointNetCls(nn.Module):
        def __init__(self, k=4):
            super().__init__()
            self.stn = TNet(3)
            self.fstn = TNet(8)
            self.conv1 = nn.Conv1d(3, 8, 1)
            self.conv2 = nn.Conv1d(8, 16, 1)
            self.fc = nn.Linear(16, k)
            self.dropout = nn.Dropout(p=0.3)

        def forward(self, x):
            trans = self.stn(x)
            x = torch.bmm(x.transpose(2, 1), trans).transpose(2, 1)
            x = F.relu(self.conv1(x))
            trans_feat = self.fstn(x)
            x = torch.bmm(x.transpose(2, 1), trans_feat).transpose(2, 1)
            x = self.conv2(x)
            x = torch.max(x, 2, keepdim=True)[0].view(-1, 16)
            return F.log_softmax(self.dropout(self.fc(x)), dim=1), trans, trans_feat

    def feature_transform_regularizer(trans):
        d = trans.size()[1]
        I = torch.eye(d)[None, :, :]
        return torch.mean(torch.norm(torch.bmm(trans, trans.transpose(2, 1)) - I, dim=(1, 2)))

    points = torch.randn(6, 3, 20)
    target = torch.randint(0, 4, (6,))
    classifier = PointNetCls()
    optimizer = optim.Adam(classifier.parameters(), lr=1e-3, betas=(0.9, 0.999))
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    losses = []
    for _step in range(4):
        optimizer.zero_grad()
        classifier = classifier.train()
        pred, trans, trans_feat = classifier(points)
        loss = F.nll_loss(pred, target) + feature_transform_regularizer(trans_feat) * 0.001
        loss.backward()
        optimizer.step()
        scheduler.step()
        pred_choice = pred.data.max(1)[1]
        losses.append([loss.item(), pred_choice.eq(target.data).cpu().sum().item()])
    put("pointnet.losses", losses)
    # (a convolution's bias right before BatchNorm has a gradient of rounding noise, which
    # Adam's normalised step turns into lr-sized moves of either sign, on either library: those
    # biases and the running means they shift are not compared; the losses and the rest are)
    put_state("pointnet.state", classifier,
              exclude=tuple(f"{t}.{c}.bias" for t in ("stn", "fstn") for c in ("conv1", "conv2"))
              + ("running_mean",))
    classifier.eval()
    with torch.no_grad():
        put("pointnet.eval", classifier(points)[0])


def section_pixelcnn() -> None:
    class MaskedConv2d(nn.Conv2d):
        def __init__(self, mask_type, *args, **kwargs):
            super().__init__(*args, **kwargs)
            assert mask_type in {"A", "B"}
            self.register_buffer("mask", self.weight.data.clone())
            _, _, kH, kW = self.weight.size()
            self.mask.fill_(1)
            self.mask[:, :, kH // 2, kW // 2 + (mask_type == "B"):] = 0
            self.mask[:, :, kH // 2 + 1:] = 0

        def forward(self, x):
            self.weight.data *= self.mask
            return super().forward(x)

    fm = 8
    net = nn.Sequential(
        MaskedConv2d("A", 1, fm, 5, 1, 2, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
        MaskedConv2d("B", fm, fm, 3, 1, 1, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
        nn.Conv2d(fm, 4, 1))
    optimizer = optim.Adam(net.parameters(), lr=1e-3)
    images = (torch.rand(4, 1, 6, 6) > 0.5).float() * (torch.rand(4, 1, 6, 6) * 3).floor() / 3
    losses = []
    for _step in range(3):
        target = (images[:, 0] * 3).long()
        loss = F.cross_entropy(net(images), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("pixelcnn.losses", losses)
    put("pixelcnn.mask", net[0].mask[0, 0])
    sample = torch.zeros(2, 1, 6, 6)
    net.eval()
    with torch.no_grad():
        for i in range(6):
            for j in range(6):
                out = net(sample)
                probs = F.softmax(out[:, :, i, j], dim=1)
                sample[:, :, i, j] = torch.multinomial(probs, 1).float() / 3
    put("pixelcnn.sample", sample)


def section_deepdream() -> None:
    features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
    features.eval()
    for p in features.parameters():
        p.requires_grad = False
    image = torch.rand(1, 3, 10, 10)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    input_tensor = ((image - mean) / std).clone().requires_grad_(True)
    losses = []
    for i in range(6):
        shift_x, shift_y = (i * 3) % 4 - 1, (i * 5) % 3 - 1
        with torch.no_grad():
            input_tensor.data = torch.roll(input_tensor.data, shifts=(shift_x, shift_y),
                                           dims=(-1, -2))
        activation = features[:5](input_tensor)
        loss = activation.norm()
        if input_tensor.grad is not None:
            input_tensor.grad.zero_()
        loss.backward()
        grad = input_tensor.grad
        avg_grad = float(grad.abs().mean())
        norm_lr = 0.05 / avg_grad
        input_tensor.data += norm_lr * grad.data
        input_tensor.data = torch.max(torch.min(input_tensor.data, (1 - mean) / std),
                                      -mean / std)
        with torch.no_grad():
            input_tensor.data = torch.roll(input_tensor.data, shifts=(-shift_x, -shift_y),
                                           dims=(-1, -2))
        losses.append(loss.item())
    put("dream.losses", losses)
    put("dream.image", (input_tensor.detach() * std + mean).clamp(0, 1))
    octave = F.interpolate(input_tensor.detach(), scale_factor=1 / 1.4, mode="bilinear",
                           align_corners=False, recompute_scale_factor=True)
    put("dream.octave", octave)
    put("dream.upsampled", F.interpolate(octave, size=(10, 10), mode="bicubic",
                                         align_corners=True))


def section_gradcam() -> None:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                                          nn.MaxPool2d(2))
            self.classifier = nn.Linear(6, 3)
            self.gradients = None

        def activations_hook(self, grad):
            self.gradients = grad

        def forward(self, x, hook=True):
            x = self.features[:4](x)
            if hook:
                x.register_hook(self.activations_hook)
            x = self.features[4:](x)
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.classifier(x)

    net = Net().eval()
    img = torch.rand(1, 3, 8, 8)
    pred = net(img)
    top = pred.argmax(dim=1).item()
    pred[:, top].backward()
    gradients = net.gradients
    pooled_gradients = torch.mean(gradients, dim=[0, 2, 3])
    activations = net.features[:4](img).detach()
    for i in range(6):
        activations[:, i, :, :] *= pooled_gradients[i]
    heatmap = torch.mean(activations, dim=1).squeeze()
    heatmap = F.relu(heatmap)
    heatmap /= torch.max(heatmap)
    put("gradcam.heatmap", heatmap)
    put("gradcam.up", F.interpolate(heatmap[None, None], size=(16, 16), mode="bilinear",
                                    align_corners=False))
    # the module-hook form (pytorch-grad-cam's ActivationsAndGradients)
    saved = {}

    def forward_hook(module, inputs, output):
        saved["act"] = output
        output.register_hook(lambda g: saved.__setitem__("grad", g))

    handle = net.features[3].register_forward_hook(forward_hook)
    full = net.features[2].register_full_backward_hook(
        lambda module, grad_input, grad_output: saved.__setitem__("gout", grad_output[0]))
    x = img.clone().requires_grad_(True)
    out = net(x, hook=False)
    score = out[0, top]
    net.zero_grad()
    score.backward(retain_graph=True)
    weights = saved["grad"].mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * saved["act"]).sum(1))
    put("gradcam.cam", cam)
    put("gradcam.gout", saved["gout"])
    put("gradcam.input_grad", x.grad)
    handle.remove()
    full.remove()
    # retain_grad on an intermediate, as in saliency maps
    y = net.features[:2](img.requires_grad_())
    y.retain_grad()
    net.classifier(F.adaptive_avg_pool2d(net.features[2:](y), 1).flatten(1))[0, top].backward()
    put("gradcam.retained", y.grad)
    put("gradcam.saliency", img.grad.abs().max(dim=1)[0])


def section_capsule() -> None:
    def squash(tensor, dim=-1):
        squared_norm = (tensor ** 2).sum(dim=dim, keepdim=True)
        scale = squared_norm / (1 + squared_norm)
        return scale * tensor / torch.sqrt(squared_norm)

    class DigitCaps(nn.Module):
        def __init__(self, num_routes=12, in_channels=4, num_capsules=3, out_channels=6,
                     iterations=3):
            super().__init__()
            self.iterations = iterations
            self.W = nn.Parameter(torch.randn(1, num_routes, num_capsules, out_channels,
                                              in_channels) * 0.1)

        def forward(self, x):
            batch_size = x.size(0)
            x = torch.stack([x] * self.W.size(2), dim=2).unsqueeze(4)
            W = torch.cat([self.W] * batch_size, dim=0)
            u_hat = torch.matmul(W, x)
            b_ij = torch.zeros(1, self.W.size(1), self.W.size(2), 1)
            for iteration in range(self.iterations):
                c_ij = F.softmax(b_ij, dim=1)
                c_ij = torch.cat([c_ij] * batch_size, dim=0).unsqueeze(4)
                s_j = (c_ij * u_hat).sum(dim=1, keepdim=True)
                v_j = squash(s_j, dim=-2)
                if iteration < self.iterations - 1:
                    a_ij = torch.matmul(u_hat.transpose(3, 4),
                                        torch.cat([v_j] * self.W.size(1), dim=1))
                    b_ij = b_ij + a_ij.squeeze(4).mean(dim=0, keepdim=True)
            return v_j.squeeze(1)

    def margin_loss(x, labels):
        batch_size = x.size(0)
        v_c = torch.sqrt((x ** 2).sum(dim=2, keepdim=True))
        left = F.relu(0.9 - v_c).view(batch_size, -1)
        right = F.relu(v_c - 0.1).view(batch_size, -1)
        loss = labels * left + 0.5 * (1.0 - labels) * right
        return loss.sum(dim=1).mean()

    caps = DigitCaps()
    primary = squash(torch.randn(5, 12, 4))
    labels = torch.eye(3).index_select(dim=0, index=torch.tensor([0, 2, 1, 1, 0]))
    optimizer = optim.Adam(caps.parameters(), lr=0.01)
    losses = []
    for _step in range(3):
        optimizer.zero_grad()
        out = caps(primary)
        loss = margin_loss(out, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("caps.losses", losses)
    put("caps.out", out)
    put("caps.W", caps.W)


def section_nerf() -> None:
    def positional_encoding(x, num_freqs=4):
        freq_bands = 2.0 ** torch.linspace(0.0, num_freqs - 1, num_freqs)
        out = [x]
        for freq in freq_bands:
            for fn in (torch.sin, torch.cos):
                out.append(fn(x * freq))
        return torch.cat(out, -1)

    def cumprod_exclusive(tensor):
        cumprod = torch.cumprod(tensor, dim=-1)
        cumprod = torch.roll(cumprod, 1, -1)
        cumprod[..., 0] = 1.0
        return cumprod

    def sample_pdf(bins, weights, N_samples, det=False):
        weights = weights + 1e-5
        pdf = weights / torch.sum(weights, -1, keepdim=True)
        cdf = torch.cumsum(pdf, -1)
        cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], -1)
        if det:
            u = torch.linspace(0.0, 1.0, steps=N_samples)
            u = u.expand(list(cdf.shape[:-1]) + [N_samples])
        else:
            u = torch.rand(list(cdf.shape[:-1]) + [N_samples])
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

    model = nn.Sequential(nn.Linear(3 + 3 * 2 * 4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 4))
    optimizer = optim.Adam(model.parameters(), lr=5e-4)
    n_rays, n_samples = 6, 8
    rays_o = torch.randn(n_rays, 3) * 0.1
    rays_d = F.normalize(torch.randn(n_rays, 3), dim=-1)
    target = torch.rand(n_rays, 3)
    near, far = 2.0, 6.0
    losses = []
    for step in range(3):
        t_vals = torch.linspace(0.0, 1.0, n_samples)
        z_vals = near * (1.0 - t_vals) + far * t_vals
        z_vals = z_vals.expand(n_rays, n_samples)
        mids = 0.5 * (z_vals[..., 1:] + z_vals[..., :-1])
        upper = torch.cat([mids, z_vals[..., -1:]], -1)
        lower = torch.cat([z_vals[..., :1], mids], -1)
        z_vals = lower + (upper - lower) * torch.rand(z_vals.shape)
        pts = rays_o[..., None, :] + rays_d[..., None, :] * z_vals[..., :, None]
        raw = model(positional_encoding(pts.reshape(-1, 3))).reshape(n_rays, n_samples, 4)
        sigma_a = F.relu(raw[..., 3])
        rgb = torch.sigmoid(raw[..., :3])
        one_e_10 = torch.tensor([1e10], dtype=rays_o.dtype)
        dists = torch.cat((z_vals[..., 1:] - z_vals[..., :-1],
                           one_e_10.expand(z_vals[..., :1].shape)), dim=-1)
        alpha = 1.0 - torch.exp(-sigma_a * dists)
        weights = alpha * cumprod_exclusive(1.0 - alpha + 1e-10)
        rgb_map = (weights[..., None] * rgb).sum(dim=-2)
        depth_map = (weights * z_vals).sum(dim=-1)
        loss = F.mse_loss(rgb_map, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        z_samples = sample_pdf(mids, weights[..., 1:-1].detach(), 5, det=(step == 0))
        put(f"nerf.z_samples.{step}", z_samples)
        put(f"nerf.fine.{step}", torch.sort(torch.cat([z_vals, z_samples], -1), -1)[0])
    put("nerf.losses", losses)
    put("nerf.depth", depth_map)
    put("nerf.buckets", torch.bucketize(torch.tensor([2.5, 4.0, 5.9, 7.0]), t_vals * 4 + 2))


def section_gp() -> None:
    def rbf(x1, x2, lengthscale, variance):
        sqdist = torch.cdist(x1 / lengthscale, x2 / lengthscale) ** 2
        return variance * torch.exp(-0.5 * sqdist)

    x = torch.linspace(0, 5, 12, dtype=torch.float64).unsqueeze(1)
    y = torch.sin(x).squeeze(1) + 0.1 * torch.randn(12, dtype=torch.float64)
    x_star = torch.linspace(-0.5, 5.5, 7, dtype=torch.float64).unsqueeze(1)
    log_ls = torch.zeros((), dtype=torch.float64, requires_grad=True)
    log_var = torch.zeros((), dtype=torch.float64, requires_grad=True)
    log_noise = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    optimizer = optim.Adam([log_ls, log_var, log_noise], lr=0.05)
    nlls = []
    for _step in range(8):
        optimizer.zero_grad()
        K = rbf(x, x, log_ls.exp(), log_var.exp()) + log_noise.exp() * torch.eye(12)
        L = torch.linalg.cholesky(K)
        alpha = torch.cholesky_solve(y.unsqueeze(1), L)
        nll = (0.5 * y @ alpha.squeeze(1) + torch.log(torch.diagonal(L)).sum()
               + 6 * math.log(2 * math.pi))
        nll.backward()
        optimizer.step()
        nlls.append(nll.item())
    put("gp.nll", nlls)
    put("gp.hypers", torch.stack([log_ls, log_var, log_noise]).detach())
    with torch.no_grad():
        K = rbf(x, x, log_ls.exp(), log_var.exp()) + log_noise.exp() * torch.eye(12)
        L = torch.linalg.cholesky(K)
        K_s = rbf(x, x_star, log_ls.exp(), log_var.exp())
        alpha = torch.cholesky_solve(y.unsqueeze(1), L)
        mean = K_s.T @ alpha
        v = torch.linalg.solve_triangular(L, K_s, upper=False)
        var = rbf(x_star, x_star, log_ls.exp(), log_var.exp()).diagonal() - (v ** 2).sum(0)
        put("gp.mean", mean.squeeze(1))
        put("gp.var", var)
        put("gp.triangular_solve", torch.triangular_solve(K_s, L, upper=False).solution)
        mvn = torch.distributions.MultivariateNormal(torch.zeros(12, dtype=torch.float64),
                                                     scale_tril=L)
        put("gp.mvn", mvn.log_prob(y))
        put("gp.logdet", torch.logdet(K))


def section_patches() -> None:
    image = torch.randn(2, 3, 8, 8)
    patch = 4
    patches = F.unfold(image, kernel_size=patch, stride=patch)
    put("patches.unfold", patches)
    tokens = patches.transpose(1, 2)
    proj = nn.Linear(3 * patch * patch, 6)
    conv = nn.Conv2d(3, 6, patch, patch)
    with torch.no_grad():
        conv.weight.copy_(proj.weight.view(6, 3, patch, patch))
        conv.bias.copy_(proj.bias)
    put("patches.linear", proj(tokens))
    put("patches.conv", conv(image).flatten(2).transpose(1, 2))
    put("patches.view", image.unfold(2, patch, patch).unfold(3, patch, patch).reshape(
        2, 3, -1, patch * patch))
    overlapping = F.unfold(image.requires_grad_(), kernel_size=3, padding=1, stride=2,
                           dilation=1)
    folded = F.fold(overlapping, output_size=(8, 8), kernel_size=3, padding=1, stride=2)
    put("patches.fold", folded)
    divisor = F.fold(F.unfold(torch.ones(1, 1, 8, 8), 3, padding=1, stride=2), (8, 8), 3,
                     padding=1, stride=2)
    put("patches.divisor", divisor)
    (folded / divisor.clamp(min=1)).pow(2).sum().backward()
    put("patches.grad", image.grad)
    fold = nn.Fold(output_size=(5, 6), kernel_size=(2, 3), dilation=(2, 1), stride=(1, 2))
    unfold = nn.Unfold(kernel_size=(2, 3), dilation=(2, 1), stride=(1, 2))
    x = torch.randn(1, 2, 5, 6)
    put("patches.nn_fold", fold(unfold(x)))


SECTIONS = {"pointnet": section_pointnet, "pixelcnn": section_pixelcnn,
            "dream": section_deepdream, "gradcam": section_gradcam, "caps": section_capsule,
            "nerf": section_nerf, "gp": section_gp, "patches": section_patches}
