"""Variable-length sequences (PyTorch's ``torch.nn.utils.rnn``): padding and PackedSequence.

Every conversion is one gather with an index array computed in NumPy (an integer-array
``getitem``), so gradients flow through padding and packing to the original tensors.
Importable as ``deltagrad.nn.utils.rnn``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._engine import ShapeError, Tensor
from .._engine.api.creation import arange, from_numpy, full, tensor
from .._engine.api.shape import cat
from .._engine.node_names import name_node
from ..autograd.forward_ad import refuse_tangents

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


def _ints(values) -> np.ndarray:
    array = values.detach().numpy() if isinstance(values, Tensor) else np.asarray(values)
    return array.astype(np.int64).reshape(-1)


def _index_tensor(values) -> Tensor:
    return values if isinstance(values, Tensor) else from_numpy(_ints(values))


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """A batch of sequences of different lengths, packed time step by time step.

    ``data`` ``[sum(lengths), *]`` holds step 0 of every sequence, then step 1 of those that
    are long enough, and so on (sequences sorted by decreasing length); ``batch_sizes`` (int64)
    says how many sequences take part in each step. ``sorted_indices[j]`` is the batch position
    of the j-th longest sequence and ``unsorted_indices`` its inverse (both None when the batch
    was already sorted). Build one with ``pack_padded_sequence`` or ``pack_sequence``; RNN, LSTM
    and GRU take it as input and return one.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:
            raise TypeError("PackedSequence: batch_sizes is required (build one with "
                            "pack_padded_sequence or pack_sequence)")
        # (Tensors are kept as given, the same objects, as PyTorch keeps them: poutyne's tests
        # build one of mocks; lists and arrays, which PyTorch refuses, become int64 tensors.)
        batch_sizes = _index_tensor(batch_sizes)
        if sorted_indices is not None:
            sorted_indices = _index_tensor(sorted_indices)
            if unsorted_indices is None:
                unsorted_indices = from_numpy(np.argsort(_ints(sorted_indices), kind="stable"))
        if unsorted_indices is not None:
            unsorted_indices = _index_tensor(unsorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data) -> PackedSequence:
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """Convert ``data`` as ``Tensor.to`` does (the index tensors stay int64)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._with_data(data)

    def float(self) -> PackedSequence:
        return self._with_data(self.data.float())

    def double(self) -> PackedSequence:
        return self._with_data(self.data.double())

    def cpu(self) -> PackedSequence:
        return self

    @property
    def is_cuda(self) -> bool:
        return False


def _sorted_order(lengths: np.ndarray, enforce_sorted: bool) -> np.ndarray | None:
    if enforce_sorted:
        if np.any(lengths[1:] > lengths[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` "
                               "to pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        return None
    return np.argsort(-lengths, kind="stable")


def _batch_sizes(sorted_lengths: np.ndarray) -> np.ndarray:
    steps = np.arange(int(sorted_lengths[0]))
    return (sorted_lengths[None, :] > steps[:, None]).sum(axis=1).astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``[T, B, *]`` (``[B, T, *]`` with batch_first) of given lengths.

    Args:
        input: the padded batch.
        lengths: the length of each sequence (a list or an int64 tensor).
        batch_first: the batch is dimension 0.
        enforce_sorted: require lengths in decreasing order (else they are sorted here and the
            permutation is kept in the PackedSequence).

    Returns:
        A PackedSequence.

    >>> import deltagrad as dg
    >>> padded = dg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])
    >>> packed = pack_padded_sequence(padded, [3, 2], batch_first=True)
    >>> packed.data.tolist(), packed.batch_sizes.tolist()
    ([1.0, 4.0, 2.0, 5.0, 3.0], [2, 2, 1])
    """
    x = input if isinstance(input, Tensor) else tensor(input)
    refuse_tangents("_pack_padded_sequence", x)  # (PyTorch has no forward-mode formula)
    lengths = _ints(lengths)
    if x.ndim < 2:
        raise ShapeError(f"pack_padded_sequence: expected a padded batch of at least 2 "
                         f"dimensions, got shape {tuple(x.shape)}")
    if batch_first:
        x = x.transpose(0, 1)
    steps, batch = x.shape[0], x.shape[1]
    if len(lengths) != batch:
        raise ValueError(f"pack_padded_sequence: expected {batch} lengths (one per sequence), "
                         f"got {len(lengths)}")
    if np.any(lengths <= 0):
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if np.any(lengths > steps):
        raise RuntimeError(f"pack_padded_sequence: a length of {int(lengths.max())} exceeds the "
                           f"{steps} padded steps")
    order = _sorted_order(lengths, enforce_sorted)
    columns = np.arange(batch) if order is None else order
    sizes = _batch_sizes(lengths[columns])
    rows = np.concatenate([t * batch + columns[:size] for t, size in enumerate(sizes)])
    data = x.reshape(steps * batch, *x.shape[2:])[rows]
    return PackedSequence(data, sizes, order, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """Undo ``pack_padded_sequence``: the padded batch and the lengths, in the original order.

    Args:
        sequence: a PackedSequence.
        batch_first: return ``[B, T, *]`` instead of ``[T, B, *]``.
        padding_value: the value of the padding entries.
        total_length: pad to this many steps (at least the longest sequence).

    Returns:
        ``(padded, lengths)``; lengths is an int64 tensor.
    """
    data = sequence.data
    sizes = _ints(sequence.batch_sizes)
    batch = int(sizes[0])
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        steps = int(total_length)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    sorted_lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    padding_row = data.shape[0]
    index = np.full((steps, batch), padding_row, dtype=np.int64)
    for t, size in enumerate(sizes):
        index[t, :size] = offsets[t] + np.arange(size)
    pad = full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    padded = cat([data, pad], 0)[index.reshape(-1)].reshape(steps, batch, *data.shape[1:])
    # PyTorch writes the packed rows into a padding tensor through views: its grad_fn is
    # CopySlices, printed by programs that show the padded batch. (The same values and
    # gradients by one gather: a write through a view here took 660 us, not 125 us, for 32
    # sequences of 5-50 steps x 64, one thread.)
    name_node(padded, "CopySlices")
    if batch_first:
        padded = padded.transpose(0, 1)
    lengths = sorted_lengths
    if sequence.unsorted_indices is not None:
        # As PyTorch: the original order comes back last, by an index_select along the batch
        # (its grad_fn is IndexSelectBackward0, and the output is contiguous: the layout
        # decides the order in which random fills such as dropout masks draw along it).
        unsorted = sequence.unsorted_indices
        lengths = sorted_lengths[_ints(unsorted)]
        padded = padded.index_select(0 if batch_first else 1, unsorted)
    return padded, from_numpy(lengths.astype(np.int64))


def pad_sequence(sequences: Sequence[Tensor] | Tensor, batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences ``[L_i, *]`` of different lengths into ``[T, B, *]``, padding them.

    Args:
        sequences: the tensors (they must agree in every dimension but the first).
        batch_first: return ``[B, T, *]``.
        padding_value: the value of the padding entries.
        padding_side: ``"right"`` (pad after each sequence) or ``"left"``.

    >>> import deltagrad as dg
    >>> pad_sequence([dg.tensor([1, 2, 3]), dg.tensor([4])], batch_first=True).tolist()
    [[1, 2, 3], [4, 0, 0]]
    """
    if padding_side not in ("left", "right"):  # (PyTorch's class: RuntimeError)
        raise RuntimeError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                           f"{padding_side!r}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    sequences = [s if isinstance(s, Tensor) else tensor(s) for s in sequences]
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if s.ndim == 0 or tuple(s.shape[1:]) != trailing:
            raise ShapeError(f"pad_sequence: every sequence must be [L, {trailing}], got shapes "
                             f"{[tuple(t.shape) for t in sequences]}")
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    steps, batch = int(lengths.max()), len(sequences)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    total = int(lengths.sum())
    index = np.full((steps, batch), total, dtype=np.int64)
    for b, (start, length) in enumerate(zip(starts, lengths)):
        first = steps - length if padding_side == "left" else 0
        index[first:first + length, b] = start + np.arange(length)
    pad = full((1, *trailing), padding_value, dtype=sequences[0].dtype)
    padded = cat(sequences + [pad], 0)[index.reshape(-1)].reshape(steps, batch, *trailing)
    # (batch_first: PyTorch's result is a contiguous [B, T, *] tensor, not a transposed view)
    return padded.transpose(0, 1).contiguous() if batch_first else padded


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences ``[L_i, *]`` (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Split a padded batch back into its sequences (the inverse of ``pad_sequence``)."""
    # As PyTorch does: without batch_first the caller's tensor is transposed in place, and
    # each sequence is a masked copy (not a view of the batch); lengths must be a tensor of
    # the batch's size.
    if not batch_first:
        padded_sequences.transpose_(0, 1)
    steps = arange(padded_sequences.shape[1], device=lengths.device)
    if len(lengths) != padded_sequences.shape[0]:
        raise ValueError(f"unpad_sequence: {len(lengths)} lengths for a batch of "
                         f"{padded_sequences.shape[0]} sequences")
    return [seq[steps < length] for seq, length in zip(padded_sequences, lengths)]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The sequences of a PackedSequence, in the original batch order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of the 1-d index tensor ``permutation`` (``out[permutation[i]] = i``, as
    PyTorch's scatter writes it), ``None`` for ``None``: a PackedSequence's unsorted indices
    from its sorted ones."""
    if permutation is None:
        return None
    order = np.asarray(permutation.numpy())
    if order.dtype != np.int64:  # (PyTorch's scatter of an int64 arange needs int64 indices)
        raise RuntimeError(f"invert_permutation: expected an int64 permutation, got "
                           f"{permutation.dtype}")
    if order.ndim != 1:  # (PyTorch's scatter fails with an IndexError there too)
        raise IndexError(f"invert_permutation: expected a 1-D permutation, got shape "
                         f"{list(order.shape)}")
    out = np.empty_like(order)
    out[order] = np.arange(len(order), dtype=order.dtype)
    return from_numpy(out)
