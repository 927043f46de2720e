"""Session 23's families for the program fuzzer (``s23_SL8_families.py``), part two: torch.fft
with integer / float32 inputs and stft / istft, complex autograd, sparse COO / CSR tensors and
dtype corners over the pointwise / reduction registry. The maker methods use ``Gen8``'s
literal helpers (``mat``, ``flt``, ``real_loss``)."""

from __future__ import annotations

FFTS = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2",
        "hfft2", "ihfft2", "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn")
INTS = ("int8", "uint8", "int16", "int32", "int64", "bool")
# Integer extremes: the least value of each width (abs / neg wrap), the largest, zero.
INT_EDGES = (-128, 127, 0, -1, 1, 255, -32768, 32767, 2**31 - 1, -2**31, 7, -7, 100, -100)
UNARY = ("abs", "neg", "sign", "square", "bitwise_not", "logical_not", "sqrt", "exp", "sin",
         "log1p", "sigmoid", "floor", "ceil", "round", "trunc", "frac", "reciprocal",
         "positive", "sgn", "signbit", "isnan", "isinf", "isfinite", "exp2", "rsqrt", "erf",
         "nan_to_num", "relu", "deg2rad", "angle", "real", "conj", "clone", "fix",
         "isreal", "expm1", "log2", "i0", "special.expit", "nn.functional.relu6")
BINARY = ("add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "fmod",
          "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
          "bitwise_right_shift", "maximum", "minimum", "fmax", "eq", "lt", "ge", "pow",
          "atan2", "hypot", "logical_xor", "gcd", "lcm", "copysign", "xlogy", "float_power",
          "heaviside", "logaddexp", "nextafter", "rsub")


