"""The Tensor's operators: arithmetic, comparison and bitwise dunders, ``T``/``mT`` and indexing.

Split out of ``tensor`` (which keeps the class, its attributes and the one path that makes
results). They are written as the methods of ``_Operators`` and copied onto ``Tensor`` when this
module is imported, which ``api._common`` does: every engine import (the engine's ``__init__``
imports ``api``) attaches them before any program runs. They live in ``Tensor.__dict__`` as if
written in the class body: W2 0.99 and W2-model 1.00 of the time before the split (paired A/B).
"""

from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

from . import subclassing  # Tensor subclasses keep their class
from . import subscripts as _subscripts
from .autograd import ShapeError
from .dtypes import _Default
from .elementwise_layout import relaid
from .errors import warn_at_caller
from .forward_errors import BOOL_SUB_BOTH as _BOOL_SUB_BOTH
from .forward_errors import broadcast_words
from .modes import MAPPED, refuse_mapped_mask
from .node_names import rename_node
from .promotion import bitwise, check_fits, common, int_power, wrapped
from .subscripts import _INDEX_DTYPES
from .subscripts import normalize as _normalize_index
from .tensor import (
    _ADD,
    _BOOL_SUB,
    _DIV,
    _GETITEM,
    _MATMUL,
    _MUL,
    _NEG,
    _POW,
    _POW_SCALAR,
    _SUB,
    ForeignOperand,
    Tensor,
    _binary,
    _leaf,
    _lift,
    _unary,
    apply,
)

__all__: list = []

_ndarray = np.ndarray


PLAIN_MATMUL = subclassing.PLAIN_MATMUL  # Tensor.matmul as defined (api/linalg.py sets it)


