"""Probe program (s12 NF): FLOP counters that watch ``torch.nn.functional`` on four small
models (an MLP, a CNN with batch norm and pooling, an LSTM, a transformer encoder): ptflops'
pytorch backend (it replaces ``F.*`` and ``torch.*`` functions while it counts), thop's
``profile`` (module hooks plus a ``TorchFunctionMode`` for the functional products) and a
function mode of the program's own that records the functions the models call.

Run as ``python prog_s12_NF_flops.py OUT.npz [PARTS]`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged; ``test_s12_NF_flops.py`` compares the two.
"""

import numpy as np
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness


def models():
    """name -> (model, input shape without the batch) with weights from NumPy."""
    torch.manual_seed(0)

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Linear(6, 16)
            layer = torch.nn.TransformerEncoderLayer(16, 4, 32, 0.0, batch_first=True)
            self.encoder = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = torch.nn.Linear(16, 3)

        def forward(self, x):
            return self.head(self.encoder(self.embed(x)).mean(1))

    class Recurrent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(6, 12, batch_first=True)
            self.head = torch.nn.Linear(12, 4)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    nets = {
        "mlp": (torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(),
                                    torch.nn.Linear(32, 16), torch.nn.GELU(),
                                    torch.nn.Dropout(0.1), torch.nn.Linear(16, 4),
                                    torch.nn.Softmax(-1)), (20,)),
        "cnn": (torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
                                    torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                    torch.nn.Conv2d(8, 16, 3), torch.nn.BatchNorm2d(16),
                                    torch.nn.LeakyReLU(), torch.nn.AvgPool2d(2),
                                    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                    torch.nn.Linear(16, 5)), (3, 16, 16)),
        "lstm": (Recurrent(), (5, 6)),
        "encoder": (Encoder(), (7, 6)),
    }
    rng = np.random.default_rng(1)
    for net, _ in nets.values():
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.from_numpy((0.3 * rng.standard_normal(tuple(p.shape)))
                                         .astype(np.float32)))
        net.eval()
    return nets


@part("ptflops", "ptflops")
def ptflops_part():
    from ptflops import get_model_complexity_info

    for name, (net, shape) in models().items():
        macs, params = get_model_complexity_info(net, shape, as_strings=False,
                                                 print_per_layer_stat=False,
                                                 backend="pytorch")
        put(f"ptflops.{name}.macs", np.array(float(macs)))
        put(f"ptflops.{name}.params", np.array(float(params)))


@part("thop", "thop")
def thop_part():
    import thop

    for name, (net, shape) in models().items():
        x = torch.from_numpy(np.random.default_rng(2).standard_normal((2, *shape))
                             .astype(np.float32))
        macs, params = thop.profile(net, inputs=(x,), verbose=False)
        put(f"thop.{name}.macs", np.array(float(macs)))
        put(f"thop.{name}.params", np.array(float(params)))
    # a functional product outside every module: thop's function mode counts it
    a = torch.ones(2, 8, 4)
    b = torch.ones(2, 4, 5)

    class Products(torch.nn.Module):
        def forward(self, x):
            return torch.matmul(x, b) + (x @ b) + torch.bmm(x, b)

    macs, _ = thop.profile(Products(), inputs=(a,), verbose=False)
    put("thop.products.macs", np.array(float(macs)))


@part("mode", "numpy")
def mode_part():
    """The functions, methods and operators a function mode sees when each model runs (by
    name; metadata queries, which deltagrad does not dispatch, left out)."""
    skip = {"__get__", "dim", "size"}

    class Names(torch.overrides.TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.seen = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "?")
            if name not in skip:
                self.seen.append(name)
            return func(*args, **(kwargs or {}))

    for name, (net, shape) in models().items():
        if name == "lstm":
            continue  # (its recurrence: torch.lstm in PyTorch, no public function here)
        x = torch.from_numpy(np.random.default_rng(2).standard_normal((2, *shape))
                             .astype(np.float32))
        with torch.no_grad(), Names() as mode:
            out = net(x)
        put(f"mode.{name}.seen", np.array(" ".join(mode.seen)))
        put(f"mode.{name}.out", out)


if __name__ == "__main__":
    main()
