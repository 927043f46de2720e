"""Calling a module with other parameters and buffers (PyTorch's
``torch.nn.utils.stateless.functional_call``; ``deltagrad.func.functional_call`` is the same
call without the deprecation warning).

The given tensors temporarily take the place of the module's own ones, by dotted name, for one
call; they may be any tensors (non-leaves too), so gradients flow back to them. The module's
own tensors are put back afterwards, even if the call raises.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping
from typing import Any

from .._engine.tensor import Tensor
from .module import Module
from .utils_named_members import NamedMemberAccessor

__all__ = ["NamedMemberAccessor", "functional_call"]

_MISSING = object()


def _untie(module: Module, tensors: dict[str, Tensor]) -> dict[str, Tensor]:
    """Give every name of a tied (shared) tensor the value given for any of its names."""
    names_of: dict[int, set[str]] = {}
    for name, tensor in list(module.named_parameters(remove_duplicate=False)) + list(
            module.named_buffers(remove_duplicate=False)):
        names_of.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    given = [name for name in tensors if name in tied]
    for name in given:
        names = tied[name]
        values = {id(tensors[other]) for other in names if other in tensors}
        if len(names & set(given)) > 1 and len(values) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             "which are tied. Consider using tie_weights=False")
    untied = dict(tensors)
    for name in given:
        for other in tied[name]:
            untied[other] = tensors[name]
    return untied


def _owner(module: Module, path: str) -> tuple[Module, str]:
    prefix, _, name = path.rpartition(".")
    owner = module
    for part in prefix.split(".") if prefix else []:
        child = getattr(owner, part, None)
        if not isinstance(child, Module):
            raise AttributeError(f"{type(owner).__name__} has no attribute `{part}`")
        owner = child
    if not name:
        raise KeyError('tensor name can\'t be empty string ""')
    return owner, name


def _swap(module: Module, path: str, tensor):
    """Put ``tensor`` at ``path`` (``_MISSING`` removes it); return what was there."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of torch.Tensor")
    owner, name = _owner(module, path)
    for registry in (owner._parameters, owner._buffers):
        if name in registry:
            old = registry[name]
            if tensor is _MISSING:
                del registry[name]
            else:
                registry[name] = tensor  # (no Parameter check: any tensor may stand in)
            return old
    old = getattr(owner, name, _MISSING)
    if old is not _MISSING and old is not None and not isinstance(old, Tensor):
        raise TypeError(f"attribute `{name}`: {old} is not an instance of torch.Tensor")
    if tensor is not _MISSING:
        setattr(owner, name, tensor)
    elif hasattr(owner, name):
        delattr(owner, name)
    return old


@contextlib.contextmanager
def _reparametrized(module: Module, tensors: dict[str, Tensor], tie_weights: bool,
                    strict: bool):
    if tie_weights:
        tensors = _untie(module, tensors)
    if strict:
        names = {name for name, _ in module.named_parameters(remove_duplicate=False)}
        names |= {name for name, _ in module.named_buffers(remove_duplicate=False)}
        unexpected = sorted(set(tensors) - names)
        missing = sorted(names - set(tensors))
        messages = []
        if unexpected:
            messages.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            messages.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if messages:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t"
                               + "\n\t".join(messages))
    originals: dict[str, Any] = {}
    try:
        for name, tensor in tensors.items():
            originals[name] = _swap(module, name, tensor)
        yield
    finally:
        for name, tensor in reversed(list(originals.items())):
            _swap(module, name, tensor)


@contextlib.contextmanager
def _reparametrize_module(module: Module, parameters_and_buffers: dict[str, Tensor],
                          tie_weights: bool = False, strict: bool = False,
                          stack_weights: bool = False):
    """PyTorch's private context manager under functional_call, which libraries call directly
    (zuko's Bayesian layers): the given tensors stand in for the module's own inside the block.
    (``stack_weights`` only picks the order PyTorch restores in; this one always restores in
    reverse, which gives the same module for distinct names.)"""
    with _reparametrized(module, dict(parameters_and_buffers), tie_weights, strict):
        yield


def call_with(module: Module, parameters_and_buffers: dict[str, Tensor], args=None,
              kwargs: dict[str, Any] | None = None, *, tie_weights: bool = True,
              strict: bool = False):
    """``functional_call`` without the deprecation warning (shared with deltagrad.func)."""
    if not isinstance(module, Module):
        raise TypeError(f"expected an nn.Module, got {type(module).__name__}")
    kwargs = {} if kwargs is None else kwargs
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrized(module, dict(parameters_and_buffers), tie_weights, strict):
        return module(*args, **kwargs)


def functional_call(module: Module, parameters_and_buffers: dict[str, Tensor], args=None,
                    kwargs: dict[str, Any] | None = None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Call ``module(*args, **kwargs)`` with ``parameters_and_buffers`` standing in for its
    own tensors of those names (deprecated in PyTorch for ``torch.func.functional_call``; it
    warns FutureWarning as PyTorch's does).

    Args:
        module: the module to call.
        parameters_and_buffers: dotted names (``"0.weight"``) to tensors; names not given keep
            the module's own tensors.
        args: the positional arguments (a tuple, or one value).
        kwargs: the keyword arguments.
        tie_weights: a tensor the module shares under several names takes the value given for
            any of them.
        strict: require exactly the module's parameter and buffer names.

    Returns:
        What the module returns.

    Raises:
        ValueError: different values for names of one tied tensor.
        RuntimeError: (``strict``) missing or unexpected names.
    """
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. Please use "
                  "`torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    if not isinstance(parameters_and_buffers, Mapping):
        # (torch.func.functional_call takes a sequence of dicts; this older form reads one
        # dict's keys, and PyTorch's raises AttributeError for anything else)
        raise AttributeError(f"stateless.functional_call: parameters_and_buffers must be a "
                             f"dict, got {type(parameters_and_buffers).__name__} (use "
                             f"torch.func.functional_call for several dicts)")
    return call_with(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights,
                     strict=strict)
