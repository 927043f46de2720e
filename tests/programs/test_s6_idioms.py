"""Probe IV: the everyday idioms of training scripts, each a tiny program run unchanged under
torch and under deltagrad from the same ``manual_seed``.

Freezing and unfreezing layers, per-group learning rates, ``load_state_dict(strict=False)``,
non-persistent buffers, checkpoints through ``io.BytesIO``, ``Module.apply`` initialisers, the
grad-mode decorators, gradient clipping, combined cross-entropy options, packed sequences,
container order and names, LambdaLR warm-up, gradient accumulation, randperm splits and metrics,
``F.interpolate`` modes, ``torch.where`` with scalars, einsum attention, and resuming training
from a saved optimizer and scheduler. Each returns what a script would print
the two results
must agree (floats to float32 tolerance, integers, dtypes and strings exactly).
"""

from __future__ import annotations

import copy
import io
import math
import random
import warnings

import numpy as np
import pytest
from s5_harness import compare

import deltagrad as dg

torch = pytest.importorskip("torch")


def idiom_freeze(torch):
    """A frozen first layer (requires_grad_(False)); SGD over filter(requires_grad)."""
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    model[0].requires_grad_(False)
    opt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1,
                          momentum=0.9)
    x = torch.randn(16, 4)
    y = torch.randint(0, 3, (16,))
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return dict(losses=losses, w0=model[0].weight, g0=str(model[0].weight.grad), n=n_train,
                w2=model[2].weight, rg=[p.requires_grad for p in model.parameters()],
                groups=len(opt.param_groups[0]["params"]))


def idiom_param_groups(torch):
    """Fine-tuning learning rates per parameter group; AdamW's group defaults."""
    nn = torch.nn
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = torch.optim.AdamW([
        {"params": model[0].parameters(), "lr": 1e-4},
        {"params": model[2].parameters()},
    ], lr=1e-2, weight_decay=0.05)
    x = torch.randn(10, 4)
    y = torch.randn(10, 2)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return dict(lrs=[g["lr"] for g in opt.param_groups],
                wds=[g["weight_decay"] for g in opt.param_groups],
                keys=sorted(opt.param_groups[0].keys()), p=list(model.parameters()),
                sd_keys=sorted(opt.state_dict()["param_groups"][1].keys()),
                sd_params=[g["params"] for g in opt.state_dict()["param_groups"]])


def idiom_strict_false(torch):
    """load_state_dict(strict=False) keys both ways; persistent=False buffers; the
    strict error."""
    nn = torch.nn
    torch.manual_seed(2)

    class Net(nn.Module):
        def __init__(self, head):
            super().__init__()
            self.body = nn.Linear(3, 4)
            if head:
                self.head = nn.Linear(4, 2)
            self.register_buffer("step", torch.zeros(()))
            self.register_buffer("cache", torch.ones(2), persistent=False)
    a, b = Net(True), Net(False)
    res = b.load_state_dict(a.state_dict(), strict=False)
    res2 = a.load_state_dict(b.state_dict(), strict=False)
    out = dict(missing=list(res.missing_keys), unexpected=list(res.unexpected_keys),
               missing2=list(res2.missing_keys), unexpected2=list(res2.unexpected_keys),
               keys=list(a.state_dict().keys()), repr=repr(res2), tup=list(res2),
               bufs=[n for n, _ in a.named_buffers()])
    try:
        b.load_state_dict(a.state_dict())
    except Exception as e:
        out["strict_err"] = type(e).__name__
        out["msg_has"] = ["head.weight" in str(e), "Unexpected key(s)" in str(e)]
    return out


def idiom_bytesio_roundtrip(torch):
    """A checkpoint dict through io.BytesIO into a freshly seeded model."""
    nn = torch.nn
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Linear(5, 1))
    model(torch.randn(8, 3))
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "epoch": 7, "best": 0.25, "names": ["a", "b"]}, buf)
    buf.seek(0)
    ckpt = torch.load(buf)
    torch.manual_seed(99)
    fresh = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Linear(5, 1))
    fresh.load_state_dict(ckpt["model"])
    fresh.eval()
    model.eval()
    x = torch.randn(4, 3)
    d = {"t": torch.arange(5), "f": torch.randn(2, 2, dtype=torch.float64), "i": 3,
         "n": torch.tensor(True)}
    b2 = io.BytesIO()
    torch.save(d, b2)
    b2.seek(0)
    d2 = torch.load(b2, weights_only=True)
    return dict(same=torch.equal(fresh(x), model(x)), out=fresh(x), epoch=ckpt["epoch"],
                best=ckpt["best"], names=ckpt["names"], keys=list(ckpt["model"].keys()),
                nbt=ckpt["model"]["1.num_batches_tracked"], d2=[d2["t"], d2["f"], d2["i"], d2["n"]],
                types=[type(v).__name__ for v in d2.values()])


def idiom_apply_init(torch):
    """model.apply(init_fn) with isinstance checks: visiting order and the draws."""
    nn = torch.nn
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 6),
                          nn.LayerNorm(6), nn.Embedding(5, 3))
    visited = []

    def init(m):
        visited.append(type(m).__name__)
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv1d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.constant_(m.bias, 0.1)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
    r = model.apply(init)
    return dict(visited=visited, same=r is model, p=list(model.parameters()))


