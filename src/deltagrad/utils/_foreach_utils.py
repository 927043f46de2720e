"""PyTorch's ``torch.utils._foreach_utils``: the grouping helpers that optimizer code imports
before calling ``torch._foreach_*`` (pytorch_optimizer, PyTorch-style custom optimizers).

deltagrad's ``_foreach_*`` functions loop over their lists, so no device or dtype needs them
grouped; the helpers still group as PyTorch's do, because callers index the groups."""

from __future__ import annotations

from .._engine.modes import no_grad
from .._engine.tensor import Tensor


def _get_foreach_kernels_supported_devices() -> list[str]:
    """The device types with fused list kernels in PyTorch (deltagrad runs on the CPU only)."""
    return ["cuda", "xpu", "mtia", "privateuseone"]


def _get_fused_kernels_supported_devices() -> list[str]:
    """The device types whose optimizers take ``fused=True`` in PyTorch (the CPU among them)."""
    return ["mps", "cuda", "xpu", "hpu", "cpu", "mtia", "privateuseone"]


@no_grad()
def _group_tensors_by_device_and_dtype(tensorlistlist, with_indices: bool = False) -> dict:
    """``{(device, dtype): (lists, indices)}``: the positions of ``tensorlistlist[0]`` grouped by
    its tensors' device and dtype, in order of first appearance; ``lists`` holds, per input list,
    its entries at those positions (the same tensor objects, ``None`` kept), ``indices`` the
    positions when ``with_indices`` (else empty). The other lists may hold ``None`` or be
    empty; their entries are not checked against the first list's device and dtype.

    >>> import deltagrad as dg
    >>> from deltagrad.utils._foreach_utils import _group_tensors_by_device_and_dtype
    >>> groups = _group_tensors_by_device_and_dtype(
    ...     [[dg.zeros(1), dg.zeros(1, dtype=dg.float64), dg.ones(2)], [None, None, None]], True)
    >>> [(str(dtype), indices) for (_, dtype), (_, indices) in groups.items()]
    [('deltagrad.float32', [0, 2]), ('deltagrad.float64', [1])]
    """
    if not isinstance(tensorlistlist, (list, tuple)) or not all(
            isinstance(tensors, (list, tuple)) for tensors in tensorlistlist):
        raise TypeError("_group_tensors_by_device_and_dtype(): expected a list of lists of "
                        f"Tensors, got {type(tensorlistlist).__name__}")
    if not tensorlistlist or not tensorlistlist[0]:
        raise RuntimeError("_group_tensors_by_device_and_dtype(): expected a non-empty first "
                           "list of Tensors")
    positions: dict = {}
    for index, tensor in enumerate(tensorlistlist[0]):
        if not isinstance(tensor, Tensor):
            raise RuntimeError("Tensors of the first list of nested Tensor lists are supposed "
                               f"to be defined but the {index}-th Tensor is not.")
        positions.setdefault((tensor.device, tensor.dtype), []).append(index)
    for tensors in tensorlistlist[1:]:
        if len(tensors) not in (0, len(tensorlistlist[0])):
            raise RuntimeError("_group_tensors_by_device_and_dtype(): every list must be empty "
                               f"or as long as the first ({len(tensorlistlist[0])}), got "
                               f"{len(tensors)}")
        for index, tensor in enumerate(tensors):
            if tensor is not None and not isinstance(tensor, Tensor):
                raise TypeError("_group_tensors_by_device_and_dtype(): expected Tensors or "
                                f"None, got {type(tensor).__name__} at {index}")
    # (an empty list stays empty in every group, as in PyTorch)
    return {key: ([[tensors[i] for i in where] if tensors else [] for tensors in tensorlistlist],
                  list(where) if with_indices else [])
            for key, where in positions.items()}


def _device_has_foreach_support(device) -> bool:
    """PyTorch's rule: the CPU and the fused-kernel devices take the ``_foreach_*`` path."""
    return device.type in _get_foreach_kernels_supported_devices() + ["cpu"]


def _has_foreach_support(tensors: list, device) -> bool:
    """True when ``device`` has ``_foreach_*`` support and every entry is a plain Tensor or
    ``None`` (a Tensor subclass takes the per-tensor path, as in PyTorch)."""
    return _device_has_foreach_support(device) and all(
        tensor is None or type(tensor) is Tensor for tensor in tensors)
