"""PyTorch's ``torch.__future__``: the switches for how ``Module`` conversions (``to``,
``float``, ``double``, ...) treat parameters.

deltagrad's conversions do what PyTorch does with both switches off (its default): each
parameter keeps its identity and takes the converted values (``Module._apply``). Turning a
switch on asks for another behaviour, which deltagrad does not have: it raises rather than
being ignored.
"""

_SWITCHES = {"overwrite": False, "swap": False}


def _set(name: str, value: bool, what: str) -> None:
    if value:
        raise NotImplementedError(
            f"torch.__future__.set_{name}_module_params_on_conversion(True) is not supported in "
            f"deltagrad: its Module conversions always keep each parameter and replace its "
            f"values (PyTorch's behaviour with the switch off); {what} is not implemented")
    _SWITCHES[name] = False


def set_overwrite_module_params_on_conversion(value: bool) -> None:
    """Whether conversions assign new Parameter objects (only False is supported)."""
    _set("overwrite", bool(value), "assigning new Parameter objects")


def get_overwrite_module_params_on_conversion() -> bool:
    """False: conversions keep the parameter objects."""
    return _SWITCHES["overwrite"]


def set_swap_module_params_on_conversion(value: bool) -> None:
    """Whether conversions use ``swap_tensors`` (only False is supported)."""
    _set("swap", bool(value), "swapping tensors (torch.utils.swap_tensors)")


def get_swap_module_params_on_conversion() -> bool:
    """False: conversions replace the parameters' values."""
    return _SWITCHES["swap"]
