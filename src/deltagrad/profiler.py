"""``deltagrad.profiler``: PyTorch's ``torch.profiler`` (``profile`` with activities, a
schedule and ``on_trace_ready``; ``record_function``, ``ProfilerActivity``, ``schedule``),
timing deltagrad's op calls on the CPU. The machinery is ``autograd/profiler.py``."""

from __future__ import annotations

from .autograd.profiler import (
    EventList,
    FunctionEvent,
    FunctionEventAvg,
    ProfilerAction,
    ProfilerActivity,
    _Profile,
    record_function,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerAction",
           "ProfilerActivity", "kineto_available", "profile", "record_function", "schedule",
           "supported_activities",
           "tensorboard_trace_handler"]


class profile(_Profile):  # noqa: N801 - PyTorch's name
    """``torch.profiler.profile``: time the op calls made inside the context.

    Args:
        activities: ProfilerActivity values (CPU only is profiled; others warn).
        schedule: ``step -> ProfilerAction`` (see ``schedule``); without one, every step is
            recorded until the context exits.
        on_trace_ready: called with the profiler when a scheduled window is saved.
        record_shapes: keep the input shapes of each op call (``key_averages(
            group_by_input_shape=True)``).

    Other PyTorch arguments (profile_memory, with_stack, with_flops, with_modules, ...) are
    accepted and ignored: nothing they would add is collected.

    >>> import deltagrad as dg
    >>> from deltagrad.profiler import ProfilerActivity, profile, record_function
    >>> with profile(activities=[ProfilerActivity.CPU]) as prof:
    ...     with record_function("block"):
    ...         y = dg.ones(2, 2).matmul(dg.ones(2, 2))
    >>> sorted(e.key for e in prof.key_averages())
    ['aten::matmul', 'block']
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config=None,
                 execution_trace_observer=None, acc_events: bool = False, use_cuda=None,
                 custom_trace_id_callback=None) -> None:
        self._setup(True, record_shapes, activities, schedule, on_trace_ready)


def kineto_available() -> bool:
    """False: deltagrad's profiler is its own op timer, not PyTorch's Kineto tracer (Lightning
    reads this at import time to choose its trace export)."""
    return False
