"""Printing snippets (PR14, session 27), written afresh in the style of answers to "how do I
print a tensor without scientific notation / in full / with N decimals": set_printoptions with
precision / sci_mode / linewidth / threshold / edgeitems / profile, reset to the default; repr
of large, small, nan / inf, complex, integer and boolean tensors; the named tuples of max /
sort / topk / svd; str of Size, dtypes, devices, parameters and modules (custom extra_repr,
nested containers, ModuleDict / ParameterList); f-strings and format specs of tensors. Tiny
sizes, seeded; run by prog_s27_PR14_all.py.
"""
# ruff: noqa: UP031, UP032 - the %-formats and .format calls are what these snippets test

import torch
import torch.nn as nn
from prog_s25_PR9_harness import printed


def section_print_opts() -> None:
    x = torch.tensor([0.000123, 1.5, 12345.678, -3.14159])
    with printed("popts.log"):
        try:
            print(x)
            torch.set_printoptions(precision=2)
            print(x, torch.tensor([1.23456, 2.0]))
            torch.set_printoptions(sci_mode=False)
            print(x, torch.tensor([1e-8, 1.0]), torch.tensor([1e10, 1.0]))
            torch.set_printoptions(precision=6, sci_mode=True)
            print(torch.tensor([1.0, 2.5]), torch.tensor(0.1))
            torch.set_printoptions(profile="default")
            print(x)
            torch.set_printoptions(threshold=5, edgeitems=2)
            print(torch.arange(10), torch.arange(20.0).view(4, 5))
            torch.set_printoptions(profile="full")
            print(torch.arange(1200)[-5:], torch.arange(1100).shape, len(str(torch.arange(1100))))
            torch.set_printoptions(profile="short")
            print(torch.tensor([1.23456, 2.0]), torch.arange(2000).view(40, 50))
            torch.set_printoptions(profile="default", linewidth=30)
            print(torch.arange(12.0) / 3)
            torch.set_printoptions(linewidth=200)
            print(torch.arange(30.0).view(2, 15) / 7)
            torch.set_printoptions(profile="default")
            torch.set_printoptions(precision=3, sci_mode=False)
            print(torch.tensor([1e-5, 3.0]), torch.tensor([[1e6, 0.5]]))
        finally:
            torch.set_printoptions(profile="default", sci_mode=None)
        print(torch.tensor([0.000123, 1.5]))


def section_print_values() -> None:
    with printed("pval.log"):
        print(torch.tensor([1e-4, 5e-5]), torch.tensor([100.0, 1e-3]), torch.tensor([1000.5]))
        print(torch.tensor([1e15, 1.0]), torch.tensor([-1e-20, 0.0]), torch.tensor([1.0e3, 1.0e4]))
        print(torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0]))
        print(torch.tensor([float("nan"), 1e-6]), torch.tensor([float("inf"), 12.5]))
        print(torch.tensor([1 + 1j, 2.5 - 0.5j]), torch.tensor([1e-5 + 1e5j]),
              torch.view_as_complex(torch.tensor([[1.0, 2.0]])))
        print(torch.tensor([[1, -20, 300], [4000, 5, 6]]), torch.tensor([2 ** 40]),
              torch.tensor([-9223372036854775808]))
        print(torch.tensor([True, False]), torch.tensor([[True], [False]]), torch.tensor(False))
        print(torch.tensor([0.1, 0.25], dtype=torch.float64),
              torch.tensor([1, 2], dtype=torch.int32),
              torch.tensor([1, 2], dtype=torch.int16), torch.tensor([1.0], dtype=torch.float16))
        print(torch.zeros(2, 0), torch.empty(0, dtype=torch.long), torch.ones(0, 3).shape)
        print(torch.tensor(7), torch.tensor(7.0), torch.tensor(-0.0), torch.tensor(1e-9))
        print(repr(torch.tensor([1.0, 2.0])), str(torch.tensor([1.0, 2.0])))
        print(torch.arange(6.0).view(1, 2, 3), torch.ones(2, 1, 1, 2))
        print(torch.tensor([123456789.0]), torch.tensor([0.5, 1e8]), torch.tensor([99999.0, 1.0]))
        print(torch.tensor([1.0, 2.0]).half() / 3, torch.tensor([1.0, 3.0]).bfloat16() / 3)
        print(torch.tensor([[0.1234567, -1.0], [100.0, 1e-2]]))
        print(torch.tensor([1.0, 2.0], requires_grad=True).sum(), torch.tensor([3.0]) * 1j)


