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