class _Operators:
    """The operators, attached to ``Tensor`` below (this class is never instantiated)."""

    # PyTorch's __add__, __radd__ and __sub__ are its add / sub: they take ``alpha`` (the
    # scale of ``other``), given by keyword; None (not given) keeps the operator's fast path.
    def __add__(self, other, *, alpha=None):
        if alpha is not None:
            return self.add(other, alpha=alpha)
        try:
            return _binary(_ADD, self, other)
        except ForeignOperand:  # (its own __radd__ decides)
            return NotImplemented

    def __radd__(self, other, *, alpha=None):
        if alpha is not None:
            return self.add(other, alpha=alpha)
        try:
            return _binary(_ADD, _lift(other, self, True), self)
        except ForeignOperand:
            return NotImplemented

    def __sub__(self, other, *, alpha=None):
        if alpha is not None:
            return self.sub(other, alpha=alpha)
        if type(other) is bool:
            raise RuntimeError(_BOOL_SUB_BOTH if self._data.dtype.kind == "b" else _BOOL_SUB)
        try:
            return _binary(_SUB, self, other)
        except ForeignOperand:
            return NotImplemented

    def __rsub__(self, other):
        if type(other) is bool:
            raise RuntimeError(_BOOL_SUB_BOTH if self._data.dtype.kind == "b" else _BOOL_SUB)
        try:
            return _binary(_SUB, _lift(other, self, True), self)
        except ForeignOperand:
            return NotImplemented

    def __mul__(self, other):
        try:
            return _binary(_MUL, self, other)
        except ForeignOperand:
            return NotImplemented
        except TypeError:  # (a str: Python repeats it by __index__, `t * 'ab'`, as PyTorch)
            if isinstance(other, (str, bytes)):
                return NotImplemented
            raise

    def __rmul__(self, other):
        try:
            return _binary(_MUL, _lift(other, self, True), self)
        except ForeignOperand:
            return NotImplemented
        except TypeError:  # (`'ab' * t`: 'abab' by t.__index__)
            if isinstance(other, (str, bytes)):
                return NotImplemented
            raise

    def __truediv__(self, other):
        if type(other) is int and 1 << 63 <= other < 1 << 64 and self._data.dtype.kind in "iu":
            other = float(other)  # (PyTorch's uint64 number true-divides as a float)
        try:
            return _binary(_DIV, self, other)
        except ForeignOperand:
            return NotImplemented

    def __rtruediv__(self, other):
        if isinstance(other, (Tensor, np.ndarray, numbers.Number)):  # (an ndarray: NumPy's)
            # PyTorch defines it as reciprocal(self) * other, for a number too: an integer or
            # bool self becomes float32 first (int64.__rtruediv__(float16) is float32), the
            # reciprocal is rounded (``3 / t`` on uint8 or float32 is not 3 divided by t).
            # (`a / b` of two tensors never gets here: it is a.__truediv__.) Two ops, as
            # PyTorch's: 2.0 / t on 8 x 8 float32 3.7 -> 5.5 us (thread time, alternated).
            return self.reciprocal() * other
        try:
            return _binary(_DIV, _lift(other, self, True), self)
        except ForeignOperand:
            return NotImplemented

    def __pow__(self, exponent):
        if isinstance(exponent, np.generic):  # (a NumPy scalar is a number: x ** np.complex128)
            exponent = float(exponent) if type(exponent) is np.bool_ else exponent.item()
        if isinstance(exponent, numbers.Number):
            if type(exponent) is int and not -(1 << 63) <= exponent < (1 << 64):
                raise OverflowError("int too big to convert")  # (PyTorch's parser: x ** 2**64)
            if type(exponent) is complex and self._data.dtype == np.float16:
                raise NotImplementedError("\"pow\" not implemented for 'ComplexHalf'")
            if isinstance(exponent, numbers.Integral) and self._data.dtype.kind in "biu":
                return _leaf(int_power(self._data, exponent))  # int ** int stays int
            if type(exponent) is not complex and not -65504 <= exponent <= 65504 and (
                    self._data.dtype == np.float16):  # (PyTorch casts it to float16, checked)
                check_fits(exponent, self._data.dtype)
            return apply(_POW_SCALAR, self, exponent=exponent)
        try:
            return _power(self, _lift(exponent, self, True))
        except ForeignOperand:
            return NotImplemented

    def __rpow__(self, other):
        try:
            out = _power(_lift(other, self, True), self)
        except ForeignOperand:
            return NotImplemented
        if not self._data.flags.c_contiguous and type(out._data) is np.ndarray:
            # PyTorch's pow(Scalar, Tensor) writes a fresh row-major result whatever the
            # exponent's layout (2.0 ** x.t(), and so ldexp's product; s27 BR15)
            out._data = np.ascontiguousarray(out._data)
        return out

    def __matmul__(self, other):
        if type(other) is Tensor and type(self) is Tensor and Tensor.matmul is PLAIN_MATMUL[0]:
            x, y = self._data, other._data
            if x.dtype is y.dtype and x.ndim and y.ndim:
                # matmul()'s common call, without the method look-up and call: h @ W on 8 x 8
                # under grad 1.34-1.36 -> 1.2 us (timeit, interleaved). Subclasses take matmul(),
                # and so does everyone while Tensor.matmul is swapped (autocast's bfloat16
                # casts, a user's patch): api/linalg.py records the plain method.
                return _binary(_MATMUL, self, other)
        if isinstance(other, np.ndarray):
            return NotImplemented  # (NumPy's matmul of the values, as PyTorch's)
        return self.matmul(other)

    def __rmatmul__(self, other):  # (a number, list or ndarray @ tensor: TypeError as PyTorch)
        return other.matmul(self) if isinstance(other, Tensor) else NotImplemented

    def __neg__(self):
        if self._data.dtype.kind == "b":
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        return _unary(_NEG, self)

    def __pos__(self):
        return self.positive()  # (bool raises)

    def __abs__(self):
        return self.abs()

    def __eq__(self, other):
        if other is None or isinstance(other, str):
            # PyTorch returns NotImplemented here, so Python answers by identity: `x == None`
            # is False and `x != None` True (an elementwise tensor would be truthy garbage in
            # `if x != None:`).
            return NotImplemented
        if isinstance(other, (list, tuple)):  # (PyTorch's NotImplemented: identity, False)
            return NotImplemented
        return _compare(np.equal, self, other)

    def __ne__(self, other):
        if other is None or isinstance(other, str):
            return NotImplemented
        if isinstance(other, (list, tuple, np.ndarray)):
            # (An ndarray too, unlike __eq__: PyTorch's `t != array` is Python's identity
            # answer, True, and NumPy's `array != t` defers to it.)
            return NotImplemented
        return _compare(np.not_equal, self, other)

    def __lt__(self, other):
        return _compare(np.less, self, other)

    def __le__(self, other):
        return _compare(np.less_equal, self, other)

    def __gt__(self, other):
        return _compare(np.greater, self, other)

    def __ge__(self, other):
        return _compare(np.greater_equal, self, other)

    def __invert__(self):
        if self._data.dtype.kind not in "biu":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                            f"tensors, not {self._data.dtype}")
        return _leaf(np.invert(self._data))  # logical on bool, bitwise on integers

    # Bitwise on integers, logical on bool (never differentiable), as in PyTorch.
    def __and__(self, other):
        return _bitwise(np.bitwise_and, "bitwise_and", self, other)

    def __rand__(self, other):
        return _bitwise(np.bitwise_and, "bitwise_and", self, other)

    def __or__(self, other):
        return _bitwise(np.bitwise_or, "bitwise_or", self, other)

    def __ror__(self, other):
        return _bitwise(np.bitwise_or, "bitwise_or", self, other)

    def __xor__(self, other):
        return _bitwise(np.bitwise_xor, "bitwise_xor", self, other)

    def __rxor__(self, other):
        return _bitwise(np.bitwise_xor, "bitwise_xor", self, other)

    def __lshift__(self, other):
        return _bitwise(np.left_shift, "lshift", self, other)

    def __rlshift__(self, other):
        if isinstance(other, (list, tuple, np.ndarray)):
            return NotImplemented
        return _bitwise(np.left_shift, "lshift", _lift(other, self), self)

    def __rshift__(self, other):
        return _bitwise(np.right_shift, "rshift", self, other)

    def __rrshift__(self, other):
        if isinstance(other, (list, tuple, np.ndarray)):
            return NotImplemented
        return _bitwise(np.right_shift, "rshift", _lift(other, self), self)

    @property
    def T(self):  # noqa: N802 - PyTorch's name
        ndim = self.ndim
        if ndim != 2:
            _warn_numpy_t(ndim)
        # (a new view for 0-d, 1-d too; PyTorch's node is a permute's whatever the rank: the
        # dims alone would name a 2-d one TBackward0, the name of t(). The rename: 9.0 -> 9.8 us
        # for .T of an 8 x 8 tensor in the graph, median of 21 alternated rounds, load 26)
        return rename_node(self.permute(tuple(reversed(range(ndim)))), "PermuteBackward0")

    @property
    def mT(self):  # noqa: N802 - PyTorch's name
        if self._data.ndim < 2:  # (PyTorch's: 0-d is its own transpose, 1-d refused)
            if self._data.ndim:
                raise RuntimeError("tensor.mT is only supported on matrices or batches of "
                                   "matrices. Got 1-D tensor.")
            return self.transpose(-1, -1)
        return rename_node(self.transpose(-2, -1), "TransposeBackward0")  # (not TBackward0)

    def __getitem__(self, index):
        if type(index) is Tensor:
            data = index._data
            if type(data) is _ndarray and data.ndim and data.dtype in _INDEX_DTYPES:
                # One index tensor of int64 / int32 (an embedding lookup, E[ids]): subscripts'
                # own result, (data,), without its walk over the index's kinds; E[ids] on
                # [16, 8] under grad: forward 0.59 of its time (3.8 -> 2.2 us, 1.08 -> 0.66 x
                # PyTorch), fwd + bwd 0.82 (paired, thread time).
                try:
                    return apply(_GETITEM, self, index=(data,))
                except IndexError as error:  # (PyTorch's words: subscripts.bounds_error)
                    raise _subscripts.bounds_error(error, index) from None
        # PyTorch's rule, as NumPy indices (see subscripts): a second step only where integers
        # sit beside index tensors.
        given = index
        if MAPPED:  # (vmap's first example: a mask from a mapped value, PyTorch's refusal)
            refuse_mapped_mask(index)
        index, rest = _normalize_index(index, self._data.shape)
        try:
            out = apply(_GETITEM, self, index=index)
        except IndexError as error:
            if self._data.ndim:
                raise _subscripts.bounds_error(error, given) from None
            # (the message of `loss.data[0]`, which 0.3-era code still does: people search it)
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number") from None
        return out if rest is None else apply(_GETITEM, out, index=rest)


