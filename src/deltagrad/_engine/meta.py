"""Meta tensors (PyTorch's ``device("meta")``): shape, dtype and autograd, but no data.

A meta tensor's ``_data`` is a ``MetaArray``: an object that answers NumPy's protocols
(``__array_ufunc__``, ``__array_function__``, methods, indexing, operators) by working out the
result's shape and dtype and returning another ``MetaArray``, so every registered op's forward
runs unchanged and the engine's one result path keeps the result meta. Nothing on the float32
hot path tests for it: a forward on meta inputs returns a non-ndarray, which the engine already
sends down its rare branch (``tensor.py``: ``type(data) is not _ndarray``). Reading values
(``numpy``, ``item``, ``tolist``, ``bool``) raises PyTorch's errors (TypeError, RuntimeError,
NotImplementedError), so a meta tensor can never turn silently into numbers.

This module imports only NumPy (it sits below ``device`` and ``tensor``); what Tensor itself
answers (``device``, ``is_meta``, ``to("meta")``, repr) and the factories' meta forms are in
``api/meta_device.py``. ``nn.init`` leaves meta tensors alone; ``Module.to_empty`` and
``load_state_dict(assign=True)`` give them storage.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["MetaArray", "default_is_meta", "is_meta", "meta_recover", "names_meta"]

NO_DATA = "Cannot copy out of meta tensor; no data!"
NO_ITEM = "Tensor.item() cannot be called on meta tensors"
NO_NUMPY = ("can't convert meta device type tensor to numpy. Use Tensor.cpu() to copy the "
            "tensor to host memory first.")
_DATA_DEPENDENT = ("Cannot compute a data-dependent result on a meta tensor ({}): the result's "
                   "shape or value depends on values a meta tensor does not have")


class NoValues(TypeError):
    """Values of a meta tensor were asked for. A TypeError, so that the engine's forward error
    handler sees it (``meta_recover``): a forward that reads its meta input's values
    (``np.asarray``, a test of a value) is run again on zeros of the inputs' shapes."""


class NoData(NotImplementedError, NoValues):
    """An array of a meta tensor's values: PyTorch's NotImplementedError."""


class NoItem(RuntimeError, NoValues):
    """One value of a meta tensor (``item``, ``bool``, ``float``): PyTorch's RuntimeError."""


class NoIndex(NoItem):
    """A meta tensor used as a number (``int``, ``float``, ``operator.index``: a dim, a size,
    a fill value): PyTorch's RuntimeError. Unlike a value test, never worked around by
    running again on zeros (``api/meta_ops.py``): that would make up the number."""


class _State:
    default_meta = False  # set_default_device("meta") / `with device("meta"):`
    stack: list = []  # the defaults the open `with device(...)` blocks replaced


def default_is_meta() -> bool:
    """Whether factories without ``device=`` make meta tensors now."""
    return _State.default_meta


def names_meta(value) -> bool:
    """Whether a ``device=`` argument (a string, a device, None) names the meta device."""
    if value is None:
        return False
    if isinstance(value, str):
        return value == "meta" or value.startswith("meta:")
    return getattr(value, "type", None) == "meta"


def set_default_meta(flag: bool) -> None:
    _State.default_meta = bool(flag)


def enter_device(is_meta_device: bool) -> None:
    """``with device(d):`` starts: ``d`` (meta or the CPU) is the factories' default."""
    _State.stack.append(_State.default_meta)
    _State.default_meta = is_meta_device


def exit_device() -> None:
    _State.default_meta = _State.stack.pop() if _State.stack else False


def _c_strides(shape: tuple, itemsize: int) -> tuple:
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


