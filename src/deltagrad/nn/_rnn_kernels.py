"""The recurrent layers' time loops and local derivatives (kept apart from ``rnn.py``'s modules).

``_RecurrentLayer`` in ``rnn.py`` calls these: the gate-major LSTM loop and its backward, the
full-batch loop, the sigmoid-by-tanh gate trick, the local derivatives of each mode and the
weight-gradient tail shared by all modes; and ``_replayed_grads``, the layer's gradients as a
recorded (differentiable) graph for double backward.
"""

from __future__ import annotations

import numpy as np

from .._engine import enable_grad, grad
from .._engine.api.shape import cat


def _halve_sigmoid_rows(array: np.ndarray | None, mode: str, size: int) -> np.ndarray | None:
    """A copy of a weight or bias whose sigmoid-gate rows are halved.

    sigmoid(x) = (1 + tanh(x / 2)) / 2: with those rows halved (exact, a power of two), one
    tanh over all gates of a step, then ``* 0.5 + 0.5`` on the sigmoid gates, activates them
    (3 NumPy calls a step instead of 9 for an LSTM).
    """
    if array is None:
        return None
    out = array.copy()
    if mode == "LSTM":
        out[:2 * size] *= 0.5
        out[3 * size:] *= 0.5
    elif mode == "GRU":
        out[:2 * size] *= 0.5
    return out


def _finish_sigmoid_(gates: np.ndarray) -> None:
    gates *= 0.5
    gates += 0.5



def _layer_grads(ctx, d_gates, d_hidden, dh, dc, d_proj, xs, w_ih, h_prev, h_raw) -> tuple:
    """The layer's gradients from its gates' (``[N, gates*H]``, PyTorch's layout): the input's,
    h_0's (and c_0's), then the weights' and biases' as three large products and sums."""
    needs = ctx.needs_input_grad
    grads = [d_gates @ w_ih if needs[0] else None, dh]
    if dc is not None:
        grads.append(dc)
    grads += [d_gates.T @ xs, d_hidden.T @ h_prev]
    if ctx.has_bias:
        # (one sum where both biases take the same gradient: all but GRU)
        bias_grad = d_gates.sum(axis=0)
        grads += [bias_grad, bias_grad.copy() if d_hidden is d_gates else d_hidden.sum(axis=0)]
    if ctx.has_proj:
        grads.append(d_proj.T @ h_raw)
    return tuple(grads)


def _state_rows(h, c, total: int, dtype, reverse: bool) -> tuple:
    """The hidden and cell states of all steps as row blocks of two arrays, h_0 / c_0 first (or,
    in reverse, last): ``(y, h_prev, c_out, c_prev)``, each a view, so that step t's input
    state is the block before its own and no step copies a state."""
    batch, width = h.shape
    hs = np.empty((total + batch, width), dtype=dtype)
    cs = np.empty((total + batch, c.shape[1]), dtype=dtype)
    if reverse:  # step t reads the block of step t + 1; h_0 is the last block
        hs[total:], cs[total:] = h, c
        return hs[:total], hs[batch:], cs[:total], cs[batch:]
    hs[:batch], cs[:batch] = h, c
    return hs[batch:], hs[:total], cs[batch:], cs[:total]


