"""What the reduction, scan and sorting functions share: dim checks, NumPy's keyword names
(``axis``, ``keepdims``), ``out=``, and PyTorch's named result tuples."""

from __future__ import annotations

import functools
import numbers
import sys
from collections import namedtuple

import numpy as np

from .. import bf16 as _bfloat16
from .. import dtypes, versions
from ..autograd import DTypeError, _Anomaly, _counters, _GradMode, _Recording
from ..errors import warn_at_caller
from ..meta import MetaArray, NoValues, meta_recover
from ..ops import OPS
from ..ops.complex import COMPLEX_DTYPES
from ..ops.decompositions import laid_out, part_copied
from ..ops.elementwise import quiet as quiet_call
from ..tensor import Tensor, _float32_unless_float64, _forward_error, _lift, _result
from ..tensor_ops import _Operators  # noqa: F401 - importing it attaches Tensor's operators

_PART = OPS["packed_part"]
_new = object.__new__
_ndarray = np.ndarray
_float32 = np.dtype(np.float32)
_BF16 = _bf16 = None  # NumPy's bfloat16 and _engine/bf16.py, once ml_dtypes is loaded


def _bfloat16_loaded(found: np.dtype) -> None:
    # The hot paths here and in tensor.py test `dtype is _BF16` (None until bfloat16 is used).
    global _BF16, _bf16
    _bfloat16.loaded(found)
    _BF16, _bf16 = found, _bfloat16
    _tensor_module = sys.modules[__package__.rpartition(".")[0] + ".tensor"]
    _tensor_module._BF16, _tensor_module._bf16 = found, _bfloat16


dtypes.BFLOAT16_LOADED.append(_bfloat16_loaded)
_float64 = np.dtype(np.float64)
_COMPLEX = COMPLEX_DTYPES  # (complex results: _result picks the rule, ops/complex.py)


def apply_checked(op, x: Tensor, attrs: dict) -> Tensor:
    """``apply(op, x, **attrs)`` for the common call of a hot public function (mean, softmax,
    transpose, ...) whose arguments the caller has already checked, so that the forward cannot
    fail: no lifting, no error translation, no ``**attrs`` dict built per call (``attrs`` may be
    shared by every call with the same arguments: nothing writes into a node's attributes).
    The result is made by ``_result`` as ``apply`` makes it (capture, anomaly and inference
    mode included). On 8 x 8 float32 under grad (timeit, against apply): mean(dim=1,
    keepdim=True) 2.58-2.77 -> 2.43-2.50 us, F.softmax(x, dim=1) 3.02-3.16 -> 2.83-2.99."""
    if x._data.dtype is _BF16:  # (float32 compute, rounded once: _engine/bf16.py)
        return _bf16.apply(op, (x,), attrs)
    try:
        data = op.forward(x._data, **attrs)
    except NoValues as error:  # (a forward reading a meta input's values: run on zeros)
        data = meta_recover(_forward_error, op, (x,), attrs, error)
    except RuntimeWarning:  # (NumPy's inf - inf raised as an error: as tensor._binary)
        data = quiet_call(op.forward, x._data, **attrs)
    if type(data) is not _ndarray:
        data = data if type(data) is MetaArray else np.asarray(data)  # (meta.py: no values)
    inline = True  # (a complex result goes through _result, which picks its rule)
    if data.dtype is not _float32:
        if data.dtype is _float64:
            data = _float32_unless_float64(data, (x,))
        inline = data.dtype not in _COMPLEX
    if inline and x._rg and _GradMode.enabled and not _Anomaly.enabled:
        # The node made here, as _result makes it (as tensor._unary does): on 8 x 8 under
        # grad mean(dim=1, keepdim=True) 2.72 -> 2.57 us, F.softmax 3.10 -> 2.96 (timeit,
        # alternated with the call of _result, median of 25 rounds).
        out = _new(Tensor)
        out._data = data
        out._grad = out._hooks = None
        out._mark = 0
        out._retain = False
        out._rg = True
        out._op = op
        out._inputs = (x,)
        out._attrs = attrs
        out._serial = _counters.created = _counters.created + 1
        return out
    return _result(data, op, (x,), attrs, _GradMode.enabled and x._rg)