def _warn_uint8_mask() -> None:
    warn_at_caller("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                   "torch.bool instead.")


_subscripts.warn_uint8_mask = _warn_uint8_mask  # (subscripts.py sits below errors.py)


def put_index(index, shape: tuple, value) -> tuple:
    """``__setitem__``'s index, normalized: PyTorch writes one element through a lone mask
    (no other tensor, list or bool index beside it) with ``masked_fill_``, which refuses the
    deprecated uint8 masks that reading and its other paths accept."""
    if type(index) is int:  # (the common write: nothing to look at; the scan below costs
        return _normalize_index(index, shape)  # 0.2-0.4 us a call, thread time)
    normalized = None
    for item in index if type(index) is tuple else (index,):
        if (isinstance(item, Tensor) and item._data.dtype == np.uint8
                or type(item) is np.ndarray and item.dtype == np.uint8):
            # (a mask of the wrong shape: PyTorch's IndexError first, s29 BR19)
            if np.ndim(item._data if isinstance(item, Tensor) else item) > len(shape):
                raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
            with warnings.catch_warnings():  # (the mask's checks first; masked_fill_'s
                warnings.simplefilter("ignore")  # refusal comes without PyTorch's uint8
                _normalize_index(index, shape)  # warning, a write with it: below)
            _refuse_uint8_fill(index, value)
            normalized = _normalize_index(index, shape)
            break
    return _normalize_index(index, shape) if normalized is None else normalized


def _refuse_uint8_fill(index, value) -> None:
    if type(value) in (int, float, bool) or isinstance(value, Tensor) and value._data.size == 1:
        arrays = [item for item in (index if type(index) is tuple else (index,))
                  if isinstance(item, Tensor | np.ndarray | list | bool)
                  and not (isinstance(item, Tensor) and not item._data.ndim  # (an int to
                           and item._data.dtype.kind == "i")]  # PyTorch: x[t(0), mask], RS1)
        if len(arrays) == 1:
            raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with "
                               "dtype unsigned char")

