"""Shape functions: views (reshape, permute, squeeze, expand, movedim, unfold, ...), joins (cat,
stack, hstack, ...) and splits (split, chunk, tensor_split, unbind, narrow, ...)."""

from __future__ import annotations

import builtins
import numbers
from collections.abc import Sequence

import numpy as np

from .. import dtypes
from ..autograd import ShapeError, _GradMode
from ..node_names import PermuteAttrs, SqueezeAttrs, TAttrs, TransposeAttrs, ViewAttrs, rename_node
from ..ops import OPS
from ..ops.shape import stack_row_major
from ..tensor import (
    Tensor,
    _leaf,
    _lift,
    _resolve_shape,
    _result,
    _shape_arg,
    apply,
    tensor_method,
)
from ._common import NOT_GIVEN as _NOT_GIVEN
from ._common import (
    NotATensorError,
    int_arg,
    later_bools_as_ints,
    list_item,
    numpy_names,
    tensor_arg,
    tensor_input,
)
from ._common import type_name as _type_name
from ._common import wrap_dim as _wrap_dim
from .broadcasting import broadcast_shapes  # (the mismatch message: s27 LE16)
from .conversion import is_dtype, view_dtype
from .shape_joins import (  # (moved out: session 27, FS1)
    _joins_channels_last,
    _overlap,
    _tensor_list,
    _write_joined,
)
from .shape_splits import (  # (the splits: a module of their own; re-exported here)
    _slice_along,
    chunk,
    dsplit,
    hsplit,
    narrow,
    select,
    split,
    tensor_split,
    unbind,
    vsplit,
)
from .sparse import SparseTensor

# (atleast_* / hstack / vstack / dstack / column_stack: stacking.py, on this module's cat)
__all__ = ["broadcast_shapes", "broadcast_tensors", "broadcast_to", "cat", "chunk", "concat",
           "concatenate", "dsplit", "flatten", "hsplit", "moveaxis", "movedim", "narrow",
           "permute", "ravel", "reshape", "select", "split", "squeeze", "stack", "swapaxes",
           "swapdims", "t", "tensor_split", "transpose", "unbind", "unflatten", "unsqueeze",
           "vsplit"]

_RESHAPE = OPS["reshape"]
_PERMUTE = OPS["permute"]
_GETITEM = OPS["getitem"]
_UNFOLD = OPS["unfold"]


def _t(x) -> Tensor:  # (lenient: aten_forms' arguments; the public inputs are tensor_input's)
    return x if type(x) is Tensor else _lift(x, None)


def _alias(input: Tensor) -> Tensor:
    """A new tensor viewing all of ``input``: what PyTorch's view functions return when they
    change nothing (``x.reshape(x.shape) is x`` is False there; returning ``input`` itself
    would let ``y.requires_grad_()``, ``y.grad`` or ``y.retain_grad()`` act on ``x``)."""
    data = input._data
    return _result(data.reshape(data.shape), _RESHAPE, (input,), {"shape": data.shape},
                   _GradMode.enabled and input._rg)


def _wrap_dims(dims, ndim: int, op: str) -> tuple:
    """Several dims, wrapped; a repeated dim raises as in PyTorch."""
    if type(dims) is int or dims is None or isinstance(dims, (numbers.Integral, Tensor)):
        dims = (dims,)  # (None: _wrap_dim's TypeError, PyTorch's type; squeeze(x, None))
    # (a bool after the first dim is its int, as PyTorch's int[] parser reads it; s27 BR16)
    wrapped = tuple(_wrap_dim(list_item(d), ndim) for d in later_bools_as_ints(tuple(dims)))
    if len(set(wrapped)) != len(wrapped):
        said = "permute(): duplicate dims are not allowed." if op == "permute" else \
            f"{op}: dim {list(dims)} has a repeated dim"
        raise ShapeError(said)
    return wrapped


# --------------------------------------------------------------------------------------------
# Views.


def _sizes_given(sizes: tuple, op: str, name: str) -> None:
    """The sizes of a ``Tensor.<op>(*sizes)`` method as PyTorch's parser takes them: at least
    one, and a lone one an int or a sequence (a lone bool is a TypeError there; among several
    sizes a bool counts as an int)."""
    if not sizes:
        raise TypeError(f"{op}() missing 1 required positional argument: \"{name}\"")
    if len(sizes) == 1 and type(sizes[0]) is bool:
        raise TypeError(f"{op}(): argument '{name}' (position 1) must be tuple of ints, not bool")


