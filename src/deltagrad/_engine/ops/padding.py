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
    if x.size >= 8192:  # (below, the chain of takes is faster: 0.6 against 3.3 us on [2, 4])
        filled = _fill_in_place(x, plan)
        if filled is not None:
            return filled
    for axis, index, _ in plan:
        x = x.take(index, axis=axis)
    return x


def _runs(index, start=0, n=None):
    """``index[start:n]`` as maximal runs ``(start, stop, first source, step)``, step +1, -1
    or 0 (a wrapped, reflected or replicated stretch)."""
    runs, n = [], len(index) if n is None else n
    while start < n:
        stop = start + 1
        step = int(index[stop] - index[start]) if stop < n else 1
        if step not in (-1, 0, 1):
            step = 1
        else:
            while stop < n and index[stop] - index[stop - 1] == step:
                stop += 1
        runs.append((start, stop, int(index[start]), step))
        start = stop
    return runs


def _layout(plan):
    """Per padded dimension ``(axis, kept run, edge runs)``: the longest step-1 run is the kept
    block, every other run reads inside it; None when a dimension is not so (a short dimension
    wrapped many times over). Kept per plan (read-only tuples)."""
    found = _LAYOUTS.get(id(plan))
    if found is not None and found[0] is plan:
        return found[1]
    layout = []
    for axis, index, _ in plan:
        kept = max((r for r in _runs(index) if r[3] == 1), key=lambda r: r[1] - r[0],
                   default=None)
        if kept is None or kept[2] < 0:  # (a replicated single position)
            layout = None
            break
        start, stop = kept[0], kept[1]  # (grown over what a reflected edge run took)
        while start > 0 and index[start - 1] == index[start] - 1:
            start -= 1
        while stop < len(index) and index[stop] == index[stop - 1] + 1:
            stop += 1
        kept = (start, stop, int(index[start]), 1)
        low, high = kept[2], kept[2] + stop - start
        edges = _runs(index, 0, start) + _runs(index, stop)
        if len(edges) > 16 or any(
                min(f, f + st * (b - a - 1)) < low or max(f, f + st * (b - a - 1)) >= high
                for a, b, f, st in edges):
            layout = None
            break
        layout.append((axis, kept, tuple(edges)))
    if len(_LAYOUTS) >= 256:
        _LAYOUTS.clear()
    _LAYOUTS[id(plan)] = (plan, layout if layout is None else tuple(layout))
    return _LAYOUTS[id(plan)][1]


_LAYOUTS: dict = {}


def _fill_in_place(x, plan):
    """The padded array made as PyTorch's kernel makes it: one output, the kept block copied
    in, then each padded dimension's edges copied from inside the output, a slice copy per run
    (wrapped, reflected or replicated stretch); None where ``_layout`` finds no such form.
    The chain of ``take``s it replaces made a full array per padded dimension, gathering
    element by element. Forward kernel, float32, 1 thread, median of 5 alternated (CPU time;
    s28 DX2): CircularPad3d(3) of [16, 3, 8, 320, 480] (its docs' example) 0.397 -> 0.068 s;
    [32, 64, 100] replicate (2, 2) 426 -> 127 us; [8, 16, 32, 32] reflect 1 227 -> 112 us."""
    layout = _layout(plan)
    if layout is None:
        return None
    shape = list(x.shape)
    inner, outer = [slice(None)] * x.ndim, [slice(None)] * x.ndim
    for axis, (start, stop, first, _), _ in layout:
        shape[axis] = plan[[a for a, _, _ in plan].index(axis)][1].shape[0]
        inner[axis] = slice(first, first + stop - start)
        outer[axis] = slice(start, stop)
    out = np.empty(shape, dtype=x.dtype)
    out[tuple(outer)] = x[tuple(inner)]
    for axis, (kept_start, _, kept_first, _), edges in layout:
        lead = (slice(None),) * axis
        for start, stop, first, step in edges:
            at, width = first - kept_first + kept_start, stop - start  # (in the output)
            if step == 1:
                source = slice(at, at + width)
            elif step == -1:
                source = slice(at, at - width if at - width >= 0 else None, -1)
            else:
                source = slice(at, at + 1)  # (broadcast over the run)
            out[lead + (slice(start, stop),)] = out[lead + (source,)]
    return out


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
