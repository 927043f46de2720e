"""Module state dicts: ``state_dict`` / ``load_state_dict``, their hooks, and extra state.

``ModuleState`` is a mixin of ``Module``. The walks follow PyTorch's order (a module's own
entries, then its children's, depth first) without recursion, so very deep models work. Hooks
are kept per module in registries created on first use, so a module without any pays nothing.

Loading checks everything, then copies the entries that fit, runs the load post-hooks (which
may clear the missing and unexpected keys) and only then raises for a key missing or unexpected
(``strict``), a shape that does not match or a pre-hook's error, as PyTorch does: the module
holds what fitted (s25 BR8; it used to be left as it was). A module whose class overrides
``_load_from_state_dict`` has its own tensors copied in its step, as PyTorch's, so that the
override can read them after ``super()``'s; an exception raised during the walk (not a reported
error) puts their old values back and copies nothing.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from .._engine import meta as _meta
from .._engine import versions
from .._engine.api.attributes import Size
from .._engine.autograd import _counters
from .._engine.meta import MetaArray, names_meta
from .._engine.tensor import Tensor, _leaf
from .hooks import RemovableHandle
from .module_access import IncompatibleKeys

__all__ = ["ModuleState"]

_EXTRA_STATE = "_extra_state"
_NO_EXTRA = object()  # a module whose set_extra_state is not called
# The plans of this thread's load_state_dict calls in progress (innermost last): the per-module
# step collects into them, so that nothing is copied before everything is checked.
_LOADING = threading.local()


def _registry(module, name: str) -> OrderedDict:
    registry = module.__dict__.get(name)
    if registry is None:
        registry = OrderedDict()
        object.__setattr__(module, name, registry)
    return registry


def _register(module, name: str, entry) -> RemovableHandle:
    registry = _registry(module, name)
    handle = RemovableHandle(registry)
    registry[handle.id] = entry
    return handle


class _PostHook(NamedTuple):
    """A ``_state_dict_hooks`` entry: the hook and whether it came through the public API; it
    calls the hook, as the entries of PyTorch's registry are the hooks themselves (opacus's
    DPMultiheadAttention.state_dict calls them)."""

    hook: Callable
    public: bool

    def __call__(self, *args, **kwargs):
        return self.hook(*args, **kwargs)


def _hooks(module, name: str) -> list:
    registry = module.__dict__.get(name)
    return list(registry.values()) if registry else []


def _overrides(module, method: str) -> bool:
    return getattr(type(module), method, None) is not getattr(ModuleState, method)


def _is_lazy(tensor) -> bool:
    return getattr(type(tensor), "_is_uninitialized", False)


def _as_array(value):
    """A state-dict value's array, or None when it is no tensor-like value (PyTorch's test: a
    Tensor, or an object whose type has ``__torch_function__``; a NumPy array, a list or a
    number is refused, as PyTorch's load_state_dict refuses it)."""
    if isinstance(value, Tensor):
        return value._data
    if not hasattr(type(value), "__torch_function__"):
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "biuf" else None


def _meta_aware(init):
    """A deltagrad layer's ``__init__`` that, given ``device="meta"``, builds under the meta
    default (its parameters meta, nothing drawn: PyTorch's factory_kwargs), and under the meta
    default makes the buffers it built from NumPy arrays meta (not the tensors it was given)."""
    @functools.wraps(init)
    def build(self, *args, **kwargs) -> None:
        entered = names_meta(kwargs.get("device")) and not _meta.default_is_meta()
        if entered:
            _meta.enter_device(True)
        try:
            init(self, *args, **kwargs)
        finally:
            if entered:
                _meta.exit_device()
        if entered or _meta.default_is_meta():
            given = {id(v) for v in (*args, *kwargs.values())}
            buffers = self.__dict__.get("_buffers") or {}
            for name, buffer in buffers.items():
                if (isinstance(buffer, Tensor) and type(buffer._data) is not MetaArray
                        and id(buffer) not in given):
                    buffers[name] = _leaf(MetaArray(buffer._data.shape, buffer._data.dtype))
    return build


