"""A tensor's storage (``x.untyped_storage()``, ``x.storage()``): the whole memory block that
it and its views share, as PyTorch's ``UntypedStorage`` (bytes) and ``TypedStorage``."""

from __future__ import annotations

import operator
import os
import sys

import numpy as np

from .. import dtypes
from ..device import CPU, device
from ..errors import warn_once
from ..meta import MetaArray
from ..tensor import tensor_method

__all__ = ["PyTorchFileReader", "PyTorchFileWriter", "TypedStorage", "UntypedStorage"]


def base_array(array: np.ndarray):
    """The array ``array`` views (None for an owner), through NumPy's ``as_strided``, whose
    views have a ``DummyArray`` as base holding the array (s28 SL18: ``storage_offset()`` of
    an expanded 0-stride view read 0)."""
    base = array.base
    if base is not None and not isinstance(base, np.ndarray):
        base = getattr(base, "base", None)
    return base if isinstance(base, np.ndarray) else None


def _block(array: np.ndarray) -> np.ndarray:
    """The bytes of the memory block ``array`` views, as a 1-d uint8 array sharing it."""
    root = array
    while (step := base_array(root)) is not None:
        root = step
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        if root.base is None and min(root.strides, default=1) > 0:
            # An owner laid out in a permuted order (a ufunc's K-order result of a permuted
            # input, `x.mT // 2`): dense, so its K-order ravel is the block, as a view.
            flat = root.ravel(order="K")
            if flat.base is root:
                return flat.view(np.uint8)
        # (only an array that does not own its memory can be strided; its span is then
        # what NumPy can tell of the block)
        root = array
        if not (root.flags.c_contiguous or root.flags.f_contiguous):
            raise RuntimeError("storage: this tensor's memory is not one block NumPy can show")
    return root.reshape(-1, order="A").view(np.uint8)


# PyTorch's C storage object: sys.getsizeof(torch.UntypedStorage(0)) is 64, 32 of them the
# GC headers that sys.getsizeof adds to this Python object too.
_STORAGE_OBJECT_BYTES = 32
_META = device("meta")


