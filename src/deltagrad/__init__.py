"""deltagrad: reverse-mode automatic differentiation and neural networks on NumPy.

The public surface follows PyTorch's names and semantics; see docs/ for the design.
"""

from . import nn, optim, viz
from ._autograd import (
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
from ._functions import (
    abs,
    amax,
    amin,
    argmax,
    argmin,
    cos,
    exp,
    flatten,
    log,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    sqrt,
    squeeze,
    std,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
)
from ._gradcheck import GradcheckError, gradcheck, gradgradcheck
from ._memory import GraphLeakWarning, GraphStats, empty_cache, graph_stats, set_leak_check
from ._random import Generator, get_rng_state, manual_seed, set_rng_state
from ._tensor import (
    Tensor,
    arange,
    bool_,
    cat,
    clamp,
    clip,
    concatenate,
    empty,
    empty_like,
    eye,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    gather,
    grad,
    index_select,
    int32,
    int64,
    is_tensor,
    linspace,
    matmul,
    maximum,
    minimum,
    mm,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    split,
    stack,
    take_along_dim,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .capture import CapturedStep, capture_step
from .check_graph import check_graph
from .function import Function
from .serialization import CheckpointError, load, save
from .trace import trace

__version__ = "0.1.0"

__all__ = [
    "GradcheckError", "Generator", "GraphError", "ShapeError", "Tensor", "abs", "amax", "amin",
    "arange", "argmax", "argmin", "bool_", "cat", "clamp", "clip", "concatenate", "cos",
    "empty", "empty_like", "enable_grad", "exp", "eye", "flatten", "float16", "float32",
    "float64", "from_numpy", "full", "full_like", "gather", "get_rng_state", "grad",
    "gradcheck", "gradgradcheck", "index_select", "int32", "int64", "is_grad_enabled",
    "is_tensor", "linspace", "log", "log_softmax", "logsumexp", "manual_seed", "matmul", "max",
    "maximum", "mean", "min", "minimum", "mm", "no_grad", "ones", "ones_like", "permute", "pow",
    "rand", "rand_like", "randint", "randn", "randn_like", "randperm", "relu", "reshape",
    "set_grad_enabled", "set_rng_state", "sigmoid", "sin", "softmax", "split", "sqrt",
    "squeeze", "stack", "std", "sum", "take_along_dim", "tanh", "tensor", "transpose",
    "unsqueeze", "var", "where", "zeros", "zeros_like", "nn", "optim", "save", "load",
    "viz", "trace", "check_graph", "Function", "CheckpointError", "GraphLeakWarning",
    "GraphStats", "graph_stats", "set_leak_check", "empty_cache", "CapturedStep",
    "capture_step",
    "AnomalyError", "detect_anomaly",
    "is_anomaly_enabled", "set_detect_anomaly",
]
