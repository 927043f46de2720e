"""PyTorch's ``torch.distributed.nn.functional``: differentiable collectives.

Unlike ``torch.distributed.all_reduce`` (in place, invisible to autograd), these return new
Tensors whose gradients flow back through the matching collective: the gradient of an all-reduce
sum is the all-reduced gradient, of an all-gather the reduce-scattered gradients, of a broadcast
the gradients summed on the source (zero elsewhere).
"""

from __future__ import annotations

import warnings

from ...autograd.function import Function
from ..collectives import ReduceOp
from ..collectives import all_gather as _all_gather_
from ..collectives import all_reduce as _all_reduce_
from ..collectives import broadcast as _broadcast_
from ..collectives import reduce as _reduce_
from ..process_group import get_rank, get_world_size
from ..scatter_gather import reduce_scatter as _reduce_scatter_

__all__ = ["all_gather", "all_reduce", "broadcast"]

# NOTE: the group (None: the default one) goes to Function.apply inside a tuple: deltagrad's
# Function takes a bare None positional argument for a tensor's place.


def _deprecated(name: str, replacement: str) -> None:
    # PyTorch 2.13 warns on every call of these (stacklevel: the caller's line).
    warnings.warn(f"torch.distributed.nn.functional.{name} is deprecated, use "
                  f"torch.distributed._functional_collectives.{replacement} instead.",
                  FutureWarning, stacklevel=3)


class _AllReduce(Function):
    @staticmethod
    def forward(ctx, spec, tensor):
        ctx.op, ctx.group = op, group = spec
        out = tensor.clone()
        _all_reduce_(out, op=op, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.op not in (ReduceOp.SUM, ReduceOp.AVG):
            raise NotImplementedError(
                f"deltagrad: the gradient of torch.distributed.nn.all_reduce with {ctx.op} is "
                "not supported (SUM and AVG are)")
        return None, _AllReduce.apply((ctx.op, ctx.group), grad)


class _AllGather(Function):
    @staticmethod
    def forward(ctx, spec, tensor):
        (ctx.group,) = (group,) = spec
        size = get_world_size(group)
        outputs = [tensor.new_empty(tensor.shape) for _ in range(size)]
        _all_gather_(outputs, tensor.contiguous(), group=group)
        return tuple(outputs)

    @staticmethod
    def backward(ctx, *grads):
        out = grads[get_rank(ctx.group)].new_empty(grads[0].shape)
        _reduce_scatter_(out, [g.contiguous() for g in grads], op=ReduceOp.SUM, group=ctx.group)
        return None, out


class _Broadcast(Function):
    @staticmethod
    def forward(ctx, spec, tensor):
        ctx.src, ctx.group = src, group = spec
        ctx.rank = get_rank()
        out = tensor.clone()
        _broadcast_(out, src, group=group)
        return out

    @staticmethod
    def backward(ctx, grad):
        total = grad.clone()
        _reduce_(total, ctx.src, op=ReduceOp.SUM, group=ctx.group)
        if ctx.rank != ctx.src:
            total = total.zero_()
        return None, total


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None):
    """``tensor`` combined over all processes, as a new Tensor that autograd differentiates.

    Args:
        tensor: this process's Tensor (same shape and dtype on every process); not changed.
        op: a ``ReduceOp``; the gradient is supported for SUM and AVG.
        group: the process group (None: the default group).

    Returns:
        The combined Tensor (the same on every process).
    """
    _deprecated("all_reduce", "all_reduce")
    return _AllReduce.apply((op, group), tensor)


def all_gather(tensor, group=None) -> tuple:
    """Every process's ``tensor``, as a tuple of Tensors (one per rank) autograd differentiates.

    Args:
        tensor: this process's Tensor (same shape and dtype on every process).
        group: the process group (None: the default group).

    Returns:
        ``world_size`` Tensors; entry r is rank r's tensor.
    """
    _deprecated("all_gather", "all_gather_single")
    return _AllGather.apply((group,), tensor)


def broadcast(tensor, src: int, group=None):
    """Process ``src``'s ``tensor`` on every process, as a new Tensor autograd differentiates.

    Args:
        tensor: this process's Tensor (same shape and dtype on every process); not changed.
        src: the global rank whose tensor is sent.
        group: the process group (None: the default group).
    """
    _deprecated("broadcast", "broadcast")
    return _Broadcast.apply((src, group), tensor)
