"""``torch._dynamo._trace_wrapped_higher_order_op``: ``TransformGetItemToIndex``, the mode under
which PyTorch's tracer turns ``tensor[i]`` into an index op (transformers enters it around its
mask functions). deltagrad never traces, so indexing is already what runs: no effect."""

from __future__ import annotations

__all__ = ["TransformGetItemToIndex"]


class TransformGetItemToIndex:
    """A context manager with no effect (there is no tracer whose indexing it would change)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False
