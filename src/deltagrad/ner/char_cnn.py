"""A character CNN over each distinct spelling of a batch, as one differentiable op.

A word's spelling vector: embed its characters, convolve (``filters`` filters of ``kernel``
characters, zero-padded so that every character is a centre), and take each filter's maximum
over the word's own positions (Collobert et al. 2011's and dos Santos and Zadrozny 2014's
character-level feature). A batch of 256 tokens has five window positions each but only about
160 distinct spellings, so the CNN runs once per spelling and the rows are gathered back to the
window positions.

Written with deltagrad's ops (embedding of the im2col'd ids, linear, masked amax, the gather
back) it cost 9-10 ms a training step on a loaded machine, most of it in the two scatter-adds
of the backward pass (``np.add.at``: the embedding's over ~6,000 rows, the gather's over
~1,300). Here the whole thing is one node whose backward sums rows by sorting once and
``np.add.reduceat``, and routes each filter's gradient to its maximum's position only.
"""

from __future__ import annotations

import numpy as np

import deltagrad as dg
from deltagrad import nn
from deltagrad.autograd import Function

__all__ = ["CharCNN", "char_cnn"]


def _columns(ids: np.ndarray, kernel: int) -> np.ndarray:
    """int64 ``[u, L, kernel]``: the ids each output position sees (0 beyond the word)."""
    count, length = ids.shape
    side = kernel // 2
    padded = np.zeros((count, length + 2 * side), dtype=np.int64)
    padded[:, side:side + length] = ids
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=1))


