"""Session 21's families for the program-level differential fuzzer (``s17_SL_progfuzz.py``):
the same comparison after every line, over what the earlier grammars do not reach.

``Gen6`` keeps session 17's statements at a low weight and adds:

- torch.distributions (this file): Normal, Bernoulli / Categorical / OneHotCategorical with
  probs or logits, Beta, Gamma, Dirichlet, Exponential, Laplace, Uniform, MultivariateNormal
  (covariance / scale_tril / precision), Independent, MixtureSameFamily, TransformedDistribution
  with transforms (Exp / Affine / Sigmoid / Tanh / Power / Softplus, StickBreaking, Softmax,
  CorrCholesky, LowerCholesky, Independent / Compose), RelaxedBernoulli / RelaxedOneHot,
  LogNormal, Poisson, Geometric, Binomial, Multinomial, NegativeBinomial, Kumaraswamy,
  VonMises, Weibull, Pareto, LowRankMultivariateNormal, Chi2, ContinuousBernoulli,
  LogisticNormal, HalfCauchy, FisherSnedecor, InverseGamma, Gumbel; log_prob in and out of the
  support with validate_args both ways, entropy, mean / variance / stddev, cdf / icdf,
  kl_divergence, rsample gradients, samples after manual_seed, batch / event shapes, expand;
- creation and conversion (this file): tensor() of nested mixed bool / int / float / complex,
  numpy scalars and arrays, as_tensor / from_numpy (shared memory, writes both ways), arange /
  linspace / logspace with float steps and dtypes, full / full_like, eye, tril / triu_indices,
  meshgrid, casts, set_default_dtype, Python-scalar promotion and in-place promotion errors,
  result_type / promote_types / can_cast;
- shape ops with gradients, printing (str / repr under set_printoptions, modules,
  Parameters), optimizers and lr schedulers, torch.utils.data (``s21_SL6_more.py``).

Strings, dtypes and sizes are compared too (the earlier snapshot took them as opaque objects):
``run`` / ``compare`` here install that wider snapshot for their duration, and reset the
default dtype and print options after each program.

Run as a script::

    .venv/bin/python tests/parity/s21_SL6_families.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s20_SL5_families as sl5  # noqa: E402
from s17_SL_known import chain_known  # noqa: E402
from s21_SL6_more import MoreFamilies  # noqa: E402

torch = base.torch
dg = base.dg
D = "torch.distributions"


_nested = sl5._nested  # (nested lists of numbers as literals)


class Gen6(MoreFamilies, base.Gen):
    """Session 17's grammar plus the families above."""

    def makers(self):
        old = [(maker, weight * 0.1) for maker, weight in super().makers()]
        return old + [(self.distribution, 6), (self.dist_op, 8), (self.creation, 5),
                      (self.promotion, 5), (self.shape_op, 6), (self.printing, 4),
                      (self.optim_run, 4), (self.data_utils, 3)]

    # -- literals -------------------------------------------------------------------------------
    def flt(self, shape, lo=None, hi=None):
        a = np.round(self.rng.standard_normal(shape), 3)
        if lo is not None:
            a = np.round(self.rng.uniform(lo, hi, shape), 3)
        return _nested(np.asarray(a).tolist())

    def tens(self, shape, lo=None, hi=None, dtype=None, grad=False):
        dt = f", dtype=torch.{dtype}" if dtype else ""
        rg = ", requires_grad=True" if grad else ""
        return f"torch.tensor({self.flt(shape, lo, hi)}{dt}{rg})"

    def dists(self):
        return [k for k, v in self.ns.items()
                if k.startswith("a") and isinstance(v, torch.distributions.Distribution)]

    # -- distributions --------------------------------------------------------------------------
    def distribution(self):
        batch = self.pick([(), (2,), (3,), (2, 2)])
        dtype = self.pick(["float32", "float32", "float64"])
        g = self.coin(0.5)
        va = self.pick(["", "", ", validate_args=True", ", validate_args=False"])
        parts = []

        def leaf(shape, lo=None, hi=None):
            name = self.fresh()
            parts.append(f"{name} = {self.tens(shape, lo, hi, dtype, g)}")
            return name
        kind = self.pick(["Normal", "Bernoulli", "BernoulliL", "Categorical", "CategoricalL",
                          "OneHot", "Beta", "Gamma", "Dirichlet", "Exponential", "Laplace",
                          "Uniform", "MVN", "MVN_tril", "MVN_prec", "Independent", "Mixture",
                          "Transformed", "RelaxedBernoulli", "LogNormal", "Poisson",
                          "Geometric", "HalfNormal", "Cauchy", "StudentT", "Gumbel",
                          "Binomial", "Multinomial", "NegBinomial", "Kumaraswamy", "VonMises",
                          "Weibull", "Pareto", "LowRankMVN", "Chi2", "ContinuousBernoulli",
                          "RelaxedOneHot", "LogisticNormal", "HalfCauchy", "FisherSnedecor",
                          "InverseGamma", "Transformed2"])
        if kind in ("Normal", "Laplace", "LogNormal", "Cauchy", "Gumbel"):
            expr = f"{D}.{kind}({leaf(batch)}, {leaf(batch, 0.2, 2)}{va})"
        elif kind == "StudentT":
            expr = f"{D}.StudentT({leaf(batch, 1, 5)}, {leaf(batch)}, {leaf(batch, .2, 2)}{va})"
        elif kind == "HalfNormal":
            expr = f"{D}.HalfNormal({leaf(batch, 0.2, 2)}{va})"
        elif kind == "Bernoulli":
            expr = f"{D}.Bernoulli(probs={leaf(batch, 0.01, 0.99)}{va})"
        elif kind == "BernoulliL":
            expr = f"{D}.Bernoulli(logits={leaf(batch)}{va})"
        elif kind in ("Categorical", "OneHot"):
            k = int(self.rng.integers(2, 5))
            name = "Categorical" if kind == "Categorical" else "OneHotCategorical"
            expr = f"{D}.{name}(probs={leaf(batch + (k,), 0.05, 1)}{va})"
        elif kind == "CategoricalL":
            k = int(self.rng.integers(2, 5))
            name = self.pick(["Categorical", "OneHotCategorical"])
            expr = f"{D}.{name}(logits={leaf(batch + (k,))}{va})"
        elif kind == "Beta":
            expr = f"{D}.Beta({leaf(batch, 0.3, 3)}, {leaf(batch, 0.3, 3)}{va})"
        elif kind == "Gamma":
            expr = f"{D}.Gamma({leaf(batch, 0.3, 3)}, {leaf(batch, 0.3, 3)}{va})"
        elif kind == "Dirichlet":
            expr = f"{D}.Dirichlet({leaf(batch + (3,), 0.3, 3)}{va})"
        elif kind in ("Exponential", "Poisson"):
            expr = f"{D}.{kind}({leaf(batch, 0.2, 3)}{va})"
        elif kind == "Geometric":
            expr = f"{D}.Geometric(probs={leaf(batch, 0.05, 0.95)}{va})"
        elif kind == "Uniform":
            lo = leaf(batch)
            expr = f"{D}.Uniform({lo}, {lo} + {leaf(batch, 0.2, 2)}{va})"
        elif kind.startswith("MVN"):
            n = int(self.rng.integers(1, 4))
            loc = leaf(batch + (n,))
            a = leaf(batch + (n, n))
            spd = f"{a} @ {a}.mT + torch.eye({n}, dtype={a}.dtype)"
            arg = {"MVN": f"covariance_matrix={spd}", "MVN_prec": f"precision_matrix={spd}",
                   "MVN_tril": f"scale_tril=torch.linalg.cholesky({spd})"}[kind]
            expr = f"{D}.MultivariateNormal({loc}, {arg}{va})"
        elif kind == "Independent":
            shape = batch + (2,)
            inner = f"{D}.Normal({leaf(shape)}, {leaf(shape, 0.2, 2)})"
            expr = f"{D}.Independent({inner}, {self.pick([1, len(shape)])}{va})"
        elif kind == "Mixture":
            k = int(self.rng.integers(2, 4))
            mix = f"{D}.Categorical(logits={leaf(batch + (k,))})"
            comp = f"{D}.Normal({leaf(batch + (k,))}, {leaf(batch + (k,), 0.3, 2)})"
            expr = f"{D}.MixtureSameFamily({mix}, {comp}{va})"
        elif kind == "Transformed":
            t = self.pick([f"{D}.transforms.ExpTransform()",
                           f"{D}.transforms.AffineTransform(0.5, 2.0)",
                           f"{D}.transforms.SigmoidTransform()",
                           f"{D}.transforms.TanhTransform(cache_size=1)",
                           f"[{D}.transforms.AffineTransform(-1.0, 0.5), "
                           f"{D}.transforms.ExpTransform()]",
                           f"{D}.transforms.PowerTransform(2.0)",
                           f"{D}.transforms.SoftplusTransform()",
                           f"{D}.transforms.ExpTransform().inv"])
            base_d = f"{D}.Normal({leaf(batch)}, {leaf(batch, 0.3, 1.5)})"
            if "PowerTransform" in t:
                base_d = f"{D}.Gamma({leaf(batch, 0.5, 3)}, {leaf(batch, 0.5, 3)})"
            expr = f"{D}.TransformedDistribution({base_d}, {t}{va})"
        elif kind == "Binomial":
            n = self.pick(["5", "torch.tensor(3.0)", "1"])
            expr = f"{D}.Binomial({n}, probs={leaf(batch, 0.05, 0.95)}{va})"
        elif kind == "Multinomial":
            expr = f"{D}.Multinomial({self.pick(['4', '1'])}, probs={leaf(batch + (3,), .1, 1)}" \
                   f"{va})"
        elif kind == "NegBinomial":
            expr = f"{D}.NegativeBinomial({leaf(batch, 0.5, 4)}, probs={leaf(batch, .05, .9)}" \
                   f"{va})"
        elif kind in ("Kumaraswamy", "Weibull", "Pareto", "FisherSnedecor", "InverseGamma"):
            expr = f"{D}.{kind}({leaf(batch, 0.5, 3)}, {leaf(batch, 0.5, 3)}{va})"
        elif kind == "VonMises":
            expr = f"{D}.VonMises({leaf(batch)}, {leaf(batch, 0.2, 5)}{va})"
        elif kind == "LowRankMVN":
            n = int(self.rng.integers(1, 4))
            expr = f"{D}.LowRankMultivariateNormal({leaf(batch + (n,))}, " \
                   f"{leaf(batch + (n, 2))}, {leaf(batch + (n,), 0.3, 2)}{va})"
        elif kind == "Chi2":
            expr = f"{D}.Chi2({leaf(batch, 0.5, 4)}{va})"
        elif kind == "ContinuousBernoulli":
            arg = self.pick([f"probs={leaf(batch, 0.05, 0.95)}", f"logits={leaf(batch)}",
                             f"probs={leaf(batch, 0.499, 0.501)}"])
            expr = f"{D}.ContinuousBernoulli({arg}{va})"
        elif kind == "RelaxedOneHot":
            dtype = "float64"  # (float32's roundings through its rsample exceed 1e-6)
            expr = f"{D}.RelaxedOneHotCategorical(torch.tensor(0.5, dtype=torch.{dtype}), " \
                   f"logits={leaf(batch + (3,))}{va})"
        elif kind == "LogisticNormal":
            expr = f"{D}.LogisticNormal({leaf(batch + (2,))}, {leaf(batch + (2,), .3, 2)}{va})"
        elif kind == "HalfCauchy":
            expr = f"{D}.HalfCauchy({leaf(batch, 0.2, 2)}{va})"
        elif kind == "Transformed2":
            dtype = "float64"  # (float32's roundings through these chains exceed 1e-6)
            t = self.pick([f"{D}.transforms.StickBreakingTransform()",
                           f"{D}.transforms.SoftmaxTransform()",
                           f"{D}.transforms.ComposeTransform([{D}.transforms.AffineTransform("
                           f"0.0, 2.0, event_dim=1), {D}.transforms.StickBreakingTransform()])",
                           f"{D}.transforms.IndependentTransform({D}.transforms.ExpTransform(), "
                           f"1)", f"{D}.transforms.CorrCholeskyTransform()",
                           f"{D}.transforms.LowerCholeskyTransform()"])
            k = 3 if "Corr" in t else 2
            shape = batch + ((k, k) if "LowerCholesky" in t else (k,))
            inner = f"{D}.Normal({leaf(shape)}, {leaf(shape, 0.3, 1.5)})"
            ev = 2 if "LowerCholesky" in t else 1
            expr = f"{D}.TransformedDistribution({D}.Independent({inner}, {ev}), {t}{va})"
        else:
            temp = self.pick(["0.5", "torch.tensor(0.3)", "2.0"])
            arg = self.pick([f"probs={leaf(batch, 0.05, 0.95)}", f"logits={leaf(batch)}"])
            if temp == "torch.tensor(0.3)":
                temp = f"torch.tensor(0.3, dtype=torch.{dtype})"
            expr = f"{D}.RelaxedBernoulli({temp}, {arg}{va})"
        y = self.fresh()
        parts.append(f"{y} = {expr}")
        return "; ".join(parts)

    def dist_op(self):
        names = self.dists()
        if not names:
            return None
        d = self.pick(names)
        dist = self.ns[d]
        y = self.fresh()
        bs, es = tuple(dist.batch_shape), tuple(dist.event_shape)
        kind = self.pick(["log_prob", "log_prob", "log_prob_out", "entropy", "moments",
                          "cdf", "icdf", "sample", "rsample", "shapes", "expand", "kl",
                          "perplexity", "enumerate", "mode"])
        dt = "torch.float64" if any(getattr(v, "dtype", None) == torch.float64 for v in
                                    vars(dist).values()) else "torch.float32"
        if kind in ("log_prob", "cdf"):
            seed = int(self.rng.integers(0, 2**31))
            extra = self.pick([(), (2,)])
            src = self.pick([f"{d}.sample({extra})", f"{d}.sample()"])
            if kind == "cdf":
                return f"torch.manual_seed({seed}); {y} = {d}.cdf({src})"
            return (f"torch.manual_seed({seed}); {y} = {d}.log_prob({src}); "
                    f"{y}.sum().backward() if {y}.requires_grad else None")
        if kind == "log_prob_out":
            v = self.pick(["-0.5", "1.5", "0.0", "1.0", "2.0", "0.5", "3", "-1.0", "float('nan')",
                           "float('inf')"])
            shape = bs + es
            return f"{y} = {d}.log_prob(torch.full({shape}, {v}, dtype={dt}))"
        if kind == "entropy":
            return f"{y} = {d}.entropy(); {y}.sum().backward() if {y}.requires_grad else None"
        if kind == "moments":
            return f"{y} = ({d}.mean, {d}.variance, {d}.stddev)"
        if kind == "mode":
            return f"{y} = {d}.mode"
        if kind == "icdf":
            return f"{y} = {d}.icdf(torch.full({bs}, {self.pick(['0.3', '0.9', '0.0'])}, " \
                   f"dtype={dt}))"
        if kind == "sample":
            seed = int(self.rng.integers(0, 2**31))
            shape = self.pick(["()", "(2,)", "(3, 1)", "torch.Size([2])"])
            return f"torch.manual_seed({seed}); {y} = {d}.sample({shape})"
        if kind == "rsample":
            seed = int(self.rng.integers(0, 2**31))
            return (f"torch.manual_seed({seed}); {y} = {d}.rsample((2,)); "
                    f"({y} * torch.arange(1, {y}.numel() + 1).reshape({y}.shape)).sum()"
                    f".backward() if {y}.requires_grad else None")
        if kind == "shapes":
            return f"{y} = ({d}.batch_shape, {d}.event_shape, {d}.has_rsample, " \
                   f"{d}.support.is_discrete, {d}.support.event_dim)"
        if kind == "expand":
            new = self.pick([(3,) + bs, (2,) + bs, bs])
            return f"{y} = {d}.expand({new}); {self.fresh()} = ({y}.batch_shape, {y}.mean)"
        if kind == "perplexity":
            return f"{y} = {d}.perplexity()"
        if kind == "enumerate":
            return f"{y} = {d}.enumerate_support({self.pick(['True', 'False'])})"
        others = [k for k in names if k != d] or [d]
        return f"{y} = torch.distributions.kl_divergence({d}, {self.pick(others)}); " \
               f"{y}.sum().backward() if {y}.requires_grad else None"

    # -- creation and conversion ----------------------------------------------------------------
    def creation(self):
        y = self.fresh()
        kind = self.pick(["nested", "nested", "numpy", "from_numpy", "as_tensor", "arange",
                          "linspace", "logspace", "full", "full_like", "eye", "tri_indices",
                          "meshgrid", "cast", "default_dtype", "zeros_like", "empty_strided",
                          "tensor_of_tensors", "scalar_tensor"])
        if kind == "nested":
            items = ["True", "False", "1", "-2", "0", "2.5", "-0.0", "1e300", "(1+2j)", "3j",
                     "float('nan')", "2**40", "-1.5e-8"]
            k = int(self.rng.integers(1, 4))
            rows = int(self.rng.integers(1, 3))
            pool = self.rng.choice(len(items), size=int(self.rng.integers(1, 5)))
            cells = [[items[int(self.pick(pool))] for _ in range(k)] for _ in range(rows)]
            brk = self.pick(["[]", "()"])
            inner = [brk[0] + ", ".join(c) + ("," if brk == "()" and k == 1 else "") + brk[1]
                     for c in cells]
            lit = "[" + ", ".join(inner) + "]" if self.coin(0.6) else inner[0]
            dt = self.pick(["", "", "", ", dtype=torch.float16", ", dtype=torch.int32",
                            ", dtype=torch.bool", ", dtype=torch.float64",
                            ", dtype=torch.complex64", ", dtype=torch.uint8"])
            return f"{y} = torch.tensor({lit}{dt})"
        if kind == "numpy":
            v = self.pick(["np.float32(1.5)", "np.int16(-3)", "np.float64(2.25)", "np.bool_(True)",
                           "np.uint8(200)", "np.array([1, 2], dtype=np.int8)",
                           "np.array(2.5, dtype=np.float16)", "np.complex64(1 + 1j)",
                           "[np.float32(1.5), 2]", "[np.int64(3), True]",
                           "np.array([[1.5, 2]], dtype=np.float32)",
                           "[np.float64(1.0), np.float32(2.0)]"])
            fn = self.pick(["torch.tensor", "torch.as_tensor", "torch.tensor"])
            rest = self.pick(["", f"; {self.fresh()} = {y} * 2", f"; {self.fresh()} = {y} + 1.5"])
            return f"import numpy as np; {y} = {fn}({v}){rest}"
        if kind == "from_numpy":
            dtype = self.pick(["float32", "float64", "int64", "int32", "uint8", "bool"])
            shape = self.pick([(3,), (2, 3)])
            src = f"np.arange({int(np.prod(shape))}).reshape({shape}).astype(np.{dtype})"
            fn = self.pick(["torch.from_numpy", "torch.as_tensor", "torch.asarray"])
            n = self.fresh()
            w = self.pick([f"{n}[0] = 1", f"{y}.add_(1) if {y}.dtype != torch.bool else "
                           f"{y}.logical_not_()", f"{y}[-1] = 0", f"{n}.fill(1)"])
            return (f"import numpy as np; {n} = {src}; {y} = {fn}({n}); {w}; "
                    f"{self.fresh()} = torch.tensor({n}); {self.fresh()} = {y}.clone()")
        if kind == "as_tensor":
            names = self.tensors()
            if not names:
                return None
            x = self.pick(names)
            dt = self.pick(["", ", dtype=torch.float64", f", dtype={x}.dtype",
                            ", dtype=torch.int64"])
            return (f"{y} = torch.as_tensor({x}{dt}); {self.fresh()} = {y} is {x}; "
                    f"{self.fresh()} = {y}.data_ptr() == {x}.data_ptr() if {x}.numel() else None")
        if kind == "arange":
            start = self.pick(["0", "1", "-2.5", "0.1", "3"])
            end = self.pick(["5", "2.3", "1.0", "-1", "7.7"])
            step = self.pick(["", ", 0.5", ", 0.3", ", -0.7", ", 2", ", 0.1"])
            dt = self.pick(["", "", ", dtype=torch.int32", ", dtype=torch.float64",
                            ", dtype=torch.float16", ", dtype=torch.int64"])
            return f"{y} = torch.arange({start}, {end}{step}{dt})"
        if kind in ("linspace", "logspace"):
            a = self.pick(["0", "-1.5", "2", "0.1", "-3"])
            b = self.pick(["1", "10", "-2.5", "3.3", "0"])
            n = self.pick(["0", "1", "2", "5", "7"])
            dt = self.pick(["", "", ", dtype=torch.int64", ", dtype=torch.float64",
                            ", dtype=torch.float16", ", dtype=torch.int32"])
            base_ = self.pick(["", ", base=2", ", base=2.5"]) if kind == "logspace" else ""
            return f"{y} = torch.{kind}({a}, {b}, {n}{base_}{dt})"
        if kind == "full":
            v = self.pick(["1", "2.5", "True", "-0.0", "(1+1j)", "float('inf')", "7"])
            dt = self.pick(["", "", ", dtype=torch.int16", ", dtype=torch.float64"])
            return f"{y} = torch.full({self.pick([(2,), (2, 3), ()])}, {v}{dt})"
        if kind == "full_like":
            names = self.tensors()
            if not names:
                return None
            x = self.pick(names)
            v = self.pick(["1", "2.5", "True", "-3", "0.5"])
            fn = self.pick(["full_like", "ones_like", "zeros_like"])
            dt = self.pick(["", "", ", dtype=torch.int64", ", dtype=torch.float64"])
            arg = f", {v}" if fn == "full_like" else ""
            return f"{y} = torch.{fn}({x}{arg}{dt})"
        if kind == "eye":
            n, m = self.pick(["0", "1", "3"]), self.pick(["", ", 2", ", 4"])
            dt = self.pick(["", ", dtype=torch.bool", ", dtype=torch.int32"])
            return f"{y} = torch.eye({n}{m}{dt})"
        if kind == "tri_indices":
            fn = self.pick(["tril_indices", "triu_indices"])
            r, c = int(self.rng.integers(0, 5)), int(self.rng.integers(0, 5))
            off = self.pick(["", ", 1", ", -1", ", offset=2", ", -3"])
            return f"{y} = torch.{fn}({r}, {c}{off})"
        if kind == "meshgrid":
            k = int(self.rng.integers(1, 4))
            args = ", ".join(f"torch.arange({int(self.rng.integers(1, 4))})" for _ in range(k))
            ix = self.pick(["", ", indexing='ij'", ", indexing='xy'"])
            return f"{y} = torch.meshgrid({args}{ix})"
        if kind == "cast":
            names = self.tensors()
            if not names:
                return None
            x = self.pick(names)
            how = self.pick(["int()", "bool()", "half()", "long()", "float()", "double()",
                             "short()", "char()", "byte()", "bfloat16()", "to(torch.int8)",
                             "to(torch.float64)", "type(torch.int32)", "type('torch.DoubleTensor')",
                             "type()", "type_as(torch.tensor([1], dtype=torch.uint8))",
                             "to(torch.float16, copy=True)", "to(dtype=torch.int16)",
                             "to(torch.tensor(1.5, dtype=torch.float64))", "cfloat()"])
            return f"{y} = {x}.detach().{how}"
        if kind == "default_dtype":
            dd = self.pick(["float64", "float16", "bfloat16"])
            what = self.pick(["torch.tensor([1.5, 2])", "torch.arange(3.0)", "torch.zeros(2)",
                              "torch.tensor(1) / 2", "torch.tensor([1, 2]) * 0.5",
                              "torch.linspace(0, 1, 3)", "torch.tensor(2j)",
                              "torch.full((2,), 1.5)", "torch.randn(0)",
                              "torch.get_default_dtype()",
                              "torch.tensor([True]) + 0.5", "torch.nn.Linear(2, 1).weight.dtype",
                              "torch.tensor(3.5).dtype", "torch.empty(1).dtype"])
            return (f"torch.set_default_dtype(torch.{dd}); {y} = {what}; "
                    "torch.set_default_dtype(torch.float32)")
        if kind == "zeros_like":
            return f"{y} = torch.empty_like(torch.ones(2, 3).t()).stride()"
        if kind == "empty_strided":
            return f"{y} = torch.empty_strided((2, 3), (1, 2)).fill_(1.5).t().is_contiguous()"
        if kind == "tensor_of_tensors":
            v = self.pick(["[torch.tensor(1.5), torch.tensor(2)]", "[torch.tensor(1), 2.5]",
                           "[[torch.tensor(True)], [torch.tensor(3)]]",
                           "(torch.tensor(1, dtype=torch.int8), 300)"])
            return f"{y} = torch.tensor({v})"
        v = self.pick(["2", "2.5", "True", "-1"])
        dt = self.pick(["", ", dtype=torch.int32"])
        return f"{y} = torch.scalar_tensor({v}{dt})"

    # -- Python-scalar promotion ----------------------------------------------------------------
    def promotion(self):
        y = self.fresh()
        dts = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
               "float32", "float64", "complex64"]
        a, b = self.pick(dts), self.pick(dts)
        kind = self.pick(["binop", "binop", "scalar", "inplace", "result_type",
                          "promote_types", "can_cast", "zero_dim", "div_modes"])
        va = "[1, 0, 1]" if a == "bool" else "[3, 250, 7]" if a == "uint8" else "[3, -2, 7]"
        vb = "[True, True, False]" if b == "bool" else "[2, 3, 1]"
        ta = f"torch.tensor({va}, dtype=torch.{a})" if a != "complex64" else \
            "torch.tensor([1+1j, 2, 3j])"
        tb = f"torch.tensor({vb}, dtype=torch.{b})"
        if kind == "binop":
            op = self.pick(["+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<", "=="])
            return f"{y} = {ta} {op} {tb}"
        if kind == "scalar":
            s = self.pick(["2.5", "2", "True", "-1", "1j", "0.5", "1e10", "300", "-0.0"])
            op = self.pick(["+", "*", "/", "//", "-", "%", "**"])
            return f"{y} = {self.pick([f'{ta} {op} {s}', f'{s} {op} {ta}'])}"
        if kind == "inplace":
            s = self.pick(["1.5", "2", "True", tb, "1j", "torch.tensor(2.5)",
                           "torch.tensor(300)"])
            op = self.pick(["+=", "*=", "/=", "-=", "//="])
            return f"{y} = {ta}; {y} {op} {s}"
        if kind == "result_type":
            s = self.pick(["2.5", "2", "True", tb, "1j", "torch.tensor(2.5)"])
            return f"{y} = torch.result_type({ta}, {s})"
        if kind == "promote_types":
            return f"{y} = torch.promote_types(torch.{a}, torch.{b})"
        if kind == "can_cast":
            return f"{y} = torch.can_cast(torch.{a}, torch.{b})"
        if kind == "zero_dim":
            z = self.pick(["torch.tensor(2.5, dtype=torch.float64)", "torch.tensor(3)",
                           "torch.tensor(True)", "torch.tensor(1, dtype=torch.uint8)",
                           "torch.tensor(1.5, dtype=torch.float16)"])
            return f"{y} = {ta} {self.pick(['+', '*', '-'])} {z}"
        mode = self.pick(["None", "'trunc'", "'floor'"])
        return f"{y} = torch.div({ta}, {tb}, rounding_mode={mode})"


