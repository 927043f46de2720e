"""PyTorch's ``torch.distributed.elastic`` (torchrun's agent): the part programs import,
``multiprocessing.errors.record``. deltagrad's processes are started by ``mpiexec``, not by an
elastic agent; see ``deltagrad.distributed``."""

from . import multiprocessing  # noqa: F401

__all__ = ["multiprocessing"]
