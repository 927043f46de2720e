"""Checkpoints: tensors in safetensors, everything else in JSON; atomic writes, no pickle.

``save(obj, path)`` writes one safetensors file. Every Tensor and ndarray found in ``obj`` is
stored as a safetensors tensor named by its key path (``"fc.weight"`` for a flat state_dict,
``"model/fc.weight"`` one level down), so any safetensors reader (``safetensors.numpy.load_file``,
``safetensors.torch.load_file``) opens the weights. The rest of ``obj`` (dicts, lists, tuples,
strings, numbers, booleans, None, dtypes and devices by name) is stored as JSON in the header's
metadata under the key ``"deltagrad"``, with placeholders where the tensors were, a CRC-32,
dtype and shape of every tensor and a format version; a CRC-32 of that JSON text sits beside it
(``"deltagrad.crc32"``), so that a damaged byte anywhere in the file is caught, never loaded as
something else. Nothing in the file is executed on load.

``load(path)`` rebuilds ``obj``: Tensors as Tensors (with ``requires_grad`` restored), ndarrays
as ndarrays, bit for bit in their dtypes. A safetensors file written by another program (no
``"deltagrad"`` metadata) loads as a flat dict of Tensors.

Both also take an open binary file (``io.BytesIO``, ``open(..., "wb")``) instead of a path, as
PyTorch's do; ``load``'s ``map_location`` and ``weights_only`` are accepted (everything loads
onto the CPU, and nothing is ever unpickled, so every load is "weights only").
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from ._engine import dtypes
from ._engine.device import check_device, device
from ._engine.tensor import Tensor, _leaf

__all__ = ["CheckpointError", "add_safe_globals", "clear_safe_globals", "get_safe_globals",
           "load", "safe_globals", "save", "write_atomically"]

# PyTorch's type aliases of save/load's arguments (libraries import them for their own hints,
# e.g. pyro's param store); a "storage" argument of a map_location callable is a Tensor here.
FILE_LIKE = str | os.PathLike | IO[bytes]
MAP_LOCATION = Callable[[Any, str], Any] | str | dict[str, str] | Any | None

FORMAT_VERSION = 1
_METADATA_KEY = "deltagrad"
_METADATA_CRC_KEY = "deltagrad.crc32"  # absent from files written before it existed
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# How to tell a Parameter and make one: set by nn.module (nn sits above this module), so that a
# Parameter saved outside a state_dict loads as a Parameter, as PyTorch's does.
is_parameter = lambda obj: False  # noqa: E731
mark_parameter = None


class CheckpointError(ValueError):
    """A checkpoint that cannot be read: truncated, corrupted, or not a deltagrad/safetensors
    file. The message names the file and what is wrong."""


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
        self._keys_by_id: dict[int, str] = {}
        self._keep_alive = []  # ids are only unique among live objects

    def tensor_key(self, value, path: str) -> str:
        known = self._keys_by_id.get(id(value))
        if known is not None:  # the same tensor twice (tied weights): stored once
            return known
        array = value._data if isinstance(value, Tensor) else value
        if array.dtype.kind not in "biufc" or array.dtype.byteorder == ">":
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
        self.arrays[key] = array
        self.checksums[key] = _crc32(array)
        # The CRC covers the bytes only: "F32" -> "I32" in the safetensors header would reread
        # the same bytes as integers.
        self.layouts[key] = [array.dtype.str, list(array.shape)]
        self._keys_by_id[id(value)] = key
        self._keep_alive.append(value)
        return key

    def encode(self, value, path: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, Tensor):
            if value.is_sparse:
                raise TypeError(f"save: {_describe(path)} is a sparse tensor; checkpoints hold "
                                "dense tensors: save its .to_dense()")
            node = {"$tensor": self.tensor_key(value, path)}
            if value.requires_grad:
                node["requires_grad"] = True
            if is_parameter(value):
                node["parameter"] = True
            return node
        if isinstance(value, np.ndarray):
            return {"$ndarray": self.tensor_key(value, path)}
        if isinstance(value, np.generic):
            return {"$scalar": self.tensor_key(np.asarray(value), path)}
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
        if isinstance(value, (list, tuple)):
            items = [self.encode(item, _child(path, str(i))) for i, item in enumerate(value)]
            return items if isinstance(value, list) else {"$tuple": items}
        if isinstance(value, dict):
            if all(isinstance(key, str) for key in value):
                node = {"$dict": {key: self.encode(item, _child(path, key))
                                  for key, item in value.items()}}
                if isinstance(value, OrderedDict):  # a state_dict loads as one, as PyTorch's
                    node["ordered"] = True
                return node
            return {"$items": [[self.encode_key(key, path), self.encode(item, _child(path,
                                                                                     str(key)))]
                               for key, item in value.items()]}
        # dtypes and devices (Lightning hyperparameters hold them) go by name: plain data.
        if isinstance(value, dtypes.dtype):
            return {"$dtype": repr(value).rpartition(".")[2]}  # 'deltagrad.float64' -> name
        if isinstance(value, device):
            return {"$device": str(value)}
        raise TypeError(f"save: {_describe(path)} is a {type(value).__name__}; checkpoints hold "
                        "only dict, list, tuple, str, int, float, bool, None, dtype, device, "
                        "Tensor and ndarray (never pickled objects)")

    def encode_key(self, key, path: str):
        if isinstance(key, np.generic):
            key = key.item()
        if isinstance(key, (Tensor, np.ndarray, list, dict)):
            raise TypeError(f"save: a dict key at {_describe(path)} is a {type(key).__name__}; "
                            "keys must be str, int, float, bool, None or tuples of those")
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
    def __init__(self, file: str, handle, checksums: dict, layouts: dict):
        self.file = file
        self.handle = handle
        self.keys = set(handle.keys())
        self.checksums = checksums
        self.layouts = layouts
        self.cache: dict[str, Tensor | np.ndarray] = {}

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.file}: corrupted deltagrad checkpoint: {what}")

    def array(self, key) -> np.ndarray:
        if not isinstance(key, str) or key not in self.keys:
            raise self.fail(f"the metadata refers to a tensor {key!r} that the file does not hold")
        array = _own(self.handle.get_tensor(key))
        expected = self.checksums.get(key)
        if expected is not None and expected != _crc32(array):
            raise self.fail(f"the data of tensor {key!r} does not match its checksum")
        layout = self.layouts.get(key)
        if layout is not None and layout != [array.dtype.str, list(array.shape)]:
            raise self.fail(f"tensor {key!r} is stored as {array.dtype.str} {list(array.shape)}, "
                            f"saved as {layout[0]} {layout[1]}")
        return array

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(item) for item in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise self.fail(f"unexpected node {node!r} in the structure")
        if "$dict" in node:
            items = {key: self.decode(item) for key, item in node["$dict"].items()}
            return OrderedDict(items) if node.get("ordered") else items
        if "$items" in node:
            return {_hashable(self.decode(key)): self.decode(item) for key, item in node["$items"]}
        if "$tuple" in node:
            return tuple(self.decode(item) for item in node["$tuple"])
        if "$float" in node:
            return _NON_FINITE[node["$float"]]
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
        for tag in ("$tensor", "$ndarray", "$scalar"):
            if tag in node:
                key = node[tag]
                cached = self.cache.get((tag, key))
                if cached is None:
                    array = self.array(key)
                    if tag == "$tensor":
                        cached = _leaf(array)
                        if node.get("requires_grad"):
                            cached.requires_grad_(True)
                        if node.get("parameter") and mark_parameter is not None:
                            cached = mark_parameter(cached)
                    elif tag == "$scalar":
                        cached = array[()]
                    else:
                        cached = array
                    self.cache[(tag, key)] = cached
                return cached
        raise self.fail(f"unknown node {node!r} in the structure")


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


# ----------------------------------------------------------------------------------------------
# The public functions.


def save(obj, path, pickle_module=None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Write ``obj`` to ``path`` as one safetensors file, atomically.

    The file is written under a temporary name in the same directory, flushed and fsynced,
    then renamed over ``path``: a crash or an error mid-write leaves any previous file intact.

    Args:
        obj: any nesting of dict / list / tuple / str / int / float / bool / None / dtype /
            device / Tensor / ndarray (a model's ``state_dict()``, an optimizer's, RNG state,
            metadata...).
            A tensor that appears twice (tied weights) is stored once and loads as one object.
        path: the destination file (conventionally ``*.safetensors``), or a binary file object
            with ``write`` (written at its position; not atomic, the caller owns it).
        pickle_module, pickle_protocol, _use_new_zipfile_serialization: PyTorch's, accepted
            and unused (deltagrad never pickles).

    Raises:
        TypeError: for a value of any other type (naming where it is in ``obj``).

    >>> import os, tempfile, deltagrad as dg
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> dg.save({"w": dg.ones(2), "step": 3, "lr": 1e-3}, path)
    >>> dg.load(path)
    {'w': tensor([1., 1.]), 'step': 3, 'lr': 0.001}
    """
    st = _safetensors_numpy()
    encoder = _Encoder()
    structure = encoder.encode(obj, "")
    header = {"version": FORMAT_VERSION, "structure": structure, "crc32": encoder.checksums,
              "layout": encoder.layouts}
    text = json.dumps(header, separators=(",", ":"), allow_nan=False)
    metadata = {_METADATA_KEY: text, _METADATA_CRC_KEY: str(zlib.crc32(text.encode("utf-8")))}
    data = st.save(encoder.arrays, metadata=metadata)
    if hasattr(path, "write"):
        path.write(data)
    else:
        parent = os.path.dirname(os.fspath(path))
        if parent and not os.path.isdir(parent):  # (PyTorch's RuntimeError, not OSError)
            raise RuntimeError(f"Parent directory {parent} does not exist.")
        write_atomically(path, data)