def _sum_rows(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """``out[i] = sum of values[j] where index[j] == i`` for ``i < size`` (``np.add.at``'s
    result, in a fixed order, without its per-element loop)."""
    out = np.zeros((size, values.shape[1]), dtype=values.dtype)
    if index.size == 0:
        return out
    order = np.argsort(index, kind="stable")
    keys = index[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    out[keys[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


class _CharCNN(Function):
    """``pooled[index]`` where ``pooled[w, f] = max_t (W x_(w, t) + b)_f``, and its gradient."""

    @staticmethod
    def forward(ctx, table, weight, bias, chars, index, kernel):
        e = table.detach().numpy()
        w = weight.detach().numpy()
        b = bias.detach().numpy()
        count, length = chars.shape
        filters = w.shape[0]
        columns = _columns(chars, kernel)
        x = e[columns].reshape(count * length, -1)  # [u * L, kernel * dim]
        conv = (x @ w.T + b).reshape(count, length, filters)
        lengths = (chars != 0).sum(axis=1)
        inside = np.arange(length) < lengths[:, None]
        best = np.where(inside[:, :, None], conv, -np.inf).argmax(axis=1)  # [u, filters]
        pooled = np.take_along_axis(conv, best[:, None, :], axis=1)[:, 0]
        pooled[lengths == 0] = 0.0  # no characters (beyond the sentence): zeros
        ctx.saved = (columns, x, best, lengths > 0, index, e.shape[0], w, table.dtype)
        out = pooled[index].reshape(index.shape[0], -1)
        return table.new_tensor(out, dtype=table.dtype)

    @staticmethod
    def backward(ctx, upstream):
        columns, x, best, nonempty, index, n_chars, w, dtype = ctx.saved
        count, length, kernel = columns.shape
        filters = w.shape[0]
        g = upstream.detach().numpy().reshape(-1, filters)
        g_pooled = _sum_rows(index.reshape(-1), g, count)
        g_pooled[~nonempty] = 0.0
        # Each filter's gradient goes to the position of its maximum only.
        g_conv = np.zeros((count, length, filters), dtype=g.dtype)
        np.put_along_axis(g_conv, best[:, None, :], g_pooled[:, None, :], axis=1)
        g_conv = g_conv.reshape(count * length, filters)
        grad_weight = g_conv.T @ x
        grad_bias = g_pooled.sum(axis=0)
        g_x = (g_conv @ w).reshape(count * length * kernel, -1)
        grad_table = _sum_rows(columns.reshape(-1), g_x, n_chars)
        grad_table[0] = 0.0  # the padding id's row stays zero
        return (upstream.new_tensor(grad_table, dtype=dtype),
                upstream.new_tensor(grad_weight, dtype=dtype),
                upstream.new_tensor(grad_bias, dtype=dtype), None, None, None)


def char_cnn(table, weight, bias, chars, index=None, kernel: int = 3):
    """Spelling vectors of the distinct words ``chars``, gathered to ``index``'s positions.

    Args:
        table: float ``[n_chars, dim]`` Tensor of character vectors (row 0 pads).
        weight: float ``[filters, kernel * dim]`` Tensor: filter ``f``'s weight of dimension
            ``d`` of the character ``j - kernel // 2`` places from the centre is
            ``weight[f, j * dim + d]`` (PyTorch's ``Conv1d`` weight ``[filters, dim, kernel]``
            permuted to ``[filters, kernel, dim]``).
        bias: float ``[filters]`` Tensor.
        chars: int ``[u, length]`` character ids (Tensor or array), each row's characters
            first, then 0s; a row of 0s gives zeros.
        index: int ``[n, p]`` rows of ``chars`` (Tensor or array); None: ``[[0], [1], ...]``.
        kernel: characters each filter sees (odd).

    Returns:
        float ``[n, p * filters]`` Tensor: the spelling vectors of ``index``'s rows side by side.
    """
    ids = np.asarray(chars.numpy() if isinstance(chars, dg.Tensor) else chars)
    if ids.ndim != 2 or ids.dtype.kind not in "iu":
        raise ValueError(f"char_cnn: chars must be integer ids [words, length], got "
                         f"{ids.dtype} {tuple(ids.shape)}")
    if index is None:
        index = np.arange(ids.shape[0])[:, None]
    index = np.asarray(index.numpy() if isinstance(index, dg.Tensor) else index)
    if index.ndim != 2 or index.dtype.kind not in "iu":
        raise ValueError(f"char_cnn: index must be integer rows [n, positions], got "
                         f"{index.dtype} {tuple(index.shape)}")
    n_chars, dim = table.shape
    if kernel < 1 or kernel % 2 == 0 or tuple(weight.shape)[1:] != (kernel * dim,) \
            or tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"char_cnn: table {tuple(table.shape)} and kernel {kernel} need weight "
                         f"[filters, {kernel * dim}] and bias [filters]; got weight "
                         f"{tuple(weight.shape)}, bias {tuple(bias.shape)}")
    if ids.size and (ids.min() < 0 or ids.max() >= n_chars):
        raise ValueError(f"char_cnn: character ids must be in [0, {n_chars}), got "
                         f"[{ids.min()}, {ids.max()}]")
    if index.size and (index.min() < 0 or index.max() >= ids.shape[0]):
        raise ValueError(f"char_cnn: index must be in [0, {ids.shape[0]}), got "
                         f"[{index.min()}, {index.max()}]")
    return _CharCNN.apply(table, weight, bias, ids.astype(np.int64, copy=False),
                          index.astype(np.int64, copy=False), kernel)


class CharCNN(nn.Module):
    """The character CNN's parameters: character vectors and the filters (:func:`char_cnn`).

    Args:
        n_chars: rows of the character table (id 0 pads and stays zero).
        embedding_dim: width of the character vectors.
        filters: number of filters: the width of a spelling vector.
        kernel: characters each filter sees (odd).
        generator: the random generator for initialisation.
    """

    def __init__(self, n_chars: int, embedding_dim: int, filters: int, kernel: int = 3,
                 generator: dg.Generator | None = None):
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"CharCNN: kernel must be odd and positive, got {kernel}")
        self.kernel = kernel
        self.embedding = nn.Embedding(n_chars, embedding_dim, padding_idx=0)
        self.conv = nn.Linear(kernel * embedding_dim, filters)  # the im2col'd convolution
        nn.init.normal_(self.embedding.weight, 0.0, 0.1, generator=generator)
        self.embedding.weight.detach().numpy()[0] = 0.0  # padding
        nn.init.xavier_uniform_(self.conv.weight, generator=generator)
        nn.init.zeros_(self.conv.bias)

    def forward(self, chars, index=None):
        """float ``[n, p * filters]``: see :func:`char_cnn`."""
        return char_cnn(self.embedding.weight, self.conv.weight, self.conv.bias, chars, index,
                        self.kernel)
