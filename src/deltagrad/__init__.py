"""deltagrad: reverse-mode automatic differentiation and neural networks on NumPy.

The public surface follows PyTorch's names and semantics; see docs/ for the design. The core
(Tensor and the functions on tensors) comes from the engine; the layers above it are
re-exported as subpackages.
"""

import math
import sys

from . import (
    __config__,  # noqa: F401 - torch.__config__'s import path
    _numpy_names,
    accelerator,  # noqa: F401 - torch.accelerator's import path
    amp,
    autograd,
    backends,
    compiler,  # noqa: F401 - torch.compiler's import path
    cpu,
    cuda,
    fft,  # noqa: F401 - torch.fft's import path
    func,
    hub,  # noqa: F401 - torch.hub's import path
    jit,
    linalg,
    monitor,  # noqa: F401 - torch.monitor's import path
    nn,
    onnx,
    optim,
    overrides,  # noqa: F401 - torch.overrides's import path
    profiler,  # noqa: F401 - torch.profiler's import path
    quasirandom,
    random,
    signal,
    sparse,  # torch.sparse (the sparse tensors: _engine/api/sparse_coo.py)
    special,
    testing,
    types,  # noqa: F401 - torch.types's import path
    utils,
    version,
    xpu,  # noqa: F401 - torch.xpu's import path
)
from ._backward_data import (  # noqa: F401 - custom Functions' softmax backward kernels
    _log_softmax_backward_data,
    _softmax_backward_data,
)
from ._checks import (  # noqa: F401 - torch._check and its family (not in __all__, as there)
    _check,
    _check_index,
    _check_not_implemented,
    _check_tensor_all,
    _check_tensor_all_with,
    _check_type,
    _check_value,
    _check_with,
)
from ._engine import *  # noqa: F403 - the engine's __all__ is the core of the surface
from ._engine import __all__ as _engine_all
from ._engine.api import grad_dtype as _grad_dtype  # noqa: F401 - Tensor.grad_dtype
from ._engine.api.hashing import hash_tensor
from ._engine.api.sparse_compressed import *  # noqa: F403 - sparse_csc_tensor, ... (BN3)
from ._engine.api.sparse_compressed import __all__ as _compressed_all
from ._engine.api.sparse_coo import *  # noqa: F403 - sparse_coo_tensor, spmm, smm
from ._engine.api.sparse_coo import __all__ as _sparse_all
from ._engine.api.sparse_csr import *  # noqa: F403 - sparse_csr, sparse_csr_tensor
from ._engine.api.sparse_csr import __all__ as _csr_all
from ._engine.api.sparse_hspmm import hspmm, saddmm, sspaddmm
from ._lobpcg import lobpcg
from ._toplevel import *  # noqa: F403 - torch.sym_*, typename, cond, while_loop, ...
from ._toplevel import __all__ as _toplevel_all
from .amp import STATE_QUERIES as _amp_queries
from .amp import (  # noqa: F401 - PyTorch's torch-level autocast state queries
    GradScaler,  # noqa: F401 - torch.GradScaler is torch.amp.GradScaler
    autocast,
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_cpu_dtype,
    set_autocast_cpu_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
    set_autocast_gpu_dtype,
)
from .autograd import (
    CapturedStep,
    Function,
    GradcheckError,
    GraphLeakWarning,
    GraphStats,
    capture_step,
    check_graph,
    empty_cache,
    gradcheck,
    gradgradcheck,
    graph_stats,
    inference_mode,
    is_inference_mode_enabled,
    set_leak_check,
    trace,
    viz,
)
from .cuda import OutOfMemoryError  # noqa: F401 - torch.OutOfMemoryError is the CUDA one
from .func import vmap
from .jit import ScriptModule  # noqa: F401 - torch.ScriptModule (Lightning names it)

# PyTorch's top-level forms of nn functions (torch.selu, torch.embedding(weight, indices), ...):
# the engine cannot import nn, so they come from there (ATen signatures where PyTorch's differ).
from .nn import _aten_entries, _torch_forms, _torch_inplace_forms
from .nn._aten_entries import *  # noqa: F403 - torch.convolution, batch_norm_*, ...
from .nn._aten_rnn import gru, lstm, rnn_relu, rnn_tanh
from .nn._torch_forms import *  # noqa: F403 - its __all__
from .nn._torch_inplace_forms import *  # noqa: F403 - its __all__
from .nn.conv2d import conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from .nn.norm2d import _torch_instance_norm as instance_norm
from .nn.pooling2d import max_pool2d, max_pool3d
from .serialization import CheckpointError, load, save
from .torch_alias import install as install_as_torch  # noqa: F401 - `import torch` = deltagrad

# torch.utils.hooks and torch.utils._pytree are attributes after `import torch`, as here.
from .utils import _pytree as _utils_pytree  # noqa: F401
from .utils import hooks as _utils_hooks  # noqa: F401
from .version import __version__  # noqa: F401 - PyTorch's torch.__version__

