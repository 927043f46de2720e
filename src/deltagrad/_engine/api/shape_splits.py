"""Shape functions, the splits and slices: split, chunk, tensor_split, hsplit/vsplit/dsplit,
unbind, narrow, select (views by slicing; re-exported by shape.py)."""

from __future__ import annotations

import builtins
import numbers
import weakref

import numpy as np

from .. import node_names, versions
from ..autograd import DTypeError, ShapeError, _GradMode
from ..ops import OPS
from ..tensor import Tensor, _lift, _result, apply, tensor_method
from ._common import index_or_none, int_arg, numpy_names, tensor_input
from ._common import wrap_dim as _wrap_dim

_GETITEM = OPS["getitem"]


def _t(x) -> Tensor:
    return x if type(x) is Tensor else _lift(x, None)


def _slice_along(input: Tensor, dim: int, start: int, stop: int) -> Tensor:
    index = (slice(None),) * dim + (slice(start, stop),)
    data = input._data
    if type(data) is np.ndarray and data.dtype.char in _VIEWED:
        # NOTE: an exception to making results through `apply`, as reshape's (tensor.py's
        # list): getitem's forward inlined, a basic index of an ndarray (a view: no error, no
        # warning, the input's dtype); split(64, 2) of [1, 12, 192], no_grad 7.88 -> 4.98 us
        return _result(data[index], _GETITEM, (input,), {"index": index},
                       _GradMode.enabled and input._rg)
    return apply(_GETITEM, input, index=index)


_VIEWED = "?bBhHiIlLqQef"  # (dtypes that `apply` passes through as they are: not bfloat16's
# "V", nor float64 / complex, whose float32 rule apply reads)


# Pieces of functions that return several views (split, chunk, unbind) of a tensor that
# requires grad: PyTorch refuses in-place ops on them (and on views of them) with grad mode on.
_MULTI_OUTPUT = versions.MULTI_OUTPUT  # id(piece) -> (weakref to it, function name, position)

# unsafe_split / unsafe_chunk pieces made outside the graph: id -> weakref. They keep their
# _view link (a graph value written into one still reaches the base, as in PyTorch), but
# PyTorch's _is_view() / _base call them no views (s28 BR18).
_UNSAFE_PIECES: dict = {}


def mark_unsafe_piece(piece: Tensor) -> None:
    key = id(piece)
    _UNSAFE_PIECES[key] = weakref.ref(piece, lambda _, key=key: _UNSAFE_PIECES.pop(key, None))


def is_unsafe_piece(x: Tensor) -> bool:
    found = _UNSAFE_PIECES.get(id(x)) if _UNSAFE_PIECES else None
    return found is not None and found() is x
# (the mark costs 0.45 us a piece: x.chunk(4, 1) under grad 6.4 -> 8.2 us, paired timeit)


def _mark_multi_output(pieces: tuple, input: Tensor, name: str, saved: dict) -> tuple:
    """Mark ``pieces`` (of ``input``): PyTorch's node ``name``, one for all of them (a group
    token: grad_attrs.GradFn), whose ``_saved_*`` attributes are ``saved``."""
    if _GradMode.enabled and input._rg:
        group = (object(), saved)
        for i, piece in enumerate(pieces):
            key = id(piece)
            ref = weakref.ref(piece, lambda _, key=key: _MULTI_OUTPUT.pop(key, None))
            _MULTI_OUTPUT[key] = (ref, name, i, piece._op, group)
    return pieces


def _saved_dim(given, dim: int, ndim: int) -> int:
    """A dim (``given``, ``dim`` once wrapped) as PyTorch's split nodes save it: as given, a
    negative one read back as an unsigned 64-bit int (``_saved_dim`` of ``split(x, 2, -1)`` is
    2**64 - 1 there; torch_pruning reads it so)."""
    return dim - ndim + (1 << 64) if given < 0 else dim


def _multi_output_node_name(tensor) -> str | None:
    """PyTorch's node name of a split / chunk / unbind piece (``SplitBackward0``: one node for
    all pieces there, a slice or select per piece here) while its node is the one it was made
    with; else None."""
    entry = _MULTI_OUTPUT.get(id(tensor))
    if entry is None or entry[1] is None or entry[0]() is not tensor or entry[3] is not tensor._op:
        return None
    return f"{entry[1]}Backward0"


