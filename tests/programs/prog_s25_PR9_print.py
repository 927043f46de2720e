"""Printed output (PR9, session 25): what public programs show is what they print, so each
section prints as scripts do and its whole stdout is compared as text. print(tensor) for every
dtype and size class (0-d, empty, summarised, sci mode, ints, bools, complex, half / bfloat16,
requires_grad and grad_fn suffixes, lists / tuples / dicts of tensors); set_printoptions
(precision, sci_mode, linewidth, threshold, edgeitems, the three profiles); print(model) over
many layers' extra_repr, containers, repeated blocks, parametrized / weight-normed modules;
print(optimizer), schedulers' and optimizers' state dicts; f-strings and %-formats of 0-d
tensors, torch.Size / dtype / device / finfo / iinfo, parameters and grad_fns, a DataLoader
batch. Tiny sizes; run by prog_s25_PR9_all.py.
"""
# ruff: noqa: UP008, UP031, UP032 - the old-style code (super(Cls, self), %-formats, .format)
# is what these programs test

import math
import re
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def section_print_dtypes() -> None:
    torch.manual_seed(21)
    base = torch.randn(2, 3)
    with printed("pdtype.log"):
        for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8,
                      torch.int16, torch.int32, torch.int64, torch.uint8, torch.bool,
                      torch.complex64, torch.complex128):
            t = (base * 7).to(dtype)
            print(t)
            print(repr(t[0, 0]), t.dtype, t.is_floating_point(), t.is_complex(), t.element_size())
            print(torch.empty(0, dtype=dtype), torch.zeros(2, 0, dtype=dtype))
        print(torch.tensor(3), torch.tensor(-2.5), torch.tensor(True), torch.tensor(1e-8),
              torch.tensor(1 + 2j), torch.tensor(0.1, dtype=torch.float64))
        print(torch.arange(2000), torch.arange(2000.0) / 7, torch.ones(1001, dtype=torch.bool))
        print(torch.arange(120.0).reshape(2, 3, 4, 5) / 3)
        print(torch.randn(40, 40), torch.randint(-1000, 1000, (30, 50)))
        print(torch.tensor([1e-5, 1.0, 1e5]), torch.tensor([1e-4, 1.0]), torch.tensor([1e8, 1.0]),
              torch.tensor([123456.0, 0.5]), torch.tensor([1.0, 2.0, 3.0]),
              torch.tensor([0.001, 0.01]), torch.tensor([-1e-10, 1e-10]), torch.tensor([1e20]))
        print(torch.tensor([float("nan"), 1.5, float("inf")]), torch.tensor([float("nan")]),
              torch.tensor([-float("inf"), 1e9]), torch.tensor([2 ** 31, -5]))
        print(torch.tensor([1.5 + 0.25j, -3j, 1e5 + 1j]), torch.tensor([0.0, -0.0, 1e-3]))
        print(torch.tensor([1.0, 2.0], requires_grad=True), torch.ones(2, requires_grad=True) * 3)
        w = torch.randn(3, requires_grad=True)
        for out in (w.exp(), w.sum(), w[1], w.view(3, 1), w.mean(), w @ w, F.relu(w),
                    torch.sigmoid(w), w.max(), w.unsqueeze(0).expand(2, 3), w.abs().sqrt(),
                    w.to(torch.float64), torch.cat([w, w]), torch.stack([w, w]), w.t(),
                    F.softmax(w, 0), F.log_softmax(w, 0), w.norm(), w.pow(2), w.clamp(0, 1)):
            print(out.grad_fn.name(), "|", str(out).split("grad_fn=")[-1])
        print([torch.tensor(1.0), torch.tensor([1, 2])], (torch.zeros(1),),
              {"a": torch.ones(2), "b": torch.tensor(2)}, [[torch.tensor(0.5)]])
        print(torch.tensor([[1, 2], [3, 4]]).tolist(), torch.tensor(2.5).item(),
              torch.tensor([0.1, 0.2]).numpy(), torch.zeros(3, dtype=torch.uint8).numpy())
        print(torch.tensor([100000, 2]), torch.tensor([[-1, 0], [10, 100]], dtype=torch.int8))
        print(torch.tensor([0.5, 1.25]).half(), torch.tensor([3.0e4, 1e-3]).bfloat16())
        with torch.no_grad():
            print(w * 2)
        print(w.detach(), w.data, nn.Parameter(torch.zeros(2)), torch.randn(2).requires_grad_())


