"""Elementwise math: trigonometric and hyperbolic functions, the erf family, exp / log variants,
reciprocals, rounding and signs, and two-argument functions (atan2, hypot, logaddexp, xlogy,
copysign, lerp, heaviside). PyTorch's names (with its ``arc*`` aliases) and dtype rules:
integer input to a floating function gives the default float dtype."""

from __future__ import annotations

import numbers

import numpy as np

from .. import bf16, dtypes
from ..node_names import rename_node
from ..ops import OPS, Op
from ..ops.elementwise_math import check_kind
from ..promotion import check_fits, refuse_complex, result_type
from ..tensor import Tensor, _cast_quietly, _leaf, _result, apply, tensor_method
from ._common import NOT_GIVEN
from ._pointwise import (
    as_tensor,
    input_tensor,
    not_a_tensor,
    operands,
    require_a_tensor,
    require_tensors,
    scalars_in_range,
    torch_name,
    write_out,
)

__all__ = ["acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
           "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "copysign", "cosh",
           "deg2rad", "erf", "erfc", "erfinv", "exp2", "expm1", "fix", "floor", "frac",
           "heaviside", "hypot", "lerp", "log10", "log1p", "log2", "logaddexp", "logaddexp2",
           "logit", "nan_to_num", "rad2deg", "reciprocal", "round", "rsqrt", "sgn", "sign",
           "sinc", "sinh", "tan", "trunc", "xlogy"]


_LERP, _HEAVISIDE = OPS["lerp"], OPS["heaviside"]
_ndarray, _asarray = np.ndarray, np.asarray


def _unary(name: str, input, out, **attrs) -> Tensor:
    if out is None and type(input) is Tensor:  # (the common call: no conversion, no out=)
        return apply(OPS[name], input, **attrs)
    return write_out(name, out, apply(OPS[name], input_tensor(input, name), **attrs),
                     exact=name in _SAME_DTYPE_OUT)


# The functions whose result keeps the input's dtype: PyTorch requires out= of that dtype
# ("Found dtype Float but expected Long") rather than casting into it.
_SAME_DTYPE_OUT = {"floor", "ceil", "trunc", "round", "frac", "sign"}


# PyTorch takes numbers only as the second argument of these (copysign, xlogy: also first).
_TENSOR_OTHER = {"atan2", "logaddexp", "logaddexp2", "hypot", "heaviside"}
_NUMBER_INPUT = {"xlogy"}


def _binary(name: str, input, other, out) -> Tensor:
    if out is None and type(input) is Tensor and type(other) is Tensor:
        # The common call: two tensors, no out= (the checks below build keyword dicts;
        # heaviside on [8]: 4.0 -> 3.3 us).
        if input._data.dtype.kind == "c" or other._data.dtype.kind == "c":
            _real_only(name, input, other)
        return apply(OPS[name], input, other)
    if name not in _NUMBER_INPUT:
        require_tensors(name, input=input)
    else:
        require_a_tensor(name, input, other)
    if name in _TENSOR_OTHER:
        require_tensors(name, other=other)
    input, other = operands(input, other, name)
    _real_only(name, input, other)
    return write_out(name, out, apply(OPS[name], input, other))


# Real functions PyTorch has no complex kernels for (NumPy computes some silently: xlogy).
_REAL_ONLY = {"xlogy", "atan2", "hypot", "copysign", "heaviside"}


def _real_only(name: str, input: Tensor, other: Tensor) -> None:
    if name in _REAL_ONLY:
        for x in (input, other):
            dtype = x._data.dtype
            if dtype.kind == "c":
                if name == "heaviside":
                    raise RuntimeError("heaviside is not yet implemented for complex tensors.")
                kind = "ComplexFloat" if dtype.itemsize == 8 else "ComplexDouble"
                raise NotImplementedError(f'"{name}_cpu" not implemented for \'{kind}\'')


# ==============================================================================================
# Trigonometric and hyperbolic functions.


@tensor_method
def tan(input, *, out=None) -> Tensor:
    """Tangent, elementwise."""
    return _unary("tan", input, out)


@tensor_method
def asin(input, *, out=None) -> Tensor:
    """Inverse sine (nan outside [-1, 1])."""
    return _unary("asin", input, out)


@tensor_method
def acos(input, *, out=None) -> Tensor:
    """Inverse cosine (nan outside [-1, 1])."""
    return _unary("acos", input, out)


