"""Older repositories' idioms (P1, session 9): pytorch/examples imagenet's AverageMeter and
top-k accuracy, DataParallel on the CPU, Variable, random_split by fractions,
ReduceLROnPlateau, WGAN-GP's gradient penalty with weight clipping, and a half-precision
nn.Linear; section legacy, run by prog_s9_P1_examples.py (the harness is prog_s9_P1_llm.py's).
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s9_P1_llm import put, run_sections


def put_params(prefix: str, module: nn.Module) -> None:
    for name, tensor in module.state_dict().items():
        put(f"{prefix}.{name}", tensor)


def section_legacy(workdir: str) -> None:
    from torch.autograd import Variable
    from torch.utils.data import random_split

    class AverageMeter:  # pytorch/examples imagenet
        def __init__(self):
            self.val = self.avg = self.sum = self.count = 0

        def update(self, val, n=1):
            self.val = val
            self.sum += val * n
            self.count += n
            self.avg = self.sum / self.count

    def accuracy(output, target, topk=(1,)):
        with torch.no_grad():
            maxk = max(topk)
            batch_size = target.size(0)
            _, pred = output.topk(maxk, 1, True, True)
            pred = pred.t()
            correct = pred.eq(target.view(1, -1).expand_as(pred))
            res = []
            for k in topk:
                correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
                res.append(correct_k.mul_(100.0 / batch_size))
            return res

    torch.manual_seed(17)
    dataset = torch.utils.data.TensorDataset(torch.randn(20, 4), torch.randint(0, 3, (20,)))
    train_set, val_set = random_split(dataset, [0.75, 0.25],
                                      generator=torch.Generator().manual_seed(42))
    put("legacy.split", np.array(train_set.indices))
    model = nn.DataParallel(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)))
    put("legacy.dp_keys", ",".join(model.state_dict().keys()))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)
    top1, top2, lrs = AverageMeter(), AverageMeter(), []
    for _epoch in range(3):
        for data, target in torch.utils.data.DataLoader(train_set, batch_size=5, shuffle=True):
            data, target = Variable(data), Variable(target)
            output = model(data)
            loss = F.cross_entropy(output, target)
            acc1, acc2 = accuracy(output, target, topk=(1, 2))
            top1.update(acc1[0], data.size(0))
            top2.update(acc2[0], data.size(0))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        val_x = torch.stack([val_set[i][0] for i in range(len(val_set))])
        val_y = torch.stack([val_set[i][1] for i in range(len(val_set))])
        with torch.no_grad():
            scheduler.step(F.cross_entropy(model(val_x), val_y).item() + 1.0)
        lrs.append(optimizer.param_groups[0]["lr"])
    put("legacy.top", torch.stack([top1.avg, top2.avg]))
    put("legacy.lrs", np.array(lrs))
    put_params("legacy.model", model)

    # WGAN-GP (the gradient penalty: autograd.grad with create_graph) and WGAN weight clipping
    D = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    G = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 4))
    opt_d = optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_g = optim.RMSprop(G.parameters(), lr=5e-4)
    real_data = torch.randn(32, 4) * 0.5 + 1.0
    rows = []
    for step in range(6):
        real = real_data[torch.randint(0, 32, (8,))]
        fake = G(torch.randn(8, 2))
        alpha = torch.rand(8, 1).expand_as(real)
        interpolates = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
        disc_interpolates = D(interpolates)
        gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                                        grad_outputs=torch.ones(disc_interpolates.size()),
                                        create_graph=True, retain_graph=True,
                                        only_inputs=True)[0]
        gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean() * 10
        d_loss = D(fake.detach()).mean() - D(real).mean() + gradient_penalty
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if step % 2 == 1:
            for p in D.parameters():
                p.data.clamp_(-0.5, 0.5)
            g_loss = -D(G(torch.randn(8, 2))).mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
        rows.append([d_loss.item(), gradient_penalty.item()])
    put("legacy.wgan", np.array(rows))
    put_params("legacy.D", D)
    put_params("legacy.G", G)

    # a bfloat16 / float16 nn.Linear (PyTorch rounds x @ w.T + b once)
    for dtype in (torch.bfloat16, torch.float16):
        layer = nn.Linear(8, 4).to(dtype)
        x = torch.randn(3, 8).to(dtype).requires_grad_()
        y = layer(x)
        y.float().pow(2).sum().backward()
        name = str(dtype).rsplit(".", 1)[-1]
        put(f"legacy.{name}.y", y.float())
        put(f"legacy.{name}.grads", [x.grad.float(), layer.weight.grad.float(),
                                     layer.bias.grad.float()])


SECTIONS = {"legacy": section_legacy}


if __name__ == "__main__":
    run_sections(SECTIONS)
