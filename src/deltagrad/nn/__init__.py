"""Neural-network building blocks: Module, Parameter, layers, init, functional, utils."""

from . import activation as _activation
from . import dropout as _dropout
from . import functional, init, parallel, utils
from . import loss as _loss
from . import padding as _padding
from .activation import *  # noqa: F403 - ReLU, ELU, ..., PReLU, Softmax: its __all__
from .containers import ParameterDict, ParameterList
from .conv import (
    AdaptiveAvgPool1d,
    AdaptiveMaxPool1d,
    AvgPool1d,
    Conv1d,
    Conv2d,
    MaxPool1d,
)
from .dropout import *  # noqa: F403 - Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout
from .layers import Dropout, Embedding, Flatten, Identity, Linear
from .loss import *  # noqa: F403 - L1Loss, MSELoss, CrossEntropyLoss, ..., CTCLoss
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
from .more_layers import (
    Bilinear,
    CosineSimilarity,
    EmbeddingBag,
    PairwiseDistance,
    Unflatten,
)
from .normalization import BatchNorm1d, GroupNorm, LayerNorm, RMSNorm
from .padding import *  # noqa: F403 - ZeroPad/ConstantPad/ReflectionPad/..., Upsample
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

__all__ = [
    *_activation.__all__, *_dropout.__all__, *_loss.__all__, *_padding.__all__,
    "Dropout", "Embedding", "Flatten", "Identity", "Linear", "Module",
    "ModuleDict", "ModuleList", "Parameter", "Sequential", "functional", "init", "parallel",
    "utils",
    "BatchNorm1d", "GroupNorm", "LayerNorm", "RMSNorm", "MultiheadAttention", "Transformer",
    "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell",
    "AdaptiveAvgPool1d", "AdaptiveMaxPool1d", "AvgPool1d", "Conv1d", "Conv2d", "MaxPool1d",
    "Bilinear", "CosineSimilarity", "EmbeddingBag", "PairwiseDistance", "ParameterDict",
    "ParameterList", "Unflatten", "ChannelShuffle", "DataParallel", "LPPool1d", "PixelShuffle",
    "PixelUnshuffle", "RNNCellBase",
]
