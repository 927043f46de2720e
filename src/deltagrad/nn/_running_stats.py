"""The running statistics of the normalization layers in training mode: ``_RunningStats``
(what a batch updates, and how, with PyTorch's CPU kernel's bits) and ``_TrackStats``, the
identity node whose forward folds a batch's (or each instance's) statistics into them, so that
``capture_step``'s replays update them too. Moved out of normalization.py (session 27, FS1) to
keep it under the 800-line limit; normalization.py imports them back (norm2d.py and
_aten_entries.py import them from there as before).
"""

from __future__ import annotations

import numpy as np

from .._engine import Tensor
from .._engine import bf16 as _bf16
from .._engine.modes import CAPTURED as _CAPTURED
from .._engine.modes import check_captured
from ..autograd import Function


class _RunningStats:
    """The running statistics one training-mode normalization updates, and how: ``(1 -
    factor) running + factor batch``, where a module counting batches (``count``, its
    ``num_batches_tracked``) adds one first and, with ``momentum`` None, uses ``1 / count``.

    It is an attribute of the node that updates it (``_TrackStats``, the fused batch norm), so
    the update is part of the op: ``capture_step``'s replays make it as the eager step does,
    counting and recomputing the cumulative-average factor each time, and the capture finds
    the tensors it changes (``mutated_tensors``) to put them back after its checking runs.
    """

    __slots__ = ("mean", "var", "count", "momentum")

    def __init__(self, mean: Tensor | None, var: Tensor | None, count: Tensor | None,
                 momentum: float | None) -> None:
        self.mean, self.var, self.count, self.momentum = mean, var, count, momentum

    def _factor(self) -> float:
        """Count the batch (when counted) and return its factor ``m``."""
        if _CAPTURED:  # (inside a torch.func transform: captured buffers are read-only)
            for t in self.mutated_tensors():
                check_captured(t)
        factor = self.momentum
        if self.count is not None:
            count = self.count._data
            count[...] += 1
            if factor is None:
                factor = 1.0 / float(count)
        return 0.0 if factor is None else factor

    def update_batch(self, mean: np.ndarray, var_sum: np.ndarray, n: int) -> None:
        """Fold one batch's per-channel mean and sum of squared deviations over ``n`` values
        into the running statistics as PyTorch's CPU kernel does, so with its bits: float32
        statistics take m = float32(momentum), the mean m mean + (1 - m) running in float32,
        the variance float64(float32(var_sum / (n - 1))) m + float32((1 - m) running) in
        float64, rounded once; float64 ones the same sums in float64 (s23 BR4: 58% -> 100% of
        BatchNorm2d's elements where the batch statistics agree)."""
        factor = self._factor()
        for running in (self.mean, self.var):
            if running is None:
                continue
            array = running._data
            if array.dtype not in (np.float32, np.float64):
                self._blend(running, mean if running is self.mean else var_sum / (n - 1),
                            factor)
                continue
            array[...] = self._step(array, mean if running is self.mean else var_sum,
                                    running is self.mean, n, factor)

    def update_instances(self, means: np.ndarray, var_sums: np.ndarray, n: int) -> None:
        """Instance norm's update from ``[N, C]`` per-instance means and sums of squared
        deviations (float32 or float64, as the running statistics): PyTorch's batch-norm
        update of N copies of the running statistics, then their mean over N."""
        factor = self._factor()
        for running, value in ((self.mean, means), (self.var, var_sums)):
            if running is None:
                continue
            array = running._data
            copies = self._step(array, value, running is self.mean, n, factor)
            array[...] = np.add.reduce(copies, 0) / array.dtype.type(len(copies))

    @staticmethod
    def _step(array: np.ndarray, value: np.ndarray, is_mean: bool, n: int,
              factor: float) -> np.ndarray:
        """The new float32 / float64 running ``array`` (not written) after PyTorch's CPU update
        step by ``value``: a batch mean, or a sum of squared deviations over ``n`` values."""
        m = array.dtype.type(factor)
        keep = array.dtype.type(1) - m
        if is_mean:
            return m * value.astype(array.dtype) + keep * array
        unbiased = value.astype(array.dtype) / array.dtype.type(n - 1)
        return (np.float64(m) * unbiased.astype(np.float64)
                + (keep * array).astype(np.float64)).astype(array.dtype)

    def update(self, mean: np.ndarray, var: np.ndarray) -> None:
        """Fold one batch's per-channel mean and unbiased variance into the running ones."""
        factor = self._factor()
        for running, value in ((self.mean, mean), (self.var, var)):
            if running is not None:
                self._blend(running, value, factor)

    @staticmethod
    def _blend(running: Tensor, value: np.ndarray, factor: float) -> None:
        """``running = (1 - factor) running + factor value`` in place."""
        array = running._data
        array *= 1.0 - factor
        array += (factor * value).astype(array.dtype, copy=False)

    def mutated_tensors(self) -> tuple:
        """The tensors ``update`` changes in place."""
        return tuple(t for t in (self.mean, self.var, self.count) if t is not None)

    def __eq__(self, other) -> bool:  # (capture_step compares two recordings of a node)
        return (type(other) is _RunningStats and self.mean is other.mean
                and self.var is other.var and self.count is other.count
                and self.momentum == other.momentum)

    __hash__ = None

    def __repr__(self) -> str:
        return f"_RunningStats(momentum={self.momentum}, counted={self.count is not None})"


def _float_values(t: Tensor) -> np.ndarray:
    """``t``'s values; bfloat16 ones as float32 (NumPy computes nothing in bfloat16: a
    bfloat16 InstanceNorm with running statistics raised)."""
    return t._data.astype(np.float32) if t._data.dtype is _bf16.BF16 else t.numpy()


class _TrackStats(Function):
    """The identity on its first input, whose forward folds a batch's statistics into
    running ones (``stats``). A node, so that replays update them too.

    ``instance``: the input is ``[N, C, L]`` rows, and the statistics are each instance's
    mean and unbiased variance averaged over the batch (instance norm). Else the input is the
    batch's biased variance and the second the mean, each ``[1, C, 1...]`` (``count`` values
    per channel): the batch norm of ops takes its statistics from its own graph.
    """

    @staticmethod
    def forward(ctx, x, *mean, stats: _RunningStats, instance: bool, count: int = 0):
        values = _float_values(x)
        if instance and values.dtype in (np.float32, np.float64) and all(
                t is None or t._data.dtype == values.dtype for t in (stats.mean, stats.var)):
            # (PyTorch's rule, so its bits: each instance's statistics as batch_norm's of a
            # [1, N C, L] input, its running copies updated, then their mean over N)
            means = (np.add.reduce(values, 2, np.float64) / values.shape[2]).astype(
                values.dtype)
            squares = values - means[..., None]
            squares *= squares
            stats.update_instances(means, np.add.reduce(squares, 2, np.float64).astype(
                values.dtype), values.shape[2])
            return x
        if instance:
            means = values.mean(axis=2).mean(axis=0)
            variances = values.var(axis=2, ddof=1).mean(axis=0)
        else:
            means = _float_values(mean[0]).reshape(-1)
            # (the batch's sum of squares: PyTorch's update from it, update_batch)
            stats.update_batch(means, values.reshape(-1).astype(np.float64) * count, count)
            return x
        stats.update(means, variances)
        return x

    @staticmethod
    def backward(ctx, grad):
        return (grad, None) if len(ctx.needs_input_grad) == 2 else grad

    @staticmethod
    def jvp(ctx, tangent, *mean_tangent):
        # The identity's tangent (forward AD of instance_norm / batch norm with running stats)
        return tangent
