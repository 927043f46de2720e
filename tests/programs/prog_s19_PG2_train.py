"""Training-recipe tutorials' programs, written afresh in their style (PG2, session 19):
transfer learning with a frozen backbone and per-group learning rates, an LR range test
(LR finder), CPU mixed precision with bfloat16 autocast and a disabled GradScaler, the
profiler and torch.utils.benchmark (only that they run and name what they saw), logging
without TensorBoard, and a whole training checkpoint (RNG state and dropout included) saved
to a file and resumed.
"""

import copy
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class SmallBackbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def section_transfer() -> None:
    pretrained = SmallBackbone()
    # "pretraining" on another task, so that the frozen features are not the init
    opt = torch.optim.SGD(pretrained.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(pretrained(torch.randn(8, 3, 8, 8)), torch.randint(0, 10, (8,))).backward()
        opt.step()
    saved = copy.deepcopy(pretrained.state_dict())

    # ConvNet as fixed feature extractor
    model_conv = SmallBackbone()
    model_conv.load_state_dict(saved)
    for param in model_conv.parameters():
        param.requires_grad = False
    num_ftrs = model_conv.fc.in_features
    model_conv.fc = nn.Linear(num_ftrs, 2)
    optimizer_conv = torch.optim.SGD(model_conv.fc.parameters(), lr=0.01, momentum=0.9)
    exp_lr_scheduler = torch.optim.lr_scheduler.StepLR(optimizer_conv, step_size=2, gamma=0.1)
    inputs = torch.randn(12, 3, 8, 8)
    labels = torch.randint(0, 2, (12,))
    best_acc, best_model_wts = 0.0, copy.deepcopy(model_conv.state_dict())
    history = []
    for _epoch in range(4):
        for phase in ["train", "val"]:
            model_conv.train() if phase == "train" else model_conv.eval()
            optimizer_conv.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                outputs = model_conv(inputs)
                _, preds = torch.max(outputs, 1)
                loss = F.cross_entropy(outputs, labels)
                if phase == "train":
                    loss.backward()
                    optimizer_conv.step()
            if phase == "train":
                exp_lr_scheduler.step()
            epoch_acc = torch.sum(preds == labels.data).double() / len(labels)
            history.append(loss.item())
            if phase == "val" and epoch_acc > best_acc:
                best_acc = epoch_acc.item()
                best_model_wts = copy.deepcopy(model_conv.state_dict())
    put("transfer.fixed.history", history)
    put("transfer.fixed.best_acc", best_acc)
    put("transfer.fixed.frozen_same", torch.equal(model_conv.conv1.weight, saved["conv1.weight"]))
    put("transfer.fixed.bn_stats", model_conv.bn1.running_mean)
    model_conv.load_state_dict(best_model_wts)
    put_state("transfer.fixed.best", model_conv)
    put("transfer.fixed.trainable", sum(p.numel() for p in model_conv.parameters()
                                        if p.requires_grad))

    # fine-tuning: everything trains, the backbone with a smaller lr (param groups), BN frozen
    model_ft = SmallBackbone()
    model_ft.load_state_dict(saved)
    model_ft.fc = nn.Linear(8, 2)
    backbone = [p for n, p in model_ft.named_parameters() if not n.startswith("fc.")]
    optimizer_ft = torch.optim.SGD([{"params": backbone, "lr": 1e-3},
                                    {"params": model_ft.fc.parameters()}], lr=1e-2, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer_ft, T_max=4)

    def freeze_bn(module):
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
            module.weight.requires_grad_(False)
            module.bias.requires_grad_(False)

    ft_losses, ft_lrs = [], []
    for _ in range(4):
        model_ft.train()
        model_ft.apply(freeze_bn)
        optimizer_ft.zero_grad()
        loss = F.cross_entropy(model_ft(inputs), labels)
        loss.backward()
        optimizer_ft.step()
        scheduler.step()
        ft_losses.append(loss.item())
        ft_lrs.append([g["lr"] for g in optimizer_ft.param_groups])
    put("transfer.ft.losses", ft_losses)
    put("transfer.ft.lrs", ft_lrs)
    put("transfer.ft.bn_grad_none", model_ft.bn1.weight.grad is None)
    put("transfer.ft.bn_stats_same", torch.equal(model_ft.bn1.running_var,
                                                 saved["bn1.running_var"]))
    put_state("transfer.ft", model_ft)


def section_lr_finder() -> None:
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    initial_state = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)
    initial_opt = copy.deepcopy(optimizer.state_dict())
    start_lr, end_lr, num_iter = 1e-5, 10.0, 30
    gamma = (end_lr / start_lr) ** (1 / (num_iter - 1))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda it: gamma ** it)
    x = torch.randn(64, 6)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    lrs, losses = [], []
    smoothing, avg_loss, best_loss = 0.05, 0.0, float("inf")
    for iteration in range(num_iter):
        idx = torch.randint(0, 64, (16,))
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        avg_loss = smoothing * loss.item() + (1 - smoothing) * avg_loss
        smoothed = avg_loss / (1 - (1 - smoothing) ** (iteration + 1))
        lrs.append(lr)
        losses.append(smoothed)
        best_loss = min(best_loss, smoothed)
        if smoothed > 4 * best_loss or torch.isnan(loss):
            break
    put("lrf.lrs", lrs)
    put("lrf.losses", losses)
    steepest = min(range(1, len(losses)), key=lambda i: losses[i] - losses[i - 1])
    put("lrf.suggested", lrs[steepest])
    model.load_state_dict(initial_state)
    optimizer.load_state_dict(initial_opt)
    put("lrf.restored_lr", optimizer.param_groups[0]["lr"])
    put("lrf.restored", torch.equal(model[0].weight, initial_state["0.weight"]))


