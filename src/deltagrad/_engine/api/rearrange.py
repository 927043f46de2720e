"""Rearranging functions: flip, roll, rot90, triangles, diagonals, repeat / tile, grids
(meshgrid, cartesian_prod, combinations) and triangle indices.

Each is composed of differentiable primitives (getitem, expand, reshape, where, the scatter
into zeros), so gradients come from theirs; repeat is one op of its own (ops/shape.py)."""

from __future__ import annotations

import builtins
import itertools
import numbers

import numpy as np

from .. import dtypes
from ..autograd import ShapeError
from ..errors import warn_at_caller
from ..node_names import rename_node
from ..ops import OPS
from ..tensor import Tensor, _leaf, apply, int64, tensor_method
from ._common import index_or_none, int_arg, later_bools_as_ints, tensor_input
from ._pointwise import input_tensor, torch_name, write_out
from .meta_device import meta_factories
from .shape import _permute as permute  # (the method's form: sizes one by one or a tuple)
from .shape import _reshape as reshape
from .shape import _wrap_dim, _wrap_dims, expand, method_bool_dim, movedim, stack

__all__ = ["cartesian_prod", "combinations", "diag", "diag_embed", "diagflat", "diagonal", "flip",
           "fliplr", "flipud", "meshgrid", "repeat_interleave", "roll", "rot90", "tile", "tril",
           "tril_indices", "triu", "triu_indices"]

_GETITEM = OPS["getitem"]
_INDEX_PUT = OPS["index_put"]
_DIAGONAL = OPS["diagonal"]
_WHERE = OPS["where"]
_REPEAT = OPS["repeat"]


def _t(x) -> Tensor:
    # (a list, tuple, ndarray or number: PyTorch's TypeError, naming the calling function)
    return x if type(x) is Tensor else tensor_input(x, 2)


def _int_list(dims, argument: str = "dims", where: str = "roll") -> tuple:
    """Ints (a float or a bool is PyTorch's TypeError, never truncated)."""
    if type(dims) is int:  # (the common call first)
        return (dims,)
    if isinstance(dims, Tensor) and dims._data.dtype == np.bool_ and dims._data.size == 1:
        return (int(dims._data.reshape(())),)  # (PyTorch takes a bool tensor as 0 or 1)
    if isinstance(dims, (numbers.Integral, Tensor)):
        return (int_arg(dims, argument, where, True),)
    return tuple(d if type(d) is int else int_arg(d, argument, where, True, True) for d in dims)


# --------------------------------------------------------------------------------------------
# Flips and rolls.


def _method_dims(name: str, args: tuple, dims) -> tuple:
    """The dims of the methods that take them as arguments or one sequence (``x.flip(0, 1)``,
    ``x.tile((2, 1))``, ``dims=``): required, as in PyTorch."""
    if dims is not None:
        if args:
            raise TypeError(f"{name}() got multiple values for argument 'dims'")
        return dims
    if not args:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dims"')
    return args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args


def _sequence_arg(dims, name: str):
    if not isinstance(dims, (list, tuple)):  # (torch.Size is a tuple)
        raise TypeError(f"{name}(): argument 'dims' (position 2) must be tuple of ints, not "
                        f"{type(dims).__name__}")
    return dims


def flip(input, dims):
    """Reverse the order of elements along ``dims``.

    Args:
        input: any tensor.
        dims: the dims to reverse, a sequence (the method ``x.flip(0, 1)`` also takes them as
            arguments).

    Returns:
        A new tensor of the same shape.
    """
    input = _t(input)
    dims = _wrap_dims(_sequence_arg(dims, "flip"), input.ndim, "flip")
    if input.ndim == 0 or not dims:
        return rename_node(apply(OPS["clone"], input), "FlipBackward0")
    index = tuple(slice(None, None, -1) if d in dims else slice(None) for d in range(input.ndim))
    # A copy, as PyTorch's flip (a reversed slice would be a view: in-place changes to the
    # input would show through); its node is PyTorch's FlipBackward0.
    return rename_node(apply(OPS["clone"], apply(_GETITEM, input, index=index)), "FlipBackward0")


