"""Whole training scripts as people write them, end to end, afresh (PR7, session 24): a CSV-like
text parsed in Python into a Dataset, a DataLoader with a seeded sampler, a collate_fn and a
worker_init_fn; gradient accumulation with clipping and a scheduler stepped per optimizer step;
early stopping on a dev metric with EMA weights kept beside the model; a mid-run checkpoint of
model, optimizer, scheduler, the global RNG and a Generator into a BytesIO and a tmp file,
resumed in a fresh model and compared bit for bit with the uninterrupted run; SWA with SWALR and
update_bn; bfloat16 autocast regions, GradScaler(enabled=False), torch.compile, deterministic
algorithms, thread counts and backend flags; evaluation under eval() + inference_mode() with
metrics in torch (confusion matrix by bincount, top-k accuracy, AUC by sorting, per-class F1)
and a state dict saved and loaded into a fresh model. Tiny sizes; run by prog_s24_PR7_all.py.
"""

import copy
import io
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put, put_state
from torch.utils.data import DataLoader, Dataset, RandomSampler, WeightedRandomSampler


def _csv_text(rows: int, seed: int) -> str:
    """A small CSV table: two numeric columns, a colour, a size and a 3-class label."""
    g = torch.Generator().manual_seed(seed)
    colours, sizes = ["red", "green", "blue", "black"], ["S", "M", "L"]
    lines = ["x1,x2,colour,size,label"]
    for _ in range(rows):
        x1, x2 = (torch.randn(2, generator=g) * 2).tolist()
        c = int(torch.randint(0, 4, (1,), generator=g))
        s = int(torch.randint(0, 3, (1,), generator=g))
        label = int(x1 + 0.5 * c > 1.0) + int(x2 - s > 0.0)
        lines.append(f"{x1:.4f},{x2:.4f},{colours[c]},{sizes[s]},{label}")
    return "\n".join(lines)


class CsvDataset(Dataset):
    """Parses the text in Python, as a first script does; categorical columns become indices."""

    def __init__(self, text: str):
        header, *rows = text.strip().split("\n")
        self.columns = header.split(",")
        self.vocab = {"colour": {}, "size": {}}
        self.rows = []
        for row in rows:
            x1, x2, colour, size, label = row.split(",")
            c = self.vocab["colour"].setdefault(colour, len(self.vocab["colour"]))
            s = self.vocab["size"].setdefault(size, len(self.vocab["size"]))
            self.rows.append(((float(x1), float(x2)), (c, s), int(label)))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        numeric, categorical, label = self.rows[i]
        return {"num": torch.tensor(numeric), "cat": torch.tensor(categorical),
                "y": label}


def _collate(batch):
    return (torch.stack([b["num"] for b in batch]), torch.stack([b["cat"] for b in batch]),
            torch.tensor([b["y"] for b in batch]))


class TabularNet(nn.Module):
    def __init__(self, hidden=16, p=0.1):
        super().__init__()
        self.colour = nn.Embedding(4, 3)
        self.size = nn.Embedding(3, 2)
        self.body = nn.Sequential(nn.Linear(2 + 3 + 2, hidden), nn.ReLU(), nn.Dropout(p),
                                  nn.Linear(hidden, 3))

    def forward(self, num, cat):
        z = torch.cat([num, self.colour(cat[:, 0]), self.size(cat[:, 1])], dim=1)
        return self.body(z)


def _seed_worker(worker_id):
    put("script.worker_id", worker_id)


def section_accumulate() -> None:
    data = CsvDataset(_csv_text(48, 1))
    put("script.vocab", sorted(data.vocab["colour"].items()))
    g = torch.Generator().manual_seed(3)
    loader = DataLoader(data, batch_size=4, sampler=RandomSampler(data, generator=g),
                        collate_fn=_collate, num_workers=0, worker_init_fn=_seed_worker,
                        drop_last=True)
    model = TabularNet()
    opt = torch.optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.01)
    accum = 3
    steps_per_epoch = len(loader) // accum
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, epochs=3,
                                                steps_per_epoch=steps_per_epoch)
    losses, norms, lrs, first = [], [], [], []
    for epoch in range(3):
        model.train()
        opt.zero_grad(set_to_none=True)
        for i, (num, cat, y) in enumerate(loader):
            if epoch == 0 and i < 2:
                first.append(torch.cat([num.flatten(), cat.flatten().float(), y.float()]))
            loss = F.cross_entropy(model(num, cat), y) / accum
            loss.backward()
            losses.append(loss.item() * accum)
            if (i + 1) % accum == 0:
                norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
                norms.append(norm)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                lrs.append(sched.get_last_lr()[0])
    put("script.first_batches", first)
    put("script.losses", torch.tensor(losses))
    put("script.norms", torch.stack(norms))
    put("script.lrs", torch.tensor(lrs, dtype=torch.float64))
    put("script.grad_none", [p.grad is None for p in model.parameters()])
    put_state("script.state", model)
    put("script.opt_step", opt.state_dict()["state"][0]["step"])


