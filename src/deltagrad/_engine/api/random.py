"""Random draws: rand / randn / randint / randperm, the *_like forms, multinomial, bernoulli,
normal, poisson and the in-place fills (random_, exponential_, ...: in ``random_fills``,
imported here), all from the seeded generators of ``_engine.random``."""

from __future__ import annotations

import numbers

import numpy as np

from .. import bf16, dtypes, stream
from .. import random as _random_module
from ..modes import MAPPED, refuse_mapped
from ..ops import OPS
from ..promotion import _BOUNDS, _bounds
from ..random import numpy_generator, torch_source
from ..tensor import (
    Tensor,
    _leaf,
    _lift,
    _shape_arg,
    apply,
    int64,
    tensor_method,
)
from ._common import index_or_none, write_out
from .creation import (
    _options,
    check_memory_format,
    contiguous_format,
    factory_out,
    in_memory_format,
    preserve_format,
    size_arguments,
)
from .factories import _requiring_grad
from .meta_device import meta_factories
from .random_fills import (  # noqa: F401 - the in-place fills, moved out (session 27, FS1)
    _KERNEL_NAMES,
    bernoulli_,
    cauchy_,
    exponential_,
    fill_kinds,
    geometric_,
    log_normal_,
    random_,
)

__all__ = ["bernoulli", "multinomial", "normal", "poisson", "rand", "rand_like", "randint",
           "randint_like", "randn", "randn_like", "randperm"]

_SAMPLE = OPS["random_sample"]


def _device(device, where: str, layout=None) -> None:
    """The CPU as ``device`` and the strided ``layout`` only (``pin_memory`` is ignored: there
    is no GPU to copy to)."""
    _options(where, device, layout)


def _float_dtype(dtype, name: str) -> np.dtype:
    dtype = dtypes._Default.float if dtype is None else dtypes.to_numpy(dtype)
    if dtype.kind != "f" and dtype is not bf16.BF16:
        # PyTorch's error for an integer dtype in a floating draw.
        from ..forward_errors import scalar_word  # (the rare path)

        kernel = {"randn": "normal_kernel_cpu", "rand": "check_uniform_bounds"}.get(name, name)
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_word(dtype)}' "
                                  f"({name}: use a floating dtype; randint draws integers)")
    return dtype


def _shape(size) -> tuple:
    shape = _shape_arg(size)
    for n in shape:
        if n < 0:  # (NumPy: ValueError; PyTorch: RuntimeError)
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {shape}")
    return shape


def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    out = _leaf(array)
    if requires_grad is not True and requires_grad is not False and requires_grad is not None:
        _requiring_grad(out, requires_grad)  # (PyTorch's TypeError for a non-bool, s29 BR19)
    return out.requires_grad_(True) if requires_grad else out


