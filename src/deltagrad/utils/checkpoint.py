"""Activation checkpointing (PyTorch's ``torch.utils.checkpoint``): recompute instead of keep.

Limits (each raises a clear error): a checkpointed function may not capture, by closure, a
non-leaf tensor that requires grad (pass it as an argument); double backward through it and
``deltagrad.grad`` through it (whose weights would have to take gradients in ``.grad``) are not
supported, as PyTorch's reentrant variant refuses ``grad`` too.

The backward runs a second sweep inside the engine's (the engine supports that: a weight used
inside and outside keeps its outer gradient).
"""

from __future__ import annotations

import contextlib
import enum
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _engine as dg
from .._engine import autograd as _sweep
from .._engine.api.backward import grad as _grad
from .._engine.autograd import enable_grad, is_grad_enabled
from .._engine.device import check_device
from .._engine.random import get_rng_state, set_rng_state
from .._engine.tensor import Tensor, _leaf
from ..autograd.function import Function

__all__ = ["CheckpointError", "CheckpointPolicy", "SelectiveCheckpointContext", "checkpoint",
           "checkpoint_sequential", "create_selective_checkpoint_contexts",
           "get_device_states", "noop_context_fn", "set_checkpoint_early_stop",
           "set_device_states", "check_backward_validity", "detach_variable",
           "set_checkpoint_debug_enabled", "DefaultDeviceType"]


class CheckpointError(RuntimeError):
    """Raised when the recomputation does not match the forward (PyTorch's class)."""


class CheckpointPolicy(enum.Enum):
    """What a selective-checkpoint policy says of an op's output: keep it or recompute it."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


class SelectiveCheckpointContext:
    """What a policy function is given first (``is_recompute``: whether this is the
    recomputation), as PyTorch's."""

    def __init__(self, *, is_recompute: bool) -> None:
        self.is_recompute = is_recompute


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    """PyTorch's selective activation checkpointing: the two contexts for ``checkpoint``'s
    ``context_fn`` (``use_reentrant=False``).

    Args:
        policy_fn_or_list: ``policy_fn(ctx, op, *args, **kwargs) -> CheckpointPolicy`` or a list
            of the ops whose outputs to save.
        allow_cache_entry_mutation: accepted for PyTorch's signature.

    Returns:
        Two context managers (forward, recompute).

    NOTE: deltagrad's checkpoint keeps no activation of the function and recomputes it all;
    the policy, which only chooses what may be kept instead of recomputed, is checked but
    never consulted (the gradients are the same; PyTorch would call it once per op).
    """
    if isinstance(policy_fn_or_list, list):
        pass
    elif not callable(policy_fn_or_list):
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    return contextlib.nullcontext(), contextlib.nullcontext()


_early_stop = [True]  # set_checkpoint_early_stop's setting (PyTorch's default: on)


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool):
    """Within it, whether a non-reentrant checkpoint's recomputation stops once it has
    recomputed what backward needs (PyTorch's switch). deltagrad's recomputation is the whole
    function either way, so it changes no result; the setting is kept for the block."""
    previous = _early_stop[0]
    _early_stop[0] = bool(enable)
    try:
        yield
    finally:
        _early_stop[0] = previous

_DETERMINISM_CHECKS = ("default", "none")
_debug = [None]  # set_checkpoint_debug_enabled's setting (None: each call's own `debug`)


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: bool | None):
    """Within it, whether checkpoints print debug information (None: each call's ``debug``);
    deltagrad keeps no debug trace, so the setting is only kept for the block."""
    previous = _debug[0]
    _debug[0] = enabled
    try:
        yield
    finally:
        _debug[0] = previous