# PyTorch's allow-list of globals its weights-only unpickler may rebuild. deltagrad never
# unpickles (see the module docstring), so the list changes nothing here: it is kept so that
# libraries registering their classes at import time (torch_geometric) read back what they set.
_SAFE_GLOBALS: list = []


def add_safe_globals(safe_globals: list) -> None:
    """Add classes / functions (or ``(object, "module.name")`` pairs) to the allow-list of
    ``load(weights_only=True)``. Recorded only: deltagrad's ``load`` never unpickles."""
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


def write_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one.

    A temporary file in the same directory is written, flushed and fsynced, then renamed over
    ``path`` (and the directory fsynced where the platform allows).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
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


def load(path, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args):
    """Read a checkpoint written by ``save`` (or any safetensors file).

    Args:
        path: the file, or a binary file object with ``read`` (read from its position).
        map_location: where PyTorch would put the tensors; everything loads onto the CPU, so
            it may be None, "cpu", a CPU device, a dict or a function (both ignored); naming
            another device raises ``RuntimeError``.
        pickle_module, weights_only, mmap, pickle_load_args: PyTorch's, accepted and unused
            (nothing is unpickled: a deltagrad checkpoint holds only data).

    Returns:
        The saved object, with Tensors and ndarrays restored bit-exactly; for a safetensors
        file without deltagrad metadata, a dict of Tensors by name.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        CheckpointError: if the file is truncated, corrupted or not a safetensors file.
    """
    _check_map_location(map_location)
    st = _safetensors_numpy()
    from safetensors import safe_open

    if hasattr(path, "read"):
        data = path.read()
        file = str(getattr(path, "name", "<file object>"))
        handle = _BytesHandle.open(file, data, st)
    else:
        file = os.fspath(path)
        if not os.path.isfile(file):
            raise FileNotFoundError(f"no checkpoint at {file!r}")
        try:
            handle = safe_open(file, framework="numpy")
        except Exception as error:  # safetensors raises its own SafetensorError (no public base)
            with open(file, "rb") as f:
                head = f.read(9)
            raise CheckpointError(_explain(file, head, os.path.getsize(file), error)) from None
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
            decoder = _Decoder(file, handle, header.get("crc32") or {},
                               header.get("layout") or {})
            return decoder.decode(header["structure"])
    except CheckpointError:
        raise
    except Exception as error:  # a malformed structure (wrong JSON types) or unreadable data
        raise CheckpointError(f"{file}: corrupted checkpoint: {type(error).__name__}: "
                              f"{error}") from None


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


