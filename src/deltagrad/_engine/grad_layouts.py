"""``grad_fn.next_functions`` in PyTorch's layout where a deltagrad node's inputs differ from
those of PyTorch's node: a missing weight or bias is PyTorch's ``(None, 0)`` (convolution,
layer and batch norm), inputs PyTorch's node does not take (index and mask tensors, targets, a
number lifted to a tensor) are left out, and linear and cross_entropy, one fused node each
here, show the nodes PyTorch records for them (``AddmmBackward0(bias, input,
TBackward0(weight))``, ``NllLossBackward0(LogSoftmaxBackward0(input))``). Graph walkers
(torchviz, captum, torch_pruning) read these tuples by position. An input that takes a
gradient is never left out: the layout only changes where PyTorch's and deltagrad's graphs
hold the same edges."""

from __future__ import annotations

__all__ = ["SyntheticNode", "torch_layout"]

_NONE = (None, 0)


class SyntheticNode:
    """A node of PyTorch's graph that a fused deltagrad op has not (linear's ``TBackward0``
    over its weight, the views around its matrix product): it answers ``name()`` and
    ``next_functions`` for graph walkers and does no work."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: tuple):
        self._pairs = pairs

    @property
    def next_functions(self) -> tuple:
        return self._pairs

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"


_CLASSES: dict = {}


def _over(name: str, *pairs) -> tuple:
    """``(node, 0)`` for a synthetic node ``name`` over ``pairs``; ``(None, 0)`` where none of
    them leads anywhere (PyTorch records no node for an op on tensors that need no grad)."""
    if all(pair[0] is None for pair in pairs):
        return _NONE
    cls = _CLASSES.get(name)
    if cls is None:
        cls = _CLASSES[name] = type(name, (SyntheticNode,), {"__slots__": ()})
    return (cls(pairs), 0)


def _linear(inputs, attrs, pairs, name):
    # deltagrad's inputs: (input, weight[, bias]); PyTorch: a matrix product of the input
    # (viewed as 2-d) and weight.t(), the bias added by addmm, the result viewed back.
    x, weight = pairs[0], _over("TBackward0", pairs[1])
    bias = pairs[2] if len(pairs) > 2 else None
    ndim = inputs[0].ndim
    if ndim == 2:
        return (bias, x, weight) if bias is not None else (x, weight)
    if ndim == 1 and bias is None:
        return (_over("MmBackward0", _over("UnsqueezeBackward0", x), weight),)
    x = _over("ViewBackward0", x)
    if bias is not None:
        return (_over("AddmmBackward0", bias, x, weight),)
    return (_over("MmBackward0", x, weight),)


def _affine_norm(inputs, attrs, pairs, name):
    # (input[, weight][, bias]) -> PyTorch's (input, weight, bias), None for a missing one.
    has_weight = bool(attrs.get("has_weight", len(pairs) > 1))
    weight = pairs[1] if has_weight and len(pairs) > 1 else _NONE
    bias = pairs[1 + has_weight] if len(pairs) > 1 + has_weight else _NONE
    return (pairs[0], weight, bias)


def _convolution(inputs, attrs, pairs, name):
    return pairs + (_NONE,) * (3 - len(pairs))  # (input, weight, bias)


def _without(kinds: str, first: int = 0):
    """A rule dropping the inputs (from position ``first``) whose dtype kind is in ``kinds``
    (``"b"`` masks, ``"iu"`` indices), where they lead nowhere."""
    def rule(inputs, attrs, pairs, name):
        return tuple(pair for i, (inp, pair) in enumerate(zip(inputs, pairs))
                     if i < first or pair[0] is not None or inp._data.dtype.kind not in kinds)
    return rule


def _only_first(inputs, attrs, pairs, name):
    # nll_loss: its target and class weights are not inputs of PyTorch's node.
    return pairs[:1] + tuple(pair for pair in pairs[1:] if pair[0] is not None)


def _without_number(position: int):
    """A rule dropping the number lifted to a 0-d tensor at ``position`` (``1 - x``'s 1,
    ``2 ** x``'s 2, ``masked_fill``'s value): PyTorch's node of that overload has no input
    for it."""
    def rule(inputs, attrs, pairs, name):
        if len(pairs) <= position or pairs[position][0] is not None or inputs[position].ndim:
            return pairs
        return pairs[:position] + pairs[position + 1:]
    return rule


def _masked_fill(inputs, attrs, pairs, name):
    # deltagrad's (mask, value, input) -> PyTorch's MaskedFillBackward0 (input,): the mask is
    # no input there and the value a number.
    return _without("b")(inputs, attrs, _without_number(1)(inputs, attrs, pairs, name), name) \
        if len(pairs) == 3 else pairs


def _masked_fill_tensor(inputs, attrs, pairs, name):
    # deltagrad's (mask, value, input) -> PyTorch's MaskedFillBackward1 (input, value): a
    # tensor value is an input there (s28 SL17).
    return (pairs[2], pairs[1]) if len(pairs) == 3 else pairs


def _cross_entropy(inputs, attrs, pairs, name):
    # One fused op here (logits, target); PyTorch's cross_entropy is log_softmax, then
    # nll_loss for class indices (plus a smoothing term added: AddBackward0), or the product
    # with a probability target summed and negated (divided for a mean: DivBackward1).
    logits = _over("LogSoftmaxBackward0", pairs[0])
    if name in ("NllLoss2DBackward0", "ViewBackward0") and inputs[0].ndim != 4:
        logits = _over("ViewBackward0", logits)  # (nll_loss2d takes [N, C, H, W]: a view)
    if name in ("NllLossBackward0", "NllLoss2DBackward0"):
        return (logits,)
    if name == "ViewBackward0":  # (reduction "none" over [N, C, d1] or more dims)
        return (_over("NllLoss2DBackward0", logits),)
    if name == "AddBackward0":  # (label smoothing: both terms scaled)
        return (_over("MulBackward1", logits), _over("MulBackward1", logits))
    product = _over("MulBackward0", logits, pairs[1] if len(pairs) > 1 else _NONE)
    if name == "DivBackward1":
        return (_over("NegBackward0", _over("SumBackward0", product)),)
    if name == "NegBackward0":
        summed = "SumBackward1" if attrs.get("reduction") == "none" else "SumBackward0"
        return (_over(summed, product),)
    return pairs


# PyTorch's node name -> the rule giving its pairs from deltagrad's (inputs, attrs, pairs).
_BY_NAME = {
    "ConvolutionBackward0": _convolution,
    "NativeLayerNormBackward0": _affine_norm,
    "NativeBatchNormBackward0": _affine_norm,
    "EmbeddingBackward0": _without("iu"),
    "NllLossBackward0": _only_first,
    "NllLoss2DBackward0": _only_first,
    "WhereBackward0": _without("b"),
    "GatherBackward0": _without("iu"),
    "SortBackward0": _without("iu"),
    "TopkBackward0": _without("iu"),
    "RsubBackward1": _without_number(0),
    "PowBackward2": _without_number(0),
    "MaskedFillBackward0": _masked_fill,
    "MaskedFillBackward1": _masked_fill_tensor,
    # (the number overloads node_names reads from the operands: PyTorch's node has no input
    # for the number; diag_embed's zeros are no input either; s28 SL17)
    "RemainderBackward0": _without_number(1), "FmodBackward0": _without_number(1),
    "XlogyBackward2": _without_number(1), "XlogyBackward1": _without_number(0),
    "SpecialXlog1PyBackward2": _without_number(1), "SpecialXlog1PyBackward1": _without_number(0),
    "SpecialZetaBackward2": _without_number(1), "SpecialZetaBackward1": _without_number(0),
    "LerpBackward0": _without_number(2),
    "DiagEmbedBackward0": lambda inputs, attrs, pairs, name: pairs[1:] if len(pairs) == 2 and (
        pairs[0][0] is None) else pairs,
}
# deltagrad's op name -> its rule, where one op stands for several of PyTorch's nodes.
_BY_OP = {"linear": _linear, "cross_entropy_index": _cross_entropy,
          "softmax_cross_entropy": _cross_entropy}


def torch_layout(node, torch_name: str, pairs: tuple) -> tuple:
    """``pairs`` (one per deltagrad input of ``node``) in PyTorch's layout for its node
    ``torch_name``; unchanged where the two agree."""
    rule = _BY_OP.get(node._op.name) or _BY_NAME.get(torch_name)
    if rule is None or not node._inputs:
        return pairs
    attrs = node._attrs if type(node._attrs) is dict else {}
    return rule(node._inputs, attrs, pairs, torch_name)
