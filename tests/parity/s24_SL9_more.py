"""Session 24's families for the program fuzzer (``s24_SL9_families.py``), part two:

- random ops after ``manual_seed`` and from ``torch.Generator`` objects (the stream is
  PyTorch's: tests/test_random_stream.py): geometric_ / cauchy_ / log_normal_ /
  exponential_ / random_(from, to) / uniform_ / normal_ over float32 / float64 / float16 /
  bfloat16 and integer dtypes, normal with tensor means and stds, randint / randint_like /
  randn_like / rand_like with dtypes, bernoulli_ with a float or a tensor p, multinomial with
  and without replacement (1-d and 2-d), randperm with dtypes, alpha_dropout /
  feature_alpha_dropout / dropout1d / 2d / 3d (training, unbatched), rrelu(training=True) and
  RReLU; generator get_state / set_state, torch.get_rng_state / set_rng_state, fork_rng;
- statistics with gradients: histc (edges, min == max), histogram (bins as a count or a
  tensor, range, weight, density), bincount (minlength, weights of each dtype), quantile /
  nanquantile (q a number or a tensor, every interpolation, dim, keepdim, NaN), cov
  (correction, fweights, aweights) / corrcoef, diff (n, dim, prepend, append; bool and
  integer inputs), gradient (spacing as a number, a list or coordinate tensors; dim;
  edge_order), trapezoid / cumulative_trapezoid (x=, dx=, dim=), renorm, nansum / nanmean,
  count_nonzero, aminmax, std / var / var_mean / std_mean with correction= over dim tuples.

The maker methods use ``Gen8``'s literal helpers (``mat``, ``flt``) and ``Gen9``'s
``gleaf``."""

from __future__ import annotations

import numpy as np

WEIGHTED = ("(lambda t: (t * torch.arange(1, t.numel() + 1, dtype=t.dtype).reshape(t.shape))"
            ".sum())")


def _grad_all(y):
    """A weighted backward through every float tensor of ``y`` that requires grad."""
    return (f"[{WEIGHTED}(t).backward(retain_graph=True) for t in ([{y}] if torch.is_tensor("
            f"{y}) else list({y})) if torch.is_tensor(t) and t.requires_grad]")