class _BytesHandle:
    """What ``safe_open`` offers, over the bytes of a checkpoint read from a file object."""

    def __init__(self, arrays: dict, metadata: dict | None):
        self._arrays = arrays
        self._metadata = metadata

    @classmethod
    def open(cls, file: str, data: bytes, st) -> _BytesHandle:
        data = bytes(data)
        try:
            # A safetensors file: the header's length (8 bytes, little-endian), then the header.
            length = int.from_bytes(data[:8], "little")
            header = json.loads(data[8:8 + length])
            arrays = st.load(data)
        except Exception as error:  # malformed bytes: SafetensorError, ValueError, ...
            raise CheckpointError(_explain(file, data[:9], len(data), error)) from None
        return cls(arrays, header.get("__metadata__") if isinstance(header, dict) else None)

    def keys(self):
        return self._arrays.keys()

    def get_tensor(self, key: str) -> np.ndarray:
        return self._arrays[key]

    def metadata(self):
        return self._metadata

    def __enter__(self) -> _BytesHandle:
        return self

    def __exit__(self, *exc) -> bool:
        return False


def _explain(file: str, head: bytes, size: int, error: Exception) -> str:
    """Say in words why safetensors could not open ``file`` (its own messages are terse)."""
    # A safetensors file starts with the header's length (8 bytes, little-endian), then the
    # header, a JSON object.
    if size < 8:
        what = f"the file is {size} bytes long, too short to be a safetensors file"
    elif head[8:9] != b"{":
        what = ("the file does not start with a safetensors header (not a safetensors file, or "
                "its header is corrupted)")
    elif 8 + int.from_bytes(head[:8], "little") > size:
        what = "the file is truncated (it ends inside its header)"
    elif "incomplete" in str(error) or "not fully covered" in str(error):
        what = "the file is truncated (its header describes more data than it holds)"
    else:
        what = "its safetensors header is corrupted"
    return f"{file}: cannot read checkpoint: {what} [safetensors: {error}]"