def as_tensor(x) -> Tensor:
    return x if type(x) is Tensor else _lift(x, None)


def wrap_dim(dim, ndim: int) -> int:
    """``dim`` in ``[-ndim, ndim)`` as a non-negative index (a 0-d tensor takes -1 and 0);
    out of range raises IndexError with PyTorch's message."""
    if type(dim) is int and -ndim <= dim < ndim:
        # The common case first: a plain int in range skips the ABC checks below (0.3 us
        # each; 32,600 calls in 200 W2-model steps).
        return dim % ndim
    if isinstance(dim, Tensor):
        dim = dim.item()
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    span = max(ndim, 1)
    if not -span <= dim < span:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-span}, "
                         f"{span - 1}], but got {dim})")
    return int(dim) % span


def reduction_dims(dim, ndim: int) -> int | tuple | None:
    """The dims a reduction runs over: ``None`` for all of them (``dim`` None, ``()`` or
    ``[]``, or any valid dim of a 0-d tensor), else the wrapped dim (an int stays an int, so
    graph printouts show ``dim=1``) or a tuple of them. A repeated dim raises RuntimeError and
    one out of range IndexError, as in PyTorch."""
    if dim is None:
        return None
    if type(dim) is int and 0 < ndim and -ndim <= dim < ndim:  # (wrap_dim's common case)
        return dim % ndim
    if not isinstance(dim, (tuple, list)):
        single = wrap_dim(dim, ndim)
        return single if ndim else None
    key = None
    for d in dim:
        if type(d) is not int:  # (bools, tensors: the checks below, every time)
            break
    else:
        key = (tuple(dim), ndim)
        known = _DIMS.get(key)
        if known is not None:
            return known
    # (a bool after the first dim is its int, as PyTorch's int[] parser reads it; s27 BR16)
    wrapped = tuple(wrap_dim(list_item(d), ndim) for d in later_bools_as_ints(tuple(dim)))
    if len(set(wrapped)) != len(wrapped):
        repeated = next(d for d in wrapped if wrapped.count(d) > 1)
        raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
    if not wrapped or ndim == 0:
        return None
    if key is not None and len(_DIMS) < 1024:
        _DIMS[key] = wrapped
    return wrapped


# Tuples of dims met, wrapped (the checks above run once per tuple and rank): a tuple's
# wrapping and checks cost 0.6 us, the look-up 0.15 (var over dims (0, 2) calls it twice).
_DIMS: dict = {}


def dims_tuple(dims) -> tuple:
    """``reduction_dims``'s result as a tuple (empty for None)."""
    return () if dims is None else (dims,) if isinstance(dims, int) else dims


def numpy_names(function):
    """Accept NumPy's ``axis`` for ``dim`` and ``keepdims`` for ``keepdim``, as PyTorch does."""

    @functools.wraps(function)
    def accepting(*args, **kwargs):
        # (two dict lookups when neither alias is given: the common case stays one extra call)
        if "axis" in kwargs or "keepdims" in kwargs:
            for numpy_name, name in (("axis", "dim"), ("keepdims", "keepdim")):
                if numpy_name in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{function.__name__}() got both {name!r} and its alias "
                                        f"{numpy_name!r}")
                    kwargs[name] = kwargs.pop(numpy_name)
        return function(*args, **kwargs)

    return accepting


class _NotGiven:
    """The default of ``axis`` / ``keepdims`` where a function takes them as its own keywords."""

    def __repr__(self) -> str:
        return "<not given>"


NOT_GIVEN = _NotGiven()


