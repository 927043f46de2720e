"""Neural-network building blocks: Module, Parameter, layers, init, functional, utils."""

from . import activation as _activation
from . import common_types, functional, grad, init, parallel, parameter, utils  # noqa: F401
from . import dropout as _dropout
from . import lazy as _lazy
from . import loss as _loss
from . import padding as _padding
from . import pooling2d_layers as _pooling2d_layers
from .activation import *  # noqa: F403 - ReLU, ELU, ..., PReLU, Softmax: its __all__
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .buffer import Buffer
from .containers import ParameterDict, ParameterList
from .conv import (
    AdaptiveAvgPool1d,
    AdaptiveMaxPool1d,
    AvgPool1d,
    Conv1d,
    MaxPool1d,
)
from .conv2d import Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .dropout import *  # noqa: F403 - Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout
from .fold2d import Fold, Unfold
from .fractional_pool import FractionalMaxPool2d, FractionalMaxPool3d
from .layers import Dropout, Embedding, Flatten, Identity, Linear
from .lazy import *  # noqa: F403 - Lazy* modules, Uninitialized{Parameter,Buffer}: __all__
from .legacy_modules import Container, CrossMapLRN2d, NLLLoss2d
from .loss import *  # noqa: F403 - L1Loss, MSELoss, CrossEntropyLoss, ..., CTCLoss
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
from .more_layers import (
    Bilinear,
    CosineSimilarity,
    EmbeddingBag,
    PairwiseDistance,
    Unflatten,
)
from .norm2d import (
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    LocalResponseNorm,
    SyncBatchNorm,
)
from .normalization import BatchNorm1d, GroupNorm, LayerNorm, RMSNorm
from .padding import *  # noqa: F403 - ZeroPad/ConstantPad/ReflectionPad/..., Upsample
from .pooling2d_layers import *  # noqa: F403 - MaxPool2d, AvgPool2d, Adaptive*Pool2d, ...
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .shuffle_pool import ChannelShuffle, DataParallel, LPPool1d, PixelShuffle, PixelUnshuffle
from .transformer import (
    MultiheadAttention,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from .upsampling import UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = [
    *_activation.__all__, *_dropout.__all__, *_loss.__all__, *_padding.__all__,
    *_pooling2d_layers.__all__, "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "Fold",
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm", "Unfold",
    "Dropout", "Embedding", "Flatten", "Identity", "Linear", "Module",
    "ModuleDict", "ModuleList", "Parameter", "Sequential", "functional", "init", "parallel",
    "utils",
    "BatchNorm1d", "GroupNorm", "LayerNorm", "RMSNorm", "MultiheadAttention", "Transformer",
    "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell",
    "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AvgPool1d", "Conv1d", "MaxPool1d",
    "Bilinear", "CosineSimilarity", "EmbeddingBag", "PairwiseDistance", "ParameterDict",
    "ParameterList", "Unflatten", "ChannelShuffle", "DataParallel", "LPPool1d", "PixelShuffle",
    "PixelUnshuffle", "RNNCellBase",
    "Buffer", *[name for name in _lazy.__all__ if name not in ("LazyModuleMixin", "is_lazy")],
]
__all__ += ["UpsamplingBilinear2d", "UpsamplingNearest2d"]
__all__ += ["AdaptiveLogSoftmaxWithLoss", "modules"]
__all__ += ["Container", "CrossMapLRN2d", "FractionalMaxPool2d", "FractionalMaxPool3d",
            "NLLLoss2d"]

from . import modules  # noqa: E402 - torch.nn.modules paths, over the names above


def __getattr__(name: str):
    # `torch.nn.quantized` is an attribute right after `import torch` (bayesian-torch calls
    # torch.nn.quantized.FloatFunctional() without importing it); deltagrad loads it on first use.
    if name == "quantized":
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
