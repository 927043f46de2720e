"""Indexing: getitem, strided views (diagonal, unfold), scatter back into zeros, gather."""

from __future__ import annotations

import numpy as np

from .registry import ARRAY, Sample, _index_add_zeros, _is_basic_index, c_order, register


def _getitem_vjp(F, g, out, x, *, index):
    if F is ARRAY and type(g) is np.ndarray and g.size < _AT_MAX and not _is_basic_index(index):
        # A small gradient scattered by np.add.at directly: index_add_zeros's add_rows_at
        # (a flat index over whole rows) pays off from about 500 elements on; below, 1.2
        # against 3.3 us (4 rows of [4, 5]), the same sums.
        grad = np.zeros(x.shape, x.dtype)
        np.add.at(grad, index, g)
        return (grad,)
    return (F.index_add_zeros(g, index, x.shape, F.data(x).dtype),)


_AT_MAX = 512  # gradient elements up to which np.add.at beats add_rows_at


def _getitem_samples(rng):
    x = rng.standard_normal((4, 5))
    return [
        Sample((x,), {"index": (slice(1, 3),)}),
        Sample((x,), {"index": (slice(None), 2)}),
        Sample((x,), {"index": (np.array([0, 2, 2, 3]),)}, "duplicate indices"),
        Sample((x,), {"index": (np.array([1, 1]), np.array([4, 4]))}, "duplicate pairs"),
        Sample((x,), {"index": (x > 0.2,)}, "boolean mask"),
        Sample((rng.standard_normal((2, 3, 4)),), {"index": (Ellipsis, None, slice(0, 4, 2))}),
        Sample((rng.standard_normal((6,)),), {"index": (np.array([[0, 1], [5, 0]]),)}),
    ]


def _getitem_forward(x, *, index):
    out = x[index]
    # A basic index is a view (its strides are PyTorch's too, but for the dims None adds); an
    # advanced one is a new array, which PyTorch makes contiguous where NumPy may not (an
    # index array on a later axis).
    if 0 in out.strides and type(index) is tuple and _is_basic_index(index) and None in index:
        return _none_strides(x, index, out)  # (a 0 stride first: 0.03 us where there is none)
    if out.flags.c_contiguous or _is_basic_index(index):
        return out
    return c_order(out)


def _none_strides(x, index: tuple, out):
    """``out = x[index]`` with PyTorch's strides on the dims that None adds: NumPy gives them
    0, PyTorch unsqueezes as it walks the index, before the later items slice: the stride is
    the size times the stride of the input dim the walk has reached (1 element past the
    last), e.g. ``x[:, None]`` of a [2, 3] x: (3, 3, 1), not (3, 0, 1); ``x[None, 1:]``:
    (6, 3, 1). Only stride() sees it (the dims have size 1); found by s28 SL18's fuzzer.
    x[:, None] of [4, 6]: 1.6 -> 2.6 us (a contiguous result: a view of it by buffer, where
    as_strided took 7.5), thread time, one thread."""
    shape, steps = x.shape, x.strides
    strides = list(out.strides)
    dim = at = 0  # (the input dim reached, the output dim written)
    for item in index:
        if item is None:
            strides[at] = shape[dim] * steps[dim] if dim < len(shape) else x.itemsize
            at += 1
        elif item is Ellipsis:
            skip = x.ndim - sum(1 for i in index if i is not None and i is not Ellipsis)
            dim += skip
            at += skip
        elif type(item) is slice:
            dim += 1
            at += 1
        elif type(item) is not bool and isinstance(item, (int, np.integer)):
            dim += 1  # (an int: the dim is gone)
        else:  # (anything else: NumPy's strides)
            return out
    strides = tuple(strides)
    try:  # (a contiguous result: a view of its buffer, read-only where it is)
        return np.ndarray(out.shape, out.dtype, out, 0, strides)
    except (TypeError, ValueError, BufferError):  # (not contiguous: no buffer to view)
        pass
    # NumPy's reshape of the result without the None dims gives the dims it adds the stride
    # PyTorch's walk gives but at the end: taken where it does (a view of the same memory,
    # the same flags), else as_strided. x[:, None] of x[:, ::2] ([4, 6]): 5.0 -> 3.7 us (CPU
    # time, one thread, min of 9 rounds, HEAD alternated in one process; s28 SP45).
    plain = x[tuple(item for item in index if item is not None)]
    view = plain.reshape(out.shape)
    if view.strides == strides and view.base is out.base:
        return view
    return np.lib.stride_tricks.as_strided(out, out.shape, strides,
                                           writeable=bool(out.flags.writeable))


