"""Shape ops: reshape, permute, expand, repeat, cat, clone."""

from __future__ import annotations

import numpy as np

from .registry import ARRAY, Sample, _unary_samples, c_order, register


def _reshape_vjp(F, g, out, x, *, shape):
    if type(g) is np.ndarray:  # (the array's own reshape, not F's: 0.41 -> 0.37 us on 8 x 8)
        return (g.reshape(x.shape),)
    return (F.reshape(g, x.shape),)


register("reshape", forward=lambda x, *, shape: x.reshape(shape), vjp=_reshape_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((2, 6)),), {"shape": (3, 4)}),
                              Sample((rng.standard_normal((2, 3, 2)),), {"shape": (-1,)}),
                              Sample((rng.standard_normal(()),), {"shape": (1, 1)})])


def _permute_vjp(F, g, out, x, *, dims):
    inverse = _INVERSE.get(dims) if type(dims) is tuple else None  # (a list: not cached)
    if inverse is None:
        # The inverse permutation in Python (np.argsort of a short tuple costs 3.9 us, this
        # 0.25), once per dims: the rule on [8, 4, 2] 0.65 -> 0.3 us with the array's own
        # transpose below (timeit, interleaved).
        inverse = [0] * len(dims)
        for position, d in enumerate(dims):
            inverse[d] = position
        inverse = tuple(inverse)
        if type(dims) is tuple:
            if len(_INVERSE) >= 1024:  # (bounded: programs with ever new ranks)
                _INVERSE.clear()
            _INVERSE[dims] = inverse
    if type(g) is np.ndarray:
        return (g.transpose(inverse),)
    return (F.transpose(g, inverse),)


_INVERSE: dict = {}  # permute's dims -> the inverse permutation (its gradient's dims)


register("permute", forward=lambda x, *, dims: x.transpose(dims), vjp=_permute_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((2, 3, 4)),), {"dims": (2, 0, 1)}),
                              Sample((rng.standard_normal((3, 4)),), {"dims": (1, 0)})])


def _expand_forward(x, *, shape):
    """``x`` broadcast to ``shape`` without copying, with PyTorch's strides.

    np.broadcast_to goes through np.nditer in Python (1.8 us); an ndarray over ``x``'s memory
    with the strides worked out once per layout is the same view in 0.5 us. PyTorch's strides
    (what ``stride()`` reports): 0 along each stretched dim; a new leading dim of size 1 gets
    the stride of a contiguous dim there (``arange(3).expand(1, 3)``: (3, 1), BERT's
    position_ids). The view is read-only only where elements repeat (a dim of size > 1 with
    stride 0), as PyTorch's overlap check: a write into ``expand(1, 3)`` is a plain write.
    """
    key = (x.shape, x.strides, shape)
    layout = _EXPAND_STRIDES.get(key)
    if layout is None:
        layout = _expand_layout(x.shape, x.strides, shape, x.itemsize)
        if len(_EXPAND_STRIDES) >= 1024:  # (bounded: programs with ever new shapes)
            _EXPAND_STRIDES.clear()
        _EXPAND_STRIDES[key] = layout
    strides, repeats = layout
    if x.flags.c_contiguous:
        view = np.ndarray(shape, x.dtype, x, 0, strides)
    else:  # (np.ndarray needs a contiguous buffer)
        view = np.lib.stride_tricks.as_strided(x, shape, strides)
    if repeats:  # (a view of a read-only x is read-only already)
        view.flags.writeable = False  # (as broadcast_to's: elements are shared)
    return view


def _expand_layout(old_shape: tuple, old_strides: tuple, shape: tuple, itemsize: int):
    """(strides in bytes, whether some element repeats) of ``expand`` from an array of
    ``old_shape`` / ``old_strides`` to ``shape``, walking the dims from the last."""
    lead = len(shape) - len(old_shape)
    strides = [0] * len(shape)
    inner_size, inner_stride = 1, itemsize  # (a dim past the last: contiguous)
    repeats = False
    for i in range(len(shape) - 1, -1, -1):
        if i >= lead:
            size, stride = old_shape[i - lead], old_strides[i - lead]
        else:  # a new dim: as if contiguous over the dims after it
            size, stride = 1, inner_size * inner_stride
        if size != shape[i]:  # a stretched dim of size 1
            size, stride = shape[i], 0
            repeats = repeats or size > 1
        strides[i] = stride
        inner_size, inner_stride = size, stride
    return tuple(strides), repeats


