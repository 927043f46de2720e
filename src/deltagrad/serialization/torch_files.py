"""PyTorch's own checkpoint files (``torch.save``'s zip archives and legacy pickle streams),
read without running any code from the file.

Both formats hold a pickle. Here it is read by a restricted unpickler: ``find_class`` hands out
only the globals of an explicit table (PyTorch's weights-only list: ``OrderedDict``, the tensor
rebuild functions, storage classes, dtypes, ``torch.Size``, ``torch.device``, sets, complex
numbers, bytes), each mapped to a function of ours, never to the module the file names; any
other global is refused (``pickle.UnpicklingError`` naming it) before anything is imported.
``weights_only=False`` widens the table only with plain data (frozenset, slice, range, NumPy
scalars / dtypes / arrays); it never imports a class or calls a function the file names, so a
whole pickled ``nn.Module`` or an ``argparse.Namespace`` is refused with that global's name.

Storages are read as bytes (zip: the record ``data/<key>``; legacy: after the pickle, a count
of elements and the raw bytes of each storage in the order of the key list); a tensor is a
strided NumPy view of its storage's bytes, so views of one storage share memory as in PyTorch,
and every view is bounds-checked against its storage before it is made.
"""

from __future__ import annotations

import io
import mmap as _mmap
import pickle
import struct
import warnings
import zipfile
from collections import Counter, OrderedDict

import numpy as np

from .._engine import dtypes
from .._engine.api.attributes import Size
from .._engine.api.strided import _distinct_uncached
from .._engine.device import device
from .._engine.tensor import Tensor, _leaf

__all__ = ["GlobalRefused", "TorchFileError", "is_torch_file", "load"]

# The pickle stream a legacy file starts with: the magic number, then the protocol version.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

# torch.<Name>Storage -> NumPy dtype name of its elements ("bfloat16": from ml_dtypes)
_STORAGE_DTYPES = {"FloatStorage": "float32", "DoubleStorage": "float64",
                   "HalfStorage": "float16", "BFloat16Storage": "bfloat16",
                   "LongStorage": "int64", "IntStorage": "int32", "ShortStorage": "int16",
                   "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
                   "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
                   "UntypedStorage": "uint8"}


# the dtypes a tensor may have (a storage's, or a _rebuild_tensor_v3 dtype argument)
_TENSOR_DTYPES = set(_STORAGE_DTYPES.values()) | {"uint16", "uint32", "uint64"}


class TorchFileError(ValueError):
    """A PyTorch checkpoint that cannot be read (load turns it into CheckpointError)."""


class InvalidMagicNumber(TorchFileError):
    """A pickle that is not a legacy PyTorch checkpoint (PyTorch: RuntimeError)."""


def is_torch_file(head: bytes) -> bool:
    """Whether the first bytes are a zip archive's or a pickle stream's (PROTO opcode). A
    safetensors file whose header is 0x280, 0x380, 0x480 or 0x580 bytes long also starts
    ``\x80 2..5``: its ninth byte, the header's ``{``, tells it apart."""
    return head[:4] == b"PK\x03\x04" or (head[:1] == b"\x80" and len(head) > 1
                                          and 2 <= head[1] <= 5 and head[8:9] != b"{")


class GlobalRefused(pickle.UnpicklingError):
    """A global the file names that this load does not allow (PyTorch's error type)."""


class _StorageType:
    """What ``find_class`` returns for ``torch.FloatStorage`` and its kin."""

    def __init__(self, name: str):
        self.name = name
        self.dtype_name = _STORAGE_DTYPES[name]