# --------------------------------------------------------------------------------------------
# A snapshot that sees strings, dtypes and sizes; the state each program resets
# --------------------------------------------------------------------------------------------

_DTYPES = sys.modules["deltagrad._engine.dtypes"]
_SNAPSHOT = base.snapshot
_COMPARE = base.compare


def _snapshot(value, layout=True):
    if base._is_tensor(value) and str(value.dtype).endswith("complex32"):  # (NumPy has none)
        return ("str", f"complex32 {tuple(value.shape)} {value.detach().cfloat().tolist()} "
                       f"{value.requires_grad}")
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, (torch.dtype, dg.dtype)):
        return ("str", "dtype " + str(value).rsplit(".", 1)[-1])
    if isinstance(value, (torch.Size, dg.Size)):
        return ("str", "Size" + repr(tuple(value)))
    if isinstance(value, (torch.distributions.Distribution, dg.distributions.Distribution)):
        # what a user sees of it without drawing: its shapes (values are read by lines)
        return ("str", f"distribution {type(value).__name__} {tuple(value.batch_shape)} "
                       f"{tuple(value.event_shape)}")
    if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
        return ("seq", [_snapshot(k, layout) for k in value] +
                [_snapshot(v, layout) for v in value.values()])
    return _SNAPSHOT(value, layout)


