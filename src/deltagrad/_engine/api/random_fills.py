"""The in-place random fills (Tensor methods only): ``random_``, ``exponential_``,
``geometric_``, ``bernoulli_``, ``cauchy_``, ``log_normal_``, with PyTorch's dtype and range
checks (``fill_kinds``, also used by ``inplace_random``'s ``uniform_`` / ``normal_``). Moved out of
``api.random`` (session 27, FS1) to keep that module under the 800-line limit; ``api.random``
imports them back, so its names are unchanged.
"""

from __future__ import annotations

import numpy as np

from .. import bf16, dtypes, stream
from ..modes import MAPPED, refuse_mapped
from ..random import numpy_generator, torch_source
from ..tensor import Tensor, _check_inplace, tensor_method

_KERNEL_NAMES = dict(dtypes._CPP_NAMES, complex64="ComplexFloat", complex128="ComplexDouble")


def fill_kinds(self, kernel: str, kinds: str = "f", continuous: str = "") -> None:
    """PyTorch's refusal of a random fill of a dtype its kernel lacks (``kinds``: the NumPy
    kinds it takes, bfloat16 as "f"); deltagrad cast the draws (truncated into an int one)."""
    if bf16.kind(self._data.dtype) in kinds:
        return
    name = _KERNEL_NAMES.get(str(self._data.dtype), str(self._data.dtype))
    if continuous:
        raise RuntimeError(f"{continuous} distribution is a continuous probability "
                           f"distribution. dtype must be a floating point but you specified "
                           f"{name}")
    raise NotImplementedError(f'"{kernel}" not implemented for \'{name}\'')


def _fill(self, name: str, values: np.ndarray) -> Tensor:
    _check_inplace(self, name)
    if not self._data.flags.writeable:  # (an expanded tensor: PyTorch's error, not NumPy's)
        from .write_checks import refused_write  # (write_checks imports api modules)
        raise RuntimeError(refused_write(self._data))
    self._data[...] = values.astype(self._data.dtype, copy=False)
    return self


def _top_of(dtype: np.dtype) -> int:
    """PyTorch's default upper bound of ``random_()``: every integer the dtype holds exactly."""
    if dtype.kind == "b":
        return 2
    if dtype.kind == "V":  # (bfloat16, ml_dtypes' kind: 8 significant bits; SL5's fuzzer)
        return 2 ** 8 + 1
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1) + 1
    if dtype.kind == "u" and dtype.itemsize > 1:  # (PyTorch's kernel has no such case)
        raise NotImplementedError(f'"random_kernel_cpu" not implemented for '
                                  f"'UInt{dtype.itemsize * 8}'")
    return int(np.iinfo(dtype).max) + 1


# The C type names PyTorch's range errors of random_ give.
_C_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char",
            "int16": "short int", "int32": "int", "int64": "long int",
            "uint16": "unsigned short int", "uint32": "unsigned int",
            "uint64": "unsigned long int", "float16": "c10::Half", "float32": "float",
            "float64": "double"}


def _check_random_range(dtype: np.dtype, low: int, high: int) -> None:
    """PyTorch's checks of ``random_(from, to)``: from < to, and from and to - 1 within the
    dtype (no integer draw wraps around, no float one overflows)."""
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    if dtype.name in _C_NAMES:
        if dtype.kind == "f":
            lowest, top = -float(np.finfo(dtype).max), float(np.finfo(dtype).max)
        else:
            lowest, top = (0, 1) if dtype.kind == "b" else (int(np.iinfo(dtype).min),
                                                             int(np.iinfo(dtype).max))
        for value, what in ((low, "from"), (high - 1, "to - 1")):
            if not lowest <= value <= top:
                raise RuntimeError(f"{what} is out of bounds for {_C_NAMES[dtype.name]}")


