"""``torch.storage`` under the alias: the storage classes and ``_load_from_bytes``, the name by
which a plain pickle of PyTorch's tensor (``pickle.dumps(tensor)``) holds its storage."""

from __future__ import annotations

from ._engine.api.storage import TypedStorage, UntypedStorage

__all__ = ["TypedStorage", "UntypedStorage"]


def _load_from_bytes(b: bytes):
    """The storage whose legacy ``torch.save`` bytes ``b`` are (as PyTorch's pickles hold it),
    read by torch.load's restricted reader (no code from the bytes runs)."""
    from .serialization import torch_files
    return torch_files.storage_from_bytes(b)


class _LegacyStorageMeta(type):
    """``isinstance(s, FloatStorage)``: a TypedStorage of that class's dtype, as PyTorch's."""

    def __instancecheck__(cls, instance) -> bool:
        return type(instance) is TypedStorage and instance.dtype == cls.dtype


def _legacy(name: str, dtype_name: str) -> type:
    from ._engine import dtypes

    dtype = getattr(dtypes, dtype_name)

    def __new__(cls, *args, **kwargs):
        # (PyTorch's legacy classes make a TypedStorage of their dtype, not an instance of
        # themselves: print shows TypedStorage)
        return TypedStorage(*args, dtype=dtype, **kwargs)

    return _LegacyStorageMeta(name, (TypedStorage,), {
        "__new__": __new__, "dtype": dtype, "__module__": "deltagrad",
        "__doc__": f"PyTorch's legacy ``torch.{name}``: ``{name}(...)`` is a TypedStorage of "
                   f"{dtype_name} (sizes, sequences, wrap_storage=)."})


_LEGACY = {"BFloat16Storage": "bfloat16", "BoolStorage": "bool", "ByteStorage": "uint8",
           "CharStorage": "int8", "ComplexDoubleStorage": "complex128",
           "ComplexFloatStorage": "complex64", "DoubleStorage": "float64",
           "FloatStorage": "float32", "HalfStorage": "float16", "IntStorage": "int32",
           "LongStorage": "int64", "ShortStorage": "int16"}
LEGACY_STORAGES = {name: _legacy(name, dtype) for name, dtype in _LEGACY.items()}