def _reset():
    for lib in (torch, dg):
        lib.set_default_dtype(lib.float32)
        lib.set_printoptions(profile="default")


def _compare(lines):
    _reset()  # (drawing a program runs it on PyTorch: a line that raised may leave state)
    try:
        return _COMPARE(lines)
    finally:
        _reset()


_DEPTH = [0]


@contextlib.contextmanager
def wide():
    """Install the wider snapshot and the per-program reset (for run / compare); nested uses
    (a KNOWN predicate running lines inside a run) leave them installed."""
    if _DEPTH[0]:
        _DEPTH[0] += 1
        try:
            yield
        finally:
            _DEPTH[0] -= 1
        return
    base.snapshot, base.compare = _snapshot, _compare
    prefix = _DTYPES.PREFIX[0]
    _DTYPES.PREFIX[0] = "torch"  # (dtypes print as under the alias: 'torch.float32')
    _DEPTH[0] = 1
    try:
        yield
    finally:
        _DEPTH[0] = 0
        base.snapshot, base.compare = _SNAPSHOT, _COMPARE
        _DTYPES.PREFIX[0] = prefix
        _reset()


def compare(lines):
    with wide():
        return base.compare(lines)


# --------------------------------------------------------------------------------------------
# Reviewed differences these families reach (on top of sessions 17 to 20's lists)
# --------------------------------------------------------------------------------------------

