"""The topics of PyTorch's "Learn the basics" tutorials, in our own code (PR20, session 29;
reworked in session 30 so as not to repeat prog_s26_PR11_tutorials, which runs the tutorials'
own walk-throughs): tensors (``out=`` forms, stacking, device queries, memory shared with
NumPy, creation routines, attributes, in-place ops), datasets and DataLoader (a custom Dataset
with transform / target_transform, a one-hot Lambda by ``scatter_``, random_split, samplers,
collate functions), building a model (Flatten, Sequential, ModuleList / ModuleDict, named
parameters printed), autograd (a vector-Jacobian product called repeatedly with
retain_graph, no_grad / detach, backward twice, torch.autograd.functional), an optimization
loop (train / evaluate functions, accuracy, other optimizers), save and load (state dicts,
whole models with weights_only, checkpoints with optimizer state, BytesIO, shared storages).
Run by prog_s29_PR20_all.py.
"""
# ruff: noqa: B007, E501, E731, E741, N806, UP031, UP032 - written as a reader types

import io
import os
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn, optim
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)


def section_tensors() -> None:
    with printed("t20_tensors.log"):
        # (the tutorial's own walk-through runs in prog_s26_PR11_tutorials.section_tensors;
        # here the pieces it leaves out: out= forms, stacking, device queries, shared memory)
        grid = torch.arange(12.0).reshape(3, 4)
        print(torch.tensor([[5, 6], [7, 8]]).dtype, torch.from_numpy(np.array([[5, 6]])).dtype)
        print(torch.accelerator.is_available(), torch.cuda.is_available(),
              torch.backends.mps.is_available(), grid.device)
        print(torch.stack([grid[0], grid[2]]).shape, torch.hstack([grid, grid]).shape,
              torch.vstack([grid, grid[:1]]).shape)
        gram = torch.full((3, 3), -1.0)
        torch.matmul(grid, grid.mT, out=gram)
        squares = torch.empty_like(grid)
        torch.mul(grid, grid, out=squares)
        print(gram, torch.equal(gram, grid @ grid.T), torch.equal(squares, grid.mul(grid)))
        grid[:, 2] = -3
        print(grid, grid.sum().item(), type(grid.sum().item()).__name__)
        shared = torch.zeros(3)
        view = shared.numpy()
        shared.sub_(2)
        print(view, torch.from_numpy(view).add_(4), shared)
        # more creation routines a reader tries next
        print(torch.arange(5), torch.arange(1, 2.5, 0.5), torch.linspace(-1, 1, steps=5))
        print(torch.full((2, 2), 7), torch.full((2,), 1.5, dtype=torch.float64), torch.eye(2, 3))
        print(torch.zeros(2, 2, dtype=torch.int16), torch.empty(0, 3), torch.tensor([]).shape)
        print(torch.as_tensor([1.0, 2.0]).dtype, torch.as_tensor(np.float32(3.5)),
              torch.tensor(True), torch.tensor(2 + 3j))
        x = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.float32)
        print(x.ndim, x.numel(), x.size(1), x.element_size(), x.is_floating_point(),
              x.requires_grad, x.is_leaf, x.layout)
        print(x.T, x.mT.shape, x.view(3, 2), x.reshape(-1), x.flatten().shape)
        print(x.unsqueeze(0).shape, x[None].shape, x[:, None, :].shape, x.squeeze().shape)
        print(x.max(), x.max(dim=1), x.argmax(), x.mean(dim=0, keepdim=True), x.std())
        print(x.clamp(min=2, max=5), x.abs().neg(), torch.where(x > 3, x, torch.zeros_like(x)))
        print(x.to(torch.int64), x.int(), x.double().dtype, x.half(), x.bool().all())
        print(torch.tensor([1, 2, 3]) / 2, torch.tensor([1, 2, 3]) // 2, torch.tensor([5]) % 3)
        print(x.sum(1).tolist(), x.numpy().dtype, x.tolist())
        x.mul_(2).sub_(1)
        print(x, x.t_().shape, x.is_contiguous())
        s = torch.tensor(3.25)
        print(s, s.shape, s.item(), float(s), int(s), s.dim(), f"{s:.3f}", f"{s.item():8.2f}")


class TableDataset(Dataset):
    """(picture, label) pairs looked up through a table of (key, label) rows, each side through
    an optional function (transform / target_transform)."""

    def __init__(self, rows, pictures, transform=None, target_transform=None):
        self.rows, self.pictures = rows, pictures
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, idx):
        key, label = self.rows[idx]
        picture = self.pictures[key]
        picture = self.transform(picture) if self.transform else picture
        return picture, self.target_transform(label) if self.target_transform else label


