"""Public functions that read their inputs' values (index checks, ``if mask.any()``, NumPy
methods a MetaArray lacks) made to work on meta tensors, as PyTorch's meta kernels do: when
such a call fails on meta inputs, it is run again on zeros of the meta inputs' shapes (CPU
leaves, calloc'd) and its results, with the graph it recorded, are made meta and linked to the
meta inputs. Values never come out: every tensor the call made is meta afterwards. Functions
that draw random numbers are not among them (a rerun would draw, and PyTorch's meta kernels
draw nothing)."""

from __future__ import annotations

import functools
import importlib

import numpy as np

from ..autograd import _counters
from ..meta import MetaArray
from ..tensor import Tensor, _leaf

__all__: list[str] = []  # (internal: it wraps functions of other modules)

# Tensor methods and public functions (by the api module that defines them) wrapped here.
METHODS = ("max", "min", "sort", "argsort", "msort", "topk", "gather", "index_select", "any",
           "all", "argmax", "argmin", "median", "nanmedian", "kthvalue", "mode", "cummax",
           "cummin", "scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy",
           "index_fill", "take_along_dim", "histc", "index_put", "quantile", "nanquantile",
           "diag", "take", "put")
FUNCTIONS = {
    "reductions": ("max", "min", "any", "all", "argmax", "argmin"),
    "sorting": ("sort", "argsort", "msort", "topk", "median", "nanmedian", "kthvalue", "mode",
                "searchsorted", "bucketize", "quantile", "nanquantile", "histc"),
    "indexing": ("gather", "index_select", "scatter", "scatter_add", "scatter_reduce",
                 "index_add", "index_copy", "index_fill", "take_along_dim", "index_put",
                 "take", "put", "one_hot"),
    "cumulative": ("cummax", "cummin"),
    "complex": ("complex", "polar"),
    "rearrange": ("diag",),
}


def _is_meta(value) -> bool:
    return isinstance(value, Tensor) and type(value._data) is MetaArray


def _any_meta(values) -> bool:
    for value in values:
        if _is_meta(value):
            return True
        if type(value) in (list, tuple) and _any_meta(value):
            return True
    return False


def _stand_in(value, originals: dict):
    """``value`` with each meta tensor (in lists and tuples too) replaced by zeros of its
    shape and dtype: a CPU leaf that requires grad as the tensor does."""
    if _is_meta(value):
        data = value._data
        zeros = _leaf(np.zeros(data.shape, data.dtype))
        if value.requires_grad:
            zeros.requires_grad_(True)
        originals[id(zeros)] = value
        return zeros
    if type(value) in (list, tuple):
        return type(value)(_stand_in(v, originals) for v in value)
    return value


def _made_meta(result, originals: dict, since: int):
    """The call's results made meta: a stand-in becomes its meta tensor again; a tensor the
    call made gets a MetaArray of its shape and dtype, and so does every graph node it made
    (``_serial`` after ``since``), whose inputs that were stand-ins become the meta tensors."""
    if isinstance(result, Tensor):
        original = originals.get(id(result))
        if original is not None:
            return original
        stack, seen = [result], set()
        while stack:
            t = stack.pop()
            if id(t) in seen:
                continue
            seen.add(id(t))
            if type(t._data) is not MetaArray:
                t._data = MetaArray(np.shape(t._data), t._data.dtype)
            view = getattr(t, "_view", None)
            if view is not None and id(view) in originals:
                t._view = originals[id(view)]
            if t._inputs:
                t._inputs = tuple(originals.get(id(x), x) for x in t._inputs)
                stack.extend(x for x in t._inputs
                             if x._op is not None and getattr(x, "_serial", 0) > since)
        return result
    if isinstance(result, tuple):
        values = [_made_meta(r, originals, since) for r in result]
        return type(result)(*values) if hasattr(result, "_fields") else type(result)(values)
    if isinstance(result, list):
        return [_made_meta(r, originals, since) for r in result]
    return result


def meta_fallback(function):
    """``function`` that, when it fails on meta inputs (it read their values), runs again on
    zeros of their shapes and gives meta results (see the module's docstring)."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (TypeError, ValueError, RuntimeError, NotImplementedError, IndexError):
            if not (_any_meta(args) or _any_meta(kwargs.values())):
                raise
        originals: dict = {}
        args = _stand_in(args, originals)
        kwargs = {k: _stand_in(v, originals) for k, v in kwargs.items()}
        since = _counters.created
        with np.errstate(all="ignore"):
            try:
                result = function(*args, **kwargs)
            except Exception as error:  # (the call's own error, for inputs with values)
                raise error.with_traceback(None) from None
        return _made_meta(result, originals, since)
    call.__wrapped_for_meta__ = True
    return call


def install() -> None:
    """Wrap METHODS on Tensor and FUNCTIONS in their modules (once, when api/ loads: before
    the top level star-imports the families)."""
    for name in METHODS:
        method = getattr(Tensor, name, None)
        if method is not None and not getattr(method, "__wrapped_for_meta__", False):
            setattr(Tensor, name, meta_fallback(method))
    package = __name__.rsplit(".", 1)[0]
    for module_name, names in FUNCTIONS.items():
        module = importlib.import_module(f"{package}.{module_name}")
        for name in names:
            function = getattr(module, name, None)
            if function is not None and not getattr(function, "__wrapped_for_meta__", False):
                setattr(module, name, meta_fallback(function))


install()
