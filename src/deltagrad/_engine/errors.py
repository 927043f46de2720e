"""The engine's errors: shapes an op cannot combine, misuse of the graph, dtypes an op refuses.

(Split out of ``autograd``, which re-exports them; every module below ``api`` imports them from
there or from here.)
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["DTypeError", "GraphError", "ShapeError", "freed_error", "warn_at_caller",
           "warn_once"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class ShapeError(RuntimeError, ValueError):
    """Shapes that an op cannot combine (broadcasting, matmul, a gradient of the wrong shape)."""


class GraphError(RuntimeError):
    """Misuse of the graph: backward through a freed graph, or on something without one."""


class DTypeError(RuntimeError, TypeError):
    """A tensor of a dtype an op does not accept (PyTorch raises RuntimeError; the TypeError
    base keeps ``except TypeError`` working too)."""


# Tracebacks name the errors where users import them from, not the engine's private module.
ShapeError.__module__ = GraphError.__module__ = DTypeError.__module__ = "deltagrad"


def freed_error(node) -> GraphError:
    """The error of a second backward through ``node`` whose buffers the first one freed."""
    return GraphError(  # (PyTorch's words first, then which op's buffers)
        "Trying to backward through the graph a second time (or directly access saved tensors "
        "after they have already been freed). Saved intermediate values of the graph are freed "
        "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
        "backward through the graph a second time or if you need to access saved tensors after "
        f"calling backward. (Here: the buffers of op '{node._op.name}', output shape "
        f"{tuple(node._data.shape)}, were freed by the first backward.)"
    )


def warn_at_caller(message: str, category: type = UserWarning) -> None:
    """``warnings.warn`` pointing at the first frame outside deltagrad (the user's line), however
    many of deltagrad's frames sit between (``__torch_function__`` dispatch adds some)."""
    level, frame = 2, sys._getframe(1)  # (stacklevel 2: the frame that called this)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


_WARNED_ONCE: set = set()


def warn_once(key: str, message: str, category: type = UserWarning) -> None:
    """``warn_at_caller`` the first time ``key`` is asked in this process only, as PyTorch's
    C++ ``TORCH_WARN_ONCE`` (its deprecation of ``torch.lu``, ``triangular_solve``)."""
    if key not in _WARNED_ONCE:
        _WARNED_ONCE.add(key)
        warn_at_caller(message, category)
