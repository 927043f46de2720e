"""The padding primitive behind ``nn.functional.pad``: constant, reflect, replicate, circular.

``pad`` is PyTorch's tuple (left, right) per dimension, last dimension first; a negative width
crops. Constant padding copies the kept block into a filled array, and its gradient is that
block of ``g``. The other modes gather each padded dimension through an index array (the
source position of every output position), so the gradient scatters ``g`` back through the
same arrays, adding where several outputs read one input (a reflected or replicated edge).
It imports NumPy and the registry; arguments are checked by ``nn.functional.pad``.
"""

from __future__ import annotations

import numpy as np

from .registry import Sample, register

__all__: list[str] = []


def _widths(ndim, pad):
    """(axis, left, right) for each padded dimension, last dimension first."""
    return [(ndim - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(len(pad) // 2)]


def _constant_blocks(shape, pad):
    """The kept block: its slices in the input and in the output, the output's shape, and
    whether the input is kept whole (no negative width). Worked out once per (shape, pad):
    3 us of Python for a 2-d pad, against 0.1 for the look-up."""
    key = (shape, pad)
    blocks = _BLOCKS.get(key)
    if blocks is not None:
        return blocks
    ndim = len(shape)
    in_slices, out_slices, out_shape = [slice(None)] * ndim, [slice(None)] * ndim, list(shape)
    for axis, left, right in _widths(ndim, pad):
        start, stop = max(-left, 0), shape[axis] - max(-right, 0)
        in_slices[axis] = slice(start, stop)
        out_slices[axis] = slice(max(left, 0), max(left, 0) + stop - start)
        out_shape[axis] = shape[axis] + left + right
    whole = all(left >= 0 and right >= 0 for _, left, right in _widths(ndim, pad))
    if len(_BLOCKS) >= 256:  # (bounded: a loop over ever new shapes)
        _BLOCKS.clear()
    blocks = _BLOCKS[key] = (tuple(in_slices), tuple(out_slices), tuple(out_shape), whole)
    return blocks


_BLOCKS: dict = {}


def _source_positions(size, left, right, mode):
    """For each output position along one dimension, the input position it copies."""
    if mode == "circular":
        # As PyTorch: negative widths crop first, then the cropped block wraps around.
        start = max(-left, 0)
        kept = size - start - max(-right, 0)
        q = np.arange(kept + max(left, 0) + max(right, 0)) - max(left, 0)
        return start + np.mod(q, kept)
    q = np.arange(size + left + right) - left  # the position in the unpadded frame
    if mode == "reflect":
        q = np.abs(q)
        return np.where(q > size - 1, 2 * (size - 1) - q, q)
    return np.minimum(np.maximum(q, 0), size - 1)  # replicate (np.clip: 2 us of dispatch)


def _gather_plan(shape, pad, mode):
    """(axis, source positions, shape before gathering it) for each padded dimension.

    Kept per (shape, pad, mode), read-only: the forward and the rule both need it, and making
    it costs more than the gathers of a small input (pad's forward + rule on [2, 4] by (3, 2),
    replicate, with np.clip replaced too: 17.0 -> 4.2 us).
    """
    key = (shape, pad, mode)
    plan = _PLANS.get(key)
    if plan is not None:
        return plan
    plan, shape = [], list(shape)
    for axis, left, right in _widths(len(shape), pad):
        if left == right == 0:
            continue
        index = _source_positions(shape[axis], left, right, mode)
        index.flags.writeable = False
        plan.append((axis, index, tuple(shape)))
        shape[axis] = len(index)
    if len(_PLANS) >= 256:  # (bounded: a loop over ever new shapes)
        _PLANS.clear()
    _PLANS[key] = plan = tuple(plan)
    return plan


_PLANS: dict = {}


def _pad_forward(x, *, pad, mode, value):
    if mode == "constant":
        in_slices, out_slices, out_shape, _ = _constant_blocks(x.shape, pad)
        out = np.empty(out_shape, dtype=x.dtype)
        out.fill(value)  # (np.full's Python: 0.7 against 0.3 us)
        out[out_slices] = x[in_slices]
        return out
    plan = _gather_plan(x.shape, pad, mode)
    if not plan:  # (zero widths: a new array, as PyTorch's; x itself aliased the input, s18 SL3)
        return x.copy()
    for axis, index, _ in plan:
        x = x.take(index, axis=axis)
    return x


def _pad_vjp(F, g, out, x, *, pad, mode, value):
    shape, dtype = F.data(x).shape, F.data(g).dtype
    if mode == "constant":
        in_slices, out_slices, _, whole = _constant_blocks(shape, pad)
        if whole:  # the input is all in the output: its gradient is that block of g
            return (F.getitem(g, out_slices),)
        return (F.index_add_zeros(F.getitem(g, out_slices), in_slices, shape, dtype),)
    for axis, index, before in reversed(_gather_plan(shape, pad, mode)):
        g = F.index_add_zeros(g, (slice(None),) * axis + (index,), before, dtype)
    return (g,)


def _pad_samples(rng):
    out = []
    for shape, pad, mode in (
            ((5,), (2, 1), "constant"), ((3, 4), (1, -2, 0, 2), "constant"),
            ((2, 3, 4), (-1, -1), "constant"), ((2, 3), (0, 0), "constant"),
            ((2, 5), (2, 3), "reflect"), ((1, 2, 4, 3), (2, -1, 1, 2), "reflect"),
            ((2, 4), (3, 2), "replicate"), ((1, 3, 2, 2, 3), (1, 2, 0, 1, 2, -1), "replicate"),
            ((2, 4), (3, 2), "circular"), ((2, 2, 3), (-1, 2, 1, 1), "circular")):
        out.append(Sample((rng.standard_normal(shape),),
                          {"pad": pad, "mode": mode, "value": 0.5 if mode == "constant" else 0},
                          f"{mode} {pad}"))
    return out


register("pad", forward=_pad_forward, vjp=_pad_vjp, samples=_pad_samples)
