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

from .versions import _root

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
    """A NaN or infinity appeared in forward or backward under deltagrad's strict anomaly mode
    (``detect_anomaly(strict=True)``; a RuntimeError too, as PyTorch's anomaly error is)."""


AnomalyError.__module__ = "deltagrad"  # (tracebacks name it where users import it from)


class _GradMode:
    enabled = True


class _InferenceMode:
    """``enabled`` inside ``inference_mode()`` (autograd/grad_mode.py); ``marking`` from the
    first time it is entered on, so that results that do not require grad are checked by
    ``mark_inference`` (one test each until then)."""

    enabled = False
    marking = False
    used = False  # (entered once: a torch.func transform that turns marking on and off again
    # keeps it on then)
    # enable_grad / set_grad_enabled(True) inside inference_mode: PyTorch's is_grad_enabled()
    # reads True but nothing records (inference mode wins); the grad switch stays off and this
    # flag answers is_grad_enabled (s27 SL15: deltagrad recorded, then refused inference
    # tensors or made views non-leaves)
    grad_on = False


_INFERENCE_SAVED = (
    "Inference tensors cannot be saved for backward. Please do not use Tensors created in "
    "inference mode in computation tracked by autograd. To work around this, you can make a "
    "clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
    "`torch.inference_mode()`.")  # (PyTorch 2.13's words: PR21)
_INFERENCE_INPLACE = (  # (PyTorch's words exactly, its missing spaces included: PR21)
    "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
    "clone to get a normal tensor before doing inplace update.See "
    "https://github.com/pytorch/rfcs/pull/17 for more details.")


# vmap's first example (s30 BR23): deltagrad's vmap is a loop, so a value computed from a mapped
# input is a plain tensor; while the first example runs (``MAPPED`` holds vmap's randomness),
# the example's inputs carry ``_mapped`` and every result of one of them is marked too
# (mark_inference / check_inference_saved, which run per result while ``marking`` is on).
# PyTorch's refusals of a batched value read it: .item() and a Python branch on one, a
# data-dependent shape, randomness='same' with a batched parameter. Cost: the first example's
# results only (one attribute test an input); nothing outside vmap.
MAPPED: list = []
_ITEM = ("vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over "
         "calling .item() on a Tensor, please try to rewrite what you're doing with other "
         "operations. If error is occurring somewhere inside PyTorch internals, please file a "
         "bug report.")
_CONTROL_FLOW = ("vmap: It looks like you're attempting to use a Tensor in some data-dependent "
                 "control flow. We don't support that yet, please file an issue at "
                 "https://github.com/pytorch/pytorch/issues .")
_BOOL_MASK = ("vmap: We do not support batching operators that can support dynamic shape. "
              "Attempting to batch over indexing with a boolean mask.")
_SAME_RANDOMNESS = ("Vmap does not currently support same randomness with a batched tensor "
                    "input. Please file an issue with functorch")
VMAP_REFUSALS = {"item": _ITEM, "bool": _CONTROL_FLOW, "bool_mask": _BOOL_MASK,
                 "same": _SAME_RANDOMNESS,
                 "tolist": "Cannot access data pointer of Tensor that doesn't have storage",
                 "equal": "Batching rule not implemented for aten::equal. We could not "
                          "generate a fallback.",
                 "allclose": "vmap over torch.allclose isn't supported yet. Please file an "
                             "issue at https://github.com/pytorch/pytorch/issues if you need "
                             "this feature."}


def refuse_mapped(what: str, *tensors) -> None:
    """PyTorch's vmap error ``what`` (``VMAP_REFUSALS``'s key, or an ATen operator name for
    a dynamic shape) if vmap's first example computed one of ``tensors`` from a mapped input
    and the mapped function itself asked (``by_user``; callers test ``MAPPED`` first;
    ``'same'`` refuses under randomness='same' only)."""
    if what == "same" and MAPPED[-1] != "same":
        return
    for t in tensors:
        if getattr(t, "_mapped", False):
            if by_user():
                raise RuntimeError(VMAP_REFUSALS.get(what) or (
                    "vmap: We do not support batching operators that can output dynamic "
                    f"shape. Attempted to vmap over aten::{what}. Please file an issue at "
                    "https://github.com/pytorch/pytorch/issues if you need this feature."))
            return