def _named_sizes(sizes: tuple, value, op: str, name: str) -> tuple:
    """The sizes of a ``Tensor.<op>`` method given by keyword (``x.reshape(shape=(2, 3))``, as
    PyTorch's parser takes them), in the form of one sequence given by position."""
    if sizes:
        raise TypeError(f"{op}() got multiple values for argument '{name}'")
    return (_sizes_sequence(value, op, name),)


def _sizes_sequence(value, op: str, name: str):
    """The one sizes argument of ``deltagrad.<op>(input, <name>)``: a tuple, list or Size;
    PyTorch's parser refuses an int, a bool or a tensor there (the Tensor methods take them)."""
    if isinstance(value, (tuple, list)):
        return value
    raise TypeError(f"{op}(): argument '{name}' (position 2) must be tuple of ints, not "
                    f"{type(value).__name__}")


def reshape(input, shape) -> Tensor:
    """The same values in the shape ``shape`` (a tuple or list of ints; one may be -1); a view
    where the strides allow one. ``input.reshape(*shape)`` also takes the sizes one by one."""
    # (checked here: PyTorch's TypeError names reshape(), not the method's _reshape())
    return _reshape(tensor_input(input), _sizes_sequence(shape, "reshape", "shape"))


@tensor_method(name="reshape")
def _reshape(input, *sizes, unsqueezed: int | None = None, shape=None):
    """The same values in a new shape (one size may be -1); a view where NumPy can make one.
    ``unsqueezed``: the dim that ``unsqueeze`` adds (its strides follow its own rule);
    ``shape``: the sizes by keyword, as PyTorch's method takes them."""
    shape = sizes if shape is None else _named_sizes(sizes, shape, "reshape", "shape")
    input = input if type(input) is Tensor else tensor_input(input)  # (a call less: SP47)
    data = input._data
    key = (shape, data.shape)
    try:
        attrs = _RESHAPES.get(key)
    except TypeError:  # (a list of sizes: unhashable)
        attrs = None
    if attrs is not None:
        # (2.0, 3) == (2, 3) as a dict key: a float size must not pass on a cached int shape
        # (a plain loop: 0.06 us on a hit where all(...) costs 0.19)
        for n in shape[0] if len(shape) == 1 and type(shape[0]) is tuple else shape:
            if type(n) is not int:
                attrs = None
                break
    if attrs is None:
        _sizes_given(shape, "reshape", "shape")  # (before caching: an error is never cached)
        if len(shape) == 1 and isinstance(shape[0], (np.dtype, type, dtypes.dtype)):
            return input if input.dtype == shape[0] else _view_dtype(input, shape[0])
        attrs = _reshape_attrs(input, _shape_arg(shape))
        if _int_sizes(shape):
            # Sizes seen before skip the checks and the shape's resolution (h.reshape(8, 2, 4)
            # under grad 0.88-0.92 -> 0.62 us); only plain ints are remembered (a tensor size's
            # value may change).
            if len(_RESHAPES) >= 1024:  # (bounded: programs with ever new shapes)
                _RESHAPES.clear()
            _RESHAPES[key] = attrs
    if not attrs:
        if 1 in data.shape:  # (PyTorch's view recomputes the strides of dims of size 1)
            view = _with_strides(data.reshape(data.shape), _view_strides(
                data.shape, data.strides, data.shape, data.itemsize))
            return _result(view, _RESHAPE, (input,), {"shape": data.shape},
                           _GradMode.enabled and input._rg)
        return _alias(input)
    # NOTE: an exception to making results through `apply` (the list is in tensor.py): the
    # reshape op's forward inlined (the array's own reshape, a view, never float64) with the
    # shape already resolved; reshape 2.2 -> 1.2 us (commit 503b398), on the hot path of views.
    out = data.reshape(attrs["shape"])
    if 1 in attrs["shape"] and (1 in data.shape or not data.flags.c_contiguous):
        # NumPy's strides of size-1 dims are not PyTorch's for such inputs (a contiguous
        # input without dims of size 1 gets the same from both): stride() must match.
        if unsqueezed is None:
            strides = _view_strides(data.shape, data.strides, out.shape, data.itemsize)
        else:  # the new dim: a contiguous dim's stride there (1 past the last); others stay
            dim = unsqueezed
            stride = data.shape[dim] * data.strides[dim] if dim < data.ndim else data.itemsize
            strides = data.strides[:dim] + (stride,) + data.strides[dim:]
        out = _with_strides(out, strides)
    return _result(out, _RESHAPE, (input,), attrs, _GradMode.enabled and input._rg)


def _view_strides(old_shape: tuple, old_strides: tuple, shape: tuple, itemsize: int):
    """``_find_view_strides``'s answer, remembered (a pure function of the four arguments)."""
    key = (old_shape, old_strides, shape, itemsize)
    strides = _VIEW_STRIDES.get(key, _VIEW_STRIDES)
    if strides is _VIEW_STRIDES:  # (not seen: bounded, for programs with ever new shapes)
        if len(_VIEW_STRIDES) >= 1024:
            _VIEW_STRIDES.clear()
        strides = _VIEW_STRIDES[key] = _find_view_strides(*key)
    return strides


