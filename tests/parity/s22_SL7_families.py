"""Session 22's families for the program-level differential fuzzer (``s17_SL_progfuzz.py``):
the same comparison after every line (values with signs of zeros and NaNs, dtypes, shapes,
gradients, exception classes), over what the earlier grammars do not reach.

``Gen7`` keeps session 17's statements at a low weight and adds:

- pointwise math and torch.special at edge values (inf, -inf, nan, -0.0, 0, huge, tiny,
  float32 / float16 denormals, inputs outside the domain) in float32 / float64 / float16 /
  bfloat16 and from integer / bool inputs (promotion to float), with weighted gradients at the
  edges and kinks: sqrt / abs / relu at 0, clamp / hardtanh at their bounds, max / min /
  maximum / amax / median ties (how each routes the gradient); erf / erfc / erfinv / erfcx,
  digamma / polygamma / lgamma / multigammaln, i0 / i0e / i1 / i1e, ndtr / ndtri / log_ndtr,
  xlogy / xlog1py / zeta, logit(eps=), sinc, entr, bessel_j0 / j1, gammainc / gammaincc,
  logsumexp, softmax / log_softmax;
- activations with their options and gradients at their kinks (elu / celu / selu / glu /
  hardtanh / relu6 / leaky_relu / rrelu(training=False) / softplus / threshold / hardshrink /
  softshrink / prelu / mish / silu / hardswish / hardsigmoid / logsigmoid / softsign /
  tanhshrink / gelu(approximate=)), their ``inplace=True`` forms on views of non-leaves;
- every loss of torch.nn.functional with its options (``s22_SL7_losses.py``);
- torch.func and double backward, matmul-family ops and distances, unfold / fold / pixel
  shuffles / grid_sample, nn.init after manual_seed and nn.utils (``s22_SL7_more.py``).

Run as a script::

    .venv/bin/python tests/parity/s22_SL7_families.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s20_SL5_families as sl5  # noqa: E402
import s21_SL6_families as sl6  # noqa: E402
from s17_SL_known import chain_known  # noqa: E402
from s22_SL7_losses import LossFamilies  # noqa: E402
from s22_SL7_more import MoreFamilies  # noqa: E402

torch = base.torch
SP = "torch.special"
F = "torch.nn.functional"
_num = sl5._num

# Edge values every pointwise family draws from (float32 denormals 1e-40 / 1e-45, float16's
# largest 65504, exp's overflow points 88.7 / 710).
EDGES = (0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0,
         -3.0, 6.0, 1e-40, -1e-40, 1e-45, 1e-300, 1e30, -1e30, 3e38, 1e-8, 0.999, -0.999,
         10.0, 88.7, 100.0, 710.0, 65504.0, 0.1, -20.0, 20.0, 1e-4)
INTERPOLATIONS = ("'linear'", "'nearest'", "'midpoint'")
FLOAT_DTYPES = ("float32", "float32", "float64", "float64", "float16", "bfloat16")


class Gen7(LossFamilies, MoreFamilies, base.Gen):
    """Session 17's grammar plus the families above."""

    def makers(self):
        old = [(maker, weight * 0.1) for maker, weight in super().makers()]
        return old + [(self.special_fn, 7), (self.pointwise_edge, 6), (self.route, 4),
                      (self.activation, 7), (self.loss, 8), (self.func_transform, 5),
                      (self.double_backward, 3), (self.matmul_family, 5),
                      (self.distance, 3), (self.spatial, 3), (self.init_fn, 3),
                      (self.nn_utils, 3)]

    # -- literals -------------------------------------------------------------------------------
    def vals(self, shape, extra=(), p_edge=0.5, lo=None, hi=None):
        """A nested literal of ``shape``: three-decimal normals (or uniforms in [lo, hi]), each
        replaced with probability ``p_edge`` by an edge value or one of ``extra``."""
        n = int(np.prod(shape)) if shape else 1
        if lo is None:
            a = np.round(self.rng.standard_normal(n) * self.pick([1.0, 1.0, 3.0]), 3)
        else:
            a = np.round(self.rng.uniform(lo, hi, n), 3)
        pool = list(EDGES) + list(extra) * 4
        for i in range(n):
            if self.coin(p_edge):
                a[i] = pool[int(self.rng.integers(len(pool)))]
        return sl5._nested(a.reshape(shape).tolist())

    def edge_leaf(self, shape, dtype, grad, extra=(), p_edge=0.5, lo=None, hi=None):
        """``name, line`` of a new leaf; integer and bool dtypes get integral values."""
        name = self.fresh()
        if dtype == "bool":
            lit = _lit_int(self.rng.integers(0, 2, shape).astype(bool))
        elif dtype.startswith(("int", "uint")):
            lo_i = 0 if dtype == "uint8" else -4
            lit = _lit_int(self.rng.integers(lo_i, 5, shape))
        else:
            lit = self.vals(shape, extra, p_edge, lo, hi)
        rg = ", requires_grad=True" if grad and dtype in FLOAT_DTYPES else ""
        return name, f"{name} = torch.tensor({lit}, dtype=torch.{dtype}{rg})"

    def shape(self):
        return self.pick([(), (3,), (4,), (2, 3), (2, 2, 2), (1, 4)])

    def fdtype(self, ints=True):
        if ints and self.coin(0.15):
            return self.pick(["int64", "int32", "bool", "uint8", "int16"])
        return self.pick(FLOAT_DTYPES)

    def wbackward(self, y):
        """A backward of ``y`` weighted 1, 2, 3, ... per element (routes show)."""
        return f"({y} * torch.arange(1, {y}.numel() + 1, dtype={y}.dtype)" \
               f".reshape({y}.shape)).sum().backward() if {y}.requires_grad else None"

    # -- torch.special ----------------------------------------------------------------------
    def special_fn(self):
        dt = self.fdtype()
        shape = self.shape()
        grad = self.coin(0.7)
        kind = self.pick(["erf", "erfc", "erfinv", "erfcx", "digamma", "psi", "polygamma",
                          "torch.lgamma", "gammaln", "multigammaln", "i0", "i0e", "i1", "i1e",
                          "ndtr", "ndtri", "log_ndtr", "xlogy", "xlog1py", "zeta", "logit",
                          "sinc", "entr", "bessel_j0", "bessel_j1", "gammainc", "gammaincc",
                          "logsumexp", "softmax", "log_softmax", "expit", "exp2", "expm1",
                          "log1p", "round", "torch.mvlgamma", "torch.lgamma", "torch.digamma",
                          "torch.erfinv", "torch.polygamma", "torch.logit", "torch.sinc",
                          "torch.xlogy", "torch.i0", "torch.logsumexp"])
        extra = {"erfinv": (1.0, -1.0, 0.9999999), "ndtri": (0.0, 1.0, 1e-30, 0.9999999),
                 "logit": (0.0, 1.0, 1e-7), "digamma": (-1.0, -2.0, 0.0),
                 "lgamma": (-1.0, -2.5, 0.0, 1e-30, 1e38), "entr": (0.0, -0.0, 1.0),
                 "multigammaln": (0.5, 1.0, 1.5)}.get(kind.split(".")[-1], ())
        x, lx = self.edge_leaf(shape, dt, grad, extra)
        parts = [lx]
        y = self.fresh()
        fn = kind if kind.startswith("torch.") else f"{SP}.{kind}"
        name = kind.split(".")[-1]
        if name in ("xlogy", "xlog1py", "zeta", "gammainc", "gammaincc"):
            dt2 = self.pick([dt, dt, "float64", "float32", "int64"])
            o, lo = self.edge_leaf(self.pick([shape, shape[-1:], ()]), dt2, grad,
                                   (0.0, 1.0, -1.0))
            parts.append(lo)
            form = self.rng.random()
            if form < 0.15:
                parts.append(f"{y} = {fn}({self.pick(['2.0', '0.0', '0', '-1.5'])}, {o})")
            elif form < 0.3:
                parts.append(f"{y} = {fn}({x}, {self.pick(['2.0', '0.0', '0', '-1.5'])})")
            else:
                parts.append(f"{y} = {fn}({x}, {o})")
        elif name == "polygamma":
            n = int(self.rng.integers(0, 4))
            parts.append(f"{y} = {fn}({n}, {x})")
        elif name in ("multigammaln", "mvlgamma"):
            p = int(self.rng.integers(1, 4))
            arg = self.pick([x, f"{x}.abs() + {p}", f"{x} + 1"])
            parts.append(f"{y} = {fn}({arg}, {p})")
        elif name == "logit":
            eps = self.pick(["", ", eps=1e-6", ", eps=0.25", ", eps=None", ", eps=0.5"])
            parts.append(f"{y} = {fn}({x}{eps})")
        elif name in ("logsumexp", "softmax", "log_softmax"):
            if not shape:
                d = self.pick(["0", "-1"])
            else:
                d = str(int(self.rng.integers(-len(shape), len(shape))))
            if name == "logsumexp":
                keep = self.pick(["", ", keepdim=True"])
                if shape and self.coin(0.2):
                    d = "(0, -1)" if len(shape) > 1 else "()"
                parts.append(f"{y} = {fn}({x}, {d}{keep})")
            else:
                dty = self.pick(["", "", ", dtype=torch.float64"])
                parts.append(f"{y} = {fn}({x}, {d}{dty})")
        elif name == "round":
            parts.append(f"{y} = {fn}({x}{self.pick(['', ', decimals=1', ', decimals=-1'])})")
        else:
            parts.append(f"{y} = {fn}({x})")
        if grad and self.coin(0.8):
            parts.append(self.wbackward(y))
        return "; ".join(parts)

    # -- pointwise at edges -----------------------------------------------------------------
    def pointwise_edge(self):
        dt = self.fdtype()
        shape = self.shape()
        grad = self.coin(0.7)
        x, lx = self.edge_leaf(shape, dt, grad, (0.0, -0.0, 1.0, -1.0))
        parts = [lx]
        y = self.fresh()
        kind = self.pick(["sqrt", "rsqrt", "abs", "relu", "sign", "sgn", "log", "log2",
                          "log10", "exp", "tan", "asin", "acos", "atanh", "acosh", "asinh",
                          "sinh", "cosh", "reciprocal", "frac", "trunc", "ceil", "floor",
                          "sigmoid", "tanh", "atan", "square", "pow", "rpow", "clamp",
                          "clamp_t", "nan_to_num", "copysign", "hypot", "logaddexp",
                          "logaddexp2", "atan2", "lerp", "addcmul", "addcdiv", "fmod",
                          "remainder", "float_power", "heaviside", "signbit", "isfinite",
                          "isclose", "exp2", "cbrt_pow", "deg2rad", "erf", "nextafter",
                          "ldexp", "xlogy", "div", "true_divide_int", "frexp", "logdet"])
        if kind in ("sqrt", "rsqrt", "abs", "relu", "sign", "sgn", "log", "log2", "log10",
                    "exp", "tan", "asin", "acos", "atanh", "acosh", "asinh", "sinh", "cosh",
                    "reciprocal", "frac", "trunc", "ceil", "floor", "sigmoid", "tanh", "atan",
                    "square", "signbit", "isfinite", "exp2", "deg2rad", "erf"):
            form = self.pick([f"torch.{kind}({x})", f"{x}.{kind}()"])
            parts.append(f"{y} = {form}")
        elif kind == "pow":
            e = self.pick(["0.5", "2", "0", "-1", "3", "-0.5", "1.5", "0.0", "-2",
                           "torch.tensor(0.5)", "2.0", "1"])
            parts.append(f"{y} = {x} ** {e}" if self.coin() else f"{y} = torch.pow({x}, {e})")
        elif kind == "rpow":
            b = self.pick(["2", "0", "0.0", "-2.0", "1", "0.5", "-1"])
            parts.append(f"{y} = {b} ** {x}")
        elif kind == "cbrt_pow":
            parts.append(f"{y} = {x}.abs() ** (1 / 3) * {x}.sign()")
        elif kind == "clamp":
            lo = self.pick(["None", "0", "-1.0", "0.5", "1.0", "float('nan')", "-float('inf')"])
            hi = self.pick(["None", "0", "1.0", "-1.0", "0.5", "float('inf')"])
            if lo == "None" and hi == "None":
                hi = "1.0"
            parts.append(f"{y} = torch.clamp({x}, {lo}, {hi})")
        elif kind == "clamp_t":
            lo, llo = self.edge_leaf(shape[-1:] if shape else (), dt, grad, (0.0, 1.0))
            parts.append(llo)
            which = self.pick(["min", "max", "both"])
            if which == "both":
                parts.append(f"{y} = torch.clamp({x}, min={lo}, max={lo} + 1)")
            else:
                parts.append(f"{y} = torch.clamp({x}, {which}={lo})")
        elif kind == "nan_to_num":
            kw = self.pick(["", "nan=0.5", "posinf=2.0, neginf=-3.0", "nan=1.0, posinf=1e5"])
            parts.append(f"{y} = torch.nan_to_num({x}{', ' if kw else ''}{kw})")
        elif kind in ("copysign", "hypot", "logaddexp", "logaddexp2", "atan2", "fmod",
                      "remainder", "float_power", "heaviside", "nextafter", "ldexp", "xlogy",
                      "isclose", "div"):
            o, lo2 = self.edge_leaf(shape, self.pick([dt, dt, "float64", "float32"]), grad,
                                    (0.0, -0.0, 1.0))
            parts.append(lo2)
            if kind == "div":
                mode = self.pick(["", ", rounding_mode='floor'", ", rounding_mode='trunc'"])
                parts.append(f"{y} = torch.div({x}, {o}{mode})")
            elif kind == "isclose":
                parts.append(f"{y} = torch.isclose({x}, {o}, equal_nan="
                             f"{self.pick(['True', 'False'])})")
            elif kind == "ldexp":
                parts.append(f"{y} = torch.ldexp({x}, torch.tensor([1, -2, 3])[:{x}.shape[-1]]"
                             f" if {x}.dim() else torch.tensor(2))")
            else:
                parts.append(f"{y} = torch.{kind}({x}, {o})")
        elif kind == "lerp":
            o, lo2 = self.edge_leaf(shape, dt, grad)
            parts.append(lo2)
            w = self.pick(["0.5", "0.0", "1.0", "2.0", f"torch.full_like({o}, 0.25)"])
            parts.append(f"{y} = torch.lerp({x}, {o}, {w})")
        elif kind in ("addcmul", "addcdiv"):
            o, lo2 = self.edge_leaf(shape, dt, grad, (0.0,))
            parts.append(lo2)
            v = self.pick(["", ", value=0.5", ", value=-2", ", value=0"])
            parts.append(f"{y} = torch.{kind}({x}, {x}, {o}{v})")
        elif kind == "true_divide_int":
            parts.append(f"{y} = {x} / torch.tensor({self.pick(['0', '2', '-3'])})")
        elif kind == "frexp":
            parts.append(f"{y} = torch.frexp({x}.detach())")
        else:  # logdet of a diagonal with edge values
            parts.append(f"{y} = torch.diag({x}.reshape(-1)[:2]).logdet()")
        if grad and self.coin(0.8):
            parts.append(self.wbackward(y) if kind != "frexp" else "")
        return "; ".join(p for p in parts if p)

    # -- max routes: ties in max / min / maximum / amax / median / sort ---------------------
    def route(self):
        dt = self.pick(["float32", "float64", "float16"])
        shape = self.pick([(4,), (2, 3), (3, 2), (2, 2, 2)])
        x = self.fresh()
        vals = self.rng.choice([1.0, 1.0, 2.0, -0.0, 0.0, -1.0, math.nan, math.inf],
                               size=shape)
        parts = [f"{x} = torch.tensor({sl5._nested(vals.tolist())}, dtype=torch.{dt}, "
                 f"requires_grad=True)"]
        y = self.fresh()
        d = int(self.rng.integers(-len(shape), len(shape)))
        keep = self.pick(["", ", keepdim=True"])
        kind = self.pick(["max", "min", "max_d", "min_d", "amax", "amin", "amax_t", "maximum",
                          "minimum", "fmax", "fmin", "median", "median_d", "nanmedian",
                          "kthvalue", "sort", "topk", "cummax", "clamp_eq", "hardtanh_eq",
                          "logsumexp", "norm_inf", "max_pair", "aminmax", "mode", "quantile",
                          "relu_zero", "abs_zero", "sqrt_zero", "prod_zero", "cumprod_zero"])
        if kind in ("max", "min", "amax", "amin", "median", "nanmedian"):
            parts.append(f"{y} = {x}.{kind}()")
        elif kind in ("max_d", "min_d", "median_d"):
            parts.append(f"{y} = {x}.{kind[:-2]}({d}{keep})[0]")
        elif kind == "amax_t":
            dims = "(0, -1)" if len(shape) > 1 else "(0,)"
            parts.append(f"{y} = torch.{self.pick(['amax', 'amin'])}({x}, {dims}{keep})")
        elif kind in ("maximum", "minimum", "fmax", "fmin"):
            parts.append(f"{y} = torch.{kind}({x}, {x}.detach().flip(-1).requires_grad_())")
        elif kind == "max_pair":
            o = self.fresh()
            parts.append(f"{o} = torch.ones({tuple(shape)}, dtype=torch.{dt}, "
                         f"requires_grad=True)")
            parts.append(f"{y} = torch.{self.pick(['maximum', 'minimum', 'max', 'min'])}"
                         f"({x}, {o})")
        elif kind == "kthvalue":
            k = int(self.rng.integers(1, shape[d] + 1))
            parts.append(f"{y} = {x}.kthvalue({k}, {d}{keep})[0]")
        elif kind == "sort":
            parts.append(f"{y} = {x}.sort(dim={d}, descending={self.pick(['True', 'False'])}, "
                         f"stable=True)[0]")
        elif kind == "topk":
            parts.append(f"{y} = {x}.topk({int(self.rng.integers(1, shape[d] + 1))}, {d})[0]")
        elif kind == "cummax":
            parts.append(f"{y} = torch.{self.pick(['cummax', 'cummin'])}({x}, {d})[0]")
        elif kind == "clamp_eq":
            parts.append(f"{y} = {x}.clamp({self.pick(['1.0', '0.0', '-1.0', 'None'])}, "
                         f"{self.pick(['1.0', '2.0', '0.0'])})")
        elif kind == "hardtanh_eq":
            parts.append(f"{y} = {F}.hardtanh({x}, {self.pick(['-1.0', '0.0', '1.0'])}, "
                         f"{self.pick(['1.0', '2.0'])})")
        elif kind == "logsumexp":
            parts.append(f"{y} = {x}.logsumexp({d}{keep})")
        elif kind == "norm_inf":
            parts.append(f"{y} = torch.linalg.vector_norm({x}, {self.pick(['inf', '-inf'])}, "
                         f"dim={d}{keep})" if self.coin() else
                         f"{y} = {x}.norm(p=float('inf'))")
        elif kind == "aminmax":
            parts.append(f"{y} = torch.stack(torch.aminmax({x}, dim={d})) if {x}.dim() else "
                         f"{x}")
        elif kind == "mode":
            parts.append(f"{y} = {x}.mode({d}{keep})[0]")
        elif kind == "quantile":
            parts.append(f"{y} = {x}.quantile({self.pick(['0.5', '0.25', '1.0'])}, dim={d}, "
                         f"interpolation={self.pick(INTERPOLATIONS)})")
        elif kind in ("relu_zero", "abs_zero", "sqrt_zero"):
            parts.append(f"{y} = {x}.{kind[:-5]}()")
        elif kind == "prod_zero":
            parts.append(f"{y} = {x}.prod({d}{keep})" if self.coin() else f"{y} = {x}.prod()")
        else:
            parts.append(f"{y} = {x}.cumprod({d})")
        parts.append(self.wbackward(y))
        return "; ".join(parts)

    # -- activations ------------------------------------------------------------------------
    def activation(self):
        dt = self.pick(["float32", "float32", "float64", "float16", "bfloat16"])
        shape = self.pick([(4,), (2, 3), (2, 3, 2), (1, 4), (2, 4)])
        kind = self.pick(["elu", "celu", "selu", "glu", "hardtanh", "relu6", "leaky_relu",
                          "rrelu", "softplus", "threshold", "hardshrink", "softshrink", "prelu",
                          "mish", "silu", "hardswish", "hardsigmoid", "logsigmoid", "softsign",
                          "tanhshrink", "gelu", "relu", "sigmoid", "tanh", "softmin"])
        kinks = (0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 0.5, -0.5, 20.0, 2.0, -2.0, 10.0)
        x, lx = self.edge_leaf(shape, dt, True, kinks, p_edge=0.6)
        parts = [lx]
        y = self.fresh()
        opts = {
            "elu": self.pick(["", ", alpha=0.5", ", alpha=2.0", ", alpha=0.0", ", alpha=-1.0"]),
            "celu": self.pick(["", ", alpha=0.5", ", alpha=2.0"]),
            "hardtanh": self.pick(["", ", -0.5, 0.5", ", min_val=0.0, max_val=1.0",
                                   ", -2.0, 3.0", ", 1.0, 1.0"]),
            "leaky_relu": self.pick(["", ", 0.2", ", negative_slope=-0.5", ", 1.0", ", 0.0"]),
            "rrelu": self.pick([", training=False", ", 0.1, 0.3", ", lower=0.2, upper=0.2"]),
            "softplus": self.pick(["", ", beta=2", ", beta=0.5, threshold=1",
                                   ", threshold=3", ", beta=-1"]),
            "threshold": self.pick([", 0.5, -1.0", ", 0.0, 0.0", ", -1.0, 2.0", ", 1.0, 1.0"]),
            "hardshrink": self.pick(["", ", 0.5", ", lambd=1.0", ", 0.0"]),
            "softshrink": self.pick(["", ", 0.5", ", lambd=1.0", ", 0.0", ", lambd=-0.5"]),
            "gelu": self.pick(["", ", approximate='tanh'", ", approximate='none'"]),
            "glu": "",
            "softmin": f", dim={self.pick(['0', '-1'])}",
        }.get(kind, "")
        inplace_ok = kind in ("elu", "celu", "selu", "hardtanh", "relu6", "leaky_relu",
                              "rrelu", "threshold", "silu", "hardswish", "hardsigmoid", "mish",
                              "relu")
        if kind == "glu":
            d = self.pick([-1, 0, 1]) if len(shape) > 1 else self.pick([0, -1])
            parts.append(f"{y} = {F}.glu({x}, {d})")
        elif kind == "prelu":
            c = shape[1] if len(shape) > 1 else 1
            w, lw = self.edge_leaf((self.pick([1, c]),), dt, True, (0.0, -1.0, 0.25))
            parts.append(lw)
            parts.append(f"{y} = {F}.prelu({x}, {w})")
        elif inplace_ok and self.coin(0.35):
            # in place on a view of a non-leaf: the gradient goes through to the leaf
            v = self.fresh()
            sl = self.pick(["[0]", "[..., 1:]", "[:, ::2]" if len(shape) > 1 else "[1:]"])
            parts.append(f"{y} = {x} * 1; {v} = {y}{sl}; {F}.{kind}({v}{opts}, inplace=True)")
            if self.coin(0.3):
                parts[-1] = f"{y} = {x} * 1; {v} = {y}{sl}; {F}.{kind}_({v}{opts})" \
                    if kind in ("elu", "celu", "selu", "hardtanh", "leaky_relu", "rrelu",
                                "threshold", "relu") else parts[-1]
        elif self.coin(0.25) and kind not in ("softmin",):
            mod = {"elu": "ELU", "celu": "CELU", "selu": "SELU", "hardtanh": "Hardtanh",
                   "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "rrelu": "RReLU",
                   "softplus": "Softplus", "threshold": "Threshold",
                   "hardshrink": "Hardshrink", "softshrink": "Softshrink", "mish": "Mish",
                   "silu": "SiLU", "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid",
                   "logsigmoid": "LogSigmoid", "softsign": "Softsign",
                   "tanhshrink": "Tanhshrink", "gelu": "GELU", "relu": "ReLU",
                   "sigmoid": "Sigmoid", "tanh": "Tanh"}[kind]
            args = opts.lstrip(", ").replace("training=False", "").strip(", ")
            m = self.fresh()
            tail = ".eval()" if kind == "rrelu" else ""
            parts.append(f"{m} = torch.nn.{mod}({args}){tail}; {y} = {m}({x})")
        else:
            parts.append(f"{y} = {F}.{kind}({x}{opts})")
        parts.append(self.wbackward(y))
        if self.coin(0.25):
            g = self.fresh()
            parts[-1] = f"{g} = torch.autograd.grad({y}.sum(), {x}, create_graph=True)[0]; " \
                        f"{self.wbackward(g)}"
        return "; ".join(parts)