class _Storage:
    """A storage of the file: its bytes (writeable, shared by every tensor over it)."""

    def __init__(self, raw: np.ndarray, dtype_name: str, big_endian: bool):
        self.raw = raw
        self.dtype_name = dtype_name
        self.big_endian = big_endian
        self.untyped = False  # (a torch.storage.UntypedStorage of the file: plain pickles)
        self._typed: dict[str, np.ndarray] = {}

    def typed(self, dtype_name: str) -> np.ndarray:
        """The storage as a flat array of ``dtype_name`` (one array per dtype: shared)."""
        found = self._typed.get(dtype_name)
        if found is None:
            dtype = _numpy_dtype(dtype_name)
            usable = self.raw.size - self.raw.size % dtype.itemsize
            found = self.raw[:usable].view(dtype)
            if self.big_endian and dtype.itemsize > 1:
                found = found.view(dtype.newbyteorder(">")).astype(dtype)
            self._typed[dtype_name] = found
        return found


def _numpy_dtype(name: str) -> np.dtype:
    if name not in _TENSOR_DTYPES:  # (never an object dtype over the file's bytes)
        raise TorchFileError(f"storage dtype {name!r} is not supported")
    return dtypes.load_bfloat16() if name == "bfloat16" else np.dtype(name)


class _Marker:
    """A global that only names something (``torch.Tensor``, ``torch.nn.Parameter`` as a
    rebuild's target type); calling it is not supported."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise TorchFileError(f"calling {self.name} while loading is not supported by "
                             "deltagrad's torch.load")


class _Loader:
    """The rebuild functions and the globals table of one load."""

    def __init__(self, file: str, weights_only: bool, safe_globals: list, refusal,
                 mark_parameter, map_location):
        self.file = file
        self.weights_only = weights_only
        self.refusal = refusal  # name -> the weights-only UnpicklingError (objects.py's)
        self.mark_parameter = mark_parameter
        self.map_location = map_location
        self.table = self._table()
        self.safe_types: set = set()  # classes of the allow-list: their objects take a state
        for entry in safe_globals:  # the user's allow-list (add_safe_globals): their choice
            target = entry[0] if isinstance(entry, tuple) else entry
            name = entry[1] if isinstance(entry, tuple) else \
                f"{entry.__module__}.{entry.__qualname__}"
            self.table[name] = target
            if isinstance(target, type):
                self.safe_types.add(target)

    def _table(self) -> dict:
        table = {"collections.OrderedDict": OrderedDict, "collections.Counter": Counter,
                 "torch.Size": Size, "torch.device": device,
                 "torch.Tensor": _Marker("torch.Tensor"),
                 "torch.nn.parameter.Parameter": self.parameter,
                 "torch.serialization._get_layout": _layout,
                 "_codecs.encode": _latin1_encode,
                 "builtins.bytearray": bytearray, "builtins.set": set,
                 "builtins.complex": complex,
                 "torch._utils._rebuild_tensor": self.rebuild_tensor,
                 "torch._utils._rebuild_tensor_v2": self.rebuild_tensor_v2,
                 "torch._utils._rebuild_tensor_v3": self.rebuild_tensor_v3,
                 "torch._utils._rebuild_parameter": self.rebuild_parameter,
                 "torch._utils._rebuild_parameter_with_state": self.rebuild_parameter,
                 "torch._tensor._rebuild_from_type_v2": self.rebuild_from_type_v2,
                 "torch._utils._rebuild_sparse_tensor": _rebuild_sparse}
        for name in _STORAGE_DTYPES:
            table[f"torch.{name}"] = _StorageType(name)
        table["torch.storage.UntypedStorage"] = _StorageType("UntypedStorage")
        for name in dir(dtypes):
            value = getattr(dtypes, name)
            if isinstance(value, dtypes.dtype):
                table[f"torch.{name}"] = value
        for name in ("sparse_cs", "qtensor", "nested_tensor",
                     "wrapper_subclass", "meta_tensor_no_storage",
                     "device_tensor_from_cpu_tensor", "device_tensor_from_numpy"):
            table[f"torch._utils._rebuild_{name}"] = _unsupported_rebuild(name, self.file)
        if not self.weights_only:  # plain data that torch.load(weights_only=False) reads
            table.update({"builtins.frozenset": frozenset, "builtins.slice": slice,
                          "builtins.range": range, "numpy.dtype": np.dtype,
                          "numpy.ndarray": np.ndarray})
            for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
                table[f"{module}.scalar"] = _numpy_scalar
                table[f"{module}._reconstruct"] = _numpy_reconstruct
        return table

    # --- find_class -------------------------------------------------------------------------

    def find(self, module: str, name: str):
        dotted = f"{module}.{name}"
        if module == "__builtin__":  # (protocol-2 files written by Python 2)
            dotted = f"builtins.{name}"
        found = self.table.get(dotted)
        if found is not None:
            return found
        if self.weights_only:
            raise GlobalRefused(str(self.refusal(dotted)))
        raise GlobalRefused(
            f"{self.file} holds the global {dotted}: torch.load(weights_only=False) would "
            f"import it and call it with arguments from the file, which deltagrad never does "
            "(a checkpoint runs no code here). Load the weights only: re-save "
            "model.state_dict() (tensors and plain data) where PyTorch is installed, or allow "
            f"{dotted} with torch.serialization.add_safe_globals if you trust it")

    # --- tensors ------------------------------------------------------------------------------

    def rebuild_tensor(self, storage, offset, size, stride):
        return self.tensor(storage, storage.dtype_name, offset, size, stride, False)

    def rebuild_tensor_v2(self, storage, offset, size, stride, requires_grad, hooks,
                          metadata=None):
        return self.tensor(storage, storage.dtype_name, offset, size, stride, requires_grad,
                           metadata)

    def rebuild_tensor_v3(self, storage, offset, size, stride, requires_grad, hooks, dtype,
                          metadata=None):
        if not isinstance(dtype, dtypes.dtype) or getattr(dtypes, _name(dtype), None) is None:
            raise TorchFileError(f"{self.file}: a tensor of dtype {dtype!r} is not supported")
        return self.tensor(storage, _name(dtype), offset, size, stride, requires_grad,
                           metadata)

    def tensor(self, storage, dtype_name, offset, size, stride, requires_grad, metadata=None):
        if not isinstance(storage, _Storage):
            raise TorchFileError(f"{self.file}: corrupted checkpoint: a tensor's storage is a "
                                 f"{type(storage).__name__}")
        if metadata:  # (conjugate / negative bits of lazily conjugated views)
            raise TorchFileError(f"{self.file}: a tensor with metadata {metadata!r} is not "
                                 "supported by deltagrad's torch.load")
        if dtype_name not in _TENSOR_DTYPES:
            raise TorchFileError(f"{self.file}: a tensor of dtype {dtype_name} is not "
                                 "supported by deltagrad")
        typed = storage.typed(dtype_name)
        shape, strides = tuple(int(n) for n in size), tuple(int(s) for s in stride)
        offset = int(offset)
        if len(shape) != len(strides) or any(n < 0 for n in shape) or \
                any(s < 0 for s in strides) or offset < 0:
            raise TorchFileError(f"{self.file}: corrupted checkpoint: a tensor of size "
                                 f"{shape}, stride {strides}, offset {offset}")
        if 0 in shape:  # (no memory to share; the strides are kept: PyTorch reports them)
            item = typed.dtype.itemsize
            # (inside its storage, an empty view keeps its offset: storage_offset() as PyTorch)
            inside = offset <= typed.size
            array = np.ndarray(shape, typed.dtype,
                               buffer=typed if inside else np.empty(0, typed.dtype),
                               offset=offset * item if inside else 0,
                               strides=tuple(st * item for st in strides))
        else:
            last = offset + sum((n - 1) * s for n, s in zip(shape, strides))
            if last >= typed.size:  # (as_strided would read past the storage's memory)
                raise TorchFileError(
                    f"{self.file}: corrupted checkpoint: a tensor of size {list(shape)}, stride "
                    f"{list(strides)} and offset {offset} reaches element {last} of a storage "
                    f"of {typed.size}")
            item = typed.dtype.itemsize
            # (an ndarray over the storage, not as_strided: its .base chain reaches the
            # storage, so storage_offset() and memory sharing read as in PyTorch)
            array = np.ndarray(shape, typed.dtype, buffer=typed, offset=offset * item,
                               strides=tuple(s * item for s in strides))
            if not _distinct_uncached(shape, strides):  # (elements share memory: an expanded
                array.flags.writeable = False  # tensor; read-only marks it, as expand does)
        out = _leaf(array)
        if requires_grad:
            out.requires_grad_(True)
        return out

    def rebuild_parameter(self, data, requires_grad, hooks, state=None):
        out = self.parameter(data, requires_grad)
        if state:
            _set_attributes(out, state, self.file)
        return out

    def parameter(self, data, requires_grad=True):
        if not isinstance(data, Tensor):
            raise TorchFileError(f"{self.file}: corrupted checkpoint: a Parameter of "
                                 f"{type(data).__name__}")
        data.requires_grad_(bool(requires_grad))
        return self.mark_parameter(data) if self.mark_parameter is not None else data

    def rebuild_from_type_v2(self, func, new_type, args, state):
        out = func(*args)
        if new_type == self.parameter:
            out = self.parameter(out, out.requires_grad)
        elif not (isinstance(new_type, _Marker) and new_type.name == "torch.Tensor"):
            raise TorchFileError(f"{self.file}: a tensor subclass {new_type!r} is not "
                                 "supported by deltagrad's torch.load")
        if state:
            _set_attributes(out, state, self.file)
        return out


def _name(dtype) -> str:
    return repr(dtype).rpartition(".")[2]


def _set_attributes(tensor, state, file: str) -> None:
    if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
        state = {**(state[0] or {}), **(state[1] or {})}
    if not isinstance(state, dict):
        raise TorchFileError(f"{file}: corrupted checkpoint: a tensor's state is a "
                             f"{type(state).__name__}")
    tensor.__dict__.update(state)


def _unsupported_rebuild(name: str, file: str):
    def refuse(*args, **kwargs):
        raise TorchFileError(f"{file} holds a tensor rebuilt by torch._utils._rebuild_{name} "
                             "(sparse, quantized, nested, subclass or device tensors), which "
                             "deltagrad's torch.load does not read")
    return refuse


def _layout(name):
    try:
        return get_layout(name)
    except KeyError:
        raise TorchFileError(f"unknown layout {name!r}") from None


def _rebuild_sparse(layout, data):
    """torch._utils._rebuild_sparse_tensor in a file: its indices / values are tensors the
    loader rebuilt."""
    if not isinstance(data, tuple) or not all(
            isinstance(item, (Tensor, Size, tuple, bool)) for item in data):
        raise TorchFileError("corrupted checkpoint: a sparse tensor's data is not its indices, "
                             "values and size")
    return rebuild_sparse(layout, data)


def rebuild_sparse(layout, data):
    """PyTorch's torch._utils._rebuild_sparse_tensor: ``data`` is (indices, values, size,
    is_coalesced) for COO, (compressed indices, plain indices, values, size) for CSR / CSC /
    BSR / BSC; the invariants are checked here (PyTorch checks them after the load)."""
    from .._engine.api.sparse_compressed import sparse_compressed_tensor
    from .._engine.api.sparse_coo import sparse_coo_tensor
    name = str(layout).rpartition(".")[2]
    if name == "sparse_coo":
        indices, values, size = data[:3]
        coalesced = data[3] if len(data) > 3 else None  # (older pickles: three items)
        return sparse_coo_tensor(indices, values, size, check_invariants=True,
                                 is_coalesced=coalesced)
    if name in ("sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"):
        compressed, plain, values, size = data
        return sparse_compressed_tensor(compressed, plain, values, size, layout=layout,
                                        check_invariants=True)
    raise NotImplementedError(f"rebuilding sparse tensor for layout {layout}")


def get_layout(name):
    """torch.serialization._get_layout: the layout whose str() is ``name`` ('torch.sparse_csr':
    a plain pickle of a sparse tensor or of a layout names it); KeyError otherwise, as PyTorch's
    lookup."""
    from .._engine.api import sparse_csr  # (its layout lives there, the others in dtypes)
    short = str(name).rpartition(".")[2]
    found = sparse_csr.sparse_csr if short == "sparse_csr" else getattr(dtypes, short, None)
    if not isinstance(found, dtypes.layout):
        raise KeyError(name)
    return found


def _latin1_encode(text, encoding="utf-8"):
    # Protocol 2 writes bytes as _codecs.encode(str, "latin1"): only that form is data.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise TorchFileError("_codecs.encode is allowed only as protocol 2's bytes "
                             "(a str and 'latin1')")
    return text.encode("latin1")


def _numpy_scalar(dtype, data=None):
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, bytes):
        raise TorchFileError("a NumPy scalar of an object dtype is not supported")
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _numpy_reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise TorchFileError(f"NumPy array subclass {subtype!r} is not supported")
    return np.ndarray.__new__(np.ndarray, shape, np.dtype(dtype))


class _Stream(io.BytesIO):
    """The pickle's bytes; a line cut short by the end of the file is an EOFError (Python's
    unpickler would drop its last character and read a truncated name)."""

    def readline(self, size=-1) -> bytes:
        line = super().readline(size)
        if not line.endswith(b"\n"):
            raise EOFError("the file ends inside a pickle opcode's line")
        return line


class _Unpickler(pickle._Unpickler):
    """Python's own unpickler (its opcode table can be restricted, the C one's cannot) whose
    globals come from the loader's table and whose BUILD opcode (setting an object's state)
    applies only to the objects a checkpoint's data makes: a shared object of the table (a
    dtype, a storage type) cannot be altered by the file."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, loader: _Loader, storages=None):
        super().__init__(file, encoding="utf-8")
        self.loader = loader
        self.storages = storages  # pid -> _Storage, or None: no persistent ids allowed

    def find_class(self, module, name):
        return self.loader.find(module, name)

    def persistent_load(self, pid):
        if self.storages is None:
            raise pickle.UnpicklingError("a persistent id where none is expected")
        return self.storages(pid)

    def load_build(self):
        inst = self.stack[-2] if len(self.stack) > 1 else None
        allowed = type(inst) in (OrderedDict, Counter, Tensor) or \
            type(inst) in self.loader.safe_types or (not self.loader.weights_only and (
                type(inst) is np.ndarray or isinstance(inst, np.dtype)))
        if not allowed:
            raise TorchFileError(f"{self.loader.file}: corrupted checkpoint: it sets the state "
                                 f"of a {type(inst).__name__}, which no checkpoint does")
        if isinstance(inst, Tensor):  # (PyTorch's rule: a tensor's state is its attributes)
            state = self.stack.pop()
            _set_attributes(inst, state, self.loader.file)
            return
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build

    def load_proto(self):
        # PyTorch's weights-only unpickler warns at each pickle of another protocol than the
        # one torch.save writes (session 27, PR13: a pickle.dump file given to torch.load)
        super().load_proto()
        if self.loader.weights_only and self.proto != 2:
            warnings.warn(f"Detected pickle protocol {self.proto} in the checkpoint, which was "
                          "not the default pickle protocol used by `torch.load` (2). Its "
                          "weights-only unpickler may lack some of that protocol's opcodes.",
                          UserWarning, stacklevel=2)

    dispatch[pickle.PROTO[0]] = load_proto


