"""The Tensor: a NumPy array that records the ops applied to it, and the functions on tensors.

A Tensor is also its own graph node: an op's result keeps the op (``_op``), the tensors it was
applied to (``_inputs``) and the op's static attributes (``_attrs``) while it requires a
gradient. ``backward()`` hands those to the engine in ``autograd``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .autograd import (
    GraphError,
    ShapeError,
    _Anomaly,
    _counters,
    _GradMode,
    check_forward,
)
from .ops import OPS

__all__ = ["Tensor", "apply", "tensor_method"]

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
bool_ = np.dtype(np.bool_)

_DEFAULT_FLOAT = float32
_ndarray = np.ndarray

_ADD, _SUB, _MUL, _DIV = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"]
_POW, _POW_SCALAR, _MATMUL = OPS["pow"], OPS["pow_scalar"], OPS["matmul"]
_NEG, _EXP, _LOG, _TANH = OPS["neg"], OPS["exp"], OPS["log"], OPS["tanh"]
_SIGMOID, _RELU, _RESHAPE, _GETITEM = OPS["sigmoid"], OPS["relu"], OPS["reshape"], OPS["getitem"]
_CAST = OPS["cast"]



def tensor_method(function=None, *, name: str | None = None):
    """Make a public function also a Tensor method (its first argument is the tensor).

    The functions on tensors live in ``_engine.api`` by family; each is written once, as
    PyTorch's ``deltagrad.<name>(input, ...)``, and this decorator makes ``input.<name>(...)``
    the same function. ``name`` attaches it under another name (aliases such as ``view``).
    """

    def attach(function):
        setattr(Tensor, name or function.__name__, function)
        return function

    return attach(function) if function is not None else attach


class GradFn:
    """What produced a tensor: ``tensor.grad_fn`` (``None`` for leaves), for inspection."""

    __slots__ = ("_node",)

    def __init__(self, node):
        self._node = node

    @property
    def name(self) -> str:
        return self._node._op.name

    @property
    def inputs(self) -> tuple:
        """The tensors the op was applied to (empty once the graph has been freed)."""
        return self._node._inputs or ()

    @property
    def attrs(self) -> dict:
        return dict(self._node._attrs or {})

    def __repr__(self) -> str:
        return f"<{self.name}>"


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    Create tensors with ``deltagrad.tensor`` (or ``zeros``, ``randn``, ...). ``data`` is the
    NumPy array; ``grad`` the accumulated gradient (a Tensor) of a leaf that requires grad.

    >>> import deltagrad as dg
    >>> x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    # `_origin` (where an op was created) is set only in anomaly mode, so it is not initialised.
    __slots__ = ("_data", "grad", "_rg", "_op", "_inputs", "_attrs", "_g", "_pending", "_mark",
                 "_retain", "_hooks", "_origin", "__weakref__")
    __array_ufunc__ = None  # NumPy defers `ndarray + Tensor` to Tensor.__radd__
    __hash__ = object.__hash__

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        array = _as_array(data, dtype)
        self._data = array
        self.grad = None
        self._rg = False
        self._op = None
        self._inputs = None
        self._attrs = None
        self._g = None
        self._pending = 0
        self._mark = 0
        self._retain = False
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    # ---------------------------------------------------------------- attributes

    @property
    def data(self) -> Tensor:
        """The values as a new leaf that shares memory and never requires grad (PyTorch's
        ``.data``): in-place changes through it change this tensor, unseen by autograd.
        Assigning ``x.data = other`` makes ``x`` hold ``other``'s values (shape and dtype too).
        ``numpy()`` gives the ndarray itself."""
        return _leaf(self._data)

    @data.setter
    def data(self, value) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether this leaf records operations for differentiation; returns self."""
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients; this tensor is "
                f"{self._data.dtype} (shape {self.shape}). Convert it first, e.g. x.float()."
            )
        if self._op is not None and not requires_grad:
            raise GraphError(
                "requires_grad can only be changed on leaf tensors; use detach() for a "
                "non-leaf tensor"
            )
        self._rg = bool(requires_grad)
        return self

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_leaf(self) -> bool:
        return self._op is None

    @property
    def grad_fn(self) -> GradFn | None:
        return GradFn(self) if self._op is not None else None

    @property
    def is_sparse(self) -> bool:
        return False

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    def element_size(self) -> int:
        return self._data.itemsize

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # ---------------------------------------------------------------- conversion

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted to Python scalars; this one "
                f"has shape {self.shape}"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), as ``Tensor.numpy()`` in PyTorch."""
        if self._rg:
            raise GraphError(
                "numpy(): cannot convert a tensor that requires grad; use tensor.detach().numpy()"
            )
        return self._data

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data.reshape(()))

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, outside the graph."""
        return _leaf(self._data)

    def detach_(self) -> Tensor:
        self._op = None
        self._inputs = None
        self._attrs = None
        self._rg = False
        return self

    def clone(self) -> Tensor:
        return apply(OPS["clone"], self)

    def to(self, dtype=None, *args, **kwargs) -> Tensor:
        """Convert to ``dtype`` (devices other than "cpu" are refused)."""
        if isinstance(dtype, str):
            if dtype != "cpu":
                raise ValueError(f"deltagrad runs on the CPU only; got device {dtype!r}")
            return self
        if dtype is None:
            dtype = kwargs.get("dtype")
        return self if dtype is None else self.type(dtype)

    def type(self, dtype) -> Tensor:
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        if self._rg and dtype.kind == "f":
            return apply(OPS["cast"], self, dtype=dtype)
        return _leaf(self._data.astype(dtype))

    def float(self) -> Tensor:
        return self.type(float32)

    def double(self) -> Tensor:
        return self.type(float64)

    def half(self) -> Tensor:
        return self.type(float16)

    def long(self) -> Tensor:
        return self.type(int64)

    def int(self) -> Tensor:
        return self.type(int32)

    def bool(self) -> Tensor:
        return self.type(bool_)

    def cpu(self) -> Tensor:
        return self

    def contiguous(self) -> Tensor:
        return self

    # ---------------------------------------------------------------- autograd

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor too during backward."""
        if self._op is None:
            return
        self._retain = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle with ``remove()``."""
        if not self._rg:
            raise GraphError("cannot register a hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self, hook)

    # ---------------------------------------------------------------- arithmetic

    def __add__(self, other):
        return _binary(_ADD, self, other)

    def __radd__(self, other):
        return _binary(_ADD, _lift(other, self), self)

    def __sub__(self, other):
        return _binary(_SUB, self, other)

    def __rsub__(self, other):
        return _binary(_SUB, _lift(other, self), self)

    def __mul__(self, other):
        return _binary(_MUL, self, other)

    def __rmul__(self, other):
        return _binary(_MUL, _lift(other, self), self)

    def __truediv__(self, other):
        return _binary(_DIV, self, other)

    def __rtruediv__(self, other):
        return _binary(_DIV, _lift(other, self), self)

    def __pow__(self, exponent):
        if isinstance(exponent, numbers.Number):
            return apply(_POW_SCALAR, self, exponent=exponent)
        return _binary(_POW, self, exponent)

    def __rpow__(self, base):
        return _binary(_POW, _lift(base, self), self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _lift(other, self).matmul(self)

    def __neg__(self):
        return _unary(_NEG, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __eq__(self, other):
        return _compare(np.equal, self, other)

    def __ne__(self, other):
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
        if self._data.dtype != np.bool_:
            raise TypeError("~ is defined for boolean tensors only")
        return _leaf(~self._data)

    def __and__(self, other):
        return _compare(np.logical_and, self, other)

    def __or__(self, other):
        return _compare(np.logical_or, self, other)

    def __xor__(self, other):
        return _compare(np.logical_xor, self, other)

    @property
    def T(self):  # noqa: N802 - PyTorch's name
        return self.permute(*reversed(range(self.ndim))) if self.ndim > 1 else self

    @property
    def mT(self):  # noqa: N802 - PyTorch's name
        return self.transpose(-2, -1)


    def __getitem__(self, index):
        return apply(_GETITEM, self, index=_normalize_index(index))

    # ---------------------------------------------------------------- printing

    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=4, separator=", ", prefix="tensor(",
                               threshold=200, edgeitems=3)
        if self._data.dtype.kind == "f":
            body = body.replace(".0,", ".,").replace(".0]", ".]")
            if self._data.ndim == 0 and body.endswith(".0"):
                body = body[:-1]
        extras = []
        if self._data.dtype not in (float32, int64, bool_):
            extras.append(f"dtype={self._data.dtype}")
        if self._op is not None:
            extras.append(f"grad_fn=<{self._op.name}>")
        elif self._rg:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


class _HookHandle:
    def __init__(self, tensor, hook):
        self._tensor, self._hook = tensor, hook

    def remove(self) -> None:
        hooks = self._tensor._hooks
        if hooks and self._hook in hooks:
            hooks.remove(self._hook)
            if not hooks:
                self._tensor._hooks = None


# ==============================================================================================
# Applying ops: the hot path. Tensors are made with object.__new__ and their slots set directly.

_new = object.__new__


def _result(data, op, inputs, attrs, requires_grad):
    out = _new(Tensor)
    out._data = data
    out.grad = None
    out._g = None
    out._pending = 0
    out._mark = 0
    out._retain = False
    out._hooks = None
    if requires_grad:
        out._rg = True
        out._op = op
        out._inputs = inputs
        out._attrs = attrs
        _counters.created += 1
    else:
        out._rg = False
        out._op = None
        out._inputs = None
        out._attrs = None
    if _Anomaly.enabled and op is not None:
        check_forward(out, op, inputs)
    return out


def _leaf(data) -> Tensor:
    if type(data) is not _ndarray:
        data = np.asarray(data)
    return _result(data, None, None, None, False)


def _binary(op, a, b):
    # The hot path of every arithmetic operator.
    if type(b) is not Tensor:
        b = _lift(b, a)
    try:
        data = op.forward(a._data, b._data)
    except (ValueError, TypeError) as error:
        raise _forward_error(op, (a, b), error) from None
    if type(data) is not _ndarray:
        data = np.asarray(data)
    if data.dtype is float64:
        data = _float32_unless_float64(data, (a, b))
    return _result(data, op, (a, b), None, _GradMode.enabled and (a._rg or b._rg))


def _unary(op, a):
    # As _binary: the hot path of the elementwise methods.
    data = op.forward(a._data)
    if type(data) is not _ndarray:
        data = np.asarray(data)
    if data.dtype is float64:
        data = _float32_unless_float64(data, (a,))
    return _result(data, op, (a,), None, _GradMode.enabled and a._rg)


def _float32_unless_float64(data, inputs):
    """PyTorch's promotion: integers with float32 (or alone in a float op) give float32."""
    for x in inputs:
        if x._data.dtype is float64 or x._data.dtype == float64:
            return data
    return data.astype(float32)


def _unary_attr(op, a, attrs):
    try:
        data = op.forward(a._data, **attrs)
    except (ValueError, TypeError) as error:
        raise _forward_error(op, (a,), error) from None
    if type(data) is not _ndarray:
        data = np.asarray(data)
    if data.dtype is float64:
        data = _float32_unless_float64(data, (a,))
    return _result(data, op, (a,), attrs, _GradMode.enabled and a._rg)


def apply(op, *inputs, **attrs) -> Tensor:
    """Apply a registered op to tensors (non-tensors are lifted), recording it if needed."""
    for x in inputs:  # (a loop, cheaper than rebuilding the tuple when all are tensors)
        if type(x) is not Tensor:
            inputs = tuple(x if type(x) is Tensor else _lift(x, None) for x in inputs)
            break
    try:
        data = op.forward(*[x._data for x in inputs], **attrs)
    except IndexError as error:
        raise IndexError(f"{op.name}: {error} (input shapes {_shapes(inputs)})") from None
    except (ValueError, TypeError) as error:
        raise _forward_error(op, inputs, error) from None
    if type(data) is not _ndarray:
        data = np.asarray(data)
    if data.dtype is float64 and op is not _CAST:
        data = _float32_unless_float64(data, inputs)
    requires_grad = False
    if _GradMode.enabled:
        for x in inputs:
            if x._rg:
                requires_grad = True
                break
    return _result(data, op, inputs, attrs or None, requires_grad)


def _shapes(inputs) -> str:
    return ", ".join(str(tuple(x.shape)) for x in inputs)


def _forward_error(op, inputs, error) -> Exception:
    message = str(error)
    if op.name == "matmul" and len(inputs) == 2:
        a, b = inputs
        ka = a.shape[-1] if a.ndim else None
        kb = (b.shape[-2] if b.ndim > 1 else b.shape[0]) if b.ndim else None
        if a.ndim == 0 or b.ndim == 0:
            return ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                              f"{a.shape} and {b.shape}")
        if ka != kb:
            return ShapeError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied "
                              f"(inner dimensions {ka} and {kb} differ)")
        return ShapeError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} do not "
                          "broadcast")
    if "broadcast" in message:
        return ShapeError(f"{op.name}: shapes {_shapes(inputs)} cannot be broadcast together")
    if isinstance(error, TypeError) and "dtype" not in message and "ufunc" not in message:
        return TypeError(f"{op.name}: {message}")
    return ShapeError(f"{op.name}: invalid inputs of shapes {_shapes(inputs)}: {message}")