def check_backward_validity(inputs: Iterable[Any]) -> None:
    """Warn when no tensor among ``inputs`` requires grad (the gradients would be None)."""
    if not any(x.requires_grad for x in inputs if isinstance(x, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)


def detach_variable(inputs: tuple) -> tuple:
    """Each tensor of the tuple ``inputs`` detached, keeping its ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            requires_grad, x = x.requires_grad, x.detach()
            x.requires_grad = requires_grad
        out.append(x)
    return tuple(out)


class DefaultDeviceType:
    """The device type whose RNG state checkpoints save when no tensor names one: ``"cpu"``
    here (no accelerator) until ``set_device_type`` changes it."""

    _default_device_type: str | None = None

    @staticmethod
    def set_device_type(device: str = "cuda") -> None:
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type() -> str:
        if not DefaultDeviceType._default_device_type:
            DefaultDeviceType._default_device_type = "cpu"
        return DefaultDeviceType._default_device_type


def noop_context_fn() -> tuple[contextlib.AbstractContextManager,
                               contextlib.AbstractContextManager]:
    """The default ``context_fn``: two context managers that do nothing."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def get_device_states(*args: Any) -> tuple[list[int], list[Tensor]]:
    """The accelerator devices of the tensors among ``args`` and their RNG states, as PyTorch's
    helper (the CPU's generator is not included): deltagrad's tensors are all on the CPU, so
    both lists are empty."""
    return [], []


def set_device_states(devices: list, states: list, *, device_type: str | None = None) -> None:
    """Restore accelerator RNG states saved by ``get_device_states`` (there are none on the
    CPU; any given device cannot exist in deltagrad, which raises)."""
    if len(devices) != len(states):
        raise ValueError("set_device_states: devices and states differ in length")
    for device in devices:  # (an int names a CUDA device, as in PyTorch)
        check_device(device, "set_device_states")


def _pack(result: Any) -> tuple[Tensor, list]:
    """One flat Tensor from ``function``'s output (the Function records one output), and the
    layout that ``_unpack`` needs to give the user back a tensor or a tuple of tensors."""
    if isinstance(result, Tensor):
        return result, [("single", tuple(result.shape), result.dtype)]
    if not isinstance(result, (tuple, list)):
        raise TypeError(f"checkpoint: function returned {type(result).__name__}; a checkpointed "
                        "function returns a Tensor or a tuple of Tensors")
    layout, pieces = [], []
    floats = [r for r in result if isinstance(r, Tensor) and r.is_floating_point()]
    # NOTE: the floating outputs travel as one flat array of their common dtype; the casts
    # back on unpacking are differentiable, so each output gets its own gradient.
    common = floats[0].dtype if floats else dg.float32
    for r in floats[1:]:
        common = dg.promote_types(common, r.dtype)
    for r in result:
        if isinstance(r, Tensor) and r.is_floating_point():
            layout.append(("float", tuple(r.shape), r.dtype))
            pieces.append(r.reshape(-1).to(common))
        else:
            layout.append(("other", r, None))  # integers, bools and non-tensors: no gradient
    if not pieces:
        return dg.zeros(0, dtype=common), layout
    return (pieces[0] if len(pieces) == 1 else dg.cat(pieces)), layout


def _unpack(flat: Tensor, layout: list) -> Any:
    if layout[0][0] == "single":
        return flat
    out, start = [], 0
    for kind, shape, dtype in layout:
        if kind == "other":
            value = shape
            out.append(value.detach() if isinstance(value, Tensor) else value)
            continue
        size = int(np.prod(shape, dtype=np.int64))
        out.append(flat[start:start + size].reshape(shape).to(dtype))
        start += size
    return tuple(out)


def _layout_key(layout: list) -> list:
    """What the determinism check compares: the kinds, shapes and dtypes of the outputs."""
    return [(kind, shape if kind != "other" else None, dtype) for kind, shape, dtype in layout]


def _graph_leaves(root: Tensor, first_serial: int, inputs: list) -> list:
    """The leaves requiring grad that a backward from ``root`` reaches, other than ``inputs``.

    Raises if it reaches a node made before the recomputation (a non-leaf tensor captured by
    closure): the inner sweep would run into, and free, the outer graph.
    """
    own = {id(x) for x in inputs}
    seen, leaves, stack = {id(root)}, [], [root]
    while stack:
        node = stack.pop()
        if node._op is None:
            if id(node) not in own:
                leaves.append(node)
            continue
        if node._serial <= first_serial:
            raise RuntimeError(
                f"checkpoint: the function uses a tensor of shape {tuple(node.shape)} made "
                "outside it that requires grad and is not a leaf (it was captured by closure); "
                "pass it to checkpoint as an argument instead"
            )
        for x in node._inputs or ():
            if x._rg and id(x) not in seen:
                seen.add(id(x))
                stack.append(x)
    return leaves


class _Checkpoint(Function):
    """Forward without a graph; backward recomputes and backpropagates through the function."""

    @staticmethod
    def forward(ctx, *args, run, preserve, context_fn, check, info, reentrant=True):
        ctx.run, ctx.preserve, ctx.check, ctx.reentrant = run, preserve, check, reentrant
        ctx.context_fn = context_fn
        ctx.args = args
        ctx.rng_state = get_rng_state() if preserve else None
        forward_context, _ = context_fn()
        with forward_context:
            result = run(*args)
        flat, layout = _pack(result)
        ctx.layout = layout
        info["layout"] = layout
        return flat

    @staticmethod
    def backward(ctx, grad_output):
        if is_grad_enabled():  # the sweep turns grad mode on only for create_graph=True
            raise RuntimeError("checkpoint: double backward (create_graph=True) through a "
                               "checkpointed function is not supported")
        capturing = _sweep._Sweep.capturing
        if capturing and ctx.reentrant:  # (PyTorch's reentrant checkpoint refuses grad())
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() "
                "or passing an `inputs` parameter to .backward(). To resolve this error, you "
                "can either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument.")
        inputs = []
        for needs, a in zip(ctx.needs_input_grad, ctx.args):
            if isinstance(a, Tensor):
                a = a.detach()
                if needs:
                    a.requires_grad_(True)
                inputs.append(a)
        pending = iter(inputs)
        args = [next(pending) if isinstance(a, Tensor) else a for a in ctx.args]
        first_serial = _sweep._counters.created
        outer_state = get_rng_state() if ctx.preserve else None
        try:
            if ctx.preserve:
                set_rng_state(ctx.rng_state)
            _, recompute_context = ctx.context_fn()
            with enable_grad(), recompute_context:
                flat, layout = _pack(ctx.run(*args))
        finally:
            if ctx.preserve:
                set_rng_state(outer_state)
        if ctx.check == "default" and _layout_key(layout) != _layout_key(ctx.layout):
            raise CheckpointError(
                "checkpoint: the recomputed outputs differ from the forward's in number, shape "
                f"or dtype ({_layout_key(layout)} against {_layout_key(ctx.layout)}); the "
                "function must compute the same thing both times"
            )
        if flat.requires_grad:
            _graph_leaves(flat, first_serial, inputs)  # (raises on a captured non-leaf)
            if capturing:
                # A grad() sweep: the recomputed graph's weights keep their .grad untouched, as
                # PyTorch's non-reentrant checkpoint leaves them; the arguments' gradients come
                # from a nested grad() (s29 BR20).
                wanted = [a for a in inputs if a.requires_grad]
                got = iter(_grad(flat, wanted, grad_output, allow_unused=True) if wanted
                           else ())
                return tuple(next(got) if isinstance(a, Tensor) and a.requires_grad else None
                             for a in args)
            # A sweep inside the engine's own: the engine sets aside, and restores, the state of
            # the weights both sweeps reach (_engine/graph_walks.py, _count_nested).
            flat.backward(grad_output)
        return tuple(a.grad if isinstance(a, Tensor) and a.requires_grad else None
                     for a in args)


