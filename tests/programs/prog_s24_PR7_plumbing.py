"""The plumbing of training scripts, afresh (PR7, session 24): an EMA kept by AveragedModel with
get_ema_multi_avg_fn and use_buffers=True (BatchNorm statistics averaged too) beside one kept
by hand with torch._foreach_lerp_, in a run whose DataLoader shuffles with its own Generator;
the run stopped mid-epoch, its checkpoint (weights_only=True, map_location) restored with the
loader's Generator state, and the rest of the epoch replayed bit for bit; model.compile() in
place, torch.random.fork_rng around an evaluation that draws numbers, backend queries,
anomaly mode, clip_grad_norm_ with inf norm and error_if_nonfinite, get_total_norm,
ReduceLROnPlateau's get_last_lr. Tiny sizes; run by prog_s24_PR7_all.py.
"""

import contextlib
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put, put_state
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, TensorDataset


def _model():
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(8, 1))


def _data():
    g = torch.Generator().manual_seed(50)
    x = torch.randn(48, 4, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True).sin())


def section_ema_resume() -> None:
    torch.manual_seed(51)
    data = _data()
    model = _model()
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.8), use_buffers=True)
    hand = None  # (by hand, as AveragedModel: the first update copies, later ones lerp)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    loader_gen = torch.Generator().manual_seed(52)
    loader = DataLoader(data, batch_size=8, shuffle=True, generator=loader_gen)
    losses, saved = [], None
    for epoch in range(2):
        for i, (xb, yb) in enumerate(loader):
            if epoch == 1 and i == 3 and saved is None:
                buffer = io.BytesIO()
                torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                            "ema": ema.state_dict(), "rng": torch.get_rng_state(),
                            "hand": hand, "losses": torch.tensor(losses)}, buffer)
                saved = buffer.getvalue()
            opt.zero_grad()
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            ema.update_parameters(model)
            if hand is None:
                hand = [p.detach().clone() for p in model.parameters()]
            else:
                torch._foreach_lerp_(hand, [p.detach() for p in model.parameters()], 0.2)
            losses.append(loss.item())
    put("emares.losses", torch.tensor(losses))
    put("emares.n_averaged", ema.n_averaged)
    put_state("emares.ema", ema)
    put("emares.hand", hand)
    put("emares.hand_vs_ema", max((a - b).abs().max() for a, b in
                                  zip(hand, ema.module.parameters())))
    # Resume: the loader of epoch 1 is rebuilt from the Generator state at that epoch's start
    # (its permutation is drawn when iteration starts), batches 0-2 skipped.
    ckpt = torch.load(io.BytesIO(saved), weights_only=True, map_location="cpu")
    torch.manual_seed(51)
    model2 = _model()
    ema2 = AveragedModel(model2, multi_avg_fn=get_ema_multi_avg_fn(0.8), use_buffers=True)
    opt2 = torch.optim.SGD(model2.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    ema2.load_state_dict(ckpt["ema"])
    torch.set_rng_state(ckpt["rng"])
    gen2 = torch.Generator().manual_seed(52)
    list(DataLoader(data, batch_size=8, shuffle=True, generator=gen2))  # (epoch 0's draw)
    rest = []
    for i, (xb, yb) in enumerate(DataLoader(data, batch_size=8, shuffle=True, generator=gen2)):
        if i < 3:
            continue
        opt2.zero_grad()
        loss = F.mse_loss(model2(xb), yb)
        loss.backward()
        opt2.step()
        ema2.update_parameters(model2)
        rest.append(loss.item())
    put("emares.rest", torch.tensor(rest))
    put("emares.bitwise", rest == losses[-len(rest):])
    put("emares.same_ema", all(torch.equal(a, b) for a, b in
                               zip(ema.state_dict().values(), ema2.state_dict().values())))
    put("emares.ckpt_losses", ckpt["losses"])


def section_plumbing_corners() -> None:
    model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 2))
    put("plumb.compile_returns", model.compile(backend="eager") is None)
    put("plumb.still", type(model).__name__)
    put("plumb.keys", sorted(model.state_dict()))
    x = torch.randn(5, 3)
    put("plumb.out", model(x))
    put("plumb.backends", [isinstance(torch.backends.openmp.is_available(), bool),
                           isinstance(torch.backends.mkl.is_available(), bool),
                           isinstance(torch.backends.opt_einsum.is_available(), bool),
                           torch.backends.mps.is_available(), torch.cuda.is_available(),
                           torch.cuda.device_count()])
    before = torch.rand(3)
    with torch.random.fork_rng():
        torch.manual_seed(123)
        inside = torch.rand(3)
    put("plumb.fork_rng", [before, inside, torch.rand(3)])
    put("plumb.initial_seed", torch.initial_seed())
    with torch.autograd.detect_anomaly():
        y = model(x).pow(2).sum()
        y.backward()
    put("plumb.anomaly_grad", model[0].weight.grad)
    put("plumb.anomaly_off", torch.is_anomaly_enabled())
    grads = [p.grad for p in model.parameters()]
    put("plumb.total_norm", nn.utils.get_total_norm(grads, norm_type=2.0))
    put("plumb.inf_norm", nn.utils.clip_grad_norm_(model.parameters(), 0.1, norm_type="inf"))
    put("plumb.clipped", [p.grad for p in model.parameters()])
    model[0].bias.grad[0] = float("nan")
    try:
        nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)
        put("plumb.nonfinite", "no error")
    except RuntimeError as error:
        put("plumb.nonfinite", type(error).__name__)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5,
                                                         patience=1, threshold=0.01)
    lrs = []
    for metric in [0.5, 0.6, 0.6, 0.6, 0.61, 0.7, 0.7, 0.7]:
        plateau.step(metric)
        lrs.append(plateau.get_last_lr()[0])
    put("plumb.plateau_lrs", torch.tensor(lrs, dtype=torch.float64))
    put("plumb.plateau_state", [plateau.num_bad_epochs, plateau.best, plateau.last_epoch])
    put("plumb.deterministic", [torch.are_deterministic_algorithms_enabled(),
                                torch.get_float32_matmul_precision()])


def section_train_log() -> None:
    """What a script prints while it trains: the model, the optimizer, progress lines with
    tensors formatted into f-strings, a metrics dict, tensors printed as they are."""
    g = torch.Generator().manual_seed(53)
    x = torch.randn(40, 3, generator=g)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 2))
    opt = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.05, amsgrad=True)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.3)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print(model)
        print(opt)
        print(f"params: {sum(p.numel() for p in model.parameters()):,}")
        for epoch in range(5):
            model.train()
            total, correct = 0.0, 0
            for idx in torch.randperm(40, generator=g).split(10):
                logits = model(x[idx])
                loss = F.cross_entropy(logits, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
                correct += (logits.argmax(1) == y[idx]).sum().item()
            sched.step()
            print(f"epoch {epoch + 1:02d} | loss {total / 40:.4f} | acc {correct / 40:.1%} | "
                  f"lr {sched.get_last_lr()[0]:.2e} | w {model[0].weight.norm():.3f}")
        model.eval()
        with torch.no_grad():
            probs = model(x[:3]).softmax(1)
        print(probs)
        print({"acc": round(correct / 40, 4), "pred": probs.argmax(1).tolist()})
        print(model[0].bias.data, model[3].weight.grad.shape, probs.dtype, probs.device)
    put("log.text", buffer.getvalue())
    put("log.lines", len(buffer.getvalue().splitlines()))


SECTIONS = {"ema_resume": section_ema_resume, "plumbing_corners": section_plumbing_corners,
            "train_log": section_train_log}
