"""Norms: ``norm`` and ``dist``, and the ``linalg`` ones (vector_norm, matrix_norm, norm,
svdvals) that ``deltagrad.linalg`` offers."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd import _GradMode
from ..node_names import rename_node
from ..ops import OPS
from ..ops.nn import Scratch
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import (
    bool_arg,
    dims_tuple,
    later_bools_as_ints,
    numpy_names,
    reduction_dims,
    tensor_arg,
    tensor_input,
    wrap_dim,
    write_out,
)
from .reductions import amax, amin, sum

__all__ = ["dist", "norm"]

_VECTOR_NORM, _SVDVALS = OPS["vector_norm"], OPS["svdvals"]
_LOW_NAMES = {"float16": "Half", "bfloat16": "BFloat16"}  # (no SVD kernel in PyTorch's CPU)


def _floating(input: Tensor, dtype, name: str) -> Tensor:
    if input.dtype.kind not in "fc":  # (before dtype= casts, as PyTorch; bfloat16 reads "f")
        from ..forward_errors import scalar_word  # (the rare path)

        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{scalar_word(input.dtype)}")
    if dtype is not None:
        if np.dtype(dtype).kind not in "fc":
            raise RuntimeError(f"{name}: dtype should be floating point or complex, got {dtype}")
        if np.promote_types(np.dtype(input.dtype), np.dtype(dtype)) != np.dtype(dtype):
            raise RuntimeError(f"{name}: the dtype of the input ({input.dtype}) should be "
                               f"convertible without narrowing to the specified dtype ({dtype})")
        input = input.to(dtype)
    if input.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{input.dtype}")
    return input


def _scalar(ord, name: str):
    """An order given as a one-element tensor, read as its number (PyTorch's Scalar argument);
    a tensor of several elements is PyTorch's TypeError."""
    if not isinstance(ord, Tensor):
        return ord
    if ord.numel() != 1:
        raise TypeError(f"{name}(): argument 'ord' must be Number, not a Tensor of "
                        f"{ord.numel()} elements")
    return ord.item()


def _arguments(name: str, ord, dim, *, strings: bool, none: bool, int_dim: bool) -> None:
    """PyTorch's parser, before any dtype or shape check: ``ord`` a number or a one-element
    tensor (a string where ``strings``, None where ``none``), ``dim`` None, a sequence of ints
    (an int or a one-element integer tensor where ``int_dim``); anything else a TypeError."""
    if isinstance(ord, Tensor):
        good = ord.numel() == 1
    elif isinstance(ord, str):
        good = strings
    else:
        good = (ord is None and none) or isinstance(ord, numbers.Number)
    if not good:
        raise TypeError(f"{name}(): argument 'ord' must be Number{' or str' if strings else ''}"
                        f", not {type(ord).__name__}")
    if dim is None:
        return
    if isinstance(dim, (tuple, list)):
        good = all(isinstance(d, numbers.Integral) and not isinstance(d, bool)
                   or isinstance(d, Tensor) and d._data.dtype.kind in "iu" and d.numel() == 1
                   for d in later_bools_as_ints(dim))  # (a later bool: its int; s27 BR16)
    elif isinstance(dim, Tensor):
        good = int_dim and dim._data.dtype.kind in "iu" and dim.numel() == 1
    else:
        good = int_dim and isinstance(dim, numbers.Integral) and not isinstance(dim, bool)
    if not good:
        raise TypeError(f"{name}(): argument 'dim' must be "
                        f"{'int or ' if int_dim else ''}tuple of ints, not {type(dim).__name__}")


@numpy_names  # (axis= / keepdims=, as PyTorch accepts: POT passes keepdims)
def vector_norm(x, ord: float = 2, dim=None, keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """The vector ``ord``-norm of ``x`` over ``dim`` (all elements if None).

    ``ord`` is any real number or ``inf`` / ``-inf`` (max / min of ``|x|``); 0 counts the
    non-zero elements. The gradient is 0 where the norm is 0, as in PyTorch.

    Args:
        x: a floating tensor.
        ord: the order.
        dim: an int, a tuple or list of ints, or None.
        keepdim: keep reduced dims with size 1.
        dtype: cast ``x`` to this floating dtype first.
        out: a tensor to write the result into.

    Returns:
        The norms.

    >>> import deltagrad as dg
    >>> dg.linalg.vector_norm(dg.tensor([3.0, -4.0]))
    tensor(5.)
    """
    if (type(x) is Tensor and type(ord) in _PLAIN_ORDS and dtype is None and out is None
            and type(keepdim) is bool and x._data.dtype.kind in "fc" and (
                dim is None or type(dim) is int
                or type(dim) is tuple and all(type(d) is int for d in dim))):
        # The common call (a float tensor, a number for ord, ints for dim), without the
        # general path's parser and checks, which it passes: those read Tensor.dtype twice,
        # isinstance against numbers' ABCs and the reduced size. op_overhead.py's cases,
        # forward alone 5.9 -> 3.9 us (thread time, one thread); fwd + bwd 0.73 -> 0.61 x
        # PyTorch (op_overhead.py --ops vector_norm, the tree with and without it, 2 runs; s27).
        dims = reduction_dims(dim, x._data.ndim)
        if ord < 0 or ord == math.inf:  # (no identity: an empty reduction raises below)
            _empty_check(x, dims, ord)
        return apply(_VECTOR_NORM, x, ord=float(ord), dim=dims, keepdim=keepdim)
    bool_arg(keepdim, "keepdim", "linalg_vector_norm")  # (keepdim=1: PyTorch's TypeError)
    _arguments("linalg_vector_norm", ord, dim, strings=False, none=False, int_dim=True)
    x = _floating(tensor_input(x), dtype, "linalg.vector_norm")
    ord = _scalar(ord, "linalg.vector_norm")
    if isinstance(ord, str) or not isinstance(ord, numbers.Real):
        raise RuntimeError(f"linalg.vector_norm: ord must be a real number, got {ord!r}")
    dims = reduction_dims(dim, x.ndim)
    if ord < 0 or ord == math.inf:
        _empty_check(x, dims, ord)
    return write_out(out, apply(_VECTOR_NORM, x, ord=float(ord), dim=dims, keepdim=keepdim))


_PLAIN_ORDS = (int, float)  # (not bool: the general path's checks)


def _empty_check(x: Tensor, dims, ord) -> None:
    """vector_norm's error for an order with no identity (negative, inf) over no elements."""
    reduced = x._data.size if dims is None else math.prod(x.shape[d] for d in dims_tuple(dims))
    if reduced == 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor "
                           "because the operation does not have an identity")


def svdvals(A, *, driver=None, out=None) -> Tensor:
    """Singular values of a matrix (or a batch of them, over the last two dims), descending.

    Args:
        A: a floating tensor of shape ``(*, m, n)``.
        driver: accepted for PyTorch's signature (CUDA only there); ignored.
        out: a tensor to write the result into.

    Returns:
        Shape ``(*, min(m, n))``.
    """
    A = _floating(tensor_input(A), None, "linalg.svdvals")
    if A._data.dtype.name in ("float16", "bfloat16"):  # (NotImplementedError, as PyTorch's)
        raise NotImplementedError(f"\"linalg_svd_cpu\" not implemented for "
                                  f"'{_LOW_NAMES[A._data.dtype.name]}'")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.svdvals: The input tensor A must have at least 2 dimensions, "
                           f"got shape {tuple(A.shape)}")
    if A._rg and _GradMode.enabled:  # the forward keeps U and Vh for the rule
        return write_out(out, apply(_SVDVALS, A, scratch=Scratch()))
    return write_out(out, apply(_SVDVALS, A))