class MetaArray:
    """An array's shape and dtype with no elements: what a meta tensor holds as ``_data``.

    NumPy calls on it (ufuncs, ``np.*`` functions, methods, indexing, operators) return
    MetaArrays of the result's shape and dtype. Elementwise ufuncs work the shape out from the
    shapes alone; anything else runs on a stand-in of zeros with zero strides (no memory for
    the inputs; the result's memory is dropped at once), so that NumPy's own rules decide the
    shape and dtype. Ops whose result depends on the values (``nonzero``, boolean masks)
    raise ``NotImplementedError``, as PyTorch's meta kernels do.
    """

    __slots__ = ("shape", "dtype", "_strides", "_offset", "_storage", "__weakref__")
    __array_priority__ = 2000  # (over ndarray's and Tensor's: NumPy asks this class first)
    # Whether any meta array was ever made in this process (copies and unpickling included:
    # they go through __new__): until then meta_ops' fallback skips looking for one.
    made = False

    def __new__(cls, *args, **kwargs):
        MetaArray.made = True
        return super().__new__(cls)

    def __init__(self, shape, dtype, strides=None) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self._strides = strides  # (bytes, as NumPy's; None: row-major)
        self._offset = 0  # a view's first element in its base's storage, in bytes
        self._storage = None  # a view's base's storage, in bytes (None: this array's own)

    @classmethod
    def like(cls, array, dtype=None) -> MetaArray:
        """A meta array of ``array``'s shape (and dtype unless given) laid out as PyTorch's
        preserve_format copy is: ``array``'s own layout where it is non-overlapping and dense
        (a transposed tensor stays transposed), else row-major."""
        dtype = array.dtype if dtype is None else np.dtype(dtype)
        return cls(array.shape, dtype, _dense_layout(array.shape, array.strides,
                                                     array.itemsize, dtype.itemsize))

    # ------------------------------------------------------------ what an array answers

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def strides(self) -> tuple:
        if self._strides is None:
            return _c_strides(self.shape, self.dtype.itemsize)
        return self._strides

    @property
    def base(self):
        return None

    @property
    def storage_nbytes(self) -> int:
        """The bytes of the storage this array views (PyTorch's meta storages have sizes)."""
        return self.nbytes if self._storage is None else self._storage

    @property
    def flags(self):
        if self._strides is None or self._strides == _c_strides(self.shape, self.itemsize):
            return _FLAGS  # (a new array's: writes are accepted and store nothing)
        return _Flags(c_contiguous=_is_c_order(self.shape, self._strides, self.itemsize))

    def _probe(self) -> np.ndarray:
        """An array of this shape and these strides over one element, for views only (a
        transpose, a basic index): NumPy works their strides out without reading elements;
        nothing reads it (its other elements are not there)."""
        return np.lib.stride_tricks.as_strided(np.zeros(1, self.dtype), self.shape,
                                               self.strides, writeable=False)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"

    def stand_in(self) -> np.ndarray:
        """Zeros of this shape and dtype, read-only, with zero strides (no memory)."""
        return np.broadcast_to(np.zeros((), self.dtype), self.shape)

    # ------------------------------------------------------------ reading values: refused

    def __array__(self, dtype=None, copy=None):
        raise NoData(NO_DATA)

    def item(self, *args):
        raise NoItem(NO_ITEM)

    def tolist(self):
        raise NotImplementedError(NO_DATA)

    def tobytes(self, *args, **kwargs):
        raise NotImplementedError(NO_DATA)

    def __bool__(self) -> bool:
        raise NoItem(NO_ITEM)

    def __float__(self) -> float:
        raise NoIndex(NO_ITEM)

    def __int__(self) -> int:
        raise NoIndex(NO_ITEM)

    def __index__(self) -> int:
        raise NoIndex(NO_ITEM)

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    # ------------------------------------------------------------ results without values

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        return MetaArray.like(self, dtype) if order == "K" else MetaArray(self.shape, dtype)

    def copy(self, order="C"):
        return MetaArray(self.shape, self.dtype)

    def view(self, dtype=None, type=None):  # noqa: A002 - NumPy's argument name
        if dtype is None or np.dtype(dtype) == self.dtype:
            out = MetaArray(self.shape, self.dtype, self._strides)
            out._offset, out._storage = self._offset, self.storage_nbytes  # (the same storage)
            return out
        probe = self._probe()  # (its strides: the last dim's decides a size change)
        return _view(self, probe, probe.view(dtype))

    def __getattr__(self, name: str):
        # Methods and properties not defined here (reshape, transpose, sum, T, ...): run on the
        # stand-in, results made meta. Private and protocol names (`__array_interface__`
        # would hand NumPy the stand-in's zeros) are refused.
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _VIEW_METHODS:
            return _view_method(self, name)
        value = getattr(self.stand_in(), name)
        if callable(value):
            @functools.wraps(value)
            def method(*args, **kwargs):
                with np.errstate(all="ignore"):
                    return _wrap(value(*_stand_ins(args), **_stand_ins(kwargs)))
            return method
        return _wrap(value)

    def __getitem__(self, key):
        if _is_basic(key):  # a view: its strides, from a probe
            probe = self._probe()
            return _view(self, probe, probe[key])
        key = _index_stand_ins(key)
        return _wrap(self.stand_in()[key])

    def __setitem__(self, key, value) -> None:
        # Writing into a meta array stores nothing (PyTorch: copy_ into meta is a no-op); the
        # shapes are still checked.
        np.broadcast_shapes(np.shape(_stand_in_of(value)), np.shape(self.stand_in()[
            _index_stand_ins(key)]))

    def fill(self, value) -> None:
        return None

    # ------------------------------------------------------------ NumPy's protocols

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if out is not None:
            targets = out if isinstance(out, tuple) else (out,)
            if any(type(target) is not MetaArray for target in targets):
                raise NoData(NO_DATA)  # (meta values written into an array)
        if method == "at" and type(inputs[0]) is not MetaArray:  # (np.add.at(array, i, meta))
            raise NoData(NO_DATA)
        with np.errstate(all="ignore"):
            if method == "__call__" and ufunc.signature is None and "where" not in kwargs:
                shape = np.broadcast_shapes(*(np.shape(_shape_only(x)) for x in inputs))
                small = [np.zeros((), x.dtype) if isinstance(x, (MetaArray, np.ndarray)) else x
                         for x in inputs]
                result = ufunc(*small, **kwargs)
                if isinstance(result, tuple):
                    return tuple(MetaArray(shape, r.dtype) for r in result)
                dtype = np.asarray(result).dtype
                return MetaArray(shape, dtype, _elementwise_layout(inputs, shape, dtype))
            kwargs = _stand_ins(kwargs)
            result = getattr(ufunc, method)(*_stand_ins(inputs), **kwargs)
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        name = getattr(func, "__name__", str(func))
        if name in _REFUSED:
            raise NotImplementedError(_DATA_DEPENDENT.format(name))
        if name in _WRITERS:  # copyto(dst, src), put, place, putmask: writes into dst
            target = args[0] if args else next(iter(kwargs.values()))
            if type(target) is MetaArray:
                return None
            raise NoData(NO_DATA)
        if kwargs.get("out") is not None and type(kwargs["out"]) is not MetaArray:
            raise NoData(NO_DATA)
        kwargs = {k: v for k, v in kwargs.items() if k != "out"}
        if name in _VIEW_FUNCTIONS and args and type(args[0]) is MetaArray:
            probe = args[0]._probe()
            return _view(args[0], probe, func(probe, *_stand_ins(args[1:]), **kwargs))
        with np.errstate(all="ignore"):
            result = func(*_stand_ins(args), **_stand_ins(kwargs))
        if name in _VALUES_ONLY:  # (Python bools and ints too: never a value)
            return MetaArray(np.shape(result), np.asarray(result).dtype)
        return _wrap(result)


