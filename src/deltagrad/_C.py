"""``torch._C`` for programs that touch PyTorch's C++ bindings: the few harmless entry points.

Third-party libraries call a handful of ``torch._C`` functions that have no effect on results
(torchmetrics logs API usage in every ``Metric.__init__``). This module answers those; any other
name raises AttributeError naming deltagrad, never a silent stand-in.
"""

from __future__ import annotations

__all__ = ["_get_tracing_state", "_log_api_usage_once"]


def _log_api_usage_once(event: str) -> None:
    """PyTorch records usage telemetry here; deltagrad records nothing."""


def _get_tracing_state() -> None:
    """None: deltagrad never runs under the TorchScript tracer."""
    return None


def __getattr__(name: str):
    raise AttributeError(f"deltagrad._C (PyTorch's torch._C bindings) has no {name!r}: "
                         "deltagrad answers only the few entries libraries call for no effect")
