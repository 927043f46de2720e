"""``torch.jit.annotations``: the typing names TorchScript code imports for its signatures.

``BroadcastingList2[int]`` marks an argument given as one value or a list (torchvision's
``output_size``); outside TorchScript it is only an annotation, so subscripting gives None as
PyTorch's does.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple  # noqa: UP035 - PyTorch re-exports these

__all__ = ["Any", "BroadcastingList1", "BroadcastingList2", "BroadcastingList3", "Dict", "List",
           "Optional", "Tuple"]


class _BroadcastingList:
    """Subscriptable marker: ``BroadcastingList2[int]`` is None (an annotation only)."""

    def __getitem__(self, types) -> None:
        return None


BroadcastingList1 = BroadcastingList2 = BroadcastingList3 = _BroadcastingList()