def _find_view_strides(old_shape: tuple, old_strides: tuple, shape: tuple, itemsize: int):
    """PyTorch's strides (in bytes) of ``view(shape)`` of an array of ``old_shape`` and
    ``old_strides``, or None where no view exists (``reshape`` copies then).

    The old dims fall into runs that are contiguous with one another (a dim of size 1 joins
    any run); each run is one block of memory with its innermost stride, which the new dims
    that cover the same elements share out, a new dim of size 1 taking the stride that a
    contiguous dim there would have.
    """
    if not old_shape:
        return (itemsize,) * len(shape)
    if 0 in old_shape:  # (no elements: the old strides, else contiguous ones, 0 counted as 1)
        if old_shape == shape:
            return old_strides
        strides, step = [], itemsize
        for n in reversed(shape):
            strides.append(step)
            step *= builtins.max(n, 1)
        return tuple(reversed(strides))
    strides = [0] * len(shape)
    d = len(shape) - 1
    base, run, covered = old_strides[-1], 1, 1
    for i in range(len(old_shape) - 1, -1, -1):
        run *= old_shape[i]
        if i == 0 or (old_shape[i - 1] != 1 and old_strides[i - 1] != run * base):
            while d >= 0 and (covered < run or shape[d] == 1):
                strides[d] = covered * base
                covered *= shape[d]
                d -= 1
            if covered != run:
                return None
            if i > 0:
                base, run, covered = old_strides[i - 1], 1, 1
    return tuple(strides) if d == -1 else None


def _with_strides(view: np.ndarray, strides) -> np.ndarray:
    """``view`` with other strides on its dims of size 1 (the same elements), keeping its base
    (the autograd view checks compare bases); ``view`` itself where nothing changes."""
    if strides is None or strides == view.strides or view.base is None:
        return view
    base = view.base
    if isinstance(base, np.ndarray) and base.flags.c_contiguous:
        offset = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        if 0 <= offset:
            out = np.ndarray(view.shape, view.dtype, base, offset, strides)
            if not view.flags.writeable and out.flags.writeable:
                out.flags.writeable = False
            return out
    return np.lib.stride_tricks.as_strided(view, view.shape, strides,
                                           writeable=bool(view.flags.writeable))


_RESHAPES: dict = {}  # (sizes as given, input shape) -> the reshape op's attributes, {} if same
# _view_strides' answers by their arguments (tuples): every batch-1 view meets it, [1, 12, 64]
_VIEW_STRIDES: dict = {}  # -> [1, 12, 4, 16] under no_grad 2.48 -> 1.96 us (s27 SP40)


def _reshape_attrs(input: Tensor, shape) -> dict:
    data = input._data
    try:
        resolved = _resolve_shape(data.size, shape)
    except ValueError as error:
        # (PyTorch's words first, as test suites match them)
        said = "only one dimension can be inferred" if str(error).startswith("only one") \
            else f"shape '{list(shape)}' is invalid for input of size {data.size}"
        raise ShapeError(f"{said} (reshape: cannot reshape {input.shape} to {shape}: "
                         f"{error})") from None
    return {} if resolved == data.shape else {"shape": resolved}


def _int_sizes(shape) -> bool:
    if len(shape) == 1 and type(shape[0]) is tuple:
        shape = shape[0]
    return all(type(n) is int for n in shape)


def _view_dtype(input: Tensor, dtype) -> Tensor:
    """``view(dtype)``: the same bytes read as another dtype (no gradient, as in PyTorch for a
    change of kind)."""
    dtype = dtypes.to_numpy(dtype)
    try:
        return _leaf(input._data.view(dtype))
    except ValueError as error:
        raise ShapeError(f"view: cannot view {input.dtype} of shape {input.shape} as {dtype}: "
                         f"{error}") from None


