"""``torch.distributed.elastic.multiprocessing``: its ``errors`` submodule (``@record``)."""

from . import errors  # noqa: F401

__all__ = ["errors"]