def _matrix_dims(A: Tensor, dim, name: str) -> tuple:
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"{name}: dim must be a 2-tuple. Got {dim}")
    dim = later_bools_as_ints(dim)  # ((0, True) is (0, 1) to PyTorch's parser; s28 BR17)
    d0, d1 = wrap_dim(dim[0], A.ndim), wrap_dim(dim[1], A.ndim)
    if d0 == d1:
        raise RuntimeError(f"{name}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


@numpy_names  # (axis= / keepdims=, as PyTorch accepts: POT passes keepdims)
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """A matrix norm of ``A`` over the two dims ``dim`` (batched over the others).

    ``ord``: ``'fro'`` (Frobenius), ``'nuc'`` (sum of singular values), ``2`` / ``-2``
    (largest / smallest singular value), ``1`` / ``-1`` (max / min column sum of ``|A|``),
    ``inf`` / ``-inf`` (max / min row sum).

    Args:
        A: a floating tensor with at least 2 dims.
        ord: the norm, as above.
        dim: the two matrix dims.
        keepdim: keep them with size 1.
        dtype: cast ``A`` to this floating dtype first.
        out: a tensor to write the result into.

    Returns:
        The norms, shape of ``A`` without the two dims.
    """
    bool_arg(keepdim, "keepdim", "linalg_matrix_norm")
    _arguments("linalg_matrix_norm", ord, dim, strings=True, none=False, int_dim=False)
    A = _floating(tensor_input(A), dtype, "linalg.matrix_norm")
    ord = _scalar(ord, "linalg.matrix_norm")
    # (NumPy's dtype.name is a 2.3 us Python property: asked of 2-byte dtypes only, fwd + bwd
    # of OpInfo's matrix_norm samples 0.84 of their time, alternated, thread time; s13 PS)
    low = _LOW_NAMES.get(A._data.dtype.name) if A._data.dtype.itemsize == 2 else None
    if ord in ("nuc", 2, -2) and low:  # (before the dims, as PyTorch)
        raise RuntimeError(f"linalg.matrix_norm: Low precision dtypes not supported. Got {low}")
    d0, d1 = _matrix_dims(A, dim, "linalg.matrix_norm")
    if ord in (2, -2, 1, -1, math.inf, -math.inf) and not isinstance(ord, bool):
        # The largest of no values is PyTorch's 0, off the graph; the smallest its IndexError
        along = d1 if ord in (1, -1) else d0 if abs(ord) == math.inf else None
        if (0 in (A.shape[d0], A.shape[d1])) if along is None else A.shape[along] == 0:
            if ord < 0:
                shown = -1 if along is None else along - (not keepdim and along > d0 + d1 - along)
                raise IndexError(f"amin(): Expected reduction dim {shown} to have non-zero size.")
            shape = [1 if d in (d0, d1) else n for d, n in enumerate(A.shape)
                     if keepdim or d not in (d0, d1)]
            return write_out(out, _leaf(np.zeros(shape, A._data.real.dtype)))
    if ord == "fro":
        result = vector_norm(A, 2, (d0, d1), keepdim)
    elif ord in ("nuc", 2, -2):
        rest = [d for d in range(A.ndim) if d not in (d0, d1)]
        values = svdvals(A.permute(*rest, d0, d1))
        result = {"nuc": sum, 2: amax, -2: amin}[ord](values, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                result = result.unsqueeze(d)
    elif ord in (1, -1, math.inf, -math.inf):
        across, along = (d0, d1) if ord in (1, -1) else (d1, d0)
        reduce = amax if ord > 0 else amin
        result = reduce(sum(A.abs(), across, keepdim=True), along, keepdim=True)
        if not keepdim:
            result = result.squeeze(max(d0, d1)).squeeze(min(d0, d1))
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return write_out(out, result)


@numpy_names  # (axis= / keepdims=, as PyTorch accepts: POT passes keepdims)
def linalg_norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None,
                out=None) -> Tensor:
    """PyTorch's ``linalg.norm``: a vector norm over one dim, a matrix norm over two.

    With ``dim`` None: the 2-norm of the flattened input if ``ord`` is None too, else a vector
    norm of a 1-D input or a matrix norm of a 2-D one.

    Args:
        A: a floating tensor.
        ord: the order (see ``vector_norm`` and ``matrix_norm``).
        dim: an int, a 2-tuple, or None.
        keepdim: keep reduced dims with size 1.
        dtype: cast ``A`` to this floating dtype first.
        out: a tensor to write the result into.
    """
    bool_arg(keepdim, "keepdim", "linalg_norm")
    _arguments("linalg_norm", ord, dim, strings=True, none=True, int_dim=True)
    A = _floating(tensor_input(A), dtype, "linalg.norm")
    ord = _scalar(ord, "linalg.norm")
    if dim is not None:
        dims = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
        if len(dims) == 1:
            if isinstance(ord, str):
                raise RuntimeError(f"linalg.norm: ord {ord!r} needs a 2-tuple dim")
            result = vector_norm(A, 2 if ord is None else ord, dims, keepdim)
        elif len(dims) == 2:
            result = matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
        else:
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                               f"Got {list(dims)}")
    elif ord is None:
        result = vector_norm(A, 2, None, keepdim)
    elif A.ndim == 1 and not isinstance(ord, str):
        result = vector_norm(A, ord, None, keepdim)
    elif A.ndim == 2:
        result = matrix_norm(A, ord, (-2, -1), keepdim)
    else:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.ndim}D.")
    return write_out(out, result)