@tensor_method
def view(input, *shape, dtype=None, size=None):
    """``reshape`` sharing memory; ``view(dtype)`` reinterprets the bytes (see
    ``conversion.view_dtype``). PyTorch also takes either as a keyword (``view(dtype=...)``,
    safetensors' form; ``view(size=(...))``)."""
    if dtype is not None or size is not None:
        if shape or (dtype is not None and size is not None):
            raise TypeError("view() received an invalid combination of arguments: expected "
                            "(torch.dtype dtype) or (tuple of ints size)")
        if dtype is not None:
            return view_dtype(input, dtype)
        shape = (size,)
    if shape and type(shape[0]) is not int and is_dtype(shape[0]):
        return view_dtype(input, shape[0])
    if not shape or (len(shape) == 1 and type(shape[0]) is bool):
        raise TypeError(f"view() received an invalid combination of arguments - got "
                        f"{tuple(type(n).__name__ for n in shape)}, but expected (torch.dtype "
                        f"dtype) or (tuple of ints size)")
    out = _reshape(input, *shape)
    data = input._data
    # (a meta reshape that is a view has a storage: meta.py's _view; NumPy's shares_memory
    # cannot tell for two MetaArrays)
    if not data.flags.c_contiguous and not (
            out._data._storage is not None if type(data).__name__ == "MetaArray"
            else np.shares_memory(out._data, data)):
        # NOTE: PyTorch's view never copies; NumPy's reshape copies when the strides do not
        # allow the new shape (x.t().view(-1)), which would silently cut the view's link.
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (shape "
            f"{tuple(input.shape)}, strides {tuple(s // data.itemsize for s in data.strides)}: "
            "at least one dimension spans across two contiguous subspaces). Use .reshape(...) "
            "instead.")
    if out._op is _RESHAPE and out._attrs is not None and out._data.ndim != data.ndim:
        out._attrs = ViewAttrs(out._attrs)  # (named ViewBackward0, not Unsqueeze / Squeeze)
    return out


@tensor_method
def view_as(input, other):
    """``input`` reshaped to ``other``'s shape."""
    return _reshape(input, tensor_arg(other, "other", "view_as").shape)


reshape_as = tensor_method(view_as, name="reshape_as")