def section_print_options() -> None:
    torch.manual_seed(22)
    # (uniforms: PyTorch's normals of 16+ elements are matched to an ulp, not bit for bit)
    a = (torch.rand(4, 7) - 0.5) * torch.tensor([1.0, 10.0, 100.0, 0.01]).view(4, 1)
    big = torch.arange(60.0).reshape(6, 10) / 3
    small = torch.tensor([1e-6, 2e-3, 0.5])
    with printed("popt.log"):
        try:
            for options in ({"precision": 2}, {"precision": 8}, {"sci_mode": True},
                            {"sci_mode": False}, {"linewidth": 40}, {"linewidth": 200},
                            {"threshold": 10}, {"threshold": 10, "edgeitems": 1},
                            {"edgeitems": 5, "threshold": 20}, {"profile": "short"},
                            {"profile": "full"}, {"precision": 3, "sci_mode": False},
                            {"profile": "default", "precision": 6}):
                torch.set_printoptions(**options)
                print(options)
                print(a)
                print(big)
                print(small, torch.tensor(math.pi), torch.arange(25))
                print(torch.randn(2, 2, dtype=torch.float64), torch.tensor([1.0 + 1j]))
                torch.set_printoptions(profile="default")
                torch.set_printoptions(sci_mode=None)
            torch.set_printoptions(profile="full")
            print(torch.arange(1200).reshape(2, 600)[:, -3:], torch.arange(1001)[-4:])
            torch.set_printoptions(threshold=float("inf"))
            print(torch.zeros(5, 5, dtype=torch.bool))
        finally:
            torch.set_printoptions(profile="default")
            torch.set_printoptions(sci_mode=None)
        np_like = torch.tensor([[0.1234567, 12345.678], [1.0, -2.0]])
        print(np_like, np_like.double(), np_like * 1e-5)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.bn(self.conv(x))) + x