class ModuleState:
    """The state-dict methods of ``Module`` (see the module docstring)."""

    # PyTorch's state-dict version of the module class, saved in the state dict's metadata.
    _version: int = 1
    # Until a hook is registered (then the instance's own registry, of (hook, public) pairs):
    # an empty one, as every PyTorch module has (opacus's DPMultiheadAttention.state_dict
    # loops over self._state_dict_hooks.values()).
    _state_dict_hooks: Mapping = MappingProxyType({})

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and cls.__module__.startswith("deltagrad."):
            cls.__init__ = _meta_aware(init)

    # ------------------------------------------------------------ extra state

    def get_extra_state(self):
        """The extra state to save in the module's ``state_dict`` (under ``"_extra_state"``).

        Override it, with ``set_extra_state``, to save state that is no parameter or buffer; a
        module that does not override it saves none. (This base version is never called.)
        """
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
            "bug-report.yml to report this bug.")

    def set_extra_state(self, state) -> None:
        """Restore what ``get_extra_state`` returned, when loading a state dict.

        Args:
            state: the value found under the module's ``"_extra_state"`` key.
        """
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called. "
            "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
            "bug-report.yml to report this bug.")

    # ------------------------------------------------------------ hook registration

    def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, prefix, keep_vars)`` before ``state_dict`` saves this module."""
        return _register(self, "_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata)`` after ``state_dict`` saved
        this module and its children; the hook may change ``state_dict`` in place and must
        return None."""
        return _register(self, "_state_dict_hooks", _PostHook(hook, True))

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        # PyTorch's older private form: a non-None result replaces the state dict when this
        # module is the one ``state_dict`` was called on.
        return _register(self, "_state_dict_hooks", _PostHook(hook, False))

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before this module's entries are read, where
        ``state_dict`` holds this module's entries (the hook may rename or add them)."""
        return _register(self, "_load_state_dict_pre_hooks", (hook, True))

    def _register_load_state_dict_pre_hook(self, hook: Callable,
                                           with_module: bool = False) -> RemovableHandle:
        # PyTorch's private form: the hook gets no module argument unless with_module.
        return _register(self, "_load_state_dict_pre_hooks", (hook, with_module))

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, incompatible_keys)`` after loading; the hook may change
        ``incompatible_keys.missing_keys`` / ``.unexpected_keys`` in place (the strict check
        sees the result) and must return None."""
        return _register(self, "_load_state_dict_post_hooks", hook)

    # ------------------------------------------------------------ state_dict

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """Save this module's own parameters, persistent buffers and extra state (not its
        children's) into ``destination``; subclasses may override it."""
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        if _overrides(self, "get_extra_state"):
            destination[prefix + _EXTRA_STATE] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix: str = "",
                   keep_vars: bool = False):
        """Every parameter and persistent buffer (and extra state) by dotted name, in
        PyTorch's order.

        The values share memory with the module's tensors (detached unless ``keep_vars``); save
        them with ``deltagrad.save``. The result carries PyTorch's ``_metadata`` (each module's
        ``version``, and whatever state-dict hooks add).

        Args:
            destination: a dict to fill and return (PyTorch advises against it).
            prefix: prepended to every key.
            keep_vars: keep the tensors themselves instead of detached views.

        Returns:
            An ``OrderedDict`` mapping names such as ``"0.weight"`` to Tensors.
        """
        if args:  # PyTorch's deprecated positional form: destination, prefix, keep_vars
            import warnings

            warnings.warn("Positional args are being deprecated, use kwargs instead.",
                          FutureWarning, stacklevel=2)
            destination = args[0] if destination is None else destination
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        root = self
        # An explicit stack of ("enter" | "exit", module, prefix, local_metadata) events.
        stack = [("enter", self, prefix, None)]
        while stack:
            event, module, module_prefix, local_metadata = stack.pop()
            if event == "exit":
                for hook, public in _hooks(module, "_state_dict_hooks"):
                    result = hook(module, destination, module_prefix, local_metadata)
                    if public:
                        if result is not None:
                            raise RuntimeError("state_dict post-hook must return None")
                    elif result is not None and module is root:
                        destination = result
                continue
            local_metadata = {"version": type(module)._version}
            if hasattr(destination, "_metadata"):
                destination._metadata[module_prefix[:-1]] = local_metadata
            for hook in _hooks(module, "_state_dict_pre_hooks"):
                hook(module, module_prefix, keep_vars)
            module._save_to_state_dict(destination, module_prefix, keep_vars)
            stack.append(("exit", module, module_prefix, local_metadata))
            children = [(name, child) for name, child in module._modules.items()
                        if child is not None]
            for name, child in reversed(children):
                stack.append(("enter", child, f"{module_prefix}{name}.", None))
        return destination

    # ------------------------------------------------------------ load_state_dict

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
        """Copy values from ``state_dict`` into this module's parameters and buffers, in place.

        The entries that fit are copied even when it then raises, as in PyTorch (see the
        module docstring).

        Args:
            state_dict: names to Tensors or ndarrays, as ``state_dict()`` returns them.
            strict: require the keys to match exactly.
            assign: make the state dict's tensors the module's own (a parameter becomes a
                Parameter sharing the given tensor's memory and dtype; tied weights become two
                parameters, as PyTorch's) instead of copying the values into the existing ones.

        Returns:
            ``(missing_keys, unexpected_keys)``, a named tuple of lists.

        Raises:
            TypeError: ``state_dict`` is not a mapping.
            RuntimeError: naming every missing and unexpected key (when ``strict``) and every
                shape mismatch (always).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)  # the hooks may change this copy
        if metadata is not None:
            state_dict._metadata = metadata
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        plan = []  # (module, [(name, target, array)], extra state), in PyTorch's load order
        undo = []  # what the steps of overriding modules copied early (_copy_now)
        post_order = []  # modules with post-hooks, children before parents
        stack = [("enter", self, state_dict, "")]
        try:
            while stack:
                event, module, local, prefix = stack.pop()
                if event == "exit":
                    if module.__dict__.get("_load_state_dict_post_hooks"):
                        post_order.append(module)
                    continue
                local_metadata = (dict(metadata.get(prefix[:-1], {}))
                                  if metadata is not None else {})
                if assign:
                    local_metadata["assign_to_params_buffers"] = assign
                # Subclasses (torchmetrics' Metric) override this step to take entries of
                # their own out of `local` before the base step checks the rest.
                plans = _LOADING.__dict__.setdefault("plans", [])
                plans.append((plan, undo))
                try:
                    module._load_from_state_dict(local, prefix, local_metadata, True, missing,
                                                 unexpected, errors)
                finally:
                    plans.pop()
                stack.append(("exit", module, None, prefix))
                children = [(name, child) for name, child in module._modules.items()
                            if child is not None]
                for name, child in reversed(children):
                    child_prefix = f"{prefix}{name}."
                    child_local = {key: value for key, value in local.items()
                                   if key.startswith(child_prefix)}
                    stack.append(("enter", child, child_local, child_prefix))
        except BaseException:
            _restore(undo)
            raise
        _apply(plan, assign, errors)
        incompatible = IncompatibleKeys(missing, unexpected)
        for module in post_order:
            for hook in _hooks(module, "_load_state_dict_post_hooks"):
                if hook(module, incompatible) is not None:
                    raise AssertionError(
                        "Hooks registered with ``register_load_state_dict_post_hook`` are not "
                        "expected to return new values, if incompatible_keys need to be "
                        "modified, it should be done inplace.")
        if errors or (strict and (missing or unexpected)):
            _raise(self, strict, missing, unexpected, errors)
        return incompatible

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        """PyTorch's per-module step of ``load_state_dict``: run this module's load pre-hooks,
        then read its own parameters, buffers and extra state from ``state_dict`` (keys under
        ``prefix``), adding problems to the three lists. Under ``load_state_dict`` the copy
        waits until every module is checked; called directly, it copies at once."""
        for hook, with_module in _hooks(self, "_load_state_dict_pre_hooks"):
            arguments = (state_dict, prefix, local_metadata, strict, missing_keys,
                         unexpected_keys, error_msgs)
            hook(self, *arguments) if with_module else hook(*arguments)
        if not strict:  # PyTorch reports missing and unexpected keys only when strict
            missing_keys, unexpected_keys = [], []
        step = _plan_module(self, state_dict, prefix, missing_keys, unexpected_keys, error_msgs,
                            local_metadata.get("assign_to_params_buffers", False))
        plans = _LOADING.__dict__.get("plans")
        if plans and _overrides(self, "_load_from_state_dict"):
            # The subclass's step goes on after this one and may read what it loaded (sbi's
            # estimators check their loaded buffers), as PyTorch's copy at once lets it: this
            # module's tensors are copied now, their old values kept so that a load that
            # raises still leaves everything as it was; its extra state waits with the rest.
            plans[-1][1].extend(_copy_now(step, local_metadata.get(
                "assign_to_params_buffers", False)))
            plans[-1][0].append((self, [], step[2]))
        elif plans:
            plans[-1][0].append(step)
        elif not error_msgs:
            _apply([step], local_metadata.get("assign_to_params_buffers", False))


def _apply(plan: list, assign: bool, errors: list | None = None) -> None:
    """Copy the checked entries of a load plan into the modules' tensors (``assign``: make the
    state dict's tensors the modules' own, ``_assign``). Given ``errors``, an entry whose copy
    raises is added there in PyTorch's words and the rest still load, as PyTorch's."""
    for module, updates, extra in plan:
        for name, target, array, value, key in updates:
            if assign and errors is not None:
                try:
                    _assign(module, name, target, array, value)
                except Exception as exc:  # noqa: BLE001 - reported with the others
                    errors.append(f'While copying the parameter named "{key}", whose dimensions '
                                  f"in the model are {target.size()} and whose dimensions in "
                                  f"the checkpoint are {Size(array.shape)}, an exception "
                                  f"occurred : {exc.args}.")
            elif assign:
                _assign(module, name, target, array, value)
            elif type(target._data) is MetaArray:
                pass  # (copying into a meta tensor stores nothing, as PyTorch's copy_)
            elif target._data.flags.writeable:
                np.copyto(target._data, array, casting="unsafe")
                # An in-place change, as PyTorch's copy_: a graph that saved the old values
                # raises in backward rather than using the new ones.
                versions.bump(target._data, _counters.created)
            else:
                target._data = array.astype(target.dtype, copy=True)
        if extra is not _NO_EXTRA:
            module.set_extra_state(extra)


def _assign(module, name: str, target, array, value) -> None:
    """PyTorch's ``assign=True``: the module's attribute becomes the state dict's tensor itself
    (for a parameter, a Parameter made of it, sharing its memory, or the given Parameter), so
    two tied weights become two parameters; ``requires_grad`` stays the module's."""
    from .module import Parameter  # (module.py builds on this module)

    new = value if isinstance(value, Tensor) and value._data is array else _leaf(array)
    # (a Parameter registered as a buffer is assigned a Parameter too, so, as in PyTorch,
    # setattr moves it to the parameters)
    if name in module._parameters or isinstance(target, Parameter):
        if isinstance(new, Parameter):
            new.requires_grad_(target.requires_grad)
        else:
            new = Parameter(new, requires_grad=target.requires_grad)
    setattr(module, name, new)