def idiom_decorators(torch):
    """@no_grad / @inference_mode / @enable_grad decorators and set_grad_enabled."""
    nn = torch.nn
    torch.manual_seed(5)
    model = nn.Linear(3, 2)

    @torch.no_grad()
    def evaluate(x):
        return model(x)

    @torch.inference_mode()
    def infer(x):
        return model(x) * 2

    @torch.no_grad()
    def mixed(x):
        with torch.enable_grad():
            y = (model(x) ** 2).sum()
        z = model(x).sum()
        return y, z
    x = torch.randn(4, 3)
    a = evaluate(x)
    b = infer(x)
    y, z = mixed(x)
    y.backward()
    out = dict(a=a, arg=a.requires_grad, b=b, brg=b.requires_grad, binf=b.is_inference(),
               yrg=y.requires_grad, zrg=z.requires_grad, g=model.weight.grad,
               enabled=torch.is_grad_enabled(), name=evaluate.__name__)

    @torch.enable_grad()
    def inner(x):
        return model(x).sum().requires_grad
    with torch.no_grad():
        out["inner"] = inner(x)
    with torch.set_grad_enabled(False):
        out["sge"] = model(x).requires_grad
    torch.set_grad_enabled(True)
    return out


def idiom_clipping(torch):
    """clip_grad_norm_ (2, inf, 1 norms) return values, NaN grads, error_if_nonfinite."""
    nn = torch.nn
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
    (model(torch.randn(5, 4)) * 100).sum().backward()
    n1 = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    n2 = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0, norm_type=float("inf"))
    n3 = nn.utils.clip_grad_norm_(list(model.parameters()), 0.5, norm_type=1)
    nn.utils.clip_grad_value_(model.parameters(), 0.01)
    out = dict(n1=n1, n2=n2, n3=n3, g=[p.grad for p in model.parameters()],
               dt=str(n1.dtype), shape=list(n1.shape))
    model[0].weight.grad[0, 0] = float("nan")
    n4 = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    out["n4nan"] = bool(torch.isnan(n4))
    try:
        nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
        out["err"] = "none"
    except Exception as e:
        out["err"] = type(e).__name__
    out["empty"] = nn.utils.clip_grad_norm_([], 1.0)
    return out


def idiom_ce_combined(torch):
    """CrossEntropyLoss(weight=, ignore_index=, label_smoothing=) together, every
    reduction, (N, C, T) inputs, an all-ignored batch and probability targets."""
    F = torch.nn.functional
    torch.manual_seed(7)
    logits = torch.randn(6, 4, requires_grad=True)
    y = torch.tensor([0, 1, -100, 3, 2, 1])
    w = torch.tensor([1.0, 2.0, 0.5, 1.5])
    outs = {}
    for red in ["mean", "sum", "none"]:
        crit = torch.nn.CrossEntropyLoss(weight=w, ignore_index=-100, label_smoothing=0.1,
                                         reduction=red)
        loss = crit(logits, y)
        outs[red] = loss
    outs["mean"].backward()
    outs["grad"] = logits.grad
    # 3-d (N, C, T) with ignore_index=0
    x3 = torch.randn(2, 4, 5, requires_grad=True)
    y3 = torch.randint(0, 4, (2, 5))
    l3 = F.cross_entropy(x3, y3, weight=w, ignore_index=0, label_smoothing=0.2)
    l3.backward()
    outs["l3"], outs["g3"] = l3, x3.grad
    # all ignored
    outs["allign"] = F.cross_entropy(logits, torch.full((6,), -100), label_smoothing=0.1)
    # probabilities target + smoothing + weight
    p = torch.softmax(torch.randn(6, 4), 1)
    outs["probs"] = F.cross_entropy(logits, p, weight=w, label_smoothing=0.3)
    return outs


def idiom_packing(torch):
    """pack_padded_sequence(enforce_sorted=False) -> GRU -> pad_packed_sequence."""
    nn = torch.nn
    U = nn.utils.rnn
    torch.manual_seed(8)
    seqs = [torch.randn(n, 3) for n in (2, 5, 3)]
    lengths = torch.tensor([2, 5, 3])
    padded = U.pad_sequence(seqs, batch_first=True)
    packed = U.pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    rnn = nn.GRU(3, 4, batch_first=True)
    out, h = rnn(packed)
    un, lens = U.pad_packed_sequence(out, batch_first=True, padding_value=-1.0)
    un2, lens2 = U.pad_packed_sequence(out, batch_first=True, total_length=7)
    (un2.sum() + h.sum()).backward()
    return dict(data=packed.data, bs=packed.batch_sizes, si=packed.sorted_indices,
                ui=packed.unsorted_indices, un=un, lens=lens, h=h, un2=un2, lens2=lens2,
                g=rnn.weight_ih_l0.grad, ld=str(lens.dtype))


