"""Parameter initialisation (PyTorch's ``torch.nn.init``): Xavier, Kaiming, normal, uniform, ...

Every function fills its tensor in place, outside the graph, and returns it. Random ones draw
from ``generator`` (a ``deltagrad.Generator`` or a NumPy Generator), by default deltagrad's
global generator, which ``deltagrad.manual_seed`` seeds.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings

import numpy as np

from .._engine import bf16 as _bf16
from .._engine import stream
from .._engine.meta import MetaArray
from .._engine.random import numpy_generator, torch_source
from .._engine.tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
    # PyTorch's deprecated spellings without the trailing underscore (they warn).
    "constant", "dirac", "eye", "kaiming_normal", "kaiming_uniform", "normal", "orthogonal",
    "sparse", "uniform", "xavier_normal", "xavier_uniform",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale of weights feeding ``nonlinearity`` (PyTorch's table).

    linear / conv / sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu: sqrt(2 / (1 + slope²))
    with ``param`` the negative slope (default 0.01); selu: 3/4.

    >>> round(calculate_gain("leaky_relu", 0.2), 4), calculate_gain("tanh")
    (1.3868, 1.6666666666666667)
    """
    if nonlinearity in _LINEAR:
        return 1  # (an int, as PyTorch's: it shows in a printed or saved config)
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight ``[out, in, *kernel]``: in (out) times the kernel size.

    >>> import deltagrad as dg
    >>> _calculate_fan_in_and_fan_out(dg.zeros(8, 3, 5, 5))
    (75, 200)
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions (shape {shape})")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _default_reset(weight, bias, generator=None) -> None:
    """PyTorch's default initialisation of a Linear or convolution layer: the weight
    kaiming-uniform with a = sqrt(5), the bias uniform in +-1/sqrt(fan_in) of the weight."""
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, generator=generator)


def _calculate_correct_fan(tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} is not supported; use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _array(tensor) -> np.ndarray:
    return tensor._data if isinstance(tensor, Tensor) else tensor


def _dtype(tensor) -> np.dtype:
    return _array(tensor).dtype


def _floating(tensor) -> bool:
    return _bf16.kind(_dtype(tensor)) == "f"  # (bfloat16 included)


def _refuse_integer(tensor, kernel: str) -> None:
    # PyTorch's random fills have no integer or bool kernels (NotImplementedError, nothing
    # drawn; its normal kernel is not reached for an empty tensor); NumPy would fill such a
    # tensor with truncated or nonzero-is-True values
    if kernel == "normal_kernel_cpu" and _array(tensor).size == 0:
        return
    if isinstance(tensor, Tensor) and _dtype(tensor).kind in "iub":
        raise NotImplementedError(f'"{kernel}" not implemented for {tensor.dtype}: nn.init\'s '
                                  f"random fills need a floating tensor (shape "
                                  f"{tuple(tensor.shape)})")


def _fill(tensor, values):
    # Writing into ._data fills the same array (views and optimizers keep seeing it) and records
    # nothing in the graph, which is what PyTorch's no_grad-wrapped init does.
    array = tensor._data if isinstance(tensor, Tensor) else tensor
    array[...] = values
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with samples of U(a, b).

    Args:
        tensor: any shape (a Tensor or ndarray), filled in place.
        a, b: the bounds.
        generator: the source of randomness (default: the global generator).

    Returns:
        ``tensor``.
    """
    if a > b:  # (PyTorch's check, before any draw)
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} "
                           f"> to={b}")
    _refuse_integer(tensor, "check_uniform_bounds")
    source = torch_source(generator)
    if source is not None and _floating(tensor):
        return _fill(tensor, stream.in_memory_order(_array(tensor), lambda shape: stream.uniform(
            source._bits, shape, _dtype(tensor), a, b)))
    return _fill(tensor, numpy_generator(generator).uniform(a, b, tuple(tensor.shape)))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with samples of N(mean, std²); returns ``tensor``."""
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    _refuse_integer(tensor, "normal_kernel_cpu")
    source = torch_source(generator)
    if source is not None and _floating(tensor):
        array = _array(tensor)
        return _fill(tensor, stream.in_memory_order(array, lambda shape: stream.normal(
            source, shape, array.dtype, mean, std, scalar=not array.flags.c_contiguous)))
    return _fill(tensor, numpy_generator(generator).normal(mean, std, tuple(tensor.shape)))


def constant_(tensor, val: float):
    """Fill with ``val``; returns ``tensor``."""
    return _fill(tensor, val)


def ones_(tensor):
    """Fill with 1; returns ``tensor``."""
    return _fill(tensor, 1)