def _copy_now(step: tuple, assign: bool) -> list:
    """Copy a load step's tensors at once (``_apply``'s copy); return how to undo it:
    ``(target, old array, whether the old array is the values to copy back)`` each, or with
    ``assign`` ``(module, name, the module's tensor)``."""
    undo = []
    module = step[0]
    for name, target, *_ in step[1]:
        data = target._data
        if assign:
            undo.append((module, name, target))
            continue
        if type(data) is MetaArray:
            continue
        in_place = data.flags.writeable
        undo.append((target, data.copy() if in_place else data, in_place))
    _apply([(step[0], step[1], _NO_EXTRA)], assign)
    return undo


def _restore(undo: list) -> None:
    """Put back the tensors ``_copy_now`` changed, last first."""
    for target, old, in_place in reversed(undo):
        if isinstance(old, str):  # (assign: the module's own tensor object back)
            setattr(target, old, in_place)
        elif in_place:
            np.copyto(target._data, old)
            versions.bump(target._data, _counters.created)
        else:
            target._data = old


def _plan_module(module, local: dict, prefix: str, missing: list, unexpected: list,
                 errors: list, assign: bool = False) -> tuple:
    """What loading ``local`` into ``module``'s own tensors would copy; problems are added to
    the lists (PyTorch's messages)."""
    own = {name: tensor for name, tensor in module._parameters.items() if tensor is not None}
    own.update((name, tensor) for name, tensor in module._buffers.items()
               if tensor is not None and name not in module._non_persistent)
    updates = []
    for name, target in own.items():
        key = prefix + name
        if key not in local:
            missing.append(key)
            continue
        value = local[key]
        if _is_lazy(value):
            errors.append(f'While copying the parameter named "{key}": the checkpoint holds an '
                          "uninitialized parameter (Can't access the shape of an uninitialized "
                          "parameter or buffer)")
            continue
        array = _as_array(value)
        if array is None:
            errors.append(f'While copying the parameter named "{key}", expected torch.Tensor '
                          f"or Tensor-like object from checkpoint but received {type(value)}")
            continue
        if _is_lazy(target):
            errors.append(f'While copying the parameter named "{key}", the parameter in the '
                          "model is uninitialized: run a forward pass first (or load into a "
                          "Lazy module, which materializes it)")
            continue
        if target.ndim == 0 and array.shape == (1,):
            array = array.reshape(())  # PyTorch's backward compatibility with 0.3 checkpoints
        if array.shape != target.shape:
            errors.append(f"size mismatch for {key}: copying a param with shape "
                          f"{Size(array.shape)!r} from checkpoint, the shape in current model "
                          f"is {Size(target.shape)!r}.")
            continue
        if type(target._data) is MetaArray and type(array) is not MetaArray and not assign:
            import warnings

            warnings.warn(f"for {key}: copying from a non-meta parameter in the checkpoint to a "
                          "meta parameter in the current model, which is a no-op. (Did you "
                          "mean to pass `assign=True` to assign items in the state dictionary "
                          "to their corresponding key in the module instead of copying them in "
                          "place?)", stacklevel=4)
        updates.append((name, target, array, value, key))
    extra_key = prefix + _EXTRA_STATE
    extra = _NO_EXTRA
    if _overrides(module, "set_extra_state"):
        if extra_key in local:
            extra = local[extra_key]
        else:
            missing.append(extra_key)
    elif extra_key in local:
        unexpected.append(extra_key)
    for key in local:
        if not key.startswith(prefix) or key == extra_key:
            continue
        head, dot, _ = key[len(prefix):].partition(".")
        if (head not in module._modules) if dot else (head not in own):
            unexpected.append(key)
    return module, updates, extra


def _raise(module, strict: bool, missing: list, unexpected: list, errors: list) -> None:
    messages = list(errors)
    if strict:
        if unexpected:
            messages.insert(0, "Unexpected key(s) in state_dict: "
                            + ", ".join(f'"{key}"' for key in unexpected) + ". ")
        if missing:
            messages.insert(0, "Missing key(s) in state_dict: "
                            + ", ".join(f'"{key}"' for key in missing) + ". ")
    raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
                       + "\n\t".join(messages))
