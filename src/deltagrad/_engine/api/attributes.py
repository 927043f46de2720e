"""What a tensor answers about its layout and memory (stride, is_contiguous, nbytes, ...), the
``new_*`` factories that copy its dtype, and small PyTorch conveniences on tensors (clone and
detach as functions, type_as, sum_to_size, split_with_sizes, ``in``, ``Size``)."""

from __future__ import annotations

import builtins
import itertools
import math
import numbers
import operator
import warnings

import numpy as np

from .. import dtypes
from ..meta import MetaArray
from ..node_names import named_as_copy, rename_node
from ..ops import OPS
from ..promotion import fitted, size_value
from ..random import default_generator
from ..tensor import Tensor, _leaf, apply, tensor_method
from ..versions import MULTI_OUTPUT, _multi_output_piece, _remade_view, _root
from ._common import int_arg, later_bools_as_ints, tensor_arg, tensor_input, wrap_dim
from .creation import (
    _full,
    _ones,
    _options,
    channels_last,
    check_memory_format,
    contiguous_format,
    copy_construct_warning,
    in_memory_format,
    is_contiguous_as,
    preserve_format,
    tensor,
)
from .factories import _requiring_grad
from .reductions import sum
from .shape import split
from .shape_splits import is_unsafe_piece
from .storage import PyTorchFileReader, PyTorchFileWriter, TypedStorage, UntypedStorage, base_array

_CLONE = OPS["clone"]

__all__ = ["PyTorchFileReader", "PyTorchFileWriter", "TypedStorage", "UntypedStorage", "Size",
           "adjoint", "clone", "default_generator",
           "detach", "is_conj",
           "is_inference", "is_same_size", "is_neg", "resolve_conj", "resolve_neg",
           "split_with_sizes"]


