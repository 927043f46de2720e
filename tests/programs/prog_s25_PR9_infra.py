"""Old-style script plumbing (PR9, session 25): checkpoints as dicts (epoch, state dicts,
optimizer state, best score) saved with torch.save and loaded with map_location as a string,
a torch.device, a lambda and a dict, then resumed and compared with an unbroken run, plus the
``module.`` prefix of a DataParallel checkpoint stripped by hand; a custom Dataset with a
collate_fn under DataLoader(num_workers=2, pin_memory=True, worker_init_fn) with
torch / numpy / random seeded, the drop_last and sampler variants; ``device = torch.device(
"cuda" if torch.cuda.is_available() else "cpu")`` and the ``.cuda()`` guards,
``.to(device, non_blocking=True)``; the autograd of older code (torch.autograd.grad with
only_inputs, backward twice with retain_graph, ``x.grad.data.zero_()``, hooks printing
gradients, double backward for a gradient penalty, Variable(..., requires_grad=True));
a whole training script's log (model, optimizer, an EMA of the loss, accuracy per epoch,
``model.train(False)``). Tiny sizes; run by prog_s25_PR9_all.py.
"""
# ruff: noqa: UP008, UP031, UP032 - the old-style code (super(Cls, self), %-formats, .format)
# is what these programs test

import os
import random
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put, put_state
from torch.autograd import Variable
from torch.utils.data import DataLoader, Dataset


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(4, 8, bias=False)  # (a bias before BatchNorm: its gradient is 0,
        # which Adam turns into full steps of rounding noise)
        self.bn = nn.BatchNorm1d(8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


def _train(model, optimizer, scheduler, data, target, epochs, log=None):
    for epoch in epochs:
        model.train()
        for i in range(0, 24, 8):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(data[i:i + 8]), target[i:i + 8])
            loss.backward()
            optimizer.step()
        scheduler.step()
        if log is not None:
            log.append(loss.item())
            print("epoch %d loss %.4f lr %.5f" % (epoch, loss.item(),
                                                  optimizer.param_groups[0]["lr"]))


