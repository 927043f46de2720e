"""A CPU profiler of deltagrad's op calls (``torch.autograd.profiler`` and, re-exported,
``torch.profiler``): ``profile()`` as a context manager, ``record_function`` ranges,
``key_averages().table()``, ``schedule`` and ``export_chrome_trace``.

What is timed: while a profile records, every registered op's forward kernel and VJP rule is
wrapped (the engine's op table, ``_engine/ops``, holds one ``Op`` per primitive; the wrappers
are installed on entry and removed on exit, so nothing is paid when no profile is active).
The ops of ``autograd.Function`` subclasses (conv2d's is one) are wrapped too. Forwards are
named ``aten::<op>`` (deltagrad's op name: ``aten::cross_entropy_index`` where PyTorch shows
``aten::cross_entropy_loss`` and its parts), Functions by their class name, and VJP rules by
their node's PyTorch name (``MulBackward0``); ``record_function`` ranges are named as given.
Self time is an event's time less that of the events inside it. Composite functions
(``mse_loss`` is a mean of products) show as their primitives. No device activity exists:
``ProfilerActivity.CPU`` only, and memory columns are not collected. (``autograd.trace``
observes backward sweeps only, after each rule has run, so it cannot time them: the wrappers
here do.)
"""

from __future__ import annotations

import enum
import functools
import json
import os
import time
import warnings
from collections import defaultdict

from .._engine.node_names import torch_node_name
from .._engine.ops import OPS
from .function import Function, _op_of

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "ProfilerAction", "emit_itt",
           "emit_nvtx",
           "ProfilerActivity", "profile", "record_function", "schedule",
           "supported_activities", "tensorboard_trace_handler"]


class ProfilerActivity(enum.Enum):
    """Activity groups to profile; deltagrad has CPU activity only."""

    CPU = 0
    CUDA = 1
    MTIA = 2
    HPU = 3
    XPU = 4
    PrivateUse1 = 5


def supported_activities() -> set:
    """The activities this build can profile: ``{ProfilerActivity.CPU}``."""
    return {ProfilerActivity.CPU}


