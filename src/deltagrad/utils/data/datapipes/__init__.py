"""``torch.utils.data.datapipes``: the names only (DataPipes are not supported).

PyTorch's DataPipes (deprecated there) are not implemented: the classes exist so that code
which imports them for ``isinstance`` checks (accelerate's DataLoaderDispatcher checks for a
``ShufflerIterDataPipe``) runs, and making one raises ``NotImplementedError``.
"""

from . import iter  # noqa: A004 - PyTorch's submodule name
from .datapipe import IterDataPipe, MapDataPipe

__all__ = ["IterDataPipe", "MapDataPipe", "iter"]
