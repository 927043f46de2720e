"""Public programs built on torchvision, in small faithful versions: pytorch/examples mnist
(Net, Adadelta, StepLR, train/test loops) and mnist_rnn, the CIFAR-10 tutorial (Compose +
Normalize, DataLoader, per-class accuracy), kuangliu/pytorch-cifar's training loop
(RandomCrop / RandomHorizontalFlip, CosineAnnealingLR, checkpoint dict), d2l's
load_data_fashion_mnist + softmax regression, and a DCGAN-style pair on dset.FakeData with
vutils.save_image (our own code since session 31). Datasets are MNIST / FashionMNIST /
CIFAR-10-format files written to a temp dir. Keys ``<section>.<name>``; a section that raises
records ``ERR.<section>``.
Usage: ``python prog_s10_P2_examples.py OUT.npz [SECTION ...]`` (or under
``python -m deltagrad run``)."""

import atexit
import os
import pickle
import shutil
import sys
import tempfile
import traceback

import numpy as np
import torch
import tv_common

tv_common.declare_torchvision_ops()  # (real PyTorch: see tv_common)

import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torch.optim as optim  # noqa: E402
import torchvision  # noqa: E402
import torchvision.datasets as dset  # noqa: E402
import torchvision.utils as vutils  # noqa: E402
from PIL import Image  # noqa: E402
from torch.optim.lr_scheduler import StepLR  # noqa: E402
from torchvision import datasets, transforms  # noqa: E402

OUT: dict = {}
ROOT = tempfile.mkdtemp(prefix="p2_examples_")
atexit.register(shutil.rmtree, ROOT, True)


def put(key, value):
    tv_common.put(OUT, key, value)


def write_idx(folder, prefix, count, seed, size=28):
    """MNIST's idx files (uncompressed: torchvision reads them when they exist)."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, size, size), dtype=np.uint8)
    labels = rng.integers(0, 10, count, dtype=np.uint8)
    with open(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), "wb") as handle:
        handle.write(np.array([2051, count, size, size], ">i4").tobytes() + images.tobytes())
    with open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), "wb") as handle:
        handle.write(np.array([2049, count], ">i4").tobytes() + labels.tobytes())


def write_mnist_format(name, train=24, test=12):
    raw = os.path.join(ROOT, name, "raw")
    if not os.path.isdir(raw):
        write_idx(raw, "train", train, seed=len(name))
        write_idx(raw, "t10k", test, seed=len(name) + 1)
    return ROOT


class LocalCIFAR10(datasets.CIFAR10):
    """CIFAR10 over locally written batches: no md5 for them (torchvision then checks that
    they exist); everything else (unpickling, reshape, transpose, meta) is torchvision's."""

    train_list = [[name, None] for name, _ in datasets.CIFAR10.train_list]
    test_list = [[name, None] for name, _ in datasets.CIFAR10.test_list]
    meta = dict(datasets.CIFAR10.meta, md5=None)


def write_cifar(count=16):
    folder = os.path.join(ROOT, LocalCIFAR10.base_folder)
    if os.path.isdir(folder):
        return ROOT
    os.makedirs(folder)
    rng = np.random.default_rng(7)
    names = [name for name, _ in LocalCIFAR10.train_list + LocalCIFAR10.test_list]
    for _index, name in enumerate(names):
        batch = {"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
                 "labels": [int(v) for v in rng.integers(0, 10, count)]}
        with open(os.path.join(folder, name), "wb") as handle:
            pickle.dump(batch, handle)
    meta = {"label_names": ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse",
                            "ship", "truck"]}
    with open(os.path.join(folder, LocalCIFAR10.meta["filename"]), "wb") as handle:
        pickle.dump(meta, handle)
    return ROOT


# ---- pytorch/examples mnist/main.py ---------------------------------------------------------
class MnistNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def mnist_train(model, device, train_loader, optimizer, losses):
    model.train()
    for _batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def mnist_test(model, device, test_loader):
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
    return test_loss, correct