def section_data() -> None:
    with printed("t20_data.log"):
        g = torch.Generator().manual_seed(20)
        images = {f"img{i}.png": (torch.rand(1, 6, 6, generator=g) * 255).to(torch.uint8)
                  for i in range(20)}
        annotations = [(f"img{i}.png", i % 4) for i in range(20)]
        to_tensor = lambda img: img.float().div(255)
        one_hot = lambda y: torch.zeros(4, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)
        ds = TableDataset(annotations, images, transform=to_tensor, target_transform=one_hot)
        print(len(ds), ds[3][0].shape, ds[3][0].dtype, ds[3][1])
        names = ("zero", "one", "two", "three")
        for _ in range(3):
            pick = int(torch.randint(len(ds), (1,)))
            picture, label = ds[pick]
            print(pick, names[int(label.argmax())], f"{picture.squeeze().mean():.4f}")
        train_dataloader = DataLoader(ds, batch_size=6, shuffle=True)
        train_features, train_labels = next(iter(train_dataloader))
        print(train_features.size(), train_labels.size(), train_features[0].squeeze().shape,
              train_labels[0])
        print(len(train_dataloader), [b[0].shape[0] for b in train_dataloader])
        dl = DataLoader(ds, batch_size=6, shuffle=False, drop_last=True)
        print(len(dl), [tuple(b[1].argmax(1).tolist()) for b in dl])
        train_set, val_set = random_split(ds, [0.75, 0.25], generator=torch.Generator().manual_seed(42))
        print(len(train_set), len(val_set), train_set.indices[:5], type(train_set).__name__)
        a, b, c = random_split(range(10), [3, 3, 4], generator=torch.Generator().manual_seed(1))
        print(list(a), list(b), list(c))
        sub = Subset(ds, [0, 2, 4])
        print(len(sub), sub[1][1])
        print(list(SequentialSampler(range(4))), list(BatchSampler(SequentialSampler(range(7)), 3, False)),
              list(BatchSampler(range(7), 3, True)))
        print(list(RandomSampler(range(6), generator=torch.Generator().manual_seed(3))))
        weights = [0.1, 0.9, 0.4, 0.05]
        print(list(WeightedRandomSampler(weights, 6, replacement=True, generator=torch.Generator().manual_seed(5))))
        print(list(WeightedRandomSampler(weights, 3, replacement=False, generator=torch.Generator().manual_seed(5))))
        # variable-length sequences with a padding collate function
        seqs = [torch.arange(n) + 1 for n in (3, 1, 4, 2)]

        def collate_batch(batch):
            lengths = torch.tensor([len(s) for s in batch])
            padded = nn.utils.rnn.pad_sequence(batch, batch_first=True, padding_value=0)
            return padded, lengths

        for padded, lengths in DataLoader(seqs, batch_size=2, collate_fn=collate_batch):
            print(padded, lengths)
        dicts = [{"x": torch.tensor([i, i + 1.0]), "y": i, "name": f"s{i}"} for i in range(3)]
        batch = next(iter(DataLoader(dicts, batch_size=3)))
        print(batch)
        tuples = [(np.float32(i), np.array([i, 2 * i])) for i in range(3)]
        print(next(iter(DataLoader(tuples, batch_size=3))))
        tds = TensorDataset(torch.arange(10.).view(5, 2), torch.arange(5))
        print(tds[1:3], len(tds))
        dl = DataLoader(tds, batch_size=None)
        print(next(iter(dl)))
        dl = DataLoader(tds, batch_size=2, sampler=SequentialSampler(tds))
        print([y.tolist() for _, y in dl])

        class Squares(torch.utils.data.IterableDataset):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return iter(i * i for i in range(self.n))

        print(list(DataLoader(Squares(5), batch_size=2)))
        put("t20_data.feat", train_features)


