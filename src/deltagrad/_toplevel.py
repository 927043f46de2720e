"""PyTorch's top-level functions that sit outside the engine's families: ``typename``,
``set_default_tensor_type``, ``gradient`` (finite differences, written with tensor ops so
that autograd flows through them) and the ``sym_*`` helpers of symbolic shapes (deltagrad traces
nothing, so every size is a concrete number and they compute on it)."""

from __future__ import annotations

import builtins
import math
import numbers

from . import _engine as dg
from ._engine import dtypes
from ._engine.api._common import NotATensorError
from ._engine.api.conversion import TYPE_NAMES
from ._engine.errors import warn_once

__all__ = ["AcceleratorError", "cond", "eig", "embedding_renorm_", "empty_permuted", "fork",
           "init_num_threads", "is_distributed", "wait",
           "get_deterministic_debug_mode", "get_device_module", "gradient", "has_lapack",
           "has_mkl", "has_openmp", "has_spectral", "is_storage", "lstsq", "matrix_rank",
           "norm_except_dim", "set_default_tensor_type", "set_deterministic_debug_mode",
           "solve", "sym_constrain_range", "sym_constrain_range_for_size", "sym_float",
           "sym_fresh_size", "sym_int", "sym_ite", "sym_max", "sym_min", "sym_not", "sym_sqrt",
           "sym_sum", "symeig", "typename", "while_loop", "compiled_with_cxx11_abi",
           "is_vulkan_available"]


