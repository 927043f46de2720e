"""The Tensor: a NumPy array that records the ops applied to it, and the functions on tensors.

A Tensor is also its own graph node: an op's result keeps the op (``_op``), the tensors it was
applied to (``_inputs``) and the op's static attributes (``_attrs``) while it requires a
gradient. ``backward()`` hands those to the engine in ``_autograd``.
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from . import _autograd
from ._autograd import (
    GraphError,
    ShapeError,
    _Anomaly,
    _counters,
    _GradMode,
    check_forward,
    run_backward,
)
from ._ops import OPS, _along_axis
from ._random import numpy_generator

__all__ = ["Tensor", "tensor"]

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

MaxResult = namedtuple("MaxResult", ["values", "indices"])


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
    __slots__ = ("data", "grad", "_rg", "_op", "_inputs", "_attrs", "_g", "_pending", "_mark",
                 "_retain", "_hooks", "_origin", "__weakref__")
    __array_ufunc__ = None  # NumPy defers `ndarray + Tensor` to Tensor.__radd__
    __hash__ = object.__hash__

    def __init__(self, data, dtype=None, requires_grad: bool = False):
        array = _as_array(data, dtype)
        self.data = array
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
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether this leaf records operations for differentiation; returns self."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients; this tensor is "
                f"{self.data.dtype} (shape {self.shape}). Convert it first, e.g. x.float()."
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
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

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
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return self.data.size

    def element_size(self) -> int:
        return self.data.itemsize

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # ---------------------------------------------------------------- conversion

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): only one-element tensors can be converted to Python scalars; this one "
                f"has shape {self.shape}"
            )
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied), as ``Tensor.numpy()`` in PyTorch."""
        if self._rg:
            raise GraphError(
                "numpy(): cannot convert a tensor that requires grad; use tensor.detach().numpy()"
            )
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.data.reshape(()))

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, outside the graph."""
        return _leaf(self.data)

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
        if dtype == self.data.dtype:
            return self
        if self._rg and dtype.kind == "f":
            return apply(OPS["cast"], self, dtype=dtype)
        return _leaf(self.data.astype(dtype))

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

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        Gradients accumulate into the leaves' ``.grad`` (call ``zero_grad`` between steps).

        Args:
            gradient: the gradient of some scalar with respect to this tensor, same shape;
                may be omitted for a one-element tensor (it is then 1).
            retain_graph: keep the graph so backward can run through it again; defaults to
                ``create_graph``.
            create_graph: record the backward pass, so the gradients can be differentiated.
        """
        if retain_graph is None:
            retain_graph = create_graph
        seed = _seed_for(self, gradient, create_graph, "backward()")
        run_backward([self], [seed], retain_graph=retain_graph, create_graph=create_graph)

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

    def zero_(self) -> Tensor:
        _check_inplace(self, "zero_")
        self.data[...] = 0
        return self

    def fill_(self, value) -> Tensor:
        _check_inplace(self, "fill_")
        self.data[...] = value
        return self

    def copy_(self, source) -> Tensor:
        _check_inplace(self, "copy_")
        source = source.data if isinstance(source, Tensor) else np.asarray(source)
        try:
            self.data[...] = source
        except ValueError:
            raise ShapeError(
                f"copy_: cannot copy shape {np.shape(source)} into shape {self.shape}"
            ) from None
        return self

    def add_(self, other, alpha=1.0) -> Tensor:
        _check_inplace(self, "add_")
        other = other.data if isinstance(other, Tensor) else other
        self.data += alpha * other if alpha != 1 else other
        return self

    def mul_(self, other) -> Tensor:
        _check_inplace(self, "mul_")
        self.data *= other.data if isinstance(other, Tensor) else other
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None) -> Tensor:
        _check_inplace(self, "uniform_")
        self.data[...] = numpy_generator(generator).uniform(a, b, self.shape)
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None) -> Tensor:
        _check_inplace(self, "normal_")
        self.data[...] = numpy_generator(generator).normal(mean, std, self.shape)
        return self

    def __setitem__(self, index, value) -> None:
        _check_inplace(self, "__setitem__")
        value = value.data if isinstance(value, Tensor) else value
        self.data[_normalize_index(index)] = value

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
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(_lift(other, self), self)

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
        if self.data.dtype != np.bool_:
            raise TypeError("~ is defined for boolean tensors only")
        return _leaf(~self.data)

    def __and__(self, other):
        return _compare(np.logical_and, self, other)

    def __or__(self, other):
        return _compare(np.logical_or, self, other)

    def __xor__(self, other):
        return _compare(np.logical_xor, self, other)

    # Elementwise functions as methods (each also exists as deltagrad.<name>).
    def exp(self):
        return _unary(_EXP, self)

    def log(self):
        return _unary(_LOG, self)

    def sqrt(self):
        return apply(OPS["sqrt"], self)

    def rsqrt(self):
        return 1.0 / self.sqrt()

    def abs(self):
        return apply(OPS["abs"], self)

    def sin(self):
        return apply(OPS["sin"], self)

    def cos(self):
        return apply(OPS["cos"], self)

    def tanh(self):
        return _unary(_TANH, self)

    def sigmoid(self):
        return _unary(_SIGMOID, self)

    def relu(self):
        return _unary(_RELU, self)

    def square(self):
        return apply(_POW_SCALAR, self, exponent=2)

    def pow(self, exponent):
        return self ** exponent

    def clamp(self, min=None, max=None):
        return clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return maximum(self, other)

    def minimum(self, other):
        return minimum(self, other)

    def matmul(self, other):
        return matmul(self, other)

    def softmax(self, dim):
        return apply(OPS["softmax"], self, dim=dim)

    def log_softmax(self, dim):
        return apply(OPS["log_softmax"], self, dim=dim)

    def sign(self):
        return _leaf(np.sign(self.data))

    # ---------------------------------------------------------------- reductions

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        out = apply(OPS["sum"], self, dim=_dims(dim, self.ndim), keepdim=keepdim)
        return out if dtype is None else out.type(dtype)

    def mean(self, dim=None, keepdim: bool = False):
        return apply(OPS["mean"], self, dim=_dims(dim, self.ndim), keepdim=keepdim)

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None):
        """Variance with Bessel's correction by default (``correction=1``), as in PyTorch."""
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        dims = _dims(dim, self.ndim)
        n = self.data.size if dims is None else math.prod(self.shape[d] for d in dims)
        centred = self - self.mean(dims, keepdim=True)
        return (centred * centred).sum(dims, keepdim=keepdim) / max(n - correction, 0)

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None):
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def amax(self, dim=(), keepdim: bool = False):
        return apply(OPS["amax"], self, dim=_dims(dim, self.ndim), keepdim=keepdim)

    def amin(self, dim=(), keepdim: bool = False):
        return apply(OPS["amin"], self, dim=_dims(dim, self.ndim), keepdim=keepdim)

    def max(self, dim=None, keepdim: bool = False):
        """``max()``: the largest value (ties share the gradient). ``max(dim)``: a
        ``(values, indices)`` pair; the gradient goes to the returned (first) index."""
        if isinstance(dim, Tensor):
            return maximum(self, dim)
        if dim is None:
            return self.amax()
        return _extreme_along(self, dim, keepdim, np.argmax)

    def min(self, dim=None, keepdim: bool = False):
        """As ``max``, for the smallest value."""
        if isinstance(dim, Tensor):
            return minimum(self, dim)
        if dim is None:
            return self.amin()
        return _extreme_along(self, dim, keepdim, np.argmin)

    def argmax(self, dim=None, keepdim: bool = False):
        return _leaf(_arg_extreme(np.argmax, self.data, dim, keepdim))

    def argmin(self, dim=None, keepdim: bool = False):
        return _leaf(_arg_extreme(np.argmin, self.data, dim, keepdim))

    def logsumexp(self, dim, keepdim: bool = False):
        return apply(OPS["logsumexp"], self, dim=_dims(dim, self.ndim), keepdim=keepdim)

    def any(self, dim=None, keepdim=False):
        return _leaf(np.any(self.data, axis=dim, keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        return _leaf(np.all(self.data, axis=dim, keepdims=keepdim))

    def norm(self, p=2):
        """The vector p-norm over all elements (p = 1, 2 or inf)."""
        if p == 2:
            return (self * self).sum().sqrt()
        if p == 1:
            return self.abs().sum()
        if p == float("inf"):
            return self.abs().amax()
        return (self.abs() ** p).sum() ** (1.0 / p)

    # ---------------------------------------------------------------- shapes

    def reshape(self, *shape):
        shape = _shape_arg(shape)
        try:
            resolved = _resolve_shape(self.data.size, shape)
        except ValueError as error:
            raise ShapeError(f"reshape: cannot reshape {self.shape} to {shape}: {error}") from None
        if resolved == self.data.shape:
            return self
        # The reshape op's forward inlined (the array's own reshape): a view, never float64.
        return _result(self.data.reshape(resolved), _RESHAPE, (self,), {"shape": resolved},
                       _GradMode.enabled and self._rg)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        shape = self.shape[:start] + (-1,) + self.shape[end + 1:]
        return self.reshape(shape)

    def permute(self, *dims):
        dims = _shape_arg(dims)
        if sorted(d % self.ndim for d in dims) != list(range(self.ndim)):
            raise ShapeError(f"permute: {dims} is not a permutation of the {self.ndim} dims")
        dims = tuple(d % self.ndim for d in dims)
        return apply(OPS["permute"], self, dims=dims)

    def transpose(self, dim0: int, dim1: int):
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(*dims)

    def t(self):
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self):  # noqa: N802 - PyTorch's name
        return self.permute(*reversed(range(self.ndim))) if self.ndim > 1 else self

    @property
    def mT(self):  # noqa: N802 - PyTorch's name
        return self.transpose(-2, -1)

    def unsqueeze(self, dim: int):
        dim = dim % (self.ndim + 1)
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = {d % max(self.ndim, 1) for d in ((dim,) if isinstance(dim, int) else dim)}
        return self.reshape(tuple(n for i, n in enumerate(self.shape)
                                  if not (i in dims and n == 1)))

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: cannot expand shape {self.shape} to {sizes}")
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
        if shape == self.shape:
            return self
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ShapeError(f"expand: cannot expand shape {self.shape} to {sizes}") from None
        return apply(OPS["expand"], self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def __getitem__(self, index):
        return apply(_GETITEM, self, index=_normalize_index(index))

    def gather(self, dim: int, index):
        return gather(self, dim, index)

    def index_select(self, dim: int, index):
        return index_select(self, dim, index)

    def split(self, split_size_or_sections, dim: int = 0):
        return split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0):
        size = self.shape[dim]
        return split(self, max(1, -(-size // chunks)), dim)

    def masked_fill(self, mask, value):
        mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
        return where(mask, _lift(value, self), self)

    # ---------------------------------------------------------------- printing

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(",
                               threshold=200, edgeitems=3)
        if self.data.dtype.kind == "f":
            body = body.replace(".0,", ".,").replace(".0]", ".]")
            if self.data.ndim == 0 and body.endswith(".0"):
                body = body[:-1]
        extras = []
        if self.data.dtype not in (float32, int64, bool_):
            extras.append(f"dtype={self.data.dtype}")
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
    out.data = data
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
        data = op.forward(a.data, b.data)
    except (ValueError, TypeError) as error:
        raise _forward_error(op, (a, b), error) from None
    if type(data) is not _ndarray:
        data = np.asarray(data)
    if data.dtype is float64:
        data = _float32_unless_float64(data, (a, b))
    return _result(data, op, (a, b), None, _GradMode.enabled and (a._rg or b._rg))


def _unary(op, a):
    # As _binary: the hot path of the elementwise methods.
    data = op.forward(a.data)
    if type(data) is not _ndarray:
        data = np.asarray(data)
    if data.dtype is float64:
        data = _float32_unless_float64(data, (a,))
    return _result(data, op, (a,), None, _GradMode.enabled and a._rg)


def _float32_unless_float64(data, inputs):
    """PyTorch's promotion: integers with float32 (or alone in a float op) give float32."""
    for x in inputs:
        if x.data.dtype is float64 or x.data.dtype == float64:
            return data
    return data.astype(float32)


def _unary_attr(op, a, attrs):
    try:
        data = op.forward(a.data, **attrs)
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
        data = op.forward(*[x.data for x in inputs], **attrs)
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
        dtype = like.data.dtype
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
        data = data.data
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
    b_data = b.data if isinstance(b, Tensor) else b
    try:
        return _leaf(ufunc(a.data, b_data))
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


def _seed_for(root, gradient, create_graph, where):
    if not isinstance(root, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(root).__name__}")
    if not root._rg:
        raise GraphError(
            f"{where}: this tensor (shape {root.shape}) does not require grad and has no "
            "grad_fn: no input of its computation has requires_grad=True, or it was computed "
            "under no_grad()"
        )
    if gradient is None:
        if root.data.size != 1:
            raise GraphError(
                f"{where}: a gradient can be created implicitly only for one-element outputs; "
                f"this output has shape {root.shape}. Pass gradient= of that shape, or reduce "
                "it first (e.g. .sum())"
            )
        seed = np.ones(root.shape, dtype=root.dtype)
        return _leaf(seed) if create_graph else seed
    if isinstance(gradient, Tensor):
        if create_graph:
            seed = gradient
        else:
            seed = np.array(gradient.data, dtype=root.dtype)
    else:
        seed = np.array(gradient, dtype=root.dtype)
        if create_graph:
            seed = _leaf(seed)
    if tuple(seed.shape) != root.shape:
        raise ShapeError(
            f"{where}: gradient has shape {tuple(seed.shape)} but the output has shape {root.shape}"
        )
    return seed


def _normalize_index(index):
    """A NumPy index with Tensors unwrapped and boolean masks turned into integer arrays."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
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


def _arg_extreme(function, data, dim, keepdim):
    if dim is None:
        return np.asarray(function(data))
    return function(data, axis=dim, keepdims=keepdim)


def _extreme_along(x, dim, keepdim, arg_function):
    dim = dim % max(x.ndim, 1)
    indices = arg_function(x.data, axis=dim, keepdims=True)
    values = gather(x, dim, indices)
    if not keepdim:
        values = values.squeeze(dim)
        indices = np.squeeze(indices, axis=dim)
    return MaxResult(values, _leaf(indices))


# ==============================================================================================
# Creation functions.


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Python floats become float32 (PyTorch's default); NumPy arrays keep their dtype; integers
    become int64.

    >>> tensor([[1.0, 2.0]]).dtype
    dtype('float32')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy; dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects an ndarray, got {type(array).__name__}")
    return _leaf(array)


def _creation(fill, size, dtype, requires_grad):
    shape = _shape_arg(size)
    out = _leaf(fill(shape, np.dtype(dtype) if dtype is not None else _DEFAULT_FLOAT))
    if requires_grad:
        out.requires_grad_(True)
    return out


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _creation(np.zeros, size, dtype, requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _creation(np.ones, size, dtype, requires_grad)


def empty(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _creation(np.zeros, size, dtype, requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    if dtype is None and isinstance(fill_value, numbers.Integral) and not isinstance(
            fill_value, bool):
        dtype = int64
    return _creation(lambda s, d: np.full(s, fill_value, dtype=d), (size,), dtype, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    return _creation(lambda s, d: np.eye(n, m, dtype=d), (), dtype, requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples drawn from ``generator`` (default: the seeded global one)."""
    rng = numpy_generator(generator)
    return _creation(lambda s, d: rng.standard_normal(s).astype(d), size, dtype, requires_grad)


def rand(*size, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples on [0, 1) drawn from ``generator``."""
    rng = numpy_generator(generator)
    return _creation(lambda s, d: rng.random(s).astype(d), size, dtype, requires_grad)


def randint(low: int, high: int | None = None, size=(), generator=None, dtype=None) -> Tensor:
    """Integers uniform on [low, high) (or [0, low) when high is omitted)."""
    if high is None:
        low, high = 0, low
    rng = numpy_generator(generator)
    return _leaf(rng.integers(low, high, size=tuple(size), dtype=np.dtype(dtype or int64)))


def randperm(n: int, generator=None) -> Tensor:
    return _leaf(numpy_generator(generator).permutation(n).astype(int64))


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, end); integers give int64, floats float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = int64 if is_int else _DEFAULT_FLOAT
    out = _leaf(np.arange(start, end, step, dtype=np.dtype(dtype)))
    return out.requires_grad_(True) if requires_grad else out


def linspace(start, end, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    out = _leaf(np.linspace(start, end, steps, dtype=np.dtype(dtype or _DEFAULT_FLOAT)))
    return out.requires_grad_(True) if requires_grad else out


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def empty_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    return zeros_like(x, dtype, requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(x, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    return randn(x.shape, generator=generator, dtype=dtype or x.dtype,
                 requires_grad=requires_grad)


def rand_like(x, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    return rand(x.shape, generator=generator, dtype=dtype or x.dtype, requires_grad=requires_grad)


# ==============================================================================================
# Functions on tensors (deltagrad.exp, deltagrad.matmul, ...).


def _t(x, like=None) -> Tensor:
    return x if type(x) is Tensor else _lift(x, like)


def matmul(a, b) -> Tensor:
    """Matrix product with NumPy/PyTorch semantics: 1-D, 2-D and batched (broadcast) operands."""
    a = _t(a)
    b = _t(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    try:
        data = np.matmul(a.data, b.data)
    except ValueError as error:
        raise _forward_error(_MATMUL, (a, b), error) from None
    if type(data) is not _ndarray:
        data = np.asarray(data)
    return _result(data, _MATMUL, (a, b), None, _GradMode.enabled and (a._rg or b._rg))


mm = matmul


def maximum(a, b) -> Tensor:
    a = _t(a)
    return apply(OPS["maximum"], a, _t(b, a))


def minimum(a, b) -> Tensor:
    a = _t(a)
    return apply(OPS["minimum"], a, _t(b, a))


def clamp(x, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Clip to [min, max]; the gradient passes where min <= x <= max (bounds included)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clamp: min ({min}) is greater than max ({max})")
    return apply(OPS["clamp"], _t(x), min=min, max=max)


clip = clamp


def where(condition, x, y) -> Tensor:
    """Elementwise ``x`` where ``condition`` else ``y`` (broadcast); no gradient to the mask."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype != np.bool_:
        condition = condition.astype(bool)
    like = x if isinstance(x, Tensor) else (y if isinstance(y, Tensor) else None)
    return apply(OPS["where"], _leaf(condition), _t(x, like), _t(y, like))


def cat(tensors: Sequence, dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension."""
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    return apply(OPS["cat"], *tensors, dim=dim)


concatenate = cat


def stack(tensors: Sequence, dim: int = 0) -> Tensor:
    """Stack same-shaped tensors along a new dimension."""
    tensors = [_t(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def split(x, split_size_or_sections, dim: int = 0) -> tuple:
    """Split into pieces of a given size (the last may be smaller) or of the given sizes."""
    x = _t(x)
    dim = dim % x.ndim
    size = x.shape[dim]
    if isinstance(split_size_or_sections, numbers.Integral):
        step = int(split_size_or_sections)
        sizes = [min(step, size - i) for i in range(0, size, step)]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise ShapeError(
                f"split: sizes {sizes} do not add up to dimension {dim} of size {size}"
            )
    pieces, start = [], 0
    lead = (slice(None),) * dim
    for n in sizes:
        pieces.append(x[lead + (slice(start, start + n),)])
        start += n
    return tuple(pieces)


def gather(x, dim: int, index) -> Tensor:
    """``out[i][j] = x[i][index[i][j]]`` along ``dim`` (PyTorch's gather)."""
    x = _t(x)
    index = index.data if isinstance(index, Tensor) else np.asarray(index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ShapeError(f"gather: index has {index.ndim} dims but input has {x.ndim}")
    return apply(OPS["gather"], x, _leaf(index), dim=dim % x.ndim)


def index_select(x, dim: int, index) -> Tensor:
    x = _t(x)
    index = index.data if isinstance(index, Tensor) else np.asarray(index)
    if index.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {index.shape}")
    return x[(slice(None),) * (dim % x.ndim) + (index,)]


def take_along_dim(x, indices, dim):
    return gather(x, dim, indices)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


# ==============================================================================================
# grad(): gradients of outputs with respect to chosen inputs, without touching .grad.


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    Args:
        outputs: a tensor or a sequence of tensors.
        inputs: a tensor or a sequence of tensors that require grad.
        grad_outputs: gradients for the outputs (same shapes); may be omitted for one-element
            outputs.
        retain_graph: keep the graph for another backward; defaults to ``create_graph``.
        create_graph: record the gradient computation, for higher-order derivatives.
        allow_unused: return ``None`` for an input that the outputs do not depend on, instead
            of raising.

    Returns:
        A tuple with one gradient Tensor (or ``None``) per input.

    >>> import deltagrad as dg
    >>> x = dg.tensor(3.0, requires_grad=True)
    >>> (dx,) = dg.grad(x ** 3, x, create_graph=True)
    >>> (dxx,) = dg.grad(dx, x)
    >>> float(dx), float(dxx)
    (27.0, 18.0)
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x._rg:
            raise GraphError(f"grad: input {i} does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    seeds = [_seed_for(out, g, create_graph, "grad()") for out, g in zip(outputs, grad_outputs)]
    capture = {}
    for i, x in enumerate(inputs):
        capture.setdefault(id(x), i)
    captured = run_backward(outputs, seeds, retain_graph=retain_graph,
                            create_graph=create_graph, capture=capture)
    results = []
    for i, x in enumerate(inputs):
        g = captured[capture[id(x)]]
        if g is None:
            if not allow_unused:
                raise GraphError(
                    f"grad: input {i} (shape {x.shape}) was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            results.append(None)
        elif create_graph:
            results.append(g)
        else:
            results.append(_leaf(g))
    return tuple(results)


# ==============================================================================================
# The Tensor namespace that VJP rules compute with under create_graph=True: the same names as
# _ops.ARRAY, each a differentiable op.


class _TensorNamespace:
    @staticmethod
    def exp(x):
        return x.exp()

    @staticmethod
    def log(x):
        return x.log()

    @staticmethod
    def sqrt(x):
        return x.sqrt()

    @staticmethod
    def sin(x):
        return x.sin()

    @staticmethod
    def cos(x):
        return x.cos()

    @staticmethod
    def zeros_like(x):
        return _leaf(np.zeros_like(x.data))

    @staticmethod
    def ones_like(x):
        return _leaf(np.ones_like(x.data))

    @staticmethod
    def where(condition, x, y):
        return where(condition, x, y)

    @staticmethod
    def matmul(a, b):
        return matmul(a, b)

    @staticmethod
    def reshape(x, shape):
        return x.reshape(shape)

    @staticmethod
    def transpose(x, axes):
        return x.permute(axes)

    @staticmethod
    def swapaxes(x, a, b):
        return x.transpose(a, b)

    @staticmethod
    def expand(x, shape):
        return x.expand(shape)

    @staticmethod
    def concatenate(xs, axis=0):
        return cat(xs, axis)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return apply(OPS["sum"], x, dim=axis, keepdim=keepdims)

    @staticmethod
    def index_add_zeros(g, index, shape, dtype):
        return apply(OPS["index_add_zeros"], g, index=index, shape=shape, dtype=dtype)

    @staticmethod
    def getitem(x, index):
        return apply(_GETITEM, x, index=index)

    @staticmethod
    def cast(x, dtype):
        return x.type(dtype) if x.dtype != dtype else x

    @staticmethod
    def const(x):
        return _leaf(x)

    @staticmethod
    def data(x):
        return x.data if isinstance(x, Tensor) else x

    @staticmethod
    def normal_cdf(x):
        return apply(OPS["normal_cdf"], x)


TENSOR_NAMESPACE = _TensorNamespace()
_autograd.install(Tensor, TENSOR_NAMESPACE, _leaf)

# Keep _along_axis importable from here for functional code that scatters along an axis.
along_axis_index = _along_axis
