"""Indexing functions: gather / scatter and their reductions, index_* (select, add, copy, fill,
put), take, put, take_along_dim, masked_select / masked_scatter, the scatters into a slice, an
index or a diagonal (slice_scatter, select_scatter, diagonal_scatter), nonzero, argwhere and one_hot
(``x[index]`` itself is Tensor's own; the in-place forms ``scatter_`` ... are api/inplace.py's
wrappers of these)."""

from __future__ import annotations

import builtins

import numpy as np

from ..autograd import ShapeError
from ..errors import warn_once
from ..modes import MAPPED, by_user, refuse_mapped
from ..node_names import rename_node
from ..ops import OPS
from ..subscripts import check_masks
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import int_arg, numpy_names, tensor_arg, tensor_input
from .direct_nodes import taken
from .indexing_args import (  # (moved out: session 27, FS1)
    _along,
    _as_nd,
    _check_bounds,
    _extremes,
    _int_index,
    _number_as,
    _past_the_end,
    _reshaped_like,
    _same_dtype,
    _smallest,
    masked_fill_form,
)
from .shape import _reshape as reshape  # (the method's form: sizes one by one or a tuple)
from .shape import _wrap_dim, expand
from .view_scatters import diagonal_scatter, select_scatter, slice_scatter
from .write_checks import written_apart

__all__ = ["argwhere", "diagonal_scatter", "gather", "index_add", "index_copy", "index_fill",
           "index_put", "index_reduce", "index_select", "masked_scatter", "masked_select",
           "nonzero", "put", "scatter", "scatter_add", "scatter_reduce", "select_scatter",
           "slice_scatter", "take", "take_along_dim"]

_GETITEM = OPS["getitem"]
_GATHER = OPS["gather"]
_INDEX_PUT = OPS["index_put"]
_INDEX_ADD_ZEROS = OPS["index_add_zeros"]
_SCATTER_REDUCE = OPS["scatter_reduce"]
_SCATTER_SUM = OPS["scatter_sum"]  # (sum and mean)


# --------------------------------------------------------------------------------------------
# gather and scatter: an index tensor with the input's rank says, position by position, which
# element along ``dim`` to read or write.


def _gather_index(input: Tensor, dim, index, name: str) -> tuple:
    index = _int_index(index, name, empty_float=True)
    # (dtype == name, not dtype.name: NumPy's name is a Python property, 2.3 us of thread time
    # against 0.1; s13 PS)
    if index.dtype not in ("int64", "int32") and index.size:
        # (PyTorch's kernels take these two; NumPy would index with any integer array)
        kernel = "gather" if name == "gather" else "scatter"
        raise RuntimeError(f"{kernel}(): Expected dtype int32/int64 for index, got "
                           f"{index.dtype}")
    if index.ndim != input.ndim and not (input.ndim <= 1 and index.ndim <= 1) and index.size:
        # (PyTorch lets an empty index of any rank through: gather returns its empty shape)
        raise ShapeError(f"{name}(): Index tensor must have the same number of dimensions as "
                         f"input tensor ({index.ndim} and {input.ndim})")
    dim = _wrap_dim(dim, input.ndim)
    return index, dim


