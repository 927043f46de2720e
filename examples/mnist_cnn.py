"""A small convolutional network on MNIST-sized images, written as a PyTorch tutorial would be.

    OMP_NUM_THREADS=1 python examples/mnist_cnn.py     # a few seconds
    python examples/mnist_cnn.py --steps 40

The only deltagrad-specific line is ``import deltagrad as torch``. The data are synthetic
28x28 "digits" (so that the example needs no download): each class is a stroke pattern (bar,
cross, ring, ...) drawn at a random offset and brightness, with noise. The network is the
usual stack Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d (twice), a third convolution, global
average pooling and a linear classifier, trained with Adam from a DataLoader; it is then
evaluated on fresh images in eval mode (running batch statistics, no gradients).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import deltagrad as torch

nn = torch.nn
F = torch.nn.functional


@dataclass
class Config:
    """Everything that sets the run; kept together so it can be printed and saved."""

    train_size: int = 1024
    test_size: int = 256
    batch_size: int = 32
    steps: int = 120
    lr: float = 3e-3
    noise: float = 0.3
    seed: int = 0


def templates() -> torch.Tensor:
    """Six 20x20 stroke patterns, one per class: ``[6, 20, 20]``."""
    t = torch.zeros(6, 20, 20)
    t[0, 8:12, :] = 1.0  # horizontal bar
    t[1, :, 8:12] = 1.0  # vertical bar
    t[2] = (torch.eye(20) + torch.eye(20).roll(1, dims=1)).clamp(max=1.0)  # diagonal
    t[3, 8:12, :] = 1.0  # cross
    t[3, :, 8:12] = 1.0
    t[4, 2:18, 2:18] = 1.0  # ring
    t[4, 5:15, 5:15] = 0.0
    t[5, 2:6, :] = 1.0  # two bars
    t[5, 14:18, :] = 1.0
    return t


def make_images(n: int, cfg: Config, generator: torch.Generator):
    """``n`` noisy 1x28x28 images and their labels."""
    patterns = templates()
    labels = torch.randint(0, len(patterns), (n,), generator=generator)
    images = torch.zeros(n, 1, 28, 28)
    offsets = torch.randint(0, 9, (n, 2), generator=generator).tolist()
    brightness = 0.5 + torch.rand(n, generator=generator)
    for i, (row, col) in enumerate(offsets):
        images[i, 0, row:row + 20, col:col + 20] = patterns[labels[i]] * brightness[i]
    images += cfg.noise * torch.randn(n, 1, 28, 28, generator=generator)
    return images, labels


class SmallCNN(nn.Module):
    """Conv-BN-ReLU-pool twice, one more convolution, global average pooling, Linear."""

    def __init__(self, classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(8, 16, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14 -> 7
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((1, 1)),
        )
        self.classifier = nn.Linear(32, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def main(cfg: Config | None = None) -> float:
    """Train, print progress and the test accuracy; returns the final training loss."""
    cfg = cfg or Config()
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    train_x, train_y = make_images(cfg.train_size, cfg, generator)
    test_x, test_y = make_images(cfg.test_size, cfg, generator)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y),
                                         batch_size=cfg.batch_size, shuffle=True,
                                         generator=generator)
    model = SmallCNN(classes=len(templates()))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    print(cfg)
    print(f"{sum(p.numel() for p in model.parameters())} parameters")

    start = time.perf_counter()
    step = 0
    model.train()
    while step < cfg.steps:
        for images, labels in loader:
            step += 1
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 20 == 0 or step == 1:
                print(f"step {step:4d}  loss {loss.item():.4f}  "
                      f"{time.perf_counter() - start:.1f}s")
            if step == cfg.steps:
                break

    model.eval()
    with torch.no_grad():
        predictions = model(test_x).argmax(dim=1)
    accuracy = (predictions == test_y).float().mean().item()
    print(f"test accuracy {accuracy:.3f} on {cfg.test_size} images")
    return loss.item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=Config.steps)
    main(Config(steps=parser.parse_args().steps))