# The functions through which the mapped function asks for a refused thing itself (.item()
# and the number conversions, a branch, a dynamic shape, a draw): deltagrad's own functions
# that read a mapped value inside (linspace's tensor ends, cov's weights) compute as before,
# where PyTorch's batching rules compute too (s30 BR23's sweep: cov, corrcoef, linspace).
_ENTRIES = frozenset((
    "item", "_float", "_int", "_complex", "__index__", "__bool__", "tolist", "nonzero",
    "argwhere", "masked_select", "__getitem__", "unique", "unique_consecutive",
    "_unique_consecutive_method", "equal", "allclose", "bernoulli", "bernoulli_", "poisson",
    "normal", "multinomial", "binomial", "resize_as_"))
# (the wrappers' frames: meta_ops' call, overrides' public (__torch_function__ dispatch, armed
# once a Tensor subclass exists), subclassing's method, functools-style wrappers)
_GLUE = frozenset(("call", "public", "method", "wrapper", "wrapped", "deprecated",
                   "autocast_wrapper"))


def by_user(depth: int = 2) -> bool:
    """Whether the deltagrad function the mapped function called (the outermost deltagrad
    frame on the stack from ``depth`` frames out, wrappers aside) is one of ``_ENTRIES``: the
    refused thing was asked for by the mapped function, not read inside another deltagrad
    function."""
    frame, entry = sys._getframe(depth), ""
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name == "deltagrad._func_vmap" or (name != "deltagrad"
                                              and not name.startswith("deltagrad.")):
            break
        if frame.f_code.co_name not in _GLUE:
            entry = frame.f_code.co_name
        frame = frame.f_back
    return entry in _ENTRIES


def refuse_mapped_mask(index) -> None:
    """PyTorch's vmap error for a boolean mask computed from a mapped input in ``index`` (a
    subscript: one index or a tuple of them; callers test ``MAPPED`` first)."""
    for item in index if type(index) is tuple else (index,):
        if getattr(item, "_mapped", False) and item._data.dtype.kind in "bu" and \
                item._data.ndim and by_user():  # (bool, or the deprecated uint8 mask)
            raise RuntimeError(_BOOL_MASK)


def _pass_mapped(out, inputs) -> None:
    for x in inputs or ():
        if getattr(x, "_mapped", False):
            out._mapped = True
            return


def _made_from_mapped(out) -> None:
    """Mark a new leaf (a result recorded with no inputs: a comparison, any / all, isnan, ...)
    made by deltagrad's own functions from a mapped value: one of them, on the way from the
    caller's code down to here, holds a marked tensor among its arguments and locals.

    NOTE: a leaf is read off the frames of deltagrad's functions only (the walk stops at the
    first frame of other code), so ``dg.tensor(1.0)`` in the mapped function stays unmapped
    (PyTorch's is unbatched) and ``r > 0`` is mapped; a leaf made by a deltagrad function
    from an unmapped tensor while a mapped one is among that function's locals is taken as
    mapped (none known). First example only, a leaf ~2 us."""
    frame = sys._getframe(2)  # (the maker of the leaf: _result's caller or further out)
    for _ in range(_MAKER_FRAMES):
        if frame is None:
            return
        name = frame.f_globals.get("__name__", "")
        if name != "deltagrad" and not name.startswith("deltagrad."):
            return
        for value in frame.f_locals.values():
            held = getattr(value, "__dict__", None)
            if type(held) is dict and held.get("_mapped", False):
                out._mapped = True
                return
        frame = frame.f_back


_MAKER_FRAMES = 8


