"""Session 23's families for the program-level differential fuzzer (``s17_SL_progfuzz.py``):
the same comparison after every line (values with signs of zeros and NaNs, dtypes, shapes,
gradients, exception classes), over what the earlier grammars do not reach.

``Gen8`` keeps session 17's statements at a low weight and adds:

- torch.linalg with gradients over float32 / float64 / complex64 / complex128, batched and
  0-size: solve / solve_ex (left=False), solve_triangular (upper, left, unitriangular),
  cholesky / cholesky_ex (upper), lu / lu_factor / lu_factor_ex / lu_solve (adjoint, left),
  qr (modes), eigh / eigvalsh (UPLO), svd / svdvals (gauge-free functions of them), pinv
  (hermitian, rtol, atol), matrix_rank (tol arguments), det / slogdet / inv / inv_ex,
  matrix_norm / vector_norm (ord, dim tuples, dtype=), cond (p), matrix_power (negative),
  matrix_exp, cross, householder_product, multi_dot, tensorsolve / tensorinv, vander, vecdot,
  diagonal; non-square, singular and wrong-dtype inputs (errors and their classes);
- torch.fft (``s23_SL8_more.py``): float32 / int / bool inputs (promotion), hfft / ihfft and
  their 2-d / n-d forms, n= / s= padding and truncation, norm modes, fftfreq / rfftfreq with
  d= / dtype=, stft / istft with their options, gradients through irfft / hfft;
- complex autograd (``s23_SL8_more.py``): chains of complex ops on leaves requiring grad
  (mul / div / exp / log / sqrt / pow / sgn / abs / angle / real / imag / conj / polar /
  view_as_real / view_as_complex / complex() / reciprocal / sin / tanh / sigmoid / cumsum /
  prod / matmul), a real function's ``backward()`` (the conjugate Wirtinger convention),
  promotion of complex with float / int scalars and tensors, printing of complex tensors;
- sparse COO / CSR (``s23_SL8_more.py``): sparse_coo_tensor with duplicates, to_sparse /
  to_sparse_csr / to_dense / coalesce / indices / values / _nnz, sparse.mm, sparse.sum(dim),
  sparse.addmm, sparse.softmax / log_softmax, mul with dense and scalars, transpose / t,
  index_select, matmul with dense, gradients into dense leaves;
- dtype corners (``s23_SL8_more.py``): every pointwise op of a list over int8 / uint8 / int16
  / int32 / int64 / bool (integer results wrap, float ones promote), division / remainder /
  fmod / floor_divide of negative and zero integers, shifts past the width, reductions of
  small integers and bools with ``dtype=``, promotion of 0-d tensors against dimensioned ones
  and Python scalars, in-place promotion errors, ``out=`` arguments (resized, wrong dtype).

Sparse tensors are snapshotted by their layout, shape, dtype, flags and dense values.

Run as a script::

    .venv/bin/python tests/parity/s23_SL8_families.py [--programs N] [--seed S] [--show I]
"""

from __future__ import annotations

import ast
import contextlib
import math
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s21_SL6_families as sl6  # noqa: E402
import s22_SL7_families as sl7  # noqa: E402
from s17_SL_known import chain_known  # noqa: E402
from s23_SL8_more import MoreFamilies8  # noqa: E402

torch = base.torch
dg = base.dg
LA = "torch.linalg"
_nested = sl6._nested

REAL = ("float32", "float64", "float64")
CPLX = ("complex64", "complex128", "complex128")