register("getitem", forward=_getitem_forward, vjp=_getitem_vjp,
         samples=_getitem_samples)


def diagonal_index(shape: tuple, offset: int) -> tuple:
    """``(Ellipsis, rows, cols)``: the ``offset`` diagonal of the last two dims of ``shape``."""
    rows, cols = shape[-2], shape[-1]
    n = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    first_row, first_col = max(0, -offset), max(0, offset)
    return (Ellipsis, np.arange(first_row, first_row + n), np.arange(first_col, first_col + n))


def _diagonal_forward(x, *, offset):
    # A view (as PyTorch's diagonal): x.diagonal().add_(1) changes x. NumPy's diagonal is a
    # read-only view of the same memory; made writable it is the view wanted (0.69 us, where
    # as_strided took 2.9).
    view = x.diagonal(offset, -2, -1)
    if x.flags.writeable:
        view.flags.writeable = True
    return view


def _diagonal_vjp(F, g, out, x, *, offset):
    if F is ARRAY:
        # g written into the diagonal view of zeros (its positions are distinct: a copy, as
        # PyTorch's): no index arrays or np.add.at, fwd+bwd 0.58 -> 0.42x torch (op_overhead.py).
        grad = np.zeros(x.shape, x.dtype)
        view = grad.diagonal(offset, -2, -1)
        view.flags.writeable = True
        view[...] = g
        return (grad,)
    return (F.index_add_zeros(g, diagonal_index(x.shape, offset), x.shape, F.data(x).dtype),)


register("diagonal", forward=_diagonal_forward, vjp=_diagonal_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((3, 4)),), {"offset": 0}),
                              Sample((rng.standard_normal((2, 3, 4)),), {"offset": 1}),
                              Sample((rng.standard_normal((4, 3)),), {"offset": -2})])


def unfold_index(shape: tuple, dim: int, size: int, step: int) -> tuple:
    """An advanced index of ``shape`` giving unfold's windows in dims ``dim`` (the window) and
    ``dim + 1`` (the position in it): unfold's output with its last dim moved to ``dim + 1``."""
    starts = np.arange(0, shape[dim] - size + 1, step)
    return (slice(None),) * dim + (starts[:, None] + np.arange(size)[None, :],)


def unfold_moved(ndim: int, dim: int) -> tuple:
    """The permutation taking unfold's output (window position last) to ``unfold_index``'s
    layout (window position at ``dim + 1``), for an input of ``ndim`` dims."""
    dims = list(range(ndim))  # (the output has ndim + 1 dims: its last is ndim)
    dims.insert(dim + 1, ndim)
    return tuple(dims)


def _unfold_forward(x, *, dim, size, step):
    # A view, as PyTorch's: dim becomes the window count, a new last dim the window, both
    # strided over x's memory (x.unfold(0, 2, 2).fill_(1) changes x).
    windows = (x.shape[dim] - size) // step + 1
    shape = x.shape[:dim] + (windows,) + x.shape[dim + 1:] + (size,)
    strides = (x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1:]
               + (x.strides[dim],))
    # NOTE: overlapping windows (step < size) are read-only, so in-place writes into them
    # raise. PyTorch lets them through and updates each shared element once per window that
    # holds it, in its loop order (x.unfold(0, 3, 1).mul_(2) doubles a middle element three
    # times): a result NumPy's buffered ufuncs would not reproduce, so deltagrad refuses.
    writeable = bool(x.flags.writeable) and (step >= size or windows <= 1)
    if x.flags.c_contiguous or x.flags.f_contiguous:
        # A view over x's buffer made directly (its base is x): 0.5 us where NumPy's
        # stride_tricks.as_strided, written in Python, costs 3.4 ([3, 5]).
        view = np.ndarray(shape, x.dtype, buffer=x, strides=strides)
        if view.flags.writeable and not writeable:
            view.flags.writeable = False
        return view
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=writeable)


