"""The DataPipe base classes: importable and usable in ``isinstance``, not constructible."""

from __future__ import annotations

from ..dataset import Dataset, IterableDataset

__all__ = ["IterDataPipe", "MapDataPipe"]


class _NotSupported:
    """Refuses to make an instance: no deltagrad dataset is ever a DataPipe."""

    def __new__(cls, *args, **kwargs):
        raise NotImplementedError(
            f"torch.utils.data.datapipes ({cls.__name__}) is not supported by deltagrad: use "
            "a Dataset / IterableDataset with DataLoader")


class IterDataPipe(_NotSupported, IterableDataset):
    """PyTorch's iterable-style DataPipe (not supported: making one raises)."""


class MapDataPipe(_NotSupported, Dataset):
    """PyTorch's map-style DataPipe (not supported: making one raises)."""
