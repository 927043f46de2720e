"""PyTorch's ``torch.distributed.checkpoint.state_dict`` for one process: a model's state dict
read and written through ``StateDictOptions`` (accelerate's ``load_checkpoint_in_model`` uses it).

NOTE: with one process and no FSDP/DTensor sharding, PyTorch's model functions reduce to
``Module.state_dict`` / ``Module.load_state_dict``; that is what these do. The optimizer forms
(parameter ids rewritten to fully qualified names) are not supported: a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StateDictOptions", "get_model_state_dict", "get_optimizer_state_dict",
           "get_state_dict", "set_model_state_dict", "set_optimizer_state_dict",
           "set_state_dict"]


@dataclass
class StateDictOptions:
    """PyTorch's options of the state-dict functions (same fields and defaults)."""

    full_state_dict: bool = False
    cpu_offload: bool = False
    ignore_frozen_params: bool = False
    keep_submodule_prefixes: bool = True
    strict: bool = True
    broadcast_from_rank0: bool = False
    flatten_optimizer_state_dict: bool = False
    dsd_fqn_modifiers: str = "_fqn_modifiers"


def _check_submodules(name: str, submodules) -> None:
    if submodules is not None:
        raise NotImplementedError(f"torch.distributed.checkpoint.state_dict.{name}: submodules= "
                                  "is not supported in deltagrad")


def get_model_state_dict(model, *, submodules=None, options: StateDictOptions | None = None):
    """The model's state dict (one process: ``model.state_dict()``).

    Args:
        model: the Module.
        submodules: not supported (must be None).
        options: ``ignore_frozen_params`` drops parameters that do not require grad.

    Returns:
        dict: parameter/buffer name -> Tensor.
    """
    _check_submodules("get_model_state_dict", submodules)
    options = options or StateDictOptions()
    state = model.state_dict()
    if options.ignore_frozen_params:
        frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
        state = type(state)((k, v) for k, v in state.items() if k not in frozen)
    return state


def set_model_state_dict(model, model_state_dict, *, options: StateDictOptions | None = None):
    """Load ``model_state_dict`` into ``model`` (one process: ``model.load_state_dict``).

    Args:
        model: the Module.
        model_state_dict: name -> Tensor.
        options: ``strict`` as in ``load_state_dict``.

    Returns:
        The ``(missing_keys, unexpected_keys)`` named tuple of ``load_state_dict``.
    """
    options = options or StateDictOptions()
    return model.load_state_dict(model_state_dict, strict=options.strict)


def _optimizer_unsupported(name: str):
    def refuse(*args, **kwargs):
        raise NotImplementedError(
            f"torch.distributed.checkpoint.state_dict.{name} is not supported in deltagrad "
            "(optimizer state keyed by parameter names); use optimizer.state_dict() / "
            "load_state_dict()")
    refuse.__name__ = name
    refuse.__doc__ = f"Not supported in deltagrad: raises NotImplementedError ({name})."
    return refuse


get_optimizer_state_dict = _optimizer_unsupported("get_optimizer_state_dict")
set_optimizer_state_dict = _optimizer_unsupported("set_optimizer_state_dict")
get_state_dict = _optimizer_unsupported("get_state_dict")
set_state_dict = _optimizer_unsupported("set_state_dict")