def _gamma_grad(lines, failure):
    # The reparameterised Gamma draw's derivative: deltagrad evaluates it near float64
    # precision, PyTorch with approximations (gamma.py's NOTE): the two part by ~1e-4 relative.
    if failure[1] != "silent" or ".grad.values" not in failure[2]:
        return False
    if not any(f"distributions.{d}(" in line for line in lines for d in (
            "Gamma", "Beta", "Dirichlet", "StudentT", "Chi2", "InverseGamma",
            "FisherSnedecor")):
        return False
    ours, theirs = failure[2].split(" != torch's ", 1)
    pairs = list(zip(sl5._numbers(ours.split("values: ", 1)[-1]), sl5._numbers(theirs)))
    return bool(pairs) and all(abs(o - t) <= 2e-3 * max(1.0, abs(t)) for o, t in pairs)


def _dirichlet_grad(lines, failure):
    # Dirichlet / Beta rsample: deltagrad differentiates the normalised Gamma draws, PyTorch
    # the marginal Beta CDFs (gamma.py's NOTE): the same expectation, other per-draw values.
    return (failure[1] == "silent" and ".grad.values" in failure[2]
            and any(f"distributions.{d}(" in line for line in lines for d in ("Dirichlet",
                                                                              "Beta"))
            and any(".rsample(" in line for line in lines))