def _batches(x, y, bs, g):
    order = torch.randperm(len(x), generator=g)
    for i in range(0, len(x), bs):
        idx = order[i:i + bs]
        yield x[idx], y[idx]


def section_early_stop_ema() -> None:
    g = torch.Generator().manual_seed(11)
    x = torch.randn(80, 6, generator=g)
    w = torch.randn(6, 1, generator=g)
    y = (x @ w).squeeze(1) + 0.3 * torch.randn(80, generator=g)
    xtr, ytr, xdev, ydev = x[:60], y[:60], x[60:], y[60:]
    model = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 1))
    ema = copy.deepcopy(model)
    for p in ema.parameters():
        p.requires_grad_(False)
    decay = 0.9
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    best, best_state, bad, patience, history = float("inf"), None, 0, 3, []
    for epoch in range(30):  # noqa: B007 - the stopping epoch is recorded after the loop
        model.train()
        for xb, yb in _batches(xtr, ytr, 16, g):
            opt.zero_grad()
            F.mse_loss(model(xb).squeeze(1), yb).backward()
            opt.step()
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        sched.step()
        model.eval()
        with torch.inference_mode():
            dev = F.mse_loss(model(xdev).squeeze(1), ydev).item()
            dev_ema = F.mse_loss(ema(xdev).squeeze(1), ydev).item()
        history.append([dev, dev_ema])
        if dev < best - 1e-4:
            best, bad = dev, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= patience:
                break
    put("stop.epoch", epoch)
    put("stop.history", torch.tensor(history))
    put("stop.best", best)
    model.load_state_dict(best_state)
    with torch.inference_mode():
        put("stop.best_dev", F.mse_loss(model(xdev).squeeze(1), ydev))
    put_state("stop.ema", ema)
    put("stop.lr", opt.param_groups[0]["lr"])


def _make_run():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(5, 16), nn.GELU(), nn.Dropout(0.3), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.98), amsgrad=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=12, eta_min=1e-4)
    return model, opt, sched


def _steps(model, opt, sched, g, n):
    out = []
    for _ in range(n):
        x = torch.randn(8, 5, generator=g)
        y = torch.randint(0, 2, (8,), generator=g)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y) + 1e-3 * torch.rand(()).item()  # global RNG too
        loss.backward()
        opt.step()
        sched.step()
        out.append(loss.item())
    return out


def section_checkpoint_resume() -> None:
    model, opt, sched = _make_run()
    g = torch.Generator().manual_seed(21)
    first = _steps(model, opt, sched, g, 6)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                "sched": sched.state_dict(), "rng": torch.get_rng_state(),
                "gen": g.get_state(), "epoch": 6, "losses": first}, buffer)
    folder = tempfile.TemporaryDirectory()
    path = os.path.join(folder.name, "ckpt.pt")
    torch.save(model.state_dict(), path)
    rest = _steps(model, opt, sched, g, 6)
    buffer.seek(0)
    ckpt = torch.load(buffer, weights_only=False)
    model2, opt2, sched2 = _make_run()
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["opt"])
    sched2.load_state_dict(ckpt["sched"])
    torch.set_rng_state(ckpt["rng"])
    g2 = torch.Generator()
    g2.set_state(ckpt["gen"])
    resumed = _steps(model2, opt2, sched2, g2, 6)
    put("ckpt.first", torch.tensor(first))
    put("ckpt.rest", torch.tensor(rest))
    put("ckpt.resumed", torch.tensor(resumed))
    put("ckpt.bitwise", rest == resumed)
    put("ckpt.params_equal", all(torch.equal(a, b) for a, b in
                                 zip(model.parameters(), model2.parameters())))
    put("ckpt.lr", [sched.get_last_lr()[0], sched2.get_last_lr()[0]])
    put("ckpt.keys", sorted(ckpt))
    put("ckpt.opt_state_keys", sorted(ckpt["opt"]["state"][0]))
    saved = torch.load(path, weights_only=True)
    folder.cleanup()
    put("ckpt.file_keys", list(saved))
    put("ckpt.file_weight", saved["0.weight"])
    put("ckpt.rng_dtype", str(ckpt["rng"].dtype))
    put("ckpt.rng_len", ckpt["rng"].numel())


