"""Views and tensors given by explicit strides over a storage (``as_strided``, ``as_strided_``,
``as_strided_scatter``, ``empty_strided``, ``new_empty_strided``) and in-place resizing
(``resize_``, ``resize_as_``).

A tensor's storage is the memory block its ndarray views (``api/storage.py``); sizes, strides
and offsets count elements of it, as in PyTorch. The ``as_strided`` op's gradient sums the
output's gradient into the storage positions it read (overlapping windows add up), then reads
the input's positions back, dividing by how many of the input's elements share each position
(an expanded input), as PyTorch's does.
"""

from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from .. import dtypes
from ..modes import MAPPED, VMAP_SHIFTS, by_user
from ..ops import ARRAY, OPS
from ..ops.registry import Sample, register
from ..tensor import Tensor, _leaf, apply, tensor_method
from ..versions import _root
from ._common import index_or_none
from .creation import _options, contiguous_format
from .factories import type_words
from .pointwise import where
from .storage import _block

__all__ = ["as_strided", "as_strided_", "as_strided_scatter", "empty_strided", "resize_as_"]


def _storage_of(data: np.ndarray) -> tuple:
    """The storage ``data`` views, as a 1-d array of its dtype, and where ``data`` starts in it
    (in elements)."""
    if data.base is None and data.flags.c_contiguous:
        # An array that owns its memory in row-major order is its storage, from its start:
        # no block to find, no addresses (``__array_interface__`` builds a dict, 1.1 us a
        # read, and as_strided read four: see _as_strided_vjp_array for the op's numbers).
        return data.reshape(-1), 0
    block = _block(data)
    usable = block.size - block.size % data.itemsize
    elements = block[:usable].view(data.dtype)
    start = (data.ctypes.data - elements.ctypes.data) // data.itemsize  # (0.8 us a read)
    return elements, start


def _positions(size: tuple, stride: tuple, offset: int) -> np.ndarray:
    """The storage position of each element of a ``size`` tensor with ``stride`` and
    ``offset`` (an int64 array of shape ``size``)."""
    if 0 not in size and all([step >= 0 for step in stride]):
        # The positions are a strided view of 0, 1, 2, ... up to the last one read: three
        # NumPy calls, not four a dim (the overlapping [3, 3] window: 2.4 -> 1.0 us).
        last = offset + sum([(n - 1) * step for n, step in zip(size, stride)])
        counting = np.arange(last + 1, dtype=np.int64)
        return np.ndarray(size, np.int64, buffer=counting, offset=offset * 8,
                          strides=tuple([step * 8 for step in stride])).copy()
    positions = np.full(size, offset, dtype=np.int64)
    for dim, (n, step) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[dim] = n
        positions += np.arange(n, dtype=np.int64).reshape(shape) * step
    return positions