def norm(input, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """PyTorch's ``norm``: a vector p-norm (``p`` a number, or ``'fro'``) over ``dim``, or the
    nuclear norm (``p='nuc'``) over two dims.

    Args:
        input: a floating tensor.
        p: ``'fro'`` (the 2-norm of the selected elements), ``'nuc'``, or a number.
        dim: an int, a tuple or list, or None for all elements.
        keepdim: keep reduced dims with size 1.
        out: a tensor to write the result into.
        dtype: cast the input to this floating dtype first.
    """
    input = tensor_input(input)
    p = _scalar(p, "norm")
    if p is None:
        p = "fro"
    if input.is_sparse and out is None:  # (its method: the norm of the coalesced values)
        return input.norm(p, dim, keepdim, dtype)
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, numbers.Integral) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype, out=out)
        if p == "nuc":
            return matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim,
                               dtype=dtype, out=out)
        raise RuntimeError(f"norm: p={p!r} is not supported with dim={dim}")
    return vector_norm(input, p, dim, keepdim, dtype=dtype, out=out)


@tensor_method(name="norm")
def _norm_method(self, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """``torch.norm(self, ...)``: the method's fourth parameter is ``dtype`` (the function's is
    ``out``), as PyTorch's ``Tensor.norm``."""
    return norm(self, p, dim, keepdim, dtype=dtype)


@tensor_method
def dist(input, other, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast)."""
    input, other = tensor_input(input), tensor_arg(other, "other", "dist")
    if isinstance(p, Tensor) and p.numel() != 1 or not isinstance(p, (Tensor, numbers.Number)):
        raise TypeError(f"dist(): argument 'p' (position 3) must be Number, not "
                        f"{type(p).__name__}")
    return rename_node(vector_norm(input - other, _scalar(p, "dist")), "DistBackward0")