node_names.NAMERS.append(_multi_output_node_name)


def multi_output_view_error(tensor: Tensor) -> str | None:
    """PyTorch's error for an in-place op on ``tensor`` if it is a piece of split, chunk or
    unbind of a tensor that required grad; else None."""
    entry = _MULTI_OUTPUT.get(id(tensor))
    if entry is None or entry[0]() is not tensor or entry[1] is None:  # (None: unsafe_split)
        return None
    return (f"Output {entry[2]} of {entry[1]} is a view and is being modified inplace. This "
            "view is the output of a function that returns multiple views. Such functions do "
            "not allow the output views to be modified inplace. You should replace the inplace "
            "operation by an out-of-place one.")



@tensor_method
def split(input, split_size_or_sections=None, dim: int = 0, *, split_size=None) -> tuple:
    """Split into pieces of a given size (the last may be smaller) or of the given sizes.
    ``split_size`` is the argument's name in PyTorch's ``Tensor.split``."""
    input = tensor_input(input)
    if (split_size is None) == (split_size_or_sections is None):
        raise TypeError("split() missing required argument 'split_size_or_sections' (or given "
                        "it twice, as split_size too)")
    sections = split_size if split_size_or_sections is None else split_size_or_sections
    if isinstance(sections, Tensor) and sections._data.size == 1:
        sections = int(sections._data.reshape(()))  # (PyTorch's Tensor.split: int(tensor))
    if isinstance(sections, bool) or isinstance(dim, bool):
        raise TypeError(f"split() received an invalid combination of arguments - got "
                        f"(Tensor, {type(sections).__name__}, {type(dim).__name__})")
    integral = type(sections) is int or isinstance(sections, numbers.Integral)  # (no ABC check
    if not integral and not isinstance(sections, (tuple, list)):  # for an int: 0.2 us each)
        raise TypeError(f"split_with_sizes(): argument 'split_sizes' (position 2) must be "
                        f"tuple of ints, not {type(sections).__name__}")
    if input.ndim == 0:  # (before the dim: PyTorch's RuntimeError for any dim)
        raise ShapeError("split expects at least a 1-dimensional tensor")
    given_dim, dim = dim, _wrap_dim(dim, input.ndim)
    size = input._data.shape[dim]
    if integral:
        step = int(sections)
        if step < 0 or (step == 0 and size != 0):
            raise ShapeError(f"split: split_size can only be 0 if dimension size is 0, but got "
                             f"split_size {step} for dimension size {size}")
        sizes = [builtins.min(step, size - i) for i in range(0, size, step)] if size else [0]
    else:
        sizes = [int(n) for n in sections]
        if builtins.sum(sizes) != size or builtins.any(n < 0 for n in sizes):
            raise ShapeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                             f"(input tensor's size at dimension {dim}), but got "
                             f"split_sizes={sizes}")
    pieces, start = [], 0
    for n in sizes:
        pieces.append(_slice_along(input, dim, start, start + n))
        start += n
    if integral:
        name, saved = "Split", {"_saved_split_size": int(sections)}
    else:
        name, saved = "SplitWithSizes", {"_saved_split_sizes": tuple(sizes)}
    saved.update(_saved_dim=_saved_dim(given_dim, dim, input.ndim),
                 _saved_self_sym_sizes=input._data.shape)
    return _mark_multi_output(tuple(pieces), input, name, saved)


