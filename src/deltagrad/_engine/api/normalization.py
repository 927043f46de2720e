"""Normalization functions: ``layer_norm`` (one primitive, ops/normalization.py).

The layers (``nn.LayerNorm``) and the functional form (``nn.functional.layer_norm``) call this
function; the other normalizations, written from ops, live in ``nn/normalization.py``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .. import bf16
from ..autograd import DTypeError, ShapeError, _GradMode
from ..ops import OPS
from ..ops.elementwise import quiet as quiet_call
from ..ops.normalization import forward_without_grad
from ..tensor import Tensor, _result

__all__ = ["layer_norm"]

_LAYER_NORM = OPS["layer_norm"]


def normalized_shape_arg(normalized_shape, where: str) -> tuple[int, ...]:
    """``normalized_shape`` as PyTorch's parser reads it: a tuple, list or Size of ints (an
    element may be a one-element integer tensor); an int, a tensor or a float element is its
    TypeError (the modules, ``nn.LayerNorm(3)``, take an int themselves)."""
    if isinstance(normalized_shape, tuple):  # (tuples and Size: the common calls, cached)
        shape = _SHAPES.get(normalized_shape)
        # ((3.0,) == (3,) as dict keys: a float element must not pass on a cached int shape)
        if shape is None or any(type(n) is not int for n in normalized_shape):
            shape = _shape_elements(normalized_shape, where)
            if len(_SHAPES) < 256:
                _SHAPES[normalized_shape] = shape
        return shape
    if isinstance(normalized_shape, list):
        return _shape_elements(normalized_shape, where)
    raise TypeError(f"{where}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                    f"not {type(normalized_shape).__name__}")


def _shape_elements(values, where: str) -> tuple[int, ...]:
    shape = []
    for position, n in enumerate(values):
        if isinstance(n, Tensor) and n._data.size == 1 and n._data.dtype.kind in "iu":
            n = int(n._data.reshape(()))
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"{where}(): argument 'normalized_shape' (position 2) must be tuple "
                            f"of ints, but found element of type {type(n).__name__} at pos "
                            f"{position}")
        shape.append(int(n))
    return tuple(shape)


def check_norm_tensors(where: str, input, **parameters) -> None:
    """PyTorch's TypeError where the input or a parameter (which may be None) is no tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{where}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    for position, (name, value) in enumerate(parameters.items(), start=3):
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"{where}(): argument '{name}' (position {position}) must be "
                            f"Tensor, not {type(value).__name__}")


# normalized_shape as met -> as a tuple of ints; (ndim, eps, has_weight) -> the node's
# attributes, shared by the nodes made with them (nothing writes into a node's attributes).
# With the op made by _result directly (the forward cannot fail once the arguments are
# checked, and its dtype is the input's, so apply's lifting, error translation and dtype rule
# have nothing to do): forward on [3, 4] with weight and bias 9.0 -> 7.4 us (timeit, one
# thread, min of 15 x 200).
_SHAPES: dict = {}
_ATTRS: dict = {}


def layer_norm(input, normalized_shape: Sequence[int] | int, weight=None, bias=None,
               eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dimensions (PyTorch's ``F.layer_norm``).

    Mean and biased variance are taken over those dimensions; the result is scaled by
    ``weight`` and shifted by ``bias`` (elementwise, both of shape ``normalized_shape``). One
    node: its forward and VJP are written over whole arrays (and the VJP with ops when it is
    itself recorded, so double backward works).

    Args:
        input: float ``[*, *normalized_shape]``.
        normalized_shape: the trailing shape to normalize over.
        weight, bias: ``normalized_shape`` tensors of the input's dtype, or ``None``.
        eps: added to the variance.

    Returns:
        The input's shape and dtype.

    >>> import deltagrad as dg
    >>> layer_norm(dg.tensor([[1.0, 3.0]]), (2,))
    tensor([[-1.0000,  1.0000]])
    """
    shape = normalized_shape_arg(normalized_shape, "layer_norm")
    if not (isinstance(input, Tensor) and (weight is None or isinstance(weight, Tensor))
            and (bias is None or isinstance(bias, Tensor))):  # (inline: the hot path)
        check_norm_tensors("layer_norm", input, weight=weight, bias=bias)
    x = input
    data = x._data
    if not shape or data.ndim < len(shape) or data.shape[data.ndim - len(shape):] != shape:
        raise ShapeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, shape))}], but got input of size"
                         f"{list(x.shape)} (layer_norm)")
    # The arrays' dtypes, not Tensor.dtype (a property and a lookup each: fwd + bwd on [3, 4]
    # with weight and bias 1.3 us less, with the map in _shape_tuple).
    mismatched = data.dtype.kind != "f"
    affine = []
    for what, param in (("weight", weight), ("bias", bias)):
        if param is None:
            continue
        if param._data.shape != shape:
            raise ShapeError(f"layer_norm: {what} of shape {tuple(param.shape)} does not match "
                             f"normalized_shape {shape}")
        mismatched = mismatched or param._data.dtype != data.dtype
        affine.append(param)
    if mismatched and data.dtype is bf16.BF16 and all(p._data.dtype is bf16.BF16 for p in affine):
        # bfloat16: computed in float32, rounded once (bf16.py)
        return bf16.apply(_LAYER_NORM, (x, *affine),
                          {"ndim": len(shape), "eps": float(eps), "has_weight": weight is not None})
    if mismatched and (data.dtype is bf16.BF16 or data.dtype == np.float16) and affine and all(
            p._data.dtype == np.float32 for p in affine):  # PyTorch's mixed-type kernel: float32
        return layer_norm(x.float(), shape, weight, bias, eps).to(x.dtype)  # parameters
    if mismatched:
        # PyTorch: parameters of another dtype are its RuntimeError ("mixed dtype"), a
        # non-floating input alone its NotImplementedError (no kernel for the dtype).
        if any(p._data.dtype != data.dtype for p in affine):
            raise DTypeError(f"layer_norm: mixed dtype: input {x.dtype} and parameters "
                             f"{[str(p.dtype) for p in affine]} must share one floating dtype")
        raise NotImplementedError(f"layer_norm: not implemented for {x.dtype}; pass a "
                                  "floating input")
    key = (len(shape), float(eps), weight is not None)
    attrs = _ATTRS.get(key)
    if attrs is None:
        if len(_ATTRS) >= 64:
            _ATTRS.clear()
        attrs = _ATTRS[key] = {"ndim": key[0], "eps": key[1], "has_weight": key[2]}
    inputs = (x, *affine)
    requires_grad = False
    if _GradMode.enabled:
        for t in inputs:
            if t._rg:
                requires_grad = True
                break
    # (Without a graph the forward keeps nothing for a VJP: ops/normalization.py _KEPT.)
    forward = _LAYER_NORM.forward if requires_grad else forward_without_grad
    try:
        data = forward(data, *[p._data for p in affine], **attrs)
    except RuntimeWarning:  # (inf / nan rows: as _common.apply, PyTorch is silent)
        data = quiet_call(forward, data, *[p._data for p in affine], **attrs)
    return _result(data, _LAYER_NORM, inputs, attrs, requires_grad)