class MoreFamilies9:
    """Maker methods of the random and statistics families."""

    # -- random ops -----------------------------------------------------------------------------
    def random9(self):
        seed = int(self.rng.integers(0, 2**31))
        parts = [f"torch.manual_seed({seed})"]
        kw = ""
        if self.coin(0.3):
            g = self.fresh()
            parts.append(f"{g} = torch.Generator().manual_seed({seed + 7})")
            kw = f"generator={g}"
        shape = tuple(int(self.rng.integers(1, 5)) for _ in range(self.pick([1, 2, 2, 3])))
        y = self.fresh()
        fdt = self.pick(["float32", "float64", "float16", "bfloat16", "float32"])
        c = ", " if kw else ""
        kind = self.pick(["geometric_", "cauchy_", "log_normal_", "exponential_", "random_",
                          "uniform_", "normal_", "normal_tt", "normal_t", "randint_like",
                          "randn_like", "rand_like", "bernoulli_", "bernoulli_t", "multinomial",
                          "randperm", "alpha_dropout", "dropout_nd", "rrelu", "RReLU",
                          "randint", "normal_size", "bernoulli_p"])
        if kind in ("geometric_", "cauchy_", "log_normal_", "exponential_", "uniform_",
                    "normal_"):
            args = {"geometric_": self.pick(["0.3", "0.9", "1.0"]),
                    "cauchy_": self.pick(["", "1.0, 0.5", "-2.0, 3.0"]),
                    "log_normal_": self.pick(["", "0.5, 0.25", "-1.0, 2.0"]),
                    "exponential_": self.pick(["", "0.5", "4.0"]),
                    "uniform_": self.pick(["", "-3.0, 1.0", "5, 6"]),
                    "normal_": self.pick(["", "2.0, 0.5", "-1, 3"])}[kind]
            dt = fdt
            if kind == "geometric_" and self.coin(0.4):
                dt = self.pick(["int64", "int32", "int16", "uint8"])
            sep = c if args else ""
            parts.append(f"{y} = torch.empty({shape}, dtype=torch.{dt}).{kind}({args}{sep}{kw})")
        elif kind == "random_":
            dt = self.pick(["int8", "uint8", "int16", "int32", "int64", "float32", "float64",
                            "float16", "bool", "bfloat16"])
            args = self.pick(["", "5", "-3, 4", "0, 256", "-100, 100", "2, 3", "7"])
            sep = c if args else ""
            parts.append(f"{y} = torch.zeros({shape}, dtype=torch.{dt}).random_({args}{sep}{kw})")
        elif kind == "normal_tt":
            mean = self.flt(shape)
            std = np.abs(np.round(self.rng.standard_normal(shape), 3)).tolist()
            parts.append(f"{y} = torch.normal(torch.tensor({mean}, dtype=torch.{fdt}), "
                         f"torch.tensor({std}, dtype=torch.{fdt}){c}{kw})")
        elif kind == "normal_t":
            t = self.flt(shape)
            form = self.pick([f"torch.tensor({t}), 0.5", f"1.0, torch.tensor({t}).abs()",
                              f"torch.tensor({t}, dtype=torch.float64), 2.0"])
            parts.append(f"{y} = torch.normal({form}{c}{kw})")
        elif kind == "normal_size":
            parts.append(f"{y} = torch.normal(2.0, 3.0, size={shape}{c}{kw})")
        elif kind in ("randint_like", "randn_like", "rand_like"):
            src = self.pick(["float64", "float16", "int32", "float32", "int64"])
            if kind == "randint_like":
                args = self.pick(["10", "-5, 5", "3, 300"])
                parts.append(f"{y} = torch.randint_like(torch.zeros({shape}, dtype=torch.{src}),"
                             f" {args})")
            else:
                src = src if src.startswith("float") else "float64"
                dt = self.pick(["", ", dtype=torch.float64", ", dtype=torch.float16"])
                parts.append(f"{y} = torch.{kind}(torch.zeros({shape}, dtype=torch.{src}){dt})")
        elif kind == "randint":
            dt = self.pick(["int8", "uint8", "int16", "int32", "int64", "float32", "float64"])
            lo = int(self.rng.integers(-5, 3))
            hi = lo + int(self.rng.integers(1, 100))
            if dt == "uint8":
                lo = abs(lo)
                hi = lo + 50
            parts.append(f"{y} = torch.randint({lo}, {hi}, {shape}, dtype=torch.{dt}{c}{kw})")
        elif kind == "bernoulli_":
            dt = self.pick(["float32", "float64", "int64", "bool", "float16"])
            parts.append(f"{y} = torch.empty({shape}, dtype=torch.{dt}).bernoulli_("
                         f"{self.pick(['0.3', '0.5', '0.0', '1.0', '0.99'])}{c}{kw})")
        elif kind == "bernoulli_t":
            p = np.round(self.rng.uniform(0, 1, shape), 2).tolist()
            parts.append(f"{y} = torch.zeros({shape}).bernoulli_(torch.tensor({p}){c}{kw})")
        elif kind == "bernoulli_p":
            p = np.round(self.rng.uniform(0, 1, shape), 2).tolist()
            pdt = self.pick(["float32", "float64", "float16"])
            parts.append(f"{y} = torch.bernoulli(torch.tensor({p}, dtype=torch.{pdt}), "
                         f"{self.pick(['0.25', 'p=0.75'])}{c}{kw})" if self.coin(0.3) else
                         f"{y} = torch.bernoulli(torch.tensor({p}, dtype=torch.{pdt}){c}{kw})")
        elif kind == "multinomial":
            rows = self.pick([(), (2,), (3,)])
            k = int(self.rng.integers(2, 9))
            w = np.abs(np.round(self.rng.standard_normal(rows + (k,)), 2))
            if self.coin(0.3):
                w[..., 0] = 0.0
            w = (w + (w.sum(-1, keepdims=True) == 0)).tolist()
            repl = self.coin()
            num = int(self.rng.integers(1, (12 if repl else k) + 1))
            wdt = self.pick(["float32", "float64", "float16"])
            parts.append(f"{y} = torch.multinomial(torch.tensor({w}, dtype=torch.{wdt}), "
                         f"{num}, replacement={repl}{c}{kw})")
        elif kind == "randperm":
            n = int(self.rng.integers(0, 60))
            dt = self.pick(["", ", dtype=torch.int32", ", dtype=torch.float64",
                            ", dtype=torch.int16"])
            parts.append(f"{y} = torch.randperm({n}{c}{kw}{dt})")
        elif kind == "alpha_dropout":
            fn = self.pick(["alpha_dropout", "feature_alpha_dropout"])
            xs = self.pick([(2, 3, 4), (3, 5), (2, 2, 2, 2)])
            x, lx = self.mat(xs, self.pick(["float32", "float64"]), self.coin())
            p = self.pick(["0.5", "0.2", "0.0", "1.0"])
            parts.append(lx)
            parts.append(f"{y} = torch.nn.functional.{fn}({x}, p={p}, "
                         f"training={self.pick(['True', 'True', 'False'])})")
            parts.append(f"{WEIGHTED}({y}).backward() if {y}.requires_grad else None")
        elif kind == "dropout_nd":
            n = self.pick([1, 2, 3])
            nd = n + self.pick([1, 2])
            xs = tuple(int(self.rng.integers(1, 4)) for _ in range(nd))
            x, lx = self.mat(xs, self.pick(["float32", "float64"]), self.coin())
            parts.append(lx)
            form = self.pick([f"torch.nn.functional.dropout{n}d({x}, p=0.5, training=True)",
                              f"torch.nn.Dropout{n}d(0.4)({x})",
                              f"torch.nn.functional.dropout{n}d({x}, 0.3)",
                              f"torch.nn.functional.dropout{n}d({x} * 1, 0.5, True, True)"])
            parts.append(f"{y} = {form}")
            parts.append(f"{WEIGHTED}({y}).backward() if {y}.requires_grad else None")
        else:
            x, lx = self.mat(shape, self.pick(["float32", "float64"]), self.coin())
            parts.append(lx)
            if kind == "rrelu":
                lo, hi = self.pick([("", ""), (", 0.1", ", 0.3"), (", 0.0", ", 1.0")])
                parts.append(f"{y} = torch.nn.functional.rrelu({x}{lo}{hi}, training="
                             f"{self.pick(['True', 'True', 'False'])})")
            else:
                parts.append(f"{y} = torch.nn.RReLU({self.pick(['', '0.2, 0.4'])})({x})")
            parts.append(f"{WEIGHTED}({y}).backward() if {y}.requires_grad else None")
        if self.coin(0.3):
            parts.append(f"{self.fresh()} = torch.rand(3{c}{kw})")
        return "\n".join(parts)

    def random_state(self):
        seed = int(self.rng.integers(0, 2**31))
        a, b, s = self.fresh(), self.fresh(), self.fresh()
        kind = self.pick(["gen", "global", "fork", "fork_gen", "initial", "seed_twice"])
        draw = self.pick(["torch.rand(4{})", "torch.randn(2, 2{})", "torch.randint(0, 9, (5,){})",
                          "torch.randperm(6{})", "torch.empty(3).exponential_({})"])

        def d(kw=""):
            if draw.endswith("exponential_({})"):
                return draw.format(kw.lstrip(", "))
            return draw.format(kw)

        if kind == "gen":
            g = self.fresh()
            return "\n".join([
                f"{g} = torch.Generator().manual_seed({seed})",
                f"{a} = {d(f', generator={g}')}",
                f"{s} = {g}.get_state()",
                f"{b} = {d(f', generator={g}')}",
                f"{g}.set_state({s})",
                f"{self.fresh()} = {d(f', generator={g}')}",
                f"{self.fresh()} = [{g}.initial_seed(), {s}.dtype, {s}.shape]"])
        if kind == "global":
            return "\n".join([
                f"torch.manual_seed({seed})", f"{s} = torch.get_rng_state()", f"{a} = {d()}",
                f"torch.set_rng_state({s})", f"{b} = {d()}",
                f"{self.fresh()} = [{s}.dtype, {s}.shape, torch.initial_seed()]"])
        if kind == "fork":
            return "\n".join([
                f"torch.manual_seed({seed})",
                f"with torch.random.fork_rng(): {a} = {d()}",
                f"{b} = {d()}"])
        if kind == "fork_gen":
            return "\n".join([
                f"torch.manual_seed({seed})",
                f"with torch.random.fork_rng(devices=[]): torch.manual_seed(1); {a} = {d()}",
                f"{b} = {d()}"])
        if kind == "initial":
            return "\n".join([f"torch.manual_seed({seed})", f"{a} = torch.initial_seed()",
                              f"{b} = torch.Generator().initial_seed()"])
        return "\n".join([f"torch.manual_seed({seed}); {a} = {d()}",
                          f"torch.manual_seed({seed}); {b} = {d()}",
                          f"{s} = bool(({a} == {b}).all())"])

    # -- statistics -----------------------------------------------------------------------------
    def stats9(self):
        kind = self.pick(["histc", "histogram", "bincount", "quantile", "quantile",
                          "cov", "corrcoef", "diff", "gradient", "trapezoid",
                          "cumulative_trapezoid", "renorm", "nan_reduce", "count_nonzero",
                          "aminmax", "var_std"])
        y = self.fresh()
        if kind == "bincount":
            n = int(self.rng.integers(0, 8))
            vals = self.rng.integers(0 if self.coin(0.9) else -1, 6, n).tolist()
            dt = self.pick(["int64", "int32", "uint8", "int16", "int8"])
            x = self.fresh()
            parts = [f"{x} = torch.tensor({vals}, dtype=torch.{dt})"]
            kw = []
            if self.coin(0.5):
                wdt = self.pick(["float32", "float64", "float16", "int64", "bool"])
                w = np.round(self.rng.uniform(-1, 2, n), 2).tolist()
                kw.append(f"weights=torch.tensor({w}).to(torch.{wdt})")
            if self.coin(0.4):
                kw.append(f"minlength={self.pick(['0', '3', '10'])}")
            parts.append(f"{y} = torch.bincount({x}{''.join(', ' + k for k in kw)})")
            return "\n".join(parts)
        nd = self.pick([1, 1, 2, 2, 3])
        shape = tuple(int(self.rng.integers(1 if self.coin(0.9) else 0, 5)) for _ in range(nd))
        dtype = self.pick(["float32", "float64", "float64"])
        grad = self.coin(0.7)
        x, lx = self.mat(shape, dtype, grad)
        parts = [lx]
        if self.coin(0.25) and shape and all(shape):  # NaN / ties / infinities
            v = self.pick(["float('nan')", "float('inf')", "-float('inf')", "0.0", "1.0"])
            parts.append(f"with torch.no_grad(): {x}.view(-1)[{self.pick([0, -1])}] = {v}")
        n = max(nd, 1)
        d = int(self.rng.integers(-n, n))
        keep = self.pick(["", ", keepdim=True", ", keepdim=False"])
        if kind == "histc":
            lo, hi = self.pick([(0, 0), (-1, 1), (-2, 0.5), (0.5, 0.5), (1, -1), (-3, 3)])
            line = f"torch.histc({x}.detach(), bins={self.pick([1, 4, 10])}, min={lo}, max={hi})"
        elif kind == "histogram":
            bins = self.pick(["4", "1", "torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=x.dtype)",
                              "torch.tensor([0.0, 1.0], dtype=x.dtype)"]).replace("x.dtype",
                                                                                  f"{x}.dtype")
            kw = self.pick(["", ", range=(-1.0, 1.0)", ", density=True",
                            ", range=(-2.0, 2.0), density=True", ", range=(0.5, 0.5)"])
            if self.coin(0.4):
                kw += f", weight=torch.linspace(0.5, 2, {x}.numel(), " \
                      f"dtype={x}.dtype).reshape({x}.shape)"
            if bins.startswith("torch.tensor"):
                kw = kw.replace(", range=(-1.0, 1.0)", "").replace(", range=(0.5, 0.5)", "")
            line = f"torch.histogram({x}.detach(), {bins}{kw})"
        elif kind == "quantile":
            fn = self.pick(["quantile", "nanquantile"])
            q = self.pick(["0.5", "0.0", "1.0", "0.1", "0.75",
                           f"torch.tensor([0.25, 0.5, 0.9], dtype={x}.dtype)",
                           f"torch.tensor(0.3, dtype={x}.dtype)", "1.5", "-0.1"])
            interp = self.pick(["", ", interpolation='linear'", ", interpolation='lower'",
                                ", interpolation='higher'", ", interpolation='midpoint'",
                                ", interpolation='nearest'"])
            dim = self.pick(["", f", dim={d}", f", dim={d}", ", dim=None"])
            kd = keep if dim.strip(", ") not in ("", "dim=None") else ""
            line = f"torch.{fn}({x}, {q}{dim}{kd}{interp})"
        elif kind in ("cov", "corrcoef"):
            if nd > 2:
                line = f"torch.{kind}({x}.reshape({x}.shape[0], -1))"
            elif kind == "corrcoef":
                line = f"torch.corrcoef({x})"
            else:
                obs = shape[-1] if shape else 1
                kw = []
                if self.coin(0.5):
                    kw.append(f"correction={self.pick(['0', '1', '2'])}")
                if self.coin(0.4):
                    kw.append(f"fweights=torch.tensor({self.rng.integers(0, 4, obs).tolist()})")
                if self.coin(0.4):
                    aw = np.round(self.rng.uniform(0, 2, obs), 2).tolist()
                    kw.append(f"aweights=torch.tensor({aw}, dtype={x}.dtype)")
                line = f"torch.cov({x}{''.join(', ' + k for k in kw)})"
        elif kind == "diff":
            src = x
            if self.coin(0.25):
                src = f"({x} > 0)" if self.coin() else f"{x}.detach().round().long()"
            kw = f", n={self.pick([1, 2, 3, 0])}" if self.coin(0.6) else ""
            kw += f", dim={d}" if self.coin(0.6) else ""
            if self.coin(0.3) and shape:
                ps = list(shape)
                ps[d] = 1
                kw += f", prepend=torch.ones({tuple(ps)}, dtype={src}.dtype)"
            if self.coin(0.3) and shape:
                ps = list(shape)
                ps[d] = 2
                kw += f", append=torch.zeros({tuple(ps)}, dtype={src}.dtype)"
            line = f"torch.diff({src}{kw})"
        elif kind == "gradient":
            coords = sorted(np.round(self.rng.uniform(0, 5, max(shape[0] if shape else 1, 1)),
                                     2).tolist())
            sp = self.pick(["", ", spacing=2.0", ", spacing=[0.5]", "", ", spacing=(2,)",
                            f", spacing=[torch.tensor({coords}, dtype={x}.dtype)]"])
            dm = self.pick(["", f", dim={d}", ", dim=0", f", dim=[{d}]"])
            if "torch.tensor" in sp or "[0.5]" in sp or "(2,)" in sp:
                dm = ", dim=0"
            eo = self.pick(["", ", edge_order=1", ", edge_order=2"])
            line = f"torch.gradient({x}{sp}{dm}{eo})"
        elif kind in ("trapezoid", "cumulative_trapezoid"):
            kw = self.pick(["", ", dx=0.5", f", dim={d}", f", dx=2, dim={d}"])
            if self.coin(0.3) and shape:
                xs = np.round(np.sort(self.rng.uniform(-2, 2, shape[-1])), 2).tolist()
                kw = f", x=torch.tensor({xs}, dtype={x}.dtype)"
            line = f"torch.{kind}({x}{kw})"
        elif kind == "renorm":
            p = self.pick(["2", "1", "float('inf')", "3.5"])
            line = f"torch.renorm({x}, {p}, {d}, {self.pick(['0.5', '1.0', '5.0', '0.0'])})"
            if nd < 2:
                line = f"{x}.renorm({p}, 0, 1.0)"
        elif kind == "nan_reduce":
            fn = self.pick(["nansum", "nanmean"])
            dims = self.pick([f"{d}", f"({d},)", "()", "None",
                              f"({d}, {(d + 1) % n - n})" if n > 1 else f"{d}"])
            dt = self.pick(["", ", dtype=torch.float64"])
            line = f"torch.{fn}({x}, dim={dims}{keep}{dt})"
        elif kind == "count_nonzero":
            dims = self.pick([f"{d}", f"({d},)", "()", "None",
                              f"({d}, {(d + 1) % n - n})" if n > 1 else f"{d}"])
            line = f"torch.count_nonzero({x}, dim={dims})"
        elif kind == "aminmax":
            src = self.pick([x, f"{x}.detach().round().to(torch.int32)", f"({x} > 0)"])
            line = f"torch.aminmax({src}{', dim=' + str(d) if self.coin(0.6) else ''}{keep})"
        else:
            fn = self.pick(["std", "var", "var_mean", "std_mean"])
            dims = self.pick([f"{d}", f"({d},)", "None", "()",
                              f"({d}, {(d + 1) % n - n})" if n > 1 else f"{d}"])
            corr = self.pick(["", ", correction=0", ", correction=2", ", correction=3.5",
                              ", unbiased=False", ", correction=-1"])
            line = f"torch.{fn}({x}, dim={dims}{corr}{keep})"
        parts.append(f"{y} = {line}")
        if grad and self.coin(0.7):
            parts.append(_grad_all(y))
        return "\n".join(parts)