@tensor_method
def random_(self, from_=None, to=None, *, generator=None, **kwargs) -> Tensor:
    """Fill with integers uniform on [from, to): ``random_()`` (every integer the dtype holds
    exactly), ``random_(to)`` or ``random_(from, to)``. ``from`` may be passed as ``from_``
    or, as in PyTorch, by the keyword ``from``."""
    from_ = kwargs.pop("from", from_)
    if kwargs:
        raise TypeError(f"random_() got unexpected arguments {sorted(kwargs)}")
    fill_kinds(self, "random_kernel_cpu", "fiub")
    if from_ is None and to is None:
        low, high = 0, _top_of(self._data.dtype)
    else:
        low, high = (0, from_) if to is None else (0 if from_ is None else from_, to)
        _check_random_range(self._data.dtype, int(low), int(high))
    source = torch_source(generator)
    if source is not None:
        return _fill(self, "random_", stream.in_memory_order(
            self._data, lambda shape: stream.integers(source._bits, int(low), int(high), shape)))
    rng = numpy_generator(generator)
    draws = rng.integers(int(low), int(high), size=self.shape, dtype=np.int64) \
        if high <= 2 ** 63 else rng.integers(int(low), int(high), size=self.shape,
                                             dtype=np.uint64)
    return _fill(self, "random_", draws)


@tensor_method
def exponential_(self, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Exponential(rate ``lambd``) draws."""
    if lambd <= 0:
        raise RuntimeError(f"exponential_: expected lambd > 0, got {lambd}")
    fill_kinds(self, "exponential_", continuous="Exponential")
    source = torch_source(generator)
    if source is not None:
        return _fill(self, "exponential_", stream.in_memory_order(
            self._data, lambda shape: stream.exponential(source._bits, shape, self._data.dtype,
                                                         lambd)))
    return _fill(self, "exponential_",
                 numpy_generator(generator).exponential(1.0 / lambd, self.shape))


@tensor_method
def geometric_(self, p: float, *, generator=None) -> Tensor:
    """Fill with Geometric(``p``) draws: the number of trials to the first success (>= 1)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_: expected 0 < p < 1, got {p}")
    fill_kinds(self, "geometric_cpu", "fiu")
    source = torch_source(generator)
    if source is not None:
        return _fill(self, "geometric_",
                     stream.geometric(source._bits, tuple(self.shape), np.float64, p))
    return _fill(self, "geometric_", numpy_generator(generator).geometric(p, self.shape))


@tensor_method
def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 draws that are 1 with probability ``p`` (a number or a tensor)."""
    if MAPPED:  # (vmap's randomness='same' with a mapped probability)
        refuse_mapped("same", p)
    probs = p._data if isinstance(p, Tensor) else float(p)
    # (a number checked without arrays: bernoulli_(0.5) of [8, 8] 13.7 -> 7.1 us; nan fails
    # both checks alike)
    if (not 0.0 <= probs <= 1.0 if isinstance(probs, float)
            else np.any(~((np.asarray(probs) >= 0) & (np.asarray(probs) <= 1)))):
        raise RuntimeError("bernoulli_: expected 0 <= p <= 1")
    fill_kinds(self, "bernoulli_scalar_cpu_", "fiub")
    source = torch_source(generator)
    if source is None:
        draws = numpy_generator(generator).random(self.shape) < np.broadcast_to(probs,
                                                                                self.shape)
    elif isinstance(probs, float):
        draws = stream.in_memory_order(self._data, lambda shape: stream.bernoulli_scalar(
            source._bits, shape, probs))
    else:
        draws = stream.bernoulli_tensor(source._bits, np.broadcast_to(probs, self.shape))
    return _fill(self, "bernoulli_", draws)


@tensor_method
def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy(``median``, ``sigma``) draws."""
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    fill_kinds(self, "cauchy_", continuous="Cauchy")
    source = torch_source(generator)
    if source is not None:
        draws = stream.cauchy(source._bits, tuple(self.shape), np.float64, median, sigma)
    else:
        draws = median + sigma * numpy_generator(generator).standard_cauchy(self.shape)
    return _fill(self, "cauchy_", draws)


@tensor_method
def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with draws whose logarithm is Normal(``mean``, ``std``)."""
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    fill_kinds(self, "log_normal_cpu")
    source = torch_source(generator)
    if source is not None:
        return _fill(self, "log_normal_",
                     stream.log_normal(source, tuple(self.shape), np.float64, mean, std))
    return _fill(self, "log_normal_", numpy_generator(generator).lognormal(mean, std, self.shape))
