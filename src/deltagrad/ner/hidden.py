"""The hidden layer of a training step, whose input gradient is only computed where it is used.

The hidden layer's input is the window's trainable vectors (words, casings, suffixes, spellings,
the document's context bags) followed by constant features (document statistics, gazetteer,
the topic means of detached word vectors, prediction history). ``nn.Linear``'s backward
computes the gradient of its whole input, ``g @ W``, and the ``cat`` before it drops the
constant columns' part: in the default model 105 of 575 columns, 18% of one of the layer's
three products. Here the layer is one op over the two parts: the forward is ``F.linear`` of
their concatenation (the same op, so the same bits), the backward computes the weight's and
the bias's gradients as ``F.linear``'s backward does and the input's only for the trainable
part.

The default member's (seed 0) first epoch, 781 steps in blocks of 10 alternating this layer
and the plain one in one process: 7.70 against 7.96 and 7.83 against 8.08 ms a step (process
time, medians of the blocks, two runs on a loaded 2-core machine: 3-3.5%); the same bits
after the epoch, and the default ``deltagrad ner train``'s saved weights (both members, 6
epochs) byte for byte those of the plain layer (issue 18).
"""

from __future__ import annotations

import numpy as np

import deltagrad as dg
from deltagrad.autograd.function import Function, once_differentiable
from deltagrad.nn import functional as F

__all__ = ["hidden_layer"]

# The products of a default training batch (~260 rows by 575 by 300) are single BLAS calls in
# nn.Linear's backward as here, which give the same bits for the same rows and columns whatever
# the other columns. Smaller ones are cut in blocks there (deltagrad's threads.matmul_serial:
# blocks of 1e6 multiply-adds, none thinner than 32 from 2**24 multiply-adds on), whose bits one
# product of another width need not match: those take the plain layer. The limits keep a
# margin over matmul_serial's (every pair of the three sizes past 1e6 / 32, the product past
# 2**24); tests/ner/test_s20_DM3_hidden.py checks the bits at the default layer's shapes.
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
        # The products as nn.Linear's backward computes them (deltagrad's ops/nn.py: g.T @ x,
        # the bias's column sums as a product with ones from 32 rows on, else a reduction).
        gw = np.matmul(g.T, x) if needs[0] else None
        gb = None
        if needs[1]:
            rows = g.shape[0]
            gb = (np.ones(rows, g.dtype) @ g if rows >= 32 else np.add.reduce(g, axis=0))
        grads = [None if gw is None else dg.from_numpy(gw),
                 None if gb is None else dg.from_numpy(gb)]
        if any(needs[2:2 + len(bounds)]):
            gx = np.matmul(g, w[:, :bounds[-1]])  # the trained columns alone
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