@tensor_method
def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dims ``start_dim`` .. ``end_dim`` into one (a 0-d tensor becomes shape (1,))."""
    input = tensor_input(input)
    start, end = _wrap_dim(start_dim, input.ndim), _wrap_dim(end_dim, input.ndim)
    if input.ndim == 0:
        return _reshape(input, 1)
    if start > end:
        raise ShapeError("flatten: start_dim cannot come after end_dim")
    if start == end:
        return input  # (PyTorch returns the input itself here, not a view)
    # (-1 cannot be inferred from 0 elements: an empty tensor gets the merged size itself)
    # The array's plain tuple, not the Size: a Size never hits _reshape's cache of shapes
    # (nn.Flatten in W1's step 9.1 -> 4.0 us, thread time, in a loop with the lookup).
    shape = input._data.shape
    merged = int(np.prod(shape[start:end + 1])) if input._data.size == 0 else -1
    return _reshape(input, shape[:start] + (merged,) + shape[end + 1:])


@tensor_method
def ravel(input):
    """The values as a 1-d tensor."""
    return _reshape(tensor_input(input), -1)


@tensor_method
def unflatten(input, dim: int, sizes):
    """Split dim ``dim`` into ``sizes`` (one may be -1)."""
    input = tensor_input(input)
    if input.ndim == 0:  # (PyTorch's RuntimeError: a 0-d tensor has no dim to split)
        raise ShapeError(f"unflatten: dimension specified as {dim} but tensor has no dimensions")
    dim = _wrap_dim(dim, input.ndim)
    sizes = tuple(int(n) for n in sizes)
    if not sizes:
        raise ShapeError("unflatten: sizes must be non-empty")
    n = input.shape[dim]
    try:
        resolved = _resolve_shape(n, sizes)
    except ValueError:
        raise ShapeError(f"unflatten: sizes {list(sizes)} don't multiply up to the size of dim "
                         f"{dim} ({n}) of the input") from None
    return _reshape(input, input.shape[:dim] + resolved + input.shape[dim + 1:])


def permute(input, dims) -> Tensor:
    """Reorder the dims: result dim ``i`` is input dim ``dims[i]`` (a tuple or list of ints;
    ``input.permute(*dims)`` also takes them one by one)."""
    return _permute(input, _sizes_sequence(dims, "permute", "dims"))


@tensor_method(name="permute")
def _permute(input, *sizes, dims=None):
    """Reorder the dims: result dim ``i`` is input dim ``dims[i]`` (``dims`` by keyword or
    one by one)."""
    dims = sizes if dims is None else _named_sizes(sizes, dims, "permute", "dims")
    input = tensor_input(input)
    if not dims or (type(dims[0]) is bool and len(dims) == 1):
        _sizes_given(dims, "permute", "dims")  # (before the cache: its keys are parsed dims)
    dims = _shape_arg(dims)
    ndim = input._data.ndim
    key = (dims, ndim)
    wrapped = _PERMUTATIONS.get(key)
    if wrapped is None:  # the checks run once per (dims, rank): 1.3 us of generators a call
        if len(dims) != ndim:
            raise ShapeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                             f"does not match the length of the desired ordering of dimensions "
                             f"i.e. input.dim() = {ndim} is not equal to len(dims) = "
                             f"{len(dims)}")  # (PyTorch's words, its "sparse_coo" included)
        wrapped = _wrap_dims(dims, ndim, "permute")
        if ndim == 0 or wrapped == tuple(range(ndim)):
            wrapped = ()  # (the identity: the input itself)
        if len(_PERMUTATIONS) >= 1024:  # (bounded: programs with ever new ranks)
            _PERMUTATIONS.clear()
        _PERMUTATIONS[key] = wrapped
    if not wrapped:
        return _alias(input)
    attrs = _PERMUTE_ATTRS.get(wrapped) or _permute_attrs(wrapped)
    return _result(input._data.transpose(wrapped), _PERMUTE, (input,), attrs,
                   _GradMode.enabled and input._rg)  # (as transpose's: the marked attrs kept)


def _permute_attrs(dims: tuple) -> PermuteAttrs:
    # (one marked dict per dims: the node prints as PyTorch's PermuteBackward0, node_names.py)
    if len(_PERMUTE_ATTRS) >= 1024:
        _PERMUTE_ATTRS.clear()
    attrs = _PERMUTE_ATTRS[dims] = PermuteAttrs(dims=dims)
    return attrs


_PERMUTE_ATTRS: dict = {}


_PERMUTATIONS: dict = {}  # (dims, rank) -> the wrapped dims, () for the identity


@tensor_method
def transpose(input, dim0: int, dim1: int):
    """Swap two dims."""
    input = input if type(input) is Tensor else tensor_input(input)  # (as _reshape's)
    ndim = input._data.ndim
    if type(dim0) is int and type(dim1) is int:
        # The common call: the permute op's attributes worked out once per dims and rank, and
        # the result made directly (x.transpose(0, 1) on 8 x 8 under grad 1.09 -> 0.51 us).
        key = (dim0, dim1, ndim)
        attrs = _TRANSPOSES.get(key)
        if attrs is None:
            if len(_TRANSPOSES) >= 1024:  # (bounded: programs with ever new ranks)
                _TRANSPOSES.clear()
            attrs = _TRANSPOSES[key] = _transpose_attrs(dim0, dim1, ndim)
        if not attrs:
            return _alias(input)
        return _result(input._data.transpose(attrs["dims"]), _PERMUTE, (input,), attrs,
                       _GradMode.enabled and input._rg)
    attrs = _transpose_attrs(dim0, dim1, ndim)
    # (the permute op directly: dims are already checked; permute() would check them again)
    return _result(input._data.transpose(attrs["dims"]), _PERMUTE, (input,), attrs,
                   _GradMode.enabled and input._rg) if attrs else _alias(input)


_TRANSPOSES: dict = {}  # (dim0, dim1, ndim) -> the permute op's attributes, {} for no change


def _transpose_attrs(dim0, dim1, ndim: int) -> dict:
    dim0, dim1 = _wrap_dim(dim0, ndim), _wrap_dim(dim1, ndim)
    if ndim < 2 or dim0 == dim1:
        return {}
    dims = list(range(ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return TransposeAttrs(dims=tuple(dims))  # (PyTorch's TransposeBackward0: node_names.py)


@tensor_method
def swapaxes(input, axis0: int, axis1: int) -> Tensor:
    """``transpose`` under NumPy's argument names (PyTorch's ``swapaxes(axis0=, axis1=)``)."""
    return transpose(input, axis0, axis1)


swapdims = tensor_method(transpose, name="swapdims")


@tensor_method
def t(input):
    """Transpose a matrix (tensors of fewer than 2 dims: a view of them as they are)."""
    input = tensor_input(input)
    if input.ndim > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but got {input.ndim}-d")
    if input.ndim < 2:  # (a view of it as it is; PyTorch's node is TBackward0 too)
        return _result(input._data.transpose(), _PERMUTE, (input,),
                       TAttrs(dims=tuple(range(input.ndim))), _GradMode.enabled and input._rg)
    return _result(input._data.transpose(1, 0), _PERMUTE, (input,), _T_ATTRS,
                   _GradMode.enabled and input._rg)


_T_ATTRS = TAttrs(dims=(1, 0))  # (PyTorch's TBackward0: node_names.py)


@tensor_method
def movedim(input, source, destination):
    """Move dims ``source`` to positions ``destination`` (ints or sequences), keeping the
    others in order."""
    input = tensor_input(input)
    source = _wrap_dims(source, input.ndim, "movedim")
    destination = _wrap_dims(destination, input.ndim, "movedim")
    if len(source) != len(destination):
        raise ShapeError(f"movedim: invalid source or destination dims: source ({list(source)})"
                         f" and destination ({list(destination)}) must have the same length")
    if input.ndim == 0:
        return _alias(input)
    rest = iter(d for d in range(input.ndim) if d not in source)
    placed = dict(zip(destination, source))
    return _permute(input, tuple(placed[i] if i in placed else next(rest)
                                 for i in range(input.ndim)))


moveaxis = tensor_method(movedim, name="moveaxis")


@tensor_method
@numpy_names  # (axis= for dim=, as PyTorch accepts)
def unsqueeze(input, dim: int):
    """Insert a dim of size 1 at ``dim`` (in [-ndim-1, ndim])."""
    input = tensor_input(input)
    dim = _wrap_dim(dim, input.ndim + 1)
    out = _reshape(input, input._data.shape[:dim] + (1,) + input._data.shape[dim:],
                   unsqueezed=dim)
    if out._op is _RESHAPE and out._attrs is not None:
        out._attrs = SqueezeAttrs(out._attrs)
        out._attrs.name = "UnsqueezeBackward0"
    return out


@numpy_names  # (axis= for dim=, as PyTorch accepts)
def squeeze(input, dim=_NOT_GIVEN):
    """Remove dims of size 1: all of them, or those among ``dim`` (an int or a tuple)."""
    input = tensor_input(input)
    if dim is _NOT_GIVEN:  # (a None given: list_item's TypeError below, as PyTorch's; s27 BR15)
        return _squeezed(_reshape(input, tuple(n for n in input.shape if n != 1)), 0)
    shape = input._data.shape
    # One int dim: the array's shape, no set of dims nor Size: [5, 1, 5] along 1 0.58 of its
    # time under grad and no_grad, a no-op dim 0.64-0.68 (the tree without it alternated with
    # it in one process, thread time, medians of 21 rounds, a loaded machine; s23 SP10).
    if type(dim) is int and shape:
        dim = _wrap_dim(dim, len(shape))
        return _squeezed(_reshape(input, shape[:dim] + shape[dim + 1:] if shape[dim] == 1
                                  else shape), 1)
    dims = set(_wrap_dims(list_item(dim), input.ndim, "squeeze"))  # (int[]: __index__ too)
    return _squeezed(_reshape(input, tuple(n for i, n in enumerate(input.shape)
                                          if not (i in dims and n == 1))),
                     2 if isinstance(dim, (tuple, list)) else 1)


def _squeezed(out: Tensor, overload: int) -> Tensor:
    # PyTorch's node: SqueezeBackward0 / 1 / 2 by the dims given (node_names.SqueezeAttrs)
    if out._op is _RESHAPE and out._attrs is not None:
        out._attrs = SqueezeAttrs(out._attrs)
        out._attrs.name = f"SqueezeBackward{overload}"
    return out


def method_bool_dim(value):
    """A Tensor method's dim as PyTorch's method parser reads it: a 0-d bool tensor is the int
    it holds (``x.squeeze(tensor(True))`` squeezes dim 1), where the function form
    (``torch.squeeze(x, tensor(True))``) is a TypeError."""
    if isinstance(value, Tensor) and value._data.dtype == np.bool_ and value._data.ndim == 0:
        return int(value._data)
    return value


@tensor_method(name="squeeze")
def _squeeze_method(self, dim=_NOT_GIVEN, **aliases):
    """``torch.squeeze(self, dim)``, with the method's reading of a bool tensor ``dim``."""
    if dim is _NOT_GIVEN:  # (dim may come as numpy's axis=, among the aliases)
        return squeeze(self, **aliases)
    return squeeze(self, dim if type(dim) is int else method_bool_dim(dim), **aliases)