_USE_REENTRANT_WARNING = (
    "torch.utils.checkpoint{}: the use_reentrant parameter should be passed explicitly. {} "
    "use_reentrant=False is recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
    "differences between the two variants.")


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable = noop_context_fn, determinism_check: str = "default",
               debug: bool = False, early_stop: bool = True, preserve_rng_state: bool = True,
               **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its activations; recompute at backward.

    Args:
        function: what to run; its tensor arguments and the tensors it captures (weights)
            receive gradients as without checkpointing.
        *args: its positional arguments (tensors and anything else).
        use_reentrant: PyTorch's choice of implementation; ``None`` means ``True``. With
            ``True``, ``context_fn`` and ``debug`` must keep their defaults and no ``**kwargs``
            are accepted; with ``False``, the weights inside get gradients even when no argument
            requires grad.
        context_fn: returns two context managers, entered around the forward run and around
            the recomputation (``use_reentrant=False`` only).
        determinism_check: ``"default"`` checks that the recomputation returns outputs of the
            same shapes and dtypes; ``"none"`` skips that.
        debug: accepted for PyTorch's signature (no debug trace is kept).
        early_stop: accepted for PyTorch's signature (the recomputation always runs in full).
        preserve_rng_state: restore the default generator's state for the recomputation, so
            random ops (dropout) draw the same values.
        **kwargs: keyword arguments of ``function`` (``use_reentrant=False`` only).

    Returns:
        ``function``'s output: a Tensor or a tuple (non-floating entries carry no gradient).

    >>> import deltagrad as dg
    >>> from deltagrad.utils.checkpoint import checkpoint
    >>> lin = dg.nn.Linear(3, 2)
    >>> x = dg.ones(4, 3, requires_grad=True)
    >>> checkpoint(lambda t: lin(t).tanh(), x, use_reentrant=False).sum().backward()
    >>> lin.weight.grad.shape, x.grad.shape
    (deltagrad.Size([2, 3]), deltagrad.Size([4, 3]))
    """
    if use_reentrant is None:
        warnings.warn(_USE_REENTRANT_WARNING.format(
            "", "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception."), UserWarning, stacklevel=2)
    reentrant = True if use_reentrant is None else bool(use_reentrant)
    if kwargs and reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if reentrant and (context_fn is not noop_context_fn or debug is not False):
        raise ValueError("Passing `context_fn` or `debug` is only supported when "
                         "use_reentrant=False.")
    if determinism_check not in _DETERMINISM_CHECKS:
        raise ValueError(f"determinism_check should be one of {list(_DETERMINISM_CHECKS)}, "
                         f"but got {determinism_check}")

    def run(*call_args):
        return function(*call_args, **kwargs)

    if reentrant:  # (PyTorch's reentrant forward checks its arguments: s27 PR13)
        check_backward_validity(args)
    extra = ()
    if not reentrant and is_grad_enabled() and not any(
            isinstance(a, Tensor) and a.requires_grad for a in args):
        # NOTE: the recorded op needs an input that requires grad, or backward never reaches
        # it and the weights inside get nothing; PyTorch's non-reentrant variant gives them
        # gradients here, so a throwaway leaf stands in (the output then requires grad).
        dummy = _leaf(np.zeros((), dtype=np.float32))
        dummy.requires_grad_(True)
        extra = (dummy,)
        inner = run

        def run(_dummy, *call_args):  # noqa: F811 - the variant that drops the stand-in
            return inner(*call_args)

    info: dict = {}
    flat = _Checkpoint.apply(*extra, *args, run=run, preserve=preserve_rng_state,
                             context_fn=context_fn, check=determinism_check, info=info,
                             reentrant=reentrant)
    return _unpack(flat, info["layout"])


def checkpoint_sequential(functions: Iterable[Callable], segments: int, input: Tensor,
                          use_reentrant: bool | None = None, **kwargs: Any) -> Any:
    """Run modules in sequence, checkpointing all but the last of ``segments`` chunks.

    Args:
        functions: an ``nn.Sequential`` or a list of modules/functions, run in order.
        segments: how many chunks to split them into (``len // segments`` functions each; the
            last chunk takes the rest and runs normally, as PyTorch does).
        input: the first function's input.
        use_reentrant: as for ``checkpoint``.
        **kwargs: only ``preserve_rng_state`` (as for ``checkpoint``).

    Returns:
        The last function's output.
    """
    if use_reentrant is None:  # (PyTorch's warning; then its default, with no second warning)
        warnings.warn(_USE_REENTRANT_WARNING.format(
            ".checkpoint_sequential", "In version 2.9 we will raise an exception if "
            "use_reentrant is not passed."), UserWarning, stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children") and not isinstance(functions, (list, tuple)):
        functions = list(functions.children())
    functions = list(functions)

    def run_function(start: int, end: int) -> Callable:
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x

        return forward

    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1)(input)