def _lstm_gate_major(xs, w_ih, w_hh, bias, h, c, steps: int, reverse: bool):
    """The LSTM layer's forward when every step has the whole batch and there is no projection,
    with each step's gates stored gate by gate: ``gates[t, k]`` is gate k's ``[B, H]`` block.

    In PyTorch's layout (``[B, 4H]`` rows) a gate's block is strided, and a strided [20, 200]
    float32 NumPy call costs about 3 times a contiguous one (2.7 against 0.9 us); here every
    elementwise call of a step is on contiguous blocks, and the recurrent product is four
    [B, Hp] @ [Hp, H] products in one ``matmul`` call, which OpenBLAS runs with its
    small-matrix kernels (68 against 84 us for [20, 200] @ [200, 800]). The input product is
    one GEMM copied into that layout (_input_gates). The arithmetic is the same as
    ``_lstm_full_batch``'s but for the products' summation order (values within float
    rounding). W5's layer (input/hidden 200, 35 steps, batch 20, float32, one thread): the
    time loop 4.47 -> 3.10 ms, the backward's 5.5 -> 4.0 ms (thread time, alternated, medians
    of 21); its 2-layer LSTM forward + backward 0.848 of its time (medians of 31), W5's step
    0.944 (``benchmarks/ab.py --workload w5 --cpu``, 15 rounds). Returns (y, h_prev, c_prev,
    tanh_c, h_n, c_n, gates) with the activated gates ``[T, 4, B, H]``.
    """
    batch = h.shape[0]
    size = c.shape[1]
    total = steps * batch
    dtype = xs.dtype
    gates = _input_gates(xs, w_ih, size, steps, batch)
    if bias is not None:
        gates += _halve_sigmoid_rows(bias, "LSTM", size).reshape(4, 1, size)
    w_hh_blocks = _gate_blocks(w_hh, size)
    y, h_prev, c_out, c_prev = _state_rows(h, c, total, dtype, reverse)
    tanh_c = np.empty((total, size), dtype=dtype)
    product = np.empty((4, batch, size), dtype=dtype)
    scratch = np.empty((batch, size), dtype=dtype)
    matmul, multiply, tanh = np.matmul, np.multiply, np.tanh
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        s = t * batch
        e = s + batch
        g = gates[t]
        g += matmul(h_prev[s:e], w_hh_blocks, out=product)
        tanh(g, out=g)
        _finish_sigmoid_(g[:2])  # (i, f)
        _finish_sigmoid_(g[3])  # (o)
        cell = multiply(g[1], c_prev[s:e], out=c_out[s:e])
        cell += multiply(g[0], g[2], out=scratch)
        multiply(g[3], tanh(cell, out=tanh_c[s:e]), out=y[s:e])
    last = slice(0, batch) if reverse else slice(total - batch, total)
    return y, h_prev, c_prev, tanh_c, y[last], c_out[last], gates


def _input_gates(xs, w_ih, size: int, steps: int, batch: int, order=None,
                 out=None) -> np.ndarray:
    """An LSTM layer's input contributions ``[T, 4, B, H]`` (gate-major, the sigmoid gates'
    rows halved, the gates in ``order`` if given) from ``xs`` ``[T B, in]``: one GEMM
    ``[T B, in] @ [in, 4H]`` (as _lstm_full_batch's), copied into that layout (into ``out``,
    a view of that shape, if given).

    Against 4 T products ``[B, in] @ [in, H]`` in one batched matmul (sessions before): W5's
    layer (in 200, H 200, T 35, B 20, float32, one thread) 2.50 -> 2.15 ms; with the backward's
    one product a step (_lstm_gate_major_backward), W5's 2-layer LSTM forward 13.36 -> 12.53
    ms (0.94), forward + backward 34.3 -> 33.2 ms (0.97; thread time, 21 alternated rounds);
    W9's tagger under no_grad (_lstm_both, in 32 -> 64 over 20 tokens) batch 1 0.98-0.99,
    batch 32 1.01-1.05 (15 rounds, loaded machine: [640, 32] @ [32, 256] and the copy cost
    about the 80 small products, 115 against 110 us). The product's sums run in BLAS's order
    for one GEMM: last bits moved then."""
    wide = (xs @ _halve_sigmoid_rows(w_ih, "LSTM", size).T).reshape(steps, batch, 4, size)
    gates = np.empty((steps, 4, batch, size), dtype=wide.dtype) if out is None else out
    if order is None:
        np.copyto(gates, wide.transpose(0, 2, 1, 3))
    else:
        for j, k in enumerate(order):
            np.copyto(gates[:, j], wide[:, :, k])
    return gates


