"""Checkpoints: tensors in safetensors, everything else in JSON; atomic writes; pickle never
written (PyTorch's own files are read by a restricted unpickler: torch_files.py).

``save(obj, path)`` writes one safetensors file. Every Tensor and ndarray found in ``obj`` is
stored as a safetensors tensor named by its key path (``"fc.weight"`` for a flat state_dict,
``"model/fc.weight"`` one level down), so any safetensors reader (``safetensors.numpy.load_file``,
``safetensors.torch.load_file``) opens the weights. The rest of ``obj`` (dicts, lists, tuples,
sets, strings, numbers, booleans, None, bytes, dtypes and devices by name; other Python objects
as their class by reference and their state as data, see ``objects.py``; shared references and
cycles as references) is stored as JSON in the header's metadata under the key
``"deltagrad"``, with placeholders where the tensors were, a CRC-32, dtype and shape of every
tensor and a format version; a CRC-32 of that JSON text sits beside it (``"deltagrad.crc32"``),
so that a damaged byte anywhere in the file is caught, never loaded as something else. The
file holds no code: loading data runs none, and loading an object (which imports its class and
calls it, as pickle would) needs ``weights_only=False`` or an allow-list.

``load(path)`` rebuilds ``obj``: Tensors as Tensors (with ``requires_grad`` restored), ndarrays
as ndarrays, bit for bit in their dtypes. A safetensors file written by another program (no
``"deltagrad"`` metadata) loads as a flat dict of Tensors. PyTorch's own checkpoints
(``torch.save``'s zip archives and legacy pickle files: pretrained ``.pth`` weights) load too,
read by a restricted unpickler that runs no code from the file (``torch_files.py``).

Both also take an open binary file (``io.BytesIO``, ``open(..., "wb")``) instead of a path, as
PyTorch's do; ``load``'s ``map_location`` is accepted (everything loads onto the CPU) and its
``weights_only`` means what PyTorch's means. Deliberate difference: ndarrays and NumPy scalars
load with ``weights_only=True`` (they are data here; PyTorch's unpickler refuses them).
"""

from __future__ import annotations

import json
import math
import os
import pickle  # only for PyTorch's exception class, pickle.UnpicklingError: nothing is pickled
import tempfile
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from .._engine import dtypes
from .._engine.api.attributes import Size
from .._engine.device import check_device, device
from .._engine.tensor import Tensor, _leaf
from . import objects, storages, torch_files
from .errors import CheckpointError, unreadable
from .safetensors_bytes import _BytesHandle, _explain, _has_bfloat16  # (moved out: s27, FS1)
from .torch_files import get_layout as _get_layout  # noqa: F401 (PyTorch's pickles name it)
from .unsafe_globals import get_unsafe_globals_in_checkpoint

__all__ = ["CheckpointError", "add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "get_unsafe_globals_in_checkpoint", "load", "safe_globals", "save",
           "write_atomically"]

# PyTorch's save/load argument types (pyro's hints); map_location's "storage" is a Tensor here.
FILE_LIKE = str | os.PathLike | IO[bytes]
MAP_LOCATION = Callable[[Any, str], Any] | str | dict[str, str] | Any | None

# PyTorch's default pickle protocol of torch.save (monai's datasets import it as a default)
DEFAULT_PROTOCOL = 2
# Version 1: data only. Version 2 adds shared references ("$ref"), objects by reference
# (serialization/objects.py), sets, bytes, complex numbers and tensors sharing one array; a file
# that needs none of these is still written as version 1 (older deltagrads read it). Version 3
# adds views of a stored storage (storages.py), only where one is saved: older ones refuse it.
FORMAT_VERSION = 3
_METADATA_KEY = "deltagrad"
_METADATA_CRC_KEY = "deltagrad.crc32"  # absent from files written before it existed
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# How to tell a Parameter and make one: set by nn.module (nn sits above this module), so that a
# Parameter saved outside a state_dict loads as a Parameter, as PyTorch's does.
is_parameter = lambda obj: False  # noqa: E731
mark_parameter = None