def sec_mnist():
    torch.manual_seed(1)
    use_accel = torch.accelerator.is_available()
    device = torch.accelerator.current_accelerator() if use_accel else torch.device("cpu")
    put("mnist.use_accel", use_accel)
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    root = write_mnist_format("MNIST", train=12, test=8)
    dataset1 = datasets.MNIST(root, train=True, download=False, transform=transform)
    dataset2 = datasets.MNIST(root, train=False, transform=transform)
    train_loader = torch.utils.data.DataLoader(dataset1, batch_size=6, shuffle=True)
    test_loader = torch.utils.data.DataLoader(dataset2, batch_size=8)
    model = MnistNet().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses, tests = [], []
    for _ in range(2):
        mnist_train(model, device, train_loader, optimizer, losses)
        tests.append(mnist_test(model, device, test_loader))
        scheduler.step()
    put("mnist.losses", np.array(losses))
    put("mnist.test_loss", np.array([t[0] for t in tests]))
    put("mnist.correct", np.array([t[1] for t in tests]))
    put("mnist.lr", scheduler.get_last_lr()[0])
    path = os.path.join(ROOT, "mnist_cnn.pt")
    torch.save(model.state_dict(), path)
    state = torch.load(path)
    put("mnist.fc2", state["fc2.weight"])
    put("mnist.keys", "|".join(state))


# ---- pytorch/examples mnist_rnn/main.py -----------------------------------------------------
class RnnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(input_size=28, hidden_size=64, batch_first=True)
        self.batchnorm = nn.BatchNorm1d(64)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, input):
        input = input.reshape(-1, 28, 28)
        output, hidden = self.rnn(input)
        output = output[:, -1, :]
        output = self.batchnorm(output)
        output = self.dropout1(output)
        output = self.fc1(output)
        output = F.relu(output)
        output = self.dropout2(output)
        output = self.fc2(output)
        output = F.log_softmax(output, dim=1)
        return output


def sec_mnist_rnn():
    torch.manual_seed(1)
    root = write_mnist_format("MNIST", train=12, test=8)
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    train_loader = torch.utils.data.DataLoader(
        datasets.MNIST(root, train=True, download=False, transform=transform),
        batch_size=6, shuffle=True)
    test_loader = torch.utils.data.DataLoader(
        datasets.MNIST(root, train=False, transform=transform), batch_size=8, shuffle=True)
    model = RnnNet()
    optimizer = optim.Adadelta(model.parameters(), lr=0.1)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses, tests = [], []
    for _ in range(2):
        mnist_train(model, "cpu", train_loader, optimizer, losses)
        tests.append(mnist_test(model, "cpu", test_loader))
        scheduler.step()
    put("mnist_rnn.losses", np.array(losses))
    put("mnist_rnn.test", np.array(tests))
    put("mnist_rnn.fc2", model.fc2.weight)
    put("mnist_rnn.running_var", model.batchnorm.running_var)


