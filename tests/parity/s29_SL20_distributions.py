"""Session 29's ``torch.distributions`` API family for the program-level differential fuzzer
(``s17_SL_progfuzz.py``): the semantics of distributions as users touch them (earlier sessions
compared densities on fixed cases). Each line is compared as every other line is (raised or
not and the builtin class; every tensor variable with its ``.grad``, so gradients of
``log_prob`` / ``rsample`` reach the parameters' snapshots), and the lines record more in
variables: shapes, flags, constraint names, ``repr`` text and a line's outcome as data
(``_catch``: the builtin exception class and the warnings' classes). What it draws:

- every distribution class with parameters of broadcasting shapes (Python numbers, 0-d and
  n-d tensors, float32 / float64 mixed, some requiring grad), probs / logits forms,
  ``validate_args`` True / False / left out and ``set_default_validate_args``, invalid
  parameters (the error class, and a value or nan without validation);
- ``batch_shape`` / ``event_shape`` / ``support`` / ``arg_constraints`` / ``has_rsample`` /
  ``mean`` / ``mode`` / ``variance`` / ``stddev`` / ``entropy`` / ``cdf`` / ``icdf`` /
  ``perplexity``;
- ``log_prob`` of values in and out of the support (validated or not), seeded ``sample`` /
  ``rsample`` with sample shapes (values compared: deltagrad reproduces PyTorch's stream),
  gradients of ``log_prob`` / ``rsample`` w.r.t. the parameters;
- ``expand``, ``enumerate_support(expand=)``, ``kl_divergence`` pairs (registered or
  NotImplementedError), ``constraints`` checks, ``biject_to`` / ``transform_to`` and
  transforms (Exp, Affine, Sigmoid, Tanh, Compose, StickBreaking, Softmax, Power, Abs, ...)
  with ``inv``, ``log_abs_det_jacobian``, shapes; ``TransformedDistribution`` /
  ``Independent`` / ``MixtureSameFamily``; ``repr``.

Run as a script::

    .venv/bin/python tests/parity/s29_SL20_distributions.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s21_SL6_families as sl6  # noqa: E402
import s27_SL14_operators as sl14  # noqa: E402
import s28_SL16_modules as sl16  # noqa: E402
import s28_SL19_optim as sl19  # noqa: E402
from s17_SL_known import own_first  # noqa: E402

torch = base.torch
dg = base.dg

D = "torch.distributions"
SET_VALIDATE = f"{D}.Distribution.set_default_validate_args"

# Parameter values by kind (valid ones; ``BAD`` adds the invalid ones drawn with ``bad``)
VALS = {
    "real": [-1.5, -0.5, 0.0, 0.25, 1.0, 2.0],
    "nonpos": [-1.5, -0.5, -0.25, 0.0],
    "pos": [0.5, 0.75, 1.0, 1.5, 2.0, 3.0],
    "prob": [0.1, 0.25, 0.5, 0.75, 0.9],
    "logit": [-2.0, -0.5, 0.0, 0.5, 1.5],
    "count": [1.0, 2.0, 3.0, 5.0],
    "temp": [0.5, 1.0, 2.0],
}
BAD = {
    "real": [float("nan"), float("inf")],
    "nonpos": [float("nan"), 5.0],
    "pos": [0.0, -1.0, float("nan")],
    "prob": [1.5, -0.25, float("nan")],
    "logit": [float("nan")],
    "count": [-1.0, 2.5],
    "temp": [0.0, -1.0],
}

# name: [(argument, kind)], "p|l" for a probs-or-logits pair
SCALAR_DISTS = {
    "Normal": [("loc", "real"), ("scale", "pos")],
    "Laplace": [("loc", "real"), ("scale", "pos")],
    "Cauchy": [("loc", "real"), ("scale", "pos")],
    "Gumbel": [("loc", "real"), ("scale", "pos")],
    "LogNormal": [("loc", "real"), ("scale", "pos")],
    "HalfNormal": [("scale", "pos")],
    "HalfCauchy": [("scale", "pos")],
    "Poisson": [("rate", "pos")],
    "Exponential": [("rate", "pos")],
    "Gamma": [("concentration", "pos"), ("rate", "pos")],
    "Beta": [("concentration1", "pos"), ("concentration0", "pos")],
    "StudentT": [("df", "pos"), ("loc", "real"), ("scale", "pos")],
    "Chi2": [("df", "pos")],
    "FisherSnedecor": [("df1", "pos"), ("df2", "pos")],
    "Weibull": [("scale", "pos"), ("concentration", "pos")],
    "Kumaraswamy": [("concentration1", "pos"), ("concentration0", "pos")],
    "VonMises": [("loc", "real"), ("concentration", "pos")],
    "ContinuousBernoulli": [("p|l", "")],
    "Bernoulli": [("p|l", "")],
    "Geometric": [("p|l", "")],
    "Binomial": [("total_count", "count"), ("p|l", "")],
    "NegativeBinomial": [("total_count", "pos"), ("p|l", "")],
    "Uniform": [("low", "nonpos"), ("high", "pos")],
    "RelaxedBernoulli": [("temperature", "temp"), ("p|l", "")],
}
VECTOR_DISTS = {
    "Categorical": [("p|l", "")],
    "OneHotCategorical": [("p|l", "")],
    "Multinomial": [("total_count", "int"), ("p|l", "")],
    "Dirichlet": [("concentration", "pos")],
    "RelaxedOneHotCategorical": [("temperature", "temp"), ("p|l", "")],
}
MATRIX_DISTS = ("MultivariateNormal", "LowRankMultivariateNormal", "Wishart", "LKJCholesky")
SHAPES = [(), (), (3,), (2, 1), (2, 3), (1, 3)]
SAMPLE_SHAPES = ["()", "(2,)", "(2, 1)", "torch.Size([3])", "[2]"]
STATS = ["mean", "mode", "variance", "stddev", "entropy()", "perplexity()"]
COV = ["[[2.0, 0.5], [0.5, 1.0]]", "[[1.0, 0.0], [0.0, 3.0]]", "[[1.5, -0.7], [-0.7, 1.0]]"]
BAD_COV = ["[[1.0, 2.0], [2.0, 1.0]]", "[[1.0, 0.5], [0.0, 1.0]]", "[[-1.0, 0.0], [0.0, 1.0]]"]
TRIL = ["[[1.5, 0.0], [0.5, 1.0]]", "[[1.0, 0.0], [-0.3, 0.7]]"]
BAD_TRIL = ["[[1.0, 0.5], [0.5, 1.0]]", "[[-1.0, 0.0], [0.5, 1.0]]"]
TRANSFORMS = [
    "T.ExpTransform()", "T.SigmoidTransform()", "T.TanhTransform()", "T.AbsTransform()",
    "T.AffineTransform(0.5, 2.0)", "T.AffineTransform(torch.tensor([0.0, 1.0, -1.0]), -0.5)",
    "T.AffineTransform(1.0, torch.tensor([[1.0], [2.0]]), event_dim=0)",
    "T.PowerTransform(2.0)", "T.PowerTransform(torch.tensor(0.5))", "T.SoftplusTransform()",
    "T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)])",
    "T.ExpTransform().inv", "T.SigmoidTransform().inv", "T.AffineTransform(0.0, 3.0).inv",
    "T.ComposeTransform([])", "T.ExpTransform(cache_size=1)",
]
VEC_TRANSFORMS = ["T.StickBreakingTransform()", "T.SoftmaxTransform()",
                  "T.StickBreakingTransform().inv", "T.LowerCholeskyTransform()",
                  "T.CorrCholeskyTransform()",
                  "T.CumulativeDistributionTransform(torch.distributions.Normal(0.0, 1.0))",
                  "T.ReshapeTransform((4,), (2, 2))", "T.IndependentTransform(T.ExpTransform(), 1)"]
CONSTRAINTS = ["real", "positive", "nonnegative", "unit_interval", "simplex", "boolean",
               "nonnegative_integer", "positive_integer", "real_vector", "lower_cholesky",
               "lower_triangular", "positive_definite", "corr_cholesky", "interval(-1.0, 2.0)",
               "half_open_interval(0.0, 1.0)", "greater_than(1.0)", "greater_than_eq(0.5)",
               "less_than(0.5)", "integer_interval(0, 3)", "independent(C.real, 1)",
               "cat([C.real, C.positive], dim=0, lengths=[1, 2])",
               "stack([C.real, C.positive], dim=-1)", "multinomial(3)",
               "one_hot", "square", "symmetric", "positive_semidefinite", "circular"]
BIJECTABLE = ["real", "positive", "nonnegative", "unit_interval", "simplex", "real_vector",
              "lower_cholesky", "positive_definite", "corr_cholesky", "interval(-1.0, 2.0)",
              "half_open_interval(0.0, 1.0)", "greater_than(1.0)", "greater_than_eq(0.5)",
              "less_than(0.5)", "independent(C.real, 1)",
              "cat([C.real, C.positive], dim=0, lengths=[1, 2])",
              "stack([C.real, C.positive], dim=-1)", "boolean"]


def _t(text: str) -> str:
    """``T.`` / ``C.`` in a table's text spelled out."""
    return text.replace("T.", f"{D}.transforms.").replace("C.", f"{D}.constraints.")


