"""PyTorch's ``torch.distributed.distributed_c10d``, the module its process-group API lives in
(libraries import ``ProcessGroup``, ``PrefixStore``, ``get_process_group_ranks`` and the
private ``_get_default_group`` from it): here the same objects as ``deltagrad.distributed``'s
(the package sets the three collectives it defines itself onto this module)."""

from __future__ import annotations

from . import _extras, collectives, objects, point_to_point, process_group, scatter_gather, store
from .process_group import (  # noqa: F401 - re-exported
    _rank_not_in_group,
    default_group,
    is_torchelastic_launched,
)
from .store import TCPStore  # noqa: F401 - re-exported (not in store.__all__)

__all__ = sorted({*_extras.__all__, *collectives.__all__, *objects.__all__,
                  *point_to_point.__all__, *process_group.__all__, *scatter_gather.__all__,
                  *store.__all__, "TCPStore", "is_torchelastic_launched", "all_gather_into_tensor",
                  "all_to_all_single", "reduce_scatter_tensor"} - {"default_group"})
globals().update({name: getattr(module, name)
                  for module in (_extras, collectives, objects, point_to_point, process_group,
                                 scatter_gather, store)
                  for name in module.__all__})


def _get_default_group():
    """The default process group (PyTorch's private accessor).

    Raises:
        ValueError: ``init_process_group`` has not been called (PyTorch's message)."""
    return default_group()
