"""Session 27's operator family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): Python's operators, Python scalars and dtype corners, over every
dtype (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
complex64, complex128) and Python scalars of every kind (bool; int small, negative, past 32
and 64 bits; float with inf / nan / -0.0 / huge; complex). Each line is compared as every
other line is (raised or not and the builtin class; values with signs of zero and NaN, dtype,
shape; Python results by type: int vs float vs bool vs complex, strings exactly). What it
draws:

- every binary operator (``+ - * / // % ** @ & | ^ << >>`` and the comparisons) between
  tensors, 0-d tensors and scalars, on either side (the reflected forms), and its augmented
  form on a clone or a slice of one (in-place cast errors: ``int += float``, ``bool -= ...``);
  unary ``- + ~ abs``; ``==`` / ``!=`` against None, strings, lists and tuples;
- the same through functions and methods: add / sub with ``alpha=``, mul, div with every
  rounding mode, true_divide, floor_divide, remainder (scalar first too), fmod, pow (scalar
  base), float_power, bitwise_* and shifts, logical_*, isclose, clamp / clip with int / float
  / complex / tensor bounds, where with scalars, rsub, the comparisons; with ``out=`` of every
  dtype; in-place methods (``add_`` ... ``clamp_min_``, ``fill_``, ``masked_fill``, ``lerp``,
  ``new_full`` / ``new_tensor``) and the ``operator`` module's functions;
- Python protocols on 0-d, 1-element and larger tensors: bool / int / float / complex /
  operator.index / len / list / iter / reversed / ``in`` / format (``f"{t}"``, ``f"{t:.3f}"``,
  ``format(t, "d")``) / hash / ``__array__`` / round (with ndigits) / math.floor / ceil /
  trunc / divmod / tolist / item, tensors as Python indices (``[..][t]``, ``range(t)``);
- type promotion: result_type over tensors and scalars, promote_types and can_cast over all
  pairs; tensor / as_tensor / full / full_like / scalar_tensor / new_full / new_tensor from
  Python values of every kind, with and without dtype=.

The earlier families' statements stay in at a low weight. Run as a script::

    .venv/bin/python tests/parity/s27_SL14_operators.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s23_SL8_families as sl8  # noqa: E402
import s26_SL12_invalid as sl12  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

DTYPES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
          "float32", "float64", "complex64", "complex128")
INTS = ("uint8", "int8", "int16", "int32", "int64")
WIDTH = {"bool": 8, "uint8": 8, "int8": 8, "int16": 16, "int32": 32, "int64": 64}
SCALARS = ("True", "False", "0", "1", "-1", "2", "3", "-7", "5", "64", "200", "-129",
           "2**31", "(-2**31 - 1)", "2**62", "(2**63 - 1)", "2**63", "(-2**63)", "2**64", "0.0",
           "-0.0",
           "0.5", "-2.5", "3.75", "1e300", "-1e-310", "float('inf')", "-float('inf')",
           "float('nan')", "1j", "(2-3j)", "complex(0.0, -0.0)", "complex(float('inf'), 1)")
SMALL = ("True", "False", "0", "1", "-1", "2", "3", "-3", "7", "0.5", "-2.5", "0.0", "-0.0",
         "float('nan')", "float('inf')", "(1+2j)")
BINOPS = ("+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<<", ">>", "<", "<=", ">",
          ">=", "==", "!=")
AUGOPS = ("+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^=", "<<=", ">>=")
SHAPES = ((), (), (1,), (3,), (2, 3), (2, 1))
_FLOAT_EDGES = (math.nan, math.inf, -math.inf, -0.0, 0.0, 0.5, -2.5, 1.0, 3.0, -7.0, 65504.0,
                1e-8, 2.5, -0.5)


def _num(v) -> str:
    if isinstance(v, (bool, int)):
        return repr(v)
    if math.isnan(v):
        return "float('nan')"
    if math.isinf(v):
        return "float('inf')" if v > 0 else "-float('inf')"
    return repr(float(v))


def _nested(a) -> str:
    if isinstance(a, list):
        return "[" + ", ".join(_nested(u) for u in a) + "]"
    return _num(a)


class Gen14(sl12.Gen12):
    """Session 17's grammar (and sessions 18-26's families, at a low weight) plus the
    operator, protocol and promotion families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        return old + [(self.op_binary, 14), (self.op_augmented, 9), (self.op_unary, 4),
                      (self.op_other, 3), (self.op_function, 12), (self.op_out, 5),
                      (self.protocol, 10), (self.promotion, 5), (self.factory, 7),
                      (self.op_method, 6), (self.leaf14, 4)]

    # -- leaves ---------------------------------------------------------------------------------
    def literal(self, shape, dt):
        n = int(np.prod(shape)) if shape else 1
        if dt == "bool":
            flat = [bool(b) for b in self.rng.random(n) < 0.5]
        elif dt in INTS:
            bits = WIDTH[dt]
            lo, hi = (0, 2 ** bits - 1) if dt == "uint8" else (-2 ** (bits - 1),
                                                                 2 ** (bits - 1) - 1)
            pool = [lo, hi, 0, 1, -1, 2, 3, -3, 5, -7, 12] if dt != "uint8" else \
                [0, 1, 2, 3, 5, 7, 12, 128, 200, 255]
            flat = [self.pick([v for v in pool if lo <= v <= hi]) for _ in range(n)]
        else:
            flat = [float(np.round(self.rng.standard_normal() * 3, 2)) if self.coin(0.6)
                    else self.pick(_FLOAT_EDGES) for _ in range(n)]
        a = np.array(flat, dtype=object).reshape(shape)
        return _nested(a.tolist()) if shape else _num(a.item())

    def leaf14(self, shape=None, dt=None):
        """A leaf line of ``shape`` / ``dt`` (a complex one from its two parts)."""
        shape = shape if shape is not None else self.pick(SHAPES)
        dt = dt or self.pick(DTYPES)
        name = self.fresh()
        if dt.startswith("complex"):
            part = "float64" if dt == "complex128" else "float32"
            expr = (f"torch.complex(torch.tensor({self.literal(shape, 'float32')}, "
                    f"dtype=torch.{part}), torch.tensor({self.literal(shape, 'float32')}, "
                    f"dtype=torch.{part}))")
        else:
            expr = f"torch.tensor({self.literal(shape, dt)}, dtype=torch.{dt})"
        if dt.startswith(("float", "bfloat", "complex")) and self.coin(0.2):
            expr += ".requires_grad_()"
        return f"{name} = {expr}"

    def operand(self, scalars=SCALARS):
        """A tensor variable (made now if none or by chance), a 0-d tensor or a scalar."""
        r = self.rng.random()
        if r < 0.45:
            return self.pick(scalars), None
        if r < 0.55:
            dt = self.pick(DTYPES)
            if dt.startswith("complex"):
                return f"torch.tensor({self.pick(SMALL)}, dtype=torch.{dt})", None
            return f"torch.tensor({self.literal((), dt)}, dtype=torch.{dt})", None
        names = self.tensors()
        if not names or self.coin(0.3):
            line = self.leaf14()
            return line.split(" = ", 1)[0], line
        return self.pick(names), None

    def _pair(self, scalars=SCALARS):
        parts = []
        x, lx = self.operand(scalars)
        y, ly = self.operand(scalars)
        for line in (lx, ly):
            if line:
                parts.append(line)
        if not (x.startswith(("a", "torch.")) or y.startswith(("a", "torch."))):
            line = self.leaf14()
            parts.append(line)
            x = line.split(" = ", 1)[0]
        return parts, x, y

    # -- operators ------------------------------------------------------------------------------
    def op_binary(self):
        parts, x, y = self._pair()
        op = self.pick(BINOPS + ("@",))
        z = self.fresh()
        parts.append(f"{z} = {x} {op} {y}")
        return "; ".join(parts)

    def _target(self):
        names = [n for n in self.tensors(lambda t: not t.requires_grad)]
        if not names or self.coin(0.3):
            line = self.leaf14()
            name = line.split(" = ", 1)[0]
            line = line.replace(".requires_grad_()", "")
            return [line], name
        return [], self.pick(names)

    def op_augmented(self):
        parts, x = self._target()
        y, ly = self.operand()
        if ly:
            parts.append(ly)
        z = self.fresh()
        op = self.pick(AUGOPS)
        t = self.ns.get(x)
        where = self.pick(["", "", "[0]", "[...]", "[:1]"]) if isinstance(
            t, torch.Tensor) and t.dim() else ""
        parts.append(f"{z} = {x}.clone(); {z}{where} {op} {y}")
        if self.coin(0.3):  # (the operator methods by name, reflected ones too)
            name = self.pick(["__radd__", "__rsub__", "__rmul__", "__rtruediv__",
                              "__rfloordiv__", "__rmod__", "__rpow__", "__rand__", "__ror__",
                              "__rxor__", "__rlshift__", "__rrshift__", "__iadd__",
                              "__ilshift__", "__irshift__", "__imod__", "__ifloordiv__",
                              "__ipow__", "__iand__", "__ixor__"])
            w = self.fresh()
            parts.append(f"{w} = {x}.clone().{name}({self.pick(SMALL)})")
        return "; ".join(parts)

    def op_unary(self):
        parts, x = [], None
        names = self.tensors()
        if not names or self.coin(0.5):
            line = self.leaf14()
            parts.append(line)
            x = line.split(" = ", 1)[0]
        else:
            x = self.pick(names)
        z = self.fresh()
        op = self.pick(["-{}", "+{}", "~{}", "abs({})", "-(-{})", "~~{}", "{}.__neg__()",
                        "{}.__invert__()", "{}.__abs__()", "{}.__pos__()", "not {}",
                        "{}.neg_()", "{}.abs_()", "{}.bitwise_not_()", "{}.logical_not_()"])
        if op.endswith("_()"):
            op = op.replace("{}", "{}.detach().clone()")
        parts.append(f"{z} = {op.format(x)}")
        return "; ".join(parts)

    def op_other(self):
        parts, x = [], None
        line = self.leaf14()
        parts.append(line)
        x = line.split(" = ", 1)[0]
        other = self.pick(["None", "'a'", "[1, 2, 3]", "(1,)", "object()", "[]", "{}",
                           "torch.float32", "1", "[True, False, True]"])
        op = self.pick(["==", "!=", "<", "+", "is", "is not", "in", "not in"])
        z = self.fresh()
        a, b = (x, other) if self.coin() else (other, x)
        if op in ("in", "not in"):
            a, b = other, x
        parts.append(f"{z} = {a} {op} {b}")
        return "; ".join(parts)

    def op_function(self):
        parts, x, y = self._pair()
        small = self.pick(SMALL)
        mode = self.pick(["'floor'", "'trunc'", "None"])
        fn = self.pick([
            f"torch.add({x}, {y}, alpha={small})", f"torch.sub({x}, {y}, alpha={small})",
            f"torch.add({x}, {y})", f"torch.mul({x}, {y})", f"torch.multiply({x}, {y})",
            f"torch.div({x}, {y}, rounding_mode={mode})", f"torch.divide({x}, {y})",
            f"torch.true_divide({x}, {y})", f"torch.floor_divide({x}, {y})",
            f"torch.remainder({x}, {y})", f"torch.fmod({x}, {y})", f"torch.pow({x}, {y})",
            f"torch.float_power({x}, {y})", f"torch.bitwise_and({x}, {y})",
            f"torch.bitwise_or({x}, {y})", f"torch.bitwise_xor({x}, {y})",
            f"torch.bitwise_left_shift({x}, {y})", f"torch.bitwise_right_shift({x}, {y})",
            f"torch.logical_and({x}, {y})", f"torch.logical_or({x}, {y})",
            f"torch.logical_xor({x}, {y})", f"torch.logical_not({x})",
            f"torch.bitwise_not({x})", f"torch.isclose({x}, {y})",
            f"torch.isclose({x}, {y}, rtol=0, atol={self.pick(['0', '1', '0.5'])}, "
            f"equal_nan={self.pick(['True', 'False'])})",
            f"torch.clamp({x}, min={small})", f"torch.clamp({x}, max={small})",
            f"torch.clamp({x}, {small}, {self.pick(SMALL)})", f"torch.clip({x}, {y})",
            f"torch.clamp({x}, min={y}, max={x})",
            f"torch.where({x} > 0, {y}, {small})", f"torch.where({x} != 0, {small}, "
                                                     f"{self.pick(SMALL)})",
            f"torch.where({x}.bool(), {x}, {y})", f"torch.rsub({x}, {y})",
            f"torch.eq({x}, {y})", f"torch.ne({x}, {y})", f"torch.lt({x}, {y})",
            f"torch.ge({x}, {y})", f"torch.maximum({x}, {y})", f"torch.minimum({x}, {y})",
            f"torch.pow({small}, {x})", f"torch.remainder({small}, {x})",
            f"torch.bitwise_and({small}, {x})", f"torch.bitwise_left_shift({small}, {x})",
            f"torch.mul({x}, {y}).dtype", f"torch.square({x})",
            f"{x}.add({y}, alpha={small})" if x.startswith("a") else f"torch.abs({x})",
            f"{x}.pow({y})" if x.startswith("a") else f"torch.neg({x})",
            f"{x}.float_power_({y})" if x.startswith("a") else f"torch.sign({x})",
            f"{x}.detach().clone().add_({y}, alpha={small})" if x.startswith("a") else
            f"torch.sgn({x})",
            f"{x}.detach().clone().div_({y}, rounding_mode={mode})" if x.startswith("a")
            else f"torch.positive({x})",
            f"{x}.detach().clone().clamp_({small}, {self.pick(SMALL)})" if x.startswith("a")
            else f"torch.trunc({x})",
        ])
        z = self.fresh()
        parts.append(f"{z} = {fn}")
        return "; ".join(parts)

    def op_method(self):
        """An in-place or out-of-place method with a Python scalar or a tensor (on a clone),
        or the ``operator`` module's function for an operator."""
        parts, x = self._target()
        y, ly = self.operand()
        if ly:
            parts.append(ly)
        z = self.fresh()
        name = self.pick(["add_", "sub_", "mul_", "div_", "true_divide_", "floor_divide_",
                          "remainder_", "fmod_", "pow_", "bitwise_and_", "bitwise_or_",
                          "bitwise_xor_", "bitwise_left_shift_", "bitwise_right_shift_",
                          "logical_and_", "logical_or_", "eq_", "lt_", "ge_", "ne_",
                          "clamp_min_", "clamp_max_", "copysign_", "xlogy_", "hypot_",
                          "maximum", "fmax", "copysign", "rsub", "xlogy", "float_power",
                          "true_divide", "remainder", "fmod", "masked_fill", "fill_", "lerp",
                          "new_full", "new_tensor"])
        if name == "masked_fill":
            call = f"{x}.clone().masked_fill({x}.clone().bool(), {y})"
        elif name == "lerp":
            call = f"{x}.clone().lerp({x}.clone(), {self.pick(SMALL)})"
        elif name == "fill_":
            call = f"{x}.clone().fill_({self.pick(SCALARS)})"
        elif name == "new_full":
            call = f"{x}.new_full((2,), {self.pick(SCALARS)})"
        elif name == "new_tensor":
            call = f"{x}.new_tensor([{self.pick(SCALARS)}, {self.pick(SMALL)}])"
        elif self.coin(0.2):
            op = self.pick(["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and_",
                            "or_", "xor", "lshift", "rshift", "iadd", "isub", "imul",
                            "itruediv", "ifloordiv", "imod", "ipow", "iand", "ior", "ixor",
                            "ilshift", "irshift", "lt", "eq", "neg", "invert", "not_",
                            "truth", "index"])
            unary = op in ("neg", "invert", "not_", "truth", "index")
            args = f"{x}.clone()" if unary else f"{x}.clone(), {y}"
            call = f"__import__('operator').{op}({args})"
        else:
            call = f"{x}.clone().{name}({y})"
        parts.append(f"{z} = {call}")
        return "; ".join(parts)

    def op_out(self):
        parts, x, y = self._pair()
        o = self.fresh()
        dt = self.pick(DTYPES)
        shape = self.pick(["()", "(0,)", "(3,)", "(2, 3)"])
        parts.append(f"{o} = torch.zeros({shape}, dtype=torch.{dt})")
        fn = self.pick(["add", "sub", "mul", "div", "floor_divide", "remainder", "fmod",
                        "pow", "bitwise_and", "bitwise_xor", "bitwise_left_shift",
                        "logical_and", "logical_xor", "eq", "lt", "maximum", "true_divide",
                        "float_power", "atan2", "clamp"])
        z = self.fresh()
        if fn == "clamp":
            parts.append(f"{z} = torch.clamp({x}, min={self.pick(SMALL)}, out={o})")
        else:
            parts.append(f"{z} = torch.{fn}({x}, {y}, out={o})")
        return "; ".join(parts)

    # -- protocols ------------------------------------------------------------------------------
    def protocol(self):
        shape = self.pick(((), (), (1,), (1, 1), (3,), (2, 2), (0,)))
        line = self.leaf14(shape)
        x = line.split(" = ", 1)[0]
        z = self.fresh()
        spec = self.pick(["'.3f'", "'d'", "''", "'>8'", "'e'", "'g'", "'.2'", "'x'", "'+.1f'",
                          "'5'"])
        call = self.pick([
            f"bool({x})", f"int({x})", f"float({x})", f"complex({x})",
            f"__import__('operator').index({x})", f"len({x})", f"list({x})",
            f"[v for v in {x}]", f"list(reversed({x}))", f"{self.pick(SMALL)} in {x}",
            f"{x} in {x}", f"f'{{{x}}}'", f"format({x}, {spec})", f"'{{:.3f}}'.format({x})",
            f"type(hash({x})).__name__",
            f"str({x}.__array__().dtype)", f"{x}.__array__().tolist()",
            f"str(__import__('numpy').asarray({x}).dtype)", f"round({x})",
            f"round({x}, {self.pick(['0', '1', '2', '-1'])})",
            f"__import__('math').floor({x})", f"__import__('math').ceil({x})",
            f"__import__('math').trunc({x})", f"divmod({x}, {self.pick(SMALL)})",
            f"divmod({self.pick(SMALL)}, {x})", f"{x}.tolist()", f"{x}.item()",
            f"[10, 20, 30, 40][{x}]", f"'abcdef'[{x}]",
            f"[10, 20, 30][{x}:]",
            f"{x}.__bool__()", f"{x}.__index__()", f"{x}.__int__()", f"{x}.__float__()",
            f"{x}.__complex__()", f"{x}.__len__()", f"{x}.__format__({spec})",
            f"__import__('math').isclose({x}, 1.0)", f"max({x}, {self.pick(SMALL)})",
            f"min({x}, 0)", f"sum({x})", f"abs({x}).__float__()", f"{x}.__reversed__()",
            f"{x}.__contains__({self.pick(SMALL)})", f"pow({x}, 2)",
            f"pow({self.pick(SMALL)}, {x})", f"bin({x})", f"hex({x})",
            f"__import__('math').sqrt({x})", f"sorted({x})", f"any({x})", f"all({x})",
        ])
        if self.coin(0.15):  # (sizes from a tensor: small values only, the memory is real)
            dt = self.pick(DTYPES[:10])
            value = self.pick(["0", "1", "2", "3", "-1", "-2", "True", "2.0", "2.5"])
            line = f"{x} = torch.tensor({value}, dtype=torch.{dt})"
            if self.coin(0.3):
                line = f"{x} = torch.tensor([{value}], dtype=torch.{dt})"
            call = self.pick([f"(1, 2, 3) * {x}", f"[0] * {x}", f"list(range({x}))",
                              f"list(range(1, {x}))", f"'ab' * {x}", f"{x} * [1, 2]"])
        parts = [line, f"{z} = {call}"]
        return "; ".join(parts)

    # -- promotion ------------------------------------------------------------------------------
    def promotion(self):
        z = self.fresh()
        d1, d2 = self.pick(DTYPES), self.pick(DTYPES)
        parts, x, y = self._pair()
        call = self.pick([
            f"torch.promote_types(torch.{d1}, torch.{d2})",
            f"torch.can_cast(torch.{d1}, torch.{d2})",
            f"torch.result_type({x}, {y})",
            f"torch.result_type({self.pick(SCALARS)}, {x})",
            f"torch.result_type({self.pick(SMALL)}, {self.pick(SMALL)})",
            f"torch.result_type(torch.tensor({self.pick(SMALL)}), {self.pick(SCALARS)})",
            f"({x} + {y}).dtype",
            f"torch.is_floating_point(torch.zeros(1, dtype=torch.{d1}))",
            f"torch.zeros(1, dtype=torch.{d1}).is_complex()",
            f"torch.{d1}.is_floating_point", f"torch.{d1}.is_signed",
            f"torch.{d1}.is_complex", f"torch.{d1}.itemsize",
            f"torch.finfo(torch.{d1}).eps" if d1.startswith(("float", "bfloat"))
            else f"torch.iinfo(torch.{d1}).max",
        ])
        parts.append(f"{z} = {call}")
        return "; ".join(parts)

    def factory(self):
        z = self.fresh()
        v = self.pick(SCALARS)
        w = self.pick(SCALARS)
        dt = self.pick(DTYPES)
        dtk = self.pick(["", f", dtype=torch.{dt}"])
        call = self.pick([
            f"torch.tensor({v}{dtk})", f"torch.tensor([{v}, {w}]{dtk})",
            f"torch.tensor([[{v}], [{w}]]{dtk})", f"torch.as_tensor({v}{dtk})",
            f"torch.as_tensor([{v}, {w}]{dtk})", f"torch.full((2,), {v}{dtk})",
            f"torch.full((), {v}{dtk})", f"torch.scalar_tensor({v}{dtk})",
            f"torch.full_like(torch.zeros(2, dtype=torch.{self.pick(DTYPES)}), {v}{dtk})",
            f"torch.zeros(2, dtype=torch.{self.pick(DTYPES)}).new_full((2,), {v})",
            f"torch.zeros(2, dtype=torch.{self.pick(DTYPES)}).new_tensor([{v}, {w}])",
            f"torch.zeros(2, dtype=torch.{self.pick(DTYPES)}).fill_({v})",
            f"torch.tensor([{v}, torch.tensor({w})]{dtk})",
            f"torch.tensor([True, {v}, {w}]{dtk})",
            f"torch.arange({self.pick(['0', '1', '-2', '0.5'])}, {self.pick(['3', '2.5', '4'])}"
            f"{dtk})",
            f"torch.tensor({v}).to(torch.{dt})",
            f"torch.tensor([{v}, {w}], dtype=torch.{dt}).tolist()",
            f"torch.tensor({v}, dtype=torch.{dt}).item()",
        ])
        return f"{z} = {call}"