def check_inference_saved(node) -> None:
    """PyTorch's refusal to record a node whose backward reads an inference tensor (called
    for new nodes once inference_mode has been used: ``_InferenceMode.marking``)."""
    inputs = node._inputs
    if MAPPED:
        _pass_mapped(node, inputs)
    for i, x in enumerate(inputs):
        if getattr(x, "_inference", False):
            from .versions import saved  # (rare: only with an inference tensor in a graph)

            if i in saved(node)[1]:
                raise RuntimeError(_INFERENCE_SAVED)


_CAPTURED_INPLACE = (
    "During a grad (vjp, jvp, grad, etc) transform, the function provided attempted to call an "
    "in-place operation that would mutate a captured Tensor. This is not supported; please "
    "rewrite the function being transformed to explicitly accept the mutated Tensor(s) as "
    "inputs.")
# The storages a running torch.func transform's function captured, one set per transform
# (deltagrad/_func_captured.py, which sets `marking` while it is not empty).
CAPTURED: list = []
# vmap's running examples (deltagrad/_func_vmap.py): id(root array) of each mapped input's
# storage -> (its step along the mapped dim in elements, the first example's first and last
# byte address, the step in bytes, the enclosing vmap's entry or None, [the running index]);
# None: two mapped inputs on one storage with different strides. An as_strided offset into
# such a storage is the running example's (PyTorch's batched as_strided): api/strided.py.
VMAP_SHIFTS: dict = {}


class UnmappedWrites(dict):
    """vmap's entry in ``CAPTURED``: its unmapped tensors' storages (id -> root array). Their
    in-place changes are recorded, not refused: ``before`` holds a storage's content before its
    first write, and vmap's loop (``_func_vmap``) makes the change happen once."""

    def __init__(self, roots: dict, mapped=frozenset(), refusal: str = "") -> None:
        super().__init__(roots)
        self.before: dict = {}
        # (the mapped inputs' storages, and PyTorch's error for an in-place op whose self is
        # unmapped and another argument reads one of them: s29 BR21)
        self.mapped, self.refusal = mapped, refusal


def check_inference_inplace(tensor, compute=None) -> None:
    """PyTorch's refusal of an in-place change of an inference tensor outside inference_mode
    (callers test ``_InferenceMode.marking`` first), and of a tensor a torch.func transform's
    function captured (``CAPTURED``; ``compute``: the in-place op's closure, whose arguments
    are looked at for mapped inputs)."""
    if not _InferenceMode.enabled and getattr(tensor, "_inference", False):
        raise RuntimeError(_INFERENCE_INPLACE)
    if CAPTURED:
        check_captured(tensor, compute)


def check_captured(tensor, compute=None) -> None:
    """PyTorch's refusal, inside a grad-type torch.func transform, of an in-place change of a
    tensor its function captured (``tensor`` shares a storage in ``CAPTURED``); inside vmap,
    of one into an unmapped tensor from a mapped input's view (PyTorch refuses by batchedness;
    a value computed from a mapped input is left to vmap's comparison of the examples)."""
    data = tensor._data
    if not isinstance(data, np.ndarray):
        return
    key = id(_root(data))
    for level in CAPTURED:
        if key in level:
            if type(level) is not UnmappedWrites:
                raise RuntimeError(_CAPTURED_INPLACE)
            if compute is not None and level.mapped and _reads(compute, level.mapped):
                raise RuntimeError(level.refusal)
            if key not in level.before:
                level.before[key] = level[key].copy()


def _reads(source, mapped) -> bool:
    """Whether an in-place op's ``source`` views one of the ``mapped`` storages: a tensor or
    array, a tuple / list / dict of them, or a closure (``_inplace``'s ``compute``) that holds
    one of those."""
    cells = getattr(source, "__closure__", None)
    values = [source] if cells is None else []
    for cell in cells or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # (an empty cell)
            pass
    for value in values:
        items = (value.values() if isinstance(value, dict)
                 else value if isinstance(value, (tuple, list)) else (value,))
        for item in items:
            data = item if isinstance(item, np.ndarray) else getattr(item, "_data", None)
            if isinstance(data, np.ndarray) and id(_root(data)) in mapped:
                return True
    return False


