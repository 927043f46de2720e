"""deltagrad: reverse-mode automatic differentiation and neural networks on NumPy.

The public surface follows PyTorch's names and semantics; see docs/ for the design.
"""

from . import autograd, nn, optim  # noqa: E402,I001 - after the core, which they build on
from ._engine import (
    AnomalyError,
    Generator,
    GraphError,
    ShapeError,
    Tensor,
    bool_,
    detect_anomaly,
    enable_grad,
    float16,
    float32,
    float64,
    get_rng_state,
    grad,
    int32,
    int64,
    is_anomaly_enabled,
    is_grad_enabled,
    manual_seed,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
    set_rng_state,
)
from ._engine import api as _api
from ._engine.api.creation import *  # noqa: F403 - each family module's __all__ is public
from ._engine.api.indexing import *  # noqa: F403
from ._engine.api.linalg import *  # noqa: F403
from ._engine.api.pointwise import *  # noqa: F403
from ._engine.api.reductions import *  # noqa: F403
from ._engine.api.shape import *  # noqa: F403
from .autograd import (  # noqa: E402
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
from .serialization import CheckpointError, load, save  # noqa: E402

__version__ = "0.1.0"

_FAMILIES = (_api.creation, _api.indexing, _api.linalg, _api.pointwise, _api.reductions,
             _api.shape)

__all__ = [
    "AnomalyError", "CapturedStep", "CheckpointError", "Function", "GradcheckError",
    "Generator", "GraphError", "GraphLeakWarning", "GraphStats", "ShapeError", "Tensor",
    "autograd", "bool_", "capture_step", "check_graph", "detect_anomaly", "empty_cache",
    "enable_grad", "float16", "float32", "float64", "get_rng_state", "grad", "gradcheck",
    "gradgradcheck", "graph_stats", "int32", "int64", "is_anomaly_enabled", "is_grad_enabled",
    "load", "manual_seed", "nn", "no_grad", "optim", "save", "set_detect_anomaly",
    "set_grad_enabled", "set_leak_check", "set_rng_state", "trace", "viz",
    *(name for family in _FAMILIES for name in family.__all__),
]