@tensor_method
def atan(input, *, out=None) -> Tensor:
    """Inverse tangent."""
    return _unary("atan", input, out)


@tensor_method
def atan2(input, other, *, out=None) -> Tensor:
    """The angle of the point (other, input): ``atan(input / other)`` in the right quadrant.

    The gradient at the origin is 0 (PyTorch's value).
    """
    return _binary("atan2", input, other, out)


@tensor_method
def sinh(input, *, out=None) -> Tensor:
    """Hyperbolic sine."""
    return _unary("sinh", input, out)


@tensor_method
def cosh(input, *, out=None) -> Tensor:
    """Hyperbolic cosine."""
    return _unary("cosh", input, out)


@tensor_method
def asinh(input, *, out=None) -> Tensor:
    """Inverse hyperbolic sine."""
    return _unary("asinh", input, out)


@tensor_method
def acosh(input, *, out=None) -> Tensor:
    """Inverse hyperbolic cosine (nan below 1)."""
    return _unary("acosh", input, out)


@tensor_method
def atanh(input, *, out=None) -> Tensor:
    """Inverse hyperbolic tangent (+-inf at +-1, nan beyond)."""
    return _unary("atanh", input, out)


arcsin = tensor_method(asin, name="arcsin")
arccos = tensor_method(acos, name="arccos")
arctan = tensor_method(atan, name="arctan")
arctan2 = tensor_method(atan2, name="arctan2")
arcsinh = tensor_method(asinh, name="arcsinh")
arccosh = tensor_method(acosh, name="arccosh")
arctanh = tensor_method(atanh, name="arctanh")


@tensor_method
def sinc(input, *, out=None) -> Tensor:
    """The normalised sinc, ``sin(pi x) / (pi x)``, 1 at 0."""
    return _unary("sinc", input, out)


@tensor_method
def deg2rad(input, *, out=None) -> Tensor:
    """Degrees to radians."""
    return _unary("deg2rad", input, out)


@tensor_method
def rad2deg(input, *, out=None) -> Tensor:
    """Radians to degrees."""
    return _unary("rad2deg", input, out)


# ==============================================================================================
# erf family, exp and log variants, reciprocals.


@tensor_method
def erf(input, *, out=None) -> Tensor:
    """The error function, ``2 / sqrt(pi) * integral of exp(-t^2) from 0 to input``.

    >>> import deltagrad as dg
    >>> [f"{v:.4f}" for v in dg.erf(dg.tensor([0.0, 0.5, -3.0])).tolist()]
    ['0.0000', '0.5205', '-1.0000']
    """
    refuse_complex(input, '"erf_vml_cpu" not implemented for \'ComplexFloat\'')
    return _unary("erf", input, out)


@tensor_method
def erfc(input, *, out=None) -> Tensor:
    """``1 - erf(input)``, accurate where it is tiny."""
    refuse_complex(input, '"erfc_vml_cpu" not implemented for \'ComplexFloat\'')
    return _unary("erfc", input, out)


@tensor_method
def erfinv(input, *, out=None) -> Tensor:
    """The inverse of erf on [-1, 1] (+-inf at +-1, nan outside)."""
    refuse_complex(input, '"erfinv_vml_cpu" not implemented for \'ComplexFloat\'')
    return _unary("erfinv", input, out)


@tensor_method
def exp2(input, *, out=None) -> Tensor:
    """``2 ** input``; integer input gives the default float dtype."""
    return _unary("exp2", input, out)


@tensor_method
def expm1(input, *, out=None) -> Tensor:
    """``exp(input) - 1``, accurate near 0."""
    return _unary("expm1", input, out)


@tensor_method
def log2(input, *, out=None) -> Tensor:
    """Base-2 logarithm."""
    return _unary("log2", input, out)


@tensor_method
def log10(input, *, out=None) -> Tensor:
    """Base-10 logarithm."""
    return _unary("log10", input, out)


@tensor_method
def log1p(input, *, out=None) -> Tensor:
    """``log(1 + input)``, accurate near 0."""
    return _unary("log1p", input, out)


