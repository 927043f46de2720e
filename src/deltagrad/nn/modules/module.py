"""``torch.nn.modules.module``: ``Module`` and ``_IncompatibleKeys`` (load_state_dict's result)."""

from ..hooks import (
    register_module_buffer_registration_hook,
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
    register_module_module_registration_hook,
    register_module_parameter_registration_hook,
)
from ..module import Module
from ..module_access import IncompatibleKeys as _IncompatibleKeys

__all__ = ["Module", "_IncompatibleKeys", "register_module_buffer_registration_hook",
           "register_module_forward_hook", "register_module_forward_pre_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook",
           "register_module_module_registration_hook",
           "register_module_parameter_registration_hook"]

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"  # (the state_dict key of get_extra_state's value)