class DigitMLP(nn.Module):
    """8x8 images to 10 scores through two hidden layers of 32."""

    def __init__(self):
        super().__init__()
        self.flat = nn.Flatten()
        self.layers = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                                    nn.Linear(32, 10))

    def forward(self, images):
        return self.layers(self.flat(images))


def section_build() -> None:
    with printed("t20_build.log"):
        where = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else "cpu"
        model = DigitMLP().to(where)
        print(where, model)
        scores = model(torch.rand(3, 8, 8, device=where))
        print(scores, nn.Softmax(dim=1)(scores).argmax(1), scores.softmax(-1).sum(-1))
        for key, tensor in model.named_parameters():
            print(key, tuple(tensor.size()), tensor[:1])
        print(sum(p.numel() for p in model.parameters()),
              sum(p.numel() for p in model.parameters() if p.requires_grad))
        print([n for n, _ in model.named_modules()], [n for n, _ in model.named_children()])
        print(model.layers[0], model.layers[-1], len(model.layers))
        print(model.layers[:2])
        print(nn.Flatten(0, 1)(torch.ones(2, 3, 4)).shape, nn.Unflatten(1, (2, 2))(torch.ones(3, 4)).shape)

        class Blocks(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
                self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
                self.scale = nn.Parameter(torch.ones(1))
                self.register_buffer("offset", torch.zeros(4))
                self.extra = nn.ParameterList([nn.Parameter(torch.zeros(2)) for _ in range(2)])

            def forward(self, x, head="cls"):
                for layer in self.layers:
                    x = F.relu(layer(x)) + self.offset
                return self.heads[head](x) * self.scale

        blocks = Blocks()
        print(blocks)
        print(blocks(torch.ones(2, 4)).shape, blocks(torch.ones(2, 4), head="reg").shape)
        print(list(blocks.state_dict().keys()))
        print([(n, tuple(b.shape)) for n, b in blocks.named_buffers()])
        print(blocks.extra, blocks.extra[0])
        blocks.requires_grad_(False)
        print(any(p.requires_grad for p in blocks.parameters()), blocks.training, blocks.eval().training)
        seq = nn.Sequential()
        seq.add_module("fc", nn.Linear(2, 2))
        seq.append(nn.Tanh())
        print(seq, seq.fc.in_features)
        print(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                            nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.LazyLinear(5)))


