"""Probe program (s11 LA): optimizer libraries and model tools on torch tensors, used the way
their READMEs do, seeded and small: pytorch_optimizer (a table of its optimizers, its
wrappers and schedulers), madgrad (dense and sparse), dadaptation, prodigyopt, came_pytorch,
adabelief_pytorch, ranger21, ptflops and thop. Every number goes to an .npz.

Run as ``python prog_s11_LA_libs.py OUT.npz [PARTS]`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s11_LA_libs.py`` compares the two. PARTS is a
comma-separated subset of the part names (all by default). An exception in a part is recorded
as ``ERR.<part>`` (the other parts still run).
"""

import numpy as np
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness


def data():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((32, 6)).astype(np.float32))
    y = torch.from_numpy(rng.standard_normal((32, 2)).astype(np.float32))
    return x, y


def model():
    """A small MLP whose weights come from NumPy (both libraries start from the same
    numbers whatever their seeded inits)."""
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy((0.5 * rng.standard_normal(tuple(p.shape)))
                                     .astype(np.float32)))
    return net


def train(prefix, make_optimizer, steps=6, closure=False, create_graph=False, scheduler=None):
    """``steps`` full-batch steps of an MSE regression; records the losses and the final
    parameters under ``prefix``."""
    torch.manual_seed(0)
    x, y = data()
    net = model()
    optimizer = make_optimizer(net.parameters())
    losses = []
    for _ in range(steps):
        def compute():
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(net(x), y)
            loss.backward(create_graph=create_graph)
            return loss
        if closure:
            loss = optimizer.step(compute)
        else:
            loss = compute()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(float(loss))
    put(f"{prefix}.losses", np.array(losses))
    for name, p in net.named_parameters():
        put(f"{prefix}.{name}", p)
    return optimizer


# ---------------------------------------------------------------------------- pytorch_optimizer

PO_TABLE = {
    "adabelief": {"lr": 1e-2}, "adabound": {"lr": 1e-2}, "adai": {"lr": 1e-1},
    "adamp": {"lr": 1e-2}, "adan": {"lr": 1e-2}, "adopt": {"lr": 1e-2},
    "ademamix": {"lr": 1e-2}, "came": {"lr": 1e-2}, "diffgrad": {"lr": 1e-2},
    "lamb": {"lr": 1e-2}, "lion": {"lr": 1e-3}, "madgrad": {"lr": 1e-2},
    "novograd": {"lr": 1e-2}, "pnm": {"lr": 1e-2}, "radam": {"lr": 1e-2},
    "ranger": {"lr": 1e-2}, "sophiah": {"lr": 1e-2}, "adahessian": {"lr": 1e-1},
    "dadaptadam": {"lr": 1.0}, "prodigy": {"lr": 1.0}, "sm3": {"lr": 1e-1},
    "tiger": {"lr": 1e-3}, "schedulefreeadamw": {"lr": 1e-2},
    "adafactor": {"lr": 1e-2}, "adashift": {"lr": 1e-2}, "aggmo": {"lr": 1e-2},
    "qhadam": {"lr": 1e-2}, "yogi": {"lr": 1e-2}, "lars": {"lr": 1e-2},
}
# (Not SOAP: its preconditioners of a batch's gradients are rank-deficient, and eigh's basis of
# their null space is whichever one LAPACK returns: PyTorch's and NumPy's differ, so do the
# steps, by ~1e-1, both right.)
HESSIAN = {"sophiah", "adahessian"}  # (Hutchinson's estimate: create_graph and a closure)


