"""``torch.nn.modules.module``: ``Module`` and ``_IncompatibleKeys`` (load_state_dict's result)."""

from ..module import Module
from ..module_access import IncompatibleKeys as _IncompatibleKeys

__all__ = ["Module", "_IncompatibleKeys"]

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"  # (the state_dict key of get_extra_state's value)
