"""Session 25's families for the program-level differential fuzzer (``s17_SL_progfuzz.py``):
the same comparison after every line (values with signs of zeros and NaNs, dtypes, shapes,
strings, gradients, exception classes), over chains the earlier grammars draw one step at a
time.

``Gen10`` keeps session 17's statements at a low weight and adds:

- integer and bool arithmetic end to end (this file): leaves of int8 / uint8 / int16 / int32 /
  int64 / bool at their extremes, then steps on whatever integer tensors the program holds:
  augmented assignments (``+= -= *= //= %= **= <<= >>= &= |= ^= /=``) on the tensor and on
  views of it (``x[0] //= 3``, ``x[x > 0] -= 1``, ``x[idx] += 1`` with a repeated index),
  Python scalars on either side, 0-d tensors of other dtypes, div with rounding modes,
  remainder / fmod / floor_divide by negatives and zero, shifts by negative and too-large
  counts, pow with negative exponents and scalar bases, clamp / clip with int / float / tensor
  bounds (and their in-place forms), abs / neg / ``-`` / ``~`` of the least value, reductions
  with their default and explicit dtypes, casts between the widths;
- conversion (this file): float edge values (nan, inf, -0.0, past every width, negative into
  uint8) through ``.to`` / ``.int()`` / ``.byte()`` ... and back, ``item()`` / ``int()`` /
  ``float()`` / ``bool()`` / ``complex()`` / ``operator.index`` / ``len`` / ``tolist()``, NumPy
  arrays of every dtype (non-writable, negative strides, 0-d, scalars) through tensor /
  as_tensor / from_numpy with writes on both sides afterwards, NumPy scalars in arithmetic
  and as sizes, nested Python lists of mixed types with ``dtype=``, and factories after
  ``set_default_dtype(float64)``;
- empty tensors, views of views written in place, shape-op edges, index ops with gradients,
  setitem / getitem mixes (basic, advanced, list and tensor masks, None, ..., values of other
  dtypes and shapes, augmented), in-place writes whose operand overlaps the target, and
  promotion chains across float16 / bfloat16 / float32 / float64 / int / bool tensors, 0-d
  tensors and Python numbers (``s25_SL10_more.py``).

Run as a script::

    .venv/bin/python tests/parity/s25_SL10_families.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s19_SL4_families as sl4  # noqa: E402
import s23_SL8_families as sl8  # noqa: E402
import s24_SL9_families as sl9  # noqa: E402
from s17_SL_known import chain_known  # noqa: E402
from s25_SL10_more import MoreFamilies10  # noqa: E402

torch = base.torch
dg = base.dg

IDT = ("int8", "uint8", "int16", "int32", "int64", "int64", "bool")
EDGES = (-128, 127, 0, -1, 1, 255, -32768, 32767, 2**31 - 1, -2**31, 7, -7, 3, -3, 100, -100,
         2**62, -2**63, 2**63 - 1)
FEDGES = ("float('nan')", "float('inf')", "-float('inf')", "-0.0", "0.0", "2.5", "-2.5",
          "-0.7", "0.7", "255.9", "256.0", "-1.0", "300.5", "-129.5", "127.9", "3e9", "-3e9",
          "1e20", "65504.0", "70000.0", "-1e-40", "1.5", "-128.0", "4294967296.0")
FDT = ("float32", "float64", "float16", "bfloat16")
NP_DT = ("bool", "int8", "uint8", "int16", "int32", "int64", "uint16", "uint32", "uint64",
         "float16", "float32", "float64", "complex64", "complex128")


def _is_int(u):
    return not u.is_floating_point() and not u.is_complex()


class Gen10(MoreFamilies10, sl8.Gen8):
    """Session 17's grammar plus the families above."""

    def makers(self):
        old = [(maker, weight * 0.1) for maker, weight in base.Gen.makers(self)]
        return old + [(self.ileaf, 5), (self.istep, 14), (self.ireduce, 4), (self.fleaf, 3),
                      (self.convert, 8), (self.numpy_in, 6), (self.nested, 4),
                      (self.default_dtype, 3), (self.empty_ops, 8), (self.view_chain, 8),
                      (self.shape_edge, 8), (self.index_ops, 8), (self.setget10, 10),
                      (self.overlap10, 3), (self.promote10, 8)]

    # -- integer arithmetic ---------------------------------------------------------------------
    def ileaf(self, dtype=None, shape=None):
        dtype = dtype or self.pick(IDT)
        shape = shape if shape is not None else self.pick([(), (3,), (2, 3), (4,), (0,), (2, 2)])
        name = self.fresh()
        if dtype == "bool":
            lit = repr(self.rng.integers(0, 2, shape).astype(bool).tolist())
        else:
            info = np.iinfo(np.dtype(dtype))
            pool = [v for v in EDGES if info.min <= v <= info.max]
            a = np.asarray([self.pick(pool) for _ in range(int(np.prod(shape)))],
                           dtype=object).reshape(shape)
            lit = repr(a.tolist()) if shape else repr(self.pick(pool))
        return f"{name} = torch.tensor({lit}, dtype=torch.{dtype})"

    def iscalar(self):
        return self.pick(["2", "-3", "0", "1", "-1", "7", "1.5", "-0.5", "True", "False", "300",
                          "64", "-65", "2**40", "torch.tensor(3)", "torch.tensor(-2)",
                          "torch.tensor(0)", "torch.tensor(2, dtype=torch.int8)",
                          "torch.tensor(True)", "torch.tensor(1.5)",
                          "torch.tensor(-2, dtype=torch.uint8)",
                          "torch.tensor(2.0, dtype=torch.float64)", "torch.tensor([3])",
                          "torch.tensor([2, -1, 5][:1], dtype=torch.int16)"])

    def _operand(self, x):
        t = self.ns[x]
        partners = [k for k in self.tensors(lambda u: _is_int(u) and base._broadcasts(
            u.shape, t.shape) and u.dim() <= t.dim()) if k != x]
        if partners and self.coin(0.35):
            return self.pick(partners)
        return self.iscalar()

    def istep(self):
        names = self.tensors(_is_int)
        if not names:
            return self.ileaf()
        x = self.pick(names)
        t = self.ns[x]
        o = self._operand(x)
        y = self.fresh()
        r = self.rng.random()
        ops = ["+", "-", "*", "//", "%", "**", "<<", ">>", "&", "|", "^", "/"]
        if r < 0.25:
            target = x
            if t.dim() >= 1 and t.shape[0] > 0 and self.coin(0.5):
                target = self.pick([f"{x}[0]", f"{x}[-1]", f"{x}[..., :1]", f"{x}[{x} > 0]",
                                    f"{x}[torch.tensor([0, 0, -1])]", f"{x}[::2]",
                                    f"{x}[None, 0]"])
            return f"{target} {self.pick(ops)}= {o}"
        if r < 0.45:
            op = self.pick(ops + ["<", "==", ">="])
            if self.coin(0.4) and not o.startswith("a"):
                return f"{y} = {o} {op} {x}"
            return f"{y} = {x} {op} {o}"
        if r < 0.6:
            fn = self.pick(["torch.div({x}, {o}, rounding_mode='floor')",
                            "torch.div({x}, {o}, rounding_mode='trunc')",
                            "torch.div({x}, {o})", "torch.floor_divide({x}, {o})",
                            "torch.remainder({x}, {o})", "torch.fmod({x}, {o})",
                            "torch.remainder({o}, {x})", "torch.bitwise_left_shift({x}, {o})",
                            "torch.bitwise_right_shift({x}, {o})", "torch.pow({x}, {o})",
                            "torch.pow({o}, {x})", "torch.sub({x}, {o}, alpha=2)",
                            "torch.add({x}, {o}, alpha=-1)", "torch.mul({x}, {o})",
                            "torch.true_divide({x}, {o})", "torch.bitwise_xor({x}, {o})",
                            "torch.maximum({x}, torch.as_tensor({o}))",
                            "torch.where({x} > 0, {x}, {o})", "{x}.fmod_({o})",
                            "{x}.remainder_({o})", "{x}.floor_divide_({o})", "{x}.div_({o})",
                            "{x}.div_({o}, rounding_mode='floor')", "{x}.pow_({o})",
                            "{x}.bitwise_left_shift_({o})", "{x}.sub_({o})"])
            # (no gcd / lcm: PyTorch's lcm of int64's least value dies of SIGFPE)
            return f"{y} = " + fn.format(x=x, o=o)
        if r < 0.78:
            lo = self.pick(["0", "-1", "0.5", "-2.5", "None", "torch.tensor(1)",
                            "torch.tensor(0.5)", "100", "-200"])
            hi = self.pick(["3", "1.5", "None", "torch.tensor(2)", "-5", "250", "2.7"])
            if lo == "None" and hi == "None":
                hi = "1"
            fn = self.pick(["torch.clamp", "torch.clip", "clamp_", "clamp_min", "clamp_max"])
            if fn == "clamp_":
                return f"{x}.clamp_({lo}, {hi})"
            if fn == "clamp_min":
                return f"{y} = {x}.clamp_min({lo if lo != 'None' else '0'})"
            if fn == "clamp_max":
                return f"{y} = {x}.clamp_max({hi if hi != 'None' else '0'})"
            return f"{y} = {fn}({x}, min={lo}, max={hi})" if self.coin() else \
                f"{y} = {fn}({x}, {lo}, {hi})"
        fn = self.pick(["abs({x})", "-{x}", "~{x}", "{x}.neg()", "{x}.abs_()", "{x}.neg_()",
                        "torch.negative({x})", "{x}.sign()", "torch.square({x})",
                        "{x}.to(torch.{d})", "{x}.to(torch.{d}).to({x}.dtype)",
                        "{x}.type(torch.{d})", "{x}.bitwise_not_()", "{x}.logical_not()",
                        "{x}.float() / {x}", "{x} * 1.0", "{x}.double().pow(-1)",
                        "{x}.pow(-1)", "{x} ** -2", "2 ** {x}", "(-2) ** {x}", "0 ** {x}",
                        "{x}.sgn()", "torch.signbit({x})", "{x}.sqrt()", "{x}.exp2()",
                        "torch.float_power({x}, 2)", "{x}.round(decimals=-1)",
                        "torch.isin({x}, torch.tensor([0, -1, 255]))", "{x}.trunc()",
                        "{x}.frac()", "{x}.reciprocal()", "{x}.copysign(-1)",
                        "torch.nan_to_num({x})", "{x}.hypot({x})"])
        return f"{y} = " + fn.format(x=x, d=self.pick(IDT + ("float16", "float32")))

    def ireduce(self):
        names = self.tensors(_is_int)
        if not names:
            return self.ileaf()
        x = self.pick(names)
        t = self.ns[x]
        y = self.fresh()
        fn = self.pick(["sum", "prod", "cumsum", "cumprod", "mean", "nansum", "max", "min",
                        "amax", "argmax", "argmin", "all", "any", "count_nonzero", "median",
                        "mode", "std", "var", "logsumexp", "norm", "aminmax", "cummax",
                        "unique", "bincount", "sort", "topk", "msort", "diff", "histc"])
        dt = self.pick(["", "", "", ", dtype=torch.int8", ", dtype=torch.uint8",
                        ", dtype=torch.float64", ", dtype=torch.int32", ", dtype=torch.bool",
                        ", dtype=torch.float16"])
        if t.dim() and self.coin(0.6):
            d = self.dim(t)
            if fn in ("cumsum", "cumprod"):
                return f"{y} = {x}.{fn}({d}{dt})"
            if fn in ("sum", "prod", "mean", "nansum"):
                return f"{y} = {x}.{fn}({d}{dt}, keepdim={self.coin()})"
            if fn in ("max", "min", "median", "mode", "cummax", "sort"):
                return f"{y} = {x}.{fn}({d})"
            if fn == "topk":
                return f"{y} = {x}.topk(1, {d})"
            if fn == "bincount":  # (small values: a count array of 2**62 is no test)
                return f"{y} = {x}.clamp(0, 9).bincount()"
            if fn in ("unique", "msort", "histc", "aminmax"):
                return f"{y} = {x}.{fn}()"
            if fn == "diff":
                return f"{y} = {x}.diff(dim={d})"
            return f"{y} = {x}.{fn}({d})"
        if fn in ("cumsum", "cumprod"):
            return f"{y} = {x}.{fn}(0{dt})"
        if fn in ("sum", "prod", "mean", "nansum"):
            return f"{y} = {x}.{fn}({dt[2:]})"
        if fn == "topk":
            return f"{y} = {x}.topk(1)"
        if fn == "bincount":
            return f"{y} = {x}.clamp(0, 9).bincount()"
        if fn in ("sort", "cummax"):
            return f"{y} = {x}.{fn}(0)"
        return f"{y} = {x}.{fn}()"

    # -- conversion ----------------------------------------------------------------------------
    def fleaf(self):
        dt = self.pick(FDT)
        shape = self.pick([(), (3,), (2, 2), (4,), (1,), (1, 1)])
        n = int(np.prod(shape))
        vals = [self.pick(FEDGES) for _ in range(n)]
        if shape:
            rows = [vals[i:i + shape[-1]] for i in range(0, n, shape[-1])]
            inner = ["[" + ", ".join(r) + "]" for r in rows]
            lit = inner[0] if len(shape) == 1 else "[" + ", ".join(inner) + "]"
        else:
            lit = vals[0]
        rg = ", requires_grad=True" if dt in ("float32", "float64") and self.coin(0.3) else ""
        return f"{self.fresh()} = torch.tensor({lit}, dtype=torch.{dt}{rg})"

    def convert(self):
        names = self.tensors()
        if not names or self.coin(0.15):
            return self.fleaf()
        x = self.pick(names)
        y = self.fresh()
        d = self.pick(IDT + ("float16", "bfloat16", "float32", "float64", "complex64"))
        fn = self.pick([
            "{x}.to(torch.{d})", "{x}.to(torch.{d}).to({x}.dtype)", "{x}.int()", "{x}.long()",
            "{x}.byte()", "{x}.char()", "{x}.short()", "{x}.bool()", "{x}.half()",
            "{x}.bfloat16()", "{x}.double()", "{x}.to(dtype=torch.{d}, copy=True)",
            "{x}.type(torch.{d})", "{x}.type()", "{x}.item()", "int({x})", "float({x})",
            "bool({x})", "complex({x})", "{x}.tolist()", "len({x})", "{x}.numel()",
            "__import__('operator').index({x})", "[10, 20, 30, 40][{x}]", "{x}.__index__()",
            "{x}.numpy().dtype.name", "{x}.detach().numpy().tolist()", "str({x}.dtype)",
            "{x}.is_floating_point()", "{x}.element_size()", "{x}.new_tensor([1, 2]).dtype",
            "{x}.new_zeros(2).dtype", "{x}.new_full((2,), 2.5)", "{x}.to({x}).data_ptr() == "
            "{x}.data_ptr()", "{x}.to(torch.{d}) is {x}", "{x}.float().int().tolist()",
            "torch.tensor({x}.tolist(), dtype={x}.dtype)", "{x}.clone().resize_(0).shape",
            "{x}.view(torch.{d}) if {x}.dim() else None", "{x}.dtype.is_signed",
            "{x}.to(torch.{d}).element_size()", "round(float({x}.sum()), 2)",
            "max({x}.flatten().tolist(), default=None)", "list({x}) if {x}.dim() else None",
            "[v.item() for v in {x}.flatten()]", "{x}.abs().int().sum().item()",
            "torch.can_cast({x}.dtype, torch.{d})", "torch.promote_types({x}.dtype, "
            "torch.{d})", "torch.result_type({x}, 2.5)", "torch.result_type({x}, 2)",
            "{x}.is_nonzero()", "{x}.any().item()", "{x} == {x}.tolist()[0] if {x}.dim() "
            "else {x} == {x}.item()"])
        return f"{y} = " + fn.format(x=x, d=d)

    def numpy_in(self):
        y, z = self.fresh(), self.fresh()
        dt = self.pick(NP_DT)
        shape = self.pick([(), (3,), (2, 2), (0,), (2, 3)])
        n = int(np.prod(shape))
        vals = self.rng.integers(-3, 4, size=n) / self.pick([1, 2])
        src = f"np.array({vals.tolist()}).reshape({shape})"
        if dt.startswith(("int", "uint")):
            src = f"np.array({vals.astype(int).tolist()}).reshape({shape})"
        arr = f"{src}.astype(np.{dt})"
        if dt == "bool":
            arr = f"({src} > 0)"
        prep = self.pick(["", "", "_a.setflags(write=False)", "_a = _a[::-1]",
                          "_a = _a.T", "_a = np.asfortranarray(_a)",
                          "_a = _a.reshape(-1)[::2]" if n else ""])
        how = self.pick(["torch.tensor(_a)", "torch.as_tensor(_a)", "torch.from_numpy(_a)",
                         "torch.as_tensor(_a, dtype=torch.float64)", "torch.tensor(_a, "
                         "dtype=torch.int32)", "torch.asarray(_a)", "torch.asarray(_a, "
                         "copy=False)", "torch.as_tensor(_a[()] if _a.ndim == 0 else _a[0])",
                         "torch.tensor(_a.tolist())", "torch.tensor([_a, _a]) if _a.ndim else "
                         "torch.tensor([_a[()], 1])", "torch.from_numpy(_a).add_(1)",
                         "torch.zeros(2, dtype=torch.from_numpy(_a).dtype)"])
        after = self.pick(["", "", f"_a.reshape(-1)[:1] = 7 if _a.flags.writeable and _a.size "
                           f"else None; {z} = {y}.clone()",
                           f"{y}.reshape(-1)[:1] = 5 if {y}.numel() else None; "
                           f"{z} = torch.tensor(_a.copy())",
                           f"{z} = {y}.numpy().dtype.name", f"{z} = {y} + np.float64(1.5)",
                           f"{z} = np.int64(3) * {y}", f"{z} = {y} * np.float32(0.5)",
                           f"{z} = {y}.sum() + np.int8(2)", f"{z} = torch.full((2,), "
                           f"np.int32(3))", f"{z} = torch.arange(np.int64(3))",
                           f"{z} = torch.ones(np.int64(2), 2)", f"{z} = {y}.reshape(np.int64"
                           f"(-1))", f"{z} = {y} + np.array(2.5, dtype=np.float32)",
                           f"{z} = {y} + np.bool_(True)", f"{z} = torch.tensor(np.float32"
                           f"(1.5)) * 2", f"{z} = torch.tensor([np.float16(1.5), 2])",
                           f"{z} = torch.tensor(np.array(3.5)) + 1",
                           f"{z} = {y}.new_tensor(_a)"])
        line = f"import numpy as np; _a = {arr}"
        if prep:
            line += f"; {prep}"
        line += f"; {y} = {how}"
        return line + (f"; {after}" if after else "")

    def nested(self):
        y = self.fresh()
        items = ["True", "False", "1", "-2", "0", "2.5", "-0.0", "(1+2j)", "float('nan')",
                 "2**40", "-7", "255", "256", "-129", "3.99", "-3.99", "2**63 - 1", "2**63",
                 "torch.tensor(3)", "torch.tensor(1.5)", "torch.tensor(True)",
                 "torch.tensor(2, dtype=torch.uint8)", "float('inf')"]
        k = int(self.rng.integers(0, 4))
        rows = int(self.rng.integers(1, 3))
        pool = [self.pick(items) for _ in range(int(self.rng.integers(1, 4)))]
        cells = [[self.pick(pool) for _ in range(k)] for _ in range(rows)]
        inner = ["[" + ", ".join(c) + "]" for c in cells]
        if self.coin(0.1) and rows == 2:
            inner[1] = "[" + ", ".join(cells[1] + ["1"]) + "]"  # ragged
        lit = "[" + ", ".join(inner) + "]" if self.coin(0.6) else inner[0]
        if self.coin(0.15):
            lit = self.pick(pool)
        dt = self.pick(["", "", "", ", dtype=torch.int8", ", dtype=torch.uint8",
                        ", dtype=torch.int64", ", dtype=torch.bool", ", dtype=torch.float16",
                        ", dtype=torch.float64", ", dtype=torch.complex64"])
        fn = self.pick(["torch.tensor", "torch.tensor", "torch.as_tensor", "torch.asarray"])
        return f"{y} = {fn}({lit}{dt})"

    def default_dtype(self):
        dt = self.pick(["float64", "float64", "float32", "float16", "bfloat16", "int64"])
        y = self.fresh()
        exprs = ["torch.tensor([1.0, 2])", "torch.tensor(1.5)", "torch.tensor([1, 2]) / 2",
                 "torch.arange(0, 1, 0.25)", "torch.arange(3)", "torch.arange(3.0)",
                 "torch.linspace(0, 1, 3)", "torch.logspace(0, 1, 2)", "torch.full((2,), 1.5)",
                 "torch.full((2,), 2)", "torch.full((2,), True)", "torch.zeros(2)",
                 "torch.ones(2, dtype=torch.float32) + torch.tensor(1.5)",
                 "torch.ones(2, dtype=torch.float16) * 2.5", "torch.tensor([1j])",
                 "torch.ones(2) * 1j", "torch.empty(0).dtype", "torch.as_tensor([1.5])",
                 "torch.get_default_dtype()", "torch.tensor([1, 2]) * 0.5",
                 "torch.tensor([True]) + 0.5", "torch.eye(2)", "torch.rand(0).dtype",
                 "torch.tensor(np.float32(2)) + 1.5", "torch.sqrt(torch.tensor(2))",
                 "torch.tensor([3]).mean(dtype=None) if False else torch.tensor([3]).float()",
                 "torch.randn(0, 2).dtype", "torch.tensor([1, 2]).sum() / 3",
                 "torch.nn.Linear(2, 1).weight.dtype", "torch.scalar_tensor(2)",
                 "torch.tensor(2) ** 0.5", "torch.atan2(torch.tensor(1), torch.tensor(2))",
                 "torch.zeros(2, dtype=torch.int32).float()", "torch.complex(torch.ones(1), "
                 "torch.ones(1)).dtype", "torch.polar(torch.ones(1), torch.zeros(1))",
                 "torch.tensor([0.1]).item()", "torch.finfo().eps"]
        names = [y] + [self.fresh() for _ in range(int(self.rng.integers(0, 3)))]
        body = "; ".join(f"{n} = {self.pick(exprs)}" for n in names)
        return f"import numpy as np; torch.set_default_dtype(torch.{dt}); {body}"