def idiom_containers(torch):
    """ModuleList/ModuleDict order; named_modules/named_parameters(prefix=, recurse=)."""
    nn = torch.nn
    torch.manual_seed(9)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
            self.heads = nn.ModuleDict({"zeta": nn.Linear(2, 1), "alpha": nn.Linear(2, 3)})
            self.heads["mid"] = nn.Identity()
            self.blocks.append(nn.ReLU())
            self.blocks.insert(1, nn.Tanh())
            self.register_parameter("scale", nn.Parameter(torch.ones(1)))
    net = Net()
    return dict(
        mods=[n for n, _ in net.named_modules()],
        mods_pref=[n for n, _ in net.named_modules(prefix="net")],
        params=[n for n, _ in net.named_parameters()],
        params_pref=[n for n, _ in net.named_parameters(prefix="model")],
        params_norec=[n for n, _ in net.named_parameters(recurse=False)],
        children=[n for n, _ in net.named_children()],
        hk=list(net.heads.keys()), hv=[type(v).__name__ for v in net.heads.values()],
        blocks=[type(b).__name__ for b in net.blocks], b_neg=type(net.blocks[-1]).__name__,
        sl=[type(b).__name__ for b in net.blocks[1:3]], slt=type(net.blocks[1:3]).__name__,
        sd=list(net.state_dict().keys()), nb=len(net.blocks), inn="zeta" in net.heads,
        mods_dup=[n for n, _ in net.named_modules(remove_duplicate=False)],
    )


def idiom_warmup(torch):
    """LambdaLR warm-up over two groups, get_last_lr(), zero_grad(set_to_none=False)."""
    nn = torch.nn
    torch.manual_seed(10)
    model = nn.Linear(3, 1)
    opt = torch.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}],
                          lr=0.1, momentum=0.9)
    warm = 3
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm))
    lrs = [sched.get_last_lr()]
    x = torch.randn(8, 3)
    y = torch.randn(8, 1)
    for _ in range(5):
        opt.zero_grad(set_to_none=False)
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    opt.zero_grad(set_to_none=False)
    sd = sched.state_dict()
    return dict(lrs=lrs, g=model.weight.grad, w=model.weight, ep=sched.last_epoch,
                base=sched.base_lrs, sdk=sorted(k for k in sd.keys()),
                init=[g["initial_lr"] for g in opt.param_groups])