# ---- the CIFAR-10 tutorial (training_a_classifier) ------------------------------------------
class CifarNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def sec_cifar_tutorial():
    torch.manual_seed(0)
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    root = write_cifar()
    trainset = LocalCIFAR10(root=root, train=True, download=False, transform=transform)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=4, shuffle=True,
                                              num_workers=2)
    testset = LocalCIFAR10(root=root, train=False, download=False, transform=transform)
    testloader = torch.utils.data.DataLoader(testset, batch_size=4, shuffle=False)
    classes = trainset.classes
    images, labels = next(iter(trainloader))
    put("cifar_tutorial.grid", torchvision.utils.make_grid(images) / 2 + 0.5)
    put("cifar_tutorial.first_labels", labels)
    net = CifarNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    losses = []
    for _epoch in range(1):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % 8 == 7:
                losses.append(running_loss / 8)
                running_loss = 0.0
    path = os.path.join(ROOT, "cifar_net.pth")
    torch.save(net.state_dict(), path)
    net = CifarNet()
    net.load_state_dict(torch.load(path, weights_only=True))
    correct = 0
    total = 0
    correct_pred = {classname: 0 for classname in classes}
    total_pred = {classname: 0 for classname in classes}
    with torch.no_grad():
        for data in testloader:
            images, labels = data
            outputs = net(images)
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
            for label, prediction in zip(labels, predicted):
                if label == prediction:
                    correct_pred[classes[label]] += 1
                total_pred[classes[label]] += 1
    put("cifar_tutorial.losses", np.array(losses))
    put("cifar_tutorial.accuracy", 100 * correct // total)
    put("cifar_tutorial.per_class", np.array([correct_pred[c] for c in classes]))
    put("cifar_tutorial.totals", np.array([total_pred[c] for c in classes]))
    put("cifar_tutorial.fc3", net.fc3.weight)


# ---- kuangliu/pytorch-cifar main.py (models/lenet.py) ---------------------------------------
class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        out = F.relu(self.conv1(x))
        out = F.max_pool2d(out, 2)
        out = F.relu(self.conv2(out))
        out = F.max_pool2d(out, 2)
        out = out.view(out.size(0), -1)
        out = F.relu(self.fc1(out))
        out = F.relu(self.fc2(out))
        out = self.fc3(out)
        return out


def sec_pytorch_cifar():
    torch.manual_seed(0)
    transform_train = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    ])
    transform_test = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    ])
    root = write_cifar()
    trainset = LocalCIFAR10(root=root, train=True, download=False, transform=transform_train)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=8, shuffle=True)
    testset = LocalCIFAR10(root=root, train=False, download=False, transform=transform_test)
    testloader = torch.utils.data.DataLoader(testset, batch_size=8, shuffle=False)
    net = LeNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=200)
    best_acc = 0
    record = []
    for epoch in range(2):
        net.train()
        train_loss = 0
        correct = 0
        total = 0
        for batch_idx, (inputs, targets) in enumerate(trainloader):  # noqa: B007
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            train_loss += loss.item()
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
        net.eval()
        test_loss = 0
        test_correct = 0
        test_total = 0
        with torch.no_grad():
            for inputs, targets in testloader:
                outputs = net(inputs)
                loss = criterion(outputs, targets)
                test_loss += loss.item()
                _, predicted = outputs.max(1)
                test_total += targets.size(0)
                test_correct += predicted.eq(targets).sum().item()
        acc = 100. * test_correct / test_total
        if acc >= best_acc:
            state = {"net": net.state_dict(), "acc": acc, "epoch": epoch}
            os.makedirs(os.path.join(ROOT, "checkpoint"), exist_ok=True)
            torch.save(state, os.path.join(ROOT, "checkpoint", "ckpt.pth"))
            best_acc = acc
        scheduler.step()
        record.append([train_loss / (batch_idx + 1), 100. * correct / total, test_loss, acc])
    checkpoint = torch.load(os.path.join(ROOT, "checkpoint", "ckpt.pth"))
    resumed = LeNet()
    resumed.load_state_dict(checkpoint["net"])
    put("pytorch_cifar.record", np.array(record))
    put("pytorch_cifar.ckpt_epoch_acc", np.array([checkpoint["epoch"], checkpoint["acc"]]))
    put("pytorch_cifar.resumed_fc3", resumed.fc3.weight)
    put("pytorch_cifar.lr", optimizer.param_groups[0]["lr"])


# ---- d2l: load_data_fashion_mnist + softmax regression (concise) ----------------------------
def load_data_fashion_mnist(batch_size, resize=None):
    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    trans = transforms.Compose(trans)
    root = write_mnist_format("FashionMNIST", train=20, test=10)
    mnist_train = torchvision.datasets.FashionMNIST(root=root, train=True, transform=trans,
                                                    download=False)
    mnist_test = torchvision.datasets.FashionMNIST(root=root, train=False, transform=trans,
                                                   download=False)
    return (torch.utils.data.DataLoader(mnist_train, batch_size, shuffle=True, num_workers=0),
            torch.utils.data.DataLoader(mnist_test, batch_size, shuffle=False, num_workers=0))


class Accumulator:
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def d2l_accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def sec_d2l():
    torch.manual_seed(0)
    train_iter, test_iter = load_data_fashion_mnist(5, resize=20)
    X, y = next(iter(train_iter))
    put("d2l.first_batch", X)
    put("d2l.first_labels", y)
    net = nn.Sequential(nn.Flatten(), nn.Linear(400, 10))

    def init_weights(m):
        if type(m) is nn.Linear:
            nn.init.normal_(m.weight, std=0.01)

    net.apply(init_weights)
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    metrics = []
    for _epoch in range(2):
        if isinstance(net, torch.nn.Module):
            net.train()
        metric = Accumulator(3)
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)  # noqa: E741 (d2l's name)
            trainer.zero_grad()
            l.mean().backward()
            trainer.step()
            metric.add(float(l.sum()), d2l_accuracy(y_hat, y), y.numel())
        net.eval()
        test_metric = Accumulator(2)
        with torch.no_grad():
            for X, y in test_iter:
                test_metric.add(d2l_accuracy(net(X), y), y.numel())
        metrics.append([metric[0] / metric[2], metric[1] / metric[2],
                        test_metric[0] / test_metric[1]])
    put("d2l.metrics", np.array(metrics))
    put("d2l.weight", net[1].weight)