def numpy_aliases(name: str, dim, keepdim, axis, keepdims, no_dim=None) -> tuple:
    """``numpy_names`` for a function that takes ``axis`` and ``keepdims`` as keywords of its
    own (default ``NOT_GIVEN``) and calls this only when one is given: the wrapper's extra call
    and argument packing cost 0.25 us on every call of the hot reductions (``x.sum(1)``).
    ``no_dim`` is the function's default ``dim``. Returns ``(dim, keepdim)``."""
    if axis is not NOT_GIVEN:
        if dim is not no_dim:
            raise TypeError(f"{name}() got both 'dim' and its alias 'axis'")
        dim = axis
    if keepdims is not NOT_GIVEN:
        if keepdim is not NOT_GIVEN and keepdim:  # (NOT_GIVEN: a keepdim default, s27 BR15)
            raise TypeError(f"{name}() got both 'keepdim' and its alias 'keepdims'")
        keepdim = keepdims
    return dim, keepdim


def refuse_dual_out(name, out, result) -> None:
    """PyTorch's NotImplementedError for an out= function given a forward-AD dual (inside a
    dual level, ``_rg`` on a result or ``out`` that reports requires_grad=False, or under
    no_grad: one that carries a tangent). s31 BR26: with requires_grad False there as PyTorch's,
    the out= write was taken and dropped the tangent, silently."""
    if _Recording.hidden is not None and (result._rg or out._rg):
        raise NotImplementedError(
            f"Trying to use forward AD with {name or 'this function'}_out that does not support "
            "it because it is an out= function")


def write_out(out, result):
    """PyTorch's ``out=``: the result's values written into ``out`` (resized if its shape
    differs), which is returned. Works for a tensor or a tuple of them."""
    if out is None:
        return result
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"out= must be a tuple of {len(result)} tensors")
        written = [write_out(o, r) for o, r in zip(out, result)]
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)
    if not isinstance(out, Tensor):
        raise TypeError(f"out= must be a Tensor, got {type(out).__name__}")
    if _GradMode.enabled and (out.requires_grad or result.requires_grad):
        raise RuntimeError("functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad")
    refuse_dual_out(None, out, result)
    if out.dtype != result.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {result.dtype}, but got "
                           f"{out.dtype} instead")
    if out.shape == result.shape:
        out.copy_(result)  # in place: views of out see it, and its version counts the change
    else:
        if out._data.size:
            warn_resized(out.shape, result.shape)
        resized = resize_in_storage(out._data, result.shape)
        if resized is not None:
            out._data = resized
            out.copy_(result)
            return out
        version = versions.version(out._data)
        out._data = result._data.copy()  # resized, as PyTorch does: a new storage
        versions.bump(out._data, _counters.created, version)  # (its counter goes on: + 1)
    return out


def resize_in_storage(data: np.ndarray, shape: tuple):
    """PyTorch's resize of an ``out=`` tensor whose storage holds the new size from where it
    starts: that storage, row-major (so its base and other views see what is written); None
    where it must grow (a new storage). (s18 SL3: a resized view wrote nowhere visible.)"""
    from .storage import _block  # (api/storage imports the tensor module: not at import time)

    count = int(np.prod(shape))
    if data.base is None and data.flags.c_contiguous:
        elements, start = data.reshape(-1), 0
    else:
        block = _block(data)
        if not block.flags.writeable:
            return None
        usable = block.size - block.size % data.itemsize
        elements = block[:usable].view(data.dtype)
        start = (data.ctypes.data - elements.ctypes.data) // data.itemsize
    if start + count > elements.size:
        return None
    return elements[start:start + count].reshape(shape)