def idiom_accumulate(torch):
    """Gradient accumulation with loss / accum_steps."""
    nn = torch.nn
    torch.manual_seed(11)
    model = nn.Sequential(nn.Linear(5, 6), nn.GELU(), nn.Linear(6, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = torch.randn(24, 5)
    target = torch.randint(0, 2, (24,))
    accum = 3
    losses = []
    opt.zero_grad()
    for i, (xb, yb) in enumerate(zip(data.split(4), target.split(4))):
        loss = nn.functional.cross_entropy(model(xb), yb) / accum
        loss.backward()
        losses.append(loss.item())
        if (i + 1) % accum == 0:
            opt.step()
            opt.zero_grad()
    return dict(losses=losses, p=list(model.parameters()),
                grads=[p.grad is None for p in model.parameters()])


def idiom_split_metrics(torch):
    """randperm train/val split, top-k accuracy, item()/tolist()/numpy() metrics."""
    torch.manual_seed(12)
    n = 20
    x = torch.randn(n, 4)
    perm = torch.randperm(n)
    tr, va = perm[:15], perm[15:]
    g = torch.Generator().manual_seed(3)
    perm2 = torch.randperm(n, generator=g)
    logits = torch.randn(n, 6)
    y = torch.randint(0, 6, (n,))
    top = logits.topk(3, dim=1)
    acc1 = (logits.argmax(1) == y).float().mean().item()
    acc3 = (top.indices == y[:, None]).any(dim=1).float().mean().item()
    correct = (top.indices == y.unsqueeze(1)).sum().item()
    vals = logits[va].tolist()
    arr = logits[tr].numpy()
    rt = torch.from_numpy(arr).sum().item()
    return dict(perm=perm, perm2=perm2, xtr=x[tr], acc1=acc1, acc3=acc3, correct=correct,
                types=[type(acc1).__name__, type(correct).__name__, type(vals[0][0]).__name__,
                       str(arr.dtype)], vals=vals, rt=rt, topv=top.values, topi=top.indices,
                it=torch.tensor(3).item(), itype=type(torch.tensor(3).item()).__name__,
                bt=type(torch.tensor(True).item()).__name__,
                tl=torch.arange(3).tolist(), tlt=type(torch.arange(3).tolist()[0]).__name__,
                sc=torch.tensor(2.5).tolist())


def idiom_interp(torch):
    """F.interpolate in every mode (area included), values and gradients; Upsample."""
    F = torch.nn.functional
    torch.manual_seed(13)
    x1 = torch.randn(1, 2, 5, requires_grad=True)
    x2 = torch.randn(1, 2, 4, 6, requires_grad=True)
    outs = {}
    outs["n1"] = F.interpolate(x1, scale_factor=2, mode="nearest")
    outs["l1"] = F.interpolate(x1, size=8, mode="linear", align_corners=False)
    outs["l1a"] = F.interpolate(x1, size=8, mode="linear", align_corners=True)
    outs["n2"] = F.interpolate(x2, size=(7, 9), mode="nearest")
    outs["b2"] = F.interpolate(x2, scale_factor=1.5, mode="bilinear", align_corners=False)
    outs["b2a"] = F.interpolate(x2, size=(5, 3), mode="bilinear", align_corners=True)
    outs["ne"] = F.interpolate(x2, size=(7, 9), mode="nearest-exact")
    outs["bic"] = F.interpolate(x2, size=(6, 8), mode="bicubic", align_corners=False)
    outs["area"] = F.interpolate(x2, size=(2, 3), mode="area")
    sum(v.sum() * (i + 1) for i, v in enumerate(outs.values())).backward()
    outs["g1"], outs["g2"] = x1.grad, x2.grad
    outs["up"] = torch.nn.Upsample(scale_factor=2, mode="bilinear")(x2)
    return outs


def idiom_where_scalar(torch):
    """torch.where with scalar branches: values, dtypes, gradients; where(cond)."""
    torch.manual_seed(14)
    x = torch.randn(3, 4, requires_grad=True)
    a = torch.where(x > 0, x, 0.0)
    b = torch.where(x > 0, 1.0, -1.0)
    c = torch.where(x > 0, x * 2, torch.zeros_like(x))
    i = torch.arange(6).reshape(2, 3)
    d = torch.where(i % 2 == 0, i, -1)
    e = torch.where(i > 2, 0.5, i)
    f = torch.where(torch.tensor([True, False]), 1, 2)
    (a.sum() + c.sum()).backward()
    xd = torch.randn(3, dtype=torch.float64)
    h = torch.where(xd > 0, xd, 1.0)
    nz = torch.where(x > 0)
    return dict(a=a, b=b, c=c, d=d, e=e, f=f, g=x.grad, h=h, nz=list(nz),
                bd=str(b.dtype), ed=str(e.dtype), fd=str(f.dtype))


def idiom_einsum_attn(torch):
    """einsum attention under a causal and padding mask, beside SDPA; einsum forms."""
    F = torch.nn.functional
    torch.manual_seed(15)
    B, H, T, D = 2, 2, 5, 4
    q = torch.randn(B, H, T, D, requires_grad=True)
    k = torch.randn(B, H, T, D, requires_grad=True)
    v = torch.randn(B, H, T, D, requires_grad=True)
    scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / D ** 0.5
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    pad = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    mask = causal[None, None] & pad[:, None, None, :]
    scores = scores.masked_fill(~mask, float("-inf"))
    attn = scores.softmax(dim=-1)
    out = torch.einsum("bhqk,bhkd->bhqd", attn, v)
    merged = torch.einsum("bhtd->bthd", out).reshape(B, T, H * D)
    sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    (merged.pow(2).sum() + sdpa.sum()).backward()
    tr = torch.einsum("ii", torch.arange(9.0).reshape(3, 3))
    outer = torch.einsum("i,j->ij", torch.arange(3.0), torch.arange(2.0))
    bil = torch.einsum("bn,anm,bm->ba", torch.randn(2, 3), torch.randn(4, 3, 3), torch.randn(2, 3))
    ell = torch.einsum("...ij,...jk", torch.randn(2, 3, 4), torch.randn(2, 4, 2))
    return dict(attn=attn, merged=merged, sdpa=sdpa, gq=q.grad, gk=k.grad, gv=v.grad, tr=tr,
                outer=outer, bil=bil, ell=ell)


def idiom_save_dict(torch):
    """torch.save/load of a dict of tensors (views, half, bool), ints, floats, tuples."""
    torch.manual_seed(16)
    buf = io.BytesIO()
    obj = {"w": torch.randn(3, 2), "step": 5, "lr": 0.1, "hist": [torch.tensor(1), 2],
           "nested": {"i64": torch.arange(4), "h": torch.randn(2).half(),
                      "b": torch.tensor([True, False])},
           "view": torch.arange(10.0)[2:8:2], "tup": (1, "x")}
    torch.save(obj, buf)
    buf.seek(0)
    got = torch.load(buf)
    out = dict(w=got["w"], step=got["step"], lr=got["lr"], hist=got["hist"], n=got["nested"],
               view=got["view"], vs=list(got["view"].shape), tup=list(got["tup"]),
               tt=type(got["tup"]).__name__)
    buf.seek(0)
    got2 = torch.load(buf, map_location="cpu", weights_only=True)
    out["w2"] = got2["w"]
    return out


def idiom_modes_misc(torch):
    """train()/eval() with dropout and batch norm; requires_grad_ on a whole model."""
    nn = torch.nn
    torch.manual_seed(17)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    x = torch.randn(6, 4)
    model.train()
    a = model(x)
    model.eval()
    b = model(x)
    tr = [m.training for m in model.modules()]
    model.train(False)
    c = model[1].training
    model.requires_grad_(False)
    d = [p.requires_grad for p in model.parameters()]
    model[0].weight.requires_grad = True
    e = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return dict(a=a, b=b, tr=tr, c=c, d=d, e=e)


def idiom_device_ema(torch):
    """The device idiom (.to(device)), an EMA copy under @no_grad, parameters_to_vector."""
    nn = torch.nn
    torch.manual_seed(20)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).to(device)
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, foreach=False)
    x = torch.randn(16, 3).to(device, non_blocking=True)
    y = torch.randn(16, 1)

    @torch.no_grad()
    def update(decay=0.9):
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
    for _ in range(4):
        model.zero_grad(set_to_none=True)
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        update()
    vec = nn.utils.parameters_to_vector(ema.parameters())
    nn.utils.vector_to_parameters(vec * 2, ema.parameters())
    return dict(dev=str(device), ema=list(ema.parameters()), vec=vec, n=vec.numel(),
                rg=vec.requires_grad, m=list(model.parameters()))


