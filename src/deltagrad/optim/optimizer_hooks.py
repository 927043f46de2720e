"""Optimizer hooks (PyTorch's): around ``step`` (per optimizer and global), and around
``state_dict`` / ``load_state_dict``.

``OptimizerHooks`` is a base class of ``Optimizer``. Every ``step``, ``state_dict`` and
``load_state_dict`` defined by ``Optimizer`` or a subclass is wrapped once, when the class is
created, so the hooks run whichever class defines the method; an override that calls
``super()`` runs them once (the outermost call runs them). ``state_dict`` and
``load_state_dict`` overrides from other libraries run them only through deltagrad's method
(PyTorch runs them in its base method). Without hooks the wrapper costs one
dictionary lookup.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from .._engine.ops.elementwise_math import ERR_STATE, IGNORE_ALL
from ..nn.hooks import RemovableHandle

__all__ = ["OptimizerHooks", "register_optimizer_step_post_hook",
           "register_optimizer_step_pre_hook"]

_global_step_pre_hooks: OrderedDict = OrderedDict()
_global_step_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` before every optimizer's ``step`` (before its
    own pre-hooks); PyTorch's ``torch.optim.optimizer.register_optimizer_step_pre_hook``.
    ``args`` includes the optimizer itself; a non-None result must be ``(new_args,
    new_kwargs)`` and replaces them."""
    handle = RemovableHandle(_global_step_pre_hooks)
    _global_step_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Call ``hook(optimizer, args, kwargs)`` after every optimizer's ``step`` (after its own
    post-hooks)."""
    handle = RemovableHandle(_global_step_post_hooks)
    _global_step_post_hooks[handle.id] = hook
    return handle


def _registry(optimizer, name: str) -> OrderedDict:
    registry = optimizer.__dict__.get(name)
    if registry is None:
        if "defaults" not in optimizer.__dict__:
            # (a subclass that skipped Optimizer.__init__: PyTorch's registries are made there)
            raise AttributeError(f"'{type(optimizer).__name__}' object has no attribute "
                                 f"'{name}'")
        registry = optimizer.__dict__[name] = OrderedDict()
    return registry


def _register(optimizer, name: str, hook: Callable, prepend: bool) -> RemovableHandle:
    registry = _registry(optimizer, name)
    handle = RemovableHandle(registry)
    registry[handle.id] = hook
    if prepend:
        registry.move_to_end(handle.id, last=False)
    return handle


def _hooks(optimizer, name: str) -> list:
    registry = optimizer.__dict__.get(name)
    return list(registry.values()) if registry else []


def _outermost(optimizer, method: str):
    """A context flag: True for the outermost of nested calls of ``method`` (super() chains)."""
    active = optimizer.__dict__.setdefault("_hooked_calls", set())
    if method in active:
        return False
    active.add(method)
    return True


def _quiet(function: Callable) -> Callable:
    """deltagrad's own ``step`` with NumPy's floating-point warnings off: an update whose inf
    / nan (a float16 ``eps`` that rounds to 0, an inf gradient) is PyTorch's, which gives it
    silently. A closure's code runs inside it too. Costs 0.5-2.0 us on an 18 us SGD step of
    4 elements (alternated medians of 15 x 20,000 steps, session 24, 2-core machine at load 14)."""

    @functools.wraps(function)
    def quiet_step(*args, **kwargs):
        token = ERR_STATE.set(IGNORE_ALL)
        try:
            return function(*args, **kwargs)
        finally:
            ERR_STATE.reset(token)

    return quiet_step


def _wrap_step(function: Callable) -> Callable:
    if _ours(function):
        function = _quiet(function)

    @functools.wraps(function)
    def step(*args, **kwargs):
        self = args[0]
        # (PyTorch's schedulers' mark: scheduler.step() warns if no optimizer.step() came first)
        self.__dict__["_opt_called"] = True
        if not (_global_step_pre_hooks or _global_step_post_hooks
                or self.__dict__.get("_optimizer_step_pre_hooks")
                or self.__dict__.get("_optimizer_step_post_hooks")):
            return function(*args, **kwargs)
        if not _outermost(self, "step"):
            return function(*args, **kwargs)
        try:
            for hook in [*_global_step_pre_hooks.values(),
                         *_hooks(self, "_optimizer_step_pre_hooks")]:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"{function} must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            if not args:  # (PyTorch's wrapper reads self as args[0]; s28 BR18)
                raise IndexError("tuple index out of range (a step pre-hook returned no "
                                 "positional arguments: the optimizer is args[0])")
            out = function(*args, **kwargs)
            for hook in [*_hooks(self, "_optimizer_step_post_hooks"),
                         *_global_step_post_hooks.values()]:
                hook(self, args, kwargs)
            return out
        finally:
            self.__dict__["_hooked_calls"].discard("step")

    step._hooked = True
    return step


def _ours(function: Callable) -> bool:
    """Whether deltagrad defines ``function``. An override from another library (timm's
    ``AdaBelief.load_state_dict``) runs no state-dict hooks itself: as in PyTorch, whose base
    method runs them, they run in the deltagrad method it reaches through ``super()``, so hooks
    it registers just before that call fire."""
    return getattr(function, "__module__", "").split(".")[0] == __name__.split(".")[0]


def _wrap_state_dict(function: Callable) -> Callable:
    ours = _ours(function)

    @functools.wraps(function)
    def state_dict(self):
        if not ours or not _outermost(self, "state_dict"):
            return function(self)
        try:
            for hook in _hooks(self, "_optimizer_state_dict_pre_hooks"):
                hook(self)
            result = function(self)
            for hook in _hooks(self, "_optimizer_state_dict_post_hooks"):
                replaced = hook(self, result)
                if replaced is not None:
                    result = replaced
            return result
        finally:
            self.__dict__["_hooked_calls"].discard("state_dict")

    state_dict._hooked = True
    return state_dict


def _wrap_load_state_dict(function: Callable) -> Callable:
    ours = _ours(function)

    @functools.wraps(function)
    def load_state_dict(self, state_dict):
        if not ours or not _outermost(self, "load_state_dict"):
            return function(self, state_dict)
        try:
            pre_hooks = _hooks(self, "_optimizer_load_state_dict_pre_hooks")
            if pre_hooks and isinstance(state_dict, dict):
                state_dict = state_dict.copy()  # (a shallow copy the hooks may change)
            for hook in pre_hooks:
                replaced = hook(self, state_dict)
                if replaced is not None:
                    state_dict = replaced
            result = function(self, state_dict)
            for hook in _hooks(self, "_optimizer_load_state_dict_post_hooks"):
                hook(self)
            return result
        finally:
            self.__dict__["_hooked_calls"].discard("load_state_dict")

    load_state_dict._hooked = True
    return load_state_dict


_WRAPPERS = {"step": _wrap_step, "state_dict": _wrap_state_dict,
             "load_state_dict": _wrap_load_state_dict}


class OptimizerHooks:
    """The hook registration methods of ``Optimizer`` (see the module docstring)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, wrap in _WRAPPERS.items():
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "_hooked", False):
                setattr(cls, name, wrap(method))

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore an unpickled or deep-copied optimizer. PyTorch's Optimizer defines it, and
        subclasses (timm's AdaBelief, Lion...) call ``super().__setstate__(state)``."""
        self.__dict__.update(state)
        self.__dict__.setdefault("_scratch_arrays", {})
        self.defaults.setdefault("differentiable", False)

    @staticmethod
    def _group_tensors_by_device_and_dtype(tensorlistlist, with_indices: bool = False) -> dict:
        """PyTorch's ``Optimizer._group_tensors_by_device_and_dtype`` (here for lack of room in
        optimizer.py): ``torch.utils._foreach_utils``' grouping. timm's ADOPT and SGDW take
        their foreach paths only where Optimizer has it."""
        from ..utils._foreach_utils import _group_tensors_by_device_and_dtype
        return _group_tensors_by_device_and_dtype(tensorlistlist, with_indices)

    # PyTorch wraps ``step`` lazily, from ``Optimizer.__init__``; wrapper optimizers that skip
    # that __init__ (pytorch_optimizer's Lookahead, Magma...) call these themselves.
    profile_hook_step = staticmethod(_wrap_step)

    def _patch_step_function(self) -> None:
        """Make sure the class's ``step`` runs the step hooks (already so for every class that
        derives from Optimizer: ``__init_subclass__`` wrapped it)."""
        self._zero_grad_profile_name = f"Optimizer.zero_grad#{type(self).__name__}.zero_grad"
        step = getattr(type(self), "step", None)
        if callable(step) and not getattr(step, "_hooked", False):
            type(self).step = _wrap_step(step)

    def _optimizer_step_code(self) -> None:
        """PyTorch's entry point for its profiler after each ``step``: nothing to do here."""

    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` before each ``step``; ``args`` includes the
        optimizer itself. A non-None result must be ``(new_args, new_kwargs)`` and replaces
        them."""
        return _register(self, "_optimizer_step_pre_hooks", hook, False)

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(optimizer, args, kwargs)`` after each ``step``."""
        return _register(self, "_optimizer_step_post_hooks", hook, False)

    def register_state_dict_pre_hook(self, hook: Callable,
                                     prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` before ``state_dict`` builds the dict (first with
        ``prepend``)."""
        return _register(self, "_optimizer_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable,
                                      prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` on the built dict; a non-None result replaces
        it."""
        return _register(self, "_optimizer_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable,
                                          prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer, state_dict)`` before loading (on a shallow copy); a non-None
        result is loaded instead."""
        return _register(self, "_optimizer_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable,
                                           prepend: bool = False) -> RemovableHandle:
        """Call ``hook(optimizer)`` after loading."""
        return _register(self, "_optimizer_load_state_dict_post_hooks", hook, prepend)
