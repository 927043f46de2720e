"""Modern vision-model and training-loop components (PR16, session 27), written afresh the way
today's public model code writes them: ConvNeXt blocks (depthwise Conv2d, LayerNorm over a
channels-last permute, layer scale, stochastic depth with a seeded bernoulli), a
channels-first LayerNorm by hand, squeeze-excitation, patch embeddings via unfold and via a
strided Conv2d, DropPath, an EMA of weights with torch._foreach_* and with lerp_, and mixed
bfloat16 autocast on CPU. Tiny sizes, seeded; run by prog_s27_PR16_all.py.
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def drop_path(x, drop_prob: float = 0.0, training: bool = False, scale_by_keep: bool = True):
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0 and scale_by_keep:
        random_tensor.div_(keep_prob)
    return x * random_tensor


class DropPath(nn.Module):
    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self):
        return f"drop_prob={round(self.drop_prob, 3):0.3f}"


class LayerNorm2d(nn.Module):
    """LayerNorm over channels of an NCHW tensor, written out (as ConvNeXt's channels_first)."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, drop_path=0.0, layer_scale_init_value=1e-6):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim),
                                  requires_grad=True) if layer_scale_init_value > 0 else None
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.dwconv(x)
        x = x.permute(0, 2, 3, 1)
        x = self.norm(x)
        x = self.pwconv1(x)
        x = self.act(x)
        x = self.pwconv2(x)
        if self.gamma is not None:
            x = self.gamma * x
        x = x.permute(0, 3, 1, 2)
        return shortcut + self.drop_path(x)


def section_convnext() -> None:
    torch.manual_seed(20)
    stem = nn.Sequential(nn.Conv2d(3, 8, kernel_size=2, stride=2), LayerNorm2d(8))
    blocks = nn.Sequential(*[ConvNeXtBlock(8, drop_path=r, layer_scale_init_value=0.1)
                             for r in torch.linspace(0, 0.3, 2).tolist()])
    head = nn.Sequential(nn.LayerNorm(8), nn.Linear(8, 3))
    model = nn.ModuleDict({"stem": stem, "blocks": blocks, "head": head})
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 1])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    with printed("cnx.log"):
        print(blocks[1])
        print("dw groups", blocks[0].dwconv.groups, tuple(blocks[0].dwconv.weight.shape))
        for step in range(4):
            h = model["blocks"](model["stem"](x))
            logits = model["head"](h.mean([-2, -1]))
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} loss {loss.item():.4f} gamma {blocks[1].gamma.abs().mean():.4f}")
        model.eval()
        with torch.no_grad():
            out = model["head"](model["blocks"](model["stem"](x)).mean([-2, -1]))
        print("eval", out.argmax(-1).tolist())
        ln = nn.LayerNorm(8, eps=1e-6)
        h = torch.randn(2, 8, 3, 3)
        a = ln(h.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        b = LayerNorm2d(8)(h)
        print("channels-last LN == by hand", torch.allclose(a, b, atol=1e-5),
              a.is_contiguous(), a.contiguous(memory_format=torch.channels_last).stride())
        put("cnx.out", out)
        put("cnx.gamma", blocks[1].gamma)


def section_drop_path() -> None:
    torch.manual_seed(21)
    dp = DropPath(0.5)
    x = torch.ones(8, 3, 2)
    with printed("dp.log"):
        print(dp)
        dp.train()
        out = dp(x)
        print("kept rows", out[:, 0, 0].tolist())
        print("eval identity", torch.equal(nn.Sequential(dp).eval()(x), x))
        g = torch.Generator().manual_seed(5)
        mask = torch.empty(6, 1).bernoulli_(0.7, generator=g)
        print("generator mask", mask.flatten().tolist())
        probs = torch.full((2, 5), 0.4)
        print("bernoulli", torch.bernoulli(probs, generator=g).tolist())
        survive = torch.rand(10, generator=g) < 0.8
        print("survive", survive.tolist())
        w = torch.ones(5, requires_grad=True)
        drop_path(w[None].expand(4, 5), 0.25, True).sum().backward()
        print("grad", w.grad.tolist())


class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        s = self.pool(x)
        s = F.hardsigmoid(self.fc2(F.silu(self.fc1(s))))
        return x * s


class SELinear(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(c, c // r, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(c // r, c, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = F.adaptive_avg_pool2d(x, 1).view(b, c)
        return x * self.fc(y).view(b, c, 1, 1).expand_as(x)


def section_squeeze_excite() -> None:
    torch.manual_seed(22)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.SiLU(),
                        SqueezeExcite(8), nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2),
                        SELinear(8), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(8, 2))
    x, y = torch.randn(4, 3, 6, 6), torch.tensor([0, 1, 1, 0])
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    with printed("se.log"):
        for step in range(4):
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} loss {loss.item():.4f}")
        print("running mean", [round(v, 4) for v in net[1].running_mean.tolist()])
        print("num batches", net[1].num_batches_tracked.item())
        put("se.fc2", net[3].fc2.weight)


