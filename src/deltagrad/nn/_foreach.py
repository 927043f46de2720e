"""PyTorch's ``torch._foreach_*`` list functions (used by EMA and optimizer code in the wild).

Each applies one tensor operation to every tensor of a list: PyTorch fuses them into few
kernels, deltagrad loops, so the values, dtypes, autograd and in-place errors are those of the
per-tensor operation. In-place forms (``_foreach_mul_``) return the list they were given; the
others return a tuple. The second operand takes PyTorch's forms: a number, a list of numbers
(one per tensor), a list of tensors, or a 0-d tensor.
"""

from __future__ import annotations

import numbers

from .._engine.api.creation import full
from .._engine.api.linalg import mm
from .._engine.api.norms import vector_norm
from .._engine.api.pointwise import pow as _pow
from .._engine.dtypes import complex64, complex128
from .._engine.tensor import Tensor

_COMPLEX_NAMES = {complex64: "ComplexFloat", complex128: "ComplexDouble"}

_BINARY = ("add", "sub", "mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow")
_UNARY = ("abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1",
          "floor", "frac", "lgamma", "log", "log10", "log1p", "log2", "neg", "reciprocal",
          "round", "rsqrt", "sigmoid", "sign", "sin", "sinh", "sqrt", "tan", "tanh", "trunc")
# PyTorch has no in-place maximum_/minimum_ on Tensor; its _foreach_maximum_ copies into self.
_NO_METHOD_ = ("maximum", "minimum")
_NO_COMPLEX = ("maximum", "minimum", "clamp_min", "clamp_max")


