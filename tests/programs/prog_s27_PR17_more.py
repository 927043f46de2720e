"""More numerical-edge programs (PR17, session 27): half-precision attention with finfo.min
masks (whose sum overflows to -inf) against scaled_dot_product_attention, bfloat16 inference
under inference_mode, half-precision ops public code calls
(layer_norm / softmax / matmul / cumsum / mean in float16 and bfloat16, their accumulation
dtype, dtype= on reductions), torch.amp.GradScaler on CPU, anomaly detection of a NaN in
backward, gradient hooks that zero NaNs, losses with every target ignored, logit / clamp with
eps, and nan-safe metrics. Tiny sizes, seeded; run by prog_s27_PR17_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put

NAN, INF = float("nan"), float("inf")


def section_half_ops() -> None:
    torch.manual_seed(175)
    x = torch.randn(3, 8)
    with printed("ho.log"):
        for dt in (torch.float16, torch.bfloat16):
            h = x.to(dt)
            ln = F.layer_norm(h, (8,))
            close = (ln.float() - F.layer_norm(x, (8,))).abs().max() < 0.05
            print(dt, "layer_norm", ln.dtype, f"{close}")
            print("  softmax", h.softmax(-1).dtype, h.softmax(-1, dtype=torch.float32).dtype,
                  "log_softmax", F.log_softmax(h, -1).dtype)
            print("  matmul", (h @ h.T).dtype, "mean", h.mean().dtype,
                  h.sum(dtype=torch.float32).dtype)
            print("  cumsum", h.cumsum(0).dtype, "var", h.var().dtype, "norm", h.norm().dtype)
            print("  argmax", h.argmax(1).tolist() == x.argmax(1).tolist(), "topk",
                  h.topk(2).values.dtype)
            big = torch.full((4096,), 1.0, dtype=dt)
            print("  sum 4096 ones", big.sum().item(), big.cumsum(0)[-1].item(), big.mean().item())
            print("  arange", torch.arange(0, 1, 0.25, dtype=dt), torch.linspace(0, 1, 3, dtype=dt))
            print("  eq", (torch.tensor(0.1, dtype=dt) == 0.1).item(),
                  torch.tensor(1 / 3, dtype=dt).item())
            emb = nn.Embedding(5, 3).to(dt)
            print("  embedding", emb(torch.tensor([1, 4])).dtype,
                  nn.LayerNorm(3).to(dt).weight.dtype)
            put(f"ho.ln_{str(dt)[6:]}", ln.float())
        print("to float16 of 1/3", torch.tensor([1 / 3]).half().float().item(),
              torch.tensor([1 / 3]).bfloat16().float().item())
        print("rounding", torch.tensor([2049.0, 2051.0]).half(),
              torch.tensor([257.0, 259.0]).bfloat16())
        print("half item type", type(torch.tensor(1.5).half().item()).__name__,
              torch.tensor([1.5], dtype=torch.float16).tolist())
        print("half numpy", torch.tensor([1.5]).half().numpy().dtype)
        print("is_floating_point", torch.tensor([1.0]).bfloat16().is_floating_point(),
              torch.bfloat16.is_floating_point, torch.float16.itemsize, torch.bfloat16.itemsize)


def section_grad_scaler() -> None:
    torch.manual_seed(176)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    x = torch.randn(8, 4)
    y = torch.randn(8, 1)
    with printed("gsc.log"):
        print("enabled", scaler.is_enabled(), "scale", scaler.get_scale())
        for step in range(5):
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = model(x)
            loss = F.mse_loss(out.float(), y)
            if step == 1:
                loss = loss * NAN
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            print(step, f"loss {loss.item():.4f}", "norm finite", torch.isfinite(norm).item(),
                  "scale", scaler.get_scale())
        sd = scaler.state_dict()
        print("state", sorted(sd), sd["scale"], sd["_growth_tracker"])
        s2 = torch.amp.GradScaler("cpu")
        s2.load_state_dict(sd)
        print("loaded", s2.get_scale(), s2.get_growth_interval())
        put("gsc.w", model.weight)


def section_anomaly() -> None:
    with printed("an.log", warnings_too=False):
        print("enabled", torch.is_anomaly_enabled())
        x = torch.tensor([0.0, 1.0], requires_grad=True)
        try:
            with torch.autograd.detect_anomaly():
                print("inside", torch.is_anomaly_enabled())
                y = (x.sqrt() * 0.0).sum()
                z = x / x
                z.sum().backward()
        except RuntimeError as e:
            print("anomaly RuntimeError", "nan" in str(e).lower())
        print("after", torch.is_anomaly_enabled())
        w = torch.tensor([1.0, 2.0, 0.0], requires_grad=True)
        w.register_hook(lambda g: torch.nan_to_num(g, nan=0.0, posinf=0.0))
        (w.log() * torch.tensor([1.0, 1.0, 0.0])).sum().backward()
        print("hooked grad", w.grad)
        v = torch.tensor([1.0, 0.0], requires_grad=True)
        torch.where(v > 0, v.log(), torch.zeros_like(v)).sum().backward()
        print("where trap", v.grad)
        u = torch.tensor([1.0, 0.0], requires_grad=True)
        safe = torch.where(u > 0, u, torch.ones_like(u))
        torch.where(u > 0, safe.log(), torch.zeros_like(u)).sum().backward()
        print("double where", u.grad)
        print("y", y.item())


def section_loss_edges() -> None:
    torch.manual_seed(177)
    logits = torch.randn(3, 4)
    with printed("le.log"):
        t = torch.tensor([-100, -100, -100])
        print("all ignored", F.cross_entropy(logits, t),
              F.cross_entropy(logits, t, reduction="sum"))
        print("nll ignored", F.nll_loss(F.log_softmax(logits, 1), torch.tensor([1, -100, 2])))
        print("smoothing", F.cross_entropy(logits, torch.tensor([0, 1, 2]), label_smoothing=0.1))
        p = torch.tensor([0.0, 1.0, 0.5])
        y = torch.tensor([0.0, 1.0, 1.0])
        print("bce at 0/1", F.binary_cross_entropy(p, y), F.binary_cross_entropy(p, 1 - y))
        print("logit eps", torch.logit(p, eps=1e-6), torch.logit(p))
        print("kl", F.kl_div(torch.log(torch.tensor([0.5, 0.5, 0.0])),
                             torch.tensor([0.5, 0.0, 0.5]), reduction="sum"))
        print("kl target 0", F.kl_div(torch.tensor([-1.0, -1.0]), torch.tensor([0.0, 1.0]),
                                      reduction="none"))
        print("poisson", F.poisson_nll_loss(torch.tensor([0.0, 2.0]), torch.tensor([0.0, 3.0]),
                                            log_input=False))
        print("gaussian nll", F.gaussian_nll_loss(torch.tensor([0.0]), torch.tensor([1.0]),
                                                  torch.tensor([0.0])))
        print("cosine of zeros", F.cosine_similarity(torch.zeros(1, 3), torch.ones(1, 3)))
        print("normalize zeros", F.normalize(torch.zeros(2, 3), dim=1))
        print("huber", F.huber_loss(torch.tensor([INF]), torch.tensor([0.0])),
              F.smooth_l1_loss(torch.tensor([1e30]), torch.tensor([0.0])))
        put("le.sm", F.cross_entropy(logits, torch.tensor([0, 1, 2]), label_smoothing=0.1))


def section_metrics() -> None:
    with printed("me.log"):
        tp, fp, fn = torch.tensor([0, 3, 2]), torch.tensor([0, 1, 0]), torch.tensor([0, 0, 2])
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        f1 = 2 * precision * recall / (precision + recall)
        print("precision", precision, "recall", recall, "f1", f1)
        print("macro f1 (nan->0)", torch.nan_to_num(f1).mean(), "nanmean", f1.nanmean())
        eps = 1e-8
        print("eps f1", (2 * tp / (2 * tp + fp + fn + eps)))
        conf = torch.zeros(3, 3, dtype=torch.int64)
        conf.index_put_((torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2])),
                        torch.tensor(1), accumulate=True)
        print("confusion", conf, conf.diag() / conf.sum(1).clamp(min=1))
        acc = (torch.tensor([1, 2, 3]) == torch.tensor([1, 0, 3])).float().mean()
        print("acc", acc, f"{acc.item():.2%}")
        scores = torch.tensor([0.9, 0.8, NAN, 0.1])
        print("argsort nan", scores.argsort(descending=True), scores.argsort())
        print("topk nan", torch.topk(scores, 2))
        print("cummax", torch.cummax(torch.tensor([1.0, NAN, 0.5]), 0))
        print("histc", torch.histc(torch.tensor([0.0, 0.5, 1.0, 1.0]), bins=2, min=0, max=1))
        print("round", torch.tensor([0.5, 1.5, 2.5, -0.5]).round(),
              torch.tensor([1.2345]).round(decimals=2))
        put("me.f1", torch.nan_to_num(f1))


def section_half_attention() -> None:
    torch.manual_seed(178)
    with printed("ha.log"):
        for dt in (torch.float16, torch.bfloat16):
            q = torch.randn(1, 2, 4, 8).to(dt)
            k, v = torch.randn(1, 2, 4, 8).to(dt), torch.randn(1, 2, 4, 8).to(dt)
            pad = torch.tensor([[True, True, True, False]])
            big_neg = torch.finfo(dt).min
            mask = torch.zeros(1, 1, 1, 4, dtype=dt).masked_fill(~pad[:, None, None, :], big_neg)
            causal = torch.full((4, 4), big_neg, dtype=dt).triu(1)
            both = mask + causal  # (finfo.min + finfo.min: -inf in half, as in HF code)
            print(dt, "mask min", both.min().item(), both.isinf().sum().item())
            scores = (q @ k.transpose(-1, -2)) / 8 ** 0.5 + both
            probs = scores.float().softmax(-1).to(dt)
            out = probs @ v
            ref = F.scaled_dot_product_attention(q, k, v, attn_mask=both)
            print("  probs", probs.dtype, probs[0, 0, 0].tolist(), "rows sum to 1",
                  (probs.float().sum(-1) - 1).abs().max().item() < 1e-2)
            print("  sdpa close", (ref.float() - out.float()).abs().max().item() < 0.05,
                  ref.dtype, ref.isfinite().all().item())
            boolmask = torch.ones(4, 4, dtype=torch.bool).tril()
            sd2 = F.scaled_dot_product_attention(q, k, v, attn_mask=boolmask)
            sd3 = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            print("  bool vs causal", (sd2.float() - sd3.float()).abs().max().item() < 1e-2)
            put(f"ha.out_{str(dt)[6:]}", out.float())
        model = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.LayerNorm(8)).to(torch.bfloat16)
        with torch.inference_mode():
            y = model(torch.randn(2, 8, dtype=torch.bfloat16))
        print("inference", y.dtype, y.requires_grad, torch.is_inference(y),
              y.isfinite().all().item())


SECTIONS = {
    "half_attention": section_half_attention,
    "half_ops": section_half_ops, "grad_scaler": section_grad_scaler, "anomaly": section_anomaly,
    "loss_edges": section_loss_edges, "metrics": section_metrics,
}