def _element_strides(data: np.ndarray) -> tuple:
    return tuple(s // data.itemsize for s in data.strides)


def _as_strided_forward(x, *, size, stride, storage_offset):
    elements, _ = _storage_of(x)
    # A view of the storage (writes through it show in x), writable where no two of its
    # elements share a position (NumPy's buffered writes would not give PyTorch's result).
    # (np.ndarray over the storage rather than stride_tricks.as_strided, so that the view's
    # base is the storage array: storage_offset() and a further as_strided find the block)
    if 0 in size:
        storage_offset = 0  # (nothing is read; NumPy checks the offset against the buffer)
    # (strides through a list, not a generator: 0.5 against 1.0 us; with the rule's,
    # as_strided's fwd + bwd on [3, 4] 0.92 of its time, paired, thread time)
    view = np.ndarray(size, x.dtype, buffer=elements, offset=storage_offset * x.itemsize,
                      strides=tuple([s * x.itemsize for s in stride]))
    if view.flags.writeable and not _distinct(size, stride):
        view.flags.writeable = False
    return view


def _distinct(size: tuple, stride: tuple) -> bool:
    """Whether no two elements of the view share a position: each dim's stride, smallest
    first, steps past everything the smaller ones span (a sufficient test: a view it cannot
    vouch for is read-only, so in-place writes into it raise)."""
    # (Cached per geometry: asked three times a forward + backward, 0.7 us each on 2 dims;
    # with the caches of _geometry and _as_strided_vjp_array, op_overhead.py --ops
    # as_strided, one thread: 0.95 -> 0.67 x PyTorch.)
    key = (size, stride)
    known = _DISTINCT.get(key)
    if known is None:
        if len(_DISTINCT) >= 256:
            _DISTINCT.clear()
        known = _DISTINCT[key] = _distinct_uncached(size, stride)
    return known


_DISTINCT: dict = {}


def _distinct_uncached(size: tuple, stride: tuple) -> bool:
    span = 0
    for n, step in sorted((pair for pair in zip(size, stride) if pair[0] > 1),
                          key=lambda pair: pair[1]):
        if step <= span:
            return False
        span += (n - 1) * step
    return True


def _as_strided_vjp(F, g, out, x, *, size, stride, storage_offset):
    if F is ARRAY and type(g) is np.ndarray:
        grad = _as_strided_vjp_array(g, x, size, stride, storage_offset)
        if grad is not None:
            return (grad,)
    data = F.data(x)
    elements, start = _storage_of(data)
    read = _positions(size, stride, storage_offset).reshape(-1)
    held = _positions(data.shape, _element_strides(data), start).reshape(-1)
    # The output's gradient summed into the storage (positions read twice get both), then
    # read back at the input's positions.
    storage = F.index_add_zeros(F.reshape(g, (-1,)), (read,), (elements.size,), data.dtype)
    grad = F.getitem(storage, (held,))
    sharing = np.bincount(held, minlength=elements.size)[held]
    if (sharing > 1).any():
        # NOTE: input elements that share a position (an expanded input) split its gradient
        # evenly, as PyTorch's as_strided_backward does.
        grad = grad * F.const((1.0 / sharing).astype(data.dtype))
    return (F.reshape(grad, data.shape),)


def _as_strided_vjp_array(g, x, size, stride, storage_offset):
    """The VJP over arrays where no two of the input's elements share a storage position:
    the gradient written into a zero storage through the output's strides (summed where the
    output reads a position twice), then read back through the input's, as PyTorch copies it.
    None for an input with shared positions (the general rule's case). No index arrays or
    bincount of the input's positions: with _storage_of's owner case, op_overhead.py's
    as_strided 47.5 -> 17-19 us, 2.07 -> 0.87-0.94x PyTorch."""
    itemsize = x.itemsize
    key = (x.shape, x.strides, itemsize)
    plain = _PLAIN_INPUTS.get(key)
    if plain is None:  # (cached per layout: 1.2 us of generators a call)
        if len(_PLAIN_INPUTS) >= 256:
            _PLAIN_INPUTS.clear()
        plain = _PLAIN_INPUTS[key] = not any(s < 0 or s % itemsize for s in x.strides) and (
            _distinct(x.shape, tuple(s // itemsize for s in x.strides)))
    if not plain:
        return None
    elements, start = _storage_of(x)
    if 0 in size:
        storage = np.zeros(elements.size, x.dtype)
    elif _distinct(size, stride):
        storage = np.zeros(elements.size, x.dtype)
        written = np.ndarray(size, x.dtype, buffer=storage, offset=storage_offset * itemsize,
                             strides=tuple([s * itemsize for s in stride]))
        written[...] = g
    else:  # positions read more than once sum their gradients, in order
        read = _positions(size, stride, storage_offset).reshape(-1)
        if x.dtype == np.float64 and g.dtype == np.float64:
            # (bincount adds in the same order into float64 zeros: np.add.at's sums, 0.7
            # against 1.7 us on the [3, 3] windows of [5])
            storage = np.bincount(read, g.reshape(-1), elements.size)
        else:
            storage = np.zeros(elements.size, x.dtype)
            np.add.at(storage, read, g.reshape(-1))
    if x.size == 0:
        return np.zeros(x.shape, x.dtype)
    # (a new array in the input's shape: the leaf's .grad may keep it)
    return np.ndarray(x.shape, x.dtype, buffer=storage, offset=start * itemsize,
                      strides=x.strides).copy()


_PLAIN_INPUTS: dict = {}  # (shape, strides, itemsize) -> no shared or unaligned positions


register("as_strided", forward=_as_strided_forward, vjp=_as_strided_vjp,
         samples=lambda rng: [
             Sample((rng.standard_normal(6),),
                    {"size": (2, 2), "stride": (3, 1), "storage_offset": 1}),
             Sample((rng.standard_normal(5),),
                    {"size": (3, 3), "stride": (1, 1), "storage_offset": 0}, "overlapping"),
             Sample((rng.standard_normal((3, 4)),),
                    {"size": (4, 2), "stride": (1, 4), "storage_offset": 2})])

_AS_STRIDED = OPS["as_strided"]
# tensor.py lists the view ops (_VIEW_RESULTS) when it is imported, before this module
# registers as_strided, which its list then misses: without it a bfloat16 as_strided ran on a
# float32 copy (an offset read from the copy, not the storage) and detach_ took an
# as_strided view.
_tensor_module = sys.modules[Tensor.__module__]
_tensor_module._VIEW_RESULTS = _tensor_module._VIEW_RESULTS | {_AS_STRIDED}


def _int_tuple(values, name: str) -> tuple:
    if type(values) is tuple and all([type(value) is int for value in values]):
        return values  # (the usual call: no ABC checks, 0.15 us an element)
    if type(values) is list and all([type(value) is int for value in values]):
        # (a list: OpInfo's samples, empty_permuted's strides; new_empty_strided([2, 0],
        # [3, 4]) 8.1 -> 5.4 us, thread time, alternated with HEAD in one process)
        return tuple(values)
    if isinstance(values, numbers.Integral):
        values = (values,)
    out = []
    for value in values:
        if isinstance(value, Tensor):
            value = value.item()
        # (PyTorch's parser checks the type of the first element only: a later bool is an int,
        # empty_strided((2, True), ...) is (2, 1), but (True, 2) is its TypeError)
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) and not out:
            if isinstance(value, bool) or index_or_none(value) is None:  # (an __index__
                # object is an int to PyTorch)
                raise TypeError(f"as_strided(): argument '{name}' must be tuple of ints, but "
                                f"found element of type {type(value).__name__}")
            value = index_or_none(value)
        out.append(int(value))
    return tuple(out)


def _geometry(size, stride, storage_offset, available: int, itemsize: int) -> tuple:
    """The checked ``(size, stride, offset)`` of a strided view into a storage of
    ``available`` elements (PyTorch's errors)."""
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    key = (size, stride, storage_offset, available, itemsize)
    if type(storage_offset) is int and key in _GEOMETRIES:  # (checked before: 1.5 us)
        return size, stride, storage_offset
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(size)}: {list(size)}")
    if isinstance(storage_offset, (bool, float, np.bool_, np.floating)):  # (PyTorch's parser)
        raise TypeError(f"as_strided(): argument 'storage_offset' must be int, not "
                        f"{type(storage_offset).__name__}")
    offset = int(storage_offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    needed = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if needed > available:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {itemsize} requiring a storage size "
                           f"of {needed * itemsize} are out of bounds for storage of size "
                           f"{available * itemsize}")
    if type(storage_offset) is int:
        if len(_GEOMETRIES) >= 256:
            _GEOMETRIES.clear()
        _GEOMETRIES.add(key)
    return size, stride, offset


_GEOMETRIES: set = set()  # the valid (size, stride, offset, available, itemsize) seen


def _t(input) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"as_strided(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    return input


@tensor_method
def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s storage with the given sizes and strides (in elements), starting
    ``storage_offset`` elements in (default: where ``input`` starts). Gradients flow back to
    ``input``; elements read more than once add up.

    >>> import deltagrad as dg
    >>> dg.arange(6.0).as_strided((2, 2), (1, 2), 1)
    tensor([[1., 3.],
            [2., 4.]])
    """
    input = _t(input)
    data = input._data
    elements, start = _storage_of(data)
    size, stride, offset = _geometry(size, stride, start if storage_offset is None
                                     else storage_offset, elements.size, data.itemsize)
    if VMAP_SHIFTS and storage_offset is not None:
        offset = _vmap_offset(input, size, stride, offset, start)
    out = apply(_AS_STRIDED, input, size=size, stride=stride, storage_offset=offset)
    if out._rg:
        # NOTE: deltagrad's autograd cannot replay an in-place change made through an
        # arbitrary strided view onto its base (PyTorch's AsStridedBackward rebase), so such a
        # view is read-only: writing into it raises instead of leaving a wrong gradient.
        out._data.flags.writeable = False
    return out


def _vmap_offset(input: Tensor, size: tuple, stride: tuple, offset: int, start: int) -> int:
    """``offset`` for the running example of vmap's loop when ``input`` views a mapped input's
    storage: PyTorch's batched as_strided reads each example's own elements (the offset is the
    first example's, moved by the example's distance from it), and refuses a view reaching
    past the memory ``input`` itself can reach (its error)."""
    key = id(_root(input._data))
    if key not in VMAP_SHIFTS:  # (not a mapped input's storage: a captured tensor, say)
        return offset
    if VMAP_SHIFTS[key] is None:
        raise NotImplementedError("as_strided under deltagrad's vmap: two mapped inputs share "
                                  "this tensor's storage with different strides; clone() one")
    shift, low, high = _running_example(VMAP_SHIFTS[key])
    if not low <= input._data.ctypes.data <= high:  # (a captured view of the storage)
        return offset
    reach = 0 if 0 in size else sum((n - 1) * s for n, s in zip(size, stride))
    own = 0 if 0 in input.shape else sum(
        (n - 1) * s for n, s in zip(input.shape, _element_strides(input._data)))
    first = start - shift  # (where ``input`` starts in the first example)
    if 0 not in size and (offset < first or offset + reach > first + own):
        raise RuntimeError(
            f"result = tensor.as_strided({list(size)}, {list(stride)}, {offset}) can access "
            f"memory outside of `tensor`. `result` can access some memory in range [{offset}, "
            f"{offset + reach + 1}], but `tensor` can only access some memory in range [{first}, "
            f"{first + own + 1}]. This is not supported inside of vmap, please try to rewrite the "
            "`as_strided` call as a sequence of PyTorch view operations")
    return offset + shift


def _running_example(entry: tuple) -> tuple[int, int, int]:
    """(shift in elements, first and last byte address) of the running example of the vmap
    that made ``entry`` (deltagrad/_func_vmap.py: step, first example's addresses, step in
    bytes, the enclosing vmap's entry, [running index])."""
    step, low, high, width, outer, current = entry
    index = current[0]
    base = 0 if outer is None else _running_example(outer)[0]
    return base + index * step, low + index * width, high + index * width


@tensor_method
def as_strided_(self: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """In place: make this tensor the strided view ``as_strided`` gives (on tensors that do
    not require grad; deltagrad cannot re-stride a tensor inside the graph)."""
    if self._rg:  # (_rg: a forward-AD dual's graph too; s31 BR26)
        raise RuntimeError("as_strided_: deltagrad does not support re-striding in place a "
                           "tensor that requires grad (use as_strided)")
    view = as_strided(self, size, stride, storage_offset)
    self._data = view._data
    return self


@tensor_method
def as_strided_scatter(input: Tensor, src: Tensor, size, stride,
                       storage_offset: int | None = None) -> Tensor:
    """A copy of ``input`` (its layout kept) with ``src`` written into the strided view
    ``as_strided(size, stride, storage_offset)`` of the copy's storage. Gradients flow to both.

    >>> import deltagrad as dg
    >>> dg.as_strided_scatter(dg.zeros(4), dg.tensor([1.0, 2.0]), (2,), (2,))
    tensor([1., 0., 2., 0.])
    """
    input, src = _t(input), _t(src)
    data = input._data
    if input.requires_grad and not input.is_contiguous():
        raise RuntimeError("as_strided_scatter is currently only supported for contiguous "
                           "inputs")
    if input.storage_offset() != 0:
        # NOTE: PyTorch writes relative to the input's own storage offset here and can reach
        # before the tensor's first element (a result deltagrad will not guess at).
        raise NotImplementedError("as_strided_scatter: an input that starts inside its "
                                  "storage (storage_offset() != 0) is not supported by "
                                  "deltagrad; clone() it first")
    # The copy's storage holds just its elements, in memory order (a clone keeps a dense
    # layout; anything else PyTorch makes row-major).
    strides = _element_strides(data)
    dense = (np.unique(_positions(data.shape, strides, 0)).size == data.size
             and all(s >= 0 for s in strides))
    if not dense:
        strides = tuple(int(s) for s in np.cumprod((1,) + data.shape[:0:-1])[::-1])
    held = _positions(data.shape, strides, 0)
    size, stride, offset = _geometry(size, stride, 0 if storage_offset is None else
                                     storage_offset, data.size, data.itemsize)
    if tuple(src.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size "
                           f"= {list(src.shape)}, slice size = {list(size)}")
    written = _positions(size, stride, offset).reshape(-1)
    if np.unique(written).size < written.size:
        raise NotImplementedError("as_strided_scatter: a view whose elements overlap is not "
                                  "supported by deltagrad (PyTorch's result is undefined)")
    source = np.full(data.size, -1, dtype=np.int64)
    source[written] = np.arange(written.size)
    chosen = source[held]
    mask = _leaf(chosen >= 0)
    values = src.to(input.dtype).reshape(-1)[_leaf(np.maximum(chosen, 0))]
    out = where(mask, values, input)
    if dense and not input.is_contiguous():  # (the copy keeps the input's layout)
        laid_out = empty_strided(tuple(data.shape), strides, dtype=input.dtype)
        return laid_out.copy_(out)
    return out


def empty_strided(size, stride, *, dtype=None, layout=None, device=None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An "uninitialised" tensor (zeros here, so runs are repeatable) with the given sizes and
    strides, over a storage just large enough.

    >>> import deltagrad as dg
    >>> dg.empty_strided((2, 3), (1, 2)).stride()
    (1, 2)
    """
    _options("empty_strided", device, layout)
    if requires_grad is not True and requires_grad is not False and requires_grad is not None:
        raise TypeError(f"empty_strided(): argument 'requires_grad' must be bool, not "
                        f"{type_words(requires_grad)}")  # (PyTorch's parser, s29 BR19)
    target = dtypes.to_numpy(dtype) if dtype is not None else dtypes._Default.float
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(size) == len(stride) and (not size or min(size) > 0):
        # A dense layout (row-major, or its dims permuted: empty_permuted's, channels-last):
        # zeros in memory order, transposed, when that gives the strides asked for (not
        # as_strided's Python: new_empty_strided on (2, 3) 6.9 -> 3.6 us a call).
        order = sorted(range(len(size)), key=stride.__getitem__, reverse=True)
        step = 1
        for d in reversed(order):  # (each stride the product of the sizes inside it)
            if stride[d] != step:
                break
            step *= size[d]
        else:
            axes = [0] * len(size)
            for i, d in enumerate(order):
                axes[d] = i
            values = np.zeros([size[d] for d in order], dtype=target).transpose(axes)
            if values.strides == tuple(s * values.itemsize for s in stride):
                out = _leaf(values)
                return out.requires_grad_() if requires_grad else out
    needed = 0 if 0 in size else 1 + sum((n - 1) * s for n, s in zip(size, stride))
    storage = np.zeros(max(needed, 0), dtype=target)
    size, stride, _ = _geometry(size, stride, 0, storage.size, storage.itemsize)
    # (NumPy's constructor over the storage, not as_strided's Python: 11.2 -> 2.7 us; the view's
    # base is the storage itself)
    view = np.ndarray(size, storage.dtype, buffer=storage,
                      strides=tuple(s * storage.itemsize for s in stride))
    out = _leaf(view)
    return out.requires_grad_() if requires_grad else out


@tensor_method
def new_empty_strided(self: Tensor, size, stride, *, dtype=None, layout=None, device=None,
                      requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``empty_strided`` in this tensor's dtype unless ``dtype`` says otherwise."""
    return empty_strided(size, stride, dtype=self.dtype if dtype is None else dtype,
                         layout=layout, device=device, requires_grad=requires_grad)


@tensor_method
def resize_(self: Tensor, *sizes, size=None, memory_format=None) -> Tensor:
    """In place: give this tensor the shape ``sizes``, row-major over its storage from where it
    starts (its elements kept in memory order; new ones zero). Growing past the storage
    allocates a larger one (other views keep the old one). Not for tensors that require grad,
    as in PyTorch.

    >>> import deltagrad as dg
    >>> dg.arange(6.0).resize_(2, 2)
    tensor([[0., 1.],
            [2., 3.]])
    """
    if self._rg:  # (a forward-AD dual's too: its tangent would not follow)
        raise RuntimeError("cannot resize variables that require grad")
    if memory_format is not None and memory_format is not contiguous_format:
        raise NotImplementedError("resize_: only the contiguous memory_format is supported by "
                                  "deltagrad")
    if size is not None:  # (the sizes by keyword, as PyTorch's method takes them)
        if sizes:
            raise TypeError("resize_() got multiple values for argument 'size'")
        sizes = (size,)
    if len(sizes) == 1 and type(sizes[0]) is not int and not isinstance(sizes[0],
                                                                      numbers.Integral):
        sizes = tuple(sizes[0])
    shape = _int_tuple(sizes, "size")
    if any(n < 0 for n in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: "
                           f"{list(shape)}")
    data = self._data
    if shape == data.shape:
        return self  # (PyTorch leaves a tensor of the same size as it is, strides included)
    # (math.prod of the checked ints, not np.prod's Python wrapper: x.resize_(25).resize_(5, 5)
    # of a [5, 5] x 19.2 -> 10.3 us, thread time, alternated with HEAD in one process)
    count = math.prod(shape)
    elements, start = _storage_of(data)
    if start + count > elements.size:
        grown = np.zeros(start + count, dtype=data.dtype)
        grown[:elements.size] = elements
        elements = grown
    self._data = elements[start:start + count].reshape(shape)
    return self


@tensor_method
def resize_as_(self: Tensor, the_template: Tensor, *, memory_format=None) -> Tensor:
    """``resize_`` to ``the_template``'s shape."""
    if MAPPED and getattr(the_template, "_mapped", False) and not getattr(
            self, "_mapped", False) and by_user(1):
        # (vmap's first example: an unmapped self from a mapped template, PyTorch's refusal)
        raise RuntimeError(
            "vmap: aten::resize_as_(self, *extra_args) is not possible because there exists a "
            "Tensor `other` in extra_args that has more elements than `self`. This happened due "
            "to `other` being vmapped over but `self` not being vmapped over at level 1. Please "
            "try to use out-of-place operators instead of aten::resize_as_. If said operator is "
            "being called inside the PyTorch framework, please file a bug report instead.")
    return resize_(self, tuple(the_template.shape), memory_format=memory_format)