@tensor_method
def fliplr(input):
    """Reverse dim 1 (columns) of a tensor of at least 2 dims."""
    input = _t(input)
    if input.ndim < 2:
        raise ShapeError(f"fliplr: input must be >= 2-d, got {input.ndim}-d")
    return flip(input, (1,))


@tensor_method
def flipud(input):
    """Reverse dim 0 (rows) of a tensor of at least 1 dim."""
    input = _t(input)
    if input.ndim < 1:
        raise ShapeError("flipud: input must be >= 1-d, got 0-d")
    return flip(input, (0,))


@tensor_method
def roll(input, shifts, dims=None):
    """Shift elements circularly by ``shifts`` along ``dims`` (the flattened tensor when
    ``dims`` is None; then the shape is restored)."""
    input = _t(input)
    shifts = _int_list(shifts, "shifts")
    if dims is None or (isinstance(dims, (list, tuple)) and not dims):  # (ATen's default: [])
        if len(shifts) != 1:
            raise ShapeError(f"roll: with dims=None, shifts must hold one value, got {shifts}")
        # (the reshape of an internal copy: no view, PyTorch's one RollBackward0 node)
        return rename_node(reshape(roll(reshape(input, -1), shifts, 0), input.shape),
                           "RollBackward0")
    dims = _int_list(dims)
    if len(shifts) != len(dims):
        raise ShapeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:"
                         f"{len(dims)} (roll)")  # (PyTorch's words)
    if input.ndim == 0:  # (NumPy-style wrapping would take dim 0 or -1 of a 0-d tensor)
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    if input._data.size == 0:  # PyTorch returns before reading the dims
        return rename_node(apply(OPS["clone"], input), "RollBackward0")
    out = input
    for shift, dim in zip(shifts, dims):
        dim = _wrap_dim(dim, input.ndim)
        size = input.shape[dim] if input.ndim else 1
        if size == 0 or input.ndim == 0:
            continue
        # The element at i moves to (i + shift) % size: read from (i - shift) % size.
        source = (np.arange(size) - shift) % size
        out = apply(_GETITEM, out, index=(slice(None),) * dim + (source,))
    if out is input:
        out = apply(OPS["clone"], input)
    return rename_node(out, "RollBackward0")  # (one node in PyTorch, whatever the dims)