def _lift(value, like) -> Tensor:
    """Turn a Python number, list or ndarray met in an op into a constant tensor.

    Python numbers take the other operand's dtype (``x * 2.0`` stays float32 for a float32
    ``x``), and a float number with an integer tensor gives float32, as in PyTorch.
    """
    if isinstance(value, Tensor):  # subclasses too: they keep their graph
        return value
    if isinstance(value, numbers.Number) and like is not None:
        dtype = like._data.dtype
        if isinstance(value, bool):
            pass
        elif isinstance(value, numbers.Integral):
            if dtype.kind == "b":
                dtype = int64
        elif isinstance(value, numbers.Real):
            if dtype.kind != "f":
                dtype = _DEFAULT_FLOAT
        else:
            dtype = None
        return _leaf(np.asarray(value, dtype=dtype))
    if isinstance(value, _ndarray):
        return _leaf(value)
    return _leaf(_as_array(value, None))


def _as_array(data, dtype) -> np.ndarray:
    """Creation rules: Python floats become float32; NumPy arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    array = np.array(data)
    if array.dtype == float64:
        array = array.astype(_DEFAULT_FLOAT)
    elif array.dtype.kind in "OUS":
        raise TypeError(f"cannot make a tensor from data of type {type(data).__name__}")
    return array


def _compare(ufunc, a, b):
    b_data = b._data if isinstance(b, Tensor) else b
    try:
        return _leaf(ufunc(a._data, b_data))
    except ValueError:
        raise ShapeError(
            f"{ufunc.__name__}: shapes {a.shape} and {np.shape(b_data)} cannot be broadcast"
        ) from None


def _check_inplace(tensor, name) -> None:
    if _GradMode.enabled and tensor._rg:
        raise GraphError(
            f"{name}: in-place change of a tensor that requires grad (shape {tensor.shape}) "
            "would corrupt its gradient; do it under `with deltagrad.no_grad():`"
        )


def _normalize_index(index):
    """A NumPy index with Tensors unwrapped and boolean masks turned into integer arrays."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item._data
        elif isinstance(item, list):
            item = np.asarray(item)
        if isinstance(item, np.ndarray):
            if item.dtype == np.bool_:
                out.extend(np.nonzero(item))
            elif item.dtype.kind not in "iu":
                raise IndexError(
                    f"tensors used as indices must be integer or boolean, got {item.dtype}"
                )
            elif item.ndim == 0:
                out.append(int(item))
            else:
                out.append(item)
        elif item is None or item is Ellipsis or isinstance(item, slice) or (
                isinstance(item, numbers.Integral) and not isinstance(item, (bool, np.bool_))):
            out.append(item)
        else:
            raise IndexError(f"unsupported index {item!r} of type {type(item).__name__}")
    return tuple(out)


def _dims(dim, ndim):
    if dim is None or dim == ():
        return None
    if isinstance(dim, (list, tuple)):
        return tuple(d % max(ndim, 1) for d in dim)
    return int(dim) % max(ndim, 1) if ndim else None


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:  # (a loop, cheaper than converting when all are ints already)
        if type(n) is not int:
            return tuple(int(n) for n in shape)
    return shape


def _resolve_shape(size, shape):
    unknown = shape.count(-1)
    if unknown > 1:
        raise ValueError("only one dimension can be -1")
    if unknown:
        known = math.prod(n for n in shape if n != -1)
        if known == 0 or size % known:
            raise ValueError(f"{size} elements do not fill the shape")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if math.prod(shape) != size:
        raise ValueError(f"{size} elements do not fit {math.prod(shape)}")
    return shape