class _Flags:
    """What ``MetaArray.flags`` answers: a fresh C-ordered array's flags (or a strided
    view's: ``c_contiguous`` False)."""

    writeable = owndata = aligned = True
    f_contiguous = fortran = False

    def __init__(self, c_contiguous: bool = True) -> None:
        self.c_contiguous = self.contiguous = c_contiguous

    def __getitem__(self, name: str) -> bool:
        return getattr(self, name.lower())


_FLAGS = _Flags()

# Views whose strides a MetaArray with strides works out on its probe (they read no element;
# reshape only where NumPy can without a copy).
_VIEW_METHODS = frozenset({"transpose", "swapaxes", "T", "mT", "squeeze", "diagonal",
                           "reshape"})
_VIEW_FUNCTIONS = frozenset({"transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims",
                             "broadcast_to", "diagonal", "reshape"})


def _view_method(array: MetaArray, name: str):
    probe = array._probe()
    value = getattr(probe, name)
    if not callable(value):
        return _view(array, probe, value)

    def method(*args, **kwargs):
        if name == "reshape":
            try:
                return _view(array, probe, value(*args, **kwargs, copy=False))
            except ValueError:  # (a copy: row-major, as PyTorch's reshape of such a view)
                return _wrap(getattr(array.stand_in(), name)(*args, **kwargs))
        return _view(array, probe, value(*args, **kwargs))
    return method


