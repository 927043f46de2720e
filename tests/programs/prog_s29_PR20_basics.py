"""PyTorch's "Learn the basics" tutorials and their neighbours, as a reader types them in
(PR20, session 29; written afresh, tiny synthetic data): tensors (creation from data, NumPy
and other tensors, attributes, ``out=`` forms, in-place ops, the NumPy bridge sharing
memory), datasets and DataLoader (a custom Dataset with transform / target_transform, a
one-hot Lambda by ``scatter_``, random_split, samplers, collate functions), building the
model (Flatten, Sequential, ModuleList / ModuleDict, named parameters printed), autograd
(requires_grad_, detach, no_grad, the Jacobian-vector product called twice, retain_graph,
torch.autograd.functional), the optimization loop (train / test functions, accuracy, the
tutorial's formatted prints), save and load (state dicts, whole models with weights_only,
checkpoints with optimizer state, BytesIO, shared storages) and "What is torch.nn really?"
(logistic regression by hand, then refactored step by step). Run by prog_s29_PR20_all.py.
"""
# ruff: noqa: B007, E501, E731, E741, N806, UP031, UP032 - the code as the tutorials write it

import io
import math
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
        data = [[1, 2], [3, 4]]
        x_data = torch.tensor(data)
        np_array = np.array(data)
        x_np = torch.from_numpy(np_array)
        print(x_data, x_data.dtype, x_np.dtype)
        x_ones = torch.ones_like(x_data)
        print(f"Ones Tensor: \n {x_ones} \n")
        x_rand = torch.rand_like(x_data, dtype=torch.float)
        print(f"Random Tensor: \n {x_rand} \n")
        shape = (2, 3,)
        rand_tensor = torch.rand(shape)
        ones_tensor = torch.ones(shape)
        zeros_tensor = torch.zeros(shape)
        print(f"Random Tensor: \n {rand_tensor} \n")
        print(f"Ones Tensor: \n {ones_tensor} \n")
        print(f"Zeros Tensor: \n {zeros_tensor}")
        tensor = torch.rand(3, 4)
        print(f"Shape of tensor: {tensor.shape}")
        print(f"Datatype of tensor: {tensor.dtype}")
        print(f"Device tensor is stored on: {tensor.device}")
        if torch.accelerator.is_available():
            tensor = tensor.to(torch.accelerator.current_accelerator())
        print(torch.accelerator.is_available(), torch.cuda.is_available(),
              torch.backends.mps.is_available())
        tensor = torch.ones(4, 4)
        print(f"First row: {tensor[0]}")
        print(f"First column: {tensor[:, 0]}")
        print(f"Last column: {tensor[..., -1]}")
        tensor[:, 1] = 0
        print(tensor)
        t1 = torch.cat([tensor, tensor, tensor], dim=1)
        print(t1)
        print(torch.stack([tensor[0], tensor[1]]).shape, torch.hstack([tensor, tensor]).shape)
        y1 = tensor @ tensor.T
        y2 = tensor.matmul(tensor.T)
        y3 = torch.rand_like(y1)
        torch.matmul(tensor, tensor.T, out=y3)
        print(y1, torch.equal(y1, y2), torch.equal(y2, y3))
        z1 = tensor * tensor
        z2 = tensor.mul(tensor)
        z3 = torch.rand_like(tensor)
        torch.mul(tensor, tensor, out=z3)
        print(z1, torch.equal(z1, z3), torch.equal(z2, z3))
        agg = tensor.sum()
        agg_item = agg.item()
        print(agg_item, type(agg_item))
        print(f"{tensor} \n")
        tensor.add_(5)
        print(tensor)
        t = torch.ones(5)
        print(f"t: {t}")
        n = t.numpy()
        print(f"n: {n}")
        t.add_(1)
        print(f"t: {t}")
        print(f"n: {n}")
        n = np.ones(5)
        t = torch.from_numpy(n)
        np.add(n, 1, out=n)
        print(f"t: {t}")
        print(f"n: {n}")
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


class CustomImageDataset(Dataset):
    """The tutorial's custom Dataset over an in-memory table of (image id, label)."""

    def __init__(self, annotations, images, transform=None, target_transform=None):
        self.img_labels = annotations
        self.images = images
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        name, label = self.img_labels[idx]
        image = self.images[name]
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


