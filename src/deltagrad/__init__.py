"""deltagrad: reverse-mode automatic differentiation and neural networks on NumPy.

The public surface follows PyTorch's names and semantics; see docs/ for the design. The core
(Tensor and the functions on tensors) comes from the engine; the layers above it are
re-exported as subpackages.
"""

from . import autograd, nn, optim, utils
from ._engine import *  # noqa: F403 - the engine's __all__ is the core of the surface
from ._engine import __all__ as _engine_all
from .autograd import (
    CapturedStep,
    Function,
    GradcheckError,
    GraphLeakWarning,
    GraphStats,
    capture_step,
    check_graph,
    empty_cache,
    gradcheck,
    gradgradcheck,
    graph_stats,
    set_leak_check,
    trace,
    viz,
)
from .serialization import CheckpointError, load, save

__version__ = "0.1.0"

__all__ = [
    *_engine_all,
    "CapturedStep", "CheckpointError", "Function", "GradcheckError", "GraphLeakWarning",
    "GraphStats", "autograd", "capture_step", "check_graph", "empty_cache", "gradcheck",
    "gradgradcheck", "graph_stats", "load", "nn", "optim", "save", "set_leak_check", "trace",
    "utils", "viz",
]
