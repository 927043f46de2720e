"""``torch.distributed.tensor.placement_types``: how a DTensor is laid out over a device mesh.
These are plain descriptions (libraries make some at import time, transformers among them), so
they work; DTensor itself, which would use them, is not supported in deltagrad."""

from __future__ import annotations

import dataclasses

__all__ = ["Partial", "Placement", "Replicate", "Shard"]


class Placement:
    """The base of the placements."""

    def is_shard(self, dim: int | None = None) -> bool:
        """Whether this is a Shard (on ``dim``, if given)."""
        return isinstance(self, Shard) and (dim is None or self.dim == dim)

    def is_replicate(self) -> bool:
        """Whether this is Replicate."""
        return isinstance(self, Replicate)

    def is_partial(self, reduce_op: str | None = None) -> bool:
        """Whether this is Partial (with ``reduce_op``, if given)."""
        return isinstance(self, Partial) and (reduce_op is None or self.reduce_op == reduce_op)


@dataclasses.dataclass(frozen=True)
class Shard(Placement):
    """Split over the mesh along tensor dim ``dim``."""

    dim: int

    def __repr__(self) -> str:
        return f"Shard(dim={self.dim})"


@dataclasses.dataclass(frozen=True)
class _StridedShard(Placement):
    """A Shard interleaved ``split_factor`` times (FSDP + tensor parallel); as in PyTorch, not
    a Shard (``is_shard()`` is False)."""

    dim: int
    split_factor: int = 1

    def __repr__(self) -> str:
        return f"_StridedShard(dim={self.dim}, sf={self.split_factor})"


@dataclasses.dataclass(frozen=True)
class Replicate(Placement):
    """A full copy on every rank of the mesh."""

    def __repr__(self) -> str:
        return "Replicate()"


@dataclasses.dataclass(frozen=True)
class Partial(Placement):
    """Pending reduction (``reduce_op``) over the mesh."""

    reduce_op: str = "sum"

    def __repr__(self) -> str:
        return f"Partial({self.reduce_op})"