class Size(tuple):
    """A shape (PyTorch's ``torch.Size``): a tuple of ints with ``numel()``.

    >>> Size([2, 3]).numel(), Size([2, 3]) == (2, 3)
    (6, True)
    """

    def __new__(cls, sizes=()):
        return super().__new__(cls, map(_size_item, sizes, itertools.count()))

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        count = 1
        for s in self:
            count *= s
        return count

    def __repr__(self) -> str:
        return f"{dtypes.PREFIX[0]}.Size({list(self)})"  # torch.Size under the alias

    # print(x.shape) and f-strings give the repr, as PyTorch's "torch.Size([2, 3])" (str() of a
    # tuple subclass would otherwise print "(2, 3)").
    __str__ = __repr__

    # Slices, sums and repeats of a Size are Sizes, as PyTorch's.
    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return _new_tuple(Size, item) if isinstance(index, slice) else item

    def __add__(self, other):
        return _new_tuple(Size, tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _new_tuple(Size, tuple.__add__(other, self))

    def __mul__(self, count):
        return _new_tuple(Size, tuple.__mul__(self, count))

    __rmul__ = __mul__


_new_tuple = tuple.__new__  # a Size from a tuple of ints, without converting each one again


def _size_item(value, position: int) -> int:
    """One entry of a new Size: an integer (an int, a NumPy integer, a one-element integer
    tensor); anything else raises PyTorch's TypeError (``int()`` would take 2.5 as 2)."""
    try:
        return operator.index(value)
    except TypeError:
        kind = type(value)
        name = f"numpy.{kind.__name__}" if kind.__module__ == "numpy" else kind.__name__
        raise TypeError(f"{dtypes.PREFIX[0]}.Size() takes an iterable of 'int' (item "
                        f"{position} is '{name}')") from None


# The public shape: a Size (it replaces Tensor's plain-tuple property and size()). It costs
# ~0.1-0.25 us more than the tuple on this machine, so library code reads `_data.shape`.
def _shape(self) -> Size:
    return _new_tuple(Size, self._data.shape)


Tensor.shape = property(_shape, doc="The shape, a ``deltagrad.Size`` (a tuple of ints).")


@tensor_method
def size(self, dim: int | None = None, *, axis=None):
    """The shape as a ``deltagrad.Size``, or the length of dim ``dim`` (an int; NumPy's
    ``axis=`` too, as PyTorch's argument parser takes it).

    >>> import deltagrad as dg
    >>> dg.zeros(2, 3).size(), dg.zeros(2, 3).size(-1)
    (deltagrad.Size([2, 3]), 3)
    """
    # (the axis keyword: x.size() 0.145 -> 0.161 us, x.size(1) 0.090 -> 0.101; thread time,
    # min of 7 x 20000 calls, alternated in one process with HEAD loaded by benchmarks/ab.py's
    # load_base, one thread; s26 KW1)
    if dim is None:
        if axis is None:
            return _new_tuple(Size, self._data.shape)
        dim = axis
    elif axis is not None:
        raise TypeError("size() got both 'dim' and its alias 'axis'")
    if type(dim) is not int:  # (a bool or a float is PyTorch's TypeError)
        dim = int_arg(dim, "dim", "size")
    try:
        return self._data.shape[dim]
    except IndexError:  # (PyTorch's words, not the tuple's; no cost on the common path)
        top = max(self._data.ndim, 1)
        if self._data.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions") \
                from None
        raise IndexError(f"Dimension out of range (expected to be in range of [{-top}, "
                         f"{top - 1}], but got {dim})") from None


# ----------------------------------------------------------------------------------------------
# Layout and memory. The values live in a NumPy array; strides are its strides in elements.


@tensor_method
def stride(self, dim: int | None = None):
    """The step in elements between neighbours along each dim (a tuple), or along ``dim``.

    >>> import deltagrad as dg
    >>> dg.zeros(2, 3).stride(), dg.zeros(2, 3).t().stride(1)
    ((3, 1), 3)
    """
    data = self._data
    if data.size == 0 and not any(data.strides):
        # NumPy gives a new empty array zero strides, PyTorch row-major ones over the shape
        # with each 0 counted as 1 (np.zeros((0, 5)): (0, 0) in NumPy, (5, 1) in PyTorch).
        # (Views of a non-empty array keep their real strides, as PyTorch's.)
        steps, step = [], 1
        for n in reversed(data.shape):
            steps.append(step)
            step *= n if n > 1 else 1
        steps = tuple(reversed(steps))
    else:
        steps = tuple(s // data.itemsize for s in data.strides)
    if dim is None:
        return steps
    dim = int_arg(dim, "dim", "stride")
    if not self._data.ndim:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return steps[wrap_dim(dim, self._data.ndim)]


@tensor_method
def is_contiguous(self, memory_format=contiguous_format) -> bool:
    """Whether the elements are laid out in ``memory_format`` without gaps: row-major (the
    default) or channels-last (``deltagrad.channels_last`` for 4-d tensors).

    >>> import deltagrad as dg
    >>> x = dg.zeros(2, 3, 4, 5)
    >>> x.is_contiguous(), x.is_contiguous(memory_format=dg.channels_last)
    (True, False)
    >>> x.contiguous(memory_format=dg.channels_last).stride()
    (60, 1, 15, 3)
    """
    # (preserve_format asks about the default layout, as in PyTorch)
    return is_contiguous_as(self._data, check_memory_format(memory_format, "is_contiguous",
                                                            optional=False))


@tensor_method
def contiguous(self, memory_format=contiguous_format) -> Tensor:
    """This tensor if it is laid out in ``memory_format`` (row-major by default), else a copy
    that is (recorded: the gradient flows back)."""
    if memory_format is contiguous_format and self._data.flags.c_contiguous:
        return self  # the common call, without the checks
    fmt = check_memory_format(memory_format, "contiguous", optional=False)
    if fmt is preserve_format and not self._data.flags.c_contiguous:
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    out = in_memory_format(self, fmt, "contiguous")
    return out if out is self else rename_node(out, "CloneBackward0")  # (PyTorch's copy node)


@tensor_method
def storage_offset(self) -> int:
    """The position of the first element in the memory it shares with its base, in elements."""
    if type(self._data) is MetaArray:  # (a meta view knows its offset: PyTorch's answer)
        return self._data._offset // self._data.itemsize
    base = self._data
    while (step := base_array(base)) is not None:  # (through as_strided's DummyArray)
        base = step
    start = self._data.__array_interface__["data"][0]
    return (start - base.__array_interface__["data"][0]) // self._data.itemsize


@tensor_method
def data_ptr(self) -> int:
    """The address of the first element (tensors sharing memory report related addresses);
    a meta tensor's is its offset in bytes (its storage's is 0), as in PyTorch."""
    if type(self._data) is MetaArray:
        return self._data._offset
    return self._data.__array_interface__["data"][0]


@tensor_method
def const_data_ptr(self) -> int:
    """``data_ptr()``, for reading (PyTorch's const pointer)."""
    return data_ptr(self)


def _view_parent(x):
    """The tensor ``x`` is a view of (memory shared, made by a view op), or None."""
    if x._op is not None:  # a graph node: its op and first input tell
        if MULTI_OUTPUT and (piece := _multi_output_piece(x)) is not None and piece[1] is None:
            return None  # (an unsafe_split / unsafe_chunk piece: no view to PyTorch; s28 BR17)
        if x._inputs is None:  # (freed by a backward: the sweep kept a view's base)
            base = getattr(x, "_view_base", None)
            return base if (base is not None and _root(base._data) is _root(x._data)
                            and not named_as_copy(x)) else None
        # (as_strided and view_as_real / complex count, as in PyTorch; a view op's node named
        # as a copy, as contiguous()'s CloneBackward0 or max(dim)'s MaxBackward0, ends a
        # composite whose last step views an internal copy: no view)
        return x._inputs[0] if _remade_view(x) and not named_as_copy(x) else None
    view = getattr(x, "_view", None)  # (set only on such results made outside the graph)
    return None if view is not None and is_unsafe_piece(x) else view  # (s28 BR18)


def _base(self):
    parent = _view_parent(self)
    while parent is not None:  # PyTorch's `_base` is the root: x.view(6).view(2, 3)._base is x
        root, parent = parent, _view_parent(parent)
    return None if _view_parent(self) is None else root


Tensor._base = property(
    _base, doc="For a view, the tensor whose memory it shares (the first non-view); else None.")


@tensor_method
def _is_view(self) -> bool:
    """Whether this tensor is a view of another (``_base`` is not None)."""
    return _view_parent(self) is not None


@tensor_method
def dim_order(self, *, ambiguity_check=False) -> tuple:
    """The dims from the outermost to the innermost in memory, as PyTorch orders them (the
    order its elementwise ops give their outputs): ``(0, 1, 2, 3)`` for a contiguous NCHW
    tensor, ``(0, 2, 3, 1)`` for channels-last; dims of equal stride keep their order unless
    the later one is longer, dims of stride 0 stay where they are."""
    sizes, strides = tuple(self.shape), self.stride()
    n = len(sizes)
    if ambiguity_check is not False:  # (s28 DX1: was NotImplementedError)
        _dim_order_unique(self, ambiguity_check, sizes, strides)
    if n <= 1:
        return tuple(range(n))
    plain = self.is_contiguous()
    last = n == 4 and self.is_contiguous(memory_format=channels_last)
    if plain != last:
        return tuple(range(n)) if plain else (0, *range(2, n), 1)

    def outer(a, b) -> bool | None:  # must a sit outside b? (None: either way)
        sa, sb = strides[a], strides[b]
        if sa == 0 or sb == 0:
            return None
        if sa != sb:
            return sa > sb
        if sizes[a] == 0 or (sizes[b] != 0 and sizes[b] >= sizes[a]):
            return None
        return True

    inner_first = list(range(n - 1, -1, -1))  # sorted innermost first, then reversed
    for i in range(1, n):
        at = i
        for j in range(i - 1, -1, -1):
            verdict = outer(inner_first[j], inner_first[at])
            if verdict is True:
                inner_first[j], inner_first[at] = inner_first[at], inner_first[j]
                at = j
            elif verdict is False:
                break
    if ambiguity_check and any(outer(a, b) is not False
                               for a, b in itertools.pairwise(inner_first)):
        raise RuntimeError("The tensor does not have unique dim order.")
    return tuple(reversed(inner_first))


def _dim_order_unique(self, check, sizes: tuple, strides: tuple) -> None:
    """PyTorch's checks of ``dim_order(ambiguity_check=check)``: a bool or a list of memory
    formats (TypeError otherwise); with a size-1 dim or two equal strides in a row the order is
    ambiguous: a RuntimeError unless exactly one of the listed formats fits."""
    from .memory_formats import memory_format

    if not isinstance(check, bool) and not (
            isinstance(check, list) and all(isinstance(f, memory_format) for f in check)):
        raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
    formats = check if isinstance(check, list) else []
    ambiguous = 1 in sizes or any(a == b for a, b in itertools.pairwise(strides))
    if ambiguous and builtins.sum(self.is_contiguous(memory_format=f) for f in formats) != 1:
        raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact "
                           "one of the given memory formats.")


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    if self.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    if type(self._data) is MetaArray:
        raise RuntimeError("Cannot export a meta tensor through DLPack: it has no data")
    kwargs = {} if max_version is None else {"max_version": max_version}
    return self._data.__dlpack__(stream=stream, **kwargs)


Tensor.__dlpack__ = _dlpack
Tensor.__dlpack_device__ = lambda self: (1, 0)  # kDLCPU, device 0


@tensor_method
def is_pinned(self, device=None) -> bool:
    """``False``: page-locked memory is for copies to a GPU, which deltagrad does not have."""
    return False


@tensor_method
def pin_memory(self, device=None) -> Tensor:
    """Raises ``RuntimeError``, as CPU-only PyTorch does: there is no accelerator to pin for."""
    raise RuntimeError("Cannot access accelerator device when none is available "
                       "(pin_memory: deltagrad runs on the CPU only).")


def _nbytes(self) -> int:
    return self._data.size * self._data.itemsize


def _itemsize(self) -> int:
    return self._data.itemsize


Tensor.nbytes = property(_nbytes, doc="Bytes the elements take: ``numel() * itemsize``.")
Tensor.itemsize = property(_itemsize, doc="Bytes one element takes (``element_size()``).")


@tensor_method
def ndimension(self) -> int:
    """The number of dims (an alias of ``dim()``)."""
    return self._data.ndim


@tensor_method
def nelement(self) -> int:
    """The number of elements (an alias of ``numel()``)."""
    return self._data.size


@tensor_method
def get_device(self) -> int:
    """The device index: -1, the CPU's, as in PyTorch."""
    return -1


def _retains_grad(self) -> bool:
    return self._op is not None and self._retain


Tensor.retains_grad = property(
    _retains_grad, doc="Whether this non-leaf keeps ``.grad`` (``retain_grad()`` was called).")


@tensor_method
def is_same_size(input, other) -> bool:
    """Whether ``input`` and ``other`` have the same shape."""
    other = tensor_arg(other, "other", "is_same_size")
    return tuple(tensor_input(input).shape) == tuple(other.shape)


@tensor_method
def is_conj(input) -> bool:
    """Whether a lazy conjugation is pending: never here (no conjugate views)."""
    return False


@tensor_method
def is_neg(input) -> bool:
    """Whether a lazy negation is pending: never here (no negative views)."""
    return False


@tensor_method
def is_inference(input) -> bool:
    """Whether ``input`` is an inference tensor: made under ``inference_mode`` (by an op, a
    factory, or as a view of an inference tensor; a view of a normal tensor taken there stays
    normal), as in PyTorch. deltagrad marks them but does not restrict them afterwards.

    >>> import deltagrad as dg
    >>> x = dg.ones(2)
    >>> with dg.inference_mode():
    ...     y = x * 2
    >>> y.is_inference(), x.is_inference(), dg.is_inference(y[:1])
    (True, False, True)
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"is_inference(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return getattr(input, "_inference", False)


@tensor_method
def resolve_conj(input) -> Tensor:
    """``input`` itself: there is no pending conjugation to materialise."""
    return input


@tensor_method
def resolve_neg(input) -> Tensor:
    """``input`` itself: there is no pending negation to materialise."""
    return input


@tensor_method
def adjoint(input) -> Tensor:
    """The conjugate transpose of the last two dims (for a complex input a copy, not a view).

    Raises:
        RuntimeError: for fewer than 2 dims.
    """
    if tensor_input(input).ndim == 0:  # (PyTorch: the input itself, with a warning)
        warnings.warn("adjoint() is deprecated on 0-D tensors. Consider using x.conj().",
                      UserWarning, stacklevel=2)
        return input.conj()
    if input.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.ndim}-D tensor.")
    return input.transpose(-2, -1).conj()  # (conj: the transpose itself for real dtypes)


def _mH(self) -> Tensor:  # noqa: N802 - PyTorch's name
    return adjoint(self)


def _H(self) -> Tensor:  # noqa: N802 - PyTorch's name
    if self.ndim not in (0, 2):
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{self.ndim}-D tensor.")
    return self.conj() if self.ndim == 0 else self.transpose(0, 1).conj()


Tensor.mH = property(_mH, doc="The conjugate transpose of the last two dims.")
Tensor.H = property(_H, doc="The conjugate transpose of a matrix.")


# ----------------------------------------------------------------------------------------------
# Copies and conversions.


@tensor_method
def clone(input, *, memory_format=preserve_format) -> Tensor:
    """A copy of ``input`` that stays in the graph (the gradient flows back to ``input``).
    The copy keeps ``input``'s layout (strides) unless ``memory_format`` asks for another."""
    if memory_format is preserve_format and type(input) is Tensor:
        return apply(_CLONE, input)  # the common call, without the checks
    fmt = check_memory_format(memory_format, "clone")
    out = apply(_CLONE, tensor_input(input))
    return out if fmt is preserve_format else in_memory_format(out, fmt, "clone")


def detach(input) -> Tensor:
    """A new leaf sharing ``input``'s values, outside the graph (``input.detach()``)."""
    return tensor_input(input).detach()


@tensor_method
def type_as(self, other) -> Tensor:
    """``self`` cast to ``other``'s dtype (itself when they already agree)."""
    return self.to(tensor_arg(other, "other", "type_as").dtype)


@tensor_method
def sum_to_size(self, *sizes, size=None) -> Tensor:
    """Sum ``self`` down to ``size``, which must broadcast to ``self``'s shape: the reverse of
    ``expand`` (leading dims are summed away, dims of size 1 summed with keepdim).

    >>> import deltagrad as dg
    >>> dg.ones(2, 3).sum_to_size(1, 3)
    tensor([[2., 2., 2.]])
    """
    if size is None:  # (``size`` by keyword or the sizes one by one, as PyTorch's method)
        size = sizes
    elif sizes:
        raise TypeError("sum_to_size() got multiple values for argument 'size'")
    else:
        size = (size,)
    if not size:
        raise TypeError('sum_to_size() missing 1 required positional arguments: "size"')
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    target = tuple(int_arg(n, "size", "sum_to_size", True, True)
                   for n in later_bools_as_ints(size))
    shape = tuple(self.shape)
    lead = len(shape) - len(target)
    if lead < 0 or builtins.any(t not in (1, s) for t, s in zip(target, shape[lead:])):
        raise RuntimeError(f"size {list(target)} is not expandable to size {list(shape)}")
    if not target:  # (PyTorch's sum_to: to [] is a full sum, bool and ints to int64, also 0-d)
        return sum(self)
    out = self
    if lead:
        out = sum(out, tuple(range(lead)))
    squeezed = tuple(d for d, (t, s) in enumerate(zip(target, shape[lead:])) if t == 1 != s)
    if squeezed:
        out = sum(out, squeezed, keepdim=True)
    return out


@tensor_method
def split_with_sizes(self, split_sizes, dim: int = 0) -> tuple:
    """Pieces of the given sizes along ``dim``; the sizes must add up to that dim's length."""
    if isinstance(split_sizes, Tensor):  # (a sequence of ints: PyTorch's TypeError)
        raise TypeError("split_with_sizes(): argument 'split_sizes' must be tuple of ints, not "
                        "Tensor")
    sizes = [int(s) for s in split_sizes]
    length = self.shape[dim] if self.ndim else 1
    if builtins.sum(sizes) != length or builtins.any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {length} "
                           f"(input tensor's size at dimension {dim}), but got split_sizes="
                           f"{sizes}")
    return split(self, sizes, dim)