class Gen8(MoreFamilies8, base.Gen):
    """Session 17's grammar plus the families above."""

    def makers(self):
        old = [(maker, weight * 0.1) for maker, weight in super().makers()]
        return old + [(self.linalg8, 10), (self.linalg_err, 3), (self.fft8, 6),
                      (self.stft8, 2), (self.complex_ad, 7), (self.sparse8, 6),
                      (self.dtype_pointwise, 5), (self.dtype_reduce, 3),
                      (self.dtype_promote, 4), (self.out_arg, 3)]

    # -- literals -------------------------------------------------------------------------------
    def flt(self, shape, lo=None, hi=None):
        if lo is None:
            a = np.round(self.rng.standard_normal(shape), 3)
        else:
            a = np.round(self.rng.uniform(lo, hi, shape), 3)
        return _nested(np.asarray(a).tolist())

    def mat(self, shape, dtype, grad=True, lo=None, hi=None):
        """``name, line`` of a leaf of ``shape``; a complex dtype gets both parts."""
        name = self.fresh()
        rg = ".requires_grad_()" if grad else ""
        if dtype.startswith("complex"):
            lit = (f"torch.complex(torch.tensor({self.flt(shape, lo, hi)}), "
                   f"torch.tensor({self.flt(shape, lo, hi)})).to(torch.{dtype})")
        else:
            lit = f"torch.tensor({self.flt(shape, lo, hi)}, dtype=torch.{dtype})"
        return name, f"{name} = {lit}{rg}"

    def real_loss(self, y):
        """A weighted real function of ``y`` (a tensor or a tuple of them) and its backward."""
        w = ("(lambda t: (torch.view_as_real(t) if t.is_complex() else t).reshape(-1))")
        return (f"_t = [t for t in ({y} if isinstance({y}, (tuple, list)) else [{y}]) "
                f"if isinstance(t, torch.Tensor) and t.requires_grad]; "
                f"_v = torch.cat([{w}(t) for t in _t]) if _t else None; "
                f"(_v * torch.linspace(1, 2, _v.numel(), dtype=_v.dtype)).sum().backward() "
                f"if _t else None")

    # -- linalg ---------------------------------------------------------------------------------
    def linalg8(self):
        n = int(self.rng.integers(1, 4))
        batch = self.pick([(), (), (2,), (1, 2), (0,)])
        dtype = self.pick(REAL + CPLX)
        grad = self.coin(0.8)
        a, la = self.mat(batch + (n, n), dtype, grad)
        parts = [la]
        y = self.fresh()
        eye = f"torch.eye({n}, dtype={a}.dtype)"
        well = f"({a} + {n + 1} * {eye})"
        spd = f"({a} @ {a}.mH + {eye})"
        herm = f"({a} + {a}.mH + torch.diag(torch.arange({n}) * 1.7).to({a}.dtype))"
        tri = f"({a}.triu() + {n + 1} * {eye})"
        kind = self.pick(["solve_triangular", "solve_triangular", "cholesky_ex", "lu", "lu",
                          "lu_factor", "lu_solve", "qr", "eigh", "eigvalsh", "svd", "svdvals",
                          "pinv", "matrix_rank", "det", "slogdet", "inv_ex", "inv",
                          "matrix_norm", "vector_norm", "cond", "matrix_power", "matrix_exp",
                          "cross", "householder", "multi_dot", "tensorsolve", "vander",
                          "solve", "solve_ex", "vecdot", "tensorinv", "diagonal", "eigvals"])
        if kind == "solve_triangular":
            k = int(self.rng.integers(1, 3))
            left = self.coin(0.7)
            upper = self.coin()
            bshape = batch + ((n, k) if left else (k, n))
            b, lb = self.mat(bshape, dtype, grad and self.coin())
            parts.append(lb)
            src = tri if upper else f"{tri}.mT"
            uni = self.pick(["", "", ", unitriangular=True", ", unitriangular=False"])
            lt = "" if left and self.coin() else f", left={left}"
            parts.append(f"{y} = {LA}.solve_triangular({src}, {b}, upper={upper}{lt}{uni})")
        elif kind == "cholesky_ex":
            upper = self.pick(["", ", upper=True"])
            src = spd if self.coin(0.8) else f"-{spd}"
            parts.append(f"{y} = {LA}.cholesky_ex({src}{upper}"
                         f"{self.pick(['', ', check_errors=False', ', check_errors=True'])})")
        elif kind == "lu":
            m = self.pick([n, n + 1, max(n - 1, 1)])
            a, la = self.mat(batch + (m, n), dtype, grad)
            piv = self.pick(["", ", pivot=True"])
            parts = [la, f"{y} = {LA}.lu({a}{piv})"]
        elif kind == "lu_factor":
            m = self.pick([n, n, n + 1])
            a, la = self.mat(batch + (m, n), dtype, grad)
            fn = self.pick(["lu_factor", "lu_factor_ex"])
            parts = [la, f"{y} = {LA}.{fn}({a})"]
        elif kind == "lu_solve":
            k = int(self.rng.integers(1, 3))
            left = self.coin(0.7)
            b, lb = self.mat(batch + ((n, k) if left else (k, n)), dtype, grad and self.coin())
            adj = self.pick(["", ", adjoint=True", ", adjoint=False"])
            lt = "" if left else ", left=False"
            f = self.fresh()
            parts += [lb, f"{f} = {LA}.lu_factor({well})",
                      f"{y} = {LA}.lu_solve({f}[0], {f}[1], {b}{lt}{adj})"]
        elif kind == "qr":
            m = self.pick([n, n + 1, max(n - 1, 1)])
            a, la = self.mat(batch + (m, n), dtype, grad)
            mode = self.pick(["'reduced'", "'complete'", "'r'"])
            parts = [la, f"{y} = {LA}.qr({a}, mode={mode})"]
            if mode == "'complete'" and m > n:
                parts[-1] = f"with torch.no_grad(): {parts[-1]}"
        elif kind == "eigh":
            uplo = self.pick(["", ", UPLO='U'", ", UPLO='L'"])
            v = self.fresh()
            parts.append(f"{v} = {LA}.eigh({herm}{uplo}); {y} = ({v}[0], "
                         f"({v}[1] * {v}[1].conj()).real)")
        elif kind == "eigvalsh":
            uplo = self.pick(["", ", UPLO='U'"])
            parts.append(f"{y} = {LA}.eigvalsh({herm}{uplo})")
        elif kind == "svd":
            m = self.pick([n, n + 1, max(n - 1, 1)])
            a, la = self.mat(batch + (m, n), dtype, grad)
            v = self.fresh()
            full = self.pick(["False", "True"])
            parts = [la, f"{v} = {LA}.svd({a}, full_matrices={full}); {y} = ({v}.S, "
                         f"({v}.U[..., :{min(m, n)}] * {v}.S.unsqueeze(-2).to({v}.U.dtype)) "
                         f"@ {v}.Vh[..., :{min(m, n)}, :])"]
            if full == "True" and m != n:
                parts[-1] = f"with torch.no_grad(): {parts[-1]}"
        elif kind == "svdvals":
            m = self.pick([n, n + 1])
            a, la = self.mat(batch + (m, n), dtype, grad)
            parts = [la, f"{y} = {LA}.svdvals({a})"]
        elif kind == "pinv":
            h = self.coin(0.3)
            src = herm if h else a
            tol = self.pick(["", "", ", rtol=0.3", ", atol=0.5", ", atol=0.1, rtol=0.1",
                             ", rcond=0.2"])
            parts.append(f"{y} = {LA}.pinv({src}{', hermitian=True' if h else ''}{tol})")
        elif kind == "matrix_rank":
            h = self.coin(0.3)
            tol = self.pick(["", ", rtol=0.5", ", atol=1.0", ", tol=0.5", ", atol=0.2, rtol=0.2"])
            src = herm if h else f"{a} @ {a}[..., :1, :].mH @ {a}[..., :1, :]"
            parts.append(f"with torch.no_grad(): {y} = {LA}.matrix_rank({src}"
                         f"{', hermitian=True' if h else ''}{tol})")
        elif kind in ("det", "slogdet"):
            parts.append(f"{y} = {LA}.{kind}({self.pick([a, well])})")
        elif kind == "inv_ex":
            parts.append(f"{y} = {LA}.inv_ex({well}{self.pick(['', ', check_errors=True'])})")
        elif kind == "inv":
            parts.append(f"{y} = {self.pick([LA + '.inv', 'torch.inverse'])}({well})")
        elif kind == "matrix_norm":
            ord_ = self.pick(["'fro'", "'nuc'", "1", "-1", "2", "-2", "float('inf')",
                              "-float('inf')"])
            keep = self.pick(["", ", keepdim=True"])
            dt = ""
            if self.coin(0.3):
                dt = ", dtype=torch.complex128" if "complex" in dtype else \
                    ", dtype=torch.float64"
            src = well if ord_ in ("2", "-2", "'nuc'") else a
            parts.append(f"{y} = {LA}.matrix_norm({src}, ord={ord_}{keep}{dt})")
        elif kind == "vector_norm":
            ord_ = self.pick(["2", "1", "3", "0", "0.5", "float('inf')", "-float('inf')",
                              "-1", "2.5"])
            nd = len(batch) + 2
            dim = self.pick(["None", "-1", "0", "(0, -1)", f"({nd - 1}, 0)", "(-2,)"])
            keep = self.pick(["", ", keepdim=True"])
            dt = ""
            if self.coin(0.3):
                dt = self.pick([", dtype=torch.complex128", ", dtype=torch.float64"]) \
                    if "complex" in dtype else ", dtype=torch.float64"
            parts.append(f"{y} = {LA}.vector_norm({a}, ord={ord_}, dim={dim}{keep}{dt})")
        elif kind == "cond":
            p = self.pick(["None", "'fro'", "'nuc'", "1", "-1", "2", "-2", "float('inf')"])
            parts.append(f"{y} = {LA}.cond({well}, p={p})")
        elif kind == "matrix_power":
            k = int(self.rng.integers(-3, 4))
            parts.append(f"{y} = {LA}.matrix_power({well if k < 0 else a}, {k})")
        elif kind == "matrix_exp":
            parts.append(f"{y} = {LA}.matrix_exp({a} * 0.5)")
        elif kind == "cross":
            a, la = self.mat(batch + (n, 3), dtype, grad)
            b, lb = self.mat((n, 3), dtype, grad and self.coin())
            parts = [la, lb, f"{y} = {self.pick([LA + '.cross', 'torch.cross'])}({a}, {b}, "
                             f"dim=-1)"]
        elif kind == "householder":
            m = n + int(self.rng.integers(0, 2))
            k = int(self.rng.integers(1, n + 1))
            a, la = self.mat(batch + (m, n), dtype, grad)
            t, lt = self.mat(batch + (k,), dtype, grad and self.coin())
            parts = [la, lt, f"{y} = {LA}.householder_product({a}, {t})"]
        elif kind == "multi_dot":
            b, lb = self.mat((n, 2), dtype, grad)
            c, lc = self.mat((2,) if self.coin(0.3) else (2, 3), dtype, grad)
            a, la = self.mat((n,) if self.coin(0.3) else (2, n), dtype, grad)
            parts = [la, lb, lc, f"{y} = {LA}.multi_dot([{a}, {b}, {c}])"]
        elif kind == "tensorsolve":
            a, la = self.mat((2, 3, 6), dtype, grad)
            b, lb = self.mat((2, 3), dtype, grad and self.coin())
            src = f"({a} + torch.eye(6, dtype={a}.dtype).reshape(2, 3, 6) * 4)"
            parts = [la, lb, f"{y} = {LA}.tensorsolve({src}, {b})"]
        elif kind == "tensorinv":
            a, la = self.mat((4, 2, 2), dtype, grad)
            src = f"({a} + torch.eye(4, dtype={a}.dtype).reshape(4, 2, 2) * 3)"
            parts = [la, f"{y} = {LA}.tensorinv({src}, ind=1)"]
        elif kind == "vander":
            x, lx = self.mat(batch + (n + 1,), dtype, grad)
            nn = self.pick(["", ", N=2", ", N=4", ", N=1"])
            parts = [lx, f"{y} = {LA}.vander({x}{nn})"]
        elif kind == "solve":
            k = self.pick([None, 1, 2])
            left = self.coin(0.7) or k is None
            bshape = batch + ((n,) if k is None else ((n, k) if left else (k, n)))
            b, lb = self.mat(bshape, dtype, grad and self.coin())
            lt = "" if left else ", left=False"
            parts += [lb, f"{y} = {LA}.solve({well}, {b}{lt})"]
        elif kind == "solve_ex":
            b, lb = self.mat(batch + (n, 2), dtype, grad and self.coin())
            src = self.pick([well, f"{a} * 0"])
            parts += [lb, f"{y} = {LA}.solve_ex({src}, {b})"]
        elif kind == "vecdot":
            b, lb = self.mat(batch + (n, n), self.pick([dtype, dtype, "float64"]), grad)
            parts += [lb, f"{y} = {LA}.vecdot({a}, {b}, dim={self.pick(['-1', '-2'])})"]
        elif kind == "eigvals":
            parts.append(f"with torch.no_grad(): {y} = {LA}.eigvals({herm}).real.sort(-1)[0]")
        else:
            off = int(self.rng.integers(-1, 2))
            parts.append(f"{y} = {LA}.diagonal({a}, offset={off})")
        if grad and self.coin(0.75):
            parts.append(self.real_loss(y))
        return "; ".join(parts)

    def linalg_err(self):
        """Inputs the functions refuse: non-square, 1-d, integer, singular (with _ex)."""
        dtype = self.pick(REAL + CPLX + ("int64", "float16"))
        shape = self.pick([(2, 3), (3,), (2, 2), (0, 0), (2, 0, 0), (3, 3)])
        if dtype.startswith(("int", "float16")):
            name = self.fresh()
            parts = [f"{name} = torch.ones({shape}, dtype=torch.{dtype})"]
            a = name
        else:
            a, la = self.mat(shape, dtype, self.coin())
            parts = [la]
        y = self.fresh()
        fn = self.pick(["inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh", "qr", "svd",
                        "lu_factor", "solve", "matrix_power", "matrix_exp", "inv_ex",
                        "cholesky_ex", "lu_factor_ex", "solve_triangular", "pinv", "cond",
                        "matrix_rank", "householder_product", "eigvals"])
        if fn == "solve":
            parts.append(f"{y} = {LA}.solve({a}, torch.ones({shape[:-1] or (1,)}, "
                         f"dtype={a}.dtype))")
        elif fn == "matrix_power":
            parts.append(f"{y} = {LA}.matrix_power({a}, {self.pick(['-1', '2', '0'])})")
        elif fn == "solve_triangular":
            parts.append(f"{y} = {LA}.solve_triangular({a}, {a}, upper=True)")
        elif fn == "householder_product":
            parts.append(f"{y} = {LA}.householder_product({a}, {a}[..., 0, :])")
        elif fn in ("inv_ex", "cholesky_ex", "lu_factor_ex"):
            parts.append(f"{y} = {LA}.{fn}({a} * 0)")
        else:
            parts.append(f"{y} = {LA}.{fn}({a})")
        return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# Snapshot of sparse tensors (PyTorch's strides / numpy() refuse them)
