"""PyTorch's legacy tensor types (``FloatTensor``, ``LongTensor``, ...): constructors from
data or sizes, ``isinstance`` checks, ``torch.Tensor(...)`` and ``x.new(...)``; and PyTorch's
refusal of NumPy arrays with negative strides. Moved out of creation.py (its 800-line limit),
which re-exports them."""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes, printing
from .. import meta as _meta
from ..dtypes import _Default
from ..errors import warn_at_caller
from ..promotion import size_value
from ..tensor import Tensor, _leaf, tensor_method
from .factories import _options

__all__ = ["BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor",
           "HalfTensor", "IntTensor", "LongTensor", "ShortTensor"]



class _TensorType(type):
    """``isinstance(x, deltagrad.FloatTensor)``: a Tensor of that type's dtype."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype._numpy

    def __repr__(cls) -> str:
        return f"<class 'deltagrad.{cls.__name__}'>"


class _LegacyTensor(metaclass=_TensorType):
    dtype = dtypes.float32

    def __new__(cls, *args, device=None):
        """``T(*sizes)`` or ``T(size)`` (zeros, where PyTorch leaves memory uninitialised),
        ``T(sequence)`` (the data in this type's dtype), ``T()`` (empty), or ``T(tensor)`` (a
        new tensor sharing its memory, which must have this dtype)."""
        array = legacy_array(cls.__name__, args, cls.dtype._numpy, device, strict=True)
        alias = _legacy_alias(args)
        return _leaf(array) if alias is None else alias


def _legacy_alias(args: tuple) -> Tensor | None:
    # PyTorch's legacy constructors make a differentiable alias of a tensor that requires grad.
    if len(args) == 1 and isinstance(args[0], Tensor) and args[0]._rg:
        return args[0].view(args[0]._data.shape)
    return None


def _legacy_size(arg, several: bool) -> bool:
    """Whether a legacy constructor reads ``arg`` as a size: an int or an ``__index__`` object
    (a bool is data), or, among several arguments, a 0-d integer tensor (``Tensor(t, 3)``)."""
    if isinstance(arg, Tensor):
        return several and arg._data.ndim == 0 and arg._data.dtype.kind in "iu"
    if isinstance(arg, (bool, np.bool_)):
        return False
    if isinstance(arg, np.ndarray):  # (data, but for a 0-d integer one: PyTorch's parser)
        return arg.ndim == 0 and arg.dtype.kind in "iu"
    return isinstance(arg, numbers.Integral) or hasattr(type(arg), "__index__")


_NEGATIVE_STRIDES = (
    "At least one stride in the given numpy array is negative, and tensors with negative "
    "strides are not currently supported. (You can probably work around this by making a copy "
    "of your array  with array.copy().) ")


def refuse_negative_strides(data) -> None:
    """PyTorch's ValueError for an ndarray with a negative stride (``a[::-1]``, ``np.flip``),
    which ``tensor``, ``as_tensor``, ``from_numpy`` and ``asarray`` refuse even where they
    would copy (an ndarray inside a list is read element by element: accepted); also its
    TypeError for an ndarray of a dtype no tensor has and ValueError for a non-native byte
    order."""
    if type(data) is np.ndarray:
        if data.ndim and min(data.strides) < 0:
            raise ValueError(_NEGATIVE_STRIDES)
        dtype = data.dtype
        if dtype.kind in "OSUMmT" or dtype.fields is not None or (
                dtype.kind in "fc" and dtype.itemsize > (8 if dtype.kind == "f" else 16)):
            # (df.values of mixed columns is an object array: PyTorch refuses it, so must we,
            # not make an object "tensor"; likewise strings, datetimes, records, longdouble)
            raise TypeError(f"can't convert np.ndarray of type numpy.{dtype.type.__name__}. "
                            "The only supported types are: float64, float32, float16, "
                            "complex64, complex128, int64, int32, int16, int8, uint64, uint32, "
                            "uint16, uint8, and bool.")
        if not dtype.isnative:  # (np.dtype('>f4'): from_numpy could not share it)
            raise ValueError("given numpy array has byte order different from the native byte "
                             "order. Conversion between byte orders is currently not supported.")


def legacy_array(where: str, args: tuple, numpy_dtype: np.dtype, device=None,
                 strict: bool = False) -> np.ndarray:
    """The array of PyTorch's legacy constructors (``torch.Tensor(...)``, ``FloatTensor(...)``,
    ``x.new(...)``), in ``numpy_dtype``.

    ``()`` is empty; integers or one ``Size`` are sizes (zeros: PyTorch leaves the memory
    uninitialised); a tensor is shared as it is (``strict``: only if it has ``numpy_dtype``,
    else ``TypeError``); any other one argument is data, converted to ``numpy_dtype``. A lone
    number that is not an integer is a ``TypeError`` (PyTorch wants a sequence).
    """
    from .attributes import Size  # (attributes imports this module)

    meta = _meta.names_meta(device) or (device is None and _meta.default_is_meta())
    _options(where, None if meta else device)
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if all(_legacy_size(a, len(args) > 1) for a in args):
        shape = tuple(size_value(a) for a in args) if args else (0,)
        for n in shape:
            if n < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {n}: "
                                   f"{list(shape)}")
        return _meta.MetaArray(shape, numpy_dtype) if meta else np.zeros(shape, numpy_dtype)
    if len(args) > 1:
        raise TypeError(f"{where}(): expected sizes (ints) or one sequence of data, got "
                        f"({', '.join(type(a).__name__ for a in args)})")
    (data,) = args
    if isinstance(data, Tensor):
        if strict and data._data.dtype != numpy_dtype:
            raise TypeError(f"{where}(): expected a tensor of dtype {dtypes.of(numpy_dtype)}, "
                            f"got {data.dtype}")
        return data._data
    if isinstance(data, (numbers.Number, np.generic, str, bytes)):
        raise TypeError(f"{where}(): data must be a sequence (got {type(data).__name__})")
    if isinstance(data, np.ndarray) and min(data.strides, default=0) < 0:
        raise ValueError(_NEGATIVE_STRIDES)  # (PyTorch's legacy constructors: no copy)
    refuse_negative_strides(data)  # (an object / datetime array: TypeError, not converted)
    if (type(data) is np.ndarray and data.dtype == numpy_dtype and data.flags.writeable
            and min(data.strides, default=0) >= 0):
        return data  # (shared, as PyTorch's constructors share an ndarray of their dtype)
    if isinstance(data, (list, tuple)) and _holds_tensor(data):
        data = _tensor_items_as_scalars(data, numpy_dtype.kind in "iub")
    if numpy_dtype.kind in "iu" and isinstance(data, (list, tuple)) and _holds_np_bool(data):
        # (PyTorch reads a NumPy bool as an integer index: refused; NumPy made it 1, s29 BR19)
        raise TypeError("'numpy.bool' object cannot be interpreted as an integer")
    try:
        return np.array(data, dtype=numpy_dtype)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{where}(): cannot make a {dtypes.of(numpy_dtype)} tensor from "
                        f"{type(data).__name__}: {error}") from None


_NUMBERS = frozenset((float, int, bool, complex))


def _holds_tensor(data) -> bool:
    """Whether a tensor is somewhere in the list / tuple ``data`` (its items' types gathered
    at C speed, level by level). FloatTensor of [2000, 100] nested floats 2.3 -> 5.1 ms, of
    200000 floats 2.1 -> 4.3 (CPU time, best of 7, one thread; a Python loop over the items
    instead: 16): the price of reading tensors inside the data as PyTorch does. A level of
    only floats (or only ints) is told by counting its list of types, without hashing each
    into a set: FloatTensor of 200000 floats 4.6 -> 3.7 ms (CPU time, one thread, min of 9
    rounds, HEAD alternated in one process; s28 SP45)."""
    types = list(map(type, data))
    if types.count(float) == len(types) or types.count(int) == len(types):
        return False
    kinds = set(types)
    if kinds <= _NUMBERS:
        return False
    if any(issubclass(kind, Tensor) for kind in kinds):
        return True
    return any(_holds_tensor(item) for item in data if isinstance(item, (list, tuple)))


def _holds_np_bool(data) -> bool:
    """Whether a NumPy bool scalar is somewhere in the list / tuple ``data`` (level by level,
    the types gathered at C speed)."""
    kinds = set(map(type, data))
    if np.bool_ in kinds:
        return True
    return (list in kinds or tuple in kinds) and any(
        _holds_np_bool(item) for item in data if isinstance(item, (list, tuple)))


def _tensor_items_as_scalars(data, integral: bool):
    """``data`` (a list / tuple, maybe nested) with each tensor in it read as PyTorch's legacy
    constructors read one: a Python number. PyTorch refuses a tensor of more or fewer than one
    element (ValueError; NumPy would make it a sub-array: ``FloatTensor([t])`` of a 1-element
    ``t`` is 1-d there, not 2-d) and, for an integer or bool type, a floating one (TypeError,
    where NumPy would truncate); it converts a float one that requires grad as ``float(t)``
    does, with that conversion's warning (once per process)."""
    if isinstance(data, Tensor):
        if data._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if integral:
            if data._data.dtype.kind not in "iub":
                raise TypeError("only integer tensors of a single element can be converted to "
                                "an index")
            return int(data._data.reshape(-1)[0])
        from . import tensor_surface  # (it imports creation, which imports this module)

        if data._rg and not tensor_surface._SCALAR_WARNED[0]:
            tensor_surface._SCALAR_WARNED[0] = True
            warn_at_caller(tensor_surface._SCALAR_OF_GRAD)
        return float(tensor_surface._real_one(data, "double"))
    if isinstance(data, (list, tuple)) and any(isinstance(item, (Tensor, list, tuple))
                                               for item in data):
        return [_tensor_items_as_scalars(item, integral) for item in data]
    return data