def _location_ok(loader: _Loader, location: str, storage: _Storage) -> _Storage:
    """Apply map_location (only CPU targets: _check_map_location checked strings and dicts)."""
    target = loader.map_location
    if callable(target) and not isinstance(target, (str, device)):
        if storage is None:  # (legacy files: called once the bytes are read)
            return storage
        probe = _leaf(storage.typed(storage.dtype_name))
        result = target(probe, location)
        if result is None or result is probe:
            return storage
        if isinstance(result, Tensor):
            raw = np.ascontiguousarray(result._data).reshape(-1).view(np.uint8)
            return _Storage(raw, storage.dtype_name, False)
        raise TorchFileError(f"map_location returned a {type(result).__name__}, "
                             "not a storage")
    if isinstance(target, dict):
        target = target.get(location, None)
    if target is None and not str(location).startswith("cpu"):
        raise RuntimeError(
            f"Attempting to deserialize object on a {str(location).split(':')[0].upper()} "
            "device but deltagrad runs on the CPU only. If you are running on a CPU-only "
            "machine, please use torch.load with map_location=torch.device('cpu') to map "
            "your storages to the CPU.")
    return storage


def _storage_type(loader: _Loader, pid) -> tuple:
    if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
        raise TorchFileError(f"{loader.file}: corrupted checkpoint: persistent id {pid!r}")
    kind = pid[1]
    if not isinstance(kind, _StorageType):
        raise TorchFileError(f"{loader.file}: storage type {kind!r} is not supported")
    return kind, str(pid[2]), str(pid[3]), int(pid[4])


