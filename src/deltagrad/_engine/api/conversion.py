"""Dtype and device conversions: to, type, float / long / bool / ..., view(dtype), cpu, and the
questions a tensor answers about its type (is_floating_point, numel, is_nonzero, f-strings)."""

from __future__ import annotations

import numbers
import weakref

import numpy as np

from .. import dtypes
from ..device import CPU, check_device, device
from ..errors import warn_once
from ..ops import OPS
from ..ops.elementwise import quiet
from ..ops.shape import astype_like_torch
from ..tensor import Tensor, _leaf, apply, tensor_method
from ._common import tensor_input
from .creation import check_memory_format, in_memory_format, preserve_format
from .memory_formats import suggest_memory_format
from .meta_device import install as install_meta

__all__ = ["is_complex", "is_floating_point", "is_nonzero", "is_signed", "numel"]

_CAST = OPS["cast"]

# PyTorch's legacy type names (``x.type()``), by NumPy dtype.
TYPE_NAMES = {
    np.dtype(np.float32): "FloatTensor", np.dtype(np.float64): "DoubleTensor",
    np.dtype(np.float16): "HalfTensor", np.dtype(np.int64): "LongTensor",
    np.dtype(np.int32): "IntTensor", np.dtype(np.int16): "ShortTensor",
    np.dtype(np.int8): "CharTensor", np.dtype(np.uint8): "ByteTensor",
    np.dtype(np.bool_): "BoolTensor", np.dtype(np.complex64): "ComplexFloatTensor",
    np.dtype(np.complex128): "ComplexDoubleTensor",
}
# (and of the dtypes outside the legacy constructors, by name: bfloat16 has no fixed NumPy dtype)
_MORE_TYPE_NAMES = {"bfloat16": "BFloat16Tensor", "uint16": "UInt16Tensor",
                    "uint32": "UInt32Tensor", "uint64": "UInt64Tensor"}
_BY_TYPE_NAME = {name: dtype for dtype, name in TYPE_NAMES.items()}
_BY_TYPE_NAME.update({name: getattr(dtypes, dtype) for dtype, name in _MORE_TYPE_NAMES.items()})


def is_dtype(value) -> bool:
    """Whether ``value`` is something PyTorch or NumPy accept as a dtype (not a device)."""
    if isinstance(value, (dtypes.dtype, np.dtype)):
        return True
    return isinstance(value, type) and (issubclass(value, np.generic)
                                        or value in (float, int, bool, complex))


def _cast(input: Tensor, numpy_dtype: np.dtype) -> Tensor:
    """``input`` in ``numpy_dtype``: differentiable into floating dtypes, a new leaf otherwise
    (as in PyTorch, where a tensor cast to integers no longer requires grad)."""
    if numpy_dtype == input._data.dtype:
        return input
    if input.is_sparse:
        return input.cast(numpy_dtype)
    if input._data.dtype.kind == "c" and numpy_dtype.kind not in "cb":  # (SL22 s29)
        warn_once("complex to real cast", "Casting complex values to real discards the "
                  "imaginary part")  # (PyTorch's copy kernel: UserWarning, once a process)
    if numpy_dtype.kind == "V" and input._data.dtype == np.float64:  # PyTorch: via float32
        input = _cast(input, np.dtype(np.float32))
    elif input._data.dtype.kind == "V" and numpy_dtype.kind in "biu":
        # bfloat16 -> integers as from float32 (ml_dtypes saturates: -2.5 -> uint8 would be 0,
        # PyTorch's 254).
        input = _cast(input, np.dtype(np.float32))
    if input._rg and numpy_dtype.kind in "fcV":  # ("V": bfloat16)
        return apply(_CAST, input, dtype=numpy_dtype)
    if (numpy_dtype.kind == "f" and (numpy_dtype.itemsize < input._data.dtype.itemsize
                                     or input._data.dtype.kind == "V")
            or numpy_dtype.kind in "biu" and input._data.dtype.kind in "fcV"):
        # (a narrowing float cast, or floats to integers: an overflow or a nan is cast
        # silently, as PyTorch's; quiet costs 0.12 us of the conversion's 3, on these only)
        return _leaf(quiet(astype_like_torch, input._data, numpy_dtype))
    return _leaf(astype_like_torch(input._data, numpy_dtype))