_EXPAND_STRIDES: dict = {}


register("expand", forward=_expand_forward,
         vjp=lambda F, g, out, x, *, shape: (g,),
         samples=lambda rng: [Sample((rng.standard_normal((3, 1)),), {"shape": (3, 4)}),
                              Sample((rng.standard_normal((4,)),), {"shape": (2, 3, 4)}),
                              Sample((rng.standard_normal(()),), {"shape": (2, 2)})])


# repeat as one node (PyTorch's RepeatBackward0), where api/rearrange.py made three (reshape,
# expand, reshape) and the sweep went through all three: forward one broadcast copy into the
# result, viewed as (r0, s0, r1, s1, ...); the gradient viewed so and summed over the r axes.
def _repeat_layout(shape: tuple, repeats: tuple) -> tuple:
    """(the input viewed with a 1 before each repeated dim, the result viewed as (r, s) pairs,
    the result's shape) for ``shape`` repeated ``repeats`` times; a dim repeated once keeps
    no pair (fewer axes to copy over and to sum)."""
    key = (shape, repeats)
    layout = _REPEAT_LAYOUTS.get(key)
    if layout is None:
        spread, pairs, result = [], [], []
        for r, s in zip(repeats, (1,) * (len(repeats) - len(shape)) + shape):
            if r != 1:
                spread.append(1)
                pairs.append(r)
            spread.append(s)
            pairs.append(s)
            result.append(r * s)
        layout = (tuple(spread), tuple(pairs), tuple(result))
        if len(_REPEAT_LAYOUTS) >= 1024:  # (bounded: programs with ever new shapes)
            _REPEAT_LAYOUTS.clear()
        _REPEAT_LAYOUTS[key] = layout
    return layout


_REPEAT_LAYOUTS: dict = {}


def _repeat_forward(x, *, repeats, input_shape):
    # (an assignment into the empty result's pair view: 1.0 us on [3, 4] x (2, 1, 3), against
    # 7.4 for the reshape of a broadcast view and 14 for np.tile; new C-ordered memory always,
    # as PyTorch's)
    spread, pairs, result = _repeat_layout(x.shape, repeats)
    out = np.empty(result, x.dtype)
    if out.size:  # (OpInfo's samples repeat 0 times: nothing to copy)
        out.reshape(pairs)[...] = x.reshape(spread)  # (only 1s inserted: a view of any x)
    return out


def _repeat_vjp(F, g, out, x, *, repeats, input_shape):
    # (x's shape from the attribute, never x: the rule reads no input, so an in-place change
    # of x after the repeat does not refuse the backward, as PyTorch's saves only sizes)
    spread, pairs, _ = _repeat_layout(input_shape, repeats)
    g = g.reshape(pairs) if type(g) is np.ndarray else F.reshape(g, pairs)
    if pairs != spread:  # (the engine's sum of broadcast gradients: its dtypes and BLAS rows)
        g = _REDUCE_TO[0](F, g, spread, "repeat")
    if type(g) is np.ndarray:
        return (g.reshape(input_shape),)
    return (F.reshape(g, input_shape),)


# [broadcast_grads._reduce_to], put there by broadcast_grads when it is imported (it sits above
# ops in the engine's layers, tests/test_layers.py; the engine imports it before any backward)
_REDUCE_TO: list = []


register("repeat", forward=_repeat_forward, vjp=_repeat_vjp, grads="exact",
         samples=lambda rng: [
             Sample((rng.standard_normal((2, 3)),), {"repeats": (2, 1), "input_shape": (2, 3)}),
             Sample((rng.standard_normal((3,)),), {"repeats": (2, 1, 2), "input_shape": (3,)}),
             Sample((rng.standard_normal((2, 1, 3)),),
                    {"repeats": (3, 2, 1), "input_shape": (2, 1, 3)}),
             Sample((rng.standard_normal(()),), {"repeats": (), "input_shape": ()})])