# --------------------------------------------------------------------------------------------

_WIDE = None


def _snapshot(value, layout=True):
    if base._is_tensor(value) and "strided" not in str(value.layout):
        meta = (str(value.layout).rsplit(".", 1)[-1], tuple(value.shape),
                str(value.dtype).rsplit(".", 1)[-1], bool(value.requires_grad),
                base._attr(lambda: value.grad_fn is None))
        grad = base._attr(lambda: value.grad)
        grad = ("None", None) if grad is None else _snapshot(grad, False)
        dense = _WIDE(value.detach().to_dense(), False)
        return ("seq", [("str", f"sparse {meta}"), dense, grad])
    return _WIDE(value, layout)


@contextlib.contextmanager
def wide():
    """sl6's wider snapshot plus sparse tensors."""
    global _WIDE
    with sl6.wide():
        outer = base.snapshot
        if outer is _snapshot:  # (nested)
            yield
            return
        _WIDE = outer
        base.snapshot = _snapshot
        try:
            yield
        finally:
            base.snapshot = outer


# --------------------------------------------------------------------------------------------
# Reviewed differences these families reach (on top of sessions 17 to 22's lists)
# --------------------------------------------------------------------------------------------

def _line_of(lines, failure):
    return lines[failure[0]] if failure[0] < len(lines) else ""