def parse_to(args: tuple, kwargs: dict, where: str = "to"):
    """PyTorch's three ``to`` signatures, as ``(device, dtype, non_blocking, copy)``.

    ``to(dtype, non_blocking=False, copy=False)``, ``to(device=None, dtype=None,
    non_blocking=False, copy=False)`` and ``to(other, non_blocking=False, copy=False)`` (the
    other tensor's device and dtype). ``memory_format`` is accepted and ignored.
    """
    kwargs = dict(kwargs)
    kwargs.pop("memory_format", None)
    args = list(args)
    found_device, found_dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if args:
        first = args[0]
        if isinstance(first, Tensor):
            found_device, found_dtype = CPU, first.dtype
            args.pop(0)
        elif is_dtype(first):
            found_dtype = args.pop(0)
        elif first is None or isinstance(first, (str, device, numbers.Integral)):
            found_device = args.pop(0)
            if args and (is_dtype(args[0]) or args[0] is None):
                found_dtype = args.pop(0)
    names = ["non_blocking", "copy"]
    if len(args) > len(names):
        raise TypeError(f"{where}() received an invalid combination of arguments: "
                        f"{', '.join(repr(a) for a in args)}")
    values = dict(zip(names, args))
    for name in list(kwargs):
        if name not in names or name in values:
            raise TypeError(f"{where}() got an unexpected keyword argument {name!r}")
        values[name] = kwargs.pop(name)
    for name, value in values.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{where}(): argument {name!r} must be bool, got "
                            f"{type(value).__name__} ({value!r})")
    check_device(found_device, where)
    return found_device, found_dtype, bool(values.get("non_blocking")), bool(values.get("copy"))


@tensor_method
def to(self, *args, **kwargs) -> Tensor:
    """This tensor in another dtype (on the CPU, the only device), as PyTorch's ``Tensor.to``.

    ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)``; ``non_blocking`` is accepted,
    ``copy=True`` always copies, ``memory_format`` lays the result out in that format.
    Returns ``self`` when nothing changes. A device other than the CPU raises ``RuntimeError``.

    >>> import deltagrad as dg
    >>> x = dg.tensor([1.5, 2.5])
    >>> x.to("cpu") is x, x.to(dg.int32), x.to("cpu", dg.float64).dtype
    (True, tensor([1, 2], dtype=deltagrad.int32), deltagrad.float64)
    """
    if not kwargs and len(args) == 1 and type(args[0]) is dtypes.dtype:
        # x.to(dtype), the usual call, without parse_to's three signatures (~1.2 us): fwd + bwd
        # op_overhead.py --ops cast 0.62 -> 0.51 x PyTorch, _fft_c2c (its .to) 1.00 -> 0.87
        # (with meta_device's shortcut; the tree with and without them, 2 runs; s27 SP37)
        return _cast(self, dtypes.to_numpy(args[0]))
    fmt = check_memory_format(kwargs.pop("memory_format", None), "to")
    _device, dtype, _non_blocking, copy = parse_to(args, kwargs)
    if (not copy and fmt is not preserve_format and (dtype is None or dtype == self.dtype)
            and fmt is suggest_memory_format(self._data)):
        return self  # (PyTorch's: no copy, even a non-contiguous self asked for contiguous)
    out = self if dtype is None else _cast(self, dtypes.to_numpy(dtype))
    out = out.clone() if copy and out is self else out
    return out if fmt is preserve_format else in_memory_format(out, fmt, "to")


@tensor_method(name="type")
def _type(self, dtype=None, non_blocking: bool = False, **kwargs):
    """Without ``dtype``: PyTorch's type name (``'torch.FloatTensor'``), which programs compare
    against. With one (a dtype, a type name or a tensor type such as ``deltagrad.LongTensor``):
    this tensor in that dtype."""
    if dtype is None:
        name = TYPE_NAMES.get(self._data.dtype) or _MORE_TYPE_NAMES.get(self._data.dtype.name)
        return f"torch.{name}" if name else f"torch.{self._data.dtype.name}"
    if dtype is Tensor or dtype in ("torch.Tensor", "deltagrad.Tensor"):
        dtype = dtypes.get_default_dtype()  # the default tensor type, as PyTorch
    elif isinstance(dtype, str):
        module, _, name = dtype.rpartition(".")
        if module in ("torch.cuda", "deltagrad.cuda") and name in _BY_TYPE_NAME:
            check_device("cuda", "type")
        if module not in ("torch", "deltagrad") or name not in _BY_TYPE_NAME:
            raise ValueError(f"invalid type: {dtype!r}")
        dtype = _BY_TYPE_NAME[name]
    elif isinstance(getattr(dtype, "dtype", None), dtypes.dtype):  # LongTensor and the like
        dtype = dtype.dtype
    elif getattr(dtype, "__module__", None) == "torch.cuda":  # torch.cuda.FloatTensor: no GPU
        check_device("cuda", "type")  # (it was cast to an object array)
    return _cast(self, dtypes.to_numpy(dtype))


