"""The recurrent layers' forward without autograd (no_grad / inference_mode): NumPy only.

Under grad mode off nothing is recorded, so ``RNNBase._run`` comes here instead of calling
``_RecurrentLayer.apply`` per layer and direction: no Function context, no flat output that is
concatenated then sliced back, no saved arrays. The LSTM without projections, with the whole
batch at every step, has its own loop (``_lstm``): the same arithmetic as
``_rnn_kernels._lstm_gate_major`` (bit-identical results), with the three sigmoid gates
stored next to each other so that one ``* 0.5 + 0.5`` finishes them, and no per-step rows
kept for a backward. The other modes run ``_RecurrentLayer.forward`` directly.

Under no_grad on [4, 20, 32] (32 in, 64 hidden, batch_first, float32, one thread, thread time,
medians of 200 alternated with HEAD and PyTorch in one process, loaded machine): LSTM 485 ->
339 us (PyTorch 318), 2-layer bidirectional LSTM 1928 -> 1321 (1230), GRU 839 -> 690 (773),
tanh RNN 275 -> 211 (272); outputs bit-identical to the grad-mode forward. A bidirectional
LSTM runs both directions in one loop (``_lstm_both``) and the full-batch GRU its own loop
(``_gru``), both bit-identical too (s26 SP34).
"""

from __future__ import annotations

import numpy as np

from .._engine import Tensor
from .._engine.ops.elementwise_math import ERR_STATE, IGNORE_ALL
from .._engine.tensor import _leaf
from ._rnn_kernels import _gate_blocks, _halve_sigmoid_rows, _input_gates

_SIGMOID_FIRST = [0, 1, 3, 2]  # PyTorch's (i, f, g, o) as (i, f, o, g)


def usable(module, data: Tensor) -> bool:
    """Whether ``run`` serves this call: float32 / float64 data, no dropout draws between
    layers (those go through F.dropout and its generator)."""
    if data._data.dtype not in (np.float32, np.float64) or type(data) is not Tensor:
        return False
    return not (module.training and module.dropout > 0 and module.num_layers > 1)


def run(module, data: Tensor, h0: Tensor, c0: Tensor | None, sizes: tuple) -> tuple:
    """``RNNBase._run``'s result, ``(output [N, D Hp], h_n, c_n or None)``, computed in
    NumPy (grad mode off)."""
    token = ERR_STATE.set(IGNORE_ALL)  # (PyTorch's kernels never warn on inf / nan)
    try:
        return _run(module, data, h0, c0, sizes)
    finally:
        ERR_STATE.reset(token)


def _run(module, data, h0, c0, sizes):
    from .rnn import _RecurrentLayer

    mode = module.mode
    lstm = mode == "LSTM"
    directions = 2 if module.bidirectional else 1
    has_bias, has_proj = module.bias, module.proj_size > 0
    full = all(b == sizes[0] for b in sizes)
    h0s = h0._data
    c0s = c0._data if lstm else None
    layer_weights = module.all_weights
    h_last, c_last = [], []
    xs = data._data
    for layer in range(module.num_layers):
        outputs = []
        if lstm and full and not has_proj and directions == 2:
            index = 2 * layer
            pair = [[w._data for w in layer_weights[index + k]] for k in (0, 1)]
            biases = [w[2] + w[3] for w in pair] if has_bias else None
            xs, h, c = _lstm_both(xs, pair, biases, h0s[index:index + 2],
                                  c0s[index:index + 2], len(sizes))
            h_last += list(h)
            c_last += list(c)
            continue
        for direction in range(directions):
            index = layer * directions + direction
            weights = [w._data for w in layer_weights[index]]
            reverse = direction == 1
            if lstm and full and not has_proj:
                bias = weights[2] + weights[3] if has_bias else None
                y, h, c = _lstm(xs, weights[0], weights[1], bias, h0s[index], c0s[index],
                                len(sizes), reverse)
            elif mode == "GRU" and full:
                (y, h), c = _gru(xs, weights, h0s[index], len(sizes), reverse), None
            else:
                states = [_leaf(h0s[index])] + ([_leaf(c0s[index])] if lstm else [])
                flat = _RecurrentLayer.forward(
                    _Context(), _leaf(xs), *states, *map(_leaf, weights), mode=mode,
                    batch_sizes=sizes, reverse=reverse, has_bias=has_bias,
                    has_proj=has_proj)._data
                total, batch = xs.shape[0], sizes[0]
                width = weights[1].shape[1]
                y_end, h_end = total * width, (total + batch) * width
                y = flat[:y_end].reshape(total, width)
                h = flat[y_end:h_end].reshape(batch, width)
                c = flat[h_end:].reshape(batch, module.hidden_size) if lstm else None
            outputs.append(y)
            h_last.append(h)
            c_last.append(c)
        xs = outputs[0] if directions == 1 else np.concatenate(outputs, axis=-1)
    h_n = _leaf(np.stack(h_last))
    return _leaf(xs), h_n, (_leaf(np.stack(c_last)) if lstm else None)