def _complex_linalg_refused(lines, failure):
    # Out of scope (README): complex linear algebra past solve / inv / det / solve_triangular /
    # cholesky / eigh / eigvalsh / qr and svd's values refuses with an error naming the op and
    # dtype (lu*, pinv, matrix_exp, cholesky_ex, slogdet's gradient, svd's gradient, ...).
    return failure[1] in ("we-raise", "raise-mismatch") and any(m in failure[2] for m in (
        "complex matrices are not supported by deltagrad",
        "gradients through complex tensors are not supported",
        "not implemented for 'complex")) or (
        # (a 0-size complex input: PyTorch's IndexError from its empty-matrix path)
        failure[1] == "raise-mismatch" and "complex128" in _line_of(lines, failure)
        and "torch.complex(torch.tensor([])" in _line_of(lines, failure)) or (
        # (refused in the line's first call here, in its backward in PyTorch: the names the
        # line binds after the call are PyTorch's only)
        failure[1] == "silent" and "bound on one side only" in failure[2]
        and "torch.linalg." in _line_of(lines, failure)
        and "complex" in _line_of(lines, failure))


def _sparse_off_pattern_grad(lines, failure):
    # A dense tensor made sparse (to_sparse / to_sparse_csr) or a sparse leaf, then an op
    # whose gradient for the sparse operand is dense in PyTorch (Tensor.sum, torch.mm, @,
    # dense - sparse; not torch.sparse.*): PyTorch's to_sparse backward passes the whole dense
    # gradient (and a sparse leaf's .grad is then a dense tensor); deltagrad's sparse tensors
    # take gradients at their stored entries only (the off-pattern part is dropped: the s22
    # list's "sparse Function inputs" item, BR4's area). Since session 26 (BR13) to_sparse's
    # input takes it whole through x * c, x / c, -x, a + b and transposes, and a sparse
    # leaf through S.sum(), dense +- S and @; left: a leaf through those maps ((S * 2).sum()),
    # a to_sparse input holding inf or nan, an uncoalesced sum of entries.
    return (failure[1] == "silent" and "sparse" in " ".join(lines)
            and (".grad.values" in failure[2] or "kind seq != torch's tensor" in failure[2]
                 or ".grad: None vs torch's a tensor" in failure[2]))


