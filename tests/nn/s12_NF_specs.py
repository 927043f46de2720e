"""Every layer class of torch.nn with a small seeded call (session 12, NF): shared by the
tests that pass a recording ``__torch_function__`` subclass through a layer, patch the
``nn.functional`` function it calls, and count its FLOPs, against PyTorch.

``SPECS[name](lib)`` builds ``(layer, args)`` for ``lib`` (torch or deltagrad) from the same
seeded arrays, so that the two sides run the same call; the first argument is the one a test
makes a subclass instance.
"""

from __future__ import annotations

import numpy as np

# Classes with no forward of their own to compare (containers, abstract bases).
NO_FORWARD = {
    "Module": "abstract", "ModuleList": "container", "ModuleDict": "container",
    "ParameterList": "container", "ParameterDict": "container", "Container": "container",
    "RNNBase": "abstract base", "RNNCellBase": "abstract base",
}


def _arr(*shape, seed=0, low=None):
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.abs(values) + low if low is not None else values


def _t(lib, array):
    return lib.tensor(array)


def _x(*shape, seed=0, low=None):
    return lambda lib: _t(lib, _arr(*shape, seed=seed, low=low))


def _ints(high, *shape, seed=1):
    return lambda lib: lib.tensor(np.random.default_rng(seed).integers(0, high, shape))


def _probs(*shape, seed=2):
    return lambda lib: lib.tensor(np.random.default_rng(seed).uniform(0.05, 0.95, shape)
                                  .astype(np.float32))


def _sign(*shape, seed=3):
    return lambda lib: lib.tensor(np.where(np.random.default_rng(seed).random(shape) < 0.5,
                                           -1.0, 1.0).astype(np.float32))


def _spec(name, ctor_args=(), ctor_kwargs=None, inputs=(), train=True):
    """(layer name, constructor arguments, input makers): the layer is seeded with
    ``manual_seed(0)`` on each side and gets its parameters copied from numpy so that both
    sides hold the same values."""
    return name, tuple(ctor_args), dict(ctor_kwargs or {}), tuple(inputs), train


