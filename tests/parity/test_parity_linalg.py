"""Differential table: products (matmul, mm, bmm, mv, dot, outer, inner, the add* forms),
einsum, tensordot, kron, matrix_power, cross, cdist, block_diag and trace against PyTorch:
values, dtypes, shapes, gradients and exception types."""

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import Arg, check  # noqa: E402

R = np.random.default_rng(2)


def f64(*shape):
    return R.standard_normal(shape)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


def i64(*shape):
    return R.integers(-4, 5, shape).astype(np.int64)


CASES = [
    # matmul family
    ("matmul-2d", lambda m, a, b: m.matmul(a, b), Arg(f64(2, 3)), Arg(f64(3, 4))),
    ("matmul-batched-broadcast", lambda m, a, b: a @ b, Arg(f64(2, 1, 2, 3)), Arg(f64(3, 3, 2))),
    ("matmul-1d", lambda m, a, b: a @ b, Arg(f64(3)), Arg(f64(3))),
    ("matmul-dtype", lambda m, a, b: a @ b, Arg(f64(2, 3)), Arg(f32(3, 2))),
    ("matmul-0d", lambda m, a, b: m.matmul(a, b), Arg(f64()), Arg(f64(3))),
    ("matmul-mismatch", lambda m, a, b: a @ b, Arg(f64(2, 3)), Arg(f64(2, 3))),
    ("matmul-int", lambda m, a, b: a @ b, Arg(i64(2, 3)), Arg(i64(3, 2))),
    ("matmul-T", lambda m, a, b: a.t() @ b.t(), Arg(f64(3, 2)), Arg(f64(4, 3))),
    ("matmul-empty", lambda m, a, b: a @ b, Arg(f64(2, 0)), Arg(f64(0, 3))),
    ("mm", lambda m, a, b: m.mm(a, b), Arg(f32(2, 3)), Arg(f32(3, 4))),
    ("mm-3d", lambda m, a, b: m.mm(a, b), Arg(f64(1, 2, 3)), Arg(f64(3, 4))),
    ("mm-1d", lambda m, a, b: a.mm(b), Arg(f64(3)), Arg(f64(3, 4))),
    ("mm-int", lambda m, a, b: a.mm(b), Arg(i64(2, 2)), Arg(i64(2, 2))),
    ("mm-bool", lambda m, a, b: a.mm(b), Arg(f64(2, 2) > 0), Arg(f64(2, 2) > 0)),
    ("bmm", lambda m, a, b: m.bmm(a, b), Arg(f64(2, 2, 3)), Arg(f64(2, 3, 4))),
    ("bmm-batch", lambda m, a, b: m.bmm(a, b), Arg(f64(2, 2, 3)), Arg(f64(1, 3, 4))),
    ("bmm-2d", lambda m, a, b: a.bmm(b), Arg(f64(2, 3)), Arg(f64(3, 4))),
    ("mv", lambda m, a, v: m.mv(a, v), Arg(f64(2, 3)), Arg(f64(3))),
    ("mv-T", lambda m, a, v: a.t().mv(v), Arg(f64(3, 2)), Arg(f64(3))),
    ("mv-bad", lambda m, a, v: m.mv(a, v), Arg(f64(2, 3)), Arg(f64(3, 1))),
    ("dot", lambda m, a, b: m.dot(a, b), Arg(f64(4)), Arg(f64(4))),
    ("dot-int", lambda m, a, b: a.dot(b), Arg(i64(4)), Arg(i64(4))),
    ("dot-dtype", lambda m, a, b: m.dot(a, b), Arg(f64(4)), Arg(f32(4))),
    ("dot-size", lambda m, a, b: m.dot(a, b), Arg(f64(4)), Arg(f64(3))),
    ("dot-2d", lambda m, a, b: m.dot(a, b), Arg(f64(2, 2)), Arg(f64(2, 2))),
    ("dot-empty", lambda m, a, b: m.dot(a, b), Arg(f64(0)), Arg(f64(0))),
    ("vdot", lambda m, a, b: m.vdot(a, b), Arg(f32(3)), Arg(f32(3))),
    ("outer", lambda m, a, b: m.outer(a, b), Arg(f64(3)), Arg(f64(2))),
    ("outer-promote", lambda m, a, b: m.outer(a, b), Arg(i64(3)), Arg(f32(2))),
    ("ger", lambda m, a, b: m.ger(a, b), Arg(f64(3)), Arg(f64(2))),
    ("outer-2d", lambda m, a, b: m.outer(a, b), Arg(f64(3, 1)), Arg(f64(2))),
    ("inner", lambda m, a, b: m.inner(a, b), Arg(f64(2, 3)), Arg(f64(4, 3))),
    ("inner-1d", lambda m, a, b: m.inner(a, b), Arg(f64(3)), Arg(f64(3))),
    ("inner-0d", lambda m, a, b: m.inner(a, b), Arg(f64()), Arg(f64(2, 3))),
    ("inner-bad", lambda m, a, b: m.inner(a, b), Arg(f64(2, 3)), Arg(f64(2))),
    ("addmm", lambda m, c, a, b: m.addmm(c, a, b), Arg(f64(2, 4)), Arg(f64(2, 3)),
     Arg(f64(3, 4))),
    ("addmm-scaled", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=-2.0), Arg(f64(4)),
     Arg(f64(2, 3)), Arg(f64(3, 4))),
    ("addmm-beta0-nan", lambda m, c, a, b: c.addmm(a, b, beta=0), Arg(np.full((2, 4), np.nan)),
     Arg(f64(2, 3)), Arg(f64(3, 4))),
    ("addmm-dtype", lambda m, c, a, b: m.addmm(c, a, b), Arg(f64(2, 4)), Arg(f32(2, 3)),
     Arg(f32(3, 4))),
    ("addmm-int", lambda m, c, a, b: m.addmm(c, a, b, alpha=2), Arg(i64(2, 2)), Arg(i64(2, 3)),
     Arg(i64(3, 2))),
    ("addmm-shape", lambda m, c, a, b: m.addmm(c, a, b), Arg(f64(3, 4)), Arg(f64(2, 3)),
     Arg(f64(3, 4))),
    ("addmv", lambda m, c, a, v: m.addmv(c, a, v, beta=2.0), Arg(f64(2)), Arg(f64(2, 3)),
     Arg(f64(3))),
    ("addbmm", lambda m, c, a, b: m.addbmm(c, a, b, alpha=0.5), Arg(f64(2, 4)),
     Arg(f64(3, 2, 3)), Arg(f64(3, 3, 4))),
    ("baddbmm", lambda m, c, a, b: m.baddbmm(c, a, b, beta=-1.0), Arg(f64(1, 2, 4)),
     Arg(f64(3, 2, 3)), Arg(f64(3, 3, 4))),
    ("addr", lambda m, c, a, b: m.addr(c, a, b), Arg(f64(3, 2)), Arg(f64(3)), Arg(f64(2))),
    ("chain_matmul", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]) if m.__name__ == "torch"
     else m.chain_matmul(a, b, c), Arg(f64(2, 3)), Arg(f64(3, 4)), Arg(f64(4, 2))),
    # einsum
    ("einsum-mm", lambda m, a, b: m.einsum("ij,jk->ik", a, b), Arg(f64(2, 3)), Arg(f64(3, 4))),
    ("einsum-implicit", lambda m, a, b: m.einsum("ij,jk", a, b), Arg(f64(2, 3)),
     Arg(f64(3, 4))),
    ("einsum-implicit-order", lambda m, a, b: m.einsum("ba,ca", a, b), Arg(f64(2, 3)),
     Arg(f64(4, 3))),
    ("einsum-trace", lambda m, a: m.einsum("ii", a), Arg(f64(3, 3))),
    ("einsum-diag", lambda m, a: m.einsum("ii->i", a), Arg(f64(3, 3))),
    ("einsum-sum", lambda m, a: m.einsum("ijk->", a), Arg(f64(2, 3, 2))),
    ("einsum-outer", lambda m, a, b: m.einsum("i,j->ij", a, b), Arg(f64(3)), Arg(f64(2))),
    ("einsum-batch", lambda m, a, b: m.einsum("bij,bjk->bik", a, b), Arg(f64(2, 2, 3)),
     Arg(f64(2, 3, 2))),
    ("einsum-ellipsis", lambda m, a, b: m.einsum("...ij,...jk", a, b), Arg(f64(2, 1, 3, 4)),
     Arg(f64(5, 4, 2))),
    ("einsum-ellipsis-out", lambda m, a: m.einsum("i...->...i", a), Arg(f64(2, 3, 4))),
    ("einsum-broadcast-label", lambda m, a, b: m.einsum("i,i->i", a, b), Arg(f64(1)),
     Arg(f64(3))),
    ("einsum-spaces", lambda m, a, b: m.einsum("i j , j k -> i k", a, b), Arg(f64(2, 3)),
     Arg(f64(3, 4))),
    ("einsum-list", lambda m, a, b: m.einsum("ij,j->i", [a, b]), Arg(f64(2, 3)), Arg(f64(3))),
    ("einsum-three", lambda m, a, b, c: m.einsum("ij,jk,kl->il", a, b, c), Arg(f64(2, 3)),
     Arg(f64(3, 4)), Arg(f64(4, 2))),
    ("einsum-unused-label", lambda m, a, b: m.einsum("ij,kl->j", a, b), Arg(f64(2, 3)),
     Arg(f64(2, 2))),
    ("einsum-diag-mixed", lambda m, a, b: m.einsum("iij,j->i", a, b), Arg(f64(3, 3, 2)),
     Arg(f64(2))),
    ("einsum-0d", lambda m, a, b: m.einsum(",ij->ij", a, b), Arg(f64()), Arg(f64(2, 2))),
    ("einsum-int", lambda m, a, b: m.einsum("ij,j->i", a, b), Arg(i64(2, 3)), Arg(i64(3))),
    ("einsum-f32", lambda m, a, b: m.einsum("ij,kj->ik", a, b), Arg(f32(2, 3)), Arg(f32(4, 3))),
    ("einsum-T", lambda m, a, b: m.einsum("ij,jk->ik", a.t(), b), Arg(f64(3, 2)),
     Arg(f64(3, 4))),
    ("einsum-sublist", lambda m, a, b: m.einsum(a, [0, 1], b, [1], [0]), Arg(f64(2, 3)),
     Arg(f64(3))),
    ("einsum-dtype", lambda m, a, b: m.einsum("i,i", a, b), Arg(f64(3)), Arg(f32(3))),
    ("einsum-rank", lambda m, a: m.einsum("ij", a), Arg(f64(3))),
    ("einsum-repeat-out", lambda m, a: m.einsum("ij->ii", a), Arg(f64(3, 3))),
    ("einsum-unknown-out", lambda m, a: m.einsum("ij->k", a), Arg(f64(3, 3))),
    ("einsum-size", lambda m, a, b: m.einsum("ij,jk", a, b), Arg(f64(2, 3)), Arg(f64(2, 4))),
    ("einsum-count", lambda m, a: m.einsum("ij,jk", a), Arg(f64(2, 3))),
    ("einsum-bool", lambda m, a, b: m.einsum("i,i", a, b), Arg(f64(3) > 0), Arg(f64(3) > 0)),
    # tensordot, kron, matrix_power, cross, trace, block_diag, cdist
    ("tensordot", lambda m, a, b: m.tensordot(a, b), Arg(f64(2, 3, 4)), Arg(f64(3, 4, 2))),
    ("tensordot-1", lambda m, a, b: m.tensordot(a, b, 1), Arg(f64(2, 3)), Arg(f64(3, 2))),
    ("tensordot-0", lambda m, a, b: m.tensordot(a, b, dims=0), Arg(f64(2)), Arg(f64(3))),
    ("tensordot-lists", lambda m, a, b: m.tensordot(a, b, dims=([0, 2], [2, 0])),
     Arg(f64(2, 3, 4)), Arg(f64(4, 5, 2))),
    ("tensordot-neg", lambda m, a, b: m.tensordot(a, b, dims=([-1], [0])), Arg(f64(2, 3)),
     Arg(f64(3, 2))),
    ("tensordot-mismatch", lambda m, a, b: m.tensordot(a, b, dims=([0], [0])),
     Arg(f64(2, 3)), Arg(f64(3, 2))),
    ("tensordot-int", lambda m, a, b: m.tensordot(a, b, 1), Arg(i64(2, 3)), Arg(i64(3, 2))),
    ("kron", lambda m, a, b: m.kron(a, b), Arg(f64(2, 3)), Arg(f64(2, 2))),
    ("kron-ranks", lambda m, a, b: m.kron(a, b), Arg(f64(2, 3)), Arg(f64(4))),
    ("kron-int-float", lambda m, a, b: m.kron(a, b), Arg(i64(2, 2)), Arg(f32(2))),
    ("kron-0d", lambda m, a, b: m.kron(a, b), Arg(f64()), Arg(f64(2))),
    ("matrix_power-3", lambda m, a: m.matrix_power(a, 3), Arg(f64(3, 3))),
    ("matrix_power-batched", lambda m, a: a.matrix_power(2), Arg(f64(2, 2, 2))),
    ("matrix_power-0", lambda m, a: m.matrix_power(a, 0), Arg(i64(2, 2))),
    ("matrix_power-1", lambda m, a: m.matrix_power(a, 1), Arg(f64(2, 2))),
    ("matrix_power-6", lambda m, a: m.matrix_power(a, 6), Arg(f64(2, 2) / 2)),
    ("matrix_power-nonsquare", lambda m, a: m.matrix_power(a, 2), Arg(f64(2, 3))),
    ("cross", lambda m, a, b: m.cross(a, b, dim=1), Arg(f64(2, 3)), Arg(f64(2, 3))),
    ("cross-neg-dim", lambda m, a, b: m.cross(a, b, -1), Arg(f64(4, 3)), Arg(f64(1, 3))),
    ("cross-ranks", lambda m, a, b: m.cross(a, b, -1), Arg(f64(4, 3)), Arg(f64(3))),
    ("cross-int", lambda m, a, b: m.cross(a, b, 0), Arg(i64(3)), Arg(i64(3))),
    ("cross-bad", lambda m, a, b: m.cross(a, b, 1), Arg(f64(3, 2)), Arg(f64(3, 2))),
    # (deltagrad.trace is the backward tracer of deltagrad.autograd; the matrix trace is the
    # Tensor method.)
    ("trace", lambda m, a: a.trace(), Arg(f64(3, 4))),
    ("trace-int", lambda m, a: a.trace(), Arg(i64(3, 3))),
    ("trace-1d", lambda m, a: a.trace(), Arg(f64(3))),
    ("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), Arg(f64(2, 2)), Arg(f64(3)),
     Arg(f64())),
    ("block_diag-promote", lambda m, a, b: m.block_diag(a, b), Arg(i64(1, 2)), Arg(f32(2, 1))),
    ("block_diag-none", lambda m: m.block_diag()),
    ("block_diag-3d", lambda m, a: m.block_diag(a), Arg(f64(1, 1, 1))),
    ("cdist", lambda m, a, b: m.cdist(a, b), Arg(f64(3, 2)), Arg(f64(4, 2))),
    ("cdist-batched", lambda m, a, b: m.cdist(a, b), Arg(f64(2, 3, 2)), Arg(f64(2, 4, 2))),
    ("cdist-p1", lambda m, a, b: m.cdist(a, b, p=1), Arg(f64(3, 2)), Arg(f64(4, 2))),
    ("cdist-p3", lambda m, a, b: m.cdist(a, b, p=3.0), Arg(f64(3, 2)), Arg(f64(4, 2))),
    ("cdist-inf", lambda m, a, b: m.cdist(a, b, p=float("inf")), Arg(f64(3, 2)),
     Arg(f64(4, 2))),
    ("cdist-zero-distance", lambda m, a: m.cdist(a, a), Arg(f64(3, 2))),
    ("cdist-p0", lambda m, a, b: m.cdist(a, b, p=0), Arg(f64(3, 2)), Arg(f64(4, 2))),
    ("cdist-cols", lambda m, a, b: m.cdist(a, b), Arg(f64(3, 2)), Arg(f64(4, 3))),
    ("cdist-1d", lambda m, a, b: m.cdist(a, b), Arg(f64(3)), Arg(f64(3))),
]


@pytest.mark.parametrize("fn, args", [pytest.param(c[1], c[2:], id=c[0]) for c in CASES])
def test_linalg_parity(fn, args):
    check(fn, *args)


def test_matrix_power_negative_powers_the_inverse():
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    check(lambda m, x: m.matrix_power(x, -1), Arg(a))
    check(lambda m, x: m.matrix_power(x, -3), Arg(a))
    check(lambda m, x: m.matrix_power(x, -1), Arg(np.zeros((2, 2))))  # singular: error