def _sparse_layouts_refused(lines, failure):
    # Out of scope (README): sparse-sparse sums
    # of CSR tensors, hooks on sparse tensors, index_select of a sparse tensor: refused with
    # an error naming the op; autograd.grad with respect to a sparse tensor raises.
    # (CSR coalesce() / is_coalesced() / unsqueeze / indexing: PyTorch's since session 26,
    # BR13; smm's result requires grad with no derivative, as PyTorch's, since s29 BR19.)
    line = _line_of(lines, failure)
    if failure[1] == "we-raise":
        return any(m in failure[2] for m in (
            "of a sparse CSR tensor is not supported", "SparseCsrTensor.t()",
            "of sparse CSR tensors is not supported", "hooks on a sparse COO tensor",
            "is not supported on a sparse tensor")) or (
            # (autograd.grad with respect to a sparse tensor)
            "does not require grad" in failure[2] and "torch.autograd.grad(" in line
            and "sparse" in " ".join(lines))
    if failure[1] == "permissive":
        return ("expected sparse coordinate tensor layout" in failure[2]
                or "Only batched sparse compressed" in failure[2]
                or "unsupported tensor layout: SparseCsr" in failure[2]
                # (a CSR tensor times a dense row: PyTorch's sparse_mask refuses it)
                or "sparse_mask(): operands have incompatible sizes" in failure[2])
    return False