def _tensors(name: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)) or not all(
            isinstance(t, Tensor) for t in tensors):
        raise TypeError(f"{name}(): argument 'self' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    if not tensors:
        raise RuntimeError("Tensor list must have at least one tensor.")
    return list(tensors)


def _operands(name: str, tensors: list, other, allow_tensor: bool = True) -> list:
    """``other`` spread to one operand per tensor (numbers, tensors or a shared 0-d tensor)."""
    if isinstance(other, bool) or isinstance(other, numbers.Number):
        return [other] * len(tensors)
    if isinstance(other, Tensor):
        if not allow_tensor:
            raise TypeError(f"{name}(): a Tensor is not a valid operand here")
        if other.dim() != 0:
            raise RuntimeError(f"scalar tensor expected to be 0 dim but it has {other.dim()} "
                               f"dimensions and {other.numel()} elements.")
        return [other] * len(tensors)
    if isinstance(other, (list, tuple)):
        if all(isinstance(o, Tensor) for o in other):
            if len(other) != len(tensors):
                raise RuntimeError("Tensor lists must have the same number of tensors, got "
                                   f"{len(tensors)} and {len(other)}")
            return list(other)
        if all(isinstance(o, numbers.Number) for o in other):
            if len(other) != len(tensors):
                raise RuntimeError("Tensor list must have same number of elements as scalar "
                                   "list.")
            return list(other)
    raise TypeError(f"{name}() received an invalid combination of arguments - got "
                    f"({type(tensors).__name__}, {type(other).__name__})")


def _second(name: str, op: str, args: tuple, named: dict):
    """The second operand, given by position or by the keyword of its form in PyTorch's
    signatures (``scalar=`` a number, ``scalars=`` a list of them, ``other=`` tensors;
    ``exponent=`` for pow): timm's EMA calls ``_foreach_mul_(tensors, scalar=w)``."""
    if len(args) == 1 and not named:
        return args[0]
    if len(named) == 1 and not args:
        (key, value), = named.items()
        if op == "pow":
            fits = key == "exponent"
        elif key == "scalar":
            fits = isinstance(value, numbers.Number) or (
                isinstance(value, Tensor) and value.dim() == 0)
        elif key == "scalars":
            fits = isinstance(value, (list, tuple)) and all(
                isinstance(v, numbers.Number) for v in value)
        elif key == "other":
            # (PyTorch's one-tensor form exists for add, mul and div only)
            fits = (isinstance(value, Tensor) and op in ("add", "mul", "div")) or (
                isinstance(value, (list, tuple)) and all(isinstance(v, Tensor) for v in value))
        else:
            fits = False
        if fits:
            return value
    got = ", ".join(["list", *(type(a).__name__ for a in args),
                     *(f"{k}={type(v).__name__}" for k, v in named.items())])
    raise TypeError(f"{name}() received an invalid combination of arguments - got ({got})")


def _binary(op: str, inplace: bool):
    name = f"_foreach_{op}{'_' if inplace else ''}"

    def function(self, *args, alpha=None, **named):
        other = _second(name, op, args, named)
        if op == "pow" and not inplace and isinstance(self, numbers.Number):
            # PyTorch's _foreach_pow(scalar, tensors): the scalar raised to each tensor.
            return tuple(_pow(self, exponent) for exponent in _tensors(name, other))
        tensors = _tensors(name, self)
        takes_alpha = op in ("add", "sub")
        if alpha is not None and not (takes_alpha and (
                isinstance(other, Tensor) or (isinstance(other, (list, tuple))
                                              and all(isinstance(o, Tensor) for o in other)))):
            raise TypeError(f"{name}(): argument 'other' (position 2) must be tuple of "
                            f"Tensors, not {type(other).__name__}")
        extra = {} if alpha is None else {"alpha": alpha}
        if op in _NO_COMPLEX and any(t.is_complex() for t in tensors):
            # (PyTorch's foreach kernels refuse complex with NotImplementedError, as its clamp:
            # its Tensor.maximum raises RuntimeError)
            raise NotImplementedError(
                "clamp is not supported for complex types" if op.startswith("clamp") or
                isinstance(other, numbers.Number) else
                f'"{op}_cpu" not implemented for \'{_COMPLEX_NAMES.get(tensors[0].dtype)}\'')
        results = []
        for tensor, operand in zip(tensors, _operands(name, tensors, other)):
            if op in _NO_METHOD_ and isinstance(operand, numbers.Number) and \
                    tensor.is_floating_point():
                # a number as a 0-d tensor of the list's dtype: the same values as clamp_min's,
                # and PyTorch's gradient, which splits at a tie (clamp_min's passes it whole;
                # bfloat16 lists of 20 x 20 hold a 7 now and then; s30 FE1)
                operand = full((), operand, dtype=tensor.dtype)
                if inplace:
                    tensor.copy_(getattr(tensor, op)(operand))
                else:
                    results.append(getattr(tensor, op)(operand))
            elif op in _NO_METHOD_ and isinstance(operand, numbers.Number):
                # a number operand: maximum is clamp_min (Tensor.maximum takes only tensors)
                bound = "clamp_min" if op == "maximum" else "clamp_max"
                method = f"{bound}_" if inplace else bound
                result = getattr(tensor, method)(operand)
                if not inplace:
                    results.append(result)
            elif inplace and op in _NO_METHOD_:
                tensor.copy_(getattr(tensor, op)(operand))
            elif inplace:
                getattr(tensor, f"{op}_")(operand, **extra)
            else:
                results.append(getattr(tensor, op)(operand, **extra))
        return self if inplace else tuple(results)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (f"``{op}`` of each tensor of ``self`` with the matching operand of "
                        f"``other``{' in place; returns self' if inplace else ''}.")
    return function


def _unary(op: str, inplace: bool):
    name = f"_foreach_{op}{'_' if inplace else ''}"

    def function(self):
        tensors = _tensors(name, self)
        if inplace:
            for tensor in tensors:
                getattr(tensor, f"{op}_")()
            return self
        return tuple(getattr(tensor, op)() for tensor in tensors)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``{op}`` of each tensor of ``self``{' in place' if inplace else ''}."
    return function


def _scales(name: str, count: int, args: tuple, named: dict):
    """addcmul / addcdiv's scale: PyTorch's three signatures, a number (by position or
    ``value=``), a list of numbers or a 1-d tensor of one scale per tensor (by position or
    ``scalars=``)."""
    if not args and not named:
        return 1
    if len(args) + len(named) == 1 and set(named) <= {"value", "scalars"}:
        value = args[0] if args else next(iter(named.values()))
        number = isinstance(value, numbers.Number)
        if "value" in named and not number or "scalars" in named and number:
            pass  # (value= takes a number, scalars= a list or a tensor)
        elif isinstance(value, Tensor):
            if value.dim() != 1:
                raise RuntimeError("Expected packed scalar Tensor to be of dimension 1. Got "
                                   f"{value.dim()} instead.")
            if value.numel() != count:
                raise RuntimeError(f"Expected length of scalars to match input of length "
                                   f"{count} but got {value.numel()} instead.")
            return value.tolist()
        else:
            return value
    got = ", ".join(["list"] * 3 + [type(a).__name__ for a in args] +
                    [f"{k}={type(v).__name__}" for k, v in named.items()])
    raise TypeError(f"{name}() received an invalid combination of arguments - got ({got})")


def _ternary(op: str, inplace: bool):
    name = f"_foreach_{op}{'_' if inplace else ''}"

    def function(self, tensor1, tensor2, *args, **named):
        tensors = _tensors(name, self)
        firsts = _operands(name, tensors, _tensors(name, tensor1))
        seconds = _operands(name, tensors, _tensors(name, tensor2))
        value = _scales(name, len(tensors), args, named)
        values = _operands(name, tensors, value, allow_tensor=False)
        results = []
        for tensor, a, b, scale in zip(tensors, firsts, seconds, values):
            if inplace:
                getattr(tensor, f"{op}_")(a, b, value=scale)
            else:
                results.append(getattr(tensor, op)(a, b, value=scale))
        return self if inplace else tuple(results)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``{op}`` of each tensor of ``self``{' in place' if inplace else ''}."
    return function


def _lerp(inplace: bool):
    name = f"_foreach_lerp{'_' if inplace else ''}"

    def function(self, tensors1, weight):
        tensors = _tensors(name, self)
        ends = _operands(name, tensors, _tensors(name, tensors1))
        weights = _operands(name, tensors, weight)
        if inplace:
            for tensor, end, w in zip(tensors, ends, weights):
                tensor.lerp_(end, w)
            return self
        return tuple(tensor.lerp(end, w) for tensor, end, w in zip(tensors, ends, weights))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = ("``lerp`` of each tensor of ``self`` towards the matching tensor of "
                        f"``tensors1``{' in place; returns self' if inplace else ''}.")
    return function


def _foreach_zero_(self):
    """Fill every tensor of ``self`` with zeros; returns ``self``."""
    for tensor in _tensors("_foreach_zero_", self):
        tensor.zero_()
    return self


def _foreach_copy_(self, src, non_blocking: bool = False):
    """Copy each tensor of ``src`` into the matching tensor of ``self``; returns ``self``."""
    tensors = _tensors("_foreach_copy_", self)
    for tensor, source in zip(tensors, _operands("_foreach_copy_", tensors,
                                                 _tensors("_foreach_copy_", src))):
        tensor.copy_(source)
    return self


def _foreach_clone(self):
    """A copy of each tensor of ``self``, as a tuple."""
    return tuple(tensor.clone() for tensor in _tensors("_foreach_clone", self))


def _foreach_norm(self, ord=2, dtype=None):  # noqa: A002 - PyTorch's name
    """The vector ``ord``-norm of each tensor of ``self`` (0-d tensors), as a tuple."""
    return tuple(vector_norm(tensor, ord, dtype=dtype)
                 for tensor in _tensors("_foreach_norm", self))


def _foreach_mm(self, mat2):
    """The matrix product of each tensor of ``self`` with the matching one of ``mat2``."""
    tensors = _tensors("_foreach_mm", self)
    others = _tensors("_foreach_mm", mat2)
    if len(others) != len(tensors):
        raise RuntimeError("_foreach_mm: self and mat2 must have the same number of tensors")
    return tuple(mm(a, b) for a, b in zip(tensors, others))


def _foreach_max(self):
    """The largest element of each tensor of ``self`` (0-d tensors), as a tuple."""
    return tuple(tensor.max() for tensor in _tensors("_foreach_max", self))


_FUNCTIONS = {"_foreach_zero_": _foreach_zero_, "_foreach_copy_": _foreach_copy_,
              "_foreach_clone": _foreach_clone, "_foreach_norm": _foreach_norm,
              "_foreach_max": _foreach_max, "_foreach_mm": _foreach_mm}
for _op in _BINARY:
    _FUNCTIONS[f"_foreach_{_op}"] = _binary(_op, False)
    _FUNCTIONS[f"_foreach_{_op}_"] = _binary(_op, True)
for _op in _UNARY:
    _FUNCTIONS[f"_foreach_{_op}"] = _unary(_op, False)
    _FUNCTIONS[f"_foreach_{_op}_"] = _unary(_op, True)
for _op in ("addcmul", "addcdiv"):
    _FUNCTIONS[f"_foreach_{_op}"] = _ternary(_op, False)
    _FUNCTIONS[f"_foreach_{_op}_"] = _ternary(_op, True)
_FUNCTIONS["_foreach_lerp"] = _lerp(False)
_FUNCTIONS["_foreach_lerp_"] = _lerp(True)
globals().update(_FUNCTIONS)

__all__ = sorted(_FUNCTIONS)
