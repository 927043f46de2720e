"""A classifier trained the way PyTorch's MNIST example does, on small synthetic 8x8 images.

TensorDataset + DataLoader, ``model.train()`` / ``model.eval()``, Adadelta with StepLR, a test
pass under ``no_grad`` counting correct predictions, and the state dict saved with
``torch.save`` and loaded into a fresh model with ``torch.load``.
"""

from __future__ import annotations

import io

import numpy as np


def make_images(n=480, seed=0):
    """Four classes of noisy 8x8 patterns (horizontal bar, vertical bar, diagonal, ring)."""
    rng = np.random.default_rng(seed)
    patterns = np.zeros((4, 8, 8), dtype=np.float32)
    patterns[0, 3:5, :] = 1.0
    patterns[1, :, 3:5] = 1.0
    patterns[2][np.eye(8, dtype=bool)] = 1.0
    patterns[3, [1, 6], 1:7] = 1.0
    patterns[3, 1:7, [1, 6]] = 1.0
    labels = rng.integers(0, 4, n)
    images = patterns[labels] + rng.normal(0.0, 0.6, (n, 8, 8)).astype(np.float32)
    return images[:, None], labels.astype(np.int64)


def net(torch, dropout=0.25):
    """Flatten -> Linear -> BatchNorm1d -> ReLU -> Dropout -> Linear -> log_softmax."""
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 32)
            self.bn1 = nn.BatchNorm1d(32)
            self.dropout1 = nn.Dropout(dropout)
            self.fc2 = nn.Linear(32, 4)

        def forward(self, x):
            x = torch.flatten(x, 1)
            x = F.relu(self.bn1(self.fc1(x)))
            x = self.dropout1(x)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def loaders(torch, batch_size=32, shuffle=True, split="random"):
    """Train and test DataLoaders; ``split='fixed'`` and ``shuffle=False`` give the same
    batches in every library (their random generators differ)."""
    images, labels = make_images()
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    if split == "random":
        generator = torch.Generator().manual_seed(42)
        train_set, test_set = torch.utils.data.random_split(dataset, [0.8, 0.2],
                                                            generator=generator)
    else:
        n_train = int(0.8 * len(dataset))
        train_set = torch.utils.data.Subset(dataset, range(n_train))
        test_set = torch.utils.data.Subset(dataset, range(n_train, len(dataset)))
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=shuffle)
    test_loader = torch.utils.data.DataLoader(test_set, batch_size=64)
    return train_loader, test_loader


def train_epoch(torch, model, device, train_loader, optimizer, epoch, log_interval=5):
    F = torch.nn.functional
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % log_interval == 0:
            done = 100.0 * batch_idx / len(train_loader)
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)} "
                  f"({done:.0f}%)]\tLoss: {loss.item():.6f}")
    return losses


def test(torch, model, device, test_loader):
    """Mean test loss and the number of correct predictions."""
    F = torch.nn.functional
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    n = len(test_loader.dataset)
    print(f"\nTest set: Average loss: {test_loss:.4f}, Accuracy: {correct}/{n} "
          f"({100.0 * correct / n:.0f}%)\n")
    return test_loss, correct


def run(torch, model, epochs=2, shuffle=True, split="random", lr=1.0):
    """Train, test after each epoch, then save, reload into a fresh model and test again.

    Returns the train losses, then each epoch's test loss and accuracy, then the reloaded
    model's test loss (which must equal the last one)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = model.to(device)
    train_loader, test_loader = loaders(torch, shuffle=shuffle, split=split)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    results = []
    for epoch in range(1, epochs + 1):
        results += train_epoch(torch, model, device, train_loader, optimizer, epoch)
        test_loss, correct = test(torch, model, device, test_loader)
        results += [test_loss, correct / len(test_loader.dataset)]
        scheduler.step()

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = type(model)().to(device)
    fresh.load_state_dict(torch.load(buffer))
    results.append(test(torch, fresh, device, test_loader)[0])
    return results


def main(torch, epochs: int = 3) -> list[float]:
    torch.manual_seed(1)
    return run(torch, net(torch), epochs=epochs)
