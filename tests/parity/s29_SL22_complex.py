"""Session 29's complex-number family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): complex64 / complex128 tensors made every way a user makes them, the
ops on them (values, result dtypes, the errors PyTorch raises for what has no complex meaning)
and autograd through them (PyTorch's conjugate-Wirtinger gradients). Each line is compared as
every other line is (raised or not and the builtin class; tensors with their dtype and
``.grad``); lines that should raise or warn record their outcome through ``_catch`` (the
builtin exception class and the warnings' classes). What it draws:

- making: ``torch.complex(re, im)``, ``torch.polar(abs, angle)``, ``view_as_complex`` of a
  trailing pair and ``view_as_real`` back, literals with ``1j``, seeded ``randn(dtype=cfloat)``,
  real and integer tensors promoted by a Python complex scalar, ``.to(complex)``;
- arithmetic with real / integer / bool / complex tensors, 0-d tensors and Python scalars (the
  result dtypes of type promotion), division by zero, floor division and remainder (errors);
- ``abs / angle / real / imag / conj / conj_physical / resolve_conj / is_conj``, ``sgn`` and
  ``sign`` (an error), ``exp / log / sqrt / pow`` (complex exponents, negative real bases),
  trigonometric and hyperbolic functions, ``sigmoid``, ``reciprocal / rsqrt``;
- ``matmul / mm / bmm / einsum`` and ``linalg`` (det, slogdet, inv, solve, eigvals, eig as a
  reconstruction, svdvals, svd as a reconstruction, qr as a reconstruction, norms);
- ``fft / ifft / rfft / irfft / fft2 / hfft`` of real and complex inputs with ``n`` / ``norm``;
- reductions (``sum / mean / prod / cumsum / cumprod / var / std``), comparisons (eq / ne;
  lt / max / sort / clamp raise), ``isclose / allclose / equal``, NaN and inf handling;
- casting (``.to(float)``: its ComplexWarning), ``.real`` / ``.imag`` writes, ``.imag`` of a
  real tensor, in-place ops that would put a complex value in a real tensor (errors),
  ``str`` / ``repr`` / ``tolist`` / ``item``;
- autograd: complex leaves, real losses through ``abs`` / ``real`` / ``angle`` / ``abs()**2``
  / ``view_as_real``, ``.grad`` compared; gradients through ``torch.complex`` / ``polar`` /
  ``view_as_complex`` to real leaves; ``autograd.grad`` with complex ``grad_outputs``;
  ``gradcheck`` on complex functions.

Run as a script::

    .venv/bin/python tests/parity/s29_SL22_complex.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s27_SL14_operators as sl14  # noqa: E402
import s28_SL19_optim as sl19  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

NORMS = ["None", "'ortho'", "'forward'", "'backward'", "'bad'"]
CDT = ("complex64", "complex64", "complex128")
RDT = {"complex64": "float32", "complex128": "float64"}
SCALARS = ["2", "-3", "0.5", "1j", "(1+2j)", "(-0.5-1j)", "True", "2.5j"]
UNARY = ["torch.abs({z})", "torch.angle({z})", "torch.real({z})", "torch.imag({z})", "{z}.real",
         "{z}.imag", "torch.conj({z})", "{z}.conj()", "torch.conj_physical({z})",
         "{z}.conj().resolve_conj()", "torch.resolve_conj({z})", "torch.sgn({z})", "{z}.sgn()",
         "torch.exp({z})", "torch.log({z})", "torch.sqrt({z})", "torch.sin({z})",
         "torch.cos({z})", "torch.tan({z})", "torch.tanh({z})", "torch.sinh({z})",
         "torch.cosh({z})", "torch.sigmoid({z})", "torch.reciprocal({z})", "torch.rsqrt({z})",
         "torch.square({z})", "-{z}", "torch.neg({z})", "torch.log1p({z})", "torch.expm1({z})",
         "torch.log2({z})", "torch.log10({z})", "torch.asin({z})", "torch.acos({z})",
         "torch.atan({z})", "torch.asinh({z})", "torch.acosh({z})", "torch.atanh({z})",
         "torch.exp2({z})", "{z}.abs().pow(2)", "torch.isnan({z})", "torch.isfinite({z})",
         "torch.isinf({z})", "torch.isreal({z})", "torch.nan_to_num({z})",
         "torch.nan_to_num({z}, nan=1.0, posinf=2.0, neginf=-2.0)", "torch.view_as_real({z})",
         "torch.view_as_real({z}.conj())", "{z}.is_conj()", "{z}.conj().is_conj()",
         "torch.is_complex({z})", "{z}.is_floating_point()", "torch.sgn({z}).abs()",
         "{z}.flip(0)", "{z}.T", "torch.stack([{z}, {z}])",
         "torch.cat([{z}, {z}.conj()])", "{z}.clone()", "{z}.detach()", "{z}.sum()",
         "{z}.mean()", "{z}.prod()", "{z}.cumsum(0)", "{z}.cumprod(0)", "torch.var({z})",
         "torch.std({z})", "{z}.var(0, correction=0)", "torch.linalg.vector_norm({z})",
         "torch.linalg.vector_norm({z}, ord=1)", "torch.linalg.vector_norm({z}, ord=float('inf'))",
         "torch.norm({z})", "{z}.norm(p=1)", "torch.dot({z}.flatten(), {z}.flatten())",
         "torch.vdot({z}.flatten(), {z}.flatten())", "torch.inner({z}.flatten(), {z}.flatten())",
         "torch.outer({z}.flatten(), {z}.flatten())", "torch.diag_embed({z})",
         "torch.trace({z}.reshape(-1, 1) @ {z}.reshape(1, -1))",
         "torch.where({z}.abs() > 1, {z}, 0)", "torch.masked_fill({z}, {z}.real > 0, 1j)",
         "torch.zeros_like({z})", "torch.ones_like({z})", "torch.full_like({z}, 1 + 1j)",
         "torch.empty_like({z}).fill_(2j)", "{z}.new_zeros(2)", "{z}.new_tensor([1, 2])",
         "{z}.flatten()[torch.tensor([0, -1])]",
         "{z}.sum(0, keepdim=True)", "{z}.to(torch.complex128)", "{z}.to(torch.complex64)",
         "{z}.cdouble()", "{z}.cfloat()", "{z}.type(torch.complex128)",
         "torch.polar({z}.abs(), {z}.angle())", "torch.complex({z}.real, {z}.imag)"]
ERRORS = ["{z} < {z}", "{z} > 0", "torch.max({z})", "{z}.max(0)", "torch.min({z})",
          "torch.sort({z})", "torch.clamp({z}, 0, 1)", "{z}.clamp(min=0)", "torch.sign({z})",
          "torch.argmax({z})", "{z}.topk(1)", "torch.floor({z})", "torch.ceil({z})",
          "torch.round({z})", "torch.trunc({z})", "{z} // 2", "{z} % 2", "torch.fmod({z}, 2)",
          "torch.remainder({z}, 2)", "torch.relu({z})", "torch.atan2({z}, {z})",
          "torch.maximum({z}, {z})", "torch.heaviside({z}, {z})", "torch.erf({z})",
          "torch.lgamma({z})", "torch.fft.rfft({z})", "torch.fft.ihfft({z})",
          "{z}.bool()", "bool({z}.flatten()[0])", "int({z}.flatten()[0])",
          "float({z}.flatten()[0])", "torch.cummax({z}, 0)", "torch.logsumexp({z}, 0)",
          "torch.nn.functional.relu({z})", "torch.histc({z})", "torch.msort({z})",
          "torch.median({z})", "torch.kthvalue({z}.flatten(), 1)", "{z}.amax()",
          "torch.isneginf({z})", "torch.signbit({z})", "torch.frac({z})",
          "torch.bitwise_and({z}, {z})", "{z} & {z}", "~{z}", "torch.logical_not({z})",
          "torch.nonzero({z})", "torch.count_nonzero({z})", "torch.any({z})", "torch.all({z})",
          "{z}.to(torch.float32)", "{z}.float()", "{z}.long()", "{z}.to(torch.int32)",
          "{z}.double()", "{z}.half()", "{z}.numpy().dtype.name", "{z}.tolist()",
          "str({z})", "repr({z})", "{z}.flatten()[0].item()", "complex({z}.flatten()[0])",
          "torch.view_as_complex({z})", "{z}.real.imag", "torch.ones(2).imag",
          "torch.tensor([1, 2]).imag", "torch.polar({z}, {z})", "torch.complex({z}, {z})",
          "torch.complex(torch.ones(2), torch.ones(2, dtype=torch.float64))",
          "torch.complex(torch.ones(2, dtype=torch.int64), torch.ones(2, dtype=torch.int64))",
          "torch.view_as_complex(torch.ones(3, 3))", "torch.view_as_complex(torch.ones(2))",
          "torch.view_as_complex(torch.ones(2, 2).t())", "torch.view_as_real({z}.conj())",
          "torch.isclose({z}, {z} + 1e-9)", "torch.allclose({z}, {z} * (1 + 1e-9))",
          "torch.equal({z}, {z}.clone())", "torch.isclose({z}, {z}.real)",
          "torch.eq({z}, {z}.conj())", "{z} != {z}.real", "{z} == 1j",
          "torch.linalg.vector_norm({z}, dtype=torch.float64)",
          "torch.linalg.vector_norm({z}, dtype=torch.complex128)",
          "{z}.sum(dtype=torch.float64)", "{z}.sum(dtype=torch.complex128)",
          "torch.arange(3, dtype=torch.complex64)", "torch.linspace(0, 1j, 3)",
          "torch.linspace(0, 1, 3, dtype=torch.complex64)", "torch.full((2,), 1j)",
          "torch.manual_seed(0) and torch.zeros(2, dtype=torch.complex64).random_()",
          "torch.manual_seed(0) and torch.rand(2, dtype=torch.cfloat)",
          "torch.manual_seed(0) and torch.randint(0, 3, (2,), dtype=torch.complex64)",
          "torch.manual_seed(0) and torch.normal(torch.zeros(2, dtype=torch.cfloat), 1.0)",
          "torch.manual_seed(0) and torch.empty(2, dtype=torch.cfloat).uniform_()",
          "torch.manual_seed(0) and torch.empty(2, dtype=torch.cfloat).normal_()",
          "torch.tensor([1, 2]).to(torch.complex64).dtype", "torch.tensor(1j).dtype",
          "torch.tensor([1j], dtype=torch.float32)", "torch.tensor([1 + 0j]).real.dtype",
          "torch.result_type({z}, 1.0)", "torch.promote_types(torch.float64, torch.complex64)",
          "torch.promote_types(torch.complex64, torch.int64)",
          "torch.can_cast(torch.complex64, torch.float32)",
          "torch.can_cast(torch.float32, torch.complex64)", "torch.get_default_dtype()",
          "{z}.dtype.is_complex", "{z}.dtype.to_real()", "torch.float32.to_complex()",
          "{z}.dtype.itemsize", "{z}.element_size()", "{z}.real.stride()",
          "{z}.imag.storage_offset()", "torch.view_as_real({z}).stride()"]


class Gen22(sl19.Gen19):
    """Sessions 17-28's families (at a low weight) plus the complex families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        new = [(self.make22, 8), (self.unary22, 14), (self.errors22, 12), (self.binary22, 12),
               (self.linalg22, 8), (self.fft22, 6), (self.inplace22, 6), (self.grad22, 12),
               (self.parts22, 6), (self.autograd_grad22, 5), (self.gradcheck22, 2)]
        return old + [(sl19._guarded(maker), weight) for maker, weight in new]

    # -- making -------------------------------------------------------------------------------
    def shape22(self):
        return self.pick([(3,), (2, 3), (4,), (2, 2), ()])

    def lit22(self, shape, lo=None, hi=None):
        return self.flt(shape, lo, hi) if shape else repr(float(self.rng.standard_normal()
                                                                .round(3)))

    def make_expr22(self, shape, dt):
        """An expression of a complex tensor of ``shape`` and dtype ``dt``, made one way."""
        rd = RDT[dt]
        kind = self.pick(["complex", "polar", "view", "literal", "randn", "promote", "to",
                          "mul1j"])
        if kind == "complex":
            return (f"torch.complex(torch.tensor({self.lit22(shape)}, dtype=torch.{rd}), "
                    f"torch.tensor({self.lit22(shape)}, dtype=torch.{rd}))")
        if kind == "polar":
            return (f"torch.polar(torch.tensor({self.lit22(shape, 0.2, 2.0)}, dtype=torch.{rd}), "
                    f"torch.tensor({self.lit22(shape, -3.0, 3.0)}, dtype=torch.{rd}))")
        if kind == "view":
            return (f"torch.view_as_complex(torch.tensor({self.flt(shape + (2,))}, "
                    f"dtype=torch.{rd}))")
        if kind == "literal":
            n = 1
            for s in shape:
                n *= s
            vals = [complex(round(float(a), 2), round(float(b), 2))
                    for a, b in self.rng.standard_normal((n, 2))]
            body = repr(vals[0]) if not shape else repr(vals)
            t = f"torch.tensor({body}, dtype=torch.{dt})" if dt != "complex64" or \
                self.coin(0.5) else f"torch.tensor({body})"
            return t if not shape or len(shape) == 1 else f"{t}.reshape{shape}"
        if kind == "randn":  # (seeded in the expression: PyTorch's generator state differs
            # between drawing and running)
            return (f"(torch.manual_seed({int(self.rng.integers(0, 50))}) and torch.randn("
                    f"{shape}, dtype=torch.{self.pick([dt, 'cfloat', 'cdouble'])}))")
        if kind == "promote":
            return (f"(torch.tensor({self.lit22(shape)}, dtype=torch.{rd}) + "
                    f"{self.pick(['1j', '(2-1j)', '0j', '-0.5j'])})")
        if kind == "to":
            return (f"torch.tensor({self.lit22(shape)}, dtype=torch.{rd})"
                    f".to(torch.{dt})")
        ints = self.rng.integers(-3, 4, shape).tolist() if shape else int(self.rng.integers(-3, 4))
        return f"(torch.tensor({ints}) * {self.pick(['1j', '(1+1j)', '2j'])})"

    def cx(self, parts, shape=None, grad=False, fresh=False):
        """A complex tensor variable: an existing one (of ``shape`` if given) or a new one
        (made now: its line is run and added to ``parts``)."""
        if not fresh and not grad:
            names = self.tensors(lambda t: t.is_complex() and (shape is None
                                                                 or tuple(t.shape) == shape))
            if names and self.coin(0.6):
                return self.pick(names)
        shape = self.shape22() if shape is None else shape
        dt = self.pick(CDT)
        name = self.fresh()
        expr = self.make_expr22(shape, dt)
        rg = ".detach().requires_grad_()" if grad else ""
        line = f"{name} = {expr}{rg}"
        exec(line, self.ns)
        parts.append(line)
        return name

    def make22(self):
        parts = []
        self.cx(parts, fresh=True, grad=self.coin(0.3))
        return parts

    # -- ops ----------------------------------------------------------------------------------
    def unary22(self):
        parts = []
        z = self.cx(parts)
        parts.append(f"{self.fresh()} = {self.pick(UNARY).format(z=z)}")
        return parts

    def errors22(self):
        parts = []
        z = self.cx(parts)
        body = f"{self.fresh()} = {self.pick(ERRORS).format(z=z)}"
        parts.append(sl19._catch(body, self.fresh()))
        return parts

    def other22(self, shape):
        """A real / integer / bool / complex operand broadcasting with ``shape``."""
        kind = self.pick(["float32", "float64", "int64", "bool", "float16", "complex", "0d",
                          "scalar", "scalar", "0dc"])
        sh = shape if self.coin(0.7) else shape[-1:]
        if kind == "scalar":
            return self.pick(SCALARS)
        if kind == "0d":
            return f"torch.tensor({self.pick(['2.0', '3', '-1.5'])}, dtype=torch.float64)"
        if kind == "0dc":
            return f"torch.tensor({self.pick(['1j', '(2-1j)'])}, dtype=torch.complex128)"
        if kind == "complex":
            return self.make_expr22(sh, self.pick(CDT))
        if kind == "bool":
            return f"torch.tensor({self.rng.integers(0, 2, sh).astype(bool).tolist()})"
        if kind == "int64":
            return f"torch.tensor({self.rng.integers(-3, 4, sh).tolist()})"
        return f"torch.tensor({self.lit22(sh)}, dtype=torch.{kind})"

    def binary22(self):
        parts = []
        z = self.cx(parts)
        shape = tuple(self.ns[z].shape)
        w = self.other22(shape)
        op = self.pick(["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / {b}", "{b} / {a}",
                        "{b} - {a}", "{a} ** {b}", "{b} ** {a}", "torch.pow({a}, {b})",
                        "torch.add({a}, {b}, alpha=2)", "torch.mul({a}, {b})",
                        "torch.div({a}, {b})", "torch.true_divide({a}, {b})",
                        "torch.sub({a}, {b})", "{a} == {b}", "{a} != {b}",
                        "torch.isclose({a}, {b})", "torch.addcmul({a}, {a}, {a}, value=2)",
                        "torch.lerp({a}, {a} * 2, 0.3)", "{a} / 0", "{a} * float('inf')",
                        "{a} * float('nan')", "torch.where({a}.real > 0, {a}, {b})",
                        "torch.xlogy({a}, {b})", "torch.linalg.vecdot({a}, {a})"])
        out = self.fresh()
        body = f"{out} = {op.format(a=z, b=w)}"
        parts.append(sl19._catch(body, self.fresh()) if self.coin(0.3) else body)
        return parts

    def linalg22(self):
        parts = []
        n = self.pick([2, 3])
        dt = self.pick(CDT)
        a = self.fresh()
        grad = ".requires_grad_()" if self.coin(0.3) else ""
        expr = self.make_expr22((n, n), dt)
        parts.append(f"torch.manual_seed(1); {a} = ({expr} + {n} * torch.eye({n}))"
                     f".detach(){grad}")
        exec(parts[-1], self.ns)
        b = self.make_expr22((n,), dt) if self.coin(0.5) else \
            self.make_expr22((n, 2), self.pick(CDT))
        op = self.pick([
            "{a} @ {a}", "torch.mm({a}, {a}.conj().T)", "torch.matmul({a}, {b})",
            "torch.bmm({a}[None], {a}[None])", "torch.einsum('ij,jk->ik', {a}, {a})",
            "torch.einsum('ij,ij->', {a}, {a}.conj())", "torch.linalg.det({a})", "{a}.det()",
            "torch.linalg.slogdet({a})", "torch.logdet({a})", "torch.linalg.inv({a})",
            "torch.linalg.solve({a}, {b})", "torch.linalg.eigvals({a})",
            "(lambda e: e[1] @ torch.diag_embed(e[0]) @ torch.linalg.inv(e[1]))"
            "(torch.linalg.eig({a}))",
            "torch.linalg.svdvals({a})",
            "(lambda u: u[0] @ torch.diag_embed(u[1]).to(u[0].dtype) @ u[2])"
            "(torch.linalg.svd({a}))",
            "(lambda q: q[0] @ q[1])(torch.linalg.qr({a}))",
            "torch.linalg.qr({a})[1].diagonal().abs()",
            "torch.linalg.norm({a})", "torch.linalg.matrix_norm({a}, 'nuc')",
            "torch.linalg.matrix_norm({a}, 1)", "torch.linalg.matrix_norm({a}, 2)",
            "torch.linalg.eigvalsh({a} + {a}.mH)", "torch.linalg.cholesky({a} @ {a}.mH)",
            "torch.linalg.pinv({a})", "torch.linalg.matrix_exp({a} * 0.3)",
            "torch.linalg.matrix_power({a}, 3)", "torch.linalg.matrix_rank({a})",
            "torch.linalg.cond({a})", "torch.kron({a}, {a})",
            "torch.linalg.vector_norm({a}, dim=0)",
            "torch.mv({a}, {a}[0])", "torch.matmul({a}, torch.ones({n}))",
            "{a} @ torch.eye({n}, dtype=torch.float64)", "torch.linalg.multi_dot([{a}, {a}, {a}])",
            "torch.tensordot({a}, {a}, 1)", "torch.triu({a})", "torch.linalg.lstsq({a}, {b}"
            ".reshape({n}, -1)).solution", "torch.cholesky_inverse(torch.linalg.cholesky("
            "{a} @ {a}.mH))"])
        y = self.fresh()
        body = f"{y} = {op.format(a=a, b=b, n=n)}"
        parts.append(sl19._catch(body, self.fresh()) if self.coin(0.3) else body)
        if grad and self.coin(0.7):
            parts.append(self.loss22(y) + ".backward()")
        return parts

    def loss22(self, y):
        """A real scalar made from ``y`` (complex or real, a tensor or a tuple's first)."""
        f = self.pick(["{y}.abs().sum()", "({y}.abs() ** 2).sum()", "{y}.real.sum()",
                       "torch.view_as_real({y}).pow(2).sum()", "({y} * {y}.conj()).real.sum()",
                       "{y}.imag.sum()", "({y}.real * 2 - {y}.imag).sum()"])
        return (f"(lambda y: {f.format(y='y')})"
                f"((lambda v: (v[0] if isinstance(v, tuple) else v) + 0j)({y}))")

    def fft22(self):
        parts = []
        real = self.coin(0.4)
        shape = self.pick([(4,), (5,), (2, 4), (3, 3)])
        if real:
            x = self.fresh()
            parts.append(f"{x} = torch.tensor({self.flt(shape)}, dtype=torch."
                         f"{self.pick(['float32', 'float64'])})")
            exec(parts[-1], self.ns)
        else:
            x = self.cx(parts, shape=shape)
        fn = self.pick(["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "fftn", "hfft",
                        "ihfft", "rfft2", "irfftn", "fftshift", "ifftshift"])
        kws = []
        if fn not in ("fftshift", "ifftshift"):
            if self.coin(0.3) and fn in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"):
                kws.append(f"n={self.pick([3, 4, 6, 8])}")
            if self.coin(0.3):
                kws.append(f"norm={self.pick(NORMS)}")
        y = self.fresh()
        kw = "".join(", " + k for k in kws)
        body = f"{y} = torch.fft.{fn}({x}{kw})"
        parts.append(sl19._catch(body, self.fresh()) if self.coin(0.4) else body)
        return parts

    def inplace22(self):
        parts = []
        z = self.cx(parts, fresh=self.coin(0.5))
        shape = tuple(self.ns[z].shape)
        r = self.fresh()
        parts.append(f"{r} = torch.tensor({self.lit22(shape)}, dtype=torch."
                     f"{self.pick(['float32', 'float64', 'int64'])})"
                     if self.pick([0, 1]) or not shape else
                     f"{r} = torch.tensor({self.rng.integers(-3, 4, shape).tolist()})")
        op = self.pick(["{z} += {r}", "{z} *= 1j", "{z} *= {r}", "{z}.mul_(2 - 1j)",
                        "{z}.add_({r}, alpha=2)", "{r} += {z}", "{r} *= 1j", "{r}.add_(1j)",
                        "{r}.copy_({z})", "{z}.copy_({r})", "{z}.real.fill_(1.5)",
                        "{z}.imag.mul_(2)", "{z}.real = {r}", "{z}.imag = {r}",
                        "{z}.real[...] = 0", "{z}[0] = 1j", "{z}[0] = 2",
                        "{r}[...] = 1j", "{z}.conj_physical_()", "{z}.sgn_()", "{z}.exp_()",
                        "{z}.zero_()", "{z}.fill_(1 + 2j)", "{z}.sqrt_()", "{z}.abs_()",
                        "{z}.clamp_(0, 1)", "{z}.div_(0)", "torch.view_as_real({z}).mul_(2)",
                        "{z}.conj().mul_(2)", "{z}.neg_()", "{z}.reciprocal_()",
                        "{z}.masked_fill_({z}.real > 0, 0)", "{z}.index_fill_(0, "
                        "torch.tensor([0]), -1j)"])
        line = op.format(z=z, r=r)
        if shape == () and "[0]" in line:
            line = line.replace("[0]", "[...]")
        parts.append(sl19._catch(line, self.fresh()) if self.coin(0.5) else line)
        return parts

    # -- autograd -----------------------------------------------------------------------------
    def grad22(self):
        parts = []
        z = self.cx(parts, grad=True, shape=self.pick([(3,), (2, 2)]))
        y = self.fresh()
        f = self.pick(UNARY[:40] + ["{z} * {z}", "{z} * 2j", "{z} / (1 + {z}.abs())",
                                    "{z}.conj() * {z}", "{z} ** (0.5 + 1j)", "{z} ** 3",
                                    "torch.exp(1j * {z}.abs())", "{z}.sum() * {z}",
                                    "{z}.cumsum(0)", "{z}.prod()", "{z}.mean()",
                                    "torch.view_as_real({z})", "torch.fft.fft({z})",
                                    "torch.fft.ifft({z}, norm='ortho')",
                                    "{z} @ {z}.conj()",
                                    "{z}.sgn()", "{z}.abs() * {z}.angle()",
                                    "torch.polar({z}.abs(), {z}.angle())"])
        parts.append(f"{y} = {f.format(z=z)}")
        parts.append(self.loss22(y) + f".backward(retain_graph={self.pick(['True', 'False'])})")
        return parts

    def parts22(self):
        """Gradients to real leaves through torch.complex / polar / view_as_complex."""
        parts = []
        shape = self.pick([(3,), (2, 2)])
        dt = self.pick(["float32", "float64"])
        x, y = self.fresh(), self.fresh()
        lo = (0.2, 2.0)
        kind = self.pick(["complex", "polar", "view"])
        if kind == "view":
            parts.append(f"{x} = torch.tensor({self.flt(shape + (2,))}, dtype=torch.{dt}, "
                         f"requires_grad=True)")
            z = f"torch.view_as_complex({x})"
        else:
            parts.append(f"{x} = torch.tensor({self.flt(shape, *lo)}, dtype=torch.{dt}, "
                         f"requires_grad=True)")
            parts.append(f"{y} = torch.tensor({self.flt(shape, -2.0, 2.0)}, dtype=torch.{dt}, "
                         f"requires_grad=True)")
            z = f"torch.{kind}({x}, {y})"
        w = self.fresh()
        f = self.pick(["{z}", "{z} * {z}", "torch.exp({z})", "{z}.conj() * 1j", "torch.log({z})",
                       "{z}.abs()", "{z}.angle()", "torch.sin({z})", "{z} / 2j",
                       "torch.sqrt({z})", "torch.sigmoid({z})", "torch.tanh({z})"])
        parts.append(f"{w} = {f.format(z=z)}")
        parts.append(self.loss22(w) + ".backward()")
        return parts

    def autograd_grad22(self):
        parts = []
        z = self.cx(parts, grad=True, shape=(3,))
        y = self.fresh()
        f = self.pick(["{z} * {z}", "torch.exp({z})", "{z}.conj()", "torch.sin({z})",
                       "{z} * 2", "{z}.abs()", "{z}.real", "torch.view_as_real({z})"])
        parts.append(f"{y} = {f.format(z=z)}")
        g = self.pick(["torch.ones(3, dtype=torch.complex64)",
                       "torch.tensor([1j, 2, -1j])", "torch.tensor([1 + 1j, 1, 0j], "
                       "dtype=torch.complex128)", "torch.ones(3)", "torch.ones(3, 2)",
                       "torch.ones_like({y})", "torch.full_like({y}, 2)"]).format(y=y)
        out = self.fresh()
        body = f"{out} = torch.autograd.grad({y}, {z}, grad_outputs={g}, create_graph=" \
               f"{self.pick(['False', 'True'])})"
        parts.append(sl19._catch(body, self.fresh()) if self.coin(0.4) else body)
        if self.coin(0.3):
            parts.append(sl19._catch(f"{self.fresh()} = torch.autograd.grad({y}.sum(), {z})",
                                     self.fresh()))
        return parts

    def gradcheck22(self):
        parts = []
        out = self.fresh()
        f = self.pick(["lambda z: z * z", "lambda z: torch.exp(z)", "lambda z: z.abs()",
                       "lambda z: z.conj() * z", "lambda z: torch.view_as_real(z)",
                       "lambda z: torch.sin(z) / (1 + z.abs())", "lambda z: z.real * z"])
        z = "torch.tensor([0.5 + 1j, -1 + 0.3j, 2 - 1j], dtype=torch.complex128, " \
            "requires_grad=True)"
        parts.append(sl19._catch(f"{self.fresh()} = torch.autograd.gradcheck({f}, ({z},))",
                                 out))
        return parts


