"""``nn.parallel``: DistributedDataParallel (a Module wrapper whose backward averages gradients
over processes), DataParallel and the functional ``data_parallel``."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator

import numpy as np

from .._engine.api.sparse import gradient_leaf
from .._engine.autograd import is_grad_enabled
from .._engine.tensor import Tensor
from .module import Module
from .shuffle_pool import DataParallel

__all__ = ["DataParallel", "DistributedDataParallel", "data_parallel", "gather",
           "parallel_apply", "replicate", "scatter"]

_DEFAULT_BUCKET_CAP_MB = 25  # PyTorch's


class DistributedDataParallel(Module):
    """Train ``module`` data-parallel: each process runs it on its own part of the batch, and
    ``backward`` leaves every process with the gradients averaged over all of them.

    As ``torch.nn.parallel.DistributedDataParallel`` on CPU modules. Construction broadcasts
    rank 0's parameters and buffers to every process; each ``forward`` broadcasts the buffers
    again (``broadcast_buffers``). When the last parameter's gradient of a backward is ready,
    the gradients are averaged in buckets of about ``bucket_cap_mb`` (row-sparse embedding
    gradients as their rows) by ``deltagrad.parallel.GradientReducer``; the averaging runs
    after backward, not overlapped with it. In a world of one process the wrapper does
    nothing but call ``module``.

    Every process must run forward and backward the same number of times. A parameter that
    gets no gradient leaves its reduction unfinished, which the next forward reports, unless
    ``find_unused_parameters`` (which walks the graph after each forward to find them).

    Args:
        module: the model, built the same way in every process.
        device_ids, output_device: PyTorch's GPU options: must be None.
        dim: ignored (there is one CPU device: nothing to scatter).
        broadcast_buffers: broadcast rank 0's buffers at every forward.
        init_sync: broadcast rank 0's parameters and buffers now.
        process_group: None (the default process group of ``deltagrad.distributed``).
        bucket_cap_mb: the size of one dense gradient message (default 25).
        find_unused_parameters: let parameters that the output does not depend on take part.
        check_reduction, gradient_as_bucket_view, static_graph: accepted and ignored (they
            change memory use or are deprecated in PyTorch, not results).

    Raises:
        ValueError: ``deltagrad.distributed.init_process_group`` has not been called, or GPU
            options were given.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False):
        super().__init__()
        # NOTE: an upward import, done here and not at module level: PyTorch's public path puts
        # DDP in nn, but it runs on the process group, which lives in the distributed layer
        # above nn (and that on deltagrad.parallel). Importing it when a DDP is built keeps
        # `import deltagrad.nn` free of both and the module-level import graph acyclic.
        from ..distributed.process_group import resolve_group

        group = resolve_group(process_group)
        if device_ids or output_device is not None:
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                f"GPU modules; deltagrad runs on the CPU (got device_ids {device_ids}, "
                f"output_device {output_device})")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a Module, got {type(module).__name__}")
        self.module = module
        self.process_group = group
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True  # False inside no_sync()
        megabytes = _DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        self._trained = [p for p in module.parameters() if p.requires_grad]
        self._reducer = None
        self._pending: set[int] = set()  # ids of parameters whose gradient has not come yet
        self._arrived = 0  # gradients that came in the current backward
        self._sync_backward = False  # whether the coming backward averages the gradients
        if group.world_size == 1:
            return
        if init_sync:
            group.broadcast_tensors([*module.parameters(), *module.buffers()])
        self._reducer = group.gradient_reducer(self._trained,
                                               bucket_bytes=max(1, int(megabytes * 2**20)))
        for param in self._trained:
            param.register_hook(self._hook_for(param))

    def forward(self, *inputs, **kwargs):
        """``module(*inputs, **kwargs)``, prepared for a backward that averages gradients."""
        if self._reducer is None:
            return self.module(*inputs, **kwargs)
        if self._sync_backward and self._arrived:
            missing = [name for name, p in self.module.named_parameters()
                       if id(p) in self._pending]
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a "
                "new one: parameters that were not used in producing the loss got no gradient "
                f"({', '.join(missing)}). Pass find_unused_parameters=True to "
                "DistributedDataParallel, or use every parameter in every process")
        buffers = list(self.module.buffers())
        if self.broadcast_buffers and buffers:
            self.process_group.broadcast_tensors(buffers)
        output = self.module(*inputs, **kwargs)
        self._sync_backward = is_grad_enabled() and self.require_backward_grad_sync
        if self._sync_backward:
            self._pending, self._arrived = {id(p) for p in self._trained}, 0
            if self.find_unused_parameters:
                self._pending &= _leaves_reached(output)
        return output

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within it, forward/backward pairs accumulate gradients locally, unaveraged; the
        first backward after it averages everything accumulated."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _hook_for(self, param: Tensor):
        def hook(grad):
            if not self._sync_backward or id(param) not in self._pending:
                return None
            self._pending.discard(id(param))
            self._arrived += 1
            if self._pending:
                return None
            return self._average(param, grad)

        return hook

    def _average(self, last: Tensor, grad: Tensor):
        """In the hook of the backward's last parameter: average every gradient.

        The engine calls a leaf's hooks just before it adds the gradient into ``.grad``, so at
        this point every other parameter's ``.grad`` is complete and this one's is not. Its
        sum is formed here, everything is averaged, and the hook returns this parameter's
        average for the engine to store into its (emptied) ``.grad``.
        """
        self._sync_backward = False
        g = grad._data  # the storage: an ndarray, or a RowSparseGrad for a sparse embedding
        existing = last.grad
        if existing is None:  # copied: the engine may hand one array to several leaves
            total = np.array(g) if isinstance(g, np.ndarray) else g
        else:
            total = existing._data + g
        last.grad = gradient_leaf(total)
        self._reducer.reduce()
        averaged, last.grad = last.grad, None
        return averaged


