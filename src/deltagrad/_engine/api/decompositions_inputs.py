"""The input checks and small helpers the matrix decompositions share (``matrices``,
``complex_values``, ``no_out``, ``empty_of``, ...), used by ``decompositions`` and
``decompositions_lu``. Moved out of ``decompositions`` (session 27, FS1) to keep that module under
the 800-line limit; ``decompositions`` imports them back, so its names are unchanged.
"""

from __future__ import annotations

import numpy as np

from ..autograd import _GradMode
from ..ops.linalg_solve import LinAlgError, layout, triangle_mask
from ..tensor import Tensor, _leaf
from ._common import laid_out, parts
from ._pointwise import input_tensor

_TYPE_NAMES = {"float16": "Half", "bfloat16": "BFloat16", "int64": "Long", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def matrices(A, name: str, square: bool = False, kernel: str | None = None,
             complex_ok: bool = False) -> Tensor:
    """``A`` checked as PyTorch's linalg functions check it: at least 2-D, float32 or float64
    (other types raise RuntimeError), square in the last two dims if ``square``. With
    ``kernel`` (PyTorch's kernel name, as ``"lu_cpu"``) every other dtype is that kernel's
    NotImplementedError, as for the ops that check no dtype before their kernel. With
    ``complex_ok`` complex64 / complex128 pass too (the caller's ``complex_values``)."""
    A = input_tensor(A, name, "A")
    data = A._data
    shape = data.shape  # (the array's: Tensor.shape makes a Size, 0.2 us each)
    if len(shape) < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    dtype = data.dtype
    if kernel is not None and dtype.char not in "fd":
        type_name = _TYPE_NAMES.get(dtype.name, dtype.name)
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_name}' ({name}: "
                                  "float32 and float64 only)")
    if dtype.char not in "fd":  # float32, float64
        type_name = _TYPE_NAMES.get(dtype.name, dtype.name)
        if dtype.kind == "f":  # (NotImplementedError is a RuntimeError: both PyTorch's)
            raise NotImplementedError(f"{name}: not implemented for '{type_name}' (float32 "
                                      "and float64 only)")
        if dtype.kind != "c":
            raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                               f"Got {type_name}")
        if not (complex_ok and dtype.char in "FD"):  # (complex_ok: the caller's complex_values)
            raise RuntimeError(f"{name}: complex matrices are not supported by deltagrad's "
                               f"linear algebra (float32 and float64 only). Got {type_name}")
    if square and shape[-1] != shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{shape[-2]} by {shape[-1]} matrices")
    return A


def complex_values(A: Tensor, name: str, compute, layouts: str = "") -> tuple | None:
    """The results of ``compute`` (NumPy's complex LAPACK) on a complex ``A``, as leaves, or None
    for a real ``A``. Values only: an ``A`` that requires grad in grad mode raises
    NotImplementedError naming the op and dtype (the rules are written for real matrices).
    ``layouts``: a letter per result, ``'F'`` for one with column-major matrices (LAPACK's and
    PyTorch's strides; see ``parts``)."""
    data = A._data
    if data.dtype.kind != "c":
        return None
    if A._rg and _GradMode.enabled:
        raise NotImplementedError(
            f"{name}: gradients through complex tensors are not supported for this op yet (got "
            f"{data.dtype}; values are computed under no_grad or for inputs that do not "
            "require grad)")
    try:
        results = compute(data)
    except np.linalg.LinAlgError as error:
        raise LinAlgError(f"{name}: {error} (complex {tuple(data.shape)})") from None
    return tuple(_leaf(laid_out(r, True) if order == "F" else np.ascontiguousarray(r))
                 for r, order in zip(results, layouts or "C" * len(results)))


def no_out(out, name: str) -> None:
    if out is not None:
        raise TypeError(f"{name}: out= is not supported")


def unpacked(packed: Tensor, shapes: list, layouts: str = "") -> list:
    """The results a decomposition op packed into one tensor, as tensors (``parts``: views of
    it, or laid out as PyTorch's by ``layouts``; one ``packed_part`` node each)."""
    return parts(packed, layout(shapes)[2], layouts)


def _filled(A: Tensor, upper: bool) -> np.ndarray:
    """The symmetric matrices of one triangle of ``A`` (the one PyTorch reads), as arrays."""
    data = A._data
    other = data.swapaxes(-1, -2)
    return np.where(triangle_mask(data.shape[-1], upper, False, bool), data,
                    np.conj(other) if data.dtype.kind == "c" else other)  # (Hermitian)


def empty_of(t: Tensor) -> Tensor:
    """An empty slice of ``t``, still in its graph: the empty results PyTorch computes from
    an input (and so are differentiable, with no gradient to give) are made from it."""
    return t.reshape(-1)[:0]


def _check_uplo(UPLO: str) -> bool:  # noqa: N803 - PyTorch's name
    if not isinstance(UPLO, str):
        raise TypeError(f"argument 'UPLO' (position 2) must be str, not {type(UPLO).__name__}")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO == "U"