def _converter(name: str, target):
    def convert(self, *, memory_format=None) -> Tensor:
        return _cast(self, dtypes.to_numpy(target))

    convert.__name__ = convert.__qualname__ = name
    convert.__doc__ = f"This tensor as {target} (``self`` if it already is)."
    return tensor_method(convert, name=name)


for _name, _target in (("float", dtypes.float32), ("double", dtypes.float64),
                       ("half", dtypes.float16), ("bfloat16", dtypes.bfloat16),
                       ("long", dtypes.int64), ("int", dtypes.int32),
                       ("short", dtypes.int16), ("char", dtypes.int8),
                       ("byte", dtypes.uint8), ("bool", dtypes.bool),
                       ("cfloat", dtypes.complex64), ("cdouble", dtypes.complex128)):
    _converter(_name, _target)


def view_dtype(input: Tensor, dtype) -> Tensor:
    """``input.view(dtype)``: the same bytes read as another dtype, sharing memory.

    Equal element sizes keep the shape; otherwise the last dimension (which must be contiguous
    and of a size the ratio divides) shrinks or grows, as in PyTorch. The result never requires
    grad (as in PyTorch).
    """
    target = dtypes.to_numpy(dtype)
    data = input._data
    if target.itemsize != data.itemsize:
        names = f"{dtypes.of(data.dtype)} as {dtypes.of(target)} (different element sizes)"
        if data.ndim == 0:
            raise RuntimeError(f"view(dtype): a 0-d tensor cannot be viewed {names}")
        if data.strides[-1] != data.itemsize and data.size and (
                data.shape[-1] != 1 or data.strides[-1] == 0):  # (a 0 stride too; s28 SL18)
            raise RuntimeError(f"view(dtype): the last dimension must be contiguous (stride 1) "
                               f"to view {names}, but its stride is "
                               f"{data.strides[-1] // data.itemsize}")
        if (data.shape[-1] * data.itemsize) % target.itemsize:
            from ..forward_errors import scalar_word  # (the rare path; PyTorch's words)

            raise RuntimeError(f"self.size(-1) must be divisible by "
                               f"{target.itemsize // data.itemsize} to view "
                               f"{scalar_word(data.dtype)} as {scalar_word(target)} (different "
                               f"element sizes), but got {data.shape[-1]}")
    if not data.size:  # (nothing to share; an empty array's strides are not its layout)
        if data.ndim > 1 and not data.shape[-1] and target.itemsize > data.itemsize:
            # (PyTorch's contiguous strides of a last size 0: stride(-2) is 1, not divisible)
            raise RuntimeError(f"view(dtype): self.stride({data.ndim - 2}) must be divisible "
                               f"by {target.itemsize // data.itemsize} to view {names}")
        last = data.shape[-1] * data.itemsize // target.itemsize if data.ndim else ()
        return _leaf(np.empty(data.shape[:-1] + (last,) if data.ndim else (), target))
    try:
        return _leaf(data.view(target))
    except ValueError as error:  # a layout NumPy cannot reinterpret in place
        raise RuntimeError(f"view(dtype): cannot view shape {input.shape} with strides "
                           f"{data.strides} as {dtypes.of(target)}: {error}") from None


@tensor_method
def cpu(self, memory_format=None) -> Tensor:
    """This tensor (deltagrad tensors are always on the CPU)."""
    return self


@tensor_method
def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
    """Raises ``RuntimeError``: deltagrad runs on the CPU only."""
    check_device("cuda" if device is None else device, "cuda")
    return self


@tensor_method
def is_floating_point(input) -> bool:
    """Whether ``input``'s dtype is a floating-point one (bfloat16, float16, float32, float64)."""
    try:
        return input._data.dtype.kind in "fV"  # ("V": ml_dtypes' bfloat16)
    except AttributeError:
        tensor_input(input)  # (a list, number, ...: PyTorch's TypeError, not AttributeError)
        raise


@tensor_method
def is_complex(input) -> bool:
    """Whether ``input``'s dtype is a complex one."""
    try:
        return input._data.dtype.kind == "c"
    except AttributeError:
        tensor_input(input)
        raise


@tensor_method
def is_signed(input) -> bool:
    """Whether ``input``'s dtype can hold negative numbers."""
    try:
        return input._data.dtype.kind in "ifcV"
    except AttributeError:
        tensor_input(input)
        raise


def numel(input) -> int:
    """The number of elements of ``input``."""
    return tensor_input(input).numel()


@tensor_method
def is_nonzero(input) -> bool:
    """Whether the one element of ``input`` is nonzero; ``RuntimeError`` for any other size,
    as PyTorch's ``is_nonzero``."""
    size = tensor_input(input)._data.size
    if size != 1:
        which = "no values" if size == 0 else "more than one value"
        raise RuntimeError(f"Boolean value of Tensor with {which} is ambiguous")
    return bool(input._data.reshape(()))