def _partial_backward(lines, failure):
    # A backward that raises at a freed node (a distribution's parameters normalised at
    # construction, a second log_prob's backward): PyTorch has accumulated the leaves it
    # reached by then, deltagrad none.
    if failure[1] != "silent" or ".grad" not in failure[2]:
        return False
    with wide():
        errors = [err for err, _ in base.run_lines(lines[:failure[0] + 1], torch)]
    return errors[-1] is not None and "graph a second time" in str(errors[-1])


def _complex_into_int(lines, failure):
    # tensor([<float out of range>, 3j], dtype=uint8): PyTorch checks the elements in order
    # (RuntimeError at the float); NumPy's conversion meets the complex first (TypeError).
    return (failure[1] == "raise-mismatch" and "deltagrad TypeError" in failure[2]
            and "without overflow" in failure[2] and "j]" in lines[failure[0]])


def _late_requires_grad(lines, failure):
    # requires_grad_() on a parameter after the distribution was built: PyTorch's holds the
    # views broadcast_all made then (not requiring grad), deltagrad's the tensor itself. Or a
    # parameter written in place (under no_grad) after it was built: PyTorch's validation ran
    # at construction and its lazy properties (VonMises' proposal) keep the old values.
    first = next((i for i, line in enumerate(lines) if "distributions." in line), None)
    if first is None or failure[1] not in ("silent", "permissive"):
        return False
    later = lines[first + 1:failure[0]]
    if any("no_grad()" in line and "_(" in line or "] = " in line for line in later):
        return True
    return (failure[1] == "silent" and ("requires_grad" in failure[2] or ".grad" in
                                        failure[2] or "grad_fn" in failure[2])
            and any("requires_grad_(" in line for line in later))


