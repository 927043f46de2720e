"""Devices: deltagrad computes on the CPU; ``device`` names it, and naming any other device
for a tensor raises one clear error."""

from __future__ import annotations

from .meta import MetaArray, enter_device, exit_device, meta_recover  # noqa: F401 - tensor.py's

__all__ = ["device"]

# The device types PyTorch knows (a device of any of them can be named; only "cpu" is usable).
# (in PyTorch's order: its error message lists them so)
_KNOWN = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
          "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
_type_of = type  # (the constructor's first argument is named `type`, as in PyTorch)


class DeviceUnavailableError(RuntimeError, AssertionError):
    """A tensor made on or moved to a device other than the CPU: PyTorch without CUDA raises
    AssertionError ("Torch not compiled with CUDA enabled") for cuda and xpu and RuntimeError
    for the others, so this is both (``except`` of either catches it)."""


class device:  # noqa: N801 - PyTorch's name
    """A device, PyTorch's ``torch.device``: ``device("cpu")``, ``device("cpu", 0)``,
    ``device("cpu:0")``.

    Devices other than the CPU can be named (``device("cuda")``, so that programs choosing one
    at start-up run), but making or moving a tensor there raises ``RuntimeError``.

    Args:
        type: ``"cpu"``, ``"cuda"``, ... optionally with ``":index"``; or a device; or an int
            (a CUDA device index, as in PyTorch).
        index: the device's index.

    >>> import deltagrad as dg
    >>> dg.device("cpu"), str(dg.device("cpu", 0)), dg.ones(1).device == dg.device("cpu")
    (device(type='cpu'), 'cpu:0', True)
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): cannot give an index with a device")
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type  # PyTorch: an int names a CUDA device
        elif isinstance(type, str):
            name, colon, number = type.partition(":")
            if colon:
                if index is not None:
                    raise RuntimeError(f"device(): type {type!r} already has an index")
                if not number.isdigit():
                    raise RuntimeError(f"Invalid device string: {type!r}")
                index = int(number)
            type = name
            if type not in _KNOWN:
                raise RuntimeError(f"Expected one of {', '.join(_KNOWN)} device type at start "
                                   f"of device string: {type}")
        else:
            raise TypeError(f"device(): expected a string, int or device, got "
                            f"{_type_of(type).__name__}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = type
        self.index = index

    def __eq__(self, other) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{index})"

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self) -> device:
        # PyTorch's `with torch.device(d):` makes d the factories' default device: the CPU or
        # the meta device (transformers builds models under `torch.device("meta")` in
        # from_pretrained: meta.py); any other device raises, as deltagrad has no such tensors.
        if self.type != "meta":
            check_device(self, "with torch.device(...)")
        enter_device(self.type == "meta")
        return self

    def __exit__(self, *exc_info) -> None:
        exit_device()


CPU = device("cpu")


def check_device(value, where: str = "") -> None:
    """Raise unless ``value`` (None, a string, an int or a device) names the CPU.

    Args:
        value: the ``device=`` argument a function received.
        where: the function's name, for the message.
    """
    if value is None:
        return
    if type(value) is device:
        kind = value.type
    elif isinstance(value, str) and (value == "cpu" or value.startswith("cpu:")):
        return
    else:
        value = device(value)
        kind = value.type
    if kind != "cpu":
        prefix = f"{where}: " if where else ""
        message = (f"{prefix}device {str(value)!r} is not available: deltagrad runs on the CPU "
                   "only (deltagrad.cuda.is_available() is False); use device='cpu' or leave "
                   "device out")
        if kind == "cuda":  # (CPU-only PyTorch's words first, as test suites match them)
            message = f"Torch not compiled with CUDA enabled ({message})"
        raise DeviceUnavailableError(message)