def _singular_ex_values(lines, failure):
    # inv_ex / solve_ex of an exactly singular matrix: PyTorch's result is what LAPACK's
    # getri / getrs leave (infinities and nans), deltagrad's nan throughout (both not finite;
    # the gradients nan on both sides)
    line = _line_of(lines, failure)
    if failure[1] != "silent" or not any(f in line for f in ("inv_ex(", "solve_ex(")):
        return False
    if "values: " not in failure[2]:
        return False
    numbers = sl7.sl5._numbers(failure[2].split("values: ", 1)[1])
    return bool(numbers) and all(v != v or v in (math.inf, -math.inf) for v in numbers)


def _empty_matrix_dtype(lines, failure):
    # 0-size integer / half inputs to linalg functions and 0-size or 0-d inputs to cumsum /
    # cumprod(dtype=torch.bool): PyTorch returns before its dtype check; deltagrad checks
    # first. float16 linear algebra (matrix_exp, det, ...): PyTorch computes some in half,
    # deltagrad's linear algebra is float32 / float64 only (a NotImplementedError).
    line = _line_of(lines, failure)
    if failure[1] != "we-raise":
        return False
    if "torch.float16" in line and "torch.linalg." in line and any(
            m in failure[2] for m in ("not implemented for 'Half'", "Low precision")):
        return True
    if "dtype=torch.bool)" in line and "not implemented for 'Bool'" in failure[2]:
        return re.search(r"torch\.tensor\((-?\d|True|False|\[\]|\[\[\])", line) is not None
    return (("torch.ones((0, 0)" in line or "torch.ones((2, 0, 0)" in line
             or "[[], []]" in line or "torch.tensor([]" in line)
            and any(m in failure[2] for m in ("not implemented for", "Expected a floating",
                                              "Dimension out of range"))) or (
        # (cond of a 0-size matrix: PyTorch's result, deltagrad's IndexError / RuntimeError)
        "torch.tensor([" in line and "linalg.cond(" in line
        and ("out of bounds for axis 0 with size 0" in failure[2]
             or "out of bounds for dimension 0 with size 0" in failure[2]  # (s27 PR14's words)
             or "1 by 0 matrices" in failure[2]))


