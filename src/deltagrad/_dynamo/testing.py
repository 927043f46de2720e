"""``deltagrad._dynamo.testing``: the compile-counting backends that test suites import from
PyTorch's ``torch._dynamo.testing`` (pytorch_optimizer's, for one).

deltagrad compiles nothing, so no backend is ever called and a counter stays at zero; suites
guard the tests that read it with ``torch._dynamo.is_dynamo_supported()``, which is False."""

from __future__ import annotations

__all__ = ["CompileCounter", "CompileCounterWithBackend"]


class CompileCounter:
    """A ``torch.compile`` backend that counts the graphs (``frame_count``) and their call
    nodes (``op_count``) it is given, then runs each graph as it is."""

    def __init__(self) -> None:
        self.clear()

    def __call__(self, gm, example_inputs):
        self.frame_count += 1
        self.op_count += sum(1 for node in gm.graph.nodes if "call" in node.op)
        return gm.forward

    def clear(self) -> None:
        """Back to zero counts."""
        self.frame_count = 0
        self.op_count = 0


class CompileCounterWithBackend(CompileCounter):
    """A ``CompileCounter`` that records the graphs and names the backend it stands for."""

    def __init__(self, backend: str) -> None:
        super().__init__()
        self.backend = backend
        self.graphs: list = []

    def __call__(self, gm, example_inputs):
        self.graphs.append(gm)
        return super().__call__(gm, example_inputs)

    def clear(self) -> None:
        super().clear()
        self.graphs = []
