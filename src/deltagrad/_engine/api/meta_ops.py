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
import inspect

import numpy as np

from ..autograd import _counters
from ..meta import NO_ITEM, MetaArray, NoIndex
from ..tensor import Tensor, _leaf
from .attributes import _new_size, _size_given
from .meta_device import meta_leaf, to_meta

__all__: list[str] = []  # (internal: it wraps functions of other modules)

# Tensor methods and public functions (by the api module that defines them) wrapped here.
METHODS = ("max", "min", "sort", "argsort", "msort", "topk", "gather", "index_select", "any",
           "all", "argmax", "argmin", "median", "nanmedian", "kthvalue", "mode", "cummax",
           "cummin", "scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy",
           "index_fill", "take_along_dim", "histc", "index_put", "quantile", "nanquantile",
           "diag", "take", "put", "trapezoid", "trapz", "std_mean", "var_mean", "pinverse")
REFUSED_METHODS = ("equal", "is_set_to", "cov", "corrcoef", "to_sparse", "to_sparse_csr",
                   "to_sparse_coo", "to_sparse_csc", "to_sparse_bsr", "to_sparse_bsc")
FUNCTIONS = {
    "sorting": ("sort", "argsort", "msort", "topk", "median", "nanmedian", "kthvalue", "mode",
                "searchsorted", "bucketize", "quantile", "nanquantile", "histc"),
    "indexing": ("gather", "index_select", "scatter", "scatter_add", "scatter_reduce",
                 "index_add", "index_copy", "index_fill", "take_along_dim", "index_put",
                 "take", "put", "one_hot"),
    "cumulative": ("cummax", "cummin"),
    "complex": ("complex", "polar"),
    "rearrange": ("diag",),
    "statistics": ("trapezoid", "trapz"),
    "reductions": ("max", "min", "any", "all", "argmax", "argmin"),
    "moments": ("std_mean", "var_mean"),
    "linalg_solve": ("vander",),
    "decompositions": ("pinv", "pinverse"),
}
_SMALL = 1 << 16  # (elements: a refused call's arguments are checked by running it on zeros)
# Calls PyTorch's meta device refuses (no meta kernel: NotImplementedError), by module.
REFUSED = {
    "pointwise_extra": ("equal",),
    "conversion": ("is_set_to",),
    "statistics": ("cov", "corrcoef"),
    "sparse_coo": ("to_sparse",),
    "sparse_csr": ("to_sparse_csr",),
    "rearrange": ("combinations",),
}


def _is_meta(value) -> bool:
    return isinstance(value, Tensor) and type(value._data) is MetaArray


def _any_meta(values) -> bool:
    for value in values:
        kind = type(value)
        if kind is Tensor:
            if type(value._data) is MetaArray:
                return True
        elif kind is list or kind is tuple:
            if _any_meta(value):
                return True
        elif isinstance(value, Tensor) and type(value._data) is MetaArray:
            return True
    return False


class _NumberStandIn(Tensor):
    """The stand-in of a 0-d meta tensor: read as a number (a dim, ``k``, a fill value), it
    raises PyTorch's RuntimeError rather than giving the made-up zero."""

    def item(self):
        raise NoIndex(NO_ITEM)

    __index__ = __int__ = __float__ = item


def _stand_in(value, originals: dict):
    """``value`` with each meta tensor (in lists and tuples too) replaced by zeros of its
    shape and dtype: a CPU leaf that requires grad as the tensor does."""
    if _is_meta(value):
        data = value._data
        zeros = _leaf(np.zeros(data.shape, data.dtype))
        if not data.shape:
            zeros.__class__ = _NumberStandIn
        if value.requires_grad:
            zeros.requires_grad_(True)
        originals[id(zeros)] = value
        return zeros
    if type(value) in (list, tuple):
        return type(value)(_stand_in(v, originals) for v in value)
    return value


def _has_values(result) -> bool:
    if isinstance(result, Tensor):
        return type(result._data) is not MetaArray
    if isinstance(result, (tuple, list)):
        return any(_has_values(r) for r in result)
    return False


def _made_meta(result, originals: dict, since: int, keep=frozenset()):
    """The call's results made meta: a stand-in becomes its meta tensor again; a tensor the
    call made gets a MetaArray of its shape and dtype, and so does every graph node it made
    (``_serial`` after ``since``), whose inputs that were stand-ins become the meta tensors."""
    if isinstance(result, Tensor):
        original = originals.get(id(result))
        if original is not None:
            return original
        if id(result) in keep:  # (an input given back: it keeps its values)
            return result
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
        values = [_made_meta(r, originals, since, keep) for r in result]
        return type(result)(*values) if hasattr(result, "_fields") else type(result)(values)
    if isinstance(result, list):
        return [_made_meta(r, originals, since, keep) for r in result]
    return result