def _contains(self, element) -> bool:
    # As PyTorch: `x in t` asks whether any element of t equals x (scalars and tensors only).
    if not isinstance(element, (Tensor, numbers.Number)):
        raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed "
                           f"in a {type(element)}.")
    return bool((self == element).any().item())


Tensor.__contains__ = _contains


# ----------------------------------------------------------------------------------------------
# new_*: new tensors with this tensor's dtype (and device) unless told otherwise.


def _new(self, fill, size, dtype, device, requires_grad, where: str) -> Tensor:
    _options(where, device)
    numpy_dtype = self._data.dtype if dtype is None else dtypes.to_numpy(dtype)
    out = _leaf(fill(_new_size(size, where), numpy_dtype))
    if requires_grad is not False:  # (a non-bool: PyTorch's TypeError, s29 BR19)
        _requiring_grad(out, requires_grad, where)
    return out


def _new_size(size: tuple, where: str) -> tuple:
    """The size argument of the ``new_*`` methods, checked as PyTorch does (a TypeError unless
    ints, one sequence of ints or 0-d integer tensors; a negative size a RuntimeError)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = []
    for n in size:
        if type(n) is not int:
            # (PyTorch's int list refuses a bool first and reads a later one as its int:
            # new_zeros((2, True)) is [2, 1], new_zeros((True, 2)) a TypeError; s27 BR15)
            if isinstance(n, (bool, np.bool_)) and not (type(n) is bool and shape):
                raise TypeError(f"{where}(): argument 'size' must be tuple of ints, not bool")
            if isinstance(n, Tensor) and n._data.dtype == np.bool_ and n._data.size == 1:
                size_value(n)  # (PyTorch parses a bool tensor, then raises RuntimeError)
            try:
                n = builtins.int(operator.index(n))
            except TypeError:
                raise TypeError(f"{where}(): argument 'size' must be tuple of ints, but found "
                                f"element of type {type(n).__name__}") from None
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: "
                               f"{list(size)}")
        shape.append(n)
    return tuple(shape)


def _size_given(where: str, positional: tuple, size) -> tuple:
    """The size passed positionally (``new_zeros(2, 3)``) or as ``size=`` (not both, not none)."""
    if size is None:
        if not positional:
            raise TypeError(f'{where}() missing 1 required positional arguments: "size"')
        return positional
    if positional:
        raise TypeError(f"{where}() got multiple values for argument 'size'")
    return (size,)


@tensor_method
def new_zeros(self, *shape, size=None, dtype=None, device=None, requires_grad: bool = False,
              layout=None, pin_memory: bool = False) -> Tensor:
    """Zeros of shape ``size`` (ints or one sequence), in ``self``'s dtype by default.

    >>> import deltagrad as dg
    >>> dg.tensor([1, 2]).new_zeros(2, 2).dtype
    deltagrad.int64
    """
    return _new(self, np.zeros, _size_given("new_zeros", shape, size), dtype, device,
                requires_grad, "new_zeros")


@tensor_method
def new_ones(self, *shape, size=None, dtype=None, device=None, requires_grad: bool = False,
             layout=None, pin_memory: bool = False) -> Tensor:
    """Ones of shape ``size``, in ``self``'s dtype by default."""
    return _new(self, _ones, _size_given("new_ones", shape, size), dtype, device,
                requires_grad, "new_ones")