@tensor_method(name="__format__")
def _format(self, format_spec: str) -> str:
    # A 0-d tensor formats as its number (f"{loss:.4f}"), as in PyTorch; any other tensor
    # accepts only the empty spec (its repr).
    if self._data.ndim == 0 and type(self) is Tensor:
        return format(self._data.item(), format_spec)
    return object.__format__(self, format_spec)


# The device and format questions PyTorch's Tensor answers, all False on deltagrad's CPU
# tensors (programs test `x.is_mps`, `x.is_meta` ... to pick a code path).
def _false(self) -> bool:
    return False


for _name in ("is_mps", "is_xpu", "is_quantized", "is_mkldnn", "is_vulkan", "is_ipu",
              "is_xla", "is_maia", "is_mtia", "is_nested"):
    setattr(Tensor, _name, property(_false, doc=f"``False``, as for PyTorch's CPU tensors "
                                                f"(``{_name}``)."))


# The memory blocks share_memory_ moved "into shared memory", by id of the block (its NumPy
# root array: views and the tensor itself agree, as PyTorch's storage does); weak, so a freed
# block's id cannot be mistaken for a new one's.
_SHARED_BLOCKS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _block(data: np.ndarray) -> np.ndarray:
    while isinstance(data.base, np.ndarray):
        data = data.base
    return data


def mark_shared(tensor: Tensor) -> None:
    """Records ``tensor``'s memory as shared (``share_memory_``): ``is_shared`` then says True
    for it and its views, as PyTorch's after ``share_memory_`` / ``Module.share_memory``."""
    block = _block(tensor._data)
    _SHARED_BLOCKS[id(block)] = block


@tensor_method
def is_shared(self) -> bool:
    """Whether ``share_memory_`` was called on this tensor's memory (on it or on a tensor it
    is a view of, or that is a view of it); ``False`` for new tensors, as PyTorch's."""
    data = getattr(self, "_data", None)
    if not isinstance(data, np.ndarray):
        return False
    block = _block(data)
    return _SHARED_BLOCKS.get(id(block)) is block


@tensor_method
def is_distributed(self) -> bool:
    """``False``, as PyTorch's for every CPU tensor."""
    return False


@tensor_method
def is_coalesced(self) -> bool:
    """Raises ``RuntimeError`` on a dense tensor, as PyTorch (sparse COO tensors answer)."""
    name = {"strided": "Strided", "sparse_csr": "SparseCsr"}.get(str(self.layout).split(".")[-1],
                                                                 str(self.layout))
    raise RuntimeError(f"is_coalesced expected sparse coordinate tensor layout but got {name}")


@tensor_method
def is_set_to(self, tensor: Tensor) -> bool:
    """Whether ``tensor`` views exactly this tensor's memory: the same first element, shape and
    strides (and dtype)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"is_set_to(): argument 'tensor' (position 1) must be Tensor, not "
                        f"{type(tensor).__name__}")
    a, b = self._data, tensor._data
    if a.dtype != b.dtype:  # (PyTorch's: the same storage, offset, sizes and strides counted
        # in elements, whatever the dtypes: x.view(torch.int32).is_set_to(x); s28 SL18)
        return (a.shape == b.shape and self.storage_offset() == tensor.storage_offset()
                and [s // a.itemsize for s in a.strides] == [s // b.itemsize for s in b.strides]
                and self.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr())
    return (a.shape == b.shape and a.strides == b.strides
            and a.__array_interface__["data"][0] == b.__array_interface__["data"][0])


_array_of = Tensor.numpy


def _numpy(self, *, force: bool = False) -> np.ndarray:
    """The underlying array (shared, not copied), as ``Tensor.numpy()``; ``force`` detaches.
    A bfloat16 tensor raises ``TypeError``, as PyTorch's (NumPy has no bfloat16 of its own)."""
    if self._data.dtype.kind == "V":
        raise TypeError("Got unsupported ScalarType BFloat16")
    return _array_of(self, force=force)


Tensor.numpy = _numpy

_array_protocol = Tensor.__array__


def _array(self, dtype=None, copy=None):
    # np.asarray(t) of a bfloat16 tensor: numpy()'s TypeError, as PyTorch's (its __array__ is
    # numpy(); ml_dtypes' bfloat16 array would be a NumPy dtype PyTorch never hands out)
    if self._data.dtype.kind == "V":
        raise TypeError("Got unsupported ScalarType BFloat16")
    return _array_protocol(self, dtype, copy)


Tensor.__array__ = _array

# The meta device (meta.py): device, is_meta, to("meta"), repr; values refused.
install_meta(Tensor)