def idiom_optim_resume(torch):
    """Resume training from saved model, optimizer, SequentialLR and RNG states."""
    nn = torch.nn
    torch.manual_seed(21)

    def make():
        model = nn.Linear(4, 2)
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [
            torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=2),
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)], milestones=[2])
        return model, opt, sched
    model, opt, sched = make()
    x = torch.randn(8, 4)
    y = torch.randint(0, 2, (8,))

    def step(model, opt, sched):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        return loss.item()
    l1 = [step(model, opt, sched) for _ in range(3)]
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "rng": torch.get_rng_state()}, buf)
    l2 = [step(model, opt, sched) for _ in range(3)]
    after = torch.rand(2)
    buf.seek(0)
    ck = torch.load(buf)
    torch.manual_seed(0)
    m2, o2, s2 = make()
    m2.load_state_dict(ck["model"])
    o2.load_state_dict(ck["opt"])
    s2.load_state_dict(ck["sched"])
    torch.set_rng_state(ck["rng"])
    l3 = [step(m2, o2, s2) for _ in range(3)]
    return dict(l1=l1, l2=l2, l3=l3, after=after, after2=torch.rand(2), lr=s2.get_last_lr(),
                st=o2.state_dict()["state"][0]["step"])


def idiom_data_pipeline(torch):
    """TensorDataset, random_split by fractions, shuffled DataLoader."""
    D = torch.utils.data
    torch.manual_seed(22)
    x = torch.randn(20, 3)
    y = torch.randint(0, 2, (20,))
    ds = D.TensorDataset(x, y)
    tr, va = D.random_split(ds, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
    loader = D.DataLoader(tr, batch_size=6, shuffle=True, drop_last=False)
    batches = [(xb, yb) for xb, yb in loader]
    vl = D.DataLoader(va, batch_size=3)
    return dict(tri=list(tr.indices), vai=list(va.indices), n=[len(tr), len(va)],
                b=[b[1] for b in batches], bx=batches[0][0], nv=len(vl), nl=len(loader))


def idiom_grad_enabled_loop(torch):
    """The train/val phase loop under set_grad_enabled(is_train)."""
    nn = torch.nn
    torch.manual_seed(23)
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.3), nn.Linear(3, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, nesterov=True, momentum=0.9,
                          weight_decay=1e-3)
    x = torch.randn(10, 3)
    y = torch.randint(0, 2, (10,))
    out = {}
    for phase in ["train", "val", "train", "val"]:
        is_train = phase == "train"
        model.train(is_train)
        with torch.set_grad_enabled(is_train):
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y, reduction="sum")
            if is_train:
                opt.zero_grad()
                loss.backward()
                opt.step()
        preds = logits.argmax(dim=1)
        out.setdefault(phase, []).extend([loss.item(), (preds == y).sum().item(),
                                          logits.requires_grad])
    running = 0.0
    running += loss.item() * x.size(0)
    out["running"] = running / len(x)
    return out


def idiom_tensor_idioms(torch):
    """Small tensor idioms of metrics and preprocessing code."""
    torch.manual_seed(24)
    x = torch.randn(4, 5)
    out = {}
    out["clone_detach"] = x.clone().detach().requires_grad_(True).requires_grad
    out["new"] = [x.new_zeros(2), x.new_ones((1, 2)), x.new_full((2,), 3.0), x.new_tensor([1, 2])]
    out["type_as"] = torch.arange(3).type_as(x)
    out["masked_mean"] = (x * (x > 0)).sum(1) / (x > 0).sum(1).clamp(min=1)
    out["onehot"] = torch.nn.functional.one_hot(torch.tensor([0, 2, 1]), num_classes=4)
    out["expand"] = x[:, :1].expand(-1, 3)
    out["chunk"] = list(x.chunk(2, dim=1))
    out["argsort"] = x.argsort(dim=1, descending=True)
    out["sortstable"] = torch.sort(torch.tensor([2, 1, 2, 1, 0]), stable=True).indices
    out["bincount"] = torch.bincount(torch.tensor([0, 2, 2, 5]), minlength=7)
    out["unique"] = list(torch.unique(torch.tensor([3, 1, 3, 2]), return_counts=True,
                                      return_inverse=True))
    out["cm"] = torch.zeros(3, 3, dtype=torch.long).index_put_(
        (torch.tensor([0, 1, 1]), torch.tensor([0, 2, 2])), torch.tensor(1), accumulate=True)
    out["fmt"] = f"{x.mean():.4f} {x.sum().item():.3f}"
    out["isclose"] = torch.allclose(x, x + 1e-9)
    out["numel"] = [x.numel(), x.size(), x.size(-1), x.dim()]
    out["nan2num"] = torch.nan_to_num(torch.tensor([float("nan"), float("inf"), 1.0]))
    out["lin"] = torch.linspace(0, 1, 5)
    out["cum"] = torch.cumsum(torch.tensor([1, 2, 3]), 0)
    out["flip"] = x.flip(0)[0]
    out["norm"] = torch.nn.functional.normalize(x, dim=1)
    out["lt"] = torch.tensor([1, 2, 3]).float().mean().item()
    return out