@tensor_method
def expand(input, *sizes, size=None, implicit: bool = False):
    """Broadcast to ``sizes`` (or ``size`` by keyword) without copying; -1 keeps a dim's size.
    ``implicit`` only marks a broadcast for PyTorch's tracer: no effect on the result."""
    if size is not None:
        sizes = _named_sizes(sizes, size, "expand", "size")
    input = tensor_input(input)
    if not sizes or (type(sizes[0]) is bool and len(sizes) == 1):
        _sizes_given(sizes, "expand", "size")  # (before the cache: its keys are parsed sizes)
    sizes = _shape_arg(sizes)
    key = (input._data.shape, sizes)
    shape = _EXPANDED.get(key)
    if shape is None:
        shape = _expanded_shape(input.shape, sizes)
        if len(_EXPANDED) >= 1024:  # (bounded: programs with ever new shapes)
            _EXPANDED.clear()
        _EXPANDED[key] = shape
    if shape == input._data.shape:
        return _alias(input)
    return apply(_EXPAND, input, shape=shape)


# (input shape, sizes) -> the checked shape: the checks cost 2 us of generators a call.
_EXPANDED: dict = {}
_EXPAND = OPS["expand"]


def _expanded_shape(input_shape: tuple, sizes: tuple) -> tuple:
    """The shape ``expand`` makes of ``sizes`` (-1 keeps a dim), or PyTorch's error."""
    lead = len(sizes) - len(input_shape)
    if lead < 0:
        raise ShapeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                         f"or equal to the number of dimensions in the tensor "
                         f"({len(input_shape)})")
    if builtins.any(n == -1 for n in sizes[:lead]):
        first = builtins.next(i for i, n in enumerate(sizes[:lead]) if n == -1)
        raise ShapeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                         f"non-existing dimension {first} (expand: shape {input_shape} to "
                         f"{sizes})")
    shape = tuple(input_shape[i - lead] if n == -1 else n for i, n in enumerate(sizes))
    for i, n in enumerate(input_shape):
        if n != 1 and n != shape[lead + i]:
            raise ShapeError(f"The expanded size of the tensor ({shape[lead + i]}) must match "
                             f"the existing size ({n}) at non-singleton dimension {lead + i}.  "
                             f"Target sizes: {list(sizes)}.  Tensor sizes: "
                             f"{list(input_shape)} (expand)")
    if builtins.any(n < 0 for n in shape):
        raise ShapeError(f"expand: invalid size in {sizes}")
    return shape


