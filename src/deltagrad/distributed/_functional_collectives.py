"""``torch.distributed._functional_collectives``: the traceable collectives, not supported in
deltagrad (each raises NotImplementedError naming itself; the eager collectives of
``deltagrad.distributed`` are what deltagrad offers)."""

from __future__ import annotations

from ._unsupported import unsupported_function

__all__ = ["all_gather_tensor", "all_reduce", "all_to_all_single", "all_to_all_single_autograd",
           "reduce_scatter_tensor", "wait_tensor"]

_MODULE = "distributed._functional_collectives"
wait_tensor = unsupported_function(_MODULE, "wait_tensor")
all_reduce = unsupported_function(_MODULE, "all_reduce")
all_gather_tensor = unsupported_function(_MODULE, "all_gather_tensor")
reduce_scatter_tensor = unsupported_function(_MODULE, "reduce_scatter_tensor")
all_to_all_single = unsupported_function(_MODULE, "all_to_all_single")
all_to_all_single_autograd = unsupported_function(_MODULE, "all_to_all_single_autograd")