def section_named_tuples() -> None:
    torch.manual_seed(33)
    x = torch.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    with printed("ntup.log"):
        print(x.max(dim=1))
        print(torch.min(x, 0))
        print(x.sort(dim=1))
        print(x.topk(1))
        res = torch.max(x, 1)
        print(res.values, res[1], len(res), type(res).__name__)
        vals, idx = x.median(dim=1)
        print(vals, idx)
        print(x.kthvalue(1, dim=1))
        print(torch.aminmax(x))
        print(torch.std_mean(x, dim=1))
        print(torch.var_mean(x, 0, unbiased=False))
        print(torch.linalg.eigh(torch.tensor([[2.0, 0.0], [0.0, 1.0]])))
        print(torch.linalg.qr(torch.eye(2)).Q, torch.linalg.slogdet(torch.eye(2) * 2))
        print(torch.frexp(torch.tensor([8.0, 0.75])))
        print(torch.histogram(torch.tensor([1.0, 2.0, 2.5]), bins=2))
        print(torch.unique(torch.tensor([2, 1, 2]), return_counts=True))
        print(torch.nn.utils.rnn.pack_padded_sequence(torch.ones(2, 3, 1), torch.tensor([3, 1]),
                                                      batch_first=True).batch_sizes)


class Scaler(nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor
        self.inner = nn.Linear(2, 2)

    def extra_repr(self) -> str:
        return f"factor={self.factor}"

    def forward(self, x):
        return self.inner(x) * self.factor


def section_print_objects() -> None:
    torch.manual_seed(34)
    with printed("pobj.log"):
        x = torch.zeros(2, 3, 4)
        print(x.shape, x.size(), tuple(x.shape), list(x.shape), x.shape[1:], x.size(-1))
        print(str(x.shape), repr(torch.Size([5])), torch.Size([]), x.shape == (2, 3, 4))
        print(x.dtype, str(x.dtype), repr(torch.int64), torch.float, torch.double, torch.long)
        print(x.device, str(x.device), repr(torch.device("cpu")), torch.device("cpu", 0),
              torch.device("cuda:1"), x.device.type, x.device.index, x.is_cuda)
        print(nn.Parameter(torch.tensor([1.0, 2.0])))
        print(nn.Parameter(torch.zeros(2), requires_grad=False))
        model = nn.Sequential(Scaler(0.5), nn.ReLU(inplace=True), nn.Dropout(p=0.1),
                              nn.ModuleList([nn.Linear(2, 3), nn.Identity()]),
                              nn.ModuleDict({"head": nn.Linear(3, 1), "act": nn.Sigmoid()}))
        print(model)
        params = nn.ParameterList([nn.Parameter(torch.ones(2)), nn.Parameter(torch.zeros(3, 1))])
        print(params)
        print(nn.ParameterDict({"a": nn.Parameter(torch.ones(1))}))
        print(nn.Conv2d(3, 8, kernel_size=(3, 5), stride=2, padding="same" if False else 1,
                        dilation=2, groups=1, bias=False, padding_mode="reflect"))
        print(nn.LSTM(4, 8, num_layers=2, batch_first=True, dropout=0.2, bidirectional=True))
        print(nn.Embedding(10, 3, padding_idx=0, max_norm=1.0), nn.LayerNorm([4, 4], eps=1e-6))
        print(nn.MaxPool2d(2), nn.AvgPool2d(3, stride=1, padding=1), nn.AdaptiveAvgPool2d((1, 1)))
        print(nn.BatchNorm1d(5, momentum=None), nn.GroupNorm(2, 4), nn.LeakyReLU(0.2, True))
        print(nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                             dim_feedforward=16).encoder.layers[0].self_attn)
        print(nn.CrossEntropyLoss(label_smoothing=0.1), nn.MSELoss(reduction="sum"),
              nn.Softmax(dim=1))
        print(nn.Upsample(scale_factor=2, mode="nearest"), nn.Flatten(1, -1),
              nn.Unflatten(1, (2, 2)))
        print(torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.01))


def section_format_specs() -> None:
    torch.manual_seed(35)
    loss = torch.tensor(0.123456)
    with printed("pfmt2.log"):
        print(f"loss: {loss:.4f}", f"{loss.item():.2e}", "loss %.3f" % loss, "{:.1f}".format(loss))
        print(f"{loss}", f"{torch.tensor(3)}", f"{torch.tensor([1.5, 2.5])}")
        print(f"epoch {1:03d} | loss {loss.item():8.5f} | acc {torch.tensor(0.75) * 100:.1f}%")
        print(str(loss), repr(loss), loss.item(), float(loss), loss.tolist())
        print(f"{torch.tensor(2):5d}|", f"{torch.tensor(7):x}", format(torch.tensor(1.0), ".3f"))
        t = torch.tensor([0.1, 0.2, 0.3])
        print(t.tolist(), [round(v, 2) for v in t.tolist()], t.numpy().round(2))
        print(", ".join(f"{v:.2f}" for v in t), t.sum().item(), f"{t.mean():.6f}")
        try:
            print(f"{t:.2f}")
        except TypeError as err:
            print("TypeError", "unsupported format string" in str(err))
        print("{}".format(torch.ones(2)), "%s" % torch.tensor(1), "%d" % torch.tensor(4))
        grad = torch.ones(2, requires_grad=True) * 2
        print(f"{grad}", grad.detach(), grad.data, grad.tolist())


SECTIONS = {
    "print_opts": section_print_opts, "print_values": section_print_values,
    "named_tuples": section_named_tuples, "print_objects": section_print_objects,
    "format_specs": section_format_specs,
}