def idiom_unfreeze_later(torch):
    """Unfreezing a backbone mid-training with add_param_group; state_dict sharing
    memory and keep_vars
    a size-mismatch load
    a tied head

    @no_grad on a method."""
    nn = torch.nn
    torch.manual_seed(30)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
            self.head = nn.Linear(4, 2)
            self.head2 = self.head  # shared
        def forward(self, x):
            return self.head(self.backbone(x))
        @torch.no_grad()
        def predict(self, x):
            return self(x).argmax(-1)
    net = Net()
    for p in net.backbone.parameters():
        p.requires_grad = False
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=0.05)
    x = torch.randn(12, 3)
    y = torch.randint(0, 2, (12,))
    losses = []
    for epoch in range(4):
        if epoch == 2:
            net.backbone.requires_grad_(True)
            opt.add_param_group({"params": net.backbone.parameters(), "lr": 0.005})
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    sd = net.state_dict()
    sdv = net.state_dict(keep_vars=True)
    out = dict(losses=losses, pred=net.predict(x), names=[n for n, _ in net.named_parameters()],
               sdk=list(sd.keys()),
               rg=[sd["head.weight"].requires_grad, sdv["head.weight"].requires_grad],
               isparam=[isinstance(sdv["head.weight"], nn.Parameter),
                        isinstance(sd["head.weight"], nn.Parameter)],
               sub=type(net.get_submodule("backbone.0")).__name__, ev=net.eval() is net,
               ngroups=len(opt.param_groups), glr=[g["lr"] for g in opt.param_groups])
    sd["head.bias"].zero_()   # state_dict tensors share memory with the model
    out["bias"] = net.head.bias
    bad = {k: v for k, v in net.state_dict().items()}
    bad["head.weight"] = torch.zeros(3, 3)
    try:
        net.load_state_dict(bad)
    except Exception as e:
        out["err"] = type(e).__name__
        out["errmsg"] = "size mismatch for head.weight" in str(e)
    return out


def idiom_setup_flags(torch):
    """A seed_everything helper and the determinism/precision flags scripts set first;
    a disabled GradScaler around the step."""
    nn = torch.nn

    def seed_everything(seed):
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        torch.cuda.manual_seed_all(seed)
    seed_everything(40)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.set_float32_matmul_precision("high")
    torch.backends.cuda.matmul.allow_tf32 = True
    model = nn.Sequential(nn.Linear(3, 4), nn.SiLU(), nn.Linear(4, 1))
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(5, 3)
    loss = model(x).pow(2).mean()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    torch.use_deterministic_algorithms(False)
    torch.set_float32_matmul_precision("highest")  # (process-wide: later tests read the default)
    torch.backends.cuda.matmul.allow_tf32 = False
    return dict(loss=loss, p=list(model.parameters()), dt=str(torch.get_default_dtype()),
                det=torch.are_deterministic_algorithms_enabled(), r=random.random(),
                n=np.random.rand())


def idiom_inits(torch):
    """Every nn.init initialiser and the in-place samplers drawn in a row: the same stream."""
    nn = torch.nn
    torch.manual_seed(41)
    w = torch.empty(4, 6)
    out = {}
    out["trunc"] = nn.init.trunc_normal_(torch.empty(5, 5), std=0.02).clone()
    out["trunc2"] = nn.init.trunc_normal_(torch.empty(50), mean=0.0, std=1.0, a=-2.0,
                                          b=2.0).clone()
    out["orth"] = nn.init.orthogonal_(torch.empty(3, 5)).clone()
    out["orth2"] = nn.init.orthogonal_(torch.empty(5, 3),
                                       gain=nn.init.calculate_gain("tanh")).clone()
    out["ku"] = nn.init.kaiming_uniform_(w, a=math.sqrt(5)).clone()
    out["xn"] = nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("relu")).clone()
    out["u"] = nn.init.uniform_(w, -0.1, 0.1).clone()
    out["eye"] = nn.init.eye_(torch.empty(2, 3))
    out["dirac"] = nn.init.dirac_(torch.empty(2, 2, 3))
    out["sparse"] = nn.init.sparse_(torch.empty(6, 3), sparsity=0.5, std=0.1).clone()
    out["gains"] = [nn.init.calculate_gain(n) for n in ("linear", "relu", "tanh", "selu")] + [
        nn.init.calculate_gain("leaky_relu", 0.2)]
    t = torch.empty(6)
    out["inplace"] = [t.uniform_(-1, 1).clone(), t.normal_(2, 0.5).clone(),
                      t.bernoulli_(0.3).clone(), t.exponential_(2.0).clone(),
                      t.geometric_(0.4).clone(), t.log_normal_(0, 0.25).clone(),
                      t.cauchy_().clone(), t.random_(0, 10).clone(), t.fill_(1.5).clone()]
    out["after"] = torch.rand(3)
    return out


def idiom_embeddings(torch):
    """Embedding.from_pretrained(freeze=, padding_idx=), max_norm renormalisation, bags."""
    nn = torch.nn
    torch.manual_seed(42)
    vectors = torch.randn(6, 3)
    emb = nn.Embedding.from_pretrained(vectors, freeze=True, padding_idx=0)
    emb2 = nn.Embedding(6, 3, padding_idx=1, max_norm=1.0)
    ids = torch.tensor([[0, 2, 5], [1, 1, 3]])
    a = emb(ids)
    b = emb2(ids)
    b.sum().backward()
    return dict(a=a, rg=emb.weight.requires_grad, b=b, g=emb2.weight.grad, w=emb2.weight,
                bag=nn.EmbeddingBag(6, 2, mode="mean")(ids))


