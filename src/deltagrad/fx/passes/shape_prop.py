"""``torch.fx.passes.shape_prop``: ``ShapeProp`` runs a GraphModule on sample inputs node by
node and stores each tensor result's metadata (``TensorMetadata``: shape, dtype,
requires_grad, strides, memory format) in ``node.meta["tensor_meta"]`` and its Python type in
``node.meta["type"]`` (model-inspection scripts read them)."""

from __future__ import annotations

from typing import Any, NamedTuple

from ..interpreter import Interpreter
from ..node import Node, map_aggregate

__all__ = ["ShapeProp", "TensorMetadata"]


class TensorMetadata(NamedTuple):
    """What ShapeProp records about one tensor result."""

    shape: Any
    dtype: Any
    requires_grad: bool
    stride: tuple
    memory_format: Any
    is_quantized: bool
    qparams: dict


def _extract_tensor_metadata(result, include_contiguity: bool = True) -> TensorMetadata:
    import deltagrad

    memory_format = None
    if include_contiguity and not result.is_sparse:
        for query in (deltagrad.contiguous_format, deltagrad.channels_last,
                      deltagrad.channels_last_3d):
            try:
                if result.is_contiguous(memory_format=query):
                    memory_format = query
                    break
            except RuntimeError:  # (channels_last asked of a tensor of another rank)
                continue
    stride = () if result.is_sparse else result.stride()
    return TensorMetadata(result.shape, result.dtype, result.requires_grad, stride,
                          memory_format, False, {})


class ShapeProp(Interpreter):
    """Runs the module's graph on sample inputs (``propagate(*args)``), recording each
    node's tensor metadata and result type in its ``meta``."""

    def __init__(self, gm, fake_mode=None) -> None:
        super().__init__(gm)
        if fake_mode is not None:
            raise NotImplementedError("ShapeProp: fake tensor modes are not supported by "
                                      "deltagrad (pass real sample inputs)")
        self.fake_mode = None
        self.real_module = self.module

    def run_node(self, n: Node) -> Any:
        from ..._engine.tensor import Tensor

        try:
            result = super().run_node(n)
        except Exception as error:
            raise RuntimeError(f"ShapeProp error for: node={n.format_node()} with "
                               f"meta={n.meta}") from error
        found = []

        def extract(value):
            if isinstance(value, Tensor):
                found.append(True)
                return _extract_tensor_metadata(value)
            return value

        meta = map_aggregate(result, extract)
        if found:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args) -> Any:
        """Run the graph on ``args`` (sample inputs), recording metadata; returns the
        result."""
        return super().run(*args)
