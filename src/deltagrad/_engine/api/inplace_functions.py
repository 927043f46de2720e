"""PyTorch's top-level in-place functions (``deltagrad.relu_(x)``, ``deltagrad.zero_(x)``, ...),
each the Tensor's ``_`` method called as a function; ``fill`` (out of place); and the in-place
methods that run a Python callable per element (``apply_``, ``map_``, ``map2_``), conjugate
(``conj_physical_``), fill the diagonal (``fill_diagonal_``) or change the shape (``t_``,
``transpose_``, ``unsqueeze_``, ...), on ``inplace``'s machinery."""

from __future__ import annotations

import mmap
from collections.abc import Callable

import numpy as np

from .. import versions
from ..autograd import _counters, _GradMode
from ..modes import _InferenceMode, check_inference_inplace
from ..node_names import rename_node
from ..promotion import fitted
from ..tensor import _LEAF_IN_PLACE, Tensor, tensor_method
from ..versions import bump
from . import inplace, pointwise_extra  # noqa: F401 - their `_` methods must exist first
from ._common import NOT_GIVEN
from .inplace import (
    _become,
    _inplace,
    _old_node,
    _put,
    _view_chain,
    _views_graph,
)
from .write_checks import refused_write

# The nn in-place forms (celu_, dropout_, ...) come from nn (deltagrad.nn._torch_forms).
_METHODS = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
    "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_",
    "clamp_min_", "clip_", "conj_physical_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_",
    "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "i0_",
    "index_put_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_",
    "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_",
    "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_",
    "xlogy_", "zero_",
)

__all__ = ["fill", *_METHODS]


# ==============================================================================================
# Methods first (conj_physical_ is one of the functions below).


def _refuse_leaf(self) -> None:
    """PyTorch's check before any in-place op under grad mode: not on a leaf that requires grad
    nor on a view of one (t_, unsqueeze_, conj_physical_ of a real tensor passed it here)."""
    if _GradMode.enabled and self._rg:
        if self._op is None:
            raise RuntimeError(_LEAF_IN_PLACE)
        _view_chain(self)  # (raises for a view of such a leaf)


@tensor_method
def conj_physical_(self) -> Tensor:
    """Conjugate the values in place: nothing to do for a real tensor (returned as it is)."""
    _refuse_leaf(self)
    if _InferenceMode.marking:  # (refused on an inference / captured tensor, real too)
        check_inference_inplace(self)
    if self._data.dtype.kind == "c":
        if self._rg:
            raise RuntimeError("conj_physical_: complex tensors take no gradient in deltagrad")
        np.conjugate(self._data, out=self._data)
        bump(self._data, _counters.created)
    return self


def _refuse_grad(name: str, *tensors: Tensor) -> None:
    if any(t._rg for t in tensors):
        raise RuntimeError(f"Can't call {name}() on Variable that requires grad. Use "
                           f"var.detach().{name}() instead.")


def _same_dtype(name: str, self: Tensor, argument: str, other) -> np.ndarray:
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}(): argument '{argument}' must be Tensor, not "
                        f"{type(other).__name__}")
    if other._data.dtype != self._data.dtype:
        raise TypeError(f"{name}: expected a tensor of dtype {self.dtype} for argument "
                        f"'{argument}' (got {other.dtype})")
    try:
        return np.broadcast_to(other._data, self._data.shape)
    except ValueError:
        raise RuntimeError(f"{name}: the size of '{argument}' {list(other.shape)} cannot be "
                           f"expanded to {list(self.shape)}") from None


def _write_elementwise(name: str, self: Tensor, function: Callable, *others) -> Tensor:
    # NOTE: a Python call per element: the user's callable, as in PyTorch (slow by nature).
    values = [function(*items) for items in zip(self._data.ravel().tolist(),
                                                *(o.ravel().tolist() for o in others))]
    result = np.array(values) if values else np.empty(0, self._data.dtype)
    if result.dtype.kind not in "biufc":
        raise TypeError(f"{name}: the callable must return numbers, got "
                        f"{type(values[0]).__name__}")
    np.copyto(self._data, result.reshape(self._data.shape), casting="unsafe")
    bump(self._data, _counters.created)
    return self


@tensor_method
def apply_(self, callable: Callable) -> Tensor:  # noqa: A002 - PyTorch's argument name
    """Replace each element ``v`` by ``callable(v)`` (a Python number in, a number out, cast to
    this dtype): a Python call per element, for small tensors. Refused when this tensor
    requires grad, as in PyTorch.

    >>> import deltagrad as dg
    >>> dg.tensor([1, 2]).apply_(lambda v: v * 2.7).tolist()
    [2, 5]
    """
    _refuse_grad("apply_", self)
    return _write_elementwise("apply_", self, callable)


@tensor_method
def map_(self, tensor: Tensor, callable: Callable) -> Tensor:  # noqa: A002
    """Replace each element ``a`` by ``callable(a, b)``, ``b`` the element of ``tensor`` (same
    dtype, broadcast to this shape) at the same place: a Python call per element."""
    other = _same_dtype("map_", self, "tensor", tensor)
    _refuse_grad("map_", self, tensor)
    return _write_elementwise("map_", self, callable, other)


@tensor_method
def map2_(self, x: Tensor, y: Tensor, callable: Callable) -> Tensor:  # noqa: A002
    """As ``map_`` with two tensors: ``callable(a, b, c)`` per element."""
    first = _same_dtype("map2_", self, "x", x)
    second = _same_dtype("map2_", self, "y", y)
    _refuse_grad("map2_", self, x, y)
    return _write_elementwise("map2_", self, callable, first, second)


