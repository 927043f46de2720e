"""Half-precision programs (PR17, session 27), written afresh the way public mixed-precision
code writes them: a model trained in float16 / bfloat16 (module.half(), .to(torch.bfloat16)),
CPU autocast (which ops run in bfloat16, which stay float32), loss scaling by hand with an
inf / nan check that skips the step and halves the scale, float32 master weights copied back
into a half model, and finfo-driven clamps (eps, tiny, max) of half tensors. Tiny sizes,
seeded; run by prog_s27_PR17_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def section_half_train() -> None:
    torch.manual_seed(170)
    x = torch.randn(16, 4)
    y = (x.sum(1, keepdim=True) > 0).float()
    with printed("h16.log"):
        for dtype in (torch.float16, torch.bfloat16):
            torch.manual_seed(171)
            model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).to(dtype)
            print(dtype, {p.dtype for p in model.parameters()}, model[0].weight.dtype.itemsize)
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            for step in range(5):
                out = model(x.to(dtype))
                loss = F.binary_cross_entropy_with_logits(out, y.to(dtype))
                opt.zero_grad()
                loss.backward()
                opt.step()
                print(step, out.dtype, loss.dtype, f"{loss.item():.2f}",
                      model[0].weight.grad.dtype)
            put(f"h16.w_{str(dtype)[6:]}", model[0].weight.float())
        half = nn.Linear(3, 2).half()
        print("half()", half.weight.dtype, half.bias.dtype)
        print("back", half.float().weight.dtype, half.to(torch.float64).bias.dtype)
        try:
            nn.Linear(3, 2).half()(torch.randn(1, 3))
        except RuntimeError:
            print("mixed RuntimeError")
        a = torch.tensor([1.0, 2.0], dtype=torch.float16)
        b = torch.tensor([1.0, 2.0], dtype=torch.bfloat16)
        print("promote", (a + b).dtype, (a + 1.5).dtype, (a * torch.tensor(2.0)).dtype,
              (b + torch.tensor([1.0])).dtype, (a + torch.tensor([1], dtype=torch.int64)).dtype)


def section_autocast() -> None:
    torch.manual_seed(172)
    lin = nn.Linear(4, 3)
    x = torch.randn(2, 4)
    with printed("ac.log"):
        print("enabled outside", torch.is_autocast_enabled("cpu"))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            print("enabled inside", torch.is_autocast_enabled("cpu"),
                  torch.get_autocast_dtype("cpu"))
            y = lin(x)
            print("linear", y.dtype)
            print("matmul", (x @ x.T).dtype, "add", (x + x).dtype)
            print("softmax", torch.softmax(y, -1).dtype, "sum", y.sum().dtype)
            print("relu", F.relu(y).dtype, "mse", F.mse_loss(y, torch.zeros(2, 3)).dtype)
            with torch.autocast("cpu", enabled=False):
                print("nested off", lin(x).dtype)
        print("after", lin(x).dtype)
        with torch.autocast(device_type="cpu") as ctx:
            print("default dtype", lin(x).dtype, ctx.fast_dtype, ctx.device)
        lin.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = lin(x).float().pow(2).mean()
        loss.backward()
        print("grad dtype", lin.weight.grad.dtype, loss.dtype)
        put("ac.y", y.float())


def section_loss_scaling() -> None:
    torch.manual_seed(173)
    model = nn.Linear(3, 1)
    master = [p.detach().clone().float() for p in model.parameters()]
    model = model.half()
    x = torch.randn(8, 3)
    y = torch.randn(8, 1)
    scale = 2.0 ** 16
    with printed("ls.log"):
        print("fp16 max", torch.finfo(torch.float16).max, "scale", scale)
        skipped = 0
        for step in range(6):
            out = model(x.half())
            loss = (out.float() - y).pow(2).mean()
            if step == 2:
                loss = loss * float("inf")
            model.zero_grad()
            (loss * scale).backward()
            grads = [p.grad.float() / scale for p in model.parameters()]
            finite = all(torch.isfinite(g).all() for g in grads)
            if not finite:
                skipped += 1
                scale /= 2
                print(step, "skip: non-finite grads, scale", scale)
                continue
            with torch.no_grad():
                for m, g, p in zip(master, grads, model.parameters()):
                    m -= 0.05 * g
                    p.copy_(m)
            print(step, f"loss {loss.item():.3f}", "scale", scale,
                  "grad inf?", any(torch.isinf(p.grad).any().item() for p in model.parameters()))
        print("skipped", skipped, "master dtype", master[0].dtype, "model", model.weight.dtype)
        big = torch.tensor([60000.0, 70000.0, -1e5, 1e-8], dtype=torch.float32)
        print("to half", big.half(), big.bfloat16())
        g = torch.tensor([3e4, 5e4], dtype=torch.float16)
        print("overflow", g * 2, (g * 2).isinf().tolist(), torch.isfinite(g * 2).all().item())
        put("ls.master", master[0])


def section_finfo() -> None:
    with printed("fi.log"):
        for dt in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            fi = torch.finfo(dt)
            print(dt, fi.bits, fi.eps, fi.tiny, fi.max, fi.min, fi.resolution,
                  fi.smallest_normal)
        print(torch.finfo(torch.float16))
        for dt in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
            ii = torch.iinfo(dt)
            print(dt, ii.bits, ii.min, ii.max)
        print(torch.iinfo(torch.int32))
        print("default finfo", torch.finfo().eps, torch.finfo() == torch.finfo(torch.float32))
        p = torch.tensor([0.0, 1e-9, 0.5, 1.0])
        eps = torch.finfo(p.dtype).eps
        pc = p.clamp(eps, 1 - eps)
        print("clamped", pc, torch.log(pc), torch.log(pc / (1 - pc)))
        h = torch.tensor([1e-8, 1e5, -1e5, 3.0]).half()
        print("half", h, h.clamp(min=torch.finfo(torch.float16).tiny))
        big = torch.tensor([1e30, -1e30, 5.0])
        fmax = torch.finfo(torch.float16).max
        print("clamp to fp16", big.clamp(-fmax, fmax).half())
        m = torch.zeros(2, 3).masked_fill(torch.tensor([[True, False, False], [False] * 3]),
                                          torch.finfo(torch.float32).min)
        print("min fill", m, torch.softmax(m, -1))
        print("nextafter", torch.nextafter(torch.tensor([1.0]), torch.tensor([2.0])) - 1)
        put("fi.eps", torch.tensor(eps))


SECTIONS = {
    "half_train": section_half_train, "autocast": section_autocast,
    "loss_scaling": section_loss_scaling, "finfo": section_finfo,
}