@tensor_method
def logaddexp(input, other, *, out=None) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow."""
    return _binary("logaddexp", input, other, out)


@tensor_method
def logaddexp2(input, other, *, out=None) -> Tensor:
    """``log2(2 ** input + 2 ** other)`` without overflow."""
    return _binary("logaddexp2", input, other, out)


@tensor_method
def rsqrt(input, *, out=None) -> Tensor:
    """``1 / sqrt(input)`` (inf at 0, nan below)."""
    return _unary("rsqrt", input, out)


@tensor_method
def reciprocal(input, *, out=None) -> Tensor:
    """``1 / input``; integer input gives the default float dtype."""
    return _unary("reciprocal", input, out)


@tensor_method
def logit(input, eps: float | None = None, *, out=None) -> Tensor:
    """``log(p / (1 - p))``, the inverse of sigmoid.

    Args:
        input: probabilities.
        eps: if given, ``input`` is first clamped to ``[eps, 1 - eps]`` (and the gradient is 0
            where it was clamped); if None, values outside [0, 1] give nan.
        out: optional tensor to write the result into.

    Returns:
        The log-odds.
    """
    refuse_complex(input, '"logit_cpu" not implemented for \'ComplexFloat\'')
    if isinstance(eps, Tensor):  # PyTorch's parser reads a 0-d tensor of any dtype as a float
        if eps.ndim:
            raise TypeError(f"logit(): argument 'eps' (position 2) must be float, not a "
                            f"Tensor of shape {list(eps.shape)}")
        eps = float(eps._data)
    return _unary("logit", input, out, eps=eps)


@tensor_method
def xlogy(input, other, *, out=None) -> Tensor:
    """``input * log(other)``, and 0 where ``input`` is 0 (unless ``other`` is nan)."""
    return _binary("xlogy", input, other, out)


@tensor_method
def hypot(input, other, *, out=None) -> Tensor:
    """``sqrt(input ** 2 + other ** 2)`` without overflow."""
    return _binary("hypot", input, other, out)


@tensor_method
def copysign(input, other, *, out=None) -> Tensor:
    """``|input|`` with the sign of ``other`` (floating result; -0.0 counts as negative)."""
    return _binary("copysign", input, other, out)


# ==============================================================================================
# Rounding and signs. Integer input is returned unchanged (as a new tensor); gradients are 0.


@tensor_method
def floor(input, *, out=None) -> Tensor:
    """The largest integer not above each element (gradient 0)."""
    return _unary("floor", input, out)


@tensor_method
def ceil(input, *, out=None) -> Tensor:
    """The smallest integer not below each element (gradient 0)."""
    return _unary("ceil", input, out)


@tensor_method
def trunc(input, *, out=None) -> Tensor:
    """Rounded towards zero (gradient 0)."""
    return _unary("trunc", input, out)


fix = tensor_method(trunc, name="fix")


@tensor_method
def round(input, *, decimals: int = NOT_GIVEN, out=None) -> Tensor:  # noqa: A001
    """Round half to even (as PyTorch and NumPy), to ``decimals`` decimal places.

    >>> import deltagrad as dg
    >>> dg.round(dg.tensor([0.5, 1.5, 2.5, -0.5])).tolist()
    [0.0, 2.0, 2.0, -0.0]
    """
    if decimals is NOT_GIVEN:
        return _unary("round", input, out, decimals=0)
    if decimals is None or isinstance(decimals, bool):  # (PyTorch's TypeError; s27 BR16)
        raise TypeError(f"round(): argument 'decimals' must be int, not "
                        f"{type(decimals).__name__}")
    if decimals == 0 and isinstance(input, Tensor) and input._data.dtype.kind in "biu":
        # (PyTorch's round.decimals overload has no integer kernel, even for decimals=0)
        check_kind("round_vml", input._data, "f")
    if isinstance(decimals, float):  # (PyTorch's parser: an int, never a truncated float)
        raise TypeError(f"round(): argument 'decimals' must be int, not float ({decimals})")
    # (PyTorch's round.decimals overload records RoundBackward1, even for decimals=0)
    return rename_node(_unary("round", input, out, decimals=int(decimals)), "RoundBackward1")


@tensor_method
def frac(input, *, out=None) -> Tensor:
    """The fractional part, ``input - trunc(input)`` (floating input only)."""
    return _unary("frac", input, out)


@tensor_method
def sign(input, *, out=None) -> Tensor:
    """-1, 0 or 1 by the sign of each element (0 for nan; bool stays bool; gradient 0)."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex "
                                  "numbers. Please use torch.sgn instead.")
    return _unary("sign", input, out)