# ==============================================================================================
# Top-level functions.


def _function_of(name: str):
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return method(input, *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``input.{name}(...)``: ``input`` changed in place and returned."
    return function


for _name in _METHODS:
    globals()[_name] = _function_of(_name)


def fill(input, value) -> Tensor:
    """A new tensor of ``input``'s shape and dtype filled with ``value`` (a number or a 0-d
    tensor, whose gradient is the sum; ``input`` gets a zero gradient), as ``torch.fill``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fill(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return rename_node(input.clone().fill_(value),  # (PyTorch's node of the function)
                       "FillBackward1" if isinstance(value, Tensor) else "FillBackward0")


# ==============================================================================================
# Filling the diagonal.


@tensor_method
def fill_diagonal_(self, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (all dims equal, or for a tall matrix, every ``cols + 1``-th
    element when ``wrap``) with ``fill_value``."""
    if isinstance(fill_value, Tensor) and fill_value.ndim:  # (PyTorch's Number argument)
        raise TypeError("fill_diagonal_(): argument 'fill_value' must be Number, not Tensor")
    dims = self._data.shape
    if self._data.ndim < 2 or (self._data.ndim > 2 and len(set(dims)) != 1):
        raise RuntimeError("fill_diagonal_: all dimensions of input must be of equal length "
                           "(or the input must be 2-d)")
    if self._data.ndim == 2:
        rows, cols = dims
        limit = rows if wrap else min(rows, cols)
        flat = np.arange(0, limit * cols, cols + 1)
        flat = flat[flat < rows * cols]
        index = np.unravel_index(flat, dims)
    else:
        index = (np.arange(dims[0]),) * self._data.ndim
    if _InferenceMode.marking:
        check_inference_inplace(self)
    if _GradMode.enabled and (self._rg or (isinstance(fill_value, Tensor) and fill_value._rg)
                              or _views_graph(self)):  # (as fill_'s)
        return _inplace(self, "fill_diagonal_", lambda x: _put(x, index, None, fill_value),
                        cast=True)
    if not self._data.flags.writeable:
        raise RuntimeError(f"fill_diagonal_: {refused_write(self._data)}")
    # (a 0-d tensor is PyTorch's Number too: its value checked against the dtype as one)
    value = fill_value.item() if isinstance(fill_value, Tensor) else fill_value
    self._data[index] = fitted(value, self._data.dtype)  # (uint8: -3 is 253)
    versions.bump(self._data, _counters.created)
    return self


@tensor_method
def share_memory_(self) -> Tensor:
    """Moves the tensor's values into shared memory (an anonymous shared mapping, as PyTorch's
    shared storage) and returns ``self``; ``is_shared()`` is then True. Processes forked
    afterwards (``torch.multiprocessing.Process`` with the default fork start) see each
    other's in-place changes: mnist_hogwild's workers train the parent's model. A tensor that
    is a view of another keeps its memory (it is only marked shared), as do tensors made from
    it before the move."""
    from .conversion import is_shared, mark_shared  # (conversion.py loads after this module)

    data = self._data
    if (type(data) is np.ndarray and data.base is None and data.nbytes
            and not is_shared(self)):
        block = mmap.mmap(-1, data.nbytes)  # (anonymous: MAP_SHARED, inherited by a fork)
        moved = np.frombuffer(block, dtype=data.dtype).reshape(data.shape)
        moved[...] = data
        self._data = moved
    mark_shared(self)
    return self


# ==============================================================================================
# Shape changes in place: the tensor becomes a view of its old self.


def _reshaped(self, name: str, compute) -> Tensor:
    grad_mode = _GradMode.enabled
    _refuse_leaf(self)
    stamp = _counters.created
    result = compute(self)
    if result is not self:
        if grad_mode and result._rg:
            old = _old_node(self)
            result._inputs = tuple(old if x is self else x for x in result._inputs)
            _become(self, result)
            # (self is a view of its old node, not a view of another tensor: no owner link)
            versions.note_rebind(self, _counters.created, old, owner=False)
        self._data = result._data
    versions.bump(self._data, stamp)
    return self


@tensor_method
def t_(self) -> Tensor:
    return _reshaped(self, "t_", lambda x: x.t())


@tensor_method
def transpose_(self, dim0: int, dim1: int) -> Tensor:
    return _reshaped(self, "transpose_", lambda x: x.transpose(dim0, dim1))


@tensor_method
def swapdims_(self, dim0: int, dim1: int) -> Tensor:
    return _reshaped(self, "swapdims_", lambda x: x.transpose(dim0, dim1))


@tensor_method
def swapaxes_(self, axis0: int, axis1: int) -> Tensor:
    """``swapdims_`` under PyTorch's names for this spelling (``axis0``, ``axis1``)."""
    return swapdims_(self, axis0, axis1)


@tensor_method
def unsqueeze_(self, dim: int) -> Tensor:
    return _reshaped(self, "unsqueeze_", lambda x: x.unsqueeze(dim))


@tensor_method
def squeeze_(self, dim=NOT_GIVEN) -> Tensor:  # (a None dim: squeeze's TypeError, as PyTorch's)
    return _reshaped(self, "squeeze_", lambda x: x.squeeze(dim))