@tensor_method(name="_legacy_array")
def _tensor_legacy_array(self, args: tuple, device, requires_grad=None) -> np.ndarray:
    # `torch.Tensor(...)` (Tensor.__init__ without dtype): the default dtype, any tensor shared.
    if requires_grad is not None:
        # PyTorch's legacy constructor takes no requires_grad: only a subclass's does, and the
        # one that reaches here is `type(p)(tensor, requires_grad=...)` of a Parameter `p` (a
        # marked Tensor here; accelerate's init_empty_weights): Parameter(tensor, ...)'s result.
        if len(args) != 1 or not isinstance(args[0], Tensor) or device is not None:
            raise TypeError("new() received an invalid combination of arguments: a Tensor "
                            "constructor takes requires_grad= only as nn.Parameter(data, "
                            "requires_grad) (from type(parameter)(...))")
        if printing.mark_parameter is not None:
            printing.mark_parameter(self)
        return args[0]._data
    if len(args) == 1 and isinstance(args[0], Tensor) and args[0]._rg and not args[0].is_meta:
        # (PyTorch makes a differentiable alias, which a constructor cannot make here; a meta
        # tensor has no values to alias: accelerate's init_empty_weights makes its parameters
        # with `type(p)(p.to("meta"), requires_grad=...)`, and type(p) is Tensor here)
        raise RuntimeError("deltagrad.Tensor(t) of a tensor that requires grad is not "
                           "supported; use t.view_as(t) (differentiable) or t.detach()")
    return legacy_array(type(self).__name__, args, _Default.float, device)