def mark_inference(out, inputs) -> None:
    """PyTorch's inference tensors (the Tensor slot ``_inference``, read by ``is_inference``):
    inside inference_mode every new tensor but a view of a normal tensor is one; outside, a view
    of one is one. (Nothing that requires grad is made inside, or is a view of one.)

    The slot is set either way, False included, and an input's unset slot is set False when
    read here: reading an unset slot raises inside getattr (~0.2 us), and after the first
    inference_mode every result comes here (no_grad's too). W9's minGPT greedy decoding
    (~600 results a forward, inference_mode used in the process): no_grad 0.96, inference_mode
    0.98 of its time with HEAD's mark_inference (thread time, medians of 11 alternated rounds;
    SP38)."""
    if MAPPED:
        if inputs:
            _pass_mapped(out, inputs)
        else:
            _made_from_mapped(out)
    data = out._data
    view = bool(inputs) and (data.base is not None or inputs[0]._data is data)
    if _InferenceMode.enabled:
        if view:
            for x in inputs:
                try:  # (inline, not a call: the loop runs for most results)
                    flag = x._inference
                except AttributeError:
                    flag = _unset(x)
                if not flag and np.may_share_memory(data, x._data):
                    out._inference = False
                    return
        out._inference = True
        return
    out._inference = False
    if view:
        for x in inputs:
            try:
                flag = x._inference
            except AttributeError:
                flag = _unset(x)
            if flag and np.may_share_memory(data, x._data):
                out._inference = True
                return


def _unset(x) -> bool:
    """False, for ``x`` whose ``_inference`` slot is unset, which it then sets (False)."""
    try:
        x._inference = False
    except AttributeError:  # (not a Tensor: nothing to remember)
        pass
    return False


class _Anomaly:
    # The flag every op reads: while it is set, every result goes through ``tensor._result``,
    # which calls ``check_forward`` (the fast paths that make nodes inline step aside), and
    # backward takes the watched sweep, which calls ``_check_backward``. Set while anomaly mode
    # is on (with or without its NaN check) or a saved_tensors_hooks block is open.
    enabled = False
    # PyTorch's two flags, for is_anomaly_enabled / is_anomaly_check_nan_enabled: the mode can
    # be on without the NaN check (it then only records where ops were made).
    on = False
    check_nan = True
    # deltagrad's stricter checks of sessions 1-13, only when asked for (``strict=True``):
    # raise at a forward output holding NaN or inf, and at inf gradients too.
    strict = False

    @staticmethod
    def failed(error: BaseException) -> BaseException:
        """``error``, raised in a backward sweep, after anomaly mode's warning: PyTorch warns
        "Error detected in <node>" with the forward call's traceback before any error a node
        raises (its rule, a hook, a version check), not only NaN (whose check warned already).
        The node is the watched sweep's local ``node`` in the failing frame."""
        if _Anomaly.on and isinstance(error, Exception):
            node, tb = None, error.__traceback__
            while tb is not None:
                code = tb.tb_frame.f_code.co_name
                if code == "_check_backward":
                    return error  # (the NaN check warned)
                if code == "_sweep_watched":
                    node = tb.tb_frame.f_locals.get("node", node)
                tb = tb.tb_next
            if node is not None and getattr(node, "_op", None) is not None:
                _warn_origin(node, node_name[0](node))
        return error


# The (pack_hook, unpack_hook) pairs of the saved_tensors_hooks blocks open now, innermost last
# (autograd/graph.py pushes and pops them; tensor_hooks.pack_node applies the innermost).
saved_hooks: list = []
# Set by the engine's modules above this one, which this one may not import: tensor_hooks'
# pack_node, and node_names' name of a node as PyTorch's ``grad_fn.name()``.
packer: list = [None]
node_name: list = [lambda node: node._op.name]