X3 = _x(2, 3, 5)
X4 = _x(2, 3, 6, 6)
X5 = _x(1, 2, 4, 4, 4)
V = _x(4, 6)
TABLE = [
    # activations
    *[_spec(n, inputs=[V]) for n in (
        "ReLU", "ReLU6", "ELU", "CELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
        "Hardsigmoid", "Hardswish", "Hardtanh", "Hardshrink", "Softshrink", "Softsign",
        "Softplus", "Tanhshrink", "LogSigmoid", "LeakyReLU", "PReLU", "Identity",
        "Flatten")],
    _spec("RReLU", inputs=[V], train=False),
    _spec("Threshold", (0.1, 20.0), inputs=[V]),
    _spec("GLU", inputs=[V]),
    _spec("Softmax", (1,), inputs=[V]),
    _spec("Softmin", (1,), inputs=[V]),
    _spec("LogSoftmax", (1,), inputs=[V]),
    _spec("Softmax2d", inputs=[X4]),
    _spec("MultiheadAttention", (6, 2), {"batch_first": True},
          inputs=[_x(2, 3, 6), _x(2, 3, 6, seed=1), _x(2, 3, 6, seed=2)]),
    # linear, embedding, dropout
    _spec("Linear", (6, 3), inputs=[V]),
    _spec("LazyLinear", (3,), inputs=[V]),
    _spec("Bilinear", (6, 5, 3), inputs=[V, _x(4, 5, seed=1)]),
    _spec("Embedding", (10, 4), inputs=[_ints(10, 2, 3)]),
    _spec("EmbeddingBag", (10, 4), inputs=[_ints(10, 2, 3)]),
    *[_spec(n, (0.5,), inputs=[X4], train=False) for n in (
        "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
        "FeatureAlphaDropout")],
    # convolutions
    _spec("Conv1d", (3, 4, 3), inputs=[X3]),
    _spec("Conv2d", (3, 4, 3), inputs=[X4]),
    _spec("Conv3d", (2, 3, 3), inputs=[X5]),
    _spec("ConvTranspose1d", (3, 4, 3), inputs=[X3]),
    _spec("ConvTranspose2d", (3, 4, 3), inputs=[X4]),
    _spec("ConvTranspose3d", (2, 3, 3), inputs=[X5]),
    _spec("LazyConv1d", (4, 3), inputs=[X3]),
    _spec("LazyConv2d", (4, 3), inputs=[X4]),
    _spec("LazyConv3d", (3, 3), inputs=[X5]),
    _spec("LazyConvTranspose1d", (4, 3), inputs=[X3]),
    _spec("LazyConvTranspose2d", (4, 3), inputs=[X4]),
    _spec("LazyConvTranspose3d", (3, 3), inputs=[X5]),
    _spec("Fold", ((4, 5), (2, 2)), inputs=[_x(2, 12, 12)]),
    _spec("Unfold", ((2, 2),), inputs=[X4]),
    # pooling
    _spec("MaxPool1d", (2,), inputs=[X3]),
    _spec("MaxPool2d", (2,), inputs=[X4]),
    _spec("MaxPool3d", (2,), inputs=[X5]),
    _spec("AvgPool1d", (2,), inputs=[X3]),
    _spec("AvgPool2d", (2,), inputs=[X4]),
    _spec("AvgPool3d", (2,), inputs=[X5]),
    _spec("LPPool1d", (2, 2), inputs=[X3]),
    _spec("LPPool2d", (2, 2), inputs=[X4]),
    _spec("LPPool3d", (2, 2), inputs=[X5]),
    _spec("AdaptiveAvgPool1d", (2,), inputs=[X3]),
    _spec("AdaptiveAvgPool2d", (2,), inputs=[X4]),
    _spec("AdaptiveAvgPool3d", (2,), inputs=[X5]),
    _spec("AdaptiveMaxPool1d", (2,), inputs=[X3]),
    _spec("AdaptiveMaxPool2d", (2,), inputs=[X4]),
    _spec("AdaptiveMaxPool3d", (2,), inputs=[X5]),
    _spec("FractionalMaxPool2d", (2,), {"output_size": 3}, inputs=[X4]),
    _spec("FractionalMaxPool3d", (2,), {"output_size": 2}, inputs=[X5]),
    _spec("MaxUnpool1d", (2,), inputs=[X3, lambda lib: lib.nn.functional.max_pool1d(
        _t(lib, _arr(2, 3, 5)), 2, return_indices=True)[1]]),
    _spec("MaxUnpool2d", (2,), inputs=[_x(2, 3, 3, 3), lambda lib: lib.nn.functional.max_pool2d(
        _t(lib, _arr(2, 3, 6, 6)), 2, return_indices=True)[1]]),
    _spec("MaxUnpool3d", (2,), inputs=[_x(1, 2, 2, 2, 2), lambda lib: lib.nn.functional
                                       .max_pool3d(_t(lib, _arr(1, 2, 4, 4, 4)), 2,
                                                   return_indices=True)[1]]),
    # normalization
    _spec("BatchNorm1d", (3,), inputs=[X3]),
    _spec("BatchNorm2d", (3,), inputs=[X4]),
    _spec("BatchNorm3d", (2,), inputs=[X5]),
    _spec("LazyBatchNorm1d", inputs=[X3]),
    _spec("LazyBatchNorm2d", inputs=[X4]),
    _spec("LazyBatchNorm3d", inputs=[X5]),
    _spec("SyncBatchNorm", (3,), inputs=[X4], train=False),
    _spec("InstanceNorm1d", (3,), inputs=[X3]),
    _spec("InstanceNorm2d", (3,), {"affine": True}, inputs=[X4]),
    _spec("InstanceNorm3d", (2,), inputs=[X5]),
    _spec("LazyInstanceNorm1d", inputs=[X3]),
    _spec("LazyInstanceNorm2d", inputs=[X4]),
    _spec("LazyInstanceNorm3d", inputs=[X5]),
    _spec("LayerNorm", (6,), inputs=[V]),
    _spec("GroupNorm", (1, 3), inputs=[X4]),
    _spec("RMSNorm", (6,), inputs=[V]),
    _spec("LocalResponseNorm", (2,), inputs=[X4]),
    _spec("CrossMapLRN2d", (3,), inputs=[X4]),
    # padding, shuffles, upsampling, distances
    *[_spec(f"{kind}Pad{d}d", (1,) if kind != "Constant" else (1, 0.5),
            inputs=[{1: X3, 2: X4, 3: X5}[d]])
      for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
      for d in (1, 2, 3)],
    _spec("PixelShuffle", (2,), inputs=[_x(1, 8, 3, 3)]),
    _spec("PixelUnshuffle", (2,), inputs=[X4]),
    _spec("ChannelShuffle", (3,), inputs=[_x(1, 6, 2, 2)]),
    _spec("Upsample", (), {"scale_factor": 2}, inputs=[X4]),
    _spec("UpsamplingNearest2d", (), {"scale_factor": 2}, inputs=[X4]),
    _spec("UpsamplingBilinear2d", (), {"scale_factor": 2}, inputs=[X4]),
    _spec("Unflatten", (1, (2, 3)), inputs=[V]),
    _spec("CosineSimilarity", inputs=[V, _x(4, 6, seed=1)]),
    _spec("PairwiseDistance", inputs=[V, _x(4, 6, seed=1)]),
    # recurrent, transformer
    _spec("RNN", (6, 5), inputs=[_x(3, 2, 6)]),
    _spec("LSTM", (6, 5), inputs=[_x(3, 2, 6)]),
    _spec("GRU", (6, 5), inputs=[_x(3, 2, 6)]),
    _spec("RNNCell", (6, 5), inputs=[V]),
    _spec("LSTMCell", (6, 5), inputs=[V]),
    _spec("GRUCell", (6, 5), inputs=[V]),
    _spec("TransformerEncoderLayer", (8, 2, 16, 0.0), {"batch_first": True},
          inputs=[_x(2, 3, 8)]),
    _spec("TransformerDecoderLayer", (8, 2, 16, 0.0), {"batch_first": True},
          inputs=[_x(2, 3, 8), _x(2, 4, 8, seed=1)]),
    _spec("TransformerEncoder", inputs=[_x(2, 3, 8)]),
    _spec("TransformerDecoder", inputs=[_x(2, 3, 8), _x(2, 4, 8, seed=1)]),
    _spec("Transformer", (8, 2, 1, 1, 16, 0.0), {"batch_first": True},
          inputs=[_x(2, 3, 8), _x(2, 4, 8, seed=1)]),
    # losses
    *[_spec(n, inputs=[V, _x(4, 6, seed=1)]) for n in (
        "L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "SoftMarginLoss")],
    _spec("KLDivLoss", (), {"reduction": "batchmean"}, inputs=[V, _probs(4, 6)]),
    _spec("BCELoss", inputs=[_probs(4, 6), _probs(4, 6, seed=5)]),
    _spec("BCEWithLogitsLoss", inputs=[V, _probs(4, 6)]),
    _spec("CrossEntropyLoss", inputs=[V, _ints(6, 4)]),
    _spec("NLLLoss", inputs=[V, _ints(6, 4)]),
    _spec("LinearCrossEntropyLoss", (6, 5), inputs=[V, _ints(5, 4)]),
    _spec("NLLLoss2d", inputs=[X4, _ints(3, 2, 6, 6)]),
    _spec("PoissonNLLLoss", inputs=[V, _probs(4, 6)]),
    _spec("GaussianNLLLoss", inputs=[V, _x(4, 6, seed=1), _x(4, 6, seed=2, low=0.1)]),
    _spec("MultiLabelSoftMarginLoss", inputs=[V, _ints(2, 4, 6)]),
    _spec("MultiLabelMarginLoss", inputs=[V, _ints(6, 4, 6)]),
    _spec("MultiMarginLoss", inputs=[V, _ints(6, 4)]),
    _spec("HingeEmbeddingLoss", inputs=[V, _sign(4, 6)]),
    _spec("CosineEmbeddingLoss", inputs=[V, _x(4, 6, seed=1), _sign(4)]),
    _spec("MarginRankingLoss", inputs=[_x(4), _x(4, seed=1), _sign(4)]),
    _spec("TripletMarginLoss", inputs=[V, _x(4, 6, seed=1), _x(4, 6, seed=2)]),
    _spec("TripletMarginWithDistanceLoss", inputs=[V, _x(4, 6, seed=1), _x(4, 6, seed=2)]),
    _spec("CTCLoss", inputs=[lambda lib: _t(lib, _arr(5, 2, 4)).log_softmax(2), _ints(3, 2, 3),
                             lambda lib: lib.tensor([5, 5]), lambda lib: lib.tensor([3, 2])]),
    _spec("AdaptiveLogSoftmaxWithLoss", (6, 10, [4, 8]), inputs=[V, _ints(10, 4)]),
    # containers and wrappers around a Linear
    _spec("Sequential", inputs=[V]),
    _spec("DataParallel", inputs=[V]),
]
SPECS = {entry[0]: entry for entry in TABLE}


def build(lib, name):
    """``(layer, args)``: ``name``'s layer of ``lib`` with parameters drawn from one seeded
    generator (the same values on either side) and its inputs."""
    _, ctor_args, ctor_kwargs, inputs, train = SPECS[name]
    lib.manual_seed(0)
    if name == "Sequential":
        layer = lib.nn.Sequential(lib.nn.Linear(6, 3))
    elif name == "DataParallel":
        layer = lib.nn.DataParallel(lib.nn.Linear(6, 3))
    elif name in ("TransformerEncoder", "TransformerDecoder"):
        part = getattr(lib.nn, name + "Layer")(8, 2, 16, 0.0, batch_first=True)
        layer = getattr(lib.nn, name)(part, 2)
    else:
        layer = getattr(lib.nn, name)(*ctor_args, **ctor_kwargs)
    args = [make(lib) for make in inputs]
    if name.startswith("Lazy"):
        with lib.no_grad():
            layer(*args)  # materializes its parameters, which the loop below then sets
    rng = np.random.default_rng(7)
    with lib.no_grad():
        for parameter in layer.parameters():
            values = rng.standard_normal(tuple(parameter.shape)).astype(np.float32) * 0.3
            parameter.copy_(lib.tensor(values))
    layer.train(train)
    return layer, args
