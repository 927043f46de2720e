"""Shape ops: reshape, permute, expand, cat, clone."""

from __future__ import annotations

import numpy as np

from .registry import Sample, _unary_samples, c_order, register


def _reshape_vjp(F, g, out, x, *, shape):
    return (F.reshape(g, x.shape),)


register("reshape", forward=lambda x, *, shape: x.reshape(shape), vjp=_reshape_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((2, 6)),), {"shape": (3, 4)}),
                              Sample((rng.standard_normal((2, 3, 2)),), {"shape": (-1,)}),
                              Sample((rng.standard_normal(()),), {"shape": (1, 1)})])


def _permute_vjp(F, g, out, x, *, dims):
    # The inverse permutation in Python: np.argsort of a short tuple costs 3.9 us, this 0.25.
    inverse = [0] * len(dims)
    for position, d in enumerate(dims):
        inverse[d] = position
    return (F.transpose(g, tuple(inverse)),)


register("permute", forward=lambda x, *, dims: x.transpose(dims), vjp=_permute_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((2, 3, 4)),), {"dims": (2, 0, 1)}),
                              Sample((rng.standard_normal((3, 4)),), {"dims": (1, 0)})])


def _expand_forward(x, *, shape):
    """``np.broadcast_to(x, shape)``: a read-only view, made directly for a contiguous ``x``.

    np.broadcast_to goes through np.nditer in Python (1.8 us); an ndarray over ``x``'s memory
    with the broadcast strides (0 along each new or stretched dim), worked out once per
    layout, is the same view in 0.5 us.
    """
    if not x.flags.c_contiguous:
        return np.broadcast_to(x, shape)
    key = (x.shape, x.strides, shape)
    strides = _EXPAND_STRIDES.get(key)
    if strides is None:
        lead = len(shape) - x.ndim
        strides = (0,) * lead + tuple(0 if n == 1 and m != 1 else stride for n, m, stride
                                      in zip(x.shape, shape[lead:], x.strides))
        if len(_EXPAND_STRIDES) >= 1024:  # (bounded: programs with ever new shapes)
            _EXPAND_STRIDES.clear()
        _EXPAND_STRIDES[key] = strides
    view = np.ndarray(shape, x.dtype, x, 0, strides)
    view.flags.writeable = False  # (as broadcast_to's: elements are shared)
    return view


_EXPAND_STRIDES: dict = {}


register("expand", forward=_expand_forward,
         vjp=lambda F, g, out, x, *, shape: (g,),
         samples=lambda rng: [Sample((rng.standard_normal((3, 1)),), {"shape": (3, 4)}),
                              Sample((rng.standard_normal((4,)),), {"shape": (2, 3, 4)}),
                              Sample((rng.standard_normal(()),), {"shape": (2, 2)})])


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


register("clone", forward=lambda x: np.array(x, copy=True), vjp=lambda F, g, out, x: (g,),
         samples=_unary_samples())


# --------------------------------------------------------------------------------------------
# Embedding lookup: rows of a table picked by integer ids. Its gradient scatters back to the
# rows; with ``sparse=True`` it stays a RowSparseGrad (only the touched rows), so that
