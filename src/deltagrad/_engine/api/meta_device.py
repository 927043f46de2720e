"""The meta device's Tensor side (the arrays are ``_engine/meta.py``'s): meta leaves,
``Tensor.to("meta")``, ``device`` / ``is_meta`` / repr of meta tensors, and the factories'
meta forms (``zeros(..., device="meta")``, or any factory under ``with device("meta")`` /
``set_default_device("meta")``), which draw no random numbers."""

from __future__ import annotations

import functools
import operator

import numpy as np

from .. import printing
from ..autograd import _GradMode
from ..device import CPU, device
from ..dtypes import _Default, of, to_numpy
from ..dtypes import dtype as dtype_class
from ..meta import NO_DATA, NO_NUMPY, MetaArray, _State, enter_device, exit_device, names_meta
from ..ops import OPS
from ..tensor import _leaf, _result

__all__: list[str] = []  # (internal: nothing re-exported at the top level)


def meta_leaf(shape, dtype, requires_grad: bool = False):
    """A new meta leaf of ``shape`` and ``dtype`` (a NumPy dtype)."""
    out = _leaf(MetaArray(shape, dtype))
    return out.requires_grad_(True) if requires_grad else out


def to_meta(tensor):
    """``tensor`` on the meta device: itself when it is already there, else a meta tensor of
    its shape and dtype: a new leaf, or (PyTorch's ToCopyBackward0) a result recorded in the
    graph when ``tensor`` requires grad and grad mode is on. Its gradient (meta) cannot flow
    back into a tensor with values: backward raises PyTorch's NotImplementedError there."""
    if type(tensor._data) is MetaArray:
        return tensor
    data = MetaArray.like(tensor._data)  # (its layout kept, as PyTorch's `to` keeps it)
    if tensor._rg and _GradMode.enabled:
        return _result(data, OPS["cast"], (tensor,), {"dtype": data.dtype}, True)
    return _leaf(data)


def _size_from(args: tuple, size) -> tuple:
    if size is not None:
        args = (size,)
    if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
        args = tuple(args[0])
    return tuple(operator.index(n) for n in args)


def meta_factories(namespace: dict, shaped=(), like=(), computed=(), filled=(),
                   integers=()) -> None:
    """Make the factories named (functions in ``namespace``, a module's globals) give meta
    tensors when asked for the meta device (``device="meta"``, or none given while the default
    device is meta; for ``*_like``, also a meta input with no device given).

    shaped: ``f(*size, dtype=...)`` (zeros, ones, empty, rand, randn): the dtype is the one the
        factory picks for zero elements; nothing is drawn from any generator.
    like: ``f(input, ..., dtype=...)`` (zeros_like, rand_like, ...): the input's shape.
    computed: made on the CPU, then moved (tensor, arange, linspace, eye: no randomness).
    filled: ``full(size, fill_value, ...)``: its dtype from one element.
    integers: ``randint(low?, high, size, dtype=...)``, ``randperm(n)``: int64 unless told.
    """
    def wrap(name, make):
        original = namespace[name]

        @functools.wraps(original)
        def factory(*args, **kwargs):
            device = kwargs.get("device")
            if device is None:
                wanted = _State.default_meta or (
                    name in like and args and type(getattr(args[0], "_data", None)) is MetaArray)
            else:
                wanted = names_meta(device)
            if not wanted:
                return original(*args, **kwargs)
            kwargs = dict(kwargs, device=None)
            requires_grad = bool(kwargs.pop("requires_grad", False))
            shape, dtype = make(original, args, kwargs)
            return meta_leaf(shape, dtype, requires_grad)

        namespace[name] = factory

    def _shaped(original, args, kwargs):
        size = kwargs.pop("size", None)
        if "generator" in kwargs or original.__name__.startswith("rand"):
            # (rand / randn: nothing drawn, not even zero numbers; the default float dtype)
            dtype = kwargs.get("dtype")
            return _size_from(args, size), (_Default.float if dtype is None
                                             else np.dtype(to_numpy(dtype)))
        return _size_from(args, size), original(0, **kwargs)._data.dtype

    def _like(original, args, kwargs):
        # The call checked and its dtype found on an empty CPU stand-in of the input (its
        # arguments' errors, PyTorch's: `ones_like(x, 2)` is a TypeError).
        source = args[0] if args else kwargs.pop("input", None)
        if getattr(source, "_data", None) is None:
            with _cpu_default():
                return (), original(*args, **kwargs)._data.dtype  # (raises: not a tensor)
        empty = _leaf(np.zeros((0,), source._data.dtype))
        with _cpu_default():
            dtype = original(empty, *args[1:], **kwargs)._data.dtype
        return source._data.shape, dtype

    def _computed(original, args, kwargs):
        with _cpu_default():
            result = original(*args, **kwargs)
        return result._data.shape, result._data.dtype

    def _filled(original, args, kwargs):
        size = args[0] if args else kwargs.pop("size")
        fill = args[1] if len(args) > 1 else kwargs.pop("fill_value")
        kwargs.pop("size", None)
        kwargs.pop("fill_value", None)
        with _cpu_default():
            dtype = original((), fill, **kwargs)._data.dtype
        return _size_from((size,), None), dtype

    def _integers(original, args, kwargs):
        size = kwargs.pop("size", None)
        if size is None:
            size = args[-1]
        dtype = kwargs.get("dtype")
        return _size_from((size,), None), np.dtype(np.int64 if dtype is None
                                                     else to_numpy(dtype))

    for names, make in ((shaped, _shaped), (like, _like), (computed, _computed),
                        (filled, _filled), (integers, _integers)):
        for name in names:
            wrap(name, make)


