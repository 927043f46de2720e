"""float16 RNN / LSTM / GRU layers (and bfloat16 RNN / GRU) composed as PyTorch's CPU kernel
composes them (its ``aten/native/RNN.cpp`` cells, each operation rounding to the half dtype),
so that the outputs and, through the composed graph, the gradients carry PyTorch's roundings
(before: one float32 layer rounded once, 25-90% of outputs and gradients an ulp or more off).

PyTorch's float16 recurrent layers on CPU do not run a fused kernel (oneDNN's takes float16
only without autograd on CPUs with float16 support), nor do its bfloat16 RNN / GRU (its
bfloat16 LSTM is oneDNN's: not here): each layer is its cells stepped over the sequence.
Each direction projects the whole input once (``linear(x, w_ih, b_ih)`` over every step:
projecting step by step in reverse gave another w_ih gradient) and adds each step's slice to
``linear(h, w_hh, b_hh)``. The cells (gates in PyTorch's order and operation order):

- LSTM: ``i, f, g, o = (hh + ih).chunk(4)``; ``c' = f * c + i * g``; ``h' = o * tanh(c')``
  (then ``h' @ w_hr^T`` with projections);
- GRU: ``r = sigmoid(hh_r + ih_r)``, ``z = sigmoid(hh_z + ih_z)``,
  ``n = tanh(ih_n + hh_n * r)``, ``h' = (h - n) * z + n``;
- RNN: ``tanh`` / ``relu`` of ``hh + ih``.

A packed sequence runs the same cells on each step's rows, its batch shrinking (the rows that
end keep their last states) and, in reverse, growing (rows joining with their initial states).
"""

from __future__ import annotations

import numpy as np

from .._engine.api.shape import cat, stack
from . import functional as F


def _lstm_cell(projected, h, c, w_hh, b_hh, w_hr):
    gates = F.linear(h, w_hh, b_hh) + projected
    i, f, g, o = gates.chunk(4, 1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    return (h if w_hr is None else h.matmul(w_hr.t())), c


def _gru_cell(projected, h, w_hh, b_hh):
    i_r, i_z, i_n = projected.chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    r = (h_r + i_r).sigmoid()
    z = (h_z + i_z).sigmoid()
    n = (i_n + h_n * r).tanh()
    return (h - n) * z + n


def stepped(dtype, mode: str) -> bool:
    """Whether a layer of ``mode`` on arrays of ``dtype`` runs here: float16, and bfloat16 but
    for LSTM (PyTorch's bfloat16 LSTM is oneDNN's fused kernel: rnn.py's float32 layer)."""
    # (itemsize first: NumPy's dtype.name is a Python property of ~2-4 us, asked of every
    # float32 layer's call before; s27 SP37)
    return dtype.itemsize == 2 and (dtype == np.float16 or (dtype.name == "bfloat16"
                                                            and mode != "LSTM"))


def run(module, data, h0, c0, sizes: list):
    """``RNNBase._run`` for float16 ``data`` ``[total, features]`` (``sizes``: each step's
    batch; all equal unless ``packed``): the output ``[total, width]``, the last hidden states
    and (LSTM) cell states."""
    lstm = module.mode == "LSTM"
    directions = 2 if module.bidirectional else 1
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
    h_last, c_last = [], []
    layer_input = data
    for layer in range(module.num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            step = _stepper(module, module.all_weights[index], layer_input, offsets)
            run_layer = _backward_in_time if direction else _forward_in_time
            results, h, c = run_layer(step, h0[index], c0[index] if lstm else None, sizes)
            outputs.append(cat(results, 0))
            h_last.append(h)
            if lstm:
                c_last.append(c)
        layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
        if module.dropout > 0 and module.training and layer < module.num_layers - 1:
            layer_input = F.dropout(layer_input, module.dropout, True)
    return layer_input, stack(h_last, 0), (stack(c_last, 0) if lstm else None)


def _stepper(module, weights, layer_input, offsets: list):
    """The cell of step t as ``step(t, h, c) -> (h, c)``, every step's input projected at once
    (a packed input too: projecting its steps one by one gave other weight gradients)."""
    w_ih, w_hh = weights[:2]
    b_ih, b_hh = weights[2:4] if module.bias else (None, None)
    w_hr = weights[-1] if module.proj_size > 0 else None
    mode = module.mode
    whole = F.linear(layer_input, w_ih, b_ih)

    def step(t, h, c):
        rows = slice(offsets[t], offsets[t + 1])
        projected = whole[rows]
        if mode == "LSTM":
            return _lstm_cell(projected, h, c, w_hh, b_hh, w_hr)
        if mode == "GRU":
            return _gru_cell(projected, h, w_hh, b_hh), None
        summed = F.linear(h, w_hh, b_hh) + projected
        return (summed.relu() if mode == "RNN_RELU" else summed.tanh()), None

    return step


def _forward_in_time(step, h, c, sizes):
    # (a packed batch shrinks: the rows that end are set aside, then joined in row order)
    results, ended_h, ended_c, last = [None] * len(sizes), [], [], sizes[0]
    for t, size in enumerate(sizes):
        if size < last:
            ended_h.append(h[size:last])
            h = h[:size]
            if c is not None:
                ended_c.append(c[size:last])
                c = c[:size]
            last = size
        h, c = step(t, h, c)
        results[t] = h
    if ended_h:
        h = cat([h] + ended_h[::-1], 0)
        c = None if c is None else cat([c] + ended_c[::-1], 0)
    return results, h, c


def _backward_in_time(step, h0, c0, sizes):
    # (a packed batch grows going back: the initial states of the rows that join appended)
    last = sizes[-1]
    h, c = h0[:last], (None if c0 is None else c0[:last])
    results = [None] * len(sizes)
    for t in range(len(sizes) - 1, -1, -1):
        if sizes[t] > last:
            h = cat([h, h0[last:sizes[t]]], 0)
            c = None if c is None else cat([c, c0[last:sizes[t]]], 0)
            last = sizes[t]
        h, c = step(t, h, c)
        results[t] = h
    return results, h, c