def zeros_(tensor):
    """Fill with 0; returns ``tensor``."""
    return _fill(tensor, 0)


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot/Xavier uniform: U(-a, a) with a = gain · sqrt(6 / (fan_in + fan_out)).

    Args:
        tensor: at least 2-D, ``[fan_out, fan_in, *kernel]``.
        gain: scale (see ``calculate_gain``).
        generator: the source of randomness.

    Returns:
        ``tensor``.

    >>> import deltagrad as dg
    >>> w = xavier_uniform_(dg.zeros(100, 200), generator=dg.Generator(0))
    >>> bool(abs(w.data).max() <= (6 / 300) ** 0.5)
    True
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot/Xavier normal: N(0, std²) with std = gain · sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity) -> float | None:
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return None
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    """He/Kaiming uniform: U(-b, b) with b = gain · sqrt(3 / fan).

    Args:
        tensor: at least 2-D, ``[fan_out, fan_in, *kernel]``.
        a: the negative slope of the leaky ReLU that follows (used by ``calculate_gain``).
        mode: ``'fan_in'`` (preserves the forward variance) or ``'fan_out'`` (the backward).
        nonlinearity: ``'relu'`` or ``'leaky_relu'`` (or any name ``calculate_gain`` knows).
        generator: the source of randomness.

    Returns:
        ``tensor``.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    """He/Kaiming normal: N(0, std²) with std = gain / sqrt(fan); arguments as
    ``kaiming_uniform_``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None):
    """Fill with samples of N(mean, std²) truncated to ``[a, b]`` (redrawn until inside).

    Args:
        tensor: any shape, filled in place.
        mean, std: the normal distribution before truncation.
        a, b: the bounds (absolute values, not in units of ``std``, as PyTorch's).
        generator: the source of randomness.

    Returns:
        ``tensor``.
    """
    if a >= b:
        raise ValueError(f"trunc_normal_: a ({a}) must be below b ({b})")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    if isinstance(tensor, Tensor) and _dtype(tensor) == np.uint8:  # (PyTorch's -1 bound)
        raise RuntimeError("trunc_normal_: value cannot be converted to type uint8 without "
                           "overflow")
    _refuse_integer(tensor, "normal_kernel_cpu")
    shape = tuple(tensor.shape)
    source = torch_source(generator)
    if source is not None and _floating(tensor):
        # (a non-contiguous view: drawn in memory order, by the scalar normal path, as
        # PyTorch's fills of the view; SL24 found a transposed weight's values differing)
        array = _array(tensor)
        return _fill(tensor, stream.in_memory_order(array, lambda shape: _trunc_normal_torch(
            source, shape, array.dtype, mean, std, a, b, not array.flags.c_contiguous)))
    rng = numpy_generator(generator)
    values = rng.normal(mean, std, shape)
    outside = (values < a) | (values > b)
    # Rejection keeps the exact truncated law; each pass redraws only what fell outside.
    for _ in range(1000):
        if not outside.any():
            break
        values[outside] = rng.normal(mean, std, int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(tensor, np.clip(values, a, b))


def _trunc_normal_torch(source, shape: tuple, dtype: np.dtype, mean: float, std: float,
                        a: float, b: float, scalar: bool = False) -> np.ndarray:
    """PyTorch's rejection sampler, draw for draw: when the bounds hold more than 30% of the
    mass, whole normal tensors redrawn where outside; else uniforms on [a, b] accepted with
    probability pdf / peak, redrawn whole where pending."""
    def cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    typed = dtype.type
    if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3:
        low, high = typed(a), typed(b)
        result = stream.normal(source, shape, dtype, mean, std, scalar=scalar)
        while True:
            outside = (result < low) | (result > high)
            if not outside.any():
                return result
            result = np.where(outside, stream.normal(source, shape, dtype, mean, std,
                                                     scalar=scalar), result)
    mode = max(a, min(mean, b))
    log_peak = typed(-0.5 * ((mode - mean) / std) ** 2)

    def log_pdf(x):  # in the tensor's precision, step by step as PyTorch's in-place chain
        z = (x - typed(mean)) / typed(std)
        return z * z * typed(-0.5) - log_peak

    def rejected(log_p):
        return np.log(stream.uniform(source._bits, shape, dtype)) > log_p

    result = stream.uniform(source._bits, shape, dtype, a, b)
    pending = rejected(log_pdf(result))
    while pending.any():
        candidates = stream.uniform(source._bits, shape, dtype, a, b)
        result = np.where(pending, candidates, result)
        pending = np.where(pending, rejected(log_pdf(candidates)), pending)
    return result


def orthogonal_(tensor, gain: float = 1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix, scaled by ``gain`` (Saxe et al. 2013).

    The tensor is viewed as ``[rows, numel / rows]``; its rows (or columns, whichever are
    fewer) come out orthonormal: the Q of the QR decomposition of a Gaussian matrix, with the
    signs fixed by R's diagonal so that the law is uniform.

    Args:
        tensor: at least 2-D, filled in place.
        gain: scale factor.
        generator: the source of randomness.

    Returns:
        ``tensor``.
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    size = math.prod(tuple(tensor.shape))
    if size == 0:
        return tensor  # nothing to fill (PyTorch returns it unchanged too)
    rows = tensor.shape[0]
    cols = size // rows
    _refuse_integer(tensor, "normal_kernel_cpu")
    if str(tensor.dtype).rsplit(".", 1)[-1] in ("float16", "bfloat16"):
        # PyTorch draws the Gaussian matrix in the tensor's dtype, then its QR has no half
        # kernel: the draw happens (the generator moves on), the tensor is left as it was
        tensor.new_empty((rows, cols)).normal_(0, 1, generator=generator)
        raise NotImplementedError(f"orthogonal_: QR is not implemented for {tensor.dtype} "
                                  f"(a tensor of shape {tuple(tensor.shape)})")
    source = torch_source(generator)
    flat = (stream.normal(source, (rows, cols), np.float64 if _dtype(tensor) == np.float64
                          else np.float32).astype(np.float64)
            if source is not None else numpy_generator(generator).normal(0.0, 1.0, (rows, cols)))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tuple(tensor.shape)))


