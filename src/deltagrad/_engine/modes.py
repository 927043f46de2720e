"""The switches every op reads: grad mode, inference mode, anomaly mode and capture_step's
recording, with their context managers and anomaly mode's checks.

Split from ``autograd`` (the backward sweep), which re-exports these names: the engine's other
modules import them from there. This module imports only NumPy.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import traceback
import warnings

import numpy as np

__all__ = [
    "AnomalyError",
    "detect_anomaly",
    "enable_grad",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]


class AnomalyError(FloatingPointError, RuntimeError):
    """A NaN or infinity appeared in forward or backward while anomaly detection was on (a
    RuntimeError too, as PyTorch's anomaly error is)."""


AnomalyError.__module__ = "deltagrad"  # (tracebacks name it where users import it from)


class _GradMode:
    enabled = True


class _InferenceMode:
    """``enabled`` inside ``inference_mode()`` (autograd/grad_mode.py); ``marking`` from the
    first time it is entered on, so that results that do not require grad are checked by
    ``mark_inference`` (one test each until then)."""

    enabled = False
    marking = False


_INFERENCE_SAVED = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around you can make a clone to "
    "get a normal tensor and use it in autograd.")
_INFERENCE_INPLACE = (
    "Inplace update to inference tensor outside InferenceMode is not allowed. You can make a "
    "clone to get a normal tensor before doing inplace update.")


def check_inference_saved(node) -> None:
    """PyTorch's refusal to record a node whose backward reads an inference tensor (called
    for new nodes once inference_mode has been used: ``_InferenceMode.marking``)."""
    inputs = node._inputs
    for i, x in enumerate(inputs):
        if getattr(x, "_inference", False):
            from .versions import saved  # (rare: only with an inference tensor in a graph)

            if i in saved(node)[1]:
                raise RuntimeError(_INFERENCE_SAVED)


def check_inference_inplace(tensor) -> None:
    """PyTorch's refusal of an in-place change of an inference tensor outside inference_mode
    (callers test ``_InferenceMode.marking`` first)."""
    if not _InferenceMode.enabled and getattr(tensor, "_inference", False):
        raise RuntimeError(_INFERENCE_INPLACE)


def mark_inference(out, inputs) -> None:
    """PyTorch's inference tensors (the Tensor slot ``_inference``, read by ``is_inference``):
    inside inference_mode every new tensor but a view of a normal tensor is one; outside, a view
    of one is one. (Nothing that requires grad is made inside, or is a view of one.)"""
    data = out._data
    view = bool(inputs) and (data.base is not None or inputs[0]._data is data)
    if _InferenceMode.enabled:
        if view:
            for x in inputs:
                if not getattr(x, "_inference", False) and np.may_share_memory(data, x._data):
                    return
        out._inference = True
    elif view:
        for x in inputs:
            if getattr(x, "_inference", False) and np.may_share_memory(data, x._data):
                out._inference = True
                return


class _Anomaly:
    enabled = False  # the check every op reads: anomaly mode on with check_nan
    # PyTorch's two flags, for is_anomaly_enabled / is_anomaly_check_nan_enabled: the mode can
    # be on without the NaN check (it then only records where ops were made, here nothing).
    on = False
    check_nan = True


def _set_anomaly(on: bool, check_nan: bool) -> None:
    _Anomaly.on, _Anomaly.check_nan = bool(on), bool(check_nan)
    _Anomaly.enabled = _Anomaly.on and _Anomaly.check_nan


class _Recording:
    """While ``capture_step`` records a step, ``notes`` is a dict that every op result which
    does not require grad is noted in (``{id(out): (out, op, inputs, attrs)}``): such results
    (integer ids and targets reshaped or indexed, masks made under no_grad) are otherwise leaves,
    and a replay must recompute them from the step's new inputs. ``None`` otherwise: the ops
    pay one test, in the branch of results that do not require grad."""

    notes = None




def is_anomaly_enabled() -> bool:
    """Whether anomaly mode (``detect_anomaly``) is on, with or without its NaN/inf check."""
    return _Anomaly.on or _Anomaly.enabled


class _SwitchContext:
    """Sets a switch (``switch.enabled``) for a ``with`` block; also a function decorator."""

    switch = None  # the class whose ``enabled`` flag this context sets
    mode = True

    def __enter__(self):
        self._previous = self.switch.enabled
        self.switch.enabled = self.mode
        return self

    def __exit__(self, *exc):
        self.switch.enabled = self._previous
        return False

    def __call__(self, function):
        return decorate(function, self._copy)

    def _copy(self):
        return self.__class__()


def decorate(function, make_context):
    """``function`` run inside a fresh ``make_context()``; a generator function's body runs in
    it on each resume only, so the mode never leaks to the caller between yields (PyTorch's)."""
    if inspect.isgeneratorfunction(function):
        @functools.wraps(function)
        def generator(*args, **kwargs):
            with make_context():
                inner = function(*args, **kwargs)
            try:
                with make_context():
                    item = inner.send(None)
                while True:
                    try:
                        request = yield item
                    except GeneratorExit:
                        with make_context():
                            inner.close()
                        raise
                    except BaseException:  # thrown in by the caller: passed on to the body
                        with make_context():
                            item = inner.throw(*sys.exc_info()[1:2])
                    else:
                        with make_context():
                            item = inner.send(request)
            except StopIteration as stop:
                return stop.value

        return generator

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with make_context():
            return function(*args, **kwargs)

    return wrapper


