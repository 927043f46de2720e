"""The memory layout of an elementwise result, as PyTorch's TensorIterator chooses it.

PyTorch gives an elementwise result the dim order of its operands: it sorts the dims by the
operands' strides, fastest first, asking the operands in order (the first one that tells two dims
apart decides; a broadcast dim, stride 0, tells nothing) and keeping row-major order where none
does. NumPy sorts the same way but lets row-major order win where two operands disagree, so a
permuted first operand plus a row-major or broadcast second one comes out row-major here and
permuted in PyTorch (``a.permute(1, 2, 0) + b``: (2, 1, 10) there, (40, 20, 1) in NumPy). The
layout decides ``is_contiguous``, whether ``view`` works, and the order a ``*_like`` draw (a
dropout mask) fills the elements in.

Row-major operands give a row-major result in both libraries, so ``tensor._binary`` asks
``relaid`` only when an operand is not (two flags checks: x + y on 8 x 8 float32, one thread,
CPU time, alternated with the tree before it, medians of 15: 803 -> 870 ns, x * 2.0 1301 ->
1411 ns on this shared, loaded machine; ``ab.py --workload ops --cpu --rounds 15``: new/base
0.962, 0.82-1.11, i.e. within noise; session 26, LY1). Not followed (known differences): a
size-1 dim's stride, which PyTorch's sort also reads (``[1, 1, 4, 5]`` strided (1, 20, 5, 1)
plus a ``[4, 4, 5]``: (1, 5, 20, 1) there, row-major here). The elementwise ops that run
through ``apply`` (where, maximum, lerp, the tensor-bounded clamps, ...) ask ``laid_out`` in
their forward (ops/layouts.py), the comparisons, logical and bitwise functions and addcmul /
addcdiv in the api (session 27, BR15).
"""

from __future__ import annotations

import numpy as np

__all__ = ["dim_order", "dims_fastest_first", "laid_out", "relaid"]


def dim_order(shape: tuple, arrays) -> list:
    """The dims of a result of ``shape`` over ``arrays``, fastest first, as PyTorch orders them."""
    ndim = len(shape)
    steps = []
    for array in arrays:
        if not array.ndim:
            continue  # (a 0-d operand or a number: all its strides are broadcast ones)
        lead = ndim - array.ndim
        steps.append([0] * lead + [
            0 if n == 1 and shape[lead + i] != 1 else abs(s)
            for i, (n, s) in enumerate(zip(array.shape, array.strides))])
    return dims_fastest_first(shape, steps)


def dims_fastest_first(shape: tuple, strides: list) -> list:
    """The dims of a ``shape`` result, fastest first, as PyTorch orders an elementwise
    result's (TensorIterator): by the operands' ``strides`` (one tuple each, ``shape``'s
    length), the first that tells two dims apart deciding (a zero stride tells nothing; equal
    strides put the smaller size first); row-major where none does."""

    def order(d0: int, d1: int) -> int:
        for s in strides:
            if s[d0] == 0 or s[d1] == 0:
                continue
            if s[d0] != s[d1]:
                return 1 if s[d0] > s[d1] else -1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    dims = list(range(len(shape) - 1, -1, -1))
    for i in range(1, len(dims)):
        moving = i
        for before in range(i - 1, -1, -1):
            verdict = order(dims[before], dims[moving])
            if verdict > 0:
                dims[before], dims[moving] = dims[moving], dims[before]
                moving = before
            elif verdict < 0:
                break
    return dims


def relaid(data, arrays, op=None):
    """``data`` (an elementwise result over ``arrays``) in PyTorch's layout: itself where NumPy
    laid it out so, else a copy with those strides. ``op``: the engine's op, if any (matmul,
    which also runs through the operators' path, is not elementwise: left as it is)."""
    if (type(data) is not np.ndarray or data.ndim < 2 or not data.size
            or getattr(op, "name", None) == "matmul"):
        return data
    # The plan is a pure function of the shapes and strides, remembered: a mask of a sliced
    # causal buffer (bias[:, :, :12, :12] == 0) under no_grad 7.93 -> 5.21 us (s27 SP40)
    key = (data.shape, data.strides, data.itemsize, *[(a.shape, a.strides) for a in arrays])
    plan = _PLANS.get(key, _PLANS)
    if plan is _PLANS:
        if len(_PLANS) >= 1024:  # (bounded: programs with ever new shapes)
            _PLANS.clear()
        plan = _PLANS[key] = _plan(data, arrays)
    if plan is None:
        return data  # (laid out as PyTorch's already)
    out = np.empty(plan[0], data.dtype).transpose(plan[1])
    np.copyto(out, data)
    return out


_PLANS: dict = {}  # relaid's arguments' shapes, strides, itemsize -> _plan's answer


def _plan(data, arrays):
    """None where ``data`` is laid out as PyTorch lays the result out, else the shape of the
    row-major array to copy it into and the transpose of that array that gives the layout."""
    shape = data.shape
    order = dim_order(shape, arrays)
    steps, step = [0] * len(shape), data.itemsize
    for dim in order:
        steps[dim] = step
        step *= shape[dim]
    if all(n == 1 or a == b for n, a, b in zip(shape, data.strides, steps)):
        return None  # (a size-1 dim's stride is free: NumPy's is kept)
    slowest = order[::-1]
    return tuple(shape[d] for d in slowest), tuple(int(d) for d in np.argsort(slowest))


def laid_out(data, arrays):
    """``data`` (an elementwise result over ``arrays``, in PyTorch's operand order; numbers
    among them are skipped) in PyTorch's layout: itself, after one flags read an array, when
    every array is row-major; else ``relaid``."""
    for array in arrays:
        if type(array) is np.ndarray and not array.flags.c_contiguous:
            return relaid(data, [a for a in arrays if type(a) is np.ndarray])
    return data