def _view(array: MetaArray, probe: np.ndarray, result):
    """``result`` (a view of ``array``'s probe, or views in a tuple or list) made meta, with
    its place in ``array``'s storage: PyTorch's meta views report ``storage_offset()`` and
    ``data_ptr()`` (the offset in bytes; accelerate keys tied weights on it)."""
    if type(result) is tuple or type(result) is list:
        return type(result)(_view(array, probe, r) for r in result)
    out = _wrap(result)
    if isinstance(result, np.ndarray) and type(out) is MetaArray:
        start = probe.__array_interface__["data"][0]
        out._offset = array._offset + result.__array_interface__["data"][0] - start
        out._storage = array.storage_nbytes
    return out


def _elementwise_layout(inputs, shape, dtype):
    """An elementwise result's strides: its full-shape meta inputs' layout where they share
    one that is dense and not row-major (``x.t() + 1`` stays transposed, as PyTorch's and
    NumPy's); else None (row-major)."""
    layouts = {_dense_layout(x.shape, x.strides, x.itemsize, dtype.itemsize)
               for x in inputs if type(x) is MetaArray and x.shape == shape and x._strides}
    return layouts.pop() if len(layouts) == 1 else None


def _is_basic(key) -> bool:
    """Whether an index takes a view (ints, slices, None, Ellipsis only)."""
    for k in key if type(key) is tuple else (key,):
        if not (k is None or k is Ellipsis or type(k) in (int, slice)):
            return False
    return True


def _is_c_order(shape, strides, itemsize) -> bool:
    step = itemsize
    for n, stride in zip(reversed(shape), reversed(strides)):
        if n != 1 and stride != step:
            return False
        step *= n
    return True