def _safetensors_numpy():
    # Imported here, not at the top: `import deltagrad` needs only NumPy.
    try:
        import safetensors.numpy
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("deltagrad.save/load need the 'safetensors' package: "
                          "pip install safetensors") from None
    return safetensors.numpy


# ----------------------------------------------------------------------------------------------
# Encoding: obj -> (JSON-able structure, {key: ndarray}).


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.checksums: dict[str, int] = {}
        self.layouts: dict[str, list] = {}  # key: [dtype.str, shape]
        self.version, self.views = 1, False  # raised to 2 by a node only version 2 knows
        self._keys_by_id: dict[int, str] = {}
        self._keep_alive = []  # ids are only unique among live objects
        # Identity, as pickle's memo: the n-th container / tensor / object met is number n;
        # meeting it again writes {"$ref": n} (shared references and cycles survive). The
        # decoder numbers what it builds in the same order.
        self._memo: dict[int, int] = {}
        self.building: set[int] = set()  # tuples / reduce arguments being encoded
        self._view_dtypes: dict[int, np.dtype] = {}  # a memory's id: the dtype saved over it

    def remember(self, value) -> None:
        self._memo[id(value)] = len(self._memo)
        self._keep_alive.append(value)  # (a temporary __getstate__ dict must keep its id)

    def tensor_key(self, value, path: str, storage=None) -> str:
        array = value._data if isinstance(value, Tensor) else value
        original = array if storage is None else storage  # (tensors over it share the key)
        known = self._keys_by_id.get(id(original))
        if known is not None:  # tensors over one array (a parameter and its state_dict entry)
            if isinstance(value, Tensor):
                self.version = 2  # (version 1 read one key as one Tensor object)
            return known
        if (array.dtype.kind not in "biufc" or array.dtype.byteorder == ">") and \
                array.dtype.name != "bfloat16":  # (ml_dtypes' bfloat16: safetensors' BF16)
            if array.dtype.kind in "biufc":
                array = array.astype(array.dtype.newbyteorder("="))
            else:
                raise TypeError(f"save: {_describe(path)} is an array of dtype {array.dtype}, "
                                "which safetensors cannot store")
        if not array.flags.c_contiguous:  # (ascontiguousarray would also make 0-d arrays 1-d)
            array = np.ascontiguousarray(array)
        key = path or "tensor"
        if key == "__metadata__" or key in self.arrays:
            n = 1
            while f"{key}#{n}" in self.arrays:
                n += 1
            key = f"{key}#{n}"
        self.arrays[key] = storages.storable(array)  # (complex128: float64 pairs)
        self.checksums[key] = _crc32(array)
        # The CRC covers the bytes only: "F32" -> "I32" in the safetensors header would reread
        # the same bytes as integers.
        self.layouts[key] = [array.dtype.str, list(array.shape)]
        self._keys_by_id[id(original)] = key
        self._keep_alive.append(original)
        return key

    def encode(self, value, path: str):
        kind = type(value)
        if value is None or kind is bool or kind is str or kind is int:
            return value
        if kind is float:
            if math.isfinite(value):
                return value
            return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
        if isinstance(value, np.generic):
            return {"$scalar": self.tensor_key(np.asarray(value), path)}
        # dtypes and devices (Lightning hyperparameters hold them) go by name: plain data.
        if isinstance(value, dtypes.dtype):
            return {"$dtype": repr(value).rpartition(".")[2]}  # 'deltagrad.float64' -> name
        if isinstance(value, device):
            return {"$device": str(value)}
        if kind is complex:
            self.version = 2
            return {"$complex": [self.encode(value.real, path), self.encode(value.imag, path)]}
        if kind is bytes or kind is bytearray:
            self.version = 2
            array = np.frombuffer(bytes(value), dtype=np.uint8)
            return {"$" + kind.__name__: self.tensor_key(array, path)}
        known = self._memo.get(id(value))
        if known is not None:
            self.version = 2
            return {"$ref": known}
        if id(value) in self.building:
            raise TypeError(f"save: {_describe(path)} is a {kind.__name__} that contains itself "
                            "through its own construction (a tuple or a reduce argument); "
                            "checkpoints cannot rebuild such a cycle")
        if isinstance(value, Tensor):
            if value.is_sparse:
                raise TypeError(f"save: {_describe(path)} is a sparse tensor; checkpoints hold "
                                "dense tensors: save its .to_dense()")
            self.remember(value)
            node = self.tensor_node(value, path)
            if value.requires_grad:
                node["requires_grad"] = True
            if is_parameter(value):
                node["parameter"] = True
            elif type(value) is not Tensor and not kind.__module__.startswith("deltagrad"):
                # a user's subclass (MONAI's MetaTensor, tv_tensors) loads as itself, as
                # PyTorch's: its class by reference (weights_only loads refuse it unless allowed)
                self.version = 2
                node["class"] = objects.encode_global(kind, _describe(path))
            if value.__dict__:  # attributes set on the tensor (PyTorch saves them too)
                self.version = 2
                node["attrs"] = self.encode(dict(value.__dict__), path)
            return node
        if isinstance(value, np.ndarray):
            self.remember(value)
            return {"$ndarray": self.tensor_key(value, path)}
        if kind is list:
            self.remember(value)
            return [self.encode(item, _child(path, str(i))) for i, item in enumerate(value)]
        if kind is tuple or kind is frozenset or kind is Size:
            self.building.add(id(value))
            items = [self.encode(item, _child(path, str(i))) for i, item in enumerate(value)]
            self.building.discard(id(value))
            self.remember(value)
            if kind is not tuple:
                self.version = 2
            return {"$" + kind.__name__.lower(): items}
        if kind is set:
            self.version = 2
            self.remember(value)
            return {"$set": [self.encode(item, _child(path, str(i)))
                             for i, item in enumerate(value)]}
        if kind is dict or kind is OrderedDict:
            self.remember(value)
            if all(type(key) is str for key in value):
                node = {"$dict": {key: self.encode(item, _child(path, key))
                                  for key, item in value.items()}}
            else:
                node = {"$items": [[self.encode_key(key, path),
                                    self.encode(item, _child(path, str(key)))]
                                   for key, item in value.items()]}
            if kind is OrderedDict:  # a state_dict loads as one, as PyTorch's
                node["ordered"] = True
                if value.__dict__:  # (its attributes: a state_dict's _metadata, as pickle;
                    # a reader before s29 skips them: plain data stays version 1)
                    node["attrs"] = self.encode(dict(value.__dict__), path)
            return node
        self.version = 2
        return objects.encode_object(self, value, path, _describe(path))

    def tensor_node(self, value: Tensor, path: str) -> dict:
        """Its storage (written once) and, for a view, its layout in it (storages.py)."""
        root = data = value._data
        while type(root.base) is np.ndarray:
            root = root.base
        if self._view_dtypes.setdefault(id(root), data.dtype) != data.dtype:  # (PyTorch's)
            raise RuntimeError("Cannot save multiple tensors or storages that view the same "
                               "data as different types")
        self._keep_alive.append(root)
        found = storages.storage_of(data)
        if found is None:
            return {"$tensor": self.tensor_key(value, path)}
        root, view = found
        whole = data.flags.c_contiguous and view[2] == 0 and data.size == root.size
        key = self.tensor_key(value if whole else root, path, storage=root)
        if whole and self.layouts[key][1] == list(data.shape):
            return {"$tensor": key}  # (the storage as it is: as before version 3)
        self.views = True  # (version 3)
        return {"$tensor": key, "view": view}

    def encode_key(self, key, path: str):
        if isinstance(key, np.generic):
            key = key.item()
        # (a Tensor key is stored as a tensor, as pickle stores it in PyTorch: TRAC's legacy
        # optimizer state is keyed by its parameters)
        if isinstance(key, (np.ndarray, list, dict)):
            raise TypeError(f"save: a dict key at {_describe(path)} is a {type(key).__name__}; "
                            "keys must be str, int, float, bool, None, tensors or tuples of "
                            "those")
        return self.encode(key, path)


