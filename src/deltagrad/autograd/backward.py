"""``deltagrad.autograd.backward``: backward from several tensors at once (PyTorch's)."""

from __future__ import annotations

from .. import _engine as dg
from .._engine.api.backward import AUTOGRAD_BACKWARD, _seed_for, backward_to_inputs

__all__ = ["backward"]


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate into the leaves' ``.grad`` the gradient of ``sum_i <tensors[i],
    grad_tensors[i]>``, as ``tensors[i].backward(grad_tensors[i])`` for each i would, in one
    sweep.

    Args:
        tensors: a Tensor or a sequence of Tensors that require grad.
        grad_tensors: one gradient per tensor (``None`` for a single-element tensor).
        retain_graph: keep the graph for another backward (default: ``create_graph``).
        create_graph: record the backward pass, for higher derivatives.
        inputs: if given, only these tensors' ``.grad`` accumulate (others are untouched).
    """
    tensors = [tensors] if isinstance(tensors, dg.Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, dg.Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    grad_tensors = list(grad_tensors)
    if len(grad_tensors) < len(tensors):
        raise RuntimeError(f"backward: got {len(tensors)} tensors and {len(grad_tensors)} "
                           "grad_tensors")
    grad_tensors = grad_tensors[:len(tensors)]  # (PyTorch pairs them as zip does)
    if inputs is not None:
        backward_to_inputs(tensors, grad_tensors, inputs, retain_graph, create_graph)
        return
    running, AUTOGRAD_BACKWARD[2] = AUTOGRAD_BACKWARD[2], True  # (see there)
    try:
        _backward(tensors, grad_tensors, retain_graph, create_graph)
    finally:
        AUTOGRAD_BACKWARD[2] = running


def _backward(tensors: list, grad_tensors: list, retain_graph, create_graph) -> None:
    if len(tensors) == 1:
        tensors[0].backward(grad_tensors[0], retain_graph=retain_graph,
                            create_graph=create_graph)
        return
    for i, t in enumerate(tensors):  # (summed below: each must be checked here, as PyTorch)
        if isinstance(t, dg.Tensor) and not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               f"have a grad_fn (backward: tensor {i} of shape "
                               f"{tuple(t.shape)})")
    # One root whose gradient is the sum of the tensors' vector-Jacobian products.
    total = None
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if g is not None:  # (PyTorch checks each pair: t * g below would broadcast a gradient
            # of another shape, e.g. torch.ones(1) for a 0-d loss, PR25 s30; and take a number)
            _seed_for(t, g, False, "backward()", i)
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs "
                                   f"(a tensor of shape {tuple(t.shape)} has no grad_tensor)")
            term = t.sum()
        else:
            term = (t * g).sum()
        total = term if total is None else total + term
    total.backward(retain_graph=retain_graph, create_graph=create_graph)