def _fma_residue(lines, failure):
    # Products of complex conjugates (z @ z.mT.conj(), vdot(z, z.flip(0))): PyTorch's
    # kernels give an exactly real diagonal / sum, NumPy's BLAS (fused multiply-adds) leaves
    # 1e-16 relative in the imaginary part: isreal() and the printed text differ.
    # A log / angle / sqrt of such a result meets the branch cut there (+pi against -pi).
    line = _line_of(lines, failure)
    text = " ".join(lines)
    if failure[1] != "silent" or not any(m in text for m in ("vdot(", ".conj()", "torch.dot(",
                                                              " @ ")):
        return False
    # (the sign of a zero imaginary part picks the branch: log / angle / sqrt / asin / acos
    # / atanh / pow of such a value, and the gradients through them)
    return ("isreal(" in line or "str(" in line
            or any(f in line for f in ("log(", "angle(", "sqrt(", "asin(", "acos(", "atanh(",
                                       " ** ")))


def _float32_complex_rounding(lines, failure):
    # complex64 chains whose gradient is 0 in exact arithmetic (a phase-invariant function)
    # or cancels: both libraries give float32 rounding residue (1e-6 of the inputs' scale)
    if failure[1] != "silent" or " != torch's " not in failure[2]:
        return False
    line = " ".join(lines)
    if "complex64" not in line and "float32" not in line and re.search(
            r"torch\.complex\(torch\.tensor\([^)]*\]\), ", line) is None:
        return False  # (the last: complex64 from default float32 parts, s31 SL5S)
    ours, theirs = failure[2].split(" != torch's ", 1)
    try:  # (complex lists: the numbers' regex misreads some complex literals; s31)
        a = list(np.ravel(ast.literal_eval(ours.split("values: ", 1)[-1].strip())))
        b = list(np.ravel(ast.literal_eval(theirs.strip())))
    except (ValueError, SyntaxError):
        a = sl7.sl5._numbers(ours.split("values: ", 1)[-1])
        b = sl7.sl5._numbers(theirs)
    if len(a) != len(b) or not a:
        return False
    scale = max(max(abs(v) for v in b), 1.0)
    return all(abs(x - y) <= 3e-5 * scale for x, y in zip(a, b))


