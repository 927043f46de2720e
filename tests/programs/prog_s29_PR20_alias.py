"""PR20's (session 29) alias checks: the class paths objects print under ``import torch``
(optimizers, schedulers, data classes, pruning methods, parametrizations, GradScaler), an
optimizer saved whole and loaded back, its state loaded into a new one and stepped (the
optimizer classes' own-class checks read those paths), a custom Function's graph node, and
torch.fx's generated code. Prints; run by test_s29_PR20_fixes.py on both libraries.
"""

import io

import torch
import torch.fx
import torch.nn.utils.parametrize as parametrize
import torch.nn.utils.prune as prune
from torch import nn, optim
from torch.utils import data

torch.manual_seed(0)
model = nn.Linear(3, 2)
adamw = optim.AdamW(model.parameters(), lr=0.1)
classes = [optim.SGD, optim.Adam, optim.AdamW, optim.Adafactor, optim.LBFGS, optim.Optimizer,
           optim.lr_scheduler.StepLR, optim.lr_scheduler.LRScheduler, optim.swa_utils.SWALR,
           data.DataLoader, data.TensorDataset, data.Subset, data.RandomSampler,
           data.BatchSampler, data.DistributedSampler, prune.L1Unstructured,
           prune.PruningContainer, parametrize.ParametrizationList, torch.amp.GradScaler,
           nn.utils.rnn.PackedSequence]
for cls in classes:
    print(cls.__module__, cls.__qualname__, cls)
print(type(adamw), type(optim.lr_scheduler.StepLR(adamw, 2)))
for _step in range(2):
    adamw.zero_grad()
    model(torch.ones(1, 3)).sum().backward()
    adamw.step()
buffer = io.BytesIO()
torch.save({"opt": adamw, "state": adamw.state_dict()}, buffer)
buffer.seek(0)
loaded = torch.load(buffer, weights_only=False)
print(type(loaded["opt"]), loaded["opt"].param_groups[0]["decoupled_weight_decay"])
state = loaded["state"]
for group in state["param_groups"]:
    del group["decoupled_weight_decay"]  # (a checkpoint of an older PyTorch)
other = optim.AdamW(model.parameters(), lr=0.5)
other.load_state_dict(state)
print(other.param_groups[0]["decoupled_weight_decay"], other.param_groups[0]["lr"])
other.step()
print(model.weight)


class Double(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


y = Double.apply(torch.ones(2, requires_grad=True))
print(type(y.grad_fn), repr(y.grad_fn).split(" at ")[0], type((y * 1).grad_fn))


class M(nn.Module):
    def forward(self, x):
        return torch.nn.functional.relu(torch.add(x, 1)).to(torch.float64)


traced = torch.fx.symbolic_trace(M())
print(traced.code.strip())
print(traced(torch.tensor([-2.0, 3.0])))