def _gate_blocks(weight, size: int) -> np.ndarray:
    """An LSTM weight ``[4H, in]`` as four contiguous transposed gate blocks ``[4, in, H]``,
    the sigmoid gates' halved (see ``_halve_sigmoid_rows``)."""
    half = _halve_sigmoid_rows(weight, "LSTM", size).reshape(4, size, weight.shape[1])
    return np.ascontiguousarray(half.transpose(0, 2, 1))


def _lstm_gate_major_backward(gates, w_hh, gy, dh, dc, c_prev, tanh_c, reverse: bool):
    """Backpropagation through time for ``_lstm_gate_major``'s layer: the gates' gradients,
    returned in PyTorch's layout ``[T B, 4H]`` for the weight products, and the gradients of
    h_0 and c_0 (``dh`` and ``dc`` come in as those of h_n and c_n and are updated in place).
    Each step's products with the incoming gradient are contiguous, as in the forward."""
    steps, _, batch, size = gates.shape
    i, f, gg, o = gates[:, 0], gates[:, 1], gates[:, 2], gates[:, 3]
    tc = tanh_c.reshape(steps, batch, size)
    # c_t = f c_{t-1} + i g, h_t = o tanh(c_t): dh -> dc through o (1 - tanh²(c)).
    into_c = np.square(tc)
    np.subtract(1.0, into_c, out=into_c)
    into_c *= o
    local = np.subtract(1.0, gates)  # sigmoid' = s (1 - s), all four gates at once ...
    local *= gates
    local[:, 0] *= gg
    local[:, 1] *= c_prev.reshape(steps, batch, size)
    local[:, 3] *= tc
    part = local[:, 2]  # ... and the cell input's overwritten: tanh' = 1 - g², times i
    np.square(gg, out=part)
    np.subtract(1.0, part, out=part)
    part *= i
    # The gates' gradients in PyTorch's layout [T, B, 4H], written gate by gate through a
    # [4, B, H] view of each step's rows: the step's product with w_hh is one GEMM
    # [B, 4H] @ [4H, Hp] (not four [B, H] @ [H, Hp] and their sum), and the weights' products
    # take them as they are (no transposed copy of [T, 4, B, H]); timings at _input_gates.
    # (The product's sum runs in BLAS's order: last bits moved.)
    d_gates = np.empty((steps, batch, 4 * size), dtype=gates.dtype)
    scratch = np.empty((batch, size), dtype=gates.dtype)
    multiply, matmul = np.multiply, np.matmul
    for t in range(steps) if reverse else range(steps - 1, -1, -1):
        s = t * batch
        dh += gy[s:s + batch]
        dc += multiply(dh, into_c[t], out=scratch)
        row, factors = d_gates[t], local[t]
        out = row.reshape(batch, 4, size).transpose(1, 0, 2)
        multiply(dc, factors[:3], out=out[:3])  # (i, f, g: through the cell)
        multiply(dh, factors[3], out=out[3])  # (o)
        dc *= f[t]
        matmul(row, w_hh, out=dh)
    return d_gates.reshape(steps * batch, 4 * size), dh, dc