def randn(*size_args, size=None, generator=None, out=None, dtype=None, layout=None,
          device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Standard normal samples.

    Args:
        *size: the shape, as integers or one sequence.
        generator: a ``deltagrad.Generator`` (default: the seeded global one).
        out: a tensor to write the draws into (they are drawn in its dtype).
        dtype: a floating dtype (default float32).
        layout, device, pin_memory: the strided layout and "cpu" only (pin_memory is ignored).
        requires_grad: make the result a leaf that requires grad.

    Returns:
        A tensor of ``size`` drawn from N(0, 1).

    >>> import deltagrad as dg
    >>> a = dg.randn(2, 3, generator=dg.Generator(seed=7))
    >>> b = dg.randn(2, 3, generator=dg.Generator(seed=7))
    >>> a.shape, bool((a == b).all())
    (deltagrad.Size([2, 3]), True)
    """
    _device(device, "randn", layout)
    if out is not None:
        return factory_out("randn", out, dtype, requires_grad, lambda d: randn(
            *size_args, size=size, generator=generator, dtype=d))
    if dtype is not None and dtypes.to_numpy(dtype).kind == "c":
        return _finish(_complex_normal(size_args, size, generator, dtypes.to_numpy(dtype)),
                       requires_grad)
    dtype = _float_dtype(dtype, "randn")
    shape = _shape(size_arguments(size_args, size, "randn"))
    source = torch_source(generator)
    if source is not None:
        return _finish(stream.normal(source, shape, dtype), requires_grad)
    return _finish(numpy_generator(generator).standard_normal(shape).astype(dtype),
                   requires_grad)


def _complex_normal(size_args, size, generator, dtype: np.dtype) -> np.ndarray:
    """Complex standard normals as PyTorch draws them: its real view filled with N(0, 1/2),
    real and imaginary parts interleaved (bit-identical for complex128; complex64 shares
    float32's vector-path ulps, see stream.py)."""
    shape = _shape(size_arguments(size_args, size, "randn"))
    real = np.dtype(np.float32 if dtype == np.complex64 else np.float64)
    std = 1 / np.sqrt(2.0)  # (PyTorch's std / sqrt(2): 0.7071067811865475, one ulp below sqrt(.5))
    source = torch_source(generator)
    if source is not None:
        parts = stream.normal(source, shape + (2,), real, 0.0, float(std))
    else:
        parts = (numpy_generator(generator).standard_normal(shape + (2,)) * std).astype(real)
    return np.ascontiguousarray(parts).view(dtype).reshape(shape)


def rand(*size_args, size=None, generator=None, out=None, dtype=None, layout=None,
         device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Uniform samples on [0, 1); arguments as ``randn``."""
    _device(device, "rand", layout)
    if out is not None:
        return factory_out("rand", out, dtype, requires_grad, lambda d: rand(
            *size_args, size=size, generator=generator, dtype=d))
    if dtype is not None and dtypes.to_numpy(dtype).kind == "c":
        # PyTorch fills a complex tensor's real view: real and imaginary parts interleaved
        # uniforms (xitorch's tests draw complex128 matrices so).
        complex_dtype = dtypes.to_numpy(dtype)
        real = np.float32 if complex_dtype == np.complex64 else np.float64
        shape = _shape(size_arguments(size_args, size, "rand"))
        parts = rand(*shape, 2, generator=generator, dtype=real)._data
        return _finish(np.ascontiguousarray(parts).view(complex_dtype).reshape(shape),
                       requires_grad)
    dtype = _float_dtype(dtype, "rand")
    shape = _shape(size_arguments(size_args, size, "rand"))
    source = torch_source(generator)
    if source is not None:
        return _finish(stream.uniform(source._bits, shape, dtype), requires_grad)
    return _finish(numpy_generator(generator).random(shape).astype(dtype), requires_grad)


def _int_bound(value, name: str) -> int:
    if isinstance(value, Tensor):
        if value._data.dtype.kind not in "iub":  # (PyTorch's int parser: integer tensors only)
            raise TypeError(f"randint(): argument '{name}' must be int, not a {value.dtype} "
                            "Tensor")
        value = value.item()
    if isinstance(value, (float, np.floating)):  # (a TypeError, never truncated)
        raise TypeError(f"randint(): argument '{name}' must be int, not {type(value).__name__}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if index_or_none(value) is not None:  # (PyTorch's int parser takes any __index__)
            return index_or_none(value)
        raise TypeError(f"randint: {name} must be a number, got {type(value).__name__}")
    return int(value)


def _int_range(dtype: np.dtype) -> tuple:
    """The dtype's (min, max) from promotion's cache (np.iinfo costs ~0.7 us a call)."""
    return (0, 1) if dtype.kind == "b" else (_BOUNDS.get(dtype) or _bounds(dtype))


def _draw_integers(generator, low: int, high: int, shape: tuple, dtype: np.dtype, name: str):
    if dtype.kind == "c":  # (was a complex tensor of integers: PyTorch has no such kernel)
        raise RuntimeError("check_random_bounds handles only integral, floating-point and bool")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high} ({name}: expected low < high)")
    source = torch_source(generator)
    if source is not None:
        if dtype.kind in "iub":
            top = _int_range(dtype)
            if low < top[0] or high - 1 > top[1]:
                raise RuntimeError(f"{name}: range [{low}, {high}) does not fit dtype {dtype}")
        # (no copy when int64 already: with the cached bounds, randint(0, 10, (8,)) 9.5 -> 7.6 us)
        return stream.integers(source._bits, low, high, shape).astype(dtype, copy=False)
    rng = numpy_generator(generator)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if low < info.min or high - 1 > info.max:
            raise RuntimeError(f"{name}: range [{low}, {high}) does not fit dtype {dtype}")
        return rng.integers(low, high, size=shape, dtype=dtype)
    if dtype.kind == "b":
        if low < 0 or high > 2:
            raise RuntimeError(f"{name}: range [{low}, {high}) does not fit dtype bool")
        return rng.integers(low, high, size=shape).astype(bool)
    return rng.integers(low, high, size=shape).astype(dtype)


def randint(*args, size=None, low=None, high=None, generator=None, out=None, dtype=None,
            layout=None, device=None, requires_grad: bool = False,
            pin_memory: bool = False) -> Tensor:
    """Integers uniform on [low, high): PyTorch's overloads ``randint(high, size)``,
    ``randint(low, high, size)`` and the keyword forms (``low`` defaults to 0).

    Args:
        low, high: the half-open range.
        size: the shape (a sequence).
        generator, out, layout, device, requires_grad, pin_memory: as ``randn``.
        dtype: the result's dtype (default int64; floating dtypes hold integral values).

    Returns:
        A tensor of ``size``.

    >>> import deltagrad as dg
    >>> g = dg.Generator(0)
    >>> x = dg.randint(3, 10, (4,), generator=g)
    >>> x.dtype, bool(((x >= 3) & (x < 10)).all())
    (deltagrad.int64, True)
    """
    _device(device, "randint", layout)
    if out is not None:
        return factory_out("randint", out, dtype, requires_grad, lambda d: randint(
            *args, size=size, low=low, high=high, generator=generator, dtype=d))
    args = list(args)
    if size is None:
        if not args or isinstance(args[-1], numbers.Number):
            raise TypeError("randint() missing the size argument: use randint(high, size) or "
                            "randint(low, high, size)")
        size = args.pop()
    if len(args) == 2:
        if low is not None or high is not None:
            raise TypeError("randint() got low/high both positionally and by keyword")
        low, high = args
    elif len(args) == 1:
        if high is None:
            high = args[0]
        elif low is None:
            low = args[0]
        else:
            raise TypeError("randint() got low/high both positionally and by keyword")
    elif args:
        raise TypeError(f"randint() takes at most 3 positional arguments, got {len(args) + 1}")
    if high is None:
        raise TypeError("randint() missing the high argument")
    low = 0 if low is None else _int_bound(low, "low")
    high = _int_bound(high, "high")
    if isinstance(size, numbers.Number):
        raise TypeError(f"randint(): size must be a sequence of ints, got {size!r}")
    shape = _shape_arg((size,))
    dtype = int64 if dtype is None else dtypes.to_numpy(dtype)
    if requires_grad and dtype.kind != "f":
        raise RuntimeError("randint: only floating point tensors can require gradients")
    array = _draw_integers(generator, low, high, shape, dtype, "randint")
    return _finish(array, requires_grad)


def randperm(n: int, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` says otherwise); the other
    arguments as ``randn``."""
    _device(device, "randperm", layout)
    if out is not None:
        return factory_out("randperm", out, dtype, requires_grad, lambda d: randperm(
            n, generator=generator, dtype=d))
    if isinstance(n, (bool, float, np.floating)):  # (PyTorch's parser: not truncated)
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    n = int(n)
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    dtype = int64 if dtype is None else dtypes.to_numpy(dtype)
    _randperm_fits(n, dtype)
    source = torch_source(generator)
    array = (stream.permutation(source._bits, n) if source is not None
             else numpy_generator(generator).permutation(n)).astype(dtype)
    return _finish(array, requires_grad)


def _randperm_fits(n: int, dtype: np.dtype) -> None:
    """PyTorch's checks that ``0 .. n-1`` fit ``dtype`` (they were wrapped or rounded)."""
    if dtype.kind in "bc":
        raise NotImplementedError(f'"randperm" not implemented for '
                                  f"'{_KERNEL_NAMES[str(dtype)]}'")
    if dtype.kind in "iu" and n - 1 > int(np.iinfo(dtype).max):
        raise RuntimeError(f"value cannot be converted to type {dtype}_t without overflow")
    if dtype == np.float16 and n > 2049:  # (no such check for bfloat16 in PyTorch)
        raise RuntimeError("n cannot be greater than 2049 for Half type.")


def _like_dtype(input, dtype):
    return input._data.dtype if dtype is None else dtypes.to_numpy(dtype)


def _permuted_dense(array: np.ndarray) -> bool:
    """Whether ``array`` is a permutation of a contiguous block but not itself contiguous: the
    layout PyTorch's ``empty_like`` keeps (preserve_format), so its ``*_like`` draws come in
    that memory order."""
    if array.flags.c_contiguous:
        return False
    expected = array.itemsize
    for axis in sorted(range(array.ndim), key=lambda a: abs(array.strides[a])):
        if array.shape[axis] != 1 and array.strides[axis] != expected:
            return False
        expected *= array.shape[axis]
    return True


def _draw_order(input, fmt, where: str) -> np.ndarray | None:
    """The array whose memory order a ``*_like`` draw on PyTorch's stream follows (PyTorch fills
    ``empty_like(input, memory_format=fmt)`` element by element in memory order), or ``None``
    for row-major order."""
    fmt = check_memory_format(fmt, where)
    if fmt is preserve_format:
        return input._data if _permuted_dense(input._data) else None
    if fmt is contiguous_format:
        return None
    laid = in_memory_format(_leaf(np.empty(input._data.shape, np.int8)), fmt, where)._data
    return None if laid.flags.c_contiguous else laid


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None,
               pin_memory: bool = False) -> Tensor:
    """``randn`` with ``input``'s shape (and dtype unless given); ``memory_format`` (default
    ``preserve_format``) sets the order PyTorch's stream fills the elements in."""
    dtype = _like_dtype(input, dtype)
    _device(device, "randn_like", layout)
    order = _draw_order(input, memory_format, "randn_like")
    source = torch_source(generator)
    if source is not None and order is not None:
        values = stream.in_memory_order(order, lambda shape: stream.normal(
            source, shape, _float_dtype(dtype, "randn_like"), scalar=True))
        return _finish(np.ascontiguousarray(values), requires_grad)
    return randn(input.shape, generator=generator, dtype=dtype, device=device,
                 requires_grad=requires_grad)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None,
              pin_memory: bool = False) -> Tensor:
    """``rand`` with ``input``'s shape (and dtype unless given); ``memory_format`` as
    ``randn_like``."""
    dtype = _like_dtype(input, dtype)
    _device(device, "rand_like", layout)
    order = _draw_order(input, memory_format, "rand_like")
    source = torch_source(generator)
    if source is not None and order is not None:
        values = stream.in_memory_order(order, lambda shape: stream.uniform(
            source._bits, shape, _float_dtype(dtype, "rand_like")))
        return _finish(np.ascontiguousarray(values), requires_grad)
    return rand(input.shape, generator=generator, dtype=dtype, device=device,
                requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad: bool = False, memory_format=None,
                 pin_memory: bool = False) -> Tensor:
    """``randint`` with ``input``'s shape and dtype: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``; ``memory_format`` as ``randn_like``."""
    if high is None:
        low, high = 0, low
    dtype = _like_dtype(input, dtype)
    _device(device, "randint_like", layout)
    order = _draw_order(input, memory_format, "randint_like")
    if torch_source(generator) is not None and order is not None:
        low, high = _int_bound(low, "low"), _int_bound(high, "high")
        if requires_grad and dtype.kind != "f":
            raise RuntimeError("randint: only floating point tensors can require gradients")
        values = stream.in_memory_order(order, lambda shape: _draw_integers(
            generator, low, high, shape, dtype, "randint_like"))
        return _finish(np.ascontiguousarray(values), requires_grad)
    return randint(low, high, input.shape, generator=generator, dtype=dtype, device=device,
                   requires_grad=requires_grad)


# --------------------------------------------------------------------------------------------
# Draws whose parameters are tensors. NOTE: as in PyTorch, a draw is not reparameterised: its
# parameters get zero gradients (the "random_sample" op records the draw with them as inputs).


def _sampled(draws: np.ndarray, params) -> Tensor:
    params = [p for p in params if isinstance(p, Tensor)]
    return apply(_SAMPLE, _leaf(draws), *params)


def _floating_input(input, name: str) -> Tensor:
    input = input if isinstance(input, Tensor) else _lift(input, None)
    if input.dtype.kind != "f":
        raise NotImplementedError(f"{name}: not implemented for dtype {input.dtype}; "
                                  "pass a floating tensor")
    return input


@tensor_method
def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """Draw 0/1 values, each 1 with probability ``input`` (or the float ``p`` when given).

    Args:
        input: probabilities in [0, 1], a floating tensor; the result has its shape and dtype.
        p: one probability for every element instead of ``input``'s values.
        generator: as ``randn``.
        out: a tensor to write the draws into (any dtype, as PyTorch's).

    Returns:
        A tensor of zeros and ones.
    """
    input = _floating_input(input, "bernoulli")
    if MAPPED and p is None:  # (vmap's randomness='same' with a mapped probability)
        refuse_mapped("same", input)
    probs = input._data if p is None else np.full(input.shape, float(p))
    if np.any(~((probs >= 0) & (probs <= 1))):
        raise RuntimeError("bernoulli: expected every probability p to satisfy 0 <= p <= 1")
    source = torch_source(generator)
    if source is None:
        draws = numpy_generator(generator).random(input.shape) < probs
    elif p is None:
        draws = stream.bernoulli_tensor(source._bits, probs)
    else:
        draws = stream.bernoulli_scalar(source._bits, input.shape, float(p))
    result = _sampled(draws.astype(input._data.dtype), (input,) if p is None else ())
    if isinstance(out, Tensor) and out.dtype != result.dtype and not result.requires_grad:
        # PyTorch draws into ``out`` whatever its dtype (the same draws: its bernoulli_ on
        # out); tltorch's tensor dropout takes a bool mask so. (A result that requires grad
        # keeps write_out's out= error.)
        result = result.to(out.dtype)
    return write_out(out, result)


@tensor_method
def poisson(input, generator=None) -> Tensor:
    """Poisson counts with rates ``input`` (a floating tensor; the result keeps its dtype).

    On PyTorch's stream the counts are PyTorch's (its CPU kernel: a product of uniforms
    below rate 10, transformed rejection from 10, element by element in row-major order); on
    NumPy's (``Generator(stream="pcg64")``) NumPy's. An infinite rate raises (PyTorch returns
    -2**63 there).
    """
    input = _floating_input(input, "poisson")
    if MAPPED:
        refuse_mapped("same", input)
    if np.any(~(input._data >= 0)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    source = torch_source(generator)
    if source is None:
        draws = numpy_generator(generator).poisson(input._data)
    else:  # PyTorch's kernel, element by element in row-major order
        draws = stream.poisson(source, input._data)
    return _sampled(draws.astype(input._data.dtype), (input,))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None,
           layout=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """Normal samples: PyTorch's overloads ``normal(mean: Tensor, std: Tensor)``,
    ``normal(mean: Tensor, std=1.0)``, ``normal(mean: float, std: Tensor)`` (tensors broadcast)
    and ``normal(mean: float, std: float, size)``.

    Args:
        mean, std: numbers or floating tensors; ``std`` must be non-negative.
        size: the shape, only when both are numbers (or 0-dim tensors needing no gradient,
            read as their numbers, as PyTorch's parser does).
        generator, device: as ``randn``.
        out: a tensor to write the draws into (they are drawn in its dtype).
        dtype, layout, requires_grad, pin_memory: only with ``size`` (PyTorch's TypeError
            otherwise).

    Returns:
        The draws; where a parameter is a tensor, it has zero gradient (PyTorch's rule).
    """
    _device(device, "normal", layout)
    if size is not None:
        # PyTorch's parser reads a 0-dim tensor that needs no gradient as a number for the
        # (float mean, float std, size) overload (opacus's AdaClip noise passes such a std)
        mean, std = _as_number(mean), _as_number(std)
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if tensors and (dtype is not None or requires_grad or layout is not None or pin_memory):
        raise TypeError("normal(): dtype, layout, requires_grad and pin_memory are only "
                        "accepted when mean and std are numbers (with size)")
    if (out is not None and isinstance(mean, Tensor) and not isinstance(std, Tensor)
            and isinstance(out, Tensor) and out.shape != mean.shape):
        # PyTorch's overload (Tensor mean, float std) keeps out's shape and adds mean into it
        # in place (mean (2,) into out (2, 2) broadcasts; into (3,) fails): not modelled.
        raise NotImplementedError("normal(Tensor mean, float std, out=...): an out of another "
                                  "shape than mean is not supported; resize it first")
    if out is not None:
        return factory_out("normal", out, dtype, requires_grad, lambda d: _normal(
            mean, std, size, generator, tensors, d))
    return _normal(mean, std, size, generator, tensors, dtype, requires_grad)


def _as_number(value):
    if isinstance(value, Tensor) and not value._data.ndim and not value.requires_grad:
        return value.item()
    return value


def _all_non_negative(values: np.ndarray) -> bool:
    """Whether no value is negative or nan. Up to 16 values through a list (0.35 against 1.0
    us for the reduction; the sum is nan where a value is, which min may pass over)."""
    if values.size <= 16 and values.dtype.kind == "f":  # (bfloat16: the reduction)
        listed = values.ravel().tolist()
        total = sum(listed)
        return not listed or (min(listed) >= 0 and total == total)
    return not values.size or np.minimum.reduce(values, axis=None) >= 0


def _normal(mean, std, size, generator, tensors: list, dtype,
            requires_grad: bool = False) -> Tensor:
    # With a tensor mean or std, ``dtype`` is only ever ``out``'s: PyTorch draws a standard
    # normal in the output's dtype, then scales and shifts it there.
    if MAPPED:
        refuse_mapped("same", *tensors)
    rng = numpy_generator(generator)
    if not tensors:
        if size is None:
            raise TypeError("normal(): with numbers for mean and std, give size")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {float(std):g}")
        shape = _shape_arg((size,))
        dtype = _float_dtype(dtype, "normal")
        source = torch_source(generator)
        if source is not None:
            return _finish(stream.normal(source, shape, dtype, mean, std), requires_grad)
        return _finish((rng.standard_normal(shape) * std + mean).astype(dtype), requires_grad)
    if size is not None:
        raise TypeError("normal(): size is only accepted when mean and std are numbers")
    for v in tensors:
        if bf16.kind(v._data.dtype) != "f":
            raise NotImplementedError(f"normal: not implemented for dtype {v.dtype}")
    mean_t = mean if isinstance(mean, Tensor) else _lift(mean, tensors[0])
    std_t = std if isinstance(std, Tensor) else _lift(std, tensors[0])
    shape = mean_t._data.shape
    if std_t._data.shape != shape:  # (np.broadcast_shapes: 2.5 us; normal on [8]: 22 -> 16 us)
        try:
            shape = np.broadcast_shapes(shape, std_t._data.shape)
        except ValueError:
            raise RuntimeError(f"normal: mean of shape {mean_t.shape} and std of shape "
                               f"{std_t.shape} cannot be broadcast together") from None
    # (the smallest std: one reduction; a nan fails the comparison as it fails std >= 0)
    if not _all_non_negative(std_t._data):
        raise RuntimeError("normal: expected every std to be >= 0")
    # PyTorch's result has mean's dtype when mean is a tensor (float32 mean, float64 std:
    # float32), else std's; ``dtype`` here is only ever ``out``'s.
    out_dtype = tensors[0]._data.dtype if dtype is None else _float_dtype(dtype, "normal")
    source = torch_source(generator)
    if source is not None:  # PyTorch: a standard normal of the result's dtype, * std + mean
        draws = stream.normal(source, shape, out_dtype) * std_t._data + mean_t._data
    else:
        draws = rng.standard_normal(shape) * std_t._data + mean_t._data
    draws = draws.astype(out_dtype, copy=False)
    return _sampled(draws, tensors)


@tensor_method
def multinomial(input, num_samples: int, replacement: bool = False, *,
                generator=None, out=None) -> Tensor:
    """Draw category indices with probabilities proportional to the rows of ``input``.

    Args:
        input: non-negative weights, shape (C,) or (N, C) (need not sum to 1).
        num_samples: draws per row; without replacement at most C.
        replacement: draw with replacement.
        generator: as ``randn``.
        out: PyTorch's ``out=`` (botorch's batched_multinomial passes ``out=None``).

    Returns:
        int64 indices of shape (num_samples,) or (N, num_samples).
    """
    written = out  # (``out`` names the draws' array below)
    if MAPPED:
        refuse_mapped("same", input)
    weights = input._data if isinstance(input, Tensor) else np.asarray(input)
    if weights.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: input must be 1-d or 2-d, got shape {weights.shape}")
    if weights.dtype is bf16.BF16:  # (weights as float32: the draws are the same)
        weights = weights.astype(np.float32)
    if weights.dtype.kind != "f":
        raise RuntimeError(f"multinomial: expected a floating input, got {weights.dtype}")
    n_categories = weights.shape[-1]
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not replacement and num_samples > n_categories:
        raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (multinomial: {num_samples} samples from "
                           f"{n_categories} categories)")
    rows = weights.reshape(-1, n_categories).astype(np.float64)
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0 "
                           "(multinomial)")
    totals = rows.sum(axis=1)
    if np.any(totals <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    source = torch_source(generator)
    if source is not None:
        out = stream.multinomial(source._bits, weights.reshape(-1, n_categories), num_samples,
                                 replacement)
        return write_out(written, _leaf(out.reshape(weights.shape[:-1] + (num_samples,))))
    rng = numpy_generator(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, (row, total) in enumerate(zip(rows, totals)):
        if replacement:
            out[i] = rng.choice(n_categories, size=num_samples, replace=True, p=row / total)
        else:
            # Sampling without replacement as a race of exponential clocks, rate = weight:
            # the first num_samples to ring. Zero weights never ring before the others (they
            # come last, in random order, as in PyTorch).
            with np.errstate(divide="ignore"):
                clocks = rng.standard_exponential(n_categories) / row
            tie_break = rng.random(n_categories)
            out[i] = np.lexsort((tie_break, clocks))[:num_samples]
    return write_out(written, _leaf(out.reshape(weights.shape[:-1] + (num_samples,))))


# The meta device (meta.py): these factories make meta tensors, drawing nothing, when asked.
meta_factories(globals(), shaped=("rand", "randn"),
                     like=("rand_like", "randn_like", "randint_like"),
                     integers=("randint", "randperm"))


# Generator state tensors (engine random.py keeps the bytes; it sits below Tensor).
def _state_tensor(data: np.ndarray) -> Tensor:
    return _leaf(data)


def _state_input(new_state) -> np.ndarray:
    """The bytes of a state given to ``set_state``, with PyTorch's type checks."""
    if not isinstance(new_state, Tensor):
        kind = type(new_state)
        name = kind.__name__ if kind.__module__ == "builtins" else \
            f"{kind.__module__}.{kind.__qualname__}"
        raise TypeError(f"expected a torch.ByteTensor, but got {name}")
    if new_state.dtype != dtypes.uint8:
        raise TypeError("RNG state must be a torch.ByteTensor")
    # NOTE: PyTorch reads a non-contiguous tensor's memory as if contiguous from its first
    # element; this reads its values in order (the same for every contiguous tensor).
    return np.ascontiguousarray(new_state._data).reshape(-1)


_random_module._to_tensor = _state_tensor
_random_module._from_tensor = _state_input