def load_zip(file: str, data, loader: _Loader, mmap_path: str | None):
    """Read a zip checkpoint (``data``: its bytes or a seekable binary file)."""
    archive = zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    names = archive.namelist()
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pickles:
        if any(n.endswith("/constants.pkl") for n in names):
            raise TorchFileError(f"{file} is a TorchScript archive (torch.jit.save), which "
                                 "deltagrad does not load")
        raise TorchFileError(f"{file}: a zip archive without data.pkl, not a PyTorch "
                             "checkpoint")
    prefix = pickles[0][: -len("data.pkl")]
    big_endian = False
    if prefix + "byteorder" in names:
        big_endian = archive.read(prefix + "byteorder").strip() == b"big"
    mapped = None
    if mmap_path is not None:
        with open(mmap_path, "rb") as handle:  # (copy-on-write: PyTorch's MAP_PRIVATE)
            mapped = _mmap.mmap(handle.fileno(), 0, access=_mmap.ACCESS_COPY)
    storages: dict[str, _Storage] = {}

    def storage(pid):
        kind, key, location, numel = _storage_type(loader, pid)
        found = storages.get(key)
        if found is None:
            record = f"{prefix}data/{key}"
            if record not in names:
                raise TorchFileError(f"{file}: corrupted checkpoint: no record {record}")
            if mapped is not None:
                info = archive.getinfo(record)
                if info.compress_type != zipfile.ZIP_STORED:
                    raise TorchFileError(f"{file}: mmap=True needs uncompressed records")
                raw = np.frombuffer(mapped, dtype=np.uint8, count=info.file_size,
                                    offset=_record_start(mapped, info))
            else:
                raw = np.frombuffer(bytearray(archive.read(record)), dtype=np.uint8)
            itemsize = _numpy_dtype(kind.dtype_name).itemsize
            if raw.size < numel * itemsize:
                raise TorchFileError(f"{file}: corrupted checkpoint: record {record} holds "
                                     f"{raw.size} bytes, its storage needs {numel * itemsize}")
            found = _Storage(raw, kind.dtype_name, big_endian)
            found = storages[key] = _location_ok(loader, location, found)
        return found

    with archive.open(pickles[0]) as stream:
        return _Unpickler(_Stream(stream.read()), loader, storage).load()