# --------------------------------------------------------------------------------------------
# Indexing. The gradient scatters back into zeros; duplicate indices accumulate (np.add.at).


def _cat_forward(*xs, dim=0):
    return c_order(np.concatenate(xs, axis=dim))  # (NumPy may keep the inputs' memory order)


def _cat_vjp(F, g, out, *xs, dim=0):
    grads = []
    start = 0
    lead = (slice(None),) * (dim % out.ndim)
    for x in xs:
        stop = start + x.shape[dim]
        grads.append(F.getitem(g, lead + (slice(start, stop),)))
        start = stop
    return tuple(grads)


register("cat", forward=_cat_forward, vjp=_cat_vjp,
         samples=lambda rng: [
             Sample((rng.standard_normal((2, 3)), rng.standard_normal((1, 3))), {"dim": 0}),
             Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 1)),
                     rng.standard_normal((2, 2))), {"dim": -1})])


# stack(xs, dim) as one node: the inputs joined along a new dim, each one's gradient its slice
# of g (a view), where stack made an unsqueeze node per input and a cat: fwd + bwd on OpInfo's
# samples 0.95 -> 0.70 x PyTorch's time (one of the three, a 5-D result, keeps the cat: see
# api/shape.py's stack); old and new code alternated in one process, 21 rounds (s16 SP).
def _stack_forward(*xs, dim=0):
    first = xs[0] if xs else None
    same = (type(first) is np.ndarray and first.dtype.kind in "biufc" and first.dtype.isnative
            and 0 <= dim <= first.ndim)
    if same:
        dtype, shape = first.dtype, first.shape
        for x in xs:  # (a loop: a generator in all() cost as much as the copy)
            if type(x) is not np.ndarray or x.dtype is not dtype or x.shape != shape:
                same = False
                break
    if same:
        # Arrays of one shape and one built-in dtype (what api/shape.py's stack sends): one
        # np.array copy, not np.stack's Python (a reshaped view of each, then concatenate);
        # the same values, dtype and C order. Other dims move the new axis into place and
        # copy once more (a fresh C-ordered array, as np.stack's). The op's forward + VJP on
        # arrays: two [2, 3] float32, dim 0, 4.5 -> 3.0 us; three, dim 2, 5.2 -> 4.1 (min of
        # 60 alternated rounds); op_overhead.py --ops stack 0.62 / 0.61 -> 0.57 / 0.54 x
        # PyTorch (two runs each, alternated; load 18; s18 SP).
        joined = np.array(xs)
        if dim == 0:
            return joined
        axes = _STACK_AXES.get((dim, joined.ndim))
        if axes is None:
            axes = _STACK_AXES[(dim, joined.ndim)] = (
                tuple(range(1, dim + 1)) + (0,) + tuple(range(dim + 1, joined.ndim)))
        return joined.transpose(axes).copy()
    return c_order(np.stack(xs, axis=dim))


_STACK_AXES: dict = {}  # (dim, result ndim) -> the transpose that moves axis 0 to dim


def stack_row_major(first: np.ndarray, dim: int) -> bool:
    """Whether stacking arrays like ``first`` at ``dim`` gives a row-major result in PyTorch
    whatever the other inputs: a result of 4 or 5 dims can be channels-last (api/shape.py's
    cat), unless the first input unsqueezed at ``dim`` (``_reshape``'s strides for the new
    dim) has a channel stride above its last dim's, the first test of cat's rule. Lets the
    one-node stack take 3-D / 4-D inputs (images into a batch: default_collate): four
    [3, 8, 8] under grad 34.7 -> 14.2 us, under no_grad 29.8 -> 11.8, three [1, 2, 1, 4]
    17.4 -> 6.8 (thread time, alternated with HEAD's, medians of 21 rounds; s21 SP6)."""
    if first.ndim not in (3, 4):
        return True
    strides = first.strides
    new = first.shape[dim] * strides[dim] if dim < first.ndim else first.itemsize
    strides = strides[:dim] + (new,) + strides[dim:]
    return strides[1] > strides[-1]