def section_amp_bf16() -> None:
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    x = torch.randn(6, 8)
    y = torch.randint(0, 4, (6,))
    losses, dtypes = [], []
    for _ in range(4):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            output = model(x)
            hidden = model[0](x)
            loss = F.cross_entropy(output, y)
            mse = F.mse_loss(output.float(), torch.zeros(6, 4))
            dtypes += [output.dtype, hidden.dtype, loss.dtype, mse.dtype,
                       torch.softmax(output, 1).dtype, (output @ output.T).dtype,
                       output.sum().dtype]
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.item())
    put("amp16.losses", losses)
    put("amp16.dtypes", [str(d) for d in dtypes])
    put("amp16.scale", scaler.get_scale())
    put("amp16.enabled", scaler.is_enabled())
    put("amp16.grad_dtype", str(model[0].weight.grad.dtype))
    put_state("amp16.model", model)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=False):
        put("amp16.disabled", model(x))
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        with torch.autocast(device_type="cpu", enabled=False):
            put("amp16.nested_off", str(model(x).dtype))
        put("amp16.is_enabled", torch.is_autocast_enabled("cpu"))
        conv = nn.Conv1d(2, 3, 3)
        put("amp16.conv_dtype", str(conv(torch.randn(2, 2, 5)).dtype))
        put("amp16.bmm", torch.bmm(torch.randn(2, 3, 4), torch.randn(2, 4, 2)).float())


def section_profile_bench() -> None:
    import torch.utils.benchmark as benchmark
    from torch.profiler import ProfilerActivity, profile, record_function

    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    inputs = torch.randn(4, 8)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            out = model(inputs)
    names = {e.key for e in prof.key_averages()}
    put("prof.has_label", "model_inference" in names)
    put("prof.table_is_str", isinstance(prof.key_averages().table(sort_by="cpu_time_total",
                                                                   row_limit=5), str))
    put("prof.out", out)

    def batched_dot_mul_sum(a, b):
        return a.mul(b).sum(-1)

    x = torch.randn(10, 16)
    t0 = benchmark.Timer(stmt="batched_dot_mul_sum(x, x)", setup="",
                         globals={"x": x, "batched_dot_mul_sum": batched_dot_mul_sum})
    m = t0.timeit(5)
    put("prof.timer_positive", m.mean > 0)
    put("prof.timer_value", batched_dot_mul_sum(x, x))
    put("prof.timer_type", type(m).__name__)