# PyTorch's top-level convolutions are builtins, which do not bind as methods (kornia keeps
# ``conv = torch.conv3d`` on a class): a staticmethod does not bind either.
conv3d = staticmethod(conv3d)


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, disable: bool = False):
    """PyTorch's ``torch.compile``: deltagrad has no compiler, so everything runs eagerly. A
    module comes back wrapped as PyTorch wraps it (``_dynamo.OptimizedModule``: the same
    parameters, named ``_orig_mod.*`` in ``state_dict()``), a function unchanged; without a
    model it is a decorator factory; ``disable=True`` returns the model itself.
    ``capture_step`` is deltagrad's way to replay a fixed-shape training step fast."""
    from .compiler import compile as _compile

    return _compile(model, disable=disable)


def __getattr__(name: str):
    # `deltagrad.distributed` (and the MPI layer under it), `deltagrad.distributions` and
    # `deltagrad.multiprocessing` (Python's, re-exported) load on first use, so that `import
    # deltagrad` stays light; `import deltagrad.distributed as dist` works as usual. So do the
    # stand-ins of PyTorch internals libraries reach for (`torch.library`, `torch.ops`,
    # `torch.futures`, `torch._dynamo`).
    if name in ("distributed", "distributions", "multiprocessing", "library", "ops", "futures",
                "_dynamo", "fx", "_C", "_subclasses", "_tensor_str", "mps", "export", "ao",
                "quantization", "masked", "__future__", "nested", "functional", "_custom_ops",
                "_vmap_internals", "_higher_order_ops", "return_types", "_utils", "storage",
                "_tensor"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name in ("_standard_gamma", "_sample_dirichlet"):  # (the distributions' samplers)
        from .distributions import gamma

        return getattr(gamma, name)
    if name in ("fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine",
                "_fake_quantize_learnable_per_tensor_affine",
                "_fake_quantize_learnable_per_channel_affine", "quantize_per_tensor",
                "quantize_per_channel", "quantize_per_tensor_dynamic"):
        from .ao.quantization import fake_quantize  # (quantization-aware training's ops)

        return getattr(fake_quantize, name)
    if name in ("from_dlpack", "to_dlpack"):  # torch's names for torch.utils.dlpack's
        from .utils import dlpack

        return getattr(dlpack, name)
    if name == "Future":  # torch.Future, the base of torch.futures.Future
        from .futures import Future

        return Future
    raise AttributeError(f"module 'deltagrad' has no attribute {name!r}")


def __dir__() -> list:
    # torch.from_dlpack / to_dlpack load on first use but are in dir(torch), which
    # array_api_compat builds its torch namespace from (its test_all missed from_dlpack); the
    # submodules that load on first use stay out, so that code walking dir() imports none
    return sorted({*globals(), "from_dlpack", "to_dlpack"})


# PyTorch's constants (torch.pi, torch.e, torch.inf, torch.nan, torch.newaxis).
e, pi, inf, nan, newaxis = math.e, math.pi, math.inf, math.nan, None

__all__ = [
    *_engine_all, *_sparse_all, *_csr_all, *_compressed_all, "sparse", "hspmm", "saddmm",
    "sspaddmm", "hash_tensor", "lobpcg",
    *_torch_forms.__all__,
    *_torch_inplace_forms.__all__, *_aten_entries.__all__, "gru", "lstm", "rnn_relu",
    "rnn_tanh", "amp", "autocast", *_amp_queries,
    "compile", "e", "func", "inf", "nan", "newaxis", "onnx", "pi", "special",
    "CapturedStep", "CheckpointError", "Function", "GradcheckError", "GraphLeakWarning",
    "GraphStats", "autograd", "backends", "capture_step", "cuda", "inference_mode",
    "is_inference_mode_enabled", "check_graph", "empty_cache", "gradcheck",
    "gradgradcheck", "graph_stats", "linalg", "load", "nn", "optim", "save", "set_leak_check",
    "trace", "utils", "viz", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "instance_norm", "max_pool2d", "max_pool3d",
    "cpu", "jit", "random", "testing", "version", "vmap", "quasirandom", "signal",
    *_toplevel_all, "GradScaler", "OutOfMemoryError", "return_types",  # noqa: F405
]

# PyTorch's torch.sparse, torch.fft, torch.special, torch.autograd and torch.nn.functional import
# torch itself, and old programs reach it through them: ``torch.sparse.torch.eye(n)`` is a common
# one-hot idiom (capsule networks, one-hot losses).
for _module in (sparse, fft, special, autograd, nn.functional):
    _module.torch = sys.modules[__name__]

# NumPy's axis= / keepdims= where PyTorch's argument parser takes them (_numpy_names.NAMES)
_numpy_names.install({"torch": sys.modules[__name__], "linalg": linalg, "special": special,
                      "fft": fft, "Tensor": Tensor})  # noqa: F405