def _leaves_reached(output) -> set[int]:
    """ids of the leaf tensors that ``output`` (Tensors in any nesting) depends on."""
    stack = [t for t in _tensors_in(output) if t.requires_grad]
    seen: set[int] = set()
    leaves: set[int] = set()
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        node = tensor.grad_fn
        if node is None:
            leaves.add(id(tensor))
        else:
            stack.extend(t for t in node.inputs if isinstance(t, Tensor) and t.requires_grad)
    return leaves


def _tensors_in(output) -> list[Tensor]:
    if isinstance(output, Tensor):
        return [output]
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in _tensors_in(item)]
    return []


def data_parallel(module, inputs, device_ids=None, output_device=None, dim: int = 0,
                  module_kwargs=None):
    """PyTorch's functional ``nn.parallel.data_parallel``: it replicates ``module`` over the
    accelerator devices, so it needs one; without any (PyTorch on a CPU-only machine, and
    deltagrad always) it raises RuntimeError, as PyTorch does there. ``nn.DataParallel`` runs
    the module on the CPU instead."""
    raise RuntimeError("device type could not be determined: data_parallel needs an accelerator "
                       "device and deltagrad runs on the CPU only (nn.DataParallel(module) runs "
                       "the module as it is)")


def scatter(inputs, target_gpus, dim: int = 0):
    """``nn.parallel.scatter_gather.scatter``: splits tensors over accelerator devices, which
    deltagrad does not have; non-tensor leaves are repeated once per device, as PyTorch does.

    Raises:
        RuntimeError: ``inputs`` holds a tensor (PyTorch without an accelerator fails too).
    """
    def spread(value):
        if isinstance(value, Tensor):
            raise RuntimeError("nn.parallel.scatter splits tensors over accelerator devices; "
                               "deltagrad runs on the CPU only")
        if isinstance(value, tuple) and value:
            return list(zip(*map(spread, value)))
        if isinstance(value, list) and value:
            return [list(items) for items in zip(*map(spread, value))]
        if isinstance(value, dict) and value:
            return [type(value)(zip(value, values))
                    for values in zip(*map(spread, value.values()))]
        return [value for _ in target_gpus]

    return spread(inputs)


def scatter_kwargs(inputs, kwargs, target_gpus, dim: int = 0) -> tuple:
    """``nn.parallel.scatter_gather.scatter_kwargs``: ``scatter`` of the positional and the
    keyword arguments, the shorter list padded with ``()`` / ``{}``; tensors raise (see
    ``scatter``)."""
    spread_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    spread_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    missing = len(spread_kwargs) - len(spread_inputs)
    spread_inputs = list(spread_inputs) + [() for _ in range(missing)]
    spread_kwargs = list(spread_kwargs) + [{} for _ in range(-missing)]
    return tuple(spread_inputs), tuple(spread_kwargs)


def gather(outputs, target_device, dim: int = 0):
    """``nn.parallel.scatter_gather.gather``: collects tensors from accelerator devices.

    Raises:
        RuntimeError: always; deltagrad has no accelerator devices to gather from.
    """
    raise RuntimeError("nn.parallel.gather collects tensors from accelerator devices; "
                       "deltagrad runs on the CPU only")