def _lstm_full_batch(gates, w_hh_t, w_hr_t, h, c, steps: int, reverse: bool):
    """The LSTM time loop when every step has the whole batch (no packing).

    The states live in the rows of the arrays the backward keeps: the outputs follow (or, in
    reverse, precede) h_0 in one array, so step t's input state is the row block before its
    own and h_prev is a view; the cells likewise. No step copies a state (4 of a step's ~15
    NumPy calls; the backward's step likewise takes its new dh as the product itself): W5's
    2-layer LSTM (input/hidden 200, 35 steps, batch 20, float32) forward + backward 30.3 ->
    29.3 ms, torch 24.7 (one thread, thread time, alternated, medians of 40).
    Returns (y, h_prev, c_prev, tanh_c, h_raw, h_n, c_n).
    """
    batch = h.shape[0]
    size = c.shape[1]
    total = steps * batch
    dtype = gates.dtype
    y, h_prev, c_out, c_prev = _state_rows(h, c, total, dtype, reverse)
    tanh_c = np.empty((total, size), dtype=dtype)
    h_raw = np.empty((total, size), dtype=dtype) if w_hr_t is not None else None
    # Each step's recurrent product and i * g go into two buffers made once, and the gates are
    # column slices made once, not a generator a step (the same values): the layer's time loop
    # 0.978 of its time (W5's shapes, thread time, alternated, medians of 21).
    product = np.empty((batch, 4 * size), dtype=dtype)
    scratch = np.empty((batch, size), dtype=dtype)
    i, f, gg, o = (slice(k * size, (k + 1) * size) for k in range(4))
    sigmoid_if = slice(0, 2 * size)
    matmul, multiply, tanh = np.matmul, np.multiply, np.tanh
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        s = t * batch
        e = s + batch
        g = gates[s:e]
        g += matmul(h_prev[s:e], w_hh_t, out=product)
        tanh(g, out=g)
        _finish_sigmoid_(g[:, sigmoid_if])
        _finish_sigmoid_(g[:, o])
        cell = multiply(g[:, f], c_prev[s:e], out=c_out[s:e])
        cell += multiply(g[:, i], g[:, gg], out=scratch)
        tc = tanh(cell, out=tanh_c[s:e])
        if h_raw is not None:
            matmul(multiply(g[:, o], tc, out=h_raw[s:e]), w_hr_t, out=y[s:e])
        else:
            multiply(g[:, o], tc, out=y[s:e])
    last = slice(0, batch) if reverse else slice(total - batch, total)
    return y, h_prev, c_prev, tanh_c, h_raw, y[last], c_out[last]


def _local_derivatives(mode, gates, size, h_prev, c_prev, tanh_c, hh_new):
    """What each step's gradient is multiplied by, for all steps (activated gates in)."""
    if mode == "LSTM":
        i, f, gg, o = (gates[:, k * size:(k + 1) * size] for k in range(4))
        # c_t = f c_{t-1} + i g, h_t = o tanh(c_t): dh -> dc through o (1 - tanh²(c)).
        into_c = np.square(tanh_c)
        np.subtract(1.0, into_c, out=into_c)
        into_c *= o
        # sigmoid' = s (1 - s), over all four gates in two passes of the whole array (the
        # cell input's columns are then overwritten): column blocks of it are strided, and a
        # strided pass costs about 3 times a contiguous one per element. The same values;
        # W5's shapes, this function 0.90 -> 0.57 ms (thread time, alternated, medians of 31).
        factors = np.subtract(1.0, gates)
        factors *= gates
        for k, other in ((0, gg), (1, c_prev), (3, tanh_c)):
            factors[:, k * size:(k + 1) * size] *= other
        part = factors[:, 2 * size:3 * size]  # the cell input: tanh' = 1 - g², times i
        np.square(gg, out=part)
        np.subtract(1.0, part, out=part)
        part *= i
        return into_c, factors
    if mode == "GRU":
        r, z, n = gates[:, :size], gates[:, size:2 * size], gates[:, 2 * size:]
        factors = np.empty_like(gates)
        # h' = n + z (h - n): dn = d (1 - z) (1 - n²); dz = d (h - n) z (1 - z);
        # n = tanh(x_n + r hh_n): dr = dn hh_n r (1 - r).
        dn = factors[:, 2 * size:]
        np.square(n, out=dn)
        np.subtract(1.0, dn, out=dn)
        dn *= 1.0 - z
        dz = factors[:, size:2 * size]
        np.subtract(h_prev, n, out=dz)
        dz *= z
        dz *= 1.0 - z
        dr = factors[:, :size]
        np.subtract(1.0, r, out=dr)
        dr *= r
        dr *= hh_new
        return factors
    if mode == "RNN_TANH":
        factors = np.square(gates)
        return np.subtract(1.0, factors, out=factors)
    return (gates > 0).astype(gates.dtype)