def _continuous_bernoulli_band(lines, failure):
    # ContinuousBernoulli with p just outside its Taylor band (0.499, 0.501]: the closed forms
    # cancel catastrophically, NumPy's and PyTorch's log / log1p ulps show as 1e-5 absolute.
    if failure[1] != "silent" or " != torch's " not in failure[2] or \
            "ContinuousBernoulli(" not in "".join(lines):
        return False
    if any("0.499" in line or "0.501" in line for line in lines):
        return True  # (at the band's edge: the closed forms' gradients too)
    ours, theirs = failure[2].split(" != torch's ", 1)
    pairs = list(zip(sl5._numbers(ours.split("values: ", 1)[-1]), sl5._numbers(theirs)))
    return bool(pairs) and all(abs(o - t) <= 1e-3 for o, t in pairs)


def _pytorch_distribution_bugs(lines, failure):
    # Kumaraswamy.mode: PyTorch's log-space formula takes log1p(-concentration0), nan for
    # every concentration0 > 1; Multinomial.expand(...).entropy(): PyTorch's expanded copy
    # lacks its _binomial (AttributeError). deltagrad gives the values.
    line = lines[failure[0]]
    if failure[1] == "silent" and ".mode" in line and "Kumaraswamy(" in "".join(lines):
        return True
    return (failure[1] == "permissive" and "_binomial" in failure[2]
            and "Multinomial(" in "".join(lines))