def meta_fallback(function):
    """``function`` that, when it fails on meta inputs (it read their values), runs again on
    zeros of their shapes and gives meta results (see the module's docstring)."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        if not MetaArray.made:  # (no meta tensor yet: 0.3 us of argument checks saved a call)
            return function(*args, **kwargs)
        since = _counters.created
        try:
            result = function(*args, **kwargs)
        except NoIndex:  # (a meta tensor read as a number: PyTorch's RuntimeError)
            raise
        except (TypeError, ValueError, RuntimeError, NotImplementedError, IndexError):
            if not (_any_meta(args) or _any_meta(kwargs.values())):
                raise
        else:
            # A result made from scratch (a 0-d or empty input's shortcut: `max(x0d, dim)`'s
            # indices) is made meta too when an input is.
            if (_any_meta(args) or kwargs and _any_meta(kwargs.values())) and _has_values(
                    result):
                inputs = {id(v) for v in (*args, *kwargs.values()) if isinstance(v, Tensor)}
                return _made_meta(result, {}, since, inputs)
            return result
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


def meta_refused(function):
    """``function`` raising PyTorch's NotImplementedError on meta inputs (no meta kernel: its
    result depends on the values, or it makes a layout meta tensors lack)."""
    name = function.__name__.removeprefix("_").removesuffix("_method")

    @functools.wraps(function)
    def call(*args, **kwargs):
        # (no meta tensor yet: the scan skipped, 0.8 us for two tensors, as meta_fallback's)
        if MetaArray.made and (_any_meta(args) or _any_meta(kwargs.values())):
            # PyTorch's argument errors (TypeErrors) come first: the call is run on stand-ins
            # when they are small, its arguments only bound when not.
            small = all(x._data.size <= _SMALL for x in (*args, *kwargs.values())
                        if _is_meta(x))
            try:
                if small:
                    with np.errstate(all="ignore"):
                        function(*_stand_in(args, {}),
                                 **{k: _stand_in(v, {}) for k, v in kwargs.items()})
                else:
                    inspect.signature(function).bind(*args, **kwargs)
            except TypeError as error:
                raise error.with_traceback(None) from None
            except Exception:  # noqa: BLE001, S110 - only argument errors go first
                pass
            raise NotImplementedError(f"{name}: attempted to run this operator with Meta "
                                      f"tensors, which has no meta kernel")
        return function(*args, **kwargs)
    call.__wrapped_for_meta__ = True
    return call


def _meta_new(method):
    """``Tensor.new_*`` giving a meta tensor for a meta ``self`` (no ``device=``), as PyTorch's
    do: the call is checked, and its shape and dtype found, with a 0-d stand-in of ``self`` and
    an empty size (no memory for the size asked for)."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if type(self._data) is not MetaArray or kwargs.get("device") is not None:
            return method(self, *args, **kwargs)
        name = method.__name__
        stand_in = _leaf(np.zeros((), self._data.dtype))
        if name == "new_tensor":
            data = args[0] if args else kwargs.get("data")
            if _is_meta(data):  # (a copy of a meta tensor: meta, in self's dtype by default)
                made = method(stand_in, 0, *args[1:], **{k: v for k, v in kwargs.items()
                                                         if k != "data"})
                return meta_leaf(data._data.shape, made._data.dtype, made.requires_grad)
            return to_meta(method(stand_in, *args, **kwargs))
        size = kwargs.pop("size", None)
        if name == "new_full":
            if len(args) < 2 and "fill_value" not in kwargs:
                return method(self, *args, **kwargs)  # (PyTorch's TypeError: an argument missing)
            size = args[0] if args else size
            args = args[1:]
            shape = _new_size((size,), name)
        else:
            shape = _new_size(_size_given(name, args, size), name)
            args = ()
        made = method(stand_in, (), *args, **kwargs)  # (the other arguments' errors)
        return meta_leaf(shape, made._data.dtype, made.requires_grad)
    call.__wrapped_for_meta__ = True
    return call


def meta_number(function, position: int, keyword: str, unset=None):
    """``function`` whose argument ``keyword`` (or positional ``position``) PyTorch reads as a
    number, or, left at ``unset``, works out from the input's values: a meta tensor there, or
    ``unset`` with a meta input, is PyTorch's RuntimeError (``item()`` of a meta tensor)."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        value = args[position] if len(args) > position else kwargs.get(keyword, unset)
        if _is_meta(value) or (unset is not None and value == unset and _any_meta(args[:1])):
            raise NoIndex(NO_ITEM)
        return function(*args, **kwargs)
    call.__wrapped_for_meta__ = True
    return call


# (module, name, position, keyword, the value that makes the function read the input's values)
NUMBERS = (("indexing", "one_hot", 1, "num_classes", -1),
           ("decompositions", "pinverse", 1, "rcond", None))


def install() -> None:
    """Wrap METHODS on Tensor and FUNCTIONS in their modules (once, when api/ loads: before
    the top level star-imports the families)."""
    for name in METHODS:
        method = getattr(Tensor, name, None)
        if method is not None and not getattr(method, "__wrapped_for_meta__", False):
            setattr(Tensor, name, meta_fallback(method))
    package = __name__.rsplit(".", 1)[0]
    for wrapper, table in ((meta_fallback, FUNCTIONS), (meta_refused, REFUSED)):
        for module_name, names in table.items():
            module = importlib.import_module(f"{package}.{module_name}")
            for name in names:
                function = getattr(module, name, None)
                if function is not None and not getattr(function, "__wrapped_for_meta__",
                                                        False):
                    setattr(module, name, wrapper(function))
    for module_name, name, position, keyword, unset in NUMBERS:
        module = importlib.import_module(f"{package}.{module_name}")
        wrapped = meta_number(getattr(module, name), position, keyword, unset)
        setattr(module, name, wrapped)
        if getattr(Tensor, name, None) is not None:
            setattr(Tensor, name, meta_number(getattr(Tensor, name), position, keyword, unset))
    for name in ("new_zeros", "new_ones", "new_empty", "new_full", "new_tensor"):
        setattr(Tensor, name, _meta_new(getattr(Tensor, name)))
    for name in REFUSED_METHODS:
        method = getattr(Tensor, name, None)
        if method is not None and not getattr(method, "__wrapped_for_meta__", False):
            setattr(Tensor, name, meta_refused(method))


install()
