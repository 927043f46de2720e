"""Session 20's families for the program-level differential fuzzer (``s17_SL_progfuzz.py``):
the same comparison after every line (values with signs of zeros and NaNs, dtypes, shapes,
gradients, module parameters and buffers, exception classes), over what the earlier grammars
do not reach.

``Gen5`` keeps session 17's statements at a low weight and adds:

- nn modules with random configurations, forward and a weighted backward (``s20_SL5_nn.py``):
  Conv1d / Conv2d / ConvTranspose1d / 2d (stride, padding with 'same' / 'valid' and
  padding_mode, dilation, groups, bias=False, unbatched), BatchNorm1d / 2d, InstanceNorm,
  GroupNorm, LayerNorm (momentum=None, affine, track_running_stats, train then eval), LSTM /
  GRU / RNN (batch_first, bidirectional, layers, proj_size, h0 / c0, unbatched),
  MultiheadAttention (masks bool and float, kdim / vdim, need_weights, average_attn_weights,
  bias_kv, zero_attn), Transformer encoder / decoder layers (norm_first, activation, eval),
  pooling (ceil_mode, indices, padding, count_include_pad, divisor_override, adaptive, lp),
  interpolate / Upsample modes, Embedding / EmbeddingBag (modes, per_sample_weights, offsets);
- linalg with gradients: solve, inv, det, slogdet, qr, cholesky, eigh / eigvalsh, svd /
  svdvals, lstsq, pinv, matrix_norm / vector_norm / norm (ord, dim tuples), matrix_exp,
  matrix_power, cross, batched, singular and non-definite inputs (errors or inf / nan);
- fft (fft / ifft / rfft / irfft / hfft / fft2 / rfftn / ifftn with n, s, dim, norm,
  fftshift) with gradients; complex arithmetic (abs, angle, conj views, real / imag written
  through, polar, view_as_real / view_as_complex, promotion);
- float16 / bfloat16 results (pointwise, reductions, cumsum, matmul, softmax, norms), read
  back as float64 so that the comparison is exact to far below one half-precision ulp;
- reductions: dim tuples, negative dims, keepdim, ``dtype=``, empty inputs, NaN, nansum /
  nanmean, std / var with correction=, var_mean / std_mean, logsumexp with -inf, aminmax,
  cummax / cummin / logcumsumexp with ties and NaN;
- random streams after ``torch.manual_seed`` and from ``torch.Generator`` objects: rand /
  randn / randint / randperm / normal_ / uniform_ / bernoulli / multinomial / dropout masks.

Run as a script::

    .venv/bin/python tests/parity/s20_SL5_families.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import ast
import math
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s19_SL4_families as sl4  # noqa: E402
from s17_SL_known import chain_known  # noqa: E402
from s20_SL5_nn import NNFamilies  # noqa: E402

torch = base.torch
LA = "torch.linalg"


def _num(v) -> str:
    if math.isnan(v):
        return "float('nan')"
    if math.isinf(v):
        return "float('inf')" if v > 0 else "-float('inf')"
    return repr(float(v))


def _nested(a) -> str:
    if isinstance(a, list):
        return "[" + ", ".join(_nested(u) for u in a) + "]"
    return _num(a)


class Gen5(NNFamilies, base.Gen):
    """Session 17's grammar plus the families above."""

    def makers(self):
        old = [(maker, weight * 0.15) for maker, weight in super().makers()]
        return old + [(self.nn_family, 6), (self.nn_backward, 3), (self.linalg, 5),
                      (self.fft, 3), (self.complex_ops, 3), (self.lowp, 5),
                      (self.reduction, 5), (self.random_stream, 3)]

    # -- literals -------------------------------------------------------------------------------
    def flt(self, shape, special=False):
        """A float literal of ``shape``: three decimals (not dyadic, so roundings show), with
        NaN / infinities / -0.0 now and then when ``special``."""
        a = np.round(self.rng.standard_normal(shape), 3)
        if special and a.size:
            flat = a.reshape(-1)
            for _ in range(int(self.rng.integers(1, 3))):
                flat[int(self.rng.integers(flat.size))] = self.pick(
                    [math.nan, math.inf, -math.inf, -0.0, 0.0, 1.0])
        return _nested(a.tolist())

    def leaf_of(self, shape, dtype="float32", grad=True, special=False):
        name = self.fresh()
        rg = ", requires_grad=True" if grad else ""
        lit = f"torch.tensor({self.flt(shape, special)}, dtype=torch.{dtype}{rg})"
        return name, f"{name} = {lit}"

    # -- linalg ---------------------------------------------------------------------------------
    def linalg(self):
        n = int(self.rng.integers(1, 4))
        batch = self.pick([(), (), (2,), (1, 2)])
        dtype = self.pick(["float32", "float64", "float64"])
        a, la = self.leaf_of(batch + (n, n), dtype)
        parts = [la]
        y = self.fresh()
        kind = self.pick(["solve", "inv", "det", "slogdet", "qr", "cholesky", "eigh", "svd",
                          "svdvals", "lstsq", "pinv", "matrix_norm", "vector_norm", "norm",
                          "matrix_exp", "matrix_power", "singular", "cross", "eigvalsh",
                          "inv_ex", "multi_dot", "cond", "matrix_rank"])
        well = f"({a} + {n + 1} * torch.eye({n}, dtype={a}.dtype))"
        spd = f"({a} @ {a}.mT + torch.eye({n}, dtype={a}.dtype))"
        sym = f"({a} + {a}.mT + torch.diag(torch.arange({n}, dtype={a}.dtype) * 1.7))"
        if kind == "solve":
            k = self.pick([None, 1, 2])
            bshape = batch + ((n,) if k is None else (n, k))
            b, lb = self.leaf_of(bshape, dtype)
            parts.append(lb)
            left = self.pick(["", ", left=True"]) if k is not None else ""
            parts.append(f"{y} = {LA}.solve({well}, {b}{left})")
        elif kind == "inv":
            parts.append(f"{y} = {self.pick([LA + '.inv', 'torch.inverse'])}({well})")
        elif kind == "inv_ex":
            parts.append(f"{y} = {LA}.inv_ex({well})")
        elif kind == "det":
            parts.append(f"{y} = {self.pick([LA + '.det', 'torch.det'])}({a})")
        elif kind == "slogdet":
            parts.append(f"{y} = {self.pick([LA + '.slogdet', 'torch.logdet'])}({well})")
        elif kind == "qr":
            m = self.pick([n, n + 1, max(n - 1, 1)])
            a, la = self.leaf_of(batch + (m, n), dtype)
            mode = self.pick(["'reduced'", "'complete'", "'r'"])
            parts = [la, f"{y} = {LA}.qr({a}, mode={mode})"]
            if mode == "'complete'" and m > n:  # (no derivative for it in PyTorch)
                parts[-1] = f"with torch.no_grad(): {parts[-1]}"
        elif kind == "cholesky":
            upper = self.pick(["", ", upper=True", ", upper=False"])
            parts.append(f"{y} = {LA}.cholesky({spd}{upper})")
        elif kind == "eigh":
            uplo = self.pick(["", ", UPLO='U'"])
            parts.append(f"{y} = [(v * v, l) for l, v in [{LA}.eigh({sym}{uplo})]][0]")
        elif kind == "eigvalsh":
            parts.append(f"{y} = {LA}.eigvalsh({sym})")
        elif kind == "svd":
            m = self.pick([n, n + 1])
            a, la = self.leaf_of(batch + (m, n), dtype)
            full = self.pick(["False", "True"])
            parts = [la, f"{y} = [(u @ torch.diag_embed(s) @ vh[..., :{min(m, n)}, :] "
                         f"if {full} else u @ torch.diag_embed(s) @ vh, s, u * u) for u, s, vh "
                         f"in [{LA}.svd({a}, full_matrices=False)]][0]"]
        elif kind == "svdvals":
            parts.append(f"{y} = {LA}.svdvals({a})")
        elif kind == "lstsq":
            m = n + int(self.rng.integers(0, 2))
            a, la = self.leaf_of(batch + (m, n), dtype)
            b, lb = self.leaf_of(batch + (m, int(self.rng.integers(1, 3))), dtype)
            parts = [la, lb, f"{y} = {LA}.lstsq({a} + torch.eye({m}, {n}, dtype={a}.dtype) * "
                             f"{n + 1}, {b}).solution"]
        elif kind == "pinv":
            h = self.pick(["", ", hermitian=True"])
            src = sym if h else well
            parts.append(f"{y} = {LA}.pinv({src}{h})")
        elif kind == "matrix_norm":
            ord_ = self.pick(["'fro'", "'nuc'", "1", "-1", "2", "-2", "float('inf')",
                              "-float('inf')"])
            keep = self.pick(["", ", keepdim=True"])
            dims = self.pick(["", ", dim=(-2, -1)", ", dim=(-1, -2)"])
            src = well if ord_ in ("2", "-2", "'nuc'") else a
            parts.append(f"{y} = {LA}.matrix_norm({src}, ord={ord_}{dims}{keep})")
        elif kind == "vector_norm":
            ord_ = self.pick(["2", "1", "3", "0", "0.5", "float('inf')", "-float('inf')",
                              "-1"])
            nd = len(batch) + 2
            dim = self.pick(["None", "-1", "0", "(0, -1)", f"({nd - 1}, 0)", "()"])
            keep = self.pick(["", ", keepdim=True"])
            dt = self.pick(["", "", ", dtype=torch.float64"])
            parts.append(f"{y} = {LA}.vector_norm({a}, ord={ord_}, dim={dim}{keep}{dt})")
        elif kind == "norm":
            ord_ = self.pick(["None", "'fro'", "2", "1", "float('inf')"])
            dim = self.pick(["None", "-1", "(-2, -1)"])
            parts.append(f"{y} = {LA}.norm({a}, ord={ord_}, dim={dim})")
        elif kind == "matrix_exp":
            parts.append(f"{y} = torch.matrix_exp({a} * 0.5)")
        elif kind == "matrix_power":
            k = int(self.rng.integers(-2, 4))
            parts.append(f"{y} = {LA}.matrix_power({well if k < 0 else a}, {k})")
        elif kind == "singular":
            s = f"torch.ones({batch + (n, n)}, dtype={a}.dtype) * {a}[..., :1, :1]"
            fn = self.pick(["inv", "solve", "det", "slogdet", "cholesky", "eigvalsh", "pinv",
                            "matrix_rank", "inv_ex", "cholesky_ex", "svdvals"])
            if fn.startswith("cholesky"):  # (negative definite: a singular one's pivots are
                s = f"-{spd}"  # zero or not by LAPACK's rounding)
            if fn == "solve":
                parts.append(f"{y} = {LA}.solve({s}, torch.ones({batch + (n,)}, "
                             f"dtype={a}.dtype))")
            elif n == 1 and fn in ("inv", "inv_ex"):
                parts.append(f"{y} = {LA}.{fn}({a} * 0)")
            else:
                parts.append(f"{y} = {LA}.{fn}({s} if {n} > 1 else {a} * 0)")
        elif kind == "cross":
            a, la = self.leaf_of(batch + (n, 3), dtype)
            b, lb = self.leaf_of((n, 3), dtype)
            parts = [la, lb, f"{y} = {LA}.cross({a}, {b}, dim={self.pick(['-1', '-1'])})"]
        elif kind == "multi_dot":
            b, lb = self.leaf_of((n, 2), dtype)
            c, lc = self.leaf_of((2, 3), dtype)
            a, la = self.leaf_of((2, n), dtype)
            parts = [la, lb, lc, f"{y} = {LA}.multi_dot([{a}, {b}, {c}])"]
        elif kind == "cond":
            p = self.pick(["None", "'fro'", "1", "float('inf')"])
            parts.append(f"{y} = {LA}.cond({well}, p={p})")
        else:
            parts.append(f"{y} = {LA}.matrix_rank({a}{self.pick(['', ', hermitian=False'])})")
        return "; ".join(parts)

    # -- fft and complex ------------------------------------------------------------------------
    def fft(self):
        nd = self.pick([1, 1, 2, 3])
        shape = tuple(int(self.rng.integers(1, 6)) for _ in range(nd))
        # (float64: float32 transforms part the libraries by ~2e-5 relative, pocketfft's
        # roundings against PyTorch's; the result dtypes of float32 are the complex family's)
        x, lx = self.leaf_of(shape, "float64")
        parts = [lx]
        if self.coin(0.3):  # a complex input
            c = self.fresh()
            parts.append(f"{c} = torch.complex({x}, {x}.flip(-1) * 0.5)")
            x = c
        fn = self.pick(["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2",
                        "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn", "fftshift",
                        "ifftshift"])
        kw = []
        norm = self.pick(["", "", ", norm='ortho'", ", norm='forward'", ", norm='backward'"])
        if fn in ("fftshift", "ifftshift"):
            if self.coin(0.5):
                kw.append(f"dim={self.pick(['-1', '0', '(0, -1)'])}")
            norm = ""
        elif fn.endswith("2") or fn.endswith("n"):
            if self.coin(0.4):
                k = min(nd, 2) if fn.endswith("2") else int(self.rng.integers(1, nd + 1))
                kw.append(f"s={tuple(int(self.rng.integers(1, 7)) for _ in range(k))}")
                if fn.endswith("n") and self.coin(0.5):
                    kw.append(f"dim={tuple(range(-k, 0))}")
            elif fn.endswith("n") and self.coin(0.3):
                kw.append(f"dim={self.pick(['(0,)', '(-1,)', 'None'])}")
        else:
            if self.coin(0.4):
                kw.append(f"n={int(self.rng.integers(1, 8))}")
            if self.coin(0.3):
                kw.append(f"dim={int(self.rng.integers(-nd, nd))}")
        y = self.fresh()
        args = ", ".join([x] + kw)
        parts.append(f"{y} = torch.fft.{fn}({args}{norm})")
        if self.coin(0.6):
            w = self.pick(["{y}.abs()", "torch.view_as_real({y}) if {y}.is_complex() else {y}",
                           "{y}.real * 2 + {y}.imag if {y}.is_complex() else {y}"])
            parts.append(f"({w.format(y=y)}).pow(2).sum().backward()")
        return "; ".join(parts)

    def complex_ops(self):
        shape = tuple(int(self.rng.integers(1, 4)) for _ in range(self.pick([1, 2])))
        dtype = self.pick(["complex64", "complex128"])
        re, im = self.flt(shape), self.flt(shape)
        z = self.fresh()
        rg = self.coin(0.5)
        parts = [f"{z} = torch.complex(torch.tensor({re}), torch.tensor({im})).to(torch."
                 f"{dtype}){'.requires_grad_()' if rg else ''}"]
        y = self.fresh()
        kind = self.pick(["abs", "angle", "conj", "conj_view", "real_write", "imag_write",
                          "polar", "view_as_real", "view_as_complex", "promote", "sgn",
                          "reciprocal", "exp", "sqrt", "mul", "div", "pow", "isclose",
                          "conj_physical", "resolve"])
        if kind == "abs":
            parts.append(f"{y} = {z}.abs()")
        elif kind == "angle":
            parts.append(f"{y} = torch.angle({z})")
        elif kind == "conj":
            parts.append(f"{y} = {z}.conj() * 2")
        elif kind == "conj_view":
            parts.append(f"{y} = {z}.conj(); {y}.is_conj()")
            if not rg:
                parts.append(f"{y}.imag.mul_(3)")
        elif kind in ("real_write", "imag_write"):
            part = "real" if kind == "real_write" else "imag"
            if rg:
                parts.append(f"{y} = {z} * 1; {y}.{part}.mul_(2)")
            else:
                parts.append(f"{y} = {z}.{part}; {y}.add_(1.5); {y}[0] = -0.0")
        elif kind == "polar":
            a, la = self.leaf_of(shape)
            b, lb = self.leaf_of(shape)
            parts = [la, lb, f"{y} = torch.polar({a}.abs(), {b})"]
        elif kind == "view_as_real":
            parts.append(f"{y} = torch.view_as_real({z})")
        elif kind == "view_as_complex":
            a, la = self.leaf_of(shape + (2,), self.pick(["float32", "float64"]))
            parts = [la, f"{y} = torch.view_as_complex({a})"]
        elif kind == "promote":
            other = self.pick(["torch.tensor(2.5, dtype=torch.float64)", "2.5",
                               "torch.tensor([1.5], dtype=torch.float64)", "1j",
                               "torch.tensor(3)", "torch.tensor([True])",
                               "torch.tensor(0.5, dtype=torch.float16)"])
            parts.append(f"{y} = {z} {self.pick(['+', '*', '-', '/'])} {other}")
        elif kind == "sgn":
            parts.append(f"{y} = torch.sgn({z})")
        elif kind == "conj_physical":
            parts.append(f"{y} = torch.conj_physical({z})")
        elif kind == "resolve":
            parts.append(f"{y} = {z}.conj().resolve_conj()")
        elif kind == "isclose":
            parts.append(f"{y} = torch.isclose({z}, {z}.conj())")
        elif kind in ("reciprocal", "exp", "sqrt"):
            parts.append(f"{y} = {z}.{kind}()")
        elif kind == "pow":
            parts.append(f"{y} = {z} ** {self.pick(['2', '0.5', '-1', '3.0', '(1+1j)'])}")
        else:
            op = "*" if kind == "mul" else "/"
            parts.append(f"{y} = {z} {op} {z}.conj().flip(-1)")
        if rg and self.coin(0.6):
            parts.append(f"{y}.abs().sum().backward() if {y}.requires_grad and "
                         f"{y}.is_complex() else None")
        return "; ".join(parts)

    # -- half precision -------------------------------------------------------------------------
    def lowp(self):
        dtype = self.pick(["float16", "bfloat16"])
        shape = tuple(int(self.rng.integers(1, 6)) for _ in range(self.pick([1, 2, 2, 3])))
        x = self.fresh()
        scale = self.pick(["1", "1", "8", "100", "0.01"])
        parts = [f"{x} = (torch.tensor({self.flt(shape, self.coin(0.2))}) * {scale}).to("
                 f"torch.{dtype})"]
        y = self.fresh()
        d = int(self.rng.integers(-len(shape), len(shape)))
        kind = self.pick(["unary", "unary", "binary", "sum", "mean", "cumsum", "prod", "var",
                          "softmax", "matmul", "norm", "layer_norm", "logsumexp", "cumprod",
                          "addcmul", "lerp", "F"])
        if kind == "unary":
            fn = self.pick(["exp", "log", "sin", "cos", "tanh", "sigmoid", "rsqrt", "sqrt",
                            "erf", "expm1", "log1p", "reciprocal", "atan", "exp2", "log2",
                            "square", "round", "frac", "sinh", "asinh", "erfinv", "digamma",
                            "lgamma", "tan", "acos", "logit", "trunc", "sign"])
            line = f"{x}.{fn}()"
        elif kind == "binary":
            op = self.pick(["+", "*", "/", "**", "-", "%", "//"])
            other = self.pick([f"{x}.flip(-1)", "0.1", "3", "torch.tensor(0.3)",
                               f"{x}.flip(0).float()", "1e-3"])
            line = f"{x} {op} {other}"
        elif kind in ("sum", "mean", "prod", "logsumexp"):
            dt = self.pick(["", "", ", dtype=torch.float32"]) if kind in ("sum", "mean",
                                                                        "prod") else ""
            dims = self.pick([f"{d}", "None" if kind != "logsumexp" else f"{d}",
                              f"({d}, {d - 1 if d > -len(shape) else d + 1})"
                              if len(shape) > 1 else f"{d}"])
            if kind == "prod" and dims.startswith("("):
                dims = f"{d}"
            line = f"{x}.{kind}({dims}{dt})" if dims != "None" else f"{x}.{kind}({dt[2:]})"
        elif kind in ("cumsum", "cumprod"):
            dt = self.pick(["", ", dtype=torch.float32"])
            line = f"{x}.{kind}({d}{dt})"
        elif kind == "var":
            line = f"{x}.{self.pick(['var', 'std'])}({d}, correction={self.pick([0, 1, 2])})"
        elif kind == "softmax":
            line = f"torch.{self.pick(['softmax', 'log_softmax'])}({x}, {d})"
        elif kind == "matmul":
            k = shape[-1]
            line = f"{x} @ torch.tensor({self.flt((k, 3))}).to(torch.{dtype})"
        elif kind == "norm":
            line = f"{x}.norm({self.pick(['', 'p=1', 'p=3', 'dim=-1'])})"
        elif kind == "layer_norm":
            line = f"torch.nn.functional.layer_norm({x}, {shape[-1:]})"
        elif kind == "addcmul":
            line = f"torch.addcmul({x}, {x}, {x}.flip(-1), value=0.3)"
        elif kind == "lerp":
            line = f"torch.lerp({x}, {x}.flip(-1), {self.pick(['0.3', '0.7'])})"
        else:
            fn = self.pick(["gelu", "silu", "softplus", "elu", "mish", "hardswish",
                            "logsigmoid", "tanh", "normalize"])
            extra = self.pick(["", ", approximate='tanh'"]) if fn == "gelu" else ""
            fn = "tanh" if fn == "tanh" else f"torch.nn.functional.{fn}"
            line = f"{fn}({x}{extra})" if fn != "tanh" else f"torch.tanh({x})"
        # Read back exactly: float64 is compared to 1e-5, far below a half ulp (1e-3).
        parts.append(f"{y} = {line}; {self.fresh()} = {y}.double() if torch.is_tensor({y}) "
                     f"else {y}")
        return "; ".join(parts)

    # -- reductions -----------------------------------------------------------------------------
    def reduction(self):
        nd = self.pick([0, 1, 2, 2, 3])
        shape = tuple(int(self.rng.integers(0 if self.coin(0.12) else 1, 4))
                      for _ in range(nd))
        dtype = self.pick(["float32", "float64", "float32"])
        x, lx = self.leaf_of(shape, dtype, grad=self.coin(0.7), special=self.coin(0.35))
        parts = [lx]
        if self.coin(0.25) and nd:  # ties
            parts.append(f"{x} = {x}.round(decimals=0).detach().requires_grad_("
                         f"{self.pick(['True', 'False'])})")
        y = self.fresh()
        n = max(nd, 1)
        d = int(self.rng.integers(-n, n))
        keep = self.pick(["", ", keepdim=True", ", keepdim=False"])
        dims = self.pick([f"{d}", f"({d},)", "()", f"({d}, {(d + 1) % n - n})" if n > 1
                          else f"{d}", "None"])
        kind = self.pick(["sum", "mean", "nansum", "nanmean", "std", "var", "var_mean",
                          "std_mean", "logsumexp", "aminmax", "cummax", "cummin",
                          "logcumsumexp", "amax", "amin", "prod", "max", "min", "median",
                          "nanmedian", "norm", "count_nonzero", "argmax", "all"])
        if kind in ("sum", "mean", "nansum", "nanmean"):
            dt = self.pick(["", "", ", dtype=torch.float64"])
            line = f"torch.{kind}({x}, dim={dims}{keep}{dt})"
        elif kind in ("std", "var", "var_mean", "std_mean"):
            corr = self.pick(["", ", correction=0", ", correction=2", ", unbiased=False",
                              ", correction=1"])
            line = f"torch.{kind}({x}, dim={dims}{corr}{keep})"
        elif kind == "logsumexp":
            if self.coin(0.4):
                parts.append(f"{x} = {x}.detach().masked_fill({x}.detach() < 0, "
                             "-float('inf')).requires_grad_()")
            line = f"torch.logsumexp({x}, dim={dims if dims not in ('None',) else d}{keep})"
        elif kind == "aminmax":
            line = f"torch.aminmax({x}{', dim=' + str(d) if self.coin(0.6) else ''}{keep})"
        elif kind in ("cummax", "cummin", "logcumsumexp"):
            line = f"torch.{kind}({x}, {d})"
        elif kind in ("amax", "amin"):
            line = f"torch.{kind}({x}, dim={dims if dims != 'None' else '()'}{keep})"
        elif kind in ("prod", "median", "nanmedian", "max", "min", "argmax"):
            line = f"torch.{kind}({x}, {d}{keep})" if self.coin(0.7) else f"torch.{kind}({x})"
        elif kind == "norm":
            line = f"torch.norm({x}, p={self.pick(['2', '1', 'fro', 'inf'])!r}, dim={dims}{keep})"
            line = line.replace("'inf'", "float('inf')").replace("p='2'", "p=2").replace(
                "p='1'", "p=1")
        elif kind == "count_nonzero":
            line = f"torch.count_nonzero({x}, dim={dims if dims != 'None' else d})"
        else:
            line = f"torch.all({x}, dim={dims}{keep})"
        parts.append(f"{y} = {line}")
        if self.coin(0.6):
            parts.append(f"[(t * torch.arange(1, t.numel() + 1, dtype=t.dtype).reshape(t.shape))"
                         f".sum().backward(retain_graph=True) for t in ([{y}] if torch.is_tensor("
                         f"{y}) else list({y})) if t.requires_grad]")
        return "; ".join(parts)

    # -- random streams -------------------------------------------------------------------------
    def random_stream(self):
        seed = int(self.rng.integers(0, 2**31))
        gen = self.coin(0.3)
        g = ""
        parts = []
        # (the global stream seeded always: some kinds draw from it with a generator about)
        parts.append(f"torch.manual_seed({seed})")
        if gen:
            g = self.fresh()
            parts.append(f"{g} = torch.Generator().manual_seed({seed + 1})")
        kw = f", generator={g}" if gen else ""
        shape = tuple(int(self.rng.integers(1, 6)) for _ in range(self.pick([1, 2])))
        y = self.fresh()
        dt = self.pick(["", "", ", dtype=torch.float64", ", dtype=torch.float16",
                        ", dtype=torch.bfloat16"])
        kind = self.pick(["rand", "randn", "randint", "randperm", "normal_", "uniform_",
                          "bernoulli", "multinomial", "dropout", "exponential_", "rand_like",
                          "randn_like", "normal", "random_", "Dropout"])
        if kind in ("rand", "randn"):
            line = f"torch.{kind}({shape}{kw}{dt})"
        elif kind == "randint":
            lo = int(self.rng.integers(-5, 3))
            line = f"torch.randint({lo}, {lo + int(self.rng.integers(1, 1000))}, {shape}{kw}" \
                   f"{self.pick(['', ', dtype=torch.int32', ', dtype=torch.uint8'])})"
        elif kind == "randperm":
            line = f"torch.randperm({int(self.rng.integers(0, 40))}{kw})"
        elif kind in ("normal_", "uniform_", "exponential_", "random_"):
            args = {"normal_": self.pick(["", "1.5, 0.5"]), "uniform_":
                    self.pick(["", "-2.0, 3.0"]), "exponential_": self.pick(["", "2.0"]),
                    "random_": self.pick(["", "10", "-3, 7"])}[kind]
            sep = ", " if args and gen else ""
            base_dt = dt or ", dtype=torch.float32"
            if kind == "random_" and self.coin(0.5):
                base_dt = ", dtype=torch.int64"
            line = f"torch.empty({shape}{base_dt}).{kind}({args}{sep}{kw[2:]})"
        elif kind == "bernoulli":
            p = self.flt(shape)
            line = self.pick([f"torch.bernoulli(torch.tensor({p}).sigmoid(){kw})",
                              f"torch.empty({shape}).bernoulli_({self.pick(['0.3', '0.5'])}"
                              f"{kw})"])
        elif kind == "multinomial":
            rows = self.pick([(), (2,)])
            k = int(self.rng.integers(2, 8))
            w = np.abs(self.rng.standard_normal(rows + (k,))).round(3) + 0.01
            repl = self.coin(0.5)
            num = int(self.rng.integers(1, k + 1 if not repl else 10))
            line = f"torch.multinomial(torch.tensor({_nested(w.tolist())}), {num}, " \
                   f"replacement={repl}{kw})"
        elif kind == "dropout":
            p = self.pick(["0.5", "0.2", "0.9"])
            line = f"torch.nn.functional.dropout(torch.ones({shape}), p={p}, training=True)"
            if gen:
                line = f"torch.rand({shape}{kw})"
        elif kind == "Dropout":
            line = f"torch.nn.Dropout({self.pick(['0.5', '0.25'])})(torch.ones({shape}))"
            if gen:
                line = f"torch.randn({shape}{kw})"
        elif kind in ("rand_like", "randn_like"):
            line = f"torch.{kind}(torch.zeros({shape}){dt})"
        else:
            line = f"torch.normal(torch.zeros({shape}), {self.pick(['1.0', '0.5'])}{kw})"
        parts.append(f"{y} = {line}")
        if self.coin(0.4):  # the stream goes on
            parts.append(f"{self.fresh()} = torch.rand(3{kw})")
        return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# Reviewed differences these families reach (on top of sessions 17 and 19's lists)