def warn_resized(old_shape, new_shape) -> None:
    """PyTorch's warning when ``out=`` had elements and another shape than the result's (an
    empty ``out`` is resized silently): a program that reuses a buffer of the wrong size gets
    told, in both libraries."""
    # (at the user's line however deep the writer sits: var(out=) is two calls further down)
    warn_at_caller(f"An output with one or more elements was resized since it had shape "
                   f"{list(old_shape)}, which does not match the required output shape "
                   f"{list(new_shape)}. This behavior is deprecated, and in a future PyTorch "
                   "release outputs will not be resized unless they have zero elements. You can "
                   "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                   "with t.resize_(0).")


def out_dtype(out, dtype, name: str):
    """The dtype a sum, product or scan runs in when given ``out=``: PyTorch's ``dtype``
    defaults to ``out``'s there (``sum(x_float, 1, out=long_out)`` casts ``x`` to int64 first,
    then sums), and a ``dtype`` other than ``out``'s is its RuntimeError."""
    if not isinstance(out, Tensor):
        return dtype
    if dtype is None:
        return out.dtype
    wanted = dtypes.of(np.dtype(dtype))
    if wanted != out.dtype:
        raise RuntimeError(f"{name}(): Expected out tensor to have dtype {wanted}, but got "
                           f"{out.dtype} instead")
    return dtype


RETURN_TYPES: dict = {}  # name -> class, for the module deltagrad.return_types


def return_type(name: str, fields: str):
    """A named tuple like ``torch.return_types.<name>`` (``values``, ``indices``, ...)."""
    made = namedtuple(name, fields)
    made.__module__ = "deltagrad.return_types"
    made.__repr__ = _return_type_repr  # PyTorch's: one field a line, the module named
    RETURN_TYPES[name] = made
    return made


def _return_type_repr(self) -> str:
    fields = ",\n".join(f"{field}={value!r}" for field, value in zip(self._fields, self))
    return f"{dtypes.PREFIX[0]}.return_types.{type(self).__name__}(\n{fields})"


def parts(packed: Tensor, indices, layouts: str = "", rows: int = 0) -> list:
    """The results an op packed into one tensor (a decomposition's ``U, S, Vh``: blocks of
    rows, see ops/linalg_solve.py's ``layout``), as tensors: each a view of one block, its
    node a ``packed_part`` of the packed one, whose backward places its gradient in that block.

    ``layouts`` (a letter per result) gives results PyTorch's strides (LAPACK's): ``'F'``
    each matrix column-major, ``'C'`` row-major (a batch of vectors), in new memory (whose
    in-place changes the part's node checks: ops/decompositions.py's ``_part_vjp``);
    ``rows``: the first rows of ``rows``-row ones (lstsq's solution in LAPACK's buffer).

    Made with ``_result`` directly (the views need neither ``apply``'s lifting nor its dtype
    rule); with the op's lean rule the five linalg ops of the op table take 0.936 of their
    time with getitem slices (ab.py ops against HEAD, 25 rounds, 1 thread).
    """
    data = packed._data
    requires_grad = packed._rg and _GradMode.enabled
    inputs = (packed,)
    if layouts:  # (the same forward as the op's: a replay lays them out alike)
        results = []
        for index, order in zip(indices, layouts):  # (fewer indices than letters: mode 'r')
            block = data[index]
            if order == "F" or (order == "C" and part_copied(block, order, rows)):
                block = laid_out(block, order == "F", rows=rows)
            results.append(_result(block, _PART, inputs, {"index": index, "order": order,
                                                          "rows": rows} if rows else
                                   {"index": index, "order": order}, requires_grad))
        return results
    return [_result(data[index], _PART, inputs, {"index": index}, requires_grad)
            for index in indices]


# ----------------------------------------------------------------------------------------------
# PyTorch's argument parser, where an argument has a type: a wrong one is its TypeError (not a
# truncated float or a bool read as 0 / 1).


def int_arg(value, argument: str, where: str, one_element: bool = False,
            symbolic: bool = False) -> int:
    """``value`` as PyTorch's ``int`` argument: an int or a 0-d integer tensor (any
    one-element one where ``one_element``: PyTorch's parser differs by function); a bool, a
    float or anything else is a TypeError. A ``symbolic`` one (PyTorch's ``SymInt``: a size, a
    count, an offset, not a dim) takes any object with ``__index__`` too."""
    if type(value) is int:
        return value
    if isinstance(value, Tensor):
        data = value._data
        if data.dtype.kind in "iu" and data.size == 1 and (one_element or data.ndim == 0):
            return int(value.item())
        # (PyTorch: a TypeError, or a RuntimeError for a one-element bool or float tensor;
        # DTypeError is both)
        raise DTypeError(f"{where}(): argument '{argument}' must be int, not a Tensor of "
                         f"{value.dtype} and {value._data.size} elements")
    elif not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Integral):
        return int(value)
    index = index_or_none(value) if symbolic else None
    if index is not None:
        return index
    raise TypeError(f"{where}(): argument '{argument}' must be int, not {type(value).__name__}")


