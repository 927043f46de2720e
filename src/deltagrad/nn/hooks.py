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
import warnings
from collections import OrderedDict
from collections.abc import Callable, MutableMapping

import numpy as np

from .._engine import Tensor
from .._engine.api.creation import from_numpy
from .._engine.tensor import _HookHandle as _TensorHookHandle
from .._engine.tensor import _leaf
from ..autograd import Function

__all__ = ["ModuleHooks", "RemovableHandle", "register_module_buffer_registration_hook",
           "register_module_forward_hook", "register_module_forward_pre_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook",
           "register_module_module_registration_hook",
           "register_module_parameter_registration_hook"]

_ids = itertools.count()


class _HandleClass(type):
    """RemovableHandle's metaclass: ``Tensor.register_hook``'s handle (the engine's own
    class, with the same API) is a RemovableHandle for ``isinstance``, as in PyTorch."""

    def __instancecheck__(cls, instance) -> bool:
        return type.__instancecheck__(cls, instance) or (
            cls is RemovableHandle and type(instance) is _TensorHookHandle)


class RemovableHandle(metaclass=_HandleClass):
    """What ``register_*_hook`` returns: ``remove()`` unregisters the hook (also as a
    context manager: the hook is removed on exit)."""

    def __init__(self, registry: OrderedDict, on_remove: Callable | None = None) -> None:
        self.id = next(_ids)
        self._registry = registry
        self._on_remove = on_remove

    def remove(self) -> None:
        self._registry.pop(self.id, None)
        if self._on_remove is not None:
            self._on_remove()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


# (the engine's tensor-hook handle prints and pickles by PyTorch's class name)
_TensorHookHandle.__name__ = _TensorHookHandle.__qualname__ = "RemovableHandle"


class _Hooks:
    """The hooks of one module, by kind; each registry maps a handle id to an entry."""

    def __init__(self) -> None:
        self.forward_pre: OrderedDict = OrderedDict()
        self.forward: OrderedDict = OrderedDict()
        self.backward: OrderedDict = OrderedDict()
        self.backward_pre: OrderedDict = OrderedDict()
        self.legacy: OrderedDict = OrderedDict()  # register_backward_hook's (not global)


# The entry a hook set through a view gets, by kind: (hook, with_kwargs[, always_call]).
_ENTRY_DEFAULTS = {"forward_pre": (False,), "forward": (False, False)}


class _HookView(MutableMapping):
    """PyTorch's ``Module._<kind>_hooks`` (handle id -> hook function, in call order) over
    one of a module's registries, live as PyTorch's OrderedDict is: deleting an entry
    unregisters the hook (tltorch's ``remove_tensor_lasso`` does ``del
    module._forward_hooks[key]``), setting one registers it with the kind's defaults."""

    def __init__(self, module, kind: str) -> None:
        self._module, self._kind = module, kind

    def _registry(self, create: bool = False) -> OrderedDict:
        hooks = self._module.__dict__.get("_hooks")  # (never the shared _NO_OWN_HOOKS)
        if hooks is None:
            if not create:
                return OrderedDict()
            hooks = _Hooks()
            object.__setattr__(self._module, "_hooks", hooks)
        return getattr(hooks, self._kind)

    def __getitem__(self, key):
        entry = self._registry()[key]
        return entry[0] if isinstance(entry, tuple) else entry

    def __setitem__(self, key, hook) -> None:
        registry = self._registry(create=True)
        defaults = _ENTRY_DEFAULTS.get(self._kind)
        if defaults is None:
            registry[key] = hook
        else:
            registry[key] = (hook, *registry.get(key, (None, *defaults))[1:])

    def __delitem__(self, key) -> None:
        del self._registry()[key]

    def __iter__(self):
        return iter(list(self._registry()))  # (a snapshot: deleting while looping is safe)

    def __len__(self) -> int:
        return len(self._registry())

    def copy(self) -> OrderedDict:
        return OrderedDict(self.items())

    def __repr__(self) -> str:
        return repr(OrderedDict(self.items()))  # (the running Python's OrderedDict form)