class UntypedStorage:
    """The bytes of a memory block (PyTorch's ``torch.UntypedStorage``), shared with every
    tensor that views it: writing through it changes them."""

    def __init__(self, data: np.ndarray | int = 0, *, device=None) -> None:
        self._bytes = (data if isinstance(data, (np.ndarray, MetaArray))
                       else np.zeros(int(data), dtype=np.uint8))

    device = property(lambda self: _META if type(self._bytes) is MetaArray else CPU)

    def data_ptr(self) -> int:
        """The address of the first byte (0 for a meta storage, as PyTorch's)."""
        if type(self._bytes) is MetaArray:
            return 0
        return self._bytes.__array_interface__["data"][0]

    def nbytes(self) -> int:
        """The size in bytes."""
        return self._bytes.size

    def size(self) -> int:
        """The size in bytes."""
        return self._bytes.size

    def element_size(self) -> int:
        """1: an untyped storage counts bytes."""
        return 1

    def __len__(self) -> int:
        return self._bytes.size

    def __sizeof__(self) -> int:
        # PyTorch's: its C storage object (32 bytes on 64-bit CPython) plus the bytes it
        # holds, so that sys.getsizeof agrees (torchinfo sums it as the "Input size").
        return _STORAGE_OBJECT_BYTES + self._bytes.size

    def __getitem__(self, index):
        if isinstance(index, slice):
            # A byte range is a storage sharing these bytes, as in PyTorch (safetensors cuts
            # each tensor out of a file's storage this way).
            if index.step not in (None, 1):
                raise RuntimeError("slices with steps are not supported")
            part = self._bytes[index]
            if isinstance(part, np.ndarray):
                # A storage of its own over those bytes, as PyTorch's slice: a tensor set_ on
                # it sees its size, not the whole block's (through a memoryview, which ends
                # the base chain ``_block`` walks; safetensors' overlapping-storage test).
                part = np.frombuffer(memoryview(part), dtype=np.uint8)
            return UntypedStorage(part)
        return self._bytes[index].tolist()

    def __setitem__(self, index, value) -> None:
        self._bytes[index] = value

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        # The bytes themselves (shared): ``asarray(storage, dtype=uint8)`` views them.
        return self._bytes if dtype is None else self._bytes.astype(dtype, copy=False)

    def tolist(self) -> list:
        """The bytes as Python ints."""
        return self._bytes.tolist()

    def untyped(self) -> UntypedStorage:
        """This storage (already untyped)."""
        return self

    def resize_(self, size) -> UntypedStorage:
        """Grow or shrink to ``size`` bytes, keeping the leading bytes (new ones zero); returns
        self. Only a storage that no tensor views (tensors here view a NumPy block, which
        cannot be re-pointed): else a clear error rather than a tensor left on the old bytes
        (s28 BR18)."""
        size = operator.index(size)
        if size < 0:
            raise RuntimeError(f"Trying to resize storage that is not resizable, or to a "
                               f"negative size ({size})")
        if size == self._bytes.size:
            return self
        if type(self._bytes) is not np.ndarray or self._bytes.base is not None or (
                sys.getrefcount(self._bytes) > 2):  # (self's reference, the argument's)
            raise NotImplementedError(
                f"UntypedStorage.resize_({size}): this storage of {self._bytes.size} bytes is "
                "shared with a tensor or another storage, which deltagrad cannot re-point at "
                "new memory; resize the tensor (Tensor.resize_) or make a new storage")
        grown = np.zeros(size, dtype=np.uint8)
        kept = min(size, self._bytes.size)
        grown[:kept] = self._bytes[:kept]
        self._bytes = grown
        return self

    @classmethod
    def from_file(cls, filename: str, shared: bool = False, nbytes: int = 0) -> UntypedStorage:
        """The first ``nbytes`` bytes of the file ``filename``, memory-mapped.

        Args:
            filename: the file to map.
            shared: write changes through to the file (True) or keep them private to this
                process (False, copy-on-write), as PyTorch's.
            nbytes: how many bytes to map. A shorter file is grown (with zeros) when
                ``shared``, and is PyTorch's RuntimeError otherwise.
        """
        nbytes = int(nbytes)
        size = os.path.getsize(filename)
        if nbytes > size:
            if not shared:
                raise RuntimeError(f"file <{filename}> size <{size}> is smaller than the "
                                   f"required mapping size <{nbytes}>")
            with open(filename, "r+b") as handle:  # (a shared mapping grows the file)
                handle.truncate(nbytes)
        if nbytes == 0:
            return cls(np.zeros(0, dtype=np.uint8))
        return cls(np.memmap(filename, dtype=np.uint8, mode="r+" if shared else "c",
                             shape=(nbytes,)))

    def __repr__(self) -> str:
        return _listing(self._bytes, f"{dtypes.PREFIX[0]}.storage.UntypedStorage(device=cpu) "
                                     f"of size {self._bytes.size}")


_TYPED_STORAGE_DEPRECATED = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the "
    "only storage class. This should only matter to you if you are using storages directly.  To "
    "access UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()")