# --------------------------------------------------------------------------------------------
# Reviewed differences these families reach (on top of sessions 17 to 24's lists)
# --------------------------------------------------------------------------------------------

def _line_of(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _all(lines):
    return "\n".join(lines)


def _readonly_array(lines, failure):
    # a tensor over a non-writable NumPy array (from_numpy / as_tensor / asarray): PyTorch
    # warns and writes into it anyway; deltagrad's read-only arrays are its mark of overlapping
    # (expanded) memory, so the write is refused, naming the read-only array (BR11's choice:
    # writing into memory its owner marked read-only is undefined behaviour in PyTorch too)
    return (failure[1] in ("we-raise", "raise-mismatch")
            and "setflags(write=False)" in _all(lines[:failure[0] + 1])
            and any(m in failure[2] for m in ("refers to a single memory location", "_stub",
                                              "destination is read-only",
                                              "a NumPy array that is not writable")))


def _wide_unsigned(lines, failure):
    # uint16 / uint32 / uint64 (from NumPy arrays): PyTorch has few kernels for them (no
    # promotion with other dtypes, no add, torch.tensor of a list of uint64 arrays refuses);
    # deltagrad computes with NumPy's
    text = failure[2]
    return (any(f"np.uint{n}" in _all(lines) for n in (16, 32, 64))
            and (any(m in text for m in ("uint16, uint32, uint64", "UInt16", "UInt32", "UInt64",
                                         "an integer is required"))))


def _empty_first_row(lines, failure):
    # torch.tensor([[], [1]]): PyTorch takes the sizes from the first element alone (2, 0)
    # and drops the data; deltagrad refuses the ragged list (ValueError). A ragged list with a
    # complex into a real dtype: PyTorch's element TypeError comes before its size check.
    line = _line_of(lines, failure)
    return ((failure[1] == "we-raise" and "inhomogeneous" in failure[2] and "[[]," in line)
            or (failure[1] == "raise-mismatch" and "deltagrad ValueError vs torch" in failure[2]
                and any(m in failure[2] for m in ("must be real number, not complex",
                                                  "without overflow"))))


def _scatter_prod_broadcast(lines, failure):
    # scatter_reduce(..., 'prod') with src larger than index: PyTorch's src gradient divides
    # the gathered grad * result (index's shape) by the whole src, broadcasting it over src's
    # unused positions (a wrong gradient, or a size error in backward); deltagrad's is zero
    # there
    line = _line_of(lines, failure)
    return "scatter_reduce(" in line and (
        ("'prod'" in line and ".grad" in failure[2]) or "must match the size" in failure[2])


def _topk_ties(lines, failure):
    # sort of equal values (unstable) past sort_ties.py's rerun limit, or topk's past
    # topk_order.py's: the index PyTorch's kernel picks among ties is its own (below the
    # limits they match: s28 BR17, DX1)
    line = _line_of(lines, failure)
    return (failure[1] == "silent" and any(f in line for f in (".topk(", ".sort(", ".msort(",
                                                                ".mode("))
            and re.search(r"\[1\]\.values", failure[2]) is not None)


def _complex_half_default(lines, failure):
    # a complex literal under set_default_dtype(float16): complex32 in PyTorch (NumPy has
    # none): refused here (NotImplementedError naming complex32; complex64 silently before s27)
    return (failure[1] == "we-raise" and "complex32" in failure[2]
            and "set_default_dtype(torch.float16)" in _all(lines))


def _bool_view_bytes(lines, failure):
    # x.view(torch.bool) of a wider dtype: bytes other than 0 / 1 are bools PyTorch's kernels
    # read as true; NumPy's ufuncs read the byte (sqrt of a 'bool' 64 is 8)
    return failure[1] == "silent" and "view(torch.bool)" in _all(lines)


def _overlap_writes(lines, failure):
    # an in-place write into unfold's overlapping windows (PyTorch's overlap check sees only
    # zero strides), or through advanced indices into expand_as / broadcast_to's (its
    # index_put_ checks none): PyTorch writes; deltagrad refuses every overlapping view
    return (failure[1] == "we-raise" and "refers to a single memory location" in failure[2]
            and any(f in _all(lines) for f in (".unfold(", ".expand_as(", ".broadcast_to(")))


def _empty_bool_cumsum(lines, failure):
    # cumsum / cumprod(dtype=torch.bool) of an empty tensor: PyTorch returns the empty result
    # before choosing a kernel; deltagrad refuses the bool dtype first
    return failure[1] == "we-raise" and "not implemented for 'Bool'" in failure[2] and any(
        f in _line_of(lines, failure) for f in ("cumsum(", "cumprod(")) and "dtype=torch.bool" \
        in _line_of(lines, failure)


def _bits_of_rounding(lines, failure):
    # x.view(<an integer dtype>) of floats: their bits show a last-place rounding difference
    # the float comparison allows (put_ / index_put_ with accumulate=True add repeated
    # positions in another order)
    line = _line_of(lines, failure)
    return failure[1] == "silent" and re.search(r"\.view\(torch\.u?int", line) is not None


def _setitem_check_order(lines, failure):
    # a setitem wrong twice (an index out of range and a value of the wrong shape, or an
    # overlapping value): PyTorch reports the value first, deltagrad the index (IndexError)
    line = _line_of(lines, failure).replace("with torch.no_grad(): ", "")
    if re.match(r"a\d+\[.*\] [-+*|&^]?= ", line) is None or failure[1] != "raise-mismatch":
        return False
    return ("deltagrad IndexError vs torch RuntimeError" in failure[2] and any(
        m in failure[2] for m in ("cannot be broadcast", "single memory location")))


def _long_long_beside_tensor(lines, failure):
    # a literal holding a tensor element and a Python int past int64: PyTorch's parse of the
    # int raises ValueError, deltagrad's range check (the tensors read first) RuntimeError
    return (failure[1] == "raise-mismatch" and "Overflow when unpacking long long" in failure[2]
            and "torch.tensor(" in _line_of(lines, failure).split("=", 1)[-1])


def _partial_division(lines, failure):
    # an in-place integer division by a tensor holding a zero: PyTorch's kernel has written
    # the quotients before the zero when it raises ZeroDivisionError; deltagrad raises first
    line = _line_of(lines, failure)
    return failure[1] == "silent" and any(
        f in line for f in ("div_(", "floor_divide_(", "remainder_(", "fmod_(", "//=", "%=")) \
        and sl4._torch_raises_at(lines, failure[0])


def _empty_bool_matmul(lines, failure):
    # matmul of empty bool tensors: PyTorch returns the empty (or zero) result before choosing
    # a kernel; deltagrad refuses the bool dtype first (as PyTorch does for non-empty ones)
    return (failure[1] == "we-raise" and "\"matmul\" not implemented for 'Bool'" in failure[2])


def _aliased_inplace(lines, failure):
    # an in-place write whose other operand is a view of the written tensor (`x[::2] *=
    # x.view(-1)[:1]`, `x[1:] = x[:-1]`): PyTorch's loop reads elements it has already
    # written where its overlap check cannot tell (undefined in its documentation);
    # deltagrad reads the operand as it was before the write
    line = _line_of(lines, failure).replace("with torch.no_grad(): ", "")
    line = re.sub(r"^a\d+ = (?=a\d+[.\[])", "", line)  # (`y = x.op_(v)`: x is written)
    name = re.match(r"(a\d+)\b", line)
    if failure[1] != "silent" or name is None:
        return False
    rest = line[name.end():]
    if re.search(rf"(=|_\()[^=]*\b{name.group(1)}\b", rest) is not None:
        return True
    # an operand that is another view of the target's memory (`x.shl_(x.T)` through a name)
    ns = {"torch": torch}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for earlier in lines[:failure[0]]:
            try:
                exec(earlier, ns)
            except Exception:  # noqa: BLE001 - (as the program went on)
                pass

    def storage(v):
        return v.untyped_storage().data_ptr() if isinstance(v, torch.Tensor) else None

    target = storage(ns.get(name.group(1)))
    return target is not None and any(
        storage(ns.get(other)) == target for other in re.findall(r"\b(a\d+)\b", rest)
        if other != name.group(1))


KNOWN = [
    (_readonly_array, "writes into a tensor over a non-writable NumPy array: PyTorch writes "
                      "(warned), deltagrad refuses"),
    (_wide_unsigned, "uint16 / uint32 / uint64: PyTorch's few kernels refuse what deltagrad "
                     "computes"),
    (_empty_first_row, "torch.tensor([[], [1]]): PyTorch's (2, 0) from the first row, "
                       "deltagrad's ValueError"),
    (_scatter_prod_broadcast, "scatter_reduce 'prod' with src larger than index: PyTorch's src "
                              "gradient broadcasts over unused positions (its bug)"),
    (_topk_ties, "topk / sort among ties: the index is the kernel's choice"),
    (_complex_half_default, "complex literals under a float16 default: complex32 in PyTorch, "
                            "refused here"),
    (_bool_view_bytes, "view(torch.bool) bytes other than 0 / 1: read as true by PyTorch, as "
                       "bytes by NumPy"),
    (_overlap_writes, "writes into unfold's windows, or by index into expand_as / "
                      "broadcast_to: PyTorch writes, deltagrad refuses"),
    (_empty_bool_cumsum, "cumsum(dtype=bool) of an empty tensor: PyTorch returns it, deltagrad "
                         "refuses the dtype"),
    (_aliased_inplace, "an in-place write reading a view of its own target: PyTorch reads "
                       "the elements it has written, deltagrad the values before"),
    (_bits_of_rounding, "a float's bits viewed as integers: last-place rounding differences "
                        "show"),
    (_setitem_check_order, "a setitem wrong in index and value: PyTorch reports the value, "
                           "deltagrad the index"),
    (_long_long_beside_tensor, "an int past int64 beside a tensor element: ValueError in "
                               "PyTorch, RuntimeError here"),
    (_partial_division, "in-place integer division by a zero: PyTorch has written part of "
                        "the result when it raises"),
    (_empty_bool_matmul, "matmul of empty bool tensors: PyTorch returns it, deltagrad refuses "
                         "the dtype"),
]

_known = chain_known(sl9.known, KNOWN)


FAMILY = base.Family(Gen10, _known, sl8.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