def _crc32(array: np.ndarray) -> int:
    """CRC-32 of the array's bytes (it detects flipped bits and torn writes in the data)."""
    return zlib.crc32(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def _child(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _describe(path: str) -> str:
    return f"the value at {path!r}" if path else "the object"


# ----------------------------------------------------------------------------------------------
# Decoding.


class _Decoder:
    def __init__(self, file: str, handle, header: dict, gate: objects.WeightsOnlyGate):
        self.file = file
        self.handle = handle
        self.keys = set(handle.keys())
        self.checksums = header.get("crc32") or {}
        self.layouts = header.get("layout") or {}
        self.gate = gate
        # Version 1 loaded one key as one Tensor object; version 2 writes "$ref" for one
        # object met twice, and one key for several tensors over one array (sharing it).
        self.share_tensors_by_key = header.get("version", 1) < 2
        self.cache: dict = {}
        self.memo: list = []  # what "$ref" numbers refer to (the encoder's order)
        self.map_location = None  # (load's, where it is a function: _mapped)

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.file}: corrupted deltagrad checkpoint: {what}")

    def array(self, key) -> np.ndarray:
        if not isinstance(key, str) or key not in self.keys:
            raise self.fail(f"the metadata refers to a tensor {key!r} that the file does not hold")
        array = storages.restore(_own(self.handle.get_tensor(key)), self.layouts.get(key))
        expected = self.checksums.get(key)
        if expected is not None and expected != _crc32(array):
            raise self.fail(f"the data of tensor {key!r} does not match its checksum")
        layout = self.layouts.get(key)
        if layout is not None and layout != [array.dtype.str, list(array.shape)]:
            raise self.fail(f"tensor {key!r} is stored as {array.dtype.str} {list(array.shape)}, "
                            f"saved as {layout[0]} {layout[1]}")
        if callable(self.map_location):
            array = _mapped(self.map_location, array)
        return array

    def shared_array(self, key) -> np.ndarray:
        found = self.cache.get(("array", key))
        if found is None:
            found = self.cache[("array", key)] = self.array(key)
        return found

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            out = []
            self.memo.append(out)
            out.extend(self.decode(item) for item in node)
            return out
        if not isinstance(node, dict) or len(node) == 0:
            raise self.fail(f"unexpected node {node!r} in the structure")
        if "$dict" in node or "$items" in node:
            out = OrderedDict() if node.get("ordered") else {}
            self.memo.append(out)
            if "$dict" in node:
                for key, item in node["$dict"].items():
                    out[key] = self.decode(item)
            else:
                for key, item in node["$items"]:
                    key = _hashable(self.decode(key))
                    out[key] = self.decode(item)
            if "attrs" in node and isinstance(out, OrderedDict):
                out.__dict__.update(self.decode(node["attrs"]))
            return out
        if "$ref" in node:
            number = node["$ref"]
            if not isinstance(number, int) or not 0 <= number < len(self.memo):
                raise self.fail(f"a reference to object {number!r}, which is not defined")
            return self.memo[number]
        for tag, kind in (("$tuple", tuple), ("$size", Size), ("$frozenset", frozenset)):
            if tag in node:
                if kind is frozenset:
                    self.gate.resolve("builtins:frozenset")  # (PyTorch's default list lacks it)
                out = kind(self.decode(item) for item in node[tag])
                self.memo.append(out)
                return out
        if "$set" in node:
            out = set()
            self.memo.append(out)
            out.update([self.decode(item) for item in node["$set"]])
            return out
        if "$object" in node or "$reduce" in node or "$global" in node:
            try:
                if "$global" in node:
                    return self.gate.resolve(node["$global"])
                return objects.build(self, node)
            except (CheckpointError, pickle.UnpicklingError, _RebuildError):
                raise
            except Exception as error:  # (not a corrupted file: the error pickle would raise)
                raise _RebuildError(error) from error
        if "$float" in node:
            return _NON_FINITE[node["$float"]]
        if "$complex" in node:
            real, imag = node["$complex"]
            return complex(self.decode(real), self.decode(imag))
        if "$bytes" in node:
            return self.array(node["$bytes"]).tobytes()
        if "$bytearray" in node:
            return bytearray(self.array(node["$bytearray"]).tobytes())
        if "$dtype" in node:
            found = getattr(dtypes, str(node["$dtype"]), None)
            if not isinstance(found, dtypes.dtype):
                raise self.fail(f"unknown dtype {node['$dtype']!r}")
            return found
        if "$device" in node:
            try:
                return device(node["$device"])
            except (RuntimeError, TypeError, ValueError):
                raise self.fail(f"unknown device {node['$device']!r}") from None
        if "$scalar" in node:
            return self.array(node["$scalar"])[()]
        if "$ndarray" in node:
            out = self.shared_array(node["$ndarray"])
            self.memo.append(out)
            return out
        if "$tensor" in node:
            return self.tensor(node)
        raise self.fail(f"unknown node {node!r} in the structure")

    def tensor(self, node: dict) -> Tensor:
        key = node["$tensor"]
        if self.share_tensors_by_key and ("$tensor", key) in self.cache:
            out = self.cache[("$tensor", key)]
        else:
            array = self.shared_array(key)
            if "view" in node:
                array = storages.build_view(array, node["view"], self.fail)
            out = _leaf(array)
            if node.get("requires_grad"):
                out.requires_grad_(True)
            if node.get("parameter") and mark_parameter is not None:
                out = mark_parameter(out)
            elif "class" in node:  # (after requires_grad: a view then, no leaf, as PyTorch's)
                out = out.as_subclass(self.decode(node["class"]))
            self.cache[("$tensor", key)] = out
        self.memo.append(out)
        if "attrs" in node:
            out.__dict__.update(self.decode(node["attrs"]))
        return out


def _mapped(target: Callable, array: np.ndarray) -> np.ndarray:
    """``array`` after a map_location function, called as PyTorch calls it per storage (with a
    tensor of the data here, and "cpu"): None or that tensor keeps the data, a tensor of as many
    elements replaces it, anything else is PyTorch's TypeError (it was ignored; s29 BR20)."""
    probe = _leaf(array)
    result = target(probe, "cpu")
    if result is None or result is probe:
        return array
    if isinstance(result, Tensor) and result.numel() == array.size:
        return np.ascontiguousarray(result._data).reshape(array.shape).astype(array.dtype)
    raise _RebuildError(TypeError(f"load(map_location=...): the function returned a "
                                  f"{type(result).__name__}, where a storage or None was expected"))


class _RebuildError(Exception):
    """Carries an error raised while rebuilding an object (its class missing, its
    ``__setstate__`` failing) past the handler that reports corrupted files."""

    def __init__(self, original: Exception):
        super().__init__(str(original))
        self.original = original


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


# ----------------------------------------------------------------------------------------------
# The public functions.


def save(obj, f, pickle_module=None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Write ``obj`` to ``path`` as one safetensors file, atomically.

    The file is written under a temporary name in the same directory, flushed and fsynced,
    then renamed over ``path``: a crash or an error mid-write leaves any previous file intact.

    Args:
        obj: any nesting of dict / list / tuple / set / str / int / float / complex / bool /
            None / bytes / dtype / device / Tensor / ndarray (a model's ``state_dict()``, an
            optimizer's, RNG state, metadata...), and of objects pickle could save: instances
            of importable classes (a whole Module, an ``argparse.Namespace``, a dataclass, an
            enum member), classes and functions by reference.
            An object that appears twice (tied weights) is stored once and loads as one object.
        f: the destination path (conventionally ``*.safetensors``), or a binary file object
            with ``write`` (written at its position; not atomic, the caller owns it).
        pickle_module, pickle_protocol, _use_new_zipfile_serialization: PyTorch's, accepted
            and unused (deltagrad never pickles).

    Raises:
        TypeError: for a value that cannot be saved (a lambda, an open file, a generator:
            naming where it is in ``obj``); where pickle raises another class (a lambda's
            PicklingError, a local function's AttributeError) the error is also that class.
        RuntimeError: two tensors that view one memory as different dtypes (PyTorch's).

    >>> import os, tempfile, deltagrad as dg
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> dg.save({"w": dg.ones(2), "step": 3, "lr": 1e-3}, path)
    >>> dg.load(path)
    {'w': tensor([1., 1.]), 'step': 3, 'lr': 0.001}
    """
    path = f  # (PyTorch's parameter name: torch.save(obj, f=...))
    st = _safetensors_numpy()
    encoder = _Encoder()
    structure = encoder.encode(obj, "")
    header = {"version": 3 if encoder.views else encoder.version, "structure": structure,
              "crc32": encoder.checksums, "layout": encoder.layouts}
    text = json.dumps(header, separators=(",", ":"), allow_nan=False)
    metadata = {_METADATA_KEY: text, _METADATA_CRC_KEY: str(zlib.crc32(text.encode("utf-8")))}
    if hasattr(path, "write"):
        path.write(st.save(encoder.arrays, metadata=metadata))
        # PyTorch flushes a file object it wrote, so the file is readable by name at once
        # (accelerate saves into a NamedTemporaryFile and loads it by .name).
        if hasattr(path, "flush"):
            path.flush()
    else:
        parent = os.path.dirname(os.fspath(path))
        if parent and not os.path.isdir(parent):  # (PyTorch's RuntimeError, not OSError)
            raise RuntimeError(f"Parent directory {parent} does not exist.")
        # st.save's bytes written from the arrays (NER ensemble: 0.27 -> 0.04 CPU s, issue 18)
        write_atomically(path, lambda tmp: st.save_file(encoder.arrays, tmp, metadata=metadata))


# PyTorch's allow-list of the globals (classes, functions) that load(weights_only=True) may
# import and call to rebuild the objects of a checkpoint (objects.WeightsOnlyGate reads it).
_SAFE_GLOBALS: list = []


def add_safe_globals(safe_globals: list) -> None:
    """Add classes / functions (or ``(object, "module.name")`` pairs) to the allow-list of
    ``load(weights_only=True)``: objects of these classes load without ``weights_only=False``."""
    _SAFE_GLOBALS.extend(safe_globals)


def get_safe_globals() -> list:
    """The allow-list ``add_safe_globals`` built (a new list)."""
    return list(_SAFE_GLOBALS)


def clear_safe_globals() -> None:
    """Empty the allow-list."""
    _SAFE_GLOBALS.clear()


class safe_globals:  # noqa: N801 - PyTorch's name
    """``with safe_globals([...]):`` the allow-list holds these too inside the block only."""

    def __init__(self, safe_globals: list) -> None:
        self.safe_globals = list(safe_globals)

    def __enter__(self):
        self._previous = list(_SAFE_GLOBALS)
        _SAFE_GLOBALS.extend(self.safe_globals)
        return self

    def __exit__(self, *exc) -> bool:
        _SAFE_GLOBALS[:] = self._previous
        return False


def write_atomically(path: str | os.PathLike, data: bytes | Callable[[str], None]) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one.

    A temporary file in the same directory is written (by ``data(name)`` for a callable),
    flushed and fsynced, then renamed over ``path`` (and the directory fsynced where the
    platform allows)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:  # (a callable writes by name: it may put a new file there)
            data(tmp) if callable(data) else f.write(data)
        with open(tmp, "rb+") as f:  # what is at ``tmp`` now (safetensors' save_file: a new inode)
            os.fsync(f.fileno())
        # mkstemp creates the file readable by its owner only; give it the mode a plain open()
        # would have (the umask can only be read by setting it).
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not every platform can open a directory
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args):
    """Read a checkpoint written by ``save``, any safetensors file, or PyTorch's torch.save.

    Args:
        f: the file's path, or a binary file object with ``read`` (read from its position).
        map_location: where PyTorch would put the tensors; everything loads onto the CPU, so
            it may be None, "cpu", a CPU device, a dict or a function (both ignored); naming
            another device raises ``RuntimeError``.
        weights_only: PyTorch's: True (the default, unless ``pickle_module`` is given) loads
            data only, and objects only of allow-listed classes (``add_safe_globals``);
            False also rebuilds every object (importing and calling its class, as pickle).
        mmap: PyTorch's, for its zip checkpoints: their storages are mapped copy-on-write.
        pickle_module, pickle_load_args: PyTorch's, accepted and unused.

    Returns:
        The saved object, with Tensors and ndarrays restored bit-exactly; for a safetensors
        file without deltagrad metadata, a dict of Tensors by name.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: if the file is truncated, corrupted, or neither a safetensors file
            nor a PyTorch checkpoint (or holds sparse / quantized / subclass tensors).
        pickle.UnpicklingError: ``weights_only=True`` and the file holds an object whose class
            is not allow-listed (PyTorch's error); for a PyTorch checkpoint also with
            ``weights_only=False`` where it would import and call a class or function (a
            pickled Module, os.system): deltagrad never runs code from a PyTorch file.
    """
    path = f  # (PyTorch's parameter name: torch.load(f=...))
    _check_map_location(map_location)
    weights_only = _weights_only(weights_only, pickle_module)
    st = _safetensors_numpy()
    from safetensors import safe_open

    if hasattr(path, "read"):
        if mmap:  # (PyTorch's check, before reading: any file object)
            raise ValueError("f must be a file path in order to use the mmap argument")
        data = path.read()
        file = str(getattr(path, "name", "<file object>"))
        if torch_files.is_torch_file(data[:9]):
            return _load_torch_file(file, data, map_location, weights_only, None)
        handle = _BytesHandle.open(file, data, st)
    else:
        file = os.fspath(path)
        if not os.path.isfile(file):
            raise FileNotFoundError(f"no checkpoint at {file!r}")
        with open(file, "rb") as f:
            if torch_files.is_torch_file(f.read(9)):
                f.seek(0)
                return _load_torch_file(file, f.read(), map_location, weights_only,
                                        file if mmap else None)
        try:
            handle = safe_open(file, framework="numpy")
        except Exception as error:  # safetensors raises its own SafetensorError (no public base)
            with open(file, "rb") as f:
                head = f.read(9)
            size = os.path.getsize(file)
            raise unreadable(_explain(file, head, size, error), size, head=head) from None
        if _has_bfloat16(file):  # (safetensors' NumPy side cannot read BF16: read the bytes)
            handle.__exit__(None, None, None)
            with open(file, "rb") as f:
                handle = _BytesHandle.open(file, f.read(), st)
    try:
        with handle:
            metadata = handle.metadata() or {}
            text = metadata.get(_METADATA_KEY)
            if text is None:
                if _METADATA_CRC_KEY in metadata:
                    raise CheckpointError(f"{file}: corrupted deltagrad checkpoint: its metadata "
                                          "is missing (the key naming it is damaged)")
                return {key: _leaf(_own(handle.get_tensor(key))) for key in handle.keys()}
            _check_metadata(file, text, metadata.get(_METADATA_CRC_KEY))
            header = _parse_header(file, text)
            gate = objects.WeightsOnlyGate(file, weights_only, _SAFE_GLOBALS)
            decoder = _Decoder(file, handle, header, gate)
            decoder.map_location = map_location
            return decoder.decode(header["structure"])
    except (CheckpointError, pickle.UnpicklingError):
        raise
    except _RebuildError as wrapped:  # an object's class or its __setstate__ failed: as pickle
        raise wrapped.original from None
    except Exception as error:  # a malformed structure (wrong JSON types) or unreadable data
        raise CheckpointError(f"{file}: corrupted checkpoint: {type(error).__name__}: "
                              f"{error}") from None


def _load_torch_file(file: str, data: bytes, map_location, weights_only: bool,
                     mmap_path: str | None):
    """A checkpoint of PyTorch's torch.save, read by the restricted unpickler (torch_files)."""
    refusal = objects.WeightsOnlyGate(file, True, _SAFE_GLOBALS).refusal
    try:
        return torch_files.load(file, data, weights_only, list(_SAFE_GLOBALS), refusal,
                                mark_parameter, map_location, mmap_path)
    except torch_files.GlobalRefused:
        raise  # (PyTorch's error type: pickle.UnpicklingError, naming the global)
    except torch_files.TorchFileError as error:
        raise unreadable(str(error), len(data), error) from None
    except (EOFError, pickle.UnpicklingError, zipfile.BadZipFile, TypeError, ValueError,
            IndexError, KeyError, AttributeError) as error:  # a malformed file
        message = (f"{file}: cannot read checkpoint: a corrupted or truncated PyTorch "
                   f"checkpoint ({type(error).__name__}: {error})")
        raise unreadable(message, len(data), error) from None


def _weights_only(weights_only: bool | None, pickle_module) -> bool:
    """PyTorch's rule: True unless a pickle_module is passed; the environment variables
    TORCH_FORCE_WEIGHTS_ONLY_LOAD / TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD (the latter only where the
    caller did not choose) override it."""
    true_values = ("1", "y", "yes", "true")
    force = os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in true_values
    force_not = os.getenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "0").lower() in true_values
    if force and force_not:
        raise RuntimeError("Only one of `TORCH_FORCE_WEIGHTS_ONLY_LOAD` or "
                           "`TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD` should be set, but both were set.")
    if force:
        weights_only = True
    elif weights_only is None:
        weights_only = not force_not and pickle_module is None
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is specified")
    return bool(weights_only)


def _own(array: np.ndarray) -> np.ndarray:
    """A writeable array (safetensors hands out copies; a read-only one would be a view)."""
    return array if array.flags.writeable else np.array(array)


def _check_metadata(file: str, text: str, checksum: str | None) -> None:
    if checksum is not None and checksum != str(zlib.crc32(text.encode("utf-8"))):
        raise CheckpointError(f"{file}: corrupted deltagrad checkpoint: its metadata does not "
                              "match its checksum")


def _parse_header(file: str, text: str) -> dict:
    try:
        header = json.loads(text)
    except ValueError as error:
        raise CheckpointError(f"{file}: corrupted deltagrad checkpoint: its metadata is not "
                              f"valid JSON ({error})") from None
    if not isinstance(header, dict) or "structure" not in header:
        raise CheckpointError(f"{file}: corrupted deltagrad checkpoint: its metadata has no "
                              "structure")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{file}: checkpoint format version {version!r} is not supported "
                              f"(this deltagrad reads versions up to {FORMAT_VERSION}); upgrade "
                              "deltagrad")
    return header


def _check_map_location(map_location) -> None:
    """Everything loads onto the CPU: a map_location naming another device is an error."""
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for target in targets:
        if target is not None and not callable(target):
            check_device(target, "load(map_location=...)")