def later_bools_as_ints(values) -> tuple:
    """An int list as PyTorch's parser reads it: a Python bool after the first position is its
    int (``x.repeat(1, True)`` is ``x.repeat(1, 1)``); a first one stays, for the caller's
    TypeError (s27 BR16)."""
    return tuple(values[:1]) + tuple(int(v) if type(v) is bool else v for v in values[1:])


def index_or_none(value) -> int | None:
    """``value`` as an int where PyTorch's parser reads it as one though it is no int: any
    object with ``__index__`` (a user class, a shape object) but a bool, a Tensor or an
    ndarray (data: its ``__index__`` raises unless it holds one integer); else None."""
    if isinstance(value, (bool, np.bool_, Tensor, np.ndarray)) or \
            not hasattr(type(value), "__index__"):
        return None
    return int(value.__index__())


def list_item(value):
    """An item of PyTorch's ``int[]`` argument (several dims or sizes): an object with
    ``__index__`` as the int it stands for (PyTorch's parser takes one there, where a lone
    ``int`` dim refuses it); anything else as it is, for the caller's checks."""
    index = index_or_none(value)
    return value if index is None else index


def bool_arg(value, argument: str, where: str) -> bool:
    """``value`` as PyTorch's ``bool`` argument: a Python bool only (an int is a TypeError)."""
    if type(value) is not bool:
        raise TypeError(f"{where}(): argument '{argument}' must be bool, not "
                        f"{type(value).__name__}")
    return value


def tensor_arg(value, argument: str, where: str) -> Tensor:
    """``value`` as PyTorch's ``Tensor`` argument: a number there is a TypeError."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{where}(): argument '{argument}' must be Tensor, not "
                        f"{type_name(value)}")
    return value


class NotATensorError(TypeError, AttributeError):
    """A list, tuple, ndarray or number given where PyTorch requires a Tensor. PyTorch raises
    a TypeError from its C++ functions' argument parser and, from its Python ones, the
    AttributeError of the first tensor method they call on it (``'list' object has no
    attribute 'dim'``); this is both, so that either ``except`` catches it."""


def tensor_input(value, up: int = 1) -> Tensor:
    """``value`` itself where it is a Tensor (a Parameter, a subclass); else PyTorch's
    TypeError, naming the calling function and its argument (read off the caller's frame, on
    this error path only): ``relu(): argument 'input' (position 1) must be Tensor, not list``.
    A batch list given to ``forward`` (Lightning's default predict_step) must not be
    converted into a tensor and computed on silently. ``up``: how many frames up the public
    function is (2 from a helper that it calls)."""
    if type(value) is Tensor or isinstance(value, Tensor):
        return value
    raise _not_a_tensor(value, sys._getframe(up))


def _not_a_tensor(value, frame) -> NotATensorError:
    code = frame.f_code
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    argument = next((n for n in names if frame.f_locals.get(n) is value), None)
    kind = type_name(value)
    if argument is None:
        return NotATensorError(f"{code.co_name}(): expected a Tensor, not {kind}")
    position = (f" (position {names.index(argument) + 1})"
                if names.index(argument) < code.co_argcount else "")
    return NotATensorError(f"{code.co_name}(): argument '{argument}'{position} must be "
                           f"Tensor, not {kind}")


def type_name(value) -> str:
    """PyTorch's name of a value's type in its argument errors."""
    return "numpy.ndarray" if isinstance(value, np.ndarray) else type(value).__name__