def _record_start(mapped, info: zipfile.ZipInfo) -> int:
    # The local header: 30 bytes, then the name and the extra field (lengths at 26 and 28).
    header = bytes(mapped[info.header_offset:info.header_offset + 30])
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


def load_legacy(file: str, data: bytes, loader: _Loader):
    """Read a legacy (``_use_new_zipfile_serialization=False``) checkpoint's bytes.

    The storages' bytes follow the pickle, so each storage is allocated when the pickle first
    names it (its element count is in its id), tensors are views of that memory, and the bytes
    are read into it afterwards."""
    stream = _Stream(data)
    magic = _Unpickler(stream, loader).load()
    if magic != LEGACY_MAGIC:
        raise InvalidMagicNumber(f"{file}: a pickle file that is not a PyTorch checkpoint "
                                 "(invalid magic number)")
    protocol = _Unpickler(stream, loader).load()
    if protocol != LEGACY_PROTOCOL:
        raise TorchFileError(f"{file}: legacy checkpoint protocol {protocol!r} is not "
                             "supported")
    sys_info = _Unpickler(stream, loader).load()
    little = not isinstance(sys_info, dict) or bool(sys_info.get("little_endian", True))
    roots: dict[str, tuple] = {}  # key -> (_Storage, element count, location)

    def storage(pid):
        kind, key, location, numel = _storage_type(loader, pid)
        found = roots.get(key)
        if found is None:
            _location_ok(loader, location, None)
            itemsize = _numpy_dtype(kind.dtype_name).itemsize
            raw = np.zeros(numel * itemsize, dtype=np.uint8)
            found = roots[key] = (_Storage(raw, kind.dtype_name, False), numel, location)
            found[0].untyped = kind.name == "UntypedStorage"
        root = found[0]
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return root
        # (view key, element offset, element count): a slice of the root storage
        itemsize = _numpy_dtype(root.dtype_name).itemsize
        start, count = int(view[1]) * itemsize, int(view[2]) * itemsize
        if start < 0 or count < 0 or start + count > root.raw.size:
            raise TorchFileError(f"{file}: corrupted checkpoint: a storage view {view!r} "
                                 "outside its storage")
        return _Storage(root.raw[start:start + count], root.dtype_name, False)

    # A sparse tensor is built (its invariants checked) as it is unpickled, before this format's
    # storages are read (zeros then): refused here, as before (PyTorch validates it afterwards).
    loader.table["torch._utils._rebuild_sparse_tensor"] = _unsupported_rebuild("sparse_tensor",
                                                                                file)
    result = _Unpickler(stream, loader, storage).load()
    keys = _Unpickler(stream, loader).load()
    if not isinstance(keys, list):
        raise TorchFileError(f"{file}: corrupted checkpoint: its storage keys are a "
                             f"{type(keys).__name__}")
    order = "<" if little else ">"
    for key in keys:
        found = roots.get(str(key))
        if found is None:
            raise TorchFileError(f"{file}: corrupted checkpoint: storage {key!r} is not used")
        root, numel, location = found
        head = stream.read(8)
        if len(head) < 8 or struct.unpack(order + "q", head)[0] != numel:
            raise TorchFileError(f"{file}: corrupted or truncated checkpoint (the size of "
                                 f"storage {key!r})")
        raw = stream.read(root.raw.size)
        if len(raw) < root.raw.size:
            raise TorchFileError(f"{file}: truncated checkpoint (storage {key!r})")
        root.raw[:] = np.frombuffer(raw, dtype=np.uint8)
        if not little:  # (swapped in place: the tensors are views of this memory)
            dtype = _numpy_dtype(root.dtype_name)
            part = dtype.itemsize // 2 if dtype.kind == "c" else dtype.itemsize
            if part > 1:
                root.raw.view(f"u{part}").byteswap(inplace=True)
        mapped = _location_ok(loader, location, root)
        if mapped is not root:  # (a map_location function returned other values)
            if mapped.raw.size != root.raw.size:
                raise TorchFileError("map_location returned a storage of another size")
            root.raw[:] = mapped.raw
    return result


