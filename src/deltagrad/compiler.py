"""``deltagrad.compiler``: PyTorch's ``torch.compiler`` API for a library without a compiler.

Code runs eagerly, as PyTorch's does outside ``torch.compile``: the queries answer that nothing
is being compiled or exported, the decorators that steer the compiler return the function as
it is, and ``wrap_numpy`` runs its NumPy function on the tensors' arrays, as PyTorch's does in
eager mode.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import numpy as np

from ._engine.api.creation import as_tensor
from ._engine.tensor import Tensor
from .nn.module import Module
from .utils import _pytree

__all__ = ["allow_in_graph", "assume_constant_result", "compile", "cudagraph_mark_step_begin",
           "disable", "is_compiling", "is_dynamo_compiling", "is_exporting", "list_backends",
           "load_cache_artifacts", "nested_compile_region", "reset", "save_cache_artifacts",
           "set_stance", "substitute_in_graph", "wrap_numpy"]


def compile(model=None, **kwargs):  # noqa: A001 - PyTorch's name
    """``torch.compiler.compile`` is ``torch.compile``: nothing is compiled. A module comes back
    in PyTorch's wrapper (``_dynamo.OptimizedModule``, which runs it eagerly; its
    ``state_dict()`` keys start ``_orig_mod.``, as programs that strip that prefix expect), a
    function unchanged; without a model, a decorator that does the same; ``disable=True``
    returns the model itself."""
    if model is None:
        return lambda function: compile(function, **kwargs)
    if kwargs.get("disable") or not isinstance(model, Module):
        return model
    from ._dynamo.eval_frame import OptimizedModule

    return OptimizedModule(model)


def is_compiling() -> bool:
    """False: deltagrad never traces code for a compiler."""
    return False


def is_dynamo_compiling() -> bool:
    """False: there is no Dynamo tracing in deltagrad."""
    return False


def is_exporting() -> bool:
    """False: there is no ``torch.export`` tracing in deltagrad."""
    return False


def reset() -> None:
    """Clear the compiler's caches: there are none, so nothing happens."""


def list_backends(exclude_tags=("debug", "experimental")) -> list[str]:
    """The names of the compiler backends: none (``deltagrad.compile`` runs models eagerly)."""
    return []


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None):
    """Keep ``fn`` out of compilation: ``fn`` itself (as a decorator factory when ``fn`` is
    None), since nothing is compiled."""
    if fn is None:
        return lambda function: function
    return fn


def allow_in_graph(fn: Callable) -> Callable:
    """``fn`` unchanged (PyTorch's "put this call in the graph as it is")."""
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    """``fn`` unchanged (PyTorch's "treat the result as a constant while tracing")."""
    return fn


def substitute_in_graph(original_fn: Callable, *, can_constant_fold_through: bool = False,
                        skip_signature_check: bool = False) -> Callable:
    """A decorator registering a traceable stand-in for ``original_fn``; eagerly, the
    decorated name calls ``original_fn``, as PyTorch's does outside compilation."""
    def register(polyfill: Callable) -> Callable:
        @functools.wraps(original_fn)
        def call(*args, **kwargs):
            return original_fn(*args, **kwargs)
        return call
    return register


def nested_compile_region(fn: Callable | None = None, options=None):
    """``fn`` unchanged (as a decorator factory when ``fn`` is None)."""
    if fn is None:
        return lambda function: function
    return fn


def cudagraph_mark_step_begin() -> None:
    """Mark a new iteration for CUDA graphs: there are none, so nothing happens."""


def save_cache_artifacts():
    """The compiler's cache artifacts: None, as PyTorch's answer when nothing was compiled."""
    return None


def load_cache_artifacts(serialized_artifacts: bytes):
    """Load compiler cache artifacts: there is no cache, so None."""
    return None


class set_stance(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Set how ``torch.compile``'d code runs (a context manager and decorator); every stance
    runs eagerly here, so it changes nothing."""

    def __init__(self, stance: str = "default", *, skip_guard_eval_unsafe: bool = False,
                 force_backend=None) -> None:
        self.stance = stance

    def __enter__(self) -> set_stance:
        return self

    def __exit__(self, *exc) -> None:
        return None


def _to_array(value):
    return value.numpy() if isinstance(value, Tensor) else value


def _to_tensor(value):
    return as_tensor(value) if isinstance(value, np.ndarray) else value


def wrap_numpy(fn: Callable) -> Callable:
    """Let a function written for NumPy arrays take and return tensors: tensor arguments
    (inside lists, tuples and dicts too) reach ``fn`` as arrays (``Tensor.numpy()``, so a
    tensor that requires grad raises as in PyTorch), and arrays in its result come back as
    tensors sharing their memory (NumPy scalars stay NumPy scalars, as in PyTorch)."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        args, kwargs = _pytree.tree_map_only(Tensor, _to_array, (args, kwargs))
        result = fn(*args, **kwargs)
        # Only arrays come back as tensors: a NumPy scalar (np.sum's result) stays one, as in
        # PyTorch's eager wrap_numpy.
        return _pytree.tree_map_only(np.ndarray, _to_tensor, result)
    return wrapped