@tensor_method
def new(self, *args, device=None) -> Tensor:
    """PyTorch's legacy ``x.new(...)``: ``torch.Tensor(...)``'s arguments (sizes, a ``Size``,
    data or nothing), in ``x``'s dtype; a tensor argument must have that dtype. The result is a
    new leaf that does not require grad.

    >>> import deltagrad as dg
    >>> x = dg.tensor([1, 2], dtype=dg.int32)
    >>> x.new(2, 3).shape, x.new([1.5, 2]), x.new().shape
    (deltagrad.Size([2, 3]), tensor([1, 2], dtype=deltagrad.int32), deltagrad.Size([0]))
    """
    array = legacy_array("new", args, self._data.dtype, device, strict=True)
    alias = _legacy_alias(args)
    return _leaf(array) if alias is None else alias


def _legacy(name: str, dtype) -> type:
    return _TensorType(name, (_LegacyTensor,), {"dtype": dtype, "__doc__": (
        f"PyTorch's legacy ``{name}``: makes {dtype} tensors; ``isinstance`` checks the dtype.")})


FloatTensor = _legacy("FloatTensor", dtypes.float32)
DoubleTensor = _legacy("DoubleTensor", dtypes.float64)
HalfTensor = _legacy("HalfTensor", dtypes.float16)
LongTensor = _legacy("LongTensor", dtypes.int64)
IntTensor = _legacy("IntTensor", dtypes.int32)
ShortTensor = _legacy("ShortTensor", dtypes.int16)
CharTensor = _legacy("CharTensor", dtypes.int8)
ByteTensor = _legacy("ByteTensor", dtypes.uint8)
BoolTensor = _legacy("BoolTensor", dtypes.bool)