def section_data() -> None:
    with printed("t20_data.log"):
        g = torch.Generator().manual_seed(20)
        images = {f"img{i}.png": (torch.rand(1, 6, 6, generator=g) * 255).to(torch.uint8)
                  for i in range(20)}
        annotations = [(f"img{i}.png", i % 4) for i in range(20)]
        to_tensor = lambda img: img.float().div(255)
        one_hot = lambda y: torch.zeros(4, dtype=torch.float).scatter_(0, torch.tensor(y), value=1)
        ds = CustomImageDataset(annotations, images, transform=to_tensor, target_transform=one_hot)
        print(len(ds), ds[3][0].shape, ds[3][0].dtype, ds[3][1])
        labels_map = {0: "zero", 1: "one", 2: "two", 3: "three"}
        for i in range(1, 4):
            sample_idx = torch.randint(len(ds), size=(1,)).item()
            img, label = ds[sample_idx]
            print(sample_idx, labels_map[int(label.argmax())], f"{img.squeeze().mean():.4f}")
        train_dataloader = DataLoader(ds, batch_size=6, shuffle=True)
        train_features, train_labels = next(iter(train_dataloader))
        print(f"Feature batch shape: {train_features.size()}")
        print(f"Labels batch shape: {train_labels.size()}")
        img = train_features[0].squeeze()
        label = train_labels[0]
        print(img.shape, f"Label: {label}")
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


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def section_build() -> None:
    with printed("t20_build.log"):
        device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
        print(f"Using {device} device")
        model = NeuralNetwork().to(device)
        print(model)
        X = torch.rand(1, 8, 8, device=device)
        logits = model(X)
        pred_probab = nn.Softmax(dim=1)(logits)
        y_pred = pred_probab.argmax(1)
        print(f"Predicted class: {y_pred}")
        print(logits)
        print(f"Model structure: {model}\n\n")
        for name, param in model.named_parameters():
            print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
        print(sum(p.numel() for p in model.parameters()),
              sum(p.numel() for p in model.parameters() if p.requires_grad))
        print([n for n, _ in model.named_modules()], [n for n, _ in model.named_children()])
        print(model.linear_relu_stack[0], model.linear_relu_stack[-1], len(model.linear_relu_stack))
        print(model.linear_relu_stack[:2])
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
        x = torch.ones(5)
        y = torch.zeros(3)
        w = torch.randn(5, 3, requires_grad=True)
        b = torch.randn(3, requires_grad=True)
        z = torch.matmul(x, w) + b
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
        print(f"Gradient function for z = {z.grad_fn}")
        print(f"Gradient function for loss = {loss.grad_fn}")
        loss.backward()
        print(w.grad)
        print(b.grad)
        z = torch.matmul(x, w) + b
        print(z.requires_grad)
        with torch.no_grad():
            z = torch.matmul(x, w) + b
        print(z.requires_grad)
        z = torch.matmul(x, w) + b
        z_det = z.detach()
        print(z_det.requires_grad)
        inp = torch.eye(4, 5, requires_grad=True)
        out = (inp + 1).pow(2).t()
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"First call\n{inp.grad}")
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"\nSecond call\n{inp.grad}")
        inp.grad.zero_()
        out.backward(torch.ones_like(out), retain_graph=True)
        print(f"\nCall after zeroing gradients\n{inp.grad}")
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
        model = NeuralNetwork()
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)

        def train_loop(dataloader, model, loss_fn, optimizer):
            size = len(dataloader.dataset)
            model.train()
            for batch, (X, y) in enumerate(dataloader):
                pred = model(X)
                loss = loss_fn(pred, y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                if batch % 2 == 0:
                    loss, current = loss.item(), batch * batch_size + len(X)
                    print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")

        def test_loop(dataloader, model, loss_fn):
            model.eval()
            size = len(dataloader.dataset)
            num_batches = len(dataloader)
            test_loss, correct = 0, 0
            with torch.no_grad():
                for X, y in dataloader:
                    pred = model(X)
                    test_loss += loss_fn(pred, y).item()
                    correct += (pred.argmax(1) == y).type(torch.float).sum().item()
            test_loss /= num_batches
            correct /= size
            print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
            return correct

        for t in range(epochs):
            print(f"Epoch {t+1}\n-------------------------------")
            train_loop(train_dataloader, model, loss_fn, optimizer)
            test_loop(test_dataloader, model, loss_fn)
        print("Done!")
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
        put_w = model.linear_relu_stack[0].weight
        put("t20_optim.w", put_w)


def section_save_load() -> None:
    with printed("t20_save.log"):
        model = NeuralNetwork()
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
        model2 = NeuralNetwork()
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
        model3 = NeuralNetwork()
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
        print(list(NeuralNetwork().state_dict().items())[0][1].shape)
        sd = model.state_dict()
        print(type(sd).__name__, sd["linear_relu_stack.0.bias"].requires_grad,
              model.state_dict(keep_vars=True)["linear_relu_stack.0.bias"].requires_grad)


def section_nn_really() -> None:
    torch.manual_seed(2)
    n, d, classes = 120, 64, 4
    proto = torch.randn(classes, d)
    y_train = torch.randint(0, classes, (n,))
    x_train = (proto[y_train] + torch.randn(n, d)).clamp(-2, 2) / 4 + 0.5
    y_valid = torch.randint(0, classes, (40,))
    x_valid = (proto[y_valid] + torch.randn(40, d)).clamp(-2, 2) / 4 + 0.5
    with printed("t20_nnr.log"):
        print(x_train, y_train)
        print(x_train.shape, y_train.min(), y_train.max())
        weights = torch.randn(d, classes) / math.sqrt(d)
        weights.requires_grad_()
        bias = torch.zeros(classes, requires_grad=True)

        def log_softmax(x):
            return x - x.exp().sum(-1).log().unsqueeze(-1)

        def model(xb):
            return log_softmax(xb @ weights + bias)

        bs = 16
        xb = x_train[0:bs]
        preds = model(xb)
        print(preds[0], preds.shape)

        def nll(input, target):
            return -input[range(target.shape[0]), target].mean()

        loss_func = nll
        yb = y_train[0:bs]
        print(loss_func(preds, yb))

        def accuracy(out, yb):
            preds = torch.argmax(out, dim=1)
            return (preds == yb).float().mean()

        print(accuracy(preds, yb))
        lr = 0.5
        epochs = 2
        for epoch in range(epochs):
            for i in range((n - 1) // bs + 1):
                start_i = i * bs
                end_i = start_i + bs
                xb = x_train[start_i:end_i]
                yb = y_train[start_i:end_i]
                pred = model(xb)
                loss = loss_func(pred, yb)
                loss.backward()
                with torch.no_grad():
                    weights -= weights.grad * lr
                    bias -= bias.grad * lr
                    weights.grad.zero_()
                    bias.grad.zero_()
        print(loss_func(model(xb), yb), accuracy(model(xb), yb))
        loss_func = F.cross_entropy

        def model(xb):
            return xb @ weights + bias

        print(loss_func(model(xb), yb), accuracy(model(xb), yb))

        class Mnist_Logistic(nn.Module):
            def __init__(self):
                super().__init__()
                self.weights = nn.Parameter(torch.randn(d, classes) / math.sqrt(d))
                self.bias = nn.Parameter(torch.zeros(classes))

            def forward(self, xb):
                return xb @ self.weights + self.bias

        model = Mnist_Logistic()
        print(loss_func(model(xb), yb))

        def fit():
            for epoch in range(epochs):
                for i in range((n - 1) // bs + 1):
                    start_i = i * bs
                    end_i = start_i + bs
                    xb = x_train[start_i:end_i]
                    yb = y_train[start_i:end_i]
                    pred = model(xb)
                    loss = loss_func(pred, yb)
                    loss.backward()
                    with torch.no_grad():
                        for p in model.parameters():
                            p -= p.grad * lr
                        model.zero_grad()

        fit()
        print(loss_func(model(xb), yb))

        class Mnist_Logistic2(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(d, classes)

            def forward(self, xb):
                return self.lin(xb)

        def get_model():
            model = Mnist_Logistic2()
            return model, optim.SGD(model.parameters(), lr=lr)

        model, opt = get_model()
        print(loss_func(model(xb), yb))
        train_ds = TensorDataset(x_train, y_train)
        valid_ds = TensorDataset(x_valid, y_valid)

        def loss_batch(model, loss_func, xb, yb, opt=None):
            loss = loss_func(model(xb), yb)
            if opt is not None:
                loss.backward()
                opt.step()
                opt.zero_grad()
            return loss.item(), len(xb)

        def fit2(epochs, model, loss_func, opt, train_dl, valid_dl):
            for epoch in range(epochs):
                model.train()
                for xb, yb in train_dl:
                    loss_batch(model, loss_func, xb, yb, opt)
                model.eval()
                with torch.no_grad():
                    losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
                val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
                print(epoch, val_loss)

        def get_data(train_ds, valid_ds, bs):
            return (DataLoader(train_ds, batch_size=bs, shuffle=True),
                    DataLoader(valid_ds, batch_size=bs * 2))

        train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
        fit2(epochs, model, loss_func, opt, train_dl, valid_dl)

        class Lambda(nn.Module):
            def __init__(self, func):
                super().__init__()
                self.func = func

            def forward(self, x):
                return self.func(x)

        def preprocess(x):
            return x.view(-1, 1, 8, 8)

        model = nn.Sequential(
            Lambda(preprocess),
            nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, classes, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            Lambda(lambda x: x.view(x.size(0), -1)),
        )
        print(model)
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        fit2(epochs, model, loss_func, opt, train_dl, valid_dl)

        class WrappedDataLoader:
            def __init__(self, dl, func):
                self.dl = dl
                self.func = func

            def __len__(self):
                return len(self.dl)

            def __iter__(self):
                for b in self.dl:
                    yield (self.func(*b))

        wrapped = WrappedDataLoader(valid_dl, lambda x, y: (x.view(-1, 1, 8, 8), y))
        model = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(8, classes, kernel_size=3, stride=2, padding=1), nn.ReLU(),
            nn.AvgPool2d(2), nn.Flatten())
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        fit2(1, model, loss_func, opt, WrappedDataLoader(train_dl, lambda x, y: (x.view(-1, 1, 8, 8), y)), wrapped)
        print(F.avg_pool2d(x_valid[:2].view(-1, 1, 8, 8), 4).shape)


SECTIONS = {
    "t20_tensors": section_tensors, "t20_data": section_data, "t20_build": section_build,
    "t20_autograd": section_autograd, "t20_optim": section_optim_loop,
    "t20_save": section_save_load, "t20_nnr": section_nn_really,
}