class MoreFamilies8:
    """Maker methods of the fft / complex / sparse / dtype families."""

    # -- fft ------------------------------------------------------------------------------------
    def fft8(self):
        nd = self.pick([1, 1, 2, 2, 3])
        shape = tuple(int(self.rng.integers(1, 6)) for _ in range(nd))
        dtype = self.pick(["float32", "float64", "complex64", "complex128", "int64", "int32",
                           "bool", "float64"])
        grad = dtype.startswith(("float", "complex")) and self.coin(0.7)
        if dtype in ("int64", "int32", "bool"):
            x = self.fresh()
            vals = self.rng.integers(-3, 4, shape)
            lit = repr((vals > 0).tolist() if dtype == "bool" else vals.tolist())
            parts = [f"{x} = torch.tensor({lit}, dtype=torch.{dtype})"]
        else:
            x, lx = self.mat(shape, dtype, grad)
            parts = [lx]
        fn = self.pick(FFTS)
        kw = []
        norm = self.pick(["", "", ", norm='ortho'", ", norm='forward'", ", norm='backward'"])
        if fn[-1] in "2n":
            if self.coin(0.5):
                k = min(nd, 2) if fn.endswith("2") else int(self.rng.integers(1, nd + 1))
                kw.append(f"s={tuple(int(self.rng.integers(1, 7)) for _ in range(k))}")
                if self.coin(0.5):
                    dims = tuple(int(d) for d in self.rng.permutation(nd)[:k]) \
                        if self.coin(0.4) else tuple(range(-k, 0))
                    kw.append(f"dim={dims}")
            elif fn.endswith("n") and self.coin(0.4):
                kw.append(f"dim={self.pick(['(0,)', '(-1,)', 'None', '(-1, 0)'])}")
        else:
            if self.coin(0.5):
                kw.append(f"n={int(self.rng.integers(1, 9))}")
            if self.coin(0.3):
                kw.append(f"dim={int(self.rng.integers(-nd, nd))}")
        y = self.fresh()
        parts.append(f"{y} = torch.fft.{fn}({', '.join([x] + kw)}{norm})")
        if self.coin(0.25):
            f = self.pick(["fftshift", "ifftshift"])
            parts[-1] += f"; {y} = torch.fft.{f}({y}{self.pick(['', ', dim=-1', ', dim=(0,)'])})"
        if grad and self.coin(0.75):
            parts.append(self.real_loss(y))
        if self.coin(0.15):
            g = self.fresh()
            n = int(self.rng.integers(1, 7))
            d = self.pick(["", ", d=0.5", ", 2.0", ", d=0.1"])
            dt = self.pick(["", ", dtype=torch.float64", ", dtype=torch.float16"])
            parts.append(f"{g} = torch.fft.{self.pick(['fftfreq', 'rfftfreq'])}({n}{d}{dt})")
        return "; ".join(parts)

    def stft8(self):
        length = int(self.rng.integers(8, 24))
        batch = self.pick([(), (2,)])
        dtype = self.pick(["float32", "float64", "float64", "complex128"])
        grad = self.coin(0.6)
        x, lx = self.mat(batch + (length,), dtype, grad)
        n_fft = self.pick([4, 6, 8])
        hop = self.pick(["", f", hop_length={self.pick([1, 2, 3])}"])
        win = self.pick(["", f", win_length={n_fft - 2}", ""])
        window = self.pick(["", f", window=torch.hann_window({n_fft}, dtype={x}.dtype)"
                            if dtype != "complex128" else "",
                            f", window=torch.ones({n_fft}, dtype=torch.float64)"
                            if dtype != "float32" else ""])
        if win and window:
            window = ""
        center = self.pick(["", ", center=False", ", center=True"])
        pad = self.pick(["", ", pad_mode='constant'", ", pad_mode='reflect'",
                         ", pad_mode='replicate'", ", pad_mode='circular'"]) \
            if "False" not in center else ""
        norm = self.pick(["", ", normalized=True"])
        ones = self.pick(["", ", onesided=False", ", onesided=True"]) \
            if dtype != "complex128" else ""
        rc = self.pick([", return_complex=True", ", return_complex=True",
                        ", return_complex=False"])
        y = self.fresh()
        parts = [lx, f"{y} = torch.stft({x}, {n_fft}{hop}{win}{window}{center}{pad}{norm}"
                     f"{ones}{rc})"]
        if "return_complex=True" in rc and self.coin(0.5) and "onesided=False" not in ones \
                and dtype != "complex128":
            z = self.fresh()
            ln = self.pick(["", f", length={length}", f", length={length - 2}"])
            parts.append(f"{z} = torch.istft({y}, {n_fft}{hop}{win}{window}{center}{norm}{ln})")
            y = z
        if grad and self.coin(0.7):
            parts.append(self.real_loss(y))
        return "; ".join(parts)

    # -- complex autograd -----------------------------------------------------------------------
    def complex_ad(self):
        shape = self.pick([(3,), (2, 2), (4,), (1, 3)])
        dtype = self.pick(["complex64", "complex128", "complex128"])
        kind = self.pick(["leaf", "leaf", "complex", "polar", "view_as_complex"])
        parts = []
        if kind == "leaf":
            z, lz = self.mat(shape, dtype, True)
            parts.append(lz)
        else:
            rdt = "float64" if dtype == "complex128" else "float32"
            a, la = self.mat(shape, rdt, True)
            b, lb = self.mat(shape + ((2,) if kind == "view_as_complex" else ()), rdt,
                             self.coin(0.7))
            z = self.fresh()
            expr = {"complex": f"torch.complex({a}, {b})",
                    "polar": f"torch.polar({a}.abs() + 0.1, {b})",
                    "view_as_complex": f"torch.view_as_complex({b}) * {a}"}[kind]
            parts += [la, lb, f"{z} = {expr}"]
        cur = z
        for _ in range(int(self.rng.integers(1, 4))):
            y = self.fresh()
            op = self.pick(["mul", "div", "exp", "log", "sqrt", "pow", "sgn", "reciprocal",
                            "sin", "tanh", "sigmoid", "cumsum", "prod", "matmul", "conj",
                            "scalar", "rscalar", "sum", "mean", "square", "abs2",
                            "log1p", "expm1", "asin", "atan", "cosh", "rsqrt", "addcmul",
                            "where", "flip_mul", "linalg_norm", "dot", "vdot"])
            c = cur
            expr = {
                "mul": f"{c} * {c}.flip(-1)", "div": f"{c} / ({c}.flip(-1) + 2)",
                "exp": f"torch.exp({c} * 0.5)", "log": f"torch.log({c})",
                "sqrt": f"torch.sqrt({c})",
                "pow": f"{c} ** {self.pick(['2', '0.5', '-1', '1.5', '(1+1j)', '3'])}",
                "sgn": f"torch.sgn({c})", "reciprocal": f"{c}.reciprocal()",
                "sin": f"torch.sin({c})", "tanh": f"torch.tanh({c} * 0.5)",
                "sigmoid": f"torch.sigmoid({c})", "cumsum": f"{c}.cumsum(-1)",
                "prod": f"{c}.prod(-1)", "matmul": f"{c} @ {c}.mT.conj()",
                "conj": f"{c}.conj() * (1 - 2j)",
                "scalar": f"{c} * {self.pick(['2', '1.5', '-1j'])}",
                "rscalar": f"{self.pick(['1', '2.5', '1j'])} / ({c} + 3)",
                "sum": f"{c}.sum(-1, keepdim=True)", "mean": f"{c}.mean()",
                "square": f"torch.square({c})", "abs2": f"{c} * {c}.abs()",
                "log1p": f"torch.log1p({c})", "expm1": f"torch.expm1({c})",
                "asin": f"torch.asin({c} * 0.3)", "atan": f"torch.atan({c} * 0.3)",
                "cosh": f"torch.cosh({c})", "rsqrt": f"torch.rsqrt({c})",
                "addcmul": f"torch.addcmul({c}, {c}, {c}.conj(), value=0.5)",
                "where": f"torch.where({c}.real > 0, {c}, {c}.conj())",
                "flip_mul": f"{c}.flip(0) * {c}.real",
                "linalg_norm": f"torch.linalg.vector_norm({c}).to({c}.dtype) * {c}",
                "dot": f"torch.dot({c}.reshape(-1), {c}.reshape(-1).flip(0)).expand(2)",
                "vdot": f"torch.vdot({c}.reshape(-1), {c}.reshape(-1).flip(0)).expand(2)",
            }[op]
            parts.append(f"{y} = {expr}")
            cur = y
        r = self.fresh()
        fin = self.pick(["abs", "angle", "real", "imag", "view_as_real", "abs2", "realmul",
                         "abs_sq", "isreal"])
        expr = {"abs": f"{cur}.abs()", "angle": f"torch.angle({cur})",
                "real": f"{cur}.real * 1", "imag": f"{cur}.imag * 1",
                "view_as_real": f"torch.view_as_real({cur})",
                "abs2": f"({cur} * {cur}.conj()).real",
                "realmul": f"({cur} * torch.tensor([1 + 2j], dtype={cur}.dtype)).real",
                "abs_sq": f"{cur}.abs() ** 2",
                "isreal": f"torch.isreal({cur}).to(torch.float64) + {cur}.real"}[fin]
        parts.append(f"{r} = {expr}")
        parts.append(f"({r} * torch.linspace(1, 2, {r}.numel(), dtype={r}.dtype).reshape("
                     f"{r}.shape)).sum().backward() if {r}.requires_grad else None")
        if self.coin(0.15):
            s = self.fresh()
            parts.append(f"{s} = str({cur}.detach())")
        if self.coin(0.15):
            s = self.fresh()
            other = self.pick(["2.5", "3", "torch.tensor(2)", "torch.tensor([1.5])",
                               "torch.tensor(2.0, dtype=torch.float64)", "True",
                               "torch.tensor([1], dtype=torch.int8)"])
            parts.append(f"{s} = ({cur}.detach() {self.pick(['+', '*', '-', '/'])} {other})"
                         f".dtype")
        return "; ".join(parts)

    # -- sparse ---------------------------------------------------------------------------------
    def sparse8(self):
        rows, cols = int(self.rng.integers(1, 5)), int(self.rng.integers(1, 5))
        dtype = self.pick(["float32", "float64", "float64"])
        grad = self.coin(0.6)
        d = self.fresh()
        vals = self.rng.standard_normal((rows, cols)).round(3)
        vals[self.rng.random((rows, cols)) < 0.5] = 0.0
        rg = ", requires_grad=True" if grad else ""
        parts = [f"{d} = torch.tensor({vals.tolist()}, dtype=torch.{dtype}{rg})"]
        s = self.fresh()
        how = self.pick(["to_sparse", "to_sparse", "coo", "csr", "to_sparse_dim"])
        if how == "coo":
            nnz = int(self.rng.integers(0, 5))
            idx = [self.rng.integers(0, rows, nnz).tolist(),
                   self.rng.integers(0, cols, nnz).tolist()]
            v = self.rng.standard_normal(nnz).round(3).tolist()
            parts = [f"{d} = torch.sparse_coo_tensor({idx}, {v}, ({rows}, {cols}), "
                     f"dtype=torch.{dtype}{rg})"]
            s = d
        elif how == "csr":
            parts.append(f"{s} = {d}.to_sparse_csr()")
        elif how == "to_sparse_dim":
            parts.append(f"{s} = {d}.to_sparse(1)")
        else:
            parts.append(f"{s} = {d}.to_sparse()")
        y = self.fresh()
        k = int(self.rng.integers(1, 4))
        m, lm = self.mat((cols, k), dtype, self.coin(0.5))
        op = self.pick(["to_dense", "coalesce", "indices", "values", "nnz", "sparse_mm",
                        "mm", "matmul", "sum", "sum_dim", "addmm", "softmax", "log_softmax",
                        "mul_dense", "mul_scalar", "transpose", "t", "index_select",
                        "add_sparse", "neg", "is_coalesced", "crow", "sparse_sum_all",
                        "smm", "pow", "abs", "sparse_dim", "sub_dense"])
        c = f"{s}.coalesce()" if "csr" not in parts[-1] else s
        expr = {
            "to_dense": f"{s}.to_dense()", "coalesce": f"{s}.coalesce()",
            "indices": f"{c}.indices()", "values": f"{c}.values()",
            "nnz": f"{c}._nnz()", "sparse_mm": f"torch.sparse.mm({s}, {m})",
            "mm": f"torch.mm({s}, {m})", "matmul": f"{s} @ {m}",
            "sum": f"torch.sparse.sum({s})",
            "sum_dim": f"torch.sparse.sum({s}, dim={self.pick(['0', '1', '-1', '(0, 1)'])})",
            "addmm": f"torch.sparse.addmm(torch.ones({rows}, {k}, dtype=torch.{dtype}), {s}, "
                     f"{m}{self.pick(['', ', beta=0.5, alpha=2.0'])})",
            "softmax": f"torch.sparse.softmax({s}, {self.pick(['0', '1', '-1'])})",
            "log_softmax": f"torch.sparse.log_softmax({s}, {self.pick(['0', '1'])})",
            "mul_dense": f"{s} * torch.arange(1.0, {cols + 1}, dtype=torch.{dtype})",
            "mul_scalar": f"{s} * {self.pick(['2', '0.5', '-1.0'])}",
            "transpose": f"{s}.transpose(0, 1)", "t": f"{s}.t()",
            "index_select": f"{s}.index_select({self.pick(['0', '1'])}, torch.tensor([0, 0]))",
            "add_sparse": f"{s} + {s}", "neg": f"-{s}", "is_coalesced": f"{s}.is_coalesced()",
            "crow": f"{s}.to_sparse_csr().crow_indices()",
            "sparse_sum_all": f"{s}.sum()", "smm": f"torch.smm({s}, {m})",
            "pow": f"{s}.pow(2)", "abs": f"{s}.abs()", "sparse_dim": f"({s}.sparse_dim(), "
            f"{s}.dense_dim(), {s}.layout == torch.sparse_coo)",
            "sub_dense": f"{s}.to_dense() - {s}",
        }[op]
        parts += [lm, f"{y} = {expr}"]
        if self.coin(0.4):
            z = self.fresh()
            parts.append(f"{z} = {y}.to_dense() if isinstance({y}, torch.Tensor) and "
                         f"{y}.layout != torch.strided else {y}")
            y = z
        if self.coin(0.7):
            parts.append(f"({y}.to_dense() if {y}.layout != torch.strided else {y}).sum()"
                         f".backward() if isinstance({y}, torch.Tensor) and {y}.requires_grad "
                         f"else None")
        return "; ".join(parts)

    # -- dtype corners --------------------------------------------------------------------------
    def int_leaf(self, shape, dtype):
        name = self.fresh()
        if dtype == "bool":
            lit = repr(self.rng.integers(0, 2, shape).astype(bool).tolist())
        else:
            import numpy as np
            info = np.iinfo(np.dtype(dtype))
            pool = [v for v in INT_EDGES if info.min <= v <= info.max]
            a = self.rng.choice(pool, size=shape) if shape else self.pick(pool)
            lit = repr(np.asarray(a).tolist())
        return name, f"{name} = torch.tensor({lit}, dtype=torch.{dtype})"

    def dtype_pointwise(self):
        dt = self.pick(INTS)
        shape = self.pick([(), (3,), (2, 3), (4,)])
        x, lx = self.int_leaf(shape, dt)
        parts = [lx]
        y = self.fresh()
        if self.coin(0.45):
            op = self.pick(UNARY)
            fn = f"torch.{op}"
            parts.append(f"{y} = {fn}({x})" if self.coin(0.8) or "." in op
                         else f"{y} = {x}.{op}()")
            if self.coin(0.2) and "." not in op:
                parts[-1] = f"{y} = {x}.clone(); {y}.{op}_()"
        else:
            op = self.pick(BINARY)
            dt2 = self.pick([dt, dt, *INTS, "float32", "float64"])
            form = self.pick(["tensor", "tensor", "scalar", "zerod", "inplace"])
            if form == "scalar":
                o = self.pick(["2", "-3", "0", "1.5", "True", "-1", "8", "300", "-0.0"])
            elif form == "zerod":
                o = f"torch.tensor({self.pick(['2', '-3', '0', '1.5', 'True', '70'])}" \
                    f"{self.pick(['', ', dtype=torch.int8', ', dtype=torch.float64'])})"
            else:
                o, lo = self.int_leaf(shape if self.coin(0.7) else (), dt2) \
                    if not dt2.startswith("float") else self.mat(shape, dt2, False)
                parts.append(lo)
            if form == "inplace":
                parts.append(f"{y} = {x}.clone(); {y}.{op}_({o})" if op != "rsub"
                             else f"{y} = {x}.clone(); {y} += {o}")
            elif op == "rsub" or (form == "scalar" and self.coin(0.3)):
                sym = self.pick(["-", "+", "*", "/", "//", "%", "**", "<<", ">>", "&", "|"])
                parts.append(f"{y} = {o} {sym} {x}")
            else:
                parts.append(f"{y} = torch.{op}({x}, {o})")
        return "; ".join(parts)

    def dtype_reduce(self):
        dt = self.pick(INTS + ("float16",))
        shape = self.pick([(3,), (2, 3), (0,), (2, 0), ()])
        if dt == "float16":
            x, lx = self.mat(shape, dt, False)
        else:
            x, lx = self.int_leaf(shape, dt)
        y = self.fresh()
        op = self.pick(["sum", "prod", "cumsum", "cumprod", "mean", "nansum", "nanmean",
                        "amax", "max", "argmax", "std", "var", "norm", "logsumexp", "all",
                        "any", "count_nonzero", "median", "diff", "trace", "dot", "cummax"])
        nd = len(shape)
        d = f"{int(self.rng.integers(-nd, nd))}" if nd else self.pick(["0", "-1"])
        dty = self.pick(["", "", ", dtype=torch.int8", ", dtype=torch.float64",
                         ", dtype=torch.int64", ", dtype=torch.uint8", ", dtype=torch.bool"])
        if op in ("sum", "prod", "nansum", "mean", "nanmean"):
            dim = self.pick(["", f", {d}", f", dim={d}, keepdim=True"]) \
                if op != "prod" else self.pick(["", f", {d}"])
            expr = f"torch.{op}({x}{dim}{dty})"
        elif op in ("cumsum", "cumprod"):
            expr = f"torch.{op}({x}, {d}{dty})"
        elif op == "trace":
            expr = f"torch.trace({x})"
        elif op == "dot":
            expr = f"torch.dot({x}.reshape(-1), {x}.reshape(-1))"
        elif op in ("diff", "cummax"):
            expr = f"torch.{op}({x}, {'dim=' if op == 'diff' else ''}{d})"
        elif op in ("std", "var", "norm", "logsumexp", "median") and self.coin():
            expr = f"torch.{op}({x}, {d})" if op != "norm" else f"{x}.norm(dim={d})"
        else:
            expr = f"torch.{op}({x})"
        return f"{lx}; {y} = {expr}"

    def dtype_promote(self):
        d1 = self.pick(INTS + ("float16", "float32", "float64", "bfloat16", "complex64"))
        d2 = self.pick(INTS + ("float16", "float32", "float64", "bfloat16", "complex64"))
        s1 = self.pick([(), (3,), (2, 3)])
        s2 = self.pick([(), (3,), ()])
        parts = []

        def leaf(shape, dt):
            if dt in INTS:
                n, ln = self.int_leaf(shape, dt)
            else:
                n, ln = self.mat(shape, dt, False)
            parts.append(ln)
            return n
        a, b = leaf(s1, d1), leaf(s2, d2)
        y = self.fresh()
        op = self.pick(["+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "<", "==",
                        "+=", "*=", "-=", "/=", "//=", "%=", "&=", "<<=", "**="])
        sc = self.pick([b, b, "1.5", "2", "True", "1j", "-1", "0.5", "-0.0"])
        if op.endswith("=") and op not in ("==",):
            parts.append(f"{y} = {a}.clone(); {y} {op} {sc}")
        else:
            parts.append(f"{y} = {a} {op} {sc}" if self.coin(0.8) else f"{y} = {sc} {op} {a}")
        if self.coin(0.3):
            z = self.fresh()
            parts.append(f"{z} = torch.result_type({a}, {sc})")
        return "; ".join(parts)

    def out_arg(self):
        dt = self.pick(["float32", "float64", "int64", "int32", "bool", "float16"])
        shape = self.pick([(3,), (2, 3)])
        if dt.startswith(("int", "bool")):
            x, lx = self.int_leaf(shape, dt)
        else:
            x, lx = self.mat(shape, dt, False)
        o = self.fresh()
        odt = self.pick([dt, dt, "float32", "float64", "int64", "int8", "bool", "complex64"])
        oshape = self.pick([shape, shape, (0,), (1,), (7,), shape[::-1]])
        parts = [lx, f"{o} = torch.zeros({oshape}, dtype=torch.{odt})"]
        op = self.pick(["add", "mul", "sub", "div", "abs", "neg", "sin", "sum", "prod",
                        "cumsum", "clamp", "floor_divide", "remainder", "eq", "where",
                        "matmul", "max_dim", "sort", "exp", "sqrt", "bitwise_and", "mean",
                        "argmax", "logical_and", "cat", "stack", "maximum", "pow"])
        y = self.fresh()
        nd = len(shape)
        call = {
            "add": f"torch.add({x}, {x}, alpha=2, out={o})", "mul": f"torch.mul({x}, 3, out={o})",
            "sub": f"torch.sub({x}, 1, out={o})", "div": f"torch.div({x}, 2, out={o})",
            "abs": f"torch.abs({x}, out={o})", "neg": f"torch.neg({x}, out={o})",
            "sin": f"torch.sin({x}, out={o})", "sum": f"torch.sum({x}, -1, out={o})",
            "prod": f"torch.prod({x}, 0, out={o})", "cumsum": f"torch.cumsum({x}, 0, out={o})",
            "clamp": f"torch.clamp({x}, 0, 1, out={o})",
            "floor_divide": f"torch.floor_divide({x}, 2, out={o})",
            "remainder": f"torch.remainder({x}, -2, out={o})",
            "eq": f"torch.eq({x}, 0, out={o})",
            "where": f"torch.where({x} > 0, {x}, 0, out={o})",
            "matmul": f"torch.matmul({x}, {x}.mT if {nd} > 1 else {x}, out={o})",
            "max_dim": f"torch.max({x}, -1, out=({o}, torch.zeros(0, dtype=torch.int64)))",
            "sort": f"torch.sort({x}, out=({o}, torch.zeros(0, dtype=torch.int64)))",
            "exp": f"torch.exp({x}, out={o})", "sqrt": f"torch.sqrt({x}, out={o})",
            "bitwise_and": f"torch.bitwise_and({x}, 1, out={o})",
            "mean": f"torch.mean({x}, 0, out={o})", "argmax": f"torch.argmax({x}, 0, out={o})",
            "logical_and": f"torch.logical_and({x}, {x}, out={o})",
            "cat": f"torch.cat([{x}, {x}], out={o})", "stack": f"torch.stack([{x}], out={o})",
            "maximum": f"torch.maximum({x}, {x}.flip(0), out={o})",
            "pow": f"torch.pow({x}, 2, out={o})",
        }[op]
        parts.append(f"{y} = {call}")
        return "; ".join(parts)