def _stack_vjp(F, g, out, *xs, dim=0):
    # (the count from g's shape, not len(xs): versions reads the rule's bytecode, and a rule
    # that loads xs reads the inputs, refusing a backward after an in-place change of one,
    # which PyTorch's stack, saving nothing, runs)
    if F is ARRAY and type(g) is np.ndarray and dim >= 0:  # (api/shape.py's stack wraps dim)
        # The same views of g, from one iteration over g with dim moved first (a view): the
        # rule on three [2, 3], dim 0, 1.58 -> 0.45 us, dim 2 1.29 -> 0.61; ab.py --workload
        # ops --ops stack --cpu against HEAD 0.94 of its time (thread time; s31 SP53).
        if dim == 0:
            return tuple(g)
        axes = _UNSTACK_AXES.get((dim, g.ndim))
        if axes is None:
            axes = _UNSTACK_AXES[(dim, g.ndim)] = (
                (dim,) + tuple(range(dim)) + tuple(range(dim + 1, g.ndim)))
        return tuple(g.transpose(axes))
    lead = (slice(None),) * dim
    return tuple(F.getitem(g, lead + (i,)) for i in range(g.shape[dim]))


_UNSTACK_AXES: dict = {}  # (dim, result ndim) -> the transpose that moves dim to axis 0


register("stack", forward=_stack_forward, vjp=_stack_vjp,
         samples=lambda rng: [
             Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 3))), {"dim": 0}),
             Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
                     rng.standard_normal((2, 3))), {"dim": 2}),
             Sample((rng.standard_normal(()), rng.standard_normal(())), {"dim": 0})])


def astype_like_torch(x: np.ndarray, dtype) -> np.ndarray:
    """``x`` copied into ``dtype`` in the layout PyTorch gives a preserve-format copy.

    NumPy's order "K" keeps the input's order of strides, as PyTorch does, except for an
    expanded input: NumPy counts a zero stride as the fastest (a (0, 1)-strided input gives a
    column-major copy), PyTorch leaves zero-stride dims in row-major order among the others
    (torch-struct's ``mask.type_as(c).view(-1, 1, 1)`` works only on that layout)."""
    if x.dtype.char == "d" and np.dtype(dtype).char == "e":
        # PyTorch's double -> Half cast goes through float (c10::Half is made from a float):
        # rounded directly, 1 of 2000 random values was an ulp off
        x = x.astype(np.float32)
    elif x.dtype.kind == "c" and np.dtype(dtype).kind not in "cb":
        # complex -> real keeps the real part (PyTorch's; the api layer gives its warning,
        # not NumPy's ComplexWarning: SL22 s29). (-> bool: z != 0, both parts, as PyTorch's)
        x = x.real
    if all(x.strides) or x.ndim < 2:
        return x.astype(dtype)
    # An insertion sort of the dims, fastest first, as PyTorch's dense-strides rule: a zero
    # stride compares as equal (keeping the row-major order), equal strides put the smaller
    # size first.
    perm = list(range(x.ndim - 1, -1, -1))
    for i in range(1, x.ndim):
        moving = i
        for before in range(i - 1, -1, -1):
            a, b = x.strides[perm[before]], x.strides[perm[moving]]
            if a == 0 or b == 0:
                continue
            if a > b or (a == b and x.shape[perm[before]] > x.shape[perm[moving]]):
                perm[before], perm[moving] = perm[moving], perm[before]
                moving = before
            else:
                break
    slowest_first = perm[::-1]
    out = np.empty([x.shape[d] for d in slowest_first], dtype=dtype)
    np.copyto(out, x.transpose(slowest_first), casting="unsafe")
    return out.transpose(np.argsort(slowest_first))


# (an expanded input: PyTorch's clone() is laid out as its dense copies are)
register("clone", forward=lambda x: astype_like_torch(x, x.dtype),
         vjp=lambda F, g, out, x: (g,),
         samples=_unary_samples())


# --------------------------------------------------------------------------------------------
# Embedding lookup: rows of a table picked by integer ids. Its gradient scatters back to the
# rows; with ``sparse=True`` it stays a RowSparseGrad (only the touched rows), so that