class _BackwardState:
    """One call's bookkeeping between its output node and its input node."""

    def __init__(self, module, backward: list, backward_pre: list, n_args: int,
                 positions: list[int]) -> None:
        self.module, self.backward, self.backward_pre = module, backward, backward_pre
        # positions of the tensor arguments, when one of them requires grad (else empty)
        self.n_args, self.positions = n_args, positions
        self.grad_output: tuple | None = None  # (stays None if the output was not wrapped)
        self.n_outputs, self.output_positions = 0, []  # (set by _wrap_output)

    def on_output(self, grads: tuple) -> tuple:
        # One entry per output, None for one that is no tensor or got no gradient (PyTorch's).
        full = [None] * self.n_outputs
        for position, g in zip(self.output_positions, grads):
            full[position] = g
        grads = tuple(full)
        for hook in self.backward_pre:
            result = hook(self.module, grads)
            if result is not None:
                grads = _checked(result, len(grads), "backward pre-hook", "grad_output")
        self.grad_output = grads
        # No input needs a gradient: fire now (and warn, as PyTorch does for pre-hooks alone)
        if not self.positions:
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients. See "
                          "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                          "#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            self.on_input(())
        return tuple(grads[p] for p in self.output_positions)

    def on_input(self, grads: tuple) -> tuple:
        if self.grad_output is None:  # the output was no Tensor or tuple: no hook fires
            return grads
        full = [None] * self.n_args
        for position, g in zip(self.positions, grads):
            full[position] = g
        grad_input = tuple(full)
        for hook in self.backward:
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = _checked(result, self.n_args, "Backward hook", "grad_input")
        return tuple(grad_input[p] for p in self.positions)


def _checked(result, length: int, kind: str, what: str) -> tuple:
    result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(result) != length:
        raise RuntimeError(f"{kind} returned an invalid number of {what}, got {len(result)}, "
                           f"but expected {length}")
    return result


class _HookIdentity(Function):
    """Identity on several tensors at once, one output each, so that one backward call sees
    all their gradients together. Each output is a view of its input's memory, as PyTorch's
    hook node gives: data_ptr() stays the tensor's (backpack keys its quantities on it) and an
    in-place change of the result bumps the input's version (the engine's check). As
    PyTorch's, an input that needs no gradient passes through non-differentiable."""

    @staticmethod
    def forward(ctx, *tensors, callback: Callable, materialize: bool):
        ctx.callback = callback
        # The output side sees None for an output that got no gradient (PyTorch's
        # grad_output); the input side sees zeros for a tensor that needs none (its grad_input).
        ctx.set_materialize_grads(materialize)
        # (bfloat16 has no NumPy view through .numpy(): its array's own view)
        outputs = tuple(_leaf(t._data.view()) if t._data.dtype.kind == "V"
                        else from_numpy(t.numpy().view()) for t in tensors)
        ctx.mark_non_differentiable(*[out for out, t in zip(outputs, tensors)
                                      if not t.requires_grad])
        return outputs if len(outputs) > 1 else outputs[0]

    @staticmethod
    def backward(ctx, *grads):
        grads = ctx.callback(tuple(grads))
        return tuple(g if g is None or isinstance(g, Tensor) else from_numpy(np.asarray(g))
                     for g in grads)


def _through_identity(tensors: list, callback: Callable, materialize: bool) -> list:
    """``tensors`` passed through one _HookIdentity node (values unchanged, views)."""
    outputs = _HookIdentity.apply(*tensors, callback=callback, materialize=materialize)
    return list(outputs) if isinstance(outputs, tuple) else [outputs]


# The global hooks of every module (PyTorch's ``nn.modules.module.register_module_*_hook``).
# While any forward or backward one is registered, ``ModuleHooks._hooks`` (the class attribute
# that ``Module.__call__`` tests) is an empty ``_Hooks`` instead of None, so that every module
# takes the hook path; a module's own hooks live in its instance attribute.
_GLOBAL = _Hooks()
_REGISTRATION: dict[str, OrderedDict] = {
    "parameter": OrderedDict(), "buffer": OrderedDict(), "module": OrderedDict()}
_NO_OWN_HOOKS = _Hooks()  # (stays empty: a module's registration makes its own)


def _refresh_global() -> None:
    active = any(getattr(_GLOBAL, kind) for kind in (
        "forward_pre", "forward", "backward", "backward_pre"))
    ModuleHooks._hooks = _NO_OWN_HOOKS if active else None