def _fused_alpha(lines, failure):
    # PyTorch's add(x, alpha=a) (an optimizer's weight decay: grad.add(param, alpha=wd)) is
    # one fused multiply-add, deltagrad's two roundings: 1 ulp apart in ~8% of elements; a
    # gradient that cancels to ~0 (grad + wd * p) then steers Adam-type steps differently.
    line = lines[failure[0]]
    if failure[1] != "silent" or "torch.optim." not in line or "weight_decay" not in line:
        return False
    if " != torch's " not in failure[2]:
        return False
    ours, theirs = failure[2].split(" != torch's ", 1)
    pairs = list(zip(sl5._numbers(ours.split("values: ", 1)[-1]), sl5._numbers(theirs)))
    return bool(pairs) and all(abs(o - t) <= 1e-2 * max(1.0, abs(t)) for o, t in pairs)


def _kl_broadcasts(lines, failure):
    # Bernoulli KL of batch shapes that only broadcast: PyTorch's in-place masking raises
    # IndexError; deltagrad broadcasts on purpose (tests/distributions/test_distributions_kl.py
    # test_kl_bernoulli_broadcasts_where_torch_cannot).
    return (failure[1] == "permissive" and "shape of the mask" in failure[2]
            and "kl_divergence(" in lines[failure[0]])


