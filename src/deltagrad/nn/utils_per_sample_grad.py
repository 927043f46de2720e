"""PyTorch's ``nn.utils._per_sample_grad.call_for_per_sample_grads`` (ExpandedWeights, opacus'
"ew" mode): per-sample gradients of every trainable parameter in ``param.grad_sample``.

PyTorch swaps each parameter for an ExpandedWeight whose layer functions compute, in backward,
each sample's share of the weight gradient from the layer's input and output gradient. Here the
same sums are taken from the same two tensors: a forward hook on each supported layer keeps its
input and hooks its output's gradient. The forward runs on stand-in leaves of the parameters, so
``param.grad`` stays untouched (as PyTorch's: only ``grad_sample`` is filled). Layers: Linear,
Conv1d/Conv2d, Embedding, LayerNorm, GroupNorm, InstanceNorm1d/2d/3d; a trainable parameter of any
other module raises NotImplementedError naming it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from .. import _engine as dg
from .._engine.tensor import Tensor
from . import functional as F
from .conv import Conv1d
from .conv2d import Conv2d
from .layers import Embedding, Linear
from .module import Module
from .norm2d import _InstanceNorm
from .normalization import GroupNorm, LayerNorm
from .utils_stateless import call_with

_SUPPORTED = (Linear, Conv1d, Conv2d, Embedding, LayerNorm, GroupNorm, _InstanceNorm)


def _tensors_in(tree) -> list:
    # (the containers PyTorch's pytree walks; utils._pytree sits above nn in the layers)
    if isinstance(tree, Tensor):
        return [tree]
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _tensors_in(item)]
    return []


def _sum_but_batch_and_last(tensor: Tensor, keep: int) -> Tensor:
    dims = tuple(range(1, tensor.ndim - keep))
    return tensor.sum(dims) if dims else tensor


def _linear(layer, x, g):
    x3 = x.reshape(x.shape[0], -1, x.shape[-1])
    g3 = g.reshape(g.shape[0], -1, g.shape[-1])
    return {"weight": lambda: dg.einsum("nto,nti->noi", g3, x3),
            "bias": lambda: g3.sum(1)}


def _embedding(layer, x, g):
    # NOTE: as PyTorch's, rows at padding_idx get their per-sample sums too.
    count, dim = x.shape[0], layer.weight.shape[1]
    index = x.unsqueeze(-1).expand(*x.shape, dim).reshape(count, -1, dim)

    def weight():
        zeros = dg.zeros(count, *layer.weight.shape, dtype=g.dtype)
        return zeros.scatter_add(1, index, g.reshape(count, -1, dim))
    return {"weight": weight}


def _layer_norm(layer, x, g):
    keep = len(layer.normalized_shape)
    return {"weight": lambda: _sum_but_batch_and_last(
                F.layer_norm(x, layer.normalized_shape, eps=layer.eps) * g, keep),
            "bias": lambda: _sum_but_batch_and_last(g, keep)}


def _per_channel(normalized: Callable[[], Tensor], g: Tensor) -> dict:
    def spatial_sum(t):
        return t.sum(tuple(range(2, t.ndim))) if t.ndim > 2 else t
    return {"weight": lambda: spatial_sum(normalized() * g), "bias": lambda: spatial_sum(g)}


def _group_norm(layer, x, g):
    return _per_channel(lambda: F.group_norm(x, layer.num_groups, eps=layer.eps), g)


def _instance_norm(layer, x, g):
    return _per_channel(lambda: F.instance_norm(x, eps=layer.eps), g)


def _conv(layer, x, g):
    if isinstance(layer, Conv1d):  # as a 2-D convolution of height 1
        x, g = x.unsqueeze(2), g.unsqueeze(2)
        kernel, stride, dilation = ((1, *layer.kernel_size), (1, *layer.stride),
                                    (1, *layer.dilation))
        padding = layer.padding if isinstance(layer.padding, str) else (0, *layer.padding)
    else:
        kernel, stride, dilation = layer.kernel_size, layer.stride, layer.dilation
        padding = layer.padding
    if isinstance(padding, str):  # "valid" or "same" (stride 1; the odd extra on the right)
        totals = [0 if padding == "valid" else d * (k - 1) for k, d in zip(kernel, dilation)]
        pairs = [(total // 2, total - total // 2) for total in totals]
    else:
        pairs = [(p, p) for p in padding]
    if layer.padding_mode != "zeros" or any(left != right for left, right in pairs):
        flat = [side for pair in reversed(pairs) for side in pair]
        mode = "constant" if layer.padding_mode == "zeros" else layer.padding_mode
        x, pairs = F.pad(x, flat, mode=mode), [(0, 0)] * len(pairs)
    count, groups, out_channels = x.shape[0], layer.groups, g.shape[1]

    def weight():
        cols = F.unfold(x, kernel, dilation=dilation, padding=[p for p, _ in pairs],
                        stride=stride)
        cols = cols.reshape(count, groups, -1, cols.shape[-1])
        grads = g.reshape(count, groups, out_channels // groups, -1)
        return dg.einsum("ngol,ngkl->ngok", grads, cols).reshape(count, *layer.weight.shape)
    return {"weight": weight, "bias": lambda: g.sum((2, 3))}


def _rule(layer: Module):
    for kind, rule in ((Linear, _linear), (Conv1d, _conv), (Conv2d, _conv),
                       (Embedding, _embedding), (LayerNorm, _layer_norm),
                       (GroupNorm, _group_norm), (_InstanceNorm, _instance_norm)):
        if isinstance(layer, kind):
            if type(layer).forward is not kind.forward:
                return None  # (a subclass with its own forward: the sums may not hold)
            return rule
    return None


def _check_supported(module: Module) -> None:
    for name, layer in module.named_modules():
        trainable = [key for key, param in layer._parameters.items()
                     if param is not None and param.requires_grad]
        if not trainable:
            continue
        reason = None
        if _rule(layer) is None:
            reason = "it is not a layer ExpandedWeights supports"
        elif isinstance(layer, Embedding) and layer.max_norm is not None:
            reason = "Embedding's max_norm renormalises the weight in place"
        elif isinstance(layer, _InstanceNorm) and layer.track_running_stats and not layer.training:
            reason = "InstanceNorm in eval mode normalises with running statistics"
        if reason is not None:
            where = f"{name}." if name else ""
            raise NotImplementedError(
                f"call_for_per_sample_grads: per-sample gradients of {type(layer).__name__} "
                f"parameters ({where}{trainable[0]}) are not supported by deltagrad ({reason}); "
                "supported: Linear, Conv1d, Conv2d, Embedding, LayerNorm, GroupNorm, "
                "InstanceNorm1d/2d/3d")


def call_for_per_sample_grads(module: Module, *, batch_size: int | None = None,
                              loss_reduction: str = "sum", batch_first: bool = True):
    """A forward function for ``module`` whose backward fills ``param.grad_sample`` (shape
    ``(batch, *param.shape)``) for every trainable parameter, leaving ``param.grad`` alone.

    Args:
        module: the model (its trainable parameters must belong to supported layers).
        batch_size: the batch size; None takes it from the inputs' batch dimension.
        loss_reduction: ``"sum"`` or ``"mean"`` (per-sample gradients scaled by the batch size
            to undo the mean).
        batch_first: whether the inputs' batch dimension, read for the batch size, is their
            first (else their second); the layers take dim 0 as the batch, as PyTorch's.

    Returns:
        A function taking the module's arguments and returning its output.
    """
    if loss_reduction not in ("sum", "mean"):
        raise RuntimeError(f"Expected loss_reduction argument to be sum or mean, got "
                           f"{loss_reduction}")
    if not isinstance(module, Module):
        raise RuntimeError(f"Module passed must be nn.Module, got {type(module).__name__}")
    if not (batch_size is None or isinstance(batch_size, int)):
        raise RuntimeError(f"Batch size passed must be None or an integer, got "
                           f"{type(batch_size).__name__}")
    if batch_size is not None and batch_size < 1:
        raise RuntimeError(f"Batch size must be positive, got {batch_size}")
    for weight in module.parameters():
        if getattr(weight, "grad_sample", None) is not None:
            raise RuntimeError("Current Expanded Weights accumulates the gradients, which will "
                               "be incorrect for multiple calls without clearing gradients. "
                               f"Please clear out the grad_sample parameter of {weight} or post "
                               "an issue to pytorch/pytorch to prioritize correct behavior")

    def infer_batch_size(args, kwargs) -> int:
        found = None
        for leaf in _tensors_in((args, kwargs)):
            size = leaf.shape[0] if batch_first else leaf.shape[1]
            if found is not None and found != size:
                raise RuntimeError(
                    f"When computing batch size, found at least one input with batch size "
                    f"{found} and one with batch size {size}. Please specify it explicitly "
                    "using the batch size kwarg in call_for_per_sample_grads")
            found = size
        if found is None:
            raise RuntimeError("Unable to find a tensor in the passed args and kwargs. They may "
                               "not be pytree-able and so ExpandedWeights cannot compute the "
                               "batch size from the inputs. Please specify it explicitly")
        return found

    @functools.wraps(module.forward)
    def wrapper(*args, **kwargs):
        size = batch_size if batch_size is not None else infer_batch_size(args, kwargs)
        _check_supported(module)
        handles = []
        for layer in module.modules():
            owned = {key: param for key, param in layer._parameters.items()
                     if param is not None and param.requires_grad}
            if owned:
                # NOTE: PyTorch's ExpandedWeights are always built batch-first (batch_first
                # only reads the batch size off the inputs), so the layers check dim 0 here too.
                hook = functools.partial(_forward_hook, owned=owned, batch_size=size,
                                         loss_reduction=loss_reduction)
                handles.append(layer.register_forward_hook(hook))
        # Stand-in leaves: the forward's weight gradients land on them, not on the parameters.
        stand_ins = {name: param.detach().requires_grad_()
                     for name, param in module.named_parameters() if param.requires_grad}
        try:
            return call_with(module, stand_ins, args, kwargs)
        finally:
            for handle in handles:
                handle.remove()

    return wrapper


def _forward_hook(layer, args, output, *, owned, batch_size, loss_reduction):
    x = args[0]
    name = type(layer).__name__
    if not isinstance(x, Tensor) or x.ndim == 0:
        raise RuntimeError(f"Expanded Weights requires a batch dimension but got an input of "
                           f"size 0 in function {name}")
    if x.shape[0] == 0:
        raise RuntimeError(f"0 is not a valid batch size for Expanded Weights but got input "
                           f"tensor of {x} in function {name}")
    if isinstance(layer, Linear) and x.ndim <= 1:
        raise RuntimeError("Input does not have a batch dimension. Expanded Weights expected "
                           f"input of at least rank 2, got of rank {x.ndim}")
    size = x.shape[0]
    if size != batch_size:
        raise RuntimeError(f"Expected ExpandedWeights to have batch size matching input but got "
                           f"input batch size of {size} with ExpandedWeight of batch size "
                           f"{batch_size}")
    if not isinstance(output, Tensor) or not output.requires_grad:
        return None
    saved = x.detach()
    rule = _rule(layer)

    def on_grad(g):
        sums = rule(layer, saved, g.detach())
        for key, param in owned.items():
            sample = sums[key]()
            if loss_reduction == "mean":
                sample = sample * batch_size
            previous = getattr(param, "grad_sample", None)
            param.grad_sample = sample if previous is None else previous + sample
        return None

    output.register_hook(on_grad)
    return None