# --------------------------------------------------------------------------------------------

def _numbers(text):
    return [float(v) for v in re.findall(r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)", text)]


def _conj_view_write(lines, failure):
    # A write through x.conj(): deltagrad's conj is a copy (documented in api/complex.py);
    # and PyTorch's results that are lazy conjugates (ifft of a real input) refuse view_as_real.
    if failure[1] == "permissive" and "unresolved conjugated tensors" in failure[2]:
        return True
    if failure[1] != "silent" or ".values" not in failure[2]:
        return False
    seen = lines[:failure[0] + 1]
    if any(".conj()" in line and ("_(" in line.split(".conj()", 1)[1]) for line in seen):
        return True
    # (the write on a later line: `y = z.conj(); ...` then `y.index_add_(...)`, RS1; or into
    # z, through z.data too, after the conj: PyTorch's view shows it, s31 SL5S)
    for i, line in enumerate(seen):
        for view, source in re.findall(r"\b(a\d+) = (a\d+)\.conj\(\)", line):
            if any(re.search(rf"\b{view}\.(?!requires_grad_)\w+_\(", later)
                   for later in seen[i:]) or any(
                    re.search(rf"\b{source}\.(?:data\.)?(?!requires_grad_)\w+_\(", later)
                    for later in seen[i + 1:]):
                return True
    return False


def _empty_dims_moment_grad(lines, failure):
    line = lines[failure[0]]
    return (failure[1] == "silent" and ".grad" in failure[2] and "dim=()" in line
            and any(f"torch.{f}(" in line for f in ("std", "var", "std_mean", "var_mean")))


def _bag_past_last_offset(lines, failure):
    line = lines[failure[0]]
    return (failure[1] == "silent" and "include_last_offset=True" in line
            and ("mode='mean'" in line or "mode='max'" in line or "float64" in line
                 or ".grad" in failure[2]))


def _one_element_norm(lines, failure):
    # PyTorch's moments of a single element leave rounding residue (1e-5 in float32, 1e-3
    # in half) in x - mean; the exact 0 here.
    if failure[1] != "silent" or " != torch's " not in failure[2]:
        return False
    line = lines[failure[0]]
    if not any(n in line for n in ("GroupNorm(", "LayerNorm(", "layer_norm(", "InstanceNorm")):
        return False
    ours, theirs = failure[2].split(" != torch's ", 1)
    pairs = list(zip(_numbers(ours.split("values: ", 1)[-1]), _numbers(theirs)))
    return bool(pairs) and all(o == t or (o != o and t != t) or (o == 0 and abs(t) < 2e-3)
                               for o, t in pairs)


def _antialias_one_wide(lines, failure):
    # PyTorch's antialiased resize to an output 1 wide (or its transpose) is not the
    # transpose of its own result; deltagrad's is.
    return failure[1] == "silent" and "antialias=True" in lines[failure[0]]


def _we_refuse(lines, failure):
    if failure[1] != "we-raise":
        return False
    if "shorter than the kernel" in failure[2] and "ceil_mode=True" in lines[failure[0]]:
        return True
    return any(text in failure[2] for text in (
        "antialias=True with align_corners=True", "Output size is too small"))


def _data_after_forward(lines, failure):
    # x.data written or rebound between a module's forward and the backward.
    return (failure[1] == "silent" and ".grad" in failure[2]
            and any(".data" in line for line in lines[:failure[0]]))


def _singular_lapack(lines, failure):
    line = lines[failure[0]]
    return (failure[1] == "silent" and "[..., :1, :1]" in line and "torch.ones((" in line
            and any(f"linalg.{f}(" in line for f in ("det", "slogdet", "inv_ex", "matrix_rank",
                                                     "pinv", "svdvals", "eigvalsh")))


def _half_rsqrt(lines, failure):
    # found when SL5's soak could no longer hide it behind other entries (s30)
    line = lines[failure[0]]
    return (failure[1] == "silent" and ".rsqrt()" in line
            and ("torch.float16" in line or "torch.bfloat16" in line))


def _zero_matrix_inverse(lines, failure):
    line = lines[failure[0]]
    return failure[1] == "silent" and "linalg.inv_ex(" in line and " * 0)" in line


def _failed_backward_partial_grads(lines, failure):
    # (SL24's _partial_accumulation_of_a_failed_backward, for this family's modules)
    line = lines[failure[0]]
    if failure[1] != "silent" or ".backward()" not in line \
            or not failure[2].endswith(".grad: None vs torch's a tensor"):
        return False
    with base.warnings.catch_warnings():
        base.warnings.simplefilter("ignore")
        outcomes = list(base.run_lines(lines[:failure[0] + 1], torch))
    return outcomes[-1][0] is not None


def _float64_value(lines, failure):
    """PyTorch's float64 value of the failing variable from the inputs as the program rounded
    them: half tensors read back (``.to(torch.float16)`` then ``.double()``), a float32
    program's literals rounded to float32 and computed in float64; None where it fails."""
    name = failure[2].split(".values: ", 1)[0]
    ns = {"torch": torch}
    for line in lines[:failure[0] + 1]:
        line = re.sub(r"\.to\(torch\.(b?float16)\)", r".to(torch.\1).double()", line)
        if "torch.float32" in line:
            line = re.sub(r"(?<![\w.])\d+\.\d+(?:e[-+]?\d+)?",
                          lambda m: repr(float(np.float32(m.group()))), line)
            line = line.replace("torch.float32", "torch.float64")
        try:
            with base.warnings.catch_warnings():
                base.warnings.simplefilter("ignore")
                exec(line, ns)
        except Exception:  # noqa: BLE001 - no reference then
            return None
    value = ns.get(name)
    return value.detach().double().numpy() if isinstance(value, torch.Tensor) else None


def _errors_against(values, reference):
    """Each element's distance from ``reference`` (0 where equal, infinities included; inf
    for a nan where the reference is a number)."""
    with np.errstate(invalid="ignore"):
        error = np.atleast_1d(np.abs(values - reference))
    error[values == reference] = 0
    error[np.isnan(values) & np.isnan(reference)] = 0
    return np.where(np.isnan(error), np.inf, error)


def _no_worse_in_float64(lines, failure, each=True):
    """Whether deltagrad's values are as close to the float64 result (``_float64_value``) as
    PyTorch's: each element (``each``), or the largest error (ill-conditioned linear
    algebra, where both sides' float32 errors spread over the result)."""
    if failure[1] != "silent" or ".values: " not in failure[2]:
        return False
    ours, theirs = failure[2].split(".values: ", 1)[1].split(" != torch's ", 1)
    reference = _float64_value(lines, failure)
    try:
        ours, theirs = (np.array(ast.literal_eval(v.replace("nan", "None").replace(
            "inf", "1e999")), dtype=float) for v in (ours, theirs))
    except (ValueError, SyntaxError, TypeError):  # (complex values)
        return False
    if reference is None or not ours.shape == theirs.shape == reference.shape:
        return False
    ours, theirs = _errors_against(ours, reference), _errors_against(theirs, reference)
    # (up to the reference's own rounding: float64 gelu is -0.0 below x = -8.3, where
    # deltagrad's bfloat16 gelu keeps -3e-19)
    floor = 1e-15 * float(np.max(np.abs(reference[np.isfinite(reference)]), initial=1.0))
    if each:
        return bool(np.all(ours <= theirs + floor))
    return bool(ours.max() <= theirs.max() + floor)


def _half_rounding(lines, failure):
    # (found when SL5's soak could no longer hide them behind other entries, s31 SL5S)
    line = lines[failure[0]]
    return (("torch.float16)" in line or "torch.bfloat16)" in line)
            and _no_worse_in_float64(lines, failure))


def _ill_conditioned_float32(lines, failure):
    line = lines[failure[0]]
    return ("float32" in line and any(f"linalg.{f}(" in line for f in ("pinv", "inv", "solve"))
            and _no_worse_in_float64(lines, failure, each=False))


KNOWN = [
    (_conj_view_write,
     "a write through x.conj() (or a view of it), or into x (x.data too) after it: "
     "deltagrad's conj computes the conjugate (api/complex.py says so), PyTorch's is a lazy "
     "view whose writes reach x and which shows x's later values; so PyTorch's "
     "results that are lazy conjugates (ifft of a real input) refuse view_as_real, "
     "deltagrad's take it (permissive)"),
    # (_welford_mean: var_mean / std_mean take the mean from the Welford pass since s22 BR3)
    (_empty_dims_moment_grad,
     "std / var / std_mean / var_mean with dim=(): PyTorch's forward reduces every dim but "
     "its derivative formula reads dim=() as no dim (gradients inf, or of the wrong sign); "
     "deltagrad differentiates the forward it computed (a PyTorch bug)"),
    (_bag_past_last_offset,
     "embedding_bag with include_last_offset and ids past the last offset: deltagrad's last "
     "bag ends there (PyTorch's float32 sum does the same); PyTorch's mean divides by the "
     "count to the input's end, its max and its float64 sum read past it, its gradient rows "
     "for those ids hold uninitialised memory (PyTorch bugs)"),
    (_one_element_norm,
     "layer_norm / group_norm / instance norm over a single element per group: PyTorch "
     "leaves rounding residue (1e-6 to 1e-3) where the exact result, deltagrad's, is 0"),
    (_antialias_one_wide,
     "interpolate(antialias=True) to an output 1 wide: PyTorch's result is not the transpose "
     "of its own for the transposed input (size (6, 1) against (1, 6); a PyTorch bug), "
     "deltagrad's is, and equals PyTorch's transposed one"),
    (_we_refuse,
     "refused here: bicubic / bilinear interpolate with antialias=True and align_corners=True "
     "(not implemented); conv_transpose whose output has a dim of 0 (PyTorch returns an "
     "empty 2-d result but refuses the same in 1-d); max_pool with ceil_mode over an input "
     "shorter than the (dilated) kernel (PyTorch's window hangs past the end)"),
    (_data_after_forward,
     "x.data written or rebound between a convolution / attention forward and the backward: "
     "PyTorch's saved input is x itself and its backward reads the new values; deltagrad's "
     "rules read what forward kept (conv's im2col columns, the old array)"),
    # (_half_normal_tail: float16 normals draw block by block as PyTorch's since s30 SL24)
    (_half_rsqrt,
     "float16 / bfloat16 rsqrt: deltagrad's is the float32 result rounded once (correctly "
     "rounded), PyTorch's CPU kernel is not (2.109375 for 1 / sqrt(0.2227) = 2.1193 in "
     "bfloat16, 1.5048828 for 1.50414 in float16: an ulp off)"),
    (_zero_matrix_inverse,
     "linalg.inv_ex of an exactly singular (zero) matrix: both report info=1; the inverse "
     "is LAPACK's undefined output (PyTorch's inf / nan, deltagrad's nan)"),
    (_failed_backward_partial_grads,
     "a backward that fails part way (a saved input changed in place): both raise, but "
     "PyTorch has already accumulated the .grad of the leaves its engine reached before the "
     "failing node (MultiheadAttention's out_proj); deltagrad raises before accumulating any"),
    (_singular_lapack,
     "an exactly singular float32 matrix ([[a, a], [a, a]]): NumPy's LAPACK (OpenBLAS) leaves "
     "1e-15 in the last pivot where PyTorch's gives 0 (det 1e-15 against -0.0, slogdet's sign "
     "1 against 0)"),
    (_half_rounding,
     "float16 / bfloat16 results where every element of deltagrad's is as close to the "
     "float64 result (from the same rounded inputs) as PyTorch's: PyTorch's CPU kernels "
     "round their float32 approximations (erf, gelu's 1 + erf(x / sqrt 2), which is 0 below "
     "x = -5.5) or round each step in half; its prod of 64 or more elements multiplies in "
     "vector lanes (16 or 32 by CPU) rounding each product to half, so a lane overflows to "
     "inf and inf * 0 gives nan where the product is -0.0; layer_norm over one element "
     "leaves x * rstd's float32 rounding (to 4e-3 at |x| = 270) where the result is 0"),
    (_ill_conditioned_float32,
     "float32 pinv / inv / solve of an ill-conditioned matrix (condition 1e2 and more): both "
     "libraries' float32 rounding, amplified, exceeds the comparison's 1e-5; deltagrad's "
     "largest error against float64 is no larger than PyTorch's"),
]


known = chain_known(sl4.known, KNOWN)


def program(seed: int, index: int) -> list[str]:
    return base.program(seed, index, Gen5)


def run(seed: int, count: int, known=known):
    return base.run(seed, count, known, Gen5)


if __name__ == "__main__":
    base.known = known  # (main reads the module's predicate)
    sys.exit(base.main(gen=Gen5))