def _dense_layout(shape, strides, itemsize, new_itemsize):
    """``strides`` rescaled to ``new_itemsize`` where they lay ``shape`` out without overlap
    or gaps in some order of the dims, and not row-major; else None (row-major)."""
    if not shape or 0 in shape or _is_c_order(shape, strides, itemsize):
        return None
    order = sorted(range(len(shape)), key=lambda d: (strides[d], -d) if shape[d] != 1
                   else (-1, -d))
    step = itemsize
    for d in order:
        if shape[d] != 1:
            if strides[d] != step:
                return None
            step *= shape[d]
    return tuple(s // itemsize * new_itemsize for s in strides)


# Functions whose result depends on the values: refused on meta inputs, as PyTorch's.
_REFUSED = frozenset({
    "nonzero", "flatnonzero", "argwhere", "unique", "unique_values", "unique_counts",
    "unique_inverse", "unique_all", "extract", "compress", "trim_zeros", "bincount", "histogram",
    "histogram_bin_edges",
    "array2string", "array_repr", "array_str", "save", "savez", "savetxt", "tofile",
})
# Functions whose result's values depend on the values but its shape does not: a meta result
# (a test of it, `if np.count_nonzero(...)`, raises NoItem; the engine then reruns the forward).
_VALUES_ONLY = frozenset({"count_nonzero", "allclose", "array_equal", "array_equiv", "isclose"})
_WRITERS = frozenset({"copyto", "put", "place", "putmask", "put_along_axis", "fill_diagonal"})


def _shape_only(value):
    return _Shape(value.shape) if isinstance(value, (MetaArray, np.ndarray)) else value


class _Shape:
    """Something ``np.shape`` reads a shape from, without an array."""

    __slots__ = ("shape",)

    def __init__(self, shape) -> None:
        self.shape = shape


def _stand_in_of(value):
    return value.stand_in() if type(value) is MetaArray else value


def _stand_ins(value):
    """``value`` with every MetaArray (in tuples, lists and dicts too) replaced by its
    stand-in of zeros."""
    kind = type(value)
    if kind is MetaArray:
        return value.stand_in()
    if kind is tuple or kind is list:
        return kind(_stand_ins(v) for v in value)
    if kind is dict:
        return {k: _stand_ins(v) for k, v in value.items()}
    return value


def _index_stand_ins(key):
    """An index with meta parts: integer arrays become zeros of their shape (the result's shape
    does not depend on their values); a boolean mask's result would, so it is refused."""
    if type(key) is tuple:
        return tuple(_index_stand_ins(k) for k in key)
    if type(key) is MetaArray:
        if key.dtype.kind == "b":
            raise NotImplementedError(_DATA_DEPENDENT.format("boolean mask indexing"))
        return key.stand_in()
    return key


def meta_index(index: MetaArray) -> MetaArray:
    """A meta tensor used as an index (subscripts.py): integers (the result's shape does not
    depend on their values); a mask's would (PyTorch's NotImplementedError), a 0-d index is a
    value (PyTorch's RuntimeError)."""
    if index.dtype.kind == "b" or index.dtype in (np.uint8, np.int8):  # (int8: as PyTorch's meta)
        raise NotImplementedError(_DATA_DEPENDENT.format("boolean mask indexing"))
    if index.dtype not in (np.int64, np.int32):  # (int8 and int16 too, as PyTorch's)
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, "
                         f"got {index.dtype}")
    if not index.shape:
        raise NoItem(NO_ITEM)
    return index


def _wrap(result):
    """NumPy results made meta (arrays and NumPy scalars; tuples and lists of them), with
    their strides where not row-major (a stand-in's zero strides are no layout: row-major)."""
    if isinstance(result, np.ndarray):
        strides = result.strides
        if any(strides) and not _is_c_order(result.shape, strides, result.itemsize):
            return MetaArray(result.shape, result.dtype, strides)
        return MetaArray(result.shape, result.dtype)
    if isinstance(result, np.generic):
        return MetaArray(np.shape(result), result.dtype)
    if type(result) is tuple or type(result) is list:
        return type(result)(_wrap(r) for r in result)
    return result


def _operator(ufunc, reflected: bool = False):
    if reflected:
        def method(self, other):
            return self.__array_ufunc__(ufunc, "__call__", other, self)
    else:
        def method(self, other):
            return self.__array_ufunc__(ufunc, "__call__", self, other)
    return method


for _name, _ufunc in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                      ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                      ("mod", np.remainder), ("pow", np.power), ("matmul", np.matmul),
                      ("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor),
                      ("lshift", np.left_shift), ("rshift", np.right_shift)):
    setattr(MetaArray, f"__{_name}__", _operator(_ufunc))
    setattr(MetaArray, f"__r{_name}__", _operator(_ufunc, reflected=True))
for _name, _ufunc in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                      ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
    setattr(MetaArray, f"__{_name}__", _operator(_ufunc))
MetaArray.__hash__ = None
for _name, _ufunc in (("neg", np.negative), ("pos", np.positive), ("abs", np.absolute),
                      ("invert", np.invert)):
    setattr(MetaArray, f"__{_name}__",
            functools.partialmethod(lambda self, u: self.__array_ufunc__(u, "__call__", self),
                                    _ufunc))
del _name, _ufunc


# ----------------------------------------------------------------------------------------------
# Tensors.


