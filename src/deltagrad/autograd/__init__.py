"""The autograd tools a user calls: grad, Function, gradient checks, graph checks, capture,
trace, viz, graph memory statistics, forward-mode AD (forward_ad), the profiler and graph
(``deltagrad.autograd``, as PyTorch's)."""

from .._engine import grad
from .._engine.autograd import (
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)
from . import anomaly_mode, forward_ad, functional, graph, profiler, viz  # noqa: F401
from .backward import backward
from .capture import CapturedStep, capture_step
from .check_graph import check_graph
from .engine_switches import (
    is_multithreading_enabled,
    is_tensor_like,
    is_view_replay_enabled,
    set_multithreading_enabled,
)
from .function import Function, FunctionCtx
from .grad_mode import enforce_grad_layout_policy, inference_mode, is_inference_mode_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .memory import GraphLeakWarning, GraphStats, empty_cache, graph_stats, set_leak_check
from .trace import trace
from .variable import Variable


def variable(*args, **kwargs):
    """PyTorch's removed ``torch.autograd.variable(...)`` constructor: raises RuntimeError, as
    there. The name is also the submodule holding ``Variable``; as in PyTorch the function
    wins and carries ``variable.Variable`` (FX writes ``torch.autograd.variable.Variable``)."""
    raise RuntimeError("torch.autograd.variable(...) is deprecated: use torch.tensor(...)")


variable.Variable = Variable

__all__ = ["CapturedStep", "Function", "FunctionCtx", "GradcheckError", "GraphLeakWarning",
           "GraphStats", "backward", "capture_step", "check_graph", "detect_anomaly", "empty_cache",
           "enable_grad", "enforce_grad_layout_policy", "forward_ad", "functional", "graph",
           "grad", "gradcheck", "gradgradcheck",
           "graph_stats", "inference_mode", "is_grad_enabled", "is_inference_mode_enabled",
           "is_multithreading_enabled", "is_tensor_like", "is_view_replay_enabled",
           "set_multithreading_enabled", "no_grad", "profiler", "set_detect_anomaly",
           "set_grad_enabled", "set_leak_check", "trace", "Variable", "variable", "viz"]

# Tensor.backward calls a replaced autograd.backward, as PyTorch's does (see there)
import sys as _sys  # noqa: E402

from .._engine.api.backward import AUTOGRAD_BACKWARD as _AUTOGRAD_BACKWARD  # noqa: E402

_AUTOGRAD_BACKWARD[:2] = [_sys.modules[__name__], backward]
