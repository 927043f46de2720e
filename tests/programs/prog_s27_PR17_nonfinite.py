"""NaN / inf programs (PR17, session 27), written afresh the way public code meets them:
nan_to_num and the nan-reductions (nanmean, nansum, nanquantile, nanmedian), isfinite masks
over a batch, clip_grad_norm_ with inf norms and error_if_nonfinite, softmax / log_softmax /
logsumexp of all -inf rows and of huge values, BCEWithLogits at +-100, log1p / expm1 / xlogy
near zero, and printing of extreme values under set_printoptions. Tiny sizes, seeded; run by
prog_s27_PR17_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put

NAN, INF = float("nan"), float("inf")


def section_nan_reduce() -> None:
    x = torch.tensor([[1.0, NAN, 3.0, INF], [NAN, NAN, -2.0, 0.5], [NAN] * 4])
    with printed("nr.log"):
        print("nan_to_num", torch.nan_to_num(x))
        print("nan_to_num args", torch.nan_to_num(x, nan=0.0, posinf=1e4, neginf=-1e4))
        print("nansum", torch.nansum(x), torch.nansum(x, dim=1))
        print("nanmean", torch.nanmean(x, dim=1), torch.nanmean(x[:2, :3]))
        print("nanmedian", torch.nanmedian(x[:2], dim=1))
        print("nanquantile", torch.nanquantile(x[:, :3], 0.5, dim=1),
              torch.nanquantile(torch.tensor([1.0, NAN, 3.0, 4.0]), torch.tensor([0.25, 0.9])))
        print("quantile with nan", torch.quantile(torch.tensor([1.0, NAN, 2.0]), 0.5))
        print("isnan", x.isnan().sum(1), "isinf", x.isinf().nonzero().tolist(),
              "isposinf", torch.isposinf(x).any().item(), torch.isneginf(-x).sum().item())
        print("max with nan", x[0].max(), torch.amax(x, 1), x.argmax(1))
        print("min/max ignore", torch.fmax(x[0], x[1]), torch.fmin(x[0], x[1]))
        print("maximum", torch.maximum(x[0], x[1]), "clamp", x[0].clamp(0, 2))
        print("sort", torch.sort(torch.tensor([3.0, NAN, -INF, 1.0, INF])))
        print("unique", torch.unique(torch.tensor([NAN, 1.0, 1.0])).numel())
        batch = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
        batch[1, 2] = NAN
        batch[3, 0] = -INF
        keep = torch.isfinite(batch).all(dim=1)
        print("finite rows", keep.tolist(), batch[keep].shape, f"{batch[keep].mean():.4f}")
        print("where", torch.where(torch.isnan(batch), torch.zeros_like(batch), batch)[1])
        print("inf arithmetic", torch.tensor([INF]) - INF, torch.tensor([0.0]) * INF,
              torch.tensor([1.0, -1.0, 0.0]) / 0)
        print("mean of empty", torch.tensor([]).mean(), torch.tensor([]).sum())
        put("nr.nm", torch.nanmean(x, dim=1))


def section_clip_nonfinite() -> None:
    torch.manual_seed(174)
    with printed("cg.log"):
        model = nn.Linear(3, 2)
        model(torch.randn(4, 3)).sum().backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        print("norm", f"{norm.item():.4f}", norm.dtype, norm.shape)
        print("after", f"{torch.cat([p.grad.flatten() for p in model.parameters()]).norm():.4f}")
        inf_norm = nn.utils.clip_grad_norm_(model.parameters(), 0.1, norm_type=INF)
        print("inf norm", f"{inf_norm.item():.4f}",
              f"{max(p.grad.abs().max() for p in model.parameters()).item():.4f}")
        model.weight.grad[0, 0] = NAN
        n = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        print("nan norm", n, model.bias.grad.isnan().all().item())
        model.weight.grad[0, 0] = INF
        try:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
        except RuntimeError as e:
            print("RuntimeError", str(e).split(".")[0])
        model.zero_grad()
        model(torch.randn(2, 3)).sum().backward()
        print("grad norm p", [f"{v:.4f}" for v in
                              nn.utils.get_total_norm([p.grad for p in model.parameters()],
                                                      norm_type=1.0).reshape(1).tolist()])
        nn.utils.clip_grad_value_(model.parameters(), 0.2)
        print("clip value", model.weight.grad.abs().max().item() <= 0.2, model.bias.grad)
        print("empty", nn.utils.clip_grad_norm_([], 1.0))
        put("cg.w", model.weight.grad)


def section_softmax_edges() -> None:
    with printed("sm.log"):
        rows = torch.tensor([[-INF, -INF, -INF], [0.0, -INF, 1.0], [1000.0, 1000.0, -1000.0],
                             [1e30, 0.0, -1e30]])
        print("softmax", torch.softmax(rows, -1))
        print("log_softmax", torch.log_softmax(rows, -1))
        print("logsumexp", torch.logsumexp(rows, -1))
        print("logsumexp empty", torch.logsumexp(torch.empty(2, 0), -1))
        scores = torch.randn(2, 4, generator=torch.Generator().manual_seed(3))
        mask = torch.tensor([[True, True, False, False], [False] * 4])
        att = scores.masked_fill(~mask, -INF).softmax(-1)
        print("masked attn", att)
        print("nan rows fixed", torch.nan_to_num(att, nan=0.0).sum(-1))
        safe = scores.masked_fill(~mask, torch.finfo(scores.dtype).min).softmax(-1)
        print("finfo.min fill", safe)
        z = torch.tensor([100.0, -100.0, 0.0, 50.0])
        t = torch.tensor([1.0, 1.0, 0.5, 0.0])
        # (exp(-100) is subnormal in float32: its last bit differs between libms, so the
        # tiny entries are printed as "below 1e-40" and recorded with a tolerance)
        bce = F.binary_cross_entropy_with_logits(z, t, reduction="none")
        print("bce logits", bce[1:], bce[0] < 1e-40)
        print("bce sigmoid", F.binary_cross_entropy(torch.sigmoid(z), t, reduction="none"))
        print("sigmoid", torch.sigmoid(z), "logsigmoid", F.logsigmoid(z)[1:])
        print("softplus", F.softplus(z)[[0, 2, 3]], F.softplus(z, beta=2, threshold=10))
        put("sm.bce", bce)
        print("ce -inf logit", F.cross_entropy(torch.tensor([[0.0, -INF, 1.0]]),
                                               torch.tensor([2])))
        print("tanh/exp", torch.tanh(z), torch.exp(torch.tensor([88.0, 89.0, 710.0])))
        put("sm.ls", torch.log_softmax(rows, -1))


def section_small_values() -> None:
    with printed("sv.log"):
        t = torch.tensor([0.0, 1e-10, -1e-10, 1e-5, 1.0])
        print("log1p", torch.log1p(t), "vs log", torch.log(1 + t))
        print("expm1", torch.expm1(t), "vs exp", torch.exp(t) - 1)
        x = torch.tensor([0.0, 0.0, 1.0, 2.0])
        y = torch.tensor([0.0, NAN, 0.0, 3.0])
        print("xlogy", torch.xlogy(x, y), torch.special.xlogy(x, 2.0))
        print("xlog1py", torch.special.xlog1py(x, torch.tensor([-1.0, 0.0, 1.0, 2.0])))
        print("entr", torch.special.entr(torch.tensor([0.0, 0.5, 1.0, -1.0])))
        print("sqrt grad at 0")
        v = torch.tensor([0.0, 4.0], requires_grad=True)
        v.sqrt().sum().backward()
        print(v.grad)
        w = torch.tensor([0.0, 1.0], requires_grad=True)
        torch.norm(w - w.detach()).backward()
        print("norm grad at 0", w.grad)
        p = torch.tensor([0.0, 0.5, 1.0])
        print("entropy", -(p * torch.log(p)).sum(), -torch.special.xlogy(p, p).sum())
        print("atan2", torch.atan2(torch.tensor([0.0, -0.0, 1.0]), torch.tensor([-0.0, -1.0, 0.0])))
        print("signbit", torch.signbit(torch.tensor([-0.0, 0.0, -1.0])), torch.tensor(-0.0))
        print("pow", torch.tensor([0.0, -8.0, 2.0]) ** torch.tensor([0.0, 1 / 3, -1100.0]))
        print("lgamma", torch.lgamma(torch.tensor([0.0, -1.0, 0.5])),
              torch.special.gammaln(torch.tensor([1e-30])))
        print("erfinv", torch.erfinv(torch.tensor([-1.0, 0.0, 1.0, 1.5])))
        print("div", torch.tensor(1.0) / torch.tensor(-0.0), math.copysign(1, -0.0))
        put("sv.l1p", torch.log1p(t))


def section_printing() -> None:
    with printed("pr.log"):
        vals = torch.tensor([1e-12, 3.0, 1e12, NAN, -INF])
        print(vals)
        print(torch.tensor([1e-5, 1.0]), torch.tensor([123456.0, 0.5]))
        print(torch.tensor([1e20, 1.0]).double(), torch.tensor([1.5, 2.25], dtype=torch.float16))
        torch.set_printoptions(precision=2)
        print("p2", vals, torch.tensor([3.14159, 2.71828]))
        torch.set_printoptions(sci_mode=False)
        print("nosci", vals, torch.tensor([1e-7, 5.0]))
        torch.set_printoptions(sci_mode=True, precision=3)
        print("sci", torch.tensor([1.0, 2.5]), torch.tensor([0.0]))
        torch.set_printoptions(profile="default")
        print("default", torch.tensor([1e-4, 1.0]), torch.tensor([INF, -INF, NAN]))
        torch.set_printoptions(threshold=5, edgeitems=2)
        print("summarized", torch.arange(10.0))
        torch.set_printoptions(profile="default")
        print("bf16", torch.tensor([1.0, 1e-3, 300.0], dtype=torch.bfloat16))
        print("int", torch.tensor([2 ** 40, -1]), torch.tensor([1, 2], dtype=torch.uint8))
        print("scalar", torch.tensor(1e-30), torch.tensor(float("nan")), torch.tensor(-INF))
        print("item", torch.tensor(0.1).item(), torch.tensor(1e-8, dtype=torch.float16).item())
        print(f"format {torch.tensor(2.5):.3f} {torch.tensor(1e-9).item():.2e}")
        print("half repr", repr(torch.tensor([65504.0]).half()), torch.tensor([1e-4]).half())


SECTIONS = {
    "nan_reduce": section_nan_reduce, "clip_nonfinite": section_clip_nonfinite,
    "softmax_edges": section_softmax_edges, "small_values": section_small_values,
    "printing": section_printing,
}