@tensor_method
def rot90(input, k: int = 1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards
    the second."""
    input = _t(input)
    k = int_arg(k, "k", "rot90")
    dims = _int_list(dims, "dims", "rot90")
    if len(dims) != 2:
        raise ShapeError(f"rot90: expected total rotation dims == 2, got {len(dims)}")
    if input.ndim < 2:
        raise ShapeError(f"rot90: expected total dims >= 2, got {input.ndim}")
    d0, d1 = _wrap_dim(dims[0], input.ndim), _wrap_dim(dims[1], input.ndim)
    if d0 == d1:
        raise ShapeError(f"rot90: expected rotation dims to be different, got {d0} and {d1}")
    k %= 4
    if k == 1:
        out = flip(input, (d1,)).transpose(d0, d1)
    elif k == 2:
        out = flip(input, (d0, d1))
    elif k == 3:
        out = flip(input, (d0,)).transpose(d0, d1)
    else:
        out = apply(OPS["clone"], input)
    return rename_node(out, "Rot90Backward0")  # (PyTorch's node; s28 SL17)


# --------------------------------------------------------------------------------------------
# Triangles and diagonals.


# The masks of tril / triu met, by (rows, cols, diagonal, lower), with the where op applied
# directly (the public where's argument checks and promotion have nothing to do here: one
# tensor and a zero of its dtype): fwd + bwd on OpInfo's samples tril 1.13 -> 0.64 x PyTorch's
# time, triu 0.91 -> 0.66, with the where rule's `needs` (ops/elementwise.py); old and new
# code alternated in one process, 21 rounds, thread time, loaded machine (s16 SP).
_TRIANGLES: dict = {}


def _triangle(input, diagonal: int, lower: bool, name: str):
    input = input_tensor(input, name)
    shape = input._data.shape
    if len(shape) < 2:
        raise ShapeError(f"{name}: input tensor must have at least 2 dimensions")
    key = (shape[-2], shape[-1], diagonal, lower)
    keep = _TRIANGLES.get(key)
    if keep is None:
        rows, cols = key[:2]
        offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]  # j - i
        if len(_TRIANGLES) >= 256:  # (bounded: programs with ever new sizes)
            _TRIANGLES.clear()
        keep = _TRIANGLES[key] = offset <= diagonal if lower else offset >= diagonal
        keep.flags.writeable = False
    # (a fresh leaf each call: a cached one made under inference_mode would be an inference
    # tensor, refused by every later graph)
    out = apply(_WHERE, _leaf(keep), input, _leaf(np.zeros((), dtype=input._data.dtype)))
    if type(out._data) is np.ndarray and not out._data.flags.c_contiguous:
        # (PyTorch's triu / tril are row-major whatever the input's layout; NumPy's where
        # follows a permuted input's: a fresh result, its node reads only the mask)
        out._data = np.ascontiguousarray(out._data)
    return rename_node(out, "TrilBackward0" if lower else "TriuBackward0")  # (PyTorch's node)


@tensor_method
def tril(input, diagonal: int = 0):
    """The lower triangle of the last two dims (``j - i <= diagonal``); the rest zero."""
    return _triangle(input, int_arg(diagonal, "diagonal", "tril", True, True), True, "tril")


@tensor_method
def triu(input, diagonal: int = 0):
    """The upper triangle of the last two dims (``j - i >= diagonal``); the rest zero."""
    return _triangle(input, int_arg(diagonal, "diagonal", "triu", True, True), False, "triu")


def function_with_out(method, name: str):
    """``deltagrad.<name>(..., out=None)``: the Tensor method's result written into ``out`` (of
    the result's dtype exactly, as PyTorch's); the method itself takes no ``out=``, as
    PyTorch's ``Tensor.<name>``."""

    def function(*args, out=None, **kwargs):
        result = method(*args, **kwargs)
        return result if out is None else write_out(name, out, result, exact=True)

    function.__name__, function.__qualname__, function.__doc__ = name, name, method.__doc__
    function.__wrapped__ = method
    return function


tril = function_with_out(tril, "tril")
triu = function_with_out(triu, "triu")

def _diagonal_positions(rows: int, cols: int, offset: int):
    """Row and column indices of the ``offset`` diagonal of a rows x cols matrix."""
    if offset >= 0:
        n = builtins.max(0, builtins.min(rows, cols - offset))
        return np.arange(n), np.arange(n) + offset
    n = builtins.max(0, builtins.min(rows + offset, cols))
    return np.arange(n) - offset, np.arange(n)


@tensor_method
def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The ``offset`` diagonal of the matrices in dims ``dim1``, ``dim2``: those dims are
    removed and the diagonal becomes the last dim."""
    input = _t(input)
    offset = int_arg(offset, "offset", "diagonal")
    # (the array's ndim read once, not Tensor.ndim's property each time, and the permutation
    # built only where one is needed: fwd + bwd 0.87 of its time, alternated, s29 SP46)
    ndim = input._data.ndim
    d1, d2 = _wrap_dim(dim1, ndim), _wrap_dim(dim2, ndim)
    if ndim < 2:
        raise ShapeError(f"diagonal: expected a tensor of at least 2 dims, got {ndim}")
    if d1 == d2:
        raise ShapeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if d1 == ndim - 2 and d2 == ndim - 1:
        moved = input
    else:
        moved = permute(input, *[d for d in range(ndim) if d not in (d1, d2)], d1, d2)
    # A view, as PyTorch's: x.diagonal().fill_(0) changes x.
    return apply(_DIAGONAL, moved, offset=int(offset))


_diagonal = diagonal  # (diag's argument named `diagonal` hides the function)


@tensor_method
def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Matrices whose ``offset`` diagonal (in dims ``dim1``, ``dim2`` of the result) holds the
    last dim of ``input``; the result has one dim more."""
    input = _t(input)
    offset = int_arg(offset, "offset", "diag_embed")
    if input.ndim == 0:  # (PyTorch: the result has one dim, so dim1 = -2 is out of range)
        raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got "
                         f"{dim1 if dim1 not in (-1, 0) else dim2})")
    ndim = input.ndim + 1
    d1, d2 = _wrap_dim(dim1, ndim), _wrap_dim(dim2, ndim)
    if d1 == d2:
        raise ShapeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1]
    size = n + builtins.abs(int(offset))
    rows, cols = _diagonal_positions(size, size, int(offset))
    # Written into zeros, not added (a -0.0 on the diagonal stays -0.0, as PyTorch's), one
    # node named as PyTorch's (was ViewBackward0 for x.diag(); s28 SL17).
    zeros = _leaf(np.zeros(input.shape[:-1] + (size, size), dtype=input._data.dtype))
    out = apply(_INDEX_PUT, zeros, input, index=(Ellipsis, rows, cols))
    if (d1, d2) != (ndim - 2, ndim - 1):
        out = movedim(out, (-2, -1), (d1, d2))
        out = out if out.is_contiguous() else out.contiguous()  # (PyTorch's is row-major)
    return rename_node(out, "DiagEmbedBackward0")


