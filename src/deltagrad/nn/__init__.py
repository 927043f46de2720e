"""Neural-network building blocks: Module, Parameter, layers, init, functional, utils."""

from . import functional, init, utils
from .layers import (
    GELU,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    Hardtanh,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MSELoss,
    NLLLoss,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential

__all__ = [
    "GELU", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Embedding", "Flatten",
    "Hardtanh", "Identity", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module",
    "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid",
    "Softmax", "Tanh", "functional", "init", "utils",
]
