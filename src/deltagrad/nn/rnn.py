"""Recurrent layers: RNN, LSTM and GRU (one fused node per layer and direction) and their cells.

The whole sequence of one layer in one direction is a single ``Function``: the forward loops
over time in NumPy and keeps what backpropagation through time needs; one ``backward`` runs
the loop in reverse and leaves the weight gradients to three large matrix products. The time
loop works on packed rows (``batch_sizes[t]`` sequences at step t), so padded batches and
``PackedSequence`` inputs share it. A create_graph backward (double backward: gradient
penalties, MAML, Hessian-vector products) replays the layer step by step in engine ops and
differentiates that (``_rnn_kernels._replayed_grads``); the first-order path is untouched.

Forward + backward of a 2-layer LSTM (input 200, hidden 200, 35 steps, batch 20, float32, one
thread) takes 38 ms against PyTorch's 34 ms (1.12x; 1.37x before the gate-major layout of
``_rnn_kernels._lstm_gate_major``; thread time, alternated, loaded machine); GRU 30 vs 32 ms;
tanh RNN 7.6 vs 9.8 ms (issue 17).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._engine import Tensor, is_grad_enabled
from .._engine import bf16 as _bf16
from .._engine.api.creation import from_numpy, tensor, zeros
from .._engine.api.shape import cat, stack
from .._engine.dtypes import bfloat16
from .._engine.errors import warn_once
from .._engine.ops.elementwise_math import quietly
from .._engine.ops.nn import GRU_CELL
from .._engine.tensor import apply
from ..autograd import Function
from ..autograd import forward_ad as _forward_ad
from . import _rnn_half, _rnn_infer, init
from . import functional as F
from ._factory import parameter_dtype
from ._rnn_kernels import (
    _finish_sigmoid_,
    _halve_sigmoid_rows,
    _layer_grads,
    _local_derivatives,
    _lstm_full_batch,
    _lstm_gate_major,
    _lstm_gate_major_backward,
    _replayed_grads,
)
from ._rnn_names import onednn_lstm, output_node
from .module import Module, Parameter
from .rnn_utils import PackedSequence

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class _RecurrentLayer(Function):
    """One layer, one direction, the whole sequence: ``(x, h0[, c0], weights...) -> flat``.

    x is packed ``[N, I]`` (N = sum of batch_sizes); the output is the concatenation of
    y ``[N, Hp]``, h_n ``[B, Hp]`` and, for LSTM, c_n ``[B, H]``, flattened (a Function returns
    one tensor), which the caller splits.
    """

    @staticmethod
    @quietly  # (PyTorch's kernels never warn on inf / nan: PR8's probe, -W error)
    def forward(ctx, x, h0, *rest, mode: str, batch_sizes: tuple, reverse: bool,
                has_bias: bool, has_proj: bool):
        lstm, gru = mode == "LSTM", mode == "GRU"
        arrays = [t.numpy() for t in rest]
        c0 = arrays.pop(0) if lstm else None
        w_ih, w_hh = arrays[0], arrays[1]
        b_ih, b_hh = (arrays[2], arrays[3]) if has_bias else (None, None)
        w_hr = arrays[-1] if has_proj else None
        xs = x.numpy()
        dtype = xs.dtype
        size = w_hh.shape[0] // _GATES[mode]
        ctx.mode, ctx.batch_sizes, ctx.reverse = mode, batch_sizes, reverse
        ctx.has_bias, ctx.has_proj, ctx.size = has_bias, has_proj, size
        ctx.gate_major = False
        if lstm and not has_proj and all(b == batch_sizes[0] for b in batch_sizes):
            # (the usual LSTM: its own layout and loops, _lstm_gate_major; activated gates
            # [T, 4, B, H], read back by backward)
            ctx.gate_major = True
            ctx.offsets = None
            bias = b_ih + b_hh if has_bias else None
            y, h_prev, c_prev, tanh_c, h, c, gates = _lstm_gate_major(
                xs, w_ih, w_hh, bias, h0.numpy(), c0, len(batch_sizes), reverse)
            ctx.arrays = (xs, w_ih, w_hh, None, gates, y, h_prev, c_prev, tanh_c, None, None)
            return from_numpy(np.concatenate([y.ravel(), h.ravel(), c.ravel()]))
        # NOTE: a small [B, Hp] @ [Hp, 4H] product is 2x slower with a transposed view of w_hh
        # than with a contiguous copy (82 vs 157 us at B=20, H=200): one copy per call.
        w_hh_t = np.ascontiguousarray(_halve_sigmoid_rows(w_hh, mode, size).T)
        w_hr_t = np.ascontiguousarray(w_hr.T) if has_proj else None
        b_hh_half = _halve_sigmoid_rows(b_hh, mode, size)
        h = h0.numpy().copy()
        c = c0.copy() if lstm else None
        offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).astype(np.int64)
        total = int(offsets[-1])
        # Input contributions of every step in one product; the recurrent ones in the loop.
        gates = xs @ _halve_sigmoid_rows(w_ih, mode, size).T
        if has_bias:
            gates += _halve_sigmoid_rows(b_ih if gru else b_ih + b_hh, mode, size)
        # `gates` is overwritten, step by step, by the activated gates.
        if lstm and all(b == batch_sizes[0] for b in batch_sizes):
            y, h_prev, c_prev, tanh_c, h_raw, h, c = _lstm_full_batch(
                gates, w_hh_t, w_hr_t, h, c, len(batch_sizes), reverse)
            ctx.offsets = offsets
            ctx.arrays = (xs, w_ih, w_hh, w_hr, gates, y, h_prev, c_prev, tanh_c, h_raw, None)
            return from_numpy(np.concatenate([y.ravel(), h.ravel(), c.ravel()]))
        y = np.empty((total, h.shape[1]), dtype=dtype)
        h_prev = np.empty((total, h.shape[1]), dtype=dtype)
        c_prev = np.empty((total, size), dtype=dtype) if lstm else None
        tanh_c = np.empty((total, size), dtype=dtype) if lstm else None
        h_raw = np.empty((total, size), dtype=dtype) if has_proj else None
        hh_new = np.empty((total, size), dtype=dtype) if gru else None
        steps = len(batch_sizes)
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            s, bs = offsets[t], batch_sizes[t]
            e = s + bs
            hp = h[:bs]
            h_prev[s:e] = hp
            g = gates[s:e]
            if lstm:
                g += hp @ w_hh_t
                np.tanh(g, out=g)
                _finish_sigmoid_(g[:, :2 * size])
                _finish_sigmoid_(g[:, 3 * size:])
                i, f, gg, o = (g[:, k * size:(k + 1) * size] for k in range(4))
                c_prev[s:e] = c[:bs]
                cs = c[:bs]
                cs *= f
                cs += i * gg
                tc = np.tanh(cs, out=tanh_c[s:e])
                if has_proj:
                    new = np.multiply(o, tc, out=h_raw[s:e]) @ w_hr_t
                else:
                    new = np.multiply(o, tc, out=y[s:e])
            elif gru:
                hh = hp @ w_hh_t
                if has_bias:
                    hh += b_hh_half
                rz = g[:, :2 * size]
                rz += hh[:, :2 * size]
                np.tanh(rz, out=rz)
                _finish_sigmoid_(rz)
                r, z, n = g[:, :size], g[:, size:2 * size], g[:, 2 * size:]
                hn = hh_new[s:e]
                hn[...] = hh[:, 2 * size:]
                n += r * hn
                np.tanh(n, out=n)
                new = hp - n
                new *= z
                new += n
            else:
                g += hp @ w_hh_t
                new = np.tanh(g, out=g) if mode == "RNN_TANH" else np.maximum(g, 0, out=g)
            h[:bs] = new
            if new.base is not y:
                y[s:e] = new
        ctx.offsets = offsets
        ctx.arrays = (xs, w_ih, w_hh, w_hr, gates, y, h_prev, c_prev, tanh_c, h_raw, hh_new)
        pieces = [y.ravel(), h.ravel()] + ([c.ravel()] if lstm else [])
        return from_numpy(np.concatenate(pieces))

    @staticmethod
    @quietly
    def backward(ctx, grad):
        if is_grad_enabled():
            if ctx._substitutes is None:  # (a direct call with grad on: no graph nodes to use)
                raise NotImplementedError(f"{ctx.mode}: the fused recurrent layer's backward "
                                          "under grad mode is only run by the engine's "
                                          "create_graph pass")
            # create_graph=True: the layer replayed in engine ops (_rnn_kernels._replay).
            return _replayed_grads(ctx, grad, ctx._substitutes[0])
        mode, sizes, offsets, size = ctx.mode, ctx.batch_sizes, ctx.offsets, ctx.size
        lstm, gru = mode == "LSTM", mode == "GRU"
        xs, w_ih, w_hh, w_hr, gates, y, h_prev, c_prev, tanh_c, h_raw, hh_new = ctx.arrays
        g = grad.numpy()
        total, width, batch = y.shape[0], y.shape[1], sizes[0]
        gy = g[:total * width].reshape(total, width)
        dh = g[total * width:(total + batch) * width].reshape(batch, width).copy()
        dc = g[(total + batch) * width:].reshape(batch, size).copy() if lstm else None
        if ctx.gate_major:
            d_gates, dh, dc = _lstm_gate_major_backward(gates, w_hh, gy, dh, dc, c_prev, tanh_c,
                                                        ctx.reverse)
            return _layer_grads(ctx, d_gates, d_gates, dh, dc, None, xs, w_ih, h_prev, None)
        d_gates = np.empty_like(gates)  # pre-activation gradients (input side)
        d_hidden = np.empty_like(gates) if gru else d_gates  # recurrent side
        d_proj = np.empty_like(y) if ctx.has_proj else None
        # Local derivatives of every step at once (large arrays, few NumPy calls); the loop
        # below then needs only the products with the incoming gradient.
        factors = _local_derivatives(mode, gates, size, h_prev, c_prev, tanh_c, hh_new)
        scratch = np.empty((batch, size), dtype=gates.dtype) if lstm else None
        steps = len(sizes)
        for t in range(steps) if ctx.reverse else range(steps - 1, -1, -1):
            s, bs = offsets[t], sizes[t]
            e = s + bs
            d = dh[:bs]
            d += gy[s:e]
            if lstm:
                into_c, gate_factors = factors
                if ctx.has_proj:
                    d_proj[s:e] = d
                    d = d @ w_hr
                dcn = dc[:bs]
                dcn += np.multiply(d, into_c[s:e], out=scratch[:bs])
                out = d_gates[s:e].reshape(bs, 4, size)
                local = gate_factors[s:e].reshape(bs, 4, size)
                np.multiply(dcn[:, None, :], local[:, :3], out=out[:, :3])
                np.multiply(d, local[:, 3], out=out[:, 3])
                dcn *= gates[s:e, size:2 * size]
                if bs == batch:  # the whole batch: the product is the new dh (no copy)
                    dh = d_gates[s:e] @ w_hh
                else:
                    dh[:bs] = d_gates[s:e] @ w_hh
            elif gru:
                out, rec = d_gates[s:e], d_hidden[s:e]
                dn = np.multiply(d, factors[s:e, 2 * size:], out=out[:, 2 * size:])
                np.multiply(d, factors[s:e, size:2 * size], out=out[:, size:2 * size])
                np.multiply(dn, factors[s:e, :size], out=out[:, :size])
                rec[:, :2 * size] = out[:, :2 * size]
                np.multiply(dn, gates[s:e, :size], out=rec[:, 2 * size:])
                new = rec @ w_hh
                new += d * gates[s:e, size:2 * size]
                dh[:bs] = new
            else:
                np.multiply(d, factors[s:e], out=d_gates[s:e])
                dh[:bs] = d_gates[s:e] @ w_hh
        return _layer_grads(ctx, d_gates, d_hidden, dh, dc, d_proj, xs, w_ih, h_prev, h_raw)


_forward_ad.DOUBLE_VJP_FUNCTIONS.add(_RecurrentLayer)  # (forward AD: the double VJP)


# ----------------------------------------------------------------------------------------------
# Modules.


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters by PyTorch's names, stacking and directions.

    Parameters of layer k are ``weight_ih_l{k}`` ``[gates*H, input]``, ``weight_hh_l{k}``
    ``[gates*H, Hp]``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` ``[Hp, H]``
    for an LSTM with projections), with the suffix ``_reverse`` for the backward direction;
    gates in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n). All start from
    U(-1/sqrt(H), 1/sqrt(H)).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None, *, generator=None) -> None:
        super().__init__()
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1 \
                or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so "
                          f"non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        # PyTorch's checks and exception classes (its ModuleInfo error inputs: a bias of 1 or
        # "True" would otherwise be taken as truthy and build a different module silently).
        for flag, value in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(value, bool):
                raise TypeError(f"{flag} should be of type bool, got: {type(value).__name__}")
        for size_name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int):
                raise TypeError(f"{size_name} should be of type int, got: "
                                f"{type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{size_name} must be greater than zero")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError("num_layers must be an integer greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dtype = parameter_dtype(dtype, device, mode)
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(np.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound, generator=generator)

    def flatten_parameters(self) -> None:
        """A no-op (PyTorch compacts cuDNN weights here)."""

    @property
    def all_weights(self) -> list:
        """The parameters of each layer and direction, as lists."""
        per = 2 + 2 * int(self.bias) + int(self.proj_size > 0)
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def _hidden_shape(self, batch: int) -> tuple[int, int, int]:
        directions = 2 if self.bidirectional else 1
        width = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * directions, batch, width)

    def _check_state(self, state, expected: tuple, what: str, batched: bool) -> Tensor:
        if not isinstance(state, Tensor):
            state = tensor(state)
        if not batched and state.ndim != 2:
            raise RuntimeError(f"For unbatched 2-D input, {what} should also be 2-D but got "
                               f"{state.ndim}-D tensor")
        if batched and state.ndim != 3:
            raise RuntimeError(f"For batched 3-D input, {what} should also be 3-D but got "
                               f"{state.ndim}-D tensor")
        shape = tuple(state.shape) if batched else (state.shape[0], 1, state.shape[1])
        if shape != expected:
            got = list(state.shape)
            want = list(expected) if batched else [expected[0], expected[2]]
            raise RuntimeError(f"Expected {what} size {tuple(want)}, got {got}")
        return state if batched else state.unsqueeze(1)

    def forward(self, input, hx=None):
        """Run the whole sequence through every layer.

        Args:
            input: ``[T, B, input_size]`` (``[B, T, input_size]`` with batch_first),
                unbatched ``[T, input_size]``, or a PackedSequence.
            hx: the initial hidden state ``[num_layers * directions, B, Hp]`` (for LSTM a
                pair ``(h_0, c_0)``, c_0 ``[..., B, hidden_size]``); zeros when None.

        Returns:
            ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``); output ``[T, B, directions *
            Hp]`` (or a PackedSequence for packed input).
        """
        if type(self) is RNNBase:  # PyTorch's RNNBase has no forward of its own
            raise NotImplementedError('Module [RNNBase] is missing the required "forward" '
                                      "function")
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        lstm = self.mode == "LSTM"
        if packed:
            data = input.data
            sizes = tuple(int(b) for b in input.batch_sizes.numpy())
            batch = sizes[0]
            batched = True
        else:
            if not isinstance(input, Tensor):
                input = tensor(input)
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D "
                                 "instead")
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if self.batch_first and batched:
                x = x.transpose(0, 1)
            steps, batch = x.shape[0], x.shape[1]
            if steps == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            data = x.reshape(steps * batch, x.shape[2])
            sizes = (batch,) * steps
        if data.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.shape[-1]}")
        weight_dtype = getattr(self, self._flat_weights_names[0]).dtype
        if data.dtype != weight_dtype:
            raise ValueError(f"{name}: input dtype {data.dtype} does not match the weights' "
                             f"dtype {weight_dtype} (convert one, e.g. module.double())")
        if lstm and self.proj_size > 0 and not packed and onednn_lstm(self.mode, 0, data.dtype):
            # (PyTorch's C++ TORCH_WARN_ONCE where its oneDNN LSTM would run: session 29, PR21)
            warn_once("lstm_projections_onednn", "LSTM with projections is not supported with "
                      "oneDNN. Using default implementation.")
        h_shape = self._hidden_shape(batch)
        c_shape = (h_shape[0], batch, self.hidden_size)
        if hx is None:
            h0 = zeros(*h_shape, dtype=data.dtype)
            c0 = zeros(*c_shape, dtype=data.dtype) if lstm else None
        else:
            if lstm:
                if isinstance(hx, (tuple, list)) and len(hx) < 2:  # (PyTorch's; s28 BR18)
                    raise IndexError(f"tuple index out of range ({name}: hx must be a tuple "
                                     f"(h_0, c_0), got {len(hx)} tensor(s))")
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
                h0 = self._check_state(hx[0], h_shape, "hidden", batched)
                c0 = self._check_state(hx[1], c_shape, "cell", batched)
            else:
                h0 = self._check_state(hx, h_shape, "hidden", batched)
                c0 = None
            if packed and input.sorted_indices is not None:
                order = input.sorted_indices.numpy()
                h0 = h0.index_select(1, order)
                c0 = c0.index_select(1, order) if lstm else None
        output, h_n, c_n = self._run(data, h0, c0, sizes, packed)
        if packed:
            if input.unsorted_indices is not None:
                order = input.unsorted_indices.numpy()
                h_n = h_n.index_select(1, order)
                c_n = c_n.index_select(1, order) if lstm else None
            result = PackedSequence(output, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
        else:
            result = output.reshape(steps, batch, output.shape[-1])
            if not batched:
                result = result.squeeze(1)
                h_n = h_n.squeeze(1)
                c_n = c_n.squeeze(1) if lstm else None
            else:
                result = output_node(result.transpose(0, 1) if self.batch_first else result,
                                     self.mode, self.batch_first, self.bidirectional,
                                     onednn_lstm(self.mode, self.proj_size, data.dtype))
        return result, ((h_n, c_n) if lstm else h_n)

    def _run(self, data, h0, c0, sizes, packed=False):
        low = _autocast_dtype() if data._data.dtype == np.float32 else None
        if low is not None:
            return self._run_stepped(data, h0, c0, sizes, low, packed)
        if _rnn_half.stepped(data._data.dtype, self.mode):  # (PyTorch's half cells)
            return _rnn_half.run(self, data, h0, c0, sizes)
        if not is_grad_enabled() and not _forward_ad.active() and _rnn_infer.usable(self, data):
            # (nothing to record: NumPy only; eval LSTM [4, 20, 32] -> 64 under no_grad 485 ->
            # 339 us, GRU 839 -> 690, the numbers in _rnn_infer.py)
            return _rnn_infer.run(self, data, h0, c0, sizes)
        lstm = self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        layer_weights = self.all_weights
        total, batch = data.shape[0], sizes[0]
        width = self.proj_size if self.proj_size > 0 else self.hidden_size
        h_last, c_last = [], []
        layer_input = data
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                weights = layer_weights[index]
                states = [h0[index]] + ([c0[index]] if lstm else [])
                low = layer_input._data.dtype is _bf16.BF16
                if low:
                    # NOTE: a bfloat16 model (.to(torch.bfloat16)) runs each layer in float32
                    # and rounds its results to bfloat16, as PyTorch's CPU kernel computes in
                    # float; NumPy has no bfloat16 arithmetic (the arrays raised before).
                    layer_input = layer_input.float()
                    states = [state.float() for state in states]
                    weights = [weight.float() for weight in weights]
                flat = _RecurrentLayer.apply(
                    layer_input, *states, *weights, mode=self.mode, batch_sizes=sizes,
                    reverse=direction == 1, has_bias=self.bias, has_proj=self.proj_size > 0)
                if low:
                    flat, layer_input = flat.to(bfloat16), layer_input.to(bfloat16)
                y_end, h_end = total * width, (total + batch) * width
                outputs.append(flat[:y_end].reshape(total, width))
                h_last.append(flat[y_end:h_end].reshape(batch, width))
                if lstm:
                    c_last.append(flat[h_end:].reshape(batch, self.hidden_size))
            layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, stack(h_last, 0), (stack(c_last, 0) if lstm else None)

    def _run_stepped(self, data, h0, c0, sizes, low, packed):
        """``_run`` of float32 under CPU autocast, as PyTorch runs it: RNN and GRU as their
        cells stepped (each product cast by autocast: the same values, bit for bit, and
        dtypes: RNN's in the autocast dtype, GRU's float32), and so LSTM with projections or
        a packed input. Its other LSTMs run oneDNN's kernel, which returns the autocast dtype:
        here the stepped cell, its results rounded to that dtype (within a bfloat16 ulp or two
        of oneDNN's; PyTorch's float16 LSTM raises on CPUs without that kernel)."""
        lstm = self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        layer_weights = self.all_weights
        offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        h_last, c_last = [], []
        layer_input = data
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                weights = layer_weights[index]
                w_ih, w_hh = weights[:2]
                b_ih, b_hh = weights[2:4] if self.bias else (None, None)
                w_hr = weights[-1] if self.proj_size > 0 else None
                h, c = h0[index], (c0[index] if lstm else None)
                rows = [None] * len(sizes)
                order = range(len(sizes) - 1, -1, -1) if direction == 1 else range(len(sizes))
                for t in order:
                    size, x = sizes[t], layer_input[offsets[t]:offsets[t + 1]]
                    if lstm:
                        new, c_new = _lstm_step(x, h[:size], c[:size], w_ih, w_hh, b_ih, b_hh)
                        if w_hr is not None:
                            new = F.linear(new, w_hr)
                        c = c_new if size == c.shape[0] else cat([c_new, c[size:]], 0)
                    elif self.mode == "GRU":
                        new = _gru_step(x, h[:size], w_ih, w_hh, b_ih, b_hh)
                    else:
                        new = _elman_step(x, h[:size], w_ih, w_hh, b_ih, b_hh,
                                          self.mode == "RNN_RELU")
                    rows[t] = new
                    h = new if size == h.shape[0] else cat([new, h[size:]], 0)
                outputs.append(cat(rows, 0))
                h_last.append(h)
                c_last.append(c)
            layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        h_n, c_n = stack(h_last, 0), (stack(c_last, 0) if lstm else None)
        if lstm and not packed and self.proj_size == 0:  # (oneDNN's kernel in PyTorch)
            return layer_input.to(low), h_n.to(low), c_n.to(low)
        return layer_input, h_n, c_n

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


# RNN / GRU given proj_size (any value): PyTorch's ValueError, not an unexpected keyword.
_NO_PROJ = object()


def _refuse_proj_size(proj_size) -> None:
    if proj_size is not _NO_PROJ:
        raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (or relu).

    Args:
        input_size, hidden_size: feature sizes.
        num_layers: stacked layers.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: learn ``bias_ih``/``bias_hh``.
        batch_first: input and output are ``[B, T, *]``.
        dropout: dropout on the outputs of every layer but the last (in training).
        bidirectional: add a reverse-direction pass (suffix ``_reverse``).
        dtype: the parameters' dtype (float32 by default).
        generator: source of the initial values.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, *, device=None,
                 dtype=None, generator=None, proj_size=_NO_PROJ) -> None:
        _refuse_proj_size(proj_size)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype, generator=generator)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o; PyTorch's equations and parameter names).

    Args: as ``RNN`` (without nonlinearity), plus ``proj_size``: if > 0, the hidden state is
    projected to that size by ``weight_hr_l{k}`` (``h_t = W_hr (o * tanh(c_t))``).

    >>> import deltagrad as dg
    >>> lstm = dg.nn.LSTM(10, 20, num_layers=2)
    >>> out, (h, c) = lstm(dg.randn(5, 3, 10))
    >>> out.shape, h.shape, c.shape
    (deltagrad.Size([5, 3, 20]), deltagrad.Size([2, 3, 20]), deltagrad.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None, *, generator=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype,
                         generator=generator)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n; ``h_t = (1 - z) * n + z * h_{t-1}``).

    Args: as ``RNN`` (without nonlinearity).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, *, device=None, dtype=None,
                 generator=None, proj_size=_NO_PROJ) -> None:
        _refuse_proj_size(proj_size)
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype, generator=generator)


# ----------------------------------------------------------------------------------------------
# Cells: one step, composed from ops (GRUCell's gates: one op, ops/nn.py's gru_cell).


class RNNCellBase(Module):
    """The base of RNNCell, LSTMCell and GRUCell (PyTorch's name): their weights and init."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None, generator=None) -> None:
        gates = num_chunks
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        dtype = parameter_dtype(dtype, device, type(self).__name__)
        self.weight_ih = Parameter(np.empty((gates * hidden_size, input_size), dtype=dtype))
        self.weight_hh = Parameter(np.empty((gates * hidden_size, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(gates * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(np.empty(gates * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            init.uniform_(param, -bound, bound, generator=generator)

    def _prepare(self, input, hx):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            input = tensor(input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{input.shape[-1]} expected {self.input_size}")
        states = hx if isinstance(hx, (tuple, list)) else (hx,)
        for state in states:
            if state is not None and state.ndim not in (1, 2):
                raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {state.ndim}D "
                                 f"instead")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        checked = []
        for state in states:
            if state is None:
                state = zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
            else:
                state = state if batched else state.unsqueeze(0)
                if tuple(state.shape) != (x.shape[0], self.hidden_size):
                    raise RuntimeError(f"{name}: hidden state has shape "
                                       f"{tuple(state.shape)}, expected "
                                       f"{(x.shape[0], self.hidden_size)}")
            checked.append(state)
        return x, checked, batched

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`` (or relu).

    Args:
        input_size, hidden_size, bias: as ``RNN``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        dtype, generator: as ``RNN``.

    Shapes: input ``[B, input_size]`` or ``[input_size]``; hx alike with hidden_size.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None, *,
                 generator=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype, generator)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx)
        out = _elman_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                          self.nonlinearity == "relu")
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``.

    Shapes: input ``[B, input_size]`` or ``[input_size]``; hx a pair ``(h, c)`` or None.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None, *, generator=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype, generator)

    def forward(self, input, hx=None):
        if hx is None:
            hx = (None, None)
        x, (h, c), batched = self._prepare(input, hx)
        h_new, c_new = _lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                                  self.bias_hh)
        if not batched:
            return h_new.squeeze(0), c_new.squeeze(0)
        return h_new, c_new


class GRUCell(RNNCellBase):
    """One GRU step: ``h' = (1 - z) * n + z * h``.

    Shapes: input ``[B, input_size]`` or ``[input_size]``; hx alike with hidden_size.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None, *, generator=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype, generator)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, hx)
        out = _gru_step(x, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)


# ----------------------------------------------------------------------------------------------
# One step of each cell, in engine ops: the cells' forward, and the layers' under autocast.


def _autocast_dtype():
    """The CPU autocast dtype while autocast is on, else None. (``amp`` holds the state: a
    public module above nn, read when a recurrent layer runs, as attention does.)"""
    from .. import amp

    return amp.get_autocast_dtype("cpu") if amp.is_autocast_enabled("cpu") else None


def _elman_step(x, h, w_ih, w_hh, b_ih, b_hh, relu: bool):
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh) -> tuple:
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, 1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


def _gru_step(x, h, w_ih, w_hh, b_ih, b_hh):
    gi = F.linear(x, w_ih, b_ih)
    gh = F.linear(h, w_hh, b_hh)
    if gi._data.dtype == gh._data.dtype == h._data.dtype and h._data.dtype.char in "fd":
        # One node for the gates (ops/nn.py's gru_cell: the same values as the composed
        # cell below, 14 nodes fewer a step): W8 seq2seq step new/old 0.88 (CPU time, 15
        # rounds of benchmarks/ab.py --cpu against the tree with the composed cell).
        return apply(GRU_CELL, gi, gh, h)
    # (mixed, half or bfloat16 dtypes: the composed cell and its type promotion)
    x_r, x_z, x_n = gi.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)