def parallel_apply(modules, inputs, kwargs_tup=None, devices=None):
    """``nn.parallel.parallel_apply``: runs ``modules[i](*inputs[i], **kwargs_tup[i])`` on
    accelerator device ``devices[i]``, one thread each. deltagrad has no accelerator, so it
    raises where PyTorch on a CPU-only machine raises (the length checks first, as PyTorch).

    Raises:
        AssertionError: the lengths of ``modules`` and ``inputs`` (``kwargs_tup``,
            ``devices``) differ, or there are no modules (no accelerator to run them on).
        RuntimeError: otherwise (no accelerator device to run a module on).
    """
    for name, values in (("inputs", inputs), ("kwargs_tup", kwargs_tup), ("devices", devices)):
        if values is not None and len(modules) != len(values):
            raise AssertionError(f"The number of modules {len(modules)} is not equal to "
                                 f"the number of {name} {len(values)}")
    if not modules:
        raise AssertionError("No available accelerator found.")
    raise RuntimeError("Cannot access accelerator device when none is available. "
                       "(nn.parallel.parallel_apply: deltagrad runs on the CPU only)")


def _copy_tree(module):
    """A replica of a module tree holding no tensors: each module copied shallowly (its own
    ``_modules`` table, the children replaced by their replicas)."""
    replica = module._replicate_for_data_parallel()
    for name, child in list(module._modules.items()):
        replica._modules[name] = None if child is None else _copy_tree(child)
    return replica


def replicate(network, devices, detach: bool = False) -> list:
    """``nn.parallel.replicate``: copies of ``network`` on each accelerator device in
    ``devices``. As PyTorch on a CPU-only machine: no devices give ``[]``; a module tree
    without parameters or buffers gives one shallow replica per device id; tensors cannot be
    broadcast to a device.

    Raises:
        ValueError: a device is the CPU.
        AssertionError: ``network`` has parameters or buffers (no device to copy them to).
    """
    if not devices:
        return []
    for device in devices:
        if str(device).startswith("cpu"):
            raise ValueError(f"Expected a non cpu device, but got: {device}")
    if any(True for _ in network.parameters()) or any(True for _ in network.buffers()):
        raise AssertionError("Broadcast function not implemented for CPU tensors "
                             "(nn.parallel.replicate: deltagrad has no accelerator devices)")
    return [_copy_tree(network) for _ in devices]


def get_a_var(obj):
    """The first tensor found in ``obj`` (tensors, lists, tuples and dict items searched in
    order), or None: ``nn.parallel.parallel_apply.get_a_var``."""
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        items = obj
    elif isinstance(obj, dict):
        items = obj.items()
    else:
        return None
    for item in items:
        found = get_a_var(item)
        if isinstance(found, Tensor):
            return found
    return None


def _comm(name: str):
    def op(*args, **kwargs):
        raise RuntimeError(f"nn.parallel.comm.{name} moves tensors between accelerator "
                           "devices; deltagrad runs on the CPU only")

    op.__name__ = op.__qualname__ = name
    return op


def _submodule(name: str, doc: str, **members) -> types.ModuleType:
    """Registers ``<this module>.<name>`` in sys.modules holding ``members``."""
    module = types.ModuleType(f"{__name__}.{name}", doc)
    module.__dict__.update(members)
    sys.modules[module.__name__] = module
    return module


# PyTorch's nn.parallel is a package: Lightning imports DistributedDataParallel from
# torch.nn.parallel.distributed. An empty __path__ lets the import system treat this module as
# that package; the submodule itself is the sys.modules entry made here.
__path__: list[str] = []
distributed = _submodule("distributed", "``torch.nn.parallel.distributed``.",
                         DistributedDataParallel=DistributedDataParallel)
# captum imports scatter from here (it only calls it with GPU device ids).
scatter_gather = _submodule("scatter_gather", "``torch.nn.parallel.scatter_gather``.",
                            scatter=scatter, gather=gather, scatter_kwargs=scatter_kwargs)
# PyTorch's other submodules (the package's attributes of the same names stay the functions,
# as in PyTorch; `import torch.nn.parallel.replicate` still finds the module).
_submodule("data_parallel", "``torch.nn.parallel.data_parallel``.", DataParallel=DataParallel,
           data_parallel=data_parallel, replicate=replicate, parallel_apply=parallel_apply,
           scatter=scatter, gather=gather)
_submodule("parallel_apply", "``torch.nn.parallel.parallel_apply``.",
           parallel_apply=parallel_apply, get_a_var=get_a_var)
_submodule("replicate", "``torch.nn.parallel.replicate``.", replicate=replicate)
comm = _submodule("comm", "``torch.nn.parallel.comm``: collectives between accelerator "
                  "devices (each raises: deltagrad runs on the CPU only).",
                  **{name: _comm(name) for name in ("broadcast", "broadcast_coalesced",
                                                    "reduce_add", "reduce_add_coalesced",
                                                    "scatter", "gather")})
