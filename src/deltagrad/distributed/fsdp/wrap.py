"""``torch.distributed.fsdp.wrap``: the auto-wrap policies (which submodules FSDP would wrap)
and the ``enable_wrap`` / ``wrap`` context. The policies are plain predicates over a module tree
and work as in PyTorch; wrapping runs whatever ``wrapper_cls`` the context names (FSDP itself is
not supported here and raises when made)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable
from typing import Any

from ...nn.module import Module, ModuleDict, ModuleList
from ...nn.transformer import MultiheadAttention

__all__ = ["CustomPolicy", "ModuleWrapPolicy", "always_wrap_policy", "enable_wrap",
           "lambda_auto_wrap_policy", "size_based_auto_wrap_policy",
           "transformer_auto_wrap_policy", "wrap"]


def always_wrap_policy(*args, **kwargs) -> bool:
    """Wraps every module."""
    return True


def _by_class(module: Module, recurse: bool, classes) -> bool:
    # Recursing is always allowed; a module is wrapped when it is one of the classes.
    return True if recurse else isinstance(module, tuple(classes))


def lambda_auto_wrap_policy(module: Module, recurse: bool, nonwrapped_numel: int,
                            lambda_fn: Callable) -> bool:
    """Wraps the modules for which ``lambda_fn(module)`` is true."""
    return True if recurse else bool(lambda_fn(module))


def transformer_auto_wrap_policy(module: Module, recurse: bool, nonwrapped_numel: int,
                                 transformer_layer_cls) -> bool:
    """Wraps the modules that are instances of ``transformer_layer_cls`` (a set of classes)."""
    return _by_class(module, recurse, transformer_layer_cls)


def size_based_auto_wrap_policy(module: Module, recurse: bool, nonwrapped_numel: int,
                                min_num_params: int = int(1e8), force_leaf_modules=None,
                                exclude_wrap_modules=None) -> bool:
    """Wraps a module once its not-yet-wrapped parameters reach ``min_num_params`` elements;
    never descends into ``force_leaf_modules`` nor wraps ``exclude_wrap_modules``."""
    leaves = (size_based_auto_wrap_policy.FORCE_LEAF_MODULES if force_leaf_modules is None
              else force_leaf_modules)
    excluded = (size_based_auto_wrap_policy.EXCLUDE_WRAP_MODULES if exclude_wrap_modules is None
                else exclude_wrap_modules)
    if nonwrapped_numel < min_num_params:
        return False
    return not isinstance(module, tuple(leaves if recurse else excluded))


size_based_auto_wrap_policy.FORCE_LEAF_MODULES = {MultiheadAttention}
size_based_auto_wrap_policy.EXCLUDE_WRAP_MODULES = {ModuleList, ModuleDict}


class _Policy:
    """A policy object: ``_run_policy`` maps each module to wrap to its wrapper's kwargs."""

    def _run_policy(self, root_module: Module, ignored_modules: set,
                    root_kwargs: dict[str, Any]) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__


class ModuleWrapPolicy(_Policy):
    """Wraps every module of the given classes with the root's kwargs."""

    def __init__(self, module_classes: Iterable[type]):
        self._module_classes = set(module_classes)

    def _run_policy(self, root_module, ignored_modules, root_kwargs):
        classes = tuple(self._module_classes)
        return {module: copy.copy(root_kwargs) for module in root_module.modules()
                if module not in ignored_modules and isinstance(module, classes)}

    def __call__(self, module, recurse, *args, **kwargs) -> bool:
        return _by_class(module, recurse, self._module_classes)

    def __repr__(self) -> str:
        return f"{super().__repr__()}({self._module_classes})"


class CustomPolicy(_Policy):
    """Wraps the modules for which ``lambda_fn(module)`` is true, or a dict (that module's
    kwargs, overriding the root's)."""

    def __init__(self, lambda_fn: Callable):
        self._lambda_fn = lambda_fn

    def _run_policy(self, root_module, ignored_modules, root_kwargs):
        chosen = {}
        for module in root_module.modules():
            if module in ignored_modules:
                continue
            answer = self._lambda_fn(module)
            if not isinstance(answer, bool | dict):
                raise ValueError("the lambda_fn passed to CustomPolicy should return False/True "
                                 f"or a kwarg dict, but it returned {answer}")
            if answer:
                kwargs = copy.copy(root_kwargs)
                if isinstance(answer, dict):
                    kwargs.update(answer)
                chosen[module] = kwargs
        return chosen


class _WrapContext:
    active = False
    wrapper_cls: Any = None
    kwargs: dict = {}


@contextlib.contextmanager
def enable_wrap(*, wrapper_cls: Any, **wrapper_kwargs: Any):
    """Inside the context, ``wrap(module)`` returns ``wrapper_cls(module, **wrapper_kwargs)``."""
    if _WrapContext.active:
        raise NotImplementedError("enable_wrap contexts do not nest: this one is inside another")
    _WrapContext.active, _WrapContext.wrapper_cls = True, wrapper_cls
    _WrapContext.kwargs = dict(wrapper_kwargs)
    try:
        yield
    finally:
        _WrapContext.active, _WrapContext.wrapper_cls, _WrapContext.kwargs = False, None, {}


def wrap(module: Module, **wrap_overrides: Any) -> Module:
    """``module`` wrapped by the enclosing ``enable_wrap``'s class (its kwargs updated with
    ``wrap_overrides``); ``module`` itself outside such a context."""
    if not _WrapContext.active:
        return module
    return _WrapContext.wrapper_cls(module, **{**_WrapContext.kwargs, **wrap_overrides})