_T_WARNED = set()  # which of PyTorch's two once-per-process ``.T`` warnings were given


def _warn_numpy_t(ndim: int) -> None:
    """PyTorch's deprecation warnings for ``x.T`` on a tensor that is not 2-d (each once per
    process, as PyTorch's TORCH_WARN_ONCE: a loop does not repeat it)."""
    kind = ndim == 0
    if kind in _T_WARNED:
        return
    _T_WARNED.add(kind)
    if kind:
        message = ("Tensor.T is deprecated on 0-D tensors. This function is the identity in "
                   "these cases.")
    else:
        message = ("The use of `x.T` on tensors of dimension other than 2 to reverse their shape "
                   "is deprecated and it will throw an error in a future release. Consider "
                   "`x.mT` to transpose batches of matrices or `x.permute(*torch.arange(x.ndim "
                   "- 1, -1, -1))` to reverse the dimensions of a tensor.")
    warn_at_caller(message)


def _power(base, exponent):
    if base._data.dtype.kind in "biu" and exponent._data.dtype.kind in "biu":
        return _leaf(int_power(base._data, exponent._data))
    return _binary(_POW, base, exponent)



def _bitwise(ufunc, name, a, b):
    if type(b) is not Tensor:
        if isinstance(b, (list, tuple, np.ndarray)):
            return NotImplemented  # (Python's TypeError, or NumPy's result: as PyTorch's)
        b = _lift(b, a)
    try:
        out = bitwise(ufunc, name, x := a._data, y := b._data)
    except ValueError:
        raise ShapeError(f"{broadcast_words(a.shape, b.shape)}{name}: shapes {a.shape} and "
                         f"{b.shape} cannot be broadcast") from None
    return _leaf(out if x.flags.c_contiguous and y.flags.c_contiguous else relaid(out, (x, y)))