@tensor_method
def diag(input, diagonal: int = 0):
    """A 1-d tensor's values on the ``diagonal`` of a square matrix, or a matrix's
    ``diagonal`` as a 1-d tensor."""
    input = _t(input)
    diagonal = int_arg(diagonal, "diagonal", "diag")
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:  # (a copy, as PyTorch's diag)
        rows, cols = _diagonal_positions(input.shape[0], input.shape[1], int(diagonal))
        return rename_node(apply(_GETITEM, input, index=(rows, cols)), "DiagonalBackward0_copy")
    raise ShapeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


diag = function_with_out(diag, "diag")


@tensor_method
def diagflat(input, offset: int = 0):
    """The flattened input on the ``offset`` diagonal of a square matrix."""
    return diag_embed(reshape(_t(input), -1), int_arg(offset, "offset", "diagflat"))


# --------------------------------------------------------------------------------------------
# Repeats.


@tensor_method
def repeat(input, *sizes, repeats=None):
    """Tile the tensor ``sizes[i]`` times along each dim (more sizes than dims add leading
    dims); ``repeats``: the sizes by keyword, as PyTorch's method takes them."""
    if repeats is not None:
        if sizes:
            raise TypeError("repeat() got multiple values for argument 'repeats'")
        sizes = (repeats,)
    input = _t(input)
    if not sizes:  # (x.repeat(()) is fine: the identity of a 0-d tensor)
        raise TypeError("repeat() missing 1 required positional arguments: \"repeats\"")
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = sizes[0]
    for n in sizes:  # (plain ints, the common call, skip int_arg)
        if type(n) is not int:
            # (ints or 0-d integer tensors: 2.5, True or a float tensor is PyTorch's TypeError)
            sizes = tuple(int_arg(n, "repeats", "repeat", one_element=True, symbolic=True)
                          for n in later_bools_as_ints(sizes))  # (a one-element tensor too)
            break
    else:
        sizes = tuple(sizes)  # (a list: the op's layout cache keys on it)
    if len(sizes) < input._data.ndim:
        raise ShapeError("Number of dimensions of repeat dims can not be smaller than number "
                         "of dimensions of tensor (repeat)")
    if sizes and min(sizes) < 0:
        raise ShapeError(f"repeat: repeats must be non-negative, got {list(sizes)}")
    # One node (ops/shape.py's "repeat"; new row-major memory always, as PyTorch's), where
    # reshape, expand and reshape made three: opinfo_overhead.py --ops repeat 1.00-1.18 ->
    # 0.63-0.74 x PyTorch (three runs each, alternated, load 13); fwd + backward() on six
    # shapes 0.34-0.57 x HEAD's time (alternated in one process, 21 rounds; s20 SP5).
    return apply(_REPEAT, input, repeats=sizes, input_shape=input._data.shape)


def tile(input, dims):
    """``repeat`` with ``dims`` padded with leading ones to the tensor's rank."""
    input = _t(input)
    dims = tuple(int_arg(n, "dims", "tile", True, True)
                 for n in later_bools_as_ints(_sequence_arg(dims, "tile")))
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


@tensor_method(name="tile")
def _tile_method(self, *args, dims=None):
    """``torch.tile(self, dims)``; the method also takes the dims as arguments (``x.tile(2)``)."""
    return tile(self, tuple(_method_dims("tile", args, dims)))


