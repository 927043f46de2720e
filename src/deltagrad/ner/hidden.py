"""The hidden layer of a training step, whose input gradient is only computed where it is used.

The hidden layer's input is the window's trainable vectors (words, casings, suffixes, spellings,
the document's context bags) followed by constant features (document statistics, gazetteer,
the topic means of detached word vectors, prediction history). ``nn.Linear``'s backward
computes the gradient of its whole input, ``g @ W``, and the ``cat`` before it drops the
constant columns' part. Here the layer is one op over the two parts: the forward is
``F.linear`` of their concatenation (the same op, so the same bits), the backward computes
the three products as ``F.linear``'s backward does and hands back the trainable columns of the
input's gradient (session 26: no longer a narrower product over those columns alone, whose
bits depend on the BLAS kernel; see ``backward``).

Session 20 measured the narrower product's gain: the default member's first epoch 7.70
against 7.96 ms a step (3-3.5%); it is given up for the same bits under any BLAS kernel.
"""

from __future__ import annotations

import numpy as np

import deltagrad as dg
from deltagrad.autograd.function import Function, once_differentiable
from deltagrad.nn import functional as F

__all__ = ["hidden_layer"]

# The shortcut applies from these sizes on (session 20's limits, from when its input gradient
# was a narrower product; kept: below them the plain layer is as cheap). Its products are
# nn.Linear's own calls (threads.matmul_serial, through F.linear), so its bits are the plain
# layer's at any size; tests/ner/test_s20_DM3_hidden.py checks them at the default shapes.
_MIN_PAIR = 40_000
_MIN_WORK = 21_000_000


class _PartlyTrainedLinear(Function):
    """``F.linear(cat(parts, -1), weight, bias)``; gradients only for the first ``trained``."""

    @staticmethod
    def forward(ctx, weight, bias, *parts, trained: int):
        x = np.concatenate([part.numpy() for part in parts], axis=1)
        ctx.x, ctx.weight = x, weight.detach().numpy()
        ctx.bounds = np.cumsum([part.shape[1] for part in parts[:trained]]).tolist()
        return F.linear(dg.from_numpy(x), weight.detach(), bias.detach())

    @staticmethod
    @once_differentiable  # (NumPy products: a create_graph pass through it raises, not zeros)
    def backward(ctx, upstream):
        g, x, w, bounds = upstream.numpy(), ctx.x, ctx.weight, ctx.bounds
        needs = ctx.needs_input_grad
        # The products exactly as nn.Linear's backward computes them (deltagrad's ops/nn.py:
        # g @ W and g.T @ x through threads.matmul_serial, reached here through F.linear's
        # forward, which makes the same call; the bias's column sums as a product with ones
        # from 32 rows on, else a reduction). The input's gradient is computed over the whole
        # width and sliced: a product over the trained columns alone (w[:, :470] of the
        # default 575) gave other bits under OpenBLAS's Haswell kernels (OPENBLAS_CORETYPE=
        # Haswell: its blocking of the output's columns depends on their count), so the
        # saving of that narrower product (3-3.5% of a step) is given up for the same bits
        # as the plain layer under any BLAS kernel.
        with dg.no_grad():
            gw = (F.linear(dg.from_numpy(g).T, dg.from_numpy(x).T).numpy()
                  if needs[0] else None)
            gb = None
            if needs[1]:
                rows = g.shape[0]
                gb = (np.ones(rows, g.dtype) @ g if rows >= 32 else np.add.reduce(g, axis=0))
            grads = [None if gw is None else dg.from_numpy(gw),
                     None if gb is None else dg.from_numpy(gb)]
            if any(needs[2:2 + len(bounds)]):
                gx = F.linear(dg.from_numpy(g), dg.from_numpy(w).T).numpy()
                grads += [dg.from_numpy(gx[:, start:stop])
                          for start, stop in zip([0] + bounds[:-1], bounds, strict=True)]
            else:
                grads += [None] * len(bounds)
        return tuple(grads) + (None,) * (len(needs) - len(grads))


def hidden_layer(layer: dg.nn.Linear, trained: list, constant: list):
    """``layer(cat(trained + constant, -1))``, its input's gradient only for ``trained``.

    Falls back to the plain layer where the shortcut would change what is observable: no
    constant part, a constant that requires a gradient, grad mode off, hooks on the layer
    (explain.py reads the gradient of its whole input), or a dtype other than float32; and for
    small products (``_MIN_PAIR``, ``_MIN_WORK``; the default layer: under 134 rows), which
    deltagrad's ``nn.Linear`` computes in blocks: one product of another width there need not
    give the same bits (the default layer, 575 -> 300: 62 of 101 batch sizes up to 101 rows
    differed in the last bit; none from 102 rows on).
    """
    parts = trained + constant
    rows, (out, width) = parts[0].shape[0], layer.weight.shape
    if (min(rows * width, rows * out, width * out) < _MIN_PAIR or rows * width * out < _MIN_WORK
            or not constant or not trained or not dg.is_grad_enabled() or layer._hooks is not None
            or layer.bias is None or any(t.requires_grad for t in constant)
            or any(t.ndim != 2 or t.dtype != dg.float32 for t in parts)
            or layer.weight.dtype != dg.float32 or layer.bias.dtype != dg.float32):
        return layer(dg.cat(parts, dim=-1) if len(parts) > 1 else parts[0])
    return _PartlyTrainedLinear.apply(layer.weight, layer.bias, *parts, trained=len(trained))