def _unfold_vjp(F, g, out, x, *, dim, size, step):
    # Each input element gets the sum of g over the windows that hold it.
    if F is ARRAY:
        grad = np.zeros(x.shape, x.dtype)
        windows = g.shape[dim]
        lead = (slice(None),) * dim
        if size <= windows:  # one strided slice per position in the window
            for k in range(size):
                grad[lead + (slice(k, k + (windows - 1) * step + 1, step),)] += g[..., k]
        else:  # one slice per window
            # (the window's last axis moved back to dim by a transpose: np.moveaxis checks
            # its axes in Python, 2.6 us a call; the [3, 5] sample's VJP 7.7 -> 2.6 us)
            last = g.ndim - 2
            axes = (*range(dim), last, *range(dim, last))
            for w in range(windows):
                start = w * step
                grad[lead + (slice(start, start + size),)] += g[lead + (w,)].transpose(axes)
        return (grad,)
    moved = F.transpose(g, unfold_moved(len(x.shape), dim))
    return (F.index_add_zeros(moved, unfold_index(x.shape, dim, size, step), x.shape,
                              F.data(x).dtype),)


register("unfold", forward=_unfold_forward, vjp=_unfold_vjp,
         samples=lambda rng: [
             Sample((rng.standard_normal(7),), {"dim": 0, "size": 2, "step": 2}),
             Sample((rng.standard_normal(6),), {"dim": 0, "size": 3, "step": 1}, "overlapping"),
             Sample((rng.standard_normal((3, 5)),), {"dim": 1, "size": 4, "step": 1},
                    "more positions than windows"),
             Sample((rng.standard_normal((5, 2, 3)),), {"dim": 0, "size": 2, "step": 3})])


def _index_add_zeros_vjp(F, g, out, x, *, index, shape, dtype):
    return (F.getitem(g, index),)


register("index_add_zeros",
         forward=lambda x, *, index, shape, dtype: _index_add_zeros(x, index, shape, dtype),
         vjp=_index_add_zeros_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((4, 5)),),
                                     {"index": (np.array([0, 2, 2, 0]),), "shape": (3, 5),
                                      "dtype": np.float64})])


def _along_axis(index, dim):
    """A full advanced index equivalent to take_along_axis(x, index, dim).

    Built from one ``arange`` per other dim, shaped to broadcast (np.ogrid and
    take_along_axis make the same index in Python: gather forward + backward on [3, 4], with
    the API's shortcut, 39.6 -> 18.0 us in OP_OVERHEAD.md). The aranges depend on the index's
    shape and the dim only, so they are made once per pair (0.76 against 0.25 us on [3, 2]).
    """
    ndim = index.ndim
    dim = dim % ndim
    key = (index.shape, dim)
    grids = _GRIDS.get(key)
    if grids is None:
        grids = []
        for d, n in enumerate(index.shape):
            if d != dim:
                shape = [1] * ndim
                shape[d] = n
                grid = np.arange(n).reshape(shape)
                grid.flags.writeable = False  # (shared by every index of this shape)
                grids.append(grid)
        if len(_GRIDS) >= 1024:  # (bounded: programs with ever new shapes)
            _GRIDS.clear()
        grids = _GRIDS[key] = tuple(grids)
    return grids[:dim] + (index,) + grids[dim:]


_GRIDS: dict = {}  # (index shape, dim) -> the aranges of the other dims


def _gather_forward(x, index, *, dim):
    # (PyTorch's gather output is contiguous whatever the index's layout; NumPy's follows a
    # strided or expanded index: a copy only then)
    out = x[_along_axis(index, dim)]
    return out if out.flags.c_contiguous else np.ascontiguousarray(out)


def _gather_vjp(F, g, out, x, index, *, dim):
    along = _along_axis(F.data(index), dim)
    if F is ARRAY:  # (index_add_zeros without its tests of the index's kind)
        grad = np.zeros(x.shape, x.dtype)
        np.add.at(grad, along, g)
        return grad, None
    return F.index_add_zeros(g, along, x.shape, F.data(x).dtype), None


def _gather_samples(rng):
    return [
        Sample((rng.standard_normal((3, 4)), np.array([[0, 0], [3, 1], [2, 2]])), {"dim": 1}),
        Sample((rng.standard_normal((3, 4)), np.array([[0, 1, 2, 0], [2, 2, 2, 2]])), {"dim": 0}),
    ]


register("gather", forward=_gather_forward, vjp=_gather_vjp, samples=_gather_samples)