def load(file: str, data, weights_only: bool, safe_globals: list, refusal, mark_parameter,
         map_location, mmap_path: str | None = None):
    """Load a PyTorch checkpoint (zip or legacy) from ``data`` (bytes)."""
    loader = _Loader(file, weights_only, safe_globals, refusal, mark_parameter, map_location)
    if data[:4] == b"PK\x03\x04":
        return load_zip(file, data, loader, mmap_path)
    if mmap_path is not None:
        raise RuntimeError("mmap can only be used with files saved with "
                           f"`torch.save({mmap_path}, _use_new_zipfile_serialization=True), "
                           "please torch.save your checkpoint with this option in order to use "
                           "mmap.")  # (the path as PyTorch's; s29 BR20)
    return load_legacy(file, data, loader)


# --- plain pickle: pickle.dumps(tensor) by PyTorch, read under the alias -------------------------
# PyTorch's stream names torch.storage._load_from_bytes (its bytes: a legacy torch.save of the
# storage alone) and torch._utils._rebuild_tensor_v2 / _v3 / _rebuild_parameter; under the alias
# those are deltagrad.storage's and deltagrad._utils' names, which call these.

_PICKLE = "a pickled PyTorch tensor"
_pickle_loaders: dict = {}


def _pickle_loader() -> _Loader:
    from . import mark_parameter  # (set by nn.module once nn is imported: read it now)
    loader = _pickle_loaders.get(mark_parameter)
    if loader is None:  # (one per process: its table costs a dtypes scan)
        loader = _pickle_loaders[mark_parameter] = _Loader(_PICKLE, False, [], None,
                                                           mark_parameter, None)
    return loader