def _catch(body, out):
    return sl16._catch(body, out)


def _f(v: float) -> str:
    return f"float('{v}')" if v != v or v in (float("inf"), float("-inf")) else repr(v)


class Gen20(sl19.Gen19):
    """Session 17's grammar (and sessions 18-28's families, at a low weight) plus the
    distributions API families above."""

    def makers(self):
        old = [(maker, weight * 0.01) for maker, weight in super().makers()]
        new = [(self.build20, 8), (self.stats20, 10), (self.logprob20, 10), (self.cdf20, 5),
               (self.sample20, 10), (self.grad20, 8), (self.expand20, 5), (self.enum20, 4),
               (self.kl20, 6), (self.constraint20, 5), (self.biject20, 5),
               (self.transform20, 6), (self.tdist20, 5), (self.mixture20, 4),
               (self.validate20, 5), (self.repr20, 3), (self.misc20, 8)]
        return old + [(self.guarded(maker), weight) for maker, weight in new]

    # -- the namespace ----------------------------------------------------------------------------
    # A maker runs some of its lines on PyTorch to know what they make (``some_dist``); where
    # the maker fails or ``_add`` drops its lines, what they bound is unbound again (a later
    # maker would otherwise use a variable the program never makes).
    _before = None

    def guarded(self, maker):
        def call():
            self._before = set(self.ns)
            try:
                return maker()
            except Exception:  # noqa: BLE001 - drawn again
                self.unbind([])
                return None
        return call

    def unbind(self, kept):
        if self._before is None:
            return
        text = "\n".join(kept)
        for k in set(self.ns) - self._before:
            if not re.search(rf"\b{k}\b", text):
                del self.ns[k]
        self._before = None

    def _add(self, line) -> bool:
        n = len(self.lines)
        try:
            return super()._add(line)
        finally:
            self.unbind(self.lines[n:])

    # -- parameters -----------------------------------------------------------------------------
    def dists(self):
        return [k for k, v in self.ns.items() if k.startswith("a") and k[1:].isdigit()
                and isinstance(v, torch.distributions.Distribution)]

    def num(self, kind, bad=False):
        good = VALS[kind]
        vals = good + (BAD.get(kind, []) if bad and self.coin(0.5) else [])
        return self.pick(vals)

    def lit(self, kind, shape, bad=False):
        """A nested list literal of ``shape``; with ``bad`` one entry may be invalid."""
        n = int(np.prod(shape)) if shape else 1
        vals = [self.num(kind) for _ in range(n)]
        if bad:
            vals[int(self.rng.integers(n))] = self.num(kind, True)
        arr = np.array(vals, dtype=float).reshape(shape)

        def text(a):
            if a.ndim == 0:
                return _f(float(a))
            return "[" + ", ".join(text(x) for x in a) + "]"
        return text(arr)

    def param(self, kind, shape, parts, bad=False, dtype=None):
        """An argument expression: a Python number, a tensor literal, or a variable (now and
        then requiring grad)."""
        text = self.lit(kind, shape, bad)
        dtype = dtype or self.pick(["float64", "float64", "float32"])
        if shape == () and self.coin(0.4) and kind not in ("int",):
            return text
        expr = f"torch.tensor({text}, dtype=torch.{dtype})"
        if self.coin(0.4):
            v = self.fresh()
            grad = ", requires_grad=True" if self.coin(0.7) else ""
            parts.append(f"{v} = torch.tensor({text}, dtype=torch.{dtype}{grad})")
            return v
        return expr

    def probs_or_logits(self, shape, parts, bad, dtype, vector=False):
        if self.coin(0.5):
            kind = "pos" if vector and self.coin(0.5) else "prob"
            return "probs=" + self.param(kind, shape, parts, bad, dtype)
        return "logits=" + self.param("logit", shape, parts, bad, dtype)

    def validate_kw(self):
        r = self.rng.random()
        return [] if r < 0.5 else ["validate_args=True"] if r < 0.8 else ["validate_args=False"]

    # -- construction ---------------------------------------------------------------------------
    def ctor(self, parts, bad=False, name=None, scalar_only=False):
        """``name, expression`` of a new distribution (its parameter lines added to parts)."""
        kinds = ["scalar"] * 6 + ([] if scalar_only else ["vector"] * 2 + ["matrix"])
        group = self.pick(kinds) if name is None else (
            "scalar" if name in SCALAR_DISTS else "vector" if name in VECTOR_DISTS else "matrix")
        dtype = self.pick(["float64", "float64", "float32"])
        if group == "matrix":
            return self.matrix_ctor(parts, bad, name)
        if group == "scalar":
            name = name or self.pick(sorted(SCALAR_DISTS))
            spec = SCALAR_DISTS[name]
        else:
            name = name or self.pick(sorted(VECTOR_DISTS))
            spec = VECTOR_DISTS[name]
        args = []
        for arg, kind in spec:
            shape = self.pick(SHAPES)
            if group == "vector" and arg != "total_count" and kind != "temp":
                shape = tuple(shape) + (3,)
            if kind in ("temp", "int"):
                shape = ()
            mixed = dtype if self.coin(0.8) else self.pick(["float32", "float64"])
            if arg == "p|l":
                args.append(self.probs_or_logits(shape, parts, bad and self.coin(), mixed,
                                                 group == "vector"))
            elif kind == "int":
                args.append(str(self.pick([1, 3, 5] + ([-1, 0] if bad else []))))
            else:
                args.append(self.param(kind, shape, parts, bad and self.coin(), mixed))
        kws = self.validate_kw()
        return name, f"{D}.{name}({', '.join(args + kws)})"

    def matrix_ctor(self, parts, bad, name=None):
        name = name or self.pick(list(MATRIX_DISTS))
        dtype = self.pick(["float64", "float64", "float32"])
        kws = self.validate_kw()
        batch = self.pick(["", "", "[0] * 2", "[1] * 3"])

        def mat(choices, badones):
            text = self.pick(choices + (badones if bad and self.coin(0.6) else []))
            if batch:
                text = f"[{text}] * {batch.split('*')[1].strip()}"
            return f"torch.tensor({text}, dtype=torch.{dtype})"
        if name == "MultivariateNormal":
            loc = self.param("real", self.pick([(2,), (3, 2), (1, 2)]), parts, False, dtype)
            form = self.pick(["covariance_matrix", "precision_matrix", "scale_tril"])
            m = mat(TRIL, BAD_TRIL) if form == "scale_tril" else mat(COV, BAD_COV)
            return name, f"{D}.{name}({loc}, {form}={m}{''.join(', ' + k for k in kws)})"
        if name == "LowRankMultivariateNormal":
            loc = self.param("real", self.pick([(2,), (3, 2)]), parts, False, dtype)
            fac = self.param("real", self.pick([(2, 1), (2, 2)]), parts, False, dtype)
            diag = self.param("pos", (2,), parts, bad and self.coin(), dtype)
            return name, f"{D}.{name}({loc}, {fac}, {diag}{''.join(', ' + k for k in kws)})"
        if name == "Wishart":
            df = self.pick(["3.0", "2.5", "torch.tensor([3.0, 4.0])"] + (["0.5"] if bad else []))
            form = self.pick(["covariance_matrix", "precision_matrix", "scale_tril"])
            m = mat(TRIL, BAD_TRIL) if form == "scale_tril" else mat(COV, BAD_COV)
            return name, f"{D}.{name}({df}, {form}={m}{''.join(', ' + k for k in kws)})"
        dim = self.pick([2, 3] + ([1] if bad else []))
        conc = self.pick(["0.5", "1.0", "torch.tensor([1.0, 2.0])"] + (["-1.0"] if bad else []))
        return name, f"{D}.{name}({dim}, {conc}{''.join(', ' + k for k in kws)})"

    def some_dist(self, parts, scalar_only=False, pred=None):
        names = [d for d in self.dists() if pred is None or pred(self.ns[d])]
        if names and self.coin(0.75):
            return self.pick(names)
        for _ in range(6):
            sub = []
            _, expr = self.ctor(sub, scalar_only=scalar_only)
            d = self.fresh()
            line = f"{d} = {expr}"
            try:
                for p in sub + [line]:
                    exec(p, self.ns)
            except Exception:  # noqa: BLE001 - drawn again
                continue
            if pred is not None and not pred(self.ns[d]):
                continue
            parts.extend(sub + [line])
            return d
        raise ValueError("no distribution")

    def shapes_line(self, d):
        return (f"{self.fresh()} = [tuple({d}.batch_shape), tuple({d}.event_shape), "
                f"{d}.has_rsample, {d}.has_enumerate_support, type({d}.support).__name__]")

    # -- makers ---------------------------------------------------------------------------------
    def build20(self):
        parts = []
        bad = self.coin(0.4)
        _, expr = self.ctor(parts, bad)
        d = self.fresh()
        if bad and self.coin(0.6):
            parts.append(_catch(f"{d} = {expr}", self.fresh()))
            return parts
        parts.append(f"{d} = {expr}")
        parts.append(self.shapes_line(d))
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = sorted({d}.arg_constraints)")
        return parts

    def stats20(self):
        parts = []
        d = self.some_dist(parts)
        for stat in sorted({self.pick(STATS) for _ in range(int(self.rng.integers(1, 4)))}):
            parts.append(f"{self.fresh()} = {d}.{stat}")
        dist = self.ns[d]
        if self.coin(0.3):
            for name in ("probs", "logits", "param_shape"):
                if name in type(dist).__dict__ or name in dist.__dict__:
                    parts.append(f"{self.fresh()} = {d}.{name}")
        return parts

    def value_for(self, d, parts, outside=False):
        """A value expression for ``d.log_prob``: a seeded sample (in the support), or an
        out-of-support / odd-shaped one."""
        dist = self.ns[d]
        if not outside:
            s = self.pick(["()", "(2,)"])
            v = self.fresh()
            parts.append(f"torch.manual_seed({int(self.rng.integers(0, 9))}); "
                         f"{v} = {d}.sample({s})")
            return v
        shape = tuple(dist.batch_shape) + tuple(dist.event_shape)
        if self.coin(0.3):
            shape = shape[1:] if shape and self.coin() else (2,) + shape
        v = self.pick([-1.0, 0.5, 1.5, 2.0, 0.0, 3.0, float("nan"), -0.25])
        dt = self.pick(["float64", "float32", "int64"])
        if dt == "int64":
            v = int(v) if v == v else 1
        return f"torch.full({shape!r}, {_f(v)}, dtype=torch.{dt})"

    def logprob20(self):
        parts = []
        d = self.some_dist(parts)
        v = self.value_for(d, parts, outside=self.coin(0.4))
        body = f"{self.fresh()} = {d}.log_prob({v})"
        if self.coin(0.5):
            parts.append(_catch(body, self.fresh()))
        else:
            parts.append(body)
        return parts

    def cdf20(self):
        parts = []
        d = self.some_dist(parts)
        if self.coin(0.5):
            v = self.value_for(d, parts, outside=self.coin(0.3))
            parts.append(f"{self.fresh()} = {d}.cdf({v})")
        else:
            q = self.pick(["0.25", "torch.tensor(0.5, dtype=torch.float64)",
                           "torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)", "1.5",
                           "torch.tensor([0.0, 1.0])"])
            parts.append(f"{self.fresh()} = {d}.icdf({q})")
        return parts

    def sample20(self):
        parts = []
        d = self.some_dist(parts)
        s = self.pick(SAMPLE_SHAPES)
        how = self.pick(["sample", "sample", "rsample", "sample_n"])
        arg = "2" if how == "sample_n" else s
        x = self.fresh()
        parts.append(f"torch.manual_seed({int(self.rng.integers(0, 20))}); {x} = {d}.{how}({arg})")
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = [tuple({x}.shape), {x}.dtype, {x}.requires_grad]")
        return parts

    def grad20(self):
        parts = []
        d = self.some_dist(parts)
        seed = int(self.rng.integers(0, 20))
        if self.ns[d].has_rsample and self.coin(0.5):
            x = self.fresh()
            shape = self.pick(["()", "(2,)"])
            parts.append(f"torch.manual_seed({seed}); {x} = {d}.rsample({shape})")
            parts.append(f"({x} * torch.linspace(0.5, 1.5, {x}.numel(), dtype={x}.dtype)"
                         f".reshape({x}.shape)).sum().backward()")
            return parts
        v = self.value_for(d, parts)
        parts.append(f"{d}.log_prob({v}).sum().backward()")
        return parts

    def expand20(self):
        parts = []
        d = self.some_dist(parts)
        bs = tuple(self.ns[d].batch_shape)
        shape = self.pick([(2,) + bs, (3,) + bs, bs, (2, 1) + bs, (4,)])
        e = self.fresh()
        parts.append(f"{e} = {d}.expand({shape!r})")
        parts.append(self.shapes_line(e))
        what = self.pick(["sample", "log_prob", "mean", "entropy"])
        if what == "sample":
            parts.append(f"torch.manual_seed(5); {self.fresh()} = {e}.sample()")
        elif what == "log_prob":
            v = self.value_for(e, parts)
            parts.append(f"{self.fresh()} = {e}.log_prob({v})")
        else:
            parts.append(f"{self.fresh()} = {e}.{what}" + ("()" if what == "entropy" else ""))
        return parts

    def enum20(self):
        parts = []
        d = self.some_dist(parts, pred=lambda x: x.has_enumerate_support or self.coin(0.1))
        ex = self.pick(["", "expand=True", "expand=False", "False"])
        x = self.fresh()
        parts.append(f"{x} = {d}.enumerate_support({ex})")
        if self.coin(0.5):
            parts.append(f"{self.fresh()} = {d}.log_prob({x})")
        return parts

    def kl20(self):
        parts = []
        p = self.some_dist(parts)
        if self.coin(0.5):
            name = type(self.ns[p]).__name__
            q = self.some_dist(parts, pred=lambda x: type(x).__name__ == name or self.coin(0.2))
        else:
            q = self.some_dist(parts)
        parts.append(f"{self.fresh()} = {D}.kl_divergence({p}, {q})")
        return parts

    def constraint20(self):
        parts = []
        c = self.pick(CONSTRAINTS)
        v = self.fresh()
        parts.append(f"{v} = {_t('C.' + c)}")
        x = self.pick(["torch.tensor([0.5, -1.0, 2.0])", "torch.tensor([[1.0, 0.0], [0.5, 2.0]])",
                       "torch.tensor([[1.0, 0.5], [0.5, 1.0]], dtype=torch.float64)",
                       "torch.tensor([0.2, 0.3, 0.5])", "torch.tensor(3)",
                       "torch.tensor([0, 1, 3])", "torch.tensor([True, False])",
                       "torch.tensor([[1.0, 0.0], [0.6, 0.8]])", "torch.tensor(float('nan'))",
                       "torch.tensor([[0.0, 1.0, 0.0]])", "torch.tensor([1.0, 2.0, 0.0])"])
        parts.append(f"{self.fresh()} = {v}.check({x})")
        parts.append(f"{self.fresh()} = [{v}.is_discrete, {v}.event_dim, type({v}).__name__]")
        return parts

    def biject20(self):
        parts = []
        c = self.pick(BIJECTABLE)
        how = self.pick(["biject_to", "transform_to"])
        t = self.fresh()
        parts.append(f"{t} = {D}.{how}({_t('C.' + c)})")
        shape = self.pick([(3,), (2, 3), (2, 2), (3, 3), ()])
        x = self.fresh()
        parts.append(f"{x} = torch.tensor({self.lit('real', shape)}, dtype=torch.float64, "
                     f"requires_grad=True)")
        y = self.fresh()
        parts.append(f"{y} = {t}({x})")
        if self.coin(0.5):
            parts.append(f"{self.fresh()} = {t}.inv({y})")
        if self.coin(0.5):
            ld = self.fresh()
            parts.append(f"{ld} = {t}.log_abs_det_jacobian({x}, {y})")
            if self.coin(0.5):
                parts.append(f"{ld}.sum().backward()")
        if self.coin(0.4):
            parts.append(f"{self.fresh()} = [{t}.bijective, {t}.sign if {t}.bijective and "
                         f"{t}.domain.event_dim == 0 else None, {t}.domain.event_dim, "
                         f"{t}.codomain.event_dim, type({t}).__name__]")
        return parts

    def transform20(self):
        parts = []
        vec = self.coin(0.35)
        t = self.fresh()
        expr = self.pick(VEC_TRANSFORMS if vec else TRANSFORMS)
        parts.append(f"{t} = {_t(expr)}")
        shape = self.pick([(3,), (2, 3), (4,), ()]) if not vec else self.pick([(3,), (2, 3), (4,)])
        x = self.fresh()
        lo = "prob" if self.coin(0.3) else "real"
        parts.append(f"{x} = torch.tensor({self.lit(lo, shape)}, dtype=torch.float64, "
                     f"requires_grad=True)")
        y = self.fresh()
        parts.append(f"{y} = {t}({x})")
        r = self.rng.random()
        if r < 0.3:
            parts.append(f"{self.fresh()} = {t}.inv({y})")
        elif r < 0.6:
            ld = self.fresh()
            parts.append(f"{ld} = {t}.log_abs_det_jacobian({x}, {y})")
            parts.append(f"{ld}.sum().backward()")
        elif r < 0.8:
            parts.append(f"{self.fresh()} = [{t}.forward_shape({shape!r}), "
                         f"{t}.inverse_shape({shape!r})]")
        else:
            parts.append(f"{self.fresh()} = [{t}.bijective, {t}.domain.event_dim, "
                         f"{t}.codomain.event_dim, {t} == {t}, {t}.inv.inv is {t}]")
        return parts

    def tdist20(self):
        parts = []
        kind = self.pick(["transformed", "transformed", "independent", "lognormal_like"])
        if kind == "independent":
            d = self.some_dist(parts, pred=lambda x: len(x.batch_shape) >= 1)
            n = self.pick([1, len(self.ns[d].batch_shape), 3, 0])
            i = self.fresh()
            parts.append(f"{i} = {D}.Independent({d}, {n})")
            parts.append(self.shapes_line(i))
            return parts
        base_d = self.some_dist(parts, scalar_only=True,
                                pred=lambda x: not x.support.is_discrete)
        chain = [self.pick(TRANSFORMS) for _ in range(int(self.rng.integers(1, 3)))]
        if kind == "lognormal_like":
            chain = ["T.ExpTransform()"]
        ts = ", ".join(_t(c) for c in chain)
        td = self.fresh()
        parts.append(f"{td} = {D}.TransformedDistribution({base_d}, [{ts}]"
                     f"{self.pick(['', ', validate_args=True', ', validate_args=False'])})")
        parts.append(self.shapes_line(td))
        what = self.pick(["sample", "rsample", "log_prob", "mean", "cdf", "icdf"])
        x = self.fresh()
        if what in ("sample", "rsample"):
            parts.append(f"torch.manual_seed(2); {x} = {td}.{what}((2,))")
        elif what == "log_prob":
            v = self.value_for(td, parts, outside=self.coin(0.3))
            parts.append(f"{x} = {td}.log_prob({v})")
        elif what == "cdf":
            parts.append(f"{x} = {td}.cdf(torch.tensor(0.5, dtype=torch.float64))")
        elif what == "icdf":
            parts.append(f"{x} = {td}.icdf(torch.tensor(0.3, dtype=torch.float64))")
        else:
            parts.append(f"{x} = {td}.mean")
        return parts

    def mixture20(self):
        parts = []
        k = self.pick([2, 3])
        batch = self.pick([(), (2,)])
        mix = self.param("pos", batch + (k,), parts, False, "float64")
        comp = self.pick(["Normal", "Laplace", "Gamma", "Bernoulli", "Poisson", "MVN",
                          "Categorical"])
        loc = self.param("real", batch + (k,), parts, False, "float64")
        scale = self.param("pos", batch + (k,), parts, False, "float64")
        prob = self.param("prob", batch + (k,), parts, False, "float64")
        comps = {"Normal": f"{D}.Normal({loc}, {scale})",
                 "Laplace": f"{D}.Laplace({loc}, {scale})",
                 "Gamma": f"{D}.Gamma({scale}, 1.0)",
                 "Bernoulli": f"{D}.Bernoulli(probs={prob})",
                 "Poisson": f"{D}.Poisson({scale})",
                 "MVN": f"{D}.MultivariateNormal(torch.zeros({batch + (k, 2)!r}, "
                        f"dtype=torch.float64), torch.eye(2, dtype=torch.float64))",
                 "Categorical": f"{D}.Categorical(probs=torch.ones({batch + (k, 3)!r}))"}
        m = self.fresh()
        mixer = self.pick([f"{D}.Categorical(probs={mix})", f"{D}.Categorical(logits={loc})",
                           f"{D}.Normal(0.0, 1.0)"])
        parts.append(f"{m} = {D}.MixtureSameFamily({mixer}, {comps[comp]}"
                     f"{self.pick(['', ', validate_args=True', ', validate_args=False'])})")
        parts.append(self.shapes_line(m))
        what = self.pick(["sample", "log_prob", "mean", "variance", "cdf"])
        x = self.fresh()
        if what == "sample":
            parts.append(f"torch.manual_seed(4); {x} = {m}.sample((2,))")
        elif what == "log_prob":
            v = self.value_for(m, parts, outside=self.coin(0.2))
            parts.append(f"{x} = {m}.log_prob({v})")
            if self.coin(0.5):
                parts.append(f"{x}.sum().backward()")
        elif what == "cdf":
            parts.append(f"{x} = {m}.cdf(torch.tensor(0.5, dtype=torch.float64))")
        else:
            parts.append(f"{x} = {m}.{what}")
        return parts

    def validate20(self):
        parts = []
        flag = self.pick(["False", "True", "False", "True", "0", "None"])
        _, expr = self.ctor(parts, bad=self.coin(0.6))
        d = self.fresh()
        outside = self.pick(["-1.0", "0.5", "2.0", "float('nan')", "1.0"])
        out, v = self.fresh(), self.fresh()
        body = (f"{SET_VALIDATE}({flag})\n"
                f"        try:\n"
                f"            {d} = {expr}\n"
                f"            {v} = [{d}._validate_args, {d}.log_prob(torch.tensor("
                f"{outside}))]\n"
                f"        finally:\n"
                f"            {SET_VALIDATE}(True)")
        parts.append(_catch(body, out))
        return parts

    def misc20(self):
        """Odd calls: bad expand shapes, Independent past the batch, a Python-number value,
        vector transforms over Independent bases, Binomial with tensor counts, supports."""
        parts = []
        what = self.pick(["expand", "independent", "number", "vector_td", "binomial",
                          "support", "entropy_td", "mixture_bad", "icdf_grid", "kl_wrapped"])
        out = self.fresh()
        if what == "expand":
            d = self.some_dist(parts)
            shape = self.pick(["(5,)", "(2, 7)", "(0,)", "()", "(-1,)", "[3, 2, 3]"])
            parts.append(_catch(f"{out}_d = {d}.expand({shape}); {self.fresh()} = "
                                f"tuple({out}_d.batch_shape)", out))
        elif what == "independent":
            d = self.some_dist(parts)
            n = self.pick([-1, 0, 1, 2, 4])
            parts.append(_catch(f"{self.fresh()} = {D}.Independent({d}, {n}).event_shape", out))
        elif what == "number":
            d = self.some_dist(parts)
            v = self.pick(["0.5", "1", "True", "[0.5]"])
            parts.append(_catch(f"{self.fresh()} = {d}.log_prob({v})", out))
        elif what == "vector_td":
            k = self.pick([2, 3])
            base_d = f"{D}.Independent({D}.Normal(torch.zeros({k}, dtype=torch.float64), 1.0), 1)"
            t = self.pick(["T.StickBreakingTransform()", "T.SoftmaxTransform()",
                           "T.ExpTransform()", "T.IndependentTransform(T.ExpTransform(), 1)"])
            parts.append(f"{out} = {D}.TransformedDistribution({base_d}, [{_t(t)}])")
            parts.append(self.shapes_line(out))
            parts.append(f"torch.manual_seed(3); {self.fresh()} = {out}.rsample((2,))")
            v = self.fresh()
            parts.append(f"torch.manual_seed(4); {v} = {out}.sample()")
            parts.append(_catch(f"{self.fresh()} = {out}.log_prob({v})", self.fresh()))
        elif what == "binomial":
            n = self.pick(["torch.tensor([3.0, 5.0])", "torch.tensor([2, 4])", "4.0",
                           "torch.tensor([[1.0], [3.0]])", "torch.tensor([0.0, 2.0])"])
            b = self.fresh()
            parts.append(_catch(f"{b} = {D}.Binomial({n}, probs=torch.tensor([0.25, 0.5], "
                                f"dtype=torch.float64))", out))
            parts.append(f"{self.fresh()} = [tuple({b}.batch_shape), repr({b}.support), "
                         f"{b}.mean, {b}.variance, {b}.mode]")
            if self.coin():
                parts.append(f"{self.fresh()} = {b}.enumerate_support(False)")
            else:
                parts.append(f"torch.manual_seed(1); {self.fresh()} = {b}.sample((2,))")
        elif what == "support":
            d = self.some_dist(parts)
            parts.append(f"{out} = [repr({d}.support), {d}.support.is_discrete, "
                         f"{d}.support.event_dim]")
        elif what == "entropy_td":
            d = self.some_dist(parts, pred=lambda x: type(x).__name__ in (
                "TransformedDistribution", "LogNormal", "Gumbel", "Weibull", "Kumaraswamy",
                "RelaxedBernoulli", "HalfNormal", "Pareto"))
            parts.append(_catch(f"{self.fresh()} = [{d}.entropy(), {d}.mean, {d}.variance]",
                                out))
        elif what == "mixture_bad":
            mix = self.pick(["probs=torch.ones(3)", "probs=torch.ones(2, 3)",
                             "probs=torch.ones(4)"])
            comp = self.pick([f"{D}.Normal(torch.zeros(3), 1.0)",
                              f"{D}.Normal(torch.zeros(2, 3), 1.0)",
                              f"{D}.Normal(torch.zeros(3, 2), 1.0)",
                              f"{D}.Independent({D}.Normal(torch.zeros(3, 2), 1.0), 1)"])
            m = self.fresh()
            parts.append(_catch(f"{m} = {D}.MixtureSameFamily({D}.Categorical({mix}), {comp})",
                                out))
            parts.append(_catch(f"{self.fresh()} = [tuple({m}.batch_shape), "
                                f"tuple({m}.event_shape), {m}.mean]", self.fresh()))
        elif what == "icdf_grid":
            d = self.some_dist(parts, scalar_only=True)
            q = "torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0], dtype=torch.float64)"
            if tuple(self.ns[d].batch_shape):
                q += ".reshape(" + repr((5,) + (1,) * len(self.ns[d].batch_shape)) + ")"
            parts.append(_catch(f"{self.fresh()} = {d}.icdf({q})", out))
            parts.append(_catch(f"{self.fresh()} = {d}.cdf({d}.mean)", self.fresh()))
        else:
            inner = self.pick([f"{D}.Normal(torch.zeros(2, 3), 1.0)",
                               f"{D}.Gamma(torch.ones(2, 3), 2.0)"])
            a2 = self.pick([f"{D}.Normal(torch.ones(2, 3), 2.0)",
                            f"{D}.Gamma(torch.full((2, 3), 2.0), 1.0)"])
            wrap = self.pick(["independent", "transformed"])
            if wrap == "independent":
                p, q = f"{D}.Independent({inner}, 1)", f"{D}.Independent({a2}, 1)"
            else:
                tr = _t("[T.ExpTransform()]")
                p = f"{D}.TransformedDistribution({inner}, {tr})"
                q = f"{D}.TransformedDistribution({a2}, {tr})"
            parts.append(_catch(f"{self.fresh()} = {D}.kl_divergence({p}, {q})", out))
        return parts

    def repr20(self):
        parts = []
        d = self.some_dist(parts)
        parts.append(f"{self.fresh()} = repr({d})")
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = [repr({d}.support), repr(type({d}).arg_constraints)"
                         f" if isinstance(type({d}).arg_constraints, dict) else None]")
        return parts


