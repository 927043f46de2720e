"""PyTorch's ``torch.nn.modules`` import paths (``from torch.nn.modules.utils import _pair``,
``torch.nn.modules.loss._Loss``, ...) for code written against them: each submodule re-exports
the classes deltagrad defines elsewhere in ``nn``; ``utils`` holds the helpers."""

import sys

from . import (
    activation,
    batchnorm,
    container,
    conv,
    dropout,
    lazy,
    linear,
    loss,
    module,
    normalization,
    padding,
    pooling,
    rnn,
    sparse,
    utils,
)
from .module import Module

__all__ = ["Module", "activation", "batchnorm", "container", "conv", "dropout", "lazy", "linear",
           "loss", "module", "normalization", "padding", "pooling", "rnn", "sparse", "utils"]


def __getattr__(name: str):
    """PyTorch's ``torch.nn.modules`` also re-exports every layer class (``nn.modules.ELU``,
    monai's factories use it): those of ``nn``, looked up when asked (``nn`` imports this
    package while it is being built)."""
    found = getattr(sys.modules[__name__.rpartition(".")[0]], name, None)
    if isinstance(found, type) and issubclass(found, Module):
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