def section_swa() -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(64, 4, generator=g)
    y = (x[:, :1] * 2 - x[:, 1:2]).tanh()
    model = nn.Sequential(nn.Linear(4, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Linear(12, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    swa_model = torch.optim.swa_utils.AveragedModel(model)
    swa_sched = torch.optim.swa_utils.SWALR(opt, swa_lr=0.02, anneal_epochs=3,
                                            anneal_strategy="cos")
    losses, lrs = [], []
    loader = DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(9))
    for epoch in range(8):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.smooth_l1_loss(model(xb), yb, beta=0.5)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        if epoch >= 3:
            swa_model.update_parameters(model)
            swa_sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    torch.optim.swa_utils.update_bn(loader, swa_model)
    put("swa.losses", torch.tensor(losses))
    put("swa.lrs", torch.tensor(lrs, dtype=torch.float64))
    put("swa.n_averaged", swa_model.n_averaged)
    put_state("swa.state", swa_model)
    swa_model.eval()
    with torch.no_grad():
        put("swa.pred", swa_model(x[:5]))


def section_amp_compile() -> None:
    torch.use_deterministic_algorithms(True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cuda.matmul.allow_tf32 = False
    put("amp.flags", [torch.are_deterministic_algorithms_enabled(), torch.get_num_threads(),
                      torch.cuda.is_available(), torch.backends.mps.is_available()])
    g = torch.Generator().manual_seed(2)
    x = torch.randn(32, 8, generator=g)
    y = torch.randint(0, 4, (32,), generator=g)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    compiled = torch.compile(model, backend="eager")  # (no C compiler run on the torch side)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses, dtypes = [], []
    for _step in range(5):
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = compiled(x)
            dtypes.append(str(logits.dtype))
            inside = torch.is_autocast_enabled("cpu")
        loss = F.cross_entropy(logits.float(), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        nn.utils.clip_grad_value_(model.parameters(), 0.5)
        scaler.step(opt)
        scaler.update()
        losses.append(loss.item())
    put("amp.losses", torch.tensor(losses))
    put("amp.dtypes", dtypes)
    put("amp.inside", inside)
    put("amp.outside", torch.is_autocast_enabled("cpu"))
    put("amp.scale", scaler.get_scale())
    put("amp.logits", logits)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=False):
        put("amp.disabled", model(x[:2]))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = model[0](x[:3])
        put("amp.matmul", h)
        put("amp.softmax", torch.softmax(h, dim=1))  # (not on CPU autocast's float32 list)
        put("amp.log_softmax", F.log_softmax(h, dim=1))
        put("amp.mse", F.mse_loss(h, torch.zeros(3, 16)))  # (on it: float32)
        put("amp.add", h + 1.0)
    put_state("amp.state", model)
    put("amp.compiled_keys", sorted(compiled.state_dict())[:2])
    torch.use_deterministic_algorithms(False)
    torch.set_num_threads(threads)


def section_eval_metrics() -> None:
    g = torch.Generator().manual_seed(6)
    centers = torch.randn(4, 5, generator=g) * 1.5
    labels = torch.randint(0, 4, (120,), generator=g)
    x = centers[labels] + torch.randn(120, 5, generator=g)
    model = nn.Sequential(nn.Linear(5, 24), nn.ReLU(), nn.Dropout(0.2), nn.Linear(24, 4))
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9)
    sampler = WeightedRandomSampler(torch.ones(90, dtype=torch.float64), num_samples=90,
                                    generator=torch.Generator().manual_seed(1))
    loader = DataLoader(torch.utils.data.TensorDataset(x[:90], labels[:90]), batch_size=15,
                        sampler=sampler)
    for _ in range(4):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb, label_smoothing=0.1).backward()
            opt.step()
    model.eval()
    with torch.inference_mode():
        logits = model(x[90:])
        put("eval.is_inference", logits.is_inference())
    yt = labels[90:]
    pred = logits.argmax(1)
    cm = torch.bincount(yt * 4 + pred, minlength=16).reshape(4, 4)
    put("eval.confusion", cm)
    top2 = logits.topk(2, dim=1).indices
    put("eval.top1", (pred == yt).float().mean())
    put("eval.top2", (top2 == yt[:, None]).any(1).float().mean())
    tp = cm.diag().float()
    precision = tp / cm.sum(0).clamp(min=1)
    recall = tp / cm.sum(1).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    put("eval.f1", f1)
    put("eval.macro_f1", f1.mean())
    # one-vs-rest AUC of class 0 by the rank statistic
    score = logits.softmax(1)[:, 0]
    pos = (yt == 0)
    ranks = torch.empty_like(score)
    ranks[score.argsort()] = torch.arange(1, len(score) + 1, dtype=score.dtype)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    auc = (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    put("eval.auc", auc)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = nn.Sequential(nn.Linear(5, 24), nn.ReLU(), nn.Dropout(0.2), nn.Linear(24, 4))
    result = fresh.load_state_dict(torch.load(buffer, weights_only=True))
    put("eval.load_result", [list(result.missing_keys), list(result.unexpected_keys)])
    fresh.eval()
    with torch.no_grad():
        put("eval.same", torch.equal(fresh(x[90:]), logits))
    put("eval.logits", logits)


SECTIONS = {"accumulate": section_accumulate, "early_stop_ema": section_early_stop_ema,
            "checkpoint_resume": section_checkpoint_resume, "swa": section_swa,
            "amp_compile": section_amp_compile, "eval_metrics": section_eval_metrics}