def _refresh() -> None:
    _Anomaly.enabled = _Anomaly.on or bool(saved_hooks)


def _set_anomaly(on: bool, check_nan: bool, strict: bool = False) -> None:
    _Anomaly.on, _Anomaly.check_nan = bool(on), bool(check_nan)
    _Anomaly.strict = bool(on) and bool(strict)
    _refresh()


class _Recording:
    """While ``capture_step`` records a step, ``notes`` is a dict that every op result which
    does not require grad is noted in (``{id(out): (out, op, inputs, attrs)}``): such results
    (integer ids and targets reshaped or indexed, masks made under no_grad) are otherwise leaves,
    and a replay must recompute them from the step's new inputs. ``None`` otherwise: the ops
    pay one test, in the branch of results that do not require grad."""

    notes = None
    # forward_ad's hook inside a dual level (None outside one): called as notes is, with
    # (out, op, inputs, attrs), it gives a result made under no_grad from a dual its tangent
    # (PyTorch's forward AD does not depend on grad mode; s30 BR25)
    tangents = None
    # forward_ad's hook inside a dual level: ``hidden(tensor, value)`` for a tensor that
    # requires grad (``_rg``) only to carry a tangent (a result made under no_grad from a dual):
    # with value None, whether it reports requires_grad=False, as PyTorch's; with a bool
    # (requires_grad_), whether the call is taken by forward_ad (s31 BR26)
    hidden = None
    # and ``tangent_of(tensor)``: its tangent or None, for repr's ``tangent=`` (s31 BR26)
    tangent_of = None




def is_anomaly_enabled() -> bool:
    """Whether anomaly mode (``detect_anomaly``) is on, with or without its NaN check."""
    return _Anomaly.on


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
    """Anomaly mode, as PyTorch's: every op records where in user code it was created, and a
    backward function that returns NaN gradients raises RuntimeError naming it (``Function
    'SqrtBackward0' returned nan values in its 0th output.``), after a UserWarning that shows
    the traceback of the forward call that made the op.

    Forward values and infinities are not checked (a ``-inf`` attention mask runs as without
    the mode). It costs a stack capture per op, so it is a debugging mode; off, the engine pays
    one flag test per op.

    Args:
        check_nan: raise on NaN gradients (PyTorch's flag); False only records the tracebacks.
        strict: deltagrad's stricter checks as well (not PyTorch's): raise
            ``deltagrad.AnomalyError`` at the first op whose forward output holds NaN or inf,
            and at inf gradients too.

    >>> import warnings
    >>> import numpy as np
    >>> import deltagrad as dg
    >>> x = dg.tensor([-1.0], requires_grad=True)
    >>> with dg.detect_anomaly(), np.errstate(invalid="ignore"), warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     y = x.sqrt()  # nan in forward: not checked
    ...     y.backward()
    Traceback (most recent call last):
    ...
    RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output.
    """

    switch = _Anomaly

    def __init__(self, check_nan: bool = True, *, strict: bool = False):
        self.mode = check_nan
        self.strict = strict
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self._previous = (_Anomaly.on, _Anomaly.check_nan, _Anomaly.strict)
        _set_anomaly(True, self.mode, self.strict)
        return self

    def __exit__(self, *exc):
        _set_anomaly(*self._previous)
        return False

    def _copy(self):
        return detect_anomaly(self.mode, strict=self.strict)


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off from now on (``detect_anomaly`` as a flag); used as a
    context manager, the previous setting comes back at the end of the ``with`` block.

    Args:
        mode: on or off.
        check_nan: PyTorch's "raise on NaN gradients" part of anomaly mode; with
            ``check_nan=False`` the mode only records where ops were made.
        strict: deltagrad's stricter checks as well (see ``detect_anomaly``).
    """

    def __init__(self, mode: bool, check_nan: bool = True, *, strict: bool = False) -> None:
        self.prev = (_Anomaly.on, _Anomaly.check_nan, _Anomaly.strict)
        _set_anomaly(mode, check_nan, strict)

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
    """Called for every op result while ``_Anomaly.enabled``: anomaly mode records where
    ``out`` was created (and its strict form checks the values); a graph node made inside a
    saved_tensors_hooks block packs the values its backward reads."""
    if _Anomaly.on:
        frames = _user_frames()
        out._origin = frames
        if _Anomaly.strict and _Anomaly.check_nan:
            _check_forward_values(out, op, inputs, frames)
    if saved_hooks and out._inputs is not None:
        packer[0](out, *saved_hooks[-1])


def _check_forward_values(out, op, inputs, frames) -> None:
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
    """Anomaly mode's check of the gradients ``node``'s backward returned (the watched sweep
    calls it while ``_Anomaly.enabled``): PyTorch's RuntimeError at the first holding NaN,
    after a UserWarning with the traceback of the forward call that made the node."""
    if not (_Anomaly.on and _Anomaly.check_nan):
        return
    inputs = node._inputs
    for position, gx in enumerate(grads):
        if gx is None or not inputs[position]._rg:
            continue  # (a rule may compute a gradient that no input asked for: PyTorch's not)
        bad = _bad_values(gx)
        if bad == "nan":
            name = node_name[0](node)
            _warn_origin(node, name)
            raise RuntimeError(f"Function '{name}' returned nan values in its {position}th "
                               "output.")
        if bad is not None and _Anomaly.strict:
            raise AnomalyError(
                f"backward of op '{node._op.name}' produced {bad} in the gradient for its input "
                f"{position} (shape {node._inputs[position]._data.shape}). The op was created "
                f"at:\n{_where(getattr(node, '_origin', None))}"
            )


def _warn_origin(node, name: str) -> None:
    frames = getattr(node, "_origin", None) or []
    trace = "".join(traceback.format_list(frames)).rstrip("\n")
    warnings.warn(f"Error detected in {name}. Traceback of forward call that caused the error:\n"
                  f"{trace}", UserWarning, stacklevel=2)


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded for differentiation (inside inference_mode,
    whether grad mode was turned on there, as PyTorch's: nothing records in either case)."""
    return _GradMode.enabled or (_InferenceMode.grad_on and _InferenceMode.enabled)