def idiom_ckpt_seq(torch):
    """utils.checkpoint around a dropout block (same mask on recompute); pack_sequence."""
    nn = torch.nn
    from torch.utils.checkpoint import checkpoint
    torch.manual_seed(43)
    block = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.2), nn.GELU())
    x = torch.randn(3, 4, requires_grad=True)
    y = checkpoint(block, x, use_reentrant=False)
    y.sum().backward()
    U = nn.utils.rnn
    seqs = [torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])]
    ps = U.pack_sequence(seqs, enforce_sorted=False)
    un = U.unpack_sequence(ps)
    return dict(y=y, g=x.grad, gw=block[0].weight.grad, psd=ps.data, bs=ps.batch_sizes, un=un,
                after=torch.rand(2))


def idiom_dtype_moves(torch):
    """.double() / .to(float64) / .half().float() models."""
    nn = torch.nn
    torch.manual_seed(44)
    model = nn.Linear(3, 2).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    out = model(x)
    m2 = nn.Linear(3, 2).to(torch.float64)
    m3 = nn.Linear(3, 2).half().float()
    return dict(out=out, dt=str(out.dtype), w2=m2.weight, w3=m3.weight,
                pdt=[str(p.dtype) for p in model.parameters()])


def idiom_best_state(torch):
    """Early stopping with copy.deepcopy(state_dict()), StepLR, manual LR decay, and
    eval metrics through .cpu().numpy() and max(dim=) unpacking."""
    nn = torch.nn
    torch.manual_seed(50)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    x = torch.randn(32, 2)
    y = (x[:, :1] * x[:, 1:]).sign()
    best, best_state, hist = float("inf"), None, []
    for _ in range(6):
        model.train()
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), (y > 0).float())
        loss.backward()
        opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            val = nn.functional.mse_loss(model(x), y).item()
        hist.append((round(val, 5), opt.param_groups[0]["lr"]))
        if val < best:
            best, best_state = val, copy.deepcopy(model.state_dict())
    for g in opt.param_groups:
        g["lr"] = g["lr"] * 0.1
    model.load_state_dict(best_state)
    with torch.no_grad():
        probs = torch.sigmoid(model(x)).squeeze(1)
        preds = (probs > 0.5).long()
        vals, idx = torch.softmax(torch.stack([1 - probs, probs], 1), dim=-1).max(dim=1)
    return dict(hist=[h[0] for h in hist], lrs=[h[1] for h in hist], best=best,
                preds=preds.cpu().numpy(), idx=idx, vals=vals.detach().cpu().numpy(),
                lr=opt.param_groups[0]["lr"],
                eq=torch.equal(best_state["0.weight"], model[0].weight))

def idiom_numpy_interop(torch):
    """tensor()/as_tensor()/from_numpy() on NumPy data: dtypes, sharing, promotion."""
    a64 = np.linspace(0, 1, 5)
    ai = np.arange(6).reshape(2, 3)
    out = {}
    out["t64"] = torch.tensor(a64)
    out["tl"] = torch.tensor([np.float32(1.5), np.float32(2.0)])
    out["tsc"] = torch.tensor(np.float64(2.5))
    out["ti"] = torch.tensor(ai)
    shared = torch.as_tensor(ai)
    ai[0, 0] = 99
    out["shared"] = shared
    out["fn"] = torch.from_numpy(a64).float()
    out["mix"] = torch.tensor([1, 2.5])
    out["bool"] = torch.tensor([True, False])
    out["pyint"] = torch.tensor(3).dtype
    out["arith"] = (torch.tensor([1, 2]) * 1.5)
    out["div"] = torch.tensor([3, 4]) / 2
    out["fdiv"] = torch.tensor([3, -4]) // 2
    out["np_scalar"] = torch.ones(2) * np.float64(2.0)
    out["dt_np_scalar"] = (torch.ones(2) * np.float64(2.0)).dtype
    out["list_of_t"] = torch.stack([torch.tensor(1.0), torch.tensor(2.0)])
    out["nonzero"] = list(torch.nonzero(torch.tensor([0, 3, 0, 1]), as_tuple=True))
    out["msel"] = torch.arange(6).masked_select(torch.arange(6) % 2 == 0)
    return out