class Scaled(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale
        self.register_buffer("offset", torch.zeros(2))

    def extra_repr(self):
        return f"scale={self.scale}"


class Symmetric(nn.Module):
    def forward(self, w):
        return w.triu() + w.triu(1).t()


def _models(sym: nn.Module) -> list:
    return [
        nn.Sequential(nn.Conv1d(4, 8, 3, stride=2, padding=1, dilation=1, groups=2),
                      nn.Conv2d(3, 6, (3, 5), stride=(2, 1), padding=1,
                                bias=False, padding_mode="reflect"),
                      nn.ConvTranspose2d(6, 3, 4, stride=2, padding=1, output_padding=0),
                      nn.Conv3d(1, 2, 3), nn.ConvTranspose1d(2, 2, 3, stride=2)),
        nn.Sequential(nn.BatchNorm1d(8), nn.BatchNorm2d(8, momentum=None, affine=False),
                      nn.LayerNorm([4, 5], eps=1e-6), nn.GroupNorm(2, 8),
                      nn.InstanceNorm2d(8, affine=True), nn.LocalResponseNorm(3),
                      nn.LayerNorm(5, elementwise_affine=False)),
        nn.Sequential(nn.Dropout(0.3), nn.Dropout2d(), nn.AlphaDropout(0.1),
                      nn.Dropout(p=0.5, inplace=True), nn.Identity(), nn.Flatten(),
                      nn.Flatten(0, -1), nn.Unflatten(1, (2, 5))),
        nn.Sequential(nn.Embedding(10, 4, padding_idx=0), nn.Embedding(5, 3, max_norm=1.0),
                      nn.EmbeddingBag(10, 4, mode="sum"), nn.Linear(4, 2, bias=False),
                      nn.Bilinear(3, 4, 5), nn.Linear(1, 1)),
        nn.Sequential(nn.LSTM(4, 8, num_layers=2, batch_first=True, dropout=0.1,
                              bidirectional=True),
                      nn.GRU(4, 6), nn.RNN(3, 5, nonlinearity="relu"), nn.LSTMCell(3, 4),
                      nn.GRUCell(2, 3), nn.RNNCell(2, 2, bias=False)),
        nn.Sequential(nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.2, inplace=True), nn.ELU(alpha=0.5),
                      nn.SELU(), nn.CELU(), nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(),
                      nn.Mish(), nn.Hardtanh(-2, 2), nn.Hardswish(), nn.Hardsigmoid(),
                      nn.Softplus(beta=2, threshold=10), nn.Softsign(), nn.Tanhshrink(),
                      nn.Threshold(0.1, 20), nn.PReLU(num_parameters=3), nn.Softmax(dim=1),
                      nn.LogSoftmax(dim=-1), nn.Softmin(1), nn.Sigmoid(), nn.Tanh(),
                      nn.GLU(), nn.Hardshrink(0.3), nn.Softshrink(), nn.LogSigmoid(),
                      nn.RReLU(0.1, 0.3)),
        nn.Sequential(nn.MaxPool2d(2), nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
                      nn.AvgPool2d(2, count_include_pad=False), nn.AdaptiveAvgPool2d((1, 1)),
                      nn.AdaptiveMaxPool1d(4), nn.MaxPool1d(2, return_indices=True),
                      nn.AvgPool1d(3), nn.LPPool2d(2, 3), nn.Upsample(scale_factor=2),
                      nn.Upsample(size=(4, 4), mode="bilinear", align_corners=False),
                      nn.PixelShuffle(2), nn.PixelUnshuffle(2), nn.ZeroPad2d(1),
                      nn.ReflectionPad2d((1, 0, 1, 0)), nn.ReplicationPad1d(2),
                      nn.ConstantPad1d(2, 3.5), nn.MaxUnpool2d(2), nn.Fold((4, 4), 2),
                      nn.Unfold(2, stride=2), nn.ChannelShuffle(2)),
        nn.Sequential(nn.MultiheadAttention(8, 2, dropout=0.1, batch_first=True),
                      nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                 batch_first=True),
                      nn.CosineSimilarity(dim=1), nn.PairwiseDistance()),
        nn.Sequential(OrderedDict([("conv1", nn.Conv2d(1, 2, 3)), ("relu1", nn.ReLU()),
                                   ("blocks", nn.Sequential(*[Block(2) for _ in range(3)])),
                                   ("heads", nn.ModuleList([nn.Linear(2, 2) for _ in range(4)])),
                                   ("named", nn.ModuleDict({"cls": nn.Linear(2, 3),
                                                            "box": nn.Linear(2, 4)})),
                                   ("scaled", Scaled(0.5)), ("empty", nn.Sequential()),
                                   ("params", nn.ParameterList([nn.Parameter(torch.ones(2))])),
                                   ("pdict", nn.ParameterDict({"w": nn.Parameter(torch.ones(1))})),
                                   ])),
        nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2)]),
        sym,
        nn.utils.weight_norm(nn.Linear(3, 2)),
        nn.utils.spectral_norm(nn.Linear(3, 2)),
        nn.utils.parametrizations.weight_norm(nn.Conv1d(2, 2, 3)),
        nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 1, 8, 0.0), num_layers=2,
                              enable_nested_tensor=False),
        nn.CrossEntropyLoss(label_smoothing=0.1), nn.MSELoss(reduction="sum"),
        nn.BCEWithLogitsLoss(pos_weight=torch.ones(2)), nn.NLLLoss(ignore_index=0),
        nn.Sequential(nn.Linear(2, 2)).eval(), nn.Module(),
        nn.Transformer(d_model=4, nhead=1, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=8),
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4, 8]), nn.Embedding(5, 2, sparse=True),
        nn.Conv2d(2, 2, 3, dilation=(2, 1), padding_mode="circular", padding=2),
        nn.LazyLinear(3), nn.LazyConv2d(4, 3), nn.SyncBatchNorm(3), nn.Hardtanh(inplace=True),
        nn.Dropout1d(), nn.Dropout3d(0.2), nn.FeatureAlphaDropout(), nn.Softmax2d(),
        nn.AdaptiveAvgPool3d(2), nn.FractionalMaxPool2d(2, output_size=3), nn.CircularPad2d(1),
        nn.ZeroPad1d((1, 2)), nn.Identity(54, unused="x"), nn.CTCLoss(blank=1, zero_infinity=True),
        nn.TripletMarginWithDistanceLoss(margin=2.0), nn.GaussianNLLLoss(full=True),
        nn.HuberLoss(delta=2.0), nn.SmoothL1Loss(beta=0.5), nn.KLDivLoss(log_target=True),
        nn.LSTM(4, 6, proj_size=2), nn.GRU(3, 3, bias=False, num_layers=3),
        nn.Embedding(4, 2, scale_grad_by_freq=True, max_norm=2.0, norm_type=1.0),
        nn.EmbeddingBag(5, 2, mode="max", padding_idx=1),
        nn.MultiheadAttention(4, 2, kdim=3, vdim=5, bias=False, add_bias_kv=True),
        nn.Conv2d(4, 4, 3, groups=4, stride=2),
        nn.ConvTranspose2d(2, 3, 3, dilation=2, output_padding=1, stride=2),
        nn.BatchNorm3d(2, track_running_stats=False), nn.InstanceNorm1d(3),
        nn.LayerNorm(4, bias=False), nn.RMSNorm(4), nn.RMSNorm([2, 3], eps=1e-5),
        nn.Upsample(scale_factor=(2, 3), mode="nearest-exact"), nn.Flatten(start_dim=2),
        nn.Threshold(0.5, 1.0, inplace=True), nn.MaxPool3d(2, 1, 1, 2),
        nn.AvgPool3d(2, divisor_override=3), nn.AdaptiveMaxPool2d((None, 3)), nn.LPPool1d(1.5, 2),
        nn.Hardswish(inplace=True), nn.Hardsigmoid(inplace=True), nn.SiLU(inplace=True),
        nn.CELU(alpha=2.0, inplace=True), nn.MultiLabelSoftMarginLoss(weight=torch.ones(3)),
        nn.MultiMarginLoss(p=2, margin=0.5),
        nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 1, 8), 2, norm=nn.LayerNorm(4)),
        nn.utils.parametrizations.orthogonal(nn.Linear(3, 3)),
        nn.utils.parametrizations.spectral_norm(nn.Linear(2, 2)),
        nn.Sequential(*[nn.Linear(2, 2) for _ in range(3)], nn.ReLU(),
                      *[nn.Linear(2, 2) for _ in range(2)]),
        nn.ModuleList([nn.Sequential(nn.Linear(1, 1), nn.ReLU()) for _ in range(3)]
                      + [nn.Linear(1, 2)]),
        nn.ModuleDict({"a": nn.ModuleList([nn.ReLU(), nn.ReLU()]), "b": nn.Identity()}),
        nn.ParameterList([nn.Parameter(torch.ones(2, 3)),
                          nn.Parameter(torch.ones(1, dtype=torch.float64))]),
        nn.ParameterDict({"x": nn.Parameter(torch.ones(2)),
                          "y": nn.Parameter(torch.zeros(1), requires_grad=False)}),
        nn.Linear(2, 2).to(torch.float64), nn.Conv1d(1, 1, 1).half(),
        nn.Unfold((2, 3), dilation=1, padding=1, stride=2), nn.Fold(4, 2, stride=2),
        nn.UpsamplingNearest2d(scale_factor=2),
    ]


