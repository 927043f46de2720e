"""``torch.monitor``: events, their handlers and windowed summary statistics (``Stat``).

PyTorch's are C++ objects; these are plain Python with the same behaviour: an ``Event`` goes
to every registered handler; a ``Stat`` sums the values ``add``-ed in fixed windows of time
(aligned to multiples of the window) and logs their aggregations as a ``torch.monitor.Stat``
event when a window closes, when ``max_samples`` values have been added in it (the rest of that
window's values are dropped), or when the Stat is deleted.
"""

from __future__ import annotations

import datetime
import enum
import time

__all__ = ["COUNT", "MAX", "MEAN", "MIN", "STAT_EVENT", "SUM", "VALUE", "Aggregation", "Event",
           "EventHandlerHandle", "Stat", "TensorboardEventHandler", "data_value_t",
           "log_event", "register_event_handler", "unregister_event_handler"]

STAT_EVENT = "torch.monitor.Stat"


class Aggregation(enum.IntEnum):
    """How a ``Stat`` summarises its window (``VALUE`` is accepted and never logged, as in
    PyTorch)."""

    VALUE = 0
    MEAN = 2
    COUNT = 3
    SUM = 4
    MAX = 5
    MIN = 6


VALUE, MEAN, COUNT, SUM, MAX, MIN = (Aggregation.VALUE, Aggregation.MEAN, Aggregation.COUNT,
                                     Aggregation.SUM, Aggregation.MAX, Aggregation.MIN)


class data_value_t:  # noqa: N801 - PyTorch's name
    """data_value_t is one of ``str``, ``float``, ``int``, ``bool``."""


def _data_value(key, value):
    # (PyTorch's binding tries str, then float: a bool arrives as a float, an int stays one)
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (str, int, float)):
        return value
    raise TypeError(f"__init__(): incompatible constructor arguments: Event data {key!r} must "
                    f"be str, float, int or bool, got {type(value).__name__}")


class Event:
    """A named, timestamped dict of values, passed to the event handlers by ``log_event``."""

    def __init__(self, name: str, timestamp: datetime.datetime, data: dict) -> None:
        if not isinstance(name, str) or not isinstance(timestamp, datetime.datetime):
            raise TypeError("__init__(): incompatible constructor arguments: Event(name: str, "
                            "timestamp: datetime.datetime, data: dict)")
        self.name = name
        self.timestamp = timestamp
        self.data = {key: _data_value(key, value) for key, value in dict(data).items()}


class EventHandlerHandle:
    """What ``register_event_handler`` returns: give it to ``unregister_event_handler``."""

    __slots__ = ("_callback",)

    def __init__(self, callback) -> None:
        self._callback = callback


_handlers: list = []


def register_event_handler(callback) -> EventHandlerHandle:
    """Call ``callback(event)`` for every event logged from now on."""
    handle = EventHandlerHandle(callback)
    _handlers.append(handle)
    return handle


def unregister_event_handler(handler: EventHandlerHandle) -> None:
    """Stop calling a handler (a handle not registered is ignored)."""
    if handler in _handlers:
        _handlers.remove(handler)


def log_event(event: Event) -> None:
    """Pass ``event`` to every registered handler, in registration order."""
    for handle in tuple(_handlers):
        handle._callback(event)


class Stat:
    """Summary statistics of the values ``add``-ed in each window of ``window_size``."""

    def __init__(self, name: str, aggregations, window_size: datetime.timedelta,
                 max_samples: int = 9223372036854775807) -> None:
        self.name = name
        self._aggregations = [Aggregation(a) for a in aggregations]
        self._window_ms = max(1, int(window_size / datetime.timedelta(milliseconds=1)))
        self._max_samples = int(max_samples)
        self._window = self._now_window()
        self._last = self._summary(0, 0.0, 0.0, 0.0)
        self._clear()
        self._logged = False  # (this window reached max_samples and was logged)

    def _now_window(self) -> int:
        return int(time.time() * 1000) // self._window_ms

    def _clear(self) -> None:
        self._count, self._sum, self._max, self._min = 0, 0.0, 0.0, 0.0

    def _summary(self, count, total, high, low) -> dict:
        values = {Aggregation.MEAN: total / count if count else 0.0,
                  Aggregation.COUNT: float(count), Aggregation.SUM: total,
                  Aggregation.MAX: high, Aggregation.MIN: low}
        return {a: values[a] for a in self._aggregations if a != Aggregation.VALUE}

    def _log(self) -> None:
        self._last = self._summary(self._count, self._sum, self._max, self._min)
        if self._count:
            data = {f"{self.name}.{a.name.lower()}": v for a, v in self._last.items()}
            log_event(Event(STAT_EVENT, datetime.datetime.now(), data))
        self._clear()

    def add(self, v: float) -> None:
        """Add a value to the current window (dropped once ``max_samples`` were added)."""
        window = self._now_window()
        if window != self._window:
            self._log()
            self._window, self._logged = window, False
        if self._logged:
            return
        v = float(v)
        self._max = v if not self._count else max(self._max, v)
        self._min = v if not self._count else min(self._min, v)
        self._count += 1
        self._sum += v
        if self._count >= self._max_samples:
            self._log()
            self._logged = True

    def get(self) -> dict:
        """The aggregations of the last logged window (zeros before any)."""
        return dict(self._last)

    @property
    def count(self) -> int:
        """The number of values in the current window."""
        return self._count

    def __del__(self) -> None:
        try:
            if self._count:
                self._log()
        except Exception:  # noqa: S110 - (interpreter shutdown: nothing left to log to)
            pass


class TensorboardEventHandler:
    """An event handler writing ``torch.monitor.Stat`` events to a SummaryWriter as
    scalars."""

    def __init__(self, writer) -> None:
        self._writer = writer

    def __call__(self, event: Event) -> None:
        if event.name == STAT_EVENT:
            for key, value in event.data.items():
                self._writer.add_scalar(key, value, walltime=event.timestamp.timestamp())
