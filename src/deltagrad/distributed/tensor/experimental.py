"""``torch.distributed.tensor.experimental``: the names libraries import from it. DTensor is not
supported in deltagrad (see ``distributed.tensor``); ``implicit_replication`` is kept as the
context manager it is, since with no DTensor in existence there is nothing to replicate."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .._unsupported import unsupported_function

__all__ = ["context_parallel", "implicit_replication", "local_map", "register_sharding"]

_MODULE = "distributed.tensor.experimental"


@contextlib.contextmanager
def implicit_replication() -> Iterator[None]:
    """PyTorch's switch that lets DTensor ops take plain tensors as replicated; every tensor in
    deltagrad is a plain tensor, so the block runs unchanged (opacus wraps its FSDP noise step
    in it)."""
    yield


context_parallel = unsupported_function(_MODULE, "context_parallel")
local_map = unsupported_function(_MODULE, "local_map")
register_sharding = unsupported_function(_MODULE, "register_sharding")