def section_print_models() -> None:
    torch.manual_seed(23)
    sym = nn.Linear(3, 3)
    nn.utils.parametrize.register_parametrization(sym, "weight", Symmetric())
    with printed("pmodel.build"):  # (the deprecation warnings of the old constructors)
        models = _models(sym)
    with printed("pmodel.log"):
        for model in models:
            print(model)
            print(repr(model).count("\n"), len(list(model.parameters())))
        print(sym.parametrizations.weight.original.shape, type(sym).__name__)
        net = models[8]
        for name, p in net.named_parameters():
            print(f"{name:30s} {str(list(p.shape)):12s} {p.requires_grad}")
        for name, m in list(net.named_modules())[:8]:
            print(repr(name), type(m).__name__)
        print(net.blocks[0], net.heads[1:3], net.named.keys(), list(net.named.values())[0])
        print(net.scaled.offset, list(net.state_dict().keys())[:6])


def section_print_optim() -> None:
    torch.manual_seed(24)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    groups = [{"params": model[0].parameters()},
              {"params": model[2].parameters(), "lr": 0.01, "weight_decay": 0.0}]
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    with printed("poptim.log"):
        optimizers = [torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True),
                      torch.optim.Adam(groups, lr=1e-3, weight_decay=1e-4),
                      torch.optim.AdamW(model.parameters(), amsgrad=True),
                      torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9),
                      torch.optim.Adagrad(model.parameters(), lr_decay=0.01),
                      torch.optim.Adadelta(model.parameters()),
                      torch.optim.Adamax(model.parameters()),
                      torch.optim.NAdam(model.parameters()), torch.optim.RAdam(model.parameters()),
                      torch.optim.ASGD(model.parameters()), torch.optim.Rprop(model.parameters()),
                      torch.optim.LBFGS(model.parameters())]
        for opt in optimizers:
            print(opt)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        schedulers = [torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)]
        adam = torch.optim.Adam(model.parameters(), lr=0.01)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(adam, T_max=5, eta_min=1e-4)
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, "min", patience=1)
        for step in range(3):
            loss = F.mse_loss(model(x), y)
            opt.zero_grad()
            adam.zero_grad()
            loss.backward()
            opt.step()
            adam.step()
            schedulers[0].step()
            cosine.step()
            plateau.step(loss.item())
            print(f"step {step}: loss={loss.item():.4f} lr={schedulers[0].get_last_lr()} "
                  f"cos={cosine.get_last_lr()[0]:.6f}")
        print(schedulers[0].state_dict())
        print(cosine.state_dict())
        print({k: v for k, v in plateau.state_dict().items() if k != "best"})
        state = adam.state_dict()
        print(state["param_groups"])
        print(state["state"][0]["step"], state["state"][0]["exp_avg"].shape, len(state["state"]))
        print(opt.state_dict()["state"][1]["momentum_buffer"].shape)
        print(opt.param_groups[0]["lr"], [g["lr"] for g in adam.param_groups])
    put("poptim.adam_avg", state["state"][0]["exp_avg"])