class _Context:
    """What ``_RecurrentLayer.forward`` writes on its context (kept nowhere)."""


def _lstm(xs, w_ih, w_hh, bias, h0, c0, steps: int, reverse: bool) -> tuple:
    """The LSTM layer's forward as ``_lstm_gate_major``'s, without its saved rows:
    ``(y [T B, H], h_n, c_n)``."""
    batch, size = h0.shape[0], c0.shape[1]
    dtype = xs.dtype
    gates = _input_gates(xs, w_ih, size, steps, batch, _SIGMOID_FIRST)
    if bias is not None:
        gates += _halve_sigmoid_rows(bias, "LSTM", size).reshape(4, 1, size)[_SIGMOID_FIRST]
    w_hh_blocks = _gate_blocks(w_hh, size)[_SIGMOID_FIRST]
    y = np.empty((steps * batch, size), dtype=dtype)
    c = c0.copy()
    product = np.empty((4, batch, size), dtype=dtype)
    scratch = np.empty((batch, size), dtype=dtype)
    matmul, multiply, tanh = np.matmul, np.multiply, np.tanh
    h = h0
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        g = gates[t]
        g += matmul(h, w_hh_blocks, out=product)
        tanh(g, out=g)
        sigmoids = g[:3]  # (i, f, o: sigmoid(x) = (1 + tanh(x / 2)) / 2)
        sigmoids *= 0.5
        sigmoids += 0.5
        multiply(g[1], c, out=c)
        c += multiply(g[0], g[3], out=scratch)
        h = multiply(g[2], tanh(c, out=scratch), out=y[t * batch:(t + 1) * batch])
    return y, h, c