def meta_recover(forward_error, op, inputs, attrs, error):
    """The engine's handler of a forward's ValueError or TypeError (tensor.py, which passes its
    ``_forward_error``: the error naming the op, raised for inputs with values). With meta
    inputs (the forward read them with ``np.asarray``: ``NoData``, or used an array feature a
    MetaArray lacks), the forward is run again on zeros of the meta inputs' shapes (calloc'd:
    no memory touched) and its result made meta; otherwise, or if that fails too, the error
    becomes the engine's error naming the op, as before."""
    if not any(type(x._data) is MetaArray for x in inputs):
        raise forward_error(op, inputs, error) from None
    arrays = [_laid_out_zeros(x._data) if type(x._data) is MetaArray else x._data
              for x in inputs]
    try:
        with np.errstate(all="ignore"):
            data = op.forward(*arrays, **(attrs or {}))
    except (ValueError, TypeError) as real_error:  # (wrong shapes: the op's own error)
        raise forward_error(op, inputs, real_error) from None
    if isinstance(data, np.ndarray):
        for x, a in zip(inputs, arrays):
            if type(x._data) is MetaArray and np.may_share_memory(data, a):
                # a view of an input (expand's, as_strided's): its strides, and its place in
                # the input's storage (as_strided's offset counts from the storage's start)
                out = _view(x._data, a, data)
                if op.name == "as_strided":
                    out._offset -= x._data._offset
                return out
    return MetaArray(np.shape(data), np.asarray(data).dtype)


def _laid_out_zeros(array: MetaArray) -> np.ndarray:
    """Zeros of ``array``'s shape, dtype and (non-negative) strides (calloc'd)."""
    strides = array._strides
    if strides is None or min(strides, default=0) < 0:
        return np.zeros(array.shape, array.dtype)
    extent = 1 + sum((n - 1) * s for n, s in zip(array.shape, strides)) // array.itemsize
    if 0 in array.shape:
        extent = 1
    return np.lib.stride_tricks.as_strided(np.zeros(extent, array.dtype), array.shape, strides)


def is_meta(tensor) -> bool:
    """Whether ``tensor`` (a Tensor) is a meta tensor."""
    return type(getattr(tensor, "_data", None)) is MetaArray



def meta_grad(leaf, g, wrap):
    """A meta gradient ``g`` reaching ``leaf`` with no ``.grad`` yet (autograd.py): a meta
    leaf's ``.grad``, as it is; a leaf with values cannot take a gradient without any
    (PyTorch's NotImplementedError)."""
    if type(leaf._data) is not MetaArray:
        raise NotImplementedError(NO_DATA)
    return wrap(g)


def meta_vjp(vjp):
    """``vjp`` (a registered op's rule) for a node of a meta graph (autograd.py's watched
    sweep): the gradients it gives made meta (a rule may build a gradient from fresh zeros, or
    from a constant with values, and a meta graph's gradients have no values); a rule that
    reads a meta array's values (``out[index] = g``, ``np.add.at``) is run again on zeros of
    the meta arrays' shapes (calloc'd: untouched pages take no memory), for the shapes and
    dtypes only."""
    @functools.wraps(vjp)
    def rule(F, g, out, *xs, **attrs):
        try:
            with np.errstate(all="ignore"):
                grads = vjp(F, g, out, *xs, **attrs)
        except Exception:  # noqa: BLE001 - NoValues, or a feature a MetaArray lacks
            with np.errstate(all="ignore"):
                grads = vjp(F, _zeros(g), _zeros(out), *(_zeros(x) for x in xs),
                            **{k: _zeros(v) for k, v in attrs.items()})
        return tuple(None if gx is None else MetaArray(np.shape(_shape_only(gx)), gx.dtype)
                     for gx in grads)
    return rule


def _zeros(value):
    """A MetaArray as zeros of its shape and dtype (a writeable array: a rule may write into
    it), in tuples and lists too (an index); anything else as it is."""
    if type(value) is MetaArray:
        return np.zeros(value.shape, value.dtype)
    if type(value) is tuple or type(value) is list:
        return type(value)(_zeros(v) for v in value)
    return value