class PatchEmbed(nn.Module):
    def __init__(self, img=8, patch=4, c=3, dim=12):
        super().__init__()
        self.num_patches = (img // patch) ** 2
        self.proj = nn.Conv2d(c, dim, kernel_size=patch, stride=patch)
        self.patch = patch

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


def section_patch_embed() -> None:
    torch.manual_seed(23)
    pe = PatchEmbed()
    x = torch.randn(2, 3, 8, 8)
    with printed("patch.log"):
        a = pe(x)
        cols = F.unfold(x, kernel_size=4, stride=4)
        b = (pe.proj.weight.view(12, -1) @ cols + pe.proj.bias[:, None]).transpose(1, 2)
        print("conv", tuple(a.shape), "unfold", tuple(cols.shape), torch.allclose(a, b, atol=1e-5))
        p = x.unfold(2, 4, 4).unfold(3, 4, 4)
        print("tensor.unfold", tuple(p.shape))
        p = p.permute(0, 2, 3, 1, 4, 5).reshape(2, 4, -1)
        print("patches", tuple(p.shape))
        cls = nn.Parameter(torch.zeros(1, 1, 12))
        pos = nn.Parameter(torch.randn(1, pe.num_patches + 1, 12) * 0.02)
        tokens = torch.cat((cls.expand(a.shape[0], -1, -1), a), dim=1) + pos
        print("tokens", tuple(tokens.shape))
        folded = F.fold(cols, output_size=(8, 8), kernel_size=4, stride=4)
        print("fold inverse", torch.equal(folded, x))
        enc = nn.TransformerEncoderLayer(12, 2, 24, dropout=0.0, batch_first=True,
                                         norm_first=True, activation="gelu")
        out = enc(tokens)
        print("encoded", tuple(out.shape), f"{out[:, 0].norm().item():.3f}")
        resized = F.interpolate(pos[:, 1:].reshape(1, 2, 2, 12).permute(0, 3, 1, 2),
                                size=(3, 3), mode="bicubic", align_corners=False)
        print("pos resize", tuple(resized.shape))
        put("patch.out", out)
        put("patch.resized", resized)


def section_ema() -> None:
    torch.manual_seed(24)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    ema_a = copy.deepcopy(model).requires_grad_(False)
    ema_b = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    decay = 0.9
    with printed("ema.log"):
        for step in range(5):
            loss = F.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                ep = list(ema_a.parameters())
                mp = list(model.parameters())
                torch._foreach_mul_(ep, decay)
                torch._foreach_add_(ep, mp, alpha=1 - decay)
                for e, m in zip(ema_b.parameters(), model.parameters()):
                    e.lerp_(m, 1 - decay)
            print(f"step {step} loss {loss.item():.4f} ema {F.mse_loss(ema_a(x), y).item():.4f}")
        same = all(torch.allclose(a, b, atol=1e-6)
                   for a, b in zip(ema_a.parameters(), ema_b.parameters()))
        print("foreach == lerp", same)
        norms = torch._foreach_norm(list(model.parameters()))
        print("norms", [round(n.item(), 4) for n in norms])
        with torch.no_grad():
            diffs = torch._foreach_sub(list(model.parameters()), list(ema_a.parameters()))
        print("diff dtypes", {str(d.dtype) for d in diffs}, len(diffs))
        sd = ema_a.state_dict()
        ema_c = copy.deepcopy(model)
        ema_c.load_state_dict(sd)
        print("loaded", torch.equal(ema_c[0].weight, ema_a[0].weight))
        swa = torch.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
        swa.update_parameters(model)
        print("averaged", int(swa.n_averaged))
        put("ema.a", ema_a[0].weight)


def section_autocast() -> None:
    torch.manual_seed(25)
    net = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 3))
    x, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    with printed("amp.log"):
        for step in range(3):
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                h = net[0](x)
                logits = net(x)
                loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step} {h.dtype} {logits.dtype} {loss.dtype} loss {loss.item():.2f}")
        print("param dtype", net[0].weight.dtype, net[0].weight.grad.dtype)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            a = torch.randn(3, 4) @ torch.randn(4, 2)
            s = torch.softmax(a, -1)
            n = F.layer_norm(a, (2,))
            c = torch.cat([a, a.float()], 0)
            with torch.autocast("cpu", enabled=False):
                f = torch.randn(2, 2) @ torch.randn(2, 2)
            print("in autocast", a.dtype, s.dtype, n.dtype, c.dtype, f.dtype,
                  torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
        print("after", torch.is_autocast_enabled("cpu"))
        put("amp.w", net[3].weight)


SECTIONS = {"convnext": section_convnext, "drop_path": section_drop_path,
            "squeeze_excite": section_squeeze_excite, "patch_embed": section_patch_embed,
            "ema": section_ema, "autocast": section_autocast}