def _lstm_both(xs, pair, biases, h0, c0, steps: int) -> tuple:
    """A bidirectional LSTM layer's forward, both directions in ONE time loop: step k runs the
    forward direction's step k and the reverse direction's step T - 1 - k, each NumPy call on
    both directions' blocks at once (half the calls of two ``_lstm`` loops). Every element
    takes ``_lstm``'s arithmetic (the same per-direction [B, H] @ [H, H] products in one
    ``matmul``; elementwise calls), so the bits are the same: ``(y [T B, 2H], h_n [2, B, H],
    c_n)``.

    W9's tagger at batch 1 (bidirectional LSTM 32 -> 64 over 20 tokens; one thread, thread time,
    medians of 15 rounds alternated with HEAD's _rnn_infer in one process, a loaded machine):
    the LSTM call 369 -> 289 us (PyTorch ~170); the whole tagger forward 771 -> 579 us (PyTorch
    580; with _gru below). Batch 32: 1283 -> 1266 (PyTorch ~660: its products are the cost)."""
    batch, size = h0.shape[1], c0.shape[2]
    dtype = xs.dtype
    # gate-major, then direction: [t, k, 1] is the reverse's gate k at step T - 1 - t (each gate's
    # block of both directions contiguous: strided gate slices cost 2-4x a contiguous one)
    gates = np.empty((steps, 4, 2, batch, size), dtype=dtype)
    # Both directions' recurrent weights as contiguous transposed gate blocks, (i, f, o) first
    # and halved after the transpose (exact: the values of _gate_blocks, in 3 array calls, not
    # 10); the input products as the grad-mode forward's (_input_gates: the same bits)
    w_hh = np.empty((4, 2, size, size), dtype=dtype)
    for k, weights in enumerate(pair):
        w_hh[:, k] = weights[1].reshape(4, size, size)[_SIGMOID_FIRST].transpose(0, 2, 1)
    w_hh[:3] *= 0.5
    if biases is not None:
        bias = np.stack(biases).reshape(2, 4, 1, size)[:, _SIGMOID_FIRST]
        bias[:, :3] *= 0.5
    for k in (0, 1):  # (written in place: the reverse's steps backwards)
        part = gates[:, :, k] if k == 0 else gates[::-1, :, k]
        _input_gates(xs, pair[k][0], size, steps, batch, _SIGMOID_FIRST, out=part)
        if biases is not None:
            part += bias[k]
    y = np.empty((steps, 2, batch, size), dtype=dtype)
    c = c0.copy()
    product = np.empty((4, 2, batch, size), dtype=dtype)
    scratch = np.empty((2, batch, size), dtype=dtype)
    matmul, multiply, tanh = np.matmul, np.multiply, np.tanh
    h = h0
    for t in range(steps):
        g = gates[t]
        g += matmul(h, w_hh, out=product)
        tanh(g, out=g)
        sigmoids = g[:3]  # (i, f, o: sigmoid(x) = (1 + tanh(x / 2)) / 2)
        sigmoids *= 0.5
        sigmoids += 0.5
        multiply(g[1], c, out=c)
        c += multiply(g[0], g[3], out=scratch)
        h = multiply(g[2], tanh(c, out=scratch), out=y[t])
    out = np.concatenate([y[:, 0], y[::-1, 1]], axis=-1).reshape(steps * batch, 2 * size)
    return out, y[-1], c


def _gru(xs, weights, h0, steps: int, reverse: bool) -> tuple:
    """The GRU layer's forward when every step has the whole batch: ``_RecurrentLayer``'s
    arithmetic (bit-identical), without its per-step copies of h and of the new gate's recurrent
    part kept for a backward, each step's new h written straight into y: ``(y [T B, H], h_n)``.

    W9's tagger (GRU 128 -> 64 over 20 tokens; measured as ``_lstm_both``): the GRU call 284 ->
    217 us at batch 1 (PyTorch ~220), 1124 -> 985 at batch 32 (PyTorch ~980)."""
    batch, size = h0.shape
    dtype = xs.dtype
    w_hh_t = np.ascontiguousarray(_halve_sigmoid_rows(weights[1], "GRU", size).T)
    gates = xs @ _halve_sigmoid_rows(weights[0], "GRU", size).T
    b_hh = None
    if len(weights) > 2:
        gates += _halve_sigmoid_rows(weights[2], "GRU", size)
        b_hh = _halve_sigmoid_rows(weights[3], "GRU", size)
    gates = gates.reshape(steps, batch, 3 * size)
    y = np.empty((steps, batch, size), dtype=dtype)
    hh = np.empty((batch, 3 * size), dtype=dtype)
    scratch = np.empty((batch, size), dtype=dtype)
    matmul, multiply, tanh = np.matmul, np.multiply, np.tanh
    h = h0
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        g = gates[t]
        matmul(h, w_hh_t, out=hh)
        if b_hh is not None:
            hh += b_hh
        rz = g[:, :2 * size]
        rz += hh[:, :2 * size]
        tanh(rz, out=rz)
        rz *= 0.5  # (r, z: sigmoid(x) = (1 + tanh(x / 2)) / 2)
        rz += 0.5
        n = g[:, 2 * size:]
        n += multiply(g[:, :size], hh[:, 2 * size:], out=scratch)
        tanh(n, out=n)
        h = np.subtract(h, n, out=y[t])
        h *= g[:, size:2 * size]
        h += n
    return y.reshape(steps * batch, size), h
