"""Adaptive softmax for large vocabularies (PyTorch's ``nn.AdaptiveLogSoftmaxWithLoss``)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.api.shape import cat
from .._engine.autograd import no_grad
from .._engine.tensor import Tensor
from . import functional as F
from .layers import Linear
from .module import Module, ModuleList, Sequential

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Log-probabilities over ``n_classes`` split into a frequent shortlist and rarer clusters.

    The head scores the ``cutoffs[0]`` shortlist classes plus one entry per cluster; cluster
    ``i`` (classes ``cutoffs[i]`` to ``cutoffs[i+1] - 1``) has its own two-layer projection
    ``tail[i]`` of width ``in_features // div_value ** (i + 1)``. Parameter names and layout
    are PyTorch's (``head.weight``, ``tail.{i}.0.weight``, ``tail.{i}.1.weight``).

    Args:
        in_features: size of each input sample.
        n_classes: number of classes.
        cutoffs: increasing, unique integers in ``[1, n_classes - 1]``: the cluster edges.
        div_value: how much narrower each successive cluster's projection is.
        head_bias: give the head a bias.
        device: must be the CPU (or None).
        dtype: the parameters' floating dtype (the default dtype when None).

    Shapes:
        ``forward``: input ``[N, in_features]`` (or ``[in_features]``), target int ``[N]`` (or
        0-d) -> ``(output [N], loss [])``, output being each target's log-probability.
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int],
                 div_value: float = 4.0, head_bias: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted "
                             "in an increasing order, where each value is between 1 and "
                             "n_classes-1")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        factory = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            width = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **factory),
                                        Linear(hidden, width, bias=False, **factory)))

    def reset_parameters(self) -> None:
        """Re-draw every weight as a fresh ``Linear`` would."""
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        """Each target's log-probability and the mean negative log-likelihood.

        Args:
            input_: ``[N, in_features]`` (or ``[in_features]`` with a 0-d target).
            target_: int ``[N]`` (or 0-d), class ids in ``[0, n_classes)``.

        Returns:
            ``_ASMoutput(output, loss)``: output ``[N]`` (0-d when unbatched), loss 0-d.
        """
        input, target = input_, target_  # (PyTorch's parameter names end in "_")
        if target.ndim == 1:
            if input.shape[0] != target.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch "
                                   "dimension.")
            if input.ndim != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs "
                                   f"with size {tuple(input.shape)}")
        elif target.ndim == 0:
            if input.ndim != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs "
                                   f"with size {tuple(input.shape)}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target.ndim > 0
        if not batched:
            input = input.unsqueeze(0)
        labels = np.asarray(target.detach().numpy()).reshape(-1).astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but "
                               f"values in range [{labels.min()}, {labels.max()}] were found. ")
        # Which cluster each row's class falls in (0: the shortlist).
        cluster = np.searchsorted(np.asarray(self.cutoffs), labels, side="right")
        head_index = np.where(cluster == 0, labels, self.shortlist_size + cluster - 1)
        head_logprob = F.log_softmax(self.head(input), dim=1)
        output = head_logprob.gather(1, from_numpy(head_index[:, None])).squeeze(1)
        # The clusters' log-probabilities, computed on their own rows only, then put back in
        # row order by one index_select (every row is in exactly one group).
        pieces, order = [], []
        shortlist_rows = np.flatnonzero(cluster == 0)
        if shortlist_rows.size:
            pieces.append(output.new_zeros(shortlist_rows.size))
            order.append(shortlist_rows)
        for i in range(1, self.n_clusters + 1):
            rows = np.flatnonzero(cluster == i)
            if rows.size == 0:
                continue
            subset = input.index_select(0, from_numpy(rows))
            cluster_logprob = F.log_softmax(self.tail[i - 1](subset), dim=1)
            relative = from_numpy((labels[rows] - self.cutoffs[i - 1])[:, None])
            pieces.append(cluster_logprob.gather(1, relative).squeeze(1))
            order.append(rows)
        if pieces:
            inverse = np.argsort(np.concatenate(order), kind="stable")
            output = cat(pieces).index_select(0, from_numpy(inverse)) + output
        loss = (-output).mean()
        if not batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """``[N, n_classes]`` log-probabilities: head for the shortlist, head + cluster else."""
        head_logprob = F.log_softmax(head_output, dim=1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i, projection in enumerate(self.tail):
            cluster_logprob = F.log_softmax(projection(input), dim=1)
            gate = head_logprob[:, self.shortlist_size + i:self.shortlist_size + i + 1]
            parts.append(cluster_logprob + gate)
        return cat(parts, dim=1)

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of every class.

        Args:
            input: ``[N, in_features]`` (batched only, as in PyTorch: a 1-d input raises
                IndexError).

        Returns:
            ``[N, n_classes]``.
        """
        return self._full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most likely class of each input (cheaper than ``log_prob(input).argmax(1)``:
        clusters are evaluated only for rows whose best head entry is a cluster).

        Args:
            input: ``[N, in_features]`` (batched only, as in PyTorch).

        Returns:
            int64 ``[N]``.
        """
        with no_grad():
            head_output = self.head(input)
            best = head_output.argmax(dim=1).detach().numpy().copy()
            outside = np.flatnonzero(best >= self.shortlist_size)
            if outside.size:
                rows = from_numpy(outside)
                full = self._full_log_prob(input.index_select(0, rows),
                                           head_output.index_select(0, rows))
                best[outside] = full.argmax(dim=1).detach().numpy()
        return from_numpy(best.astype(np.int64))