def _global(kind: str, entry) -> RemovableHandle:
    registry = getattr(_GLOBAL, kind)
    handle = RemovableHandle(registry, _refresh_global)
    registry[handle.id] = entry
    _refresh_global()
    return handle


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, args)`` before the forward of every module (before the module's own
    pre-hooks); a non-None result replaces the arguments."""
    return _global("forward_pre", (hook, False))


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False,
                                 always_call: bool = False) -> RemovableHandle:
    """Call ``hook(module, args, output)`` after the forward of every module (before the
    module's own hooks); options as ``Module.register_forward_hook``'s."""
    return _global("forward", (hook, with_kwargs, always_call))


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """``Module.register_full_backward_pre_hook`` for every module (run first)."""
    return _global("backward_pre", hook)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """``Module.register_full_backward_hook`` for every module (run first)."""
    return _global("backward", hook)


def _registration_hook(kind: str, hook: Callable) -> RemovableHandle:
    registry = _REGISTRATION[kind]
    handle = RemovableHandle(registry)
    registry[handle.id] = hook
    return handle


def register_module_parameter_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, param)`` whenever a module registers a parameter; a non-None
    result is registered instead."""
    return _registration_hook("parameter", hook)


def register_module_buffer_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, buffer)`` whenever a module registers a buffer; a non-None
    result is registered instead."""
    return _registration_hook("buffer", hook)


def register_module_module_registration_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(module, name, child)`` whenever a module registers a child module; a
    non-None result is registered instead."""
    return _registration_hook("module", hook)


def registered(kind: str, module, name: str, value):
    """``value`` after the global registration hooks of ``kind`` (usually ``value``)."""
    for hook in list(_REGISTRATION[kind].values()):
        result = hook(module, name, value)
        if result is not None:
            value = result
    return value


def _merged(kind: str, own: _Hooks) -> list | tuple:
    # (An empty kind, the usual case, builds no lists: a module with one forward hook
    # 2.25 -> 1.29 us a call, one pre-hook 2.16 -> 1.26; PyTorch 1.9. SP28, best of 30)
    shared, mine = getattr(_GLOBAL, kind), getattr(own, kind)
    if not shared:
        return list(mine.items()) if mine else ()
    return list(shared.items()) + list(mine.items())