@tensor_method
def new_empty(self, *shape, size=None, dtype=None, device=None, requires_grad: bool = False,
              layout=None, pin_memory: bool = False) -> Tensor:
    """An "uninitialised" tensor of shape ``size`` (zeros here, so runs are repeatable)."""
    return _new(self, np.zeros, _size_given("new_empty", shape, size), dtype, device,
                requires_grad, "new_empty")


@tensor_method
def new_full(self, size, fill_value, *, dtype=None, device=None,
             requires_grad: bool = False, layout=None, pin_memory: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``, in ``self``'s dtype by default
    (checked: ``uint8.new_full((2,), 300)`` overflows, as in PyTorch)."""
    if not isinstance(size, (tuple, list)):  # (PyTorch's parser: no int / Tensor; s28 BR18)
        raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    # (creation._full: np.full's steps without its wrapper; new_full((2, 3), 1.0) on a [5, 5]
    # float32 tensor 4.4 -> 4.0 us, new_ones 3.2 -> 2.6, thread time, alternated with HEAD)
    # (one float16 / bfloat16 element takes any float, rounded to inf: see creation.full)
    return _new(self, lambda shape, d: _full(shape, fitted(fill_value, d, d.itemsize == 2 and (
        math.prod(shape) == 1)), d), (size,), dtype, device, requires_grad, "new_full")


@tensor_method
def new_tensor(self, data, *, dtype=None, device=None, requires_grad: bool = False,
               layout=None, pin_memory: bool = False) -> Tensor:
    """A new leaf holding a copy of ``data``, in ``self``'s dtype unless ``dtype`` is given
    (PyTorch's rule: even Python ints take ``self``'s dtype)."""
    _options("new_tensor", device)
    if type(requires_grad) is not bool:  # (PyTorch's TypeError names new_tensor; s29 BR20)
        _requiring_grad(None, requires_grad, "new_tensor", none=False)
    if isinstance(data, Tensor):
        copy_construct_warning("tensor.new_tensor")
    if isinstance(data, Tensor):  # (bfloat16 through float32, exact: its .numpy() refuses)
        data = data.detach()._data if data._data.dtype.kind != "V" else data._data.astype("f4")
    return tensor(data, dtype=self.dtype if dtype is None else dtype,
                  requires_grad=requires_grad)