class _cpu_default:  # noqa: N801 - used as a context manager
    """The CPU as the default device for a moment (a factory computing a meta result's
    dtype or shape on the CPU)."""

    def __enter__(self):
        enter_device(False)

    def __exit__(self, *exc_info) -> None:
        exit_device()


def install(tensor_class) -> None:
    """Teach ``Tensor`` what a meta tensor answers: ``device``, ``is_meta``, ``is_cpu``, its
    repr, and PyTorch's NotImplementedError for ``numpy()``, ``__array__`` and ``data``'s
    values. Called once, when api/creation.py loads."""
    meta_device = device("meta")
    plain_numpy, plain_array = tensor_class.numpy, tensor_class.__array__
    plain_repr, plain_data = tensor_class.__repr__, tensor_class.data

    def device_of(self):
        """Where the tensor lives: ``device("cpu")``, or ``device("meta")`` for a meta
        tensor (no data)."""
        return meta_device if type(self._data) is MetaArray else CPU

    def numpy(self, *, force: bool = False):
        if type(self._data) is MetaArray:
            raise TypeError(NO_NUMPY)
        return plain_numpy(self, force=force)

    def __array__(self, dtype=None):
        # (no ``copy`` parameter, as PyTorch's: NumPy 2 then warns its DeprecationWarning at
        # np.array(t) and refuses copy=False itself, as there; s27 PR13. NumPy tells that
        # TypeError from others by its message: this function's name must be __array__)
        if type(self._data) is MetaArray:
            raise TypeError(NO_NUMPY)
        return plain_array(self, dtype)

    def data(self):
        if type(self._data) is MetaArray:
                    return _leaf(self._data)
        return plain_data.fget(self)

    def representation(self) -> str:
        if type(self._data) is not MetaArray:
            return plain_repr(self)
        parts = [f"size={tuple(self._data.shape)}"]
        if self._data.dtype != _Default.float:
            parts.append(f"dtype={of(self._data.dtype)}")
        if self._op is not None:
            parts.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._rg:
            parts.append("requires_grad=True")
        text = f"tensor(..., device='meta', {', '.join(parts)})"
        return "Parameter containing:\n" + text if printing.is_parameter(self) else text

    plain_to, plain_cpu = tensor_class.to, tensor_class.cpu

    def to(self, *args, **kwargs):
        if not kwargs and len(args) == 1 and type(args[0]) is dtype_class:  # (x.to(dtype): no
            return plain_to(self, *args)  # device to look for; s27 SP37)
        target = kwargs.get("device")
        positional = [a for a in args[:2] if isinstance(a, (str, device))]
        if target is None and positional:
            target = positional[0]
        if target is None and args and isinstance(args[0], tensor_class):
            target = args[0].device
        if target is None or not names_meta(target):
            if type(self._data) is MetaArray and target is not None:
                raise NotImplementedError(NO_DATA)  # (meta -> the CPU: no values to copy)
            return plain_to(self, *args, **kwargs)
        kwargs.pop("device", None)
        args = tuple(a for a in args if not (isinstance(a, (str, device)) and names_meta(a)))
        if args and isinstance(args[0], tensor_class):  # to(other): its dtype
            args = (args[0].dtype, *args[1:])
        return to_meta(plain_to(self, *args, **kwargs) if args or kwargs else self)

    def cpu(self, *args, **kwargs):
        if type(self._data) is MetaArray:
            raise NotImplementedError(NO_DATA)
        return plain_cpu(self, *args, **kwargs)

    tensor_class.to = functools.wraps(plain_to)(to)
    tensor_class.cpu = functools.wraps(plain_cpu)(cpu)
    tensor_class.device = property(device_of)
    tensor_class.is_meta = property(lambda self: type(self._data) is MetaArray,
                                    doc="Whether this is a meta tensor (shape, no data).")
    tensor_class.is_cpu = property(lambda self: type(self._data) is not MetaArray)
    tensor_class.numpy = functools.wraps(plain_numpy)(numpy)
    tensor_class.__array__ = __array__
    tensor_class.__repr__ = representation
    tensor_class.data = property(functools.wraps(plain_data.fget)(data), plain_data.fset,
                                 doc=plain_data.__doc__)