class ModuleHooks:
    """The hook registration methods of ``Module`` (see the module docstring)."""

    _hooks: _Hooks | None = None  # created on the first registration

    def _hook_registry(self, kind: str, entry, prepend: bool) -> RemovableHandle:
        if self.__dict__.get("_hooks") is None:  # (the class attribute may be _NO_OWN_HOOKS)
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
    def _forward_pre_hooks(self) -> MutableMapping:
        return _HookView(self, "forward_pre")

    @property
    def _forward_hooks(self) -> MutableMapping:
        return _HookView(self, "forward")

    def _flag_view(self, kind: str, position: int) -> OrderedDict:
        # PyTorch's id -> True tables of the hooks registered with a flag (a copy: the flags
        # live in the registries' entries here)
        if self._hooks is None:
            return OrderedDict()
        return OrderedDict((key, True) for key, entry in getattr(self._hooks, kind).items()
                           if isinstance(entry, tuple) and entry[position])

    @property
    def _forward_pre_hooks_with_kwargs(self) -> OrderedDict:
        return self._flag_view("forward_pre", 1)

    @property
    def _forward_hooks_with_kwargs(self) -> OrderedDict:
        return self._flag_view("forward", 1)

    @property
    def _forward_hooks_always_called(self) -> OrderedDict:
        return self._flag_view("forward", 2)

    @property
    def _backward_hooks(self) -> OrderedDict:
        # (a copy: PyTorch keeps both kinds in one dict, two registries here)
        hooks = self._hook_view("backward")
        hooks.update(self._hook_view("legacy"))
        return hooks

    @property
    def _backward_pre_hooks(self) -> MutableMapping:
        return _HookView(self, "backward_pre")

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
        if self._hooks is not None and self._hooks.legacy:
            raise RuntimeError(_BOTH_KINDS)
        return self._hook_registry("backward", hook, prepend)

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """The deprecated backward hook: ``hook(module, grad_input, grad_output)`` with the
        gradients of the last graph node of the module's forward (PyTorch's semantics:
        ``grad_input`` holds that node's input gradients, which are the module's input
        gradients only when forward is a single op on its inputs; PyTorch's FutureWarning
        says when they are not).

        A non-None result replaces ``grad_input`` where forward is that single op; where it
        is not, deltagrad raises NotImplementedError on such a result (use
        ``register_full_backward_hook``). NOTE: where deltagrad's last node is not PyTorch's,
        ``grad_input`` follows deltagrad's: ``nn.Linear`` is one linear node with inputs
        (input, weight, bias) where PyTorch's addmm has (bias, input, weight.T)."""
        if self._hooks is not None and self._hooks.backward:
            raise RuntimeError(_BOTH_KINDS)
        return self._hook_registry("legacy", hook, False)

    def register_full_backward_pre_hook(self, hook: Callable,
                                        prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs are computed; a non-None result replaces ``grad_output``."""
        return self._hook_registry("backward_pre", hook, prepend)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        # PyTorch's order: the global hooks of each kind run before the module's own. A hook
        # registered with always_call runs even when a pre-hook, forward or another hook
        # raises (once: not again if it already ran).
        hooks = self._hooks
        called = set()
        output = None
        try:
            for _, (hook, with_kwargs) in _merged("forward_pre", hooks):
                if with_kwargs:
                    result = hook(self, args, kwargs)
                    if result is not None:
                        if not (isinstance(result, tuple) and len(result) == 2):
                            raise RuntimeError("forward pre-hook must return None or a tuple "
                                               f"of (new_args, new_kwargs), but got {result}.")
                        args, kwargs = result
                else:
                    result = hook(self, args)
                    if result is not None:
                        args = result if isinstance(result, tuple) else (result,)
            legacy = list(hooks.legacy.values())
            if legacy:
                plain_args = args
                args, legacy_state = _legacy_inputs(self, legacy, args)
            state = None
            backward = _merged("backward", hooks)
            backward_pre = _merged("backward_pre", hooks)
            if backward or backward_pre:
                positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
                if not any(args[i].requires_grad for i in positions):
                    positions = []
                state = _BackwardState(self, [h for _, h in backward],
                                       [h for _, h in backward_pre], len(args), positions)
                if positions:
                    wrapped = _through_identity([args[i] for i in positions], state.on_input,
                                                materialize=True)
                    args = list(args)
                    for i, tensor in zip(positions, wrapped):
                        args[i] = tensor
                    args = tuple(args)
            output = self.forward(*args, **kwargs)
            for key, (hook, with_kwargs, always_call) in _merged("forward", hooks):
                if always_call:
                    called.add(key)
                result = (hook(self, args, kwargs, output) if with_kwargs
                          else hook(self, args, output))
                if result is not None:
                    output = result
            if state is not None:
                output = _wrap_output(output, state)
            if legacy:
                _legacy_output(self, legacy, legacy_state, plain_args, args, output)
            return output
        except Exception:
            for key, (hook, with_kwargs, always_call) in _merged("forward", hooks):
                if not always_call or key in called:
                    continue
                try:
                    result = (hook(self, args, kwargs, output)
                              if with_kwargs and key not in _GLOBAL.forward
                              else hook(self, args, output))
                    if result is not None:
                        output = result
                except Exception as error:  # noqa: BLE001 - the first error is re-raised
                    warnings.warn("module forward hook with ``always_call=True`` raised an "
                                  "exception that was silenced as another error was raised "
                                  f"in forward: {error}", stacklevel=2)
            raise


def _wrap_output(output, state: _BackwardState):
    # As PyTorch: only a Tensor or a tuple output is seen (a list or a dict warns, and the
    # module's backward hooks do not fire).
    single = isinstance(output, Tensor)
    if not single and not isinstance(output, tuple):
        warnings.warn("For backward hooks to be called, module output should be a Tensor or a "
                      f"tuple of Tensors but received {type(output)}", stacklevel=3)
        return output
    items = [output] if single else list(output)
    positions = [i for i, t in enumerate(items) if isinstance(t, Tensor)]
    if not any(items[i].requires_grad for i in positions):
        return output
    state.n_outputs, state.output_positions = len(items), positions
    wrapped = _through_identity([items[i] for i in positions], state.on_output,
                                materialize=False)
    for i, tensor in zip(positions, wrapped):
        items[i] = tensor
    if single:
        return items[0]
    # the output's own tuple type (a namedtuple keeps its fields, as in PyTorch)
    return type(output)(*items) if hasattr(output, "_fields") else type(output)(items)


# ----------------------------------------------------------------------------------------------
# The deprecated non-full backward hooks (Module.register_backward_hook).

_BOTH_KINDS = ("Cannot use both regular backward hooks and full backward hooks on a single "
               "Module. Please use only one of them.")
_DEPRECATED = " is deprecated and will be removed in future versions. This hook will be missing "


class _LegacyState:
    """One call's legacy hooks when forward turns out to be one op on its tensor inputs: the
    output node's pre-hook keeps ``grad_output``; the inputs' identity node fires the hooks."""

    def __init__(self, module, hooks: list, n_args: int, positions: list[int]) -> None:
        self.module, self.hooks, self.n_args, self.positions = module, hooks, n_args, positions
        self.single = False  # (set once the output shows forward was one op on the inputs)
        self.grad_output: tuple | None = None

    def on_output(self, grad_outputs: tuple) -> None:
        self.grad_output = tuple(grad_outputs)

    def on_input(self, grads: tuple) -> tuple:
        if not self.single or self.grad_output is None:
            return grads
        grad_input = tuple(grads)
        for hook in self.hooks:
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = _checked(result, len(grad_input), "Backward hook", "grad_input")
        return grad_input


def _legacy_inputs(module, hooks: list, args: tuple):
    """The call's arguments with the tensors that require grad passed through an identity node
    (where the hooks can replace their gradients, if forward is one op on them)."""
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    state = _LegacyState(module, hooks, len(args), positions)
    if not positions:
        return args, state
    wrapped = _through_identity([args[i] for i in positions], state.on_input, materialize=False)
    args = list(args)
    for i, tensor in zip(positions, wrapped):
        args[i] = tensor
    return tuple(args), state


def _legacy_output(module, hooks: list, state: _LegacyState, plain_args: tuple, args: tuple,
                   output) -> None:
    # PyTorch's choice of node: that of the first tensor of the output (into tuples / dicts).
    var = output
    while not isinstance(var, Tensor):
        if isinstance(var, dict):
            var = next(v for v in var.values() if isinstance(v, Tensor))
        else:
            var = var[0]
    grad_fn = var.grad_fn
    if grad_fn is None:
        return
    node_inputs = grad_fn.inputs
    # One op on the inputs: its node's inputs are the call's arguments, in order, each a
    # tensor that requires grad (so grad_input has one entry per argument, as PyTorch's).
    state.single = (len(node_inputs) == len(args) == len(state.positions) > 0
                    and all(x is a for x, a in zip(node_inputs, args)))
    if state.single:
        grad_fn.register_prehook(lambda grad_outputs: state.on_output(grad_outputs))
    else:
        for hook in hooks:
            grad_fn.register_hook(_WrappedLegacy(hook, module))
    _warn_legacy(plain_args, output, grad_fn, state.single)


class _WrappedLegacy:
    """A legacy module hook as a node post-hook: ``hook(module, grad_inputs, grad_outputs)``."""

    def __init__(self, hook: Callable, module) -> None:
        self.hook, self.module = hook, module

    def __call__(self, grad_inputs: tuple, grad_outputs: tuple):
        return self.hook(self.module, grad_inputs, grad_outputs)


def _warn_legacy(inputs: tuple, result, grad_fn, single: bool) -> None:
    """PyTorch's FutureWarnings on a non-full backward hook whose grad_input or grad_output
    will not be the module's."""
    if not isinstance(result, Tensor):
        if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
            warnings.warn("Using non-full backward hooks on a Module that does not return a "
                          "single Tensor or a tuple of Tensors" + _DEPRECATED + "some of the "
                          "grad_output. Please use register_full_backward_hook to get the "
                          "documented behavior.", FutureWarning, stacklevel=4)
            return
    else:
        result = (result,)
    if not all(isinstance(i, Tensor) for i in inputs):
        warnings.warn("Using non-full backward hooks on a Module that does not take as input a "
                      "single Tensor or a tuple of Tensors" + _DEPRECATED + "some of the "
                      "grad_input. Please use register_full_backward_hook to get the "
                      "documented behavior.", FutureWarning, stacklevel=4)
        return
    out_grad_fn = {r.grad_fn for r in result if r.grad_fn is not None}
    if len(out_grad_fn) == 0 or (len(out_grad_fn) == 1 and grad_fn not in out_grad_fn):
        warnings.warn("Using a non-full backward hook when outputs are nested in python data "
                      "structure" + _DEPRECATED + "some grad_output.", FutureWarning,
                      stacklevel=4)
    elif len(out_grad_fn) > 1:
        warnings.warn("Using a non-full backward hook when outputs are generated by different "
                      "autograd Nodes" + _DEPRECATED + "some grad_output. Please use "
                      "register_full_backward_hook to get the documented behavior.",
                      FutureWarning, stacklevel=4)
    elif not single or any(i.grad_fn is None for i in inputs):
        # (PyTorch compares the node's next functions with the inputs' grad_fns: they differ
        # where forward has several nodes, or where an input is a leaf)
        warnings.warn("Using a non-full backward hook when the forward contains multiple "
                      "autograd Nodes" + _DEPRECATED + "some grad_input. Please use "
                      "register_full_backward_hook to get the documented behavior.",
                      FutureWarning, stacklevel=4)
