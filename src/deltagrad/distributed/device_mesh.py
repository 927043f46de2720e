"""``torch.distributed.device_mesh``: not supported in deltagrad (DeviceMesh raises when made)."""

from __future__ import annotations

from ._unsupported import unsupported_class, unsupported_function

__all__ = ["DeviceMesh", "init_device_mesh"]

DeviceMesh = unsupported_class("distributed.device_mesh", "DeviceMesh")
init_device_mesh = unsupported_function("distributed.device_mesh", "init_device_mesh")
