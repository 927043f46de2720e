"""``torch.distributed.rpc``: deltagrad has no RPC framework. ``is_available()`` answers False
(so libraries take their non-RPC path), RPC is never initialized (``api._require_initialized``
functions raise PyTorch's RuntimeError), and starting or using it raises NotImplementedError.
"""

from __future__ import annotations

from .._unsupported import unsupported_class, unsupported_function
from . import api
from .api import _require_initialized

__all__ = ["RRef", "TensorPipeRpcBackendOptions", "WorkerInfo", "api", "get_worker_info",
           "init_rpc", "is_available", "remote", "rpc_async", "rpc_sync", "shutdown"]

_MODULE = "distributed.rpc"


def is_available() -> bool:
    """False: deltagrad has no RPC agent (PyTorch's Linux builds answer True)."""
    return False


init_rpc = unsupported_function(_MODULE, "init_rpc")
rpc_sync = _require_initialized(unsupported_function(_MODULE, "rpc_sync"))
rpc_async = _require_initialized(unsupported_function(_MODULE, "rpc_async"))
remote = _require_initialized(unsupported_function(_MODULE, "remote"))
shutdown = _require_initialized(unsupported_function(_MODULE, "shutdown"))
get_worker_info = _require_initialized(unsupported_function(_MODULE, "get_worker_info"))
RRef = unsupported_class(_MODULE, "RRef")
WorkerInfo = unsupported_class(_MODULE, "WorkerInfo")
TensorPipeRpcBackendOptions = unsupported_class(_MODULE, "TensorPipeRpcBackendOptions")
