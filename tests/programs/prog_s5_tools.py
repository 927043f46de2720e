"""Probe II, autograd and numerics programs: PyTorch code that receives the library as ``torch``.

Each ``prog_*(torch, model)`` returns the numbers worth comparing (and may print);
test_s5_programs_2.py runs it on deltagrad and PyTorch from identical NumPy inputs.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------- 11. jacobian/hessian


def prog_jacobians(torch, _):
    """autograd.functional jacobian/hessian/vjp/jvp/hvp and torch.func jacrev/jacfwd/hessian/
    vmap of a small function, checked against each other."""
    AF = torch.autograd.functional

    def f(x):
        return torch.stack([x[0] ** 2 * x[1], torch.sin(x[1]) + x[2].exp(), (x * x).sum()])

    def energy(x):
        return (x ** 3).sum() + x[0] * x[1] * x[2]

    def two(x, y):
        return (x * y).sum(), x - y

    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    y = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    v = torch.tensor([1.0, 0.5, -1.0], dtype=torch.float64)
    out = {
        "jac": AF.jacobian(f, x), "hess": AF.hessian(energy, x),
        "jac2": AF.jacobian(two, (x, y)),
        "vjp": AF.vjp(f, x, v), "jvp": AF.jvp(f, x, v), "hvp": AF.hvp(energy, x, v),
        "vhp": AF.vhp(energy, x, v),
        "jac_graph": AF.jacobian(f, x, create_graph=True).requires_grad,
    }
    F = torch.func
    out["jacrev"] = F.jacrev(f)(x)
    out["jacfwd"] = F.jacfwd(f)(x)
    out["fhess"] = F.hessian(energy)(x)
    out["grad"] = F.grad(energy)(x)
    batch = torch.stack([x, y, v])
    out["vmap_grad"] = F.vmap(F.grad(energy))(batch)
    out["vmap_jac"] = F.vmap(F.jacrev(f))(batch)
    value, grads = F.grad_and_value(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, y)
    out["gv"] = [value, grads]
    return out


# ---------------------------------------------------------------------------- 12. custom Function

def prog_custom_function(torch, _):
    """A clamp with a straight-through gradient and a two-input op that skips the gradient
    its caller does not need (ctx.needs_input_grad), save_for_backward, mark_non_differentiable,
    the separate setup_context form and gradcheck."""

    class StraightThroughClamp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, low, high):
            ctx.save_for_backward(x)
            ctx.low, ctx.high = low, high
            return x.clamp(low, high)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            inside = (x > ctx.low * 2) & (x < ctx.high * 2)
            return grad * inside, None, None

    calls = []

    class ScaledProduct(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, scale):
            ctx.save_for_backward(a, b)
            ctx.scale = scale
            return a * b * scale

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            calls.append(list(ctx.needs_input_grad))
            ga = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
            gb = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
            return ga, gb, None

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x ** 2

    class Bucket(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = torch.floor(x * 2)
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            return torch.zeros_like(grad)

    rng = np.random.default_rng(112)
    x = torch.tensor(rng.normal(size=6).astype(np.float32) * 2, requires_grad=True)
    a = torch.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    b = torch.tensor(rng.normal(size=(2, 3)))
    clamped = StraightThroughClamp.apply(x, -1.0, 1.0)
    (clamped * torch.arange(6.0)).sum().backward()
    product = ScaledProduct.apply(a, b, 3.0)
    product.sum().backward()
    b.requires_grad_(True)
    ScaledProduct.apply(a, b, 0.5).pow(2).sum().backward()
    cubed = Cube.apply(x)
    (cubed * torch.linspace(0, 1, 6)).sum().backward()
    bucket = Bucket.apply(x)
    calls_before_check = str(calls)  # gradcheck's own number of backward calls differs
    check = torch.autograd.gradcheck(ScaledProduct.apply,
                                     (a.detach().requires_grad_(), b.detach().requires_grad_(),
                                      2.0))
    return {"clamped": clamped, "x.grad": x.grad, "product": product, "a.grad": a.grad,
            "b.grad": b.grad, "calls": calls_before_check, "cubed": cubed,
            "bucket": bucket, "bucket_grad": bucket.requires_grad,
            "cubed_fn": cubed.grad_fn.name(),
            "gradcheck": check, "fn": product.grad_fn.name()}


# ---------------------------------------------------------------------------- 13. parametrizations

def prog_parametrizations(torch, _):
    """weight_norm and spectral_norm from nn.utils.parametrizations on Linear layers, trained
    a few steps; the parametrized weight, the originals, the state dict keys, removal."""
    nn = torch.nn
    P = torch.nn.utils.parametrizations
    torch.manual_seed(0)
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.arange(12.0).reshape(3, 4) / 10 - 0.5)
        lin.bias.fill_(0.1)
    lin = P.weight_norm(lin)
    sn = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        sn.weight.copy_(torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 3.0]]))
    sn = P.spectral_norm(sn, n_power_iterations=30)
    x = torch.from_numpy(np.random.default_rng(113).normal(size=(5, 4)).astype(np.float32))
    opt = torch.optim.SGD(list(lin.parameters()) + list(sn.parameters()), lr=0.1)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = sn(lin(x)).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    sn.eval()
    sigma = torch.linalg.matrix_norm(sn.weight, ord=2)
    keys = ",".join(lin.state_dict()) + ";" + ",".join(
        k for k in sn.state_dict() if not k.endswith(("_u", "_v")))
    g = lin.parametrizations.weight.original0
    w = lin.weight
    torch.nn.utils.parametrize.remove_parametrizations(lin, "weight")
    return {"losses": losses, "g": g, "v_grad": lin.bias.grad, "w": w, "sigma": sigma,
            "keys": keys, "removed": torch.nn.utils.parametrize.is_parametrized(lin),
            "after": lin.weight}


# ---------------------------------------------------------------------------- 14. losses

def prog_losses(torch, _):
    """Label smoothing with ignore_index and class weights; knowledge distillation with kl_div
    (log_target both ways) at a temperature; a SimCLR-style contrastive loss."""
    F = torch.nn.functional
    rng = np.random.default_rng(114)
    logits = torch.tensor(rng.normal(size=(6, 5)).astype(np.float32), requires_grad=True)
    target = torch.tensor([0, 4, -100, 2, 1, -100])
    weight = torch.tensor([1.0, 2.0, 0.5, 1.0, 1.5])
    smooth = F.cross_entropy(logits, target, label_smoothing=0.1)
    weighted = F.cross_entropy(logits, target, weight=weight, label_smoothing=0.2,
                               ignore_index=-100)
    per = F.cross_entropy(logits, target, label_smoothing=0.3, reduction="none")
    summed = torch.nn.CrossEntropyLoss(label_smoothing=0.05, reduction="sum")(logits, target)
    probs = F.cross_entropy(logits, torch.softmax(torch.tensor(
        rng.normal(size=(6, 5)).astype(np.float32)), 1), label_smoothing=0.1)
    (smooth + weighted + per.sum() + summed + probs).backward()
    ce_grad = logits.grad.clone()

    student = torch.tensor(rng.normal(size=(4, 5)).astype(np.float32), requires_grad=True)
    teacher = torch.tensor(rng.normal(size=(4, 5)).astype(np.float32))
    labels = torch.tensor([1, 0, 3, 3])
    T, alpha = 2.0, 0.7
    soft = F.kl_div(F.log_softmax(student / T, dim=1), F.softmax(teacher / T, dim=1),
                    reduction="batchmean") * T * T
    soft_log = F.kl_div(F.log_softmax(student / T, dim=1), F.log_softmax(teacher / T, dim=1),
                        reduction="batchmean", log_target=True) * T * T
    crit = torch.nn.KLDivLoss(reduction="sum", log_target=True)
    kd = alpha * soft + (1 - alpha) * F.cross_entropy(student, labels)
    kd.backward()
    none = F.kl_div(F.log_softmax(student, 1), F.softmax(teacher, 1), reduction="none")

    z = torch.tensor(rng.normal(size=(6, 4)).astype(np.float32), requires_grad=True)
    emb = F.normalize(z, dim=1)
    sim = emb @ emb.T / 0.5
    sim = sim.masked_fill(torch.eye(6, dtype=torch.bool), float("-inf"))
    pos = torch.arange(6).roll(3)
    contrastive = F.cross_entropy(sim, pos)
    contrastive.backward()
    return {"smooth": smooth, "weighted": weighted, "per": per, "summed": summed,
            "probs": probs, "ce_grad": ce_grad, "soft": soft, "soft_log": soft_log,
            "crit": crit(F.log_softmax(student, 1), F.log_softmax(teacher, 1)), "kd": kd,
            "student_grad": student.grad, "none": none, "sim_row": sim[0],
            "contrastive": contrastive, "z_grad": z.grad,
            "logsumexp": torch.logsumexp(sim, dim=1)}


# ---------------------------------------------------------------------------- 15. integers

def prog_integers(torch, _):
    """Bitwise ops, shifts, floor and true division and remainder on negative integers; int
    dtypes of the results; hashing tokens with a mask; printed results."""
    a = torch.tensor([-7, -3, 0, 5, 13, -128], dtype=torch.int64)
    b = torch.tensor([2, -2, 3, -4, 5, 3], dtype=torch.int64)
    small = torch.tensor([1, 2, -3, 100], dtype=torch.int32)
    byte = torch.tensor([1, 2, 250, 255], dtype=torch.uint8)
    out = {
        "and": a & b, "or": a | b, "xor": a ^ b, "not": ~a, "lshift": a << 2,
        "rshift": a >> 1, "floordiv": a // b, "floor_divide": torch.floor_divide(a, b),
        "div_floor": torch.div(a, b, rounding_mode="floor"),
        "div_trunc": torch.div(a, b, rounding_mode="trunc"), "true": a / b, "mod": a % b,
        "remainder": torch.remainder(a, -3), "fmod": torch.fmod(a, -3),
        "scalar_mod": -7 % torch.tensor(3), "rfloordiv": 10 // b, "pow": b ** 2,
        "int32_shift": small << 3, "int32_xor": small ^ 5, "uint8_add": byte + 10,
        "uint8_not": ~byte, "bool_xor": torch.tensor([True, False]) ^ torch.tensor([True, True]),
        "bitwise_and": torch.bitwise_and(a, 6), "bitwise_left": torch.bitwise_left_shift(b, 1),
        "abs": a.abs(), "neg": -small, "sign": a.sign(), "clamp": a.clamp(-5, 5),
        "hash": (a * 31 + 7) % 16, "mixed": a * 1.5, "idiv": small // 2,
        "sum_dtype": small.sum(), "mean_of_float": a.float().mean(),
        "cumsum_dtype": small.cumsum(0), "prod": b.prod(), "gcd": torch.gcd(a, b),
    }
    c = a.clone()
    c //= 2
    c <<= 1
    c %= 5
    out["inplace"] = c
    print(a // b, a % b, small << 3, byte + 10)
    print(torch.div(a, b, rounding_mode="trunc").dtype, (a / b).dtype, (small // 2).dtype,
          small.sum().dtype, (byte + 10).dtype)
    return out


# ---------------------------------------------------------------------------- 16. ties

def prog_ties(torch, _):
    """argmax/argmin/max/sort/mode on ties and on NaN: which index each library picks; topk
    on ties (see below)."""
    x = torch.tensor([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 5.0], [0.0, -1.0, 0.0, -1.0]])
    n = torch.tensor([2.0, float("nan"), 7.0, float("nan")])
    i = torch.tensor([[4, 1, 4], [2, 2, 0]])
    # PyTorch leaves the order of tied topk indices unspecified (its selection algorithm's
    # order shows through): compare the values, that each index points at its value, and the
    # index sets where the k-th place does not split a run of ties.
    values, indices = torch.topk(x, 2, dim=1)
    low_v, low_i = x.topk(3, dim=1, largest=False)
    valid = bool((x.gather(1, indices) == values).all() & (x.gather(1, low_i) == low_v).all())
    sets = indices[[0, 2]].sort(dim=1).values
    sorted_v, sorted_i = x.sort(dim=1, descending=True, stable=True)
    mx = x.max(dim=1)
    mn = x.min(dim=0)
    return {"argmax": x.argmax(dim=1), "argmin": x.argmin(dim=1), "flat": x.argmax(),
            "topk": [values, sets, valid], "low": low_v, "sort": [sorted_v, sorted_i],
            "max": [mx.values, mx.indices], "min": [mn.values, mn.indices],
            "nan_argmax": n.argmax(), "nan_max": n.max(), "nan_argmin": n.argmin(),
            "nan_sort": n.sort(), "int_argmax": i.argmax(dim=1), "mode": x.mode(dim=1),
            "keepdim": x.argmax(dim=0, keepdim=True), "amax": x.amax(1),
            "bool_argmax": torch.tensor([False, True, True]).int().argmax()}


# ---------------------------------------------------------------------------- 17. grad modes

def prog_grad_modes(torch, _):
    """no_grad / enable_grad / set_grad_enabled / inference_mode nesting, as context managers
    and decorators; requires_grad of results and is_grad_enabled inside each."""
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def state(tag, t):
        seen.append(f"{tag}:{torch.is_grad_enabled()}:{t.requires_grad}")

    with torch.no_grad():
        state("no_grad", w * 2)
        with torch.enable_grad():
            state("enable", w * 2)
            with torch.set_grad_enabled(False):
                state("set_false", w * 2)
        with torch.set_grad_enabled(True):
            kept = w * 3
            state("set_true", kept)
    state("outside", w * 2)

    @torch.no_grad()
    def predict(v):
        return v * w

    @torch.enable_grad()
    def trained(v):
        return v * w

    state("decorated", predict(torch.ones(2)))
    with torch.no_grad():
        state("inner_enable", trained(torch.ones(2)))
    with torch.inference_mode():
        inf = w * 2
        state("inference", inf)
        seen.append(f"is_inference:{torch.is_inference_mode_enabled()}:{inf.is_inference()}")
        with torch.inference_mode(False):
            state("inference_off", w * 2)
    seen.append(f"after:{torch.is_inference_mode_enabled()}:{w.is_inference()}")
    torch.set_grad_enabled(False)
    state("function_form", w * 2)
    torch.set_grad_enabled(True)
    state("restored", w * 2)
    kept.sum().backward()
    return {"seen": ",".join(seen), "grad": w.grad, "inf": inf}


# ---------------------------------------------------------------------------- 18. printing

def prog_printing(torch, _):
    """What a tutorial prints: tensors of each dtype, with grad and grad_fn, shapes and sizes,
    a Parameter, a model, an optimizer, a named_parameters listing, a summarised big tensor."""
    torch.set_printoptions(precision=4)
    x = torch.tensor([[1.5, -2.25, 3.0], [0.1, 1e-3, 12345.678]])
    w = torch.nn.Parameter(torch.tensor([0.5, -1.0]))
    y = (w * 2).sum()
    print(x)
    print(x.double(), x.long(), x > 1, x.half() if hasattr(x, "half") else None)
    # (a Size prints as a tuple here: test_size_prints_as_torch_size pins that difference)
    print(tuple(x.shape), list(x.size()), x.size(1), x.dtype, x.T.is_contiguous(), x.ndim)
    print(w)
    print(y)
    print(torch.tensor(3.5), torch.tensor([]), torch.zeros(2, 0), torch.tensor(7))
    print(torch.arange(2000.0).reshape(40, 50))
    print(torch.tensor([1e-8, 1.0, 1e8]), torch.tensor([float("nan"), float("inf"), -1.0]))
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                                torch.nn.Linear(4, 2, bias=False))
    print(model)
    for name, p in model.named_parameters():
        print(name, tuple(p.shape), p.requires_grad)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    print(opt)
    print(torch.optim.Adam([w], lr=1e-3))
    print(f"{x[0, 0].item():.3f} {x.sum().item():.2f} {x.mean():.3f}")
    print(repr(torch.float32), torch.int64, torch.bool)
    torch.set_printoptions(profile="default")
    print(x)
    return {"y": y}


# ---------------------------------------------------------------------------- 19. attention

def prog_attention(torch, _):
    """nn.MultiheadAttention with a key padding mask and a boolean attention mask, per-head
    weights; F.scaled_dot_product_attention causal and masked, checked against the written-out
    softmax(QK^T / sqrt(d)) V; gradients through both."""
    F = torch.nn.functional
    torch.manual_seed(0)
    rng = np.random.default_rng(119)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, 0.3, tuple(p.shape)).astype(np.float32)))
    x = torch.tensor(rng.normal(size=(2, 4, 8)).astype(np.float32), requires_grad=True)
    padding = torch.tensor([[False, False, False, True], [False, False, True, True]])
    banned = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=2)
    out, weights = mha(x, x, x, key_padding_mask=padding, attn_mask=banned,
                       average_attn_weights=False)
    _, mean_weights = mha(x, x, x, key_padding_mask=padding)
    out.pow(2).sum().backward()
    q, k, v = (torch.tensor(rng.normal(size=(2, 2, 5, 4)).astype(np.float32),
                            requires_grad=True) for _ in range(3))
    causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    keep = torch.tensor(rng.random((5, 5)) > 0.3) | torch.eye(5, dtype=torch.bool)
    masked = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=0.3)
    scores = (q @ k.transpose(-2, -1)) * 0.3
    manual = scores.masked_fill(~keep, float("-inf")).softmax(-1) @ v
    (causal.sum() + (masked * manual.detach()).sum()).backward()
    return {"out": out, "weights": weights, "mean": mean_weights, "x.grad": x.grad,
            "in_proj.grad": mha.in_proj_weight.grad, "causal": causal, "masked": masked,
            "manual": manual, "q.grad": q.grad, "v.grad": v.grad}


# ---------------------------------------------------------------------------- 20. metrics

def prog_metrics(torch, _):
    """An evaluation loop's bookkeeping: one_hot, a confusion matrix by bincount, per-class
    precision/recall/F1 with zero divisions guarded, top-k accuracy, printed per class."""
    rng = np.random.default_rng(120)
    logits = torch.from_numpy(rng.normal(size=(30, 4)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 4, 30))
    labels[labels == 3] = 2  # class 3 never occurs: its recall divides by zero
    preds = logits.argmax(dim=1)
    n = 4
    confusion = torch.bincount(labels * n + preds, minlength=n * n).reshape(n, n)
    tp = confusion.diag()
    precision = tp / confusion.sum(0).clamp(min=1)
    recall = tp.float() / confusion.sum(1).float()
    f1 = torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall),
                     torch.zeros(()))
    top2 = (logits.topk(2, dim=1).indices == labels[:, None]).any(dim=1).float().mean()
    onehot = torch.nn.functional.one_hot(labels, num_classes=n)
    brier = ((logits.softmax(1) - onehot) ** 2).sum(1).mean()
    for c in range(n):
        print(f"class {c}: p={precision[c]:.3f} r={recall[c].item():.3f} f1={f1[c]:.3f} "
              f"support={int(confusion[c].sum())}")
    print(confusion)
    print(f"macro f1 {f1.nan_to_num().mean().item():.4f} top2 {top2:.4f}")
    return {"confusion": confusion, "precision": precision, "recall": recall, "f1": f1,
            "top2": top2, "onehot_dtype": onehot.dtype, "brier": brier,
            "accuracy": (preds == labels).sum().item() / len(labels)}