def section_logging() -> None:
    # the "TensorBoard-free" logging loop: running loss every few steps, per-class accuracy
    # and a confusion matrix at each epoch's end, metrics kept in a dict of lists
    from torch.utils.data import DataLoader, TensorDataset, random_split

    x = torch.randn(60, 5)
    y = (x[:, :2].sum(1) > 0).long() + (x[:, 2] > 1).long()
    train_set, val_set = random_split(TensorDataset(x, y), [45, 15],
                                      generator=torch.Generator().manual_seed(42))
    train_loader = DataLoader(train_set, batch_size=9, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=15)
    model = nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Dropout(0.2), nn.Linear(12, 3))
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)
    log = {"running": [], "val_acc": [], "per_class": [], "confusion": []}
    for _epoch in range(3):
        model.train()
        running_loss = 0.0
        for i, (inputs, labels) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(inputs), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % 2 == 1:
                log["running"].append(running_loss / 2)
                running_loss = 0.0
        model.eval()
        confusion = torch.zeros(3, 3, dtype=torch.long)
        with torch.no_grad():
            for inputs, labels in val_loader:
                preds = model(inputs).argmax(1)
                confusion += torch.bincount(labels * 3 + preds, minlength=9).view(3, 3)
        log["confusion"].append(confusion)
        log["val_acc"].append(confusion.diag().sum().item() / confusion.sum().item())
        log["per_class"].append(confusion.diag().float() / confusion.sum(1).clamp(min=1))
    put("log.running", log["running"])
    put("log.val_acc", log["val_acc"])
    put("log.per_class", torch.stack(log["per_class"]))
    put("log.confusion", torch.stack(log["confusion"]))
    put("log.grad_norms", torch.stack([p.grad.norm() for p in model.parameters()]))


def section_resume() -> None:
    # a whole checkpoint in a file, resumed in a fresh model: with dropout, data shuffling and
    # the global RNG state saved, the resumed run must repeat the uninterrupted one
    from torch.utils.data import DataLoader, TensorDataset

    def make():
        torch.manual_seed(11)
        model = nn.Sequential(nn.Linear(4, 16), nn.GELU(), nn.Dropout(0.3), nn.Linear(16, 1))
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-3, weight_decay=1e-4)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
        return model, optimizer, scheduler

    data = TensorDataset(torch.randn(32, 4), torch.randn(32, 1))

    def epoch(model, optimizer, scheduler):
        loader = DataLoader(data, batch_size=8, shuffle=True)
        model.train()
        out = []
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            out.append(loss.item())
        scheduler.step()
        return out

    model, optimizer, scheduler = make()
    torch.manual_seed(100)
    first = [epoch(model, optimizer, scheduler) for _ in range(2)]
    path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
    torch.save({"epoch": 2, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "scheduler_state_dict": scheduler.state_dict(),
                "rng_state": torch.get_rng_state(), "loss": first[-1][-1]}, path)
    uninterrupted = [epoch(model, optimizer, scheduler) for _ in range(2)]
    model2, optimizer2, scheduler2 = make()
    checkpoint = torch.load(path)
    model2.load_state_dict(checkpoint["model_state_dict"])
    optimizer2.load_state_dict(checkpoint["optimizer_state_dict"])
    scheduler2.load_state_dict(checkpoint["scheduler_state_dict"])
    torch.set_rng_state(checkpoint["rng_state"])
    resumed = [epoch(model2, optimizer2, scheduler2) for _ in range(2)]
    put("resume.first", first)
    put("resume.uninterrupted", uninterrupted)
    put("resume.resumed", resumed)
    put("resume.epoch", checkpoint["epoch"])
    put("resume.rng_dtype", str(checkpoint["rng_state"].dtype))
    put("resume.lr", scheduler2.get_last_lr())
    put_state("resume.model", model2)
    put("resume.same", [a == b for a, b in zip(sum(uninterrupted, []), sum(resumed, []))])


SECTIONS = {"transfer": section_transfer, "lrf": section_lr_finder, "amp16": section_amp_bf16,
            "prof": section_profile_bench, "log": section_logging, "resume": section_resume}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