# --------------------------------------------------------------------------------------------
# The snapshot: Python complex numbers, NumPy arrays, types and ranges compared too
# --------------------------------------------------------------------------------------------

def _snapshot14(value, layout=True):
    if isinstance(value, complex):
        return ("str", "complex " + repr(value))
    if isinstance(value, np.ndarray):
        return ("str", f"ndarray {value.dtype} {value.shape} {value.tolist()!r}")
    if isinstance(value, type):
        return ("str", "type " + value.__name__)
    if isinstance(value, range):
        return ("str", repr(value))
    return _OUTER(value, layout)


_OUTER = None


@contextlib.contextmanager
def wide():
    """sl8's wider snapshot plus Python complex numbers, arrays, types and ranges (chained
    under sl8's sparse layer, which the earlier families' ``known`` re-enter)."""
    global _OUTER
    with sl8.wide():
        if sl8._WIDE is _snapshot14:  # (nested)
            yield
            return
        _OUTER = sl8._WIDE
        sl8._WIDE = _snapshot14
        try:
            yield
        finally:
            sl8._WIDE = _OUTER


# --------------------------------------------------------------------------------------------
# Reviewed differences this family reaches (on top of sessions 17 to 26's lists)
# --------------------------------------------------------------------------------------------

def _line(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _torch_part(failure):
    return failure[2].split(" != torch's ", 1)[-1]


def _complex_add_inf(lines, failure):
    """Complex add / sub whose second operand has an infinite part: PyTorch's kernel computes
    ``a + alpha * b`` with a complex multiply even for alpha 1, so ``inf * 0`` makes the other
    part nan (``t + complex(inf, 1)`` is ``inf+nanj``); deltagrad adds the parts (``inf+1j``).
    Kept: add / sub run bare NumPy ufuncs on the engine's hot path."""
    return failure[1] == "silent" and re.search(r"nan[+-]|[+-]nanj", _torch_part(failure)) \
        is not None and "inf" in failure[2].split(" != ", 1)[0]


def _bool_uint64(lines, failure):
    """An int from 2**63 to 2**64 (PyTorch's uint64 number) with a bool tensor or a complex
    number (``where(c, 2**63, 1j)``): PyTorch refuses the promotion (RuntimeError); deltagrad's
    int64 conversion overflows (OverflowError) or it computes in complex."""
    return failure[1] in ("raise-mismatch", "permissive") and \
        "Promotion for uint16, uint32, uint64 types is not supported" in failure[2]


def _hash_value(lines, failure):
    """``hash(t)``: identity on both sides, PyTorch's value is ``id(t)``, deltagrad's
    ``object.__hash__`` (id / 16), kept in C for the engine's sets and dicts of tensors."""
    return failure[1] == "silent" and "hash(" in _line(lines, failure)


def _tiny_exponent(lines, failure):
    """A float32 / float16 tensor to a Python float power below float32's least subnormal
    (``x ** -1e-310``): PyTorch keeps the exponent in double (a negative base gives nan),
    deltagrad rounds it to the tensor's dtype first (0: the power is 1)."""
    line = _line(lines, failure)
    return failure[1] == "silent" and "e-310" in line and ("**" in line or "pow" in line)


def _floor_divide_out_grad(lines, failure):
    """``floor_divide(..., out=o)`` with an input that requires grad: PyTorch's floor_divide
    has no derivative, so out= is allowed; deltagrad refuses out= with grad for every
    function (its floor_divide's backward raises)."""
    return failure[1] == "we-raise" and "functions with out=" in failure[2] and \
        "floor_divide(" in _line(lines, failure)


def _complex_pow_edges(lines, failure):
    """A complex power whose base is 0 or has an infinite part (to the power 0, a bool False
    exponent too, or a negative integer): PyTorch's kernel computes ``exp(e * log(z))`` or
    multiplies, NumPy's complex power meets ``0 * inf`` at other steps: nan+nanj on one side,
    a number on the other, or an overflow's infinite parts of other signs (an earlier list
    names the zero base with a tensor exponent)."""
    line = _line(lines, failure)
    return failure[1] == "silent" and ("nanj" in failure[2] or "infj" in failure[2]) and (
        "pow" in line or "**" in line)


def _uint64_check_order(lines, failure):
    """An int from 2**63 to 2**64 in a call PyTorch refuses for another reason first (bool
    subtraction): deltagrad's int64 conversion overflows first; or an int past 2**64 that
    PyTorch's parser refuses (OverflowError) where deltagrad's first check is another
    (``float_power_``'s dtype). Both raise."""
    text, line = failure[2], _line(lines, failure)
    return failure[1] == "raise-mismatch" and (
        text.startswith("deltagrad OverflowError") and "2**63" in line
        or "torch OverflowError" in text and "2**64" in line)


def _tensor_element_unchecked(lines, failure):
    """``tensor([5, torch.tensor(2**31)], dtype=torch.int32)``: PyTorch converts a 0-d tensor
    element into the dtype checked (RuntimeError); deltagrad wraps it as it wraps a list's
    ints (uint8 takes -3 as 253, PyTorch's rule for numbers)."""
    line = _line(lines, failure)
    return failure[1] == "permissive" and "without overflow" in failure[2] and re.search(
        r"torch\.tensor\(\[.*torch\.tensor\(", line) is not None


def _raises_in_torch(lines, index) -> bool:
    ns = {"torch": torch}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (out= resized: PyTorch's deprecation warning)
        for i, line in enumerate(lines[:index + 1]):
            try:
                exec(line, ns)
            except Exception:  # noqa: BLE001 - whether the line raises is the question
                if i == index:
                    return True
    return False


def _out_resized_then_raises(lines, failure):
    """``out=`` of another shape in a call that raises (a bitwise op of floats, a complex
    comparison, a float result into an integer out): PyTorch resizes ``out`` before its kernel
    refuses, so a failed call leaves it resized; deltagrad checks first and leaves it."""
    line = _line(lines, failure)
    return failure[1] == "silent" and ".shape: " in failure[2] and "out=" in line and \
        _raises_in_torch(lines, failure[0])


def _partial_write(lines, failure):
    """An in-place op that raises part-way (integer ``%=`` / ``//=`` by zero): PyTorch's kernel
    has written the elements before the zero when it raises; deltagrad checks first and
    writes nothing. Both raise."""
    line = _line(lines, failure)
    return failure[1] == "silent" and re.search(r"%=|//=|remainder_|floor_divide_|div_\(",
                                                 line) is not None and \
        _raises_in_torch(lines, failure[0])


def _bool_fill_grad(lines, failure):
    """``masked_fill`` of a bool tensor with a value that requires grad: PyTorch's autograd
    refuses a bool result that would require grad (RuntimeError); deltagrad gives the bool
    result, which cannot require grad."""
    return failure[1] == "permissive" and "Autograd not support dtype: Bool" in failure[2]


def _subnormal_divisor(lines, failure):
    """A remainder by a subnormal float64 (``x % -1e-310``): PyTorch's vectorized kernel (8
    elements and more) overflows in ``a / b`` (nan), its scalar one and NumPy's are exact."""
    line = _line(lines, failure)
    return failure[1] == "silent" and "e-310" in line and ("%" in line or "remainder" in line
                                                           or "fmod" in line)


def _complex_half(lines, failure):
    """float16 with a complex number or a complex 0-d tensor is complex32 (ComplexHalf) in
    PyTorch, which has few kernels for it (div, logical_or: NotImplementedError); NumPy has no
    complex32: deltagrad computes in complex64."""
    line = _line(lines, failure)
    return (failure[1] == "permissive" and "ComplexHalf" in failure[2]
            or failure[1] == "silent" and "complex32" in failure[2]
            or failure[1] == "silent" and "kind tensor != torch's str" in failure[2]
            and "float16" in "\n".join(lines) and ("j)" in line or "complex" in line))


KNOWN = [
    (_complex_add_inf, "complex add / sub with an infinite part: PyTorch's nan from alpha * b"),
    (_bool_uint64, "a uint64-range int with bool / complex: PyTorch refuses the promotion"),
    (_hash_value, "hash(t): both identity, PyTorch's value is id(t)"),
    (_tiny_exponent, "float32 ** an exponent below float32's range: PyTorch keeps it double"),
    (_floor_divide_out_grad, "floor_divide out= with grad: PyTorch has no derivative to refuse"),
    (_complex_half, "float16 with complex numbers: complex32 in PyTorch, complex64 here"),
    (_complex_pow_edges, "complex powers of 0 / infinite bases: nan / inf parts differ"),
    (_out_resized_then_raises, "out= resized by PyTorch before the call raises"),
    (_partial_write, "an in-place op raising part-way: PyTorch has written some elements"),
    (_tensor_element_unchecked, "a 0-d tensor element past the dtype: PyTorch checks it"),
    (_bool_fill_grad, "a bool result from a value requiring grad: PyTorch refuses"),
    (_subnormal_divisor, "a remainder by a subnormal float64: PyTorch's formula overflows"),
    (_uint64_check_order, "a uint64-range int where PyTorch refuses another fault first"),
]


FAMILY = base.Family(Gen14, own_first(KNOWN, sl12.known), wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