def _factor_signs(lines, failure):
    # The raw factors of linalg.svd / qr / eigh / eig (this family's refused-input lines):
    # each column's sign (phase) is LAPACK's choice, and PyTorch's LAPACK and the one SciPy /
    # NumPy bring choose differently for some matrices (svd of a 2 x 3: U's first column).
    # Equal up to signs (complex: phases). (Masked until s30 BR23 by _elementwise_layout:
    # the factors' strides differed first.)
    line = _line_of(lines, failure)
    if failure[1] != "silent" or " != torch's " not in failure[2] or not re.search(
            r"linalg\.(svd|qr|eigh|eig)\(", line):
        return False
    ours, theirs = failure[2].split(" != torch's ", 1)
    try:  # (complex factors: each column's phase; the elements' moduli agree)
        a = np.abs(np.asarray(ast.literal_eval(ours.split("values: ", 1)[-1].strip())))
        b = np.abs(np.asarray(ast.literal_eval(theirs.strip())))
    except (ValueError, SyntaxError):
        a = np.abs(sl7.sl5._numbers(ours.split("values: ", 1)[-1]))
        b = np.abs(sl7.sl5._numbers(theirs))
    if a.shape != b.shape or not a.size:
        return False
    return bool(np.all(np.abs(a - b) <= 1e-5 * max(float(b.max()), 1.0)))


def _sparse_softmax_backward(lines, failure):
    # PyTorch's sparse softmax / log_softmax backward (a sparse leaf's .grad through
    # torch.sparse.softmax(...).to_dense()) drops the row's cross terms: the gradient of a row's
    # sum of softmax is 0, PyTorch's is s * (1 - s) (torch.sparse.softmax(torch.tensor([[0.3,
    # -1.2], [0.5, 2.0]]).to_sparse().requires_grad_(), -1).to_dense().sum().backward(): 0.1491
    # per entry); ours is the derivative (s31, checked by hand against s * (w - sum(s * w))).
    line = _line_of(lines, failure)
    return (failure[1] == "silent" and "].values:" in failure[2]
            and re.search(r"torch\.sparse\.(log_)?softmax\(", line) is not None
            and ".backward(" in line)


KNOWN = [
    (_factor_signs,
     "raw svd / qr / eigh / eig factors: each column's sign is LAPACK's choice (PyTorch's "
     "LAPACK and NumPy's differ for some matrices); equal up to signs"),
    (_complex_linalg_refused,
     "complex linear algebra out of scope (README): refused with an error naming the op"),
    (_sparse_off_pattern_grad,
     "gradients of sparse tensors at their stored entries only where PyTorch's are dense: "
     "a sparse leaf through x * c / a + b, a to_sparse input holding inf or nan"),
    (_sparse_layouts_refused,
     "CSC results, CSR sums, hooks, index_select and autograd.grad of sparse tensors "
     "refused"),
    (_singular_ex_values,
     "inv_ex / solve_ex of a singular matrix: LAPACK's infinities in PyTorch, nan here"),
    (_empty_matrix_dtype,
     "0-size integer / half inputs: PyTorch returns before its dtype check, deltagrad raises;"
     " float16 linear algebra refused"),
    (_fma_residue,
     "complex conjugate products: PyTorch's imaginary parts exactly 0, NumPy's BLAS 1e-16 "
     "(FMA, summation order); isreal, printing and branch cuts differ"),
    (_float32_complex_rounding,
     "float32 / complex64 rounding residue where the exact gradient is 0 or cancels"),
    (_sparse_softmax_backward,
     "PyTorch's sparse softmax backward drops a row's cross terms (s * (1 - s)); ours is "
     "the derivative"),
]


_known = chain_known(sl7.known, KNOWN)


FAMILY = base.Family(Gen8, _known, wide)
known, compare, program, run = FAMILY.known, FAMILY.compare, FAMILY.program, FAMILY.run


if __name__ == "__main__":
    sys.exit(FAMILY.main())