@tensor_method
@numpy_names
def gather(input, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` along ``dim`` (and likewise in any rank).

    Args:
        input: any tensor.
        dim: the dim to read along.
        index: integers in ``[0, input.size(dim))``, with the input's rank; in the other dims
            it may be smaller than the input (PyTorch's rule).
        sparse_grad: accepted for compatibility; the gradient is dense.

    Returns:
        A tensor of ``index``'s shape.
    """
    input = tensor_input(input)
    given = index
    if type(dim) is not int:
        dim = int_arg(dim, "dim", "gather")
    index, dim = _gather_index(input, dim, index, "gather")
    if not index.size and index.ndim != input.ndim and index.ndim > 1:
        return reshape(apply(_GETITEM, reshape(input, -1), index=(slice(0, 0),)), index.shape)
    shape = input._data.shape
    if (index.ndim and index.ndim == len(shape) and index.shape[:dim] == shape[:dim]
            and index.shape[dim + 1:] == shape[dim + 1:]):
        # The common call: the index has the input's sizes in the other dims, so there is
        # nothing to compare or cut (gather's forward on [3, 4], with the op's own index:
        # 21.6 -> 11.7 us). The index tensor given is the op's input as it is.
        index_tensor = given if type(given) is Tensor and given._data is index else _leaf(index)
        if index.size and _smallest(index) >= 0:
            # NumPy refuses indices past the end itself; only negative ones would wrap. One
            # reduction instead of _check_bounds's view and reduction (0.6 against 0.9 us).
            try:
                return apply(_GATHER, input, index_tensor, dim=dim)
            except IndexError:
                pass  # (past the end: _check_bounds raises PyTorch's error)
        _check_bounds(index, shape[dim], dim, "gather")
        return apply(_GATHER, input, index_tensor, dim=dim)
    shape = _as_nd(input).shape
    index_nd = index.reshape(index.shape or (1,))
    for d, (n, m) in enumerate(zip(index_nd.shape, shape)):
        if d != dim and n > m:
            raise ShapeError(f"gather(): Size does not match at dimension {d} expected index "
                             f"{list(index.shape)} to be no larger than self {list(input.shape)}"
                             f" apart from dimension {dim}")
    _check_bounds(index, shape[dim], dim, "gather")
    source = _as_nd(input)
    if index_nd.shape[:dim] + index_nd.shape[dim + 1:] != shape[:dim] + shape[dim + 1:]:
        source = apply(_GETITEM, source, index=tuple(
            slice(None) if d == dim else slice(0, n) for d, n in enumerate(index_nd.shape)))
    out = apply(OPS["gather"], source, _leaf(index_nd), dim=dim)
    return reshape(out, index.shape) if index.ndim == 0 else out


def _scatter_parts(input: Tensor, dim, index, src, name: str) -> tuple:
    """Checks shared by the scatter family; returns the wrapped dim, the NumPy index of the
    written positions and the part of ``src`` that is written (shaped like ``index``).

    An index past the end is left to the op (NumPy raises IndexError there; the callers'
    ``_past_the_end`` turns it into PyTorch's error): only negative ones, which NumPy would
    wrap, are looked for here (one reduction instead of _check_bounds's view and reduction)."""
    index, dim = _gather_index(input, dim, index, name)
    data = input._data
    shape = data.shape or (1,)  # (the arrays' shapes: Tensor.shape makes a Size)
    tensor = isinstance(src, Tensor)
    key = (shape, index.shape, src._data.shape if tensor else None, dim)
    if key not in _SCATTER_SHAPES:  # the shapes' checks run once per combination
        index_nd = index if index.ndim else index.reshape(1)
        src_shape = (src._data.shape if tensor and src._data.ndim else None) or index_nd.shape
        for d, n in enumerate(index_nd.shape):
            if (d != dim and n > shape[d]) or n > src_shape[d]:
                raise ShapeError(f"{name}(): Expected index {list(index.shape)} to be no "
                                 f"larger than self {list(input.shape)} apart from dimension "
                                 f"{dim} and to be no larger size than src {list(src_shape)}")
        if len(_SCATTER_SHAPES) >= 1024:  # (bounded: programs with ever new shapes)
            _SCATTER_SHAPES.clear()
        _SCATTER_SHAPES.add(key)
    if index.size and _smallest(index) < 0:
        _check_bounds(index, shape[dim], dim, name)
    index_nd = index if index.ndim else index.reshape(1)
    if tensor:
        if src._data.dtype != data.dtype:
            _same_dtype(name, input, src)
        if not src._data.ndim:
            src = reshape(src, (1,))
        if src._data.shape != index_nd.shape:
            src = apply(_GETITEM, src, index=tuple(slice(0, n) for n in index_nd.shape))
    else:  # (a number checked as fill_'s: uint8 takes -4 as 252)
        src = _number_as(src, data.dtype)
    return dim, _along(index_nd, dim), src


_SCATTER_SHAPES: set = set()  # (input, index, src shapes, dim) whose sizes were checked


@tensor_method
def scatter(input, dim: int, index, src=None, *, value=None, reduce: str | None = None):
    """Write ``src`` (a tensor, or a number ``value``) into a copy of ``input`` at the
    positions ``index`` names along ``dim``: ``out[i][index[i][j]] = src[i][j]``.

    Args:
        input: the tensor written into (unchanged; see ``scatter_`` for in place).
        dim: the dim ``index`` addresses.
        index: integers in ``[0, input.size(dim))`` with the input's rank, no larger than
            ``src`` in any dim nor than ``input`` outside ``dim``.
        src: a tensor of the input's dtype, or a number.
        value: a number (PyTorch's keyword form).
        reduce: ``"add"`` or ``"multiply"`` to combine instead of overwrite.

    Returns:
        The written copy. A position named twice gets the last write.
    """
    input = tensor_input(input)
    if src is None:
        if value is None:
            raise TypeError("scatter() needs src or value")
        src = value
    if reduce is not None:
        if isinstance(src, Tensor):  # (PyTorch: once a process, for a tensor src only)
            warn_once("scatter_reduce_arg", "The reduce argument of torch.scatter with Tensor "
                      "src is deprecated and will be removed in a future PyTorch release. Use "
                      "torch.scatter_reduce instead for more reduction options.")
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise ShapeError(f"scatter(): reduce argument must be either add or multiply, got "
                             f"{reduce!r}")
        if not isinstance(src, Tensor):  # a value: one per index position
            shape = np.shape(index._data if isinstance(index, Tensor) else index)
            src = _number_as(src, input._data.dtype, shape)
        return scatter_reduce(input, dim, index, src, modes[reduce])
    name = "ScatterBackward0" if isinstance(src, Tensor) else "ScatterBackward1"
    dim, along, src = _scatter_parts(input, dim, index, src, "scatter")
    base = _as_nd(input)
    try:
        out = apply(_INDEX_PUT, base, src, index=along)
    except IndexError:
        _past_the_end("scatter", along, dim, base._data.shape[dim])
        raise
    # (PyTorch's names: ScatterBackward1 for its value overload)
    return rename_node(_reshaped_like(out, input), name)


@tensor_method
def scatter_add(input, dim: int, index, src) -> Tensor:
    """``scatter`` that adds: ``out[i][index[i][j]] += src[i][j]`` (repeats accumulate)."""
    input = tensor_input(input)
    dim, along, src = _scatter_parts(input, dim, index, tensor_input(src), "scatter_add")
    base = _as_nd(input)
    shape = base._data.shape
    try:
        out = _plus_scattered(base, src, along)
    except IndexError:
        _past_the_end("scatter_add", along, dim, shape[dim])
        raise
    return _named(_reshaped_like(out, input), "ScatterAddBackward0")


def _plus_scattered(base: Tensor, src: Tensor, index, alpha=1) -> Tensor:
    """``base`` with ``alpha * src`` added at ``index`` (repeats accumulate), as PyTorch's
    in-place accumulation, zeros' signs too: a zero sum is -0.0 where base's and every value
    added there are -0.0 (``base + zeros with src added`` made them +0.0; the result's are
    set back, its graph unchanged)."""
    added = apply(_INDEX_ADD_ZEROS, src, index=index, shape=base.shape,
                  dtype=base._data.dtype)
    out = base + (added if alpha == 1 else added * alpha)
    data = base._data
    if data.dtype.kind == "f" and out._data.dtype == data.dtype:
        negative_zero = (data == 0) & np.signbit(data)
        if negative_zero.any():  # (rare: the common call pays two passes over base)
            values = src._data * alpha if alpha != 1 else src._data
            others = np.zeros(data.shape, dtype=np.int64)  # values added that are not -0.0
            np.add.at(others, index, ~((values == 0) & np.signbit(values)))
            out._data[negative_zero & (others == 0)] = -0.0
    return out


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")
_REDUCE_ALIASES = {"max": "amax", "min": "amin"}


@tensor_method
def scatter_reduce(input, dim: int, index, src, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Reduce ``src`` into a copy of ``input`` at the positions ``index`` names along ``dim``.

    Args:
        input, dim, index, src: as ``scatter`` (``src`` a tensor).
        reduce: ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``.
        include_self: whether ``input``'s own values at written positions take part.

    Returns: the reduced copy. Gradients follow PyTorch's rules (ties in amax/amin share
        evenly; integer means round down).
    """
    input = tensor_input(input)
    reduce = _REDUCE_ALIASES.get(reduce, reduce)  # PyTorch's unlisted aliases
    if reduce not in _REDUCTIONS:
        raise ShapeError(f"scatter_reduce(): reduce argument must be either sum, prod, mean, "
                         f"amax or amin, got {reduce!r}")
    dim, along, src = _scatter_parts(input, dim, index, tensor_input(src), "scatter_reduce")
    op = _SCATTER_SUM if reduce in ("sum", "mean") else _SCATTER_REDUCE
    # (a 0-d input: a copy, not a view, which scatter_reduce_'s write made stale for backward)
    base = input if input._data.ndim else reshape(input.clone(), (1,))
    try:
        out = apply(op, base, src, index=along, reduce=reduce, include_self=bool(include_self))
    except IndexError:
        _past_the_end("scatter_reduce", along, dim, base._data.shape[dim])
        raise
    return _named(out if input._data.ndim else reshape(out, ()), "ScatterReduceBackward0")


def _named(out: Tensor, name: str) -> Tensor:
    """``out`` with its node named as PyTorch's one node of the function (``grad_fn`` prints
    it: ``tensor(..., grad_fn=<IndexAddBackward0>)``). Where the function is two nodes here
    (a scatter of zeros, then an add), the last takes the name; its inputs stay the two."""
    return rename_node(out, name) if out._op is not None else out


# --------------------------------------------------------------------------------------------
# index_*: a 1-d list of positions along one dim, whole slices at each.


# The index dtypes of PyTorch's index_* kernels and its error for another (NumPy takes any).
_INT = ("int64", "int32")
_INT_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))
_DIM_INDEX_DTYPES = {"index_select": (_INT, RuntimeError), "index_add": (_INT, RuntimeError),
                     "index_reduce": (_INT, RuntimeError), "index_copy": (_INT[:1], RuntimeError),
                     "index_fill": (_INT[:1], IndexError)}


def _dim_index(input: Tensor, dim, index, name: str, *, negative: bool,
               range_error=ShapeError, rank_error=ShapeError) -> tuple:
    """The NumPy index of whole slices at positions ``index`` (0-d or 1-d) along ``dim``.
    PyTorch's index_* functions differ in whether negative positions wrap and in which error
    types they raise; the callers say so."""
    shape = index.shape if isinstance(index, Tensor) else np.shape(index)
    if len(shape) > 1 and name != "index_fill":  # (PyTorch: the rank before the dtype)
        raise rank_error(f"{name}(): Index is supposed to be a vector, got shape {list(shape)}")
    index = _int_index(index, name)
    dtypes, dtype_error = _DIM_INDEX_DTYPES.get(name, (None, None))
    # (dtype == name, not dtype.name, a 2.3 us Python property: on OpInfo's samples
    # index_select fwd 0.70-0.78 of its time, fwd + bwd 0.84-0.87, index_add fwd + bwd
    # 0.70-0.87; alternated A/B in one process, thread time; s13 PS)
    if dtypes is not None and index.dtype not in dtypes:
        raise dtype_error(f"{name}(): Expected dtype {' or '.join(dtypes)} for index, got "
                          f"{index.dtype}")
    if index.ndim > 1:
        raise rank_error(f"{name}(): Index is supposed to be a vector, got shape "
                         f"{list(index.shape)}")
    index = index.reshape(-1)
    dim = _wrap_dim(dim, input.ndim)
    size = input.shape[dim] if input.ndim else 1
    low = -size if negative else 0
    # (index.min() / max() dispatch in Python: with _extremes, index_select's fwd + bwd on
    # [4, 3] 0.835 of its time, 0.63 -> 0.54 x PyTorch; paired, thread time)
    least, greatest = _extremes(index) if index.size else (0, -1)
    if least < low or greatest >= size:
        bad = least if least < low else greatest
        # (PyTorch's index_select along the first dim says "index out of range in self",
        # which test suites match: its words first)
        said = "index out of range in self: " if range_error is IndexError \
            and name in ("index_select", "index_add") else ""  # (index_add: s28 BR18)
        if name == "index_select" and not said:  # (its dim-1 kernel's words; s29 BR19)
            said = f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}: "
        if name == "index_add" and not said:  # (PyTorch's words first; s28 BR18)
            raise range_error(f"index {bad} is out of bounds for dimension {dim} with size "
                              f"{size} ({name})")
        raise range_error(f"{said}{name}(): index {bad} is out of bounds for dimension {dim} "
                          f"with size {size}")
    # No negative position: the node keeps the caller's array (its version checked, PyTorch's)
    return dim, (slice(None),) * dim + (index if least >= 0 else index % builtins.max(size, 1),)


@tensor_method
@numpy_names
def index_select(input, dim: int, index, *, out=None) -> Tensor:
    """The slices of ``input`` at positions ``index`` (0-d or 1-d integers) along ``dim``
    (``out=``: SSD-style NMS loops reuse their buffers, s31 PR26)."""
    input = tensor_input(input)
    # The common call (a 1-d int64 / int32 index tensor in range, an int dim) checked on the
    # arrays, without the general parsing: [5, 5] along -1 under grad 10.1 -> 5.4 us (s21 SP6),
    # its node by ndarray.take (direct_nodes.taken; s23 SP10). Anything else (every error)
    # the general path. The node keeps the caller's index array (changed in place: raises).
    positions = index._data if type(index) is Tensor else None
    data = input._data
    if (positions is not None and positions.ndim == 1 and type(dim) is int and data.ndim
            and -data.ndim <= dim < data.ndim and type(data) is np.ndarray
            and positions.dtype in _INT_DTYPES):
        dim %= data.ndim
        least, greatest = _extremes(positions) if positions.size else (0, -1)
        if 0 <= least and greatest < data.shape[dim]:  # (else the general path's error)
            where = {"index": (slice(None),) * dim + (positions,)}
            return written_apart("index_select", out, taken(
                _GETITEM, input, positions, dim, where, "IndexSelectBackward0"), input, index)
    # PyTorch: a position out of range is a RuntimeError along dim 1 of a 2-d+ input (its
    # kernel for that dim), else an IndexError (s29 BR19: was a RuntimeError past dim 0).
    second = input.ndim > 1 and _wrap_dim(dim, input.ndim) == 1
    if not input.ndim and np.size(index._data if isinstance(index, Tensor) else index) > 1:
        raise ShapeError(f"index_select(): Index to scalar can have only 1 value, got "
                         f"{np.size(index._data if isinstance(index, Tensor) else index)} "
                         f"value(s)")
    dim, where = _dim_index(input, dim, index, "index_select", negative=False,
                             range_error=ShapeError if second else IndexError,
                             rank_error=IndexError)
    result = _reshaped_like(apply(_GETITEM, _as_nd(input), index=where), input)
    return written_apart("index_select", out, rename_node(result, "IndexSelectBackward0"),
                         input, index)  # (one node: PyTorch's name)


def _check_source(name: str, input: Tensor, source: Tensor, dim: int, count: int) -> None:
    want = list(input.shape)
    if want:
        want[dim] = count
    if list(source.shape) != want and not (source.ndim == 0 and count == 1 and not want):
        raise ShapeError(f"{name}(): source tensor shape must match self tensor shape, "
                         f"excluding the specified dimension. Got self.shape = "
                         f"{list(input.shape)} source.shape = {list(source.shape)}")


@tensor_method
def index_add(input, dim: int, index, source, *, alpha=1) -> Tensor:
    """Add ``alpha * source`` into a copy of ``input`` at positions ``index`` along ``dim``
    (repeated positions accumulate)."""
    input, source = tensor_input(input), tensor_input(source)
    if not input.ndim:  # (PyTorch: the source's shape first)
        _check_source("index_add", input, source, 0, int(np.size(
            index._data if isinstance(index, Tensor) else index)))
    # PyTorch: "index out of range in self", an IndexError, for a 0-d / 1-d self (s28 BR18),
    # an int32 index, an alpha other than 1 or a dim between the first and the last; a
    # RuntimeError else (its scatter-add kernel; s29 BR19)
    ends = input.ndim > 1 and _wrap_dim(dim, input.ndim) in (0, input.ndim - 1) and not (
        isinstance(index, Tensor) and index._data.dtype == np.int32) and alpha == 1
    dim, where = _dim_index(input, dim, index, "index_add", negative=False, rank_error=IndexError,
                             range_error=ShapeError if ends else IndexError)
    _check_source("index_add", input, source, dim, len(where[-1]))
    _same_dtype("index_add", input, source)
    base = _as_nd(input)
    if base._data.dtype.kind in "biu":  # PyTorch truncates alpha (0.5 adds 0); bool's a bool
        alpha = bool(alpha) if base._data.dtype.kind == "b" else int(alpha)
    return _named(_reshaped_like(_plus_scattered(base, _as_nd(source), where, alpha), input),
                  "IndexAddBackward0")


@tensor_method
def index_copy(input, dim: int, index, source) -> Tensor:
    """Copy ``source``'s slices into a copy of ``input`` at positions ``index`` along ``dim``."""
    input, source = tensor_input(input), tensor_input(source)
    dim, where = _dim_index(input, dim, index, "index_copy", negative=False,
                             range_error=IndexError, rank_error=IndexError)
    count = len(where[-1])
    if input.ndim and source.ndim == input.ndim and source.shape[dim] != count:
        # (PyTorch: an IndexError for this one mismatch, a RuntimeError for the others)
        raise IndexError(f"index_copy(): Number of indices ({count}) should be equal to "
                         f"source.size(dim) ({source.shape[dim]})")
    _check_source("index_copy", input, source, dim, count)
    _same_dtype("index_copy", input, source)
    out = apply(_INDEX_PUT, _as_nd(input), _as_nd(source), index=where)
    return _named(_reshaped_like(out, input), "IndexCopyBackward0")


@tensor_method
def index_fill(input, dim: int, index, value) -> Tensor:
    """Fill the slices at positions ``index`` along ``dim`` with ``value`` (a number or a 0-d
    tensor, which then gets their gradient)."""
    input = tensor_input(input)
    dim, where = _dim_index(input, dim, index, "index_fill", negative=True,
                             range_error=IndexError)
    if isinstance(value, Tensor):
        if value.ndim:
            raise ShapeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                             f"tensor with {value.ndim} dimension(s).")
        value = value if value.dtype == input.dtype else value.to(input.dtype)
        # A repeated position is filled once: the value's gradient sums each filled slice once
        # (PyTorch's rule), not once per mention as index_put's would.
        where = where[:-1] + (np.unique(where[-1]),)
    else:  # (checked as fill_: uint8 takes -4 as 252, -256 raises RuntimeError)
        value = _number_as(value, input._data.dtype)
    out = apply(_INDEX_PUT, _as_nd(input), value, index=where)
    return _named(_reshaped_like(out, input), "IndexFillBackward0")


@tensor_method
def index_reduce(input, dim: int, index, source, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """Reduce ``source``'s slices into a copy of ``input`` at positions ``index`` along
    ``dim`` (``"prod"``, ``"mean"``, ``"amax"``, ``"amin"``)."""
    input, source = tensor_input(input), tensor_input(source)
    warn_once("index_reduce_beta", "index_reduce() is in beta and the API may change at any "
              "time.")  # (PyTorch's, once a process)
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ShapeError(f"index_reduce(): reduce must be prod, mean, amax or amin, got {reduce!r}")
    if not input.ndim:  # (PyTorch: the source's shape first, s29 BR19)
        _check_source("index_reduce", input, source, 0, int(np.size(
            index._data if isinstance(index, Tensor) else index)))
    dim, where = _dim_index(input, dim, index, "index_reduce", negative=False,
                             range_error=IndexError, rank_error=IndexError)
    _check_source("index_reduce", input, source, dim, len(where[-1]))
    _same_dtype("index_reduce", input, source)
    if input.ndim == 0:  # (a 0-d input is one slice along dim 0: reduced as shape [1])
        out = index_reduce(reshape(input, 1), 0, index, reshape(source, -1), reduce,
                           include_self=include_self)
        return reshape(out, ())
    # The same reduction as scatter_reduce with the index spread over the source's shape.
    spread = np.expand_dims(where[-1], tuple(d for d in range(source.ndim) if d != dim))
    positions = _along(np.broadcast_to(spread, source.shape), dim)
    op = _SCATTER_SUM if reduce == "mean" else _SCATTER_REDUCE
    return _named(apply(op, input, source, index=positions, reduce=reduce,
                        include_self=bool(include_self)), "IndexReduceBackward0")


def _tensor_indices(input: Tensor, indices, name: str) -> tuple:
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{name}(): indices must be a tuple of tensors")
    out, masks = [], []
    shape = input._data.shape
    for item in indices:
        array = item._data if isinstance(item, Tensor) else np.asarray(item)
        if array.dtype == np.bool_ and not array.ndim:  # (NumPy's ValueError leaked, s29 BR19)
            if not input._data.ndim:
                raise IndexError(f"{name}(): too many indices for tensor of dimension 0")
            raise RuntimeError(f"{name}(): a 0-d boolean index is supported only alone with a "
                               "one-element value (PyTorch's kernel fails an assert otherwise)")
        if array.dtype == np.bool_ or (array.dtype == np.uint8 and array.ndim):
            masks.append((len(out), array.shape))  # (checked below; uint8: old masks)
            out.extend(np.nonzero(array))
        elif array.dtype.kind in "iu" and (array.dtype in ("int64", "int32")  # (not .name, 2.3 us)
                                           or not isinstance(item, Tensor)):
            out.append(array)
        else:
            raise IndexError(f"{name}(): tensors used as indices must be long, int, byte or "
                             f"bool tensors, got {array.dtype}")
    if len(out) > input.ndim:
        raise IndexError(f"{name}(): too many indices for tensor of dimension {input.ndim} "
                         f"(got {len(out)})")
    if masks:  # (NumPy's nonzero would index quietly with a mask shorter than its dims)
        check_masks(out, masks, shape)
    for d, array in enumerate(out):
        size = shape[d]
        # (the ufuncs' reductions: the array methods dispatch in Python, 1.5 against 0.6 us;
        # small arrays through a list, _extremes)
        if array.size:
            low, high = _extremes(array)
            if low < -size or high >= size:
                raise IndexError(f"{name}(): index out of range for dimension {d} with size "
                                 f"{size}")
    return tuple(out)


def _indexed_shape(data: np.ndarray, index: tuple) -> tuple:
    """``data[index].shape`` for index arrays on the leading dims, without the indexing when
    they share one shape (the result's leading dims), as they usually do."""
    first = index[0].shape if index else None
    for array in index:
        if array.shape != first:
            return data[index].shape
    return data.shape if first is None else first + data.shape[len(index):]


@tensor_method
def index_put(input, indices, values, accumulate: bool = False) -> Tensor:
    """``out = input.clone(); out[indices] = values`` (``+=`` when ``accumulate``, where
    repeated positions then add up).

    Args:
        input: the tensor written into (unchanged).
        indices: a tuple of integer or boolean tensors, one per leading dim.
        values: a tensor of the input's dtype broadcastable to ``input[indices]``.
        accumulate: add instead of overwrite.

    Returns:
        The written copy.
    """
    input, values = tensor_input(input), tensor_arg(values, "values", "index_put_")
    indices, values = masked_fill_form(input, indices, values, accumulate)
    index = _tensor_indices(input, indices, "index_put")
    target = _indexed_shape(input._data, index)  # (first: indices that do not broadcast)
    if values._data.dtype != input._data.dtype:
        raise ShapeError(f"Index put requires the source and destination dtypes match, got "
                         f"{input.dtype} for the destination and {values.dtype} for the source")
    if values.ndim > len(target):
        values = reshape(values, values.shape[values.ndim - len(target):]) \
            if all(n == 1 for n in values.shape[:values.ndim - len(target)]) else values
    values = expand(values, target) if values.shape != target else values
    if accumulate:
        return _named(_plus_scattered(input, values, index), "IndexPutBackward0")
    return apply(_INDEX_PUT, input, values, index=index)


# --------------------------------------------------------------------------------------------
# put (at flat positions); the scatters into a view (slice_scatter, select_scatter,
# diagonal_scatter) are view_scatters.py's, re-exported here.


@tensor_method
def put(input, index, source, accumulate: bool = False) -> Tensor:
    """``input`` with ``source``'s values written at flat (row-major) positions ``index``
    (negative counts from the end; where one repeats, the last write wins, or with
    ``accumulate`` the values add up).

    Args:
        input: any tensor.
        index: an int64 tensor (any shape).
        source: a tensor of input's dtype with as many elements as ``index``.
        accumulate: add instead of overwriting.

    Returns:
        A new tensor of input's shape (``put_`` writes into the input).
    """
    input = tensor_input(input)
    positions = tensor_arg(index, "index", "put")._data
    tensor_arg(source, "source", "put")
    if positions.dtype != np.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{_TORCH_DTYPE.get(positions.dtype.str[1:], positions.dtype)}")
    source = tensor_input(source)
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_TORCH_DTYPE.get(input._data.dtype.str[1:])} and "
                           f"source.dtype = {_TORCH_DTYPE.get(source._data.dtype.str[1:])}")
    if source._data.size != positions.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source._data.size}, "
                         f"index.numel() = {positions.size}")
    n = input._data.size
    if positions.size and (positions.min() < -n or positions.max() >= n):
        bad = positions.min() if positions.min() < -n else positions.max()
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    flat, values = reshape(input, -1), reshape(source, -1)
    where = (positions.reshape(-1),)
    if accumulate:
        return _named(reshape(_plus_scattered(flat, values, where), input.shape),
                      "PutBackward0")
    return _named(reshape(apply(_INDEX_PUT, flat, values, index=where), input.shape),
                  "PutBackward0")


_TORCH_DTYPE = {"b1": "Bool", "u1": "Byte", "i1": "Char", "i2": "Short", "i4": "Int",
                "i8": "Long", "f2": "Half", "f4": "Float", "f8": "Double"}


# --------------------------------------------------------------------------------------------
# take, masks, nonzero.


@tensor_method
def take(input, index, *, out=None) -> Tensor:
    """Elements of the flattened input at ``index`` (negative counts from the end); the
    result has ``index``'s shape."""
    input = tensor_input(input)
    given = tensor_arg(index, "index", "take")._data.dtype
    index = _int_index(index, "take")
    if given != np.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {index.dtype}")
    n = input.numel()
    if index.size and (index.min() < -n or index.max() >= n):
        bad = index.min() if index.min() < -n else index.max()
        raise IndexError(f"take(): out of range: tried to access index {bad} on a tensor of "
                         f"{n} elements.")
    return written_apart("take", out, _named(apply(_GETITEM, reshape(input, -1), index=(index,)),
                                             "TakeBackward0"), input, index)


@tensor_method
def take_along_dim(input, indices, dim=None) -> Tensor:
    """``gather`` with broadcasting: ``indices`` and ``input`` broadcast in every dim but
    ``dim``; with ``dim=None`` both are flattened first."""
    input = tensor_input(input)
    if dim is not None:
        dim = int_arg(dim, "dim", "take_along_dim")
    given = tensor_arg(indices, "indices", "take_along_dim")._data
    if given.dtype != np.int64 and dim is not None:  # (PyTorch: int64 only along a dim)
        raise RuntimeError(f"take_along_dim(): dtype of indices should be int64, got "
                           f"{given.dtype}")
    if dim is None:
        if given.size and given.dtype not in (np.int32, np.int64):
            raise RuntimeError(f"gather(): Expected dtype int32/int64 for index, got "
                               f"{given.dtype}")
        # (an empty index of any dtype selects nothing, as PyTorch's)
        indices = given if given.size else given.astype(np.int64)
        if not (input.is_contiguous() and indices.flags.c_contiguous):
            # (PyTorch flattens both with view(-1), which refuses non-contiguous strides)
            raise RuntimeError("take_along_dim(): view size is not compatible with input "
                               "tensor's size and stride (at least one dimension spans across "
                               "two contiguous subspaces). Use .reshape(...) instead.")
        return gather(reshape(input, -1), 0, indices.reshape(-1))
    indices = _int_index(given, "take_along_dim").copy()  # (PyTorch keeps a copy: no check)
    if indices.ndim != input.ndim:
        raise ShapeError(f"take_along_dim(): input and indices should have the same number of "
                         f"dimensions, but got {input.ndim} dimensions for input, and "
                         f"{indices.ndim} dimensions for indices")
    dim = _wrap_dim(dim, input.ndim)
    try:
        rest = np.broadcast_shapes(input.shape[:dim] + input.shape[dim + 1:],
                                   indices.shape[:dim] + indices.shape[dim + 1:])
    except ValueError:
        raise ShapeError(f"take_along_dim(): shapes {input.shape} and {indices.shape} do not "
                         f"broadcast outside dim {dim}") from None
    input = expand(input, rest[:dim] + (input.shape[dim],) + rest[dim:])
    indices = np.broadcast_to(indices, rest[:dim] + (indices.shape[dim],) + rest[dim:])
    size = input.shape[dim]
    least, greatest = _extremes(indices) if indices.size and size else (0, 0)
    if least < 0 or greatest >= size:
        # NOTE: PyTorch takes positions along a dim modulo its size (-1 is the last, and so is
        # size - 1 + size: no range error), unlike gather and the flattened form.
        indices = indices % size
    return gather(input, dim, indices)


def _bool_mask(mask, name: str) -> np.ndarray:
    mask = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ShapeError(f"{name}: expected BoolTensor for mask, got {mask.dtype}")
    return mask


@tensor_method
def masked_select(input, mask, *, out=None) -> Tensor:
    """The elements where ``mask`` (boolean, broadcast with the input) is true, as a 1-d
    tensor in row-major order."""
    input = tensor_input(input)
    if MAPPED and getattr(mask, "_mapped", False) and by_user(1):  # (vmap: a mapped mask)
        raise RuntimeError("vmap: Attempted to vmap over `mask` in torch.masked_select(self, "
                           "mask) We cannot support this because for each batch this would "
                           "return a differently shaped Tensor. Please file an issue at "
                           "https://github.com/pytorch/pytorch/issues if you need this feature.")
    mask = _bool_mask(tensor_arg(mask, "mask", "masked_select"), "masked_select")
    try:
        shape = np.broadcast_shapes(input.shape, mask.shape) or (1,)  # (0-d: one element)
    except ValueError:
        raise ShapeError(f"masked_select: mask of shape {mask.shape} does not broadcast with "
                         f"input of shape {input.shape}") from None
    result = apply(_GETITEM, expand(input, shape), index=(np.broadcast_to(mask, shape),))
    return written_apart("masked_select", out, rename_node(result, "MaskedSelectBackward0"),
                         input, mask)  # (PyTorch's name)


@tensor_method
def masked_scatter(input, mask, source) -> Tensor:
    """Copy ``source``'s elements, in order, into a copy of ``input`` where ``mask`` (boolean,
    broadcast to the input's shape) is true."""
    input = tensor_input(input)
    source = tensor_arg(source, "source", "masked_scatter")
    mask = _bool_mask(tensor_arg(mask, "mask", "masked_scatter"), "masked_scatter")
    try:
        # (the input broadcasts too: the result has the shape of both; in place, the shape
        # check of api/inplace.py refuses a mask that would grow ``self``)
        shape = np.broadcast_shapes(input.shape, mask.shape)
    except ValueError:
        raise ShapeError(f"masked_scatter: mask of shape {mask.shape} does not broadcast with "
                         f"input of shape {input.shape}") from None
    if shape != input.shape:
        input = expand(input, shape)
    base = _as_nd(input)
    # The mask itself (and in masked_select): its version is checked at backward, as PyTorch's.
    positions = (np.broadcast_to(mask, shape).reshape(base.shape),)
    _same_dtype("masked_scatter", input, source)
    count = int(np.count_nonzero(positions[0]))
    if count > source.numel():
        raise ShapeError("masked_scatter: Number of elements of source < number of ones in mask")
    values = apply(_GETITEM, reshape(source, -1), index=(slice(0, count),))
    out = apply(_INDEX_PUT, base, values, index=positions)
    return _named(_reshaped_like(out, input), "MaskedScatterBackward0")


@tensor_method
def nonzero(input, *, as_tuple: bool = False):
    """Indices of the non-zero elements: (count, ndim) int64, or with ``as_tuple`` one 1-d
    tensor per dim (a 0-d input counts as 1-d there)."""
    input = tensor_input(input)
    if MAPPED and getattr(input, "_mapped", False) and by_user(1):  # (vmap: dynamic shape)
        if as_tuple:
            raise RuntimeError("Batching rule not implemented for aten::nonzero_numpy. We "
                               "could not generate a fallback.")
        refuse_mapped("nonzero", input)
    data = input._data
    if as_tuple:
        return tuple(_leaf(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(data)))
    if data.ndim == 0:
        return _leaf(np.zeros((int(data != 0), 0), dtype=np.int64))
    return _leaf(np.array(data.nonzero()).T.astype(np.int64))  # (argwhere's: 5.2 -> 3.6 us)



@tensor_method
def argwhere(input) -> Tensor:
    """Indices of the non-zero elements, (count, ndim) int64."""
    return nonzero(tensor_input(input))


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: ``out[..., k] = 1`` where ``tensor[...] == k``.

    Args:
        tensor: non-negative int64 class indices of any shape.
        num_classes: the number of classes; -1 takes the largest index + 1.

    Returns:
        An int64 tensor of shape ``tensor.shape + (num_classes,)``.
    """
    data = tensor_arg(tensor, "input", "one_hot")._data
    num_classes = int_arg(num_classes, "num_classes", "one_hot")
    if data.dtype != np.int64:
        raise ShapeError("one_hot is only applicable to index tensor of type LongTensor.")
    if data.size and data.min() < 0:
        raise ShapeError("Class values must be non-negative.")
    if num_classes == -1:
        if data.size == 0:
            raise ShapeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(data.max()) + 1
    num_classes = int(num_classes)
    if data.size and data.max() >= num_classes:
        raise ShapeError("Class values must be smaller than num_classes.")
    # (order "C": PyTorch's result is contiguous whatever the input's strides)
    return _leaf((data[..., None] == np.arange(num_classes)).astype(np.int64, order="C"))