def typename(obj) -> str:
    """PyTorch's name for ``obj``'s type: a tensor's type name (``'torch.FloatTensor'``, as
    ``x.type()``), else the dotted name of a class or of an object's class (builtins unqualified).

    >>> import deltagrad as dg
    >>> typename(dg.zeros(2)), typename(3)
    ('torch.FloatTensor', 'int')
    """
    if isinstance(obj, dg.Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    qualname = (obj.__qualname__ if isinstance(obj, type) else type(obj).__qualname__)
    if module in ("", "builtins"):
        return qualname
    if module == "deltagrad" or module.startswith("deltagrad."):  # (the alias's name, as dtypes
        module = dtypes.PREFIX[0] + module[len("deltagrad"):]     # print it: torch.nn....)
    return f"{module}.{qualname}"


_DEFAULT_TYPES = {f"{prefix}.{name}": dtype for dtype, name in TYPE_NAMES.items()
                  for prefix in ("torch", "deltagrad")}


def set_default_tensor_type(t) -> None:
    """PyTorch's deprecated ``set_default_tensor_type``: set the default floating dtype from a
    tensor type (``deltagrad.DoubleTensor``) or its name (``'torch.DoubleTensor'``).

    Only floating types are accepted (``TypeError`` otherwise, as PyTorch); a dtype object is
    not a tensor type (``TypeError``; use ``set_default_dtype``).
    """
    warn_once("set_default_tensor_type", "torch.set_default_tensor_type() is deprecated as of "
              "PyTorch 2.1, please use torch.set_default_dtype() and torch.set_default_device() "
              "as alternatives.")  # (once per process, as PyTorch's)
    if isinstance(t, str):
        if t.startswith(("torch.cuda.", "deltagrad.cuda.")):
            dg.device("cuda")  # raises: deltagrad runs on the CPU only
            raise RuntimeError(f"set_default_tensor_type: {t} needs CUDA")
        if t not in _DEFAULT_TYPES:
            raise TypeError(f"invalid type: {t!r}")
        numpy_dtype = _DEFAULT_TYPES[t]
    elif isinstance(t, type) and isinstance(getattr(t, "dtype", None), dg.dtype):
        numpy_dtype = dg.dtypes.to_numpy(t.dtype)
    else:
        raise TypeError("invalid type object: only floating-point types are supported as the "
                        "default type")
    if numpy_dtype.kind != "f":
        raise TypeError("only floating-point types are supported as the default type")
    dg.set_default_dtype(numpy_dtype)


# ----------------------------------------------------------------------------------------------
# gradient.


def gradient(input, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Estimate the derivative of ``input`` along each of ``dim`` by finite differences, as
    PyTorch's (and NumPy's) ``gradient``: second-order central differences inside, first- or
    second-order (``edge_order``) one-sided differences at the edges. Differentiable.

    Args:
        input: the sampled values (integers are taken as the default floating dtype).
        spacing: the distance between samples: a number (every dim), a list of numbers (one
            per dim), or a list of 1-d tensors (the coordinates of the samples along each dim).
        dim: an int or a list of ints; ``None`` is every dim.
        edge_order: 1 or 2.

    Returns:
        A tuple with one tensor of ``input``'s shape per dim.

    >>> import deltagrad as dg
    >>> gradient(dg.tensor([1.0, 4.0, 9.0, 16.0]))
    (tensor([3., 4., 6., 7.]),)
    """
    if not isinstance(input, dg.Tensor):  # PyTorch's TypeError, before anything else
        raise NotATensorError(f"gradient(): argument 'input' (position 1) must be Tensor, "
                                 f"not {type(input).__name__}")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if str(getattr(input, "dtype", "")).endswith("uint8"):  # (PyTorch refuses it)
        raise RuntimeError("torch.gradient does not support uint8 input.")
    ndim = input.ndim
    if dim is None:
        dims = tuple(range(ndim))
    elif isinstance(dim, numbers.Integral):
        dims = (dim,)
    else:
        dims = tuple(dim)
    dims = tuple(d + ndim if -ndim <= d < 0 else d for d in dims)
    for d in dims:
        if not 0 <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                             f"{ndim - 1}], but got {d})")
    for k, d in enumerate(dims):
        if d in dims[:k]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    spacings = _spacings(spacing, dims, dim is None, ndim)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    if not (input.dtype.is_floating_point or input.dtype.is_complex) and input.dtype != dg.bool:
        input = input.to(dg.get_default_dtype())
    return tuple(_along(input, d, h, edge_order) for d, h in zip(dims, spacings))


def _spacings(spacing, dims: tuple, all_dims: bool, ndim: int) -> list:
    if spacing is None:  # PyTorch's spacing=None is the default unit spacing
        spacing = 1
    if isinstance(spacing, dg.Tensor) and spacing.ndim == 0:
        spacing = spacing.item()
    if isinstance(spacing, numbers.Number):
        return [spacing] * len(dims)
    if not isinstance(spacing, (list, tuple)):
        raise TypeError(f"gradient(): spacing must be a number or a list or tuple of numbers "
                        f"or 1-d tensors, not {type(spacing).__name__}")
    if len(spacing) != len(dims):
        given = f"'self.dim() = {ndim}', since dim argument was not given" if all_dims \
            else f"dim ({len(dims)})"
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a "
                           f"list of length equal to {given}, but got a list of length "
                           f"{len(spacing)}")
    return list(spacing)


def _along(x, d: int, h, edge_order: int):
    n = x.shape[d]

    def part(start: int, length: int):
        return x.narrow(d, start, length)

    if not isinstance(h, dg.Tensor):  # evenly spaced samples
        inner = (part(2, n - 2) - part(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (part(1, 1) - part(0, 1)) / h
            last = (part(n - 1, 1) - part(n - 2, 1)) / h
        else:
            first = (-1.5 * part(0, 1) + 2 * part(1, 1) - 0.5 * part(2, 1)) / h
            last = (0.5 * part(n - 3, 1) - 2 * part(n - 2, 1) + 1.5 * part(n - 1, 1)) / h
        return dg.cat([first, inner, last], dim=d)
    if h.ndim != 1 or h.shape[0] != n:
        raise RuntimeError(f"torch.gradient expected each coordinate tensor to be 1-d with as "
                           f"many elements as dim {d} has ({n}), got shape {tuple(h.shape)}")
    if not h.dtype.is_floating_point:
        h = h.to(x.dtype)
    shape = [1] * x.ndim

    def along_d(coefficient):  # a 1-d coefficient broadcast along dim d
        shape[d] = coefficient.shape[0]
        return coefficient.reshape(shape)

    dx = h[1:] - h[:-1]
    left, right = dx[:-1], dx[1:]  # the steps before and after each inner sample
    # Second-order differences for uneven steps (the Lagrange polynomial through 3 samples).
    inner = (along_d(-right / (left * (left + right))) * part(0, n - 2)
             + along_d((right - left) / (left * right)) * part(1, n - 2)
             + along_d(left / (right * (left + right))) * part(2, n - 2))
    if edge_order == 1:
        first = (part(1, 1) - part(0, 1)) / along_d(dx[:1])
        last = (part(n - 1, 1) - part(n - 2, 1)) / along_d(dx[-1:])
    else:
        a, b = dx[:1], dx[1:2]
        first = (along_d(-(2 * a + b) / (a * (a + b))) * part(0, 1)
                 + along_d((a + b) / (a * b)) * part(1, 1)
                 + along_d(-a / (b * (a + b))) * part(2, 1))
        a, b = dx[-2:-1], dx[-1:]
        last = (along_d(b / (a * (a + b))) * part(n - 3, 1)
                + along_d(-(a + b) / (a * b)) * part(n - 2, 1)
                + along_d((2 * b + a) / (b * (a + b))) * part(n - 1, 1))
    return dg.cat([first, inner, last], dim=d)


# The sym_* helpers: PyTorch's versions dispatch on SymInt / SymFloat while tracing and fall
# back to Python's arithmetic on plain numbers, which is the only case deltagrad meets.
_SYM_NUMBERS = (numbers.Integral, numbers.Real)


def sym_int(a):
    """``int(a)``, truncating toward zero (``torch.sym_int``)."""
    return int(a)


def sym_float(a):
    """``float(a)`` (``torch.sym_float``)."""
    return float(a)


def sym_not(a):
    """``not a`` (``torch.sym_not``): a bool (a one-element tensor's truth negated)."""
    return not a


def sym_ite(b, t, f):
    """``t if b else f`` (``torch.sym_ite``): ``b`` a bool, ``t`` and ``f`` of one type."""
    if not isinstance(b, bool):
        raise AssertionError(f"torch.sym_ite: expected a bool condition, got {type(b)}")
    if type(t) is not type(f):
        raise AssertionError(f"torch.sym_ite: type mismatch: {type(t)} vs {type(f)}")
    return t if b else f


def _sym_pair(name: str, a, b):
    for value in (a, b):
        if isinstance(value, dg.Tensor) or not isinstance(value, _SYM_NUMBERS):
            raise AssertionError(f"torch.{name}: expected Python or NumPy numbers, got "
                                 f"{type(value).__name__}")
    chosen = builtins.max(a, b) if name == "sym_max" else builtins.min(a, b)
    # PyTorch promotes like arithmetic: a float on either side gives a float.
    if not (isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral)):
        return float(chosen)
    return chosen


def sym_max(a, b):
    """``max(a, b)`` of two numbers, a float if either is (``torch.sym_max``)."""
    return _sym_pair("sym_max", a, b)


def sym_min(a, b):
    """``min(a, b)`` of two numbers, a float if either is (``torch.sym_min``)."""
    return _sym_pair("sym_min", a, b)


def sym_sqrt(a):
    """``math.sqrt(a)`` (``torch.sym_sqrt``)."""
    return math.sqrt(a)


def sym_sum(*args):
    """The sum of the arguments, given as ``sym_sum(a, b, c)`` or ``sym_sum([a, b, c])``
    (``torch.sym_sum``); a lone tensor is itself."""
    if len(args) == 1 and isinstance(args[0], list | tuple):
        args = args[0]
    return builtins.sum(args)


def sym_fresh_size(expr):
    """``expr`` as a Python number: a concrete size needs no fresh symbol
    (``torch.sym_fresh_size``; a one-element tensor gives its value)."""
    return expr.item() if isinstance(expr, dg.Tensor) else dg.tensor(expr).item()


def sym_constrain_range(size, *, min=None, max=None) -> None:  # noqa: A002 - PyTorch's names
    """Checks that ``min <= size <= max`` (``torch.sym_constrain_range``); RuntimeError if not."""
    low = -(1 << 63) if min is None else min
    high = (1 << 63) - 1 if max is None else max
    if not low <= size <= high:
        raise RuntimeError(f"Invalid value range for {size} between [{low}, {high}].")


def sym_constrain_range_for_size(size, *, min=None, max=None) -> None:  # noqa: A002
    """As ``sym_constrain_range`` with ``min`` at least 0 (a size)."""
    sym_constrain_range(size, min=0 if min is None else builtins.max(min, 0), max=max)


# ------------------------------------------------------ more top-level names programs reach for

has_lapack = True  # NumPy's LAPACK
has_spectral = True  # NumPy's FFT
has_mkl = False  # what deltagrad's own kernels use: NumPy's BLAS, whatever it is
has_openmp = False


class AcceleratorError(RuntimeError):
    """PyTorch's error from an accelerator (never raised here: deltagrad runs on the CPU)."""


def cond(pred, true_fn, false_fn, operands=()):
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``, as PyTorch's eager
    ``torch.cond`` (gradients flow through the branch taken). ``pred``: a bool, a number or a
    one-element tensor."""
    if isinstance(pred, dg.Tensor):
        if pred.numel() != 1:
            raise RuntimeError("Expected pred to be bool or single-element tensor, but got "
                               f"{pred}.")
        pred = builtins.bool(pred.item())
    elif not isinstance(pred, (builtins.bool, builtins.int, builtins.float)):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    return (true_fn if pred else false_fn)(*operands)


def while_loop(cond_fn, body_fn, carried_inputs):
    """Run ``body_fn`` on the carried values while ``cond_fn`` of them is true; the final
    values as a tuple (PyTorch's eager ``torch.while_loop``)."""
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"carried_inputs must be a tuple or list, got {type(carried_inputs)}")
    carried = tuple(carried_inputs)
    while True:
        go = cond_fn(*carried)
        if isinstance(go, dg.Tensor):
            if go.numel() != 1 or go.dtype != dg.bool:
                raise RuntimeError("cond_fn must return a boolean scalar tensor or a bool, "
                                   f"got {go!r}")
            go = builtins.bool(go.item())
        if not go:
            return carried
        out = body_fn(*carried)
        carried = tuple(out) if isinstance(out, (tuple, list)) else (out,)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad=False, pin_memory=False):
    """An uninitialised dense tensor of ``size`` whose dims lie in memory in the order
    ``physical_layout`` (outermost first): ``(0, 2, 3, 1)`` is channels-last."""
    for name, value in (("size", size), ("physical_layout", physical_layout)):
        if (type(value) is tuple or type(value) is list) and all([type(v) is int
                                                                  for v in value]):
            continue  # (the usual call: no ABC checks; 12.7 -> 6.9 us with empty_strided's;
            # lists, OpInfo's samples, too: empty_permuted([2, 3, 4], [0, 2, 1]) 12.6 -> 7.7 us)
        if not isinstance(value, (tuple, list, dg.Size)) or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, builtins.bool)
                for v in value):
            raise TypeError(f"empty_permuted(): argument '{name}' must be tuple of ints, not "
                            f"{type(value).__name__}")
    size, order = tuple(size), tuple(physical_layout)
    if sorted(order) != list(range(len(size))):
        raise RuntimeError(f"empty_permuted: physical_layout {order} is not a permutation of "
                           f"the {len(size)} dims of size {size}")
    strides, step = [0] * len(size), 1
    for d in reversed(order):
        strides[d] = step
        step *= builtins.max(size[d], 1)
    return dg.empty_strided(size, strides, dtype=dtype, layout=layout, device=device,
                            requires_grad=requires_grad, pin_memory=pin_memory)