def _inference_grad(context, mode) -> None:
    """Inside inference_mode, keep the grad switch off and note ``mode`` for is_grad_enabled
    (``context`` keeps the old note for its exit)."""
    if _InferenceMode.enabled:
        context._on = _InferenceMode.grad_on
        _InferenceMode.grad_on = bool(mode)
        _GradMode.enabled = False


def _inference_grad_exit(context) -> None:
    _InferenceMode.grad_on = context._on
    context._on = None


class _GradModeContext(_SwitchContext):
    """Base of the grad-mode context managers."""

    switch = _GradMode

    def __new__(cls, *args, **kwargs):
        # PyTorch also takes the bare class as a decorator: `@no_grad` without parentheses.
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])
        return super().__new__(cls)

    _on = None  # (the inference grad note to restore: _inference_grad)

    def __enter__(self):
        super().__enter__()
        if _InferenceMode.enabled:
            _inference_grad(self, self.mode)
        return self

    def __exit__(self, *exc):
        if self._on is not None:
            _inference_grad_exit(self)
        return super().__exit__(*exc)


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
        if _InferenceMode.enabled:
            _inference_grad(self, self.mode)

    def __enter__(self):
        return self

    def __call__(self, function):
        # As a decorator, ``set_grad_enabled(mode)`` sets the mode only while the function runs:
        # undo what __init__ set (PyTorch's).
        _GradMode.enabled = self._previous
        if self._on is not None:
            _inference_grad_exit(self)
        mode = self.mode
        return decorate(function, lambda: set_grad_enabled(mode))

    def clone(self) -> set_grad_enabled:
        """A fresh context with the same mode (PyTorch's; sets the mode, as constructing does)."""
        return self.__class__(self.mode)