def _self_kl(lines, failure):
    # kl_divergence(d, d): 0 exactly; its gradient is the residue of cancelling terms
    # (float32: a few 1e-6 either way by the libraries' log / log1p roundings).
    line = lines[failure[0]]
    if failure[1] != "silent" or "kl_divergence(" not in line or " != torch's " not in \
            failure[2]:
        return False
    args = line.split("kl_divergence(", 1)[1].split(")", 1)[0].split(", ")
    ours, theirs = failure[2].split(" != torch's ", 1)
    pairs = list(zip(sl5._numbers(ours.split("values: ", 1)[-1]), sl5._numbers(theirs)))
    return (len(args) == 2 and args[0] == args[1] and bool(pairs)
            and all(abs(o - t) <= 1e-4 for o, t in pairs))


def _complex_half(lines, failure):
    # complex32 (ComplexHalf): NumPy has no such type; deltagrad refuses it (or gives
    # complex64 where PyTorch's default float16 makes a complex literal complex32).
    if failure[1] == "we-raise" and "ComplexHalf" in failure[2]:
        return True
    if failure[1] == "we-raise" and "complex32" in failure[2] and "float16" in lines[failure[0]]:
        return True  # (a complex literal under a float16 default: refused since s27 PR15)
    if failure[1] == "permissive" and "invalid default scalar type for complex" in failure[2]:
        return True  # (bfloat16 default: PyTorch has no complex default for it)
    return failure[1] == "silent" and ("torch's str" in failure[2] or "complex32" in
                                       failure[2]) and "float16" in lines[failure[0]]


KNOWN = [
    (_gamma_grad,
     "the reparameterised Gamma draw's derivative (Gamma / Beta / Dirichlet / StudentT / Chi2 "
     "rsample): deltagrad's is the implicit derivative near float64 precision, PyTorch's an "
     "approximation (distributions/gamma.py's NOTE); they part by ~1e-4 relative"),
    (_dirichlet_grad,
     "Dirichlet / Beta rsample gradients: deltagrad differentiates the normalised Gamma draws, "
     "PyTorch the marginal Beta CDFs (_dirichlet_grad); unbiased both, other values per draw "
     "(distributions/gamma.py's NOTE)"),
    (_partial_backward,
     "a backward that raises at a freed node (both raise): PyTorch has accumulated .grad "
     "into the leaves it reached first, deltagrad into none"),
    (_complex_into_int,
     "tensor() of a list holding complex numbers and an out-of-range float into an integer "
     "dtype: PyTorch's RuntimeError at the float (elements in order), deltagrad's TypeError "
     "at the complex number (NumPy's conversion)"),
    (_late_requires_grad,
     "requires_grad_() on a parameter after its distribution was built: PyTorch's "
     "distribution holds broadcast views made before (not requiring grad), deltagrad's the "
     "tensor itself; a parameter written in place after it was built: PyTorch validated it "
     "at construction only and caches lazy properties (VonMises' proposal), deltagrad "
     "reads the new values"),
    (_continuous_bernoulli_band,
     "ContinuousBernoulli with p just outside its Taylor band (lims): the closed forms "
     "cancel catastrophically (entropy ~1e-6 of rounding), NumPy's and PyTorch's log / log1p "
     "ulps part the results by up to 1e-5 absolute"),
    (_pytorch_distribution_bugs,
     "PyTorch bugs: Kumaraswamy.mode is nan wherever concentration0 > 1 (its log-space "
     "formula takes log1p(-concentration0)); an expanded Multinomial's entropy raises "
     "AttributeError (no _binomial); deltagrad gives the mode ((a-1)/(ab-1))^(1/a) and the "
     "entropy"),
    (_fused_alpha,
     "optimizer steps with weight_decay whose gradient cancels to ~0 (grad + wd * p): "
     "PyTorch's add(alpha=) is a fused multiply-add (one rounding), deltagrad's two; the 1-ulp "
     "residue (1e-9 against 0) is normalised by Adam-type steps into a visible difference"),
    (_kl_broadcasts,
     "kl_divergence of Bernoullis whose batch shapes only broadcast (an expanded p against "
     "q): PyTorch's in-place masking raises IndexError, deltagrad broadcasts (a deliberate "
     "choice with its own test in tests/distributions/test_distributions_kl.py)"),
    (_self_kl,
     "kl_divergence(d, d): 0 exactly; its gradient is rounding residue of cancelling terms "
     "(float32: a few 1e-6, by NumPy's and PyTorch's log / log1p ulps)"),
    (_complex_half,
     "complex32 (ComplexHalf), which NumPy lacks: float16 with a complex scalar, or a complex "
     "literal under set_default_dtype(float16), is complex32 in PyTorch; deltagrad refuses "
     "it or gives complex64; under set_default_dtype(bfloat16) PyTorch refuses a complex "
     "literal (no default complex dtype), deltagrad gives complex64 (permissive)"),
]


known = chain_known(sl5.known, KNOWN)


def program(seed: int, index: int) -> list[str]:
    with wide():
        return base.program(seed, index, Gen6)


def run(seed: int, count: int, known=known):
    with wide():
        return base.run(seed, count, known, Gen6)


if __name__ == "__main__":
    base.known = known  # (main reads the module's predicate)
    with wide():
        sys.exit(base.main(gen=Gen6))
