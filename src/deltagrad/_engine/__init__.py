"""The engine: Tensor, the op registry, the backward sweep, sparse rows, buffers and randomness.

Layers inside, lowest first: ``buffers``, ``sparse``, ``random`` -> ``ops`` (the registry, by
family) -> ``autograd`` (grad mode, anomaly mode, the backward sweep) -> ``tensor`` (the Tensor
and the one path that makes an op's result) -> ``api`` (the functions on tensors, by family,
attached as Tensor methods). Everything above the engine imports from here or from ``api``.
"""

from . import api
from .api.backward import grad
from .autograd import (
    AnomalyError,
    GraphError,
    ShapeError,
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from .ops import OPS
from .random import Generator, get_rng_state, manual_seed, set_rng_state
from .tensor import Tensor, bool_, float16, float32, float64, int32, int64

__all__ = ["OPS", "AnomalyError", "Generator", "GraphError", "ShapeError", "Tensor", "api",
           "bool_", "detect_anomaly", "enable_grad", "float16", "float32", "float64",
           "get_rng_state", "grad", "int32", "int64", "is_anomaly_enabled", "is_grad_enabled",
           "manual_seed", "no_grad", "set_detect_anomaly", "set_grad_enabled", "set_rng_state"]