@tensor_method(name="flip")
def _flip_method(self, *args, dims=None):
    """``torch.flip(self, dims)``; the method also takes the dims as arguments (``x.flip(0)``)."""
    dims = _method_dims("flip", args, dims)
    # (the method reads a 0-d bool tensor as the dim it holds; torch.flip refuses it)
    dims = (dims,) if isinstance(dims, Tensor) else dims
    return flip(self, tuple(method_bool_dim(d) for d in dims))


def _repeat_counts_dtype(counts: np.ndarray) -> None:
    """PyTorch counts repeats in int32 or int64 tensors only (other dtypes: no kernel)."""
    if counts.dtype not in (np.int32, np.int64):
        raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                  f"'{torch_name(counts.dtype)}'")


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times (an int or a tensor of per-element counts) along
    ``dim`` (of the flattened tensor when None). ``repeat_interleave(counts)`` alone gives
    ``0, 1, ...`` each repeated by its count (the function only: the method needs
    ``repeats``, as PyTorch's)."""
    input = _t(input)
    if repeats is None:
        counts = input._data
        _repeat_counts_dtype(counts)
        if counts.ndim != 1:
            raise ShapeError("repeat_interleave only accept 1D vector as repeat")
        if np.any(counts < 0):
            raise ShapeError("repeats can not be negative")
        return _leaf(np.repeat(np.arange(len(counts), dtype=counts.dtype), counts))
    return _repeat_interleave(input, repeats, dim, output_size=output_size)


@tensor_method(name="repeat_interleave")
def _repeat_interleave(input, repeats, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times (an int or a tensor of per-element counts) along
    ``dim`` (of the flattened tensor when None)."""
    input = _t(input)
    if dim is not None:
        dim = int_arg(dim, "dim", "repeat_interleave")
    if isinstance(repeats, Tensor):
        _repeat_counts_dtype(repeats._data)
        counts = repeats._data
        if counts.ndim > 1:
            raise ShapeError("repeats must be 0-dim or 1-dim tensor")
    elif isinstance(repeats, numbers.Integral) and not isinstance(repeats, bool) or \
            index_or_none(repeats) is not None:  # (a SymInt in PyTorch: __index__ objects too)
        repeats = index_or_none(repeats)
        if repeats < 0:
            raise ShapeError("Repeats must be non-negative")
        counts = np.asarray(int(repeats))
    else:  # (PyTorch's parser: a Tensor or an int; a bool or a float is a TypeError)
        raise TypeError(f"repeat_interleave(): argument 'repeats' must be Tensor or int, not "
                        f"{type(repeats).__name__}")
    if dim is None:
        input, dim = reshape(input, -1), 0
    dim = _wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        input = reshape(input, 1)
    n = input.shape[dim]
    if counts.ndim == 1 and len(counts) not in (1, n):
        raise ShapeError(f"repeats must have the same size as input along dim, but got "
                         f"repeats.size(0) = {len(counts)} and input.size({dim}) = {n}")
    if np.any(counts < 0):
        raise ShapeError("repeat_interleave: repeats can not be negative")
    source = np.repeat(np.arange(n), counts.reshape(-1) if counts.size != 1
                       else int(counts.reshape(-1)[0]))
    if output_size is not None and len(source) != output_size:
        raise ShapeError(f"repeat_interleave: output_size {output_size} does not match the "
                         f"{len(source)} elements the repeats give")
    return apply(_GETITEM, input, index=(slice(None),) * dim + (source,))


# --------------------------------------------------------------------------------------------
# Grids and index sets.


_MESHGRID_WARNED = [False]


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-d tensors (0-d count as one element): with ``indexing="ij"``
    output ``k`` varies along dim ``k``; ``"xy"`` swaps the first two dims (Cartesian).
    No ``indexing`` means ``"ij"`` with PyTorch's once-per-process UserWarning."""
    if indexing is None:
        if not _MESHGRID_WARNED[0]:
            _MESHGRID_WARNED[0] = True
            warn_at_caller("torch.meshgrid: in an upcoming release, it will be required to "
                           "pass the indexing argument.")
        indexing = "ij"
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(x).__name__}")
    if not tensors:
        raise ShapeError("meshgrid expects a non-empty TensorList")
    if not isinstance(indexing, str):
        raise TypeError(f"meshgrid(): argument 'indexing' must be str, not "
                        f"{type(indexing).__name__}")
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    for x in tensors:
        if x.ndim > 1:
            raise ShapeError(f"meshgrid: expected 0D or 1D tensor in the tensor list but got "
                             f"a {x.ndim}-d tensor")
        if x.dtype != tensors[0].dtype:
            raise ShapeError("meshgrid expects all tensors to have the same dtype")
    vectors = [reshape(x, -1) for x in tensors]
    swap = indexing == "xy" and len(vectors) >= 2
    if swap:
        vectors[0], vectors[1] = vectors[1], vectors[0]
    shape = tuple(v.shape[0] for v in vectors)
    grids = []
    for k, v in enumerate(vectors):
        axes = [1] * len(vectors)
        axes[k] = shape[k]
        grids.append(expand(reshape(v, tuple(axes)), shape))
    if swap:  # the grids are already laid out "xy"; give them back in the inputs' order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors) -> Tensor:
    """All tuples of elements, one from each 1-d tensor, as rows (the tensor itself for one)."""
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"cartesian_prod(): expected Tensor as element {i} in argument 0, "
                            f"but got {type(x).__name__}")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for x in tensors:
        if x.ndim != 1:
            raise ShapeError(f"cartesian_prod: expect a 1D vector, but got shape {x.shape}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, -1) for g in grids], 1)


@tensor_method
def combinations(input, r: int = 2, with_replacement: bool = False):
    """The length-``r`` combinations of a 1-d tensor's elements, as rows (itertools order)."""
    input, r = _t(input), int_arg(r, "r", "combinations")
    if type(with_replacement) is not bool:
        raise TypeError(f"combinations(): argument 'with_replacement' (position 3) must be "
                        f"bool, not {type(with_replacement).__name__}")
    if input.ndim != 1:
        raise ShapeError(f"combinations: expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise ShapeError(f"combinations: expect a non-negative number, but got {r}")
    if r == 0:
        return _leaf(np.empty((0,), dtype=input._data.dtype))
    choose = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = np.array(list(choose(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return apply(_GETITEM, input, index=(rows,))


def _triangle_indices(row: int, col: int, offset: int, lower: bool, dtype, device):
    if device is not None and not str(device).startswith("cpu"):
        raise RuntimeError(f"deltagrad runs on the CPU only; got device {str(device)!r}")
    if row < 0 or col < 0:
        raise ShapeError(f"row and col must be non-negative, got {row} and {col}")
    rows, cols = np.nonzero(np.tri(row, col, offset, dtype=bool) if lower
                            else ~np.tri(row, col, offset - 1, dtype=bool))
    return _leaf(np.stack([rows, cols]).astype(np.dtype(dtype or int64)).reshape(2, -1))


def _strided_only(layout, where: str) -> None:
    if layout is not None and layout is not dtypes.strided:  # (PyTorch's class for sparse)
        raise NotImplementedError(f"{where}: only the strided (dense) layout is supported, "
                                  f"got {layout!r}")


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None, pin_memory: bool | None = False) -> Tensor:
    """Indices (2, N) of the lower triangle (``j - i <= offset``) of a row x col matrix, in
    row-major order. ``pin_memory`` (page-locking for GPU copies) means nothing on the CPU."""
    _strided_only(layout, "tril_indices")
    return _triangle_indices(int_arg(row, "row", "tril_indices"),
                             int_arg(col, "col", "tril_indices"),
                             int_arg(offset, "offset", "tril_indices"), True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None, pin_memory: bool | None = False) -> Tensor:
    """Indices (2, N) of the upper triangle (``j - i >= offset``) of a row x col matrix."""
    _strided_only(layout, "triu_indices")
    return _triangle_indices(int_arg(row, "row", "triu_indices"),
                             int_arg(col, "col", "triu_indices"),
                             int_arg(offset, "offset", "triu_indices"), False, dtype, device)



# The meta device (meta.py): the indices are meta tensors when asked for it.
meta_factories(globals(), computed=("tril_indices", "triu_indices"))