class detect_anomaly(_SwitchContext):  # noqa: N801 - PyTorch's name
    """Raise at the first op whose forward output or backward gradient holds NaN or inf.

    While on, every op also records where in user code it was created, and the error names that
    place. It costs a finiteness check per op (and a stack capture), so it is a debugging mode;
    off, the engine pays one flag test per op.

    >>> import numpy as np
    >>> import deltagrad as dg
    >>> x = dg.tensor([-1.0], requires_grad=True)
    >>> with dg.detect_anomaly(), np.errstate(invalid="ignore"):
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    deltagrad.AnomalyError: forward of op 'log' produced nan ...
    """

    switch = _Anomaly

    def __init__(self, check_nan: bool = True):
        self.mode = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self._previous = (_Anomaly.on, _Anomaly.check_nan)
        _set_anomaly(True, self.mode)
        return self

    def __exit__(self, *exc):
        _set_anomaly(*self._previous)
        return False

    def _copy(self):
        return detect_anomaly(self.mode)


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off from now on (``detect_anomaly`` as a flag); used as a
    context manager, the previous setting comes back at the end of the ``with`` block.

    Args:
        mode: on or off.
        check_nan: PyTorch's "raise on NaN" part of anomaly mode; deltagrad's anomaly mode
            checks nothing else, so with ``check_nan=False`` it is on but checks nothing.
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (_Anomaly.on, _Anomaly.check_nan)
        _set_anomaly(mode, check_nan)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc) -> bool:
        _set_anomaly(*self.prev)
        return False


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # deltagrad/


def _user_frames():
    """The call stack outside deltagrad itself, innermost last (where the user made the op)."""
    frames = traceback.extract_stack()
    outside = [f for f in frames if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    return outside or frames[-1:]


def _where(frames) -> str:
    if not frames:
        return "  (location unknown)"
    return "".join(traceback.format_list(frames[-3:])).rstrip()


def _bad_values(array) -> str | None:
    data = getattr(array, "values", array) if getattr(array, "is_row_sparse", False) else array
    data = getattr(data, "_data", data) if not isinstance(data, np.ndarray) else data
    data = np.asarray(data)
    if data.dtype.kind not in "fc" or np.isfinite(data).all():
        return None
    return "nan" if np.isnan(data).any() else "inf"


def check_forward(out, op, inputs) -> None:
    """Anomaly mode's forward check; records where ``out`` was created."""
    frames = _user_frames()
    out._origin = frames
    bad = _bad_values(out._data)
    if bad is not None:
        bad_inputs = [i for i, x in enumerate(inputs) if _bad_values(x._data) is not None]
        cause = (f"; input(s) {bad_inputs} already held nan/inf" if bad_inputs
                 else "; its inputs were finite, so this op is where it starts")
        raise AnomalyError(
            f"forward of op '{op.name}' produced {bad} (output shape {out._data.shape}, input "
            f"shapes {', '.join(str(x._data.shape) for x in inputs)}){cause}. Created at:\n"
            f"{_where(frames)}"
        )


def _check_backward(node, grads) -> None:
    for position, gx in enumerate(grads):
        if gx is None:
            continue
        bad = _bad_values(gx)
        if bad is not None:
            raise AnomalyError(
                f"backward of op '{node._op.name}' produced {bad} in the gradient for its input "
                f"{position} (shape {node._inputs[position]._data.shape}). The op was created "
                f"at:\n{_where(getattr(node, '_origin', None))}"
            )


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded for differentiation."""
    return _GradMode.enabled


class _GradModeContext(_SwitchContext):
    """Base of the grad-mode context managers."""

    switch = _GradMode

    def __new__(cls, *args, **kwargs):
        # PyTorch also takes the bare class as a decorator: `@no_grad` without parentheses.
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])
        return super().__new__(cls)


class no_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager (or decorator) in which operations record no graph.

    >>> import deltagrad as dg
    >>> x = dg.ones(2, requires_grad=True)
    >>> with dg.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Context manager (or decorator) that turns recording back on inside ``no_grad``."""

    mode = True


class set_grad_enabled(_GradModeContext):  # noqa: N801 - PyTorch's name
    """Set grad mode on or off; usable as a plain call or as a context manager."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, function):
        # As a decorator, ``set_grad_enabled(mode)`` sets the mode only while the function runs:
        # undo what __init__ set (PyTorch's).
        _GradMode.enabled = self._previous
        mode = self.mode
        return decorate(function, lambda: set_grad_enabled(mode))

    def clone(self) -> set_grad_enabled:
        """A fresh context with the same mode (PyTorch's; sets the mode, as constructing does)."""
        return self.__class__(self.mode)