@tensor_method
def expand_as(input, other):
    """``input`` broadcast to ``other``'s shape."""
    return expand(input, tensor_arg(other, "other", "expand_as").shape)


tensor_method(expand, name="broadcast_to")  # (the method takes sizes one by one too)


def broadcast_to(input, size) -> Tensor:
    """``input`` broadcast to ``size`` (a tuple or list of ints; -1 keeps a dim) without
    copying."""
    return expand(input, _sizes_sequence(size, "broadcast_to", "size"))


def broadcast_tensors(*tensors) -> tuple:
    """The tensors expanded to their common broadcast shape (given one by one: PyTorch
    refuses a list of them, ``broadcast_tensors(*tensors)`` is the call)."""
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise NotATensorError(f"broadcast_tensors(): expected Tensor as element {i} in "
                                  f"argument 0, but got {_type_name(x)}")
    shape = broadcast_shapes(*(x.shape for x in tensors))
    # (a tensor already of that shape is returned itself, as PyTorch does)
    return tuple(x if x.shape == shape else expand(x, shape) for x in tensors)


@tensor_method
def unfold(input, dimension: int, size: int, step: int):
    """Windows of ``size`` elements every ``step`` along ``dimension``: that dim becomes the
    window count and a new last dim of ``size`` holds each window (a Tensor method only)."""
    input, size, step = tensor_input(input), int_arg(size, "size", "unfold"), int_arg(
        step, "step", "unfold")  # (a float size or step: PyTorch's TypeError, not truncated)
    dim = _wrap_dim(dimension, input.ndim)
    n = input.shape[dim] if input.ndim else 1
    if size < 0 or size > n:
        raise ShapeError(f"unfold: maximum size for tensor at dimension {dim} is {n} but size "
                         f"is {size}")
    if step <= 0:
        raise ShapeError(f"unfold: step is {step} but must be > 0")
    if input.ndim == 0:  # (one window of the one element, or one empty window)
        return _slice_along(_reshape(input, (1,)), 0, 0, size)
    # A view of input's memory, as PyTorch's (overlapping windows are read-only: ops/indexing).
    return apply(_UNFOLD, input, dim=dim, size=int(size), step=int(step))


# --------------------------------------------------------------------------------------------
# Joins.


