"""PyTorch's node for a recurrent layer's batched output, which programs print with it
(``grad_fn=<...>``), and whether PyTorch's CPU LSTM runs oneDNN's kernel (rnn.py's layers)."""

from __future__ import annotations

from .._engine.node_names import rename_node

ONEDNN_DTYPES = ("float32", "bfloat16")  # (PyTorch's oneDNN LSTM kernel's)


def onednn_lstm(mode: str, proj_size: int, dtype) -> bool:
    """Whether PyTorch's CPU LSTM runs oneDNN's kernel: a float32 or bfloat16 input (float32
    under autocast too), no projections; never for a packed input (not asked here)."""
    return mode == "LSTM" and proj_size == 0 and str(dtype).rsplit(".", 1)[-1] in ONEDNN_DTYPES


def output_node(result, mode: str, batch_first: bool, bidirectional: bool, onednn: bool):
    """Name the batched output's node as PyTorch's (session 30, PR24): its RNN and GRU turn a
    batch-first output with an in-place transpose (TransposeBackward1), its LSTM with a
    transpose (TransposeBackward0); otherwise a bidirectional output is a cat of the two
    directions, a unidirectional one a stack of the steps or oneDNN's kernel's own node.
    Nothing happens without a node (no gradient recorded)."""
    if batch_first:
        name = "TransposeBackward0" if mode == "LSTM" else "TransposeBackward1"
    elif bidirectional:
        name = "CatBackward0"
    else:
        name = "MkldnnRnnLayerBackward0" if onednn else "StackBackward0"
    return rename_node(result, name)