def section_checkpoint() -> None:
    torch.manual_seed(31)
    data, target = torch.randn(24, 4), torch.LongTensor([i % 3 for i in range(24)])
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "checkpoint.pth.tar")
    with printed("ckpt.log"):
        torch.manual_seed(32)
        model = Net()
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        scheduler = optim.lr_scheduler.StepLR(optimizer, 2, gamma=0.5)
        straight = []
        _train(model, optimizer, scheduler, data, target, range(6), straight)
        torch.manual_seed(32)
        model = Net()
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        scheduler = optim.lr_scheduler.StepLR(optimizer, 2, gamma=0.5)
        _train(model, optimizer, scheduler, data, target, range(3))
        torch.save({"epoch": 3, "arch": "net", "state_dict": model.state_dict(),
                    "best_prec1": torch.tensor(61.5), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict()}, path)
        resumed = []
        for map_location in ("cpu", torch.device("cpu"), lambda storage, loc: storage,
                             {"cuda:0": "cpu"}, None):
            checkpoint = torch.load(path, map_location=map_location)
            model = Net()
            optimizer = optim.Adam(model.parameters(), lr=0.5)
            scheduler = optim.lr_scheduler.StepLR(optimizer, 2, gamma=0.5)
            start_epoch = checkpoint["epoch"]
            best_prec1 = checkpoint["best_prec1"]
            model.load_state_dict(checkpoint["state_dict"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler.load_state_dict(checkpoint["scheduler"])
            print("=> loaded checkpoint '{}' (epoch {}) best {}".format(
                os.path.basename(path), checkpoint["epoch"], best_prec1))
            log = []
            _train(model, optimizer, scheduler, data, target, range(start_epoch, 6), log)
            resumed.append(log)
        print(sorted(checkpoint), sorted(checkpoint["optimizer"]["state"][0]))
        print(checkpoint["optimizer"]["param_groups"][0]["params"], checkpoint["scheduler"])
        print(type(checkpoint["state_dict"]).__name__, list(checkpoint["state_dict"])[:4])
        # a DataParallel checkpoint: keys prefixed by 'module.', stripped by hand
        parallel = nn.DataParallel(Net())
        state = parallel.state_dict()
        print(list(state)[:2])
        from collections import OrderedDict
        new_state_dict = OrderedDict()
        for k, v in state.items():
            new_state_dict[k[7:]] = v
        plain = Net()
        print(plain.load_state_dict(new_state_dict))
        print(plain.load_state_dict(state, strict=False))
        torch.save(model, os.path.join(folder, "whole.pt"))
        whole = torch.load(os.path.join(folder, "whole.pt"), weights_only=False)
        print(type(whole).__name__, whole.training, whole.fc1)
    put("ckpt.straight", straight)
    put("ckpt.resumed", resumed)
    put_state("ckpt.model", model)


class PairDataset(Dataset):
    def __init__(self, n):
        self.words = ["w%d" % (i % 7) for i in range(n)]
        self.values = np.arange(n, dtype=np.float32) / n

    def __len__(self):
        return len(self.words)

    def __getitem__(self, idx):
        length = 1 + idx % 3
        return self.words[idx], torch.full((length,), float(self.values[idx])), idx % 2


def collate_fn(batch):
    words, seqs, labels = zip(*batch)
    lengths = torch.LongTensor([len(s) for s in seqs])
    padded = torch.zeros(len(seqs), int(lengths.max()))
    for i, s in enumerate(seqs):
        padded[i, :len(s)] = s
    return list(words), padded, lengths, torch.LongTensor(labels)


def worker_init_fn(worker_id):
    np.random.seed(np.random.get_state()[1][0] + worker_id)


def section_dataloader() -> None:
    torch.manual_seed(33)
    np.random.seed(33)
    random.seed(33)
    dataset = PairDataset(11)
    with printed("loader.log"):
        for kwargs in ({"num_workers": 2, "pin_memory": True, "worker_init_fn": worker_init_fn},
                       {"num_workers": 0, "drop_last": True},
                       {"num_workers": 2, "persistent_workers": False, "prefetch_factor": 2}):
            loader = DataLoader(dataset, batch_size=4, shuffle=False, collate_fn=collate_fn,
                                **kwargs)
            print(len(loader), loader.batch_size, loader.num_workers, loader.drop_last)
            for i, (words, padded, lengths, labels) in enumerate(loader):
                print(i, words, padded, lengths.tolist(), labels, padded.is_pinned())
        g = torch.Generator()
        g.manual_seed(0)
        loader = DataLoader(dataset, batch_size=3, shuffle=True, generator=g,
                            collate_fn=collate_fn)
        print([b[3].tolist() for b in loader], [b[0] for b in loader])
        sampler = torch.utils.data.WeightedRandomSampler([0.1] * 5 + [1.0] * 6, 8,
                                                         replacement=True)
        print(list(sampler))
        sub = torch.utils.data.Subset(dataset, [0, 5, 10])
        print(len(sub), sub[1][0], sub[2][1])
        default = DataLoader([(torch.ones(2) * i, i) for i in range(5)], batch_size=2)
        for batch in default:
            print(batch)
        print(torch.utils.data.get_worker_info())


def section_devices() -> None:
    torch.manual_seed(34)
    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda" if use_cuda else "cpu")
    kwargs = {"num_workers": 1, "pin_memory": True} if use_cuda else {}
    model = Net()
    if torch.cuda.is_available():
        model = model.cuda()
    model = model.to(device)
    x = torch.randn(6, 4)
    y = torch.LongTensor([0, 1, 2, 0, 1, 2])
    if use_cuda:
        x, y = x.cuda(), y.cuda()
    with printed("dev.log"):
        print(device, use_cuda, kwargs, torch.cuda.device_count(), str(device) == "cpu")
        x = x.to(device, non_blocking=True)
        y = y.to(device=device, dtype=torch.long, non_blocking=True)
        out = model(Variable(x))
        loss = F.cross_entropy(out, y)
        print(out.device, out.is_cuda, loss.device.type, next(model.parameters()).device)
        print(x.cpu().numpy().dtype, loss.cpu().item() > 0, loss.detach().cpu().numpy().shape)
        print(torch.zeros(2, device=device), torch.ones(1, device="cpu").device)
        print(x.is_pinned(), x.to("cpu", copy=True) is x, x.to(device) is x)
        print(torch.backends.cudnn.enabled in (True, False), torch.cuda.is_available())
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.deterministic = True
        print(torch.backends.cudnn.deterministic)
        state = {k: v.cpu() for k, v in model.state_dict().items()}
        print(sorted(state)[:3], model.fc1.weight.get_device(), x.get_device())
        type_name = "torch.cuda.FloatTensor" if use_cuda else "torch.FloatTensor"
        print(x.type(), x.type() == type_name, x.is_cuda)
    put("dev.out", out)


def section_autograd_legacy() -> None:
    torch.manual_seed(35)
    with printed("agrad.log"):
        x = Variable(torch.randn(3), requires_grad=True)
        y = x * 2
        while y.data.norm() < 10:
            y = y * 2
        print(y.grad_fn is not None, x.grad, x.requires_grad, y.requires_grad)
        gradients = torch.FloatTensor([0.1, 1.0, 0.0001])
        y.backward(gradients)
        print(x.grad)
        x.grad.data.zero_()
        out = (x ** 2).sum()
        out.backward(retain_graph=True)
        first = x.grad.clone()
        out.backward()
        print(x.grad, torch.equal(x.grad, 2 * first))
        try:
            out.backward()
        except RuntimeError as exc:
            print("RuntimeError", str(exc)[:44])
        x.grad = None
        w = Variable(torch.randn(3, 2), requires_grad=True)
        z = torch.tanh(x.unsqueeze(0) @ w).sum()
        gx, gw = torch.autograd.grad(z, [x, w], create_graph=True, only_inputs=True)
        print(gx.requires_grad, gw.shape)
        penalty = (gx.norm(2) - 1) ** 2
        penalty.backward()
        print(w.grad, x.grad)
        seen = []
        h = x.register_hook(lambda g: seen.append(g.clone()))
        (x * x).sum().backward()
        h.remove()
        (x * 3).sum().backward()
        print(len(seen), seen[0], x.grad)
        v = Variable(torch.ones(2, 2), requires_grad=True)
        u = v + 2
        u.retain_grad()
        (u * u * 3).mean().backward()
        print(u.grad, v.grad, v.grad_fn, u.is_leaf, v.is_leaf)
        a = torch.ones(2, requires_grad=True)
        print(torch.autograd.grad((a * a).sum(), a, allow_unused=False)[0],
              torch.autograd.grad((a * 2).sum(), [a, torch.ones(1, requires_grad=True)],
                                  allow_unused=True)[1])
        try:
            torch.autograd.grad((a * 2).sum(), [a, torch.ones(1, requires_grad=True)])
        except RuntimeError:  # (deltagrad words this message its own way)
            print("RuntimeError")
        with torch.no_grad():
            n = a * 2
        print(n.requires_grad, torch.is_grad_enabled(), a.detach().requires_grad)
        torch.set_grad_enabled(False)
        print((a * 2).requires_grad)
        torch.set_grad_enabled(True)
        b = a.data
        b.mul_(3)
        print(a, b.requires_grad)
        print(torch.autograd.Variable is not None, isinstance(a, Variable))
    put("agrad.gw", gw)
    put("agrad.wgrad", w.grad)


def section_training_log() -> None:
    torch.manual_seed(36)
    X = torch.randn(60, 4)
    Y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
    model = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    rows = []
    with printed("trainlog.log"):
        print(model)
        print(optimizer)
        print("Total params: {:,}".format(sum(p.numel() for p in model.parameters())))
        ema = None
        for epoch in range(3):
            model.train()
            correct = total = 0
            for i in range(0, 60, 15):
                inputs, labels = X[i:i + 15], Y[i:i + 15]
                optimizer.zero_grad()
                outputs = model(inputs)
                loss = criterion(outputs, labels)
                loss.backward()
                optimizer.step()
                ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
                _, predicted = outputs.max(1)
                total += labels.size(0)
                correct += predicted.eq(labels).sum().item()
                print("[%d, %5d] loss: %.3f ema: %.3f | Acc: %.3f%% (%d/%d)"
                      % (epoch + 1, i + 1, loss.item(), ema, 100. * correct / total, correct,
                         total))
            model.train(False)
            with torch.no_grad():
                val = criterion(model(X), Y)
                acc = (model(X).argmax(1) == Y).float().mean()
            rows.append([val.item(), acc.item()])
            print(f"Epoch {epoch}: val_loss={val:.4f} val_acc={acc:.2%} training={model.training}")
        print("Finished Training")
        print(model.state_dict()["bn.running_mean"], model.bn.num_batches_tracked)
    put("trainlog.rows", rows)
    put_state("trainlog.model", model)


SECTIONS = {
    "checkpoint": section_checkpoint, "dataloader": section_dataloader,
    "devices": section_devices, "autograd_legacy": section_autograd_legacy,
    "training_log": section_training_log,
}

if __name__ == "__main__":
    from prog_s25_PR9_harness import run

    run(SECTIONS)
