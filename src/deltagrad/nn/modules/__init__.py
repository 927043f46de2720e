"""PyTorch's ``torch.nn.modules`` import paths (``from torch.nn.modules.utils import _pair``,
``torch.nn.modules.loss._Loss``, ...) for code written against them: each submodule re-exports
the classes deltagrad defines elsewhere in ``nn``; ``utils`` holds the helpers."""

from . import activation, batchnorm, container, conv, linear, loss, module, utils
from .module import Module

__all__ = ["Module", "activation", "batchnorm", "container", "conv", "linear", "loss", "module",
           "utils"]