def section_autograd() -> None:
    with printed("t20_autograd.log"):
        # (the tutorial's opening runs in prog_s26_PR11_tutorials.section_autograd_tutorial)
        feats, target = torch.linspace(-1, 1, 4), torch.tensor([1.0, 0.0])
        w = torch.randn(4, 2, requires_grad=True)
        shift = torch.randn(2, requires_grad=True)
        logit = feats @ w + shift
        cost = F.binary_cross_entropy_with_logits(logit, target, reduction="sum")
        print(logit.grad_fn, cost.grad_fn, cost.grad_fn.name())
        cost.backward()
        print(w.grad, shift.grad)
        with torch.no_grad():
            print((feats @ w).requires_grad, (feats @ w.detach()).requires_grad)
        square = torch.arange(6.0).reshape(2, 3).requires_grad_()
        image = (square * 3 - 1).square().mT
        for step in range(3):
            image.backward(torch.full_like(image, 0.5), retain_graph=True)
            print(step, square.grad)
            if step == 1:
                square.grad = None
        # backward twice without retain_graph
        a = torch.tensor([2.0, 3.0], requires_grad=True)
        q = (a * a).sum()
        q.backward()
        try:
            q.backward()
        except RuntimeError as e:
            print("RuntimeError:", str(e).split(".")[0])
        t = torch.randn(3)
        print(t.requires_grad, t.requires_grad_().requires_grad, t.is_leaf)
        u = t * 2
        print(u.is_leaf, u.grad_fn.name(), [type(f[0]).__name__ for f in u.grad_fn.next_functions])
        try:
            t.numpy()
        except RuntimeError as e:
            print("RuntimeError:", str(e).split(".")[0])
        print(t.detach().numpy().shape)
        # gradient of a non-scalar output needs a vector
        v = t * t
        try:
            v.backward()
        except RuntimeError as e:
            print("RuntimeError:", str(e)[:52])
        v.backward(torch.tensor([1.0, 0.1, 0.01]))
        print(t.grad)
        # torch.autograd.grad and higher order
        x = torch.tensor(1.5, requires_grad=True)
        y = x ** 3
        (dy,) = torch.autograd.grad(y, x, create_graph=True)
        (d2y,) = torch.autograd.grad(dy, x)
        print(dy, d2y)
        f = lambda v: torch.stack([v[0] * v[1], v[0].sin(), v[1] ** 2])
        v0 = torch.tensor([0.5, -1.0])
        print(torch.autograd.functional.jacobian(f, v0))
        print(torch.autograd.functional.vjp(f, v0, torch.ones(3)))
        print(torch.autograd.functional.jvp(f, v0, torch.tensor([1.0, 0.0])))
        g = lambda v: (v ** 3).sum() + v[0] * v[1]
        print(torch.autograd.functional.hessian(g, v0))
        print(torch.autograd.functional.hvp(g, v0, torch.tensor([1.0, 1.0])))
        # frozen parameters for fine-tuning
        model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
        for param in model[0].parameters():
            param.requires_grad = False
        out = model(torch.randn(4, 3)).sum()
        out.backward()
        print(model[0].weight.grad, model[2].weight.grad is not None)
        with torch.enable_grad():
            print(torch.is_grad_enabled())
        torch.set_grad_enabled(False)
        print((a * 2).requires_grad)
        torch.set_grad_enabled(True)
        with torch.inference_mode():
            r = a * 2
        print(r.requires_grad, r.is_inference(), torch.is_inference_mode_enabled())
        put("t20_autograd.w", w.grad)


def section_optim_loop() -> None:
    torch.manual_seed(1)
    n_train, n_test = 96, 32
    centers = torch.randn(10, 64)
    y_train, y_test = torch.randint(0, 10, (n_train,)), torch.randint(0, 10, (n_test,))
    x_train = (centers[y_train] + 0.8 * torch.randn(n_train, 64)).view(-1, 8, 8)
    x_test = (centers[y_test] + 0.8 * torch.randn(n_test, 64)).view(-1, 8, 8)
    with printed("t20_optim.log"):
        learning_rate = 1e-2
        batch_size = 16
        epochs = 3
        train_dataloader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size)
        test_dataloader = DataLoader(TensorDataset(x_test, y_test), batch_size=batch_size)
        model = DigitMLP()
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)

        def one_epoch(batches):
            model.train()
            for i, (images, labels) in enumerate(batches):
                optimizer.zero_grad()
                batch_loss = loss_fn(model(images), labels)
                batch_loss.backward()
                optimizer.step()
                if i % 2 == 1:
                    print(f"  batch {i:2d} of {len(batches)}: {batch_loss.item():.6f}")

        def evaluate(batches):
            model.eval()
            hits, total_loss = 0, 0.0
            with torch.no_grad():
                for images, labels in batches:
                    scores = model(images)
                    total_loss += loss_fn(scores, labels).item() * len(labels)
                    hits += int((scores.argmax(dim=1) == labels).sum())
            seen = len(batches.dataset)
            print(f"held out: {hits}/{seen} right ({hits / seen:.1%}), loss {total_loss / seen:.5f}")
            return hits

        for epoch in range(epochs):
            print(f"epoch {epoch}")
            one_epoch(train_dataloader)
            evaluate(test_dataloader)
        print("finished")
        print(optimizer)
        # other optimizers on the same model, one step each
        for opt_cls, kw in ((optim.Adam, {"lr": 1e-3}), (optim.AdamW, {"lr": 1e-3, "weight_decay": 0.1}),
                            (optim.RMSprop, {"lr": 1e-3}), (optim.Adagrad, {"lr": 0.1})):
            opt = opt_cls(model.parameters(), **kw)
            loss = loss_fn(model(x_train[:16]), y_train[:16])
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(opt_cls.__name__, f"{loss.item():.6f}", f"{loss_fn(model(x_train[:16]), y_train[:16]).item():.6f}")
        put_w = model.layers[0].weight
        put("t20_optim.w", put_w)