@tensor_method
def sgn(input, *, out=None) -> Tensor:
    """``sign``; for complex input z / |z| (0 at 0), differentiable (found by SL5's fuzzer:
    its gradient raised), with PyTorch's gradient 0 at 0."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "c" and input._rg:
        zero = input.detach().abs() == 0
        scale = input.abs().masked_fill(zero, 1.0)  # (no 0/0 where z = 0, forward or back)
        result = (input / scale).masked_fill(zero, 0)
        return result if out is None else write_out("sgn", out, result, exact=True)
    result = _unary("sign", input, out)
    return result if out is not None else rename_node(result, "SgnBackward0")  # (PyTorch's)


@tensor_method
def nan_to_num(input, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None, *, out=None) -> Tensor:
    """nan, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf``.

    Args:
        input: a tensor (integer input is returned unchanged).
        nan: the value for nan.
        posinf, neginf: the values for +-inf; None means the dtype's largest / lowest finite.
        out: optional tensor to write the result into.

    Returns:
        The tensor with finite values; the gradient is 0 at the replaced entries.
    """
    values = []
    for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if isinstance(value, Tensor):  # (PyTorch's float argument takes a 0-d tensor only)
            if value.ndim:
                raise TypeError(f"nan_to_num(): argument '{name}' must be float, not Tensor")
            value = value.item()
        values.append(value)
    nan, posinf, neginf = values
    if isinstance(out, Tensor) and isinstance(input, Tensor) and out.dtype != input.dtype:
        raise RuntimeError(f"nan_to_num: dtype of out: {torch_name(out._data.dtype)} should be "
                           f"same as input: {torch_name(input._data.dtype)}")
    return _unary("nan_to_num", input, out, nan=nan, posinf=posinf, neginf=neginf)


# ==============================================================================================
# lerp and heaviside.


@tensor_method
def lerp(input, end, weight, *, out=None) -> Tensor:
    """``input + weight * (end - input)``, broadcast; computed from the nearer end.

    Args:
        input, end: floating tensors of one dtype.
        weight: a number or a tensor of that dtype.
        out: optional tensor to write the result into.

    Returns:
        The interpolation; differentiable in all three.
    """
    if type(input) is not Tensor or type(end) is not Tensor:
        require_tensors("lerp", input=input, end=end)
    scalars_in_range(weight)
    dtype = input._data.dtype
    exact = type(weight) is Tensor  # (PyTorch's lerp.Tensor_out takes out='s dtype exactly)
    if exact:
        if (weight._data.ndim == 0 and weight._data.dtype != dtype
                and end._data.dtype == dtype):
            # PyTorch 2.13 promotes a 0-d weight as it ranks (lower than dimensioned tensors):
            # lerp(int64, int64, float 0-d) is float32, (float32, float32, complex 0-d)
            # complex64; a non-floating result has no kernel
            target = result_type(input._data, weight._data)
            if bf16.kind(target) not in "fc":
                raise NotImplementedError(
                    f'"lerp_kernel_tensor" not implemented for \'{torch_name(target)}\'')
            to = dtypes.of(target)
            input, end, weight = input.to(to), end.to(to), weight.to(to)
            dtype = target
        if end._data.dtype is not dtype or weight._data.dtype is not dtype:
            # (the checks spelled out only when a dtype differs: 0.5 us of a small call)
            for name, value in (("end", end), ("weight", weight)):
                if value._data.dtype != dtype:
                    raise RuntimeError(f"expected dtype {_dtype_word(input)} for `{name}` but "
                                       f"got dtype {_dtype_word(value)}")
    else:
        if isinstance(end, Tensor) and end._data.dtype != dtype:
            raise RuntimeError(f"expected dtype {_dtype_word(input)} for `end` but got dtype "
                               f"{_dtype_word(end)}")
        if isinstance(weight, numbers.Number) and bf16.kind(dtype) not in "fc":
            raise NotImplementedError(
                f'"lerp_kernel_scalar" not implemented for \'{torch_name(dtype)}\'')
        if not isinstance(weight, numbers.Number):  # (a list, an ndarray: PyTorch's error)
            raise not_a_tensor("lerp", "weight", 3, weight)
        # PyTorch converts the weight to the kernel's compute type, checked: float32 for
        # float16 / bfloat16 (1e39 raises, 65520 does not), the dtype's precision otherwise
        # (a complex weight for a real tensor raises)
        half = dtype == np.float16 or dtype is bf16.BF16
        if dtype.kind == "c":
            real = np.dtype(np.float64 if dtype == np.complex128 else np.float32)
            for part in (complex(weight).real, complex(weight).imag):
                check_fits(part, real)
        else:
            check_fits(weight, np.dtype(np.float32) if half else dtype)
        if dtype == np.float16:  # (unrounded, as the kernel reads it: _lerp_forward widens)
            weight = _leaf(_cast_quietly(weight, np.dtype(np.float32)))
        elif dtype is not bf16.BF16:  # (bfloat16: the number stays float32, bf16.apply)
            weight = as_tensor(weight, input)
    result = apply(_LERP, input, end, weight)
    return result if out is None else write_out("lerp", out, result, exact=exact)


def _dtype_word(x: Tensor) -> str:
    return {"float32": "float", "float64": "double", "float16": "half",
            "int64": "long", "int32": "int"}.get(str(x._data.dtype), str(x._data.dtype))


def no_derivative_node(name: str, op: Op) -> Op:
    """``op``'s forward under ``name``, with a rule that raises PyTorch's error: for the
    functions PyTorch records but defines no derivative for (a silent zero gradient would hide
    that the program differentiates a step)."""
    message = f"derivative for aten::{name} is not implemented"

    def vjp(F, g, out, *inputs, **attrs):
        raise RuntimeError(message)

    # Not registered (OPS): nothing to gradcheck; like autograd.Function's DelayedError node.
    return Op(name, op.forward, vjp, lambda rng: [], False, False)


def without_derivative(result: Tensor, node: Op) -> Tensor:
    """``result``, recorded as ``node`` (a ``no_derivative_node``) where it was recorded."""
    if result._op is not None and result._rg:
        result._op = node  # (the inputs and attributes stay: only the rule differs)
    return result


_HEAVISIDE_NODE = no_derivative_node("heaviside", _HEAVISIDE)
_HEAVISIDE_NEG_INF = {np.dtype(t): np.array(-np.inf, t) for t in (np.float32, np.float64)}


@tensor_method
def heaviside(input, values, *, out=None) -> Tensor:
    """The step function: 0 below 0, 1 above, ``values`` at 0 (dtypes must match, as in
    PyTorch).

    Its result requires grad when an input does, but a backward that reaches it raises
    RuntimeError, as PyTorch's (it defines no derivative for heaviside).
    """
    if (out is None and type(input) is Tensor and type(values) is Tensor
            and not (input._rg or values._rg)):
        # Nothing to record: the forward and the result straight away, without apply's
        # checks (its dtype is the inputs' own; [8]: 1.18 -> 0.72 us, torch 1.03).
        xd, vd = input._data, values._data
        if ((neg_inf := _HEAVISIDE_NEG_INF.get(xd.dtype)) is not None and vd.dtype is xd.dtype
                and xd.ndim and xd.flags.c_contiguous and vd.flags.c_contiguous):
            # float32 / float64 of one dtype, x not 0-d (an array comes out), row-major (else
            # the op's layout, ops/layouts.py): the forward's own float path without its dtype
            # tests (nan -> -inf first: 0, as PyTorch's). op_overhead.py's 4 cases 0.89 of
            # their time (alternated against HEAD, thread time; s30 SP50). The rest is
            # NumPy's: fmax and heaviside 0.6 us of the 1.8 on [8] (torch 1.4-1.9), and 0.85
            # in heaviside alone where the values broadcast.
            try:
                return _result(np.heaviside(np.fmax(xd, neg_inf), vd), _HEAVISIDE,
                               (input, values), None, False)
            except ValueError:  # (shapes that do not broadcast: apply's message below)
                pass
        try:
            data = _HEAVISIDE.forward(input._data, values._data)
        except ValueError:  # (shapes that do not broadcast: apply's message below)
            pass
        else:
            if type(data) is not _ndarray:  # (0-d: the ufunc returns a scalar)
                data = _asarray(data)
            return _result(data, _HEAVISIDE, (input, values), None, False)
    if isinstance(input, Tensor) and ((isinstance(out, Tensor) and out.dtype != input.dtype)
                                      or (isinstance(values, Tensor)
                                          and values.dtype != input.dtype)):
        # (PyTorch checks out= and values with the input: no cast into another dtype; an
        # input requiring grad was promoted by _binary first, silently: RS1)
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return without_derivative(_binary("heaviside", input, values, out), _HEAVISIDE_NODE)