def _compare(ufunc, a, b):
    if not isinstance(b, _COMPARABLE):
        # (`t < [1, 2]`, `t < None`: Python's TypeError, as PyTorch's; `t == object()` is
        # Python's identity answer and `t == pytest.approx(...)` the other object's)
        return NotImplemented
    ordering = ufunc is not np.equal and ufunc is not np.not_equal
    if isinstance(b, np.ndarray) and ordering:
        return NotImplemented  # (`t < array`: TypeError too: NumPy defers to the tensor)
    b_data = b._data if isinstance(b, Tensor) else b
    if ordering and (a._data.dtype.kind == "c" or _is_complex(b_data)):
        if type(b_data) is int and not -(1 << 63) <= b_data < (1 << 64):
            raise OverflowError("int too big to convert")  # (PyTorch's parser, first)
        # (NumPy orders complex numbers lexicographically: PyTorch has no such kernel)
        name = {np.less: "lt", np.less_equal: "le", np.greater: "gt"}.get(ufunc, "ge")
        raise NotImplementedError(f'"{name}_cpu" not implemented for complex tensors')
    a_data = a._data
    if type(b_data) is int and a_data.dtype.kind in "iu":
        b_data = wrapped(b_data, a_data.dtype)  # PyTorch compares in the tensor's dtype
    elif type(b_data) is int and not -(1 << 63) <= b_data < (1 << 64):
        raise OverflowError("int too big to convert")  # (beyond PyTorch's int64 / uint64)
    elif type(b_data) is float and a_data.dtype.kind in "biu":
        # PyTorch compares in the default float dtype: int64 16777217 == 16777216.0 in float32
        # (NumPy in float64); the number follows, as a float tensor's does (NumPy's weak rule).
        # (The check: x > 0.5 on 8 x 8 float32 1.46 -> 1.51 us, process time, best of 7)
        a_data = a_data.astype(_Default.float)
    elif (type(b_data) is np.ndarray and b_data.dtype != a_data.dtype
          and "c" not in (a_data.dtype.kind, b_data.dtype.kind)):
        # PyTorch's result dtype (a 0-d tensor ranks lower): uint8 == int8 0-d -3 compares
        # 253 with 253 (NumPy would compare in int16)
        a_data, b_data = common(a_data, b_data)
    try:
        out = ufunc(a_data, b_data)
    except ValueError:
        raise ShapeError(
            f"{broadcast_words(a.shape, np.shape(b_data))}{ufunc.__name__}: shapes {a.shape} "
            f"and {np.shape(b_data)} cannot be broadcast"
        ) from None
    if not a_data.flags.c_contiguous or (type(b_data) is np.ndarray
                                         and not b_data.flags.c_contiguous):
        out = relaid(out, (a_data, b_data) if type(b_data) is np.ndarray else (a_data,))
    return _leaf(out)  # (PyTorch's layout: elementwise_layout.py, as the operators' results)


_COMPARABLE = (Tensor, numbers.Number, np.ndarray, np.generic)


def numpy_rebinds(method):
    """``method``, an augmented assignment (``__iadd__``), giving NotImplemented for an ndarray
    operand: Python then rebinds ``t = t + array``, NumPy's result (float64 for a float32 ``t``
    and a float64 array), as PyTorch's do."""

    @functools.wraps(method)
    def augmented(self, *args, **kwargs):
        if args and isinstance(args[0], np.ndarray):
            return NotImplemented
        return method(self, *args, **kwargs)

    return augmented


def _is_complex(value) -> bool:
    return isinstance(value, complex) or (isinstance(value, (np.ndarray, np.generic))
                                          and value.dtype.kind == "c")


def _attach() -> None:
    for name, value in vars(_Operators).items():
        if callable(value) or isinstance(value, property):
            if name not in ("__init__", "__init_subclass__", "__subclasshook__"):
                setattr(Tensor, name, value)


_attach()