class TypedStorage:
    """A memory block read as elements of one dtype (PyTorch's ``torch.TypedStorage``, what
    ``x.storage()`` returns), shared with the tensors that view it."""

    def __init__(self, *args, wrap_storage=None, dtype=None, device=None,
                 _internal: bool = False) -> None:
        if (len(args) == 1 and isinstance(args[0], np.ndarray) and wrap_storage is None
                and dtype is None and device is None):
            self._values = args[0]  # (the engine's own: a block's elements, shared)
            return
        # PyTorch's public constructors (s28 DX1: were a TypeError): (), (size), (sequence),
        # (wrap_storage=); dtype defaults to the default dtype; new elements are zeros
        # (PyTorch's are uninitialised).
        if not _internal:
            warn_once("TypedStorage", _TYPED_STORAGE_DEPRECATED)
        if device is not None and device != "cpu" and device != CPU:
            raise RuntimeError(f"TypedStorage: only the CPU is supported, got device {device}")
        kind = dtypes.to_numpy(dtype if dtype is not None else dtypes.get_default_dtype())
        if wrap_storage is not None and not args and isinstance(wrap_storage, UntypedStorage):
            raw = wrap_storage._bytes
            self._values = raw[:raw.size - raw.size % kind.itemsize].view(kind)
        elif wrap_storage is None and not args:
            self._values = np.zeros(0, dtype=kind)
        elif (wrap_storage is None and len(args) == 1 and isinstance(args[0], int)
              and not isinstance(args[0], bool)):
            self._values = np.zeros(args[0], dtype=kind)
        elif (wrap_storage is None and len(args) == 1 and not isinstance(args[0], (str, bytes))
              and hasattr(args[0], "__len__")):
            self._values = np.array(list(args[0]), dtype=kind)
        else:
            raise TypeError("TypedStorage.__init__ received an invalid combination of arguments."
                            " Expected one of:\n * (*, torch.device device, torch.dtype dtype)\n"
                            " * (int size, *, torch.device device, torch.dtype dtype)\n"
                            " * (Sequence data, *, torch.device device, torch.dtype dtype)\n"
                            " * (*, UntypedStorage wrap_storage, torch.dtype dtype)")

    dtype = property(lambda self: dtypes.of(self._values.dtype))
    device = property(lambda self: CPU)

    def data_ptr(self) -> int:
        """The address of the first element."""
        return self._values.__array_interface__["data"][0]

    def size(self) -> int:
        """The number of elements."""
        return self._values.size

    def nbytes(self) -> int:
        """The size in bytes."""
        return self._values.nbytes

    def element_size(self) -> int:
        """The size of one element in bytes."""
        return self._values.itemsize

    def untyped(self) -> UntypedStorage:
        """The same memory as bytes."""
        return UntypedStorage(self._values.view(np.uint8))

    def __len__(self) -> int:
        return self._values.size

    def __sizeof__(self) -> int:
        # PyTorch's: the Python object plus the bytes it holds (sys.getsizeof agrees).
        return object.__sizeof__(self) + self._values.nbytes

    def __getitem__(self, index):
        return self._values[index].tolist()

    def __setitem__(self, index, value) -> None:
        self._values[index] = value

    def tolist(self) -> list:
        """The elements as Python numbers."""
        return self._values.tolist()

    def __repr__(self) -> str:
        return _listing(self._values, f"{dtypes.PREFIX[0]}.storage.TypedStorage(dtype="
                                      f"{self.dtype!r}, device=cpu) of size {self._values.size}")


def _listing(values: np.ndarray, title: str) -> str:
    # (an empty storage: one line of a space above the title, as PyTorch's)
    lines = [f" {v}" for v in values.tolist()] or [" "]
    return "\n".join([*lines, f"[{title}]"])


@tensor_method
def untyped_storage(self) -> UntypedStorage:
    """The bytes of the memory block this tensor views (shared: writes show in the tensor)."""
    if type(self._data) is MetaArray:  # (PyTorch's: its size, no data, data_ptr() 0)
        return UntypedStorage(MetaArray((self._data.storage_nbytes,), np.uint8))
    return UntypedStorage(_block(self._data))


@tensor_method
def storage(self) -> TypedStorage:
    """The memory block this tensor views, as elements of its dtype (PyTorch's legacy
    ``TypedStorage``); ``storage_offset()`` is where this tensor starts in it."""
    warn_once("TypedStorage", _TYPED_STORAGE_DEPRECATED)  # (PyTorch's, once)
    block = _block(self._data)
    usable = block.size - block.size % self._data.itemsize
    return TypedStorage(block[:usable].view(self._data.dtype))


class _TorchZipFile:
    """Base of PyTorch's ``torch.PyTorchFileReader`` / ``PyTorchFileWriter`` (readers and
    writers of its zip checkpoint format). deltagrad's ``save`` writes safetensors + JSON, not
    that format, so constructing one raises; the classes exist because libraries name them in
    annotations at import time (Lightning's lazy loader)."""

    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError(f"torch.{type(self).__name__}: deltagrad does not read or write "
                           "PyTorch's zip checkpoint format (deltagrad.save/load use "
                           "safetensors + JSON)")


class PyTorchFileReader(_TorchZipFile):
    """PyTorch's zip checkpoint reader: not supported (constructing one raises)."""


class PyTorchFileWriter(_TorchZipFile):
    """PyTorch's zip checkpoint writer: not supported (constructing one raises)."""