@part("pytorch_optimizer", "pytorch_optimizer")
def pytorch_optimizer_part():
    import pytorch_optimizer as po

    for name, options in PO_TABLE.items():
        cls = po.load_optimizer(name)
        train(f"pytorch_optimizer.{name}", lambda params, cls=cls, options=options:
              cls(params, **options), create_graph=name in HESSIAN)
    # a wrapper (Lookahead around AdamW) and gradient centralization
    train("pytorch_optimizer.lookahead", lambda params: po.Lookahead(
        torch.optim.AdamW(params, lr=1e-2), k=3, alpha=0.5))
    train("pytorch_optimizer.adamp_gc", lambda params: po.load_optimizer("adamp")(
        params, lr=1e-2, use_gc=True))
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1e-1)
    cosine = po.CosineAnnealingWarmupRestarts(optimizer, first_cycle_steps=6, max_lr=0.1,
                                              min_lr=0.001, warmup_steps=2)
    lrs = []
    for _ in range(10):
        optimizer.step()
        cosine.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    put("pytorch_optimizer.cosine_warmup_lrs", np.array(lrs))
    # a sparse gradient through its SM3 (torch.zeros_like of a sparse tensor, S.new(...))
    weight = torch.nn.Parameter(torch.ones(4, 3))
    sm3 = po.load_optimizer("sm3")([weight], lr=0.1, momentum=0.0)
    for step in range(3):
        weight.grad = (torch.arange(12.0).reshape(4, 3) * (step + 1) / 10
                       * torch.tensor([1.0, 0.0, 1.0, 0.0])[:, None]).to_sparse()
        sm3.step()
    put("pytorch_optimizer.sm3_sparse", weight)


# ---------------------------------------------------------------------------------- madgrad

@part("madgrad", "madgrad")
def madgrad_part():
    from madgrad import MADGRAD, MirrorMADGRAD

    train("madgrad.madgrad", lambda params: MADGRAD(params, lr=1e-2))
    train("madgrad.momentum0", lambda params: MADGRAD(params, lr=1e-2, momentum=0.0,
                                                      weight_decay=1e-3))
    train("madgrad.decoupled", lambda params: MADGRAD(params, lr=1e-2, weight_decay=1e-2,
                                                      decouple_decay=True))
    train("madgrad.mirror", lambda params: MirrorMADGRAD(params, lr=1e-2))
    # the sparse path (sparse_mask, dense.add_(sparse), a masked copy's values updated)
    dense = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 12).reshape(4, 3))
    sparse = torch.nn.Parameter(dense.detach().clone())
    opt_dense = MADGRAD([dense], lr=1e-2, momentum=0.0)
    opt_sparse = MADGRAD([sparse], lr=1e-2, momentum=0.0)
    for step in range(4):
        grad = torch.arange(12.0).reshape(4, 3) / 7 - step
        grad[step % 4] = 0.0
        dense.grad = grad.clone()
        sparse.grad = grad.to_sparse()
        opt_dense.step()
        opt_sparse.step()
    put("madgrad.sparse.dense", dense)
    put("madgrad.sparse.sparse", sparse)


# --------------------------------------------------------------- dadaptation, prodigy, others

@part("dadaptation", "dadaptation")
def dadaptation_part():
    import dadaptation

    train("dadaptation.adam", lambda params: dadaptation.DAdaptAdam(params, lr=1.0))
    train("dadaptation.adam_decouple", lambda params: dadaptation.DAdaptAdam(
        params, lr=1.0, weight_decay=1e-2, decouple=True))
    train("dadaptation.sgd", lambda params: dadaptation.DAdaptSGD(params, lr=1.0,
                                                                  momentum=0.9))
    train("dadaptation.adagrad", lambda params: dadaptation.DAdaptAdaGrad(params, lr=1.0))
    train("dadaptation.adan", lambda params: dadaptation.DAdaptAdan(params, lr=1.0))
    opt = train("dadaptation.lion", lambda params: dadaptation.DAdaptLion(params, lr=1.0))
    put("dadaptation.lion.d", np.array(float(opt.param_groups[0]["d"])))


@part("prodigyopt", "prodigyopt")
def prodigy_part():
    from prodigyopt import Prodigy

    opt = train("prodigyopt.default", lambda params: Prodigy(params, lr=1.0))
    put("prodigyopt.default.d", np.array(float(opt.param_groups[0]["d"])))
    train("prodigyopt.options", lambda params: Prodigy(
        params, lr=1.0, weight_decay=1e-2, decouple=True, use_bias_correction=True,
        safeguard_warmup=True, d_coef=0.5))
    # its state survives a state_dict round trip
    x, y = data()
    net = model()
    opt = Prodigy(net.parameters(), lr=1.0)
    for _ in range(2):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    clone = Prodigy(model().parameters(), lr=1.0)
    clone.load_state_dict(opt.state_dict())
    put("prodigyopt.loaded.d", np.array(float(clone.param_groups[0]["d"])))