class ProfilerAction(enum.Enum):
    """What a schedule tells the profiler to do at a step."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0):
    """A step -> ProfilerAction function: after ``skip_first`` steps, cycles of ``wait`` idle
    steps, ``warmup`` steps and ``active`` recorded steps (the last one saves), ``repeat``
    times (0: forever). ``skip_first_wait`` skips the wait of the first cycle.
    """
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)

    def action(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError("step must be >= 0")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        position = step % cycle
        if position < wait:
            return ProfilerAction.NONE
        if position < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if position < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return action


def _default_schedule(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


# ------------------------------------------------------------------------------- events


class FunctionEvent:
    """One timed call: an op's forward, a VJP rule, or a ``record_function`` range.

    Times are in microseconds (``cpu_time_total``, ``self_cpu_time_total``).
    """

    def __init__(self, id: int, name: str, start_us: float, end_us: float,  # noqa: A002
                 input_shapes: list | None = None, kind: str = "op") -> None:
        self.id = id
        self.name = name
        self.key = name
        self.time_range_start = start_us
        self.time_range_end = end_us
        self.input_shapes = input_shapes or []
        self.kind = kind
        self.count = 1
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.device_time_total = 0.0
        self.cpu_memory_usage = 0
        self.thread = 0

    @property
    def cpu_time_total(self) -> float:
        return self.time_range_end - self.time_range_start

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} "
                f"cpu_time_total={_format_time(self.cpu_time_total)} "
                f"self_cpu_time_total={_format_time(self.self_cpu_time_total)} "
                f"input_shapes={self.input_shapes}>")


class FunctionEventAvg:
    """The events of one key (name, and input shapes when grouped by them), summed."""

    def __init__(self, key: str, input_shapes=None) -> None:
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.device_time_total = 0.0
        self.self_device_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0

    def add(self, event) -> FunctionEventAvg:
        self.count += event.count
        self.cpu_time_total += event.cpu_time_total
        self.self_cpu_time_total += event.self_cpu_time_total
        return self

    @property
    def cpu_time(self) -> float:
        """The average time per call (us)."""
        return self.cpu_time_total / self.count if self.count else 0.0

    @property
    def self_cpu_time(self) -> float:
        return self.self_cpu_time_total / self.count if self.count else 0.0

    # (PyTorch's device-time names, all 0 here)
    cuda_time_total = property(lambda self: 0.0)
    self_cuda_time_total = property(lambda self: 0.0)
    device_time = property(lambda self: 0.0)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time="
                f"{_format_time(self.self_cpu_time_total)} cpu_time="
                f"{_format_time(self.cpu_time)} count={self.count}>")


def _format_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


_SORT_KEYS = {"cpu_time", "cpu_time_total", "self_cpu_time_total", "self_cpu_time", "count",
              "cuda_time_total", "self_cuda_time_total", "device_time_total",
              "self_device_time_total", "cpu_memory_usage", "self_cpu_memory_usage"}


class EventList(list):
    """A list of events (FunctionEvent or FunctionEventAvg) with PyTorch's summaries."""

    def key_averages(self, group_by_input_shape: bool = False,
                     group_by_stack_n: int = 0) -> EventList:
        """The events averaged per name (and per input shapes when asked), in first-seen
        order."""
        groups: dict = {}
        for event in self:
            shapes = str(event.input_shapes) if group_by_input_shape else None
            key = (event.key, shapes)
            if key not in groups:
                groups[key] = FunctionEventAvg(event.key, event.input_shapes
                                               if group_by_input_shape else None)
            groups[key].add(event)
        return EventList(groups.values())

    def total_average(self) -> FunctionEventAvg:
        """All events summed into one (key "Total")."""
        total = FunctionEventAvg("Total")
        for event in self:
            total.add(event)
        return total

    @property
    def self_cpu_time_total(self) -> float:
        return sum(event.self_cpu_time_total for event in self)

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_src_column_width: int = 75, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False) -> str:
        """A text table of the events, as PyTorch's: name, self and total CPU time (and their
        percentages), average time and number of calls; sorted by ``sort_by`` (descending).

        Raises:
            ValueError: for an unknown ``sort_by``.
        """
        events = list(self)
        if top_level_events_only:
            events = [e for e in events if getattr(e, "cpu_parent", None) is None]
        if sort_by is not None:
            if sort_by not in _SORT_KEYS:
                raise ValueError(f"Unknown sort_by key {sort_by!r}; expected one of "
                                 f"{sorted(_SORT_KEYS)}")
            events.sort(key=lambda e: getattr(e, sort_by, 0.0), reverse=True)
        events = events[:row_limit] if row_limit is not None and row_limit >= 0 else events
        self_total = self.self_cpu_time_total or 1.0
        shapes = any(getattr(e, "input_shapes", None) for e in events) and all(
            isinstance(e, FunctionEventAvg) and e.input_shapes is not None for e in events)
        name_width = min(max_name_column_width,
                         max([len("Name")] + [len(e.key) for e in events]) + 2)
        columns = [("Name", name_width), ("Self CPU %", 12), ("Self CPU", 12),
                   ("CPU total %", 12), ("CPU total", 12), ("CPU time avg", 12),
                   ("# of Calls", 12)]
        if shapes:
            columns.append(("Input Shapes", max_shapes_column_width))
        rule = "-" * (sum(w for _, w in columns) + 2 * (len(columns) - 1))
        lines = []
        if header:
            lines.append(header)
        lines += [rule, "  ".join(f"{n:>{w}}" if i else f"{n:<{w}}"
                                  for i, (n, w) in enumerate(columns)), rule]
        for e in events:
            name = e.key if len(e.key) <= name_width else e.key[: name_width - 3] + "..."
            cells = [f"{name:<{name_width}}",
                     f"{100.0 * e.self_cpu_time_total / self_total:>11.2f}%",
                     f"{_format_time(e.self_cpu_time_total):>12}",
                     f"{100.0 * e.cpu_time_total / self_total:>11.2f}%",
                     f"{_format_time(e.cpu_time_total):>12}",
                     f"{_format_time(e.cpu_time):>12}", f"{e.count:>12}"]
            if shapes:
                cells.append(f"{str(e.input_shapes)[:max_shapes_column_width]:>{80}}")
            lines.append("  ".join(cells))
        lines += [rule, f"Self CPU time total: {_format_time(self.self_cpu_time_total)}", ""]
        return "\n".join(lines)

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace (chrome://tracing, Perfetto) JSON file."""
        trace = {"traceEvents": [
            {"name": e.name, "ph": "X", "ts": e.time_range_start, "dur": e.cpu_time_total,
             "pid": os.getpid(), "tid": e.thread,
             "cat": "user_annotation" if e.kind == "user" else "cpu_op",
             "args": {"Input Dims": e.input_shapes}} for e in self
            if isinstance(e, FunctionEvent)]}
        with open(path, "w") as handle:
            json.dump(trace, handle)


# ------------------------------------------------------------------------------- recording


class _Recorder:
    """The events of one recording window: a stack of open events and the finished ones."""

    def __init__(self, record_shapes: bool) -> None:
        self.record_shapes = record_shapes
        self.events: list[FunctionEvent] = []
        self.stack: list[FunctionEvent] = []
        self.next_id = 0

    def open(self, name: str, shapes, kind: str) -> FunctionEvent:
        start = time.perf_counter_ns() / 1e3
        event = FunctionEvent(self.next_id, name, start, start,
                              shapes if self.record_shapes else None, kind)
        self.next_id += 1
        if self.stack:
            event.cpu_parent = self.stack[-1]
            self.stack[-1].cpu_children.append(event)
        self.stack.append(event)
        return event

    def close(self, event: FunctionEvent) -> None:
        event.time_range_end = time.perf_counter_ns() / 1e3
        while self.stack:  # (an exception may have skipped inner closes)
            if self.stack.pop() is event:
                break
        self.events.append(event)


_recorders: list[_Recorder] = []
_originals: dict = {}  # op name -> (forward, vjp) while wrapped
# Engine ops outside the registry (nn's convolution and pooling nodes), timed by their name as
# the Functions they replaced were: their modules append them.
NODE_OPS: list = []


def _shapes_of(arrays) -> list:
    return [list(a.shape) if hasattr(a, "shape") else [] for a in arrays]


def _open_all(name: str, arrays, kind: str) -> list:
    return [(r, r.open(name, _shapes_of(arrays), kind)) for r in _recorders]


def _close_all(opened) -> None:
    for recorder, event in opened:
        recorder.close(event)


def _wrap_forward(label: str, forward):
    @functools.wraps(forward)
    def timed(*arrays, **attrs):
        if not _recorders:
            return forward(*arrays, **attrs)
        opened = _open_all(label, arrays, "op")
        try:
            return forward(*arrays, **attrs)
        finally:
            _close_all(opened)

    return timed


class _Held:
    """An input as ``torch_node_name`` reads it (``._data``), from an array or a Tensor."""

    __slots__ = ("_data",)

    def __init__(self, value) -> None:
        self._data = getattr(value, "_data", value)


def _wrap_vjp(op, vjp):
    @functools.wraps(vjp)
    def timed(F, g, out, *inputs, **attrs):  # noqa: N803 - the rules' namespace argument
        if not _recorders:
            return vjp(F, g, out, *inputs, **attrs)
        try:
            label = str(torch_node_name(op, attrs, [_Held(x) for x in inputs]))
        except Exception:  # (a name is a nicety: never let it break a backward)
            label = op.name + "Backward"
        opened = _open_all(label, (g,) + inputs, "backward")
        try:
            return vjp(F, g, out, *inputs, **attrs)
        finally:
            _close_all(opened)

    return timed


def _function_ops() -> dict:
    """The ops of the ``autograd.Function`` subclasses defined so far (conv2d's among them),
    by class name; made now if not yet used."""
    ops, pending = {}, list(Function.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.forward is not Function.forward and cls.backward is not Function.backward:
            for reads_output in (True, False):  # (both ops a Function's results may carry)
                ops[id(cls), reads_output] = (cls.__name__, _op_of(cls, reads_output))
    return ops


def _start(recorder: _Recorder) -> None:
    if not _recorders:
        # Registered ops as aten::<name>; Function subclasses by their class name (a class
        # defined while a profile records is not timed: its op is made after this).
        targets = [("aten::" + name, op) for name, op in OPS.items()]
        targets += list(_function_ops().values()) + [(op.name, op) for op in NODE_OPS]
        for label, op in targets:
            _originals[id(op)] = (op, op.forward, op.vjp)
            op.forward = _wrap_forward(label, op.forward)
            op.vjp = _wrap_vjp(op, op.vjp)
    _recorders.append(recorder)


def _stop(recorder: _Recorder) -> None:
    if recorder in _recorders:
        _recorders.remove(recorder)
    if not _recorders:
        for op, forward, vjp in _originals.values():
            op.forward, op.vjp = forward, vjp
        _originals.clear()


class record_function:  # noqa: N801 - PyTorch's name
    """A named range in the profile (a context manager, or a decorator): its time, and the
    ops run inside it as its children.

    Args:
        name: the range's name in the table.
        args: optional text kept with it (ignored by the table, as PyTorch's).
    """

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self._opened: list = []

    def __enter__(self) -> record_function:
        self._opened = _open_all(self.name, (), "user")
        return self

    def __exit__(self, *exc) -> bool:
        _close_all(self._opened)
        self._opened = []
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            with record_function(self.name, self.args):
                return function(*args, **kwargs)
        return wrapped


class _Profile:
    """The shared machinery of both profile classes."""

    def _setup(self, enabled: bool, record_shapes: bool, activities, schedule_fn,
               on_trace_ready) -> None:
        self.enabled = enabled
        self.record_shapes = record_shapes
        activities = set(activities) if activities is not None else {ProfilerActivity.CPU}
        unsupported = activities - supported_activities()
        if unsupported:
            warnings.warn(f"deltagrad profiles CPU activity only; ignoring "
                          f"{sorted(a.name for a in unsupported)}", stacklevel=3)
        self.activities = activities
        self.schedule = schedule_fn or _default_schedule
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = ProfilerAction.NONE
        self._recorder: _Recorder | None = None
        self.function_events: EventList = EventList()

    def _begin_window(self) -> None:
        if self._recorder is None:
            self._recorder = _Recorder(self.record_shapes)
            _start(self._recorder)

    def _end_window(self, save: bool) -> None:
        if self._recorder is not None:
            _stop(self._recorder)
            self.function_events = EventList(sorted(self._recorder.events,
                                                    key=lambda e: e.time_range_start))
            self._recorder = None
            if save and self.on_trace_ready is not None:
                self.on_trace_ready(self)

    def _apply(self, action: ProfilerAction) -> None:
        if action in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            self._begin_window()

    def start(self) -> None:
        """Start profiling (as entering the context)."""
        if not self.enabled:
            return
        self.current_action = self.schedule(self.step_num)
        self._apply(self.current_action)

    def stop(self) -> None:
        """Stop profiling (as leaving the context); a recording window is saved."""
        if not self.enabled:
            return
        self._end_window(save=self.current_action in (ProfilerAction.RECORD,
                                                      ProfilerAction.RECORD_AND_SAVE))

    def step(self) -> None:
        """Mark the end of a training step: the schedule decides what the next one does."""
        if not self.enabled:
            return
        previous = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if previous == ProfilerAction.RECORD_AND_SAVE:
            self._end_window(save=True)
        elif self.current_action in (ProfilerAction.NONE, ProfilerAction.WARMUP):
            self._end_window(save=False)
        self._apply(self.current_action)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False

    def events(self) -> EventList:
        """The events of the last recording window, in start order."""
        return self.function_events

    def key_averages(self, group_by_input_shape: bool = False,
                     group_by_stack_n: int = 0) -> EventList:
        """The last window's events averaged per name (see ``EventList.key_averages``)."""
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n)

    def total_average(self) -> FunctionEventAvg:
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        return self.function_events.self_cpu_time_total

    def table(self, *args, **kwargs) -> str:
        return self.function_events.table(*args, **kwargs)

    def export_chrome_trace(self, path: str) -> None:
        """Write the last window's events as a Chrome trace JSON file."""
        self.function_events.export_chrome_trace(path)

    def __str__(self) -> str:
        return self.key_averages().table()


class profile(_Profile):  # noqa: N801 - PyTorch's name
    """``torch.autograd.profiler.profile``: time the op calls made inside the context.

    >>> import deltagrad as dg
    >>> from deltagrad.autograd.profiler import profile
    >>> with profile() as prof:
    ...     y = dg.ones(3) + dg.ones(3)
    >>> [e.key for e in prof.key_averages()]
    ['aten::add']
    """

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None) -> None:
        activities = {ProfilerActivity.CPU} | ({ProfilerActivity.CUDA} if use_cuda else set())
        self._setup(enabled, record_shapes, activities, None, None)


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False):
    """An ``on_trace_ready`` callback writing each saved window as a Chrome trace file in
    ``dir_name`` (gzip is not supported)."""
    if use_gzip:
        raise NotImplementedError("tensorboard_trace_handler(use_gzip=True) is not supported")
    counter = defaultdict(int)

    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{os.uname().nodename}_{os.getpid()}"
        counter[worker] += 1
        name = f"{worker}.{time.time_ns() // 1000000}.{counter[worker]}.pt.trace.json"
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler


class emit_nvtx:  # noqa: N801 - PyTorch's name
    """PyTorch's NVTX ranges for NVIDIA's profilers: deltagrad has no CUDA, so making one
    raises RuntimeError (the name exists for libraries that refer to it, e.g. Lightning)."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        raise RuntimeError("deltagrad.autograd.profiler.emit_nvtx: NVTX ranges need CUDA, which "
                           "deltagrad does not have; use autograd.profiler.profile instead")


class emit_itt:  # noqa: N801 - PyTorch's name
    """PyTorch's Intel ITT ranges (VTune): not supported, making one raises RuntimeError."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        raise RuntimeError("deltagrad.autograd.profiler.emit_itt: ITT ranges (Intel VTune) are "
                           "not supported; use autograd.profiler.profile instead")