def idiom_default_dtype(torch):
    """set_default_dtype(float64) around model building and data, then restored."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(51)
        lin = torch.nn.Linear(2, 2)
        x = torch.randn(3, 2)
        t = torch.tensor([1.0, 2.0])
        out = dict(w=lin.weight, x=x, t=t, y=lin(x), ar=torch.arange(0, 1, 0.25),
                   z=torch.zeros(2), f=torch.full((2,), 1.5))
    finally:
        torch.set_default_dtype(old)
    out["back"] = torch.tensor([1.0]).dtype
    return out

def idiom_loader_gen(torch):
    """A DataLoader shuffled by its own Generator over two epochs; weighted sampling."""
    D = torch.utils.data
    g = torch.Generator()
    g.manual_seed(52)
    ds = D.TensorDataset(torch.arange(10))
    loader = D.DataLoader(ds, batch_size=4, shuffle=True, generator=g, num_workers=0)
    e1 = [b[0] for b in loader]
    e2 = [b[0] for b in loader]
    sampler = D.WeightedRandomSampler([0.1, 0.9, 0.5], num_samples=6, replacement=True,
                                      generator=torch.Generator().manual_seed(1))
    sub = D.Subset(ds, [3, 1, 4])
    return dict(e1=e1, e2=e2, w=list(sampler), sub=[sub[i][0] for i in range(len(sub))],
                cat=len(D.ConcatDataset([ds, sub])))


def idiom_samplers(torch):
    """Random draws scripts make in a row (gumbel-softmax, multinomial, normal(mean, std),
    *_like, dropouts): the stream stays in step."""
    F = torch.nn.functional
    torch.manual_seed(60)
    logits = torch.randn(4, 5)
    out = {}
    out["gs"] = F.gumbel_softmax(logits, tau=0.5, hard=True)
    out["gs_soft"] = F.gumbel_softmax(logits, tau=1.0)
    out["mn"] = torch.multinomial(logits.softmax(-1), 3, replacement=False)
    out["bern"] = torch.bernoulli(torch.full((6,), 0.3))
    out["normal"] = torch.normal(torch.zeros(3), torch.ones(3) * 2)
    out["normal2"] = torch.normal(1.0, 0.5, size=(2, 2))
    out["randn_like"] = torch.randn_like(logits)
    out["rand_int"] = torch.randint_like(logits, 10)
    out["perm_f"] = torch.randperm(7, dtype=torch.float32)
    out["cdist"] = torch.cdist(logits, logits[:2])
    out["drop_eval"] = F.dropout(logits, 0.5, training=False)
    out["drop"] = F.dropout(logits, 0.5)
    out["a_drop"] = F.alpha_dropout(logits, 0.2, training=True)
    out["after"] = torch.rand(2)
    return out


IDIOMS = [
    idiom_freeze, idiom_param_groups, idiom_strict_false, idiom_bytesio_roundtrip,
    idiom_apply_init, idiom_decorators, idiom_clipping, idiom_ce_combined, idiom_packing,
    idiom_containers, idiom_warmup, idiom_accumulate, idiom_split_metrics, idiom_interp,
    idiom_where_scalar, idiom_einsum_attn, idiom_save_dict, idiom_modes_misc, idiom_device_ema,
    idiom_optim_resume, idiom_data_pipeline, idiom_grad_enabled_loop, idiom_tensor_idioms,
    idiom_unfreeze_later, idiom_setup_flags, idiom_inits, idiom_embeddings, idiom_ckpt_seq,
    idiom_dtype_moves, idiom_best_state, idiom_numpy_interop, idiom_default_dtype,
    idiom_loader_gen, idiom_samplers,
]


@pytest.mark.parametrize("idiom", IDIOMS, ids=lambda p: p.__name__[6:])
def test_idiom_prints_the_same(idiom):
    with warnings.catch_warnings():
        # PyTorch's deprecation chatter (scheduler order, ...) is not what is compared here.
        warnings.simplefilter("ignore")
        expected = idiom(torch)
        got = idiom(dg)
    compare(got, expected)


# ------------------------------------------------------------------ what the idioms found


def test_interpolate_area_matches_adaptive_average_pooling():
    # Found here: mode="area" raised NotImplementedError. PyTorch's area mode is adaptive
    # average pooling to the output size (the scale factor only sets that size).
    for shape, kwargs in [((2, 3, 7), {"size": 10}), ((1, 2, 5, 6), {"scale_factor": (0.7, 1.6)}),
                          ((1, 1, 4, 5, 6), {"size": (2, 3, 4)})]:
        outs = []
        for lib in (torch, dg):
            lib.manual_seed(0)
            x = lib.randn(*shape, dtype=lib.float64, requires_grad=True)
            y = lib.nn.functional.interpolate(x, mode="area", **kwargs)
            (y * y).sum().backward()
            outs.append([y, x.grad])
        compare(outs[1], outs[0])


def test_interpolate_antialias_outside_bilinear_bicubic_is_a_value_error():
    # PyTorch refuses antialias for the other modes with ValueError (deltagrad raised
    # NotImplementedError, the error it keeps for antialias where PyTorch supports it).
    for lib in (torch, dg):
        with pytest.raises(ValueError, match="Anti-alias"):
            lib.nn.functional.interpolate(lib.ones(1, 1, 4, 4), size=2, mode="area",
                                          antialias=True)
    # Bilinear / bicubic antialias is implemented (session 10); it agrees with PyTorch.
    x = np.random.default_rng(0).standard_normal((1, 2, 9, 7))
    for mode in ("bilinear", "bicubic"):
        ours = dg.nn.functional.interpolate(dg.tensor(x), size=(4, 3), mode=mode, antialias=True)
        theirs = torch.nn.functional.interpolate(torch.tensor(x), size=(4, 3), mode=mode,
                                                 antialias=True)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_random_sampler_draws_the_trailing_permutation_as_pytorch_does():
    # Found here: with num_samples a multiple of the dataset's size, RandomSampler skipped
    # PyTorch's last randperm (of which no index is kept), so a DataLoader shuffled by its own
    # generator gave the same first epoch and a different second one.
    passes = []
    for lib in (torch, dg):
        sampler = lib.utils.data.RandomSampler(range(10), num_samples=20,
                                               generator=lib.Generator().manual_seed(3))
        passes.append([list(sampler), list(sampler)])
    assert passes[1] == passes[0]


def test_saved_views_of_one_storage_still_share_it_after_load():
    results = []
    for lib in (torch, dg):
        base = lib.arange(6.0)
        buffer = io.BytesIO()
        lib.save([base, base[1:3]], buffer)
        buffer.seek(0)
        whole, part = lib.load(buffer)
        whole[1] = 100.0
        results.append(part)
    compare(results[1], results[0])

