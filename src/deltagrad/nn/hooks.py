"""Module hooks (PyTorch's forward, forward-pre and full backward hooks) and their handles.

``ModuleHooks`` is a mixin of ``Module``: it holds the registration methods and the slow call
path that runs hooks. A module without hooks never reaches that path (``Module.__call__``
tests one class attribute), so hooks cost nothing until one is registered.

Full backward hooks wrap the call's tensor arguments and its output in an identity node each
(a ``Function``): the output node sees ``grad_output`` and the input node, which backward
reaches only after everything inside the module, sees ``grad_input``; both may be replaced by
the hook's return value, as in PyTorch.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from .._engine import Tensor
from .._engine.api.creation import from_numpy
from ..autograd import Function

__all__ = ["ModuleHooks", "RemovableHandle"]

_ids = itertools.count()


class RemovableHandle:
    """What ``register_*_hook`` returns: ``remove()`` unregisters the hook (also as a
    context manager: the hook is removed on exit)."""

    def __init__(self, registry: OrderedDict) -> None:
        self.id = next(_ids)
        self._registry = registry

    def remove(self) -> None:
        self._registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class _Hooks:
    """The hooks of one module, by kind; each registry maps a handle id to an entry."""

    def __init__(self) -> None:
        self.forward_pre: OrderedDict = OrderedDict()
        self.forward: OrderedDict = OrderedDict()
        self.backward: OrderedDict = OrderedDict()
        self.backward_pre: OrderedDict = OrderedDict()


class _BackwardState:
    """One call's bookkeeping between its output node and its input node."""

    def __init__(self, module, hooks: _Hooks, n_args: int, positions: list[int]) -> None:
        self.module, self.hooks = module, hooks
        self.n_args, self.positions = n_args, positions  # positions of args requiring grad
        self.grad_output: tuple | None = None

    def on_output(self, grads: tuple) -> tuple:
        for hook in list(self.hooks.backward_pre.values()):
            result = hook(self.module, grads)
            if result is not None:
                grads = _checked(result, len(grads), "backward pre-hook", "grad_output")
        self.grad_output = grads
        if not self.positions:  # no input needs a gradient: the hooks fire now
            self.on_input(())
        return grads

    def on_input(self, grads: tuple) -> tuple:
        full = [None] * self.n_args
        for position, g in zip(self.positions, grads):
            full[position] = g
        grad_input = tuple(full)
        for hook in list(self.hooks.backward.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = _checked(result, self.n_args, "backward hook", "grad_input")
        return tuple(grad_input[p] for p in self.positions)


def _checked(result, length: int, kind: str, what: str) -> tuple:
    result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(result) != length:
        raise RuntimeError(f"{kind} returned {len(result)} values for {what}, expected {length}")
    return result


class _HookIdentity(Function):
    """Identity on several tensors at once (flattened and concatenated into one), so that one
    backward call sees all their gradients together."""

    @staticmethod
    def forward(ctx, *tensors, callback: Callable, dtype):
        ctx.shapes = [t.shape for t in tensors]
        ctx.dtypes = [t.dtype for t in tensors]
        ctx.callback = callback
        if len(tensors) == 1:
            # One tensor (the usual case): a view of its memory, as PyTorch's hook node gives,
            # so data_ptr() stays the tensor's (backpack keys its quantities on it) and an
            # in-place change of the result bumps the input's version (the engine's check).
            return from_numpy(tensors[0].numpy().reshape(-1))
        return from_numpy(np.concatenate([t.numpy().astype(dtype).ravel() for t in tensors]))

    @staticmethod
    def backward(ctx, grad):
        pieces, offset = [], 0
        for shape, dtype in zip(ctx.shapes, ctx.dtypes):
            size = int(np.prod(shape))
            piece = grad[offset:offset + size].reshape(shape)
            pieces.append(piece if piece.dtype == dtype else piece.type(dtype))
            offset += size
        grads = ctx.callback(tuple(pieces))
        return tuple(g if g is None or isinstance(g, Tensor) else from_numpy(np.asarray(g))
                     for g in grads)


def _through_identity(tensors: list, callback: Callable) -> list:
    """``tensors`` passed through one _HookIdentity node (values unchanged)."""
    dtype = np.result_type(*[t.dtype for t in tensors])
    flat = _HookIdentity.apply(*tensors, callback=callback, dtype=dtype)
    if len(tensors) == 1:  # (a view of the tensor's memory: reshaped back, still a view)
        return [flat.view(tensors[0].shape)]
    out, offset = [], 0
    for t in tensors:
        size = t.numel()
        piece = flat[offset:offset + size].reshape(t.shape)
        out.append(piece if piece.dtype == t.dtype else piece.type(t.dtype))
        offset += size
    return out


class ModuleHooks:
    """The hook registration methods of ``Module`` (see the module docstring)."""

    _hooks: _Hooks | None = None  # created on the first registration

    def _hook_registry(self, kind: str, entry, prepend: bool) -> RemovableHandle:
        if self._hooks is None:
            object.__setattr__(self, "_hooks", _Hooks())
        registry = getattr(self._hooks, kind)
        handle = RemovableHandle(registry)
        registry[handle.id] = entry
        if prepend:
            registry.move_to_end(handle.id, last=False)
        return handle

    def _hook_view(self, kind: str) -> OrderedDict:
        """A copy of one registry as PyTorch's ``Module._<kind>_hooks``: handle id -> hook
        function, in call order (libraries such as captum read their lengths)."""
        if self._hooks is None:
            return OrderedDict()
        return OrderedDict((key, entry[0] if isinstance(entry, tuple) else entry)
                           for key, entry in getattr(self._hooks, kind).items())

    @property
    def _forward_pre_hooks(self) -> OrderedDict:
        return self._hook_view("forward_pre")

    @property
    def _forward_hooks(self) -> OrderedDict:
        return self._hook_view("forward")

    @property
    def _backward_hooks(self) -> OrderedDict:
        return self._hook_view("backward")

    @property
    def _backward_pre_hooks(self) -> OrderedDict:
        return self._hook_view("backward_pre")

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward (``hook(module, args, kwargs)``
        with ``with_kwargs``); a non-None result replaces the arguments (a single value is
        wrapped in a tuple; with kwargs, a pair ``(args, kwargs)``)."""
        return self._hook_registry("forward_pre", (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward (``hook(module, args, kwargs,
        output)`` with ``with_kwargs``); a non-None result replaces the output. With
        ``always_call`` the hook also runs when forward raises."""
        return self._hook_registry("forward", (hook, with_kwargs, always_call), prepend)

    def register_full_backward_hook(self, hook: Callable,
                                    prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        the module's positional tensor inputs are computed.

        ``grad_input`` has one entry per positional argument (None for non-tensors and
        tensors that need no gradient); ``grad_output`` one per output tensor. A non-None
        result replaces ``grad_input``. If no input needs a gradient, the hook fires with
        ``grad_input`` all None as soon as ``grad_output`` is known. (An output that takes no
        part in the loss gets a zero gradient, where PyTorch passes None.)
        """
        return self._hook_registry("backward", hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable,
                                        prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs are computed; a non-None result replaces ``grad_output``."""
        return self._hook_registry("backward_pre", hook, prepend)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        hooks = self._hooks
        for hook, with_kwargs in list(hooks.forward_pre.values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        state = None
        if hooks.backward or hooks.backward_pre:
            positions = [i for i, a in enumerate(args)
                         if isinstance(a, Tensor) and a.requires_grad]
            state = _BackwardState(self, hooks, len(args), positions)
            if positions:
                wrapped = _through_identity([args[i] for i in positions], state.on_input)
                args = list(args)
                for i, tensor in zip(positions, wrapped):
                    args[i] = tensor
                args = tuple(args)
        try:
            output = self.forward(*args, **kwargs)
        except Exception:
            for hook, with_kwargs, always_call in list(hooks.forward.values()):
                if always_call:
                    hook(self, args, kwargs, None) if with_kwargs else hook(self, args, None)
            raise
        for hook, with_kwargs, _ in list(hooks.forward.values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        if state is not None:
            output = _wrap_output(output, state)
        return output


def _wrap_output(output, state: _BackwardState):
    single = isinstance(output, Tensor)
    items = [output] if single else list(output) if isinstance(output, (tuple, list)) else None
    if items is None:
        return output
    positions = [i for i, t in enumerate(items) if isinstance(t, Tensor) and t.requires_grad]
    if not positions:
        return output
    wrapped = _through_identity([items[i] for i in positions], state.on_output)
    for i, tensor in zip(positions, wrapped):
        items[i] = tensor
    if single:
        return items[0]
    return tuple(items) if isinstance(output, tuple) else items
