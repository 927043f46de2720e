"""PyTorch's ``torch.nn.modules`` import paths (``from torch.nn.modules.utils import _pair``,
``torch.nn.modules.loss._Loss``, ...) for code written against them: each submodule re-exports
the classes deltagrad defines elsewhere in ``nn``; ``utils`` holds the helpers."""

import sys

from . import (
    activation,
    adaptive,
    batchnorm,
    channelshuffle,
    container,
    conv,
    distance,
    dropout,
    flatten,
    fold,
    instancenorm,
    lazy,
    linear,
    loss,
    module,
    normalization,
    padding,
    pixelshuffle,
    pooling,
    rnn,
    sparse,
    transformer,
    upsampling,
    utils,
)
from .module import Module

__all__ = ["Module", "activation", "adaptive", "batchnorm", "channelshuffle", "container", "conv",
           "distance", "dropout", "flatten", "fold", "instancenorm", "lazy", "linear", "loss",
           "module", "normalization", "padding", "pixelshuffle", "pooling", "rnn", "sparse",
           "transformer", "upsampling", "utils"]


def __getattr__(name: str):
    """PyTorch's ``torch.nn.modules`` also re-exports every layer class (``nn.modules.ELU``,
    monai's factories use it): those of ``nn``, looked up when asked (``nn`` imports this
    package while it is being built)."""
    found = getattr(sys.modules[__name__.rpartition(".")[0]], name, None)
    if isinstance(found, type) and issubclass(found, Module):
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