@numpy_names
def cat(tensors: Sequence, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate tensors along an existing dimension.

    Args:
        tensors: tensors of the same shape except in ``dim`` (1-d empty tensors are skipped,
            as in PyTorch); dtypes are promoted.
        dim: the dimension to join along.
        out: a tensor to write the result into (cast to its dtype, resized if needed).

    Returns:
        The joined tensor.
    """
    tensors = _tensor_list(tensors, "cat")
    if isinstance(tensors[0], SparseTensor):
        # (the check: ~30 ns of a 3.7 us 2-tensor cat, timeit; the import on use, as linalg's
        # matmul: sparse_coo imports this module)
        from .sparse_reductions import sparse_cat
        return sparse_cat(tensors, dim)
    # PyTorch's legacy rule: 1-d empty tensors are skipped whatever the others' shapes. (The
    # arrays' shapes throughout: Tensor.shape makes a Size, 0.2 us a read.)
    kept = [x for x in tensors if x._data.shape != (0,)] or tensors[:1]
    first = kept[0]._data.shape
    ndim = len(first)
    if ndim == 0:
        raise ShapeError("cat: zero-dimensional tensor cannot be concatenated")
    dim = _wrap_dim(dim, ndim)
    for i, x in enumerate(kept):
        shape = x._data.shape
        if shape == first:
            continue
        if len(shape) != ndim:
            raise ShapeError(f"Tensors must have same number of dimensions: got {ndim} and "
                             f"{len(shape)} (cat: tensor {i})")
        for d in range(ndim):
            if d != dim and shape[d] != first[d]:
                number = builtins.next(j for j, t in enumerate(tensors) if t is x)
                raise ShapeError(f"Sizes of tensors must match except in dimension {dim}. "
                                 f"Expected size {first[d]} but got size {shape[d]} for tensor "
                                 f"number {number} in the list. "
                                 f"(cat: shapes {kept[0].shape} and {x.shape})")
    if len(kept) < len(tensors):
        # The skipped ones still join (as empty blocks of the right shape) so that they get
        # their (empty) gradient, as in PyTorch.
        empty = kept[0].shape[:dim] + (0,) + kept[0].shape[dim + 1:]
        kept = [x if x.ndim != 1 or x.shape[0] else _reshape(x, empty) for x in tensors]
    joined = apply(_CAT, *kept, dim=dim)
    # PyTorch's layout: the inputs' suggest_memory_format when all share one (channels-last
    # images join channels-last: a dropout drawn afterwards fills its mask in memory order),
    # else row-major. Only a 4-D or 5-D input whose channel stride is at most its last dim's
    # can be channels-last (one stride check on the row-major path: 0.12 us on 4-D inputs,
    # 13 ns on other ranks, timeit of the test).
    if _joins_channels_last(tensors, ndim):
        to_last = (0, *range(2, ndim), 1)
        relaid = np.empty([joined._data.shape[d] for d in to_last], joined._data.dtype)
        np.copyto(relaid, joined._data.transpose(to_last))
        joined._data = relaid.transpose(0, ndim - 1, *range(1, ndim - 1))
    if out is None:
        return joined
    # (inputs that are all legacy empty [0] ones: PyTorch returns before its overlap check,
    # so `torch.cat([e, e], out=e)` runs; SL3's soak, s31)
    skipped = all(isinstance(t, Tensor) and t._data.shape == (0,) for t in tensors)
    for t in () if skipped else tensors:
        if isinstance(t, Tensor) and (t is out or _overlap(t._data, out._data)):
            raise RuntimeError("unsupported operation: some elements of the input tensor and the "
                               "written-to tensor refer to a single memory location. Please "
                               "clone() the tensor before performing the operation.")
    return _write_joined(out, joined)


_CAT = OPS["cat"]
_STACK = OPS["stack"]
concatenate = cat
concat = cat


@numpy_names
def stack(tensors: Sequence, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Stack same-shaped tensors along a new dimension ``dim`` (into ``out`` when given)."""
    tensors = _tensor_list(tensors, "stack")
    shapes = [x._data.shape for x in tensors]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise ShapeError(f"stack expects each tensor to be equal size, but got "
                             f"{list(shapes[0])} at entry 0 and {list(shape)} at entry {i}")
    dim = _wrap_dim(dim, tensors[0].ndim + 1)
    first = tensors[0]._data
    if type(first) is np.ndarray and stack_row_major(first, dim) and all(
            type(x._data) is np.ndarray and x._data.dtype == first.dtype for x in tensors):
        # One stack node (ops/shape.py) where no dtype is promoted and no channels-last
        # layout can arise (cat's rule for 4-D and 5-D results, below: stack_row_major)
        joined = apply(_STACK, *tensors, dim=dim)
    else:
        joined = rename_node(cat([unsqueeze(x, dim) for x in tensors], dim), "StackBackward0")
    ndim = first.ndim
    if dim < ndim and type(joined._data) is np.ndarray and _joins_channels_last(tensors, ndim):
        # PyTorch's stack below the last dim is cat(tensors, dim).view(...): channels-last
        # inputs give that cat's layout with ``dim`` split (not the unsqueezed inputs' cat's)
        wide = list(first.shape)
        wide[dim] *= len(tensors)
        to_last = (0, *range(2, ndim), 1)
        relaid = np.empty([wide[d] for d in to_last], joined._data.dtype).transpose(
            0, ndim - 1, *range(1, ndim - 1)).reshape(joined._data.shape)
        np.copyto(relaid, joined._data)
        joined._data = relaid
    return joined if out is None else _write_joined(out, joined)