@part("came_pytorch", "came_pytorch")
def came_part():
    from came_pytorch import CAME

    train("came_pytorch.came", lambda params: CAME(params, lr=2e-3, weight_decay=1e-2,
                                                   betas=(0.9, 0.999, 0.9999),
                                                   eps=(1e-30, 1e-16)))


@part("adabelief_pytorch", "adabelief_pytorch")
def adabelief_part():
    from adabelief_pytorch import AdaBelief

    train("adabelief_pytorch.default", lambda params: AdaBelief(
        params, lr=1e-2, eps=1e-16, betas=(0.9, 0.999), weight_decouple=True,
        rectify=False, print_change_log=False))
    train("adabelief_pytorch.rectify", lambda params: AdaBelief(
        params, lr=1e-2, eps=1e-12, weight_decay=1e-3, rectify=True, amsgrad=True,
        print_change_log=False))


@part("ranger21", "ranger21")
def ranger21_part():
    from ranger21 import Ranger21

    train("ranger21.default", lambda params: Ranger21(
        params, lr=1e-2, num_epochs=2, num_batches_per_epoch=6, num_warmup_iterations=2,
        warmdown_min_lr=1e-3), steps=8)
    train("ranger21.madgrad", lambda params: Ranger21(
        params, lr=1e-2, num_epochs=2, num_batches_per_epoch=6, use_madgrad=True,
        num_warmup_iterations=2, use_adaptive_gradient_clipping=False), steps=8)


@part("ptflops", "ptflops")
def ptflops_part():
    from ptflops import get_model_complexity_info

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(
                torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ELU(),
                torch.nn.Upsample(scale_factor=2), torch.nn.Conv2d(8, 16, 3, stride=2))
            self.rnn = torch.nn.LSTM(16, 12, batch_first=True)
            self.head = torch.nn.Sequential(torch.nn.Linear(12, 10), torch.nn.Dropout(0.1))

        def forward(self, x):
            features = self.features(x).mean((2, 3))
            out, _ = self.rnn(features[:, None, :].repeat(1, 4, 1))
            return self.head(out[:, -1])

    macs, params = get_model_complexity_info(Net(), (3, 16, 16), as_strings=False,
                                             print_per_layer_stat=False, backend="pytorch")
    put("ptflops.pytorch.macs", np.array(float(macs)))
    put("ptflops.pytorch.params", np.array(float(params)))
    # (ReLU, the pools and the norms: PyTorch's modules call torch.nn.functional's
    # functions, which ptflops patches, so it counts them twice; deltagrad's modules call
    # them the same way since session 12, and count the same)
    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.LeakyReLU(),
                              torch.nn.ConvTranspose2d(4, 2, 2, stride=2),
                              torch.nn.GroupNorm(1, 2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.BatchNorm2d(2), torch.nn.AvgPool2d(1),
                              torch.nn.Flatten(), torch.nn.Linear(2 * 14 * 14, 3))
    macs, params = get_model_complexity_info(cnn, (3, 16, 16), as_strings=False,
                                             print_per_layer_stat=False, backend="pytorch")
    put("ptflops.cnn.macs", np.array(float(macs)))
    put("ptflops.cnn.params", np.array(float(params)))


@part("thop", "thop")
def thop_part():
    import thop

    # (profile_origin, the module-hook counter; thop.profile's TorchFunctionMode counter is
    # compared in test_s12_NF_flops.py)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, groups=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU6(),
        torch.nn.ZeroPad2d(1), torch.nn.ConvTranspose2d(8, 4, 2, stride=2),
        torch.nn.InstanceNorm2d(4, affine=True), torch.nn.AvgPool2d(2),
        torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(16, 6),
        torch.nn.Dropout(0.1), torch.nn.Softmax(-1))
    macs, params = thop.profile_origin(net, inputs=(torch.randn(2, 3, 12, 12),),
                                       verbose=False)
    put("thop.cnn.macs", np.array(float(macs)))
    put("thop.cnn.params", np.array(float(params)))
    rnn = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True)
    macs, params = thop.profile_origin(rnn, inputs=(torch.randn(3, 4, 5),), verbose=False)
    put("thop.lstm.macs", np.array(float(macs)))
    put("thop.lstm.params", np.array(float(params)))
    put("thop.format", np.array(str(thop.clever_format([macs, params], "%.3f"))))


if __name__ == "__main__":
    main()