@tensor_method
@numpy_names  # (axis= for dim=, as PyTorch accepts)
def chunk(input, chunks: int, dim: int = 0) -> tuple:
    """Split into at most ``chunks`` pieces of equal size (the last may be smaller)."""
    input, chunks = tensor_input(input), int_arg(chunks, "chunks", "chunk")
    if chunks <= 0:
        raise ShapeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:  # (before the dim: PyTorch's RuntimeError for any dim)
        raise ShapeError("chunk expects at least a 1-dimensional tensor")
    dim = _wrap_dim(dim, input.ndim)
    size = input._data.shape[dim]
    if not size:  # PyTorch: `chunks` empty pieces of a 0-size dim (split's would be one)
        return split(input, [0] * chunks, dim)
    return split(input, builtins.max(1, -(-size // chunks)), dim)


_NO_SPEC = object()


def _tensor_split_spec(positional, named: dict, op: str = "tensor_split"):
    """The one ``indices_or_sections`` of tensor_split, given by position or by one of PyTorch's
    overloads' keywords (``sections=`` an int, ``indices=`` a sequence,
    ``tensor_indices_or_sections=`` a tensor); a wrong kind is the parser's TypeError."""
    given = {k: v for k, v in named.items() if v is not _NO_SPEC}
    if (positional is not _NO_SPEC) + len(given) != 1:
        raise TypeError(f"{op}() received an invalid combination of arguments - got "
                        f"{len(given) + (positional is not _NO_SPEC)} indices_or_sections")
    if positional is not _NO_SPEC:
        return positional
    (name, value), = given.items()
    kinds = {"sections": (numbers.Integral,), "indices": (list, tuple),
             "tensor_indices_or_sections": (Tensor,)}
    if not isinstance(value, kinds[name]) or isinstance(value, bool):
        raise TypeError(f"{op}() received an invalid combination of arguments - got "
                        f"(Tensor, {name}={type(value).__name__})")
    return value


@tensor_method
@numpy_names  # (axis= for dim=, as PyTorch accepts: autoray's split)
def tensor_split(input, indices_or_sections=_NO_SPEC, dim: int = 0, *, sections=_NO_SPEC,
                 indices=_NO_SPEC, tensor_indices_or_sections=_NO_SPEC) -> tuple:
    """Split into ``n`` nearly equal pieces (the first ``size % n`` one longer), or at the
    given indices (a sequence, or a 1-d integer tensor; a 0-d tensor means a count). As a
    keyword: ``sections=n``, ``indices=[...]`` or ``tensor_indices_or_sections=t``."""
    input = tensor_input(input)
    indices_or_sections = _tensor_split_spec(indices_or_sections, {
        "sections": sections, "indices": indices,
        "tensor_indices_or_sections": tensor_indices_or_sections})
    if isinstance(indices_or_sections, (bool, float)):  # (PyTorch's parser: a TypeError)
        raise TypeError(f"tensor_split() received an invalid combination of arguments - got "
                        f"(Tensor, {type(indices_or_sections).__name__})")
    spec = indices_or_sections
    if type(dim) is not int:
        dim = int_arg(dim, "dim", "tensor_split")
    if isinstance(spec, Tensor) and spec.ndim > 1:  # (checked before the dim, as PyTorch)
        raise ShapeError(f"tensor_split expected tensor_indices_or_sections to be a "
                         f"zero-dimensional or one-dimensional tensor, but got a tensor with "
                         f"{spec.ndim} dims")
    dim = _wrap_dim(dim, input.ndim)
    if input.ndim == 0:
        raise ShapeError("tensor_split expects at least a 1-dimensional tensor")
    size = input._data.shape[dim]
    if isinstance(spec, Tensor):
        if spec._data.dtype != np.int64:  # (PyTorch: long only)
            raise ShapeError("tensor_split expects indices_or_sections to be a 0-d or 1-d "
                             "integer tensor")
        spec = int(spec.item()) if spec.ndim == 0 else [int(i) for i in spec.tolist()]
    elif not isinstance(spec, (tuple, list)) and index_or_none(spec) is not None:
        spec = index_or_none(spec)  # (sections, as PyTorch's int parser reads __index__)
    if isinstance(spec, numbers.Integral):
        sections = int(spec)
        if sections <= 0:
            raise ShapeError(f"number of sections must be larger than 0, got {sections}")
        base, extra = divmod(size, sections)
        bounds = np.cumsum([0] + [base + (i < extra) for i in range(sections)])
    else:
        indices = [int(i) for i in spec]
        bounds = [0] + indices + [size]
    pieces = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        # Python's slice rules, as PyTorch's: a negative index counts from the end.
        start, stop, _ = slice(int(start), int(stop)).indices(size)
        pieces.append(_slice_along(input, dim, start, builtins.max(start, stop)))
    return tuple(pieces)


def _split_spec(spec, name: str):
    """hsplit / vsplit / dsplit's second argument as PyTorch's parser takes it (before any
    shape check): an int (a 0-d integer tensor too) or a sequence of ints."""
    if isinstance(spec, Tensor) and spec.ndim == 0 and spec._data.dtype.kind in "iu":
        return int(spec.item())
    if isinstance(spec, Tensor) and spec.ndim == 0 and spec._data.dtype == np.bool_:
        raise DTypeError(f"{name}: a bool tensor as indices_or_sections is not supported")
    if isinstance(spec, (tuple, list)):
        if all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in spec):
            return spec
        if all(index_or_none(n) is not None for n in spec):  # (__index__ objects are ints)
            return [index_or_none(n) for n in spec]
    elif isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
        return spec
    raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, "
                    f"{type(spec).__name__}): expected an int or a tuple of ints")


def _split_at(input, spec, dim: int, name: str) -> tuple:
    """hsplit / vsplit / dsplit: an int count must divide the dim exactly."""
    if isinstance(spec, numbers.Integral):
        if spec <= 0 or input.shape[dim] % spec:
            raise ShapeError(f"{name} attempted to split along dimension {dim}, but the size of "
                             f"the dimension {input.shape[dim]} is not divisible by the "
                             f"split_size {spec}!")
    return tensor_split(input, spec, dim)


def hsplit(input, indices_or_sections=_NO_SPEC, *, sections=_NO_SPEC,
           indices=_NO_SPEC) -> tuple:
    """Split along dim 1 (dim 0 for a 1-d tensor); an int must divide that dim exactly.
    ``sections=n`` / ``indices=[...]``: PyTorch's overloads' keywords."""
    indices_or_sections = _tensor_split_spec(
        indices_or_sections, {"sections": sections, "indices": indices}, "hsplit")
    input, indices_or_sections = tensor_input(input), _split_spec(indices_or_sections, "hsplit")
    if input.ndim < 1:
        raise ShapeError("torch.hsplit requires a tensor with at least 1 dimension")
    return _split_at(input, indices_or_sections, 1 if input.ndim > 1 else 0, "torch.hsplit")


def vsplit(input, indices_or_sections=_NO_SPEC, *, sections=_NO_SPEC,
           indices=_NO_SPEC) -> tuple:
    """Split along dim 0 of a tensor of at least 2 dims (keywords as hsplit's)."""
    indices_or_sections = _tensor_split_spec(
        indices_or_sections, {"sections": sections, "indices": indices}, "vsplit")
    input, indices_or_sections = tensor_input(input), _split_spec(indices_or_sections, "vsplit")
    if input.ndim < 2:
        raise ShapeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a "
                         f"tensor with {input.ndim} dimensions!")
    return _split_at(input, indices_or_sections, 0, "torch.vsplit")