def norm_except_dim(v, pow=2, dim=0):  # noqa: A002 - PyTorch's name
    """The ``pow``-norm of ``v`` over every dim but ``dim``, shaped to broadcast against ``v``
    (size 1 except along ``dim``); ``dim=-1``: the norm of all of ``v`` (weight norm's)."""
    if dim == -1:
        return v.norm(pow)
    n = builtins.max(v.dim(), 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    dim %= n
    dims = [d for d in range(v.dim()) if d != dim]
    return v.norm(pow, dim=dims, keepdim=True) if dims else v.abs()  # (no dims: |v|)


def embedding_renorm_(input, indices, max_norm, norm_type):
    """Rescale, in place, the rows of ``input`` listed in ``indices`` whose ``norm_type``-norm
    exceeds ``max_norm`` to that norm (``F.embedding``'s ``max_norm``); returns ``input``."""
    from .nn.functional import _renorm_rows

    _renorm_rows(input, dg.as_tensor(indices)._data.reshape(-1), max_norm, norm_type)
    return input


def is_storage(obj) -> bool:
    """Whether ``obj`` is a storage (``UntypedStorage`` / ``TypedStorage``)."""
    return isinstance(obj, (dg.UntypedStorage, dg.TypedStorage))


def get_device_module(device=None):
    """The module of a device type: ``deltagrad.cpu`` for the CPU (the default here),
    ``deltagrad.cuda`` / ``mps`` / ``xpu`` for theirs (whose queries answer 'not available')."""
    import importlib

    name = "cpu" if device is None else (device.type if isinstance(device, dg.device)
                                         else str(device).split(":")[0])
    if name not in ("cpu", "cuda", "mps", "xpu"):
        raise RuntimeError(f"Device '{name}' does not have a corresponding module registered "
                           "as 'deltagrad.{name}'.")
    return importlib.import_module(f"deltagrad.{name}")


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode) -> None:
    """PyTorch's: 0 / "default" turns deterministic algorithms off, 1 / "warn" on with
    warnings only, 2 / "error" on (see ``use_deterministic_algorithms``)."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, builtins.int) or isinstance(debug_mode, builtins.bool):
        raise TypeError("debug_mode must be str or int, but got "
                        f"{type(debug_mode).__name__}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError("invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    dg.use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """0 (off), 1 (warn only) or 2 (on), as set by ``set_deterministic_debug_mode``."""
    if not dg.are_deterministic_algorithms_enabled():
        return 0
    return 1 if dg.is_deterministic_algorithms_warn_only_enabled() else 2


def _removed(name: str, advice: str):
    def removed(*args, **kwargs):
        raise RuntimeError(f"This function was deprecated since version 1.9 and is now "
                           f"removed. {advice}")
    removed.__name__ = removed.__qualname__ = name
    removed.__doc__ = f"Removed from PyTorch in 1.9 (raises RuntimeError): {advice}"
    return removed


matrix_rank = _removed("matrix_rank", "Please use the `torch.linalg.matrix_rank` function "
                       "instead.")
eig = _removed("eig", "`torch.linalg.eig` returns complex tensors; use it instead.")
symeig = _removed("symeig", "Use `torch.linalg.eigh` (or `torch.linalg.eigvalsh`) instead.")


def solve(input, A, *, out=None):
    """Removed from PyTorch in 1.9 (raises RuntimeError): use ``linalg.solve(A, B)``."""
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed. "
                       "`torch.solve` is deprecated in favor of `torch.linalg.solve`: "
                       "X = torch.solve(B, A).solution should be replaced with "
                       "X = torch.linalg.solve(A, B)")


def lstsq(input, A, *, out=None):
    """Removed from PyTorch in 1.9 (raises RuntimeError): use ``linalg.lstsq(A, B)``."""
    raise RuntimeError("This function was deprecated since version 1.9 and is now removed. "
                       "`torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`, which "
                       "has reversed arguments.")


def fork(func, *args, **kwargs):
    """``torch.fork``: in eager mode ``func(*args, **kwargs)`` runs at once (its exception
    raised here), its result in a completed ``torch.futures.Future`` (no warning: jit.fork's
    deprecation is the ``torch.jit`` form's)."""
    from .futures import Future

    if not callable(func):
        raise TypeError(f"Object of type '{type(func).__name__}' is not an instance of "
                        f"'function'")
    future = Future()
    future.set_result(func(*args, **kwargs))
    return future


def wait(future):
    """``torch.wait``: the result of a ``fork``-ed task."""
    from .futures import Future

    if not isinstance(future, Future):
        raise TypeError(f"wait(): incompatible function arguments: expected a Future, got "
                        f"{type(future).__name__}")
    return future.wait()


def is_distributed(input) -> bool:
    """``False``: no deltagrad tensor is distributed."""
    if not isinstance(input, dg.Tensor):
        raise TypeError(f"is_distributed(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    return False


def init_num_threads() -> None:
    """Nothing to initialise (NumPy's BLAS owns its threads)."""


def compiled_with_cxx11_abi() -> bool:
    """True, as PyTorch 2.13's builds answer (extension build scripts read it)."""
    return True


def is_vulkan_available() -> bool:
    """False: no Vulkan backend."""
    return False


# PyTorch's legacy storage classes (torch.FloatStorage ...: see storage.py).
from .storage import LEGACY_STORAGES as _LEGACY_STORAGES  # noqa: E402

globals().update(_LEGACY_STORAGES)
__all__ += sorted(_LEGACY_STORAGES)
