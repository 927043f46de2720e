"""PyTorch's ATen recurrent entries over flat weight lists (``torch.lstm``, ``torch.gru``,
``torch.rnn_tanh``, ``torch.rnn_relu``): what ``nn.LSTM`` and friends call underneath, and
what exported or hand-fused code calls directly. Written from the layers' cell steps, so
values and gradients are theirs."""

from __future__ import annotations

from .._engine.api.shape import cat, stack
from . import functional as F
from .rnn import _elman_step, _gru_step, _lstm_step

__all__ = ["gru", "lstm", "rnn_relu", "rnn_tanh"]


def _run(kind: str, input, hx: list, params, has_biases: bool, num_layers: int,
         dropout: float, train: bool, bidirectional: bool, batch_first: bool):
    """The stacked, optionally bidirectional recurrence: (output, final states per state
    kind, each [layers * directions, batch, hidden])."""
    directions = 2 if bidirectional else 1
    per = 4 if has_biases else 2
    params = list(params)
    if len(params) != num_layers * directions * per:
        raise RuntimeError(f"{kind}: expected {num_layers * directions * per} parameters "
                           f"({num_layers} layers, {directions} directions, "
                           f"{'with' if has_biases else 'without'} biases), got {len(params)}")
    if input.ndim != 3:  # (the modules unsqueeze unbatched input; these entries do not)
        raise IndexError(f"{kind}: expected a 3-D input (batched), got {input.ndim}-D")
    x = input.transpose(0, 1) if batch_first else input
    states = list(hx)
    finals: list[list] = [[] for _ in states]
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            at = (layer * directions + direction) * per
            w_ih, w_hh = params[at], params[at + 1]
            b_ih, b_hh = (params[at + 2], params[at + 3]) if has_biases else (None, None)
            now = [s[layer * directions + direction] for s in states]
            steps = range(x.shape[0] - 1, -1, -1) if direction else range(x.shape[0])
            seq = [None] * x.shape[0]
            for t in steps:
                if kind == "lstm":
                    now = list(_lstm_step(x[t], *now, w_ih, w_hh, b_ih, b_hh))
                elif kind == "gru":
                    now = [_gru_step(x[t], now[0], w_ih, w_hh, b_ih, b_hh)]
                else:
                    now = [_elman_step(x[t], now[0], w_ih, w_hh, b_ih, b_hh,
                                       kind == "rnn_relu")]
                seq[t] = now[0]
            outputs.append(stack(seq))
            for final, value in zip(finals, now):
                final.append(value)
        x = cat(outputs, -1) if directions == 2 else outputs[0]
        if dropout and train and layer < num_layers - 1:
            x = F.dropout(x, dropout, True)
    if batch_first:
        x = x.transpose(0, 1)
    return x, [stack(f) for f in finals]


def lstm(input, hx, params, has_biases: bool, num_layers: int, dropout: float, train: bool,
         bidirectional: bool, batch_first: bool):
    """``(output, h_n, c_n)`` of a stacked LSTM: ``hx`` is ``(h_0, c_0)``, ``params`` the
    weights ``w_ih, w_hh[, b_ih, b_hh]`` of each layer and direction in ``nn.LSTM``'s order
    (no projections)."""
    out, (h, c) = _run("lstm", input, list(hx), params, has_biases, num_layers, dropout,
                       train, bidirectional, batch_first)
    return out, h, c


def _single(kind: str):
    def entry(input, hx, params, has_biases: bool, num_layers: int, dropout: float,
              train: bool, bidirectional: bool, batch_first: bool):
        out, (h,) = _run(kind, input, [hx], params, has_biases, num_layers, dropout, train,
                         bidirectional, batch_first)
        return out, h

    entry.__name__ = entry.__qualname__ = kind
    entry.__doc__ = (f"``(output, h_n)`` of a stacked ``{kind}`` recurrence over the flat "
                     "weights ``w_ih, w_hh[, b_ih, b_hh]`` per layer and direction.")
    return entry


gru = _single("gru")
rnn_tanh = _single("rnn_tanh")
rnn_relu = _single("rnn_relu")