# ---- a DCGAN-style pair on dset.FakeData, written out with vutils.save_image -----------------
# (our own code, session 31, DD3: prog_s9_P1_examples.py's dcgan section runs the same training
# step at 16x16; this one adds torchvision's FakeData, save_image(normalize=True) and a
# generator of five transposed convolutions to 64x64 RGB)
CODE, UNIT = 12, 6


def _init_by_class(layer):
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        torch.nn.init.normal_(layer.weight, 0.0, 0.02)
    elif isinstance(layer, nn.BatchNorm2d):
        torch.nn.init.normal_(layer.weight, 1.0, 0.02)
        torch.nn.init.zeros_(layer.bias)


def _painter():
    """(N, CODE, 1, 1) -> (N, 3, 64, 64): 4x4, then doubled four times."""
    widths = [CODE, 8 * UNIT, 4 * UNIT, 2 * UNIT, UNIT]
    layers = []
    for at, (c_in, c_out) in enumerate(zip(widths, widths[1:])):
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, 1 if at == 0 else 2, 0 if at == 0 else 1,
                                      bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.ConvTranspose2d(UNIT, 3, 4, 2, 1, bias=False), nn.Tanh())


def _critic():
    """(N, 3, 64, 64) -> (N, 1, 1, 1) probabilities: halved four times, then one 4x4 filter."""
    widths = [3, UNIT, 2 * UNIT, 4 * UNIT, 8 * UNIT]
    layers = []
    for at, (c_in, c_out) in enumerate(zip(widths, widths[1:])):
        layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False))
        if at:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers, nn.Conv2d(8 * UNIT, 1, 4, 1, 0, bias=False), nn.Sigmoid())


def sec_dcgan():
    torch.manual_seed(999)
    pictures = dset.FakeData(image_size=(3, 64, 64), size=8, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(pictures, batch_size=4, shuffle=True)
    painter, critic = _painter(), _critic()
    painter.apply(_init_by_class)
    critic.apply(_init_by_class)
    bce = nn.BCELoss()
    probe = torch.randn(4, CODE, 1, 1)
    paint_opt = optim.Adam(painter.parameters(), lr=0.0002, betas=(0.5, 0.999))
    judge_opt = optim.Adam(critic.parameters(), lr=0.0002, betas=(0.5, 0.999))
    folder = os.path.join(ROOT, "gan")
    os.makedirs(folder, exist_ok=True)
    rows = []
    for step, (real, _label) in enumerate(loader):
        n = real.size(0)
        critic.zero_grad()
        said_real = critic(real).view(-1)
        on_real = bce(said_real, torch.ones(n))
        on_real.backward()
        fakes = painter(torch.randn(n, CODE, 1, 1))
        said_fake = critic(fakes.detach()).view(-1)
        on_fake = bce(said_fake, torch.zeros(n))
        on_fake.backward()
        judge_opt.step()
        painter.zero_grad()
        fooled = critic(fakes).view(-1)
        paint_loss = bce(fooled, torch.ones(n))
        paint_loss.backward()
        paint_opt.step()
        rows.append([(on_real + on_fake).item(), paint_loss.item(), said_real.mean().item(),
                     said_fake.mean().item(), fooled.mean().item()])
        if step == 0:
            vutils.save_image(real, f"{folder}/real.png", normalize=True)
            vutils.save_image(painter(probe).detach(), f"{folder}/painted.png", normalize=True)
    torch.save(painter.state_dict(), f"{folder}/painter.pth")
    put("dcgan.record", np.array(rows))
    put("dcgan.real_png", np.asarray(Image.open(f"{folder}/real.png")))
    # (the painted image is float32 through five transposed convolutions and BN, then rounded
    # to uint8: compared as floats with a one-level tolerance)
    put("dcgan.fake_png", np.asarray(Image.open(f"{folder}/painted.png")).astype(np.float64))
    put("dcgan.netG_last", torch.load(f"{folder}/painter.pth")["12.weight"])


def run_sections(chosen=()):
    """Run the ``sec_*`` functions (those named in ``chosen``, or all); return the results."""
    for name, section in list(globals().items()):
        if name.startswith("sec_") and (not chosen or name[4:] in chosen):
            try:
                section()
            except Exception:
                OUT[f"ERR.{name[4:]}"] = np.array(traceback.format_exc())
    return OUT


def main():
    np.savez(sys.argv[1], **run_sections(sys.argv[2:]))


if __name__ == "__main__":
    main()