def sparse_(tensor, sparsity: float, std: float = 0.01, generator=None):
    """Fill a 2-D tensor from N(0, std²), then zero ``ceil(sparsity * rows)`` random entries
    in every column (Martens 2010).

    Args:
        tensor: ``[rows, cols]``, filled in place.
        sparsity: the fraction of each column set to zero.
        std: the standard deviation of the nonzero values.
        generator: the source of randomness.

    Returns:
        ``tensor``.
    """
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    _refuse_integer(tensor, "normal_kernel_cpu")
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    source = torch_source(generator)
    if source is not None:  # PyTorch's order: the normals, then one permutation per column
        array = _array(tensor)  # (a non-contiguous view: its memory order, the scalar path)
        values = stream.in_memory_order(array, lambda shape: stream.normal(
            source, shape, array.dtype, 0.0, std, scalar=not array.flags.c_contiguous))
        # (drawn from the default generator whatever ``generator`` is: PyTorch's sparse_
        # calls randperm without it)
        default = torch_source(None)
        for column in range(cols):
            order = (stream.permutation(default._bits, rows) if default is not None
                     else numpy_generator(None).permutation(rows))
            values[order[:zeros], column] = 0.0
        return _fill(tensor, values)
    rng = numpy_generator(generator)
    values = rng.normal(0.0, std, (rows, cols))
    for column in range(cols):
        values[rng.permutation(rows)[:zeros], column] = 0.0
    return _fill(tensor, values)


def dirac_(tensor, groups: int = 1):
    """Fill a 3-, 4- or 5-D convolution weight with the Dirac delta: the convolution then
    passes its input through (channel i to channel i within each of ``groups`` groups).

    Returns:
        ``tensor``.
    """
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    shape = tuple(tensor.shape)
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = shape[0] // groups
    values = np.zeros(shape)
    centre = tuple(size // 2 for size in shape[2:])
    for group in range(groups):
        for channel in range(min(per_group, shape[1])):
            values[(group * per_group + channel, channel, *centre)] = 1.0
    return _fill(tensor, values)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal); returns ``tensor``."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tuple(tensor.shape)))


# ----------------------------------------------------------------------------------------------
# Meta tensors (no data: _engine/meta.py) are returned untouched, and nothing is drawn from the
# generator, as PyTorch's initialisers do on the meta device (transformers builds its models
# there: the random stream must stay where PyTorch's is).


def _skip_meta(function):
    @functools.wraps(function)
    def initialise(tensor, *args, **kwargs):
        if type(getattr(tensor, "_data", None)) is MetaArray:
            return tensor
        return function(tensor, *args, **kwargs)
    return initialise


for _name in ("constant_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_", "normal_",
              "ones_", "orthogonal_", "sparse_", "trunc_normal_", "uniform_", "xavier_normal_",
              "xavier_uniform_", "zeros_"):
    globals()[_name] = _skip_meta(globals()[_name])



# PyTorch's private fill helpers, which libraries import by name (mup's width-scaled
# initialisers): the public functions above already fill outside the graph.
def _no_grad_uniform_(tensor, a: float, b: float, generator=None):
    return uniform_(tensor, a, b, generator)


def _no_grad_normal_(tensor, mean: float, std: float, generator=None):
    return normal_(tensor, mean, std, generator)


def _no_grad_trunc_normal_(tensor, mean: float, std: float, a: float, b: float, generator=None):
    return trunc_normal_(tensor, mean, std, a, b, generator)


def _no_grad_fill_(tensor, val: float):
    return constant_(tensor, val)


def _no_grad_zero_(tensor):
    return zeros_(tensor)

# ----------------------------------------------------------------------------------------------
# PyTorch's deprecated names (no trailing underscore): they warn and call the new one.


def _deprecated(function):
    old = function.__name__[:-1]

    def deprecated(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of "
                      f"`nn.init.{function.__name__}`.", FutureWarning, stacklevel=2)
        return function(*args, **kwargs)

    deprecated.__name__ = deprecated.__qualname__ = old
    deprecated.__doc__ = f"Deprecated: use ``{function.__name__}``."
    return deprecated


constant = _deprecated(constant_)
dirac = _deprecated(dirac_)
eye = _deprecated(eye_)
kaiming_normal = _deprecated(kaiming_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
normal = _deprecated(normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
uniform = _deprecated(uniform_)
xavier_normal = _deprecated(xavier_normal_)
xavier_uniform = _deprecated(xavier_uniform_)