# --------------------------------------------------------------------------------------------
# Reviewed differences this family reaches (on top of sessions 17 to 28's lists)
# --------------------------------------------------------------------------------------------

def _line(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _body(line):
    """A ``_catch``-wrapped line's statement (the line itself otherwise)."""
    if line.startswith("with ") and "\n    try:\n        " in line:
        return line.split("\n    try:\n        ", 1)[1].split("\n", 1)[0]
    return line


def _dg_error(lines, failure):
    """The message of what deltagrad raises running the failing line's statement (unwrapped)
    after the lines before it, or None."""
    ns = {"torch": dg}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line in lines[:failure[0]]:
            try:
                exec(line, ns)
            except Exception:  # noqa: BLE001 - as the program runs
                pass
        try:
            exec(_body(_line(lines, failure)), ns)
        except Exception as exc:  # noqa: BLE001 - its words are what is read
            return f"{type(exc).__name__}: {exc}"
    return None


_REFUSALS = re.compile(r"complex matrices are not supported|gradients through complex tensors "
                       r"are not supported|not implemented for dtype \S+\.complex")


def _complex_refusal(lines, failure):
    # What deltagrad refuses for complex tensors with a clear error where PyTorch computes:
    # linalg.lstsq of complex matrices, gradients of complex eigvals / eig / matrix_exp /
    # slogdet / svd-based norms, normal_ / normal of a complex tensor.
    if failure[1] not in ("we-raise", "silent"):
        return False
    if failure[1] == "silent" and "bound on one side only" not in failure[2] and \
            "!= torch's 'ok'" not in failure[2]:
        return False
    message = _dg_error(lines, failure)
    return message is not None and _REFUSALS.search(message) is not None


def _conj_is_a_copy(lines, failure):
    # x.conj() is a lazy view in PyTorch (is_conj() True, writes through it change x,
    # view_as_real refuses it); deltagrad computes the conjugate (api/complex.py's conj: equal
    # values, no shared memory, is_conj() False). Session 20's SL5 reviewed the same.
    line = _body(_line(lines, failure))
    conj_names = {m for x in lines[:failure[0]]
                  for m in re.findall(r"\b(a\d+) = (?:a\d+\.conj\(\)|torch\.conj\(a\d+\))$", x)}
    if failure[1] in ("silent", "permissive") and any(
            re.match(rf"{n}(\.\w+_\(|\[| [-+*/]?= )", line) or f"view_as_real({n})" in line
            for n in conj_names):
        return True  # (a write into a conj() result bound earlier, view_as_real of one)
    if failure[1] == "silent" and failure[2].split(".", 1)[0].split(":", 1)[0] in conj_names:
        return True  # (a conj() result not seeing a later write into its base)
    if ".conj()" not in line and "torch.conj(" not in line:
        return False
    if failure[1] == "silent" and ("is_conj()" in line or re.search(
            r"conj\(\)(\.\w+)?\.\w+_\(|conj\(\)\[", line)):
        return True
    return "view_as_real(" in line and (failure[1] == "permissive" or "bound on one side" in
                                        failure[2] or "!= torch's 'RuntimeError'" in failure[2])


def _cast_warned_once(lines, failure):
    # "Casting complex values to real discards the imaginary part" is PyTorch's warning once a
    # process (TORCH_WARN_ONCE), deltagrad's too (errors.warn_once): in one fuzzer process the
    # generator has cast on PyTorch already, so which side still warns differs.
    # test_s29_SL22_fixes.py checks the warning in a process of its own.
    if failure[1] != "silent" or not re.search(r"length (1|2) != torch's (1|2)", failure[2]):
        return False
    return re.search(r"\.(to|float|double|half|long|int|copy_|type)\(|\] = |\.real = |"
                     r"\.imag = ", _body(_line(lines, failure))) is not None


def _second_backward(lines, failure):
    # A second backward through a graph of ops that save nothing (view_as_real, .real, conj,
    # casts to complex): PyTorch runs it (it frees saved tensors, not nodes); deltagrad's
    # saves-nothing walk (versions.unsaved_graph) does not take the complex ops, and raises
    # "backward through the graph a second time" (a loud error).
    message = _dg_error(lines, failure)
    return message is not None and "backward through the graph a second time" in message and \
        failure[1] in ("we-raise", "silent")


def _silent_values(failure):
    """The (deltagrad, PyTorch) values of a silent ``.values`` difference as complex arrays,
    or None where the failure text holds no list of numbers."""
    got, ref = failure[2].split(".values: ", 1)[1].split(" != torch's ", 1)
    try:
        return np.asarray(eval(got), dtype=complex), np.asarray(eval(ref), dtype=complex)
    except Exception:  # noqa: BLE001 - not a list of numbers
        return None


def _roundoff(lines, failure):
    # complex64 results (FFTs, SVD-based norms, gradients through them): the two libraries'
    # kernels round differently; the difference is within float32's roundoff of the largest
    # element (1e-5 of it), past the snapshot's fixed absolute tolerance on small elements.
    if failure[1] != "silent" or ".values: " not in failure[2]:
        return False
    values = _silent_values(failure)
    if values is None:
        return False
    got, ref = values
    if got.shape != ref.shape or not ref.size or not np.all(np.isfinite(ref)):
        return False
    return bool(np.max(np.abs(got - ref)) <= 1e-5 * max(1.0, float(np.max(np.abs(ref)))))


def _eigen_order(lines, failure):
    # linalg.eigvals / eig of complex64 matrices: the eigenvalues in another order (LAPACK's
    # cgeev in PyTorch, NumPy's geev in deltagrad; neither promises an order); the same
    # values as a set.
    if failure[1] != "silent" or ".values: " not in failure[2] or not re.search(
            r"linalg\.eig(vals)?\(", _line(lines, failure)):
        return False
    values = _silent_values(failure)
    if values is None:
        return False
    got, ref = values
    if got.shape != ref.shape or got.ndim != 1:
        return False
    return bool(np.allclose(np.sort_complex(got), np.sort_complex(ref), rtol=1e-4, atol=1e-5))


def _signed_zero_branch(lines, failure):
    # log / log2 / log10 / sqrt / pow of a negative real number whose imaginary part is -0.0
    # (a neg_ / conj of x + 0j): NumPy's (C99's) functions give the branch cut's lower side,
    # -pi i; PyTorch's vectorised loops read -0.0 as +0.0 for some elements (by their position
    # in the SIMD loop: the same value gives both signs in one tensor). Only those elements
    # differ, each the conjugate of PyTorch's.
    if failure[1] != "silent" or ".values: " not in failure[2] or not re.search(
            r"log|sqrt|pow|\*\*|acos|asin|atanh|acosh", _line(lines, failure)):
        return False
    values = _silent_values(failure)
    if values is None:
        return False
    got, ref = values
    if got.shape != ref.shape:
        return False
    tol = 1e-5 * np.maximum(1.0, np.abs(ref))
    same, conj = np.abs(got - ref) <= tol, np.abs(got - ref.conj()) <= tol
    return bool(np.all(same | conj))


def _ill_conditioned_inverse(lines, failure):
    # found by the soak run once BR23's layouts no longer hid it behind a stride entry (s30)
    if failure[1] != "silent" or ".values: " not in failure[2] \
            or "cholesky_inverse(" not in lines[failure[0]]:
        return False
    values = _silent_values(failure)
    if values is None or values[0].shape != values[1].shape or not values[1].size:
        return False
    got, ref = values
    return bool(np.max(np.abs(got - ref)) <= 1e-4 * max(1.0, float(np.max(np.abs(ref)))))


KNOWN = [
    (_ill_conditioned_inverse,
     "cholesky_inverse of an ill-conditioned complex64 matrix (condition ~1e3): each side's "
     "error is the condition number times float32's epsilon; deltagrad's is within 5e-7 of the "
     "exact inverse (relative), PyTorch's 1.4e-5"),
    (_complex_refusal, "complex linalg.lstsq, some complex gradients, complex normal: refused "
                       "with a clear error"),
    (_conj_is_a_copy, "x.conj() is computed, not a lazy view (is_conj, writes through it, "
                      "view_as_real of it)"),
    (_cast_warned_once, "the complex-to-real cast warning is once a process on both sides"),
    (_second_backward, "a second backward through complex view ops that save nothing raises"),
    (_roundoff, "complex64 roundoff within 1e-5 of the largest element"),
    (_eigen_order, "complex eigenvalues in another order (neither library promises one)"),
    (_signed_zero_branch, "PyTorch's vectorised log / sqrt take -0.0 imaginary parts as +0.0"),
]

_OURS = ("1j", "complex", "cfloat", "cdouble", "polar", "conj", "angle", ".imag", ".real",
         "torch.fft.")


FAMILY = base.Family(Gen22, own_first(KNOWN, sl19.known, _OURS), sl14.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