# ----------------------------------------------------------------------------------------------
# Double backward: the layer replayed in engine ops.


def _replayed_grads(ctx, grad_output, inputs) -> tuple:
    """The layer's input gradients as a recorded graph (``create_graph=True``).

    The fused backward works on arrays, so its result has no graph. Here the forward is run
    again step by step in engine ops from the inputs' graph nodes (``inputs``: those of the
    engine's create_graph pass) and differentiated with ``create_graph=True``: the gradients
    are functions of the inputs and of ``grad_output``, so a further backward (a gradient
    penalty, a Hessian-vector product) reaches the weights, the input and the states. Only
    this pass pays for the replay: a first-order backward never comes here, and its forward
    saves nothing more than before. Values equal the fused backward's within rounding (the
    replay sums in PyTorch's composed order, as its CPU recurrent layers do). A gradient-penalty
    step (grad of the squared weight gradients) of W5's 2-layer LSTM (200/200, 35 steps, batch
    20, float32): 337 ms against PyTorch's 314 (one thread, CPU time, medians of 3, loaded).
    """
    needs = ctx.needs_input_grad
    wanted = [x for x, need in zip(inputs, needs) if need]
    with enable_grad():
        flat = _replay(ctx.mode, inputs, ctx.batch_sizes, ctx.reverse, ctx.has_bias,
                       ctx.has_proj)
        found = iter(grad(flat, wanted, grad_output, create_graph=True, allow_unused=True))
    return tuple(next(found) if need else None for need in needs)


def _replay(mode: str, inputs, batch_sizes: tuple, reverse: bool, has_bias: bool,
            has_proj: bool):
    """The layer's forward (``_RecurrentLayer.forward``'s flat output: y, h_n[, c_n]) in
    engine ops, one cell a step over the packed rows ``batch_sizes[t]``."""
    lstm, gru = mode == "LSTM", mode == "GRU"
    x, h = inputs[0], inputs[1]
    c = inputs[2] if lstm else None
    weights = inputs[3:] if lstm else inputs[2:]
    w_ih, w_hh = weights[0], weights[1]
    b_ih, b_hh = (weights[2], weights[3]) if has_bias else (None, None)
    w_hr = weights[-1] if has_proj else None
    batch, steps = batch_sizes[0], len(batch_sizes)
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).tolist()
    x_gates = x @ w_ih.t()  # (every step's input side in one product)
    if has_bias:
        x_gates = x_gates + b_ih
    ys = [None] * steps
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        s, bs = offsets[t], batch_sizes[t]
        gi = x_gates[s:s + bs]
        hp = h if bs == batch else h[:bs]
        gh = hp @ w_hh.t()
        if has_bias:
            gh = gh + b_hh
        if lstm:
            i, f, g, o = (gi + gh).chunk(4, 1)
            cp = c if bs == batch else c[:bs]
            cn = f.sigmoid() * cp + i.sigmoid() * g.tanh()
            new = o.sigmoid() * cn.tanh()
            if has_proj:
                new = new @ w_hr.t()
            c = cn if bs == batch else cat([cn, c[bs:]])
        elif gru:
            i_r, i_z, i_n = gi.chunk(3, 1)
            h_r, h_z, h_n = gh.chunk(3, 1)
            r = (i_r + h_r).sigmoid()
            z = (i_z + h_z).sigmoid()
            n = (i_n + r * h_n).tanh()
            new = n + z * (hp - n)
        else:
            pre = gi + gh
            new = pre.tanh() if mode == "RNN_TANH" else pre.relu()
        h = new if bs == batch else cat([new, h[bs:]])
        ys[t] = new
    pieces = [cat(ys).reshape(-1), h.reshape(-1)] + ([c.reshape(-1)] if lstm else [])
    return cat(pieces)
