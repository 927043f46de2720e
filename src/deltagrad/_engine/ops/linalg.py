"""Matrix products."""

from __future__ import annotations

import numpy as np

from .registry import Sample, register

# --------------------------------------------------------------------------------------------
# Matrix product: 1-D, 2-D and batched, with NumPy's (= PyTorch's) broadcasting of batch dims.


def _matmul_vjp(F, g, out, x, y, needs):
    if x.ndim == 1 and y.ndim == 1:
        return (g * y if needs[0] else None), (g * x if needs[1] else None)
    # Promote 1-D operands to matrices, as matmul itself does, then undo it.
    x2 = F.reshape(x, (1, x.shape[0])) if x.ndim == 1 else x
    y2 = F.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y
    g2 = g
    if x.ndim == 1:
        g2 = F.reshape(g2, g.shape[:-1] + (1,) + g.shape[-1:])
    if y.ndim == 1:
        g2 = F.reshape(g2, g2.shape + (1,))
    gx = gy = None
    if needs[0]:
        gx = F.matmul(g2, F.swapaxes(y2, -1, -2))
        if x.ndim == 1:
            gx = F.reshape(_sum_leading(F, gx, 2), x.shape)
    if needs[1]:
        gy = F.matmul(F.swapaxes(x2, -1, -2), g2)
        if y.ndim == 1:
            gy = F.reshape(_sum_leading(F, gy, 2), y.shape)
    return gx, gy


def _sum_leading(F, t, keep):
    """Sum all but the last ``keep`` axes (batch axes a 1-D operand was broadcast over)."""
    lead = t.ndim - keep
    return F.sum(t, tuple(range(lead))) if lead > 0 else t


def _matmul_samples(rng):
    pairs = [((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
             ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)),
             ((3,), (2, 3, 4)), ((2, 2, 3), (3,))]
    return [Sample((rng.standard_normal(a), rng.standard_normal(b))) for a, b in pairs]


register("matmul", forward=np.matmul, vjp=_matmul_vjp, wants_needs=True,
         samples=_matmul_samples)


# --------------------------------------------------------------------------------------------
# Shape ops: the gradient is the inverse reshuffle. ``expand``'s rule is the identity: the
# engine's central broadcast reduction does the summing.