# --------------------------------------------------------------------------------------------
# Reviewed differences this family reaches (on top of sessions 17 to 28's lists)
# --------------------------------------------------------------------------------------------

def _line(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _numbers(text):
    """The numbers of a snapshot's value text (nested lists, nan / inf) as a flat array."""
    return np.array([float(t) for t in re.findall(r"-?(?:inf|nan|[0-9.]+(?:e[-+]?[0-9]+)?)",
                                                  text)], dtype=float)


def _close(failure, rtol):
    ours, _, theirs = failure[2].partition(" != torch's ")
    a, b = _numbers(ours.partition(": ")[2]), _numbers(theirs)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=1e-8, equal_nan=True))


def _lkj_sample(lines, failure):
    # LKJCholesky.sample: PyTorch's onion sampler draws row i's radius from Beta(i - 1/2, ...)
    # where the method (and deltagrad) uses Beta(i / 2, ...): the draws differ after a seed
    # (tests/programs/test_s28_PR18_programs.py's reviewed "LKJCholesky onion concentrations").
    return (failure[1] == "silent" and ".values" in failure[2]
            and any("LKJCholesky(" in line for line in lines[:failure[0] + 1])
            and re.search(r"\.(r?sample|sample_n)\(", _line(lines, failure)) is not None)