def storage_from_bytes(data: bytes):
    """torch.storage._load_from_bytes: the storage a legacy torch.save wrote into ``data``, as
    deltagrad's TypedStorage (UntypedStorage for an untyped one), read without running code."""
    from .._engine.api.storage import TypedStorage, UntypedStorage
    found = load_legacy(_PICKLE, bytes(data), _pickle_loader())
    if not isinstance(found, _Storage):
        raise TorchFileError(f"{_PICKLE}: its storage's bytes hold a {type(found).__name__}")
    if found.untyped:
        return UntypedStorage(found.raw)
    return TypedStorage(found.typed(found.dtype_name))


def rebuild_pickled(storage, offset, size, stride, requires_grad, metadata=None, dtype=None):
    """A tensor over ``storage`` (deltagrad's TypedStorage / UntypedStorage: shared memory),
    as PyTorch's _rebuild_tensor_v2 (``dtype`` None: the storage's) and _rebuild_tensor_v3."""
    from .._engine.api.storage import TypedStorage, UntypedStorage
    if isinstance(storage, TypedStorage):
        values, name = storage._values, _name(storage.dtype)
    elif isinstance(storage, UntypedStorage):
        values, name = storage._bytes, "uint8"
    else:
        raise TypeError(f"_rebuild_tensor: expected a storage, got {type(storage).__name__}")
    if not isinstance(values, np.ndarray):  # (a meta storage has no bytes)
        raise TorchFileError(f"{_PICKLE}: a storage without data (meta)")
    source = _Storage(values.reshape(-1).view(np.uint8), name, False)
    loader = _pickle_loader()
    # PyTorch's lazily conjugated / negated views pickle their storage's values with a conj /
    # neg bit: applied here to a copy (deltagrad has no such bits; the values are the same).
    flags = dict(metadata) if isinstance(metadata, dict) else metadata
    conj = bool(flags.pop("conj", False)) if isinstance(flags, dict) else False
    neg = bool(flags.pop("neg", False)) if isinstance(flags, dict) else False
    grad = requires_grad and not (conj or neg)
    if dtype is None:
        out = loader.rebuild_tensor_v2(source, offset, size, stride, grad, None, flags)
    else:
        out = loader.rebuild_tensor_v3(source, offset, size, stride, grad, None, dtype, flags)
    if conj or neg:
        array = np.conj(out._data) if conj else out._data
        out = _leaf(np.negative(array) if neg else array.copy())
        if requires_grad:
            out.requires_grad_(True)
    return out


def rebuild_pickled_parameter(data, requires_grad, state=None):
    """PyTorch's _rebuild_parameter / _rebuild_parameter_with_state (a Parameter of data)."""
    return _pickle_loader().rebuild_parameter(data, requires_grad, None, state)