def _lit_int(a) -> str:
    return repr(np.asarray(a).tolist())


# --------------------------------------------------------------------------------------------
# Reviewed differences these families reach (on top of sessions 17 to 21's lists)
# --------------------------------------------------------------------------------------------

# Inputs the families draw that put a kernel past its finite range or at nan.
_EDGE_LITERALS = ("float('nan')", "float('inf')", "1e+30", "3e+38", "65504.0", "1e-300",
                  "1e-40", "1e-45", "710.0", "88.7", "100.0")


def _line_of(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _nan_branch(lines, failure):
    # At nan PyTorch's comparison-based kernels answer by position: its vectorised body and
    # its scalar tail test x differently (hardshrink's gradient at nan is 0 in a body of 16+
    # float32 elements and 1 in the tail; huber / smooth_l1's second derivative likewise);
    # deltagrad gives the tail's answer everywhere.
    line = _line_of(lines, failure)
    return (failure[1] == "silent" and "float('nan')" in line
            and any(f"{op}(" in line for op in _NAN_BRANCH_OPS))


_NAN_BRANCH_OPS = ("hardshrink", "softshrink", "hardtanh", "relu6", "Hardtanh", "ReLU6",
                   "Hardshrink", "Softshrink", "hardswish", "Hardswish", "logit", "huber_loss",
                   "smooth_l1_loss", "threshold", "Threshold", "clamp", "hardtanh_", "relu6_")


def _nonfinite_edge(lines, failure):
    # Inputs at inf / nan / past a float range (1e30 in float32, 65504 in float16): the
    # libraries' formulas meet inf - inf, 0 * inf or an overflow at different steps, so one
    # side's value or gradient is nan / inf where the other's is a number (cumprod and max
    # beside inf, log_ndtr's gradient at -inf, gelu(inf) in float32, cosine_similarity of
    # 1e30, mish / glu / sinc second derivatives, nan's order in mode / median / quantile).
    line = _line_of(lines, failure)
    if failure[1] == "we-raise":
        return "logdet(" in line and "singular" in failure[2]  # (backward of det 0)
    if failure[1] != "silent" or not any(v in line for v in _EDGE_LITERALS):
        return False
    if not any(op in line for op in _NONFINITE_OPS):
        return False
    # (a gradient at such an input may be a number on both sides: i1e's second derivative at
    # a denormal, smooth_l1's at -inf, addcmul(value=0) beside inf)
    return ("nan" in failure[2] or "inf" in failure[2] or ".grad.values" in failure[2]
            or "1e-40" in line or "1e-45" in line)  # (denormal weights, ...: values too)


_NONFINITE_OPS = ("cumprod(", ".max(", ".min(", "binary_cross_entropy_with_logits(",
                  "log_ndtr(", "mish(", "Mish(", "gelu(", "GELU(", "glu(", "smooth_l1_loss(",
                  "cosine_similarity(", "xlogy(", "addcdiv(", "float_power(",
                  "multi_margin_loss(", "gaussian_nll_loss(", "pairwise_distance(", ".norm(",
                  "vector_norm(", "i0(", "i1(", "i1e(", "kl_div(", "tanhshrink(", "erfcx(",
                  "quantile(", ".mode(", "median(", "prelu(", "sinc(", "logdet(", "cdist(",
                  "normalize(", "amax(", "amin(", "maximum(", "minimum(", "softplus(",
                  "logsigmoid(", "silu(", "selu(", "elu(", "celu(", "cosine_embedding_loss(",
                  "triplet_margin", "huber_loss(", "poisson_nll_loss(", "sigmoid(", "tanh(",
                  "addcmul(", "fmod(", "remainder(", "cross_entropy(", "nll_loss(", "bessel_j",
                  "polygamma(", "digamma(", "lgamma(", "erfinv(", "ndtri(", "atan2(",
                  "torch.dist(", "pdist(", "multilabel_soft_margin_loss(")


def _rounding(lines, failure):
    # Rounding amplified: a 1-ulp difference in a float32 tanh / exp (NumPy's against
    # PyTorch's SLEEF kernels) grows in 1 - tanh(x)^2 or gelu(tanh)'s slope where they cancel
    # (x = -3: 3e-5 relative); float16 / bfloat16 derivative formulas PyTorch rounds after
    # each op (sinc, xlogy, gelu's second derivative), deltagrad once; float32 QR (orthogonal_)
    # and PyTorch's float32 bessel kernels at large arguments; BatchNorm's cancelling
    # gradients (functional_call) leave residue of ~1e-6 both sides.
    if failure[1] != "silent" or " != torch's " not in failure[2]:
        return False
    line = _line_of(lines, failure)
    half = "float16" in line or "bfloat16" in line
    if not any(op in line for op in _ROUNDING_OPS) and not half:
        return False
    ours, theirs = failure[2].split(" != torch's ", 1)
    pairs = list(zip(sl5._numbers(ours.split("values: ", 1)[-1]), sl5._numbers(theirs)))
    tol = 0.5 if half else 1e-3
    # (a second derivative's float32 tail, gelu(tanh)'s at x = 5.4: ~1e-5 of cancellation)
    floor = 1e-4 if "create_graph=True" in line else tol * 1e-2
    return bool(pairs) and all(o == t or abs(o - t) <= max(tol * abs(t), floor)
                               or (o != o and t != t) for o, t in pairs)


_ROUNDING_OPS = ("tanh(", "gelu(", "GELU(", "normalize(", "sinc(", "xlogy(", "orthogonal_(",
                 "bessel_j", "functional_call(", "mish(", "Mish(", "silu(", "sigmoid(", "elu(",
                 "selu(", "celu(", "softplus(", "logsigmoid(", "tanhshrink(", "i0e(", "i1e(",
                 "erfcx(", "log_ndtr(", "polygamma(", "digamma(", "cdist(", "pdist(",
                 "pairwise_distance(", "cosine_similarity(", "kl_div(", "gaussian_nll_loss(",
                 "tensordot(", "einsum(", "multigammaln(", "mvlgamma(", "grid_sample(",
                 "affine_grid(")


def _sinc_at_zero(lines, failure):
    # sinc's second derivative at 0: PyTorch's rule divides by x and masks the result, its
    # derivative is nan there; deltagrad's is the limit -pi^2 / 3 (times the weights). Near
    # 0 (1e-4 in float32, 1e-8 in float64) both libraries' slopes cancel catastrophically.
    line = _line_of(lines, failure)
    if failure[1] != "silent" or "sinc(" not in line or ".grad" not in failure[2]:
        return False
    return (("create_graph=True" in line and "nan" in failure[2])
            or any(v in line for v in ("0.0001", "1e-08", "1e-40", "1e-45")))


def _kl_zero_target(lines, failure):
    # kl_div's gradient in a target that requires grad, at a target of 0 or -0.0: PyTorch's
    # xlogy rule gives 0 / 0 = nan there, deltagrad's the limit (its target term is 0)
    line = _line_of(lines, failure)
    return (failure[1] == "silent" and "kl_div(" in line and "nan" in failure[2]
            and "log_target=False" in line and ".grad" in failure[2])


def _half_second_order(lines, failure):
    # float16 / bfloat16 second derivatives of gelu / mish / silu / softplus / elu: PyTorch's
    # fused double-backward kernels compute in float32 and round once; deltagrad's recorded
    # rules are compositions rounding each op in the half dtype (gelu(tanh)'s in bfloat16
    # parts by up to 100% where its terms cancel). Left: a fused half rule would fix it.
    line = _line_of(lines, failure)
    return (failure[1] == "silent" and ".grad" in failure[2] and "create_graph=True" in line
            and ("bfloat16" in line or "float16" in line)
            and any(op in line for op in ("gelu(", "GELU(", "mish(", "Mish(", "silu(",
                                          "softplus(", "elu(", "selu(", "celu(", "glu(")))


def _ldexp_grad(lines, failure):
    # PyTorch's ldexp backward multiplies by pow(2, other) in other's integer dtype: 0 for
    # a negative exponent (ldexp(x, -2)'s gradient 0, not 0.25); deltagrad's is 2 ** other.
    return (failure[1] == "silent" and ".grad.values" in failure[2]
            and "torch.ldexp(" in _line_of(lines, failure))


# PyTorch raises where deltagrad computes (permissive). s26 BR14 narrowed the one blanket
# rule (every NotImplementedError) into these named entries, each checked to give the right
# value; the rest now fails the fuzzer (ordering complex numbers in searchsorted, complex
# polygamma, i1 / i1e derivatives in half precision: deltagrad raises PyTorch's error now).


def _missing_derivative(lines, failure):
    # Second derivatives PyTorch has not implemented: hardsigmoid's (0 almost everywhere) and
    # cdist's (deltagrad's matches the explicit distance formula's within 2e-13, float64).
    return failure[1] == "permissive" and any(m in failure[2] for m in (
        "derivative for aten::hardsigmoid_backward is not implemented",
        "the derivative for '_cdist_backward' is not implemented"))


def _dist_zero_backward(lines, failure):
    # torch.dist(p=0)'s backward: PyTorch's error (an undefined tensor); deltagrad's is
    # linalg.vector_norm(ord=0)'s, PyTorch's own there (no gradient reaches the inputs).
    return (failure[1] == "permissive" and "Expected a proper Tensor but got None" in failure[2]
            and "torch.dist(" in _line_of(lines, failure))


def _inplace_negative_slope(lines, failure):
    # leaky_relu_ / elu(inplace=True) with a negative slope: PyTorch cannot recover the input's
    # sign from the output and refuses the backward; deltagrad's equals the out-of-place one's.
    return failure[1] == "permissive" and "negative slope which is not supported" in failure[2]


def _wide_unsigned(lines, failure):
    # uint16 / uint32 / uint64: PyTorch's "barebones" dtypes lack most kernels (add, pow, abs,
    # index_add_: NotImplementedError); deltagrad's are NumPy's, wrapping as PyTorch's uint8.
    return failure[1] == "permissive" and re.search(
        r"not implemented for 'UInt(16|32|64)'", failure[2]) is not None


def _sparse_backend_gap(lines, failure):
    # A sparse layout PyTorch has no kernel for (index_select / log_softmax of CSR, index_add_
    # into COO, in a backward): deltagrad computes them through its dense gradients.
    return failure[1] == "permissive" and re.search(
        r"Could not run 'aten::\w+' with arguments from the 'Sparse(Csr)?CPU' backend",
        failure[2]) is not None


KNOWN = [
    (_nan_branch,
     "at a nan input, PyTorch's hardshrink / softshrink / hardtanh / relu6 / hardswish / "
     "logit(eps) / huber / smooth_l1 / threshold / clamp kernels give a gradient that depends "
     "on the element's position (vectorised body against scalar tail); deltagrad the tail's"),
    (_nonfinite_edge,
     "inputs at inf / nan / past the dtype's range: the formulas meet inf - inf, 0 * inf or "
     "an overflow at different steps; one side nan / inf where the other has a number"),
    (_rounding,
     "rounding amplified: float32 tanh / exp ulps (NumPy's against SLEEF) grown where slopes "
     "cancel, half-precision derivative formulas rounded per op in PyTorch and once here, "
     "float32 QR (orthogonal_), PyTorch's float32 bessel kernels at large arguments, "
     "BatchNorm's cancelling gradients (within 1e-3 relative, half precision 0.5)"),
    (_sinc_at_zero,
     "sinc's second derivative at 0: PyTorch's nan (a masked division), deltagrad's limit"),
    (_kl_zero_target,
     "kl_div's gradient in a target that requires grad, at a zero target: PyTorch's nan "
     "(xlogy's 0 / 0), deltagrad's limit"),
    (_half_second_order,
     "float16 / bfloat16 second derivatives of gelu / mish / silu / softplus / elu: PyTorch's "
     "fused kernels in float32 rounded once, deltagrad's composed rules round each op in the "
     "half dtype (bfloat16 gelu(tanh): up to 100% apart where terms cancel)"),
    (_ldexp_grad,
     "PyTorch bug: ldexp's gradient is grad * pow(2, other) in other's integer dtype, 0 for "
     "negative exponents; deltagrad's is 2 ** other"),
    (_missing_derivative,
     "PyTorch lacks the derivative (hardsigmoid's second, cdist's second); deltagrad's is right"),
    (_dist_zero_backward,
     "torch.dist(p=0)'s backward: PyTorch's undefined-tensor error; deltagrad's as vector_norm"),
    (_inplace_negative_slope,
     "in-place leaky_relu / elu with a negative slope: PyTorch refuses the backward"),
    (_wide_unsigned, "uint16 / uint32 / uint64: PyTorch lacks most kernels, deltagrad computes"),
    (_sparse_backend_gap, "a sparse layout PyTorch has no kernel for: deltagrad computes"),
]


known = chain_known(sl6.known, KNOWN)


def compare(lines):
    return sl6.compare(lines)


def program(seed: int, index: int) -> list[str]:
    with sl6.wide():
        return base.program(seed, index, Gen7)


def run(seed: int, count: int, known=known):
    with sl6.wide():
        return base.run(seed, count, known, Gen7)


if __name__ == "__main__":
    base.known = known  # (main reads the module's predicate)
    with sl6.wide():
        sys.exit(base.main(gen=Gen7))
