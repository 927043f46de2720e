"""Modules for tests/autograd/test_s31_BR26_fixes.py's forward-AD module sweep (s31 BR26): each
entry builds a module from the library given (torch or deltagrad, the same seeded weights) and
names its input shape. ``tangents(lib, name, mode)`` runs one module on a dual input three ways:
"grad" (grad mode), "nograd" (under no_grad) and "derived" (the input a result made under
no_grad from the dual, then the module in grad mode), and returns (output, its tangent,
output.requires_grad) as NumPy, or the exception's type name."""
from __future__ import annotations

import numpy as np

# name -> (builder(nn), input shape, call(module, x))
MODULES = {
    "linear": (lambda nn: nn.Linear(5, 3), (4, 5), None),
    "bilinear": (lambda nn: nn.Bilinear(5, 5, 3), (4, 5), lambda m, x: m(x, x * 2)),
    "conv1d": (lambda nn: nn.Conv1d(2, 3, 3, padding=1), (2, 2, 7), None),
    "conv2d": (lambda nn: nn.Conv2d(2, 3, 3, stride=2), (2, 2, 7, 7), None),
    "conv_transpose2d": (lambda nn: nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4), None),
    "batch_norm_train": (lambda nn: nn.BatchNorm1d(5), (6, 5), None),
    "batch_norm_eval": (lambda nn: nn.BatchNorm2d(2).eval(), (2, 2, 3, 3), None),
    "layer_norm": (lambda nn: nn.LayerNorm(5), (3, 5), None),
    "group_norm": (lambda nn: nn.GroupNorm(2, 4), (2, 4, 3), None),
    "instance_norm": (lambda nn: nn.InstanceNorm1d(3, affine=True), (2, 3, 5), None),
    "max_pool2d": (lambda nn: nn.MaxPool2d(2), (1, 2, 4, 4), None),
    "avg_pool1d": (lambda nn: nn.AvgPool1d(3, stride=2), (2, 3, 7), None),
    "adaptive_avg_pool2d": (lambda nn: nn.AdaptiveAvgPool2d(2), (1, 2, 5, 5), None),
    "upsample_bilinear": (lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"),
                          (1, 1, 3, 3), None),
    "pixel_shuffle": (lambda nn: nn.PixelShuffle(2), (1, 4, 2, 2), None),
    "softmax": (lambda nn: nn.Softmax(-1), (3, 4), None),
    "log_softmax": (lambda nn: nn.LogSoftmax(0), (3, 4), None),
    "gelu": (lambda nn: nn.GELU(), (3, 4), None),
    "elu_inplace": (lambda nn: nn.ELU(inplace=True), (3, 4), lambda m, x: m(x * 1)),
    "mlp": (lambda nn: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)), (5, 4), None),
    "rnn": (lambda nn: nn.RNN(4, 3), (5, 2, 4), lambda m, x: m(x)[0]),
    "gru": (lambda nn: nn.GRU(4, 3, num_layers=2), (5, 2, 4), lambda m, x: m(x)[0]),
    "gru_cell": (lambda nn: nn.GRUCell(4, 3), (2, 4), None),
    "lstm_cell": (lambda nn: nn.LSTMCell(4, 3), (2, 4), lambda m, x: m(x)[1]),
    "lstm": (lambda nn: nn.LSTM(4, 3, num_layers=2), (5, 2, 4), lambda m, x: m(x)[0]),
    "lstm_proj_bidirectional": (lambda nn: nn.LSTM(4, 3, proj_size=2, bidirectional=True),
                                (5, 2, 4), lambda m, x: m(x)[0]),
    "mha_train": (lambda nn: nn.MultiheadAttention(4, 2), (3, 2, 4), lambda m, x: m(x, x, x)[0]),
    "mha_eval_batch_first": (lambda nn: nn.MultiheadAttention(4, 2, batch_first=True).eval(),
                             (3, 2, 4), lambda m, x: m(x, x, x, need_weights=False)[0]),
    "mha_eval": (lambda nn: nn.MultiheadAttention(4, 2).eval(), (3, 2, 4),
                 lambda m, x: m(x, x, x)[0]),
    "mse_loss": (lambda nn: nn.MSELoss(), (3, 4), lambda m, x: m(x, x.detach() * 0.5 + 1)),
    "cross_entropy": (lambda nn: nn.CrossEntropyLoss(), (3, 4),
                      lambda m, x: m(x, (x.detach() * 0 + 0.25))),
}


def tangents(lib, name, mode, seed=0, dtype="float64"):
    """(output, tangent, output.requires_grad) of module ``name`` in ``mode``, as NumPy (the
    tangent None where there is none), or the raised exception's type name."""
    build, shape, call = MODULES[name]
    rng = np.random.default_rng(seed)
    lib.manual_seed(seed)
    module = build(lib.nn).to(getattr(lib, dtype))
    for p in module.parameters():  # (the same weights in both libraries)
        with lib.no_grad():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape))))
    x = lib.tensor(rng.standard_normal(shape), dtype=getattr(lib, dtype))
    t = lib.tensor(rng.standard_normal(shape), dtype=getattr(lib, dtype))
    fw = lib.autograd.forward_ad
    call = call or (lambda m, v: m(v))
    try:
        with fw.dual_level():
            d = fw.make_dual(x, t)
            if mode == "derived":
                with lib.no_grad():
                    d = d * 1.0
            with lib.set_grad_enabled(mode != "nograd"):
                out = call(module, d)
            primal, tangent = fw.unpack_dual(out)
            return (primal.detach().numpy(), None if tangent is None else
                    tangent.detach().numpy(), out.requires_grad)
    except Exception as exc:  # noqa: BLE001 - compared by type
        return type(exc).__name__
