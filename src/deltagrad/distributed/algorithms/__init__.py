"""``torch.distributed.algorithms``: the ``Join`` context manager (uneven inputs)."""

from .join import Join, Joinable, JoinHook

__all__ = ["Join", "JoinHook", "Joinable"]