def section_save_load() -> None:
    with printed("t20_save.log"):
        model = DigitMLP()
        opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.rand(4, 8, 8)
        loss = model(x).logsumexp(1).mean()
        loss.backward()
        opt.step()
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        buffer.seek(0)
        state = torch.load(buffer, weights_only=True)
        print(type(state).__name__, list(state.keys()))
        model2 = DigitMLP()
        print(model2.load_state_dict(state))
        model2.eval()
        print(torch.equal(model(x), model2(x)))
        # whole model
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        try:
            torch.load(buffer, weights_only=True)
        except Exception as e:  # noqa: BLE001
            print(type(e).__name__, str(e).split("\n")[0][:40])
        buffer.seek(0)
        whole = torch.load(buffer, weights_only=False)
        print(type(whole).__name__, whole.training, torch.equal(whole(x), model(x)))
        # a general checkpoint
        folder = tempfile.mkdtemp()
        PATH = os.path.join(folder, "model.pt")
        EPOCH, LOSS = 5, 0.4
        torch.save({
            "epoch": EPOCH,
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict(),
            "loss": LOSS,
        }, PATH)
        model3 = DigitMLP()
        optimizer = optim.SGD(model3.parameters(), lr=0.5)
        checkpoint = torch.load(PATH, weights_only=True)
        model3.load_state_dict(checkpoint["model_state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
        epoch = checkpoint["epoch"]
        loss = checkpoint["loss"]
        print(epoch, loss, optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["momentum"])
        print(optimizer.state_dict()["param_groups"])
        print(sorted(optimizer.state_dict()["state"].keys()), list(optimizer.state_dict()["state"][0].keys()))
        print(torch.equal(optimizer.state_dict()["state"][1]["momentum_buffer"],
                          opt.state_dict()["state"][1]["momentum_buffer"]))
        model3.train()
        # tensors: shared storage survives, views too
        t = torch.arange(10.0)
        buffer = io.BytesIO()
        torch.save([t, t[2:5], {"v": t.view(2, 5)}], buffer)
        buffer.seek(0)
        a, b, c = torch.load(buffer)
        a[3] = -1
        print(b, c["v"][0], b.storage_offset(), c["v"].stride())
        buffer = io.BytesIO()
        torch.save(torch.tensor([1, 2], dtype=torch.int16), buffer)
        buffer.seek(0)
        print(torch.load(buffer, map_location="cpu"), )
        buffer.seek(0)
        print(torch.load(buffer, map_location=lambda storage, loc: storage))
        buffer.seek(0)
        print(torch.load(buffer, map_location=torch.device("cpu")).dtype)
        np_path = os.path.join(folder, "t.pt")
        torch.save({"a": torch.ones(2), "n": 3, "s": "x", "l": [1.5, torch.zeros(1)]}, np_path)
        print(torch.load(np_path))
        print(torch.load(np_path, mmap=True)["a"])
        # the module's own layout
        print(list(DigitMLP().state_dict().items())[0][1].shape)
        sd = model.state_dict()
        print(type(sd).__name__, sd["layers.0.bias"].requires_grad,
              model.state_dict(keep_vars=True)["layers.0.bias"].requires_grad)


SECTIONS = {
    "t20_tensors": section_tensors, "t20_data": section_data, "t20_build": section_build,
    "t20_autograd": section_autograd, "t20_optim": section_optim_loop,
    "t20_save": section_save_load,
}
# ("What is torch.nn really?" runs in prog_s26_PR11_tutorials: section_nn_really / _cnn)