def _method_split_spec(spec):
    # A Tensor method reads a 0-d bool tensor as a list of one index (x.hsplit(tensor(True))
    # splits at 1), where the function form is PyTorch's TypeError; so an __index__ object
    # that is no int (x.hsplit(I(2)) splits at 2; NumPy integers are sections).
    if isinstance(spec, Tensor) and spec._data.dtype == np.bool_ and spec._data.ndim == 0:
        return [int(spec._data)]
    if not isinstance(spec, numbers.Integral) and index_or_none(spec) is not None:
        return [index_or_none(spec)]
    return spec


@tensor_method(name="hsplit")
def _hsplit_method(self, indices_or_sections=_NO_SPEC, *, sections=_NO_SPEC,
               indices=_NO_SPEC) -> tuple:
    """``torch.hsplit(self, ...)``, with the method's reading of a bool tensor."""
    indices_or_sections = _tensor_split_spec(
        indices_or_sections, {"sections": sections, "indices": indices}, "hsplit")
    return hsplit(self, _method_split_spec(indices_or_sections))


@tensor_method(name="vsplit")
def _vsplit_method(self, indices_or_sections=_NO_SPEC, *, sections=_NO_SPEC,
               indices=_NO_SPEC) -> tuple:
    """``torch.vsplit(self, ...)``, with the method's reading of a bool tensor."""
    indices_or_sections = _tensor_split_spec(
        indices_or_sections, {"sections": sections, "indices": indices}, "vsplit")
    return vsplit(self, _method_split_spec(indices_or_sections))