_GAMMA_FAMILY = ("Gamma(", "Chi2(", "Beta(", "Dirichlet(", "StudentT(", "FisherSnedecor(",
                 "Wishart(")


def _gamma_rsample_grad(lines, failure):
    # The gradient of a Gamma / Beta / Dirichlet draw (and of what is built on them: Chi2,
    # StudentT, FisherSnedecor, Wishart) w.r.t. its concentrations: deltagrad's is the exact
    # implicit derivative (series / continued fraction, _gamma_numerics.py); PyTorch's
    # _standard_gamma_grad / _dirichlet_grad are approximations good to ~1e-3 relative
    # (tests/distributions/test_distributions_sampling.py compares the two at 2e-3).
    text = "\n".join(lines[:failure[0] + 1])
    return (failure[1] == "silent" and ".grad.values" in failure[2]
            and "rsample(" in text and any(name in text for name in _GAMMA_FAMILY)
            and _close(failure, 1e-2))


def _exp_transform_roundoff(lines, failure):
    # A float32 ExpTransform: NumPy's float32 exp and PyTorch's vectorised one part by one unit
    # in the last place now and then (exp(0.0011904252): 1.0011910 here, 1.0011911 there), and
    # log_prob's log(y) of a y near 1 turns that unit into a relative 1e-4 of the log
    # (FisherSnedecor(0.75, 0.75) under ExpTransform, seeded sample then log_prob).
    text = "\n".join(lines[:failure[0] + 1])
    return (failure[1] == "silent" and ".values" in failure[2] and "ExpTransform" in text
            and "TransformedDistribution(" in text and _close(failure, 2e-3))


KNOWN = [
    (sl6._kl_broadcasts, "Bernoulli KL of broadcasting batch shapes: PyTorch's masks raise "
                         "IndexError, deltagrad broadcasts (session 21's reviewed choice)"),
    (sl6._dirichlet_grad, "Dirichlet / Beta rsample gradients: the normalised Gamma draws' "
                          "here, PyTorch's marginal Beta CDFs (session 21's reviewed entry)"),
    (_exp_transform_roundoff, "float32 exp last-bit differences magnified by log near 1"),
    (_lkj_sample, "LKJCholesky onion concentrations (PyTorch's Beta(i - 1/2, ...))"),
    (_gamma_rsample_grad, "Gamma-family rsample gradients: exact here, approximated in "
                          "PyTorch (~1e-3 relative)"),
]

_OURS = ("torch.distributions",)


FAMILY = base.Family(Gen20, own_first(KNOWN, sl19.known, _OURS), sl14.wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
