"""addmm's two special paths: the common call (float matrices, beta = alpha = 1) without the
general argument handling, and the bfloat16 / float16 one that rounds once (linalg.py holds
addmm itself); tensordot's checks of its dims (linalg.py is at its line limit)."""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes
from ..autograd import ShapeError
from ..ops import OPS
from ..tensor import Tensor, _binary
from .shape import _wrap_dim

_MATMUL = OPS["matmul"]
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def plain_addmm(input, mat1, mat2, beta, alpha) -> Tensor | None:
    """``beta * input + alpha * (mat1 @ mat2)`` for the common call: three tensors of one
    float dtype, 2-d factors that multiply, ``input`` of the product's shape or its row's,
    beta (not 0) and alpha Python numbers; else None (the general path). The same nodes and
    bits as that path (the product, scaled where alpha is not 1, plus the input, scaled where
    beta is not 1), without mm's and the scaled sum's parsing and ``np.broadcast_shapes``:
    forward on [2, 3] 0.49 of its time under grad, 0.60 under no_grad, with a [3] bias 0.61
    / 0.64, beta 0.6 and alpha 0.2 0.63 / 0.65 (the tree without it alternated with it in
    one process, thread time, medians of 21 rounds, a loaded machine);
    OpInfo's addmm samples fwd 2.31-2.48 -> 1.64-1.79 x PyTorch's time, no_grad 1.75-1.95 ->
    1.38-1.43, addmm.decomposed fwd 1.78-1.90 -> 0.99-1.04 (opinfo_overhead.py, two runs of
    each, alternated; a loaded machine; s23 SP10)."""
    if (type(beta) is not int and type(beta) is not float or beta == 0
            or type(alpha) is not int and type(alpha) is not float):
        return None
    if type(input) is not Tensor or type(mat1) is not Tensor or type(mat2) is not Tensor:
        return None
    x, a, b = input._data, mat1._data, mat2._data
    if (type(x) is not np.ndarray or type(a) is not np.ndarray or type(b) is not np.ndarray
            or a.dtype not in _FLOATS or a.dtype != b.dtype or a.dtype != x.dtype
            or a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]):
        return None
    if x.shape != (a.shape[0], b.shape[1]) and x.shape != b.shape[1:]:
        return None
    product = _binary(_MATMUL, mat1, mat2)
    return (product if alpha == 1 else product * alpha) + (input if beta == 1 else input * beta)


def half_width(*tensors):
    """The dtype of ``tensors`` if all are bfloat16 or all float16, else None: PyTorch's CPU
    addmm / baddbmm then compute ``beta * input + alpha * product`` in float32 and round once
    (bit for bit, 0 of 35 elements differ; rounding the product, the scaling and the sum in
    turn, as the plain path would, differs in 7-11 of 35 and orthogonalising Newton-Schulz
    steps (PyTorch's Muon) drift by 0.03-0.07)."""
    dtype = getattr(tensors[0], "dtype", None)
    if dtype not in (dtypes.bfloat16, dtypes.float16):
        return None
    return dtype if all(getattr(t, "dtype", None) == dtype for t in tensors) else None


def tensordot_dims(a: Tensor, b: Tensor, dims_a, dims_b) -> tuple:
    """tensordot's contracted dims as PyTorch reads and checks them: two sequences of ints (an
    int or a float in their place is a TypeError), of one length, wrapped, each dim once (a
    repeated dim was contracted twice: a silent wrong result); the inputs of one dtype."""
    lists = []
    for name, dims, ndim in (("dims_self", dims_a, a.ndim), ("dims_other", dims_b, b.ndim)):
        if not isinstance(dims, (list, tuple)):
            raise TypeError(f"tensordot(): argument '{name}' must be tuple of ints, not "
                            f"{type(dims).__name__}")
        for d in dims:
            if not isinstance(d, numbers.Integral):
                raise TypeError(f"tensordot(): argument '{name}' must be tuple of ints, but "
                                f"found element of type {type(d).__name__}")
        wrapped = [_wrap_dim(int(d), ndim) for d in dims]
        for d in wrapped:
            if wrapped.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        lists.append(wrapped)
    if len(lists[0]) != len(lists[1]):
        raise ShapeError(f"tensordot: both dim lists should have the same length, got "
                         f"{list(dims_a)} and {list(dims_b)}")
    if a.dtype != b.dtype:  # (was promoted where einsum's rule allowed it)
        raise RuntimeError(f"both inputs should have same dtype (tensordot of {a.dtype} and "
                           f"{b.dtype})")
    return lists