def section_print_format() -> None:
    torch.manual_seed(25)
    loss = torch.tensor(0.123456789)
    acc = torch.tensor(0.875, dtype=torch.float64)
    n = torch.tensor(42)
    with printed("pfmt.log"):
        print(f"{loss:.4f} {loss:.2e} {loss:8.3f}| {acc:.1%} {n:d} {n:5d} {n} {loss}")
        print("%.3f %d %s %r" % (loss, n, loss, n), "%5.1f%%" % (acc * 100))
        print("{:.4f} {} {!r} {:>10}".format(loss, n, acc, str(n.item())))
        print(round(loss.item(), 3), float(loss), int(n), bool(n > 0), loss.item(), acc.item())
        print(str(loss.item()), repr(acc.item()), "%.6g" % loss.float(), format(loss, ".3g"))
        print(f"{torch.tensor(1e-9):.3e}", f"{torch.tensor(-0.0):+.2f}", f"{torch.tensor(7.5):g}")
        print(f"{torch.tensor(True)}", f"{torch.tensor(3.0, dtype=torch.float16):.2f}")
        print(torch.Size([2, 3]), torch.Size([]), torch.zeros(2, 3).size(), tuple(torch.Size([4])))
        print(torch.float32, torch.int64, torch.bool, torch.float16, torch.complex64,
              torch.bfloat16, torch.double, torch.long, torch.half, torch.cfloat)
        print(torch.device("cpu"), repr(torch.device("cpu")), torch.zeros(1).device,
              torch.device("cpu", 0), repr(torch.zeros(1).device))
        print(torch.finfo(torch.float32))
        print(torch.finfo(torch.float16).eps, torch.finfo(torch.float64).max,
              torch.finfo(torch.bfloat16).tiny, torch.finfo().resolution)
        print(torch.iinfo(torch.int32), torch.iinfo(torch.uint8).max, torch.iinfo(torch.int64).min)
        print(torch.get_default_dtype(), torch.float32 == torch.float, torch.is_tensor(loss),
              torch.numel(torch.zeros(2, 3)), torch.tensor([1, 2]).shape[0])
        lin = nn.Linear(3, 2)
        print(lin.weight)
        print(lin.bias.data, lin.bias.grad)
        for name, p in lin.named_parameters():
            # (not type(p).__name__: deltagrad's parameters are marked Tensors, by design)
            print(name, p.size(), p.shape, p.dtype, p.requires_grad, p.is_leaf,
                  isinstance(p, nn.Parameter))
        out = lin(torch.randn(4, 3)).sum()
        print(re.sub("0x[0-9a-f]+", "ADDR", f"{out.grad_fn} {out.grad_fn.next_functions}"),
              out.grad_fn.next_functions[0][0].name(), out.requires_grad)
        out.backward()
        print(lin.weight.grad)
        print(torch.max(torch.tensor([[1.0, 3.0], [4.0, 2.0]]), 1))
        print(torch.tensor([[1.0, 3.0]]).min(dim=1), torch.tensor([3.0, 1.0]).sort())
        print(torch.topk(torch.tensor([1.0, 5.0, 3.0]), 2), torch.tensor([1.0, 2.0]).chunk(2))
        print(torch.tensor([[1, 2], [3, 4]]).unbind(),
              torch.tensor([1, 1, 2]).unique(return_counts=True))
        ds = torch.utils.data.TensorDataset(torch.arange(10.0).view(5, 2), torch.arange(5))
        for i, (xb, yb) in enumerate(torch.utils.data.DataLoader(ds, batch_size=2)):
            print(i, xb, yb, xb.shape)
        batch = next(iter(torch.utils.data.DataLoader([{"x": torch.ones(2), "y": 1}] * 3,
                                                       batch_size=3)))
        print(batch)
        running = None
        for step, value in enumerate(torch.linspace(1.0, 0.2, 6)):
            running = value.item() if running is None else 0.9 * running + 0.1 * value.item()
            print("[%d] loss: %.3f (avg %.3f)" % (step + 1, value, running),
                  end="\r" if step < 5 else "\n")
        print(f"Epoch [{1}/{3}], Step [{10}/{100}], Loss: {loss.item():.4f}", flush=True)


SECTIONS = {
    "print_dtypes": section_print_dtypes, "print_options": section_print_options,
    "print_models": section_print_models, "print_optim": section_print_optim,
    "print_format": section_print_format,
}

if __name__ == "__main__":
    from prog_s25_PR9_harness import run

    run(SECTIONS)