@tensor_method(name="dsplit")
def _dsplit_method(self, indices_or_sections=_NO_SPEC, *, sections=_NO_SPEC,
               indices=_NO_SPEC) -> tuple:
    """``torch.dsplit(self, ...)``, with the method's reading of a bool tensor."""
    indices_or_sections = _tensor_split_spec(
        indices_or_sections, {"sections": sections, "indices": indices}, "dsplit")
    return dsplit(self, _method_split_spec(indices_or_sections))


def dsplit(input, indices_or_sections=_NO_SPEC, *, sections=_NO_SPEC,
           indices=_NO_SPEC) -> tuple:
    """Split along dim 2 of a tensor of at least 3 dims (keywords as hsplit's)."""
    indices_or_sections = _tensor_split_spec(
        indices_or_sections, {"sections": sections, "indices": indices}, "dsplit")
    input, indices_or_sections = tensor_input(input), _split_spec(indices_or_sections, "dsplit")
    if input.ndim < 3:
        raise ShapeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got a "
                         f"tensor with {input.ndim} dimensions!")
    return _split_at(input, indices_or_sections, 2, "torch.dsplit")


@tensor_method
@numpy_names  # (axis= for dim=, as PyTorch accepts)
def unbind(input, dim: int = 0) -> tuple:
    """The slices along ``dim``, each without that dim."""
    input = tensor_input(input)
    dim = int_arg(dim, "dim", "unbind")
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    given_dim, dim = dim, _wrap_dim(dim, input.ndim)
    pieces = tuple(select(input, dim, i) for i in range(input.shape[dim]))
    return _mark_multi_output(pieces, input, "Unbind",
                              {"_saved_dim": _saved_dim(given_dim, dim, input.ndim)})


@tensor_method
@numpy_names  # (axis= for dim=, as PyTorch accepts)
def narrow(input, dim: int, start, length: int):
    """``length`` elements of dim ``dim`` from ``start`` (negative ``start`` counts from the
    end; a 0-d integer tensor is accepted)."""
    input = tensor_input(input)
    if input.ndim == 0:
        raise ShapeError("narrow() cannot be applied to a 0-dim tensor")
    dim = _wrap_dim(dim, input.ndim)
    size = input._data.shape[dim]
    if isinstance(start, Tensor):
        if start.ndim or start._data.dtype.kind not in "iu":  # (a bool or float one too)
            raise RuntimeError("start must be an 0-dim integral Tensor.")
        start = int(start.item())
    # (PyTorch's parser: an int or an __index__ object; a float or a bool is a TypeError)
    start, length = int_arg(start, "start", "narrow", symbolic=True), \
        int_arg(length, "length", "narrow", symbolic=True)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start ({start}) is out of range for dimension {dim} of size "
                         f"{size}")
    if start < 0:
        start += size
    if length < 0 or start + length > size:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                         f"({size})")
    return _slice_along(input, dim, start, start + length)


@tensor_method
@numpy_names  # (axis= for dim=, as PyTorch accepts)
def select(input, dim: int, index: int):
    """The slice at ``index`` of dim ``dim``, without that dim."""
    input = tensor_input(input)
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor")
    dim = _wrap_dim(dim, input.ndim)
    size = input._data.shape[dim]
    index = int_arg(index, "index", "select", symbolic=True)  # (was int(): 1.0, True)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    # (the Ellipsis keeps NumPy's result a 0-d view where the last dim goes, as x[i] does:
    # select / unbind of a 1-d tensor are views that see later in-place changes)
    return apply(_GETITEM, input, index=(slice(None),) * dim + (index % size, Ellipsis))
