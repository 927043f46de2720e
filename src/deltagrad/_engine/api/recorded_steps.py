"""Results that PyTorch records in the graph but defines no derivative for (unique and its
kin, histogram and histogramdd, bincount's weighted sums, geqrf): they require grad when an
input does, in grad mode, and a backward that reaches them raises PyTorch's error. As leaves
they would instead let a gradient through the other paths of a loss silently leave out the
step, where PyTorch raises (kornia's ``histogram_matching`` of a template that requires grad:
PyTorch raises NotImplementedError).
"""

from __future__ import annotations

from ..autograd import _GradMode
from ..modes import MAPPED, refuse_mapped
from ..node_names import name_node
from ..ops import Op
from ..tensor import Tensor, _leaf, _result

# (node name, error class, message) -> its Op, made once.
_NODES: dict = {}


def _node(name: str, error: type, message: str) -> Op:
    key = (name, error, message)
    op = _NODES.get(key)
    if op is None:
        def forward(*arrays):  # (a captured step replayed: nothing to recompute it from)
            raise error(message)

        def vjp(F, g, out, *inputs, **attrs):
            raise error(message)

        # Not registered (OPS): nothing to gradcheck; like autograd.Function's DelayedError.
        op = _NODES[key] = Op(name, forward, vjp, lambda rng: [], False, False)
    return op


def recorded_step(data, inputs, node_name: str, error: type, message: str) -> Tensor:
    """``data`` (an ndarray of a floating dtype) as a tensor: a leaf when no tensor of
    ``inputs`` requires grad or grad mode is off, else the result of a node over those that do,
    printed as PyTorch's ``node_name``, whose backward raises ``error(message)``."""
    sources = tuple(x for x in inputs if isinstance(x, Tensor) and x._rg)
    if not sources or not _GradMode.enabled or data.dtype.kind not in "fc":
        return _leaf(data)
    result = _result(data, _node(node_name, error, message), sources, None, True)
    return name_node(result, node_name)


# unique's node by (dim given, consecutive): PyTorch's node name and the op its error names.
_UNIQUE = {(False, False): ("Unique2Backward0", "_unique2"),
           (True, False): ("UniqueDimBackward0", "unique_dim"),
           (False, True): ("UniqueConsecutiveBackward0", "unique_consecutive"),
           (True, True): ("UniqueConsecutiveBackward0", "unique_consecutive")}


def unique_values(values, input: Tensor, dim, consecutive: bool) -> Tensor:
    """The values of ``unique`` / ``unique_consecutive`` of ``input`` (``dim`` None or an
    int), recorded as PyTorch's: a backward through them raises NotImplementedError."""
    name, aten = _UNIQUE[dim is not None, bool(consecutive)]
    if MAPPED:  # (vmap: a data-dependent shape, PyTorch's refusal naming its operator)
        refuse_mapped(aten, input)
    return recorded_step(values, (input,), name, NotImplementedError,
                         f"the derivative for '{aten}' is not implemented.")


def bincount_sums(sums, dtype, weights) -> Tensor:
    """bincount's sums of ``weights`` (``sums`` cast to ``dtype``): PyTorch records them, and
    a backward through them raises RuntimeError."""
    return recorded_step(sums.astype(dtype), (weights,), "NotImplemented", RuntimeError,
                         "derivative for aten::bincount is not implemented")
